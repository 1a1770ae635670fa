/*
 * binding_test - the engine's interface for TLS adapters (certpin/adapter.h),
 * by its public API only: chains handed over as DER the way an adapter for
 * another stack would, decisions, results, failing closed, swaps, TOFU and
 * session tags.  Reference pins come from pins.txt (openssl CLI).
 */
#include "certpin.h"
#include "certpin/adapter.h"
#include "test.h"

#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define HOST "api.certpin.test"

/* ---- material --------------------------------------------------------------- */

typedef struct der_chain {
	unsigned char *der[4];
	size_t len[4];
	size_t n;
	int fail_at;            /* element whose read fails, -1 none */
	int no_spki;            /* answer 1 ("not kept apart") when asked for an SPKI */
	int reads;
	int max_read;           /* the highest element read */
} der_chain;

/* The certificates of `files` (PEM, concatenated in order) as one DER chain. */
static void chain_load(der_chain *c, const char *const *files, size_t nfiles)
{
	memset(c, 0, sizeof(*c));
	c->fail_at = -1;
	for (size_t f = 0; f < nfiles; f++) {
		FILE *fp = fopen(test_pki(files[f]), "r");
		X509 *x;
		if (!fp)
			exit(2);
		while (c->n < 4 && (x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
			unsigned char *d = NULL;
			int len = i2d_X509(x, &d);
			if (len <= 0)
				exit(2);
			c->der[c->n] = d;
			c->len[c->n++] = (size_t)len;
			X509_free(x);
		}
		fclose(fp);
	}
}

static void chain_free(der_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		OPENSSL_free(c->der[i]);
}

/* The adapter's side: whole certificates only, the engine finds the SPKI when told to. */
static int read_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	der_chain *c = ctx;

	c->reads++;
	if ((int)i > c->max_read)
		c->max_read = (int)i;
	if ((int)i == c->fail_at || i >= c->n)
		return -1;
	if (spki && c->no_spki)
		return 1;
	if (spki) {
		const unsigned char *p = c->der[i];
		X509 *x = d2i_X509(NULL, &p, (long)c->len[i]);
		static unsigned char buf[4][1024];
		unsigned char *out = buf[i % 4];
		int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), NULL) : -1;
		if (n <= 0 || n > (int)sizeof(buf[0])) {
			X509_free(x);
			return -1;
		}
		(void)i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &out);
		X509_free(x);
		*der = buf[i % 4];
		*len = (size_t)n;
		return 0;
	}
	*der = c->der[i];
	*len = c->len[i];
	return 0;
}

static certpin_pin pin_named(const char *name)
{
	const char *text = test_pin(name);
	certpin_pin pin;

	memset(&pin, 0, sizeof(pin));
	CHECK_INT(certpin_pin_parse(&pin, text, strlen(text)), CERTPIN_OK);
	return pin;
}

static certpin_policy *policy_pinning(const char *pattern, const certpin_pin *pin, certpin_position pos,
	certpin_mode mode)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;

	ho.pattern = pattern;
	ho.mode = mode;
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, pattern, pin, pos, NULL, NULL), CERTPIN_OK);
	return p;
}

static certpin_handshake handshake(der_chain *c, const char *name)
{
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;

	hs.names[0] = name;
	hs.nnames = name ? 1 : 0;
	hs.n = c->n;
	hs.der = read_der;
	hs.ctx = c;
	return hs;
}

/* ---- cases -------------------------------------------------------------------- */

static int failures;
static certpin_result failure_seen;
static size_t failure_n;

static void on_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)chain;
	(void)payload;
	failures++;
	failure_seen = *r;
	failure_n = n;
}

