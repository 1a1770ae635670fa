/*
 * certpin tofu: the trust-on-first-use pin store (certpin/tofu.h).
 *
 *   check HOST[:PORT]    connect with the store attached: first use records,
 *                        later connections must match
 *   list [HOST]          recorded pins
 *   forget HOST          remove a host's pins
 *   trust HOST           record a pin (--pin) or the server's current one
 *                        (--connect), replacing the host's pins
 *
 * Decisions, file format, locking and atomic updates are the library's.
 */
#include "common.h"
#include "tofu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>

#define STORE_ENV "CERTPIN_KNOWN_PINS"
#define STORE_DIR ".certpin"
#define STORE_NAME "known_pins"

void usage_tofu(FILE *f)
{
	fputs("usage: certpin tofu check HOST[:PORT] [--store FILE] [--cafile FILE] [--servername NAME]\n"
		"                           [--position leaf|intermediate|root] [--kind spki|cert]\n"
		"                           [--report-only] [--json]\n"
		"       certpin tofu list [HOST] [--store FILE] [--json]\n"
		"       certpin tofu forget HOST [--store FILE]\n"
		"       certpin tofu trust HOST (--pin PIN | --connect HOST[:PORT]) [--position P]\n"
		"                           [--kind spki|cert] [--add] [--cafile FILE] [--store FILE]\n"
		"\n"
		"Trust on first use, known-hosts style.  \"check\" connects (PKIX validation\n"
		"first) with the store attached: the first connection to a host records the\n"
		"pin of its verified chain at --position (default leaf) and --kind (default\n"
		"spki); later connections must match a recorded pin.  A change is refused\n"
		"(--report-only: allowed and reported), showing each recorded pin next to\n"
		"the pin presented at the same position; use \"trust\" or \"forget\" after a\n"
		"legitimate key change.  These options are the TOFU policy: a pinning\n"
		"policy file has no TOFU section.  A chain that fails PKIX is never\n"
		"recorded or accepted.\n"
		"\n"
		"      --store FILE         the known_pins file (default: $CERTPIN_KNOWN_PINS,\n"
		"                           else $HOME/.certpin/known_pins)\n"
		"  -c, --cafile FILE        trust anchors (default: system store)\n"
		"  -s, --servername NAME    SNI, verified name and store key (default: HOST)\n"
		"      --position P         check: position recorded on first use; trust:\n"
		"                           position of the pin recorded (default leaf)\n"
		"      --kind spki|cert     check: kind recorded on first use; trust --connect:\n"
		"                           kind taken from the server (a --pin has its own)\n"
		"      --pin PIN            trust: record this pin (sha256/B64,\n"
		"                           cert-sha256/B64, ...)\n"
		"      --connect HOST[:PORT]\n"
		"                           trust: record the pin of this server's verified\n"
		"                           chain\n"
		"      --add                trust: keep the host's other pins\n"
		"  -j, --json               print JSON\n"
		"\n"
		"exit status: 0 ok (first use, match, report-only change), 1 key changed\n"
		"(refused), 2 connection, TLS or PKIX failure, 3 bad input (corrupt store,\n"
		"unknown host for forget, bad arguments), 4 internal error or store locked.\n", f);
}

