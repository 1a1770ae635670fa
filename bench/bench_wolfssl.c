/*
 * bench_wolfssl: what the wolfSSL adapter (certpin/wolfssl.h) costs.
 *
 *   bench_wolfssl check [HANDSHAKES] [RUNS] [REPEAT]
 *   bench_wolfssl handshake [--control|--callback|--root] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]
 *
 * Client and server are wolfSSL, in this thread, over an in-memory transport
 * (wolfSSL_SSLSetIORecv/_SSLSetIOSend), taking turns.  Material made in
 * memory at start (bench_pem.c over bench_pki.c): one root, one
 * intermediate, HOSTS (default 32, at least 32) server certificates with
 * P-256 keys of their own, each for its own name; servers send leaf and
 * intermediate, clients trust the root.  TLS 1.3, no session cache and no
 * tickets: every handshake is a full one.  Policies have POLICY_HOSTS rules
 * (default 1024): a rule per host with its pin and a backup pin that
 * matches nothing, other names (one in 50 a wildcard) filling the rest.
 *
 * check: the adapter's work in a handshake on a verified chain of 3 (leaf,
 * intermediate, root), hashing included, without wolfSSL's own
 * verification that precedes each call: certpin's verify callback, called
 * by wolfSSL at depth 1 (the intermediate: recorded) and depth 0 (the leaf:
 * the chain set up, the name looked up among 1024 rules, the pins checked,
 * the result recorded), timed inside real handshakes.  Public API only: the
 * callback is the one certpin_wolfssl_set_host() left on the connection
 * (wolfSSL_get_verify_callback()), and a wrapper set in its place with
 * wolfSSL_set_verify() calls it under a clock.  Three cases, interleaved
 * handshake by handshake over the HOSTS hosts: the leaf pinned (one SPKI
 * hashed, no lookup in wolfSSL's CA table), the root pinned (the path
 * walked through wolfSSL's CA table: leaf, intermediate and root hashed),
 * and no pin matching (all three hashed, refused).  Per handshake `first`
 * is the calls as wolfSSL made them (caches as a handshake leaves them);
 * `again` is each call repeated REPEAT - 1 more times at once on the same
 * store (default REPEAT 20; warm caches, as a loop of checks measures).
 * Per run (default 7) the median over HANDSHAKES (default 300) per case;
 * reported: the median of the runs (smallest..largest).
 *
 * handshake: two clients, each one WOLFSSL_CTX for all its connections:
 *   A  plain wolfSSL: WOLFSSL_VERIFY_PEER, wolfSSL_check_domain_name() and
 *      wolfSSL_UseSNI() per connection.
 *   B  the same context with certpin_wolfssl_ctx_attach() of the policy
 *      (leaf keys pinned), certpin_wolfssl_set_host() per connection in
 *      place of the two calls, certpin_wolfssl_release() before
 *      wolfSSL_free().  With --control B is plain wolfSSL too: B - A is the
 *      bench's own bias.  With --callback B is plain wolfSSL with a verify
 *      callback that returns preverify_ok: what wolfSSL itself spends once
 *      any verify callback is set (it then calls it for every certificate
 *      the peer sent, with a WOLFSSL_X509 made for each), apart from
 *      certpin's own work.
 *      With --root the policy pins the root's key instead of each leaf's:
 *      every check walks the path through wolfSSL's CA table (the dearer
 *      case of check).
 * Per handshake, `client` is the client's calls after wolfSSL_new(): the
 * name call(s), each wolfSSL_connect() step, the release and wolfSSL_free()
 * (certpin's state is made and freed per connection); `whole` adds the
 * server's wolfSSL_accept() steps.  RUNS (default 5) of BLOCKS (default
 * 200) blocks; in a block each side makes PER_BLOCK (default 4) handshakes,
 * A first in even blocks and B first in odd ones, both to the same hosts in
 * the same order, rotating over all HOSTS.  A run's figure per side is the
 * median of its handshakes; the report gives the mean and the median of the
 * runs' medians (smallest and largest), the overhead (B - A) / A of client
 * time and of the whole handshake, and the median over all blocks of the
 * block's B - A.
 *
 * Figures only: the targets (1 us, 1 %) are printed beside them, never enforced.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "certpin.h"
#include "certpin/wolfssl.h"
#include "bench_common.h"
#include "bench_pem.h"

#define MIN_HOSTS 32
#define MAX_HOSTS 1024
#define MAX_RUNS 64
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 1000
#define MAX_HANDSHAKES 100000
#define MAX_REPEAT 1000
#define MAX_POLICY_HOSTS 1000000
#define MAX_TURNS 16

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_wolfssl: %s\n", msg);
	exit(1);
}

static long arg(int argc, char **argv, int i, long def, long lo, long hi)
{
	long v = argc > i ? strtol(argv[i], NULL, 10) : def;

	if (v < lo || v > hi)
		die("argument out of range");
	return v;
}

static double *doubles(size_t n)
{
	double *v = calloc(n ? n : 1, sizeof(double));

	if (!v)
		die("out of memory");
	return v;
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

/* ---- policies ------------------------------------------------------------------- */

