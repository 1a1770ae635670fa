/*
 * wolfssl_test - the wolfSSL adapter (certpin/wolfssl.h) beyond the attack
 * catalog: results after a refusal, the chain it hands over in the cases
 * where wolfSSL's CA table and the peer's list part ways, names,
 * application callbacks, a stale record and wrong arguments
 * (wolfssl_session_test: resumption, swaps, TOFU, pin-only trust, the
 * failure callback).  Client and server are wolfSSL over memory
 * (tests/support/wolfssl_pair.h).  Exits 77 (skipped) in a build without
 * the adapter.
 */
#include <stdio.h>

#ifndef CERTPIN_TEST_HAVE_WOLFSSL
int main(void)
{
	puts("wolfssl_test: skipped (built without libcertpin-wolfssl)");
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

/* A refused handshake fails as a wolfSSL verify failure, and its result stays readable. */
static void test_refusal(void)
{
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	certpin_policy *good = wt_pinning("leaf", CERTPIN_POS_LEAF), *bad = wt_pinning("selfsigned-other", CERTPIN_POS_ANY);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, good, NULL, NULL), CERTPIN_OK);
	certpin_policy_free(good); /* the context holds its own reference */
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(r.depth, 0);
	CHECK_STR(r.hostname, HOST);
	CHECK_INT(wolfSSL_get_verify_result(c), X509_V_OK);
	wt_done(c);

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, bad, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(wt_last_error, VERIFY_CERT_ERROR);
	CHECK_INT(wolfSSL_get_verify_result(c), X509_V_OK); /* wolfSSL 5.5 has no call that would change it */
	memset(&r, 0, sizeof(r));
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(r.allowed, 0);
	CHECK_STR(r.hostname, HOST);
	CHECK_INT(certpin_wolfssl_tofu_result(NULL, c), CERTPIN_E_STATE); /* no store */
	wt_done(c);
	certpin_policy_free(bad);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
}

