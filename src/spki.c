/*
 * Decoding certificates, keys and CSRs with OpenSSL, and computing their pins.
 * SPKI pins hash the DER SubjectPublicKeyInfo (algorithm + key bits) -- not
 * just the key bits, which is what X509_pubkey_digest() would give.
 */
#include "internal.h"

#include <limits.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define ITEMS_MAX_BYTES (64u << 20)

/*
 * SHA-256 fetched from the default provider once: passing EVP_sha256() makes
 * every EVP_Digest() look the implementation up again (about 0.2 us).
 */
static CRYPTO_ONCE sha256_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *sha256_fetched;

static void sha256_fetch(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static const EVP_MD *sha256_md(void)
{
	return CRYPTO_THREAD_run_once(&sha256_once, sha256_fetch) && sha256_fetched ? sha256_fetched : EVP_sha256();
}

int certpin__sha256(unsigned char out[CERTPIN_DIGEST_LEN], const unsigned char *in, size_t len)
{
	EVP_MD_CTX *ctx = NULL;
	int rc = certpin__sha256_reuse(&ctx, out, in, len);

	EVP_MD_CTX_free(ctx);
	return rc;
}

int certpin__sha256_reuse(EVP_MD_CTX **ctx, unsigned char out[CERTPIN_DIGEST_LEN], const unsigned char *in,
	size_t len)
{
	unsigned int n = CERTPIN_DIGEST_LEN;

	/*
	 * Hashing in-memory input fails only when memory runs out; then say so,
	 * never hand back a digest that a crafted pin could equal.
	 */
	if ((!*ctx && !(*ctx = EVP_MD_CTX_new())) || EVP_DigestInit_ex2(*ctx, sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(*ctx, in, len) != 1 || EVP_DigestFinal_ex(*ctx, out, &n) != 1 ||
	    n != CERTPIN_DIGEST_LEN) {
		memset(out, 0, CERTPIN_DIGEST_LEN);
		return CERTPIN_E_NOMEM;
	}
	return CERTPIN_OK;
}

int certpin_pin_from_spki_der(certpin_pin *out, const unsigned char *der, size_t len)
{
	if (!out || !der)
		return CERTPIN_E_INVALID_ARG;
	if (!certpin__der_is_sequence(der, len))
		return CERTPIN_E_DECODE;
	out->kind = CERTPIN_PIN_SPKI_SHA256;
	return certpin__sha256(out->digest, der, len);
}

int certpin_pin_from_cert_der(certpin_pin *out, const unsigned char *der, size_t len, certpin_pin_kind kind)
{
	const unsigned char *spki;
	size_t spki_len;
	int rc;

	if (!out || !der)
		return CERTPIN_E_INVALID_ARG;
	if ((rc = certpin__der_cert_spki(&spki, &spki_len, der, len)) != CERTPIN_OK)
		return rc;
	if (kind == CERTPIN_PIN_SPKI_SHA256) {
		rc = certpin__sha256(out->digest, spki, spki_len);
	} else if (kind == CERTPIN_PIN_CERT_SHA256) {
		rc = certpin__sha256(out->digest, der, len);
	} else {
		return CERTPIN_E_INVALID_ARG;
	}
	out->kind = kind;
	return rc;
}

int certpin_chain_elem_from_der(certpin_chain_elem *out, const unsigned char *der, size_t len)
{
	const unsigned char *spki;
	size_t spki_len;
	int rc;

	if (!out || !der)
		return CERTPIN_E_INVALID_ARG;
	if ((rc = certpin__der_cert_spki(&spki, &spki_len, der, len)) != CERTPIN_OK)
		return rc;
	if ((rc = certpin__sha256(out->spki_sha256, spki, spki_len)) != CERTPIN_OK ||
	    (rc = certpin__sha256(out->cert_sha256, der, len)) != CERTPIN_OK)
		return rc;
	out->flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	return CERTPIN_OK;
}

/* ---- items ---- */

typedef struct {
	certpin_item *v;
	size_t n, cap;
} itemvec;

static certpin_item *push(itemvec *iv)
{
	if (iv->n == iv->cap) {
		size_t ncap = iv->cap ? iv->cap * 2 : 4;
		certpin_item *nv = realloc(iv->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		iv->v = nv;
		iv->cap = ncap;
	}
	certpin_item *it = &iv->v[iv->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

static int key_type(char *out, size_t outlen, EVP_PKEY *pk)
{
	char group[64];

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		snprintf(out, outlen, "%s-%d", EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? "RSA" : "RSA-PSS",
			EVP_PKEY_get_bits(pk));
		return CERTPIN_OK;
	case EVP_PKEY_EC: {
		if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return CERTPIN_E_UNSUPPORTED; /* explicit curve parameters */
		int nid = OBJ_sn2nid(group);
		const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
		snprintf(out, outlen, "EC-%.28s", nist ? nist : group);
		return CERTPIN_OK;
	}
	case EVP_PKEY_ED25519:
		snprintf(out, outlen, "Ed25519");
		return CERTPIN_OK;
	case EVP_PKEY_ED448:
		snprintf(out, outlen, "Ed448");
		return CERTPIN_OK;
	}
	return CERTPIN_E_UNSUPPORTED;
}

static int set_spki(certpin_item *it, EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int rc = key_type(it->key_type, sizeof(it->key_type), pk);
	if (rc != CERTPIN_OK)
		return rc;
	int len = i2d_PUBKEY(pk, &der);
	if (len <= 0)
		return CERTPIN_E_DECODE;
	it->spki.kind = CERTPIN_PIN_SPKI_SHA256;
	rc = certpin__sha256(it->spki.digest, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

static char *name_string(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *data;
	long len;

	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &data);
		s = malloc((size_t)len + 1);
		if (s) {
			memcpy(s, data, (size_t)len);
			s[len] = '\0';
		}
	}
	BIO_free(b);
	return s;
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	int days = 0, secs = 0;
	ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
	if (!epoch)
		return 0;
	if (!ASN1_TIME_diff(&days, &secs, epoch, t))
		days = secs = 0;
	ASN1_TIME_free(epoch);
	return (int64_t)days * 86400 + secs;
}

static int add_cert(itemvec *iv, X509 *x)
{
	certpin_item *it = push(iv);
	unsigned char *der = NULL;
	int rc, len;

	if (!it)
		return CERTPIN_E_NOMEM;
	it->type = CERTPIN_ITEM_CERT;
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (!pk)
		return CERTPIN_E_UNSUPPORTED;
	if ((rc = key_type(it->key_type, sizeof(it->key_type), pk)) != CERTPIN_OK)
		return rc;
	/* Both pins come from the certificate's own encoding (OpenSSL keeps it),
	 * exactly as the enforcement path hashes a verified chain: no re-encoding. */
	if ((len = i2d_X509(x, &der)) <= 0)
		return CERTPIN_E_DECODE;
	rc = certpin_pin_from_cert_der(&it->spki, der, (size_t)len, CERTPIN_PIN_SPKI_SHA256);
	if (rc == CERTPIN_OK)
		rc = certpin_pin_from_cert_der(&it->cert, der, (size_t)len, CERTPIN_PIN_CERT_SHA256);
	OPENSSL_free(der);
	if (rc != CERTPIN_OK)
		return rc;
	it->subject = name_string(X509_get_subject_name(x));
	it->issuer = name_string(X509_get_issuer_name(x));
	if (!it->subject || !it->issuer)
		return CERTPIN_E_NOMEM;
	it->not_before = asn1_time_unix(X509_get0_notBefore(x));
	it->not_after = asn1_time_unix(X509_get0_notAfter(x));
	/* Self-issued as OpenSSL's cached flags say (names and key identifiers
	 * agree); the signature is not checked: this is a label, not trust. */
	it->self_signed = (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
	it->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	return CERTPIN_OK;
}

static int add_key(itemvec *iv, EVP_PKEY *pk, certpin_item_type type)
{
	certpin_item *it = push(iv);
	if (!it)
		return CERTPIN_E_NOMEM;
	it->type = type;
	return set_spki(it, pk);
}

static int add_csr(itemvec *iv, X509_REQ *req)
{
	certpin_item *it = push(iv);
	if (!it)
		return CERTPIN_E_NOMEM;
	it->type = CERTPIN_ITEM_CSR;
	EVP_PKEY *pk = X509_REQ_get0_pubkey(req);
	if (!pk)
		return CERTPIN_E_UNSUPPORTED;
	int rc = set_spki(it, pk);
	if (rc != CERTPIN_OK)
		return rc;
	it->subject = name_string(X509_REQ_get_subject_name(req));
	return it->subject ? CERTPIN_OK : CERTPIN_E_NOMEM;
}

/* Decode one DER object of a known kind; `exact` requires every byte be consumed. */
static int decode_der(itemvec *iv, const char *kind, const unsigned char *der, long len)
{
	const unsigned char *p = der;
	int rc = CERTPIN_E_DECODE;

	if (strcmp(kind, "cert") == 0) {
		X509 *x = d2i_X509(NULL, &p, len);
		if (x && p == der + len)
			rc = add_cert(iv, x);
		X509_free(x);
	} else if (strcmp(kind, "trusted") == 0) {
		X509 *x = d2i_X509_AUX(NULL, &p, len);
		if (x && p == der + len)
			rc = add_cert(iv, x);
		X509_free(x);
	} else if (strcmp(kind, "pubkey") == 0) {
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, len);
		if (pk && p == der + len)
			rc = add_key(iv, pk, CERTPIN_ITEM_PUBKEY);
		EVP_PKEY_free(pk);
	} else if (strcmp(kind, "rsapub") == 0) {
		EVP_PKEY *pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
		if (pk && p == der + len)
			rc = add_key(iv, pk, CERTPIN_ITEM_PUBKEY);
		EVP_PKEY_free(pk);
	} else if (strcmp(kind, "privkey") == 0) {
		EVP_PKEY *pk = d2i_AutoPrivateKey(NULL, &p, len);
		if (pk && p == der + len)
			rc = add_key(iv, pk, CERTPIN_ITEM_PRIVKEY);
		EVP_PKEY_free(pk);
	} else if (strcmp(kind, "csr") == 0) {
		X509_REQ *r = d2i_X509_REQ(NULL, &p, len);
		if (r && p == der + len)
			rc = add_csr(iv, r);
		X509_REQ_free(r);
	}
	return rc;
}

static const struct {
	const char *pem;
	const char *kind;
} pem_kinds[] = {
	{ "CERTIFICATE", "cert" },
	{ "X509 CERTIFICATE", "cert" },
	{ "TRUSTED CERTIFICATE", "trusted" },
	{ "PUBLIC KEY", "pubkey" },
	{ "RSA PUBLIC KEY", "rsapub" },
	{ "PRIVATE KEY", "privkey" },
	{ "RSA PRIVATE KEY", "privkey" },
	{ "EC PRIVATE KEY", "privkey" },
	{ "CERTIFICATE REQUEST", "csr" },
	{ "NEW CERTIFICATE REQUEST", "csr" },
};

static int decode_pem(itemvec *iv, const void *data, size_t len)
{
	BIO *b = BIO_new_mem_buf(data, (int)len);
	int rc = CERTPIN_OK;

	if (!b)
		return CERTPIN_E_NOMEM;
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long dlen = 0;

		ERR_clear_error();
		if (!PEM_read_bio(b, &name, &header, &der, &dlen)) {
			unsigned long e = ERR_peek_last_error();
			/* clean end of input: no further BEGIN line */
			if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
				rc = CERTPIN_E_DECODE; /* a damaged block, not the end of input */
			break;
		}
		const char *kind = NULL;
		for (size_t i = 0; i < CERTPIN_ARRAY_LEN(pem_kinds); i++)
			if (strcmp(name, pem_kinds[i].pem) == 0)
				kind = pem_kinds[i].kind;
		if (strcmp(name, "EC PARAMETERS") == 0) {
			/* emitted by `openssl ecparam -genkey` before the key; carries no key */
		} else if (!kind || strstr(header, "ENCRYPTED")) {
			rc = CERTPIN_E_UNSUPPORTED; /* encrypted keys, PKCS#7, CRLs, ... */
		} else {
			rc = decode_der(iv, kind, der, dlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		if (rc != CERTPIN_OK)
			break;
	}
	BIO_free(b);
	ERR_clear_error();
	if (rc == CERTPIN_OK && iv->n == 0)
		rc = CERTPIN_E_DECODE;
	return rc;
}

static bool looks_pem(const void *data, size_t len)
{
	static const char marker[] = "-----BEGIN ";
	const char *s = data;
	for (size_t i = 0; i + sizeof(marker) - 1 <= len; i++)
		if (s[i] == '-' && memcmp(s + i, marker, sizeof(marker) - 1) == 0)
			return true;
	return false;
}

int certpin_items_from_data(certpin_item **out, size_t *count, const void *data, size_t len)
{
	itemvec iv = { NULL, 0, 0 };
	int rc = CERTPIN_E_DECODE;

	if (!out || !count || (!data && len))
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	*count = 0;
	if (len == 0)
		return CERTPIN_E_DECODE;
	if (len > ITEMS_MAX_BYTES)
		return CERTPIN_E_DECODE;
	if (looks_pem(data, len)) {
		rc = decode_pem(&iv, data, len);
	} else if (len <= (size_t)LONG_MAX) {
		static const char *const kinds[] = { "cert", "pubkey", "privkey", "csr" };
		for (size_t i = 0; i < CERTPIN_ARRAY_LEN(kinds) && rc == CERTPIN_E_DECODE; i++) {
			certpin_items_free(iv.v, iv.n);
			iv.v = NULL, iv.n = iv.cap = 0;
			rc = decode_der(&iv, kinds[i], data, (long)len);
		}
		if (rc == CERTPIN_E_DECODE && iv.n == 0 && len > 4 && ((const unsigned char *)data)[0] == 0x30) {
			/* encrypted PKCS#8 DER: report it as such rather than as garbage */
			const unsigned char *p = data;
			X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
			if (sig && p == (const unsigned char *)data + len)
				rc = CERTPIN_E_UNSUPPORTED;
			X509_SIG_free(sig);
		}
		ERR_clear_error();
	}
	if (rc != CERTPIN_OK) {
		certpin_items_free(iv.v, iv.n);
		return rc;
	}
	*out = iv.v;
	*count = iv.n;
	return CERTPIN_OK;
}

int certpin_items_from_file(certpin_item **out, size_t *count, const char *path)
{
	FILE *f;
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!out || !count || !path)
		return CERTPIN_E_INVALID_ARG;
	if (!(f = fopen(path, "rb")))
		return CERTPIN_E_IO;
	for (;;) {
		if (cap - n < 4096) {
			if (cap >= ITEMS_MAX_BYTES) {
				fclose(f);
				free(buf);
				return CERTPIN_E_DECODE;
			}
			cap = cap ? cap * 2 : 16384;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return CERTPIN_E_NOMEM;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return CERTPIN_E_IO;
	}
	rc = certpin_items_from_data(out, count, buf, n);
	free(buf);
	return rc;
}

void certpin_items_free(certpin_item *items, size_t count)
{
	if (!items)
		return;
	for (size_t i = 0; i < count; i++) {
		free(items[i].subject);
		free(items[i].issuer);
	}
	free(items);
}
