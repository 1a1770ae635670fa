/*
 * reporter_test - report delivery (reporter.c): queue, background sender,
 * retries with backoff, permanent rejections, dedup window, callback hook,
 * hashes-only privacy mode, bounded queue, atomic spool for offline clients
 * and reload from it, prompt shutdown, and the OpenSSL failure callback.
 *
 * A tiny HTTP/1.1 sink on 127.0.0.1 (its own thread, keep-alive, bounded
 * waits) records every POST body and answers with a scripted status.
 */
#include "certpin.h"
#include "certpin/report.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* ---- HTTP sink ------------------------------------------------------------- */

#define SINK_MAX_BODIES 64

typedef struct sink {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	volatile int stop;
	int statuses[16];        /* status for request i (0: 204 from then on) */
	int nstatus;
	int hang;                /* never answer */
	int requests;
	char *bodies[SINK_MAX_BODIES];
	int nbodies;
	char keys[SINK_MAX_BODIES][80];   /* every request's Idempotency-Key value ("" none) */
	int nkeys;
} sink;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *find(char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

/* Read until `n` bytes are in buf, polling at most 100 ms at a time while !stop, 10 s total. */
static int read_some(sink *s, int fd, char *buf, size_t cap, size_t *have)
{
	uint64_t deadline = now_ms() + 10000;
	while (!s->stop && now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		int pr = poll(&p, 1, 100);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr <= 0)
			continue;
		ssize_t r = read(fd, buf + *have, cap - *have);
		if (r <= 0)
			return -1;
		*have += (size_t)r;
		return 0;
	}
	return -1;
}

static void serve_conn(sink *s, int fd)
{
	static char buf[1 << 20];
	size_t have = 0;

	for (int reqs = 0; reqs < 10000 && !s->stop; reqs++) {
		char *end;
		while (!(end = find(buf, have, "\r\n\r\n"))) {
			if (have == sizeof(buf) || read_some(s, fd, buf, sizeof(buf), &have) != 0)
				return;
		}
		size_t hlen = (size_t)(end - buf) + 4;
		size_t clen = 0;
		char *cl = find(buf, hlen, "Content-Length:");
		if (cl)
			clen = strtoul(cl + 15, NULL, 10);
		if (hlen + clen > sizeof(buf))
			return;
		while (have < hlen + clen)
			if (read_some(s, fd, buf, sizeof(buf), &have) != 0)
				return;
		pthread_mutex_lock(&s->mu);
		if (s->nkeys < SINK_MAX_BODIES) {
			char *k = find(buf, hlen, "\r\nIdempotency-Key: ");
			size_t kl = k ? strcspn(k + 19, "\r\n") : 0;
			snprintf(s->keys[s->nkeys++], sizeof(s->keys[0]), "%.*s", (int)kl, k ? k + 19 : "");
		}
		int idx = s->requests++;
		int status = idx < s->nstatus && s->statuses[idx] ? s->statuses[idx] : 204;
		int hang = s->hang;
		if (s->nbodies < SINK_MAX_BODIES && (status / 100) == 2) {
			char *b = malloc(clen + 1);
			memcpy(b, buf + hlen, clen);
			b[clen] = 0;
			s->bodies[s->nbodies++] = b;
		}
		pthread_mutex_unlock(&s->mu);
		if (hang) {
			while (!s->stop)
				sleep_ms(20);
			return;
		}
		char resp[128];
		int n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", status);
		if (write(fd, resp, (size_t)n) != n)
			return;
		memmove(buf, buf + hlen + clen, have - hlen - clen);
		have -= hlen + clen;
	}
}

static void *sink_main(void *arg)
{
	sink *s = arg;
	while (!s->stop) {
		struct pollfd p = { s->lfd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_conn(s, fd);
		close(fd);
	}
	return NULL;
}

static sink *sink_start(void)
{
	sink *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1;

	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s->lfd, 16) != 0) {
		perror("sink");
		exit(2);
	}
	getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->th, NULL, sink_main, s);
	return s;
}

