/*
 * The rotation planner: the scenarios with expected verdicts on
 * synthetic chains, unknown chain elements, expiry, advice, agreement with
 * certpin_verify(), and one scenario on the real test PKI.
 */
#include "certpin.h"
#include "certpin/tools.h"
#include "test.h"

#define AT ((int64_t)1800000000)
#define DAY 86400
#define HOST "api.test"

/* Current chain: leaf spki 0x10, intermediate 0x11, root 0x12; cert digests 0x80.. */
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

static certpin_pin certp(unsigned char v)
{
	certpin_pin p = { CERTPIN_PIN_CERT_SHA256, { 0 } };
	memset(p.digest, v, 32);
	return p;
}

typedef struct pin_spec {
	certpin_pin pin;
	certpin_position pos;
} pin_spec;

/* A policy with one rule for HOST. */
static certpin_policy *version(int64_t expires, certpin_expiry_action act, certpin_mode mode,
	const pin_spec *pins, size_t n)
{
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	o.pattern = HOST;
	o.expires = expires;
	o.on_expiry = act;
	o.mode = mode;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(certpin_policy_add_pin(p, HOST, &pins[i].pin, pins[i].pos, NULL, NULL), CERTPIN_OK);
	return p;
}

#define VERSION(...) version(0, CERTPIN_EXPIRY_FAIL_OPEN, CERTPIN_MODE_ENFORCE, (const pin_spec[]){ __VA_ARGS__ }, \
	sizeof((const pin_spec[]){ __VA_ARGS__ }) / sizeof(pin_spec))

static certpin_plan *evaluate(certpin_policy **pols, const char *const *names, size_t np,
	const certpin_chain_elem *chain, size_t n)
{
	certpin_plan_options o = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan_host h = { HOST, chain, n };
	certpin_plan *plan = NULL;
	o.at = AT;
	CHECK_INT(certpin_plan_evaluate(&plan, (const certpin_policy *const *)pols, names, np, &h, 1, &o, NULL), CERTPIN_OK);
	if (!plan)
		abort();
	/* Every cell's result is exactly what the engine says for that version. */
	for (size_t i = 0; i < np; i++) {
		certpin_result r;
		int rc = certpin_verify(&r, pols[i], HOST, chain, n, AT);
		const certpin_plan_cell *c = certpin_plan_get_cell(plan, i, 0);
		CHECK(c != NULL);
		if (!c)
			continue;
		CHECK_INT(c->engine_rc, rc);
		CHECK_INT(c->result.verdict, r.verdict);
		CHECK_INT(c->result.pin, r.pin);
		CHECK_INT(c->result.depth, r.depth);
		CHECK_INT(c->connects, r.allowed);
	}
	return plan;
}

static void free_all(certpin_policy **pols, size_t n, certpin_plan *plan)
{
	for (size_t i = 0; i < n; i++)
		certpin_policy_free(pols[i]);
	certpin_plan_free(plan);
}

/* Scenario 1: the leaf is renewed with the same key: a new certificate, same SPKI. */
static void test_renew_same_key(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "1.0", "1.1", "cert-pinned" };
	certpin_policy *pols[3] = {
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x30), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x11), CERTPIN_POS_INTERMEDIATE }, { spki(0x10), CERTPIN_POS_ANY }),
		VERSION({ certp(0x80), CERTPIN_POS_LEAF }, { spki(0x30), CERTPIN_POS_LEAF }),
	};
	make_chain(next, 3, 0x10, 0x90);   /* same keys, new certificates */

	certpin_plan *plan = evaluate(pols, names, 2, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_SAFE);
	const certpin_plan_cell *c = certpin_plan_get_cell(plan, 0, 0);
	CHECK_INT(c->outcome, CERTPIN_PLAN_MATCH);
	CHECK_INT(c->result.pin, 0);
	CHECK_INT(c->result.depth, 0);
	certpin_pin want = spki(0x10);
	CHECK(certpin_pin_equal(&c->matched, &want));
	CHECK_INT(c->matched_position, CERTPIN_POS_LEAF);
	c = certpin_plan_get_cell(plan, 1, 0);
	CHECK_INT(c->outcome, CERTPIN_PLAN_MATCH);
	CHECK_INT(c->result.depth, 0);     /* the engine walks the chain from the leaf */
	CHECK_INT(c->result.pin, 1);
	CHECK_INT(certpin_plan_warning_count(plan), 0);
	CHECK(certpin_plan_warning_at(plan, 0) == NULL);
	certpin_plan_free(plan);

	/* negative: a version that pinned the old certificate itself is locked out by the renewal */
	certpin_policy *cert_only[1] = { pols[2] };
	plan = evaluate(cert_only, names + 2, 1, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK_INT(a.version, CERTPIN_PLAN_ADVICE_VERSION);
	CHECK(a.nlocked_out == 1 && a.locked_out[0] == 0 && a.nrefused == 1);
	CHECK_STR(certpin_plan_policy_name(plan, 0), "cert-pinned");
	free_all(pols, 3, plan);
}

