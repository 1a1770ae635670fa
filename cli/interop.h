/* interop.h - the certpin import, export and keygen subcommands. */
#ifndef CERTPIN_CLI_INTEROP_H
#define CERTPIN_CLI_INTEROP_H

#include <stdio.h>

#include "certpin.h"
#include "certpin/tools.h"

int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
void usage_import(FILE *f);
void usage_export(FILE *f);
void usage_keygen(FILE *f);

#endif
