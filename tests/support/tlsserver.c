/*
 * tlsserver.c - see tlsserver.h.
 *
 * One thread accepts and serves connections sequentially.  Sockets are
 * non-blocking; every wait is a poll() on the socket plus a wake-up pipe that
 * tlsserver_stop() writes to, so stopping never waits for a stuck peer.
 */
#include "tlsserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct tlsserver {
	SSL_CTX *ctx;
	int listen_fd;
	int wake[2];                    /* wake[1] written by stop */
	int port;
	int max_conns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int conns;                      /* guarded by lock */
	int finished;                   /* guarded by lock */
	int stopping;                   /* guarded by lock */
};

static int is_stopping(tlsserver *srv)
{
	int s;
	pthread_mutex_lock(&srv->lock);
	s = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return s;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until `fd` is ready for `events`, the deadline passes or stop is
 * requested.  Returns 0 when ready, -1 otherwise.
 */
static int wait_fd(tlsserver *srv, int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p[2];
		long long left = deadline - now_ms();
		int slice, r;

		if (left <= 0 || is_stopping(srv))
			return -1;
		slice = left > 100 ? 100 : (int)left;
		p[0].fd = fd;
		p[0].events = events;
		p[0].revents = 0;
		p[1].fd = srv->wake[0];
		p[1].events = POLLIN;
		p[1].revents = 0;
		r = poll(p, 2, slice);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0 && p[1].revents)
			return -1;
		if (r > 0 && p[0].revents)
			return 0;
	}
}

/*
 * Classify the result `r` of an SSL I/O call: 1 done, 2 retry (the socket is
 * ready again), 0 clean EOF, -1 failure, timeout or stop.
 */
static int ssl_io(tlsserver *srv, SSL *ssl, int fd, int r, long long deadline)
{
	int e = SSL_get_error(ssl, r);

	if (r > 0)
		return 1;
	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(srv, fd, POLLIN, deadline) == 0 ? 2 : -1;
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(srv, fd, POLLOUT, deadline) == 0 ? 2 : -1;
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	return -1;
}

/* The reply mode (tlsserver_set_http()), read as each connection begins. */
static atomic_int http_mode;

void tlsserver_set_http(int mode)
{
	atomic_store(&http_mode, mode);
}

/* Write all of `msg`; 1 on success. */
static int write_all(tlsserver *srv, SSL *ssl, int fd, const char *msg, size_t len, long long deadline)
{
	int r;

	while ((r = ssl_io(srv, ssl, fd, SSL_write(ssl, msg, (int)len), deadline)) == 2)
		;
	return r == 1;
}

/* The end of the first request header in buf[0..n) (just past its blank line), or 0. */
static size_t header_end(const char *buf, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

/* HTTP mode: answer each request with 200 and "ok\n"; with `keep`, until the client closes. */
static void serve_http(tlsserver *srv, SSL *ssl, int fd, int keep)
{
	static const char close_reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 3\r\nConnection: close\r\n\r\nok\n";
	static const char keep_reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n";
	char buf[8192];
	size_t got = 0, end;

	for (int n = 0; n < TLSSERVER_HTTP_MAX_REQUESTS; n++) {
		long long deadline = now_ms() + TLSSERVER_IO_TIMEOUT_MS;
		while ((end = header_end(buf, got)) == 0) {
			int r = got < sizeof(buf) ? SSL_read(ssl, buf + got, (int)(sizeof(buf) - got)) : -1;
			if (r > 0)
				got += (size_t)r;
			else if (got == sizeof(buf) || ssl_io(srv, ssl, fd, r, deadline) != 2)
				return; /* the client closed (or the header is too long, or time ran out) */
		}
		memmove(buf, buf + end, got - end);
		got -= end;
		if (!keep) {
			if (write_all(srv, ssl, fd, close_reply, sizeof(close_reply) - 1, deadline))
				SSL_shutdown(ssl); /* best effort close_notify */
			return;
		}
		if (!write_all(srv, ssl, fd, keep_reply, sizeof(keep_reply) - 1, deadline))
			return;
	}
}

static void serve_one(tlsserver *srv, int fd)
{
	long long deadline = now_ms() + TLSSERVER_IO_TIMEOUT_MS;
	SSL *ssl = SSL_new(srv->ctx);
	char line[1024];
	size_t got = 0;
	int r;

	if (!ssl || !SSL_set_fd(ssl, fd))
		goto done;

	/* Handshake; a client that rejects our certificate aborts here. */
	while ((r = ssl_io(srv, ssl, fd, SSL_accept(ssl), deadline)) == 2)
		;
	if (r != 1)
		goto done;
	int mode = atomic_load(&http_mode);
	if (mode == TLSSERVER_HTTP || mode == TLSSERVER_HTTP_KEEPALIVE) {
		serve_http(srv, ssl, fd, mode == TLSSERVER_HTTP_KEEPALIVE);
		goto done;
	}

	/* Read one line (or whatever arrives before EOF). */
	while (got < sizeof(line) - 1) {
		r = SSL_read(ssl, line + got, (int)(sizeof(line) - 1 - got));
		if (r > 0) {
			got += (size_t)r;
			if (memchr(line, '\n', got))
				break;
			continue;
		}
		r = ssl_io(srv, ssl, fd, r, deadline);
		if (r != 2)
			break;
	}
	if (got == 0)
		goto done;

	while ((r = ssl_io(srv, ssl, fd, SSL_write(ssl, "ok\n", 3), deadline)) == 2)
		;
	if (r == 1)
		SSL_shutdown(ssl);      /* best effort close_notify */
done:
	SSL_free(ssl);
	ERR_clear_error();
	close(fd);
}

static void *server_thread(void *arg)
{
	tlsserver *srv = arg;

	for (;;) {
		int fd, n;

		if (srv->max_conns > 0) {
			pthread_mutex_lock(&srv->lock);
			n = srv->conns;
			pthread_mutex_unlock(&srv->lock);
			if (n >= srv->max_conns)
				break;
		}
		/* Long deadline; stop() interrupts the wait. */
		if (wait_fd(srv, srv->listen_fd, POLLIN, now_ms() + 3600 * 1000LL) != 0)
			break;
		fd = accept(srv->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;       /* EAGAIN after a vanished client, EINTR, ... */
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
			close(fd);
			continue;
		}
		serve_one(srv, fd);
		pthread_mutex_lock(&srv->lock);
		srv->conns++;
		pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->lock);
	}
	pthread_mutex_lock(&srv->lock);
	srv->finished = 1;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void print_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	fprintf(stderr, "tlsserver: %s\n", what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "tlsserver:   %s\n", buf);
	}
}

