/*
 * Import OkHttp CertificatePinner.Builder().add(...) calls from Kotlin or
 * Java source.  Arguments are string literals, constants the file assigns
 * once (Kotlin `const val`/`val`, Java `static final String`), and spreads
 * of literal arrays (`*arrayOf(...)`, `*PINS` for `val PINS = arrayOf(...)`,
 * Java `String[] PINS = {...}`).  See PIN_LIST in certpin/tools.h.
 */
#include "import_lex.h"

#define OK_MAX_PINS 4096        /* pins in one .add( */
#define OK_MAX_DEPTH 8          /* constants defined by constants */

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define warn(...) certpin_tools__import_warn(__VA_ARGS__)
#define next(L, t) certpin_tools__lex_next(L, t)
#define is(t, c) certpin_tools__lex_is(t, c)
#define ident(t, s) certpin_tools__lex_ident(t, s)

typedef struct okhttp {
	certpin_tools__importer *I;
	certpin_tools__decls D;
	size_t *used;                   /* offsets of the string literals .add( calls took */
	size_t nused, capused;
	/* the current .add( */
	char host[CERTPIN_HOSTNAME_MAX + 8];
	size_t nargs;                   /* strings so far, the host included */
	certpin_pin *pins;
	size_t npins;
} okhttp;

static int ok_value(okhttp *O, certpin_tools__lex *L, lx_token *t, int depth, bool in_array);

/* One string of an .add(: the host first, then pins. */
static int ok_string(okhttp *O, const lx_token *t, const char *s, size_t n, bool in_array)
{
	size_t *nu;
	int rc;

	if (O->nargs == 0) {
		if (in_array)
			return fail(O->I, t->line, "the host of .add(...) must be a string, not an array");
		if (n + 1 >= sizeof(O->host))
			return fail(O->I, t->line, "string literal too long");
		memcpy(O->host, s, n);
		O->host[n] = '\0';
	} else {
		if (O->npins == OK_MAX_PINS)
			return fail(O->I, t->line, "more than %d pins in one .add(", OK_MAX_PINS);
		if ((rc = certpin_pin_parse(&O->pins[O->npins], s, n)) != CERTPIN_OK)
			return fail(O->I, t->line, "bad pin \"%.*s\": %s", (int)(n > 80 ? 80 : n), s, certpin_strerror(rc));
		O->npins++;
	}
	O->nargs++;
	if (!(nu = certpin_tools__grow(O->used, &O->capused, O->nused + 1, sizeof(*nu))))
		return nomem(O->I);
	O->used = nu;
	O->used[O->nused++] = t->off;
	return CERTPIN_OK;
}

/* A string literal argument (t): plain, else the reason. */
static int ok_literal(okhttp *O, const lx_token *t, bool in_array)
{
	size_t start;
	const char *why;
	long n = certpin_tools__lex_plain(t, &start, &why);

	if (n >= 0)
		return ok_string(O, t, t->s + start, (size_t)n, in_array);
	if (t->str & LX_S_UNTERMINATED)
		return fail(O->I, t->line, "unterminated string literal");
	if (t->str & LX_S_MULTILINE)
		return fail(O->I, t->line, ".add(...) arguments must be string literals");
	return fail(O->I, t->line, "escapes and templates are not supported in .add(...) literals");
}

/* The elements of a literal array, after its opening token, up to `close`. */
static int ok_elements(okhttp *O, certpin_tools__lex *L, char close, long line, int depth)
{
	lx_token t;
	int rc;

	for (;;) {
		next(L, &t);
		if (is(&t, close))
			return CERTPIN_OK;
		if (t.kind == LX_EOF)
			return fail(O->I, line, "unterminated array");
		if ((rc = ok_value(O, L, &t, depth + 1, true)))
			return rc;
		next(L, &t);
		if (is(&t, close))
			return CERTPIN_OK;
		if (t.kind == LX_EOF)
			return fail(O->I, line, "unterminated array");
		if (!is(&t, ','))
			return fail(O->I, t.line, "expected ',' or '%c' in an array of pins", close);
	}
}

/* "arrayOf(" or "arrayOf<String>(": true with L after the '('. */
static bool ok_array_of(certpin_tools__lex *L, const lx_token *t)
{
	certpin_tools__lex a = *L;
	lx_token u;

	if (!ident(t, "arrayOf"))
		return false;
	next(&a, &u);
	if (is(&u, '<')) {
		next(&a, &u);
		if (!ident(&u, "String"))
			return false;
		next(&a, &u);
		if (!is(&u, '>'))
			return false;
		next(&a, &u);
	}
	if (!is(&u, '('))
		return false;
	*L = a;
	return true;
}

