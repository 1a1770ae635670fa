/*
 * Export a policy to other pinning formats: Android network security config,
 * OkHttp CertificatePinner, TrustKit (Swift and Info.plist), curl
 * --pinnedpubkey, HPKP headers and DANE TLSA records.  Every loss of meaning
 * is a warning; anything that would widen a rule is refused.  See
 * include/certpin/interop.h.
 */
#include "interop_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HPKP_DEFAULT_MAX_AGE 5184000    /* 60 days */
#define DAY 86400

/* ------------------------------------------------------------------------ */
/* Text buffer (shared with import.c)                                        */
/* ------------------------------------------------------------------------ */

void certpin__text_append(certpin__text *t, const char *s, size_t n)
{
	if (t->nomem)
		return;
	if (t->cap - t->len <= n) {
		size_t ncap = t->cap ? t->cap : 256;
		while (ncap - t->len <= n) {
			if (ncap > SIZE_MAX / 2) {
				t->nomem = 1;
				return;
			}
			ncap *= 2;
		}
		char *ns = realloc(t->s, ncap);
		if (!ns) {
			t->nomem = 1;
			return;
		}
		t->s = ns;
		t->cap = ncap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

void certpin__text_puts(certpin__text *t, const char *s)
{
	certpin__text_append(t, s, strlen(s));
}

__attribute__((format(printf, 2, 0)))
static void text_vprintf(certpin__text *t, const char *fmt, va_list ap)
{
	char small[512];
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		t->nomem = 1;
	} else if ((size_t)n < sizeof(small)) {
		certpin__text_append(t, small, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);
		if (!big) {
			t->nomem = 1;
		} else {
			vsnprintf(big, (size_t)n + 1, fmt, ap2);
			certpin__text_append(t, big, (size_t)n);
			free(big);
		}
	}
	va_end(ap2);
}

void certpin__text_printf(certpin__text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(t, fmt, ap);
	va_end(ap);
}

void certpin__text_line(certpin__text *t, const char *fmt, ...)
{
	va_list ap;

	if (t->len > 0)
		certpin__text_append(t, "\n", 1);
	va_start(ap, fmt);
	text_vprintf(t, fmt, ap);
	va_end(ap);
}

char *certpin__text_take(certpin__text *t)
{
	char *s = (t->nomem || t->len == 0) ? NULL : t->s;

	if (!s)
		free(t->s);
	memset(t, 0, sizeof(*t));
	return s;
}

void certpin__text_free(certpin__text *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------------ */
/* Export                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct exporter {
	const certpin_policy *p;
	const char *fmt;                /* format name for messages */
	certpin_export_options o;
	certpin__text out, warn;
	char err[512];
} exporter;

__attribute__((format(printf, 2, 3)))
static int refuse(exporter *E, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(E->err, sizeof(E->err), fmt, ap);
	va_end(ap);
	return CERTPIN_E_UNSUPPORTED;
}

#define W(E, ...) certpin__text_line(&(E)->warn, __VA_ARGS__)
#define P(E, ...) certpin__text_printf(&(E)->out, __VA_ARGS__)

/* Pins of one rule, fetched once. */
typedef struct rule {
	size_t index;
	certpin_host_info h;
	certpin_pin *pins;
	certpin_position *pos;
	size_t nspki, ncert, npositioned;
} rule;

static int rule_get(exporter *E, rule *r, size_t i)
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

static void rule_free(rule *r)
{
	free(r->pins);
	free(r->pos);
}

/*
 * Checks for formats that pin SPKI digests at any chain position and treat a
 * host without pins as unpinned (Android, OkHttp, TrustKit, curl, HPKP).
 */
static int check_spki_only(exporter *E, const rule *r)
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

static void warn_positions(exporter *E, const rule *r)
{
	if (r->npositioned)
		W(E, "%s: %zu pin(s) limited to a chain position (leaf/intermediate/root); %s matches them "
			"at any position", r->h.pattern, r->npositioned, E->fmt);
}

static void warn_report_only(exporter *E, const rule *r)
{
	if (r->h.mode == CERTPIN_MODE_REPORT_ONLY)
		W(E, "%s: rule is report-only, but %s has no report-only mode: these pins will be ENFORCED",
			r->h.pattern, E->fmt);
}

static int64_t effective_expiry(const rule *r)
{
	return r->h.expires ? r->h.expires + (int64_t)r->h.clock_skew : 0;
}

static void format_date(char out[32], int64_t t)
{
	char full[32];

	certpin__format_time(full, sizeof(full), t);
	snprintf(out, 32, "%.10s", full);
}

/*
 * For formats whose expiry date means "stop pinning" (Android, TrustKit):
 * the date to write, or "" for none.  Only a fail-open expiry maps; it is
 * rounded down to the start of its UTC day.
 */
static void failopen_date(exporter *E, const rule *r, char date[32])
{
	date[0] = '\0';
	if (!r->h.expires)
		return;
	int64_t eff = effective_expiry(r);
	char when[32];
	certpin__format_time(when, sizeof(when), eff);
	if (r->h.on_expiry != CERTPIN_EXPIRY_FAIL_OPEN) {
		W(E, "%s: on_expiry is %s, but %s can only stop pinning at expiry; no expiration written, "
			"pins stay enforced after %s", r->h.pattern, certpin_expiry_action_name(r->h.on_expiry),
			E->fmt, when);
		return;
	}
	int64_t day = eff - eff % DAY;
	format_date(date, day);
	if (eff % DAY != 0)
		W(E, "%s: expiry %s rounded down to %s (%s expiry is a whole day)", r->h.pattern, when, date,
			E->fmt);
}

static void warn_no_expiry(exporter *E, const rule *r)
{
	char when[32];

	if (!r->h.expires)
		return;
	certpin__format_time(when, sizeof(when), effective_expiry(r));
	W(E, "%s: %s has no pin expiry; pins stay enforced after %s (policy: %s)", r->h.pattern, E->fmt, when,
		certpin_expiry_action_name(r->h.on_expiry));
}

/* The report URIs that apply to rule `r`: its own, else the policy's. */
static const char *const *report_uris(exporter *E, const rule *r, size_t *n)
{
	return certpin_policy_report_uris(E->p, (int)r->index, n);
}

/* Write `s` with '"' and '\\' escaped by a backslash (HTTP quoted-string, Swift string literal). */
static void put_backslashed(exporter *E, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			certpin__text_append(&E->out, "\\", 1);
		certpin__text_append(&E->out, s, 1);
	}
}

