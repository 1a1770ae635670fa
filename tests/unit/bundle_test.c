/*
 * bundle_test: signed policy bundles.
 *
 *   - trust anchors: PEM/DER/file input, wrong key types, duplicates;
 *   - signing and verification, and conformance to the documented signed
 *     bytes: bundles built here with OpenSSL alone (not the library's signer)
 *     must verify, and the library's bundles must verify here;
 *   - every refusal: each single-bit flip of a bundle, every truncation,
 *     wrong and untrusted keys, forged key ids, older/equal versions,
 *     expiry (at the boundary), malformed members, oversize input, a
 *     correctly signed but unloadable policy;
 *   - the state directory: atomic store, anti-rollback, a corrupt stored
 *     bundle is reported and never overwritten, start-up loading.
 */
#include "test.h"
#include "store.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

/* The detail of the last failed bundle call. */
static certpin_error berr;

static const char policy_a[] =
	"{\"schema\": 1, \"policy_version\": 3, \"hosts\": [{\"host\": \"api.certpin.test\", \"pins\": "
	"[\"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}]}\n";
static const char policy_b[] =
	"{\"schema\": 1, \"hosts\": [{\"host\": \"api.certpin.test\", \"pins\": "
	"[\"sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"]}, "
	"{\"host\": \"**.example.com\", \"pins\": [\"sha256/AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"]}]}";

#define NOW INT64_C(1795000000)   /* 2026-11-18T11:06:40Z */
#define DAY 86400

static char dir[256];

typedef struct keypair {
	char *priv, *pub;
} keypair;

static keypair gen(void)
{
	keypair k = { NULL, NULL };

	if (certpin_bundle_keygen(&k.priv, &k.pub) != CERTPIN_OK) {
		fprintf(stderr, "keygen failed\n");
		exit(2);
	}
	return k;
}

static void kp_free(keypair *k)
{
	free(k->priv);
	free(k->pub);
}

static certpin_trust_anchors *anchors_of(const keypair *a, const keypair *b)
{
	certpin_trust_anchors *t = NULL;

	if (certpin_trust_anchors_new(&t) != CERTPIN_OK)
		exit(2);
	if (a && certpin_trust_anchors_add_pubkey_pem(t, a->pub, strlen(a->pub), &berr) != CERTPIN_OK)
		exit(2);
	if (b && certpin_trust_anchors_add_pubkey_pem(t, b->pub, strlen(b->pub), &berr) != CERTPIN_OK)
		exit(2);
	return t;
}

static char *sign(const keypair *k, const char *policy, uint64_t version, int64_t issued, int64_t expires,
	size_t *len)
{
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	char *out = NULL;
	size_t l = 0;

	o.bundle_version = version;
	o.issued = issued;
	o.expires = expires;
	int rc = certpin_bundle_sign(&out, &l, policy, strlen(policy), k->priv, strlen(k->priv), &o, &berr);
	if (rc != CERTPIN_OK) {
		fprintf(stderr, "sign failed: %s\n", certpin_strerror(rc));
		exit(2);
	}
	if (len)
		*len = l;
	return out;
}

/* ---- an independent implementation of the documented format, OpenSSL only ---- */

static void b64(char *out, size_t outlen, const unsigned char *in, size_t len)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	if (n < 0 || (size_t)n >= outlen)
		exit(2);
}

static void spki_pin_of(char out[96], EVP_PKEY *k)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 32;
	int len = i2d_PUBKEY(k, &der);
	char enc[64];

	if (len <= 0 || !EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL))
		exit(2);
	OPENSSL_free(der);
	b64(enc, sizeof(enc), md, 32);
	snprintf(out, 96, "sha256/%s", enc);
}

/*
 * Build a bundle by hand: `members_extra` is inserted verbatim before the
 * closing brace, `key_id_override` replaces the real key id in both the
 * signed bytes and the document.
 */
