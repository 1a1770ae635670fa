/*
 * interop.h - the certpin import, export and keygen subcommands, and the
 * policy loader they share (any importable format, "-" for standard input).
 */
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

/*
 * Load a policy from `path` ("-": standard input) in `format`, printing any
 * import warnings as "certpin: warning: ...".  Returns CLI_EXIT_OK with
 * *out set, or an exit code after printing a one-line error.
 */
int interop_load_policy(certpin_policy **out, const char *path, certpin_import_format format,
	const char *default_host);

#endif
