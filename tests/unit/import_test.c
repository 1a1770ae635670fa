/*
 * Import from Android network_security_config.xml and pin lists (curl,
 * "host pin" lines, OkHttp source): semantics, inheritance, and a table of
 * inputs that must be rejected with FILE:LINE detail and an empty policy.
 */
#include "certpin.h"
#include "certpin/tools.h"
#include "import_util.h"
#include "internal.h"
#include "test.h"

#define B64_A "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="   /* sha256("abc") */
#define B64_B "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="   /* sha256("") */
#define B64_C "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="   /* sha256("a") */
#define B64_D "PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="   /* sha256("b") */
#define B64_SLASH "//////////////////////////////////////////8="  /* 32 bytes 0xff */
#define HEX_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* 1 if rule `pattern` has exactly the pins `b64s` (any order), all at position any (Android, OkHttp, bare pins). */
static int rule_has_pins(const certpin_policy *p, const char *pattern, const char *const *b64s, size_t n)
{
	return imp_rule_has(p, pattern, b64s, n, CERTPIN_POS_ANY);
}

/* The detail of the last import made through the helpers below, and its Android trust anchors. */
static certpin_error last_err;
static certpin_import_anchors *last_anchors;

/* The options for format `f`, default host `host`, name `name`; warnings into *warn (NULL if none). */
static certpin_import_options opts_for(certpin_import_format f, const char *host, const char *name, char **warn)
{
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;

	certpin_import_anchors_free(last_anchors);
	last_anchors = NULL;
	o.format = f;
	o.default_host = host;
	o.name = name;
	o.anchors = &last_anchors;
	if (warn) {
		*warn = NULL;
		o.on_warning = imp_collect_warning;
		o.payload = warn;
	}
	return o;
}

static int import_data(certpin_policy **out, const char *s, size_t len, certpin_import_format f, const char *host,
	const char *name, char **warn)
{
	certpin_import_options o = opts_for(f, host, name, warn);
	int rc = certpin_policy_import_data(out, s, len, &o, &last_err);

	CHECK_INT(last_err.code, rc);
	CHECK(rc == CERTPIN_OK ? *out != NULL : *out == NULL);
	return rc;
}

static int import_file(certpin_policy **out, const char *path, certpin_import_format f, const char *host,
	char **warn)
{
	certpin_import_options o = opts_for(f, host, NULL, warn);
	int rc = certpin_policy_import_file(out, path, &o, &last_err);

	CHECK_INT(last_err.code, rc);
	return rc;
}

static certpin_policy *import_str(const char *s, certpin_import_format f, const char *host, int *rc, char **warn)
{
	certpin_policy *p = NULL;

	*rc = import_data(&p, s, strlen(s), f, host, "in", warn);
	return p;
}

static void test_nsc_basic(void)
{
	certpin_policy *p;
	certpin_host_info h;
	char *warn = NULL;
	const char *ab[] = { B64_A, B64_B }, *cd[] = { B64_C, B64_D };

	CHECK_INT(import_file(&p, test_data("nsc/basic.xml"), CERTPIN_IMPORT_AUTO, NULL, &warn),
		CERTPIN_OK);
	CHECK_STR(last_err.message, "");
	/* what the policy does not keep is warned; overridePins inside debug-overrides is not a release setting */
	CHECK_CONTAINS(warn, "basic.xml: <debug-overrides> is not kept in the policy (export will not write it)");
	CHECK(!strstr(warn ? warn : "", "overridePins"));
	CHECK_INT(certpin_policy_host_count(p), 2);
	CHECK(rule_has_pins(p, "api.example.com", ab, 2));
	CHECK(rule_has_pins(p, "**.cdn.example.net", cd, 2));
	CHECK_INT(certpin_policy_host(&h, p, 0), CERTPIN_OK);
	CHECK_STR(h.pattern, "api.example.com");
	CHECK_INT(h.expires, 0);
	CHECK_INT(h.mode, CERTPIN_MODE_ENFORCE);
	CHECK_INT(certpin_policy_host(&h, p, 1), CERTPIN_OK);
	CHECK_INT(h.expires, 1893456000);   /* 2030-01-01T00:00:00Z: Android stops pinning at that date */
	CHECK_INT(h.on_expiry, CERTPIN_EXPIRY_FAIL_OPEN);
	CHECK_INT(h.wildcard, 2);
	/* the expiry means fail-open in the engine, as on Android */
	size_t idx;
	CHECK_INT(certpin_policy_lookup(&idx, p, "img.cdn.example.net"), CERTPIN_OK);
	CHECK_INT(idx, 1);
	CHECK_INT(certpin_policy_lookup(&idx, p, "cdn.example.net"), CERTPIN_OK);
	CHECK_INT(certpin_policy_lookup(&idx, p, "www.example.com"), CERTPIN_E_NOT_FOUND);
	free(warn);
	certpin_policy_free(p);
}

