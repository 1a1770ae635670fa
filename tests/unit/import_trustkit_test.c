/*
 * TrustKit import (src/tools/import_trustkit.c, import_plist.c,
 * import_tksource.c): an Info.plist, the Swift and Objective-C literals of
 * TrustKit's README and demos, TrustKit's semantics (two pins when
 * enforcing, subdomains, report-only, expiry, report URIs, exclusions), the
 * settings a policy cannot hold (warned), and inputs refused with a
 * one-line error: entities, foreign DOCTYPEs, values that are not literal.
 */
#include "import_util.h"
#include "test.h"

#define B64_A "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="   /* sha256("abc") */
#define B64_B "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="   /* sha256("") */
#define B64_C "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="   /* sha256("a") */
#define B64_D "PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="   /* sha256("b") */

#define ANY CERTPIN_POS_ANY
#define TK CERTPIN_IMPORT_TRUSTKIT
#define DOCTYPE "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
/* A plist with TSKConfiguration's TSKPinnedDomains set to `domains` */
#define PLIST(domains) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" DOCTYPE "<plist version=\"1.0\">\n<dict>\n" \
	"<key>TSKConfiguration</key>\n<dict>\n<key>TSKPinnedDomains</key>\n<dict>\n" domains "</dict>\n</dict>\n</dict>\n</plist>\n"
#define TWO_PINS "<key>TSKPublicKeyHashes</key><array><string>" B64_A "</string><string>" B64_B "</string></array>"

/* The rules of the sample app (tests/data/trustkit/): the same in all three files. */
static void check_sample(const certpin_policy *p)
{
	const char *ab[] = { B64_A, B64_B }, *cd[] = { B64_C, B64_D };
	certpin_host_info h;
	size_t n, idx;
	const char *const *uris;

	CHECK_INT(certpin_policy_host_count(p), 2);
	CHECK(imp_rule_has(p, "**.example.com", ab, 2, ANY));
	CHECK(imp_rule_has(p, "api.example.com", cd, 2, ANY));
	CHECK(certpin_policy_host(&h, p, (size_t)imp_rule(p, "**.example.com")) == CERTPIN_OK &&
		h.mode == CERTPIN_MODE_REPORT_ONLY && h.expires == 0);
	CHECK(certpin_policy_host(&h, p, (size_t)imp_rule(p, "api.example.com")) == CERTPIN_OK &&
		h.mode == CERTPIN_MODE_ENFORCE && h.expires == 1906502400 && h.on_expiry == CERTPIN_EXPIRY_FAIL_OPEN);
	uris = certpin_policy_report_uris(p, (int)imp_rule(p, "**.example.com"), &n);
	CHECK(n == 1 && strncmp(uris[0], "https://reports.example.com/trustkit", 36) == 0);
	/* include-subdomains covers the name itself and any depth below */
	CHECK(certpin_policy_lookup(&idx, p, "a.b.example.com") == CERTPIN_OK && (long)idx == imp_rule(p, "**.example.com"));
	CHECK(certpin_policy_lookup(&idx, p, "example.com") == CERTPIN_OK && (long)idx == imp_rule(p, "**.example.com"));
}

static void test_sample_files(void)
{
	static const char *const files[] = { "trustkit/Info.plist", "trustkit/AppDelegate.swift", "trustkit/AppDelegate.m" };
	char *json[3] = { NULL, NULL, NULL };

	for (size_t i = 0; i < 3; i++) {
		char *warn = NULL;
		int rc;
		certpin_error err;
		certpin_policy *p = imp_file(test_data(files[i]), CERTPIN_IMPORT_AUTO, &rc, &err, &warn);
		if (rc != CERTPIN_OK)
			fprintf(stderr, "%s: %s\n", files[i], err.message);
		CHECK_INT(rc, CERTPIN_OK);
		CHECK(warn == NULL);            /* everything in them is kept */
		check_sample(p);
		CHECK(certpin_policy_to_json(&json[i], p) == CERTPIN_OK);
		free(warn);
		certpin_policy_free(p);
	}
	/* the Info.plist's report URI carries a query; otherwise all three are the same policy */
	CHECK(json[1] && json[2] && strcmp(json[1], json[2]) == 0);
	for (size_t i = 0; i < 3; i++)
		free(json[i]);
}

