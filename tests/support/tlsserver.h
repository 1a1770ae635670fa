/*
 * tlsserver.h - a tiny OpenSSL TLS server for certpin's tests.
 *
 * The server listens on 127.0.0.1 (an ephemeral port), runs on its own
 * thread and handles one connection at a time: TLS handshake (TLS 1.2 or
 * later), read one line, reply "ok\n", close (or, in HTTP mode, answer HTTP
 * requests: tlsserver_set_http()).  Clients that abort the
 * handshake (the normal outcome of a refused pin) are tolerated.  Every wait
 * is bounded: a connection gets at most TLSSERVER_IO_TIMEOUT_MS of I/O, and
 * tlsserver_stop() returns within about 100 ms plus any connection in
 * progress is abandoned at its next wait.
 *
 * Starting a server sets SIGPIPE to SIG_IGN for the process (a client that
 * closes early must not kill the test).
 */
#ifndef CERTPIN_TLSSERVER_H
#define CERTPIN_TLSSERVER_H

#include <openssl/ssl.h>

typedef struct tlsserver tlsserver;

#define TLSSERVER_IO_TIMEOUT_MS 5000

/*
 * Start a server that sends the certificates of `chain_pem` (leaf first, then
 * any others, exactly as in the file) and proves possession of `key_pem`.
 * After `max_conns` connections (0 or less: unlimited) the server thread
 * stops accepting and exits.  Returns 0 and sets *out, or -1 with a message
 * on stderr (*out is then NULL).
 */
int tlsserver_start(tlsserver **out, const char *chain_pem, const char *key_pem, int max_conns);

/*
 * For servers started after this call: issue session tickets (TLS 1.2 and
 * 1.3), so that clients can resume.  Off by default: every connection is a
 * full handshake.
 */
void tlsserver_allow_resumption(int on);

/*
 * How connections are answered once the handshake is done, for every
 * server, from the next connection a server begins on (so that a client
 * harness can switch the mode around its own connection, whoever started
 * the server):
 *   TLSSERVER_LINE (the default)  read one line, reply "ok\n", close;
 *   TLSSERVER_HTTP                read one HTTP request's header (up to the
 *                                 blank line), reply "HTTP/1.1 200 OK" with
 *                                 the body "ok\n" and "Connection: close",
 *                                 close;
 *   TLSSERVER_HTTP_KEEPALIVE      the same with "Connection: keep-alive", and
 *                                 answer further requests on the connection
 *                                 until the client closes it, at most
 *                                 TLSSERVER_HTTP_MAX_REQUESTS, each waited for
 *                                 at most TLSSERVER_IO_TIMEOUT_MS (meanwhile
 *                                 the server serves no other connection).
 * Request bodies are not read (GET requests have none).
 */
#define TLSSERVER_LINE 0
#define TLSSERVER_HTTP 1
#define TLSSERVER_HTTP_KEEPALIVE 2
#define TLSSERVER_HTTP_MAX_REQUESTS 1000
void tlsserver_set_http(int mode);

/* The TCP port the server listens on (127.0.0.1). */
int tlsserver_port(const tlsserver *srv);

/* Number of connections accepted so far (handshake success or not). */
int tlsserver_conns(const tlsserver *srv);

/*
 * Wait until the server has handled `max_conns` connections or `timeout_ms`
 * passed.  Returns 1 if the server finished, 0 on timeout.  With unlimited
 * max_conns it always waits the full timeout.
 */
int tlsserver_wait(tlsserver *srv, int timeout_ms);

/* Stop the server, join its thread and free it.  NULL-safe. */
void tlsserver_stop(tlsserver *srv);

/*
 * No server thread: one handshake between client `c` and server `s` in the
 * calling thread, over a new BIO pair given to both.  Each side runs until
 * it waits for the other, TLSSERVER_PAIR_TURNS times at most.  Returns 1
 * when both have finished; 0 when the turns ran out; -1 when the client
 * failed, -2 when the server did (OpenSSL's error queue says why).
 */
#define TLSSERVER_PAIR_TURNS 16
int tlsserver_pair_handshake(SSL *c, SSL *s);

#endif
