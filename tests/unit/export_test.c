/*
 * Export to Android NSC, OkHttp, TrustKit (Swift, plist), curl, HPKP and
 * TLSA: each output checked against its format's rules (XML structure read
 * back with libxml2, exact lines for the line formats), every refusal that
 * prevents a widened rule, the lossy-conversion warnings, and round trips
 * through the importer where both directions exist.
 */
#include "certpin.h"
#include "certpin/tools.h"
#include "import_util.h"
#include "internal.h"
#include "test.h"

#include <libxml/parser.h>
#include <libxml/tree.h>


/* The detail of the last failed import. */
static certpin_error E;
#define B64_A "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="   /* sha256("abc") */
#define B64_B "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="   /* sha256("") */
#define B64_C "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="   /* sha256("a") */
#define HEX_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HEX_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define T_2030 1893456000   /* 2030-01-01T00:00:00Z */

static certpin_policy *load(const char *json)
{
	certpin_policy *p = NULL;

	if (certpin_policy_load_data(&p, json, strlen(json), "test", NULL, &E) != CERTPIN_OK) {
		fprintf(stderr, "bad test policy: %s\n", E.message);
		abort();
	}
	return p;
}


/*
 * certpin_policy_export() read the way these checks do: *warn the warnings
 * joined by newlines (NULL if none or on error), *err a malloc'd copy of
 * the error message (NULL on success); each may be NULL.  Options of
 * versions 1 to 3 are passed on as they are (they cannot carry a callback).
 */
static int export_ex(char **out, char **warn, char **err, const certpin_policy *p, certpin_export_format f,
	const certpin_export_options *opts)
{
	certpin_export_options o = CERTPIN_EXPORT_OPTIONS_INIT;
	certpin_error e;
	char *w = NULL;
	int rc;

	if (opts && opts->version == CERTPIN_EXPORT_OPTIONS_VERSION)
		o = *opts;
	o.on_warning = imp_collect_warning;
	o.payload = &w;
	rc = certpin_policy_export(out, p, f, opts && opts->version != CERTPIN_EXPORT_OPTIONS_VERSION ? opts : &o, &e);
	CHECK_INT(e.code, rc);
	CHECK(rc == CERTPIN_OK ? w == NULL || strlen(w) > 0 : w == NULL);   /* warnings only for a success */
	if (warn)
		*warn = w;
	else
		free(w);
	if (err)
		*err = rc == CERTPIN_OK ? NULL : strdup(e.message);
	return rc;
}

/* A policy from an export text, through the importer. */
static int reimport(certpin_policy **out, const char *text, const char *host, const char *name)
{
	certpin_import_options io = CERTPIN_IMPORT_OPTIONS_INIT;

	io.default_host = host;
	io.name = name;
	return certpin_policy_import_data(out, text, strlen(text), &io, NULL);
}

/* Export with options; returns the code and sets out, warn and err (each may be NULL). */
static int run_ex(const certpin_policy *p, certpin_export_format f, unsigned int port, int64_t now,
	int allow_narrowing, char **out, char **warn, char **err)
{
	certpin_export_options o = CERTPIN_EXPORT_OPTIONS_INIT;

	o.port = port;
	o.now = now;
	o.allow_narrowing = allow_narrowing;
	return export_ex(out, warn, err, p, f, &o);
}

static int run(const certpin_policy *p, certpin_export_format f, unsigned int port, int64_t now,
	char **out, char **warn, char **err)
{
	return run_ex(p, f, port, now, 0, out, warn, err);
}

/* OkHttp export with insecure_allow_union set (what certpin export --force does). */
static int run_union(const certpin_policy *p, char **out, char **warn, char **err)
{
	certpin_export_options o = CERTPIN_EXPORT_OPTIONS_INIT;

	o.insecure_allow_union = 1;
	return export_ex(out, warn, err, p, CERTPIN_EXPORT_OKHTTP, &o);
}

/* The policy used by most tests. */
static const char MAIN_POLICY[] =
	"{\"schema\": 1, \"hosts\": ["
	"{\"host\": \"api.example.com\", \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]},"
	"{\"host\": \"example.org\", \"include_subdomains\": true, \"expires\": \"2030-01-01\","
	" \"pins\": [\"sha256/" B64_C "\", \"sha256/" B64_A "\"]}"
	"]}";

/* ---- XML helpers --------------------------------------------------------- */

