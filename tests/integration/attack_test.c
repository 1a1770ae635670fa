/*
 * attack_test - the attack catalog, end to end.
 *
 * Every case starts a local TLS server (127.0.0.1, one connection) with some
 * chain and key, connects to it through an SSL_CTX with a certpin policy
 * attached (tests/support/tlsclient.c) and asserts the exact certpin code, the
 * verdict and whether the connection went through.  Reference pins come from
 * pins.txt, computed by the openssl CLI in tests/data/mkpki.sh, not by the
 * library under test.  Policies are built in code and loaded from JSON.
 */
#include "certpin.h"
#include "test.h"

#include <openssl/x509_vfy.h>
#include "tlsclient.h"
#include "tlsserver.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* ---- reference pins -------------------------------------------------- */

enum {
	P_LEAF, P_BACKUP, P_INTER, P_ROOT, P_ROGUE_LEAF, P_ROGUE_ROOT, P_SS_OTHER, P_COUNT
};
static const char *const pin_names[P_COUNT] = {
	"leaf", "backup", "inter", "root", "rogue-leaf", "rogue-root", "selfsigned-other"
};
static certpin_pin pins[P_COUNT];
static char pin_text[P_COUNT][CERTPIN_PIN_STRLEN];

static int load_pins(void)
{
	int found = 0;

	for (int i = 0; i < P_COUNT; i++) {
		snprintf(pin_text[i], sizeof(pin_text[i]), "%s", test_pin(pin_names[i]));
		int rc = certpin_pin_parse(&pins[i], pin_text[i], strlen(pin_text[i]));
		CHECK_INT(rc, CERTPIN_OK);
		found += rc == CERTPIN_OK;
	}
	return found == P_COUNT;
}

/* ---- PKI paths ---------------------------------------------------------- */

typedef struct server_id {
	const char *chain, *key;
} server_id;

static const server_id REAL = { "chain.pem", "leaf.key" };
static const server_id BACKUP = { "backup-chain.pem", "backup.key" };
static const server_id ROGUE = { "rogue-chain.pem", "rogue-leaf.key" };
static const server_id INJECT = { "inject-chain.pem", "rogue-leaf.key" };
static const server_id EXPIRED = { "expired-chain.pem", "leaf.key" };
static const server_id WRONGHOST = { "wronghost-chain.pem", "leaf.key" };
static const server_id SELFSIGNED = { "selfsigned.pem", "leaf.key" };
static const server_id SS_OTHER = { "selfsigned-other.pem", "selfsigned-other.key" };
static const server_id SS_INJECT = { "selfsigned-inject-chain.pem", "selfsigned-other.key" };

#define TRUST "trust.pem"
#define TRUST_ROGUE "trust-with-rogue.pem"
#define HOST "api.certpin.test"

/* ---- failure callback --------------------------------------------------- */

typedef struct cb_log {
	int calls;
	certpin_result last;
	size_t n;
	certpin_chain_elem leaf;
} cb_log;

static void on_failure(const certpin_result *result, const certpin_chain_elem *chain, size_t n, void *payload)
{
	cb_log *log = payload;

	log->calls++;
	log->last = *result;
	log->n = n;
	if (chain && n > 0)
		log->leaf = chain[0];
}

/* ---- running one case --------------------------------------------------- */

#define ANY_VERDICT (-1)
#define ANY_DEPTH (-100)
#define NO_CA NULL
/* want_rc for "refused, no certpin code promised" (certpin codes are <= 0). */
#define REFUSED 1

typedef struct conn {
	server_id server;
	const char *ca;                 /* file under the PKI dir, or NULL */
	const char *host;               /* NULL: no SSL_set1_host, no SNI */
	unsigned int flags;             /* TEST_CLIENT_* */
	certpin_policy *policy;
	const certpin_ssl_options *opts;
} conn;

/*
 * Run one connection and check: the certpin code (or just a refusal, for
 * REFUSED), that the connection went through exactly when the code is
 * CERTPIN_OK, the verdict and the depth of the matching certificate (unless
 * ANY_*), and that the server saw the client.
 */
static certpin_result run(const char *name, const conn *c, int want_rc, int want_verdict, int want_depth)
{
	int failed_before = test_failed;
	certpin_result res;
	test_client_info info;
	tlsserver *srv = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	memset(&info, 0, sizeof(info));
	if (tlsserver_start(&srv, test_pki(c->server.chain), test_pki(c->server.key), 1) != 0) {
		CHECK(0);
		printf("FAIL %s (server did not start)\n", name);
		return res;
	}
	rc = test_client_connect(&res, &info, tlsserver_port(srv), c->host, c->flags,
		c->ca ? test_pki(c->ca) : NULL, c->policy, c->opts);
	CHECK(tlsserver_wait(srv, 5000));
	CHECK_INT(tlsserver_conns(srv), 1);
	tlsserver_stop(srv);

	if (want_rc == REFUSED) {
		CHECK(rc != CERTPIN_OK);
		CHECK_INT(info.connected, 0);
	} else {
		CHECK_INT(rc, want_rc);
		CHECK_INT(info.connected, want_rc == CERTPIN_OK);
		CHECK_INT(info.checked, 1);
	}
	CHECK_INT(res.allowed, want_rc == CERTPIN_OK);
	if (want_verdict != ANY_VERDICT)
		CHECK_INT(res.verdict, want_verdict);
	else
		CHECK(res.verdict != CERTPIN_VERDICT_MATCH);
	if (want_depth != ANY_DEPTH)
		CHECK_INT(res.depth, want_depth);

	printf("%-4s %-66s %-16s %-14s depth %d\n", test_failed == failed_before ? "ok" : "FAIL", name,
		certpin_error_name(rc), certpin_verdict_name(res.verdict), res.depth);
	if (test_failed != failed_before && info.tls_error[0])
		printf("     tls: %s (verify result %ld)\n", info.tls_error, info.verify_result);
	return res;
}

/* ---- building policies ------------------------------------------------- */

