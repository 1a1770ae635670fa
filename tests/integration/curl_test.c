/*
 * curl_test - libcertpin-curl against local HTTPS servers (tlsserver.h in
 * its HTTP modes, 127.0.0.1 only, every server stopped): the genuine server
 * accepted, a rogue CA refused, chain injection refused, the backup pin,
 * report-only allowed and reported (through a real reporter), IP-literal
 * URLs checked as IPs, CURLOPT_CONNECT_TO, connection reuse (a reused
 * connection keeps its verdict, a new one is checked, a connection checked
 * otherwise or not at all is not used), the multi interface with 50
 * transfers, CURLOPT_SSL_VERIFYPEER 0 refused or pin-only, results and
 * their reasons after a failure, transfers that make no TLS connection,
 * the application's SSL_CTX callback, curl_easy_duphandle(), detaching,
 * and the example client.  Reference pins come from pins.txt (openssl CLI).
 */
#include "certpin.h"
#include "certpin/curl.h"
#include "certpin/report.h"
#include "curl/curl_internal.h" /* src/curl: the prerequest callback, for test_prereq_tuple() */
#include "test.h"
#include "tlsserver.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <time.h>

#define HOST "api.certpin.test"
#define DEADLINE_MS 60000               /* any multi loop */

/* ---- material ------------------------------------------------------------------------------ */

static const char *pin_text(const char *name)
{
	static char pins[8][CERTPIN_PIN_STRLEN];
	static unsigned slot;
	char *txt = test_read_file(test_pki("pins.txt"), NULL), *out = pins[slot++ % 8];
	size_t nl = strlen(name);

	out[0] = '\0';
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
			snprintf(out, CERTPIN_PIN_STRLEN, "%s", line + nl + 1);
	free(txt);
	if (!out[0]) {
		fprintf(stderr, "curl_test: no pin %s in pins.txt\n", name);
		exit(2);
	}
	return out;
}

/* A policy with one rule: `pattern` pinned to the named pins (NULL-terminated), `extra` JSON members. */
static certpin_policy *policy_of(const char *pattern, const char *extra, const char *pin1, const char *pin2)
{
	char doc[2048];
	certpin_policy *p = NULL;
	certpin_error err;

	snprintf(doc, sizeof(doc), "{\"schema\":1,\"hosts\":[{\"host\":\"%s\"%s,\"pins\":[\"%s\"%s%s%s]}]}", pattern,
		extra, pin_text(pin1), pin2 ? ",\"" : "", pin2 ? pin_text(pin2) : "", pin2 ? "\"" : "");
	if (certpin_policy_load_data(&p, doc, strlen(doc), "curl_test", NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "curl_test: %s\n", err.message);
		exit(2);
	}
	return p;
}

static tlsserver *server(const char *chain, const char *key, int max_conns)
{
	tlsserver *s = NULL;

	if (tlsserver_start(&s, test_pki(chain), test_pki(key), max_conns) != 0) {
		fprintf(stderr, "curl_test: cannot start a server\n");
		exit(2);
	}
	return s;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

typedef struct counts {
	int failures, results, ssl_ctx;
	int refuse_ctx;                 /* the SSL_CTX callback returns this */
	certpin_result last_failure;
} counts;

static void count_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	counts *c = payload;

	(void)chain, (void)n;
	c->failures++;
	c->last_failure = *r;
}

static void count_result(int code, const certpin_result *r, int tofu_code, const certpin_tofu_result *t,
	const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)code, (void)r, (void)tofu_code, (void)t, (void)chain, (void)n;
	((counts *)payload)->results++;
}

static int count_ssl_ctx(CURL *easy, struct ssl_ctx_st *ctx, void *payload)
{
	counts *c = payload;

	(void)easy, (void)ctx;
	c->ssl_ctx++;
	return c->refuse_ctx;
}

static certpin_curl_options counting(counts *c)
{
	certpin_curl_options o = CERTPIN_CURL_OPTIONS_INIT;

	memset(c, 0, sizeof(*c));
	o.on_failure = count_failure;
	o.on_result = count_result;
	o.ssl_ctx = count_ssl_ctx;
	o.payload = c;
	return o;
}

/* ---- one transfer ---------------------------------------------------------------------------- */

typedef struct xfer {
	CURL *easy;
	struct curl_slist *resolve;
	char errbuf[CURL_ERROR_SIZE];
	char body[64];
	size_t len;
	CURLcode cc;                    /* the transfer's */
	long status, connects;
	int rc;                         /* certpin_curl_result() */
	certpin_result res;
	certpin_error err;
} xfer;

static size_t keep_body(char *data, size_t size, size_t n, void *payload)
{
	xfer *x = payload;
	size_t len = size * n, room = sizeof(x->body) - 1 - x->len;

	memcpy(x->body + x->len, data, len < room ? len : room);
	x->len += len < room ? len : room;
	x->body[x->len] = '\0';
	return len;
}

