/*
 * certpin plan's output (plan.h): the planned state, the matrix of shipped
 * versions against hosts, the verdict and the fix, as text or JSON.
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static void pin_of(char out[CERTPIN_PIN_STRLEN], const certpin_chain_elem *e)
{
	certpin_pin p = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

	if (!(e->flags & CERTPIN_HAVE_SPKI)) {
		snprintf(out, CERTPIN_PIN_STRLEN, "(unknown)");
		return;
	}
	memcpy(p.digest, e->spki_sha256, CERTPIN_DIGEST_LEN);
	cli_pin_string(out, &p, CERTPIN_STYLE_DEFAULT);
}

/*
 * Does the planned chain of `t` remain unproven: a chain file that could not
 * be PKIX-verified, or a new key without any CA chain?
 */
int plan_unverified(const target *t)
{
	return (t->chain_file || !t->connect) && t->chain.unverified[0];
}

size_t plan_unverified_count(const plan_args *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->ntargets; i++)
		if (plan_unverified(&a->targets[i]))
			n++;
	return n;
}

/*
 * The verdict text: the library's, unless a chain file was not verified (or
 * only a new key was given) and the pins alone say safe (then UNDECIDED,
 * with the reason).  Each unverified chain is named either way.  malloc'd; NULL if out of memory.
 */
static char *verdict_text(const plan_args *a, const certpin_plan *plan)
{
	char *text = render_plan_text(plan, a->policies), *out, *p, w[1024];
	size_t len = (text ? strlen(text) : 0) + strlen(a->anchor_msgs) + 128;

	for (size_t i = 0; i < a->ntargets; i++)
		len += strlen(a->targets[i].norm) + strlen(a->targets[i].chain.unverified) + 64;
	len += certpin_plan_warning_count(plan) * (sizeof(w) + 16);
	if (!text || !(out = malloc(len))) {
		free(text);
		return NULL;
	}
	p = out;
	if (!a->undecided) {
		p += snprintf(p, len, "%s", text);
	} else {
		p += snprintf(p, len, "UNDECIDED: every version connects by its pins, but %s\n",
			plan_unverified_count(a) > 0 ? "the planned chain is not proven valid" :
			"not every version's trust anchors were checked");
	}
	p += snprintf(p, len - (size_t)(p - out), "%s", a->anchor_msgs);
	for (size_t i = 0; i < a->ntargets; i++) {
		const target *t = &a->targets[i];

		if (t->chain_file && t->chain.unverified[0])
			p += snprintf(p, len - (size_t)(p - out), "%s: chain from %s %s\n", t->norm, t->chain_file,
				t->chain.unverified);
		else if (plan_unverified(t))
			p += snprintf(p, len - (size_t)(p - out), "%s: %s\n", t->norm, t->chain.unverified);
	}
	for (size_t i = 0; a->undecided && i < certpin_plan_warning_count(plan); i++) {
		render_plan_warning(w, sizeof(w), plan, certpin_plan_warning_at(plan, i));
		p += snprintf(p, len - (size_t)(p - out), "warning: %s\n", w);
	}
	free(text);
	return out;
}

/* "LOCKOUT", "ok", ... and a short reason for one cell. */
static void describe(char *out, size_t len, const certpin_plan_cell *c)
{
	char s[CERTPIN_PIN_STRLEN], d[32];
	size_t n;

	switch (c->outcome) {
	case CERTPIN_PLAN_MATCH:
		cli_pin_string(s, &c->matched, CERTPIN_STYLE_DEFAULT);
		n = (size_t)snprintf(out, len, "ok           via pin %d %s (%s) at depth %d", c->result.pin, s,
			certpin_position_name(c->matched_position), c->result.depth);
		break;
	case CERTPIN_PLAN_NOT_PINNED:
		n = (size_t)snprintf(out, len, "ok           not pinned (no rule for this host)");
		break;
	case CERTPIN_PLAN_REPORT_ONLY:
		n = (size_t)snprintf(out, len, "ok           REPORT-ONLY: no pin matches, failures are reported");
		break;
	case CERTPIN_PLAN_EXPIRED_OPEN:
		n = (size_t)snprintf(out, len, "ok           pinset expired, pins not checked (fail-open)");
		break;
	case CERTPIN_PLAN_LOCKOUT:
		n = (size_t)snprintf(out, len, "LOCKOUT      no pin matches the planned chain");
		break;
	case CERTPIN_PLAN_EXPIRED_CLOSED:
		n = (size_t)snprintf(out, len, "LOCKOUT      pinset expired (fail-closed)");
		break;
	case CERTPIN_PLAN_UNKNOWN:
		n = (size_t)snprintf(out, len, "UNKNOWN      no pin matches the known certificates; a pin may "
			"match an unknown one");
		break;
	default:
		n = (size_t)snprintf(out, len, "INVALID      %s", certpin_strerror(c->engine_rc));
		break;
	}
	if (n < len && c->expires) {
		cli_time_date(d, c->expires);
		snprintf(out + n, len - n, "; pinset expires %s (%s)%s", d, certpin_expiry_action_name(c->on_expiry),
			c->expiring_soon ? " SOON" : "");
	}
}

