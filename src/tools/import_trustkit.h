/*
 * TrustKit import (import_trustkit.c): the configuration dictionary as a
 * small value tree, read from an Info.plist (import_plist.c) or from the
 * Swift/Objective-C literal given to TrustKit (import_tksource.c), then
 * mapped onto the policy.  Not installed.
 */
#ifndef CERTPIN_TOOLS_IMPORT_TRUSTKIT_H
#define CERTPIN_TOOLS_IMPORT_TRUSTKIT_H

#include "import_internal.h"

/* Deepest nesting of dictionaries and arrays the readers accept. */
#define TK_MAX_DEPTH 32

typedef enum tk_kind {
	TK_DICT = 1,
	TK_ARRAY,
	TK_STRING,
	TK_BOOL,
	TK_NUMBER,
	TK_OTHER                /* not a literal: `text` says what it is */
} tk_kind;

typedef struct tk_node {
	tk_kind kind;
	long line;
	char *text;             /* STRING: the value; NUMBER: as written; OTHER: a description for messages */
	bool b;                 /* BOOL */
	char *key;              /* a DICT member's key, as TrustKit reads it (constants resolved); NULL: not a literal */
	char *key_src;          /* the key as written (kTSKPinnedDomains, "TSKPinnedDomains", ...), for messages */
	struct tk_node *child, *last, *next;
	size_t n;               /* DICT, ARRAY: the number of members */
} tk_node;

/* A new node with a copy of `text` (`len` bytes; NULL: none); NULL if out of memory. */
tk_node *certpin_tools__tk_new(tk_kind kind, long line, const char *text, size_t len);
/* Append `child` to `parent` (a DICT or ARRAY), which then owns it. */
void certpin_tools__tk_add(tk_node *parent, tk_node *child);
/* Set a member's key (`key` NULL: not a literal) and how it is written.  CERTPIN_OK or CERTPIN_E_NOMEM. */
int certpin_tools__tk_set_key(tk_node *n, const char *key, size_t klen, const char *src, size_t slen);
/* NULL-safe. */
void certpin_tools__tk_free(tk_node *n);

/* The string TrustKit has for the constant `name` (kTSKPinnedDomains: "TSKPinnedDomains"), or NULL. */
const char *certpin_tools__tk_constant(const char *name, size_t len);

/* The readers: the configuration dictionary in *config (the caller frees it). */
int certpin_tools__tk_plist(certpin_tools__importer *I, const char *data, size_t len, tk_node **config);
int certpin_tools__tk_source(certpin_tools__importer *I, const char *data, size_t len, tk_node **config);

#endif
