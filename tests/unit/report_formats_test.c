/*
 * report_formats_test - certpin_report_parse_any() (report_formats.c,
 * report_trustkit.c): the reports of TrustKit on iOS and on Android and
 * Chrome's RFC 7469 reports, written as those senders write them
 * (support/report_bodies.c), are told apart and normalized; certpin's own
 * reports parse as with certpin_report_parse(); every malformed variant of
 * each format (wrong types, missing members, bad PEM, bad pins, oversize,
 * app fields too long or with control characters) is refused with a reason
 * and the member at fault, and the outputs are zeroed.
 */
#include "certpin.h"
#include "certpin/report.h"
#include "report_bodies.h"
#include "test.h"

#include <time.h>

#include <jansson.h>

static certpin_error last_err;

/* `doc` with the first `from` replaced by `to`; malloc'd, NULL if there is none. */
static char *subst(const char *doc, const char *from, const char *to)
{
	const char *at = strstr(doc, from);
	size_t n = strlen(doc) - strlen(from) + strlen(to) + 1;
	char *s;

	if (!at || !(s = malloc(n)))
		return NULL;
	snprintf(s, n, "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from));
	return s;
}

/* Refused with CERTPIN_E_REPORT, `why` in the message and `path` the member at fault; frees doc. */
static void expect_bad(char *doc, const char *why, const char *path)
{
	certpin_report_info info;
	certpin_report_origin origin;
	certpin_error err;

	if (!doc) {
		CHECK(!"no document");
		return;
	}
	memset(&origin, 'x', sizeof(origin));
	CHECK_INT(certpin_report_parse_any(&info, &origin, doc, strlen(doc), &err), CERTPIN_E_REPORT);
	CHECK_INT(err.code, CERTPIN_E_REPORT);
	if (why)
		CHECK_CONTAINS(err.message, why);
	if (path)
		CHECK_STR(err.path, path);
	CHECK_STR(info.hostname, "");
	CHECK_INT(info.nvalidated + info.nserved, 0);
	CHECK_INT(origin.format, 0);
	CHECK_STR(origin.app_bundle_id, "");
	last_err = err;
	free(doc);
}

static void parse_ok(const char *doc, certpin_report_info *info, certpin_report_origin *origin)
{
	certpin_error err;
	int rc = certpin_report_parse_any(info, origin, doc, strlen(doc), &err);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "parse_any: %s (%s)\n", err.message, err.path);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK_STR(err.message, "");
}

/* The leaf of chain.pem is the leaf key; the known pin is the backup key. */
static void check_chain(const certpin_report_info *info, size_t n, const certpin_chain_elem *chain)
{
	certpin_pin leaf;
	CHECK_INT(certpin_pin_parse(&leaf, test_pin("leaf"), strlen(test_pin("leaf"))), CERTPIN_OK);
	CHECK_INT(n, 2);
	CHECK(memcmp(chain[0].spki_sha256, leaf.digest, CERTPIN_DIGEST_LEN) == 0);
	CHECK_INT(info->nknown, 1);
}

