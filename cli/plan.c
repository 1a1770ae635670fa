/*
 * certpin plan: would the app versions still in the field connect after a
 * planned certificate, key or CA change?  Builds the planned chain of every
 * host (from chain files, a new key or CSR, or a live server) and prints the
 * library's verdict (certpin_plan_evaluate(), which asks certpin_verify()).
 */
#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void usage_plan(FILE *f)
{
	fputs("usage: certpin plan [NAME=]POLICY... [--host NAME] (--chain FILE | --connect HOST[:PORT])\n"
		"                    [--key FILE | --csr FILE] [--host NAME ...] [--cafile [NAME=]FILE]\n"
		"                    [--at DATE] [--expiry-window DAYS] [--format FMT] [--json]\n"
		"\n"
		"Each POLICY is the pinning policy of one app version still in the field,\n"
		"Android or iOS: certpin JSON, Android network_security_config.xml, a TrustKit\n"
		"Info.plist or Swift/Objective-C configuration, or a file of OkHttp/curl pins,\n"
		"each read as certpin import reads it (e.g. ios-3.2=Info.plist\n"
		"android-5=network_security_config.xml); NAME (default: the file name) names\n"
		"the version in the output.\n"
		"The planned server state follows, per host: -H, --host NAME starts a host\n"
		"(options before the first --host are for the default host), then\n"
		"\n"
		"      --chain FILE          the new chain (PEM, leaf first)\n"
		"      --connect HOST[:PORT] the chain a server serves now (e.g. a staging\n"
		"                            server)\n"
		"  -k, --key FILE            a new leaf key (private or public key, or CSR;\n"
		"      --csr FILE            both the same): the rest of the chain comes from\n"
		"                            --chain/--connect if given (the CA chain stays,\n"
		"                            only the leaf key changes: the current leaf's\n"
		"                            expiry and host are not checked), else it is\n"
		"                            unknown and the verdict at best UNDECIDED\n"
		"\n"
		"Without --host the host is the one host named by the policies (or the\n"
		"--connect host).  For every version and host the matrix says whether it still\n"
		"connects and through which pin; the verdict is \"safe to deploy\" (exit 0) or\n"
		"names the versions that would be locked out and the fix (exit 1; also when\n"
		"the outcome depends on unknown certificates).  Pinsets expiring within the\n"
		"window are flagged.\n"
		"\n"
		"  -c, --cafile FILE         trust anchors (default: the system store): chain\n"
		"                            files are PKIX-verified for the host at --at and\n"
		"                            completed to their root, --connect verifies\n"
		"                            against them.  A chain file must be in order (leaf\n"
		"                            first, each certificate issued by the next), valid\n"
		"                            at --at and for the host, with a leaf that is not\n"
		"                            a CA: else, or if it fails PKIX validation, every\n"
		"                            version is locked out (exit 1).  Without --cafile,\n"
		"                            a chain file whose issuer is not in the system\n"
		"                            store has an unknown root, and the verdict is at\n"
		"                            best UNDECIDED (exit 1)\n"
		"  -c, --cafile NAME=FILE    version NAME's own trust anchors: an Android\n"
		"                            version whose <trust-anchors> leave out the system\n"
		"                            store is at best UNDECIDED without them; with them\n"
		"                            a --chain file is also PKIX-verified against FILE\n"
		"                            (failure: UNSAFE)\n"
		"      --at DATE             deploy time (YYYY-MM-DD or RFC 3339; default now)\n"
		"      --expiry-window N     flag pinsets expiring within N days (default 30)\n"
		"  -f, --format FMT          " CLI_IMPORT_FORMATS " (default auto)\n"
		"  -j, --json                print a JSON object instead of text\n", f);
}


static target *current(plan_args *a)
{
	if (a->ntargets == 0)
		a->ntargets = 1;
	return &a->targets[a->ntargets - 1];
}

