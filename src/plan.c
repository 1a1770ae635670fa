/*
 * The rotation planner: would every shipped policy still accept the planned
 * server state?  Each decision is certpin_verify()'s; this file only
 * classifies its results and writes the advice.
 */
#include "internal.h"

#include <time.h>

#define DAY 86400

typedef struct plan_advice {
	size_t *refused, nrefused;
	size_t *undecided, nundecided;
	certpin_pin *offered;
	size_t *offered_depth, noffered;
	size_t *holders, nholders;
	certpin_pin *keep;
	certpin_position *keep_position;
	size_t nkeep;
	char *text;
} plan_advice;

struct certpin_plan {
	size_t np, nh;
	char **names;
	char **hosts;
	certpin_plan_cell *cells;       /* np * nh, row-major by policy */
	plan_advice *advice;            /* nh */
	char **warnings;
	size_t nwarnings, capwarnings;
	char *text;
	certpin_plan_verdict verdict;
	certpin_pin_style style;
};

/* A growable string. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
} sbuf;

__attribute__((format(printf, 2, 3)))
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

/* Take the string (never NULL unless out of memory). */
static char *sb_take(sbuf *b)
{
	char *s;

	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (!b->s) {
		s = calloc(1, 1);
		return s;
	}
	s = b->s;
	b->s = NULL;
	return s;
}

const char *certpin_plan_outcome_name(certpin_plan_outcome outcome)
{
	switch (outcome) {
	case CERTPIN_PLAN_MATCH:
		return "match";
	case CERTPIN_PLAN_NOT_PINNED:
		return "not-pinned";
	case CERTPIN_PLAN_REPORT_ONLY:
		return "report-only";
	case CERTPIN_PLAN_EXPIRED_OPEN:
		return "expired-fail-open";
	case CERTPIN_PLAN_LOCKOUT:
		return "lockout";
	case CERTPIN_PLAN_EXPIRED_CLOSED:
		return "expired-fail-closed";
	case CERTPIN_PLAN_UNKNOWN:
		return "unknown";
	case CERTPIN_PLAN_INVALID:
		return "invalid";
	}
	return "none";
}

const char *certpin_plan_verdict_name(certpin_plan_verdict verdict)
{
	switch (verdict) {
	case CERTPIN_PLAN_SAFE:
		return "safe";
	case CERTPIN_PLAN_UNSAFE:
		return "unsafe";
	case CERTPIN_PLAN_UNDECIDED:
		return "undecided";
	}
	return "unknown";
}

static bool outcome_connects(certpin_plan_outcome o)
{
	return o == CERTPIN_PLAN_MATCH || o == CERTPIN_PLAN_NOT_PINNED || o == CERTPIN_PLAN_REPORT_ONLY ||
		o == CERTPIN_PLAN_EXPIRED_OPEN;
}

/*
 * After a mismatch: could a pin of the rule match one of the unknown
 * elements (flags 0)?  Asked of the engine: put each pin's digest into each
 * unknown element in turn and see whether certpin_verify() then accepts.
 */
static int could_match_unknown(bool *out, const certpin_policy *p, const char *host, const certpin_chain_elem *chain,
	size_t n, int64_t at, size_t rule)
{
	certpin_host_info h;
	certpin_chain_elem *copy;
	int rc;

	*out = false;
	if ((rc = certpin_policy_host(&h, p, rule)) != CERTPIN_OK)
		return rc;
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return CERTPIN_E_NOMEM;
	memcpy(copy, chain, n * sizeof(*copy));
	for (size_t u = 0; u < n && !*out; u++) {
		if (chain[u].flags != 0)
			continue;
		for (size_t k = 0; k < h.pin_count && !*out; k++) {
			certpin_pin pin;
			certpin_position pos;
			certpin_result res;

			if ((rc = certpin_policy_host_pin(&pin, &pos, p, rule, k)) != CERTPIN_OK)
				goto out;
			memset(&copy[u], 0, sizeof(copy[u]));
			if (pin.kind == CERTPIN_PIN_SPKI_SHA256) {
				copy[u].flags = CERTPIN_HAVE_SPKI;
				memcpy(copy[u].spki_sha256, pin.digest, CERTPIN_DIGEST_LEN);
			} else {
				copy[u].flags = CERTPIN_HAVE_CERT;
				memcpy(copy[u].cert_sha256, pin.digest, CERTPIN_DIGEST_LEN);
			}
			if (certpin_verify(&res, p, host, copy, n, at) == CERTPIN_OK &&
					res.verdict == CERTPIN_VERDICT_MATCH && res.depth == (int)u)
				*out = true;
			copy[u] = chain[u];
		}
	}
	rc = CERTPIN_OK;
out:
	free(copy);
	return rc;
}

