/*
 * certpin.h - TLS certificate and public-key pinning for C clients.
 *
 * OVERVIEW
 *
 * A pin is the SHA-256 digest of a certificate's SubjectPublicKeyInfo (SPKI,
 * the DER of the whole SEQUENCE: algorithm identifier plus key bits) or, as a
 * second kind, of the whole certificate DER.  A policy maps host patterns to
 * pinsets; a connection to a pinned host is accepted only if a certificate of
 * the chain that the TLS library *verified* matches one of the pins, at the
 * chain position the pin allows.
 *
 * The library has three layers:
 *
 *   1. Values: certpin_pin (parse/format pin strings, compute pins from
 *      certificates, keys and CSRs).
 *   2. Policy and decision engine: certpin_policy (built in code or loaded from
 *      JSON, see certpin-policy(5)) and certpin_verify(), which takes a hostname,
 *      the digests of a verified chain and a time, and returns a verdict.  The
 *      engine uses no OpenSSL types, so other TLS stacks can reuse it.
 *   3. Adapters, one per TLS stack: certpin_ssl_ctx_attach()
 *      (<certpin/openssl.h>) checks pins after PKIX validation on every
 *      handshake of an SSL_CTX.
 *
 * Three-line integration with OpenSSL:
 *
 *     certpin_policy *p = NULL;
 *     certpin_error err;
 *     if (certpin_policy_load_file(&p, "pins.json", NULL, &err) != CERTPIN_OK) die(err.message);
 *     if (certpin_ssl_ctx_attach(ctx, p, NULL) != CERTPIN_OK) die("cannot attach pins");
 *     certpin_policy_free(p); // the SSL_CTX keeps its own reference; SSL_set1_host(ssl, host) per connection
 *
 * Both calls are warn_unused_result: an attach that failed and went unnoticed
 * would leave the connections unpinned.
 *
 * HOST PATTERNS AND PRECEDENCE
 *
 *   "example.com"      exactly that host
 *   "*.example.com"    exactly one label below example.com (not a.b.example.com,
 *                      not example.com)
 *   "**.example.com"   example.com and any depth below it; the same as
 *                      "example.com" with include_subdomains set
 *   "192.0.2.1", "2001:db8::1"   IP literals, matched exactly, never by pattern
 *
 * Names are normalized before matching: ASCII lowercase, one trailing dot
 * removed; non-ASCII (U-labels) is rejected, use A-labels ("xn--...").  For a
 * host, the most specific rule wins: the rule whose base name is longest, and
 * for the same base, exact > "*." > "**.".  For "a.b.example.com" the order is
 * "a.b.example.com", "**.a.b.example.com", "*.b.example.com",
 * "**.b.example.com", "**.example.com", "**.com".  Exactly one rule applies;
 * pinsets are never merged.
 *
 * ERRORS
 *
 * Every function that can fail returns a certpin_code: CERTPIN_OK (0) or a
 * negative code.  A pin mismatch (CERTPIN_E_PIN_MISMATCH) is distinct from
 * parse, I/O and TLS errors.  certpin_strerror() gives a fixed message per
 * code; a certpin_error gives the detail of one failure (message, and the
 * JSON path or line where the input was at fault).
 *
 * OWNERSHIP AND THREADS
 *
 * Setters and loaders copy their inputs.  Pointers returned by const getters
 * are borrowed from the handle and stay valid until the handle is modified or
 * freed.  A loaded or attached policy is frozen and reference-counted (see
 * LIFE OF A POLICY): it never changes, any number of threads and
 * connections may read it, and each attachment keeps it alive for as long
 * as it needs it.  Building a policy is not thread-safe on that policy.
 */
#ifndef CERTPIN_H
#define CERTPIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CERTPIN_VERSION_MAJOR 0
#define CERTPIN_VERSION_MINOR 1
#define CERTPIN_VERSION_PATCH 0
#define CERTPIN_VERSION_STRING "0.2.0"

