/*
 * certpin/tools.h - libcertpin-tools: import policies from other pinning
 * formats, export them to those formats, lint a policy for lockout risks and
 * plan key, certificate and CA rotations.
 *
 * Link with libcertpin-tools (pkg-config certpin-tools; CMake
 * certpin::tools); it needs libxml2 and the core library.  Everything here
 * is built on the core's public API (<certpin.h>): a tool never sees more of
 * a policy than an application does.
 *
 * ERRORS AND WARNINGS
 *
 * Every call that can fail with detail takes `certpin_error *err` as its last
 * parameter (may be NULL) and fills it on failure (code, one-line message,
 * and the input line where one applies); the code is also returned.  On
 * success `err` is cleared (code CERTPIN_OK, no detail).
 * Warnings (an import or export that had to approximate) go to the
 * options' `on_warning` callback, one call per warning, each a
 * certpin_error with code CERTPIN_OK, borrowed for the call; they are
 * delivered only when the call succeeds, in the order found, before it
 * returns.
 *
 * IMPORT AND EXPORT: OVERVIEW
 *
 * Apps in the field often carry their pins in a platform format rather than
 * a certpin policy: Android's network_security_config.xml, an OkHttp
 * CertificatePinner, TrustKit's Info.plist or Swift/Objective-C
 * configuration, a curl --pinnedpubkey string.  certpin_policy_import_*()
 * turns any of these into a certpin policy (so lint and plan can reason about
 * every shipped version), and certpin_policy_export() writes a policy in each
 * format a client or server may need.
 *
 * No format can express everything a certpin policy can.  An export that
 * loses meaning (positions, report-only, fail-closed expiry, certificate pins)
 * says so in a warning; an export that would make a rule *weaker or wider*
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
 *                 "@raw/private_ca" or "user") are returned apart from the
 *                 policy (certpin_import_options.anchors,
 *                 certpin_import_anchors_for()): a
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
 *                 If the text has an .add( call outside comments and strings
 *                 it is read as Kotlin/Java source instead: every .add( call
 *                 (which may span lines) adds its pins, host first.  Its
 *                 arguments are plain string literals (no escapes or
 *                 templates), names the file assigns exactly once (`const val
 *                 X = "..."`, `val X = "..."`, `static final String X =
 *                 "...";`; `Obj.X` when Obj is declared in the file) and
 *                 literal arrays of these, with or without the spread `*`
 *                 (`*arrayOf(...)`, `*PINS` for `val PINS = arrayOf(...)`,
 *                 Java `String[] PINS = {...}`, `new String[] {...}`);
 *                 anything else (a call, an expression, a name of another
 *                 file or assigned twice) is an error naming it.  The rest
 *                 (`CertificatePinner.Builder()`, `.build()`, comments) is
 *                 skipped; a "sha256/" literal no .add( uses gives a warning.
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
 *   TRUSTKIT      TrustKit's configuration (iOS, macOS): an XML property
 *                 list (an Info.plist: the dictionary under TSKConfiguration;
 *                 or a plist that is that dictionary), or the Swift or
 *                 Objective-C dictionary literal given to
 *                 TrustKit.initSharedInstance(withConfiguration:) or [TrustKit
 *                 initSharedInstanceWithConfiguration:], directly or by a
 *                 name the file assigns once (no such call: the dictionary
 *                 holding kTSKPinnedDomains).  Each kTSKPinnedDomains entry
 *                 is a rule: kTSKIncludeSubdomains gives "**.name", else
 *                 "name"; kTSKPublicKeyHashes (base64 SHA-256 of SPKIs) are
 *                 pins at position any (TrustKit matches any certificate of
 *                 the verified chain); kTSKEnforcePinning false gives mode
 *                 report-only; kTSKExpirationDate "YYYY-MM-DD" gives expires
 *                 at 00:00:00Z that day, on_expiry fail-open (TrustKit stops
 *                 pinning then); kTSKReportUris are the rule's report URIs
 *                 (non-http(s) ones and more than CERTPIN_REPORT_URIS_MAX are
 *                 warned and dropped).  Warned, as a policy cannot hold them:
 *                 kTSKDisableDefaultReportUri not true (TrustKit also reports
 *                 to its vendor's server), kTSKSwizzleNetworkDelegates true,
 *                 kTSKIgnorePinningForUserDefinedTrustAnchors true (macOS:
 *                 certpin always checks pins), a domain with
 *                 kTSKExcludeSubdomainFromParentPolicy (TrustKit leaves it
 *                 unpinned; the parent's rule applies to it), a domain key
 *                 with capitals (TrustKit compares it as written), unknown
 *                 keys (ignored, as TrustKit does).  Errors, first where
 *                 TrustKit raises an exception at start-up: fewer than two
 *                 distinct pins in an enforced domain (one if report-only),
 *                 no pinned domains, a pin that is not base64 of 32 bytes, an
 *                 exclusion with other keys or without a parent that includes
 *                 subdomains, an IP address or a name without a dot; then a
 *                 wildcard, a domain or key given twice, a bad date, a value
 *                 of the wrong type, an Xcode build setting "$(NAME)", and in
 *                 source anything not literal (a call, an expression, an
 *                 interpolated string, a name not assigned a literal exactly
 *                 once in the file), named in the message; a binary plist
 *                 (convert it: plutil -convert xml1).  Source values: string
 *                 literals, kTSK constants, true/false/YES/NO/@YES/@(NO),
 *                 numbers (as TrustKit's booleans: non-zero is true), Swift
 *                 [...] and Objective-C @{...}/@[...]; a Swift cast "as
 *                 [String: Any]" is skipped.  XML is read as for
 *                 ANDROID_NSC, except that Apple's plist DOCTYPE
 *                 (-//Apple//DTD PLIST 1.0//EN) is accepted, never loaded;
 *                 any other DOCTYPE, an internal subset, an ENTITY
 *                 declaration or an entity reference is refused.
 *
 *   AUTO          first non-blank byte '{' gives JSON; '<' gives TRUSTKIT
 *                 if the first element is <plist> (or a plist DOCTYPE comes
 *                 first), else ANDROID_NSC; "bplist" gives TRUSTKIT (which
 *                 refuses it); text with "TSKPinnedDomains" or
 *                 "initSharedInstance" gives TRUSTKIT; anything else PIN_LIST.
 *
 * Inputs are bounded: CERTPIN_IMPORT_MAX_SIZE bytes, CERTPIN_IMPORT_MAX_HOST_PINS
 * pins per host or pin-set, CERTPIN_IMPORT_MAX_PINS pins in all (a pin-set
 * inherited by many nested domains counts once per domain); more is an error.
 *
 * Every error is CERTPIN_E_POLICY (or CERTPIN_E_IO, CERTPIN_E_NOMEM,
 * CERTPIN_E_INVALID_ARG) with the certpin_error's message "NAME:LINE:
 * reason" ("NAME: reason" when no line applies, and its `line` LINE or 0;
 * JSON errors are those certpin_policy_load_data() reports); no policy is
 * made on error.  Warnings
 * are "NAME:LINE: text" (or "NAME: text"), `line` likewise.
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
 * The reason for CERTPIN_E_UNSUPPORTED (and any other failure) is the
 * certpin_error's message, e.g. "rule '*.example.com': Android has no
 * one-label wildcard ...".
 *
 * LINT AND PLAN: OVERVIEW
 *
 * The classic pinning failure is a lockout: the server's certificate is
 * renewed with a new key, or the CA changes its intermediate, and every app
 * version still in the field refuses to connect until it is updated.  Two
 * tools here prevent it; both use only the policy model and the decision
 * engine (certpin_verify()), never a TLS library, so any front end can reuse
 * them.
 *
 *   - certpin_lint() inspects one policy, optionally together with the chains
 *     its hosts serve now ("live" chains), and returns findings with stable
 *     identifiers: errors (E001..) that make a lockout likely or certain, and
 *     warnings (W001..) that deserve a look.  See certpin(1), "certpin lint",
 *     for the list.
 *
 *   - certpin_plan_evaluate() takes the policies of every app version still
 *     in the field and the *planned* server state (per host, the chain the
 *     clients will verify after the change) and decides, by running
 *     certpin_verify() for every version and host, which versions would still
 *     connect and through which pin.  It also evaluates each pinset just after
 *     its expiry, flags pinsets that expire soon, and composes the fix (which
 *     backup pin to ship first, which key or intermediate to keep).
 *
 * Unknown chain elements.  A planned chain may be partly unknown, e.g. when
 * only the new leaf key is given: fill the unknown elements with flags 0 (no
 * digest).  The engine never matches them; the planner then reports a version
 * whose pins could have matched such an element as "unknown" rather than as a
 * lockout, and the plan verdict is "undecided" (not safe).
 *
 * Findings, cells, advice and warnings are data, never sentences: each says
 * which check or case it is and carries the values a front end needs to
 * explain it (rule, pattern, host, pin, dates, day counts, versions); the
 * words are the front end's (certpin(1) renders them as text and JSON).
 *
 * Times are Unix seconds.  Findings, cells, advice and warnings are owned by
 * their report or plan and stay valid until it is freed; inputs are copied,
 * so the policies may be freed after the call.
 */