/* --host, --chain, --connect, --key, --csr and --cafile, which may repeat: in order. */
static int plan_option(void *payload, const char *name, const char *v)
{
	plan_args *a = payload;
	target *t;

	if (strcmp(name, "--cafile") == 0) {
		if (a->ncafiles == MAX_TARGETS) {
			cli_error("plan: at most %d --cafile options", MAX_TARGETS);
			return CLI_EXIT_USAGE;
		}
		a->cafiles[a->ncafiles++] = v;
		return 0;
	}
	if (strcmp(name, "--host") == 0) {
		if (a->ntargets == MAX_TARGETS) {
			cli_error("plan: at most %d hosts", MAX_TARGETS);
			return CLI_EXIT_USAGE;
		}
		a->targets[a->ntargets++].host = v;
		return 0;
	}
	t = current(a);
	if (strcmp(name, "--chain") == 0 || strcmp(name, "--connect") == 0) {
		if (t->chain_file || t->connect) {
			cli_error("plan: %s: one --chain or --connect per host (start another with --host)",
				t->host ? t->host : "host");
			return CLI_EXIT_USAGE;
		}
		if (strcmp(name, "--chain") == 0)
			t->chain_file = v;
		else
			t->connect = v;
		return 0;
	}
	if (t->key_file) {
		cli_error("plan: %s: one --key or --csr per host", t->host ? t->host : "host");
		return CLI_EXIT_USAGE;
	}
	t->key_file = v;
	t->key_is_csr = strcmp(name, "--csr") == 0;
	return 0;
}

/* A shipped POLICY operand: [NAME=]FILE (a '/' before the '=' makes it a file name). */
static void add_shipped(plan_args *a, char *arg)
{
	shipped *s = &a->pols[a->npols++];
	char *sep = strchr(arg, '=');

	if (sep && sep != arg && sep[1] && !memchr(arg, '/', (size_t)(sep - arg))) {
		*sep = '\0';
		s->name = arg;
		s->path = sep + 1;
		s->named = 1;
	} else {
		const char *slash = strrchr(arg, '/');

		s->path = arg;
		s->name = slash && slash[1] ? slash + 1 : arg;
	}
}

/* The single host name the policies pin (exact names and include_subdomains bases), or NULL. */
static const char *default_host(const plan_args *a, char *buf, size_t len)
{
	const char *found = NULL;

	for (size_t i = 0; i < a->npols; i++) {
		size_t n = certpin_policy_host_count(a->pols[i].policy);

		for (size_t k = 0; k < n; k++) {
			certpin_host_info h;

			if (certpin_policy_host(&h, a->pols[i].policy, k) != CERTPIN_OK || h.wildcard == 1)
				continue;
			if (found && strcmp(found, h.name) != 0)
				return NULL;
			snprintf(buf, len, "%s", h.name);
			found = buf;
		}
	}
	return found;
}

/* Replace the chain's leaf with the new key's SPKI (or start a chain of unknowns). */
static int apply_key(target *t, char *err, size_t errlen)
{
	certpin_item *items = NULL;
	size_t count = 0;
	int rc = certpin_items_from_file(&items, &count, t->key_file);

	if (rc != CERTPIN_OK) {
		snprintf(err, errlen, "%s: %s", t->key_file, certpin_strerror(rc));
		return CLI_EXIT_USAGE;
	}
	if (count != 1 || (t->key_is_csr ? items[0].type != CERTPIN_ITEM_CSR :
			items[0].type != CERTPIN_ITEM_PRIVKEY && items[0].type != CERTPIN_ITEM_PUBKEY)) {
		snprintf(err, errlen, "%s: expected exactly one %s", t->key_file,
			t->key_is_csr ? "CSR" : "private or public key");
		certpin_items_free(items, count);
		return CLI_EXIT_USAGE;
	}
	if (t->chain.n == 0) {
		/* leaf, one intermediate, root: the usual shape; both CA elements unknown */
		if (rot_chain_append_unknown(&t->chain, NULL) != 0 || rot_chain_append_unknown(&t->chain, NULL) != 0 ||
				rot_chain_append_unknown(&t->chain, NULL) != 0) {
			certpin_items_free(items, count);
			snprintf(err, errlen, "out of memory");
			return CLI_EXIT_INTERNAL;
		}
		snprintf(t->key_note, sizeof(t->key_note), "leaf key from %s; the CA part of the chain is unknown "
			"(assumed: one intermediate and a root; give --chain or --connect with the current chain)",
			t->key_file);
		/* even if every pin matches the new key, the new chain is never checked */
		snprintf(t->chain.unverified, sizeof(t->chain.unverified), "new leaf key only: the CA chain is "
			"unknown, so whether clients accept the new certificate is not checked (give --chain with the "
			"current chain, or --connect)");
	} else {
		snprintf(t->key_note, sizeof(t->key_note), "leaf key from %s: assumes the current CA chain stays "
			"and only the leaf key changes (a new certificate is issued for it)", t->key_file);
	}
	memset(&t->chain.elems[0], 0, sizeof(t->chain.elems[0]));
	t->chain.elems[0].flags = CERTPIN_HAVE_SPKI;
	memcpy(t->chain.elems[0].spki_sha256, items[0].spki.digest, CERTPIN_DIGEST_LEN);
	free(t->chain.subjects[0]);
	t->chain.subjects[0] = NULL;
	if (items[0].subject) {
		t->chain.subjects[0] = malloc(strlen(items[0].subject) + 1);
		if (t->chain.subjects[0])
			strcpy(t->chain.subjects[0], items[0].subject);
	}
	t->chain.not_after[0] = 0;
	t->chain.verified = 0;
	certpin_items_free(items, count);
	return 0;
}