static char *handmade(const keypair *k, const char *policy, size_t policy_len, const char *version,
	const char *issued, const char *expires, const char *key_id_override, const char *members_extra)
{
	BIO *bio = BIO_new_mem_buf(k->priv, -1);
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32], sig[64];
	unsigned int hl = 32;
	size_t siglen = sizeof(sig);
	char kid[96], hex[65], tbs[1024], sig64[128], *pol64, *doc;
	size_t doclen;

	if (!pk || !md)
		exit(2);
	spki_pin_of(kid, pk);
	if (key_id_override)
		snprintf(kid, sizeof(kid), "%s", key_id_override);
	EVP_Digest(policy, policy_len, h, &hl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	int n = snprintf(tbs, sizeof(tbs),
		"certpin-bundle-v1\nversion %s\nissued %s\nexpires %s\nkey_id %s\npolicy_length %zu\npolicy_sha256 %s\n",
		version, issued, expires, kid, policy_len, hex);
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)tbs, (size_t)n) != 1)
		exit(2);
	b64(sig64, sizeof(sig64), sig, 64);
	pol64 = malloc(policy_len * 2 + 8);
	b64(pol64, policy_len * 2 + 8, (const unsigned char *)policy, policy_len);
	doclen = strlen(pol64) + 1024;
	doc = malloc(doclen);
	snprintf(doc, doclen,
		"{\"certpin_bundle\":1,\"version\":%s,\"issued\":\"%s\",\"expires\":\"%s\",\"key_id\":\"%s\","
		"\"policy\":\"%s\",\"signature\":\"%s\"%s}",
		version, issued, expires, kid, pol64, sig64, members_extra ? members_extra : "");
	free(pol64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return doc;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_anchors(void)
{
	certpin_trust_anchors *t = NULL;
	keypair a = gen(), b = gen();
	size_t len;
	char *s;

	CHECK_INT(certpin_trust_anchors_new(&t), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_count(t), 0);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, a.pub, strlen(a.pub), &berr), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_count(t), 1);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, a.pub, strlen(a.pub), &berr), CERTPIN_E_DUPLICATE);
	/* two keys in one text, one of them already present: nothing is added */
	size_t both_len = strlen(a.pub) + strlen(b.pub);
	char *both = malloc(both_len + 1);
	snprintf(both, both_len + 1, "%s%s", b.pub, a.pub);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, both, both_len, &berr), CERTPIN_E_DUPLICATE);
	CHECK_INT(certpin_trust_anchors_count(t), 1);
	certpin_trust_anchors_free(t);
	CHECK_INT(certpin_trust_anchors_new(&t), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, both, both_len, &berr), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_count(t), 2);
	free(both);

	/* the private key, another key type, a certificate, garbage */
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, a.priv, strlen(a.priv), &berr), CERTPIN_E_DECODE);
	s = test_read_file(test_pki("p256.pub"), &len);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, s, len, &berr), CERTPIN_E_UNSUPPORTED);
	free(s);
	s = test_read_file(test_pki("rsa2048.pub"), &len);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, s, len, &berr), CERTPIN_E_UNSUPPORTED);
	free(s);
	s = test_read_file(test_pki("ed25519.pem"), &len);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, s, len, &berr), CERTPIN_E_DECODE);
	free(s);
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, "hello", 5, &berr), CERTPIN_E_DECODE);
	CHECK_INT(certpin_trust_anchors_add_pubkey_der(t, "\x30\x03\x02\x01\x00", 5, &berr), CERTPIN_E_DECODE);
	CHECK_INT(certpin_trust_anchors_count(t), 2);

	/* a file: PEM from the test PKI, and DER with trailing garbage refused */
	CHECK_INT(certpin_trust_anchors_add_file(t, test_pki("ed25519.pub"), &berr), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_count(t), 3);
	CHECK_INT(certpin_trust_anchors_add_file(t, test_pki("no-such-file"), &berr), CERTPIN_E_IO);
	{
		BIO *bio = BIO_new_mem_buf(b.pub, -1);
		EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		unsigned char *der = NULL;
		int dl = i2d_PUBKEY(k, &der);
		certpin_trust_anchors *t2 = NULL;
		unsigned char *longer = malloc((size_t)dl + 1);

		memcpy(longer, der, (size_t)dl);
		longer[dl] = 0;
		CHECK_INT(certpin_trust_anchors_new(&t2), CERTPIN_OK);
		CHECK_INT(certpin_trust_anchors_add_pubkey_der(t2, longer, (size_t)dl + 1, &berr), CERTPIN_E_DECODE);
		CHECK_INT(certpin_trust_anchors_add_pubkey_der(t2, der, (size_t)dl, &berr), CERTPIN_OK);
		CHECK_INT(certpin_trust_anchors_count(t2), 1);
		certpin_trust_anchors_free(t2);
		free(longer);
		OPENSSL_free(der);
		EVP_PKEY_free(k);
		BIO_free(bio);
	}
	certpin_trust_anchors_free(t);
	certpin_trust_anchors_free(NULL);
	kp_free(&a);
	kp_free(&b);
}

