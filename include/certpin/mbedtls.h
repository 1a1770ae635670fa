/*
 * certpin/mbedtls.h - the mbedTLS 2.28 adapter (libcertpin-mbedtls): check a
 * policy, and a TOFU store, on every handshake of an mbedTLS client.
 *
 * Header <certpin/mbedtls.h>, library libcertpin-mbedtls (pkg-config
 * certpin-mbedtls; CMake certpin::mbedtls).  It compiles on its own: the
 * mbedTLS types are declared, not included.
 *
 * IN SHORT
 *
 *     certpin_mbedtls *pins = NULL;
 *     certpin_mbedtls_conf_attach(&pins, &conf, policy, NULL, NULL);   // once, after configuring conf
 *     ...
 *     certpin_mbedtls_conn *pc = NULL;
 *     mbedtls_ssl_setup(&ssl, &conf);
 *     certpin_mbedtls_setup(&pc, pins, &ssl, "api.example.com");      // instead of mbedtls_ssl_set_hostname()
 *     ret = mbedtls_ssl_handshake(&ssl);
 *     rc = certpin_mbedtls_result(&result, pc);                        // also after a refused handshake
 *     ...
 *     mbedtls_ssl_free(&ssl); certpin_mbedtls_conn_free(pc);
 *     mbedtls_ssl_config_free(&conf); certpin_mbedtls_free(pins);
 *
 * An mbedTLS configuration keeps no data for others, and its verify
 * callback learns nothing of the connection it verifies; so the attachment
 * to a configuration (certpin_mbedtls) and each connection's check
 * (certpin_mbedtls_conn) are objects of their own, which the application
 * keeps as it keeps the mbedTLS objects they serve.
 *
 * HOW IT CHECKS
 *
 * certpin_mbedtls_setup() sets the context's verify callback
 * (mbedtls_ssl_set_verify()).  mbedTLS calls it once per certificate of the
 * chain it built and verified -- from the trust anchor (or the topmost
 * certificate it found) down to the peer's leaf at depth 0, with each
 * certificate's own verification flags -- after checking the host name.
 * The callback collects that chain and decides at depth 0: certpin checks
 * the chain mbedTLS verified, never merely the list the peer sent.  A
 * chain with any mbedTLS verification flag counts as not verified: a pinned
 * host is refused for it (CERTPIN_E_PKIX; the flags are kept in
 * certpin_result.pkix_error), an unpinned one keeps mbedTLS's verdict.
 *
 * The host name is the one given to certpin_mbedtls_setup(), which passes
 * it on to mbedtls_ssl_set_hostname() (the name mbedTLS verifies and sends
 * as SNI): mbedTLS 2.28 has no getter for the name, so certpin learns it
 * through its own call.  Do not call mbedtls_ssl_set_hostname() after
 * certpin_mbedtls_setup(): certpin would check another name than mbedTLS.
 * With no name (NULL) a connection is refused whenever the policy is
 * non-empty or a TOFU store is attached.  Note that mbedTLS 2.28 verifies
 * DNS names only: a certificate's iPAddress names are not read, so an IP
 * literal verifies only against a certificate naming it as a DNS name.
 *
 * A refused handshake fails as mbedTLS fails a verification:
 * mbedtls_ssl_handshake() returns MBEDTLS_ERR_X509_CERT_VERIFY_FAILED and
 * mbedtls_ssl_get_verify_result() has MBEDTLS_X509_BADCERT_OTHER set (the
 * peer gets an access_denied alert).  certpin_mbedtls_result() gives the
 * reason, also after the handshake failed.
 *
 * certpin_mbedtls_conf_attach() sets the configuration's authentication
 * mode to MBEDTLS_SSL_VERIFY_REQUIRED (pin-only trust: OPTIONAL, below) and
 * its verify callback (mbedtls_ssl_conf_verify()) to a guard: a connection
 * of that configuration that certpin_mbedtls_setup() did not set up has no
 * name known to certpin, and is refused whenever the policy is non-empty or
 * a TOFU store is attached.  Attach after configuring, and change neither
 * afterwards: with MBEDTLS_SSL_VERIFY_OPTIONAL mbedTLS goes on after any
 * failed verification, certpin's included, and leaves the refusal to the
 * application's mbedtls_ssl_get_verify_result(); with
 * MBEDTLS_SSL_VERIFY_NONE it verifies nothing and so certpin checks
 * nothing.  A later mbedtls_ssl_set_verify() on a context replaces
 * certpin's callback: mbedTLS 2.28 cannot hand certpin the callback it
 * replaces, so an application callback of its own is not supported.  A
 * handshake that certpin did not check -- it resumed a session, or used a
 * cipher suite without a server certificate (PSK), or ran with one of the
 * settings above -- leaves certpin_mbedtls_result() at CERTPIN_E_STATE.
 *
 * mbedTLS 2.28 speaks TLS 1.2 and earlier only (its TLS 1.3 is key
 * derivation code, no handshake): this adapter checks TLS 1.2 handshakes,
 * including renegotiations (each verification is checked again).
 *
 * PIN-ONLY TRUST
 *
 * With CERTPIN_SSL_INSECURE_PIN_ONLY (certpin.h) the chain is not
 * validated: the authentication mode is MBEDTLS_SSL_VERIFY_OPTIONAL, so
 * that mbedTLS still hands certpin the peer's certificates but stops for
 * none of its own findings (untrusted issuer, host name, dates), and
 * certpin checks the peer's leaf alone -- the certificate whose key the
 * handshake proves -- against pins at position leaf or any; unpinned hosts
 * are refused.  As mbedTLS would go on after a refusal in that mode, a
 * refused handshake fails with MBEDTLS_ERR_X509_FATAL_ERROR instead (the
 * callback returns an error).  mbedtls_ssl_get_verify_result() still shows
 * mbedTLS's own findings on an accepted connection; the verdict is
 * certpin_mbedtls_result().  There is no pin-only TOFU: attaching a store
 * with this flag fails.  Never set MBEDTLS_SSL_VERIFY_NONE: nothing would
 * be checked.
 *
 * RESUMPTION
 *
 * A resumed session runs no certificate verification, so no pin check.
 * Resume through certpin_mbedtls_get_session() and
 * certpin_mbedtls_set_session() in place of mbedtls_ssl_get_session() and
 * mbedtls_ssl_set_session(): a session is kept with what its full
 * handshake passed, and is resumed only if that was the same policy (and
 * store) for the same host as now; otherwise the session is not set and a
 * full, checked handshake follows.  An unpinned host (no TOFU store)
 * resumes as mbedTLS would.  These sessions live in memory only: a session
 * saved with mbedtls_ssl_session_save() and given to
 * mbedtls_ssl_set_session() directly is resumed unchecked.
 *
 * OWNERSHIP, SWAPPING AND THREADS
 *
 * Attaching freezes the policy and takes a reference to it and to the
 * store: the caller may drop its own at once.  Attaching again (the same
 * `*pins`) swaps policy, store and options at once for the checks that
 * start after it; a check that is running finishes with what it started
 * with.  This may happen while other threads run handshakes.  The
 * attachment must outlive every use of its configuration (free it after
 * mbedtls_ssl_config_free()); a certpin_mbedtls_conn must outlive its
 * context's handshakes (free it after mbedtls_ssl_free()), and, as its
 * context, is used by one thread at a time.
 */