/* TrustKit's README, verbatim (Objective-C and Swift). */
static void test_readme(void)
{
	static const char objc[] =
		"    NSDictionary *trustKitConfig =\n"
		"  @{\n"
		"    kTSKSwizzleNetworkDelegates: @NO,\n"
		"    kTSKPinnedDomains : @{\n"
		"            @\"www.datatheorem.com\" : @{\n"
		"                    kTSKExpirationDate: @\"2017-12-01\",\n"
		"                    kTSKPublicKeyHashes : @[\n"
		"                            @\"HXXQgxueCIU5TTLHob/bPbwcKOKw6DkfsTWYHbxbqTY=\",\n"
		"                            @\"0SDf3cRToyZJaMsoS17oF72VMavLxj/N7WBNasNuiR8=\"\n"
		"                            ],\n"
		"                    kTSKEnforcePinning : @NO,\n"
		"                    },\n"
		"            @\"yahoo.com\" : @{\n"
		"                    kTSKPublicKeyHashes : @[\n"
		"                            @\"TQEtdMbmwFgYUifM4LDF+xgEtd0z69mPGmkp014d6ZY=\",\n"
		"                            @\"rFjc3wG7lTZe43zeYTvPq8k4xdDEutCmIhI5dn4oCeE=\",\n"
		"                            ],\n"
		"                    kTSKIncludeSubdomains : @YES\n"
		"                    }\n"
		"            }};\n"
		"    \n"
		"    [TrustKit initSharedInstanceWithConfiguration:trustKitConfig];\n";
	static const char swift[] =
		"        let trustKitConfig = [\n"
		"            kTSKSwizzleNetworkDelegates: false,\n"
		"            kTSKPinnedDomains: [\n"
		"                \"yahoo.com\": [\n"
		"                    kTSKExpirationDate: \"2017-12-01\",\n"
		"                    kTSKPublicKeyHashes: [\n"
		"                        \"JbQbUG5JMJUoI6brnx0x3vZF6jilxsapbXGVfjhN8Fg=\",\n"
		"                        \"WoiWRyIOVNa9ihaBciRSC7XHjliYS9VwUGOIud4PB18=\"\n"
		"                    ],]]] as [String : Any]\n"
		"        \n"
		"        TrustKit.initSharedInstance(withConfiguration:trustKitConfig)\n";
	certpin_host_info h;
	char *warn = NULL;
	int rc;
	certpin_policy *p = imp_str(objc, CERTPIN_IMPORT_AUTO, &rc, NULL, &warn);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 2);
	CHECK(certpin_policy_host(&h, p, (size_t)imp_rule(p, "www.datatheorem.com")) == CERTPIN_OK &&
		h.mode == CERTPIN_MODE_REPORT_ONLY && h.expires == 1512086400 && h.pin_count == 2);
	CHECK(certpin_policy_host(&h, p, (size_t)imp_rule(p, "**.yahoo.com")) == CERTPIN_OK &&
		h.mode == CERTPIN_MODE_ENFORCE && h.expires == 0);
	/* neither disables TrustKit's default report server */
	CHECK_CONTAINS(warn, "in:5: domain \"www.datatheorem.com\": TrustKit also sends pin failure reports to its "
		"vendor's server unless kTSKDisableDefaultReportUri is true; that is not kept in the policy");
	CHECK_CONTAINS(warn, "in:13: domain \"yahoo.com\": TrustKit also sends");
	free(warn);
	certpin_policy_free(p);

	p = imp_str(swift, CERTPIN_IMPORT_AUTO, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(certpin_policy_host(&h, p, 0) == CERTPIN_OK && strcmp(h.pattern, "yahoo.com") == 0 &&
		h.mode == CERTPIN_MODE_ENFORCE && h.pin_count == 2 && h.expires == 1512086400);
	certpin_policy_free(p);
}