void plan_print_text(const plan_args *a, const certpin_plan *plan, int64_t at)
{
	char t[32], s[CERTPIN_PIN_STRLEN], line[600];
	size_t w = 7;

	cli_time_rfc3339(t, at);
	printf("planned state (deploy at %s):\n", t);
	for (size_t i = 0; i < a->ntargets; i++) {
		const target *g = &a->targets[i];

		printf("  %s: %s\n", g->norm, g->source);
		if (g->key_note[0])
			printf("    note: %s\n", g->key_note);
		for (size_t k = 0; k < g->chain.n; k++) {
			pin_of(s, &g->chain.elems[k]);
			printf("    %zu %-12s %s%s%s\n", k, rot_position(k, g->chain.n), s,
				g->chain.subjects[k] ? "  " : "", g->chain.subjects[k] ? g->chain.subjects[k] : "");
		}
	}
	for (size_t i = 0; i < a->npols; i++)
		if (strlen(a->pols[i].name) > w)
			w = strlen(a->pols[i].name);
	printf("shipped versions:\n");
	for (size_t i = 0; i < a->npols; i++) {
		size_t n = certpin_policy_host_count(a->pols[i].policy);

		if (a->pols[i].named)
			printf("  %-*s %s (%zu rule%s)\n", (int)w, a->pols[i].name, a->pols[i].path, n, n == 1 ? "" : "s");
		else
			printf("  %s (%zu rule%s)\n", a->pols[i].path, n, n == 1 ? "" : "s");
	}
	printf("matrix:\n");
	for (size_t i = 0; i < a->npols; i++) {
		for (size_t h = 0; h < a->ntargets; h++) {
			describe(line, sizeof(line), certpin_plan_get_cell(plan, i, h));
			printf("  %-*s %s  %s\n", (int)w, a->pols[i].name, certpin_plan_host_name(plan, h), line);
		}
	}
	char *v = verdict_text(a, plan);

	printf("verdict: %s", v ? v : "(out of memory)\n");
	free(v);
}

