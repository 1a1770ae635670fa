#!/bin/sh
# demo.sh BUILD_DIR/certpin - a self-contained, offline tour of certpin.
#
# Generates a throwaway PKI in ./demo-out/pki, runs the test TLS server
# (BUILD_DIR/tests/tls_server) on 127.0.0.1, and shows:
#   1. discovering a server's pins        certpin pin --connect
#   2. a pinned connection that matches   certpin check -> exit 0
#   3. a rogue CA the client trusts       certpin check -> exit 1 (refused)
#   4. key rotation to the backup key     certpin check -> exit 0 (backup pin)
# Builds nothing itself ("make demo" builds first).  Exits non-zero if any
# step does not behave as expected.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR/certpin" >&2
	exit 2
fi
CERTPIN=$1
case $CERTPIN in
/*) ;;
*) CERTPIN=$(pwd)/$CERTPIN ;;
esac
BUILD_DIR=$(dirname "$CERTPIN")
TLS_SERVER=$BUILD_DIR/tests/tls_server
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(pwd)/demo-out
PKI=$OUT/pki
HOST=api.certpin.test

for f in "$CERTPIN" "$TLS_SERVER"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f not found; build first (make build)" >&2
		exit 2
	fi
done

SERVER_PID=
PORT=
stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
	fi
}
trap stop_server EXIT
trap 'exit 2' HUP INT TERM

# start_server CHAIN KEY: run tls_server in the background, set PORT.
# Each server writes its port to a file of its own, atomically (rename), that
# does not exist before it starts: the port read is always this server's, never
# the previous one's.  Waits up to 30 s, so a busy machine does not fail it.
SERVER_N=0
start_server() {
	stop_server
	SERVER_N=$((SERVER_N + 1))
	portfile=$OUT/server-$SERVER_N.port
	rm -f "$portfile"
	"$TLS_SERVER" --cert "$1" --key "$2" --timeout 120 --port-file "$portfile" \
		>/dev/null 2>"$OUT/server-$SERVER_N.err" &
	SERVER_PID=$!
	PORT=
	i=0
	while [ $i -lt 300 ]; do
		if [ -f "$portfile" ]; then
			PORT=$(head -n 1 "$portfile")
			break
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	case $PORT in
	'' | *[!0-9]*) PORT= ;;
	esac
	if [ -z "$PORT" ]; then
		echo "demo: tls_server did not start:" >&2
		cat "$OUT/server-$SERVER_N.err" >&2
		exit 2
	fi
	echo "   (tls_server pid $SERVER_PID serving $(basename "$1") on 127.0.0.1:$PORT)"
}

# run EXPECTED_EXIT CMD...: show and run a certpin command, indent its output.
STATUS=0
run() {
	want=$1
	shift
	echo "   \$ certpin $*" | sed "s|$PKI|\$PKI|g; s|$OUT|demo-out|g"
	"$CERTPIN" "$@" >"$OUT/cmd.out" 2>&1
	STATUS=$?
	sed 's/^/   | /' "$OUT/cmd.out"
	echo "   exit status $STATUS (expected $want)"
	[ "$STATUS" -eq "$want" ]
}

R1=FAIL R2=FAIL R3=FAIL R4=FAIL
mkdir -p "$OUT"
rm -f "$OUT"/server*.port "$OUT"/server*.out "$OUT"/server*.err

echo "== Setup: generating a throwaway test PKI in demo-out/pki"
# A PKI left by an earlier run is reused, unless its certificates expire within
# a day (they are valid for a year): then it is made anew.
if [ -f "$PKI/.done" ] && ! openssl x509 -checkend 86400 -noout -in "$PKI/leaf.pem" >/dev/null 2>&1; then
	rm -rf "$PKI"
fi
if ! sh "$SRC_DIR/tests/data/mkpki.sh" "$PKI" >"$OUT/mkpki.log" 2>&1; then
	echo "demo: mkpki.sh failed:" >&2
	cat "$OUT/mkpki.log" >&2
	exit 2
fi

echo "== Step 1/4: discover the pins of a server (certpin pin --connect)"
start_server "$PKI/chain.pem" "$PKI/leaf.key"
if run 0 pin --connect "127.0.0.1:$PORT" --servername "$HOST" --cafile "$PKI/trust.pem"; then
	LEAF_PIN=$(sed -n 's|^  0 leaf .* \(sha256/[^ ]*\)$|\1|p' "$OUT/cmd.out" | head -n 1)
	[ -n "$LEAF_PIN" ] && R1=PASS
fi
# The backup key is generated in advance and kept offline; pin it now.
BACKUP_PIN=$("$CERTPIN" pin "$PKI/backup.key" | sed -n 's|.* \(sha256/[^ ]*\).*|\1|p')
if [ -z "${LEAF_PIN:-}" ] || [ -z "$BACKUP_PIN" ]; then
	echo "demo: could not read the pins" >&2
	LEAF_PIN=${LEAF_PIN:-missing} BACKUP_PIN=${BACKUP_PIN:-missing}
fi
cat >"$OUT/policy.json" <<EOF
{
  "schema": 1,
  "policy_version": 1,
  "hosts": [
    {
      "host": "$HOST",
      "mode": "enforce",
      "pins": [
        {"pin": "$LEAF_PIN", "position": "leaf", "comment": "current key"},
        {"pin": "$BACKUP_PIN", "position": "leaf", "comment": "backup key, kept offline"}
      ]
    }
  ]
}
EOF
echo "   demo-out/policy.json (current leaf key + backup key):"
sed 's/^/   | /' "$OUT/policy.json"

echo "== Step 2/4: connect with the policy: the leaf key matches (certpin check)"
run 0 check "127.0.0.1:$PORT" --servername "$HOST" --policy "$OUT/policy.json" \
	--cafile "$PKI/trust.pem" && R2=PASS

echo "== Step 3/4: a rogue CA the client trusts issues a certificate: pinning refuses it"
start_server "$PKI/rogue-chain.pem" "$PKI/rogue-leaf.key"
run 1 check "127.0.0.1:$PORT" --servername "$HOST" --policy "$OUT/policy.json" \
	--cafile "$PKI/trust-with-rogue.pem" && grep -q "^verdict: mismatch (refused)" "$OUT/cmd.out" &&
	grep -q "refused: no pin of the host's pinset matches" "$OUT/cmd.out" && R3=PASS

echo "== Step 4/4: the server rotates to the backup key: accepted via the backup pin"
start_server "$PKI/backup-chain.pem" "$PKI/backup.key"
run 0 check "127.0.0.1:$PORT" --servername "$HOST" --policy "$OUT/policy.json" \
	--cafile "$PKI/trust.pem" && grep -q "matched: pin 1" "$OUT/cmd.out" && R4=PASS
stop_server

echo "== Summary"
echo "$R1  1. pin --connect discovered the server's pins"
echo "$R2  2. check with the pinned leaf key: match, exit 0"
echo "$R3  3. check against a rogue CA's certificate: refused (pin mismatch), exit 1"
echo "$R4  4. check after rotation to the backup key: match, exit 0"
[ "$R1$R2$R3$R4" = PASSPASSPASSPASS ]