typedef enum pinned_key { PIN_LEAF, PIN_ROOT, PIN_NONE } pinned_key;

static void add_rule(certpin_policy *p, const char *pattern, const certpin_pin *a, const certpin_pin *b)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;

	o.pattern = pattern;
	if (certpin_policy_add_host(p, &o, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, pattern, a, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, pattern, b, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		die("policy");
}

/* A rule per host of `pki` pinning `key` (and a backup), then fillers up to `total` rules. */
static certpin_policy *make_policy(const bench_pem_pki *pki, size_t total, pinned_key key)
{
	certpin_policy *p;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	for (size_t i = 0; i < pki->n; i++) {
		certpin_pin backup = bench_pem_fake_pin(i), none = bench_pem_fake_pin(i + MAX_POLICY_HOSTS / 2);
		add_rule(p, pki->hosts[i].name, key == PIN_LEAF ? &pki->hosts[i].pin : key == PIN_ROOT ? &pki->root_pin : &none,
			&backup);
	}
	for (size_t i = pki->n; i < total; i++) {
		certpin_pin a = bench_pem_fake_pin(2 * i + MAX_POLICY_HOSTS), b = bench_pem_fake_pin(2 * i + 1 + MAX_POLICY_HOSTS);
		if (i % 50 == 0)
			snprintf(name, sizeof(name), "%s.z%06zu.filler.certpin.test", i % 100 ? "*" : "**", i);
		else
			snprintf(name, sizeof(name), "f%06zu.filler.certpin.test", i);
		add_rule(p, name, &a, &b);
	}
	if (certpin_policy_host_count(p) != total)
		die("the policy has not the intended size");
	return p;
}

/* ---- wolfSSL over memory ---------------------------------------------------------- */

typedef struct pipe_buf {
	unsigned char data[1 << 16];
	size_t len, off;
} pipe_buf;
static pipe_buf c2s, s2c;

static int mem_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	pipe_buf *b = ctx;
	size_t n = b->len - b->off;

	(void)ssl;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	n = n < (size_t)sz ? n : (size_t)sz;
	memcpy(buf, b->data + b->off, n);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
	return (int)n;
}

static int mem_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	pipe_buf *b = ctx;

	(void)ssl;
	if ((size_t)sz > sizeof(b->data) - b->len)
		die("transport buffer full");
	memcpy(b->data + b->len, buf, (size_t)sz);
	b->len += (size_t)sz;
	return sz;
}

static void wire(WOLFSSL *ssl, pipe_buf *in, pipe_buf *out)
{
	wolfSSL_SSLSetIORecv(ssl, mem_recv);
	wolfSSL_SSLSetIOSend(ssl, mem_send);
	wolfSSL_SetIOReadCtx(ssl, in);
	wolfSSL_SetIOWriteCtx(ssl, out);
}

static WOLFSSL_CTX *server_ctx(const bench_pem_host *h)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());

	if (!ctx ||
	    wolfSSL_CTX_use_certificate_chain_buffer(ctx, (const unsigned char *)h->chain.data, (long)h->chain.len) !=
		    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_buffer(ctx, (const unsigned char *)h->key.data, (long)h->key.len,
		    WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_no_ticket_TLSv13(ctx) != 0)
		die("server context");
	return ctx;
}

