/*
 * certpin check: connect to a server with a pinning policy attached to the
 * SSL_CTX (exactly as an application would) and report the library's verdict.
 */
#include "common.h"
#include "stacks.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

void usage_check(FILE *f)
{
	fputs("usage: certpin check HOST[:PORT] --policy FILE [--cafile FILE]\n"
		"                     [--servername NAME] [--tls STACK] [--insecure-pin-only]\n"
		"                     [--json]\n"
		"\n"
		"Connect to HOST (port 443 by default, [IPv6]:PORT) with the pinning policy\n"
		"FILE (certpin-policy(5)) attached to the TLS context and print the verdict\n"
		"(match, mismatch, not-pinned, pinset-expired), the rule that applied, the\n"
		"matching pin and the pins of the verified chain.\n"
		"\n"
		"  -p, --policy FILE        JSON pinning policy (required)\n"
		"  -c, --cafile FILE        trust anchors (default: system store)\n"
		"  -s, --servername NAME    SNI and host name checked and looked up in the policy\n"
		"                           (default: HOST)\n"
		"      --tls STACK          the TLS library that connects, with certpin's adapter\n"
		"                           for it: openssl (default), mbedtls, wolfssl, gnutls\n"
		"                           (those this certpin was built with); the verified\n"
		"                           chain's certificates are listed with openssl, and\n"
		"                           their pins with any stack when the pins refuse\n"
		"      --insecure-pin-only  skip PKIX validation; accept only if the leaf the\n"
		"                           server sent matches a leaf/any pin (self-signed\n"
		"                           devices; hostname and dates are NOT checked)\n"
		"  -j, --json               print a JSON object instead of text; also on failure,\n"
		"                           with \"error\" and \"stage\" (usage, policy, trust, dns,\n"
		"                           connect, tls, pin, internal)\n", f);
}

/* What the library's failure (and, for stacks other than OpenSSL, result) callback saw during the handshake. */
typedef struct capture {
	int called;
	certpin_result result;
	certpin_chain_elem *chain;
	size_t n;
} capture;

static void keep_chain(capture *cap, const certpin_chain_elem *chain, size_t n)
{
	free(cap->chain);
	cap->chain = NULL;
	cap->n = 0;
	if (n > 0 && chain && (cap->chain = malloc(n * sizeof(*chain))) != NULL) {
		memcpy(cap->chain, chain, n * sizeof(*chain));
		cap->n = n;
	}
}

static void on_failure(const certpin_result *result, const certpin_chain_elem *chain, size_t n, void *payload)
{
	capture *cap = payload;

	cap->called = 1;
	cap->result = *result;
	keep_chain(cap, chain, n);
}

/* After every check: the verified chain, to list it whatever the verdict. */
static void on_result(int code, const certpin_result *result, int tofu_code, const certpin_tofu_result *tofu,
	const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)code, (void)result, (void)tofu_code, (void)tofu;
	if (chain)
		keep_chain(payload, chain, n);
}

/* One chain certificate as printed: position and pins, subject when known. */
typedef struct chain_line {
	const char *position;
	certpin_pin spki, cert;
	int have_spki, have_cert;
	char subject[512];
} chain_line;

static const char *position_at(size_t i, size_t n)
{
	if (i == 0)
		return "leaf";
	return i + 1 == n ? "root" : "intermediate";
}

/* Chain lines from X509s (a completed handshake).  Returns count or -1. */
static long lines_from_x509(chain_line **out, STACK_OF(X509) *chain, int leaf_only)
{
	size_t n = chain ? (size_t)sk_X509_num(chain) : 0;
	chain_line *lines;

	if (leaf_only && n > 1)
		n = 1;
	*out = NULL;
	if (n == 0)
		return 0;
	lines = calloc(n, sizeof(*lines));
	if (!lines)
		return -1;
	for (size_t i = 0; i < n; i++) {
		certpin_item *items = NULL;
		size_t count = 0;

		if (cli_items_from_x509(&items, &count, sk_X509_value(chain, (int)i)) != CERTPIN_OK || count != 1) {
			certpin_items_free(items, count);
			free(lines);
			return -1;
		}
		lines[i].position = leaf_only ? "leaf" : position_at(i, n);
		lines[i].spki = items[0].spki;
		lines[i].cert = items[0].cert;
		lines[i].have_spki = lines[i].have_cert = 1;
		snprintf(lines[i].subject, sizeof(lines[i].subject), "%s", items[0].subject ? items[0].subject : "");
		certpin_items_free(items, count);
	}
	*out = lines;
	return (long)n;
}

