/*
 * Trusted bundle-signing keys (certpin/bundle.h, "Trusted signing keys"):
 * Ed25519 SPKIs from DER, PEM or a file, named by the SHA-256 of their SPKI.
 */
#include "bundle_internal.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int certpin__looks_like_pem(const void *data, size_t len)
{
	static const char mark[] = "-----BEGIN ";
	const char *p = data;

	for (size_t i = 0; i + sizeof(mark) - 1 <= len; i++)
		if (p[i] == '-' && memcmp(p + i, mark, sizeof(mark) - 1) == 0)
			return 1;
	return 0;
}

int certpin_trust_anchors_new(certpin_trust_anchors **out)
{
	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = calloc(1, sizeof(**out));
	return *out ? CERTPIN_OK : CERTPIN_E_NOMEM;
}

void certpin_trust_anchors_free(certpin_trust_anchors *anchors)
{
	if (!anchors)
		return;
	for (size_t i = 0; i < anchors->n; i++)
		EVP_PKEY_free(anchors->a[i].key);
	free(anchors);
}

size_t certpin_trust_anchors_count(const certpin_trust_anchors *anchors)
{
	return anchors ? anchors->n : 0;
}

int certpin__bundle_key_id(unsigned char id[CERTPIN_DIGEST_LEN], EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);

	if (len <= 0)
		return CERTPIN_E_DECODE;
	int rc = certpin__sha256(id, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* Decode one Ed25519 SPKI into an anchor (not yet added). */
static int anchor_from_der(certpin__anchor *out, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k;
	int rc;

	if (len == 0 || len > CERTPIN__KEY_FILE_MAX)
		return CERTPIN_E_DECODE;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_clear_error();
	if (!k)
		return CERTPIN_E_DECODE;
	if (p != der + len) {
		EVP_PKEY_free(k);
		return CERTPIN_E_DECODE;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return CERTPIN_E_UNSUPPORTED;
	}
	if ((rc = certpin__bundle_key_id(out->id, k)) != CERTPIN_OK) {
		EVP_PKEY_free(k);
		return rc;
	}
	out->key = k;
	return CERTPIN_OK;
}

const certpin__anchor *certpin__anchor_find(const certpin_trust_anchors *anchors,
	const unsigned char id[CERTPIN_DIGEST_LEN])
{
	for (size_t i = 0; i < anchors->n; i++)
		if (memcmp(anchors->a[i].id, id, CERTPIN_DIGEST_LEN) == 0)
			return &anchors->a[i];
	return NULL;
}

/* Add `n` decoded anchors, all or none; takes ownership of their keys. */
static int add_anchors(certpin_trust_anchors *anchors, certpin__anchor *add, size_t n)
{
	int rc = CERTPIN_OK;

	if (anchors->n + n > CERTPIN_BUNDLE_MAX_ANCHORS)
		rc = CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < n && rc == CERTPIN_OK; i++) {
		if (certpin__anchor_find(anchors, add[i].id))
			rc = CERTPIN_E_DUPLICATE;
		for (size_t j = 0; j < i; j++)
			if (memcmp(add[i].id, add[j].id, CERTPIN_DIGEST_LEN) == 0)
				rc = CERTPIN_E_DUPLICATE;
	}
	if (rc != CERTPIN_OK) {
		for (size_t i = 0; i < n; i++)
			EVP_PKEY_free(add[i].key);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		anchors->a[anchors->n++] = add[i];
	return CERTPIN_OK;
}

/* The detail of a failure to add keys from `what` (a file name, or "input"). */
static int anchor_fail(certpin_error *err, int rc, const char *what)
{
	switch (rc) {
	case CERTPIN_E_DECODE:
		return certpin__fail(err, rc, NULL, 0, "%s: not PEM \"PUBLIC KEY\" blocks or one DER SubjectPublicKeyInfo",
			what);
	case CERTPIN_E_UNSUPPORTED:
		return certpin__fail(err, rc, NULL, 0, "%s: not an Ed25519 public key", what);
	case CERTPIN_E_DUPLICATE:
		return certpin__fail(err, rc, NULL, 0, "%s: a key is already trusted or given twice", what);
	case CERTPIN_E_INVALID_ARG:
		return certpin__fail(err, rc, NULL, 0, "%s: more than %d trust anchors", what,
			CERTPIN_BUNDLE_MAX_ANCHORS);
	default:
		return certpin__fail(err, rc, NULL, 0, "%s: %s", what, certpin_strerror(rc));
	}
}

static int add_der(certpin_trust_anchors *anchors, const void *der, size_t len)
{
	certpin__anchor a;
	int rc;

	if ((rc = anchor_from_der(&a, der, len)) != CERTPIN_OK)
		return rc;
	return add_anchors(anchors, &a, 1);
}

int certpin_trust_anchors_add_pubkey_der(certpin_trust_anchors *anchors, const void *der, size_t len,
	certpin_error *err)
{
	int rc;

	certpin_error_clear(err);
	if (!anchors || !der)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no trust anchors or key");
	if ((rc = add_der(anchors, der, len)) != CERTPIN_OK)
		return anchor_fail(err, rc, "input");
	return CERTPIN_OK;
}

/* Every "PUBLIC KEY" block of `pem`, all or none. */
static int add_pem(certpin_trust_anchors *anchors, const void *pem, size_t len)
{
	certpin__anchor found[CERTPIN_BUNDLE_MAX_ANCHORS];
	size_t n = 0;
	BIO *bio = NULL;
	int rc = CERTPIN_OK;

	if (len == 0 || len > CERTPIN__KEY_FILE_MAX)
		return CERTPIN_E_DECODE;
	if (!(bio = BIO_new_mem_buf(pem, (int)len)))
		return CERTPIN_E_NOMEM;
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;

		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			unsigned long e = ERR_peek_last_error();
			/* "no start line" after at least one block is the normal end */
			if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) || n == 0)
				rc = CERTPIN_E_DECODE;
			ERR_clear_error();
			break;
		}
		if (strcmp(name, "PUBLIC KEY") != 0 || (header && header[0]) || dlen <= 0)
			rc = CERTPIN_E_DECODE;
		else if (n == CERTPIN_BUNDLE_MAX_ANCHORS)
			rc = CERTPIN_E_INVALID_ARG;
		else if ((rc = anchor_from_der(&found[n], data, (size_t)dlen)) == CERTPIN_OK)
			n++;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (rc != CERTPIN_OK)
			break;
	}
	BIO_free(bio);
	if (rc != CERTPIN_OK) {
		for (size_t i = 0; i < n; i++)
			EVP_PKEY_free(found[i].key);
		return rc;
	}
	return add_anchors(anchors, found, n);
}

