/* The decision engine, with synthetic chains: positions, modes, expiry, edge cases. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

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
	CHECK_INT(certpin_policy_add_host(p, &o), CERTPIN_OK);
	return p;
}

static void add(certpin_policy *p, const char *pattern, certpin_pin pin, certpin_position pos)
{
	CHECK_INT(certpin_policy_add_pin(p, pattern, &pin, pos), CERTPIN_OK);
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

/* Pin-only trust: only the leaf counts, and only leaf/any pins. */
static void test_leaf_only(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	make_chain(chain, 3, 0x60, 0xd0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x61), CERTPIN_POS_ANY);  /* matches the second element only */
	add(p, "a.test", spki_pin(0x60), CERTPIN_POS_ROOT); /* the leaf's key, but as a root pin */
	const certpin__rule *rule = certpin__policy_rule(p, 0);
	memset(&r, 0, sizeof(r));
	CHECK_INT(certpin__verify_rule(&r, rule, 0, chain, 3, NOW, true), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin__verify_rule(&r, rule, 0, chain, 1, NOW, true), CERTPIN_E_PIN_MISMATCH);
	/* the same chain and pins pass when the whole verified chain counts */
	CHECK_INT(certpin__verify_rule(&r, rule, 0, chain, 3, NOW, false), CERTPIN_OK);
	add(p, "a.test", spki_pin(0x60), CERTPIN_POS_LEAF);
	rule = certpin__policy_rule(p, 0);
	CHECK_INT(certpin__verify_rule(&r, rule, 0, chain, 3, NOW, true), CERTPIN_OK);
	CHECK_INT(r.depth, 0);
	CHECK_INT(r.pin, 2);
	certpin_policy_free(p);
}

/* The parts check_chain() in openssl.c composes: a pin match per element, expiry, verdict. */
static void test_parts(void)
{
	certpin_chain_elem chain[3];
	certpin_result r;
	int rc = -1;
	make_chain(chain, 3, 0x70, 0xe0);
	certpin_policy *p = one_rule("a.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x72), CERTPIN_POS_ANY);
	add(p, "a.test", spki_pin(0x70), CERTPIN_POS_ANY);
	add(p, "a.test", spki_pin(0x71), CERTPIN_POS_LEAF); /* the intermediate's key, as a leaf pin */
	const certpin__rule *rule = certpin__policy_rule(p, 0);
	CHECK_INT(certpin__rule_pin_at(rule, chain, 0, 3, false), 1);
	CHECK_INT(certpin__rule_pin_at(rule, chain, 1, 3, false), -1);
	CHECK_INT(certpin__rule_pin_at(rule, chain, 2, 3, false), 0);
	memset(&r, 0, sizeof(r));
	CHECK(!certpin__rule_expiry(&r, rule, 0, NOW, false, &rc));
	CHECK_INT(r.expired, 0);
	CHECK_INT(rc, -1);
	CHECK_INT(certpin__rule_verdict(&r, rule, 0, 2, false), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(r.depth, 2);
	CHECK_INT(r.pin, 0);
	CHECK_INT(certpin__rule_verdict(&r, rule, -1, 3, false), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(r.allowed, 0);
	certpin_policy_free(p);

	/* report-only lets a mismatch through, except under pin-only trust */
	p = one_rule("a.test", CERTPIN_MODE_REPORT_ONLY, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add(p, "a.test", spki_pin(0x72), CERTPIN_POS_ANY);
	rule = certpin__policy_rule(p, 0);
	CHECK_INT(certpin__rule_verdict(&r, rule, -1, 3, false), CERTPIN_OK);
	CHECK_INT(r.allowed, 1);
	CHECK_INT(certpin__rule_verdict(&r, rule, -1, 1, true), CERTPIN_E_PIN_MISMATCH);
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
		{ CERTPIN_EXPIRY_KEEP, false, false, 0, 0 },
		{ CERTPIN_EXPIRY_FAIL_OPEN, true, false, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = one_rule("a.test", CERTPIN_MODE_ENFORCE, NOW - 100, cases[i].act, 0);
		add(p, "a.test", spki_pin(0x70), CERTPIN_POS_ANY);
		memset(&r, 0, sizeof(r));
		rc = 0;
		bool decided = certpin__rule_expiry(&r, certpin__policy_rule(p, 0), 0, NOW, cases[i].leaf_only, &rc);
		CHECK_INT(decided, cases[i].decided);
		CHECK_INT(r.expired, 1);
		CHECK_INT(rc, cases[i].rc);
		if (decided) {
			CHECK_INT(r.verdict, CERTPIN_VERDICT_PINSET_EXPIRED);
			CHECK_INT(r.allowed, cases[i].allowed);
		}
		certpin_policy_free(p);
	}
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
	test_names();
	return test_finish("verify_test");
}
