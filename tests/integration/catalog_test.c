/*
 * catalog_test - one attack catalog, run through every TLS integration of
 * this build (tests/support/stack.h: OpenSSL always, then libcurl,
 * mbedTLS, wolfSSL and GnuTLS when configured), with the same expected
 * codes, verdicts and chain depths for all of them.
 *
 * Each case starts a local TLS server (127.0.0.1, one connection) with
 * some chain and key, connects through the stack's certpin attach call
 * with a policy (or a TOFU store) and checks the result the stack's
 * certpin result call gives.  Reference pins come from pins.txt (the
 * openssl CLI, tests/data/mkpki.sh), not from the library under test.
 * At the end a table shows, per stack, how many cases passed.
 *
 * Usage: catalog_test [STACK...]  (default: every stack of the build)
 */
#include "certpin.h"
#include "stack.h"
#include "test.h"
#include "tlsserver.h"

#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define HOST "api.certpin.test"
#define TRUST "trust.pem"
#define TRUST_ROGUE "trust-with-rogue.pem"

/* ---- reference pins ------------------------------------------------------------ */

static const char *const pin_names[] = { "leaf", "backup", "inter", "root", "rogue-leaf", "rogue-root",
	"selfsigned-other" };
#define NPINS (sizeof(pin_names) / sizeof(pin_names[0]))
static char pin_text[NPINS][CERTPIN_PIN_STRLEN];

static void load_pins(void)
{
	for (size_t i = 0; i < NPINS; i++)
		snprintf(pin_text[i], sizeof(pin_text[i]), "%s", test_pin(pin_names[i]));
}

/* A policy from a JSON template in which "@leaf@", "@root@", ... stand for the pins. */
static certpin_policy *policy_from(const char *tmpl)
{
	char doc[4096];
	size_t o = 0;
	certpin_policy *p = NULL;
	certpin_error err;

	for (const char *s = tmpl; *s && o < sizeof(doc) - 1;) {
		size_t i = 0, l = 0;
		if (*s == '@')
			for (; i < NPINS; i++)
				if (strncmp(s + 1, pin_names[i], l = strlen(pin_names[i])) == 0 && s[1 + l] == '@')
					break;
		if (*s != '@' || i == NPINS) {
			doc[o++] = *s++;
			continue;
		}
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s", pin_text[i]);
		s += l + 2;
	}
	doc[o < sizeof(doc) ? o : sizeof(doc) - 1] = '\0';
	if (certpin_policy_load_data(&p, doc, strlen(doc), "catalog.json", NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "catalog_test: %s\n%s\n", err.message, doc);
		exit(2);
	}
	return p;
}

/* ---- the catalog -------------------------------------------------------------------- */

#define ANY_VERDICT (-1)
#define ANY_DEPTH (-100)
/* want_rc: refused, whichever code the stack's own checks give first (certpin codes are <= 0) */
#define REFUSED 1

/* One host's pins, in the policy JSON of a case: `"host": HOST, ... "pins": [...]`. */
#define RULE(extra, pins) "{\"schema\":1,\"hosts\":[{\"host\":\"" HOST "\"" extra ",\"pins\":[" pins "]}]}"
#define PAT_RULE(pattern, pins) "{\"schema\":1,\"hosts\":[{\"host\":\"" pattern "\",\"pins\":[" pins "]}]}"

typedef struct catalog_case {
	const char *name;
	const char *chain, *key;        /* the server's (tests/data/mkpki.sh) */
	const char *ca;                 /* the client's trust anchors */
	const char *host;               /* the name the client verifies */
	const char *policy;             /* JSON template; NULL: a TOFU case (see tofu_cases) */
	int want_rc;                    /* the stack's certpin result code */
	int want_verdict;               /* ANY_VERDICT: anything but MATCH */
	int want_depth;                 /* ANY_DEPTH: not checked */
} catalog_case;

