/*
 * The words for lint findings and plans (render.h).  The library decides;
 * this file only says it, as certpin lint and certpin plan print it.
 */
#include "render.h"
#include "common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lint ------------------------------------------------------------------- */

static const char *position_word(size_t depth, size_t n)
{
	if (depth == 0)
		return "leaf";
	return depth + 1 == n ? "root" : "intermediate";
}

static const char *after_expiry(certpin_expiry_action a)
{
	return a == CERTPIN_EXPIRY_FAIL_OPEN ? "pins are no longer enforced" :
		a == CERTPIN_EXPIRY_FAIL_CLOSED ? "every connection is refused" : "pins stay enforced";
}

/* W001 live: "the intermediate certificate at depth 1 (SUBJECT) and ...". */
static void ca_list(char *out, size_t len, const certpin_lint_finding *f, const certpin_lint_options *lo)
{
	const char *const *subjects = f->live >= 0 && lo && (size_t)f->live < lo->nlive ? lo->live[f->live].subjects : NULL;
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < f->ndepths && used < len; i++) {
		size_t d = f->depths[i];
		const char *subj = subjects && subjects[d] ? subjects[d] : NULL;

		used += (size_t)snprintf(out + used, len - used, "%sthe %s certificate at depth %zu%s%s%s",
			i == 0 ? "" : i + 1 == f->ndepths ? " and " : ", ", position_word(d, f->n), d, subj ? " (" : "",
			subj ? subj : "", subj ? ")" : "");
	}
}

static void lint_ca_only(char *out, size_t len, const certpin_lint_finding *f, const certpin_lint_options *lo)
{
	char list[1024];
	bool inter = f->positions & (1u << CERTPIN_POS_INTERMEDIATE), root = f->positions & (1u << CERTPIN_POS_ROOT);

	if (f->live < 0) {
		snprintf(out, len, "%s: every pin is restricted to %s certificates; if the CA issues the renewed "
			"certificate from another %s, clients are locked out: add a leaf-key backup pin", f->pattern,
			inter && root ? "intermediate and root" : inter ? "intermediate" : "root", inter ? "intermediate" : "root");
		return;
	}
	ca_list(list, sizeof(list), f, lo);
	snprintf(out, len, "%s: %s is accepted only through %s; the CA may issue the next certificate from another %s: "
		"add a leaf-key backup pin", f->pattern, f->host, list,
		position_word(f->ndepths > 1 || f->ndepths == 0 ? 1 : f->depths[0], f->n));
}

/* The checks about the pinset's expiry. */
static void lint_expiry(char *out, size_t len, const certpin_lint_finding *f)
{
	char date[32];

	cli_time_rfc3339(date, f->when);
	switch (f->check) {
	case CERTPIN_LINT_PINSET_EXPIRED:
		snprintf(out, len, "%s: pinset expired on %s (on_expiry %s: %s)", f->pattern, date,
			certpin_expiry_action_name(f->on_expiry), after_expiry(f->on_expiry));
		break;
	case CERTPIN_LINT_EXPIRING_SOON:
		snprintf(out, len, "%s: pinset expires on %s, in %lld day(s) (then %s)", f->pattern, date,
			(long long)f->days, after_expiry(f->on_expiry));
		break;
	case CERTPIN_LINT_EXPIRY_TOO_FAR:
		if (f->when == 0)
			snprintf(out, len, "%s: pinset never expires: if every pinned key is lost, clients stay locked out "
				"until they are updated; set \"expires\" (at most %lld days ahead)", f->pattern,
				(long long)f->days);
		else
			snprintf(out, len, "%s: pinset expires on %s, more than %lld days ahead", f->pattern, date,
				(long long)f->days);
		break;
	default: /* CERTPIN_LINT_FAIL_CLOSED */
		snprintf(out, len, "%s: on_expiry fail-closed: from %s every connection to these hosts is refused until "
			"the app is updated, whatever the server does", f->pattern, date);
		break;
	}
}

