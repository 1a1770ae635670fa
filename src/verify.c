/*
 * The decision engine: the names a TLS stack verified, the chain it
 * verified and the time -> verdict.  The only chain scan in certpin: every
 * adapter and every source of pins (policy rules, TOFU records) decides
 * here.  No TLS library types: an adapter hands the chain over as a
 * certpin__chain (chain.c).
 */
#include "internal.h"

#include <string.h>

bool certpin__position_ok(certpin_position want, size_t i, size_t n)
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

bool certpin__elem_matches(const certpin_chain_elem *e, const certpin_pin *pin)
{
	certpin__chain c;

	certpin__chain_init_given(&c, e, 1);
	const unsigned char *d = certpin__chain_digest(&c, 0, pin->kind);
	return d && memcmp(d, pin->digest, CERTPIN_DIGEST_LEN) == 0;
}

void certpin__pinent_set(certpin__pinent *e, const certpin_pin *pin, certpin_position position)
{
	memcpy(e->digest, pin->digest, CERTPIN_DIGEST_LEN);
	e->kind = (uint8_t)pin->kind;
	e->position = (uint8_t)position;
}

long certpin__scan(const certpin__pinent *pins, size_t npins, certpin__chain *c, bool leaf_only, size_t *depth)
{
	size_t limit = leaf_only ? 1 : c->n;

	for (size_t i = 0; i < limit && i < c->n; i++) {
		for (size_t k = 0; k < npins; k++) {
			const certpin__pinent *e = &pins[k];
			if (leaf_only && e->position != CERTPIN_POS_LEAF && e->position != CERTPIN_POS_ANY)
				continue; /* pin-only trust: only the handshake-proven leaf key counts */
			if (!certpin__position_ok((certpin_position)e->position, i, c->n))
				continue;
			const unsigned char *d = certpin__chain_digest(c, i, (certpin_pin_kind)e->kind);
			if (d && memcmp(d, e->digest, CERTPIN_DIGEST_LEN) == 0) {
				*depth = i;
				return (long)k;
			}
			if (c->failed)
				return -1;
		}
	}
	return -1;
}

/*
 * What the expiry of `rule`'s pinset decides at `now`: true if the pins do
 * not count (an expired pinset that fails open or closed), with the verdict
 * in `out` and the code in *rc.
 */
