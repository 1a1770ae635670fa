/*
 * certpin/gnutls.h - the GnuTLS adapter (libcertpin-gnutls): check a policy,
 * and a TOFU store, on the handshakes of a GnuTLS 3.7 client session.
 *
 * USE
 *
 *   gnutls_init(&session, GNUTLS_CLIENT);
 *   gnutls_set_default_priority(session);
 *   gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, xcred);
 *   gnutls_server_name_set(session, GNUTLS_NAME_DNS, host, strlen(host));
 *   certpin_gnutls_set_verify_cert(session, host, 0, &err);   instead of gnutls_session_set_verify_cert()
 *   certpin_gnutls_session_attach(session, policy, NULL, &err);
 *   ... gnutls_handshake(session) ...
 *   certpin_gnutls_result(&result, session);
 *
 * HOW IT CHECKS
 *
 * The attach calls set the session's verify function
 * (gnutls_session_set_verify_function()).  It runs GnuTLS's own
 * verification of the server's certificate, gnutls_certificate_verify_peers()
 * for the host name given to certpin_gnutls_set_verify_cert() (with the
 * credentials' trust list and verify flags, OCSP staples included), and then
 * checks the pins on the path GnuTLS verified: from the leaf to the trust
 * anchor of the credentials' trust list it used, never merely the list the
 * server sent.  The path is what GnuTLS reports to the session's verify
 * output function (gnutls_session_set_verify_output_function()), which
 * certpin sets while it verifies.
 *
 * The name: GnuTLS gives no way to read back the name passed to
 * gnutls_session_set_verify_cert(), and gnutls_server_name_get() works on
 * servers only, so the verification name is the one given to
 * certpin_gnutls_set_verify_cert(), which GnuTLS then verifies the
 * certificate for.  Without one, every handshake is refused
 * (CERTPIN_E_HOSTNAME): an application that called
 * gnutls_session_set_verify_cert() before attaching would otherwise lose its
 * host name check without a sign.  Pass the name as the application would to
 * GnuTLS; the policy lookup ignores case and one trailing dot (GnuTLS's own
 * name check does not strip the dot).
 *
 * Attach last: a later gnutls_session_set_verify_function() or
 * gnutls_session_set_verify_cert() replaces certpin's function and so
 * removes the pins (certpin_gnutls_result() then reports CERTPIN_E_STATE); a
 * verify function on the credentials
 * (gnutls_certificate_set_verify_function()) does not run, as GnuTLS calls
 * only the session's.  A verify output function of the application's is
 * replaced.  Only certificate authentication is checked: a session that also
 * has anonymous or PSK credentials can complete a handshake with no
 * certificate, and no check.  Client sessions only.
 *
 * REFUSING
 *
 * A certificate that GnuTLS does not verify, or that certpin refuses, fails
 * the handshake with GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, as with
 * gnutls_session_set_verify_cert(); send the alert as usual
 * (gnutls_alert_send_appropriate()).  GnuTLS's
 * gnutls_session_get_verify_cert_status() knows only its own automatic
 * verification; certpin_gnutls_verify_status() gives the status instead,
 * with GNUTLS_CERT_INVALID added when certpin refused.  Every error fails
 * closed: a path GnuTLS verified that cannot be told from its report (for
 * example a leaf trusted by name with gnutls_x509_trust_list_add_named_crt()),
 * one longer than CERTPIN_CHAIN_MAX, a certificate that cannot be read, a
 * raw public key instead of an X.509 certificate, no name, no memory.
 *
 * RESUMPTION
 *
 * A resumed handshake (TLS 1.2 session ID or ticket, TLS 1.3 ticket) runs
 * no verify function, and GnuTLS shows a resumed TLS 1.3 session's
 * certificates only once its handshake has ended: nothing can be checked
 * while it runs.  So, for a host the policy pins (and for every host when a
 * TOFU store is attached), a session may be resumed only if its full
 * handshake passed the same policy and store for the same host.  Store
 * sessions with certpin_gnutls_session_get_data() and offer them with
 * certpin_gnutls_session_set_data() (after attaching and setting the name):
 * those carry what the session passed, and one that may not be resumed is
 * not offered, so a full, checked handshake follows.  A resumed handshake
 * the binding does not accept -- a session set with gnutls_session_set_data()
 * directly carries nothing -- is refused with
 * GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR as soon as GnuTLS shows it
 * resumes (after the ServerHello in TLS 1.3, at the server's Finished in TLS
 * 1.2), before the client's Finished.  That check is the session's
 * handshake hook (gnutls_handshake_set_hook_function()), which certpin sets
 * when attaching and again as each ClientHello is made: GnuTLS keeps one
 * hook per session and cannot give it back, so a hook of the application's
 * does not survive on a session certpin is attached to.
 *
 * STATE, OWNERSHIP AND THREADS
 *
 * certpin keeps its per-session state as the data of that extension
 * (gnutls_ext_set_data()), freed by gnutls_deinit(); gnutls_session_set_ptr()
 * stays the application's.  Attaching freezes the policy and takes a
 * reference to it and to the store: the caller may free its own at once.
 * Attaching again replaces the policy and options (or the store) for the
 * session's next check.  Like every call on one gnutls_session_t, attach
 * calls must not run while the same session's handshake runs in another
 * thread; different sessions are independent.
 */
#ifndef CERTPIN_GNUTLS_H
#define CERTPIN_GNUTLS_H

#include <stddef.h>

#include "../certpin.h"

