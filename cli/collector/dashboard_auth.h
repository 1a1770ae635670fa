/*
 * dashboard_auth.h - the read token of the collector's dashboard
 * (certpin collect --dashboard --dashboard-token-file FILE).
 *
 * The token file holds one line: 16 to 256 characters from A-Z a-z 0-9
 * - . _ ~ (what "openssl rand -hex 32" writes), a final newline allowed.  It
 * must be a regular file that others may neither read nor write (mode 0600
 * or 0640, say): a token any local user can read protects nothing.
 *
 * A client proves it knows the token by "Authorization: Bearer TOKEN", or
 * by the cookie that "GET /?token=TOKEN" sets once: its value is derived from
 * the token (hex SHA-256 of a fixed label and the token), so the browser
 * never stores the token itself.  Candidates are compared by their SHA-256
 * digests with CRYPTO_memcmp(): the time taken does not depend on where a
 * wrong candidate differs, nor on its length beyond hashing it.
 *
 * No OpenSSL type and no HTTP type here: tests/unit/dashboard_auth_test.c
 * compiles this module alone.
 */
#ifndef CERTPIN_CLI_DASHBOARD_AUTH_H
#define CERTPIN_CLI_DASHBOARD_AUTH_H

#include <stddef.h>

#define DASH_TOKEN_MIN 16
#define DASH_TOKEN_MAX 256
#define DASH_COOKIE_NAME "certpin_dashboard"

typedef struct dash_token {
	unsigned char token_sha[32];    /* SHA-256 of the token */
	unsigned char cookie_sha[32];   /* SHA-256 of the cookie value */
	char cookie[65];                /* the cookie value (hex) */
} dash_token;

/*
 * Read and check the token file at `path`: 0, or -1 with a one-line reason
 * in `err` (cannot be read; not a regular file; readable or writable by
 * others; empty; too short or too long; a character outside the set; more
 * than one line).
 */
int dash_token_load(dash_token *out, const char *path, char *err, size_t errlen);

/* The same checks on a token given as text of `len` bytes (a final "\n" or "\r\n" allowed): 0 or -1. */
int dash_token_set(dash_token *out, const char *text, size_t len, char *err, size_t errlen);

/* 1 if `candidate` (NUL-terminated, may be NULL) is the token, else 0; constant time as above. */
int dash_token_check(const dash_token *t, const char *candidate);

/* 1 if `candidate` is the cookie value, else 0; likewise. */
int dash_cookie_check(const dash_token *t, const char *candidate);

/*
 * The credentials of an "Authorization" header value: the text after
 * "Bearer " (the scheme in any case, blanks after it skipped), or NULL for
 * NULL or another scheme.  Borrows from `authorization`.
 */
const char *dash_bearer(const char *authorization);

#endif