/* Scenario 2: new key (0x20) and every shipped version has it as a backup pin. */
static void test_new_key_with_backup(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "2.0", "2.1" };
	certpin_policy *pols[2] = {
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x20), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x20), CERTPIN_POS_ANY }, { spki(0x10), CERTPIN_POS_ANY }),
	};
	make_chain(next, 3, 0x20, 0xa0);
	memset(next[1].spki_sha256, 0x11, 32);   /* same intermediate and root */
	memset(next[2].spki_sha256, 0x12, 32);

	certpin_plan *plan = evaluate(pols, names, 2, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_SAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->result.pin, 1);   /* through the backup pin */
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->result.pin, 0);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK_INT(a.nrefused, 0);
	CHECK_INT(a.nlocked_out + a.nexpired_closed + a.ninvalid + a.nundecided, 0);
	CHECK_INT(a.nholders, 2);
	free_all(pols, 2, plan);
}

/* Scenario 3: new key without a backup in the older versions: unsafe, names them, says what to ship. */
static void test_new_key_without_backup(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "1.0", "1.1", "2.0" };
	certpin_policy *pols[3] = {
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x30), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x10), CERTPIN_POS_ANY }, { spki(0x31), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x20), CERTPIN_POS_LEAF }),
	};
	char b64[CERTPIN_PIN_STRLEN];
	certpin_pin newkey = spki(0x20);

	make_chain(next, 3, 0x20, 0xa0);
	memset(next[1].spki_sha256, 0x11, 32);
	memset(next[2].spki_sha256, 0x12, 32);
	certpin_plan *plan = evaluate(pols, names, 3, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	CHECK_INT(certpin_plan_get_cell(plan, 2, 0)->outcome, CERTPIN_PLAN_MATCH);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->connects, 0);

	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK_INT(a.nrefused, 2);
	CHECK(a.nrefused == 2 && a.refused[0] == 0 && a.refused[1] == 1);
	CHECK_INT(a.noffered, 3);
	CHECK(a.noffered > 0 && certpin_pin_equal(&a.offered[0], &newkey) && a.offered_depth[0] == 0);
	CHECK(a.nholders == 1 && a.holders[0] == 2);
	/* both are locked out (no pin matches), neither expired nor invalid */
	CHECK(a.nlocked_out == 2 && a.locked_out[0] == 0 && a.locked_out[1] == 1);
	CHECK_INT(a.nexpired_closed + a.ninvalid, 0);
	CHECK_INT(a.chain_length, 3);
	/* the old leaf key is the one pin both locked-out versions share, pinned at the leaf */
	certpin_pin old = spki(0x10);
	CHECK(a.nkeep == 1 && certpin_pin_equal(&a.keep[0], &old) && a.keep_position[0] == CERTPIN_POS_LEAF);
	(void)b64;
	free_all(pols, 3, plan);

	/* without 2.0, nobody has the new key yet: the fix is to ship it first */
	certpin_policy *older[2] = {
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x30), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x10), CERTPIN_POS_ANY }, { spki(0x31), CERTPIN_POS_LEAF }),
	};
	plan = evaluate(older, names, 2, next, 3);
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK_INT(a.nholders, 0);
	CHECK(a.noffered == 3 && certpin_pin_equal(&a.offered[0], &newkey) && a.offered_depth[0] == 0);
	CHECK(a.offered_depth[1] == 1 && a.offered_depth[2] == 2);
	free_all(older, 2, plan);
}