#if defined(__GNUC__) || defined(__clang__)
#define CERTPIN_MUST_CHECK __attribute__((warn_unused_result))
#define CERTPIN_EXPORT __attribute__((visibility("default")))
#else
#define CERTPIN_MUST_CHECK
#define CERTPIN_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum certpin_code {
	CERTPIN_OK = 0,
	CERTPIN_E_PIN_MISMATCH = -1,    /* no pin of the host's pinset matched the verified chain */
	CERTPIN_E_PINSET_EXPIRED = -2,  /* pinset expired and its policy says fail-closed */
	CERTPIN_E_INVALID_ARG = -3,     /* NULL or out-of-range argument */
	CERTPIN_E_NOMEM = -4,
	CERTPIN_E_PIN_SYNTAX = -5,      /* pin string not in a known format, bad base64/hex */
	CERTPIN_E_PIN_LENGTH = -6,      /* digest is not 32 bytes */
	CERTPIN_E_UNSUPPORTED = -7,     /* unknown hash algorithm, key type or format */
	CERTPIN_E_POLICY = -8,          /* policy document invalid (the certpin_error says where and why) */
	CERTPIN_E_HOSTNAME = -9,        /* hostname or pattern invalid, or none known */
	CERTPIN_E_DUPLICATE = -10,      /* defined twice: host pattern, pin, or trust anchor key */
	CERTPIN_E_NOT_FOUND = -11,      /* no such host pattern in the policy */
	CERTPIN_E_IO = -12,             /* file could not be read or written */
	CERTPIN_E_DECODE = -13,         /* PEM/DER input could not be decoded */
	CERTPIN_E_CHAIN = -14,          /* verified chain missing, empty or unreadable */
	CERTPIN_E_PKIX = -15,           /* certificate chain did not pass PKIX validation */
	CERTPIN_E_TLS = -16,            /* TLS library error */
	CERTPIN_E_STATE = -17,          /* not valid in this state: no check yet, or the policy is frozen */
	CERTPIN_E_REPORT = -18,         /* failure report malformed (see certpin_report_parse) */
	CERTPIN_E_BUSY = -19,           /* queue full or timed out waiting (reporter) */
	CERTPIN_E_BUNDLE = -20,         /* signed policy bundle malformed (see certpin/bundle.h) */
	CERTPIN_E_SIGNATURE = -21,      /* bundle signature does not verify */
	CERTPIN_E_UNTRUSTED_KEY = -22,  /* bundle signed by a key that is not a trusted anchor */
	CERTPIN_E_ROLLBACK = -23,       /* bundle version not newer than the stored one */
	CERTPIN_E_EXPIRED_BUNDLE = -24, /* bundle past its expiry time */
	CERTPIN_E_STORE = -25,          /* on-disk store (bundle state, known_pins) corrupt */
	CERTPIN_E_LOCKED = -26          /* store lock not acquired within the timeout */
} certpin_code;

/*
 * The detail of a failure: one model for every call that has more to say
 * than its code.  Such calls take `certpin_error *err` as their last
 * parameter (NULL: no detail wanted) and fill it when they fail; the code is
 * returned as well.  Handles keep no error state of their own.
 */
typedef struct certpin_error {
	int code;                       /* the code the call returned (CERTPIN_OK: no failure) */
	char message[512];              /* one line naming the input and the reason, no final newline */
	char path[128];                 /* where in a JSON input: a JSON pointer ("/hosts/2/pins/0"), else "" */
	unsigned long line;             /* where in a text input (XML, known_pins, pin lists): 1-based, else 0 */
	unsigned long column;           /* 1-based column in that line, else 0 */
} certpin_error;

/* Reset `err` (NULL-safe) to code CERTPIN_OK with no detail. */
CERTPIN_EXPORT void certpin_error_clear(certpin_error *err);

#if defined(__GNUC__) || defined(__clang__)
#define CERTPIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CERTPIN_PRINTF(f, a)
#endif

/*
 * Fill `err` (NULL-safe; its old content is dropped) with `code`, the JSON
 * pointer `path` (NULL: none), the text `line` (0: none) and a message made
 * from `fmt` (truncated to fit); returns `code`.  For layers built on the
 * core (the report and tools libraries, applications) that report in the
 * same model; a warning is the same with code CERTPIN_OK.
 */
CERTPIN_EXPORT int certpin_error_set(certpin_error *err, int code, const char *path, unsigned long line,
	const char *fmt, ...) CERTPIN_PRINTF(5, 6);

/*
 * Called for each warning of a call that can warn (an import or export that
 * cannot express something, ...): `warning->code` is CERTPIN_OK and the
 * rest is filled as for an error.  Borrowed for the duration of the call.
 */
typedef void (*certpin_warning_cb)(const certpin_error *warning, void *payload);

/* Fixed, human-readable message for a code; never NULL. */
CERTPIN_EXPORT const char *certpin_strerror(int code);

/* Short stable identifier for a code, e.g. "pin-mismatch"; never NULL. */
CERTPIN_EXPORT const char *certpin_error_name(int err);

