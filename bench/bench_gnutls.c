/*
 * bench_gnutls: what the GnuTLS adapter (certpin/gnutls.h) costs.
 *
 *   bench_gnutls check [ITERATIONS] [RUNS]
 *   bench_gnutls handshake [--control] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]
 *
 * check: the adapter's own work in one handshake on a verified chain of 3
 * (leaf, intermediate, root), without GnuTLS's verification that precedes
 * it: the two calls GnuTLS makes to the verify output function for that
 * path (each copies a certificate and its issuer), reading the path from
 * them, and certpin_binding_check() against a policy of 1024 rules that pins
 * the leaf's key (name lookup, the leaf's SPKI found and hashed, the
 * decision).  These are the adapter's internal steps (src/tls/gnutls/), the
 * one place a benchmark reaches past the public API, so that they can be
 * timed apart from the handshake.  The figure is the median over RUNS
 * (default 7) of each run's mean over ITERATIONS (default 200000).
 *
 * handshake: whole TLS handshakes, client and server GnuTLS sessions in this
 * thread over an in-memory transport (gnutls_transport_set_push_function(),
 * _pull_function()), taking turns.  Material made in memory at start
 * (bench_pki.c): one root, one intermediate, HOSTS (default 32, at least 32)
 * server certificates with P-256 keys of their own, each for its own name;
 * servers send leaf and intermediate, clients trust the root.  Two clients,
 * each one credentials object for all its sessions:
 *   A  plain GnuTLS: gnutls_session_set_verify_cert(host) and SNI.
 *   B  the same with certpin: certpin_gnutls_set_verify_cert(host) and
 *      certpin_gnutls_session_attach() of one policy of POLICY_HOSTS rules
 *      (default 1024): each host's leaf key pinned plus a backup pin that
 *      matches nothing, other names (one in 50 a wildcard) filling the rest.
 *      With --control B is plain GnuTLS too: B - A is the bench's own bias.
 * Default priorities (TLS 1.3), no tickets: every handshake is a full one.
 * Per handshake, `client` is the client's calls after gnutls_init():
 * the name (and attach) calls, each gnutls_handshake() step, gnutls_deinit()
 * (certpin's state is made and freed per session); `whole` adds the
 * server's handshake steps.  RUNS (default 5) of BLOCKS (default 200)
 * blocks; in a block each side makes PER_BLOCK (default 4) handshakes, A
 * first in even blocks and B first in odd ones, both to the same hosts in
 * the same order, rotating over all HOSTS.  A run's figure per side is the
 * median of its handshakes; the report gives the mean of the runs' medians
 * (smallest and largest), the overhead (B - A) / A of client time and of the
 * whole handshake, and the median over all blocks of the block's B - A.
 *
 * Figures only: the targets (1 us, 1 %) are printed beside them, never enforced.
 */
#include "certpin.h"
#include "certpin/adapter.h"
#include "certpin/gnutls.h"
#include "bench_common.h"
#include "bench_pki.h"
#include "../src/tls/gnutls/gnutls_adapter.h"

#include <errno.h>
#include <openssl/pem.h>

#define MIN_HOSTS 32
#define MAX_HOSTS 1024
#define MAX_RUNS 64
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 1000
#define MAX_POLICY_HOSTS 1000000
#define MAX_TURNS 16

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_gnutls: %s\n", msg);
	exit(1);
}

static long arg(int argc, char **argv, int i, long def, long lo, long hi)
{
	long v = argc > i ? strtol(argv[i], NULL, 10) : def;

	if (v < lo || v > hi)
		die("argument out of range");
	return v;
}

/* ---- material ------------------------------------------------------------------ */

/* `x` (or its key, `key` set) as PEM, appended to `out` (a GnuTLS datum on the heap). */
static void pem_append(gnutls_datum_t *out, X509 *x, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;

	if (!b || !(key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_X509(b, x)))
		die("PEM");
	long n = BIO_get_mem_data(b, &p);
	unsigned char *d = realloc(out->data, out->size + (size_t)n);
	if (!d)
		die("out of memory");
	memcpy(d + out->size, p, (size_t)n);
	out->data = d;
	out->size += (unsigned int)n;
	BIO_free(b);
}