/* An easy handle for GET https://host:port/ (a host name resolved to 127.0.0.1), trusting `ca`. */
static void xfer_init(xfer *x, const char *host, int port, const char *ca)
{
	char url[300], entry[300];

	memset(x, 0, sizeof(*x));
	x->easy = curl_easy_init();
	if (!x->easy)
		exit(2);
	snprintf(url, sizeof(url), "https://%s:%d/", host, port);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	if (strcmp(host, "127.0.0.1") != 0) {
		snprintf(entry, sizeof(entry), "%s:%d:127.0.0.1", host, port);
		x->resolve = curl_slist_append(NULL, entry);
		curl_easy_setopt(x->easy, CURLOPT_RESOLVE, x->resolve);
	}
	curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(x->easy, CURLOPT_CAINFO, test_pki(ca));
	curl_easy_setopt(x->easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
}

static void xfer_free(xfer *x)
{
	certpin_curl_detach(x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->resolve);
	x->easy = NULL;
	x->resolve = NULL;
}

/* What came of the transfer (its code in x->cc), and what certpin says of it. */
static void xfer_done(xfer *x)
{
	x->status = x->connects = 0;
	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	(void)curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &x->connects);
	x->rc = certpin_curl_result(x->easy, &x->res, &x->err);
}

static bool ok_body(const xfer *x)
{
	return x->cc == CURLE_OK && x->status == 200 && strcmp(x->body, "ok\n") == 0;
}

static void perform(xfer *x)
{
	x->len = 0;
	x->body[0] = '\0';
	x->cc = curl_easy_perform(x->easy);
	xfer_done(x);
}

static void attach(xfer *x, certpin_policy *p, const certpin_curl_options *o)
{
	certpin_error err;
	int rc = certpin_curl_attach(x->easy, p, o, &err);

	CHECK_INT(rc, CERTPIN_OK);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "curl_test: attach: %s\n", err.message);
}

