/*
 * Export a policy to other pinning formats: Android network security config,
 * OkHttp CertificatePinner, TrustKit (Swift and Info.plist), curl
 * --pinnedpubkey, HPKP headers and DANE TLSA records.  Every loss of meaning
 * is a warning; anything that would widen a rule is refused.  See
 * certpin/tools.h.  This file: the driver and the checks every format
 * shares; the formats are in export_formats.c and export_okhttp.c.
 */
#include "export_internal.h"

#include <time.h>

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
		if ((rc = certpin_tools__okhttp_overlaps(E)) != CERTPIN_OK)
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
		rc = certpin_tools__rule_get(E, &r, i);
		if (rc == CERTPIN_OK) {
			switch (format) {
			case CERTPIN_EXPORT_ANDROID: rc = certpin_tools__export_android(E, &r); break;
			case CERTPIN_EXPORT_OKHTTP: rc = certpin_tools__export_okhttp(E, &r); break;
			case CERTPIN_EXPORT_TRUSTKIT_SWIFT: rc = certpin_tools__export_trustkit_swift(E, &r); break;
			case CERTPIN_EXPORT_TRUSTKIT_PLIST: rc = certpin_tools__export_trustkit_plist(E, &r); break;
			case CERTPIN_EXPORT_CURL: rc = certpin_tools__export_curl(E, &r); break;
			case CERTPIN_EXPORT_HPKP: rc = certpin_tools__export_hpkp(E, &r); break;
			case CERTPIN_EXPORT_TLSA: rc = certpin_tools__export_tlsa(E, &r); break;
			}
		}
		certpin_tools__rule_free(&r);
	}
	if (rc != CERTPIN_OK)
		return rc;

	export_end(E, format, n);
	if (n == 0)
		W(E, "the policy has no rules; nothing is pinned");
	return CERTPIN_OK;
}

/* The options as version 4, from a struct of any version 1 to 4; -1 for an unknown version. */
static int read_options(certpin_export_options *o, const certpin_export_options *opts)
{
	*o = (certpin_export_options)CERTPIN_EXPORT_OPTIONS_INIT;
	if (!opts)
		return 0;
	if (opts->version < 1 || opts->version > CERTPIN_EXPORT_OPTIONS_VERSION)
		return -1;
	/* a version 1 struct ends after `now`, a version 2 one after `allow_narrowing`, 3 after the union flag */
	o->port = opts->port;
	o->now = opts->now;
	if (opts->version >= 2)
		o->allow_narrowing = opts->allow_narrowing;
	if (opts->version >= 3)
		o->insecure_allow_union = opts->insecure_allow_union;
	if (opts->version >= 4) {
		o->on_warning = opts->on_warning;
		o->payload = opts->payload;
	}
	return 0;
}

int certpin_policy_export(char **out, const certpin_policy *policy, certpin_export_format format,
	const certpin_export_options *opts, certpin_error *err)
{
	exporter E;
	int rc;

	certpin_error_clear(err);
	if (out)
		*out = NULL;
	if (!out || !policy)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "%s", out ? "no policy" : "no place for the text");
	memset(&E, 0, sizeof(E));
	E.p = policy;
	E.fmt = display_name(format);
	if (read_options(&E.o, opts) != 0)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "export options of an unknown version");
	if (E.o.port == 0)
		E.o.port = 443;
	if (E.o.port > 65535)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "port %u is out of range (1-65535)",
			E.o.port);
	if (E.o.now == 0)
		E.o.now = (int64_t)time(NULL);
	if (strcmp(certpin_export_format_name(format), "unknown") == 0)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown export format %d", (int)format);
	rc = export_all(&E, format);
	if (rc == CERTPIN_OK && (E.out.nomem || E.warn.nomem))
		rc = CERTPIN_E_NOMEM;
	if (rc == CERTPIN_OK && !(*out = certpin_tools__take(&E.out)))
		rc = CERTPIN_E_NOMEM;
	if (rc == CERTPIN_OK)
		certpin_tools__warnings_deliver(&E.warn, E.o.on_warning, E.o.payload);
	else
		certpin_error_set(err, rc, NULL, 0, "%s", E.err[0] ? E.err : certpin_strerror(rc));
	certpin_tools__text_free(&E.out);
	certpin_tools__warnings_free(&E.warn);
	return rc;
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
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(export_names); i++) {
		if (strcmp(name, export_names[i].name) == 0) {
			*out = export_names[i].format;
			return CERTPIN_OK;
		}
	}
	return CERTPIN_E_INVALID_ARG;
}

const char *certpin_export_format_name(certpin_export_format format)
{
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(export_names); i++)
		if (export_names[i].format == format)
			return export_names[i].name;
	return "unknown";
}
