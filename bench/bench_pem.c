/* bench_pem: see bench_pem.h. */
#include "bench_pem.h"
#include "bench_pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

static _Noreturn void pem_die(const char *what)
{
	fprintf(stderr, "bench_pem: %s failed\n", what);
	exit(1);
}

/* `x` (or the key `key`, if set) as PEM, appended to `out`. */
static void pem_append(bench_pem *out, X509 *x, EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;

	if (!b || !(key ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_X509(b, x)))
		pem_die("writing PEM");
	long n = BIO_get_mem_data(b, &p);
	char *d = n > 0 ? realloc(out->data, out->len + (size_t)n + 1) : NULL;
	if (!d)
		pem_die("allocating PEM");
	memcpy(d + out->len, p, (size_t)n);
	out->data = d;
	out->len += (size_t)n;
	out->data[out->len] = '\0';
	BIO_free(b);
}

void bench_pem_make(bench_pem_pki *out, size_t n)
{
	bench_cert root = bench_pki_issue("bench root", NULL, NULL), inter = bench_pki_issue("bench inter", NULL, &root);

	memset(out, 0, sizeof(*out));
	if (!(out->hosts = calloc(n ? n : 1, sizeof(*out->hosts))))
		pem_die("allocating hosts");
	out->n = n;
	pem_append(&out->root, root.cert, NULL);
	out->root_pin = bench_pki_spki_pin(root.cert);
	for (size_t i = 0; i < n; i++) {
		bench_pem_host *h = &out->hosts[i];
		snprintf(h->name, sizeof(h->name), "h%04zu.bench.certpin.test", i);
		bench_cert leaf = bench_pki_issue(h->name, h->name, &inter);
		pem_append(&h->chain, leaf.cert, NULL);
		pem_append(&h->chain, inter.cert, NULL);
		pem_append(&h->key, NULL, leaf.key);
		h->pin = bench_pki_spki_pin(leaf.cert);
		bench_pki_free(&leaf);
	}
	bench_pki_free(&inter);
	bench_pki_free(&root);
}

void bench_pem_free(bench_pem_pki *pki)
{
	for (size_t i = 0; i < pki->n; i++) {
		free(pki->hosts[i].chain.data);
		free(pki->hosts[i].key.data);
	}
	free(pki->hosts);
	free(pki->root.data);
	memset(pki, 0, sizeof(*pki));
}

certpin_pin bench_pem_fake_pin(unsigned long seed)
{
	return bench_pki_fake_pin(seed);
}
