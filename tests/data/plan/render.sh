#!/bin/sh
# render.sh PKI OUTDIR - turn the rotation-planner scenarios into files for
# one test PKI (tests/data/mkpki.sh): every *.in template here is copied to
# OUTDIR without its .in suffix, with @NAME@ replaced by the SPKI pin of NAME
# from PKI/pins.txt ("sha256/B64") and @NAME-b64@ by its bare base64.  Names:
# leaf, backup, inter, root, rogue-leaf, rogue-root, spare (the key of
# selfsigned-other.pem: a spare key that is never served).
#
# Also makes the planned server states that mkpki.sh does not have:
#   renewed-chain.pem  a new certificate for the same leaf key (leaf.key),
#                      issued by the same intermediate, + inter.pem
#   newca-chain.pem    rogue-leaf.pem + rogue-root.pem: a new key under a new CA
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 PKI OUTDIR" >&2
	exit 2
fi
PKI=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
: "${OPENSSL:=openssl}"
mkdir -p "$OUT"

pin() {
	_p=$(awk -v n="$1" '$1 == n { print $2 }' "$PKI/pins.txt")
	if [ -z "$_p" ]; then
		echo "render.sh: no pin named $1 in $PKI/pins.txt" >&2
		exit 1
	fi
	printf '%s\n' "$_p"
}

SED=
for name in leaf backup inter root rogue-leaf rogue-root selfsigned-other; do
	p=$(pin "$name")
	b=${p#sha256/}
	tag=$name
	[ "$name" = selfsigned-other ] && tag=spare
	# '|' never occurs in base64
	SED="$SED -e s|@$tag@|$p|g -e s|@$tag-b64@|$b|g"
done

for t in "$HERE"/*.in; do
	# shellcheck disable=SC2086
	sed $SED "$t" >"$OUT/$(basename "$t" .in)"
done

# Same key, new certificate (new serial and validity), same issuer.
cat >"$OUT/.renew.ext" <<EXT
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.certpin.test,DNS:localhost,IP:127.0.0.1
EXT
"$OPENSSL" req -new -key "$PKI/leaf.key" -subj "/CN=api.certpin.test" -out "$OUT/.renew.csr" 2>/dev/null
"$OPENSSL" x509 -req -in "$OUT/.renew.csr" -CA "$PKI/inter.pem" -CAkey "$PKI/inter.key" \
	-set_serial 4097 -days 200 -extfile "$OUT/.renew.ext" -out "$OUT/renewed-leaf.pem" 2>/dev/null
cat "$OUT/renewed-leaf.pem" "$PKI/inter.pem" >"$OUT/renewed-chain.pem"
cat "$PKI/rogue-leaf.pem" "$PKI/rogue-root.pem" >"$OUT/newca-chain.pem"
rm -f "$OUT/.renew.ext" "$OUT/.renew.csr"
