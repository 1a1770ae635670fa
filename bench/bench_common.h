/* Small helpers shared by the benchmarks: a monotonic clock, medians and quantiles, paths. */
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

#endif