static xmlDocPtr parse_xml(const char *s)
{
	/* No NOENT/DTDLOAD: the plist's DOCTYPE is read, never fetched. */
	return xmlReadMemory(s, (int)strlen(s), "export.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
		XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
}

static xmlNodePtr first_elem(xmlNodePtr n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static xmlNodePtr next_elem(xmlNodePtr n)
{
	return n ? first_elem(n->next) : NULL;
}

static int elem_is(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static int text_is(xmlNodePtr n, const char *want)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	int ok = t && strcmp((const char *)t, want) == 0;
	if (!ok)
		fprintf(stderr, "  text \"%s\", want \"%s\"\n", t ? (const char *)t : "(null)", want);
	xmlFree(t);
	return ok;
}

static int attr_is(xmlNodePtr n, const char *name, const char *want)
{
	xmlChar *v = n ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	int ok = want ? (v && strcmp((const char *)v, want) == 0) : v == NULL;
	xmlFree(v);
	return ok;
}

static int count_attrs(xmlNodePtr n)
{
	int k = 0;
	for (xmlAttrPtr a = n ? n->properties : NULL; a; a = a->next)
		k++;
	return k;
}

/* ---- Android ------------------------------------------------------------- */

static void test_android(void)
{
	certpin_policy *p = load(MAIN_POLICY), *q;
	char *out = NULL, *warn = NULL, *err = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_ANDROID, 0, 0, &out, &warn, &err), CERTPIN_OK);
	CHECK(err == NULL);
	CHECK(warn == NULL);   /* nothing lossy in this policy */

	xmlDocPtr doc = parse_xml(out);
	CHECK(doc != NULL);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	CHECK(elem_is(root, "network-security-config"));
	CHECK_INT(count_attrs(root), 0);
	xmlNodePtr dc = root ? first_elem(root->children) : NULL;
	/* first domain-config: exact host, no expiration */
	CHECK(elem_is(dc, "domain-config"));
	xmlNodePtr d = dc ? first_elem(dc->children) : NULL;
	CHECK(elem_is(d, "domain"));
	CHECK(attr_is(d, "includeSubdomains", "false"));
	CHECK(text_is(d, "api.example.com"));
	xmlNodePtr ps = next_elem(d);
	CHECK(elem_is(ps, "pin-set"));
	CHECK(attr_is(ps, "expiration", NULL));
	xmlNodePtr pin = ps ? first_elem(ps->children) : NULL;
	CHECK(elem_is(pin, "pin"));
	CHECK(attr_is(pin, "digest", "SHA-256"));
	CHECK(text_is(pin, B64_A));
	pin = next_elem(pin);
	CHECK(text_is(pin, B64_B));
	CHECK(next_elem(pin) == NULL);
	CHECK(next_elem(ps) == NULL);
	/* second: includeSubdomains and expiration */
	dc = next_elem(dc);
	CHECK(elem_is(dc, "domain-config"));
	d = dc ? first_elem(dc->children) : NULL;
	CHECK(attr_is(d, "includeSubdomains", "true"));
	CHECK(text_is(d, "example.org"));
	ps = next_elem(d);
	CHECK(attr_is(ps, "expiration", "2030-01-01"));
	CHECK(next_elem(dc) == NULL);
	xmlFreeDoc(doc);

	/* round trip: same hosts, pins, expiry */
	CHECK_INT(reimport(&q, out, NULL, "android"), CERTPIN_OK);
	char *j1 = NULL, *j2 = NULL;
	CHECK_INT(certpin_policy_to_json(&j1, p), CERTPIN_OK);
	CHECK_INT(certpin_policy_to_json(&j2, q), CERTPIN_OK);
	CHECK_STR(j2, j1);
	free(j1);
	free(j2);
	certpin_policy_free(q);
	free(out);
	certpin_policy_free(p);
}

