#!/bin/sh
# monitor_test.sh - "certpin monitor" against 20 local endpoints at once:
# 16 serving the pinned chain, one serving an unpinned (but PKIX-valid) key,
# one a chain from an untrusted CA, one closed port and one that accepts TCP
# but never speaks TLS (timeout).  Checks per-endpoint status in file order,
# the summary and exit code, that --concurrency 1 agrees with the default
# pool, chain-change detection through --state, and that check and monitor
# agree on the exit status for each verdict.
#
# Environment (set by CTest): CERTPIN, TLS_SERVER, CERTPIN_TEST_PKI.
set -u

: "${CERTPIN:?}" "${TLS_SERVER:?}" "${CERTPIN_TEST_PKI:?}"
PKI=$CERTPIN_TEST_PKI
TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-monitor.XXXXXX") || exit 2
PIDS=
FAILED=0
CHECKS=0

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	PIDS=
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 2' HUP INT TERM

check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	CHECKS=$((CHECKS + 1))
	if ! "$@"; then
		echo "FAIL: $desc"
		FAILED=$((FAILED + 1))
	fi
}

# start_server CHAIN KEY: sets PORT and LAST_PID (also added to PIDS).  Not
# for use in a subshell: PIDS must reach the cleanup trap.
NSRV=0
start_server() {
	NSRV=$((NSRV + 1))
	out="$TMP/srv$NSRV.out"
	"$TLS_SERVER" --cert "$1" --key "$2" --timeout 120 >"$out" 2>"$TMP/srv$NSRV.err" &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
	i=0
	while [ $i -lt 100 ]; do
		PORT=$(head -n 1 "$out" 2>/dev/null)
		case $PORT in
		'' | *[!0-9]*) ;;
		*) return 0 ;;
		esac
		sleep 0.05
		i=$((i + 1))
	done
	echo "tls_server did not start" >&2
	return 1
}

spki_pin() {
	printf 'sha256/%s' "$(openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -binary | openssl base64 -A)"
}

cat >"$TMP/policy.json" <<EOF
{"schema": 1, "hosts": [{"host": "api.certpin.test", "expires": "2099-01-01",
  "pins": ["$(spki_pin "$PKI/leaf.key")", "$(spki_pin "$PKI/selfsigned-other.key")"]}]}
EOF

HOSTS=$TMP/hosts.txt
printf '# certpin monitor integration test\n' >"$HOSTS"
good=0
while [ $good -lt 16 ]; do
	start_server "$PKI/chain.pem" "$PKI/leaf.key" || exit 2
	printf '127.0.0.1:%s api.certpin.test\n' "$PORT" >>"$HOSTS"
	good=$((good + 1))
done
start_server "$PKI/backup-chain.pem" "$PKI/backup.key" || exit 2
MISMATCH=$PORT
start_server "$PKI/rogue-chain.pem" "$PKI/rogue-leaf.key" || exit 2
ROGUE=$PORT
# A port that was just closed: start a server, stop it.
start_server "$PKI/chain.pem" "$PKI/leaf.key" || exit 2
DEAD=$PORT
kill "$LAST_PID" 2>/dev/null
wait "$LAST_PID" 2>/dev/null
# A TCP listener that never answers the TLS handshake.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(60)
' >"$TMP/hang.out" &
PIDS="$PIDS $!"
i=0
HANG=
while [ $i -lt 100 ] && [ -z "$HANG" ]; do
	HANG=$(head -n 1 "$TMP/hang.out" 2>/dev/null)
	sleep 0.05
	i=$((i + 1))
done
[ -n "$HANG" ] || { echo "hang listener did not start"; exit 2; }

{
	printf '127.0.0.1:%s api.certpin.test   # serves the backup key\n' "$MISMATCH"
	printf '127.0.0.1:%s api.certpin.test   # untrusted CA\n' "$ROGUE"
	printf '127.0.0.1:%s api.certpin.test   # closed\n' "$DEAD"
	printf '127.0.0.1:%s api.certpin.test   # never speaks TLS\n' "$HANG"
} >>"$HOSTS"

# ---- run 1: default pool, JSON lines, fresh state ---------------------------------
"$CERTPIN" monitor "$HOSTS" --policy "$TMP/policy.json" --cafile "$PKI/trust.pem" --timeout 2 \
	--state "$TMP/state.json" --json >"$TMP/run1.out" 2>"$TMP/run1.err"