/* One transfer to a new server of chain/key, attached to p with o; the server is stopped. */
static void once(xfer *x, const char *chain, const char *key, const char *ca, const char *host, certpin_policy *p,
	const certpin_curl_options *o)
{
	tlsserver *s = server(chain, key, 1);

	xfer_init(x, host, tlsserver_port(s), ca);
	attach(x, p, o);
	perform(x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
}

/* ---- the verdicts ------------------------------------------------------------------------------ */

static void test_genuine_and_attacks(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", "backup");
	counts c;
	certpin_curl_options o = counting(&c);
	xfer x;

	once(&x, "chain.pem", "leaf.key", "trust.pem", HOST, p, &o);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(x.res.depth, 0);
	CHECK_STR(x.res.hostname, HOST);
	CHECK_STR(x.err.message, "");
	CHECK_INT(c.results, 1);
	CHECK_INT(c.ssl_ctx, 1);
	xfer_free(&x);

	/* a rogue CA the client trusts: refused as curl refuses a certificate, the reason readable after */
	once(&x, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", HOST, p, &o);
	CHECK_INT(x.cc, CURLE_PEER_FAILED_VERIFICATION);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(x.err.code, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(x.res.allowed, 0);
	CHECK_CONTAINS(x.err.message, "rule \"" HOST "\" wants");
	CHECK_CONTAINS(x.err.message, pin_text("leaf"));        /* the missing pins */
	CHECK_CONTAINS(x.err.message, pin_text("backup"));
	CHECK_CONTAINS(x.err.message, pin_text("rogue-leaf"));  /* and what the chain presented */
	CHECK_INT(c.failures, 1);
	xfer_free(&x);

	/* chain injection: the genuine chain appended to a forged leaf is not what OpenSSL verified */
	certpin_policy *all = policy_of(HOST, "", "inter", "root");
	once(&x, "inject-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", HOST, all, &o);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK(!ok_body(&x));
	xfer_free(&x);
	certpin_policy_free(all);

	/* the server on its backup key */
	once(&x, "backup-chain.pem", "backup.key", "trust.pem", HOST, p, &o);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.pin, 1);
	xfer_free(&x);

	/* a rogue CA nobody trusts: PKIX refuses, certpin says so */
	once(&x, "rogue-chain.pem", "rogue-leaf.key", "trust.pem", HOST, p, &o);
	CHECK_INT(x.rc, CERTPIN_E_PKIX);
	CHECK_CONTAINS(x.err.message, "PKIX");
	CHECK(!ok_body(&x));
	xfer_free(&x);
	certpin_policy_free(p);
}

static void keep_report(const char *json, size_t len, void *payload)
{
	certpin_report_info *ri = payload;

	if (certpin_report_parse(ri, json, len, NULL) != CERTPIN_OK)
		ri->allowed = -1;
}

/* Report-only: the transfer goes through, the mismatch is in the result and in a report. */
static void test_report_only(void)
{
	certpin_policy *p = policy_of(HOST, ",\"mode\":\"report-only\"", "selfsigned-other", NULL);
	certpin_reporter_options ro = CERTPIN_REPORTER_OPTIONS_INIT;
	certpin_curl_options o = CERTPIN_CURL_OPTIONS_INIT;
	certpin_report_info ri;
	certpin_reporter *r = NULL;
	xfer x;

	memset(&ri, 0, sizeof(ri));
	ro.callback = keep_report;
	ro.payload = &ri;
	CHECK_INT(certpin_reporter_new(&r, p, &ro), CERTPIN_OK);
	o.on_failure = certpin_reporter_on_failure;
	o.payload = r;
	once(&x, "chain.pem", "leaf.key", "trust.pem", HOST, p, &o);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(x.res.mode, CERTPIN_MODE_REPORT_ONLY);
	CHECK_INT(x.err.code, CERTPIN_OK);
	CHECK_CONTAINS(x.err.message, "report-only");
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	certpin_reporter_stats st;
	certpin_reporter_get_stats(r, &st);
	CHECK_INT(st.delivered, 1);
	CHECK_STR(ri.hostname, HOST);
	CHECK_INT(ri.allowed, 1);
	xfer_free(&x);
	certpin_reporter_free(r);
	certpin_policy_free(p);
}

/* An IP-literal URL: no SNI, libcurl's own IP check; the helper makes OpenSSL verify the IP and the IP rule apply. */
static void test_ip_literal(void)
{
	certpin_policy *ip = policy_of("127.0.0.1", "", "leaf", NULL);
	certpin_policy *wrong = policy_of("127.0.0.1", "", "selfsigned-other", NULL);
	certpin_policy *name_only = policy_of(HOST, "", "selfsigned-other", NULL);
	xfer x;

	once(&x, "chain.pem", "leaf.key", "trust.pem", "127.0.0.1", ip, NULL);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_STR(x.res.hostname, "127.0.0.1");
	xfer_free(&x);

	once(&x, "chain.pem", "leaf.key", "trust.pem", "127.0.0.1", wrong, NULL);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(x.cc, CURLE_PEER_FAILED_VERIFICATION);
	CHECK_CONTAINS(x.err.message, "127.0.0.1: no pin matched");
	xfer_free(&x);

	/* the IP is not pinned: curl's and OpenSSL's checks alone */
	once(&x, "chain.pem", "leaf.key", "trust.pem", "127.0.0.1", name_only, NULL);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_NOT_PINNED);
	xfer_free(&x);

	/* a certificate without the IP, its key pinned for the IP: OpenSSL verifies the IP, so refused */
	once(&x, "wronghost-chain.pem", "leaf.key", "trust.pem", "127.0.0.1", ip, NULL);
	CHECK_INT(x.rc, CERTPIN_E_PKIX);
	CHECK(!ok_body(&x));
	xfer_free(&x);
	certpin_policy_free(ip);
	certpin_policy_free(wrong);
	certpin_policy_free(name_only);
}

/* What a hand-written SSL_CTX callback gets for an IP URL: no name, refused as curl error 60. */
static CURLcode naive_ctx(CURL *easy, void *ctx, void *payload)
{
	(void)easy;
	return certpin_ssl_ctx_attach(ctx, payload, NULL) == CERTPIN_OK ? CURLE_OK : CURLE_SSL_CONNECT_ERROR;
}

static void test_naive_glue(void)
{
	certpin_policy *ip = policy_of("127.0.0.1", "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 1);
	xfer x;

	xfer_init(&x, "127.0.0.1", tlsserver_port(s), "trust.pem");
	curl_easy_setopt(x.easy, CURLOPT_SSL_CTX_FUNCTION, naive_ctx);
	curl_easy_setopt(x.easy, CURLOPT_SSL_CTX_DATA, (void *)ip);
	x.cc = curl_easy_perform(x.easy);
	CHECK_INT(x.cc, CURLE_PEER_FAILED_VERIFICATION); /* the pitfall the helper exists for */
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(ip);
}

/* CURLOPT_CONNECT_TO changes where to connect, not the name checked: the URL's host. */
static void test_connect_to(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 1);
	char entry[128];
	xfer x;

	xfer_init(&x, "127.0.0.1", tlsserver_port(s), "trust.pem");
	snprintf(entry, sizeof(entry), "https://" HOST ":%d/", tlsserver_port(s));
	curl_easy_setopt(x.easy, CURLOPT_URL, entry);
	snprintf(entry, sizeof(entry), HOST ":%d:127.0.0.1:%d", tlsserver_port(s), tlsserver_port(s));
	x.resolve = curl_slist_append(NULL, entry);
	curl_easy_setopt(x.easy, CURLOPT_CONNECT_TO, x.resolve);
	attach(&x, p, NULL);
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_STR(x.res.hostname, HOST);
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

/* ---- connection reuse -------------------------------------------------------------------------- */

/* A server that issues session tickets: every new connection is still a full, checked handshake. */
static void test_no_resumption(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	counts c;
	certpin_curl_options o = counting(&c);
	xfer x;

	tlsserver_allow_resumption(1);
	tlsserver *s = server("chain.pem", "leaf.key", 3);
	tlsserver_allow_resumption(0);
	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	curl_easy_setopt(x.easy, CURLOPT_FORBID_REUSE, 1L);
	attach(&x, p, &o);
	for (int i = 0; i < 3; i++) {
		perform(&x);
		CHECK(ok_body(&x));
		CHECK_INT(x.connects, 1);
		CHECK_INT(x.rc, CERTPIN_OK);
		CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	}
	CHECK_INT(c.results, 3);
	xfer_free(&x);
	CHECK_INT(tlsserver_wait(s, 5000), 1);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

/*
 * One easy handle on a keep-alive server: the second transfer reuses the
 * connection and keeps its verdict; after the policy changes the old
 * connection is not used, and the new one is checked.
 */
static void test_reuse_easy(void)
{
	certpin_policy *good = policy_of(HOST, "", "leaf", NULL), *bad = policy_of(HOST, "", "selfsigned-other", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 3);
	counts c;
	certpin_curl_options o = counting(&c);
	xfer x;

	tlsserver_set_http(TLSSERVER_HTTP_KEEPALIVE);
	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	attach(&x, good, &o);
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(x.connects, 1);
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(x.connects, 0);                       /* reused ... */
	CHECK_INT(c.results, 1);                        /* ... not checked again ... */
	CHECK_INT(x.rc, CERTPIN_OK);                    /* ... and its verdict kept */
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(tlsserver_conns(s), 0);               /* the server still serves the first */

	attach(&x, bad, &o);                            /* another policy: the checked connection is not used */
	perform(&x);
	CHECK_INT(x.cc, CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(x.status, 0);
	CHECK_INT(x.rc, CERTPIN_E_STATE);
	CHECK_CONTAINS(x.err.message, "another policy");
	perform(&x);                                    /* a new connection, checked with the new policy */
	CHECK_INT(x.connects, 1);
	CHECK_INT(c.results, 2);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK(!ok_body(&x));
	attach(&x, good, &o);
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(c.results, 3);
	CHECK_INT(x.rc, CERTPIN_OK);
	xfer_free(&x);
	CHECK_INT(tlsserver_wait(s, 5000), 1);
	CHECK_INT(tlsserver_conns(s), 3);
	tlsserver_stop(s);
	tlsserver_set_http(TLSSERVER_HTTP);
	certpin_policy_free(good);
	certpin_policy_free(bad);
}

/* Run one easy handle to its end on `m`; its code in x->cc.  Bounded by DEADLINE_MS. */
static void multi_one(CURLM *m, xfer *x)
{
	long long end = now_ms() + DEADLINE_MS;
	int running = 1, left;
	CURLMsg *msg;

	x->len = 0;
	x->body[0] = '\0';
	x->cc = CURLE_OPERATION_TIMEDOUT;
	curl_multi_add_handle(m, x->easy);
	while (running && now_ms() < end) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(m, NULL, 0, 200, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == x->easy)
			x->cc = msg->data.result;
	curl_multi_remove_handle(m, x->easy);
	xfer_done(x);
}

/*
 * Handles of one multi share its connections: an attached handle reuses
 * one checked under the same policy, with its verdict; not one checked
 * under another policy, nor one made by a handle without the helper.
 */
static void test_reuse_multi(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL), *same = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 3);
	CURLM *m = curl_multi_init();
	counts c;
	certpin_curl_options o = counting(&c);
	xfer a, b, plain, other, d, fresh;

	tlsserver_set_http(TLSSERVER_HTTP_KEEPALIVE);
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 1L);
	xfer_init(&a, HOST, tlsserver_port(s), "trust.pem");
	attach(&a, p, &o);
	multi_one(m, &a);
	CHECK(ok_body(&a));
	CHECK_INT(a.connects, 1);
	xfer_init(&b, HOST, tlsserver_port(s), "trust.pem");
	attach(&b, p, &o);
	multi_one(m, &b);                               /* b reuses a's connection: a's verdict */
	CHECK(ok_body(&b));
	CHECK_INT(b.connects, 0);
	CHECK_INT(b.rc, CERTPIN_OK);
	CHECK_INT(b.res.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(c.results, 1);

	xfer_init(&other, HOST, tlsserver_port(s), "trust.pem");
	attach(&other, same, &o);                       /* the same pins, another policy object: not used */
	multi_one(m, &other);
	CHECK_INT(other.cc, CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(other.rc, CERTPIN_E_STATE);
	CHECK_CONTAINS(other.err.message, "another policy");

	xfer_init(&plain, HOST, tlsserver_port(s), "trust-with-rogue.pem");
	multi_one(m, &plain);                           /* no helper: a connection certpin never saw */
	CHECK(ok_body(&plain));
	xfer_init(&d, HOST, tlsserver_port(s), "trust-with-rogue.pem");
	attach(&d, p, &o);
	multi_one(m, &d);
	CHECK_INT(d.cc, CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(d.rc, CERTPIN_E_STATE);
	CHECK_CONTAINS(d.err.message, "without certpin's SSL_CTX callback");
	CHECK_INT(d.status, 0);

	xfer_init(&fresh, HOST, tlsserver_port(s), "trust.pem");
	attach(&fresh, p, &o);
	multi_one(m, &fresh);                           /* a new connection: checked */
	CHECK(ok_body(&fresh));
	CHECK_INT(fresh.connects, 1);
	CHECK_INT(c.results, 2);
	xfer *all[] = { &a, &b, &other, &plain, &d, &fresh };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		xfer_free(all[i]);
	curl_multi_cleanup(m);
	CHECK_INT(tlsserver_wait(s, 5000), 1);
	tlsserver_stop(s);
	tlsserver_set_http(TLSSERVER_HTTP);
	certpin_policy_free(p);
	certpin_policy_free(same);
}

/* ---- the multi interface: 50 transfers ----------------------------------------------------------- */

#define NMULTI 50

/* Run every handle of xs on m together, at most `conns` connections at once.  Bounded by DEADLINE_MS. */
static void multi_all(xfer *xs, size_t n, long conns)
{
	CURLM *m = curl_multi_init();
	long long end = now_ms() + DEADLINE_MS;
	int running = 1, left;
	CURLMsg *msg;

	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
	for (size_t i = 0; i < n; i++) {
		xs[i].cc = CURLE_OPERATION_TIMEDOUT;
		curl_multi_add_handle(m, xs[i].easy);
	}
	while (running && now_ms() < end) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			for (size_t i = 0; i < n && msg->msg == CURLMSG_DONE; i++)
				if (msg->easy_handle == xs[i].easy)
					xs[i].cc = msg->data.result;
		if (running)
			curl_multi_poll(m, NULL, 0, 200, NULL);
	}
	CHECK(!running);
	for (size_t i = 0; i < n; i++) {
		curl_multi_remove_handle(m, xs[i].easy);
		xfer_done(&xs[i]);
	}
	curl_multi_cleanup(m);
}

/* 50 transfers at once, half to the genuine server, half to a rogue one the client trusts. */
static void test_multi_fifty(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", "backup");
	tlsserver *good = server("chain.pem", "leaf.key", NMULTI / 2);
	tlsserver *rogue = server("rogue-chain.pem", "rogue-leaf.key", NMULTI / 2);
	xfer *xs = calloc(NMULTI, sizeof(*xs));
	counts c;
	certpin_curl_options o = counting(&c);
	int accepted = 0, refused = 0;

	if (!xs)
		exit(2);
	for (size_t i = 0; i < NMULTI; i++) {
		xfer_init(&xs[i], HOST, tlsserver_port(i % 2 ? rogue : good), "trust-with-rogue.pem");
		attach(&xs[i], p, &o);
	}
	multi_all(xs, NMULTI, 4);
	for (size_t i = 0; i < NMULTI; i++) {
		bool genuine = i % 2 == 0;
		accepted += genuine && ok_body(&xs[i]) && xs[i].rc == CERTPIN_OK &&
			    xs[i].res.verdict == CERTPIN_VERDICT_MATCH;
		refused += !genuine && xs[i].cc == CURLE_PEER_FAILED_VERIFICATION && xs[i].rc == CERTPIN_E_PIN_MISMATCH &&
			   xs[i].res.verdict == CERTPIN_VERDICT_MISMATCH;
		xfer_free(&xs[i]);
	}
	CHECK_INT(accepted, NMULTI / 2);
	CHECK_INT(refused, NMULTI / 2);
	CHECK_INT(c.results, NMULTI);
	CHECK_INT(c.failures, NMULTI / 2);
	CHECK_INT(tlsserver_wait(good, 10000), 1);
	CHECK_INT(tlsserver_wait(rogue, 10000), 1);
	tlsserver_stop(good);
	tlsserver_stop(rogue);
	free(xs);
	certpin_policy_free(p);
}

/* 50 transfers over one keep-alive connection: one check, 50 results with its verdict. */
static void test_multi_fifty_reused(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 1);
	xfer *xs = calloc(NMULTI, sizeof(*xs));
	counts c;
	certpin_curl_options o = counting(&c);
	long connects = 0;
	int matched = 0;

	if (!xs)
		exit(2);
	tlsserver_set_http(TLSSERVER_HTTP_KEEPALIVE);
	for (size_t i = 0; i < NMULTI; i++) {
		xfer_init(&xs[i], HOST, tlsserver_port(s), "trust.pem");
		attach(&xs[i], p, &o);
	}
	multi_all(xs, NMULTI, 1);
	for (size_t i = 0; i < NMULTI; i++) {
		connects += xs[i].connects;
		matched += ok_body(&xs[i]) && xs[i].rc == CERTPIN_OK && xs[i].res.verdict == CERTPIN_VERDICT_MATCH;
		xfer_free(&xs[i]);
	}
	CHECK_INT(matched, NMULTI);
	CHECK_INT(connects, 1);
	CHECK_INT(c.results, 1);
	CHECK_INT(tlsserver_wait(s, 5000), 1);
	tlsserver_stop(s);
	tlsserver_set_http(TLSSERVER_HTTP);
	free(xs);
	certpin_policy_free(p);
}

/* ---- CURLOPT_SSL_VERIFYPEER 0 ------------------------------------------------------------------------ */

static void test_verifypeer_off(void)
{
	certpin_policy *self = policy_of(HOST, "", "selfsigned-other", NULL);
	certpin_policy *wrong = policy_of(HOST, "", "leaf", NULL);
	certpin_curl_options insecure = CERTPIN_CURL_OPTIONS_INIT;
	xfer x;

	insecure.flags = CERTPIN_CURL_INSECURE_PIN_ONLY;
	/* not silently overridden: refused, and the result says why */
	tlsserver *s = server("selfsigned-other.pem", "selfsigned-other.key", 1);
	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	curl_easy_setopt(x.easy, CURLOPT_SSL_VERIFYPEER, 0L);
	attach(&x, self, NULL);
	perform(&x);
	CHECK_INT(x.cc, CURLE_BAD_FUNCTION_ARGUMENT);
	CHECK_INT(x.rc, CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(x.err.message, "CURLOPT_SSL_VERIFYPEER is 0");
	CHECK_CONTAINS(x.err.message, "CERTPIN_CURL_INSECURE_PIN_ONLY");
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);

	/* pin-only, asked for: the self-signed server's key pinned is accepted ... */
	s = server("selfsigned-other.pem", "selfsigned-other.key", 3);
	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	curl_easy_setopt(x.easy, CURLOPT_SSL_VERIFYPEER, 0L);
	attach(&x, self, &insecure);
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_MATCH);
	/* ... another key refused ... */
	attach(&x, wrong, &insecure);
	perform(&x);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK(!ok_body(&x));
	/* ... and a host the policy does not pin refused (nothing else vouches for it) */
	certpin_policy *elsewhere = policy_of("other.certpin.test", "", "selfsigned-other", NULL);
	attach(&x, elsewhere, &insecure);
	perform(&x);
	CHECK_INT(x.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK(!ok_body(&x));
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);

	/* with VERIFYPEER on, the flag weakens nothing: an untrusted self-signed key, pinned, is refused by PKIX */
	once(&x, "selfsigned-other.pem", "selfsigned-other.key", "trust.pem", HOST, self, &insecure);
	CHECK_INT(x.rc, CERTPIN_E_PKIX);
	CHECK(!ok_body(&x));
	xfer_free(&x);
	certpin_policy_free(self);
	certpin_policy_free(wrong);
	certpin_policy_free(elsewhere);
}

/* ---- results ---------------------------------------------------------------------------------------- */

/* The last transfer's verdict only: one that made no connection does not report the one before. */
static void test_result_of_last_transfer(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 1);
	int port = tlsserver_port(s);
	char url[128];
	xfer x;

	xfer_init(&x, HOST, port, "trust.pem");
	CHECK_INT(certpin_curl_result(x.easy, NULL, NULL), CERTPIN_E_INVALID_ARG); /* not attached */
	attach(&x, p, NULL);
	CHECK_INT(certpin_curl_result(x.easy, NULL, NULL), CERTPIN_E_STATE);       /* no transfer yet */
	perform(&x);
	CHECK_INT(x.rc, CERTPIN_OK);
	CHECK_INT(tlsserver_wait(s, 5000), 1);
	tlsserver_stop(s); /* the port is closed now */
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
	curl_easy_setopt(x.easy, CURLOPT_URL, url);
	perform(&x);
	CHECK_INT(x.cc, CURLE_COULDNT_CONNECT);
	CHECK_INT(x.rc, CERTPIN_E_STATE);
	CHECK_INT(x.res.verdict, CERTPIN_VERDICT_NOT_PINNED);
	CHECK_INT(x.res.allowed, 0);
	CHECK_CONTAINS(x.err.message, "no certpin check for the last transfer");
	CHECK_INT(certpin_curl_tofu_result(x.easy, NULL), CERTPIN_E_STATE);
	xfer_free(&x);
	certpin_policy_free(p);
}

