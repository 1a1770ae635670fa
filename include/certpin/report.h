/*
 * certpin/report.h - pin failure reports (RFC 7469 style) and their delivery.
 *
 * libcertpin-report: link with it (pkg-config certpin-report; CMake
 * certpin::report); it needs libcurl and the core library, and is built on
 * the core's public API only.  Include <certpin/report.h> (it includes
 * <certpin.h>).
 *
 * OVERVIEW
 *
 * When a pinned host fails its pin check (enforced or report-only), or its
 * pinset has expired, or -- optionally -- its chain fails PKIX validation,
 * an application can send a failure report to a collector ("certpin collect")
 * so that rollouts and attacks are visible in the field.  A report is a JSON
 * object with the fields of RFC 7469 section 3 plus certpin's own:
 *
 *   "date-time"                    RFC 3339 UTC time of the check
 *   "hostname", "port"             the host checked (normalized) and port
 *   "noted-hostname"               the base name of the policy rule that applied
 *   "include-subdomains"           true if that rule is a wildcard rule
 *   "served-certificate-chain"     the chain the peer sent, PEM strings, leaf first
 *   "validated-certificate-chain"  the chain that was verified, PEM, leaf first
 *   "known-pins"                   the rule's pins: pin-sha256="B64" (SPKI) or
 *                                  cert-sha256="B64" (certificate)
 *   "effective-expiration-date"    the rule's expiry (RFC 3339) or null
 *   "certpin-report-version"       1
 *   "policy-version", "pattern"    the policy's version and the rule's pattern
 *   "verdict"                      "mismatch", "pinset-expired" or "pkix-failure"
 *   "enforce"                      true if the rule is enforced (not report-only)
 *   "allowed"                      true if the connection was allowed to proceed
 *   "served-chain-sha256",         per certificate {"spki": "sha256/B64",
 *   "validated-chain-sha256"         "cert": "cert-sha256/B64"}, leaf first
 *
 * In hashes-only mode (privacy: no certificate, hence no subject names, leaves
 * the device) the two PEM arrays are left out and only the digests are sent.
 * A chain that is not known (the served chain, when a report is built from the
 * digests that the OpenSSL binding's failure callback receives) has no PEM
 * array and an empty digest array ("served-chain-sha256": []); at least one
 * chain is always given.
 *
 * DELIVERY
 *
 * A certpin_reporter owns a bounded in-memory queue and one background thread
 * that posts each report (Content-Type: application/json) to the report URIs
 * with libcurl, and/or hands it to an application callback.  Submitting never
 * blocks on the network and never changes the outcome of a TLS connection: a
 * full queue drops the report (counted).  Failed posts are retried a bounded
 * number of times with exponential backoff; a report that still fails (and
 * every report still queued when the reporter is freed) is written to an
 * optional bounded spool directory (atomic rename), which is re-sent later.
 * Identical failures -- same host, port, chain and result -- are reported
 * once per dedup window (default 24 hours, configurable, 0 disables).
 * There is no default report destination: without URIs or a callback the
 * reporter only counts.
 *
 * Three ways to feed a reporter from OpenSSL:
 *
 *   1. As the binding's failure callback (chain digests only, port from
 *      default_port):
 *        certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
 *        o.on_failure = certpin_reporter_on_failure; o.payload = reporter;
 *        certpin_ssl_ctx_attach(ctx, policy, &o);
 *   2. After each handshake, successful or not (full chains as PEM, peer
 *      port, and PKIX failures of pinned hosts with CERTPIN_REPORTER_PKIX):
 *        SSL_connect(ssl); certpin_reporter_submit_ssl(reporter, ssl);
 *   3. From any TLS stack: fill a certpin_report_input and call
 *      certpin_reporter_submit().
 *
 * Use one of 1 and 2 per connection: their reports do not share dedup keys.
 *
 * THREADS
 *
 * All reporter functions are thread-safe.  The reporter keeps a reference
 * to the policy given to certpin_reporter_new() (and freezes it).  A report
 * is about the reporter's own policy's rule for the result's host name,
 * found by name, so after a connection's policy is swapped (certpin/openssl.h)
 * reports follow the reporter's policy until a new reporter is made for the
 * new one.  The callback runs on the sender thread, never inside a
 * handshake.
 */
#ifndef CERTPIN_REPORT_H
#define CERTPIN_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_st;

