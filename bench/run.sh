#!/bin/sh
# run.sh BUILD_DIR - run every certpin benchmark and print its figures.
#
# Runs bench_verify (the pin check of a verified chain of 3), bench_handshake
# (plain OpenSSL against certpin_ssl_ctx_attach(), in memory, 32 hosts with
# keys of their own), bench_cli_pin.sh, bench_monitor.sh, bench_collect
# (one SQLite collector against its bulk-insert ceiling, then, when the
# PostgreSQL server binaries are installed, two collectors on a private
# server of bench/pg.sh; the load from one lean epoll thread, then from
# libcurl threads), bench_tofu, bench_policy (load time, memory per
# host, lookup against a dependent load) and, for each TLS-stack adapter
# built (mbedTLS, GnuTLS, wolfSSL), its check of a verified chain of 3 and
# plain handshakes of that stack against the adapter's, in memory, and
# bench_curl (loops of 1000 HTTPS GETs with
# libcurl, a new connection each, with and without certpin_curl_attach(); when
# libcertpin-curl is built).  Figures only: no benchmark fails on a timing.
# Knobs (environment):
#   VERIFY_ITERATIONS (1000000)  VERIFY_RUNS (7)
#   HANDSHAKE_RUNS (5)           HANDSHAKE_BLOCKS (400)   HANDSHAKE_PER_BLOCK (4)
#   POLICY_BLOCKS (21)           POLICY_PER_BLOCK (5000)  POLICY_SIZES ("10000 100000 1000000")
#   CLI_FILES (200)              CLI_RUNS (6)
#   MONITOR_ENDPOINTS (100)      MONITOR_RUNS (5)
#   COLLECT_REPORTS (20000)      COLLECT_CLIENTS (32)
#   TOFU_HOSTS (100)             TOFU_CHECKS (2000)
#   MBEDTLS_CHECKS (2000000)     MBEDTLS_CHECK_RUNS (7)
#   MBEDTLS_RUNS (5)             MBEDTLS_BLOCKS (100)     MBEDTLS_PER_BLOCK (2)
#   GNUTLS_CHECKS (200000)       GNUTLS_CHECK_RUNS (7)
#   GNUTLS_RUNS (5)              GNUTLS_BLOCKS (200)      GNUTLS_PER_BLOCK (4)
#   CURL_RUNS (5)                CURL_BLOCKS (250)        CURL_PER_BLOCK (4)
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
	collect_out=$(mktemp -d "${TMPDIR:-/tmp}/certpin-bench5.XXXXXX")
	"$BENCH/bench_collect" "$BUILD/certpin" "${COLLECT_REPORTS:-20000}" "${COLLECT_CLIENTS:-32}" |
		tee "$collect_out/sqlite"
	# the same load on two collectors sharing one PostgreSQL database (a private, durable server)
	. "$HERE/pg.sh"
	if bench_pg_start; then
		"$BENCH/bench_collect" "$BUILD/certpin" "${COLLECT_REPORTS:-20000}" "${COLLECT_CLIENTS:-32}" \
			"$BENCH_PG_URI" 2 | tee "$collect_out/postgresql"
		bench_pg_stop
		# the lean clients' rates ("http clients:"), not the libcurl ones, whose threads take CPU from the collectors
		sqlite_rate=$(sed -n 's/^http clients: .* = \([0-9]*\) reports\/s.*/\1/p' "$collect_out/sqlite")
		pg_rate=$(sed -n 's/^http clients: .* = \([0-9]*\) reports\/s.*/\1/p' "$collect_out/postgresql")
		[ -n "$sqlite_rate" ] && [ -n "$pg_rate" ] && echo "two PostgreSQL collectors / one SQLite collector:" \
			"$pg_rate / $sqlite_rate reports/s = $(awk "BEGIN { printf \"%.1f\", 100 * $pg_rate / $sqlite_rate }") %"
	else
		echo "PostgreSQL server binaries not found or the server did not start: the two-collector run skipped"
		bench_pg_stop
	fi
	rm -rf "$collect_out"
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
echo "== 8. the mbedTLS adapter: pin check and handshake overhead (bench_mbedtls)"
if [ -x "$BENCH/bench_mbedtls" ]; then
	"$BENCH/bench_mbedtls" "${MBEDTLS_CHECKS:-2000000}" "${MBEDTLS_CHECK_RUNS:-7}" "${MBEDTLS_RUNS:-5}" \
		"${MBEDTLS_BLOCKS:-100}" "${MBEDTLS_PER_BLOCK:-2}"
else
	echo "bench_mbedtls not built (no libcertpin-mbedtls); skipped"
fi
echo
echo "== 9. the GnuTLS adapter: check of a verified chain of 3, handshakes with and without it (bench_gnutls)"
if [ -x "$BENCH/bench_gnutls" ]; then
	"$BENCH/bench_gnutls" check "${GNUTLS_CHECKS:-200000}" "${GNUTLS_CHECK_RUNS:-7}"
	"$BENCH/bench_gnutls" handshake "${GNUTLS_RUNS:-5}" "${GNUTLS_BLOCKS:-200}" "${GNUTLS_PER_BLOCK:-4}"
else
	echo "bench_gnutls not built (no GnuTLS adapter); skipped"
fi
echo
echo "== 10. HTTPS GETs with libcurl, plain and with certpin_curl_attach() (bench_curl)"
if [ -x "$BENCH/bench_curl" ]; then
	"$BENCH/bench_curl" "${CURL_RUNS:-5}" "${CURL_BLOCKS:-250}" "${CURL_PER_BLOCK:-4}"
else
	echo "bench_curl not built (no libcertpin-curl); skipped"
fi
echo
echo "== 11. the wolfSSL adapter: check of a verified chain of 3, handshakes with and without it (bench_wolfssl)"
if [ -x "$BENCH/bench_wolfssl" ]; then
	"$BENCH/bench_wolfssl" check "${WOLFSSL_CHECKS:-300}" "${WOLFSSL_CHECK_RUNS:-7}" "${WOLFSSL_CHECK_REPEAT:-20}"
	for mode in "" --root --callback --control; do
		# shellcheck disable=SC2086 # an empty mode is no argument
		"$BENCH/bench_wolfssl" handshake $mode "${WOLFSSL_RUNS:-5}" "${WOLFSSL_BLOCKS:-200}" "${WOLFSSL_PER_BLOCK:-4}"
	done
else
	echo "bench_wolfssl not built (no wolfSSL adapter); skipped"
fi
