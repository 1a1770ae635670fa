/*
 * Import a TrustKit configuration (iOS/macOS): the dictionary TrustKit
 * reads from Info.plist's TSKConfiguration or gets from
 * initSharedInstance(withConfiguration:), mapped onto certpin rules as
 * TrustKit applies it (TrustKit's parse_configuration.m and
 * TSKPinningValidator.m).  See TRUSTKIT in certpin/tools.h.
 */
#include "import_trustkit.h"

#define TK_MAX_KEYS 64          /* keys in one domain's dictionary (TrustKit has ten) */
#define NOT_KEPT "is not kept in the policy"

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define warn(...) certpin_tools__import_warn(__VA_ARGS__)

/* ---- the value tree ---------------------------------------------------- */

tk_node *certpin_tools__tk_new(tk_kind kind, long line, const char *text, size_t len)
{
	tk_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = line;
	if (text) {
		if (!(n->text = malloc(len + 1))) {
			free(n);
			return NULL;
		}
		memcpy(n->text, text, len);
		n->text[len] = '\0';
	}
	return n;
}

void certpin_tools__tk_add(tk_node *parent, tk_node *child)
{
	if (parent->last)
		parent->last->next = child;
	else
		parent->child = child;
	parent->last = child;
	parent->n++;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

int certpin_tools__tk_set_key(tk_node *n, const char *key, size_t klen, const char *src, size_t slen)
{
	if ((key && !(n->key = dup_n(key, klen))) || !(n->key_src = dup_n(src, slen)))
		return CERTPIN_E_NOMEM;
	return CERTPIN_OK;
}

void certpin_tools__tk_free(tk_node *n)
{
	while (n) {
		tk_node *next = n->next;
		certpin_tools__tk_free(n->child);       /* depth is bounded by TK_MAX_DEPTH */
		free(n->text);
		free(n->key);
		free(n->key_src);
		free(n);
		n = next;
	}
}

/* ---- TrustKit's keys (TSKTrustKitConfig.m) ------------------------------ */

enum tk_key {
	K_OTHER = 0,
	K_PINNED_DOMAINS, K_SWIZZLE, K_IGNORE_USER_ANCHORS,             /* global */
	K_HASHES, K_ALGORITHMS, K_ENFORCE, K_INCLUDE_SUBDOMAINS,        /* per domain */
	K_EXCLUDE_FROM_PARENT, K_REPORT_URIS, K_DISABLE_DEFAULT_URI, K_EXPIRATION
};

static const struct {
	const char *constant;   /* the name in Swift and Objective-C */
	const char *value;      /* the string TrustKit reads, the key in an Info.plist */
	enum tk_key key;
} tk_consts[] = {
	{ "kTSKPinnedDomains", "TSKPinnedDomains", K_PINNED_DOMAINS },
	{ "kTSKSwizzleNetworkDelegates", "TSKSwizzleNetworkDelegates", K_SWIZZLE },
	{ "kTSKIgnorePinningForUserDefinedTrustAnchors", "TSKIgnorePinningForUserDefinedTrustAnchors",
		K_IGNORE_USER_ANCHORS },
	{ "kTSKPublicKeyHashes", "TSKPublicKeyHashes", K_HASHES },
	{ "kTSKPublicKeyAlgorithms", "TSKPublicKeyAlgorithms", K_ALGORITHMS },
	{ "kTSKEnforcePinning", "TSKEnforcePinning", K_ENFORCE },
	{ "kTSKIncludeSubdomains", "TSKIncludeSubdomains", K_INCLUDE_SUBDOMAINS },
	/* sic: TrustKit's string for this one has no 'T' */
	{ "kTSKExcludeSubdomainFromParentPolicy", "kSKExcludeSubdomainFromParentPolicy", K_EXCLUDE_FROM_PARENT },
	{ "kTSKReportUris", "TSKReportUris", K_REPORT_URIS },
	{ "kTSKDisableDefaultReportUri", "TSKDisableDefaultReportUri", K_DISABLE_DEFAULT_URI },
	{ "kTSKExpirationDate", "TSKExpirationDate", K_EXPIRATION },
	/* the values of the deprecated kTSKPublicKeyAlgorithms */
	{ "kTSKAlgorithmRsa2048", "TSKAlgorithmRsa2048", K_OTHER },
	{ "kTSKAlgorithmRsa4096", "TSKAlgorithmRsa4096", K_OTHER },
	{ "kTSKAlgorithmEcDsaSecp256r1", "TSKAlgorithmEcDsaSecp256r1", K_OTHER },
	{ "kTSKAlgorithmEcDsaSecp384r1", "TSKAlgorithmEcDsaSecp384r1", K_OTHER },
};

const char *certpin_tools__tk_constant(const char *name, size_t len)
{
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(tk_consts); i++)
		if (strlen(tk_consts[i].constant) == len && memcmp(tk_consts[i].constant, name, len) == 0)
			return tk_consts[i].value;
	return NULL;
}