static void test_android_lossy(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": ["
		"{\"host\": \"a.example\", \"mode\": \"report-only\", \"expires\": \"2030-01-01T12:00:00Z\","
		" \"pins\": [{\"pin\": \"sha256/" B64_A "\", \"position\": \"root\"}, \"cert-sha256:" HEX_B "\"]},"
		"{\"host\": \"b.example\", \"expires\": \"2030-01-01\", \"on_expiry\": \"fail-closed\","
		" \"pins\": [\"sha256/" B64_B "\"]},"
		"{\"host\": \"c.example\", \"expires\": \"2030-01-01\", \"clock_skew\": 3600,"
		" \"pins\": [\"sha256/" B64_C "\"]}"
		"]}");
	char *out = NULL, *warn = NULL;

	/* dropping the certificate pin narrows the rule: only with allow_narrowing */
	CHECK_INT(run(p, CERTPIN_EXPORT_ANDROID, 0, 0, &out, &warn, NULL), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(run_ex(p, CERTPIN_EXPORT_ANDROID, 0, 0, 1, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(warn, "a.example: 1 pin(s) limited to a chain position");
	CHECK_CONTAINS(warn, "a.example: rule is report-only, but Android has no report-only mode: these pins will be ENFORCED");
	CHECK_CONTAINS(warn, "a.example: 1 certificate pin(s) dropped");
	CHECK_CONTAINS(warn, "a.example: expiry 2030-01-01T12:00:00Z rounded down to 2030-01-01");
	CHECK_CONTAINS(warn, "b.example: on_expiry is fail-closed");
	CHECK_CONTAINS(warn, "c.example: expiry 2030-01-01T01:00:00Z rounded down to 2030-01-01");
	/* the certificate pin is dropped; fail-closed gets no expiration (pins stay enforced) */
	xmlDocPtr doc = parse_xml(out);
	CHECK(doc != NULL);
	xmlNodePtr dc = doc ? first_elem(xmlDocGetRootElement(doc)->children) : NULL;
	xmlNodePtr ps = dc ? next_elem(first_elem(dc->children)) : NULL;
	CHECK(attr_is(ps, "expiration", "2030-01-01"));
	CHECK_INT(xmlChildElementCount(ps), 1);   /* the cert pin was dropped */
	dc = next_elem(dc);
	ps = dc ? next_elem(first_elem(dc->children)) : NULL;
	CHECK(attr_is(ps, "expiration", NULL));
	xmlFreeDoc(doc);
	free(out);
	free(warn);
	certpin_policy_free(p);
}

static const struct refusal {
	const char *name;
	certpin_export_format format;
	const char *hosts;      /* JSON "hosts" array content */
	const char *want;
} refusals[] = {
	{ "android one-label wildcard", CERTPIN_EXPORT_ANDROID, "{\"host\": \"*.example.com\", \"pins\": [\"sha256/" B64_A "\"]}",
		"rule '*.example.com': Android has no one-label wildcard" },
	{ "android ip", CERTPIN_EXPORT_ANDROID, "{\"host\": \"192.0.2.1\", \"pins\": [\"sha256/" B64_A "\"]}",
		"rule '192.0.2.1': Android pins host names, not IP addresses" },
	{ "android exact and subdomains", CERTPIN_EXPORT_ANDROID,
		"{\"host\": \"example.com\", \"pins\": [\"sha256/" B64_A "\"]},"
		"{\"host\": \"**.example.com\", \"pins\": [\"sha256/" B64_B "\"]}",
		"rules 'example.com' and '**.example.com' both become domain 'example.com'" },
	{ "android only cert pins", CERTPIN_EXPORT_ANDROID, "{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\"]}",
		"rule 'a.example' has only certificate pins" },
	{ "okhttp only cert pins", CERTPIN_EXPORT_OKHTTP, "{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\"]}",
		"which OkHttp cannot express" },
	{ "trustkit wildcard", CERTPIN_EXPORT_TRUSTKIT_SWIFT, "{\"host\": \"*.example.com\", \"pins\": [\"sha256/" B64_A "\"]}",
		"TrustKit has no one-label wildcard" },
	{ "trustkit plist duplicate domain", CERTPIN_EXPORT_TRUSTKIT_PLIST,
		"{\"host\": \"**.example.com\", \"pins\": [\"sha256/" B64_A "\"]},"
		"{\"host\": \"example.com\", \"pins\": [\"sha256/" B64_B "\"]}", "both become domain 'example.com'" },
	{ "hpkp only cert pins", CERTPIN_EXPORT_HPKP, "{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\"]}",
		"only certificate pins" },
	/* narrowed: the cert pin of the served leaf would be dropped, only a spare key left */
	{ "android cert pin dropped", CERTPIN_EXPORT_ANDROID,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\"]}",
		"rule 'a.example': 1 certificate pin(s) cannot be written in Android (public-key pins only)" },
	{ "okhttp cert pin dropped", CERTPIN_EXPORT_OKHTTP,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\"]}",
		"may lock clients out" },
	{ "trustkit cert pin dropped", CERTPIN_EXPORT_TRUSTKIT_SWIFT,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\", \"sha256/" B64_C "\"]}",
		"cannot be written in TrustKit" },
	{ "trustkit plist cert pin dropped", CERTPIN_EXPORT_TRUSTKIT_PLIST,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\"]}",
		"cannot be written in TrustKit" },
	{ "curl cert pin dropped", CERTPIN_EXPORT_CURL,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\"]}",
		"cannot be written in curl" },
	{ "hpkp cert pin dropped", CERTPIN_EXPORT_HPKP,
		"{\"host\": \"a.example\", \"pins\": [\"cert-sha256:" HEX_A "\", \"sha256/" B64_B "\"]}",
		"cannot be written in HPKP" },
	{ "curl root pin only", CERTPIN_EXPORT_CURL,
		"{\"host\": \"a.example\", \"pins\": [{\"pin\": \"sha256/" B64_A "\", \"position\": \"root\"}]}",
		"NO pin of this rule can match, curl would refuse every connection" },
	{ "curl leaf and intermediate pins", CERTPIN_EXPORT_CURL,
		"{\"host\": \"a.example\", \"pins\": [{\"pin\": \"sha256/" B64_A "\", \"position\": \"leaf\"},"
		" {\"pin\": \"sha256/" B64_B "\", \"position\": \"intermediate\"}]}",
		"1 intermediate/root pin(s) can never match in curl" },
	{ "curl pin at position any", CERTPIN_EXPORT_CURL,
		"{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A "\"]}",
		"rule 'a.example': 1 pin(s) at position any, but curl checks only the leaf key" },
	{ "tlsa wildcard", CERTPIN_EXPORT_TLSA, "{\"host\": \"**.example.com\", \"pins\": [\"sha256/" B64_A "\"]}",
		"rule '**.example.com': TLSA records need one owner name per host" },
	{ "tlsa one-label wildcard", CERTPIN_EXPORT_TLSA, "{\"host\": \"*.example.com\", \"pins\": [\"sha256/" B64_A "\"]}",
		"'_443._tcp.*.example.com.' is not a valid TLSA owner" },
	{ "tlsa ip", CERTPIN_EXPORT_TLSA, "{\"host\": \"2001:db8::1\", \"pins\": [\"sha256/" B64_A "\"]}",
		"not IP addresses" },
};

/* A rule without pins (refuses every connection) exists only through the API. */
static void test_refuse_no_pins(void)
{
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	o.pattern = "a.example";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	for (int fmt = CERTPIN_EXPORT_ANDROID; fmt <= CERTPIN_EXPORT_TLSA; fmt++) {
		char *out = NULL, *err = NULL;
		CHECK_INT(run(p, (certpin_export_format)fmt, 0, 0, &out, NULL, &err), CERTPIN_E_UNSUPPORTED);
		CHECK_CONTAINS(err, "rule 'a.example' has no pins (certpin refuses every connection)");
		CHECK(out == NULL);
		free(err);
	}
	certpin_policy_free(p);
}

static void test_refusals(void)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *c = &refusals[i];
		char json[1024], *out = (char *)"unset", *warn = (char *)"unset", *err = NULL;

		snprintf(json, sizeof(json), "{\"schema\": 1, \"hosts\": [%s]}", c->hosts);
		certpin_policy *p = load(json);
		int rc = run(p, c->format, 0, 0, &out, &warn, &err);
		if (rc != CERTPIN_E_UNSUPPORTED || !err || !strstr(err, c->want))
			fprintf(stderr, "case '%s': rc %d, err \"%s\"\n", c->name, rc, err ? err : "(null)");
		CHECK_INT(rc, CERTPIN_E_UNSUPPORTED);
		CHECK_CONTAINS(err, c->want);
		CHECK(out == NULL);
		CHECK(warn == NULL);
		free(err);
		/* the plain API gives the same code */
		out = (char *)"unset";
		CHECK_INT(export_ex(&out, NULL, NULL, p, c->format, NULL), CERTPIN_E_UNSUPPORTED);
		CHECK(out == NULL);
		certpin_policy_free(p);
	}
}

/* ---- OkHttp -------------------------------------------------------------- */

