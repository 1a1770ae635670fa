/*
 * certpin check --tls wolfssl: a wolfSSL 5.5 client (native API) with the
 * adapter (certpin/wolfssl.h) attached to its context.  Only wolfSSL's
 * headers here: stacks.h keeps OpenSSL's away (see there).
 */
#include "stacks.h"

#include <stdio.h>
#include <stdlib.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "certpin/wolfssl.h"

typedef struct wolf_client {
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
} wolf_client;

static void wolf_close(void *client)
{
	wolf_client *w = client;

	if (!w)
		return;
	certpin_wolfssl_release(w->ssl);        /* before wolfSSL_free(): wolfSSL 5.5 frees no ex_data */
	wolfSSL_free(w->ssl);
	certpin_wolfssl_ctx_detach(w->ctx);
	wolfSSL_CTX_free(w->ctx);
	free(w);
}

static int wolf_setup(void **client, const cli_stack_args *a, cli_stack_result *out)
{
	const char *cafile = a->cafile ? a->cafile : CLI_SYSTEM_CA_FILE;
	wolf_client *w = calloc(1, sizeof(*w));
	int rc;

	if (!(*client = w)) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		return CLI_STACK_SETUP_FAILED;
	}
	if (wolfSSL_Init() != WOLFSSL_SUCCESS || !(w->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method())) ||
	    wolfSSL_CTX_SetMinVersion(w->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
		snprintf(out->error, sizeof(out->error), "wolfSSL setup failed");
		return CLI_STACK_SETUP_FAILED;
	}
	wolfSSL_CTX_set_verify(w->ctx, WOLFSSL_VERIFY_PEER, NULL); /* wolfSSL's client default is not to */
	/* the system's PEM bundle stands in for a system store */
	if ((rc = wolfSSL_CTX_load_verify_locations(w->ctx, cafile, NULL)) != WOLFSSL_SUCCESS) {
		char why[WOLFSSL_MAX_ERROR_SZ];

		snprintf(out->error, sizeof(out->error), "%s: %s", cafile, wolfSSL_ERR_error_string((unsigned long)rc, why));
		return a->cafile ? CLI_STACK_BAD_CAFILE : CLI_STACK_NO_SYSTEM_STORE;
	}
	if ((rc = certpin_wolfssl_ctx_attach(w->ctx, a->policy, NULL, a->opts)) != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "cannot attach the policy: %s", certpin_strerror(rc));
		return CLI_STACK_SETUP_FAILED;
	}
	/* certpin's call for the name: what wolfSSL verifies, SNI, and the name the pins apply to */
	if (!(w->ssl = wolfSSL_new(w->ctx)) || (rc = certpin_wolfssl_set_host(w->ssl, a->verify_host)) != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "cannot set up the check for '%s': %s", a->verify_host,
			w->ssl ? certpin_strerror(rc) : "wolfSSL_new() failed");
		return CLI_STACK_SETUP_FAILED;
	}
	return CLI_STACK_READY;
}

static void wolf_handshake(void *client, int fd, cli_stack_result *out)
{
	wolf_client *w = client;
	char why[WOLFSSL_MAX_ERROR_SZ];

	if (wolfSSL_set_fd(w->ssl, fd) != WOLFSSL_SUCCESS) {
		snprintf(out->error, sizeof(out->error), "wolfSSL could not take the socket");
		return;
	}
	int ret = wolfSSL_connect(w->ssl);
	out->handshake_ok = ret == WOLFSSL_SUCCESS;
	out->rc = certpin_wolfssl_result(&out->res, w->ssl); /* also after a refused handshake */
	if (out->handshake_ok) {
		snprintf(out->version, sizeof(out->version), "%s", wolfSSL_get_version(w->ssl));
		(void)wolfSSL_shutdown(w->ssl);
		return;
	}
	int err = wolfSSL_get_error(w->ssl, ret);
	snprintf(out->error, sizeof(out->error), "%s: %s (%d)",
		out->rc == CERTPIN_E_PKIX ? "certificate verification failed" : "TLS handshake failed",
		wolfSSL_ERR_error_string((unsigned long)err, why), err);
}

const cli_stack cli_stack_wolfssl = { "wolfssl", wolf_setup, wolf_handshake, wolf_close };
