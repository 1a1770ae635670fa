/*
 * fuzz_der: the DER walker behind certpin_pin_from_cert_der() and
 * certpin_chain_elem_from_der().
 *
 * Properties:
 *   - both functions agree (same return code; same SPKI and certificate
 *     digests), and the certificate digest is SHA-256 of the input;
 *   - when OpenSSL's d2i_X509() also accepts the input and consumes every
 *     byte, the SPKI digest equals SHA-256 of the SubjectPublicKeyInfo bytes
 *     as OpenSSL's generic DER parser delimits them (ASN1_SEQUENCE_ANY keeps
 *     a constructed element's original encoding).
 *
 * Why not compare with i2d_X509_PUBKEY(): OpenSSL re-encodes the SPKI, and
 * the re-encoding is not always the input bytes (it clears the unused bits of
 * the BIT STRING and writes BOOLEAN parameters as 0xff), while a pin hashes
 * the bytes the certificate carries.  The two agree for canonical DER only.
 */
#include "fuzz_common.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

static void sha256(unsigned char out[32], const unsigned char *in, size_t len)
{
	unsigned int n = 32;
	if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1)
		abort();
}

/* The SPKI bytes as OpenSSL's generic parser sees them; 0 if it cannot say. */
static int openssl_spki(unsigned char digest[32], const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	ASN1_SEQUENCE_ANY *top = NULL, *fields = NULL;
	int ok = 0;

	if (size > 0x7fffffff)
		return 0;
	top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)size);
	if (!top || p != data + size || sk_ASN1_TYPE_num(top) < 1)
		goto out;
	ASN1_TYPE *tbs = sk_ASN1_TYPE_value(top, 0);
	if (tbs->type != V_ASN1_SEQUENCE)
		goto out;
	p = tbs->value.sequence->data;
	fields = d2i_ASN1_SEQUENCE_ANY(NULL, &p, tbs->value.sequence->length);
	if (!fields || sk_ASN1_TYPE_num(fields) < 6)
		goto out;
	/* [0] version is optional; then serial, signature, issuer, validity, subject, SPKI */
	int idx = sk_ASN1_TYPE_value(fields, 0)->type == V_ASN1_OTHER ? 6 : 5;
	if (sk_ASN1_TYPE_num(fields) <= idx)
		goto out;
	ASN1_TYPE *spki = sk_ASN1_TYPE_value(fields, idx);
	if (spki->type != V_ASN1_SEQUENCE)
		goto out;
	sha256(digest, spki->value.sequence->data, (size_t)spki->value.sequence->length);
	ok = 1;
out:
	sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
	sk_ASN1_TYPE_pop_free(fields, ASN1_TYPE_free);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_pin spki, cert;
	certpin_chain_elem elem;
	unsigned char whole[32], want[32];
	char h1[65], h2[65];

	int rs = certpin_pin_from_cert_der(&spki, data, size, CERTPIN_PIN_SPKI_SHA256);
	int rc = certpin_pin_from_cert_der(&cert, data, size, CERTPIN_PIN_CERT_SHA256);
	int re = certpin_chain_elem_from_der(&elem, data, size);

	FUZZ_CHECK(rs == rc && rs == re, "return codes differ: spki %d cert %d elem %d", rs, rc, re);
	if (rs != CERTPIN_OK) {
		FUZZ_CHECK(rs == CERTPIN_E_DECODE, "unexpected error %d", rs);
		return 0;
	}
	FUZZ_CHECK(spki.kind == CERTPIN_PIN_SPKI_SHA256 && cert.kind == CERTPIN_PIN_CERT_SHA256, "pin kinds");
	FUZZ_CHECK(elem.flags == (CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT), "chain element flags %u", elem.flags);
	FUZZ_CHECK(memcmp(elem.spki_sha256, spki.digest, 32) == 0, "SPKI digests differ: %s vs %s",
		fuzz_hex(h1, elem.spki_sha256, 32), fuzz_hex(h2, spki.digest, 32));
	sha256(whole, data, size);
	FUZZ_CHECK(memcmp(cert.digest, whole, 32) == 0 && memcmp(elem.cert_sha256, whole, 32) == 0,
		"certificate digest is not SHA-256 of the input");

	const unsigned char *p = data;
	X509 *x = size <= 0x7fffffff ? d2i_X509(NULL, &p, (long)size) : NULL;
	if (x && p == data + size && openssl_spki(want, data, size))
		FUZZ_CHECK(memcmp(want, spki.digest, 32) == 0, "SPKI pin %s but OpenSSL delimits SPKI %s",
			fuzz_hex(h1, spki.digest, 32), fuzz_hex(h2, want, 32));
	X509_free(x);
	return 0;
}