static void test_sign_verify(void)
{
	keypair a = gen();
	certpin_trust_anchors *t = anchors_of(&a, NULL);
	certpin_bundle_info info;
	certpin_policy *p = NULL;
	char *bundle, *pol = NULL;
	size_t len, plen = 0;

	bundle = sign(&a, policy_a, 7, NOW - DAY, NOW + 30 * DAY, &len);
	CHECK_CONTAINS(bundle, "\"certpin_bundle\": 1");
	CHECK_CONTAINS(bundle, "\"version\": 7");
	CHECK_CONTAINS(bundle, "\"issued\": \"2026-11-17T11:06:40Z\"");
	CHECK_INT(certpin_bundle_verify(&info, &p, t, bundle, len, NOW, &berr), CERTPIN_OK);
	CHECK_INT(info.version, CERTPIN_BUNDLE_INFO_VERSION);
	CHECK_INT(info.parsed, 1);
	CHECK_INT(info.bundle_version, 7);
	CHECK_INT(info.issued, NOW - DAY);
	CHECK_INT(info.expires, NOW + 30 * DAY);
	CHECK_INT(info.policy_len, strlen(policy_a));
	CHECK_STR(berr.message, "");
	CHECK(p != NULL);
	CHECK_INT(certpin_policy_host_count(p), 1);
	CHECK_INT(certpin_policy_version(p), 3);
	certpin_policy_free(p);

	/* policy may be NULL; info may be NULL */
	CHECK_INT(certpin_bundle_verify(NULL, NULL, t, bundle, len, NOW, &berr), CERTPIN_OK);

	/* the embedded bytes are exactly the input */
	CHECK_INT(certpin_bundle_parse_unverified(&info, &pol, &plen, bundle, len, &berr), CERTPIN_OK);
	CHECK_INT(plen, strlen(policy_a));
	CHECK(pol && memcmp(pol, policy_a, plen) == 0);
	free(pol);

	/* sign refuses an unloadable policy, a non-Ed25519 key, bad options */
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	char *out = NULL;
	size_t ol = 0;
	o.bundle_version = 1;
	o.issued = NOW;
	o.expires = NOW + DAY;
	CHECK_INT(certpin_bundle_sign(&out, &ol, "{\"schema\": 2}", 13, a.priv, strlen(a.priv), &o, &berr), CERTPIN_E_POLICY);
	CHECK(out == NULL);
	size_t kl;
	char *p256 = test_read_file(test_pki("p256.key"), &kl);
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), p256, kl, &o, &berr), CERTPIN_E_UNSUPPORTED);
	free(p256);
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), "junk", 4, &o, &berr), CERTPIN_E_DECODE);
	o.expires = NOW;
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), a.priv, strlen(a.priv), &o, &berr),
		CERTPIN_E_INVALID_ARG);
	o.expires = NOW + DAY;
	o.bundle_version = 0;
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), a.priv, strlen(a.priv), &o, &berr),
		CERTPIN_E_INVALID_ARG);
	o.bundle_version = (uint64_t)INT64_MAX + 1;
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), a.priv, strlen(a.priv), &o, &berr),
		CERTPIN_E_INVALID_ARG);
	o.bundle_version = (uint64_t)INT64_MAX;
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), a.priv, strlen(a.priv), &o, &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, out, ol, NOW, &berr), CERTPIN_OK);
	CHECK(info.bundle_version == (uint64_t)INT64_MAX);
	free(out);

	/* a DER private key signs too (PKCS#8 from the test PKI) */
	char *edkey = test_read_file(test_pki("ed25519.key"), &kl);
	CHECK_INT(certpin_bundle_sign(&out, &ol, policy_a, strlen(policy_a), edkey, kl, &(certpin_bundle_sign_options){
		CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION, 2, NOW, NOW + DAY }, &berr), CERTPIN_OK);
	free(edkey);
	certpin_trust_anchors *t2 = NULL;
	CHECK_INT(certpin_trust_anchors_new(&t2), CERTPIN_OK);
	CHECK_INT(certpin_trust_anchors_add_file(t2, test_pki("ed25519.pub"), &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t2, out, ol, NOW, &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, out, ol, NOW, &berr), CERTPIN_E_UNTRUSTED_KEY);
	certpin_trust_anchors_free(t2);
	free(out);

	free(bundle);
	certpin_trust_anchors_free(t);
	kp_free(&a);
}

