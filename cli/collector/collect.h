/* collect.h - "certpin collect" (report collector) and "certpin reports" (summaries). */
#ifndef CERTPIN_CLI_COLLECT_H
#define CERTPIN_CLI_COLLECT_H

#include <stdio.h>

int cmd_collect(int argc, char **argv);
int cmd_reports(int argc, char **argv);
void usage_collect(FILE *f);
void usage_reports(FILE *f);

struct cdb_report;
struct certpin_report_origin;
/* The report's format and app fields (collect_origin.c): pointers into `o`, which must outlive `r`. */
void collect_origin(struct cdb_report *r, const struct certpin_report_origin *o);
/*
 * The Idempotency-Key header's value `h` (NULL: no header) into `out`
 * (CDB_IDEM_KEY_MAX + 1 bytes): 1 a key, 0 none, -1 malformed.  Accepted: a
 * string of structured-field syntax (RFC 8941: "...", as the IETF draft has
 * it) or the same characters bare, 1 to CDB_IDEM_KEY_MAX visible ASCII
 * characters without a double quote or a backslash.
 */
int collect_idem_key(char *out, const char *h);

#endif
