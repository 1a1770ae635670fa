/*
 * libcurl's two callbacks and the verdict of each connection.
 *
 * Which name, which chain, how refused: the name is the host of the
 * transfer's URL, which libcurl verifies whatever CURLOPT_CONNECT_TO or
 * CURLOPT_RESOLVE say about where to connect, given to OpenSSL as the
 * verification host or IP of the connection's SSL_CTX; the chain and the
 * refusal are the OpenSSL adapter's (certpin_ssl_ctx_attach(): the chain
 * X509_verify_cert() built, X509_V_ERR_APPLICATION_VERIFICATION).
 *
 * Why the SSL_CTX is the connection's own: libcurl 7.88's OpenSSL backend
 * calls SSL_CTX_new() in ossl_connect_step1() for every connection (the
 * state of one TLS connection filter), sets SSL_CTX_set_verify(PEER or
 * NONE from CURLOPT_SSL_VERIFYPEER), calls CURLOPT_SSL_CTX_FUNCTION with
 * it, and only then makes the connection's one SSL with SSL_new(), which
 * copies the SSL_CTX's verification parameters (lib/vtls/openssl.c).  It
 * checks the host or IP itself after the handshake (ossl_verifyhost()),
 * never through X509_VERIFY_PARAM, and sends no SNI for an IP: without
 * the name set here the adapter would see none.  So the SSL_CTX carries
 * the connection's verdict (ex_data), freed with it.
 *
 * Before each request libcurl calls CURLOPT_PREREQFUNCTION with the
 * connection's addresses (lib/multi.c, MSTATE_DO; libcurl copies them to
 * the transfer first: Curl_persistconninfo(), the same values as
 * CURLINFO_PRIMARY_IP etc.); CURLINFO_TLS_SSL_PTR then gives the
 * connection's SSL (lib/getinfo.c, while the transfer has a connection).
 */
#include "curl_internal.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int conn_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int i, long argl, void *argp)
{
	cpc_conn *c = ptr;

	(void)parent, (void)ad, (void)i, (void)argl, (void)argp;
	if (!c)
		return;
	cpc_attachment_drop(&c->att);
	cpc_handle_unref(c->owner);
	free(c);
}

static void make_index(void)
{
	conn_idx = SSL_CTX_get_ex_new_index(0, "certpin curl connection", NULL, NULL, conn_free);
}

int cpc_conn_index(void)
{
	pthread_once(&idx_once, make_index);
	return conn_idx;
}

/* ---- the checks' callbacks (inside the handshake) ------------------------------------------- */

/* Keep the verified chain of a failed check for the message, then the application's callback. */
static void conn_on_failure(const certpin_result *result, const certpin_chain_elem *chain, size_t n, void *payload)
{
	cpc_conn *c = payload;

	c->nchain = chain ? (n < CPC_CHAIN_MAX ? n : CPC_CHAIN_MAX) : 0;
	if (c->nchain)
		memcpy(c->chain, chain, c->nchain * sizeof(*chain));
	if (c->att.opts.on_failure)
		c->att.opts.on_failure(result, chain, n, c->att.opts.payload);
}

/* The verdict of the connection, and of its handle's transfer; then the application's callback. */
static void conn_on_result(int code, const certpin_result *result, int tofu_code, const certpin_tofu_result *tofu,
	const certpin_chain_elem *chain, size_t n, void *payload)
{
	cpc_conn *c = payload;
	cpc_tuple t = c->v.tuple;

	cpc_verdict_none(&c->v, code, "%s", "");
	c->v.tuple = t;
	if (result)
		c->v.result = *result;
	else
		c->v.result.allowed = code == CERTPIN_OK;
	c->v.tofu_code = tofu_code;
	if (tofu)
		c->v.tofu = *tofu;
	cpc_explain(c, c->att.policy);
	c->checked = true;
	if (c->owner)
		cpc_handle_set_last(c->owner, &c->v);
	if (c->att.opts.on_result)
		c->att.opts.on_result(code, result, tofu_code, tofu, chain, n, c->att.opts.payload);
}

/* ---- CURLOPT_SSL_CTX_FUNCTION ------------------------------------------------------------- */

