/* Computing pins: DER SPKI locator, PEM/DER decoding of certs, keys and CSRs. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/*
 * The pin the openssl CLI computes for NAME's private key:
 * openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64
 */
static const char *expected_pin(const char *name)
{
	static char pin[128];
	char cmd[4200], line[100] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		"openssl pkey -in '%s' -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64 -A",
		test_pki(name));
	if (!(f = popen(cmd, "r")))
		return NULL;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (pclose(f) != 0 || line[0] == '\0')
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	snprintf(pin, sizeof(pin), "sha256/%s", line);
	return pin;
}

static void check_file_pin(const char *file, const char *name, certpin_item_type type, const char *key_type)
{
	certpin_item *items = NULL;
	size_t n = 0;
	char s[CERTPIN_PIN_STRLEN];
	int rc = certpin_items_from_file(&items, &n, test_pki(file));

	CHECK_INT(rc, CERTPIN_OK);
	if (rc != CERTPIN_OK) {
		fprintf(stderr, "  file %s\n", file);
		return;
	}
	CHECK(n >= 1);
	CHECK_INT(items[0].type, type);
	CHECK_STR(items[0].key_type, key_type);
	CHECK_INT(certpin_pin_format(s, sizeof(s), &items[0].spki, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	char keyfile[64];
	snprintf(keyfile, sizeof(keyfile), "%s.key", name);
	const char *want = expected_pin(keyfile);
	CHECK(want != NULL);
	if (want)
		CHECK_STR(s, want);
	certpin_items_free(items, n);
}

static void test_agreement_with_openssl(void)
{
	static const struct {
		const char *name, *key_type;
	} algs[] = { { "rsa2048", "RSA-2048" }, { "p256", "EC-P-256" }, { "p384", "EC-P-384" }, { "ed25519", "Ed25519" } };
	char f[64];

	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(algs); i++) {
		snprintf(f, sizeof(f), "%s.pem", algs[i].name);
		check_file_pin(f, algs[i].name, CERTPIN_ITEM_CERT, algs[i].key_type);
		snprintf(f, sizeof(f), "%s.der", algs[i].name);
		check_file_pin(f, algs[i].name, CERTPIN_ITEM_CERT, algs[i].key_type);
		snprintf(f, sizeof(f), "%s.pub", algs[i].name);
		check_file_pin(f, algs[i].name, CERTPIN_ITEM_PUBKEY, algs[i].key_type);
		snprintf(f, sizeof(f), "%s.key", algs[i].name);
		check_file_pin(f, algs[i].name, CERTPIN_ITEM_PRIVKEY, algs[i].key_type);
		snprintf(f, sizeof(f), "%s.csr", algs[i].name);
		check_file_pin(f, algs[i].name, CERTPIN_ITEM_CSR, algs[i].key_type);
	}
	check_file_pin("leaf.pem", "leaf", CERTPIN_ITEM_CERT, "EC-P-256");
	check_file_pin("leaf.key", "leaf", CERTPIN_ITEM_PRIVKEY, "EC-P-256");
}

static void test_chain_file(void)
{
	certpin_item *items = NULL;
	size_t n = 0;
	CHECK_INT(certpin_items_from_file(&items, &n, test_pki("chain.pem")), CERTPIN_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK(!items[0].is_ca);
		CHECK(items[1].is_ca);
		CHECK(!items[0].self_signed);
		CHECK_CONTAINS(items[1].subject, "certpin Test Intermediate");
		CHECK_CONTAINS(items[0].issuer, "certpin Test Intermediate");
		CHECK(items[0].not_after > items[0].not_before);
		CHECK_INT(items[0].cert.kind, CERTPIN_PIN_CERT_SHA256);
	}
	certpin_items_free(items, n);
	CHECK_INT(certpin_items_from_file(&items, &n, test_pki("root.pem")), CERTPIN_OK);
	CHECK(n == 1 && items[0].self_signed && items[0].is_ca);
	certpin_items_free(items, n);
}

static void test_der_locator(void)
{
	size_t len;
	char *pem = test_read_file(test_pki("leaf.pem"), &len);
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char *der = NULL, *spki = NULL;
	int dlen = i2d_X509(x, &der);
	int slen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	certpin_pin a, b2;
	certpin_chain_elem e;

	CHECK(dlen > 0 && slen > 0);
	CHECK_INT(certpin_pin_from_cert_der(&a, der, (size_t)dlen, CERTPIN_PIN_SPKI_SHA256), CERTPIN_OK);
	CHECK_INT(certpin_pin_from_spki_der(&b2, spki, (size_t)slen), CERTPIN_OK);
	CHECK(certpin_pin_equal(&a, &b2));
	CHECK_INT(certpin_chain_elem_from_der(&e, der, (size_t)dlen), CERTPIN_OK);
	CHECK(memcmp(e.spki_sha256, a.digest, 32) == 0);
	CHECK_INT(e.flags, CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT);
	CHECK_INT(certpin_pin_from_cert_der(&a, der, (size_t)dlen, CERTPIN_PIN_CERT_SHA256), CERTPIN_OK);
	CHECK(memcmp(e.cert_sha256, a.digest, 32) == 0);

	/* every truncation and a trailing byte are rejected */
	int bad = 0;
	for (int cut = 0; cut < dlen; cut++)
		if (certpin_pin_from_cert_der(&a, der, (size_t)cut, CERTPIN_PIN_SPKI_SHA256) != CERTPIN_E_DECODE)
			bad++;
	CHECK_INT(bad, 0);
	unsigned char *longer = malloc((size_t)dlen + 1);
	memcpy(longer, der, (size_t)dlen);
	longer[dlen] = 0;
	CHECK_INT(certpin_pin_from_cert_der(&a, longer, (size_t)dlen + 1, CERTPIN_PIN_SPKI_SHA256), CERTPIN_E_DECODE);
	/* a non-minimal length encoding of the outer SEQUENCE is not DER */
	CHECK_INT(certpin_pin_from_spki_der(&a, spki, (size_t)slen - 1), CERTPIN_E_DECODE);
	static const unsigned char nonmin[] = { 0x30, 0x81, 0x03, 0x02, 0x01, 0x00 };
	CHECK_INT(certpin_pin_from_spki_der(&a, nonmin, sizeof(nonmin)), CERTPIN_E_DECODE);
	static const unsigned char indef[] = { 0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00 };
	CHECK_INT(certpin_pin_from_spki_der(&a, indef, sizeof(indef)), CERTPIN_E_DECODE);
	free(longer);
	OPENSSL_free(der);
	OPENSSL_free(spki);
	X509_free(x);
	BIO_free(b);
	free(pem);
}

static void test_bad_inputs(void)
{
	certpin_item *items = (certpin_item *)1;
	size_t n = 7;
	static const char garbage[] = "this is not a certificate\n";
	static const char pkcs7[] = "-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n";
	static const char damaged[] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
	static const char enc_hdr[] = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";

	CHECK_INT(certpin_items_from_data(&items, &n, garbage, sizeof(garbage) - 1), CERTPIN_E_DECODE);
	CHECK(items == NULL && n == 0);
	CHECK_INT(certpin_items_from_data(&items, &n, "", 0), CERTPIN_E_DECODE);
	CHECK_INT(certpin_items_from_data(&items, &n, pkcs7, sizeof(pkcs7) - 1), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(certpin_items_from_data(&items, &n, damaged, sizeof(damaged) - 1), CERTPIN_E_DECODE);
	CHECK_INT(certpin_items_from_data(&items, &n, enc_hdr, sizeof(enc_hdr) - 1), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(certpin_items_from_file(&items, &n, "/nonexistent/x.pem"), CERTPIN_E_IO);

	/* a good cert followed by a damaged block fails as a whole */
	size_t len;
	char *leaf = test_read_file(test_pki("leaf.pem"), &len);
	char *both = malloc(len + sizeof(damaged));
	memcpy(both, leaf, len);
	memcpy(both + len, damaged, sizeof(damaged));
	CHECK_INT(certpin_items_from_data(&items, &n, both, len + sizeof(damaged) - 1), CERTPIN_E_DECODE);
	CHECK(items == NULL);
	free(both);
	free(leaf);
}

/* A parsed (DER round-tripped) self-signed certificate for a new key of `alg`. */
static X509 *parsed_cert(const char *alg, const char *arg)
{
	EVP_PKEY *k = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(arg))
		: arg ? EVP_PKEY_Q_keygen(NULL, NULL, alg, arg) : EVP_PKEY_Q_keygen(NULL, NULL, alg);
	X509 *x = X509_new(), *parsed = NULL;
	unsigned char *der = NULL;

	if (!k || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"spki", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	const EVP_MD *md = strncmp(alg, "ED", 2) == 0 ? NULL : EVP_sha256();
	if (!X509_sign(x, k, md))
		goto out;
	int len = i2d_X509(x, &der);
	const unsigned char *p = der;
	if (len > 0)
		parsed = d2i_X509(NULL, &p, len);
out:
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
	return parsed;
}

/*
 * One SPKI digest path: what the OpenSSL adapter hashes (i2d_X509_PUBKEY()
 * of the parsed certificate) is exactly the SubjectPublicKeyInfo inside the
 * certificate's DER (what certpin_chain_elem_from_der() and the other
 * adapters hash), for every key type.
 */
static void test_spki_paths_agree(void)
{
	static const struct { const char *alg, *arg; } keys[] = {
		{ "RSA", "2048" }, { "RSA", "3072" }, { "EC", "P-256" }, { "EC", "P-384" }, { "EC", "P-521" },
		{ "ED25519", NULL }, { "ED448", NULL },
	};
	int same = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		X509 *x = parsed_cert(keys[i].alg, keys[i].arg);
		CHECK(x != NULL);
		if (!x)
			continue;
		unsigned char *ref = NULL, *der = NULL;
		const unsigned char *spki;
		size_t n;
		int rlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &ref);
		int dlen = i2d_X509(x, &der);
		CHECK(rlen > 0 && dlen > 0);
		if (rlen > 0 && dlen > 0 && certpin__der_cert_spki(&spki, &n, der, (size_t)dlen) == CERTPIN_OK &&
		    n == (size_t)rlen && memcmp(spki, ref, n) == 0)
			same++;
		OPENSSL_free(ref);
		OPENSSL_free(der);
		X509_free(x);
	}
	CHECK_INT(same, 7);
}

/* `der` with every occurrence of `from` replaced by `to` (same length), parsed; NULL if absent or unparsable. */
static X509 *patched(const unsigned char *der, int len, const unsigned char *from, const unsigned char *to, size_t n,
	unsigned char *out)
{
	int hits = 0;

	memcpy(out, der, (size_t)len);
	for (int i = 0; i + (int)n <= len; i++)
		if (memcmp(out + i, from, n) == 0) {
			memcpy(out + i, to, n);
			hits++;
		}
	const unsigned char *p = out;
	return hits ? d2i_X509(NULL, &p, len) : NULL;
}

/* SHA-256 of the SubjectPublicKeyInfo bytes in a certificate's DER. */
static int reference_digest(const unsigned char *der, int len, unsigned char out[CERTPIN_DIGEST_LEN])
{
	const unsigned char *spki;
	size_t n;
	unsigned int dl = 0;

	return certpin__der_cert_spki(&spki, &n, der, (size_t)len) == CERTPIN_OK &&
	       EVP_Digest(spki, n, out, &dl, EVP_sha256(), NULL) && dl == CERTPIN_DIGEST_LEN;
}

/* SHA-256 of i2d_X509_PUBKEY(): the OpenSSL adapter's SPKI digest. */
static int adapter_digest(X509 *x, unsigned char out[CERTPIN_DIGEST_LEN])
{
	unsigned char *der = NULL;
	unsigned int dl = 0;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	int ok = len > 0 && EVP_Digest(der, (size_t)len, out, &dl, EVP_sha256(), NULL) && dl == CERTPIN_DIGEST_LEN;

	OPENSSL_free(der);
	return ok;
}

/*
 * Keys that differ from another only in the curve, the algorithm or one bit
 * of the key get their own digest, the same by both paths.
 */
static void test_near_keys(void)
{
	static const unsigned char p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char p192[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01 }; /* prime192v1 */
	static const unsigned char ecpk[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };       /* id-ecPublicKey */
	static const unsigned char other[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x7f };      /* unassigned */
	X509 *x = parsed_cert("EC", "P-256");
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : 0;

	CHECK(x && len > 0 && len <= 2048);
	if (!x || len <= 0 || len > 2048) {
		X509_free(x);
		OPENSSL_free(der);
		return;
	}
	/* the original, a different curve, an unknown algorithm, the key's last bit flipped */
	unsigned char bufs[4][2048];
	X509 *certs[4] = { x, NULL, NULL, NULL };
	certs[1] = patched(der, len, p256, p192, sizeof(p256), bufs[1]);
	certs[2] = patched(der, len, ecpk, other, sizeof(ecpk), bufs[2]);
	memcpy(bufs[0], der, (size_t)len);
	const unsigned char *spki;
	size_t spki_len;
	if (certpin__der_cert_spki(&spki, &spki_len, der, (size_t)len) == CERTPIN_OK) {
		memcpy(bufs[3], der, (size_t)len);
		bufs[3][spki + spki_len - 1 - der] ^= 1;
		const unsigned char *p = bufs[3];
		certs[3] = d2i_X509(NULL, &p, len);
	}
	unsigned char want[4][CERTPIN_DIGEST_LEN], got[CERTPIN_DIGEST_LEN];
	for (int i = 0; i < 4; i++) {
		CHECK(certs[i] != NULL);
		CHECK(reference_digest(bufs[i], len, want[i]));
		memset(got, 0, sizeof(got));
		CHECK(certs[i] && adapter_digest(certs[i], got) && memcmp(got, want[i], CERTPIN_DIGEST_LEN) == 0);
	}
	for (int i = 1; i < 4; i++)
		CHECK(memcmp(want[0], want[i], CERTPIN_DIGEST_LEN) != 0);
	for (int i = 0; i < 4; i++)
		X509_free(certs[i]);
	OPENSSL_free(der);
}

int main(void)
{
	test_agreement_with_openssl();
	test_chain_file();
	test_der_locator();
	test_bad_inputs();
	test_spki_paths_agree();
	test_near_keys();
	return test_finish("spki_test");
}