/* Largest report certpin_report_parse() accepts, in bytes. */
#define CERTPIN_REPORT_MAX_LEN (256u * 1024u)
/* Most certificates per chain, and most known pins, in a report. */
#define CERTPIN_REPORT_CHAIN_MAX 16
#define CERTPIN_REPORT_PINS_MAX 64

typedef enum certpin_report_kind {
	CERTPIN_REPORT_MISMATCH = 1,        /* no pin matched (enforced or report-only) */
	CERTPIN_REPORT_PINSET_EXPIRED = 2,  /* the rule's pinset had expired */
	CERTPIN_REPORT_PKIX = 3,            /* PKIX validation failed for a pinned host */
	/*
	 * The client could not evaluate the chain at all (TrustKit's
	 * validation-result 3, invalid parameters, and 5, no SPKI hash).  Only
	 * certpin_report_parse_any() yields it; certpin never reports it.
	 */
	CERTPIN_REPORT_VALIDATION_ERROR = 4
} certpin_report_kind;

/* "mismatch", "pinset-expired", "pkix-failure", "validation-error"; "unknown" otherwise. */
CERTPIN_EXPORT const char *certpin_report_kind_name(certpin_report_kind kind);

/* ------------------------------------------------------------------------ */
/* Building reports                                                          */
/* ------------------------------------------------------------------------ */

/*
 * One certificate of a chain to report.  `der` (may be NULL) is the
 * certificate; digests not flagged in `digests.flags` are computed from it.
 * With `der` NULL only the digests are reported.
 */
typedef struct certpin_report_cert {
	certpin_chain_elem digests;
	const unsigned char *der;
	size_t der_len;
} certpin_report_cert;

typedef struct certpin_report_input {
	unsigned int version;               /* CERTPIN_REPORT_INPUT_VERSION */
	const certpin_policy *policy;       /* the policy checked; borrowed */
	const certpin_result *result;       /* the check's result; result->rule must name a rule */
	/*
	 * The check's code: CERTPIN_E_PIN_MISMATCH or CERTPIN_E_PINSET_EXPIRED
	 * (refused), CERTPIN_OK (allowed: report-only mismatch, fail-open expiry),
	 * or CERTPIN_E_PKIX (PKIX failure of a pinned host).
	 */
	int rc;
	unsigned int port;                  /* 1..65535 */
	const certpin_report_cert *served;  /* may be NULL with nserved 0 */
	size_t nserved;
	const certpin_report_cert *validated;
	size_t nvalidated;
	int hashes_only;                    /* 1: digests only, no PEM */
} certpin_report_input;

#define CERTPIN_REPORT_INPUT_VERSION 1
#define CERTPIN_REPORT_INPUT_INIT { CERTPIN_REPORT_INPUT_VERSION, NULL, NULL, 0, 443, NULL, 0, NULL, 0, 0 }

/*
 * Build the JSON report for `in`.  On success *out is a malloc'd,
 * NUL-terminated JSON text (free with free()).  Returns
 * CERTPIN_E_INVALID_ARG if `in` is incomplete, names no rule of the policy,
 * has more than CERTPIN_REPORT_CHAIN_MAX certificates per chain, no chain at
 * all, or describes nothing to report (a match); CERTPIN_E_DECODE if a DER
 * certificate cannot be read; CERTPIN_E_NOMEM.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_report_build(char **out, const certpin_report_input *in);

typedef struct certpin_report_options {
	unsigned int version;               /* CERTPIN_REPORT_OPTIONS_VERSION */
	int hashes_only;                    /* 1: digests only, no PEM */
	unsigned int port;                  /* 0: the peer's port, read from the socket (else 443) */
	int report_pkix;                    /* 1: also report PKIX failures of pinned hosts */
} certpin_report_options;

#define CERTPIN_REPORT_OPTIONS_VERSION 1
#define CERTPIN_REPORT_OPTIONS_INIT { CERTPIN_REPORT_OPTIONS_VERSION, 0, 0, 0 }

/*
 * Build the report for the last pin check on `ssl` (an SSL *, after its
 * handshake finished or failed), from certpin_ssl_result(), the chain the
 * peer sent (SSL_get_peer_cert_chain) and the chain OpenSSL verified
 * (SSL_get0_verified_chain; for a PKIX failure, the part it built).
 * `policy` must be the one attached to the connection.  `opts` may be NULL.
 *
 * Returns CERTPIN_OK with *out as for certpin_report_build();
 * CERTPIN_E_NOT_FOUND if there is nothing to report (host not pinned, pins
 * matched, or a PKIX failure without opts->report_pkix); CERTPIN_E_STATE if
 * no pin check ran on `ssl`; CERTPIN_E_CHAIN if no certificate is available.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_report_from_ssl(char **out, const struct ssl_st *ssl,
	const certpin_policy *policy, const certpin_report_options *opts);

/* ------------------------------------------------------------------------ */
/* Parsing reports (used by the collector)                                   */
/* ------------------------------------------------------------------------ */

