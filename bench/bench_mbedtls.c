/*
 * bench_mbedtls: the mbedTLS adapter's cost (libcertpin-mbedtls).
 *
 *   bench_mbedtls [--control] [CHECKS] [CHECK_RUNS] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]
 *
 * Material, made in memory at start with OpenSSL (bench_pki.c) and handed
 * to mbedTLS as DER: every key a fresh P-256 key.
 *
 * 1. The pin check of a verified chain of 3, hashing included, as a
 *    handshake runs it: CHAINS (16) chains root -> intermediate -> leaf,
 *    each certificate with its own key and each leaf for its own host,
 *    verified once by mbedtls_x509_crt_verify() (host name set).  One
 *    context per chain and case is set up with certpin_mbedtls_setup(),
 *    and the verify callback that installs is called as mbedTLS calls it
 *    after building the chain: at depths 2, 1 and 0, each with its
 *    certificate and no flag.  (mbedTLS 2.28 has no getter for a context's
 *    callback: the bench reaches it by the module's internal header, the
 *    same function.)  At depth 0 the adapter hands the chain to the engine,
 *    which looks the host's rule up in a policy of POLICY_HOSTS (1024)
 *    rules, hashes from the leaf up to the first match and decides.  Cases,
 *    as bench_verify's: leaf pin (one digest), root pin at position any
 *    (three), mismatch (three, refused).  CHECKS / 10 checks per run,
 *    CHECK_RUNS runs (default 7), the cases interleaved run by run, the
 *    checks rotating over the 16 chains; per case the median ns per check
 *    with the smallest and largest run.  For scale, interleaved run by run,
 *    the engine alone: certpin_binding_check() on the same chains as DER,
 *    the handshake built as the adapter builds it.
 * 2. What the adapter adds to a full handshake.  HOSTS (default 32, at least
 *    32) server certificates, each for its own host with its own key, sent
 *    with the intermediate; one mbedTLS server configuration per host; the
 *    clients trust the root.  Two clients, each one configuration for all
 *    its handshakes (TLS 1.2, VERIFY_REQUIRED, a CTR-DRBG):
 *      A  plain mbedTLS: mbedtls_ssl_set_hostname() per connection;
 *      B  the same with certpin_mbedtls_conf_attach() of a policy of
 *         POLICY_HOSTS rules (each host's leaf key pinned with a backup
 *         pin, the rest other names, a few wildcards), and per connection
 *         certpin_mbedtls_setup() in place of mbedtls_ssl_set_hostname()
 *         and certpin_mbedtls_conn_free() after (both timed as client
 *         work).  With --control B is plain mbedTLS too.
 *    Client and server run in this thread over in-memory buffers
 *    (mbedtls_ssl_set_bio()), taking turns; each mbedtls_ssl_handshake()
 *    call is timed on its side: "client" is the client's time, "whole"
 *    client + server.  RUNS (5) runs of BLOCKS (100) blocks of PER_BLOCK
 *    (2) handshakes per side, A first in even blocks and B first in odd
 *    ones, both sides going to the same hosts in the same order, the
 *    rotation over the HOSTS continuing from block to block.  Per side the
 *    mean of the runs' medians (smallest..largest), the overheads, and the
 *    median over all blocks of the block's B - A.  Every handshake is a
 *    full one (the servers keep no sessions and issue no tickets).
 *
 * Figures only: the targets (1 us per check, 1 % of the handshake) are
 * printed beside them, never enforced.
 */
#include "certpin.h"
#include "bench_common.h"
#include "bench_pki.h"
#include "certpin/mbedtls.h"
#include "tls/mbedtls/mbedtls_internal.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#define CHAINS 16
#define MIN_HOSTS 32
#define MAX_HOSTS 1024
#define MAX_RUNS 64
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 1000
#define MAX_POLICY_HOSTS 1000000
#define MAX_TURNS 16       /* client and server calls of one handshake */
#define PIPE_BYTES 65536