/* http:// has no TLS: to a pinned host refused before the request, to another host let through. */
static void test_no_tls(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 2);
	char url[128];
	xfer x;

	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	snprintf(url, sizeof(url), "http://" HOST ":%d/", tlsserver_port(s));
	curl_easy_setopt(x.easy, CURLOPT_URL, url);
	curl_easy_setopt(x.easy, CURLOPT_TIMEOUT, 5L);
	attach(&x, p, NULL);
	perform(&x);
	CHECK_INT(x.cc, CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(x.rc, CERTPIN_E_STATE);
	CHECK_CONTAINS(x.err.message, "no TLS connection");
	CHECK_CONTAINS(x.err.message, "pinned: refused");
	xfer_free(&x);

	xfer_init(&x, "127.0.0.1", tlsserver_port(s), "trust.pem");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", tlsserver_port(s));
	curl_easy_setopt(x.easy, CURLOPT_URL, url);
	curl_easy_setopt(x.easy, CURLOPT_TIMEOUT, 5L);
	attach(&x, p, NULL);
	perform(&x); /* plain HTTP to a TLS server: fails, but not by the helper */
	CHECK(x.cc != CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(x.rc, CERTPIN_E_STATE);
	CHECK_CONTAINS(x.err.message, "nothing checked");
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

/* The application's SSL_CTX callback runs on each new connection; its refusal refuses the connection. */
static void test_app_ssl_ctx(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	counts c;
	certpin_curl_options o = counting(&c);
	xfer x;

	c.refuse_ctx = CERTPIN_E_TLS;
	once(&x, "chain.pem", "leaf.key", "trust.pem", HOST, p, &o);
	CHECK_INT(c.ssl_ctx, 1);
	CHECK_INT(x.cc, CURLE_ABORTED_BY_CALLBACK);
	CHECK_INT(x.rc, CERTPIN_E_TLS);
	CHECK_CONTAINS(x.err.message, "SSL_CTX callback refused");
	CHECK_INT(c.results, 0);
	xfer_free(&x);
	certpin_policy_free(p);
}

/* A copy made with curl_easy_duphandle() still checks the pins; its results need an attach of its own. */
static void test_duphandle(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("rogue-chain.pem", "rogue-leaf.key", 2);
	xfer x, copy;

	xfer_init(&x, HOST, tlsserver_port(s), "trust-with-rogue.pem");
	attach(&x, p, NULL);
	memset(&copy, 0, sizeof(copy));
	copy.easy = curl_easy_duphandle(x.easy);
	curl_easy_setopt(copy.easy, CURLOPT_ERRORBUFFER, copy.errbuf);
	curl_easy_setopt(copy.easy, CURLOPT_WRITEDATA, &copy);
	perform(&copy);
	CHECK_INT(copy.cc, CURLE_PEER_FAILED_VERIFICATION); /* pinned all the same */
	CHECK_INT(copy.rc, CERTPIN_E_INVALID_ARG);          /* but not attached: no result */
	attach(&copy, p, NULL);
	perform(&copy);
	CHECK_INT(copy.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(x.rc, 0);
	CHECK_INT(certpin_curl_result(x.easy, NULL, NULL), CERTPIN_E_STATE); /* the original made no transfer */
	xfer_free(&copy);
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

typedef struct probe {
	cpc_handle *h;
	int good, bad;
} probe;

/* Mid-transfer, the helper's prerequest check with the transfer's addresses and with another connection's. */
static size_t probe_write(char *data, size_t size, size_t n, void *payload)
{
	probe *p = payload;
	cpc_tuple t;

	(void)data;
	cpc_tuple_of(&t, p->h->easy);
	p->bad = cpc_prereq_cb(p->h, t.primary_ip, t.local_ip, (int)t.primary_port, (int)t.local_port + 1);
	p->good = cpc_prereq_cb(p->h, t.primary_ip, t.local_ip, (int)t.primary_port, (int)t.local_port);
	return size * n;
}

/*
 * The connection's SSL comes from the attached handle (CURLINFO_TLS_SSL_PTR): a
 * copy's transfer must not be judged by the original's connection, so the
 * addresses libcurl passes must be those the connection was checked with.
 */
static void test_prereq_tuple(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("chain.pem", "leaf.key", 1);
	probe pr = { NULL, -1, -1 };
	xfer x;

	xfer_init(&x, HOST, tlsserver_port(s), "trust.pem");
	attach(&x, p, NULL);
	pr.h = cpc_handle_find(x.easy);
	CHECK(pr.h != NULL);
	curl_easy_setopt(x.easy, CURLOPT_WRITEFUNCTION, probe_write);
	curl_easy_setopt(x.easy, CURLOPT_WRITEDATA, &pr);
	if (pr.h)
		perform(&x);
	CHECK_INT(pr.bad, CURL_PREREQFUNC_ABORT);
	CHECK_INT(pr.good, CURL_PREREQFUNC_OK);
	CHECK_INT(x.rc, CERTPIN_OK);
	cpc_handle_unref(pr.h);
	xfer_free(&x);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

/* Detaching gives the handle back to plain libcurl: no more pins, no more results. */
static void test_detach(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	tlsserver *s = server("rogue-chain.pem", "rogue-leaf.key", 1);
	xfer x;

	xfer_init(&x, HOST, tlsserver_port(s), "trust-with-rogue.pem");
	attach(&x, p, NULL);
	certpin_curl_detach(x.easy);
	certpin_curl_detach(x.easy); /* twice: a no-op */
	perform(&x);
	CHECK(ok_body(&x));
	CHECK_INT(x.rc, CERTPIN_E_INVALID_ARG);
	xfer_free(&x);
	certpin_curl_detach(NULL);
	(void)tlsserver_wait(s, 5000);
	tlsserver_stop(s);
	certpin_policy_free(p);
}

static void test_attach_arguments(void)
{
	certpin_policy *p = policy_of(HOST, "", "leaf", NULL);
	certpin_curl_options o = CERTPIN_CURL_OPTIONS_INIT;
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	certpin_error err;
	char path[4200];
	CURL *e = curl_easy_init();

	CHECK_INT(certpin_curl_attach(NULL, p, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_curl_attach(e, NULL, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "nothing to check");
	o.version = 2;
	CHECK_INT(certpin_curl_attach(e, p, &o, &err), CERTPIN_E_INVALID_ARG);
	o.version = CERTPIN_CURL_OPTIONS_VERSION;
	o.flags = 8;
	CHECK_INT(certpin_curl_attach(e, p, &o, &err), CERTPIN_E_INVALID_ARG);
	snprintf(path, sizeof(path), "%s/known_pins", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	o.flags = CERTPIN_CURL_INSECURE_PIN_ONLY;
	o.tofu = store;
	CHECK_INT(certpin_curl_attach(e, p, &o, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "pin-only");
	CHECK_INT(certpin_curl_result(e, NULL, NULL), CERTPIN_E_INVALID_ARG); /* a failed attach attaches nothing */
	o.flags = 0;
	CHECK_INT(certpin_curl_attach(e, NULL, &o, &err), CERTPIN_OK);       /* a store alone */
	certpin_tofu_close(store);                                           /* the attachment keeps its own */
	CHECK_INT(certpin_curl_attach(e, p, NULL, &err), CERTPIN_OK);        /* attaching again replaces */
	certpin_curl_detach(e);
	curl_easy_cleanup(e);
	certpin_policy_free(p);
}

/* ---- the example ------------------------------------------------------------------------------------- */

#ifdef CERTPIN_EXAMPLE_CURL
static void test_example(void)
{
	char policy_path[4200], cmd[9000], line[1024] = "";
	certpin_policy *p = policy_of("127.0.0.1", "", "leaf", NULL);
	char *json = NULL;

	snprintf(policy_path, sizeof(policy_path), "%s/example-policy.json", test_tmpdir());
	CHECK_INT(certpin_policy_to_json(&json, p), CERTPIN_OK);
	FILE *f = fopen(policy_path, "w");
	CHECK(f && json && fputs(json, f) >= 0);
	if (f)
		fclose(f);
	free(json);
	for (int genuine = 1; genuine >= 0; genuine--) {
		tlsserver *s = genuine ? server("chain.pem", "leaf.key", 1) : server("rogue-chain.pem", "rogue-leaf.key", 1);
		snprintf(cmd, sizeof(cmd), "%s https://127.0.0.1:%d/ %s %s", CERTPIN_EXAMPLE_CURL, tlsserver_port(s),
			policy_path, test_pki("trust-with-rogue.pem"));
		FILE *out = popen(cmd, "r");
		line[0] = '\0';
		if (out && !fgets(line, sizeof(line), out))
			line[0] = '\0';
		int status = out ? pclose(out) : -1;
		CHECK_INT(status, genuine ? 0 : 256);
		CHECK_CONTAINS(line, genuine ? "certpin ok, verdict match" : "certpin pin-mismatch, verdict mismatch");
		(void)tlsserver_wait(s, 5000);
		tlsserver_stop(s);
	}
	certpin_policy_free(p);
}
#endif

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tlsserver_set_http(TLSSERVER_HTTP);
	test_attach_arguments();
	test_genuine_and_attacks();
	test_report_only();
	test_ip_literal();
	test_naive_glue();
	test_connect_to();
	test_no_resumption();
	test_reuse_easy();
	test_reuse_multi();
	test_multi_fifty();
	test_multi_fifty_reused();
	test_verifypeer_off();
	test_result_of_last_transfer();
	test_no_tls();
	test_app_ssl_ctx();
	test_duphandle();
	test_prereq_tuple();
	test_detach();
#ifdef CERTPIN_EXAMPLE_CURL
	test_example();
#endif
	curl_global_cleanup();
	return test_finish("curl_test");
}
