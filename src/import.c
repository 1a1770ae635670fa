/*
 * Import a policy from other pinning formats: Android
 * network_security_config.xml (libxml2, no DTDs, entities or network), and
 * pin lists (curl --pinnedpubkey strings, "host pin..." lines, OkHttp
 * CertificatePinner.Builder source).  See include/certpin/interop.h.
 */
#include "interop_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define NSC_MAX_DEPTH 32        /* nested <domain-config> levels */
#define LIST_MAX_TOKENS 4096    /* pins on one line of a pin list */

typedef struct importer {
	certpin_policy *p;
	const char *name;
	const char *default_host;
	size_t total_pins;      /* pins added so far, for CERTPIN_IMPORT_MAX_PINS */
	certpin__text warn;
	/* Android: normalized names of every <domain> seen, for duplicate checks. */
	certpin__hostindex seen;
	char **seen_names;
	size_t nseen, capseen;
	/* Android: <domain>s that pin nothing, checked against wider rules at the end. */
	struct unpinned {
		char *name;
		long line;
	} *unpinned;
	size_t nunpinned, capunpinned;
	certpin_error *err;
} importer;

__attribute__((format(printf, 3, 4)))
static int fail(importer *I, long line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return certpin__fail(I->err, CERTPIN_E_POLICY, NULL, (unsigned long)line, "%s:%ld: %s", I->name, line, msg);
	return certpin__fail(I->err, CERTPIN_E_POLICY, NULL, 0, "%s: %s", I->name, msg);
}