static void b64_pin(char out[48], const certpin_pin *pin)
{
	if (certpin__b64_encode(out, 48, pin->digest, CERTPIN_DIGEST_LEN) < 0)
		out[0] = '\0';
}

/*
 * Formats with one entry per DNS name and a subdomain flag (Android,
 * TrustKit): "*." and IP rules cannot be written, and "x" with "**.x" would be
 * the same name twice.
 */
static int check_named_domain(exporter *E, const rule *r)
{
	if (r->h.wildcard == WILD_ONE)
		return refuse(E, "rule '%s': %s has no one-label wildcard, and widening it to '**.%s' would pin "
			"%s itself and every deeper subdomain; write the hosts out or use '**.%s' in the policy",
			r->h.pattern, E->fmt, r->h.name, r->h.name, r->h.name);
	if (r->h.is_ip)
		return refuse(E, "rule '%s': %s pins host names, not IP addresses", r->h.pattern, E->fmt);
	if (r->h.wildcard == WILD_ANY) {
		size_t idx;
		certpin_host_info o;
		if (certpin_policy_lookup(&idx, E->p, r->h.name) == CERTPIN_OK && idx != r->index &&
		    certpin_policy_host(&o, E->p, idx) == CERTPIN_OK && o.wildcard == WILD_NONE)
			return refuse(E, "rules '%s' and '%s' both become domain '%s' in %s, which does not allow "
				"a domain twice; merge them in the policy", o.pattern, r->h.pattern, r->h.name, E->fmt);
	}
	return CERTPIN_OK;
}

/* ---- Android ------------------------------------------------------------- */

static int export_android(exporter *E, const rule *r)
{
	char date[32], b64[48];
	int rc;

	if ((rc = check_named_domain(E, r)) || (rc = check_spki_only(E, r)))
		return rc;
	warn_positions(E, r);
	warn_report_only(E, r);
	failopen_date(E, r, date);
	P(E, "    <domain-config>\n"
		"        <domain includeSubdomains=\"%s\">%s</domain>\n",
		r->h.wildcard == WILD_ANY ? "true" : "false", r->h.name);
	if (date[0])
		P(E, "        <pin-set expiration=\"%s\">\n", date);
	else
		P(E, "        <pin-set>\n");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		b64_pin(b64, &r->pins[k]);
		P(E, "            <pin digest=\"SHA-256\">%s</pin>\n", b64);
	}
	P(E, "        </pin-set>\n"
		"    </domain-config>\n");
	return CERTPIN_OK;
}

/* ---- OkHttp -------------------------------------------------------------- */

