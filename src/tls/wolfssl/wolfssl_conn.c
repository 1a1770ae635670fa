/*
 * The adapter's state on wolfSSL's objects, and the calls that set it up and
 * read it: attaching to a WOLFSSL_CTX, a connection's host name and session
 * ID context, its results, and releasing both (wolfSSL 5.5 calls no free
 * function for ex_data, so certpin_wolfssl_release() and
 * certpin_wolfssl_ctx_detach() do).
 */
#include "wolfssl_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/sha256.h>

/* ex_data indexes: wolfSSL hands them out from 0, which is its app_data slot (wolfSSL_set_app_data()). */
static struct {
	int ctx, ssl;
} idx = { -1, -1 };
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int new_index(int (*get)(void))
{
	int i = get();
	return i == 0 ? get() : i;
}

static int ssl_index(void)
{
	return wolfSSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int ctx_index(void)
{
	return wolfSSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void init_indexes(void)
{
	idx.ctx = new_index(ctx_index);
	idx.ssl = new_index(ssl_index);
}

static bool ensure_indexes(void)
{
	return pthread_once(&once, init_indexes) == 0 && idx.ctx > 0 && idx.ctx < MAX_EX_DATA && idx.ssl > 0 &&
	       idx.ssl < MAX_EX_DATA;
}

cpw_ctx *cpw_ctx_get(WOLFSSL_CTX *ctx)
{
	return ctx && ensure_indexes() ? wolfSSL_CTX_get_ex_data(ctx, idx.ctx) : NULL;
}

cpw_conn *cpw_conn_get(WOLFSSL *ssl, bool make)
{
	cpw_conn *cn;

	if (!ssl || !ensure_indexes())
		return NULL;
	cn = wolfSSL_get_ex_data(ssl, idx.ssl);
	if (cn || !make)
		return cn;
	if (!(cn = calloc(1, sizeof(*cn))))
		return NULL;
	if (wolfSSL_set_ex_data(ssl, idx.ssl, cn) != WOLFSSL_SUCCESS) {
		free(cn);
		return NULL;
	}
	return cn;
}

VerifyCallback cpw_app_verify(cpw_ctx *cx, const cpw_conn *cn)
{
	VerifyCallback cb;

	if (cn && cn->wrapped)
		return cn->app_verify;
	pthread_mutex_lock(&cx->mu);
	cb = cx->app_verify;
	pthread_mutex_unlock(&cx->mu);
	return cb;
}

/* ---- attaching ------------------------------------------------------------------ */

static int new_gen(cpw_ctx *cx)
{
	unsigned char gen[CPW_GEN_LEN];

	if (wolfSSL_RAND_bytes(gen, (int)sizeof(gen)) != WOLFSSL_SUCCESS)
		return CERTPIN_E_TLS;
	pthread_mutex_lock(&cx->mu);
	memcpy(cx->gen, gen, sizeof(gen));
	pthread_mutex_unlock(&cx->mu);
	return CERTPIN_OK;
}

/*
 * The session ID context of connections to `host` ("" for those without a
 * name) under the attachment `gen`: SHA-256(gen || host), cut.
 */
static int sid_ctx(unsigned char out[CPW_SID_CTX_LEN], const unsigned char gen[CPW_GEN_LEN], const char *host)
{
	unsigned char buf[CPW_GEN_LEN + CERTPIN_HOSTNAME_MAX], digest[WC_SHA256_DIGEST_SIZE];
	size_t hl = strlen(host);

	memcpy(buf, gen, CPW_GEN_LEN);
	memcpy(buf + CPW_GEN_LEN, host, hl);
	if (wc_Sha256Hash(buf, (word32)(CPW_GEN_LEN + hl), digest) != 0)
		return CERTPIN_E_TLS;
	memcpy(out, digest, CPW_SID_CTX_LEN);
	return CERTPIN_OK;
}

/* The context's verify mode and callback as certpin needs them: its own callback, peer verification on (or off for pin-only). */
static void install_verify(WOLFSSL_CTX *ctx, const cpw_ctx *cx)
{
	int mode = wolfSSL_CTX_get_verify_mode(ctx);

	mode = cx->pin_only ? WOLFSSL_VERIFY_NONE : (mode | WOLFSSL_VERIFY_PEER);
	wolfSSL_CTX_set_verify(ctx, mode, cpw_verify_cb);
}

/* The context's new state, with `cx->binding` already made; CERTPIN_OK or an error (then nothing is kept). */
static int ctx_first(WOLFSSL_CTX *ctx, cpw_ctx *cx)
{
	int rc;

	if (pthread_mutex_init(&cx->mu, NULL) != 0)
		return CERTPIN_E_NOMEM;
	if ((rc = new_gen(cx)) != CERTPIN_OK || wolfSSL_CTX_set_ex_data(ctx, idx.ctx, cx) != WOLFSSL_SUCCESS) {
		pthread_mutex_destroy(&cx->mu);
		return rc != CERTPIN_OK ? rc : CERTPIN_E_TLS;
	}
	unsigned char id[CPW_SID_CTX_LEN];
	if ((rc = sid_ctx(id, cx->gen, "")) != CERTPIN_OK ||
	    wolfSSL_CTX_set_session_id_context(ctx, id, CPW_SID_CTX_LEN) != WOLFSSL_SUCCESS) {
		(void)wolfSSL_CTX_set_ex_data(ctx, idx.ctx, NULL);
		pthread_mutex_destroy(&cx->mu);
		return rc != CERTPIN_OK ? rc : CERTPIN_E_TLS;
	}
	cx->app_verify = wolfSSL_CTX_get_verify_callback(ctx);
	if (cx->app_verify == cpw_verify_cb)
		cx->app_verify = NULL;
	install_verify(ctx, cx);
	return CERTPIN_OK;
}

/*
 * Attaching again: swap the sources, then give the attachment a new name
 * (in this order: a session whose check ran under the new sources may carry
 * the old name, never the reverse); put certpin's callback back if the
 * application replaced it since.
 */
static int ctx_again(WOLFSSL_CTX *ctx, cpw_ctx *cx, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts)
{
	unsigned char id[CPW_SID_CTX_LEN], gen[CPW_GEN_LEN];
	int rc;

	if (wolfSSL_RAND_bytes(gen, (int)sizeof(gen)) != WOLFSSL_SUCCESS)
		return CERTPIN_E_TLS;
	if ((rc = sid_ctx(id, gen, "")) != CERTPIN_OK || (rc = certpin_binding_set(cx->binding, policy, store, opts)) != CERTPIN_OK)
		return rc;
	pthread_mutex_lock(&cx->mu);
	memcpy(cx->gen, gen, sizeof(gen));
	VerifyCallback cur = wolfSSL_CTX_get_verify_callback(ctx);
	if (cur != cpw_verify_cb)
		cx->app_verify = cur;
	pthread_mutex_unlock(&cx->mu);
	if (cur != cpw_verify_cb)
		install_verify(ctx, cx);
	return wolfSSL_CTX_set_session_id_context(ctx, id, CPW_SID_CTX_LEN) == WOLFSSL_SUCCESS ? CERTPIN_OK
											: CERTPIN_E_TLS;
}

int certpin_wolfssl_ctx_attach(WOLFSSL_CTX *ctx, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts)
{
	int pin_only = opts && (opts->flags & CERTPIN_SSL_INSECURE_PIN_ONLY);
	cpw_ctx *cx;
	int rc;

	if (!ctx || (!policy && !store) || (pin_only && store))
		return CERTPIN_E_INVALID_ARG;
	if (opts && (opts->version != CERTPIN_SSL_OPTIONS_VERSION || (opts->flags & ~CERTPIN_SSL_INSECURE_PIN_ONLY)))
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	if ((cx = cpw_ctx_get(ctx)) != NULL)
		return cx->pin_only != pin_only ? CERTPIN_E_INVALID_ARG : ctx_again(ctx, cx, policy, store, opts);
	if (!(cx = calloc(1, sizeof(*cx))))
		return CERTPIN_E_NOMEM;
	cx->pin_only = pin_only;
	if ((rc = certpin_binding_new(&cx->binding, policy, store, opts)) != CERTPIN_OK ||
	    (rc = ctx_first(ctx, cx)) != CERTPIN_OK) {
		certpin_binding_free(cx->binding);
		free(cx);
		return rc;
	}
	return CERTPIN_OK;
}

void certpin_wolfssl_ctx_detach(WOLFSSL_CTX *ctx)
{
	cpw_ctx *cx = cpw_ctx_get(ctx);

	if (!cx)
		return;
	(void)wolfSSL_CTX_set_ex_data(ctx, idx.ctx, NULL);
	if (wolfSSL_CTX_get_verify_callback(ctx) == cpw_verify_cb)
		wolfSSL_CTX_set_verify(ctx, wolfSSL_CTX_get_verify_mode(ctx), cx->app_verify);
	certpin_binding_free(cx->binding);
	pthread_mutex_destroy(&cx->mu);
	free(cx);
}

/* ---- connections ----------------------------------------------------------------- */

/* The name for wolfSSL's check and for SNI. */
static int set_wolfssl_name(WOLFSSL *ssl, const char *norm)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, norm, addr) == 1 || inet_pton(AF_INET6, norm, addr) == 1) {
		WOLFSSL_X509_VERIFY_PARAM *param = wolfSSL_get0_param(ssl);
		return param && wolfSSL_X509_VERIFY_PARAM_set1_ip_asc(param, norm) == WOLFSSL_SUCCESS ? CERTPIN_OK
												 : CERTPIN_E_TLS;
	}
	if (wolfSSL_check_domain_name(ssl, norm) != WOLFSSL_SUCCESS ||
	    wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, norm, (unsigned short)strlen(norm)) != WOLFSSL_SUCCESS)
		return CERTPIN_E_TLS;
	return CERTPIN_OK;
}

