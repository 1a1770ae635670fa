/* certpin - command-line front end: subcommand dispatch, usage, version. */
#include "common.h"
#include "bundle.h"
#include "collector_exec.h"
#include "interop.h"
#include "mitm.h"
#include "rotation.h"
#include "tofu.h"

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
		"  mitm --host H --dir D  score a client against TLS interception attacks\n"
		"  export --format F POL  write a policy as Android/OkHttp/TrustKit/curl/HPKP/TLSA\n"
		"  import FILE            convert Android XML, curl or OkHttp pins to a policy\n"
		"  keygen --backup        create a backup key and CSR, print its pin\n"
		"  collect --db DB        receive pin failure reports over HTTP(S) and store them\n"
		"  reports --db DB        summarize stored failure reports (text, JSON, HTML)\n"
		"  lint POLICY            check a policy for lockout risks (--connect: live)\n"
		"  plan POLICY... --chain F  would shipped versions survive a key/CA change?\n"
		"  monitor HOSTS --policy F  check many endpoints' pins concurrently\n"
		"  bundle SUBCOMMAND      signed policy bundles: keygen, sign, verify, apply, fetch\n"
		"  tofu SUBCOMMAND        trust-on-first-use pins: check, list, forget, trust\n"
		"  help [COMMAND]         show this help or a command's options\n"
		"\n"
		"options:\n"
		"  -h, --help             show help\n"
		"  --version              show versions\n"
		"\n"
		"exit status:\n"
		"  0  success: pin match, host not pinned, or connection allowed\n"
		"     (report-only mismatch, fail-open expired pinset)\n"
		"  1  refused: pin mismatch, or expired pinset with on_expiry fail-closed\n"
		"  2  connect, TLS or certificate (PKIX) validation failure\n"
		"  3  usage error or bad input (unreadable file, bad policy, bad arguments)\n"
		"  4  internal error\n"
		"check and monitor say whether a client with the policy would connect;\n"
		"monitor exits with its worst endpoint's status, in the order 4, 1, 2, 0.\n"
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
	if (strcmp(argv[1], "mitm") == 0) {
		usage_mitm(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "export") == 0) {
		usage_export(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "import") == 0) {
		usage_import(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "collect") == 0 || strcmp(argv[1], "reports") == 0)
		return cli_run_collector(argc, argv);
	if (strcmp(argv[1], "keygen") == 0) {
		usage_keygen(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "lint") == 0) {
		usage_lint(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "plan") == 0) {
		usage_plan(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "monitor") == 0) {
		usage_monitor(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "bundle") == 0) {
		usage_bundle(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "tofu") == 0) {
		usage_tofu(stdout);
		return CLI_EXIT_OK;
	}
	cli_error("help: unknown command '%s' (commands: pin, check, mitm, export, import, keygen, collect, reports, lint, plan, monitor, bundle, tofu)", argv[1]);
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
	if (strcmp(cmd, "mitm") == 0)
		return cmd_mitm(argc - 1, argv + 1);
	if (strcmp(cmd, "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(cmd, "collect") == 0 || strcmp(cmd, "reports") == 0)
		return cli_run_collector(argc - 1, argv + 1);
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(cmd, "lint") == 0)
		return cmd_lint(argc - 1, argv + 1);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc - 1, argv + 1);
	if (strcmp(cmd, "monitor") == 0)
		return cmd_monitor(argc - 1, argv + 1);
	if (strcmp(cmd, "bundle") == 0)
		return cmd_bundle(argc - 1, argv + 1);
	if (strcmp(cmd, "tofu") == 0)
		return cmd_tofu(argc - 1, argv + 1);
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