/* What TrustKit does with each setting, and what a policy cannot hold. */
static void test_semantics(void)
{
	static const char src[] =
		"let api = \"api.example.com\"\n"
		"let backup = \"" B64_D "\"\n"
		"let uris = [\"https://r1.example.com/\", \"mailto:pins@example.com\"]\n"
		"let config: [String: Any] = [\n"
		"    kTSKSwizzleNetworkDelegates: true,\n"
		"    kTSKIgnorePinningForUserDefinedTrustAnchors: true,\n"
		"    \"TSKAllowIntermediateCAs\": true,\n"
		"    kTSKPinnedDomains: [\n"
		"        \"example.com\": [kTSKIncludeSubdomains: 1, kTSKDisableDefaultReportUri: true,\n"
		"            kTSKPublicKeyHashes: [\"" B64_A "\", \"" B64_B "\", \"" B64_A "\"],\n"
		"            kTSKPublicKeyAlgorithms: [kTSKAlgorithmRsa2048]],\n"
		"        \"legacy.example.com\": [kTSKExcludeSubdomainFromParentPolicy: true],\n"
		"        api: [kTSKEnforcePinning: false, kTSKDisableDefaultReportUri: true, kTSKReportUris: uris,\n"
		"            kTSKPublicKeyHashes: [backup], \"TSKPinAll\": true],\n"
		"        \"CDN.example.com\": [kTSKDisableDefaultReportUri: true, kTSKPublicKeyHashes: [\"" B64_C "\", backup]],\n"
		"    ],\n"
		"]\n"
		"TrustKit.initSharedInstance(withConfiguration: config)\n";
	const char *ab[] = { B64_A, B64_B }, *d[] = { B64_D }, *cd[] = { B64_C, B64_D };
	certpin_host_info h;
	char *warn = NULL;
	size_t n, idx;
	int rc;
	certpin_policy *p = imp_str(src, TK, &rc, NULL, &warn);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 3);
	CHECK(imp_rule_has(p, "**.example.com", ab, 2, ANY));   /* a number is a boolean; duplicates merged */
	CHECK(imp_rule_has(p, "api.example.com", d, 1, ANY));   /* one pin is enough in report-only mode */
	CHECK(imp_rule_has(p, "cdn.example.com", cd, 2, ANY));
	CHECK(certpin_policy_host(&h, p, (size_t)imp_rule(p, "api.example.com")) == CERTPIN_OK &&
		h.mode == CERTPIN_MODE_REPORT_ONLY);
	CHECK(certpin_policy_report_uris(p, (int)imp_rule(p, "api.example.com"), &n) && n == 1);
	/* the excluded host stays under its parent's rule */
	CHECK(certpin_policy_lookup(&idx, p, "legacy.example.com") == CERTPIN_OK &&
		(long)idx == imp_rule(p, "**.example.com"));
	CHECK_CONTAINS(warn, "in:5: kTSKSwizzleNetworkDelegates true is not kept in the policy");
	CHECK_CONTAINS(warn, "in:6: kTSKIgnorePinningForUserDefinedTrustAnchors true (macOS): TrustKit skips pin checks");
	CHECK_CONTAINS(warn, "in:7: TSKAllowIntermediateCAs is not a TrustKit setting; ignored, as TrustKit does");
	CHECK_CONTAINS(warn, "in:14: domain \"api.example.com\": TSKPinAll is not a TrustKit domain setting");
	CHECK_CONTAINS(warn, "domain \"api.example.com\": report URI \"mailto:pins@example.com\" is not kept in the policy");
	CHECK_CONTAINS(warn, "in:15: domain \"CDN.example.com\": TrustKit compares host names as written");
	CHECK_CONTAINS(warn, "in:12: domain \"legacy.example.com\": TrustKit exempts it from \"**.example.com\"");
	CHECK(!strstr(warn ? warn : "", "kTSKPublicKeyAlgorithms"));
	CHECK(!strstr(warn ? warn : "", "vendor's server"));
	free(warn);
	certpin_policy_free(p);
}

/* certpin's own TrustKit exports import back to the same rules. */
static void test_round_trip(void)
{
	static const certpin_export_format formats[] = { CERTPIN_EXPORT_TRUSTKIT_SWIFT, CERTPIN_EXPORT_TRUSTKIT_PLIST };
	int rc;
	certpin_policy *p = imp_file(test_data("trustkit/Info.plist"), TK, &rc, NULL, NULL);
	char *want = NULL;

	CHECK(certpin_policy_to_json(&want, p) == CERTPIN_OK);
	for (size_t i = 0; i < 2; i++) {
		char *out = NULL, *got = NULL;
		certpin_policy *q;
		CHECK_INT(certpin_policy_export(&out, p, formats[i], NULL, NULL), CERTPIN_OK);
		q = imp_str(out, CERTPIN_IMPORT_AUTO, &rc, NULL, NULL);
		CHECK_INT(rc, CERTPIN_OK);
		CHECK(q && certpin_policy_to_json(&got, q) == CERTPIN_OK && strcmp(got, want) == 0);
		free(got);
		free(out);
		certpin_policy_free(q);
	}
	free(want);
	certpin_policy_free(p);
}

