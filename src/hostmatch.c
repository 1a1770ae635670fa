/*
 * Hostnames and host patterns: normalization, and the index that finds the
 * most specific rule for a host (longest named base; then exact > "*." > "**.").
 */
#include "internal.h"

#include <arpa/inet.h>
#include <string.h>

static bool is_label_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Normalize an IP literal (IPv6 optionally bracketed).  Returns 1 if `s` is an IP, 0 if not, -1 if malformed. */
static int normalize_ip(char *out, size_t outlen, const char *s, size_t len)
{
	char buf[64];
	unsigned char addr[16];
	bool bracket = len >= 2 && s[0] == '[' && s[len - 1] == ']';

	if (bracket)
		s++, len -= 2;
	if (memchr(s, ':', len)) {
		if (len >= sizeof(buf))
			return -1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return -1;
		if (!inet_ntop(AF_INET6, addr, out, (socklen_t)outlen))
			return -1;
		return 1;
	}
	if (bracket)
		return -1;
	/* A name whose last label is all digits can only be an IPv4 literal. */
	size_t last = len;
	while (last > 0 && s[last - 1] != '.')
		last--;
	if (last == len)
		return 0;
	for (size_t i = last; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) != 1)
		return -1;
	if (!inet_ntop(AF_INET, addr, out, (socklen_t)outlen))
		return -1;
	return 1;
}

int certpin__host_normalize(char *out, size_t outlen, int *is_ip, const char *host)
{
	size_t len, label = 0;

	if (!host || !out)
		return CERTPIN_E_HOSTNAME;
	len = strlen(host);
	if (len > 0 && host[len - 1] == '.' && !(len > 1 && host[len - 2] == '.'))
		len--; /* exactly one trailing dot is the root label */
	if (len == 0 || len > 253 || outlen < len + 1)
		return CERTPIN_E_HOSTNAME;

	int ip = normalize_ip(out, outlen, host, len);
	if (ip < 0)
		return CERTPIN_E_HOSTNAME;
	if (ip > 0) {
		if (len != strlen(host))
			return CERTPIN_E_HOSTNAME; /* "1.2.3.4." is not an IP literal */
		*is_ip = 1;
		return CERTPIN_OK;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return CERTPIN_E_HOSTNAME;
			label = 0;
		} else if (is_label_char(c)) {
			if (label == 0 && c == '-')
				return CERTPIN_E_HOSTNAME;
			if (++label > 63)
				return CERTPIN_E_HOSTNAME;
		} else {
			return CERTPIN_E_HOSTNAME; /* non-ASCII (use A-labels), '*', spaces, NUL tricks */
		}
		out[i] = (char)c;
	}
	if (label == 0 || out[len - 1] == '-')
		return CERTPIN_E_HOSTNAME;
	out[len] = '\0';
	*is_ip = 0;
	return CERTPIN_OK;
}

int certpin_hostname_normalize(char *out, size_t outlen, const char *hostname)
{
	int is_ip;
	return certpin__host_normalize(out, outlen, &is_ip, hostname);
}

int certpin__pattern_parse(char *base, size_t baselen, int *wildcard, int *is_ip,
	const char *pattern, int include_subdomains)
{
	int wild = WILD_NONE;

	if (!pattern)
		return CERTPIN_E_HOSTNAME;
	if (strncmp(pattern, "**.", 3) == 0)
		wild = WILD_ANY, pattern += 3;
	else if (strncmp(pattern, "*.", 2) == 0)
		wild = WILD_ONE, pattern += 2;
	if (wild == WILD_ONE && include_subdomains)
		return CERTPIN_E_HOSTNAME; /* "*.x" with subdomains is ambiguous: write "**.x" */
	if (include_subdomains)
		wild = WILD_ANY;
	int rc = certpin__host_normalize(base, baselen, is_ip, pattern);
	if (rc != CERTPIN_OK)
		return rc;
	if (*is_ip && wild != WILD_NONE)
		return CERTPIN_E_HOSTNAME; /* IP literals match exactly */
	*wildcard = wild;
	return CERTPIN_OK;
}

/* ---- index ---- */

/* Largest load: probes stay short (misses, as for unpinned names, walk to an empty slot). */
#define LOAD_NUM 7
#define LOAD_DEN 10

static uint32_t hash_key(const char *s, size_t len, int wildcard)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)wildcard;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* The first slot to probe: the hash scaled to [0, cap), so any capacity works. */
static size_t home(uint32_t h, size_t cap)
{
	return (size_t)(((uint64_t)h * cap) >> 32);
}

static bool slot_is(const certpin__slot *s, const char *base, size_t len, int wildcard, certpin__base_fn full,
	const void *ctx)
{
	size_t head = len < CERTPIN__SLOT_NAME ? len : CERTPIN__SLOT_NAME;

	if (s->len != len || s->wildcard != wildcard || memcmp(s->name, base, head) != 0)
		return false;
	return len <= CERTPIN__SLOT_NAME || memcmp(full(ctx, s->rule1 - 1) + head, base + head, len - head) == 0;
}

