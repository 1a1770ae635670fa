/*
 * certpin monitor: check many TLS endpoints against a pinning policy at once.
 *
 * A bounded pool of worker threads shares one SSL_CTX with the policy
 * attached (certpin_ssl_ctx_attach(); the policy is shared read-only).  Each
 * worker takes the next endpoint, connects without blocking (connect and
 * handshake bounded together by --timeout), and records the library's
 * verdict, the verified chain's digests and the leaf's expiry.  The main
 * thread prints results in input order as soon as they are ready, shows
 * progress on a terminal, and finally updates the --state file, which is
 * how "chain changed since the last run" is detected.
 */
#include "hostsfile.h"
#include "rotation.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define MON_DEFAULT_CONCURRENCY 16
#define MON_MAX_CONCURRENCY 256
#define MON_DEFAULT_TIMEOUT 10
#define MON_MAX_TIMEOUT 300
#define MON_MAX_CHAIN 32             /* digests kept per endpoint (the library checks them all) */
#define MON_MAX_ADDRS 4
#define MON_STATE_MAX (64u * 1024u * 1024u)

void usage_monitor(FILE *f)
{
	fputs("usage: certpin monitor HOSTS-FILE --policy FILE [--cafile FILE] [--state FILE]\n"
		"                       [--concurrency N] [--timeout SECONDS] [--format FMT]\n"
		"                       [--json] [--no-progress]\n"
		"\n"
		"Check every endpoint of HOSTS-FILE ('-': standard input; lines\n"
		"\"HOST[:PORT] [SERVERNAME]\", '#' comments) concurrently with the pinning\n"
		"policy attached, exactly as a client would: PKIX validation, then the pins\n"
		"on the whole verified chain.  One line per endpoint, in file order: pin\n"
		"match or mismatch, the matching pin, days until the leaf certificate and\n"
		"the pinset expire, and whether the chain changed since the last run\n"
		"(--state).\n"
		"\n"
		"  -p, --policy FILE      pinning policy (certpin JSON, Android XML or pin list)\n"
		"  -c, --cafile FILE      trust anchors (default: system store)\n"
		"      --state FILE       JSON file remembering each endpoint's chain between\n"
		"                         runs\n"
		"      --concurrency N    parallel connections (default 16, at most 256)\n"
		"  -t, --timeout S        per-endpoint limit for connect and handshake\n"
		"                         (default 10)\n"
		"  -f, --format FMT       " CLI_IMPORT_FORMATS " (default auto)\n"
		"  -j, --json             one JSON object per line (\"type\": \"host\", then\n"
		"                         \"summary\")\n"
		"      --no-progress      no progress line on stderr (shown only on a terminal)\n"
		"\n"
		"exit status, per endpoint as for certpin check: 0 a client with the policy\n"
		"would connect (match, not pinned, fail-open expired pinset, report-only\n"
		"mismatch -- still shown as FAIL), 1 the pins refuse it (enforced mismatch,\n"
		"fail-closed expired pinset), 2 connection, TLS or PKIX failure, 4 internal\n"
		"error; the worst endpoint decides, in the order 4, 1, 2, 0.  3: usage or\n"
		"input error (also an unwritable --state file when every endpoint gave 0).\n", f);
}

typedef enum mon_status {
	MON_OK = 0,
	MON_WARN = 1,           /* connected, but pins are not in force (not pinned, pinset expired fail-open) */
	MON_PIN_FAIL = 2,       /* pin mismatch (enforce or report-only) or refused expired pinset;
	                           shown whether or not it refused the connection (exit_code) */
	MON_CONN_FAIL = 3       /* connect, TLS or PKIX failure */
} mon_status;

static const char *const status_word[] = { "OK", "WARN", "FAIL", "ERROR" };
static const char *const status_name[] = { "ok", "warning", "pin-failure", "connection-failure" };

typedef struct job {
	const hf_entry *e;
	mon_status status;
	int rc;                         /* certpin_ssl_result() code, CERTPIN_E_STATE if none */
	int exit_code;                  /* what "certpin check" would exit with for this endpoint */
	int have_res;
	certpin_result res;
	char error[256];
	char address[64];
	char tls_version[16];
	certpin_chain_elem *chain;      /* verified chain digests (malloc'd), or NULL */
	size_t n;
	int have_leaf_expiry;
	int leaf_days;
	int64_t leaf_not_after;
	long ms;
	int done;
	/* filled by the main thread */
	const char *change;             /* "new", "unchanged", "changed", "unknown" */
	char change_detail[160];
} job;

