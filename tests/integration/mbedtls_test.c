/*
 * mbedtls_test - the mbedTLS adapter (certpin/mbedtls.h) beyond the attack
 * catalog: how a refusal shows in mbedTLS and in the result, the guard of
 * contexts not set up, no host name, resumption, swapping the policy (also
 * under running handshakes), TOFU, pin-only trust, the failure callback,
 * the verify callback's walk (order, a chain longer than the engine reads)
 * and wrong arguments.  Clients are tests/support/stack_mbedtls.h against
 * the local OpenSSL test server; reference pins come from pins.txt.
 * Exits 77 (skipped) in a build without the adapter.
 */
#include <stdio.h>

#ifndef CERTPIN_TEST_HAVE_MBEDTLS
int main(void)
{
	puts("mbedtls_test: skipped (built without libcertpin-mbedtls)");
	return 77;
}
#else

#include "certpin.h"
#include "stack_mbedtls.h"
#include "test.h"
#include "tls/mbedtls/mbedtls_internal.h"
#include "tlsserver.h"

#include <mbedtls/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define HOST "api.certpin.test"

/* ---- material ------------------------------------------------------------------- */

static char pin_leaf[CERTPIN_PIN_STRLEN], pin_root[CERTPIN_PIN_STRLEN], pin_other[CERTPIN_PIN_STRLEN];

static void load_pin(char *out, const char *name)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	size_t nl = strlen(name);

	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
			snprintf(out, CERTPIN_PIN_STRLEN, "%s", line + nl + 1);
	free(txt);
	if (!out[0])
		exit(2);
}

/* A policy of one rule: `pattern`, `extra` JSON members, one pin at `position`. */
static certpin_policy *policy1(const char *pattern, const char *extra, const char *pin, const char *position)
{
	char doc[1024];
	certpin_policy *p = NULL;

	snprintf(doc, sizeof(doc), "{\"schema\":1,\"hosts\":[{\"host\":\"%s\"%s,\"pins\":[{\"pin\":\"%s\","
		"\"position\":\"%s\"}]}]}", pattern, extra, pin, position);
	if (certpin_policy_load_data(&p, doc, strlen(doc), "test.json", NULL, NULL) != CERTPIN_OK)
		exit(2);
	return p;
}

static certpin_policy *empty_policy(void)
{
	certpin_policy *p = NULL;

	if (certpin_policy_new(&p) != CERTPIN_OK)
		exit(2);
	return p;
}

/* A client trusting trust.pem (NULL: nothing) with `policy`/`store` attached (both NULL: nothing). */
static void client(test_mbed *m, const char *ca, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts)
{
	if (test_mbed_init(m, ca ? test_pki(ca) : NULL) != 0)
		exit(2);
	if ((policy || store) && certpin_mbedtls_conf_attach(&m->pins, &m->conf, policy, store, opts) != CERTPIN_OK)
		exit(2);
}

/* One connection through `m` to a server of `chain` and `key`. */
static void connect1(stack_result *r, test_mbed *m, const char *chain, const char *key, const char *host,
	test_mbed_conn *x)
{
	tlsserver *srv = NULL;

	if (tlsserver_start(&srv, test_pki(chain), test_pki(key), 1) != 0)
		exit(2);
	CHECK_INT(test_mbed_connect(r, m, tlsserver_port(srv), host, x), 0);
	(void)tlsserver_wait(srv, 5000);
	tlsserver_stop(srv);
}

/* ---- refusals as mbedTLS shows them -------------------------------------------- */