/* Library version string, e.g. "0.2.0". */
CERTPIN_EXPORT const char *certpin_version(void);

/* ------------------------------------------------------------------------ */
/* Times                                                                     */
/* ------------------------------------------------------------------------ */

/* Largest instant certpin reads or writes: 9999-12-31T23:59:59Z. */
#define CERTPIN_TIME_MAX INT64_C(253402300799)
/* Bytes certpin_time_format() needs, the NUL included. */
#define CERTPIN_TIME_STRLEN 21

/*
 * Parse a date "YYYY-MM-DD" (00:00:00Z that day) or an RFC 3339 date-time
 * "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" into Unix seconds in
 * [0, CERTPIN_TIME_MAX].  CERTPIN_OK, or CERTPIN_E_INVALID_ARG for anything
 * else (`*out` unchanged).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_time_parse(int64_t *out, const char *s);

/*
 * Format Unix time `t` (0 .. CERTPIN_TIME_MAX) as "YYYY-MM-DDTHH:MM:SSZ" into
 * `out` (at least CERTPIN_TIME_STRLEN bytes).  CERTPIN_E_INVALID_ARG (and ""
 * when `outlen` allows) if `t` is out of range or `out` too small.
 */
CERTPIN_EXPORT int certpin_time_format(char *out, size_t outlen, int64_t t);

/* ------------------------------------------------------------------------ */
/* Pins                                                                      */
/* ------------------------------------------------------------------------ */

#define CERTPIN_DIGEST_LEN 32

typedef enum certpin_pin_kind {
	CERTPIN_PIN_SPKI_SHA256 = 1,    /* SHA-256 of SubjectPublicKeyInfo DER */
	CERTPIN_PIN_CERT_SHA256 = 2     /* SHA-256 of the whole certificate DER */
} certpin_pin_kind;

/* A pin is a plain value: copy it freely. */
typedef struct certpin_pin {
	certpin_pin_kind kind;
	unsigned char digest[CERTPIN_DIGEST_LEN];
} certpin_pin;

/*
 * Parse one pin.  Accepted forms (surrounding whitespace ignored):
 *
 *   sha256/BASE64          SPKI pin, OkHttp / HPKP value form
 *   sha256//BASE64         SPKI pin, curl --pinnedpubkey form (one entry)
 *   pin-sha256="BASE64"    SPKI pin, HPKP header directive form
 *   sha256:HEX, HEX        SPKI pin as 64 hex digits, ':' separators allowed
 *   cert-sha256/BASE64     certificate pin
 *   cert-sha256:HEX        certificate pin, hex
 *
 * Returns CERTPIN_E_PIN_SYNTAX for anything else or for bad base64/hex,
 * CERTPIN_E_PIN_LENGTH if the digest is not 32 bytes, CERTPIN_E_UNSUPPORTED for
 * another algorithm ("sha1/...", "sha384/...").  `len` is the length of `str`;
 * `str` need not be NUL-terminated.  On error `*out` is unchanged.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pin_parse(certpin_pin *out, const char *str, size_t len);

/*
 * Parse a list of pins separated by ';', ',' or whitespace, e.g. a curl
 * --pinnedpubkey value "sha256//A;sha256//B".  On success `*out` is a
 * malloc'd array of `*count` pins (free with free()); on error nothing is
 * allocated and `*err_offset` (if not NULL) is the byte offset of the bad entry.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pin_parse_list(certpin_pin **out, size_t *count,
	const char *str, size_t len, size_t *err_offset);

typedef enum certpin_pin_style {
	CERTPIN_STYLE_DEFAULT = 0,      /* sha256/B64, or cert-sha256/B64 for certificate pins */
	CERTPIN_STYLE_CURL = 1,         /* sha256//B64 (SPKI only) */
	CERTPIN_STYLE_HPKP = 2,         /* pin-sha256="B64" (SPKI only) */
	CERTPIN_STYLE_HEX = 3,          /* 64 lowercase hex digits, no prefix */
	CERTPIN_STYLE_BASE64 = 4        /* bare base64 of the digest */
} certpin_pin_style;

/* Large enough for any style, including the NUL. */
#define CERTPIN_PIN_STRLEN 80