#ifndef CERTPIN_TOOLS_H
#define CERTPIN_TOOLS_H

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Import                                                                    */
/* ------------------------------------------------------------------------ */

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
	CERTPIN_IMPORT_PIN_LIST = 3,
	CERTPIN_IMPORT_TRUSTKIT = 4
} certpin_import_format;

/*
 * What an Android import knows besides the pins: the trust anchors of hosts
 * whose <trust-anchors> leave out the system store (see ANDROID_NSC).  Not
 * part of the policy: a policy holds pins, and an anchor set is the app's
 * PKIX configuration.
 */
typedef struct certpin_import_anchors certpin_import_anchors;

typedef struct certpin_import_options {
	unsigned int version;               /* CERTPIN_IMPORT_OPTIONS_VERSION */
	certpin_import_format format;       /* CERTPIN_IMPORT_AUTO: detected (see AUTO) */
	const char *default_host;           /* host for PIN_LIST lines that name none; NULL: such lines are errors */
	const char *name;                   /* the input's name in messages; NULL: the path, or "<data>" */
	certpin_warning_cb on_warning;      /* each approximation (see IMPORT FORMATS); may be NULL */
	void *payload;                      /* for on_warning */
	/*
	 * If not NULL, set on success to the Android trust anchors that leave out
	 * the system store (NULL when there are none, always NULL for the other
	 * formats); free with certpin_import_anchors_free().  Set to NULL on error.
	 */
	certpin_import_anchors **anchors;
} certpin_import_options;

