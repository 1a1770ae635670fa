/*
 * bundle_fetch_test - certpin_bundle_fetch() (libcurl, pinned by the
 * current policy) against a tiny HTTPS responder on 127.0.0.1 that serves
 * canned HTTP responses.
 *
 * The fetch must be pinned by the current policy (a pin mismatch, an
 * unpinned host and a PKIX failure never reach HTTP), accept only a
 * complete 200 response within the size and time limits, and its result
 * still goes through the bundle checks: a tampered bundle fetched over a
 * perfectly pinned connection is refused.
 */
#include "certpin.h"
#include "certpin/report.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

/* The detail of the last failed bundle call. */
static certpin_error berr;

/* ---- the responder ----------------------------------------------------------- */

typedef struct responder {
	SSL_CTX *ctx;
	int fd, port;
	pthread_t thread;
	atomic_int stop;
	const char *response;           /* bytes sent after the request */
	size_t response_len;
	int close_notify;               /* 1: SSL_shutdown before closing */
	int stall_ms;                   /* wait this long before answering */
	atomic_int conns, requests;
} responder;

static void *serve(void *arg)
{
	responder *r = arg;

	while (!r->stop) {
		struct pollfd pfd = { r->fd, POLLIN, 0 };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		struct timeval tv = { 5, 0 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		r->conns++;
		SSL *ssl = SSL_new(r->ctx);
		if (ssl && SSL_set_fd(ssl, c) == 1 && SSL_accept(ssl) == 1) {
			char req[4096];
			size_t got = 0;
			while (got < sizeof(req) - 1) {
				int n = SSL_read(ssl, req + got, (int)(sizeof(req) - 1 - got));
				if (n <= 0)
					break;
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			req[got] = '\0';
			if (strncmp(req, "GET /bundle.json HTTP/1.1\r\n", 27) == 0 && strstr(req, "\r\nHost: api.certpin.test:"))
				r->requests++;
			for (int waited = 0; waited < r->stall_ms && !r->stop; waited += 50) {
				struct timespec ts = { 0, 50 * 1000000L };
				nanosleep(&ts, NULL);
			}
			size_t off = 0;
			while (off < r->response_len) {
				int n = SSL_write(ssl, r->response + off, (int)(r->response_len - off));
				if (n <= 0)
					break;
				off += (size_t)n;
			}
			if (r->close_notify)
				SSL_shutdown(ssl);
		}
		ERR_clear_error();
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

static int responder_start(responder *r, const char *chain, const char *key)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(r, 0, sizeof(*r));
	signal(SIGPIPE, SIG_IGN);
	r->ctx = SSL_CTX_new(TLS_server_method());
	if (!r->ctx || SSL_CTX_use_certificate_chain_file(r->ctx, test_pki(chain)) != 1 ||
	    SSL_CTX_use_PrivateKey_file(r->ctx, test_pki(key), SSL_FILETYPE_PEM) != 1)
		return -1;
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(r->fd, 8) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&a, &al) != 0)
		return -1;
	r->port = ntohs(a.sin_port);
	return pthread_create(&r->thread, NULL, serve, r) == 0 ? 0 : -1;
}

static void responder_stop(responder *r)
{
	r->stop = 1;
	pthread_join(r->thread, NULL);
	close(r->fd);
	SSL_CTX_free(r->ctx);
}

/* ---- helpers ------------------------------------------------------------------- */

static certpin_pin pin_root, pin_backup;
static char *priv, *pub;

static int load_pin(certpin_pin *out, const char *name)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	size_t nl = strlen(name);
	int rc = -1;

	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
			rc = certpin_pin_parse(out, line + nl + 1, strlen(line + nl + 1));
	free(txt);
	return rc;
}

static certpin_policy *policy_for(const char *host, const certpin_pin *pin)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;

	ho.pattern = host;
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, host, pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		exit(2);
	return p;
}

/* The detail of the last fetch. */
static certpin_error ferr;