/* Scenario 4: the CA switches (new intermediate and root); versions pinned only the intermediate. */
static void test_ca_switch(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "ca-1.0", "ca-1.1" };
	certpin_policy *pols[2] = {
		VERSION({ spki(0x11), CERTPIN_POS_INTERMEDIATE }),
		VERSION({ spki(0x11), CERTPIN_POS_INTERMEDIATE }, { spki(0x12), CERTPIN_POS_ROOT }),
	};
	make_chain(next, 3, 0x10, 0xb0);   /* the same leaf key... */
	memset(next[1].spki_sha256, 0x41, 32);  /* ...under a new intermediate and root */
	memset(next[2].spki_sha256, 0x42, 32);

	certpin_plan *plan = evaluate(pols, names, 2, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	certpin_pin inter = spki(0x11);
	CHECK(a.nkeep == 1 && certpin_pin_equal(&a.keep[0], &inter) && a.keep_position[0] == CERTPIN_POS_INTERMEDIATE);
	CHECK(a.nlocked_out == 2 && a.locked_out[0] == 0 && a.locked_out[1] == 1);
	free_all(pols, 2, plan);

	/* negative: if the CA keeps the intermediate, the same versions are safe */
	certpin_policy *again[1] = { VERSION({ spki(0x11), CERTPIN_POS_INTERMEDIATE }) };
	memset(next[1].spki_sha256, 0x11, 32);
	plan = evaluate(again, names, 1, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_SAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->result.depth, 1);
	free_all(again, 1, plan);
}

