/*
 * Import Android network_security_config.xml (libxml2: no DTD, no entity
 * expansion, no network).  See ANDROID_NSC in certpin/tools.h.
 */
#include "import_xml.h"

#define NSC_MAX_DEPTH 32        /* nested <domain-config> levels */

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define warn(...) certpin_tools__import_warn(__VA_ARGS__)
#define is_space(c) certpin_tools__is_space(c)

typedef struct nsc_pinset {
	certpin_pin *pins;
	size_t n, cap;
	int64_t expires;        /* 0 = none */
	long line;
} nsc_pinset;

#define node_line(n) certpin_tools__xml_line(n)

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL && strcmp((const char *)n->name, name) == 0;
}

/* Attributes in a namespace (tools:ignore and the like) are build-time hints: skipped. */
static bool attr_skipped(const xmlAttr *a)
{
	return a->ns != NULL;
}

/* Value of attribute `a` (NUL-free text) into `out`; error if too long or not plain text. */
static int attr_value(certpin_tools__importer *I, const xmlNode *elem, const xmlAttr *a, char *out, size_t outlen)
{
	size_t n = 0;

	for (const xmlNode *c = a->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE)
			return fail(I, node_line(elem), "attribute %s of <%s> must be plain text", a->name, elem->name);
		size_t l = strlen((const char *)c->content);
		if (n + l >= outlen)
			return fail(I, node_line(elem), "attribute %s of <%s> is too long", a->name, elem->name);
		memcpy(out + n, c->content, l);
		n += l;
	}
	out[n] = '\0';
	return CERTPIN_OK;
}

/*
 * Text content of an element that may hold only text (and comments), with
 * leading and trailing white space removed.  Error if it holds elements or
 * is longer than `outlen - 1`.
 */
static int elem_text(certpin_tools__importer *I, const xmlNode *elem, char *out, size_t outlen)
{
	size_t n = 0;

	for (const xmlNode *c = elem->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return fail(I, node_line(c), "<%s> may contain only text", elem->name);
		size_t l = strlen((const char *)c->content);
		if (n + l >= outlen)
			return fail(I, node_line(elem), "content of <%s> is too long", elem->name);
		memcpy(out + n, c->content, l);
		n += l;
	}
	out[n] = '\0';
	size_t start = 0;
	while (start < n && is_space((unsigned char)out[start]))
		start++;
	while (n > start && is_space((unsigned char)out[n - 1]))
		n--;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	return CERTPIN_OK;
}

/* Non-element children must be comments, processing instructions or blank text. */
static int check_other_child(certpin_tools__importer *I, const xmlNode *parent, const xmlNode *c)
{
	if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
		return CERTPIN_OK;
	if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
		for (const xmlChar *s = c->content; s && *s; s++)
			if (!is_space(*s))
				return fail(I, node_line(c), "unexpected text in <%s>", parent->name);
		return CERTPIN_OK;
	}
	if (c->type == XML_ELEMENT_NODE)
		return fail(I, node_line(c), "unknown element <%s%s%s> in <%s>", c->ns && c->ns->prefix ?
			(const char *)c->ns->prefix : "", c->ns && c->ns->prefix ? ":" : "", c->name, parent->name);
	return fail(I, node_line(c), "unsupported XML node (type %d) in <%s>", (int)c->type, parent->name);
}

static bool str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* Parse a boolean attribute "true"/"false" (any case). */
static int attr_bool(certpin_tools__importer *I, const xmlNode *elem, const xmlAttr *a, int *out)
{
	char v[16];
	int rc = attr_value(I, elem, a, v, sizeof(v));

	if (rc)
		return rc;
	if (str_ieq(v, "true"))
		*out = 1;
	else if (str_ieq(v, "false"))
		*out = 0;
	else
		return fail(I, node_line(elem), "%s=\"%s\" must be true or false", a->name, v);
	return CERTPIN_OK;
}

/*
 * <trust-anchors>: not pins, but plan must know when they leave out the
 * system store.  `out` gets the <certificates src="..."> values joined by
 * ", " when none is "system" (e.g. "@raw/private_ca"; "none" for an empty
 * <trust-anchors>), else "".  overridePins="true" gives a warning.
 */