static void sink_stop(sink *s)
{
	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (int i = 0; i < s->nbodies; i++)
		free(s->bodies[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static int sink_bodies(sink *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nbodies;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* A reporter's Idempotency-Key: "<12 hex: ms now>-<32 hex>-<16 hex>" (quoted, as sent), made in the last minute. */
static int idem_well_formed(const char *k)
{
	if (strlen(k) != 64 || k[0] != '"' || k[13] != '-' || k[46] != '-' || k[63] != '"')
		return 0;
	for (int i = 1; i < 63; i++)
		if (i != 13 && i != 46 && !strchr("0123456789abcdef", k[i]))
			return 0;
	long long ms = strtoll(k + 1, NULL, 16), now = (long long)time(NULL) * 1000;
	return ms <= now + 1000 && ms > now - 60000;
}

static void sink_uri(char *out, size_t n, const sink *s)
{
	snprintf(out, n, "http://127.0.0.1:%d/report", s->port);
}

/* A port with nothing listening (bound, then closed). */
static int dead_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- fixtures -------------------------------------------------------------- */

static certpin_policy *policy;
static certpin_chain_elem chain[2];
static unsigned char *leaf_der;
static size_t leaf_der_len;
static certpin_result mismatch;

static void setup(void)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin;
	FILE *f;
	X509 *x;

	memset(&pin, 0x42, sizeof(pin));
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK_INT(certpin_policy_new(&policy), CERTPIN_OK);
	ho.pattern = "api.certpin.test";
	CHECK_INT(certpin_policy_add_host(policy, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(policy, "api.certpin.test", &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	f = fopen(test_pki("chain.pem"), "r");
	if (!f)
		exit(2);
	for (int i = 0; i < 2 && (x = PEM_read_X509(f, NULL, NULL, NULL)); i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		CHECK_INT(certpin_chain_elem_from_der(&chain[i], der, (size_t)len), CERTPIN_OK);
		if (i == 0) {
			leaf_der = der;
			leaf_der_len = (size_t)len;
		} else {
			OPENSSL_free(der);
		}
		X509_free(x);
	}
	fclose(f);
	CHECK_INT(certpin_verify(&mismatch, policy, "api.certpin.test", chain, 2, (int64_t)time(NULL)),
		CERTPIN_E_PIN_MISMATCH);
}

static int submit(certpin_reporter *r, unsigned int port)
{
	certpin_report_cert certs[2];
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	memset(certs, 0, sizeof(certs));
	certs[0].digests = chain[0];
	certs[1].digests = chain[1];
	in.policy = policy;
	in.result = &mismatch;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.port = port;
	in.validated = certs;
	in.nvalidated = 2;
	return certpin_reporter_submit(r, &in);
}

static certpin_reporter_options base_opts(const char *const *uris, size_t n)
{
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	o.report_uris = uris;
	o.nreport_uris = n;
	o.backoff_ms = 20;
	o.backoff_max_ms = 100;
	o.timeout_ms = 3000;
	return o;
}

static certpin_reporter_stats stats(const certpin_reporter *r)
{
	certpin_reporter_stats st;
	certpin_reporter_get_stats(r, &st);
	return st;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_options(void)
{
	certpin_reporter *r = (certpin_reporter *)1;
	const char *http[] = { "http://127.0.0.1:9/r" };
	const char *https[] = { "https://collector.example/r" };
	const char *bad[] = { "ftp://x/r" };
	const char *space[] = { "https://a b/" };
	const char *empty[] = { "https://" };
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;

	CHECK_INT(certpin_reporter_new(&r, policy, NULL), CERTPIN_E_INVALID_ARG);
	CHECK(r == NULL);
	CHECK_INT(certpin_reporter_new(&r, NULL, &o), CERTPIN_E_INVALID_ARG);
	o.version = 2;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o = (certpin_reporter_options)CERTPIN_REPORTER_OPTIONS_INIT;
	/* defaults: 24 h dedup, no destination */
	CHECK_INT(o.dedup_window, 86400);
	CHECK_INT(o.nreport_uris, 0);
	o.report_uris = http;
	o.nreport_uris = 1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG); /* http needs the insecure flag */
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	certpin_reporter_free(r);
	o.flags = 0;
	o.report_uris = https;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	certpin_reporter_free(r);
	o.report_uris = bad;
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.report_uris = space;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.report_uris = empty;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.report_uris = https;
	o.nreport_uris = CERTPIN_REPORTER_URIS_MAX + 1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.nreport_uris = 1;
	o.queue_max = 0;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.queue_max = 4;
	o.max_attempts = 0;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.max_attempts = 1;
	o.flags = 0x100;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	o.flags = 0;
	o.spool_dir = "/nonexistent/certpin-spool";
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_IO);
	o.spool_dir = NULL;
	o.dedup_window = -1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_E_INVALID_ARG);
	certpin_reporter_free(NULL);
	CHECK_INT(certpin_reporter_submit(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_reporter_flush(NULL, 10), CERTPIN_E_INVALID_ARG);
}

static void test_deliver_and_dedup(void)
{
	sink *s = sink_start();
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *r = NULL;
	certpin_reporter_options o;

	sink_uri(uri, sizeof(uri), s);
	o = base_opts(uris, 1);
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	for (int i = 0; i < 4; i++)
		CHECK_INT(submit(r, 443), CERTPIN_REPORT_DUPLICATE);
	CHECK_INT(submit(r, 8443), CERTPIN_REPORT_QUEUED); /* another port: another failure */
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	certpin_reporter_stats st = stats(r);
	CHECK_INT(st.submitted, 6);
	CHECK_INT(st.duplicates, 4);
	CHECK_INT(st.delivered, 2);
	CHECK_INT(st.queued, 0);
	CHECK_INT(st.dropped, 0);
	CHECK_INT(sink_bodies(s), 2);
	if (sink_bodies(s) >= 1) {
		certpin_report_info info;
		CHECK_INT(certpin_report_parse(&info, s->bodies[0], strlen(s->bodies[0]), NULL), CERTPIN_OK);
		CHECK_STR(info.hostname, "api.certpin.test");
		CHECK_INT(info.nvalidated, 2);
		CHECK_INT(info.enforce, 1);
	}
	certpin_reporter_free(r);

	/* dedup disabled: every failure is sent */
	o.dedup_window = 0;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	for (int i = 0; i < 3; i++)
		CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).delivered, 3);
	CHECK_INT(sink_bodies(s), 5);
	certpin_reporter_free(r);

	/* a 1 s window: the same failure is reported again once it has passed */
	o.dedup_window = 1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_DUPLICATE);
	sleep_ms(2100);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).delivered, 2);
	certpin_reporter_free(r);

	/* dedup table of one key: the oldest key is forgotten first */
	o.dedup_window = 3600;
	o.dedup_max = 1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 1), CERTPIN_REPORT_QUEUED);
	CHECK_INT(submit(r, 2), CERTPIN_REPORT_QUEUED);
	CHECK_INT(submit(r, 1), CERTPIN_REPORT_QUEUED);
	CHECK_INT(submit(r, 1), CERTPIN_REPORT_DUPLICATE);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	certpin_reporter_free(r);
	sink_stop(s);
}

