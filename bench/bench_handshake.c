/*
 * bench_handshake: what certpin_ssl_ctx_attach() adds to a full TLS handshake.
 *
 *   bench_handshake PKI_DIR [BLOCKS] [PER_BLOCK] [root|leaf|control|infocb|all] [tcp|mem]
 *
 * An in-process server (tests/support/tlsserver.c, its own thread) serves
 * PKI_DIR/chain.pem on 127.0.0.1.  Two client SSL_CTXs trust PKI_DIR/trust.pem
 * and verify the host name; B also has certpin_ssl_ctx_attach() with a policy
 * whose 2 pins match only on the root (or, with "leaf", on the leaf: one
 * digest instead of three), so every certificate of the verified
 * chain is hashed and compared (the binding's most expensive path).  With
 * "control", B is plain OpenSSL too: B - A then shows the bench's own bias.
 * With "infocb", B is plain OpenSSL with an info callback that does nothing
 * (the binding sets one to guard resumption): B - A is what OpenSSL's calls
 * of such a callback cost.  With "all", five sides run in the same blocks:
 * A, a control, the idle info callback, leaf pins and root pins, each
 * compared with A, so the bench's bias, the info callback's share and both
 * pin positions are measured under the same conditions (the VM's speed
 * drifts between runs).
 * Sessions are never resumed: each sample is a full handshake, timed around
 * SSL_connect() only (the TCP connect and the application data exchange that
 * follows are not counted, so the overhead is relative to the handshake
 * alone).  Both sides use one SSL_CTX for all their handshakes, as an
 * application does, so B's binding remembers the host name and the keys
 * after the first handshake (see certpin_ssl_ctx_attach()).
 *
 * A and B run in alternating blocks of PER_BLOCK handshakes (A first in even
 * blocks, B first in odd ones; with "all", the order rotates), after a warm-up;
 * a block's medians leave its first handshake out (PER_BLOCK >= 2).  Printed: the median
 * handshake time of each side, the per-block difference B - A, and the
 * per-block overhead of B over A (median with a 95 % interval that assumes
 * no distribution, interquartile range, and mean with a 95 % interval).  Also the certificate window (see window_cb()),
 * the part of the handshake where the binding runs, without the server's
 * work and the network waits, and B - A before and after it (where the
 * binding only receives OpenSSL's info-callback calls).  Figures only.
 *
 * Built as bench_handshake_timed (on a library compiled with
 * CERTPIN_CALLBACK_TIMER), it also prints the binding's own time inside each
 * B handshake, timed by the library with X509_verify_cert() left out: the
 * direct cost, free of the A/B noise (the timer adds about 0.1 us to B).
 *
 * Transport "mem" (default "tcp"): no sockets; the client and a server
 * SSL_CTX of its own handshake in this thread over a BIO pair, so no system
 * call runs during a handshake.  On a kernel with page-table isolation and
 * no PCID every system call empties the TLB; this transport shows what the
 * binding costs without that (the times then hold the server's work too,
 * in the same thread).
 *
 * Defaults: 1000 blocks of 4.  On a small VM the handshake time drifts by
 * tens of percent within seconds; short blocks let each A/B pair share
 * conditions, and many blocks narrow the interval (20 blocks of 100 gave
 * +-6 %, 1000 blocks of 4 +-0.3 % on the 2-CPU machine of RESULTS.md).
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "certpin.h"
#include "bench_common.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define HOST "api.certpin.test"
#ifndef WARMUP
#define WARMUP 100
#endif
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 5000

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_handshake: %s\n", msg);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/*
 * The client's certificate window: from the arrival of the server's
 * Certificate message to the arrival of the next handshake message.  It
 * holds the parsing of the chain, X509_verify_cert() and, on side B, the
 * binding's check, and no network wait when the server's flight comes in
 * one piece (TLS 1.3 sends Certificate and CertificateVerify together).
 * Both sides install this message callback, so its own cost cancels out.
 */
static double win_start, win_end;

#ifdef CERTPIN_CALLBACK_TIMER
/* set by the library built for bench_handshake_timed (src/openssl.c) */
extern _Thread_local double certpin__callback_own_ns;
#endif