/* Chain lines from the digests the failure callback captured. */
static long lines_from_capture(chain_line **out, const capture *cap)
{
	chain_line *lines;

	*out = NULL;
	if (cap->n == 0)
		return 0;
	lines = calloc(cap->n, sizeof(*lines));
	if (!lines)
		return -1;
	for (size_t i = 0; i < cap->n; i++) {
		const certpin_chain_elem *e = &cap->chain[i];

		lines[i].position = position_at(i, cap->n);
		lines[i].have_spki = (e->flags & CERTPIN_HAVE_SPKI) != 0;
		lines[i].have_cert = (e->flags & CERTPIN_HAVE_CERT) != 0;
		lines[i].spki.kind = CERTPIN_PIN_SPKI_SHA256;
		memcpy(lines[i].spki.digest, e->spki_sha256, CERTPIN_DIGEST_LEN);
		lines[i].cert.kind = CERTPIN_PIN_CERT_SHA256;
		memcpy(lines[i].cert.digest, e->cert_sha256, CERTPIN_DIGEST_LEN);
	}
	*out = lines;
	return (long)cap->n;
}

/*
 * After a refused handshake OpenSSL usually still holds the chain it built;
 * take subjects from it where its pins equal what the callback saw.
 */
static void annotate_subjects(chain_line *lines, long n, STACK_OF(X509) *chain)
{
	if (!chain || sk_X509_num(chain) != n)
		return;
	for (long i = 0; i < n; i++) {
		certpin_item *items = NULL;
		size_t count = 0;

		if (cli_items_from_x509(&items, &count, sk_X509_value(chain, (int)i)) == CERTPIN_OK && count == 1 &&
				lines[i].have_spki && certpin_pin_equal(&items[0].spki, &lines[i].spki) && items[0].subject)
			snprintf(lines[i].subject, sizeof(lines[i].subject), "%s", items[0].subject);
		certpin_items_free(items, count);
	}
}

typedef struct check_report {
	const char *target;
	cli_target t;
	const char *name;       /* host name checked, NULL before the arguments are */
	char norm[CERTPIN_HOSTNAME_MAX]; /* it normalized */
	cli_conn *conn;
	int rc;                 /* certpin_ssl_result() code, CERTPIN_E_STATE if none ran */
	certpin_result res;
	int have_res;
	certpin_host_info rule;
	int have_rule;
	certpin_pin matched;
	certpin_position matched_pos;
	int have_matched;
	const char *chain_label;
	chain_line *lines;
	long nlines;
	int insecure;
	const char *stack;      /* the --tls name */
	int exit_code;
	/*
	 * The step that failed, for scripts: "usage", "policy", "trust" (CA
	 * file or store), "dns", "connect", "tls", "pin" (refused by the pins)
	 * or "internal"; NULL if none did.  `error` is its one-line reason.
	 */
	const char *stage;
	const char *error;
	char error_buf[512];
} check_report;

static void report_init(check_report *r, cli_conn *conn)
{
	memset(r, 0, sizeof(*r));
	memset(conn, 0, sizeof(*conn));
	conn->fd = -1;
	r->conn = conn;
	r->rc = CERTPIN_E_STATE;
	r->stack = "openssl";
}

/* Record a failed step whose reason cli_error() has just printed; returns `status`. */
static int fail_at(check_report *r, const char *stage, int status)
{
	snprintf(r->error_buf, sizeof(r->error_buf), "%s", cli_last_error());
	r->stage = stage;
	r->error = r->error_buf;
	return status;
}

static const char *outcome_text(const check_report *r)
{
	if (!r->have_res)
		return "no pin check ran";
	if (r->res.allowed)
		return "allowed";
	return "refused";
}