/* One engine call, classified. */
static int decide(certpin_plan_outcome *outcome, certpin_result *res, int *engine_rc, const certpin_policy *p,
	const char *host, const certpin_chain_elem *chain, size_t n, int64_t at)
{
	int rc = certpin_verify(res, p, host, chain, n, at);
	bool unknown;

	if (engine_rc)
		*engine_rc = rc;
	if (rc == CERTPIN_E_HOSTNAME || rc == CERTPIN_E_INVALID_ARG) {
		*outcome = CERTPIN_PLAN_INVALID;
		return CERTPIN_OK;
	}
	switch (res->verdict) {
	case CERTPIN_VERDICT_NOT_PINNED:
		*outcome = CERTPIN_PLAN_NOT_PINNED;
		return CERTPIN_OK;
	case CERTPIN_VERDICT_MATCH:
		*outcome = CERTPIN_PLAN_MATCH;
		return CERTPIN_OK;
	case CERTPIN_VERDICT_PINSET_EXPIRED: {
		certpin_host_info h;

		if (!res->allowed) {
			*outcome = CERTPIN_PLAN_EXPIRED_CLOSED;
			return CERTPIN_OK;
		}
		/* allowed: fail-open, or a fail-closed rule that is only report-only */
		if ((rc = certpin_policy_host(&h, p, (size_t)res->rule)) != CERTPIN_OK)
			return rc;
		*outcome = h.on_expiry == CERTPIN_EXPIRY_FAIL_OPEN ? CERTPIN_PLAN_EXPIRED_OPEN : CERTPIN_PLAN_REPORT_ONLY;
		return CERTPIN_OK;
	}
	case CERTPIN_VERDICT_MISMATCH:
		if (res->allowed) {
			*outcome = CERTPIN_PLAN_REPORT_ONLY;
			return CERTPIN_OK;
		}
		if (n == 0) {
			*outcome = CERTPIN_PLAN_UNKNOWN;
			return CERTPIN_OK;
		}
		rc = could_match_unknown(&unknown, p, host, chain, n, at, (size_t)res->rule);
		if (rc != CERTPIN_OK)
			return rc;
		*outcome = unknown ? CERTPIN_PLAN_UNKNOWN : CERTPIN_PLAN_LOCKOUT;
		return CERTPIN_OK;
	}
	*outcome = CERTPIN_PLAN_INVALID;
	return CERTPIN_OK;
}

__attribute__((format(printf, 2, 3)))
static int add_warning(certpin_plan *pl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	char *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pl->nwarnings == pl->capwarnings) {
		size_t cap = pl->capwarnings ? pl->capwarnings * 2 : 8;
		char **nw = realloc(pl->warnings, cap * sizeof(*nw));

		if (!nw)
			return CERTPIN_E_NOMEM;
		pl->warnings = nw;
		pl->capwarnings = cap;
	}
	s = strdup(msg);
	if (!s)
		return CERTPIN_E_NOMEM;
	pl->warnings[pl->nwarnings++] = s;
	return CERTPIN_OK;
}

