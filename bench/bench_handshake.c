/*
 * bench_handshake: what certpin_ssl_ctx_attach() adds to a full TLS handshake.
 *
 *   bench_handshake [--control] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]
 *
 * Material, made in memory at start (bench_pki.c): one root CA, one
 * intermediate, and HOSTS (default 32, at least 32) server certificates,
 * each for its own host name with its own P-256 key, plus WARM_HOSTS more
 * for the warm-up (below).  Each host has its own server SSL_CTX sending
 * its leaf and the intermediate; the clients trust the root.
 *
 * Two clients, A and B, each one SSL_CTX for all its handshakes as an
 * application has: TLS 1.2 or later, the root as the only trust anchor,
 * SSL_VERIFY_PEER, SSL_set1_host() and SNI per connection, no session
 * cache (every handshake is a full one; the servers issue no tickets).
 *   A  plain OpenSSL.
 *   B  the same plus certpin_ssl_ctx_attach() of one policy of POLICY_HOSTS
 *      rules (default 1024): each host's leaf key pinned (plus a backup pin
 *      that matches nothing), the rest filled with other names, some of them
 *      wildcards, two made-up pins each.  A handshake of B checks the
 *      policy: host name, lookup, the leaf's key hashed, the decision.
 *      With --control, B is plain OpenSSL too: B - A is then the bench's
 *      own bias and noise.
 *
 * Transport: none.  Client and server run in this thread over a BIO pair,
 * taking turns: each SSL_do_handshake() step of the client and of the
 * server is timed on its own, so a handshake gives
 *   client  the client's steps (where the binding runs), and
 *   whole   client + server steps: the handshake's CPU work, with no
 *           network and no system call (the smallest whole there is, so
 *           the strictest denominator for a share).
 * SSL_new(), SSL_free() and the checks of the outcome are outside both.
 *
 * Order: RUNS runs (default 5) of BLOCKS blocks (default 400).  In a block
 * each side makes PER_BLOCK handshakes (default 4), A's then B's in even
 * blocks and B's then A's in odd ones; both sides go to the same hosts in
 * the same order, the rotation over the HOSTS continuing from block to
 * block (so every HOSTS / PER_BLOCK blocks each side has been to every
 * host).  Short blocks keep A and B close in time: on the shared VM of
 * RESULTS.md the handshake time switched between about 1.0 and 1.7 ms
 * within a fraction of a second, and blocks of 32 handshakes (70 ms) let a
 * run's medians of A and B differ by up to 15 % for that alone.  No
 * handshake is dropped: a run's figure per side is the median of all its
 * handshakes in that run (BLOCKS x PER_BLOCK), and the report gives per side the
 * mean of the runs' medians with the smallest and largest, and the overhead
 * (B - A) / A: of the client's time, of the whole handshake, and B's extra
 * client time as a share of A's whole handshake.  Also, as a second view
 * less exposed to the machine's swings, the median over all blocks of the
 * block's B - A (each side's median of the block's PER_BLOCK handshakes).
 *
 * Warm per-key state: the binding of today remembers, per SSL_CTX, the rule
 * of the first 8 names it sees and the digest of the first 8 keys it hashes
 * (certpin_ssl_ctx_attach() in certpin.h).  Before the runs each side
 * connects to WARM_HOSTS (8) other pinned hosts with keys of their own, so
 * those slots hold names and keys the timed handshakes never use, then once
 * to each timed host.  Every timed handshake of B therefore works out its
 * host's rule and hashes its leaf's key.
 *
 * Figures only: the 1 % ceiling is printed beside them, never enforced.
 */
#include "certpin.h"
#include "bench_common.h"
#include "bench_pki.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#define WARM_HOSTS 8       /* the binding's memo slots per kind (certpin.h) */
#define MIN_HOSTS 32
#define MAX_HOSTS 1024
#define MAX_RUNS 64
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 1000
#define MAX_POLICY_HOSTS 1000000
#define MAX_TURNS 16       /* client and server steps of one handshake; TLS 1.3 takes 2 each */

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_handshake: %s\n", msg);
	ERR_print_errors_fp(stderr);
	exit(1);
}

typedef struct host {
	char name[64];
	bench_cert leaf;
	SSL_CTX *server;
} host;

