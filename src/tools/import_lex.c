/*
 * A tokenizer for Kotlin, Java, Swift and Objective-C source, and the names
 * a file assigns once (import_lex.h).  Block comments do not nest (Java and
 * Objective-C; Kotlin and Swift code rarely nests them, and a nesting lexer
 * would swallow Java code after a "/ *" inside a comment).
 */
#include "import_lex.h"

#define is_space(c) certpin_tools__is_space(c)

void certpin_tools__lex_init(certpin_tools__lex *L, const char *s, size_t len, int lang)
{
	L->s = s;
	L->len = len;
	L->i = 0;
	L->line = 1;
	L->lang = lang;
}

static bool lx_at(const certpin_tools__lex *L, const char *tok)
{
	size_t n = strlen(tok);
	return L->len - L->i >= n && memcmp(L->s + L->i, tok, n) == 0;
}

static void lx_adv(certpin_tools__lex *L, size_t n)
{
	for (size_t k = 0; k < n && L->i < L->len; k++)
		if (L->s[L->i++] == '\n')
			L->line++;
}

/* Skip white space and comments. */
static void lx_skip(certpin_tools__lex *L)
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

static bool ident_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
		c >= 0x80;
}

/* How many '#' follow at s[i]. */
static size_t hashes_at(const certpin_tools__lex *L, size_t i)
{
	size_t n = 0;

	while (i + n < L->len && L->s[i + n] == '#')
		n++;
	return n;
}

/* A string at L->i after `hashes` '#' (Swift raw strings; 0 otherwise). */
static void lx_string(certpin_tools__lex *L, lx_token *t, size_t hashes)
{
	lx_adv(L, hashes);
	if (lx_at(L, "\"\"\"")) {
		t->str |= LX_S_MULTILINE;
		lx_adv(L, 3);
		while (L->i < L->len && !lx_at(L, "\"\"\""))
			lx_adv(L, L->s[L->i] == '\\' ? 2 : 1);
		if (L->i < L->len)
			lx_adv(L, 3);
		else
			t->str |= LX_S_UNTERMINATED;
	} else {
		L->i++;
		for (;;) {
			if (L->i >= L->len || L->s[L->i] == '\n') {
				t->str |= LX_S_UNTERMINATED;
				break;
			}
			char c = L->s[L->i];
			if (c == '"' && hashes_at(L, L->i + 1) >= hashes) {
				L->i++;
				break;
			}
			if (c == '\\') {
				t->str |= LX_S_ESCAPE;
				L->i += (L->i + 1 < L->len && L->s[L->i + 1] != '\n') ? 2 : 1;
				continue;
			}
			if (c == '$' && L->lang == LX_KOTLIN_JAVA)
				t->str |= LX_S_TEMPLATE;
			L->i++;
		}
	}
	/* the closing '#'s of a raw string */
	for (size_t k = 0; k < hashes && L->i < L->len && L->s[L->i] == '#'; k++)
		L->i++;
	t->kind = LX_STRING;
}

void certpin_tools__lex_next(certpin_tools__lex *L, lx_token *t)
{
	size_t hashes = 0;

	lx_skip(L);
	memset(t, 0, sizeof(*t));
	t->line = L->line;
	t->off = L->i;
	t->s = L->s + L->i;
	if (L->i >= L->len) {
		t->kind = LX_EOF;
		return;
	}
	unsigned char c = (unsigned char)L->s[L->i];
	if (L->lang == LX_SWIFT_OBJC && c == '#')
		hashes = hashes_at(L, L->i);
	if (c == '"' || (hashes && L->i + hashes < L->len && L->s[L->i + hashes] == '"')) {
		lx_string(L, t, hashes);
	} else if (c == '\'') {
		/* a character literal: 'x', '\x'; else a lone quote */
		size_t k = L->i + 1;
		if (k < L->len && L->s[k] == '\\')
			k++;
		k++;
		t->kind = LX_CHAR;
		if (k < L->len && L->s[k] == '\'' && !memchr(L->s + L->i, '\n', k - L->i))
			L->i = k + 1;
		else
			t->kind = LX_PUNCT, L->i++;
	} else if (ident_char(c) && !(c >= '0' && c <= '9')) {
		t->kind = LX_IDENT;
		while (L->i < L->len && ident_char((unsigned char)L->s[L->i]))
			L->i++;
	} else if (c >= '0' && c <= '9') {
		t->kind = LX_NUMBER;
		while (L->i < L->len && (ident_char((unsigned char)L->s[L->i]) || (L->s[L->i] == '.' &&
		       L->i + 1 < L->len && L->s[L->i + 1] >= '0' && L->s[L->i + 1] <= '9')))
			L->i++;
	} else {
		t->kind = LX_PUNCT;
		L->i++;
	}
	t->len = L->i - t->off;
}

