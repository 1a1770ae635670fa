/*
 * stack.h - one test client per TLS integration, for the shared attack
 * catalog (tests/integration/catalog_test.c) and anything else that must
 * run the same connection through every stack.
 *
 * A stack client makes one connection to 127.0.0.1:port the way an
 * application using certpin with that stack would:
 *
 *   1. a client context trusting only `ca_file` (NULL: no trust anchors),
 *      TLS 1.2 or later, the stack's normal PKIX validation on;
 *   2. the stack's certpin attach call with `policy` (if not NULL), `opts`
 *      (may be NULL) and `tofu` (if not NULL);
 *   3. `host` (unless NULL) as the name the stack verifies and as SNI;
 *   4. handshake, send "hi\n", expect "ok\n" back (tlsserver.h), or for
 *      an HTTP client (libcurl) a GET answered by the server's HTTP mode;
 *   5. the stack's certpin result call(s), into `out`.
 *
 * Every wait is bounded (TEST_CLIENT_TIMEOUT_S).  Clients set SIGPIPE to
 * SIG_IGN.
 */
#ifndef CERTPIN_TEST_STACK_H
#define CERTPIN_TEST_STACK_H

#include "certpin.h"

typedef struct stack_conn {
	int port;
	const char *host;               /* verified name and SNI; NULL: none */
	const char *ca_file;            /* PEM trust anchors; NULL: none */
	certpin_policy *policy;         /* NULL: no policy attached */
	const certpin_ssl_options *opts;
	certpin_tofu *tofu;             /* NULL: no TOFU store attached */
} stack_conn;

typedef struct stack_result {
	int connected;                  /* handshake completed and the reply came back */
	int rc;                         /* the stack's certpin result call (CERTPIN_E_STATE: no check ran) */
	certpin_result result;          /* what it filled (verdict NOT_PINNED, depth -1 if no check ran) */
	int tofu_rc;                    /* the same for TOFU (CERTPIN_E_STATE if none ran or no store) */
	certpin_tofu_result tofu;
	char error[256];                /* the stack's own error text after a failure, else "" */
} stack_result;

typedef struct stack_client {
	const char *name;               /* "openssl", "curl", "mbedtls", "wolfssl", "gnutls" */
	/*
	 * One connection as above.  0 when the connection was attempted,
	 * whatever came of it (see `out`); -1 when the harness itself failed
	 * (a message on stderr): the caller counts that as a test failure.
	 */
	int (*connect)(stack_result *out, const stack_conn *c);
} stack_client;

/* Every stack this build has, OpenSSL first; NULL-terminated. */
extern const stack_client *const test_stacks[];

#endif
