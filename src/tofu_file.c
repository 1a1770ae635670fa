/*
 * The TOFU store's file, known_pins (certpin/tofu.h, STORE FILE): parsing,
 * with every rule the format sets checked, and writing.  No I/O here: the
 * store (tofu.c) reads and replaces the file.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_LEN 20

__attribute__((format(printf, 3, 4)))
int certpin__tofu_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CERTPIN_E_STORE;
}

void certpin__tofu_db_free(certpin__tofu_db *db)
{
	if (!db)
		return;
	free(db->e);
	memset(db, 0, sizeof(*db));
}

int certpin__tofu_db_add(certpin__tofu_db *db, const certpin_tofu_entry *e)
{
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;
		certpin_tofu_entry *ne = realloc(db->e, cap * sizeof(*ne));
		if (!ne)
			return CERTPIN_E_NOMEM;
		db->e = ne;
		db->cap = cap;
	}
	db->e[db->n++] = *e;
	return CERTPIN_OK;
}

const char *certpin__tofu_position_word(certpin_position p)
{
	switch (p) {
	case CERTPIN_POS_LEAF:
		return "leaf";
	case CERTPIN_POS_INTERMEDIATE:
		return "intermediate";
	case CERTPIN_POS_ROOT:
		return "root";
	default:
		return NULL;
	}
}

static int parse_position(certpin_position *out, const char *s, size_t len)
{
	static const certpin_position all[] = { CERTPIN_POS_LEAF, CERTPIN_POS_INTERMEDIATE, CERTPIN_POS_ROOT };

	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(all); i++) {
		const char *w = certpin__tofu_position_word(all[i]);
		if (strlen(w) == len && memcmp(w, s, len) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

/* Parse one entry line (without its "\n"). */
static int parse_line(certpin_tofu_entry *e, const char *line, size_t len, size_t lineno, char *err, size_t errlen)
{
	const char *f[4];
	size_t fl[4], nf = 0;
	char buf[CERTPIN_HOSTNAME_MAX + 1], norm[CERTPIN_HOSTNAME_MAX], canon[CERTPIN_PIN_STRLEN];
	const char *p = line, *end = line + len;
	int is_ip;

	memset(e, 0, sizeof(*e));
	while (p <= end && nf < 4) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp ? sp : end;
		if (fe == p)
			return certpin__tofu_set_err(err, errlen, "line %zu: empty field (fields are separated by one space)", lineno);
		f[nf] = p;
		fl[nf++] = (size_t)(fe - p);
		p = fe + 1;
		if (!sp)
			break;
	}
	if (nf != 4 || p <= end)
		return certpin__tofu_set_err(err, errlen, "line %zu: expected 4 fields: HOST POSITION PIN FIRST-SEEN", lineno);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			return certpin__tofu_set_err(err, errlen, "line %zu: control or non-ASCII character", lineno);
	if (fl[0] >= sizeof(buf))
		return certpin__tofu_set_err(err, errlen, "line %zu: host name too long", lineno);
	memcpy(buf, f[0], fl[0]);
	buf[fl[0]] = '\0';
	if (certpin__host_normalize(norm, sizeof(norm), &is_ip, buf) != CERTPIN_OK || strcmp(norm, buf) != 0)
		return certpin__tofu_set_err(err, errlen, "line %zu: host \"%.64s\" is not a normalized host name", lineno, buf);
	memcpy(e->host, norm, strlen(norm) + 1);
	if (parse_position(&e->position, f[1], fl[1]) != 0)
		return certpin__tofu_set_err(err, errlen, "line %zu: position must be leaf, intermediate or root", lineno);
	if (fl[2] >= sizeof(canon) || certpin_pin_parse(&e->pin, f[2], fl[2]) != CERTPIN_OK ||
	    certpin_pin_format(canon, sizeof(canon), &e->pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK ||
	    strlen(canon) != fl[2] || memcmp(canon, f[2], fl[2]) != 0)
		return certpin__tofu_set_err(err, errlen, "line %zu: pin must be sha256/BASE64 or cert-sha256/BASE64", lineno);
	if (fl[3] != TIME_LEN)
		return certpin__tofu_set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	memcpy(buf, f[3], TIME_LEN);
	buf[TIME_LEN] = '\0';
	char again[TIME_LEN + 1];
	if (certpin__parse_time(&e->first_seen, buf) != 0)
		return certpin__tofu_set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	certpin__format_time(again, sizeof(again), e->first_seen);
	if (strcmp(again, buf) != 0)
		return certpin__tofu_set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	return CERTPIN_OK;
}

typedef struct sort_item {
	const certpin_tofu_entry *e;
	size_t line;
} sort_item;