static void test_trustkit_ios(void)
{
	report_body_opts o = { .sender = SENDER_TRUSTKIT_IOS };
	certpin_report_info info;
	certpin_report_origin origin;
	char *doc = report_body(&o);

	CHECK_CONTAINS(doc, "\\/");           /* NSJSONSerialization escapes slashes */
	CHECK_CONTAINS(doc, "\\r\\n");        /* CR LF between PEM lines */
	parse_ok(doc, &info, &origin);
	CHECK_INT(origin.version, CERTPIN_REPORT_ORIGIN_VERSION);
	CHECK_INT(origin.format, CERTPIN_REPORT_FORMAT_TRUSTKIT);
	CHECK_STR(certpin_report_format_name(origin.format), "trustkit");
	CHECK_STR(origin.app_bundle_id, "com.example.certpin");
	CHECK_STR(origin.app_version, "3.2.0");
	CHECK_STR(origin.app_platform, "IOS");
	CHECK_STR(origin.app_platform_version, "17.4.1");
	CHECK_STR(origin.app_vendor_id, "599F9C00-92DC-4B5C-9464-7971F01F8370");
	CHECK_STR(origin.trustkit_version, "3.0.0");
	CHECK_INT(origin.validation_result, 1);
	CHECK_STR(info.hostname, "api.certpin.test");
	CHECK_STR(info.noted_hostname, "api.certpin.test");
	CHECK_INT(info.port, 0);
	CHECK_INT(info.kind, CERTPIN_REPORT_MISMATCH);
	CHECK_INT(info.enforce, 1);
	CHECK_INT(info.allowed, -1);
	CHECK_INT(info.nserved, 0);
	CHECK_INT(info.validated_pem, 1);
	check_chain(&info, info.nvalidated, info.validated);
	CHECK(info.expires > 0);
	CHECK(info.date_time > 0 && llabs(info.date_time - (long long)time(NULL)) < 120);
	/* certpin's own parser still wants its own format */
	CHECK_INT(certpin_report_parse(&info, doc, strlen(doc), NULL), CERTPIN_E_REPORT);
	/* report-only, and each validation result */
	o.report_only = 1;
	for (int r = 1; r <= 5; r++) {
		static const certpin_report_kind kinds[] = { 0, CERTPIN_REPORT_MISMATCH, CERTPIN_REPORT_PKIX,
			CERTPIN_REPORT_VALIDATION_ERROR, CERTPIN_REPORT_MISMATCH, CERTPIN_REPORT_VALIDATION_ERROR };
		char *d;
		o.validation_result = r;
		d = report_body(&o);
		parse_ok(d, &info, &origin);
		CHECK_INT(info.kind, kinds[r]);
		CHECK_INT(info.enforce, 0);
		CHECK_INT(origin.validation_result, r);
		free(d);
	}
	CHECK_STR(certpin_report_kind_name(CERTPIN_REPORT_VALIDATION_ERROR), "validation-error");
	/* a null expiration date is none */
	char *d = body_with(doc, "known-pins-expiration-date", json_null());
	parse_ok(d, &info, &origin);
	CHECK_INT(info.expires, 0);
	free(d);
	free(doc);
}

static void test_trustkit_android(void)
{
	report_body_opts o = { .sender = SENDER_TRUSTKIT_ANDROID };
	certpin_report_info info;
	certpin_report_origin origin;
	char *doc = report_body(&o);

	parse_ok(doc, &info, &origin);
	CHECK_INT(origin.format, CERTPIN_REPORT_FORMAT_TRUSTKIT);
	CHECK_STR(origin.app_bundle_id, "com.example.android");
	CHECK_STR(origin.app_platform, "ANDROID");
	CHECK_STR(origin.app_platform_version, "");   /* Android sends none */
	CHECK_INT(info.port, 0);
	CHECK_INT(info.served_pem, 1);
	check_chain(&info, info.nserved, info.served);
	check_chain(&info, info.nvalidated, info.validated);
	CHECK_INT(info.expires, 0);
	/* a NULL origin is fine */
	CHECK_INT(certpin_report_parse_any(&info, NULL, doc, strlen(doc), NULL), CERTPIN_OK);
	free(doc);
}

static void test_chrome(void)
{
	report_body_opts o = { .sender = SENDER_CHROME };
	certpin_report_info info, strict;
	certpin_report_origin origin;
	certpin_error err;
	char *doc = report_body(&o), *d;

	parse_ok(doc, &info, &origin);
	CHECK_INT(origin.format, CERTPIN_REPORT_FORMAT_RFC7469);
	CHECK_STR(certpin_report_format_name(origin.format), "rfc7469");
	CHECK_STR(origin.app_bundle_id, "");
	CHECK_INT(origin.validation_result, -1);
	CHECK_INT(info.port, 443);
	CHECK_INT(info.kind, CERTPIN_REPORT_MISMATCH);
	CHECK_INT(info.enforce, 1);          /* absent "enforce": enforced */
	check_chain(&info, info.nserved, info.served);
	check_chain(&info, info.nvalidated, info.validated);
	CHECK(info.expires > 0);
	/* the strict parser: 400 "missing enforce" as before */
	CHECK_INT(certpin_report_parse(&strict, doc, strlen(doc), &err), CERTPIN_E_REPORT);
	/* RFC 7469's own example: served chain only, no expiration */
	d = body_with(doc, "validated-certificate-chain", NULL);
	free(doc);
	doc = body_with(d, "effective-expiration-date", NULL);
	free(d);
	parse_ok(doc, &info, &origin);
	CHECK_INT(info.nvalidated, 0);
	CHECK_INT(info.expires, 0);
	free(doc);
}

