/*
 * certpin import: read pins from an Android network_security_config.xml, a
 * TrustKit Info.plist or Swift/Objective-C configuration, a curl
 * --pinnedpubkey string, OkHttp CertificatePinner code or "host pin" lines,
 * and print the equivalent certpin policy (JSON).
 */
#include "common.h"
#include "interop.h"

#include <stdlib.h>
#include <string.h>

void usage_import(FILE *f)
{
	fputs("usage: certpin import [--from FORMAT] [--host HOST] FILE\n"
		"\n"
		"Convert the pins in FILE ('-' reads standard input) into a certpin policy\n"
		"and print it as JSON (certpin-policy(5)).\n"
		"\n"
		"      --from FORMAT   auto (the default: '{' is json, a <plist> or source\n"
		"                      with TrustKit's keys trustkit, other XML android, the\n"
		"                      rest pins), json, android\n"
		"                      (network_security_config.xml), trustkit\n"
		"                      (Info.plist with TSKConfiguration, or the Swift or\n"
		"                      Objective-C dictionary given to TrustKit's\n"
		"                      initSharedInstance), or pins (curl\n"
		"                      \"sha256//A;sha256//B\", \"HOST PIN...\" lines, or OkHttp\n"
		"                      CertificatePinner.Builder().add(HOST, PIN...) code)\n"
		"  -H, --host HOST     host for pins that name none (a bare curl string)\n"
		"\n"
		"Android and TrustKit pins match any chain position and stop being checked\n"
		"at their expiration date: imported as position any, on_expiry fail-open.\n"
		"TrustKit's kTSKIncludeSubdomains gives \"**.NAME\", kTSKEnforcePinning false\n"
		"report-only.  Swift, Objective-C, Kotlin and Java are read as far as they\n"
		"are literal (string literals, constants the same file assigns once, literal\n"
		"arrays and dictionaries); anything else is an error that names it.\n"
		"curl checks \"sha256//...\" pins against the leaf key only: position leaf.\n"
		"OkHttp accepts the pins of every pattern matching a host: each rule also\n"
		"gets the pins of the wider patterns that cover it.\n"
		"Approximations are reported as warnings on standard error.\n", f);
}

int cmd_import(int argc, char **argv)
{
	const char *from = NULL, *host = NULL;
	certpin_import_format format = CERTPIN_IMPORT_AUTO;
	certpin_policy *p = NULL;
	char *json = NULL;
	cli_args args;
	int rc;
	const cli_opt opts[] = {
		CLI_VALUE("--from", 0, &from),
		CLI_VALUE("--host", 'H', &host),
		CLI_OPT_END,
	};
	const cli_spec spec = { "import", usage_import, opts, 1, 1, "one FILE", 0 };

	if ((rc = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return rc;
	if (from && certpin_import_format_parse(&format, from) != CERTPIN_OK) {
		cli_error("import: unknown --from '%s' (" CLI_IMPORT_FORMATS ")", from);
		return CLI_EXIT_USAGE;
	}
	const cli_policy_opts po = { .import = 1, .format = format, .default_host = host, .stdin_dash = 1 };
	if ((rc = cli_policy_load(&p, args.operands[0], &po)) != CLI_EXIT_OK)
		return rc;
	if (certpin_policy_to_json(&json, p) != CERTPIN_OK) {
		cli_error("import: cannot serialize the policy");
		rc = CLI_EXIT_INTERNAL;
		goto done;
	}
	fputs(json, stdout);
	if (json[0] && json[strlen(json) - 1] != '\n')
		fputc('\n', stdout);
	if (fflush(stdout) != 0) {
		cli_error("import: write error");
		rc = CLI_EXIT_INTERNAL;
	}
done:
	free(json);
	certpin_policy_free(p);
	return rc;
}
