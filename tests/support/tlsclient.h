/*
 * tlsclient.h - one-shot OpenSSL TLS client for certpin's tests.
 *
 * test_client_connect() makes one connection to 127.0.0.1:port the way an
 * application using certpin would, and reports what certpin decided:
 *
 *   1. SSL_CTX (TLS 1.2+) trusting only `ca_file` (NULL: no trust anchors);
 *   2. certpin_ssl_ctx_attach(ctx, policy, opts) unless `policy` is NULL
 *      (or certpin_ssl_attach() on the SSL with TEST_CLIENT_PER_SSL);
 *   3. SSL_set1_host(host) and SNI = host, unless `host` is NULL (then
 *      neither) or a flag below says otherwise;
 *   4. handshake, write "hi\n", read the reply, expect "ok\n".
 *
 * Socket I/O is bounded by TEST_CLIENT_TIMEOUT_S.  Sets SIGPIPE to SIG_IGN.
 */
#ifndef CERTPIN_TLSCLIENT_H
#define CERTPIN_TLSCLIENT_H

#include "certpin.h"

#define TEST_CLIENT_TIMEOUT_S 10

/* flags */
#define TEST_CLIENT_SNI_ONLY 1u  /* send SNI = host but do not call SSL_set1_host() */
#define TEST_CLIENT_PER_SSL  2u  /* attach with certpin_ssl_attach() instead of the SSL_CTX */
#define TEST_CLIENT_VERIFY_NONE 4u /* after attaching, set SSL_VERIFY_NONE (on the SSL_CTX, or the SSL for PER_SSL) */
#define TEST_CLIENT_TWO_NAMES 8u   /* SSL_set1_host(TEST_CLIENT_OTHER_NAME), then SSL_add1_host(host) */
#define TEST_CLIENT_OTHER_NAME "other.certpin.test"
#define TEST_CLIENT_ADD_IP 32u     /* also X509_VERIFY_PARAM_set1_ip_asc(127.0.0.1) next to the host */
#define TEST_CLIENT_BOTH 64u       /* attach to the SSL_CTX with opts and, with TEST_CLIENT_PER_SSL, to the SSL too */
#define TEST_CLIENT_ACCEPT_ALL 16u  /* the application's verify callback accepts (and clears) every error */
#define TEST_CLIENT_STORE_ACCEPT_ALL 128u /* the same callback, set on the SSL_CTX's X509_STORE instead */

/*
 * A TOFU store to attach as well (certpin_tofu_ssl_ctx_attach()), or NULL;
 * its result lands in info->tofu_rc and info->tofu.
 */
extern certpin_tofu *test_client_tofu;

typedef struct test_client_info {
	int connected;          /* 1 if the handshake completed and "ok\n" came back */
	int tofu_rc;            /* certpin_tofu_ssl_result() (CERTPIN_E_STATE if none ran) */
	certpin_tofu_result tofu;
	int checked;            /* 1 if certpin_ssl_result() reported a check */
	int certpin_rc;         /* what certpin_ssl_result() returned (CERTPIN_E_STATE if no check) */
	long verify_result;     /* SSL_get_verify_result() after the handshake attempt */
	char tls_error[256];    /* first OpenSSL error queued by a failure, else "" */
} test_client_info;

/*
 * Connect once; see the overview.  `out` (if not NULL) receives
 * certpin_ssl_result()'s result, or a zeroed result with version set,
 * verdict NOT_PINNED and rule/pin/depth -1 if no check ran.  `info` may be
 * NULL; `opts` is passed to the attach call as is (may be NULL).
 *
 * Returns:
 *   - the certpin_ssl_result() code if a check ran and refused (anything
 *     but CERTPIN_OK), whether or not the connection then went through --
 *     callers asserting a refusal should also check info->connected == 0;
 *   - CERTPIN_E_TLS if the connection failed otherwise (see
 *     info->verify_result and info->tls_error);
 *   - CERTPIN_E_STATE if the connection worked but no certpin check ran;
 *   - CERTPIN_OK if a check allowed the connection and it worked;
 *   - the attach call's code, or CERTPIN_E_IO if the CA file cannot be
 *     loaded or the TCP connection cannot be made (a message on stderr).
 */
/*
 * A TCP connection to 127.0.0.1:port with send and receive timeouts of
 * TEST_CLIENT_TIMEOUT_S; the socket, or -1.
 */
int test_tcp_connect(int port);

int test_client_connect(certpin_result *out, test_client_info *info,
	int port, const char *host, unsigned int flags, const char *ca_file,
	certpin_policy *policy, const certpin_ssl_options *opts);

#endif