#define CERTPIN_IMPORT_OPTIONS_VERSION 1
#define CERTPIN_IMPORT_OPTIONS_INIT { CERTPIN_IMPORT_OPTIONS_VERSION, CERTPIN_IMPORT_AUTO, NULL, NULL, NULL, NULL, NULL }

/*
 * Make a policy from the `len` bytes at `data` (need not be NUL-terminated;
 * a UTF-8 byte order mark is skipped) in opts->format.  `opts` may be NULL
 * (defaults).  On success *out is a new policy, frozen as a loaded one is
 * (free with certpin_policy_free()), and the warnings have been delivered.  On error
 * *out is NULL, `err` (may be NULL) has the reason (see the errors under
 * IMPORT FORMATS), and the code is returned: CERTPIN_E_POLICY for the
 * content, CERTPIN_E_INVALID_ARG (NULL `out`, unknown format or options
 * version), CERTPIN_E_NOMEM.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_data(certpin_policy **out, const char *data,
	size_t len, const certpin_import_options *opts, certpin_error *err);

/*
 * The same for the file `path` (opts->name NULL: `path` names it in
 * messages).  CERTPIN_E_IO if it cannot be read ("PATH: reason").
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_import_file(certpin_policy **out, const char *path,
	const certpin_import_options *opts, certpin_error *err);

/*
 * The trust anchors an Android import gives `hostname` when they leave out
 * the system store: the <certificates src> values joined by ", " (e.g.
 * "@raw/private_ca"; "none" for an empty <trust-anchors>), from the rule of
 * `policy` (the policy made by the same import) that applies to the host,
 * else from <base-config> for hosts no rule pins.  NULL when the host's
 * anchors include the system store, or `anchors` is NULL.  Clients of such a
 * host accept only chains to those anchors, whatever the pins: a chain
 * checked against other anchors proves nothing for them.  (A domain-config
 * without pins does not make a rule: its hosts get the wider rule's or
 * base-config's anchors here.)  Borrowed until `anchors` is freed.
 */
