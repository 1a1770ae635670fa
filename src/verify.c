/*
 * The decision engine: hostname + verified chain digests + time -> verdict.
 * No TLS library types here, so any TLS stack's adapter can feed it.
 */
#include "internal.h"

#include <string.h>

CERTPIN_HOT bool certpin__position_ok(certpin_position want, size_t i, size_t n)
{
	switch (want) {
	case CERTPIN_POS_ANY:
		return true;
	case CERTPIN_POS_LEAF:
		return i == 0;
	case CERTPIN_POS_INTERMEDIATE:
		return i > 0 && i + 1 < n;
	case CERTPIN_POS_ROOT:
		return i + 1 == n;
	}
	return false;
}

CERTPIN_HOT bool certpin__elem_matches(const certpin_chain_elem *e, const certpin_pin *pin)
{
	if (pin->kind == CERTPIN_PIN_SPKI_SHA256)
		return (e->flags & CERTPIN_HAVE_SPKI) && memcmp(e->spki_sha256, pin->digest, CERTPIN_DIGEST_LEN) == 0;
	if (pin->kind == CERTPIN_PIN_CERT_SHA256)
		return (e->flags & CERTPIN_HAVE_CERT) && memcmp(e->cert_sha256, pin->digest, CERTPIN_DIGEST_LEN) == 0;
	return false;
}

CERTPIN_HOT long certpin__rule_pin_at(const certpin__rule *rule, const certpin_chain_elem *chain, size_t i, size_t n,
	bool leaf_only)
{
	for (size_t k = 0; k < rule->npins; k++) {
		const certpin__pinent *e = &rule->pins[k];
		if (leaf_only && e->position != CERTPIN_POS_LEAF && e->position != CERTPIN_POS_ANY)
			continue; /* pin-only trust: only the handshake-proven leaf key counts */
		if (certpin__position_ok(e->position, i, n) && certpin__elem_matches(&chain[i], &e->pin))
			return (long)k;
	}
	return -1;
}

CERTPIN_HOT bool certpin__rule_expiry(certpin_result *out, const certpin__rule *rule, long rule_index, int64_t now,
	bool leaf_only, int *rc)
{
	out->rule = (int)rule_index;
	out->mode = rule->mode;
	out->expired = rule->expires && now > rule->expires + (int64_t)rule->clock_skew;
	if (!out->expired)
		return false;
	/*
	 * Pin-only trust has no PKIX behind it: the pin is the only thing that
	 * authenticates the server, so neither report-only nor an expired
	 * fail-open pinset may let an unmatched certificate through.
	 */
	if (rule->on_expiry == CERTPIN_EXPIRY_FAIL_CLOSED || (rule->on_expiry == CERTPIN_EXPIRY_FAIL_OPEN && !leaf_only)) {
		bool open = rule->on_expiry == CERTPIN_EXPIRY_FAIL_OPEN ||
			    (rule->mode == CERTPIN_MODE_REPORT_ONLY && !leaf_only);
		out->verdict = CERTPIN_VERDICT_PINSET_EXPIRED;
		out->allowed = open;
		*rc = open ? CERTPIN_OK : CERTPIN_E_PINSET_EXPIRED;
		return true;
	}
	/* CERTPIN_EXPIRY_KEEP, and fail-open with nothing to fall back on: pins stay in force */
	return false;
}

CERTPIN_HOT int certpin__rule_verdict(certpin_result *out, const certpin__rule *rule, long k, size_t i, bool leaf_only)
{
	if (k >= 0) {
		out->verdict = CERTPIN_VERDICT_MATCH;
		out->allowed = 1;
		out->pin = (int)k;
		out->depth = (int)i;
		return CERTPIN_OK;
	}
	bool report_only = rule->mode == CERTPIN_MODE_REPORT_ONLY && !leaf_only; /* see certpin__rule_expiry() */
	out->verdict = CERTPIN_VERDICT_MISMATCH;
	out->allowed = report_only;
	return report_only ? CERTPIN_OK : CERTPIN_E_PIN_MISMATCH;
}

CERTPIN_HOT int certpin__verify_rule(certpin_result *out, const certpin__rule *rule, long rule_index,
	const certpin_chain_elem *chain, size_t n, int64_t now, bool leaf_only)
{
	int rc;
	bool decided = certpin__rule_expiry(out, rule, rule_index, now, leaf_only, &rc);

	if (n == 0 || !chain) {
		out->verdict = CERTPIN_VERDICT_MISMATCH;
		out->allowed = 0;
		return CERTPIN_E_CHAIN;
	}
	if (decided)
		return rc;
	size_t limit = leaf_only ? 1 : n, i;
	long k = -1;
	for (i = 0; i < limit; i++)
		if ((k = certpin__rule_pin_at(rule, chain, i, n, leaf_only)) >= 0)
			break;
	return certpin__rule_verdict(out, rule, k, i, leaf_only);
}

int certpin_verify(certpin_result *out, const certpin_policy *policy, const char *hostname,
	const certpin_chain_elem *chain, size_t n, int64_t now)
{
	int is_ip;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	out->version = CERTPIN_RESULT_VERSION;
	out->verdict = CERTPIN_VERDICT_NOT_PINNED;
	out->rule = out->pin = out->depth = -1;
	out->checked_at = now;
	if (!policy)
		return CERTPIN_E_INVALID_ARG;
	if (certpin__host_normalize(out->hostname, sizeof(out->hostname), &is_ip, hostname) != CERTPIN_OK) {
		out->hostname[0] = '\0';
		return CERTPIN_E_HOSTNAME;
	}
	long r = certpin__policy_match(policy, out->hostname, is_ip);
	if (r < 0) {
		out->allowed = 1;
		return CERTPIN_OK;
	}
	return certpin__verify_rule(out, certpin__policy_rule(policy, (size_t)r), r, chain, n, now, false);
}
