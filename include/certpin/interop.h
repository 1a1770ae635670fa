/*
 * certpin/interop.h - import policies from, and export them to, other
 * pinning formats.  Included by <certpin.h>; do not include it directly.
 *
 * OVERVIEW
 *
 * Apps in the field often carry their pins in a platform format rather than
 * a certpin policy: Android's network_security_config.xml, an OkHttp
 * CertificatePinner, a curl --pinnedpubkey string.  certpin_policy_import_*()
 * turns any of these into a certpin policy (so lint and plan can reason about
 * every shipped version), and certpin_policy_export() writes a policy in each
 * format a client or server may need.
 *
 * No format can express everything a certpin policy can.  An export that
 * loses meaning (positions, report-only, fail-closed expiry, certificate pins)
 * says so in `warnings`; an export that would make a rule *weaker or wider*
 * than the policy (Android has no one-label wildcard; TLSA has no wildcard
 * owner names) refuses with CERTPIN_E_UNSUPPORTED instead of guessing.
 *
 * IMPORT FORMATS
 *
 *   JSON          a certpin policy (certpin-policy(5)), as certpin_policy_load_data().
 *
 *   ANDROID_NSC   Android network_security_config.xml.  Every <domain-config>
 *                 with a <pin-set> becomes one rule per <domain>:
 *                 includeSubdomains="true" gives "**.name", else "name".  A
 *                 nested <domain-config> without its own <pin-set> inherits
 *                 the nearest ancestor's pin-set (and its expiration), as
 *                 Android does; a nested one with its own pin-set uses only
 *                 that.  A <domain-config> with no pin-set anywhere up the
 *                 tree pins nothing and is skipped.  Pins get position "any"
 *                 (Android matches any certificate of the verified chain) and
 *                 mode enforce; expiration="YYYY-MM-DD" becomes "expires" at
 *                 00:00:00Z that day ("at and after which the pins expire";
 *                 Android uses the device's local time zone, certpin UTC),
 *                 with on_expiry fail-open, as Android.
 *                 <base-config>, <debug-overrides>, <trust-anchors> and
 *                 <certificates> make no rules (trust anchors are not pins;
 *                 overridePins="true" on a domain's <certificates>, which lets
 *                 chains to those anchors skip pinning, gives a warning).
 *                 A policy cannot hold cleartextTrafficPermitted,
 *                 <trust-anchors> or <debug-overrides>, so an export would
 *                 drop them: each gives a warning naming it and its element
 *                 ("NAME: <trust-anchors> in <domain-config> for \"x\" is not
 *                 kept in the policy (export will not write it)"), one per
 *                 setting per element.  Trust anchors that leave out the
 *                 system store (no <certificates src="system">, e.g. only
 *                 "@raw/private_ca" or "user") are still kept, in memory
 *                 only, for certpin_policy_import_anchors(): a
 *                 domain-config's own, else its parent's, else base-config's
 *                 (debug-overrides are ignored).
 *                 Android exempts a host from a wider pinned rule by a more
 *                 specific <domain-config> without pins (or with an empty
 *                 <pin-set>); certpin has no "unpinned" rule, so such a
 *                 domain is skipped with a warning and its hosts stay under
 *                 the wider rule (stricter than Android).  Duplicate pins in a
 *                 pin-set are merged; a domain named twice is an error (Android
 *                 rejects it too), even with different includeSubdomains.
 *                 Errors: malformed XML (the parser's first error), a
 *                 root other than <network-security-config>, a digest other
 *                 than "SHA-256" (any case), a pin that is not base64 of 32
 *                 bytes, an unknown element or attribute (other than the
 *                 ignored ones above; attributes in a namespace such as
 *                 tools:ignore are skipped), non-blank text where none
 *                 belongs, a malformed date, a <domain-config> without
 *                 <domain>, two <pin-set>s in one <domain-config>, a <pin-set>
 *                 in <base-config>, a domain that is not a valid host name or
 *                 IP literal (Android has no wildcards), the same domain
 *                 twice, a DOCTYPE or ENTITY declaration, a NUL byte (only
 *                 UTF-8 is read, whatever the XML declaration says).  No DTD
 *                 is loaded, no entity expanded, nothing fetched from the
 *                 network (XML_PARSE_NONET; never NOENT or DTDLOAD).
 *
 *   PIN_LIST      line-oriented text.  A line starting with '#' or '//' is
 *                 a comment, and a word starting with '#' starts a trailing
 *                 comment; blank lines are ignored.  Each other line is one of:
 *                   sha256//A;sha256//B          curl --pinnedpubkey value
 *                   sha256/A sha256/B, ...       bare pins (any form of certpin_pin_parse)
 *                   HOST PIN [PIN...]            host then pins
 *                   .add("HOST", "PIN", ...)     OkHttp CertificatePinner.Builder call
 *                 If the text contains ".add(" outside comments it is read as
 *                 Kotlin/Java source instead: every .add( call (which may span
 *                 lines) must have only string literals, host first, and
 *                 adds those pins; everything else (`CertificatePinner.Builder()`,
 *                 `.build()`, // and block comments) is skipped, and a
 *                 "sha256/" literal outside .add( gives a warning.
 *                 Lines without a host take `default_host`; if it is NULL
 *                 that is an error.  Pins of the same host accumulate, in
 *                 order, duplicates (the same digest) dropped.  Host patterns
 *                 follow certpin (and OkHttp): "*.x" one label, "**.x" any
 *                 depth and x itself.  Pins in curl's form "sha256//B64" get
 *                 position "leaf" (curl --pinnedpubkey checks the leaf key
 *                 only); every other pin gets position "any".  Mode enforce,
 *                 no expiry.
 *                 OkHttp accepts for a host the pins of EVERY pattern that
 *                 matches it (certpin: only the most specific rule's), so
 *                 each rule also gets the pins of every wider pattern that
 *                 matches all of its hosts ("**.x" for "api.x" and "*.x",
 *                 "*.x" for "api.x"), with a warning; the one overlap that
 *                 cannot be merged ("*.x" and "**.l.x" share host l.x, where
 *                 certpin applies "**.l.x") is warned (certpin stricter).
 *
 *   AUTO          first non-blank byte '{' gives JSON, '<' gives
 *                 ANDROID_NSC, anything else PIN_LIST.
 *
 * Inputs are bounded: CERTPIN_IMPORT_MAX_SIZE bytes, CERTPIN_IMPORT_MAX_HOST_PINS
 * pins per host or pin-set, CERTPIN_IMPORT_MAX_PINS pins in all (a pin-set
 * inherited by many nested domains counts once per domain); more is an error.
 *
 * Every error is CERTPIN_E_POLICY (or CERTPIN_E_IO, CERTPIN_E_NOMEM,
 * CERTPIN_E_INVALID_ARG) with certpin_policy_error() set to "NAME:LINE:
 * reason" ("NAME: reason" when no line applies; JSON errors are those of
 * certpin_policy_load_data()); the policy is left empty on error.
 *
 * EXPORT FORMATS
 *
 * Rules are written in policy order.  Common to all formats: a rule with no
 * pin the format can express would become "not pinned" (Android, OkHttp,
 * TrustKit: a host with no pins is not checked), so it is refused.
 *
 * NARROWED RULES.  A rule the format can write only with fewer usable pins
 * than the policy has would accept fewer chains than certpin does: if the
 * lost pin is the one that matches the served chain, every client of the
 * export is locked out.  Such a rule is refused with CERTPIN_E_UNSUPPORTED
 * unless certpin_export_options.allow_narrowing is set (then it is written
 * with a warning): certificate pins in a format that has public-key pins
 * only (ANDROID, OKHTTP, TRUSTKIT_*, CURL, HPKP; "N certificate pin(s)
 * dropped"), and in CURL, which matches the leaf key only, every pin not at
 * position leaf: intermediate and root pins never match there (with none left
 * for the leaf, curl refuses every connection), and a pin at position any
 * may be an intermediate's or root's key, which certpin matches and curl
 * never (written as a leaf pin when allowed).
 *
 * OVERLAPPING RULES.  OkHttp accepts at a host the pins of EVERY pattern that
 * matches it (exact, "*." one label, "**." any depth and the name itself);
 * certpin only those of the most specific rule.  So where a wider rule has
 * a public-key pin that the most specific rule for some host lacks (e.g.
 * "a.example.com" pinning X and "*.example.com" pinning Y: OkHttp accepts Y
 * at a.example.com), the OKHTTP export would accept more than the policy: it
 * is refused with CERTPIN_E_UNSUPPORTED unless
 * certpin_export_options.insecure_allow_union is set (then it is written
 * with a warning naming both rules).  Rules whose wider patterns' pins are
 * all among the more specific rule's (the union is then that rule's own
 * pinset) are written without comment.
 *
 *   ANDROID        network_security_config.xml: one <domain-config> per rule,
 *                  <domain includeSubdomains="true|false">, <pin-set
 *                  expiration="YYYY-MM-DD"> of <pin digest="SHA-256">.
 *                  Refused: "*." rules (Android has no one-label wildcard and
 *                  widening to includeSubdomains would pin hosts the policy
 *                  does not), IP rules, and "x" with "**.x" in one policy
 *                  (both become domain "x", which Android rejects at startup).
 *                  Warned: positions other than any (Android matches any
 *                  chain position), report-only (Android enforces), expiry
 *                  that is not fail-open (no expiration is written: pins stay
 *                  enforced), an expiry not at 00:00:00Z (rounded down to the
 *                  day; clock skew is added first), certificate pins (see
 *                  NARROWED RULES).
 *   OKHTTP         Kotlin `CertificatePinner.Builder().add(...).build()`;
 *                  patterns are the same as certpin's.  Refused: rules whose
 *                  hosts overlap with different pins (see OVERLAPPING
 *                  RULES).  Warned: expiry, report-only, positions.
 *   TRUSTKIT_SWIFT Swift dictionary for TrustKit.initSharedInstance(), and
 *   TRUSTKIT_PLIST Info.plist XML with the same content under
 *                  TSKConfiguration.  kTSKIncludeSubdomains for "**." rules,
 *                  kTSKEnforcePinning false for report-only rules,
 *                  kTSKExpirationDate for fail-open expiry, kTSKReportUris
 *                  with the rule's report URIs (its own, else the
 *                  policy's; none: the key is left out), and for every
 *                  domain kTSKDisableDefaultReportUri true (else TrustKit
 *                  also sends failure reports to its vendor's server).
 *                  Refused as for ANDROID ("*.", IP, "x" with "**.x").
 *                  Warned: fewer than two pins in a domain (TrustKit raises
 *                  an exception at start-up without a backup pin),
 *                  positions, non-fail-open expiry.
 *   CURL           per rule a "# HOST" comment line, then the --pinnedpubkey
 *                  value "sha256//A;sha256//B".  Always warns that curl checks
 *                  the leaf key only; a rule with pins at position
 *                  intermediate, root or any is refused (see NARROWED RULES;
 *                  only pins at position leaf keep their meaning).  Also
 *                  warns for expiry and report-only.
 *                  Imported again, the pins are at position leaf.
 *   HPKP           per rule a "# HOST" comment line, then
 *                  `Public-Key-Pins: pin-sha256="A"; ...; max-age=N[; includeSubDomains][; report-uri="URI"]`
 *                  (Public-Key-Pins-Report-Only for report-only rules).  N is
 *                  the time left until the effective expiry at
 *                  certpin_export_options.now (0 once expired), else 5184000
 *                  (60 days).  URI is the first of the rule's report URIs
 *                  (certpin_policy_report_uris(): its own, else the
 *                  policy's), '"' and '\' escaped; HPKP has a single
 *                  report-uri, so every further URI is warned by name.  Always
 *                  warns that browsers no longer support HPKP; also warns for
 *                  fewer than two pins (RFC 7469 requires a backup pin),
 *                  positions, a max-age taken from an expiry (it counts from
 *                  export time), report-only without any report URI.
 *   TLSA           DNS zone lines "_PORT._tcp.HOST. IN TLSA U S 1 HEX": usage 3
 *                  (DANE-EE) for leaf pins, 2 (DANE-TA) for intermediate and
 *                  root pins, both for "any" (with a warning); selector 1 for
 *                  SPKI pins, 0 for certificate pins; matching type 1
 *                  (SHA-256).  Refused: wildcard and IP rules (no owner name).
 *                  Warned: expiry and report-only.
 *
 * Warnings are one line each, "RULE: text" or "text" for the whole export.
 */
