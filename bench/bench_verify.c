/*
 * bench_verify: cost of the pin decision and of the digests it needs.
 *
 *   bench_verify PKI_DIR [ITERATIONS] [RUNS]
 *
 * PKI_DIR is made by tests/data/mkpki.sh.  The chain leaf -> intermediate ->
 * root is verified with OpenSSL once (the decision engine is meant for the
 * verified chain), its digests computed, and then:
 *
 *   1. certpin_verify() on the precomputed digests, 3 certificates, 2 pins,
 *      for four policies (match on the leaf, match on the root, mismatch, host
 *      not pinned); ITERATIONS calls per run, the median of RUNS runs;
 *   2. the per-certificate cost of the digests from X509 objects the plain
 *      way (i2d_X509_PUBKEY + EVP_Digest, SHA-256 fetched per call or once,
 *      for SPKI pins; X509_digest for certificate pins; the binding itself
 *      rebuilds the SPKI without i2d and reuses one hashing context), and from DER
 *      (certpin_chain_elem_from_der), with d2i_X509 for scale;
 *   3. the binding's whole check, as a handshake runs it: the verify
 *      callback certpin_ssl_attach() installs, called on the verified chain
 *      (host name from the verification parameters, policy lookup, the
 *      digests from the leaf up to the first matching depth, the decision,
 *      the result recorded on the SSL); for a leaf pin, a root pin (all three
 *      certificates hashed) and a mismatch.
 *
 * Figures only; nothing here asserts a timing.
 */
#include "certpin.h"
#include "bench_common.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define HOST "api.certpin.test"
#define FILLER_HOSTS 50

static volatile unsigned long sink;

static void die(const char *msg)
{
	fprintf(stderr, "bench_verify: %s\n", msg);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static X509 *read_cert(BIO *b)
{
	return PEM_read_bio_X509(b, NULL, NULL, NULL);
}

static certpin_policy *make_policy(const char *dir, const char *pin1, certpin_position pos1, const char *pin2,
	certpin_position pos2)
{
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_error err;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	/* Other rules, so the host index is not trivially small. */
	for (int i = 0; i < FILLER_HOSTS; i++) {
		certpin_pin filler = bench_named_pin("bench_verify", dir, "rogue-root");
		snprintf(name, sizeof(name), "%sservice%d.example.com", i % 2 ? "**." : "", i);
		o.pattern = name;
		if (certpin_policy_add_host(p, &o, &err) != CERTPIN_OK ||
		    certpin_policy_add_pin(p, name, &filler, CERTPIN_POS_ANY, NULL, &err) != CERTPIN_OK)
			die(err.message);
	}
	certpin_pin a = bench_named_pin("bench_verify", dir, pin1), b = bench_named_pin("bench_verify", dir, pin2);
	o.pattern = HOST;
	if (certpin_policy_add_host(p, &o, &err) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, HOST, &a, pos1, NULL, &err) != CERTPIN_OK ||
	    certpin_policy_add_pin(p, HOST, &b, pos2, NULL, &err) != CERTPIN_OK)
		die(err.message);
	return p;
}

/* SPKI digest as the OpenSSL binding computes it. */
static void spki_digest(unsigned char out[32], X509 *x, const EVP_MD *md)
{
	unsigned char *der = NULL;
	unsigned int n = 32;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0 || !EVP_Digest(der, (size_t)len, out, &n, md, NULL))
		die("SPKI digest failed");
	OPENSSL_free(der);
}

typedef struct {
	const char *label;
	certpin_policy *policy;
	const char *host;
	certpin_verdict want;
	int want_depth;
} scenario;

static double time_verify(const scenario *s, const certpin_chain_elem *chain, size_t n, long iters, int runs)
{
	double per[64];
	certpin_result res;
	int64_t now = (int64_t)time(NULL);

	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			int rc = certpin_verify(&res, s->policy, s->host, chain, n, now);
			sink += (unsigned long)rc + (unsigned long)res.verdict;
		}
		per[r] = (bench_now_ns() - t0) / (double)iters;
	}
	return bench_median(per, (size_t)runs);
}

/* Median over RUNS of the per-certificate cost of `what` on every chain certificate. */
enum op { OP_SPKI, OP_SPKI_PREFETCHED, OP_CERT, OP_DER_ELEM, OP_D2I };

