#!/bin/sh
# bench_monitor.sh BUILD_DIR [COUNT] [RUNS]
#
# `certpin monitor` over COUNT (default 100) local TLS endpoints (one
# tests/support tls_server process per port on 127.0.0.1, serving leaf +
# intermediate of the test PKI) against the usual shell loop that checks one
# endpoint at a time with curl:
#
#   curl -s -o /dev/null --http0.9 --pinnedpubkey sha256//LEAF --cacert root.pem \
#        --resolve api.certpin.test:PORT:127.0.0.1 https://api.certpin.test:PORT/
#
# What each side checks: curl verifies the chain (PKIX, host name) and
# compares the *leaf* key with the pin; certpin monitor verifies the chain,
# then matches the policy's pins against every certificate of the verified
# chain (leaf, intermediate, root), records the chain digests and the
# expiry dates.  The test server answers any line with "ok\n", which is not
# HTTP; --http0.9 lets curl accept it, so curl exits 0 after a pin match and
# 90 (CURLE_SSL_PINNEDPUBKEYNOTMATCH) after a pin mismatch -- both checked
# below before timing.  (Without --http0.9 curl exits 1 after the handshake,
# which would hide nothing about the pin but is less clear.)
#
# Timing: three sides, each run RUNS times (default 5) and interleaved run
# by run, the order rotating (A B C, B C A, C A B, ...): A = certpin monitor
# (default concurrency 16), B = certpin monitor --concurrency 1, C = the curl
# loop; wall clock from `date +%s%N`.  Prints each side's median with its
# minimum and maximum, and the ratios of the medians (curl loop / monitor);
# asserts nothing about speed.
set -eu

BUILD=${1:?usage: bench_monitor.sh BUILD_DIR [COUNT] [RUNS]}
COUNT=${2:-100}
RUNS=${3:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ROOT=$(dirname "$HERE")
CERTPIN=$BUILD/certpin
TLS_SERVER=$BUILD/tests/tls_server
: "${OPENSSL:=openssl}"

case $COUNT in
'' | *[!0-9]*) echo "bench_monitor: COUNT must be a number" >&2; exit 2 ;;
esac
case $RUNS in
'' | *[!0-9]*) echo "bench_monitor: RUNS must be a number" >&2; exit 2 ;;
esac
[ "$RUNS" -ge 1 ] || { echo "bench_monitor: RUNS must be at least 1" >&2; exit 2; }
if [ "$COUNT" -lt 1 ] || [ "$COUNT" -gt 500 ]; then
	echo "bench_monitor: COUNT must be 1..500" >&2
	exit 2
fi
for b in "$CERTPIN" "$TLS_SERVER"; do
	if [ ! -x "$b" ]; then
		echo "bench_monitor: $b not built (needs the certpin CLI and the tests); skipped"
		exit 0
	fi
done
if ! command -v curl >/dev/null 2>&1; then
	echo "bench_monitor: curl not installed; skipped"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certpin-bench-monitor.XXXXXX")
PIDS=
cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

PKI=$WORK/pki
sh "$ROOT/tests/data/mkpki.sh" "$PKI" >"$WORK/mkpki.log" 2>&1 || { cat "$WORK/mkpki.log" >&2; exit 1; }
LEAF=$(awk '$1 == "leaf" { print $2 }' "$PKI/pins.txt")
BACKUP=$(awk '$1 == "backup" { print $2 }' "$PKI/pins.txt")

# ---- COUNT servers, one port each -------------------------------------------
: >"$WORK/hosts.txt"
: >"$WORK/ports.txt"
i=1
while [ "$i" -le "$COUNT" ]; do
	"$TLS_SERVER" --cert "$PKI/chain.pem" --key "$PKI/leaf.key" --timeout 600 >"$WORK/s$i.out" 2>/dev/null &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
i=1
while [ "$i" -le "$COUNT" ]; do
	n=0
	port=
	while [ $n -lt 200 ]; do
		port=$(head -n 1 "$WORK/s$i.out" 2>/dev/null || true)
		case $port in
		'' | *[!0-9]*) port= ;;
		*) break ;;
		esac
		sleep 0.02
		n=$((n + 1))
	done
	[ -n "$port" ] || { echo "bench_monitor: server $i did not start" >&2; exit 1; }
	printf '127.0.0.1:%s api.certpin.test\n' "$port" >>"$WORK/hosts.txt"
	printf '%s\n' "$port" >>"$WORK/ports.txt"
	i=$((i + 1))
done
printf '{"schema": 1, "hosts": [{"host": "api.certpin.test", "pins": ["%s", "%s"]}]}\n' \
	"$BACKUP" "$LEAF" >"$WORK/policy.json"

