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

static int cmd_help(int argc, char **argv);

/*
 * The commands, in the order "certpin --help" lists them.  A row without a
 * handler is a second form of the command above it, listed only.  The
 * collector's commands have no usage printer here: their helper prints it
 * (certpin-collect help CMD).
 */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);   /* argv[0] is the command name */
	void (*usage)(FILE *f);
	const char *synopsis;                /* listed as "NAME SYNOPSIS" */
	const char *summary;                 /* one line */
} commands[] = {
	{ "pin", cmd_pin, usage_pin, "FILE...", "print the pins of certificates, keys and CSRs" },
	{ "pin", NULL, NULL, "--connect HOST", "print the pins of a TLS server's chain" },
	{ "check", cmd_check, usage_check, "HOST --policy F", "connect with a pinning policy and report the verdict" },
	{ "mitm", cmd_mitm, usage_mitm, "--host H --dir D", "score a client against TLS interception attacks" },
	{ "export", cmd_export, usage_export, "--format F POL",
		"write a policy as Android/OkHttp/TrustKit/curl/HPKP/TLSA" },
	{ "import", cmd_import, usage_import, "FILE", "convert Android, TrustKit, OkHttp or curl pins to a policy" },
	{ "keygen", cmd_keygen, usage_keygen, "--backup", "create a backup key and CSR, print its pin" },
	{ "collect", cli_run_collector, NULL, "--db DB", "receive pin failure reports over HTTP(S) and store them" },
	{ "reports", cli_run_collector, NULL, "--db DB", "summarize stored failure reports (text, JSON, HTML)" },
	{ "lint", cmd_lint, usage_lint, "POLICY", "check a policy for lockout risks (--connect: live)" },
	{ "plan", cmd_plan, usage_plan, "POLICY... --chain F", "would shipped versions survive a key/CA change?" },
	{ "monitor", cmd_monitor, usage_monitor, "HOSTS --policy F", "check many endpoints' pins concurrently" },
	{ "bundle", cmd_bundle, usage_bundle, "SUBCOMMAND",
		"signed policy bundles: keygen, sign, verify, apply, fetch" },
	{ "tofu", cmd_tofu, usage_tofu, "SUBCOMMAND", "trust-on-first-use pins: check, list, forget, trust" },
	{ "help", cmd_help, NULL, "[COMMAND]", "show this help or a command's options" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].run && strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: certpin COMMAND [ARGS]\n"
		"\n"
		"TLS certificate and public-key pinning.\n"
		"\n"
		"commands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char form[64];

		snprintf(form, sizeof(form), "%s %s", commands[i].name, commands[i].synopsis);
		fprintf(f, "  %-21s  %s\n", form, commands[i].summary);
	}
	fputs("\n"
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

/* "certpin help [COMMAND]"; argv[0] is "help". */
static int cmd_help(int argc, char **argv)
{
	const struct command *c;
	char names[256] = "";

	if (argc < 2) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	c = find_command(argv[1]);
	if (c && c->run != cmd_help) {
		if (!c->usage)
			return c->run(argc, argv);   /* the collector helper: "help collect|reports" */
		c->usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!commands[i].run || commands[i].run == cmd_help)
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "",
			commands[i].name);
	}
	cli_error("help: unknown command '%s' (commands: %s)", argv[1], names);
	return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const struct command *c;
	const char *cmd;

	/* A peer that closes early must give an error, not kill us on write. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[1];
	if ((c = find_command(cmd)) != NULL)
		return c->run(argc - 1, argv + 1);
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
		return version();
	cli_error("unknown command '%s' (see certpin --help)", cmd);
	return CLI_EXIT_USAGE;
}