static void test_retry_and_reject(void)
{
	sink *s = sink_start();
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *r = NULL;
	certpin_reporter_options o;

	sink_uri(uri, sizeof(uri), s);
	s->statuses[0] = 503;
	s->statuses[1] = 429;
	s->nstatus = 2;
	o = base_opts(uris, 1);
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	uint64_t t0 = now_ms();
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	uint64_t dt = now_ms() - t0;
	certpin_reporter_stats st = stats(r);
	CHECK_INT(st.delivered, 1);
	CHECK_INT(st.attempts, 3);
	CHECK_INT(st.retries, 2);
	CHECK_INT(sink_bodies(s), 1);
	/* backoff 20 ms then 40 ms, each with at most 25% jitter off: at least 45 ms in total */
	CHECK(dt >= 45);
	/* every attempt carries the same idempotency key, so a collector stores the report once */
	CHECK_INT(s->nkeys, 3);
	CHECK(idem_well_formed(s->keys[0]));
	CHECK_STR(s->keys[1], s->keys[0]);
	CHECK_STR(s->keys[2], s->keys[0]);
	certpin_reporter_free(r);
	sink_stop(s);

	/* a 400 is a permanent rejection: no retry */
	s = sink_start();
	sink_uri(uri, sizeof(uri), s);
	s->statuses[0] = 400;
	s->nstatus = 1;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	st = stats(r);
	CHECK_INT(st.rejected, 1);
	CHECK_INT(st.attempts, 1);
	CHECK_INT(st.delivered, 0);
	certpin_reporter_free(r);
	sink_stop(s);

	/* two URIs: one refuses for good (400), the other fails once (503): that one is still retried */
	sink *refuse = sink_start(), *flaky = sink_start();
	char uri2[128];
	const char *two[2] = { uri, uri2 };
	sink_uri(uri, sizeof(uri), refuse);
	sink_uri(uri2, sizeof(uri2), flaky);
	refuse->statuses[0] = 400;
	refuse->nstatus = 1;
	flaky->statuses[0] = 503;
	flaky->nstatus = 1;
	o = base_opts(two, 2);
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	st = stats(r);
	CHECK_INT(sink_bodies(flaky), 1);
	CHECK_INT(refuse->requests, 1); /* a refusal is not asked again */
	CHECK_INT(flaky->requests, 2);
	CHECK_INT(st.attempts, 3);
	CHECK_INT(st.rejected, 1);
	certpin_reporter_free(r);
	sink_stop(refuse);
	sink_stop(flaky);

	/* given up with no spool: lost, so not remembered; the same failure is reported again */
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", dead_port());
	o = base_opts(uris, 1);
	o.max_attempts = 2;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).dropped, 1);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	st = stats(r);
	CHECK_INT(st.duplicates, 0);
	CHECK_INT(st.dropped, 2);
	certpin_reporter_free(r);
}