static void print_rule_pins(const certpin_policy *policy, const check_report *r)
{
	printf("pinset:");
	if (r->rule.pin_count == 0)
		printf(" (empty: every connection is refused)");
	putchar('\n');
	for (size_t i = 0; i < r->rule.pin_count; i++) {
		certpin_pin pin;
		certpin_position pos;
		char s[CERTPIN_PIN_STRLEN];

		if (certpin_policy_host_pin(&pin, &pos, policy, (size_t)r->res.rule, i) != CERTPIN_OK)
			continue;
		cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
		printf("  %zu %s (%s)\n", i, s, certpin_position_name(pos));
	}
}

static void print_text(const certpin_policy *policy, const check_report *r)
{
	char date[32];

	printf("host: %s (%s port %s)\n", r->name, r->conn->address[0] ? r->conn->address : r->t.host, r->t.port);
	if (r->conn->handshake_ok)
		printf("tls: %s (%s), handshake ok\n", r->conn->version[0] ? r->conn->version : "?", r->stack);
	else
		printf("tls: handshake failed (%s): %s\n", r->stack, r->conn->error);
	if (r->have_res) {
		printf("verdict: %s (%s%s)\n", certpin_verdict_name(r->res.verdict), outcome_text(r),
			r->res.mode == CERTPIN_MODE_REPORT_ONLY && r->have_rule ? ", report-only" : "");
	} else {
		printf("verdict: none (%s)\n", certpin_strerror(r->rc));
	}
	if (r->have_rule) {
		printf("rule: %s (mode %s", r->rule.pattern, certpin_mode_name(r->rule.mode));
		if (r->rule.expires != 0) {
			cli_time_rfc3339(date, r->rule.expires);
			printf(", expires %s%s, on expiry %s", date, r->res.expired ? " [EXPIRED]" : "",
				certpin_expiry_action_name(r->rule.on_expiry));
		}
		printf(")\n");
	} else if (r->have_res) {
		printf("rule: none\n");
	}
	if (r->have_matched) {
		char s[CERTPIN_PIN_STRLEN];

		cli_pin_string(s, &r->matched, CERTPIN_STYLE_DEFAULT);
		printf("matched: pin %d %s (%s) at depth %d (%s)\n", r->res.pin, s,
			certpin_position_name(r->matched_pos), r->res.depth,
			r->nlines > r->res.depth && r->res.depth >= 0 ? r->lines[r->res.depth].position : "?");
	} else if (r->have_rule && r->have_res) {
		printf("matched: none\n");
		print_rule_pins(policy, r);
	}
	if (r->nlines > 0) {
		printf("%s:\n", r->chain_label);
		for (long i = 0; i < r->nlines; i++) {
			const chain_line *l = &r->lines[i];
			char spki[CERTPIN_PIN_STRLEN] = "-", cert[CERTPIN_PIN_STRLEN] = "-";

			if (l->have_spki)
				cli_pin_string(spki, &l->spki, CERTPIN_STYLE_DEFAULT);
			if (l->have_cert)
				cli_pin_string(cert, &l->cert, CERTPIN_STYLE_DEFAULT);
			printf("  %ld %-12s %s\n", i, l->position, spki);
			printf("    %-14s %s\n", "", cert);
			if (l->subject[0])
				printf("    %-14s subject=%s\n", "", l->subject);
		}
	}
}