static _Noreturn void die(const char *msg, int ret)
{
	char buf[128] = "";

	if (ret)
		mbedtls_strerror(ret, buf, sizeof(buf));
	fprintf(stderr, "bench_mbedtls: %s%s%s\n", msg, ret ? ": " : "", buf);
	exit(1);
}

/* ---- material: OpenSSL's certificates and keys as mbedTLS's ------------------------- */

static void add_der(mbedtls_x509_crt *chain, X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der), ret;

	if (len <= 0 || (ret = mbedtls_x509_crt_parse_der(chain, der, (size_t)len)) != 0)
		die("mbedtls_x509_crt_parse_der", len <= 0 ? 0 : ret);
	OPENSSL_free(der);
}

static void key_of(mbedtls_pk_context *pk, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PrivateKey(key, &der), ret;

	mbedtls_pk_init(pk);
	if (len <= 0 || (ret = mbedtls_pk_parse_key(pk, der, (size_t)len, NULL, 0)) != 0)
		die("mbedtls_pk_parse_key", len <= 0 ? 0 : ret);
	OPENSSL_clear_free(der, (size_t)len);
}


/* names[i] pinned to pins[2i], pins[2i+1]; then filler rules up to `total`, one in 50 a wildcard. */
static certpin_policy *make_policy(char (*names)[64], const certpin_pin *pins, size_t n, size_t total)
{
	certpin_policy *p;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory", 0);
	for (size_t i = 0; i < n; i++)
		bench_pki_add_rule(p, names[i], &pins[2 * i], &pins[2 * i + 1]);
	for (size_t i = n; i < total; i++) {
		certpin_pin a = bench_pki_fake_pin(2 * i + MAX_POLICY_HOSTS), b = bench_pki_fake_pin(2 * i + 1 + MAX_POLICY_HOSTS);
		if (i % 50 == 0)
			snprintf(name, sizeof(name), "%s.z%06zu.filler.certpin.test", i % 100 ? "*" : "**", i);
		else
			snprintf(name, sizeof(name), "f%06zu.filler.certpin.test", i);
		bench_pki_add_rule(p, name, &a, &b);
	}
	if (certpin_policy_host_count(p) != total)
		die("the policy has not the intended size", 0);
	return p;
}

/* A client configuration trusting `root`, with its own DRBG. */
typedef struct client {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	certpin_mbedtls *pins;
} client;

static void drbg_seed(mbedtls_ctr_drbg_context *drbg, mbedtls_entropy_context *entropy)
{
	int ret;

	mbedtls_entropy_init(entropy);
	mbedtls_ctr_drbg_init(drbg);
	if ((ret = mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, entropy, NULL, 0)) != 0)
		die("mbedtls_ctr_drbg_seed", ret);
}