#ifdef CERTPIN_PAGE_MARK
/*
 * bench_handshake_marked (bench/pagetouch.sh): this process's memory map,
 * printed at exit for the trace's reader.
 */
static void print_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "MAP %s", line);
	if (f)
		fclose(f);
}
#endif

static void window_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version, (void)ssl, (void)arg;
	if (write_p || content_type != SSL3_RT_HANDSHAKE || len == 0)
		return;
	if (((const unsigned char *)buf)[0] == SSL3_MT_CERTIFICATE && win_start == 0)
		win_start = bench_now_ns();
	else if (win_start != 0 && win_end == 0)
		win_end = bench_now_ns();
}

/* Transport "mem": the server side, and one handshake over a BIO pair. */
static SSL_CTX *mem_server;

static void mem_handshake(SSL *c)
{
	SSL *s = SSL_new(mem_server);

	if (!s)
		die("cannot set up the in-memory handshake");
	int r = tlsserver_pair_handshake(c, s);
	if (r != 1)
		die(r == -1 ? "handshake failed" : r == -2 ? "the in-memory server failed"
							    : "the in-memory handshake did not finish");
	SSL_free(s);
}

static SSL_CTX *client_ctx(const char *dir)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_load_verify_file(ctx, bench_path(dir, "trust.pem")) != 1)
		die("cannot set up the client SSL_CTX");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_msg_callback(ctx, window_cb);
	return ctx;
}

/* The parts of one handshake's SSL_connect() time, in ns. */
enum { P_WHOLE, P_BEFORE, P_WINDOW, P_AFTER, P_N };

/*
 * The times of a finished handshake (from t0 to t1) into t[P_N] and, on a
 * timed build, the binding's own time into *own; exits if the connection
 * did not end the way the setup intends.
 */
static void check_handshake(SSL *ssl, int pinned, const char **proto, double t[P_N], double *own, double t0, double t1)
{
	if (win_start == 0 || win_end == 0)
		die("the certificate window was not seen");
	if (t) {
		t[P_WHOLE] = t1 - t0;
		t[P_BEFORE] = win_start - t0;
		t[P_WINDOW] = win_end - win_start;
		t[P_AFTER] = t1 - win_end;
	}

	if (pinned) {
		certpin_result res;
#ifdef CERTPIN_CALLBACK_TIMER
		if (own)
			*own = certpin__callback_own_ns;
#else
		(void)own;
#endif
		if (certpin_ssl_result(&res, ssl) != CERTPIN_OK || res.verdict != CERTPIN_VERDICT_MATCH)
			die("the pinned handshake did not report a pin match");
	} else if (SSL_get_verify_result(ssl) != X509_V_OK) {
		die("the unpinned handshake did not verify");
	}
	if (proto)
		*proto = SSL_get_version(ssl);
}

/*
 * One full handshake to 127.0.0.1:port (transport "mem": to mem_server, in
 * this thread): its times into t[P_N] (whole; before, in and after the
 * certificate window) and, on a timed build, the binding's own time into
 * *own.  Exits if the connection does not end the way the setup intends.
 */
static void handshake(SSL_CTX *ctx, int port, int pinned, const char **proto, double t[P_N], double *own)
{
	SSL *ssl = SSL_new(ctx);
	if (!ssl || !SSL_set1_host(ssl, HOST) || !SSL_set_tlsext_host_name(ssl, HOST))
		die("cannot set up the SSL");
	if (mem_server) {
		win_start = win_end = 0;
		double t0 = bench_now_ns();
		mem_handshake(ssl);
		double t1 = bench_now_ns();
		check_handshake(ssl, pinned, proto, t, own, t0, t1);
		SSL_free(ssl);
		return;
	}
	struct sockaddr_in addr;
	struct timeval tv = { 5, 0 };
	int one = 1;
	char buf[16];
	size_t got = 0;

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket failed");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("connect to the test server failed");

	if (!SSL_set_fd(ssl, fd))
		die("cannot set up the SSL");
	win_start = win_end = 0;
	double t0 = bench_now_ns();
	int r = SSL_connect(ssl);
	double t1 = bench_now_ns();
	if (r != 1)
		die("handshake failed");
	check_handshake(ssl, pinned, proto, t, own, t0, t1);

	/* Finish the exchange the server expects, so it is idle for the next sample. */
	if (SSL_write(ssl, "hi\n", 3) != 3)
		die("write failed");
	while (got < sizeof(buf)) {
		int n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - got));
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	if (got < 3 || memcmp(buf, "ok\n", 3) != 0)
		die("no reply from the test server");
	SSL_free(ssl);
	close(fd);
}