/* An application's verify callback that changes nothing (--callback). */
static int pass_verify(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	(void)store;
	return preverify;
}

/* An ordinary verifying client context trusting `root`; `policy` attached if not NULL. */
static WOLFSSL_CTX *client_ctx(const bench_pem *root, certpin_policy *policy, VerifyCallback cb)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());

	if (!ctx || wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_load_verify_buffer(ctx, (const unsigned char *)root->data, (long)root->len, WOLFSSL_FILETYPE_PEM) !=
		    WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF) != WOLFSSL_SUCCESS)
		die("client context");
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, cb);
	if (policy && certpin_wolfssl_ctx_attach(ctx, policy, NULL, NULL) != CERTPIN_OK)
		die("certpin attach");
	return ctx;
}

static void client_free(WOLFSSL_CTX *ctx)
{
	certpin_wolfssl_ctx_detach(ctx);
	wolfSSL_CTX_free(ctx);
}

/* ---- certpin's verify callback under a clock (check) ------------------------------- */

static struct {
	VerifyCallback certpin;         /* the connection's callback after certpin_wolfssl_set_host() */
	int repeat;
	double first, again;            /* this handshake: the calls wolfSSL made; the repeats */
} meter;

static int metered_verify(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	double t0 = bench_now_ns();
	int ok = meter.certpin(preverify, store);
	double t1 = bench_now_ns();

	for (int i = 1; i < meter.repeat; i++)
		(void)meter.certpin(preverify, store);
	meter.first += t1 - t0;
	meter.again += bench_now_ns() - t1;
	return ok;
}

static void meter_on(WOLFSSL *c)
{
	meter.certpin = wolfSSL_get_verify_callback(c);
	if (!meter.certpin)
		die("no verify callback on the connection");
	wolfSSL_set_verify(c, wolfSSL_get_verify_mode(c), metered_verify);
	meter.first = meter.again = 0;
}

/* ---- one handshake ------------------------------------------------------------------ */

typedef struct side {
	WOLFSSL_CTX *ctx;
	int pinned;                     /* certpin attached: certpin's name call and release */
	int metered;                    /* check: certpin's callback under the meter */
	int rc;                         /* out: certpin_wolfssl_result() of the last handshake */
	certpin_result res;
} side;

/* The client's calls that name the connection. */
static void name_connection(const side *sd, WOLFSSL *c, const char *host)
{
	if (sd->pinned) {
		if (certpin_wolfssl_set_host(c, host) != CERTPIN_OK)
			die("certpin_wolfssl_set_host");
	} else if (wolfSSL_check_domain_name(c, host) != WOLFSSL_SUCCESS ||
		   wolfSSL_UseSNI(c, WOLFSSL_SNI_HOST_NAME, host, (unsigned short)strlen(host)) != WOLFSSL_SUCCESS) {
		die("wolfSSL_check_domain_name");
	}
}