#ifndef CERTPIN_INTEROP_H
#define CERTPIN_INTEROP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest input certpin_policy_import_*() accepts, in bytes. */
#define CERTPIN_IMPORT_MAX_SIZE (4u * 1024u * 1024u)
/* Most pins one host (or one Android <pin-set>) may have in an import. */
#define CERTPIN_IMPORT_MAX_HOST_PINS ((unsigned)CERTPIN_MAX_PINS_PER_HOST)
/* Most pins an import may create in all, after Android pin-set inheritance. */
#define CERTPIN_IMPORT_MAX_PINS 65536u

typedef enum certpin_import_format {
	CERTPIN_IMPORT_AUTO = 0,
	CERTPIN_IMPORT_JSON = 1,
	CERTPIN_IMPORT_ANDROID_NSC = 2,
	CERTPIN_IMPORT_PIN_LIST = 3
} certpin_import_format;

/*
 * Load a policy from the file `path` in format `format` into the EMPTY
 * `policy` (CERTPIN_E_INVALID_ARG if it has rules).  `default_host` (may be
 * NULL, copied) is the host for PIN_LIST lines that name none.  Returns
 * CERTPIN_OK, CERTPIN_E_IO if the file cannot be read, CERTPIN_E_POLICY for
 * any content error (`err`: "PATH:LINE: reason", err->line).  On error the
 * policy is left empty.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_file(certpin_policy *policy,
	const char *path, certpin_import_format format, const char *default_host, certpin_error *err);

/*
 * Same for `len` bytes at `data` (need not be NUL-terminated).  `name` is
 * used in messages only (may be NULL: "<data>").
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_data(certpin_policy *policy,
	const char *data, size_t len, certpin_import_format format,
	const char *default_host, const char *name, certpin_error *err);

/*
 * As certpin_policy_import_data(), also returning warnings: if `warnings` is
 * not NULL, *warnings is set to a malloc'd newline-separated list ("NAME:LINE:
 * text" per line, no trailing newline) of things the import had to
 * approximate (see IMPORT FORMATS), or NULL if there are none or on error.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_data_ex(certpin_policy *policy,
	const char *data, size_t len, certpin_import_format format,
	const char *default_host, const char *name, char **warnings, certpin_error *err);

/* As certpin_policy_import_file(), with warnings as above. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_file_ex(certpin_policy *policy,
	const char *path, certpin_import_format format, const char *default_host,
	char **warnings, certpin_error *err);

/*
 * The trust anchors an Android import gives `hostname` (normalized) when
 * they leave out the system store: the <certificates src> values joined by
 * ", " (e.g. "@raw/private_ca"; "none" for an empty <trust-anchors>), from
 * the most specific pinned rule matching the host, else from <base-config>
 * for hosts no rule pins.  NULL when the host's anchors include the system
 * store, or the policy was not imported from Android XML.  Clients of such
 * a host accept only chains to those anchors, whatever the pins: a chain
 * checked against other anchors proves nothing for them.  (A domain-config
 * without pins does not make a rule: its hosts get the wider rule's or
 * base-config's anchors here.)  Borrowed until the policy is modified or
 * freed; not saved with the policy.
 */