typedef struct pool {
	SSL_CTX *ctx;
	const certpin_policy *policy;
	job *jobs;
	size_t njobs;
	size_t next;
	size_t ndone;
	int timeout_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} pool;

/* The job a worker thread is handshaking, for the failure callback. */
static _Thread_local job *tl_job;

static void on_failure(const certpin_result *result, const certpin_chain_elem *chain, size_t n, void *payload)
{
	job *j = tl_job;

	(void)result;
	(void)payload;
	if (!j || !chain || n == 0)
		return;
	if (n > MON_MAX_CHAIN)
		n = MON_MAX_CHAIN;
	free(j->chain);
	j->n = 0;
	j->chain = malloc(n * sizeof(*chain));
	if (!j->chain)
		return;
	memcpy(j->chain, chain, n * sizeof(*chain));
	j->n = n;
}

static int tcp_connect(job *j, int64_t deadline)
{
	cli_tcp t = { .max_addrs = MON_MAX_ADDRS, .deadline = deadline };
	int fd = cli_tcp_connect(&t, j->e->host, j->e->port);

	if (fd < 0)
		snprintf(j->error, sizeof(j->error), "cannot %s: %s", t.gai_error ? "resolve the host name" : "connect",
			cli_tcp_reason(&t));
	snprintf(j->address, sizeof(j->address), "%s", t.address);
	return fd;
}

static void handshake_error(job *j, SSL *ssl, int sslerr, int timed_out)
{
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (timed_out)
		snprintf(j->error, sizeof(j->error), "TLS handshake timed out");
	else if (vr != X509_V_OK && vr != X509_V_ERR_APPLICATION_VERIFICATION)
		snprintf(j->error, sizeof(j->error), "certificate verification failed: %s",
			X509_verify_cert_error_string(vr));
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(j->error, sizeof(j->error), "TLS handshake failed: %s", buf);
	} else if (sslerr == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(j->error, sizeof(j->error), "TLS handshake failed: %s", strerror(errno));
	else
		snprintf(j->error, sizeof(j->error), "TLS handshake failed: connection closed by peer");
}

/* Digests of the verified chain and the leaf's expiry after a completed handshake. */
static void record_chain(job *j, SSL *ssl)
{
	STACK_OF(X509) *sk = SSL_get0_verified_chain(ssl);
	int n = sk ? sk_X509_num(sk) : 0;

	free(j->chain);
	j->chain = NULL;
	j->n = 0;
	if (n > MON_MAX_CHAIN)
		n = MON_MAX_CHAIN;
	if (n <= 0 || !(j->chain = calloc((size_t)n, sizeof(*j->chain))))
		return;
	for (int i = 0; i < n; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(sk, i), &der);

		if (len <= 0 || certpin_chain_elem_from_der(&j->chain[j->n], der, (size_t)len) != CERTPIN_OK) {
			OPENSSL_free(der);
			j->n = 0;
			return;
		}
		OPENSSL_free(der);
		j->n++;
	}
}

/*
 * The leaf's expiry.  After a refused handshake (pin mismatch) OpenSSL has no
 * peer certificate, but the chain the verify callback saw is still there:
 * the verified chain, else the chain the server sent.
 */
static void record_leaf_expiry(job *j, SSL *ssl)
{
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *sk;
	const ASN1_TIME *na;
	int days = 0, secs = 0;

	if (!leaf && (sk = SSL_get0_verified_chain(ssl)) != NULL && sk_X509_num(sk) > 0)
		leaf = sk_X509_value(sk, 0);
	if (!leaf && (sk = SSL_get_peer_cert_chain(ssl)) != NULL && sk_X509_num(sk) > 0)
		leaf = sk_X509_value(sk, 0);
	if (!leaf || !(na = X509_get0_notAfter(leaf)))
		return;
	if (ASN1_TIME_diff(&days, &secs, NULL, na) != 1)
		return;
	j->have_leaf_expiry = 1;
	j->leaf_days = days;
	j->leaf_not_after = (int64_t)time(NULL) + (int64_t)days * 86400 + secs;
}

