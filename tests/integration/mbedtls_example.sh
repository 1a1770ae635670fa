#!/bin/sh
# mbedtls_example.sh EXAMPLE - examples/mbedtls_client.c against local test
# servers: the pinned key is accepted (exit 0), another pin refuses (exit 1),
# a certificate mbedTLS does not verify fails (exit 2).
# Environment (set by CTest): TLS_SERVER, CERTPIN_TEST_PKI.
set -u
example=${1:?usage: mbedtls_example.sh EXAMPLE}
: "${TLS_SERVER:?}" "${CERTPIN_TEST_PKI:?}"
pki=$CERTPIN_TEST_PKI
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpin-mbedtls-example.XXXXXX") || exit 1
pid=
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pid=
}
trap 'stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fail=0

pin() { sed -n "s/^$1 //p" "$pki/pins.txt"; }
printf '{"schema":1,"hosts":[{"host":"localhost","pins":["%s"]}]}\n' "$(pin leaf)" >"$tmp/good.json"
printf '{"schema":1,"hosts":[{"host":"localhost","pins":["%s"]}]}\n' "$(pin selfsigned-other)" >"$tmp/bad.json"

# run NAME CHAIN KEY POLICY WANT_EXIT WANT_OUTPUT
run() {
	rm -f "$tmp/port"
	"$TLS_SERVER" --cert "$pki/$2" --key "$pki/$3" --max-conns 1 --timeout 30 --port-file "$tmp/port" \
		>/dev/null 2>"$tmp/server.err" &
	pid=$!
	i=0
	while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -s "$tmp/port" ]; then
		echo "FAIL: $1: the server did not start"
		cat "$tmp/server.err"
		fail=1
		stop
		return
	fi
	timeout 30 "$example" localhost "$(cat "$tmp/port")" "$tmp/$4" "$pki/trust.pem" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -eq "$5" ] && grep -q "$6" "$tmp/out"; then
		echo "ok: $1"
	else
		echo "FAIL: $1: exit $got (want $5), output:"
		cat "$tmp/out"
		fail=1
	fi
	stop
}

run "pinned key accepted" chain.pem leaf.key good.json 0 "^connected to localhost: certpin verdict match$"
run "other pin refused" chain.pem leaf.key bad.json 1 "^refused localhost: "
run "untrusted chain fails" rogue-chain.pem rogue-leaf.key good.json 2 "handshake with localhost failed: .*certpin: pkix"
exit $fail
