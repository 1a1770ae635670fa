/*
 * stack_mbedtls.h - the mbedTLS client behind stack_mbedtls (stack.h), in
 * pieces that tests/integration/mbedtls_test.c reuses: a client
 * configuration, and one connection through it with the options that test
 * needs (no certpin setup, a session to resume or to keep).
 *
 * The client is what an application using certpin with mbedTLS 2.28 would
 * write: mbedtls_ssl_config_defaults() for a TLS client, TLS 1.2 (mbedTLS
 * 2.28 has no TLS 1.3 handshake), trust anchors from a PEM file,
 * MBEDTLS_SSL_VERIFY_REQUIRED, a CTR-DRBG seeded from the platform's
 * entropy, certpin_mbedtls_conf_attach() on the configuration and
 * certpin_mbedtls_setup() per connection.  Socket I/O is bounded by
 * TEST_CLIENT_TIMEOUT_S (test_tcp_connect()), and every loop by a count.
 */
#ifndef CERTPIN_TEST_STACK_MBEDTLS_H
#define CERTPIN_TEST_STACK_MBEDTLS_H

#include "certpin.h"
#include "certpin/mbedtls.h"
#include "stack.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

typedef struct test_mbed {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	certpin_mbedtls *pins;          /* NULL until certpin_mbedtls_conf_attach() */
} test_mbed;

/* A client configuration trusting only `ca_file` (NULL: nothing).  0, or -1 with a message on stderr. */
int test_mbed_init(test_mbed *m, const char *ca_file);

/* Free the configuration, then the attachment (NULL-safe members). */
void test_mbed_free(test_mbed *m);

#define TEST_MBED_NO_SETUP 1u           /* no certpin_mbedtls_setup(): mbedtls_ssl_set_hostname() alone */
#define TEST_MBED_GO_ON 2u              /* connect even if certpin_mbedtls_setup() failed */
#define TEST_MBED_RESETUP 4u            /* set up for "api.certpin.test" first, free that, then set up as asked */

typedef struct test_mbed_conn {
	unsigned int flags;             /* TEST_MBED_* */
	const certpin_mbedtls_session *resume; /* given to certpin_mbedtls_set_session() first; NULL: none */
	certpin_mbedtls_session **save; /* after a connection that worked: certpin_mbedtls_get_session() */
	int setup_rc;                   /* out: certpin_mbedtls_setup()'s code (CERTPIN_E_STATE: not called) */
	int handshake_ret;              /* out: mbedtls_ssl_handshake()'s last return */
	uint32_t verify_result;         /* out: mbedtls_ssl_get_verify_result() after it */
} test_mbed_conn;

/*
 * One connection to 127.0.0.1:port for `host` (NULL: none) through `m`,
 * as stack.h describes, with `x` (may be NULL) as above; fills `out` (rc
 * and tofu_rc CERTPIN_E_STATE, result "not pinned" when no check ran).
 * 0 when the connection was attempted; -1 when the harness failed.
 */
int test_mbed_connect(stack_result *out, test_mbed *m, int port, const char *host, test_mbed_conn *x);

#endif
