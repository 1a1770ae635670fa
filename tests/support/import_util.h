/*
 * Helpers for the import tests (import_test.c, import_okhttp_test.c,
 * import_trustkit_test.c):
 * run an import from a string, collect its warnings, and compare a rule's
 * pins with base64 digests.
 */
#ifndef CERTPIN_TEST_IMPORT_UTIL_H
#define CERTPIN_TEST_IMPORT_UTIL_H

#include "certpin.h"
#include "certpin/tools.h"

/* The SPKI pin of base64 digest `b64` (aborts if it does not parse). */
certpin_pin imp_pin(const char *b64);

/* Index of the rule with exactly `pattern` (normalized), or -1. */
long imp_rule(const certpin_policy *p, const char *pattern);

/* 1 if rule `pattern` has exactly the pins `b64s` (any order), all at position `pos`. */
int imp_rule_has(const certpin_policy *p, const char *pattern, const char *const *b64s, size_t n, certpin_position pos);

/* An import's on_warning: the warnings joined by newlines in the char * at `payload`; each must have code OK. */
void imp_collect_warning(const certpin_error *w, void *payload);

/*
 * Import `s` in format `f` (named "in" in messages): the policy (NULL on
 * error), the code in *rc, the error in *err (may be NULL), the warnings
 * joined by newlines in *warn (NULL if none; free it; `warn` may be NULL).
 * Checks the documented invariants of a failed import.
 */
certpin_policy *imp_str(const char *s, certpin_import_format f, int *rc, certpin_error *err, char **warn);

/* The same for the file `path`, named by its path. */
certpin_policy *imp_file(const char *path, certpin_import_format f, int *rc, certpin_error *err, char **warn);

#endif