static int fetch(responder *r, char **body, size_t *len, certpin_fetch_result *res, certpin_policy *cur,
	const char *cafile, size_t max, unsigned int timeout_ms)
{
	certpin_fetch_options o = CERTPIN_FETCH_OPTIONS_INIT;
	char url[128];

	snprintf(url, sizeof(url), "https://api.certpin.test:%d/bundle.json#frag", r->port);
	o.cafile = test_pki(cafile);
	o.connect_host = "127.0.0.1";
	o.max_bytes = max;
	o.timeout_ms = timeout_ms;
	int rc = certpin_bundle_fetch(body, len, res, url, cur, &o, &ferr);

	CHECK_INT(ferr.code, rc);
	return rc;
}

static char *http_response(const char *status_and_headers, const char *body)
{
	size_t n = strlen(status_and_headers) + strlen(body) + 8;
	char *s = malloc(n);

	snprintf(s, n, "%s\r\n%s", status_and_headers, body);
	return s;
}

static char *content_length_response(const char *body)
{
	char head[128];

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n",
		strlen(body));
	return http_response(head, body);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_fetch_and_apply(const char *bundle, certpin_trust_anchors *anchors, const char *state)
{
	certpin_policy *cur = policy_for("api.certpin.test", &pin_root), *next = NULL;
	certpin_fetch_result res;
	certpin_bundle_info info;
	responder r;
	char *body = NULL, *resp;
	size_t len = 0;

	/* Content-Length, then the body verifies and installs */
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = content_length_response(bundle);
	r.response = resp;
	r.response_len = strlen(resp);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000), CERTPIN_OK);
	CHECK_INT(res.http_status, 200);
	CHECK_INT(res.pin_rc, CERTPIN_OK);
	CHECK_INT(res.pin.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_STR(ferr.message, "");
	CHECK(body && len == strlen(bundle) && memcmp(body, bundle, len) == 0);
	CHECK_INT(r.requests, 1);
	CHECK_INT(certpin_policy_update_from_bundle(&next, &info, anchors, state, body, len, 1800000000, &berr), CERTPIN_OK);
	certpin_policy_free(next);
	free(body);
	body = NULL;
	responder_stop(&r);
	free(resp);

	/* no Content-Length: the body ends with the TLS close_notify */
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = http_response("HTTP/1.0 200 OK\r\n", bundle);
	r.response = resp;
	r.response_len = strlen(resp);
	r.close_notify = 1;
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000), CERTPIN_OK);
	CHECK(body && len == strlen(bundle) && memcmp(body, bundle, len) == 0);
	free(body);
	body = NULL;
	/* ... and without close_notify it may be truncated: refused */
	r.close_notify = 0;
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000), CERTPIN_E_IO);
	CHECK_CONTAINS(ferr.message, "closed before the response was complete");
	CHECK(body == NULL);
	responder_stop(&r);
	free(resp);

	/* a tampered bundle over a perfectly pinned connection: fetched, then refused */
	char *tampered = strdup(bundle);
	char *v = strstr(tampered, "\"version\": ");
	CHECK(v != NULL);
	if (v)
		v[11] = v[11] == '9' ? '8' : (char)(v[11] + 1);
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = content_length_response(tampered);
	r.response = resp;
	r.response_len = strlen(resp);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000), CERTPIN_OK);
	CHECK_INT(certpin_policy_update_from_bundle(&next, &info, anchors, state, body, len, 1800000000, &berr),
		CERTPIN_E_SIGNATURE);
	CHECK(next == NULL);
	free(body);
	body = NULL;
	responder_stop(&r);
	free(resp);
	free(tampered);
	certpin_policy_free(cur);
}