/*
 * Format `pin` into `out` (at least CERTPIN_PIN_STRLEN bytes).  Returns
 * CERTPIN_E_UNSUPPORTED if the style cannot express the pin kind (curl and
 * HPKP forms exist only for SPKI pins).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pin_format(char *out, size_t outlen,
	const certpin_pin *pin, certpin_pin_style style);

/* 1 if both pins have the same kind and digest (constant time), else 0. */
CERTPIN_EXPORT int certpin_pin_equal(const certpin_pin *a, const certpin_pin *b);

/* ------------------------------------------------------------------------ */
/* Computing pins from certificates, keys and CSRs (uses OpenSSL)            */
/* ------------------------------------------------------------------------ */

typedef enum certpin_item_type {
	CERTPIN_ITEM_CERT = 1,
	CERTPIN_ITEM_PUBKEY = 2,
	CERTPIN_ITEM_PRIVKEY = 3,
	CERTPIN_ITEM_CSR = 4
} certpin_item_type;

/* One decoded object.  Strings are owned by the array; free with certpin_items_free(). */
typedef struct certpin_item {
	certpin_item_type type;
	certpin_pin spki;               /* always set */
	certpin_pin cert;               /* set for CERTPIN_ITEM_CERT only (kind 0 otherwise) */
	char *subject;                  /* RFC 2253 form; certificates and CSRs, else NULL */
	char *issuer;                   /* certificates only, else NULL */
	int64_t not_before;             /* certificates only, Unix time, else 0 */
	int64_t not_after;
	char key_type[32];              /* "RSA-2048", "EC-P-256", "Ed25519", ... */
	int self_signed;                /* self-issued certificate: issuer equals subject and key identifiers agree
	                                 * (a label for display; its signature is not checked) */
	int is_ca;                      /* basicConstraints CA:TRUE */
} certpin_item;

/*
 * Decode every certificate, public key, private key or CSR in `data`: a PEM
 * file with one or more blocks (unrelated blocks are an error, not skipped),
 * or a single DER object.  Keys may be RSA, EC (named curves) or Ed25519/Ed448;
 * an encrypted private key gives CERTPIN_E_UNSUPPORTED.  On success `*out` is
 * an array of `*count` >= 1 items in file order.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_items_from_data(certpin_item **out, size_t *count,
	const void *data, size_t len);

/* Same, reading a file.  CERTPIN_E_IO if it cannot be read. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_items_from_file(certpin_item **out, size_t *count,
	const char *path);

/* NULL-safe. */
CERTPIN_EXPORT void certpin_items_free(certpin_item *items, size_t count);

/*
 * Pin of a DER certificate: `kind` selects SPKI or whole-certificate digest.
 * The SPKI is located in the DER without building an X509 object.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pin_from_cert_der(certpin_pin *out,
	const unsigned char *der, size_t len, certpin_pin_kind kind);

/* SPKI pin of a DER SubjectPublicKeyInfo. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pin_from_spki_der(certpin_pin *out,
	const unsigned char *der, size_t len);

/* ------------------------------------------------------------------------ */
/* Policy                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct certpin_policy certpin_policy;

/*
 * Positions are taken on the chain OpenSSL verified, which ends at the trust
 * anchor it used: with X509_V_FLAG_PARTIAL_CHAIN and an intermediate in the
 * trust store, that intermediate is the "root"; with DANE-EE the chain may
 * be the leaf alone (leaf and root at once).  The OpenSSL binding refuses a
 * pinned host whose verified chain is longer than 16 certificates
 * (CERTPIN_E_CHAIN).
 */
typedef enum certpin_position {
	CERTPIN_POS_ANY = 0,            /* any certificate of the verified chain */
	CERTPIN_POS_LEAF = 1,           /* the end-entity certificate (depth 0) */
	CERTPIN_POS_INTERMEDIATE = 2,   /* neither leaf nor trust anchor */
	CERTPIN_POS_ROOT = 3            /* the trust anchor ending the verified chain */
} certpin_position;

typedef enum certpin_mode {
	CERTPIN_MODE_ENFORCE = 0,       /* mismatch refuses the connection */
	CERTPIN_MODE_REPORT_ONLY = 1    /* mismatch is reported, connection allowed */
} certpin_mode;

typedef enum certpin_expiry_action {
	CERTPIN_EXPIRY_FAIL_OPEN = 0,   /* after expiry pins are not enforced; verdict says so (default, as Android NSC / TrustKit) */
	CERTPIN_EXPIRY_FAIL_CLOSED = 1, /* after expiry every connection to the host is refused */
	CERTPIN_EXPIRY_KEEP = 2         /* after expiry pins stay enforced; verdict flags the expiry */
} certpin_expiry_action;

