/*
 * collect_durability_test - no acknowledged report is lost or stored twice
 * when a collector is killed (kill -9) under load, with one collector or
 * several on one database; and a sender that retries what was not
 * acknowledged, with the same Idempotency-Key, has every report stored
 * exactly once.
 *
 * CLIENTS threads post distinct reports (the report's "port" is its number)
 * on new connections from 127.0.0.1, client i to collector i mod N, as a
 * load balancer would; a client whose collector is gone moves to the next
 * one.  After KILL_AFTER_MS the first collector gets SIGKILL; the others go
 * on until RUN_MS, then stop.  Then the database is read directly
 * (collect_db.c): every report acknowledged with 201 is there exactly once,
 * no report is there twice, and "certpin reports" counts them all.  With one
 * collector the killed one is started again on the database to show that
 * it opens it (SQLite recovers its WAL) with nothing missing.  Then every
 * report without a 201 is posted again with its key ("durability-N") to a
 * live collector: those the kill caught between commit and reply get 200
 * (duplicate, not stored again), the others 201, and each report number is
 * in the database exactly once.
 *
 * The database is a temporary SQLite file, or CERTPIN_COLLECT_DB
 * (collect_pg_test.sh runs this with two collectors on PostgreSQL:
 * CERTPIN_COLLECTORS=2).  Bounded: about RUN_MS of load, every wait timed.
 */
#include "collect_db.h"
#include "collector.h"
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define CLIENTS 8
#define MAX_COLLECTORS 4
#define MAX_REPORTS 60000
#define KILL_AFTER_MS 1500
#define RUN_MS 3500

static test_collector coll[MAX_COLLECTORS];
static int ncoll = 1;
static atomic_int alive[MAX_COLLECTORS];
static atomic_int next_report = 1, stop_clients;
static atomic_uchar acked[MAX_REPORTS + 1];
static atomic_int acked_by[MAX_COLLECTORS];

/* Report `n` posted to `port` from 127.0.0.1 with its key "durability-N"; the HTTP status, or -1. */
static int post_report(int port, int n)
{
	char *body = test_report_body((unsigned)n), hdr[96];
	int st;

	snprintf(hdr, sizeof(hdr), "Content-Type: application/json\r\nIdempotency-Key: \"durability-%d\"\r\n", n);
	st = body ? test_http_post(port, "127.0.0.1", 10000, "/report", hdr, body, NULL, 0) : -1;
	free(body);
	return st;
}

static void *client(void *arg)
{
	int k = (int)(intptr_t)arg % ncoll;

	while (!atomic_load(&stop_clients)) {
		int n = atomic_fetch_add(&next_report, 1);
		if (n > MAX_REPORTS)
			break;
		for (int tries = 0; tries < ncoll && !atomic_load(&alive[k]); tries++)
			k = (k + 1) % ncoll;
		if (!atomic_load(&alive[k]))
			break; /* every collector is gone */
		if (post_report(coll[k].port, n) == 201) {
			atomic_store(&acked[n], 1);
			atomic_fetch_add(&acked_by[k], 1);
		}
	}
	return NULL;
}

typedef struct tally {
	int *count;                 /* rows per report number */
	long long rows;
} tally;

static int count_row(int ncols, const char *const *vals, void *payload)
{
	tally *t = payload;
	if (ncols < 2 || !vals[0] || !vals[1])
		return 0;
	long n = atol(vals[0]);
	if (n >= 1 && n <= MAX_REPORTS)
		t->count[n] = atoi(vals[1]);
	t->rows += atoll(vals[1]);
	return 0;
}

/* Rows per report number in the database (the test's reports: hostname api.example.com). */
static int read_counts(const char *db_spec, tally *t)
{
	cdb *db = NULL;
	char err[512];
	int rc;

	if (cdb_open(&db, db_spec, err, sizeof(err)) != 0) {
		fprintf(stderr, "collect_durability_test: %s\n", err);
		return -1;
	}
	rc = cdb_query(db, "SELECT port, COUNT(*) FROM reports WHERE hostname = 'api.example.com' GROUP BY port", 0,
		NULL, count_row, t, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "collect_durability_test: %s\n", err);
	cdb_close(db);
	return rc;
}

/* "certpin reports --json": its total. */
static long long reports_total(const char *cli, const char *db_spec, const char *dir)
{
	char cmd[9000], path[4200];
	snprintf(path, sizeof(path), "%s/reports.json", dir);
	snprintf(cmd, sizeof(cmd), "'%s' reports --db '%s' --json > '%s'", cli, db_spec, path);
	if (system(cmd) != 0)
		return -1;
	json_t *j = json_load_file(path, 0, NULL);
	long long v = j ? (long long)json_integer_value(json_object_get(j, "total")) : -1;
	json_decref(j);
	return v;
}