/* The documented signed bytes, produced without the library, verify with it. */
static void test_conformance(void)
{
	keypair a = gen();
	certpin_trust_anchors *t = anchors_of(&a, NULL);
	certpin_bundle_info info;
	certpin_policy *p = NULL;
	char *doc;

	doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL, NULL);
	CHECK_INT(certpin_bundle_verify(&info, &p, t, doc, strlen(doc), NOW, &berr), CERTPIN_OK);
	CHECK_INT(info.bundle_version, 42);
	CHECK_INT(certpin_policy_host_count(p), 2);
	certpin_policy_free(p);
	free(doc);

	/* the same with the signed bytes of another version: signature fails */
	doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL, NULL);
	char *v = strstr(doc, "\"version\":42");
	CHECK(v != NULL);
	if (v)
		v[11] = '3';     /* 43 */
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_SIGNATURE);
	free(doc);

	/* correctly signed, but the policy does not load: refused as a policy error */
	static const char badpol[] = "{\"schema\": 1, \"hosts\": [{\"host\": \"a.test\", \"pins\": [\"sha1/xx\"]}]}";
	doc = handmade(&a, badpol, strlen(badpol), "5", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL, NULL);
	p = (certpin_policy *)&info;   /* must be reset to NULL */
	CHECK_INT(certpin_bundle_verify(&info, &p, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_POLICY);
	CHECK(p == NULL);
	CHECK_CONTAINS(berr.message, "bundle policy");
	free(doc);

	/* a policy with a NUL byte inside is embedded exactly and refused by the policy loader */
	static const char nulpol[] = "{\"schema\": 1, \"hosts\": []}\0junk";
	doc = handmade(&a, nulpol, sizeof(nulpol) - 1, "6", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL, NULL);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_POLICY);
	CHECK_INT(info.policy_len, sizeof(nulpol) - 1);
	free(doc);

	/* extra member, even correctly signed */
	doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL,
		",\"comment\":\"x\"");
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_CONTAINS(berr.message, "unknown member \"comment\"");
	free(doc);

	/* duplicate member */
	doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL,
		",\"version\":43");
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
	free(doc);

	/* non-canonical forms, signed consistently: still refused */
	const char *bad_times[][2] = {
		{ "2026-11-01T00:00:00+00:00", "2027-01-01T00:00:00Z" },
		{ "2026-11-01", "2027-01-01T00:00:00Z" },
		{ "2026-11-01T00:00:00z", "2027-01-01T00:00:00Z" },
		{ "2026-11-01T00:00:00Z", "2027-01-01T00:00:00.5Z" },
		{ "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z" },     /* expires == issued */
		{ "2027-01-02T00:00:00Z", "2027-01-01T00:00:00Z" },
	};
	for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		doc = handmade(&a, policy_b, strlen(policy_b), "42", bad_times[i][0], bad_times[i][1], NULL, NULL);
		CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
		free(doc);
	}
	const char *bad_versions[] = { "0", "-1", "1.0", "\"7\"", "1e3", "9223372036854775808", "true", "null" };
	for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
		doc = handmade(&a, policy_b, strlen(policy_b), bad_versions[i], "2026-11-01T00:00:00Z",
			"2027-01-01T00:00:00Z", NULL, NULL);
		CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
		free(doc);
	}
	/* a key id in another pin form */
	const char *bad_kids[] = { "cert-sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "sha1/AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "" };
	for (size_t i = 0; i < sizeof(bad_kids) / sizeof(bad_kids[0]); i++) {
		doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z",
			bad_kids[i], NULL);
		CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
		free(doc);
	}
	certpin_trust_anchors_free(t);
	kp_free(&a);
}

