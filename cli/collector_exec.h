/* collector_exec.h - run the certpin-collect helper for `collect` and `reports`. */
#ifndef CERTPIN_CLI_COLLECTOR_EXEC_H
#define CERTPIN_CLI_COLLECTOR_EXEC_H

/*
 * Replace this process with certpin-collect, passing argv[0..argc-1]
 * ("collect ...", "reports ..." or "help collect|reports").  argv must be
 * main()'s argv advanced by one (argv[-1] is valid).  Returns only on error,
 * with an exit code after a one-line message.
 */
int cli_run_collector(int argc, char **argv);

#endif
