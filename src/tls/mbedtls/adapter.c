/*
 * The mbedTLS 2.28 adapter (certpin/mbedtls.h), on the engine's interface
 * for adapters (certpin/adapter.h) and mbedTLS's public API only.
 *
 * Why the chain handed over is the one mbedTLS verified.  During a
 * handshake mbedTLS verifies the peer's certificate list with
 * mbedtls_x509_crt_verify_restartable(), against the trust anchors of the
 * configuration and the name of mbedtls_ssl_set_hostname().  That first
 * builds the chain (x509_crt_verify_chain(): from the leaf, each parent
 * found among the peer's certificates or the trust anchors by its name and
 * a signature that verifies, until a trust anchor is reached or no parent
 * is found), sets each element's flags (dates, algorithms, key sizes,
 * CRLs; the host name and the leaf's key on the leaf; NOT_TRUSTED where
 * the chain found no trusted parent), and only then calls the verify
 * callback once per element of that built chain, from its top (the trust
 * anchor, or the topmost certificate found) down to the leaf at depth 0,
 * each with its own flags (x509_crt_merge_flags_with_cb()); nothing else
 * calls it.  The callback here keeps the elements as they come and decides
 * at depth 0, within the same call of mbedTLS, while they are all alive:
 * the certificates handed to the engine are exactly those mbedTLS chained
 * and checked -- a certificate the peer sent that is not in the path is
 * never among them, and the trust anchor is the one mbedTLS used.  The
 * chain counts as verified only if no element carries a flag; pin-only
 * trust hands over the depth-0 certificate alone, the peer's first, whose
 * key the handshake proves.  Calls out of that order (depths not one below
 * the other) make the chain unreadable, which refuses a checked host.
 *
 * Which names: the one certpin_mbedtls_setup() gave mbedtls_ssl_set_hostname()
 * (mbedTLS 2.28 has no getter).  How mbedTLS refuses: the refusal sets
 * MBEDTLS_X509_BADCERT_OTHER in the flags, which fails a verification in
 * MBEDTLS_SSL_VERIFY_REQUIRED mode (mbedtls_ssl_handshake() returns
 * MBEDTLS_ERR_X509_CERT_VERIFY_FAILED); pin-only trust runs in OPTIONAL
 * mode, where the callback also returns an error.
 *
 * Certificate bytes: `raw`, "the raw certificate data (DER)", a documented
 * public member of mbedtls_x509_crt in 2.28, which has no accessor.  The
 * SubjectPublicKeyInfo is left to the engine to find in it (mbedTLS keeps
 * no documented copy of its bytes).
 */
#include "mbedtls_internal.h"

#include <mbedtls/x509.h>
#include <stdlib.h>
#include <string.h>

/* ---- the refusal ------------------------------------------------------------------ */

/* mbedTLS's part of a decision: 0 to go on, an error to stop a handshake that OPTIONAL mode would continue. */
static int refuse_if(certpin_decision d, bool pin_only, uint32_t *flags)
{
	if (d != CERTPIN_DECIDE_REFUSE)
		return 0;
	*flags |= MBEDTLS_X509_BADCERT_OTHER;
	return pin_only ? MBEDTLS_ERR_X509_CERT_VERIFY_FAILED : 0;
}

/*
 * The configuration's verify callback, which mbedTLS calls only for a
 * context with none of its own, i.e. one certpin_mbedtls_setup() did not
 * set up: no name is known, so whatever checks anything refuses.
 */
static int conf_guard(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	const certpin_mbedtls *pins = p;
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	certpin_outcome out;

	(void)crt;
	if (depth != 0)
		return 0;
	hs.pkix = pins->pin_only || *flags == 0 ? CERTPIN_PKIX_OK : CERTPIN_PKIX_FAILED;
	hs.pkix_error = (long)*flags;
	(void)certpin_binding_check(&out, pins->b, &hs);
	return refuse_if(out.decision, pins->pin_only, flags);
}

/* ---- the check of one verification ----------------------------------------------------- */

/* Element i of the walk as the engine reads it: the certificate's DER; its SPKI is found in it. */
static int walk_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	const certpin_mbedtls_conn *c = ctx;
	const mbedtls_x509_crt *x;

	if (spki)
		return 1;
	if (c->broken || i >= c->len || i >= CERTPIN_CHAIN_MAX || !(x = c->walk[i]))
		return -1;
	/* raw: a documented public member of mbedtls_x509_crt in 2.28 (no accessor exists) */
	if (!x->raw.p || x->raw.len == 0)
		return -1;
	*der = x->raw.p;
	*len = x->raw.len;
	return 0;
}