static void test_refusal(void)
{
	certpin_policy *p = policy1(HOST, "", pin_other, "any");
	test_mbed_conn x = { 0 };
	stack_result r;
	test_mbed m;

	client(&m, "trust.pem", p, NULL, NULL);
	/* a verified chain without the pin: mbedTLS's verification error, the reason readable afterwards */
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.handshake_ret, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	CHECK_INT(x.verify_result, MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.result.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(r.result.allowed, 0);
	CHECK_STR(r.result.hostname, HOST);
	/* mbedTLS's own failure on a pinned host: certpin refuses too, mbedTLS's flags in the result */
	connect1(&r, &m, "rogue-chain.pem", "rogue-leaf.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.handshake_ret, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	CHECK(x.verify_result & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	CHECK(x.verify_result & MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(r.rc, CERTPIN_E_PKIX);
	CHECK_INT(r.result.pkix_error, MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	/* ... and on an unpinned one mbedTLS's verdict stands alone */
	connect1(&r, &m, "wronghost-chain.pem", "leaf.key", "other.certpin.test", &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.handshake_ret, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	CHECK_INT(x.verify_result, MBEDTLS_X509_BADCERT_CN_MISMATCH);
	CHECK_INT(r.result.verdict, CERTPIN_VERDICT_NOT_PINNED);
	/* an unpinned host that verifies: allowed, nothing checked */
	connect1(&r, &m, "chain.pem", "leaf.key", "localhost", &x);
	CHECK_INT(r.connected, 1);
	CHECK_INT(r.rc, CERTPIN_OK);
	CHECK_INT(x.verify_result, 0);
	CHECK_INT(r.result.verdict, CERTPIN_VERDICT_NOT_PINNED);
	test_mbed_free(&m);
	certpin_policy_free(p);
}

/* No name known to certpin: refused when anything is pinned; a context never set up meets the guard. */
static void test_no_name(void)
{
	certpin_policy *p = policy1(HOST, "", pin_leaf, "leaf"), *e = empty_policy();
	test_mbed_conn x = { 0 }, raw = { TEST_MBED_NO_SETUP, NULL, NULL, 0, 0, 0 };
	stack_result r;
	test_mbed m;

	client(&m, "trust.pem", p, NULL, NULL);
	connect1(&r, &m, "chain.pem", "leaf.key", NULL, &x);
	CHECK_INT(x.setup_rc, CERTPIN_OK);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.rc, CERTPIN_E_HOSTNAME);
	CHECK_INT(x.verify_result & MBEDTLS_X509_BADCERT_OTHER, MBEDTLS_X509_BADCERT_OTHER);
	/* set up without certpin, mbedtls_ssl_set_hostname() alone: the configuration's guard refuses */
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, &raw);
	CHECK_INT(r.connected, 0);
	CHECK_INT(raw.handshake_ret, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	CHECK_INT(raw.verify_result, MBEDTLS_X509_BADCERT_OTHER);
	test_mbed_free(&m);
	/* with nothing pinned, both go as mbedTLS decides */
	client(&m, "trust.pem", e, NULL, NULL);
	connect1(&r, &m, "chain.pem", "leaf.key", NULL, &x);
	CHECK_INT(r.connected, 1);
	CHECK_INT(r.rc, CERTPIN_OK);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, &raw);
	CHECK_INT(r.connected, 1);
	test_mbed_free(&m);
	certpin_policy_free(p);
	certpin_policy_free(e);
}

/* ---- resumption ---------------------------------------------------------------------- */

/* Connections to one server that issues tickets; each resumes `resume` (may be NULL), keeps its session in *save. */
static void connect_resuming(stack_result *r, test_mbed *m, tlsserver *srv, const char *host,
	const certpin_mbedtls_session *resume, certpin_mbedtls_session **save)
{
	test_mbed_conn x = { 0, resume, save, 0, 0, 0 };

	CHECK_INT(test_mbed_connect(r, m, tlsserver_port(srv), host, &x), 0);
	CHECK_INT(r->connected, 1);
}

static void test_resumption(void)
{
	certpin_policy *p = policy1("**.certpin.test", "", pin_root, "root");
	certpin_policy *q = policy1("**.certpin.test", "", pin_root, "root"); /* equal, but another policy */
	certpin_mbedtls_session *s1 = NULL, *s2 = NULL, *s3 = NULL, *plain = NULL;
	tlsserver *srv = NULL;
	stack_result r;
	test_mbed m, u;

	tlsserver_allow_resumption(1);
	if (tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 0) != 0)
		exit(2);
	tlsserver_allow_resumption(0);
	client(&m, "trust.pem", p, NULL, NULL);
	connect_resuming(&r, &m, srv, HOST, NULL, &s1);
	CHECK_INT(r.rc, CERTPIN_OK);            /* a full handshake, checked */
	CHECK_INT(r.result.verdict, CERTPIN_VERDICT_MATCH);
	/* the session of that handshake resumes for the same host under the same policy: no check runs */
	connect_resuming(&r, &m, srv, HOST, s1, &s2);
	CHECK_INT(r.rc, CERTPIN_E_STATE);
	/* a session kept from a resumed handshake carries what its full handshake passed */
	connect_resuming(&r, &m, srv, "API.certpin.test.", s2, NULL);
	CHECK_INT(r.rc, CERTPIN_E_STATE);
	/* not for another host the policy pins: a full, checked handshake */
	connect_resuming(&r, &m, srv, "a.wild.certpin.test", s1, NULL);
	CHECK_INT(r.rc, CERTPIN_OK);
	CHECK_STR(r.result.hostname, "a.wild.certpin.test");
	/* a session no certpin check passed (an unpinned host's) does not resume a pinned one */
	certpin_policy *e = empty_policy();
	client(&u, "trust.pem", e, NULL, NULL);
	connect_resuming(&r, &u, srv, HOST, NULL, &plain);
	connect_resuming(&r, &m, srv, HOST, plain, NULL);
	CHECK_INT(r.rc, CERTPIN_OK);
	/* ... though it resumes where nothing is pinned */
	connect_resuming(&r, &u, srv, HOST, plain, NULL);
	CHECK_INT(r.rc, CERTPIN_E_STATE);
	/* after a swap, even to an equal policy, the old sessions are checked anew */
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, q, NULL, NULL), CERTPIN_OK);
	connect_resuming(&r, &m, srv, HOST, s1, &s3);
	CHECK_INT(r.rc, CERTPIN_OK);
	connect_resuming(&r, &m, srv, HOST, s3, NULL);
	CHECK_INT(r.rc, CERTPIN_E_STATE);
	/* a context reused for another connection: setting a session forgets the earlier handshake's result */
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt leaf;
	certpin_mbedtls_conn *pc = NULL;
	uint32_t flags = 0;
	mbedtls_ssl_init(&ssl);
	mbedtls_x509_crt_init(&leaf);
	if (mbedtls_ssl_setup(&ssl, &m.conf) != 0 || mbedtls_x509_crt_parse_file(&leaf, test_pki("leaf.pem")) != 0 ||
	    certpin_mbedtls_setup(&pc, m.pins, &ssl, HOST) != CERTPIN_OK)
		exit(2);
	(void)certpin__mbedtls_verify(pc, &leaf, 0, &flags); /* a handshake's check, as mbedTLS runs it */
	CHECK_INT(certpin_mbedtls_result(NULL, pc), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_mbedtls_set_session(pc, s3), CERTPIN_OK);
	CHECK_INT(certpin_mbedtls_result(NULL, pc), CERTPIN_E_STATE);
	mbedtls_ssl_free(&ssl);
	certpin_mbedtls_conn_free(pc);
	mbedtls_x509_crt_free(&leaf);
	certpin_mbedtls_session_free(s1);
	certpin_mbedtls_session_free(s2);
	certpin_mbedtls_session_free(s3);
	certpin_mbedtls_session_free(plain);
	test_mbed_free(&u);
	test_mbed_free(&m);
	tlsserver_stop(srv);
	certpin_policy_free(e);
	certpin_policy_free(p);
	certpin_policy_free(q);
}

