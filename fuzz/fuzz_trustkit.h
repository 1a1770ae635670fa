/*
 * Shared by the TrustKit import targets (fuzz_import_plist.c,
 * fuzz_import_tksource.c): import the input as TrustKit, check the
 * properties every TrustKit import has, and round-trip the policy through
 * certpin's own TrustKit export in `fmt`.
 *
 * Properties:
 *   - a failed import returns CERTPIN_E_POLICY or CERTPIN_E_NOMEM, makes no
 *     policy, sets a one-line error detail, and delivers no warnings;
 *   - a successful import gives exact or "**." rules on DNS names, SPKI
 *     pins at position any, at least two in an enforced rule and one in a
 *     report-only rule (TrustKit's own rule), fail-open expiry on a whole
 *     UTC day or none, at most CERTPIN_REPORT_URIS_MAX http(s) report URIs;
 *   - the policy serializes to JSON that reloads with the same rules;
 *   - the TrustKit export succeeds, and imported again gives the same
 *     rules, pins, modes and expiry.
 */
#ifndef CERTPIN_FUZZ_TRUSTKIT_H
#define CERTPIN_FUZZ_TRUSTKIT_H

#include "fuzz_common.h"
#include "certpin/tools.h"

#define FUZZ_DAY 86400

static void fuzz_tk_count_warning(const certpin_error *w, void *payload)
{
	FUZZ_CHECK(w->code == CERTPIN_OK && w->message[0] != '\0', "warning with code %d or without text", w->code);
	(*(int *)payload)++;
}

static void fuzz_tk_rules(const certpin_policy *p)
{
	for (size_t i = 0; i < certpin_policy_host_count(p); i++) {
		certpin_host_info h;
		size_t nuris;
		const char *const *uris;
		FUZZ_CHECK(certpin_policy_host(&h, p, i) == CERTPIN_OK, "rule %zu unreadable", i);
		FUZZ_CHECK(h.wildcard != 1 && !h.is_ip, "rule '%s': a one-label wildcard or an IP", h.pattern);
		FUZZ_CHECK(h.pin_count >= (h.mode == CERTPIN_MODE_ENFORCE ? 2u : 1u),
			"rule '%s': %zu pins in mode %d (TrustKit would raise)", h.pattern, h.pin_count, (int)h.mode);
		FUZZ_CHECK(h.expires == 0 || (h.on_expiry == CERTPIN_EXPIRY_FAIL_OPEN && h.expires % FUZZ_DAY == 0),
			"rule '%s': expiry %lld / %d is not TrustKit's", h.pattern, (long long)h.expires, (int)h.on_expiry);
		for (size_t k = 0; k < h.pin_count; k++) {
			certpin_pin pin;
			certpin_position pos;
			FUZZ_CHECK(certpin_policy_host_pin(&pin, &pos, p, i, k) == CERTPIN_OK &&
					pin.kind == CERTPIN_PIN_SPKI_SHA256 && pos == CERTPIN_POS_ANY,
				"rule '%s' pin %zu is not an SPKI pin at any position", h.pattern, k);
		}
		uris = certpin_policy_report_uris(p, (int)i, &nuris);
		FUZZ_CHECK(nuris <= CERTPIN_REPORT_URIS_MAX, "rule '%s': %zu report URIs", h.pattern, nuris);
		for (size_t k = 0; k < nuris; k++)
			FUZZ_CHECK(strncmp(uris[k], "http://", 7) == 0 || strncmp(uris[k], "https://", 8) == 0,
				"rule '%s': report URI '%s'", h.pattern, uris[k]);
	}
}

static void fuzz_tk_round_trip(const certpin_policy *p, certpin_export_format fmt)
{
	certpin_import_options ro = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_policy *q = NULL;
	certpin_error err;
	char *json = NULL, *out = NULL;
	int rc;

	FUZZ_CHECK(certpin_policy_to_json(&json, p) == CERTPIN_OK, "to_json failed");
	rc = certpin_policy_load_data(&q, json, strlen(json), "json", NULL, &err);
	FUZZ_CHECK(rc == CERTPIN_OK, "imported policy does not reload as JSON: %s\n%s", err.message, json);
	fuzz_same_rules(p, q, "json");
	certpin_policy_free(q);
	free(json);

	rc = certpin_policy_export(&out, p, fmt, NULL, &err);
	if (rc == CERTPIN_E_NOMEM)
		return;
	FUZZ_CHECK(rc == CERTPIN_OK, "TrustKit export of a TrustKit import refused (%d): %s", rc, err.message);
	ro.format = CERTPIN_IMPORT_TRUSTKIT;
	ro.name = "export";
	rc = certpin_policy_import_data(&q, out, strlen(out), &ro, &err);
	FUZZ_CHECK(rc == CERTPIN_OK, "exported TrustKit does not import: %s\n%s", err.message, out);
	fuzz_same_rules(p, q, "trustkit round trip");
	certpin_policy_free(q);
	free(out);
}

static int fuzz_tk_one(const uint8_t *data, size_t size, certpin_export_format fmt)
{
	certpin_import_options io = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_error err;
	int rc, nwarn = 0;

	io.format = CERTPIN_IMPORT_TRUSTKIT;
	io.name = "fuzz";
	io.on_warning = fuzz_tk_count_warning;
	io.payload = &nwarn;
	rc = certpin_policy_import_data(&p, (const char *)data, size, &io, &err);
	FUZZ_CHECK(err.code == rc, "err.code %d, returned %d", err.code, rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_POLICY || rc == CERTPIN_E_NOMEM, "import returned %d", rc);
		FUZZ_CHECK(p == NULL, "failed import made a policy");
		FUZZ_CHECK(err.message[0] != '\0' && !strchr(err.message, '\n'), "failed import: no one-line detail");
		FUZZ_CHECK(nwarn == 0, "failed import returned warnings");
		return 0;
	}
	FUZZ_CHECK(certpin_policy_host_count(p) > 0, "a TrustKit import without rules");
	fuzz_tk_rules(p);
	fuzz_tk_round_trip(p, fmt);
	certpin_policy_free(p);
	return 0;
}

#endif
