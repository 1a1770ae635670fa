/*
 * fuzz_policy: certpin_policy_load_data() on arbitrary JSON.
 *
 * Properties:
 *   - a failed load leaves the policy empty (no rules, version 0) with an
 *     error detail;
 *   - a successful load serializes with certpin_policy_to_json(), that JSON
 *     loads into a fresh policy, and the second serialization is byte-identical
 *     to the first, with the same rules and pins;
 *   - loading into a non-empty policy is refused and leaves it intact;
 *   - lookups agree between the original and the reloaded policy, and every
 *     exact rule is found for its own name.
 */
#include "fuzz_common.h"

static const char *const probe_hosts[] = {
	"example.com", "api.example.com", "a.b.example.com", "www.example.org", "example.org.",
	"x.y", "192.0.2.1", "[2001:db8::1]", "2001:db8::1", "localhost", "EXAMPLE.COM", "*.example.com",
	"", "..", "a..b", "xn--bcher-kva.example",
};

static void same_rules(const certpin_policy *a, const certpin_policy *b)
{
	size_t n = certpin_policy_host_count(a);

	FUZZ_CHECK(n == certpin_policy_host_count(b), "reloaded policy has %zu rules, original %zu",
		certpin_policy_host_count(b), n);
	FUZZ_CHECK(certpin_policy_version(a) == certpin_policy_version(b), "policy_version changed on reload");
	for (size_t i = 0; i < n; i++) {
		certpin_host_info ha, hb;
		FUZZ_CHECK(certpin_policy_host(&ha, a, i) == CERTPIN_OK && certpin_policy_host(&hb, b, i) == CERTPIN_OK,
			"rule %zu not readable", i);
		FUZZ_CHECK(strcmp(ha.pattern, hb.pattern) == 0 && strcmp(ha.name, hb.name) == 0 &&
				ha.wildcard == hb.wildcard && ha.is_ip == hb.is_ip && ha.mode == hb.mode &&
				ha.expires == hb.expires && ha.clock_skew == hb.clock_skew &&
				ha.pin_count == hb.pin_count && (ha.expires == 0 || ha.on_expiry == hb.on_expiry),
			"rule %zu (%s) differs after reload (%s)", i, ha.pattern, hb.pattern);
		for (size_t k = 0; k < ha.pin_count; k++) {
			certpin_pin pa, pb;
			certpin_position qa, qb;
			FUZZ_CHECK(certpin_policy_host_pin(&pa, &qa, a, i, k) == CERTPIN_OK &&
					certpin_policy_host_pin(&pb, &qb, b, i, k) == CERTPIN_OK,
				"pin %zu of rule %zu not readable", k, i);
			FUZZ_CHECK(certpin_pin_equal(&pa, &pb) && qa == qb, "pin %zu of rule %zu differs after reload",
				k, i);
		}
	}
}

static void check_lookups(const certpin_policy *a, const certpin_policy *b)
{
	for (size_t i = 0; i < sizeof(probe_hosts) / sizeof(probe_hosts[0]); i++) {
		size_t ia = (size_t)-1, ib = (size_t)-1;
		int ra = certpin_policy_lookup(&ia, a, probe_hosts[i]);
		int rb = certpin_policy_lookup(&ib, b, probe_hosts[i]);
		FUZZ_CHECK(ra == rb && (ra != CERTPIN_OK || ia == ib), "lookup(%s): %d/%zu vs reloaded %d/%zu",
			probe_hosts[i], ra, ia, rb, ib);
		FUZZ_CHECK(ra == CERTPIN_OK || ra == CERTPIN_E_NOT_FOUND || ra == CERTPIN_E_HOSTNAME,
			"lookup(%s) returned %d", probe_hosts[i], ra);
		FUZZ_CHECK(ra != CERTPIN_OK || ia < certpin_policy_host_count(a), "lookup index out of range");
	}
	size_t n = certpin_policy_host_count(a);
	for (size_t i = 0; i < n && i < 64; i++) {
		certpin_host_info h;
		size_t idx;
		if (certpin_policy_host(&h, a, i) != CERTPIN_OK || h.wildcard != 0)
			continue;
		int rc = certpin_policy_lookup(&idx, a, h.name);
		FUZZ_CHECK(rc == CERTPIN_OK && idx == i, "exact rule %zu (%s) not found for its own name: %d/%zu",
			i, h.pattern, rc, idx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_policy *p = NULL, *q = NULL;
	char *json1 = NULL, *json2 = NULL;
	int rc;

	certpin_error err;
	rc = certpin_policy_load_data(&p, (const char *)data, size, "fuzz", NULL, &err);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_POLICY || rc == CERTPIN_E_NOMEM, "load returned %d", rc);
		FUZZ_CHECK(p == NULL, "failed load returned a policy");
		FUZZ_CHECK(err.code == rc && err.message[0] != '\0', "failed load without an error detail");
		return 0;
	}

	rc = certpin_policy_to_json(&json1, p);
	FUZZ_CHECK(rc == CERTPIN_OK && json1, "to_json failed: %d", rc);
	rc = certpin_policy_load_data(&q, json1, strlen(json1), "reload", NULL, &err);
	FUZZ_CHECK(rc == CERTPIN_OK, "serialized policy does not reload: %s\n--- serialized:\n%s", err.message, json1);
	rc = certpin_policy_to_json(&json2, q);
	FUZZ_CHECK(rc == CERTPIN_OK && json2, "second to_json failed: %d", rc);
	FUZZ_CHECK(strcmp(json1, json2) == 0, "serialization not stable:\n--- first:\n%s\n--- second:\n%s",
		json1, json2);
	same_rules(p, q);
	check_lookups(p, q);

	if (certpin_policy_host_count(p) > 0) {
		size_t before = certpin_policy_host_count(p);
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		o.pattern = "fuzz-added.example";
		rc = certpin_policy_add_host(p, &o, NULL);
		FUZZ_CHECK(rc == CERTPIN_E_STATE, "a change to a loaded (frozen) policy gave %d", rc);
		FUZZ_CHECK(certpin_policy_host_count(p) == before, "refused change changed the policy");
	}

	free(json1);
	free(json2);
	certpin_policy_free(p);
	certpin_policy_free(q);
	return 0;
}
