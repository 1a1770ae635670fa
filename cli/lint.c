/*
 * certpin lint: find what would make a policy lock clients out, offline and,
 * with --connect or --chain, against the chains its hosts serve.  The checks
 * are the library's (certpin_lint()); this file gathers chains and prints.
 */
#include "render.h"
#include "rotation.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void usage_lint(FILE *f)
{
	fputs("usage: certpin lint POLICY [--connect | --chain FILE] [--host NAME]\n"
		"                    [--address ADDR] [--port N] [--cafile FILE] [--at DATE]\n"
		"                    [--format FMT] [--max-expiry-days N] [--soon-days N] [--json]\n"
		"\n"
		"Check a pinning policy (certpin JSON, Android network_security_config.xml or a\n"
		"pin list) for lockout risks.  Errors (exit 1): E001 enforced pinset with fewer\n"
		"than 2 pins, E002 no backup pin absent from the live chain, E003 no pin matches\n"
		"the live chain, E004 pinset expired.  Warnings: W001 pins only on CA\n"
		"certificates, W002 expiry missing or too far, W003 pinned leaf expires before\n"
		"the pinset, W004 wildcard on a public suffix, W005 fail-closed expiry, W006\n"
		"pinset expiring soon, W007 rule not checked live, W008 live host not pinned.\n"
		"\n"
		"      --connect            check live: connect to every host of the policy\n"
		"                           (exact names and include_subdomains bases; or\n"
		"                           --host only)\n"
		"      --chain FILE         check against this PEM chain (leaf first) instead\n"
		"  -H, --host NAME          the host to check live (default: every named host)\n"
		"      --address ADDR       connect to ADDR instead of resolving the host name\n"
		"      --port N             port to connect to (default 443)\n"
		"  -c, --cafile FILE        trust anchors (default: system store); with --chain,\n"
		"                           the chain is PKIX-verified and completed to its root\n"
		"      --at DATE            evaluate at DATE (YYYY-MM-DD or RFC 3339; default\n"
		"                           now)\n"
		"  -f, --format FMT         " CLI_IMPORT_FORMATS " (default auto)\n"
		"      --max-expiry-days N  W002 threshold (default 365)\n"
		"      --soon-days N        W006 threshold (default 30)\n"
		"  -j, --json               print a JSON object instead of text\n", f);
}

typedef struct live_host {
	char *name;
	rot_chain chain;
	int ok;
	char error[600];
} live_host;

static int add_name(live_host **hosts, size_t *n, size_t cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*hosts)[i].name, name) == 0)
			return 0;
	if (*n >= cap)
		return 0;
	(*hosts)[*n].name = malloc(strlen(name) + 1);
	if (!(*hosts)[*n].name)
		return -1;
	strcpy((*hosts)[*n].name, name);
	(*n)++;
	return 0;
}

static void print_text(const char *path, const certpin_policy *p, const certpin_lint_report *r,
	const certpin_lint_options *lo, const live_host *hosts, size_t nhosts)
{
	char msg[1024];
	size_t errors = certpin_lint_errors(r), warnings = certpin_lint_warnings(r);

	for (size_t i = 0; i < nhosts; i++) {
		const live_host *h = &hosts[i];

		if (!h->ok) {
			printf("live: %s: not checked: %s\n", h->name, h->error);
			continue;
		}
		printf("live: %s", h->name);
		if (h->chain.address[0])
			printf(" (%s port %s)", h->chain.address, h->chain.port);
		printf(": %s chain of %zu certificate%s\n", h->chain.verified ? "verified" : "unverified",
			h->chain.n, h->chain.n == 1 ? "" : "s");
		for (size_t k = 0; k < h->chain.n; k++) {
			const certpin_chain_elem *e = &h->chain.elems[k];
			char s[CERTPIN_PIN_STRLEN] = "(unknown)";

			if (e->flags & CERTPIN_HAVE_SPKI) {
				certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

				memcpy(pin.digest, e->spki_sha256, CERTPIN_DIGEST_LEN);
				cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
			}
			printf("  %zu %-12s %s%s%s\n", k, rot_position(k, h->chain.n), s,
				h->chain.subjects[k] ? "  " : "", h->chain.subjects[k] ? h->chain.subjects[k] : "");
		}
	}
	for (size_t i = 0; i < certpin_lint_count(r); i++) {
		const certpin_lint_finding *f = certpin_lint_finding_at(r, i);

		render_lint_message(msg, sizeof(msg), f, lo);
		printf("%s %s %s: %s\n", f->severity == CERTPIN_LINT_ERROR ? "error" : "warning", f->id, f->name, msg);
	}
	printf("%s: %zu rule%s, %zu error%s, %zu warning%s\n", path, certpin_policy_host_count(p),
		certpin_policy_host_count(p) == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
		warnings == 1 ? "" : "s");
}