CERTPIN_EXPORT const char *certpin_import_anchors_for(const certpin_import_anchors *anchors,
	const certpin_policy *policy, const char *hostname);

/* NULL-safe. */
CERTPIN_EXPORT void certpin_import_anchors_free(certpin_import_anchors *anchors);

/*
 * Parse a format name: "auto", "json", "android" (or "nsc"), "pins" (or
 * "okhttp", "curl"), "trustkit".  CERTPIN_OK or CERTPIN_E_INVALID_ARG.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_import_format_parse(certpin_import_format *out,
	const char *name);

/* Name of an import format ("auto", "json", "android", "pins", "trustkit"). */
CERTPIN_EXPORT const char *certpin_import_format_name(certpin_import_format format);

/* ------------------------------------------------------------------------ */
/* Export                                                                    */
/* ------------------------------------------------------------------------ */

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
	unsigned int version;           /* CERTPIN_EXPORT_OPTIONS_VERSION (1 to 3 are still accepted) */
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
	/* Version 4.  Each lossy-conversion warning (see ERRORS AND WARNINGS); may be NULL. */
	certpin_warning_cb on_warning;
	void *payload;                  /* for on_warning */
} certpin_export_options;

#define CERTPIN_EXPORT_OPTIONS_VERSION 4
#define CERTPIN_EXPORT_OPTIONS_INIT { CERTPIN_EXPORT_OPTIONS_VERSION, 443, 0, 0, 0, NULL, NULL }

/*
 * Write `policy` in `format`; `opts` may be NULL (defaults, no warnings).
 * On success *out is malloc'd NUL-terminated text (free with free()) and the
 * warnings have been delivered.  On error *out is NULL and `err` (may be
 * NULL) has the reason: CERTPIN_E_UNSUPPORTED when a rule cannot be
 * expressed without widening it, or only narrowed (see NARROWED RULES and
 * OVERLAPPING RULES), CERTPIN_E_INVALID_ARG for a bad format, option or
 * NULL argument, CERTPIN_E_NOMEM.  The policy is not modified.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_export(char **out, const certpin_policy *policy,
	certpin_export_format format, const certpin_export_options *opts, certpin_error *err);

/*
 * Parse an export format name: "android", "okhttp", "trustkit" (or
 * "trustkit-swift"), "trustkit-plist", "curl", "hpkp", "tlsa".  CERTPIN_OK or
 * CERTPIN_E_INVALID_ARG.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_export_format_parse(certpin_export_format *out,
	const char *name);

/* Name of an export format ("android", "okhttp", "trustkit-swift", ...). */
CERTPIN_EXPORT const char *certpin_export_format_name(certpin_export_format format);

/* ------------------------------------------------------------------------ */
/* Lint                                                                      */
/* ------------------------------------------------------------------------ */

typedef enum certpin_lint_severity {
	CERTPIN_LINT_WARNING = 1,
	CERTPIN_LINT_ERROR = 2
} certpin_lint_severity;

/*
 * Checks; the identifier ("E001") and name ("too-few-pins") are stable.
 * After each, the finding fields it sets besides check, severity, id, name,
 * rule and pattern (see certpin_lint_finding).
 */