/*
 * OkHttp accepts at a host the pins of EVERY pattern that matches it; certpin
 * only those of the most specific rule.  The export is as strict as the
 * policy only where each wider pattern's public-key pins (the ones written)
 * are all among the most specific rule's.  Positions and modes do not change
 * that: OkHttp matches every pin at any position and enforces every rule,
 * which the per-rule warnings already say, with or without an overlap.
 */

/* The public-key pins of rule `g` that rule `s` lacks. */
static size_t pins_missing(const certpin_policy *p, size_t g, size_t s)
{
	size_t n = 0, ng = certpin__policy_rule(p, g)->npins, ns = certpin__policy_rule(p, s)->npins;
	certpin_pin a, b;

	for (size_t k = 0; k < ng; k++) {
		bool found = false;
		if (certpin_policy_host_pin(&a, NULL, p, g, k) != CERTPIN_OK || a.kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		for (size_t j = 0; j < ns && !found; j++)
			found = certpin_policy_host_pin(&b, NULL, p, s, j) == CERTPIN_OK && certpin_pin_equal(&a, &b);
		n += !found;
	}
	return n;
}

/*
 * The rules OkHttp applies to a host, certpin's choice (the most specific)
 * first: `depth` 0 is the host `name` itself, 1 a host one label below it,
 * 2 one at least two labels below (hosts that name no rule themselves).
 * Every host has the rules of one of these for some rule's name: that of
 * its longest suffix (itself included) that is a rule's name.
 */
static size_t okhttp_matches(long *found, const certpin_policy *ix, const char *name, int depth)
{
	size_t len = strlen(name), n = 0;
	const char *dot = strchr(name, '.');
	long idx;

	if (depth == 0 && (idx = certpin__policy_find(ix, name, len, WILD_NONE)) >= 0)
		found[n++] = idx;
	if (depth == 1 && (idx = certpin__policy_find(ix, name, len, WILD_ONE)) >= 0)
		found[n++] = idx;
	if ((idx = certpin__policy_find(ix, name, len, WILD_ANY)) >= 0)
		found[n++] = idx;
	if (depth == 0 && dot && (idx = certpin__policy_find(ix, dot + 1, len - (size_t)(dot + 1 - name),
	    WILD_ONE)) >= 0)
		found[n++] = idx;
	for (const char *s = dot; s; s = strchr(s + 1, '.'))
		if ((idx = certpin__policy_find(ix, s + 1, len - (size_t)(s + 1 - name), WILD_ANY)) >= 0)
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
			E->warn.nomem = 1;
			return false;
		}
		seen->pair = np;
		seen->cap = ncap;
	}
	seen->pair[seen->n][0] = s;
	seen->pair[seen->n++][1] = g;
	return true;
}

/* Refuse (or, if allowed, warn about) the overlaps at one kind of host. */
static int okhttp_overlaps_at(exporter *E, overlap_seen *seen, const char *name, int depth)
{
	static const char *const below[] = { "", "x.", "x.y." };
	long found[CERTPIN_HOSTNAME_MAX];
	char host[CERTPIN_HOSTNAME_MAX + 8];
	size_t n = okhttp_matches(found, E->p, name, depth);
	const char *s = n ? certpin__rule_pattern(E->p, certpin__policy_rule(E->p, (size_t)found[0])) : NULL;

	snprintf(host, sizeof(host), "%s%s", below[depth], name);
	for (size_t k = 1; k < n; k++) {
		const char *g = certpin__rule_pattern(E->p, certpin__policy_rule(E->p, (size_t)found[k]));
		size_t extra = pins_missing(E->p, (size_t)found[k], (size_t)found[0]);
		if (!extra)
			continue;
		if (!E->o.insecure_allow_union)
			return refuse(E, "rules '%s' and '%s' both match host %s, where OkHttp accepts the pins of both "
				"(%zu more than certpin, which uses '%s' alone): add the pins of '%s' to '%s' in the policy, "
				"or export anyway with --force", s, g, host, extra, s, g, s);
		if (overlap_first(E, seen, (size_t)found[0], (size_t)found[k]))
			W(E, "%s: also matched by rule '%s' (e.g. host %s); OkHttp accepts there the pins of every "
				"matching pattern, %zu more than certpin, which uses only the most specific rule's",
				s, g, host, extra);
	}
	return CERTPIN_OK;
}

/*
 * Check every kind of host once: each name that some rule has (for the
 * first rule with it), at depths 0-2 where such a host fits in 253
 * characters.
 */
