/*
 * The checks and helpers every export format shares (export_internal.h):
 * refusals, rule access, warnings for what a format cannot say, and the
 * fail-open date.
 */
#include "export_internal.h"

int certpin_tools__refuse(exporter *E, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(E->err, sizeof(E->err), fmt, ap);
	va_end(ap);
	return CERTPIN_E_UNSUPPORTED;
}

int certpin_tools__rule_get(exporter *E, rule *r, size_t i)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->index = i;
	if ((rc = certpin_policy_host(&r->h, E->p, i)) != CERTPIN_OK)
		return rc;
	if (r->h.pin_count) {
		r->pins = calloc(r->h.pin_count, sizeof(*r->pins));
		r->pos = calloc(r->h.pin_count, sizeof(*r->pos));
		if (!r->pins || !r->pos)
			return CERTPIN_E_NOMEM;
	}
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if ((rc = certpin_policy_host_pin(&r->pins[k], &r->pos[k], E->p, i, k)) != CERTPIN_OK)
			return rc;
		if (r->pins[k].kind == CERTPIN_PIN_SPKI_SHA256)
			r->nspki++;
		else
			r->ncert++;
		if (r->pos[k] != CERTPIN_POS_ANY)
			r->npositioned++;
	}
	return CERTPIN_OK;
}

void certpin_tools__rule_free(rule *r)
{
	free(r->pins);
	free(r->pos);
}

/*
 * Checks for formats that pin SPKI digests at any chain position and treat a
 * host without pins as unpinned (Android, OkHttp, TrustKit, curl, HPKP).
 */
int certpin_tools__check_spki_only(exporter *E, const rule *r)
{
	if (r->h.pin_count == 0)
		return refuse(E, "rule '%s' has no pins (certpin refuses every connection); in %s the host "
			"would not be pinned at all", r->h.pattern, E->fmt);
	if (r->nspki == 0)
		return refuse(E, "rule '%s' has only certificate pins, which %s cannot express; the host would "
			"not be pinned", r->h.pattern, E->fmt);
	if (r->ncert && !E->o.allow_narrowing)
		return refuse(E, "rule '%s': %zu certificate pin(s) cannot be written in %s (public-key pins only); "
			"without them the rule accepts fewer chains than the policy and may lock clients out: pin the "
			"certificates' keys instead (certpin pin CERT), or export anyway with --force", r->h.pattern,
			r->ncert, E->fmt);
	if (r->ncert)
		W(E, "%s: %zu certificate pin(s) dropped (%s has public-key pins only)", r->h.pattern, r->ncert,
			E->fmt);
	return CERTPIN_OK;
}

void certpin_tools__warn_positions(exporter *E, const rule *r)
{
	if (r->npositioned)
		W(E, "%s: %zu pin(s) limited to a chain position (leaf/intermediate/root); %s matches them "
			"at any position", r->h.pattern, r->npositioned, E->fmt);
}

void certpin_tools__warn_report_only(exporter *E, const rule *r)
{
	if (r->h.mode == CERTPIN_MODE_REPORT_ONLY)
		W(E, "%s: rule is report-only, but %s has no report-only mode: these pins will be ENFORCED",
			r->h.pattern, E->fmt);
}

int64_t certpin_tools__effective_expiry(const rule *r)
{
	return r->h.expires ? r->h.expires + (int64_t)r->h.clock_skew : 0;
}

static void format_date(char out[32], int64_t t)
{
	char full[32];

	certpin_time_format(full, sizeof(full), t);
	snprintf(out, 32, "%.10s", full);
}

/*
 * For formats whose expiry date means "stop pinning" (Android, TrustKit):
 * the date to write, or "" for none.  Only a fail-open expiry maps; it is
 * rounded down to the start of its UTC day.
 */
void certpin_tools__failopen_date(exporter *E, const rule *r, char date[32])
{
	date[0] = '\0';
	if (!r->h.expires)
		return;
	int64_t eff = certpin_tools__effective_expiry(r);
	char when[32];
	certpin_time_format(when, sizeof(when), eff);
	if (r->h.on_expiry != CERTPIN_EXPIRY_FAIL_OPEN) {
		W(E, "%s: on_expiry is %s, but %s can only stop pinning at expiry; no expiration written, "
			"pins stay enforced after %s", r->h.pattern, certpin_expiry_action_name(r->h.on_expiry),
			E->fmt, when);
		return;
	}
	int64_t day = eff - eff % TOOLS_DAY;
	format_date(date, day);
	if (eff % TOOLS_DAY != 0)
		W(E, "%s: expiry %s rounded down to %s (%s expiry is a whole day)", r->h.pattern, when, date,
			E->fmt);
}

void certpin_tools__warn_no_expiry(exporter *E, const rule *r)
{
	char when[32];

	if (!r->h.expires)
		return;
	certpin_time_format(when, sizeof(when), certpin_tools__effective_expiry(r));
	W(E, "%s: %s has no pin expiry; pins stay enforced after %s (policy: %s)", r->h.pattern, E->fmt, when,
		certpin_expiry_action_name(r->h.on_expiry));
}

/* Write `s` with '"' and '\\' escaped by a backslash (HTTP quoted-string, Swift string literal). */
void certpin_tools__put_backslashed(exporter *E, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			certpin_tools__append(&E->out, "\\", 1);
		certpin_tools__append(&E->out, s, 1);
	}
}

void certpin_tools__b64_pin(char out[48], const certpin_pin *pin)
{
	if (certpin_pin_format(out, 48, pin, CERTPIN_STYLE_BASE64) != CERTPIN_OK)
		out[0] = '\0';
}

/*
 * Formats with one entry per DNS name and a subdomain flag (Android,
 * TrustKit): "*." and IP rules cannot be written, and "x" with "**.x" would be
 * the same name twice.
 */
int certpin_tools__check_named_domain(exporter *E, const rule *r)
{
	if (r->h.wildcard == TOOLS_WILD_ONE)
		return refuse(E, "rule '%s': %s has no one-label wildcard, and widening it to '**.%s' would pin "
			"%s itself and every deeper subdomain; write the hosts out or use '**.%s' in the policy",
			r->h.pattern, E->fmt, r->h.name, r->h.name, r->h.name);
	if (r->h.is_ip)
		return refuse(E, "rule '%s': %s pins host names, not IP addresses", r->h.pattern, E->fmt);
	if (r->h.wildcard == TOOLS_WILD_ANY) {
		size_t idx;
		certpin_host_info o;
		if (certpin_policy_lookup(&idx, E->p, r->h.name) == CERTPIN_OK && idx != r->index &&
		    certpin_policy_host(&o, E->p, idx) == CERTPIN_OK && o.wildcard == TOOLS_WILD_NONE)
			return refuse(E, "rules '%s' and '%s' both become domain '%s' in %s, which does not allow "
				"a domain twice; merge them in the policy", o.pattern, r->h.pattern, r->h.name, E->fmt);
	}
	return CERTPIN_OK;
}