/* Inputs refused with a one-line error (and the words it must contain). */
static const struct {
	const char *name, *in, *want;
} refused[] = {
	/* XML: no entities, no DTD but Apple's (never loaded), no network */
	{ "internal subset", "<?xml version=\"1.0\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
		"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\" [\n<!ENTITY x SYSTEM \"file:///etc/passwd\">\n]>\n"
		"<plist><dict/></plist>\n", "in:2: only the standard property list DOCTYPE" },
	{ "entity", "<plist>\n<!ENTITY x \"y\">\n<dict/></plist>\n", "in:2: ENTITY declarations are not accepted" },
	{ "foreign DOCTYPE", "<!DOCTYPE plist SYSTEM \"http://attacker.example/x.dtd\">\n<plist><dict/></plist>",
		"in:1: only the standard property list DOCTYPE" },
	{ "two DOCTYPEs", DOCTYPE DOCTYPE "<plist><dict/></plist>", "in:2: only the standard" },
	{ "entity reference", PLIST("<key>a.example.com</key><dict><key>TSKPublicKeyHashes</key><array><string>&pin;"
		"</string></array></dict>\n"), "in:9: entity reference &pin; is not accepted (no DTD is read)" },
	{ "xinclude", PLIST("<key>a.example.com</key><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" "
		"href=\"/etc/passwd\"/>\n"), "in:9: unknown property list element <include>" },
	{ "NUL byte", "<plist>\0</plist>", "NUL byte in XML" },
	{ "malformed XML", "<plist><dict><key>TSKConfiguration</key>\n<dict>", "in:2: malformed XML" },
	/* libxml2's message for this has a newline: the error stays one line */
	{ "not UTF-8", "<plist>\xff\xff\xff\xff</plist>", "in:1: malformed XML: Input is not proper UTF-8" },
	{ "binary plist", "bplist00\x01\x02", "a binary property list: convert it to XML first" },
	{ "root", "<?xml version=\"1.0\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
		"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<dict/>", "root element is <dict>, not <plist>" },
	{ "no TSKConfiguration", "<plist><dict><key>CFBundleName</key><string>x</string></dict></plist>",
		"no TSKConfiguration in the property list" },
	{ "key without value", PLIST("<key>a.example.com</key>\n"), "in:9: <key> without a value in <dict>" },
	{ "value without key", PLIST("<dict/>\n"), "in:9: <dict> in <dict> without a <key>" },
	{ "build setting", PLIST("<key>a.example.com</key><dict><key>TSKPublicKeyHashes</key><array>"
		"<string>$(API_PIN)</string><string>" B64_B "</string></array></dict>\n"),
		"in:9: domain \"a.example.com\": a pin in TSKPublicKeyHashes: \"$(API_PIN)\" holds an Xcode build setting" },
	{ "date pin", PLIST("<key>a.example.com</key><dict><key>TSKPublicKeyHashes</key><array>"
		"<date>2030-01-01T00:00:00Z</date></array></dict>\n"), "a pin in TSKPublicKeyHashes must be a string, not a <date>" },
	/* TrustKit's own rules: it raises an exception at start-up */
	{ "one pin", PLIST("<key>a.example.com</key><dict><key>TSKPublicKeyHashes</key><array><string>" B64_A
		"</string><string>" B64_A "</string></array></dict>\n"), "in:9: domain \"a.example.com\": 1 distinct pin; "
		"TrustKit requires at least 2 when enforcing (a backup pin) and raises an exception at start-up" },
	{ "no pins report-only", PLIST("<key>a.example.com</key><dict><key>TSKEnforcePinning</key><false/></dict>\n"),
		"0 distinct pins; TrustKit requires at least 1 in report-only mode" },
	{ "bad pin", PLIST("<key>a.example.com</key><dict><key>TSKPublicKeyHashes</key><array><string>AAAA</string>"
		"</array></dict>\n"), "\"AAAA\" is not the base64 of a SHA-256 digest" },
	{ "no domains", "<plist><dict><key>TSKConfiguration</key><dict><key>TSKSwizzleNetworkDelegates</key><false/>"
		"</dict></dict></plist>", "no pinned domains (kTSKPinnedDomains): TrustKit raises an exception" },
	{ "IP", PLIST("<key>192.0.2.1</key><dict>" TWO_PINS "</dict>\n"), "TrustKit rejects an IP address" },
	{ "single label", PLIST("<key>localhost</key><dict>" TWO_PINS "</dict>\n"), "a name without a public suffix" },
	{ "wildcard", PLIST("<key>*.example.com</key><dict>" TWO_PINS "</dict>\n"), "TrustKit has no wildcards" },
	{ "same domain twice", PLIST("<key>a.example.com</key><dict>" TWO_PINS "</dict>\n<key>A.example.com</key><dict>"
		TWO_PINS "</dict>\n"), "in:10: domain \"A.example.com\": the domain appears more than once" },
	{ "key twice", PLIST("<key>a.example.com</key><dict>" TWO_PINS "<key>TSKEnforcePinning</key><true/>"
		"<key>TSKEnforcePinning</key><false/></dict>\n"), "TSKEnforcePinning appears twice" },
	{ "bad date", PLIST("<key>a.example.com</key><dict>" TWO_PINS "<key>TSKExpirationDate</key><string>1/2/2030"
		"</string></dict>\n"), "TSKExpirationDate \"1/2/2030\" is not a date YYYY-MM-DD" },
	{ "string boolean", PLIST("<key>a.example.com</key><dict>" TWO_PINS "<key>TSKIncludeSubdomains</key>"
		"<string>YES</string></dict>\n"), "TSKIncludeSubdomains must be a boolean, not the string \"YES\"" },
	{ "exclusion with settings", "@{kTSKPinnedDomains: @{@\"example.com\": @{kTSKIncludeSubdomains: @YES, "
		"kTSKPublicKeyHashes: @[@\"" B64_A "\", @\"" B64_B "\"]}, @\"a.example.com\": @{"
		"kTSKExcludeSubdomainFromParentPolicy: @YES, kTSKEnforcePinning: @NO}}}",
		"domain \"a.example.com\": kTSKExcludeSubdomainFromParentPolicy with other settings" },
	{ "exclusion without parent", "@{kTSKPinnedDomains: @{@\"example.com\": @{kTSKPublicKeyHashes: @[@\"" B64_A
		"\", @\"" B64_B "\"]}, @\"a.example.com\": @{kTSKExcludeSubdomainFromParentPolicy: @YES}}}",
		"without a parent domain with kTSKIncludeSubdomains" },
	/* Swift and Objective-C: what is not literal is named */
	{ "unknown name", "TrustKit.initSharedInstance(withConfiguration: AppConfig.pinning)",
		"in:1: the TrustKit configuration is `AppConfig.pinning` (not a literal, nor a name this file assigns one)" },
	{ "call", "TrustKit.initSharedInstance(withConfiguration: loadPinning(from: \"pins\"))",
		"the TrustKit configuration is `loadPinning(from: \"pins\")` (a call)" },
	{ "name of pins", "[kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: remotePins]]]",
		"kTSKPublicKeyHashes must be an array of strings, not `remotePins` (not a literal" },
	{ "interpolation", "let k = \"x\"\n[kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: [\"\\(k)\", k]]]]",
		"in:2: domain \"a.example.com\": a pin in kTSKPublicKeyHashes must be a string, not `\"\\(k)\"` (a string with "
		"an escape sequence or interpolation)" },
	{ "expression", "[kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: [prefix + \"A=\", \"B=\"]]]]",
		"not `prefix + \"A=\"` (an expression)" },
	{ "message send", "@{kTSKPinnedDomains: @{@\"a.example.com\": @{kTSKEnforcePinning: [NSNumber numberWithBool:NO]}}}",
		"kTSKEnforcePinning must be a boolean, not `[NSNumber numberWithBool:NO]` (not a literal)" },
	{ "assigned twice", "var pins = [\"" B64_A "\"]\npins = [\"" B64_B "\"]\n"
		"[kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: pins]]]",
		"not `pins` (assigned more than once in this file)" },
	{ "name key", "[kTSKPinnedDomains: [host: [kTSKPublicKeyHashes: [\"" B64_A "\"]]]]",
		"in:1: key `host` (not a literal, nor a name this file assigns one)" },
	{ "unknown constant", "[kTSKPinnedDomains: [\"a.example.com\": [kTSKPinAll: true]]]",
		"key `kTSKPinAll` (not a TrustKit constant)" },
	{ "two initializers", "#if DEBUG\nTrustKit.initSharedInstance(withConfiguration: dev)\n#else\n"
		"TrustKit.initSharedInstance(withConfiguration: prod)\n#endif\n",
		"in:4: TrustKit is initialized more than once (lines 2 and 4)" },
	{ "no configuration", "import TrustKit\nlet x = TrustKit.sharedInstance()\n", "no TrustKit configuration" },
	{ "unterminated", "[kTSKPinnedDomains: [\"a.example.com\": [kTSKPublicKeyHashes: [\"" B64_A "\",\n",
		"in:2: unterminated array" },
	{ "missing colon", "@{kTSKPinnedDomains: @{@\"a.example.com\" @{}}}", "in:1: expected ':' after a dictionary key" },
	{ "not a dictionary", "let c = [\"" B64_A "\"]\nTrustKit.initSharedInstance(withConfiguration: c)",
		"the TrustKit configuration must be a dictionary, not an array" },
};

