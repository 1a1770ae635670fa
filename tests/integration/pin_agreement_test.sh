#!/bin/sh
# pin_agreement_test.sh - `certpin pin` must print the same SPKI pin as the
# openssl pipeline, for every key type and every input form:
#
#   openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER |
#       openssl dgst -sha256 -binary | openssl base64
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI (made by tests/data/mkpki.sh;
# generated into a temporary directory if unset).
set -u

: "${OPENSSL:=openssl}"
CERTPIN=${CERTPIN:-certpin}
passed=0
failed=0
TMPPKI=

cleanup() {
	[ -n "$TMPPKI" ] && rm -rf "$TMPPKI"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if [ -z "${CERTPIN_TEST_PKI:-}" ]; then
	TMPPKI=$(mktemp -d "${TMPDIR:-/tmp}/certpin-agree.XXXXXX")
	sh "$(dirname "$0")/../data/mkpki.sh" "$TMPPKI/pki" || exit 1
	CERTPIN_TEST_PKI=$TMPPKI/pki
fi
PKI=$CERTPIN_TEST_PKI

if ! command -v "$CERTPIN" >/dev/null 2>&1 && [ ! -x "$CERTPIN" ]; then
	echo "pin_agreement_test: certpin CLI not found: $CERTPIN" >&2
	exit 1
fi

ok() {
	passed=$((passed + 1))
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# Pin of a DER SubjectPublicKeyInfo read from stdin.
digest() {
	"$OPENSSL" dgst -sha256 -binary | "$OPENSSL" base64
}

for alg in rsa2048 p256 p384 ed25519; do
	# Reference pins, one per input form, computed by openssl only.
	from_cert=$("$OPENSSL" x509 -in "$PKI/$alg.pem" -pubkey -noout |
		"$OPENSSL" pkey -pubin -outform DER | digest)
	from_der=$("$OPENSSL" x509 -inform DER -in "$PKI/$alg.der" -pubkey -noout |
		"$OPENSSL" pkey -pubin -outform DER | digest)
	from_pub=$("$OPENSSL" pkey -pubin -in "$PKI/$alg.pub" -outform DER | digest)
	from_key=$("$OPENSSL" pkey -in "$PKI/$alg.key" -pubout -outform DER | digest)
	from_csr=$("$OPENSSL" req -in "$PKI/$alg.csr" -pubkey -noout |
		"$OPENSSL" pkey -pubin -outform DER | digest)

	# The openssl pins must agree among themselves, or the comparison is moot.
	if [ -z "$from_cert" ]; then
		fail "$alg: openssl produced no pin"
		continue
	fi
	for other in "$from_der" "$from_pub" "$from_key" "$from_csr"; do
		if [ "$other" = "$from_cert" ]; then
			ok
		else
			fail "$alg: openssl pins disagree: $from_cert vs $other"
		fi
	done

	for file in "$alg.pem" "$alg.der" "$alg.pub" "$alg.key" "$alg.csr"; do
		out=$("$CERTPIN" pin "$PKI/$file" 2>&1)
		rc=$?
		if [ $rc -ne 0 ]; then
			fail "$file: '$CERTPIN pin' exited $rc: $out"
		elif printf '%s\n' "$out" | grep -F -- "sha256/$from_cert" >/dev/null; then
			ok
		else
			fail "$file: expected sha256/$from_cert, certpin printed: $out"
		fi
	done
done

echo "pin_agreement_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