/* Trust anchors that leave out the system store are returned beside the policy (certpin_import_anchors_for()). */
static void test_nsc_trust_anchors(void)
{
	static const char xml[] =
		"<network-security-config>"
		"<base-config><trust-anchors><certificates src=\"user\"/></trust-anchors></base-config>"
		"<domain-config><domain>own.example</domain>"
		"<trust-anchors><certificates src=\"@raw/private_ca\"/><certificates src=\"user\"/></trust-anchors>"
		"<pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set>"
		"<domain-config><domain>child.own.example</domain></domain-config></domain-config>"
		"<domain-config><domain>sys.example</domain>"
		"<trust-anchors><certificates src=\"system\"/><certificates src=\"@raw/extra\"/></trust-anchors>"
		"<pin-set><pin digest=\"SHA-256\">" B64_B "</pin></pin-set></domain-config>"
		"<domain-config><domain>base.example</domain>"
		"<pin-set><pin digest=\"SHA-256\">" B64_C "</pin></pin-set></domain-config>"
		"</network-security-config>";
	static const char sys[] =
		"<network-security-config><domain-config><domain>a.example</domain>"
		"<pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set></domain-config></network-security-config>";
	int rc;
	certpin_policy *p = import_str(xml, CERTPIN_IMPORT_AUTO, NULL, &rc, NULL);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_STR(certpin_import_anchors_for(last_anchors, p, "own.example"), "@raw/private_ca, user");
	CHECK_STR(certpin_import_anchors_for(last_anchors, p, "child.own.example"), "@raw/private_ca, user");   /* inherited */
	CHECK(certpin_import_anchors_for(last_anchors, p, "sys.example") == NULL);         /* system among them */
	CHECK_STR(certpin_import_anchors_for(last_anchors, p, "base.example"), "user");   /* from base-config */
	CHECK_STR(certpin_import_anchors_for(last_anchors, p, "unpinned.example"), "user");
	certpin_policy_free(p);
	/* the default (system) anchors, and a JSON policy: nothing to say */
	p = import_str(sys, CERTPIN_IMPORT_AUTO, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(certpin_import_anchors_for(last_anchors, p, "a.example") == NULL);
	CHECK(certpin_import_anchors_for(last_anchors, p, "b.example") == NULL);
	CHECK(certpin_import_anchors_for(last_anchors, NULL, "a.example") == NULL);
	certpin_policy_free(p);
}

/* Settings the policy cannot keep: one warning per setting per element, naming it; none when there are none. */
static void test_nsc_lost_settings(void)
{
	static const char xml[] =
		"<network-security-config>\n"
		"<base-config cleartextTrafficPermitted=\"true\"/>\n"
		"<domain-config cleartextTrafficPermitted=\"true\"><domain>a.example</domain><domain>a2.example</domain>"
		"<pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set>\n"
		"<domain-config><domain>b.a.example</domain>"
		"<trust-anchors><certificates src=\"system\"/></trust-anchors></domain-config>\n"
		"</domain-config>\n"
		"<domain-config><domain>plain.example</domain>"
		"<pin-set><pin digest=\"SHA-256\">" B64_B "</pin></pin-set></domain-config>\n"
		"<debug-overrides><trust-anchors><certificates src=\"user\"/></trust-anchors></debug-overrides>\n"
		"</network-security-config>\n";
	static const char none[] =
		"<network-security-config><base-config/><domain-config><domain>a.example</domain>"
		"<pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set></domain-config></network-security-config>";
	static const char *const want[] = {
		"in: cleartextTrafficPermitted=\"true\" on <base-config> is not kept in the policy (export will not write it)",
		("in: cleartextTrafficPermitted=\"true\" on <domain-config> for \"a.example\" is not kept in the policy "
		 "(export will not write it)"),
		"in: <trust-anchors> in <domain-config> for \"b.a.example\" is not kept in the policy (export will not write it)",
		"in: <debug-overrides> is not kept in the policy (export will not write it)",
	};
	char *warn = NULL;
	int rc;
	certpin_policy *p = import_str(xml, CERTPIN_IMPORT_AUTO, NULL, &rc, &warn);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 4);
	/* exactly these lines, in document order */
	const char *w = warn ? warn : "";
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t n = strlen(want[i]);
		CHECK(strncmp(w, want[i], n) == 0 && (w[n] == '\n' || w[n] == '\0'));
		if (strncmp(w, want[i], n) != 0)
			fprintf(stderr, "  warning %zu: \"%.*s\", want \"%s\"\n", i, (int)strcspn(w, "\n"), w, want[i]);
		w += strcspn(w, "\n");
		w += *w == '\n';
	}
	CHECK_STR(w, "");
	free(warn);
	certpin_policy_free(p);
	warn = (char *)"unset";
	p = import_str(none, CERTPIN_IMPORT_AUTO, NULL, &rc, &warn);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(warn == NULL);
	certpin_policy_free(p);
}

