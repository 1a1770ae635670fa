/*
 * bench_curl: what certpin_curl_attach() adds to HTTPS GETs with libcurl.
 *
 *   bench_curl [--control] [--cpu] [RUNS] [BLOCKS] [PER_BLOCK] [POLICY_HOSTS]
 *
 * A local HTTPS server (a thread of this program, 127.0.0.1, OpenSSL,
 * certificates made in memory by bench_pki.c: a root, an intermediate and
 * a P-256 leaf for bench.certpin.test; no session tickets, no session
 * cache) answers each GET with a 3-byte body and "Connection: close".
 *
 * Two clients, each one easy handle for all its GETs, as an application
 * has: https://bench.certpin.test:PORT/ resolved to 127.0.0.1
 * (CURLOPT_RESOLVE), the root as the only trust anchor (CURLOPT_CAINFO_BLOB),
 * CURLOPT_FRESH_CONNECT and CURLOPT_FORBID_REUSE (a new connection and a
 * full handshake for every GET), CURLOPT_SSL_SESSIONID_CACHE off (B's
 * helper turns it off; A the same, so both make full handshakes).
 *   A  plain libcurl.
 *   B  the same plus certpin_curl_attach() of one policy of POLICY_HOSTS
 *      rules (default 1024, at least 1000): the host pinned with its
 *      leaf's key and a backup pin, the others filled with made-up names
 *      (one in 50 a wildcard) and pins.
 *      With --control, B is plain libcurl too: B - A is then the bench's
 *      own bias and noise.
 * Every GET is checked (HTTP 200 and the body; B: certpin_curl_result()
 * CERTPIN_OK, verdict match); a failure stops the benchmark.
 *
 * Order: RUNS runs (default 5) of BLOCKS blocks (default 250) of PER_BLOCK
 * GETs per side (default 4): a loop of 1000 GETs per side and run, A's then
 * B's in even blocks, B's then A's in odd ones (short blocks keep A and B
 * close in time on a machine whose speed swings; see bench_handshake.c).
 * A GET's time is the wall time of curl_easy_perform() (TCP connect,
 * handshake, request, response, close: the client's and the server's work,
 * as a user waits for it); with --cpu, the CPU time of the client's thread
 * in it instead (CLOCK_THREAD_CPUTIME_ID: libcurl, OpenSSL and the helper,
 * user and system, without the server's work or any wait).  Per run and side: the mean GET time (the loop's
 * time / GETs) and the median GET; per run the overhead (B - A) / A of
 * both.  The report gives per side the median of the runs' figures with min
 * and max, the overhead of the runs: median, min, max, and over all runs
 * the total time of B's loops against A's.  Also the median over all blocks
 * of the block's (B - A) / A, less exposed to the machine's swings.
 * Figures only: the 1 % target is printed beside them, never enforced.
 */
#include "certpin.h"
#include "certpin/curl.h"
#include "bench_common.h"
#include "bench_pki.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOST "bench.certpin.test"
#define MAX_RUNS 64
#define MAX_BLOCKS 100000
#define MAX_PER_BLOCK 1000
#define MAX_GETS 1000000 /* per side and run */

static bool cpu_time; /* --cpu: a GET's time is the client thread's CPU time */
static bool control;  /* --control: B is plain libcurl too */

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_curl: %s\n", msg);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* ---- the server ---------------------------------------------------------------------------- */

typedef struct server {
	SSL_CTX *ctx;
	int fd, port;
	atomic_int stop;
	pthread_t thread;
} server;

/* One connection: handshake, read the request's header, answer, close.  Bounded by SO_RCVTIMEO/SO_SNDTIMEO. */
static void serve(SSL_CTX *ctx, int fd)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
	struct timeval tv = { 5, 0 };
	char buf[4096] = "";
	size_t got = 0;
	int one = 1;
	SSL *ssl = SSL_new(ctx);

	(void)fcntl(fd, F_SETFL, 0); /* blocking, whatever the listener's flags */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as libcurl does on its side */
	if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		int r;
		while (got < sizeof(buf) - 1 && (r = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0) {
			got += (size_t)r;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (strstr(buf, "\r\n\r\n") && SSL_write(ssl, reply, (int)sizeof(reply) - 1) > 0)
			SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

static void *server_thread(void *arg)
{
	server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(s->fd, NULL, NULL);
		if (c >= 0)
			serve(s->ctx, c);
	}
	return NULL;
}

static void server_start(server *s, const bench_cert *leaf, const bench_cert *inter)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->ctx = SSL_CTX_new(TLS_server_method());
	if (!s->ctx || !SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(s->ctx, leaf->cert) != 1 || SSL_CTX_use_PrivateKey(s->ctx, leaf->key) != 1 ||
	    SSL_CTX_add1_chain_cert(s->ctx, inter->cert) != 1)
		die("cannot set up the server");
	SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(s->ctx, 0);
	SSL_CTX_set_options(s->ctx, SSL_OP_NO_TICKET);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 64) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0 || fcntl(s->fd, F_SETFL, O_NONBLOCK) != 0)
		die("cannot listen on 127.0.0.1");
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, server_thread, s) != 0)
		die("cannot start the server thread");
}