/* ---- swapping ----------------------------------------------------------------------------- */

typedef struct swapper {
	test_mbed *m;
	certpin_policy *a, *b;
	atomic_int stop;
	long swaps;
} swapper;

/* Swap between two policies every 20 us or so until told to stop (at most a million times). */
static void *swap_loop(void *arg)
{
	swapper *s = arg;
	struct timespec pause = { 0, 20000 };

	for (long i = 0; i < 1000000 && !atomic_load(&s->stop); i++, s->swaps++) {
		if (certpin_mbedtls_conf_attach(&s->m->pins, &s->m->conf, i % 2 ? s->a : s->b, NULL, NULL) != CERTPIN_OK)
			break;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void test_swap(void)
{
	certpin_policy *leaf = policy1(HOST, "", pin_leaf, "leaf"), *root = policy1(HOST, "", pin_root, "root");
	certpin_policy *other = policy1(HOST, "", pin_other, "any");
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	stack_result r;
	test_mbed m, m2;

	client(&m, "trust.pem", leaf, NULL, NULL);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.rc, CERTPIN_OK);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, other, NULL, NULL), CERTPIN_OK);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	/* attaching again must name the same configuration and keep the trust mode; nothing changes otherwise */
	if (test_mbed_init(&m2, NULL) != 0)
		exit(2);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m2.conf, leaf, NULL, NULL), CERTPIN_E_INVALID_ARG);
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, leaf, NULL, &po), CERTPIN_E_INVALID_ARG);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	test_mbed_free(&m2);

	/* swaps while handshakes run: each handshake sees one whole policy, both of which accept */
	swapper s = { &m, leaf, root, 0, 0 };
	pthread_t t;
	tlsserver *srv = NULL;
	int depth0 = 0, depth2 = 0;
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, leaf, NULL, NULL), CERTPIN_OK);
	if (tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 0) != 0 ||
	    pthread_create(&t, NULL, swap_loop, &s) != 0)
		exit(2);
	for (int i = 0; i < 24; i++) {
		CHECK_INT(test_mbed_connect(&r, &m, tlsserver_port(srv), HOST, NULL), 0);
		CHECK_INT(r.rc, CERTPIN_OK);
		CHECK_INT(r.connected, 1);
		depth0 += r.result.depth == 0;
		depth2 += r.result.depth == 2;
	}
	atomic_store(&s.stop, 1);
	pthread_join(t, NULL);
	tlsserver_stop(srv);
	CHECK_INT(depth0 + depth2, 24);
	CHECK(s.swaps > 24 && s.swaps < 1000000); /* swapping all along */
	printf("mbedtls_test: %ld swaps during 24 handshakes (leaf pin %d, root pin %d)\n", s.swaps, depth0, depth2);
	test_mbed_free(&m);
	certpin_policy_free(leaf);
	certpin_policy_free(root);
	certpin_policy_free(other);
}