static void check_one(pool *pl, job *j)
{
	int64_t start = cli_mono_ms(), deadline = start + pl->timeout_ms;
	SSL *ssl = NULL;
	int fd, ret, sslerr = 0, timed_out = 0;

	j->rc = CERTPIN_E_STATE;
	j->status = MON_CONN_FAIL;
	j->exit_code = CLI_EXIT_TLS;
	fd = tcp_connect(j, deadline);
	if (fd < 0)
		goto done;
	ssl = SSL_new(pl->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		snprintf(j->error, sizeof(j->error), "cannot create a TLS connection");
		goto done;
	}
	/* RFC 6066: SNI carries host names only */
	if (!j->e->servername_is_ip && SSL_set_tlsext_host_name(ssl, j->e->servername) != 1) {
		snprintf(j->error, sizeof(j->error), "invalid server name");
		goto done;
	}
	if (j->e->servername_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), j->e->servername) != 1 :
			SSL_set1_host(ssl, j->e->servername) != 1) {
		snprintf(j->error, sizeof(j->error), "invalid verification name");
		goto done;
	}
	ERR_clear_error();
	tl_job = j;
	for (;;) {
		errno = 0;
		ret = SSL_connect(ssl);
		if (ret == 1)
			break;
		sslerr = SSL_get_error(ssl, ret);
		if (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE) {
			int w = cli_wait_fd(fd, sslerr == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);

			if (w > 0)
				continue;
			timed_out = w == 0;
		}
		break;
	}
	tl_job = NULL;

	j->rc = certpin_ssl_result(&j->res, ssl);
	j->have_res = j->rc != CERTPIN_E_STATE && j->rc != CERTPIN_E_PKIX && j->rc != CERTPIN_E_TLS &&
		j->rc != CERTPIN_E_CHAIN && j->rc != CERTPIN_E_HOSTNAME;
	j->exit_code = cli_exit_for_handshake(ret == 1, j->rc);
	record_leaf_expiry(j, ssl);
	if (ret == 1) {
		snprintf(j->tls_version, sizeof(j->tls_version), "%s", SSL_get_version(ssl));
		record_chain(j, ssl);
		if (j->rc == CERTPIN_E_STATE) {
			snprintf(j->error, sizeof(j->error), "the pin check did not run");
			j->status = MON_CONN_FAIL;
		} else if (j->res.verdict == CERTPIN_VERDICT_MISMATCH) {
			j->status = MON_PIN_FAIL;      /* allowed only because the rule is report-only */
		} else if (j->res.verdict == CERTPIN_VERDICT_MATCH) {
			j->status = MON_OK;
		} else {
			j->status = MON_WARN;
		}
		(void)SSL_shutdown(ssl);        /* one non-blocking attempt to send close_notify */
	} else if (j->rc == CERTPIN_E_PIN_MISMATCH || j->rc == CERTPIN_E_PINSET_EXPIRED) {
		j->status = MON_PIN_FAIL;
		snprintf(j->error, sizeof(j->error), "refused: %s", certpin_strerror(j->rc));
	} else {
		handshake_error(j, ssl, sslerr, timed_out);
		if (j->rc == CERTPIN_E_PKIX)
			j->n = 0;               /* no verified chain */
	}
done:
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	j->ms = (long)(cli_mono_ms() - start);
}

