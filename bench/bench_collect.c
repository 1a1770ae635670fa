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
 *   1. lean clients, the headline figure: one thread with epoll keeps
 *      CLIENTS keep-alive connections busy, each a closed loop (one request
 *      in flight, the next sent when the reply is in), posting REPORTS
 *      distinct hashes-only reports with an Idempotency-Key each; connection
 *      i goes to collector i mod COLLECTORS (as a load balancer would spread
 *      them).  Prints reports/s, the per-request latency median and p99, 201
 *      (stored) and 200 (a duplicate, stored before) apart, the CPU the
 *      clients took, and for SQLite the share of the ceiling;
 *   2. libcurl clients: the same load from CLIENTS threads, one libcurl easy
 *      handle each (no Idempotency-Key), with the same figures;
 *   3. with one collector: REPORTS/2 reports through one certpin_reporter
 *      (queue + background sender); prints reports/s from the first submit
 *      to the flush.
 * Why the lean clients: the load generator shares this machine's cores with
 * the collector it measures, so it must cost little, else it measures
 * itself.  On 2 vCPUs the 32 libcurl threads took up to half a core (the
 * "clients' CPU" lines show it), which a collector's clients, on other
 * machines, do not take from it.  The libcurl figure stays for continuity
 * with the earlier results.
 * Every count is checked against the collectors' /stats (lost reports are
 * printed, not hidden).  Figures only, no pass/fail on timings.  Defaults:
 * 10000 reports, 4 clients, 1 collector.
 */
#include "bench_common.h"
#include "certpin.h"
#include "certpin/report.h"
#include "collect_db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

#define MAX_COLLECTORS 8
#define MAX_CLIENTS 64

static char tmpl[4096];
static int ports[MAX_COLLECTORS], ncollectors = 1;
static pid_t pids[MAX_COLLECTORS];

/* What a client phase counted, and the latency of each request that ended. */
typedef struct phase {
	size_t n;                   /* requests that ended: answered or failed */
	int n201, n200;             /* stored; a duplicate, stored before */
	int unsent;                 /* reports of connections that gave up */
	double dt, cpu;             /* wall and CPU seconds (this process: the clients) */
	double *lat;                /* ns, n of them */
} phase;

