/*
 * collect_test - the report pipeline end to end, on 127.0.0.1 only:
 *
 *   1. real pinned TLS clients fail against a local TLS server; their
 *      certpin_reporter (failure callback, and certpin_reporter_submit_ssl
 *      with PEM chains) posts to a running "certpin collect"; repeated
 *      failures arrive once (dedup) and "certpin reports" shows them;
 *   2. an HTTPS collector: the reporter verifies its certificate;
 *   3. malformed, oversized (with and without Content-Length), wrong
 *      type/path/method and garbage requests: right status, counted, the
 *      server keeps serving; bad HTTP that libmicrohttpd refuses itself
 *      (Content-Length, chunk size, header size, version, not HTTP at all)
 *      is counted as bad_http; a report of exactly the library's
 *      CERTPIN_REPORT_MAX_LEN is stored with the default --max-body;
 *   4. slow clients: idle connection, headers trickled, body trickled --
 *      each cut off within its deadline while other clients are served;
 *   5. load: a bounded number of reports from parallel keep-alive clients,
 *      then through the library's sender; prints reports/s and checks that
 *      every report was stored (zero lost).
 *
 * The collector's database is a temporary SQLite file, or the one named by
 * CERTPIN_COLLECT_DB (collect_pg_test.sh runs this program on PostgreSQL).
 * The CLI is $CERTPIN, else ../certpin next to this program.  Every child
 * process is stopped by PID, every wait is bounded.
 */
#include "certpin.h"
#include "certpin/report.h"
#include "collector.h"
#include "test.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/ssl.h>

static const char *cli;
static char tmpdir[] = "/tmp/certpin-collect-XXXXXX", db_spec[4096];
static long total_stored;   /* reports the collector(s) should hold */

/* ---- helpers --------------------------------------------------------------- */

static json_t *reports_json(void)
{
	const char *args[] = { "reports", "--db", db_spec, "--json", "--top", "50", NULL };
	char *out = NULL;
	int rc = test_run_cli(&out, cli, tmpdir, args);
	CHECK_INT(rc, 0);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	CHECK(j != NULL);
	free(out);
	return j;
}

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/*
 * Counter `k` once it reaches `want`, waiting up to 3 s: a connection's
 * close is counted by whichever of the collector's threads served it, and
 * may land after the client has moved on to its next request.
 */
static long long stat_wait(int port, const char *k, long long want)
{
	long long v = test_collector_stat(port, k);
	for (int i = 0; i < 60 && v < want; i++) {
		test_sleep_ms(50);
		v = test_collector_stat(port, k);
	}
	return v;
}

/* ---- fixtures -------------------------------------------------------------- */

static certpin_policy *policy;
static char pin_backup[CERTPIN_PIN_STRLEN], pin_leaf[CERTPIN_PIN_STRLEN];

static void load_policy(void)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL), doc[2048];
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
		char name[64], pin[CERTPIN_PIN_STRLEN];
		if (sscanf(line, "%63s %79s", name, pin) != 2)
			continue;
		if (strcmp(name, "backup") == 0)
			snprintf(pin_backup, sizeof(pin_backup), "%s", pin);
		if (strcmp(name, "leaf") == 0)
			snprintf(pin_leaf, sizeof(pin_leaf), "%s", pin);
	}
	free(txt);
	/* the servers present the leaf key; the policy knows only the backup key */
	snprintf(doc, sizeof(doc),
		"{\"schema\": 1, \"policy_version\": 3, \"hosts\": ["
		" {\"host\": \"api.certpin.test\", \"pins\": [\"%s\"]},"
		" {\"host\": \"*.wild.certpin.test\", \"mode\": \"report-only\", \"pins\": [\"%s\"]}]}",
		pin_backup, pin_backup);
	CHECK_INT(certpin_policy_load_data(&policy, doc, strlen(doc), "collect_test", NULL, NULL), CERTPIN_OK);
}

