/* Private helpers shared by import.c and export.c.  Not installed. */
#ifndef CERTPIN_INTEROP_INTERNAL_H
#define CERTPIN_INTEROP_INTERNAL_H

#include "internal.h"

/*
 * A growable NUL-terminated text buffer.  After the first allocation failure
 * every append is a no-op and `nomem` stays set, so callers check once at
 * the end.
 */
typedef struct certpin__text {
	char *s;
	size_t len, cap;
	int nomem;
} certpin__text;

void certpin__text_append(certpin__text *t, const char *s, size_t n);
void certpin__text_puts(certpin__text *t, const char *s);
void certpin__text_printf(certpin__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one line to a newline-separated list (no trailing newline). */
void certpin__text_line(certpin__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the text to the caller (NULL if empty or on allocation failure) and reset `t`. */
char *certpin__text_take(certpin__text *t);
void certpin__text_free(certpin__text *t);

#endif