static void test_http_errors(const char *bundle)
{
	certpin_policy *cur = policy_for("api.certpin.test", &pin_root);
	certpin_fetch_result res;
	responder r;
	char *body = NULL, *resp;
	size_t len = 0;
	static const struct {
		const char *head;
		int cl_delta;           /* added to the body length in Content-Length; 999 = none */
		int status;
		const char *why;        /* in the error's message; NULL: the fetch succeeds */
	} cases[] = {
		{ "HTTP/1.1 404 Not Found\r\n", 999, 404, "HTTP status 404" },
		{ "HTTP/1.1 302 Found\r\nLocation: https://evil.example/\r\n", 999, 302, "HTTP status 302" },
		/* libcurl decodes chunked bodies: one that is not chunked is refused */
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", 999, 200, "closed before the response was complete" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n", 999, 200, "conflicting" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n", 999, 200, "" },       /* libcurl's reason */
		{ "HTTP/1.1 200 OK\r\n", 10, 200, "Content-Length says" },     /* body shorter than announced */
		{ "HTTP/1.1 200 OK\r\n", -10, 200, NULL },                     /* shorter: the rest is not body */
		{ "HTTP/2 200\r\n", 999, 200, NULL },  /* libcurl reads an HTTP/2 status line on HTTP/1.1 too */
		{ "garbage\r\n", 999, 0, "malformed HTTP status line" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char head[512];
		if (cases[i].cl_delta != 999)
			snprintf(head, sizeof(head), "%sContent-Length: %zu\r\n", cases[i].head,
				(size_t)((long)strlen(bundle) + cases[i].cl_delta));
		else
			snprintf(head, sizeof(head), "%s", cases[i].head);
		CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
		resp = http_response(head, bundle);
		r.response = resp;
		r.response_len = strlen(resp);
		r.close_notify = 1;
		int rc = fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000);
		if (!cases[i].why) {
			/* Content-Length shorter than what was sent: exactly Content-Length bytes are the body */
			CHECK_INT(rc, CERTPIN_OK);
			CHECK_INT(len, strlen(bundle) - (cases[i].cl_delta == -10 ? 10 : 0));
		} else {
			CHECK_INT(rc, CERTPIN_E_IO);
			CHECK(body == NULL);
			CHECK_CONTAINS(ferr.message, cases[i].why);
		}
		CHECK_INT(res.http_status, cases[i].status);
		free(body);
		body = NULL;
		responder_stop(&r);
		free(resp);
	}

	certpin_policy_free(cur);
}

/* A correctly chunked body is read whole. */
static void test_chunked(const char *bundle)
{
	certpin_policy *cur = policy_for("api.certpin.test", &pin_root);
	certpin_fetch_result res;
	responder r;
	char *body = NULL, *resp;
	size_t len = 0;

	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	size_t blen = strlen(bundle), half = blen / 2;
	size_t cap = blen + 128;
	resp = malloc(cap);
	snprintf(resp, cap, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
		half, (int)half, bundle, blen - half, bundle + half);
	r.response = resp;
	r.response_len = strlen(resp);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 5000), CERTPIN_OK);
	CHECK(body && len == blen && memcmp(body, bundle, len) == 0);
	free(body);
	body = NULL;
	responder_stop(&r);
	free(resp);
	certpin_policy_free(cur);
}

/* The size cap, announced or not, and the deadline. */
static void test_limits(const char *bundle)
{
	certpin_policy *cur = policy_for("api.certpin.test", &pin_root);
	certpin_fetch_result res;
	responder r;
	char *body = NULL, *resp;
	size_t len = 0;

	/* larger than the limit, announced or not */
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = content_length_response(bundle);
	r.response = resp;
	r.response_len = strlen(resp);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 100, 5000), CERTPIN_E_IO);
	CHECK_CONTAINS(ferr.message, "larger than 100 bytes");
	responder_stop(&r);
	free(resp);
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = http_response("HTTP/1.1 200 OK\r\n", bundle);
	r.response = resp;
	r.response_len = strlen(resp);
	r.close_notify = 1;
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 100, 5000), CERTPIN_E_IO);
	CHECK_CONTAINS(ferr.message, "larger than 100 bytes");
	responder_stop(&r);
	free(resp);

	/* a server that never answers: bounded by the timeout */
	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = content_length_response(bundle);
	r.response = resp;
	r.response_len = strlen(resp);
	r.stall_ms = 3000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 600), CERTPIN_E_IO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	CHECK(ms >= 500 && ms < 2500);
	CHECK_CONTAINS(ferr.message, "timed out");
	responder_stop(&r);
	free(resp);
	certpin_policy_free(cur);
}

