/*
 * bench_verify: the pin check of a 3-certificate verified chain, hashing
 * included, and its parts.
 *
 *   bench_verify [ITERATIONS] [RUNS]
 *
 * Material, made in memory at start (bench_pki.c): CHAINS (16) chains
 * root -> intermediate -> leaf, every certificate with its own P-256 key,
 * each leaf for its own host name.  Each chain is verified by OpenSSL
 * (X509_verify_cert() with the host name set, all 16 roots trusted), so the
 * figures are taken on verified chains of 3.  Policies have POLICY_HOSTS
 * (1024) rules: the 16 hosts, the rest other names (a few wildcards), two
 * pins each.  Three cases, as the issue asks:
 *
 *   leaf pin   the host's pins are its leaf key and a backup: one digest;
 *   root pin   a backup and its root's key, position any: the leaf, the
 *              intermediate and the root are hashed (the worst case);
 *   mismatch   two pins that match nothing: all three hashed, refused.
 *
 * 1. The check as a handshake runs it, by the public API only: a policy is
 *    attached with certpin_ssl_attach() to one SSL per chain, and the
 *    verify callback it installs (SSL_get_verify_callback()) is called on
 *    that chain's X509_STORE_CTX as X509_verify_cert() calls it after a
 *    successful chain walk: at depths 2, 1 and 0, each with its certificate
 *    current and no error.  At depth 0 the binding takes the host name from
 *    the verification parameters, looks the rule up, hashes the SPKIs from
 *    the leaf up to the first match, decides and records the result.  The
 *    checks rotate over the 16 chains, so no key repeats within 16 checks.
 *    Outside a handshake the SSL has no session, so the binding records the
 *    result on the SSL (one block made at the first check) rather than on
 *    the new session of a handshake.  ITERATIONS / 20 checks per run, RUNS
 *    runs, the three cases interleaved run by run (order rotating); per
 *    case the median ns per check with the smallest and largest run.
 * 2. certpin_verify() alone, on digests computed beforehand, for the same
 *    cases and a host that is not pinned (ITERATIONS calls per run).
 * 3. The digests per certificate, for scale (ITERATIONS / 20 per run).
 *
 * Figures only; nothing here asserts a timing (the issue's target, 1 us
 * per check, is printed beside them).
 */
#include "certpin.h"
#include "bench_common.h"
#include "bench_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define CHAINS 16
#define DEPTH 3
#define POLICY_HOSTS 1024
#define MAX_RUNS 64

static volatile unsigned long sink;

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_verify: %s\n", msg);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* One verified chain, its host name, its SSL and the X509_STORE_CTX the callback gets. */
typedef struct chain {
	char host[64];
	bench_cert certs[DEPTH];         /* leaf, intermediate, root */
	STACK_OF(X509) *untrusted;
	X509_STORE_CTX *sctx;
	X509 *verified[DEPTH];           /* X509_STORE_CTX_get0_chain() after verification */
	certpin_chain_elem elems[DEPTH]; /* their digests, for certpin_verify() */
	SSL *ssl;
} chain;

enum { CASE_LEAF, CASE_ROOT, CASE_MISMATCH, CASE_UNPINNED, NCASES };

typedef struct scenario {
	const char *label;
	certpin_policy *policy;
	certpin_verdict want;
	int want_depth;
} scenario;


/* The policy of case `c`: the chains' hosts with that case's pins, then other names up to POLICY_HOSTS. */
static certpin_policy *make_policy(const chain *ch, int c)
{
	certpin_policy *p;
	char name[64];

	if (certpin_policy_new(&p) != CERTPIN_OK)
		die("out of memory");
	for (size_t i = 0; i < CHAINS; i++) {
		certpin_pin a = bench_pki_fake_pin(1000 * (size_t)c + i), b;
		if (c == CASE_LEAF || c == CASE_UNPINNED)
			b = bench_pki_spki_pin(ch[i].certs[0].cert);
		else if (c == CASE_ROOT)
			b = bench_pki_spki_pin(ch[i].certs[2].cert);
		else
			b = bench_pki_fake_pin(1000 * (size_t)c + 500 + i);
		bench_pki_add_rule(p, ch[i].host, &a, &b);
	}
	for (size_t i = CHAINS; i < POLICY_HOSTS; i++) {
		certpin_pin a = bench_pki_fake_pin(2 * i + 100000), b = bench_pki_fake_pin(2 * i + 100001);
		if (i % 50 == 0)
			snprintf(name, sizeof(name), "%s.z%04zu.filler.certpin.test", i % 100 ? "*" : "**", i);
		else
			snprintf(name, sizeof(name), "f%04zu.filler.certpin.test", i);
		bench_pki_add_rule(p, name, &a, &b);
	}
	return p;
}