static int okhttp_overlaps(exporter *E)
{
	const certpin_policy *ix = E->p;
	overlap_seen seen = { 0 };
	int rc = CERTPIN_OK;

	for (size_t i = 0; i < E->p->nrules && rc == CERTPIN_OK; i++) {
		const certpin__rule *r = certpin__policy_rule(E->p, i);
		const char *base = certpin__rule_base(E->p, r);
		size_t len = strlen(base);
		bool first = !r->is_ip;
		for (int w = WILD_NONE; w <= WILD_ANY && first; w++) {
			long idx = certpin__policy_find(ix, base, len, w);
			first = idx < 0 || (size_t)idx >= i;
		}
		for (int depth = 0; first && depth <= 2 && len + 2 * (size_t)depth <= 253 && rc == CERTPIN_OK; depth++)
			rc = okhttp_overlaps_at(E, &seen, base, depth);
	}
	free(seen.pair);
	return rc;
}

static int export_okhttp(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	int rc;

	if ((rc = check_spki_only(E, r)))
		return rc;
	warn_positions(E, r);
	warn_report_only(E, r);
	warn_no_expiry(E, r);
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

/* ---- TrustKit ------------------------------------------------------------ */

static int trustkit_check(exporter *E, const rule *r, char date[32])
{
	int rc;

	if ((rc = check_named_domain(E, r)) || (rc = check_spki_only(E, r)))
		return rc;
	if (r->nspki < 2)
		W(E, "%s: only %zu public-key pin; TrustKit raises an exception at start-up unless a domain "
			"has at least two (add a backup pin: certpin keygen --backup)", r->h.pattern, r->nspki);
	warn_positions(E, r);
	failopen_date(E, r, date);
	return CERTPIN_OK;
}

/*
 * TrustKit's per-domain reporting: the rule's report URIs, and never
 * TrustKit's default report server (the library vendor's), which it uses
 * unless kTSKDisableDefaultReportUri is set.
 */
static void trustkit_swift_reports(exporter *E, const rule *r)
{
	size_t n;
	const char *const *uris = report_uris(E, r, &n);

	P(E, "            kTSKDisableDefaultReportUri: true,\n");
	if (n == 0)
		return;
	P(E, "            kTSKReportUris: [\n");
	for (size_t k = 0; k < n; k++) {
		P(E, "                \"");
		put_backslashed(E, uris[k]);
		P(E, "\",\n");
	}
	P(E, "            ],\n");
}

/* Write `s` as XML character data. */
static void put_xml_text(exporter *E, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			certpin__text_puts(&E->out, "&amp;");
		else if (*s == '<')
			certpin__text_puts(&E->out, "&lt;");
		else if (*s == '>')
			certpin__text_puts(&E->out, "&gt;");
		else
			certpin__text_append(&E->out, s, 1);
	}
}

/* The same keys in Info.plist form. */
static void trustkit_plist_reports(exporter *E, const rule *r)
{
	size_t n;
	const char *const *uris = report_uris(E, r, &n);

	P(E, "\t\t\t\t<key>TSKDisableDefaultReportUri</key>\n"
		"\t\t\t\t<true/>\n");
	if (n == 0)
		return;
	P(E, "\t\t\t\t<key>TSKReportUris</key>\n"
		"\t\t\t\t<array>\n");
	for (size_t k = 0; k < n; k++) {
		P(E, "\t\t\t\t\t<string>");
		put_xml_text(E, uris[k]);
		P(E, "</string>\n");
	}
	P(E, "\t\t\t\t</array>\n");
}

static int export_trustkit_swift(exporter *E, const rule *r)
{
	char date[32], b64[48];
	int rc;

	if ((rc = trustkit_check(E, r, date)))
		return rc;
	P(E, "        \"%s\": [\n"
		"            kTSKIncludeSubdomains: %s,\n"
		"            kTSKEnforcePinning: %s,\n",
		r->h.name, r->h.wildcard == WILD_ANY ? "true" : "false",
		r->h.mode == CERTPIN_MODE_REPORT_ONLY ? "false" : "true");
	trustkit_swift_reports(E, r);
	if (date[0])
		P(E, "            kTSKExpirationDate: \"%s\",\n", date);
	P(E, "            kTSKPublicKeyHashes: [\n");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		b64_pin(b64, &r->pins[k]);
		P(E, "                \"%s\",\n", b64);
	}
	P(E, "            ],\n"
		"        ],\n");
	return CERTPIN_OK;
}

