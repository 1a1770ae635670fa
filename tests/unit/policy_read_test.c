/*
 * policy_read_test - the public helpers the tools library builds on:
 * certpin_pattern_normalize(), certpin_policy_find(), certpin_pin_matches(),
 * and the shared error and time helpers (certpin_error_set(),
 * certpin_time_parse(), certpin_time_format()).
 */
#include "certpin.h"
#include "test.h"

static void test_pattern_normalize(void)
{
	char out[CERTPIN_PATTERN_MAX];

	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "API.Example.COM.", 0), CERTPIN_OK);
	CHECK_STR(out, "api.example.com");
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "example.com", 1), CERTPIN_OK);
	CHECK_STR(out, "**.example.com");
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "*.Example.com", 0), CERTPIN_OK);
	CHECK_STR(out, "*.example.com");
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "**.example.com", 0), CERTPIN_OK);
	CHECK_STR(out, "**.example.com");
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "[2001:DB8::1]", 0), CERTPIN_OK);
	CHECK_STR(out, "2001:db8::1");
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "192.0.2.1", 1), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "*.example.com", 1), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_pattern_normalize(out, sizeof(out), "a..b", 0), CERTPIN_E_HOSTNAME);
	CHECK_STR(out, "");
	CHECK_INT(certpin_pattern_normalize(out, 5, "example.com", 0), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_pattern_normalize(NULL, 0, "example.com", 0), CERTPIN_E_INVALID_ARG);
}

static void test_policy_find(void)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;
	size_t idx = 99;

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	ho.pattern = "**.example.com";
	CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
	ho.pattern = "api.example.com";
	CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_find(&idx, p, "API.example.com."), CERTPIN_OK);
	CHECK_INT(idx, 1);
	CHECK_INT(certpin_policy_find(&idx, p, "**.EXAMPLE.com"), CERTPIN_OK);
	CHECK_INT(idx, 0);
	/* exact patterns only: no matching */
	CHECK_INT(certpin_policy_find(&idx, p, "*.example.com"), CERTPIN_E_NOT_FOUND);
	CHECK_INT(certpin_policy_find(&idx, p, "example.com"), CERTPIN_E_NOT_FOUND);
	CHECK_INT(certpin_policy_find(&idx, p, "www.example.com"), CERTPIN_E_NOT_FOUND);
	CHECK(certpin_policy_find(&idx, p, "bad..name") != CERTPIN_OK);
	CHECK(certpin_policy_find(&idx, p, NULL) != CERTPIN_OK);
	CHECK_INT(certpin_policy_find(NULL, p, "api.example.com"), CERTPIN_E_INVALID_ARG);
	certpin_policy_free(p);
}

static void test_pin_matches(void)
{
	certpin_chain_elem chain[3];
	certpin_pin spki = { CERTPIN_PIN_SPKI_SHA256, { 0 } }, cert = { CERTPIN_PIN_CERT_SHA256, { 0 } };

	memset(chain, 0, sizeof(chain));
	for (int i = 0; i < 3; i++) {
		chain[i].flags = CERTPIN_HAVE_SPKI;
		memset(chain[i].spki_sha256, 'a' + i, CERTPIN_DIGEST_LEN);
	}
	memset(spki.digest, 'b', CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_ANY, chain, 3, 1), 1);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_INTERMEDIATE, chain, 3, 1), 1);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_LEAF, chain, 3, 1), 0);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_ROOT, chain, 3, 1), 0);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_ANY, chain, 3, 0), 0);
	/* in a chain of two the same element is the root */
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_ROOT, chain, 2, 1), 1);
	CHECK_INT(certpin_pin_matches(&spki, CERTPIN_POS_ANY, chain, 1, 1), 0);
	/* a digest the element does not have never matches */
	memset(cert.digest, 'b', CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_pin_matches(&cert, CERTPIN_POS_ANY, chain, 3, 1), 0);
	CHECK_INT(certpin_pin_matches(NULL, CERTPIN_POS_ANY, chain, 3, 1), 0);
}

static void test_error_and_time(void)
{
	certpin_error e;
	char t[CERTPIN_TIME_STRLEN];
	int64_t v = 7;

	CHECK_INT(certpin_error_set(&e, CERTPIN_E_POLICY, "/hosts/0", 3, "bad %s", "thing"), CERTPIN_E_POLICY);
	CHECK_INT(e.code, CERTPIN_E_POLICY);
	CHECK_STR(e.message, "bad thing");
	CHECK_STR(e.path, "/hosts/0");
	CHECK_INT(e.line, 3);
	CHECK_INT(e.column, 0);
	CHECK_INT(certpin_error_set(&e, CERTPIN_OK, NULL, 0, "%s", "w"), CERTPIN_OK);
	CHECK_STR(e.path, "");
	CHECK_INT(certpin_error_set(NULL, CERTPIN_E_IO, NULL, 0, "x"), CERTPIN_E_IO);

	CHECK_INT(certpin_time_parse(&v, "2026-03-01"), CERTPIN_OK);
	CHECK_INT(v, 1772323200);
	CHECK_INT(certpin_time_parse(&v, "2026-03-01T01:00:00+01:00"), CERTPIN_OK);
	CHECK_INT(v, 1772323200);
	CHECK_INT(certpin_time_parse(&v, "2026-02-30"), CERTPIN_E_INVALID_ARG);
	CHECK_INT(v, 1772323200);
	CHECK_INT(certpin_time_parse(&v, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_time_format(t, sizeof(t), 1772323200), CERTPIN_OK);
	CHECK_STR(t, "2026-03-01T00:00:00Z");
	CHECK_INT(certpin_time_format(t, sizeof(t), CERTPIN_TIME_MAX), CERTPIN_OK);
	CHECK_STR(t, "9999-12-31T23:59:59Z");
	CHECK_INT(certpin_time_format(t, sizeof(t), CERTPIN_TIME_MAX + 1), CERTPIN_E_INVALID_ARG);
	CHECK_STR(t, "");
	CHECK_INT(certpin_time_format(t, 20, 0), CERTPIN_E_INVALID_ARG);
}

int main(void)
{
	test_pattern_normalize();
	test_policy_find();
	test_pin_matches();
	test_error_and_time();
	return test_finish("policy_read_test");
}
