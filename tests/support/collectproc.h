/*
 * collectproc.h - "certpin collect" as a child process for the collector's
 * load and failure tests: start on 127.0.0.1 with a port file, stop by PID
 * (SIGTERM, or SIGKILL), plain HTTP posts from a chosen loopback address,
 * /stats counters, and distinct report bodies.  Every wait is bounded.
 */
#ifndef CERTPIN_TEST_COLLECTPROC_H
#define CERTPIN_TEST_COLLECTPROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct test_cproc {
	pid_t pid;
	int port;
	char err[4200];             /* its stderr */
} test_cproc;

/* The certpin CLI: $CERTPIN, else ../certpin beside this test program. */
void test_cproc_cli(char *out, size_t n);
/*
 * Start "certpin collect --db DB --listen 127.0.0.1:0 ..." with `extra`
 * arguments (NULL-terminated, may be NULL); its files go to DIR/TAG.*.  0
 * once it listens, -1 after a message.
 */
int test_cproc_start(test_cproc *c, const char *cli, const char *dir, const char *tag, const char *db,
	const char *const *extra);
/* SIGTERM, wait up to 10 s, then SIGKILL.  Its exit status, or -1. */
int test_cproc_stop(test_cproc *c);
/* SIGKILL at once (a crash), and reap it. */
void test_cproc_kill(test_cproc *c);

/*
 * POST `body` to /report on a new connection from `src` (a loopback address
 * such as "127.0.0.3", NULL: any) with `timeout_ms` for the whole exchange,
 * and an Idempotency-Key header when `idem_key` is not NULL.  The HTTP
 * status, or -1 (no reply).
 */
int test_post_report(int port, const char *src, const char *body, const char *idem_key, int timeout_ms);
/* One /stats counter, or -1. */
long long test_cproc_stat(int port, const char *key);

/* A report body (certpin's own format, digests only) whose "port" is `n`, distinct per n; malloc'd. */
char *test_report_body(unsigned int n);

#endif
