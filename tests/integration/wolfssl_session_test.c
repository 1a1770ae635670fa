/*
 * wolfssl_session_test - the wolfSSL adapter (certpin/wolfssl.h) over
 * several handshakes and configurations: resumption (TLS 1.3 and 1.2),
 * policy swaps reaching connections made before them, a TOFU store alone
 * and after a policy, pin-only trust and the failure callback.  Client and
 * server are wolfSSL over memory (tests/support/wolfssl_pair.h).  Exits 77
 * (skipped) in a build without the adapter.
 */
#include <stdio.h>

#ifndef CERTPIN_TEST_HAVE_WOLFSSL
int main(void)
{
	puts("wolfssl_session_test: skipped (built without libcertpin-wolfssl)");
	return 77;
}
#else

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include "certpin.h"
#include "certpin/tofu.h"
#include "certpin/wolfssl.h"
#include "test.h"
#include "wolfssl_pair.h"

#include <unistd.h>

/* ---- cases ------------------------------------------------------------------------------- */

/* Sessions resume only for the host and the attachment whose checked handshake made them. */
static void test_resumption(int tls13)
{
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_LEAF), *same = wt_pinning("leaf", CERTPIN_POS_LEAF);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", tls13);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(c);
	CHECK(sess != NULL);
	wt_done(c);

	/* the same host: resumed, and no check ran */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(wolfSSL_set_session(c, sess), WOLFSSL_SUCCESS);
	CHECK_INT(wt_handshake(c, sctx), 1);
	CHECK_INT(wolfSSL_session_reused(c), 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE);
	wt_done(c);

	/* another host on the same server: refused by wolfSSL_set_session() */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, OTHER), CERTPIN_OK);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	CHECK_INT(wolfSSL_session_reused(c), 0);
	if (tls13) { /* TLS 1.2: wolfSSL 5.5 fails the handshake after a refused session (see wolfssl.h) */
		CHECK_INT(wt_handshake(c, sctx), 1);
		CHECK_INT(wolfSSL_session_reused(c), 0);
		CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK); /* a full handshake, checked: OTHER is not pinned */
		CHECK_INT(r.verdict, CERTPIN_VERDICT_NOT_PINNED);
	}
	wt_done(c);

	/* no name, or the name set after the session: refused */
	c = wolfSSL_new(cctx);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	wt_done(c);

	/* after a swap (even to an equal policy) sessions of the old attachment are refused */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, same, NULL, NULL), CERTPIN_OK);
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	if (tls13) {
		CHECK_INT(wt_handshake(c, sctx), 1);
		CHECK_INT(wolfSSL_session_reused(c), 0);
		CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
		CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	}
	wt_done(c);
	wolfSSL_SESSION_free(sess);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(same);
}

/* Attaching again swaps the policy for the handshakes that start after it, connections made earlier included. */
static void test_swap(void)
{
	certpin_policy *wrong = wt_pinning("selfsigned-other", CERTPIN_POS_ANY), *right = wt_pinning("root", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	certpin_result r;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, wrong, NULL, NULL), CERTPIN_OK);
	WOLFSSL *early = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(early, HOST), CERTPIN_OK);
	int ok;
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, right, NULL, NULL), CERTPIN_OK);
	certpin_policy_free(wrong); /* the old policy may go: the context dropped it */
	CHECK_INT(wt_handshake(early, sctx), 1);
	CHECK_INT(certpin_wolfssl_result(&r, early), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	wt_done(early);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(right);
}

/* A TOFU store through the same attachment: first use, match, change; with a policy, after it. */
static void test_tofu(void)
{
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	certpin_tofu_result t;
	certpin_result r;
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	WOLFSSL_CTX *backup = wt_server("backup-chain.pem", "backup.key", 1);
	int ok;

	snprintf(path, sizeof(path), "%s/known_pins", test_tmpdir());
	unlink(path);
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, NULL, store, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_OK);
	CHECK_INT(t.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE); /* no policy */
	wt_done(c);
	c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_OK);
	CHECK_INT(t.verdict, CERTPIN_TOFU_MATCH);
	wt_done(c);
	c = wt_connect_to(cctx, backup, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(t.verdict, CERTPIN_TOFU_CHANGED);
	wt_done(c);
	/* a name is needed for every host */
	c = wt_connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_HOSTNAME);
	wt_done(c);
	/* with a policy that allows the backup key, the store still refuses the change */
	certpin_policy *p = wt_pinning("backup", CERTPIN_POS_LEAF);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, store, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, backup, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	wt_done(c);
	certpin_policy_free(p);
	certpin_tofu_close(store);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	wolfSSL_CTX_free(backup);
}

