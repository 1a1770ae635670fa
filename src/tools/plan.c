/*
 * The rotation planner: would every shipped policy still accept the planned
 * server state?  Each decision is certpin_verify()'s; this file classifies
 * its results and composes the fix as data (certpin/tools.h): who is
 * refused, which backup pin to ship, which certificate to keep.  The words
 * are the front end's.
 */
#include "tools_internal.h"

#include <time.h>

typedef struct plan_advice {
	size_t *refused, nrefused;
	size_t *locked_out, nlocked_out;
	size_t *expired_closed, nexpired_closed;
	size_t *invalid, ninvalid;
	size_t *undecided, nundecided;
	certpin_pin *offered;
	size_t *offered_depth, noffered;
	size_t chain_length;
	size_t *holders, nholders;
	certpin_pin *keep;
	certpin_position *keep_position;
	size_t nkeep;
} plan_advice;

struct certpin_plan {
	size_t np, nh;
	char **names;
	char **hosts;
	certpin_plan_cell *cells;       /* np * nh, row-major by policy */
	plan_advice *advice;            /* nh */
	certpin_plan_warning *warnings;
	size_t nwarnings, capwarnings;
	certpin_plan_verdict verdict;
};

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


static int add_warning(certpin_plan *pl, certpin_plan_warning_kind kind, int policy, size_t host,
	const certpin_plan_cell *c, int64_t at)
{
	certpin_plan_warning *w = certpin_tools__grow(pl->warnings, &pl->capwarnings, pl->nwarnings + 1, sizeof(*w));

	if (!w)
		return CERTPIN_E_NOMEM;
	pl->warnings = w;
	w = &pl->warnings[pl->nwarnings++];
	memset(w, 0, sizeof(*w));
	w->version = CERTPIN_PLAN_WARNING_VERSION;
	w->kind = kind;
	w->policy = policy;
	w->host = host;
	if (c) {
		w->expires = c->expires;
		w->days = kind == CERTPIN_PLAN_WARN_EXPIRING ? (c->expires - at) / TOOLS_DAY : 0;
		w->after_expiry = kind == CERTPIN_PLAN_WARN_EXPIRING ? c->after_expiry : 0;
	}
	return CERTPIN_OK;
}

/* Warnings for one cell: expiring pinsets and connections that work only by grace. */
static int cell_warnings(certpin_plan *pl, size_t pi, size_t hi, int64_t at)
{
	const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];

	if (c->outcome == CERTPIN_PLAN_REPORT_ONLY)
		return add_warning(pl, CERTPIN_PLAN_WARN_REPORT_ONLY, (int)pi, hi, c, at);
	if (c->outcome == CERTPIN_PLAN_EXPIRED_OPEN)
		return add_warning(pl, CERTPIN_PLAN_WARN_EXPIRED_OPEN, (int)pi, hi, c, at);
	if (c->expiring_soon)
		return add_warning(pl, CERTPIN_PLAN_WARN_EXPIRING, (int)pi, hi, c, at);
	return CERTPIN_OK;
}

static size_t *new_index_list(size_t n)
{
	return calloc(n ? n : 1, sizeof(size_t));
}

/* Who is refused, and why; who is undecided. */
static int advice_refused(certpin_plan *pl, plan_advice *a, size_t hi)
{
	if (!(a->refused = new_index_list(pl->np)) || !(a->locked_out = new_index_list(pl->np)) ||
	    !(a->expired_closed = new_index_list(pl->np)) || !(a->invalid = new_index_list(pl->np)) ||
	    !(a->undecided = new_index_list(pl->np)))
		return CERTPIN_E_NOMEM;
	for (size_t pi = 0; pi < pl->np; pi++) {
		const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];

		if (c->outcome == CERTPIN_PLAN_UNKNOWN)
			a->undecided[a->nundecided++] = pi;
		if (c->connects || c->outcome == CERTPIN_PLAN_UNKNOWN)
			continue;
		a->refused[a->nrefused++] = pi;
		if (c->outcome == CERTPIN_PLAN_LOCKOUT)
			a->locked_out[a->nlocked_out++] = pi;
		else if (c->outcome == CERTPIN_PLAN_EXPIRED_CLOSED)
			a->expired_closed[a->nexpired_closed++] = pi;
		else
			a->invalid[a->ninvalid++] = pi;
	}
	return CERTPIN_OK;
}