/* Scenario 5: pinsets expiring soon are flagged; fail-closed says lockout, fail-open says so. */
static void test_pinset_expiring(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "closed", "open", "later", "keep" };
	const pin_spec pins[] = { { spki(0x10), CERTPIN_POS_LEAF }, { spki(0x20), CERTPIN_POS_LEAF } };
	certpin_policy *pols[4] = {
		version(AT + 10 * DAY, CERTPIN_EXPIRY_FAIL_CLOSED, CERTPIN_MODE_ENFORCE, pins, 2),
		version(AT + 10 * DAY, CERTPIN_EXPIRY_FAIL_OPEN, CERTPIN_MODE_ENFORCE, pins, 2),
		version(AT + 100 * DAY, CERTPIN_EXPIRY_FAIL_CLOSED, CERTPIN_MODE_ENFORCE, pins, 2),
		version(AT + 5 * DAY, CERTPIN_EXPIRY_KEEP, CERTPIN_MODE_ENFORCE, pins, 2),
	};
	make_chain(next, 3, 0x10, 0x90);
	certpin_plan *plan = evaluate(pols, names, 4, next, 3);

	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_SAFE);
	const certpin_plan_cell *c = certpin_plan_get_cell(plan, 0, 0);
	CHECK_INT(c->expiring_soon, 1);
	CHECK_INT(c->expires, AT + 10 * DAY);
	CHECK_INT(c->after_expiry, CERTPIN_PLAN_EXPIRED_CLOSED);
	c = certpin_plan_get_cell(plan, 1, 0);
	CHECK_INT(c->expiring_soon, 1);
	CHECK_INT(c->after_expiry, CERTPIN_PLAN_EXPIRED_OPEN);
	c = certpin_plan_get_cell(plan, 2, 0);
	CHECK_INT(c->expiring_soon, 0);
	CHECK_INT(c->after_expiry, CERTPIN_PLAN_EXPIRED_CLOSED);
	c = certpin_plan_get_cell(plan, 3, 0);
	CHECK_INT(c->after_expiry, CERTPIN_PLAN_MATCH);
	CHECK_INT(certpin_plan_warning_count(plan), 3);
	const certpin_plan_warning *w = certpin_plan_warning_at(plan, 0);
	CHECK(w && w->version == CERTPIN_PLAN_WARNING_VERSION && w->kind == CERTPIN_PLAN_WARN_EXPIRING);
	CHECK(w && w->policy == 0 && w->host == 0 && w->expires == AT + 10 * DAY && w->days == 10);
	CHECK(w && w->after_expiry == CERTPIN_PLAN_EXPIRED_CLOSED);
	w = certpin_plan_warning_at(plan, 1);
	CHECK(w && w->policy == 1 && w->kind == CERTPIN_PLAN_WARN_EXPIRING && w->after_expiry == CERTPIN_PLAN_EXPIRED_OPEN);
	w = certpin_plan_warning_at(plan, 2);
	CHECK(w && w->policy == 3 && w->days == 5 && w->after_expiry == CERTPIN_PLAN_MATCH);
	CHECK(certpin_plan_warning_at(plan, 3) == NULL);
	certpin_plan_free(plan);

	/* deploying after the expiry: fail-closed refuses (unsafe), fail-open connects without pins */
	certpin_plan_options o = CERTPIN_PLAN_OPTIONS_INIT;
	certpin_plan_host h = { HOST, next, 3 };
	o.at = AT + 20 * DAY;
	CHECK_INT(certpin_plan_evaluate(&plan, (const certpin_policy *const *)pols, names, 2, &h, 1, &o, NULL),
		CERTPIN_OK);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_EXPIRED_CLOSED);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_EXPIRED_OPEN);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->connects, 1);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK(a.nexpired_closed == 1 && a.expired_closed[0] == 0 && a.nlocked_out == 0 && a.nrefused == 1);
	w = certpin_plan_warning_at(plan, 0);
	CHECK(w && w->kind == CERTPIN_PLAN_WARN_EXPIRED_OPEN && w->policy == 1 && w->expires == AT + 10 * DAY);
	free_all(pols, 4, plan);
}

/* Only the new leaf key is known: CA pins make the outcome unknown, leaf-only versions are decided. */
static void test_unknown_elements(void)
{
	certpin_chain_elem next[3];
	const char *names[] = { "leafonly", "rootpin" };
	certpin_policy *pols[2] = {
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x30), CERTPIN_POS_LEAF }),
		VERSION({ spki(0x10), CERTPIN_POS_LEAF }, { spki(0x12), CERTPIN_POS_ROOT }),
	};
	memset(next, 0, sizeof(next));
	next[0].flags = CERTPIN_HAVE_SPKI;
	memset(next[0].spki_sha256, 0x20, 32);

	certpin_plan *plan = evaluate(pols + 1, names + 1, 1, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNDECIDED);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_UNKNOWN);
	certpin_plan_advice u;
	CHECK_INT(certpin_plan_get_advice(&u, plan, 0), CERTPIN_OK);
	CHECK(u.nundecided == 1 && u.undecided[0] == 0 && u.nrefused == 0);
	certpin_plan_free(plan);

	plan = evaluate(pols, names, 2, next, 3);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);   /* a definite lockout wins */
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_UNKNOWN);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK_INT(a.noffered, 1);     /* only the known leaf can be offered */
	CHECK(a.nundecided == 1 && a.undecided[0] == 1);
	free_all(pols, 2, plan);

	/* an empty chain is entirely unknown */
	certpin_policy *one[1] = { VERSION({ spki(0x10), CERTPIN_POS_LEAF }) };
	plan = evaluate(one, NULL, 1, next, 0);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_UNKNOWN);
	CHECK_STR(certpin_plan_policy_name(plan, 0), "#1");
	free_all(one, 1, plan);
}

