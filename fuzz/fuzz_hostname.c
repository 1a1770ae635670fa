/*
 * fuzz_hostname: certpin_hostname_normalize(), host patterns and the host
 * index.
 *
 * Properties:
 *   - normalization is idempotent, its output is short, lowercase ASCII, and a
 *     too-small output buffer is refused without being overrun;
 *   - certpin_policy_lookup() on a fixed policy with overlapping rules returns
 *     what a naive scan of all rules with the documented precedence returns
 *     (longest base; for the same base exact > "*." > "**.");
 *   - the input taken as a host pattern: if certpin_policy_add_host()
 *     accepts it, its normalized pattern is accepted again unchanged.
 */
#include "fuzz_common.h"

static const char *const patterns[] = {
	"example.com", "*.example.com", "**.example.com", "**.a.example.com", "b.example.com",
	"*.c.example.com", "**.org", "192.0.2.1", "2001:db8::1", "**.xn--bcher-kva.example", "localhost",
	"*.d.example.com", "**.d.example.com", "_srv.example.net",
};

static certpin_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (certpin_policy_new(&policy) != CERTPIN_OK)
		abort();
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		o.pattern = patterns[i];
		certpin_error err;
		if (certpin_policy_add_host(policy, &o, &err) != CERTPIN_OK) {
			fprintf(stderr, "fuzz_hostname: cannot add %s: %s\n", patterns[i], err.message);
			abort();
		}
	}
	return 0;
}

static int looks_ip(const char *h)
{
	if (strchr(h, ':'))
		return 1;
	const char *last = strrchr(h, '.');
	last = last ? last + 1 : h;
	if (!*last)
		return 0;
	for (; *last; last++)
		if (*last < '0' || *last > '9')
			return 0;
	return 1;
}

/*
 * certpin.h: the rule with the longest base wins; for the same base, exact >
 * "*." > "**.".  A rule with base b applies to host h when: exact, b == h;
 * "*.", h is one label below b; "**.", h == b or h ends in "." b.
 */
static long reference_lookup(const char *host)
{
	size_t n = certpin_policy_host_count(policy), hlen = strlen(host);
	long best = -1;
	size_t best_len = 0;
	int best_wild = 3;
	int ip = looks_ip(host);

	for (size_t i = 0; i < n; i++) {
		certpin_host_info h;
		if (certpin_policy_host(&h, policy, i) != CERTPIN_OK)
			abort();
		size_t blen = strlen(h.name);
		int applies = 0;
		if (h.wildcard == 0 || h.is_ip || ip) {
			applies = h.wildcard == 0 && strcmp(h.name, host) == 0;
		} else if (hlen > blen && host[hlen - blen - 1] == '.' && strcmp(host + hlen - blen, h.name) == 0) {
			/* h is below the base: "**." always, "*." only one label below */
			applies = h.wildcard == 2 || memchr(host, '.', hlen - blen - 1) == NULL;
		} else {
			applies = h.wildcard == 2 && strcmp(h.name, host) == 0;
		}
		if (applies && (blen > best_len || (blen == best_len && h.wildcard < best_wild))) {
			best = (long)i;
			best_len = blen;
			best_wild = h.wildcard;
		}
	}
	return best;
}

static void check_normalize(const char *in)
{
	char out[CERTPIN_HOSTNAME_MAX], again[CERTPIN_HOSTNAME_MAX];

	memset(out, 0, sizeof(out));
	if (certpin_hostname_normalize(out, sizeof(out), in) != CERTPIN_OK)
		return;
	size_t len = strlen(out);
	FUZZ_CHECK(len > 0 && len <= 253, "normalized \"%s\" has length %zu", out, len);
	for (size_t i = 0; i < len; i++) {
		char c = out[i];
		FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
				c == ':',
			"normalized \"%s\" contains byte 0x%02x", out, (unsigned char)c);
	}
	int rc = certpin_hostname_normalize(again, sizeof(again), out);
	FUZZ_CHECK(rc == CERTPIN_OK, "normalized \"%s\" does not normalize again: %d", out, rc);
	FUZZ_CHECK(strcmp(out, again) == 0, "not idempotent: \"%s\" -> \"%s\" -> \"%s\"", in, out, again);

	/* One byte short must be refused without writing past the buffer. */
	char *small = malloc(len ? len : 1);
	if (!small)
		abort();
	rc = certpin_hostname_normalize(small, len, in);
	FUZZ_CHECK(rc != CERTPIN_OK, "normalize into %zu bytes succeeded for \"%s\"", len, out);
	free(small);

	/* The lookup of the raw name and of its normal form agree with the reference. */
	size_t idx = (size_t)-1, idx2 = (size_t)-1;
	rc = certpin_policy_lookup(&idx, policy, in);
	int rc2 = certpin_policy_lookup(&idx2, policy, out);
	long want = reference_lookup(out);
	FUZZ_CHECK(rc == rc2 && (rc != CERTPIN_OK || idx == idx2), "lookup of \"%s\" and of \"%s\" differ", in, out);
	if (want < 0)
		FUZZ_CHECK(rc == CERTPIN_E_NOT_FOUND, "\"%s\": lookup gave %d/%zu, reference none", out, rc, idx);
	else
		FUZZ_CHECK(rc == CERTPIN_OK && idx == (size_t)want, "\"%s\": lookup gave %d/%zu, reference rule %ld",
			out, rc, idx, want);
}

static void check_pattern(const char *in, int include_subdomains)
{
	certpin_policy *p = NULL, *q = NULL;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_host_info h1, h2;

	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_new(&q) != CERTPIN_OK)
		abort();
	o.pattern = in;
	o.include_subdomains = include_subdomains;
	if (certpin_policy_add_host(p, &o, NULL) == CERTPIN_OK) {
		FUZZ_CHECK(certpin_policy_host(&h1, p, 0) == CERTPIN_OK, "rule not readable");
		o.pattern = h1.pattern;
		o.include_subdomains = 0;
		certpin_error err;
		int rc = certpin_policy_add_host(q, &o, &err);
		FUZZ_CHECK(rc == CERTPIN_OK, "normalized pattern \"%s\" (from \"%s\") refused: %s", h1.pattern, in,
			err.message);
		FUZZ_CHECK(certpin_policy_host(&h2, q, 0) == CERTPIN_OK && strcmp(h1.pattern, h2.pattern) == 0 &&
				h1.wildcard == h2.wildcard && h1.is_ip == h2.is_ip,
			"pattern \"%s\" re-normalizes to \"%s\"", h1.pattern, h2.pattern);
		o.pattern = in;
		o.include_subdomains = include_subdomains;
		FUZZ_CHECK(certpin_policy_add_host(p, &o, NULL) == CERTPIN_E_DUPLICATE, "pattern \"%s\" added twice", in);
	}
	certpin_policy_free(p);
	certpin_policy_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstring(data, size, 1024);
	check_normalize(in);
	check_pattern(in, 0);
	check_pattern(in, 1);
	free(in);
	return 0;
}
