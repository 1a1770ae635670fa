/*
 * stack_wolfssl.c - the wolfSSL adapter as a stack client (stack.h): a
 * wolfSSL client the way an application writes one with wolfSSL's native
 * API.  wolfSSL's headers only: this library also holds OpenSSL code
 * (tlsclient.c, tlsserver.c), which never meets wolfSSL's in one file.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "certpin.h"
#include "certpin/wolfssl.h"
#include "stack.h"
#include "tlsclient.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_wolfssl(void)
{
	(void)wolfSSL_Init();
}

/* "hi\n" out, "ok\n" back; 1 if it came. */
static int exchange(WOLFSSL *ssl)
{
	char buf[8];
	int got = 0, r;

	if (wolfSSL_write(ssl, "hi\n", 3) != 3)
		return 0;
	while (got < 3 && (r = wolfSSL_read(ssl, buf + got, 3 - got)) > 0)
		got += r;
	return got == 3 && memcmp(buf, "ok\n", 3) == 0;
}

static void note_error(stack_result *out, WOLFSSL *ssl, int ret)
{
	char msg[WOLFSSL_MAX_ERROR_SZ];
	int e = wolfSSL_get_error(ssl, ret);

	wolfSSL_ERR_error_string_n((unsigned long)e, msg, sizeof(msg));
	snprintf(out->error, sizeof(out->error), "wolfSSL error %d (%s), verify result %ld", e, msg,
		wolfSSL_get_verify_result(ssl));
}

/* The handshake and the exchange on a named connection; -1 if the harness failed. */
static int run(stack_result *out, const stack_conn *c, WOLFSSL *ssl)
{
	int rc = c->host ? certpin_wolfssl_set_host(ssl, c->host) : CERTPIN_OK;
	if (rc != CERTPIN_OK) {
		out->rc = rc;
		snprintf(out->error, sizeof(out->error), "certpin_wolfssl_set_host: %s", certpin_strerror(rc));
		return 0;
	}
	int fd = test_tcp_connect(c->port); /* reads and writes bounded by TEST_CLIENT_TIMEOUT_S */
	if (fd < 0 || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "stack_wolfssl: no connection to port %d\n", c->port);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int ret = wolfSSL_connect(ssl);
	if (ret == WOLFSSL_SUCCESS)
		out->connected = exchange(ssl);
	else
		note_error(out, ssl, ret);
	certpin_result r;
	if ((out->rc = certpin_wolfssl_result(&r, ssl)) != CERTPIN_E_STATE)
		out->result = r;
	if (c->tofu)
		out->tofu_rc = certpin_wolfssl_tofu_result(&out->tofu, ssl);
	if (out->connected)
		(void)wolfSSL_shutdown(ssl);
	close(fd);
	return 0;
}

static int wolfssl_connect(stack_result *out, const stack_conn *c)
{
	int rc, status = -1;
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;

	memset(out, 0, sizeof(*out));
	out->rc = out->tofu_rc = CERTPIN_E_STATE;
	out->result.version = CERTPIN_RESULT_VERSION;
	out->result.verdict = CERTPIN_VERDICT_NOT_PINNED;
	out->result.rule = out->result.pin = out->result.depth = -1;
	signal(SIGPIPE, SIG_IGN);
	pthread_once(&init_once, init_wolfssl);

	/* an ordinary verifying client context: TLS 1.2 or later, the given trust anchors only */
	if (!(ctx = wolfSSL_CTX_new(wolfSSLv23_client_method())) ||
	    wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "stack_wolfssl: no client context\n");
		goto out;
	}
	if (c->ca_file && wolfSSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "stack_wolfssl: cannot load %s\n", c->ca_file);
		goto out;
	}
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
	if ((c->policy || c->tofu) && (rc = certpin_wolfssl_ctx_attach(ctx, c->policy, c->tofu, c->opts)) != CERTPIN_OK) {
		fprintf(stderr, "stack_wolfssl: certpin_wolfssl_ctx_attach: %s\n", certpin_strerror(rc));
		goto out;
	}
	if (!(ssl = wolfSSL_new(ctx))) {
		fprintf(stderr, "stack_wolfssl: wolfSSL_new failed\n");
		goto out;
	}
	status = run(out, c, ssl);
out:
	certpin_wolfssl_release(ssl);
	wolfSSL_free(ssl);
	certpin_wolfssl_ctx_detach(ctx);
	wolfSSL_CTX_free(ctx);
	return status;
}

const stack_client stack_wolfssl = { "wolfssl", wolfssl_connect };