/* The TOFU store's types (certpin/tofu.h), declared here so that each header stands alone. */
typedef struct certpin_tofu certpin_tofu;
typedef struct certpin_tofu_result certpin_tofu_result;

#ifdef __cplusplus
extern "C" {
#endif

/* GnuTLS's session type: struct gnutls_session_int * is gnutls_session_t. */
struct gnutls_session_int;

/* The TLS extension type certpin registers on each session it attaches to (never sent). */
#define CERTPIN_GNUTLS_EXT_TYPE 0xFFCE

/*
 * Check `policy` on the handshakes of the client session `session` (see
 * above).  `opts` may be NULL.  With CERTPIN_SSL_INSECURE_PIN_ONLY no PKIX
 * verification runs at all: the server's leaf alone is checked against the
 * pins (leaf or any position) of the host given to
 * certpin_gnutls_set_verify_cert(), unpinned hosts and report-only
 * mismatches are refused, and a session that also has a TOFU store is
 * refused (CERTPIN_E_INVALID_ARG).  Attaching again replaces the policy and
 * options.  CERTPIN_E_INVALID_ARG for a NULL session or policy or bad
 * options, CERTPIN_E_TLS when GnuTLS refuses the session extension
 * (detail in `err`, may be NULL), CERTPIN_E_NOMEM.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_gnutls_session_attach(struct gnutls_session_int *session,
	certpin_policy *policy, const certpin_ssl_options *opts, certpin_error *err);

/*
 * Check `store` (certpin/tofu.h) on the handshakes of `session`, on the path
 * GnuTLS verified, after the policy if one is attached (a chain the policy
 * refused is never recorded).  TOFU never vouches for a chain that GnuTLS
 * did not verify.  Attaching again replaces the store.  Errors as above.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_gnutls_tofu_attach(struct gnutls_session_int *session,
	certpin_tofu *store, certpin_error *err);

/*
 * The name GnuTLS verifies the server's certificate for, and the name the
 * policy and store are asked about: certpin's gnutls_session_set_verify_cert().
 * `hostname` (a DNS name or an IP literal) is copied; `flags` are
 * gnutls_certificate_verify_flags added to the session's, as
 * gnutls_session_set_verify_cert() adds them (with a profile, call it after
 * setting the priorities).  Sets certpin's verify function, which verifies
 * as GnuTLS's automatic verification does even with nothing attached.
 * CERTPIN_E_HOSTNAME for a NULL, empty or too long name; other errors as
 * above.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_gnutls_set_verify_cert(struct gnutls_session_int *session,
	const char *hostname, unsigned int flags, certpin_error *err);

/*
 * The result of the policy's check in the session's current (or last)
 * handshake: its code (CERTPIN_OK, CERTPIN_E_PIN_MISMATCH, CERTPIN_E_PKIX,
 * ...) and `out` filled if not NULL; also after the handshake failed.
 * result.pkix_error holds GnuTLS's verification status
 * (gnutls_certificate_status_t bits) when the verification failed.
 * CERTPIN_E_STATE if no check ran in the current
 * handshake (none yet, none attached, the handshake failed before the
 * server's certificate, or it resumed a session), the result of an earlier
 * handshake is never reported; CERTPIN_E_CHAIN for a resumed handshake that
 * was refused (see RESUMPTION); CERTPIN_E_INVALID_ARG for a NULL session.
 */
CERTPIN_EXPORT int certpin_gnutls_result(certpin_result *out, struct gnutls_session_int *session);

/* The same for the TOFU store's check: its code, `out` filled; CERTPIN_E_STATE if none ran. */
CERTPIN_EXPORT int certpin_gnutls_tofu_result(certpin_tofu_result *out, struct gnutls_session_int *session);

/*
 * GnuTLS's verification status in the current handshake's check, as
 * gnutls_session_get_verify_cert_status() gives it for GnuTLS's automatic
 * verification (0: verified; print it with
 * gnutls_certificate_verification_status_print()), with GNUTLS_CERT_INVALID
 * added when certpin refused the handshake.  (unsigned int)-1 if no check ran.
 */
CERTPIN_EXPORT unsigned int certpin_gnutls_verify_status(struct gnutls_session_int *session);

/*
 * The session's resumption data (gnutls_session_get_data2()) with what its
 * handshakes passed, for certpin_gnutls_session_set_data() in this process
 * (tags name policies by numbers that only this process knows).  *out is
 * allocated (release it with free()).  CERTPIN_E_STATE when GnuTLS has no
 * data to give (no handshake completed, no TLS 1.3 ticket yet),
 * CERTPIN_E_INVALID_ARG, CERTPIN_E_NOMEM, CERTPIN_E_TLS.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_gnutls_session_get_data(unsigned char **out, size_t *len,
	struct gnutls_session_int *session);

/*
 * Offer the stored session `data` (from certpin_gnutls_session_get_data())
 * in the next handshake of `session` (gnutls_session_set_data()), if the
 * policy and store attached now accept it for the name set now.
 * CERTPIN_OK: offered.  CERTPIN_E_STATE: not offered, as it did not pass
 * them (a full handshake follows); CERTPIN_E_DECODE: not certpin's data or
 * another process's, not offered; CERTPIN_E_TLS: GnuTLS refused the data.
 * Detail in `err` (may be NULL).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_gnutls_session_set_data(struct gnutls_session_int *session,
	const unsigned char *data, size_t len, certpin_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_GNUTLS_H */