static void client_init(client *c, mbedtls_x509_crt *root)
{
	int ret;

	drbg_seed(&c->drbg, &c->entropy);
	mbedtls_ssl_config_init(&c->conf);
	if ((ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		     MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		die("client configuration", ret);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&c->conf, root, NULL);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	c->pins = NULL;
}

static void client_free(client *c)
{
	mbedtls_ssl_config_free(&c->conf);
	certpin_mbedtls_free(c->pins);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
}

/* ---- 1. the pin check through the adapter ------------------------------------------------ */

static const char *const case_names[3] = { "leaf pin", "root pin", "mismatch" };

typedef struct check_env {
	mbedtls_x509_crt chain[CHAINS];         /* leaf, intermediate, root */
	const mbedtls_x509_crt *at[CHAINS][3];
	client cl[3];                           /* per case */
	mbedtls_ssl_context ssl[3][CHAINS];
	certpin_mbedtls_conn *pc[3][CHAINS];
	certpin_binding *b[3];                  /* the same policies for the engine alone */
	char names[CHAINS][64];
} check_env;

static void check_setup(check_env *e, mbedtls_x509_crt *trust, size_t policy_hosts)
{
	char (*names)[64] = e->names;
	certpin_pin pins[3][2 * CHAINS];

	mbedtls_x509_crt_init(trust);
	for (int i = 0; i < CHAINS; i++) {
		char cn[64];
		snprintf(names[i], sizeof(names[i]), "c%02d.check.certpin.test", i);
		snprintf(cn, sizeof(cn), "certpin bench root %d", i);
		bench_cert root = bench_pki_issue(cn, NULL, NULL);
		snprintf(cn, sizeof(cn), "certpin bench intermediate %d", i);
		bench_cert inter = bench_pki_issue(cn, NULL, &root);
		bench_cert leaf = bench_pki_issue(names[i], names[i], &inter);
		mbedtls_x509_crt_init(&e->chain[i]);
		add_der(&e->chain[i], leaf.cert);
		add_der(&e->chain[i], inter.cert);
		add_der(&e->chain[i], root.cert);
		add_der(trust, root.cert);
		pins[0][2 * i] = bench_pki_spki_pin(leaf.cert);
		pins[0][2 * i + 1] = pins[1][2 * i] = bench_pki_fake_pin(100 + (unsigned long)i);
		pins[1][2 * i + 1] = bench_pki_spki_pin(root.cert);
		pins[2][2 * i] = bench_pki_fake_pin(200 + (unsigned long)i);
		pins[2][2 * i + 1] = bench_pki_fake_pin(300 + (unsigned long)i);
		bench_pki_free(&leaf);
		bench_pki_free(&inter);
		bench_pki_free(&root);
		e->at[i][0] = &e->chain[i];
		e->at[i][1] = e->at[i][0]->next;
		e->at[i][2] = e->at[i][1]->next;
	}
	for (int i = 0; i < CHAINS; i++) { /* verified chains only: leaf and intermediate against all the roots */
		uint32_t flags = 0;
		mbedtls_x509_crt *root = (mbedtls_x509_crt *)e->at[i][2];
		mbedtls_x509_crt *inter = (mbedtls_x509_crt *)e->at[i][1];
		inter->next = NULL; /* the peer's list: leaf and intermediate */
		int ret = mbedtls_x509_crt_verify(&e->chain[i], trust, NULL, names[i], &flags, NULL, NULL);
		inter->next = root;
		if (ret != 0 || flags != 0)
			die("a bench chain does not verify", ret);
	}
	for (int k = 0; k < 3; k++) {
		certpin_policy *p = make_policy(names, pins[k], CHAINS, policy_hosts);
		client_init(&e->cl[k], trust);
		if (certpin_mbedtls_conf_attach(&e->cl[k].pins, &e->cl[k].conf, p, NULL, NULL) != CERTPIN_OK ||
		    certpin_binding_new(&e->b[k], p, NULL, NULL) != CERTPIN_OK)
			die("attaching a policy", 0);
		certpin_policy_free(p);
		for (int i = 0; i < CHAINS; i++) {
			mbedtls_ssl_init(&e->ssl[k][i]);
			int ret = mbedtls_ssl_setup(&e->ssl[k][i], &e->cl[k].conf);
			if (ret != 0 || certpin_mbedtls_setup(&e->pc[k][i], e->cl[k].pins, &e->ssl[k][i], names[i]) != CERTPIN_OK)
				die("setting up a context", ret);
		}
	}
}

/* n checks of case k, rotating over the chains; ns per check.  Exits if a check does not decide as intended. */
static double check_run(check_env *e, int k, long n)
{
	double t0 = bench_now_ns();
	int bad = 0;

	for (long j = 0; j < n; j++) {
		int i = (int)(j % CHAINS);
		uint32_t flags = 0;
		for (int d = 2; d >= 0; d--)
			bad |= certpin__mbedtls_verify(e->pc[k][i], (mbedtls_x509_crt *)e->at[i][d], d, &flags);
		bad |= (flags != 0) != (k == 2);
	}
	double ns = (bench_now_ns() - t0) / (double)n;
	certpin_result r;
	int rc = certpin_mbedtls_result(&r, e->pc[k][(n - 1) % CHAINS]);
	if (bad || rc != (k == 2 ? CERTPIN_E_PIN_MISMATCH : CERTPIN_OK) || r.depth != (k == 0 ? 0 : k == 1 ? 2 : -1))
		die("a check did not decide as intended", 0);
	return ns;
}

/* The engine's part: element i of a chain as certpin_der_fn, the whole certificate (the SPKI found in it). */
static int chain_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	const mbedtls_x509_crt *const *at = ctx;

	if (spki)
		return 1;
	*der = at[i]->raw.p;
	*len = at[i]->raw.len;
	return 0;
}

