/*
 * Import pin lists: curl --pinnedpubkey strings, "host pin..." lines, and
 * OkHttp CertificatePinner.Builder source.  See PIN_LIST in
 * certpin/tools.h.
 */
#include "import_internal.h"

#define LIST_MAX_TOKENS 4096    /* pins on one line of a pin list */

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define warn(...) certpin_tools__import_warn(__VA_ARGS__)
#define is_space(c) certpin_tools__is_space(c)

/*
 * Pins for host `pattern` (NULL: the default host), pin k at position
 * `pos[k]` (`pos` NULL: all at position any).
 */
static int list_add(certpin_tools__importer *I, long line, const char *pattern, const certpin_pin *pins,
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
	if ((rc = certpin_tools__import_rule(I, line, &o, true)))
		return rc;
	for (size_t k = 0; k < n; k++)
		if ((rc = certpin_tools__import_pin(I, line, pattern, &pins[k], pos ? pos[k] : CERTPIN_POS_ANY)))
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
static int list_line(certpin_tools__importer *I, long line, const char *s, size_t len, certpin_pin *pins, certpin_position *pos)
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
			char norm[CERTPIN_PATTERN_MAX];
			memcpy(host, s + start, end - start);
			host[end - start] = '\0';
			if (certpin_pattern_normalize(norm, sizeof(norm), host, 0) == CERTPIN_OK) {
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
static int lx_string(certpin_tools__importer *I, lexer *L, char *out, size_t outlen)
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

static int okhttp_add(certpin_tools__importer *I, lexer *L, certpin_pin *pins)
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

static int okhttp_scan(certpin_tools__importer *I, const char *s, size_t len, bool apply, bool *found, certpin_pin *pins)
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

/* "HOST PIN..." lines, curl strings and bare pins, one line at a time. */
static int list_lines(certpin_tools__importer *I, const char *data, size_t len, certpin_pin *pins,
	certpin_position *pos)
{
	long line = 1;
	size_t start = 0;
	int rc = CERTPIN_OK;

	for (size_t i = 0; i <= len && rc == CERTPIN_OK; i++) {
		if (i == len || data[i] == '\n') {
			rc = list_line(I, line, data + start, i - start, pins, pos);
			start = i + 1;
			line++;
		}
	}
	return rc;
}

int certpin_tools__import_pins(certpin_tools__importer *I, const char *data, size_t len)
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
		char norm[CERTPIN_PATTERN_MAX];
		if (certpin_pattern_normalize(norm, sizeof(norm), I->default_host, 0) != CERTPIN_OK) {
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
		rc = list_lines(I, data, len, pins, pos);
	}
	if (rc == CERTPIN_OK && certpin_policy_host_count(I->p) == 0)
		rc = fail(I, 0, "no pins found");
done:
	free(pins);
	free(pos);
	return rc;
}
