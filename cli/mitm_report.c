/*
 * mitm_report.c - the attack catalog's names, the run record, and the
 * "certpin mitm" scorecard as text, JSON and one self-contained HTML page
 * (inline CSS and SVG; no script, no external resource, readable offline).
 *
 * Uses no OpenSSL and no other CLI file, so fuzz/fuzz_mitm_report.c can build
 * it alone.  Strings from the client are already sanitized to printable
 * ASCII in the run record (mitm_sanitize()); HTML output escapes every string
 * again, JSON output relies on jansson's escaping.
 */
#include "mitm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certpin.h"

/* ---- catalog --------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *summary;
} catalog[MITM_NATTACKS] = {
	[MITM_CONTROL] = { "control",
		"the tester's own certificate for the host (--control-cert): the client must accept it" },
	[MITM_SELF_SIGNED] = { "self-signed", "a self-signed certificate for the host" },
	[MITM_ROGUE_CA] = { "rogue-ca",
		"a certificate for the host from the rogue CA the client trusts, as an interception proxy presents" },
	[MITM_CHAIN_INJECTION] = { "chain-injection",
		"the rogue-ca certificate followed by the real (pinned) chain; accepted by clients that check "
		"pins on the chain the server sent (CVE-2016-2402)" },
	[MITM_EXPIRED] = { "expired", "a rogue-CA certificate for the host whose validity ended 30 days ago" },
	[MITM_WRONG_HOST] = { "wrong-host",
		"a rogue-CA certificate with CN = the host but subjectAltName wrong-host.certpin-mitm.invalid only" },
	[MITM_WILDCARD_TOO_DEEP] = { "wildcard-too-deep",
		"a rogue-CA certificate whose only name is a wildcard two labels above the host (*.example.com "
		"for a.api.example.com): the \"*\" would have to match two labels; needs a host of four labels" },
	[MITM_WEAK_KEY] = { "weak-key", "a rogue-CA certificate for the host with an RSA-1024 key" },
};

const char *mitm_attack_name(int id)
{
	return id >= 0 && id < MITM_NATTACKS ? catalog[id].name : NULL;
}

const char *mitm_attack_summary(int id)
{
	return id >= 0 && id < MITM_NATTACKS ? catalog[id].summary : NULL;
}

int mitm_attack_lookup(const char *name, size_t len)
{
	for (int i = 0; i < MITM_NATTACKS; i++)
		if (strlen(catalog[i].name) == len && memcmp(catalog[i].name, name, len) == 0)
			return i;
	return -1;
}

void mitm_sanitize(char *out, size_t outlen, const unsigned char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = data[i];
		char esc[5];
		size_t n;

		if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c >= 0x20 && c <= 0x7e) {
			esc[0] = (char)c;
			n = 1;
		} else {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
}

/* ---- run record -------------------------------------------------------------- */

mitm_attempt *mitm_run_add_attempt(mitm_run *run)
{
	mitm_attempt *a;

	if (run->nattempts == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 16;
		mitm_attempt *na = realloc(run->attempts, cap * sizeof(*na));

		if (!na)
			return NULL;
		run->attempts = na;
		run->cap = cap;
	}
	a = &run->attempts[run->nattempts++];
	memset(a, 0, sizeof(*a));
	a->n = (unsigned)run->nattempts;
	a->attack = -1;
	a->alert = -1;
	a->server_alert = -1;
	a->verdict = MITM_V_UNSCORED;
	return a;
}

void mitm_run_free(mitm_run *run)
{
	if (!run)
		return;
	free(run->attempts);
	run->attempts = NULL;
	run->nattempts = run->cap = 0;
}

/* ---- summary ---------------------------------------------------------------------- */

/* Was an attack issued by the rogue CA refused with "unknown CA" (48)? */
int mitm_rogue_ca_untrusted(const mitm_run *run)
{
	for (size_t i = 0; i < run->nattempts; i++) {
		const mitm_attempt *t = &run->attempts[i];

		if (t->attack >= 0 && t->attack != MITM_CONTROL && t->attack != MITM_SELF_SIGNED &&
		    t->verdict == MITM_V_REFUSED && t->alert == 48)
			return 1;
	}
	return 0;
}

