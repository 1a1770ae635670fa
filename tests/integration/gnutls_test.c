/*
 * gnutls_test - the GnuTLS adapter (certpin/gnutls.h) beyond the shared
 * attack catalog: results after a refused handshake, GnuTLS's verification
 * status, the path GnuTLS verified (an intermediate as trust anchor, a leaf
 * trusted by name), the resumption guard (TLS 1.2 and 1.3), swapping the
 * policy, TOFU, pin-only trust, the failure callback, no host name, a verify
 * function set after attaching, and wrong arguments.  Each case connects to a
 * local test server (tlsserver.h) the way a GnuTLS application would.
 * Reference pins come from pins.txt (the openssl CLI).
 */
#include "certpin.h"
#include "certpin/gnutls.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

#define HOST "api.certpin.test"
#define TLS12 "NORMAL:-VERS-ALL:+VERS-TLS1.2"
#define TLS13 "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* ---- policies from pins.txt --------------------------------------------------- */

static char pins_txt[8192];

/* The pin named `name` in pins.txt, in a static buffer rotated over 4 slots. */
static const char *pin(const char *name)
{
	static char out[4][CERTPIN_PIN_STRLEN];
	static int slot;
	char key[64];
	char *p = out[slot++ % 4];

	snprintf(key, sizeof(key), "\n%s ", name);
	const char *at = strstr(pins_txt, key);
	if (!at) {
		fprintf(stderr, "gnutls_test: no pin %s\n", name);
		exit(2);
	}
	at += strlen(key);
	size_t n = strcspn(at, "\n");
	snprintf(p, CERTPIN_PIN_STRLEN, "%.*s", (int)n, at);
	return p;
}

/* A policy pinning `pattern` to `pins` (a JSON array body) with rule options `extra`. */
static certpin_policy *policy_for(const char *pattern, const char *extra, const char *pins)
{
	char doc[2048];
	certpin_policy *p = NULL;
	certpin_error err;

	snprintf(doc, sizeof(doc), "{\"schema\":1,\"hosts\":[{\"host\":\"%s\"%s,\"pins\":[%s]}]}", pattern, extra, pins);
	if (certpin_policy_load_data(&p, doc, strlen(doc), "gnutls_test.json", NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "gnutls_test: %s\n%s\n", err.message, doc);
		exit(2);
	}
	return p;
}

static certpin_policy *pinning(const char *pins)
{
	return policy_for(HOST, "", pins);
}

static char pinbuf[4][256];
static int pinslot;
/* "\"PIN\"" for a pin of pins.txt */
static const char *q(const char *name)
{
	char *b = pinbuf[pinslot++ % 4];
	snprintf(b, sizeof(pinbuf[0]), "\"%s\"", pin(name));
	return b;
}

/* ---- one connection ------------------------------------------------------------- */

typedef struct conn {
	const char *ca;                 /* trust file (PKI name); NULL: none */
	const char *host;               /* certpin_gnutls_set_verify_cert() and SNI; NULL: neither */
	const char *prio;               /* NULL: TLS 1.2 or 1.3 */
	certpin_policy *policy;
	const certpin_ssl_options *opts;
	certpin_tofu *tofu;
	struct blob *resume;            /* session data to offer (certpin_gnutls_session_set_data) */
	struct blob *save;              /* where to keep the session's data after success */
	int app_verify_after;           /* gnutls_session_set_verify_cert() after attaching */
	const char *named_leaf;         /* trust this certificate for `host` by name, no CA */
	certpin_policy *then;           /* attached after `policy` (and the store): the swap */
	int raw;                        /* resume/save with GnuTLS's own calls, and set a hook of one's own */
} conn;

typedef struct blob {
	unsigned char *data;
	size_t len;
	int offered;                    /* what certpin_gnutls_session_set_data() returned */
} blob;

static int app_hook_calls;

static int app_hook(gnutls_session_t s, unsigned int htype, unsigned int when, unsigned int incoming,
	const gnutls_datum_t *msg)
{
	(void)s, (void)htype, (void)when, (void)incoming, (void)msg;
	app_hook_calls++;
	return 0;
}

typedef struct outcome {
	int hs;                         /* gnutls_handshake()'s last code */
	int connected, resumed;
	int rc, tofu_rc;
	certpin_result result;
	certpin_tofu_result tofu;
	unsigned int status;
} outcome;

