/* The decision engine, with synthetic chains: positions, modes, expiry, edge cases. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

#include <stdarg.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#define NOW ((int64_t)1800000000)
#define DAY 86400

/* Chain of n elements whose SPKI digest is all bytes `spki_base + i`, cert digest `cert_base + i`. */
static void make_chain(certpin_chain_elem *c, size_t n, unsigned char spki_base, unsigned char cert_base)
{
	for (size_t i = 0; i < n; i++) {
		c[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(c[i].spki_sha256, spki_base + (int)i, 32);
		memset(c[i].cert_sha256, cert_base + (int)i, 32);
	}
}

static certpin_pin spki_pin(unsigned char v)
{
	certpin_pin p = { CERTPIN_PIN_SPKI_SHA256, { 0 } };
	memset(p.digest, v, 32);
	return p;
}

static certpin_pin cert_pin(unsigned char v)
{
	certpin_pin p = { CERTPIN_PIN_CERT_SHA256, { 0 } };
	memset(p.digest, v, 32);
	return p;
}

static certpin_policy *one_rule(const char *pattern, certpin_mode mode, int64_t expires, certpin_expiry_action act,
	unsigned skew)
{
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	o.pattern = pattern;
	o.mode = mode;
	o.expires = expires;
	o.on_expiry = act;
	o.clock_skew = skew;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	return p;
}

static void add(certpin_policy *p, const char *pattern, certpin_pin pin, certpin_position pos)
{
	CHECK_INT(certpin_policy_add_pin(p, pattern, &pin, pos, NULL, NULL), CERTPIN_OK);
}

static void test_positions(void)
{
	static const struct {
		certpin_position pos;
		unsigned char value;  /* spki base 0x10: leaf 0x10, inter 0x11, root 0x12 */
		int rc;
		int depth;
	} cases[] = {
		{ CERTPIN_POS_LEAF, 0x10, CERTPIN_OK, 0 },
		{ CERTPIN_POS_LEAF, 0x11, CERTPIN_E_PIN_MISMATCH, -1 },
		{ CERTPIN_POS_INTERMEDIATE, 0x11, CERTPIN_OK, 1 },
		{ CERTPIN_POS_INTERMEDIATE, 0x10, CERTPIN_E_PIN_MISMATCH, -1 },
		{ CERTPIN_POS_INTERMEDIATE, 0x12, CERTPIN_E_PIN_MISMATCH, -1 },
		{ CERTPIN_POS_ROOT, 0x12, CERTPIN_OK, 2 },
		{ CERTPIN_POS_ROOT, 0x11, CERTPIN_E_PIN_MISMATCH, -1 },
		{ CERTPIN_POS_ANY, 0x10, CERTPIN_OK, 0 },
		{ CERTPIN_POS_ANY, 0x11, CERTPIN_OK, 1 },
		{ CERTPIN_POS_ANY, 0x12, CERTPIN_OK, 2 },
		{ CERTPIN_POS_ANY, 0x13, CERTPIN_E_PIN_MISMATCH, -1 },
	};
	certpin_chain_elem chain[3];
	make_chain(chain, 3, 0x10, 0x80);
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(cases); i++) {
		certpin_policy *p = one_rule("api.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
		certpin_result r;
		add(p, "api.test", spki_pin(cases[i].value), cases[i].pos);
		int rc = certpin_verify(&r, p, "api.test", chain, 3, NOW);
		CHECK_INT(rc, cases[i].rc);
		CHECK_INT(r.depth, cases[i].depth);
		CHECK_INT(r.allowed, cases[i].rc == CERTPIN_OK);
		CHECK_INT(r.verdict, cases[i].rc == CERTPIN_OK ? CERTPIN_VERDICT_MATCH : CERTPIN_VERDICT_MISMATCH);
		CHECK_INT(r.rule, 0);
		if (rc != cases[i].rc)
			fprintf(stderr, "  case %zu\n", i);
		certpin_policy_free(p);
	}
}

static void test_single_and_two(void)
{
	certpin_chain_elem chain[2];
	certpin_result r;
	make_chain(chain, 2, 0x20, 0x90);

	/* two elements: leaf + anchor, no intermediate position exists */
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x21), CERTPIN_POS_INTERMEDIATE);
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 2, NOW), CERTPIN_E_PIN_MISMATCH);
	add(p, "a.test", spki_pin(0x21), CERTPIN_POS_ROOT);
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 2, NOW), CERTPIN_OK);
	CHECK_INT(r.pin, 1);
	CHECK_INT(r.depth, 1);
	certpin_policy_free(p);

	/* one element: it is both leaf and trust anchor */
	p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x20), CERTPIN_POS_ROOT);
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 1, NOW), CERTPIN_OK);
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 0, NOW), CERTPIN_E_CHAIN);
	CHECK_INT(r.allowed, 0);
	CHECK_INT(certpin_verify(&r, p, "a.test", NULL, 3, NOW), CERTPIN_E_CHAIN);
	certpin_policy_free(p);
}

