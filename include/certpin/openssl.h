/*
 * certpin/openssl.h - the OpenSSL adapter: check a policy, and a TOFU store,
 * on every handshake of an SSL_CTX or of one SSL.
 *
 * HOW IT CHECKS
 *
 * certpin_ssl_ctx_attach() replaces the SSL_CTX's certificate verification
 * with a function that runs OpenSSL's normal X509_verify_cert() first and
 * then checks pins on X509_STORE_CTX_get0_chain() -- the chain OpenSSL
 * verified, ending at the trust anchor it used, never the list the peer
 * sent.  The host name is the one set with SSL_set1_host() /
 * X509_VERIFY_PARAM_set1_host(), else the IP set with
 * X509_VERIFY_PARAM_set1_ip*, else the SNI name (which then also becomes
 * the verification host, so OpenSSL checks the certificate against it).
 * With several names (SSL_add1_host()) OpenSSL accepts a certificate valid
 * for any of them, so the rule of every pinned name must pass; the first
 * refusal is the result.  An IP set next to a host name is verified by
 * OpenSSL too, and its rule must pass as well.  With no name at all a
 * connection is refused whenever the policy is non-empty.  Pass
 * SSL_set1_host() the normalized name (certpin_hostname_normalize()): the
 * policy lookup ignores case and one trailing dot, OpenSSL's own name check
 * does not strip the dot.
 *
 * It also sets SSL_VERIFY_PEER (a failed verification must abort the
 * handshake); if the application later sets SSL_VERIFY_NONE, a handshake
 * that certpin refuses is still aborted (unpinned hosts keep the
 * application's choice).  A later SSL_CTX_set_cert_verify_callback()
 * replaces certpin's and so removes the pins: attach last.  An application
 * verify callback (SSL_CTX_set_verify()) still runs; if it accepts an error
 * OpenSSL reported, the chain is not verified and a pinned host is refused
 * (CERTPIN_E_PKIX) all the same; unpinned hosts keep the callback's choice.
 *
 * A handshake refused by the pins fails with
 * X509_V_ERR_APPLICATION_VERIFICATION; one that failed PKIX validation
 * keeps OpenSSL's own error (expired, hostname mismatch, ...), also copied
 * to certpin_result.pkix_error.  certpin_ssl_result() gives the certpin
 * code and verdict.  An application that never holds the SSL (libcurl
 * frees it when the handshake fails) sets the on_result callback of
 * certpin_ssl_options (version 2): it gets the same code and result after
 * every check, inside the handshake, refused or not.
 *
 * RESUMPTION
 *
 * A resumed session runs no certificate verification, so no pin check.
 * For a host the policy pins (and for every host when a TOFU store is
 * attached), a client resumes only a session whose full handshake passed
 * the same policy (and store) for the same host; any other session the
 * application sets (made under another policy or none, or for another
 * host) is dropped at the start of the handshake, so a full, checked
 * handshake follows.  certpin_ssl_result() reports CERTPIN_E_STATE for a
 * resumed handshake.  The guard runs in the SSL_CTX's info callback; one the
 * application set before attaching is still called, one set after replaces
 * the guard: attach last.  OpenSSL calls the SSL_CTX's info callback only
 * for connections with none of their own: one set with
 * SSL_set_info_callback() bypasses the guard, unless certpin_ssl_attach()
 * came after it (which guards for both attachments).
 *
 * OWNERSHIP, SWAPPING AND THREADS
 *
 * Attaching freezes the policy (later changes to it fail with
 * CERTPIN_E_STATE) and takes a reference to it: the caller may free its own
 * reference at once.  Attaching another policy to the same SSL_CTX swaps it
 * atomically for new handshakes; handshakes already running finish with the
 * policy they started with, which is freed when the last of them ends.
 * This is how a policy from a signed bundle (certpin/bundle.h) replaces the
 * one in force.  The first attachment to an SSL_CTX must happen before it
 * is shared by threads; later ones may happen at any time.
 */
#ifndef CERTPIN_OPENSSL_H
#define CERTPIN_OPENSSL_H

#include "../certpin.h"

/* The TOFU store's types (certpin/tofu.h), declared here so that each header stands alone. */
typedef struct certpin_tofu certpin_tofu;
typedef struct certpin_tofu_result certpin_tofu_result;

