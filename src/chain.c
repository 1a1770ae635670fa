/*
 * The chain an adapter hands to the engine: n elements, each digest
 * computed the first time the engine asks for it, from the DER the adapter
 * gives.  One SPKI digest path for every TLS stack: SHA-256 over the DER of
 * the SubjectPublicKeyInfo as the stack encodes it (or as it stands inside
 * the certificate's DER).
 */
#include "internal.h"

#include <openssl/evp.h>
#include <string.h>

void certpin__chain_init(certpin__chain *c, const certpin__chain_source *src, size_t n)
{
	c->n = n <= CERTPIN__CHAIN_MAX ? n : 0;
	c->src = src;
	c->given = NULL;
	c->md = NULL;
	c->failed = n > CERTPIN__CHAIN_MAX;
	for (size_t i = 0; i < c->n; i++)
		c->own[i].flags = 0;
}

void certpin__chain_init_given(certpin__chain *c, const certpin_chain_elem *elems, size_t n)
{
	c->n = elems ? n : 0;
	c->src = NULL;
	c->given = elems;
	c->md = NULL;
	c->failed = false;
}

void certpin__chain_done(certpin__chain *c)
{
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

/* Compute element i's digest of `kind` into c->own[i]; false if it cannot be. */
static bool compute(certpin__chain *c, size_t i, certpin_pin_kind kind)
{
	certpin_chain_elem *e = &c->own[i];
	const unsigned char *der = NULL, *spki = NULL;
	size_t len = 0, spki_len = 0;

	if (kind == CERTPIN_PIN_CERT_SHA256) {
		if (c->src->der(c->src->ctx, i, false, &der, &len) != 0 ||
		    certpin__sha256_reuse(&c->md, e->cert_sha256, der, len) != CERTPIN_OK)
			return false;
		e->flags |= CERTPIN_HAVE_CERT;
		return true;
	}
	int rc = c->src->der(c->src->ctx, i, true, &spki, &spki_len);
	if (rc == 1 && (c->src->der(c->src->ctx, i, false, &der, &len) != 0 ||
			certpin__der_cert_spki(&spki, &spki_len, der, len) != CERTPIN_OK))
		return false;
	if (rc < 0)
		return false;
	if (certpin__sha256_reuse(&c->md, e->spki_sha256, spki, spki_len) != CERTPIN_OK)
		return false;
	e->flags |= CERTPIN_HAVE_SPKI;
	return true;
}

const unsigned char *certpin__chain_digest(certpin__chain *c, size_t i, certpin_pin_kind kind)
{
	unsigned int flag = kind == CERTPIN_PIN_SPKI_SHA256 ? CERTPIN_HAVE_SPKI :
			    kind == CERTPIN_PIN_CERT_SHA256 ? CERTPIN_HAVE_CERT : 0;

	if (i >= c->n || !flag)
		return NULL;
	const certpin_chain_elem *e = c->given ? &c->given[i] : &c->own[i];
	if (!(e->flags & flag)) {
		if (!c->src)
			return NULL; /* not given: a pin of this kind cannot match this element */
		if (c->failed || !compute(c, i, kind)) {
			c->failed = true;
			return NULL;
		}
	}
	return flag == CERTPIN_HAVE_SPKI ? e->spki_sha256 : e->cert_sha256;
}

const certpin_chain_elem *certpin__chain_all(certpin__chain *c)
{
	if (c->given)
		return c->given;
	for (size_t i = 0; i < c->n; i++)
		if (!certpin__chain_digest(c, i, CERTPIN_PIN_SPKI_SHA256) ||
		    !certpin__chain_digest(c, i, CERTPIN_PIN_CERT_SHA256))
			return NULL;
	return c->own;
}
