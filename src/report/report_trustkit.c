/*
 * TrustKit's pin failure report, as TrustKit builds it
 * (TSKPinFailureReport.m on iOS/macOS/tvOS/watchOS,
 * PinningFailureReport.java on Android): the RFC 7469 members (the port is
 * always 0: TrustKit does not know it), no "effective-expiration-date", and
 *
 *   "app-bundle-id", "app-version", "app-platform", "app-vendor-id",
 *   "trustkit-version"            strings (Android sends no
 *   "app-platform-version"        "app-platform-version")
 *   "enforce-pinning"             the domain's kTSKEnforcePinning
 *   "validation-result"           TSKTrustEvaluationResult /
 *                                 PinningValidationResult ordinal:
 *                                 1 no matching pin, 2 chain not trusted,
 *                                 3 invalid parameters, 4 user-defined trust
 *                                 anchor (macOS), 5 no SPKI hash
 *   "known-pins-expiration-date"  iOS: "yyyy-MM-dd" or null
 *
 * iOS sends "validated-certificate-chain" only, Android both chains.
 */
#include "report_parse.h"

/* An app field: a string member of at most CERTPIN_REPORT_APP_FIELD_MAX - 1 bytes, no control characters. */
static int app_field(certpin_report__parser *P, json_t *root, const char *key, int required,
	char out[CERTPIN_REPORT_APP_FIELD_MAX])
{
	const char *s;
	size_t n;
	int rc;

	if ((rc = certpin_report__get_str(P, root, key, required, &s)) != CERTPIN_OK || !s)
		return rc;
	if ((n = strlen(s)) >= CERTPIN_REPORT_APP_FIELD_MAX)
		return certpin_report__fail(P, key, -1, "\"%s\" is longer than %d bytes", key,
			CERTPIN_REPORT_APP_FIELD_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return certpin_report__fail(P, key, -1, "\"%s\" contains a control character", key);
	memcpy(out, s, n + 1);
	return CERTPIN_OK;
}

static int app_fields(certpin_report__parser *P, json_t *root, certpin_report_origin *o)
{
	int rc;

	if ((rc = app_field(P, root, "app-bundle-id", 1, o->app_bundle_id)) != CERTPIN_OK ||
		(rc = app_field(P, root, "app-version", 1, o->app_version)) != CERTPIN_OK ||
		(rc = app_field(P, root, "app-platform", 1, o->app_platform)) != CERTPIN_OK ||
		(rc = app_field(P, root, "app-platform-version", 0, o->app_platform_version)) != CERTPIN_OK ||
		(rc = app_field(P, root, "app-vendor-id", 0, o->app_vendor_id)) != CERTPIN_OK ||
		(rc = app_field(P, root, "trustkit-version", 1, o->trustkit_version)) != CERTPIN_OK)
		return rc;
	if (!o->app_bundle_id[0])
		return certpin_report__fail(P, "app-bundle-id", -1, "\"app-bundle-id\" is empty");
	return CERTPIN_OK;
}

/* "validation-result": the kind of failure; 0 (success) is not a failure. */
static int validation_result(certpin_report__parser *P, json_t *root, certpin_report_info *out, int *result)
{
	static const certpin_report_kind kinds[] = { 0, CERTPIN_REPORT_MISMATCH, CERTPIN_REPORT_PKIX,
		CERTPIN_REPORT_VALIDATION_ERROR, CERTPIN_REPORT_MISMATCH, CERTPIN_REPORT_VALIDATION_ERROR };
	json_t *v = json_object_get(root, "validation-result");
	json_int_t r;

	if (!v)
		return certpin_report__fail(P, "validation-result", -1, "missing \"validation-result\"");
	if (!json_is_integer(v) || (r = json_integer_value(v)) < 0 || r > 5)
		return certpin_report__fail(P, "validation-result", -1,
			"\"validation-result\" is not an integer from 1 to 5");
	if (r == 0)
		return certpin_report__fail(P, "validation-result", -1,
			"\"validation-result\" 0 is a success, not a failure");
	out->kind = kinds[r];
	*result = (int)r;
	return CERTPIN_OK;
}

int certpin_report__parse_trustkit(certpin_report__parser *P, json_t *root, certpin_report_info *out,
	certpin_report_origin *origin)
{
	int rc;

	if ((rc = app_fields(P, root, origin)) != CERTPIN_OK ||
		(rc = certpin_report__parse_hpkp(P, root, out, 0)) != CERTPIN_OK ||
		(rc = certpin_report__get_bool(P, root, "enforce-pinning", 1, &out->enforce)) != CERTPIN_OK ||
		(rc = validation_result(P, root, out, &origin->validation_result)) != CERTPIN_OK ||
		(rc = certpin_report__get_expiry(P, root, "known-pins-expiration-date", &out->expires)) != CERTPIN_OK)
		return rc;
	out->allowed = -1;
	certpin_report__set_key(out);
	return CERTPIN_OK;
}