static void crt_import(gnutls_x509_crt_t *out, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	gnutls_datum_t d = { der, n > 0 ? (unsigned int)n : 0 };

	if (n <= 0 || gnutls_x509_crt_init(out) < 0 || gnutls_x509_crt_import(*out, &d, GNUTLS_X509_FMT_DER) < 0)
		die("certificate import");
	OPENSSL_free(der);
}


/* `n` pinned names with their leaves' keys, then fillers up to `total` rules. */
static certpin_policy *make_policy(char (*names)[64], X509 *const *leaves, size_t n, size_t total)
{
	certpin_policy *p;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		certpin_pin leaf = bench_pki_spki_pin(leaves[i]), backup = bench_pki_fake_pin(i);
		bench_pki_add_rule(p, names[i], &leaf, &backup);
	}
	for (size_t i = n; i < total; i++) {
		certpin_pin a = bench_pki_fake_pin(2 * i + MAX_POLICY_HOSTS), b = bench_pki_fake_pin(2 * i + 1 + MAX_POLICY_HOSTS);
		if (i % 50 == 0)
			snprintf(name, sizeof(name), "%s.z%06zu.filler.certpin.test", i % 100 ? "*" : "**", i);
		else
			snprintf(name, sizeof(name), "f%06zu.filler.certpin.test", i);
		bench_pki_add_rule(p, name, &a, &b);
	}
	if (certpin_policy_host_count(p) != total)
		die("the policy has not the intended size");
	return p;
}

/* ---- check: the adapter's steps on a verified chain of 3 ------------------------------ */

typedef struct chain3 {
	gnutls_x509_crt_t leaf, inter, root;
} chain3;

/* What GnuTLS reports for the path leaf <- intermediate <- root: the top link first. */
static int report_path(void *ctx)
{
	chain3 *c = ctx;

	(void)certpin__gt_collect(c->inter, c->root, NULL, 0);
	(void)certpin__gt_collect(c->leaf, c->inter, NULL, 0);
	return 0;
}

typedef struct path_view {
	const gt_path *p;
} path_view;

static int path_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	const gt_path *p = ((path_view *)ctx)->p;

	if (spki)
		return 1;
	if (i >= p->n)
		return -1;
	*der = p->arena + p->off[i];
	*len = p->len[i];
	return 0;
}

/* One check as the verify function runs it after GnuTLS's verification; false if it did not pass. */
static bool one_check(gt_path *path, chain3 *c, const gnutls_datum_t *leaf_der, certpin_binding *b)
{
	path_view v = { path };
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	certpin_outcome o;

	if (certpin__gt_collect_during(path, report_path, c) != 0 || !certpin__gt_path_read(path, leaf_der))
		return false;
	hs.names[0] = "h0017.bench.certpin.test";
	hs.nnames = 1;
	hs.n = path->n;
	hs.der = path_der;
	hs.ctx = &v;
	return certpin_binding_check(&o, b, &hs) == CERTPIN_OK && o.decision == CERTPIN_DECIDE_CONTINUE &&
	       o.result.depth == 0 && path->n == 3;
}

