/*
 * Read TrustKit's configuration from an XML property list (an app's
 * Info.plist, key TSKConfiguration; or a plist whose top dictionary is the
 * configuration).  libxml2 through import_xml.c: Apple's plist DOCTYPE is
 * accepted but never loaded, no entity is expanded, nothing is fetched.
 */
#include "import_trustkit.h"
#include "import_xml.h"

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define line_of(n) certpin_tools__xml_line(n)

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL && strcmp((const char *)n->name, name) == 0;
}

/* A child of <dict>, <array> or <plist> that is not an element: blank text, a comment or a PI only. */
static int other_child(certpin_tools__importer *I, const xmlNode *parent, const xmlNode *c)
{
	if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
		return CERTPIN_OK;
	if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
		for (const xmlChar *s = c->content; s && *s; s++)
			if (!certpin_tools__is_space(*s))
				return fail(I, line_of(c), "unexpected text in <%s>", parent->name);
		return CERTPIN_OK;
	}
	return fail(I, line_of(c), "unsupported XML node (type %d) in <%s>", (int)c->type, parent->name);
}

/* The text of a leaf element (<key>, <string>, ...): text and CDATA only; malloc'd. */
static int leaf_text(certpin_tools__importer *I, const xmlNode *e, char **out, size_t *len)
{
	certpin_tools__text t = { 0 };

	*out = NULL;
	for (const xmlNode *c = e->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
			certpin_tools__text_free(&t);
			return fail(I, line_of(c), "<%s> may contain only text", e->name);
		}
		certpin_tools__puts(&t, (const char *)c->content);
	}
	*len = t.len;
	if (!(*out = certpin_tools__take(&t)))
		return nomem(I);
	return CERTPIN_OK;
}

/* A leaf value: <string>, <true/>, <false/>, <integer>, <real>, <date>, <data>. */
static int plist_leaf(certpin_tools__importer *I, const xmlNode *e, tk_node **out)
{
	static const char *const others[] = { "date", "data" };
	char *text;
	size_t len, a = 0;
	int rc;

	if ((rc = leaf_text(I, e, &text, &len)))
		return rc;
	if (is_elem(e, "string")) {
		*out = certpin_tools__tk_new(TK_STRING, line_of(e), text, len);
	} else if (is_elem(e, "true") || is_elem(e, "false")) {
		while (a < len && certpin_tools__is_space((unsigned char)text[a]))
			a++;
		if (a < len)
			rc = fail(I, line_of(e), "<%s/> must be empty", e->name);
		else if ((*out = certpin_tools__tk_new(TK_BOOL, line_of(e), NULL, 0)))
			(*out)->b = is_elem(e, "true");
	} else if (is_elem(e, "integer") || is_elem(e, "real")) {
		while (a < len && certpin_tools__is_space((unsigned char)text[a]))
			a++;
		while (len > a && certpin_tools__is_space((unsigned char)text[len - 1]))
			len--;
		*out = certpin_tools__tk_new(TK_NUMBER, line_of(e), text + a, len - a);
	} else {
		for (size_t k = 0; k < TOOLS_ARRAY_LEN(others) && !*out; k++) {
			char what[16];
			if (!is_elem(e, others[k]))
				continue;
			snprintf(what, sizeof(what), "a <%s>", others[k]);
			if (!(*out = certpin_tools__tk_new(TK_OTHER, line_of(e), what, strlen(what))))
				rc = nomem(I);
		}
		if (!*out && rc == CERTPIN_OK)
			rc = fail(I, line_of(e), "unknown property list element <%s>", e->name);
	}
	free(text);
	if (rc == CERTPIN_OK && !*out)
		rc = nomem(I);
	return rc;
}

static int plist_value(certpin_tools__importer *I, const xmlNode *e, int depth, tk_node **out);

