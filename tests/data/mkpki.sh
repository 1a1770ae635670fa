#!/bin/sh
# mkpki.sh OUTDIR - generate certpin's throwaway test PKI with the openssl CLI.
#
# Everything is created at test time; no key made here is real or committed.
# Re-running is a no-op once OUTDIR/.done exists.  File names are a contract
# with the tests and helpers; see tests/data/README.md.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
OUT=$1
[ -f "$OUT/.done" ] && exit 0

: "${OPENSSL:=openssl}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-pki.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM

SANS="DNS:api.certpin.test,DNS:*.wild.certpin.test,DNS:localhost,IP:127.0.0.1"

# Minimal request config, so the system openssl.cnf is never read.
cat >"$TMP/req.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
EOF

# Extension sections.
cat >"$TMP/ext.cnf" <<EOF
[ca_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ca_inter]
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
subjectAltName = $SANS

[wronghost]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:other.example.test

[selfsigned]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:api.certpin.test

[sample]
basicConstraints = critical,CA:FALSE
subjectKeyIdentifier = hash
EOF

# Every certificate is issued by "openssl ca" with a throwaway database, so
# that notBefore can be chosen: valid certificates start at 00:00Z on the
# first day of the previous month (robust against clock differences and
# modest faketime offsets); the expired leaf lies entirely in the past.
y=$(date -u +%Y)
m=$(date -u +%m)
m=${m#0}
if [ "$m" -eq 1 ]; then
	y=$((y - 1))
	m=12
else
	m=$((m - 1))
fi
START=$(printf '%04d%02d01000000Z' "$y" "$m")

mkdir "$TMP/ca"
: >"$TMP/ca/index.txt"
echo 1001 >"$TMP/ca/serial"
cat >"$TMP/ca.cnf" <<EOF
[ca]
default_ca = testca
[testca]
dir = $TMP/ca
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
EOF
cat "$TMP/ext.cnf" >>"$TMP/ca.cnf"

genec() { # genec KEYFILE CURVE
	"$OPENSSL" genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$2" \
		-pkeyopt ec_param_enc:named_curve -out "$1"
}

# issue KEY SUBJECT EXTSECTION ISSUERCERT|self ISSUERKEY OUTCERT STARTDATE DAYS|ENDDATE
issue() {
	"$OPENSSL" req -config "$TMP/req.cnf" -new -key "$1" -subj "$2" -out "$TMP/issue.csr"
	if [ "$4" = self ]; then
		signer=-selfsign
	else
		signer="-cert $4"
	fi
	case $8 in
	*Z) period="-enddate $8" ;;
	*) period="-days $8" ;;
	esac
	# $signer and $period are two words each on purpose (paths have no spaces).
	# shellcheck disable=SC2086
	if ! "$OPENSSL" ca -config "$TMP/ca.cnf" -batch -notext -in "$TMP/issue.csr" \
		$signer -keyfile "$5" -startdate "$7" $period -extensions "$3" \
		-out "$6" 2>"$TMP/ca.err"; then
		cat "$TMP/ca.err" >&2
		exit 1
	fi
}

cd "$OUT"

# --- The real hierarchy: root -> intermediate -> leaf / backup leaf --------
genec root.key P-256
genec inter.key P-256
genec leaf.key P-256
genec backup.key P-256
genec rogue-root.key P-256
genec rogue-leaf.key P-256
genec selfsigned-other.key P-256

issue root.key "/CN=certpin Test Root" ca_root self root.key root.pem "$START" 3650
issue inter.key "/CN=certpin Test Intermediate" ca_inter root.pem root.key inter.pem "$START" 3650
issue leaf.key "/CN=api.certpin.test" leaf inter.pem inter.key leaf.pem "$START" 365
issue backup.key "/CN=api.certpin.test" leaf inter.pem inter.key backup-leaf.pem "$START" 365
# Same key as leaf.key, valid only for another name.
issue leaf.key "/CN=other.example.test" wronghost inter.pem inter.key wronghost-leaf.pem "$START" 365
# Same key as leaf.key, validity entirely in the past.
issue leaf.key "/CN=api.certpin.test" leaf inter.pem inter.key expired-leaf.pem \
	20200101000000Z 20210101000000Z