CERTPIN_EXPORT const char *certpin_policy_import_anchors(const certpin_policy *policy,
	const char *hostname);

/*
 * Parse a format name: "auto", "json", "android" (or "nsc"), "pins" (or
 * "okhttp", "curl").  CERTPIN_OK or CERTPIN_E_INVALID_ARG.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_import_format_parse(certpin_import_format *out,
	const char *name);

/* Name of an import format ("auto", "json", "android", "pins"). */
CERTPIN_EXPORT const char *certpin_import_format_name(certpin_import_format format);

typedef enum certpin_export_format {
	CERTPIN_EXPORT_ANDROID,
	CERTPIN_EXPORT_OKHTTP,
	CERTPIN_EXPORT_TRUSTKIT_SWIFT,
	CERTPIN_EXPORT_TRUSTKIT_PLIST,
	CERTPIN_EXPORT_CURL,
	CERTPIN_EXPORT_HPKP,
	CERTPIN_EXPORT_TLSA
} certpin_export_format;

typedef struct certpin_export_options {
	unsigned int version;           /* CERTPIN_EXPORT_OPTIONS_VERSION (1 and 2 are still accepted) */
	unsigned int port;              /* TLSA only: 1..65535; 0 means 443 */
	int64_t now;                    /* HPKP only: Unix time for max-age; 0 means the current time */
	/*
	 * Version 2.  Non-zero: write a rule even if the format can keep only
	 * part of the pins the policy accepts (see NARROWED RULES above), with
	 * a warning instead of CERTPIN_E_UNSUPPORTED.  Such an export may lock
	 * clients out.
	 */
	int allow_narrowing;
	/*
	 * Version 3.  Non-zero: write OKHTTP rules that overlap although
	 * OkHttp then accepts at a host the pins of every matching pattern,
	 * more than the policy (see OVERLAPPING RULES above), with a warning
	 * instead of CERTPIN_E_UNSUPPORTED.  Such an export is weaker than the
	 * policy.
	 */
	int insecure_allow_union;
} certpin_export_options;