typedef struct job {
	int index, count, n201, n200;
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

/* Milliseconds since 1970: the first part of an Idempotency-Key, as certpin_reporter makes them. */
static unsigned long long bench_epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* 128 random bits as hex: a sender's part of its Idempotency-Keys.  0, or -1 without randomness. */
static int key_prefix(char out[33])
{
	unsigned char r[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (int k = 0; k < 16; k++)
		snprintf(out + 2 * k, 3, "%02x", r[k]);
	return 0;
}

/* A libcurl client: keep-alive, each report with an Idempotency-Key as certpin_reporter sends it. */
static void *client(void *arg)
{
	job *j = arg;
	CURL *c = curl_easy_init();
	char url[96], body[4200], prefix[33], key[96];

	if (!c || key_prefix(prefix) != 0) {
		curl_easy_cleanup(c);
		return NULL; /* nothing sent: the phase's line shows the failures */
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/report", ports[j->index % ncollectors]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < j->count; i++) {
		int n = report_body(body, sizeof(body), 1 + (j->index * j->count + i) % 65535);
		long status = 0;
		double t0 = bench_now_ns();
		if (n < 0)
			break;
		snprintf(key, sizeof(key), "Idempotency-Key: \"%012llx-%s-%016x\"", bench_epoch_ms(), prefix, (unsigned)i);
		struct curl_slist *h = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), key);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
		if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
			j->n201 += status == 201;
			j->n200 += status == 200;
		}
		j->lat[i] = bench_now_ns() - t0;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(h);
	}
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
	static char bodies[BATCH][4200], keys[BATCH][80];
	unsigned char outcome[BATCH];
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
			snprintf(keys[i], sizeof(keys[i]), "%012llx-%032x-%016x", bench_epoch_ms(), (done + i) % nclients,
				(done + i) / nclients);
			reps[i].idem_key = keys[i];
			ptrs[i] = &reps[i];
		}
		t0 = bench_now_ns();
		if (cdb_store_batch(db, ptrs, (size_t)n, outcome, err, sizeof(err)) != 0) {
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

/* CPU seconds this process has used (user + system, all threads). */
static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * The line of a client phase: `label`, the figures, `suffix`; stored and lost from the /stats deltas since `s0`
 * and `c0` (lost: answered 201, which is "stored", but not in the count; a 200 is a duplicate, not stored
 * again).  Sorts ph->lat.  Reports/s.
 */
static double print_phase(const char *label, phase *ph, long long s0, long long c0, const char *suffix)
{
	long long s = stored() - s0, commits = stat_sum("commits") - c0, acked = (long long)ph->n201 + ph->n200;
	double rate = ph->dt > 0 ? (double)ph->n / ph->dt : 0;

	printf("%s%zu reports in %.2f s = %.0f reports/s; latency median %.0f us, p99 %.0f us; 201: %d, 200: %d, "
		"stored: %lld, lost: %lld; %lld commits, %.1f reports each%s\n", label, ph->n, ph->dt, rate,
		bench_quantile(ph->lat, ph->n, 0.5) / 1e3, bench_quantile(ph->lat, ph->n, 0.99) / 1e3, ph->n201, ph->n200,
		s, (long long)ph->n201 - s, commits, commits > 0 ? (double)s / (double)commits : 0.0, suffix);
	printf("  clients' CPU: %.2f of a core (%.2f s)", ph->dt > 0 ? ph->cpu / ph->dt : 0, ph->cpu);
	if ((long long)ph->n > acked || ph->unsent > 0)
		printf("; failed: %lld requests, %d reports not sent", (long long)ph->n - acked, ph->unsent);
	printf("\n");
	return rate;
}

/*
 * The lean load generator (phase 1): one thread, epoll, non-blocking sockets.
 * Each connection is a closed loop: it writes one whole request, reads the
 * whole reply, then starts the next; replies are parsed only as far as this
 * needs (status, Content-Length, Connection: close).  A request that gets
 * another status than 200 or 201, a malformed reply, a closed connection or
 * no reply within LEAN_TIMEOUT_NS has failed: the connection is dropped and
 * opened again for the next report, and after LEAN_RECONNECTS such
 * reconnects it gives up its remaining reports.
 */
#define LEAN_REQ_MAX 4608           /* a report (< 4096 bytes, tmpl) and the headers */
#define LEAN_RESP_MAX 4096          /* the collector's replies are ~150 bytes */
#define LEAN_TIMEOUT_NS 30e9        /* a request's whole time, as the libcurl clients' CURLOPT_TIMEOUT */
#define LEAN_RECONNECTS 3
#define LEAN_PHASE_NS 600e9         /* the whole phase: the collectors exit after 900 s (--duration) */
#define LEAN_SCAN_NS 100e6          /* how often the deadlines are checked */

enum { LC_IDLE, LC_CONNECTING, LC_WRITING, LC_READING, LC_DONE };

typedef struct lean_conn {
	int fd, index, state;
	uint32_t events;            /* what epoll waits for on fd; 0: fd not registered */
	int count, next;            /* its reports; the one in flight or next, and its Idempotency-Key sequence */
	int reconnects;             /* after failures */
	char key[33];               /* the random part of its Idempotency-Keys, hex */
	size_t reqlen, wrote, got;
	double t0;                  /* the request's start */
	char req[LEAN_REQ_MAX], resp[LEAN_RESP_MAX];
} lean_conn;

typedef struct lean {
	int ep, active;             /* epoll; connections not done */
	phase *ph;
} lean;

static int lean_want(lean *L, lean_conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->events == ev)
		return 0;
	if (epoll_ctl(L->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) != 0)
		return -1;
	c->events = ev;
	return 0;
}

static void lean_close(lean_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);   /* also leaves the epoll set */
	c->fd = -1;
	c->events = 0;
}

/* The request in flight has ended: its latency; the next one is due. */
static void lean_ended(lean *L, lean_conn *c)
{
	L->ph->lat[L->ph->n++] = bench_now_ns() - c->t0;
	c->next++;
	c->state = LC_IDLE;
}

