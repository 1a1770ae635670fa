/*
 * bench_policy: policy size, load time, memory per host and lookup cost.
 *
 *   bench_policy [BLOCKS] [PER_BLOCK] [HOSTS ...]
 *
 * For each size (default 10 000, 100 000 and 1 000 000 hosts) a policy
 * document is generated in memory: rule i is "h<i, 7 digits>.svc.example.com"
 * (from h0000001) with two distinct made-up SPKI pins, its leaf pin and a
 * backup pin (pin strings, position any); every 1000th rule is a wildcard
 * "*.w<i>.svc.example.com" instead.  Then:
 *
 *   load     certpin_policy_load_data() of the document, wall time, the
 *            median of 3 loads (each into a new policy);
 *   memory   bytes retained per host: glibc's mallinfo2() in-use bytes
 *            (uordblks, plus hblkhd: blocks of 128 KiB and more are mapped
 *            apart and counted there) after the last load with the document
 *            text freed, minus the same before the document was made;
 *   lookup   certpin_policy_lookup() of exact names drawn at random from
 *            the policy, pre-generated (each name used once, so no lookup
 *            finds the lines an earlier one read), one after the other:
 *            each lookup's name address depends on the previous result, so
 *            lookups cannot overlap, as in a handshake, which makes one;
 *   load     for comparison, one dependent memory load: a pointer chase
 *            through a random cyclic permutation of 64-byte lines over an
 *            array as large as the policy's retained bytes;
 *
 * lookups and chase steps in alternating blocks (BLOCKS blocks of
 * PER_BLOCK each, defaults 21 and 5000), each side the median ns per
 * operation over its blocks with min and max, and the ratio of the
 * medians.  The targets are printed beside the figures (1M hosts
 * load <= 2 s at <= 200 bytes per host; a random lookup <= 1.5x one
 * dependent load); nothing is enforced.
 *
 * The loader refuses documents over 16 MiB today, so the 1M-host document
 * (about 150 MB) fails; that is reported, and the memory and lookup
 * figures are then taken on the same rules added with
 * certpin_policy_add_host() / certpin_policy_add_pin() instead (labelled
 * so).  load_policy() is the one place that calls the loader, to adapt
 * when it takes an option raising the cap.
 */
#include "certpin.h"
#include "bench_common.h"

#include <malloc.h>
#include <stdint.h>

#define MAX_SIZES 8
#define MAX_BLOCKS 1001
#define LOADS 3
#define WILDCARD_EVERY 1000
#define NAME_SLOT 32       /* bytes per pre-generated name */
#define LINE 64

static volatile uint64_t sink;
static volatile size_t opaque_zero; /* 0, but the compiler cannot know it */

static _Noreturn void die(const char *msg)
{
	fprintf(stderr, "bench_policy: %s\n", msg);
	exit(1);
}

/* xorshift64*: the random names and the permutation. */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int is_wildcard(size_t i)
{
	return i % WILDCARD_EVERY == WILDCARD_EVERY - 1;
}

/* Rule i's pattern (i from 0; names start at h0000001). */
static void rule_pattern(char *out, size_t outlen, size_t i)
{
	unsigned int k = (unsigned int)(i + 1); /* at most 10 digits: fits NAME_SLOT */
	if (is_wildcard(i))
		snprintf(out, outlen, "*.w%07u.svc.example.com", k);
	else
		snprintf(out, outlen, "h%07u.svc.example.com", k);
}

/* A made-up SPKI pin, distinct for every seed. */
static certpin_pin fake_pin(uint64_t seed)
{
	certpin_pin pin;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;

	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	for (size_t i = 0; i < sizeof(pin.digest); i += 8) {
		s += 0x9e3779b97f4a7c15ull;
		uint64_t z = s;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(pin.digest + i, &z, 8);
	}
	return pin;
}