/* ---- TOFU ---------------------------------------------------------------------------------- */

static int changes;

static void on_change(const certpin_tofu_result *r, void *payload)
{
	(void)r;
	(void)payload;
	changes++;
}

static certpin_tofu *store_open(const char *name, certpin_mode mode)
{
	char path[4096];
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL;

	o.mode = mode;
	o.on_change = on_change;
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	unlink(path);
	if (certpin_tofu_open(&t, path, &o) != CERTPIN_OK)
		exit(2);
	return t;
}

static size_t store_count(certpin_tofu *t)
{
	certpin_tofu_entry *e = NULL;
	size_t n = 0;

	CHECK_INT(certpin_tofu_list(&e, &n, t, NULL), CERTPIN_OK);
	free(e);
	return n;
}

static void test_tofu(void)
{
	certpin_policy *p = policy1(HOST, "", pin_leaf, "leaf");
	certpin_tofu *t = store_open("known_pins", CERTPIN_MODE_ENFORCE);
	stack_result r;
	test_mbed m;

	/* the policy and the store on one attachment: both check, the store records */
	client(&m, "trust-with-rogue.pem", p, t, NULL);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.rc, CERTPIN_OK);
	CHECK_INT(r.tofu_rc, CERTPIN_OK);
	CHECK_INT(r.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	/* a chain the policy refuses is no first use: the store is not asked, and records nothing */
	connect1(&r, &m, "rogue-chain.pem", "rogue-leaf.key", "localhost", NULL);
	CHECK_INT(r.connected, 1);      /* unpinned, first use */
	connect1(&r, &m, "rogue-chain.pem", "rogue-leaf.key", HOST, NULL);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.tofu_rc, CERTPIN_E_STATE);
	CHECK_INT(store_count(t), 2);
	/* a chain mbedTLS refused: no TOFU check */
	connect1(&r, &m, "expired-chain.pem", "leaf.key", "a.wild.certpin.test", NULL);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.tofu_rc, CERTPIN_E_STATE);
	CHECK_INT(r.rc, CERTPIN_E_PKIX);
	CHECK_INT(store_count(t), 2);
	test_mbed_free(&m);
	certpin_tofu_close(t);

	/* report-only: a changed key is allowed and reported */
	t = store_open("known_pins_ro", CERTPIN_MODE_REPORT_ONLY);
	client(&m, "trust-with-rogue.pem", NULL, t, NULL);
	certpin_tofu_close(t);          /* the attachment holds its own reference */
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(r.rc, CERTPIN_E_STATE); /* no policy: no policy result */
	changes = 0;
	connect1(&r, &m, "rogue-chain.pem", "rogue-leaf.key", HOST, NULL);
	CHECK_INT(r.connected, 1);
	CHECK_INT(r.tofu_rc, CERTPIN_OK);
	CHECK_INT(r.tofu.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(r.tofu.allowed, 1);
	CHECK_INT(changes, 1);
	/* a store checks every host: with no name, refused */
	connect1(&r, &m, "chain.pem", "leaf.key", NULL, NULL);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.tofu_rc, CERTPIN_E_HOSTNAME);
	test_mbed_free(&m);
	certpin_policy_free(p);
}

