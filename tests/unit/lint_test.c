/*
 * Policy lint: every check fires when it should and stays quiet when it
 * should not, with the structured fields each finding carries (no words:
 * those are certpin(1)'s, tests/cli/lint_*.case).
 */
#include "certpin.h"
#include "certpin/tools.h"
#include "test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define NOW ((int64_t)1800000000)
#define DAY 86400

static void make_chain(certpin_chain_elem *c, size_t n, unsigned char spki_base, unsigned char cert_base)
{
	for (size_t i = 0; i < n; i++) {
		c[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(c[i].spki_sha256, spki_base + (int)i, 32);
		memset(c[i].cert_sha256, cert_base + (int)i, 32);
	}
}

static certpin_pin spki(unsigned char v)
{
	certpin_pin p = { CERTPIN_PIN_SPKI_SHA256, { 0 } };
	memset(p.digest, v, 32);
	return p;
}

typedef struct rule_spec {
	const char *pattern;
	certpin_mode mode;
	int64_t expires;
	certpin_expiry_action on_expiry;
	int include_subdomains;
} rule_spec;

static certpin_policy *new_policy(void)
{
	certpin_policy *p;
	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	return p;
}

static void add_rule(certpin_policy *p, rule_spec s)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = s.pattern;
	o.mode = s.mode;
	o.expires = s.expires;
	o.on_expiry = s.on_expiry;
	o.include_subdomains = s.include_subdomains;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
}

static void add_pin(certpin_policy *p, const char *pattern, certpin_pin pin, certpin_position pos)
{
	CHECK_INT(certpin_policy_add_pin(p, pattern, &pin, pos, NULL, NULL), CERTPIN_OK);
}

/* Number of findings with `check` (and the first one in *first). */
static int count(const certpin_lint_report *r, certpin_lint_check check, const certpin_lint_finding **first)
{
	int n = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < certpin_lint_count(r); i++) {
		const certpin_lint_finding *f = certpin_lint_finding_at(r, i);
		if (f->check == check) {
			if (n == 0 && first)
				*first = f;
			n++;
		}
	}
	return n;
}

static certpin_lint_report *lint(const certpin_policy *p, const certpin_lint_chain *live, size_t nlive)
{
	certpin_lint_options o = CERTPIN_LINT_OPTIONS_INIT;
	certpin_lint_report *r = NULL;
	o.now = NOW;
	o.live = live;
	o.nlive = nlive;
	CHECK_INT(certpin_lint(&r, p, &o, NULL), CERTPIN_OK);
	if (!r)
		abort();
	return r;
}

static void test_ids(void)
{
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_TOO_FEW_PINS), "E001");
	CHECK_STR(certpin_lint_check_name(CERTPIN_LINT_TOO_FEW_PINS), "too-few-pins");
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_NO_BACKUP_PIN), "E002");
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_NO_LIVE_MATCH), "E003");
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_PINSET_EXPIRED), "E004");
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_CA_PINS_ONLY), "W001");
	CHECK_STR(certpin_lint_check_id(CERTPIN_LINT_PUBLIC_SUFFIX), "W004");
	CHECK_STR(certpin_lint_check_name(CERTPIN_LINT_LIVE_NOT_PINNED), "live-host-not-pinned");
	CHECK_STR(certpin_lint_check_id((certpin_lint_check)9999), "?");
	CHECK_STR(certpin_lint_check_name((certpin_lint_check)9999), "unknown");
}

