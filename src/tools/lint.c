/*
 * Policy lint: findings that predict a lockout (errors) or deserve a look
 * (warnings), as data (certpin/tools.h); the words are the front end's.  Live
 * checks ask the decision engine (certpin_verify(), certpin_pin_matches()),
 * never a copy of it.
 */
#include "tools_internal.h"

#include <time.h>

struct certpin_lint_report {
	certpin_lint_finding *f;
	size_t *seq;            /* insertion order, for a stable sort */
	size_t n, cap, capseq;
	size_t errors, warnings;
};

static const struct {
	certpin_lint_check check;
	const char *id;
	const char *name;
	certpin_lint_severity severity;
} checks[] = {
	{ CERTPIN_LINT_TOO_FEW_PINS, "E001", "too-few-pins", CERTPIN_LINT_ERROR },
	{ CERTPIN_LINT_NO_BACKUP_PIN, "E002", "no-backup-pin", CERTPIN_LINT_ERROR },
	{ CERTPIN_LINT_NO_LIVE_MATCH, "E003", "no-live-match", CERTPIN_LINT_ERROR },
	{ CERTPIN_LINT_PINSET_EXPIRED, "E004", "pinset-expired", CERTPIN_LINT_ERROR },
	{ CERTPIN_LINT_CA_PINS_ONLY, "W001", "ca-pins-only", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_EXPIRY_TOO_FAR, "W002", "expiry-too-far", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_LEAF_EXPIRES_FIRST, "W003", "leaf-expires-first", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_PUBLIC_SUFFIX, "W004", "public-suffix", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_FAIL_CLOSED, "W005", "fail-closed-expiry", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_EXPIRING_SOON, "W006", "expiring-soon", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_NOT_CHECKED_LIVE, "W007", "not-checked-live", CERTPIN_LINT_WARNING },
	{ CERTPIN_LINT_LIVE_NOT_PINNED, "W008", "live-host-not-pinned", CERTPIN_LINT_WARNING },
};

static int check_index(certpin_lint_check c)
{
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(checks); i++)
		if (checks[i].check == c)
			return (int)i;
	return -1;
}

const char *certpin_lint_check_id(certpin_lint_check check)
{
	int i = check_index(check);
	return i < 0 ? "?" : checks[i].id;
}

const char *certpin_lint_check_name(certpin_lint_check check)
{
	int i = check_index(check);
	return i < 0 ? "unknown" : checks[i].name;
}

/*
 * A small, built-in list of public suffixes under which unrelated parties
 * own names.  Heuristic by design: every single-label name (a TLD) counts as
 * well, no network and no full Public Suffix List.
 */
static const char *const public_suffixes[] = {
	"co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk",
	"com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz",
	"co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr",
	"com.br", "net.br", "org.br", "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg",
	"com.mx", "com.ar", "com.tr", "co.in", "net.in", "org.in", "co.za", "co.il", "com.ua",
	"github.io", "gitlab.io", "githubusercontent.com", "appspot.com", "cloudfront.net",
	"herokuapp.com", "azurewebsites.net", "cloudapp.net", "blogspot.com", "netlify.app",
	"vercel.app", "pages.dev", "workers.dev", "web.app", "firebaseapp.com",
	"s3.amazonaws.com", "elasticbeanstalk.com", "amazonaws.com", "fly.dev", "onrender.com",
	"glitch.me", "ngrok.io", "ngrok-free.app", "duckdns.org", "dyndns.org", "no-ip.org",
	"readthedocs.io", "surge.sh", "repl.co",
};

static bool is_public_suffix(const char *name)
{
	if (!strchr(name, '.'))
		return true;
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(public_suffixes); i++)
		if (strcmp(name, public_suffixes[i]) == 0)
			return true;
	return false;
}

/* What a check is about: the rule (h NULL: none) and the live chain (c NULL: none). */
typedef struct subject {
	int rule;
	const certpin_host_info *h;
	int live;
	const certpin_lint_chain *c;
	const char *host;               /* the live chain's host, normalized */
} subject;

static char *dupstr(const char *s, bool *nomem)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*nomem = true;
	return d;
}

/*
 * A new finding of `check` about `s`, its other fields zero, or NULL if out
 * of memory.  Borrowed until the next one is added.
 */