# --- The attacker: a CA the client was made to trust, and its forged leaf ---
issue rogue-root.key "/CN=Rogue Root" ca_root self rogue-root.key rogue-root.pem "$START" 3650
issue rogue-leaf.key "/CN=api.certpin.test" leaf rogue-root.pem rogue-root.key rogue-leaf.pem "$START" 365

# --- Self-signed certificates for pin-only (insecure) mode ------------------
issue leaf.key "/CN=api.certpin.test" selfsigned self leaf.key selfsigned.pem "$START" 365
issue selfsigned-other.key "/CN=api.certpin.test" selfsigned self selfsigned-other.key \
	selfsigned-other.pem "$START" 365

# --- What servers send and what clients trust --------------------------------
cat leaf.pem inter.pem >chain.pem
cat backup-leaf.pem inter.pem >backup-chain.pem
cat wronghost-leaf.pem inter.pem >wronghost-chain.pem
cat expired-leaf.pem inter.pem >expired-chain.pem
cp rogue-leaf.pem rogue-chain.pem
# Chain injection: the forged leaf followed by the genuine pinned certificates
# (served with rogue-leaf.key).
cat rogue-leaf.pem leaf.pem inter.pem root.pem >inject-chain.pem
# The same trick against pin-only mode (served with selfsigned-other.key).
cat selfsigned-other.pem selfsigned.pem >selfsigned-inject-chain.pem
cp root.pem trust.pem
cat root.pem rogue-root.pem >trust-with-rogue.pem

# --- Algorithm samples for pin agreement ------------------------------------
"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048.key 2>/dev/null
genec p256.key P-256
genec p384.key P-384
"$OPENSSL" genpkey -algorithm ED25519 -out ed25519.key
cat "$TMP/req.cnf" "$TMP/ext.cnf" >"$TMP/req-ext.cnf"
for alg in rsa2048 p256 p384 ed25519; do
	"$OPENSSL" req -config "$TMP/req-ext.cnf" -new -x509 -key "$alg.key" \
		-subj "/CN=certpin $alg sample" -days 365 -extensions sample -out "$alg.pem"
	"$OPENSSL" pkey -in "$alg.key" -pubout -out "$alg.pub"
	"$OPENSSL" x509 -in "$alg.pem" -outform DER -out "$alg.der"
	"$OPENSSL" req -config "$TMP/req.cnf" -new -key "$alg.key" \
		-subj "/CN=certpin $alg sample" -out "$alg.csr"
done

# --- Reference pins, computed by openssl alone ------------------------------
spki_pin() {
	"$OPENSSL" x509 -in "$1" -pubkey -noout |
		"$OPENSSL" pkey -pubin -outform DER |
		"$OPENSSL" dgst -sha256 -binary |
		"$OPENSSL" base64
}
: >"$TMP/pins.txt"
for entry in leaf:leaf.pem backup:backup-leaf.pem inter:inter.pem root:root.pem \
	rogue-leaf:rogue-leaf.pem rogue-root:rogue-root.pem \
	selfsigned-other:selfsigned-other.pem; do
	name=${entry%%:*}
	pin=$(spki_pin "${entry#*:}")
	if [ -z "$pin" ]; then
		echo "mkpki: no pin for ${entry#*:}" >&2
		exit 1
	fi
	echo "$name sha256/$pin" >>"$TMP/pins.txt"
done
mv "$TMP/pins.txt" pins.txt

# --- Sanity checks: fail here rather than in a confusing test later ---------
"$OPENSSL" verify -CAfile root.pem -untrusted inter.pem leaf.pem backup-leaf.pem >/dev/null
"$OPENSSL" verify -CAfile rogue-root.pem rogue-leaf.pem >/dev/null
if "$OPENSSL" verify -CAfile root.pem -untrusted inter.pem expired-leaf.pem >/dev/null 2>&1; then
	echo "mkpki: expired-leaf.pem unexpectedly verifies" >&2
	exit 1
fi

touch .done
