/*
 * Export formats with one entry per rule: Android, TrustKit (Swift and
 * Info.plist), curl, HPKP and TLSA.  See EXPORT FORMATS in certpin/tools.h.
 */
#include "export_internal.h"

#define HPKP_DEFAULT_MAX_AGE 5184000    /* 60 days */

/* The report URIs that apply to rule `r`: its own, else the policy's. */
static const char *const *report_uris(exporter *E, const rule *r, size_t *n)
{
	return certpin_policy_report_uris(E->p, (int)r->index, n);
}

/* ---- Android ------------------------------------------------------------- */

int certpin_tools__export_android(exporter *E, const rule *r)
{
	char date[32], b64[48];
	int rc;

	if ((rc = certpin_tools__check_named_domain(E, r)) || (rc = certpin_tools__check_spki_only(E, r)))
		return rc;
	certpin_tools__warn_positions(E, r);
	certpin_tools__warn_report_only(E, r);
	certpin_tools__failopen_date(E, r, date);
	P(E, "    <domain-config>\n"
		"        <domain includeSubdomains=\"%s\">%s</domain>\n",
		r->h.wildcard == TOOLS_WILD_ANY ? "true" : "false", r->h.name);
	if (date[0])
		P(E, "        <pin-set expiration=\"%s\">\n", date);
	else
		P(E, "        <pin-set>\n");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		certpin_tools__b64_pin(b64, &r->pins[k]);
		P(E, "            <pin digest=\"SHA-256\">%s</pin>\n", b64);
	}
	P(E, "        </pin-set>\n"
		"    </domain-config>\n");
	return CERTPIN_OK;
}

/* ---- TrustKit ------------------------------------------------------------ */

static int trustkit_check(exporter *E, const rule *r, char date[32])
{
	int rc;

	if ((rc = certpin_tools__check_named_domain(E, r)) || (rc = certpin_tools__check_spki_only(E, r)))
		return rc;
	if (r->nspki < 2)
		W(E, "%s: only %zu public-key pin; TrustKit raises an exception at start-up unless a domain "
			"has at least two (add a backup pin: certpin keygen --backup)", r->h.pattern, r->nspki);
	certpin_tools__warn_positions(E, r);
	certpin_tools__failopen_date(E, r, date);
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
		certpin_tools__put_backslashed(E, uris[k]);
		P(E, "\",\n");
	}
	P(E, "            ],\n");
}

/* Write `s` as XML character data. */
static void put_xml_text(exporter *E, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			certpin_tools__puts(&E->out, "&amp;");
		else if (*s == '<')
			certpin_tools__puts(&E->out, "&lt;");
		else if (*s == '>')
			certpin_tools__puts(&E->out, "&gt;");
		else
			certpin_tools__append(&E->out, s, 1);
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

int certpin_tools__export_trustkit_swift(exporter *E, const rule *r)
{
	char date[32], b64[48];
	int rc;

	if ((rc = trustkit_check(E, r, date)))
		return rc;
	P(E, "        \"%s\": [\n"
		"            kTSKIncludeSubdomains: %s,\n"
		"            kTSKEnforcePinning: %s,\n",
		r->h.name, r->h.wildcard == TOOLS_WILD_ANY ? "true" : "false",
		r->h.mode == CERTPIN_MODE_REPORT_ONLY ? "false" : "true");
	trustkit_swift_reports(E, r);
	if (date[0])
		P(E, "            kTSKExpirationDate: \"%s\",\n", date);
	P(E, "            kTSKPublicKeyHashes: [\n");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		certpin_tools__b64_pin(b64, &r->pins[k]);
		P(E, "                \"%s\",\n", b64);
	}
	P(E, "            ],\n"
		"        ],\n");
	return CERTPIN_OK;
}

int certpin_tools__export_trustkit_plist(exporter *E, const rule *r)
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
		r->h.name, r->h.wildcard == TOOLS_WILD_ANY ? "true" : "false",
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
		certpin_tools__b64_pin(b64, &r->pins[k]);
		P(E, "\t\t\t\t\t<string>%s</string>\n", b64);
	}
	P(E, "\t\t\t\t</array>\n"
		"\t\t\t</dict>\n");
	return CERTPIN_OK;
}

/* ---- curl ---------------------------------------------------------------- */

int certpin_tools__export_curl(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	size_t leaf = 0, any = 0, nonleaf = 0;
	int rc;

	if ((rc = certpin_tools__check_spki_only(E, r)))
		return rc;
	certpin_tools__warn_report_only(E, r);
	certpin_tools__warn_no_expiry(E, r);
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

int certpin_tools__export_hpkp(exporter *E, const rule *r)
{
	char pin[CERTPIN_PIN_STRLEN];
	int64_t max_age = HPKP_DEFAULT_MAX_AGE;
	size_t nuris;
	const char *const *uris = report_uris(E, r, &nuris);
	int rc;

	if ((rc = certpin_tools__check_spki_only(E, r)))
		return rc;
	certpin_tools__warn_positions(E, r);
	if (r->nspki < 2)
		W(E, "%s: only %zu public-key pin; RFC 7469 requires a backup pin that is not in the current chain",
			r->h.pattern, r->nspki);
	if (r->h.expires) {
		int64_t eff = certpin_tools__effective_expiry(r);
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
	P(E, "# %s%s\n%s: ", r->h.pattern, r->h.wildcard == TOOLS_WILD_ONE ? " (served by each of these hosts)" : "",
		r->h.mode == CERTPIN_MODE_REPORT_ONLY ? "Public-Key-Pins-Report-Only" : "Public-Key-Pins");
	for (size_t k = 0; k < r->h.pin_count; k++) {
		if (r->pins[k].kind != CERTPIN_PIN_SPKI_SHA256)
			continue;
		if (certpin_pin_format(pin, sizeof(pin), &r->pins[k], CERTPIN_STYLE_HPKP) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		P(E, "%s; ", pin);
	}
	P(E, "max-age=%lld%s", (long long)max_age, r->h.wildcard == TOOLS_WILD_ANY ? "; includeSubDomains" : "");
	if (nuris) {
		P(E, "; report-uri=\"");
		certpin_tools__put_backslashed(E, uris[0]);
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

int certpin_tools__export_tlsa(exporter *E, const rule *r)
{
	size_t nany = 0;

	if (r->h.wildcard != TOOLS_WILD_NONE)
		return refuse(E, "rule '%s': TLSA records need one owner name per host; '_%u._tcp.%s.' is not "
			"a valid TLSA owner; list the hosts in the policy", r->h.pattern, E->o.port, r->h.pattern);
	if (r->h.is_ip)
		return refuse(E, "rule '%s': TLSA records are published under DNS names, not IP addresses",
			r->h.pattern);
	if (r->h.pin_count == 0)
		return refuse(E, "rule '%s' has no pins (certpin refuses every connection); TLSA cannot express that",
			r->h.pattern);
	certpin_tools__warn_report_only(E, r);
	certpin_tools__warn_no_expiry(E, r);
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

