/*
 * Read TrustKit's configuration from Swift or Objective-C source: the
 * dictionary literal given to TrustKit.initSharedInstance(withConfiguration:)
 * / [TrustKit initSharedInstanceWithConfiguration:] (or TrustKit(configuration:),
 * [[TrustKit alloc] initWithConfiguration:]), directly or through a name the
 * file assigns once; without such a call, the dictionary that holds
 * kTSKPinnedDomains.  As far as it is literal: strings, kTSK constants,
 * booleans, numbers, arrays, dictionaries, names the file assigns a literal
 * once.  Anything else becomes a TK_OTHER value that names it, so the
 * error says what could not be read.
 */
#include "import_lex.h"
#include "import_trustkit.h"

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define next(L, t) certpin_tools__lex_next(L, t)
#define is(t, c) certpin_tools__lex_is(t, c)
#define ident(t, s) certpin_tools__lex_ident(t, s)

typedef struct tksrc {
	certpin_tools__importer *I;
	certpin_tools__decls D;
	const char *data;
	bool objc;                      /* Objective-C: '[' starts a message, not a collection */
} tksrc;

static int src_value(tksrc *S, certpin_tools__lex *L, lx_token *t, int depth, bool objc, tk_node **out);

/* "`TEXT`" of data[from, to), white space collapsed, cut at 60 bytes, then `why` if any. */
static tk_node *other(const tksrc *S, long line, size_t from, size_t to, const char *why)
{
	char buf[160];
	size_t n = 0;
	bool space = false;

	buf[n++] = '`';
	for (size_t i = from; i < to && n < 64; i++) {
		bool sp = certpin_tools__is_space((unsigned char)S->data[i]);
		if (sp && !space && n > 1)
			buf[n++] = ' ';
		else if (!sp)
			buf[n++] = S->data[i];
		space = sp;
	}
	while (n > 1 && buf[n - 1] == ' ')
		n--;
	if (to - from > 60)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "...");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "`%s%s%s", why ? " (" : "", why ? why : "", why ? ")" : "");
	return certpin_tools__tk_new(TK_OTHER, line, buf, n < sizeof(buf) ? n : sizeof(buf) - 1);
}

static bool is_delim(const lx_token *t)
{
	return t->kind == LX_EOF || is(t, ',') || is(t, ']') || is(t, '}') || is(t, ')') || is(t, ':') || is(t, ';');
}

/* Skip to the next delimiter at bracket depth 0 (not consumed). */
static void skip_expr(certpin_tools__lex *L)
{
	certpin_tools__lex a = *L;
	lx_token t;
	int depth = 0;

	for (;;) {
		next(&a, &t);
		if (t.kind == LX_EOF || (depth == 0 && is_delim(&t)))
			return;
		if (is(&t, '(') || is(&t, '[') || is(&t, '{'))
			depth++;
		else if (is(&t, ')') || is(&t, ']') || is(&t, '}'))
			depth--;
		*L = a;
	}
}

/* After an opening '(' '[' or '{': skip to its closing bracket (consumed). */
static void skip_group(certpin_tools__lex *L)
{
	lx_token t;
	int depth = 1;

	while (depth > 0) {
		next(L, &t);
		if (t.kind == LX_EOF)
			return;
		if (is(&t, '(') || is(&t, '[') || is(&t, '{'))
			depth++;
		else if (is(&t, ')') || is(&t, ']') || is(&t, '}'))
			depth--;
	}
}

/* A string at t, and in Objective-C the literals right after it (@"a" @"b" is "ab"). */
static int src_string(tksrc *S, certpin_tools__lex *L, const lx_token *t, bool objc, tk_node **out)
{
	certpin_tools__text s = { 0 };
	const lx_token *cur = t;
	lx_token u, v;
	size_t start;
	const char *why;

	for (;;) {
		long n = certpin_tools__lex_plain(cur, &start, &why);
		if (n < 0) {
			certpin_tools__text_free(&s);
			*out = other(S, t->line, t->off, L->i, why);
			return *out ? CERTPIN_OK : nomem(S->I);
		}
		certpin_tools__append(&s, cur->s + start, (size_t)n);
		certpin_tools__lex a = *L;
		next(&a, &u);
		if (objc && is(&u, '@'))
			next(&a, &u);
		if (!objc || u.kind != LX_STRING)
			break;
		*L = a;
		v = u;
		cur = &v;
	}
	*out = s.nomem ? NULL : certpin_tools__tk_new(TK_STRING, t->line, s.s ? s.s : "", s.len);
	certpin_tools__text_free(&s);
	return *out ? CERTPIN_OK : nomem(S->I);
}

