/*
 * A tokenizer for the C-family source the importers read (import_lex.c):
 * Kotlin and Java (OkHttp), Swift and Objective-C (TrustKit).  It knows
 * comments, string and character literals, identifiers, numbers and
 * punctuation, and nothing of grammar; plus the names a file assigns a value
 * once (constants), so an importer can resolve them.  Not installed.
 */
#ifndef CERTPIN_TOOLS_IMPORT_LEX_H
#define CERTPIN_TOOLS_IMPORT_LEX_H

#include "import_internal.h"

/* Languages (certpin_tools__lex.lang). */
enum {
	LX_KOTLIN_JAVA = 0,     /* nested block comments (Kotlin), "$x" templates */
	LX_SWIFT_OBJC = 1       /* nested block comments (Swift), "\(x)" interpolation, #"raw"# strings */
};

typedef enum lx_kind {
	LX_EOF = 0,
	LX_IDENT,               /* letters, digits, '_', '$' and non-ASCII bytes, not starting with a digit */
	LX_STRING,              /* "...", """...""", #"..."# (with its quotes) */
	LX_CHAR,                /* 'x' */
	LX_NUMBER,
	LX_PUNCT                /* one byte */
} lx_kind;

/* LX_STRING flags: why a string is not a plain literal. */
enum {
	LX_S_UNTERMINATED = 1,
	LX_S_ESCAPE = 2,        /* a backslash */
	LX_S_TEMPLATE = 4,      /* Kotlin "$": a template */
	LX_S_MULTILINE = 8      /* """...""" */
};

typedef struct lx_token {
	lx_kind kind;
	const char *s;          /* the token's text in the source */
	size_t len;
	size_t off;             /* its offset in the source */
	long line;
	unsigned str;           /* LX_STRING: LX_S_* */
} lx_token;

typedef struct certpin_tools__lex {
	const char *s;
	size_t len, i;
	long line;
	int lang;
} certpin_tools__lex;

void certpin_tools__lex_init(certpin_tools__lex *L, const char *s, size_t len, int lang);
/* The next token (LX_EOF at the end), after white space and comments. */
void certpin_tools__lex_next(certpin_tools__lex *L, lx_token *t);
/* Is `t` the punctuation `c` / the identifier `id`? */
bool certpin_tools__lex_is(const lx_token *t, char c);
bool certpin_tools__lex_ident(const lx_token *t, const char *id);
/*
 * The name at t, qualified on one line (a.b.c), into `name` (terminated):
 * *L is left after its last part and *after is the token that follows it
 * (t then holds what ended it).  Its length, or 0 if it does not fit in
 * `size` (`name` then holds the parts that did).
 */
size_t certpin_tools__lex_dotted(certpin_tools__lex *L, lx_token *t, lx_token *after, char *name, size_t size);
/*
 * The contents of string token `t` when it is a plain literal (no escape,
 * template or interpolation, one line, terminated): its length, with the
 * text at t->s + *start.  Else -1 and *why says what it is ("an escape
 * sequence", ...).
 */
long certpin_tools__lex_plain(const lx_token *t, size_t *start, const char **why);

/*
 * Names the file assigns a value to: "NAME = VALUE" (any declaration or
 * assignment: Kotlin val/const val, Java static final, Swift let, an
 * Objective-C const or instance variable), "let/val/var NAME: TYPE = VALUE",
 * and "#define NAME VALUE".  Also the types it declares (class, object,
 * struct, enum, interface, protocol NAME), for qualified names.
 */
typedef struct lx_decl {
	const char *name;
	size_t nlen;
	certpin_tools__lex value;       /* positioned at the value's first token */
	long line;
} lx_decl;

typedef struct certpin_tools__decls {
	lx_decl *d;
	size_t n, cap;
	lx_decl *types;                 /* declared types (value unused) */
	size_t ntypes, captypes;
} certpin_tools__decls;

/* Collect the names of the whole input of `L`.  CERTPIN_OK or CERTPIN_E_NOMEM. */
int certpin_tools__decls_collect(certpin_tools__decls *D, const certpin_tools__lex *L);
void certpin_tools__decls_free(certpin_tools__decls *D);

/*
 * The one value assigned to the name `name` (`len` bytes): NULL if the
 * file never assigns it; *count is the number of assignments (more than one:
 * ambiguous, the first is returned).  A qualified name "A.B.NAME" is looked
 * up as NAME when A and B are types declared in the file (or "this",
 * "self", "Companion").
 */
const lx_decl *certpin_tools__decls_find(const certpin_tools__decls *D, const char *name, size_t len,
	size_t *count);

#endif
