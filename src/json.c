/*
 * A strict JSON (RFC 8259) reader that makes no value objects: one pass
 * over the text checks it and records a flat array of tokens (type, span,
 * the token after its subtree), so that a million-host policy loads in one
 * allocation instead of millions.  UTF-8 is checked, control characters
 * must be escaped, \u escapes must pair their surrogates, integers must fit
 * 64 bits, and duplicate keys in an object are refused, as jansson does with
 * JSON_REJECT_DUPLICATES.  Writing stays with jansson.
 */
#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 32

typedef struct reader {
	const char *s;
	size_t len, pos;
	certpin__json *out;
	size_t cap;
	char *err;
	size_t errlen;
} reader;

__attribute__((format(printf, 2, 3)))
static int fail(reader *r, const char *fmt, ...)
{
	unsigned long line = 1, col = 0;
	va_list ap;
	char msg[160];

	for (size_t i = 0; i < r->pos && i < r->len; i++) {
		if (r->s[i] == '\n')
			line++, col = 0;
		else
			col++;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->out->err_line = line;
	r->out->err_column = col;
	snprintf(r->err, r->errlen, "%s", msg);
	return -1;
}

static void skip_ws(reader *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' || r->s[r->pos] == '\n' ||
				   r->s[r->pos] == '\r'))
		r->pos++;
}

static long push(reader *r, certpin__json_type type, size_t start)
{
	certpin__json *j = r->out;

	if (j->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		certpin__json_tok *t = realloc(j->tok, ncap * sizeof(*t));
		if (!t)
			return fail(r, "out of memory");
		j->tok = t;
		r->cap = ncap;
	}
	certpin__json_tok *t = &j->tok[j->n];
	memset(t, 0, sizeof(*t));
	t->type = (uint8_t)type;
	t->start = (uint32_t)start;
	return (long)j->n++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s; -1 if not. */
static long hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		need = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		need = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		need = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (need > n)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* An escape after the backslash at r->pos - 1; advances past it. */
static int read_escape(reader *r, uint8_t *flags)
{
	if (r->pos >= r->len)
		return fail(r, "unexpected end of input in a string");
	char c = r->s[r->pos++];
	if (c != '\0' && strchr("\"\\/bfnrt", c)) /* not NUL: strchr() would find the terminator */
		return 0;
	if (c != 'u')
		return fail(r, "invalid escape");
	long u = r->len - r->pos >= 4 ? hex4(r->s + r->pos) : -1;
	if (u < 0)
		return fail(r, "invalid \\u escape");
	r->pos += 4;
	if (u == 0)
		*flags |= CERTPIN__JSON_NUL;
	if (u >= 0xdc00 && u <= 0xdfff)
		return fail(r, "invalid Unicode escape: lone low surrogate");
	if (u >= 0xd800 && u <= 0xdbff) {
		long lo = r->len - r->pos >= 6 && r->s[r->pos] == '\\' && r->s[r->pos + 1] == 'u' ? hex4(r->s + r->pos + 2) : -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(r, "invalid Unicode escape: unpaired high surrogate");
		r->pos += 6;
	}
	return 0;
}

/* May byte c stand in a string as it is, with nothing to check?  Printable ASCII but '"' and '\\'. */
static inline bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* A string token; r->pos is at the opening quote. */
static int read_string(reader *r)
{
	long t = push(r, CERTPIN__JSON_STRING, ++r->pos);
	uint8_t flags = 0;

	if (t < 0)
		return -1;
	while (r->pos < r->len) {
		unsigned char c = (unsigned char)r->s[r->pos];
		if (plain(c)) { /* most of a document: a tight loop over such bytes */
			const unsigned char *p = (const unsigned char *)r->s + r->pos + 1, *end = (const unsigned char *)r->s + r->len;
			while (p < end && plain(*p))
				p++;
			r->pos = (size_t)(p - (const unsigned char *)r->s);
			continue;
		}
		if (c == '"') {
			certpin__json_tok *tok = &r->out->tok[t];
			tok->len = (uint32_t)(r->pos - tok->start);
			tok->flags = flags;
			tok->next = (uint32_t)t + 1;
			r->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(r, "control character in a string (escape it)");
		if (c == '\\') {
			flags |= CERTPIN__JSON_ESCAPED;
			r->pos++;
			if (read_escape(r, &flags) != 0)
				return -1;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)r->s + r->pos, r->len - r->pos);
		if (n == 0)
			return fail(r, "invalid UTF-8 in a string");
		r->pos += n;
	}
	return fail(r, "unexpected end of input in a string");
}

/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? ; integers must fit int64. */
static int read_number(reader *r)
{
	size_t start = r->pos;
	bool integer = true;

	if (r->pos < r->len && r->s[r->pos] == '-')
		r->pos++;
	size_t digits = r->pos;
	while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
		r->pos++;
	if (r->pos == digits || (r->s[digits] == '0' && r->pos - digits > 1))
		return fail(r, "invalid number");
	if (r->pos < r->len && r->s[r->pos] == '.') {
		integer = false;
		size_t f = ++r->pos;
		while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			r->pos++;
		if (r->pos == f)
			return fail(r, "invalid number");
	}
	if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
		integer = false;
		r->pos++;
		if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
			r->pos++;
		size_t e = r->pos;
		while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
			r->pos++;
		if (r->pos == e)
			return fail(r, "invalid number");
	}
	long t = push(r, integer ? CERTPIN__JSON_INTEGER : CERTPIN__JSON_REAL, start);
	if (t < 0)
		return -1;
	r->out->tok[t].len = (uint32_t)(r->pos - start);
	r->out->tok[t].next = (uint32_t)t + 1;
	if (integer && !certpin__json_int(r->out, (size_t)t, NULL))
		return fail(r, "too big integer");
	return 0;
}