/* At depth 0: the engine's decision on the walk, kept as the connection's result. */
static int walk_decide(certpin_mbedtls_conn *c, uint32_t *flags)
{
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;

	if (c->named) {
		hs.names[0] = c->host;
		hs.nnames = 1;
	}
	hs.n = c->pin_only && c->len > 0 ? 1 : c->len;
	hs.der = walk_der;
	hs.ctx = c;
	/* pin-only trust verifies nothing: mbedTLS's findings are no verdict there */
	hs.pkix = c->pin_only || c->pkix == 0 ? CERTPIN_PKIX_OK : CERTPIN_PKIX_FAILED;
	hs.pkix_error = (long)c->pkix;
	int rc = certpin_binding_check(&c->out, c->b, &hs);
	/* refused before any source could check: the engine's code is the result */
	bool none = c->out.rc == CERTPIN_E_STATE && c->out.tofu_rc == CERTPIN_E_STATE;
	c->rc = none && rc != CERTPIN_OK ? rc : c->out.rc;
	c->checked = true;
	c->tag = c->out.tag;
	memset(c->walk, 0, sizeof(c->walk)); /* the certificates are mbedTLS's again */
	return refuse_if(c->out.decision, c->pin_only, flags);
}

int certpin__mbedtls_verify(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	certpin_mbedtls_conn *c = p;

	if (depth < 0 || depth != c->next) { /* a verification starts; or the order broke */
		c->broken = c->next >= 0 || depth < 0;
		c->len = depth >= 0 ? (size_t)depth + 1 : 0;
		c->pkix = 0;
	}
	if (depth >= 0 && depth < CERTPIN_CHAIN_MAX)
		c->walk[depth] = crt;
	c->pkix |= *flags;
	if (depth > 0) {
		c->next = depth - 1;
		return 0;
	}
	c->next = -1;
	return walk_decide(c, flags);
}

/* ---- attaching and setting up ------------------------------------------------------------ */

int certpin_mbedtls_conf_attach(certpin_mbedtls **pins, mbedtls_ssl_config *conf, certpin_policy *policy,
	certpin_tofu *store, const certpin_ssl_options *opts)
{
	bool pin_only = opts && (opts->flags & CERTPIN_SSL_INSECURE_PIN_ONLY);
	certpin_mbedtls *p;

	if (!pins || !conf || (!policy && !store) || (opts && opts->version != CERTPIN_SSL_OPTIONS_VERSION))
		return CERTPIN_E_INVALID_ARG;
	if (pin_only && store) /* TOFU would then vouch for chains nothing verified */
		return CERTPIN_E_INVALID_ARG;
	if (*pins) {
		if ((*pins)->conf != conf || (*pins)->pin_only != pin_only)
			return CERTPIN_E_INVALID_ARG;
		return certpin_binding_set((*pins)->b, policy, store, opts);
	}
	if (!(p = calloc(1, sizeof(*p))))
		return CERTPIN_E_NOMEM;
	int rc = certpin_binding_new(&p->b, policy, store, opts);
	if (rc != CERTPIN_OK) {
		free(p);
		return rc;
	}
	p->pin_only = pin_only;
	p->conf = conf;
	mbedtls_ssl_conf_authmode(conf, pin_only ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_verify(conf, conf_guard, p);
	*pins = p;
	return CERTPIN_OK;
}

void certpin_mbedtls_free(certpin_mbedtls *pins)
{
	if (!pins)
		return;
	certpin_binding_free(pins->b);
	free(pins);
}

int certpin_mbedtls_setup(certpin_mbedtls_conn **out, certpin_mbedtls *pins, mbedtls_ssl_context *ssl,
	const char *hostname)
{
	certpin_mbedtls_conn *c;
	int ret;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!pins || !ssl)
		return CERTPIN_E_INVALID_ARG;
	/* from here on a failure leaves the context to the configuration's guard */
	mbedtls_ssl_set_verify(ssl, NULL, NULL);
	if (hostname && strlen(hostname) >= sizeof(c->host))
		return CERTPIN_E_HOSTNAME;
	if (!(c = calloc(1, sizeof(*c))))
		return CERTPIN_E_NOMEM;
	c->b = certpin_binding_ref(pins->b);
	c->pin_only = pins->pin_only;
	c->ssl = ssl;
	c->next = -1;
	c->rc = CERTPIN_E_STATE;
	if (hostname) {
		memcpy(c->host, hostname, strlen(hostname) + 1);
		c->named = true;
	}
	if ((ret = mbedtls_ssl_set_hostname(ssl, hostname)) != 0) {
		certpin_mbedtls_conn_free(c);
		return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? CERTPIN_E_NOMEM : CERTPIN_E_HOSTNAME;
	}
	mbedtls_ssl_set_verify(ssl, certpin__mbedtls_verify, c);
	*out = c;
	return CERTPIN_OK;
}

void certpin_mbedtls_conn_free(certpin_mbedtls_conn *conn)
{
	if (!conn)
		return;
	certpin_binding_free(conn->b);
	free(conn);
}
