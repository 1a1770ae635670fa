/*
 * Policy lint: findings that predict a lockout (errors) or deserve a look
 * (warnings).  Live checks ask the decision engine, never a copy of it.
 */
#include "internal.h"

#include <time.h>

#define DAY 86400

struct certpin_lint_report {
	certpin_lint_finding *f;
	size_t *seq;            /* insertion order, for a stable sort */
	size_t n, cap;
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
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(checks); i++)
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
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(public_suffixes); i++)
		if (strcmp(name, public_suffixes[i]) == 0)
			return true;
	return false;
}

static char *dupstr(const char *s)
{
	char *d;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

__attribute__((format(printf, 7, 8)))
static int add(certpin_lint_report *r, certpin_lint_check check, int rule, const char *pattern,
	const char *hostname, int pin, const char *fmt, ...)
{
	char msg[1024];
	certpin_lint_finding *f;
	int ci = check_index(check);
	va_list ap;

	if (ci < 0)
		return CERTPIN_E_INVALID_ARG;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		certpin_lint_finding *nf = realloc(r->f, cap * sizeof(*nf));
		size_t *ns;

		if (!nf)
			return CERTPIN_E_NOMEM;
		r->f = nf;
		ns = realloc(r->seq, cap * sizeof(*ns));
		if (!ns)
			return CERTPIN_E_NOMEM;
		r->seq = ns;
		r->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = &r->f[r->n];
	memset(f, 0, sizeof(*f));
	f->version = CERTPIN_LINT_FINDING_VERSION;
	f->check = check;
	f->severity = checks[ci].severity;
	f->id = checks[ci].id;
	f->name = checks[ci].name;
	f->rule = rule;
	f->pin = pin;
	f->message = dupstr(msg);
	f->pattern = dupstr(pattern);
	f->hostname = dupstr(hostname);
	if (!f->message || (pattern && !f->pattern) || (hostname && !f->hostname)) {
		free((char *)f->message);
		free((char *)f->pattern);
		free((char *)f->hostname);
		return CERTPIN_E_NOMEM;
	}
	r->seq[r->n] = r->n;
	r->n++;
	if (f->severity == CERTPIN_LINT_ERROR)
		r->errors++;
	else
		r->warnings++;
	return CERTPIN_OK;
}

static void pin_str(char out[CERTPIN_PIN_STRLEN], const certpin_pin *pin)
{
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
		snprintf(out, CERTPIN_PIN_STRLEN, "(pin)");
}

static void date_str(char out[32], int64_t t)
{
	certpin__format_time(out, 32, t);
}

static const char *position_word(size_t depth, size_t n)
{
	if (depth == 0)
		return "leaf";
	return depth + 1 == n ? "root" : "intermediate";
}

static bool pin_in_chain(const certpin_pin *pin, const certpin_lint_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (certpin__elem_matches(&c->chain[i], pin))
			return true;
	return false;
}

/* Offline checks of rule `i`. */
static int lint_rule(certpin_lint_report *r, const certpin_policy *p, size_t i, const certpin_host_info *h,
	int64_t now, const certpin_lint_options *o, bool has_live)
{
	int64_t eff = h->expires ? h->expires + (int64_t)h->clock_skew : 0;
	bool expired = h->expires && now > eff;
	char date[32];
	int rc;

	if (h->mode == CERTPIN_MODE_ENFORCE && h->pin_count < 2) {
		if (h->pin_count == 0)
			rc = add(r, CERTPIN_LINT_TOO_FEW_PINS, (int)i, h->pattern, NULL, -1,
				"%s: enforced pinset has no pins: every connection to these hosts is refused",
				h->pattern);
		else
			rc = add(r, CERTPIN_LINT_TOO_FEW_PINS, (int)i, h->pattern, NULL, -1,
				"%s: enforced pinset has 1 pin; add a backup pin (the SPKI pin of a spare key or "
				"of another CA) so that a key or CA change does not lock clients out", h->pattern);
		if (rc)
			return rc;
	}
	if (expired) {
		const char *what = h->on_expiry == CERTPIN_EXPIRY_FAIL_OPEN ? "pins are no longer enforced" :
			h->on_expiry == CERTPIN_EXPIRY_FAIL_CLOSED ? "every connection is refused" :
			"pins stay enforced";

		date_str(date, eff);
		rc = add(r, CERTPIN_LINT_PINSET_EXPIRED, (int)i, h->pattern, NULL, -1,
			"%s: pinset expired on %s (on_expiry %s: %s)", h->pattern, date,
			certpin_expiry_action_name(h->on_expiry), what);
		if (rc)
			return rc;
	}

	if (!has_live && h->pin_count > 0) {
		bool ca_only = true, inter = false, root = false;

		for (size_t k = 0; k < h->pin_count; k++) {
			certpin_pin pin;
			certpin_position pos;

			if ((rc = certpin_policy_host_pin(&pin, &pos, p, i, k)) != CERTPIN_OK)
				return rc;
			if (pos == CERTPIN_POS_INTERMEDIATE)
				inter = true;
			else if (pos == CERTPIN_POS_ROOT)
				root = true;
			else
				ca_only = false;
		}
		if (ca_only) {
			rc = add(r, CERTPIN_LINT_CA_PINS_ONLY, (int)i, h->pattern, NULL, -1,
				"%s: every pin is restricted to %s certificates; if the CA issues the renewed "
				"certificate from another %s, clients are locked out: add a leaf-key backup pin",
				h->pattern, inter && root ? "intermediate and root" : inter ? "intermediate" : "root",
				inter ? "intermediate" : "root");
			if (rc)
				return rc;
		}
	}

	if (!expired && h->expires && eff - now <= (int64_t)o->soon_days * DAY) {
		date_str(date, eff);
		rc = add(r, CERTPIN_LINT_EXPIRING_SOON, (int)i, h->pattern, NULL, -1,
			"%s: pinset expires on %s, in %lld day(s) (then %s)", h->pattern, date,
			(long long)((eff - now) / DAY),
			h->on_expiry == CERTPIN_EXPIRY_FAIL_OPEN ? "pins are no longer enforced" :
			h->on_expiry == CERTPIN_EXPIRY_FAIL_CLOSED ? "every connection is refused" :
			"pins stay enforced");
		if (rc)
			return rc;
	}
	if (h->expires == 0 && h->mode == CERTPIN_MODE_ENFORCE) {
		rc = add(r, CERTPIN_LINT_EXPIRY_TOO_FAR, (int)i, h->pattern, NULL, -1,
			"%s: pinset never expires: if every pinned key is lost, clients stay locked out until "
			"they are updated; set \"expires\" (at most %u days ahead)", h->pattern, o->max_expiry_days);
		if (rc)
			return rc;
	} else if (h->expires && !expired && eff - now > (int64_t)o->max_expiry_days * DAY) {
		date_str(date, eff);
		rc = add(r, CERTPIN_LINT_EXPIRY_TOO_FAR, (int)i, h->pattern, NULL, -1,
			"%s: pinset expires on %s, more than %u days ahead", h->pattern, date, o->max_expiry_days);
		if (rc)
			return rc;
	}
	if (h->expires && !expired && h->on_expiry == CERTPIN_EXPIRY_FAIL_CLOSED && h->mode == CERTPIN_MODE_ENFORCE) {
		date_str(date, eff);
		rc = add(r, CERTPIN_LINT_FAIL_CLOSED, (int)i, h->pattern, NULL, -1,
			"%s: on_expiry fail-closed: from %s every connection to these hosts is refused until "
			"the app is updated, whatever the server does", h->pattern, date);
		if (rc)
			return rc;
	}
	if (h->wildcard != 0 && !h->is_ip && is_public_suffix(h->name)) {
		rc = add(r, CERTPIN_LINT_PUBLIC_SUFFIX, (int)i, h->pattern, NULL, -1,
			"%s: %s covers sites of unrelated owners under the public suffix \"%s\" "
			"(built-in heuristic list)", h->pattern,
			h->wildcard == 2 ? "include_subdomains" : "the wildcard", h->name);
		if (rc)
			return rc;
	}
	return CERTPIN_OK;
}

/* Does a pin of rule `rule` (`npins` pins) accept element `d` of the chain, position included? */
static int elem_pinned(bool *out, const certpin_policy *p, size_t rule, size_t npins, const certpin_lint_chain *c,
	size_t d)
{
	*out = false;
	for (size_t k = 0; k < npins && !*out; k++) {
		certpin_pin pk;
		certpin_position pos;
		int rc = certpin_policy_host_pin(&pk, &pos, p, rule, k);

		if (rc != CERTPIN_OK)
			return rc;
		*out = certpin__position_ok(pos, d, c->n) && certpin__elem_matches(&c->chain[d], &pk);
	}
	return CERTPIN_OK;
}

/* Live checks of one chain against the rule the engine applies. */
static int lint_live(certpin_lint_report *r, const certpin_policy *p, const certpin_lint_chain *c,
	int64_t now, long *rule_out)
{
	certpin_result res;
	certpin_host_info h;
	char pin[CERTPIN_PIN_STRLEN], date[32], edate[32];
	int rc;

	*rule_out = -1;
	rc = certpin_verify(&res, p, c->hostname, c->chain, c->n, now);
	if (rc == CERTPIN_E_HOSTNAME || rc == CERTPIN_E_INVALID_ARG)
		return rc;
	if (res.rule < 0) {
		return add(r, CERTPIN_LINT_LIVE_NOT_PINNED, -1, NULL, c->hostname, -1,
			"%s: no rule of the policy applies to this host (not pinned)", res.hostname);
	}
	*rule_out = res.rule;
	if ((rc = certpin_policy_host(&h, p, (size_t)res.rule)) != CERTPIN_OK)
		return rc;

	if (res.verdict == CERTPIN_VERDICT_MISMATCH) {
		if (c->n > 0 && (c->chain[0].flags & CERTPIN_HAVE_SPKI)) {
			certpin_pin leaf = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

			memcpy(leaf.digest, c->chain[0].spki_sha256, CERTPIN_DIGEST_LEN);
			pin_str(pin, &leaf);
		} else {
			snprintf(pin, sizeof(pin), "unknown");
		}
		return add(r, CERTPIN_LINT_NO_LIVE_MATCH, res.rule, h.pattern, c->hostname, -1,
			"%s: no pin matches the chain %s serves now (leaf key %s): %s", h.pattern, res.hostname, pin,
			h.mode == CERTPIN_MODE_REPORT_ONLY ? "every connection reports a failure (report-only)" :
			"clients are refused today");
	}
	if (res.verdict != CERTPIN_VERDICT_MATCH || res.depth < 0)
		return CERTPIN_OK;

	if (res.depth == 0 && c->leaf_not_after != 0) {
		int64_t eff = h.expires ? h.expires + (int64_t)h.clock_skew : 0;

		if (eff == 0 || c->leaf_not_after < eff) {
			certpin_pin leaf = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

			memcpy(leaf.digest, c->chain[0].spki_sha256, CERTPIN_DIGEST_LEN);
			pin_str(pin, &leaf);
			date_str(date, c->leaf_not_after);
			if (eff)
				date_str(edate, eff);
			else
				snprintf(edate, sizeof(edate), "never");
			rc = add(r, CERTPIN_LINT_LEAF_EXPIRES_FIRST, res.rule, h.pattern, c->hostname, res.pin,
				"%s: the pinned leaf certificate of %s expires on %s, before the pinset (expires: %s): "
				"renew it with the same key %s or serve a backup-pinned key", h.pattern, res.hostname,
				date, edate, (c->chain[0].flags & CERTPIN_HAVE_SPKI) ? pin : "(unknown)");
			if (rc)
				return rc;
		}
	}
	if (res.depth > 0) {
		bool leaf_pinned = false;

		for (size_t k = 0; k < h.pin_count; k++) {
			certpin_pin pk;
			certpin_position pos;

			if ((rc = certpin_policy_host_pin(&pk, &pos, p, (size_t)res.rule, k)) != CERTPIN_OK)
				return rc;
			if (c->n > 0 && certpin__elem_matches(&c->chain[0], &pk))
				leaf_pinned = true;
		}
		if (!leaf_pinned) {
			/* every CA certificate of the chain that a pin accepts, not only the first */
			char list[1024];
			size_t used = 0, nca = 0, last = 0, i = 0;
			bool hit;

			list[0] = '\0';
			for (size_t d = 1; d < c->n; d++) {
				if ((rc = elem_pinned(&hit, p, (size_t)res.rule, h.pin_count, c, d)) != CERTPIN_OK)
					return rc;
				nca += hit;
			}
			for (size_t d = 1; d < c->n; d++) {
				const char *subj = c->subjects && c->subjects[d] ? c->subjects[d] : NULL;

				if ((rc = elem_pinned(&hit, p, (size_t)res.rule, h.pin_count, c, d)) != CERTPIN_OK)
					return rc;
				if (!hit)
					continue;
				i++;
				last = d;
				if (used < sizeof(list))
					used += (size_t)snprintf(list + used, sizeof(list) - used, "%sthe %s certificate at depth "
						"%zu%s%s%s", i == 1 ? "" : i == nca ? " and " : ", ", position_word(d, c->n), d,
						subj ? " (" : "", subj ? subj : "", subj ? ")" : "");
			}
			if (nca == 0)   /* cannot happen: the engine matched at res.depth */
				last = (size_t)res.depth;
			rc = add(r, CERTPIN_LINT_CA_PINS_ONLY, res.rule, h.pattern, c->hostname, res.pin,
				"%s: %s is accepted only through %s; the CA may issue the next certificate from another %s: "
				"add a leaf-key backup pin", h.pattern, res.hostname, list,
				position_word(nca > 1 ? 1 : last, c->n));
			if (rc)
				return rc;
		}
	}
	return CERTPIN_OK;
}

static int finding_cmp(const void *a, const void *b, const certpin_lint_report *r)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
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

		while (j > 0 && finding_cmp(&v, &r->seq[j - 1], r) < 0) {
			r->seq[j] = r->seq[j - 1];
			j--;
		}
		r->seq[j] = v;
	}
	if (r->n == 0)
		return CERTPIN_OK;
	sorted = malloc(r->n * sizeof(*sorted));
	if (!sorted)
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < r->n; i++)
		sorted[i] = r->f[r->seq[i]];
	memcpy(r->f, sorted, r->n * sizeof(*sorted));
	free(sorted);
	return CERTPIN_OK;
}