static int nsc_trust_anchors(certpin_tools__importer *I, const xmlNode *ta, char *out, size_t outlen)
{
	bool system = false;
	size_t n = 0;

	out[0] = '\0';
	for (const xmlNode *c = ta->children; c; c = c->next) {
		if (!is_elem(c, "certificates"))
			continue;
		for (const xmlAttr *a = c->properties; a; a = a->next) {
			int v = 0, rc;
			if (attr_skipped(a))
				continue;
			if (strcmp((const char *)a->name, "src") == 0) {
				char src[128];
				if ((rc = attr_value(I, c, a, src, sizeof(src))))
					return rc;
				if (strcmp(src, "system") == 0)
					system = true;
				n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s", n ? ", " : "", src);
				if (n >= outlen)
					n = outlen - 1;
				continue;
			}
			if (strcmp((const char *)a->name, "overridePins") != 0)
				continue;
			if ((rc = attr_bool(I, c, a, &v)))
				return rc;
			if (v)
				warn(I, node_line(c), "overridePins=\"true\": Android skips pin checks for chains "
					"ending at these trust anchors; certpin always checks pins");
		}
	}
	if (system)
		out[0] = '\0';
	else if (out[0] == '\0')
		snprintf(out, outlen, "none");
	return CERTPIN_OK;
}

#define NOT_KEPT "is not kept in the policy (export will not write it)"

/*
 * Warn about the settings of `elem` (<base-config> or <domain-config>) that
 * a certpin policy cannot hold, so that an export would silently drop them:
 * cleartextTrafficPermitted and <trust-anchors>, one line each.  A
 * <domain-config> is named by its first <domain>.  Inherited settings are
 * warned where they are written only.
 */
static void nsc_not_kept(certpin_tools__importer *I, const xmlNode *elem)
{
	char where[CERTPIN_HOSTNAME_MAX + 16] = "";
	xmlChar *clear = xmlGetNoNsProp(elem, (const xmlChar *)"cleartextTrafficPermitted");
	bool anchors = false;

	for (const xmlNode *c = elem->children; c; c = c->next) {
		if (is_elem(c, "trust-anchors"))
			anchors = true;
		if (!is_elem(c, "domain") || where[0])
			continue;
		xmlChar *t = xmlNodeGetContent(c);
		const char *d = t ? (const char *)t : "";
		size_t n;
		while (is_space((unsigned char)*d))
			d++;
		for (n = strlen(d); n > 0 && is_space((unsigned char)d[n - 1]); n--)
			;
		snprintf(where, sizeof(where), " for \"%.*s\"", (int)(n < CERTPIN_HOSTNAME_MAX ? n : CERTPIN_HOSTNAME_MAX),
			d);
		xmlFree(t);
	}
	if (clear)
		warn(I, 0, "cleartextTrafficPermitted=\"%.16s\" on <%s>%s " NOT_KEPT, (const char *)clear, elem->name,
			where);
	if (anchors)
		warn(I, 0, "<trust-anchors> in <%s>%s " NOT_KEPT, elem->name, where);
	xmlFree(clear);
}

/* <debug-overrides>: debug builds only, and not kept either. */
static int nsc_debug_overrides(certpin_tools__importer *I)
{
	warn(I, 0, "<debug-overrides> " NOT_KEPT);
	return CERTPIN_OK;
}

/* Base64 characters, '=' only as the padding at the end (at most two). */
static bool b64_shape(const char *s, size_t n)
{
	size_t pad = 0;

	while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '+' || s[i] == '/'))
			return false;
	return n % 4 == 0;
}

/*
 * Decode an Android pin value: base64, white space ignored, padding
 * optional.  The digest is read by certpin_pin_parse() as an HPKP value,
 * pin-sha256="B64" (strict, canonical base64 of exactly 32 bytes).
 */