/* Flip one bit at every byte; truncate at every length. */
static void test_tamper_truncate(void)
{
	keypair a = gen();
	certpin_trust_anchors *t = anchors_of(&a, NULL);
	certpin_bundle_info info;
	size_t len, refused = 0, total = 0;
	char *bundle = sign(&a, policy_b, 9, NOW - DAY, NOW + DAY, &len);
	char *copy = malloc(len + 1);
	int trunc_ok = 1;

	for (size_t i = 0; i < len; i++) {
		memcpy(copy, bundle, len);
		copy[i] ^= (char)(1u << (i % 8));
		int rc = certpin_bundle_verify(&info, NULL, t, copy, len, NOW, &berr);
		total++;
		if (rc != CERTPIN_OK)
			refused++;
		else
			fprintf(stderr, "bit flip at %zu accepted\n", i);
	}
	CHECK_INT(refused, total);
	CHECK(total > 300);

	/* every strict prefix fails, except dropping only the final newline */
	for (size_t l = 0; l + 1 < len; l++) {
		int rc = certpin_bundle_verify(&info, NULL, t, bundle, l, NOW, &berr);
		if (rc != CERTPIN_E_BUNDLE) {
			fprintf(stderr, "prefix of %zu bytes: %d\n", l, rc);
			trunc_ok = 0;
		}
	}
	CHECK(trunc_ok);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, bundle, len - 1, NOW, &berr), CERTPIN_OK);

	/* trailing data, NUL included */
	char *longer = malloc(len + 8);
	memcpy(longer, bundle, len);
	memcpy(longer + len, "{}", 2);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, longer, len + 2, NOW, &berr), CERTPIN_E_BUNDLE);
	longer[len] = '\0';
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, longer, len + 1, NOW, &berr), CERTPIN_E_BUNDLE);
	free(longer);

	/* oversize: refused before parsing */
	size_t big = CERTPIN_BUNDLE_MAX + 1;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	memcpy(huge, bundle, len);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, huge, big, NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_CONTAINS(berr.message, "larger than");
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, huge, big - 1, NOW, &berr), CERTPIN_OK);   /* at the limit */
	free(huge);

	/* not an object, empty */
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, "[]", 2, NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, "", 0, NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_INT(certpin_bundle_verify(&info, NULL, NULL, bundle, len, NOW, &berr), CERTPIN_E_INVALID_ARG);

	free(copy);
	free(bundle);
	certpin_trust_anchors_free(t);
	kp_free(&a);
}

