/*
 * libcertpin-curl: the attach call and the results.  handle.c keeps the
 * per-handle state, conn.c has libcurl's callbacks and the per-connection
 * verdicts, explain.c the messages.
 */
#include "curl_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An attachment of `policy` and opts->tofu with references of its own. */
static int attachment_make(cpc_attachment *a, certpin_policy *policy, const certpin_curl_options *opts,
	certpin_error *err)
{
	memset(a, 0, sizeof(*a));
	a->opts = (certpin_curl_options)CERTPIN_CURL_OPTIONS_INIT;
	if (opts)
		a->opts = *opts;
	/* the store has no public reference call but the attaches: a binding holding it keeps it alive */
	if (a->opts.tofu && certpin_binding_new(&a->tofu_hold, NULL, a->opts.tofu, NULL) != CERTPIN_OK)
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "certpin_curl_attach: out of memory");
	if (policy)
		certpin_policy_freeze(policy);
	a->policy = certpin_policy_ref(policy);
	return CERTPIN_OK;
}

/* ---- the TLS backend ------------------------------------------------------------------ */

/*
 * libcurl must be 7.80 or later (CURLOPT_PREREQFUNCTION) and its TLS
 * backend the OpenSSL whose SSL_CTX certpin takes.  CURLINFO_TLS_SSL_PTR
 * names the backend in use without a connection (lib/getinfo.c:
 * Curl_ssl_backend()); curl_global_sslset() is not asked, since in a
 * MultiSSL build it would choose a backend for the whole process.
 * LibreSSL and BoringSSL share OpenSSL's backend id, hence the version
 * string: "OpenSSL/3.x" with the major version certpin runs with.
 */
static int check_backend(CURL *easy, certpin_error *err)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	struct curl_tlssessioninfo *tsi = NULL;
	const char *ssl = vi && vi->ssl_version ? vi->ssl_version : "no TLS";
	unsigned long major = 0;

	if (!vi || vi->version_num < 0x075000)
		return certpin_error_set(err, CERTPIN_E_UNSUPPORTED, NULL, 0, "libcurl %s: the certpin helper needs "
			"libcurl 7.80 or later (CURLOPT_PREREQFUNCTION)", vi ? vi->version : "?");
	if (curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &tsi) != CURLE_OK || !tsi ||
	    tsi->backend != CURLSSLBACKEND_OPENSSL)
		return certpin_error_set(err, CERTPIN_E_UNSUPPORTED, NULL, 0, "libcurl %s uses the TLS backend %s "
			"(id %d), not OpenSSL: the certpin helper cannot pin its connections", vi->version, ssl,
			tsi ? (int)tsi->backend : -1);
	const char *o = strstr(ssl, "OpenSSL/");
	if (o)
		major = strtoul(o + 8, NULL, 10);
	if (!o || major != OpenSSL_version_num() >> 28)
		return certpin_error_set(err, CERTPIN_E_UNSUPPORTED, NULL, 0, "libcurl %s uses %s; certpin runs "
			"with %s: their SSL_CTX types differ", vi->version, ssl, OpenSSL_version(OPENSSL_VERSION));
	return CERTPIN_OK;
}

/* ---- attaching ---------------------------------------------------------------------- */

static int check_args(CURL *easy, certpin_policy *policy, const certpin_curl_options *opts, certpin_error *err)
{
	if (!easy)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "certpin_curl_attach: no easy handle");
	if (opts && opts->version != CERTPIN_CURL_OPTIONS_VERSION)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "certpin_curl_attach: options version "
			"%u, this library knows %u", opts->version, (unsigned)CERTPIN_CURL_OPTIONS_VERSION);
	if (opts && (opts->flags & ~CERTPIN_CURL_INSECURE_PIN_ONLY))
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "certpin_curl_attach: unknown flags "
			"0x%x", opts->flags & ~CERTPIN_CURL_INSECURE_PIN_ONLY);
	if (!policy && !(opts && opts->tofu))
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "certpin_curl_attach: no policy and "
			"no TOFU store: nothing to check");
	if (opts && opts->tofu && (opts->flags & CERTPIN_CURL_INSECURE_PIN_ONLY))
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "certpin_curl_attach: pin-only trust "
			"verifies nothing a TOFU store could vouch for: not with a store");
	return CERTPIN_OK;
}