static certpin_lint_finding *add(certpin_lint_report *r, certpin_lint_check check, const subject *s)
{
	certpin_lint_finding *f, *nf;
	size_t *ns;
	int ci = check_index(check);
	bool nomem = false;

	if (ci < 0 || !(nf = certpin_tools__grow(r->f, &r->cap, r->n + 1, sizeof(*nf))))
		return NULL;
	r->f = nf;
	if (!(ns = certpin_tools__grow(r->seq, &r->capseq, r->n + 1, sizeof(*ns))))
		return NULL;
	r->seq = ns;
	f = &r->f[r->n];
	memset(f, 0, sizeof(*f));
	f->version = CERTPIN_LINT_FINDING_VERSION;
	f->check = check;
	f->severity = checks[ci].severity;
	f->id = checks[ci].id;
	f->name = checks[ci].name;
	f->rule = s->h ? s->rule : -1;
	f->pin = -1;
	f->live = s->c ? s->live : -1;
	f->pattern = s->h ? dupstr(s->h->pattern, &nomem) : NULL;
	f->hostname = s->c ? dupstr(s->c->hostname, &nomem) : NULL;
	f->host = s->c ? dupstr(s->host, &nomem) : NULL;
	if (s->h) {
		f->mode = s->h->mode;
		f->on_expiry = s->h->on_expiry;
	}
	if (nomem) {
		free((char *)f->pattern);
		free((char *)f->hostname);
		free((char *)f->host);
		return NULL;
	}
	r->seq[r->n] = r->n;
	r->n++;
	if (f->severity == CERTPIN_LINT_ERROR)
		r->errors++;
	else
		r->warnings++;
	return f;
}

#define ADD(f, r, check, s) do { if (!((f) = add((r), (check), (s)))) return CERTPIN_E_NOMEM; } while (0)

static int64_t effective_expiry(const certpin_host_info *h)
{
	return h->expires ? h->expires + (int64_t)h->clock_skew : 0;
}

/* W001 offline: every pin restricted to intermediate and/or root certificates. */
static int lint_ca_only(certpin_lint_report *r, const certpin_policy *p, const subject *s)
{
	unsigned int positions = 0;
	certpin_lint_finding *f;

	for (size_t k = 0; k < s->h->pin_count; k++) {
		certpin_position pos;
		certpin_pin pin;
		int rc = certpin_policy_host_pin(&pin, &pos, p, (size_t)s->rule, k);

		if (rc != CERTPIN_OK)
			return rc;
		if (pos != CERTPIN_POS_INTERMEDIATE && pos != CERTPIN_POS_ROOT)
			return CERTPIN_OK;
		positions |= 1u << pos;
	}
	ADD(f, r, CERTPIN_LINT_CA_PINS_ONLY, s);
	f->positions = positions;
	return CERTPIN_OK;
}

/* W006, W002, W005: the pinset's expiry ahead of `now`. */
static int lint_expiry(certpin_lint_report *r, const subject *s, int64_t now, const certpin_lint_options *o)
{
	const certpin_host_info *h = s->h;
	int64_t eff = effective_expiry(h);
	bool expired = h->expires && now > eff;
	certpin_lint_finding *f;

	if (!expired && h->expires && eff - now <= (int64_t)o->soon_days * TOOLS_DAY) {
		ADD(f, r, CERTPIN_LINT_EXPIRING_SOON, s);
		f->when = eff;
		f->days = (eff - now) / TOOLS_DAY;
	}
	if ((h->expires == 0 && h->mode == CERTPIN_MODE_ENFORCE) ||
	    (h->expires && !expired && eff - now > (int64_t)o->max_expiry_days * TOOLS_DAY)) {
		ADD(f, r, CERTPIN_LINT_EXPIRY_TOO_FAR, s);
		f->when = eff;
		f->days = o->max_expiry_days;
	}
	if (h->expires && !expired && h->on_expiry == CERTPIN_EXPIRY_FAIL_CLOSED && h->mode == CERTPIN_MODE_ENFORCE) {
		ADD(f, r, CERTPIN_LINT_FAIL_CLOSED, s);
		f->when = eff;
	}
	return CERTPIN_OK;
}