/* The connection is refused before it starts: the reason is its verdict and its handle's. */
static CURLcode refuse(cpc_conn *c, CURLcode cc, int code, const char *why)
{
	cpc_tuple t = c->v.tuple;

	cpc_verdict_none(&c->v, code, "%s", why);
	c->v.tuple = t;
	if (c->owner)
		cpc_handle_set_last(c->owner, &c->v);
	return cc;
}

/* The URL's host as the name OpenSSL verifies (and the adapter looks up). */
static int name_connection(SSL_CTX *ctx, CURL *easy, certpin_error *err)
{
	char host[CERTPIN_HOSTNAME_MAX];
	int is_ip = 0;
	int rc = cpc_url_host(host, sizeof(host), &is_ip, easy, err);

	if (rc != CERTPIN_OK)
		return rc;
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	if (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(param, host) : !X509_VERIFY_PARAM_set1_host(param, host, 0))
		return certpin_error_set(err, CERTPIN_E_TLS, NULL, 0, "%s: OpenSSL did not take it as the name "
			"to verify", host);
	if (!is_ip) /* as libcurl matches names: a wildcard is a whole label */
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return CERTPIN_OK;
}

/* The policy (or the empty one, for a store alone), the store and the callbacks on the connection's SSL_CTX. */
static int attach_connection(cpc_conn *c, SSL_CTX *ctx, bool pin_only)
{
	certpin_ssl_options so = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = c->att.policy ? c->att.policy : cpc_empty_policy();

	so.flags = pin_only ? CERTPIN_SSL_INSECURE_PIN_ONLY : 0;
	so.on_failure = conn_on_failure;
	so.on_result = conn_on_result;
	so.payload = c;
	int rc = p ? certpin_ssl_ctx_attach(ctx, p, &so) : CERTPIN_E_NOMEM;
	if (rc == CERTPIN_OK && c->att.opts.tofu)
		rc = certpin_tofu_ssl_ctx_attach(ctx, c->att.opts.tofu);
	return rc;
}

/* A record for the connection of `ctx`, owned by the SSL_CTX from here on; NULL if out of memory. */
static cpc_conn *conn_new(SSL_CTX *ctx, cpc_handle *h, CURL *easy)
{
	cpc_conn *c = calloc(1, sizeof(*c));

	if (!c || !SSL_CTX_set_ex_data(ctx, conn_idx, c)) {
		free(c);
		return NULL;
	}
	cpc_attachment_take(&c->att, h);
	if (easy == h->easy) { /* else libcurl's own handle for a DoH lookup, or a copy of the attached one */
		atomic_fetch_add(&h->refs, 1);
		c->owner = h;
	}
	cpc_verdict_none(&c->v, CERTPIN_E_STATE, "the handshake ended before the server's certificate was "
		"checked (see libcurl's error)");
	cpc_tuple_of(&c->v.tuple, easy);
	if (c->owner)
		cpc_handle_set_last(c->owner, &c->v);
	return c;
}

CURLcode cpc_ssl_ctx_cb(CURL *easy, void *sslctx, void *userptr)
{
	cpc_handle *h = userptr;
	SSL_CTX *ctx = sslctx;
	certpin_error err;
	cpc_conn *c;
	int rc;

	if (!h || !ctx || cpc_conn_index() < 0)
		return CURLE_SSL_CONNECT_ERROR;
	if (!(c = conn_new(ctx, h, easy)))
		return CURLE_OUT_OF_MEMORY;
	/* libcurl set SSL_VERIFY_NONE for CURLOPT_SSL_VERIFYPEER 0, before calling us (ossl_connect_step1()) */
	bool pin_only = !(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER);
	if (pin_only && !(c->att.opts.flags & CERTPIN_CURL_INSECURE_PIN_ONLY))
		return refuse(c, CURLE_BAD_FUNCTION_ARGUMENT, CERTPIN_E_INVALID_ARG, "CURLOPT_SSL_VERIFYPEER is 0: "
			"certpin refuses to pin a connection it cannot verify; for pin-only trust (self-signed devices) "
			"attach with CERTPIN_CURL_INSECURE_PIN_ONLY");
	if (c->att.opts.ssl_ctx && (rc = c->att.opts.ssl_ctx(easy, ctx, c->att.opts.payload)) != CERTPIN_OK) {
		snprintf(err.message, sizeof(err.message), "the application's SSL_CTX callback refused the "
			"connection (%s)", certpin_error_name(rc));
		return refuse(c, CURLE_ABORTED_BY_CALLBACK, rc, err.message);
	}
	if ((rc = name_connection(ctx, easy, &err)) != CERTPIN_OK)
		return refuse(c, CURLE_SSL_CONNECT_ERROR, rc, err.message);
	if ((rc = attach_connection(c, ctx, pin_only)) != CERTPIN_OK) {
		snprintf(err.message, sizeof(err.message), "certpin could not attach to the connection: %s",
			certpin_strerror(rc));
		return refuse(c, rc == CERTPIN_E_NOMEM ? CURLE_OUT_OF_MEMORY : CURLE_SSL_CONNECT_ERROR, rc,
			err.message);
	}
	return CURLE_OK;
}

