#!/bin/sh
# bench_cli_pin.sh CERTPIN [COUNT]
#
# `certpin pin` over COUNT (default 200) small P-256 certificates in ONE
# invocation, against the usual openssl recipe run per file (4 processes):
#
#   openssl x509 -pubkey -noout -in F | openssl pkey -pubin -outform DER |
#     openssl dgst -sha256 -binary | openssl base64
#
# Both must print the same pins (checked first).  Timed with hyperfine if
# installed, else with `date +%s%N` (median of 5 runs).  Prints the speed
# ratio; asserts nothing about it.
set -eu

CERTPIN=${1:?usage: bench_cli_pin.sh CERTPIN [COUNT]}
COUNT=${2:-200}
: "${OPENSSL:=openssl}"

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

if command -v hyperfine >/dev/null 2>&1; then
	hyperfine --style basic --warmup 1 --min-runs 5 --export-csv "$WORK/times.csv" \
		-n "certpin pin (1 process)" "$CMD_CERTPIN >/dev/null" \
		-n "openssl pipeline (4 processes per file)" "$CMD_OPENSSL >/dev/null"
	# CSV: command,mean,stddev,median,user,system,min,max (seconds)
	c=$(awk -F, 'NR == 2 { print $4 }' "$WORK/times.csv")
	o=$(awk -F, 'NR == 3 { print $4 }' "$WORK/times.csv")
	tool=hyperfine
else
	median_ns() { # command...: median wall time of 5 runs, in ns
		for _ in 1 2 3 4 5; do
			s=$(date +%s%N)
			sh -c "$1" >/dev/null
			e=$(date +%s%N)
			echo $((e - s))
		done | sort -n | sed -n 3p
	}
	sh -c "$CMD_CERTPIN" >/dev/null # warm-up
	c=$(median_ns "$CMD_CERTPIN" | awk '{ print $1 / 1e9 }')
	o=$(median_ns "$CMD_OPENSSL" | awk '{ print $1 / 1e9 }')
	tool="date +%s%N, 5 runs"
fi

awk -v c="$c" -v o="$o" -v n="$COUNT" -v tool="$tool" 'BEGIN {
	printf "bench_cli_pin (%s, medians): certpin %.1f ms (%.0f us/file), openssl %.0f ms (%.2f ms/file)\n",
		tool, c * 1000, c * 1e6 / n, o * 1000, o * 1000 / n
	printf "bench_cli_pin: speed ratio %.0fx (target >= 200x)\n", o / c
}'
