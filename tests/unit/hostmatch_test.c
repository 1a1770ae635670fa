/* Hostname normalization and the most-specific-rule index. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

static void norm_ok(const char *in, const char *want)
{
	char out[CERTPIN_HOSTNAME_MAX];
	int rc = certpin_hostname_normalize(out, sizeof(out), in);
	CHECK_INT(rc, CERTPIN_OK);
	if (rc == CERTPIN_OK)
		CHECK_STR(out, want);
	else
		fprintf(stderr, "  input: \"%s\"\n", in);
}

static void norm_bad(const char *in)
{
	char out[CERTPIN_HOSTNAME_MAX];
	int rc = certpin_hostname_normalize(out, sizeof(out), in);
	CHECK_INT(rc, CERTPIN_E_HOSTNAME);
	if (rc != CERTPIN_E_HOSTNAME)
		fprintf(stderr, "  input: \"%s\" -> \"%s\"\n", in, out);
}

static void test_normalize(void)
{
	char long_label[80], long_name[300];

	norm_ok("Example.COM", "example.com");
	norm_ok("example.com.", "example.com");
	norm_ok("EXAMPLE.com.", "example.com");
	norm_ok("xn--bcher-kva.example", "xn--bcher-kva.example");
	norm_ok("_srv.example.com", "_srv.example.com");
	norm_ok("localhost", "localhost");
	norm_ok("127.0.0.1", "127.0.0.1");
	norm_ok("[::1]", "::1");
	norm_ok("2001:DB8:0:0::1", "2001:db8::1");
	norm_bad("example.com..");
	norm_bad(".example.com");
	norm_bad("a..example.com");
	norm_bad("");
	norm_bad(".");
	norm_bad("b\xc3\xbc" "cher.example");   /* U-label: A-labels only */
	norm_bad("*.example.com");               /* a hostname is never a pattern */
	norm_bad("exa mple.com");
	norm_bad("-bad.example.com");
	norm_bad("bad-.example.com");
	norm_bad("1.2.3.4.");                    /* IP literal with a dot */
	norm_bad("1.2.3.256");
	norm_bad("01.2.3.4");                    /* octal-looking */
	norm_bad("1.2.3");                       /* numeric last label but not an IPv4 literal */
	norm_bad("example.123");
	norm_bad("[1.2.3.4]");
	norm_bad("fe80::1%eth0");
	norm_bad("[::1");
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	norm_bad(long_label);
	long_label[63] = '\0';
	norm_ok(long_label, long_label);
	long_name[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(long_name, "abc.");
	strcat(long_name, "com"); /* 259 chars */
	norm_bad(long_name);
}

static void test_patterns(void)
{
	char base[CERTPIN_HOSTNAME_MAX];
	int wild, ip;

	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "*.Example.com.", 0), CERTPIN_OK);
	CHECK_STR(base, "example.com");
	CHECK_INT(wild, WILD_ONE);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "**.example.com", 0), CERTPIN_OK);
	CHECK_INT(wild, WILD_ANY);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "example.com", 1), CERTPIN_OK);
	CHECK_INT(wild, WILD_ANY);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "*.example.com", 1), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "*.1.2.3.4", 0), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "1.2.3.4", 1), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "a*.example.com", 0), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "*.*.example.com", 0), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "***.example.com", 0), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "*.", 0), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin__pattern_parse(base, sizeof(base), &wild, &ip, "::1", 0), CERTPIN_OK);
	CHECK_INT(ip, 1);
}

static certpin_policy *make_policy(const char *const *patterns, size_t n)
{
	certpin_policy *p;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 1 } };

	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		o.pattern = patterns[i];
		CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
		CHECK_INT(certpin_policy_add_pin(p, patterns[i], &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	}
	return p;
}

/* The rule that applies to `host`, or "-" if none. */
static const char *rule_for(const certpin_policy *p, const char *host)
{
	size_t idx;
	certpin_host_info info;
	int rc = certpin_policy_lookup(&idx, p, host);
	if (rc == CERTPIN_E_NOT_FOUND)
		return "-";
	if (rc != CERTPIN_OK)
		return "error";
	if (certpin_policy_host(&info, p, idx) != CERTPIN_OK)
		return "error";
	return info.pattern;
}

static void test_precedence(void)
{
	static const char *const pats[] = {
		"**.example.com", "*.example.com", "api.example.com", "**.deep.example.com",
		"*.one.test", "10.0.0.1", "::1", "**.x.test",
	};
	certpin_policy *p = make_policy(pats, CERTPIN_ARRAY_LEN(pats));

	CHECK_STR(rule_for(p, "api.example.com"), "api.example.com");      /* exact beats everything */
	CHECK_STR(rule_for(p, "API.Example.Com."), "api.example.com");    /* case + trailing dot */
	CHECK_STR(rule_for(p, "www.example.com"), "*.example.com");        /* one label beats ** */
	CHECK_STR(rule_for(p, "a.b.example.com"), "**.example.com");       /* depth 2: only ** */
	CHECK_STR(rule_for(p, "example.com"), "**.example.com");           /* ** includes the apex */
	CHECK_STR(rule_for(p, "deep.example.com"), "**.deep.example.com"); /* names the host: beats *.example.com */
	CHECK_STR(rule_for(p, "x.deep.example.com"), "**.deep.example.com");
	CHECK_STR(rule_for(p, "a.one.test"), "*.one.test");
	CHECK_STR(rule_for(p, "a.b.one.test"), "-");                        /* wildcard depth */
	CHECK_STR(rule_for(p, "one.test"), "-");                            /* "*." excludes the apex */
	CHECK_STR(rule_for(p, "xone.test"), "-");                           /* label boundary */
	CHECK_STR(rule_for(p, "evilexample.com"), "-");                    /* suffix without a dot */
	CHECK_STR(rule_for(p, "example.com.evil.test"), "-");
	CHECK_STR(rule_for(p, "10.0.0.1"), "10.0.0.1");
	CHECK_STR(rule_for(p, "0:0::1"), "::1");
	CHECK_STR(rule_for(p, "x.test"), "**.x.test");
	CHECK_STR(rule_for(p, "10.0.0.2"), "-");
	CHECK_STR(rule_for(p, "bad..name"), "error");
	certpin_policy_free(p);
}

static void test_index_growth(void)
{
	certpin_policy *p;
	char name[64];
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 2 } };

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	for (int i = 0; i < 500; i++) {
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		snprintf(name, sizeof(name), "%shost%d.example", i % 2 ? "**." : "", i);
		o.pattern = name;
		if (certpin_policy_add_host(p, &o, NULL) != CERTPIN_OK || certpin_policy_add_pin(p, name, &pin, CERTPIN_POS_LEAF, NULL, NULL))
			CHECK(0);
	}
	CHECK_INT(certpin_policy_host_count(p), 500);
	int found = 0;
	for (int i = 0; i < 500; i++) {
		size_t idx;
		snprintf(name, sizeof(name), "%shost%d.example", i % 2 ? "sub." : "", i);
		if (certpin_policy_lookup(&idx, p, name) == CERTPIN_OK && idx == (size_t)i)
			found++;
	}
	CHECK_INT(found, 500);
	size_t idx;
	CHECK_INT(certpin_policy_lookup(&idx, p, "sub.host0.example"), CERTPIN_E_NOT_FOUND);
	certpin_policy_free(p);
}

int main(void)
{
	test_normalize();
	test_patterns();
	test_precedence();
	test_index_growth();
	return test_finish("hostmatch_test");
}
