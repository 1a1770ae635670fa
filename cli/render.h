/*
 * render.h - the words for what the tools library finds: lint findings and
 * the rotation planner's verdict, advice and warnings (the library returns
 * them as data; certpin/tools.h).
 */
#ifndef CERTPIN_CLI_RENDER_H
#define CERTPIN_CLI_RENDER_H

#include <stddef.h>

#include "certpin.h"
#include "certpin/tools.h"

/* One line (no newline) explaining lint finding `f` of a run with options `lo` (for the live chains' subjects). */
void render_lint_message(char *out, size_t len, const certpin_lint_finding *f, const certpin_lint_options *lo);

/* One line (no newline) for plan warning `w`. */
void render_plan_warning(char *out, size_t len, const certpin_plan *plan, const certpin_plan_warning *w);

/*
 * The fix for host `host` in words, one line per point, each ending in a
 * newline ("" if nothing to fix); `policies` are the plan's, in its order.
 * malloc'd; NULL if out of memory.
 */
char *render_plan_fix(const certpin_plan *plan, const certpin_policy *const *policies, size_t host);

/*
 * The verdict in words: a first line "safe to deploy ...", "UNSAFE: would
 * lock out versions A, B" or "UNDECIDED: ...", then every host's fix and
 * every warning ("warning: ...").  malloc'd; NULL if out of memory.
 */
char *render_plan_text(const certpin_plan *plan, const certpin_policy *const *policies);

#endif
