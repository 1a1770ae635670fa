/*
 * Minimal test macros shared by certpin's C tests.  A failed check prints
 * file:line and the expression, counts the failure and continues; main()
 * returns test_finish(), which prints "N passed, N failed" and is non-zero if
 * anything failed.
 */
#ifndef CERTPIN_TEST_H
#define CERTPIN_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

extern int test_passed;
extern int test_failed;

#define CHECK(cond) do { \
	if (cond) { test_passed++; } \
	else { test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_INT(got, want) do { \
	long long got_ = (long long)(got), want_ = (long long)(want); \
	if (got_ == want_) { test_passed++; } \
	else { test_failed++; fprintf(stderr, "%s:%d: %s == %lld, want %s == %lld\n", __FILE__, __LINE__, #got, got_, #want, want_); } \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *got_ = (got), *want_ = (want); \
	if (got_ && want_ && strcmp(got_, want_) == 0) { test_passed++; } \
	else { test_failed++; fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, got_ ? got_ : "(null)", want_ ? want_ : "(null)"); } \
} while (0)

/* Substring check. */
#define CHECK_CONTAINS(hay, needle) do { \
	const char *hay_ = (hay), *needle_ = (needle); \
	if (hay_ && needle_ && strstr(hay_, needle_)) { test_passed++; } \
	else { test_failed++; fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, hay_ ? hay_ : "(null)", needle_ ? needle_ : "(null)"); } \
} while (0)

int test_finish(const char *name);

/* Path under $CERTPIN_TEST_PKI (or $CERTPIN_TEST_DATA) in a static buffer rotated over 8 slots. */
const char *test_pki(const char *file);
const char *test_data(const char *file);

/*
 * The reference pin `name` of $CERTPIN_TEST_PKI/pins.txt ("leaf", "root",
 * ...: computed by the openssl CLI in tests/data/mkpki.sh, not by the
 * library under test).  Aborts the test if there is none.
 */
const char *test_pin(const char *name);

/* Read a whole file; NUL-terminated; *len set if non-NULL.  Aborts the test on failure. */
char *test_read_file(const char *path, size_t *len);

/*
 * A private temporary directory for this test process, made on first use
 * under $TMPDIR (or /tmp); the files in it and the directory are removed at
 * exit.  Aborts the test if it cannot be made.
 */
const char *test_tmpdir(void);

#endif