typedef struct certpin_host_options {
	unsigned int version;           /* CERTPIN_HOST_OPTIONS_VERSION */
	const char *pattern;            /* see HOST PATTERNS; copied */
	int include_subdomains;         /* with an exact name: same as "**.name" */
	certpin_mode mode;
	int64_t expires;                /* Unix time after which the pinset is expired; 0 = never */
	certpin_expiry_action on_expiry;
	unsigned int clock_skew;        /* seconds of tolerance added to `expires` */
} certpin_host_options;

#define CERTPIN_HOST_OPTIONS_VERSION 1
#define CERTPIN_HOST_OPTIONS_INIT { CERTPIN_HOST_OPTIONS_VERSION, NULL, 0, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0 }

/*
 * LIFE OF A POLICY
 *
 * A policy is built (certpin_policy_new(), then add calls) or loaded
 * (certpin_policy_load_file() / _data(), which return it frozen), then
 * frozen: by certpin_policy_freeze(), by a load, or by attaching it to a
 * TLS stack.  A frozen policy never changes -- changes fail with
 * CERTPIN_E_STATE -- so any number of threads and connections may read it.
 * It is reference-counted: every attachment holds a reference of its own,
 * and certpin_policy_free() drops the caller's, so the caller may free a
 * policy as soon as it is attached.  A policy takes about 180 bytes per
 * host with two pins (bench/RESULTS.md).
 */

/* Create an empty policy to build.  *out is NULL on error. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_new(certpin_policy **out);

/* Drop a reference (NULL-safe); the last one frees the policy. */
CERTPIN_EXPORT void certpin_policy_free(certpin_policy *policy);

/* Freeze a policy being built (see LIFE OF A POLICY); NULL-safe, idempotent. */
CERTPIN_EXPORT void certpin_policy_freeze(certpin_policy *policy);

/*
 * Another reference to `policy` (NULL-safe), which freezes it: for code
 * that keeps a policy beside the attachments (the reporter does).  Drop it
 * with certpin_policy_free().  Returns `policy`.
 */
CERTPIN_EXPORT certpin_policy *certpin_policy_ref(certpin_policy *policy);

/*
 * Add a host rule.  The pattern is validated and normalized; a second rule with
 * the same normalized pattern gives CERTPIN_E_DUPLICATE.  A rule with no pins
 * rejects every connection to its hosts in enforce mode (fail closed).  (A
 * JSON policy document may not contain such a rule: its loader requires at
 * least one pin per host.)  CERTPIN_E_STATE once frozen.  `err` may be NULL.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_add_host(certpin_policy *policy,
	const certpin_host_options *opts, certpin_error *err);

/*
 * Add a pin to the rule whose pattern normalizes like `pattern`, with an
 * optional `comment` (copied; NULL for none).  A rule holds at most
 * CERTPIN_MAX_PINS_PER_HOST pins (a real pinset has a handful); beyond that
 * CERTPIN_E_INVALID_ARG.  The same pin at the same position twice:
 * CERTPIN_E_DUPLICATE.  No such rule: CERTPIN_E_NOT_FOUND.
 */
#define CERTPIN_MAX_PINS_PER_HOST 256
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_add_pin(certpin_policy *policy,
	const char *pattern, const certpin_pin *pin, certpin_position position, const char *comment,
	certpin_error *err);

/*
 * Failure-report destinations (see certpin/report.h).  Set the report URIs of
 * the rule whose pattern normalizes like `pattern`, or the policy-wide list
 * when `pattern` is NULL; `uris` is copied and replaces any earlier list
 * (n = 0 clears it).  Each must be an http:// or https:// URI of at most
 * CERTPIN_REPORT_URI_MAXLEN printable ASCII characters, at most
 * CERTPIN_REPORT_URIS_MAX of them (a reporter still refuses http:// unless
 * told it is for tests).  Returns CERTPIN_E_INVALID_ARG, CERTPIN_E_NOT_FOUND
 * (no such rule), CERTPIN_E_STATE (the policy is frozen) or CERTPIN_E_NOMEM.  There is no default destination.
 */
#define CERTPIN_REPORT_URIS_MAX 8
#define CERTPIN_REPORT_URI_MAXLEN 2048
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_set_report_uris(certpin_policy *policy,
	const char *pattern, const char *const *uris, size_t n, certpin_error *err);

/*
 * The report URIs that apply to rule `rule` (a certpin_result.rule): the
 * rule's own list if it has one, else the policy-wide list; rule -1 gives the
 * policy-wide list.  *n is set to the count (0: NULL is returned).  Borrowed
 * until the policy is changed or freed.
 */