static int print_json(const check_report *r)
{
	json_t *o = json_object(), *chain = json_array();
	char s[CERTPIN_PIN_STRLEN];
	int bad = 0;

	if (!o || !chain) {
		json_decref(o);
		json_decref(chain);
		return -1;
	}
	bad |= json_object_set_new(o, "host", cli_json_str(r->name));
	bad |= json_object_set_new(o, "port", r->t.port[0] ? json_integer(atoi(r->t.port)) : json_null());
	bad |= json_object_set_new(o, "address", cli_json_str(r->conn->address[0] ? r->conn->address : NULL));
	bad |= json_object_set_new(o, "handshake", json_boolean(r->conn->handshake_ok));
	bad |= json_object_set_new(o, "tls_version",
		cli_json_str(r->conn->handshake_ok && r->conn->version[0] ? r->conn->version : NULL));
	bad |= json_object_set_new(o, "tls_stack", json_string(r->stack));
	bad |= json_object_set_new(o, "error", cli_json_str(r->error));
	bad |= json_object_set_new(o, "stage", cli_json_str(r->stage));
	bad |= json_object_set_new(o, "insecure_pin_only", json_boolean(r->insecure));
	bad |= json_object_set_new(o, "result", json_string(r->rc != CERTPIN_E_STATE ? certpin_error_name(r->rc) : "none"));
	bad |= json_object_set_new(o, "verdict", r->have_res ? json_string(certpin_verdict_name(r->res.verdict)) : json_null());
	bad |= json_object_set_new(o, "allowed", json_boolean(r->have_res && r->res.allowed));
	bad |= json_object_set_new(o, "rule", r->have_rule ? json_string(r->rule.pattern) : json_null());
	bad |= json_object_set_new(o, "mode", r->have_rule ? json_string(certpin_mode_name(r->rule.mode)) : json_null());
	bad |= json_object_set_new(o, "expired", json_boolean(r->have_res && r->res.expired));
	if (r->have_matched) {
		cli_pin_string(s, &r->matched, CERTPIN_STYLE_DEFAULT);
		bad |= json_object_set_new(o, "matched_pin", json_string(s));
		bad |= json_object_set_new(o, "matched_pin_index", json_integer(r->res.pin));
		bad |= json_object_set_new(o, "depth", json_integer(r->res.depth));
	} else {
		bad |= json_object_set_new(o, "matched_pin", json_null());
		bad |= json_object_set_new(o, "matched_pin_index", json_null());
		bad |= json_object_set_new(o, "depth", json_null());
	}
	for (long i = 0; i < r->nlines; i++) {
		const chain_line *l = &r->lines[i];
		json_t *e = json_object();

		if (!e || json_array_append_new(chain, e) != 0) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(e, "depth", json_integer(i));
		bad |= json_object_set_new(e, "position", json_string(l->position));
		if (l->have_spki) {
			cli_pin_string(s, &l->spki, CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(e, "spki_pin", json_string(s));
		}
		if (l->have_cert) {
			cli_pin_string(s, &l->cert, CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(e, "cert_pin", json_string(s));
		}
		bad |= json_object_set_new(e, "subject", cli_json_str(l->subject[0] ? l->subject : NULL));
	}
	bad |= json_object_set_new(o, "chain_source", cli_json_str(r->chain_label));
	bad |= json_object_set_new(o, "chain", chain);
	bad |= json_object_set_new(o, "exit_code", json_integer(r->exit_code));
	if (bad) {
		json_decref(o);
		return -1;
	}
	return cli_json_print(o);
}

/* Why the pins refused the connection; pin-only mode has no verified chain to speak of. */
static const char *refusal_text(int rc, int insecure)
{
	if (insecure && rc == CERTPIN_E_PIN_MISMATCH)
		return "no leaf or any-position pin matches the server's leaf key (pin-only mode: no PKIX validation)";
	if (insecure && rc == CERTPIN_E_PINSET_EXPIRED)
		return "the pinset has expired, and pin-only mode has no PKIX validation to fall back on";
	return certpin_strerror(rc);
}

typedef struct check_args {
	const char *target, *policy, *cafile, *servername, *tls;
	int insecure, json;
	const cli_stack *stack;         /* NULL: OpenSSL */
} check_args;

/* Target, name and policy, and the options to attach with; 0 or an exit status with the failed step recorded. */
static int prepare_policy(check_report *r, const check_args *a, certpin_policy **policy, certpin_ssl_options *sopts,
	capture *cap)
{
	int status;

	if (cli_parse_target(&r->t, a->target) != 0)
		return fail_at(r, "usage", CLI_EXIT_USAGE);
	r->name = a->servername ? a->servername : r->t.host;
	if (certpin_hostname_normalize(r->norm, sizeof(r->norm), r->name) != CERTPIN_OK) {
		cli_error("check: invalid host name '%s'", r->name);
		return fail_at(r, "usage", CLI_EXIT_USAGE);
	}
	if ((status = cli_policy_load(policy, a->policy, NULL)) != CLI_EXIT_OK)
		return fail_at(r, "policy", status);
	*sopts = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	if (a->insecure) {
		cli_warn("--insecure-pin-only: PKIX validation, host name and validity dates are NOT checked; "
			"only the server's leaf key is compared with leaf/any pins");
		sopts->flags |= CERTPIN_SSL_INSECURE_PIN_ONLY;
	}
	sopts->on_failure = on_failure;
	sopts->payload = cap;
	return 0;
}

/* The OpenSSL path: target, policy and TLS context; 0 or an exit status with the failed step recorded. */
static int prepare(check_report *r, const check_args *a, certpin_policy **policy, SSL_CTX **ctx, capture *cap)
{
	certpin_ssl_options sopts;
	int rc, status = prepare_policy(r, a, policy, &sopts, cap);

	if (status != 0)
		return status;
	*ctx = cli_ssl_ctx_new(a->cafile, &status);
	if (!*ctx)
		return fail_at(r, status == CLI_EXIT_INTERNAL ? "internal" : "trust", status);
	rc = certpin_ssl_ctx_attach(*ctx, *policy, &sopts);
	if (rc != CERTPIN_OK) {
		cli_error("cannot attach the policy: %s", certpin_strerror(rc));
		return fail_at(r, "internal", CLI_EXIT_INTERNAL);
	}
	return 0;
}

/* Chain to show: the verified chain after a completed handshake, else what the callback saw. */
static void collect_chain(check_report *r, const capture *cap)
{
	SSL *ssl = r->conn->ssl;

	if (r->conn->handshake_ok && r->insecure) {
		X509 *leaf = SSL_get0_peer_certificate(ssl);
		STACK_OF(X509) *one = sk_X509_new_null();

		r->chain_label = "peer leaf (not PKIX-verified)";
		if (one && leaf && sk_X509_push(one, leaf))
			r->nlines = lines_from_x509(&r->lines, one, 1);
		sk_X509_free(one);
	} else if (r->conn->handshake_ok) {
		r->chain_label = "verified chain";
		r->nlines = lines_from_x509(&r->lines, SSL_get0_verified_chain(ssl), 0);
	} else {
		r->chain_label = r->insecure ? "peer leaf (not PKIX-verified)" : "verified chain";
		r->nlines = lines_from_capture(&r->lines, cap);
		if (r->nlines > 0 && !r->insecure)
			annotate_subjects(r->lines, r->nlines, SSL_get0_verified_chain(ssl));
	}
	if (r->nlines < 0) {
		cli_error("cannot decode the server's certificate chain");
		r->nlines = 0;
	}
}

/* The rule and pin of r->res in the policy. */
static void find_rule(check_report *r, const certpin_policy *policy)
{
	r->have_res = r->rc != CERTPIN_E_STATE && r->rc != CERTPIN_E_PKIX && r->rc != CERTPIN_E_TLS &&
		r->rc != CERTPIN_E_CHAIN && r->rc != CERTPIN_E_HOSTNAME;
	if (r->rc != CERTPIN_E_STATE && r->res.rule >= 0 &&
			certpin_policy_host(&r->rule, policy, (size_t)r->res.rule) == CERTPIN_OK)
		r->have_rule = 1;
	if (r->have_rule && r->res.pin >= 0 &&
			certpin_policy_host_pin(&r->matched, &r->matched_pos, policy, (size_t)r->res.rule,
				(size_t)r->res.pin) == CERTPIN_OK)
		r->have_matched = 1;
}

/* The exit status for a connection that reached TLS, with r->rc and its chain in. */
static int judge(check_report *r)
{
	cli_conn *conn = r->conn;
	int status = cli_exit_for_handshake(conn->handshake_ok, r->rc);

	if (conn->handshake_ok && r->rc == CERTPIN_E_STATE) {
		/* Attached policies run on every handshake; no result means a library fault. */
		cli_error("%s: the pin check did not run", r->target);
		r->stage = "internal";
		r->error = "the pin check did not run";
		return CLI_EXIT_INTERNAL;
	}
	if (status != CLI_EXIT_OK) {
		r->stage = status == CLI_EXIT_REFUSED ? "pin" : status == CLI_EXIT_TLS ? "tls" : "internal";
		r->error = conn->handshake_ok ? refusal_text(r->rc, r->insecure) : conn->error;
	}
	return status;
}

/* The library's verdict on a connection OpenSSL made; returns the exit status. */
static int evaluate(check_report *r, const certpin_policy *policy, const capture *cap)
{
	cli_conn *conn = r->conn;

	r->rc = conn->ssl ? certpin_ssl_result(&r->res, conn->ssl) : CERTPIN_E_STATE;
	find_rule(r, policy);
	/*
	 * A refusal by the pins shows as X509_V_ERR_APPLICATION_VERIFICATION
	 * (PKIX failures keep OpenSSL's reason); name the certpin reason instead.
	 */
	if (!conn->handshake_ok && r->rc != CERTPIN_E_STATE && r->rc != CERTPIN_OK &&
			SSL_get_verify_result(conn->ssl) == X509_V_ERR_APPLICATION_VERIFICATION)
		snprintf(conn->error, sizeof(conn->error), "%s%s", r->rc == CERTPIN_E_PKIX ? "" : "refused by certpin: ",
			refusal_text(r->rc, r->insecure));
	collect_chain(r, cap);
	return judge(r);
}

/* Another stack's connection: its adapter's result, and the verified chain as the result callback saw it. */
static int evaluate_stack(check_report *r, const certpin_policy *policy, const capture *cap,
	const cli_stack_result *sr)
{
	cli_conn *conn = r->conn;

	r->rc = sr->rc;
	r->res = sr->res;
	conn->handshake_ok = sr->handshake_ok;
	snprintf(conn->version, sizeof(conn->version), "%s", sr->version);
	snprintf(conn->error, sizeof(conn->error), "%s", sr->error);
	find_rule(r, policy);
	if (!conn->handshake_ok && r->rc != CERTPIN_E_STATE && r->rc != CERTPIN_OK && r->rc != CERTPIN_E_PKIX)
		snprintf(conn->error, sizeof(conn->error), "refused by certpin: %s", refusal_text(r->rc, r->insecure));
	r->chain_label = r->insecure ? "peer leaf (not PKIX-verified)" : "verified chain";
	r->nlines = lines_from_capture(&r->lines, cap);
	if (r->nlines < 0) {
		cli_error("cannot list the server's certificate chain");
		r->nlines = 0;
	}
	return judge(r);
}

/* Print the outcome (JSON for every outcome, text once TLS was reached); returns the exit status. */
static int finish(check_report *r, const certpin_policy *policy, int json, int status)
{
	r->exit_code = status;
	if (json) {
		if (print_json(r) != 0) {
			cli_error("cannot write JSON output");
			status = CLI_EXIT_INTERNAL;
		}
	} else if (r->conn->tcp_ok) {
		print_text(policy, r);
	}
	fflush(stdout);
	if (!r->conn->tcp_ok)
		return status;          /* the one message is out already */
	if (r->have_res && r->res.verdict == CERTPIN_VERDICT_PINSET_EXPIRED && r->res.allowed)
		cli_warn("%s: the pinset has expired; the connection was allowed without a pin match (%s)", r->name,
			r->res.mode == CERTPIN_MODE_REPORT_ONLY ? "report-only" : "on_expiry fail-open");
	if (r->exit_code == CLI_EXIT_REFUSED)
		cli_error("%s: refused: %s", r->name, refusal_text(r->rc, r->insecure));
	else if (r->exit_code == CLI_EXIT_TLS)
		cli_error("%s: %s", r->target, r->conn->error);
	return status;
}

/* A connection that did not reach TLS: its step and reason recorded; returns the exit status. */
static int not_connected(check_report *r)
{
	cli_error("%s: %s", r->target, r->conn->error);
	r->stage = r->conn->resolved ? "connect" : "dns";
	r->error = r->conn->error;
	return CLI_EXIT_TLS;
}

/* The check through a stack of cli/tls/; returns the exit status. */
static int check_stack(check_report *r, const check_args *a, certpin_policy **policy, capture *cap)
{
	static const int exit_for[] = { CLI_EXIT_OK, CLI_EXIT_USAGE, CLI_EXIT_TLS, CLI_EXIT_INTERNAL };
	static const char *const stage_for[] = { NULL, "trust", "trust", "internal" };
	certpin_ssl_options sopts;
	cli_stack_result sr;
	void *client = NULL;
	int status = prepare_policy(r, a, policy, &sopts, cap);

	if (status != 0)
		return status;
	sopts.on_result = on_result;
	const cli_stack_args sa = { a->cafile, *policy, &sopts, cli_is_ip_literal(r->norm) ? NULL : r->norm, r->norm,
		CLI_CONNECT_TIMEOUT * 1000 };
	memset(&sr, 0, sizeof(sr));
	sr.rc = CERTPIN_E_STATE;
	int ready = a->stack->setup(&client, &sa, &sr);
	if (ready != CLI_STACK_READY) {
		cli_error("%s%s", sr.error, ready == CLI_STACK_BAD_CAFILE ? " (--cafile)" : "");
		status = fail_at(r, stage_for[ready], exit_for[ready]);
	} else if (cli_conn_open(r->conn, &r->t) != 0) {
		status = not_connected(r);
	} else {
		a->stack->handshake(client, r->conn->fd, &sr);
		status = evaluate_stack(r, *policy, cap, &sr);
	}
	a->stack->close(client);
	return status;
}

static int run_check(const check_args *a)
{
	check_report r;
	capture cap;
	certpin_policy *policy = NULL;
	SSL_CTX *ctx = NULL;
	cli_conn conn;
	int status;

	report_init(&r, &conn);
	memset(&cap, 0, sizeof(cap));
	r.target = a->target;
	r.insecure = a->insecure;
	r.stack = a->tls ? a->tls : "openssl";
	if (a->stack) {
		status = check_stack(&r, a, &policy, &cap);
	} else if ((status = prepare(&r, a, &policy, &ctx, &cap)) == 0) {
		status = cli_tls_connect(&conn, ctx, &r.t, r.name, r.name);
		status = conn.tcp_ok ? evaluate(&r, policy, &cap) : not_connected(&r);
	}
	status = finish(&r, policy, a->json, status);
	free(r.lines);
	free(cap.chain);
	cli_conn_close(&conn);
	SSL_CTX_free(ctx);
	certpin_policy_free(policy);
	return status;
}

/* After a parse error the options that follow it were not read; --json anywhere still asks for JSON. */
/* A usage error: with --json, the same object as for any other outcome. */
static int usage_error(int json, int status)
{
	check_report r;
	cli_conn conn;

	report_init(&r, &conn);
	fail_at(&r, "usage", status);
	return json ? finish(&r, NULL, 1, status) : status;
}

int cmd_check(int argc, char **argv)
{
	check_args a;
	cli_args args;
	int status;

	memset(&a, 0, sizeof(a));
	const cli_opt opts[] = {
		CLI_VALUE("--policy", 'p', &a.policy),
		CLI_VALUE("--cafile", 'c', &a.cafile),
		CLI_VALUE("--servername", 's', &a.servername),
		CLI_VALUE("--tls", 0, &a.tls),
		CLI_FLAG("--insecure-pin-only", 0, &a.insecure),
		CLI_FLAG("--json", 'j', &a.json),
		CLI_OPT_END,
	};
	const cli_spec spec = { "check", usage_check, opts, 1, 1, "exactly one HOST[:PORT]", 0 };

	status = cli_start(&args, &spec, argc, argv);
	if (status == CLI_EXIT_USAGE) {
		/* --json among the arguments an option error left unread counts too */
		a.json |= cli_flag_given(opts, "--json", argc - args.unparsed, argv + args.unparsed);
		return usage_error(a.json, status);
	}
	if (status != CLI_RUN)
		return status;
	if (!a.policy) {
		cli_error("check: --policy FILE is required");
		return usage_error(a.json, CLI_EXIT_USAGE);
	}
	if (a.tls && strcmp(a.tls, "openssl") != 0 && !(a.stack = cli_stack_find(a.tls))) {
		if (strcmp(a.tls, "mbedtls") == 0 || strcmp(a.tls, "wolfssl") == 0 || strcmp(a.tls, "gnutls") == 0)
			cli_error("check: --tls %s: this certpin was built without the %s adapter (it has: %s)", a.tls,
				a.tls, cli_stack_names());
		else
			cli_error("check: --tls: unknown TLS stack '%s' (this certpin has: %s)", a.tls, cli_stack_names());
		return usage_error(a.json, CLI_EXIT_USAGE);
	}
	a.target = args.operands[0];
	return run_check(&a);
}