static int export_trustkit_plist(exporter *E, const rule *r)
{
	char date[32], b64[48];
	int rc;

	if ((rc = trustkit_check(E, r, date)))
		return rc;
	P(E, "\t\t\t<key>%s</key>\n"
		"\t\t\t<dict>\n"
		"\t\t\t\t<key>TSKIncludeSubdomains</key>\n"
		"\t\t\t\t<%s/>\n"
		"\t\t\t\t<key>TSKEnforcePinning</key>\n"
		"\t\t\t\t<%s/>\n",
		r->h.name, r->h.wildcard == WILD_ANY ? "true" : "false",
		r->h.mode == CERTPIN_MODE_REPORT_ONLY ? "false" : "true");
	trustkit_plist_reports(E, r);
	if (date[0])
		P(E, "\t\t\t\t<key>TSKExpirationDate</key>\n"
			"\t\t\t\t<string>%s</string>\n", date);
	P(E, "\t\t\t\t<key>TSKPublicKeyHashes</key>\n"
		"\t\t\t\t<array>\n");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		b64_pin(b64, &r->pins[k]);
		P(E, "\t\t\t\t\t<string>%s</string>\n", b64);
	}
	P(E, "\t\t\t\t</array>\n"
		"\t\t\t</dict>\n");
	return CERTPIN_OK;
}

/* ---- curl ---------------------------------------------------------------- */

static int export_curl(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	size_t leaf = 0, any = 0, nonleaf = 0;
	int rc;

	if ((rc = check_spki_only(E, r)))
		return rc;
	warn_report_only(E, r);
	warn_no_expiry(E, r);
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		if (r->pos[k] == CERTPIN_POS_LEAF)
			leaf++;
		else if (r->pos[k] == CERTPIN_POS_ANY)
			any++;
		else
			nonleaf++;
	}
	if (nonleaf && !E->o.allow_narrowing)
		return refuse(E, "rule '%s': %zu intermediate/root pin(s) can never match in curl, which checks the "
			"leaf key only; %s: pin leaf keys (with a backup), or export anyway with --force", r->h.pattern,
			nonleaf, leaf + any ? "the curl pinset would accept fewer chains than the policy and may lock clients "
			"out" : "NO pin of this rule can match, curl would refuse every connection");
	/*
	 * A pin at position any may be the intermediate's or root's key, which
	 * certpin accepts at depth 1 or more and curl never: only pins the
	 * policy says are leaf keys keep their meaning.
	 */
	if (any && !E->o.allow_narrowing)
		return refuse(E, "rule '%s': %zu pin(s) at position any, but curl checks only the leaf key (an "
			"intermediate or root key never matches there and may lock clients out): mark leaf pins with "
			"\"position\": \"leaf\", or export anyway with --force", r->h.pattern, any);
	if (nonleaf)
		W(E, "%s: %zu intermediate/root pin(s) can never match in curl, which checks the leaf key only%s",
			r->h.pattern, nonleaf, leaf + any ? "" : "; NO pin of this rule can match, curl will refuse every connection");
	if (any)
		W(E, "%s: %zu pin(s) at position any exported as leaf pins: curl checks only the leaf key, a pin of an "
			"intermediate or root key never matches", r->h.pattern, any);
	P(E, "# %s\n", r->h.pattern);
	const char *sep = "";
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		if (certpin_pin_format(pin, sizeof(pin), &r->pins[k], CERTPIN_STYLE_CURL) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		P(E, "%s%s", sep, pin);
		sep = ";";
	}
	P(E, "\n");
	return CERTPIN_OK;
}

/* ---- HPKP ---------------------------------------------------------------- */

