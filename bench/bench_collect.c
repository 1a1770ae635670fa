/*
 * bench_collect - throughput of the failure-report collector on loopback.
 *
 *   bench_collect CERTPIN_CLI [REPORTS] [CLIENTS] [DB_SPEC] [COLLECTORS]
 *
 * Starts COLLECTORS "certpin collect" processes (default 1) on one database
 * (SQLite in a temporary directory, or DB_SPEC, e.g. a postgresql:// URI) on
 * 127.0.0.1, then:
 *   0. SQLite only: the bulk-insert ceiling.  REPORTS reports of the same
 *      shape are stored straight into a fresh database with the collector's
 *      own code, schema and settings (collect_db.c: WAL, synchronous=FULL),
 *      1000 to a transaction: the fastest this machine stores them, measured
 *      in the same run as what the collector achieves;
 *   1. CLIENTS threads post REPORTS distinct hashes-only reports over
 *      keep-alive HTTP (libcurl), client i to collector i mod COLLECTORS (as
 *      a load balancer would spread them); prints reports/s, the per-request
 *      latency median and p99, and for SQLite the share of the ceiling;
 *   2. with one collector: REPORTS/2 reports through one certpin_reporter
 *      (queue + background sender); prints reports/s from the first submit
 *      to the flush.
 * Every count is checked against the collectors' /stats (lost reports are
 * printed, not hidden).  Figures only, no pass/fail on timings.  Defaults:
 * 10000 reports, 4 clients, 1 collector.
 */
#include "bench_common.h"
#include "certpin.h"
#include "certpin/report.h"
#include "collect_db.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#define MAX_COLLECTORS 8

static char tmpl[4096];
static int ports[MAX_COLLECTORS], ncollectors = 1;
static pid_t pids[MAX_COLLECTORS];

typedef struct job {
	int index, count, ok;
	double *lat;
} job;

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p, (void)u;
	return s * n;
}

/* The template report with "port":1 replaced by `port`; its length. */
static int report_body(char *out, size_t cap, int port)
{
	const char *at = strstr(tmpl, "\"port\":1,");
	if (!at)
		return -1;
	return snprintf(out, cap, "%.*s\"port\":%d,%s", (int)(at - tmpl), tmpl, port, at + 9);
}

static void *client(void *arg)
{
	job *j = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[96], body[4200];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/report", ports[j->index % ncollectors]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < j->count; i++) {
		int n = report_body(body, sizeof(body), 1 + (j->index * j->count + i) % 65535);
		long status = 0;
		double t0 = bench_now_ns();
		if (n < 0)
			break;
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
		if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
			status == 201)
			j->ok++;
		j->lat[i] = bench_now_ns() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* One of a collector's /stats counters, or -1. */
static long long stat_at(int port, const char *key)
{
	CURL *c = curl_easy_init();
	char url[96];
	FILE *f = tmpfile();
	long long v = -1;
	char buf[1024] = "";

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (curl_easy_perform(c) == CURLE_OK) {
		rewind(f);
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		char k[64];
		snprintf(k, sizeof(k), "\"%s\":", key);
		const char *s = strstr(buf, k);
		if (s)
			v = atoll(s + strlen(k));
	}
	fclose(f);
	curl_easy_cleanup(c);
	return v;
}

/* A counter summed over all the collectors. */
static long long stat_sum(const char *key)
{
	long long sum = 0;
	for (int i = 0; i < ncollectors; i++)
		sum += stat_at(ports[i], key);
	return sum;
}

static long long stored(void)
{
	return stat_sum("stored");
}

/* Start collector `i` on `db`; 0, or -1 after a message. */
static int start_collector(int i, const char *cli, const char *db, const char *dir)
{
	char portfile[4200], name[32];
	snprintf(name, sizeof(name), "port%d", i);
	snprintf(portfile, sizeof(portfile), "%s", bench_path(dir, name));
	const char *args[] = { cli, "collect", "--db", db, "--listen", "127.0.0.1:0", "--port-file", portfile,
		"--duration", "900", "--threads", "2", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawn(&pids[i], cli, &fa, NULL, (char *const *)args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "bench_collect: cannot run %s\n", cli);
		return -1;
	}
	for (int k = 0; k < 400 && ports[i] <= 0; k++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &ports[i]) != 1)
				ports[i] = 0;
			fclose(f);
		}
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
	}
	if (ports[i] <= 0) {
		fprintf(stderr, "bench_collect: collector %d did not start\n", i);
		return -1;
	}
	return 0;
}

static void stop_collectors(void)
{
	for (int i = 0; i < ncollectors; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
	}
}