/* The request in flight has failed: drop the connection, and give up after LEAN_RECONNECTS reconnects. */
static void lean_fail(lean *L, lean_conn *c)
{
	lean_close(c);
	lean_ended(L, c);
	if (c->next < c->count && c->reconnects++ >= LEAN_RECONNECTS) {
		L->ph->unsent += c->count - c->next;
		c->next = c->count;
	}
}

/*
 * The steps of a connection return 1 when it can go on at once (the next
 * step is due), 0 when it waits for epoll.
 */
static int lean_open(lean *L, lean_conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ports[c->index % ncollectors]) };
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		lean_fail(L, c);
		return 1;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		c->state = LC_WRITING;
		return 1;
	}
	if (errno == EINPROGRESS && lean_want(L, c, EPOLLOUT) == 0) {
		c->state = LC_CONNECTING;
		return 0;
	}
	lean_fail(L, c);
	return 1;
}

static int lean_connected(lean *L, lean_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		lean_fail(L, c);
		return 1;
	}
	c->state = LC_WRITING;
	return 1;
}

/* Build the next request and start it (on a new connection if there is none), or end the connection's loop. */
static int lean_begin(lean *L, lean_conn *c)
{
	int port = ports[c->index % ncollectors], len = -1;
	char body[4200];

	if (c->next >= c->count) {
		lean_close(c);
		c->state = LC_DONE;
		L->active--;
		return 0;
	}
	c->t0 = bench_now_ns();
	int n = report_body(body, sizeof(body), 1 + (c->index * c->count + c->next) % 65535);
	if (n >= 0)
		len = snprintf(c->req, sizeof(c->req), "POST /report HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			"Content-Type: application/json\r\nIdempotency-Key: \"%012llx-%s-%016llx\"\r\nContent-Length: %d\r\n"
			"\r\n%s", port, bench_epoch_ms(), c->key, (unsigned long long)c->next, n, body);
	if (len < 0 || (size_t)len >= sizeof(c->req)) {
		lean_fail(L, c);
		return 1;
	}
	c->reqlen = (size_t)len;
	c->wrote = c->got = 0;
	if (c->fd < 0)
		return lean_open(L, c);
	c->state = LC_WRITING;
	return 1;
}

static int lean_write(lean *L, lean_conn *c)
{
	while (c->wrote < c->reqlen) {  /* each pass writes a byte or more, or leaves */
		ssize_t w = send(c->fd, c->req + c->wrote, c->reqlen - c->wrote, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && lean_want(L, c, EPOLLOUT) == 0)
			return 0;
		if (w <= 0) {
			lean_fail(L, c);
			return 1;
		}
		c->wrote += (size_t)w;
	}
	if (lean_want(L, c, EPOLLIN) != 0) {
		lean_fail(L, c);
		return 1;
	}
	c->state = LC_READING;
	return 0;
}

/* The first CRLF in [p, end), or NULL. */
static const char *lean_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

/* Whether a Connection header's value [v, end) lists "close". */
static int lean_lists_close(const char *v, const char *end)
{
	while (v < end) {   /* each pass takes a byte or more */
		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		const char *t = v;
		while (v < end && *v != ' ' && *v != '\t' && *v != ',')
			v++;
		if (v - t == 5 && strncasecmp(t, "close", 5) == 0)
			return 1;
	}
	return 0;
}

/* One header line [p, end): Content-Length into *clen, Connection: close into *closes; -1 if malformed. */
static int lean_header(const char *p, const char *end, long *clen, int *closes)
{
	const char *colon = memchr(p, ':', (size_t)(end - p)), *v, *d;
	long n = 0;

	if (!colon || colon == p)
		return -1;
	for (v = p; v < colon; v++)
		if ((unsigned char)*v <= ' ')   /* no space before the colon, no folded lines */
			return -1;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	size_t len = (size_t)(colon - p);
	if (len == 14 && strncasecmp(p, "content-length", 14) == 0) {
		for (d = v; d < end && *d >= '0' && *d <= '9' && n < 100000000; d++)
			n = n * 10 + (*d - '0');
		if (d == v)
			return -1;
		for (; d < end && (*d == ' ' || *d == '\t'); d++)
			;
		if (d != end || (*clen >= 0 && *clen != n))
			return -1;
		*clen = n;
	} else if (len == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
		return -1;  /* the collector never chunks its replies */
	} else if (len == 10 && strncasecmp(p, "connection", 10) == 0 && lean_lists_close(v, end)) {
		*closes = 1;
	}
	return 0;
}