/* A validated report.  Plain value; no allocation. */
typedef struct certpin_report_info {
	int64_t date_time;
	char hostname[CERTPIN_HOSTNAME_MAX];        /* normalized */
	unsigned int port;
	char noted_hostname[CERTPIN_HOSTNAME_MAX];  /* normalized */
	int include_subdomains;
	int64_t expires;                            /* 0: none given */
	uint64_t policy_version;                    /* 0: none given */
	certpin_report_kind kind;
	int enforce;
	int allowed;                                /* -1: not given */
	size_t nknown;
	certpin_pin known[CERTPIN_REPORT_PINS_MAX];
	/* Digests per certificate, leaf first; from the PEM when present. */
	size_t nserved;
	certpin_chain_elem served[CERTPIN_REPORT_CHAIN_MAX];
	size_t nvalidated;
	certpin_chain_elem validated[CERTPIN_REPORT_CHAIN_MAX];
	int served_pem, validated_pem;              /* 1 if that chain came as PEM */
	/* Dedup key: SHA-256 over host, port, verdict, enforce and the chain. */
	unsigned char key[CERTPIN_DIGEST_LEN];
} certpin_report_info;

/*
 * Parse and validate a report.  Required: "date-time", "hostname", "port",
 * "noted-hostname", "known-pins", "verdict", "enforce" and at least one chain
 * (PEM or digests).  Optional: "include-subdomains",
 * "effective-expiration-date" (string or null), "policy-version",
 * "certpin-report-version" (1), "allowed", "pattern".  Other keys are
 * ignored (forward compatibility).  Every PEM entry must be exactly one
 * certificate; when a chain is given both as PEM and as digests they must
 * agree.  Duplicate keys, wrong types, bad names, ports, dates or pins, chains
 * longer than CERTPIN_REPORT_CHAIN_MAX and texts longer than
 * CERTPIN_REPORT_MAX_LEN are rejected.
 *
 * Returns CERTPIN_OK, CERTPIN_E_REPORT, CERTPIN_E_INVALID_ARG (NULL `out` or
 * `json`) or CERTPIN_E_NOMEM.  `*out` is zeroed on error.  `err` (may be
 * NULL) is cleared on success; on error it has the code, a one-line reason
 * ("missing \"port\"", "\"known-pins\"[2] is not a pin", ...), the JSON
 * pointer of the member at fault ("/port", "/known-pins/2"; "" for the
 * report as a whole) and, for a JSON syntax error, its line and column.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_report_parse(certpin_report_info *out,
	const char *json, size_t len, certpin_error *err);

/* The report formats certpin_report_parse_any() reads. */
typedef enum certpin_report_format {
	CERTPIN_REPORT_FORMAT_CERTPIN = 1,  /* certpin's own (certpin_report_build) */
	CERTPIN_REPORT_FORMAT_RFC7469 = 2,  /* RFC 7469 section 3, as browsers sent it */
	CERTPIN_REPORT_FORMAT_TRUSTKIT = 3  /* TrustKit's pin failure report (iOS/macOS and Android TrustKit) */
} certpin_report_format;

/* "certpin", "rfc7469", "trustkit"; "unknown" otherwise. */
CERTPIN_EXPORT const char *certpin_report_format_name(certpin_report_format format);

/* Bytes of each app field of a certpin_report_origin, the NUL included. */
#define CERTPIN_REPORT_APP_FIELD_MAX 256

/* Where a parsed report came from.  Plain value; no allocation. */
typedef struct certpin_report_origin {
	unsigned int version;               /* CERTPIN_REPORT_ORIGIN_VERSION, set by the library */
	certpin_report_format format;
	/*
	 * TrustKit's app fields as sent ("" when absent; always "" for the other
	 * formats): "app-bundle-id" (bundle ID or Android package), "app-version"
	 * (CFBundleShortVersionString or versionName), "app-platform" ("IOS",
	 * "MACOS", "TVOS", "WATCHOS", "ANDROID"), "app-platform-version" (iOS
	 * only), "app-vendor-id" (a per-install UUID), "trustkit-version".
	 */
	char app_bundle_id[CERTPIN_REPORT_APP_FIELD_MAX];
	char app_version[CERTPIN_REPORT_APP_FIELD_MAX];
	char app_platform[CERTPIN_REPORT_APP_FIELD_MAX];
	char app_platform_version[CERTPIN_REPORT_APP_FIELD_MAX];
	char app_vendor_id[CERTPIN_REPORT_APP_FIELD_MAX];
	char trustkit_version[CERTPIN_REPORT_APP_FIELD_MAX];
	int validation_result;              /* TrustKit's "validation-result" (1..5); -1 for the other formats */
} certpin_report_origin;

