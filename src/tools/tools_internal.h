/*
 * Private declarations of libcertpin-tools (import, export, lint, plan).
 * Not installed.  The tools see the core through its public API only: no
 * src/internal.h here.
 */
#ifndef CERTPIN_TOOLS_INTERNAL_H
#define CERTPIN_TOOLS_INTERNAL_H

#include "certpin.h"
#include "certpin/tools.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TOOLS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TOOLS_DAY 86400

/* certpin_host_info.wildcard */
enum { TOOLS_WILD_NONE = 0, TOOLS_WILD_ONE = 1, TOOLS_WILD_ANY = 2 };

/*
 * Warnings of one import or export, kept until the call succeeds (then
 * delivered, in order, to the caller's callback) or fails (then dropped).
 * After an allocation failure further warnings are dropped and `nomem` is
 * set; the call then fails with CERTPIN_E_NOMEM.
 */
typedef struct certpin_tools__warnings {
	certpin_error *w;
	size_t n, cap;
	bool nomem;
} certpin_tools__warnings;

void certpin_tools__warn(certpin_tools__warnings *W, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Hand every warning to `cb` (NULL: none) and free them. */
void certpin_tools__warnings_deliver(certpin_tools__warnings *W, certpin_warning_cb cb, void *payload);
void certpin_tools__warnings_free(certpin_tools__warnings *W);

/* A growable string; after an allocation failure appends are no-ops and `nomem` stays set. */
typedef struct certpin_tools__text {
	char *s;
	size_t len, cap;
	bool nomem;
} certpin_tools__text;

void certpin_tools__append(certpin_tools__text *t, const char *s, size_t n);
void certpin_tools__puts(certpin_tools__text *t, const char *s);
void certpin_tools__printf(certpin_tools__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the text to the caller (NULL on allocation failure; "" if empty) and reset `t`. */
char *certpin_tools__take(certpin_tools__text *t);
void certpin_tools__text_free(certpin_tools__text *t);

/*
 * `arr` (of `*cap` elements of `size` bytes) grown to hold `need`
 * elements: the new array (`*cap` updated), or NULL if out of memory (then
 * `arr` is unchanged and still owned by the caller).
 */
void *certpin_tools__grow(void *arr, size_t *cap, size_t need, size_t size);

#endif