/* One pinned client connection; returns the SSL (caller frees) after the handshake attempt. */
static SSL *pinned_connect(SSL_CTX *ctx, int port, const char *host, int *fdp, int *ok)
{
	struct sockaddr_in sa;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	SSL_set1_host(ssl, host);
	*ok = SSL_connect(ssl) == 1;
	*fdp = fd;
	return ssl;
}

/* ---- 1. end to end ---------------------------------------------------------- */

static void test_end_to_end(const test_collector *c)
{
	tlsserver *srv = NULL;
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *rep = NULL;
	certpin_reporter_options ro = CERTPIN_REPORTER_OPTIONS_INIT;
	certpin_ssl_options so = CERTPIN_SSL_OPTIONS_INIT;
	SSL_CTX *ctx;
	certpin_reporter_stats st;

	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", c->port);
	ro.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	ro.report_uris = uris;
	ro.nreport_uris = 1;
	ro.default_port = 443;
	CHECK_INT(certpin_reporter_new(&rep, policy, &ro), CERTPIN_OK);
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 0), 0);
	if (!srv || !rep)
		return;

	/* (a) enforced host, failure callback: 5 refused connections, one report */
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL);
	so.on_failure = certpin_reporter_on_failure;
	so.payload = rep;
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, &so), CERTPIN_OK);
	for (int i = 0; i < 5; i++) {
		int fd, ok;
		SSL *ssl = pinned_connect(ctx, tlsserver_port(srv), "api.certpin.test", &fd, &ok);
		CHECK_INT(ok, 0); /* refused: the pin does not match */
		CHECK_INT(certpin_ssl_result(NULL, ssl), CERTPIN_E_PIN_MISMATCH);
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);

	/* (b) report-only host, reports built after the handshake with PEM chains */
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK);
	int queued = 0, dups = 0;
	for (int i = 0; i < 4; i++) {
		int fd, ok;
		SSL *ssl = pinned_connect(ctx, tlsserver_port(srv), "x.wild.certpin.test", &fd, &ok);
		CHECK_INT(ok, 1); /* report-only: allowed */
		int rc = certpin_reporter_submit_ssl(rep, ssl);
		queued += rc == CERTPIN_REPORT_QUEUED;
		dups += rc == CERTPIN_REPORT_DUPLICATE;
		SSL_free(ssl);
		close(fd);
	}
	CHECK_INT(queued, 1);
	CHECK_INT(dups, 3);
	/* an unpinned host has nothing to report */
	{
		int fd, ok;
		SSL *ssl = pinned_connect(ctx, tlsserver_port(srv), "localhost", &fd, &ok);
		CHECK_INT(ok, 1);
		CHECK_INT(certpin_reporter_submit_ssl(rep, ssl), CERTPIN_REPORT_NONE);
		SSL_free(ssl);
		close(fd);
	}
	SSL_CTX_free(ctx);

	CHECK_INT(certpin_reporter_flush(rep, 20000), CERTPIN_OK);
	certpin_reporter_get_stats(rep, &st);
	CHECK_INT(st.delivered, 2);
	CHECK_INT(st.duplicates, 7);
	CHECK_INT(st.dropped, 0);
	CHECK_INT(st.rejected, 0);
	certpin_reporter_free(rep);
	tlsserver_stop(srv);
	total_stored += 2;

	CHECK_INT(test_collector_stat(c->port, "stored"), 2);
	json_t *j = reports_json();
	CHECK_INT(jint(j, "total"), 2);
	CHECK_INT(jint(j, "hosts_count"), 2);
	json_t *hosts = json_object_get(j, "hosts");
	int seen_api = 0, seen_wild = 0;
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h) {
		const char *name = json_string_value(json_object_get(h, "host"));
		if (name && strcmp(name, "api.certpin.test") == 0) {
			seen_api = 1;
			CHECK_INT(jint(h, "reports"), 1);
			CHECK_INT(jint(h, "enforced"), 1);
		}
		if (name && strcmp(name, "x.wild.certpin.test") == 0) {
			seen_wild = 1;
			CHECK_INT(jint(h, "enforced"), 0);
		}
	}
	CHECK(seen_api && seen_wild);
	/* both failing chains have the leaf key, which the policy does not know */
	json_t *sp = json_array_get(json_object_get(j, "served_pins"), 0);
	CHECK_STR(json_string_value(json_object_get(sp, "pin")), pin_leaf);
	CHECK_INT(jint(sp, "reports"), 2);
	json_t *up = json_array_get(json_object_get(j, "unknown_pins"), 0);
	CHECK(up != NULL);
	CHECK_INT(jint(up, "hosts"), 2);
	CHECK_INT(json_array_size(json_object_get(j, "days")), 1);
	json_decref(j);
}