static int exchange(gnutls_session_t s, outcome *o)
{
	char buf[8];
	size_t got = 0;
	int tries = 0;

	do
		o->hs = gnutls_handshake(s);
	while (o->hs < 0 && !gnutls_error_is_fatal(o->hs) && ++tries < 100);
	if (o->hs < 0)
		return 0;
	o->resumed = gnutls_session_is_resumed(s);
	if (gnutls_record_send(s, "hi\n", 3) != 3)
		return 0;
	for (tries = 0; got < 3 && tries < 100; tries++) {
		ssize_t n = gnutls_record_recv(s, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || gnutls_error_is_fatal((int)n))
			break;
	}
	buf[got] = '\0';
	return strcmp(buf, "ok\n") == 0;
}

static void trust(gnutls_certificate_credentials_t cred, const conn *c)
{
	if (c->ca)
		CHECK(gnutls_certificate_set_x509_trust_file(cred, test_pki(c->ca), GNUTLS_X509_FMT_PEM) > 0);
	if (c->named_leaf) {
		gnutls_x509_trust_list_t tl = NULL;
		gnutls_x509_crt_t crt;
		gnutls_datum_t pem = { NULL, 0 };
		size_t len;
		pem.data = (unsigned char *)test_read_file(test_pki(c->named_leaf), &len);
		pem.size = (unsigned int)len;
		gnutls_certificate_get_trust_list(cred, &tl);
		CHECK(gnutls_x509_crt_init(&crt) == 0 && gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) == 0);
		CHECK(tl && gnutls_x509_trust_list_add_named_crt(tl, crt, c->host, strlen(c->host), 0) == 0);
		free(pem.data);
	}
}

/* One connection to `port` as described by `c`; the session is given to `after` (if set) before it goes. */
static void connect_to(outcome *o, int port, const conn *c)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	certpin_error err;

	memset(o, 0, sizeof(*o));
	CHECK(gnutls_certificate_allocate_credentials(&cred) == 0);
	trust(cred, c);
	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK(gnutls_priority_set_direct(s, c->prio ? c->prio : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL) == 0);
	CHECK(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) == 0);
	if (c->host) {
		CHECK(gnutls_server_name_set(s, GNUTLS_NAME_DNS, c->host, strlen(c->host)) == 0);
		CHECK_INT(certpin_gnutls_set_verify_cert(s, c->host, 0, &err), CERTPIN_OK);
	}
	if (c->policy)
		CHECK_INT(certpin_gnutls_session_attach(s, c->policy, c->opts, &err), CERTPIN_OK);
	if (c->tofu)
		CHECK_INT(certpin_gnutls_tofu_attach(s, c->tofu, &err), CERTPIN_OK);
	if (c->then)
		CHECK_INT(certpin_gnutls_session_attach(s, c->then, c->opts, &err), CERTPIN_OK);
	if (c->app_verify_after)
		gnutls_session_set_verify_cert(s, c->host, 0);
	if (c->resume && c->raw) {
		CHECK(gnutls_session_set_data(s, c->resume->data, c->resume->len) == 0);
		gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, app_hook);
	} else if (c->resume) {
		c->resume->offered = certpin_gnutls_session_set_data(s, c->resume->data, c->resume->len, &err);
	}
	int fd = test_tcp_connect(port);
	CHECK(fd >= 0);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, TEST_CLIENT_TIMEOUT_S * 1000);
	gnutls_record_set_timeout(s, TEST_CLIENT_TIMEOUT_S * 1000);
	o->connected = exchange(s, o);
	o->rc = certpin_gnutls_result(&o->result, s);
	o->tofu_rc = certpin_gnutls_tofu_result(&o->tofu, s);
	o->status = certpin_gnutls_verify_status(s);
	if (c->save && o->connected && c->raw) {
		gnutls_datum_t d = { NULL, 0 };
		CHECK(gnutls_session_get_data2(s, &d) == 0);
		c->save->data = malloc(d.size);
		memcpy(c->save->data, d.data, d.size);
		c->save->len = d.size;
		gnutls_free(d.data);
	} else if (c->save && o->connected) {
		CHECK_INT(certpin_gnutls_session_get_data(&c->save->data, &c->save->len, s), CERTPIN_OK);
	}
	if (o->connected)
		(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	close(fd);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
}

/* One server for one connection with `chain` and `key`, and the connection. */
static void run(outcome *o, const char *chain, const char *key, const conn *c)
{
	tlsserver *srv = NULL;

	if (tlsserver_start(&srv, test_pki(chain), test_pki(key), 1) != 0)
		exit(2);
	connect_to(o, tlsserver_port(srv), c);
	(void)tlsserver_wait(srv, 5000);
	tlsserver_stop(srv);
}