static void test_transport_refusals(const char *bundle)
{
	certpin_policy *wrong = policy_for("api.certpin.test", &pin_backup);
	certpin_policy *other = policy_for("other.example", &pin_root);
	certpin_fetch_result res;
	responder r;
	char *body = NULL, *resp;
	size_t len = 0;

	CHECK_INT(responder_start(&r, "chain.pem", "leaf.key"), 0);
	resp = content_length_response(bundle);
	r.response = resp;
	r.response_len = strlen(resp);

	/* the current policy pins another key: refused in the handshake, no request sent */
	CHECK_INT(fetch(&r, &body, &len, &res, wrong, "trust.pem", 0, 5000), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(res.pin_rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(res.pin.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(res.http_status, 0);
	CHECK(body == NULL);
	CHECK_CONTAINS(ferr.message, "api.certpin.test: refused by the current policy");
	/* a CA the client does not trust: the pin check reports the PKIX failure */
	CHECK_INT(fetch(&r, &body, &len, &res, wrong, "rogue-root.pem", 0, 5000), CERTPIN_E_PKIX);
	CHECK_INT(res.pin_rc, CERTPIN_E_PKIX);
	CHECK(body == NULL);
	/* the URL host has no rule: no connection at all */
	int conns = r.conns;
	CHECK_INT(fetch(&r, &body, &len, &res, other, "trust.pem", 0, 5000), CERTPIN_E_NOT_FOUND);
	CHECK_CONTAINS(ferr.message, "not pinned");
	CHECK_INT(r.conns, conns);
	CHECK_INT(r.requests, 0);

	/* URLs */
	certpin_fetch_options o = CERTPIN_FETCH_OPTIONS_INIT;
	const char *bad_urls[] = { "http://api.certpin.test/b", "https://", "https://user@api.certpin.test/",
		"https://api.certpin.test:0/", "https://api.certpin.test:99999/", "https://api.certpin.test:x/",
		"https://[::1/", "https://api.certpin.test/a b", "ftp://x/", "https://bad..name/" };
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
		CHECK_INT(certpin_bundle_fetch(&body, &len, &res, bad_urls[i], other, &o, &ferr), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_bundle_fetch(&body, &len, NULL, NULL, other, NULL, NULL), CERTPIN_E_INVALID_ARG);
	/* nothing listening */
	responder_stop(&r);
	certpin_policy *cur = policy_for("api.certpin.test", &pin_root);
	CHECK_INT(fetch(&r, &body, &len, &res, cur, "trust.pem", 0, 2000), CERTPIN_E_IO);
	CHECK_CONTAINS(ferr.message, "cannot connect");
	certpin_policy_free(cur);
	free(resp);
	certpin_policy_free(wrong);
	certpin_policy_free(other);
}

int main(void)
{
	certpin_trust_anchors *anchors = NULL;
	certpin_bundle_sign_options so = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	static const char policy[] = "{\"schema\": 1, \"hosts\": [{\"host\": \"api.certpin.test\", \"pins\": "
		"[\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}]}";
	char state[256], cmd[300], *bundle = NULL;
	size_t blen;

	if (load_pin(&pin_root, "root") != CERTPIN_OK || load_pin(&pin_backup, "backup") != CERTPIN_OK)
		return 2;
	snprintf(state, sizeof(state), "%s/certpin-fetch-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(state))
		return 2;
	so.bundle_version = 5;
	so.issued = 1700000000;
	so.expires = 4102444800;
	if (certpin_bundle_keygen(&priv, &pub) != CERTPIN_OK || certpin_trust_anchors_new(&anchors) != CERTPIN_OK ||
	    certpin_trust_anchors_add_pubkey_pem(anchors, pub, strlen(pub), &berr) != CERTPIN_OK ||
	    certpin_bundle_sign(&bundle, &blen, policy, strlen(policy), priv, strlen(priv), &so, &berr) != CERTPIN_OK)
		return 2;

	test_fetch_and_apply(bundle, anchors, state);
	test_http_errors(bundle);
	test_chunked(bundle);
	test_limits(bundle);
	test_transport_refusals(bundle);

	free(bundle);
	free(priv);
	free(pub);
	certpin_trust_anchors_free(anchors);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
	if (system(cmd) != 0)
		fprintf(stderr, "bundle_fetch_test: could not remove %s\n", state);
	return test_finish("bundle_fetch_test");
}
