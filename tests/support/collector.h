/*
 * A "certpin collect" process for the collector's tests: started on
 * 127.0.0.1 with a port file, stopped by PID (SIGTERM, or SIGKILL for a
 * crash); plain HTTP requests to it over fresh TCP connections, optionally
 * from a chosen loopback address; its /stats counters; the certpin CLI run
 * as a child; distinct report bodies.  Every wait is bounded.
 */
#ifndef CERTPIN_TEST_COLLECTOR_H
#define CERTPIN_TEST_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct test_collector {
	pid_t pid;
	int port;
	char out[4200], err[4200];  /* its stdout and stderr */
} test_collector;

/*
 * The certpin CLI: $CERTPIN, else ../certpin next to this program.  Returns
 * its path (static), or NULL after a message if it is not executable.
 */
const char *test_cli(void);

/*
 * Start `cli` collect --db `db_spec` --listen 127.0.0.1:0 --duration 600 and
 * the `extra` arguments (NULL-terminated, may be NULL); its files are named
 * after `tag` in `dir`.  Waits up to 15 s for the port.  0, or -1 after a
 * message.
 */
int test_collector_start(test_collector *c, const char *cli, const char *db_spec, const char *dir, const char *tag,
	const char *const *extra);
/* SIGTERM, up to 10 s, then SIGKILL.  The exit status, or -1. */
int test_collector_stop(test_collector *c);
/* SIGKILL at once (a crash), and reap it. */
void test_collector_kill(test_collector *c);

/*
 * Send `req` (`len` bytes) on a new connection to 127.0.0.1:`port` from
 * `src` (a loopback address such as "127.0.0.3"; NULL: any), then close the
 * sending side (an idle or keep-alive request ends there), and read the
 * reply until the server closes, within `timeout_ms` for the whole exchange
 * (0: 10 s).  The reply (headers and body, NUL-terminated) in `resp` if not
 * NULL.  The HTTP status, or -1 (no reply).
 */
int test_http_request(int port, const char *src, int timeout_ms, const char *req, size_t len, char *resp,
	size_t cap);

/*
 * POST the string `body` to `path` with "Connection: close" and the header
 * lines `headers` ("Content-Type: ...\r\n" and any others such as an
 * Idempotency-Key, each ending in CRLF; NULL: Content-Type: application/json);
 * otherwise as test_http_request(), but the sending side stays open until
 * the reply, as a real sender's (under collect_slowloris_test's attack the
 * collector dropped half-closed posts unanswered).
 */
int test_http_post(int port, const char *src, int timeout_ms, const char *path, const char *headers,
	const char *body, char *resp, size_t cap);

/* GET `path` from any address, within 10 s; as test_http_post(). */
int test_http_get(int port, const char *path, char *resp, size_t cap);

/* Counter `name` of GET /stats, or -1. */
long long test_collector_stat(int port, const char *name);

/* Run `cli` with `args` (NULL-terminated) for up to 30 s, stdout into *out (malloc'd) if out; the exit status. */
int test_run_cli(char **out, const char *cli, const char *dir, const char *const *args);

/* A report body (certpin's own format, digests only) whose "port" is `n`, distinct per n; malloc'd. */
char *test_report_body(unsigned int n);

/* CLOCK_MONOTONIC in ms, and a sleep. */
int64_t test_now_ms(void);
void test_sleep_ms(unsigned int ms);

#endif