#define CHECK_REFUSED(o, code) do { \
	CHECK_INT((o).connected, 0); \
	CHECK_INT((o).hs, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR); \
	CHECK_INT((o).rc, code); \
	CHECK_INT((o).result.allowed, 0); \
	CHECK((o).status != (unsigned int)-1 && ((o).status & GNUTLS_CERT_INVALID)); \
} while (0)

#define CHECK_ALLOWED(o, code, want_verdict) do { \
	CHECK_INT((o).connected, 1); \
	CHECK_INT((o).rc, code); \
	CHECK_INT((o).result.verdict, want_verdict); \
	CHECK_INT((o).status, 0); \
} while (0)

/* ---- cases ---------------------------------------------------------------------- */

/* The result, GnuTLS's error and status stay readable after a refused handshake. */
static void test_refused(void)
{
	certpin_policy *p = pinning(q("selfsigned-other"));
	conn c = { "trust.pem", HOST, NULL, p, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 };
	outcome o;

	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(o.result.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_STR(o.result.hostname, HOST);
	CHECK_INT(o.status, GNUTLS_CERT_INVALID); /* GnuTLS verified it; certpin refused */
	certpin_policy_free(p);

	/* a PKIX failure keeps GnuTLS's reasons, in the status and the result */
	p = pinning(q("leaf"));
	c.policy = p;
	run(&o, "expired-chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PKIX);
	CHECK(o.status & GNUTLS_CERT_EXPIRED);
	CHECK_INT(o.result.pkix_error, (long)(o.status & ~(unsigned int)GNUTLS_CERT_INVALID) | GNUTLS_CERT_INVALID);
	run(&o, "wronghost-chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PKIX);
	CHECK(o.status & GNUTLS_CERT_UNEXPECTED_OWNER);
	/* an unpinned host keeps GnuTLS's verdict: allowed when it verifies, refused when not */
	certpin_policy_free(p);
	p = policy_for("other.example.test", "", q("leaf"));
	c.policy = p;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_NOT_PINNED);
	run(&o, "expired-chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PKIX);
	certpin_policy_free(p);
}

/* The chain is the path GnuTLS verified: its trust anchor, not what the server sent. */
static void test_verified_path(void)
{
	certpin_policy *p;
	char pins[512];
	conn c = { "inter.pem", HOST, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 };
	outcome o;

	/* the client trusts the intermediate itself: the path ends there, the root (not sent) is not in it */
	snprintf(pins, sizeof(pins), "{\"pin\":\"%s\",\"position\":\"root\"}", pin("root"));
	c.policy = p = pinning(pins);
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	certpin_policy_free(p);
	snprintf(pins, sizeof(pins), "{\"pin\":\"%s\",\"position\":\"root\"}", pin("inter"));
	c.policy = p = pinning(pins);
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK_INT(o.result.depth, 1);
	certpin_policy_free(p);

	/* a leaf GnuTLS trusts by name reports no path: a pinned host is refused, an unpinned one is not */
	c.ca = NULL;
	c.named_leaf = "leaf.pem";
	c.policy = p = pinning(q("leaf"));
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_CHAIN);
	certpin_policy_free(p);
	c.policy = p = policy_for("other.example.test", "", q("leaf"));
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_NOT_PINNED);
	certpin_policy_free(p);
}

/*
 * Resumption: a stored session is offered only if its full handshake passed
 * the policy and store attached now for the name set now; any other resumed
 * handshake of a checked host is refused; a host nothing checks resumes freely.
 */
static void test_resumption(const char *prio)
{
	certpin_policy *good = pinning(q("leaf")), *bad = pinning(q("selfsigned-other"));
	certpin_policy *good2 = pinning(q("leaf"));
	certpin_policy *other = policy_for("other.example.test", "", q("leaf"));
	blob saved = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	tlsserver *srv = NULL;
	outcome o;

	tlsserver_allow_resumption(1);
	if (tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 0) != 0)
		exit(2);
	tlsserver_allow_resumption(0);
	int port = tlsserver_port(srv);
	conn c = { "trust.pem", HOST, prio, good, NULL, NULL, NULL, &saved, 0, NULL, NULL, 0 };
	connect_to(&o, port, &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK_INT(o.resumed, 0);
	CHECK(saved.len > 0);
	c.save = &raw;
	c.raw = 1;
	connect_to(&o, port, &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK(raw.len > 0);
	c.save = NULL;
	c.raw = 0;

	/* the same policy and name: offered and resumed (nothing to check in this handshake) */
	c.resume = &saved;
	connect_to(&o, port, &c);
	CHECK_INT(saved.offered, CERTPIN_OK);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.resumed, 1);
	CHECK_INT(o.rc, CERTPIN_E_STATE);

	/* another policy, even with the same pins, or another name: not offered, a full handshake checks */
	c.policy = good2;
	connect_to(&o, port, &c);
	CHECK_INT(saved.offered, CERTPIN_E_STATE);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK_INT(o.resumed, 0);
	c.policy = bad;
	connect_to(&o, port, &c);
	CHECK_INT(saved.offered, CERTPIN_E_STATE);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	c.policy = other;
	c.host = "other.example.test";
	connect_to(&o, port, &c);
	CHECK_INT(saved.offered, CERTPIN_E_STATE);
	CHECK_REFUSED(o, CERTPIN_E_PKIX);

	/* a session set with GnuTLS's own call carries no tag: refused for a pinned host, hook or no hook */
	c.policy = good;
	c.host = HOST;
	c.resume = &raw;
	c.raw = 1;
	app_hook_calls = 0;
	connect_to(&o, port, &c);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.hs, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	CHECK_INT(o.rc, CERTPIN_E_CHAIN);
	CHECK_INT(o.status, GNUTLS_CERT_INVALID);
	CHECK_INT(app_hook_calls, 0);
	/* ... and resumed where nothing is checked */
	c.policy = other;
	connect_to(&o, port, &c);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.resumed, 1);
	CHECK_INT(o.rc, CERTPIN_E_STATE);

	/* data that is not certpin's, or altered */
	gnutls_session_t s;
	certpin_error err;
	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK_INT(certpin_gnutls_session_set_data(s, raw.data, raw.len, &err), CERTPIN_E_DECODE);
	saved.data[20] ^= 1; /* the process's random number */
	CHECK_INT(certpin_gnutls_session_set_data(s, saved.data, saved.len, &err), CERTPIN_E_DECODE);
	saved.data[20] ^= 1;
	CHECK_INT(certpin_gnutls_session_set_data(s, saved.data, 20, &err), CERTPIN_E_DECODE);
	CHECK_INT(certpin_gnutls_session_set_data(NULL, saved.data, saved.len, &err), CERTPIN_E_INVALID_ARG);
	unsigned char *d;
	size_t dl;
	CHECK_INT(certpin_gnutls_session_get_data(&d, &dl, s), CERTPIN_E_STATE);
	CHECK_INT(certpin_gnutls_session_get_data(NULL, &dl, s), CERTPIN_E_INVALID_ARG);
	gnutls_deinit(s);

	tlsserver_stop(srv);
	free(saved.data);
	free(raw.data);
	certpin_policy_free(good);
	certpin_policy_free(good2);
	certpin_policy_free(bad);
	certpin_policy_free(other);
}

