/*
 * tofu_live_test (integration) - the TOFU store through the OpenSSL binding,
 * against local TLS servers (127.0.0.1).
 *
 * Reference pins come from pins.txt (computed by the openssl CLI in
 * tests/data/mkpki.sh), not from the library under test.  Cases: first use
 * records the leaf's key, a second connection matches, the backup leaf
 * (another key under the same CA) is refused with both pins reported and the
 * store untouched, report-only lets it through, a chain failing PKIX is
 * neither accepted nor recorded, no host name is refused, composition
 * with certpin_ssl_ctx_attach() in both orders, an application verify
 * callback that accepts PKIX errors cannot make TOFU skip its check (the
 * handshake is refused), and on_change reports changes in both modes.
 */
#include "certpin.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

static certpin_pin pin_leaf, pin_backup, pin_root;
static char dir[256];
static SSL_verify_cb app_verify_cb;     /* set with SSL_CTX_set_verify() before attaching, if not NULL */
static int verify_none_after;           /* SSL_VERIFY_NONE set after attaching (callback kept) */
static int pin_only;                    /* attach the policy with CERTPIN_SSL_INSECURE_PIN_ONLY */

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

static const char *path_in(const char *name)
{
	static char bufs[4][512];
	static unsigned slot;
	char *b = bufs[slot++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

typedef struct outcome {
	int connected;                  /* handshake done and "ok\n" received */
	int tofu_rc;                    /* certpin_tofu_ssl_result() */
	certpin_tofu_result tofu;
	int pin_rc;                     /* certpin_ssl_result() (CERTPIN_E_STATE if no policy) */
	long verify_result;
} outcome;

enum { POLICY_NONE, POLICY_BEFORE, POLICY_AFTER };

/* One connection with `store` (may be NULL) and `policy` attached as `order` says. */
static void connect_once(outcome *o, const char *chain, const char *key, const char *host,
	certpin_tofu *store, certpin_policy *policy, int order)
{
	tlsserver *srv = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1;

	memset(o, 0, sizeof(*o));
	o->tofu_rc = o->pin_rc = CERTPIN_E_STATE;
	if (tlsserver_start(&srv, test_pki(chain), test_pki(key), 1) != 0) {
		CHECK(0);
		return;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL) != 1) {
		CHECK(0);
		goto out;
	}
	if (app_verify_cb)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, app_verify_cb);
	certpin_ssl_options so = CERTPIN_SSL_OPTIONS_INIT;
	so.flags = pin_only ? CERTPIN_SSL_INSECURE_PIN_ONLY : 0;
	if (order == POLICY_BEFORE)
		CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, &so), CERTPIN_OK);
	if (store)
		CHECK_INT(certpin_tofu_ssl_ctx_attach(ctx, store), CERTPIN_OK);
	if (order == POLICY_AFTER)
		CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, &so), CERTPIN_OK);
	if (verify_none_after)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, SSL_CTX_get_verify_callback(ctx));
	if ((fd = test_tcp_connect(tlsserver_port(srv))) < 0 || !(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1) {
		CHECK(0);
		goto out;
	}
	if (host) {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, "hi\n", 3) == 3) {
		char buf[8] = "";
		int r = SSL_read(ssl, buf, 3);
		o->connected = r == 3 && memcmp(buf, "ok\n", 3) == 0;
		SSL_shutdown(ssl);
	}
	ERR_clear_error();
	o->verify_result = SSL_get_verify_result(ssl);
	o->tofu_rc = certpin_tofu_ssl_result(&o->tofu, ssl);
	o->pin_rc = certpin_ssl_result(NULL, ssl);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	tlsserver_wait(srv, 2000);
	tlsserver_stop(srv);
}

static char *file_or_null(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return NULL;
	return test_read_file(path, NULL);
}

static certpin_tofu *store_open(const char *name, certpin_mode mode)
{
	certpin_tofu_options opts = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL;

	opts.mode = mode;
	if (certpin_tofu_open(&t, path_in(name), &opts) != CERTPIN_OK)
		exit(2);
	return t;
}