static int bench_check(int argc, char **argv)
{
	long iters = arg(argc, argv, 2, 200000, 1, 100000000), runs = arg(argc, argv, 3, 7, 1, MAX_RUNS);
	bench_cert root = bench_pki_issue("bench root", NULL, NULL), inter = bench_pki_issue("bench inter", NULL, &root);
	bench_cert leaf = bench_pki_issue("bench leaf", "h0017.bench.certpin.test", &inter);
	char names[1][64] = { "h0017.bench.certpin.test" };
	X509 *leaves[1] = { leaf.cert };
	certpin_policy *policy = make_policy(names, leaves, 1, 1024);
	certpin_binding *b = NULL;
	gt_path path;
	chain3 c;
	gnutls_datum_t leaf_der;
	double per[MAX_RUNS];

	memset(&path, 0, sizeof(path));
	crt_import(&c.leaf, leaf.cert);
	crt_import(&c.inter, inter.cert);
	crt_import(&c.root, root.cert);
	if (gnutls_x509_crt_export2(c.leaf, GNUTLS_X509_FMT_DER, &leaf_der) < 0 ||
	    certpin_binding_new(&b, policy, NULL, NULL) != CERTPIN_OK || !one_check(&path, &c, &leaf_der, b))
		die("the check does not pass");
	for (long r = 0; r < runs; r++) {
		bool ok = true;
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++)
			ok &= one_check(&path, &c, &leaf_der, b);
		per[r] = (bench_now_ns() - t0) / (double)iters;
		if (!ok)
			die("a check did not pass");
	}
	double lo = per[0], hi = per[0];
	for (long r = 1; r < runs; r++) {
		lo = per[r] < lo ? per[r] : lo;
		hi = per[r] > hi ? per[r] : hi;
	}
	printf("gnutls adapter check, verified chain of 3, policy of 1024 rules: %.0f ns median of %ld runs "
	       "(%.0f..%.0f) x %ld checks  [target <= 1000 ns]\n", bench_median(per, (size_t)runs), runs, lo, hi, iters);
	gnutls_free(leaf_der.data);
	certpin__gt_path_free(&path);
	gnutls_x509_crt_deinit(c.leaf);
	gnutls_x509_crt_deinit(c.inter);
	gnutls_x509_crt_deinit(c.root);
	certpin_binding_free(b);
	certpin_policy_free(policy);
	bench_pki_free(&leaf);
	bench_pki_free(&inter);
	bench_pki_free(&root);
	return 0;
}

/* ---- handshake: plain GnuTLS against GnuTLS with certpin, in memory ------------------- */

typedef struct pipe_buf {
	unsigned char data[1 << 16];
	size_t len, off;
} pipe_buf;

typedef struct wire {
	pipe_buf c2s, s2c;
} wire;

typedef struct end {
	pipe_buf *in, *out;
} end;

static ssize_t push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	pipe_buf *b = ((end *)ptr)->out;

	if (len > sizeof(b->data) - b->len)
		die("transport buffer full");
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	pipe_buf *b = ((end *)ptr)->in;
	size_t n = b->len - b->off < len ? b->len - b->off : len;

	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(data, b->data + b->off, n);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
	return (ssize_t)n;
}

static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	pipe_buf *b = ((end *)ptr)->in;

	(void)ms;
	return b->len > b->off;
}

typedef struct bench_host {
	char name[64];
	gnutls_certificate_credentials_t server;
} bench_host;

typedef struct side {
	gnutls_certificate_credentials_t cred;
	certpin_policy *policy;                 /* NULL: plain GnuTLS */
} side;

static void transport(gnutls_session_t s, end *e)
{
	gnutls_transport_set_ptr(s, e);
	gnutls_transport_set_push_function(s, push);
	gnutls_transport_set_pull_function(s, pull);
	gnutls_transport_set_pull_timeout_function(s, pull_timeout);
}

/* One full handshake of `sd` with `h`: the client's and the server's time. */
static void handshake(const side *sd, const bench_host *h, double *client, double *server)
{
	static wire w;
	end ce = { &w.s2c, &w.c2s }, se = { &w.c2s, &w.s2c };
	gnutls_session_t c, s;
	int rc = 1, src = 1;

	w.c2s.len = w.c2s.off = w.s2c.len = w.s2c.off = 0;
	if (gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS) < 0 ||
	    gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS) < 0 ||
	    gnutls_set_default_priority(c) < 0 || gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, sd->cred) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, h->server) < 0 ||
	    gnutls_server_name_set(c, GNUTLS_NAME_DNS, h->name, strlen(h->name)) < 0)
		die("session setup");
	transport(c, &ce);
	transport(s, &se);
	double t0 = bench_now_ns();
	if (!sd->policy)
		gnutls_session_set_verify_cert(c, h->name, 0);
	else if (certpin_gnutls_set_verify_cert(c, h->name, 0, NULL) != CERTPIN_OK ||
		 certpin_gnutls_session_attach(c, sd->policy, NULL, NULL) != CERTPIN_OK)
		die("certpin attach");
	*client = bench_now_ns() - t0;
	*server = 0;
	for (int turn = 0; (rc != 0 || src != 0) && turn < MAX_TURNS; turn++) {
		if (rc != 0) {
			t0 = bench_now_ns();
			rc = gnutls_handshake(c);
			*client += bench_now_ns() - t0;
		}
		if (src != 0) {
			t0 = bench_now_ns();
			src = gnutls_handshake(s);
			*server += bench_now_ns() - t0;
		}
		if ((rc < 0 && gnutls_error_is_fatal(rc)) || (src < 0 && gnutls_error_is_fatal(src)))
			die(gnutls_strerror(rc < 0 ? rc : src));
	}
	if (rc != 0 || src != 0)
		die("the handshake did not finish");
	certpin_result r;
	if (sd->policy && (certpin_gnutls_result(&r, c) != CERTPIN_OK || r.verdict != CERTPIN_VERDICT_MATCH))
		die("certpin did not check the handshake");
	gnutls_deinit(s);
	t0 = bench_now_ns();
	gnutls_deinit(c);
	*client += bench_now_ns() - t0;
}