typedef enum certpin_lint_check {
	/* E001 enforced pinset with fewer than 2 pins: count (0 or 1) */
	CERTPIN_LINT_TOO_FEW_PINS = 1,
	/* E002 live: every pin matches a live chain, none is a backup: live, hostname, host (a host serving them) */
	CERTPIN_LINT_NO_BACKUP_PIN = 2,
	/* E003 live: no pin matches the live chain (refused now): live, hostname, host, mode, have_leaf, leaf */
	CERTPIN_LINT_NO_LIVE_MATCH = 3,
	/* E004 the pinset has already expired: when (effective expiry), on_expiry */
	CERTPIN_LINT_PINSET_EXPIRED = 4,
	/*
	 * W001 pins only on CA certificates the CA may rotate.  Offline:
	 * positions (the positions pinned: intermediate and/or root).  Live
	 * (live >= 0: the rule matched only through CA certificates): live,
	 * hostname, host, pin (the pin that matched), depths (every CA
	 * certificate of the chain a pin accepts) and n (the chain's length)
	 */
	CERTPIN_LINT_CA_PINS_ONLY = 101,
	/* W002 no expiry (when 0), or expiry (when) later than days (max_expiry_days) ahead */
	CERTPIN_LINT_EXPIRY_TOO_FAR = 102,
	/* W003 live: pinned leaf expires (when) before the pinset (expires, 0: never): live, hostname, host, pin, have_leaf, leaf */
	CERTPIN_LINT_LEAF_EXPIRES_FIRST = 103,
	/* W004 wildcard (wildcard: 1 "*.", 2 "**.") on the public suffix `suffix` */
	CERTPIN_LINT_PUBLIC_SUFFIX = 104,
	/* W005 on_expiry fail-closed: lockout on the expiry date (when) */
	CERTPIN_LINT_FAIL_CLOSED = 105,
	/* W006 pinset expires (when) within soon_days: days (whole days left), on_expiry */
	CERTPIN_LINT_EXPIRING_SOON = 106,
	/* W007 live chains given, but none for this rule */
	CERTPIN_LINT_NOT_CHECKED_LIVE = 107,
	/* W008 a live chain's host has no rule in the policy (rule -1): live, hostname, host */
	CERTPIN_LINT_LIVE_NOT_PINNED = 108
} certpin_lint_check;

/* "E001", "W003", ...; "?" for an unknown value. */
CERTPIN_EXPORT const char *certpin_lint_check_id(certpin_lint_check check);
/* "too-few-pins", "ca-pins-only", ...; "unknown" for an unknown value. */
CERTPIN_EXPORT const char *certpin_lint_check_name(certpin_lint_check check);

/*
 * The chain a host serves now, as its *verified* chain (leaf first, trust
 * anchor last), e.g. from a TLS connection.  Borrowed for the call only.
 */
typedef struct certpin_lint_chain {
	const char *hostname;               /* the host the chain was obtained for */
	const certpin_chain_elem *chain;
	size_t n;
	int64_t leaf_not_after;             /* the leaf's notAfter; 0 if unknown */
	const char *const *subjects;        /* n subject names (for the caller's own use), or NULL */
} certpin_lint_chain;

typedef struct certpin_lint_options {
	unsigned int version;               /* CERTPIN_LINT_OPTIONS_VERSION */
	int64_t now;                        /* time of the check; 0 = the current time */
	unsigned int max_expiry_days;       /* W002 threshold */
	unsigned int soon_days;             /* W006 threshold */
	const certpin_lint_chain *live;     /* live chains, or NULL: only offline checks run */
	size_t nlive;
} certpin_lint_options;

#define CERTPIN_LINT_OPTIONS_VERSION 1
#define CERTPIN_LINT_OPTIONS_INIT { CERTPIN_LINT_OPTIONS_VERSION, 0, 365, 30, NULL, 0 }

/*
 * One finding.  Fields a check does not set (see certpin_lint_check) are 0,
 * NULL or -1 (rule, pin, live).  Strings and arrays are borrowed from the
 * report.
 */