#define CERTPIN_REPORT_ORIGIN_VERSION 1

/*
 * Parse and validate a report of any format a collector receives, told
 * apart by its members:
 *
 *   - TrustKit (any of "app-bundle-id", "app-version", "app-platform",
 *     "trustkit-version", "validation-result", "enforce-pinning"): required
 *     "app-bundle-id", "app-version", "app-platform", "trustkit-version",
 *     "validation-result" (an integer 1..5; 0, a success, is refused),
 *     "enforce-pinning", "date-time", "hostname", "port" (0..65535: TrustKit
 *     sends 0, "not known"), "noted-hostname", "known-pins" and a PEM chain
 *     ("validated-certificate-chain", Android also "served-certificate-chain");
 *     optional "app-platform-version", "app-vendor-id", "include-subdomains",
 *     "known-pins-expiration-date" (a date or null).  validation-result 1
 *     and 4 are CERTPIN_REPORT_MISMATCH, 2 CERTPIN_REPORT_PKIX, 3 and 5
 *     CERTPIN_REPORT_VALIDATION_ERROR; "enforce-pinning" is `enforce`.
 *   - certpin's own (any of "certpin-report-version", "verdict", "enforce",
 *     "allowed", "policy-version", "pattern", "served-chain-sha256",
 *     "validated-chain-sha256"): exactly as certpin_report_parse().
 *   - RFC 7469 section 3 otherwise: required "date-time", "hostname",
 *     "port" (1..65535), "noted-hostname", "known-pins" and a PEM chain
 *     ("served-certificate-chain" and/or "validated-certificate-chain");
 *     optional "include-subdomains", "effective-expiration-date".  The kind
 *     is CERTPIN_REPORT_MISMATCH and `enforce` 1 (RFC 7469 has no
 *     report-only flag in the report itself).
 *
 * App fields must be strings of at most CERTPIN_REPORT_APP_FIELD_MAX - 1
 * bytes without control characters.  Otherwise as certpin_report_parse():
 * the same limits, the same checks of names, ports, dates, pins and PEM
 * (every certificate decoded, its digests computed here), the same `err`.
 * `origin` (may be NULL) gets the format and the app fields; it is zeroed
 * on error.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_report_parse_any(certpin_report_info *out,
	certpin_report_origin *origin, const char *json, size_t len, certpin_error *err);

/* ------------------------------------------------------------------------ */
/* Reporter: queue, background sender, retries, spool, dedup                */
/* ------------------------------------------------------------------------ */

typedef struct certpin_reporter certpin_reporter;

/*
 * Application hook: called on the sender thread once for every report that
 * passed dedup (including ones loaded from the spool), before any URI is
 * posted.  `json` is borrowed for the call.  Routing reports elsewhere is
 * the application's business; the URIs, if any, are still posted.
 */
typedef void (*certpin_report_cb)(const char *json, size_t len, void *payload);

#define CERTPIN_REPORTER_HASHES_ONLY 1u  /* send chain digests, never certificates */
#define CERTPIN_REPORTER_PKIX 2u         /* certpin_reporter_submit_ssl(): also report PKIX failures */
/*
 * Allow http:// report URIs.  Reports name the hosts a client talks to and
 * the certificates it saw; over plain HTTP anyone on the path reads and can
 * suppress them.  For loopback collectors and tests only.
 */
#define CERTPIN_REPORTER_INSECURE_HTTP 4u

#define CERTPIN_REPORTER_URIS_MAX 8