/* The live checks of one chain. */
static void lint_live(char *out, size_t len, const certpin_lint_finding *f)
{
	char pin[CERTPIN_PIN_STRLEN] = "unknown", date[32], edate[32] = "never";

	if (f->have_leaf)
		cli_pin_string(pin, &f->leaf, CERTPIN_STYLE_DEFAULT);
	switch (f->check) {
	case CERTPIN_LINT_NO_LIVE_MATCH:
		snprintf(out, len, "%s: no pin matches the chain %s serves now (leaf key %s): %s", f->pattern, f->host, pin,
			f->mode == CERTPIN_MODE_REPORT_ONLY ? "every connection reports a failure (report-only)" :
			"clients are refused today");
		break;
	case CERTPIN_LINT_LEAF_EXPIRES_FIRST:
		cli_time_rfc3339(date, f->when);
		if (f->expires)
			cli_time_rfc3339(edate, f->expires);
		snprintf(out, len, "%s: the pinned leaf certificate of %s expires on %s, before the pinset (expires: %s): "
			"renew it with the same key %s or serve a backup-pinned key", f->pattern, f->host, date, edate,
			f->have_leaf ? pin : "(unknown)");
		break;
	case CERTPIN_LINT_NO_BACKUP_PIN:
		snprintf(out, len, "%s: every pin matches a certificate served now (e.g. by %s); there is no backup pin: "
			"add the SPKI pin of a spare key kept offline, or of another CA, before the next key or CA change",
			f->pattern, f->hostname ? f->hostname : "?");
		break;
	default: /* CERTPIN_LINT_LIVE_NOT_PINNED */
		snprintf(out, len, "%s: no rule of the policy applies to this host (not pinned)", f->host);
		break;
	}
}

void render_lint_message(char *out, size_t len, const certpin_lint_finding *f, const certpin_lint_options *lo)
{
	switch (f->check) {
	case CERTPIN_LINT_TOO_FEW_PINS:
		if (f->count == 0)
			snprintf(out, len, "%s: enforced pinset has no pins: every connection to these hosts is refused",
				f->pattern);
		else
			snprintf(out, len, "%s: enforced pinset has 1 pin; add a backup pin (the SPKI pin of a spare key or "
				"of another CA) so that a key or CA change does not lock clients out", f->pattern);
		break;
	case CERTPIN_LINT_CA_PINS_ONLY:
		lint_ca_only(out, len, f, lo);
		break;
	case CERTPIN_LINT_PINSET_EXPIRED:
	case CERTPIN_LINT_EXPIRING_SOON:
	case CERTPIN_LINT_EXPIRY_TOO_FAR:
	case CERTPIN_LINT_FAIL_CLOSED:
		lint_expiry(out, len, f);
		break;
	case CERTPIN_LINT_PUBLIC_SUFFIX:
		snprintf(out, len, "%s: %s covers sites of unrelated owners under the public suffix \"%s\" "
			"(built-in heuristic list)", f->pattern, f->wildcard == 2 ? "include_subdomains" : "the wildcard",
			f->suffix);
		break;
	case CERTPIN_LINT_NOT_CHECKED_LIVE:
		snprintf(out, len, "%s: not checked live (no chain of a host under this rule was given)", f->pattern);
		break;
	default:
		lint_live(out, len, f);
		break;
	}
}

/* ---- plan ------------------------------------------------------------------- */

void render_plan_warning(char *out, size_t len, const certpin_plan *plan, const certpin_plan_warning *w)
{
	const char *name = w->policy >= 0 ? certpin_plan_policy_name(plan, (size_t)w->policy) : "",
		*host = certpin_plan_host_name(plan, w->host);
	char date[32];

	cli_time_rfc3339(date, w->expires);
	if (w->kind == CERTPIN_PLAN_WARN_REPORT_ONLY)
		snprintf(out, len, "%s: %s: no pin matches the planned chain; connections work only because the rule is "
			"report-only (each one reports a pin failure)", name, host);
	else if (w->kind == CERTPIN_PLAN_WARN_EXPIRED_OPEN)
		snprintf(out, len, "%s: %s: pinset expired on %s; connects without pin checks (fail-open)", name, host, date);
	else if (w->kind == CERTPIN_PLAN_WARN_NOT_PINNED)
		snprintf(out, len, "%s: no version pins this host; the plan says nothing about pinning there (check the "
			"host name)", host);
	else if (w->after_expiry == CERTPIN_PLAN_EXPIRED_CLOSED)
		snprintf(out, len, "%s: %s: pinset expires on %s (in %lld day(s)) with on_expiry fail-closed: from then on "
			"this version is locked out whatever the server does (fail-closed lockout); ship a version with a "
			"later expiry and retire %s before then", name, host, date, (long long)w->days, name);
	else if (w->after_expiry == CERTPIN_PLAN_EXPIRED_OPEN)
		snprintf(out, len, "%s: %s: pinset expires on %s (in %lld day(s)): from then on pins are not enforced "
			"(fail-open soon)", name, host, date, (long long)w->days);
	else
		snprintf(out, len, "%s: %s: pinset expires on %s (in %lld day(s)); pins stay enforced after that "
			"(on_expiry keep): after expiry the outcome is %s", name, host, date, (long long)w->days,
			certpin_plan_outcome_name(w->after_expiry));
}