/* A name at t (qualified on one line): the literal the file assigns it, else a TK_OTHER naming it. */
static int src_name(tksrc *S, certpin_tools__lex *L, lx_token *t, int depth, tk_node **out)
{
	char name[256];
	size_t n, count = 0, from = t->off;
	certpin_tools__lex v;
	lx_token u;
	long line = t->line;
	int rc;

	if ((n = certpin_tools__lex_dotted(L, t, &u, name, sizeof(name))) == 0)
		n = strlen(name); /* too long: the part that fits is named */
	const lx_decl *d = is(&u, '(') ? NULL : certpin_tools__decls_find(&S->D, name, n, &count);
	if (!d || count > 1) {
		if (is(&u, '(')) {
			next(L, &u);
			skip_group(L);
		}
		*out = other(S, line, from, L->i, is(&u, '(') ? "a call" : count > 1 ?
			"assigned more than once in this file" : "not a literal, nor a name this file assigns one");
		return *out ? CERTPIN_OK : nomem(S->I);
	}
	v = d->value;
	next(&v, &u);
	if ((rc = src_value(S, &v, &u, depth + 1, S->objc, out)))
		return rc;
	if ((*out)->kind == TK_OTHER) {
		/* say which name led there */
		char why[200];
		snprintf(why, sizeof(why), "assigned %.160s on line %ld", (*out)->text, d->line);
		certpin_tools__tk_free(*out);
		*out = other(S, line, from, L->i, why);
	}
	return *out ? CERTPIN_OK : nomem(S->I);
}

/* @(...): a boxed YES, NO, true, false or number; anything else is not read. */
static int src_boxed(tksrc *S, certpin_tools__lex *L, long line, size_t from, tk_node **out)
{
	certpin_tools__lex a = *L;
	lx_token t, u;

	next(&a, &t);
	next(&a, &u);
	*out = NULL;
	if (is(&u, ')') && (ident(&t, "YES") || ident(&t, "NO") || ident(&t, "true") || ident(&t, "false"))) {
		if ((*out = certpin_tools__tk_new(TK_BOOL, line, NULL, 0)))
			(*out)->b = ident(&t, "YES") || ident(&t, "true");
	} else if (is(&u, ')') && t.kind == LX_NUMBER) {
		*out = certpin_tools__tk_new(TK_NUMBER, line, t.s, t.len);
	} else {
		a = *L;
		skip_group(&a);
		*L = a;
		*out = other(S, line, from, a.i, "not a literal");
		return *out ? CERTPIN_OK : nomem(S->I);
	}
	*L = a;
	return *out ? CERTPIN_OK : nomem(S->I);
}

/* A key (already read as `k`, from data[from, to)) and its value, into `dict`. */
static int src_member(tksrc *S, tk_node *dict, tk_node *k, size_t from, size_t to, tk_node *v)
{
	const char *src = S->data + from;
	size_t slen = to - from;
	int rc;

	certpin_tools__tk_add(dict, v);
	/* a string key as its text, a kTSK constant or a name as written, anything else as what it is */
	if (k->kind == TK_STRING && slen > 0 && (src[0] == '"' || src[0] == '@' || src[0] == '#')) {
		src = k->text;
		slen = strlen(k->text);
	} else if (k->kind != TK_STRING) {
		if (k->kind != TK_OTHER) {
			tk_node *o = other(S, k->line, from, to, "not a string");
			certpin_tools__tk_free(k);
			if (!(k = o))
				return nomem(S->I);
		}
		src = k->text;
		slen = strlen(k->text);
	}
	if (slen > 200)
		slen = 200;
	rc = certpin_tools__tk_set_key(v, k->kind == TK_STRING ? k->text : NULL, k->kind == TK_STRING ?
		strlen(k->text) : 0, src, slen);
	certpin_tools__tk_free(k);
	return rc ? nomem(S->I) : CERTPIN_OK;
}