static int failures;
static size_t failure_n;
static certpin_result failure_seen;
static void on_failure(const certpin_result *res, const certpin_chain_elem *chain, size_t n, void *payload);

/* ---- pin-only trust ------------------------------------------------------------------------- */

static void test_pin_only(void)
{
	certpin_policy *leaf = policy1(HOST, "", pin_leaf, "leaf");
	certpin_policy *dev = policy1("device.certpin.test", "", pin_leaf, "any");
	certpin_policy *root = policy1(HOST, "", pin_root, "root");
	certpin_policy *ro = policy1(HOST, ",\"mode\":\"report-only\"", pin_other, "leaf");
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	test_mbed_conn x = { 0 };
	stack_result r;
	test_mbed m;
	int one = 1;

	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	po.on_failure = on_failure;
	po.payload = &one;
	/* a self-signed device, no trust anchor at all: its pinned key is the authentication */
	client(&m, NULL, leaf, NULL, &po);
	connect1(&r, &m, "selfsigned.pem", "leaf.key", HOST, &x);
	CHECK_INT(r.connected, 1);
	CHECK_INT(r.rc, CERTPIN_OK);
	CHECK_INT(r.result.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(r.result.depth, 0);
	CHECK(x.verify_result & MBEDTLS_X509_BADCERT_NOT_TRUSTED); /* mbedTLS's finding, which was no verdict */
	/* dates are not checked either */
	connect1(&r, &m, "expired-chain.pem", "leaf.key", HOST, &x);
	CHECK_INT(r.connected, 1);
	/* another key: refused, with an error as OPTIONAL mode would go on */
	connect1(&r, &m, "selfsigned-other.pem", "selfsigned-other.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.handshake_ret, MBEDTLS_ERR_X509_FATAL_ERROR);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	/* the pinned certificate appended behind another leaf proves nothing */
	connect1(&r, &m, "selfsigned-inject-chain.pem", "selfsigned-other.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	/* unpinned hosts are refused: nothing vouches for them */
	connect1(&r, &m, "selfsigned.pem", "leaf.key", "unpinned.certpin.test", &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.handshake_ret, MBEDTLS_ERR_X509_FATAL_ERROR);
	/* so is a context not set up */
	test_mbed_conn raw = { TEST_MBED_NO_SETUP, NULL, NULL, 0, 0, 0 };
	connect1(&r, &m, "selfsigned.pem", "leaf.key", HOST, &raw);
	CHECK_INT(r.connected, 0);
	CHECK_INT(raw.handshake_ret, MBEDTLS_ERR_X509_FATAL_ERROR);
	test_mbed_free(&m);
	/* the host name is not checked: the name is the policy's key only */
	client(&m, NULL, dev, NULL, &po);
	connect1(&r, &m, "selfsigned.pem", "leaf.key", "device.certpin.test", &x);
	CHECK_INT(r.connected, 1);
	test_mbed_free(&m);
	/* a pin above the leaf is not trusted without PKIX, even if the peer sends that certificate */
	client(&m, "trust.pem", root, NULL, &po);
	failures = 0;
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	CHECK_INT(r.rc, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_n, 1);        /* the engine was handed the leaf alone */
	test_mbed_free(&m);
	/* report-only refuses a mismatch here */
	client(&m, NULL, ro, NULL, &po);
	connect1(&r, &m, "selfsigned.pem", "leaf.key", HOST, &x);
	CHECK_INT(r.connected, 0);
	test_mbed_free(&m);
	/* no pin-only TOFU */
	certpin_tofu *t = store_open("known_pins_po", CERTPIN_MODE_ENFORCE);
	if (test_mbed_init(&m, NULL) != 0)
		exit(2);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, leaf, t, &po), CERTPIN_E_INVALID_ARG);
	CHECK(m.pins == NULL);
	test_mbed_free(&m);
	certpin_tofu_close(t);
	certpin_policy_free(leaf);
	certpin_policy_free(dev);
	certpin_policy_free(root);
	certpin_policy_free(ro);
}

/* ---- the failure callback ----------------------------------------------------------------------- */

static int failures;
static size_t failure_n;
static certpin_result failure_seen;

static void on_failure(const certpin_result *res, const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)chain;
	failures += *(int *)payload;
	failure_n = n;
	failure_seen = *res;
}

