/*
 * certpin export: write a policy as Android network security config, OkHttp
 * CertificatePinner code, TrustKit configuration, curl --pinnedpubkey values,
 * HPKP headers or DANE TLSA records.
 */
#include "common.h"
#include "interop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void usage_export(FILE *f)
{
	fputs("usage: certpin export --format FORMAT [--port N] [--from F] [--host H] [--force] POLICY\n"
		"\n"
		"Write POLICY (a certpin policy, or any file certpin import reads; '-' is\n"
		"standard input) in another pinning format on standard output.\n"
		"\n"
		"  -f, --format FORMAT  android         res/xml/network_security_config.xml\n"
		"                       okhttp          Kotlin CertificatePinner.Builder() code\n"
		"                       trustkit        Swift dictionary for TrustKit\n"
		"                       trustkit-plist  Info.plist TSKConfiguration\n"
		"                       curl            --pinnedpubkey values (leaf key only!)\n"
		"                       hpkp            Public-Key-Pins headers (obsolete)\n"
		"                       tlsa            DANE TLSA records (3 1 1 / 2 1 1)\n"
		"      --port N         port in TLSA owner names (default 443)\n"
		"      --from F         as for certpin import\n"
		"  -H, --host H         as for certpin import\n"
		"      --force          write rules the format can only narrow, and OkHttp rules\n"
		"                       that overlap with different pins (see below)\n"
		"\n"
		"What the format cannot express is reported as 'certpin: warning: ...' on\n"
		"standard error.  A rule the format could only write wider (Android or\n"
		"TrustKit and '*.x'; TLSA and any wildcard; a rule without expressible pins)\n"
		"is refused with exit status 3.  So is, unless --force is given, a rule the\n"
		"format could only write with fewer usable pins, which may lock clients out:\n"
		"certificate pins (all formats but tlsa), and for curl every pin not at\n"
		"position leaf (intermediate, root or any; mark leaf pins \"position\": \"leaf\").\n"
		"OkHttp accepts at a host the pins of every pattern matching it: rules that\n"
		"overlap ('a.x' and '*.x', say) are refused with exit status 3 unless the\n"
		"wider rule's pins are all in the more specific one, or --force is given.\n", f);
}

int cmd_export(int argc, char **argv)
{
	const char *format_name = NULL, *port_s = NULL, *from = NULL, *host = NULL;
	certpin_export_options eo = CERTPIN_EXPORT_OPTIONS_INIT;
	certpin_import_format in_format = CERTPIN_IMPORT_AUTO;
	certpin_export_format format;
	certpin_policy *p = NULL;
	certpin_error err;
	char *out = NULL;
	cli_args args;
	int force = 0, rc;
	const cli_opt opts[] = {
		CLI_VALUE("--format", 'f', &format_name),
		CLI_VALUE("--port", 0, &port_s),
		CLI_VALUE("--from", 0, &from),
		CLI_VALUE("--host", 'H', &host),
		CLI_FLAG("--force", 0, &force),
		CLI_OPT_END,
	};
	const cli_spec spec = { "export", usage_export, opts, 0, CLI_ANY, NULL, 0 };

	if ((rc = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return rc;
	rc = CLI_EXIT_USAGE;
	if (!format_name) {
		cli_error("export: --format is required (android, okhttp, trustkit, trustkit-plist, curl, hpkp, tlsa)");
		goto done;
	}
	if (certpin_export_format_parse(&format, format_name) != CERTPIN_OK) {
		cli_error("export: unknown format '%s' (android, okhttp, trustkit, trustkit-plist, curl, hpkp, tlsa)",
			format_name);
		goto done;
	}
	if (args.n != 1) {
		cli_error("export: expected one POLICY file (see certpin help export)");
		goto done;
	}
	if (port_s) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(port_s, &end, 10);
		if (errno || *end || port_s[0] < '0' || port_s[0] > '9' || v < 1 || v > 65535) {
			cli_error("export: bad --port '%s' (1-65535)", port_s);
			goto done;
		}
		if (format != CERTPIN_EXPORT_TLSA) {
			cli_error("export: --port applies to --format tlsa only");
			goto done;
		}
		eo.port = (unsigned int)v;
	}
	if (from && certpin_import_format_parse(&in_format, from) != CERTPIN_OK) {
		cli_error("export: unknown --from '%s' (" CLI_IMPORT_FORMATS ")", from);
		goto done;
	}
	eo.allow_narrowing = force;
	eo.insecure_allow_union = force;
	eo.on_warning = cli_warning_cb;
	const cli_policy_opts po = { .import = 1, .format = in_format, .default_host = host, .stdin_dash = 1 };
	if ((rc = cli_policy_load(&p, args.operands[0], &po)) != CLI_EXIT_OK)
		goto done;
	int erc = certpin_policy_export(&out, p, format, &eo, &err);
	if (erc != CERTPIN_OK) {
		cli_error("export: %s", err.message);
		rc = erc == CERTPIN_E_UNSUPPORTED ? CLI_EXIT_USAGE : cli_exit_for(erc);
		goto done;
	}
	fputs(out, stdout);
	if (fflush(stdout) != 0) {
		cli_error("export: write error");
		rc = CLI_EXIT_INTERNAL;
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	free(out);
	certpin_policy_free(p);
	return rc;
}
