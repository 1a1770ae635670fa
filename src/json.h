/*
 * json.h - the strict JSON reader behind the policy loader (json.c).
 * Internal.  A document is read into a flat array of tokens: containers
 * first, then their contents; each token knows the token after its subtree
 * (`next`), so a loader walks objects and arrays without a tree.
 */
#ifndef CERTPIN_JSON_H
#define CERTPIN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum certpin__json_type {
	CERTPIN__JSON_OBJECT = 1,
	CERTPIN__JSON_ARRAY,
	CERTPIN__JSON_STRING,
	CERTPIN__JSON_INTEGER,          /* a number without fraction or exponent, within int64 */
	CERTPIN__JSON_REAL,
	CERTPIN__JSON_TRUE,
	CERTPIN__JSON_FALSE,
	CERTPIN__JSON_NULL
} certpin__json_type;

#define CERTPIN__JSON_ESCAPED 1u        /* a string with backslash escapes */
#define CERTPIN__JSON_NUL 2u            /* a string with an escaped NUL (\u0000) */

typedef struct certpin__json_tok {
	uint32_t start;                 /* strings: the first byte after the quote; others: the first byte */
	uint32_t len;                   /* strings: bytes between the quotes; containers: member count */
	uint32_t next;                  /* the token after this one's subtree */
	uint8_t type;                   /* certpin__json_type */
	uint8_t flags;                  /* CERTPIN__JSON_* for strings */
} certpin__json_tok;

typedef struct certpin__json {
	const char *text;               /* borrowed: the document read */
	certpin__json_tok *tok;         /* tok[0] is the document's value */
	size_t n;
	unsigned long err_line, err_column; /* where reading stopped, on error (1-based line) */
} certpin__json;

/* Read `len` bytes of `s`; 0, or -1 with a message in err and the place in out->err_line/column. */
int certpin__json_read(certpin__json *out, const char *s, size_t len, char *err, size_t errlen);
void certpin__json_free(certpin__json *j);

/* The value of `key` in object token `obj` (its token index), or -1. */
long certpin__json_get(const certpin__json *j, size_t obj, const char *key);
/* Is string token t equal to `key`? */
bool certpin__json_key_is(const certpin__json *j, size_t t, const char *key);
/* Are string tokens a and b equal once decoded? */
bool certpin__json_str_eq(const certpin__json *a, size_t ta, const certpin__json *b, size_t tb);
/* Decode string token t into out[outlen] (NUL-terminated); its length, or -1 if it does not fit. */
long certpin__json_str(const certpin__json *j, size_t t, char *out, size_t outlen);
/* Integer token t into *out (may be NULL); false if t is not an integer within int64. */
bool certpin__json_int(const certpin__json *j, size_t t, int64_t *out);

/* The first member of container t (for objects: its first key), and the one after member m. */
#define CERTPIN__JSON_FIRST(j, t) ((size_t)(t) + 1)
#define CERTPIN__JSON_NEXT(j, m) ((size_t)(j)->tok[m].next)

#endif