/* "infocb": B's only difference from A is an info callback that does nothing. */
static volatile unsigned long info_calls;

static void idle_info_cb(const SSL *ssl, int where, int ret)
{
	(void)ssl, (void)where, (void)ret;
	info_calls++;
}

/*
 * A 95 % confidence interval for the median of v[0..n-1] that assumes no
 * distribution (the sign test's: order statistics k and n-1-k with
 * k = (n - 1.96 sqrt(n)) / 2); sorts v.
 */
static void median_interval(double *v, size_t n, double *lo, double *hi)
{
	double k = floor(((double)n - 1.96 * sqrt((double)n)) / 2.0);
	size_t i = k < 0 ? 0 : (size_t)k;

	qsort(v, n, sizeof(*v), bench_cmp_double);
	*lo = v[i];
	*hi = v[n - 1 - i];
}

static double *alloc_doubles(size_t n)
{
	double *p = calloc(n, sizeof(double));
	if (!p)
		die("out of memory");
	return p;
}

/*
 * One side of the comparison.  Arm 0 is A, plain OpenSSL; each other arm is
 * compared with it block by block.
 */
typedef struct arm {
	const char *label;      /* its row in the output */
	const char *pins_at;    /* where its pins match, for the header */
	SSL_CTX *ctx;
	certpin_policy *policy; /* attached to ctx, or NULL */
	int pinned;
	double *v[P_N];         /* every handshake's times */
	double *blk[P_N];       /* the current block's */
	double *d[P_N];         /* per block: this arm's median minus A's */
	double *ovh;            /* per block: d[P_WHOLE] / A's median whole handshake */
	double *own;            /* timed build: the binding's own time per handshake */
} arm;

#define MAX_ARMS 5