static int cb_count;
static char cb_last[8192];
static void on_report(const char *json, size_t len, void *payload)
{
	(void)payload;
	cb_count++;
	snprintf(cb_last, sizeof(cb_last), "%.*s", (int)len, json);
}

static void test_callback_and_privacy(void)
{
	certpin_reporter *r = NULL;
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;
	certpin_report_cert cert;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;

	/* callback only: no URI, no network */
	o.callback = on_report;
	o.flags = CERTPIN_REPORTER_HASHES_ONLY;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	memset(&cert, 0, sizeof(cert));
	cert.der = leaf_der;
	cert.der_len = leaf_der_len;
	in.policy = policy;
	in.result = &mismatch;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.served = &cert;
	in.nserved = 1;
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(cb_count, 1);
	CHECK_CONTAINS(cb_last, "\"served-chain-sha256\"");
	CHECK(strstr(cb_last, "BEGIN CERTIFICATE") == NULL); /* the flag overrides the input */
	CHECK_INT(stats(r).delivered, 1);
	/* nothing to report */
	certpin_result ok = mismatch;
	ok.verdict = CERTPIN_VERDICT_MATCH;
	in.result = &ok;
	in.rc = CERTPIN_OK;
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_NONE);
	CHECK_INT(certpin_reporter_submit_ssl(r, NULL), CERTPIN_E_INVALID_ARG);
	certpin_reporter_free(r);

	/* without HASHES_ONLY the certificate goes as PEM */
	o.flags = 0;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	in.result = &mismatch;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(cb_count, 2);
	CHECK_CONTAINS(cb_last, "BEGIN CERTIFICATE");
	/* a build error is counted as dropped */
	in.port = 0;
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_E_INVALID_ARG);
	CHECK_INT(stats(r).dropped, 1);
	certpin_reporter_free(r);

	/* no destination at all: counted only */
	o.callback = NULL;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	in.port = 443;
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 100), CERTPIN_OK);
	CHECK_INT(stats(r).submitted, 1);
	certpin_reporter_free(r);
}

static int count_spool(const char *dir, char *first, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int c = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "r-", 2) == 0) {
			if (c == 0 && first)
				snprintf(first, n, "%s/%s", dir, de->d_name);
			c++;
		} else if (strncmp(de->d_name, ".tmp", 4) == 0) {
			c += 1000; /* a temporary file left behind is a failure */
		}
	closedir(d);
	return c;
}

/* The idempotency keys in the names of up to two spool files, quoted as they are sent; how many. */
static int spool_keys(const char *dir, char keys[2][80])
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int c = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) && c < 2) {
		const char *k = strstr(de->d_name, "-k");
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, "r-", 2) == 0 && k && n > 5 && (size_t)(de->d_name + n - 5 - k) == 64)
			snprintf(keys[c++], 80, "\"%.62s\"", k + 2);
	}
	closedir(d);
	return c;
}

static void test_spool_leftovers(const char *dir, certpin_reporter_options *base);

static void test_spool(void)
{
	char dir[] = "/tmp/certpin-spool-XXXXXX";
	char uri[128], path[512];
	const char *uris[1] = { uri };
	certpin_reporter *r = NULL;
	certpin_reporter_options o;

	CHECK(mkdtemp(dir) != NULL);
	/* offline: retries exhausted, the report goes to the spool */
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", dead_port());
	o = base_opts(uris, 1);
	o.max_attempts = 2;
	o.spool_dir = dir;
	o.spool_retry_s = 3600;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	CHECK_INT(submit(r, 444), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	certpin_reporter_stats st = stats(r);
	CHECK_INT(st.spooled, 2);
	CHECK_INT(st.delivered, 0);
	CHECK_INT(st.attempts, 4);
	CHECK_INT(count_spool(dir, path, sizeof(path)), 2);
	{
		size_t len;
		char *body = test_read_file(path, &len);
		certpin_report_info info;
		CHECK_INT(certpin_report_parse(&info, body, len, NULL), CERTPIN_OK);
		free(body);
	}
	certpin_reporter_free(r);
	CHECK_INT(count_spool(dir, NULL, 0), 2);
	char spooled_keys[2][80];
	CHECK_INT(spool_keys(dir, spooled_keys), 2);
	CHECK(strcmp(spooled_keys[0], spooled_keys[1]) != 0);

	/* a full spool drops */
	o.spool_max = 2;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 445), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).dropped, 1);
	CHECK_INT(count_spool(dir, NULL, 0), 2);
	certpin_reporter_free(r);

	/* back online: the spool is sent at start and emptied */
	sink *s = sink_start();
	sink_uri(uri, sizeof(uri), s);
	o.spool_max = 256;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	for (int i = 0; i < 100 && stats(r).delivered < 2; i++)
		sleep_ms(50);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	st = stats(r);
	CHECK_INT(st.unspooled, 2);
	CHECK_INT(st.delivered, 2);
	CHECK_INT(sink_bodies(s), 2);
	CHECK_INT(count_spool(dir, NULL, 0), 0);
	/* sent from the spool with the keys they had before: the collector knows them as the same reports */
	CHECK_INT(s->nkeys, 2);
	CHECK(idem_well_formed(s->keys[0]) && idem_well_formed(s->keys[1]));
	CHECK((strcmp(s->keys[0], spooled_keys[0]) == 0 && strcmp(s->keys[1], spooled_keys[1]) == 0) ||
		(strcmp(s->keys[0], spooled_keys[1]) == 0 && strcmp(s->keys[1], spooled_keys[0]) == 0));
	certpin_reporter_free(r);
	sink_stop(s);
	test_spool_leftovers(dir, &o);
	rmdir(dir);
}

