#!/bin/sh
# run.sh BUILD_DIR - run every certpin benchmark and print its figures.
#
# Runs bench_verify (the pin check of a verified chain of 3), bench_handshake
# (plain OpenSSL against certpin_ssl_ctx_attach(), in memory, 32 hosts with
# keys of their own), bench_cli_pin.sh, bench_monitor.sh, bench_collect,
# bench_tofu and bench_policy (load time, memory per host, lookup against a
# dependent load), and bench_wolfssl when the wolfSSL adapter is built (its
# check of a verified chain of 3 inside wolfSSL handshakes; plain wolfSSL
# handshakes against the adapter's, in memory, with a control and a plain
# verify callback beside them).  Figures only: no benchmark fails on a
# timing.  Knobs (environment):
#   VERIFY_ITERATIONS (1000000)  VERIFY_RUNS (7)
#   HANDSHAKE_RUNS (5)           HANDSHAKE_BLOCKS (400)   HANDSHAKE_PER_BLOCK (4)
#   POLICY_BLOCKS (21)           POLICY_PER_BLOCK (5000)  POLICY_SIZES ("10000 100000 1000000")
#   CLI_FILES (200)              CLI_RUNS (6)
#   MONITOR_ENDPOINTS (100)      MONITOR_RUNS (5)
#   COLLECT_REPORTS (10000)      COLLECT_CLIENTS (4)
#   TOFU_HOSTS (100)             TOFU_CHECKS (2000)
#   WOLFSSL_CHECKS (300)         WOLFSSL_CHECK_RUNS (7)   WOLFSSL_CHECK_REPEAT (20)
#   WOLFSSL_RUNS (5)             WOLFSSL_BLOCKS (200)     WOLFSSL_PER_BLOCK (4)
# For stable figures run on an otherwise idle machine.
set -eu

BUILD=${1:?usage: run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=$BUILD/bench

if [ ! -x "$BENCH/bench_verify" ]; then
	echo "run.sh: $BENCH/bench_verify missing; configure with -DCERTPIN_BENCH=ON and build" >&2
	exit 1
fi

echo "== machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(openssl version | cut -d' ' -f1-2), $(uname -sr), $(date -u +%Y-%m-%d)"

echo
echo "== 1. pin check of a verified chain of 3 (bench_verify)"
"$BENCH/bench_verify" "${VERIFY_ITERATIONS:-1000000}" "${VERIFY_RUNS:-7}"

echo
echo "== 2. TLS handshake with and without certpin (bench_handshake)"
"$BENCH/bench_handshake" "${HANDSHAKE_RUNS:-5}" "${HANDSHAKE_BLOCKS:-400}" "${HANDSHAKE_PER_BLOCK:-4}"

echo
echo "== 3. certpin pin vs the openssl pipeline (bench_cli_pin.sh)"
sh "$HERE/bench_cli_pin.sh" "$BUILD/certpin" "${CLI_FILES:-200}" "${CLI_RUNS:-6}"

echo
echo "== 4. certpin monitor vs a curl --pinnedpubkey loop (bench_monitor.sh)"
sh "$HERE/bench_monitor.sh" "$BUILD" "${MONITOR_ENDPOINTS:-100}" "${MONITOR_RUNS:-5}"

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

echo
echo "== 7. policy size: load time, memory per host, lookup against a dependent load (bench_policy)"
# shellcheck disable=SC2086 # POLICY_SIZES is a list
"$BENCH/bench_policy" "${POLICY_BLOCKS:-21}" "${POLICY_PER_BLOCK:-5000}" ${POLICY_SIZES:-10000 100000 1000000}

echo
echo "== 8. wolfSSL adapter: check of a verified chain of 3, handshakes with and without it (bench_wolfssl)"
if [ -x "$BENCH/bench_wolfssl" ]; then
	"$BENCH/bench_wolfssl" check "${WOLFSSL_CHECKS:-300}" "${WOLFSSL_CHECK_RUNS:-7}" "${WOLFSSL_CHECK_REPEAT:-20}"
	for mode in "" --root --callback --control; do
		# shellcheck disable=SC2086 # an empty mode is no argument
		"$BENCH/bench_wolfssl" handshake $mode "${WOLFSSL_RUNS:-5}" "${WOLFSSL_BLOCKS:-200}" "${WOLFSSL_PER_BLOCK:-4}"
	done
else
	echo "bench_wolfssl not built (no wolfSSL adapter); skipped"
fi
