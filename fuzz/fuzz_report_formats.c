/*
 * fuzz_report_formats: certpin_report_parse_any(), the collector's parser of
 * untrusted reports in every format it accepts (certpin's own, RFC 7469,
 * TrustKit's).
 *
 * Properties:
 *   - the result is CERTPIN_OK or CERTPIN_E_REPORT (CERTPIN_E_NOMEM allowed),
 *     and err.code says the same;
 *   - on error the report and the origin are all zero and the message is
 *     non-empty, NUL-terminated, with a JSON pointer or none;
 *   - on success: the origin has its version and a known format; the
 *     hostnames are non-empty and normalized; the port is 1..65535 (0 too
 *     for TrustKit); the kind is known, validation-error only for TrustKit;
 *     at least one chain, bounded counts, both digests per element;
 *     TrustKit: a non-empty app-bundle-id, validation-result 1..5 agreeing
 *     with the kind, every app field terminated within its buffer and free
 *     of control characters; other formats: no app field, validation-result
 *     -1; RFC 7469: an enforced mismatch; certpin's own: exactly what
 *     certpin_report_parse() returns, and certpin_report_parse() refuses
 *     every other format;
 *   - parsing is deterministic and trailing JSON whitespace changes nothing.
 */
#include "fuzz_common.h"
#include "certpin/report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void check_chain(const certpin_chain_elem *c, size_t n)
{
	FUZZ_CHECK(n <= CERTPIN_REPORT_CHAIN_MAX, "chain of %zu", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(c[i].flags == (CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT), "element %zu flags %u", i, c[i].flags);
}

static void check_host(const char *h)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	FUZZ_CHECK(h[0] != '\0', "empty hostname");
	FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), h) == CERTPIN_OK && strcmp(norm, h) == 0,
		"hostname %s not normalized", h);
}

/* An app field: terminated within its buffer, no control characters; `required`: non-empty. */
static void check_field(const char *f, int required, const char *name)
{
	const char *end = memchr(f, '\0', CERTPIN_REPORT_APP_FIELD_MAX);
	FUZZ_CHECK(end != NULL, "%s not terminated", name);
	FUZZ_CHECK(!required || f[0], "%s empty", name);
	for (const char *p = f; p < end; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "%s has a control character", name);
}

static void check_origin(const certpin_report_info *a, const certpin_report_origin *o)
{
	static const char empty[CERTPIN_REPORT_APP_FIELD_MAX];
	const char *const fields[] = { o->app_bundle_id, o->app_version, o->app_platform, o->app_platform_version,
		o->app_vendor_id, o->trustkit_version };

	FUZZ_CHECK(o->version == CERTPIN_REPORT_ORIGIN_VERSION, "origin version %u", o->version);
	if (o->format != CERTPIN_REPORT_FORMAT_TRUSTKIT) {
		FUZZ_CHECK(o->format == CERTPIN_REPORT_FORMAT_CERTPIN || o->format == CERTPIN_REPORT_FORMAT_RFC7469,
			"format %d", (int)o->format);
		FUZZ_CHECK(o->validation_result == -1, "validation result %d", o->validation_result);
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			FUZZ_CHECK(memcmp(fields[i], empty, sizeof(empty)) == 0, "app field %zu outside TrustKit", i);
		FUZZ_CHECK(a->port >= 1 && a->port <= 65535, "port %u", a->port);
		FUZZ_CHECK(a->kind != CERTPIN_REPORT_VALIDATION_ERROR, "validation-error outside TrustKit");
		return;
	}
	check_field(o->app_bundle_id, 1, "app-bundle-id");
	check_field(o->app_version, 0, "app-version");
	check_field(o->app_platform, 0, "app-platform");
	check_field(o->app_platform_version, 0, "app-platform-version");
	check_field(o->app_vendor_id, 0, "app-vendor-id");
	check_field(o->trustkit_version, 0, "trustkit-version");
	FUZZ_CHECK(o->validation_result >= 1 && o->validation_result <= 5, "validation result %d", o->validation_result);
	FUZZ_CHECK(a->port <= 65535, "port %u", a->port);
	FUZZ_CHECK(a->kind == (o->validation_result == 2 ? CERTPIN_REPORT_PKIX :
			o->validation_result == 3 || o->validation_result == 5 ? CERTPIN_REPORT_VALIDATION_ERROR :
			CERTPIN_REPORT_MISMATCH), "kind %d for validation result %d", (int)a->kind, o->validation_result);
}