/* Attaching again swaps the policy (and options) for the next check; the store stays. */
static void test_swap(void)
{
	certpin_policy *good = pinning(q("leaf")), *bad = pinning(q("selfsigned-other"));
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	certpin_error err;
	certpin_result r;

	CHECK(gnutls_certificate_allocate_credentials(&cred) == 0);
	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK_INT(certpin_gnutls_session_attach(s, bad, NULL, &err), CERTPIN_OK);
	CHECK_INT(certpin_gnutls_session_attach(s, good, NULL, &err), CERTPIN_OK);
	/* the binding holds its own references */
	CHECK_INT(certpin_gnutls_result(&r, s), CERTPIN_E_STATE);
	CHECK_INT(r.depth, -1);
	CHECK_INT(certpin_gnutls_verify_status(s), (unsigned int)-1);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);

	/* on one session: the policy attached last decides; the TOFU store attached before stays */
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	snprintf(path, sizeof(path), "%s/known_pins-swap", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	conn c = { "trust.pem", HOST, NULL, bad, NULL, store, NULL, NULL, 0, NULL, good, 0 };
	outcome o;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK_INT(o.tofu_rc, CERTPIN_OK);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	c.policy = good;
	c.then = bad;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(o.tofu_rc, CERTPIN_E_STATE); /* the policy refused first: the store was not asked */
	certpin_tofu_close(store);
	certpin_policy_free(good);
	certpin_policy_free(bad);
}