/*
 * The reply in buf[0..len) of a buffer of `cap` bytes: 1 when it is complete
 * (its status; whether the server closes), 0 when more is to come, -1 when
 * it is malformed.  The collector always sends Content-Length: a reply
 * without it, or with bytes after its end (nothing was pipelined), is
 * malformed.
 */
static int lean_parse(const char *buf, size_t len, size_t cap, int *status, int *closes)
{
	const char *p = buf, *end = buf + len, *eol;
	long clen = -1;

	*closes = 0;
	for (int line = 0;; line++, p = eol + 2) {  /* each pass takes a line (2 bytes or more) or leaves */
		eol = lean_crlf(p, end);
		if (!eol)
			return len >= cap ? -1 : 0;
		if (line == 0) {
			if (eol - p < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' || p[10] < '0' ||
				p[10] > '9' || p[11] < '0' || p[11] > '9' || (eol - p > 12 && p[12] != ' '))
				return -1;
			*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		} else if (eol == p) {
			break;      /* the empty line: the headers end */
		} else if (lean_header(p, eol, &clen, closes) != 0) {
			return -1;
		}
	}
	p = eol + 2;
	size_t have = (size_t)(end - p);
	if (clen < 0 || (size_t)clen > cap - (size_t)(p - buf))
		return -1;
	if (have < (size_t)clen)
		return 0;
	return have == (size_t)clen ? 1 : -1;
}

static int lean_read(lean *L, lean_conn *c)
{
	int status = 0, closes = 0, done = -1;
	ssize_t r = recv(c->fd, c->resp + c->got, sizeof(c->resp) - c->got, 0);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (r > 0) {
		c->got += (size_t)r;
		done = lean_parse(c->resp, c->got, sizeof(c->resp), &status, &closes);
	}
	if (done == 0)
		return 0;       /* level-triggered: the rest, if already here, is reported at once */
	if (done < 0 || (status != 201 && status != 200)) {
		lean_fail(L, c);
		return 1;
	}
	L->ph->n201 += status == 201;
	L->ph->n200 += status == 200;
	if (closes)
		lean_close(c);  /* not a failure: the next request opens a new connection */
	lean_ended(L, c);
	return 1;
}

/* Take `c` on after the epoll events `ev` (0: none) until it waits for epoll or is done. */
static void lean_drive(lean *L, lean_conn *c, uint32_t ev)
{
	/* a reply, then the next request; or a failure, then per reconnect a begin that may fail at once */
	for (int k = 0; k < 4 * (LEAN_RECONNECTS + 2); k++) {
		int go = 0;
		if (c->state == LC_IDLE)
			go = lean_begin(L, c);
		else if (c->state == LC_CONNECTING && ev)
			go = lean_connected(L, c);
		else if (c->state == LC_WRITING)
			go = lean_write(L, c);
		else if (c->state == LC_READING && ev)
			go = lean_read(L, c);
		if (!go)
			return;
		ev = 0;         /* the events were for the step just taken */
	}
}

/* Fail the requests older than LEAN_TIMEOUT_NS; from the phase's `end` on, every connection gives up. */
static void lean_scan(lean *L, lean_conn *conns, int n, double now, double end)
{
	for (int i = 0; i < n; i++) {
		lean_conn *c = &conns[i];
		if (c->state == LC_DONE)
			continue;
		if (now >= end) {
			c->reconnects = LEAN_RECONNECTS;
			if (c->state == LC_IDLE) {
				L->ph->unsent += c->count - c->next;
				c->next = c->count;
			}
		}
		if (c->state != LC_IDLE && (now >= end || now - c->t0 > LEAN_TIMEOUT_NS))
			lean_fail(L, c);
		lean_drive(L, c, 0);    /* also a connection left due by lean_drive()'s bound */
	}
}

/* `n` connections of `per` reports each, each with the random part of its keys; -1 without randomness. */
static int lean_init(lean_conn *conns, int n, int per)
{
	for (int i = 0; i < n; i++) {
		if (key_prefix(conns[i].key) != 0)
			return -1;
		conns[i].fd = -1;
		conns[i].index = i;
		conns[i].count = per;
		conns[i].state = LC_IDLE;
	}
	return 0;
}