static int export_hpkp(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	int64_t max_age = HPKP_DEFAULT_MAX_AGE;
	size_t nuris;
	const char *const *uris = report_uris(E, r, &nuris);
	int rc;

	if ((rc = check_spki_only(E, r)))
		return rc;
	warn_positions(E, r);
	if (r->nspki < 2)
		W(E, "%s: only %zu public-key pin; RFC 7469 requires a backup pin that is not in the current chain",
			r->h.pattern, r->nspki);
	if (r->h.expires) {
		int64_t eff = effective_expiry(r);
		max_age = eff > E->o.now ? eff - E->o.now : 0;
		if (r->h.on_expiry != CERTPIN_EXPIRY_FAIL_OPEN)
			W(E, "%s: on_expiry %s cannot be expressed; the header only stops being cached (max-age)",
				r->h.pattern, certpin_expiry_action_name(r->h.on_expiry));
		if (max_age == 0)
			W(E, "%s: pinset already expired: max-age=0 tells browsers to forget the pins", r->h.pattern);
		else
			W(E, "%s: max-age=%lld counts from export time; a header served later must count down "
				"or pins outlive the expiry", r->h.pattern, (long long)max_age);
	}
	/* RFC 7469 section 2.1: one report-uri directive */
	for (size_t k = 1; k < nuris; k++)
		W(E, "%s: report URI %s not written: HPKP has a single report-uri (%s is written)", r->h.pattern,
			uris[k], uris[0]);
	if (r->h.mode == CERTPIN_MODE_REPORT_ONLY && nuris == 0)
		W(E, "%s: Public-Key-Pins-Report-Only without report-uri reports nowhere", r->h.pattern);
	P(E, "# %s%s\n%s: ", r->h.pattern, r->h.wildcard == WILD_ONE ? " (served by each of these hosts)" : "",
		r->h.mode == CERTPIN_MODE_REPORT_ONLY ? "Public-Key-Pins-Report-Only" : "Public-Key-Pins");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		if (certpin_pin_format(pin, sizeof(pin), &r->pins[k], CERTPIN_STYLE_HPKP) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		P(E, "%s; ", pin);
	}
	P(E, "max-age=%lld%s", (long long)max_age, r->h.wildcard == WILD_ANY ? "; includeSubDomains" : "");
	if (nuris) {
		P(E, "; report-uri=\"");
		put_backslashed(E, uris[0]);
		P(E, "\"");
	}
	P(E, "\n");
	return CERTPIN_OK;
}

/* ---- TLSA ---------------------------------------------------------------- */

static void tlsa_line(exporter *E, const rule *r, int usage, const certpin_pin *pin)
{
	P(E, "_%u._tcp.%s. IN TLSA %d %d 1 ", E->o.port, r->h.name, usage,
		pin->kind == CERTPIN_PIN_SPKI_SHA256 ? 1 : 0);
	for (size_t i = 0; i < CERTPIN_DIGEST_LEN; i++)
		P(E, "%02x", pin->digest[i]);
	P(E, "\n");
}

static int export_tlsa(exporter *E, const rule *r)
{
	size_t nany = 0;

	if (r->h.wildcard != WILD_NONE)
		return refuse(E, "rule '%s': TLSA records need one owner name per host; '_%u._tcp.%s.' is not "
			"a valid TLSA owner; list the hosts in the policy", r->h.pattern, E->o.port, r->h.pattern);
	if (r->h.is_ip)
		return refuse(E, "rule '%s': TLSA records are published under DNS names, not IP addresses",
			r->h.pattern);
	if (r->h.pin_count == 0)
		return refuse(E, "rule '%s' has no pins (certpin refuses every connection); TLSA cannot express that",
			r->h.pattern);
	warn_report_only(E, r);
	warn_no_expiry(E, r);
	P(E, "; %s\n", r->h.pattern);
	for (size_t k = 0; k < r->h.pin_count; k++) {
		switch (r->pos[k]) {
		case CERTPIN_POS_LEAF:
			tlsa_line(E, r, 3, &r->pins[k]);
			break;
		case CERTPIN_POS_INTERMEDIATE:
		case CERTPIN_POS_ROOT:
			tlsa_line(E, r, 2, &r->pins[k]);
			break;
		case CERTPIN_POS_ANY:
			tlsa_line(E, r, 3, &r->pins[k]);
			tlsa_line(E, r, 2, &r->pins[k]);
			nany++;
			break;
		}
	}
	if (nany)
		W(E, "%s: %zu pin(s) with position any published both as DANE-EE (3) and DANE-TA (2); set "
			"positions in the policy for exact records", r->h.pattern, nany);
	return CERTPIN_OK;
}

/* ---- driver -------------------------------------------------------------- */

static const char *display_name(certpin_export_format format)
{
	switch (format) {
	case CERTPIN_EXPORT_ANDROID: return "Android";
	case CERTPIN_EXPORT_OKHTTP: return "OkHttp";
	case CERTPIN_EXPORT_TRUSTKIT_SWIFT:
	case CERTPIN_EXPORT_TRUSTKIT_PLIST: return "TrustKit";
	case CERTPIN_EXPORT_CURL: return "curl";
	case CERTPIN_EXPORT_HPKP: return "HPKP";
	case CERTPIN_EXPORT_TLSA: return "TLSA";
	}
	return "unknown";
}

