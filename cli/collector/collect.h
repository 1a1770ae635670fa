/* collect.h - "certpin collect" (report collector) and "certpin reports" (summaries). */
#ifndef CERTPIN_CLI_COLLECT_H
#define CERTPIN_CLI_COLLECT_H

#include <stdio.h>

int cmd_collect(int argc, char **argv);
int cmd_reports(int argc, char **argv);
void usage_collect(FILE *f);
void usage_reports(FILE *f);

#endif