/*
 * The members of a collection, after its opening token, up to `close`: a
 * dictionary (key ':' value ...) or an array, as `n` says, or (Swift '[',
 * n->kind 0) whichever the first member shows.
 */
static int src_members(tksrc *S, certpin_tools__lex *L, tk_node *n, char close, int depth, bool objc)
{
	lx_token t;
	int rc;

	for (;;) {
		tk_node *k = NULL, *v = NULL;
		next(L, &t);
		if (t.kind == LX_EOF)
			return fail(S->I, t.line, "unterminated %s", n->kind == TK_DICT ? "dictionary" : "array");
		if (is(&t, close) && n->kind != 0)
			return CERTPIN_OK;
		if (is(&t, ':') && n->kind == 0) {        /* Swift [:] */
			n->kind = TK_DICT;
			next(L, &t);
		}
		if (is(&t, close)) {            /* Swift [] or [:] */
			if (n->kind == 0)
				n->kind = TK_ARRAY;
			return CERTPIN_OK;
		}
		size_t from = t.off;
		if ((rc = src_value(S, L, &t, depth + 1, objc, &k)))
			return rc;
		size_t to = L->i;
		next(L, &t);
		if (n->kind == 0)
			n->kind = is(&t, ':') ? TK_DICT : TK_ARRAY;
		if (n->kind == TK_DICT) {
			if (!is(&t, ':')) {
				certpin_tools__tk_free(k);
				return fail(S->I, t.line, "expected ':' after a dictionary key");
			}
			next(L, &t);
			if ((rc = src_value(S, L, &t, depth + 1, objc, &v))) {
				certpin_tools__tk_free(k);
				return rc;
			}
			if ((rc = src_member(S, n, k, from, to, v)))
				return rc;
			next(L, &t);
		} else {
			certpin_tools__tk_add(n, k);
		}
		if (is(&t, close))
			return CERTPIN_OK;
		if (t.kind == LX_EOF)
			return fail(S->I, t.line, "unterminated %s", n->kind == TK_DICT ? "dictionary" : "array");
		if (!is(&t, ','))
			return fail(S->I, t.line, "expected ',' or '%c' in %s", close, n->kind == TK_DICT ? "a dictionary" :
				"an array");
	}
}

/* A collection: Swift '[' (dictionary or array), Objective-C "@{" or "@[". */
static int src_collection(tksrc *S, certpin_tools__lex *L, long line, tk_kind kind, char close, int depth, bool objc,
	tk_node **out)
{
	int rc;

	if (!(*out = certpin_tools__tk_new(kind, line, NULL, 0)))
		return nomem(S->I);
	if ((rc = src_members(S, L, *out, close, depth, objc))) {
		certpin_tools__tk_free(*out);
		*out = NULL;
	}
	return rc;
}

static tk_node *src_bool(long line, bool b)
{
	tk_node *n = certpin_tools__tk_new(TK_BOOL, line, NULL, 0);

	if (n)
		n->b = b;
	return n;
}

/* What follows '@' in Objective-C: a dictionary, array, string, boolean, number or boxed expression. */
static int src_at(tksrc *S, certpin_tools__lex *L, const lx_token *at, int depth, tk_node **out)
{
	lx_token t;

	next(L, &t);
	if (is(&t, '{'))
		return src_collection(S, L, at->line, TK_DICT, '}', depth, true, out);
	if (is(&t, '['))
		return src_collection(S, L, at->line, TK_ARRAY, ']', depth, true, out);
	if (t.kind == LX_STRING)
		return src_string(S, L, &t, true, out);
	if (is(&t, '('))
		return src_boxed(S, L, at->line, at->off, out);
	if (ident(&t, "YES") || ident(&t, "NO") || ident(&t, "true") || ident(&t, "false"))
		*out = src_bool(at->line, ident(&t, "YES") || ident(&t, "true"));
	else if (t.kind == LX_NUMBER)
		*out = certpin_tools__tk_new(TK_NUMBER, at->line, t.s, t.len);
	else
		*out = other(S, at->line, at->off, L->i, "not a literal");
	return *out ? CERTPIN_OK : nomem(S->I);
}