/* The spool at shutdown and at start: reports waiting for a retry are spooled, garbage is removed. */
static void test_spool_leftovers(const char *dir, certpin_reporter_options *base)
{
	char uri[128], path[512];
	const char *uris[1] = { uri };
	certpin_reporter_options o = *base;
	certpin_reporter *r = NULL;
	sink *s;

	/* free() with reports still waiting for a retry: spooled, not lost */
	o.report_uris = uris;
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", dead_port());
	o.max_attempts = 50;
	o.backoff_ms = o.backoff_max_ms = 60000;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	CHECK_INT(submit(r, 443), CERTPIN_REPORT_QUEUED);
	for (int i = 0; i < 100 && stats(r).attempts < 1; i++)
		sleep_ms(20);
	CHECK_INT(certpin_reporter_flush(r, 50), CERTPIN_E_BUSY); /* waiting for its retry */
	certpin_reporter_free(r);
	CHECK_INT(count_spool(dir, path, sizeof(path)), 1);
	unlink(path);

	/* garbage in the spool is deleted, not sent forever */
	snprintf(path, sizeof(path), "%s/r-garbage.json", dir);
	FILE *f = fopen(path, "w");
	fclose(f); /* empty */
	s = sink_start();
	sink_uri(uri, sizeof(uri), s);
	o = base_opts(uris, 1);
	o.spool_dir = dir;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	for (int i = 0; i < 50 && count_spool(dir, NULL, 0) != 0; i++)
		sleep_ms(20);
	CHECK_INT(count_spool(dir, NULL, 0), 0);
	certpin_reporter_free(r);
	sink_stop(s);
}

static void test_bounded_queue_and_shutdown(void)
{
	sink *s = sink_start();
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *r = NULL;
	certpin_reporter_options o;
	int busy = 0, queued = 0;
	unsigned dropped_port = 0;

	s->hang = 1; /* accepts, reads, never answers */
	sink_uri(uri, sizeof(uri), s);
	o = base_opts(uris, 1);
	o.queue_max = 2;
	o.timeout_ms = 30000;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	for (unsigned p = 1; p <= 6; p++) {
		int rc = submit(r, p);
		busy += rc == CERTPIN_E_BUSY;
		queued += rc == CERTPIN_REPORT_QUEUED;
		if (rc == CERTPIN_E_BUSY)
			dropped_port = p;
	}
	CHECK(busy >= 3);
	CHECK_INT(busy + queued, 6);
	CHECK_INT(stats(r).dropped, (uint64_t)busy);
	/*
	 * A report dropped for a full queue is not remembered: submitted again,
	 * it is queued or meets the full queue (the sender may have taken one
	 * meanwhile), never suppressed as a duplicate. Resubmit one that was
	 * dropped: which ones were depends on how fast the sender dequeued.
	 */
	CHECK(dropped_port != 0);
	int again = submit(r, dropped_port);
	CHECK(again == CERTPIN_E_BUSY || again == CERTPIN_REPORT_QUEUED);
	CHECK_INT(stats(r).duplicates, 0);
	uint64_t t0 = now_ms();
	certpin_reporter_free(r); /* aborts the hanging POST */
	CHECK(now_ms() - t0 < 5000);
	sink_stop(s);
}