static void *worker(void *arg)
{
	pool *pl = arg;

	for (;;) {
		job *j;

		pthread_mutex_lock(&pl->mu);
		if (pl->next == pl->njobs) {
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		j = &pl->jobs[pl->next++];
		pthread_mutex_unlock(&pl->mu);

		check_one(pl, j);

		pthread_mutex_lock(&pl->mu);
		j->done = 1;
		pl->ndone++;
		pthread_cond_signal(&pl->cv);
		pthread_mutex_unlock(&pl->mu);
	}
}

/* ---- state file ------------------------------------------------------------ */

/* The SPKI and certificate pins of chain element `e`, in the default style. */
static void elem_pins(char spki[CERTPIN_PIN_STRLEN], char cert[CERTPIN_PIN_STRLEN], const certpin_chain_elem *e)
{
	certpin_pin s = { CERTPIN_PIN_SPKI_SHA256, { 0 } }, c = { CERTPIN_PIN_CERT_SHA256, { 0 } };

	memcpy(s.digest, e->spki_sha256, CERTPIN_DIGEST_LEN);
	memcpy(c.digest, e->cert_sha256, CERTPIN_DIGEST_LEN);
	cli_pin_string(spki, &s, CERTPIN_STYLE_DEFAULT);
	cli_pin_string(cert, &c, CERTPIN_STYLE_DEFAULT);
}

static void state_key(char *out, size_t len, const hf_entry *e)
{
	char ep[300];

	hostsfile_endpoint(ep, sizeof(ep), e);
	snprintf(out, len, "%s %s", ep, e->servername);
}

static json_t *chain_state(const job *j)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < j->n; i++) {
		char ss[CERTPIN_PIN_STRLEN], cs[CERTPIN_PIN_STRLEN];
		json_t *o;

		elem_pins(ss, cs, &j->chain[i]);
		o = json_pack("{s:s, s:s}", "spki", ss, "cert", cs);
		if (!o || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Load the state file; a missing file is an empty state.  NULL after a message. */
static json_t *state_load(const char *path)
{
	json_error_t jerr;
	json_t *root, *hosts;
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return json_pack("{s:i, s:{}}", "version", 1, "hosts");
		cli_error("monitor: %s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		cli_error("monitor: %s: is a directory (--state names a file)", path);
		return NULL;
	}
	if (st.st_size > (off_t)MON_STATE_MAX) {
		cli_error("monitor: %s: state file too large", path);
		return NULL;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		cli_error("monitor: %s:%d: invalid state file: %s (delete it to start over)", path, jerr.line, jerr.text);
		return NULL;
	}
	hosts = json_object_get(root, "hosts");
	if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
			!json_is_object(hosts)) {
		cli_error("monitor: %s: not a certpin monitor state file (version 1)", path);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Compare with the previous chain; sets j->change and j->change_detail. */
static void compare_state(job *j, json_t *hosts)
{
	char key[600];
	json_t *prev, *chain;

	j->change = "unknown";
	if (j->n == 0)
		return;
	state_key(key, sizeof(key), j->e);
	prev = json_object_get(hosts, key);
	chain = prev ? json_object_get(prev, "chain") : NULL;
	if (!json_is_array(chain)) {
		j->change = "new";
		return;
	}
	json_t *now = chain_state(j);
	if (!now)
		return;
	if (json_equal(now, chain)) {
		j->change = "unchanged";
		json_decref(now);
		return;
	}
	j->change = "changed";
	if (json_array_size(chain) != j->n) {
		snprintf(j->change_detail, sizeof(j->change_detail), "chain length %zu -> %zu",
			json_array_size(chain), j->n);
	} else {
		for (size_t i = 0; i < j->n; i++) {
			json_t *a = json_array_get(chain, i), *b = json_array_get(now, i);

			if (json_equal(a, b))
				continue;
			snprintf(j->change_detail, sizeof(j->change_detail), "%s (depth %zu): %s", rot_position(i, j->n), i,
				json_equal(json_object_get(a, "spki"), json_object_get(b, "spki")) ?
				"new certificate, same key" : "new key");
			break;
		}
	}
	json_decref(now);
}

static int state_save(const char *path, json_t *root, const job *jobs, size_t n)
{
	json_t *hosts = json_object_get(root, "hosts");
	char tmp[4096], key[600], t[32];
	int fd;
	FILE *f;

	cli_time_rfc3339(t, (int64_t)time(NULL));
	for (size_t i = 0; i < n; i++) {
		json_t *chain, *o;

		if (jobs[i].n == 0)
			continue;       /* nothing seen: keep what the last run recorded */
		chain = chain_state(&jobs[i]);
		o = chain ? json_pack("{s:o, s:s}", "chain", chain, "seen", t) : NULL;
		state_key(key, sizeof(key), jobs[i].e);
		if (!o || json_object_set_new(hosts, key, o) != 0)
			return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (json_dumpf(root, f, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || fputc('\n', f) == EOF) {
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

static int pinset_days(const certpin_policy *p, const job *j, int64_t now, int64_t *expires)
{
	certpin_host_info h;

	*expires = 0;
	if (!j->have_res || j->res.rule < 0 || certpin_policy_host(&h, p, (size_t)j->res.rule) != CERTPIN_OK ||
			h.expires == 0)
		return 0;
	*expires = h.expires + (int64_t)h.clock_skew;
	int64_t d = *expires - now;
	return (int)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

static void print_text(const certpin_policy *p, const job *j, int64_t now)
{
	char ep[300], s[CERTPIN_PIN_STRLEN];
	int64_t expires;

	hostsfile_endpoint(ep, sizeof(ep), j->e);
	printf("%-5s %s", status_word[j->status], ep);
	if (strcmp(j->e->servername, j->e->host) != 0)
		printf(" (%s)", j->e->servername);
	printf(":");
	if (j->have_res && j->res.rule >= 0) {
		certpin_host_info h;

		if (certpin_policy_host(&h, p, (size_t)j->res.rule) == CERTPIN_OK) {
			if (j->res.verdict == CERTPIN_VERDICT_MATCH) {
				certpin_pin pin;
				certpin_position pos;

				if (certpin_policy_host_pin(&pin, &pos, p, (size_t)j->res.rule, (size_t)j->res.pin) == CERTPIN_OK) {
					cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
					printf(" match %s (%s) at depth %d;", s, certpin_position_name(pos), j->res.depth);
				}
			} else if (j->res.verdict == CERTPIN_VERDICT_MISMATCH) {
				printf(" PIN MISMATCH (rule %s, %s);", h.pattern, certpin_mode_name(h.mode));
				if (j->n > 0) {
					certpin_pin leaf = { CERTPIN_PIN_SPKI_SHA256, { 0 } };

					memcpy(leaf.digest, j->chain[0].spki_sha256, CERTPIN_DIGEST_LEN);
					cli_pin_string(s, &leaf, CERTPIN_STYLE_DEFAULT);
					printf(" served leaf key %s;", s);
				}
			} else if (j->res.verdict == CERTPIN_VERDICT_PINSET_EXPIRED) {
				printf(" pinset expired (rule %s, %s%s);", h.pattern, certpin_expiry_action_name(h.on_expiry),
					j->res.allowed ? ", pins not checked" : ", refused");
			}
		}
	} else if (j->have_res && j->res.verdict == CERTPIN_VERDICT_NOT_PINNED) {
		printf(" not pinned;");
	}
	if (j->status == MON_CONN_FAIL || (j->status == MON_PIN_FAIL && j->error[0]))
		printf(" %s;", j->error);
	if (j->have_leaf_expiry && j->leaf_not_after >= now)
		printf(" leaf expires in %d days;", j->leaf_days);
	else if (j->have_leaf_expiry)
		printf(" leaf expired %lld days ago;", (long long)((now - j->leaf_not_after + 86399) / 86400));
	int pd = pinset_days(p, j, now, &expires);
	if (expires && expires > now)
		printf(" pinset expires in %d days;", pd);
	else if (expires)
		printf(" pinset expired %d days ago;", -pd);
	printf(" chain %s", j->change);
	if (j->change_detail[0])
		printf(" (%s)", j->change_detail);
	printf("; %ld ms\n", j->ms);
}

/* "rule", "mode", "matched_pin" and "depth" of job j.  Nonzero if one could not be set. */
static int rule_json(json_t *o, const certpin_policy *p, const job *j)
{
	certpin_host_info h;
	certpin_pin pin;
	certpin_position pos;
	char s[CERTPIN_PIN_STRLEN];
	int have_rule = j->have_res && j->res.rule >= 0 && certpin_policy_host(&h, p, (size_t)j->res.rule) == CERTPIN_OK;
	int bad = 0;

	bad |= json_object_set_new(o, "rule", have_rule ? json_string(h.pattern) : json_null());
	bad |= json_object_set_new(o, "mode", have_rule ? json_string(certpin_mode_name(h.mode)) : json_null());
	if (have_rule && j->res.pin >= 0) {
		if (certpin_policy_host_pin(&pin, &pos, p, (size_t)j->res.rule, (size_t)j->res.pin) == CERTPIN_OK) {
			cli_pin_string(s, &pin, CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(o, "matched_pin", json_string(s));
		}
		bad |= json_object_set_new(o, "depth", json_integer(j->res.depth));
	} else {
		bad |= json_object_set_new(o, "matched_pin", json_null());
		bad |= json_object_set_new(o, "depth", json_null());
	}
	return bad;
}

/* "leaf_not_after", "leaf_days_left", "pinset_expires" and "pinset_days_left".  Nonzero on failure. */
static int expiry_json(json_t *o, const certpin_policy *p, const job *j, int64_t now)
{
	int64_t expires;
	int pd = pinset_days(p, j, now, &expires), bad = 0;
	char t[32];

	if (j->have_leaf_expiry) {
		cli_time_rfc3339(t, j->leaf_not_after);
		bad |= json_object_set_new(o, "leaf_not_after", json_string(t));
		bad |= json_object_set_new(o, "leaf_days_left", json_integer(j->leaf_days));
	} else {
		bad |= json_object_set_new(o, "leaf_not_after", json_null());
		bad |= json_object_set_new(o, "leaf_days_left", json_null());
	}
	if (expires) {
		cli_time_rfc3339(t, expires);
		bad |= json_object_set_new(o, "pinset_expires", json_string(t));
		bad |= json_object_set_new(o, "pinset_days_left", json_integer(pd));
	} else {
		bad |= json_object_set_new(o, "pinset_expires", json_null());
		bad |= json_object_set_new(o, "pinset_days_left", json_null());
	}
	return bad;
}

/* The verified chain of job j: depth, position and pins per certificate; NULL on failure. */
static json_t *chain_json(const job *j)
{
	json_t *chain = json_array();

	for (size_t i = 0; chain && i < j->n; i++) {
		char ss[CERTPIN_PIN_STRLEN], cs[CERTPIN_PIN_STRLEN];

		elem_pins(ss, cs, &j->chain[i]);
		if (json_array_append_new(chain, json_pack("{s:I, s:s, s:s, s:s}", "depth", (json_int_t)i, "position",
				rot_position(i, j->n), "spki_pin", ss, "cert_pin", cs)) != 0) {
			json_decref(chain);
			return NULL;
		}
	}
	return chain;
}

static int print_json(const certpin_policy *p, const job *j, int64_t now)
{
	json_t *o = json_object(), *chain = chain_json(j);
	char ep[300];
	int bad = !o || !chain;

	if (bad) {
		json_decref(o);
		json_decref(chain);
		return -1;
	}
	hostsfile_endpoint(ep, sizeof(ep), j->e);
	bad |= json_object_set_new(o, "type", json_string("host"));
	bad |= json_object_set_new(o, "endpoint", json_string(ep));
	bad |= json_object_set_new(o, "host", json_string(j->e->host));
	bad |= json_object_set_new(o, "port", json_integer(atoi(j->e->port)));
	bad |= json_object_set_new(o, "servername", json_string(j->e->servername));
	bad |= json_object_set_new(o, "line", json_integer(j->e->line));
	bad |= json_object_set_new(o, "status", json_string(status_name[j->status]));
	bad |= json_object_set_new(o, "address", cli_json_str(j->address[0] ? j->address : NULL));
	bad |= json_object_set_new(o, "tls_version", cli_json_str(j->tls_version[0] ? j->tls_version : NULL));
	bad |= json_object_set_new(o, "result", json_string(j->rc == CERTPIN_E_STATE ? "none" : certpin_error_name(j->rc)));
	bad |= json_object_set_new(o, "verdict", j->have_res ? json_string(certpin_verdict_name(j->res.verdict)) : json_null());
	bad |= rule_json(o, p, j);
	bad |= json_object_set_new(o, "error", cli_json_str(j->error[0] ? j->error : NULL));
	bad |= json_object_set_new(o, "allowed", json_boolean(j->have_res && j->res.allowed));
	bad |= json_object_set_new(o, "exit_code", json_integer(j->exit_code));
	bad |= expiry_json(o, p, j, now);
	bad |= json_object_set_new(o, "chain", chain);
	bad |= json_object_set_new(o, "chain_change", json_string(j->change));
	bad |= json_object_set_new(o, "chain_change_detail", cli_json_str(j->change_detail[0] ? j->change_detail : NULL));
	bad |= json_object_set_new(o, "ms", json_integer(j->ms));
	if (bad || json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
		json_decref(o);
		return -1;
	}
	json_decref(o);
	fputc('\n', stdout);
	return 0;
}

/* ---- main ---------------------------------------------------------------------- */

/*
 * The run's exit status is the worst endpoint's: internal error (4), then
 * refused by the pins (1), then connection or TLS failure (2), then 0.
 */
static int exit_rank(int code)
{
	switch (code) {
	case CLI_EXIT_INTERNAL:
		return 3;
	case CLI_EXIT_REFUSED:
		return 2;
	case CLI_EXIT_TLS:
		return 1;
	default:
		return 0;
	}
}

typedef struct mon_args {
	const char *hosts, *policy, *cafile, *state, *concurrency, *timeout, *format;
	int json, no_progress;
} mon_args;

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f) {
		cli_error("monitor: %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t r;

		if (cap - n < 4096) {
			char *nb;

			if (cap >= CLI_MAX_INPUT) {
				cli_error("monitor: %s: larger than %u bytes", path, CLI_MAX_INPUT);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap);
			if (!nb) {
				cli_error("out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				cli_error("monitor: %s: read error", path);
				goto fail;
			}
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

/* The endpoints of the hosts file `path` ("-": standard input).  0 or an exit status after a message. */
static int load_hosts(hf_entry **entries, size_t *n, const char *path)
{
	char *data, err[300];
	size_t len = 0;
	int rc;

	if (!(data = read_all(path, &len)))
		return CLI_EXIT_USAGE;
	rc = hostsfile_parse(entries, n, data, len, err, sizeof(err));
	free(data);
	if (rc == -2) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	if (rc != 0) {
		cli_error("monitor: %s: %s", path, err);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The TLS context every worker shares: trust anchors, no resumption, the policy attached.  0 or an exit status. */
static int pool_ctx(pool *pl, const char *cafile, certpin_policy *policy)
{
	certpin_ssl_options so = CERTPIN_SSL_OPTIONS_INIT;
	int status = CLI_EXIT_INTERNAL, rc;

	pl->ctx = cli_ssl_ctx_new(cafile, &status);
	if (!pl->ctx)
		return status;
	/* every check is a full handshake: a resumed session would skip verification */
	SSL_CTX_set_session_cache_mode(pl->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(pl->ctx, SSL_OP_NO_TICKET);
	so.on_failure = on_failure;
	rc = certpin_ssl_ctx_attach(pl->ctx, policy, &so);
	if (rc != CERTPIN_OK) {
		cli_error("monitor: cannot attach the policy: %s", certpin_strerror(rc));
		return CLI_EXIT_INTERNAL;
	}
	pl->policy = policy;
	return 0;
}

/* Start up to `concurrency` workers on the jobs; how many run (0: message printed). */
static size_t pool_start(pool *pl, pthread_t *threads, size_t nthreads)
{
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->cv, NULL);
	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i], NULL, worker, pl) != 0) {
			nthreads = i;
			break;
		}
	}
	if (nthreads == 0)
		cli_error("monitor: cannot start worker threads");
	return nthreads;
}

/* Stop handing out work, wait for the workers and free the pool's locks. */
static void pool_stop(pool *pl, pthread_t *threads, size_t nthreads)
{
	pthread_mutex_lock(&pl->mu);
	pl->next = pl->njobs;
	pthread_mutex_unlock(&pl->mu);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_cond_destroy(&pl->cv);
	pthread_mutex_destroy(&pl->mu);
}

/* What the run counts: endpoints per status, the worst exit status. */
typedef struct tally {
	size_t counts[4];
	int worst;
} tally;

/* Print job j's line (after comparing with the state) and count it. */
static void print_job(const mon_args *a, const certpin_policy *policy, job *j, json_t *state, tally *t, int64_t now)
{
	if (state)
		compare_state(j, json_object_get(state, "hosts"));
	else
		j->change = "unknown";
	t->counts[j->status]++;
	if (exit_rank(j->exit_code) > exit_rank(t->worst))
		t->worst = j->exit_code;
	if (!a->json)
		print_text(policy, j, now);
	else if (print_json(policy, j, now) != 0)
		cli_error("monitor: cannot write JSON for line %u", j->e->line);
	fflush(stdout);
}

/* Print the results in file order as the workers finish them, with a progress line on a terminal. */
static void print_results(const mon_args *a, pool *pl, json_t *state, tally *t, int64_t now)
{
	int progress = !a->no_progress && isatty(STDERR_FILENO);
	size_t printed = 0;

	pthread_mutex_lock(&pl->mu);
	while (printed < pl->njobs) {
		while (printed < pl->njobs && !pl->jobs[printed].done) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&pl->cv, &pl->mu, &ts);
			if (progress) {
				fprintf(stderr, "\r\033[Kmonitor: %zu/%zu checked", pl->ndone, pl->njobs);
				fflush(stderr);
			}
		}
		while (printed < pl->njobs && pl->jobs[printed].done) {
			if (progress)
				fputs("\r\033[K", stderr);
			print_job(a, pl->policy, &pl->jobs[printed++], state, t, now);
		}
	}
	pthread_mutex_unlock(&pl->mu);
	if (progress)
		fputs("\r\033[K", stderr);
}

static void print_summary(const mon_args *a, const tally *t, size_t n, double secs, unsigned long concurrency)
{
	const size_t *c = t->counts;

	if (a->json) {
		json_t *sum = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:i}", "type", "summary",
			"hosts", (json_int_t)n, "ok", (json_int_t)c[MON_OK], "warnings",
			(json_int_t)c[MON_WARN], "pin_failures", (json_int_t)c[MON_PIN_FAIL],
			"connection_failures", (json_int_t)c[MON_CONN_FAIL], "seconds", secs,
			"concurrency", (json_int_t)concurrency, "exit_code", t->worst);
		if (!sum || json_dumpf(sum, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) != 0)
			cli_error("monitor: cannot write the JSON summary");
		else
			fputc('\n', stdout);
		json_decref(sum);
	} else {
		printf("monitor: %zu endpoint%s: %zu ok, %zu warning%s, %zu pin failure%s, %zu connection failure%s "
			"(%.2f s, concurrency %lu)\n", n, n == 1 ? "" : "s", c[MON_OK],
			c[MON_WARN], c[MON_WARN] == 1 ? "" : "s", c[MON_PIN_FAIL],
			c[MON_PIN_FAIL] == 1 ? "" : "s", c[MON_CONN_FAIL], c[MON_CONN_FAIL] == 1 ? "" : "s",
			secs, concurrency);
	}
	fflush(stdout);
}

/* Check every endpoint with the policy, print, save the state: the exit status. */
static int check_all(const mon_args *a, pool *pl, json_t *state, unsigned long concurrency)
{
	size_t nthreads = pl->njobs < concurrency ? pl->njobs : concurrency;
	pthread_t *threads = calloc(nthreads, sizeof(*threads));
	int64_t t0 = cli_mono_ms(), now = (int64_t)time(NULL);
	tally t = { { 0, 0, 0, 0 }, CLI_EXIT_OK };

	if (!threads) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	nthreads = pool_start(pl, threads, nthreads);
	if (nthreads > 0)
		print_results(a, pl, state, &t, now);
	pool_stop(pl, threads, nthreads);
	free(threads);
	if (nthreads == 0)
		return CLI_EXIT_INTERNAL;
	/* milliseconds, as seconds with three decimals (not 0.017000000000000001) */
	print_summary(a, &t, pl->njobs, (double)(cli_mono_ms() - t0) / 1000.0, concurrency);
	if (state && state_save(a->state, state, pl->jobs, pl->njobs) != 0) {
		cli_error("monitor: %s: cannot write the state file", a->state);
		if (t.worst == CLI_EXIT_OK)
			return CLI_EXIT_USAGE;
	}
	return t.worst;
}

static int run_monitor(const mon_args *a)
{
	certpin_import_format fmt = CERTPIN_IMPORT_AUTO;
	certpin_policy *policy = NULL;
	hf_entry *entries = NULL;
	size_t nentries = 0;
	unsigned long concurrency = MON_DEFAULT_CONCURRENCY, timeout = MON_DEFAULT_TIMEOUT;
	json_t *state = NULL;
	int status;
	pool pl;

	memset(&pl, 0, sizeof(pl));
	if (rot_opt_format(&fmt, "monitor", a->format) ||
	    rot_opt_uint(&concurrency, "monitor", "--concurrency", a->concurrency, 1, MON_MAX_CONCURRENCY, "") ||
	    rot_opt_uint(&timeout, "monitor", "--timeout", a->timeout, 1, MON_MAX_TIMEOUT, " seconds"))
		return CLI_EXIT_USAGE;
	if ((status = load_hosts(&entries, &nentries, a->hosts)) != 0)
		return status;
	const cli_policy_opts po = { .import = 1, .format = fmt };
	if ((status = cli_policy_load(&policy, a->policy, &po)) != CLI_EXIT_OK)
		goto out;
	if (a->state && !(state = state_load(a->state))) {
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if ((status = pool_ctx(&pl, a->cafile, policy)) != 0)
		goto out;
	if (!(pl.jobs = calloc(nentries, sizeof(*pl.jobs)))) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < nentries; i++)
		pl.jobs[i].e = &entries[i];
	pl.njobs = nentries;
	pl.timeout_ms = (int)timeout * 1000;
	status = check_all(a, &pl, state, concurrency);
out:
	for (size_t i = 0; pl.jobs && i < pl.njobs; i++)
		free(pl.jobs[i].chain);
	free(pl.jobs);
	SSL_CTX_free(pl.ctx);
	json_decref(state);
	certpin_policy_free(policy);
	free(entries);
	return status;
}

int cmd_monitor(int argc, char **argv)
{
	mon_args a;
	cli_args args;
	int status;

	memset(&a, 0, sizeof(a));
	const cli_opt opts[] = {
		CLI_VALUE("--policy", 'p', &a.policy),
		CLI_VALUE("--cafile", 'c', &a.cafile),
		CLI_VALUE("--state", 0, &a.state),
		CLI_VALUE("--concurrency", 0, &a.concurrency),
		CLI_VALUE("--timeout", 't', &a.timeout),
		CLI_VALUE("--format", 'f', &a.format),
		CLI_FLAG("--json", 'j', &a.json),
		CLI_FLAG("--no-progress", 0, &a.no_progress),
		CLI_OPT_END,
	};
	const cli_spec spec = { "monitor", usage_monitor, opts, 1, 1, "exactly one HOSTS-FILE", 0 };

	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	if (!a.policy) {
		cli_error("monitor: --policy FILE is required");
		return CLI_EXIT_USAGE;
	}
	a.hosts = args.operands[0];
	return run_monitor(&a);
}