CERTPIN_EXPORT const char *const *certpin_policy_report_uris(const certpin_policy *policy, int rule,
	size_t *n);

/* Default largest policy document: 16 MiB (a policy of some 100,000 hosts). */
#define CERTPIN_POLICY_MAX_BYTES (16u << 20)

typedef struct certpin_load_options {
	unsigned int version;           /* CERTPIN_LOAD_OPTIONS_VERSION */
	size_t max_bytes;               /* largest document accepted; 0: CERTPIN_POLICY_MAX_BYTES */
} certpin_load_options;

#define CERTPIN_LOAD_OPTIONS_VERSION 1
#define CERTPIN_LOAD_OPTIONS_INIT { CERTPIN_LOAD_OPTIONS_VERSION, 0 }

/*
 * Load a JSON policy document (certpin-policy(5)) into a new, frozen policy
 * (*out; NULL on error).  Any error (syntax, unknown key, duplicate key or
 * host, malformed pin, bad date, a document over opts->max_bytes) fails the
 * whole load with CERTPIN_E_POLICY (or CERTPIN_E_IO / CERTPIN_E_NOMEM), and
 * `err` names the file, the JSON path (err->path) or the line and column of a
 * syntax error, and the reason.  `name` is used in messages only (may be
 * NULL); `opts` may be NULL.  A million-host document (about 150 MB; raise
 * max_bytes) loads in about a second.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_load_file(certpin_policy **out, const char *path,
	const certpin_load_options *opts, certpin_error *err);
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_load_data(certpin_policy **out,
	const char *json, size_t len, const char *name, const certpin_load_options *opts, certpin_error *err);

/* Serialize to JSON (schema 1).  *out is malloc'd, NUL-terminated; free with free(). */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_to_json(char **out, const certpin_policy *policy);

/* Optional policy version number from the document ("policy_version"); 0 if none. */
CERTPIN_EXPORT uint64_t certpin_policy_version(const certpin_policy *policy);

/* Read access to rules, for tools (lint, export).  Index from 0 to count-1. */
CERTPIN_EXPORT size_t certpin_policy_host_count(const certpin_policy *policy);

typedef struct certpin_host_info {
	const char *pattern;            /* normalized, "**." form for include_subdomains */
	const char *name;               /* the base name without any wildcard prefix */
	int wildcard;                   /* 0 exact, 1 "*.", 2 "**." */
	int is_ip;
	certpin_mode mode;
	int64_t expires;
	certpin_expiry_action on_expiry;
	unsigned int clock_skew;
	size_t pin_count;
} certpin_host_info;

/* Fill `out` for rule `index`; strings borrowed from the policy. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_host(certpin_host_info *out,
	const certpin_policy *policy, size_t index);

/* Pin `pin_index` of rule `index`. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_host_pin(certpin_pin *out, certpin_position *position,
	const certpin_policy *policy, size_t index, size_t pin_index);

/* The comment of pin `pin_index` of rule `index`, or NULL if it has none.  Borrowed from the policy. */
CERTPIN_EXPORT const char *certpin_policy_host_pin_comment(const certpin_policy *policy, size_t index,
	size_t pin_index);

/*
 * The rule whose pattern normalizes exactly like `pattern` ("*.example.com"
 * finds that rule, not one that would match a host): CERTPIN_OK with *index
 * set, or CERTPIN_E_NOT_FOUND.  For the rule that applies to a host, see
 * certpin_policy_lookup().
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_find(size_t *index, const certpin_policy *policy,
	const char *pattern);

/*
 * Find the rule that applies to `hostname` (normalized first).  Returns
 * CERTPIN_OK with *index set, CERTPIN_E_NOT_FOUND if the host is not pinned, or
 * CERTPIN_E_HOSTNAME if the name is invalid.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_lookup(size_t *index,
	const certpin_policy *policy, const char *hostname);

/*
 * Normalize a hostname as the matcher does: lowercase, one trailing dot
 * removed, IP literals in canonical form (IPv6 may be bracketed).  `out` needs
 * 256 bytes.  CERTPIN_E_HOSTNAME for anything that is not a valid A-label name
 * or IP literal.
 */
#define CERTPIN_HOSTNAME_MAX 256
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_hostname_normalize(char *out, size_t outlen, const char *hostname);