/* One value without what may follow it. */
static int src_primary(tksrc *S, certpin_tools__lex *L, lx_token *t, int depth, bool objc, tk_node **out)
{
	const char *c;

	*out = NULL;
	if (is(t, '@'))
		return src_at(S, L, t, depth, out);
	if (is(t, '[') && !objc)
		return src_collection(S, L, t->line, 0, ']', depth, false, out);
	if (t->kind == LX_STRING)
		return src_string(S, L, t, objc, out);
	if (ident(t, "true") || ident(t, "false") || ident(t, "YES") || ident(t, "NO"))
		*out = src_bool(t->line, ident(t, "true") || ident(t, "YES"));
	else if (t->kind == LX_NUMBER)
		*out = certpin_tools__tk_new(TK_NUMBER, t->line, t->s, t->len);
	else if (t->kind == LX_IDENT && (c = certpin_tools__tk_constant(t->s, t->len)))
		*out = certpin_tools__tk_new(TK_STRING, t->line, c, strlen(c));
	else if (t->kind == LX_IDENT && t->len > 4 && memcmp(t->s, "kTSK", 4) == 0)
		*out = other(S, t->line, t->off, L->i, "not a TrustKit constant");
	else if (t->kind == LX_IDENT)
		return src_name(S, L, t, depth, out);
	else if (t->kind == LX_EOF)
		return fail(S->I, t->line, "unexpected end of input in the TrustKit configuration");
	else {
		if (is(t, '(') || is(t, '[') || is(t, '{'))
			skip_group(L);
		*out = other(S, t->line, t->off, L->i, "not a literal");
	}
	return *out ? CERTPIN_OK : nomem(S->I);
}

/*
 * One value at t (L after it): a primary, then a Swift cast ("as [String:
 * Any]") is skipped; anything else after it on the same line (an operator,
 * a method call) makes it an expression, named.
 */
static int src_value(tksrc *S, certpin_tools__lex *L, lx_token *t, int depth, bool objc, tk_node **out)
{
	size_t from = t->off;
	long line = t->line;
	certpin_tools__lex a;
	lx_token u;
	int rc;

	if (depth > TK_MAX_DEPTH)
		return fail(S->I, t->line, "the TrustKit configuration is nested more than %d deep", TK_MAX_DEPTH);
	if ((rc = src_primary(S, L, t, depth, objc, out)))
		return rc;
	a = *L;
	next(&a, &u);
	if (ident(&u, "as")) {
		*L = a;
		skip_expr(L);
		a = *L;
		next(&a, &u);
	}
	if (is_delim(&u) || u.line != L->line)
		return CERTPIN_OK;
	skip_expr(L);
	certpin_tools__tk_free(*out);
	*out = other(S, line, from, L->i, "an expression");
	return *out ? CERTPIN_OK : nomem(S->I);
}

#define SITE_DEPTH 64

/* Where the configuration is: the argument of TrustKit's initializer, else the dictionary with kTSKPinnedDomains. */
typedef struct tk_site {
	certpin_tools__lex arg;         /* at the initializer's argument */
	long call_line[2];              /* the first two initializer calls */
	size_t ncalls;
	certpin_tools__lex holder;      /* at the collection around the first kTSKPinnedDomains key */
	bool have_holder;
	bool objc;                      /* @{, @[ or @"...": Objective-C */
	/* the open brackets so far: where each starts ('@' of "@{") */
	certpin_tools__lex open[SITE_DEPTH];
	size_t depth;
} tk_site;

/* Track the brackets: t was read from `before` (and the token before it from `before_prev`). */
static void site_bracket(tk_site *site, const lx_token *t, const lx_token *prev, const certpin_tools__lex *before,
	const certpin_tools__lex *before_prev)
{
	if (is(t, '[') || is(t, '{') || is(t, '(')) {
		if (site->depth < SITE_DEPTH)
			site->open[site->depth] = is(t, '{') && is(prev, '@') ? *before_prev : *before;
		site->depth++;
	} else if ((is(t, ']') || is(t, '}') || is(t, ')')) && site->depth > 0) {
		site->depth--;
	}
}