static void test_other_outcomes(void)
{
	certpin_chain_elem next[2];
	const char *names[] = { "report", "other-host" };
	const pin_spec pins[] = { { spki(0x70), CERTPIN_POS_ANY } };
	certpin_policy *pols[2] = { version(0, CERTPIN_EXPIRY_FAIL_OPEN, CERTPIN_MODE_REPORT_ONLY, pins, 1), NULL };
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;

	if (certpin_policy_new(&pols[1]) != CERTPIN_OK)
		abort();
	o.pattern = "elsewhere.test";
	CHECK_INT(certpin_policy_add_host(pols[1], &o, NULL), CERTPIN_OK);
	make_chain(next, 2, 0x10, 0x80);
	certpin_plan *plan = evaluate(pols, names, 2, next, 2);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_SAFE);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_REPORT_ONLY);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_NOT_PINNED);
	CHECK_INT(certpin_plan_warning_count(plan), 1);
	CHECK(certpin_plan_warning_at(plan, 0) && certpin_plan_warning_at(plan, 0)->kind == CERTPIN_PLAN_WARN_REPORT_ONLY);
	CHECK(certpin_plan_warning_at(plan, 0) && certpin_plan_warning_at(plan, 0)->policy == 0);
	CHECK_STR(certpin_plan_outcome_name(CERTPIN_PLAN_EXPIRED_CLOSED), "expired-fail-closed");
	CHECK_STR(certpin_plan_verdict_name(CERTPIN_PLAN_UNDECIDED), "undecided");
	CHECK_STR(certpin_plan_host_name(plan, 0), HOST);
	CHECK(certpin_plan_host_name(plan, 1) == NULL);
	CHECK(certpin_plan_get_cell(plan, 2, 0) == NULL);
	free_all(pols, 2, plan);
}