/* Phase 1: `nclients` connections of one thread post `total` reports; reports/s, or -1. */
static double run_lean(int total, int nclients)
{
	long long s0 = stored(), c0 = stat_sum("commits");
	int per = total / nclients;
	lean_conn *conns = calloc((size_t)nclients, sizeof(*conns));
	phase ph = { .lat = calloc((size_t)per * (size_t)nclients + 1, sizeof(double)) };
	lean L = { epoll_create1(EPOLL_CLOEXEC), nclients, &ph };
	struct epoll_event ev[MAX_CLIENTS];
	double t0 = bench_now_ns(), cpu0 = cpu_s(), end = t0 + LEAN_PHASE_NS, scan = t0 + LEAN_SCAN_NS, rate = -1;
	char suffix[64];

	if (L.ep < 0 || !conns || !ph.lat || lean_init(conns, nclients, per) != 0) {
		fprintf(stderr, "bench_collect: lean clients: %s\n", strerror(errno));
		goto out;
	}
	for (int i = 0; i < nclients; i++)
		lean_drive(&L, &conns[i], 0);
	while (L.active > 0) {      /* bounded by `end`: from then on every connection gives up */
		int n = epoll_wait(L.ep, ev, MAX_CLIENTS, (int)(LEAN_SCAN_NS / 1e6));
		int broken = n < 0 && errno != EINTR;
		for (int i = 0; i < n; i++)
			lean_drive(&L, ev[i].data.ptr, ev[i].events);
		double now = bench_now_ns();
		if (broken)
			end = now;
		if (now >= scan || now >= end) {
			lean_scan(&L, conns, nclients, now, end);
			scan = now + LEAN_SCAN_NS;
		}
	}
	ph.dt = (bench_now_ns() - t0) / 1e9;
	ph.cpu = cpu_s() - cpu0;
	snprintf(suffix, sizeof(suffix), " (lean: 1 thread, %d connections)", nclients);
	rate = print_phase("http clients:   ", &ph, s0, c0, suffix);
out:
	if (L.ep >= 0)
		close(L.ep);
	free(conns);
	free(ph.lat);
	return rate;
}

/* Phase 2: `nclients` libcurl threads post `total` reports; reports/s. */
static double run_curl(int total, int nclients)
{
	long long s0 = stored(), c0 = stat_sum("commits");
	job *jobs = calloc((size_t)nclients, sizeof(*jobs));
	pthread_t *th = calloc((size_t)nclients, sizeof(*th));
	int per = total / nclients;
	phase ph = { .n = (size_t)per * (size_t)nclients };
	double t0 = bench_now_ns(), cpu0 = cpu_s();

	ph.lat = calloc(ph.n + 1, sizeof(double));
	for (int i = 0; i < nclients; i++) {
		jobs[i] = (job){ i, per, 0, 0, calloc((size_t)per + 1, sizeof(double)) };
		pthread_create(&th[i], NULL, client, &jobs[i]);
	}
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		ph.n201 += jobs[i].n201;
		ph.n200 += jobs[i].n200;
		memcpy(ph.lat + (size_t)i * (size_t)per, jobs[i].lat, (size_t)per * sizeof(double));
		free(jobs[i].lat);
	}
	ph.dt = (bench_now_ns() - t0) / 1e9;
	ph.cpu = cpu_s() - cpu0;
	double rate = print_phase("libcurl clients: ", &ph, s0, c0, "");
	free(ph.lat);
	free(jobs);
	free(th);
	return rate;
}

/* Phase 3: `m` reports through one certpin_reporter to the first collector. */
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
	if (total < 1 || total > 1000000 || nclients < 1 || nclients > MAX_CLIENTS || ncollectors < 1 ||
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
	double rate = run_lean(total, nclients);
	if (ceiling > 0 && rate > 0)
		printf("share of the bulk ceiling: %.1f %%\n", 100.0 * rate / ceiling);
	rate = run_curl(total, nclients);
	if (ceiling > 0)
		printf("libcurl share of the bulk ceiling: %.1f %%\n", 100.0 * rate / ceiling);
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