/*
 * Versions that trust only their own anchors for `t` (Android
 * <trust-anchors> without "system"): with --cafile NAME=FILE, the chain
 * file is PKIX-verified against FILE too (a failure locks that version out:
 * CLI_EXIT_REFUSED after the message); else the version is noted and the
 * verdict is at best UNDECIDED.  0 or an exit code.
 */
static int check_own_anchors(plan_args *a, const target *t, int64_t at)
{
	char err[600];
	size_t len = strlen(a->anchor_msgs);

	for (size_t i = 0; i < a->npols; i++) {
		const shipped *s = &a->pols[i];
		const char *anchors = certpin_import_anchors_for(s->anchors, s->policy, t->norm);
		rot_chain tmp;
		int rc;

		if (!anchors)
			continue;
		if (s->cafile && t->chain_file) {
			rc = rot_chain_from_file(&tmp, t->chain_file, s->cafile,
				t->key_file ? ROT_LEAF_REPLACED : 0, t->norm, at, err, sizeof(err));
			rot_chain_free(&tmp);
			if (rc == CLI_EXIT_REFUSED) {
				cli_error("plan: version %s trusts only its own anchors (%s): %s (it would refuse it): UNSAFE",
					s->name, anchors, err);
				return rc;
			}
			if (rc != 0) {
				cli_error("plan: %s", err);
				return rc;
			}
			continue;
		}
		a->anchors_unchecked = 1;
		len += (size_t)snprintf(a->anchor_msgs + len, len < sizeof(a->anchor_msgs) ? sizeof(a->anchor_msgs) - len : 0,
			"%s: version %s trusts only its own anchors (%s), not %s: %s\n", t->norm, s->name, anchors,
			a->cafile ? "--cafile" : "the system store", t->chain_file ?
			"give them with --cafile NAME=FILE" : "give --chain with the planned chain and --cafile NAME=FILE");
		if (len >= sizeof(a->anchor_msgs))
			len = sizeof(a->anchor_msgs) - 1;
	}
	return 0;
}

