/*
 * fuzz_bundle: the signed bundle parser and verifier
 * (certpin_bundle_parse_unverified, certpin_bundle_verify, certpin_bundle_sign).
 *
 * The only trusted key is a fixed Ed25519 key (seed below), so committed
 * seeds signed with it exercise the whole verification path.
 *
 * Properties:
 *   - parse returns CERTPIN_OK or CERTPIN_E_BUNDLE (or out of memory); on
 *     error nothing is returned, info.parsed is 0 and there is a detail;
 *   - on success the fields are consistent: version >= 1, expires > issued,
 *     the policy bytes hash to info.policy_sha256 and have info.policy_len;
 *   - verify never succeeds where parse fails, gives the same fields when it
 *     parses, succeeds only with a loaded policy and only for a bundle named
 *     as signed by the trusted key, and returns only documented codes;
 *   - re-signing the parsed contents with the trusted key gives a bundle that
 *     verifies (at its issue time) exactly when the policy loads, parses back
 *     to the same fields, and fails its signature once any signature byte is
 *     changed.
 */
#include "fuzz_common.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* The detail of the last failed bundle call. */
static certpin_error berr;

static const unsigned char seed[32] = {
	0x63, 0x65, 0x72, 0x74, 0x70, 0x69, 0x6e, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x62, 0x75, 0x6e,
	0x64, 0x6c, 0x65, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};
#define FUZZ_NOW INT64_C(1800000000)

static certpin_trust_anchors *anchors;
static char *priv_pem;
static size_t priv_len;
static certpin_pin trusted_id;

static char *bio_text(BIO *b, size_t *len)
{
	const char *p;
	long n = BIO_get_mem_data(b, &p);
	char *s = n > 0 ? malloc((size_t)n + 1) : NULL;

	if (!s)
		abort();
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	if (len)
		*len = (size_t)n;
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
	unsigned char *der = NULL;
	int dl;

	(void)argc, (void)argv;
	if (!k || !priv || !pub || !PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_PUBKEY(pub, k))
		abort();
	priv_pem = bio_text(priv, &priv_len);
	char *pub_pem = bio_text(pub, NULL);
	if (certpin_trust_anchors_new(&anchors) != CERTPIN_OK ||
	    certpin_trust_anchors_add_pubkey_pem(anchors, pub_pem, strlen(pub_pem), &berr) != CERTPIN_OK)
		abort();
	dl = i2d_PUBKEY(k, &der);
	if (dl <= 0 || certpin_pin_from_spki_der(&trusted_id, der, (size_t)dl) != CERTPIN_OK)
		abort();
	OPENSSL_free(der);
	free(pub_pem);
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(k);
	return 0;
}

static int same_fields(const certpin_bundle_info *a, const certpin_bundle_info *b)
{
	return a->bundle_version == b->bundle_version && a->issued == b->issued && a->expires == b->expires &&
		a->policy_len == b->policy_len && memcmp(a->policy_sha256, b->policy_sha256, CERTPIN_DIGEST_LEN) == 0;
}