static enum tk_key key_of(const tk_node *m)
{
	for (size_t i = 0; m->key && i < TOOLS_ARRAY_LEN(tk_consts); i++)
		if (strcmp(tk_consts[i].value, m->key) == 0)
			return tk_consts[i].key;
	return K_OTHER;
}

/* ---- values ------------------------------------------------------------ */

/* What `v` is, for messages. */
static const char *what(const tk_node *v, char *buf, size_t len)
{
	switch (v->kind) {
	case TK_DICT: return "a dictionary";
	case TK_ARRAY: return "an array";
	case TK_BOOL: return v->b ? "true" : "false";
	case TK_STRING: snprintf(buf, len, "the string \"%.60s\"", v->text); return buf;
	case TK_NUMBER: snprintf(buf, len, "the number %.30s", v->text); return buf;
	default: snprintf(buf, len, "%.100s", v->text ? v->text : "not a literal"); return buf;
	}
}

/* A member's key must be a literal (or a constant): else name it. */
static int check_key(certpin_tools__importer *I, const char *where, const tk_node *m)
{
	if (m->key)
		return CERTPIN_OK;
	return fail(I, m->line, "%skey %s", where, m->key_src);
}

/* A boolean as TrustKit reads it ([NSNumber boolValue]: a number other than 0 is true). */
static int get_bool(certpin_tools__importer *I, const char *where, const tk_node *m, int *out)
{
	char buf[128];

	if (m->kind == TK_BOOL) {
		*out = m->b;
		return CERTPIN_OK;
	}
	if (m->kind == TK_NUMBER) {
		*out = strtod(m->text, NULL) != 0;
		return CERTPIN_OK;
	}
	return fail(I, m->line, "%s%s must be a boolean, not %s", where, m->key_src, what(m, buf, sizeof(buf)));
}

/* A string; an Xcode build setting such as $(PIN) is named (it is substituted at build time). */
static int get_string(certpin_tools__importer *I, const char *where, const char *name, const tk_node *v,
	const char **out)
{
	char buf[128];

	if (v->kind != TK_STRING)
		return fail(I, v->line, "%s%s must be a string, not %s", where, name, what(v, buf, sizeof(buf)));
	if (strstr(v->text, "$(") || strstr(v->text, "${"))
		return fail(I, v->line, "%s%s: \"%.100s\" holds an Xcode build setting, substituted at build time "
			"(import the built app's Info.plist)", where, name, v->text);
	*out = v->text;
	return CERTPIN_OK;
}

/* ---- one domain ---------------------------------------------------------- */

typedef struct tk_domain {
	const tk_node *m;               /* its member of kTSKPinnedDomains */
	char where[CERTPIN_HOSTNAME_MAX + 16]; /* "domain \"NAME\": " */
	char name[CERTPIN_HOSTNAME_MAX];        /* normalized */
	int include, enforce, exclude, disable_default;
	int64_t expires;
	const tk_node *hashes, *uris;
} tk_domain;

static bool is_ip(const char *norm)
{
	return strchr(norm, ':') || strspn(norm, "0123456789.") == strlen(norm);
}