curl_one() { # curl_one PORT PIN
	curl -s -o /dev/null --http0.9 --max-time 10 --pinnedpubkey "sha256//${2#sha256/}" \
		--cacert "$PKI/root.pem" --resolve "api.certpin.test:$1:127.0.0.1" "https://api.certpin.test:$1/"
}

# ---- both sides really check the pin -------------------------------------------
first=$(head -n 1 "$WORK/ports.txt")
rc=0; curl_one "$first" "$LEAF" || rc=$?
[ "$rc" -eq 0 ] || { echo "bench_monitor: curl with the right pin exited $rc, expected 0" >&2; exit 1; }
rc=0; curl_one "$first" "$BACKUP" || rc=$?
[ "$rc" -eq 90 ] || { echo "bench_monitor: curl with a wrong pin exited $rc, expected 90" >&2; exit 1; }
rc=0
"$CERTPIN" monitor "$WORK/hosts.txt" --policy "$WORK/policy.json" --cafile "$PKI/trust.pem" >"$WORK/m.out" || rc=$?
ok=$(grep -c '^OK ' "$WORK/m.out" || true)
[ "$rc" -eq 0 ] && [ "$ok" -eq "$COUNT" ] || { echo "bench_monitor: monitor exit $rc, $ok/$COUNT OK" >&2; exit 1; }
printf '{"schema": 1, "hosts": [{"host": "api.certpin.test", "pins": ["%s"]}]}\n' "$BACKUP" >"$WORK/wrong.json"
rc=0
"$CERTPIN" monitor "$WORK/hosts.txt" --policy "$WORK/wrong.json" --cafile "$PKI/trust.pem" >"$WORK/w.out" || rc=$?
[ "$rc" -eq 1 ] || { echo "bench_monitor: monitor with a wrong pin exited $rc, expected 1" >&2; exit 1; }

time_monitor() { # time_monitor EXTRA-ARGS -> ns
	t0=$(bench_now_ns)
	"$CERTPIN" monitor "$WORK/hosts.txt" --policy "$WORK/policy.json" --cafile "$PKI/trust.pem" $1 \
		>/dev/null 2>&1 || true
	t1=$(bench_now_ns)
	echo $((t1 - t0))
}

time_curl() {
	t0=$(bench_now_ns)
	while read -r port; do
		curl_one "$port" "$LEAF" || echo "curl failed on port $port" >&2
	done <"$WORK/ports.txt"
	t1=$(bench_now_ns)
	echo $((t1 - t0))
}

# One timed run of side 0 (monitor), 1 (monitor --concurrency 1) or 2 (curl loop), appended to $WORK/side$1.
run_side() {
	case $1 in
	0) time_monitor "" ;;
	1) time_monitor "--concurrency 1" ;;
	2) time_curl ;;
	esac >>"$WORK/side$1"
}

: >"$WORK/side0"
: >"$WORK/side1"
: >"$WORK/side2"
r=1
while [ "$r" -le "$RUNS" ]; do
	first=$(bench_first_of "$r" 3)
	for k in 0 1 2; do
		run_side $(((first + k) % 3))
	done
	r=$((r + 1))
done

echo "endpoints: $COUNT local TLS servers (P-256 leaf + intermediate, TLS 1.3), 127.0.0.1"
set -- $(bench_stats "$WORK/side0") $(bench_stats "$WORK/side1") $(bench_stats "$WORK/side2")
awk -v n="$COUNT" -v runs="$RUNS" -v m16="$1" -v m16lo="$2" -v m16hi="$3" -v m1="$4" -v m1lo="$5" -v m1hi="$6" \
	-v c="$7" -v clo="$8" -v chi="$9" 'BEGIN {
	printf "%d runs per side, interleaved (A B C, B C A, C A B, ...), wall clock; median (min..max)\n", runs
	printf "A  certpin monitor (concurrency 16): %8.1f ms (%.1f..%.1f), %6.2f ms/endpoint\n",
		m16 / 1e6, m16lo / 1e6, m16hi / 1e6, m16 / 1e6 / n
	printf "B  certpin monitor (concurrency 1):  %8.1f ms (%.1f..%.1f), %6.2f ms/endpoint\n",
		m1 / 1e6, m1lo / 1e6, m1hi / 1e6, m1 / 1e6 / n
	printf "C  curl --pinnedpubkey loop:         %8.1f ms (%.1f..%.1f), %6.2f ms/endpoint\n",
		c / 1e6, clo / 1e6, chi / 1e6, c / 1e6 / n
	printf "speed-up, ratio of the medians: C/A %.1fx (concurrency 16), C/B %.1fx (concurrency 1); target >= 10x\n",
		c / m16, c / m1
}'