static void test_keys_and_expiry(void)
{
	keypair a = gen(), b = gen();
	certpin_trust_anchors *ta = anchors_of(&a, NULL), *tab = anchors_of(&a, &b);
	certpin_bundle_info info;
	size_t len, lb;
	char *ba = sign(&a, policy_a, 3, NOW - DAY, NOW + DAY, &len);
	char *bb = sign(&b, policy_a, 4, NOW - DAY, NOW + DAY, &lb);

	/* wrong key: not trusted */
	CHECK_INT(certpin_bundle_verify(&info, NULL, ta, bb, lb, NOW, &berr), CERTPIN_E_UNTRUSTED_KEY);
	CHECK_CONTAINS(berr.message, "not a trusted key");
	CHECK_INT(info.parsed, 1);
	/* rotation: both keys trusted */
	CHECK_INT(certpin_bundle_verify(&info, NULL, tab, ba, len, NOW, &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_verify(&info, NULL, tab, bb, lb, NOW, &berr), CERTPIN_OK);

	/* forged key id: B's signature presented as A's */
	char kid_a[CERTPIN_PIN_STRLEN], kid_b[CERTPIN_PIN_STRLEN];
	certpin_bundle_info ia, ib;
	CHECK_INT(certpin_bundle_parse_unverified(&ia, NULL, NULL, ba, len, &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_parse_unverified(&ib, NULL, NULL, bb, lb, &berr), CERTPIN_OK);
	CHECK_INT(certpin_pin_format(kid_a, sizeof(kid_a), &ia.key_id, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	CHECK_INT(certpin_pin_format(kid_b, sizeof(kid_b), &ib.key_id, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	char *at = strstr(bb, kid_b);
	CHECK(at != NULL && strlen(kid_a) == strlen(kid_b));
	if (at)
		memcpy(at, kid_a, strlen(kid_a));
	CHECK_INT(certpin_bundle_verify(&info, NULL, ta, bb, lb, NOW, &berr), CERTPIN_E_SIGNATURE);

	/* expiry: the last second before it is fine, the expiry second is not */
	CHECK_INT(certpin_bundle_verify(&info, NULL, ta, ba, len, NOW + DAY - 1, &berr), CERTPIN_OK);
	CHECK_INT(certpin_bundle_verify(&info, NULL, ta, ba, len, NOW + DAY, &berr), CERTPIN_E_EXPIRED_BUNDLE);
	CHECK_CONTAINS(berr.message, "expired");
	/* the signature is checked before expiry: an expired forgery is a signature error */
	CHECK_INT(certpin_bundle_verify(&info, NULL, ta, bb, lb, NOW + 10 * DAY, &berr), CERTPIN_E_SIGNATURE);

	free(ba);
	free(bb);
	certpin_trust_anchors_free(ta);
	certpin_trust_anchors_free(tab);
	kp_free(&a);
	kp_free(&b);
}

static char *state_file(void)
{
	return certpin__path_join(dir, CERTPIN_BUNDLE_STATE_FILE);
}

static char *stored_bytes(size_t *len)
{
	char *path = state_file(), *buf = NULL;
	size_t l = 0;

	if (certpin__store_read(&buf, &l, path, CERTPIN_BUNDLE_MAX, NULL, 0) != CERTPIN_OK)
		buf = NULL;
	free(path);
	if (len)
		*len = l;
	return buf;
}

static void test_update(void)
{
	keypair a = gen(), b = gen();
	certpin_trust_anchors *ta = anchors_of(&a, NULL);
	certpin_bundle_info info;
	certpin_policy *p = NULL;
	size_t l1, l2, l3, lx, sl;
	uint64_t v;
	char *b1 = sign(&a, policy_a, 1, NOW - DAY, NOW + DAY, &l1);
	char *b2 = sign(&a, policy_b, 2, NOW - DAY, NOW + DAY, &l2);
	char *b3exp = sign(&a, policy_b, 3, NOW - 3 * DAY, NOW - DAY, &l3);
	char *bx = sign(&b, policy_b, 10, NOW - DAY, NOW + DAY, &lx);
	char *s;

	CHECK_INT(certpin_bundle_stored_version(&v, dir, &berr), CERTPIN_OK);
	CHECK_INT(v, 0);
	CHECK_INT(certpin_bundle_load_state(&p, &info, ta, dir, NOW, &berr), CERTPIN_E_NOT_FOUND);

	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b1, l1, NOW, &berr), CERTPIN_OK);
	CHECK(p != NULL);
	CHECK_INT(info.have_stored, 0);
	CHECK_INT(info.stored_version, 0);
	CHECK_INT(certpin_policy_host_count(p), 1);
	certpin_policy_free(p);
	s = stored_bytes(&sl);
	CHECK(s && sl == l1 && memcmp(s, b1, l1) == 0);
	free(s);

	/* equal version: rollback, nothing changes */
	p = (certpin_policy *)&info;
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b1, l1, NOW, &berr), CERTPIN_E_ROLLBACK);
	CHECK(p == NULL);
	CHECK_INT(info.stored_version, 1);
	CHECK_CONTAINS(berr.message, "not newer than the stored version 1");

	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b2, l2, NOW, &berr), CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 2);
	certpin_policy_free(p);
	CHECK_INT(certpin_bundle_stored_version(&v, dir, &berr), CERTPIN_OK);
	CHECK_INT(v, 2);

	/* older version: rollback; expired newer: expired; untrusted newer: untrusted */
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b1, l1, NOW, &berr), CERTPIN_E_ROLLBACK);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b3exp, l3, NOW, &berr), CERTPIN_E_EXPIRED_BUNDLE);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, bx, lx, NOW, &berr), CERTPIN_E_UNTRUSTED_KEY);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b2, l2 / 2, NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK(p == NULL);
	s = stored_bytes(&sl);
	CHECK(s && sl == l2 && memcmp(s, b2, l2) == 0);
	free(s);

	/* start-up load */
	CHECK_INT(certpin_bundle_load_state(&p, &info, ta, dir, NOW, &berr), CERTPIN_OK);
	CHECK_INT(info.bundle_version, 2);
	CHECK_INT(info.stored_version, 2);
	CHECK_INT(certpin_policy_host_count(p), 2);
	certpin_policy_free(p);
	CHECK_INT(certpin_bundle_load_state(&p, &info, ta, dir, NOW + 2 * DAY, &berr), CERTPIN_E_EXPIRED_BUNDLE);
	certpin_trust_anchors *tb = anchors_of(&b, NULL);
	CHECK_INT(certpin_bundle_load_state(&p, &info, tb, dir, NOW, &berr), CERTPIN_E_UNTRUSTED_KEY);
	CHECK(p == NULL);
	certpin_trust_anchors_free(tb);

	/* a corrupt stored bundle: reported, never replaced, not even by a newer bundle */
	char *path = state_file();
	CHECK_INT(certpin__store_write(path, b2, l2 - 40, 0644, NULL, 0), CERTPIN_OK);
	CHECK_INT(certpin_bundle_stored_version(&v, dir, &berr), CERTPIN_E_STORE);
	char *b4 = sign(&a, policy_a, 4, NOW - DAY, NOW + DAY, &l1);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b4, l1, NOW, &berr), CERTPIN_E_STORE);
	CHECK_CONTAINS(berr.message, "corrupt");
	CHECK(p == NULL);
	CHECK_INT(certpin_bundle_load_state(&p, &info, ta, dir, NOW, &berr), CERTPIN_E_STORE);
	s = stored_bytes(&sl);
	CHECK(s && sl == l2 - 40 && memcmp(s, b2, sl) == 0);
	free(s);
	/* removing it by hand starts over */
	unlink(path);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, dir, b4, l1, NOW, &berr), CERTPIN_OK);
	certpin_policy_free(p);

	/* a stored bundle tampered with on disk fails its signature at start-up */
	s = stored_bytes(&sl);
	char *sig = s ? strstr(s, "\"signature\": \"") : NULL;
	CHECK(sig != NULL);
	if (sig) {
		sig[15] = sig[15] == 'A' ? 'B' : 'A';
		CHECK_INT(certpin__store_write(path, s, sl, 0644, NULL, 0), CERTPIN_OK);
		CHECK_INT(certpin_bundle_load_state(&p, &info, ta, dir, NOW, &berr), CERTPIN_E_SIGNATURE);
	}
	free(s);

	/* the state directory must exist */
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, ta, missing, b2, l2, NOW, &berr), CERTPIN_E_IO);
	CHECK_INT(certpin_policy_update_from_bundle(NULL, &info, ta, dir, b2, l2, NOW, &berr), CERTPIN_E_INVALID_ARG);

	free(path);
	free(b1);
	free(b2);
	free(b3exp);
	free(b4);
	free(bx);
	certpin_trust_anchors_free(ta);
	kp_free(&a);
	kp_free(&b);
}

