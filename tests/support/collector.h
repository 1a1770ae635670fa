/*
 * A "certpin collect" process for tests, on 127.0.0.1 with a port file, and
 * plain HTTP requests to it over fresh TCP connections.  Every child is
 * stopped by PID, every wait is bounded.
 */
#ifndef CERTPIN_TEST_COLLECTOR_H
#define CERTPIN_TEST_COLLECTOR_H

#include <stddef.h>
#include <sys/types.h>

typedef struct test_collector {
	pid_t pid;
	int port;
	char out[4200], err[4200];  /* its stdout and stderr */
} test_collector;

/*
 * The certpin CLI: $CERTPIN, else ../certpin next to this program.  Returns
 * its path (static), or NULL if it is not executable.
 */
const char *test_cli(const char *argv0);

/*
 * Start `cli` collect --db `db_spec` --listen 127.0.0.1:0 --duration 600 and
 * the `extra` arguments (NULL-terminated, may be NULL); its files are named
 * after `tag` in `dir`.  Waits up to 10 s for the port.  0 or -1.
 */
int test_collector_start(test_collector *c, const char *cli, const char *db_spec, const char *dir, const char *tag,
	const char *const *extra);
/* SIGTERM, up to 10 s, then SIGKILL.  The exit status, or -1. */
int test_collector_stop(test_collector *c);

/*
 * POST `body` (`len` bytes) to `path` with Content-Type `ctype`; the reply
 * (headers and body, NUL-terminated) in `resp`.  The HTTP status, or -1.
 */
int test_http_post(int port, const char *path, const char *ctype, const char *body, size_t len, char *resp,
	size_t cap);

/* GET `path`; as test_http_post(). */
int test_http_get(int port, const char *path, char *resp, size_t cap);

/* Counter `name` of GET /stats, or -1. */
long long test_collector_stat(const test_collector *c, const char *name);

/* Run `cli` with `args` (NULL-terminated), stdout into *out (malloc'd) if out; the exit status. */
int test_run_cli(char **out, const char *cli, const char *dir, const char *const *args);

#endif