/* The text before the first rule (`n` rules); for OkHttp, the overlap check first. */
static int export_begin(exporter *E, certpin_export_format format, size_t n)
{
	int rc;

	switch (format) {
	case CERTPIN_EXPORT_ANDROID:
		P(E, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			"<!-- res/xml/network_security_config.xml, generated by certpin %s.\n"
			"     Reference it with android:networkSecurityConfig=\"@xml/network_security_config\".\n"
			"     Android matches a pin against any certificate of the verified chain and\n"
			"     stops checking pins at the expiration date. -->\n"
			"<network-security-config>\n", CERTPIN_VERSION_STRING);
		break;
	case CERTPIN_EXPORT_OKHTTP:
		if ((rc = okhttp_overlaps(E)) != CERTPIN_OK)
			return rc;
		P(E, "// OkHttp CertificatePinner, generated by certpin %s (Kotlin; in Java write\n"
			"// \"CertificatePinner certificatePinner = new CertificatePinner.Builder()\" and end with \";\").\n"
			"val certificatePinner = CertificatePinner.Builder()\n", CERTPIN_VERSION_STRING);
		break;
	case CERTPIN_EXPORT_TRUSTKIT_SWIFT:
		P(E, "// TrustKit configuration, generated by certpin %s.\n"
			"let trustKitConfig: [String: Any] = [\n"
			"    kTSKSwizzleNetworkDelegates: false,\n"
			"    kTSKPinnedDomains: %s\n", CERTPIN_VERSION_STRING, n ? "[" : "[String: Any](),");
		break;
	case CERTPIN_EXPORT_TRUSTKIT_PLIST:
		P(E, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
			"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
			"<!-- TrustKit configuration for Info.plist, generated by certpin %s. -->\n"
			"<plist version=\"1.0\">\n"
			"<dict>\n"
			"\t<key>TSKConfiguration</key>\n"
			"\t<dict>\n"
			"\t\t<key>TSKSwizzleNetworkDelegates</key>\n"
			"\t\t<false/>\n"
			"\t\t<key>TSKPinnedDomains</key>\n"
			"\t\t<dict>\n", CERTPIN_VERSION_STRING);
		break;
	case CERTPIN_EXPORT_CURL:
		P(E, "# curl --pinnedpubkey values, generated by certpin %s.\n", CERTPIN_VERSION_STRING);
		W(E, "curl checks the pins against the leaf certificate's public key only; pins of "
			"intermediates or roots never match there");
		break;
	case CERTPIN_EXPORT_HPKP:
		P(E, "# HTTP Public-Key-Pins headers, generated by certpin %s.\n", CERTPIN_VERSION_STRING);
		W(E, "HPKP is obsolete: current browsers ignore Public-Key-Pins headers");
		break;
	case CERTPIN_EXPORT_TLSA:
		P(E, "; DANE TLSA records for port %u, generated by certpin %s.\n", E->o.port, CERTPIN_VERSION_STRING);
		break;
	}
	return CERTPIN_OK;
}

/* The text after the last rule. */
static void export_end(exporter *E, certpin_export_format format, size_t n)
{
	switch (format) {
	case CERTPIN_EXPORT_ANDROID:
		P(E, "</network-security-config>\n");
		break;
	case CERTPIN_EXPORT_OKHTTP:
		P(E, "    .build()\n");
		break;
	case CERTPIN_EXPORT_TRUSTKIT_SWIFT:
		P(E, "%s]\n", n ? "    ],\n" : "");
		P(E, "TrustKit.initSharedInstance(withConfiguration: trustKitConfig)\n");
		break;
	case CERTPIN_EXPORT_TRUSTKIT_PLIST:
		P(E, "\t\t</dict>\n"
			"\t</dict>\n"
			"</dict>\n"
			"</plist>\n");
		break;
	default:
		break;
	}
}

static int export_all(exporter *E, certpin_export_format format)
{
	size_t n = certpin_policy_host_count(E->p);
	int rc = CERTPIN_OK;

	if ((rc = export_begin(E, format, n)) != CERTPIN_OK)
		return rc;

	for (size_t i = 0; i < n && rc == CERTPIN_OK; i++) {
		rule r;
		rc = rule_get(E, &r, i);
		if (rc == CERTPIN_OK) {
			switch (format) {
			case CERTPIN_EXPORT_ANDROID: rc = export_android(E, &r); break;
			case CERTPIN_EXPORT_OKHTTP: rc = export_okhttp(E, &r); break;
			case CERTPIN_EXPORT_TRUSTKIT_SWIFT: rc = export_trustkit_swift(E, &r); break;
			case CERTPIN_EXPORT_TRUSTKIT_PLIST: rc = export_trustkit_plist(E, &r); break;
			case CERTPIN_EXPORT_CURL: rc = export_curl(E, &r); break;
			case CERTPIN_EXPORT_HPKP: rc = export_hpkp(E, &r); break;
			case CERTPIN_EXPORT_TLSA: rc = export_tlsa(E, &r); break;
			}
		}
		rule_free(&r);
	}
	if (rc != CERTPIN_OK)
		return rc;

	export_end(E, format, n);
	if (n == 0)
		W(E, "the policy has no rules; nothing is pinned");
	return CERTPIN_OK;
}