static void test_nsc_nested(void)
{
	certpin_policy *p;
	certpin_host_info h;
	char *warn = NULL;
	const char *ab[] = { B64_A, B64_B }, *c[] = { B64_C };

	CHECK_INT(import_file(&p, test_data("nsc/nested.xml"), CERTPIN_IMPORT_ANDROID_NSC, NULL,
		&warn), CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 4);
	CHECK(rule_has_pins(p, "**.example.com", ab, 2));
	/* inherits the parent's pin-set, expiration included */
	CHECK(rule_has_pins(p, "legacy.example.com", ab, 2));
	CHECK_INT(certpin_policy_host(&h, p, (size_t)imp_rule(p, "legacy.example.com")), CERTPIN_OK);
	CHECK_INT(h.expires, 1940544000);   /* 2031-06-30T00:00:00Z */
	/* its own pin-set replaces the parent's, and has no expiration */
	CHECK(rule_has_pins(p, "**.pay.example.com", c, 1));
	CHECK_INT(certpin_policy_host(&h, p, (size_t)imp_rule(p, "**.pay.example.com")), CERTPIN_OK);
	CHECK_INT(h.expires, 0);
	/* grandchild inherits from the nearest ancestor with a pin-set */
	CHECK(rule_has_pins(p, "eu.pay.example.com", c, 1));
	/* an empty pin-set: not pinned by Android, no rule here, and a warning that the wider rule applies */
	CHECK_INT(imp_rule(p, "open.example.com"), -1);
	CHECK_CONTAINS(warn, "nested.xml:25: domain \"open.example.com\" has no pins");
	CHECK_CONTAINS(warn, "\"**.example.com\"");
	free(warn);
	certpin_policy_free(p);
}

static void test_nsc_warnings(void)
{
	certpin_policy *p;
	char *warn = NULL;

	CHECK_INT(import_file(&p, test_data("nsc/override-pins.xml"), CERTPIN_IMPORT_AUTO, NULL,
		&warn), CERTPIN_OK);
	CHECK_CONTAINS(warn, "override-pins.xml:6: overridePins=\"true\"");
	free(warn);
	certpin_policy_free(p);

	/* no pins at all is a valid app configuration: empty policy, with a warning */
	CHECK_INT(import_file(&p, test_data("nsc/no-pins.xml"), CERTPIN_IMPORT_AUTO, NULL,
		&warn), CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 0);
	CHECK_CONTAINS(warn, "no pinned domains");
	free(warn);
	certpin_policy_free(p);
}

#define NSC_HEAD "<?xml version=\"1.0\"?>\n<network-security-config>\n"
#define NSC_TAIL "</network-security-config>\n"
#define PINSET_A "<pin-set><pin digest=\"SHA-256\">" B64_A "</pin></pin-set>"