static double time_op(enum op op, X509 **certs, unsigned char **der, int *derlen, size_t n, long iters, int runs,
	const EVP_MD *fetched)
{
	double per[64];
	unsigned char d[32];
	unsigned int dl;
	certpin_chain_elem e;

	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			for (size_t k = 0; k < n; k++) {
				switch (op) {
				case OP_SPKI:
					spki_digest(d, certs[k], EVP_sha256());
					break;
				case OP_SPKI_PREFETCHED:
					spki_digest(d, certs[k], fetched);
					break;
				case OP_CERT:
					dl = sizeof(d);
					if (!X509_digest(certs[k], EVP_sha256(), d, &dl))
						die("X509_digest failed");
					break;
				case OP_DER_ELEM:
					if (certpin_chain_elem_from_der(&e, der[k], (size_t)derlen[k]) != CERTPIN_OK)
						die("certpin_chain_elem_from_der failed");
					d[0] = e.spki_sha256[0];
					break;
				case OP_D2I: {
					const unsigned char *p = der[k];
					X509 *x = d2i_X509(NULL, &p, derlen[k]);
					if (!x)
						die("d2i_X509 failed");
					d[0] = (unsigned char)X509_get_version(x);
					X509_free(x);
					break;
				}
				}
				sink += d[0];
			}
		}
		per[r] = (bench_now_ns() - t0) / (double)(iters * (long)n);
	}
	return bench_median(per, (size_t)runs);
}

/*
 * The binding's check end to end: per call, the verify callback that
 * certpin_ssl_attach() installed runs on the verified chain in `sctx` as
 * OpenSSL calls it for the leaf after a successful chain walk.  Median over
 * RUNS of the time per call; *passed says whether the last call let the
 * chain through (certpin_ssl_result() has no result to give: no handshake
 * ran on `ssl`).
 */
