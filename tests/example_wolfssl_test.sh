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
max_conns=4
# shellcheck source-path=SCRIPTDIR source=example_common.sh
. "$(dirname "$0")/example_common.sh"
standard_cases

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
