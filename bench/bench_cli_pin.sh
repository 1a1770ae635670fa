#!/bin/sh
# bench_cli_pin.sh CERTPIN [COUNT] [RUNS]
#
# `certpin pin` over COUNT (default 200) small P-256 certificates in ONE
# invocation (side A), against the usual openssl recipe run per file
# (4 processes, side B):
#
#   openssl x509 -pubkey -noout -in F | openssl pkey -pubin -outform DER |
#     openssl dgst -sha256 -binary | openssl base64
#
# Both must print the same pins (checked first).  After one warm-up run of
# each, RUNS (default 6) timed runs per side, interleaved run by run: A B,
# B A, A B, ... (wall clock from `date +%s%N`, each side through `sh -c`).
# Prints each side's median with its minimum and maximum, and the ratio of
# the medians; asserts nothing about speed.
set -eu

CERTPIN=${1:?usage: bench_cli_pin.sh CERTPIN [COUNT] [RUNS]}
COUNT=${2:-200}
RUNS=${3:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${OPENSSL:=openssl}"
. "$HERE/lib.sh"

case $COUNT$RUNS in
*[!0-9]*) echo "bench_cli_pin: COUNT and RUNS must be numbers" >&2; exit 2 ;;
esac
[ "$RUNS" -ge 1 ] || { echo "bench_cli_pin: RUNS must be at least 1" >&2; exit 2; }

if [ ! -x "$CERTPIN" ]; then
	echo "bench_cli_pin: $CERTPIN not built (the certpin CLI target); skipped"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certpin-bench-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$WORK/certs"

# Throwaway certificates, each with its own key (the keys are discarded).
printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n' >"$WORK/req.cnf"
i=1
while [ "$i" -le "$COUNT" ]; do
	"$OPENSSL" req -config "$WORK/req.cnf" -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout /dev/null -subj "/CN=bench$i.certpin.test" -days 30 \
		-out "$WORK/certs/c$(printf %03d "$i").pem" 2>/dev/null
	i=$((i + 1))
done

cat >"$WORK/openssl-pins.sh" <<'EOF'
for f in "$@"; do
	printf 'sha256/'
	"$OPENSSL" x509 -pubkey -noout -in "$f" | "$OPENSSL" pkey -pubin -outform DER |
		"$OPENSSL" dgst -sha256 -binary | "$OPENSSL" base64
done
EOF
export OPENSSL

# Same answers first: a fast wrong tool is not a result.
"$CERTPIN" pin "$WORK"/certs/*.pem | grep -o 'sha256/[A-Za-z0-9+/=]*' >"$WORK/certpin.txt"
sh "$WORK/openssl-pins.sh" "$WORK"/certs/*.pem >"$WORK/openssl.txt"
if ! cmp -s "$WORK/certpin.txt" "$WORK/openssl.txt"; then
	echo "bench_cli_pin: certpin and openssl disagree:" >&2
	diff "$WORK/certpin.txt" "$WORK/openssl.txt" | head -n 10 >&2
	exit 1
fi
echo "bench_cli_pin: $COUNT certificates, pins agree with the openssl pipeline ($(wc -l <"$WORK/certpin.txt") lines)"

CMD_CERTPIN="$CERTPIN pin $WORK/certs/*.pem"
CMD_OPENSSL="sh $WORK/openssl-pins.sh $WORK/certs/*.pem"

# One timed run of side 0 (certpin) or 1 (openssl), its wall time in ns appended to $WORK/side$1.
run_side() {
	if [ "$1" -eq 0 ]; then cmd=$CMD_CERTPIN; else cmd=$CMD_OPENSSL; fi
	t0=$(bench_now_ns)
	sh -c "$cmd" >/dev/null
	t1=$(bench_now_ns)
	echo $((t1 - t0)) >>"$WORK/side$1"
}

sh -c "$CMD_CERTPIN" >/dev/null # warm-up: page cache, dynamic loader
sh -c "$CMD_OPENSSL" >/dev/null
: >"$WORK/side0"
: >"$WORK/side1"
r=1
while [ "$r" -le "$RUNS" ]; do
	first=$(bench_first_of "$r" 2)
	run_side "$first"
	run_side $((1 - first))
	r=$((r + 1))
done

set -- $(bench_stats "$WORK/side0") $(bench_stats "$WORK/side1")
awk -v cm="$1" -v clo="$2" -v chi="$3" -v om="$4" -v olo="$5" -v ohi="$6" -v n="$COUNT" -v runs="$RUNS" 'BEGIN {
	printf "bench_cli_pin: %d runs per side, interleaved (A B, B A, ...), wall clock; median (min..max)\n", runs
	printf "  A  certpin pin, 1 process:            %9.1f ms (%.1f..%.1f)  %7.0f us/file\n",
		cm / 1e6, clo / 1e6, chi / 1e6, cm / 1e3 / n
	printf "  B  openssl pipeline, 4 per file:      %9.1f ms (%.1f..%.1f)  %7.2f ms/file\n",
		om / 1e6, olo / 1e6, ohi / 1e6, om / 1e6 / n
	printf "bench_cli_pin: speed ratio of the medians B/A %.0fx (target >= 200x)\n", om / cm
}'