static void check_resigned(const certpin_bundle_info *info, const char *policy, size_t plen)
{
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	certpin_bundle_info again;
	certpin_policy *p = NULL;
	char *b = NULL;
	size_t blen = 0;
	int rc;

	if (info->issued == 0 || info->bundle_version > (uint64_t)INT64_MAX)
		return;        /* issued 0 means "now" to the signer */
	o.bundle_version = info->bundle_version;
	o.issued = info->issued;
	o.expires = info->expires;
	rc = certpin_bundle_sign(&b, &blen, policy, plen, priv_pem, priv_len, &o, &berr);
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_POLICY || rc == CERTPIN_E_NOMEM, "sign returned %d", rc);
	if (rc != CERTPIN_OK) {
		/* the signer refuses exactly the policies clients would refuse to load */
		certpin_policy *q = NULL;
		if (rc == CERTPIN_E_POLICY) {
			int lr = certpin_policy_load_data(&q, policy, plen, "x", NULL, NULL);
			FUZZ_CHECK(lr != CERTPIN_OK, "sign refused a policy that loads");
		}
		certpin_policy_free(q);
		return;
	}
	rc = certpin_bundle_verify(&again, &p, anchors, b, blen, info->issued, &berr);
	FUZZ_CHECK(rc == CERTPIN_OK && p, "re-signed bundle does not verify: %d %s\n%s", rc, berr.message, b);
	FUZZ_CHECK(same_fields(info, &again), "re-signed bundle has other fields");
	FUZZ_CHECK(certpin_pin_equal(&again.key_id, &trusted_id), "re-signed bundle names another key");
	certpin_policy_free(p);
	/* at its expiry time it is refused as expired */
	rc = certpin_bundle_verify(&again, NULL, anchors, b, blen, info->expires, &berr);
	FUZZ_CHECK(rc == CERTPIN_E_EXPIRED_BUNDLE, "bundle at its expiry time gave %d", rc);
	/* any change of the signature is caught */
	char *sig = strstr(b, "\"signature\": \"");
	FUZZ_CHECK(sig != NULL, "no signature member in the signer's output");
	size_t at = (size_t)(sig - b) + 14 + (info->policy_len + info->bundle_version) % 85;
	b[at] = b[at] == 'A' ? 'B' : 'A';
	rc = certpin_bundle_verify(&again, NULL, anchors, b, blen, info->issued, &berr);
	FUZZ_CHECK(rc == CERTPIN_E_SIGNATURE || rc == CERTPIN_E_BUNDLE, "changed signature gave %d", rc);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_bundle_info info, vinfo;
	certpin_policy *p = NULL;
	char *policy = NULL;
	size_t plen = 0;
	int rc, rv;

	rc = certpin_bundle_parse_unverified(&info, &policy, &plen, data, size, &berr);
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_BUNDLE || rc == CERTPIN_E_NOMEM, "parse returned %d", rc);
	FUZZ_CHECK(info.version == CERTPIN_BUNDLE_INFO_VERSION, "info version not set");
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(policy == NULL && plen == 0 && !info.parsed, "failed parse returned data");
		FUZZ_CHECK(berr.message[0] != '\0', "failed parse without a detail");
	} else {
		unsigned char h[CERTPIN_DIGEST_LEN];
		unsigned int hl = sizeof(h);
		FUZZ_CHECK(info.parsed && policy && plen == info.policy_len, "parsed fields inconsistent");
		FUZZ_CHECK(plen >= 1 && plen <= CERTPIN_BUNDLE_POLICY_MAX, "policy length %zu", plen);
		FUZZ_CHECK(info.bundle_version >= 1 && info.expires > info.issued, "version or dates out of range");
		FUZZ_CHECK(info.key_id.kind == CERTPIN_PIN_SPKI_SHA256, "key id kind %d", info.key_id.kind);
		FUZZ_CHECK(EVP_Digest(policy, plen, h, &hl, EVP_sha256(), NULL) &&
			memcmp(h, info.policy_sha256, sizeof(h)) == 0, "policy digest mismatch");
		FUZZ_CHECK(policy[plen] == '\0', "policy copy not terminated");
	}

	rv = certpin_bundle_verify(&vinfo, &p, anchors, data, size, FUZZ_NOW, &berr);
	FUZZ_CHECK(rv == CERTPIN_OK || rv == CERTPIN_E_BUNDLE || rv == CERTPIN_E_UNTRUSTED_KEY ||
		rv == CERTPIN_E_SIGNATURE || rv == CERTPIN_E_EXPIRED_BUNDLE || rv == CERTPIN_E_POLICY ||
		rv == CERTPIN_E_NOMEM, "verify returned %d", rv);
	FUZZ_CHECK((rv == CERTPIN_OK) == (p != NULL), "verify: policy returned %s with code %d", p ? "" : "not", rv);
	if (rc != CERTPIN_OK)
		FUZZ_CHECK(rv == rc, "verify %d where parse gave %d", rv, rc);
	else
		FUZZ_CHECK(rv != CERTPIN_E_BUNDLE && same_fields(&info, &vinfo), "verify and parse disagree");
	if (rv == CERTPIN_OK)
		FUZZ_CHECK(certpin_pin_equal(&vinfo.key_id, &trusted_id), "accepted a bundle not signed by the trusted key");
	if (rv == CERTPIN_E_UNTRUSTED_KEY)
		FUZZ_CHECK(!certpin_pin_equal(&vinfo.key_id, &trusted_id), "trusted key reported as untrusted");
	certpin_policy_free(p);

	if (rc == CERTPIN_OK)
		check_resigned(&info, policy, plen);
	free(policy);
	return 0;
}