/* A policy for HOST with the backup pin and the named pin of PKI_DIR/pins.txt. */
static certpin_policy *make_policy(const char *dir, const char *pin_name)
{
	certpin_policy *policy;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin backup = bench_named_pin("bench_handshake", dir, "backup");
	certpin_pin pin = bench_named_pin("bench_handshake", dir, pin_name);

	o.pattern = HOST;
	if (certpin_policy_new(&policy) != CERTPIN_OK || certpin_policy_add_host(policy, &o, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(policy, HOST, &backup, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(policy, HOST, &pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		die("cannot build the policy");
	return policy;
}

/* Arm `kind` (root, leaf, control or infocb; NULL: A) with room for `blocks` blocks of `per`. */
static void arm_init(arm *a, const char *kind, const char *dir, int blocks, int per)
{
	size_t total = (size_t)blocks * (size_t)per;

	memset(a, 0, sizeof(*a));
	a->ctx = client_ctx(dir);
	if (!kind) {
		a->label = "A  plain OpenSSL verification";
	} else if (strcmp(kind, "root") == 0 || strcmp(kind, "leaf") == 0) {
		/* root: the pin matches only at depth 2, so all 3 certificates are hashed; leaf: one digest */
		a->pinned = 1;
		a->policy = make_policy(dir, kind);
		a->label = kind[0] == 'r' ? "B  + certpin, pins on the root" : "B  + certpin, pin on the leaf";
		a->pins_at = kind[0] == 'r' ? "the root only" : "the leaf";
		if (certpin_ssl_ctx_attach(a->ctx, a->policy, NULL) != CERTPIN_OK)
			die("certpin_ssl_ctx_attach failed");
	} else if (strcmp(kind, "control") == 0) {
		a->label = "B  plain OpenSSL too (control)";
		a->pins_at = "nowhere (control: B is plain OpenSSL too)";
	} else {
		a->label = "B  + an idle info callback";
		a->pins_at = "nowhere (infocb: B is plain OpenSSL with an info callback that does nothing)";
		SSL_CTX_set_info_callback(a->ctx, idle_info_cb);
	}
	for (int p = 0; p < P_N; p++) {
		a->v[p] = alloc_doubles(total);
		a->blk[p] = alloc_doubles((size_t)per);
		a->d[p] = alloc_doubles((size_t)blocks);
	}
	a->ovh = alloc_doubles((size_t)blocks);
	a->own = alloc_doubles(total);
}

static void arm_free(arm *a)
{
	for (int p = 0; p < P_N; p++) {
		free(a->v[p]);
		free(a->blk[p]);
		free(a->d[p]);
	}
	free(a->ovh);
	free(a->own);
	SSL_CTX_free(a->ctx);
	certpin_policy_free(a->policy);
}

/* Arm b's figures against A (arm a), from `blocks` blocks of `per`. */
static void arm_print(arm *b, arm *a, int blocks, int per, double info_calls_per_handshake)
{
	size_t total = (size_t)blocks * (size_t)per;
	double ma = bench_median(a->v[P_WHOLE], total), mb = bench_median(b->v[P_WHOLE], total);
	double b25 = bench_quantile(b->v[P_WHOLE], total, 0.25), b75 = bench_quantile(b->v[P_WHOLE], total, 0.75);
	double dm[P_N], dq25[P_N], dq75[P_N];
	for (int p = 0; p < P_N; p++) {
		dm[p] = bench_median(b->d[p], (size_t)blocks);
		dq25[p] = bench_quantile(b->d[p], (size_t)blocks, 0.25);
		dq75[p] = bench_quantile(b->d[p], (size_t)blocks, 0.75);
	}
	/* mean and a 95 % interval of the per-block overhead (normal approximation) */
	double mean = 0, var = 0;
	for (int k = 0; k < blocks; k++)
		mean += b->ovh[k] / blocks;
	for (int k = 0; k < blocks; k++)
		var += (b->ovh[k] - mean) * (b->ovh[k] - mean) / (blocks - 1);
	double ci = 1.96 * sqrt(var / blocks);
	double om = bench_median(b->ovh, (size_t)blocks);
	double q25 = bench_quantile(b->ovh, (size_t)blocks, 0.25), q75 = bench_quantile(b->ovh, (size_t)blocks, 0.75);
	double lo = b->ovh[0], hi = b->ovh[blocks - 1]; /* sorted by bench_quantile */
	double om_lo, om_hi, dm_lo, dm_hi, wm_lo, wm_hi;
	median_interval(b->ovh, (size_t)blocks, &om_lo, &om_hi);
	median_interval(b->d[P_WHOLE], (size_t)blocks, &dm_lo, &dm_hi);
	median_interval(b->d[P_WINDOW], (size_t)blocks, &wm_lo, &wm_hi);

	printf("  %-34s median %8.1f us  (IQR %.1f-%.1f)\n", b->label, mb / 1e3, b25 / 1e3, b75 / 1e3);
	printf("    B - A per block: median %+.2f us (95 %% interval %+.2f..%+.2f; IQR %+.2f..%+.2f)\n", dm[P_WHOLE] / 1e3,
		dm_lo / 1e3, dm_hi / 1e3, dq25[P_WHOLE] / 1e3, dq75[P_WHOLE] / 1e3);
	printf("    overhead per block: median %+.3f %% (95 %% interval %+.3f..%+.3f %%; IQR %+.3f..%+.3f %%, range "
	       "%+.3f..%+.3f %%)\n",
		om * 100, om_lo * 100, om_hi * 100, q25 * 100, q75 * 100, lo * 100, hi * 100);
	printf("    overhead mean %+.3f %% +- %.3f %% (95 %% interval over blocks; the mean of ratios leans positive)\n",
		mean * 100, ci * 100);
	printf("    certificate window B - A per block: median %+.2f us (95 %% interval %+.2f..%+.2f; IQR %+.2f..%+.2f)"
	       " = %+.3f %% of A's median handshake\n",
		dm[P_WINDOW] / 1e3, wm_lo / 1e3, wm_hi / 1e3, dq25[P_WINDOW] / 1e3, dq75[P_WINDOW] / 1e3,
		dm[P_WINDOW] / ma * 100);
	printf("    B - A per block outside the window: median %+.2f us before it, %+.2f us after it\n",
		dm[P_BEFORE] / 1e3, dm[P_AFTER] / 1e3);
	if (info_calls_per_handshake > 0)
		printf("    info callback: %.1f calls per handshake\n", info_calls_per_handshake);
#ifdef CERTPIN_CALLBACK_TIMER
	if (b->pinned) {
		double o25 = bench_quantile(b->own, total, 0.25), o75 = bench_quantile(b->own, total, 0.75);
		double om50 = bench_median(b->own, total);
		printf("    binding's own time per handshake (timed inside, X509_verify_cert() left out): median %.2f us\n"
		       "    (IQR %.2f-%.2f) = %.3f %% of A's median handshake\n",
			om50 / 1e3, o25 / 1e3, o75 / 1e3, om50 / ma * 100);
	}
#endif
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "root", "leaf", "control", "infocb", "all" };

	if (argc < 2) {
		fprintf(stderr, "usage: bench_handshake PKI_DIR [BLOCKS] [PER_BLOCK] [root|leaf|control|infocb|all] [tcp|mem]\n");
		return 2;
	}
#ifdef CERTPIN_PAGE_MARK
	atexit(print_maps);
#endif
	const char *dir = argv[1];
	int blocks = argc > 2 ? atoi(argv[2]) : 1000;
	int per = argc > 3 ? atoi(argv[3]) : 4;
	const char *mode = argc > 4 ? argv[4] : "root";
	size_t m = 0;
	while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(mode, modes[m]) != 0)
		m++;
	if (m == sizeof(modes) / sizeof(modes[0])) {
		fprintf(stderr, "bench_handshake: the mode is root, leaf, control, infocb or all\n");
		return 2;
	}
	int mem = 0;
	if (argc > 5) {
		mem = strcmp(argv[5], "mem") == 0;
		if (!mem && strcmp(argv[5], "tcp") != 0) {
			fprintf(stderr, "bench_handshake: the transport is tcp or mem\n");
			return 2;
		}
	}
	if (blocks < 2 || blocks > MAX_BLOCKS || per < 1 || per > MAX_PER_BLOCK) {
		fprintf(stderr, "bench_handshake: 2 <= BLOCKS <= %d, 1 <= PER_BLOCK <= %d\n", MAX_BLOCKS, MAX_PER_BLOCK);
		return 2;
	}

	/*
	 * With 2+ CPUs, keep the server thread on CPU 0 (it inherits the
	 * affinity set before it starts) and the client on CPU 1: fewer
	 * migrations, less noise.  CERTPIN_BENCH_NO_PIN_CPU=1 disables this.
	 */
	cpu_set_t cpus;
	int pinned_cpus = !getenv("CERTPIN_BENCH_NO_PIN_CPU") && sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
		CPU_COUNT(&cpus) >= 2 && CPU_ISSET(0, &cpus) && CPU_ISSET(1, &cpus);
	if (pinned_cpus) {
		CPU_ZERO(&cpus);
		CPU_SET(0, &cpus);
		pinned_cpus = sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
	}

	char chain[4096], key[4096];
	snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
	snprintf(key, sizeof(key), "%s/leaf.key", dir);
	tlsserver *srv;
	if (tlsserver_start(&srv, chain, key, 0) != 0)
		die("cannot start the test server");
	int port = tlsserver_port(srv);
	if (pinned_cpus) {
		CPU_ZERO(&cpus);
		CPU_SET(1, &cpus);
		pinned_cpus = sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
	}

	if (mem) {
		mem_server = SSL_CTX_new(TLS_server_method());
		if (!mem_server || SSL_CTX_use_certificate_chain_file(mem_server, chain) != 1 ||
		    SSL_CTX_use_PrivateKey_file(mem_server, key, SSL_FILETYPE_PEM) != 1)
			die("cannot set up the in-memory server");
		SSL_CTX_set_session_cache_mode(mem_server, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(mem_server, 0); /* as the test server: no session tickets */
	}

	/* "all": a control, an idle info callback and both pin positions, in the same blocks; otherwise A and one arm */
	static const char *const all_kinds[] = { "control", "infocb", "leaf", "root" };
	arm arms[MAX_ARMS];
	int narms = 1;
	arm_init(&arms[0], NULL, dir, blocks, per);
	if (strcmp(mode, "all") == 0)
		for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++)
			arm_init(&arms[narms++], all_kinds[i], dir, blocks, per);
	else
		arm_init(&arms[narms++], mode, dir, blocks, per);

	const char *proto = "?";
	for (int i = 0; i < WARMUP; i++)
		for (int a = 0; a < narms; a++)
			handshake(arms[a].ctx, port, arms[a].pinned, &proto, NULL, NULL);
	unsigned long warm_info_calls = info_calls;

	/*
	 * Block k runs the arms in the order k, k-1, ... (mod narms), so each arm
	 * runs first, second, ... equally often; with two arms that alternates
	 * A first and B first.  Downwards, so that A follows the control: in the
	 * order k, k+1, ... A followed the root side, and the control came out
	 * 0.04-0.10 % faster than A in every run; this way, -0.01 %
	 * (RESULTS.md, section 2, seventh session).
	 *
	 * A block's first handshake comes right after another side's and is the
	 * noisiest by far: the per-block medians leave it out (interquartile
	 * range of the certificate window's B - A +-5 us instead of +-20 us in
	 * RESULTS.md's runs).  Each side is then measured after its own kind, as
	 * in an application that pins every connection.
	 */
	size_t skip = per > 1 ? 1 : 0;
	double t_start = bench_now_ns();
	for (int k = 0; k < blocks; k++) {
		size_t at = (size_t)k * (size_t)per;
		for (int j = 0; j < narms; j++) {
			arm *a = &arms[(k + 2 * narms - j) % narms];
			for (int i = 0; i < per; i++) {
				double t[P_N];
				handshake(a->ctx, port, a->pinned, NULL, t, a->pinned ? &a->own[at + i] : NULL);
				for (int p = 0; p < P_N; p++)
					a->v[p][at + i] = a->blk[p][i] = t[p];
			}
		}
		double base[P_N];
		for (int p = 0; p < P_N; p++)
			base[p] = bench_median(arms[0].blk[p] + skip, (size_t)per - skip);
		for (int a = 1; a < narms; a++) {
			for (int p = 0; p < P_N; p++)
				arms[a].d[p][k] = bench_median(arms[a].blk[p] + skip, (size_t)per - skip) - base[p];
			arms[a].ovh[k] = arms[a].d[P_WHOLE][k] / base[P_WHOLE];
		}
	}
	double wall = (bench_now_ns() - t_start) / 1e9;

	size_t total = (size_t)blocks * (size_t)per;
	printf("bench_handshake: %s, %s, %s, %d blocks x %d handshakes per side (%.1f s)%s; pins match ",
		OpenSSL_version(OPENSSL_VERSION), proto,
		mem ? "in memory (client and server in one thread, no system calls)" : "loopback", blocks, per, wall,
		mem ? "" : pinned_cpus ? ", server on CPU 0, client on CPU 1" : "");
	if (narms == 2)
		printf("%s\n", arms[1].pins_at);
	else
		printf("the leaf or the root; with a control and an idle info callback, %d sides in the same blocks\n",
			narms);
	double a25 = bench_quantile(arms[0].v[P_WHOLE], total, 0.25), a75 = bench_quantile(arms[0].v[P_WHOLE], total, 0.75);
	double wa = bench_median(arms[0].v[P_WINDOW], total);
	printf("  %-34s median %8.1f us  (IQR %.1f-%.1f); certificate window median %.1f us\n", arms[0].label,
		bench_median(arms[0].v[P_WHOLE], total) / 1e3, a25 / 1e3, a75 / 1e3, wa / 1e3);
	for (int a = 1; a < narms; a++) {
		int idle_cb = SSL_CTX_get_info_callback(arms[a].ctx) == idle_info_cb;
		arm_print(&arms[a], &arms[0], blocks, per,
			idle_cb ? (double)(info_calls - warm_info_calls) / (double)total : 0);
	}
	printf("  target <= 0.3 %%: the per-block median overhead of a pinned side, its 95 %% interval, and the\n"
	       "  certificate window's B - A (the binding's cost inside the handshake, without the network and\n"
	       "  server time that make the whole-handshake figures noisy); a control side shows the bench's bias.\n");

	for (int a = 0; a < narms; a++)
		arm_free(&arms[a]);
	SSL_CTX_free(mem_server);
	tlsserver_stop(srv);
	return 0;
}
