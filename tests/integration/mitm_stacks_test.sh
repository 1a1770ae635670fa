#!/bin/sh
# mitm_stacks_test.sh - "certpin mitm" scores the example client of every TLS stack.
#
#   mitm_stacks_test.sh [--markdown]
#
# For each stack in STACKS whose example client this build has (examples/S_client.c,
# built as example_S_client; a missing one is reported as skipped), the whole
# attack catalog of "certpin mitm" is presented on 127.0.0.1 to that client,
# which connects to 127.0.0.1 and verifies the host name HOST, trusting the
# test root and the harness's rogue CA, with a policy that pins the keys of
# the control chain (certpin pin of the test PKI's chain.pem).  The client is
# run once per connection, each run under a timeout, until every scheduled
# attempt is scored (at most MAX_RUNS runs); the harness is bounded by
# --timeout and --max-attempts and stopped by its PID if it outlives the runs.
# Every client here checks inside the handshake, so a completed handshake
# counts as accepted (--accept-on handshake: a client that checked only
# afterwards would be scored as accepting, never the other way round).
#
# Passes when, for every stack that ran: the harness exits 0 (conclusive,
# pass), the control is accepted, every attack of the catalog is presented and
# refused, and each client's own exit status agrees with the harness's verdict
# for its connection.  Prints a row per stack; with --markdown, the table of
# README.md's "libcurl and other TLS stacks" instead (diagnostics on stderr).
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI (tests/data/mkpki.sh
# output), CERTPIN_EXAMPLES (the directory of the example_*_client binaries;
# default: that of CERTPIN).  The README table, from a build directory B:
#   ctest --test-dir B -R pki_setup
#   CERTPIN=B/certpin CERTPIN_TEST_PKI=B/tests/pki sh tests/integration/mitm_stacks_test.sh --markdown
set -u

# One stack per line: name, how the README calls it.  A new example client taking
# HOST PORT POLICY.json CAFILE ADDRESS is a new line here.
STACKS='openssl OpenSSL
curl libcurl (OpenSSL)
mbedtls mbedTLS
gnutls GnuTLS
wolfssl wolfSSL'

MARKDOWN=0
case ${1:-} in
--markdown) MARKDOWN=1 ;;
"") ;;
*)
	echo "usage: $0 [--markdown]" >&2
	exit 2
	;;
esac
: "${CERTPIN:?CERTPIN must name the certpin binary}"
: "${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI directory}"
case $CERTPIN in /*) ;; *) CERTPIN=$(pwd)/$CERTPIN ;; esac
EXAMPLES=${CERTPIN_EXAMPLES:-$(dirname "$CERTPIN")}
PKI=$CERTPIN_TEST_PKI
# Four labels, under the control certificate's *.wild.certpin.test, so that
# wildcard-too-deep is a real test: its *.certpin.test would have to match two labels.
HOST=mitm.wild.certpin.test
MAX_RUNS=24
for tool in python3 timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "mitm_stacks_test: $tool is required (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-mitm-stacks.XXXXXX") || exit 1
HPID=
cleanup() {
	if [ -n "$HPID" ]; then
		kill "$HPID" 2>/dev/null
		wait "$HPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

failed=0
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}

# The policy: every key of the control chain pinned for HOST.
POLICY=$TMP/policy.json
if ! "$CERTPIN" pin --json "$PKI/chain.pem" >"$TMP/pins.json" ||
	! python3 - "$HOST" "$TMP/pins.json" >"$POLICY" <<'EOF'; then
import json, sys
pins = [p["spki_pin"] for p in json.load(open(sys.argv[2]))]
assert pins
print(json.dumps({"schema": 1, "hosts": [{"host": sys.argv[1], "pins": pins}]}))
EOF
	echo "mitm_stacks_test: cannot make the policy from $PKI/chain.pem" >&2
	exit 1
fi
# The catalog's attacks (the control excluded): every one must be presented.
CATALOG=$("$CERTPIN" mitm --list-attacks | awk '$1 != "control" { n++ } END { print n + 0 }')
if [ "$CATALOG" -lt 1 ]; then
	echo "mitm_stacks_test: certpin mitm --list-attacks listed no attack" >&2
	exit 1
fi

# client STACK PORT BUNDLE: one connection of the stack's example to 127.0.0.1 as HOST.
client() {
	case $1 in
	curl) timeout 20 "$EXAMPLES/example_curl_client" "https://$HOST:$2/" "$POLICY" "$3" "::127.0.0.1:" ;;
	*) timeout 20 "$EXAMPLES/example_$1_client" "$HOST" "$2" "$POLICY" "$3" 127.0.0.1 ;;
	esac
}

# progress_count ERR [scored]: connections the harness has logged (only the scored ones).
progress_count() {
	if [ "${2:-}" = scored ]; then
		grep -cE '^certpin: mitm: #[0-9]+ [a-z-]+ from [^ ]+: (accepted|ACCEPTED|refused|REFUSED): ' "$1"
	else
		grep -cE '^certpin: mitm: #[0-9]+ ' "$1"
	fi
}

# run_stack STACK: the whole catalog against the stack's example; appends a row to $TMP/rows.
run_stack() {
	s=$1
	R=$TMP/$s
	D=$R/dir
	mkdir -p "$R"
	"$CERTPIN" mitm --host "$HOST" --dir "$D" --port-file "$R/port" --timeout 60 --max-attempts "$MAX_RUNS" \
		--accept-on handshake --control-cert "$PKI/chain.pem" --control-key "$PKI/leaf.key" \
		>"$R/out" 2>"$R/err" &
	HPID=$!
	i=0
	while [ ! -s "$R/port" ] && kill -0 "$HPID" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -s "$R/port" ]; then
		fail "$s: harness did not start"
		sed 's/^/  | /' "$R/err" >&2
		return
	fi
	port=$(cat "$R/port")
	scheduled=$(sed -n 's/.* \([0-9][0-9]*\) attempts scheduled.*/\1/p' "$R/err")
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$R/bundle.pem"

	# One client run per connection, until every scheduled attempt has a verdict.
	rcs=
	runs=0
	while [ "$runs" -lt "$MAX_RUNS" ] && [ "$(progress_count "$R/err" scored)" -lt "${scheduled:-1}" ] &&
		kill -0 "$HPID" 2>/dev/null; do
		client "$s" "$port" "$R/bundle.pem" >>"$R/client.out" 2>&1
		rcs="$rcs $?"
		runs=$((runs + 1))
		# Wait (bounded) for the harness to log this connection.
		i=0
		while [ "$(progress_count "$R/err")" -lt "$runs" ] && kill -0 "$HPID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	# The harness exits by itself once every attempt is scored; else it is stopped.
	i=0
	while kill -0 "$HPID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$HPID" 2>/dev/null; then
		fail "$s: harness still running after $runs client runs; stopped"
		kill "$HPID" 2>/dev/null
	fi
	wait "$HPID"
	hrc=$?
	HPID=
	if [ ! -s "$D/report.json" ]; then
		fail "$s: no report.json (harness exit $hrc)"
		sed 's/^/  | /' "$R/err" >&2
		return
	fi

	# The verdicts, and the client's own outcomes against them.
	if ! python3 - "$D/report.json" "$CATALOG" "${rcs# }" "$s" >>"$TMP/rows" 2>"$R/check" <<'EOF'; then