/* certpin's own report: the same result as certpin_report_parse(). */
static void test_certpin(void)
{
	const char *leaf = test_pin("leaf"), *backup = test_pin("backup");
	char doc[2048];
	certpin_report_info a, b;
	certpin_report_origin origin;

	snprintf(doc, sizeof(doc), "{\"date-time\":\"2026-11-22T00:00:00Z\",\"hostname\":\"api.certpin.test\","
		"\"port\":443,\"noted-hostname\":\"api.certpin.test\",\"known-pins\":[\"pin-sha256=\\\"%s\\\"\"],"
		"\"verdict\":\"mismatch\",\"enforce\":false,\"certpin-report-version\":1,\"served-chain-sha256\":"
		"[{\"spki\":\"%s\",\"cert\":\"cert-sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}",
		backup + 7, leaf);
	parse_ok(doc, &a, &origin);
	CHECK_INT(origin.format, CERTPIN_REPORT_FORMAT_CERTPIN);
	CHECK_INT(certpin_report_parse(&b, doc, strlen(doc), NULL), CERTPIN_OK);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK_INT(a.enforce, 0);
	/* certpin's members decide: without "enforce" it is refused as before */
	expect_bad(body_with(doc, "enforce", NULL), "missing \"enforce\"", "/enforce");
	expect_bad(body_with(doc, "verdict", NULL), "missing \"verdict\"", "/verdict");
}

