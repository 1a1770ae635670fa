/*
 * The chain an adapter hands to the engine: n elements, each digest
 * computed the first time the engine asks for it, from the DER the adapter
 * gives.  One SPKI digest path for every TLS stack: SHA-256 over the DER of
 * the SubjectPublicKeyInfo as the stack encodes it (or as it stands inside
 * the certificate's DER).
 */
#include "internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

/*
 * The digest cache's view of an OpenSSL X509: the same certificate if
 * X509_cmp() says so (it compares the certificates' SHA-1 and their whole
 * TBS encodings) and their signatures are the same too (so the whole DER
 * is), kept with X509_up_ref(), hashed by the last bytes of its signature.
 */
static bool x509_same(const void *a, const void *b)
{
	const ASN1_BIT_STRING *sa, *sb;
	const X509_ALGOR *aa, *ab;

	if (X509_cmp(a, b) != 0)
		return false;
	X509_get0_signature(&sa, &aa, a);
	X509_get0_signature(&sb, &ab, b);
	return ASN1_STRING_cmp(sa, sb) == 0 && X509_ALGOR_cmp(aa, ab) == 0;
}

static void *x509_ref(void *x)
{
	return X509_up_ref(x) == 1 ? x : NULL;
}

static void x509_unref(void *x)
{
	X509_free(x);
}

static uint32_t x509_hash(const void *x)
{
	const ASN1_BIT_STRING *sig = NULL;
	uint32_t h = 2166136261u;

	X509_get0_signature(&sig, NULL, x);
	const unsigned char *d = sig ? ASN1_STRING_get0_data(sig) : NULL;
	int n = sig ? ASN1_STRING_length(sig) : 0;
	for (int k = n > 16 ? n - 16 : 0; d && k < n; k++)
		h = (h ^ d[k]) * 16777619u;
	return h;
}

const certpin__cert_ops certpin__x509_ops = { x509_same, x509_ref, x509_unref, x509_hash };

certpin__digest_cache *certpin__digest_cache_new(const certpin__cert_ops *ops)
{
	certpin__digest_cache *c = calloc(1, sizeof(*c));

	if (c && pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		c = NULL;
	}
	if (c)
		c->ops = ops;
	return c;
}

void certpin__digest_cache_free(certpin__digest_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CERTPIN__CACHE_SETS; i++)
		for (size_t w = 0; w < CERTPIN__CACHE_WAYS; w++)
			if (c->set[i].way[w].cert)
				c->ops->unref(c->set[i].way[w].cert);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The entry of `cert` in its set (caller holds c->mu), or NULL. */
static struct certpin__cached *entry_of(certpin__digest_cache *c, struct certpin__cache_set *set, const void *cert)
{
	for (size_t w = 0; w < CERTPIN__CACHE_WAYS; w++)
		if (set->way[w].cert && c->ops->same(set->way[w].cert, cert))
			return &set->way[w];
	return NULL;
}

bool certpin__digest_cache_get(certpin__digest_cache *c, void *cert, certpin_chain_elem *e)
{
	struct certpin__cache_set *set = &c->set[c->ops->hash(cert) % CERTPIN__CACHE_SETS];

	pthread_mutex_lock(&c->mu);
	struct certpin__cached *hit = entry_of(c, set, cert);
	if (hit)
		*e = hit->digests;
	pthread_mutex_unlock(&c->mu);
	return hit != NULL;
}

void certpin__digest_cache_put(certpin__digest_cache *c, void *cert, const certpin_chain_elem *e)
{
	struct certpin__cache_set *set = &c->set[c->ops->hash(cert) % CERTPIN__CACHE_SETS];
	void *old = NULL;

	pthread_mutex_lock(&c->mu);
	struct certpin__cached *s = entry_of(c, set, cert);
	if (!s) {
		void *kept = c->ops->ref(cert);
		if (!kept) {
			pthread_mutex_unlock(&c->mu);
			return;
		}
		s = &set->way[set->next];
		set->next = (set->next + 1) % CERTPIN__CACHE_WAYS;
		old = s->cert;
		s->cert = kept;
		s->digests.flags = 0;
	}
	if (e->flags & CERTPIN_HAVE_SPKI)
		memcpy(s->digests.spki_sha256, e->spki_sha256, CERTPIN_DIGEST_LEN);
	if (e->flags & CERTPIN_HAVE_CERT)
		memcpy(s->digests.cert_sha256, e->cert_sha256, CERTPIN_DIGEST_LEN);
	s->digests.flags |= e->flags;
	pthread_mutex_unlock(&c->mu);
	if (old)
		c->ops->unref(old);
}

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

/* Element i's digests from the source's cache, merged into c->own[i]; false if `flag`'s is not among them. */
static bool from_cache(certpin__chain *c, size_t i, unsigned int flag, void *cert)
{
	certpin_chain_elem e;

	if (!cert || !certpin__digest_cache_get(c->src->cache, cert, &e) || !(e.flags & flag))
		return false;
	if (e.flags & CERTPIN_HAVE_SPKI)
		memcpy(c->own[i].spki_sha256, e.spki_sha256, CERTPIN_DIGEST_LEN);
	if (e.flags & CERTPIN_HAVE_CERT)
		memcpy(c->own[i].cert_sha256, e.cert_sha256, CERTPIN_DIGEST_LEN);
	c->own[i].flags |= e.flags;
	return true;
}

/* The digest of `kind` of element i, from the cache or computed (and then remembered); false if it cannot be. */
static bool fill(certpin__chain *c, size_t i, certpin_pin_kind kind, unsigned int flag)
{
	void *cert = c->src->cert && c->src->cache ? c->src->cert(c->src->ctx, i) : NULL;

	if (from_cache(c, i, flag, cert))
		return true;
	if (!compute(c, i, kind))
		return false;
	/* asked again: what the source gave before computing may not outlive its next read */
	if (cert && (cert = c->src->cert(c->src->ctx, i)) != NULL)
		certpin__digest_cache_put(c->src->cache, cert, &c->own[i]);
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
		if (c->failed || !fill(c, i, kind, flag)) {
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