static void free_server(tlsserver *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake[0] >= 0)
		close(srv->wake[0]);
	if (srv->wake[1] >= 0)
		close(srv->wake[1]);
	SSL_CTX_free(srv->ctx);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

static int resumption;

void tlsserver_allow_resumption(int on)
{
	resumption = on;
}

int tlsserver_start(tlsserver **out, const char *chain_pem, const char *key_pem, int max_conns)
{
	struct sigaction sa;
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	tlsserver *srv;
	int one = 1;

	*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -1;
	srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
	srv->max_conns = max_conns;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);

	srv->ctx = SSL_CTX_new(TLS_server_method());
	if (!srv->ctx || !SSL_CTX_set_min_proto_version(srv->ctx, TLS1_2_VERSION)) {
		print_ssl_errors("cannot create SSL_CTX");
		goto err;
	}
	/* No session tickets: each test connection is a full handshake (unless a test asks). */
	if (!resumption) {
		SSL_CTX_set_num_tickets(srv->ctx, 0);
		SSL_CTX_set_options(srv->ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(srv->ctx, SSL_SESS_CACHE_OFF);
	}
	if (SSL_CTX_use_certificate_chain_file(srv->ctx, chain_pem) != 1) {
		fprintf(stderr, "tlsserver: cannot load chain %s\n", chain_pem);
		print_ssl_errors("certificate chain");
		goto err;
	}
	if (SSL_CTX_use_PrivateKey_file(srv->ctx, key_pem, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(srv->ctx) != 1) {
		fprintf(stderr, "tlsserver: key %s unusable with %s\n", key_pem, chain_pem);
		print_ssl_errors("private key");
		goto err;
	}

	if (pipe(srv->wake) < 0) {
		srv->wake[0] = srv->wake[1] = -1;
		perror("tlsserver: pipe");
		goto err;
	}
	srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv->listen_fd < 0) {
		perror("tlsserver: socket");
		goto err;
	}
	setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(srv->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(srv->listen_fd, 16) < 0 ||
	    getsockname(srv->listen_fd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("tlsserver: bind/listen 127.0.0.1");
		goto err;
	}
	if (fcntl(srv->listen_fd, F_SETFL, fcntl(srv->listen_fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("tlsserver: fcntl");
		goto err;
	}
	srv->port = ntohs(addr.sin_port);

	if (pthread_create(&srv->thread, NULL, server_thread, srv) != 0) {
		fprintf(stderr, "tlsserver: cannot create thread\n");
		goto err;
	}
	*out = srv;
	return 0;
err:
	free_server(srv);
	return -1;
}

int tlsserver_port(const tlsserver *srv)
{
	return srv->port;
}

int tlsserver_conns(const tlsserver *srv)
{
	tlsserver *s = (tlsserver *)srv;
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int tlsserver_wait(tlsserver *srv, int timeout_ms)
{
	struct timespec until;
	int done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	while (!srv->finished) {
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &until) != 0)
			break;
	}
	done = srv->finished;
	pthread_mutex_unlock(&srv->lock);
	return done;
}

void tlsserver_stop(tlsserver *srv)
{
	char c = 'x';

	if (!srv)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_mutex_unlock(&srv->lock);
	if (write(srv->wake[1], &c, 1) < 0) {
		/* The 100 ms poll slices notice `stopping` anyway. */
	}
	pthread_join(srv->thread, NULL);
	free_server(srv);
}

/* One turn of one side, unless it is `done`: 1 once its handshake is done, 0 while it waits, -1 on failure. */
static int pair_turn(SSL *ssl, int done)
{
	if (done)
		return 1;
	int r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	return SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ ? 0 : -1;
}

int tlsserver_pair_handshake(SSL *c, SSL *s)
{
	BIO *cb = NULL, *sb = NULL;
	int c_done = 0, s_done = 0;

	if (!BIO_new_bio_pair(&cb, 0, &sb, 0))
		return -1;
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	/* a TLS 1.3 handshake takes a few turns, one with a HelloRetryRequest a few more */
	for (int turn = 0; turn < TLSSERVER_PAIR_TURNS && !(c_done && s_done); turn++) {
		if ((c_done = pair_turn(c, c_done)) < 0)
			return -1;
		if ((s_done = pair_turn(s, s_done)) < 0)
			return -2;
	}
	return c_done && s_done;
}