static int print_json(const char *path, const certpin_policy *p, const certpin_lint_report *r,
	const certpin_lint_options *lo, const live_host *hosts, size_t nhosts, int exit_code)
{
	int64_t at = lo->now;
	char msg[1024];
	json_t *o = json_object(), *live = json_array(), *findings = json_array();
	char t[32];
	int bad = 0;

	if (!o || !live || !findings) {
		json_decref(o);
		json_decref(live);
		json_decref(findings);
		return -1;
	}
	cli_time_rfc3339(t, at);
	bad |= json_object_set_new(o, "policy", json_string(path));
	bad |= json_object_set_new(o, "checked_at", json_string(t));
	bad |= json_object_set_new(o, "rules", json_integer((json_int_t)certpin_policy_host_count(p)));
	bad |= json_object_set_new(o, "errors", json_integer((json_int_t)certpin_lint_errors(r)));
	bad |= json_object_set_new(o, "warnings", json_integer((json_int_t)certpin_lint_warnings(r)));
	for (size_t i = 0; i < nhosts; i++) {
		json_t *h = json_object();

		if (!h || json_array_append_new(live, h) != 0) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(h, "host", json_string(hosts[i].name));
		bad |= json_object_set_new(h, "ok", json_boolean(hosts[i].ok));
		bad |= json_object_set_new(h, "error", cli_json_str(hosts[i].ok ? NULL : hosts[i].error));
		bad |= json_object_set_new(h, "address", cli_json_str(hosts[i].chain.address[0] ? hosts[i].chain.address : NULL));
		bad |= json_object_set_new(h, "verified", json_boolean(hosts[i].chain.verified));
		bad |= json_object_set_new(h, "chain", hosts[i].ok ? rot_chain_json(&hosts[i].chain) : json_array());
	}
	for (size_t i = 0; i < certpin_lint_count(r); i++) {
		const certpin_lint_finding *f = certpin_lint_finding_at(r, i);
		json_t *j = json_object();

		if (!j || json_array_append_new(findings, j) != 0) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(j, "severity", json_string(f->severity == CERTPIN_LINT_ERROR ? "error" : "warning"));
		bad |= json_object_set_new(j, "id", json_string(f->id));
		bad |= json_object_set_new(j, "name", json_string(f->name));
		bad |= json_object_set_new(j, "rule", f->rule >= 0 ? json_integer(f->rule) : json_null());
		bad |= json_object_set_new(j, "pattern", cli_json_str(f->pattern));
		bad |= json_object_set_new(j, "host", cli_json_str(f->hostname));
		bad |= json_object_set_new(j, "pin", f->pin >= 0 ? json_integer(f->pin) : json_null());
		render_lint_message(msg, sizeof(msg), f, lo);
		bad |= json_object_set_new(j, "message", json_string(msg));
	}
	bad |= json_object_set_new(o, "live", live);
	bad |= json_object_set_new(o, "findings", findings);
	bad |= json_object_set_new(o, "exit_code", json_integer(exit_code));
	if (bad) {
		json_decref(o);
		return -1;
	}
	return cli_json_print(o);
}