/* Point easy's options at h; on failure put back NULL where it got. */
static int set_options(CURL *easy, cpc_handle *h, certpin_error *err)
{
	CURLcode c = curl_easy_setopt(easy, CURLOPT_PREREQDATA, (void *)h);
	if (c == CURLE_OK)
		c = curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, cpc_prereq_cb);
	if (c == CURLE_OK)
		c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, (void *)h);
	if (c == CURLE_OK)
		c = curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, cpc_ssl_ctx_cb);
	if (c == CURLE_OK)
		c = curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (c == CURLE_OK)
		return CERTPIN_OK;
	(void)curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PREREQDATA, NULL);
	return certpin_error_set(err, c == CURLE_OUT_OF_MEMORY ? CERTPIN_E_NOMEM : CERTPIN_E_UNSUPPORTED, NULL, 0,
		"certpin_curl_attach: libcurl refused an option: %s", curl_easy_strerror(c));
}

static cpc_handle *handle_new(CURL *easy)
{
	cpc_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return NULL;
	}
	atomic_init(&h->refs, 1);
	h->easy = easy;
	cpc_verdict_none(&h->last, CERTPIN_E_STATE, "no transfer yet");
	h->last.valid = false;
	return h;
}

int certpin_curl_attach(CURL *easy, certpin_policy *policy, const certpin_curl_options *opts, certpin_error *err)
{
	cpc_attachment a;
	int rc;

	certpin_error_clear(err);
	if ((rc = check_args(easy, policy, opts, err)) != CERTPIN_OK || (rc = check_backend(easy, err)) != CERTPIN_OK)
		return rc;
	if (cpc_conn_index() < 0 || !cpc_empty_policy())
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "certpin_curl_attach: out of memory");
	if ((rc = attachment_make(&a, policy, opts, err)) != CERTPIN_OK)
		return rc;
	cpc_handle *h = cpc_handle_find(easy);
	bool fresh = !h;
	if (fresh && !(h = handle_new(easy))) {
		cpc_attachment_drop(&a);
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "certpin_curl_attach: out of memory");
	}
	if ((rc = set_options(easy, h, err)) != CERTPIN_OK) {
		cpc_attachment_drop(&a);
		cpc_handle_unref(h); /* a fresh one is freed; a registered one keeps its attachment */
		return rc;
	}
	pthread_mutex_lock(&h->mu);
	cpc_attachment old = h->att;
	h->att = a;
	pthread_mutex_unlock(&h->mu);
	cpc_attachment_drop(&old);
	if (fresh)
		cpc_registry_add(h); /* the registry takes the reference */
	else
		cpc_handle_unref(h);
	return CERTPIN_OK;
}

void certpin_curl_detach(CURL *easy)
{
	cpc_handle *h = easy ? cpc_handle_find(easy) : NULL;

	if (!h)
		return;
	(void)curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PREREQDATA, NULL);
	if (cpc_registry_remove(h))
		cpc_handle_unref(h); /* the registry's */
	cpc_handle_unref(h);
}

/* ---- results ------------------------------------------------------------------------ */

/* The verdict of easy's last transfer into *v (code CERTPIN_E_INVALID_ARG if easy is not attached). */
static void last_verdict(cpc_verdict *v, CURL *easy)
{
	cpc_handle *h = easy ? cpc_handle_find(easy) : NULL;
	cpc_tuple now;

	if (!h) {
		cpc_verdict_none(v, CERTPIN_E_INVALID_ARG, "the easy handle is not attached (certpin_curl_attach)");
		v->tofu_code = CERTPIN_E_INVALID_ARG;
		return;
	}
	pthread_mutex_lock(&h->mu);
	*v = h->last;
	pthread_mutex_unlock(&h->mu);
	cpc_handle_unref(h);
	cpc_tuple_of(&now, easy);
	/* libcurl clears the addresses when a transfer starts: another connection's verdict is not this one's */
	if (!v->valid || !cpc_tuple_equal(&v->tuple, &now))
		cpc_verdict_none(v, CERTPIN_E_STATE, "no certpin check for the last transfer: it made no TLS "
			"connection, or failed before the server's certificate");
}

int certpin_curl_result(CURL *easy, certpin_result *out, certpin_error *err)
{
	cpc_verdict *v = malloc(sizeof(*v));

	certpin_error_clear(err);
	if (!v) {
		if (out)
			memset(out, 0, sizeof(*out));
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "certpin_curl_result: out of memory");
	}
	last_verdict(v, easy);
	int rc = v->code;
	if (out)
		*out = v->result;
	if (v->why[0])
		(void)certpin_error_set(err, rc, NULL, 0, "%s", v->why);
	else if (err)
		err->code = rc;
	free(v);
	return rc;
}

int certpin_curl_tofu_result(CURL *easy, certpin_tofu_result *out)
{
	cpc_verdict *v = malloc(sizeof(*v));

	if (!v)
		return CERTPIN_E_NOMEM;
	last_verdict(v, easy);
	int rc = v->tofu_code;
	if (out)
		*out = v->tofu;
	free(v);
	return rc;
}
