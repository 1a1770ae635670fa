/* certpin - command-line front end: subcommand dispatch, usage, version. */
#include "common.h"

#include <signal.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

static void usage(FILE *f)
{
	fputs("usage: certpin COMMAND [ARGS]\n"
		"\n"
		"TLS certificate and public-key pinning.\n"
		"\n"
		"commands:\n"
		"  pin FILE...            print the pins of certificates, keys and CSRs\n"
		"  pin --connect HOST     print the pins of a TLS server's chain\n"
		"  check HOST --policy F  connect with a pinning policy and report the verdict\n"
		"  help [COMMAND]         show this help or a command's options\n"
		"\n"
		"options:\n"
		"  -h, --help             show help\n"
		"  --version              show versions\n"
		"\n"
		"exit status:\n"
		"  0  success: pin match, host not pinned, or connection allowed\n"
		"  1  refused: pin mismatch, or expired pinset with on_expiry fail-closed\n"
		"  2  connect, TLS or certificate (PKIX) validation failure\n"
		"  3  usage error or bad input (unreadable file, bad policy, bad arguments)\n"
		"  4  internal error\n"
		"\n"
		"See certpin(1), certpin-policy(5) and libcertpin(3).\n", f);
}

static int version(void)
{
	printf("certpin %s (libcertpin %s, %s)\n", CERTPIN_VERSION_STRING, certpin_version(),
		OpenSSL_version(OPENSSL_VERSION));
	return CLI_EXIT_OK;
}

static int help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "pin") == 0) {
		usage_pin(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0) {
		usage_check(stdout);
		return CLI_EXIT_OK;
	}
	cli_error("help: unknown command '%s' (commands: pin, check)", argv[1]);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmd;

	/* A peer that closes early must give an error, not kill us on write. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "pin") == 0)
		return cmd_pin(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0)
		return help(argc - 1, argv + 1);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
		return version();
	cli_error("unknown command '%s' (see certpin --help)", cmd);
	return CLI_EXIT_USAGE;
}
