#!/bin/sh
# bundle_fetch_cli_test.sh - `certpin bundle fetch` end to end, against
# `openssl s_server -WWW` serving a signed bundle on 127.0.0.1 (ephemeral
# port, at most 60 s, stopped by PID):
#
#   - success: verified, stored with --state, written with --out (exit 0);
#   - the same version again: rollback (exit 1), state and --out untouched;
#   - the server's chain does not match the current policy's pins (exit 1),
#     nothing downloaded, stored or written;
#   - the URL host has no rule in the current policy (exit 3);
#   - a bad URL (exit 3), reported once on one line.
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI (made by tests/data/mkpki.sh).
set -u

: "${OPENSSL:=openssl}"
: "${CERTPIN:?CERTPIN must name the certpin binary}"
: "${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI directory}"
PKI=$CERTPIN_TEST_PKI
TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-fetch-cli.XXXXXX") || exit 2
SERVER_PID=
passed=0
failed=0

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

fail() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# check NAME WANT-EXIT: compares $rc; prints stderr on failure
check_exit() {
	if [ "$rc" -eq "$2" ]; then
		passed=$((passed + 1))
	else
		fail "$1: exit $rc, expected $2"
		sed 's/^/  stderr: /' "$TMP/err" >&2
		sed 's/^/  stdout: /' "$TMP/out" >&2
	fi
}

# expect NAME COMMAND...: the shell command must succeed
expect() {
	_name=$1
	shift
	if sh -c "$*" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		fail "$_name: '$*' failed"
	fi
}

pin_of() {
	"$OPENSSL" x509 -in "$1" -noout -pubkey | "$OPENSSL" pkey -pubin -outform DER |
		"$OPENSSL" dgst -sha256 -binary | "$OPENSSL" base64 -A
}

policy() {
	printf '{"schema": 1, "hosts": [{"host": "%s", "pins": ["sha256/%s"]}]}\n' "$1" "$2"
}

cd "$TMP" || exit 2
mkdir www state || exit 2
"$CERTPIN" bundle keygen --out . >/dev/null || exit 2
ROOT_PIN=$(pin_of "$PKI/root.pem")
BACKUP_PIN=$(pin_of "$PKI/backup-leaf.pem")
[ -n "$ROOT_PIN" ] && [ -n "$BACKUP_PIN" ] || exit 2
policy api.certpin.test "$ROOT_PIN" >current.json
policy api.certpin.test "$BACKUP_PIN" >wrong-pin.json
# the next policy, as served: pins the root too, plus another host
printf '{"schema": 1, "hosts": [{"host": "api.certpin.test", "pins": ["sha256/%s"]}, {"host": "b.example", "pins": ["sha256/%s"]}]}\n' \
	"$ROOT_PIN" "$BACKUP_PIN" >next.json
"$CERTPIN" bundle sign next.json --key signing.key --version 7 --expires 2099-01-01 --out www/pins.bundle || exit 2

(cd www && exec timeout 60 "$OPENSSL" s_server -accept 127.0.0.1:0 -cert "$PKI/leaf.pem" \
	-cert_chain "$PKI/inter.pem" -key "$PKI/leaf.key" -WWW -naccept 10 >../server.out 2>../server.err) &
SERVER_PID=$!
PORT=
i=0
while [ $i -lt 100 ]; do
	PORT=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' server.out 2>/dev/null)
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$PORT" ]; then
	echo "bundle_fetch_cli_test: openssl s_server did not start" >&2
	cat server.err >&2
	exit 1
fi
URL=https://api.certpin.test:$PORT/pins.bundle
COMMON="--connect-to 127.0.0.1 --cafile $PKI/trust.pem --pubkey signing.pub"

# 1. success: verified, stored, written
"$CERTPIN" bundle fetch "$URL" --policy current.json $COMMON --state state --out got.bundle >out 2>err
rc=$?
check_exit "success" 0
expect "success: stored" "grep -q 'accepted and stored' out"
expect "success: version" "grep -q '^version: 7$' out"
expect "success: hosts" "grep -q '^hosts: 2$' out"
expect "success: --out" "cmp got.bundle www/pins.bundle"
expect "success: state" "cmp state/current.bundle www/pins.bundle"
expect "success: quiet" "[ ! -s err ]"

# 2. the same version again: rollback, refused, nothing rewritten
rm -f got.bundle
cp state/current.bundle state.before
"$CERTPIN" bundle fetch "$URL" --policy current.json $COMMON --state state --out got.bundle --json >out 2>err
rc=$?
check_exit "rollback" 1
expect "rollback: result" "grep -q '\"result\": \"rollback\"' out"
expect "rollback: no --out" "[ ! -e got.bundle ]"
expect "rollback: state kept" "cmp state/current.bundle state.before"
expect "rollback: one line" "[ \$(wc -l <err) -eq 1 ]"

# 3. the server's chain does not match the current policy: refused before any download
rm -rf state2 && mkdir state2
"$CERTPIN" bundle fetch "$URL" --policy wrong-pin.json $COMMON --state state2 --out got.bundle >out 2>err
rc=$?
check_exit "pin mismatch" 1
expect "pin mismatch: message" "grep -q 'refused by the current policy' err"
expect "pin mismatch: one line" "[ \$(wc -l <err) -eq 1 ]"
expect "pin mismatch: nothing stored" "[ -z \"\$(ls state2)\" ]"
expect "pin mismatch: no --out" "[ ! -e got.bundle ]"

# 4. a host the current policy does not pin: never fetched
"$CERTPIN" bundle fetch "https://other.certpin.test:$PORT/pins.bundle" --policy current.json $COMMON \
	--state state2 >out 2>err
rc=$?
check_exit "unpinned host" 3
expect "unpinned host: message" "grep -q 'other.certpin.test is not pinned by the current policy' err"
expect "unpinned host: one line" "[ \$(wc -l <err) -eq 1 ]"

# 5. bad URLs: bad arguments, the URL named once
"$CERTPIN" bundle fetch "http://api.certpin.test:$PORT/pins.bundle" --policy current.json $COMMON >out 2>err
rc=$?
check_exit "http URL" 3
expect "http URL: message" "grep -q '^certpin: fetch http://api.certpin.test:$PORT/pins.bundle: URL: only https:// URLs are fetched$' err"
expect "http URL: one line" "[ \$(wc -l <err) -eq 1 ]"
"$CERTPIN" bundle fetch "https://api.certpin.test:99999/pins.bundle" --policy current.json $COMMON >out 2>err
rc=$?
check_exit "bad port" 3
expect "bad port: message" "grep -q 'URL: bad port' err"

echo "bundle_fetch_cli_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
