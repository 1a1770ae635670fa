/*
 * certpin import: read pins from an Android network_security_config.xml, a
 * curl --pinnedpubkey string, OkHttp CertificatePinner code or "host pin"
 * lines, and print the equivalent certpin policy (JSON).
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
		"  --from FORMAT   auto (default: '{' JSON, '<' Android XML, else a pin list),\n"
		"                  json, android (network_security_config.xml), or pins\n"
		"                  (curl \"sha256//A;sha256//B\", \"HOST PIN...\" lines, or OkHttp\n"
		"                  CertificatePinner.Builder().add(\"HOST\", \"sha256/...\") code)\n"
		"  --host HOST     host for pins that name none (a bare curl string)\n"
		"\n"
		"Android pins match any chain position and stop being checked at the\n"
		"pin-set expiration date: imported as position any, on_expiry fail-open.\n"
		"curl checks \"sha256//...\" pins against the leaf key only: position leaf.\n"
		"OkHttp accepts the pins of every pattern matching a host: each rule also\n"
		"gets the pins of the wider patterns that cover it.\n"
		"Approximations are reported as warnings on standard error.\n", f);
}

/* Read standard input, at most CERTPIN_IMPORT_MAX_SIZE + 1 bytes; NULL on error (message printed). */
static char *read_stdin_all(size_t *len)
{
	size_t cap = CERTPIN_IMPORT_MAX_SIZE + 1, n = 0;
	char *buf = malloc(cap);

	if (!buf) {
		cli_error("out of memory");
		return NULL;
	}
	while (n < cap) {
		size_t got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(stdin)) {
		cli_error("-: read error");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

void interop_print_warnings(const char *warnings)
{
	const char *s = warnings;

	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		cli_warn("%.*s", (int)n, s);
		s = nl ? nl + 1 : NULL;
	}
}

int interop_load_policy(certpin_policy **out, const char *path, certpin_import_format format,
	const char *default_host)
{
	certpin_policy *p = NULL;
	char *warnings = NULL;
	certpin_error perr;
	int rc;

	*out = NULL;
	if (certpin_policy_new(&p) != CERTPIN_OK) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	if (strcmp(path, "-") == 0) {
		size_t len = 0;
		char *data = read_stdin_all(&len);
		if (!data) {
			certpin_policy_free(p);
			return CLI_EXIT_USAGE;
		}
		rc = certpin_policy_import_data_ex(p, data, len, format, default_host, "-", &warnings, &perr);
		free(data);
	} else {
		rc = certpin_policy_import_file_ex(p, path, format, default_host, &warnings, &perr);
	}
	if (rc != CERTPIN_OK) {
		const char *detail = perr.message;
		cli_error("%s", detail[0] ? detail : certpin_strerror(rc));
		certpin_policy_free(p);
		return cli_exit_for(rc);
	}
	interop_print_warnings(warnings);
	free(warnings);
	*out = p;
	return CLI_EXIT_OK;
}

int cmd_import(int argc, char **argv)
{
	const char *from = NULL, *host = NULL;
	certpin_import_format format = CERTPIN_IMPORT_AUTO;
	certpin_policy *p = NULL;
	char **operands = NULL, *json = NULL;
	size_t noperands = 0;
	int help = 0, rc;
	const cli_opt opts[] = {
		{ "--from", &from, NULL },
		{ "--host", &host, NULL },
		{ NULL, NULL, NULL },
	};

	operands = calloc((size_t)argc + 1, sizeof(*operands));
	if (!operands) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	rc = cli_parse_args(argc, argv, opts, "import", operands, &noperands, &help);
	if (rc)
		goto done;
	if (help) {
		usage_import(stdout);
		goto done;
	}
	if (noperands != 1) {
		cli_error("import: expected one FILE (see certpin help import)");
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (from && certpin_import_format_parse(&format, from) != CERTPIN_OK) {
		cli_error("import: unknown --from '%s' (auto, json, android, pins)", from);
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if ((rc = interop_load_policy(&p, operands[0], format, host)))
		goto done;
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
	free(operands);
	return rc;
}