static void test_cert_pins_and_flags(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	make_chain(chain, 3, 0x30, 0xa0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", cert_pin(0xa1), CERTPIN_POS_ANY);
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	/* the same digest value as an SPKI pin does not match a cert digest */
	certpin_policy *q = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(q, "a.test", spki_pin(0xa1), CERTPIN_POS_ANY);
	CHECK_INT(certpin_verify(&r, q, "a.test", chain, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	/* a digest the caller did not supply never matches, even if the bytes happen to */
	chain[1].flags = CERTPIN_HAVE_SPKI;
	CHECK_INT(certpin_verify(&r, p, "a.test", chain, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	certpin_policy_free(p);
	certpin_policy_free(q);
}

static void test_modes_and_expiry(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	make_chain(chain, 3, 0x40, 0xb0);
	static const struct {
		certpin_mode mode;
		int64_t expires;
		certpin_expiry_action act;
		unsigned skew;
		unsigned char pinval; /* 0x40 matches the leaf, 0x77 matches nothing */
		int rc, allowed, expired;
		certpin_verdict verdict;
	} cases[] = {
		{ CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0, 0x77, CERTPIN_E_PIN_MISMATCH, 0, 0, CERTPIN_VERDICT_MISMATCH },
		{ CERTPIN_MODE_REPORT_ONLY, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0, 0x77, CERTPIN_OK, 1, 0, CERTPIN_VERDICT_MISMATCH },
		{ CERTPIN_MODE_REPORT_ONLY, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0, 0x40, CERTPIN_OK, 1, 0, CERTPIN_VERDICT_MATCH },
		/* not yet expired */
		{ CERTPIN_MODE_ENFORCE, NOW + DAY, CERTPIN_EXPIRY_FAIL_OPEN, 0, 0x77, CERTPIN_E_PIN_MISMATCH, 0, 0, CERTPIN_VERDICT_MISMATCH },
		{ CERTPIN_MODE_ENFORCE, NOW, CERTPIN_EXPIRY_FAIL_CLOSED, 0, 0x40, CERTPIN_OK, 1, 0, CERTPIN_VERDICT_MATCH },
		/* expired: fail-open lets anything through, flagged */
		{ CERTPIN_MODE_ENFORCE, NOW - 1, CERTPIN_EXPIRY_FAIL_OPEN, 0, 0x77, CERTPIN_OK, 1, 1, CERTPIN_VERDICT_PINSET_EXPIRED },
		/* expired: fail-closed refuses even a matching chain */
		{ CERTPIN_MODE_ENFORCE, NOW - 1, CERTPIN_EXPIRY_FAIL_CLOSED, 0, 0x40, CERTPIN_E_PINSET_EXPIRED, 0, 1, CERTPIN_VERDICT_PINSET_EXPIRED },
		{ CERTPIN_MODE_REPORT_ONLY, NOW - 1, CERTPIN_EXPIRY_FAIL_CLOSED, 0, 0x40, CERTPIN_OK, 1, 1, CERTPIN_VERDICT_PINSET_EXPIRED },
		/* expired: keep enforcing */
		{ CERTPIN_MODE_ENFORCE, NOW - 1, CERTPIN_EXPIRY_KEEP, 0, 0x77, CERTPIN_E_PIN_MISMATCH, 0, 1, CERTPIN_VERDICT_MISMATCH },
		{ CERTPIN_MODE_ENFORCE, NOW - 1, CERTPIN_EXPIRY_KEEP, 0, 0x40, CERTPIN_OK, 1, 1, CERTPIN_VERDICT_MATCH },
		/* clock skew tolerance keeps the pinset in force a little longer */
		{ CERTPIN_MODE_ENFORCE, NOW - 100, CERTPIN_EXPIRY_FAIL_OPEN, 300, 0x77, CERTPIN_E_PIN_MISMATCH, 0, 0, CERTPIN_VERDICT_MISMATCH },
		{ CERTPIN_MODE_ENFORCE, NOW - 301, CERTPIN_EXPIRY_FAIL_OPEN, 300, 0x77, CERTPIN_OK, 1, 1, CERTPIN_VERDICT_PINSET_EXPIRED },
	};
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(cases); i++) {
		certpin_policy *p = one_rule("a.test", cases[i].mode, cases[i].expires, cases[i].act, cases[i].skew);
		add(p, "a.test", spki_pin(cases[i].pinval), CERTPIN_POS_ANY);
		int rc = certpin_verify(&r, p, "a.test", chain, 3, NOW);
		CHECK_INT(rc, cases[i].rc);
		CHECK_INT(r.allowed, cases[i].allowed);
		CHECK_INT(r.expired, cases[i].expired);
		CHECK_INT(r.verdict, cases[i].verdict);
		CHECK_INT(r.mode, cases[i].mode);
		CHECK_INT(r.checked_at, NOW);
		if (rc != cases[i].rc || r.verdict != cases[i].verdict)
			fprintf(stderr, "  case %zu\n", i);
		certpin_policy_free(p);
	}
}

static void test_hosts(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	make_chain(chain, 3, 0x50, 0xc0);
	certpin_policy *p = one_rule("*.example.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "*.example.test", spki_pin(0x99), CERTPIN_POS_ANY);

	/* unpinned hosts are unaffected */
	CHECK_INT(certpin_verify(&r, p, "other.test", chain, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_NOT_PINNED);
	CHECK_INT(r.allowed, 1);
	CHECK_INT(r.rule, -1);
	CHECK_INT(certpin_verify(&r, p, "example.test", chain, 3, NOW), CERTPIN_OK);    /* apex not covered by "*." */
	CHECK_INT(certpin_verify(&r, p, "a.b.example.test", chain, 3, NOW), CERTPIN_OK); /* too deep for "*." */
	CHECK_INT(r.verdict, CERTPIN_VERDICT_NOT_PINNED);
	/* pinned, with case and trailing-dot tricks: still enforced */
	CHECK_INT(certpin_verify(&r, p, "www.example.test", chain, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_verify(&r, p, "WWW.EXAMPLE.TEST.", chain, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_STR(r.hostname, "www.example.test");
	/* malformed names are errors, never "not pinned" */
	CHECK_INT(certpin_verify(&r, p, "www.example.test..", chain, 3, NOW), CERTPIN_E_HOSTNAME);
	CHECK_INT(r.allowed, 0);
	CHECK_INT(certpin_verify(&r, p, "www\xc3\xa9.example.test", chain, 3, NOW), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_verify(&r, p, NULL, chain, 3, NOW), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_verify(&r, NULL, "a", chain, 3, NOW), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_verify(NULL, p, "a", chain, 3, NOW), CERTPIN_E_INVALID_ARG);
	certpin_policy_free(p);

	/* empty pinset added in code: fails closed */
	p = one_rule("empty.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	CHECK_INT(certpin_verify(&r, p, "empty.test", chain, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	certpin_policy_free(p);
}

static int rule_decide(certpin_result *r, certpin_policy *p, const certpin_chain_elem *chain, size_t n,
	bool leaf_only)
{
	certpin__chain c;
	certpin__chain_init_given(&c, chain, n);
	certpin__result_init(r, NOW);
	return certpin__rule_decide(r, p, 0, &c, NOW, leaf_only);
}

/* Pin-only trust: only the leaf counts, and only leaf/any pins. */
static void test_leaf_only(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	make_chain(chain, 3, 0x60, 0xd0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x61), CERTPIN_POS_ANY);  /* matches the second element only */
	add(p, "a.test", spki_pin(0x60), CERTPIN_POS_ROOT); /* the leaf's key, but as a root pin */
	CHECK_INT(rule_decide(&r, p, chain, 3, true), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(rule_decide(&r, p, chain, 1, true), CERTPIN_E_PIN_MISMATCH);
	/* the same chain and pins pass when the whole verified chain counts */
	CHECK_INT(rule_decide(&r, p, chain, 3, false), CERTPIN_OK);
	add(p, "a.test", spki_pin(0x60), CERTPIN_POS_LEAF);
	CHECK_INT(rule_decide(&r, p, chain, 3, true), CERTPIN_OK);
	CHECK_INT(r.depth, 0);
	CHECK_INT(r.pin, 2);
	certpin_policy_free(p);
}

/* The engine's parts: the scan per element, expiry, verdict. */
static void test_parts(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	certpin__chain c;
	size_t depth = 99;
	make_chain(chain, 3, 0x70, 0xe0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x72), CERTPIN_POS_ANY);
	add(p, "a.test", spki_pin(0x70), CERTPIN_POS_ANY);
	add(p, "a.test", spki_pin(0x71), CERTPIN_POS_LEAF); /* the intermediate's key, as a leaf pin */
	const certpin__rule *rule = certpin__policy_rule(p, 0);
	const certpin__pinent *pins = certpin__rule_pins(p, rule);
	/* from the leaf up: the leaf's pin (index 1) comes first, whatever the pins' order */
	certpin__chain_init_given(&c, chain, 3);
	CHECK_INT(certpin__scan(pins, rule->npins, &c, false, &depth), 1);
	CHECK_INT(depth, 0);
	/* without the leaf's pin: the root's (index 0) at depth 2; the leaf pin never matches depth 1 */
	CHECK_INT(certpin__scan(pins + 2, 1, &c, false, &depth), -1);
	CHECK_INT(certpin__scan(pins, 1, &c, false, &depth), 0);
	CHECK_INT(depth, 2);
	CHECK_INT(rule_decide(&r, p, chain, 3, false), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(r.expired, 0);
	CHECK_INT(r.depth, 0);
	CHECK_INT(r.pin, 1);
	certpin_policy_free(p);

	/* report-only lets a mismatch through, except under pin-only trust */
	p = one_rule("a.test", CERTPIN_MODE_REPORT_ONLY, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x7f), CERTPIN_POS_ANY);
	CHECK_INT(rule_decide(&r, p, chain, 3, false), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(r.allowed, 1);
	CHECK_INT(rule_decide(&r, p, chain, 1, true), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.allowed, 0);
	certpin_policy_free(p);

	/* expired: fail-open and fail-closed decide without the pins; keep, and pin-only fail-open, do not */
	static const struct {
		certpin_expiry_action act;
		bool leaf_only, decided;
		int rc, allowed;
	} cases[] = {
		{ CERTPIN_EXPIRY_FAIL_OPEN, false, true, CERTPIN_OK, 1 },
		{ CERTPIN_EXPIRY_FAIL_CLOSED, false, true, CERTPIN_E_PINSET_EXPIRED, 0 },
		{ CERTPIN_EXPIRY_FAIL_CLOSED, true, true, CERTPIN_E_PINSET_EXPIRED, 0 },
		{ CERTPIN_EXPIRY_KEEP, false, false, CERTPIN_E_PIN_MISMATCH, 0 },
		{ CERTPIN_EXPIRY_FAIL_OPEN, true, false, CERTPIN_E_PIN_MISMATCH, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = one_rule("a.test", CERTPIN_MODE_ENFORCE, NOW - 100, cases[i].act, 0);
		add(p, "a.test", spki_pin(0x7f), CERTPIN_POS_ANY); /* matches nothing: only expiry can decide */
		CHECK_INT(rule_decide(&r, p, chain, 3, cases[i].leaf_only), cases[i].rc);
		CHECK_INT(r.expired, 1);
		CHECK_INT(r.verdict, cases[i].decided ? CERTPIN_VERDICT_PINSET_EXPIRED : CERTPIN_VERDICT_MISMATCH);
		CHECK_INT(r.allowed, cases[i].allowed);
		certpin_policy_free(p);
	}
}

/* A chain source that counts what the engine asks for: digests are lazy, and stop at the first match. */
typedef struct counting {
	unsigned char der[3][64];
	int spki_calls[3], cert_calls[3];
	bool fail;
} counting;

static int count_der(void *ctx, size_t i, bool spki, const unsigned char **der, size_t *len)
{
	counting *k = ctx;
	if (spki)
		k->spki_calls[i]++;
	else
		k->cert_calls[i]++;
	*der = k->der[i];
	*len = sizeof(k->der[i]);
	return k->fail ? -1 : 0;
}

static certpin_pin digest_pin(const unsigned char *data, size_t len, certpin_pin_kind kind)
{
	certpin_pin pin = { kind, { 0 } };
	CHECK_INT(certpin__sha256(pin.digest, data, len), CERTPIN_OK);
	return pin;
}

static void test_lazy_chain(void)
{
	counting k;
	certpin__chain_source src = { count_der, &k, NULL, NULL };
	certpin__chain c;
	certpin_result r;
	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i < 3; i++)
		memset(k.der[i], (int)(0x30 + i), sizeof(k.der[i]));

	/* a leaf pin: one SPKI digest, nothing else */
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	certpin_pin leaf = digest_pin(k.der[0], sizeof(k.der[0]), CERTPIN_PIN_SPKI_SHA256);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &leaf, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	certpin__chain_init(&c, &src, 3);
	CHECK_INT(certpin__rule_decide(&r, p, 0, &c, NOW, false), CERTPIN_OK);
	certpin__chain_done(&c);
	CHECK_INT(k.spki_calls[0] + k.spki_calls[1] + k.spki_calls[2], 1);
	CHECK_INT(k.cert_calls[0] + k.cert_calls[1] + k.cert_calls[2], 0);
	certpin_policy_free(p);

	/* a root certificate pin: only the root, only its certificate digest, once even if asked twice */
	memset(k.spki_calls, 0, sizeof(k.spki_calls));
	p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	certpin_pin root = digest_pin(k.der[2], sizeof(k.der[2]), CERTPIN_PIN_CERT_SHA256);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &root, CERTPIN_POS_ROOT, NULL, NULL), CERTPIN_OK);
	certpin__chain_init(&c, &src, 3);
	CHECK_INT(certpin__rule_decide(&r, p, 0, &c, NOW, false), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	CHECK(certpin__chain_digest(&c, 2, CERTPIN_PIN_CERT_SHA256) != NULL);
	certpin__chain_done(&c);
	CHECK_INT(k.cert_calls[2], 1);
	CHECK_INT(k.cert_calls[0] + k.cert_calls[1] + k.spki_calls[0] + k.spki_calls[1] + k.spki_calls[2], 0);

	/* a digest that cannot be computed fails closed: CERTPIN_E_CHAIN, never "no match" */
	k.fail = true;
	certpin__chain_init(&c, &src, 3);
	CHECK_INT(certpin__rule_decide(&r, p, 0, &c, NOW, false), CERTPIN_E_CHAIN);
	CHECK_INT(r.allowed, 0);
	certpin__chain_done(&c);
	/* and a chain longer than the engine takes is refused */
	k.fail = false;
	certpin__chain_init(&c, &src, CERTPIN__CHAIN_MAX + 1);
	CHECK_INT(certpin__rule_decide(&r, p, 0, &c, NOW, false), CERTPIN_E_CHAIN);
	certpin__chain_done(&c);
	certpin_policy_free(p);
}

/* chk's names := the arguments (NULL-terminated). */
static void set_names(certpin__check *chk, const char *first, ...)
{
	va_list ap;
	chk->nnames = 0;
	va_start(ap, first);
	for (const char *n = first; n; n = va_arg(ap, const char *))
		CHECK(certpin__check_add_name(chk, n));
	va_end(ap);
}

/* A digest cache over "certificates" that are ints, all in one set (constant hash), with references counted. */
static int live_refs;

static bool int_same(const void *a, const void *b)
{
	return *(const int *)a == *(const int *)b;
}

static void *int_ref(void *c)
{
	live_refs++;
	return c;
}

static void int_unref(void *c)
{
	(void)c;
	live_refs--;
}

static uint32_t int_hash(const void *c)
{
	(void)c;
	return 7;
}

static void test_digest_cache(void)
{
	static const certpin__cert_ops ops = { int_same, int_ref, int_unref, int_hash };
	int certs[CERTPIN__CACHE_WAYS + 1];
	certpin_chain_elem e, got;
	certpin__digest_cache *c = certpin__digest_cache_new(&ops);

	CHECK(c != NULL);
	if (!c)
		return;
	memset(&e, 0, sizeof(e));
	for (int i = 0; i <= CERTPIN__CACHE_WAYS; i++) {
		certs[i] = i;
		e.flags = CERTPIN_HAVE_SPKI;
		memset(e.spki_sha256, 0x10 + i, CERTPIN_DIGEST_LEN);
		certpin__digest_cache_put(c, &certs[i], &e);
	}
	/* one set holds CERTPIN__CACHE_WAYS: the first was replaced, its reference dropped */
	CHECK(!certpin__digest_cache_get(c, &certs[0], &got));
	CHECK_INT(live_refs, CERTPIN__CACHE_WAYS);
	for (int i = 1; i <= CERTPIN__CACHE_WAYS; i++) {
		int same = i; /* another object for the same certificate hits */
		CHECK(certpin__digest_cache_get(c, &same, &got));
		CHECK_INT(got.flags, CERTPIN_HAVE_SPKI);
		CHECK_INT(got.spki_sha256[0], 0x10 + i);
	}
	/* a second digest of a known certificate joins its entry; a first one is not invented */
	e.flags = CERTPIN_HAVE_CERT;
	memset(e.cert_sha256, 0x77, CERTPIN_DIGEST_LEN);
	certpin__digest_cache_put(c, &certs[2], &e);
	CHECK(certpin__digest_cache_get(c, &certs[2], &got));
	CHECK_INT(got.flags, CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT);
	CHECK_INT(got.spki_sha256[0], 0x12);
	CHECK_INT(got.cert_sha256[0], 0x77);
	CHECK(certpin__digest_cache_get(c, &certs[3], &got) && got.flags == CERTPIN_HAVE_SPKI);
	certpin__digest_cache_free(c);
	CHECK_INT(live_refs, 0);
}

/* The X509 view: two parses of one certificate are the same; another certificate is not. */
static void test_x509_cache(void)
{
	size_t len;
	char *pem = test_read_file(test_pki("leaf.pem"), &len), *pem2 = test_read_file(test_pki("backup-leaf.pem"), NULL);
	BIO *b1 = BIO_new_mem_buf(pem, (int)len), *b2 = BIO_new_mem_buf(pem, (int)len);
	BIO *b3 = BIO_new_mem_buf(pem2, -1);
	X509 *a = PEM_read_bio_X509(b1, NULL, NULL, NULL), *same = PEM_read_bio_X509(b2, NULL, NULL, NULL);
	X509 *other = PEM_read_bio_X509(b3, NULL, NULL, NULL);
	certpin__digest_cache *c = certpin__digest_cache_new(&certpin__x509_ops);
	certpin_chain_elem e = { CERTPIN_HAVE_SPKI, { 0x42 }, { 0 } }, got;

	CHECK(a && same && other && c && a != same);
	if (a && same && other && c) {
		certpin__digest_cache_put(c, a, &e);
		CHECK(certpin__digest_cache_get(c, same, &got) && got.spki_sha256[0] == 0x42);
		CHECK(!certpin__digest_cache_get(c, other, &got));
	}
	certpin__digest_cache_free(c); /* drops its reference to a */
	X509_free(a);
	X509_free(same);
	X509_free(other);
	BIO_free(b1);
	BIO_free(b2);
	BIO_free(b3);
	free(pem);
	free(pem2);
}

/* certpin__decide(): the names an adapter hands over, every pinned one must pass. */
static void test_decide_names(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	certpin__chain c;
	bool unpinned;
	make_chain(chain, 3, 0x40, 0xb0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x40), CERTPIN_POS_LEAF);
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = "b.test";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	add(p, "b.test", spki_pin(0x4f), CERTPIN_POS_LEAF); /* not this chain's */
	certpin__chain_init_given(&c, chain, 3);
	certpin__check chk = { .chain = &c, .pkix_ok = true, .now = NOW };
	set_names(&chk, "a.test", NULL);

	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_OK);
	CHECK(!unpinned);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	/* a second name whose rule refuses: refused, with that name's result */
	set_names(&chk, "a.test", "B.TEST.", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_PIN_MISMATCH);
	CHECK_STR(r.hostname, "b.test");
	CHECK_INT(r.rule, 1);
	/* the first name unpinned, a later one pinned: the later one decides */
	set_names(&chk, "other.test", "a.test", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_OK);
	CHECK(!unpinned);
	CHECK_STR(r.hostname, "a.test");
	/* nothing pinned: the stack's verdict stands, PKIX failure included */
	set_names(&chk, "other.test", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_OK);
	CHECK(unpinned);
	chk.pkix_ok = false;
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_PKIX);
	CHECK(unpinned);
	CHECK_INT(r.allowed, 0);
	/* a pinned name on a chain the stack did not verify: refused, whatever the pins */
	set_names(&chk, "a.test", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_PKIX);
	CHECK(!unpinned);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MISMATCH);
	/* pin-only: an unpinned name is refused (nothing else vouches for it) */
	chk.pkix_ok = true;
	chk.pin_only = true;
	set_names(&chk, "other.test", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_PIN_MISMATCH);
	CHECK(!unpinned);
	/* no name: refused when anything is pinned; a malformed name too */
	chk.pin_only = false;
	chk.nnames = 0;
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_HOSTNAME);
	set_names(&chk, "a..test", NULL);
	CHECK_INT(certpin__decide(&r, p, &chk, &unpinned), CERTPIN_E_HOSTNAME);
	CHECK(!unpinned);
	certpin_policy_free(p);
}

static void test_names(void)
{
	CHECK_STR(certpin_verdict_name(CERTPIN_VERDICT_MATCH), "match");
	CHECK_STR(certpin_verdict_name(CERTPIN_VERDICT_PINSET_EXPIRED), "pinset-expired");
	CHECK_STR(certpin_position_name(CERTPIN_POS_INTERMEDIATE), "intermediate");
	CHECK_STR(certpin_mode_name(CERTPIN_MODE_REPORT_ONLY), "report-only");
	CHECK_STR(certpin_expiry_action_name(CERTPIN_EXPIRY_KEEP), "keep");
}

int main(void)
{
	test_positions();
	test_single_and_two();
	test_cert_pins_and_flags();
	test_modes_and_expiry();
	test_hosts();
	test_leaf_only();
	test_parts();
	test_lazy_chain();
	test_digest_cache();
	test_x509_cache();
	test_decide_names();
	test_names();
	return test_finish("verify_test");
}