static certpin_policy *policy_new(void)
{
	certpin_policy *p = NULL;
	int rc = certpin_policy_new(&p);

	CHECK_INT(rc, CERTPIN_OK);
	if (!p)
		exit(2);
	return p;
}

static void add_host(certpin_policy *p, const char *pattern, certpin_mode mode, int64_t expires,
	certpin_expiry_action on_expiry, unsigned int skew)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	int rc;

	o.pattern = pattern;
	o.mode = mode;
	o.expires = expires;
	o.on_expiry = on_expiry;
	o.clock_skew = skew;
	certpin_error err;
	rc = certpin_policy_add_host(p, &o, &err);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "add_host %s: %s %s\n", pattern, certpin_strerror(rc), err.message);
	CHECK_INT(rc, CERTPIN_OK);
}

static void add_pin(certpin_policy *p, const char *pattern, int which, certpin_position pos)
{
	certpin_error err;
	int rc = certpin_policy_add_pin(p, pattern, &pins[which], pos, NULL, &err);

	if (rc != CERTPIN_OK)
		fprintf(stderr, "add_pin %s: %s %s\n", pattern, certpin_strerror(rc), err.message);
	CHECK_INT(rc, CERTPIN_OK);
}

/* One enforce rule for `pattern` with the given pins at position "any" (-1 ends the list). */
static certpin_policy *simple_policy(const char *pattern, int pin1, int pin2)
{
	certpin_policy *p = policy_new();

	add_host(p, pattern, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	if (pin1 >= 0)
		add_pin(p, pattern, pin1, CERTPIN_POS_ANY);
	if (pin2 >= 0)
		add_pin(p, pattern, pin2, CERTPIN_POS_ANY);
	return p;
}

/*
 * Load a JSON policy from a template in which "@leaf@", "@inter@", ... (the
 * names of pins.txt) stand for the pin texts.
 */
static certpin_policy *json_policy(const char *tmpl)
{
	char doc[8192];
	size_t o = 0;
	certpin_policy *p = NULL;
	int rc;

	for (const char *s = tmpl; *s && o < sizeof(doc) - 1;) {
		int done = 0;
		if (*s == '@') {
			for (int i = 0; i < P_COUNT && !done; i++) {
				size_t l = strlen(pin_names[i]);
				if (strncmp(s + 1, pin_names[i], l) == 0 && s[1 + l] == '@') {
					size_t tl = strlen(pin_text[i]);
					if (o + tl >= sizeof(doc))
						break;
					memcpy(doc + o, pin_text[i], tl);
					o += tl;
					s += l + 2;
					done = 1;
				}
			}
		}
		if (!done)
			doc[o++] = *s++;
	}
	doc[o] = '\0';
	certpin_error err;
	rc = certpin_policy_load_data(&p, doc, o, "attack_test.json", NULL, &err);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "json policy: %s: %s\n%s\n", certpin_strerror(rc), err.message, doc);
	if (!p)
		exit(2);
	CHECK_INT(rc, CERTPIN_OK);
	return p;
}

/* ---- the cases ---------------------------------------------------------- */

/* The main policy: api.certpin.test pinned to the leaf key, backup key as second pin. */
static certpin_policy *main_policy_code(void)
{
	certpin_policy *p = policy_new();

	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_LEAF, CERTPIN_POS_LEAF);
	add_pin(p, HOST, P_BACKUP, CERTPIN_POS_LEAF);
	return p;
}

static const char MAIN_JSON[] =
	"{\"schema\":1,\"policy_version\":7,\"hosts\":[{\"host\":\"api.certpin.test\","
	"\"include_subdomains\":false,\"mode\":\"enforce\",\"pins\":["
	"{\"pin\":\"@leaf@\",\"position\":\"leaf\",\"comment\":\"current key\"},"
	"{\"pin\":\"@backup@\",\"position\":\"leaf\",\"comment\":\"backup key, offline\"}]}]}";

static void basic_cases(const char *how, certpin_policy *p)
{
	char name[128];
	certpin_result r;
	conn c = { REAL, TRUST, HOST, 0, p, NULL };

	snprintf(name, sizeof(name), "[%s] pinned leaf key", how);
	r = run(name, &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(r.pin, 0);
	CHECK_INT(r.rule, 0);
	CHECK_STR(r.hostname, HOST);

	snprintf(name, sizeof(name), "[%s] backup pin, server on backup key", how);
	c.server = BACKUP;
	r = run(name, &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(r.pin, 1);

	snprintf(name, sizeof(name), "[%s] rogue CA trusted by client, forged leaf", how);
	c.server = ROGUE;
	c.ca = TRUST_ROGUE;
	r = run(name, &c, CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(r.pin, -1);

	/* The same forged leaf, for a client that does not trust the rogue CA. */
	snprintf(name, sizeof(name), "[%s] rogue CA not trusted", how);
	c.ca = TRUST;
	run(name, &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
}

static void position_cases(void)
{
	certpin_policy *p;
	conn c = { REAL, TRUST, HOST, 0, NULL, NULL };

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_INTER, CERTPIN_POS_INTERMEDIATE);
	c.policy = p;
	run("intermediate pin, position intermediate", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 1);
	certpin_policy_free(p);

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_INTER, CERTPIN_POS_LEAF);
	c.policy = p;
	run("intermediate pin, position leaf", &c, CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_ROOT, CERTPIN_POS_ROOT);
	c.policy = p;
	run("root pin, position root", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 2);
	certpin_policy_free(p);

	/* position any: the chain is hashed from the leaf up, the lowest match is the result */
	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_ROOT, CERTPIN_POS_ANY);
	c.policy = p;
	run("root pin, position any", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 2);
	certpin_policy_free(p);
	/* an attached policy is frozen: the next case gets a policy of its own */
	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_ROOT, CERTPIN_POS_ANY);
	add_pin(p, HOST, P_INTER, CERTPIN_POS_ANY);
	c.policy = p;
	run("root + intermediate pins, position any", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 1);
	certpin_policy_free(p);

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_ROOT, CERTPIN_POS_INTERMEDIATE);
	add_pin(p, HOST, P_LEAF, CERTPIN_POS_ROOT);
	c.policy = p;
	run("root pin as intermediate + leaf pin as root", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);
}