static void test_first_use_match_change(void)
{
	certpin_tofu *t = store_open("known_pins", CERTPIN_MODE_ENFORCE);
	certpin_tofu *ro = store_open("known_pins", CERTPIN_MODE_REPORT_ONLY);
	outcome o;
	char *before, *after;

	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu_rc, CERTPIN_OK);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK(certpin_pin_equal(&o.tofu.presented, &pin_leaf));
	before = file_or_null(path_in("known_pins"));
	char want[CERTPIN_PIN_STRLEN + 64];
	char p[CERTPIN_PIN_STRLEN];
	CHECK_INT(certpin_pin_format(p, sizeof(p), &pin_leaf, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	snprintf(want, sizeof(want), "\napi.certpin.test leaf %s ", p);
	CHECK_CONTAINS(before, want);

	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_MATCH);

	/* the backup leaf: same CA, same name, another key -- refused */
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(o.verify_result, X509_V_ERR_APPLICATION_VERIFICATION);
	CHECK_INT(o.tofu.known_count, 1);
	CHECK(certpin_pin_equal(&o.tofu.known[0].pin, &pin_leaf));
	CHECK(o.tofu.have_presented && certpin_pin_equal(&o.tofu.presented, &pin_backup));
	after = file_or_null(path_in("known_pins"));
	CHECK_STR(after, before);
	free(after);

	/* report-only: the same change goes through, reported, not recorded */
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", ro, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu_rc, CERTPIN_OK);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(o.tofu.allowed, 1);
	after = file_or_null(path_in("known_pins"));
	CHECK_STR(after, before);
	free(after);

	/* after "trust", the new key is the accepted one */
	CHECK_INT(certpin_tofu_trust(t, "api.certpin.test", &pin_backup, CERTPIN_POS_LEAF, 0, 1800000000, NULL), CERTPIN_OK);
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_MATCH);
	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);

	free(before);
	certpin_tofu_close(t);
	certpin_tofu_close(ro);
}

static void test_pkix_and_hostname(void)
{
	certpin_tofu *t = store_open("kp-pkix", CERTPIN_MODE_ENFORCE);
	outcome o;

	/* a leaf from a CA the client does not trust: refused by PKIX, nothing recorded */
	connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_STATE);
	CHECK(o.verify_result != X509_V_OK && o.verify_result != X509_V_ERR_APPLICATION_VERIFICATION);
	CHECK(access(path_in("kp-pkix"), F_OK) != 0);

	/* the wrong name: PKIX fails first, nothing recorded */
	connect_once(&o, "wronghost-chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_STATE);
	CHECK(access(path_in("kp-pkix"), F_OK) != 0);

	/* no host name at all: refused, nothing recorded */
	connect_once(&o, "chain.pem", "leaf.key", NULL, t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_HOSTNAME);
	CHECK(access(path_in("kp-pkix"), F_OK) != 0);

	/* an IP literal host works like a name */
	connect_once(&o, "chain.pem", "leaf.key", "127.0.0.1", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_STR(o.tofu.hostname, "127.0.0.1");
	certpin_tofu_close(t);
}

static certpin_policy *policy_pinning(const certpin_pin *pin)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;

	ho.pattern = "api.certpin.test";
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, "api.certpin.test", pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		exit(2);
	return p;
}

static void test_composition(void)
{
	certpin_policy *good = policy_pinning(&pin_root), *bad = policy_pinning(&pin_backup);
	outcome o;

	for (int order = POLICY_BEFORE; order <= POLICY_AFTER; order++) {
		char name[32];
		snprintf(name, sizeof(name), "kp-comp%d", order);
		certpin_tofu *t = store_open(name, CERTPIN_MODE_ENFORCE);

		/* both agree */
		connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, good, order);
		CHECK_INT(o.connected, 1);
		CHECK_INT(o.tofu_rc, CERTPIN_OK);
		CHECK_INT(o.pin_rc, CERTPIN_OK);
		connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, good, order);
		CHECK_INT(o.connected, 1);
		CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_MATCH);
		CHECK_INT(o.pin_rc, CERTPIN_OK);

		/* the policy refuses: TOFU does not run (a refused chain is never a first use) */
		connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, bad, order);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_STATE);
		CHECK_INT(o.pin_rc, CERTPIN_E_PIN_MISMATCH);

		/* the policy accepts (root pin), TOFU refuses the new leaf key */
		connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, good, order);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);
		CHECK(o.pin_rc != CERTPIN_OK);

		/* pin-only trust runs no verify callback, so TOFU would be skipped: refused */
		pin_only = 1;
		connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, bad, order);
		pin_only = 0;
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.pin_rc, CERTPIN_E_INVALID_ARG);
		certpin_tofu_close(t);
	}
	certpin_policy_free(good);
	certpin_policy_free(bad);
}

/* Application callbacks that tolerate every PKIX error (the second also clears it). */
static int accept_all_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	(void)preverify_ok, (void)sctx;
	return 1;
}

static int accept_and_clear_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	if (!preverify_ok)
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}

static int passthrough_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	(void)sctx;
	return preverify_ok;
}