/* Offline checks of one rule. */
static int lint_rule(certpin_lint_report *r, const certpin_policy *p, const subject *s, int64_t now,
	const certpin_lint_options *o, bool has_live)
{
	const certpin_host_info *h = s->h;
	certpin_lint_finding *f;
	int rc;

	if (h->mode == CERTPIN_MODE_ENFORCE && h->pin_count < 2) {
		ADD(f, r, CERTPIN_LINT_TOO_FEW_PINS, s);
		f->count = h->pin_count;
	}
	if (h->expires && now > effective_expiry(h)) {
		ADD(f, r, CERTPIN_LINT_PINSET_EXPIRED, s);
		f->when = effective_expiry(h);
	}
	if (!has_live && h->pin_count > 0 && (rc = lint_ca_only(r, p, s)) != CERTPIN_OK)
		return rc;
	if ((rc = lint_expiry(r, s, now, o)) != CERTPIN_OK)
		return rc;
	if (h->wildcard != TOOLS_WILD_NONE && !h->is_ip && is_public_suffix(h->name)) {
		ADD(f, r, CERTPIN_LINT_PUBLIC_SUFFIX, s);
		f->wildcard = h->wildcard;
		if (!(f->suffix = strdup(h->name)))
			return CERTPIN_E_NOMEM;
	}
	return CERTPIN_OK;
}

/* The live leaf's SPKI pin, if the chain has it. */
static void leaf_pin(certpin_lint_finding *f, const certpin_lint_chain *c)
{
	if (c->n == 0 || !(c->chain[0].flags & CERTPIN_HAVE_SPKI))
		return;
	f->have_leaf = 1;
	f->leaf.kind = CERTPIN_PIN_SPKI_SHA256;
	memcpy(f->leaf.digest, c->chain[0].spki_sha256, CERTPIN_DIGEST_LEN);
}

/*
 * Does a pin of the rule accept element `d` of the live chain: at the pin's
 * position, or with `any_position` wherever the digest is?
 */
static int elem_pinned(bool *out, const certpin_policy *p, const subject *s, size_t d, bool any_position)
{
	*out = false;
	for (size_t k = 0; k < s->h->pin_count && !*out; k++) {
		certpin_pin pk;
		certpin_position pos;
		int rc = certpin_policy_host_pin(&pk, &pos, p, (size_t)s->rule, k);

		if (rc != CERTPIN_OK)
			return rc;
		*out = certpin_pin_matches(&pk, any_position ? CERTPIN_POS_ANY : pos, s->c->chain, s->c->n, d);
	}
	return CERTPIN_OK;
}

/* W001 live: the chain matched through CA certificates only; every one a pin accepts. */
static int lint_live_ca(certpin_lint_report *r, const certpin_policy *p, const subject *s, int pin)
{
	size_t *depths = NULL, n = 0;
	certpin_lint_finding *f;
	bool hit;
	int rc;

	if ((rc = elem_pinned(&hit, p, s, 0, true)) != CERTPIN_OK || hit)
		return rc;      /* a pin of the leaf's key: not CA pins only */
	if (s->c->n > 1 && !(depths = calloc(s->c->n - 1, sizeof(*depths))))
		return CERTPIN_E_NOMEM;
	for (size_t d = 1; d < s->c->n; d++) {
		if ((rc = elem_pinned(&hit, p, s, d, false)) != CERTPIN_OK) {
			free(depths);
			return rc;
		}
		if (hit)
			depths[n++] = d;
	}
	if (!(f = add(r, CERTPIN_LINT_CA_PINS_ONLY, s))) {
		free(depths);
		return CERTPIN_E_NOMEM;
	}
	f->pin = pin;
	f->depths = depths;
	f->ndepths = n;
	f->n = s->c->n;
	return CERTPIN_OK;
}

