/*
 * bench_pem: the bench PKI (bench_pki.c) handed over as PEM text and pins,
 * for the benchmarks of TLS stacks whose headers cannot be included beside
 * OpenSSL's (wolfSSL's compatibility types clash with OpenSSL's).  This
 * header needs certpin.h and standard C only.  The functions exit with a
 * message on any failure.
 */
#ifndef CERTPIN_BENCH_PEM_H
#define CERTPIN_BENCH_PEM_H

#include "certpin.h"

#include <stddef.h>

typedef struct bench_pem {
	char *data;                     /* PEM text, NUL-terminated; `len` without the NUL */
	size_t len;
} bench_pem;

typedef struct bench_pem_host {
	char name[64];                  /* the DNS name of its certificate */
	bench_pem chain;                /* its leaf, then the intermediate */
	bench_pem key;                  /* the leaf's private key */
	certpin_pin pin;                /* the leaf's SPKI pin */
} bench_pem_host;

typedef struct bench_pem_pki {
	bench_pem root;                 /* the root certificate, for clients to trust */
	certpin_pin root_pin;           /* its SPKI pin */
	size_t n;
	bench_pem_host *hosts;
} bench_pem_pki;

/*
 * One root, one intermediate under it, and `n` server certificates under
 * that, each with a P-256 key of its own and the DNS name "h%04zu.bench.certpin.test".
 */
void bench_pem_make(bench_pem_pki *out, size_t n);

void bench_pem_free(bench_pem_pki *pki);

/* bench_pki_fake_pin(): a pin nothing matches, different for each `seed`. */
certpin_pin bench_pem_fake_pin(unsigned long seed);

#endif