/*
 * Normalize a host pattern as certpin_policy_add_host() does (see HOST
 * PATTERNS), the pattern counterpart of certpin_hostname_normalize() for
 * tools that read other formats: `out` (at least CERTPIN_PATTERN_MAX bytes)
 * gets "name", "*.name" or "**.name" with the name normalized;
 * `include_subdomains` turns "name" into "**.name".  CERTPIN_E_HOSTNAME for
 * an invalid pattern (a wildcard on an IP literal, "*.name" with
 * include_subdomains, a bad name), CERTPIN_E_INVALID_ARG if `out` is too
 * small.  Implemented in src/policy_read.c.
 */
#define CERTPIN_PATTERN_MAX (CERTPIN_HOSTNAME_MAX + 3)
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_pattern_normalize(char *out, size_t outlen, const char *pattern,
	int include_subdomains);

/* Names for positions, modes, expiry actions ("leaf", "report-only", "fail-open", ...). */
CERTPIN_EXPORT const char *certpin_position_name(certpin_position position);
CERTPIN_EXPORT const char *certpin_mode_name(certpin_mode mode);
CERTPIN_EXPORT const char *certpin_expiry_action_name(certpin_expiry_action action);

/* ------------------------------------------------------------------------ */
/* Decision engine (no TLS library types)                                    */
/* ------------------------------------------------------------------------ */

/*
 * One certificate of a verified chain, as digests.  Index 0 is the leaf; the
 * last element is the trust anchor.  The caller fills the digests it has and
 * sets the matching flags; certpin_verify() treats a pin whose digest kind is
 * missing for an element as not matching that element.
 */
#define CERTPIN_HAVE_SPKI 1u
#define CERTPIN_HAVE_CERT 2u

typedef struct certpin_chain_elem {
	unsigned int flags;             /* CERTPIN_HAVE_* */
	unsigned char spki_sha256[CERTPIN_DIGEST_LEN];
	unsigned char cert_sha256[CERTPIN_DIGEST_LEN];
} certpin_chain_elem;

/*
 * Fill `out` from a DER certificate (SPKI located without a full parse; both
 * digests computed).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_chain_elem_from_der(certpin_chain_elem *out,
	const unsigned char *der, size_t len);

typedef enum certpin_verdict {
	CERTPIN_VERDICT_NOT_PINNED = 0, /* no rule for this host; connection unaffected */
	CERTPIN_VERDICT_MATCH = 1,      /* a pin matched */
	CERTPIN_VERDICT_MISMATCH = 2,   /* no pin matched */
	CERTPIN_VERDICT_PINSET_EXPIRED = 3 /* the rule's pinset has expired */
} certpin_verdict;

typedef struct certpin_result {
	unsigned int version;           /* CERTPIN_RESULT_VERSION */
	certpin_verdict verdict;
	int allowed;                    /* 1 if the connection may proceed */
	int rule;                       /* index of the applied rule, -1 if none */
	int pin;                        /* index of the matching pin in the rule, -1 if none */
	int depth;                      /* chain index of the matching certificate, -1 if none */
	certpin_mode mode;              /* the rule's mode */
	int expired;                    /* 1 if the pinset is past expiry (with skew) */
	int64_t checked_at;             /* the time used */
	long pkix_error;                /* OpenSSL binding: X509_V_ERR_* code when PKIX validation failed, else 0 */
	char hostname[CERTPIN_HOSTNAME_MAX]; /* normalized host checked */
} certpin_result;

#define CERTPIN_RESULT_VERSION 1

/*
 * Decide whether a connection to `hostname` whose verified chain is
 * `chain[0..n-1]` may proceed at time `now` (Unix seconds).
 *
 * Returns CERTPIN_OK if allowed (verdict MATCH, NOT_PINNED, a report-only
 * MISMATCH, or a fail-open PINSET_EXPIRED), CERTPIN_E_PIN_MISMATCH if refused
 * for lack of a matching pin, CERTPIN_E_PINSET_EXPIRED if refused by a
 * fail-closed expired pinset, CERTPIN_E_HOSTNAME for an invalid name, or
 * CERTPIN_E_CHAIN if the host is pinned and `n` is 0 (fail closed).  `out` is
 * always filled (allowed = 0 on every error).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_verify(certpin_result *out, const certpin_policy *policy,
	const char *hostname, const certpin_chain_elem *chain, size_t n, int64_t now);

CERTPIN_EXPORT const char *certpin_verdict_name(certpin_verdict verdict);

/*
 * The engine's match of one pin against one element: 1 if `pin`, at
 * `position`, accepts element `depth` of the verified chain `chain[0..n)`
 * (the element has the pin's digest kind and it equals the pin's digest; the
 * position allows that depth in a chain of n), else 0 (also for bad
 * arguments).  certpin_verify() decides with exactly this test; tools that
 * explain a verdict (lint) use it instead of a copy.  Implemented in
 * src/policy_read.c.
 */