#ifndef CERTPIN_MBEDTLS_H
#define CERTPIN_MBEDTLS_H

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mbedTLS's own types, declared here so that this header does not need mbedTLS's. */
struct mbedtls_ssl_config;
struct mbedtls_ssl_context;

/* What a configuration checks: a policy and/or a TOFU store, and options. */
typedef struct certpin_mbedtls certpin_mbedtls;
/* One context's check: its host name and the result of its last handshake. */
typedef struct certpin_mbedtls_conn certpin_mbedtls_conn;
/* A session kept for resumption, with what its handshake passed. */
typedef struct certpin_mbedtls_session certpin_mbedtls_session;

/*
 * Check `policy` and/or `store` (either may be NULL, not both) with `opts`
 * (NULL: defaults) on every handshake of the contexts of client
 * configuration `conf` that certpin_mbedtls_setup() sets up (see above).
 * `*pins` NULL: a new attachment, returned in *pins, and `conf`'s
 * authentication mode and verify callback are set.  `*pins` an attachment
 * from an earlier call for the same `conf`: its policy, store and options
 * are replaced at once, and `conf` is not touched.  References `policy`
 * (frozen) and `store`.  CERTPIN_E_INVALID_ARG for a NULL argument, an
 * unknown options version or flag, a store with
 * CERTPIN_SSL_INSECURE_PIN_ONLY, another `conf`, or a change of that flag
 * (make a new attachment for another trust mode); CERTPIN_E_NOMEM.  On
 * error nothing changes.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_mbedtls_conf_attach(certpin_mbedtls **pins,
	struct mbedtls_ssl_config *conf, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts);

/* Free an attachment (NULL-safe), after the last use of its configuration. */
CERTPIN_EXPORT void certpin_mbedtls_free(certpin_mbedtls *pins);