static void test_parse_unverified(void)
{
	keypair a = gen();
	certpin_bundle_info info;
	size_t len;
	char *bundle = sign(&a, policy_a, 12, NOW, NOW + DAY, &len);
	char hex[8];

	CHECK_INT(certpin_bundle_parse_unverified(&info, NULL, NULL, bundle, len, &berr), CERTPIN_OK);
	CHECK_INT(info.bundle_version, 12);
	CHECK_INT(info.issued, NOW);
	unsigned char h[32];
	CHECK_INT(certpin__sha256(h, (const unsigned char *)policy_a, strlen(policy_a)), CERTPIN_OK);
	snprintf(hex, sizeof(hex), "%02x%02x", info.policy_sha256[0], info.policy_sha256[1]);
	char want[8];
	snprintf(want, sizeof(want), "%02x%02x", h[0], h[1]);
	CHECK_STR(hex, want);
	CHECK(memcmp(h, info.policy_sha256, 32) == 0);
	CHECK_INT(certpin_bundle_parse_unverified(&info, NULL, NULL, "{}", 2, &berr), CERTPIN_E_BUNDLE);
	CHECK_CONTAINS(berr.message, "missing");
	CHECK_INT(info.parsed, 0);
	free(bundle);
	kp_free(&a);
}

/* Every failing call says why in its certpin_error: code, message, and the member or position at fault. */
static void test_errors(void)
{
	keypair a = gen(), other = gen();
	certpin_trust_anchors *t = anchors_of(&a, NULL);
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	certpin_bundle_info info;
	char *doc = NULL;
	size_t len = 0;

	/* a JSON syntax error: its line and column */
	static const char broken[] = "{\n  \"certpin_bundle\": 1,\n  ]";
	CHECK_INT(certpin_bundle_parse_unverified(&info, NULL, NULL, broken, strlen(broken), &berr), CERTPIN_E_BUNDLE);
	CHECK_INT(berr.code, CERTPIN_E_BUNDLE);
	CHECK_INT(berr.line, 3);
	CHECK(berr.column > 0);
	CHECK_CONTAINS(berr.message, "line 3 column");
	CHECK_INT(info.parsed, 0);

	/* a member at fault: its JSON pointer */
	doc = handmade(&a, policy_b, strlen(policy_b), "42", "2026-11-01T00:00:00Z", "2027-01-01", NULL, NULL);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_STR(berr.path, "/expires");
	CHECK_CONTAINS(berr.message, "UTC time");
	free(doc);
	doc = handmade(&a, policy_b, strlen(policy_b), "0", "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z", NULL, NULL);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, strlen(doc), NOW, &berr), CERTPIN_E_BUNDLE);
	CHECK_STR(berr.path, "/version");
	free(doc);

	/* signed by a key that is not trusted: no member at fault, the key named */
	doc = sign(&other, policy_a, 3, NOW - 60, NOW + 3600, &len);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, len, NOW, &berr), CERTPIN_E_UNTRUSTED_KEY);
	CHECK_INT(berr.code, CERTPIN_E_UNTRUSTED_KEY);
	CHECK_STR(berr.path, "");
	CHECK_CONTAINS(berr.message, "not a trusted key");
	CHECK_INT(info.parsed, 1);
	free(doc);

	/* a success clears the error */
	doc = sign(&a, policy_a, 3, NOW - 60, NOW + 3600, &len);
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, len, NOW, &berr), CERTPIN_OK);
	CHECK_INT(berr.code, CERTPIN_OK);
	CHECK_STR(berr.message, "");
	/* and the error is optional */
	CHECK_INT(certpin_bundle_verify(&info, NULL, t, doc, len - 3, NOW, NULL), CERTPIN_E_BUNDLE);
	free(doc);

	/* signing: the option, the policy and the key at fault each say so */
	o.bundle_version = 1;
	o.issued = NOW;
	o.expires = NOW - 1;
	CHECK_INT(certpin_bundle_sign(&doc, &len, policy_a, strlen(policy_a), a.priv, strlen(a.priv), &o, &berr),
		CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(berr.message, "expiry");
	o.expires = NOW + 60;
	CHECK_INT(certpin_bundle_sign(&doc, &len, "{\"schema\": 9}", 13, a.priv, strlen(a.priv), &o, &berr),
		CERTPIN_E_POLICY);
	CHECK(berr.message[0] != '\0');
	CHECK_INT(certpin_bundle_sign(&doc, &len, policy_a, strlen(policy_a), a.pub, strlen(a.pub), &o, &berr),
		CERTPIN_E_DECODE);
	CHECK_CONTAINS(berr.message, "private key");
	CHECK(doc == NULL);

	/* trust anchors: the file named */
	CHECK_INT(certpin_trust_anchors_add_file(t, test_pki("no-such-file"), &berr), CERTPIN_E_IO);
	CHECK_CONTAINS(berr.message, "no-such-file");
	CHECK_INT(certpin_trust_anchors_add_file(t, test_pki("rsa2048.pub"), &berr), CERTPIN_E_UNSUPPORTED);
	CHECK_CONTAINS(berr.message, "rsa2048.pub: not an Ed25519 public key");
	CHECK_INT(certpin_trust_anchors_add_pubkey_pem(t, a.pub, strlen(a.pub), &berr), CERTPIN_E_DUPLICATE);
	CHECK_CONTAINS(berr.message, "already trusted");

	certpin_trust_anchors_free(t);
	kp_free(&a);
	kp_free(&other);
}

int main(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "%s/certpin-bundle-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_anchors();
	test_sign_verify();
	test_conformance();
	test_tamper_truncate();
	test_keys_and_expiry();
	test_update();
	test_parse_unverified();
	test_errors();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bundle_test: could not remove %s\n", dir);
	return test_finish("bundle_test");
}
