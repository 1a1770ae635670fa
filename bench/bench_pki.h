/*
 * bench_pki: throwaway certificates made in memory with OpenSSL, for the
 * benchmarks that need many distinct keys (bench_handshake, bench_verify and the
 * adapters' and libcurl's benchmarks), and the rules of their policies.
 *
 * Every key is a fresh P-256 key; every certificate is valid from a day ago
 * for 30 days, with the extensions of tests/data/mkpki.sh: CAs with
 * basicConstraints CA:TRUE and keyCertSign, leaves with CA:FALSE,
 * digitalSignature, serverAuth and one DNS name.  Certificates are handed
 * out decoded from their DER, as a peer's are.  Nothing here is kept on
 * disk.  The functions exit with a message on any failure.
 */
#ifndef CERTPIN_BENCH_PKI_H
#define CERTPIN_BENCH_PKI_H

#include "certpin.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef struct bench_cert {
	X509 *cert;
	EVP_PKEY *key;
} bench_cert;

/*
 * A certificate with a new key.  `issuer` NULL: self-signed (a root).
 * `dns` NULL: a CA certificate named `cn`; else a server certificate for
 * the DNS name `dns`.
 */
bench_cert bench_pki_issue(const char *cn, const char *dns, const bench_cert *issuer);

void bench_pki_free(bench_cert *c);

/* The SPKI pin (SHA-256 of the SubjectPublicKeyInfo) of `x`, by certpin's public API. */
certpin_pin bench_pki_spki_pin(X509 *x);

/* A pin with a made-up digest (nothing matches it), different for each `seed`. */
certpin_pin bench_pki_fake_pin(unsigned long seed);

/* A rule for `pattern` in `p` with the pins `a` and `b`, at any position. */
void bench_pki_add_rule(certpin_policy *p, const char *pattern, const certpin_pin *a, const certpin_pin *b);

#endif
