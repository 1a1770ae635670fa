#!/bin/sh
# Fuzz smoke test: run every libFuzzer target for a few seconds.
#
#   sh fuzz/run-smoke.sh BUILD_DIR [SECONDS]
#
# For each target: first replay fuzz/regressions/<target>/* (inputs that once
# crashed it), then fuzz for SECONDS on a copy of fuzz/corpus/<target> in a
# temporary directory, so the committed corpus never grows.  Prints one line
# per target and "N passed, N failed"; exits 1 if any target crashed.
# Crash reproducers and logs are kept under $CERTPIN_FUZZ_OUT (default: a
# temporary directory that is printed).
set -u

BUILD=${1:?usage: run-smoke.sh BUILD_DIR [SECONDS]}
SECONDS_PER_TARGET=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
TARGETS="fuzz_pin fuzz_policy fuzz_json fuzz_items fuzz_der fuzz_hostname fuzz_verify fuzz_import_xml fuzz_import_pins fuzz_import_plist fuzz_import_tksource fuzz_report fuzz_report_formats fuzz_hostsfile fuzz_mitm_report fuzz_bundle fuzz_tofu fuzz_idem_key"

case $SECONDS_PER_TARGET in
''|*[!0-9]*) echo "run-smoke.sh: SECONDS must be a whole number" >&2; exit 2 ;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certpin-fuzz.XXXXXX") || exit 2
OUT=${CERTPIN_FUZZ_OUT:-$WORK/out}
mkdir -p "$OUT"
cleanup() { rm -rf "$WORK/corpus"; }
trap cleanup EXIT INT TERM

# Fail fast and with a stack on every sanitizer report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=0
for t in $TARGETS; do
	bin=$BUILD/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "$t: FAIL (no binary $bin; configure with CC=clang -DCERTPIN_FUZZ=ON)"
		failed=$((failed + 1))
		continue
	fi
	log=$OUT/$t.log
	status=ok

	# 1. Regressions: each file is run once.
	nreg=0
	regfail=
	if [ -d "$HERE/regressions/$t" ]; then
		for f in "$HERE/regressions/$t"/*; do
			[ -f "$f" ] || continue
			nreg=$((nreg + 1))
			if ! "$bin" -rss_limit_mb=2048 -timeout=25 "$f" >>"$log.regressions" 2>&1; then
				regfail="${regfail:+$regfail }$(basename "$f")"
			fi
		done
	fi

	# 2. Fuzzing on a throwaway copy of the seed corpus.
	corpus=$WORK/corpus/$t
	mkdir -p "$corpus"
	if [ -d "$HERE/corpus/$t" ]; then
		cp "$HERE/corpus/$t"/* "$corpus"/ 2>/dev/null
	fi
	seeds=$(ls "$corpus" | wc -l)
	dict=
	name=${t#fuzz_}
	[ -f "$HERE/$name.dict" ] && dict=-dict=$HERE/$name.dict
	mkdir -p "$OUT/$t"
	# `timeout` bounds a hung run (libFuzzer itself stops at -max_total_time).
	timeout $((SECONDS_PER_TARGET + 120)) "$bin" \
		-max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -rss_limit_mb=2048 -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$OUT/$t/" $dict "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=0
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	units=$(ls "$corpus" | wc -l)
	if [ -n "$regfail" ]; then
		status="FAIL (regressions crash: $regfail; see $log.regressions)"
	fi
	if [ $rc -ne 0 ]; then
		artifact=$(ls "$OUT/$t"/ 2>/dev/null | head -n 1)
		[ "$status" = ok ] && status=FAIL || status="$status; FAIL"
		status="$status (fuzzing exit $rc${artifact:+, reproducer $OUT/$t/$artifact}, log $log)"
	fi
	case $status in
	ok) passed=$((passed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
	printf '%-14s %s: %s execs (%s/s), cov %s, corpus %s -> %s, %s regressions\n' \
		"$t" "$status" "$execs" "${rate:-?}" "${cov:-?}" "$seeds" "$units" "$nreg"
done

echo "$passed passed, $failed failed"
if [ $failed -ne 0 ]; then
	echo "logs and reproducers: $OUT"
	exit 1
fi
[ -n "${CERTPIN_FUZZ_OUT:-}" ] || rm -rf "$WORK"
exit 0