/* Java "new String[] {": true with L after the '{'. */
static bool ok_new_array(certpin_tools__lex *L, const lx_token *t)
{
	certpin_tools__lex a = *L;
	lx_token u[4];

	if (!ident(t, "new"))
		return false;
	for (size_t k = 0; k < 4; k++)
		next(&a, &u[k]);
	if (!ident(&u[0], "String") || !is(&u[1], '[') || !is(&u[2], ']') || !is(&u[3], '{'))
		return false;
	*L = a;
	return true;
}

/* Does the value that ended before L end its statement (a new line, ';', a closing bracket or ',')? */
static bool ok_value_ends(const certpin_tools__lex *L, long last_line)
{
	certpin_tools__lex a = *L;
	lx_token u;

	next(&a, &u);
	return u.kind == LX_EOF || u.line > last_line || is(&u, ';') || is(&u, ',') || is(&u, ')') || is(&u, '}') ||
		is(&u, ']');
}

/* A (qualified) name at t: resolved to the value the file assigns it. */
static int ok_name(okhttp *O, certpin_tools__lex *L, lx_token *t, int depth, bool in_array)
{
	char name[256];
	size_t n, count;
	certpin_tools__lex v;
	lx_token u;
	long line = t->line;
	int rc;

	if ((n = certpin_tools__lex_dotted(L, t, &u, name, sizeof(name))) == 0)
		return fail(O->I, line, "name too long in .add(...)");
	const lx_decl *d = is(&u, '(') ? NULL : certpin_tools__decls_find(&O->D, name, n, &count);
	if (!d)
		return fail(O->I, line, ".add(...) argument %s%s is neither a string literal nor a constant declared in "
			"this file", name, is(&u, '(') ? "(...)" : "");
	if (count > 1)
		return fail(O->I, line, "%s is assigned %zu times in this file (first on line %ld): cannot tell which "
			"value .add(...) gets", name, count, d->line);
	v = d->value;
	next(&v, &u);
	rc = ok_value(O, &v, &u, depth + 1, in_array);
	/* "sha256/" + KEY: say what it is rather than what its first part is not */
	if (rc != CERTPIN_E_NOMEM && !ok_value_ends(&v, v.line))
		return fail(O->I, d->line, "%s is not a literal (its value is an expression)", name);
	return rc;
}

/*
 * One argument at t (L after it): a string literal, a name, or a literal
 * array (with or without the spread '*': Java passes String[] to varargs).
 */
static int ok_value(okhttp *O, certpin_tools__lex *L, lx_token *t, int depth, bool in_array)
{
	if (depth > OK_MAX_DEPTH)
		return fail(O->I, t->line, "constants or arrays nested more than %d deep", OK_MAX_DEPTH);
	if (is(t, '*')) {
		next(L, t);
		if (t->kind == LX_EOF)
			return fail(O->I, t->line, "unterminated .add( call");
	}
	if (t->kind == LX_STRING)
		return ok_literal(O, t, in_array);
	if (ok_array_of(L, t))
		return ok_elements(O, L, ')', t->line, depth);
	if (ok_new_array(L, t) || is(t, '{'))
		return ok_elements(O, L, '}', t->line, depth);
	if (t->kind == LX_IDENT)
		return ok_name(O, L, t, depth, in_array);
	if (t->kind == LX_EOF)
		return fail(O->I, t->line, "unterminated .add( call");
	return fail(O->I, t->line, ".add(...) arguments must be string literals, constants or literal arrays "
		"(found '%.*s')", (int)(t->len > 40 ? 40 : t->len), t->s);
}

/* One .add( call, L after the '('. */
static int ok_add(okhttp *O, certpin_tools__lex *L, long line)
{
	lx_token t;
	int rc;

	O->nargs = 0;
	O->npins = 0;
	for (;;) {
		next(L, &t);
		if (t.kind == LX_EOF)
			return fail(O->I, line, "unterminated .add( call");
		if (is(&t, ')'))        /* also after a trailing comma */
			break;
		if ((rc = ok_value(O, L, &t, 0, false)))
			return rc;
		next(L, &t);
		if (t.kind == LX_EOF)
			return fail(O->I, line, "unterminated .add( call");
		if (is(&t, ')'))
			break;
		if (!is(&t, ','))
			return fail(O->I, t.line, "expected ',' or ')' in .add(...)");
	}
	if (O->nargs == 0)
		return fail(O->I, line, ".add() without arguments");
	if (O->npins == 0)
		return fail(O->I, line, ".add(\"%s\") without pins", O->host);
	return certpin_tools__import_host_pins(O->I, line, O->host, O->pins, NULL, O->npins);
}

/* At t: is this ".add" followed by "("?  If so L is after the '('. */
static bool ok_at_add(certpin_tools__lex *L, const lx_token *t)
{
	certpin_tools__lex a = *L;
	lx_token u;

	if (!is(t, '.'))
		return false;
	next(&a, &u);
	if (!ident(&u, "add"))
		return false;
	next(&a, &u);
	if (!is(&u, '('))
		return false;
	*L = a;
	return true;
}