void mitm_summarize(mitm_summary *out, const mitm_run *run)
{
	const mitm_attack_info *c = &run->attacks[MITM_CONTROL];
	unsigned rounds = run->rounds ? run->rounds : 1, attacks_run = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < MITM_NATTACKS; i++) {
		const mitm_attack_info *a = &run->attacks[i];

		/* Every runnable attack, the control included, is scheduled once per round. */
		if (a->runnable && a->attempts < rounds)
			out->not_tried += rounds - a->attempts;
		if (i == MITM_CONTROL)
			continue;
		attacks_run += a->runnable;
		out->attack_attempts += a->attempts;
		out->accepted += a->accepted;
	}
	if (c->attempts == 0)
		out->control = -1;
	else
		out->control = c->refused == 0 ? 1 : 0;
	/* An accepted attack is a finding whatever the control did. */
	if (out->accepted > 0)
		out->inconclusive = NULL;
	else if (out->control == 0)
		out->inconclusive = "the control was refused: the client fails against a certificate it should trust";
	else if (attacks_run == 0)
		out->inconclusive = "no attack but the control was selected";
	else if (c->runnable && out->control < 0)
		out->inconclusive = "the control got no verdict";
	else if (!c->runnable && !run->insecure_no_control)
		out->inconclusive = "no control case: a client that refuses every connection cannot be told apart "
			"(give --control-cert and --control-key, or --insecure-no-control)";
	else if (mitm_rogue_ca_untrusted(run) && !run->insecure_untrusted_ca)
		out->inconclusive = "the client refused the rogue CA as unknown: it does not trust it, so its refusals "
			"say nothing about pinning (install DIR/rogue-ca.pem in the client, or "
			"--insecure-untrusted-rogue-ca)";
	else if (out->not_tried > 0)
		out->inconclusive = "some scheduled attempts got no verdict (\"not tried\"); a pass needs every "
			"attack scored in every round";
	out->conclusive = out->inconclusive == NULL;
	if (out->accepted > 0)
		out->exit_code = 1;
	else
		out->exit_code = out->conclusive ? 0 : 2;
}

