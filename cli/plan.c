/*
 * certpin plan: would the app versions still in the field connect after a
 * planned certificate, key or CA change?  Builds the planned chain of every
 * host (from chain files, a new key or CSR, or a live server) and prints the
 * library's verdict (certpin_plan_evaluate(), which asks certpin_verify()).
 */
#include "render.h"
#include "rotation.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void usage_plan(FILE *f)
{
	fputs("usage: certpin plan [NAME=]POLICY... [--host NAME] (--chain FILE | --connect HOST[:PORT])\n"
		"                    [--key FILE | --csr FILE] [--host NAME ...] [--cafile [NAME=]FILE]\n"
		"                    [--at DATE] [--expiry-window DAYS] [--format FMT] [--json]\n"
		"\n"
		"Each POLICY is the pinning policy of one app version still in the field:\n"
		"certpin JSON, Android network_security_config.xml, or a file of OkHttp/curl pin\n"
		"strings; NAME (default: the file name) names the version in the output.\n"
		"The planned server state follows, per host: -H, --host NAME starts a host\n"
		"(options before the first --host are for the default host), then\n"
		"\n"
		"      --chain FILE          the new chain (PEM, leaf first)\n"
		"      --connect HOST[:PORT] the chain a server serves now (e.g. a staging\n"
		"                            server)\n"
		"  -k, --key FILE            a new leaf key (private or public key, or CSR;\n"
		"      --csr FILE            both the same): the rest of the chain comes from\n"
		"                            --chain/--connect if given (the CA chain stays,\n"
		"                            only the leaf key changes: the current leaf's\n"
		"                            expiry and host are not checked), else it is\n"
		"                            unknown and the verdict at best UNDECIDED\n"
		"\n"
		"Without --host the host is the one host named by the policies (or the\n"
		"--connect host).  For every version and host the matrix says whether it still\n"
		"connects and through which pin; the verdict is \"safe to deploy\" (exit 0) or\n"
		"names the versions that would be locked out and the fix (exit 1; also when\n"
		"the outcome depends on unknown certificates).  Pinsets expiring within the\n"
		"window are flagged.\n"
		"\n"
		"  -c, --cafile FILE         trust anchors (default: the system store): chain\n"
		"                            files are PKIX-verified for the host at --at and\n"
		"                            completed to their root, --connect verifies\n"
		"                            against them.  A chain file must be in order (leaf\n"
		"                            first, each certificate issued by the next), valid\n"
		"                            at --at and for the host, with a leaf that is not\n"
		"                            a CA: else, or if it fails PKIX validation, every\n"
		"                            version is locked out (exit 1).  Without --cafile,\n"
		"                            a chain file whose issuer is not in the system\n"
		"                            store has an unknown root, and the verdict is at\n"
		"                            best UNDECIDED (exit 1)\n"
		"  -c, --cafile NAME=FILE    version NAME's own trust anchors: an Android\n"
		"                            version whose <trust-anchors> leave out the system\n"
		"                            store is at best UNDECIDED without them; with them\n"
		"                            a --chain file is also PKIX-verified against FILE\n"
		"                            (failure: UNSAFE)\n"
		"      --at DATE             deploy time (YYYY-MM-DD or RFC 3339; default now)\n"
		"      --expiry-window N     flag pinsets expiring within N days (default 30)\n"
		"  -f, --format FMT          policy format: auto (default), json, android, pins\n"
		"  -j, --json                print a JSON object instead of text\n", f);
}

#define MAX_TARGETS 64

typedef struct target {
	const char *host;       /* NULL: not given yet */
	const char *chain_file;
	const char *connect;
	const char *key_file;
	int key_is_csr;
	rot_chain chain;
	char key_note[512];
	char source[1024];
	char norm[CERTPIN_HOSTNAME_MAX];
	char hostbuf[CERTPIN_HOSTNAME_MAX];
} target;