static void test_on_failure(void)
{
	certpin_policy *p = policy1(HOST, "", pin_other, "any");
	certpin_policy *ro = policy1(HOST, ",\"mode\":\"report-only\"", pin_other, "any");
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	int one = 1;
	stack_result r;
	test_mbed m;

	o.on_failure = on_failure;
	o.payload = &one;
	failures = 0;
	client(&m, "trust.pem", p, NULL, &o);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_n, 3);        /* the verified chain: leaf, intermediate, trust anchor */
	CHECK_INT(failure_seen.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(failure_seen.allowed, 0);
	connect1(&r, &m, "chain.pem", "leaf.key", "localhost", NULL); /* not pinned: not called */
	CHECK_INT(failures, 1);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, ro, NULL, &o), CERTPIN_OK);
	connect1(&r, &m, "chain.pem", "leaf.key", HOST, NULL);
	CHECK_INT(r.connected, 1);
	CHECK_INT(failures, 2);
	CHECK_INT(failure_seen.allowed, 1);
	test_mbed_free(&m);
	certpin_policy_free(p);
	certpin_policy_free(ro);
}

/* ---- the verify callback's walk, driven as mbedTLS drives it ---------------------------------------- */

typedef struct walk_env {
	test_mbed m;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt chain;         /* leaf, intermediate, root */
	const mbedtls_x509_crt *at[3];
	certpin_mbedtls_conn *pc;
} walk_env;

static void walk_open(walk_env *w, certpin_policy *p, const certpin_ssl_options *o)
{
	client(&w->m, "trust.pem", p, NULL, o);
	mbedtls_ssl_init(&w->ssl);
	mbedtls_x509_crt_init(&w->chain);
	if (mbedtls_ssl_setup(&w->ssl, &w->m.conf) != 0 || mbedtls_x509_crt_parse_file(&w->chain, test_pki("chain.pem")) ||
	    mbedtls_x509_crt_parse_file(&w->chain, test_pki("root.pem")) ||
	    certpin_mbedtls_setup(&w->pc, w->m.pins, &w->ssl, HOST) != CERTPIN_OK)
		exit(2);
	w->at[0] = &w->chain;
	w->at[1] = w->at[0]->next;
	w->at[2] = w->at[1]->next;
}

