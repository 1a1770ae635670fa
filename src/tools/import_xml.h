/*
 * The importers' one way into libxml2 (import_xml.c): no DTD loaded, no
 * entity expanded, nothing fetched.  Used by import_android.c and
 * import_plist.c.  Not installed.
 */
#ifndef CERTPIN_TOOLS_IMPORT_XML_H
#define CERTPIN_TOOLS_IMPORT_XML_H

#include "import_internal.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

/*
 * What a document may declare.  0: no DOCTYPE, no ENTITY (Android).
 * CERTPIN_TOOLS_XML_PLIST: exactly Apple's property list DOCTYPE
 * (PUBLIC "-//Apple//DTD PLIST 1.0//EN"
 * "http://www.apple.com/DTDs/PropertyList-1.0.dtd", or the older
 * "-//Apple Computer//..." identifier), without an internal subset; it is
 * never loaded.  Either way no ENTITY declaration.  With a DOCTYPE that
 * names an external DTD, libxml2 would keep a reference to an undeclared
 * entity instead of failing, so the plist mode also refuses every entity
 * reference other than the five predefined ones and character references.
 */
#define CERTPIN_TOOLS_XML_PLIST 1u

/*
 * Parse `data` into *doc (NULL on error: the reason, the parser's first
 * error, is reported through `I`).  Refuses NUL bytes (only UTF-8 is read,
 * whatever the XML declaration says) and the declarations above before the
 * parser sees them.  Free *doc with xmlFreeDoc().
 */
int certpin_tools__xml_read(certpin_tools__importer *I, const char *data, size_t len, unsigned flags,
	xmlDocPtr *doc);

/* The input line of `n`. */
long certpin_tools__xml_line(const xmlNode *n);

#endif