/* ---- CURLOPT_PREREQFUNCTION ----------------------------------------------------------------- */

/* No TLS under the transfer: fine for a host nothing checks, refused for one the policy pins or a store watches. */
static bool no_tls(cpc_verdict *v, cpc_handle *h, const cpc_attachment *a)
{
	char host[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	size_t rule;
	bool named = cpc_url_host(host, sizeof(host), &is_ip, h->easy, NULL) == CERTPIN_OK;
	bool checked = a->opts.tofu || !named || (a->policy && certpin_policy_lookup(&rule, a->policy, host) ==
		CERTPIN_OK);

	if (!named)
		snprintf(host, sizeof(host), "(no host name)");
	if (checked) {
		cpc_verdict_none(v, CERTPIN_E_STATE, "%s: the transfer has no TLS connection to check (http://?) and "
			"its host is pinned: refused", host);
		return false;
	}
	cpc_verdict_none(v, CERTPIN_E_STATE, "%s: the transfer has no TLS connection: nothing checked", host);
	return true;
}

/* The verdict for the transfer about to use its connection; false: the connection may not be used. */
static bool transfer_verdict(cpc_verdict *v, cpc_handle *h, const cpc_attachment *a, const cpc_tuple *t)
{
	struct curl_tlssessioninfo *tsi = NULL;
	SSL *ssl = NULL;

	if (curl_easy_getinfo(h->easy, CURLINFO_TLS_SSL_PTR, &tsi) == CURLE_OK && tsi &&
	    tsi->backend == CURLSSLBACKEND_OPENSSL)
		ssl = tsi->internals;
	if (!ssl)
		return no_tls(v, h, a);
	const cpc_conn *c = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), conn_idx);
	if (!c)
		cpc_verdict_none(v, CERTPIN_E_STATE, "the connection was made without certpin's SSL_CTX callback (by a "
			"handle not attached, or CURLOPT_SSL_CTX_FUNCTION was set after certpin_curl_attach()): not used");
	else if (!cpc_tuple_equal(&c->v.tuple, t))
		cpc_verdict_none(v, CERTPIN_E_STATE, "the TLS connection found is not this transfer's (a handle copied "
			"with curl_easy_duphandle() must be attached itself): not used");
	else if (!cpc_attachment_same(&c->att, a))
		cpc_verdict_none(v, CERTPIN_E_STATE, "the connection was checked under another policy, TOFU store or "
			"flags than the handle has now: not used (attach the same policy to the handles that share "
			"connections, or set CURLOPT_FRESH_CONNECT)");
	else if (!c->checked)
		cpc_verdict_none(v, CERTPIN_E_STATE, "the connection had no certpin check (a resumed TLS session? "
			"certpin_curl_attach() turns CURLOPT_SSL_SESSIONID_CACHE off): not used");
	else
		*v = c->v;
	return c && c->checked && v->code == CERTPIN_OK && v->result.allowed;
}

int cpc_prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	cpc_handle *h = clientp;
	cpc_verdict *v = malloc(sizeof(*v));
	cpc_attachment a;
	cpc_tuple t;

	if (!h || !v || cpc_conn_index() < 0) {
		free(v);
		return CURL_PREREQFUNC_ABORT;
	}
	cpc_tuple_set(&t, primary_ip, local_ip, primary_port, local_port);
	cpc_attachment_take(&a, h);
	bool ok = transfer_verdict(v, h, &a, &t);
	v->tuple = t;
	cpc_handle_set_last(h, v);
	cpc_attachment_drop(&a);
	free(v);
	return ok ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}