static json_t *cell_json(const certpin_plan *plan, size_t i, size_t h)
{
	const certpin_plan_cell *c = certpin_plan_get_cell(plan, i, h);
	json_t *o = json_object();
	char s[CERTPIN_PIN_STRLEN], d[32];
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "version", json_string(certpin_plan_policy_name(plan, i)));
	bad |= json_object_set_new(o, "host", json_string(certpin_plan_host_name(plan, h)));
	bad |= json_object_set_new(o, "outcome", json_string(certpin_plan_outcome_name(c->outcome)));
	bad |= json_object_set_new(o, "connects", json_boolean(c->connects));
	bad |= json_object_set_new(o, "verdict", json_string(certpin_verdict_name(c->result.verdict)));
	if (c->result.pin >= 0) {
		cli_pin_string(s, &c->matched, CERTPIN_STYLE_DEFAULT);
		bad |= json_object_set_new(o, "pin", json_string(s));
		bad |= json_object_set_new(o, "pin_index", json_integer(c->result.pin));
		bad |= json_object_set_new(o, "pin_position", json_string(certpin_position_name(c->matched_position)));
		bad |= json_object_set_new(o, "depth", json_integer(c->result.depth));
	} else {
		bad |= json_object_set_new(o, "pin", json_null());
		bad |= json_object_set_new(o, "pin_index", json_null());
		bad |= json_object_set_new(o, "pin_position", json_null());
		bad |= json_object_set_new(o, "depth", json_null());
	}
	if (c->expires) {
		cli_time_rfc3339(d, c->expires);
		bad |= json_object_set_new(o, "pinset_expires", json_string(d));
		bad |= json_object_set_new(o, "on_expiry", json_string(certpin_expiry_action_name(c->on_expiry)));
		bad |= json_object_set_new(o, "expiring_soon", json_boolean(c->expiring_soon));
		bad |= json_object_set_new(o, "after_expiry", json_string(certpin_plan_outcome_name(c->after_expiry)));
	} else {
		bad |= json_object_set_new(o, "pinset_expires", json_null());
		bad |= json_object_set_new(o, "on_expiry", json_null());
		bad |= json_object_set_new(o, "expiring_soon", json_false());
		bad |= json_object_set_new(o, "after_expiry", json_null());
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *pins_json(const certpin_pin *pins, size_t n)
{
	json_t *a = json_array();
	char s[CERTPIN_PIN_STRLEN];

	for (size_t i = 0; a && i < n; i++) {
		cli_pin_string(s, &pins[i], CERTPIN_STYLE_DEFAULT);
		if (json_array_append_new(a, json_string(s)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *names_json(const certpin_plan *plan, const size_t *idx, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(certpin_plan_policy_name(plan, idx[i]))) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int plan_print_json(const plan_args *a, const certpin_plan *plan, int64_t at, int exit_code)
{
	json_t *o = json_object(), *hosts = json_array(), *matrix = json_array(), *warnings = json_array(),
		*locked = json_array();
	char t[32];
	int bad = !o || !hosts || !matrix || !warnings || !locked;

	if (bad) {
		json_decref(o);
		json_decref(hosts);
		json_decref(matrix);
		json_decref(warnings);
		json_decref(locked);
		return -1;
	}
	cli_time_rfc3339(t, at);
	bad |= json_object_set_new(o, "at", json_string(t));
	bad |= json_object_set_new(o, "verdict", json_string(a->undecided ? "undecided" :
		certpin_plan_verdict_name(certpin_plan_get_verdict(plan))));
	bad |= json_object_set_new(o, "safe", json_boolean(certpin_plan_get_verdict(plan) == CERTPIN_PLAN_SAFE &&
		!a->undecided));
	for (size_t h = 0; h < a->ntargets; h++) {
		const target *g = &a->targets[h];
		certpin_plan_advice adv;
		json_t *j = json_object();

		if (!j || json_array_append_new(hosts, j) != 0 || certpin_plan_get_advice(&adv, plan, h) != CERTPIN_OK) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(j, "host", json_string(certpin_plan_host_name(plan, h)));
		bad |= json_object_set_new(j, "source", json_string(g->source));
		bad |= json_object_set_new(j, "note", cli_json_str(g->key_note[0] ? g->key_note : NULL));
		bad |= json_object_set_new(j, "verified", json_boolean(g->chain.verified));
		bad |= json_object_set_new(j, "unverified_reason", cli_json_str(plan_unverified(g) ? g->chain.unverified : NULL));
		bad |= json_object_set_new(j, "chain", rot_chain_json(&g->chain));
		bad |= json_object_set_new(j, "refused", names_json(plan, adv.refused, adv.nrefused));
		bad |= json_object_set_new(j, "undecided", names_json(plan, adv.undecided, adv.nundecided));
		bad |= json_object_set_new(j, "offered_pins", pins_json(adv.offered, adv.noffered));
		bad |= json_object_set_new(j, "already_pinned_by", names_json(plan, adv.holders, adv.nholders));
		bad |= json_object_set_new(j, "keep_pins", pins_json(adv.keep, adv.nkeep));
		char *fix = render_plan_fix(plan, a->policies, h);
		bad |= !fix || json_object_set_new(j, "fix", json_string(fix));
		free(fix);
	}
	for (size_t i = 0; i < a->npols; i++) {
		int refused = 0;

		for (size_t h = 0; h < a->ntargets; h++) {
			const certpin_plan_cell *c = certpin_plan_get_cell(plan, i, h);
			json_t *cj = cell_json(plan, i, h);

			if (!cj || json_array_append_new(matrix, cj) != 0)
				bad = 1;
			if (!c->connects && c->outcome != CERTPIN_PLAN_UNKNOWN)
				refused = 1;
		}
		if (refused && json_array_append_new(locked, json_string(a->pols[i].name)) != 0)
			bad = 1;
	}
	for (size_t i = 0; i < certpin_plan_warning_count(plan); i++) {
		char w[1024];
		render_plan_warning(w, sizeof(w), plan, certpin_plan_warning_at(plan, i));
		if (json_array_append_new(warnings, json_string(w)) != 0)
			bad = 1;
	}
	bad |= json_object_set_new(o, "locked_out", locked);
	bad |= json_object_set_new(o, "hosts", hosts);
	bad |= json_object_set_new(o, "matrix", matrix);
	bad |= json_object_set_new(o, "warnings", warnings);
	char *v = verdict_text(a, plan);
	bad |= !v || json_object_set_new(o, "text", json_string(v));
	free(v);
	bad |= json_object_set_new(o, "exit_code", json_integer(exit_code));
	if (bad) {
		json_decref(o);
		return -1;
	}
	return cli_json_print(o);
}
