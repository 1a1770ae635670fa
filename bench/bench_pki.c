/* bench_pki: see bench_pki.h. */
#include "bench_pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static _Noreturn void pki_die(const char *what)
{
	fprintf(stderr, "bench_pki: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	if (!e || !X509_add_ext(x, e, -1))
		pki_die("adding a certificate extension");
	X509_EXTENSION_free(e);
}

bench_cert bench_pki_issue(const char *cn, const char *dns, const bench_cert *issuer)
{
	static long serial = 1;
	bench_cert c = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	char san[300];

	if (!c.cert || !c.key || !name)
		pki_die("making a key");
	if (!X509_set_version(c.cert, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(c.cert), serial++) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c.cert), -86400L) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c.cert), 30L * 86400L) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(c.cert, name) ||
	    !X509_set_issuer_name(c.cert, issuer ? X509_get_subject_name(issuer->cert) : name) ||
	    !X509_set_pubkey(c.cert, c.key))
		pki_die("filling a certificate");
	X509_NAME_free(name);

	X509V3_set_ctx(&v3, issuer ? issuer->cert : c.cert, c.cert, NULL, NULL, 0);
	add_ext(c.cert, &v3, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(c.cert, &v3, NID_authority_key_identifier, "keyid:always");
	if (!dns) {
		add_ext(c.cert, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c.cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		snprintf(san, sizeof(san), "DNS:%s", dns);
		add_ext(c.cert, &v3, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c.cert, &v3, NID_key_usage, "critical,digitalSignature");
		add_ext(c.cert, &v3, NID_ext_key_usage, "serverAuth");
		add_ext(c.cert, &v3, NID_subject_alt_name, san);
	}
	if (!X509_sign(c.cert, issuer ? issuer->key : c.key, EVP_sha256()))
		pki_die("signing a certificate");

	/*
	 * Handed out as decoded from its DER, as a peer's certificate is: an
	 * X509 built field by field keeps no encoding, and OpenSSL re-encodes
	 * it for every digest (X509_digest() took 20 us instead of 2).
	 */
	unsigned char *der = NULL;
	int len = i2d_X509(c.cert, &der);
	const unsigned char *p = der;
	X509 *decoded = len > 0 ? d2i_X509(NULL, &p, len) : NULL;
	if (!decoded)
		pki_die("decoding a certificate");
	OPENSSL_free(der);
	X509_free(c.cert);
	c.cert = decoded;
	return c;
}

void bench_pki_free(bench_cert *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	c->cert = NULL;
	c->key = NULL;
}

certpin_pin bench_pki_spki_pin(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	certpin_pin pin;

	if (len <= 0 || certpin_pin_from_cert_der(&pin, der, (size_t)len, CERTPIN_PIN_SPKI_SHA256) != CERTPIN_OK)
		pki_die("computing a pin");
	OPENSSL_free(der);
	return pin;
}

certpin_pin bench_pki_fake_pin(unsigned long seed)
{
	certpin_pin pin;
	unsigned long long s = 0x9e3779b97f4a7c15ull * (seed + 1);

	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	for (size_t i = 0; i < sizeof(pin.digest); i++) {
		/* splitmix64, one byte per step */
		s += 0x9e3779b97f4a7c15ull;
		unsigned long long z = s;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		pin.digest[i] = (unsigned char)(z ^ (z >> 31));
	}
	return pin;
}

void bench_pki_add_rule(certpin_policy *p, const char *pattern, const certpin_pin *a, const certpin_pin *b)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_error err;

	o.pattern = pattern;
	if (certpin_policy_add_host(p, &o, &err) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, pattern, a, CERTPIN_POS_ANY, NULL, &err) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, pattern, b, CERTPIN_POS_ANY, NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "bench_pki: rule %s: %s\n", pattern, err.message);
		exit(1);
	}
}
