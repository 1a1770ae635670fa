/*
 * fuzz_import_pins: certpin_policy_import_data() on arbitrary pin lists
 * (curl strings, "host pin" lines, OkHttp Kotlin/Java source), with and
 * without a default host.
 *
 * Properties:
 *   - a failed import returns CERTPIN_E_POLICY or CERTPIN_E_NOMEM, makes no
 *     policy, gives an error detail and no warnings;
 *   - without a default host, no rule is invented: every rule's pattern
 *     occurs in the input (case-insensitively, before normalization);
 *   - with a default host, a success never has fewer rules than without;
 *   - every rule has pins, each digest once, at position any (leaf for
 *     curl's "sha256//" form), enforced, without expiry;
 *   - an OkHttp export, imported again, gives the same patterns and SPKI
 *     pins, in order, plus pins merged from wider patterns (OkHttp's union).
 */
#include "fuzz_common.h"
#include "certpin/tools.h"

#include <strings.h>

static int mentions(const uint8_t *data, size_t size, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; n && i + n <= size; i++)
		if (strncasecmp((const char *)data + i, name, n) == 0)
			return 1;
	return 0;
}

static void count_warning(const certpin_error *w, void *payload)
{
	FUZZ_CHECK(w->code == CERTPIN_OK && w->message[0] != '\0', "warning with code %d or without text", w->code);
	(*(int *)payload)++;
}

static certpin_policy *import(const uint8_t *data, size_t size, const char *host, int *rc)
{
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_error err;
	int nwarn = 0;

	o.format = CERTPIN_IMPORT_PIN_LIST;
	o.default_host = host;
	o.name = "fuzz";
	o.on_warning = count_warning;
	o.payload = &nwarn;
	*rc = certpin_policy_import_data(&p, (const char *)data, size, &o, &err);
	FUZZ_CHECK(err.code == *rc, "err.code %d, returned %d", err.code, *rc);
	if (*rc != CERTPIN_OK) {
		FUZZ_CHECK(*rc == CERTPIN_E_POLICY || *rc == CERTPIN_E_NOMEM, "import returned %d", *rc);
		FUZZ_CHECK(p == NULL, "failed import made a policy");
		FUZZ_CHECK(err.message[0] != '\0', "failed import without an error detail");
		FUZZ_CHECK(nwarn == 0, "failed import returned warnings");
	}
	return p;
}

static void check_rules(const certpin_policy *p, const uint8_t *data, size_t size, int with_default)
{
	for (size_t i = 0; i < certpin_policy_host_count(p); i++) {
		certpin_host_info h;
		FUZZ_CHECK(certpin_policy_host(&h, p, i) == CERTPIN_OK, "rule %zu unreadable", i);
		FUZZ_CHECK(h.pin_count > 0 && h.mode == CERTPIN_MODE_ENFORCE && h.expires == 0,
			"rule '%s' has %zu pins, mode %d, expiry %lld", h.pattern, h.pin_count, (int)h.mode,
			(long long)h.expires);
		if (!with_default && !h.is_ip)
			FUZZ_CHECK(mentions(data, size, h.name), "rule '%s' does not come from the input", h.pattern);
		for (size_t k = 0; k < h.pin_count; k++) {
			certpin_position pos;
			certpin_pin pin;
			FUZZ_CHECK(certpin_policy_host_pin(&pin, &pos, p, i, k) == CERTPIN_OK &&
				(pos == CERTPIN_POS_ANY || pos == CERTPIN_POS_LEAF),
				"rule '%s' pin %zu neither at position any nor leaf", h.pattern, k);
			for (size_t j = 0; j < k; j++) {
				certpin_pin other;
				FUZZ_CHECK(certpin_policy_host_pin(&other, NULL, p, i, j) == CERTPIN_OK &&
					!certpin_pin_equal(&other, &pin), "rule '%s' has pin %zu twice", h.pattern, k);
			}
		}
	}
}

static void okhttp_round_trip(const certpin_policy *p)
{
	char *out = NULL;
	certpin_policy *q = NULL;
	certpin_error err;
	int rc = certpin_policy_export(&out, p, CERTPIN_EXPORT_OKHTTP, NULL, &err);

	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_UNSUPPORTED || rc == CERTPIN_E_NOMEM, "okhttp export %d", rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(out == NULL && err.code == rc && err.message[0], "failed export: output or no reason");
		return;
	}
	rc = certpin_policy_import_data(&q, out, strlen(out), NULL, &err);
	if (certpin_policy_host_count(p) == 0) {
		FUZZ_CHECK(rc == CERTPIN_E_POLICY, "empty OkHttp export imported: %d", rc);
	} else {
		FUZZ_CHECK(rc == CERTPIN_OK, "OkHttp export does not import: %s\n%s", err.message, out);
		FUZZ_CHECK(certpin_policy_host_count(q) == certpin_policy_host_count(p), "OkHttp round trip: rule count");
		for (size_t i = 0; i < certpin_policy_host_count(p); i++) {
			certpin_host_info a, b;
			size_t nspki = 0, kb = 0;
			FUZZ_CHECK(certpin_policy_host(&a, p, i) == CERTPIN_OK && certpin_policy_host(&b, q, i) == CERTPIN_OK &&
					strcmp(a.pattern, b.pattern) == 0, "OkHttp round trip: rule %zu pattern", i);
			for (size_t k = 0; k < a.pin_count; k++) {
				certpin_pin x, y;
				FUZZ_CHECK(certpin_policy_host_pin(&x, NULL, p, i, k) == CERTPIN_OK, "pin unreadable");
				if (x.kind != CERTPIN_PIN_SPKI_SHA256)
					continue;
				nspki++;
				FUZZ_CHECK(certpin_policy_host_pin(&y, NULL, q, i, kb++) == CERTPIN_OK && certpin_pin_equal(&x, &y),
					"OkHttp round trip: pin %zu of '%s'", k, a.pattern);
			}
			FUZZ_CHECK(b.pin_count >= nspki, "OkHttp round trip: '%s' has %zu pins, want at least %zu",
				a.pattern, b.pin_count, nspki);
		}
	}
	certpin_policy_free(q);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc1, rc2;
	certpin_policy *p = import(data, size, NULL, &rc1);
	certpin_policy *d = import(data, size, "default.example", &rc2);

	if (rc1 == CERTPIN_OK) {
		check_rules(p, data, size, 0);
		okhttp_round_trip(p);
		FUZZ_CHECK(rc2 == CERTPIN_OK && certpin_policy_host_count(d) >= certpin_policy_host_count(p),
			"a default host made a good list fail (%d) or lose rules", rc2);
	}
	if (rc2 == CERTPIN_OK)
		check_rules(d, data, size, 1);
	certpin_policy_free(p);
	certpin_policy_free(d);
	return 0;
}