typedef struct certpin_lint_finding {
	unsigned int version;               /* CERTPIN_LINT_FINDING_VERSION */
	certpin_lint_check check;
	certpin_lint_severity severity;
	const char *id;                     /* "E001" */
	const char *name;                   /* "too-few-pins" */
	int rule;                           /* rule index in the policy, -1 if none */
	const char *pattern;                /* that rule's pattern, or NULL */
	int live;                           /* index of the live chain (options' `live`) it is about, -1 if none */
	const char *hostname;               /* that chain's hostname as given, or NULL */
	const char *host;                   /* the same, normalized, or NULL */
	int pin;                            /* pin index in the rule, -1 if not about one pin */
	certpin_mode mode;                  /* the rule's mode (rule >= 0) */
	certpin_expiry_action on_expiry;    /* the rule's expiry action (rule >= 0) */
	int64_t when;                       /* the date the finding is about (see the check), 0 if none */
	int64_t expires;                    /* W003: the pinset's effective expiry, 0: never */
	int64_t days;                       /* W002: max_expiry_days; W006: whole days left */
	size_t count;                       /* E001: pins in the rule */
	int have_leaf;                      /* E003, W003: 1 if `leaf` is known */
	certpin_pin leaf;                   /* the live leaf's SPKI pin */
	unsigned int positions;             /* W001 offline: bit (1u << position) of every position pinned */
	const size_t *depths;               /* W001 live: chain depths of the CA certificates a pin accepts */
	size_t ndepths;
	size_t n;                           /* W001 live: length of that live chain */
	int wildcard;                       /* W004: 1 "*.", 2 "**." (include_subdomains) */
	const char *suffix;                 /* W004: the public suffix (the rule's base name) */
} certpin_lint_finding;

#define CERTPIN_LINT_FINDING_VERSION 2

typedef struct certpin_lint_report certpin_lint_report;

/*
 * Lint `policy`.  Findings are ordered by rule, then errors before warnings.
 * Returns CERTPIN_OK (whatever was found; count errors with
 * certpin_lint_errors()), CERTPIN_E_INVALID_ARG, CERTPIN_E_NOMEM, or
 * CERTPIN_E_HOSTNAME for a live chain whose hostname is invalid (`err`, may
 * be NULL, names it).  `opts` may be NULL (defaults).  *out is NULL on
 * error; free with certpin_lint_report_free().
 *
 * Live checks use the rule that certpin_verify() applies to each live chain's
 * hostname.  A "backup pin" is a pin of the rule that matches no certificate
 * of any live chain of that rule (by digest, at any position): it is what
 * keeps clients working when the serving key or CA changes.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_lint(certpin_lint_report **out, const certpin_policy *policy,
	const certpin_lint_options *opts, certpin_error *err);

CERTPIN_EXPORT size_t certpin_lint_count(const certpin_lint_report *report);
/* Finding `index`, or NULL if out of range.  Borrowed from the report. */
CERTPIN_EXPORT const certpin_lint_finding *certpin_lint_finding_at(const certpin_lint_report *report, size_t index);
CERTPIN_EXPORT size_t certpin_lint_errors(const certpin_lint_report *report);
CERTPIN_EXPORT size_t certpin_lint_warnings(const certpin_lint_report *report);
/* NULL-safe. */
CERTPIN_EXPORT void certpin_lint_report_free(certpin_lint_report *report);

/* ------------------------------------------------------------------------ */
/* Rotation planner                                                          */
/* ------------------------------------------------------------------------ */

/*
 * The planned state of one host: the chain clients will verify after the
 * change, leaf first, trust anchor last.  Elements with flags 0 are unknown
 * (see OVERVIEW).  Borrowed for the call only.
 */
typedef struct certpin_plan_host {
	const char *hostname;
	const certpin_chain_elem *chain;
	size_t n;
} certpin_plan_host;

typedef struct certpin_plan_options {
	unsigned int version;               /* CERTPIN_PLAN_OPTIONS_VERSION */
	int64_t at;                         /* deploy time; 0 = the current time */
	unsigned int expiry_window_days;    /* flag pinsets expiring within this many days of `at` */
} certpin_plan_options;