/* The template report (digests only, "port":1) from the library's builder, and the policy it needs. */
static int make_template(certpin_policy **pp, certpin_report_input *in, certpin_result *res, certpin_report_cert *certs)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 1 } };
	certpin_chain_elem e[2];
	char *json = NULL;

	memset(e, 0, sizeof(e));
	ho.pattern = "api.example.com";
	if (certpin_policy_new(pp) != CERTPIN_OK || certpin_policy_add_host(*pp, &ho, NULL) != CERTPIN_OK ||
		certpin_policy_add_pin(*pp, "api.example.com", &pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		return -1;
	for (int i = 0; i < 2; i++) {
		e[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(e[i].spki_sha256, 0x30 + i, 32);
		memset(e[i].cert_sha256, 0x40 + i, 32);
		memset(&certs[i], 0, sizeof(certs[i]));
		certs[i].digests = e[i];
	}
	if (certpin_verify(res, *pp, "api.example.com", e, 2, (int64_t)time(NULL)) != CERTPIN_E_PIN_MISMATCH)
		return -1;
	in->policy = *pp;
	in->result = res;
	in->rc = CERTPIN_E_PIN_MISMATCH;
	in->port = 1;
	in->served = certs;
	in->nserved = 2;
	if (certpin_report_build(&json, in) != CERTPIN_OK || strlen(json) >= sizeof(tmpl)) {
		free(json);
		return -1;
	}
	snprintf(tmpl, sizeof(tmpl), "%s", json);
	free(json);
	return 0;
}

/*
 * The bulk-insert ceiling: `total` reports shaped as the collector stores
 * the template (two pins, the body as received, an idempotency key from one
 * of `nclients` senders, each counting up as a reporter's do) into a fresh
 * SQLite database, 1000 to a transaction.  Reports/s, or -1.
 */
static double bulk_ceiling(const char *dir, int total, int nclients)
{
	enum { BATCH = 1000 };
	static char bodies[BATCH][4200], keys[BATCH][64];
	cdb_report reps[BATCH];
	const cdb_report *ptrs[BATCH];
	cdb_pin pins[2] = { { 0, "sha256/MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=", 0 },
		{ 1, "sha256/MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=", 0 } };
	char err[256], spec[4200];
	cdb *db = NULL;
	double t0, dt = 0;

	snprintf(spec, sizeof(spec), "%s", bench_path(dir, "ceiling.sqlite"));
	if (cdb_open(&db, spec, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_collect: ceiling: %s\n", err);
		return -1;
	}
	for (int done = 0; done < total;) {
		int n = total - done < BATCH ? total - done : BATCH;
		for (int i = 0; i < n; i++) {
			memset(&reps[i], 0, sizeof(reps[i]));
			report_body(bodies[i], sizeof(bodies[i]), 1 + (done + i) % 65535);
			reps[i].received_at = reps[i].report_time = (int64_t)time(NULL);
			snprintf(reps[i].day, sizeof(reps[i].day), "2026-12-07");
			reps[i].hostname = "api.example.com";
			reps[i].port = (unsigned)(1 + (done + i) % 65535);
			reps[i].noted_hostname = "api.example.com";
			reps[i].kind = "mismatch";
			reps[i].enforce = 1;
			reps[i].served_pin = pins[0].pin;
			snprintf(reps[i].report_key, sizeof(reps[i].report_key), "%064x", done + i);
			reps[i].peer = "127.0.0.1";
			reps[i].body = bodies[i];
			reps[i].pins = pins;
			reps[i].npins = 2;
			snprintf(keys[i], sizeof(keys[i]), "%032x-%016x", (done + i) % nclients, (done + i) / nclients);
			reps[i].idem_key = keys[i];
			ptrs[i] = &reps[i];
		}
		t0 = bench_now_ns();
		if (cdb_store_batch(db, ptrs, (size_t)n, NULL, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_collect: ceiling: %s\n", err);
			cdb_close(db);
			return -1;
		}
		dt += bench_now_ns() - t0;
		done += n;
	}
	cdb_close(db);
	return total / (dt / 1e9);
}

/* Phase 1: `nclients` keep-alive clients post `total` reports; reports/s. */
static double run_clients(int total, int nclients)
{
	long long s0 = stored(), c0 = stat_sum("commits");
	job *jobs = calloc((size_t)nclients, sizeof(*jobs));
	pthread_t *th = calloc((size_t)nclients, sizeof(*th));
	int per = total / nclients, ok = 0;
	double *all = calloc((size_t)per * (size_t)nclients + 1, sizeof(double));
	double t0 = bench_now_ns();

	for (int i = 0; i < nclients; i++) {
		jobs[i] = (job){ i, per, 0, calloc((size_t)per + 1, sizeof(double)) };
		pthread_create(&th[i], NULL, client, &jobs[i]);
	}
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
		memcpy(all + (size_t)i * (size_t)per, jobs[i].lat, (size_t)per * sizeof(double));
		free(jobs[i].lat);
	}
	double dt = (bench_now_ns() - t0) / 1e9;
	long long s1 = stored(), commits = stat_sum("commits") - c0;
	size_t n = (size_t)per * (size_t)nclients;
	printf("http clients:   %zu reports in %.2f s = %.0f reports/s; latency median %.0f us, p99 %.0f us; "
		"201: %d, stored: %lld, lost: %lld; %lld commits, %.1f reports each\n", n, dt, (double)n / dt,
		bench_quantile(all, n, 0.5) / 1e3, bench_quantile(all, n, 0.99) / 1e3, ok, s1 - s0, (long long)ok - (s1 - s0),
		commits, commits > 0 ? (double)(s1 - s0) / (double)commits : 0.0);
	free(all);
	free(jobs);
	free(th);
	return (double)n / dt;
}

/* Phase 2: `m` reports through one certpin_reporter to the first collector. */
static void run_reporter(certpin_policy *p, certpin_report_input *in, int m)
{
	certpin_reporter *r = NULL;
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;
	char uri[96];
	const char *uris[1] = { uri };
	long long s1 = stored();

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", ports[0]);
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	o.report_uris = uris;
	o.nreport_uris = 1;
	o.queue_max = (size_t)m;
	o.dedup_max = (size_t)m;
	if (certpin_reporter_new(&r, p, &o) != CERTPIN_OK)
		return;
	double t0 = bench_now_ns();
	for (int i = 0; i < m; i++) {
		in->port = (unsigned)(1 + i % 65535);
		(void)certpin_reporter_submit(r, in);
	}
	double tq = (bench_now_ns() - t0) / 1e3 / m;
	int fl = certpin_reporter_flush(r, 600000);
	double dt = (bench_now_ns() - t0) / 1e9;
	certpin_reporter_stats st;
	certpin_reporter_get_stats(r, &st);
	long long s2 = stored();
	printf("certpin_reporter: %d reports, submit %.2f us each, delivered in %.2f s = %.0f reports/s; "
		"delivered %llu, dropped %llu, stored %lld%s\n", m, tq, dt, m / dt, (unsigned long long)st.delivered,
		(unsigned long long)st.dropped, s2 - s1, fl == CERTPIN_OK ? "" : " (flush timed out)");
	certpin_reporter_free(r);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_collect CERTPIN_CLI [REPORTS] [CLIENTS] [DB_SPEC] [COLLECTORS]\n");
		return 2;
	}
	int total = argc > 2 ? atoi(argv[2]) : 10000, nclients = argc > 3 ? atoi(argv[3]) : 4;
	char dir[] = "/tmp/certpin-bench-collect-XXXXXX", db[4200], cmd[4300];
	int rc = 1;

	ncollectors = argc > 5 ? atoi(argv[5]) : 1;
	if (total < 1 || total > 1000000 || nclients < 1 || nclients > 64 || ncollectors < 1 ||
		ncollectors > MAX_COLLECTORS || !mkdtemp(dir))
		return 2;
	snprintf(db, sizeof(db), "%s", argc > 4 && argv[4][0] ? argv[4] : bench_path(dir, "bench.sqlite"));
	int sqlite = strncmp(db, "postgres", 8) != 0;

	certpin_policy *p = NULL;
	certpin_result res;
	certpin_report_cert certs[2];
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	if (make_template(&p, &in, &res, certs) != 0)
		return 1;
	printf("== bench_collect: %s, %d collector(s), %d reports of %zu bytes, %d keep-alive clients\n",
		sqlite ? "sqlite (WAL, acknowledged once synced)" : "postgresql", ncollectors, total, strlen(tmpl), nclients);
	double ceiling = sqlite ? bulk_ceiling(dir, total, nclients) : 0;
	if (ceiling > 0)
		printf("bulk ceiling:   %d reports straight into SQLite, 1000 a transaction = %.0f reports/s\n", total,
			ceiling);
	fflush(stdout);
	for (int i = 0; i < ncollectors; i++)
		if (start_collector(i, argv[1], db, dir) != 0)
			goto out;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	double rate = run_clients(total, nclients);
	if (ceiling > 0)
		printf("share of the bulk ceiling: %.1f %%\n", 100.0 * rate / ceiling);
	if (ncollectors == 1)
		run_reporter(p, &in, total / 2);
	rc = 0;
out:
	fflush(stdout);
	stop_collectors();
	certpin_policy_free(p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_collect: could not remove %s\n", dir);
	return rc;
}
