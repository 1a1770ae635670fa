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

#endif