#define CERTPIN_PLAN_OPTIONS_VERSION 2
#define CERTPIN_PLAN_OPTIONS_INIT { CERTPIN_PLAN_OPTIONS_VERSION, 0, 30 }

typedef enum certpin_plan_outcome {
	CERTPIN_PLAN_MATCH = 1,             /* connects: a pin matched */
	CERTPIN_PLAN_NOT_PINNED = 2,        /* connects: no rule applies to the host */
	CERTPIN_PLAN_REPORT_ONLY = 3,       /* connects: no pin matched, the rule is report-only */
	CERTPIN_PLAN_EXPIRED_OPEN = 4,      /* connects without pin checks: pinset expired, fail-open */
	CERTPIN_PLAN_LOCKOUT = 5,           /* refused: no pin matches the planned chain */
	CERTPIN_PLAN_EXPIRED_CLOSED = 6,    /* refused: pinset expired, fail-closed */
	CERTPIN_PLAN_UNKNOWN = 7,           /* no pin matched the known elements; one could match an unknown one */
	CERTPIN_PLAN_INVALID = 8            /* the engine rejected the input (invalid host name) */
} certpin_plan_outcome;

/* "match", "not-pinned", "report-only", "expired-fail-open", "lockout", ... */
CERTPIN_EXPORT const char *certpin_plan_outcome_name(certpin_plan_outcome outcome);

/* One shipped version against one host. */
typedef struct certpin_plan_cell {
	unsigned int version;               /* CERTPIN_PLAN_CELL_VERSION */
	certpin_plan_outcome outcome;       /* at the deploy time */
	int connects;                       /* 1 for match, not-pinned, report-only, expired-fail-open */
	int engine_rc;                      /* what certpin_verify() returned */
	certpin_result result;              /* the engine's result at the deploy time */
	certpin_pin matched;                /* the pin that matched, if result.pin >= 0 */
	certpin_position matched_position;
	int64_t expires;                    /* the rule's expiry plus clock skew; 0 if none or not pinned */
	certpin_expiry_action on_expiry;
	int expiring_soon;                  /* expires in (at, at + window] */
	certpin_plan_outcome after_expiry;  /* outcome just after `expires`; 0 if no expiry */
} certpin_plan_cell;

#define CERTPIN_PLAN_CELL_VERSION 1

typedef enum certpin_plan_verdict {
	CERTPIN_PLAN_SAFE = 0,              /* every version connects */
	CERTPIN_PLAN_UNSAFE = 1,            /* at least one version is refused */
	CERTPIN_PLAN_UNDECIDED = 2          /* none refused, but some depend on unknown chain elements */
} certpin_plan_verdict;

/* "safe", "unsafe", "undecided". */
CERTPIN_EXPORT const char *certpin_plan_verdict_name(certpin_plan_verdict verdict);

typedef struct certpin_plan certpin_plan;

/*
 * Evaluate `npolicies` shipped policies (named names[i], e.g. "app 2.3";
 * `names` may be NULL: "#1", "#2", ...) against `nhosts` planned host states
 * at opts->at.  `opts` may be NULL.  Returns CERTPIN_OK with *out set (a
 * lockout is a result, not an error), CERTPIN_E_INVALID_ARG (NULL arrays,
 * zero counts, an unknown options version: `err`, may be NULL, says which),
 * or CERTPIN_E_NOMEM.  Every decision is certpin_verify()'s.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_plan_evaluate(certpin_plan **out,
	const certpin_policy *const *policies, const char *const *names, size_t npolicies,
	const certpin_plan_host *hosts, size_t nhosts, const certpin_plan_options *opts, certpin_error *err);

CERTPIN_EXPORT certpin_plan_verdict certpin_plan_get_verdict(const certpin_plan *plan);
CERTPIN_EXPORT size_t certpin_plan_policy_count(const certpin_plan *plan);
CERTPIN_EXPORT size_t certpin_plan_host_count(const certpin_plan *plan);
/* Name of policy `index` and hostname of host `index` (normalized); NULL if out of range. */
CERTPIN_EXPORT const char *certpin_plan_policy_name(const certpin_plan *plan, size_t index);
CERTPIN_EXPORT const char *certpin_plan_host_name(const certpin_plan *plan, size_t index);
/* The cell for (policy, host), or NULL if out of range.  Borrowed. */
CERTPIN_EXPORT const certpin_plan_cell *certpin_plan_get_cell(const certpin_plan *plan, size_t policy, size_t host);