/* A verify callback set on `ssl` itself (or none, for a WOLFSSL made before the attach): certpin's wraps it. */
static void wrap_verify(WOLFSSL *ssl, const cpw_ctx *cx, cpw_conn *cn)
{
	VerifyCallback cur = wolfSSL_get_verify_callback(ssl);
	int mode = wolfSSL_get_verify_mode(ssl);

	if (cur == cpw_verify_cb)
		return;
	cn->app_verify = cur;
	cn->wrapped = 1;
	wolfSSL_set_verify(ssl, cx->pin_only ? WOLFSSL_VERIFY_NONE : (mode | WOLFSSL_VERIFY_PEER), cpw_verify_cb);
}

int certpin_wolfssl_set_host(WOLFSSL *ssl, const char *host)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	unsigned char gen[CPW_GEN_LEN], id[CPW_SID_CTX_LEN];
	cpw_ctx *cx;
	cpw_conn *cn;
	int rc;

	if (!ssl || !host)
		return CERTPIN_E_INVALID_ARG;
	if ((rc = certpin_hostname_normalize(norm, sizeof(norm), host)) != CERTPIN_OK)
		return rc == CERTPIN_E_INVALID_ARG ? CERTPIN_E_HOSTNAME : rc;
	if (!(cx = cpw_ctx_get(wolfSSL_get_SSL_CTX(ssl))))
		return CERTPIN_E_STATE;
	if (!(cn = cpw_conn_get(ssl, true)))
		return CERTPIN_E_NOMEM;
	if (cn->host[0])
		return CERTPIN_E_STATE;
	pthread_mutex_lock(&cx->mu);
	memcpy(gen, cx->gen, sizeof(gen));
	pthread_mutex_unlock(&cx->mu);
	if ((rc = sid_ctx(id, gen, norm)) != CERTPIN_OK || (rc = set_wolfssl_name(ssl, norm)) != CERTPIN_OK)
		return rc;
	if (wolfSSL_set_session_id_context(ssl, id, CPW_SID_CTX_LEN) != WOLFSSL_SUCCESS)
		return CERTPIN_E_TLS;
	memcpy(cn->host, norm, strlen(norm) + 1);
	wrap_verify(ssl, cx, cn);
	return CERTPIN_OK;
}