static void pin_str(const certpin_plan *pl, char out[CERTPIN_PIN_STRLEN], const certpin_pin *pin)
{
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, pl->style) == CERTPIN_OK)
		return;
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
		snprintf(out, CERTPIN_PIN_STRLEN, "(pin)");
}

static const char *depth_word(size_t depth, size_t n)
{
	if (depth == 0)
		return "new leaf key";
	return depth + 1 == n ? "root key" : "intermediate key";
}

static void sb_names(sbuf *b, const certpin_plan *pl, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s%s", i ? ", " : "", pl->names[idx[i]]);
}

static int evaluate_cell(certpin_plan *pl, const certpin_policy *p, size_t pi, const certpin_plan_host *h, size_t hi,
	int64_t at, int64_t window)
{
	certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];
	certpin_host_info info;
	int rc;

	memset(c, 0, sizeof(*c));
	c->version = CERTPIN_PLAN_CELL_VERSION;
	c->matched_position = CERTPIN_POS_ANY;
	rc = decide(&c->outcome, &c->result, &c->engine_rc, p, h->hostname, h->chain, h->n, at);
	if (rc != CERTPIN_OK)
		return rc;
	c->connects = outcome_connects(c->outcome);
	if (c->result.rule < 0)
		return CERTPIN_OK;
	if ((rc = certpin_policy_host(&info, p, (size_t)c->result.rule)) != CERTPIN_OK)
		return rc;
	if (c->result.pin >= 0 &&
			(rc = certpin_policy_host_pin(&c->matched, &c->matched_position, p, (size_t)c->result.rule,
				(size_t)c->result.pin)) != CERTPIN_OK)
		return rc;
	c->on_expiry = info.on_expiry;
	if (info.expires == 0)
		return CERTPIN_OK;
	c->expires = info.expires + (int64_t)info.clock_skew;
	c->expiring_soon = c->expires >= at && c->expires - at <= window;
	if (c->expires >= at) {
		certpin_result after;

		rc = decide(&c->after_expiry, &after, NULL, p, h->hostname, h->chain, h->n, c->expires + 1);
		if (rc != CERTPIN_OK)
			return rc;
	} else {
		c->after_expiry = c->outcome;
	}
	return CERTPIN_OK;
}

/* Warnings for one cell: expiring pinsets and connections that work only by grace. */
static int cell_warnings(certpin_plan *pl, size_t pi, size_t hi, int64_t at)
{
	const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];
	const char *name = pl->names[pi], *host = pl->hosts[hi];
	char date[32];

	if (c->outcome == CERTPIN_PLAN_REPORT_ONLY)
		return add_warning(pl, "%s: %s: no pin matches the planned chain; connections work only because "
			"the rule is report-only (each one reports a pin failure)", name, host);
	if (c->outcome == CERTPIN_PLAN_EXPIRED_OPEN) {
		certpin__format_time(date, sizeof(date), c->expires);
		return add_warning(pl, "%s: %s: pinset expired on %s; connects without pin checks (fail-open)",
			name, host, date);
	}
	if (!c->expiring_soon)
		return CERTPIN_OK;
	certpin__format_time(date, sizeof(date), c->expires);
	long long days = (long long)((c->expires - at) / DAY);
	switch (c->after_expiry) {
	case CERTPIN_PLAN_EXPIRED_CLOSED:
		return add_warning(pl, "%s: %s: pinset expires on %s (in %lld day(s)) with on_expiry fail-closed: "
			"from then on this version is locked out whatever the server does (fail-closed lockout); "
			"ship a version with a later expiry and retire %s before then", name, host, date, days, name);
	case CERTPIN_PLAN_EXPIRED_OPEN:
		return add_warning(pl, "%s: %s: pinset expires on %s (in %lld day(s)): from then on pins are "
			"not enforced (fail-open soon)", name, host, date, days);
	default:
		return add_warning(pl, "%s: %s: pinset expires on %s (in %lld day(s)); pins stay enforced after "
			"that (on_expiry keep): after expiry the outcome is %s", name, host, date, days,
			certpin_plan_outcome_name(c->after_expiry));
	}
}

