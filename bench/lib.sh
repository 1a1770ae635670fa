# lib.sh - shell helpers shared by the benchmark scripts (sourced, not run).
#
# Timing is wall clock from `date +%s%N` (GNU date), in ns.  Side A and side
# B of a comparison run in turn, A B B A A B ..., so that both meet the same
# moments of a noisy machine; each side is summarized by its median with the
# minimum and maximum, and compared by the ratio of the medians.

bench_now_ns() {
	date +%s%N
}

# bench_first_of RUN SIDES: which of SIDES sides runs first in run RUN (1, 2, ...):
# the order rotates, and with two sides it is A B, B A, A B, ...
bench_first_of() {
	echo $((($1 - 1) % $2))
}

# bench_stats FILE: "MEDIAN MIN MAX" of the numbers in FILE, one per line.
bench_stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) { print "0 0 0"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR]
	}'
}