/* n checks of case k by certpin_binding_check() alone, the handshake built as the adapter builds it. */
static double engine_run(check_env *e, int k, long n)
{
	static certpin_outcome out;
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	double t0 = bench_now_ns();

	hs.nnames = 1;
	hs.n = 3;
	hs.der = chain_der;
	for (long j = 0; j < n; j++) {
		int i = (int)(j % CHAINS);
		hs.names[0] = e->names[i];
		hs.ctx = (void *)e->at[i];
		(void)certpin_binding_check(&out, e->b[k], &hs);
	}
	return (bench_now_ns() - t0) / (double)n;
}

static void print_case(const char *what, double *v, int runs)
{
	double lo = v[0], hi = v[0];

	for (int r = 0; r < runs; r++) {
		lo = v[r] < lo ? v[r] : lo;
		hi = v[r] > hi ? v[r] : hi;
	}
	printf("   %-30s median %6.0f ns per check (runs %.0f..%.0f)\n", what, bench_median(v, (size_t)runs), lo, hi);
}

static void bench_checks(long checks, int runs, size_t policy_hosts)
{
	static check_env e;
	mbedtls_x509_crt trust;
	double v[3][MAX_RUNS], w[3][MAX_RUNS];
	char what[64];

	check_setup(&e, &trust, policy_hosts);
	for (int k = 0; k < 3; k++)
		(void)check_run(&e, k, CHAINS * 100); /* warm-up */
	printf("1. pin check of a verified chain of 3 through the adapter's verify callback (depths 2, 1, 0),\n"
	       "   policy of %zu rules, %d chains rotated, %ld checks per case and run, %d runs\n",
		policy_hosts, CHAINS, checks / 10, runs);
	for (int r = 0; r < runs; r++)
		for (int j = 0; j < 3; j++) {
			int k = (r + j) % 3;
			v[k][r] = check_run(&e, k, checks / 10);
			w[k][r] = engine_run(&e, k, checks / 10);
		}
	for (int k = 0; k < 3; k++)
		print_case(case_names[k], v[k], runs);
	printf("   target: <= 1 us per check (figures only); for scale, interleaved with the above:\n");
	for (int k = 0; k < 3; k++) {
		snprintf(what, sizeof(what), "%s, engine alone", case_names[k]);
		print_case(what, w[k], runs);
	}
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < CHAINS; i++) {
			mbedtls_ssl_free(&e.ssl[k][i]);
			certpin_mbedtls_conn_free(e.pc[k][i]);
		}
		client_free(&e.cl[k]);
		certpin_binding_free(e.b[k]);
	}
	for (int i = 0; i < CHAINS; i++)
		mbedtls_x509_crt_free(&e.chain[i]);
	mbedtls_x509_crt_free(&trust);
}

/* ---- 2. handshakes in memory ---------------------------------------------------------------------- */

typedef struct pipe {
	unsigned char buf[PIPE_BYTES];
	size_t len;
} pipe_t;

typedef struct end {
	pipe_t *in, *out;
} end;