static bool pin_in_list(const certpin_pin *pin, const certpin_pin *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (certpin_pin_equal(pin, &list[i]))
			return true;
	return false;
}

/* Does the rule applied to `host` in `p` contain `pin`? */
static int rule_has_pin(bool *out, const certpin_policy *p, const char *host, const certpin_pin *pin)
{
	size_t rule;
	certpin_host_info h;
	int rc;

	*out = false;
	if (certpin_policy_lookup(&rule, p, host) != CERTPIN_OK)
		return CERTPIN_OK;
	if ((rc = certpin_policy_host(&h, p, rule)) != CERTPIN_OK)
		return rc;
	for (size_t k = 0; k < h.pin_count && !*out; k++) {
		certpin_pin q;
		certpin_position pos;

		if ((rc = certpin_policy_host_pin(&q, &pos, p, rule, k)) != CERTPIN_OK)
			return rc;
		if (certpin_pin_equal(&q, pin))
			*out = true;
	}
	return CERTPIN_OK;
}

static int build_advice(certpin_plan *pl, const certpin_policy *const *policies, const certpin_plan_host *h,
	size_t hi)
{
	plan_advice *a = &pl->advice[hi];
	const char *host = pl->hosts[hi];
	size_t *lockout = NULL, nlockout = 0, *closed = NULL, nclosed = 0, *invalid = NULL, ninvalid = 0;
	sbuf b = { 0 };
	char s[CERTPIN_PIN_STRLEN];
	int rc = CERTPIN_E_NOMEM;

	a->refused = calloc(pl->np, sizeof(size_t));
	a->undecided = calloc(pl->np, sizeof(size_t));
	a->holders = calloc(pl->np, sizeof(size_t));
	lockout = calloc(pl->np, sizeof(size_t));
	closed = calloc(pl->np, sizeof(size_t));
	invalid = calloc(pl->np, sizeof(size_t));
	if (h->n) {
		a->offered = calloc(h->n, sizeof(*a->offered));
		a->offered_depth = calloc(h->n, sizeof(size_t));
	}
	if (!a->refused || !a->undecided || !a->holders || !lockout || !closed || !invalid ||
			(h->n && (!a->offered || !a->offered_depth)))
		goto out;

	for (size_t pi = 0; pi < pl->np; pi++) {
		const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];

		if (c->outcome == CERTPIN_PLAN_UNKNOWN)
			a->undecided[a->nundecided++] = pi;
		if (c->connects || c->outcome == CERTPIN_PLAN_UNKNOWN)
			continue;
		a->refused[a->nrefused++] = pi;
		if (c->outcome == CERTPIN_PLAN_LOCKOUT)
			lockout[nlockout++] = pi;
		else if (c->outcome == CERTPIN_PLAN_EXPIRED_CLOSED)
			closed[nclosed++] = pi;
		else
			invalid[ninvalid++] = pi;
	}
	for (size_t i = 0; i < h->n; i++) {
		if (!(h->chain[i].flags & CERTPIN_HAVE_SPKI))
			continue;
		a->offered[a->noffered].kind = CERTPIN_PIN_SPKI_SHA256;
		memcpy(a->offered[a->noffered].digest, h->chain[i].spki_sha256, CERTPIN_DIGEST_LEN);
		a->offered_depth[a->noffered++] = i;
	}
	if (a->noffered) {
		for (size_t pi = 0; pi < pl->np; pi++) {
			bool has;

			if ((rc = rule_has_pin(&has, policies[pi], host, &a->offered[0])) != CERTPIN_OK)
				goto out;
			if (has)
				a->holders[a->nholders++] = pi;
		}
	}

	/* Pins every locked-out version accepts: keeping one of them in the chain avoids the lockout. */
	if (nlockout) {
		const certpin_plan_cell *c0 = &pl->cells[lockout[0] * pl->nh + hi];
		certpin_host_info info;

		if ((rc = certpin_policy_host(&info, policies[lockout[0]], (size_t)c0->result.rule)) != CERTPIN_OK)
			goto out;
		rc = CERTPIN_E_NOMEM;
		if (info.pin_count) {
			a->keep = calloc(info.pin_count, sizeof(*a->keep));
			a->keep_position = calloc(info.pin_count, sizeof(*a->keep_position));
			if (!a->keep || !a->keep_position)
				goto out;
		}
		for (size_t k = 0; k < info.pin_count; k++) {
			certpin_pin pin;
			certpin_position pos;
			bool all = true;

			if ((rc = certpin_policy_host_pin(&pin, &pos, policies[lockout[0]], (size_t)c0->result.rule, k)) !=
					CERTPIN_OK)
				goto out;
			if (pin_in_list(&pin, a->keep, a->nkeep))
				continue;
			for (size_t j = 1; j < nlockout && all; j++) {
				bool has;

				if ((rc = rule_has_pin(&has, policies[lockout[j]], host, &pin)) != CERTPIN_OK)
					goto out;
				all = has;
			}
			if (all) {
				a->keep[a->nkeep] = pin;
				a->keep_position[a->nkeep++] = pos;
			}
		}
	}

	if (nlockout) {
		sb_printf(&b, "%s: would lock out ", host);
		sb_names(&b, pl, lockout, nlockout);
		sb_printf(&b, ": none of their pins matches the planned chain\n");
		if (a->noffered) {
			pin_str(pl, s, &a->offered[0]);
			if (a->nholders) {
				sb_printf(&b, "  fix: ");
				sb_names(&b, pl, a->holders, a->nholders);
				sb_printf(&b, " already pin%s %s (%s); deploy only after ", a->nholders == 1 ? "s" : "", s,
					depth_word(a->offered_depth[0], h->n));
				sb_names(&b, pl, lockout, nlockout);
				sb_printf(&b, " %s retired (or force an upgrade)\n", nlockout == 1 ? "has" : "have");
			} else {
				sb_printf(&b, "  fix: first ship a version that pins %s (%s) as a backup pin", s,
					depth_word(a->offered_depth[0], h->n));
				for (size_t i = 1; i < a->noffered; i++) {
					pin_str(pl, s, &a->offered[i]);
					sb_printf(&b, "%s%s (%s)", i == 1 ? " [or " : ", or ", s,
						depth_word(a->offered_depth[i], h->n));
				}
				sb_printf(&b, "%s, then deploy only after ", a->noffered > 1 ? "]" : "");
				sb_names(&b, pl, lockout, nlockout);
				sb_printf(&b, " %s retired\n", nlockout == 1 ? "has" : "have");
			}
		}
		if (a->nkeep) {
			sb_printf(&b, "  or keep ");
			for (size_t i = 0; i < a->nkeep; i++) {
				const char *pre, *post = "";

				pin_str(pl, s, &a->keep[i]);
				if (a->keep[i].kind == CERTPIN_PIN_CERT_SHA256) {
					pre = "the pinned certificate ";
				} else if (a->keep_position[i] == CERTPIN_POS_LEAF) {
					pre = "the old leaf key ";
					post = " (renew the certificate with the same key)";
				} else if (a->keep_position[i] == CERTPIN_POS_INTERMEDIATE) {
					pre = "the old intermediate CA ";
					post = " in the chain";
				} else if (a->keep_position[i] == CERTPIN_POS_ROOT) {
					pre = "the old root CA ";
				} else {
					pre = "a certificate with the key ";
					post = " in the chain (the old key or CA)";
				}
				sb_printf(&b, "%s%s%s%s", i ? ", or " : "", pre, s, post);
			}
			sb_printf(&b, "; every locked-out version pins %s\n", a->nkeep == 1 ? "it" : "these");
		} else {
			/* no pin shared by all of them: name what each one would accept */
			sb_printf(&b, "  or keep, for each of them, a certificate it pins in the chain (no single pin is "
				"shared by all):");
			for (size_t j = 0; j < nlockout; j++) {
				const certpin_plan_cell *c = &pl->cells[lockout[j] * pl->nh + hi];
				const certpin_policy *p = policies[lockout[j]];
				certpin_host_info info;

				if ((rc = certpin_policy_host(&info, p, (size_t)c->result.rule)) != CERTPIN_OK)
					goto out;
				sb_printf(&b, "%s %s:", j ? ";" : "", pl->names[lockout[j]]);
				for (size_t k = 0; k < info.pin_count; k++) {
					certpin_pin pin;
					certpin_position pos;

					if ((rc = certpin_policy_host_pin(&pin, &pos, p, (size_t)c->result.rule, k)) != CERTPIN_OK)
						goto out;
					pin_str(pl, s, &pin);
					sb_printf(&b, "%s %s (%s)", k ? "," : "", s, certpin_position_name(pos));
				}
			}
			sb_printf(&b, "\n");
		}
	}
	if (nclosed) {
		sb_printf(&b, "%s: ", host);
		sb_names(&b, pl, closed, nclosed);
		sb_printf(&b, " refuse%s every connection: pinset expired with on_expiry fail-closed; no server "
			"change helps, only an app update\n", nclosed == 1 ? "s" : "");
	}
	if (ninvalid) {
		sb_printf(&b, "%s: invalid host name for ", host);
		sb_names(&b, pl, invalid, ninvalid);
		sb_printf(&b, "\n");
	}
	if (a->nundecided) {
		sb_printf(&b, "%s: cannot decide for ", host);
		sb_names(&b, pl, a->undecided, a->nundecided);
		sb_printf(&b, ": no pin matches the known part of the planned chain, but a pin could match an "
			"unknown certificate (give the complete planned chain)\n");
	}
	a->text = sb_take(&b);
	rc = a->text ? CERTPIN_OK : CERTPIN_E_NOMEM;