/* The report of a successful parse of `text`. */
static void check_report(const certpin_report_info *a, const certpin_report_origin *o, const char *text, size_t size)
{
	static certpin_report_info strict;

	check_host(a->hostname);
	check_host(a->noted_hostname);
	FUZZ_CHECK(a->kind >= CERTPIN_REPORT_MISMATCH && a->kind <= CERTPIN_REPORT_VALIDATION_ERROR, "kind %d",
		(int)a->kind);
	FUZZ_CHECK(a->enforce == 0 || a->enforce == 1, "enforce %d", a->enforce);
	FUZZ_CHECK(a->allowed >= -1 && a->allowed <= 1, "allowed %d", a->allowed);
	FUZZ_CHECK(a->nknown <= CERTPIN_REPORT_PINS_MAX, "%zu known pins", a->nknown);
	FUZZ_CHECK(a->nserved + a->nvalidated >= 1, "no chain");
	check_chain(a->served, a->nserved);
	check_chain(a->validated, a->nvalidated);
	check_origin(a, o);
	if (o->format == CERTPIN_REPORT_FORMAT_RFC7469)
		FUZZ_CHECK(a->enforce == 1 && a->kind == CERTPIN_REPORT_MISMATCH && a->allowed == -1,
			"RFC 7469: enforce %d, kind %d", a->enforce, (int)a->kind);
	int rc = certpin_report_parse(&strict, text, size, NULL);
	if (o->format == CERTPIN_REPORT_FORMAT_CERTPIN) {
		FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_NOMEM, "certpin_report_parse: %d", rc);
		FUZZ_CHECK(rc != CERTPIN_OK || memcmp(a, &strict, sizeof(*a)) == 0, "certpin_report_parse differs");
	} else {
		FUZZ_CHECK(rc == CERTPIN_E_REPORT || rc == CERTPIN_E_NOMEM, "certpin_report_parse took a %s report",
			certpin_report_format_name(o->format));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static certpin_report_info a, b;
	static certpin_report_origin oa, ob;
	static const certpin_report_info zero;
	static const certpin_report_origin zero_origin;
	const char *text = (const char *)data;
	certpin_error err;

	memset(&err, 'x', sizeof(err));
	memset(&oa, 'x', sizeof(oa));
	int rc = certpin_report_parse_any(&a, &oa, text, size, &err);
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_REPORT || rc == CERTPIN_E_NOMEM, "rc %d", rc);
	FUZZ_CHECK(err.code == rc, "err.code %d, returned %d", err.code, rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(memcmp(&a, &zero, sizeof(a)) == 0, "report not cleared on error");
		FUZZ_CHECK(memcmp(&oa, &zero_origin, sizeof(oa)) == 0, "origin not cleared on error");
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL, "message not terminated");
		FUZZ_CHECK(memchr(err.path, '\0', sizeof(err.path)) != NULL, "path not terminated");
		FUZZ_CHECK(err.path[0] == '\0' || err.path[0] == '/', "path %s is not a JSON pointer", err.path);
		FUZZ_CHECK(rc == CERTPIN_E_NOMEM || err.message[0] != '\0', "empty message");
		int rc2 = certpin_report_parse_any(&b, NULL, text, size, NULL);
		FUZZ_CHECK(rc2 == rc || rc2 == CERTPIN_E_NOMEM || rc == CERTPIN_E_NOMEM, "rc %d, then %d", rc, rc2);
		return 0;
	}
	FUZZ_CHECK(err.message[0] == '\0' && err.path[0] == '\0', "message on success: %s", err.message);
	check_report(&a, &oa, text, size);

	FUZZ_CHECK(certpin_report_parse_any(&b, &ob, text, size, NULL) == CERTPIN_OK, "second parse failed");
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0 && memcmp(&oa, &ob, sizeof(oa)) == 0, "second parse differs");

	/* trailing JSON whitespace changes nothing */
	uint8_t *copy = malloc(size + 2);
	FUZZ_CHECK(copy != NULL, "malloc");
	memcpy(copy, data, size);
	copy[size] = '\t';
	copy[size + 1] = '\n';
	if (size + 2 <= CERTPIN_REPORT_MAX_LEN) {
		FUZZ_CHECK(certpin_report_parse_any(&b, &ob, (const char *)copy, size + 2, NULL) == CERTPIN_OK,
			"trailing whitespace refused");
		FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0 && memcmp(&oa, &ob, sizeof(oa)) == 0,
			"trailing whitespace changed the report");
	}
	free(copy);
	return 0;
}