/* Malformed variants every format shares. */
static void bad_common(const char *doc, int trustkit)
{
	expect_bad(body_with(doc, "hostname", NULL), "missing \"hostname\"", "/hostname");
	expect_bad(body_with(doc, "hostname", json_integer(7)), "hostname", "/hostname");
	expect_bad(body_with(doc, "hostname", json_string("a..b")), "not a valid hostname", "/hostname");
	expect_bad(body_with(doc, "noted-hostname", NULL), "missing", "/noted-hostname");
	expect_bad(body_with(doc, "date-time", json_string("yesterday")), "date-time", "/date-time");
	expect_bad(body_with(doc, "date-time", json_null()), "not a string", "/date-time");
	expect_bad(body_with(doc, "port", json_string("443")), "port", "/port");
	expect_bad(body_with(doc, "port", json_integer(65536)), "port", "/port");
	expect_bad(body_with(doc, "port", json_integer(-1)), "port", "/port");
	if (!trustkit)
		expect_bad(body_with(doc, "port", json_integer(0)), "from 1 to 65535", "/port");
	expect_bad(body_with(doc, "include-subdomains", json_string("false")), "not a boolean", "/include-subdomains");
	expect_bad(body_with(doc, "known-pins", NULL), "missing \"known-pins\"", "/known-pins");
	expect_bad(body_with(doc, "known-pins", json_pack("[s]", "pin-sha256=\"AAAA\"")), "not a pin", "/known-pins/0");
	expect_bad(body_with(doc, "known-pins", json_string("x")), "not an array", "/known-pins");
	expect_bad(body_with(doc, "validated-certificate-chain", json_string("x")), "not an array",
		"/validated-certificate-chain");
	expect_bad(body_with(doc, "validated-certificate-chain", json_pack("[i]", 7)), "not a string",
		"/validated-certificate-chain/0");
	expect_bad(body_with(doc, "validated-certificate-chain", json_pack("[s]", "junk")), "not a PEM certificate",
		"/validated-certificate-chain/0");
	expect_bad(body_with(doc, "validated-certificate-chain",
		json_pack("[s]", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")), "PEM",
		"/validated-certificate-chain/0");
	/* a broken base64 line inside a real certificate */
	expect_bad(subst(doc, "-----BEGIN CERTIFICATE-----\\nMII", "-----BEGIN CERTIFICATE-----\\nXII"), "PEM", NULL);
	/* no chain at all */
	{
		char *d = body_with(doc, "validated-certificate-chain", NULL);
		expect_bad(body_with(d, "served-certificate-chain", NULL), "no certificate chain", "");
		free(d);
	}
	/* a chain of 17 */
	{
		json_t *j = json_loads(doc, 0, NULL), *arr = json_object_get(j, "validated-certificate-chain");
		while (json_array_size(arr) < CERTPIN_REPORT_CHAIN_MAX + 1)
			json_array_append(arr, json_array_get(arr, 0));
		expect_bad(json_dumps(j, JSON_COMPACT), "more than", "/validated-certificate-chain");
		json_decref(j);
	}
	/* oversize: a valid report padded past the limit */
	{
		size_t n = strlen(doc), pad = CERTPIN_REPORT_MAX_LEN;
		char *big = malloc(n + pad + 32);
		memcpy(big, doc, n - 1);
		memcpy(big + n - 1, ",\"x\":\"", 6);
		memset(big + n + 5, 'p', pad);
		memcpy(big + n + 5 + pad, "\"}", 3);
		expect_bad(big, "longer than", "");
	}
	/* JSON syntax, duplicate keys */
	expect_bad(subst(doc, "}", ""), "syntax", "");
	expect_bad(subst(doc, "\"hostname\":", "\"hostname\":\"x.example\",\"hostname\":"), "syntax", "");
}

static void test_bad_trustkit(void)
{
	report_body_opts o = { .sender = SENDER_TRUSTKIT_IOS };
	char *doc = report_body(&o), long_id[CERTPIN_REPORT_APP_FIELD_MAX + 1];

	bad_common(doc, 1);
	expect_bad(body_with(doc, "app-bundle-id", NULL), "missing \"app-bundle-id\"", "/app-bundle-id");
	expect_bad(body_with(doc, "app-bundle-id", json_string("")), "empty", "/app-bundle-id");
	expect_bad(body_with(doc, "app-version", json_integer(3)), "not a string", "/app-version");
	expect_bad(body_with(doc, "app-platform", NULL), "missing", "/app-platform");
	expect_bad(body_with(doc, "trustkit-version", json_null()), "not a string", "/trustkit-version");
	expect_bad(body_with(doc, "app-vendor-id", json_string("a\x1b[31mred")), "control character", "/app-vendor-id");
	expect_bad(body_with(doc, "app-version", json_stringn("3\0" "2", 3)), "syntax", "");  /* jansson refuses an escaped NUL */
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	expect_bad(body_with(doc, "app-bundle-id", json_string(long_id)), "longer than", "/app-bundle-id");
	long_id[sizeof(long_id) - 2] = '\0';   /* the longest accepted */
	{
		char *d = body_with(doc, "app-bundle-id", json_string(long_id));
		certpin_report_info info;
		certpin_report_origin origin;
		parse_ok(d, &info, &origin);
		CHECK_INT(strlen(origin.app_bundle_id), CERTPIN_REPORT_APP_FIELD_MAX - 1);
		free(d);
	}
	expect_bad(body_with(doc, "enforce-pinning", NULL), "missing \"enforce-pinning\"", "/enforce-pinning");
	expect_bad(body_with(doc, "enforce-pinning", json_string("true")), "not a boolean", "/enforce-pinning");
	expect_bad(body_with(doc, "validation-result", NULL), "missing", "/validation-result");
	expect_bad(body_with(doc, "validation-result", json_integer(0)), "success", "/validation-result");
	expect_bad(body_with(doc, "validation-result", json_integer(6)), "from 1 to 5", "/validation-result");
	expect_bad(body_with(doc, "validation-result", json_string("1")), "from 1 to 5", "/validation-result");
	expect_bad(body_with(doc, "validation-result", json_real(1.0)), "from 1 to 5", "/validation-result");
	expect_bad(body_with(doc, "known-pins-expiration-date", json_string("soon")), "date",
		"/known-pins-expiration-date");
	free(doc);
	o.sender = SENDER_TRUSTKIT_ANDROID;
	doc = report_body(&o);
	bad_common(doc, 1);
	expect_bad(body_with(doc, "served-certificate-chain", json_pack("[s]", "junk")), "PEM", "/served-certificate-chain/0");
	free(doc);
}

static void test_bad_chrome(void)
{
	report_body_opts o = { .sender = SENDER_CHROME };
	char *doc = report_body(&o);

	bad_common(doc, 0);
	expect_bad(body_with(doc, "effective-expiration-date", json_string("2031-13-01")), "effective-expiration-date",
		"/effective-expiration-date");
	expect_bad(body_with(doc, "served-certificate-chain", json_pack("[s]", "junk")), "PEM", "/served-certificate-chain/0");
	free(doc);
	expect_bad(strdup("[]"), "not a JSON object", "");
	expect_bad(strdup("{}"), "missing", NULL);
	expect_bad(strdup(""), "syntax", "");

	certpin_report_info info;
	CHECK_INT(certpin_report_parse_any(&info, NULL, NULL, 0, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_report_parse_any(NULL, NULL, "{}", 2, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_STR(certpin_report_format_name((certpin_report_format)0), "unknown");
}

int main(void)
{
	test_trustkit_ios();
	test_trustkit_android();
	test_chrome();
	test_certpin();
	test_bad_trustkit();
	test_bad_chrome();
	return test_finish("report_formats_test");
}