rc=$?
check "run 1 exits 1 (a pin failure outranks connection failures), got $rc" [ "$rc" -eq 1 ]
check "run 1 prints 21 JSON lines" [ "$(wc -l <"$TMP/run1.out")" -eq 21 ]
python3 - "$TMP/run1.out" "$MISMATCH" "$ROGUE" "$DEAD" "$HANG" >"$TMP/py1.out" 2>&1 <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
mismatch, rogue, dead, hang = (int(p) for p in sys.argv[2:6])
hosts, summary = lines[:-1], lines[-1]
assert [h["line"] for h in hosts] == list(range(2, 22)), "not in file order"
good = hosts[:16]
for h in good:
    assert h["status"] == "ok" and h["verdict"] == "match" and h["depth"] == 0, h
    assert len(h["chain"]) == 3 and h["chain_change"] == "new", h
    assert h["leaf_days_left"] is not None and h["pinset_days_left"] > 1000, h
m, r, d, g = hosts[16:]
assert m["port"] == mismatch and m["status"] == "pin-failure" and m["verdict"] == "mismatch", m
assert m["result"] == "pin-mismatch" and len(m["chain"]) == 3, m
assert r["port"] == rogue and r["status"] == "connection-failure" and "verification" in r["error"], r
assert d["port"] == dead and d["status"] == "connection-failure" and "refused" in d["error"], d
assert g["port"] == hang and g["status"] == "connection-failure" and "timed out" in g["error"], g
assert summary == {**summary, "type": "summary", "hosts": 20, "ok": 16, "pin_failures": 1,
                   "connection_failures": 3, "exit_code": 1}, summary
print("ok")
EOF
check "run 1 JSON content: $(tail -n 3 "$TMP/py1.out")" grep -qx ok "$TMP/py1.out"
check "state file written" test -s "$TMP/state.json"

# ---- run 2: one worker, text; same verdicts, chains now unchanged --------------------
"$CERTPIN" monitor "$HOSTS" --policy "$TMP/policy.json" --cafile "$PKI/trust.pem" --timeout 2 \
	--state "$TMP/state.json" --concurrency 1 >"$TMP/run2.out" 2>"$TMP/run2.err"
rc=$?
check "run 2 exits 1, got $rc" [ "$rc" -eq 1 ]
check "run 2: 16 OK lines" [ "$(grep -c '^OK    ' "$TMP/run2.out")" -eq 16 ]
check "run 2: one FAIL line for the backup key" grep -q "^FAIL  127.0.0.1:$MISMATCH (api.certpin.test): PIN MISMATCH" "$TMP/run2.out"
check "run 2: chains unchanged" [ "$(grep -c 'chain unchanged' "$TMP/run2.out")" -eq 17 ]
check "run 2: summary" grep -q '^monitor: 20 endpoints: 16 ok, 0 warnings, 1 pin failure, 3 connection failures' "$TMP/run2.out"
check "run 2: no progress output when stderr is not a terminal" [ ! -s "$TMP/run2.err" ]

# ---- run 3: the state remembers another certificate (same key) and another key ------
FIRST=$(sed -n 2p "$HOSTS" | cut -d' ' -f1)
SECOND=$(sed -n 3p "$HOSTS" | cut -d' ' -f1)
python3 - "$TMP/state.json" "$FIRST api.certpin.test" "$SECOND api.certpin.test" <<'EOF'
import json, sys
path, first, second = sys.argv[1:4]
st = json.load(open(path))
st["hosts"][first]["chain"][0]["cert"] = "cert-sha256/" + "A" * 43 + "="
st["hosts"][second]["chain"][0]["spki"] = "sha256/" + "B" * 43 + "="
json.dump(st, open(path, "w"))
EOF
"$CERTPIN" monitor "$HOSTS" --policy "$TMP/policy.json" --cafile "$PKI/trust.pem" --timeout 2 \
	--state "$TMP/state.json" >"$TMP/run3.out" 2>"$TMP/run3.err"
check "run 3: renewed certificate detected" grep -q "^OK    $FIRST (api.certpin.test): .*chain changed (leaf (depth 0): new certificate, same key)" "$TMP/run3.out"
check "run 3: new key detected" grep -q "^OK    $SECOND (api.certpin.test): .*chain changed (leaf (depth 0): new key)" "$TMP/run3.out"
check "run 3: others unchanged" [ "$(grep -c 'chain unchanged' "$TMP/run3.out")" -eq 15 ]

# ---- run 4: the state was updated by run 3 -------------------------------------------
"$CERTPIN" monitor "$HOSTS" --policy "$TMP/policy.json" --cafile "$PKI/trust.pem" --timeout 2 \
	--state "$TMP/state.json" --json >"$TMP/run4.out" 2>&1
check "run 4: every chain seen unchanged after the update" \
	[ "$(grep -c '"chain_change":"unchanged"' "$TMP/run4.out")" -eq 17 ]

# ---- negative: a policy that pins nothing served makes every reachable endpoint fail ---
cat >"$TMP/other.json" <<EOF
{"schema": 1, "hosts": [{"host": "api.certpin.test",
  "pins": ["$(spki_pin "$PKI/rogue-leaf.key")", "$(spki_pin "$PKI/selfsigned-other.key")"]}]}
