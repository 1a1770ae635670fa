/*
 * bench_handshake: what certpin_ssl_ctx_attach() adds to a full TLS handshake.
 *
 *   bench_handshake PKI_DIR [BLOCKS] [PER_BLOCK] [root|leaf|control|infocb] [tcp|mem]
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
 * of such a callback cost.
 * Sessions are never resumed: each sample is a full handshake, timed around
 * SSL_connect() only (the TCP connect and the application data exchange that
 * follows are not counted, so the overhead is relative to the handshake
 * alone).  Both sides use one SSL_CTX for all their handshakes, as an
 * application does, so B's binding remembers the host name and the keys
 * after the first handshake (see certpin_ssl_ctx_attach()).
 *
 * A and B run in alternating blocks of PER_BLOCK handshakes (A first in even
 * blocks, B first in odd ones), after a warm-up.  Printed: the median
 * handshake time of each side, the per-block difference B - A, and the
 * per-block overhead of B over A (median, interquartile range, and mean
 * with a 95 % interval).  Also the certificate window (see window_cb()),
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
#define MAX_BLOCKS 5000
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

/* One turn of one side, unless it is `done`: 1 once its handshake is done; exits on anything but a wait. */
static int mem_turn(SSL *ssl, int done, const char *failed)
{
	if (done)
		return 1;
	int r = SSL_do_handshake(ssl);
	if (r != 1 && SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
		die(failed);
	return r == 1;
}

static void mem_handshake(SSL *c)
{
	SSL *s = SSL_new(mem_server);
	BIO *cb = NULL, *sb = NULL;
	int c_done = 0, s_done = 0;

	if (!s || !BIO_new_bio_pair(&cb, 0, &sb, 0))
		die("cannot set up the in-memory handshake");
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	/* each side runs until it waits for the other: a TLS 1.3 handshake takes a few turns */
	for (int turn = 0; turn < 16 && !(c_done && s_done); turn++) {
		c_done = mem_turn(c, c_done, "handshake failed");
		s_done = mem_turn(s, s_done, "the in-memory server failed");
	}
	if (!c_done || !s_done)
		die("the in-memory handshake did not finish");
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

static double *alloc_doubles(size_t n)
{
	double *p = calloc(n, sizeof(double));
	if (!p)
		die("out of memory");
	return p;
}

int main(int argc, char **argv)
{
	enum { M_ROOT, M_LEAF, M_CONTROL, M_INFOCB } mode = M_ROOT;
	static const char *const modes[] = { "root", "leaf", "control", "infocb" };

	if (argc < 2) {
		fprintf(stderr, "usage: bench_handshake PKI_DIR [BLOCKS] [PER_BLOCK] [root|leaf|control|infocb] [tcp|mem]\n");
		return 2;
	}
#ifdef CERTPIN_PAGE_MARK
	atexit(print_maps);
#endif
	const char *dir = argv[1];
	int blocks = argc > 2 ? atoi(argv[2]) : 1000;
	int per = argc > 3 ? atoi(argv[3]) : 4;
	if (argc > 4) {
		size_t m = 0;
		while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(argv[4], modes[m]) != 0)
			m++;
		if (m == sizeof(modes) / sizeof(modes[0])) {
			fprintf(stderr, "bench_handshake: the last argument is root, leaf, control or infocb\n");
			return 2;
		}
		mode = (int)m;
	}
	int mem = 0;
	if (argc > 5) {
		mem = strcmp(argv[5], "mem") == 0;
		if (!mem && strcmp(argv[5], "tcp") != 0) {
			fprintf(stderr, "bench_handshake: the transport is tcp or mem\n");
			return 2;
		}
	}
	/* root (default): the pin matches only at depth 2, so all 3 certificates are hashed; leaf: one digest */
	int pins = mode == M_ROOT || mode == M_LEAF;
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

	certpin_policy *policy;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin backup = bench_named_pin("bench_handshake", dir, "backup");
	certpin_pin root = bench_named_pin("bench_handshake", dir, mode == M_LEAF ? "leaf" : "root");
	o.pattern = HOST;
	if (certpin_policy_new(&policy) != CERTPIN_OK || certpin_policy_add_host(policy, &o) != CERTPIN_OK ||
	    certpin_policy_add_pin(policy, HOST, &backup, CERTPIN_POS_ANY) != CERTPIN_OK ||
	    certpin_policy_add_pin(policy, HOST, &root, CERTPIN_POS_ANY) != CERTPIN_OK)
		die("cannot build the policy");

	SSL_CTX *a = client_ctx(dir), *b = client_ctx(dir);
	if (pins && certpin_ssl_ctx_attach(b, policy, NULL) != CERTPIN_OK)
		die("certpin_ssl_ctx_attach failed");
	if (mode == M_INFOCB)
		SSL_CTX_set_info_callback(b, idle_info_cb);

	const char *proto = "?";
	for (int i = 0; i < WARMUP; i++) {
		handshake(a, port, 0, &proto, NULL, NULL);
		handshake(b, port, pins, NULL, NULL, NULL);
	}
	unsigned long warm_info_calls = info_calls;

	/* v[side][part]: every handshake's time; blk: one block's; d[part]: per-block B - A of the medians */
	size_t total = (size_t)blocks * (size_t)per;
	double *v[2][P_N], *blk[2][P_N], *d[P_N];
	for (int p = 0; p < P_N; p++) {
		for (int side = 0; side < 2; side++) {
			v[side][p] = alloc_doubles(total);
			blk[side][p] = alloc_doubles((size_t)per);
		}
		d[p] = alloc_doubles((size_t)blocks);
	}
	double *ovh = alloc_doubles((size_t)blocks), *own = alloc_doubles(total);

	double t_start = bench_now_ns();
	for (int k = 0; k < blocks; k++) {
		size_t at = (size_t)k * (size_t)per;
		for (int side = 0; side < 2; side++) {
			int is_b = (k % 2 == 0) ? side : !side;
			for (int i = 0; i < per; i++) {
				double t[P_N];
				handshake(is_b ? b : a, port, is_b && pins, NULL, t, is_b ? &own[at + i] : NULL);
				for (int p = 0; p < P_N; p++)
					v[is_b][p][at + i] = blk[is_b][p][i] = t[p];
			}
		}
		double ma = 0, mb = 0;
		for (int p = 0; p < P_N; p++) {
			double x = bench_median(blk[0][p], (size_t)per), y = bench_median(blk[1][p], (size_t)per);
			d[p][k] = y - x;
			if (p == P_WHOLE)
				ma = x, mb = y;
		}
		ovh[k] = mb / ma - 1.0;
	}
	double wall = (bench_now_ns() - t_start) / 1e9;

	double ma = bench_median(v[0][P_WHOLE], total), mb = bench_median(v[1][P_WHOLE], total);
	double a25 = bench_quantile(v[0][P_WHOLE], total, 0.25), a75 = bench_quantile(v[0][P_WHOLE], total, 0.75);
	double b25 = bench_quantile(v[1][P_WHOLE], total, 0.25), b75 = bench_quantile(v[1][P_WHOLE], total, 0.75);
	double dm[P_N], dq25[P_N], dq75[P_N];
	for (int p = 0; p < P_N; p++) {
		dm[p] = bench_median(d[p], (size_t)blocks);
		dq25[p] = bench_quantile(d[p], (size_t)blocks, 0.25);
		dq75[p] = bench_quantile(d[p], (size_t)blocks, 0.75);
	}
	/* mean and a 95 % interval of the per-block overhead (normal approximation) */
	double mean = 0, var = 0;
	for (int k = 0; k < blocks; k++)
		mean += ovh[k] / blocks;
	for (int k = 0; k < blocks; k++)
		var += (ovh[k] - mean) * (ovh[k] - mean) / (blocks - 1);
	double ci = 1.96 * sqrt(var / blocks);
	double om = bench_median(ovh, (size_t)blocks);
	double q25 = bench_quantile(ovh, (size_t)blocks, 0.25), q75 = bench_quantile(ovh, (size_t)blocks, 0.75);
	double lo = ovh[0], hi = ovh[blocks - 1]; /* sorted by bench_quantile */
	double wa = bench_median(v[0][P_WINDOW], total), wb = bench_median(v[1][P_WINDOW], total);
	static const char *const b_is[] = { "the root only", "the leaf", "nowhere (control run: B is plain OpenSSL too)",
		"nowhere (infocb run: B is plain OpenSSL with an info callback that does nothing)" };

	printf("bench_handshake: %s, %s, %s, %d blocks x %d handshakes per side (%.1f s)%s; pins match %s\n",
		OpenSSL_version(OPENSSL_VERSION), proto,
		mem ? "in memory (client and server in one thread, no system calls)" : "loopback", blocks, per, wall,
		mem ? "" : pinned_cpus ? ", server on CPU 0, client on CPU 1" : "", b_is[mode]);
	printf("  A  plain OpenSSL verification      median %8.1f us  (IQR %.1f-%.1f)\n", ma / 1e3, a25 / 1e3,
		a75 / 1e3);
	printf("  B  %-32s median %8.1f us  (IQR %.1f-%.1f)\n",
		pins ? "+ certpin_ssl_ctx_attach" : mode == M_CONTROL ? "plain OpenSSL too" : "+ an idle info callback",
		mb / 1e3, b25 / 1e3, b75 / 1e3);
	printf("  B - A per block: median %+.2f us (IQR %+.2f..%+.2f)\n", dm[P_WHOLE] / 1e3, dq25[P_WHOLE] / 1e3,
		dq75[P_WHOLE] / 1e3);
	printf("  overhead per block: median %+.3f %% (IQR %+.3f..%+.3f %%, range %+.3f..%+.3f %%)\n", om * 100,
		q25 * 100, q75 * 100, lo * 100, hi * 100);
	printf("  overhead mean %+.3f %% +- %.3f %% (95 %% interval over blocks)\n", mean * 100, ci * 100);
	printf("  certificate window (Certificate received -> next message received): A median %.1f us, B %.1f us\n",
		wa / 1e3, wb / 1e3);
	printf("  window B - A per block: median %+.2f us (IQR %+.2f..%+.2f) = %+.3f %% of A's median handshake\n",
		dm[P_WINDOW] / 1e3, dq25[P_WINDOW] / 1e3, dq75[P_WINDOW] / 1e3, dm[P_WINDOW] / ma * 100);
	printf("  B - A per block outside the window: median %+.2f us before it, %+.2f us after it\n",
		dm[P_BEFORE] / 1e3, dm[P_AFTER] / 1e3);
	printf("  target <= 0.3 %%: the window's B - A is the binding's cost inside the handshake, measured\n"
	       "  without the network and server time that make the whole-handshake figures noisy.\n");
	if (mode == M_INFOCB)
		printf("  info callback: %.1f calls per handshake\n",
			(double)(info_calls - warm_info_calls) / (double)total);
#ifdef CERTPIN_CALLBACK_TIMER
	if (pins) {
		double o25 = bench_quantile(own, total, 0.25), o75 = bench_quantile(own, total, 0.75);
		double om50 = bench_median(own, total);
		printf("  binding's own time per B handshake (timed inside, X509_verify_cert() left out): median %.2f us\n"
		       "  (IQR %.2f-%.2f) = %.3f %% of A's median handshake\n",
			om50 / 1e3, o25 / 1e3, o75 / 1e3, om50 / ma * 100);
	}
#endif

	for (int p = 0; p < P_N; p++) {
		for (int side = 0; side < 2; side++) {
			free(v[side][p]);
			free(blk[side][p]);
		}
		free(d[p]);
	}
	free(ovh);
	free(own);
	SSL_CTX_free(a);
	SSL_CTX_free(b);
	SSL_CTX_free(mem_server);
	tlsserver_stop(srv);
	certpin_policy_free(policy);
	return 0;
}