/* The domain's name: a DNS name with a dot, no wildcard, not seen before. */
static int domain_name(certpin_tools__importer *I, tk_domain *d)
{
	const tk_node *m = d->m;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	int rc;

	if ((rc = check_key(I, "", m)))
		return rc;
	snprintf(d->where, sizeof(d->where), "domain \"%.*s\": ", CERTPIN_HOSTNAME_MAX - 1, m->key);
	if (strchr(m->key, '*'))
		return fail(I, m->line, "%sTrustKit has no wildcards (use kTSKIncludeSubdomains)", d->where);
	if (certpin_hostname_normalize(d->name, sizeof(d->name), m->key) != CERTPIN_OK)
		return fail(I, m->line, "%snot a valid host name", d->where);
	if (is_ip(d->name) || !strchr(d->name, '.'))
		return fail(I, m->line, "%sTrustKit rejects %s (it raises an exception at start-up)", d->where,
			is_ip(d->name) ? "an IP address" : "a name without a public suffix");
	if (strcmp(d->name, m->key) != 0 && strpbrk(m->key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
		warn(I, m->line, "%sTrustKit compares host names as written, so this key matches no lower-case "
			"host name; certpin pins \"%s\" (stricter)", d->where, d->name);
	if (!I->seen && certpin_policy_new(&I->seen) != CERTPIN_OK)
		return nomem(I);
	o.pattern = d->name;
	rc = certpin_policy_add_host(I->seen, &o, NULL);
	if (rc == CERTPIN_E_DUPLICATE)
		return fail(I, m->line, "%sthe domain appears more than once", d->where);
	return rc == CERTPIN_OK ? CERTPIN_OK : nomem(I);
}

/* One key of a domain's dictionary. */
static int domain_key(certpin_tools__importer *I, tk_domain *d, const tk_node *k)
{
	char buf[128];
	const char *s;
	int rc;

	switch (key_of(k)) {
	case K_HASHES:
	case K_REPORT_URIS:
		if (k->kind != TK_ARRAY)
			return fail(I, k->line, "%s%s must be an array of strings, not %s", d->where, k->key_src,
				what(k, buf, sizeof(buf)));
		*(key_of(k) == K_HASHES ? &d->hashes : &d->uris) = k;
		return CERTPIN_OK;
	case K_ENFORCE: return get_bool(I, d->where, k, &d->enforce);
	case K_INCLUDE_SUBDOMAINS: return get_bool(I, d->where, k, &d->include);
	case K_EXCLUDE_FROM_PARENT: return get_bool(I, d->where, k, &d->exclude);
	case K_DISABLE_DEFAULT_URI: return get_bool(I, d->where, k, &d->disable_default);
	case K_ALGORITHMS: return CERTPIN_OK;   /* deprecated and ignored since TrustKit 1.6 */
	case K_EXPIRATION:
		if ((rc = get_string(I, d->where, k->key_src, k, &s)))
			return rc;
		if (strlen(s) != 10 || certpin_time_parse(&d->expires, s) != CERTPIN_OK || d->expires <= 0)
			return fail(I, k->line, "%s%s \"%.40s\" is not a date YYYY-MM-DD", d->where, k->key_src, s);
		return CERTPIN_OK;
	default:
		warn(I, k->line, "%s%s is not a TrustKit domain setting; ignored, as TrustKit does", d->where,
			k->key_src);
		return CERTPIN_OK;
	}
}

/* The domain's dictionary into `d`. */
static int domain_settings(certpin_tools__importer *I, tk_domain *d)
{
	char buf[128];
	int rc;

	if (d->m->kind != TK_DICT)
		return fail(I, d->m->line, "%sthe value must be a dictionary, not %s", d->where,
			what(d->m, buf, sizeof(buf)));
	if (d->m->n > TK_MAX_KEYS)
		return fail(I, d->m->line, "%smore than %d keys", d->where, TK_MAX_KEYS);
	for (const tk_node *k = d->m->child; k; k = k->next) {
		if ((rc = check_key(I, d->where, k)))
			return rc;
		for (const tk_node *j = d->m->child; j != k; j = j->next)
			if (strcmp(j->key, k->key) == 0)
				return fail(I, k->line, "%s%s appears twice", d->where, k->key_src);
		if ((rc = domain_key(I, d, k)))
			return rc;
	}
	/* kTSKExcludeSubdomainFromParentPolicy must stand alone (TrustKit raises otherwise) */
	if (d->exclude == 1 && d->m->n > 1)
		return fail(I, d->m->line, "%skTSKExcludeSubdomainFromParentPolicy with other settings (TrustKit raises an "
			"exception at start-up)", d->where);
	return CERTPIN_OK;
}

/* kTSKPublicKeyHashes: base64 SHA-256 digests of SPKIs, matched anywhere in the verified chain. */
static int domain_pins(certpin_tools__importer *I, const tk_domain *d, const char *pattern)
{
	size_t distinct = 0, need = d->enforce ? 2 : 1, r;
	certpin_host_info h;
	char hpkp[128];
	int rc;

	for (const tk_node *v = d->hashes ? d->hashes->child : NULL; v; v = v->next) {
		const char *s;
		certpin_pin pin;
		char name[128];
		snprintf(name, sizeof(name), "a pin in %.100s", d->hashes->key_src);
		if ((rc = get_string(I, d->where, name, v, &s)))
			return rc;
		snprintf(hpkp, sizeof(hpkp), "pin-sha256=\"%.80s\"", s);
		if (strlen(s) > 80 || certpin_pin_parse(&pin, hpkp, strlen(hpkp)) != CERTPIN_OK)
			return fail(I, v->line, "%s%s: \"%.60s\" is not the base64 of a SHA-256 digest (TrustKit raises an "
				"exception at start-up)", d->where, d->hashes->key_src, s);
		if ((rc = certpin_tools__import_pin(I, v->line, pattern, &pin, CERTPIN_POS_ANY)))
			return rc;
	}
	/* TrustKit keeps the pins in a set: duplicates count once */
	if (certpin_policy_find(&r, I->p, pattern) == CERTPIN_OK && certpin_policy_host(&h, I->p, r) == CERTPIN_OK)
		distinct = h.pin_count;
	if (distinct < need)
		return fail(I, d->m->line, "%s%zu distinct pin%s; TrustKit requires at least %zu %s and raises an exception "
			"at start-up", d->where, distinct, distinct == 1 ? "" : "s", need,
			d->enforce ? "when enforcing (a backup pin)" : "in report-only mode");
	return CERTPIN_OK;
}

/* kTSKReportUris: kept where certpin can send to them (http(s), at most CERTPIN_REPORT_URIS_MAX). */
static int domain_uris(certpin_tools__importer *I, const tk_domain *d, const char *pattern)
{
	const char *uris[CERTPIN_REPORT_URIS_MAX], *s;
	size_t n = 0;
	int rc;

	for (const tk_node *v = d->uris ? d->uris->child : NULL; v; v = v->next) {
		char name[128];
		snprintf(name, sizeof(name), "a URI in %.100s", d->uris->key_src);
		if ((rc = get_string(I, d->where, name, v, &s)))
			return rc;
		if (n == CERTPIN_REPORT_URIS_MAX) {
			warn(I, v->line, "%sreport URI \"%.100s\" %s (at most %d)", d->where, s, NOT_KEPT,
				CERTPIN_REPORT_URIS_MAX);
			continue;
		}
		uris[n] = s;
		if (certpin_policy_set_report_uris(I->p, pattern, uris, n + 1, NULL) == CERTPIN_OK)
			n++;
		else
			warn(I, v->line, "%sreport URI \"%.100s\" %s (certpin reports to http:// and https:// URIs only)",
				d->where, s, NOT_KEPT);
	}
	if (d->disable_default != 1)
		warn(I, d->m->line, "%sTrustKit also sends pin failure reports to its vendor's server unless "
			"kTSKDisableDefaultReportUri is true; that %s", d->where, NOT_KEPT);
	return CERTPIN_OK;
}

/* One member of kTSKPinnedDomains: a rule, unless it only opts out of its parent's. */
static int domain(certpin_tools__importer *I, tk_domain *d)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	char pattern[CERTPIN_PATTERN_MAX];
	int rc;

	d->include = d->exclude = d->disable_default = 0;
	d->enforce = 1;
	d->expires = 0;
	d->hashes = d->uris = NULL;
	if ((rc = domain_name(I, d)) || (rc = domain_settings(I, d)))
		return rc;
	if (d->exclude)
		return CERTPIN_OK;
	snprintf(pattern, sizeof(pattern), "%s%s", d->include ? "**." : "", d->name);
	o.pattern = pattern;
	o.mode = d->enforce ? CERTPIN_MODE_ENFORCE : CERTPIN_MODE_REPORT_ONLY;
	o.expires = d->expires;         /* TrustKit: from 00:00:00Z that day, the domain is not pinned */
	o.on_expiry = CERTPIN_EXPIRY_FAIL_OPEN;
	if ((rc = certpin_tools__import_rule(I, d->m->line, &o, false)) || (rc = domain_pins(I, d, pattern)))
		return rc;
	return domain_uris(I, d, pattern);
}

/*
 * kTSKExcludeSubdomainFromParentPolicy: TrustKit leaves the host unpinned
 * and requires a parent with kTSKIncludeSubdomains; certpin has no unpinned
 * rule, so the parent's rule stays in force there.
 */
static int exclusion(certpin_tools__importer *I, const tk_domain *d)
{
	certpin_host_info h;
	size_t idx;

	if (certpin_policy_lookup(&idx, I->p, d->name) != CERTPIN_OK || certpin_policy_host(&h, I->p, idx) != CERTPIN_OK)
		return fail(I, d->m->line, "%skTSKExcludeSubdomainFromParentPolicy without a parent domain with "
			"kTSKIncludeSubdomains (TrustKit raises an exception at start-up)", d->where);
	warn(I, d->m->line, "%sTrustKit exempts it from \"%s\" (kTSKExcludeSubdomainFromParentPolicy); certpin has no "
		"unpinned rule, so \"%s\" applies to it (stricter)", d->where, h.pattern, h.pattern);
	return CERTPIN_OK;
}

/* ---- the configuration --------------------------------------------------- */

/* The global keys; *domains gets kTSKPinnedDomains. */
static int globals(certpin_tools__importer *I, const tk_node *config, const tk_node **domains)
{
	char buf[128];
	unsigned seen = 0;
	int v = 0, rc;

	*domains = NULL;
	for (const tk_node *m = config->child; m; m = m->next) {
		if ((rc = check_key(I, "", m)))
			return rc;
		if (key_of(m) != K_OTHER && (seen & (1u << key_of(m))))
			return fail(I, m->line, "%s appears twice", m->key_src);
		seen |= 1u << key_of(m);
		switch (key_of(m)) {
		case K_PINNED_DOMAINS:
			if (m->kind != TK_DICT)
				return fail(I, m->line, "%s must be a dictionary of domains, not %s", m->key_src,
					what(m, buf, sizeof(buf)));
			*domains = m;
			break;
		case K_SWIZZLE:
			if ((rc = get_bool(I, "", m, &v)))
				return rc;
			if (v)
				warn(I, m->line, "%s true %s (it is how the app hooks its connections, not which chains "
					"it accepts)", m->key_src, NOT_KEPT);
			break;
		case K_IGNORE_USER_ANCHORS:
			if ((rc = get_bool(I, "", m, &v)))
				return rc;
			if (v)
				warn(I, m->line, "%s true (macOS): TrustKit skips pin checks for chains ending at a "
					"user-added trust anchor; certpin always checks pins (stricter)", m->key_src);
			break;
		default:
			warn(I, m->line, "%s is not a TrustKit setting; ignored, as TrustKit does", m->key_src);
		}
	}
	return CERTPIN_OK;
}

static int trustkit_config(certpin_tools__importer *I, const tk_node *config)
{
	const tk_node *domains;
	tk_domain *ds;
	size_t n = 0;
	char buf[128];
	int rc;

	if (config->kind != TK_DICT)
		return fail(I, config->line, "the TrustKit configuration must be a dictionary, not %s",
			what(config, buf, sizeof(buf)));
	if ((rc = globals(I, config, &domains)))
		return rc;
	if (!domains || domains->n == 0)
		return fail(I, domains ? domains->line : config->line, "no pinned domains (kTSKPinnedDomains): TrustKit "
			"raises an exception at start-up");
	if (!(ds = calloc(domains->n, sizeof(*ds))))
		return nomem(I);
	for (const tk_node *m = domains->child; m && rc == CERTPIN_OK; m = m->next) {
		ds[n].m = m;
		rc = domain(I, &ds[n++]);
	}
	for (size_t i = 0; i < n && rc == CERTPIN_OK; i++)
		if (ds[i].exclude)
			rc = exclusion(I, &ds[i]);
	free(ds);
	return rc;
}

int certpin_tools__import_trustkit(certpin_tools__importer *I, const char *data, size_t len)
{
	tk_node *config = NULL;
	size_t i = 0;
	int rc;

	while (i < len && certpin_tools__is_space((unsigned char)data[i]))
		i++;
	if (len - i >= 6 && memcmp(data + i, "bplist", 6) == 0)
		return fail(I, 0, "a binary property list: convert it to XML first (plutil -convert xml1 FILE)");
	if (i < len && data[i] == '<')
		rc = certpin_tools__tk_plist(I, data, len, &config);
	else
		rc = certpin_tools__tk_source(I, data, len, &config);
	if (rc == CERTPIN_OK)
		rc = trustkit_config(I, config);
	certpin_tools__tk_free(config);
	return rc;
}