static void test_too_few_pins(void)
{
	certpin_policy *p = new_policy();
	const certpin_lint_finding *f;
	int64_t exp = NOW + 100 * DAY;

	add_rule(p, (rule_spec){ "none.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_rule(p, (rule_spec){ "one.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "one.test", spki(1), CERTPIN_POS_ANY);
	add_rule(p, (rule_spec){ "two.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "two.test", spki(1), CERTPIN_POS_ANY);
	add_pin(p, "two.test", spki(2), CERTPIN_POS_LEAF);
	add_rule(p, (rule_spec){ "ro.test", CERTPIN_MODE_REPORT_ONLY, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "ro.test", spki(1), CERTPIN_POS_ANY);

	certpin_lint_report *r = lint(p, NULL, 0);
	CHECK_INT(count(r, CERTPIN_LINT_TOO_FEW_PINS, &f), 2);
	CHECK_INT(certpin_lint_errors(r), 2);
	CHECK_INT(certpin_lint_warnings(r), 0);
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->rule, 0);
		CHECK_STR(f->pattern, "none.test");
		CHECK_STR(f->id, "E001");
		CHECK_INT(f->severity, CERTPIN_LINT_ERROR);
		CHECK_INT(f->version, CERTPIN_LINT_FINDING_VERSION);
		CHECK_INT(f->count, 0);
		CHECK_INT(f->mode, CERTPIN_MODE_ENFORCE);
		CHECK_INT(f->live, -1);
		CHECK_INT(f->pin, -1);
		CHECK(f->hostname == NULL && f->host == NULL);
	}
	f = certpin_lint_finding_at(r, 1);
	CHECK(f && f->rule == 1 && f->check == CERTPIN_LINT_TOO_FEW_PINS);
	if (f)
		CHECK_INT(f->count, 1);
	CHECK(certpin_lint_finding_at(r, certpin_lint_count(r)) == NULL);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

static void test_expiry_checks(void)
{
	certpin_policy *p = new_policy();
	const certpin_lint_finding *f;

	/* 0 expired, 1 expires in 10 days fail-closed, 2 in 100 days, 3 in 400 days, 4 never */
	add_rule(p, (rule_spec){ "expired.test", CERTPIN_MODE_ENFORCE, NOW - DAY, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_rule(p, (rule_spec){ "soon.test", CERTPIN_MODE_ENFORCE, NOW + 10 * DAY, CERTPIN_EXPIRY_FAIL_CLOSED, 0 });
	add_rule(p, (rule_spec){ "fine.test", CERTPIN_MODE_ENFORCE, NOW + 100 * DAY, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_rule(p, (rule_spec){ "far.test", CERTPIN_MODE_ENFORCE, NOW + 400 * DAY, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_rule(p, (rule_spec){ "never.test", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	const char *hosts[] = { "expired.test", "soon.test", "fine.test", "far.test", "never.test" };
	for (size_t i = 0; i < 5; i++) {
		add_pin(p, hosts[i], spki(1), CERTPIN_POS_LEAF);
		add_pin(p, hosts[i], spki(2), CERTPIN_POS_LEAF);
	}
	certpin_lint_report *r = lint(p, NULL, 0);
	CHECK_INT(count(r, CERTPIN_LINT_PINSET_EXPIRED, &f), 1);
	CHECK(f && f->rule == 0);
	if (f) {
		CHECK_INT(f->when, NOW - DAY);
		CHECK_INT(f->on_expiry, CERTPIN_EXPIRY_FAIL_OPEN);
	}
	CHECK_INT(count(r, CERTPIN_LINT_EXPIRING_SOON, &f), 1);
	CHECK(f && f->rule == 1);
	if (f) {
		CHECK_INT(f->days, 10);
		CHECK_INT(f->when, NOW + 10 * DAY);
		CHECK_INT(f->on_expiry, CERTPIN_EXPIRY_FAIL_CLOSED);
	}
	CHECK_INT(count(r, CERTPIN_LINT_FAIL_CLOSED, &f), 1);
	CHECK(f && f->rule == 1);
	if (f)
		CHECK_INT(f->when, NOW + 10 * DAY);
	CHECK_INT(count(r, CERTPIN_LINT_EXPIRY_TOO_FAR, &f), 2);
	CHECK(f && f->rule == 3);
	if (f) {
		CHECK_INT(f->when, NOW + 400 * DAY);
		CHECK_INT(f->days, 365);
	}
	/* the rule that never expires: W002 with no date */
	f = NULL;
	for (size_t i = 0; i < certpin_lint_count(r); i++)
		if (certpin_lint_finding_at(r, i)->rule == 4)
			f = certpin_lint_finding_at(r, i);
	CHECK(f && f->check == CERTPIN_LINT_EXPIRY_TOO_FAR && f->when == 0 && f->days == 365);
	CHECK_INT(certpin_lint_errors(r), 1);
	/* nothing at all about the well-formed rule */
	for (size_t i = 0; i < certpin_lint_count(r); i++)
		CHECK(certpin_lint_finding_at(r, i)->rule != 2);
	/* findings are ordered by rule */
	for (size_t i = 1; i < certpin_lint_count(r); i++)
		CHECK(certpin_lint_finding_at(r, i - 1)->rule <= certpin_lint_finding_at(r, i)->rule);
	certpin_lint_report_free(r);

	/* a larger threshold silences W002 for the 400-day rule only */
	certpin_lint_options o = CERTPIN_LINT_OPTIONS_INIT;
	o.now = NOW;
	o.max_expiry_days = 500;
	CHECK_INT(certpin_lint(&r, p, &o, NULL), CERTPIN_OK);
	CHECK_INT(count(r, CERTPIN_LINT_EXPIRY_TOO_FAR, &f), 1);
	CHECK(f && f->rule == 4 && f->days == 500);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

static void test_public_suffix(void)
{
	static const struct {
		const char *pattern;
		int include_subdomains;
		int warn;
	} cases[] = {
		{ "**.com", 0, 1 }, { "com", 1, 1 }, { "*.github.io", 0, 1 }, { "**.co.uk", 0, 1 },
		{ "*.cloudfront.net", 0, 1 }, { "appspot.com", 1, 1 }, { "**.example.com", 0, 0 },
		{ "*.example.co.uk", 0, 0 }, { "github.io", 0, 0 }, { "api.github.io", 1, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		certpin_policy *p = new_policy();
		certpin_host_info h;
		add_rule(p, (rule_spec){ cases[i].pattern, CERTPIN_MODE_ENFORCE, NOW + 100 * DAY,
			CERTPIN_EXPIRY_FAIL_OPEN, cases[i].include_subdomains });
		CHECK_INT(certpin_policy_host(&h, p, 0), CERTPIN_OK);
		add_pin(p, h.pattern, spki(1), CERTPIN_POS_LEAF);
		add_pin(p, h.pattern, spki(2), CERTPIN_POS_LEAF);
		certpin_lint_report *r = lint(p, NULL, 0);
		const certpin_lint_finding *f;
		int n = count(r, CERTPIN_LINT_PUBLIC_SUFFIX, &f);
		CHECK_INT(n, cases[i].warn);
		if (f) {
			CHECK_STR(f->suffix, h.name);
			CHECK_INT(f->wildcard, h.wildcard);
		}
		if (n != cases[i].warn)
			fprintf(stderr, "  pattern %s\n", cases[i].pattern);
		CHECK_INT(certpin_lint_count(r), (size_t)cases[i].warn);
		certpin_lint_report_free(r);
		certpin_policy_free(p);
	}
}

static void test_ca_only_offline(void)
{
	certpin_policy *p = new_policy();
	const certpin_lint_finding *f;
	int64_t exp = NOW + 100 * DAY;

	add_rule(p, (rule_spec){ "ca.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "ca.test", spki(1), CERTPIN_POS_INTERMEDIATE);
	add_pin(p, "ca.test", spki(2), CERTPIN_POS_ROOT);
	add_rule(p, (rule_spec){ "mixed.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "mixed.test", spki(1), CERTPIN_POS_INTERMEDIATE);
	add_pin(p, "mixed.test", spki(3), CERTPIN_POS_LEAF);
	add_rule(p, (rule_spec){ "any.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "any.test", spki(1), CERTPIN_POS_ANY);
	add_pin(p, "any.test", spki(2), CERTPIN_POS_ROOT);
	certpin_lint_report *r = lint(p, NULL, 0);
	CHECK_INT(count(r, CERTPIN_LINT_CA_PINS_ONLY, &f), 1);
	CHECK(f && f->rule == 0);
	if (f) {
		CHECK_INT(f->positions, (1u << CERTPIN_POS_INTERMEDIATE) | (1u << CERTPIN_POS_ROOT));
		CHECK_INT(f->live, -1);
		CHECK_INT(f->ndepths, 0);
		CHECK_INT(f->severity, CERTPIN_LINT_WARNING);
	}
	CHECK_INT(certpin_lint_errors(r), 0);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

/* Live chain: leaf 0x10, intermediate 0x11, root 0x12 (cert digests 0x80..). */
static void test_live(void)
{
	certpin_chain_elem chain[3];
	const char *subjects[] = { "CN=leaf", "CN=Test Intermediate", "CN=Test Root" };
	certpin_lint_chain live = { "api.test", chain, 3, NOW + 50 * DAY, subjects };
	const certpin_lint_finding *f;
	int64_t exp = NOW + 100 * DAY;
	certpin_lint_report *r;
	certpin_policy *p;

	make_chain(chain, 3, 0x10, 0x80);

	/* leaf + root pinned, both served now: no backup (E002); leaf expires before the pinset (W003) */
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x10), CERTPIN_POS_LEAF);
	add_pin(p, "api.test", spki(0x12), CERTPIN_POS_ROOT);
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_NO_BACKUP_PIN, &f), 1);
	if (f) {
		CHECK_STR(f->hostname, "api.test");
		CHECK_STR(f->host, "api.test");
		CHECK_INT(f->live, 0);
		CHECK_INT(f->rule, 0);
	}
	CHECK_INT(count(r, CERTPIN_LINT_LEAF_EXPIRES_FIRST, &f), 1);
	if (f) {
		certpin_pin leaf = spki(0x10);
		CHECK_INT(f->when, NOW + 50 * DAY);
		CHECK_INT(f->expires, exp);
		CHECK_INT(f->pin, 0);
		CHECK(f->have_leaf && certpin_pin_equal(&f->leaf, &leaf));
	}
	CHECK_INT(count(r, CERTPIN_LINT_NO_LIVE_MATCH, NULL), 0);
	CHECK_INT(count(r, CERTPIN_LINT_CA_PINS_ONLY, NULL), 0);
	CHECK_INT(certpin_lint_errors(r), 1);
	certpin_lint_report_free(r);
	certpin_policy_free(p);

	/* with a backup key (0x20, not served) there is no E002; a later leaf expiry silences W003 */
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x10), CERTPIN_POS_LEAF);
	add_pin(p, "api.test", spki(0x20), CERTPIN_POS_LEAF);
	live.leaf_not_after = NOW + 200 * DAY;
	r = lint(p, &live, 1);
	CHECK_INT(certpin_lint_count(r), 0);
	certpin_lint_report_free(r);

	/* a certificate pin on the served leaf also counts as "served" */
	certpin_pin cp = { CERTPIN_PIN_CERT_SHA256, { 0 } };
	memset(cp.digest, 0x80, 32);
	certpin_policy *q = new_policy();
	add_rule(q, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(q, "api.test", cp, CERTPIN_POS_LEAF);
	add_pin(q, "api.test", spki(0x11), CERTPIN_POS_ANY);
	r = lint(q, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_NO_BACKUP_PIN, NULL), 1);
	certpin_lint_report_free(r);
	certpin_policy_free(q);

	/* same policy, but the host now serves another leaf: nothing matches (E003) */
	chain[0].spki_sha256[0] ^= 0xff;
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_NO_LIVE_MATCH, &f), 1);
	if (f) {
		CHECK_INT(f->mode, CERTPIN_MODE_ENFORCE);
		CHECK_INT(f->have_leaf, 1);
		CHECK_INT(f->leaf.digest[0], 0x10 ^ 0xff);
		CHECK_STR(f->host, "api.test");
	}
	CHECK_INT(count(r, CERTPIN_LINT_NO_BACKUP_PIN, NULL), 0);
	CHECK_INT(certpin_lint_errors(r), 1);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

/* Live chain as above, matched only through CA certificates (W001), or not at all in report-only mode. */
static void test_live_ca(void)
{
	certpin_chain_elem chain[3];
	const char *subjects[] = { "CN=leaf", "CN=Test Intermediate", "CN=Test Root" };
	certpin_lint_chain live = { "api.test", chain, 3, NOW + 50 * DAY, subjects };
	const certpin_lint_finding *f;
	int64_t exp = NOW + 100 * DAY;
	certpin_lint_report *r;
	certpin_policy *p;

	make_chain(chain, 3, 0x10, 0x80);

	/* accepted only through the intermediate (pin position any): W001 names the CA subject */
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x11), CERTPIN_POS_ANY);
	add_pin(p, "api.test", spki(0x30), CERTPIN_POS_ANY);
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_CA_PINS_ONLY, &f), 1);
	if (f) {
		CHECK_INT(f->live, 0);
		CHECK_INT(f->ndepths, 1);
		CHECK(f->ndepths == 1 && f->depths[0] == 1);
		CHECK_INT(f->n, 3);
		CHECK_INT(f->pin, 0);
	}
	CHECK_INT(count(r, CERTPIN_LINT_NO_BACKUP_PIN, NULL), 0);
	certpin_lint_report_free(r);
	certpin_policy_free(p);

	/* intermediate and root both pinned: W001 lists every matching CA certificate, not only the first */
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x11), CERTPIN_POS_INTERMEDIATE);
	add_pin(p, "api.test", spki(0x12), CERTPIN_POS_ROOT);
	add_pin(p, "api.test", spki(0x30), CERTPIN_POS_ANY);
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_CA_PINS_ONLY, &f), 1);
	CHECK(f && f->ndepths == 2 && f->depths[0] == 1 && f->depths[1] == 2);
	certpin_lint_report_free(r);
	/* a pin whose position does not fit is not listed: root key pinned as "intermediate" */
	certpin_policy_free(p);
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x11), CERTPIN_POS_INTERMEDIATE);
	add_pin(p, "api.test", spki(0x12), CERTPIN_POS_INTERMEDIATE);
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_CA_PINS_ONLY, &f), 1);
	CHECK(f && f->ndepths == 1 && f->depths[0] == 1);
	certpin_lint_report_free(r);
	certpin_policy_free(p);

	/* report-only mismatch is still E003, with the report-only wording */
	p = new_policy();
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_REPORT_ONLY, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(0x40), CERTPIN_POS_ANY);
	r = lint(p, &live, 1);
	CHECK_INT(count(r, CERTPIN_LINT_NO_LIVE_MATCH, &f), 1);
	if (f)
		CHECK_INT(f->mode, CERTPIN_MODE_REPORT_ONLY);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

static void test_live_coverage(void)
{
	certpin_chain_elem chain[2];
	certpin_lint_chain live[2] = {
		{ "www.other.test", chain, 2, 0, NULL },
		{ "a.wild.test", chain, 2, 0, NULL },
	};
	const certpin_lint_finding *f;
	int64_t exp = NOW + 100 * DAY;
	certpin_policy *p = new_policy();

	make_chain(chain, 2, 0x50, 0x90);
	add_rule(p, (rule_spec){ "api.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "api.test", spki(1), CERTPIN_POS_LEAF);
	add_pin(p, "api.test", spki(2), CERTPIN_POS_LEAF);
	add_rule(p, (rule_spec){ "*.wild.test", CERTPIN_MODE_ENFORCE, exp, CERTPIN_EXPIRY_FAIL_OPEN, 0 });
	add_pin(p, "*.wild.test", spki(0x50), CERTPIN_POS_LEAF);
	add_pin(p, "*.wild.test", spki(3), CERTPIN_POS_LEAF);
	certpin_lint_report *r = lint(p, live, 2);
	CHECK_INT(count(r, CERTPIN_LINT_LIVE_NOT_PINNED, &f), 1);
	if (f) {
		CHECK_INT(f->rule, -1);
		CHECK(f->pattern == NULL);
		CHECK_STR(f->hostname, "www.other.test");
		CHECK_INT(f->live, 0);
	}
	CHECK_INT(count(r, CERTPIN_LINT_NOT_CHECKED_LIVE, &f), 1);
	CHECK(f && f->rule == 0);
	/* the wildcard rule was checked through a.wild.test: matched, has a backup */
	for (size_t i = 0; i < certpin_lint_count(r); i++)
		CHECK(certpin_lint_finding_at(r, i)->rule != 1);
	/* the rule-less finding sorts last */
	CHECK_INT(certpin_lint_finding_at(r, certpin_lint_count(r) - 1)->rule, -1);
	certpin_lint_report_free(r);
	certpin_policy_free(p);
}

static void test_args(void)
{
	certpin_policy *p = new_policy();
	certpin_lint_report *r = (certpin_lint_report *)&r;
	certpin_lint_options o = CERTPIN_LINT_OPTIONS_INIT;
	certpin_chain_elem chain[1];
	certpin_lint_chain bad = { "bad..name", chain, 1, 0, NULL };
	certpin_error err;

	make_chain(chain, 1, 1, 2);
	CHECK_INT(certpin_lint(&r, NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK(r == NULL);
	CHECK_INT(certpin_lint(NULL, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	o.version = 99;
	CHECK_INT(certpin_lint(&r, p, &o, &err), CERTPIN_E_INVALID_ARG);
	CHECK_INT(err.code, CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "unknown version");
	o.version = CERTPIN_LINT_OPTIONS_VERSION;
	o.nlive = 1;
	CHECK_INT(certpin_lint(&r, p, &o, NULL), CERTPIN_E_INVALID_ARG);
	o.live = &bad;
	CHECK_INT(certpin_lint(&r, p, &o, &err), CERTPIN_E_HOSTNAME);
	CHECK_CONTAINS(err.message, "live chain 0: invalid host name \"bad..name\"");
	CHECK(r == NULL);
	/* empty policy, NULL options: no findings, err cleared */
	CHECK_INT(certpin_lint(&r, p, NULL, &err), CERTPIN_OK);
	CHECK_INT(err.code, CERTPIN_OK);
	CHECK_STR(err.message, "");
	CHECK_INT(certpin_lint_count(r), 0);
	certpin_lint_report_free(r);
	certpin_lint_report_free(NULL);
	CHECK_INT(certpin_lint_count(NULL), 0);
	CHECK(certpin_lint_finding_at(NULL, 0) == NULL);
	certpin_policy_free(p);
}

int main(void)
{
	test_ids();
	test_too_few_pins();
	test_expiry_checks();
	test_public_suffix();
	test_ca_only_offline();
	test_live();
	test_live_ca();
	test_live_coverage();
	test_args();
	return test_finish("lint_test");
}