static void slot_fill(certpin__slot *s, const char *base, size_t len, int wildcard, size_t rule)
{
	s->rule1 = (uint32_t)rule + 1;
	s->wildcard = (uint8_t)wildcard;
	s->len = (uint8_t)len;
	memcpy(s->name, base, len < CERTPIN__SLOT_NAME ? len : CERTPIN__SLOT_NAME);
}

/*
 * The slot of (base, wildcard): the one holding it, or the empty one where
 * it would go (a probe ends at the first empty slot).
 */
static certpin__slot *probe(const certpin__hostindex *ix, const char *base, size_t len, int wildcard,
	certpin__base_fn full, const void *ctx)
{
	for (size_t j = home(hash_key(base, len, wildcard), ix->cap);; j = j + 1 == ix->cap ? 0 : j + 1) {
		certpin__slot *s = &ix->slots[j];
		if (!s->rule1 || slot_is(s, base, len, wildcard, full, ctx))
			return s;
	}
}

/* Move every entry into `ncap` slots. */
static int rehash(certpin__hostindex *ix, size_t ncap, certpin__base_fn full, const void *ctx)
{
	certpin__hostindex n = { calloc(ncap, sizeof(certpin__slot)), ncap, ix->used };

	if (!n.slots)
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		const certpin__slot *s = &ix->slots[i];
		if (!s->rule1)
			continue;
		const char *name = full(ctx, s->rule1 - 1);
		slot_fill(probe(&n, name, s->len, s->wildcard, full, ctx), name, s->len, s->wildcard, s->rule1 - 1);
	}
	free(ix->slots);
	*ix = n;
	return CERTPIN_OK;
}

int certpin__hostindex_add(certpin__hostindex *ix, const char *base, size_t len, int wildcard, size_t rule,
	certpin__base_fn full, const void *ctx)
{
	if (len > 255 || rule >= UINT32_MAX)
		return CERTPIN_E_INVALID_ARG;
	if ((ix->used + 1) * LOAD_DEN > ix->cap * LOAD_NUM) {
		int rc = rehash(ix, ix->cap ? ix->cap * 2 : 16, full, ctx);
		if (rc != CERTPIN_OK)
			return rc;
	}
	certpin__slot *s = probe(ix, base, len, wildcard, full, ctx);
	if (s->rule1)
		return CERTPIN_E_DUPLICATE;
	slot_fill(s, base, len, wildcard, rule);
	ix->used++;
	return CERTPIN_OK;
}

int certpin__hostindex_reserve(certpin__hostindex *ix, size_t more, certpin__base_fn full, const void *ctx)
{
	size_t want = (ix->used + more) * LOAD_DEN / LOAD_NUM + 1;

	return want > ix->cap ? rehash(ix, want < 16 ? 16 : want, full, ctx) : CERTPIN_OK;
}

void certpin__hostindex_compact(certpin__hostindex *ix, certpin__base_fn full, const void *ctx)
{
	size_t want = ix->used * LOAD_DEN / LOAD_NUM + 1;

	if (want < 16)
		want = 16;
	if (want < ix->cap)
		(void)rehash(ix, want, full, ctx); /* out of memory: the larger index stays, as good */
}

long certpin__hostindex_find(const certpin__hostindex *ix, const char *base, size_t len, int wildcard,
	certpin__base_fn full, const void *ctx)
{
	if (ix->cap == 0 || len > 255)
		return -1;
	const certpin__slot *s = probe(ix, base, len, wildcard, full, ctx);
	return s->rule1 ? (long)s->rule1 - 1 : -1;
}

long certpin__hostindex_match(const certpin__hostindex *ix, const char *host, int is_ip, certpin__base_fn full,
	const void *ctx)
{
	/*
	 * Most specific first: the rule naming the longest base wins; for the
	 * same base, exact > "*." > "**.".  So for host h: exact h, "**.h"
	 * (names h itself), "*.parent", then "**." of each shorter suffix.
	 */
	size_t len = strlen(host);
	long r = certpin__hostindex_find(ix, host, len, WILD_NONE, full, ctx);

	if (r >= 0 || is_ip)
		return r;
	if ((r = certpin__hostindex_find(ix, host, len, WILD_ANY, full, ctx)) >= 0)
		return r;
	const char *dot = strchr(host, '.');
	if (!dot)
		return -1;
	const char *parent = dot + 1;
	if ((r = certpin__hostindex_find(ix, parent, len - (size_t)(parent - host), WILD_ONE, full, ctx)) >= 0)
		return r;
	for (const char *s = parent; s; s = strchr(s, '.') ? strchr(s, '.') + 1 : NULL) {
		r = certpin__hostindex_find(ix, s, len - (size_t)(s - host), WILD_ANY, full, ctx);
		if (r >= 0)
			return r;
	}
	return -1;
}

void certpin__hostindex_free(certpin__hostindex *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}