bool certpin_tools__lex_is(const lx_token *t, char c)
{
	return t->kind == LX_PUNCT && t->s[0] == c;
}

bool certpin_tools__lex_ident(const lx_token *t, const char *id)
{
	return t->kind == LX_IDENT && t->len == strlen(id) && memcmp(t->s, id, t->len) == 0;
}

long certpin_tools__lex_plain(const lx_token *t, size_t *start, const char **why)
{
	size_t hashes = 0;

	*start = 0;
	*why = NULL;
	if (t->kind != LX_STRING)
		*why = "not a string";
	else if (t->str & LX_S_UNTERMINATED)
		*why = "an unterminated string literal";
	else if (t->str & LX_S_MULTILINE)
		*why = "a multi-line string literal";
	else if (t->str & LX_S_ESCAPE)
		*why = "a string with an escape sequence or interpolation";
	else if (t->str & LX_S_TEMPLATE)
		*why = "a string template";
	if (*why)
		return -1;
	while (t->s[hashes] == '#')     /* a raw string: within the token, which has its quotes */
		hashes++;
	*start = hashes + 1;
	return (long)(t->len - 2 * (hashes + 1));
}

/* ---- names assigned once ------------------------------------------------ */

static int decl_add(lx_decl **arr, size_t *n, size_t *cap, const lx_token *name, const certpin_tools__lex *value)
{
	lx_decl *na = certpin_tools__grow(*arr, cap, *n + 1, sizeof(*na));

	if (!na)
		return CERTPIN_E_NOMEM;
	*arr = na;
	na[*n].name = name->s;
	na[*n].nlen = name->len;
	na[*n].value = *value;
	na[*n].line = name->line;
	(*n)++;
	return CERTPIN_OK;
}

/* After `let NAME`, at ':': the type up to '=' at bracket depth 0; true with *L after the '='. */
static bool typed_value(certpin_tools__lex *L)
{
	lx_token t;
	int depth = 0;

	for (int k = 0; k < 64; k++) {
		certpin_tools__lex_next(L, &t);
		if (t.kind == LX_EOF || certpin_tools__lex_is(&t, ';') || certpin_tools__lex_is(&t, '{') ||
		    certpin_tools__lex_is(&t, '}'))
			return false;
		if (certpin_tools__lex_is(&t, '<') || certpin_tools__lex_is(&t, '[') || certpin_tools__lex_is(&t, '('))
			depth++;
		else if (certpin_tools__lex_is(&t, '>') || certpin_tools__lex_is(&t, ']') || certpin_tools__lex_is(&t, ')'))
			depth--;
		else if (certpin_tools__lex_is(&t, '=') && depth == 0)
			return !(L->i < L->len && (L->s[L->i] == '=' || L->s[L->i] == '>'));
		if (depth < 0)
			return false;
	}
	return false;
}

static bool is_type_keyword(const lx_token *t)
{
	static const char *const kw[] = { "class", "object", "struct", "enum", "interface", "protocol" };

	for (size_t k = 0; k < TOOLS_ARRAY_LEN(kw); k++)
		if (certpin_tools__lex_ident(t, kw[k]))
			return true;
	return false;
}

