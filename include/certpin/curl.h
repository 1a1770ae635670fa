/*
 * certpin/curl.h - libcertpin-curl: a policy's pins checked on every
 * HTTPS connection of a libcurl easy handle, in one call.
 *
 *     certpin_curl_attach(easy, policy, NULL, &err);   // after your own setopts
 *     curl_easy_perform(easy);
 *     certpin_curl_result(easy, &result, &err);        // why, also after a failure
 *
 * Link with `pkg-config --libs certpin-curl` (or CMake certpin::curl).
 * libcurl must use OpenSSL (3.x, the one certpin uses) as its TLS backend,
 * and be 7.80 or later; otherwise certpin_curl_attach() fails with
 * CERTPIN_E_UNSUPPORTED and says why in `err`.  Other backends (GnuTLS,
 * NSS, wolfSSL, mbedTLS, ...) hand the SSL_CTX callback another library's
 * object, or none: pinning them through this helper is refused, never
 * skipped.
 *
 * HOW IT WORKS
 *
 * libcurl's OpenSSL backend makes a new SSL_CTX for every new TLS
 * connection and hands it to CURLOPT_SSL_CTX_FUNCTION before making the
 * connection's SSL from it (lib/vtls/openssl.c, ossl_connect_step1(),
 * libcurl 7.88).  The helper's SSL_CTX callback takes the host name from
 * the transfer's URL (CURLINFO_EFFECTIVE_URL: the name libcurl verifies;
 * CURLOPT_CONNECT_TO and CURLOPT_RESOLVE change where it connects, not
 * that name), makes it the host name or IP address OpenSSL verifies the
 * certificate for, and attaches the policy with certpin_ssl_ctx_attach():
 * OpenSSL's PKIX validation first, then the pins on the chain it verified.
 * The verdict of each connection is kept with it; a result callback
 * (certpin_ssl_options version 2) records it even when the handshake is
 * refused and libcurl frees the connection.
 *
 * Before every request, on a new connection or a reused one, the helper's
 * CURLOPT_PREREQFUNCTION callback looks up the verdict of the connection
 * the transfer is about to use and makes it the handle's result.  A
 * connection that certpin did not check, or checked under another policy,
 * TOFU store or options than the handle's current ones, is not used: the
 * transfer fails with CURLE_ABORTED_BY_CALLBACK before sending anything,
 * and the result says why (CERTPIN_E_STATE).  So a reused connection keeps
 * the verdict it was checked with, and a new connection is checked anew.
 *
 * IP LITERALS
 *
 * For a URL such as https://192.0.2.1/ libcurl sends no SNI and checks the
 * address in the certificate itself after the handshake, so an OpenSSL
 * adapter attached by hand sees no name and refuses every such connection
 * when anything is pinned (curl error 60).  The helper gives OpenSSL the
 * address (X509_VERIFY_PARAM_set1_ip_asc()): the policy's rule for that IP
 * applies, and OpenSSL verifies the address against the certificate.  A
 * host name is given with X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, as libcurl
 * matches names.
 *
 * CURLOPT_SSL_VERIFYPEER AND CURLOPT_SSL_VERIFYHOST
 *
 * With CURLOPT_SSL_VERIFYPEER set to 0, a connection is refused
 * (CURLE_BAD_FUNCTION_ARGUMENT; CERTPIN_E_INVALID_ARG and the reason in
 * the result) unless the attachment has CERTPIN_CURL_INSECURE_PIN_ONLY:
 * then, for such connections only, the pins are the only trust
 * (CERTPIN_SSL_INSECURE_PIN_ONLY, see certpin.h): no PKIX validation, the
 * peer's leaf must match a leaf or any pin, unpinned hosts are refused.
 * With VERIFYPEER on (the default) the flag changes nothing.
 * CURLOPT_SSL_VERIFYHOST=0 is not honoured for checked connections:
 * OpenSSL verifies the URL's host, since it decides which pins apply.
 *
 * WHAT THE HELPER OWNS
 *
 * certpin_curl_attach() sets CURLOPT_SSL_CTX_FUNCTION, CURLOPT_SSL_CTX_DATA,
 * CURLOPT_PREREQFUNCTION and CURLOPT_PREREQDATA, and turns libcurl's TLS
 * session cache off (CURLOPT_SSL_SESSIONID_CACHE 0): a resumed session
 * verifies no certificate, so every new connection makes a full, checked
 * handshake (keep-alive reuse of a connection is unaffected).  Attach last
 * and do not set these options afterwards; an SSL_CTX callback of your own
 * goes into certpin_curl_options.ssl_ctx.  A connection made without the
 * helper's SSL_CTX callback is never used by an attached handle (above).
 *
 * MULTI, THREADS, DUPLICATES
 *
 * Each easy handle of a multi handle is attached on its own; handles that
 * share connections (the multi's connection cache, a share handle) reuse
 * each other's connections only when attached to the same policy object,
 * TOFU store and flags.  Results are per easy handle.  Calls on different
 * handles may run on different threads.  A handle copied with
 * curl_easy_duphandle() is not attached: attach the copy before using it
 * (until then its new connections are checked with the original's policy
 * but reported nowhere, and the reuse check fails closed).
 *
 * LIMITS
 *
 * HTTPS proxies are not supported: libcurl calls the SSL_CTX callback for
 * the proxy's TLS connection as well, with nothing to tell the two apart,
 * so the proxy's certificate would be verified for the URL's host and the
 * transfer fails (closed).  Plain http:// transfers have no TLS to check:
 * to a host the policy pins (or with a TOFU store, to any host) they are
 * refused like an unchecked connection; to another host they proceed and
 * the result is CERTPIN_E_STATE.
 */