/* ---- 2. HTTPS collector ------------------------------------------------------ */

static void test_https_collector(void)
{
	test_collector c;
	const char *extra[] = { "--tls-cert", NULL, "--tls-key", NULL, NULL };
	char chain[4200], key[4200], uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *rep = NULL;
	certpin_reporter_options ro = CERTPIN_REPORTER_OPTIONS_INIT;
	certpin_reporter_stats st;
	certpin_chain_elem elems[2];
	certpin_result res;

	snprintf(chain, sizeof(chain), "%s", test_pki("chain.pem"));
	snprintf(key, sizeof(key), "%s", test_pki("leaf.key"));
	extra[1] = chain;
	extra[3] = key;
	if (test_collector_start(&c, cli, db_spec, tmpdir, "https", extra) != 0) {
		CHECK(!"https collector did not start");
		return;
	}
	/* a failure to report, built from digests */
	memset(elems, 0, sizeof(elems));
	for (int i = 0; i < 2; i++) {
		elems[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(elems[i].spki_sha256, 0x10 + i, 32);
		memset(elems[i].cert_sha256, 0x20 + i, 32);
	}
	CHECK_INT(certpin_verify(&res, policy, "api.certpin.test", elems, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);

	snprintf(uri, sizeof(uri), "https://127.0.0.1:%d/report", c.port);
	ro.report_uris = uris;
	ro.nreport_uris = 1;
	ro.max_attempts = 1;
	/* without the test CA the collector's certificate is not trusted: nothing delivered */
	ro.ca_file = test_pki("rogue-root.pem");
	CHECK_INT(certpin_reporter_new(&rep, policy, &ro), CERTPIN_OK);
	certpin_reporter_on_failure(&res, elems, 2, rep);
	CHECK_INT(certpin_reporter_flush(rep, 20000), CERTPIN_OK);
	certpin_reporter_get_stats(rep, &st);
	CHECK_INT(st.delivered, 0);
	CHECK_INT(st.dropped, 1);
	certpin_reporter_free(rep);

	ro.ca_file = test_pki("trust.pem");
	CHECK_INT(certpin_reporter_new(&rep, policy, &ro), CERTPIN_OK);
	certpin_reporter_on_failure(&res, elems, 2, rep);
	CHECK_INT(certpin_reporter_flush(rep, 20000), CERTPIN_OK);
	certpin_reporter_get_stats(rep, &st);
	CHECK_INT(st.delivered, 1);
	certpin_reporter_free(rep);
	total_stored += 1;
	CHECK_INT(test_collector_stop(&c), 0);
	char *err = test_read_file(c.err, NULL);
	CHECK_CONTAINS(err, "1 stored");
	free(err);
}

/* ---- 3. malformed input ------------------------------------------------------- */

static void test_malformed(const test_collector *c)
{
	char resp[8192];
	long long malformed0 = test_collector_stat(c->port, "malformed");
	long long large0 = test_collector_stat(c->port, "too_large");
	long long type0 = test_collector_stat(c->port, "bad_type"), route0 = test_collector_stat(c->port, "bad_route");
	long long http0 = test_collector_stat(c->port, "bad_http"), aborted0 = test_collector_stat(c->port, "aborted");
	static const char *const bad_bodies[] = {
		"", "{", "[]", "null", "{\"hostname\": \"x\"}", "\x01\x02\x03\xff\xfe",
		"{\"date-time\":\"2026-11-22T00:00:00Z\",\"hostname\":\"a..b\",\"port\":443,\"noted-hostname\":\"a\","
		"\"known-pins\":[],\"verdict\":\"mismatch\",\"enforce\":true,\"served-chain-sha256\":[]}",
		"{\"date-time\":\"2026-11-22T00:00:00Z\",\"hostname\":\"a.example\",\"port\":443,\"noted-hostname\":\"a.example\","
		"\"known-pins\":[],\"verdict\":\"mismatch\",\"enforce\":true,\"served-certificate-chain\":[\"-----BEGIN "
		"CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"]}",
	};
	int nbad = (int)(sizeof(bad_bodies) / sizeof(bad_bodies[0]));

	for (int i = 0; i < nbad; i++) {
		int st = test_http_post(c->port, NULL, 0, "/report", NULL, bad_bodies[i], resp, sizeof(resp));
		CHECK_INT(st, 400);
		CHECK_CONTAINS(resp, "\"error\"");
	}
	/* oversized with Content-Length: refused before the body is read */
	{
		const char req[] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			"Content-Length: 10000000\r\nConnection: close\r\n\r\n{";
		CHECK_INT(test_http_request(c->port, NULL, 0, req, sizeof(req) - 1, resp, sizeof(resp)), 413);
	}
	/* oversized, chunked (no length): cut at the limit (the default, the library's) */
	{
		size_t n = CERTPIN_REPORT_MAX_LEN + 4096;
		char *req = malloc(n + 512);
		int h = snprintf(req, 512, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%zx\r\n", n);
		memset(req + h, 'a', n);
		memcpy(req + h + n, "\r\n0\r\n\r\n", 7);
		CHECK_INT(test_http_request(c->port, NULL, 0, req, (size_t)h + n + 7, resp, sizeof(resp)), 413);
		free(req);
	}
	/* wrong type, path, method */
	{
		const char req[] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			"Connection: close\r\n\r\n{}";
		CHECK_INT(test_http_request(c->port, NULL, 0, req, sizeof(req) - 1, resp, sizeof(resp)), 415);
		const char req2[] = "POST /admin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
			"Connection: close\r\n\r\n{}";
		CHECK_INT(test_http_request(c->port, NULL, 0, req2, sizeof(req2) - 1, resp, sizeof(resp)), 404);
		const char req3[] = "PUT /report HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		CHECK_INT(test_http_request(c->port, NULL, 0, req3, sizeof(req3) - 1, resp, sizeof(resp)), 405);
		CHECK_CONTAINS(resp, "Allow: POST");
	}
	/*
	 * Bad HTTP, refused by libmicrohttpd before the collector sees a request:
	 * not HTTP at all (a TLS ClientHello: closed without a reply), a bad
	 * Content-Length, a bad chunk size, an unknown HTTP version, and a header
	 * block larger than the connection's memory.  Each counted as bad_http.
	 */
	{
		const char junk[] = "\x16\x03\x01\x02\x00garbage\r\n\r\n";
		int st = test_http_request(c->port, NULL, 0, junk, sizeof(junk) - 1, resp, sizeof(resp));
		CHECK_INT(st, -1);
		CHECK_INT(resp[0], '\0'); /* no reply at all */
		const char bad_cl[] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			"Content-Length: abc\r\nConnection: close\r\n\r\n{}";
		CHECK_INT(test_http_request(c->port, NULL, 0, bad_cl, sizeof(bad_cl) - 1, resp, sizeof(resp)), 400);
		const char bad_chunk[] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
		CHECK_INT(test_http_request(c->port, NULL, 0, bad_chunk, sizeof(bad_chunk) - 1, resp, sizeof(resp)), 400);
		const char bad_version[] = "GET /healthz HTTP/7.1\r\nHost: x\r\nConnection: close\r\n\r\n";
		CHECK_INT(test_http_request(c->port, NULL, 0, bad_version, sizeof(bad_version) - 1, resp, sizeof(resp)), 505);
		size_t n = 64 * 1024;
		char *req = malloc(n + 256);
		int h = snprintf(req, 256, "POST /report HTTP/1.1\r\nHost: x\r\nX-Big: ");
		memset(req + h, 'b', n);
		memcpy(req + h + n, "\r\n\r\n", 4);
		st = test_http_request(c->port, NULL, 0, req, (size_t)h + n + 4, resp, sizeof(resp));
		CHECK(st == 431 || st == -1); /* -1: reset while still sending */
		free(req);
		/* an idle connection, and a complete keep-alive request, are not bad HTTP */
		const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
		CHECK_INT(test_http_request(c->port, NULL, 0, "", 0, resp, sizeof(resp)), -1);
		CHECK_INT(test_http_request(c->port, NULL, 0, two, sizeof(two) - 1, resp, sizeof(resp)), 200);
	}
	/* still serving, and every rejection was counted */
	{
		const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
		CHECK_INT(test_http_request(c->port, NULL, 0, req, sizeof(req) - 1, resp, sizeof(resp)), 200);
	}
	CHECK_INT(test_collector_stat(c->port, "malformed") - malformed0, nbad);
	CHECK_INT(test_collector_stat(c->port, "too_large") - large0, 2);
	CHECK_INT(test_collector_stat(c->port, "bad_type") - type0, 1);
	CHECK_INT(test_collector_stat(c->port, "bad_route") - route0, 2);
	CHECK_INT(stat_wait(c->port, "bad_http", http0 + 5) - http0, 5);
	CHECK_INT(test_collector_stat(c->port, "aborted") - aborted0, 0);
	CHECK_INT(test_collector_stat(c->port, "stored"), total_stored);
}

/*
 * The collector's default --max-body is the library's CERTPIN_REPORT_MAX_LEN:
 * a report of exactly that size (a valid report padded with a key the parser
 * ignores, as a big full-PEM report would be) is stored, one byte more is 413.
 */
static void test_size_limit(const test_collector *c)
{
	certpin_chain_elem elems[2];
	certpin_report_cert certs[2];
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	char *tmpl = NULL, resp[4096];
	long long stored0 = test_collector_stat(c->port, "stored"), large0 = test_collector_stat(c->port, "too_large");

	memset(elems, 0, sizeof(elems));
	memset(certs, 0, sizeof(certs));
	for (int i = 0; i < 2; i++) {
		elems[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(elems[i].spki_sha256, 0x50 + i, 32);
		memset(elems[i].cert_sha256, 0x60 + i, 32);
		certs[i].digests = elems[i];
	}
	CHECK_INT(certpin_verify(&res, policy, "api.certpin.test", elems, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	in.policy = policy;
	in.result = &res;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.served = certs;
	in.nserved = 2;
	CHECK_INT(certpin_report_build(&tmpl, &in), CERTPIN_OK);
	if (!tmpl)
		return;
	for (size_t extra = 0; extra < 2; extra++) {
		size_t want = CERTPIN_REPORT_MAX_LEN + extra, tl = strlen(tmpl);
		const char pre[] = ",\"x-padding\":\"";
		size_t pad = want - tl - (sizeof(pre) - 1) - 1;   /* + closing quote, the template's '}' reused */
		char *body = malloc(want + 1);
		memcpy(body, tmpl, tl - 1);
		memcpy(body + tl - 1, pre, sizeof(pre) - 1);
		memset(body + tl - 1 + sizeof(pre) - 1, 'p', pad);
		memcpy(body + want - 2, "\"}", 3);
		CHECK_INT(strlen(body), want);
		CHECK_INT(test_http_post(c->port, NULL, 0, "/report", NULL, body, resp, sizeof(resp)), extra ? 413 : 201);
		free(body);
	}
	free(tmpl);
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, 1);
	CHECK_INT(test_collector_stat(c->port, "too_large") - large0, 1);
	total_stored += 1;
}

/* ---- 4. slow clients ------------------------------------------------------------ */

static int open_conn(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 if the peer closed `fd` (EOF or reset) -- read without blocking. */
static int closed_by_peer(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b[512];
	if (poll(&p, 1, 0) <= 0)
		return 0;
	ssize_t r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/*
 * Trickle `prefix` then `drip` one byte every 400 ms; returns the ms until the
 * server closed the connection, or -1 if it did not within `limit_ms`.
 */
static long trickle(int port, const char *prefix, const char *drip, unsigned limit_ms)
{
	int fd = open_conn(port);
	int64_t t0 = test_now_ms();
	size_t k = 0, dl = strlen(drip);
	long closed = -1;

	if (fd < 0)
		return -2;
	if (prefix && send(fd, prefix, strlen(prefix), MSG_NOSIGNAL) < 0)
		goto out;
	while (test_now_ms() - t0 < limit_ms) {
		if (closed_by_peer(fd)) {
			closed = (long)(test_now_ms() - t0);
			break;
		}
		if (dl && send(fd, drip + (k++ % dl), 1, MSG_NOSIGNAL) < 0) {
			closed = (long)(test_now_ms() - t0);
			break;
		}
		test_sleep_ms(dl ? 400 : 100);
	}
out:
	close(fd);
	return closed;
}

typedef struct trickle_job {
	int port;
	const char *prefix, *drip;
	long result;
} trickle_job;

static void *trickle_thread(void *arg)
{
	trickle_job *j = arg;
	j->result = trickle(j->port, j->prefix, j->drip, 15000);
	return NULL;
}

static void test_slow(void)
{
	test_collector c;
	const char *extra[] = { "--timeout", "2", "--request-timeout", "3", NULL };
	char resp[4096];

	if (test_collector_start(&c, cli, db_spec, tmpdir, "slow", extra) != 0) {
		CHECK(!"collector did not start");
		return;
	}
	trickle_job jobs[3] = {
		{ c.port, NULL, "", 0 },                                          /* idle: nothing sent */
		{ c.port, "POST /report HTTP/1.1\r\nHost: x\r\n", "X-Slow: abcdefghijklmnopqrstuvwxyz", 0 },
		{ c.port, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			"Content-Length: 1000\r\n\r\n", "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
	};
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, trickle_thread, &jobs[i]);
	/* while they trickle, normal clients are served promptly */
	test_sleep_ms(500);
	for (int i = 0; i < 3; i++) {
		const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
		int64_t t0 = test_now_ms();
		CHECK_INT(test_http_request(c.port, NULL, 0, req, sizeof(req) - 1, resp, sizeof(resp)), 200);
		CHECK(test_now_ms() - t0 < 2000);
		test_sleep_ms(300);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	/* idle: the 2 s idle timeout; trickling: the 3 s request deadline (+ 0.2 s watchdog period) */
	printf("collect_test: slow clients cut off after %ld ms (idle), %ld ms (headers), %ld ms (body)\n",
		jobs[0].result, jobs[1].result, jobs[2].result);
	CHECK(jobs[0].result >= 1500 && jobs[0].result <= 6000);
	CHECK(jobs[1].result >= 2500 && jobs[1].result <= 7000);
	CHECK(jobs[2].result >= 2500 && jobs[2].result <= 7000);
	CHECK(test_collector_stat(c.port, "cut_off") >= 2);
	CHECK_INT(test_collector_stat(c.port, "stored"), 0);
	CHECK_INT(test_collector_stop(&c), 0);
}

/* ---- 5. load ---------------------------------------------------------------------- */

typedef struct load_job {
	int port, index, count;
	const char *tmpl;           /* report JSON with "port":1 to replace */
	int ok, failed;
} load_job;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p, (void)u;
	return s * n;
}

static void *load_thread(void *arg)
{
	load_job *j = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[128];
	size_t tl = strlen(j->tmpl);
	char *body = malloc(tl + 16);
	const char *at = strstr(j->tmpl, "\"port\":1,");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/report", j->port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	for (int i = 0; i < j->count && at; i++) {
		/* a distinct port per report: distinct failures */
		int port = 1 + (j->index * j->count + i) % 65535;
		int n = snprintf(body, tl + 16, "%.*s\"port\":%d,%s", (int)(at - j->tmpl), j->tmpl, port,
			at + strlen("\"port\":1,"));
		long status = 0;
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
		if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
			status == 201)
			j->ok++;
		else
			j->failed++;
	}
	free(body);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static void test_load(const test_collector *c)
{
	const char *env = getenv("CERTPIN_LOAD_REPORTS");
	int total = env ? atoi(env) : 4000, nthreads = 4;
	certpin_chain_elem elems[2];
	certpin_report_cert certs[2];
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	char *tmpl = NULL;

	if (total < nthreads || total > 200000)
		total = 4000;
	memset(elems, 0, sizeof(elems));
	memset(certs, 0, sizeof(certs));
	for (int i = 0; i < 2; i++) {
		elems[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(elems[i].spki_sha256, 0x30 + i, 32);
		memset(elems[i].cert_sha256, 0x40 + i, 32);
		certs[i].digests = elems[i];
	}
	CHECK_INT(certpin_verify(&res, policy, "api.certpin.test", elems, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	in.policy = policy;
	in.result = &res;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.port = 1;
	in.served = certs;
	in.nserved = 2;
	CHECK_INT(certpin_report_build(&tmpl, &in), CERTPIN_OK);
	if (!tmpl)
		return;

	/* (a) parallel keep-alive HTTP clients */
	long long stored0 = test_collector_stat(c->port, "stored");
	load_job jobs[4];
	pthread_t th[4];
	int64_t t0 = test_now_ms();
	for (int i = 0; i < nthreads; i++) {
		jobs[i] = (load_job){ c->port, i, total / nthreads, tmpl, 0, 0 };
		pthread_create(&th[i], NULL, load_thread, &jobs[i]);
	}
	int ok = 0, failed = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
		failed += jobs[i].failed;
	}
	int64_t dt = test_now_ms() - t0;
	int sent = total / nthreads * nthreads;
	printf("collect_test: load: %d reports from %d keep-alive clients in %llu ms = %.0f reports/s; "
		"%d stored (201), %d failed\n", sent, nthreads, (unsigned long long)dt, dt ? sent * 1000.0 / (double)dt : 0.0,
		ok, failed);
	CHECK_INT(ok, sent);
	CHECK_INT(failed, 0);
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, sent);
	total_stored += sent;

	/* (b) the same through the library: queue + background sender */
	certpin_reporter *rep = NULL;
	certpin_reporter_options ro = CERTPIN_REPORTER_OPTIONS_INIT;
	char uri[128];
	const char *uris[1] = { uri };
	int n = total / 2;
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", c->port);
	ro.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	ro.report_uris = uris;
	ro.nreport_uris = 1;
	ro.queue_max = (size_t)n;
	ro.dedup_max = (size_t)n;
	stored0 = test_collector_stat(c->port, "stored");
	CHECK_INT(certpin_reporter_new(&rep, policy, &ro), CERTPIN_OK);
	t0 = test_now_ms();
	int queued = 0;
	for (int i = 0; rep && i < n; i++) {
		in.port = (unsigned)(1 + i);
		queued += certpin_reporter_submit(rep, &in) == CERTPIN_REPORT_QUEUED;
	}
	int64_t t_submit = test_now_ms() - t0;
	CHECK_INT(queued, n);
	CHECK_INT(certpin_reporter_flush(rep, 120000), CERTPIN_OK);
	dt = test_now_ms() - t0;
	certpin_reporter_stats st;
	certpin_reporter_get_stats(rep, &st);
	printf("collect_test: load via certpin_reporter: %d reports queued in %llu ms, delivered in %llu ms = %.0f "
		"reports/s; delivered %llu, dropped %llu\n", n, (unsigned long long)t_submit, (unsigned long long)dt,
		dt ? n * 1000.0 / (double)dt : 0.0, (unsigned long long)st.delivered, (unsigned long long)st.dropped);
	CHECK_INT(st.delivered, n);
	CHECK_INT(st.dropped, 0);
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, n);
	certpin_reporter_free(rep);
	total_stored += n;
	free(tmpl);
}

/* ---- reports CLI --------------------------------------------------------------------- */

static void test_reports_cli(void)
{
	char html[4200], *out = NULL;
	json_t *j = reports_json();

	CHECK_INT(jint(j, "total"), total_stored);
	long long days_sum = 0;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(j, "days"), i, d)
		days_sum += jint(d, "reports");
	CHECK_INT(days_sum, total_stored);
	json_decref(j);

	const char *text[] = { "reports", "--db", db_spec, NULL };
	CHECK_INT(test_run_cli(&out, cli, tmpdir, text), 0);
	CHECK_CONTAINS(out, "failures per host");
	CHECK_CONTAINS(out, "api.certpin.test");
	CHECK_CONTAINS(out, pin_leaf);
	free(out);
	snprintf(html, sizeof(html), "%s/reports.html", tmpdir);
	const char *h[] = { "reports", "--db", db_spec, "--html", html, NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, h), 0);
	out = test_read_file(html, NULL);
	CHECK_CONTAINS(out, "<svg");
	CHECK_CONTAINS(out, "x.wild.certpin.test");
	CHECK_CONTAINS(out, "Top unknown pins");
	free(out);
	/* a time window after every report: empty */
	const char *future[] = { "reports", "--db", db_spec, "--since", "2999-01-01", "--json", NULL };
	CHECK_INT(test_run_cli(&out, cli, tmpdir, future), 0);
	j = out ? json_loads(out, 0, NULL) : NULL;
	CHECK_INT(jint(j, "total"), 0);
	json_decref(j);
	free(out);
	/* bad arguments */
	const char *bad1[] = { "reports", "--db", db_spec, "--since", "yesterday", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad1), 3);
	const char *bad2[] = { "reports", "--db", "/nonexistent/x.sqlite", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad2), 3);
	const char *bad3[] = { "collect", "--db", db_spec, "--listen", "nowhere", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad3), 3);
	const char *bad4[] = { "collect", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad4), 3);
}

int main(void)
{
	test_collector c;

	signal(SIGPIPE, SIG_IGN);
	if (!(cli = test_cli()))
		return 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const char *env_db = getenv("CERTPIN_COLLECT_DB");
	if (env_db && *env_db)
		snprintf(db_spec, sizeof(db_spec), "%s", env_db);
	else
		snprintf(db_spec, sizeof(db_spec), "%s/reports.sqlite", tmpdir);
	printf("collect_test: database %s\n", strncmp(db_spec, "postgres", 8) == 0 ? "postgresql" : db_spec);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	load_policy();

	if (test_collector_start(&c, cli, db_spec, tmpdir, "main", NULL) != 0) {
		CHECK(!"collector did not start");
		return test_finish("collect_test");
	}
	test_end_to_end(&c);
	test_malformed(&c);
	test_size_limit(&c);
	test_load(&c);
	CHECK_INT(test_collector_stop(&c), 0);
	test_https_collector();
	test_slow();
	test_reports_cli();

	certpin_policy_free(policy);
	if (!getenv("CERTPIN_KEEP_TMP")) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_finish("collect_test");
}