static void test_ssl_failure_callback(void)
{
	sink *s = sink_start();
	tlsserver *srv = NULL;
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *r = NULL;
	certpin_reporter_options o;
	certpin_ssl_options so = CERTPIN_SSL_OPTIONS_INIT;
	test_client_info info;

	sink_uri(uri, sizeof(uri), s);
	o = base_opts(uris, 1);
	o.default_port = 8443;
	CHECK_INT(certpin_reporter_new(&r, policy, &o), CERTPIN_OK);
	so.on_failure = certpin_reporter_on_failure;
	so.payload = r;
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 3), 0);
	for (int i = 0; srv && i < 3; i++) {
		int rc = test_client_connect(NULL, &info, tlsserver_port(srv), "api.certpin.test", 0,
			test_pki("trust.pem"), policy, &so);
		CHECK_INT(rc, CERTPIN_E_PIN_MISMATCH);
		CHECK_INT(info.connected, 0);
	}
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	certpin_reporter_stats st = stats(r);
	CHECK_INT(st.submitted, 3);
	CHECK_INT(st.duplicates, 2);
	CHECK_INT(st.delivered, 1);
	CHECK_INT(sink_bodies(s), 1);
	if (sink_bodies(s) == 1) {
		certpin_report_info ri;
		CHECK_INT(certpin_report_parse(&ri, s->bodies[0], strlen(s->bodies[0]), NULL), CERTPIN_OK);
		CHECK_INT(ri.port, 8443);
		CHECK_INT(ri.nvalidated, 3);
		CHECK_INT(ri.nserved, 0);
		CHECK_INT(ri.allowed, 0);
		CHECK(memcmp(ri.validated[0].spki_sha256, chain[0].spki_sha256, 32) == 0);
	}
	tlsserver_stop(srv);
	certpin_reporter_free(r);
	sink_stop(s);
}


/*
 * certpin_reporter_submit_ssl() after a handshake that failed PKIX validation
 * for a pinned host: reported only with CERTPIN_REPORTER_PKIX, and then as a
 * pkix-failure with the served chain.
 */
static void test_submit_ssl_pkix(void)
{
	sink *s = sink_start();
	tlsserver *srv = NULL;
	char uri[128];
	const char *uris[1] = { uri };
	certpin_reporter *plain = NULL, *pkix = NULL;
	certpin_reporter_options o;

	sink_uri(uri, sizeof(uri), s);
	o = base_opts(uris, 1);
	CHECK_INT(certpin_reporter_new(&plain, policy, &o), CERTPIN_OK);
	o.flags |= CERTPIN_REPORTER_PKIX;
	CHECK_INT(certpin_reporter_new(&pkix, policy, &o), CERTPIN_OK);
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 1), 0);

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method()); /* no trust anchors: PKIX fails */
	SSL *ssl = NULL;
	int fd = test_tcp_connect(srv ? tlsserver_port(srv) : 1);
	CHECK(ctx != NULL && fd >= 0);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "api.certpin.test");
	SSL_set1_host(ssl, "api.certpin.test");
	CHECK(SSL_connect(ssl) != 1);
	CHECK_INT(certpin_ssl_result(NULL, ssl), CERTPIN_E_PKIX);
	CHECK_INT(certpin_reporter_submit_ssl(plain, ssl), CERTPIN_REPORT_NONE);
	CHECK_INT(certpin_reporter_submit_ssl(pkix, ssl), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_submit_ssl(pkix, ssl), CERTPIN_REPORT_DUPLICATE);
	CHECK_INT(certpin_reporter_flush(pkix, 10000), CERTPIN_OK);
	CHECK_INT(stats(pkix).delivered, 1);
	CHECK_INT(stats(plain).submitted, 0);
	CHECK_INT(sink_bodies(s), 1);
	if (sink_bodies(s) == 1) {
		certpin_report_info ri;
		CHECK_INT(certpin_report_parse(&ri, s->bodies[0], strlen(s->bodies[0]), NULL), CERTPIN_OK);
		CHECK_INT(ri.kind, CERTPIN_REPORT_PKIX);
		CHECK_INT(ri.nserved, 2); /* what the server sent: leaf and intermediate */
	}
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	tlsserver_stop(srv);
	certpin_reporter_free(plain);
	certpin_reporter_free(pkix);
	sink_stop(s);
}

/*
 * No URIs in the options: each report goes where the policy says for its
 * host (the host's own list, else the policy-wide one); a host with neither
 * is counted only; spooled reports are routed again by their hostname.
 */
