/*
 * on_result_test - the result callback of certpin_ssl_options version 2:
 * called after every check, refused or not, with what certpin_ssl_result()
 * and certpin_tofu_ssl_result() report for the handshake; and version 1
 * options (a struct that ends after `payload`) still accepted, read no
 * further than they go, by every call that takes options.
 *
 * Handshakes against local servers (tlsserver.h) through the OpenSSL
 * adapter (tlsclient.h), and checks through the adapter interface
 * (certpin/adapter.h).  Reference pins come from pins.txt (openssl CLI).
 */
#include "certpin.h"
#include "certpin/adapter.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#define HOST "api.certpin.test"

/* ---- what the callbacks saw ---------------------------------------------------------- */

typedef struct seen {
	int results, failures;
	int order_ok;                   /* each result came after the failure callback of its check */
	int code, tofu_code;
	int have_result, have_tofu;
	certpin_result result;
	certpin_tofu_result tofu;
	size_t nchain;                  /* the verified chain it was given */
	certpin_chain_elem leaf;
} seen;

/* Is the leaf the callback saw the one whose key pins.txt calls `name`? */
static int leaf_is(const seen *s, const char *name)
{
	certpin_pin pin;

	return s->nchain > 0 && (s->leaf.flags & CERTPIN_HAVE_SPKI) &&
	       certpin_pin_parse(&pin, test_pin(name), strlen(test_pin(name))) == CERTPIN_OK &&
	       memcmp(pin.digest, s->leaf.spki_sha256, CERTPIN_DIGEST_LEN) == 0;
}

static void on_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	seen *s = payload;

	(void)r, (void)chain, (void)n;
	s->failures++;
}

static void on_result(int code, const certpin_result *result, int tofu_code, const certpin_tofu_result *tofu,
	const certpin_chain_elem *chain, size_t n, void *payload)
{
	seen *s = payload;

	s->results++;
	s->nchain = chain ? n : 0;
	if (chain && n > 0)
		s->leaf = chain[0];
	s->code = code;
	s->tofu_code = tofu_code;
	s->have_result = result != NULL;
	s->have_tofu = tofu != NULL;
	if (result) {
		s->result = *result;
		/* a refusal or report-only mismatch calls the failure callback first */
		if (result->verdict == CERTPIN_VERDICT_MISMATCH && code != CERTPIN_E_PKIX)
			s->order_ok = s->failures > 0;
	}
	if (tofu)
		s->tofu = *tofu;
}

/* ---- material ------------------------------------------------------------------------ */

static certpin_pin pin_named(const char *name)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	certpin_pin pin;
	size_t nl = strlen(name);
	int found = 0;

	memset(&pin, 0, sizeof(pin));
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
			found = certpin_pin_parse(&pin, line + nl + 1, strlen(line + nl + 1)) == CERTPIN_OK;
	free(txt);
	if (!found) {
		fprintf(stderr, "on_result_test: no pin %s in pins.txt\n", name);
		exit(2);
	}
	return pin;
}

static certpin_policy *policy_pinning(const char *pattern, const char *pin_name, certpin_mode mode)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_pin pin = pin_named(pin_name);

	ho.pattern = pattern;
	ho.mode = mode;
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_host(p, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, pattern, &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	return p;
}

/* One handshake against a server of chain/key through certpin_ssl_ctx_attach(); the client's code. */
static int connect_once(test_client_info *info, certpin_result *res, const char *chain, const char *key,
	const char *ca, certpin_policy *p, const certpin_ssl_options *opts, unsigned int flags)
{
	tlsserver *srv = NULL;

	if (tlsserver_start(&srv, test_pki(chain), test_pki(key), 1) != 0) {
		CHECK(0);
		return CERTPIN_E_IO;
	}
	int rc = test_client_connect(res, info, tlsserver_port(srv), HOST, flags, test_pki(ca), p, opts);
	(void)tlsserver_wait(srv, 5000);
	tlsserver_stop(srv);
	return rc;
}

/* ---- the OpenSSL adapter -------------------------------------------------------------- */