/* The option values and the planned state of every host: 0, or CLI_EXIT_USAGE after a message. */
static int check_args(plan_args *a, certpin_import_format *fmt, certpin_plan_options *po, int64_t *at)
{
	unsigned long window = po->expiry_window_days;

	if (a->npols == 0) {
		cli_error("plan: give at least one shipped POLICY (see certpin help plan)");
		return CLI_EXIT_USAGE;
	}
	if (a->ntargets == 0) {
		cli_error("plan: give the planned server state: --chain FILE, --connect HOST or --key FILE");
		return CLI_EXIT_USAGE;
	}
	if (rot_opt_format(fmt, "plan", a->format) || rot_opt_time(at, "plan", a->at) ||
	    rot_opt_uint(&window, "plan", "--expiry-window", a->window, 0, 36500, " days"))
		return CLI_EXIT_USAGE;
	po->expiry_window_days = (unsigned int)window;
	for (size_t i = 0; i < a->ntargets; i++) {
		const target *t = &a->targets[i];

		if (!t->chain_file && !t->connect && !t->key_file) {
			cli_error("plan: %s: no planned state (--chain, --connect or --key/--csr)", t->host ? t->host : "host");
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* --cafile NAME=FILE gives version NAME's own anchors; else the one --cafile for all.  0 or CLI_EXIT_USAGE. */
static int assign_cafiles(plan_args *a)
{
	for (size_t k = 0; k < a->ncafiles; k++) {
		const char *val = a->cafiles[k], *eq = strchr(val, '=');
		shipped *s = NULL;

		for (size_t i = 0; eq && !s && i < a->npols; i++)
			if (strlen(a->pols[i].name) == (size_t)(eq - val) &&
					strncmp(a->pols[i].name, val, (size_t)(eq - val)) == 0)
				s = &a->pols[i];
		if (s && (s->cafile || !eq[1])) {
			cli_error("plan: --cafile %s: %s", val, s->cafile ? "one --cafile per version" : "no FILE");
			return CLI_EXIT_USAGE;
		}
		if (s) {
			s->cafile = eq + 1;
		} else if (a->cafile) {
			cli_error("plan: one --cafile FILE for all versions (give a version's own with --cafile NAME=FILE)");
			return CLI_EXIT_USAGE;
		} else {
			a->cafile = val;
		}
	}
	return 0;
}

/*
 * Host i's name: --host, else the one host the policies name (kept in
 * `defbuf`), else the --connect host; normalized, not given twice.  0 or
 * CLI_EXIT_USAGE.
 */
static int target_host(plan_args *a, size_t i, char defbuf[CERTPIN_HOSTNAME_MAX])
{
	target *t = &a->targets[i];
	cli_target ct;

	if (!t->host)
		t->host = default_host(a, defbuf, CERTPIN_HOSTNAME_MAX);
	if (!t->host && t->connect) {
		if (cli_parse_target(&ct, t->connect) != 0)
			return CLI_EXIT_USAGE;
		snprintf(t->hostbuf, sizeof(t->hostbuf), "%s", ct.host);
		t->host = t->hostbuf;
	}
	if (!t->host) {
		cli_error("plan: the policies name no single host: say which with --host NAME");
		return CLI_EXIT_USAGE;
	}
	if (certpin_hostname_normalize(t->norm, sizeof(t->norm), t->host) != CERTPIN_OK) {
		cli_error("plan: invalid host name '%s'", t->host);
		return CLI_EXIT_USAGE;
	}
	for (size_t k = 0; k < i; k++) {
		if (strcmp(a->targets[k].norm, t->norm) == 0) {
			cli_error("plan: host %s given twice", t->norm);
			return CLI_EXIT_USAGE;
		}
	}
	return 0;
}

/* The planned chain of `t`: from --chain, --connect and --key/--csr.  0 or an exit status after a message. */
static int target_chain(const plan_args *a, target *t, int64_t at)
{
	char err[600];
	int rc = 0;

	if (t->chain_file) {
		rc = rot_chain_from_file(&t->chain, t->chain_file, a->cafile,
			ROT_SYSTEM_STORE | (t->key_file ? ROT_LEAF_REPLACED : 0), t->norm, at, err, sizeof(err));
		if (rc == CLI_EXIT_REFUSED) {
			/* a chain no client would accept: every version is locked out, pins or not */
			cli_error("plan: %s (every client would refuse it): UNSAFE", err);
			return CLI_EXIT_REFUSED;
		}
		if (rc == 0)
			snprintf(t->source, sizeof(t->source), "chain from %s (%s)", t->chain_file,
				t->chain.verified ? (a->cafile ? "PKIX-verified with --cafile" :
				"PKIX-verified with the system trust store") : t->chain.unverified);
	} else if (t->connect) {
		rc = rot_chain_connect(&t->chain, t->connect, t->norm, a->cafile, err, sizeof(err));
		if (rc == 0) {
			/* through a local buffer: gcc's -Wrestrict cannot tell t->chain from t->source */
			char src[sizeof(t->source)];
			snprintf(src, sizeof(src), "verified chain served by %s (%s port %s)", t->connect,
				t->chain.address, t->chain.port);
			memcpy(t->source, src, sizeof(src));
		}
	} else {
		snprintf(t->source, sizeof(t->source), "new leaf key only");
	}
	if (rc == 0 && t->key_file)
		rc = apply_key(t, err, sizeof(err));
	if (rc != 0)
		cli_error("plan: %s", err);
	return rc;
}

/* Evaluate the plan and print it; the exit status. */
static int evaluate(plan_args *a, const certpin_plan_host *hosts, certpin_plan_options *po)
{
	const certpin_policy **pols = calloc(a->npols, sizeof(*pols));
	const char **names = calloc(a->npols, sizeof(*names));
	certpin_plan *plan = NULL;
	int rc, status;

	if (!pols || !names) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < a->npols; i++) {
		pols[i] = a->pols[i].policy;
		names[i] = a->pols[i].name;
	}
	a->policies = pols;
	rc = certpin_plan_evaluate(&plan, pols, names, a->npols, hosts, a->ntargets, po, NULL);
	if (rc != CERTPIN_OK) {
		cli_error("plan: %s", certpin_strerror(rc));
		status = cli_exit_for(rc);
		goto out;
	}
	/*
	 * Pins alone cannot make a chain that was not PKIX-verified safe, nor
	 * an unknown one (a new key only), even if every pin matches the key.
	 */
	if (certpin_plan_get_verdict(plan) == CERTPIN_PLAN_SAFE && (plan_unverified_count(a) > 0 || a->anchors_unchecked))
		a->undecided = 1;
	status = certpin_plan_get_verdict(plan) == CERTPIN_PLAN_SAFE && !a->undecided ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
	if (!a->json)
		plan_print_text(a, plan, po->at);
	else if (plan_print_json(a, plan, po->at, status) != 0) {
		cli_error("cannot write JSON output");
		status = CLI_EXIT_INTERNAL;
	}
out:
	certpin_plan_free(plan);
	free(pols);
	free(names);
	return status;
}

static int run_plan(plan_args *a)
{
	certpin_import_format fmt = CERTPIN_IMPORT_AUTO;
	certpin_plan_options po = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan_host hosts[MAX_TARGETS];
	char defbuf[CERTPIN_HOSTNAME_MAX];
	const char *first_host = NULL;
	int64_t at = (int64_t)time(NULL);
	int status;

	if ((status = check_args(a, &fmt, &po, &at)) != 0 || (status = assign_cafiles(a)) != 0)
		return status;
	for (size_t i = 0; i < a->ntargets && !first_host; i++)
		first_host = a->targets[i].host;
	for (size_t i = 0; i < a->npols; i++) {
		const cli_policy_opts lo = { .import = 1, .format = fmt, .default_host = first_host,
			.anchors = &a->pols[i].anchors };
		if ((status = cli_policy_load(&a->pols[i].policy, a->pols[i].path, &lo)) != CLI_EXIT_OK)
			return status;
	}
	for (size_t i = 0; i < a->ntargets; i++) {
		target *t = &a->targets[i];

		if ((status = target_host(a, i, defbuf)) != 0 || (status = target_chain(a, t, at)) != 0 ||
		    (status = check_own_anchors(a, t, at)) != 0)
			return status;
		hosts[i].hostname = t->norm;
		hosts[i].chain = t->chain.elems;
		hosts[i].n = t->chain.n;
	}
	po.at = at;
	return evaluate(a, hosts, &po);
}

int cmd_plan(int argc, char **argv)
{
	plan_args *a = calloc(1, sizeof(*a));
	cli_args args;
	int status;

	if (!a) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	const cli_opt opts[] = {
		CLI_EACH("--host", 'H', plan_option, a),
		CLI_EACH("--chain", 0, plan_option, a),
		CLI_EACH("--connect", 0, plan_option, a),
		CLI_EACH("--key", 'k', plan_option, a),
		CLI_EACH("--csr", 0, plan_option, a),
		CLI_EACH("--cafile", 'c', plan_option, a),
		CLI_VALUE("--at", 0, &a->at),
		CLI_VALUE("--expiry-window", 0, &a->window),
		CLI_VALUE("--format", 'f', &a->format),
		CLI_FLAG("--json", 'j', &a->json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "plan", usage_plan, opts, 0, CLI_ANY, NULL, 0 };

	status = cli_start(&args, &spec, argc, argv);
	if (status == CLI_RUN && !(a->pols = calloc(args.n + 1, sizeof(*a->pols)))) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
	}
	if (status == CLI_RUN) {
		for (size_t i = 0; i < args.n; i++)
			add_shipped(a, args.operands[i]);
		status = run_plan(a);
	}
	for (size_t i = 0; i < a->npols; i++) {
		certpin_policy_free(a->pols[i].policy);
		certpin_import_anchors_free(a->pols[i].anchors);
	}
	for (size_t i = 0; i < a->ntargets; i++)
		rot_chain_free(&a->targets[i].chain);
	free(a->pols);
	free(a);
	return status;
}