typedef struct certpin_reporter_options {
	unsigned int version;               /* CERTPIN_REPORTER_OPTIONS_VERSION */
	unsigned int flags;                 /* CERTPIN_REPORTER_* */
	/*
	 * https:// URIs (copied); up to CERTPIN_REPORTER_URIS_MAX.  With none,
	 * each report goes to the report URIs the policy gives for its host
	 * (certpin_policy_report_uris(): the host's "report_uris", else the
	 * policy's); a host with neither is reported to the callback only.
	 */
	const char *const *report_uris;
	size_t nreport_uris;
	certpin_report_cb callback;         /* may be NULL */
	void *payload;                      /* for callback */
	int64_t dedup_window;               /* seconds; 0 disables dedup */
	size_t dedup_max;                   /* keys remembered; the oldest is forgotten first */
	size_t queue_max;                   /* reports waiting in memory */
	unsigned int max_attempts;          /* posts per report and URI (>= 1) */
	unsigned int backoff_ms;            /* wait before the first retry; doubles each time */
	unsigned int backoff_max_ms;        /* cap of the wait */
	unsigned int timeout_ms;            /* whole POST, connect included */
	const char *spool_dir;              /* existing directory, or NULL for no spool (copied) */
	size_t spool_max;                   /* files kept in the spool */
	unsigned int spool_retry_s;         /* seconds between re-sends of spooled reports */
	const char *ca_file;                /* trust anchors for https URIs; NULL: system default (copied) */
	unsigned int default_port;          /* port in reports from certpin_reporter_on_failure() */
} certpin_reporter_options;

#define CERTPIN_REPORTER_OPTIONS_VERSION 1
#define CERTPIN_REPORTER_OPTIONS_INIT { CERTPIN_REPORTER_OPTIONS_VERSION, 0, NULL, 0, NULL, NULL, \
	86400, 4096, 256, 4, 1000, 60000, 10000, NULL, 256, 300, NULL, 443 }

/*
 * Create a reporter for `policy` (it takes a reference, see THREADS) and start its sender thread (only if there is a URI, in the
 * options or the policy, or a callback).  Every URI, the policy's included,
 * must start with "https://" (or "http://" with
 * CERTPIN_REPORTER_INSECURE_HTTP) and contain no spaces or control characters.  Reports already in the spool are sent first.
 * Returns CERTPIN_E_INVALID_ARG for a bad option, CERTPIN_E_IO if the spool
 * directory is not a writable directory, CERTPIN_E_NOMEM, CERTPIN_E_TLS if
 * libcurl cannot be initialized.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_reporter_new(certpin_reporter **out,
	certpin_policy *policy, const certpin_reporter_options *opts);

/*
 * Stop the sender (an in-flight POST is aborted within about 100 ms), write
 * every report not yet delivered to the spool (if any; else they are lost and
 * counted as dropped) and free.  NULL-safe.
 */
CERTPIN_EXPORT void certpin_reporter_free(certpin_reporter *reporter);

/* certpin_reporter_submit*() return values besides errors. */
#define CERTPIN_REPORT_QUEUED 0      /* queued for delivery (CERTPIN_OK) */
#define CERTPIN_REPORT_DUPLICATE 1   /* same failure reported within the dedup window */
#define CERTPIN_REPORT_NONE 2        /* nothing to report */

/*
 * Queue a report.  Returns CERTPIN_REPORT_QUEUED, CERTPIN_REPORT_DUPLICATE,
 * CERTPIN_E_BUSY if the queue is full (the report is dropped and not
 * remembered for dedup), or an error of certpin_report_build().
 */
CERTPIN_EXPORT int certpin_reporter_submit(certpin_reporter *reporter, const certpin_report_input *in);

/*
 * Queue the report for the last check on `ssl` (an SSL *), as
 * certpin_report_from_ssl() builds it with the reporter's flags.  Call it
 * after every handshake attempt.  Returns as certpin_reporter_submit(), or
 * CERTPIN_REPORT_NONE if there is nothing to report or no check ran.
 */
CERTPIN_EXPORT int certpin_reporter_submit_ssl(certpin_reporter *reporter, const struct ssl_st *ssl);

/*
 * A certpin_failure_cb: pass it as certpin_ssl_options.on_failure with the
 * reporter as payload.  Reports carry the verified chain's digests only and
 * the reporter's default_port.  Errors are counted, never raised.
 */
CERTPIN_EXPORT void certpin_reporter_on_failure(const certpin_result *result,
	const certpin_chain_elem *chain, size_t n, void *payload);

/*
 * Wait until every queued report has been delivered or given up on (moved
 * to the spool or dropped), for at most `timeout_ms`.  Returns CERTPIN_OK or
 * CERTPIN_E_BUSY on timeout.
 */
CERTPIN_EXPORT int certpin_reporter_flush(certpin_reporter *reporter, unsigned int timeout_ms);

