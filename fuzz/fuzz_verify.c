/*
 * fuzz_verify: the decision engine, certpin_verify(), against a fixed policy.
 *
 * Input layout (missing bytes read as zero):
 *   byte 0      hostname: bit 7 set = one of `hosts` (low 4 bits), else a raw
 *               name of (byte & 63) bytes that follow
 *   1 byte      time: low 2 bits 0 = well before expiry, 1 = around the expiry
 *               instant (upper 6 bits give the offset in 16 s steps), 2 = raw
 *               int64 from the next 8 bytes, 3 = 0
 *   1 byte      chain length (mod 9); bit 7 set with length 0 = NULL chain
 *   per element 1 byte: bits 0-1 CERTPIN_HAVE_* flags, bits 2-3 SPKI digest,
 *               bits 4-5 certificate digest (from a table of four digests the
 *               policy pins), bit 6 = raw SPKI digest from the next 32 bytes
 *
 * Properties: allowed == 1 exactly when CERTPIN_OK is returned; the result
 * agrees with certpin_policy_lookup() and with a reference evaluation of the
 * documented rules (expiry with skew and on_expiry, fail-closed empty chain,
 * report-only); a MATCH names a pin and a depth that really match, at a
 * position the pin allows; a MISMATCH means no pin matches anywhere.
 */
#include "fuzz_common.h"

#define EXPIRES 2000000000 /* 2033-05-18T03:33:20Z */

static unsigned char digests[4][CERTPIN_DIGEST_LEN];
static certpin_policy *policy;

static const char *const hosts[16] = {
	"pinned.example", "x.report.example", "report.example", "a.closed.example", "open.example",
	"keep.example", "192.0.2.1", "[2001:db8::1]", "empty.example", "unpinned.example", "PINNED.EXAMPLE.",
	"a.b.closed.example", "report-empty.example", "", "2001:DB8:0::1", "x.y.report.example",
};

static void add_host(const char *pattern, certpin_mode mode, int64_t expires, certpin_expiry_action on_expiry,
	unsigned skew)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = pattern;
	o.mode = mode;
	o.expires = expires;
	o.on_expiry = on_expiry;
	o.clock_skew = skew;
	if (certpin_policy_add_host(policy, &o, NULL) != CERTPIN_OK)
		abort();
}