/* The SPKI pins of the known planned chain (backup pins to ship) and who has the first already. */
static int advice_offered(certpin_plan *pl, plan_advice *a, const certpin_policy *const *policies,
	const certpin_plan_host *h, size_t hi)
{
	int rc;

	a->chain_length = h->n;
	if (!(a->holders = new_index_list(pl->np)) || !(a->offered = calloc(h->n ? h->n : 1, sizeof(*a->offered))) ||
	    !(a->offered_depth = new_index_list(h->n)))
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < h->n; i++) {
		if (!(h->chain[i].flags & CERTPIN_HAVE_SPKI))
			continue;
		a->offered[a->noffered].kind = CERTPIN_PIN_SPKI_SHA256;
		memcpy(a->offered[a->noffered].digest, h->chain[i].spki_sha256, CERTPIN_DIGEST_LEN);
		a->offered_depth[a->noffered++] = i;
	}
	for (size_t pi = 0; a->noffered && pi < pl->np; pi++) {
		bool has;

		if ((rc = rule_has_pin(&has, policies[pi], pl->hosts[hi], &a->offered[0])) != CERTPIN_OK)
			return rc;
		if (has)
			a->holders[a->nholders++] = pi;
	}
	return CERTPIN_OK;
}

/* Pins every locked-out version accepts: keeping one of them in the chain avoids the lockout. */
static int advice_keep(certpin_plan *pl, plan_advice *a, const certpin_policy *const *policies, size_t hi)
{
	const certpin_policy *p0;
	const certpin_plan_cell *c0;
	certpin_host_info info;
	int rc;

	if (!a->nlocked_out)
		return CERTPIN_OK;
	p0 = policies[a->locked_out[0]];
	c0 = &pl->cells[a->locked_out[0] * pl->nh + hi];
	if ((rc = certpin_policy_host(&info, p0, (size_t)c0->result.rule)) != CERTPIN_OK)
		return rc;
	if (info.pin_count && (!(a->keep = calloc(info.pin_count, sizeof(*a->keep))) ||
	    !(a->keep_position = calloc(info.pin_count, sizeof(*a->keep_position)))))
		return CERTPIN_E_NOMEM;
	for (size_t k = 0; k < info.pin_count; k++) {
		certpin_pin pin;
		certpin_position pos;
		bool all = true;

		if ((rc = certpin_policy_host_pin(&pin, &pos, p0, (size_t)c0->result.rule, k)) != CERTPIN_OK)
			return rc;
		if (pin_in_list(&pin, a->keep, a->nkeep))
			continue;
		for (size_t j = 1; j < a->nlocked_out && all; j++)
			if ((rc = rule_has_pin(&all, policies[a->locked_out[j]], pl->hosts[hi], &pin)) != CERTPIN_OK)
				return rc;
		if (all) {
			a->keep[a->nkeep] = pin;
			a->keep_position[a->nkeep++] = pos;
		}
	}
	return CERTPIN_OK;
}

static int build_advice(certpin_plan *pl, const certpin_policy *const *policies, const certpin_plan_host *h,
	size_t hi)
{
	plan_advice *a = &pl->advice[hi];
	int rc;

	if ((rc = advice_refused(pl, a, hi)) != CERTPIN_OK || (rc = advice_offered(pl, a, policies, h, hi)) != CERTPIN_OK)
		return rc;
	return advice_keep(pl, a, policies, hi);
}

/* The arguments, checked: CERTPIN_OK or an error code with `err` set. */
static int check_args(const certpin_policy *const *policies, size_t npolicies, const certpin_plan_host *hosts,
	size_t nhosts, const certpin_plan_options *opts, certpin_error *err)
{
	if (!policies || !hosts || npolicies == 0 || nhosts == 0)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no shipped policies or no planned hosts");
	if (npolicies > 100000 || nhosts > 100000)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "more than 100000 policies or hosts");
	if (opts && opts->version != CERTPIN_PLAN_OPTIONS_VERSION)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "plan options of an unknown version");
	for (size_t i = 0; i < npolicies; i++)
		if (!policies[i])
			return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "shipped policy %zu missing", i + 1);
	for (size_t i = 0; i < nhosts; i++)
		if (!hosts[i].hostname || (hosts[i].n && !hosts[i].chain))
			return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "planned host %zu: no name or chain",
				i + 1);
	return CERTPIN_OK;
}

/* A plan with its names and hosts (normalized where valid) and room for the cells; NULL if out of memory. */
static certpin_plan *plan_new(const char *const *names, size_t np, const certpin_plan_host *hosts, size_t nh)
{
	certpin_plan *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->np = np;
	pl->nh = nh;
	pl->names = calloc(np, sizeof(char *));
	pl->hosts = calloc(nh, sizeof(char *));
	pl->cells = calloc(np * nh, sizeof(*pl->cells));
	pl->advice = calloc(nh, sizeof(*pl->advice));
	if (!pl->names || !pl->hosts || !pl->cells || !pl->advice)
		goto err;
	for (size_t i = 0; i < np; i++) {
		char num[32];

		snprintf(num, sizeof(num), "#%zu", i + 1);
		if (!(pl->names[i] = strdup(names && names[i] ? names[i] : num)))
			goto err;
	}
	for (size_t i = 0; i < nh; i++) {
		char norm[CERTPIN_HOSTNAME_MAX];

		if (!(pl->hosts[i] = strdup(certpin_hostname_normalize(norm, sizeof(norm), hosts[i].hostname) ==
				CERTPIN_OK ? norm : hosts[i].hostname)))
			goto err;
	}
	return pl;
err:
	certpin_plan_free(pl);
	return NULL;
}