out:
	free(b.s);
	free(lockout);
	free(closed);
	free(invalid);
	return rc;
}

static int build_text(certpin_plan *pl)
{
	sbuf b = { 0 };
	bool *bad = calloc(pl->np ? pl->np : 1, sizeof(bool));
	size_t nbad = 0;

	if (!bad)
		return CERTPIN_E_NOMEM;
	for (size_t pi = 0; pi < pl->np; pi++) {
		for (size_t hi = 0; hi < pl->nh; hi++) {
			const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];
			bool counts = pl->verdict == CERTPIN_PLAN_UNSAFE ? !c->connects && c->outcome != CERTPIN_PLAN_UNKNOWN :
				c->outcome == CERTPIN_PLAN_UNKNOWN;

			if (counts && !bad[pi]) {
				bad[pi] = true;
				nbad++;
			}
		}
	}
	switch (pl->verdict) {
	case CERTPIN_PLAN_SAFE:
		sb_printf(&b, "safe to deploy: every version connects to every host\n");
		break;
	case CERTPIN_PLAN_UNSAFE:
		sb_printf(&b, "UNSAFE: would lock out version%s ", nbad == 1 ? "" : "s");
		break;
	case CERTPIN_PLAN_UNDECIDED:
		sb_printf(&b, "UNDECIDED: cannot prove version%s ", nbad == 1 ? "" : "s");
		break;
	}
	if (pl->verdict != CERTPIN_PLAN_SAFE) {
		size_t k = 0;

		for (size_t pi = 0; pi < pl->np; pi++)
			if (bad[pi])
				sb_printf(&b, "%s%s", k++ ? ", " : "", pl->names[pi]);
		sb_printf(&b, pl->verdict == CERTPIN_PLAN_UNDECIDED ? " would connect\n" : "\n");
	}
	for (size_t hi = 0; hi < pl->nh; hi++)
		sb_printf(&b, "%s", pl->advice[hi].text);
	for (size_t i = 0; i < pl->nwarnings; i++)
		sb_printf(&b, "warning: %s\n", pl->warnings[i]);
	free(bad);
	pl->text = sb_take(&b);
	return pl->text ? CERTPIN_OK : CERTPIN_E_NOMEM;
}