static void test_decisions(der_chain *real, der_chain *rogue)
{
	certpin_pin leaf = pin_named("leaf"), root = pin_named("root");
	certpin_policy *p = policy_pinning(HOST, &root, CERTPIN_POS_ROOT, CERTPIN_MODE_ENFORCE);
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	certpin_binding *b = NULL;
	certpin_outcome out;
	certpin_handshake hs;

	o.on_failure = on_failure;
	CHECK_INT(certpin_binding_new(&b, p, NULL, &o), CERTPIN_OK);
	certpin_policy_free(p); /* the binding holds its own reference */

	/* the pinned root at the end of the verified chain */
	hs = handshake(real, HOST);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_CONTINUE);
	CHECK_INT(out.rc, CERTPIN_OK);
	CHECK_INT(out.result.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(out.result.depth, (long long)real->n - 1);
	CHECK_STR(out.result.hostname, HOST);
	CHECK_INT(out.tofu_rc, CERTPIN_E_STATE);
	CHECK(out.tag.serials[0] != 0);
	CHECK_STR(out.tag.host, HOST);
	CHECK_INT(failures, 0);

	/* case and a trailing dot name the same host */
	hs = handshake(real, "API.Certpin.Test.");
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.result.verdict, CERTPIN_VERDICT_MATCH);

	/* a rogue chain: refused, the failure callback called with its digests */
	hs = handshake(rogue, HOST);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	CHECK_INT(out.result.allowed, 0);
	CHECK_INT(out.tag.serials[0], 0);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_n, rogue->n);
	CHECK_INT(failure_seen.verdict, CERTPIN_VERDICT_MISMATCH);

	/* the stack's own verification failed: a pinned host is refused for it */
	hs = handshake(real, HOST);
	hs.pkix = CERTPIN_PKIX_OVERRIDDEN;
	hs.pkix_error = 10;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PKIX);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	CHECK_INT(out.result.pkix_error, 10);

	/* a host the policy does not pin: the stack decides */
	hs = handshake(rogue, "other.certpin.test");
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_STACK);
	CHECK_INT(out.result.verdict, CERTPIN_VERDICT_NOT_PINNED);
	CHECK_INT(out.tag.serials[0], 0);

	/* no name at all, with something pinned: refused */
	hs = handshake(real, NULL);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_HOSTNAME);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);

	/* two names: the rule of each pinned one must pass */
	certpin_policy *two = policy_pinning("*.certpin.test", &leaf, CERTPIN_POS_LEAF, CERTPIN_MODE_ENFORCE);
	CHECK_INT(certpin_binding_set(b, two, NULL, &o), CERTPIN_OK);
	certpin_policy_free(two);
	hs = handshake(real, HOST);
	hs.names[1] = "www.certpin.test";
	hs.nnames = 2;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	hs.names[1] = "x.y.certpin.test";      /* "*." is one label: not pinned, no effect */
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	certpin_binding_free(b);
}