static int nsc_pin_value(certpin_tools__importer *I, const xmlNode *pin_elem, const char *text, certpin_pin *out)
{
	char b64[64], hpkp[96];
	size_t n = 0;
	int rc;

	for (const char *s = text; *s; s++) {
		if (is_space((unsigned char)*s))
			continue;
		if (n + 4 >= sizeof(b64))
			return fail(I, node_line(pin_elem), "pin value is too long for a SHA-256 digest");
		b64[n++] = *s;
	}
	if (n == 0)
		return fail(I, node_line(pin_elem), "empty <pin>");
	while (n % 4 != 0)
		b64[n++] = '=';
	snprintf(hpkp, sizeof(hpkp), "pin-sha256=\"%.*s\"", (int)n, b64);
	rc = certpin_pin_parse(out, hpkp, strlen(hpkp));
	if (rc == CERTPIN_E_PIN_LENGTH && b64_shape(b64, n)) {
		size_t pad = b64[n - 1] == '=' ? (b64[n - 2] == '=' ? 2 : 1) : 0;
		return fail(I, node_line(pin_elem), "pin \"%.60s\" is %zu bytes, a SHA-256 digest is 32", text,
			n / 4 * 3 - pad);
	}
	if (rc != CERTPIN_OK)
		return fail(I, node_line(pin_elem), "pin \"%.60s\" is not valid base64", text);
	return CERTPIN_OK;
}

static int nsc_pin_set(certpin_tools__importer *I, const xmlNode *ps, nsc_pinset *out)
{
	char text[256];
	int rc;

	out->line = node_line(ps);
	for (const xmlAttr *a = ps->properties; a; a = a->next) {
		if (attr_skipped(a))
			continue;
		if (strcmp((const char *)a->name, "expiration") != 0)
			return fail(I, node_line(ps), "unknown attribute %s on <pin-set>", a->name);
		char v[32];
		if ((rc = attr_value(I, ps, a, v, sizeof(v))))
			return rc;
		if (strlen(v) != 10 || certpin_time_parse(&out->expires, v) != CERTPIN_OK || out->expires <= 0)
			return fail(I, node_line(ps), "expiration=\"%s\" is not a date YYYY-MM-DD", v);
	}
	for (const xmlNode *c = ps->children; c; c = c->next) {
		if (!is_elem(c, "pin")) {
			if ((rc = check_other_child(I, ps, c)))
				return rc;
			continue;
		}
		bool have_digest = false;
		for (const xmlAttr *a = c->properties; a; a = a->next) {
			char v[32];
			if (attr_skipped(a))
				continue;
			if (strcmp((const char *)a->name, "digest") != 0)
				return fail(I, node_line(c), "unknown attribute %s on <pin>", a->name);
			if ((rc = attr_value(I, c, a, v, sizeof(v))))
				return rc;
			if (!str_ieq(v, "SHA-256"))
				return fail(I, node_line(c), "pin digest \"%s\" is not supported (only SHA-256)", v);
			have_digest = true;
		}
		if (!have_digest)
			return fail(I, node_line(c), "<pin> without digest=\"SHA-256\"");
		if ((rc = elem_text(I, c, text, sizeof(text))))
			return rc;
		certpin_pin pin;
		if ((rc = nsc_pin_value(I, c, text, &pin)))
			return rc;
		bool dup = false;
		for (size_t k = 0; k < out->n && !dup; k++)
			dup = certpin_pin_equal(&out->pins[k], &pin);
		if (dup)
			continue;
		if (out->n == CERTPIN_IMPORT_MAX_HOST_PINS)
			return fail(I, node_line(c), "more than %u pins in one <pin-set>", CERTPIN_IMPORT_MAX_HOST_PINS);
		if (out->n == out->cap) {
			size_t ncap = out->cap ? out->cap * 2 : 4;
			certpin_pin *np = realloc(out->pins, ncap * sizeof(*np));
			if (!np)
				return nomem(I);
			out->pins = np;
			out->cap = ncap;
		}
		out->pins[out->n++] = pin;
	}
	return CERTPIN_OK;
}

/* Record `name` as seen; error if it was seen before (Android rejects duplicate domains). */
static int nsc_seen(certpin_tools__importer *I, long line, const char *name)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	int rc;

	if (!I->seen && certpin_policy_new(&I->seen) != CERTPIN_OK)
		return nomem(I);
	o.pattern = name;
	rc = certpin_policy_add_host(I->seen, &o, NULL);
	if (rc == CERTPIN_E_DUPLICATE)
		return fail(I, line, "domain \"%s\" appears more than once (Android rejects this)", name);
	return rc == CERTPIN_OK ? CERTPIN_OK : nomem(I);
}