/* One token `t` (with the lexer after it, `L`) of the scan: record what it declares. */
static int decl_at(certpin_tools__decls *D, const lx_token *t, const certpin_tools__lex *L)
{
	certpin_tools__lex a = *L, b;
	lx_token n1, n2;

	certpin_tools__lex_next(&a, &n1);
	if (t->kind == LX_IDENT && certpin_tools__lex_is(&n1, '=') &&
	    !(a.i < a.len && (a.s[a.i] == '=' || a.s[a.i] == '>')))
		return decl_add(&D->d, &D->n, &D->cap, t, &a);
	if ((certpin_tools__lex_ident(t, "let") || certpin_tools__lex_ident(t, "val") ||
	     certpin_tools__lex_ident(t, "var")) && n1.kind == LX_IDENT) {
		b = a;
		certpin_tools__lex_next(&b, &n2);
		if (certpin_tools__lex_is(&n2, ':') && typed_value(&b))
			return decl_add(&D->d, &D->n, &D->cap, &n1, &b);
	}
	if (is_type_keyword(t) && n1.kind == LX_IDENT)
		return decl_add(&D->types, &D->ntypes, &D->captypes, &n1, &a);
	if (certpin_tools__lex_is(t, '#') && certpin_tools__lex_ident(&n1, "define") && n1.line == t->line) {
		certpin_tools__lex_next(&a, &n2);
		b = a;
		certpin_tools__lex_next(&b, &n1);
		if (n2.kind == LX_IDENT && n2.line == t->line && n1.kind != LX_EOF && n1.line == t->line)
			return decl_add(&D->d, &D->n, &D->cap, &n2, &a);
	}
	return CERTPIN_OK;
}

static int decl_cmp(const void *x, const void *y)
{
	const lx_decl *a = x, *b = y;
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->name, b->name, n);

	if (c)
		return c;
	if (a->nlen != b->nlen)
		return a->nlen < b->nlen ? -1 : 1;
	return a->value.i < b->value.i ? -1 : a->value.i > b->value.i;
}

int certpin_tools__decls_collect(certpin_tools__decls *D, const certpin_tools__lex *L0)
{
	certpin_tools__lex L;
	lx_token t;
	int rc = CERTPIN_OK;

	memset(D, 0, sizeof(*D));
	certpin_tools__lex_init(&L, L0->s, L0->len, L0->lang);
	for (certpin_tools__lex_next(&L, &t); t.kind != LX_EOF && rc == CERTPIN_OK; certpin_tools__lex_next(&L, &t))
		rc = decl_at(D, &t, &L);
	if (rc != CERTPIN_OK) {
		certpin_tools__decls_free(D);
		return rc;
	}
	if (D->n)
		qsort(D->d, D->n, sizeof(*D->d), decl_cmp);
	if (D->ntypes)
		qsort(D->types, D->ntypes, sizeof(*D->types), decl_cmp);
	return CERTPIN_OK;
}

void certpin_tools__decls_free(certpin_tools__decls *D)
{
	free(D->d);
	free(D->types);
	memset(D, 0, sizeof(*D));
}

/* The first entry named `name` in sorted `arr`, and how many there are. */
static const lx_decl *find_sorted(const lx_decl *arr, size_t n, const char *name, size_t len, size_t *count)
{
	size_t lo = 0, hi = n;

	*count = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, m = arr[mid].nlen < len ? arr[mid].nlen : len;
		int c = memcmp(arr[mid].name, name, m);
		if (c < 0 || (c == 0 && arr[mid].nlen < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *count < n && arr[lo + *count].nlen == len && memcmp(arr[lo + *count].name, name, len) == 0)
		(*count)++;
	return *count ? &arr[lo] : NULL;
}

const lx_decl *certpin_tools__decls_find(const certpin_tools__decls *D, const char *name, size_t len,
	size_t *count)
{
	const char *dot;
	size_t k;

	*count = 0;
	while ((dot = memchr(name, '.', len)) != NULL) {
		size_t q = (size_t)(dot - name);
		bool known = (q == 4 && (memcmp(name, "this", 4) == 0 || memcmp(name, "self", 4) == 0)) ||
			(q == 9 && memcmp(name, "Companion", 9) == 0) || find_sorted(D->types, D->ntypes, name, q, &k);
		if (!known)
			return NULL;
		len -= q + 1;
		name = dot + 1;
	}
	return find_sorted(D->d, D->n, name, len, count);
}

size_t certpin_tools__lex_dotted(certpin_tools__lex *L, lx_token *t, lx_token *after, char *name, size_t size)
{
	certpin_tools__lex a = *L;
	size_t n = 0;

	for (;;) {
		if (n + t->len + 1 >= size) {
			name[n] = '\0';
			return 0;
		}
		memcpy(name + n, t->s, t->len);
		n += t->len;
		*L = a;
		certpin_tools__lex_next(&a, after);
		if (!certpin_tools__lex_is(after, '.') || after->line != t->line)
			break;
		certpin_tools__lex_next(&a, t);
		if (t->kind != LX_IDENT)
			break;
		name[n++] = '.';
	}
	name[n] = '\0';
	return n;
}
