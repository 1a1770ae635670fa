/*
 * certpin_report_parse_any(): the reports a collector receives, told apart
 * by their members -- TrustKit's (report_trustkit.c), certpin's own
 * (report_json.c), and RFC 7469 section 3 reports as browsers sent them
 * (here).  Every format ends in the same certpin_report_info, checked as
 * strictly as certpin's own.
 */
#include "report_parse.h"

const char *certpin_report_format_name(certpin_report_format format)
{
	switch (format) {
	case CERTPIN_REPORT_FORMAT_CERTPIN:
		return "certpin";
	case CERTPIN_REPORT_FORMAT_RFC7469:
		return "rfc7469";
	case CERTPIN_REPORT_FORMAT_TRUSTKIT:
		return "trustkit";
	}
	return "unknown";
}

/* 1 if `root` has any of the members `keys` (NULL-terminated). */
static int has_any(json_t *root, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (json_object_get(root, keys[i]))
			return 1;
	return 0;
}

/* TrustKit's members (not in RFC 7469), then certpin's own; anything else is RFC 7469. */
static certpin_report_format detect(json_t *root)
{
	static const char *const trustkit[] = { "app-bundle-id", "app-version", "app-platform", "trustkit-version",
		"validation-result", "enforce-pinning", NULL };
	static const char *const certpin[] = { "certpin-report-version", "verdict", "enforce", "allowed",
		"policy-version", "pattern", "served-chain-sha256", "validated-chain-sha256", NULL };

	if (has_any(root, trustkit))
		return CERTPIN_REPORT_FORMAT_TRUSTKIT;
	if (has_any(root, certpin))
		return CERTPIN_REPORT_FORMAT_CERTPIN;
	return CERTPIN_REPORT_FORMAT_RFC7469;
}

/*
 * RFC 7469 section 3.  A browser reports a pin validation failure of a
 * Known Pinned Host; the report does not say whether the pins were enforced
 * (Public-Key-Pins) or report-only, and the RFC's report is the enforcing
 * header's: enforced.
 */
static int parse_rfc7469(certpin_report__parser *P, json_t *root, certpin_report_info *out)
{
	int rc;

	if ((rc = certpin_report__parse_hpkp(P, root, out, 1)) != CERTPIN_OK ||
		(rc = certpin_report__get_expiry(P, root, "effective-expiration-date", &out->expires)) != CERTPIN_OK)
		return rc;
	out->kind = CERTPIN_REPORT_MISMATCH;
	out->enforce = 1;
	out->allowed = -1;
	certpin_report__set_key(out);
	return CERTPIN_OK;
}

int certpin_report_parse_any(certpin_report_info *out, certpin_report_origin *origin, const char *json,
	size_t len, certpin_error *err)
{
	certpin_report__parser P = { err };
	certpin_report_origin scratch;
	json_t *root;
	int rc;

	if (!origin)
		origin = &scratch;
	memset(origin, 0, sizeof(*origin));
	if ((rc = certpin_report__begin(&P, out, json, len, &root)) != CERTPIN_OK)
		return rc;
	if (!json_is_object(root)) {
		json_decref(root);
		return certpin_report__fail(&P, NULL, -1, "report is not a JSON object");
	}
	origin->format = detect(root);
	origin->validation_result = -1;
	if (origin->format == CERTPIN_REPORT_FORMAT_TRUSTKIT)
		rc = certpin_report__parse_trustkit(&P, root, out, origin);
	else if (origin->format == CERTPIN_REPORT_FORMAT_CERTPIN)
		rc = certpin_report__parse_certpin(&P, root, out);
	else
		rc = parse_rfc7469(&P, root, out);
	json_decref(root);
	if (rc != CERTPIN_OK) {
		memset(out, 0, sizeof(*out));
		memset(origin, 0, sizeof(*origin));
		return rc;
	}
	origin->version = CERTPIN_REPORT_ORIGIN_VERSION;
	return CERTPIN_OK;
}