static void walk_close(walk_env *w)
{
	mbedtls_ssl_free(&w->ssl);
	certpin_mbedtls_conn_free(w->pc);
	mbedtls_x509_crt_free(&w->chain);
	test_mbed_free(&w->m);
}

/* Calls at depths[0..n) with element min(depth, 2) and `flags0` at the top; the flags after the last. */
static uint32_t walk(walk_env *w, const int *depths, size_t n, uint32_t flags0, int *ret)
{
	uint32_t flags = 0;

	for (size_t i = 0; i < n; i++) {
		int d = depths[i];
		flags = i == 0 ? flags0 : 0;
		*ret = certpin__mbedtls_verify(w->pc, (mbedtls_x509_crt *)w->at[d < 0 ? 0 : d > 2 ? 2 : d], d, &flags);
	}
	return flags;
}

static void test_walk(void)
{
	certpin_policy *p = policy1(HOST, "", pin_root, "any");
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	certpin_result res;
	walk_env w;
	int ret, down[CERTPIN_CHAIN_MAX + 1];

	walk_open(&w, p, NULL);
	static const int good[] = { 2, 1, 0 }, skipped[] = { 2, 0 }, leaf_first[] = { 0, 1, 2, 0 }, neg[] = { -1 };
	CHECK_INT(walk(&w, good, 3, 0, &ret), 0);
	CHECK_INT(ret, 0);
	CHECK_INT(certpin_mbedtls_result(&res, w.pc), CERTPIN_OK);
	CHECK_INT(res.depth, 2);
	/* a flag on any element: not verified */
	CHECK_INT(walk(&w, good, 3, MBEDTLS_X509_BADCERT_NOT_TRUSTED, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(certpin_mbedtls_result(&res, w.pc), CERTPIN_E_PKIX);
	CHECK_INT(res.pkix_error, MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	/* calls out of mbedTLS's order: the chain cannot be trusted to be the verified one */
	CHECK_INT(walk(&w, skipped, 2, 0, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(certpin_mbedtls_result(NULL, w.pc), CERTPIN_E_CHAIN);
	CHECK_INT(walk(&w, leaf_first, 4, 0, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(certpin_mbedtls_result(NULL, w.pc), CERTPIN_E_CHAIN);
	CHECK_INT(walk(&w, neg, 1, 0, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(walk(&w, good, 3, 0, &ret), 0); /* and the next walk is read again */
	/* the longest chain the engine reads, and one more */
	for (int i = 0; i <= CERTPIN_CHAIN_MAX; i++)
		down[i] = CERTPIN_CHAIN_MAX - i;
	CHECK_INT(walk(&w, down + 1, CERTPIN_CHAIN_MAX, 0, &ret), 0);
	CHECK_INT(certpin_mbedtls_result(&res, w.pc), CERTPIN_OK);
	CHECK_INT(res.depth, 2);
	CHECK_INT(walk(&w, down, CERTPIN_CHAIN_MAX + 1, 0, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(ret, 0);
	CHECK_INT(certpin_mbedtls_result(&res, w.pc), CERTPIN_E_CHAIN);
	CHECK_INT(res.allowed, 0);
	walk_close(&w);
	certpin_policy_free(p);

	/* pin-only: the depth-0 certificate alone, whatever came above it */
	p = policy1(HOST, "", pin_leaf, "any");
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	walk_open(&w, p, &po);
	CHECK_INT(walk(&w, good, 3, MBEDTLS_X509_BADCERT_NOT_TRUSTED, &ret), 0);
	CHECK_INT(certpin_mbedtls_result(&res, w.pc), CERTPIN_OK);
	CHECK_INT(res.depth, 0);
	walk_close(&w);
	certpin_policy_free(p);
	p = policy1(HOST, "", pin_root, "any");
	walk_open(&w, p, &po);
	CHECK_INT(walk(&w, good, 3, 0, &ret), MBEDTLS_X509_BADCERT_OTHER);
	CHECK_INT(ret, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	walk_close(&w);
	certpin_policy_free(p);
}

/* ---- wrong arguments ------------------------------------------------------------------------------------ */

static void test_args(void)
{
	certpin_policy *p = policy1(HOST, "", pin_leaf, "leaf");
	certpin_ssl_options bad = CERTPIN_SSL_OPTIONS_INIT;
	certpin_mbedtls *pins = NULL;
	certpin_mbedtls_conn *pc = NULL;
	certpin_mbedtls_session *s = NULL;
	mbedtls_ssl_context ssl;
	char longname[300];
	test_mbed m;
	stack_result r;

	if (test_mbed_init(&m, test_pki("trust.pem")) != 0)
		exit(2);
	CHECK_INT(certpin_mbedtls_conf_attach(NULL, &m.conf, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_conf_attach(&pins, NULL, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_conf_attach(&pins, &m.conf, NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	bad.version = 99;
	CHECK_INT(certpin_mbedtls_conf_attach(&pins, &m.conf, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	bad.version = CERTPIN_SSL_OPTIONS_VERSION;
	bad.flags = 0x100;
	CHECK_INT(certpin_mbedtls_conf_attach(&pins, &m.conf, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	CHECK(pins == NULL);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, p, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_mbedtls_conf_attach(&m.pins, &m.conf, p, NULL, &bad), CERTPIN_E_INVALID_ARG);

	mbedtls_ssl_init(&ssl);
	if (mbedtls_ssl_setup(&ssl, &m.conf) != 0)
		exit(2);
	CHECK_INT(certpin_mbedtls_setup(NULL, m.pins, &ssl, HOST), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_setup(&pc, NULL, &ssl, HOST), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_setup(&pc, m.pins, NULL, HOST), CERTPIN_E_INVALID_ARG);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT(certpin_mbedtls_setup(&pc, m.pins, &ssl, longname), CERTPIN_E_HOSTNAME);
	CHECK(pc == NULL);
	CHECK_INT(certpin_mbedtls_setup(&pc, m.pins, &ssl, HOST), CERTPIN_OK);
	CHECK_INT(certpin_mbedtls_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_tofu_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_result(NULL, pc), CERTPIN_E_STATE);    /* no handshake yet */
	CHECK_INT(certpin_mbedtls_tofu_result(NULL, pc), CERTPIN_E_STATE);
	CHECK_INT(certpin_mbedtls_get_session(NULL, pc), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_get_session(&s, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_get_session(&s, pc), CERTPIN_E_TLS);   /* no session before a handshake */
	CHECK(s == NULL);
	CHECK_INT(certpin_mbedtls_set_session(pc, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_mbedtls_set_session(NULL, NULL), CERTPIN_E_INVALID_ARG);
	certpin_mbedtls_free(NULL);
	certpin_mbedtls_conn_free(NULL);
	certpin_mbedtls_session_free(NULL);
	mbedtls_ssl_free(&ssl);
	certpin_mbedtls_conn_free(pc);

	/* a setup that failed leaves the context to the configuration's guard, also one set up before */
	test_mbed_conn x = { TEST_MBED_GO_ON, NULL, NULL, 0, 0, 0 };
	connect1(&r, &m, "chain.pem", "leaf.key", longname, &x);
	CHECK_INT(x.setup_rc, CERTPIN_E_HOSTNAME);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.verify_result, MBEDTLS_X509_BADCERT_OTHER);
	x.flags |= TEST_MBED_RESETUP;
	connect1(&r, &m, "chain.pem", "leaf.key", longname, &x);
	CHECK_INT(x.setup_rc, CERTPIN_E_HOSTNAME);
	CHECK_INT(r.connected, 0);
	CHECK_INT(x.verify_result, MBEDTLS_X509_BADCERT_OTHER);
	test_mbed_free(&m);
	certpin_policy_free(p);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	load_pin(pin_leaf, "leaf");
	load_pin(pin_root, "root");
	load_pin(pin_other, "selfsigned-other");
	test_refusal();
	test_no_name();
	test_resumption();
	test_swap();
	test_tofu();
	test_pin_only();
	test_on_failure();
	test_walk();
	test_args();
	return test_finish("mbedtls_test");
}

#endif