/* One host's server SSL_CTX: its leaf and key, the intermediate in the chain it sends. */
static SSL_CTX *server_ctx(const bench_cert *leaf, const bench_cert *inter)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) || SSL_CTX_use_certificate(ctx, leaf->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1 || SSL_CTX_add1_chain_cert(ctx, inter->cert) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		die("cannot set up a server SSL_CTX");
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

static SSL_CTX *client_ctx(const bench_cert *root)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), root->cert) != 1)
		die("cannot set up a client SSL_CTX");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}


/*
 * The policy of B: every host of hosts[0..n) with its leaf's key and a backup
 * pin, then other names up to `total` rules, one in 50 a wildcard.
 */
static certpin_policy *make_policy(const host *hosts, size_t n, size_t total)
{
	certpin_policy *p;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		certpin_pin leaf = bench_pki_spki_pin(hosts[i].leaf.cert), backup = bench_pki_fake_pin(i);
		bench_pki_add_rule(p, hosts[i].name, &leaf, &backup);
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

/*
 * One step of `s` unless it is done, its time added to *ns.  Returns 1 when
 * the handshake of `s` is done, 0 when it waits for the peer, -1 on failure.
 */
static int step(SSL *s, int done, double *ns)
{
	if (done)
		return 1;
	double t0 = bench_now_ns();
	int r = SSL_do_handshake(s);
	*ns += bench_now_ns() - t0;
	if (r == 1)
		return 1;
	int e = SSL_get_error(s, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/*
 * One full handshake of a client of `ctx` with host `h`, in this thread over
 * a BIO pair: the client's steps' time into *client, the server's into
 * *server, the protocol version's name into *proto if `proto` is not NULL.
 * Exits if it does not end as the setup intends (B: a pin match).
 */
static void handshake(SSL_CTX *ctx, int pinned, const host *h, double *client, double *server, const char **proto)
{
	SSL *c = SSL_new(ctx), *s = SSL_new(h->server);
	BIO *cb = NULL, *sb = NULL;
	int c_done = 0, s_done = 0;

	if (!c || !s || !SSL_set1_host(c, h->name) || !SSL_set_tlsext_host_name(c, h->name) ||
	    !BIO_new_bio_pair(&cb, 0, &sb, 0))
		die("cannot set up a handshake");
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	*client = *server = 0;
	for (int turn = 0; turn < MAX_TURNS && !(c_done && s_done); turn++) {
		if ((c_done = step(c, c_done, client)) < 0)
			die("the client's handshake failed");
		if ((s_done = step(s, s_done, server)) < 0)
			die("the server's handshake failed");
	}
	if (!c_done || !s_done)
		die("the handshake did not finish");
	if (SSL_session_reused(c) || SSL_get_verify_result(c) != X509_V_OK)
		die("not a full, verified handshake");
	if (pinned) {
		certpin_result res;
		if (certpin_ssl_result(&res, c) != CERTPIN_OK || res.verdict != CERTPIN_VERDICT_MATCH || res.depth != 0)
			die("the pinned handshake did not report a leaf pin match");
	}
	if (proto)
		*proto = SSL_get_version(c); /* a constant string */
	SSL_free(c);
	SSL_free(s);
}

/* Figures of one side in one run: every handshake's times. */
typedef struct side {
	const char *label;
	SSL_CTX *ctx;
	int pinned;
	double *client, *whole;              /* this run's handshakes */
	double *blk;                         /* the current block's client times */
	double run_client[MAX_RUNS], run_whole[MAX_RUNS]; /* per run: the medians */
} side;

static double *alloc_doubles(size_t n)
{
	double *p = calloc(n, sizeof(double));
	if (!p)
		die("out of memory");
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

int main(int argc, char **argv)
{
	int control = argc > 1 && strcmp(argv[1], "--control") == 0;
	if (control)
		argv++, argc--;
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	int blocks = argc > 2 ? atoi(argv[2]) : 400;
	int per = argc > 3 ? atoi(argv[3]) : 4;
	int nhosts = argc > 4 ? atoi(argv[4]) : MIN_HOSTS;
	long policy_hosts = argc > 5 ? atol(argv[5]) : 1024;

	if (argc > 6 || runs < 1 || runs > MAX_RUNS || blocks < 2 || blocks > MAX_BLOCKS || per < 1 ||
	    per > MAX_PER_BLOCK || nhosts < MIN_HOSTS ||
	    nhosts > MAX_HOSTS || policy_hosts < 1000 || policy_hosts > MAX_POLICY_HOSTS ||
	    policy_hosts < nhosts + WARM_HOSTS) {
		fprintf(stderr, "usage: bench_handshake [--control] [RUNS (1-%d)] [BLOCKS (2-%d)] [PER_BLOCK (1-%d)] [HOSTS (%d-%d)]\n"
				"       [POLICY_HOSTS (1000-%d, at least HOSTS + %d)]\n",
			MAX_RUNS, MAX_BLOCKS, MAX_PER_BLOCK, MIN_HOSTS, MAX_HOSTS, MAX_POLICY_HOSTS, WARM_HOSTS);
		return 2;
	}

	/* the PKI: one root, one intermediate, a leaf and a server per host (the warm-up hosts first) */
	size_t nall = (size_t)nhosts + WARM_HOSTS;
	bench_cert root = bench_pki_issue("certpin bench root", NULL, NULL);
	bench_cert inter = bench_pki_issue("certpin bench intermediate", NULL, &root);
	host *all = calloc(nall, sizeof(*all));
	if (!all)
		die("out of memory");
	for (size_t i = 0; i < nall; i++) {
		if (i < WARM_HOSTS)
			snprintf(all[i].name, sizeof(all[i].name), "w%02zu.warmup.certpin.test", i);
		else
			snprintf(all[i].name, sizeof(all[i].name), "h%02zu.pinned.certpin.test", i - WARM_HOSTS);
		all[i].leaf = bench_pki_issue(all[i].name, all[i].name, &inter);
		all[i].server = server_ctx(&all[i].leaf, &inter);
	}
	host *hosts = all + WARM_HOSTS;

	certpin_policy *policy = make_policy(all, nall, (size_t)policy_hosts);
	side sd[2] = { { .label = "A  plain OpenSSL" }, { .label = "B  + certpin_ssl_ctx_attach()", .pinned = 1 } };
	size_t per_run = (size_t)blocks * (size_t)per;
	for (int k = 0; k < 2; k++) {
		sd[k].ctx = client_ctx(&root);
		sd[k].client = alloc_doubles(per_run);
		sd[k].whole = alloc_doubles(per_run);
		sd[k].blk = alloc_doubles((size_t)per);
	}
	double *blk_diff = alloc_doubles((size_t)runs * (size_t)blocks); /* per block: B - A, client time */
	if (control) {
		sd[1].label = "B  plain OpenSSL too (control)";
		sd[1].pinned = 0;
	} else if (certpin_ssl_ctx_attach(sd[1].ctx, policy, NULL) != CERTPIN_OK) {
		die("certpin_ssl_ctx_attach failed");
	}

	/* warm-up: the warm-up hosts first, then each timed host once, both sides */
	const char *proto = "?";
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < nall; i++) {
			double c, s;
			handshake(sd[k].ctx, sd[k].pinned, &all[i], &c, &s, &proto);
		}
	}
	printf("bench_handshake: %s, %s, in memory (client and server in one thread over a BIO pair)\n",
		OpenSSL_version(OPENSSL_VERSION), proto);
	printf("  %d pinned hosts rotated, each with its own P-256 key (leaf + intermediate sent, root trusted);\n"
	       "  %s%ld rules, the leaf keys pinned; %d runs x %d blocks x %d handshakes per side\n",
		nhosts, control ? "CONTROL: B plain OpenSSL too, B's policy unused: " : "B's policy: ", policy_hosts, runs,
		blocks, per);
	printf("  run  A client   A whole    B client   B whole     overhead: client  whole   B-A client / A whole\n");

	double t_start = bench_now_ns();
	for (int r = 0; r < runs; r++) {
		for (int b = 0; b < blocks; b++) {
			int first = b % 2;
			for (int j = 0; j < 2; j++) {
				side *s = &sd[first ^ j];
				for (int i = 0; i < per; i++) {
					size_t at = (size_t)b * (size_t)per + (size_t)i;
					double c, sv;
					/* both sides go to the same hosts, the rotation continuing from block to block */
					handshake(s->ctx, s->pinned, &hosts[at % (size_t)nhosts], &c, &sv, NULL);
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
		printf("  %3d  %7.1f us %7.1f us  %7.1f us %7.1f us   %+7.2f %%  %+7.2f %%  %+7.2f %%\n", r + 1, ac / 1e3,
			aw / 1e3, bc / 1e3, bw / 1e3, (bc - ac) / ac * 100, (bw - aw) / aw * 100, (bc - ac) / aw * 100);
		fflush(stdout);
	}
	double wall = (bench_now_ns() - t_start) / 1e9;

	double m[2][2], lo[2][2], hi[2][2]; /* [side][client, whole] */
	for (int k = 0; k < 2; k++) {
		stats(sd[k].run_client, runs, &m[k][0], &lo[k][0], &hi[k][0]);
		stats(sd[k].run_whole, runs, &m[k][1], &lo[k][1], &hi[k][1]);
	}
	double oc[MAX_RUNS], ow[MAX_RUNS], ocw[MAX_RUNS];
	for (int r = 0; r < runs; r++) {
		oc[r] = (sd[1].run_client[r] - sd[0].run_client[r]) / sd[0].run_client[r] * 100;
		ow[r] = (sd[1].run_whole[r] - sd[0].run_whole[r]) / sd[0].run_whole[r] * 100;
		ocw[r] = (sd[1].run_client[r] - sd[0].run_client[r]) / sd[0].run_whole[r] * 100;
	}
	double x, xlo, xhi;
	printf("Per side, the mean of the %d runs' medians (smallest..largest), %.1f s:\n", runs, wall);
	for (int k = 0; k < 2; k++)
		printf("  %-32s client %7.1f us (%.1f..%.1f)   whole %7.1f us (%.1f..%.1f)\n", sd[k].label, m[k][0] / 1e3,
			lo[k][0] / 1e3, hi[k][0] / 1e3, m[k][1] / 1e3, lo[k][1] / 1e3, hi[k][1] / 1e3);
	printf("Overhead of B, from the means (the runs' own overheads smallest..largest):\n");
	stats(oc, runs, &x, &xlo, &xhi);
	printf("  of the client's time      (B-A)/A client  %+7.2f %% (%+.2f..%+.2f)   B-A %+.2f us\n",
		(m[1][0] - m[0][0]) / m[0][0] * 100, xlo, xhi, (m[1][0] - m[0][0]) / 1e3);
	stats(ow, runs, &x, &xlo, &xhi);
	printf("  of the whole handshake    (B-A)/A whole   %+7.2f %% (%+.2f..%+.2f)   B-A %+.2f us\n",
		(m[1][1] - m[0][1]) / m[0][1] * 100, xlo, xhi, (m[1][1] - m[0][1]) / 1e3);
	stats(ocw, runs, &x, &xlo, &xhi);
	printf("  B's extra client time as a share of A's whole handshake  %+7.2f %% (%+.2f..%+.2f)\n",
		(m[1][0] - m[0][0]) / m[0][1] * 100, xlo, xhi);
	double bd = bench_median(blk_diff, (size_t)runs * (size_t)blocks);
	double bd25 = bench_quantile(blk_diff, (size_t)runs * (size_t)blocks, 0.25);
	double bd75 = bench_quantile(blk_diff, (size_t)runs * (size_t)blocks, 0.75);
	printf("  per block, B - A of the client's time (%d blocks): median %+.2f us (IQR %+.2f..%+.2f) =\n"
	       "    %+.2f %% of A's client time, %+.2f %% of A's whole handshake\n",
		runs * blocks, bd / 1e3, bd25 / 1e3, bd75 / 1e3, bd / m[0][0] * 100, bd / m[0][1] * 100);
	printf("  sanity ceiling: <= 1 %% of the whole handshake (figures only, nothing enforced)\n");

	for (int k = 0; k < 2; k++) {
		SSL_CTX_free(sd[k].ctx);
		free(sd[k].client);
		free(sd[k].whole);
		free(sd[k].blk);
	}
	free(blk_diff);
	certpin_policy_free(policy);
	for (size_t i = 0; i < nall; i++) {
		SSL_CTX_free(all[i].server);
		bench_pki_free(&all[i].leaf);
	}
	free(all);
	bench_pki_free(&inter);
	bench_pki_free(&root);
	return 0;
}