/* Every check reports to on_result what certpin_ssl_result() reports, allowed or refused. */
static void test_openssl_verdicts(void)
{
	certpin_policy *p = policy_pinning(HOST, "leaf", CERTPIN_MODE_ENFORCE);
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	test_client_info info;
	certpin_result res;
	seen s;

	CHECK_INT(o.version, 2);
	o.on_failure = on_failure;
	o.on_result = on_result;
	o.payload = &s;

	memset(&s, 0, sizeof(s));
	CHECK_INT(connect_once(&info, &res, "chain.pem", "leaf.key", "trust.pem", p, &o, 0), CERTPIN_OK);
	CHECK_INT(info.connected, 1);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.code, CERTPIN_OK);
	CHECK_INT(s.have_result, 1);
	CHECK_INT(s.result.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(s.result.depth, res.depth);
	CHECK_STR(s.result.hostname, HOST);
	CHECK_INT(s.have_tofu, 0);
	CHECK_INT(s.tofu_code, CERTPIN_E_STATE);
	CHECK_INT((int)s.nchain, 3);            /* the verified chain comes along: leaf, intermediate, root */
	CHECK(leaf_is(&s, "leaf"));

	/* a rogue CA the client trusts: refused, and the reason reaches the callback */
	memset(&s, 0, sizeof(s));
	CHECK_INT(connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", p, &o, 0),
		CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(info.connected, 0);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.failures, 1);
	CHECK_INT(s.order_ok, 1);
	CHECK_INT(s.code, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.result.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(s.result.allowed, 0);
	CHECK(leaf_is(&s, "rogue-leaf"));
	CHECK(!leaf_is(&s, "leaf"));

	/* PKIX failure for a pinned host: the callback says so, with OpenSSL's error */
	memset(&s, 0, sizeof(s));
	CHECK_INT(connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust.pem", p, &o, 0),
		CERTPIN_E_PKIX);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.code, CERTPIN_E_PKIX);
	CHECK(s.result.pkix_error != 0);
	CHECK_INT((int)s.nchain, 0);            /* no chain was verified: none is shown */

	/* a host the policy does not pin: called too, not pinned */
	certpin_policy *other = policy_pinning("other.certpin.test", "leaf", CERTPIN_MODE_ENFORCE);
	memset(&s, 0, sizeof(s));
	(void)connect_once(&info, &res, "chain.pem", "leaf.key", "trust.pem", other, &o, 0);
	CHECK_INT(info.connected, 1);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.code, CERTPIN_OK);
	CHECK_INT(s.result.verdict, CERTPIN_VERDICT_NOT_PINNED);
	certpin_policy_free(other);

	/* the per-connection attachment calls it as well */
	memset(&s, 0, sizeof(s));
	CHECK_INT(connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", p, &o,
		TEST_CLIENT_PER_SSL), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.code, CERTPIN_E_PIN_MISMATCH);

	/* no callback: nothing called, nothing breaks */
	o.on_result = NULL;
	memset(&s, 0, sizeof(s));
	CHECK_INT(connect_once(&info, &res, "chain.pem", "leaf.key", "trust.pem", p, &o, 0), CERTPIN_OK);
	CHECK_INT(s.results, 0);
	certpin_policy_free(p);
}