typedef struct shipped {
	const char *name;
	const char *path;
	int named;              /* NAME= given (else the name is the file's) */
	const char *cafile;     /* --cafile NAME=FILE: this version's own trust anchors */
	certpin_policy *policy;
	certpin_import_anchors *anchors; /* an Android version's own trust anchors, if any */
} shipped;

typedef struct plan_args {
	shipped *pols;
	size_t npols;
	target targets[MAX_TARGETS];
	size_t ntargets;
	const char *cafile, *at, *window, *format;
	const char *cafiles[MAX_TARGETS];       /* every --cafile value, resolved in run_plan() */
	size_t ncafiles;
	int json;
	const certpin_policy **policies; /* the versions' policies, in the plan's order */
	int undecided;          /* pins say safe, but a chain is not PKIX-verified or unknown */
	int anchors_unchecked;  /* a version trusts only its own anchors, not checked */
	char anchor_msgs[4096]; /* one line per such version and host */
} plan_args;

static target *current(plan_args *a)
{
	if (a->ntargets == 0)
		a->ntargets = 1;
	return &a->targets[a->ntargets - 1];
}

/* --host, --chain, --connect, --key, --csr and --cafile, which may repeat: in order. */
static int plan_option(void *payload, const char *name, const char *v)
{
	plan_args *a = payload;
	target *t;

	if (strcmp(name, "--cafile") == 0) {
		if (a->ncafiles == MAX_TARGETS) {
			cli_error("plan: at most %d --cafile options", MAX_TARGETS);
			return CLI_EXIT_USAGE;
		}
		a->cafiles[a->ncafiles++] = v;
		return 0;
	}
	if (strcmp(name, "--host") == 0) {
		if (a->ntargets == MAX_TARGETS) {
			cli_error("plan: at most %d hosts", MAX_TARGETS);
			return CLI_EXIT_USAGE;
		}
		a->targets[a->ntargets++].host = v;
		return 0;
	}
	t = current(a);
	if (strcmp(name, "--chain") == 0 || strcmp(name, "--connect") == 0) {
		if (t->chain_file || t->connect) {
			cli_error("plan: %s: one --chain or --connect per host (start another with --host)",
				t->host ? t->host : "host");
			return CLI_EXIT_USAGE;
		}
		if (strcmp(name, "--chain") == 0)
			t->chain_file = v;
		else
			t->connect = v;
		return 0;
	}
	if (t->key_file) {
		cli_error("plan: %s: one --key or --csr per host", t->host ? t->host : "host");
		return CLI_EXIT_USAGE;
	}
	t->key_file = v;
	t->key_is_csr = strcmp(name, "--csr") == 0;
	return 0;
}

/* A shipped POLICY operand: [NAME=]FILE (a '/' before the '=' makes it a file name). */
static void add_shipped(plan_args *a, char *arg)
{
	shipped *s = &a->pols[a->npols++];
	char *sep = strchr(arg, '=');

	if (sep && sep != arg && sep[1] && !memchr(arg, '/', (size_t)(sep - arg))) {
		*sep = '\0';
		s->name = arg;
		s->path = sep + 1;
		s->named = 1;
	} else {
		const char *slash = strrchr(arg, '/');

		s->path = arg;
		s->name = slash && slash[1] ? slash + 1 : arg;
	}
}

/* The single host name the policies pin (exact names and include_subdomains bases), or NULL. */
static const char *default_host(const plan_args *a, char *buf, size_t len)
{
	const char *found = NULL;

	for (size_t i = 0; i < a->npols; i++) {
		size_t n = certpin_policy_host_count(a->pols[i].policy);

		for (size_t k = 0; k < n; k++) {
			certpin_host_info h;

			if (certpin_policy_host(&h, a->pols[i].policy, k) != CERTPIN_OK || h.wildcard == 1)
				continue;
			if (found && strcmp(found, h.name) != 0)
				return NULL;
			snprintf(buf, len, "%s", h.name);
			found = buf;
		}
	}
	return found;
}