int certpin_plan_evaluate(certpin_plan **out, const certpin_policy *const *policies, const char *const *names,
	size_t npolicies, const certpin_plan_host *hosts, size_t nhosts, const certpin_plan_options *opts)
{
	certpin_plan_options o = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan *pl;
	int64_t window;
	int rc = CERTPIN_E_NOMEM;

	if (out)
		*out = NULL;
	if (!out || !policies || !hosts || npolicies == 0 || nhosts == 0)
		return CERTPIN_E_INVALID_ARG;
	if (npolicies > 100000 || nhosts > 100000)
		return CERTPIN_E_INVALID_ARG;
	if (opts) {
		if (opts->version != CERTPIN_PLAN_OPTIONS_VERSION)
			return CERTPIN_E_INVALID_ARG;
		o = *opts;
	}
	for (size_t i = 0; i < npolicies; i++)
		if (!policies[i])
			return CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < nhosts; i++)
		if (!hosts[i].hostname || (hosts[i].n && !hosts[i].chain))
			return CERTPIN_E_INVALID_ARG;
	if (o.at == 0)
		o.at = (int64_t)time(NULL);
	window = (int64_t)o.expiry_window_days * DAY;

	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return CERTPIN_E_NOMEM;
	pl->np = npolicies;
	pl->nh = nhosts;
	pl->style = o.style;
	pl->names = calloc(npolicies, sizeof(char *));
	pl->hosts = calloc(nhosts, sizeof(char *));
	pl->cells = calloc(npolicies * nhosts, sizeof(*pl->cells));
	pl->advice = calloc(nhosts, sizeof(*pl->advice));
	if (!pl->names || !pl->hosts || !pl->cells || !pl->advice)
		goto err;
	for (size_t i = 0; i < npolicies; i++) {
		char num[32];

		snprintf(num, sizeof(num), "#%zu", i + 1);
		pl->names[i] = strdup(names && names[i] ? names[i] : num);
		if (!pl->names[i])
			goto err;
	}
	for (size_t i = 0; i < nhosts; i++) {
		char norm[CERTPIN_HOSTNAME_MAX];

		pl->hosts[i] = strdup(certpin_hostname_normalize(norm, sizeof(norm), hosts[i].hostname) == CERTPIN_OK ?
			norm : hosts[i].hostname);
		if (!pl->hosts[i])
			goto err;
	}

	pl->verdict = CERTPIN_PLAN_SAFE;
	for (size_t pi = 0; pi < npolicies; pi++) {
		for (size_t hi = 0; hi < nhosts; hi++) {
			const certpin_plan_cell *c;

			if ((rc = evaluate_cell(pl, policies[pi], pi, &hosts[hi], hi, o.at, window)) != CERTPIN_OK)
				goto err;
			c = &pl->cells[pi * nhosts + hi];
			if (c->outcome == CERTPIN_PLAN_UNKNOWN) {
				if (pl->verdict == CERTPIN_PLAN_SAFE)
					pl->verdict = CERTPIN_PLAN_UNDECIDED;
			} else if (!c->connects) {
				pl->verdict = CERTPIN_PLAN_UNSAFE;
			}
			if ((rc = cell_warnings(pl, pi, hi, o.at)) != CERTPIN_OK)
				goto err;
		}
	}
	for (size_t hi = 0; hi < nhosts; hi++) {
		bool pinned = false;

		for (size_t pi = 0; pi < npolicies; pi++)
			if (pl->cells[pi * nhosts + hi].outcome != CERTPIN_PLAN_NOT_PINNED)
				pinned = true;
		if (!pinned && (rc = add_warning(pl, "%s: no version pins this host; the plan says nothing "
				"about pinning there (check the host name)", pl->hosts[hi])) != CERTPIN_OK)
			goto err;
		if ((rc = build_advice(pl, policies, &hosts[hi], hi)) != CERTPIN_OK)
			goto err;
	}
	if ((rc = build_text(pl)) != CERTPIN_OK)
		goto err;
	*out = pl;
	return CERTPIN_OK;
