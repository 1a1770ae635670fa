/*
 * certpin/wolfssl.h - the wolfSSL adapter (libcertpin-wolfssl): check a
 * policy, and a TOFU store, on every handshake of a WOLFSSL_CTX, through
 * wolfSSL's native API.  For wolfSSL 5.5 built with OPENSSL_EXTRA,
 * HAVE_EX_DATA, WOLFSSL_ALWAYS_VERIFY_CB, KEEP_PEER_CERT and
 * WOLFSSL_SIGNER_DER_CERT, as Debian's libwolfssl is.  Clients only.
 *
 *     WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
 *     wolfSSL_CTX_load_verify_locations(ctx, "ca.pem", NULL);
 *     certpin_wolfssl_ctx_attach(ctx, policy, NULL, NULL);    // after your own wolfSSL_CTX_set_verify()
 *     WOLFSSL *ssl = wolfSSL_new(ctx);
 *     certpin_wolfssl_set_host(ssl, "api.example.com");       // before wolfSSL_set_session()
 *     wolfSSL_set_fd(ssl, fd);
 *     if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) ...       // certpin_wolfssl_result() says why
 *     certpin_wolfssl_result(&result, ssl);
 *     certpin_wolfssl_release(ssl);                           // then wolfSSL_free(ssl)
 *     certpin_wolfssl_ctx_detach(ctx);                        // then wolfSSL_CTX_free(ctx)
 *
 * HOW IT CHECKS
 *
 * certpin_wolfssl_ctx_attach() installs a verify callback on the context
 * (wolfSSL_CTX_set_verify(), WOLFSSL_VERIFY_PEER added), which wolfSSL
 * copies into each WOLFSSL made after it: attach before wolfSSL_new().  The
 * callback first calls the one the context had (it still decides what
 * wolfSSL does with an error it reports), then, when wolfSSL reports the
 * peer's own certificate -- after its signature, validity, the host name
 * and the rest of the chain were checked -- checks the pins on the chain
 * wolfSSL verified: the peer's certificate, then each CA of wolfSSL's CA
 * table whose signature check in this handshake vouches for the one below
 * it, up to the first that this handshake took on trust (a CA loaded into
 * the context, usually the root).  Certificates the peer sent that no
 * signature check linked to its own are never pinned on; how the chain is
 * found is explained at the top of src/tls/wolfssl/wolfssl.c.  The CAs
 * above the peer's certificate are fetched from wolfSSL's table only when a
 * pin check gets past the peer's certificate (a matching leaf pin costs no
 * lookup); a chain whose CAs wolfSSL's table does not hold as this
 * handshake verified them (say a CA the peer sent in another encoding than
 * the copy the table kept) is refused with CERTPIN_E_CHAIN when the pins
 * need it.
 *
 * A handshake that certpin refuses fails as any refusal by a verify
 * callback does: wolfSSL_connect() fails with wolfSSL_get_error()
 * VERIFY_CERT_ERROR (-329), and wolfSSL_get_verify_result() stays what
 * wolfSSL's own checks made it (wolfSSL 5.5 has no call to change it; often
 * X509_V_OK): certpin_wolfssl_result() gives the reason.  One that failed
 * wolfSSL's own checks keeps wolfSSL's error (ASN_NO_SIGNER_E,
 * DOMAIN_NAME_MISMATCH, ...), also in certpin_result.pkix_error.  wolfSSL
 * 5.5 reports a mismatch of an IP (or of a name set with wolfSSL_set1_host())
 * with preverify_ok 1 and the error in the X509_STORE_CTX, so a callback
 * returning preverify_ok accepts it; certpin's counts the error, and passes
 * your callback preverify_ok 0 for it.  An error your callback accepted (or
 * WOLFSSL_VERIFY_NONE) refuses a pinned host with CERTPIN_E_PKIX; unpinned
 * hosts keep your choice.  A later wolfSSL_CTX_set_verify() or
 * wolfSSL_set_verify() with a callback of its own replaces certpin's and so
 * removes the pins: set yours first (a per-connection one before
 * certpin_wolfssl_set_host(), which then wraps it too).
 *
 * HOST NAMES
 *
 * wolfSSL 5.5 has no call that tells which name a connection verifies, so
 * the name comes from certpin_wolfssl_set_host(), which sets it for both:
 * wolfSSL_check_domain_name() (or, for an IP literal,
 * wolfSSL_X509_VERIFY_PARAM_set1_ip_asc()) and SNI, normalized (lower case,
 * no trailing dot).  A name set with wolfSSL's own calls alone is invisible
 * to certpin: such a connection has no name and is refused whenever the
 * policy is non-empty or a TOFU store is attached (CERTPIN_E_HOSTNAME).
 *
 * RESUMPTION
 *
 * A resumed session runs no certificate check.  certpin_wolfssl_set_host()
 * gives the connection a session ID context naming its host and the
 * attachment in force (every certpin_wolfssl_ctx_attach() makes a new one),
 * and wolfSSL copies it into the sessions the connection makes; wolfSSL then
 * refuses, in wolfSSL_set_session() and wolfSSL_SetServerID(), a session
 * made for another host or under another attachment, and connections
 * without a name resume none made with one.  So a session is resumed only
 * for the host whose full, checked handshake made it under the same policy
 * and store.  Call certpin_wolfssl_set_host() before wolfSSL_set_session(),
 * and do not set session ID contexts of your own on a client.  When
 * wolfSSL_set_session() refused a session, use a new WOLFSSL: wolfSSL 5.5
 * keeps the refused session's TLS 1.2 ticket and the handshake then fails
 * (its behaviour for any refused or expired session), never resumes.  A
 * WOLFSSL that got its name before an attach keeps the sessions of the
 * attachment it was named under.  certpin_wolfssl_result() reports
 * CERTPIN_E_STATE for a resumed handshake.
 *
 * PIN-ONLY TRUST
 *
 * With CERTPIN_SSL_INSECURE_PIN_ONLY the context is set to
 * WOLFSSL_VERIFY_NONE, so that wolfSSL neither verifies nor trusts anything
 * the peer sends (with verification on, an error accepted for a CA
 * certificate would add it to the context's CA table), and the callback
 * accepts a handshake only if the peer's own certificate -- the one whose
 * key the handshake proves -- matches a leaf or any pin of the host's rule;
 * your verify callback is not called.  Only for self-signed devices.
 * Pin-only trust is fixed at the first attach (attaching with and without
 * it to one context gives CERTPIN_E_INVALID_ARG) and excludes a TOFU store.
 *
 * LIFETIME AND THREADS
 *
 * wolfSSL 5.5 frees no data applications keep with its objects, so certpin's
 * state is released by hand: certpin_wolfssl_release() before each
 * wolfSSL_free() (a connection's state is about 4 KiB) and
 * certpin_wolfssl_ctx_detach() before wolfSSL_CTX_free().  Attaching freezes
 * the policy and takes references to it and to the store: the caller may
 * drop its own at once.  Attaching again swaps policy, store and options at
 * once for the handshakes that start after it.  The first attach must come
 * before the context is shared by threads; later ones may come at any time.
 * certpin uses an ex_data index of WOLFSSL_CTX and one of WOLFSSL (never 0,
 * wolfSSL's app_data slot); wolfSSL allows 5 of each.
 *
 * LINKING
 *
 * Link with pkg-config's certpin-wolfssl.  The adapter calls wolfSSL by its
 * own names (wolfSSL_*) and includes none of its OpenSSL compatibility
 * headers; the core library it builds on links OpenSSL, so the process has
 * both.  libwolfssl 5.5 also exports seven names in OpenSSL's style
 * (SSL_*, ERR_*), six of which libssl exports too; OpenSSL calls one of
 * them, SSL_COMP_get_compression_methods(), from SSL_CTX_new(), and when
 * libwolfssl is loaded first that call reaches wolfSSL's stub: OpenSSL
 * contexts made in the process then offer no compression (TLS compression,
 * off in OpenSSL 3 by default).  certpin calls none of the seven; the
 * example client's test checks that no other call crosses between the two.
 */