/* Replace the chain's leaf with the new key's SPKI (or start a chain of unknowns). */
static int apply_key(target *t, char *err, size_t errlen)
{
	certpin_item *items = NULL;
	size_t count = 0;
	int rc = certpin_items_from_file(&items, &count, t->key_file);

	if (rc != CERTPIN_OK) {
		snprintf(err, errlen, "%s: %s", t->key_file, certpin_strerror(rc));
		return CLI_EXIT_USAGE;
	}
	if (count != 1 || (t->key_is_csr ? items[0].type != CERTPIN_ITEM_CSR :
			items[0].type != CERTPIN_ITEM_PRIVKEY && items[0].type != CERTPIN_ITEM_PUBKEY)) {
		snprintf(err, errlen, "%s: expected exactly one %s", t->key_file,
			t->key_is_csr ? "CSR" : "private or public key");
		certpin_items_free(items, count);
		return CLI_EXIT_USAGE;
	}
	if (t->chain.n == 0) {
		/* leaf, one intermediate, root: the usual shape; both CA elements unknown */
		if (rot_chain_append_unknown(&t->chain, NULL) != 0 || rot_chain_append_unknown(&t->chain, NULL) != 0 ||
				rot_chain_append_unknown(&t->chain, NULL) != 0) {
			certpin_items_free(items, count);
			snprintf(err, errlen, "out of memory");
			return CLI_EXIT_INTERNAL;
		}
		snprintf(t->key_note, sizeof(t->key_note), "leaf key from %s; the CA part of the chain is unknown "
			"(assumed: one intermediate and a root; give --chain or --connect with the current chain)",
			t->key_file);
		/* even if every pin matches the new key, the new chain is never checked */
		snprintf(t->chain.unverified, sizeof(t->chain.unverified), "new leaf key only: the CA chain is "
			"unknown, so whether clients accept the new certificate is not checked (give --chain with the "
			"current chain, or --connect)");
	} else {
		snprintf(t->key_note, sizeof(t->key_note), "leaf key from %s: assumes the current CA chain stays "
			"and only the leaf key changes (a new certificate is issued for it)", t->key_file);
	}
	memset(&t->chain.elems[0], 0, sizeof(t->chain.elems[0]));
	t->chain.elems[0].flags = CERTPIN_HAVE_SPKI;
	memcpy(t->chain.elems[0].spki_sha256, items[0].spki.digest, CERTPIN_DIGEST_LEN);
	free(t->chain.subjects[0]);
	t->chain.subjects[0] = NULL;
	if (items[0].subject) {
		t->chain.subjects[0] = malloc(strlen(items[0].subject) + 1);
		if (t->chain.subjects[0])
			strcpy(t->chain.subjects[0], items[0].subject);
	}
	t->chain.not_after[0] = 0;
	t->chain.verified = 0;
	certpin_items_free(items, count);
	return 0;
}

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
static int unverified(const target *t)
{
	return (t->chain_file || !t->connect) && t->chain.unverified[0];
}