/* The record of the connection's current handshake, NULL if there is none to report. */
static const cpw_conn *current_record(WOLFSSL *ssl)
{
	const cpw_conn *cn = cpw_conn_get(ssl, false);
	unsigned char id[CPW_RANDOM_LEN];

	if (!cn || !cn->have_record || wolfSSL_session_reused(ssl))
		return NULL; /* a resumed handshake runs no check: the record is an earlier one's */
	/* a later handshake that never reached the check has a client random of its own */
	if (wolfSSL_get_client_random(ssl, id, sizeof(id)) == sizeof(id) && memcmp(id, cn->rec_id, sizeof(id)) != 0)
		return NULL;
	return cn;
}

int certpin_wolfssl_result(certpin_result *out, WOLFSSL *ssl)
{
	const cpw_conn *cn = ssl ? current_record(ssl) : NULL;
	int rc = !ssl ? CERTPIN_E_INVALID_ARG : cn ? cn->out.rc : CERTPIN_E_STATE;

	if (out && cn && rc != CERTPIN_E_STATE)
		*out = cn->out.result;
	return rc;
}

int certpin_wolfssl_tofu_result(certpin_tofu_result *out, WOLFSSL *ssl)
{
	const cpw_conn *cn = ssl ? current_record(ssl) : NULL;
	int rc = !ssl ? CERTPIN_E_INVALID_ARG : cn ? cn->out.tofu_rc : CERTPIN_E_STATE;

	if (out && cn && rc != CERTPIN_E_STATE)
		*out = cn->out.tofu;
	return rc;
}

void certpin_wolfssl_release(WOLFSSL *ssl)
{
	cpw_conn *cn = cpw_conn_get(ssl, false);

	if (!cn)
		return;
	(void)wolfSSL_set_ex_data(ssl, idx.ssl, NULL);
	free(cn->arena);
	free(cn);
}