static void test_okhttp(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": ["
		"{\"host\": \"api.example.com\", \"expires\": \"2030-01-01\", \"pins\": [\"sha256/" B64_A "\"]},"
		"{\"host\": \"**.example.com\", \"pins\": [\"sha256/" B64_B "\", \"sha256/" B64_C "\"]},"
		"{\"host\": \"*.cdn.example.net\", \"pins\": [\"sha256/" B64_C "\"]}"
		"]}"), *q;
	char *out = NULL, *warn = NULL, *err = NULL;

	/* OkHttp would accept at api.example.com the pins of "**.example.com" too: refused */
	CHECK_INT(run(p, CERTPIN_EXPORT_OKHTTP, 0, 0, &out, &warn, &err), CERTPIN_E_UNSUPPORTED);
	CHECK_CONTAINS(err, "rules 'api.example.com' and '**.example.com' both match host api.example.com");
	CHECK(out == NULL && warn == NULL);
	free(err);
	/* allow_narrowing is not enough */
	CHECK_INT(run_ex(p, CERTPIN_EXPORT_OKHTTP, 0, 0, 1, &out, &warn, NULL), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(run_union(p, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "val certificatePinner = CertificatePinner.Builder()\n"
		"    .add(\"api.example.com\", \"sha256/" B64_A "\")\n"
		"    .add(\"**.example.com\", \"sha256/" B64_B "\", \"sha256/" B64_C "\")\n"
		"    .add(\"*.cdn.example.net\", \"sha256/" B64_C "\")\n"
		"    .build()\n");
	CHECK_CONTAINS(warn, "api.example.com: OkHttp has no pin expiry; pins stay enforced after 2030-01-01T00:00:00Z");
	/* OkHttp takes the union of api.example.com and **.example.com pins */
	CHECK_CONTAINS(warn, "api.example.com: also matched by rule '**.example.com' (e.g. host api.example.com); "
		"OkHttp accepts there the pins of every matching pattern, 2 more than certpin");
	CHECK(!strstr(warn, "*.cdn.example.net: also"));

	/* round trip through the OkHttp importer: same patterns and pins (expiry is lost, as warned) */
	CHECK_INT(reimport(&q, out, NULL, "kt"), CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(q), 3);
	for (size_t i = 0; i < 3; i++) {
		certpin_host_info a, b;
		CHECK_INT(certpin_policy_host(&a, p, i), CERTPIN_OK);
		CHECK_INT(certpin_policy_host(&b, q, i), CERTPIN_OK);
		CHECK_STR(b.pattern, a.pattern);
		/* imported, api.example.com also gets the pins of "**.example.com", as OkHttp accepts them */
		CHECK_INT(b.pin_count, i == 0 ? 3 : a.pin_count);
		for (size_t k = 0; k < a.pin_count && k < b.pin_count; k++) {
			certpin_pin x, y;
			CHECK_INT(certpin_policy_host_pin(&x, NULL, p, i, k), CERTPIN_OK);
			CHECK_INT(certpin_policy_host_pin(&y, NULL, q, i, k), CERTPIN_OK);
			CHECK(certpin_pin_equal(&x, &y));
		}
	}
	certpin_policy_free(q);
	free(out);
	free(warn);
	certpin_policy_free(p);
}

/* A rule with SPKI pins (sha256/B64 each); OV1 one pin, OV2 two. */
#define OV1(h, a) "{\"host\": \"" h "\", \"pins\": [\"sha256/" a "\"]}"
#define OV2(h, a, b) "{\"host\": \"" h "\", \"pins\": [\"sha256/" a "\", \"sha256/" b "\"]}"

/*
 * OkHttp accepts at a host the pins of every pattern matching it (exact,
 * "*." one label, "**." any depth and the name itself); certpin those of the
 * most specific rule.  Wherever a wider pattern brings a pin the specific
 * rule lacks, the export would accept more than the policy: refused.
 */
static const struct overlap {
	const char *name;
	const char *hosts;      /* JSON "hosts" array content */
	const char *want;       /* the refusal, or NULL: written, no overlap warning */
} overlaps[] = {
	{ "exact and one-label", OV1("a.example.com", B64_A) "," OV1("*.example.com", B64_B),
		"rules 'a.example.com' and '*.example.com' both match host a.example.com" },
	{ "one-label first", OV1("*.example.com", B64_B) "," OV1("a.example.com", B64_A),
		"rules 'a.example.com' and '*.example.com' both match host a.example.com" },
	{ "exact and any depth", OV1("a.b.example.com", B64_A) "," OV1("**.example.com", B64_B),
		"rules 'a.b.example.com' and '**.example.com' both match host a.b.example.com" },
	{ "name itself and any depth", OV1("example.com", B64_A) "," OV1("**.example.com", B64_B),
		"rules 'example.com' and '**.example.com' both match host example.com" },
	{ "one-label and any depth", OV1("*.example.com", B64_A) "," OV1("**.example.com", B64_B),
		"rules '*.example.com' and '**.example.com' both match host x.example.com" },
	{ "any depth nested", OV1("**.a.example.com", B64_A) "," OV1("**.example.com", B64_B),
		"rules '**.a.example.com' and '**.example.com' both match host a.example.com" },
	{ "any depth and parent's one-label", OV1("**.a.example.com", B64_A) "," OV1("*.example.com", B64_B),
		"rules '**.a.example.com' and '*.example.com' both match host a.example.com" },
	{ "three patterns, the widest differs", OV2("a.example.com", B64_A, B64_B) "," OV1("*.example.com", B64_B) ","
		OV1("**.example.com", B64_C), "rules 'a.example.com' and '**.example.com' both match host a.example.com" },
	{ "wider pattern has more pins", OV1("a.example.com", B64_A) "," OV2("*.example.com", B64_A, B64_B),
		"rules 'a.example.com' and '*.example.com' both match host a.example.com" },
	/* the same pair at hosts x.example.com and a.example.com: warned once when forced */
	{ "one pair at two kinds of host", OV1("*.example.com", B64_A) "," OV1("**.example.com", B64_B) ","
		OV2("*.a.example.com", B64_A, B64_B), "rules '*.example.com' and '**.example.com' both match host x.example.com" },
	/* the union is the specific rule's own pinset: exactly as strict */
	{ "subset", OV2("a.example.com", B64_A, B64_B) "," OV1("*.example.com", B64_B), NULL },
	{ "same pins", OV2("a.example.com", B64_A, B64_B) "," OV2("**.example.com", B64_B, B64_A), NULL },
	{ "subset at every depth", OV2("*.example.com", B64_A, B64_B) "," OV1("**.example.com", B64_B) ","
		OV2("a.example.com", B64_A, B64_B), NULL },
	/* no host matches both */
	{ "two labels below a one-label wildcard", OV1("a.b.example.com", B64_A) "," OV1("*.example.com", B64_B), NULL },
	{ "one-label wildcard and its own name", OV1("example.com", B64_A) "," OV1("*.example.com", B64_B), NULL },
	{ "siblings", OV1("a.example.com", B64_A) "," OV1("**.b.example.com", B64_B), NULL },
};

static void test_okhttp_overlaps(void)
{
	for (size_t i = 0; i < sizeof(overlaps) / sizeof(overlaps[0]); i++) {
		const struct overlap *c = &overlaps[i];
		char json[1024], *out = NULL, *warn = NULL, *err = NULL;

		snprintf(json, sizeof(json), "{\"schema\": 1, \"hosts\": [%s]}", c->hosts);
		certpin_policy *p = load(json);
		int rc = run(p, CERTPIN_EXPORT_OKHTTP, 0, 0, &out, &warn, &err);
		if (rc != (c->want ? CERTPIN_E_UNSUPPORTED : CERTPIN_OK) || (c->want && (!err || !strstr(err, c->want))) ||
		    (!c->want && warn))
			fprintf(stderr, "overlap case '%s': rc %d, err \"%s\", warn \"%s\"\n", c->name, rc,
				err ? err : "(null)", warn ? warn : "(null)");
		if (c->want) {
			CHECK_INT(rc, CERTPIN_E_UNSUPPORTED);
			CHECK_CONTAINS(err, c->want);
			CHECK_CONTAINS(err, "or export anyway with --force");
			CHECK(strchr(err ? err : "", '\n') == NULL);
			CHECK(out == NULL);
			/* forced: written, each overlapping pair warned once, naming both rules */
			char a[64], b[64], want[200];
			CHECK_INT(sscanf(c->want, "rules '%63[^']' and '%63[^']'", a, b), 2);
			snprintf(want, sizeof(want), "%s: also matched by rule '%s' (e.g. host ", a, b);
			CHECK_INT(run_union(p, &out, &warn, NULL), CERTPIN_OK);
			CHECK_CONTAINS(warn, want);
			const char *w1 = warn ? strstr(warn, want) : NULL;
			CHECK(w1 && !strstr(w1 + 1, want));
		} else {
			CHECK_INT(rc, CERTPIN_OK);
			CHECK(warn == NULL);
		}
		free(out);
		free(warn);
		free(err);
		certpin_policy_free(p);
	}
}

/* ---- TrustKit ------------------------------------------------------------ */

static void test_trustkit_swift(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": ["
		"{\"host\": \"api.example.com\", \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]},"
		"{\"host\": \"**.example.org\", \"mode\": \"report-only\", \"expires\": \"2030-01-01\","
		" \"report_uris\": [\"https://r.example/\\\"q\\\"\\\\\", \"https://r2.example/r\"],"
		" \"pins\": [\"sha256/" B64_C "\"]}"
		"]}");
	char *out = NULL, *warn = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_TRUSTKIT_SWIFT, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "let trustKitConfig: [String: Any] = [\n"
		"    kTSKSwizzleNetworkDelegates: false,\n"
		"    kTSKPinnedDomains: [\n"
		"        \"api.example.com\": [\n"
		"            kTSKIncludeSubdomains: false,\n"
		"            kTSKEnforcePinning: true,\n"
		"            kTSKDisableDefaultReportUri: true,\n"
		"            kTSKPublicKeyHashes: [\n"
		"                \"" B64_A "\",\n"
		"                \"" B64_B "\",\n"
		"            ],\n"
		"        ],\n"
		"        \"example.org\": [\n"
		"            kTSKIncludeSubdomains: true,\n"
		"            kTSKEnforcePinning: false,\n"
		"            kTSKDisableDefaultReportUri: true,\n"
		"            kTSKReportUris: [\n"
		"                \"https://r.example/\\\"q\\\"\\\\\",\n"
		"                \"https://r2.example/r\",\n"
		"            ],\n"
		"            kTSKExpirationDate: \"2030-01-01\",\n");
	CHECK_CONTAINS(out, "TrustKit.initSharedInstance(withConfiguration: trustKitConfig)\n");
	/* brackets balance */
	int depth = 0, min = 0;
	for (const char *s = out; *s; s++) {
		depth += *s == '[' ? 1 : *s == ']' ? -1 : 0;
		min = depth < min ? depth : min;
	}
	CHECK_INT(depth, 0);
	CHECK_INT(min, 0);
	CHECK_CONTAINS(warn, "example.org: only 1 public-key pin; TrustKit raises an exception");
	CHECK(!strstr(warn, "api.example.com"));
	free(out);
	free(warn);
	certpin_policy_free(p);
}