static void test_app_callback_cannot_skip_tofu(void)
{
	SSL_verify_cb cbs[] = { accept_all_cb, accept_and_clear_cb };
	outcome o;

	for (size_t k = 0; k < sizeof(cbs) / sizeof(cbs[0]); k++) {
		char name[32];
		snprintf(name, sizeof(name), "kp-appcb%zu", k);
		certpin_tofu *t = store_open(name, CERTPIN_MODE_ENFORCE);
		certpin_tofu *ro = store_open(name, CERTPIN_MODE_REPORT_ONLY);

		/* first use through a failing chain: refused, nothing recorded */
		app_verify_cb = cbs[k];
		connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PKIX);
		CHECK_INT(o.tofu.allowed, 0);
		CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_NONE);
		CHECK(access(path_in(name), F_OK) != 0);

		/* a clean chain passes and is recorded even with the callback */
		connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 1);
		CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
		char *before = file_or_null(path_in(name));

		/* the changed key under an untrusted CA, PKIX error tolerated by the app: refused */
		connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PKIX);
		CHECK(o.verify_result != X509_V_OK);
		/* ... also in report-only mode: report-only relaxes the pin, never PKIX */
		connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", ro, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PKIX);
		/* the wrong host name, tolerated by the app: refused */
		connect_once(&o, "wronghost-chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PKIX);
		/* the changed key with PKIX passing: refused by TOFU itself */
		connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, NULL, POLICY_NONE);
		CHECK_INT(o.connected, 0);
		CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);
		char *after = file_or_null(path_in(name));
		CHECK_STR(after, before);
		free(before);
		free(after);
		app_verify_cb = NULL;
		certpin_tofu_close(t);
		certpin_tofu_close(ro);
	}

	/* a callback that keeps OpenSSL's verdict: PKIX refuses, TOFU never runs */
	certpin_tofu *t = store_open("kp-appcb-pass", CERTPIN_MODE_ENFORCE);
	app_verify_cb = passthrough_cb;
	connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_STATE);
	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	app_verify_cb = NULL;
	certpin_tofu_close(t);
}

/* SSL_VERIFY_NONE set after attaching: a TOFU refusal still aborts the handshake. */
static void test_verify_none_after_attach(void)
{
	certpin_tofu *t = store_open("kp-vnone", CERTPIN_MODE_ENFORCE);
	outcome o;

	verify_none_after = 1;
	connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK(access(path_in("kp-vnone"), F_OK) != 0);
	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_PIN_MISMATCH);
	app_verify_cb = accept_all_cb;
	connect_once(&o, "rogue-chain.pem", "rogue-leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(o.tofu_rc, CERTPIN_E_PKIX);
	app_verify_cb = NULL;
	verify_none_after = 0;
	certpin_tofu_close(t);
}

typedef struct changes {
	int calls, allowed;
	certpin_pin old_pin, new_pin;
} changes;

static void count_change(const certpin_tofu_result *r, void *payload)
{
	changes *c = payload;

	c->calls++;
	c->allowed = r->allowed;
	c->old_pin = r->known[0].pin;
	c->new_pin = r->presented_at[0];
}

static void test_on_change(void)
{
	certpin_tofu_options opts = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL, *ro = NULL;
	changes ch;
	outcome o;

	memset(&ch, 0, sizeof(ch));
	opts.on_change = count_change;
	opts.payload = &ch;
	if (certpin_tofu_open(&t, path_in("kp-change"), &opts) != CERTPIN_OK)
		exit(2);
	opts.mode = CERTPIN_MODE_REPORT_ONLY;
	if (certpin_tofu_open(&ro, path_in("kp-change"), &opts) != CERTPIN_OK)
		exit(2);
	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	connect_once(&o, "chain.pem", "leaf.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.tofu.verdict, CERTPIN_TOFU_MATCH);
	CHECK_INT(ch.calls, 0);
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", t, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 0);
	CHECK_INT(ch.calls, 1);
	CHECK_INT(ch.allowed, 0);
	CHECK(certpin_pin_equal(&ch.old_pin, &pin_leaf) && certpin_pin_equal(&ch.new_pin, &pin_backup));
	connect_once(&o, "backup-chain.pem", "backup.key", "api.certpin.test", ro, NULL, POLICY_NONE);
	CHECK_INT(o.connected, 1);
	CHECK_INT(ch.calls, 2);
	CHECK_INT(ch.allowed, 1);
	CHECK(certpin_pin_equal(&ch.old_pin, &pin_leaf) && certpin_pin_equal(&ch.new_pin, &pin_backup));
	certpin_tofu_close(t);
	certpin_tofu_close(ro);
}

int main(void)
{
	char cmd[512];

	if (load_pin(&pin_leaf, "leaf") != CERTPIN_OK || load_pin(&pin_backup, "backup") != CERTPIN_OK ||
	    load_pin(&pin_root, "root") != CERTPIN_OK) {
		fprintf(stderr, "tofu_live_test: cannot read pins.txt\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/certpin-tofu-int-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_first_use_match_change();
	test_pkix_and_hostname();
	test_composition();
	test_app_callback_cannot_skip_tofu();
	test_verify_none_after_attach();
	test_on_change();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "tofu_live_test: could not remove %s\n", dir);
	return test_finish("tofu_live_test");
}
