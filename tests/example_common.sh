# example_common.sh - sourced by the example clients' tests
# (example_STACK_test.sh EXAMPLE TLS_SERVER, CERTPIN_TEST_PKI set): starts
# the test server on 127.0.0.1 for $max_conns connections (stopped by PID on
# exit), and defines pin, policy, result, run and standard_cases.
# shellcheck shell=sh disable=SC2034  # pass, fail and the rest are the caller's
example=$1
server=$2
pki=$CERTPIN_TEST_PKI
tmp=$(mktemp -d)
spid=
cleanup() {
	# (set -e: the server's exit status, 143 after the kill, must not become the test's)
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail=0
pass=0

"$server" --cert "$pki/chain.pem" --key "$pki/leaf.key" --port-file "$tmp/port" --max-conns "${max_conns:?the caller sets max_conns}" \
	--timeout 60 >/dev/null 2>&1 &
spid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$tmp/port")
pin() { sed -n "s/^$1 //p" "$pki/pins.txt"; }
policy() { printf '{"schema":1,"hosts":[{"host":"api.certpin.test","pins":["%s"]}]}\n' "$1" >"$tmp/policy.json"; }
result() { # OK DESCRIPTION
	if [ "$1" -eq 1 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $2"
	fi
}
run() { # WANT-EXIT WANT-OUTPUT HOST
	set +e
	"$example" "$3" "$port" "$tmp/policy.json" "$pki/trust.pem" 127.0.0.1 >"$tmp/out" 2>&1
	got=$?
	set -e
	ok=0
	[ "$got" -eq "$1" ] && grep -q "$2" "$tmp/out" && ok=1
	result $ok "$3 exit $got, want $1 and \"$2\":"
	[ $ok -eq 1 ] || cat "$tmp/out"
}
# Allowed with the server's pin, refused (2) for a name the certificate is not for, refused (1) with another pin.
standard_cases() {
	policy "$(pin leaf)"
	run 0 "connected to api.certpin.test: certpin verdict match" api.certpin.test
	run 2 "refused other.example.test" other.example.test
	policy "$(pin selfsigned-other)"
	run 1 "refused api.certpin.test" api.certpin.test
}