int certpin_policy_export_ex(char **out, char **warnings, char **err, const certpin_policy *policy,
	certpin_export_format format, const certpin_export_options *opts)
{
	exporter E;
	int rc;

	if (out)
		*out = NULL;
	if (warnings)
		*warnings = NULL;
	if (err)
		*err = NULL;
	if (!out || !policy)
		return CERTPIN_E_INVALID_ARG;
	memset(&E, 0, sizeof(E));
	E.p = policy;
	E.fmt = display_name(format);
	E.o = (certpin_export_options)CERTPIN_EXPORT_OPTIONS_INIT;
	if (opts) {
		if (opts->version < 1 || opts->version > CERTPIN_EXPORT_OPTIONS_VERSION) {
			rc = CERTPIN_E_INVALID_ARG;
			snprintf(E.err, sizeof(E.err), "export options of an unknown version");
			goto done;
		}
		/* a version 1 struct ends after `now`, a version 2 one after `allow_narrowing` */
		E.o.port = opts->port;
		E.o.now = opts->now;
		if (opts->version >= 2)
			E.o.allow_narrowing = opts->allow_narrowing;
		if (opts->version >= 3)
			E.o.insecure_allow_union = opts->insecure_allow_union;
	}
	if (E.o.port == 0)
		E.o.port = 443;
	if (E.o.port > 65535) {
		rc = CERTPIN_E_INVALID_ARG;
		snprintf(E.err, sizeof(E.err), "port %u is out of range (1-65535)", E.o.port);
		goto done;
	}
	if (E.o.now == 0)
		E.o.now = (int64_t)time(NULL);
	if (strcmp(certpin_export_format_name(format), "unknown") == 0) {
		rc = CERTPIN_E_INVALID_ARG;
		snprintf(E.err, sizeof(E.err), "unknown export format %d", (int)format);
		goto done;
	}
	rc = export_all(&E, format);
	if (rc == CERTPIN_OK && (E.out.nomem || E.warn.nomem))
		rc = CERTPIN_E_NOMEM;
	if (rc == CERTPIN_OK) {
		*out = certpin__text_take(&E.out);
		if (!*out)
			rc = CERTPIN_E_NOMEM;
	}
	if (rc == CERTPIN_OK && warnings)
		*warnings = certpin__text_take(&E.warn);
	if (rc != CERTPIN_OK && !E.err[0])
		snprintf(E.err, sizeof(E.err), "%s", certpin_strerror(rc));
done:
	if (rc != CERTPIN_OK) {
		if (out)
			*out = NULL;
		if (err)
			*err = strdup(E.err);
	}
	certpin__text_free(&E.out);
	certpin__text_free(&E.warn);
	return rc;
}

int certpin_policy_export(char **out, char **warnings, const certpin_policy *policy, certpin_export_format format)
{
	return certpin_policy_export_ex(out, warnings, NULL, policy, format, NULL);
}

static const struct {
	const char *name;
	certpin_export_format format;
} export_names[] = {
	{ "android", CERTPIN_EXPORT_ANDROID },
	{ "okhttp", CERTPIN_EXPORT_OKHTTP },
	{ "trustkit-swift", CERTPIN_EXPORT_TRUSTKIT_SWIFT },
	{ "trustkit-plist", CERTPIN_EXPORT_TRUSTKIT_PLIST },
	{ "curl", CERTPIN_EXPORT_CURL },
	{ "hpkp", CERTPIN_EXPORT_HPKP },
	{ "tlsa", CERTPIN_EXPORT_TLSA },
};

int certpin_export_format_parse(certpin_export_format *out, const char *name)
{
	if (!out || !name)
		return CERTPIN_E_INVALID_ARG;
	if (strcmp(name, "trustkit") == 0) {
		*out = CERTPIN_EXPORT_TRUSTKIT_SWIFT;
		return CERTPIN_OK;
	}
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(export_names); i++) {
		if (strcmp(name, export_names[i].name) == 0) {
			*out = export_names[i].format;
			return CERTPIN_OK;
		}
	}
	return CERTPIN_E_INVALID_ARG;
}

const char *certpin_export_format_name(certpin_export_format format)
{
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(export_names); i++)
		if (export_names[i].format == format)
			return export_names[i].name;
	return "unknown";
}