static int nomem(importer *I)
{
	return certpin__fail(I->err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", I->name);
}

__attribute__((format(printf, 3, 4)))
static void warn(importer *I, long line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		certpin__text_line(&I->warn, "%s:%ld: %s", I->name, line, msg);
	else
		certpin__text_line(&I->warn, "%s: %s", I->name, msg);
}

/*
 * Make sure a rule for `pattern` exists (created with `o`, pattern taken from
 * `o->pattern`).  An existing rule is reused only if `reuse` is set.
 */
static int ensure_rule(importer *I, long line, const certpin_host_options *o, bool reuse)
{
	int rc = certpin_policy_add_host(I->p, o, NULL);

	if (rc == CERTPIN_OK || (rc == CERTPIN_E_DUPLICATE && reuse))
		return CERTPIN_OK;
	if (rc == CERTPIN_E_NOMEM)
		return nomem(I);
	if (rc == CERTPIN_E_DUPLICATE)
		return fail(I, line, "host \"%s\" is defined more than once", o->pattern);
	return fail(I, line, "invalid host \"%.260s\"", o->pattern);
}

/*
 * Add a pin at `position`; a pin whose digest is already in the rule (at
 * any position) is skipped, so that the first position given wins.
 */
static int add_pin(importer *I, long line, const char *pattern, const certpin_pin *pin, certpin_position position)
{
	certpin_host_info h;
	certpin_pin have;
	size_t r;

	if (certpin_policy_find(&r, I->p, pattern) == CERTPIN_OK && certpin_policy_host(&h, I->p, r) == CERTPIN_OK) {
		for (size_t k = 0; k < h.pin_count; k++)
			if (certpin_policy_host_pin(&have, NULL, I->p, r, k) == CERTPIN_OK && certpin_pin_equal(&have, pin))
				return CERTPIN_OK;
		if (h.pin_count >= CERTPIN_IMPORT_MAX_HOST_PINS)
			return fail(I, line, "more than %u pins for host \"%s\"", CERTPIN_IMPORT_MAX_HOST_PINS, h.pattern);
	}
	if (I->total_pins >= CERTPIN_IMPORT_MAX_PINS)
		return fail(I, line, "more than %u pins in all", CERTPIN_IMPORT_MAX_PINS);
	int rc = certpin_policy_add_pin(I->p, pattern, pin, position, NULL, NULL);

	if (rc == CERTPIN_OK)
		I->total_pins++;
	if (rc == CERTPIN_OK || rc == CERTPIN_E_DUPLICATE)
		return CERTPIN_OK;
	if (rc == CERTPIN_E_NOMEM)
		return nomem(I);
	return fail(I, line, "cannot add pin to \"%s\": %s", pattern, certpin_strerror(rc));
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* ------------------------------------------------------------------------ */
/* Android network_security_config.xml                                       */
/* ------------------------------------------------------------------------ */

typedef struct nsc_pinset {
	certpin_pin *pins;
	size_t n, cap;
	int64_t expires;        /* 0 = none */
	long line;
} nsc_pinset;

static long node_line(const xmlNode *n)
{
	return xmlGetLineNo(n);
}

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
static int attr_value(importer *I, const xmlNode *elem, const xmlAttr *a, char *out, size_t outlen)
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
static int elem_text(importer *I, const xmlNode *elem, char *out, size_t outlen)
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
static int check_other_child(importer *I, const xmlNode *parent, const xmlNode *c)
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
static int attr_bool(importer *I, const xmlNode *elem, const xmlAttr *a, int *out)
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
static int nsc_trust_anchors(importer *I, const xmlNode *ta, char *out, size_t outlen)
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
static void nsc_not_kept(importer *I, const xmlNode *elem)
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
static int nsc_debug_overrides(importer *I)
{
	warn(I, 0, "<debug-overrides> " NOT_KEPT);
	return CERTPIN_OK;
}

/* Remember that rule `pattern` trusts only `anchors` (not the system store). */
static int nsc_anchor_note(importer *I, const char *pattern, const char *anchors)
{
	certpin_policy *p = I->p;
	certpin__anchor_note *nn = realloc(p->anchor_notes, (p->nanchor_notes + 1) * sizeof(*nn));

	if (!nn)
		return nomem(I);
	p->anchor_notes = nn;
	nn[p->nanchor_notes].pattern = strdup(pattern);
	nn[p->nanchor_notes].anchors = strdup(anchors);
	p->nanchor_notes++;
	if (!nn[p->nanchor_notes - 1].pattern || !nn[p->nanchor_notes - 1].anchors)
		return nomem(I);
	return CERTPIN_OK;
}

/* Decode an Android pin value: base64, white space ignored, padding optional. */
static int nsc_pin_value(importer *I, const xmlNode *pin_elem, const char *text, certpin_pin *out)
{
	char b64[64];
	unsigned char digest[48];
	size_t n = 0;

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
	int got = certpin__b64_decode(digest, sizeof(digest), b64, n);
	if (got < 0)
		return fail(I, node_line(pin_elem), "pin \"%.60s\" is not valid base64", text);
	if (got != CERTPIN_DIGEST_LEN)
		return fail(I, node_line(pin_elem), "pin \"%.60s\" is %d bytes, a SHA-256 digest is 32", text, got);
	out->kind = CERTPIN_PIN_SPKI_SHA256;
	memcpy(out->digest, digest, CERTPIN_DIGEST_LEN);
	return CERTPIN_OK;
}

static int nsc_pin_set(importer *I, const xmlNode *ps, nsc_pinset *out)
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
		if (strlen(v) != 10 || certpin__parse_time(&out->expires, v) != 0 || out->expires <= 0)
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

static const char *seen_name(const void *ctx, size_t i)
{
	return ((const importer *)ctx)->seen_names[i];
}

/* Record `name` as seen; error if it was seen before (Android rejects duplicate domains). */
static int nsc_seen(importer *I, long line, const char *name)
{
	if (certpin__hostindex_find(&I->seen, name, strlen(name), WILD_NONE, seen_name, I) >= 0)
		return fail(I, line, "domain \"%s\" appears more than once (Android rejects this)", name);
	if (I->nseen == I->capseen) {
		size_t ncap = I->capseen ? I->capseen * 2 : 16;
		char **nn = realloc(I->seen_names, ncap * sizeof(*nn));
		if (!nn)
			return nomem(I);
		I->seen_names = nn;
		I->capseen = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return nomem(I);
	I->seen_names[I->nseen++] = copy;
	if (certpin__hostindex_add(&I->seen, copy, strlen(copy), WILD_NONE, I->nseen - 1, seen_name, I) != CERTPIN_OK)
		return nomem(I);
	return CERTPIN_OK;
}

static int nsc_unpinned(importer *I, long line, const char *name)
{
	if (I->nunpinned == I->capunpinned) {
		size_t ncap = I->capunpinned ? I->capunpinned * 2 : 8;
		struct unpinned *nu = realloc(I->unpinned, ncap * sizeof(*nu));
		if (!nu)
			return nomem(I);
		I->unpinned = nu;
		I->capunpinned = ncap;
	}
	if (!(I->unpinned[I->nunpinned].name = strdup(name)))
		return nomem(I);
	I->unpinned[I->nunpinned++].line = line;
	return CERTPIN_OK;
}

/*
 * One <domain>: validate, record, and if `ps` has pins, make it a rule;
 * `anchors` ("" for the system store) are its effective trust anchors.
 */
static int nsc_domain(importer *I, const xmlNode *d, const nsc_pinset *ps, const char *anchors)
{
	char text[CERTPIN_HOSTNAME_MAX + 8], base[CERTPIN_HOSTNAME_MAX], pattern[CERTPIN_HOSTNAME_MAX + 4];
	int sub = 0, wild, is_ip, rc;
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
	if (certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, text, sub) != CERTPIN_OK)
		return fail(I, line, "domain \"%.260s\" is not a valid host name%s", text,
			sub ? " (includeSubdomains needs a DNS name)" : "");
	if ((rc = nsc_seen(I, line, base)))
		return rc;
	if (!ps || ps->n == 0)
		return nsc_unpinned(I, line, base);

	snprintf(pattern, sizeof(pattern), "%s%s", sub ? "**." : "", base);
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = pattern;
	o.expires = ps->expires;
	o.on_expiry = CERTPIN_EXPIRY_FAIL_OPEN;
	if ((rc = ensure_rule(I, line, &o, false)))
		return rc;
	for (size_t k = 0; k < ps->n; k++)
		if ((rc = add_pin(I, ps->line, pattern, &ps->pins[k], CERTPIN_POS_ANY)))
			return rc;
	if (anchors[0])
		return nsc_anchor_note(I, pattern, anchors);
	return CERTPIN_OK;
}

static int nsc_domain_config(importer *I, const xmlNode *dc, const nsc_pinset *inherited,
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
static int nsc_base_config(importer *I, const xmlNode *bc, char *anchors, size_t len)
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

/*
 * Refuse what must never reach the parser: NUL bytes (so only UTF-8 and its
 * ASCII subset get in: no UTF-16/EBCDIC that would hide markup from the scan
 * below) and DOCTYPE/ENTITY declarations (no DTD, no entity expansion).
 */
static int nsc_prescan(importer *I, const char *data, size_t len)
{
	long line = 1;

	if (memchr(data, '\0', len))
		return fail(I, 0, "NUL byte in XML (only UTF-8 is accepted)");
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			line++;
		else if (data[i] == '<' && len - i >= 2 && data[i + 1] == '!' &&
			 ((len - i >= 9 && memcmp(data + i, "<!DOCTYPE", 9) == 0) ||
			  (len - i >= 8 && memcmp(data + i, "<!ENTITY", 8) == 0)))
			return fail(I, line, "DOCTYPE and ENTITY declarations are not accepted");
	}
	return CERTPIN_OK;
}

/* The first parser error (libxml2 keeps only the last, usually a follow-on "premature end"). */
typedef struct xml_first_error {
	int set;
	long line;
	char msg[200];
} xml_first_error;

static void xml_error_hook(void *data, const xmlError *e)
{
	xmlParserCtxtPtr ctxt = data;
	xml_first_error *f = ctxt ? ctxt->_private : NULL;

	if (!f || f->set || !e || e->level < XML_ERR_ERROR)
		return;
	f->set = 1;
	f->line = e->line;
	snprintf(f->msg, sizeof(f->msg), "%s", e->message ? e->message : "error");
	size_t n = strlen(f->msg);
	while (n > 0 && is_space((unsigned char)f->msg[n - 1]))
		f->msg[--n] = '\0';
}

/* libxml2 before 2.11 must not run xmlInitParser() in two threads at once. */
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static int import_nsc(importer *I, const char *data, size_t len)
{
	xml_first_error first = { 0 };
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	int rc;

	if ((rc = nsc_prescan(I, data, len)))
		return rc;
	if (len > (size_t)INT32_MAX)
		return fail(I, 0, "input too large");
	if (pthread_once(&xml_once, xml_init) != 0)
		return fail(I, 0, "cannot initialize the XML parser");
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return nomem(I);
	ctxt->_private = &first;
	ctxt->sax->serror = (xmlStructuredErrorFunc)xml_error_hook;
	/*
	 * No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD/DTDATTR/
	 * DTDVALID (no external subset), no XINCLUDE, no HUGE (libxml2's own
	 * limits stay on), NONET (never fetch anything), and the encoding is
	 * forced to UTF-8 whatever the declaration says.
	 */
	doc = xmlCtxtReadMemory(ctxt, data, (int)len, I->name, "UTF-8",
		XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES |
		XML_PARSE_IGNORE_ENC);
	if (!doc || first.set) {
		if (!first.set) {
			const xmlError *e = xmlCtxtGetLastError(ctxt);
			xml_error_hook(ctxt, e);
		}
		rc = first.set ? fail(I, first.line, "malformed XML: %s", first.msg) : fail(I, 0, "malformed XML");
		goto done;
	}
	if (doc->intSubset || doc->extSubset) {
		rc = fail(I, 0, "DOCTYPE declarations are not accepted");
		goto done;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root || !is_elem(root, "network-security-config")) {
		rc = fail(I, root ? node_line(root) : 0, "root element is <%s>, not <network-security-config>",
			root ? (const char *)root->name : "(none)");
		goto done;
	}
	for (const xmlAttr *a = root->properties; a; a = a->next) {
		if (!attr_skipped(a)) {
			rc = fail(I, node_line(root), "unknown attribute %s on <network-security-config>", a->name);
			goto done;
		}
	}
	/* <base-config> first: domain-configs inherit its trust anchors wherever it is */
	char base_anchors[256] = "";
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (is_elem(c, "base-config") && (rc = nsc_base_config(I, c, base_anchors, sizeof(base_anchors))))
			goto done;
	}
	if (base_anchors[0] && !(I->p->default_anchors = strdup(base_anchors))) {
		rc = nomem(I);
		goto done;
	}
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
			goto done;
	}
	/* Hosts Android leaves unpinned that a wider certpin rule still covers. */
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
	rc = CERTPIN_OK;
done:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Pin lists                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Pins for host `pattern` (NULL: the default host), pin k at position
 * `pos[k]` (`pos` NULL: all at position any).
 */
static int list_add(importer *I, long line, const char *pattern, const certpin_pin *pins,
	const certpin_position *pos, size_t n)
{
	int rc;

	if (!pattern) {
		if (!I->default_host)
			return fail(I, line, "pins without a host (give a default host, e.g. certpin import --host HOST)");
		pattern = I->default_host;
	}
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = pattern;
	if ((rc = ensure_rule(I, line, &o, true)))
		return rc;
	for (size_t k = 0; k < n; k++)
		if ((rc = add_pin(I, line, pattern, &pins[k], pos ? pos[k] : CERTPIN_POS_ANY)))
			return rc;
	return CERTPIN_OK;
}

/*
 * A pin in curl's --pinnedpubkey form, "sha256//B64" (not "sha256/" and a
 * 44-character digest that happens to start with '/').  curl checks these
 * against the leaf certificate's key only, so they are imported at position
 * leaf.
 */
static bool is_curl_pin(const char *s, size_t n)
{
	return n >= 8 && memcmp(s, "sha256//", 8) == 0 && n != 7 + 44;
}

static bool is_list_sep(int c)
{
	return is_space(c) || c == ',' || c == ';';
}

/* One line of a pin list (without the newline). */
static int list_line(importer *I, long line, const char *s, size_t len, certpin_pin *pins, certpin_position *pos)
{
	char host[CERTPIN_HOSTNAME_MAX + 8];
	bool have_host = false;
	size_t npins = 0, ntok = 0, i = 0;
	int rc;

	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	while (i < len && is_space((unsigned char)s[i]))
		i++;
	if (i == len || s[i] == '#' || (len - i >= 2 && s[i] == '/' && s[i + 1] == '/'))
		return CERTPIN_OK;
	while (i < len) {
		while (i < len && is_list_sep((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		if (s[i] == '#')        /* comment to the end of the line */
			break;
		size_t start = i;
		while (i < len && !is_list_sep((unsigned char)s[i]))
			i++;
		size_t end = i;
		if (npins == LIST_MAX_TOKENS)
			return fail(I, line, "more than %d pins on one line", LIST_MAX_TOKENS);
		/* As is first: pin-sha256="B64" ends with a quote. */
		rc = certpin_pin_parse(&pins[npins], s + start, end - start);
		if (rc == CERTPIN_OK) {
			pos[npins] = is_curl_pin(s + start, end - start) ? CERTPIN_POS_LEAF : CERTPIN_POS_ANY;
			ntok++;
			npins++;
			continue;
		}
		/* Quotes left over from a copied shell command: 'sha256//A;sha256//B'. */
		while (start < end && (s[start] == '\'' || s[start] == '"'))
			start++;
		while (end > start && (s[end - 1] == '\'' || s[end - 1] == '"'))
			end--;
		if (end - start >= 15 && memcmp(s + start, "--pinnedpubkey=", 15) == 0)
			start += 15;
		else if (end - start == 14 && memcmp(s + start, "--pinnedpubkey", 14) == 0)
			continue;
		if (start == end)
			continue;
		ntok++;
		rc = certpin_pin_parse(&pins[npins], s + start, end - start);
		if (rc == CERTPIN_OK) {
			pos[npins] = is_curl_pin(s + start, end - start) ? CERTPIN_POS_LEAF : CERTPIN_POS_ANY;
			npins++;
			continue;
		}
		if (ntok == 1 && end - start < sizeof(host)) {
			char base[CERTPIN_HOSTNAME_MAX];
			int wild, is_ip;
			memcpy(host, s + start, end - start);
			host[end - start] = '\0';
			if (certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, host, 0) == CERTPIN_OK) {
				have_host = true;
				continue;
			}
		}
		if (ntok == 1 && rc == CERTPIN_E_PIN_SYNTAX)
			return fail(I, line, "\"%.*s\" is neither a pin nor a host name", (int)(end - start > 80 ?
				80 : end - start), s + start);
		return fail(I, line, "bad pin \"%.*s\": %s", (int)(end - start > 80 ? 80 : end - start),
			s + start, certpin_strerror(rc));
	}
	if (npins == 0) {
		if (have_host)
			return fail(I, line, "host \"%s\" without pins", host);
		return CERTPIN_OK;
	}
	return list_add(I, line, have_host ? host : NULL, pins, pos, npins);
}

/*
 * Kotlin/Java source with CertificatePinner.Builder().add(...) calls.  A small
 * lexer skips comments, string and character literals outside .add( calls.
 * With `apply` false it only reports (in *found) whether any .add( call is
 * present in code; with `apply` it adds every call's pins.
 */
typedef struct lexer {
	const char *s;
	size_t len, i;
	long line;
} lexer;

static bool lx_at(const lexer *L, const char *tok)
{
	size_t n = strlen(tok);
	return L->len - L->i >= n && memcmp(L->s + L->i, tok, n) == 0;
}

static void lx_adv(lexer *L, size_t n)
{
	for (size_t k = 0; k < n && L->i < L->len; k++)
		if (L->s[L->i++] == '\n')
			L->line++;
}

/* Skip white space and comments. */
static void lx_skip(lexer *L)
{
	while (L->i < L->len) {
		if (is_space((unsigned char)L->s[L->i])) {
			lx_adv(L, 1);
		} else if (lx_at(L, "//")) {
			while (L->i < L->len && L->s[L->i] != '\n')
				L->i++;
		} else if (lx_at(L, "/*")) {
			lx_adv(L, 2);
			while (L->i < L->len && !lx_at(L, "*/"))
				lx_adv(L, 1);
			lx_adv(L, 2);
		} else {
			break;
		}
	}
}

/* A plain "..." literal inside .add(: no escapes, no templates, one line. */
static int lx_string(importer *I, lexer *L, char *out, size_t outlen)
{
	size_t n = 0;
	long line = L->line;

	lx_adv(L, 1);
	while (L->i < L->len && L->s[L->i] != '"') {
		char c = L->s[L->i];
		if (c == '\n')
			return fail(I, line, "unterminated string literal");
		if (c == '\\' || c == '$')
			return fail(I, line, "escapes and templates are not supported in .add(...) literals");
		if (n + 1 >= outlen)
			return fail(I, line, "string literal too long");
		out[n++] = c;
		L->i++;
	}
	if (L->i == L->len)
		return fail(I, line, "unterminated string literal");
	L->i++;
	out[n] = '\0';
	return CERTPIN_OK;
}

static int okhttp_add(importer *I, lexer *L, certpin_pin *pins)
{
	char host[CERTPIN_HOSTNAME_MAX + 8], lit[256];
	size_t nlit = 0, npins = 0;
	long line = L->line;
	int rc;

	for (;;) {
		lx_skip(L);
		if (L->i == L->len)
			return fail(I, line, "unterminated .add( call");
		if (L->s[L->i] == ')')   /* also after a trailing comma */
			break;
		if (L->s[L->i] != '"' || lx_at(L, "\"\"\""))
			return fail(I, L->line, ".add(...) arguments must be string literals");
		long litline = L->line;
		if ((rc = lx_string(I, L, nlit == 0 ? host : lit, nlit == 0 ? sizeof(host) : sizeof(lit))))
			return rc;
		if (nlit > 0) {
			if (npins == LIST_MAX_TOKENS)
				return fail(I, litline, "more than %d pins in one .add(", LIST_MAX_TOKENS);
			rc = certpin_pin_parse(&pins[npins], lit, strlen(lit));
			if (rc != CERTPIN_OK)
				return fail(I, litline, "bad pin \"%.80s\": %s", lit, certpin_strerror(rc));
			npins++;
		}
		nlit++;
		lx_skip(L);
		if (L->i == L->len)
			return fail(I, line, "unterminated .add( call");
		if (L->s[L->i] == ',') {
			L->i++;
			continue;
		}
		if (L->s[L->i] == ')')
			break;
		return fail(I, L->line, "expected ',' or ')' in .add(...)");
	}
	L->i++;   /* ')' */
	if (nlit == 0)
		return fail(I, line, ".add() without arguments");
	if (npins == 0)
		return fail(I, line, ".add(\"%s\") without pins", host);
	return list_add(I, line, host, pins, NULL, npins);
}

static int okhttp_scan(importer *I, const char *s, size_t len, bool apply, bool *found, certpin_pin *pins)
{
	lexer L = { s, len, 0, 1 };
	int rc;

	*found = false;
	while (L.i < L.len) {
		char c = L.s[L.i];
		if (is_space((unsigned char)c) || lx_at(&L, "//") || lx_at(&L, "/*")) {
			lx_skip(&L);
		} else if (lx_at(&L, "\"\"\"")) {
			lx_adv(&L, 3);
			while (L.i < L.len && !lx_at(&L, "\"\"\""))
				lx_adv(&L, 1);
			lx_adv(&L, 3);
		} else if (c == '"') {
			long line = L.line;
			size_t start = ++L.i;
			while (L.i < L.len && L.s[L.i] != '"' && L.s[L.i] != '\n')
				L.i += (L.s[L.i] == '\\' && L.i + 1 < L.len && L.s[L.i + 1] != '\n') ? 2 : 1;
			if (apply && L.i - start >= 7 && (memcmp(s + start, "sha256/", 7) == 0 ||
			    (L.i - start >= 12 && memcmp(s + start, "cert-sha256/", 12) == 0)))
				warn(I, line, "pin literal outside .add(...) ignored");
			if (L.i < L.len && L.s[L.i] == '"')
				L.i++;
		} else if (c == '\'') {
			/* character literal: '"', '\'' and the like */
			size_t k = L.i + 1;
			if (k < L.len && L.s[k] == '\\')
				k++;
			k++;
			lx_adv(&L, (k < L.len && L.s[k] == '\'') ? k + 1 - L.i : 1);
		} else if (lx_at(&L, ".add")) {
			lexer save = L;
			lx_adv(&L, 4);
			lx_skip(&L);
			if (L.i < L.len && L.s[L.i] == '(') {
				*found = true;
				if (!apply)
					return CERTPIN_OK;
				L.i++;
				if ((rc = okhttp_add(I, &L, pins)))
					return rc;
			} else {
				L = save;
				L.i += 4;
			}
		} else {
			L.i++;
		}
	}
	return CERTPIN_OK;
}

/* Does OkHttp pattern `w` match every host that pattern `r` matches? */
static bool pattern_covers(const certpin_host_info *w, const certpin_host_info *r)
{
	size_t wl = strlen(w->name), rl = strlen(r->name);

	if (w->is_ip || r->is_ip)
		return false;
	if (w->wildcard == WILD_ONE)    /* "*.t" covers exactly one-label names under t */
		return r->wildcard == WILD_NONE && rl > wl + 1 && r->name[rl - wl - 1] == '.' &&
			strcmp(r->name + rl - wl, w->name) == 0 && memchr(r->name, '.', rl - wl - 1) == NULL;
	if (w->wildcard != WILD_ANY)
		return false;
	/* "**.t" covers t and every name below it */
	if (rl == wl)
		return r->wildcard != WILD_ANY && strcmp(r->name, w->name) == 0;
	return rl > wl && r->name[rl - wl - 1] == '.' && strcmp(r->name + rl - wl, w->name) == 0;
}

/*
 * Do patterns `a` and `b` match a host in common without one covering the
 * other?  If so that host is the base name of the "**." one, and certpin
 * applies that rule there (the longer base is the more specific).
 */
static bool pattern_overlaps(const certpin_host_info *a, const certpin_host_info *b)
{
	const certpin_host_info *one = a->wildcard == WILD_ONE ? a : b, *any = one == a ? b : a;
	size_t ol = strlen(one->name), al = strlen(any->name);

	/* the only partial overlap: "*.t" and "**.l.t" (l one label) share the host l.t */
	if (one->wildcard != WILD_ONE || any->wildcard != WILD_ANY || one->is_ip || any->is_ip)
		return false;
	return al > ol + 1 && any->name[al - ol - 1] == '.' && strcmp(any->name + al - ol, one->name) == 0 &&
		memchr(any->name, '.', al - ol - 1) == NULL;
}

/*
 * OkHttp accepts, for a host, the pins of EVERY pattern that matches it;
 * certpin applies only the most specific rule.  Give each rule the pins of
 * every wider pattern that matches all of its hosts, so that the policy
 * accepts what OkHttp accepts.  A partial overlap (only "*.t" with "**.l.t",
 * at host l.t) cannot be merged exactly: warned.
 */
static int okhttp_union(importer *I)
{
	size_t n = certpin_policy_host_count(I->p);
	size_t *orig = calloc(n ? n : 1, sizeof(*orig));
	int rc = CERTPIN_OK;

	if (!orig)
		return nomem(I);
	for (size_t i = 0; i < n; i++) {
		certpin_host_info h;
		if (certpin_policy_host(&h, I->p, i) != CERTPIN_OK) {
			free(orig);
			return fail(I, 0, "internal error reading rule %zu", i);
		}
		orig[i] = h.pin_count;
	}
	for (size_t r = 0; r < n && rc == CERTPIN_OK; r++) {
		certpin_host_info hr;
		char pattern[CERTPIN_HOSTNAME_MAX + 4];

		if ((rc = certpin_policy_host(&hr, I->p, r)) != CERTPIN_OK)
			break;
		snprintf(pattern, sizeof(pattern), "%s", hr.pattern);
		for (size_t w = 0; w < n && rc == CERTPIN_OK; w++) {
			certpin_host_info hw;
			size_t before;

			if (w == r || (rc = certpin_policy_host(&hw, I->p, w)) != CERTPIN_OK)
				continue;
			if (!pattern_covers(&hw, &hr)) {
				if (r < w && pattern_overlaps(&hw, &hr)) {
					const certpin_host_info *any = hw.wildcard == WILD_ANY ? &hw : &hr,
						*one = any == &hw ? &hr : &hw;
					warn(I, 0, "host %s matches both \"%s\" and \"%s\": OkHttp accepts the pins of "
						"both there, certpin only those of \"%s\" (stricter)", any->name, any->pattern,
						one->pattern, any->pattern);
				}
				continue;
			}
			if ((rc = certpin_policy_host(&hr, I->p, r)) != CERTPIN_OK)
				break;
			before = hr.pin_count;
			for (size_t k = 0; k < orig[w] && rc == CERTPIN_OK; k++) {
				certpin_pin pin;
				certpin_position pos;
				if ((rc = certpin_policy_host_pin(&pin, &pos, I->p, w, k)) == CERTPIN_OK)
					rc = add_pin(I, 0, pattern, &pin, pos);
			}
			if (rc == CERTPIN_OK && (rc = certpin_policy_host(&hr, I->p, r)) == CERTPIN_OK &&
			    hr.pin_count > before)
				warn(I, 0, "\"%s\" also matches every host of \"%s\": OkHttp accepts the pins of "
					"every matching pattern, so its %zu pin(s) were added to rule \"%s\"", hw.pattern,
					hr.pattern, hr.pin_count - before, hr.pattern);
		}
	}
	free(orig);
	return rc;
}

static int import_list(importer *I, const char *data, size_t len)
{
	certpin_pin *pins = malloc(LIST_MAX_TOKENS * sizeof(*pins));
	certpin_position *pos = malloc(LIST_MAX_TOKENS * sizeof(*pos));
	bool okhttp;
	int rc;

	if (!pins || !pos) {
		free(pins);
		free(pos);
		return nomem(I);
	}
	if (memchr(data, '\0', len)) {
		rc = fail(I, 0, "NUL byte in a pin list");
		goto done;
	}
	if (I->default_host) {
		char base[CERTPIN_HOSTNAME_MAX];
		int wild, is_ip;
		if (certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, I->default_host, 0) != CERTPIN_OK) {
			rc = fail(I, 0, "invalid default host \"%.260s\"", I->default_host);
			goto done;
		}
	}
	if ((rc = okhttp_scan(I, data, len, false, &okhttp, pins)))
		goto done;
	if (okhttp) {
		rc = okhttp_scan(I, data, len, true, &okhttp, pins);
		if (rc == CERTPIN_OK)
			rc = okhttp_union(I);
	} else {
		long line = 1;
		size_t start = 0;
		for (size_t i = 0; i <= len && rc == CERTPIN_OK; i++) {
			if (i == len || data[i] == '\n') {
				rc = list_line(I, line, data + start, i - start, pins, pos);
				start = i + 1;
				line++;
			}
		}
	}
	if (rc == CERTPIN_OK && certpin_policy_host_count(I->p) == 0)
		rc = fail(I, 0, "no pins found");
done:
	free(pins);
	free(pos);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static certpin_import_format detect(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && is_space((unsigned char)data[i]))
		i++;
	if (i < len && data[i] == '{')
		return CERTPIN_IMPORT_JSON;
	if (i < len && data[i] == '<')
		return CERTPIN_IMPORT_ANDROID_NSC;
	return CERTPIN_IMPORT_PIN_LIST;
}

static void importer_free(importer *I)
{
	certpin__hostindex_free(&I->seen);
	for (size_t i = 0; i < I->nseen; i++)
		free(I->seen_names[i]);
	free(I->seen_names);
	for (size_t i = 0; i < I->nunpinned; i++)
		free(I->unpinned[i].name);
	free(I->unpinned);
	certpin__text_free(&I->warn);
}

/* Copy every rule of the loaded policy `q` into the empty `p` (JSON import). */
static int copy_policy(certpin_policy *p, const certpin_policy *q, certpin_error *err)
{
	int rc = CERTPIN_OK;
	size_t n;
	const char *const *uris = certpin_policy_report_uris(q, -1, &n);

	if (n && (rc = certpin_policy_set_report_uris(p, NULL, uris, n, err)) != CERTPIN_OK)
		return rc;
	for (size_t i = 0; i < certpin_policy_host_count(q) && rc == CERTPIN_OK; i++) {
		certpin_host_info h;
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		if ((rc = certpin_policy_host(&h, q, i)) != CERTPIN_OK)
			break;
		o.pattern = h.pattern;
		o.mode = h.mode;
		o.expires = h.expires;
		o.on_expiry = h.on_expiry;
		o.clock_skew = h.clock_skew;
		rc = certpin_policy_add_host(p, &o, err);
		for (size_t k = 0; k < h.pin_count && rc == CERTPIN_OK; k++) {
			certpin_pin pin;
			certpin_position pos;
			if ((rc = certpin_policy_host_pin(&pin, &pos, q, i, k)) == CERTPIN_OK)
				rc = certpin_policy_add_pin(p, h.pattern, &pin, pos, certpin_policy_host_pin_comment(q, i, k), err);
		}
		const certpin__rule *r = certpin__policy_rule(q, i);
		if (rc == CERTPIN_OK && r->uris && q->uri_sets[r->uris - 1].n)
			rc = certpin_policy_set_report_uris(p, h.pattern, (const char *const *)q->uri_sets[r->uris - 1].uris,
				q->uri_sets[r->uris - 1].n, err);
	}
	p->version = q->version;
	return rc;
}

static int import_json(importer *I, const char *data, size_t len)
{
	certpin_policy *q = NULL;
	int rc = certpin_policy_load_data(&q, data, len, I->name, NULL, I->err);

	if (rc == CERTPIN_OK)
		rc = copy_policy(I->p, q, I->err);
	certpin_policy_free(q);
	return rc;
}

int certpin_policy_import_data_ex(certpin_policy *p, const char *data, size_t len, certpin_import_format format,
	const char *default_host, const char *name, char **warnings, certpin_error *err)
{
	importer I;
	int rc;

	if (warnings)
		*warnings = NULL;
	if (!p)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no policy");
	if (!data && len)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no data");
	if (p->nrules != 0 || p->frozen)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "import into a policy that already has rules");
	memset(&I, 0, sizeof(I));
	I.p = p;
	I.err = err;
	I.name = name ? name : "<data>";
	I.default_host = default_host;
	if (!data)
		data = "";
	/* A UTF-8 byte order mark is not content in any format. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (len > CERTPIN_IMPORT_MAX_SIZE) {
		rc = fail(&I, 0, "input larger than %u bytes", CERTPIN_IMPORT_MAX_SIZE);
		goto done;
	}
	if (format == CERTPIN_IMPORT_AUTO)
		format = detect(data, len);
	switch (format) {
	case CERTPIN_IMPORT_JSON:
		rc = import_json(&I, data, len);
		break;
	case CERTPIN_IMPORT_ANDROID_NSC:
		rc = import_nsc(&I, data, len);
		break;
	case CERTPIN_IMPORT_PIN_LIST:
		rc = import_list(&I, data, len);
		break;
	default:
		rc = certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown import format %d", (int)format);
		break;
	}
	if (rc == CERTPIN_OK && I.warn.nomem)
		rc = nomem(&I);
done:
	if (rc != CERTPIN_OK)
		certpin__policy_reset(p);
	else if (warnings)
		*warnings = certpin__text_take(&I.warn);
	importer_free(&I);
	return rc;
}

int certpin_policy_import_data(certpin_policy *p, const char *data, size_t len, certpin_import_format format,
	const char *default_host, const char *name, certpin_error *err)
{
	return certpin_policy_import_data_ex(p, data, len, format, default_host, name, NULL, err);
}

int certpin_policy_import_file_ex(certpin_policy *p, const char *path, certpin_import_format format,
	const char *default_host, char **warnings, certpin_error *err)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int rc;

	if (warnings)
		*warnings = NULL;
	if (!p || !path)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no policy or no file name");
	if (p->nrules != 0)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "import into a policy that already has rules");
	f = fopen(path, "rb");
	if (!f)
		return certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s: %s", path, strerror(errno));
	buf = malloc(CERTPIN_IMPORT_MAX_SIZE + 1);
	if (!buf) {
		fclose(f);
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", path);
	}
	n = fread(buf, 1, CERTPIN_IMPORT_MAX_SIZE + 1, f);
	if (ferror(f)) {
		rc = certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s: read error (is it a directory?)", path);
		goto done;
	}
	if (n > CERTPIN_IMPORT_MAX_SIZE) {
		rc = certpin__fail(err, CERTPIN_E_POLICY, NULL, 0, "%s: input larger than %u bytes", path,
			CERTPIN_IMPORT_MAX_SIZE);
		goto done;
	}
	rc = certpin_policy_import_data_ex(p, buf, n, format, default_host, path, warnings, err);
done:
	fclose(f);
	free(buf);
	return rc;
}

int certpin_policy_import_file(certpin_policy *p, const char *path, certpin_import_format format,
	const char *default_host, certpin_error *err)
{
	return certpin_policy_import_file_ex(p, path, format, default_host, NULL, err);
}

int certpin_import_format_parse(certpin_import_format *out, const char *name)
{
	static const struct {
		const char *name;
		certpin_import_format format;
	} names[] = {
		{ "auto", CERTPIN_IMPORT_AUTO }, { "json", CERTPIN_IMPORT_JSON },
		{ "android", CERTPIN_IMPORT_ANDROID_NSC }, { "nsc", CERTPIN_IMPORT_ANDROID_NSC },
		{ "pins", CERTPIN_IMPORT_PIN_LIST }, { "okhttp", CERTPIN_IMPORT_PIN_LIST },
		{ "curl", CERTPIN_IMPORT_PIN_LIST },
	};

	if (!out || !name)
		return CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(names); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].format;
			return CERTPIN_OK;
		}
	}
	return CERTPIN_E_INVALID_ARG;
}

const char *certpin_import_format_name(certpin_import_format format)
{
	switch (format) {
	case CERTPIN_IMPORT_AUTO: return "auto";
	case CERTPIN_IMPORT_JSON: return "json";
	case CERTPIN_IMPORT_ANDROID_NSC: return "android";
	case CERTPIN_IMPORT_PIN_LIST: return "pins";
	}
	return "unknown";
}

const char *certpin_policy_import_anchors(const certpin_policy *policy, const char *hostname)
{
	certpin_host_info h;
	size_t idx;

	if (!policy || !hostname)
		return NULL;
	if (certpin_policy_lookup(&idx, policy, hostname) != CERTPIN_OK)
		return policy->default_anchors;
	if (certpin_policy_host(&h, policy, idx) != CERTPIN_OK)
		return NULL;
	for (size_t i = 0; i < policy->nanchor_notes; i++)
		if (strcmp(policy->anchor_notes[i].pattern, h.pattern) == 0)
			return policy->anchor_notes[i].anchors;
	return NULL;
}