#ifndef CERTPIN_WOLFSSL_H
#define CERTPIN_WOLFSSL_H

#include "../certpin.h"

/* The TOFU store's types (certpin/tofu.h), declared here so that each header stands alone. */
typedef struct certpin_tofu certpin_tofu;
typedef struct certpin_tofu_result certpin_tofu_result;

/* wolfSSL's own types, declared here so that this header does not need wolfSSL's. */
struct WOLFSSL_CTX;
struct WOLFSSL;

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Check `policy` and/or the TOFU `store` (either may be NULL, not both) on
 * every handshake of connections made from `ctx` after this call, with
 * `opts` (NULL: defaults).  Attaching again replaces policy, store and
 * options together.  CERTPIN_E_INVALID_ARG for bad arguments, an unknown
 * options version or flag, pin-only trust with a store, or a change to or
 * from pin-only trust; CERTPIN_E_NOMEM; CERTPIN_E_TLS if wolfSSL refuses
 * the ex_data or settings certpin needs.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_wolfssl_ctx_attach(struct WOLFSSL_CTX *ctx, certpin_policy *policy,
	certpin_tofu *store, const certpin_ssl_options *opts);

/*
 * Remove certpin from `ctx` (NULL-safe) and drop its references: the verify
 * callback the context had before is put back.  Call it before
 * wolfSSL_CTX_free(), when no connection of the context will handshake
 * again (one that still does is refused).
 */
CERTPIN_EXPORT void certpin_wolfssl_ctx_detach(struct WOLFSSL_CTX *ctx);

/*
 * The name `ssl` connects to (a host name or an IP literal; copied,
 * normalized): the name wolfSSL verifies the certificate for, SNI (host
 * names only), the name whose pins are checked, and the host the
 * connection's sessions are bound to (see RESUMPTION).  Once per WOLFSSL,
 * before wolfSSL_connect() and wolfSSL_set_session(); its WOLFSSL_CTX must
 * be attached.  CERTPIN_E_HOSTNAME for an invalid name, CERTPIN_E_STATE if
 * the context is not attached or the name was set already,
 * CERTPIN_E_INVALID_ARG, CERTPIN_E_NOMEM, CERTPIN_E_TLS.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_wolfssl_set_host(struct WOLFSSL *ssl, const char *host);

/*
 * Result of the pin check of the current handshake of `ssl`, also after
 * wolfSSL_connect() failed: the check's certpin code (CERTPIN_OK,
 * CERTPIN_E_PIN_MISMATCH, CERTPIN_E_PKIX, ...), `out` (if not NULL) filled
 * as by certpin_ssl_result().  CERTPIN_E_STATE, `out` untouched, if no
 * policy check ran in the connection's current handshake: none yet, one
 * that failed before the server's certificate was verified, a resumed one,
 * or one with a TOFU store only.
 */
CERTPIN_EXPORT int certpin_wolfssl_result(certpin_result *out, struct WOLFSSL *ssl);

/* The same for the TOFU store's check: its code, `out` filled; CERTPIN_E_STATE if none ran. */
CERTPIN_EXPORT int certpin_wolfssl_tofu_result(certpin_tofu_result *out, struct WOLFSSL *ssl);

/* Release certpin's state of `ssl` (NULL-safe): call it before wolfSSL_free(ssl). */
CERTPIN_EXPORT void certpin_wolfssl_release(struct WOLFSSL *ssl);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_WOLFSSL_H */