static void add_pin(const char *pattern, certpin_pin_kind kind, int d, certpin_position pos)
{
	certpin_pin pin;
	pin.kind = kind;
	memcpy(pin.digest, digests[d], CERTPIN_DIGEST_LEN);
	if (certpin_policy_add_pin(policy, pattern, &pin, pos, NULL, NULL) != CERTPIN_OK)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < CERTPIN_DIGEST_LEN; j++)
			digests[i][j] = (unsigned char)(0x11 * (i + 1) + j);
	if (certpin_policy_new(&policy) != CERTPIN_OK)
		abort();
	add_host("pinned.example", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin("pinned.example", CERTPIN_PIN_SPKI_SHA256, 0, CERTPIN_POS_LEAF);
	add_pin("pinned.example", CERTPIN_PIN_SPKI_SHA256, 1, CERTPIN_POS_ROOT);
	add_pin("pinned.example", CERTPIN_PIN_CERT_SHA256, 2, CERTPIN_POS_INTERMEDIATE);
	add_host("**.report.example", CERTPIN_MODE_REPORT_ONLY, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin("**.report.example", CERTPIN_PIN_SPKI_SHA256, 3, CERTPIN_POS_ANY);
	add_host("*.closed.example", CERTPIN_MODE_ENFORCE, EXPIRES, CERTPIN_EXPIRY_FAIL_CLOSED, 300);
	add_pin("*.closed.example", CERTPIN_PIN_SPKI_SHA256, 0, CERTPIN_POS_ANY);
	add_host("open.example", CERTPIN_MODE_ENFORCE, EXPIRES, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin("open.example", CERTPIN_PIN_CERT_SHA256, 1, CERTPIN_POS_LEAF);
	add_host("keep.example", CERTPIN_MODE_ENFORCE, EXPIRES, CERTPIN_EXPIRY_KEEP, 60);
	add_pin("keep.example", CERTPIN_PIN_SPKI_SHA256, 2, CERTPIN_POS_ANY);
	add_pin("keep.example", CERTPIN_PIN_CERT_SHA256, 2, CERTPIN_POS_ANY);
	add_host("192.0.2.1", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin("192.0.2.1", CERTPIN_PIN_SPKI_SHA256, 0, CERTPIN_POS_ANY);
	add_host("2001:db8::1", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_pin("2001:db8::1", CERTPIN_PIN_CERT_SHA256, 3, CERTPIN_POS_ROOT);
	add_host("empty.example", CERTPIN_MODE_ENFORCE, 0, CERTPIN_EXPIRY_FAIL_OPEN, 0);
	add_host("report-empty.example", CERTPIN_MODE_REPORT_ONLY, EXPIRES, CERTPIN_EXPIRY_FAIL_CLOSED, 0);
	return 0;
}

typedef struct {
	const uint8_t *p;
	size_t left;
} reader;

static uint8_t get8(reader *r)
{
	if (!r->left)
		return 0;
	r->left--;
	return *r->p++;
}

static int position_ok(certpin_position pos, size_t i, size_t n)
{
	switch (pos) {
	case CERTPIN_POS_ANY: return 1;
	case CERTPIN_POS_LEAF: return i == 0;
	case CERTPIN_POS_INTERMEDIATE: return i > 0 && i + 1 < n;
	case CERTPIN_POS_ROOT: return i + 1 == n;
	}
	return 0;
}

static int pin_matches(const certpin_pin *pin, certpin_position pos, const certpin_chain_elem *chain, size_t i,
	size_t n)
{
	const certpin_chain_elem *e = &chain[i];
	if (!position_ok(pos, i, n))
		return 0;
	if (pin->kind == CERTPIN_PIN_SPKI_SHA256)
		return (e->flags & CERTPIN_HAVE_SPKI) && memcmp(e->spki_sha256, pin->digest, CERTPIN_DIGEST_LEN) == 0;
	return (e->flags & CERTPIN_HAVE_CERT) && memcmp(e->cert_sha256, pin->digest, CERTPIN_DIGEST_LEN) == 0;
}

static void check(const char *host, const certpin_chain_elem *chain, size_t n, int64_t now)
{
	certpin_result res;
	char norm[CERTPIN_HOSTNAME_MAX];
	size_t idx = (size_t)-1;

	memset(&res, 0x5a, sizeof(res));
	int rc = certpin_verify(&res, policy, host, chain, n, now);

	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_PIN_MISMATCH || rc == CERTPIN_E_PINSET_EXPIRED ||
			rc == CERTPIN_E_HOSTNAME || rc == CERTPIN_E_CHAIN,
		"verify(%s) returned %d", host, rc);
	FUZZ_CHECK(res.allowed == (rc == CERTPIN_OK), "allowed=%d but rc=%d", res.allowed, rc);
	FUZZ_CHECK(res.version == CERTPIN_RESULT_VERSION && res.checked_at == now, "version/checked_at not set");
	FUZZ_CHECK(memchr(res.hostname, '\0', sizeof(res.hostname)) != NULL, "hostname not terminated");

	int nrc = certpin_hostname_normalize(norm, sizeof(norm), host);
	if (nrc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_HOSTNAME && res.rule == -1 && res.hostname[0] == '\0',
			"invalid name \"%s\" gave rc %d rule %d", host, rc, res.rule);
		return;
	}
	FUZZ_CHECK(strcmp(norm, res.hostname) == 0, "result hostname \"%s\", normalized \"%s\"", res.hostname, norm);

	int lrc = certpin_policy_lookup(&idx, policy, host);
	if (lrc == CERTPIN_E_NOT_FOUND) {
		FUZZ_CHECK(rc == CERTPIN_OK && res.verdict == CERTPIN_VERDICT_NOT_PINNED && res.rule == -1 &&
				res.pin == -1 && res.depth == -1 && !res.expired,
			"unpinned \"%s\": rc %d verdict %d rule %d", host, rc, (int)res.verdict, res.rule);
		return;
	}
	FUZZ_CHECK(lrc == CERTPIN_OK && res.rule == (int)idx, "\"%s\": verify rule %d, lookup %d/%zu", host, res.rule,
		lrc, idx);

	certpin_host_info h;
	FUZZ_CHECK(certpin_policy_host(&h, policy, idx) == CERTPIN_OK, "rule %zu unreadable", idx);
	FUZZ_CHECK(res.mode == h.mode, "result mode %d, rule mode %d", (int)res.mode, (int)h.mode);
	int report_only = h.mode == CERTPIN_MODE_REPORT_ONLY;
	int expired = h.expires != 0 && now > h.expires + (int64_t)h.clock_skew;
	FUZZ_CHECK(res.expired == expired, "\"%s\" at %lld: expired=%d, want %d", host, (long long)now, res.expired,
		expired);

	if (n == 0 || !chain) {
		FUZZ_CHECK(rc == CERTPIN_E_CHAIN && res.verdict == CERTPIN_VERDICT_MISMATCH && !res.allowed,
			"pinned \"%s\" with empty chain: rc %d verdict %d", host, rc, (int)res.verdict);
		return;
	}
	if (expired && h.on_expiry != CERTPIN_EXPIRY_KEEP) {
		int allow = h.on_expiry == CERTPIN_EXPIRY_FAIL_OPEN || report_only;
		FUZZ_CHECK(res.verdict == CERTPIN_VERDICT_PINSET_EXPIRED && res.allowed == allow &&
				(allow ? rc == CERTPIN_OK : rc == CERTPIN_E_PINSET_EXPIRED),
			"expired \"%s\": verdict %d rc %d", host, (int)res.verdict, rc);
		FUZZ_CHECK(res.pin == -1 && res.depth == -1, "expired verdict names a pin");
		return;
	}

	int any = 0;
	for (size_t k = 0; k < h.pin_count && !any; k++) {
		certpin_pin pin;
		certpin_position pos;
		if (certpin_policy_host_pin(&pin, &pos, policy, idx, k) != CERTPIN_OK)
			abort();
		for (size_t i = 0; i < n && !any; i++)
			any = pin_matches(&pin, pos, chain, i, n);
	}
	if (res.verdict == CERTPIN_VERDICT_MATCH) {
		FUZZ_CHECK(rc == CERTPIN_OK, "MATCH with rc %d", rc);
		FUZZ_CHECK(res.pin >= 0 && (size_t)res.pin < h.pin_count && res.depth >= 0 && (size_t)res.depth < n,
			"MATCH with pin %d depth %d (pins %zu, chain %zu)", res.pin, res.depth, h.pin_count, n);
		certpin_pin pin;
		certpin_position pos;
		if (certpin_policy_host_pin(&pin, &pos, policy, idx, (size_t)res.pin) != CERTPIN_OK)
			abort();
		FUZZ_CHECK(pin_matches(&pin, pos, chain, (size_t)res.depth, n),
			"MATCH names pin %d at depth %d, which does not match", res.pin, res.depth);
	} else {
		FUZZ_CHECK(res.verdict == CERTPIN_VERDICT_MISMATCH, "pinned \"%s\": verdict %d", host, (int)res.verdict);
		FUZZ_CHECK(!any, "MISMATCH for \"%s\" although a pin matches", host);
		FUZZ_CHECK(res.pin == -1 && res.depth == -1, "MISMATCH names pin %d depth %d", res.pin, res.depth);
		FUZZ_CHECK(report_only ? rc == CERTPIN_OK : rc == CERTPIN_E_PIN_MISMATCH, "MISMATCH, mode %d, rc %d",
			(int)h.mode, rc);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reader r = { data, size };
	certpin_chain_elem chain[8];
	char raw[64];
	const char *host;
	int64_t now;

	uint8_t b = get8(&r);
	if (b & 0x80) {
		host = hosts[b & 15];
	} else {
		size_t len = b & 63, k = 0;
		while (k < len && r.left)
			raw[k++] = (char)get8(&r);
		raw[k] = '\0';
		host = raw; /* an embedded NUL just ends the name early */
	}

	uint8_t t = get8(&r);
	switch (t & 3) {
	case 0: now = EXPIRES - 86400 * 365; break;
	case 1: now = EXPIRES + ((int64_t)(t >> 2) - 32) * 16; break;
	case 2: {
		uint64_t u = 0;
		for (int i = 0; i < 8; i++)
			u = u << 8 | get8(&r);
		memcpy(&now, &u, sizeof(now));
		break;
	}
	default: now = 0; break;
	}

	uint8_t nb = get8(&r);
	size_t n = nb % 9;
	memset(chain, 0, sizeof(chain));
	for (size_t i = 0; i < n; i++) {
		uint8_t e = get8(&r);
		chain[i].flags = e & 3u;
		memcpy(chain[i].spki_sha256, digests[(e >> 2) & 3], CERTPIN_DIGEST_LEN);
		memcpy(chain[i].cert_sha256, digests[(e >> 4) & 3], CERTPIN_DIGEST_LEN);
		if (e & 0x40)
			for (int j = 0; j < CERTPIN_DIGEST_LEN; j++)
				chain[i].spki_sha256[j] = get8(&r);
	}
	/* exactly n elements on the heap, so any read past the chain is caught */
	certpin_chain_elem *heap = malloc(n ? n * sizeof(*heap) : 1);
	if (!heap)
		abort();
	memcpy(heap, chain, n * sizeof(*heap));
	check(host, n == 0 && (nb & 0x80) ? NULL : heap, n, now);
	free(heap);
	return 0;
}
