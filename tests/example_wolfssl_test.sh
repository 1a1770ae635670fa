#!/bin/sh
# The wolfSSL example client (examples/wolfssl_client.c) against a local test
# server (127.0.0.1): allowed (exit 0) with the server's pin, refused (exit 1)
# with another, refused (exit 2) for a name the certificate is not for.  And
# in the running client no call meant for wolfSSL binds to OpenSSL's libssl
# or libcrypto, nor the reverse (libcertpin links OpenSSL; libwolfssl 5.5
# exports six names libssl exports too).  One such binding is known and
# allowed: libssl's SSL_CTX_new() calls SSL_COMP_get_compression_methods(),
# which resolves to wolfSSL's stub when libwolfssl loads first (see LINKING
# in <certpin/wolfssl.h>).
#   example_wolfssl_test.sh EXAMPLE TLS_SERVER   (CERTPIN_TEST_PKI set)
set -eu
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

"$server" --cert "$pki/chain.pem" --key "$pki/leaf.key" --port-file "$tmp/port" --max-conns 4 --timeout 60 \
	>/dev/null 2>&1 &
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
policy "$(pin leaf)"
run 0 "connected to api.certpin.test: certpin verdict match" api.certpin.test
run 2 "refused other.example.test" other.example.test
policy "$(pin selfsigned-other)"
run 1 "refused api.certpin.test" api.certpin.test

# Which library each call bound to, in the allowed run (ld.so's trace).
policy "$(pin leaf)"
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$tmp/ld" "$example" api.certpin.test "$port" "$tmp/policy.json" \
	"$pki/trust.pem" 127.0.0.1 >/dev/null 2>&1 || true
cat "$tmp"/ld.* >"$tmp/bindings" 2>/dev/null || true
if ! grep -q 'normal symbol `wolfSSL_connect' "$tmp/bindings"; then
	result 0 "no ld.so binding trace of wolfSSL_connect"
elif grep -E ' to [^ ]*libwolfssl' "$tmp/bindings" |
		grep -vE 'binding file [^ ]*(libwolfssl|libcertpin-wolfssl|example_wolfssl_client)' |
		grep -v 'symbol `SSL_COMP_get_compression_methods' ||
	grep -E 'binding file [^ ]*(libcertpin-wolfssl|example_wolfssl_client)[^ ]* .* to [^ ]*(libssl|libcrypto)' "$tmp/bindings"; then
	result 0 "a symbol bound across OpenSSL and wolfSSL (above)"
else
	result 1 ""
fi
echo "example_wolfssl_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