/* Is the token ring `r` (r[3] the newest) at the end of a TrustKit initializer's "...Configuration:"? */
static bool at_initializer(const lx_token r[4], const lx_token *colon)
{
	if (!is(colon, ':'))
		return false;
	if (ident(&r[3], "initSharedInstanceWithConfiguration"))
		return true;                                    /* [TrustKit initSharedInstanceWithConfiguration:x] */
	if (ident(&r[3], "withConfiguration") && is(&r[2], '(') && ident(&r[1], "initSharedInstance"))
		return true;                                    /* TrustKit.initSharedInstance(withConfiguration: x) */
	if (ident(&r[3], "configuration") && is(&r[2], '(') && ident(&r[1], "TrustKit"))
		return true;                                    /* TrustKit(configuration: x) */
	return ident(&r[3], "initWithConfiguration") && is(&r[2], ']') && ident(&r[1], "alloc") &&
		ident(&r[0], "TrustKit");                       /* [[TrustKit alloc] initWithConfiguration:x] */
}

static void find_site(const char *data, size_t len, tk_site *site)
{
	certpin_tools__lex L, a, before, before_prev;
	lx_token r[4], t, u;

	memset(site, 0, sizeof(*site));
	memset(r, 0, sizeof(r));
	certpin_tools__lex_init(&L, data, len, LX_SWIFT_OBJC);
	before = L;
	for (;;) {
		before_prev = before;
		before = L;
		next(&L, &t);
		if (t.kind == LX_EOF)
			break;
		a = L;
		next(&a, &u);
		if (at_initializer(r, &t)) {
			if (site->ncalls < 2)
				site->call_line[site->ncalls] = t.line;
			if (site->ncalls++ == 0)
				site->arg = L;
		}
		site_bracket(site, &t, &r[3], &before, &before_prev);
		if (!site->have_holder && is(&u, ':') && site->depth > 0 && site->depth <= SITE_DEPTH &&
		    (ident(&t, "kTSKPinnedDomains") ||
		     (t.kind == LX_STRING && t.len == 18 && memcmp(t.s, "\"TSKPinnedDomains\"", 18) == 0))) {
			site->have_holder = true;
			site->holder = site->open[site->depth - 1];
		}
		if (is(&t, '@') && (is(&u, '{') || is(&u, '[') || u.kind == LX_STRING))
			site->objc = true;
		memmove(r, r + 1, 3 * sizeof(r[0]));
		r[3] = t;
	}
}

int certpin_tools__tk_source(certpin_tools__importer *I, const char *data, size_t len, tk_node **config)
{
	tksrc S = { I, { 0 }, data, false };
	certpin_tools__lex L;
	tk_site site;
	lx_token t;
	int rc;

	*config = NULL;
	if (memchr(data, '\0', len))
		return fail(I, 0, "NUL byte in source");
	find_site(data, len, &site);
	if (site.ncalls > 1)
		return fail(I, site.call_line[1], "TrustKit is initialized more than once (lines %ld and %ld): import one "
			"configuration at a time", site.call_line[0], site.call_line[1]);
	if (!site.ncalls && !site.have_holder)
		return fail(I, 0, "no TrustKit configuration: no initSharedInstance(withConfiguration:) call and no "
			"dictionary with kTSKPinnedDomains");
	certpin_tools__lex_init(&L, data, len, LX_SWIFT_OBJC);
	if (certpin_tools__decls_collect(&S.D, &L) != CERTPIN_OK)
		return nomem(I);
	S.objc = site.objc;
	L = site.ncalls ? site.arg : site.holder;
	next(&L, &t);
	rc = src_value(&S, &L, &t, 0, S.objc, config);
	if (rc == CERTPIN_OK && (*config)->kind == TK_OTHER)
		rc = fail(I, (*config)->line, "the TrustKit configuration is %s: import the file with its dictionary "
			"literal", (*config)->text);
	certpin_tools__decls_free(&S.D);
	if (rc != CERTPIN_OK) {
		certpin_tools__tk_free(*config);
		*config = NULL;
	}
	return rc;
}