static int cmp_entry(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	int c = strcmp(x->e->host, y->e->host);

	if (c)
		return c;
	if (x->e->position != y->e->position)
		return x->e->position < y->e->position ? -1 : 1;
	if (x->e->pin.kind != y->e->pin.kind)
		return x->e->pin.kind < y->e->pin.kind ? -1 : 1;
	c = memcmp(x->e->pin.digest, y->e->pin.digest, CERTPIN_DIGEST_LEN);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Duplicate lines and hosts with too many pins, in O(n log n). */
static int check_db(const certpin__tofu_db *db, const size_t *lines, char *err, size_t errlen)
{
	sort_item *s;
	int rc = CERTPIN_OK;
	size_t run = 1;

	if (db->n < 2)
		return CERTPIN_OK;
	if (!(s = malloc(db->n * sizeof(*s))))
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < db->n; i++) {
		s[i].e = &db->e[i];
		s[i].line = lines[i];
	}
	qsort(s, db->n, sizeof(*s), cmp_entry);
	for (size_t i = 1; i < db->n && rc == CERTPIN_OK; i++) {
		const certpin_tofu_entry *a = s[i - 1].e, *b = s[i].e;
		if (strcmp(a->host, b->host) != 0) {
			run = 1;
			continue;
		}
		if (a->position == b->position && a->pin.kind == b->pin.kind &&
		    memcmp(a->pin.digest, b->pin.digest, CERTPIN_DIGEST_LEN) == 0)
			rc = certpin__tofu_set_err(err, errlen, "line %zu: duplicate of line %zu", s[i].line, s[i - 1].line);
		else if (++run > CERTPIN_TOFU_MAX_PINS)
			rc = certpin__tofu_set_err(err, errlen, "line %zu: more than %d pins for %s", s[i].line,
				CERTPIN_TOFU_MAX_PINS, b->host);
	}
	free(s);
	return rc;
}

int certpin__tofu_parse(certpin__tofu_db *db, const char *data, size_t len, char *err, size_t errlen)
{
	static const char header[] = CERTPIN_TOFU_HEADER "\n";
	size_t *lines = NULL, lcap = 0;
	const char *p, *end = data + len;
	size_t lineno = 1;
	int rc;

	memset(db, 0, sizeof(*db));
	if (len > CERTPIN_TOFU_FILE_MAX)
		return certpin__tofu_set_err(err, errlen, "larger than %u bytes", CERTPIN_TOFU_FILE_MAX);
	if (len == 0 || !data)
		return certpin__tofu_set_err(err, errlen, "empty file (no \"%s\" header line)", CERTPIN_TOFU_HEADER);
	if (memchr(data, '\0', len))
		return certpin__tofu_set_err(err, errlen, "contains a NUL byte");
	if (len < sizeof(header) - 1 || memcmp(data, header, sizeof(header) - 1) != 0)
		return certpin__tofu_set_err(err, errlen, "line 1: not a certpin known_pins v1 file (expected \"%s\")",
			CERTPIN_TOFU_HEADER);
	for (p = data + sizeof(header) - 1; p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		certpin_tofu_entry e;

		if (!nl) {
			rc = certpin__tofu_set_err(err, errlen, "line %zu: no newline at the end (truncated file?)", lineno + 1);
			goto err;
		}
		size_t ll = (size_t)(nl - p);
		if (ll == 0 || p[0] == '#') {
			if (memchr(p, '\r', ll)) {
				rc = certpin__tofu_set_err(err, errlen, "line %zu: carriage return", lineno + 1);
				goto err;
			}
			p = nl + 1;
			continue;
		}
		if ((rc = parse_line(&e, p, ll, lineno + 1, err, errlen)) != CERTPIN_OK)
			goto err;
		if (db->n == lcap) {
			size_t ncap = lcap ? lcap * 2 : 16;
			size_t *nl2 = realloc(lines, ncap * sizeof(*nl2));
			if (!nl2) {
				rc = CERTPIN_E_NOMEM;
				goto err;
			}
			lines = nl2;
			lcap = ncap;
		}
		lines[db->n] = lineno + 1;
		if ((rc = certpin__tofu_db_add(db, &e)) != CERTPIN_OK)
			goto err;
		p = nl + 1;
	}
	if ((rc = check_db(db, lines, err, errlen)) != CERTPIN_OK)
		goto err;
	free(lines);
	return CERTPIN_OK;
err:
	free(lines);
	certpin__tofu_db_free(db);
	return rc;
}

int certpin__tofu_format(char **out, size_t *len, const certpin__tofu_db *db)
{
	/* host + position + pin + time + separators */
	size_t cap = sizeof(CERTPIN_TOFU_HEADER) + 1 + db->n * (CERTPIN_HOSTNAME_MAX + 16 + CERTPIN_PIN_STRLEN + 32);
	size_t used;
	char *buf = malloc(cap);

	*out = NULL;
	*len = 0;
	if (!buf)
		return CERTPIN_E_NOMEM;
	used = (size_t)snprintf(buf, cap, "%s\n", CERTPIN_TOFU_HEADER);
	for (size_t i = 0; i < db->n; i++) {
		const certpin_tofu_entry *e = &db->e[i];
		char pin[CERTPIN_PIN_STRLEN], when[32];
		const char *pos = certpin__tofu_position_word(e->position);

		if (!pos || certpin_pin_format(pin, sizeof(pin), &e->pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK) {
			free(buf);
			return CERTPIN_E_INVALID_ARG;
		}
		certpin__format_time(when, sizeof(when), e->first_seen);
		int n = snprintf(buf + used, cap - used, "%s %s %s %s\n", e->host, pos, pin, when);
		if (n < 0 || (size_t)n >= cap - used) {
			free(buf);
			return CERTPIN_E_INVALID_ARG;
		}
		used += (size_t)n;
	}
	*out = buf;
	*len = used;
	return CERTPIN_OK;
}