bool certpin_tools__okhttp_detect(const char *data, size_t len)
{
	certpin_tools__lex L;
	lx_token t;

	certpin_tools__lex_init(&L, data, len, LX_KOTLIN_JAVA);
	for (next(&L, &t); t.kind != LX_EOF; next(&L, &t))
		if (ok_at_add(&L, &t))
			return true;
	return false;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* A "sha256/" or "cert-sha256/" literal that no .add( took is ignored: warned. */
static void ok_warn_unused(okhttp *O, const char *data, size_t len)
{
	certpin_tools__lex L;
	lx_token t;

	if (O->nused)
		qsort(O->used, O->nused, sizeof(*O->used), cmp_size);
	certpin_tools__lex_init(&L, data, len, LX_KOTLIN_JAVA);
	for (next(&L, &t); t.kind != LX_EOF; next(&L, &t)) {
		if (t.kind != LX_STRING || (t.str & LX_S_MULTILINE) || t.s[0] != '"')
			continue;
		if (!((t.len >= 8 && memcmp(t.s + 1, "sha256/", 7) == 0) ||
		      (t.len >= 13 && memcmp(t.s + 1, "cert-sha256/", 12) == 0)))
			continue;
		if (!O->nused || !bsearch(&t.off, O->used, O->nused, sizeof(*O->used), cmp_size))
			warn(O->I, t.line, "pin literal outside .add(...) ignored");
	}
}

static int okhttp_union(certpin_tools__importer *I);

int certpin_tools__import_okhttp(certpin_tools__importer *I, const char *data, size_t len)
{
	okhttp O;
	certpin_tools__lex L;
	lx_token t;
	int rc;

	memset(&O, 0, sizeof(O));
	O.I = I;
	certpin_tools__lex_init(&L, data, len, LX_KOTLIN_JAVA);
	if (!(O.pins = malloc(OK_MAX_PINS * sizeof(*O.pins))) || certpin_tools__decls_collect(&O.D, &L) != CERTPIN_OK) {
		free(O.pins);
		return nomem(I);
	}
	rc = CERTPIN_OK;
	for (next(&L, &t); t.kind != LX_EOF && rc == CERTPIN_OK; next(&L, &t))
		if (ok_at_add(&L, &t))
			rc = ok_add(&O, &L, t.line);
	if (rc == CERTPIN_OK) {
		ok_warn_unused(&O, data, len);
		rc = okhttp_union(I);
	}
	certpin_tools__decls_free(&O.D);
	free(O.used);
	free(O.pins);
	return rc;
}

/* ---- OkHttp's union of matching patterns -------------------------------- */

/* Does OkHttp pattern `w` match every host that pattern `r` matches? */
static bool pattern_covers(const certpin_host_info *w, const certpin_host_info *r)
{
	size_t wl = strlen(w->name), rl = strlen(r->name);

	if (w->is_ip || r->is_ip)
		return false;
	if (w->wildcard == TOOLS_WILD_ONE)    /* "*.t" covers exactly one-label names under t */
		return r->wildcard == TOOLS_WILD_NONE && rl > wl + 1 && r->name[rl - wl - 1] == '.' &&
			strcmp(r->name + rl - wl, w->name) == 0 && memchr(r->name, '.', rl - wl - 1) == NULL;
	if (w->wildcard != TOOLS_WILD_ANY)
		return false;
	/* "**.t" covers t and every name below it */
	if (rl == wl)
		return r->wildcard != TOOLS_WILD_ANY && strcmp(r->name, w->name) == 0;
	return rl > wl && r->name[rl - wl - 1] == '.' && strcmp(r->name + rl - wl, w->name) == 0;
}

/*
 * Do patterns `a` and `b` match a host in common without one covering the
 * other?  If so that host is the base name of the "**." one, and certpin
 * applies that rule there (the longer base is the more specific).
 */
static bool pattern_overlaps(const certpin_host_info *a, const certpin_host_info *b)
{
	const certpin_host_info *one = a->wildcard == TOOLS_WILD_ONE ? a : b, *any = one == a ? b : a;
	size_t ol = strlen(one->name), al = strlen(any->name);

	/* the only partial overlap: "*.t" and "**.l.t" (l one label) share the host l.t */
	if (one->wildcard != TOOLS_WILD_ONE || any->wildcard != TOOLS_WILD_ANY || one->is_ip || any->is_ip)
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
static int okhttp_union(certpin_tools__importer *I)
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
					const certpin_host_info *any = hw.wildcard == TOOLS_WILD_ANY ? &hw : &hr,
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
					rc = certpin_tools__import_pin(I, 0, pattern, &pin, pos);
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

