/*
 * collector_exec.c - `certpin collect` and `certpin reports` run the
 * certpin-collect helper, which alone links libmicrohttpd, SQLite and libpq.
 * Keeping those (and their two dozen dependent libraries) out of certpin
 * makes every other subcommand start several milliseconds sooner.
 *
 * The helper is looked up next to the running certpin (a build tree, or a
 * copy of both in one directory) and then in the libexec directory relative
 * to it (an installation, wherever its prefix was moved).
 */
#include "collector_exec.h"
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CERTPIN_BIN_TO_LIBEXEC
#define CERTPIN_BIN_TO_LIBEXEC "../libexec/certpin"
#endif

#define HELPER "certpin-collect"

static int find_helper(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	const char *const rel[] = { "", "/" CERTPIN_BIN_TO_LIBEXEC };
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		int w = snprintf(out, outlen, "%s%s/" HELPER, self, rel[i]);
		if (w > 0 && (size_t)w < outlen && access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

int cli_run_collector(int argc, char **argv)
{
	char path[PATH_MAX];

	if (argc < 1)
		return CLI_EXIT_USAGE;
	if (find_helper(path, sizeof(path)) != 0) {
		cli_error("%s: the helper %s is not installed next to certpin or in its libexec directory", argv[0],
			HELPER);
		return CLI_EXIT_INTERNAL;
	}
	fflush(NULL);
	/* argv[0] for the helper is its own name; the rest is passed through */
	char **args = argv - 1;
	char *saved = args[0];
	args[0] = (char *)HELPER;
	execv(path, args);
	args[0] = saved;
	cli_error("%s: cannot run %s: %s", argv[0], path, strerror(errno));
	return CLI_EXIT_INTERNAL;
}