/* Every cell, the verdict, and the cells' warnings. */
static int evaluate_cells(certpin_plan *pl, const certpin_policy *const *policies, const certpin_plan_host *hosts,
	const certpin_plan_options *o)
{
	int64_t window = (int64_t)o->expiry_window_days * TOOLS_DAY;
	int rc;

	pl->verdict = CERTPIN_PLAN_SAFE;
	for (size_t pi = 0; pi < pl->np; pi++) {
		for (size_t hi = 0; hi < pl->nh; hi++) {
			const certpin_plan_cell *c = &pl->cells[pi * pl->nh + hi];

			if ((rc = evaluate_cell(pl, policies[pi], pi, &hosts[hi], hi, o->at, window)) != CERTPIN_OK)
				return rc;
			if (c->outcome == CERTPIN_PLAN_UNKNOWN) {
				if (pl->verdict == CERTPIN_PLAN_SAFE)
					pl->verdict = CERTPIN_PLAN_UNDECIDED;
			} else if (!c->connects) {
				pl->verdict = CERTPIN_PLAN_UNSAFE;
			}
			if ((rc = cell_warnings(pl, pi, hi, o->at)) != CERTPIN_OK)
				return rc;
		}
	}
	return CERTPIN_OK;
}

int certpin_plan_evaluate(certpin_plan **out, const certpin_policy *const *policies, const char *const *names,
	size_t npolicies, const certpin_plan_host *hosts, size_t nhosts, const certpin_plan_options *opts,
	certpin_error *err)
{
	certpin_plan_options o = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan *pl;
	int rc;

	certpin_error_clear(err);
	if (out)
		*out = NULL;
	if (!out)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no place for the plan");
	if ((rc = check_args(policies, npolicies, hosts, nhosts, opts, err)) != CERTPIN_OK)
		return rc;
	if (opts)
		o = *opts;
	if (o.at == 0)
		o.at = (int64_t)time(NULL);
	if (!(pl = plan_new(names, npolicies, hosts, nhosts)))
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "plan: %s", certpin_strerror(CERTPIN_E_NOMEM));
	if ((rc = evaluate_cells(pl, policies, hosts, &o)) != CERTPIN_OK)
		goto err;
	for (size_t hi = 0; hi < nhosts; hi++) {
		bool pinned = false;

		for (size_t pi = 0; pi < npolicies; pi++)
			pinned |= pl->cells[pi * nhosts + hi].outcome != CERTPIN_PLAN_NOT_PINNED;
		if (!pinned && (rc = add_warning(pl, CERTPIN_PLAN_WARN_NOT_PINNED, -1, hi, NULL, o.at)) != CERTPIN_OK)
			goto err;
		if ((rc = build_advice(pl, policies, &hosts[hi], hi)) != CERTPIN_OK)
			goto err;
	}
	*out = pl;
	return CERTPIN_OK;
err:
	certpin_plan_free(pl);
	return certpin_error_set(err, rc, NULL, 0, "plan: %s", certpin_strerror(rc));
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
	out->locked_out = a->locked_out;
	out->nlocked_out = a->nlocked_out;
	out->expired_closed = a->expired_closed;
	out->nexpired_closed = a->nexpired_closed;
	out->invalid = a->invalid;
	out->ninvalid = a->ninvalid;
	out->undecided = a->undecided;
	out->nundecided = a->nundecided;
	out->offered = a->offered;
	out->offered_depth = a->offered_depth;
	out->noffered = a->noffered;
	out->chain_length = a->chain_length;
	out->holders = a->holders;
	out->nholders = a->nholders;
	out->keep = a->keep;
	out->keep_position = a->keep_position;
	out->nkeep = a->nkeep;
	return CERTPIN_OK;
}

size_t certpin_plan_warning_count(const certpin_plan *plan)
{
	return plan ? plan->nwarnings : 0;
}

const certpin_plan_warning *certpin_plan_warning_at(const certpin_plan *plan, size_t index)
{
	return plan && index < plan->nwarnings ? &plan->warnings[index] : NULL;
}

static void advice_free(plan_advice *a)
{
	free(a->refused);
	free(a->locked_out);
	free(a->expired_closed);
	free(a->invalid);
	free(a->undecided);
	free(a->offered);
	free(a->offered_depth);
	free(a->holders);
	free(a->keep);
	free(a->keep_position);
}

void certpin_plan_free(certpin_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; plan->names && i < plan->np; i++)
		free(plan->names[i]);
	for (size_t i = 0; plan->hosts && i < plan->nh; i++)
		free(plan->hosts[i]);
	for (size_t i = 0; plan->advice && i < plan->nh; i++)
		advice_free(&plan->advice[i]);
	free(plan->warnings);
	free(plan->names);
	free(plan->hosts);
	free(plan->cells);
	free(plan->advice);
	free(plan);
}
