/*
 * The CLI's one policy loader: every command that reads a policy file
 * (check, import, export, lint, plan, monitor, bundle sign and fetch) goes
 * through cli_policy_load(), so that the library's loading API is called in
 * this file only.  See common.h.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

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

/*
 * The library call for `o` (`input`: standard input, read): a certpin error
 * code, the policy in *p, the detail in *err; import warnings are printed
 * (the importer delivers them only when it succeeds).
 */
static int load(certpin_policy **p, const char *path, const cli_policy_opts *o, const char *input, size_t len,
	certpin_error *err)
{
	certpin_import_options io = CERTPIN_IMPORT_OPTIONS_INIT;

	if (!o->import && o->data)
		return certpin_policy_load_data(p, o->data, o->len, path, NULL, err);
	if (!o->import)
		return certpin_policy_load_file(p, path, NULL, err);
	io.format = o->format;
	io.default_host = o->default_host;
	io.on_warning = cli_warning_cb;
	io.anchors = o->anchors;
	if (input) {
		io.name = "-";
		return certpin_policy_import_data(p, input, len, &io, err);
	}
	return certpin_policy_import_file(p, path, &io, err);
}

int cli_policy_load(certpin_policy **out, const char *path, const cli_policy_opts *opts)
{
	static const cli_policy_opts json_file = { .import = 0 };
	const cli_policy_opts *o = opts ? opts : &json_file;
	certpin_policy *p = NULL;
	certpin_error err;
	char *input = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	certpin_error_clear(&err);
	if (o->import && o->stdin_dash && strcmp(path, "-") == 0 && !(input = read_stdin_all(&len)))
		return CLI_EXIT_USAGE;
	rc = load(&p, path, o, input, len, &err);
	free(input);
	if (rc != CERTPIN_OK) {
		if (err.message[0])
			cli_error("%s", err.message);
		else
			cli_error("%s: %s", path, certpin_strerror(rc));
		certpin_policy_free(p);
		return cli_exit_for(rc);
	}
	*out = p;
	return CLI_EXIT_OK;
}