err:
	certpin_plan_free(pl);
	return rc;
}

certpin_plan_verdict certpin_plan_get_verdict(const certpin_plan *plan)
{
	return plan ? plan->verdict : CERTPIN_PLAN_UNSAFE;
}

size_t certpin_plan_policy_count(const certpin_plan *plan)
{
	return plan ? plan->np : 0;
}

size_t certpin_plan_host_count(const certpin_plan *plan)
{
	return plan ? plan->nh : 0;
}

const char *certpin_plan_policy_name(const certpin_plan *plan, size_t index)
{
	return plan && index < plan->np ? plan->names[index] : NULL;
}

const char *certpin_plan_host_name(const certpin_plan *plan, size_t index)
{
	return plan && index < plan->nh ? plan->hosts[index] : NULL;
}

const certpin_plan_cell *certpin_plan_get_cell(const certpin_plan *plan, size_t policy, size_t host)
{
	if (!plan || policy >= plan->np || host >= plan->nh)
		return NULL;
	return &plan->cells[policy * plan->nh + host];
}

int certpin_plan_get_advice(certpin_plan_advice *out, const certpin_plan *plan, size_t host)
{
	const plan_advice *a;

	if (!out || !plan || host >= plan->nh)
		return CERTPIN_E_INVALID_ARG;
	a = &plan->advice[host];
	memset(out, 0, sizeof(*out));
	out->version = CERTPIN_PLAN_ADVICE_VERSION;
	out->refused = a->refused;
	out->nrefused = a->nrefused;
	out->undecided = a->undecided;
	out->nundecided = a->nundecided;
	out->offered = a->offered;
	out->offered_depth = a->offered_depth;
	out->noffered = a->noffered;
	out->holders = a->holders;
	out->nholders = a->nholders;
	out->keep = a->keep;
	out->keep_position = a->keep_position;
	out->nkeep = a->nkeep;
	out->text = a->text ? a->text : "";
	return CERTPIN_OK;
}

const char *certpin_plan_text(const certpin_plan *plan)
{
	return plan && plan->text ? plan->text : "";
}

size_t certpin_plan_warning_count(const certpin_plan *plan)
{
	return plan ? plan->nwarnings : 0;
}

const char *certpin_plan_warning(const certpin_plan *plan, size_t index)
{
	return plan && index < plan->nwarnings ? plan->warnings[index] : NULL;
}

void certpin_plan_free(certpin_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; plan->names && i < plan->np; i++)
		free(plan->names[i]);
	for (size_t i = 0; plan->hosts && i < plan->nh; i++)
		free(plan->hosts[i]);
	for (size_t i = 0; plan->advice && i < plan->nh; i++) {
		plan_advice *a = &plan->advice[i];

		free(a->refused);
		free(a->undecided);
		free(a->offered);
		free(a->offered_depth);
		free(a->holders);
		free(a->keep);
		free(a->keep_position);
		free(a->text);
	}
	for (size_t i = 0; i < plan->nwarnings; i++)
		free(plan->warnings[i]);
	free(plan->warnings);
	free(plan->names);
	free(plan->hosts);
	free(plan->cells);
	free(plan->advice);
	free(plan->text);
	free(plan);
}