import json, sys
r = json.load(open(sys.argv[1]))
catalog, rcs, stack = int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
attacks = [a for a in r["attacks"] if a["name"] != "control"]
presented = sum(1 for a in attacks if a["attempts"] > 0)
refused = sum(1 for a in attacks if a["verdict"] == "refused")
accepted = sum(1 for a in attacks if a["verdict"].lower() == "accepted")
control = r["summary"]["control"]
print(stack, presented, refused, accepted, control)
bad = []
for a in attacks:
    if a["verdict"] != "refused":
        why = a["skip_reason"] or a["note"]
        bad.append("%s: %s%s" % (a["name"], a["verdict"], " (%s)" % why if why else ""))
if presented != catalog:
    bad.append("%d of the catalog's %d attacks presented" % (presented, catalog))
if control != "accepted":
    bad.append("control %s" % control)
if r["summary"]["result"] != "pass":
    bad.append("result %s (%s)" % (r["summary"]["result"], r["summary"]["inconclusive_reason"]))
verdicts = [t["verdict"] for t in r["attempts"]]
if len(rcs) != len(verdicts):
    bad.append("%d client runs for %d connections" % (len(rcs), len(verdicts)))
else:
    for t, rc in zip(r["attempts"], rcs):
        if (rc == "0") != (t["verdict"] == "accepted"):
            bad.append("#%d %s: client exit %s, harness verdict %s" % (t["n"], t["attack"], rc, t["verdict"]))
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
		fail "$s: $(tr '\n' ';' <"$R/check")"
		sed 's/^/  | /' "$R/out" "$R/client.out" >&2
	fi
	[ "$hrc" -eq 0 ] || fail "$s: harness exit $hrc, want 0"
}

ran=0
echo "$STACKS" >"$TMP/stacks"
while read -r s name; do
	if [ -x "$EXAMPLES/example_${s}_client" ]; then
		run_stack "$s" </dev/null
		ran=$((ran + 1))
	else
		echo "$s skipped" >>"$TMP/rows"
	fi
done <"$TMP/stacks"
[ "$ran" -gt 0 ] || fail "no example client found in $EXAMPLES"

# The table, from the rows "STACK PRESENTED REFUSED ACCEPTED CONTROL" or "STACK skipped".
if [ "$MARKDOWN" -eq 1 ]; then
	echo "| stack | example | attacks refused | control accepted |"
	echo "| --- | --- | --- | --- |"
else
	printf '%-8s %-26s %9s %8s %9s  %s\n' stack example presented refused accepted control
fi
touch "$TMP/rows"
while read -r s presented refused accepted control; do
	name=$(echo "$STACKS" | sed -n "s/^$s //p")
	example=examples/${s}_client.c
	if [ "$presented" = skipped ]; then
		if [ "$MARKDOWN" -eq 1 ]; then
			echo "mitm_stacks_test: $s skipped: example_${s}_client not built" >&2
		else
			printf '%-8s %-26s skipped: example_%s_client not built\n' "$s" "$example" "$s"
		fi
	elif [ "$MARKDOWN" -eq 1 ]; then
		[ "$control" = accepted ] && control=yes || control="no ($control)"
		echo "| $name | [$example]($example) | $refused/$presented | $control |"
	else
		printf '%-8s %-26s %9s %8s %9s  %s\n' "$s" "$example" "$presented" "$refused" "$accepted" "$control"
	fi
done <"$TMP/rows"

[ "$MARKDOWN" -eq 1 ] || echo "mitm_stacks_test: $ran stacks run, $failed failures"
[ "$failed" -eq 0 ]