/* The members of <dict> or <array> `e` into `n`: key/value pairs or values. */
static int plist_members(certpin_tools__importer *I, const xmlNode *e, tk_node *n, int depth)
{
	const xmlNode *key = NULL;
	bool dict = n->kind == TK_DICT;
	int rc;

	for (const xmlNode *c = e->children; c; c = c->next) {
		tk_node *v = NULL;
		char *k = NULL;
		size_t klen = 0;
		if (c->type != XML_ELEMENT_NODE) {
			if ((rc = other_child(I, e, c)))
				return rc;
			continue;
		}
		if (dict && is_elem(c, "key")) {
			if (key)
				return fail(I, line_of(key), "<key> without a value in <dict>");
			key = c;
			continue;
		}
		if (dict && !key)
			return fail(I, line_of(c), "<%s> in <dict> without a <key>", c->name);
		if ((rc = plist_value(I, c, depth + 1, &v)))
			return rc;
		certpin_tools__tk_add(n, v);
		if (dict) {
			if ((rc = leaf_text(I, key, &k, &klen)) == CERTPIN_OK &&
			    certpin_tools__tk_set_key(v, k, klen, k, klen) != CERTPIN_OK)
				rc = nomem(I);
			free(k);
			if (rc)
				return rc;
			key = NULL;
		}
	}
	if (key)
		return fail(I, line_of(key), "<key> without a value in <dict>");
	return CERTPIN_OK;
}

static int plist_value(certpin_tools__importer *I, const xmlNode *e, int depth, tk_node **out)
{
	bool dict = is_elem(e, "dict");
	int rc;

	*out = NULL;
	if (depth > TK_MAX_DEPTH)
		return fail(I, line_of(e), "property list nested more than %d deep", TK_MAX_DEPTH);
	if (!dict && !is_elem(e, "array"))
		return plist_leaf(I, e, out);
	if (!(*out = certpin_tools__tk_new(dict ? TK_DICT : TK_ARRAY, line_of(e), NULL, 0)))
		return nomem(I);
	if ((rc = plist_members(I, e, *out, depth))) {
		certpin_tools__tk_free(*out);
		*out = NULL;
	}
	return rc;
}

/* The one element in <plist>: its top dictionary. */
static int plist_top(certpin_tools__importer *I, const xmlNode *root, const xmlNode **top)
{
	int rc;

	*top = NULL;
	if (!root || !is_elem(root, "plist"))
		return fail(I, root ? line_of(root) : 0, "root element is <%s>, not <plist>",
			root ? (const char *)root->name : "(none)");
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) {
			if ((rc = other_child(I, root, c)))
				return rc;
		} else if (*top) {
			return fail(I, line_of(c), "more than one value in <plist>");
		} else {
			*top = c;
		}
	}
	if (!*top || !is_elem(*top, "dict"))
		return fail(I, *top ? line_of(*top) : line_of(root), "the property list is not a dictionary");
	return CERTPIN_OK;
}

/* Does <key> element `k` say `name`? */
static bool key_is(const xmlNode *k, const char *name)
{
	xmlChar *t = xmlNodeGetContent(k);
	bool yes = t && strcmp((const char *)t, name) == 0;

	xmlFree(t);
	return yes;
}

int certpin_tools__tk_plist(certpin_tools__importer *I, const char *data, size_t len, tk_node **config)
{
	const xmlNode *top, *found = NULL;
	bool at_top = false;
	xmlDocPtr doc;
	int rc;

	*config = NULL;
	if ((rc = certpin_tools__xml_read(I, data, len, CERTPIN_TOOLS_XML_PLIST, &doc)))
		return rc;
	if ((rc = plist_top(I, xmlDocGetRootElement(doc), &top)))
		goto done;
	for (const xmlNode *c = top->children; c && !found; c = c->next) {
		if (!is_elem(c, "key"))
			continue;
		if (key_is(c, "TSKPinnedDomains"))
			at_top = true;
		if (!key_is(c, "TSKConfiguration"))
			continue;
		for (found = c->next; found && found->type != XML_ELEMENT_NODE; found = found->next)
			;
		if (!found)
			rc = fail(I, line_of(c), "TSKConfiguration without a value");
	}
	if (rc == CERTPIN_OK && !found && !at_top)
		rc = fail(I, line_of(top), "no TSKConfiguration in the property list (TrustKit reads its configuration "
			"from that key)");
	if (rc == CERTPIN_OK)
		rc = plist_value(I, found ? found : top, 1, config);
done:
	xmlFreeDoc(doc);
	return rc;
}