static int nsc_unpinned(certpin_tools__importer *I, long line, const char *name)
{
	struct certpin_tools__unpinned *nu = certpin_tools__grow(I->unpinned, &I->capunpinned, I->nunpinned + 1,
		sizeof(*nu));

	if (!nu)
		return nomem(I);
	I->unpinned = nu;
	if (!(I->unpinned[I->nunpinned].name = strdup(name)))
		return nomem(I);
	I->unpinned[I->nunpinned++].line = line;
	return CERTPIN_OK;
}

/*
 * One <domain>: validate, record, and if `ps` has pins, make it a rule;
 * `anchors` ("" for the system store) are its effective trust anchors.
 */
static int nsc_domain(certpin_tools__importer *I, const xmlNode *d, const nsc_pinset *ps, const char *anchors)
{
	char text[CERTPIN_HOSTNAME_MAX + 8], base[CERTPIN_HOSTNAME_MAX], pattern[CERTPIN_PATTERN_MAX];
	int sub = 0, rc;
	long line = node_line(d);

	for (const xmlAttr *a = d->properties; a; a = a->next) {
		if (attr_skipped(a))
			continue;
		if (strcmp((const char *)a->name, "includeSubdomains") != 0)
			return fail(I, line, "unknown attribute %s on <domain>", a->name);
		if ((rc = attr_bool(I, d, a, &sub)))
			return rc;
	}
	if ((rc = elem_text(I, d, text, sizeof(text))))
		return rc;
	if (text[0] == '\0')
		return fail(I, line, "empty <domain>");
	if (strchr(text, '*'))
		return fail(I, line, "domain \"%s\": Android has no wildcards (use includeSubdomains)", text);
	if (certpin_pattern_normalize(pattern, sizeof(pattern), text, sub) != CERTPIN_OK ||
	    certpin_hostname_normalize(base, sizeof(base), text) != CERTPIN_OK)
		return fail(I, line, "domain \"%.260s\" is not a valid host name%s", text,
			sub ? " (includeSubdomains needs a DNS name)" : "");
	if ((rc = nsc_seen(I, line, base)))
		return rc;
	if (!ps || ps->n == 0)
		return nsc_unpinned(I, line, base);

	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = pattern;
	o.expires = ps->expires;
	o.on_expiry = CERTPIN_EXPIRY_FAIL_OPEN;
	if ((rc = certpin_tools__import_rule(I, line, &o, false)))
		return rc;
	for (size_t k = 0; k < ps->n; k++)
		if ((rc = certpin_tools__import_pin(I, ps->line, pattern, &ps->pins[k], CERTPIN_POS_ANY)))
			return rc;
	if (anchors[0])
		return certpin_tools__import_anchor_note(I, pattern, anchors);
	return CERTPIN_OK;
}

static int nsc_domain_config(certpin_tools__importer *I, const xmlNode *dc, const nsc_pinset *inherited,
	const char *inherited_anchors, int depth)
{
	nsc_pinset own = { 0 };
	const xmlNode *pinset = NULL;
	char anchors[256];
	bool own_anchors = false;
	size_t ndomains = 0;
	int rc = CERTPIN_OK;

	if (depth > NSC_MAX_DEPTH)
		return fail(I, node_line(dc), "<domain-config> nested more than %d deep", NSC_MAX_DEPTH);
	for (const xmlAttr *a = dc->properties; a; a = a->next) {
		if (attr_skipped(a) || strcmp((const char *)a->name, "cleartextTrafficPermitted") == 0)
			continue;
		return fail(I, node_line(dc), "unknown attribute %s on <domain-config>", a->name);
	}
	/* First pass: structure and this level's pin-set. */
	for (const xmlNode *c = dc->children; c; c = c->next) {
		if (is_elem(c, "domain")) {
			ndomains++;
		} else if (is_elem(c, "pin-set")) {
			if (pinset)
				return fail(I, node_line(c), "more than one <pin-set> in a <domain-config>");
			pinset = c;
		} else if (is_elem(c, "trust-anchors")) {
			if ((rc = nsc_trust_anchors(I, c, anchors, sizeof(anchors))))
				return rc;
			own_anchors = true;
		} else if (!is_elem(c, "domain-config")) {
			if ((rc = check_other_child(I, dc, c)))
				return rc;
		}
	}
	if (ndomains == 0)
		return fail(I, node_line(dc), "<domain-config> without <domain>");
	nsc_not_kept(I, dc);
	if (pinset && (rc = nsc_pin_set(I, pinset, &own)))
		goto done;
	/* Android: values not set in a nested domain-config come from its parent. */
	const nsc_pinset *ps = pinset ? &own : inherited;
	const char *ta = own_anchors ? anchors : inherited_anchors;
	for (const xmlNode *c = dc->children; c && rc == CERTPIN_OK; c = c->next) {
		if (is_elem(c, "domain"))
			rc = nsc_domain(I, c, ps, ta);
		else if (is_elem(c, "domain-config"))
			rc = nsc_domain_config(I, c, ps, ta, depth + 1);
	}
done:
	free(own.pins);
	return rc;
}