int certpin_lint(certpin_lint_report **out, const certpin_policy *policy, const certpin_lint_options *opts)
{
	certpin_lint_options o = CERTPIN_LINT_OPTIONS_INIT;
	certpin_lint_report *r = NULL;
	size_t nrules;
	long *live_rule = NULL;
	int rc = CERTPIN_OK;

	if (out)
		*out = NULL;
	if (!out || !policy)
		return CERTPIN_E_INVALID_ARG;
	if (opts) {
		if (opts->version != CERTPIN_LINT_OPTIONS_VERSION || (opts->nlive && !opts->live))
			return CERTPIN_E_INVALID_ARG;
		o = *opts;
	}
	if (o.now == 0)
		o.now = (int64_t)time(NULL);
	for (size_t i = 0; i < o.nlive; i++) {
		char norm[CERTPIN_HOSTNAME_MAX];

		if (!o.live[i].hostname || (o.live[i].n && !o.live[i].chain))
			return CERTPIN_E_INVALID_ARG;
		if (certpin_hostname_normalize(norm, sizeof(norm), o.live[i].hostname) != CERTPIN_OK)
			return CERTPIN_E_HOSTNAME;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return CERTPIN_E_NOMEM;
	nrules = certpin_policy_host_count(policy);
	if (o.nlive) {
		live_rule = malloc(o.nlive * sizeof(*live_rule));
		if (!live_rule) {
			rc = CERTPIN_E_NOMEM;
			goto err;
		}
		for (size_t i = 0; i < o.nlive; i++)
			if ((rc = lint_live(r, policy, &o.live[i], o.now, &live_rule[i])) != CERTPIN_OK)
				goto err;
	}

	for (size_t i = 0; i < nrules; i++) {
		certpin_host_info h;
		bool has_live = false;

		if ((rc = certpin_policy_host(&h, policy, i)) != CERTPIN_OK)
			goto err;
		for (size_t l = 0; l < o.nlive; l++)
			if (live_rule[l] == (long)i)
				has_live = true;
		if ((rc = lint_rule(r, policy, i, &h, o.now, &o, has_live)) != CERTPIN_OK)
			goto err;
		if (o.nlive && !has_live) {
			rc = add(r, CERTPIN_LINT_NOT_CHECKED_LIVE, (int)i, h.pattern, NULL, -1,
				"%s: not checked live (no chain of a host under this rule was given)", h.pattern);
			if (rc)
				goto err;
			continue;
		}
		if (!has_live || h.mode != CERTPIN_MODE_ENFORCE || h.pin_count == 0)
			continue;
		/* E002: at least one pin must match no certificate that is served now. */
		bool backup = false;
		const char *served_by = NULL;
		for (size_t k = 0; k < h.pin_count && !backup; k++) {
			certpin_pin pin;
			certpin_position pos;
			bool seen = false;

			if ((rc = certpin_policy_host_pin(&pin, &pos, policy, i, k)) != CERTPIN_OK)
				goto err;
			for (size_t l = 0; l < o.nlive && !seen; l++) {
				if (live_rule[l] == (long)i && pin_in_chain(&pin, &o.live[l])) {
					seen = true;
					served_by = o.live[l].hostname;
				}
			}
			if (!seen)
				backup = true;
		}
		if (!backup) {
			rc = add(r, CERTPIN_LINT_NO_BACKUP_PIN, (int)i, h.pattern, served_by, -1,
				"%s: every pin matches a certificate served now (e.g. by %s); there is no backup pin: "
				"add the SPKI pin of a spare key kept offline, or of another CA, before the next "
				"key or CA change", h.pattern, served_by ? served_by : "?");
			if (rc)
				goto err;
		}
	}
	if ((rc = sort_findings(r)) != CERTPIN_OK)
		goto err;
	free(live_rule);
	*out = r;
	return CERTPIN_OK;
err:
	free(live_rule);
	certpin_lint_report_free(r);
	return rc;
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
		free((char *)report->f[i].message);
		free((char *)report->f[i].pattern);
		free((char *)report->f[i].hostname);
	}
	free(report->f);
	free(report->seq);
	free(report);
}