/* Value element following <key>name</key> in a plist <dict>, or NULL. */
static xmlNodePtr dict_get(xmlNodePtr dict, const char *name)
{
	for (xmlNodePtr k = dict ? first_elem(dict->children) : NULL; k; k = next_elem(next_elem(k))) {
		xmlChar *t = xmlNodeGetContent(k);
		int hit = elem_is(k, "key") && t && strcmp((const char *)t, name) == 0;
		xmlFree(t);
		if (hit)
			return next_elem(k);
	}
	return NULL;
}

static void test_trustkit_plist(void)
{
	certpin_policy *p = load(MAIN_POLICY);
	char *out = NULL, *warn = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_TRUSTKIT_PLIST, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	CHECK(warn == NULL);
	xmlDocPtr doc = parse_xml(out);
	CHECK(doc != NULL);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	CHECK(elem_is(root, "plist"));
	CHECK(attr_is(root, "version", "1.0"));
	CHECK(doc && doc->intSubset && strcmp((const char *)doc->intSubset->name, "plist") == 0);
	xmlNodePtr top = root ? first_elem(root->children) : NULL;
	CHECK(elem_is(top, "dict"));
	xmlNodePtr cfg = dict_get(top, "TSKConfiguration");
	CHECK(elem_is(cfg, "dict"));
	CHECK(elem_is(dict_get(cfg, "TSKSwizzleNetworkDelegates"), "false"));
	xmlNodePtr domains = dict_get(cfg, "TSKPinnedDomains");
	CHECK(elem_is(domains, "dict"));
	CHECK_INT(xmlChildElementCount(domains), 4);   /* two key/dict pairs */
	xmlNodePtr api = dict_get(domains, "api.example.com");
	CHECK(elem_is(api, "dict"));
	CHECK(elem_is(dict_get(api, "TSKIncludeSubdomains"), "false"));
	CHECK(elem_is(dict_get(api, "TSKEnforcePinning"), "true"));
	CHECK(dict_get(api, "TSKExpirationDate") == NULL);
	xmlNodePtr hashes = dict_get(api, "TSKPublicKeyHashes");
	CHECK(elem_is(hashes, "array"));
	xmlNodePtr s = hashes ? first_elem(hashes->children) : NULL;
	CHECK(elem_is(s, "string") && text_is(s, B64_A));
	CHECK(text_is(next_elem(s), B64_B));
	xmlNodePtr org = dict_get(domains, "example.org");
	CHECK(elem_is(dict_get(org, "TSKIncludeSubdomains"), "true"));
	CHECK(text_is(dict_get(org, "TSKExpirationDate"), "2030-01-01"));
	/* no report URIs in the policy: none written, and TrustKit's own report server off */
	CHECK(elem_is(dict_get(api, "TSKDisableDefaultReportUri"), "true"));
	CHECK(elem_is(dict_get(org, "TSKDisableDefaultReportUri"), "true"));
	CHECK(dict_get(api, "TSKReportUris") == NULL);
	xmlFreeDoc(doc);
	free(out);
	certpin_policy_free(p);

	/* the rule's own report URIs, else the policy's, XML-escaped */
	p = load("{\"schema\": 1, \"report_uris\": [\"https://top.example/r\"], \"hosts\": ["
		"{\"host\": \"a.example\", \"report_uris\": [\"https://a.example/r?x=1&y=<2>\", \"https://a2.example/r\"],"
		" \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]},"
		"{\"host\": \"b.example\", \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]}]}");
	CHECK_INT(run(p, CERTPIN_EXPORT_TRUSTKIT_PLIST, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	CHECK(warn == NULL);
	CHECK_CONTAINS(out, "<string>https://a.example/r?x=1&amp;y=&lt;2&gt;</string>");
	doc = parse_xml(out);
	CHECK(doc != NULL);
	domains = doc ? dict_get(dict_get(first_elem(xmlDocGetRootElement(doc)->children), "TSKConfiguration"),
		"TSKPinnedDomains") : NULL;
	xmlNodePtr a = dict_get(domains, "a.example"), b = dict_get(domains, "b.example");
	xmlNodePtr uris = dict_get(a, "TSKReportUris");
	CHECK(elem_is(uris, "array"));
	CHECK_INT(uris ? xmlChildElementCount(uris) : 0, 2);
	CHECK(text_is(uris ? first_elem(uris->children) : NULL, "https://a.example/r?x=1&y=<2>"));
	CHECK(text_is(next_elem(uris ? first_elem(uris->children) : NULL), "https://a2.example/r"));
	uris = dict_get(b, "TSKReportUris");
	CHECK_INT(uris ? xmlChildElementCount(uris) : 0, 1);
	CHECK(text_is(uris ? first_elem(uris->children) : NULL, "https://top.example/r"));
	CHECK(elem_is(dict_get(a, "TSKDisableDefaultReportUri"), "true"));
	CHECK(elem_is(dict_get(b, "TSKDisableDefaultReportUri"), "true"));
	xmlFreeDoc(doc);
	free(out);
	certpin_policy_free(p);
}

/* ---- curl ---------------------------------------------------------------- */

static void test_curl(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"api.example.com\", \"pins\": ["
		"{\"pin\": \"sha256/" B64_A "\", \"position\": \"leaf\"}, {\"pin\": \"sha256/" B64_B "\", "
		"\"position\": \"leaf\"}]}]}"), *q;
	char *out = NULL, *warn = NULL;
	const char *line;

	CHECK_INT(run(p, CERTPIN_EXPORT_CURL, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	line = out ? strstr(out, "\n# api.example.com\n") : NULL;
	CHECK(line != NULL);
	CHECK_CONTAINS(out, "\nsha256//" B64_A ";sha256//" B64_B "\n");
	CHECK_CONTAINS(warn, "curl checks the pins against the leaf certificate's public key only");
	/* round trip with a default host */
	CHECK_INT(reimport(&q, out, "api.example.com", "curl"),
		CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(q), 1);
	certpin_host_info h;
	CHECK_INT(certpin_policy_host(&h, q, 0), CERTPIN_OK);
	CHECK_STR(h.pattern, "api.example.com");
	CHECK_INT(h.pin_count, 2);
	for (size_t k = 0; k < 2; k++) {
		certpin_pin x, y;
		certpin_position pos;
		CHECK_INT(certpin_policy_host_pin(&x, NULL, p, 0, k), CERTPIN_OK);
		CHECK_INT(certpin_policy_host_pin(&y, &pos, q, 0, k), CERTPIN_OK);
		CHECK(certpin_pin_equal(&x, &y));
		CHECK_INT(pos, CERTPIN_POS_LEAF);       /* curl matches the leaf only */
	}
	certpin_policy_free(q);
	free(out);
	free(warn);
	certpin_policy_free(p);

	/* a rule of root pins only: nothing can match in curl; refused, and loud when forced */
	p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": ["
		"{\"pin\": \"sha256/" B64_A "\", \"position\": \"root\"}]}]}");
	CHECK_INT(run(p, CERTPIN_EXPORT_CURL, 0, 0, &out, &warn, NULL), CERTPIN_E_UNSUPPORTED);
	CHECK(out == NULL && warn == NULL);
	CHECK_INT(run_ex(p, CERTPIN_EXPORT_CURL, 0, 0, 1, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(warn, "a.example: 1 intermediate/root pin(s) can never match in curl");
	CHECK_CONTAINS(warn, "NO pin of this rule can match");
	free(out);
	free(warn);
	certpin_policy_free(p);

	/*
	 * A pin at position any may be the intermediate's key (certpin matches it
	 * at depth 1, curl never): refused, written with a warning when forced.
	 */
	p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A "\", "
		"{\"pin\": \"sha256/" B64_B "\", \"position\": \"leaf\"}]}]}");
	char *err = NULL;
	CHECK_INT(run(p, CERTPIN_EXPORT_CURL, 0, 0, &out, &warn, &err), CERTPIN_E_UNSUPPORTED);
	CHECK(out == NULL && warn == NULL);
	CHECK_CONTAINS(err, "rule 'a.example': 1 pin(s) at position any, but curl checks only the leaf key");
	CHECK_CONTAINS(err, "\"position\": \"leaf\"");
	free(err);
	CHECK_INT(run_ex(p, CERTPIN_EXPORT_CURL, 0, 0, 1, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "\nsha256//" B64_A ";sha256//" B64_B "\n");
	CHECK_CONTAINS(warn, "a.example: 1 pin(s) at position any exported as leaf pins");
	free(out);
	free(warn);
	certpin_policy_free(p);
}

/* ---- HPKP ---------------------------------------------------------------- */

static void test_hpkp(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": ["
		"{\"host\": \"api.example.com\", \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]},"
		"{\"host\": \"**.example.org\", \"expires\": \"2030-01-01\", \"pins\": [\"sha256/" B64_C "\", \"sha256/" B64_A "\"]},"
		"{\"host\": \"r.example\", \"mode\": \"report-only\", \"pins\": [\"sha256/" B64_C "\"]}"
		"]}");
	char *out = NULL, *warn = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_HPKP, 0, T_2030 - 86400, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "# api.example.com\nPublic-Key-Pins: pin-sha256=\"" B64_A "\"; pin-sha256=\"" B64_B
		"\"; max-age=5184000\n");
	CHECK_CONTAINS(out, "# **.example.org\nPublic-Key-Pins: pin-sha256=\"" B64_C "\"; pin-sha256=\"" B64_A
		"\"; max-age=86400; includeSubDomains\n");
	CHECK_CONTAINS(out, "\nPublic-Key-Pins-Report-Only: pin-sha256=\"" B64_C "\"; max-age=5184000\n");
	CHECK(!strstr(out, "report-uri"));
	CHECK_CONTAINS(warn, "HPKP is obsolete");
	CHECK_CONTAINS(warn, "r.example: only 1 public-key pin; RFC 7469 requires a backup pin");
	CHECK_CONTAINS(warn, "r.example: Public-Key-Pins-Report-Only without report-uri");
	free(out);
	free(warn);
	/* after expiry: max-age=0 */
	CHECK_INT(run(p, CERTPIN_EXPORT_HPKP, 0, T_2030 + 10, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "max-age=0; includeSubDomains\n");
	CHECK_CONTAINS(warn, "**.example.org: pinset already expired");
	free(out);
	free(warn);
	certpin_policy_free(p);
}

/* report-uri: the rule's own list, else the policy's; one URI only (RFC 7469), a quoted-string */
static void test_hpkp_report_uri(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"report_uris\": [\"https://top.example/r\"], \"hosts\": ["
		"{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A "\", \"sha256/" B64_B "\"]},"
		"{\"host\": \"**.b.example\", \"mode\": \"report-only\", \"report_uris\": [\"https://b.example/q=\\\"x\\\"\\\\\","
		" \"https://b2.example/r\", \"https://b3.example/r\"], \"pins\": [\"sha256/" B64_C "\", \"sha256/" B64_A "\"]}"
		"]}");
	char *out = NULL, *warn = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_HPKP, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "\nPublic-Key-Pins: pin-sha256=\"" B64_A "\"; pin-sha256=\"" B64_B "\"; max-age=5184000; "
		"report-uri=\"https://top.example/r\"\n");
	/* '"' and '\\' in the URI are quoted-pairs */
	CHECK_CONTAINS(out, "\nPublic-Key-Pins-Report-Only: pin-sha256=\"" B64_C "\"; pin-sha256=\"" B64_A "\"; "
		"max-age=5184000; includeSubDomains; report-uri=\"https://b.example/q=\\\"x\\\"\\\\\"\n");
	CHECK(!strstr(out, "b2.example") && !strstr(out, "b3.example"));
	CHECK_CONTAINS(warn, "**.b.example: report URI https://b2.example/r not written: HPKP has a single report-uri");
	CHECK_CONTAINS(warn, "**.b.example: report URI https://b3.example/r not written");
	CHECK(!strstr(warn, "without report-uri"));
	CHECK(!strstr(warn, "a.example: report URI"));
	free(out);
	free(warn);
	certpin_policy_free(p);
}

/* ---- TLSA ---------------------------------------------------------------- */

static void test_tlsa(void)
{
	certpin_policy *p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"api.example.com\", \"pins\": ["
		"{\"pin\": \"sha256/" B64_A "\", \"position\": \"leaf\"},"
		"{\"pin\": \"sha256/" B64_B "\", \"position\": \"root\"},"
		"{\"pin\": \"sha256/" B64_A "\", \"position\": \"intermediate\"},"
		"{\"pin\": \"cert-sha256:" HEX_B "\", \"position\": \"leaf\"},"
		"\"sha256/" B64_C "\"]}]}");
	char *out = NULL, *warn = NULL, *err = NULL;

	CHECK_INT(run(p, CERTPIN_EXPORT_TLSA, 0, 0, &out, &warn, NULL), CERTPIN_OK);
	CHECK_CONTAINS(out, "; api.example.com\n"
		"_443._tcp.api.example.com. IN TLSA 3 1 1 " HEX_A "\n"
		"_443._tcp.api.example.com. IN TLSA 2 1 1 " HEX_B "\n"
		"_443._tcp.api.example.com. IN TLSA 2 1 1 " HEX_A "\n"
		"_443._tcp.api.example.com. IN TLSA 3 0 1 " HEX_B "\n"
		"_443._tcp.api.example.com. IN TLSA 3 1 1 ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\n"
		"_443._tcp.api.example.com. IN TLSA 2 1 1 ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\n");
	CHECK_CONTAINS(warn, "api.example.com: 1 pin(s) with position any published both as DANE-EE (3) and DANE-TA (2)");
	free(out);
	free(warn);
	/* each record line is "OWNER IN TLSA U S M HEX64" */
	CHECK_INT(run(p, CERTPIN_EXPORT_TLSA, 8443, 0, &out, NULL, NULL), CERTPIN_OK);
	int records = 0;
	for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (line[0] == ';')
			continue;
		char owner[300], hex[80];
		int u, s, m, n = 0;
		CHECK_INT(sscanf(line, "%299s IN TLSA %d %d %d %79s%n", owner, &u, &s, &m, hex, &n), 5);
		CHECK_STR(owner, "_8443._tcp.api.example.com.");
		CHECK(u == 2 || u == 3);
		CHECK(s == 0 || s == 1);
		CHECK_INT(m, 1);
		CHECK_INT(strlen(hex), 64);
		CHECK_INT(strspn(hex, "0123456789abcdef"), 64);
		records++;
	}
	CHECK_INT(records, 6);
	free(out);
	CHECK_INT(run(p, CERTPIN_EXPORT_TLSA, 65536, 0, &out, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err, "port 65536 is out of range");
	CHECK(out == NULL);
	free(err);
	certpin_policy_free(p);
}