static size_t unverified_count(const plan_args *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->ntargets; i++)
		if (unverified(&a->targets[i]))
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
			unverified_count(a) > 0 ? "the planned chain is not proven valid" :
			"not every version's trust anchors were checked");
	}
	p += snprintf(p, len - (size_t)(p - out), "%s", a->anchor_msgs);
	for (size_t i = 0; i < a->ntargets; i++) {
		const target *t = &a->targets[i];

		if (t->chain_file && t->chain.unverified[0])
			p += snprintf(p, len - (size_t)(p - out), "%s: chain from %s %s\n", t->norm, t->chain_file,
				t->chain.unverified);
		else if (unverified(t))
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

static void print_text(const plan_args *a, const certpin_plan *plan, int64_t at)
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

static int print_json(const plan_args *a, const certpin_plan *plan, int64_t at, int exit_code)
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
		bad |= json_object_set_new(j, "unverified_reason", cli_json_str(unverified(g) ? g->chain.unverified : NULL));
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

/*
 * Versions that trust only their own anchors for `t` (Android
 * <trust-anchors> without "system"): with --cafile NAME=FILE, the chain
 * file is PKIX-verified against FILE too (a failure locks that version out:
 * CLI_EXIT_REFUSED after the message); else the version is noted and the
 * verdict is at best UNDECIDED.  0 or an exit code.
 */
static int check_own_anchors(plan_args *a, const target *t, int64_t at)
{
	char err[600];
	size_t len = strlen(a->anchor_msgs);

	for (size_t i = 0; i < a->npols; i++) {
		const shipped *s = &a->pols[i];
		const char *anchors = certpin_import_anchors_for(s->anchors, s->policy, t->norm);
		rot_chain tmp;
		int rc;

		if (!anchors)
			continue;
		if (s->cafile && t->chain_file) {
			rc = rot_chain_from_file(&tmp, t->chain_file, s->cafile,
				t->key_file ? ROT_LEAF_REPLACED : 0, t->norm, at, err, sizeof(err));
			rot_chain_free(&tmp);
			if (rc == CLI_EXIT_REFUSED) {
				cli_error("plan: version %s trusts only its own anchors (%s): %s (it would refuse it): UNSAFE",
					s->name, anchors, err);
				return rc;
			}
			if (rc != 0) {
				cli_error("plan: %s", err);
				return rc;
			}
			continue;
		}
		a->anchors_unchecked = 1;
		len += (size_t)snprintf(a->anchor_msgs + len, len < sizeof(a->anchor_msgs) ? sizeof(a->anchor_msgs) - len : 0,
			"%s: version %s trusts only its own anchors (%s), not %s: %s\n", t->norm, s->name, anchors,
			a->cafile ? "--cafile" : "the system store", t->chain_file ?
			"give them with --cafile NAME=FILE" : "give --chain with the planned chain and --cafile NAME=FILE");
		if (len >= sizeof(a->anchor_msgs))
			len = sizeof(a->anchor_msgs) - 1;
	}
	return 0;
}

/* The option values and the planned state of every host: 0, or CLI_EXIT_USAGE after a message. */
static int check_args(plan_args *a, certpin_import_format *fmt, certpin_plan_options *po, int64_t *at)
{
	unsigned long window = po->expiry_window_days;

	if (a->npols == 0) {
		cli_error("plan: give at least one shipped POLICY (see certpin help plan)");
		return CLI_EXIT_USAGE;
	}
	if (a->ntargets == 0) {
		cli_error("plan: give the planned server state: --chain FILE, --connect HOST or --key FILE");
		return CLI_EXIT_USAGE;
	}
	if (rot_opt_format(fmt, "plan", a->format) || rot_opt_time(at, "plan", a->at) ||
	    rot_opt_uint(&window, "plan", "--expiry-window", a->window, 0, 36500, " days"))
		return CLI_EXIT_USAGE;
	po->expiry_window_days = (unsigned int)window;
	for (size_t i = 0; i < a->ntargets; i++) {
		const target *t = &a->targets[i];

		if (!t->chain_file && !t->connect && !t->key_file) {
			cli_error("plan: %s: no planned state (--chain, --connect or --key/--csr)", t->host ? t->host : "host");
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* --cafile NAME=FILE gives version NAME's own anchors; else the one --cafile for all.  0 or CLI_EXIT_USAGE. */
static int assign_cafiles(plan_args *a)
{
	for (size_t k = 0; k < a->ncafiles; k++) {
		const char *val = a->cafiles[k], *eq = strchr(val, '=');
		shipped *s = NULL;

		for (size_t i = 0; eq && !s && i < a->npols; i++)
			if (strlen(a->pols[i].name) == (size_t)(eq - val) &&
					strncmp(a->pols[i].name, val, (size_t)(eq - val)) == 0)
				s = &a->pols[i];
		if (s && (s->cafile || !eq[1])) {
			cli_error("plan: --cafile %s: %s", val, s->cafile ? "one --cafile per version" : "no FILE");
			return CLI_EXIT_USAGE;
		}
		if (s) {
			s->cafile = eq + 1;
		} else if (a->cafile) {
			cli_error("plan: one --cafile FILE for all versions (give a version's own with --cafile NAME=FILE)");
			return CLI_EXIT_USAGE;
		} else {
			a->cafile = val;
		}
	}
	return 0;
}

/*
 * Host i's name: --host, else the one host the policies name (kept in
 * `defbuf`), else the --connect host; normalized, not given twice.  0 or
 * CLI_EXIT_USAGE.
 */
static int target_host(plan_args *a, size_t i, char defbuf[CERTPIN_HOSTNAME_MAX])
{
	target *t = &a->targets[i];
	cli_target ct;

	if (!t->host)
		t->host = default_host(a, defbuf, CERTPIN_HOSTNAME_MAX);
	if (!t->host && t->connect) {
		if (cli_parse_target(&ct, t->connect) != 0)
			return CLI_EXIT_USAGE;
		snprintf(t->hostbuf, sizeof(t->hostbuf), "%s", ct.host);
		t->host = t->hostbuf;
	}
	if (!t->host) {
		cli_error("plan: the policies name no single host: say which with --host NAME");
		return CLI_EXIT_USAGE;
	}
	if (certpin_hostname_normalize(t->norm, sizeof(t->norm), t->host) != CERTPIN_OK) {
		cli_error("plan: invalid host name '%s'", t->host);
		return CLI_EXIT_USAGE;
	}
	for (size_t k = 0; k < i; k++) {
		if (strcmp(a->targets[k].norm, t->norm) == 0) {
			cli_error("plan: host %s given twice", t->norm);
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* The planned chain of `t`: from --chain, --connect and --key/--csr.  0 or an exit status after a message. */
static int target_chain(const plan_args *a, target *t, int64_t at)
{
	char err[600];
	int rc = 0;

	if (t->chain_file) {
		rc = rot_chain_from_file(&t->chain, t->chain_file, a->cafile,
			ROT_SYSTEM_STORE | (t->key_file ? ROT_LEAF_REPLACED : 0), t->norm, at, err, sizeof(err));
		if (rc == CLI_EXIT_REFUSED) {
			/* a chain no client would accept: every version is locked out, pins or not */
			cli_error("plan: %s (every client would refuse it): UNSAFE", err);
			return CLI_EXIT_REFUSED;
		}
		if (rc == 0)
			snprintf(t->source, sizeof(t->source), "chain from %s (%s)", t->chain_file,
				t->chain.verified ? (a->cafile ? "PKIX-verified with --cafile" :
				"PKIX-verified with the system trust store") : t->chain.unverified);
	} else if (t->connect) {
		rc = rot_chain_connect(&t->chain, t->connect, t->norm, a->cafile, err, sizeof(err));
		if (rc == 0) {
			/* through a local buffer: gcc's -Wrestrict cannot tell t->chain from t->source */
			char src[sizeof(t->source)];
			snprintf(src, sizeof(src), "verified chain served by %s (%s port %s)", t->connect,
				t->chain.address, t->chain.port);
			memcpy(t->source, src, sizeof(src));
		}
	} else {
		snprintf(t->source, sizeof(t->source), "new leaf key only");
	}
	if (rc == 0 && t->key_file)
		rc = apply_key(t, err, sizeof(err));
	if (rc != 0)
		cli_error("plan: %s", err);
	return rc;
}

/* Evaluate the plan and print it; the exit status. */
static int evaluate(plan_args *a, const certpin_plan_host *hosts, certpin_plan_options *po)
{
	const certpin_policy **pols = calloc(a->npols, sizeof(*pols));
	const char **names = calloc(a->npols, sizeof(*names));
	certpin_plan *plan = NULL;
	int rc, status;

	if (!pols || !names) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < a->npols; i++) {
		pols[i] = a->pols[i].policy;
		names[i] = a->pols[i].name;
	}
	a->policies = pols;
	rc = certpin_plan_evaluate(&plan, pols, names, a->npols, hosts, a->ntargets, po, NULL);
	if (rc != CERTPIN_OK) {
		cli_error("plan: %s", certpin_strerror(rc));
		status = cli_exit_for(rc);
		goto out;
	}
	/*
	 * Pins alone cannot make a chain that was not PKIX-verified safe, nor
	 * an unknown one (a new key only), even if every pin matches the key.
	 */
	if (certpin_plan_get_verdict(plan) == CERTPIN_PLAN_SAFE && (unverified_count(a) > 0 || a->anchors_unchecked))
		a->undecided = 1;
	status = certpin_plan_get_verdict(plan) == CERTPIN_PLAN_SAFE && !a->undecided ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
	if (!a->json)
		print_text(a, plan, po->at);
	else if (print_json(a, plan, po->at, status) != 0) {
		cli_error("cannot write JSON output");
		status = CLI_EXIT_INTERNAL;
	}
out:
	certpin_plan_free(plan);
	free(pols);
	free(names);
	return status;
}

static int run_plan(plan_args *a)
{
	certpin_import_format fmt = CERTPIN_IMPORT_AUTO;
	certpin_plan_options po = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan_host hosts[MAX_TARGETS];
	char defbuf[CERTPIN_HOSTNAME_MAX];
	const char *first_host = NULL;
	int64_t at = (int64_t)time(NULL);
	int status;

	if ((status = check_args(a, &fmt, &po, &at)) != 0 || (status = assign_cafiles(a)) != 0)
		return status;
	for (size_t i = 0; i < a->ntargets && !first_host; i++)
		first_host = a->targets[i].host;
	for (size_t i = 0; i < a->npols; i++) {
		const cli_policy_opts lo = { .import = 1, .format = fmt, .default_host = first_host,
			.anchors = &a->pols[i].anchors };
		if ((status = cli_policy_load(&a->pols[i].policy, a->pols[i].path, &lo)) != CLI_EXIT_OK)
			return status;
	}
	for (size_t i = 0; i < a->ntargets; i++) {
		target *t = &a->targets[i];

		if ((status = target_host(a, i, defbuf)) != 0 || (status = target_chain(a, t, at)) != 0 ||
		    (status = check_own_anchors(a, t, at)) != 0)
			return status;
		hosts[i].hostname = t->norm;
		hosts[i].chain = t->chain.elems;
		hosts[i].n = t->chain.n;
	}
	po.at = at;
	return evaluate(a, hosts, &po);
}

int cmd_plan(int argc, char **argv)
{
	plan_args *a = calloc(1, sizeof(*a));
	cli_args args;
	int status;

	if (!a) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	const cli_opt opts[] = {
		CLI_EACH("--host", 'H', plan_option, a),
		CLI_EACH("--chain", 0, plan_option, a),
		CLI_EACH("--connect", 0, plan_option, a),
		CLI_EACH("--key", 'k', plan_option, a),
		CLI_EACH("--csr", 0, plan_option, a),
		CLI_EACH("--cafile", 'c', plan_option, a),
		CLI_VALUE("--at", 0, &a->at),
		CLI_VALUE("--expiry-window", 0, &a->window),
		CLI_VALUE("--format", 'f', &a->format),
		CLI_FLAG("--json", 'j', &a->json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "plan", usage_plan, opts, 0, CLI_ANY, NULL, 0 };

	status = cli_start(&args, &spec, argc, argv);
	if (status == CLI_RUN && !(a->pols = calloc(args.n + 1, sizeof(*a->pols)))) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
	}
	if (status == CLI_RUN) {
		for (size_t i = 0; i < args.n; i++)
			add_shipped(a, args.operands[i]);
		status = run_plan(a);
	}
	for (size_t i = 0; i < a->npols; i++) {
		certpin_policy_free(a->pols[i].policy);
		certpin_import_anchors_free(a->pols[i].anchors);
	}
	for (size_t i = 0; i < a->ntargets; i++)
		rot_chain_free(&a->targets[i].chain);
	free(a->pols);
	free(a);
	return status;
}