/* With a TOFU store beside the policy, the store's result comes along; its refusal is the code. */
static void test_openssl_tofu(void)
{
	char path[4200];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	certpin_policy *p = policy_pinning("other.certpin.test", "leaf", CERTPIN_MODE_ENFORCE);
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	test_client_info info;
	certpin_result res;
	seen s;

	snprintf(path, sizeof(path), "%s/known_pins", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	o.on_result = on_result;
	o.payload = &s;
	test_client_tofu = store;

	memset(&s, 0, sizeof(s));
	(void)connect_once(&info, &res, "chain.pem", "leaf.key", "trust.pem", p, &o, 0);
	CHECK_INT(info.connected, 1);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.have_tofu, 1);
	CHECK_INT(s.tofu_code, CERTPIN_OK);
	CHECK_INT(s.tofu.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(s.code, CERTPIN_OK);

	memset(&s, 0, sizeof(s));
	(void)connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", p, &o, 0);
	CHECK_INT(info.connected, 0);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.tofu_code, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.tofu.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(s.code, CERTPIN_E_PIN_MISMATCH); /* the policy allowed; the store's code is the connection's */
	CHECK_INT(s.result.allowed, 0);

	test_client_tofu = NULL;
	certpin_tofu_close(store);
	certpin_policy_free(p);
}

/* ---- version 1 options ------------------------------------------------------------------ */

/* The options struct as version 1 had it: no on_result. */
typedef struct ssl_options_v1 {
	unsigned int version;
	unsigned int flags;
	certpin_failure_cb on_failure;
	void *payload;
} ssl_options_v1;

/* A version 1 struct in an allocation of exactly its size: reading past it is caught by ASan. */
static const certpin_ssl_options *v1_options(ssl_options_v1 **mem, unsigned int version, void *payload)
{
	*mem = malloc(sizeof(**mem));
	if (!*mem)
		exit(2);
	(*mem)->version = version;
	(*mem)->flags = 0;
	(*mem)->on_failure = on_failure;
	(*mem)->payload = payload;
	return (const certpin_ssl_options *)(const void *)*mem;
}

static void test_v1_openssl(void)
{
	certpin_policy *p = policy_pinning(HOST, "leaf", CERTPIN_MODE_ENFORCE);
	ssl_options_v1 *mem;
	test_client_info info;
	certpin_result res;
	seen s;

	memset(&s, 0, sizeof(s));
	const certpin_ssl_options *o = v1_options(&mem, 1, &s);
	/* accepted by both attach calls; the failure callback works as before, no result callback */
	CHECK_INT(connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", p, o, 0),
		CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.failures, 1);
	CHECK_INT(s.results, 0);
	CHECK_INT(connect_once(&info, &res, "rogue-chain.pem", "rogue-leaf.key", "trust-with-rogue.pem", p, o,
		TEST_CLIENT_PER_SSL), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.failures, 2);
	CHECK_INT(connect_once(&info, &res, "chain.pem", "leaf.key", "trust.pem", p, o, 0), CERTPIN_OK);
	CHECK_INT(info.connected, 1);
	free(mem);

	/* versions that never existed are refused */
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	CHECK(ssl != NULL);
	for (unsigned int v = 0; v < 5; v += 3) { /* 0 and 3 */
		o = v1_options(&mem, v, &s);
		CHECK_INT(certpin_ssl_ctx_attach(ctx, p, o), CERTPIN_E_INVALID_ARG);
		CHECK_INT(certpin_ssl_attach(ssl, p, o), CERTPIN_E_INVALID_ARG);
		free(mem);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	certpin_policy_free(p);
}

/* ---- the adapter interface --------------------------------------------------------------- */

typedef struct der_chain {
	unsigned char *der[4];
	size_t len[4];
	size_t n;
} der_chain;

static void chain_load(der_chain *c, const char *file)
{
	FILE *fp = fopen(test_pki(file), "r");
	X509 *x;

	memset(c, 0, sizeof(*c));
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

static int read_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	der_chain *c = ctx;

	if (i >= c->n)
		return -1;
	if (spki)
		return 1;
	*der = c->der[i];
	*len = c->len[i];
	return 0;
}

static void test_binding(void)
{
	certpin_policy *p = policy_pinning(HOST, "leaf", CERTPIN_MODE_ENFORCE);
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	certpin_binding *b = NULL;
	certpin_outcome out;
	ssl_options_v1 *mem;
	der_chain real, rogue;
	seen s;

	chain_load(&real, "chain.pem");
	chain_load(&rogue, "rogue-chain.pem");
	o.on_failure = on_failure;
	o.on_result = on_result;
	o.payload = &s;
	CHECK_INT(certpin_binding_new(&b, p, NULL, &o), CERTPIN_OK);
	hs.names[0] = HOST;
	hs.nnames = 1;
	hs.der = read_der;

	memset(&s, 0, sizeof(s));
	hs.n = real.n;
	hs.ctx = &real;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_OK);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.code, out.rc);
	CHECK_INT(s.result.verdict, CERTPIN_VERDICT_MATCH);

	memset(&s, 0, sizeof(s));
	hs.n = rogue.n;
	hs.ctx = &rogue;
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.results, 1);
	CHECK_INT(s.order_ok, 1);
	CHECK_INT(s.code, CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.result.verdict, out.result.verdict);

	/* version 1 options: accepted by new and set, the failure callback kept, no result callback */
	memset(&s, 0, sizeof(s));
	const certpin_ssl_options *v1 = v1_options(&mem, 1, &s);
	CHECK_INT(certpin_binding_set(b, p, NULL, v1), CERTPIN_OK);
	CHECK_INT(certpin_binding_check(&out, b, &hs), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.failures, 1);
	CHECK_INT(s.results, 0);
	certpin_binding *b1 = NULL;
	CHECK_INT(certpin_binding_new(&b1, p, NULL, v1), CERTPIN_OK);
	CHECK_INT(certpin_binding_check(&out, b1, &hs), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(s.failures, 2);
	certpin_binding_free(b1);
	free(mem);
	v1 = v1_options(&mem, 3, &s);
	b1 = NULL;
	CHECK_INT(certpin_binding_new(&b1, p, NULL, v1), CERTPIN_E_INVALID_ARG);
	CHECK(b1 == NULL);
	CHECK_INT(certpin_binding_set(b, p, NULL, v1), CERTPIN_E_INVALID_ARG);
	free(mem);

	certpin_binding_free(b);
	certpin_policy_free(p);
	for (size_t i = 0; i < real.n; i++)
		OPENSSL_free(real.der[i]);
	for (size_t i = 0; i < rogue.n; i++)
		OPENSSL_free(rogue.der[i]);
}

int main(void)
{
	test_openssl_verdicts();
	test_openssl_tofu();
	test_v1_openssl();
	test_binding();
	return test_finish("on_result_test");
}
