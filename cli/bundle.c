/*
 * certpin bundle: signed policy bundles.
 *
 *   keygen --out DIR          Ed25519 signing key pair
 *   sign POLICY ...           policy -> signed bundle
 *   verify BUNDLE ...         signature, expiry, policy, optionally anti-rollback
 *   apply BUNDLE ...          verify and store in a state directory
 *   fetch URL ...             pinned HTTPS download, then verify and store
 *   show BUNDLE               the fields, NOT verified
 *
 * Every check is the library's (certpin/bundle.h); this file only reads
 * files, maps codes to exit statuses and prints.
 */
#include "common.h"
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_FILE "signing.key"
#define PUB_FILE "signing.pub"

void usage_bundle(FILE *f)
{
	fputs("usage: certpin bundle keygen --out DIR [--force]\n"
		"       certpin bundle sign POLICY --key KEY --version N --expires DATE\n"
		"                           [--issued DATE] [--out FILE]\n"
		"       certpin bundle verify BUNDLE --pubkey FILE [--print-policy] [--json]\n"
		"       certpin bundle apply BUNDLE --pubkey FILE --state DIR [--json]\n"
		"       certpin bundle fetch URL --policy FILE --pubkey FILE [--state DIR]\n"
		"                           [--cafile FILE] [--connect-to ADDR] [--out FILE] [--json]\n"
		"       certpin bundle show BUNDLE [--json]\n"
		"\n"
		"Signed pinning-policy bundles (Ed25519).  A client accepts a bundle only if it\n"
		"is well formed, signed by a trusted key, not expired, its policy loads, and\n"
		"(with a state directory) its version is newer than the stored one.\n"
		"\n"
		"  keygen                   write DIR/signing.key (mode 0600) and\n"
		"                           DIR/signing.pub\n"
		"  sign                     sign the exact bytes of POLICY (certpin-policy(5))\n"
		"  verify                   check signature, expiry and policy (not the version)\n"
		"  apply                    verify and store atomically in DIR\n"
		"                           (DIR/current.bundle)\n"
		"  fetch                    download over HTTPS pinned by the policy FILE in\n"
		"                           force (the URL host must have a rule), verify, and\n"
		"                           with --state store it\n"
		"  show                     print the fields of a bundle WITHOUT verifying it\n"
		"\n"
		"  -k, --key KEY            Ed25519 private key (PEM or DER)\n"
		"      --pubkey FILE        trusted public key(s): PEM with one or more PUBLIC\n"
		"                           KEY blocks (several keys allow key rotation), or\n"
		"                           one DER key\n"
		"      --version N          bundle version, 1 .. 9223372036854775807\n"
		"      --issued, --expires  YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (issued: now)\n"
		"      --print-policy       print the embedded policy after verification\n"
		"  -p, --policy FILE        fetch: the policy in force\n"
		"  -c, --cafile FILE        fetch: trust anchors (default: system store)\n"
		"  -o, --out FILE           write the bundle to FILE instead of stdout\n"
		"  -o, --out DIR, --state DIR\n"
		"                           created (mode 0700) if missing; a path that exists\n"
		"                           and is not a directory is refused\n"
		"  -j, --json               print JSON\n"
		"  BUNDLE, POLICY           a file name, or - for standard input\n"
		"\n"
		"exit status: 0 accepted, 1 refused (signature, untrusted key, expired,\n"
		"rollback, pin mismatch), 2 connection or TLS failure, 3 bad input\n"
		"(malformed bundle, invalid policy, corrupt state, unreadable file, bad\n"
		"URL or unpinned fetch host), 4 internal error or state directory locked.\n", f);
}