static const char *depth_word(size_t depth, size_t n)
{
	if (depth == 0)
		return "new leaf key";
	return depth + 1 == n ? "root key" : "intermediate key";
}

static void put_names(FILE *f, const certpin_plan *plan, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", certpin_plan_policy_name(plan, idx[i]));
}

/* "  fix: ..." : ship offered[0] first, unless some versions pin it already. */
static void fix_offered(FILE *f, const certpin_plan *plan, const certpin_plan_advice *a)
{
	char s[CERTPIN_PIN_STRLEN];

	cli_pin_string(s, &a->offered[0], CERTPIN_STYLE_DEFAULT);
	if (a->nholders) {
		fprintf(f, "  fix: ");
		put_names(f, plan, a->holders, a->nholders);
		fprintf(f, " already pin%s %s (%s); deploy only after ", a->nholders == 1 ? "s" : "", s,
			depth_word(a->offered_depth[0], a->chain_length));
		put_names(f, plan, a->locked_out, a->nlocked_out);
		fprintf(f, " %s retired (or force an upgrade)\n", a->nlocked_out == 1 ? "has" : "have");
		return;
	}
	fprintf(f, "  fix: first ship a version that pins %s (%s) as a backup pin", s,
		depth_word(a->offered_depth[0], a->chain_length));
	for (size_t i = 1; i < a->noffered; i++) {
		cli_pin_string(s, &a->offered[i], CERTPIN_STYLE_DEFAULT);
		fprintf(f, "%s%s (%s)", i == 1 ? " [or " : ", or ", s, depth_word(a->offered_depth[i], a->chain_length));
	}
	fprintf(f, "%s, then deploy only after ", a->noffered > 1 ? "]" : "");
	put_names(f, plan, a->locked_out, a->nlocked_out);
	fprintf(f, " %s retired\n", a->nlocked_out == 1 ? "has" : "have");
}

/* "  or keep ...": a certificate every locked-out version pins. */
static void fix_keep(FILE *f, const certpin_plan_advice *a)
{
	char s[CERTPIN_PIN_STRLEN];

	fprintf(f, "  or keep ");
	for (size_t i = 0; i < a->nkeep; i++) {
		const char *pre, *post = "";

		cli_pin_string(s, &a->keep[i], CERTPIN_STYLE_DEFAULT);
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
		fprintf(f, "%s%s%s%s", i ? ", or " : "", pre, s, post);
	}
	fprintf(f, "; every locked-out version pins %s\n", a->nkeep == 1 ? "it" : "these");
}

/* No pin shared by every locked-out version: name what each one would accept. */
static void fix_keep_each(FILE *f, const certpin_plan *plan, const certpin_policy *const *policies,
	const certpin_plan_advice *a, size_t host)
{
	char s[CERTPIN_PIN_STRLEN];

	fprintf(f, "  or keep, for each of them, a certificate it pins in the chain (no single pin is shared by all):");
	for (size_t j = 0; j < a->nlocked_out; j++) {
		const certpin_plan_cell *c = certpin_plan_get_cell(plan, a->locked_out[j], host);
		const certpin_policy *p = policies[a->locked_out[j]];
		certpin_host_info info;

		fprintf(f, "%s %s:", j ? ";" : "", certpin_plan_policy_name(plan, a->locked_out[j]));
		if (certpin_policy_host(&info, p, (size_t)c->result.rule) != CERTPIN_OK)
			continue;
		for (size_t k = 0; k < info.pin_count; k++) {
			certpin_pin pin;
			certpin_position pos;

			if (certpin_policy_host_pin(&pin, &pos, p, (size_t)c->result.rule, k) != CERTPIN_OK)
				continue;
			cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
			fprintf(f, "%s %s (%s)", k ? "," : "", s, certpin_position_name(pos));
		}
	}
	fprintf(f, "\n");
}

