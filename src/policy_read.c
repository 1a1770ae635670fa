/*
 * Read-only helpers the tools build on (certpin.h): pattern normalization
 * and the engine's per-element pin match.  Each is a thin view of the
 * matcher and the engine, kept apart from hostmatch.c and verify.c so that
 * both can change without the tools noticing.
 */
#include "internal.h"

int certpin_pattern_normalize(char *out, size_t outlen, const char *pattern, int include_subdomains)
{
	char base[CERTPIN_HOSTNAME_MAX];
	int wild, is_ip, rc, n;

	if (!out || outlen == 0)
		return CERTPIN_E_INVALID_ARG;
	out[0] = '\0';
	rc = certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, pattern, include_subdomains);
	if (rc != CERTPIN_OK)
		return rc;
	n = snprintf(out, outlen, "%s%s", wild == WILD_ANY ? "**." : wild == WILD_ONE ? "*." : "", base);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return CERTPIN_E_INVALID_ARG;
	}
	return CERTPIN_OK;
}

int certpin_pin_matches(const certpin_pin *pin, certpin_position position, const certpin_chain_elem *chain,
	size_t n, size_t depth)
{
	if (!pin || !chain || depth >= n)
		return 0;
	return certpin__position_ok(position, depth, n) && certpin__elem_matches(&chain[depth], pin);
}