/* Read a whole file, or standard input for "-".  0, or an exit code after a message. */
static int read_input(char **out, size_t *len, const char *path, size_t max)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t used = 0, cap = 0;
	int read_errno = 0;

	*out = NULL;
	*len = 0;
	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	for (;;) {
		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb;
			if (cap > max + 1) {
				cli_error("%s: larger than %zu bytes", path, max);
				free(buf);
				if (f != stdin)
					fclose(f);
				return CLI_EXIT_USAGE;
			}
			if (!(nb = realloc(buf, ncap))) {
				cli_error("out of memory");
				free(buf);
				if (f != stdin)
					fclose(f);
				return CLI_EXIT_INTERNAL;
			}
			buf = nb;
			cap = ncap;
		}
		errno = 0;
		size_t r = fread(buf + used, 1, cap - used - 1, f);
		used += r;
		if (r == 0) {
			read_errno = errno;     /* EISDIR for a directory */
			break;
		}
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		cli_error("%s: %s", path, read_errno ? strerror(read_errno) : "read error");
		free(buf);
		return CLI_EXIT_USAGE;
	}
	if (used > max) {
		cli_error("%s: larger than %zu bytes", path, max);
		free(buf);
		return CLI_EXIT_USAGE;
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

/* Write `data` to `path` (or stdout when NULL).  0 or an exit code. */
static int write_output(const char *path, const char *data, size_t len)
{
	FILE *f = path ? fopen(path, "wb") : stdout;

	if (!f) {
		cli_error("%s: %s", path ? path : "(stdout)", strerror(errno));
		return CLI_EXIT_USAGE;
	}
	int bad = fwrite(data, 1, len, f) != len;
	bad |= path ? fclose(f) != 0 : fflush(f) != 0;
	if (bad) {
		cli_error("%s: write error", path ? path : "standard output");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* Exit status for a bundle decision. */
static int exit_for(int rc)
{
	switch (rc) {
	case CERTPIN_OK:
		return CLI_EXIT_OK;
	case CERTPIN_E_SIGNATURE:
	case CERTPIN_E_UNTRUSTED_KEY:
	case CERTPIN_E_ROLLBACK:
	case CERTPIN_E_EXPIRED_BUNDLE:
	case CERTPIN_E_PIN_MISMATCH:
	case CERTPIN_E_PINSET_EXPIRED:
		return CLI_EXIT_REFUSED;
	case CERTPIN_E_TLS:
	case CERTPIN_E_PKIX:
	case CERTPIN_E_CHAIN:
		return CLI_EXIT_TLS;
	case CERTPIN_E_NOMEM:
	case CERTPIN_E_LOCKED:
	case CERTPIN_E_INVALID_ARG:
	case CERTPIN_E_STATE:
		return CLI_EXIT_INTERNAL;
	default:
		return CLI_EXIT_USAGE;
	}
}

static int parse_date(int64_t *out, const char *opt, const char *s)
{
	if (certpin_time_parse(out, s) != CERTPIN_OK) {
		cli_error("bundle: %s: invalid date '%s' (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", opt, s);
		return -1;
	}
	return 0;
}

static int parse_version(uint64_t *out, const char *s)
{
	uint64_t v = 0;

	if (!s[0] || strlen(s) > 19 || s[0] == '0')
		goto bad;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < 1 || v > (uint64_t)INT64_MAX)
		goto bad;
	*out = v;
	return 0;
bad:
	cli_error("bundle: --version: expected an integer from 1 to 9223372036854775807, got '%s'", s);
	return -1;
}

static int load_anchors(certpin_trust_anchors **out, const char *path)
{
	int rc;

	*out = NULL;
	if ((rc = certpin_trust_anchors_new(out)) != CERTPIN_OK) {
		cli_error("%s", certpin_strerror(rc));
		return CLI_EXIT_INTERNAL;
	}
	certpin_error err;
	rc = certpin_trust_anchors_add_file(*out, path, &err);
	if (rc != CERTPIN_OK) {
		cli_error("cannot load trusted keys: %s%s", err.message,
			rc == CERTPIN_E_UNSUPPORTED ? " (bundle keys are Ed25519)" : "");
		certpin_trust_anchors_free(*out);
		*out = NULL;
		return rc == CERTPIN_E_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
	}
	return 0;
}

/* ---- output ---------------------------------------------------------------- */

typedef struct report {
	const char *action;             /* "verify", "apply", "show", "fetch" */
	const char *source;
	int rc;
	const certpin_bundle_info *info;
	certpin_error err;              /* why rc is not CERTPIN_OK */
	const certpin_policy *policy;   /* accepted policy, if any */
	int with_state;
	int stored;                     /* 1 if written to the state directory */
	const char *state;
} report;

/* Why the bundle was refused: the library's detail, or the code's meaning. */
static const char *detail(const report *r)
{
	if (r->rc == CERTPIN_OK)
		return NULL;
	return r->err.message[0] ? r->err.message : certpin_strerror(r->rc);
}

static void print_fields(const certpin_bundle_info *info)
{
	char t[32], kid[CERTPIN_PIN_STRLEN], hex[65];

	printf("version: %llu\n", (unsigned long long)info->bundle_version);
	cli_time_rfc3339(t, info->issued);
	printf("issued: %s\n", t);
	cli_time_rfc3339(t, info->expires);
	printf("expires: %s\n", t);
	cli_pin_string(kid, &info->key_id, CERTPIN_STYLE_DEFAULT);
	printf("key_id: %s\n", kid);
	cli_hex(hex, info->policy_sha256, sizeof(info->policy_sha256));
	printf("policy: %zu bytes, sha256 %s\n", info->policy_len, hex);
}

static int print_text(const report *r)
{
	const certpin_bundle_info *info = r->info;

	if (strcmp(r->action, "show") == 0) {
		printf("bundle: %s (NOT verified: signature, expiry and policy unchecked)\n", r->source);
		print_fields(info);
		return 0;
	}
	printf("bundle: %s: %s\n", r->source, r->rc == CERTPIN_OK ? (r->stored ? "accepted and stored" : "accepted")
		: "refused");
	if (info->parsed)
		print_fields(info);
	if (r->policy)
		printf("hosts: %zu\n", certpin_policy_host_count(r->policy));
	if (r->with_state && (r->stored || r->rc == CERTPIN_E_ROLLBACK)) {
		if (info->have_stored)
			printf("%s version: %llu\n", r->stored ? "previous" : "stored",
				(unsigned long long)info->stored_version);
		else
			printf("previous version: none\n");
	}
	if (r->stored)
		printf("stored in: %s/%s\n", r->state, CERTPIN_BUNDLE_STATE_FILE);
	if (r->rc != CERTPIN_OK)
		printf("error: %s: %s\n", certpin_error_name(r->rc), detail(r));
	return 0;
}

static int print_json(const report *r)
{
	const certpin_bundle_info *info = r->info;
	json_t *o = json_object();
	char t[32], kid[CERTPIN_PIN_STRLEN], hex[65];
	int bad = 0;

	if (!o)
		return -1;
	bad |= json_object_set_new(o, "source", json_string(r->source));
	if (strcmp(r->action, "show") == 0) {
		bad |= json_object_set_new(o, "verified", json_false());
	} else {
		bad |= json_object_set_new(o, "accepted", json_boolean(r->rc == CERTPIN_OK));
		bad |= json_object_set_new(o, "stored", json_boolean(r->stored));
		bad |= json_object_set_new(o, "result", json_string(certpin_error_name(r->rc)));
		bad |= json_object_set_new(o, "detail", cli_json_str(detail(r)));
	}
	if (info->parsed) {
		bad |= json_object_set_new(o, "version", json_integer((json_int_t)info->bundle_version));
		cli_time_rfc3339(t, info->issued);
		bad |= json_object_set_new(o, "issued", json_string(t));
		cli_time_rfc3339(t, info->expires);
		bad |= json_object_set_new(o, "expires", json_string(t));
		cli_pin_string(kid, &info->key_id, CERTPIN_STYLE_DEFAULT);
		bad |= json_object_set_new(o, "key_id", json_string(kid));
		bad |= json_object_set_new(o, "policy_length", json_integer((json_int_t)info->policy_len));
		cli_hex(hex, info->policy_sha256, sizeof(info->policy_sha256));
		bad |= json_object_set_new(o, "policy_sha256", json_string(hex));
	}
	if (r->policy)
		bad |= json_object_set_new(o, "hosts", json_integer((json_int_t)certpin_policy_host_count(r->policy)));
	if (r->with_state)
		bad |= json_object_set_new(o, "previous_version", info->have_stored
			? json_integer((json_int_t)info->stored_version) : json_null());
	if (bad) {
		json_decref(o);
		return -1;
	}
	return cli_json_print(o);
}

/* Print the outcome; returns the exit status. */
static int finish(const report *r, int json)
{
	int status = exit_for(r->rc);

	if ((json ? print_json(r) : print_text(r)) != 0) {
		cli_error("cannot write output");
		return CLI_EXIT_INTERNAL;
	}
	fflush(stdout);
	if (r->rc != CERTPIN_OK)
		cli_error("%s: %s: %s", r->source, status == CLI_EXIT_REFUSED ? "bundle refused" : "bundle rejected",
			detail(r));
	return status;
}

/* ---- subcommands -------------------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int write_new_file(const char *path, const char *data, mode_t mode, int force)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL), mode);
	size_t len = strlen(data);

	if (fd < 0) {
		cli_error("%s: %s%s", path, strerror(errno), errno == EEXIST ? " (use --force to replace it)" : "");
		return CLI_EXIT_USAGE;
	}
	if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		cli_error("%s: write error: %s", path, strerror(errno));
		close(fd);
		return CLI_EXIT_USAGE;
	}
	if (close(fd) != 0) {
		cli_error("%s: write error: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int do_keygen(const char *dir, int force)
{
	char *priv = NULL, *pub = NULL, *kp = NULL, *pp = NULL;
	certpin_item *items = NULL;
	size_t count = 0;
	char kid[CERTPIN_PIN_STRLEN];
	int rc, status = CLI_EXIT_INTERNAL;

	if ((status = cli_ensure_dir("bundle keygen", dir)) != 0)
		return status;
	status = CLI_EXIT_INTERNAL;
	if ((rc = certpin_bundle_keygen(&priv, &pub)) != CERTPIN_OK) {
		cli_error("bundle keygen: %s", certpin_strerror(rc));
		return CLI_EXIT_INTERNAL;
	}
	if (!(kp = join(dir, KEY_FILE)) || !(pp = join(dir, PUB_FILE))) {
		cli_error("out of memory");
		goto out;
	}
	if (certpin_items_from_data(&items, &count, pub, strlen(pub)) != CERTPIN_OK || count != 1) {
		cli_error("bundle keygen: cannot read back the public key");
		goto out;
	}
	cli_pin_string(kid, &items[0].spki, CERTPIN_STYLE_DEFAULT);
	if ((status = write_new_file(kp, priv, 0600, force)) != 0)
		goto out;
	if ((status = write_new_file(pp, pub, 0644, force)) != 0) {
		unlink(kp);
		goto out;
	}
	printf("private key: %s (keep it offline)\npublic key: %s\nkey_id: %s\n", kp, pp, kid);
	status = CLI_EXIT_OK;
out:
	certpin_items_free(items, count);
	if (priv)
		memset(priv, 0, strlen(priv));
	free(priv);
	free(pub);
	free(kp);
	free(pp);
	return status;
}

static int do_sign(const char *policy_path, const char *key_path, const char *version, const char *issued,
	const char *expires, const char *out)
{
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	certpin_policy *check = NULL;
	char *policy = NULL, *key = NULL, *bundle = NULL;
	size_t plen, klen, blen;
	int rc, status;

	if (parse_version(&o.bundle_version, version) != 0 || parse_date(&o.expires, "--expires", expires) != 0 ||
	    (issued && parse_date(&o.issued, "--issued", issued) != 0))
		return CLI_EXIT_USAGE;
	if (!issued)
		o.issued = (int64_t)time(NULL);
	if (o.expires <= o.issued) {
		cli_error("bundle sign: --expires must be later than the issue time");
		return CLI_EXIT_USAGE;
	}
	if ((status = read_input(&policy, &plen, policy_path, CERTPIN_BUNDLE_POLICY_MAX)) != 0)
		return status;
	if ((status = read_input(&key, &klen, key_path, 1u << 20)) != 0)
		goto out;
	/* the library refuses invalid policies too; load it here for a detailed message */
	const cli_policy_opts po = { .data = policy, .len = plen };
	if ((status = cli_policy_load(&check, policy_path, &po)) != CLI_EXIT_OK)
		goto out;
	certpin_error err;
	rc = certpin_bundle_sign(&bundle, &blen, policy, plen, key, klen, &o, &err);
	if (rc != CERTPIN_OK) {
		if (rc == CERTPIN_E_DECODE || rc == CERTPIN_E_UNSUPPORTED)
			cli_error("%s: %s", key_path, err.message);
		else
			cli_error("bundle sign: %s", err.message);
		status = rc == CERTPIN_E_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
		goto out;
	}
	if (o.expires <= (int64_t)time(NULL))
		cli_warn("the bundle's expiry date has already passed; clients will refuse it");
	status = write_output(out, bundle, blen);
out:
	certpin_policy_free(check);
	if (key)
		memset(key, 0, klen);
	free(key);
	free(policy);
	free(bundle);
	return status;
}

static int do_verify(const char *action, const char *path, const char *pubkey, const char *state,
	int print_policy, int json)
{
	certpin_trust_anchors *anchors = NULL;
	certpin_bundle_info info;
	certpin_policy *policy = NULL;
	char *data = NULL;
	size_t len;
	report r;
	int status;
	int64_t now = (int64_t)time(NULL);

	memset(&r, 0, sizeof(r));
	memset(&info, 0, sizeof(info));
	r.action = action;
	r.source = path;
	r.info = &info;
	r.with_state = state != NULL;
	r.state = state;
	if ((status = read_input(&data, &len, path, CERTPIN_BUNDLE_MAX + 1)) != 0)
		return status;
	if (strcmp(action, "show") == 0) {
		r.rc = certpin_bundle_parse_unverified(&info, NULL, NULL, data, len, &r.err);
		if (r.rc != CERTPIN_OK) {
			cli_error("%s: %s", path, detail(&r));
			free(data);
			return exit_for(r.rc);
		}
		status = finish(&r, json);
		free(data);
		return status;
	}
	if ((status = load_anchors(&anchors, pubkey)) != 0)
		goto out;
	if (state && (status = cli_ensure_dir("bundle apply", state)) != 0)
		goto out;
	if (strcmp(action, "apply") == 0) {
		r.rc = certpin_policy_update_from_bundle(&policy, &info, anchors, state, data, len, now, &r.err);
		r.stored = r.rc == CERTPIN_OK;
	} else {
		r.rc = certpin_bundle_verify(&info, &policy, anchors, data, len, now, &r.err);
	}
	r.policy = policy;
	if (r.rc == CERTPIN_OK && print_policy) {
		char *pj = NULL;
		size_t pl = 0;
		if (certpin_bundle_parse_unverified(NULL, &pj, &pl, data, len, NULL) != CERTPIN_OK ||
		    write_output(NULL, pj, pl) != 0) {
			free(pj);
			cli_error("cannot write the policy");
			status = CLI_EXIT_INTERNAL;
			goto out;
		}
		free(pj);
		status = CLI_EXIT_OK;
		goto out;
	}
	status = finish(&r, json);
out:
	certpin_policy_free(policy);
	certpin_trust_anchors_free(anchors);
	free(data);
	return status;
}

static int do_fetch(const char *url, const char *policy_path, const char *pubkey, const char *state,
	const char *cafile, const char *connect_to, const char *out, int json)
{
	certpin_fetch_options fo = CERTPIN_FETCH_OPTIONS_INIT;
	certpin_fetch_result fr;
	certpin_error ferr;
	certpin_trust_anchors *anchors = NULL;
	certpin_policy *current = NULL, *next = NULL;
	certpin_bundle_info info;
	char *body = NULL;
	size_t len = 0;
	report r;
	int rc, status;

	memset(&r, 0, sizeof(r));
	memset(&info, 0, sizeof(info));
	if ((status = load_anchors(&anchors, pubkey)) != 0)
		return status;
	if ((status = cli_policy_load(&current, policy_path, NULL)) != CLI_EXIT_OK)
		goto out;
	if (state && (status = cli_ensure_dir("bundle fetch", state)) != 0)
		goto out;
	fo.cafile = cafile;
	fo.connect_host = connect_to;
	rc = certpin_bundle_fetch(&body, &len, &fr, url, current, &fo, &ferr);
	if (rc != CERTPIN_OK) {
		cli_error("fetch %s: %s", url, ferr.message[0] ? ferr.message : certpin_strerror(rc));
		if (rc == CERTPIN_E_INVALID_ARG)
			status = CLI_EXIT_USAGE;        /* a bad URL: bad arguments */
		else if (rc == CERTPIN_E_IO || rc == CERTPIN_E_TLS || rc == CERTPIN_E_PKIX)
			status = CLI_EXIT_TLS;
		else
			status = exit_for(rc);
		goto out;
	}
	r.action = "fetch";
	r.source = url;
	r.info = &info;
	r.with_state = state != NULL;
	r.state = state;
	if (state) {
		r.rc = certpin_policy_update_from_bundle(&next, &info, anchors, state, body, len, (int64_t)time(NULL),
			&r.err);
		r.stored = r.rc == CERTPIN_OK;
	} else {
		r.rc = certpin_bundle_verify(&info, &next, anchors, body, len, (int64_t)time(NULL), &r.err);
	}
	r.policy = next;
	if (r.rc == CERTPIN_OK && out && (status = write_output(out, body, len)) != 0)
		goto out;
	status = finish(&r, json);
out:
	certpin_policy_free(current);
	certpin_policy_free(next);
	certpin_trust_anchors_free(anchors);
	free(body);
	return status;
}

int cmd_bundle(int argc, char **argv)
{
	const char *out = NULL, *key = NULL, *version = NULL, *issued = NULL, *expires = NULL, *pubkey = NULL;
	const char *state = NULL, *policy = NULL, *cafile = NULL, *connect_to = NULL;
	int force = 0, print_policy = 0, json = 0, status;
	cli_args args;
	const cli_opt opts[] = {
		CLI_VALUE("--out", 'o', &out),
		CLI_VALUE("--key", 'k', &key),
		CLI_VALUE("--version", 0, &version),
		CLI_VALUE("--issued", 0, &issued),
		CLI_VALUE("--expires", 0, &expires),
		CLI_VALUE("--pubkey", 0, &pubkey),
		CLI_VALUE("--state", 0, &state),
		CLI_VALUE("--policy", 'p', &policy),
		CLI_VALUE("--cafile", 'c', &cafile),
		CLI_VALUE("--connect-to", 0, &connect_to),
		CLI_FLAG("--force", 0, &force),
		CLI_FLAG("--print-policy", 0, &print_policy),
		CLI_FLAG("--json", 'j', &json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "bundle", usage_bundle, opts, 1, CLI_ANY, "keygen, sign, verify, apply, fetch or show", 1 };

	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	char **ops = args.operands;
	size_t n = args.n;
	status = CLI_EXIT_USAGE;
	const char *sub = ops[0];
	if (strcmp(sub, "keygen") == 0) {
		if (n != 1 || !out)
			cli_error("bundle keygen: usage: certpin bundle keygen --out DIR [--force]");
		else
			status = do_keygen(out, force);
	} else if (strcmp(sub, "sign") == 0) {
		if (n != 2)
			cli_error("bundle sign: expected exactly one POLICY file");
		else if (!key || !version || !expires)
			cli_error("bundle sign: --key, --version and --expires are required");
		else
			status = do_sign(ops[1], key, version, issued, expires, out);
	} else if (strcmp(sub, "verify") == 0 || strcmp(sub, "apply") == 0) {
		if (n != 2)
			cli_error("bundle %s: expected exactly one BUNDLE file", sub);
		else if (!pubkey)
			cli_error("bundle %s: --pubkey FILE is required", sub);
		else if (strcmp(sub, "apply") == 0 && !state)
			cli_error("bundle apply: --state DIR is required");
		else if (strcmp(sub, "apply") == 0 && print_policy)
			cli_error("bundle apply: --print-policy is for verify only");
		else if (strcmp(sub, "verify") == 0 && state)
			cli_error("bundle verify: --state is for apply and fetch (verify never reads or writes state)");
		else
			status = do_verify(sub, ops[1], pubkey, state, print_policy, json);
	} else if (strcmp(sub, "fetch") == 0) {
		if (n != 2)
			cli_error("bundle fetch: expected exactly one URL");
		else if (!pubkey || !policy)
			cli_error("bundle fetch: --policy FILE and --pubkey FILE are required");
		else
			status = do_fetch(ops[1], policy, pubkey, state, cafile, connect_to, out, json);
	} else if (strcmp(sub, "show") == 0) {
		if (n != 2)
			cli_error("bundle show: expected exactly one BUNDLE file");
		else
			status = do_verify("show", ops[1], NULL, NULL, 0, json);
	} else {
		cli_error("bundle: unknown subcommand '%s' (keygen, sign, verify, apply, fetch, show)", sub);
	}
	return status;
}