/* <base-config>: `anchors` gets its trust anchors if they leave out the system store. */
static int nsc_base_config(certpin_tools__importer *I, const xmlNode *bc, char *anchors, size_t len)
{
	int rc;

	for (const xmlNode *c = bc->children; c; c = c->next) {
		if (is_elem(c, "pin-set"))
			return fail(I, node_line(c), "<pin-set> is not allowed in <base-config> (Android rejects it)");
		if (is_elem(c, "trust-anchors") && (rc = nsc_trust_anchors(I, c, anchors, len)))
			return rc;
	}
	nsc_not_kept(I, bc);
	return CERTPIN_OK;
}

/* Hosts Android leaves unpinned that a wider certpin rule still covers. */
static void nsc_warn_unpinned(certpin_tools__importer *I)
{
	for (size_t i = 0; i < I->nunpinned; i++) {
		size_t idx;
		certpin_host_info h;
		if (certpin_policy_lookup(&idx, I->p, I->unpinned[i].name) == CERTPIN_OK &&
		    certpin_policy_host(&h, I->p, idx) == CERTPIN_OK)
			warn(I, I->unpinned[i].line, "domain \"%s\" has no pins, so Android does not pin it, "
				"but certpin applies the wider rule \"%s\" to it (stricter)", I->unpinned[i].name, h.pattern);
	}
	if (certpin_policy_host_count(I->p) == 0)
		warn(I, 0, "no pinned domains (the app does not pin)");
}

/* <network-security-config>: base-config first (domain-configs inherit its anchors wherever it is). */
static int nsc_root(certpin_tools__importer *I, const xmlNode *root)
{
	char base_anchors[256] = "";
	int rc;

	if (!root || !is_elem(root, "network-security-config"))
		return fail(I, root ? node_line(root) : 0, "root element is <%s>, not <network-security-config>",
			root ? (const char *)root->name : "(none)");
	for (const xmlAttr *a = root->properties; a; a = a->next)
		if (!attr_skipped(a))
			return fail(I, node_line(root), "unknown attribute %s on <network-security-config>", a->name);
	for (const xmlNode *c = root->children; c; c = c->next)
		if (is_elem(c, "base-config") && (rc = nsc_base_config(I, c, base_anchors, sizeof(base_anchors))))
			return rc;
	if (base_anchors[0] && (rc = certpin_tools__import_default_anchors(I, base_anchors)))
		return rc;
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (is_elem(c, "domain-config"))
			rc = nsc_domain_config(I, c, NULL, base_anchors, 1);
		else if (is_elem(c, "base-config"))
			rc = CERTPIN_OK;
		else if (is_elem(c, "debug-overrides"))
			rc = nsc_debug_overrides(I);
		else
			rc = check_other_child(I, root, c);
		if (rc)
			return rc;
	}
	nsc_warn_unpinned(I);
	return CERTPIN_OK;
}

int certpin_tools__import_android(certpin_tools__importer *I, const char *data, size_t len)
{
	xmlDocPtr doc = NULL;
	int rc;

	if ((rc = certpin_tools__xml_read(I, data, len, 0, &doc)))
		return rc;
	rc = nsc_root(I, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return rc;
}