/* TOFU through the adapter: never a chain GnuTLS refused, never one the policy refused. */
static void test_tofu(void)
{
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	certpin_policy *bad = pinning(q("selfsigned-other"));
	outcome o;

	snprintf(path, sizeof(path), "%s/known_pins-tofu", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	/* a rogue first contact the client's trust store refuses: nothing recorded */
	conn c = { "trust.pem", HOST, NULL, NULL, NULL, store, NULL, NULL, 0, NULL, NULL, 0 };
	run(&o, "rogue-chain.pem", "rogue-leaf.key", &c);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.hs, GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
	CHECK(o.status & GNUTLS_CERT_SIGNER_NOT_FOUND);
	/* a first contact the policy refuses: not recorded either */
	c.policy = bad;
	c.ca = "trust-with-rogue.pem";
	run(&o, "rogue-chain.pem", "rogue-leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(o.tofu_rc, CERTPIN_E_STATE);
	/* so the real key is the first use, and a forged one later is refused */
	c.policy = NULL;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu_rc, CERTPIN_OK);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(o.rc, CERTPIN_E_STATE); /* no policy attached */
	run(&o, "rogue-chain.pem", "rogue-leaf.key", &c);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_CHANGED);
	CHECK(o.status & GNUTLS_CERT_INVALID);
	/* no name: TOFU cannot tell the host */
	c.host = NULL;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_HOSTNAME);
	certpin_tofu_close(store);
	certpin_policy_free(bad);
}