static void check_counts(const char *db_spec, int total_sent)
{
	tally t = { calloc(MAX_REPORTS + 1, sizeof(int)), 0 };
	int lost = 0, twice = 0, nacked = 0, unacked_stored = 0;

	CHECK_INT(read_counts(db_spec, &t), 0);
	for (int n = 1; n <= MAX_REPORTS; n++) {
		if (atomic_load(&acked[n])) {
			nacked++;
			lost += t.count[n] == 0;
		} else {
			unacked_stored += t.count[n] > 0;
		}
		twice += t.count[n] > 1;
	}
	printf("collect_durability_test: %d reports sent, %d acknowledged, %lld stored (%d without a reply: the "
		"kill came between commit and reply); acknowledged but missing: %d; stored twice: %d\n", total_sent,
		nacked, t.rows, unacked_stored, lost, twice);
	CHECK(nacked > 0);
	CHECK_INT(lost, 0);
	CHECK_INT(twice, 0);
	CHECK_INT(t.rows, nacked + unacked_stored);
	free(t.count);
}

/*
 * The sender's retry: every report sent but not acknowledged, again with its
 * key, to the collector on `port`.  Those already stored (the kill came
 * between commit and reply) must be answered 200 and not stored again.
 */
static void retry_unacknowledged(int port, int total_sent, const char *db_spec)
{
	tally t = { calloc(MAX_REPORTS + 1, sizeof(int)), 0 };
	int retried = 0, dup = 0, stored_before = 0, wrong = 0, once = 0;

	CHECK_INT(read_counts(db_spec, &t), 0);
	for (int n = 1; n <= total_sent; n++) {
		if (atomic_load(&acked[n]))
			continue;
		int st = post_report(port, n);
		retried++;
		stored_before += t.count[n] > 0;
		dup += st == 200;
		/* 200 exactly for those stored before, else 201 */
		wrong += st != (t.count[n] > 0 ? 200 : 201);
	}
	memset(t.count, 0, (MAX_REPORTS + 1) * sizeof(int));
	t.rows = 0;
	CHECK_INT(read_counts(db_spec, &t), 0);
	for (int n = 1; n <= total_sent; n++)
		once += t.count[n] == 1;
	printf("collect_durability_test: retried %d unacknowledged reports with their keys: %d duplicates (stored "
		"before the kill's reply), %d wrong replies; %d of %d reports stored exactly once\n", retried, dup, wrong,
		once, total_sent);
	CHECK_INT(wrong, 0);
	CHECK_INT(dup, stored_before);
	CHECK_INT(once, total_sent);
	CHECK_INT(t.rows, total_sent);
	free(t.count);
}

int main(void)
{
	const char *cli;
	char dir[] = "/tmp/certpin-durability-XXXXXX", db[4300], cmd[4400], tag[16];
	const char *env_db = getenv("CERTPIN_COLLECT_DB"), *env_n = getenv("CERTPIN_COLLECTORS");
	pthread_t th[CLIENTS];

	signal(SIGPIPE, SIG_IGN);
	if (!(cli = test_cli()))
		return 1;
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof(db), "%s", env_db && *env_db ? env_db : "");
	if (!db[0])
		snprintf(db, sizeof(db), "%s/reports.sqlite", dir);
	ncoll = env_n ? atoi(env_n) : 1;
	if (ncoll < 1 || ncoll > MAX_COLLECTORS)
		ncoll = 1;
	for (int k = 0; k < ncoll; k++) {
		snprintf(tag, sizeof(tag), "c%d", k);
		if (test_collector_start(&coll[k], cli, db, dir, tag, NULL) != 0) {
			CHECK(!"collector did not start");
			return test_finish("collect_durability_test");
		}
		atomic_store(&alive[k], 1);
	}
	int64_t t0 = test_now_ms();
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);
	while (test_now_ms() - t0 < KILL_AFTER_MS)
		nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
	atomic_store(&alive[0], 0);
	test_collector_kill(&coll[0]); /* kill -9, under load */
	int killed_acked = atomic_load(&acked_by[0]);
	while (test_now_ms() - t0 < RUN_MS)
		nanosleep(&(struct timespec){ 0, 20 * 1000000L }, NULL);
	atomic_store(&stop_clients, 1);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	for (int k = 0; k < ncoll; k++) {
		printf("collect_durability_test: collector %d%s acknowledged %d reports\n", k,
			k == 0 ? " (killed with SIGKILL)" : "", atomic_load(&acked_by[k]));
		CHECK(atomic_load(&acked_by[k]) > 0); /* each under load */
		if (k > 0)
			CHECK_INT(test_collector_stop(&coll[k]), 0);
	}
	CHECK(killed_acked > 0);
	int sent = atomic_load(&next_report) - 1;
	sent = sent < MAX_REPORTS ? sent : MAX_REPORTS;
	check_counts(db, sent);
	/* the killed collector's database opens again, as it was; the sender retries there */
	CHECK_INT(test_collector_start(&coll[0], cli, db, dir, "again", NULL), 0);
	retry_unacknowledged(coll[0].port, sent, db);
	CHECK_INT(test_collector_stop(&coll[0]), 0);
	tally t = { calloc(MAX_REPORTS + 1, sizeof(int)), 0 };
	if (read_counts(db, &t) == 0 && !env_db)
		CHECK_INT(reports_total(cli, db, dir), t.rows);
	else if (env_db)
		CHECK(reports_total(cli, db, dir) >= t.rows);
	free(t.count);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_finish("collect_durability_test");
}