/* Live checks of chain `live` against the rule the engine applies. */
static int lint_live(certpin_lint_report *r, const certpin_policy *p, const certpin_lint_options *o, size_t live,
	long *rule_out)
{
	subject sub = { -1, NULL, (int)live, &o->live[live], NULL }, *s = &sub;
	int64_t now = o->now;
	certpin_result res;
	certpin_host_info h;
	certpin_lint_finding *f;
	int rc;

	*rule_out = -1;
	rc = certpin_verify(&res, p, s->c->hostname, s->c->chain, s->c->n, now);
	if (rc == CERTPIN_E_HOSTNAME || rc == CERTPIN_E_INVALID_ARG)
		return rc;
	s->host = res.hostname;
	if (res.rule < 0) {
		ADD(f, r, CERTPIN_LINT_LIVE_NOT_PINNED, s);
		return CERTPIN_OK;
	}
	*rule_out = res.rule;
	if ((rc = certpin_policy_host(&h, p, (size_t)res.rule)) != CERTPIN_OK)
		return rc;
	s->rule = res.rule;
	s->h = &h;
	if (res.verdict == CERTPIN_VERDICT_MISMATCH) {
		ADD(f, r, CERTPIN_LINT_NO_LIVE_MATCH, s);
		leaf_pin(f, s->c);
		return CERTPIN_OK;
	}
	if (res.verdict != CERTPIN_VERDICT_MATCH || res.depth < 0)
		return CERTPIN_OK;
	if (res.depth == 0 && s->c->leaf_not_after != 0 &&
	    (effective_expiry(&h) == 0 || s->c->leaf_not_after < effective_expiry(&h))) {
		ADD(f, r, CERTPIN_LINT_LEAF_EXPIRES_FIRST, s);
		f->pin = res.pin;
		f->when = s->c->leaf_not_after;
		f->expires = effective_expiry(&h);
		leaf_pin(f, s->c);
	}
	if (res.depth > 0)
		return lint_live_ca(r, p, s, res.pin);
	return CERTPIN_OK;
}

/* E002: every pin of rule `s` matches a certificate served now (by digest, at any position). */
static int lint_backup(certpin_lint_report *r, const certpin_policy *p, subject *s, const certpin_lint_options *o,
	const long *live_rule)
{
	certpin_lint_finding *f;
	long served_by = -1;

	for (size_t k = 0; k < s->h->pin_count; k++) {
		certpin_pin pin;
		bool seen = false;
		int rc = certpin_policy_host_pin(&pin, NULL, p, (size_t)s->rule, k);

		if (rc != CERTPIN_OK)
			return rc;
		for (size_t l = 0; l < o->nlive && !seen; l++) {
			for (size_t d = 0; live_rule[l] == s->rule && d < o->live[l].n && !seen; d++)
				seen = certpin_pin_matches(&pin, CERTPIN_POS_ANY, o->live[l].chain, o->live[l].n, d);
			if (seen)
				served_by = (long)l;
		}
		if (!seen)
			return CERTPIN_OK;      /* a backup pin */
	}
	char host[CERTPIN_HOSTNAME_MAX];
	s->live = (int)served_by;
	s->c = served_by >= 0 ? &o->live[served_by] : NULL;
	s->host = s->c && certpin_hostname_normalize(host, sizeof(host), s->c->hostname) == CERTPIN_OK ? host : NULL;
	ADD(f, r, CERTPIN_LINT_NO_BACKUP_PIN, s);
	return CERTPIN_OK;
}

static int finding_cmp(size_t ia, size_t ib, const certpin_lint_report *r)
{
	const certpin_lint_finding *fa = &r->f[ia], *fb = &r->f[ib];
	unsigned ra = fa->rule < 0 ? (unsigned)-1 : (unsigned)fa->rule;
	unsigned rb = fb->rule < 0 ? (unsigned)-1 : (unsigned)fb->rule;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (fa->severity != fb->severity)
		return fa->severity > fb->severity ? -1 : 1;
	if (fa->check != fb->check)
		return fa->check < fb->check ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Insertion sort of the index array (findings are few); then permute. */
static int sort_findings(certpin_lint_report *r)
{
	certpin_lint_finding *sorted;

	for (size_t i = 1; i < r->n; i++) {
		size_t v = r->seq[i], j = i;

		while (j > 0 && finding_cmp(v, r->seq[j - 1], r) < 0) {
			r->seq[j] = r->seq[j - 1];
			j--;
		}
		r->seq[j] = v;
	}
	if (r->n == 0)
		return CERTPIN_OK;
	if (!(sorted = malloc(r->n * sizeof(*sorted))))
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < r->n; i++)
		sorted[i] = r->f[r->seq[i]];
	memcpy(r->f, sorted, r->n * sizeof(*sorted));
	free(sorted);
	return CERTPIN_OK;
}