typedef struct certpin_reporter_stats {
	uint64_t submitted;     /* reports offered (all submit calls that built a report) */
	uint64_t duplicates;    /* suppressed by dedup */
	uint64_t queued;        /* waiting now (including retry waits) */
	uint64_t delivered;     /* reports every URI accepted (or the callback took, without URIs) */
	uint64_t attempts;      /* POSTs made */
	uint64_t retries;       /* POSTs that were retries */
	uint64_t rejected;      /* reports some URI refused with a 4xx other than 408/429 (that URI is not
	                           asked again; the report's other URIs keep their retries) */
	uint64_t spooled;       /* reports written to the spool */
	uint64_t unspooled;     /* reports loaded back from the spool */
	uint64_t dropped;       /* lost: queue full, spool full or absent, build errors; a lost report
	                           is not remembered for dedup, so the same failure is reported again */
} certpin_reporter_stats;

/* Counters since creation. */
CERTPIN_EXPORT void certpin_reporter_get_stats(const certpin_reporter *reporter, certpin_reporter_stats *out);

/* ------------------------------------------------------------------------ */
/* HTTPS fetch of a signed policy bundle                                     */
/* ------------------------------------------------------------------------ */

typedef struct certpin_fetch_options {
	unsigned int version;           /* CERTPIN_FETCH_OPTIONS_VERSION */
	const char *cafile;             /* PKIX trust anchors (PEM file); NULL = libcurl's default store */
	const char *connect_host;       /* connect to this address instead of the URL host; the
	                                   certificate is still checked against the URL host */
	size_t max_bytes;               /* largest body accepted; 0 = CERTPIN_BUNDLE_MAX */
	unsigned int timeout_ms;        /* whole transfer, connect included; 0 = 30000 */
} certpin_fetch_options;

#define CERTPIN_FETCH_OPTIONS_VERSION 1
#define CERTPIN_FETCH_OPTIONS_INIT { CERTPIN_FETCH_OPTIONS_VERSION, NULL, NULL, 0, 0 }

typedef struct certpin_fetch_result {
	unsigned int version;           /* CERTPIN_FETCH_RESULT_VERSION, set by the library */
	int http_status;                /* status code received, 0 if none */
	int pin_rc;                     /* certpin_ssl_result() code of the handshake; CERTPIN_E_STATE if none ran */
	certpin_result pin;             /* and its verdict */
} certpin_fetch_result;

#define CERTPIN_FETCH_RESULT_VERSION 2

/*
 * GET `url` ("https://HOST[:PORT]/PATH"; HOST a DNS name, IPv4 or [IPv6])
 * with libcurl, over TLS 1.2 or later, with `current` attached to libcurl's
 * SSL_CTX by certpin_ssl_ctx_attach(): PKIX validation against the URL
 * host (libcurl's VERIFYPEER and VERIFYHOST stay on), then the current
 * policy's pins.  Attaching freezes `current` and takes a reference for the
 * transfer.  The URL host must have a rule in `current`
 * (CERTPIN_E_NOT_FOUND otherwise): the fetch is pinned, never plain PKIX.
 * https only, no redirects, no proxy (environment proxies are ignored), no
 * TLS session reuse; one deadline for the whole transfer; only a 200
 * response's body is accepted, at most max_bytes (announced or not), and a
 * body that ends before its Content-Length or without the TLS close is
 * refused.  On success `*out` is the malloc'd body (NUL-terminated,
 * `*outlen` bytes).
 *
 * Errors: the pin decision's code when the handshake was refused by the pins
 * (CERTPIN_E_PIN_MISMATCH, CERTPIN_E_PINSET_EXPIRED, CERTPIN_E_PKIX for a
 * chain that failed validation, ...; also in result->pin_rc and
 * result->pin), CERTPIN_E_TLS, CERTPIN_E_IO (network, timeout, HTTP status,
 * size), CERTPIN_E_INVALID_ARG (bad URL or argument), CERTPIN_E_NOMEM.
 * `err` (may be NULL) is cleared on success and on error has the code and
 * a one-line reason naming the host ("api.example.com: refused by the
 * current policy: ...", "URL: only https:// URLs are fetched").  The body
 * is NOT verified: pass it to certpin_policy_update_from_bundle().
 * `result` and `opts` may be NULL.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_fetch(char **out, size_t *outlen,
	certpin_fetch_result *result, const char *url, certpin_policy *current,
	const certpin_fetch_options *opts, certpin_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_REPORT_H */