/* wolfSSL's own refusal keeps its error; certpin reports PKIX. */
static void test_pkix_error_kept(void)
{
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("wronghost-chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(wt_last_error, DOMAIN_NAME_MISMATCH);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	CHECK_INT(r.pkix_error, DOMAIN_NAME_MISMATCH);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

/* Depths on the path through wolfSSL's CA table, whatever the peer's list holds. */
static void test_chain_positions(void)
{
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	static const char *const alt[] = { "leaf.pem", "inter.pem", "rogue-root.pem" };
	certpin_policy *root = wt_pinning("root", CERTPIN_POS_ROOT), *inter = wt_pinning("inter", CERTPIN_POS_INTERMEDIATE);
	certpin_result r;
	int connected;

	/* leaf + intermediate sent, root trusted */
	CHECK_INT(wt_check_once("chain.pem", "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	CHECK_INT(wt_check_once("chain.pem", "leaf.key", "trust.pem", inter, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	/* the root sent too: the same chain of 3 */
	const char *sent_all = wt_concat("full-chain.pem", full, 3);
	CHECK_INT(wt_check_once(sent_all, "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	/* a CA sent beside the path, its issuer unknown: wolfSSL takes an alternate chain, the path is the same */
	const char *sent_alt = wt_concat("alt-chain.pem", alt, 3);
	CHECK_INT(wt_check_once(sent_alt, "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	CHECK_INT(connected, 1);
	static const char *const rogue_pins[] = { "rogue-root" };
	certpin_policy *rogue = wt_policy_of(HOST, rogue_pins, 1, CERTPIN_POS_ANY, CERTPIN_MODE_ENFORCE);
	CHECK_INT(wt_check_once(sent_alt, "leaf.key", "trust.pem", rogue, &r, &connected), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(connected, 0);
	certpin_policy_free(rogue);
	certpin_policy_free(root);
	certpin_policy_free(inter);
}

/*
 * The chain ends at the first CA whose own signature this handshake did not
 * check: an intermediate the client trusts itself, or one that wolfSSL's
 * table kept from an earlier handshake, is where the path ends, not the
 * root above it.
 */
static void test_chain_ends_at_trust(void)
{
	static const char *const both[] = { "inter.pem", "root.pem", NULL };
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	certpin_policy *root = wt_pinning("root", CERTPIN_POS_ANY), *inter_root = wt_pinning("inter", CERTPIN_POS_ROOT);
	WOLFSSL_CTX *cctx = wt_client_with(both), *leaf_only = wt_server("leaf.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	/* intermediate and root trusted, the leaf alone sent: the intermediate is the anchor */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, inter_root, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	wt_done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 0); /* the root's signature on the intermediate was not checked in this handshake */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	wt_done(c);
	/* ... but it is when the peer sends the intermediate (and the root) */
	WOLFSSL_CTX *sent = wt_server(wt_concat("full-chain.pem", full, 3), "leaf.key", 1);
	c = wt_connect_to(cctx, sent, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	wt_done(c);
	wt_ctx_done(cctx);

	/* only the root trusted: the first handshake caches the intermediate, the next sends none */
	cctx = wt_client("trust.pem");
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	WOLFSSL_CTX *chain = wt_server("chain.pem", "leaf.key", 1);
	c = wt_connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 1);
	wt_done(c);
	c = wt_connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(chain);
	wolfSSL_CTX_free(sent);
	wolfSSL_CTX_free(leaf_only);
	certpin_policy_free(root);
	certpin_policy_free(inter_root);
}

/*
 * A trusted intermediate sent with a root the client lacks: wolfSSL cannot
 * check the intermediate (alternate chain), reports it without error all
 * the same, and the path ends at the table's intermediate.
 */
static void test_alt_chain_unchecked(void)
{
	static const char *const inter_only[] = { "inter.pem", NULL };
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	certpin_policy *p = wt_pinning("inter", CERTPIN_POS_ROOT), *root = wt_pinning("root", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = wt_client_with(inter_only), *sctx = wt_server(wt_concat("full-chain.pem", full, 3), "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(wolfSSL_is_peer_alt_cert_chain(c), 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	wt_done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0); /* the root the peer sent is no part of what wolfSSL verified */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(root);
}

/* Names: none, an IP literal, a bad one, twice, before attaching. */
static void test_names(void)
{
	static const char *const ip_pins[] = { "leaf" };
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_LEAF), *empty = NULL;
	certpin_policy *ip = wt_policy_of("127.0.0.1", ip_pins, 1, CERTPIN_POS_LEAF, CERTPIN_MODE_ENFORCE);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_policy_new(&empty), CERTPIN_OK);
	WOLFSSL *c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_E_STATE); /* not attached */
	wolfSSL_free(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_HOSTNAME);
	wt_done(c);
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, "bad name"), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST "."), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_E_STATE);
	CHECK_INT(wt_handshake(c, sctx), 1); /* the trailing dot is dropped for wolfSSL too */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_STR(r.hostname, HOST);
	wt_done(c);
	/* an IP literal: wolfSSL checks the certificate's IP address, certpin the IP's rule */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ip, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, "127.0.0.1", &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	wt_done(c);
	/* another IP: wolfSSL 5.5 reports the mismatch with preverify_ok 1; refused all the same */
	c = wt_connect_to(cctx, sctx, "127.0.0.2", &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(wt_last_error, IPADDR_MISMATCH);
	wt_done(c);
	/* nothing pinned: a connection without a name keeps wolfSSL's verdict */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, empty, NULL, NULL), CERTPIN_OK);
	c = wt_connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 1);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(ip);
	certpin_policy_free(empty);
}

static int app_calls;

static int accept_all(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	(void)preverify;
	(void)store;
	app_calls++;
	return 1;
}

static int refuse_above_leaf(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	return wolfSSL_X509_STORE_CTX_get_error_depth(store) > 0 ? 0 : preverify;
}

/*
 * The application's verify callback still runs; an error it accepts, or
 * verification turned off, refuses a pinned host (CERTPIN_E_PKIX) and leaves
 * unpinned ones to the application.
 */
static void test_app_callback(void)
{
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *expired = wt_server("expired-chain.pem", "leaf.key", 1);
	WOLFSSL_CTX *sctx = wt_server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_PEER, accept_all);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, expired, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK(app_calls > 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	CHECK(r.pkix_error != 0);
	wt_done(c);
	c = wt_connect_to(cctx, expired, OTHER, &ok); /* not pinned: the callback's choice stands */
	CHECK_INT(ok, 1);
	wt_done(c);
	/* verification turned off on one connection, after certpin_wolfssl_set_host(): a pinned host is refused */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_NONE, wolfSSL_get_verify_callback(c));
	CHECK_INT(wt_handshake(c, sctx), 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	wt_done(c);
	/* a per-connection callback set before certpin_wolfssl_set_host() is wrapped, not lost */
	app_calls = 0;
	c = wolfSSL_new(cctx);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_PEER, accept_all);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(wt_handshake(c, expired), 0);
	CHECK(app_calls > 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	wt_done(c);
	/* the application refuses a CA: wolfSSL stops before the leaf, the result is there all the same */
	c = wolfSSL_new(cctx);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_PEER, refuse_above_leaf);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(wt_handshake(c, sctx), 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	wt_done(c);
	/* detaching puts the application's callback back; a connection made before is refused */
	WOLFSSL *before = wolfSSL_new(cctx);
	certpin_wolfssl_ctx_detach(cctx);
	CHECK(wolfSSL_CTX_get_verify_callback(cctx) == accept_all);
	CHECK_INT(wt_handshake(before, sctx), 0);
	wt_done(before);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(expired);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

/* A later handshake on the same WOLFSSL that stops before the check reports no result, not the earlier one's. */
static void test_stale_record(void)
{
	certpin_policy *p = wt_pinning("selfsigned-other", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = wt_client("trust.pem"), *sctx = wt_server("chain.pem", "leaf.key", 1);
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(NULL, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(wolfSSL_clear(c), WOLFSSL_SUCCESS);
	wt_rewire(c);
	CHECK(wolfSSL_connect(c) != WOLFSSL_SUCCESS); /* the ClientHello goes out, no server answers */
	CHECK_INT(certpin_wolfssl_result(NULL, c), CERTPIN_E_STATE);
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

static void test_arguments(void)
{
	certpin_ssl_options bad = CERTPIN_SSL_OPTIONS_INIT, po = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = wt_pinning("leaf", CERTPIN_POS_LEAF);
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	char path[4096];
	WOLFSSL_CTX *cctx = wt_client("trust.pem");
	certpin_result r;

	snprintf(path, sizeof(path), "%s/known_pins-args", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(NULL, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	bad.version = 99;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	bad = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	bad.flags = 0x100;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, store, &po), CERTPIN_E_INVALID_ARG);
	CHECK(wolfSSL_CTX_get_verify_callback(cctx) == NULL); /* nothing attached by the failures */
	CHECK_INT(certpin_wolfssl_set_host(NULL, HOST), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_result(&r, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_tofu_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE); /* no handshake yet */
	wt_done(c);
	certpin_wolfssl_release(NULL);
	certpin_wolfssl_ctx_detach(NULL);
	certpin_tofu_close(store);
	wt_ctx_done(cctx);
	certpin_policy_free(p);
}

int main(void)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return 2;
	test_refusal();
	test_pkix_error_kept();
	test_chain_positions();
	test_chain_ends_at_trust();
	test_alt_chain_unchecked();
	test_names();
	test_app_callback();
	test_stale_record();
	test_arguments();
	wolfSSL_Cleanup();
	return test_finish("wolfssl_test");
}

#endif