/* Whatever cannot be read or does not fit refuses. */
static void test_fail_closed(der_chain *real)
{
	certpin_pin root = pin_named("root");
	certpin_policy *p = policy_pinning(HOST, &root, CERTPIN_POS_ANY, CERTPIN_MODE_ENFORCE);
	certpin_binding *b = NULL;
	certpin_outcome out;
	certpin_handshake hs;
	char longname[400];

	CHECK_INT(certpin_binding_new(&b, p, NULL, NULL), CERTPIN_OK);
	/* the leaf cannot be read: no digest, no match, refused */
	real->fail_at = 0;
	hs = handshake(real, HOST);
	CHECK(certpin_binding_check(&out, b, &hs) != CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	real->fail_at = -1;
	/* an SPKI the stack does not keep apart is found in the certificate */
	real->no_spki = 1;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.result.verdict, CERTPIN_VERDICT_MATCH);
	real->no_spki = 0;
	/* a chain longer than the engine reads */
	hs.n = CERTPIN_CHAIN_MAX + 1;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_CHAIN);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	/* a name too long to be a host name */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	hs = handshake(real, longname);
	CHECK(certpin_binding_check(&out, b, &hs) != CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	/* bad arguments */
	hs = handshake(real, HOST);
	hs.version = 99;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_INVALID_ARG);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	hs = handshake(real, HOST);
	hs.der = NULL;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_binding_check(NULL, b, &hs), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_binding_check(&out, NULL, &hs), CERTPIN_E_INVALID_ARG);
	certpin_ssl_options bad = CERTPIN_SSL_OPTIONS_INIT;
	bad.flags = 0x100;
	CHECK_INT(certpin_binding_set(b, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	certpin_binding *none = NULL;
	CHECK_INT(certpin_binding_new(&none, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	CHECK(none == NULL);
	certpin_binding_free(b);
	certpin_policy_free(p);
}

/* Reading the chain stops at the first match: digests are not all computed. */
static void test_lazy(der_chain *real)
{
	certpin_pin leaf = pin_named("leaf");
	certpin_policy *p = policy_pinning(HOST, &leaf, CERTPIN_POS_LEAF, CERTPIN_MODE_ENFORCE);
	certpin_binding *b = NULL;
	certpin_outcome out;
	certpin_handshake hs = handshake(real, HOST);

	CHECK_INT(certpin_binding_new(&b, p, NULL, NULL), CERTPIN_OK);
	real->reads = 0;
	real->max_read = -1;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.result.depth, 0);
	CHECK_INT(real->max_read, 0);   /* the leaf alone was read */
	certpin_binding_free(b);
	certpin_policy_free(p);
}

/*
 * The digest cache answers only for the same DER: a certificate that shares
 * the cache's hash with a cached one (same length, same signature bytes) but
 * carries another key gets its own digest, and no pin of the cached one.
 */
static void test_cache(der_chain *real)
{
	certpin_pin leaf = pin_named("leaf");
	certpin_policy *p = policy_pinning(HOST, &leaf, CERTPIN_POS_LEAF, CERTPIN_MODE_ENFORCE);
	certpin_binding *b = NULL;
	certpin_outcome out;
	der_chain forged = *real;
	unsigned char *spki = NULL;
	const unsigned char *q = real->der[0];
	X509 *x = d2i_X509(NULL, &q, (long)real->len[0]);
	int spki_len = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki) : -1;
	unsigned char *copy = malloc(real->len[0]);

	CHECK(spki_len > 0 && copy != NULL);
	if (spki_len <= 0 || !copy)
		exit(2);
	/* the forged leaf: the genuine DER with the last byte of its public key changed */
	memcpy(copy, real->der[0], real->len[0]);
	unsigned char *at = NULL;
	for (size_t k = 0; k + (size_t)spki_len <= real->len[0]; k++)
		if (memcmp(copy + k, spki, (size_t)spki_len) == 0)
			at = copy + k;
	CHECK(at != NULL);
	if (!at)
		exit(2);
	at[spki_len - 1] ^= 0x01;
	forged.der[0] = copy;
	real->no_spki = forged.no_spki = 1; /* whole certificates: the cache is used */

	CHECK_INT(certpin_binding_new(&b, p, NULL, NULL), CERTPIN_OK);
	certpin_handshake hs = handshake(real, HOST), hf = handshake(&forged, HOST);
	for (int round = 0; round < 2; round++) { /* the second round reads the cache */
		CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
		CHECK_INT(out.result.verdict, CERTPIN_VERDICT_MATCH);
		CHECK_INT(certpin_binding_check(&out, b, &hf), CERTPIN_E_PIN_MISMATCH);
		CHECK_INT(out.result.verdict, CERTPIN_VERDICT_MISMATCH);
	}
	real->no_spki = 0;
	certpin_binding_free(b);
	certpin_policy_free(p);
	OPENSSL_free(spki);
	X509_free(x);
	free(copy);
}

static void test_resume(der_chain *real)
{
	certpin_pin root = pin_named("root");
	certpin_policy *p = policy_pinning(HOST, &root, CERTPIN_POS_ANY, CERTPIN_MODE_ENFORCE);
	certpin_policy *q = policy_pinning(HOST, &root, CERTPIN_POS_ANY, CERTPIN_MODE_ENFORCE);
	certpin_binding *b = NULL;
	certpin_outcome out;
	certpin_handshake hs = handshake(real, HOST);
	certpin_session_tag none, session;

	memset(&none, 0, sizeof(none));
	CHECK_INT(certpin_binding_new(&b, p, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	session = out.tag;
	CHECK_INT(certpin_binding_resume_ok(b, HOST, &session), 1);
	CHECK_INT(certpin_binding_resume_ok(b, "API.CERTPIN.TEST", &session), 1);
	CHECK_INT(certpin_binding_resume_ok(b, HOST, &none), 0);      /* never checked */
	CHECK_INT(certpin_binding_resume_ok(b, HOST, NULL), 0);
	CHECK_INT(certpin_binding_resume_ok(b, NULL, &session), 0);   /* which pins? */
	CHECK_INT(certpin_binding_resume_ok(b, "other.certpin.test", &none), 1); /* not pinned */
	/* another policy, even an equal one, has not checked that session */
	CHECK_INT(certpin_binding_set(b, q, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_binding_resume_ok(b, HOST, &session), 0);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	certpin_session_tag_merge(&session, &out.tag);
	CHECK_INT(certpin_binding_resume_ok(b, HOST, &session), 1);
	/* and the session of another host is not this host's */
	certpin_session_tag other = session;
	snprintf(other.host, sizeof(other.host), "www.certpin.test");
	CHECK_INT(certpin_binding_resume_ok(b, HOST, &other), 0);
	certpin_binding_free(b);
	certpin_policy_free(p);
	certpin_policy_free(q);
}

static void test_tofu(der_chain *real, der_chain *backup)
{
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL;
	certpin_binding *b = NULL;
	certpin_outcome out;
	certpin_handshake hs;

	snprintf(path, sizeof(path), "%s/known_pins", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&t, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_binding_new(&b, NULL, t, NULL), CERTPIN_OK);
	certpin_tofu_close(t);          /* the binding holds its own reference */
	hs = handshake(real, HOST);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_CONTINUE);
	CHECK_INT(out.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.tofu.verdict, CERTPIN_TOFU_MATCH);
	CHECK(out.tag.serials[0] != 0);
	hs = handshake(backup, HOST);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	CHECK_INT(out.tofu.verdict, CERTPIN_TOFU_CHANGED);
	/* TOFU vouches only for chains the stack verified */
	hs = handshake(real, "new.certpin.test");
	hs.pkix = CERTPIN_PKIX_OVERRIDDEN;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PKIX);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	hs.pkix = CERTPIN_PKIX_FAILED;
	CHECK(certpin_binding_check(&out, b, &hs) != CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	/* pin-only trust with a store would verify nothing: refused */
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_tofu_open(&t, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_binding_set(b, NULL, t, &po), CERTPIN_OK);
	certpin_tofu_close(t);
	hs = handshake(real, HOST);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_INVALID_ARG);
	CHECK_INT(out.decision, CERTPIN_DECIDE_REFUSE);
	/* nothing attached: the stack decides */
	CHECK_INT(certpin_binding_set(b, NULL, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(out.decision, CERTPIN_DECIDE_STACK);
	certpin_binding_free(b);
}

int main(void)
{
	static const char *const real_files[] = { "chain.pem", "root.pem" };
	static const char *const rogue_files[] = { "rogue-chain.pem", "rogue-root.pem" };
	static const char *const backup_files[] = { "backup-chain.pem", "root.pem" };
	der_chain real, rogue, backup;

	chain_load(&real, real_files, 2);
	chain_load(&rogue, rogue_files, 2);
	chain_load(&backup, backup_files, 2);
	CHECK_INT(real.n, 3);
	test_decisions(&real, &rogue);
	test_fail_closed(&real);
	test_lazy(&real);
	test_cache(&real);
	test_resume(&real);
	test_tofu(&real, &backup);
	chain_free(&real);
	chain_free(&rogue);
	chain_free(&backup);
	return test_finish("binding_test");
}
