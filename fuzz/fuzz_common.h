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

/* Same rules, pins (same order, same positions), mode, expiry and what happens at expiry; `what` names the pair. */
static inline void fuzz_same_rules(const certpin_policy *a, const certpin_policy *b, const char *what)
{
	size_t n = certpin_policy_host_count(a);

	FUZZ_CHECK(n == certpin_policy_host_count(b), "%s: %zu rules, original %zu", what,
		certpin_policy_host_count(b), n);
	for (size_t i = 0; i < n; i++) {
		certpin_host_info ha, hb;
		FUZZ_CHECK(certpin_policy_host(&ha, a, i) == CERTPIN_OK && certpin_policy_host(&hb, b, i) == CERTPIN_OK,
			"%s: rule %zu unreadable", what, i);
		FUZZ_CHECK(strcmp(ha.pattern, hb.pattern) == 0 && ha.expires == hb.expires && ha.mode == hb.mode &&
				ha.on_expiry == hb.on_expiry && ha.pin_count == hb.pin_count,
			"%s: rule %zu '%s' became '%s'", what, i, ha.pattern, hb.pattern);
		for (size_t k = 0; k < ha.pin_count; k++) {
			certpin_pin pa, pb;
			certpin_position qa, qb;
			FUZZ_CHECK(certpin_policy_host_pin(&pa, &qa, a, i, k) == CERTPIN_OK &&
					certpin_policy_host_pin(&pb, &qb, b, i, k) == CERTPIN_OK &&
					certpin_pin_equal(&pa, &pb) && qa == qb,
				"%s: pin %zu of rule %zu differs", what, k, i);
		}
	}
}

#endif
