/*
 * fuzz_import_xml: certpin_policy_import_data() on arbitrary Android
 * network_security_config.xml input.
 *
 * Properties:
 *   - a failed import returns CERTPIN_E_POLICY or CERTPIN_E_NOMEM, makes no
 *     policy and no trust anchors, sets an error detail, and delivers no
 *     warnings;
 *   - a successful import gives only exact or "**." rules with at least one
 *     SPKI pin, all at position any, mode enforce, fail-open expiry at a whole
 *     UTC day;
 *   - the policy serializes to JSON that reloads with the same rules;
 *   - every export format either succeeds or refuses with
 *     CERTPIN_E_UNSUPPORTED and a reason; never anything else;
 *   - an Android export, imported again, gives the same rules, pins, expiry and
 *     behaviour at expiry.
 */
#include "fuzz_common.h"
#include "certpin/tools.h"

#define DAY 86400

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

static void count_warning(const certpin_error *w, void *payload)
{
	FUZZ_CHECK(w->code == CERTPIN_OK && w->message[0] != '\0', "warning with code %d or without text", w->code);
	(*(int *)payload)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_import_options io = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_import_anchors *anchors = (certpin_import_anchors *)&io;
	certpin_policy *p = NULL, *q = NULL;
	certpin_error err;
	char *json = NULL;
	int rc, nwarn = 0;

	io.format = CERTPIN_IMPORT_ANDROID_NSC;
	io.name = "fuzz";
	io.on_warning = count_warning;
	io.payload = &nwarn;
	io.anchors = &anchors;
	rc = certpin_policy_import_data(&p, (const char *)data, size, &io, &err);
	FUZZ_CHECK(err.code == rc, "err.code %d, returned %d", err.code, rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_POLICY || rc == CERTPIN_E_NOMEM, "import returned %d", rc);
		FUZZ_CHECK(p == NULL, "failed import made a policy");
		FUZZ_CHECK(anchors == NULL, "failed import returned trust anchors");
		FUZZ_CHECK(err.message[0] != '\0', "failed import without an error detail");
		FUZZ_CHECK(nwarn == 0, "failed import returned warnings");
		return 0;
	}
	/* trust anchors, if any, are about hosts; asking for any name is safe */
	(void)certpin_import_anchors_for(anchors, p, "a.example");
	certpin_import_anchors_free(anchors);
	check_rules(p);

	/* JSON round trip */
	FUZZ_CHECK(certpin_policy_to_json(&json, p) == CERTPIN_OK, "to_json failed");
	rc = certpin_policy_load_data(&q, json, strlen(json), "json", NULL, &err);
	FUZZ_CHECK(rc == CERTPIN_OK, "imported policy does not reload as JSON: %s\n%s", err.message, json);
	fuzz_same_rules(p, q, "json");
	certpin_policy_free(q);
	free(json);

	/* every export succeeds or refuses with a reason */
	for (int f = CERTPIN_EXPORT_ANDROID; f <= CERTPIN_EXPORT_TLSA; f++) {
		char *out = NULL;
		certpin_export_options o = CERTPIN_EXPORT_OPTIONS_INIT;
		int nw = 0;
		o.now = 1700000000;
		o.on_warning = count_warning;
		o.payload = &nw;
		rc = certpin_policy_export(&out, p, (certpin_export_format)f, &o, &err);
		FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_UNSUPPORTED || rc == CERTPIN_E_NOMEM,
			"export %d returned %d", f, rc);
		FUZZ_CHECK(rc == CERTPIN_OK ? out != NULL && err.code == CERTPIN_OK :
			out == NULL && nw == 0 && err.code == rc && err.message[0] != '\0',
			"export %d: inconsistent outputs for %d", f, rc);
		if (rc == CERTPIN_OK && f == CERTPIN_EXPORT_ANDROID) {
			/* Android -> certpin -> Android -> certpin: nothing lost */
			certpin_import_options ro = CERTPIN_IMPORT_OPTIONS_INIT;
			ro.format = CERTPIN_IMPORT_ANDROID_NSC;
			ro.name = "export";
			rc = certpin_policy_import_data(&q, out, strlen(out), &ro, &err);
			FUZZ_CHECK(rc == CERTPIN_OK, "exported XML does not import: %s\n%s", err.message, out);
			fuzz_same_rules(p, q, "android round trip");
			certpin_policy_free(q);
		}
		free(out);
	}
	certpin_policy_free(p);
	return 0;
}