typedef struct lint_args {
	const char *policy, *format, *host, *chain, *address, *port, *cafile, *at;
	const char *max_days, *soon_days;
	int connect, json;
} lint_args;

/* The option values: 0, or CLI_EXIT_USAGE after a message. */
static int check_args(const lint_args *a, certpin_import_format *fmt, certpin_lint_options *lo, int64_t *at)
{
	unsigned long max_days = lo->max_expiry_days, soon_days = lo->soon_days, port;
	char norm[CERTPIN_HOSTNAME_MAX];

	if (rot_opt_format(fmt, "lint", a->format) || rot_opt_time(at, "lint", a->at) ||
	    rot_opt_uint(&max_days, "lint", "--max-expiry-days", a->max_days, 1, 36500, "") ||
	    rot_opt_uint(&soon_days, "lint", "--soon-days", a->soon_days, 0, 36500, ""))
		return CLI_EXIT_USAGE;
	lo->max_expiry_days = (unsigned int)max_days;
	lo->soon_days = (unsigned int)soon_days;
	if (a->connect && a->chain) {
		cli_error("lint: --connect and --chain exclude each other");
		return CLI_EXIT_USAGE;
	}
	if (!a->connect && !a->chain && (a->address || a->port)) {
		cli_error("lint: --address and --port need --connect");
		return CLI_EXIT_USAGE;
	}
	if (rot_opt_uint(&port, "lint", "--port", a->port, 1, 65535, ""))
		return CLI_EXIT_USAGE;
	if (a->host && certpin_hostname_normalize(norm, sizeof(norm), a->host) != CERTPIN_OK) {
		cli_error("lint: invalid host name '%s'", a->host);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The hosts to check live: --host, else every host the policy names.  0, or -1 out of memory. */
static int live_names(live_host *hosts, size_t *n, size_t cap, const lint_args *a, const certpin_policy *p)
{
	if (a->host)
		return add_name(&hosts, n, cap, a->host);
	for (size_t i = 0; i < certpin_policy_host_count(p); i++) {
		certpin_host_info h;

		if (certpin_policy_host(&h, p, i) == CERTPIN_OK && h.wildcard != 1 && add_name(&hosts, n, cap, h.name) != 0)
			return -1;
	}
	return 0;
}

/* The chain host `h` serves (--connect) or would serve (--chain): 0, CLI_EXIT_TLS or _REFUSED (h->error), else fatal. */
static int live_chain(live_host *h, const lint_args *a, int64_t at)
{
	char target[CERTPIN_HOSTNAME_MAX + 16];
	const char *addr = a->address ? a->address : h->name;

	if (a->chain)
		return rot_chain_from_file(&h->chain, a->chain, a->cafile, 0, h->name, at, h->error, sizeof(h->error));
	snprintf(target, sizeof(target), strchr(addr, ':') ? "[%s]:%s" : "%s:%s", addr, a->port ? a->port : "443");
	return rot_chain_connect(&h->chain, target, h->name, a->cafile, h->error, sizeof(h->error));
}

/*
 * --connect, --chain: the live chains, as lint takes them (*nlive of them;
 * hosts whose chain failed have ok 0).  0, or a fatal exit status.
 */
static int check_live(certpin_lint_chain *live, size_t *nlive, live_host *hosts, size_t nhosts,
	const lint_args *a, int64_t at)
{
	if (nhosts == 0)
		cli_warn("lint: no host name to check live (only one-label wildcard rules); use --host NAME");
	for (size_t i = 0; i < nhosts; i++) {
		live_host *h = &hosts[i];
		int rc = live_chain(h, a, at);

		if (rc == CLI_EXIT_USAGE || rc == CLI_EXIT_INTERNAL) {
			cli_error("lint: %s", h->error);
			return rc;
		}
		h->ok = rc == 0;
		if (!h->ok)
			continue;
		live[*nlive].hostname = h->name;
		live[*nlive].chain = h->chain.elems;
		live[*nlive].n = h->chain.n;
		live[*nlive].leaf_not_after = h->chain.not_after[0];
		live[*nlive].subjects = (const char *const *)h->chain.subjects;
		(*nlive)++;
	}
	return 0;
}

/* Lint, print, and the exit status: errors, else live checks that failed, else 0. */
static int report(const lint_args *a, const certpin_policy *p, certpin_lint_options *lo, const live_host *hosts,
	size_t nhosts)
{
	certpin_lint_report *r = NULL;
	int rc = certpin_lint(&r, p, lo, NULL), status, live_failed = 0;

	if (rc != CERTPIN_OK) {
		cli_error("lint: %s", certpin_strerror(rc));
		return cli_exit_for(rc);
	}
	for (size_t i = 0; i < nhosts; i++)
		live_failed |= !hosts[i].ok;
	status = certpin_lint_errors(r) ? CLI_EXIT_REFUSED : live_failed ? CLI_EXIT_TLS : CLI_EXIT_OK;
	if (!a->json)
		print_text(a->policy, p, r, lo, hosts, nhosts);
	else if (print_json(a->policy, p, r, lo, hosts, nhosts, status) != 0) {
		cli_error("cannot write JSON output");
		status = CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < nhosts; i++)
		if (!hosts[i].ok)
			cli_error("lint: %s: not checked live: %s", hosts[i].name, hosts[i].error);
	certpin_lint_report_free(r);
	return status;
}

static int run_lint(const lint_args *a)
{
	certpin_import_format fmt = CERTPIN_IMPORT_AUTO;
	certpin_lint_options lo = CERTPIN_LINT_OPTIONS_INIT;
	certpin_policy *p = NULL;
	live_host *hosts = NULL;
	certpin_lint_chain *live = NULL;
	size_t nhosts = 0, nlive = 0;
	int64_t at = (int64_t)time(NULL);
	int status;

	if ((status = check_args(a, &fmt, &lo, &at)) != 0)
		return status;
	const cli_policy_opts po = { .import = 1, .format = fmt, .default_host = a->host };
	if ((status = cli_policy_load(&p, a->policy, &po)) != CLI_EXIT_OK)
		return status;
	if (a->connect || a->chain) {
		size_t cap = certpin_policy_host_count(p) + 1;

		hosts = calloc(cap, sizeof(*hosts));
		live = calloc(cap, sizeof(*live));
		if (!hosts || !live || live_names(hosts, &nhosts, cap, a, p) != 0) {
			cli_error("out of memory");
			status = CLI_EXIT_INTERNAL;
			goto out;
		}
		if ((status = check_live(live, &nlive, hosts, nhosts, a, at)) != 0)
			goto out;
	}
	lo.now = at;
	lo.live = live;
	lo.nlive = nlive;
	status = report(a, p, &lo, hosts, nhosts);
out:
	for (size_t i = 0; hosts && i < nhosts; i++) {
		free(hosts[i].name);
		rot_chain_free(&hosts[i].chain);
	}
	free(hosts);
	free(live);
	certpin_policy_free(p);
	return status;
}

int cmd_lint(int argc, char **argv)
{
	lint_args a;
	cli_args args;
	int status;

	memset(&a, 0, sizeof(a));
	const cli_opt opts[] = {
		CLI_FLAG("--connect", 0, &a.connect),
		CLI_VALUE("--chain", 0, &a.chain),
		CLI_VALUE("--host", 'H', &a.host),
		CLI_VALUE("--address", 0, &a.address),
		CLI_VALUE("--port", 0, &a.port),
		CLI_VALUE("--cafile", 'c', &a.cafile),
		CLI_VALUE("--at", 0, &a.at),
		CLI_VALUE("--format", 'f', &a.format),
		CLI_VALUE("--max-expiry-days", 0, &a.max_days),
		CLI_VALUE("--soon-days", 0, &a.soon_days),
		CLI_FLAG("--json", 'j', &a.json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "lint", usage_lint, opts, 1, 1, "exactly one POLICY file", 0 };

	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	a.policy = args.operands[0];
	return run_lint(&a);
}
