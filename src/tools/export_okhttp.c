/*
 * Export OkHttp CertificatePinner code, after checking that OkHttp's union of
 * matching patterns accepts no more than the policy.  See OVERLAPPING RULES
 * in certpin/tools.h.
 */
#include "export_internal.h"

/*
 * OkHttp accepts at a host the pins of EVERY pattern that matches it; certpin
 * only those of the most specific rule.  The export is as strict as the
 * policy only where each wider pattern's public-key pins (the ones written)
 * are all among the most specific rule's.  Positions and modes do not change
 * that: OkHttp matches every pin at any position and enforces every rule,
 * which the per-rule warnings already say, with or without an overlap.
 */

/* The public-key pins of `g` that `s` lacks. */
static size_t pins_missing(const rule *g, const rule *s)
{
	size_t n = 0;

	for (size_t k = 0; k < g->h.pin_count; k++) {
		bool found = false;
		if (g->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		for (size_t j = 0; j < s->h.pin_count && !found; j++)
			found = certpin_pin_equal(&s->pins[j], &g->pins[k]);
		n += !found;
	}
	return n;
}

/* The rule of exactly the pattern `prefix` + the `len` bytes at `name` ("*." and "**." prefixes), or -1. */
static long find_pattern(const certpin_policy *p, const char *prefix, const char *name, size_t len)
{
	char pattern[CERTPIN_PATTERN_MAX];
	size_t idx;

	if (len >= CERTPIN_HOSTNAME_MAX)
		return -1;
	snprintf(pattern, sizeof(pattern), "%s%.*s", prefix, (int)len, name);
	return certpin_policy_find(&idx, p, pattern) == CERTPIN_OK ? (long)idx : -1;
}

/*
 * The rules OkHttp applies to a host, certpin's choice (the most specific)
 * first: `depth` 0 is the host `name` itself, 1 a host one label below it,
 * 2 one at least two labels below (hosts that name no rule themselves).
 * Every host has the rules of one of these for some rule's name: that of
 * its longest suffix (itself included) that is a rule's name.
 */
static size_t okhttp_matches(long *found, const certpin_policy *p, const char *name, int depth)
{
	size_t len = strlen(name), n = 0;
	const char *dot = strchr(name, '.');
	long idx;

	if (depth == 0 && (idx = find_pattern(p, "", name, len)) >= 0)
		found[n++] = idx;
	if (depth == 1 && (idx = find_pattern(p, "*.", name, len)) >= 0)
		found[n++] = idx;
	if ((idx = find_pattern(p, "**.", name, len)) >= 0)
		found[n++] = idx;
	if (depth == 0 && dot && (idx = find_pattern(p, "*.", dot + 1, len - (size_t)(dot + 1 - name))) >= 0)
		found[n++] = idx;
	for (const char *s = dot; s; s = strchr(s + 1, '.'))
		if ((idx = find_pattern(p, "**.", s + 1, len - (size_t)(s + 1 - name))) >= 0)
			found[n++] = idx;
	return n;
}

/* Pairs of rules (specific, wider) already warned about. */
typedef struct overlap_seen {
	size_t (*pair)[2];
	size_t n, cap;
} overlap_seen;

/* Record the pair; false if it was recorded before (or memory ran out: E->warn notes that). */
static bool overlap_first(exporter *E, overlap_seen *seen, size_t s, size_t g)
{
	for (size_t k = 0; k < seen->n; k++)
		if (seen->pair[k][0] == s && seen->pair[k][1] == g)
			return false;
	if (seen->n == seen->cap) {
		size_t ncap = seen->cap ? seen->cap * 2 : 8;
		size_t (*np)[2] = realloc(seen->pair, ncap * sizeof(*np));
		if (!np) {
			E->warn.nomem = true;
			return false;
		}
		seen->pair = np;
		seen->cap = ncap;
	}
	seen->pair[seen->n][0] = s;
	seen->pair[seen->n++][1] = g;
	return true;
}

/* Refuse (or, if allowed, warn about) the overlaps of rules s and g at one kind of host. */
static int okhttp_overlap(exporter *E, overlap_seen *seen, const rule *s, const rule *g, const char *host)
{
	size_t extra = pins_missing(g, s);

	if (!extra)
		return CERTPIN_OK;
	if (!E->o.insecure_allow_union)
		return refuse(E, "rules '%s' and '%s' both match host %s, where OkHttp accepts the pins of both "
			"(%zu more than certpin, which uses '%s' alone): add the pins of '%s' to '%s' in the policy, "
			"or export anyway with --force", s->h.pattern, g->h.pattern, host, extra, s->h.pattern,
			g->h.pattern, s->h.pattern);
	if (overlap_first(E, seen, s->index, g->index))
		W(E, "%s: also matched by rule '%s' (e.g. host %s); OkHttp accepts there the pins of every "
			"matching pattern, %zu more than certpin, which uses only the most specific rule's",
			s->h.pattern, g->h.pattern, host, extra);
	return CERTPIN_OK;
}

/* The overlaps at one kind of host (see okhttp_matches()). */
static int okhttp_overlaps_at(exporter *E, overlap_seen *seen, const char *name, int depth)
{
	static const char *const below[] = { "", "x.", "x.y." };
	long found[CERTPIN_HOSTNAME_MAX];
	char host[CERTPIN_HOSTNAME_MAX + 8];
	size_t n = okhttp_matches(found, E->p, name, depth);
	rule s, g;
	int rc;

	if (n < 2)
		return CERTPIN_OK;
	snprintf(host, sizeof(host), "%s%s", below[depth], name);
	if ((rc = certpin_tools__rule_get(E, &s, (size_t)found[0])) != CERTPIN_OK) {
		certpin_tools__rule_free(&s);
		return rc;
	}
	for (size_t k = 1; k < n && rc == CERTPIN_OK; k++) {
		if ((rc = certpin_tools__rule_get(E, &g, (size_t)found[k])) == CERTPIN_OK)
			rc = okhttp_overlap(E, seen, &s, &g, host);
		certpin_tools__rule_free(&g);
	}
	certpin_tools__rule_free(&s);
	return rc;
}

/*
 * Check every kind of host once: each name that some rule has (for the
 * first rule with it), at depths 0-2 where such a host fits in 253
 * characters.
 */
int certpin_tools__okhttp_overlaps(exporter *E)
{
	static const char *const prefix[] = { "", "*.", "**." };
	size_t nrules = certpin_policy_host_count(E->p);
	overlap_seen seen = { 0 };
	int rc = CERTPIN_OK;

	for (size_t i = 0; i < nrules && rc == CERTPIN_OK; i++) {
		certpin_host_info h;
		if ((rc = certpin_policy_host(&h, E->p, i)) != CERTPIN_OK)
			break;
		size_t len = strlen(h.name);
		bool first = !h.is_ip;
		for (size_t w = 0; w < TOOLS_ARRAY_LEN(prefix) && first; w++) {
			long idx = find_pattern(E->p, prefix[w], h.name, len);
			first = idx < 0 || (size_t)idx >= i;
		}
		for (int depth = 0; first && depth <= 2 && len + 2 * (size_t)depth <= 253 && rc == CERTPIN_OK; depth++)
			rc = okhttp_overlaps_at(E, &seen, h.name, depth);
	}
	free(seen.pair);
	return rc;
}

int certpin_tools__export_okhttp(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	int rc;

	if ((rc = certpin_tools__check_spki_only(E, r)))
		return rc;
	certpin_tools__warn_positions(E, r);
	certpin_tools__warn_report_only(E, r);
	certpin_tools__warn_no_expiry(E, r);
	P(E, "    .add(\"%s\"", r->h.pattern);
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		if (certpin_pin_format(pin, sizeof(pin), &r->pins[k], CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		P(E, ", \"%s\"", pin);
	}
	P(E, ")\n");
	return CERTPIN_OK;
}