static void test_misc(void)
{
	certpin_policy *p;
	certpin_export_format f;
	char *out = NULL, *warn = NULL, *err = NULL;

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	/* empty policy: valid output for every format, with a warning */
	for (int fmt = CERTPIN_EXPORT_ANDROID; fmt <= CERTPIN_EXPORT_TLSA; fmt++) {
		CHECK_INT(export_ex(&out, &warn, NULL, p, (certpin_export_format)fmt, NULL), CERTPIN_OK);
		CHECK(out != NULL);
		CHECK_CONTAINS(warn, "the policy has no rules");
		if (fmt == CERTPIN_EXPORT_ANDROID || fmt == CERTPIN_EXPORT_TRUSTKIT_PLIST) {
			xmlDocPtr doc = parse_xml(out);
			CHECK(doc != NULL);
			xmlFreeDoc(doc);
		}
		if (fmt == CERTPIN_EXPORT_TRUSTKIT_SWIFT)
			CHECK_CONTAINS(out, "kTSKPinnedDomains: [String: Any](),\n]\n");
		free(out);
		free(warn);
	}
	CHECK_INT(export_ex(&out, &warn, &err, p, (certpin_export_format)42, NULL), CERTPIN_E_INVALID_ARG);
	CHECK(out == NULL && warn == NULL);
	CHECK_CONTAINS(err, "unknown export format");
	free(err);
	CHECK_INT(certpin_policy_export(NULL, p, CERTPIN_EXPORT_CURL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_export(&out, NULL, CERTPIN_EXPORT_CURL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	certpin_export_options bad = CERTPIN_EXPORT_OPTIONS_INIT;
	bad.version = 99;
	CHECK_INT(export_ex(&out, NULL, NULL, p, CERTPIN_EXPORT_TLSA, &bad), CERTPIN_E_INVALID_ARG);
	certpin_policy_free(p);

	/* version 1 options (no allow_narrowing field) are still read, and never allow narrowing */
	struct { unsigned int version, port; int64_t now; } v1 = { 1, 8443, 0 };
	p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A "\"]}]}");
	CHECK_INT(export_ex(&out, NULL, NULL, p, CERTPIN_EXPORT_TLSA, (const certpin_export_options *)&v1),
		CERTPIN_OK);
	CHECK_CONTAINS(out, "_8443._tcp.a.example. IN TLSA 3 1 1 ");
	free(out);
	certpin_policy_free(p);
	p = load("{\"schema\": 1, \"hosts\": [{\"host\": \"a.example\", \"pins\": [\"sha256/" B64_A "\", \"cert-sha256:"
		HEX_B "\"]}]}");
	CHECK_INT(export_ex(&out, NULL, NULL, p, CERTPIN_EXPORT_CURL, (const certpin_export_options *)&v1),
		CERTPIN_E_UNSUPPORTED);
	certpin_policy_free(p);

	/* version 2 options (no insecure_allow_union field) are still read, and never allow the OkHttp union */
	struct { unsigned int version, port; int64_t now; int allow_narrowing; } v2 = { 2, 0, 0, 1 };
	p = load("{\"schema\": 1, \"hosts\": [" OV1("a.example", B64_A) "," OV1("*.example", B64_B) "]}");
	CHECK_INT(export_ex(&out, NULL, NULL, p, CERTPIN_EXPORT_OKHTTP, (const certpin_export_options *)&v2),
		CERTPIN_E_UNSUPPORTED);
	bad.version = CERTPIN_EXPORT_OPTIONS_VERSION + 1;
	CHECK_INT(export_ex(&out, NULL, NULL, p, CERTPIN_EXPORT_OKHTTP, &bad), CERTPIN_E_INVALID_ARG);
	certpin_policy_free(p);

	CHECK_INT(certpin_export_format_parse(&f, "trustkit"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_EXPORT_TRUSTKIT_SWIFT);
	CHECK_INT(certpin_export_format_parse(&f, "trustkit-plist"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_EXPORT_TRUSTKIT_PLIST);
	CHECK_INT(certpin_export_format_parse(&f, "tlsa"), CERTPIN_OK);
	CHECK_INT(f, CERTPIN_EXPORT_TLSA);
	CHECK_INT(certpin_export_format_parse(&f, "nsc"), CERTPIN_E_INVALID_ARG);
	CHECK_STR(certpin_export_format_name(CERTPIN_EXPORT_HPKP), "hpkp");
	CHECK_STR(certpin_export_format_name((certpin_export_format)42), "unknown");
}

int main(void)
{
	test_android();
	test_android_lossy();
	test_refusals();
	test_refuse_no_pins();
	test_okhttp();
	test_okhttp_overlaps();
	test_trustkit_swift();
	test_trustkit_plist();
	test_curl();
	test_hpkp();
	test_hpkp_report_uri();
	test_tlsa();
	test_misc();
	return test_finish("export");
}
