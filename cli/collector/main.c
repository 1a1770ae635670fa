/*
 * certpin-collect - the report collector and report summaries, in a binary of
 * their own so that the everyday certpin tool does not load the HTTP server
 * and database client libraries.  `certpin collect ...` and
 * `certpin reports ...` run it (see cli/collector_exec.c); it also runs on
 * its own with the same arguments.
 */
#include "collect.h"
#include "common.h"

#include <signal.h>
#include <string.h>

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "help") == 0) {
		if (strcmp(argv[2], "collect") == 0) {
			usage_collect(stdout);
			return CLI_EXIT_OK;
		}
		if (strcmp(argv[2], "reports") == 0) {
			usage_reports(stdout);
			return CLI_EXIT_OK;
		}
	}
	if (argc >= 2 && strcmp(argv[1], "collect") == 0)
		return cmd_collect(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "reports") == 0)
		return cmd_reports(argc - 1, argv + 1);
	cli_error("certpin-collect: expected 'collect', 'reports' or 'help collect|reports'");
	return CLI_EXIT_USAGE;
}
