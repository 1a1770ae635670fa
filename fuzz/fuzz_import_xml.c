/*
 * fuzz_import_xml: certpin_policy_import_data() on arbitrary Android
 * network_security_config.xml input.
 *
 * Properties:
 *   - a failed import returns CERTPIN_E_POLICY or CERTPIN_E_NOMEM, leaves the
 *     policy empty, sets an error detail, and returns no warnings;
 *   - a successful import gives only exact or "**." rules with at least one
 *     SPKI pin, all at position any, mode enforce, fail-open expiry at a whole
 *     UTC day;
 *   - the policy serializes to JSON that reloads with the same rules;
 *   - every export format either succeeds or refuses with
 *     CERTPIN_E_UNSUPPORTED and a reason; never anything else;
 *   - an Android export, imported again, gives the same rules, pins and expiry.
 */
#include "fuzz_common.h"

#define DAY 86400

/* Same rules, pins (same order), expiry and mode. */
static void same_policy(const certpin_policy *a, const certpin_policy *b, const char *what)
{
	size_t n = certpin_policy_host_count(a);

	FUZZ_CHECK(n == certpin_policy_host_count(b), "%s: %zu rules, original %zu", what,
		certpin_policy_host_count(b), n);
	for (size_t i = 0; i < n; i++) {
		certpin_host_info ha, hb;
		FUZZ_CHECK(certpin_policy_host(&ha, a, i) == CERTPIN_OK && certpin_policy_host(&hb, b, i) == CERTPIN_OK,
			"%s: rule %zu unreadable", what, i);
		FUZZ_CHECK(strcmp(ha.pattern, hb.pattern) == 0 && ha.expires == hb.expires && ha.mode == hb.mode &&
				ha.pin_count == hb.pin_count,
			"%s: rule %zu '%s' became '%s'", what, i, ha.pattern, hb.pattern);
		for (size_t k = 0; k < ha.pin_count; k++) {
			certpin_pin pa, pb;
			certpin_position qa, qb;
			FUZZ_CHECK(certpin_policy_host_pin(&pa, &qa, a, i, k) == CERTPIN_OK &&
					certpin_policy_host_pin(&pb, &qb, b, i, k) == CERTPIN_OK &&
					certpin_pin_equal(&pa, &pb) && qa == qb,
				"%s: pin %zu of rule %zu differs", what, k, i);
		}
	}
}

static void check_rules(const certpin_policy *p)
{
	for (size_t i = 0; i < certpin_policy_host_count(p); i++) {
		certpin_host_info h;
		FUZZ_CHECK(certpin_policy_host(&h, p, i) == CERTPIN_OK, "rule %zu unreadable", i);
		FUZZ_CHECK(h.wildcard != 1, "Android import produced a one-label wildcard '%s'", h.pattern);
		FUZZ_CHECK(h.pin_count > 0, "rule '%s' without pins (Android would not pin it)", h.pattern);
		FUZZ_CHECK(h.mode == CERTPIN_MODE_ENFORCE, "rule '%s' not enforced", h.pattern);
		FUZZ_CHECK(h.expires == 0 || (h.on_expiry == CERTPIN_EXPIRY_FAIL_OPEN && h.expires % DAY == 0),
			"rule '%s': expiry %lld / %d is not Android's", h.pattern, (long long)h.expires, (int)h.on_expiry);
		for (size_t k = 0; k < h.pin_count; k++) {
			certpin_pin pin;
			certpin_position pos;
			FUZZ_CHECK(certpin_policy_host_pin(&pin, &pos, p, i, k) == CERTPIN_OK &&
					pin.kind == CERTPIN_PIN_SPKI_SHA256 && pos == CERTPIN_POS_ANY,
				"rule '%s' pin %zu is not an SPKI pin at any position", h.pattern, k);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_policy *p = NULL, *q = NULL;
	char *warn = (char *)"unset", *json = NULL;
	certpin_error err;
	int rc;

	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	rc = certpin_policy_import_data_ex(p, (const char *)data, size, CERTPIN_IMPORT_ANDROID_NSC, NULL, "fuzz", &warn, &err);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_POLICY || rc == CERTPIN_E_NOMEM, "import returned %d", rc);
		FUZZ_CHECK(certpin_policy_host_count(p) == 0, "failed import left %zu rules", certpin_policy_host_count(p));
		FUZZ_CHECK(err.code == rc && err.message[0] != '\0', "failed import without an error detail");
		FUZZ_CHECK(warn == NULL, "failed import returned warnings");
		certpin_policy_free(p);
		return 0;
	}
	free(warn);
	check_rules(p);

	/* JSON round trip */
	FUZZ_CHECK(certpin_policy_to_json(&json, p) == CERTPIN_OK, "to_json failed");
	rc = certpin_policy_load_data(&q, json, strlen(json), "json", NULL, &err);
	FUZZ_CHECK(rc == CERTPIN_OK, "imported policy does not reload as JSON: %s\n%s", err.message, json);
	same_policy(p, q, "json");
	certpin_policy_free(q);
	free(json);

	/* every export succeeds or refuses with a reason */
	for (int f = CERTPIN_EXPORT_ANDROID; f <= CERTPIN_EXPORT_TLSA; f++) {
		char *out = NULL, *w = NULL, *xerr = NULL;
		certpin_export_options o = CERTPIN_EXPORT_OPTIONS_INIT;
		o.now = 1700000000;
		rc = certpin_policy_export_ex(&out, &w, &xerr, p, (certpin_export_format)f, &o);
		FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_UNSUPPORTED || rc == CERTPIN_E_NOMEM,
			"export %d returned %d", f, rc);
		FUZZ_CHECK(rc == CERTPIN_OK ? out != NULL && xerr == NULL : out == NULL && w == NULL && xerr != NULL,
			"export %d: inconsistent outputs for %d", f, rc);
		if (rc == CERTPIN_OK && f == CERTPIN_EXPORT_ANDROID) {
			/* Android -> certpin -> Android -> certpin: nothing lost */
			if (certpin_policy_new(&q) != CERTPIN_OK)
				abort();
			rc = certpin_policy_import_data(q, out, strlen(out), CERTPIN_IMPORT_ANDROID_NSC, NULL, "export", &err);
			FUZZ_CHECK(rc == CERTPIN_OK, "exported XML does not import: %s\n%s", err.message, out);
			same_policy(p, q, "android round trip");
			certpin_policy_free(q);
		}
		free(out);
		free(w);
		free(xerr);
	}
	certpin_policy_free(p);
	return 0;
}