/* The three hosts of test_policy_uris(), pinned to nothing they serve, with report URIs for the first and for all. */
static certpin_policy *uri_policy(const char *const *hosts, const char *api_uri, const char *wide_uri)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_pin pin;

	memset(&pin, 0x42, sizeof(pin));
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	for (int i = 0; i < 3; i++) {
		ho.pattern = hosts[i];
		CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
		CHECK_INT(certpin_policy_add_pin(p, hosts[i], &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	}
	if (api_uri)
		CHECK_INT(certpin_policy_set_report_uris(p, hosts[0], &api_uri, 1, NULL), CERTPIN_OK);
	if (wide_uri)
		CHECK_INT(certpin_policy_set_report_uris(p, NULL, &wide_uri, 1, NULL), CERTPIN_OK);
	return p;
}

static void test_policy_uris(void)
{
	sink *host_sink = sink_start(), *wide_sink = sink_start();
	char host_uri[128], wide_uri[128];
	const char *one[1];
	certpin_policy *p;
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin;
	certpin_reporter *r = NULL;
	certpin_reporter_options o = base_opts(NULL, 0);
	certpin_result res;
	certpin_report_cert certs[2];
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	size_t n;

	sink_uri(host_uri, sizeof(host_uri), host_sink);
	sink_uri(wide_uri, sizeof(wide_uri), wide_sink);
	memset(&pin, 0x42, sizeof(pin));
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	const char *hosts[] = { "api.certpin.test", "other.certpin.test", "quiet.certpin.test" };
	for (int i = 0; i < 3; i++) {
		ho.pattern = hosts[i];
		CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
		CHECK_INT(certpin_policy_add_pin(p, hosts[i], &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	}
	one[0] = host_uri;
	CHECK_INT(certpin_policy_set_report_uris(p, "API.certpin.test.", one, 1, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_report_uris(p, 0, &n) != NULL, 1);
	CHECK_INT(n, 1);
	CHECK(certpin_policy_report_uris(p, 1, &n) == NULL && n == 0);
	/* bad lists are refused and leave the policy as it was */
	one[0] = "ftp://collector.example/";
	CHECK_INT(certpin_policy_set_report_uris(p, NULL, one, 1, NULL), CERTPIN_E_INVALID_ARG);
	one[0] = "https://collector.example/a b";
	CHECK_INT(certpin_policy_set_report_uris(p, NULL, one, 1, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_set_report_uris(p, "nowhere.test", one, 0, NULL), CERTPIN_E_NOT_FOUND);
	CHECK(certpin_policy_report_uris(p, -1, &n) == NULL && n == 0);

	/* a policy-wide http:// URI needs the reporter's insecure flag */
	one[0] = wide_uri;
	CHECK_INT(certpin_policy_set_report_uris(p, NULL, one, 1, NULL), CERTPIN_OK);
	o.flags = 0;
	CHECK_INT(certpin_reporter_new(&r, p, &o), CERTPIN_E_INVALID_ARG);
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	CHECK_INT(certpin_reporter_new(&r, p, &o), CERTPIN_OK);

	memset(certs, 0, sizeof(certs));
	certs[0].digests = chain[0];
	certs[1].digests = chain[1];
	in.policy = p;
	in.result = &res;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.validated = certs;
	in.nvalidated = 2;
	for (int i = 0; i < 2; i++) {
		CHECK_INT(certpin_verify(&res, p, hosts[i], chain, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
		CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	}
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(sink_bodies(host_sink), 1);
	CHECK_INT(sink_bodies(wide_sink), 1);
	if (sink_bodies(host_sink) == 1)
		CHECK_CONTAINS(host_sink->bodies[0], "\"api.certpin.test\"");
	if (sink_bodies(wide_sink) == 1)
		CHECK_CONTAINS(wide_sink->bodies[0], "\"other.certpin.test\"");
	certpin_reporter_free(r);

	/* without a policy-wide list, a host with no URIs has no destination (a frozen policy does not
	 * change: a new one each time) */
	certpin_policy_free(p);
	p = uri_policy(hosts, host_uri, NULL);
	in.policy = p;
	CHECK_INT(certpin_reporter_new(&r, p, &o), CERTPIN_OK);
	CHECK_INT(certpin_verify(&res, p, hosts[2], chain, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).attempts, 0);
	CHECK_INT(sink_bodies(host_sink) + sink_bodies(wide_sink), 2);
	certpin_reporter_free(r);

	/* a spooled report is routed again by its hostname: to the host's list as it is when loaded */
	char dir[] = "/tmp/certpin-spool-XXXXXX", dead[128];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/report", dead_port());
	certpin_policy_free(p);
	p = uri_policy(hosts, dead, NULL);
	in.policy = p;
	o.spool_dir = dir;
	o.max_attempts = 1;
	o.spool_retry_s = 3600;
	CHECK_INT(certpin_reporter_new(&r, p, &o), CERTPIN_OK);
	CHECK_INT(certpin_verify(&res, p, hosts[0], chain, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_reporter_submit(r, &in), CERTPIN_REPORT_QUEUED);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).spooled, 1);
	certpin_reporter_free(r);
	CHECK_INT(count_spool(dir, NULL, 0), 1);
	certpin_policy_free(p);
	p = uri_policy(hosts, host_uri, NULL);
	in.policy = p;
	CHECK_INT(certpin_reporter_new(&r, p, &o), CERTPIN_OK);
	for (int i = 0; i < 100 && stats(r).delivered < 1; i++)
		sleep_ms(50);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(stats(r).unspooled, 1);
	CHECK_INT(stats(r).delivered, 1);
	certpin_reporter_free(r);
	CHECK_INT(sink_bodies(host_sink), 2);
	CHECK_INT(sink_bodies(wide_sink), 1);
	if (sink_bodies(host_sink) == 2)
		CHECK_CONTAINS(host_sink->bodies[1], "\"api.certpin.test\"");
	CHECK_INT(count_spool(dir, NULL, 0), 0);
	rmdir(dir);
	o.spool_dir = NULL;

	/* the JSON form carries both lists through a save and a reload */
	certpin_policy_free(p);
	p = uri_policy(hosts, host_uri, "https://reports.example/wide");
	char *json = NULL, *json2 = NULL;
	certpin_policy *q;
	CHECK_INT(certpin_policy_to_json(&json, p), CERTPIN_OK);
	CHECK_CONTAINS(json, "https://reports.example/wide");
	CHECK_CONTAINS(json, host_uri);
	CHECK_INT(certpin_policy_load_data(&q, json, strlen(json), "saved", NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_to_json(&json2, q), CERTPIN_OK);
	CHECK_STR(json2, json);
	free(json);
	free(json2);
	certpin_policy_free(q);

	certpin_policy_free(p);
	sink_stop(host_sink);
	sink_stop(wide_sink);
}

/* A policy of `n` hosts, host i pinned to 32 bytes of pins[i]. */
static certpin_policy *policy_of(const char *const *hosts, const unsigned char *fill, int n)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_pin pin;

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	for (int i = 0; i < n; i++) {
		memset(&pin, fill[i], sizeof(pin));
		pin.kind = CERTPIN_PIN_SPKI_SHA256;
		ho.pattern = hosts[i];
		CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
		CHECK_INT(certpin_policy_add_pin(p, hosts[i], &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	}
	return p;
}

/*
 * The reporter keeps its policy alive, and a report is about the reporter's
 * own rule for the host, whatever rule index the checking policy gave.
 */
static void test_policy_held_and_routed_by_name(void)
{
	static const char *const a_hosts[] = { "x.certpin.test", "api.certpin.test" };
	static const unsigned char a_fill[] = { 0x24, 0x42 }, b_fill[] = { 0x11 };
	certpin_policy *a = policy_of(a_hosts, a_fill, 2), *b = policy_of(a_hosts + 1, b_fill, 1);
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;
	certpin_reporter *r = NULL;
	certpin_result res;
	certpin_pin pin;
	char want[CERTPIN_PIN_STRLEN], other[CERTPIN_PIN_STRLEN];

	o.callback = on_report;
	CHECK_INT(certpin_reporter_new(&r, a, &o), CERTPIN_OK);
	certpin_policy_free(a);         /* the reporter holds its own reference */
	/* b decided: its rule 0 is api.certpin.test, which is a's rule 1 */
	CHECK_INT(certpin_verify(&res, b, "api.certpin.test", chain, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(res.rule, 0);
	int before = cb_count;
	certpin_reporter_on_failure(&res, chain, 2, r);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(cb_count, before + 1);
	memset(&pin, 0x42, sizeof(pin));
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK_INT(certpin_pin_format(want, sizeof(want), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	memset(&pin, 0x24, sizeof(pin));
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK_INT(certpin_pin_format(other, sizeof(other), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	CHECK_CONTAINS(cb_last, "\"api.certpin.test\"");
	CHECK_CONTAINS(cb_last, want + strlen("sha256/"));      /* a's pins for api.certpin.test */
	CHECK(strstr(cb_last, other + strlen("sha256/")) == NULL); /* not those of a's rule 0 */
	/* a host a does not pin: nothing to report for this reporter */
	static const char *const c_host[] = { "elsewhere.certpin.test" };
	certpin_policy *c = policy_of(c_host, b_fill, 1);
	CHECK_INT(certpin_verify(&res, c, "elsewhere.certpin.test", chain, 2, (int64_t)time(NULL)),
		CERTPIN_E_PIN_MISMATCH);
	certpin_reporter_on_failure(&res, chain, 2, r);
	CHECK_INT(certpin_reporter_flush(r, 10000), CERTPIN_OK);
	CHECK_INT(cb_count, before + 1);
	certpin_reporter_free(r);
	certpin_policy_free(b);
	certpin_policy_free(c);
}

int main(void)
{
	setup();
	test_options();
	test_deliver_and_dedup();
	test_retry_and_reject();
	test_callback_and_privacy();
	test_spool();
	test_bounded_queue_and_shutdown();
	test_ssl_failure_callback();
	test_submit_ssl_pkix();
	test_policy_uris();
	test_policy_held_and_routed_by_name();
	OPENSSL_free(leaf_der);
	certpin_policy_free(policy);
	return test_finish("reporter_test");
}