static void stats(const double *v, long n, double *mean, double *lo, double *hi)
{
	*mean = 0;
	*lo = *hi = v[0];
	for (long i = 0; i < n; i++) {
		*mean += v[i] / (double)n;
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

static double *doubles(size_t n)
{
	double *v = calloc(n ? n : 1, sizeof(double));

	if (!v)
		die("out of memory");
	return v;
}

/* Hosts with keys of their own, servers' credentials, and the policy pinning them. */
static bench_host *make_hosts(long n, long policy_hosts, gnutls_datum_t *root_pem, certpin_policy **policy)
{
	bench_cert root = bench_pki_issue("bench root", NULL, NULL), inter = bench_pki_issue("bench inter", NULL, &root);
	bench_host *hosts = calloc((size_t)n, sizeof(*hosts));
	char (*names)[64] = calloc((size_t)n, sizeof(*names));
	X509 **leaves = calloc((size_t)n, sizeof(*leaves));
	bench_cert *certs = calloc((size_t)n, sizeof(*certs));

	if (!hosts || !names || !leaves || !certs)
		die("out of memory");
	pem_append(root_pem, root.cert, NULL);
	for (long i = 0; i < n; i++) {
		gnutls_datum_t chain = { NULL, 0 }, key = { NULL, 0 };
		snprintf(hosts[i].name, sizeof(hosts[i].name), "h%04ld.bench.certpin.test", i);
		memcpy(names[i], hosts[i].name, sizeof(names[i]));
		certs[i] = bench_pki_issue(hosts[i].name, hosts[i].name, &inter);
		leaves[i] = certs[i].cert;
		pem_append(&chain, certs[i].cert, NULL);
		pem_append(&chain, inter.cert, NULL);
		pem_append(&key, NULL, certs[i].key);
		if (gnutls_certificate_allocate_credentials(&hosts[i].server) < 0 ||
		    gnutls_certificate_set_x509_key_mem(hosts[i].server, &chain, &key, GNUTLS_X509_FMT_PEM) < 0)
			die("server credentials");
		free(chain.data);
		free(key.data);
	}
	*policy = make_policy(names, leaves, (size_t)n, (size_t)policy_hosts);
	for (long i = 0; i < n; i++)
		bench_pki_free(&certs[i]);
	bench_pki_free(&inter);
	bench_pki_free(&root);
	free(certs);
	free(leaves);
	free(names);
	return hosts;
}

static void report(const char *what, const double *a, const double *b, long runs)
{
	double am, alo, ahi, bm, blo, bhi;

	stats(a, runs, &am, &alo, &ahi);
	stats(b, runs, &bm, &blo, &bhi);
	printf("  %-7s A %7.1f us (%.1f..%.1f)   B %7.1f us (%.1f..%.1f)   (B - A) / A %+6.2f %%  [target <= 1 %%]\n",
		what, am / 1e3, alo / 1e3, ahi / 1e3, bm / 1e3, blo / 1e3, bhi / 1e3, 100.0 * (bm - am) / am);
}

static int bench_handshakes(int argc, char **argv)
{
	int control = argc > 2 && strcmp(argv[2], "--control") == 0, o = control ? 1 : 0;
	long runs = arg(argc, argv, 2 + o, 5, 1, MAX_RUNS), blocks = arg(argc, argv, 3 + o, 200, 2, MAX_BLOCKS);
	long per = arg(argc, argv, 4 + o, 4, 1, MAX_PER_BLOCK), nhosts = arg(argc, argv, 5 + o, 32, MIN_HOSTS, MAX_HOSTS);
	long npolicy = arg(argc, argv, 6 + o, 1024, nhosts, MAX_POLICY_HOSTS);
	gnutls_datum_t root_pem = { NULL, 0 };
	certpin_policy *policy = NULL;
	bench_host *hosts = make_hosts(nhosts, npolicy, &root_pem, &policy);
	side sides[2] = { { NULL, NULL }, { NULL, control ? NULL : policy } };
	double med[2][2][MAX_RUNS] = { { { 0 } } }; /* [side][client, whole][run] */
	size_t nh = (size_t)(blocks * per);
	double *t[2][2] = { { doubles(nh), doubles(nh) }, { doubles(nh), doubles(nh) } };
	double *diff = doubles((size_t)(blocks * runs)), *bt[2] = { doubles((size_t)per), doubles((size_t)per) };
	double c, s;

	for (int k = 0; k < 2; k++)
		if (gnutls_certificate_allocate_credentials(&sides[k].cred) < 0 ||
		    gnutls_certificate_set_x509_trust_mem(sides[k].cred, &root_pem, GNUTLS_X509_FMT_PEM) != 1)
			die("client credentials");
	for (long i = 0; i < nhosts; i++) /* warm-up: every host once per side */
		for (int k = 0; k < 2; k++)
			handshake(&sides[k], &hosts[i], &c, &s);
	size_t next = 0, nd = 0;
	for (long r = 0; r < runs; r++) {
		for (long blk = 0; blk < blocks; blk++, next += (size_t)per) {
			for (int j = 0; j < 2; j++) {
				int k = (blk % 2) ^ j; /* A first in even blocks, B first in odd ones */
				for (long i = 0; i < per; i++) {
					size_t at = (size_t)(blk * per + i);
					handshake(&sides[k], &hosts[(next + (size_t)i) % (size_t)nhosts], &c, &s);
					t[k][0][at] = c;
					t[k][1][at] = c + s;
					bt[k][i] = c;
				}
			}
			double mb = bench_median(bt[1], (size_t)per), ma = bench_median(bt[0], (size_t)per);
			diff[nd++] = mb - ma;
		}
		for (int k = 0; k < 2; k++)
			for (int w = 0; w < 2; w++)
				med[k][w][r] = bench_median(t[k][w], nh);
	}
	printf("GnuTLS %s, %ld hosts with keys of their own, policy of %ld rules%s; %ld runs x %ld blocks x %ld "
	       "handshakes per side\n", gnutls_check_version(NULL), nhosts, npolicy, control ? " (--control: B plain too)" : "",
		runs, blocks, per);
	report("client", med[0][0], med[1][0], runs);
	report("whole", med[0][1], med[1][1], runs);
	double am, lo, hi;
	stats(med[0][1], runs, &am, &lo, &hi);
	double bd = bench_median(diff, nd);
	printf("  median over blocks of B - A (client): %+.2f us = %+.2f %% of A's whole handshake\n", bd / 1e3,
		100.0 * bd / am);
	for (int k = 0; k < 2; k++)
		for (int w = 0; w < 2; w++)
			free(t[k][w]);
	free(diff);
	free(bt[0]);
	free(bt[1]);
	for (long i = 0; i < nhosts; i++)
		gnutls_certificate_free_credentials(hosts[i].server);
	for (int k = 0; k < 2; k++)
		gnutls_certificate_free_credentials(sides[k].cred);
	free(hosts);
	free(root_pem.data);
	certpin_policy_free(policy);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return bench_check(argc, argv);
	if (argc > 1 && strcmp(argv[1], "handshake") == 0)
		return bench_handshakes(argc, argv);
	fprintf(stderr, "usage: bench_gnutls check [ITERATIONS] [RUNS]\n"
			"       bench_gnutls handshake [--control] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]\n");
	return 2;
}