static void test_multi_host(void)
{
	certpin_chain_elem a[2], b[2];
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pa = spki(0x10), pb = spki(0x50);
	certpin_plan *plan = NULL;

	if (certpin_policy_new(&p) != CERTPIN_OK)
		abort();
	o.pattern = "a.test";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	o.pattern = "b.test";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &pa, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, "b.test", &pb, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	make_chain(a, 2, 0x10, 0x80);
	make_chain(b, 2, 0x60, 0x90);
	certpin_plan_host hosts[2] = { { "A.TEST.", a, 2 }, { "b.test", b, 2 } };
	const certpin_policy *pols[1] = { p };
	const char *names[] = { "app" };
	CHECK_INT(certpin_plan_evaluate(&plan, pols, names, 1, hosts, 2, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	CHECK_STR(certpin_plan_host_name(plan, 0), "a.test");
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_MATCH);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 1)->outcome, CERTPIN_PLAN_LOCKOUT);
	certpin_plan_advice adv;
	CHECK_INT(certpin_plan_get_advice(&adv, plan, 0), CERTPIN_OK);
	CHECK_INT(adv.nlocked_out, 0);
	CHECK_INT(certpin_plan_get_advice(&adv, plan, 1), CERTPIN_OK);
	CHECK(adv.nlocked_out == 1 && adv.locked_out[0] == 0);
	CHECK_INT(certpin_plan_get_advice(&adv, plan, 2), CERTPIN_E_INVALID_ARG);
	certpin_plan_free(plan);

	/* argument errors, with the reason in err */
	certpin_error err;
	CHECK_INT(certpin_plan_evaluate(&plan, pols, names, 0, hosts, 2, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK(plan == NULL);
	CHECK_INT(err.code, CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "no shipped policies");
	CHECK_INT(certpin_plan_evaluate(&plan, pols, names, 1, hosts, 0, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_plan_evaluate(NULL, pols, names, 1, hosts, 2, NULL, NULL), CERTPIN_E_INVALID_ARG);
	certpin_plan_options bad = CERTPIN_PLAN_OPTIONS_INIT;
	bad.version = 1;        /* version 1 had the style of the advice text; gone with the text */
	CHECK_INT(certpin_plan_evaluate(&plan, pols, names, 1, hosts, 2, &bad, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "unknown version");
	const certpin_policy *nullpol[1] = { NULL };
	CHECK_INT(certpin_plan_evaluate(&plan, nullpol, names, 1, hosts, 2, NULL, NULL), CERTPIN_E_INVALID_ARG);
	certpin_plan_host badhost = { "bad..name", a, 2 };
	CHECK_INT(certpin_plan_evaluate(&plan, pols, names, 1, &badhost, 1, NULL, &err), CERTPIN_OK);
	CHECK_INT(err.code, CERTPIN_OK);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_INVALID);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	certpin_plan_free(plan);
	certpin_plan_free(NULL);
	certpin_policy_free(p);
}

/* The real test PKI: versions pinning leaf (+ spare) vs leaf + backup, server moves to backup-chain.pem. */
static int elems_from_file(certpin_chain_elem *out, size_t max, const char *path)
{
	certpin_item *items = NULL;
	size_t n = 0;
	if (certpin_items_from_file(&items, &n, path) != CERTPIN_OK || n > max) {
		certpin_items_free(items, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		out[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memcpy(out[i].spki_sha256, items[i].spki.digest, 32);
		memcpy(out[i].cert_sha256, items[i].cert.digest, 32);
	}
	certpin_items_free(items, n);
	return (int)n;
}

static int pki_pin(certpin_pin *out, const char *name)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	char *line = strtok(txt, "\n");
	int rc = -1;
	for (; line; line = strtok(NULL, "\n")) {
		size_t n = strlen(name);
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			rc = certpin_pin_parse(out, line + n + 1, strlen(line + n + 1)) == CERTPIN_OK ? 0 : -1;
			break;
		}
	}
	free(txt);
	return rc;
}

static void test_real_pki(void)
{
	certpin_chain_elem chain[4];
	certpin_pin leaf, backup, spare;
	int n = elems_from_file(chain, 3, test_pki("backup-chain.pem"));

	CHECK_INT(n, 2);
	CHECK(pki_pin(&leaf, "leaf") == 0 && pki_pin(&backup, "backup") == 0 && pki_pin(&spare, "selfsigned-other") == 0);
	if (n != 2)
		return;
	memset(&chain[2], 0, sizeof(chain[2]));   /* root not in the file: unknown */
	certpin_policy *pols[2] = {
		VERSION({ leaf, CERTPIN_POS_ANY }, { spare, CERTPIN_POS_ANY }),
		VERSION({ leaf, CERTPIN_POS_LEAF }, { backup, CERTPIN_POS_LEAF }),
	};
	const char *names[] = { "old", "new" };
	certpin_plan *plan = evaluate(pols, names, 2, chain, 3);
	/* "old" pins with position any could match the unknown root: undecided, not a silent "safe" */
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_UNKNOWN);
	CHECK_INT(certpin_plan_get_cell(plan, 1, 0)->outcome, CERTPIN_PLAN_MATCH);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNDECIDED);
	certpin_plan_free(plan);
	/* with the complete chain (root appended) the lockout is definite */
	CHECK_INT(elems_from_file(&chain[2], 1, test_pki("root.pem")), 1);
	plan = evaluate(pols, names, 2, chain, 3);
	CHECK_INT(certpin_plan_get_cell(plan, 0, 0)->outcome, CERTPIN_PLAN_LOCKOUT);
	CHECK_INT(certpin_plan_get_verdict(plan), CERTPIN_PLAN_UNSAFE);
	certpin_plan_advice a;
	CHECK_INT(certpin_plan_get_advice(&a, plan, 0), CERTPIN_OK);
	CHECK(a.noffered >= 1 && certpin_pin_equal(&a.offered[0], &backup));
	CHECK(a.nholders == 1 && a.holders[0] == 1);
	free_all(pols, 2, plan);
}

int main(void)
{
	test_renew_same_key();
	test_new_key_with_backup();
	test_new_key_without_backup();
	test_ca_switch();
	test_pinset_expiring();
	test_unknown_elements();
	test_other_outcomes();
	test_multi_host();
	test_real_pki();
	return test_finish("plan_test");
}