/* Number of labels of a DNS name. */
static int labels(const char *name)
{
	int n = name[0] ? 1 : 0;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

int mitm_attack_note(const mitm_run *run, int id, char *out, size_t outlen)
{
	const mitm_attack_info *a;

	if (id < 0 || id >= MITM_NATTACKS || outlen == 0)
		return 0;
	a = &run->attacks[id];
	out[0] = '\0';
	if (!a->runnable)
		return 0;
	if (id == MITM_WILDCARD_TOO_DEEP && labels(run->host) == 3) {
		snprintf(out, outlen, "the pattern *.%s has a single label: clients refuse it as a wildcard for a "
			"top-level domain, not for its depth; use a host of four labels or more for a meaningful result",
			strrchr(run->host, '.') + 1);
		return 1;
	}
	if (id == MITM_CONTROL || id == MITM_SELF_SIGNED)
		return 0;
	/* Issued by the rogue CA: "unknown CA" says the client does not trust it. */
	for (size_t i = 0; i < run->nattempts; i++) {
		const mitm_attempt *t = &run->attempts[i];

		if (t->attack == id && t->verdict == MITM_V_REFUSED && t->alert == 48) {
			snprintf(out, outlen, "refused with \"unknown CA\" (48): the client does not seem to trust the "
				"rogue CA (rogue-ca.pem), so this row does not test its own check%s",
				id == MITM_ROGUE_CA ? "; expired, wrong-host, wildcard-too-deep and weak-key fail the same way" : "");
			return 1;
		}
	}
	return 0;
}

static double rate_percent(const mitm_summary *s)
{
	return s->attack_attempts ? 100.0 * s->accepted / s->attack_attempts : 0.0;
}

static const char *verdict_name(mitm_verdict v)
{
	switch (v) {
	case MITM_V_REFUSED:
		return "refused";
	case MITM_V_ACCEPTED:
		return "accepted";
	case MITM_V_ABORTED:
		return "aborted";
	case MITM_V_UNSCORED:
		break;
	}
	return "unscored";
}

static const char *stage_name(mitm_stage s)
{
	switch (s) {
	case MITM_STAGE_HANDSHAKE:
		return "handshake";
	case MITM_STAGE_AFTER:
		return "after-handshake";
	case MITM_STAGE_DATA:
		return "data";
	case MITM_STAGE_IDLE:
		return "idle";
	case MITM_STAGE_NONE:
		break;
	}
	return "none";
}

/*
 * Verdict of one catalog row.  Capitals mark a problem: an attack the client
 * ACCEPTED, or a control it REFUSED.
 */
static const char *row_verdict(const mitm_run *run, int id)
{
	const mitm_attack_info *a = &run->attacks[id];

	if (!a->runnable)
		return "not run";
	if (a->attempts == 0)
		return a->unscored ? "not scored" : "not tried";
	if (id == MITM_CONTROL)
		return a->refused ? "REFUSED" : "accepted";
	return a->accepted ? "ACCEPTED" : "refused";
}

/* 1 if the row's outcome is what a safe client does. */
static int row_good(const mitm_run *run, int id)
{
	const mitm_attack_info *a = &run->attacks[id];

	return id == MITM_CONTROL ? a->refused == 0 : a->accepted == 0;
}

/*
 * The attempt that explains a row: the first accepted one for an attack that
 * was accepted, the first refused one for a control that was refused, else
 * the first scored attempt; with none scored, the last attempt given the
 * attack (why it got no verdict).  NULL if none.
 */
static const mitm_attempt *row_example(const mitm_run *run, int id)
{
	const mitm_attack_info *a = &run->attacks[id];
	mitm_verdict want = id == MITM_CONTROL ? (a->refused ? MITM_V_REFUSED : MITM_V_ACCEPTED) :
		(a->accepted ? MITM_V_ACCEPTED : MITM_V_REFUSED);
	const mitm_attempt *last = NULL;

	for (size_t i = 0; i < run->nattempts; i++) {
		if (run->attempts[i].attack != id)
			continue;
		if (run->attempts[i].verdict == want)
			return &run->attempts[i];
		last = &run->attempts[i];
	}
	return a->attempts ? NULL : last;
}

static const char *row_detail(const mitm_run *run, int id)
{
	const mitm_attack_info *a = &run->attacks[id];
	const mitm_attempt *ex = row_example(run, id);

	if (!a->runnable)
		return a->skip;
	return ex ? ex->reason : "no connection was given this attack";
}

static void time_rfc3339(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static const char *control_text(const mitm_run *run, const mitm_summary *s)
{
	if (s->control < 0 && run->attacks[MITM_CONTROL].runnable)
		return "no verdict: the control was not scored; the scorecard is inconclusive";
	if (s->control < 0 && run->insecure_no_control)
		return "not run (--insecure-no-control): refusals cannot be told apart from a client that fails "
			"every connection";
	if (s->control < 0)
		return "not run: refusals cannot be told apart from a client that fails every connection; "
			"the scorecard is inconclusive";
	if (s->control == 0)
		return s->conclusive ? "REFUSED: the client failed against a certificate it should trust" :
			"REFUSED: the client failed against a certificate it should trust; the scorecard is inconclusive";
	return "accepted";
}

/* ---- text -------------------------------------------------------------------------- */

static const char *result_text(const mitm_summary *s)
{
	return s->exit_code == 1 ? "FAIL: the client accepted an interception" :
		s->exit_code == 2 ? "INCONCLUSIVE" : "pass: every attack was refused";
}

/* Names of the attacks with scheduled attempts that got no verdict, ", "-separated. */
static void not_tried_names(char *out, size_t outlen, const mitm_run *run)
{
	unsigned rounds = run->rounds ? run->rounds : 1;
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < MITM_NATTACKS; i++) {
		const mitm_attack_info *a = &run->attacks[i];
		int n;

		if (!a->runnable || a->attempts >= rounds)
			continue;
		n = snprintf(out + used, outlen - used, "%s%s %u/%u", used ? ", " : "", mitm_attack_name(i),
			rounds - a->attempts, rounds);
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
}

int mitm_report_text(FILE *f, const mitm_run *run)
{
	mitm_summary s;
	char note[512], names[256];

	mitm_summarize(&s, run);
	fprintf(f, "certpin mitm scorecard for %s (listen %s, accept on %s)\n", run->host, run->listen,
		run->accept_on);
	fprintf(f, "%-18s %8s  %-14s %s\n", "attack", "attempts", "verdict", "detail");
	for (int i = 0; i < MITM_NATTACKS; i++) {
		const mitm_attack_info *a = &run->attacks[i];
		unsigned bad = i == MITM_CONTROL ? a->refused : a->accepted;
		char verdict[40];

		if (!a->selected)
			continue;
		/* With several rounds, how many attempts went wrong. */
		if (a->attempts > 1 && bad > 0)
			snprintf(verdict, sizeof(verdict), "%s %u/%u", row_verdict(run, i), bad, a->attempts);
		else
			snprintf(verdict, sizeof(verdict), "%s", row_verdict(run, i));
		fprintf(f, "%-18s %8u  %-14s %s\n", mitm_attack_name(i), a->attempts, verdict, row_detail(run, i));
	}
	for (int i = 0; i < MITM_NATTACKS; i++)
		if (run->attacks[i].selected && mitm_attack_note(run, i, note, sizeof(note)))
			fprintf(f, "note: %s: %s\n", mitm_attack_name(i), note);
	if (s.attack_attempts)
		fprintf(f, "MITM test failure rate: %u/%u attack attempts accepted (%.1f%%)\n", s.accepted,
			s.attack_attempts, rate_percent(&s));
	else
		fprintf(f, "MITM test failure rate: n/a (no attack was attempted)\n");
	fprintf(f, "control: %s\n", control_text(run, &s));
	if (s.not_tried) {
		not_tried_names(names, sizeof(names), run);
		fprintf(f, "not tried: %u scheduled attempt%s got no verdict (%s)\n", s.not_tried,
			s.not_tried == 1 ? "" : "s", names);
	}
	fprintf(f, "connections: %zu (%u not scored, %u aborted without an alert, %u with a wrong or no SNI); "
		"stopped: %s\n", run->nattempts, run->unscored, run->aborted, run->wrong_sni, run->stop_reason);
	if (s.inconclusive && s.exit_code == 2)
		fprintf(f, "result: %s: %s\n", result_text(&s), s.inconclusive);
	else
		fprintf(f, "result: %s\n", result_text(&s));
	return ferror(f) ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
	json_t *j = s && s[0] ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *attack_json(const mitm_run *run, int id)
{
	const mitm_attack_info *a = &run->attacks[id];
	json_t *o = json_object(), *p = NULL;
	unsigned rounds = run->rounds ? run->rounds : 1;
	char note[512];
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "name", json_string(mitm_attack_name(id)));
	bad |= json_object_set_new(o, "description", json_string(mitm_attack_summary(id)));
	bad |= json_object_set_new(o, "selected", json_boolean(a->selected));
	bad |= json_object_set_new(o, "runnable", json_boolean(a->runnable));
	bad |= json_object_set_new(o, "skip_reason", str_or_null(a->runnable ? NULL : a->skip));
	if (a->runnable && (p = json_object()) != NULL) {
		bad |= json_object_set_new(p, "subject", str_or_null(a->subject));
		bad |= json_object_set_new(p, "names", str_or_null(a->names));
		bad |= json_object_set_new(p, "issuer", str_or_null(a->issuer));
		bad |= json_object_set_new(p, "key", str_or_null(a->key));
		bad |= json_object_set_new(p, "not_before", str_or_null(a->not_before));
		bad |= json_object_set_new(p, "not_after", str_or_null(a->not_after));
		bad |= json_object_set_new(p, "spki_pin", str_or_null(a->spki_pin));
		bad |= json_object_set_new(p, "chain_length", json_integer(a->chain_len));
		bad |= json_object_set_new(p, "file", str_or_null(a->file));
		bad |= json_object_set_new(o, "presented", p);
	} else {
		bad |= a->runnable;
		bad |= json_object_set_new(o, "presented", json_null());
	}
	bad |= json_object_set_new(o, "attempts", json_integer(a->attempts));
	bad |= json_object_set_new(o, "accepted", json_integer(a->accepted));
	bad |= json_object_set_new(o, "refused", json_integer(a->refused));
	bad |= json_object_set_new(o, "unscored", json_integer(a->unscored));
	bad |= json_object_set_new(o, "aborted", json_integer(a->aborted));
	bad |= json_object_set_new(o, "not_tried", json_integer(a->runnable && a->attempts < rounds ?
		rounds - a->attempts : 0));
	bad |= json_object_set_new(o, "verdict", json_string(row_verdict(run, id)));
	bad |= json_object_set_new(o, "expected", json_string(id == MITM_CONTROL ? "accepted" : "refused"));
	bad |= json_object_set_new(o, "note", mitm_attack_note(run, id, note, sizeof(note)) ? json_string(note) :
		json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *attempt_json(const mitm_attempt *t)
{
	json_t *o = json_object();
	char when[32];
	int bad = 0;

	if (!o)
		return NULL;
	time_rfc3339(when, t->started);
	bad |= json_object_set_new(o, "n", json_integer(t->n));
	bad |= json_object_set_new(o, "attack", str_or_null(mitm_attack_name(t->attack)));
	bad |= json_object_set_new(o, "round", t->round ? json_integer(t->round) : json_null());
	bad |= json_object_set_new(o, "peer", str_or_null(t->peer));
	bad |= json_object_set_new(o, "started", json_string(when));
	bad |= json_object_set_new(o, "duration_ms", json_integer(t->duration_ms));
	bad |= json_object_set_new(o, "sni", t->have_sni ? json_string(t->sni) : json_null());
	bad |= json_object_set_new(o, "sni_matches_host", json_boolean(t->sni_ok));
	bad |= json_object_set_new(o, "tls_version", str_or_null(t->tls_version));
	bad |= json_object_set_new(o, "handshake", json_boolean(t->handshake));
	bad |= json_object_set_new(o, "app_data_bytes", json_integer((json_int_t)t->app_bytes));
	bad |= json_object_set_new(o, "app_data_excerpt", str_or_null(t->excerpt));
	bad |= json_object_set_new(o, "alert", t->alert >= 0 ? json_string(t->alert_text) : json_null());
	bad |= json_object_set_new(o, "alert_code", t->alert >= 0 ? json_integer(t->alert) : json_null());
	bad |= json_object_set_new(o, "server_alert", t->server_alert >= 0 ? json_string(t->server_alert_text) :
		json_null());
	bad |= json_object_set_new(o, "server_alert_code", t->server_alert >= 0 ? json_integer(t->server_alert) :
		json_null());
	bad |= json_object_set_new(o, "close_notify", json_boolean(t->close_notify));
	bad |= json_object_set_new(o, "error", str_or_null(t->error));
	bad |= json_object_set_new(o, "verdict", json_string(verdict_name(t->verdict)));
	bad |= json_object_set_new(o, "stage", json_string(stage_name(t->stage)));
	bad |= json_object_set_new(o, "reason", str_or_null(t->reason));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *mitm_report_json(const mitm_run *run)
{
	json_t *o = json_object(), *attacks = json_array(), *attempts = json_array(), *sum = json_object();
	mitm_summary s;
	char t[32];
	int bad = 0;

	if (!o || !attacks || !attempts || !sum)
		goto err;
	mitm_summarize(&s, run);
	bad |= json_object_set_new(o, "schema", json_integer(1));
	bad |= json_object_set_new(o, "generator", json_string("certpin mitm " CERTPIN_VERSION_STRING));
	bad |= json_object_set_new(o, "host", json_string(run->host));
	bad |= json_object_set_new(o, "listen", str_or_null(run->listen));
	bad |= json_object_set_new(o, "dir", str_or_null(run->dir));
	bad |= json_object_set_new(o, "accept_on", str_or_null(run->accept_on));
	bad |= json_object_set_new(o, "rounds", json_integer(run->rounds));
	bad |= json_object_set_new(o, "io_timeout_ms", json_integer(run->io_timeout_ms));
	time_rfc3339(t, run->started);
	bad |= json_object_set_new(o, "started", json_string(t));
	time_rfc3339(t, run->finished);
	bad |= json_object_set_new(o, "finished", json_string(t));
	bad |= json_object_set_new(o, "stop_reason", str_or_null(run->stop_reason));

	bad |= json_object_set_new(sum, "attack_attempts", json_integer(s.attack_attempts));
	bad |= json_object_set_new(sum, "accepted", json_integer(s.accepted));
	bad |= json_object_set_new(sum, "failure_rate", s.attack_attempts ?
		json_real((double)s.accepted / s.attack_attempts) : json_null());
	bad |= json_object_set_new(sum, "control", json_string(s.control < 0 ? "not-run" :
		s.control ? "accepted" : "refused"));
	bad |= json_object_set_new(sum, "insecure_no_control", json_boolean(run->insecure_no_control));
	bad |= json_object_set_new(sum, "insecure_untrusted_rogue_ca", json_boolean(run->insecure_untrusted_ca));
	bad |= json_object_set_new(sum, "not_tried", json_integer(s.not_tried));
	bad |= json_object_set_new(sum, "conclusive", json_boolean(s.conclusive));
	bad |= json_object_set_new(sum, "inconclusive_reason", s.exit_code == 2 ? json_string(s.inconclusive) :
		json_null());
	bad |= json_object_set_new(sum, "result", json_string(s.exit_code == 1 ? "fail" : s.exit_code == 2 ?
		"inconclusive" : "pass"));
	bad |= json_object_set_new(sum, "connections", json_integer((json_int_t)run->nattempts));
	bad |= json_object_set_new(sum, "unscored_connections", json_integer(run->unscored));
	bad |= json_object_set_new(sum, "aborted_connections", json_integer(run->aborted));
	bad |= json_object_set_new(sum, "wrong_sni_connections", json_integer(run->wrong_sni));
	bad |= json_object_set_new(sum, "exit_code", json_integer(s.exit_code));
	bad |= json_object_set_new(o, "summary", sum);
	sum = NULL;

	for (int i = 0; i < MITM_NATTACKS; i++) {
		json_t *a = attack_json(run, i);

		if (!a || json_array_append_new(attacks, a) != 0)
			bad = 1;
	}
	bad |= json_object_set_new(o, "attacks", attacks);
	attacks = NULL;
	for (size_t i = 0; i < run->nattempts; i++) {
		json_t *a = attempt_json(&run->attempts[i]);

		if (!a || json_array_append_new(attempts, a) != 0)
			bad = 1;
	}
	bad |= json_object_set_new(o, "attempts", attempts);
	attempts = NULL;
	if (bad)
		goto err;
	return o;
err:
	json_decref(o);
	json_decref(attacks);
	json_decref(attempts);
	json_decref(sum);
	return NULL;
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

#define GOOD_COLOR "#2e7d32"
#define BAD_COLOR "#c62828"
#define IDLE_COLOR "#9e9e9e"

/*
 * Horizontal bar chart, one row per selected attack: the bar's length is the
 * number of attempts, green for the share with the safe outcome and red for
 * the rest (attacks accepted, or control refused).
 */
static void html_chart(FILE *f, const mitm_run *run)
{
	const int label_w = 170, bar_w = 360, row_h = 26, top = 30;
	unsigned max = 1;
	int rows = 0, y;

	for (int i = 0; i < MITM_NATTACKS; i++) {
		if (!run->attacks[i].selected)
			continue;
		rows++;
		if (run->attacks[i].attempts > max)
			max = run->attacks[i].attempts;
	}
	fprintf(f, "<svg id=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"attempts per attack: safe outcome in green, MITM failure in red\">\n",
		label_w + bar_w + 150, top + rows * row_h + 10, label_w + bar_w + 150, top + rows * row_h + 10);
	fprintf(f, "<rect class=\"legend-good\" x=\"%d\" y=\"6\" width=\"12\" height=\"12\" fill=\"" GOOD_COLOR "\"/>"
		"<text x=\"%d\" y=\"16\">safe outcome</text>\n", label_w, label_w + 16);
	fprintf(f, "<rect class=\"legend-bad\" x=\"%d\" y=\"6\" width=\"12\" height=\"12\" fill=\"" BAD_COLOR "\"/>"
		"<text x=\"%d\" y=\"16\">attack accepted / control refused</text>\n", label_w + 120, label_w + 136);
	y = top;
	for (int i = 0; i < MITM_NATTACKS; i++) {
		const mitm_attack_info *a = &run->attacks[i];
		unsigned bad = i == MITM_CONTROL ? a->refused : a->accepted;
		unsigned good = a->attempts - bad;
		int gw = (int)((long)bar_w * good / max), bw = (int)((long)bar_w * bad / max);

		if (!a->selected)
			continue;
		fprintf(f, "<g class=\"bar\" data-attack=\"%s\">", mitm_attack_name(i));
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", label_w - 8, y + 16,
			mitm_attack_name(i));
		if (a->attempts == 0) {
			fprintf(f, "<rect class=\"idle\" x=\"%d\" y=\"%d\" width=\"4\" height=\"18\" fill=\"" IDLE_COLOR "\"/>",
				label_w, y + 3);
		} else {
			if (gw > 0)
				fprintf(f, "<rect class=\"good\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\""
					GOOD_COLOR "\"/>", label_w, y + 3, gw);
			if (bw > 0)
				fprintf(f, "<rect class=\"bad\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\""
					BAD_COLOR "\"/>", label_w + gw, y + 3, bw);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\">", label_w + gw + bw + 8, y + 16);
		h(f, row_verdict(run, i));
		if (a->attempts > 0)
			fprintf(f, " (%u of %u %s)", bad, a->attempts, i == MITM_CONTROL ? "refused" : "accepted");
		fputs("</text></g>\n", f);
		y += row_h;
	}
	fputs("</svg>\n", f);
}

static void html_td(FILE *f, const char *cls, const char *text)
{
	if (cls)
		fprintf(f, "<td class=\"%s\">", cls);
	else
		fputs("<td>", f);
	h(f, text);
	fputs("</td>", f);
}

/* <head> and the title. */
static void html_head(FILE *f, const mitm_run *run)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>certpin mitm scorecard: ", f);
	h(f, run->host);
	fputs("</title>\n<style>\n"
		"body{font-family:sans-serif;margin:1.5em;color:#212121}\n"
		"table{border-collapse:collapse;margin:1em 0}\n"
		"th,td{border:1px solid #bdbdbd;padding:4px 8px;text-align:left;vertical-align:top}\n"
		"th{background:#eeeeee}\n"
		"td.good{color:" GOOD_COLOR ";font-weight:bold}\n"
		"td.bad{color:" BAD_COLOR ";font-weight:bold}\n"
		"td.num{text-align:right}\n"
		"code,.mono{font-family:monospace}\n"
		"svg text{font-family:sans-serif;font-size:13px}\n"
		"p.result{font-size:1.2em}\n"
		"</style>\n</head>\n<body>\n<h1>MITM scorecard for ", f);
	h(f, run->host);
	fputs("</h1>\n", f);
}

/* The result line and the notes on attacks. */
static void html_result(FILE *f, const mitm_run *run, const mitm_summary *s)
{
	char note[512];
	int nnotes = 0;

	fputs("<p class=\"result\" id=\"result\">", f);
	fputs(s->exit_code == 1 ? "FAIL: the client accepted an interception" :
		s->exit_code == 2 ? "INCONCLUSIVE" : "Pass: every attack was refused", f);
	if (s->exit_code == 2 && s->inconclusive) {
		fputs(": ", f);
		h(f, s->inconclusive);
	}
	fputs("</p>\n", f);
	for (int i = 0; i < MITM_NATTACKS; i++) {
		if (!run->attacks[i].selected || !mitm_attack_note(run, i, note, sizeof(note)))
			continue;
		fputs(nnotes++ ? "" : "<ul id=\"notes\">\n", f);
		fputs("<li class=\"note\">Note on ", f);
		h(f, mitm_attack_name(i));
		fputs(": ", f);
		h(f, note);
		fputs("</li>\n", f);
	}
	if (nnotes)
		fputs("</ul>\n", f);
}

/* The failure rate, the control, and how the run went. */
static void html_rate(FILE *f, const mitm_run *run, const mitm_summary *s)
{
	char t[32], num[64], names[256];

	fputs("<p id=\"rate\">MITM test failure rate: ", f);
	if (s->attack_attempts) {
		snprintf(num, sizeof(num), "%u/%u attack attempts accepted (%.1f%%)", s->accepted, s->attack_attempts,
			rate_percent(s));
		fprintf(f, "<strong>%s</strong>", num);
	} else {
		fputs("n/a (no attack was attempted)", f);
	}
	fputs("<br/>Control: ", f);
	h(f, control_text(run, s));
	if (s->not_tried) {
		not_tried_names(names, sizeof(names), run);
		snprintf(num, sizeof(num), "%u", s->not_tried);
		fputs("<br/>Not tried: ", f);
		h(f, num);
		fputs(" scheduled attempts got no verdict (", f);
		h(f, names);
		fputs(")", f);
	}
	fputs("<br/>Listening on <span class=\"mono\">", f);
	h(f, run->listen);
	fputs("</span>, a connection counts as accepted on ", f);
	h(f, run->accept_on && strcmp(run->accept_on, "handshake") == 0 ? "a completed handshake" :
		"application data (or an open connection at the I/O timeout)");
	time_rfc3339(t, run->started);
	fputs(". Started ", f);
	h(f, t);
	time_rfc3339(t, run->finished);
	fputs(", finished ", f);
	h(f, t);
	fputs(" (", f);
	h(f, run->stop_reason);
	fprintf(f, "); %zu connections, %u not scored (%u aborted without an alert, %u with a wrong or no SNI).</p>\n",
		run->nattempts, run->unscored, run->aborted, run->wrong_sni);
}

/* What attack `a` presented: its leaf and chain, or why it was not run. */
static void html_presented(FILE *f, const mitm_attack_info *a)
{
	if (a->runnable) {
		fputs("subject ", f);
		h(f, a->subject);
		fputs("<br/>names ", f);
		h(f, a->names[0] ? a->names : "(none)");
		fputs("<br/>issuer ", f);
		h(f, a->issuer);
		fputs("<br/>key ", f);
		h(f, a->key);
		fputs(", valid ", f);
		h(f, a->not_before);
		fputs(" to ", f);
		h(f, a->not_after);
		fprintf(f, ", %d certificate%s sent<br/><span class=\"mono\">", a->chain_len, a->chain_len == 1 ? "" : "s");
		h(f, a->spki_pin);
		fputs("</span>", f);
	} else {
		h(f, a->skip);
	}
}

/* One row per selected attack. */
static void html_scorecard(FILE *f, const mitm_run *run)
{
	char num[64], note[512];

	fputs("<h2>Scorecard</h2>\n<table id=\"scorecard\">\n<thead><tr><th>Attack</th><th>What was presented</th>"
		"<th>Attempts</th><th>Accepted</th><th>Verdict</th><th>Client behaviour</th></tr></thead>\n<tbody>\n", f);
	for (int i = 0; i < MITM_NATTACKS; i++) {
		const mitm_attack_info *a = &run->attacks[i];

		if (!a->selected)
			continue;
		fprintf(f, "<tr id=\"attack-%s\">", mitm_attack_name(i));
		fputs("<td><strong>", f);
		h(f, mitm_attack_name(i));
		fputs("</strong><br/>", f);
		h(f, mitm_attack_summary(i));
		fputs("</td><td>", f);
		html_presented(f, a);
		fputs("</td>", f);
		snprintf(num, sizeof(num), "%u", a->attempts);
		html_td(f, "num", num);
		snprintf(num, sizeof(num), "%u", a->accepted);
		html_td(f, "num", num);
		html_td(f, !a->runnable || a->attempts == 0 ? NULL : row_good(run, i) ? "good" : "bad", row_verdict(run, i));
		fputs("<td>", f);
		h(f, a->runnable ? row_detail(run, i) : "");
		if (mitm_attack_note(run, i, note, sizeof(note))) {
			fputs("<br/><em class=\"note\">Note: ", f);
			h(f, note);
			fputs("</em>", f);
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

/* One row per connection. */
static void html_attempts(FILE *f, const mitm_run *run)
{
	char num[64];

	fputs("<h2>Connections</h2>\n<table id=\"attempts\">\n<thead><tr><th>#</th><th>Attack</th><th>Peer</th>"
		"<th>SNI</th><th>TLS</th><th>Verdict</th><th>Stage</th><th>Alert from client</th><th>What happened</th>"
		"<th>First bytes</th><th>ms</th></tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < run->nattempts; i++) {
		const mitm_attempt *a = &run->attempts[i];
		const char *cls = NULL;

		if (a->verdict == MITM_V_ACCEPTED || a->verdict == MITM_V_REFUSED)
			cls = (a->verdict == MITM_V_ACCEPTED) == (a->attack == MITM_CONTROL) ? "good" : "bad";
		fputs("<tr>", f);
		snprintf(num, sizeof(num), "%u", a->n);
		html_td(f, "num", num);
		html_td(f, NULL, a->attack >= 0 ? mitm_attack_name(a->attack) : "-");
		html_td(f, "mono", a->peer);
		fputs("<td class=\"mono\">", f);
		h(f, a->have_sni ? a->sni : "-");
		if (a->attack >= 0 && !a->sni_ok)
			fputs(" <strong class=\"bad\">(not the host)</strong>", f);
		fputs("</td>", f);
		html_td(f, NULL, a->tls_version[0] ? a->tls_version : "-");
		html_td(f, cls, verdict_name(a->verdict));
		html_td(f, NULL, stage_name(a->stage));
		html_td(f, NULL, a->alert >= 0 ? a->alert_text : "-");
		html_td(f, NULL, a->reason);
		html_td(f, "mono", a->excerpt[0] ? a->excerpt : "-");
		snprintf(num, sizeof(num), "%u", a->duration_ms);
		html_td(f, "num", num);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

int mitm_report_html(FILE *f, const mitm_run *run)
{
	mitm_summary s;

	mitm_summarize(&s, run);
	html_head(f, run);
	html_result(f, run, &s);
	html_rate(f, run, &s);
	/* The chart first: the outcome at a glance, above tables whose length varies. */
	fputs("<h2>Chart</h2>\n", f);
	html_chart(f, run);
	html_scorecard(f, run);
	html_attempts(f, run);
	fputs("<p>Generated by certpin mitm " CERTPIN_VERSION_STRING
		". Every certificate above is a test certificate; remove the rogue CA from the client's trust store "
		"when testing is done.</p>\n</body>\n</html>\n", f);
	return ferror(f) ? -1 : 0;
}