int certpin_trust_anchors_add_pubkey_pem(certpin_trust_anchors *anchors, const void *pem, size_t len,
	certpin_error *err)
{
	int rc;

	certpin_error_clear(err);
	if (!anchors || !pem)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no trust anchors or key");
	if ((rc = add_pem(anchors, pem, len)) != CERTPIN_OK)
		return anchor_fail(err, rc, "input");
	return CERTPIN_OK;
}

int certpin_trust_anchors_add_file(certpin_trust_anchors *anchors, const char *path, certpin_error *err)
{
	char *buf = NULL;
	char why[256] = "";
	size_t len = 0;
	int rc;

	certpin_error_clear(err);
	if (!anchors || !path)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no trust anchors or file");
	rc = certpin__store_read(&buf, &len, path, CERTPIN__KEY_FILE_MAX, why, sizeof(why));
	if (rc == CERTPIN_E_NOT_FOUND)
		return certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s: no such file", path);
	if (rc == CERTPIN_E_IO)
		return certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s", why[0] ? why : path);
	if (rc == CERTPIN_E_STORE)      /* not a regular file, or too large */
		return certpin__fail(err, CERTPIN_E_DECODE, NULL, 0, "%s", why[0] ? why : path);
	if (rc == CERTPIN_OK)
		rc = certpin__looks_like_pem(buf, len) ? add_pem(anchors, buf, len) : add_der(anchors, buf, len);
	free(buf);
	return rc == CERTPIN_OK ? rc : anchor_fail(err, rc, path);
}
