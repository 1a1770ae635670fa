/*
 * wolfssl_pair - a wolfSSL client and server in one thread over memory
 * buffers (wolfSSL_SSLSetIORecv/Send), for the wolfSSL adapter's tests
 * (tests/integration/wolfssl_test.c, wolfssl_session_test.c): no sockets,
 * every step bounded.  Client contexts are ordinary ones (the case's trust
 * anchors, WOLFSSL_VERIFY_PEER); servers send the test PKI's chains
 * (tests/data/mkpki.sh); reference pins come from pins.txt (the openssl
 * CLI).  wolfSSL's headers only.  A missing file or a wolfSSL setup failure
 * exits 2.
 */
#ifndef CERTPIN_TEST_WOLFSSL_PAIR_H
#define CERTPIN_TEST_WOLFSSL_PAIR_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "certpin.h"

#define HOST "api.certpin.test"
#define OTHER "localhost"       /* another name on the same certificate */

/* The pin named `name` in pins.txt. */
certpin_pin wt_pin_named(const char *name);
/* A policy with one rule for `pattern`: the pins named `pins` at `pos`, in `mode`. */
certpin_policy *wt_policy_of(const char *pattern, const char *const *pins, size_t npins, certpin_position pos,
	certpin_mode mode);
/* A policy pinning the pin named `pin` at `pos` for HOST, enforced. */
certpin_policy *wt_pinning(const char *pin, certpin_position pos);
/* A file in the test's directory holding the PKI files `parts` one after the other (a few kept at once). */
const char *wt_concat(const char *name, const char *const *parts, size_t n);

/* A server context sending `chain` (a PKI name or a path) and proving `key`; TLS 1.3 or 1.2 only. */
WOLFSSL_CTX *wt_server(const char *chain, const char *key, int tls13);
/* An ordinary client context trusting the PKI files `cas` (NULL-terminated; NULL: nothing). */
WOLFSSL_CTX *wt_client_with(const char *const *cas);
/* The same with one file `ca` (NULL: nothing). */
WOLFSSL_CTX *wt_client(const char *ca);

/* wolfSSL_get_error() of the client's failed handshake in the last wt_handshake(). */
extern int wt_last_error;
/* One handshake of `c` with a new connection of `sctx`, then a byte each way; 1 if both finished. */
int wt_handshake(WOLFSSL *c, WOLFSSL_CTX *sctx);
/* Empty the buffers and wire `c` as the client again (no server). */
void wt_rewire(WOLFSSL *c);
/* A connection of `cctx` named `host` (NULL: none), its handshake with `sctx`; the WOLFSSL (wt_done() it). */
WOLFSSL *wt_connect_to(WOLFSSL_CTX *cctx, WOLFSSL_CTX *sctx, const char *host, int *ok);
/* certpin_wolfssl_release() and wolfSSL_free(). */
void wt_done(WOLFSSL *c);
/* certpin_wolfssl_ctx_detach() and wolfSSL_CTX_free(). */
void wt_ctx_done(WOLFSSL_CTX *ctx);
/* One connection to HOST with `policy` attached to a client trusting `ca`; the result code, *res, *connected. */
int wt_check_once(const char *chain, const char *key, const char *ca, certpin_policy *policy, certpin_result *res,
	int *connected);

#endif