/* A full handshake of a new connection of `sd` with one of `sctx` for `host`: 1 if both ends finished. */
static int handshake(side *sd, WOLFSSL_CTX *sctx, const char *host, double *client, double *server)
{
	WOLFSSL *c = wolfSSL_new(sd->ctx), *s = wolfSSL_new(sctx);
	int cdone = 0, sdone = 0, r;

	if (!c || !s)
		die("wolfSSL_new");
	c2s.len = c2s.off = s2c.len = s2c.off = 0;
	wire(c, &s2c, &c2s);
	wire(s, &c2s, &s2c);
	double t0 = bench_now_ns();
	name_connection(sd, c, host);
	*client = bench_now_ns() - t0;
	if (sd->metered)
		meter_on(c);
	*server = 0;
	for (int turn = 0; turn < MAX_TURNS && !(cdone && sdone); turn++) {
		if (!cdone) {
			t0 = bench_now_ns();
			r = wolfSSL_connect(c);
			cdone = r == WOLFSSL_SUCCESS;
			r = cdone ? 0 : wolfSSL_get_error(c, r);
			*client += bench_now_ns() - t0;
			if (r != 0 && r != WOLFSSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			t0 = bench_now_ns();
			r = wolfSSL_accept(s);
			sdone = r == WOLFSSL_SUCCESS;
			r = sdone ? 0 : wolfSSL_get_error(s, r);
			*server += bench_now_ns() - t0;
			if (r != 0 && r != WOLFSSL_ERROR_WANT_READ)
				break;
		}
	}
	if (sd->pinned)
		sd->rc = certpin_wolfssl_result(&sd->res, c);
	wolfSSL_free(s);
	t0 = bench_now_ns();
	if (sd->pinned)
		certpin_wolfssl_release(c);
	wolfSSL_free(c);
	*client += bench_now_ns() - t0;
	return cdone && sdone;
}

/* ---- check ------------------------------------------------------------------------- */

static const char *const case_name[3] = { "leaf pin (one SPKI hashed)", "root pin (path walked, three hashed)",
	"no pin matches (three hashed, refused)" };

/* The handshake of case `k` went as it must: allowed on the right certificate, or refused. */
static void check_outcome(int k, int ok, const side *sd)
{
	if (k == PIN_LEAF && (!ok || sd->rc != CERTPIN_OK || sd->res.verdict != CERTPIN_VERDICT_MATCH || sd->res.depth != 0))
		die("leaf pin: not matched at depth 0");
	if (k == PIN_ROOT && (!ok || sd->rc != CERTPIN_OK || sd->res.verdict != CERTPIN_VERDICT_MATCH || sd->res.depth != 2))
		die("root pin: not matched at depth 2 (a verified chain of 3)");
	if (k == PIN_NONE && (ok || sd->rc != CERTPIN_E_PIN_MISMATCH))
		die("no pin: not refused as a mismatch");
}

/* The clock's own cost: the median of back-to-back readings. */
static double clock_cost(void)
{
	double v[1001];

	for (int i = 0; i < 1001; i++) {
		double t0 = bench_now_ns();
		v[i] = bench_now_ns() - t0;
	}
	return bench_median(v, 1001);
}

static void check_report(double (*first)[MAX_RUNS], double (*again)[MAX_RUNS], long runs, long n, int repeat)
{
	printf("wolfSSL %s adapter check, verified chain of 3, policy of 1024 rules: median of %ld runs (smallest..largest) "
	       "of each run's median over %ld handshakes; clock read %.0f ns  [target <= 1000 ns]\n",
		wolfSSL_lib_version(), runs, n, clock_cost());
	for (int k = 0; k < 3; k++) {
		double lo, hi, mean;
		stats(first[k], runs, &mean, &lo, &hi);
		printf("  %-40s first %7.0f ns (%.0f..%.0f)", case_name[k], bench_median(first[k], (size_t)runs), lo, hi);
		if (repeat > 1) {
			stats(again[k], runs, &mean, &lo, &hi);
			printf("   again x%d %7.0f ns (%.0f..%.0f)", repeat - 1, bench_median(again[k], (size_t)runs), lo, hi);
		}
		printf("\n");
	}
}

static int bench_check(int argc, char **argv)
{
	long n = arg(argc, argv, 2, 300, 1, MAX_HANDSHAKES), runs = arg(argc, argv, 3, 7, 1, MAX_RUNS);
	int repeat = (int)arg(argc, argv, 4, 20, 1, MAX_REPEAT);
	bench_pem_pki pki;
	certpin_policy *policy[3];
	side sides[3];
	WOLFSSL_CTX **servers = calloc(MIN_HOSTS, sizeof(*servers));
	double *first[3] = { doubles((size_t)n), doubles((size_t)n), doubles((size_t)n) };
	double *again[3] = { doubles((size_t)n), doubles((size_t)n), doubles((size_t)n) };
	double med_first[3][MAX_RUNS], med_again[3][MAX_RUNS], c, s;

	if (!servers)
		die("out of memory");
	bench_pem_make(&pki, MIN_HOSTS);
	for (int k = 0; k < 3; k++) {
		policy[k] = make_policy(&pki, 1024, (pinned_key)k);
		sides[k] = (side){ client_ctx(&pki.root, policy[k], NULL), 1, 1, 0, { 0 } };
	}
	for (size_t i = 0; i < pki.n; i++)
		servers[i] = server_ctx(&pki.hosts[i]);
	meter.repeat = repeat;
	for (long r = 0; r < runs; r++) {
		for (long i = 0; i < n; i++) {
			size_t h = (size_t)i % pki.n;
			for (int j = 0; j < 3; j++) {
				int k = (int)((i + j) % 3); /* each case first, second and third in turn */
				check_outcome(k, handshake(&sides[k], servers[h], pki.hosts[h].name, &c, &s), &sides[k]);
				first[k][i] = meter.first;
				again[k][i] = repeat > 1 ? meter.again / (repeat - 1) : 0;
			}
		}
		for (int k = 0; k < 3; k++) {
			med_first[k][r] = bench_median(first[k], (size_t)n);
			med_again[k][r] = bench_median(again[k], (size_t)n);
		}
	}
	check_report(med_first, med_again, runs, n, repeat);
	for (int k = 0; k < 3; k++) {
		client_free(sides[k].ctx);
		certpin_policy_free(policy[k]);
		free(first[k]);
		free(again[k]);
	}
	for (size_t i = 0; i < pki.n; i++)
		wolfSSL_CTX_free(servers[i]);
	free(servers);
	bench_pem_free(&pki);
	return 0;
}

/* ---- handshake: plain wolfSSL against wolfSSL with certpin -------------------------- */

static void report(const char *what, const double *a, const double *b, long runs)
{
	double am, alo, ahi, bm, blo, bhi, amed, bmed;
	double ac[MAX_RUNS], bc[MAX_RUNS];

	memcpy(ac, a, (size_t)runs * sizeof(double));
	memcpy(bc, b, (size_t)runs * sizeof(double));
	amed = bench_median(ac, (size_t)runs);
	bmed = bench_median(bc, (size_t)runs);
	stats(a, runs, &am, &alo, &ahi);
	stats(b, runs, &bm, &blo, &bhi);
	printf("  %-7s A mean %7.1f us, median %7.1f (%.1f..%.1f)   B mean %7.1f us, median %7.1f (%.1f..%.1f)\n"
	       "          (B - A) / A: of the means %+6.2f %%, of the medians %+6.2f %%  [target <= 1 %%]\n",
		what, am / 1e3, amed / 1e3, alo / 1e3, ahi / 1e3, bm / 1e3, bmed / 1e3, blo / 1e3, bhi / 1e3,
		100.0 * (bm - am) / am, 100.0 * (bmed - amed) / amed);
}

typedef struct hs_run {
	long runs, blocks, per;
	double med[2][2][MAX_RUNS];     /* [side][client, whole][run] */
	double *diff;                   /* per block: B - A of the median client time */
	size_t nd;
} hs_run;

/* The runs: A and B interleaved per block over the hosts' servers. */
static void hs_measure(hs_run *m, side sides[2], WOLFSSL_CTX **servers, const bench_pem_pki *pki)
{
	size_t nh = (size_t)(m->blocks * m->per), next = 0;
	double *t[2][2] = { { doubles(nh), doubles(nh) }, { doubles(nh), doubles(nh) } };
	double *bt[2] = { doubles((size_t)m->per), doubles((size_t)m->per) }, c, s;

	for (long r = 0; r < m->runs; r++) {
		for (long blk = 0; blk < m->blocks; blk++, next += (size_t)m->per) {
			for (int j = 0; j < 2; j++) {
				int k = (int)(blk % 2) ^ j; /* A first in even blocks, B first in odd ones */
				for (long i = 0; i < m->per; i++) {
					size_t at = (size_t)(blk * m->per + i), h = (next + (size_t)i) % pki->n;
					if (!handshake(&sides[k], servers[h], pki->hosts[h].name, &c, &s) ||
					    (sides[k].pinned && (sides[k].rc != CERTPIN_OK || sides[k].res.verdict != CERTPIN_VERDICT_MATCH)))
						die("a handshake failed, or certpin did not check it");
					t[k][0][at] = c;
					t[k][1][at] = c + s;
					bt[k][i] = c;
				}
			}
			m->diff[m->nd++] = bench_median(bt[1], (size_t)m->per) - bench_median(bt[0], (size_t)m->per);
		}
		for (int k = 0; k < 2; k++)
			for (int w = 0; w < 2; w++)
				m->med[k][w][r] = bench_median(t[k][w], nh);
	}
	for (int k = 0; k < 2; k++) {
		free(t[k][0]);
		free(t[k][1]);
		free(bt[k]);
	}
}

static int bench_handshakes(int argc, char **argv)
{
	const char *mode = argc > 2 && strncmp(argv[2], "--", 2) == 0 ? argv[2] : "";
	int control = strcmp(mode, "--control") == 0, callback = strcmp(mode, "--callback") == 0;
	int root = strcmp(mode, "--root") == 0, o = control || callback || root ? 1 : 0;
	if (*mode && !control && !callback && !root)
		die("unknown option");
	hs_run m = { arg(argc, argv, 2 + o, 5, 1, MAX_RUNS), arg(argc, argv, 3 + o, 200, 2, MAX_BLOCKS),
		arg(argc, argv, 4 + o, 4, 1, MAX_PER_BLOCK), { { { 0 } } }, NULL, 0 };
	long nhosts = arg(argc, argv, 5 + o, 32, MIN_HOSTS, MAX_HOSTS);
	long npolicy = arg(argc, argv, 6 + o, 1024, nhosts, MAX_POLICY_HOSTS);
	bench_pem_pki pki;
	double c, s;

	bench_pem_make(&pki, (size_t)nhosts);
	certpin_policy *policy = make_policy(&pki, (size_t)npolicy, root ? PIN_ROOT : PIN_LEAF);
	WOLFSSL_CTX **servers = calloc((size_t)nhosts, sizeof(*servers));
	if (!servers)
		die("out of memory");
	for (long i = 0; i < nhosts; i++)
		servers[i] = server_ctx(&pki.hosts[i]);
	int pinned = !control && !callback;
	side sides[2] = { { client_ctx(&pki.root, NULL, NULL), 0, 0, 0, { 0 } },
		{ client_ctx(&pki.root, pinned ? policy : NULL, callback ? pass_verify : NULL), pinned, 0, 0, { 0 } } };
	for (long i = 0; i < nhosts; i++) /* warm-up: every host once per side */
		for (int k = 0; k < 2; k++)
			if (!handshake(&sides[k], servers[i], pki.hosts[i].name, &c, &s))
				die("a warm-up handshake failed");
	m.diff = doubles((size_t)(m.blocks * m.runs));
	hs_measure(&m, sides, servers, &pki);
	printf("wolfSSL %s, %ld hosts with keys of their own, policy of %ld rules%s; %ld runs x %ld blocks x %ld "
	       "handshakes per side\n", wolfSSL_lib_version(), nhosts, npolicy,
		control ? " (--control: B plain too)" : callback ? " (--callback: B plain with a verify callback)"
			: root ? " pinning the root" : " pinning the leaves",
		m.runs, m.blocks, m.per);
	report("client", m.med[0][0], m.med[1][0], m.runs);
	report("whole", m.med[0][1], m.med[1][1], m.runs);
	double am, lo, hi, bd = bench_median(m.diff, m.nd);
	stats(m.med[0][1], m.runs, &am, &lo, &hi);
	printf("  median over blocks of B - A (client): %+.2f us = %+.2f %% of A's whole handshake\n", bd / 1e3,
		100.0 * bd / am);
	free(m.diff);
	for (int k = 0; k < 2; k++)
		client_free(sides[k].ctx);
	for (long i = 0; i < nhosts; i++)
		wolfSSL_CTX_free(servers[i]);
	free(servers);
	certpin_policy_free(policy);
	bench_pem_free(&pki);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		die("wolfSSL_Init");
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		rc = bench_check(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "handshake") == 0)
		rc = bench_handshakes(argc, argv);
	else
		fprintf(stderr, "usage: bench_wolfssl check [HANDSHAKES] [RUNS] [REPEAT]\n"
				"       bench_wolfssl handshake [--control|--callback|--root] [RUNS] [BLOCKS] [PER_BLOCK] [HOSTS] [POLICY_HOSTS]\n");
	wolfSSL_Cleanup();
	return rc;
}