static void injection_cases(void)
{
	certpin_policy *code, *json;
	conn c = { REAL, TRUST_ROGUE, HOST, 0, NULL, NULL };

	/* Every genuine certificate pinned at any position. */
	code = policy_new();
	add_host(code, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(code, HOST, P_LEAF, CERTPIN_POS_ANY);
	add_pin(code, HOST, P_INTER, CERTPIN_POS_ANY);
	add_pin(code, HOST, P_ROOT, CERTPIN_POS_ANY);
	json = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"pins\":["
		"\"@leaf@\",{\"pin\":\"@inter@\",\"position\":\"any\"},{\"pin\":\"@root@\"}]}]}");

	c.policy = code;
	run("[code] control: genuine chain, pins leaf+inter+root (any)", &c, CERTPIN_OK,
		CERTPIN_VERDICT_MATCH, 0);
	c.server = INJECT;
	run("[code] chain injection: forged leaf + genuine leaf/inter/root", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	c.policy = json;
	run("[json] chain injection: forged leaf + genuine leaf/inter/root", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	c.ca = TRUST;
	run("[json] chain injection, rogue CA not trusted", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	certpin_policy_free(code);
	certpin_policy_free(json);
}

static void pkix_cases(void)
{
	certpin_policy *p = main_policy_code();
	conn c = { SS_OTHER, TRUST, HOST, 0, NULL, NULL };
	certpin_policy *ss;

	/* Pinning a key must not make an untrusted certificate acceptable. */
	ss = simple_policy(HOST, P_SS_OTHER, P_LEAF);
	c.policy = ss;
	run("untrusted self-signed, its key pinned", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	certpin_policy_free(ss);

	c.policy = p;
	c.server = EXPIRED;
	certpin_result r = run("expired leaf with the pinned key", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	CHECK_INT(r.pkix_error, X509_V_ERR_CERT_HAS_EXPIRED); /* OpenSSL's reason is kept */
	c.server = WRONGHOST;
	r = run("certificate for another host, pinned key", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	CHECK_INT(r.pkix_error, X509_V_ERR_HOSTNAME_MISMATCH);
	certpin_policy_free(p);
}

static void host_pattern_cases(void)
{
	certpin_policy *p;
	certpin_result r;
	conn c = { REAL, TRUST, "a.wild.certpin.test", 0, NULL, NULL };

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"*.wild.certpin.test\",\"pins\":[\"@leaf@\"]}]}");
	c.policy = p;
	r = run("a.wild.certpin.test vs \"*.wild.certpin.test\"", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_STR(r.hostname, "a.wild.certpin.test");
	certpin_policy_free(p);

	/* Wrong pins: if the rule applied, the connection would be refused. */
	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"*.certpin.test\",\"pins\":[\"@selfsigned-other@\"]}]}");
	c.policy = p;
	run("a.wild.certpin.test vs \"*.certpin.test\" (one label only)", &c, CERTPIN_OK,
		CERTPIN_VERDICT_NOT_PINNED, -1);
	certpin_policy_free(p);

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"**.certpin.test\",\"pins\":[\"@leaf@\"]}]}");
	c.policy = p;
	run("a.wild.certpin.test vs \"**.certpin.test\"", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	certpin_policy_free(p);

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"**.certpin.test\",\"pins\":[\"@selfsigned-other@\"]}]}");
	c.policy = p;
	run("a.wild.certpin.test vs \"**.certpin.test\", wrong pins", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"certpin.test\",\"include_subdomains\":true,"
		"\"pins\":[\"@selfsigned-other@\"]}]}");
	c.policy = p;
	run("a.wild.certpin.test vs certpin.test+include_subdomains, wrong pins", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);

	/* The most specific rule wins; pinsets are not merged. */
	p = json_policy("{\"schema\":1,\"hosts\":["
		"{\"host\":\"**.certpin.test\",\"pins\":[\"@selfsigned-other@\"]},"
		"{\"host\":\"*.wild.certpin.test\",\"pins\":[\"@leaf@\"]}]}");
	c.policy = p;
	r = run("precedence: \"*.wild\" (right pins) over \"**.certpin.test\" (wrong)", &c, CERTPIN_OK,
		CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(r.rule, 1);
	certpin_policy_free(p);

	p = json_policy("{\"schema\":1,\"hosts\":["
		"{\"host\":\"**.certpin.test\",\"pins\":[\"@leaf@\"]},"
		"{\"host\":\"*.wild.certpin.test\",\"pins\":[\"@selfsigned-other@\"]}]}");
	c.policy = p;
	run("precedence: \"*.wild\" (wrong pins) over \"**.certpin.test\" (right)", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);
}

static void normalization_cases(void)
{
	certpin_policy *good = main_policy_code();
	certpin_policy *bad = simple_policy(HOST, P_SS_OTHER, P_ROGUE_LEAF);
	certpin_ssl_options pin_only = CERTPIN_SSL_OPTIONS_INIT;
	certpin_result r;
	conn c = { REAL, TRUST, "API.CERTPIN.TEST", 0, good, NULL };

	r = run("\"API.CERTPIN.TEST\" (SSL_set1_host + SNI), right pins", &c, CERTPIN_OK,
		CERTPIN_VERDICT_MATCH, 0);
	CHECK_STR(r.hostname, HOST);
	c.policy = bad;
	run("\"API.CERTPIN.TEST\" (SSL_set1_host + SNI), wrong pins", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);

	/* SNI only: certpin makes the SNI name the verification host. */
	c.host = "api.certpin.test";
	c.flags = TEST_CLIENT_SNI_ONLY;
	c.policy = good;
	run("\"api.certpin.test\" (SNI only), right pins", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	c.server = WRONGHOST;
	run("\"api.certpin.test\" (SNI only), cert for another host", &c, CERTPIN_E_PKIX,
		ANY_VERDICT, ANY_DEPTH);
	c.server = REAL;
	c.host = "API.CERTPIN.TEST";
	run("\"API.CERTPIN.TEST\" (SNI only), right pins", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);

	/*
	 * A trailing dot, given as SNI only: certpin makes the SNI name the
	 * verification host, so PKIX and pins must both treat it as the
	 * name without the dot.
	 */
	c.host = "API.CERTPIN.TEST.";
	c.flags = TEST_CLIENT_SNI_ONLY;
	c.policy = good;
	r = run("\"API.CERTPIN.TEST.\" (SNI only), right pins", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_STR(r.hostname, HOST);
	c.policy = bad;
	run("\"API.CERTPIN.TEST.\" (SNI only), wrong pins", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);

	/*
	 * The same name given to SSL_set1_host(): OpenSSL's own host check does
	 * not strip a trailing dot, so PKIX fails whatever the pins say.  What
	 * matters is that the trick never gets a connection through.
	 */
	c.flags = 0;
	r = run("\"API.CERTPIN.TEST.\" (SSL_set1_host), wrong pins: refused", &c, CERTPIN_E_PKIX,
		ANY_VERDICT, ANY_DEPTH);

	/* Pin-only mode checks no host name, so the pin engine alone decides. */
	pin_only.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	c.server = SELFSIGNED;
	c.ca = NO_CA;
	c.opts = &pin_only;
	c.policy = good;
	r = run("[pin-only] \"API.CERTPIN.TEST.\", right pins", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_STR(r.hostname, HOST);
	c.policy = bad;
	run("[pin-only] \"API.CERTPIN.TEST.\", wrong pins", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);

	certpin_policy_free(good);
	certpin_policy_free(bad);
}

static void report_only_cases(void)
{
	certpin_ssl_options opts = CERTPIN_SSL_OPTIONS_INIT;
	cb_log log;
	certpin_policy *p, *enforce;
	certpin_result r;
	conn c = { REAL, TRUST, HOST, 0, NULL, &opts };

	opts.on_failure = on_failure;
	opts.payload = &log;

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"mode\":\"report-only\","
		"\"pins\":[\"@selfsigned-other@\",{\"pin\":\"@rogue-leaf@\",\"position\":\"leaf\"}]}]}");
	c.policy = p;
	memset(&log, 0, sizeof(log));
	r = run("report-only, wrong pins: allowed and reported", &c, CERTPIN_OK, CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(r.mode, CERTPIN_MODE_REPORT_ONLY);
	CHECK_INT(log.calls, 1);
	CHECK_INT(log.last.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(log.last.mode, CERTPIN_MODE_REPORT_ONLY);
	CHECK_INT(log.last.allowed, 1);
	CHECK_STR(log.last.hostname, HOST);
	/* The callback sees the verified chain: leaf, intermediate, root. */
	CHECK_INT(log.n, 3);
	CHECK(log.leaf.flags & CERTPIN_HAVE_SPKI);
	CHECK(memcmp(log.leaf.spki_sha256, pins[P_LEAF].digest, CERTPIN_DIGEST_LEN) == 0);
	certpin_policy_free(p);

	/* Enforce mode reports too; a match does not. */
	enforce = simple_policy(HOST, P_SS_OTHER, -1);
	c.policy = enforce;
	memset(&log, 0, sizeof(log));
	run("enforce, wrong pins: refused and reported", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(log.calls, 1);
	CHECK_INT(log.last.allowed, 0);
	certpin_policy_free(enforce);

	enforce = simple_policy(HOST, P_LEAF, -1);
	c.policy = enforce;
	memset(&log, 0, sizeof(log));
	run("enforce, right pins: no report", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(log.calls, 0);
	certpin_policy_free(enforce);
}

static void expiry_cases(void)
{
	int64_t now = (int64_t)time(NULL);
	certpin_ssl_options opts = CERTPIN_SSL_OPTIONS_INIT;
	cb_log log;
	certpin_policy *p;
	certpin_result r;
	conn c = { REAL, TRUST, HOST, 0, NULL, &opts };

	opts.on_failure = on_failure;
	opts.payload = &log;

	/* fail-open (from JSON, date form): wrong pins are no longer enforced. */
	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"expires\":\"2020-01-01\","
		"\"on_expiry\":\"fail-open\",\"pins\":[\"@selfsigned-other@\"]}]}");
	c.policy = p;
	memset(&log, 0, sizeof(log));
	r = run("expired pinset, fail-open, wrong pins: allowed", &c, CERTPIN_OK,
		CERTPIN_VERDICT_PINSET_EXPIRED, -1);
	CHECK_INT(r.expired, 1);
	CHECK_INT(log.calls, 1);
	CHECK_INT(log.last.verdict, CERTPIN_VERDICT_PINSET_EXPIRED);
	certpin_policy_free(p);

	/* fail-closed (from JSON, RFC 3339 form): even right pins are refused. */
	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\","
		"\"expires\":\"2020-01-01T00:00:00Z\",\"on_expiry\":\"fail-closed\",\"pins\":[\"@leaf@\"]}]}");
	c.policy = p;
	r = run("expired pinset, fail-closed, right pins: refused", &c, CERTPIN_E_PINSET_EXPIRED,
		CERTPIN_VERDICT_PINSET_EXPIRED, -1);
	CHECK_INT(r.expired, 1);
	certpin_policy_free(p);

	/* keep (built in code): pins stay enforced, the result flags the expiry. */
	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, now - 86400, CERTPIN_EXPIRY_KEEP, 0);
	add_pin(p, HOST, P_SS_OTHER, CERTPIN_POS_ANY);
	c.policy = p;
	r = run("expired pinset, keep, wrong pins: refused", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(r.expired, 1);
	certpin_policy_free(p);

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, now - 86400, CERTPIN_EXPIRY_KEEP, 0);
	add_pin(p, HOST, P_LEAF, CERTPIN_POS_ANY);
	c.policy = p;
	r = run("expired pinset, keep, right pins: allowed", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(r.expired, 1);
	certpin_policy_free(p);

	/* Within clock_skew of the expiry the pinset is still in force. */
	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, now - 60, CERTPIN_EXPIRY_FAIL_OPEN, 3600);
	add_pin(p, HOST, P_SS_OTHER, CERTPIN_POS_ANY);
	c.policy = p;
	r = run("pinset expired 60 s ago, skew 3600 s, wrong pins: refused", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(r.expired, 0);
	certpin_policy_free(p);

	p = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"expires\":\"2099-01-01T00:00:00Z\","
		"\"on_expiry\":\"fail-closed\",\"clock_skew\":300,\"pins\":[\"@leaf@\"]}]}");
	c.policy = p;
	r = run("pinset not expired, fail-closed, right pins", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	CHECK_INT(r.expired, 0);
	certpin_policy_free(p);
}

/* Certificate pin of a PEM file's first certificate, computed with OpenSSL directly. */
static int cert_pin(certpin_pin *out, const char *pem)
{
	FILE *f = fopen(pem, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned int n = 0;
	int ok = x && X509_digest(x, EVP_sha256(), out->digest, &n) && n == CERTPIN_DIGEST_LEN;

	out->kind = CERTPIN_PIN_CERT_SHA256;
	X509_free(x);
	if (f)
		fclose(f);
	return ok;
}

static void cert_pin_cases(void)
{
	certpin_pin leaf_cert, expired_cert;
	certpin_policy *p;
	conn c = { REAL, TRUST, HOST, 0, NULL, NULL };
	int rc;

	CHECK(cert_pin(&leaf_cert, test_pki("leaf.pem")));
	CHECK(cert_pin(&expired_cert, test_pki("expired-leaf.pem")));

	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	rc = certpin_policy_add_pin(p, HOST, &leaf_cert, CERTPIN_POS_LEAF, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	c.policy = p;
	run("cert-sha256 pin of the leaf certificate", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	certpin_policy_free(p);

	/* Same key, other certificate: a certificate pin must not match. */
	p = policy_new();
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	rc = certpin_policy_add_pin(p, HOST, &expired_cert, CERTPIN_POS_ANY, NULL, NULL);
	CHECK_INT(rc, CERTPIN_OK);
	c.policy = p;
	run("cert-sha256 pin of another cert with the same key", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(p);
}

/*
 * An application that sets SSL_VERIFY_NONE after attaching: OpenSSL would
 * note a failed verification and carry on; a pinned host must still be
 * refused, an unpinned one keeps the application's choice.
 */
static void verify_none_cases(void)
{
	certpin_policy *p = simple_policy(HOST, P_LEAF, -1);
	conn c = { ROGUE, TRUST_ROGUE, HOST, TEST_CLIENT_VERIFY_NONE, p, NULL };

	run("[SSL_VERIFY_NONE after attach] rogue CA trusted, forged leaf", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	c.ca = TRUST;
	run("[SSL_VERIFY_NONE after attach] rogue CA not trusted", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	c.server = REAL;
	run("[SSL_VERIFY_NONE after attach] pinned leaf key", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	certpin_policy_free(p);
}

/*
 * Two names set (SSL_set1_host then SSL_add1_host): OpenSSL accepts a
 * certificate valid for either, so the pins of every pinned name apply,
 * whichever name came first.
 */
static void two_name_cases(void)
{
	certpin_policy *p = simple_policy(HOST, P_SS_OTHER, -1);
	conn c = { REAL, TRUST, HOST, TEST_CLIENT_TWO_NAMES, p, NULL };
	certpin_result r;

	r = run("[two names] first unpinned, second pinned to another key", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_STR(r.hostname, HOST);
	certpin_policy_free(p);

	p = simple_policy(HOST, P_LEAF, -1);
	c.policy = p;
	run("[two names] first unpinned, second pinned to the server key", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	certpin_policy_free(p);

	/* both pinned: the first matches, the second does not */
	p = simple_policy(TEST_CLIENT_OTHER_NAME, P_LEAF, -1);
	add_host(p, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(p, HOST, P_SS_OTHER, CERTPIN_POS_ANY);
	c.policy = p;
	r = run("[two names] both pinned, the second to another key", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_STR(r.hostname, HOST);
	certpin_policy_free(p);
}

/*
 * An application verify callback that accepts (and clears) every error:
 * its choice stands for unpinned hosts, but pins need a verified chain, so
 * a pinned host is refused, through either binding.
 */
static void accept_all_cases(void)
{
	certpin_policy *p = simple_policy(HOST, P_LEAF, -1);
	/*
	 * The callback on the SSL_CTX, through either binding, and on the
	 * X509_STORE, where OpenSSL finds it when the SSL has none: the context
	 * binding must watch that one too, not take the path it keeps for
	 * OpenSSL's own callback.
	 */
	static const struct {
		unsigned int flags;
		const char *label;
	} where[] = {
		{ TEST_CLIENT_ACCEPT_ALL, "app callback accepts all" },
		{ TEST_CLIENT_ACCEPT_ALL | TEST_CLIENT_PER_SSL, "per-SSL, app callback accepts all" },
		{ TEST_CLIENT_STORE_ACCEPT_ALL, "store callback accepts all" },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		conn c = { ROGUE, TRUST, HOST, where[i].flags, p, NULL };
		snprintf(name, sizeof(name), "[%s] untrusted rogue chain", where[i].label);
		run(name, &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
		if (i == 0) {
			c.server = SS_OTHER;
			snprintf(name, sizeof(name), "[%s] self-signed", where[i].label);
			run(name, &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
		}
		c.server = EXPIRED;
		snprintf(name, sizeof(name), "[%s] expired, pinned key", where[i].label);
		run(name, &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
		c.server = REAL;
		snprintf(name, sizeof(name), "[%s] genuine chain, pinned key", where[i].label);
		run(name, &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	}
	certpin_policy_free(p);
}

/*
 * Per-connection binding gaps found in review: a host set from SNI only
 * (OpenSSL verified no name), SSL_VERIFY_NONE on the SSL after attaching, a
 * verification IP next to the host (OpenSSL requires both), and pin-only
 * trust on the context with a per-connection policy (they cannot compose).
 */
static void review_cases(void)
{
	certpin_policy *inter = simple_policy(HOST, P_INTER, -1), *leaf = simple_policy(HOST, P_LEAF, -1);
	conn c = { WRONGHOST, TRUST, HOST, TEST_CLIENT_PER_SSL | TEST_CLIENT_SNI_ONLY, inter, NULL };

	run("[per-SSL, SNI only] certificate for another name, pinned CA", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	c.server = REAL;
	run("[per-SSL, SNI only] genuine certificate, pinned CA", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 1);

	c.policy = leaf;
	c.flags = TEST_CLIENT_PER_SSL | TEST_CLIENT_VERIFY_NONE;
	c.server = ROGUE;
	run("[per-SSL, SSL_VERIFY_NONE after attach] untrusted rogue chain", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	c.server = SS_OTHER;
	run("[per-SSL, SSL_VERIFY_NONE after attach] self-signed", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	c.server = REAL;
	run("[per-SSL, SSL_VERIFY_NONE after attach] pinned leaf key", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);

	/* host pinned to the server's key, the IP 127.0.0.1 to another: the IP's pins apply too */
	certpin_policy *ip = simple_policy(HOST, P_LEAF, -1);
	add_host(ip, "127.0.0.1", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(ip, "127.0.0.1", P_SS_OTHER, CERTPIN_POS_ANY);
	c.policy = ip;
	c.flags = TEST_CLIENT_ADD_IP;
	certpin_result r = run("[host and IP set] IP pinned to another key", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_STR(r.hostname, "127.0.0.1");
	c.flags = TEST_CLIENT_ADD_IP | TEST_CLIENT_PER_SSL;
	run("[per-SSL, host and IP set] IP pinned to another key", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(ip);

	/* pin-only on the context runs no verify callback: a per-SSL policy would be skipped */
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	c.policy = leaf;
	c.opts = &po;
	c.flags = TEST_CLIENT_PER_SSL | TEST_CLIENT_BOTH;
	c.server = SELFSIGNED;
	c.ca = NO_CA;
	run("[pin-only context + per-SSL policy] refused (cannot compose)", &c, CERTPIN_E_INVALID_ARG, ANY_VERDICT,
		ANY_DEPTH);
	/* both bindings, the connection's own policy refuses: its result stands, not a generic PKIX failure */
	certpin_policy *other = simple_policy(HOST, P_SS_OTHER, -1);
	c.policy = other;
	c.opts = NULL;
	c.ca = TRUST;
	c.server = REAL;
	c.flags = TEST_CLIENT_PER_SSL | TEST_CLIENT_BOTH;
	run("[context + per-SSL binding] per-SSL policy refuses", &c, CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH,
		-1);
	certpin_policy_free(other);
	certpin_policy_free(inter);
	certpin_policy_free(leaf);
}

static void unpinned_cases(void)
{
	certpin_policy *p = simple_policy("other.host", P_SS_OTHER, -1);
	conn c = { REAL, TRUST, HOST, 0, p, NULL };

	run("unpinned host (policy for other.host only)", &c, CERTPIN_OK, CERTPIN_VERDICT_NOT_PINNED, -1);
	/* Not being pinned does not switch PKIX off. */
	c.server = EXPIRED;
	run("unpinned host, expired certificate", &c, CERTPIN_E_PKIX, CERTPIN_VERDICT_NOT_PINNED, -1);
	certpin_policy_free(p);
}

static void pin_only_cases(void)
{
	certpin_ssl_options opts = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *leaf = policy_new();
	certpin_policy *chain_pins, *other;
	conn c = { SELFSIGNED, NO_CA, HOST, 0, leaf, &opts };

	opts.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	add_host(leaf, HOST, CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin(leaf, HOST, P_LEAF, CERTPIN_POS_LEAF);

	run("[pin-only] self-signed, pinned leaf key", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	c.server = SS_OTHER;
	cb_log log;
	memset(&log, 0, sizeof(log));
	opts.on_failure = on_failure;
	opts.payload = &log;
	run("[pin-only] self-signed, other key", &c, CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	/* the failure callback sees the leaf that was refused, with both digests */
	CHECK_INT(log.calls, 1);
	CHECK_INT(log.n, 1);
	CHECK_INT(log.leaf.flags, CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT);
	CHECK(memcmp(log.leaf.spki_sha256, pins[P_SS_OTHER].digest, CERTPIN_DIGEST_LEN) == 0);
	opts.on_failure = NULL;
	opts.payload = NULL;

	/* Injection: the pinned certificate appended after a forged leaf. */
	chain_pins = simple_policy(HOST, P_LEAF, -1);
	c.policy = chain_pins;
	c.server = SS_INJECT;
	run("[pin-only] forged leaf + pinned self-signed cert", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(chain_pins);

	/* Peer-sent CA certificates prove nothing without PKIX. */
	chain_pins = simple_policy(HOST, P_INTER, P_ROOT);
	c.policy = chain_pins;
	c.server = REAL;
	run("[pin-only] genuine chain, only inter+root pinned", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(chain_pins);

	/*
	 * Without PKIX the pin is the only authentication: report-only does not
	 * let a wrong key through, and an expired fail-open pinset keeps its pins.
	 */
	certpin_policy *lax = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\","
		"\"mode\":\"report-only\",\"pins\":[{\"pin\":\"@leaf@\",\"position\":\"leaf\"}]}]}");
	c.policy = lax;
	c.server = SS_OTHER;
	run("[pin-only] report-only rule, other key: refused", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	certpin_policy_free(lax);
	lax = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"expires\":\"2020-01-01\","
		"\"on_expiry\":\"fail-open\",\"pins\":[{\"pin\":\"@leaf@\",\"position\":\"leaf\"}]}]}");
	c.policy = lax;
	certpin_result r = run("[pin-only] expired fail-open pinset, other key: refused", &c,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	CHECK_INT(r.expired, 1);
	c.server = SELFSIGNED;
	run("[pin-only] expired fail-open pinset, pinned key: allowed", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	certpin_policy_free(lax);
	lax = json_policy("{\"schema\":1,\"hosts\":[{\"host\":\"api.certpin.test\",\"expires\":\"2020-01-01\","
		"\"on_expiry\":\"fail-closed\",\"mode\":\"report-only\",\"pins\":[\"@leaf@\"]}]}");
	c.policy = lax;
	c.server = SS_OTHER;
	run("[pin-only] expired fail-closed report-only pinset: refused", &c, CERTPIN_E_PINSET_EXPIRED,
		CERTPIN_VERDICT_PINSET_EXPIRED, -1);
	certpin_policy_free(lax);

	/* Pin-only accepts nothing it cannot pin. */
	other = simple_policy("other.host", P_LEAF, -1);
	c.policy = other;
	c.server = SELFSIGNED;
	run("[pin-only] unpinned host refused", &c, CERTPIN_E_PIN_MISMATCH, ANY_VERDICT, ANY_DEPTH);
	certpin_policy_free(other);

	certpin_policy_free(leaf);
}

static void hostname_cases(void)
{
	certpin_policy *p = main_policy_code();
	certpin_policy *empty = policy_new();
	conn c = { REAL, TRUST, NULL, 0, p, NULL };

	run("no hostname (no SSL_set1_host, no SNI), non-empty policy", &c, CERTPIN_E_HOSTNAME,
		ANY_VERDICT, ANY_DEPTH);
	c.policy = empty;
	run("no hostname, empty policy", &c, CERTPIN_OK, CERTPIN_VERDICT_NOT_PINNED, -1);
	/* An empty policy must not switch PKIX off either. */
	c.server = ROGUE;
	run("no hostname, empty policy, untrusted server", &c, CERTPIN_E_PKIX, ANY_VERDICT, ANY_DEPTH);
	certpin_policy_free(p);
	certpin_policy_free(empty);
}

static void per_ssl_cases(void)
{
	certpin_policy *p = main_policy_code();
	conn c = { REAL, TRUST, HOST, TEST_CLIENT_PER_SSL, p, NULL };

	run("[per-SSL attach] pinned leaf key", &c, CERTPIN_OK, CERTPIN_VERDICT_MATCH, 0);
	c.server = ROGUE;
	c.ca = TRUST_ROGUE;
	run("[per-SSL attach] rogue CA trusted by client", &c, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_VERDICT_MISMATCH, -1);
	c.server = INJECT;
	run("[per-SSL attach] chain injection", &c, CERTPIN_E_PIN_MISMATCH, CERTPIN_VERDICT_MISMATCH, -1);
	/*
	 * Per-SSL attach checks pins only once OpenSSL verified the leaf, so a
	 * PKIX failure need not leave a certpin code behind: refusal is what counts.
	 */
	c.server = EXPIRED;
	c.ca = TRUST;
	run("[per-SSL attach] expired leaf", &c, REFUSED, ANY_VERDICT, ANY_DEPTH);
	certpin_policy_free(p);
}

/* The three-line integration: a policy file on disk. */
static certpin_policy *main_policy_file(void)
{
	char path[] = "/tmp/certpin-attack-XXXXXX";
	certpin_policy *p = NULL;
	int fd = mkstemp(path), rc;
	FILE *f;

	CHECK(fd >= 0);
	if (fd < 0)
		exit(2);
	f = fdopen(fd, "w");
	CHECK(f != NULL);
	if (!f) {
		close(fd);
		unlink(path);
		exit(2);
	}
	fprintf(f, "{\"schema\":1,\"policy_version\":7,\"hosts\":[{\"host\":\"api.certpin.test\","
		"\"mode\":\"enforce\",\"pins\":[{\"pin\":\"%s\",\"position\":\"leaf\"},"
		"{\"pin\":\"%s\",\"position\":\"leaf\"}]}]}\n", pin_text[P_LEAF], pin_text[P_BACKUP]);
	fclose(f);
	certpin_error err;
	rc = certpin_policy_load_file(&p, path, NULL, &err);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "load_file: %s: %s\n", certpin_strerror(rc), err.message);
	if (!p)
		exit(2);
	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_version(p), 7);
	unlink(path);
	return p;
}

/* ---- the same catalog through the other source of pins: a TOFU store ---- */

/*
 * One connection with only the TOFU store `t` attached: the TOFU code (or
 * REFUSED for a PKIX refusal, where no TOFU check runs), the TOFU verdict
 * (-1: any) and whether the connection went through.
 */
static void run_tofu(const char *name, certpin_tofu *t, server_id server, const char *ca, const char *host,
	int want_rc, int want_verdict)
{
	int failed_before = test_failed;
	test_client_info info;
	tlsserver *srv = NULL;

	if (tlsserver_start(&srv, test_pki(server.chain), test_pki(server.key), 1) != 0) {
		CHECK(0);
		return;
	}
	test_client_tofu = t;
	(void)test_client_connect(NULL, &info, tlsserver_port(srv), host, 0, test_pki(ca), NULL, NULL);
	test_client_tofu = NULL;
	CHECK(tlsserver_wait(srv, 5000));
	tlsserver_stop(srv);
	if (want_rc == REFUSED) {
		CHECK_INT(info.tofu_rc, CERTPIN_E_STATE); /* PKIX refused first: TOFU vouches for nothing */
		CHECK_INT(info.connected, 0);
	} else {
		CHECK_INT(info.tofu_rc, want_rc);
		CHECK_INT(info.connected, want_rc == CERTPIN_OK);
		CHECK_INT(info.tofu.allowed, want_rc == CERTPIN_OK);
	}
	if (want_verdict >= 0)
		CHECK_INT(info.tofu.verdict, want_verdict);
	printf("%-4s %-66s %-16s %s\n", test_failed == failed_before ? "ok" : "FAIL", name,
		certpin_error_name(info.tofu_rc), certpin_tofu_verdict_name(info.tofu.verdict));
}

static certpin_tofu *tofu_store(const char *file, certpin_mode mode, int recorded)
{
	char path[4096];
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), file);
	unlink(path);
	o.mode = mode;
	CHECK_INT(certpin_tofu_open(&t, path, &o), CERTPIN_OK);
	if (!t)
		exit(2);
	if (recorded >= 0)
		CHECK_INT(certpin_tofu_trust(t, HOST, &pins[recorded], CERTPIN_POS_LEAF, 0, (int64_t)time(NULL), NULL),
			CERTPIN_OK);
	return t;
}

/* The attack catalog with a TOFU store that recorded the real leaf key: the same verdicts as the policy's. */
static void tofu_cases(void)
{
	certpin_tofu *t = tofu_store("attack-known_pins", CERTPIN_MODE_ENFORCE, P_LEAF);

	run_tofu("[tofu] recorded leaf key", t, REAL, TRUST, HOST, CERTPIN_OK, CERTPIN_TOFU_MATCH);
	run_tofu("[tofu] \"API.CERTPIN.TEST\": the same host", t, REAL, TRUST, "API.CERTPIN.TEST", CERTPIN_OK,
		CERTPIN_TOFU_MATCH);
	/* OpenSSL's own name check does not strip a trailing dot: PKIX refuses before TOFU */
	run_tofu("[tofu] \"api.certpin.test.\" as the verification host", t, REAL, TRUST, HOST ".", REFUSED, -1);
	run_tofu("[tofu] rogue CA trusted by client, forged leaf", t, ROGUE, TRUST_ROGUE, HOST,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_TOFU_CHANGED);
	run_tofu("[tofu] chain injection (forged leaf + real chain)", t, INJECT, TRUST_ROGUE, HOST,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_TOFU_CHANGED);
	run_tofu("[tofu] another key from the real CA (backup, not recorded)", t, BACKUP, TRUST, HOST,
		CERTPIN_E_PIN_MISMATCH, CERTPIN_TOFU_CHANGED);
	run_tofu("[tofu] rogue CA not trusted", t, ROGUE, TRUST, HOST, REFUSED, -1);
	run_tofu("[tofu] self-signed with the recorded key", t, SELFSIGNED, TRUST, HOST, REFUSED, -1);
	run_tofu("[tofu] expired certificate, recorded key", t, EXPIRED, TRUST, HOST, REFUSED, -1);
	run_tofu("[tofu] certificate for another host, recorded key", t, WRONGHOST, TRUST, HOST, REFUSED, -1);
	run_tofu("[tofu] no host name at all", t, REAL, TRUST, NULL, CERTPIN_E_HOSTNAME, CERTPIN_TOFU_NONE);
	certpin_tofu_close(t);

	/* report-only: a change is allowed and reported; first use records */
	t = tofu_store("attack-known_pins-ro", CERTPIN_MODE_REPORT_ONLY, P_LEAF);
	run_tofu("[tofu, report-only] rogue CA trusted by client: allowed, reported", t, ROGUE, TRUST_ROGUE, HOST,
		CERTPIN_OK, CERTPIN_TOFU_CHANGED);
	certpin_tofu_close(t);
	/* with a policy as well: a chain the policy refuses is not recorded as the first use */
	t = tofu_store("attack-known_pins-policy", CERTPIN_MODE_ENFORCE, -1);
	certpin_policy *p = simple_policy(HOST, P_LEAF, P_BACKUP);
	test_client_info info;
	certpin_tofu_entry *list = NULL;
	size_t count = 9;
	tlsserver *srv = NULL;
	CHECK_INT(tlsserver_start(&srv, test_pki(ROGUE.chain), test_pki(ROGUE.key), 1), 0);
	test_client_tofu = t;
	CHECK_INT(test_client_connect(NULL, &info, tlsserver_port(srv), HOST, 0, test_pki(TRUST_ROGUE), p, NULL),
		CERTPIN_E_PIN_MISMATCH);
	test_client_tofu = NULL;
	CHECK(tlsserver_wait(srv, 5000));
	tlsserver_stop(srv);
	CHECK_INT(info.connected, 0);
	CHECK_INT(info.tofu_rc, CERTPIN_E_STATE);
	CHECK_INT(certpin_tofu_list(&list, &count, t, NULL), CERTPIN_OK);
	CHECK_INT(count, 0);
	free(list);
	printf("%-4s %-66s\n", count == 0 && !info.connected ? "ok" : "FAIL",
		"[tofu + policy] a rogue chain the policy refused is not recorded");
	certpin_policy_free(p);
	certpin_tofu_close(t);

	t = tofu_store("attack-known_pins-new", CERTPIN_MODE_ENFORCE, -1);
	run_tofu("[tofu] first use records the real key", t, REAL, TRUST, HOST, CERTPIN_OK, CERTPIN_TOFU_FIRST_USE);
	run_tofu("[tofu] then a rogue CA's leaf is refused", t, ROGUE, TRUST_ROGUE, HOST, CERTPIN_E_PIN_MISMATCH,
		CERTPIN_TOFU_CHANGED);
	certpin_tofu_close(t);
}

int main(void)
{
	certpin_policy *p;

	setvbuf(stdout, NULL, _IOLBF, 0);  /* keep case lines next to failure messages */
	if (!load_pins()) {
		fprintf(stderr, "attack_test: pins.txt incomplete\n");
		return test_finish("attack_test");
	}

	p = main_policy_code();
	basic_cases("code", p);
	certpin_policy_free(p);
	p = json_policy(MAIN_JSON);
	CHECK_INT(certpin_policy_version(p), 7);
	basic_cases("json", p);
	certpin_policy_free(p);
	p = main_policy_file();
	basic_cases("file", p);
	certpin_policy_free(p);

	position_cases();
	injection_cases();
	pkix_cases();
	cert_pin_cases();
	host_pattern_cases();
	normalization_cases();
	report_only_cases();
	expiry_cases();
	unpinned_cases();
	verify_none_cases();
	two_name_cases();
	accept_all_cases();
	review_cases();
	pin_only_cases();
	hostname_cases();
	per_ssl_cases();
	tofu_cases();

	return test_finish("attack_test");
}