static void test_refused(void)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
		certpin_policy *p = NULL;
		certpin_error err;
		/* the NUL case needs its length; the others are C strings */
		size_t len = strcmp(refused[i].name, "NUL byte") == 0 ? 17 : strlen(refused[i].in);
		o.format = TK;
		o.name = "in";
		int rc = certpin_policy_import_data(&p, refused[i].in, len, &o, &err);
		if (rc != CERTPIN_E_POLICY || !strstr(err.message, refused[i].want))
			fprintf(stderr, "case '%s': rc %d, \"%s\"\n", refused[i].name, rc, err.message);
		CHECK_INT(rc, CERTPIN_E_POLICY);
		CHECK(p == NULL);
		CHECK(strchr(err.message, '\n') == NULL);
		CHECK_CONTAINS(err.message, refused[i].want);
	}
}

/* Formats: detection, names; deep nesting is bounded. */
static void test_detect(void)
{
	certpin_import_format f;
	certpin_policy *p;
	char *deep;
	int rc;

	/* an Android file with a comment and no DOCTYPE is still Android; a plist is TrustKit */
	p = imp_str("<?xml version=\"1.0\"?>\n<!-- <plist> -->\n<network-security-config><domain-config><domain>"
		"a.example</domain><pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set></domain-config>"
		"</network-security-config>", CERTPIN_IMPORT_AUTO, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	certpin_policy_free(p);
	p = imp_str("<plist version=\"1.0\"><dict><key>TSKPinnedDomains</key><dict><key>a.example.com</key><dict>"
		TWO_PINS "<key>TSKDisableDefaultReportUri</key><true/></dict></dict></dict></plist>",
		CERTPIN_IMPORT_AUTO, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);                      /* a plist that is the configuration itself */
	CHECK_INT(certpin_policy_host_count(p), 1);
	certpin_policy_free(p);
	/* a <date> under a key TrustKit ignores: a warning, and no error detail left behind */
	p = imp_str(PLIST("<key>a.example.com</key><dict>" TWO_PINS "<key>Reviewed</key><date>2030-01-01T00:00:00Z</date>"
		"<key>TSKDisableDefaultReportUri</key><true/></dict>\n"), TK, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	certpin_policy_free(p);
	/* a plist forced onto Android is refused by its DOCTYPE */
	p = imp_str(PLIST(""), CERTPIN_IMPORT_ANDROID_NSC, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	certpin_policy_free(p);

	CHECK_INT(certpin_import_format_parse(&f, "trustkit"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_IMPORT_TRUSTKIT);
	CHECK_STR(certpin_import_format_name(CERTPIN_IMPORT_TRUSTKIT), "trustkit");

	if (!(deep = malloc(200001)))
		abort();
	memset(deep, '[', 200000);
	deep[200000] = '\0';
	memcpy(deep, "[kTSKPinnedDomains: ", 20);
	p = imp_str(deep, TK, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	for (size_t i = 0; i + 7 <= 199990; i += 7)
		memcpy(deep + i, "<array>", 7);
	memcpy(deep, "<plist>", 7);
	deep[199990] = '\0';
	p = imp_str(deep, TK, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	free(deep);
}

int main(void)
{
	test_sample_files();
	test_readme();
	test_semantics();
	test_round_trip();
	test_refused();
	test_detect();
	return test_finish("import_trustkit");
}