/* SHA-256 of x's SPKI the plain way: i2d_X509_PUBKEY + EVP_Digest. */
static void spki_digest(unsigned char out[32], X509 *x, const EVP_MD *md)
{
	unsigned char *der = NULL;
	unsigned int n = 32;
	int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0 || !EVP_Digest(der, (size_t)len, out, &n, md, NULL))
		die("SPKI digest failed");
	OPENSSL_free(der);
}

/* Make chain i, verify it with `store`, and give it an SSL of `sslctx`. */
static void chain_init(chain *ch, size_t i, X509_STORE *store, SSL_CTX *sslctx)
{
	char cn[64];

	snprintf(ch->host, sizeof(ch->host), "v%02zu.verify.certpin.test", i);
	snprintf(cn, sizeof(cn), "certpin bench root %zu", i);
	ch->certs[2] = bench_pki_issue(cn, NULL, NULL);
	snprintf(cn, sizeof(cn), "certpin bench intermediate %zu", i);
	ch->certs[1] = bench_pki_issue(cn, NULL, &ch->certs[2]);
	ch->certs[0] = bench_pki_issue(ch->host, ch->host, &ch->certs[1]);
	if (X509_STORE_add_cert(store, ch->certs[2].cert) != 1)
		die("cannot trust a root");

	ch->untrusted = sk_X509_new_null();
	ch->sctx = X509_STORE_CTX_new();
	if (!ch->untrusted || !sk_X509_push(ch->untrusted, ch->certs[1].cert) || !ch->sctx ||
	    !X509_STORE_CTX_init(ch->sctx, store, ch->certs[0].cert, ch->untrusted) ||
	    !X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ch->sctx), ch->host, 0))
		die("cannot set up a verification");
	if (X509_verify_cert(ch->sctx) != 1)
		die("a chain does not verify");
	STACK_OF(X509) *v = X509_STORE_CTX_get0_chain(ch->sctx);
	if (!v || sk_X509_num(v) != DEPTH)
		die("expected a verified chain of 3 certificates");
	for (int d = 0; d < DEPTH; d++) {
		unsigned int dl = 32;
		ch->verified[d] = sk_X509_value(v, d);
		spki_digest(ch->elems[d].spki_sha256, ch->verified[d], EVP_sha256());
		if (!X509_digest(ch->verified[d], EVP_sha256(), ch->elems[d].cert_sha256, &dl))
			die("X509_digest failed");
		ch->elems[d].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	}
	ch->ssl = SSL_new(sslctx);
	if (!ch->ssl || !X509_STORE_CTX_set_ex_data(ch->sctx, SSL_get_ex_data_X509_STORE_CTX_idx(), ch->ssl))
		die("cannot set up an SSL");
}

static void chain_free(chain *ch)
{
	SSL_free(ch->ssl);
	X509_STORE_CTX_free(ch->sctx);
	sk_X509_free(ch->untrusted);
	for (int d = 0; d < DEPTH; d++)
		bench_pki_free(&ch->certs[d]);
}

/*
 * One check as X509_verify_cert() ends it: the callback at depths 2, 1, 0,
 * each with its certificate current.  Returns the callback's last answer.
 */
static int binding_check(SSL_verify_cb cb, chain *ch)
{
	int ok = 1;

	X509_STORE_CTX_set_error(ch->sctx, X509_V_OK);
	for (int d = DEPTH - 1; d >= 0 && ok; d--) {
		X509_STORE_CTX_set_error_depth(ch->sctx, d);
		X509_STORE_CTX_set_current_cert(ch->sctx, ch->verified[d]);
		ok = cb(1, ch->sctx);
	}
	return ok;
}

