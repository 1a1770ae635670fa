/* Small helpers shared by the benchmarks: a monotonic clock, medians, the test PKI's pins. */
#ifndef CERTPIN_BENCH_COMMON_H
#define CERTPIN_BENCH_COMMON_H

#include "certpin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Quantile q (0..1) of v[0..n-1] by linear interpolation; sorts v. */
static inline double bench_quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos;
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

static inline double bench_median(double *v, size_t n)
{
	return bench_quantile(v, n, 0.5);
}

/* "DIR/NAME" into a static buffer (one at a time). */
static inline const char *bench_path(const char *dir, const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/*
 * The named pin ("leaf", "backup", "inter", "root", "rogue-root", ...) from
 * DIR/pins.txt, which tests/data/mkpki.sh writes; exits with a message if it
 * cannot be read.
 */
static inline certpin_pin bench_named_pin(const char *prog, const char *dir, const char *name)
{
	char line[256], want[64];
	certpin_pin pin;
	FILE *f = fopen(bench_path(dir, "pins.txt"), "r");

	if (!f) {
		fprintf(stderr, "%s: cannot open %s (run tests/data/mkpki.sh first)\n", prog, bench_path(dir, "pins.txt"));
		exit(1);
	}
	snprintf(want, sizeof(want), "%s ", name);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		char *v = line + strlen(want);
		v[strcspn(v, "\r\n")] = '\0';
		fclose(f);
		if (certpin_pin_parse(&pin, v, strlen(v)) != CERTPIN_OK) {
			fprintf(stderr, "%s: bad \"%s\" pin in pins.txt\n", prog, name);
			exit(1);
		}
		return pin;
	}
	fclose(f);
	fprintf(stderr, "%s: no pin \"%s\" in pins.txt\n", prog, name);
	exit(1);
}

#endif
