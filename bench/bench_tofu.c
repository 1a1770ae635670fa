/*
 * bench_tofu: what a TOFU check costs a handshake, with the known_pins file
 * read at each check and reused between checks.
 *
 *   bench_tofu [HOSTS] [CHECKS]
 *
 * Records HOSTS hosts (default 100) in a known_pins file in a temporary
 * directory with certpin_tofu_check() (first use), then times CHECKS checks
 * (default 2000) of one recorded host that match:
 *
 *   1. at once: the file was written less than the settling time (2 s) ago,
 *      so every check reads and parses it again (stopped after 1.5 s, to
 *      stay inside that time);
 *   2. after a 3 s pause: the file is settled and unchanged, so a check
 *      costs one stat() and the decision on what the previous one read.
 *
 * Synthetic chains (digests, no certificates): the figures are the store's,
 * not the hashing's.  Prints the median and quartiles; asserts no timing.
 */
#include "certpin.h"
#include "certpin/tofu.h"
#include "bench_common.h"

#include <stdlib.h>
#include <unistd.h>

#define NOW INT64_C(1795000000)

static void chain_for(certpin_chain_elem c[3], unsigned int host)
{
	for (size_t i = 0; i < 3; i++) {
		c[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(c[i].spki_sha256, (int)((host * 7 + i) & 0xff), CERTPIN_DIGEST_LEN);
		memset(c[i].cert_sha256, (int)((host * 13 + i) & 0xff), CERTPIN_DIGEST_LEN);
		c[i].spki_sha256[0] = (unsigned char)(host >> 8);
		c[i].spki_sha256[1] = (unsigned char)host;
	}
}

/*
 * Up to `checks` matching checks of host 0, stopping after `limit_ns` if not
 * 0; their times (ns) into v.  Returns how many ran.
 */
static int time_checks(certpin_tofu *t, double *v, int checks, double limit_ns)
{
	certpin_chain_elem c[3];
	certpin_tofu_result r;
	double start = bench_now_ns();
	int i;

	chain_for(c, 0);
	for (i = 0; i < checks && (limit_ns == 0 || bench_now_ns() - start < limit_ns); i++) {
		double t0 = bench_now_ns();
		int rc = certpin_tofu_check(&r, t, "host0.bench.test", c, 3, NOW);
		v[i] = bench_now_ns() - t0;
		if (rc != CERTPIN_OK || r.verdict != CERTPIN_TOFU_MATCH) {
			fprintf(stderr, "bench_tofu: a check did not match: %s\n", r.detail);
			exit(1);
		}
	}
	return i;
}

static void report(const char *label, double *v, int n)
{
	printf("  %-44s median %8.2f us  (IQR %.2f-%.2f)\n", label, bench_median(v, (size_t)n) / 1e3,
		bench_quantile(v, (size_t)n, 0.25) / 1e3, bench_quantile(v, (size_t)n, 0.75) / 1e3);
}

int main(int argc, char **argv)
{
	int hosts = argc > 1 ? atoi(argv[1]) : 100;
	int checks = argc > 2 ? atoi(argv[2]) : 2000;
	char dir[] = "/tmp/certpin-bench-tofu.XXXXXX", path[64], lock[72];
	certpin_tofu *t = NULL;

	if (hosts < 1 || hosts > 10000 || checks < 1 || checks > 1000000) {
		fprintf(stderr, "usage: bench_tofu [HOSTS 1-10000] [CHECKS 1-1000000]\n");
		return 2;
	}
	double *fresh = calloc((size_t)checks, sizeof(double)), *settled = calloc((size_t)checks, sizeof(double));
	if (!fresh || !settled || !mkdtemp(dir)) {
		fprintf(stderr, "bench_tofu: cannot set up\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/known_pins", dir);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if (certpin_tofu_open(&t, path, NULL) != CERTPIN_OK) {
		fprintf(stderr, "bench_tofu: cannot open the store\n");
		return 1;
	}
	for (int h = hosts - 1; h >= 0; h--) {
		certpin_chain_elem c[3];
		certpin_tofu_result r;
		char name[64];
		snprintf(name, sizeof(name), "host%d.bench.test", h);
		chain_for(c, (unsigned int)h);
		if (certpin_tofu_check(&r, t, name, c, 3, NOW) != CERTPIN_OK || r.verdict != CERTPIN_TOFU_FIRST_USE) {
			fprintf(stderr, "bench_tofu: cannot record %s: %s\n", name, r.detail);
			return 1;
		}
	}
	int nfresh = time_checks(t, fresh, checks, 1.5e9);
	sleep(3);
	int nsettled = time_checks(t, settled, checks, 0);

	printf("bench_tofu: certpin_tofu_check() matching 1 of %d recorded hosts\n", hosts);
	report("file written just now (read at each check)", fresh, nfresh);
	report("file settled and unchanged (reused)", settled, nsettled);
	printf("  checks: %d and %d; ratio of the medians: %.1fx\n", nfresh, nsettled,
		bench_median(fresh, (size_t)nfresh) / bench_median(settled, (size_t)nsettled));

	certpin_tofu_close(t);
	unlink(path);
	unlink(lock);
	rmdir(dir);
	free(fresh);
	free(settled);
	return 0;
}