static int exit_for(int rc)
{
	switch (rc) {
	case CERTPIN_OK:
		return CLI_EXIT_OK;
	case CERTPIN_E_PIN_MISMATCH:
		return CLI_EXIT_REFUSED;
	case CERTPIN_E_CHAIN:
	case CERTPIN_E_PKIX:
	case CERTPIN_E_TLS:
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

/* The store file: --store, $CERTPIN_KNOWN_PINS, else ~/.certpin/known_pins (directory created). */
static int store_path(char *out, size_t outlen, const char *opt)
{
	const char *env = getenv(STORE_ENV), *home = getenv("HOME");
	char d[4096];

	if (opt || (env && env[0])) {
		if (snprintf(out, outlen, "%s", opt ? opt : env) >= (int)outlen) {
			cli_error("tofu: store path too long");
			return -1;
		}
		return 0;
	}
	if (!home || !home[0]) {
		cli_error("tofu: no --store given and $HOME is not set");
		return -1;
	}
	if (snprintf(d, sizeof(d), "%s/%s", home, STORE_DIR) >= (int)sizeof(d) ||
	    snprintf(out, outlen, "%s/%s", d, STORE_NAME) >= (int)outlen) {
		cli_error("tofu: store path too long");
		return -1;
	}
	if (mkdir(d, 0700) != 0 && errno != EEXIST) {
		cli_error("tofu: %s: %s", d, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_position(certpin_position *out, const char *s)
{
	if (!s || strcmp(s, "leaf") == 0)
		*out = CERTPIN_POS_LEAF;
	else if (strcmp(s, "intermediate") == 0)
		*out = CERTPIN_POS_INTERMEDIATE;
	else if (strcmp(s, "root") == 0)
		*out = CERTPIN_POS_ROOT;
	else {
		cli_error("tofu: --position must be leaf, intermediate or root, not '%s'", s);
		return -1;
	}
	return 0;
}

static int parse_kind(certpin_pin_kind *out, const char *s)
{
	if (!s || strcmp(s, "spki") == 0)
		*out = CERTPIN_PIN_SPKI_SHA256;
	else if (strcmp(s, "cert") == 0)
		*out = CERTPIN_PIN_CERT_SHA256;
	else {
		cli_error("tofu: --kind must be spki or cert, not '%s'", s);
		return -1;
	}
	return 0;
}

static int open_store(certpin_tofu **out, const char *path, certpin_position pos, certpin_pin_kind kind,
	int report_only)
{
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	int rc;

	o.position = pos;
	o.kind = kind;
	o.mode = report_only ? CERTPIN_MODE_REPORT_ONLY : CERTPIN_MODE_ENFORCE;
	rc = certpin_tofu_open(out, path, &o);
	if (rc != CERTPIN_OK) {
		cli_error("tofu: %s: %s", path, certpin_strerror(rc));
		return exit_for(rc);
	}
	return 0;
}

static json_t *entry_json(const certpin_tofu_entry *e)
{
	json_t *o = json_object();
	char pin[CERTPIN_PIN_STRLEN], t[32];
	int bad = 0;

	if (!o)
		return NULL;
	cli_pin_string(pin, &e->pin, CERTPIN_STYLE_DEFAULT);
	cli_time_rfc3339(t, e->first_seen);
	bad |= json_object_set_new(o, "host", json_string(e->host));
	bad |= json_object_set_new(o, "position", json_string(certpin_position_name(e->position)));
	bad |= json_object_set_new(o, "pin", json_string(pin));
	bad |= json_object_set_new(o, "first_seen", json_string(t));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- check -------------------------------------------------------------------- */

static void print_check_text(const cli_conn *c, const cli_target *t, const char *name, int rc,
	const certpin_tofu_result *r, int ran)
{
	char pin[CERTPIN_PIN_STRLEN], when[32];

	printf("host: %s (%s port %s)\n", name, c->address[0] ? c->address : t->host, t->port);
	if (c->handshake_ok)
		printf("tls: %s, handshake ok\n", SSL_get_version(c->ssl));
	else
		printf("tls: handshake failed: %s\n", c->error);
	if (!ran) {
		printf("tofu: not checked (the chain did not pass PKIX validation)\n");
		return;
	}
	if (r->verdict == CERTPIN_TOFU_FIRST_USE)
		printf("tofu: first-use (pin recorded)\n");
	else if (r->verdict == CERTPIN_TOFU_MATCH)
		printf("tofu: match\n");
	else if (r->verdict == CERTPIN_TOFU_CHANGED)
		printf("tofu: changed (%s)\n", r->allowed ? "allowed, report-only" : "REFUSED");
	else
		printf("tofu: error: %s\n", r->detail[0] ? r->detail : certpin_strerror(rc));
	if (r->have_presented) {
		cli_pin_string(pin, &r->presented, CERTPIN_STYLE_DEFAULT);
		printf("presented: %s %s\n", certpin_position_name(r->position), pin);
	}
	if (r->known_count > 0) {
		printf("recorded:\n");
		for (size_t i = 0; i < r->known_count; i++) {
			char now[CERTPIN_PIN_STRLEN] = "none";
			cli_pin_string(pin, &r->known[i].pin, CERTPIN_STYLE_DEFAULT);
			cli_time_rfc3339(when, r->known[i].first_seen);
			if (r->have_presented_at[i])
				cli_pin_string(now, &r->presented_at[i], CERTPIN_STYLE_DEFAULT);
			printf("  %s %s (first seen %s), presented %s\n", certpin_position_name(r->known[i].position), pin,
				when, now);
		}
	}
}

static int print_check_json(const cli_conn *c, const cli_target *t, const char *name, int rc,
	const certpin_tofu_result *r, int ran, int status)
{
	json_t *o = json_object(), *known = json_array();
	char pin[CERTPIN_PIN_STRLEN];
	int bad = 0;

	if (!o || !known) {
		json_decref(o);
		json_decref(known);
		return -1;
	}
	bad |= json_object_set_new(o, "host", json_string(name));
	bad |= json_object_set_new(o, "port", json_integer(atoi(t->port)));
	bad |= json_object_set_new(o, "handshake", json_boolean(c->handshake_ok));
	bad |= json_object_set_new(o, "error", cli_json_str(c->handshake_ok ? NULL : c->error));
	bad |= json_object_set_new(o, "verdict", json_string(ran ? certpin_tofu_verdict_name(r->verdict) : "none"));
	bad |= json_object_set_new(o, "allowed", json_boolean(ran && r->allowed));
	bad |= json_object_set_new(o, "result", json_string(ran ? certpin_error_name(rc) : "none"));
	bad |= json_object_set_new(o, "detail", cli_json_str(ran && r->detail[0] ? r->detail : NULL));
	bad |= json_object_set_new(o, "position", json_string(certpin_position_name(r->position)));
	if (ran && r->have_presented) {
		cli_pin_string(pin, &r->presented, CERTPIN_STYLE_DEFAULT);
		bad |= json_object_set_new(o, "presented", json_string(pin));
	} else {
		bad |= json_object_set_new(o, "presented", json_null());
	}
	for (size_t i = 0; ran && i < r->known_count; i++) {
		json_t *e = entry_json(&r->known[i]);
		if (e && r->have_presented_at[i]) {
			cli_pin_string(pin, &r->presented_at[i], CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(e, "presented", json_string(pin));
		} else if (e) {
			bad |= json_object_set_new(e, "presented", json_null());
		}
		if (!e || json_array_append_new(known, e) != 0)
			bad = 1;
	}
	bad |= json_object_set_new(o, "recorded", known);
	bad |= json_object_set_new(o, "exit_code", json_integer(status));
	if (bad) {
		json_decref(o);
		return -1;
	}
	return cli_json_print(o);
}

/* "certpin: HOST: refused: key changed: ...": each recorded pin next to the pin presented at its position. */
static void key_changed_error(const certpin_tofu_result *res)
{
	char cmp[CERTPIN_TOFU_MAX_PINS * (2 * CERTPIN_PIN_STRLEN + 48)];
	size_t used = 0;

	cmp[0] = '\0';
	for (size_t i = 0; i < res->known_count && used < sizeof(cmp); i++) {
		char now[CERTPIN_PIN_STRLEN] = "none", was[CERTPIN_PIN_STRLEN];
		cli_pin_string(was, &res->known[i].pin, CERTPIN_STYLE_DEFAULT);
		if (res->have_presented_at[i])
			cli_pin_string(now, &res->presented_at[i], CERTPIN_STYLE_DEFAULT);
		int w = snprintf(cmp + used, sizeof(cmp) - used, "%s%s: recorded %s, presented %s", i ? "; " : "",
			certpin_position_name(res->known[i].position), was, now);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	cli_error("%s: refused: key changed: %s (certpin tofu trust/forget after a legitimate change)",
		res->hostname, cmp);
}

/* The one-line message for a tofu check that did not exit 0. */
static void check_error(int status, int rc, int ran, const certpin_tofu_result *res, const char *target,
	const char *conn_error, const char *store_file)
{
	if (status == CLI_EXIT_REFUSED)
		key_changed_error(res);
	else if (status == CLI_EXIT_TLS)
		cli_error("%s: %s", target, conn_error);
	else if (status == CLI_EXIT_INTERNAL && !ran)
		cli_error("%s: the TOFU check did not run", target);
	else if (status != CLI_EXIT_OK && res->detail[0])
		cli_error("%s", res->detail);   /* the library's detail names the file where it is about the file */
	else if (status != CLI_EXIT_OK)
		cli_error("%s: %s", store_file, certpin_strerror(rc));
}

static int do_check(const char *target, const char *store_file, const char *cafile, const char *servername,
	certpin_position pos, certpin_pin_kind kind, int report_only, int json)
{
	certpin_tofu *store = NULL;
	certpin_tofu_result res;
	SSL_CTX *ctx = NULL;
	cli_conn conn;
	cli_target t;
	const char *name;
	char norm[CERTPIN_HOSTNAME_MAX];
	int rc, ran, status;

	memset(&conn, 0, sizeof(conn));
	memset(&res, 0, sizeof(res));
	conn.fd = -1;
	if (cli_parse_target(&t, target) != 0)
		return CLI_EXIT_USAGE;
	name = servername ? servername : t.host;
	if (certpin_hostname_normalize(norm, sizeof(norm), name) != CERTPIN_OK) {
		cli_error("tofu check: invalid host name '%s'", name);
		return CLI_EXIT_USAGE;
	}
	if ((status = open_store(&store, store_file, pos, kind, report_only)) != 0)
		return status;
	if (!(ctx = cli_ssl_ctx_new(cafile, &status)))
		goto out;
	if ((rc = certpin_tofu_ssl_ctx_attach(ctx, store)) != CERTPIN_OK) {
		cli_error("tofu check: cannot attach the store: %s", certpin_strerror(rc));
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	status = cli_tls_connect(&conn, ctx, &t, name, name);
	if (!conn.tcp_ok) {
		cli_error("%s: %s", target, conn.error);
		goto out;
	}
	rc = conn.ssl ? certpin_tofu_ssl_result(&res, conn.ssl) : CERTPIN_E_STATE;
	ran = rc != CERTPIN_E_STATE;
	if (ran && rc != CERTPIN_OK && !conn.handshake_ok)
		snprintf(conn.error, sizeof(conn.error), "refused by certpin tofu: %s",
			res.detail[0] ? res.detail : certpin_strerror(rc));
	if (ran)
		status = rc == CERTPIN_OK && conn.handshake_ok ? CLI_EXIT_OK : rc == CERTPIN_OK ? CLI_EXIT_TLS : exit_for(rc);
	else
		status = conn.handshake_ok ? CLI_EXIT_INTERNAL : CLI_EXIT_TLS;
	if (json) {
		if (print_check_json(&conn, &t, name, rc, &res, ran, status) != 0) {
			cli_error("cannot write JSON output");
			status = CLI_EXIT_INTERNAL;
		}
	} else {
		print_check_text(&conn, &t, name, rc, &res, ran);
	}
	fflush(stdout);
	check_error(status, rc, ran, &res, target, conn.error, store_file);
out:
	cli_conn_close(&conn);
	SSL_CTX_free(ctx);
	certpin_tofu_close(store);
	return status;
}

/* ---- list / forget / trust ---------------------------------------------------------- */

static int store_error(const certpin_error *err, int rc)
{
	cli_error("%s", err->message[0] ? err->message : certpin_strerror(rc));
	return exit_for(rc);
}

static int do_list(const char *store_file, const char *host, int json)
{
	certpin_tofu *store = NULL;
	certpin_tofu_entry *list = NULL;
	char norm[CERTPIN_HOSTNAME_MAX];
	size_t n = 0;
	int rc, status;

	if (host && certpin_hostname_normalize(norm, sizeof(norm), host) != CERTPIN_OK) {
		cli_error("tofu list: invalid host name '%s'", host);
		return CLI_EXIT_USAGE;
	}
	if ((status = open_store(&store, store_file, CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, 0)) != 0)
		return status;
	certpin_error err;
	rc = certpin_tofu_list(&list, &n, store, &err);
	if (rc != CERTPIN_OK) {
		status = store_error(&err, rc);
		goto out;
	}
	if (json) {
		json_t *arr = json_array();
		int bad = !arr;
		for (size_t i = 0; i < n && !bad; i++) {
			if (host && strcmp(list[i].host, norm) != 0)
				continue;
			json_t *e = entry_json(&list[i]);
			if (!e || json_array_append_new(arr, e) != 0)
				bad = 1;
		}
		if (bad || cli_json_print(arr) != 0) {
			if (bad)
				json_decref(arr);
			cli_error("cannot write JSON output");
			status = CLI_EXIT_INTERNAL;
			goto out;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			char pin[CERTPIN_PIN_STRLEN], when[32];
			if (host && strcmp(list[i].host, norm) != 0)
				continue;
			cli_pin_string(pin, &list[i].pin, CERTPIN_STYLE_DEFAULT);
			cli_time_rfc3339(when, list[i].first_seen);
			printf("%s %s %s %s\n", list[i].host, certpin_position_name(list[i].position), pin, when);
		}
	}
	status = CLI_EXIT_OK;
out:
	free(list);
	certpin_tofu_close(store);
	return status;
}

static int do_forget(const char *store_file, const char *host)
{
	certpin_tofu *store = NULL;
	char norm[CERTPIN_HOSTNAME_MAX];
	size_t removed = 0;
	int rc, status;

	if (certpin_hostname_normalize(norm, sizeof(norm), host) != CERTPIN_OK) {
		cli_error("tofu forget: invalid host name '%s'", host);
		return CLI_EXIT_USAGE;
	}
	if ((status = open_store(&store, store_file, CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, 0)) != 0)
		return status;
	certpin_error err;
	rc = certpin_tofu_forget(store, norm, &removed, &err);
	if (rc != CERTPIN_OK) {
		status = store_error(&err, rc);
	} else {
		printf("forgot %zu pin%s of %s\n", removed, removed == 1 ? "" : "s", norm);
		status = CLI_EXIT_OK;
	}
	certpin_tofu_close(store);
	return status;
}

/* The pin at `pos`/`kind` of the verified chain of a fresh, PKIX-validated connection. */
static int pin_from_server(certpin_pin *out, const char *target, const char *name, const char *cafile,
	certpin_position pos, certpin_pin_kind kind)
{
	SSL_CTX *ctx;
	cli_conn conn;
	cli_target t;
	certpin_item *items = NULL;
	size_t count = 0;
	int status;

	memset(&conn, 0, sizeof(conn));
	conn.fd = -1;
	if (cli_parse_target(&t, target) != 0)
		return CLI_EXIT_USAGE;
	if (!(ctx = cli_ssl_ctx_new(cafile, &status)))
		return status;
	/* trust only what PKIX validation accepts */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	status = cli_tls_connect(&conn, ctx, &t, name, name);
	if (status != 0) {
		cli_error("%s: %s", target, conn.error);
		goto out;
	}
	STACK_OF(X509) *chain = SSL_get0_verified_chain(conn.ssl);
	int n = chain ? sk_X509_num(chain) : 0;
	int i = pos == CERTPIN_POS_LEAF ? 0 : pos == CERTPIN_POS_ROOT ? n - 1 : 1;
	if (n <= 0 || (pos == CERTPIN_POS_INTERMEDIATE && n < 3)) {
		cli_error("%s: the verified chain has no %s certificate", target, certpin_position_name(pos));
		status = CLI_EXIT_TLS;
		goto out;
	}
	if (cli_items_from_x509(&items, &count, sk_X509_value(chain, i)) != CERTPIN_OK || count != 1) {
		cli_error("%s: cannot decode the server's certificate", target);
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	*out = kind == CERTPIN_PIN_CERT_SHA256 ? items[0].cert : items[0].spki;
	status = CLI_EXIT_OK;
out:
	certpin_items_free(items, count);
	cli_conn_close(&conn);
	SSL_CTX_free(ctx);
	return status;
}

static int do_trust(const char *store_file, const char *host, const char *pin_str, const char *connect,
	const char *cafile, const char *servername, certpin_position pos, certpin_pin_kind kind, int add)
{
	certpin_tofu *store = NULL;
	certpin_pin pin;
	char norm[CERTPIN_HOSTNAME_MAX], s[CERTPIN_PIN_STRLEN];
	int rc, status;

	if (certpin_hostname_normalize(norm, sizeof(norm), host) != CERTPIN_OK) {
		cli_error("tofu trust: invalid host name '%s'", host);
		return CLI_EXIT_USAGE;
	}
	if (pin_str) {
		rc = certpin_pin_parse(&pin, pin_str, strlen(pin_str));
		if (rc != CERTPIN_OK) {
			cli_error("tofu trust: --pin '%s': %s", pin_str, certpin_strerror(rc));
			return CLI_EXIT_USAGE;
		}
	} else if ((status = pin_from_server(&pin, connect, servername ? servername : host, cafile, pos, kind)) != 0) {
		return status;
	}
	if ((status = open_store(&store, store_file, pos, kind, 0)) != 0)
		return status;
	certpin_error err;
	rc = certpin_tofu_trust(store, norm, &pin, pos, add ? CERTPIN_TOFU_TRUST_ADD : 0, (int64_t)time(NULL), &err);
	if (rc != CERTPIN_OK) {
		status = store_error(&err, rc);
	} else {
		cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
		printf("trusted: %s %s %s%s\n", norm, certpin_position_name(pos), s, add ? " (added)" : "");
		status = CLI_EXIT_OK;
	}
	certpin_tofu_close(store);
	return status;
}

int cmd_tofu(int argc, char **argv)
{
	const char *store_opt = NULL, *cafile = NULL, *servername = NULL, *position = NULL, *kind_s = NULL;
	const char *pin = NULL, *connect = NULL;
	int report_only = 0, add = 0, json = 0, status;
	certpin_position pos;
	certpin_pin_kind kind;
	char store[4096];
	cli_args args;
	const cli_opt opts[] = {
		CLI_VALUE("--store", 0, &store_opt),
		CLI_VALUE("--cafile", 'c', &cafile),
		CLI_VALUE("--servername", 's', &servername),
		CLI_VALUE("--position", 0, &position),
		CLI_VALUE("--kind", 0, &kind_s),
		CLI_VALUE("--pin", 0, &pin),
		CLI_VALUE("--connect", 0, &connect),
		CLI_FLAG("--report-only", 0, &report_only),
		CLI_FLAG("--add", 0, &add),
		CLI_FLAG("--json", 'j', &json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "tofu", usage_tofu, opts, 1, CLI_ANY, "check, list, forget or trust", 1 };

	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	char **ops = args.operands;
	size_t n = args.n;
	if (parse_position(&pos, position) != 0 || parse_kind(&kind, kind_s) != 0)
		return CLI_EXIT_USAGE;
	const char *sub = ops[0];
	int is_check = strcmp(sub, "check") == 0, is_list = strcmp(sub, "list") == 0;
	int is_forget = strcmp(sub, "forget") == 0, is_trust = strcmp(sub, "trust") == 0;
	if (!is_check && !is_list && !is_forget && !is_trust) {
		cli_error("tofu: unknown subcommand '%s' (check, list, forget, trust)", sub);
		return CLI_EXIT_USAGE;
	}
	if ((is_list && n > 2) || (!is_list && n != 2)) {
		cli_error("tofu %s: expected %s", sub, is_list ? "at most one HOST" : is_check ? "one HOST[:PORT]" : "one HOST");
		return CLI_EXIT_USAGE;
	}
	if (!is_trust && (pin || connect || add)) {
		cli_error("tofu %s: --pin, --connect and --add are for trust", sub);
		return CLI_EXIT_USAGE;
	}
	if (!is_check && report_only) {
		cli_error("tofu %s: --report-only is for check", sub);
		return CLI_EXIT_USAGE;
	}
	if (is_trust && !pin == !connect) {
		cli_error("tofu trust: give exactly one of --pin PIN and --connect HOST[:PORT]");
		return CLI_EXIT_USAGE;
	}
	if (is_trust && pin && (kind_s || cafile || servername)) {
		cli_error("tofu trust: %s is for --connect (a --pin is recorded as given, with its own kind)",
			kind_s ? "--kind" : cafile ? "--cafile" : "--servername");
		return CLI_EXIT_USAGE;
	}
	if ((is_list || is_forget) && (position || kind_s || cafile || servername)) {
		cli_error("tofu %s: --position, --kind, --cafile and --servername are for check and trust", sub);
		return CLI_EXIT_USAGE;
	}
	if (store_path(store, sizeof(store), store_opt) != 0)
		return CLI_EXIT_USAGE;
	if (is_check)
		return do_check(ops[1], store, cafile, servername, pos, kind, report_only, json);
	if (is_list)
		return do_list(store, n == 2 ? ops[1] : NULL, json);
	if (is_forget)
		return do_forget(store, ops[1]);
	return do_trust(store, ops[1], pin, connect, cafile, servername, pos, kind, add);
}
