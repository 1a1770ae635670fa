/*
 * XML input for the importers (import_xml.h): a prescan that refuses what
 * must never reach the parser, then libxml2 with no DTD loading, no entity
 * substitution and no network, and a check of what it built.
 */
#include "import_xml.h"

#include <pthread.h>

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define is_space(c) certpin_tools__is_space(c)

#define PLIST_SYSTEM_ID "http://www.apple.com/DTDs/PropertyList-1.0.dtd"

static const char *const plist_public_ids[] = {
	"-//Apple//DTD PLIST 1.0//EN",
	"-//Apple Computer//DTD PLIST 1.0//EN",
};

long certpin_tools__xml_line(const xmlNode *n)
{
	return xmlGetLineNo(n);
}

static bool at(const char *data, size_t len, size_t i, const char *s)
{
	size_t n = strlen(s);
	return len - i >= n && memcmp(data + i, s, n) == 0;
}

/* A quoted literal at data[*i]: its contents in [*start, *end); false if there is none. */
static bool quoted(const char *data, size_t len, size_t *i, size_t *start, size_t *end)
{
	char q;

	if (*i >= len || (data[*i] != '"' && data[*i] != '\''))
		return false;
	q = data[(*i)++];
	*start = *i;
	while (*i < len && data[*i] != q)
		(*i)++;
	if (*i == len)
		return false;
	*end = (*i)++;
	return true;
}

static size_t skip_space(const char *data, size_t len, size_t i)
{
	while (i < len && is_space((unsigned char)data[i]))
		i++;
	return i;
}

/* Is the "<!DOCTYPE" at data[i] Apple's plist one, with no internal subset? */
static bool plist_doctype(const char *data, size_t len, size_t i)
{
	size_t ps, pe, ss, se, k;
	bool known = false;

	i = skip_space(data, len, i + 9);
	if (!at(data, len, i, "plist"))
		return false;
	i = skip_space(data, len, i + 5);
	if (!at(data, len, i, "PUBLIC"))
		return false;
	i = skip_space(data, len, i + 6);
	if (!quoted(data, len, &i, &ps, &pe))
		return false;
	i = skip_space(data, len, i);
	if (!quoted(data, len, &i, &ss, &se))
		return false;
	i = skip_space(data, len, i);
	if (i == len || data[i] != '>')
		return false;
	for (k = 0; k < TOOLS_ARRAY_LEN(plist_public_ids); k++)
		if (pe - ps == strlen(plist_public_ids[k]) && memcmp(data + ps, plist_public_ids[k], pe - ps) == 0)
			known = true;
	return known && se - ss == strlen(PLIST_SYSTEM_ID) && memcmp(data + ss, PLIST_SYSTEM_ID, se - ss) == 0;
}

/* "&name;" at data[i] for a name that is not one of XML's five: its length, else 0. */
static size_t entity_ref(const char *data, size_t len, size_t i)
{
	static const char *const predefined[] = { "&lt;", "&gt;", "&amp;", "&quot;", "&apos;" };
	size_t k = i + 1;

	if (k < len && data[k] == '#')
		return 0;
	for (size_t p = 0; p < TOOLS_ARRAY_LEN(predefined); p++)
		if (at(data, len, i, predefined[p]))
			return 0;
	while (k < len && k - i < 64 && (data[k] == '_' || data[k] == ':' || data[k] == '-' || data[k] == '.' ||
		(data[k] >= 'a' && data[k] <= 'z') || (data[k] >= 'A' && data[k] <= 'Z') ||
		(data[k] >= '0' && data[k] <= '9') || (unsigned char)data[k] >= 0x80))
		k++;
	return k > i + 1 && k < len && data[k] == ';' ? k + 1 - i : 0;
}

/*
 * Refuse what must never reach the parser: NUL bytes (so only UTF-8 and its
 * ASCII subset get in: no UTF-16/EBCDIC that would hide markup from the scan
 * below), ENTITY declarations and any DOCTYPE but the allowed one.
 */