static void server_stop(server *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
}

/* ---- the clients --------------------------------------------------------------------------- */

typedef struct client {
	CURL *easy;
	struct curl_slist *resolve;
	char body[16];
	size_t len;
	bool pinned;
} client;

static size_t keep(char *data, size_t size, size_t n, void *payload)
{
	client *c = payload;
	size_t len = size * n, room = sizeof(c->body) - 1 - c->len;

	memcpy(c->body + c->len, data, len < room ? len : room);
	c->len += len < room ? len : room;
	c->body[c->len] = '\0';
	return len;
}

static void client_init(client *c, int port, const char *root_pem, size_t root_len, certpin_policy *policy)
{
	char url[128], entry[128];
	struct curl_blob ca = { (void *)root_pem, root_len, CURL_BLOB_COPY };
	certpin_error err;

	memset(c, 0, sizeof(*c));
	snprintf(url, sizeof(url), "https://" HOST ":%d/", port);
	snprintf(entry, sizeof(entry), HOST ":%d:127.0.0.1", port);
	if (!(c->easy = curl_easy_init()) || !(c->resolve = curl_slist_append(NULL, entry)))
		die("cannot make an easy handle");
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_RESOLVE, c->resolve);
	curl_easy_setopt(c->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(c->easy, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(c->easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c->easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	c->pinned = policy != NULL;
	if (policy && certpin_curl_attach(c->easy, policy, NULL, &err) != CERTPIN_OK)
		die(err.message);
}

static void client_free(client *c)
{
	certpin_curl_detach(c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->resolve);
}

static double now_ns(void)
{
	struct timespec ts;

	if (!cpu_time)
		return bench_now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One GET; its time in ns (wall, or the thread's CPU).  Dies unless it went through (and, pinned, matched). */
static double get(client *c)
{
	certpin_result r;
	long status = 0;

	c->len = 0;
	c->body[0] = '\0';
	double t0 = now_ns();
	CURLcode cc = curl_easy_perform(c->easy);
	double t = now_ns() - t0;
	(void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status != 200 || strcmp(c->body, "ok\n") != 0)
		die(curl_easy_strerror(cc));
	if (c->pinned && (certpin_curl_result(c->easy, &r, NULL) != CERTPIN_OK || r.verdict != CERTPIN_VERDICT_MATCH))
		die("B's GET was not a pin match");
	return t;
}

/* ---- the policy ---------------------------------------------------------------------------- */


/* HOST with the leaf's key and a backup, then made-up names (one in 50 a wildcard) up to `total` rules. */
static certpin_policy *make_policy(X509 *leaf, size_t total)
{
	certpin_pin key = bench_pki_spki_pin(leaf), backup = bench_pki_fake_pin(1);
	certpin_policy *p = NULL;
	char name[96];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	bench_pki_add_rule(p, HOST, &key, &backup);
	for (size_t i = 1; i < total; i++) {
		certpin_pin a = bench_pki_fake_pin(2 * i), b = bench_pki_fake_pin(2 * i + 1);
		snprintf(name, sizeof(name), i % 50 ? "host%zu.example%zu.test" : "*.zone%zu.example%zu.test", i, i % 7);
		bench_pki_add_rule(p, name, &a, &b);
	}
	certpin_policy_freeze(p);
	if (certpin_policy_host_count(p) != total)
		die("the policy has not the intended size");
	return p;
}

/* ---- the runs ------------------------------------------------------------------------------ */

typedef struct figures {
	double mean[2][MAX_RUNS], median[2][MAX_RUNS]; /* per side (0: A, 1: B) and run, ns per GET */
	double total[2];                               /* per side, ns over all runs */
	size_t gets;                                   /* per side, over all runs */
	double *get[2];                                /* per side, one run's GETs */
	double *block_over;                            /* per block of every run: (B - A) / A */
	size_t nblocks;
} figures;

/* One run: BLOCKS blocks of PER_BLOCK GETs per side, the sides' order alternating. */
static void run(figures *f, int r, client *a, client *b, long blocks, long per_block)
{
	size_t n = 0, gets = (size_t)(blocks * per_block);
	double sum[2] = { 0, 0 };

	for (long k = 0; k < blocks; k++, n += (size_t)per_block) {
		double blk[2] = { 0, 0 };
		for (int half = 0; half < 2; half++) {
			int side = (k % 2 == 0) ? half : 1 - half;
			for (long i = 0; i < per_block; i++)
				blk[side] += f->get[side][n + (size_t)i] = get(side ? b : a);
		}
		sum[0] += blk[0];
		sum[1] += blk[1];
		f->block_over[f->nblocks++] = (blk[1] - blk[0]) / blk[0];
	}
	f->gets += gets;
	for (int side = 0; side < 2; side++) {
		f->total[side] += sum[side];
		f->mean[side][r] = sum[side] / (double)gets;
		f->median[side][r] = bench_median(f->get[side], gets);
	}
}

/* Median, min and max of v[0..n) (v is left as it was). */
static void summary(const double *v, int n, double *med, double *lo, double *hi)
{
	double w[MAX_RUNS];

	memcpy(w, v, (size_t)n * sizeof(*v));
	*med = bench_median(w, (size_t)n);
	*lo = w[0];
	*hi = w[n - 1];
}

static void print_side(const char *label, const double *v, int runs)
{
	double med, lo, hi;

	summary(v, runs, &med, &lo, &hi);
	printf("  %-39s %8.1f us (%.1f..%.1f)\n", label, med / 1e3, lo / 1e3, hi / 1e3);
}

static void print_over(const char *label, double (*v)[MAX_RUNS], int runs)
{
	double o[MAX_RUNS], med, lo, hi;

	for (int r = 0; r < runs; r++)
		o[r] = (v[1][r] - v[0][r]) / v[0][r];
	summary(o, runs, &med, &lo, &hi);
	printf("  %-39s %+7.2f %% (%+.2f..%+.2f)\n", label, 100 * med, 100 * lo, 100 * hi);
}

static void report(figures *f, int runs, double wall)
{
	double *bo = f->block_over;

	printf("  run  A mean     B mean      B - A      A median   B median    B - A\n");
	for (int r = 0; r < runs; r++)
		printf("  %3d  %7.1f us %7.1f us  %+6.2f %%   %7.1f us %7.1f us  %+6.2f %%\n", r + 1, f->mean[0][r] / 1e3,
			f->mean[1][r] / 1e3, 100 * (f->mean[1][r] - f->mean[0][r]) / f->mean[0][r], f->median[0][r] / 1e3,
			f->median[1][r] / 1e3, 100 * (f->median[1][r] - f->median[0][r]) / f->median[0][r]);
	printf("Per side, the median of the %d runs (min..max), %.1f s:\n", runs, wall);
	print_side("A (plain libcurl), mean GET", f->mean[0], runs);
	print_side(control ? "B (plain libcurl, control), mean GET" : "B (certpin_curl_attach), mean GET", f->mean[1], runs);
	print_side("A (plain libcurl), median GET", f->median[0], runs);
	print_side(control ? "B (plain libcurl, control), median GET" : "B (certpin_curl_attach), median GET",
		f->median[1], runs);
	printf("Overhead (B - A) / A, median of the runs (min..max):\n");
	print_over("of the loop (mean GET)", f->mean, runs);
	print_over("of the median GET", f->median, runs);
	printf("  %-39s %+7.2f %%  (B - A %+.1f us per GET)\n", "all runs' loops together",
		100 * (f->total[1] - f->total[0]) / f->total[0], (f->total[1] - f->total[0]) / 1e3 / (double)f->gets);
	printf("  %-39s %+7.2f %% (quartiles %+.2f, %+.2f; %zu blocks)\n", "per block, median",
		100 * bench_quantile(bo, f->nblocks, 0.5), 100 * bench_quantile(bo, f->nblocks, 0.25),
		100 * bench_quantile(bo, f->nblocks, 0.75), f->nblocks);
	printf("  target: <= 1 %% of the loop (figures only, nothing enforced)\n");
}

/* The root's PEM, for CURLOPT_CAINFO_BLOB; free with OPENSSL_free(). */
static char *pem_of(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out = NULL;

	if (!bio || PEM_write_bio_X509(bio, x) != 1)
		die("cannot encode the root");
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || !(out = OPENSSL_memdup(data, (size_t)n)))
		die("cannot encode the root");
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static double *alloc_doubles(size_t n)
{
	double *v = calloc(n, sizeof(double));

	if (!v)
		die("out of memory");
	return v;
}

int main(int argc, char **argv)
{
	bool bad = false;
	for (; argc > 1 && strncmp(argv[1], "--", 2) == 0; argc--, argv++) {
		control |= strcmp(argv[1], "--control") == 0;
		cpu_time |= strcmp(argv[1], "--cpu") == 0;
		bad |= strcmp(argv[1], "--control") != 0 && strcmp(argv[1], "--cpu") != 0;
	}
	long runs = argc > 1 ? atol(argv[1]) : 5, blocks = argc > 2 ? atol(argv[2]) : 250;
	long per_block = argc > 3 ? atol(argv[3]) : 4, policy_hosts = argc > 4 ? atol(argv[4]) : 1024;
	figures f;
	server srv;
	client a, b;
	size_t root_len;

	if (bad || runs < 1 || runs > MAX_RUNS || blocks < 1 || blocks > MAX_BLOCKS || per_block < 1 ||
	    per_block > MAX_PER_BLOCK || blocks * per_block > MAX_GETS || policy_hosts < 1000 || policy_hosts > 1000000) {
		fprintf(stderr, "usage: bench_curl [--control] [--cpu] [RUNS (1-%d)] [BLOCKS] [PER_BLOCK] [POLICY_HOSTS (>= 1000)]\n"
			"  (BLOCKS x PER_BLOCK: 1-%d GETs per side and run)\n", MAX_RUNS, MAX_GETS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	bench_cert root = bench_pki_issue("certpin bench root", NULL, NULL);
	bench_cert inter = bench_pki_issue("certpin bench intermediate", NULL, &root);
	bench_cert leaf = bench_pki_issue(HOST, HOST, &inter);
	char *root_pem = pem_of(root.cert, &root_len);
	certpin_policy *policy = make_policy(leaf.cert, (size_t)policy_hosts);
	server_start(&srv, &leaf, &inter);
	client_init(&a, srv.port, root_pem, root_len, NULL);
	client_init(&b, srv.port, root_pem, root_len, control ? NULL : policy);
	certpin_policy_free(policy); /* B's attachment keeps it */
	printf("bench_curl: %s, %s\n  GET https://" HOST ":%d/ (127.0.0.1), a new connection and a full handshake each "
		"(FRESH_CONNECT, FORBID_REUSE, no session cache)\n  %s%ld rules; %ld runs x %ld blocks x %ld GETs per side; "
		"times: %s\n", curl_version(), OpenSSL_version(OPENSSL_VERSION), srv.port, control ? "CONTROL: B is plain "
		"libcurl too; B's policy, unused: " : "B: certpin_curl_attach(), a policy of ", policy_hosts, runs, blocks,
		per_block, cpu_time ? "the client thread's CPU time (--cpu)" : "wall clock");
	for (int i = 0; i < 20; i++) /* warm-up: page faults, the allocator, OpenSSL's and libcurl's lazy set-up */
		(void)get(i % 2 ? &b : &a);
	memset(&f, 0, sizeof(f));
	f.block_over = alloc_doubles((size_t)(runs * blocks));
	f.get[0] = alloc_doubles((size_t)(blocks * per_block));
	f.get[1] = alloc_doubles((size_t)(blocks * per_block));
	double t0 = bench_now_ns();
	for (int r = 0; r < runs; r++)
		run(&f, r, &a, &b, blocks, per_block);
	report(&f, (int)runs, (bench_now_ns() - t0) / 1e9);
	free(f.block_over);
	free(f.get[0]);
	free(f.get[1]);
	client_free(&a);
	client_free(&b);
	server_stop(&srv);
	OPENSSL_free(root_pem);
	bench_pki_free(&leaf);
	bench_pki_free(&inter);
	bench_pki_free(&root);
	curl_global_cleanup();
	return 0;
}