CERTPIN_EXPORT int certpin_pin_matches(const certpin_pin *pin, certpin_position position,
	const certpin_chain_elem *chain, size_t n, size_t depth);

/* ------------------------------------------------------------------------ */
/* Attaching to a TLS stack (the options every adapter takes)                */
/* ------------------------------------------------------------------------ */

/*
 * Called after each pin decision on a pinned host that did not match (in
 * enforce or report-only mode) or whose pinset had expired.  Runs inside the
 * handshake: keep it short and do not block.  `chain` is the verified chain
 * with all digests filled.
 */
typedef void (*certpin_failure_cb)(const certpin_result *result,
	const certpin_chain_elem *chain, size_t n, void *payload);

/*
 * Called after every pin check of a handshake, whatever it decided, once
 * its results are recorded (options version 2): `code` and `result` are
 * what certpin_ssl_result() reports for that handshake (`result` NULL and
 * `code` CERTPIN_E_STATE when the policy did not check it), `tofu_code`
 * and `tofu` what certpin_tofu_ssl_result() reports (CERTPIN_E_STATE and
 * NULL when no TOFU store checked it).  Runs inside the handshake, after
 * the failure callback, with the options' payload; it borrows the results
 * for the call.  A handshake the check refuses fails right after: this is
 * where its reason can be kept when the application never sees the
 * connection (libcurl frees it).  Not called when no check could run (out
 * of memory: the handshake is refused), nor for a resumed session.
 * `chain` is the verified chain with all digests filled (pin-only trust:
 * the peer's leaf alone), NULL with `n` 0 when the stack did not verify
 * one (a PKIX failure) or its digests could not be computed.
 */
struct certpin_tofu_result;             /* certpin/tofu.h */
typedef void (*certpin_result_cb)(int code, const certpin_result *result, int tofu_code,
	const struct certpin_tofu_result *tofu, const certpin_chain_elem *chain, size_t n, void *payload);

#define CERTPIN_SSL_INSECURE_PIN_ONLY 1u /* see certpin_ssl_options.flags */

/*
 * Version 2 added on_result at the end; a version 1 struct (which ends
 * after payload) is still accepted everywhere options are taken.
 */
typedef struct certpin_ssl_options {
	unsigned int version;           /* CERTPIN_SSL_OPTIONS_VERSION */
	/*
	 * CERTPIN_SSL_INSECURE_PIN_ONLY: skip PKIX validation entirely and accept
	 * a pinned host if the *leaf* the peer sent matches a pin whose position
	 * is leaf or any (only the leaf's key is proven by the handshake, so no
	 * other element of a peer-sent chain is trusted).  Hostname and validity
	 * dates are not checked.  Unpinned hosts are refused.  With no PKIX behind
	 * it the pin is the only authentication, so report-only rules refuse a
	 * mismatch and an expired fail-open pinset keeps its pins in force (an
	 * expired fail-closed one refuses, as always).  For self-signed devices
	 * only.
	 */
	unsigned int flags;
	certpin_failure_cb on_failure;  /* may be NULL */
	void *payload;                  /* passed to both callbacks */
	certpin_result_cb on_result;    /* version 2; may be NULL */
} certpin_ssl_options;

#define CERTPIN_SSL_OPTIONS_VERSION 2
#define CERTPIN_SSL_OPTIONS_INIT { CERTPIN_SSL_OPTIONS_VERSION, 0, NULL, NULL, NULL }

#ifdef __cplusplus
}
#endif

/*
 * Feature headers of the core library: each documents its own part of the
 * API and is included here so that applications of the core include only
 * <certpin.h>.  The optional libraries have headers of their own, which
 * their users include: <certpin/report.h> (libcertpin-report: failure
 * reports, the bundle fetch) and <certpin/tools.h> (libcertpin-tools:
 * import, export, lint, plan).
 */
/* CERTPIN_FEATURE_HEADERS (one #include line per feature header, keep sorted) */
#include "certpin/bundle.h"
#include "certpin/openssl.h"
#include "certpin/tofu.h"

#endif /* CERTPIN_H */