#ifndef CERTPIN_CURL_H
#define CERTPIN_CURL_H

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * libcurl's easy handle type, declared as <curl/curl.h> declares it (an
 * identical typedef is allowed in C11 and C++), so that this header needs
 * no libcurl headers.  With CURL_STRICTER, include <curl/curl.h> first.
 */
#if !defined(CURLINC_CURL_H)
typedef void CURL;
#endif

struct ssl_ctx_st;

/*
 * The application's own SSL_CTX setup (client certificate, extra trust
 * anchors, ...), called on each new connection's SSL_CTX before certpin
 * attaches to it, with the options' payload.  Return CERTPIN_OK, or any
 * other code to refuse the connection (CURLE_ABORTED_BY_CALLBACK; the
 * code is the result).  It must not replace the SSL_CTX's certificate
 * verification callback (certpin's would replace it anyway).
 */
typedef int (*certpin_curl_ssl_ctx_cb)(CURL *easy, struct ssl_ctx_st *ctx, void *payload);

/* Pin-only trust for connections made with CURLOPT_SSL_VERIFYPEER 0 (see above); for self-signed devices. */
#define CERTPIN_CURL_INSECURE_PIN_ONLY 1u

typedef struct certpin_curl_options {
	unsigned int version;           /* CERTPIN_CURL_OPTIONS_VERSION */
	unsigned int flags;             /* CERTPIN_CURL_INSECURE_PIN_ONLY or 0 */
	certpin_tofu *tofu;             /* a TOFU store checked after the policy (referenced); NULL: none */
	certpin_failure_cb on_failure;  /* as in certpin_ssl_options (e.g. certpin_reporter_on_failure) */
	certpin_result_cb on_result;    /* as in certpin_ssl_options: after every check */
	certpin_curl_ssl_ctx_cb ssl_ctx; /* see above; may be NULL */
	void *payload;                  /* passed to the three callbacks */
} certpin_curl_options;

#define CERTPIN_CURL_OPTIONS_VERSION 1
#define CERTPIN_CURL_OPTIONS_INIT { CERTPIN_CURL_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL }

/*
 * Check `policy` (and opts->tofu) on every connection of `easy` (see
 * above).  `policy` may be NULL only with a TOFU store.  Freezes the policy
 * and takes references to it and to the store: the caller may drop its
 * own at once.  Attaching again replaces the policy, store and options for
 * the transfers that follow.  Not during a transfer of `easy`.
 *
 * Returns CERTPIN_OK; CERTPIN_E_INVALID_ARG (`easy` NULL, no policy and no
 * store, an unknown options version or flag, pin-only trust with a TOFU
 * store); CERTPIN_E_UNSUPPORTED (libcurl older than 7.80, or its TLS
 * backend is not the OpenSSL certpin uses); CERTPIN_E_NOMEM.  `err` (may
 * be NULL) says why.  On failure `easy` is left as it was.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_curl_attach(CURL *easy, certpin_policy *policy,
	const certpin_curl_options *opts, certpin_error *err);

/*
 * The verdict of the connection that the last transfer of `easy` used
 * (after curl_easy_perform() returns, or when the multi handle reports the
 * transfer done), whether it went through or failed: the certpin code of
 * its check, `out` (may be NULL) filled as certpin_ssl_result() fills it:
 * the rule, the matching pin and its depth, the host checked, OpenSSL's
 * error for a PKIX failure.  CERTPIN_OK means the check allowed it (also a
 * report-only mismatch or an expired fail-open pinset: see out->verdict).
 * A reused connection reports the verdict of its check.
 *
 * `err` (may be NULL) gets one line for anything but an outright match or
 * an unpinned host: the host, the rule, for a mismatch the pins the rule
 * wants and those the verified chain presented, the PKIX error, or the
 * helper's own reason (VERIFYPEER off, an unchecked or differently checked
 * connection, no TLS); err->code is the returned code (CERTPIN_OK with a
 * message: a report-only mismatch or an expired pinset that let it pass).
 *
 * CERTPIN_E_STATE: no check for the last transfer (it made no TLS
 * connection, its handshake failed before the server's certificate, or the
 * helper refused the connection before using it: see `err`).
 * CERTPIN_E_INVALID_ARG: `easy` is not attached.
 */
CERTPIN_EXPORT int certpin_curl_result(CURL *easy, certpin_result *out, certpin_error *err);

/*
 * The TOFU store's verdict for the same connection: its code, `out` (may
 * be NULL) filled; CERTPIN_E_STATE if no store checked it.
 */
CERTPIN_EXPORT int certpin_curl_tofu_result(CURL *easy, certpin_tofu_result *out);

/*
 * Undo certpin_curl_attach(): the four options go back to NULL (the handle
 * then makes unpinned transfers), the session cache stays off, the
 * helper's state for `easy` is freed.  Call it before curl_easy_cleanup()
 * of every attached handle (the helper cannot tell when libcurl frees a
 * handle); NULL-safe, and a no-op for a handle not attached.  Connections
 * already made keep their verdicts.
 */
CERTPIN_EXPORT void certpin_curl_detach(CURL *easy);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_CURL_H */