/* Pin-only trust: the peer's leaf alone, no PKIX, nothing the peer sends trusted or kept. */
static void test_pin_only(void)
{
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_LEAF), *rp = wt_pinning("root", CERTPIN_POS_ANY);
	static const char *const report[] = { "selfsigned-other" };
	certpin_policy *ro = wt_policy_of(HOST, report, 1, CERTPIN_POS_ANY, CERTPIN_MODE_REPORT_ONLY);
	WOLFSSL_CTX *cctx = wt_client(NULL), *self = wt_server("selfsigned.pem", "leaf.key", 1);
	WOLFSSL_CTX *other = wt_server("selfsigned-other.pem", "selfsigned-other.key", 1);
	WOLFSSL_CTX *inject = wt_server("selfsigned-inject-chain.pem", "selfsigned-other.key", 1);
	WOLFSSL_CTX *chain = wt_server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &po), CERTPIN_OK);
	CHECK_INT(wolfSSL_CTX_get_verify_mode(cctx), WOLFSSL_VERIFY_NONE);
	WOLFSSL *c = wt_connect_to(cctx, self, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 0);
	wt_done(c);
	/* a chain the client cannot verify, the pinned key at its leaf: accepted, and no CA of it kept */
	c = wt_connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 1);
	wt_done(c);
	WOLF_STACK_OF(WOLFSSL_X509) *cas = wolfSSL_CertManagerGetCerts(wolfSSL_CTX_GetCertManager(cctx));
	CHECK_INT(cas ? wolfSSL_sk_X509_num(cas) : 0, 0);
	wolfSSL_sk_X509_pop_free(cas, NULL);
	/* another key, or the pinned certificate behind another leaf: refused */
	c = wt_connect_to(cctx, other, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	wt_done(c);
	c = wt_connect_to(cctx, inject, HOST, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	/* a host the policy does not pin, or no name at all: refused */
	c = wt_connect_to(cctx, self, OTHER, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	c = wt_connect_to(cctx, self, NULL, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	/* only leaf and any pins count, and report-only refuses */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, rp, NULL, &po), CERTPIN_OK);
	c = wt_connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ro, NULL, &po), CERTPIN_OK);
	c = wt_connect_to(cctx, self, HOST, &ok);
	CHECK_INT(ok, 0);
	wt_done(c);
	/* pin-only is the context's for good; no store with it */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	WOLFSSL_CTX *pkix = wt_client("trust.pem");
	CHECK_INT(certpin_wolfssl_ctx_attach(pkix, p, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(pkix, p, NULL, &po), CERTPIN_E_INVALID_ARG);
	wt_ctx_done(pkix);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(self);
	wolfSSL_CTX_free(other);
	wolfSSL_CTX_free(inject);
	wolfSSL_CTX_free(chain);
	certpin_policy_free(p);
	certpin_policy_free(rp);
	certpin_policy_free(ro);
}

static int failures;
static certpin_result failure_seen;
static size_t failure_n;

static void on_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)chain;
	*(int *)payload += 1;
	failure_seen = *r;
	failure_n = n;
}

/* The options' failure callback: on mismatches (enforced or report-only) with the whole chain, not on matches. */
static void test_on_failure(void)
{
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	static const char *const pins[] = { "selfsigned-other" };
	certpin_policy *ro = wt_policy_of(HOST, pins, 1, CERTPIN_POS_ANY, CERTPIN_MODE_REPORT_ONLY);
	certpin_policy *good = wt_pinning("leaf", CERTPIN_POS_LEAF);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	int ok;

	o.on_failure = on_failure;
	o.payload = &failures;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ro, NULL, &o), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_seen.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(failure_n, 3);
	wt_done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, good, NULL, &o), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(failures, 1);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(ro);
	certpin_policy_free(good);
}

int main(void)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return 2;
	test_resumption(1);
	test_resumption(0);
	test_swap();
	test_tofu();
	test_pin_only();
	test_on_failure();
	wolfSSL_Cleanup();
	return test_finish("wolfssl_session_test");
}

#endif