static int read_value(reader *r, int depth);

/* FNV-1a of string token t's decoded bytes (its raw bytes when it has no escapes). */
static uint64_t key_hash(const certpin__json *j, size_t t)
{
	const certpin__json_tok *tok = &j->tok[t];
	uint64_t h = 0xcbf29ce484222325ull;
	char *dec = NULL;
	const char *s = j->text + tok->start;
	long n = tok->len;

	if (tok->flags & CERTPIN__JSON_ESCAPED) {
		dec = malloc((size_t)tok->len + 1);
		n = dec ? certpin__json_str(j, t, dec, (size_t)tok->len + 1) : 0;
		s = dec;
	}
	for (long i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	free(dec);
	return h;
}

typedef struct keyref {
	uint64_t hash;
	size_t tok;
} keyref;

static int keyref_cmp(const void *a, const void *b)
{
	const keyref *x = a, *y = b;

	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/*
 * Refuse an object whose keys repeat; `obj` is complete.  A small object
 * compares its keys pairwise; a large one sorts them by hash (n log n).
 */
static int check_duplicates(reader *r, size_t obj)
{
	const certpin__json *j = r->out;
	size_t n = j->tok[obj].len, i = 0;

	if (n <= 8) {
		for (size_t a = obj + 1; a < j->tok[obj].next; a = j->tok[a + 1].next)
			for (size_t b = j->tok[a + 1].next; b < j->tok[obj].next; b = j->tok[b + 1].next)
				if (certpin__json_str_eq(j, a, j, b))
					return fail(r, "duplicate object key");
		return 0;
	}
	keyref *keys = malloc(n * sizeof(*keys));

	if (!keys)
		return fail(r, "out of memory");
	for (size_t k = obj + 1; k < j->tok[obj].next; k = j->tok[k + 1].next, i++) {
		keys[i].hash = key_hash(j, k);
		keys[i].tok = k;
	}
	qsort(keys, n, sizeof(*keys), keyref_cmp);
	for (i = 0; i + 1 < n; i++) {
		for (size_t k = i + 1; k < n && keys[k].hash == keys[i].hash; k++) {
			if (certpin__json_str_eq(j, keys[i].tok, j, keys[k].tok)) {
				free(keys);
				return fail(r, "duplicate object key");
			}
		}
	}
	free(keys);
	return 0;
}

/* An object or array; r->pos is at its opening bracket. */
static int read_container(reader *r, int depth, bool object)
{
	long t = push(r, object ? CERTPIN__JSON_OBJECT : CERTPIN__JSON_ARRAY, r->pos);
	char close = object ? '}' : ']';
	uint32_t count = 0;

	if (t < 0)
		return -1;
	if (depth >= DEPTH_MAX)
		return fail(r, "too deeply nested");
	r->pos++;
	skip_ws(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
	} else {
		for (;;) {
			skip_ws(r);
			if (object) {
				if (r->pos >= r->len || r->s[r->pos] != '"')
					return fail(r, "string or '}' expected");
				if (read_string(r) != 0)
					return -1;
				if (r->out->tok[r->out->n - 1].flags & CERTPIN__JSON_NUL)
					return fail(r, "NUL character in an object key");
				skip_ws(r);
				if (r->pos >= r->len || r->s[r->pos] != ':')
					return fail(r, "':' expected");
				r->pos++;
			}
			if (read_value(r, depth + 1) != 0)
				return -1;
			count++;
			skip_ws(r);
			if (r->pos < r->len && r->s[r->pos] == ',') {
				r->pos++;
				continue;
			}
			if (r->pos < r->len && r->s[r->pos] == close) {
				r->pos++;
				break;
			}
			return fail(r, "',' or '%c' expected", close);
		}
	}
	r->out->tok[t].len = count;
	r->out->tok[t].next = (uint32_t)r->out->n;
	return object && count > 1 ? check_duplicates(r, (size_t)t) : 0;
}

static int read_word(reader *r, const char *word, certpin__json_type type)
{
	size_t n = strlen(word);

	if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
		return fail(r, "invalid token");
	long t = push(r, type, r->pos);
	if (t < 0)
		return -1;
	r->out->tok[t].len = (uint32_t)n;
	r->out->tok[t].next = (uint32_t)t + 1;
	r->pos += n;
	return 0;
}

static int read_value(reader *r, int depth)
{
	skip_ws(r);
	if (r->pos >= r->len)
		return fail(r, "unexpected end of input");
	switch (r->s[r->pos]) {
	case '{':
		return read_container(r, depth, true);
	case '[':
		return read_container(r, depth, false);
	case '"':
		return read_string(r);
	case 't':
		return read_word(r, "true", CERTPIN__JSON_TRUE);
	case 'f':
		return read_word(r, "false", CERTPIN__JSON_FALSE);
	case 'n':
		return read_word(r, "null", CERTPIN__JSON_NULL);
	default:
		if (r->s[r->pos] == '-' || (r->s[r->pos] >= '0' && r->s[r->pos] <= '9'))
			return read_number(r);
		return fail(r, "invalid token");
	}
}

int certpin__json_read(certpin__json *out, const char *s, size_t len, char *err, size_t errlen)
{
	reader r = { s, len, 0, out, 0, err, errlen };

	memset(out, 0, sizeof(*out));
	out->text = s;
	if (len > UINT32_MAX - 1)
		return fail(&r, "document too large");
	/*
	 * Room for a token every 16 bytes (a policy has one every 20 or so), so
	 * that a large document is not copied as its array grows; pages never
	 * written are never committed.
	 */
	if (len / 16 > 256 && !(out->tok = malloc((len / 16) * sizeof(*out->tok))))
		return fail(&r, "out of memory");
	r.cap = out->tok ? len / 16 : 0;
	if (read_value(&r, 0) != 0)
		return -1;
	skip_ws(&r);
	if (r.pos != len)
		return fail(&r, "end of input expected");
	return 0;
}

void certpin__json_free(certpin__json *j)
{
	free(j->tok);
	memset(j, 0, sizeof(*j));
}

/* Decode string token t into out (at most outlen bytes, NUL added); its length, or -1 if it does not fit. */
long certpin__json_str(const certpin__json *j, size_t t, char *out, size_t outlen)
{
	const certpin__json_tok *tok = &j->tok[t];
	const char *s = j->text + tok->start, *end = s + tok->len;
	size_t o = 0;

	if (!(tok->flags & CERTPIN__JSON_ESCAPED)) { /* the usual string: its bytes as they stand */
		if (tok->len >= outlen)
			return -1;
		memcpy(out, s, tok->len);
		out[tok->len] = '\0';
		return (long)tok->len;
	}

	while (s < end) {
		unsigned long cp = (unsigned char)*s;
		size_t w = 1;
		char buf[4];
		if (*s == '\\') {
			char c = s[1];
			s += 2;
			cp = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : (unsigned char)c;
			if (c == 'u') {
				cp = (unsigned long)hex4(s);
				s += 4;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned long)hex4(s + 2) - 0xdc00);
					s += 6;
				}
			}
			if (cp < 0x80) {
				buf[0] = (char)cp;
			} else if (cp < 0x800) {
				buf[0] = (char)(0xc0 | cp >> 6), buf[1] = (char)(0x80 | (cp & 0x3f)), w = 2;
			} else if (cp < 0x10000) {
				buf[0] = (char)(0xe0 | cp >> 12), buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
				buf[2] = (char)(0x80 | (cp & 0x3f)), w = 3;
			} else {
				buf[0] = (char)(0xf0 | cp >> 18), buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
				buf[2] = (char)(0x80 | (cp >> 6 & 0x3f)), buf[3] = (char)(0x80 | (cp & 0x3f)), w = 4;
			}
		} else {
			buf[0] = *s++;
		}
		if (o + w >= outlen)
			return -1;
		memcpy(out + o, buf, w);
		o += w;
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (long)o;
}