#ifdef __cplusplus
extern "C" {
#endif

/* OpenSSL's own types, declared here so that this header does not need OpenSSL's. */
struct ssl_ctx_st;
struct ssl_st;

/*
 * Check `policy` on every handshake of connections made from `ctx` (see
 * above).  `opts` may be NULL; CERTPIN_SSL_INSECURE_PIN_ONLY runs no
 * X509_verify_cert() and so no verify callback: a connection that also has
 * certpin_ssl_attach() or a TOFU store is refused (CERTPIN_E_INVALID_ARG),
 * as those would be skipped.  Attaching again replaces the policy and the
 * options.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_ssl_ctx_attach(struct ssl_ctx_st *ctx, certpin_policy *policy,
	const certpin_ssl_options *opts);

/*
 * Check `policy` on one connection only, in addition to any policy
 * attached to its SSL_CTX.  Wraps the connection's verify callback (keeping
 * the one already set, which still runs first) and checks pins when OpenSSL
 * reports the leaf verified with no error pending; sets SSL_VERIFY_PEER.
 * Call it after any SSL_set_verify() of your own: a later SSL_set_verify()
 * replaces the wrapper.  An error your callback accepts refuses a pinned
 * host (CERTPIN_E_PKIX), at whatever depth it comes, also under
 * SSL_VERIFY_NONE.  If only SNI names the host, OpenSSL verified the
 * certificate for no name; the wrapper checks the leaf against that name
 * itself before the pins (X509_V_ERR_HOSTNAME_MISMATCH, CERTPIN_E_PKIX).
 * CERTPIN_SSL_INSECURE_PIN_ONLY is not available here
 * (CERTPIN_E_INVALID_ARG).  Resumption is guarded as for
 * certpin_ssl_ctx_attach(); this sets the SSL's info callback: one set on
 * the SSL before is still called (else the SSL_CTX's, as OpenSSL would); a
 * later SSL_set_info_callback() removes the guard.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_ssl_attach(struct ssl_st *ssl, certpin_policy *policy,
	const certpin_ssl_options *opts);

/*
 * Result of the last pin check on `ssl`.  Returns the certpin code of that
 * check (CERTPIN_OK, CERTPIN_E_PIN_MISMATCH, CERTPIN_E_PKIX, ...) and fills
 * `out` if not NULL; CERTPIN_E_STATE if no check has run in the
 * connection's current handshake: none yet since SSL_new() or SSL_clear(),
 * one that failed before the server's certificate, or one that resumed a
 * session.  The result of an earlier handshake is never reported.  With
 * both attachments on one connection, a refusal by certpin_ssl_attach()'s
 * policy is the result.
 */
CERTPIN_EXPORT int certpin_ssl_result(certpin_result *out, const struct ssl_st *ssl);

/*
 * Check `store` (certpin/tofu.h) on every handshake of connections made from
 * `ctx`, on the chain OpenSSL verified, after PKIX validation and after the
 * policy of certpin_ssl_ctx_attach() if there is one: when the policy
 * refuses, no TOFU check runs and nothing is recorded (a refused chain is
 * never a first use; certpin_tofu_ssl_result() returns CERTPIN_E_STATE).  The host is the connection's first name
 * (as above); with none the handshake is refused.  TOFU never vouches for a
 * chain that failed PKIX validation: if your verify callback accepts an
 * error, the handshake is refused and certpin_tofu_ssl_result() returns
 * CERTPIN_E_PKIX; if OpenSSL's own verification fails, no TOFU check runs.
 * There is no pin-only (PKIX-free) TOFU mode; report-only relaxes the pin
 * comparison, never PKIX.  Takes a reference to the store; attaching
 * another store replaces it for new handshakes.  Resumption is guarded for
 * every host (see above).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_ssl_ctx_attach(struct ssl_ctx_st *ctx, certpin_tofu *store);

/*
 * Result of the TOFU check in the current handshake of `ssl`: its return
 * code, `out` filled if not NULL; CERTPIN_E_STATE if none ran.
 */
CERTPIN_EXPORT int certpin_tofu_ssl_result(certpin_tofu_result *out, const struct ssl_st *ssl);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_OPENSSL_H */