#define CERTPIN_EXPORT_OPTIONS_VERSION 3
#define CERTPIN_EXPORT_OPTIONS_INIT { CERTPIN_EXPORT_OPTIONS_VERSION, 443, 0, 0, 0 }

/*
 * Write `policy` in `format`.  On success `*out` is malloc'd NUL-terminated
 * text (free with free()) and `*warnings` (if `warnings` is not NULL) is a
 * malloc'd newline-separated list of lossy-conversion warnings (no trailing
 * newline), or NULL if there are none.  Returns CERTPIN_E_UNSUPPORTED when a
 * rule cannot be expressed without widening it, or only narrowed (see
 * NARROWED RULES and OVERLAPPING RULES; use certpin_policy_export_ex() to get the reason), CERTPIN_E_INVALID_ARG for a
 * bad format or NULL argument, CERTPIN_E_NOMEM.  On error *out and *warnings
 * are NULL.  The policy is not modified.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_export(char **out, char **warnings,
	const certpin_policy *policy, certpin_export_format format);

/*
 * As certpin_policy_export() with options (`opts` may be NULL) and, on
 * error, a malloc'd one-line reason in `*err` (if `err` is not NULL; NULL on
 * success), e.g. "rule '*.example.com': Android has no one-label wildcard".
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_export_ex(char **out, char **warnings,
	char **err, const certpin_policy *policy, certpin_export_format format,
	const certpin_export_options *opts);

/*
 * Parse an export format name: "android", "okhttp", "trustkit" (or
 * "trustkit-swift"), "trustkit-plist", "curl", "hpkp", "tlsa".  CERTPIN_OK or
 * CERTPIN_E_INVALID_ARG.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_export_format_parse(certpin_export_format *out,
	const char *name);

/* Name of an export format ("android", "okhttp", "trustkit-swift", ...). */
CERTPIN_EXPORT const char *certpin_export_format_name(certpin_export_format format);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_INTEROP_H */