static double time_binding(SSL *ssl, X509_STORE_CTX *sctx, long iters, int runs, int *passed)
{
	double per[64];
	SSL_verify_cb cb = SSL_get_verify_callback(ssl);
	int ok = 0;

	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			X509_STORE_CTX_set_error(sctx, X509_V_OK);
			X509_STORE_CTX_set_error_depth(sctx, 0);
			ok = cb(1, sctx);
			sink += (unsigned long)ok;
		}
		per[r] = (bench_now_ns() - t0) / (double)iters;
	}
	*passed = ok == 1;
	return bench_median(per, (size_t)runs);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_verify PKI_DIR [ITERATIONS] [RUNS]\n");
		return 2;
	}
	const char *dir = argv[1];
	long iters = argc > 2 ? atol(argv[2]) : 1000000;
	int runs = argc > 3 ? atoi(argv[3]) : 7;
	if (iters < 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "bench_verify: ITERATIONS >= 1, 1 <= RUNS <= 64\n");
		return 2;
	}

	/* Verify leaf + intermediate against the root, as a TLS client would. */
	BIO *b = BIO_new_file(bench_path(dir, "chain.pem"), "r");
	if (!b)
		die("cannot open chain.pem");
	X509 *leaf = read_cert(b), *inter = read_cert(b);
	BIO_free(b);
	if (!leaf || !inter)
		die("chain.pem must hold the leaf and the intermediate");
	X509_STORE *store = X509_STORE_new();
	if (!store || X509_STORE_load_file(store, bench_path(dir, "trust.pem")) != 1)
		die("cannot load trust.pem");
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	sk_X509_push(untrusted, inter);
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	if (!sctx || !X509_STORE_CTX_init(sctx, store, leaf, untrusted) || X509_verify_cert(sctx) != 1)
		die("the test chain does not verify");
	STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(sctx);
	size_t n = (size_t)sk_X509_num(chain);
	if (n != 3)
		die("expected a verified chain of 3 certificates");

	X509 *certs[3];
	unsigned char *der[3];
	int derlen[3];
	certpin_chain_elem elems[3];
	memset(elems, 0, sizeof(elems));
	for (size_t i = 0; i < n; i++) {
		unsigned int dl = 32;
		certs[i] = sk_X509_value(chain, (int)i);
		der[i] = NULL;
		derlen[i] = i2d_X509(certs[i], &der[i]);
		if (derlen[i] <= 0)
			die("i2d_X509 failed");
		spki_digest(elems[i].spki_sha256, certs[i], EVP_sha256());
		if (!X509_digest(certs[i], EVP_sha256(), elems[i].cert_sha256, &dl))
			die("X509_digest failed");
		elems[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	}

	scenario sc[] = {
		{ "match, leaf pin (depth 0)", make_policy(dir, "leaf", CERTPIN_POS_LEAF, "backup", CERTPIN_POS_LEAF),
			HOST, CERTPIN_VERDICT_MATCH, 0 },
		{ "match, root pin (depth 2)", make_policy(dir, "backup", CERTPIN_POS_LEAF, "root", CERTPIN_POS_ANY),
			HOST, CERTPIN_VERDICT_MATCH, 2 },
		{ "mismatch (all 3 x 2 compared)", make_policy(dir, "backup", CERTPIN_POS_ANY, "rogue-root",
			CERTPIN_POS_ANY), HOST, CERTPIN_VERDICT_MISMATCH, -1 },
		{ "host not pinned", make_policy(dir, "leaf", CERTPIN_POS_LEAF, "backup", CERTPIN_POS_LEAF),
			"www.unpinned.test", CERTPIN_VERDICT_NOT_PINNED, -1 },
	};

	/* The setup must give the intended verdicts, or the figures mean nothing. */
	for (size_t s = 0; s < sizeof(sc) / sizeof(sc[0]); s++) {
		certpin_result res;
		int rc = certpin_verify(&res, sc[s].policy, sc[s].host, elems, n, (int64_t)time(NULL));
		if ((rc == CERTPIN_OK) != (sc[s].want != CERTPIN_VERDICT_MISMATCH) || res.verdict != sc[s].want ||
		    res.depth != sc[s].want_depth) {
			fprintf(stderr, "bench_verify: scenario \"%s\" gave verdict %s depth %d\n", sc[s].label,
				certpin_verdict_name(res.verdict), res.depth);
			return 1;
		}
	}

	printf("bench_verify: %s, %ld iterations x %d runs (median), chain of %zu, 2 pins, %d other rules\n",
		OpenSSL_version(OPENSSL_VERSION), iters, runs, n, FILLER_HOSTS);
	printf("\ncertpin_verify() on precomputed digests:\n");
	double worst = 0;
	for (size_t s = 0; s < sizeof(sc) / sizeof(sc[0]); s++) {
		double ns = time_verify(&sc[s], elems, n, iters, runs);
		if (ns > worst)
			worst = ns;
		printf("  %-34s %8.1f ns/check\n", sc[s].label, ns);
	}

	long diters = iters / 20 > 0 ? iters / 20 : 1;
	EVP_MD *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!fetched)
		die("cannot fetch SHA256");
	double spki = time_op(OP_SPKI, certs, der, derlen, n, diters, runs, NULL);
	double spki_f = time_op(OP_SPKI_PREFETCHED, certs, der, derlen, n, diters, runs, fetched);
	double cert = time_op(OP_CERT, certs, der, derlen, n, diters, runs, NULL);
	double delem = time_op(OP_DER_ELEM, certs, der, derlen, n, diters, runs, NULL);
	double d2i = time_op(OP_D2I, certs, der, derlen, n, diters / 10 > 0 ? diters / 10 : 1, runs, NULL);

	printf("\nDigests per certificate (%ld iterations x %zu certificates x %d runs):\n", diters, n, runs);
	printf("  %-52s %8.1f ns\n", "SPKI pin: i2d_X509_PUBKEY + EVP_sha256() per call", spki);
	printf("  %-52s %8.1f ns\n", "  same, SHA-256 fetched once", spki_f);
	printf("  %-52s %8.1f ns\n", "certificate pin: X509_digest(SHA-256)", cert);
	printf("  %-52s %8.1f ns\n", "both from DER: certpin_chain_elem_from_der", delem);
	printf("  %-52s %8.1f ns\n", "for scale, d2i_X509 (what the check avoids)", d2i);

	/* 3. the binding's check on the verified chain, digests included */
	SSL_CTX *sslctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = sslctx ? SSL_new(sslctx) : NULL;
	if (!ssl || !X509_STORE_CTX_set_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx(), ssl) ||
	    !X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(sctx), HOST, 0))
		die("cannot set up the binding benchmark");
	printf("\nThe binding's whole check on the verified chain of 3 (host name, lookup, digests from the\n"
	       "leaf up to the first match, decision, result recorded), %ld iterations x %d runs:\n", diters, runs);
	double bworst = 0;
	for (size_t s = 0; s < 3; s++) {
		int passed;
		if (certpin_ssl_attach(ssl, sc[s].policy, NULL) != CERTPIN_OK)
			die("certpin_ssl_attach failed");
		double ns = time_binding(ssl, sctx, diters, runs, &passed);
		if (passed != (sc[s].want == CERTPIN_VERDICT_MATCH))
			die("the binding gave an unexpected verdict");
		if (ns > bworst)
			bworst = ns;
		printf("  %-34s %8.1f ns/check\n", sc[s].label, ns);
	}
	printf("verify target <= 1 us per check: decision alone worst %.1f ns; binding's whole check worst %.1f ns\n",
		worst, bworst);
	SSL_free(ssl);
	SSL_CTX_free(sslctx);

	EVP_MD_free(fetched);
	for (size_t s = 0; s < sizeof(sc) / sizeof(sc[0]); s++)
		certpin_policy_free(sc[s].policy);
	for (size_t i = 0; i < n; i++)
		OPENSSL_free(der[i]);
	sk_X509_pop_free(chain, X509_free);
	X509_STORE_CTX_free(sctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	X509_free(leaf);
	X509_free(inter);
	return 0;
}