/* Every rule: the offline checks, then (with live chains) W007 or E002. */
static int lint_rules(certpin_lint_report *r, const certpin_policy *policy, const certpin_lint_options *o,
	const long *live_rule)
{
	size_t nrules = certpin_policy_host_count(policy);
	int rc;

	for (size_t i = 0; i < nrules; i++) {
		certpin_host_info h;
		subject s = { (int)i, &h, -1, NULL, NULL };
		bool has_live = false;

		if ((rc = certpin_policy_host(&h, policy, i)) != CERTPIN_OK)
			return rc;
		for (size_t l = 0; l < o->nlive; l++)
			has_live |= live_rule[l] == (long)i;
		if ((rc = lint_rule(r, policy, &s, o->now, o, has_live)) != CERTPIN_OK)
			return rc;
		if (o->nlive && !has_live) {
			if (!add(r, CERTPIN_LINT_NOT_CHECKED_LIVE, &s))
				return CERTPIN_E_NOMEM;
			continue;
		}
		if (has_live && h.mode == CERTPIN_MODE_ENFORCE && h.pin_count > 0 &&
		    (rc = lint_backup(r, policy, &s, o, live_rule)) != CERTPIN_OK)
			return rc;
	}
	return CERTPIN_OK;
}

/* The options, checked: CERTPIN_OK or an error code with `err` set. */
static int read_options(certpin_lint_options *o, const certpin_lint_options *opts, certpin_error *err)
{
	*o = (certpin_lint_options)CERTPIN_LINT_OPTIONS_INIT;
	if (opts) {
		if (opts->version != CERTPIN_LINT_OPTIONS_VERSION)
			return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "lint options of an unknown version");
		if (opts->nlive && !opts->live)
			return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "live chains missing");
		*o = *opts;
	}
	if (o->now == 0)
		o->now = (int64_t)time(NULL);
	for (size_t i = 0; i < o->nlive; i++) {
		char norm[CERTPIN_HOSTNAME_MAX];

		if (!o->live[i].hostname || (o->live[i].n && !o->live[i].chain))
			return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "live chain %zu: no hostname or chain",
				i);
		if (certpin_hostname_normalize(norm, sizeof(norm), o->live[i].hostname) != CERTPIN_OK)
			return certpin_error_set(err, CERTPIN_E_HOSTNAME, NULL, 0, "live chain %zu: invalid host name \"%.260s\"",
				i, o->live[i].hostname);
	}
	return CERTPIN_OK;
}

int certpin_lint(certpin_lint_report **out, const certpin_policy *policy, const certpin_lint_options *opts,
	certpin_error *err)
{
	certpin_lint_options o;
	certpin_lint_report *r = NULL;
	long *live_rule = NULL;
	int rc;

	certpin_error_clear(err);
	if (out)
		*out = NULL;
	if (!out || !policy)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no policy or no place for the report");
	if ((rc = read_options(&o, opts, err)) != CERTPIN_OK)
		return rc;
	if (!(r = calloc(1, sizeof(*r))) || (o.nlive && !(live_rule = malloc(o.nlive * sizeof(*live_rule))))) {
		rc = CERTPIN_E_NOMEM;
		goto err;
	}
	for (size_t i = 0; i < o.nlive; i++)
		if ((rc = lint_live(r, policy, &o, i, &live_rule[i])) != CERTPIN_OK)
			goto err;
	if ((rc = lint_rules(r, policy, &o, live_rule)) != CERTPIN_OK || (rc = sort_findings(r)) != CERTPIN_OK)
		goto err;
	free(live_rule);
	*out = r;
	return CERTPIN_OK;
err:
	free(live_rule);
	certpin_lint_report_free(r);
	return certpin_error_set(err, rc, NULL, 0, "lint: %s", certpin_strerror(rc));
}

size_t certpin_lint_count(const certpin_lint_report *report)
{
	return report ? report->n : 0;
}

const certpin_lint_finding *certpin_lint_finding_at(const certpin_lint_report *report, size_t index)
{
	if (!report || index >= report->n)
		return NULL;
	return &report->f[index];
}

size_t certpin_lint_errors(const certpin_lint_report *report)
{
	return report ? report->errors : 0;
}

size_t certpin_lint_warnings(const certpin_lint_report *report)
{
	return report ? report->warnings : 0;
}

void certpin_lint_report_free(certpin_lint_report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->n; i++) {
		free((char *)report->f[i].pattern);
		free((char *)report->f[i].hostname);
		free((char *)report->f[i].host);
		free((char *)report->f[i].suffix);
		free((size_t *)report->f[i].depths);
	}
	free(report->f);
	free(report->seq);
	free(report);
}