static int pipe_send(void *ctx, const unsigned char *buf, size_t len)
{
	pipe_t *p = ((end *)ctx)->out;
	size_t n = len < PIPE_BYTES - p->len ? len : PIPE_BYTES - p->len;

	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	memcpy(p->buf + p->len, buf, n);
	p->len += n;
	return (int)n;
}

static int pipe_recv(void *ctx, unsigned char *buf, size_t len)
{
	pipe_t *p = ((end *)ctx)->in;
	size_t n = len < p->len ? len : p->len;

	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	memcpy(buf, p->buf, n);
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	return (int)n;
}

typedef struct host {
	char name[64];
	mbedtls_x509_crt chain;         /* leaf, intermediate */
	mbedtls_pk_context key;
	mbedtls_ssl_config server;
} host;

static void host_init(host *h, const bench_cert *inter, mbedtls_ctr_drbg_context *drbg, int i)
{
	int ret;

	snprintf(h->name, sizeof(h->name), "h%02d.pinned.certpin.test", i);
	bench_cert leaf = bench_pki_issue(h->name, h->name, inter);
	mbedtls_x509_crt_init(&h->chain);
	add_der(&h->chain, leaf.cert);
	add_der(&h->chain, inter->cert);
	key_of(&h->key, leaf.key);
	bench_pki_free(&leaf);
	mbedtls_ssl_config_init(&h->server);
	if ((ret = mbedtls_ssl_config_defaults(&h->server, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
		     MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (ret = mbedtls_ssl_conf_own_cert(&h->server, &h->chain, &h->key)) != 0)
		die("server configuration", ret);
	mbedtls_ssl_conf_min_version(&h->server, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&h->server, mbedtls_ctr_drbg_random, drbg);
}

/* One call of mbedtls_ssl_handshake() on `s` unless it is done, timed into *ns: 1 done, 0 waiting, else the error. */
static int step(mbedtls_ssl_context *s, int done, double *ns)
{
	if (done)
		return 1;
	double t0 = bench_now_ns();
	int ret = mbedtls_ssl_handshake(s);
	*ns += bench_now_ns() - t0;
	return ret == 0 ? 1 : ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ? 0 : ret;
}

/*
 * One full handshake of client `cl` (pinned: with certpin) with host `h`:
 * the client's time (its setup of the name included) into *client, the
 * server's into *server.  Exits unless it ends as intended.
 */
static void handshake(client *cl, int pinned, host *h, double *client_ns, double *server_ns, const char **proto)
{
	static pipe_t c2s, s2c;
	end ce = { &s2c, &c2s }, se = { &c2s, &s2c };
	mbedtls_ssl_context c, s;
	certpin_mbedtls_conn *pc = NULL;
	int c_done = 0, s_done = 0, ret;

	c2s.len = s2c.len = 0;
	mbedtls_ssl_init(&c);
	mbedtls_ssl_init(&s);
	if ((ret = mbedtls_ssl_setup(&c, &cl->conf)) != 0 || (ret = mbedtls_ssl_setup(&s, &h->server)) != 0)
		die("mbedtls_ssl_setup", ret);
	mbedtls_ssl_set_bio(&c, &ce, pipe_send, pipe_recv, NULL);
	mbedtls_ssl_set_bio(&s, &se, pipe_send, pipe_recv, NULL);
	*client_ns = *server_ns = 0;
	double t0 = bench_now_ns();
	ret = pinned ? certpin_mbedtls_setup(&pc, cl->pins, &c, h->name) : mbedtls_ssl_set_hostname(&c, h->name);
	*client_ns += bench_now_ns() - t0;
	if (ret != 0)
		die("setting the host name", pinned ? 0 : ret);
	for (int turn = 0; turn < MAX_TURNS && !(c_done == 1 && s_done == 1); turn++) {
		if ((c_done = step(&c, c_done, client_ns)) < 0)
			die("the client's handshake failed", c_done);
		if ((s_done = step(&s, s_done, server_ns)) < 0)
			die("the server's handshake failed", s_done);
	}
	if (c_done != 1 || s_done != 1 || mbedtls_ssl_get_verify_result(&c) != 0)
		die("the handshake did not finish verified", 0);
	if (pinned) {
		certpin_result r;
		if (certpin_mbedtls_result(&r, pc) != CERTPIN_OK || r.verdict != CERTPIN_VERDICT_MATCH || r.depth != 0)
			die("the pinned handshake did not report a leaf pin match", 0);
	}
	if (proto)
		*proto = mbedtls_ssl_get_version(&c);
	mbedtls_ssl_free(&c);
	mbedtls_ssl_free(&s);
	t0 = bench_now_ns();
	certpin_mbedtls_conn_free(pc);
	*client_ns += bench_now_ns() - t0;
}

typedef struct side {
	const char *label;
	client cl;
	int pinned;
	double *client, *whole, *blk;
	double run_client[MAX_RUNS], run_whole[MAX_RUNS];
} side;

static double *alloc_doubles(size_t n)
{
	double *p = calloc(n, sizeof(double));
	if (!p)
		die("out of memory", 0);
	return p;
}

static void stats(const double *v, int n, double *mean, double *lo, double *hi)
{
	*mean = 0;
	*lo = *hi = v[0];
	for (int i = 0; i < n; i++) {
		*mean += v[i] / n;
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

static void report(side *sd, int runs, int blocks, double *blk_diff, double wall)
{
	double m[2][2], lo[2][2], hi[2][2], oc[MAX_RUNS], ow[MAX_RUNS], x, xlo, xhi;

	for (int k = 0; k < 2; k++) {
		stats(sd[k].run_client, runs, &m[k][0], &lo[k][0], &hi[k][0]);
		stats(sd[k].run_whole, runs, &m[k][1], &lo[k][1], &hi[k][1]);
	}
	for (int r = 0; r < runs; r++) {
		oc[r] = (sd[1].run_client[r] - sd[0].run_client[r]) / sd[0].run_client[r] * 100;
		ow[r] = (sd[1].run_whole[r] - sd[0].run_whole[r]) / sd[0].run_whole[r] * 100;
	}
	printf("   per side, the mean of the %d runs' medians (smallest..largest), %.1f s:\n", runs, wall);
	for (int k = 0; k < 2; k++)
		printf("   %-34s client %7.1f us (%.1f..%.1f)   whole %7.1f us (%.1f..%.1f)\n", sd[k].label, m[k][0] / 1e3,
			lo[k][0] / 1e3, hi[k][0] / 1e3, m[k][1] / 1e3, lo[k][1] / 1e3, hi[k][1] / 1e3);
	stats(oc, runs, &x, &xlo, &xhi);
	printf("   overhead of the client's time   %+6.2f %% (runs %+.2f..%+.2f)   B-A %+.1f us\n",
		(m[1][0] - m[0][0]) / m[0][0] * 100, xlo, xhi, (m[1][0] - m[0][0]) / 1e3);
	stats(ow, runs, &x, &xlo, &xhi);
	printf("   overhead of the whole handshake %+6.2f %% (runs %+.2f..%+.2f)   B-A %+.1f us\n",
		(m[1][1] - m[0][1]) / m[0][1] * 100, xlo, xhi, (m[1][1] - m[0][1]) / 1e3);
	printf("   B's extra client time as a share of A's whole handshake  %+6.2f %%\n",
		(m[1][0] - m[0][0]) / m[0][1] * 100);
	size_t nb = (size_t)runs * (size_t)blocks;
	double bd = bench_median(blk_diff, nb), q1 = bench_quantile(blk_diff, nb, 0.25), q3 = bench_quantile(blk_diff, nb, 0.75);
	printf("   per block, B - A of the client's time (%zu blocks): median %+.1f us (IQR %+.1f..%+.1f) = %+.2f %% of A's\n"
	       "   whole handshake\n", nb, bd / 1e3, q1 / 1e3, q3 / 1e3, bd / m[0][1] * 100);
	printf("   target: <= 1 %% of the whole handshake (figures only)\n");
}

static void bench_handshakes(int control, int runs, int blocks, int per, int nhosts, size_t policy_hosts)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt root_crt;
	bench_cert root = bench_pki_issue("certpin bench root", NULL, NULL);
	bench_cert inter = bench_pki_issue("certpin bench intermediate", NULL, &root);
	host *hosts = calloc((size_t)nhosts, sizeof(*hosts));
	char (*names)[64] = calloc((size_t)nhosts, sizeof(*names));
	certpin_pin *pins = calloc(2 * (size_t)nhosts, sizeof(*pins));

	if (!hosts || !names || !pins)
		die("out of memory", 0);
	drbg_seed(&drbg, &entropy);
	mbedtls_x509_crt_init(&root_crt);
	add_der(&root_crt, root.cert);
	for (int i = 0; i < nhosts; i++) {
		host_init(&hosts[i], &inter, &drbg, i);
		memcpy(names[i], hosts[i].name, sizeof(names[i]));
		/* the leaf's pin, from its DER as the peer sends it */
		if (certpin_pin_from_cert_der(&pins[2 * i], hosts[i].chain.raw.p, hosts[i].chain.raw.len,
			    CERTPIN_PIN_SPKI_SHA256) != CERTPIN_OK)
			die("a leaf's pin", 0);
		pins[2 * i + 1] = bench_pki_fake_pin((unsigned long)i);
	}
	certpin_policy *policy = make_policy(names, pins, (size_t)nhosts, policy_hosts);
	side sd[2] = { { .label = "A  plain mbedTLS" }, { .label = "B  + certpin_mbedtls_conf_attach()", .pinned = 1 } };
	size_t per_run = (size_t)blocks * (size_t)per;
	for (int k = 0; k < 2; k++) {
		client_init(&sd[k].cl, &root_crt);
		sd[k].client = alloc_doubles(per_run);
		sd[k].whole = alloc_doubles(per_run);
		sd[k].blk = alloc_doubles((size_t)per);
	}
	double *blk_diff = alloc_doubles((size_t)runs * (size_t)blocks);
	if (control) {
		sd[1].label = "B  plain mbedTLS too (control)";
		sd[1].pinned = 0;
	} else if (certpin_mbedtls_conf_attach(&sd[1].cl.pins, &sd[1].cl.conf, policy, NULL, NULL) != CERTPIN_OK) {
		die("certpin_mbedtls_conf_attach", 0);
	}

	const char *proto = "?";
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < nhosts; i++) {
			double c, s;
			handshake(&sd[k].cl, sd[k].pinned, &hosts[i], &c, &s, &proto);
		}
	printf("2. TLS handshake with and without the adapter: %s, %s, in memory (one thread)\n", MBEDTLS_VERSION_STRING_FULL,
		proto);
	printf("   %d pinned hosts rotated, each with its own P-256 key (leaf + intermediate sent, root trusted);\n"
	       "   %s%zu rules; %d runs x %d blocks x %d handshakes per side\n",
		nhosts, control ? "CONTROL: B plain mbedTLS too, B's policy unused: " : "B's policy: ", policy_hosts, runs,
		blocks, per);
	printf("   run  A client   A whole    B client   B whole     overhead: client  whole\n");
	double t_start = bench_now_ns();
	for (int r = 0; r < runs; r++) {
		for (int b = 0; b < blocks; b++) {
			for (int j = 0; j < 2; j++) {
				side *s = &sd[(b % 2) ^ j];
				for (int i = 0; i < per; i++) {
					size_t at = (size_t)b * (size_t)per + (size_t)i;
					double c, sv;
					handshake(&s->cl, s->pinned, &hosts[at % (size_t)nhosts], &c, &sv, NULL);
					s->client[at] = s->blk[i] = c;
					s->whole[at] = c + sv;
				}
			}
			blk_diff[(size_t)r * (size_t)blocks + (size_t)b] =
				bench_median(sd[1].blk, (size_t)per) - bench_median(sd[0].blk, (size_t)per);
		}
		for (int k = 0; k < 2; k++) {
			sd[k].run_client[r] = bench_median(sd[k].client, per_run);
			sd[k].run_whole[r] = bench_median(sd[k].whole, per_run);
		}
		double ac = sd[0].run_client[r], aw = sd[0].run_whole[r], bc = sd[1].run_client[r], bw = sd[1].run_whole[r];
		printf("   %3d  %7.1f us %7.1f us  %7.1f us %7.1f us   %+7.2f %%  %+7.2f %%\n", r + 1, ac / 1e3, aw / 1e3,
			bc / 1e3, bw / 1e3, (bc - ac) / ac * 100, (bw - aw) / aw * 100);
		fflush(stdout);
	}
	report(sd, runs, blocks, blk_diff, (bench_now_ns() - t_start) / 1e9);

	for (int k = 0; k < 2; k++) {
		client_free(&sd[k].cl);
		free(sd[k].client);
		free(sd[k].whole);
		free(sd[k].blk);
	}
	free(blk_diff);
	certpin_policy_free(policy);
	for (int i = 0; i < nhosts; i++) {
		mbedtls_ssl_config_free(&hosts[i].server);
		mbedtls_x509_crt_free(&hosts[i].chain);
		mbedtls_pk_free(&hosts[i].key);
	}
	free(hosts);
	free(names);
	free(pins);
	mbedtls_x509_crt_free(&root_crt);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	bench_pki_free(&inter);
	bench_pki_free(&root);
}

int main(int argc, char **argv)
{
	int control = argc > 1 && strcmp(argv[1], "--control") == 0;
	if (control)
		argv++, argc--;
	long checks = argc > 1 ? atol(argv[1]) : 2000000;
	int check_runs = argc > 2 ? atoi(argv[2]) : 7;
	int runs = argc > 3 ? atoi(argv[3]) : 5;
	int blocks = argc > 4 ? atoi(argv[4]) : 100;
	int per = argc > 5 ? atoi(argv[5]) : 2;
	int nhosts = argc > 6 ? atoi(argv[6]) : MIN_HOSTS;
	long policy_hosts = argc > 7 ? atol(argv[7]) : 1024;

	if (argc > 8 || checks < 10 * CHAINS || checks > 1000000000L || check_runs < 1 || check_runs > MAX_RUNS ||
	    runs < 1 || runs > MAX_RUNS || blocks < 2 || blocks > MAX_BLOCKS || per < 1 || per > MAX_PER_BLOCK ||
	    nhosts < MIN_HOSTS || nhosts > MAX_HOSTS || policy_hosts < 1000 || policy_hosts > MAX_POLICY_HOSTS ||
	    policy_hosts < nhosts) {
		fprintf(stderr, "usage: bench_mbedtls [--control] [CHECKS (>= %d)] [CHECK_RUNS (1-%d)] [RUNS (1-%d)]\n"
				"       [BLOCKS (2-%d)] [PER_BLOCK (1-%d)] [HOSTS (%d-%d)] [POLICY_HOSTS (1000-%d, >= HOSTS)]\n",
			10 * CHAINS, MAX_RUNS, MAX_RUNS, MAX_BLOCKS, MAX_PER_BLOCK, MIN_HOSTS, MAX_HOSTS, MAX_POLICY_HOSTS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_mbedtls: %s, %s\n", MBEDTLS_VERSION_STRING_FULL, OpenSSL_version(OPENSSL_VERSION));
	bench_checks(checks, check_runs, (size_t)policy_hosts);
	bench_handshakes(control, runs, blocks, per, nhosts, (size_t)policy_hosts);
	return 0;
}