static const catalog_case cases[] = {
	{ "pinned leaf key", "chain.pem", "leaf.key", TRUST, HOST,
		RULE("", "\"@leaf@\",\"@backup@\""), CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0 },
	{ "backup pin, server on the backup key", "backup-chain.pem", "backup.key", TRUST, HOST,
		RULE("", "\"@leaf@\",\"@backup@\""), CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0 },
	{ "pinned root, position root", "chain.pem", "leaf.key", TRUST, HOST,
		RULE("", "{\"pin\":\"@root@\",\"position\":\"root\"}"), CERTPIN_OK, CERTPIN_VERDICT_MATCH, 2 },
	{ "pinned intermediate, position leaf: refused", "chain.pem", "leaf.key", TRUST, HOST,
		RULE("", "{\"pin\":\"@inter@\",\"position\":\"leaf\"}"), CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1 },
	{ "rogue CA trusted by the client, forged leaf", "rogue-chain.pem", "rogue-leaf.key", TRUST_ROGUE, HOST,
		RULE("", "\"@leaf@\",\"@backup@\""), CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1 },
	{ "chain injection: forged leaf + the genuine chain appended", "inject-chain.pem", "rogue-leaf.key",
		TRUST_ROGUE, HOST, RULE("", "\"@leaf@\",\"@inter@\",\"@root@\""), CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1 },
	{ "rogue CA not trusted", "rogue-chain.pem", "rogue-leaf.key", TRUST, HOST,
		RULE("", "\"@rogue-leaf@\",\"@rogue-root@\""), CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH },
	{ "untrusted self-signed, its key pinned", "selfsigned-other.pem", "selfsigned-other.key", TRUST, HOST,
		RULE("", "\"@selfsigned-other@\",\"@leaf@\""), CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH },
	{ "expired leaf with the pinned key", "expired-chain.pem", "leaf.key", TRUST, HOST,
		RULE("", "\"@leaf@\",\"@backup@\""), CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH },
	{ "certificate for another host, pinned key", "wronghost-chain.pem", "leaf.key", TRUST, HOST,
		RULE("", "\"@leaf@\",\"@backup@\""), CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH },
	{ "\"*.wild.certpin.test\" covers a.wild.certpin.test", "chain.pem", "leaf.key", TRUST,
		"a.wild.certpin.test", PAT_RULE("*.wild.certpin.test", "\"@leaf@\""), CERTPIN_OK,
		CERTPIN_VERDICT_MATCH, 0 },
	{ "\"*.certpin.test\" is one label: a.wild.certpin.test not pinned", "chain.pem", "leaf.key", TRUST,
		"a.wild.certpin.test", PAT_RULE("*.certpin.test", "\"@selfsigned-other@\""), CERTPIN_OK,
		CERTPIN_VERDICT_NOT_PINNED, -1 },
	{ "\"**.certpin.test\" covers a.wild.certpin.test, wrong pins", "chain.pem", "leaf.key", TRUST,
		"a.wild.certpin.test", PAT_RULE("**.certpin.test", "\"@selfsigned-other@\""),
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1 },
	{ "\"API.CERTPIN.TEST\", right pins", "chain.pem", "leaf.key", TRUST, "API.CERTPIN.TEST",
		RULE("", "\"@leaf@\""), CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0 },
	{ "\"API.CERTPIN.TEST\", wrong pins", "chain.pem", "leaf.key", TRUST, "API.CERTPIN.TEST",
		RULE("", "\"@selfsigned-other@\""), CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1 },
	{ "\"api.certpin.test.\" (trailing dot), wrong pins: refused", "chain.pem", "leaf.key", TRUST,
		HOST ".", RULE("", "\"@selfsigned-other@\""), REFUSED, ANY_VERDICT, ANY_DEPTH },
	{ "report-only, wrong pins: allowed", "chain.pem", "leaf.key", TRUST, HOST,
		RULE(",\"mode\":\"report-only\"", "\"@selfsigned-other@\""), CERTPIN_OK, CERTPIN_VERDICT_MISMATCH, -1 },
	{ "expired pinset, fail-open, wrong pins: allowed", "chain.pem", "leaf.key", TRUST, HOST,
		RULE(",\"expires\":\"2020-01-01\",\"on_expiry\":\"fail-open\"", "\"@selfsigned-other@\""),
		CERTPIN_OK, CERTPIN_VERDICT_PINSET_EXPIRED, -1 },
	{ "expired pinset, fail-closed, right pins: refused", "chain.pem", "leaf.key", TRUST, HOST,
		RULE(",\"expires\":\"2020-01-01\",\"on_expiry\":\"fail-closed\"", "\"@leaf@\""),
		CERTPIN_E_PINSET_EXPIRED, CERTPIN_VERDICT_PINSET_EXPIRED, -1 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- running --------------------------------------------------------------------------- */

typedef struct tally {
	const char *stack;
	int passed, failed;
} tally;

/* One connection through `s`; fills *res.  False if the harness failed. */
static bool connect_via(const stack_client *s, stack_result *res, const char *chain, const char *key,
	const stack_conn *base)
{
	tlsserver *srv = NULL;
	stack_conn c = *base;

	memset(res, 0, sizeof(*res));
	if (tlsserver_start(&srv, test_pki(chain), test_pki(key), 1) != 0)
		return false;
	c.port = tlsserver_port(srv);
	int rc = s->connect(res, &c);
	(void)tlsserver_wait(srv, 5000);
	tlsserver_stop(srv);
	return rc == 0;
}

/* Compare with the expectation; print the line; count. */
static void judge(tally *t, const char *name, const stack_result *r, bool ran, int want_rc, int want_verdict,
	int want_depth)
{
	int before = test_failed;

	CHECK(ran);
	if (want_rc == REFUSED)
		CHECK(r->rc != CERTPIN_OK);
	else
		CHECK_INT(r->rc, want_rc);
	CHECK_INT(r->connected, want_rc == CERTPIN_OK);
	CHECK_INT(r->result.allowed, want_rc == CERTPIN_OK);
	if (want_verdict != ANY_VERDICT)
		CHECK_INT(r->result.verdict, want_verdict);
	else
		CHECK(r->result.verdict != CERTPIN_VERDICT_MATCH);
	if (want_depth != ANY_DEPTH)
		CHECK_INT(r->result.depth, want_depth);
	bool ok = test_failed == before;
	if (ok)
		t->passed++;
	else
		t->failed++;
	printf("%-4s %-8s %-62s %-16s %s\n", ok ? "ok" : "FAIL", t->stack, name, certpin_error_name(r->rc),
		certpin_verdict_name(r->result.verdict));
	if (!ok && r->error[0])
		printf("     %s: %s\n", t->stack, r->error);
}

static void policy_cases(const stack_client *s, tally *t)
{
	for (size_t i = 0; i < NCASES; i++) {
		const catalog_case *k = &cases[i];
		certpin_policy *p = policy_from(k->policy);
		stack_conn c = { 0, k->host, test_pki(k->ca), p, NULL, NULL };
		stack_result r;
		bool ran = connect_via(s, &r, k->chain, k->key, &c);
		judge(t, k->name, &r, ran, k->want_rc, k->want_verdict, k->want_depth);
		certpin_policy_free(p);
	}
}

/* A TOFU connection: the store's code and verdict take the place of the policy's. */
static void judge_tofu(tally *t, const char *name, const stack_result *r, bool ran, int want_rc, int want_verdict)
{
	stack_result as_policy = *r;

	as_policy.rc = r->tofu_rc;
	as_policy.result.allowed = r->tofu.allowed;
	as_policy.result.verdict = (certpin_verdict)(r->tofu.verdict == (certpin_tofu_verdict)want_verdict ?
		CERTPIN_VERDICT_MATCH : CERTPIN_VERDICT_MISMATCH);
	judge(t, name, &as_policy, ran, want_rc, CERTPIN_VERDICT_MATCH, ANY_DEPTH);
}

static void tofu_cases(const stack_client *s, tally *t)
{
	char path[4096];
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	stack_result r;
	bool ran;

	snprintf(path, sizeof(path), "%s/known_pins-%s", test_tmpdir(), s->name);
	unlink(path);
	if (certpin_tofu_open(&store, path, &o) != CERTPIN_OK) {
		CHECK(0);
		return;
	}
	stack_conn c = { 0, HOST, test_pki(TRUST), NULL, NULL, store };
	ran = connect_via(s, &r, "chain.pem", "leaf.key", &c);
	judge_tofu(t, "[tofu] first use records the key", &r, ran, CERTPIN_OK, CERTPIN_TOFU_FIRST_USE);
	ran = connect_via(s, &r, "chain.pem", "leaf.key", &c);
	judge_tofu(t, "[tofu] the recorded key again", &r, ran, CERTPIN_OK, CERTPIN_TOFU_MATCH);
	c.ca_file = test_pki(TRUST_ROGUE);
	ran = connect_via(s, &r, "rogue-chain.pem", "rogue-leaf.key", &c);
	judge_tofu(t, "[tofu] key changed (rogue CA trusted): refused", &r, ran, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_TOFU_CHANGED);
	certpin_tofu_close(store);
}

static bool wanted(const char *name, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return argc < 2;
}

int main(int argc, char **argv)
{
	tally tallies[8];
	size_t n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	load_pins();
	for (size_t i = 0; test_stacks[i] && n < 8; i++) {
		if (!wanted(test_stacks[i]->name, argc, argv))
			continue;
		tally *t = &tallies[n++];
		t->stack = test_stacks[i]->name;
		t->passed = t->failed = 0;
		policy_cases(test_stacks[i], t);
		tofu_cases(test_stacks[i], t);
	}
	CHECK(n > 0);
	printf("\n%-10s %6s %6s\n", "stack", "passed", "failed");
	for (size_t i = 0; i < n; i++)
		printf("%-10s %6d %6d\n", tallies[i].stack, tallies[i].passed, tallies[i].failed);
	return test_finish("catalog_test");
}