static int prescan(certpin_tools__importer *I, const char *data, size_t len, unsigned flags)
{
	bool plist = flags & CERTPIN_TOOLS_XML_PLIST, doctype = false;
	long line = 1;
	size_t n;

	if (memchr(data, '\0', len))
		return fail(I, 0, "NUL byte in XML (only UTF-8 is accepted)");
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			line++;
		} else if (data[i] == '<' && at(data, len, i, "<!ENTITY")) {
			return fail(I, line, plist ? "ENTITY declarations are not accepted" :
				"DOCTYPE and ENTITY declarations are not accepted");
		} else if (data[i] == '<' && at(data, len, i, "<!DOCTYPE")) {
			if (!plist)
				return fail(I, line, "DOCTYPE and ENTITY declarations are not accepted");
			if (doctype || !plist_doctype(data, len, i))
				return fail(I, line, "only the standard property list DOCTYPE (PUBLIC \"%s\" \"%s\", no "
					"internal subset) is accepted", plist_public_ids[0], PLIST_SYSTEM_ID);
			doctype = true;
		} else if (plist && data[i] == '&' && (n = entity_ref(data, len, i)) != 0) {
			return fail(I, line, "entity reference %.*s is not accepted (no DTD is read)", (int)n, data + i);
		}
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

/* What the parser built: a DOCTYPE only in plist mode, naming the plist DTD, declaring nothing, not loaded. */
static int check_subsets(certpin_tools__importer *I, const xmlDoc *doc, unsigned flags)
{
	const xmlDtd *d = doc->intSubset;

	if (!d && !doc->extSubset)
		return CERTPIN_OK;
	if (!(flags & CERTPIN_TOOLS_XML_PLIST))
		return fail(I, 0, "DOCTYPE declarations are not accepted");
	if (doc->extSubset || !d || d->children || d->entities || d->pentities || !d->ExternalID || !d->SystemID ||
	    strcmp((const char *)d->SystemID, PLIST_SYSTEM_ID) != 0)
		return fail(I, 0, "only the standard property list DOCTYPE is accepted");
	return CERTPIN_OK;
}

int certpin_tools__xml_read(certpin_tools__importer *I, const char *data, size_t len, unsigned flags,
	xmlDocPtr *doc)
{
	xml_first_error first = { 0 };
	xmlParserCtxtPtr ctxt;
	int rc;

	*doc = NULL;
	if ((rc = prescan(I, data, len, flags)))
		return rc;
	if (len > (size_t)INT32_MAX)
		return fail(I, 0, "input too large");
	if (pthread_once(&xml_once, xml_init) != 0)
		return fail(I, 0, "cannot initialize the XML parser");
	if (!(ctxt = xmlNewParserCtxt()))
		return nomem(I);
	ctxt->_private = &first;
	ctxt->sax->serror = (xmlStructuredErrorFunc)xml_error_hook;
	/*
	 * No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD/DTDATTR/
	 * DTDVALID (no external subset), no XINCLUDE, no HUGE (libxml2's own
	 * limits stay on), NONET (never fetch anything), and the encoding is
	 * forced to UTF-8 whatever the declaration says.
	 */
	*doc = xmlCtxtReadMemory(ctxt, data, (int)len, I->name, "UTF-8",
		XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES |
		XML_PARSE_IGNORE_ENC);
	if (!*doc || first.set) {
		if (!first.set)
			xml_error_hook(ctxt, xmlCtxtGetLastError(ctxt));
		rc = first.set ? fail(I, first.line, "malformed XML: %s", first.msg) : fail(I, 0, "malformed XML");
	} else {
		rc = check_subsets(I, *doc, flags);
	}
	if (rc != CERTPIN_OK) {
		xmlFreeDoc(*doc);
		*doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return rc;
}