/* Attach `s`'s policy to every chain's SSL; the callback it installed. */
static SSL_verify_cb attach_all(chain *ch, const scenario *s)
{
	for (size_t i = 0; i < CHAINS; i++)
		if (certpin_ssl_attach(ch[i].ssl, s->policy, NULL) != CERTPIN_OK)
			die("certpin_ssl_attach failed");
	SSL_verify_cb cb = SSL_get_verify_callback(ch[0].ssl);
	if (!cb)
		die("certpin_ssl_attach() installed no verify callback");
	return cb;
}

static void min_max(const double *v, int n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (int i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

/* Per-certificate cost of the digests, on the 3 certificates of one chain. */
enum op { OP_SPKI, OP_SPKI_PREFETCHED, OP_CERT, OP_DER_ELEM, OP_D2I };

static double time_op(enum op op, X509 **certs, unsigned char **der, int *derlen, long iters, int runs,
	const EVP_MD *fetched)
{
	double per[MAX_RUNS];
	unsigned char d[32];
	unsigned int dl;
	certpin_chain_elem e;

	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ns();
		for (long i = 0; i < iters; i++) {
			for (size_t k = 0; k < DEPTH; k++) {
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
		per[r] = (bench_now_ns() - t0) / (double)(iters * DEPTH);
	}
	return bench_median(per, (size_t)runs);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 1000000;
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	if (argc > 3 || iters < 20 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: bench_verify [ITERATIONS (>= 20)] [RUNS (1-%d)]\n", MAX_RUNS);
		return 2;
	}
	long citers = iters / 20;

	X509_STORE *store = X509_STORE_new();
	SSL_CTX *sslctx = SSL_CTX_new(TLS_client_method());
	chain *ch = calloc(CHAINS, sizeof(*ch));
	if (!store || !sslctx || !ch)
		die("out of memory");
	for (size_t i = 0; i < CHAINS; i++)
		chain_init(&ch[i], i, store, sslctx);

	scenario sc[NCASES] = {
		{ "leaf pin (one digest)", NULL, CERTPIN_VERDICT_MATCH, 0 },
		{ "root pin (three digests)", NULL, CERTPIN_VERDICT_MATCH, 2 },
		{ "mismatch (three digests)", NULL, CERTPIN_VERDICT_MISMATCH, -1 },
		{ "host not pinned", NULL, CERTPIN_VERDICT_NOT_PINNED, -1 },
	};
	for (int c = 0; c < NCASES; c++)
		sc[c].policy = make_policy(ch, c);

	/* The setup must give the intended verdicts, or the figures mean nothing. */
	for (int c = 0; c < NCASES; c++) {
		for (size_t i = 0; i < CHAINS; i++) {
			certpin_result res;
			const char *host = c == CASE_UNPINNED ? "www.unpinned.certpin.test" : ch[i].host;
			int rc = certpin_verify(&res, sc[c].policy, host, ch[i].elems, DEPTH, (int64_t)time(NULL));
			if ((rc == CERTPIN_OK) != (sc[c].want != CERTPIN_VERDICT_MISMATCH) || res.verdict != sc[c].want ||
			    res.depth != sc[c].want_depth) {
				fprintf(stderr, "bench_verify: case \"%s\" gave verdict %s depth %d\n", sc[c].label,
					certpin_verdict_name(res.verdict), res.depth);
				return 1;
			}
		}
		if (c == CASE_UNPINNED)
			continue;
		SSL_verify_cb cb = attach_all(ch, &sc[c]);
		for (size_t i = 0; i < CHAINS; i++)
			if (binding_check(cb, &ch[i]) != (sc[c].want == CERTPIN_VERDICT_MATCH))
				die("the binding gave an unexpected verdict");
	}

	printf("bench_verify: %s; %d verified chains of %d (P-256, a key per certificate), rotated;\n"
	       "  policies of %d rules, 2 pins each\n",
		OpenSSL_version(OPENSSL_VERSION), CHAINS, DEPTH, POLICY_HOSTS);

	/* 1. the binding's whole check, the three cases interleaved run by run */
	double per[3][MAX_RUNS];
	for (int r = 0; r < runs; r++) {
		for (int j = 0; j < 3; j++) {
			int c = (r + j) % 3;
			SSL_verify_cb cb = attach_all(ch, &sc[c]);
			int want = sc[c].want == CERTPIN_VERDICT_MATCH, bad = 0;
			double t0 = bench_now_ns();
			for (long k = 0; k < citers; k++)
				bad |= binding_check(cb, &ch[k % CHAINS]) != want;
			per[c][r] = (bench_now_ns() - t0) / (double)citers;
			if (bad)
				die("the binding gave an unexpected verdict");
		}
	}
	printf("\n1. The check a handshake runs (certpin_ssl_attach()'s verify callback at depths 2, 1, 0 of the\n"
	       "   verified chain: host name, lookup, SPKI digests from the leaf up to the first match, decision,\n"
	       "   result recorded), %ld checks x %d runs, cases interleaved; median (min..max) per check:\n",
		citers, runs);
	double worst = 0;
	for (int c = 0; c < 3; c++) {
		double lo, hi, m;
		min_max(per[c], runs, &lo, &hi);
		m = bench_median(per[c], (size_t)runs);
		worst = m > worst ? m : worst;
		printf("   %-28s %8.1f ns  (%.1f..%.1f)\n", sc[c].label, m, lo, hi);
	}
	printf("   target <= 1 us per check: worst case %.1f ns\n", worst);

	/* 2. the decision alone, on precomputed digests */
	printf("\n2. certpin_verify() alone on precomputed digests, %ld calls x %d runs; median (min..max):\n", iters, runs);
	for (int c = 0; c < NCASES; c++) {
		double v[MAX_RUNS], lo, hi;
		certpin_result res;
		int64_t now = (int64_t)time(NULL);
		for (int r = 0; r < runs; r++) {
			double t0 = bench_now_ns();
			for (long k = 0; k < iters; k++) {
				const chain *x = &ch[k % CHAINS];
				int rc = certpin_verify(&res, sc[c].policy, c == CASE_UNPINNED ? "www.unpinned.certpin.test" : x->host,
					x->elems, DEPTH, now);
				sink += (unsigned long)rc + (unsigned long)res.verdict;
			}
			v[r] = (bench_now_ns() - t0) / (double)iters;
		}
		min_max(v, runs, &lo, &hi);
		printf("   %-28s %8.1f ns  (%.1f..%.1f)\n", sc[c].label, bench_median(v, (size_t)runs), lo, hi);
	}

	/* 3. digests per certificate */
	unsigned char *der[DEPTH];
	int derlen[DEPTH];
	for (int d = 0; d < DEPTH; d++) {
		der[d] = NULL;
		derlen[d] = i2d_X509(ch[0].verified[d], &der[d]);
		if (derlen[d] <= 0)
			die("i2d_X509 failed");
	}
	EVP_MD *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!fetched)
		die("cannot fetch SHA256");
	double spki = time_op(OP_SPKI, ch[0].verified, der, derlen, citers, runs, NULL);
	double spki_f = time_op(OP_SPKI_PREFETCHED, ch[0].verified, der, derlen, citers, runs, fetched);
	double cert = time_op(OP_CERT, ch[0].verified, der, derlen, citers, runs, NULL);
	double delem = time_op(OP_DER_ELEM, ch[0].verified, der, derlen, citers, runs, NULL);
	double d2i = time_op(OP_D2I, ch[0].verified, der, derlen, citers / 10 > 0 ? citers / 10 : 1, runs, NULL);
	printf("\n3. Digests per certificate, for scale (%ld x %d certificates x %d runs, median):\n", citers, DEPTH, runs);
	printf("   %-52s %8.1f ns\n", "SPKI: i2d_X509_PUBKEY + EVP_Digest, EVP_sha256()", spki);
	printf("   %-52s %8.1f ns\n", "  same, SHA-256 fetched once", spki_f);
	printf("   %-52s %8.1f ns\n", "certificate: X509_digest(SHA-256)", cert);
	printf("   %-52s %8.1f ns\n", "both from DER: certpin_chain_elem_from_der", delem);
	printf("   %-52s %8.1f ns\n", "d2i_X509 (what the check must not do)", d2i);

	EVP_MD_free(fetched);
	for (int d = 0; d < DEPTH; d++)
		OPENSSL_free(der[d]);
	for (int c = 0; c < NCASES; c++)
		certpin_policy_free(sc[c].policy);
	for (size_t i = 0; i < CHAINS; i++)
		chain_free(&ch[i]);
	free(ch);
	SSL_CTX_free(sslctx);
	X509_STORE_free(store);
	return 0;
}