static bool expiry_decides(certpin_result *out, const certpin__rule *rule, int64_t now, bool leaf_only, int *rc)
{
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

int certpin__rule_decide(certpin_result *out, const certpin_policy *p, long ri, certpin__chain *c, int64_t now,
	bool leaf_only)
{
	const certpin__rule *rule = certpin__policy_rule(p, (size_t)ri);
	int rc;
	size_t depth = 0;

	out->rule = (int)ri;
	out->mode = (certpin_mode)rule->mode;
	bool decided = expiry_decides(out, rule, now, leaf_only, &rc);
	if (c->n == 0) {
		out->verdict = CERTPIN_VERDICT_MISMATCH;
		out->allowed = 0;
		return CERTPIN_E_CHAIN;
	}
	if (decided)
		return rc;
	long k = certpin__scan(certpin__rule_pins(p, rule), rule->npins, c, leaf_only, &depth);
	if (c->failed) {
		out->verdict = CERTPIN_VERDICT_MISMATCH;
		out->allowed = 0;
		return CERTPIN_E_CHAIN;
	}
	if (k >= 0) {
		out->verdict = CERTPIN_VERDICT_MATCH;
		out->allowed = 1;
		out->pin = (int)k;
		out->depth = (int)depth;
		return CERTPIN_OK;
	}
	bool report_only = rule->mode == CERTPIN_MODE_REPORT_ONLY && !leaf_only; /* see expiry_decides() */
	out->verdict = CERTPIN_VERDICT_MISMATCH;
	out->allowed = report_only;
	return report_only ? CERTPIN_OK : CERTPIN_E_PIN_MISMATCH;
}

bool certpin__check_add_name(certpin__check *chk, const char *name)
{
	if (chk->nnames == CERTPIN__NAMES_MAX || strnlen(name, CERTPIN_HOSTNAME_MAX + 1) > CERTPIN_HOSTNAME_MAX)
		return false;
	chk->names[chk->nnames++] = name;
	return true;
}

void certpin__result_init(certpin_result *r, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->version = CERTPIN_RESULT_VERSION;
	r->verdict = CERTPIN_VERDICT_NOT_PINNED;
	r->rule = r->pin = r->depth = -1;
	r->checked_at = now;
}

/* A rule to check: its index and the normalized name that led to it. */
typedef struct pinned {
	long rule;
	char name[CERTPIN_HOSTNAME_MAX];
} pinned;

/*
 * The distinct pinned rules of the names, the first name's first; -1 if a
 * name does not normalize.  out[0] also gets the first name when it is not
 * pinned (for the result's host name).
 */
static int pinned_rules(pinned *out, const certpin_policy *p, const certpin__check *chk)
{
	int n = 0, is_ip;
	char norm[CERTPIN_HOSTNAME_MAX];

	for (size_t i = 0; i < chk->nnames; i++) {
		if (certpin__host_normalize(norm, sizeof(norm), &is_ip, chk->names[i]) != CERTPIN_OK)
			return -1;
		size_t len = strlen(norm) + 1;
		if (i == 0)
			memcpy(out[0].name, norm, len);
		long r = certpin__policy_match(p, norm, is_ip);
		bool seen = r < 0;
		for (int k = 0; k < n && !seen; k++)
			seen = out[k].rule == r;
		if (seen)
			continue;
		out[n].rule = r;
		memcpy(out[n++].name, norm, len);
	}
	return n;
}

/* The decision of one pinned rule, with the failure callback. */
static int decide_rule(certpin_result *res, const certpin_policy *p, const certpin__check *chk, const pinned *pr)
{
	const certpin__rule *rule = certpin__policy_rule(p, (size_t)pr->rule);
	int rc;

	memcpy(res->hostname, pr->name, strlen(pr->name) + 1);
	if (!chk->pkix_ok) {
		res->rule = (int)pr->rule;
		res->mode = (certpin_mode)rule->mode;
		res->verdict = CERTPIN_VERDICT_MISMATCH; /* pinned, and no pin can be trusted on this chain */
		return CERTPIN_E_PKIX;
	}
	rc = certpin__rule_decide(res, p, pr->rule, chk->chain, chk->now, chk->pin_only);
	if (rc != CERTPIN_E_CHAIN && chk->on_failure &&
	    (res->verdict == CERTPIN_VERDICT_MISMATCH || res->verdict == CERTPIN_VERDICT_PINSET_EXPIRED)) {
		const certpin_chain_elem *all = certpin__chain_all(chk->chain);
		chk->on_failure(res, all, all ? chk->chain->n : 0, chk->payload);
	}
	return rc;
}

int certpin__decide(certpin_result *out, const certpin_policy *policy, const certpin__check *chk, bool *unpinned)
{
	pinned rules[CERTPIN__NAMES_MAX];
	int n, rc = CERTPIN_OK;

	certpin__result_init(out, chk->now);
	out->pkix_error = chk->pkix_ok ? 0 : chk->pkix_error;
	*unpinned = false;
	if (chk->nnames == 0) {
		if (policy->nrules == 0 && !chk->pin_only) {
			*unpinned = true; /* nothing is pinned: the stack's own verdict stands */
			out->allowed = chk->pkix_ok;
			return chk->pkix_ok ? CERTPIN_OK : CERTPIN_E_PKIX;
		}
		return CERTPIN_E_HOSTNAME; /* cannot tell which pins apply: refuse */
	}
	if ((n = pinned_rules(rules, policy, chk)) < 0)
		return CERTPIN_E_HOSTNAME;
	memcpy(out->hostname, rules[0].name, strlen(rules[0].name) + 1);
	if (n == 0) {
		if (chk->pin_only) {
			out->verdict = CERTPIN_VERDICT_MISMATCH;
			return CERTPIN_E_PIN_MISMATCH; /* nothing vouches for an unpinned host without PKIX */
		}
		*unpinned = true;
		out->allowed = chk->pkix_ok;
		return chk->pkix_ok ? CERTPIN_OK : CERTPIN_E_PKIX;
	}
	/* the first name's rule decides into `out`; another's refusal replaces it */
	rc = decide_rule(out, policy, chk, &rules[0]);
	for (int k = 1; k < n && rc == CERTPIN_OK && out->allowed; k++) {
		certpin_result other;
		certpin__result_init(&other, chk->now);
		other.pkix_error = out->pkix_error;
		int orc = decide_rule(&other, policy, chk, &rules[k]);
		if (orc != CERTPIN_OK || !other.allowed) {
			*out = other;
			rc = orc;
		}
	}
	return rc;
}

int certpin_verify(certpin_result *out, const certpin_policy *policy, const char *hostname,
	const certpin_chain_elem *chain, size_t n, int64_t now)
{
	certpin__chain c;
	int is_ip;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	certpin__result_init(out, now);
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
	certpin__chain_init_given(&c, chain, n);
	return certpin__rule_decide(out, policy, r, &c, now, false);
}
