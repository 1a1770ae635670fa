#!/bin/sh
# run.sh BUILD_DIR - run every certpin benchmark and print its figures.
#
# Generates the test PKI with tests/data/mkpki.sh into a temporary directory,
# then runs bench_verify, bench_handshake (on loopback: control, idle info
# callback, leaf and root pins in one run; leaf and control in memory; bench_handshake_timed when built), bench_cli_pin.sh, bench_monitor.sh,
# bench_collect and bench_tofu.  Figures only:
# no benchmark fails on a timing.  Knobs (environment):
#   VERIFY_ITERATIONS (1000000)  VERIFY_RUNS (7)
#   HANDSHAKE_BLOCKS (1000)      HANDSHAKE_PER_BLOCK (4)
#   CLI_FILES (200)              MONITOR_ENDPOINTS (100)
#   COLLECT_REPORTS (10000)      COLLECT_CLIENTS (4)
#   TOFU_HOSTS (100)             TOFU_CHECKS (2000)
# For stable figures run on an otherwise idle machine.
set -eu

BUILD=${1:?usage: run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BENCH=$BUILD/bench

if [ ! -x "$BENCH/bench_verify" ]; then
	echo "run.sh: $BENCH/bench_verify missing; configure with -DCERTPIN_BENCH=ON and build" >&2
	exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certpin-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM

echo "== machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(openssl version | cut -d' ' -f1-2), $(uname -sr)"
echo "== test PKI (tests/data/mkpki.sh)"
sh "$ROOT/tests/data/mkpki.sh" "$WORK/pki" >"$WORK/mkpki.log" 2>&1 || {
	cat "$WORK/mkpki.log" >&2
	exit 1
}

echo
echo "== 1. pin decision (bench_verify)"
"$BENCH/bench_verify" "$WORK/pki" "${VERIFY_ITERATIONS:-1000000}" "${VERIFY_RUNS:-7}"

echo
echo "== 2. TLS handshake with and without certpin (bench_handshake)"
if [ -x "$BENCH/bench_handshake" ]; then
	"$BENCH/bench_handshake" "$WORK/pki" "${HANDSHAKE_BLOCKS:-1000}" "${HANDSHAKE_PER_BLOCK:-4}" all
	echo "-- the same in memory (client and server in one thread over a BIO pair: no system calls)"
	"$BENCH/bench_handshake" "$WORK/pki" "${HANDSHAKE_BLOCKS:-1000}" "${HANDSHAKE_PER_BLOCK:-4}" leaf mem
	"$BENCH/bench_handshake" "$WORK/pki" "${HANDSHAKE_BLOCKS:-1000}" "${HANDSHAKE_PER_BLOCK:-4}" control mem
	if [ -x "$BENCH/bench_handshake_timed" ]; then
		echo "-- the same with the binding's own time measured inside the handshake (bench_handshake_timed)"
		"$BENCH/bench_handshake_timed" "$WORK/pki" "${HANDSHAKE_BLOCKS:-1000}" "${HANDSHAKE_PER_BLOCK:-4}" all
	else
		echo "-- bench_handshake_timed not built (make bench builds it); skipped"
	fi
else
	echo "bench_handshake not built (needs tests/support/tlsserver.c); skipped"
fi

echo
echo "== 3. certpin pin vs the openssl pipeline (bench_cli_pin.sh)"
sh "$HERE/bench_cli_pin.sh" "$BUILD/certpin" "${CLI_FILES:-200}"

echo
echo "== 4. certpin monitor vs a curl --pinnedpubkey loop (bench_monitor.sh)"
sh "$HERE/bench_monitor.sh" "$BUILD" "${MONITOR_ENDPOINTS:-100}"

echo
echo "== 5. report collector and sender throughput (bench_collect)"
if [ -x "$BENCH/bench_collect" ]; then
	"$BENCH/bench_collect" "$BUILD/certpin" "${COLLECT_REPORTS:-10000}" "${COLLECT_CLIENTS:-4}"
else
	echo "bench_collect not built; skipped"
fi

echo
echo "== 6. TOFU check, known_pins read vs reused (bench_tofu)"
"$BENCH/bench_tofu" "${TOFU_HOSTS:-100}" "${TOFU_CHECKS:-2000}"