/*
 * What to do about one host, as policy indexes and pins.  Arrays are
 * borrowed from the plan.  A front end words it: who is refused and why
 * (locked_out, expired_closed, invalid), which backup pin to ship first
 * (offered[0], or any of offered; holders already have offered[0]), which
 * certificate to keep (keep; none shared by every locked-out version: name
 * each one's own pins, from its cell's result.rule).
 */
typedef struct certpin_plan_advice {
	unsigned int version;               /* set by the library: CERTPIN_PLAN_ADVICE_VERSION */
	const size_t *refused;              /* policies refused (the three lists below, in policy order) */
	size_t nrefused;
	const size_t *locked_out;           /*   no pin matches the planned chain (outcome lockout) */
	size_t nlocked_out;
	const size_t *expired_closed;       /*   pinset expired, fail-closed: only an app update helps */
	size_t nexpired_closed;
	const size_t *invalid;              /*   the engine refused the host name */
	size_t ninvalid;
	const size_t *undecided;            /* policies with outcome unknown */
	size_t nundecided;
	const certpin_pin *offered;         /* SPKI pins of the known planned chain, leaf first: */
	const size_t *offered_depth;        /*   backup pins a new version could ship */
	size_t noffered;
	size_t chain_length;                /* elements of the planned chain (names offered_depth: leaf, root, ...) */
	const size_t *holders;              /* policies whose rule already has offered[0] */
	size_t nholders;
	const certpin_pin *keep;            /* pins every locked-out version has: keeping a */
	const certpin_position *keep_position; /* certificate with one of them avoids the lockout */
	size_t nkeep;
} certpin_plan_advice;

#define CERTPIN_PLAN_ADVICE_VERSION 2

/* Fill `out` for host `index`.  CERTPIN_E_INVALID_ARG if out of range. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_plan_get_advice(certpin_plan_advice *out,
	const certpin_plan *plan, size_t host);

/* Cases a plan warns about although it does not refuse them. */
typedef enum certpin_plan_warning_kind {
	CERTPIN_PLAN_WARN_REPORT_ONLY = 1,  /* no pin matches; connects only because the rule is report-only */
	CERTPIN_PLAN_WARN_EXPIRED_OPEN = 2, /* pinset already expired (expires): connects without pin checks */
	CERTPIN_PLAN_WARN_EXPIRING = 3,     /* pinset expires (expires) within the window, in `days` whole
	                                       days; after_expiry is the outcome from then on */
	CERTPIN_PLAN_WARN_NOT_PINNED = 4    /* no version pins the host (policy -1) */
} certpin_plan_warning_kind;

typedef struct certpin_plan_warning {
	unsigned int version;               /* CERTPIN_PLAN_WARNING_VERSION */
	certpin_plan_warning_kind kind;
	int policy;                         /* the version, -1 if about every version */
	size_t host;                        /* the host */
	int64_t expires;                    /* EXPIRED_OPEN, EXPIRING: the effective expiry */
	int64_t days;                       /* EXPIRING */
	certpin_plan_outcome after_expiry;  /* EXPIRING */
} certpin_plan_warning;

#define CERTPIN_PLAN_WARNING_VERSION 1

/* Number of warnings, in policy then host order (NOT_PINNED last), and warning `index` (borrowed, NULL if out of range). */
CERTPIN_EXPORT size_t certpin_plan_warning_count(const certpin_plan *plan);
CERTPIN_EXPORT const certpin_plan_warning *certpin_plan_warning_at(const certpin_plan *plan, size_t index);

/* NULL-safe. */
CERTPIN_EXPORT void certpin_plan_free(certpin_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_TOOLS_H */