/*
 * Set up context `ssl` (after mbedtls_ssl_setup() with the attachment's
 * configuration) for certpin's check by `pins`: `hostname` (copied; NULL:
 * none) becomes the name mbedTLS verifies and sends as SNI
 * (mbedtls_ssl_set_hostname()) and the name certpin looks up, and the
 * context's verify callback is set.  *out gets the connection's check
 * (NULL on error).  Set up again (and free the old one) to reuse `ssl`
 * for another connection after mbedtls_ssl_session_reset().
 * CERTPIN_E_INVALID_ARG, CERTPIN_E_HOSTNAME (longer than mbedTLS takes),
 * CERTPIN_E_NOMEM; on error the callback is not set and the guard of
 * certpin_mbedtls_conf_attach() applies.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_mbedtls_setup(certpin_mbedtls_conn **out, certpin_mbedtls *pins,
	struct mbedtls_ssl_context *ssl, const char *hostname);

/* Free a connection's check (NULL-safe), after its context's last handshake. */
CERTPIN_EXPORT void certpin_mbedtls_conn_free(certpin_mbedtls_conn *conn);

/*
 * Result of the policy's check in the connection's last handshake: its
 * certpin code (CERTPIN_OK, CERTPIN_E_PIN_MISMATCH, CERTPIN_E_PKIX, ...),
 * `out` filled if not NULL, the same as certpin_ssl_result() gives for
 * OpenSSL.  When the handshake was refused before a source could check
 * it (a chain too long or unreadable, no TOFU check on a chain mbedTLS
 * refused), that code.  CERTPIN_E_STATE, with `out` set to "not pinned",
 * rule, pin and depth -1, if no check ran since certpin_mbedtls_setup()
 * or certpin_mbedtls_set_session(): none yet, a handshake that failed
 * before the server's certificate, a resumed session, a TOFU store alone.
 */
CERTPIN_EXPORT int certpin_mbedtls_result(certpin_result *out, const certpin_mbedtls_conn *conn);

/*
 * Result of the TOFU check in the connection's last handshake: its code,
 * `out` filled if not NULL; CERTPIN_E_STATE if none ran (no store, the
 * policy refused first, mbedTLS refused the chain, ...).
 */
CERTPIN_EXPORT int certpin_mbedtls_tofu_result(certpin_tofu_result *out, const certpin_mbedtls_conn *conn);

/*
 * After a successful handshake: the connection's session
 * (mbedtls_ssl_get_session()) with what its handshake passed, in a new
 * *out (NULL on error).  CERTPIN_E_INVALID_ARG, CERTPIN_E_TLS (mbedTLS has
 * no session to give), CERTPIN_E_NOMEM.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_mbedtls_get_session(certpin_mbedtls_session **out,
	const certpin_mbedtls_conn *conn);

/*
 * Before the handshake: resume `session` (mbedtls_ssl_set_session()) if
 * the attachment allows it for this connection's host now (see
 * RESUMPTION); otherwise leave it, so that a full, checked handshake
 * follows.  CERTPIN_OK either way; CERTPIN_E_INVALID_ARG, CERTPIN_E_TLS
 * or CERTPIN_E_NOMEM if mbedTLS refused the session (a full handshake
 * follows as well).  Clears the connection's results.
 */
CERTPIN_EXPORT int certpin_mbedtls_set_session(certpin_mbedtls_conn *conn, const certpin_mbedtls_session *session);

/* Free a kept session (NULL-safe). */
CERTPIN_EXPORT void certpin_mbedtls_session_free(certpin_mbedtls_session *session);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_MBEDTLS_H */