static const struct bad_case {
	const char *name;
	certpin_import_format format;
	const char *input;
	const char *want;     /* substring of the error detail */
} bad_cases[] = {
	{ "sha1 digest", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config>\n<domain>a.example</domain>\n<pin-set>\n"
		"<pin digest=\"SHA-1\">qZk+NkcGgWq6PiVxeFDCbJzQ2J0=</pin>\n</pin-set></domain-config>\n" NSC_TAIL,
		"in:6: pin digest \"SHA-1\" is not supported" },
	{ "no digest", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain><pin-set>\n"
		"<pin>" B64_A "</pin></pin-set></domain-config>" NSC_TAIL, "in:4: <pin> without digest" },
	{ "bad base64", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain><pin-set>"
		"<pin digest=\"SHA-256\">not*base64</pin></pin-set></domain-config>" NSC_TAIL, "is not valid base64" },
	{ "short digest", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain><pin-set>"
		"<pin digest=\"SHA-256\">qZk+NkcGgWq6PiVxeFDCbJzQ2J0=</pin></pin-set></domain-config>" NSC_TAIL,
		"is 20 bytes" },
	{ "empty pin", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain><pin-set>"
		"<pin digest=\"SHA-256\"> </pin></pin-set></domain-config>" NSC_TAIL, "empty <pin>" },
	{ "unknown element", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>\n"
		"<pins/>" PINSET_A "</domain-config>" NSC_TAIL, "in:4: unknown element <pins> in <domain-config>" },
	{ "unknown element in pin-set", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example"
		"</domain><pin-set><pin digest=\"SHA-256\">" B64_A "</pin><backup/></pin-set></domain-config>" NSC_TAIL,
		"unknown element <backup> in <pin-set>" },
	{ "unknown top element", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-configs/>" NSC_TAIL,
		"unknown element <domain-configs>" },
	{ "unknown attribute", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>"
		"<pin-set expires=\"2030-01-01\"><pin digest=\"SHA-256\">" B64_A "</pin></pin-set></domain-config>"
		NSC_TAIL, "unknown attribute expires on <pin-set>" },
	{ "unknown domain attribute", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain includeSubDomains="
		"\"true\">a.example</domain>" PINSET_A "</domain-config>" NSC_TAIL, "unknown attribute includeSubDomains" },
	{ "bad boolean", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain includeSubdomains=\"yes\">"
		"a.example</domain>" PINSET_A "</domain-config>" NSC_TAIL, "includeSubdomains=\"yes\" must be true or false" },
	{ "bad expiration", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>"
		"<pin-set expiration=\"2030-02-30\"><pin digest=\"SHA-256\">" B64_A "</pin></pin-set></domain-config>"
		NSC_TAIL, "expiration=\"2030-02-30\" is not a date" },
	{ "expiration with time", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>"
		"<pin-set expiration=\"2030-01-01T00:00:00Z\"><pin digest=\"SHA-256\">" B64_A "</pin></pin-set>"
		"</domain-config>" NSC_TAIL, "is not a date YYYY-MM-DD" },
	{ "duplicate domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>"
		PINSET_A "</domain-config>\n<domain-config><domain includeSubdomains=\"true\">A.example.</domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "in:4: domain \"a.example\" appears more than once" },
	{ "duplicate unpinned domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example"
		"</domain></domain-config><domain-config><domain>a.example</domain></domain-config>" NSC_TAIL,
		"appears more than once" },
	{ "wildcard domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>*.a.example</domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "Android has no wildcards" },
	{ "bad domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a..example</domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "is not a valid host name" },
	{ "empty domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>  </domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "empty <domain>" },
	{ "element in domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a<b/>.example</domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "<domain> may contain only text" },
	{ "no domain", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config>\n" PINSET_A "</domain-config>" NSC_TAIL,
		"in:3: <domain-config> without <domain>" },
	{ "two pin-sets", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>a.example</domain>"
		PINSET_A "\n" PINSET_A "</domain-config>" NSC_TAIL, "in:4: more than one <pin-set>" },
	{ "pin-set in base-config", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<base-config>" PINSET_A "</base-config>"
		NSC_TAIL, "not allowed in <base-config>" },
	{ "text in domain-config", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config>oops<domain>a.example"
		"</domain>" PINSET_A "</domain-config>" NSC_TAIL, "unexpected text in <domain-config>" },
	{ "wrong root", CERTPIN_IMPORT_ANDROID_NSC, "<?xml version=\"1.0\"?>\n<manifest/>\n",
		"in:2: root element is <manifest>" },
	{ "namespaced root", CERTPIN_IMPORT_ANDROID_NSC, "<n:network-security-config xmlns:n=\"urn:x\"/>",
		"not <network-security-config>" },
	{ "malformed", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config>\n<domain>a.example</domain>\n"
		"</domain-configx>" NSC_TAIL, "in:5: malformed XML" },
	{ "undefined entity", CERTPIN_IMPORT_ANDROID_NSC, NSC_HEAD "<domain-config><domain>&host;</domain>"
		PINSET_A "</domain-config>" NSC_TAIL, "malformed XML: Entity 'host' not defined" },
	{ "doctype", CERTPIN_IMPORT_ANDROID_NSC, "<?xml version=\"1.0\"?>\n<!DOCTYPE network-security-config "
		"SYSTEM \"http://127.0.0.1:9/nsc.dtd\">\n<network-security-config/>\n",
		"in:2: DOCTYPE and ENTITY declarations are not accepted" },
	{ "entity bomb", CERTPIN_IMPORT_ANDROID_NSC, "<?xml version=\"1.0\"?>\n<!DOCTYPE a [\n<!ENTITY a \"aaaa\">\n"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>\n<network-security-config/>\n", "DOCTYPE and ENTITY" },
	{ "utf-16", CERTPIN_IMPORT_ANDROID_NSC, "<\0?\0x\0m\0l\0", "NUL byte" },
	{ "auto-detected bad xml", CERTPIN_IMPORT_AUTO, "  <network-security-config>", "malformed XML" },
	/* pin lists */
	{ "no host", CERTPIN_IMPORT_PIN_LIST, "# pins\n\nsha256//" B64_A ";sha256//" B64_B "\n",
		"in:3: pins without a host" },
	{ "bad pin", CERTPIN_IMPORT_PIN_LIST, "api.example.com sha256/" B64_A "\napi.example.com sha256/AAAA\n",
		"in:2: bad pin \"sha256/AAAA\"" },
	{ "sha1 pin", CERTPIN_IMPORT_PIN_LIST, "api.example.com sha1/qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\n",
		"in:1: bad pin" },
	{ "not a pin or host", CERTPIN_IMPORT_PIN_LIST, "https://api.example.com/ sha256/" B64_A "\n",
		"is neither a pin nor a host name" },
	{ "host without pins", CERTPIN_IMPORT_PIN_LIST, "api.example.com\n", "in:1: host \"api.example.com\" without pins" },
	{ "empty list", CERTPIN_IMPORT_PIN_LIST, "# nothing\n\n", "no pins found" },
	{ "okhttp variable", CERTPIN_IMPORT_PIN_LIST, "CertificatePinner.Builder()\n  .add(\"a.example\", PIN_A)\n",
		"in:2: .add(...) argument PIN_A is neither a string literal nor a constant declared in this file" },
	{ "okhttp no pins", CERTPIN_IMPORT_PIN_LIST, "CertificatePinner.Builder().add(\"a.example\").build()",
		".add(\"a.example\") without pins" },
	{ "okhttp template", CERTPIN_IMPORT_PIN_LIST, ".add(\"$host\", \"sha256/" B64_A "\")",
		"escapes and templates are not supported" },
	{ "okhttp bad pin", CERTPIN_IMPORT_PIN_LIST, ".add(\n\"a.example\",\n\"sha256/xyz\")", "in:3: bad pin" },
	{ "okhttp bad host", CERTPIN_IMPORT_PIN_LIST, ".add(\"a b\", \"sha256/" B64_A "\")", "invalid host \"a b\"" },
	{ "okhttp unterminated", CERTPIN_IMPORT_PIN_LIST, ".add(\"a.example\", \"sha256/" B64_A "\"",
		"unterminated .add( call" },
	/* JSON goes through the policy loader */
	{ "json", CERTPIN_IMPORT_AUTO, "{\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": [\"x\"]}]}",
		"/hosts/0/pins/0" },
};

static void test_bad_inputs(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		certpin_policy *p;
		char *warn = (char *)"unset";
		size_t len = strcmp(c->name, "utf-16") == 0 ? 10 : strlen(c->input);
		int rc;

		rc = import_data(&p, c->input, len, c->format, NULL, "in", &warn);
		if (rc != CERTPIN_E_POLICY || !strstr(last_err.message, c->want))
			fprintf(stderr, "case '%s': rc %d, error \"%s\"\n", c->name, rc, last_err.message);
		CHECK_INT(rc, CERTPIN_E_POLICY);
		CHECK_CONTAINS(last_err.message, c->want);
		CHECK(p == NULL);
		CHECK(warn == NULL);
		CHECK(last_anchors == NULL);
	}
}

static void test_xxe_file(void)
{
	certpin_policy *p;

	CHECK_INT(import_file(&p, test_data("nsc/xxe.xml"), CERTPIN_IMPORT_AUTO, NULL, NULL), CERTPIN_E_POLICY);
	CHECK_CONTAINS(last_err.message, "xxe.xml:2: DOCTYPE and ENTITY declarations are not accepted");
	CHECK(!strstr(last_err.message, "root:"));   /* nothing of /etc/passwd */
	CHECK(p == NULL);
	CHECK_INT(import_file(&p, test_data("nsc/sha1.xml"), CERTPIN_IMPORT_AUTO, NULL, NULL), CERTPIN_E_POLICY);
	CHECK_INT(last_err.line, 7);
	CHECK_CONTAINS(last_err.message, "sha1.xml:7: pin digest \"SHA-1\" is not supported");
	certpin_policy_free(p);
}

static void test_size_and_args(void)
{
	certpin_policy *p;
	size_t big = CERTPIN_IMPORT_MAX_SIZE + 1;
	char *buf = malloc(big);
	int rc;

	if (!buf)
		abort();
	memset(buf, ' ', big);
	buf[0] = '<';
	CHECK_INT(import_data(&p, buf, big, CERTPIN_IMPORT_AUTO, NULL, "big", NULL), CERTPIN_E_POLICY);
	CHECK_CONTAINS(last_err.message, "big: input larger than");
	free(buf);

	/* missing file: I/O error with the path */
	CHECK_INT(import_file(&p, "/nonexistent/nsc.xml", CERTPIN_IMPORT_AUTO, NULL, NULL), CERTPIN_E_IO);
	CHECK_CONTAINS(last_err.message, "/nonexistent/nsc.xml");
	CHECK_INT(certpin_policy_import_data(NULL, "x", 1, NULL, &last_err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_import_file(&p, NULL, NULL, &last_err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(import_data(&p, "x", 1, (certpin_import_format)9, "a.example", NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(import_data(&p, NULL, 1, CERTPIN_IMPORT_AUTO, NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	/* invalid default host */
	CHECK_INT(import_data(&p, "sha256/" B64_A, strlen("sha256/" B64_A), CERTPIN_IMPORT_PIN_LIST, "bad host", NULL,
		NULL), CERTPIN_E_POLICY);
	CHECK_CONTAINS(last_err.message, "<data>: invalid default host");
	/* options of an unknown version: nothing is made, err says why */
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
	o.version = 99;
	CHECK_INT(certpin_policy_import_data(&p, "a.example sha256/" B64_A, strlen("a.example sha256/" B64_A), &o, &last_err), CERTPIN_E_INVALID_ARG);
	CHECK(p == NULL);
	CHECK_CONTAINS(last_err.message, "unknown version");
	/* defaults without options; a NULL err is fine */
	CHECK_INT(certpin_policy_import_data(&p, "a.example sha256/" B64_A, strlen("a.example sha256/" B64_A), NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 1);
	certpin_policy_free(p);
	(void)rc;
}

/* Distinct base64 digests for limit tests: 32 bytes holding `i`. */
static void nth_b64(char out[48], unsigned int i)
{
	unsigned char d[CERTPIN_DIGEST_LEN] = { 0 };

	memcpy(d, &i, sizeof(i));
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

	memcpy(pin.digest, d, sizeof(d));
	if (certpin_pin_format(out, 48, &pin, CERTPIN_STYLE_BASE64) != CERTPIN_OK)
		abort();
}

static void test_limits(void)
{
	size_t cap = 4u << 20, n;
	char *buf = malloc(cap), b64[48];
	certpin_policy *p;
	int rc;

	if (!buf)
		abort();
	/* a pin-set at the limit is fine, one more is an error */
	for (unsigned int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(buf, cap, "<network-security-config><domain-config><domain>a.example</domain><pin-set>");
		for (unsigned int i = 0; i < CERTPIN_IMPORT_MAX_HOST_PINS + extra; i++) {
			nth_b64(b64, i);
			n += (size_t)snprintf(buf + n, cap - n, "<pin digest=\"SHA-256\">%s</pin>\n", b64);
		}
		n += (size_t)snprintf(buf + n, cap - n, "</pin-set></domain-config></network-security-config>");
		p = import_str(buf, CERTPIN_IMPORT_ANDROID_NSC, NULL, &rc, NULL);
		CHECK_INT(rc, extra ? CERTPIN_E_POLICY : CERTPIN_OK);
		if (extra)
			CHECK_CONTAINS(last_err.message, "more than 256 pins in one <pin-set>");
		certpin_policy_free(p);
	}
	/* a pin list host with too many pins */
	n = 0;
	for (unsigned int i = 0; i <= CERTPIN_IMPORT_MAX_HOST_PINS; i++) {
		nth_b64(b64, i);
		n += (size_t)snprintf(buf + n, cap - n, "a.example sha256/%s\n", b64);
	}
	p = import_str(buf, CERTPIN_IMPORT_PIN_LIST, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	CHECK_CONTAINS(last_err.message, "in:257: more than 256 pins for host \"a.example\"");
	certpin_policy_free(p);
	/* inheritance amplification: one full pin-set inherited by 257 nested domains */
	n = (size_t)snprintf(buf, cap, "<network-security-config><domain-config><domain>a.example</domain><pin-set>");
	for (unsigned int i = 0; i < CERTPIN_IMPORT_MAX_HOST_PINS; i++) {
		nth_b64(b64, i);
		n += (size_t)snprintf(buf + n, cap - n, "<pin digest=\"SHA-256\">%s</pin>", b64);
	}
	n += (size_t)snprintf(buf + n, cap - n, "</pin-set><domain-config>");
	for (unsigned int i = 0; i < CERTPIN_IMPORT_MAX_PINS / CERTPIN_IMPORT_MAX_HOST_PINS; i++)
		n += (size_t)snprintf(buf + n, cap - n, "<domain>d%u.a.example</domain>", i);
	n += (size_t)snprintf(buf + n, cap - n, "</domain-config></domain-config></network-security-config>");
	p = import_str(buf, CERTPIN_IMPORT_ANDROID_NSC, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	CHECK_CONTAINS(last_err.message, "more than 65536 pins in all");
	CHECK_INT(certpin_policy_host_count(p), 0);
	certpin_policy_free(p);
	free(buf);
}

static void test_pin_lists(void)
{
	certpin_policy *p;
	char *warn = NULL;
	int rc;
	const char *ab[] = { B64_A, B64_B }, *a[] = { B64_A }, *abc[] = { B64_A, B64_B, B64_C }, *c[] = { B64_C };

	/* a curl string takes the default host; curl checks the leaf key only: position leaf */
	p = import_str("sha256//" B64_A ";sha256//" B64_B "\n", CERTPIN_IMPORT_AUTO, "API.example.com", &rc, &warn);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(imp_rule_has(p, "api.example.com", ab, 2, CERTPIN_POS_LEAF));
	CHECK(!rule_has_pins(p, "api.example.com", ab, 2));
	CHECK(warn == NULL);
	certpin_policy_free(p);

	/* a copied shell argument, quotes and option included */
	p = import_str("--pinnedpubkey 'sha256//" B64_A ";sha256//" B64_B "'\n", CERTPIN_IMPORT_PIN_LIST,
		"a.example", &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(imp_rule_has(p, "a.example", ab, 2, CERTPIN_POS_LEAF));
	certpin_policy_free(p);
	p = import_str("--pinnedpubkey=sha256//" B64_A "\n", CERTPIN_IMPORT_PIN_LIST, "a.example", &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(imp_rule_has(p, "a.example", a, 1, CERTPIN_POS_LEAF));
	certpin_policy_free(p);

	/* "sha256/" and a digest that starts with '/' is not curl's form; the first position of a digest wins */
	p = import_str("sha256/" B64_SLASH "\nsha256//" B64_A "\nsha256/" B64_A "\n", CERTPIN_IMPORT_PIN_LIST,
		"a.example", &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	{
		certpin_host_info h;
		certpin_pin got;
		certpin_position pos;
		certpin_pin slash = imp_pin(B64_SLASH), pa = imp_pin(B64_A);
		CHECK(certpin_policy_host(&h, p, 0) == CERTPIN_OK && h.pin_count == 2);
		CHECK_INT(certpin_policy_host_pin(&got, &pos, p, 0, 0), CERTPIN_OK);
		CHECK(certpin_pin_equal(&got, &slash));
		CHECK_INT(pos, CERTPIN_POS_ANY);
		CHECK_INT(certpin_policy_host_pin(&got, &pos, p, 0, 1), CERTPIN_OK);
		CHECK(certpin_pin_equal(&got, &pa));
		CHECK_INT(pos, CERTPIN_POS_LEAF);
	}
	certpin_policy_free(p);

	/* host lines, comments, several hosts, pins accumulate, duplicates merge, all pin forms */
	p = import_str("# shipped in 2.3\n"
		"// also a comment\n"
		"api.example.com sha256/" B64_A ", sha256/" B64_B "   # current, backup\r\n"
		"**.cdn.example.com\tsha256//" B64_C "\n"
		"api.example.com sha256:" HEX_A " pin-sha256=\"" B64_C "\"\n"
		"*.edge.example.com sha256/" B64_A "\n"
		"sha256/" B64_C "\n",
		CERTPIN_IMPORT_AUTO, "fallback.example", &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 4);
	CHECK(rule_has_pins(p, "api.example.com", abc, 3));
	CHECK(imp_rule_has(p, "**.cdn.example.com", c, 1, CERTPIN_POS_LEAF));   /* curl form */
	CHECK(rule_has_pins(p, "*.edge.example.com", a, 1));
	CHECK(rule_has_pins(p, "fallback.example", c, 1));
	certpin_policy_free(p);

	/* the mkpki pins.txt shape: "NAME sha256/..." makes NAME a host */
	p = import_str("leaf sha256/" B64_A "\nbackup sha256/" B64_B "\n", CERTPIN_IMPORT_PIN_LIST, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 2);
	certpin_policy_free(p);
}

static void test_okhttp(void)
{
	static const char kotlin[] =
		"package com.example.net\n"
		"\n"
		"import okhttp3.CertificatePinner\n"
		"\n"
		"// .add(\"old.example.com\", \"sha256/" B64_D "\")  -- removed in 3.0\n"
		"val certificatePinner = CertificatePinner.Builder()\n"
		"    .add(\"api.example.com\", \"sha256/" B64_A "\")\n"
		"    /* .add(\"api.example.com\", \"sha256/" B64_D "\") */\n"
		"    .add(\n"
		"        \"**.example.com\",\n"
		"        \"sha256/" B64_A "\", // current\n"
		"        \"sha256/" B64_B "\", // backup\n"
		"    )\n"
		"    .add (\"*.cdn.example.com\", \"sha256/" B64_C "\").build()\n"
		"val note = \"sha256/" B64_D "\"\n"
		"val c = '\"'\n";
	static const char java[] =
		"CertificatePinner certificatePinner = new CertificatePinner.Builder()\n"
		"        .add(\"api.example.com\", \"sha256/" B64_A "\", \"sha256/" B64_B "\")\n"
		"        .build();\n"
		"list.addAll(x);\n";
	certpin_policy *p;
	char *warn = NULL;
	int rc;
	const char *ab[] = { B64_A, B64_B }, *abc[] = { B64_A, B64_B, B64_C };

	p = import_str(kotlin, CERTPIN_IMPORT_AUTO, NULL, &rc, &warn);
	CHECK_INT(rc, CERTPIN_OK);
	if (rc)
		fprintf(stderr, "okhttp: %s\n", last_err.message);
	CHECK_INT(certpin_policy_host_count(p), 3);
	/*
	 * OkHttp accepts the pins of every matching pattern: "**.example.com"
	 * covers both other rules, so they get its pins too (commented-out pins
	 * are not imported).
	 */
	CHECK(rule_has_pins(p, "api.example.com", ab, 2));
	CHECK(rule_has_pins(p, "**.example.com", ab, 2));
	CHECK(rule_has_pins(p, "*.cdn.example.com", abc, 3));
	CHECK_CONTAINS(warn, "in:15: pin literal outside .add(...) ignored");
	CHECK_CONTAINS(warn, "in: \"**.example.com\" also matches every host of \"api.example.com\": OkHttp accepts "
		"the pins of every matching pattern, so its 1 pin(s) were added to rule \"api.example.com\"");
	CHECK_CONTAINS(warn, "so its 2 pin(s) were added to rule \"*.cdn.example.com\"");
	free(warn);
	certpin_policy_free(p);

	p = import_str(java, CERTPIN_IMPORT_PIN_LIST, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(rule_has_pins(p, "api.example.com", ab, 2));
	certpin_policy_free(p);
}

/* OkHttp's union of matching patterns, as certpin rules. */
static void test_okhttp_union(void)
{
	certpin_policy *p;
	char *warn = NULL;
	int rc;
	const char *ab[] = { B64_A, B64_B }, *c[] = { B64_C };

	/* "*.x" covers exactly the one-label names below x; "**.l.x" and "*.x" only share host l.x */
	p = import_str(".add(\"a.example.com\", \"sha256/" B64_A "\")\n"
		".add(\"*.example.com\", \"sha256/" B64_B "\")\n"
		".add(\"b.c.example.com\", \"sha256/" B64_C "\")\n"
		".add(\"**.l.example.com\", \"sha256/" B64_C "\")\n"
		".add(\"example.com\", \"sha256/" B64_C "\")\n", CERTPIN_IMPORT_PIN_LIST, NULL, &rc, &warn);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK(rule_has_pins(p, "a.example.com", ab, 2));
	CHECK(rule_has_pins(p, "*.example.com", (const char *[]){ B64_B }, 1));
	CHECK(rule_has_pins(p, "b.c.example.com", c, 1));                       /* two labels: not "*." */
	CHECK(rule_has_pins(p, "**.l.example.com", c, 1));
	CHECK(rule_has_pins(p, "example.com", c, 1));                           /* "*." does not cover x itself */
	CHECK_CONTAINS(warn, "host l.example.com matches both \"**.l.example.com\" and \"*.example.com\"");
	free(warn);
	certpin_policy_free(p);

	/* the union is what OkHttp accepts: a certpin check of api.example.com accepts B (from "**.") */
	p = import_str(".add(\"api.example.com\", \"sha256/" B64_A "\")\n.add(\"**.example.com\", \"sha256/" B64_B
		"\")\n", CERTPIN_IMPORT_PIN_LIST, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	{
		certpin_chain_elem e = { 0 };
		certpin_result res;
		certpin_pin b = imp_pin(B64_B);
		e.flags = CERTPIN_HAVE_SPKI;
		memcpy(e.spki_sha256, b.digest, CERTPIN_DIGEST_LEN);
		CHECK_INT(certpin_verify(&res, p, "api.example.com", &e, 1, 1700000000), CERTPIN_OK);
		CHECK_INT(res.verdict, CERTPIN_VERDICT_MATCH);
	}
	certpin_policy_free(p);
}

static void test_detect_and_names(void)
{
	certpin_import_format f;
	certpin_policy *p;
	int rc;

	p = import_str("\xEF\xBB\xBF {\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A
		"\"]}]}", CERTPIN_IMPORT_AUTO, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 1);
	certpin_policy_free(p);
	/* JSON forced onto a pin list fails as JSON */
	p = import_str("a.example sha256/" B64_A, CERTPIN_IMPORT_JSON, NULL, &rc, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	certpin_policy_free(p);

	CHECK_INT(certpin_import_format_parse(&f, "android"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_IMPORT_ANDROID_NSC);
	CHECK_INT(certpin_import_format_parse(&f, "pins"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_IMPORT_PIN_LIST);
	CHECK_INT(certpin_import_format_parse(&f, "okhttp"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_IMPORT_PIN_LIST);
	CHECK_INT(certpin_import_format_parse(&f, "xml"), CERTPIN_E_INVALID_ARG);
	CHECK_STR(certpin_import_format_name(CERTPIN_IMPORT_ANDROID_NSC), "android");
	CHECK_STR(certpin_import_format_name(CERTPIN_IMPORT_AUTO), "auto");
}

int main(void)
{
	test_nsc_basic();
	test_nsc_nested();
	test_nsc_trust_anchors();
	test_nsc_lost_settings();
	test_nsc_warnings();
	test_bad_inputs();
	test_xxe_file();
	test_size_and_args();
	test_limits();
	test_pin_lists();
	test_okhttp();
	test_okhttp_union();
	test_detect_and_names();
	certpin_import_anchors_free(last_anchors);
	return test_finish("import");
}