static void put_fix(FILE *f, const certpin_plan *plan, const certpin_policy *const *policies, size_t host)
{
	const char *name = certpin_plan_host_name(plan, host);
	certpin_plan_advice a;

	if (certpin_plan_get_advice(&a, plan, host) != CERTPIN_OK)
		return;
	if (a.nlocked_out) {
		fprintf(f, "%s: would lock out ", name);
		put_names(f, plan, a.locked_out, a.nlocked_out);
		fprintf(f, ": none of their pins matches the planned chain\n");
		if (a.noffered)
			fix_offered(f, plan, &a);
		if (a.nkeep)
			fix_keep(f, &a);
		else
			fix_keep_each(f, plan, policies, &a, host);
	}
	if (a.nexpired_closed) {
		fprintf(f, "%s: ", name);
		put_names(f, plan, a.expired_closed, a.nexpired_closed);
		fprintf(f, " refuse%s every connection: pinset expired with on_expiry fail-closed; no server change helps, "
			"only an app update\n", a.nexpired_closed == 1 ? "s" : "");
	}
	if (a.ninvalid) {
		fprintf(f, "%s: invalid host name for ", name);
		put_names(f, plan, a.invalid, a.ninvalid);
		fprintf(f, "\n");
	}
	if (a.nundecided) {
		fprintf(f, "%s: cannot decide for ", name);
		put_names(f, plan, a.undecided, a.nundecided);
		fprintf(f, ": no pin matches the known part of the planned chain, but a pin could match an unknown "
			"certificate (give the complete planned chain)\n");
	}
}

/* A memory stream's text; NULL (and nothing allocated) if writing it failed. */
static char *stream_take(FILE *f, char **buf)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *render_plan_fix(const certpin_plan *plan, const certpin_policy *const *policies, size_t host)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	put_fix(f, plan, policies, host);
	return stream_take(f, &buf);
}

/* Is version `pi` one the verdict names: refused (UNSAFE) or undecided (UNDECIDED)? */
static bool named_in_verdict(const certpin_plan *plan, certpin_plan_verdict v, size_t pi)
{
	for (size_t hi = 0; hi < certpin_plan_host_count(plan); hi++) {
		const certpin_plan_cell *c = certpin_plan_get_cell(plan, pi, hi);
		if (v == CERTPIN_PLAN_UNSAFE ? !c->connects && c->outcome != CERTPIN_PLAN_UNKNOWN :
		    c->outcome == CERTPIN_PLAN_UNKNOWN)
			return true;
	}
	return false;
}

/* The first line: the verdict and the versions it names. */
static void put_verdict(FILE *f, const certpin_plan *plan)
{
	certpin_plan_verdict v = certpin_plan_get_verdict(plan);
	size_t np = certpin_plan_policy_count(plan), nbad = 0, k = 0;

	if (v == CERTPIN_PLAN_SAFE) {
		fprintf(f, "safe to deploy: every version connects to every host\n");
		return;
	}
	for (size_t pi = 0; pi < np; pi++)
		nbad += named_in_verdict(plan, v, pi);
	fprintf(f, v == CERTPIN_PLAN_UNSAFE ? "UNSAFE: would lock out version%s " : "UNDECIDED: cannot prove version%s ",
		nbad == 1 ? "" : "s");
	for (size_t pi = 0; pi < np; pi++)
		if (named_in_verdict(plan, v, pi))
			fprintf(f, "%s%s", k++ ? ", " : "", certpin_plan_policy_name(plan, pi));
	fprintf(f, v == CERTPIN_PLAN_UNDECIDED ? " would connect\n" : "\n");
}

char *render_plan_text(const certpin_plan *plan, const certpin_policy *const *policies)
{
	char *buf = NULL, line[1024];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	put_verdict(f, plan);
	for (size_t hi = 0; hi < certpin_plan_host_count(plan); hi++)
		put_fix(f, plan, policies, hi);
	for (size_t i = 0; i < certpin_plan_warning_count(plan); i++) {
		render_plan_warning(line, sizeof(line), plan, certpin_plan_warning_at(plan, i));
		fprintf(f, "warning: %s\n", line);
	}
	return stream_take(f, &buf);
}
