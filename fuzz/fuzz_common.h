/*
 * Shared helpers for the libFuzzer targets.  Each target defines
 * LLVMFuzzerTestOneInput() and checks properties with FUZZ_CHECK(): a
 * violated property aborts, which libFuzzer reports as a crash and saves the
 * input as a reproducer.
 */
#ifndef CERTPIN_FUZZ_COMMON_H
#define CERTPIN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certpin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                        \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, \
				__LINE__, #cond);                                    \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* A NUL-terminated copy of at most `max` bytes of `data`, cut at the first NUL. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size, size_t max)
{
	size_t n = size < max ? size : max;
	const void *nul = memchr(data, '\0', n);
	if (nul)
		n = (size_t)((const uint8_t *)nul - data);
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Hex of a digest for messages; `out` needs 65 bytes. */
static inline const char *fuzz_hex(char *out, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[2 * n] = '\0';
	return out;
}

#endif