/* Pin-only: no PKIX at all, the server's leaf alone against leaf pins; everything else refused. */
static void test_pin_only(void)
{
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	char pins[512];
	outcome o;

	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	certpin_policy *p = pinning(q("leaf"));
	conn c = { NULL, HOST, NULL, p, &po, NULL, NULL, NULL, 0, NULL, NULL, 0 };
	/* a self-signed device certificate with the pinned key, no trust anchors */
	run(&o, "selfsigned.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	/* dates are not checked: the key is what is pinned */
	run(&o, "expired-chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	/* another key, and another key with the pinned certificate appended */
	run(&o, "selfsigned-other.pem", "selfsigned-other.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	run(&o, "selfsigned-inject-chain.pem", "selfsigned-other.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	/* a pinned intermediate or root says nothing without PKIX */
	certpin_policy_free(p);
	snprintf(pins, sizeof(pins), "%s,%s", q("inter"), q("root"));
	c.policy = p = pinning(pins);
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	/* report-only does not relax it */
	certpin_policy_free(p);
	c.policy = p = policy_for(HOST, ",\"mode\":\"report-only\"", q("selfsigned-other"));
	run(&o, "selfsigned.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	/* an unpinned host is refused, and so is a connection with no name */
	certpin_policy_free(p);
	c.policy = p = policy_for("other.example.test", "", q("leaf"));
	run(&o, "selfsigned.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	certpin_policy_free(p);
	c.policy = p = pinning(q("leaf"));
	c.host = NULL;
	run(&o, "selfsigned.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_HOSTNAME);
	/* with a TOFU store, which would then vouch for an unverified key: refused at attach */
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	gnutls_session_t s;
	certpin_error err;
	snprintf(path, sizeof(path), "%s/known_pins-pinonly", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK_INT(certpin_gnutls_tofu_attach(s, store, &err), CERTPIN_OK);
	CHECK_INT(certpin_gnutls_session_attach(s, p, &po, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "TOFU");
	gnutls_deinit(s);
	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK_INT(certpin_gnutls_session_attach(s, p, &po, &err), CERTPIN_OK);
	CHECK_INT(certpin_gnutls_tofu_attach(s, store, &err), CERTPIN_E_INVALID_ARG);
	gnutls_deinit(s);
	certpin_tofu_close(store);
	certpin_policy_free(p);
}

static int failures;
static certpin_result failure_seen;
static size_t failure_n;

static void on_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)chain;
	CHECK(payload == &failures);
	failures++;
	failure_seen = *r;
	failure_n = n;
}

/* The options' failure callback: on a refusal and on a report-only mismatch, with the verified chain; not on a match. */
static void test_on_failure(void)
{
	certpin_ssl_options oo = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = pinning(q("selfsigned-other"));
	outcome o;

	oo.on_failure = on_failure;
	oo.payload = &failures;
	conn c = { "trust.pem", HOST, NULL, p, &oo, NULL, NULL, NULL, 0, NULL, NULL, 0 };
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_seen.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(failure_n, 3); /* leaf, intermediate, and the root from the trust file */
	certpin_policy_free(p);
	c.policy = p = policy_for(HOST, ",\"mode\":\"report-only\"", q("selfsigned-other"));
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(failures, 2);
	CHECK_INT(failure_seen.allowed, 1);
	certpin_policy_free(p);
	c.policy = p = pinning(q("leaf"));
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_MATCH);
	CHECK_INT(failures, 2);
	certpin_policy_free(p);
}

/* No name set with certpin_gnutls_set_verify_cert(): refused, pinned host or not. */
static void test_no_name(void)
{
	certpin_policy *p = pinning(q("leaf"));
	outcome o;
	conn c = { "trust.pem", NULL, NULL, p, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 };

	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_HOSTNAME);
	certpin_policy_free(p);
	c.policy = p = policy_for("other.example.test", "", q("leaf"));
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_HOSTNAME);
	certpin_policy_free(p);
	/* even a policy that pins nothing: GnuTLS would have verified the certificate for no one */
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	c.policy = p;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_REFUSED(o, CERTPIN_E_HOSTNAME);
	c.host = HOST;
	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_ALLOWED(o, CERTPIN_OK, CERTPIN_VERDICT_NOT_PINNED);
	certpin_policy_free(p);
}

/* A verify function set after attaching replaces certpin's: the result says no check ran. */
static void test_replaced(void)
{
	certpin_policy *p = pinning(q("selfsigned-other"));
	outcome o;
	conn c = { "trust.pem", HOST, NULL, p, NULL, NULL, NULL, NULL, 1, NULL, NULL, 0 };

	run(&o, "chain.pem", "leaf.key", &c);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.rc, CERTPIN_E_STATE);
	CHECK_INT(o.status, (unsigned int)-1);
	certpin_policy_free(p);
}

static void test_arguments(void)
{
	certpin_policy *p = pinning(q("leaf"));
	certpin_ssl_options bad = CERTPIN_SSL_OPTIONS_INIT;
	gnutls_session_t s;
	certpin_error err;
	char longname[CERTPIN_HOSTNAME_MAX + 8];

	CHECK(gnutls_init(&s, GNUTLS_CLIENT) == 0);
	CHECK_INT(certpin_gnutls_session_attach(NULL, p, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_session_attach(s, NULL, NULL, &err), CERTPIN_E_INVALID_ARG);
	bad.version = 99;
	CHECK_INT(certpin_gnutls_session_attach(s, p, &bad, &err), CERTPIN_E_INVALID_ARG);
	bad.version = CERTPIN_SSL_OPTIONS_VERSION;
	bad.flags = 0x80;
	CHECK_INT(certpin_gnutls_session_attach(s, p, &bad, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_tofu_attach(s, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_tofu_attach(NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_set_verify_cert(NULL, HOST, 0, &err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_set_verify_cert(s, NULL, 0, &err), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_gnutls_set_verify_cert(s, "", 0, &err), CERTPIN_E_HOSTNAME);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(certpin_gnutls_set_verify_cert(s, longname, 0, &err), CERTPIN_E_HOSTNAME);
	CHECK_INT(err.code, CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_gnutls_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_tofu_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_gnutls_verify_status(NULL), (unsigned int)-1);
	/* nothing attached yet: no state, no result */
	CHECK_INT(certpin_gnutls_result(NULL, s), CERTPIN_E_STATE);
	/* the extension type is taken: certpin cannot keep its state there, and says so */
	gnutls_session_t t;
	CHECK(gnutls_init(&t, GNUTLS_CLIENT) == 0);
	CHECK(gnutls_session_ext_register(t, "other", CERTPIN_GNUTLS_EXT_TYPE, GNUTLS_EXT_TLS, NULL, NULL, NULL, NULL, NULL,
		GNUTLS_EXT_FLAG_CLIENT_HELLO) == 0);
	CHECK_INT(certpin_gnutls_session_attach(t, p, NULL, &err), CERTPIN_E_TLS);
	CHECK_CONTAINS(err.message, "extension");
	gnutls_deinit(t);
	gnutls_deinit(s);
	certpin_policy_free(p);
}

int main(void)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(pins_txt, sizeof(pins_txt), "\n%s", txt);
	free(txt);
	test_arguments();
	test_refused();
	test_verified_path();
	test_resumption(TLS12);
	test_resumption(TLS13);
	test_swap();
	test_tofu();
	test_pin_only();
	test_on_failure();
	test_no_name();
	test_replaced();
	return test_finish("gnutls_test");
}
