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
#   fixed-chain.pem    a certificate for the serving key (leaf.key) + its own
#                      intermediate, and fixed-trust.pem its root, all valid
#                      from 2020-01-01 to 2040-01-01: for --at dates that the
#                      test PKI (valid from the month before the test run)
#                      may not cover, e.g. the pinset expiry 2026-12-01
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

# A fixed-date hierarchy ("openssl ca" can set notBefore; "x509 -req" cannot in 3.0).
F="$OUT/.fixed"
mkdir -p "$F"
: >"$F/index.txt"
echo 2001 >"$F/serial"
cat >"$F/ca.cnf" <<CNF
[ca]
default_ca = fixed
[fixed]
dir = $F
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
copy_extensions = none
[anything]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:api.certpin.test
CNF
fixed_issue() { # KEY SUBJECT EXT SIGNERCERT|self SIGNERKEY OUT
	"$OPENSSL" req -config "$F/ca.cnf" -new -key "$1" -subj "$2" -out "$F/req.csr" 2>/dev/null
	if [ "$4" = self ]; then _signer=-selfsign; else _signer="-cert $4"; fi
	# shellcheck disable=SC2086  # $_signer is one or two words on purpose
	"$OPENSSL" ca -config "$F/ca.cnf" -batch -notext -in "$F/req.csr" $_signer -keyfile "$5" \
		-startdate 20200101000000Z -enddate 20400101000000Z -extensions "$3" -out "$6" 2>"$F/ca.err" ||
		{ cat "$F/ca.err" >&2; exit 1; }
}
for k in root inter; do
	"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$F/$k.key" 2>/dev/null
done
fixed_issue "$F/root.key" "/CN=certpin Fixed Root" root self "$F/root.key" "$OUT/fixed-trust.pem"
fixed_issue "$F/inter.key" "/CN=certpin Fixed Intermediate" inter "$OUT/fixed-trust.pem" "$F/root.key" "$F/inter.pem"
fixed_issue "$PKI/leaf.key" "/CN=api.certpin.test" leaf "$F/inter.pem" "$F/inter.key" "$F/leaf.pem"
cat "$F/leaf.pem" "$F/inter.pem" >"$OUT/fixed-chain.pem"
rm -rf "$F"