bool certpin__json_str_eq(const certpin__json *a, size_t ta, const certpin__json *b, size_t tb)
{
	const certpin__json_tok *x = &a->tok[ta], *y = &b->tok[tb];

	if (!((x->flags | y->flags) & CERTPIN__JSON_ESCAPED))
		return x->len == y->len && memcmp(a->text + x->start, b->text + y->start, x->len) == 0;
	char *bx = malloc((size_t)x->len + 1), *by = malloc((size_t)y->len + 1);
	long lx = bx ? certpin__json_str(a, ta, bx, (size_t)x->len + 1) : -1;
	long ly = by ? certpin__json_str(b, tb, by, (size_t)y->len + 1) : -1;
	bool eq = lx >= 0 && lx == ly && memcmp(bx, by, (size_t)lx) == 0;
	free(bx);
	free(by);
	return eq;
}

bool certpin__json_key_is(const certpin__json *j, size_t t, const char *key)
{
	const certpin__json_tok *tok = &j->tok[t];
	size_t n = strlen(key);

	if (!(tok->flags & CERTPIN__JSON_ESCAPED))
		return tok->len == n && memcmp(j->text + tok->start, key, n) == 0;
	char buf[64];
	long l = certpin__json_str(j, t, buf, sizeof(buf));
	return l >= 0 && (size_t)l == n && memcmp(buf, key, n) == 0;
}

long certpin__json_get(const certpin__json *j, size_t obj, const char *key)
{
	if (j->tok[obj].type != CERTPIN__JSON_OBJECT)
		return -1;
	for (size_t k = obj + 1; k < j->tok[obj].next; k = j->tok[k + 1].next)
		if (certpin__json_key_is(j, k, key))
			return (long)k + 1;
	return -1;
}

bool certpin__json_int(const certpin__json *j, size_t t, int64_t *out)
{
	const certpin__json_tok *tok = &j->tok[t];
	const char *s = j->text + tok->start, *end = s + tok->len;
	bool neg = *s == '-';
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	if (tok->type != CERTPIN__JSON_INTEGER)
		return false;
	for (s += neg; s < end; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (out)
		*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}