EOF
head -n 17 "$HOSTS" >"$TMP/good.txt"
"$CERTPIN" monitor "$TMP/good.txt" --policy "$TMP/other.json" --cafile "$PKI/trust.pem" --timeout 2 \
	--concurrency 4 >"$TMP/run5.out" 2>&1
rc=$?
check "unpinned keys: exit 1, got $rc" [ "$rc" -eq 1 ]
check "unpinned keys: 16 FAIL lines" [ "$(grep -c '^FAIL  ' "$TMP/run5.out")" -eq 16 ]
check "unpinned keys: no OK line" [ "$(grep -c '^OK ' "$TMP/run5.out")" -eq 0 ]

# ---- check and monitor: one exit status per verdict (would a pinning client connect?) --
# agree DESCRIPTION EXPECTED PORT POLICY: "certpin check" and "certpin monitor" on the
# one endpoint 127.0.0.1:PORT (api.certpin.test) with POLICY both exit EXPECTED.
agree() {
	printf '%s\n' "$4" >"$TMP/agree.json"
	printf '127.0.0.1:%s api.certpin.test\n' "$3" >"$TMP/agree.txt"
	"$CERTPIN" check "127.0.0.1:$3" --servername api.certpin.test --policy "$TMP/agree.json" \
		--cafile "$PKI/trust.pem" >"$TMP/agree-check.out" 2>&1
	c=$?
	"$CERTPIN" monitor "$TMP/agree.txt" --policy "$TMP/agree.json" --cafile "$PKI/trust.pem" --timeout 2 \
		>"$TMP/agree-monitor.out" 2>&1
	m=$?
	check "$1: check exits $2, got $c" [ "$c" -eq "$2" ]
	check "$1: monitor exits $2, got $m" [ "$m" -eq "$2" ]
}
GOOD=$(sed -n 2p "$HOSTS" | cut -d' ' -f1 | cut -d: -f2)
LEAF=$(spki_pin "$PKI/leaf.key")
BACKUP=$(spki_pin "$PKI/backup.key")
rule() { # rule EXTRA PIN...: a policy with one api.certpin.test rule
	extra=$1
	shift
	pins=$(printf '"%s", ' "$@")
	printf '{"schema": 1, "hosts": [{"host": "api.certpin.test", %s"pins": [%s]}]}' "$extra" "${pins%, }"
}
agree "match" 0 "$GOOD" "$(rule '' "$LEAF" "$BACKUP")"
agree "not pinned" 0 "$GOOD" '{"schema": 1, "hosts": []}'
agree "report-only mismatch" 0 "$GOOD" "$(rule '"mode": "report-only", ' "$BACKUP")"
agree "enforced mismatch" 1 "$GOOD" "$(rule '' "$BACKUP")"
agree "expired pinset, fail-open" 0 "$GOOD" "$(rule '"expires": "2020-01-01", "on_expiry": "fail-open", ' "$BACKUP")"
agree "expired pinset, fail-closed" 1 "$GOOD" "$(rule '"expires": "2020-01-01", "on_expiry": "fail-closed", ' "$LEAF" "$BACKUP")"
agree "expired pinset, fail-closed, report-only" 0 "$GOOD" \
	"$(rule '"mode": "report-only", "expires": "2020-01-01", "on_expiry": "fail-closed", ' "$BACKUP")"
agree "untrusted CA (PKIX)" 2 "$ROGUE" "$(rule '' "$LEAF" "$BACKUP")"
agree "closed port" 2 "$DEAD" "$(rule '' "$LEAF" "$BACKUP")"

# Many endpoints: the worst status wins, internal error (4) > refused (1) > connection (2) > 0;
# a report-only mismatch counts as allowed.
rule '"mode": "report-only", ' "$BACKUP" >"$TMP/ro.json"
{
	printf '127.0.0.1:%s api.certpin.test\n' "$GOOD"
	printf '127.0.0.1:%s api.certpin.test\n' "$DEAD"
} >"$TMP/ro-dead.txt"
"$CERTPIN" monitor "$TMP/ro-dead.txt" --policy "$TMP/ro.json" --cafile "$PKI/trust.pem" --timeout 2 \
	>"$TMP/run6.out" 2>&1
rc=$?
check "report-only mismatch and a closed port: exit 2, got $rc" [ "$rc" -eq 2 ]
check "report-only mismatch still shown" grep -q "^FAIL  127.0.0.1:$GOOD (api.certpin.test): PIN MISMATCH (rule api.certpin.test, report-only)" "$TMP/run6.out"

if [ "$FAILED" -ne 0 ]; then
	echo "monitor_test: $FAILED of $CHECKS checks failed"
	for f in run1.out run1.err run2.out run3.out run5.out run6.out agree-check.out agree-monitor.out py1.out; do
		echo "--- $f"
		head -n 40 "$TMP/$f"
	done
	exit 1
fi
echo "monitor_test: $CHECKS checks passed"
exit 0