/* The document for `n` rules; *len its length.  malloc'd. */
static char *make_document(size_t n, size_t *len)
{
	size_t cap = 64 + n * 160, at = 0;
	char *doc = malloc(cap);
	char pattern[64], pa[CERTPIN_PIN_STRLEN], pb[CERTPIN_PIN_STRLEN];

	if (!doc)
		die("out of memory");
	at += (size_t)snprintf(doc, cap, "{\"schema\":1,\"hosts\":[\n");
	for (size_t i = 0; i < n; i++) {
		certpin_pin a = fake_pin(2 * i), b = fake_pin(2 * i + 1);
		rule_pattern(pattern, sizeof(pattern), i);
		if (certpin_pin_format(pa, sizeof(pa), &a, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK ||
		    certpin_pin_format(pb, sizeof(pb), &b, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
			die("certpin_pin_format failed");
		int w = snprintf(doc + at, cap - at, "{\"host\":\"%s\",\"pins\":[\"%s\",\"%s\"]}%s\n", pattern, pa, pb,
			i + 1 < n ? "," : "");
		if (w < 0 || (size_t)w >= cap - at)
			die("document buffer too small");
		at += (size_t)w;
	}
	at += (size_t)snprintf(doc + at, cap - at, "]}\n");
	*len = at;
	return doc;
}

/* The one call that loads a document: a million hosts are some 150 MB, over the 16 MiB default. */
static int load_policy(certpin_policy **p, const char *json, size_t len, certpin_error *err)
{
	certpin_load_options o = CERTPIN_LOAD_OPTIONS_INIT;

	o.max_bytes = len;
	return certpin_policy_load_data(p, json, len, "bench-policy.json", &o, err);
}

/* The same rules through the building API (when the loader refuses the document). */
static void build_policy(certpin_policy *p, size_t n)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_error err;
	char pattern[64];

	for (size_t i = 0; i < n; i++) {
		certpin_pin a = fake_pin(2 * i), b = fake_pin(2 * i + 1);
		rule_pattern(pattern, sizeof(pattern), i);
		o.pattern = pattern;
		if (certpin_policy_add_host(p, &o, &err) != CERTPIN_OK ||
		    certpin_policy_add_pin(p, pattern, &a, CERTPIN_POS_ANY, NULL, &err) != CERTPIN_OK ||
		    certpin_policy_add_pin(p, pattern, &b, CERTPIN_POS_ANY, NULL, &err) != CERTPIN_OK)
			die(err.message);
	}
}

/* glibc's in-use bytes: small blocks (uordblks) and mapped blocks (hblkhd). */
typedef struct heap {
	size_t small, mapped;
} heap;

static heap heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (heap){ mi.uordblks, mi.hblkhd };
}

/* after - before, as a signed count of bytes */
static double grown(size_t after, size_t before)
{
	return (double)after - (double)before;
}

static void min_max(const double *v, size_t n, double *lo, double *hi)
{
	*lo = *hi = v[0];
	for (size_t i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

/*
 * A random cyclic permutation (Sattolo) over the `n` lines of `lines`: the
 * first word of each line is the index of the next.
 */
static void make_chase(uint64_t *lines, size_t n)
{
	const size_t words = LINE / sizeof(uint64_t);
	size_t *perm = malloc(n * sizeof(*perm));

	if (!perm)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % i);
		size_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	/* the cycle perm[0] -> perm[1] -> ... -> perm[n-1] -> perm[0] */
	for (size_t i = 0; i < n; i++)
		lines[perm[i] * words] = perm[(i + 1) % n];
	free(perm);
}

/* One size: load (or build), memory, lookups against the chase. */
static void bench_size(size_t n, int blocks, int per)
{
	char pattern[64], err[512];
	size_t len;

	printf("\n== %zu hosts (%zu wildcards)\n", n, n / WILDCARD_EVERY);
	fflush(stdout);

	/* load: the median of LOADS, the last policy kept */
	heap before = heap_in_use();
	char *doc = make_document(n, &len);
	double t[LOADS];
	certpin_policy *p = NULL;
	int rc = CERTPIN_OK, built = 0;
	for (int k = 0; k < LOADS && rc == CERTPIN_OK; k++) {
		certpin_policy_free(p);
		p = NULL;
		certpin_error lerr;
		double t0 = bench_now_ns();
		rc = load_policy(&p, doc, len, &lerr);
		t[k] = bench_now_ns() - t0;
		if (rc != CERTPIN_OK)
			snprintf(err, sizeof(err), "%s", lerr.message);
	}
	free(doc);
	if (rc == CERTPIN_OK) {
		double lo, hi;
		min_max(t, LOADS, &lo, &hi);
		double m = bench_median(t, LOADS);
		printf("load:    certpin_policy_load_data(), %.1f MB document: %.3f s (%.3f..%.3f), median of %d\n",
			(double)len / 1e6, m / 1e9, lo / 1e9, hi / 1e9, LOADS);
	} else {
		printf("load:    REFUSED: certpin_policy_load_data() on the %.1f MB (%.1f MiB) document returned \"%s\":\n"
		       "         \"%s\"\n"
		       "         (no load time; memory and lookups below are for the same rules added with\n"
		       "         certpin_policy_add_host() / certpin_policy_add_pin() instead)\n",
			(double)len / 1e6, (double)len / 1048576.0, certpin_error_name(rc), err);
		certpin_policy_free(p);
		before = heap_in_use();
		if (certpin_policy_new(&p) != CERTPIN_OK)
			die("out of memory");
		double t0 = bench_now_ns();
		build_policy(p, n);
		certpin_policy_freeze(p); /* as a load leaves it: laid out compactly */
		printf("build:   certpin_policy_add_host() + 2 x add_pin() per rule: %.3f s (once; not a load time)\n",
			(bench_now_ns() - t0) / 1e9);
		built = 1;
	}
	if (certpin_policy_host_count(p) != n)
		die("the policy has not the intended size");
	heap after = heap_in_use();
	double small = grown(after.small, before.small), mapped = grown(after.mapped, before.mapped);
	size_t footprint = small + mapped > 0 ? (size_t)(small + mapped) : 0;
	printf("memory:  %.1f MB retained, %.1f bytes per host (mallinfo2, after - before%s:\n"
	       "         uordblks %.1f + hblkhd %.1f bytes per host)\n",
		(double)footprint / 1e6, (double)footprint / (double)n, built ? "; built, not loaded" : "", small / (double)n,
		mapped / (double)n);

	/* the names, drawn before the chase array exists; each used once */
	size_t nnames = (size_t)blocks * (size_t)per;
	char *names = malloc(nnames * NAME_SLOT);
	size_t *want = malloc(nnames * sizeof(*want));
	size_t *got = malloc(nnames * sizeof(*got));
	if (!names || !want || !got)
		die("out of memory");
	for (size_t k = 0; k < nnames; k++) {
		size_t i;
		do
			i = (size_t)(rng() % n);
		while (is_wildcard(i));
		want[k] = i;
		rule_pattern(names + k * NAME_SLOT, NAME_SLOT, i);
	}

	/* the chase over as many bytes as the policy holds (at least 64 KiB) */
	size_t nlines = (footprint > 65536 ? footprint : 65536) / LINE;
	uint64_t *lines = aligned_alloc(LINE, nlines * LINE);
	if (!lines)
		die("out of memory");
	memset(lines, 0, nlines * LINE);
	make_chase(lines, nlines);

	double *tl = calloc((size_t)blocks, sizeof(double)), *tc = calloc((size_t)blocks, sizeof(double));
	if (!tl || !tc)
		die("out of memory");
	size_t idx = 0, zero = opaque_zero; /* for a dependency the compiler cannot drop */
	uint64_t pos = 0;
	for (int b = 0; b < blocks; b++) {
		size_t base = (size_t)b * (size_t)per;
		double t0 = bench_now_ns();
		for (int k = 0; k < per; k++) {
			/* the name's address depends on the previous result: one lookup at a time */
			const char *name = names + (base + (size_t)k) * NAME_SLOT + (idx & zero);
			if (certpin_policy_lookup(&idx, p, name) != CERTPIN_OK)
				idx = SIZE_MAX;
			got[base + (size_t)k] = idx;
		}
		tl[b] = (bench_now_ns() - t0) / per;

		t0 = bench_now_ns();
		for (int k = 0; k < per; k++)
			pos = lines[pos * (LINE / sizeof(uint64_t))];
		tc[b] = (bench_now_ns() - t0) / per;
		sink += pos;
	}

	/* every lookup found its rule (checked after timing, so no line is warmed) */
	for (size_t k = 0; k < nnames; k++) {
		certpin_host_info info;
		rule_pattern(pattern, sizeof(pattern), want[k]);
		if (got[k] == SIZE_MAX || certpin_policy_host(&info, p, got[k]) != CERTPIN_OK ||
		    strcmp(info.pattern, pattern) != 0)
			die("a lookup did not find its rule");
	}
	double llo, lhi, clo, chi;
	min_max(tl, (size_t)blocks, &llo, &lhi);
	min_max(tc, (size_t)blocks, &clo, &chi);
	double lm = bench_median(tl, (size_t)blocks), cm = bench_median(tc, (size_t)blocks);
	printf("lookup:  certpin_policy_lookup(), random exact names: %7.1f ns (%.1f..%.1f)\n", lm, llo, lhi);
	printf("chase:   one dependent load, %7.1f MB array:          %7.1f ns (%.1f..%.1f)\n",
		(double)nlines * LINE / 1e6, cm, clo, chi);
	printf("ratio:   lookup / dependent load = %.2f  (%d blocks of %d each, interleaved; medians)\n", lm / cm, blocks,
		per);

	free(tl);
	free(tc);
	free(lines);
	free(names);
	free(want);
	free(got);
	certpin_policy_free(p);
}

int main(int argc, char **argv)
{
	int blocks = argc > 1 ? atoi(argv[1]) : 21;
	int per = argc > 2 ? atoi(argv[2]) : 5000;
	size_t sizes[MAX_SIZES] = { 10000, 100000, 1000000 };
	size_t nsizes = 3;

	if (argc > 3) {
		nsizes = 0;
		for (int i = 3; i < argc && nsizes < MAX_SIZES; i++)
			sizes[nsizes++] = (size_t)strtoul(argv[i], NULL, 10);
	}
	int bad = blocks < 1 || blocks > MAX_BLOCKS || per < 1 || per > 1000000 || argc > 3 + MAX_SIZES;
	for (size_t i = 0; i < nsizes; i++)
		bad |= sizes[i] < 1 || sizes[i] > 10000000;
	if (bad) {
		fprintf(stderr, "usage: bench_policy [BLOCKS (1-%d)] [PER_BLOCK (1-1000000)] [HOSTS (1-10000000) ...]\n",
			MAX_BLOCKS);
		return 2;
	}
	printf("bench_policy: certpin %s; targets (issue 18): 1M hosts load <= 2 s at <= 200 bytes per host,\n"
	       "  random lookup <= 1.5x one dependent load\n",
		certpin_version());
	for (size_t i = 0; i < nsizes; i++)
		bench_size(sizes[i], blocks, per);
	return 0;
}
