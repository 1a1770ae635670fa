#!/bin/sh
# mitm_test.sh - "certpin mitm" end to end, driven by real clients on 127.0.0.1.
#
#   1. certpin check pinned to the real leaf: every attack refused inside the
#      handshake, control accepted; scored on application data instead, the
#      same client (which sends none) makes the run inconclusive
#   2. curl trusting the rogue CA: rogue-ca and chain-injection accepted
#   3. openssl s_client trusting the rogue CA, no host-name check: four accepted
#   4. curl --pinnedpubkey with the leaf pin: every attack refused, the rogue
#      chains only after the handshake; pinned to the intermediate, curl
#      refuses the control too (it checks the leaf only) where certpin accepts
#   5. the generated certificates checked with the openssl CLI; nothing written
#      outside --dir; the rogue CA reused by a second run
#   6. the HTML report: well-formed XML, self-contained, consistent with the
#      JSON; rendered by headless chromium when it is installed (required
#      when CERTPIN_REQUIRE_BROWSER=1, as "make test" sets it)
#   7. robustness: empty connections, garbage, a truncated ClientHello, a
#      client that leaves mid-handshake, 50 idle connections, a hostile SNI;
#      --max-attempts; SIGTERM and SIGINT write the reports and exit cleanly
#   8. what must not pass: a run stopped before every attack was scored; a
#      handshake the harness itself could not complete (no shared cipher, no
#      signature algorithm); a ClientHello followed by a close without an
#      alert; no control case (unless --insecure-no-control); a missing or
#      wrong SNI; and the notes on a rogue CA the client does not trust and
#      on a single-label wildcard
#   9. --real-chain: chain-injection sends the rogue leaf, then that file
#
# Every client's own outcome is compared with the harness's verdict.
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI (tests/data/mkpki.sh output),
# CERTPIN_REQUIRE_BROWSER=1 to fail instead of skipping when chromium is missing.
set -u

: "${CERTPIN:?CERTPIN must name the certpin binary}"
: "${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI directory}"
case $CERTPIN in /*) ;; *) CERTPIN=$(pwd)/$CERTPIN ;; esac
PKI=$CERTPIN_TEST_PKI
HOST=api.certpin.test
for tool in openssl curl python3 timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "mitm_test: $tool is required (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-mitm.XXXXXX") || exit 1
HPID=
CPID=
cleanup() {
	for p in $HPID $CPID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	echo "FAIL: $*" >&2
}
expect_eq() { # LABEL GOT WANT
	if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi
}
expect_grep() { # LABEL FILE FIXED-STRING
	if grep -qF -e "$3" "$2"; then ok; else fail "$1: '$3' not in $2"; sed 's/^/  | /' "$2" >&2; fi
}

pin_of() { grep "^$1 " "$PKI/pins.txt" | cut -d' ' -f2; }
LEAF_PIN=$(pin_of leaf)
BACKUP_PIN=$(pin_of backup)
INTER_PIN=$(pin_of inter)

# ---- the harness ---------------------------------------------------------------
# start NAME DIR ARGS...: run the harness with --dir DIR (default $TMP/NAME/dir)
# in $TMP/NAME/cwd, to see that it writes nothing there; sets PORT, D, R, OUT, ERR.
# --max-attempts 100 and --io-timeout 4000 unless ARGS set them (an option may be given once).
start() {
	name=$1
	R=$TMP/$name
	D=${2:-$R/dir}
	shift 2
	OUT=$R/out
	ERR=$R/err
	mkdir -p "$R/cwd"
	defaults=
	case " $* " in *" --max-attempts "*) ;; *) defaults="--max-attempts 100" ;; esac
	case " $* " in *" --io-timeout "*) ;; *) defaults="$defaults --io-timeout 4000" ;; esac
	# shellcheck disable=SC2086
	(cd "$R/cwd" && exec "$CERTPIN" mitm --host "$HOST" --dir "$D" --port-file "$R/port" --timeout 120 \
		$defaults "$@") >"$OUT" 2>"$ERR" &
	HPID=$!
	PORT=
	i=0
	while [ $i -lt 200 ]; do
		if [ -s "$R/port" ]; then
			PORT=$(cat "$R/port")
			break
		fi
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$PORT" ]; then
		fail "$name: harness did not start"
		sed 's/^/  | /' "$ERR" >&2
		return 1
	fi
	return 0
}

# finish [SECONDS]: wait (bounded) for the harness to exit by itself; sets HRC.
finish() {
	i=0
	while kill -0 "$HPID" 2>/dev/null && [ $i -lt $((${1:-30} * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$HPID" 2>/dev/null; then
		fail "$name: harness still running after ${1:-30} s"
		kill "$HPID" 2>/dev/null
	fi
	wait "$HPID"
	HRC=$?
	HPID=
}

# Scorecard and per-attempt facts from DIR/report.json.
scorecard() {
	python3 - "$1/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join("%s:%s" % (a["name"], a["verdict"]) for a in r["attacks"] if a["selected"]))
EOF
}
attempt_field() { # DIR FIELD: the field of every attempt, space-separated
	python3 - "$1/report.json" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(str(t[sys.argv[2]]).lower() for t in r["attempts"]))
EOF
}
json_field() { # DIR PATH...: a value from report.json
	python3 - "$1/report.json" "$@" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[3:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(str(v).lower() if isinstance(v, bool) else v)
EOF
}

# Each client's own success (0) must match the harness's verdict for its attempt.
agree() { # LABEL DIR "RC RC ..."
	verdicts=$(attempt_field "$2" verdict)
	mine=
	for rc in $3; do
		if [ "$rc" -eq 0 ]; then mine="$mine accepted"; else mine="$mine refused"; fi
	done
	expect_eq "$1: client outcomes vs harness verdicts" "${mine# }" "$verdicts"
}

POLICY=$TMP/policy.json
printf '{"schema": 1, "hosts": [{"host": "%s", "pins": ["%s", "%s"]}]}\n' "$HOST" "$LEAF_PIN" "$BACKUP_PIN" >"$POLICY"
INTER_POLICY=$TMP/inter-policy.json
printf '{"schema": 1, "hosts": [{"host": "%s", "pins": [{"pin": "%s", "position": "intermediate"}]}]}\n' \
	"$HOST" "$INTER_PIN" >"$INTER_POLICY"
CONTROL="--control-cert $PKI/chain.pem --control-key $PKI/leaf.key"
ALL8="1 2 3 4 5 6 7 8"

curl_once() { # PORT CAFILE [curl options]
	_port=$1
	_ca=$2
	shift 2
	curl -sS -o /dev/null --max-time 20 --cacert "$_ca" --resolve "$HOST:$_port:127.0.0.1" "$@" \
		"https://$HOST:$_port/" 2>>"$R/client.err"
}

# ---- 1. certpin's own pinned client ------------------------------------------------------
# shellcheck disable=SC2086
if start certpin "$TMP/shared-dir" --accept-on handshake $CONTROL; then
	BUNDLE=$TMP/bundle.pem
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$BUNDLE"
	rcs=
	for i in $ALL8; do
		"$CERTPIN" check "127.0.0.1:$PORT" --servername "$HOST" --policy "$POLICY" --cafile "$BUNDLE" \
			>/dev/null 2>>"$R/client.err"
		rcs="$rcs $?"
	done
	finish
	expect_eq "certpin: harness exit" "$HRC" 0
	expect_eq "certpin: check exit codes" "${rcs# }" "0 2 1 1 2 2 2 2"
	expect_eq "certpin: scorecard" "$(scorecard "$D")" \
		"control:accepted self-signed:refused rogue-ca:refused chain-injection:refused expired:refused wrong-host:refused wildcard-too-deep:refused weak-key:refused"
	expect_eq "certpin: refused inside the handshake" "$(attempt_field "$D" stage)" \
		"handshake handshake handshake handshake handshake handshake handshake handshake"
	expect_grep "certpin: rate" "$OUT" "MITM test failure rate: 0/7 attack attempts accepted (0.0%)"
	expect_grep "certpin: result" "$OUT" "result: pass: every attack was refused"
	expect_eq "certpin: pin mismatch alert" "$(json_field "$D" attempts 2 alert)" "handshake failure"
	expect_eq "certpin: expired alert" "$(json_field "$D" attempts 4 alert)" "certificate expired"
	agree certpin "$D" "${rcs# }"
fi

# Scored on application data, certpin check (which sends none) fails the control: inconclusive.
# shellcheck disable=SC2086
if start certpin-data "$TMP/shared-dir" --attack control,rogue-ca $CONTROL; then
	for i in 1 2; do
		"$CERTPIN" check "127.0.0.1:$PORT" --servername "$HOST" --policy "$POLICY" --cafile "$TMP/bundle.pem" \
			>/dev/null 2>>"$R/client.err"
	done
	finish
	expect_eq "certpin-data: harness exit (inconclusive)" "$HRC" 2
	expect_eq "certpin-data: scorecard" "$(scorecard "$D")" "control:REFUSED rogue-ca:refused"
	expect_grep "certpin-data: control" "$OUT" "control: REFUSED"
	expect_grep "certpin-data: result" "$OUT" "result: INCONCLUSIVE"
	expect_eq "certpin-data: conclusive" "$(json_field "$D" summary conclusive)" false
fi

# ---- 2. naive client: curl trusting the rogue CA -----------------------------------------------
# shellcheck disable=SC2086
if start curl-naive "$TMP/shared-dir" $CONTROL; then
	rcs=
	for i in $ALL8; do
		curl_once "$PORT" "$TMP/bundle.pem"
		rcs="$rcs $?"
	done
	finish
	expect_eq "curl-naive: harness exit" "$HRC" 1
	expect_eq "curl-naive: scorecard" "$(scorecard "$D")" \
		"control:accepted self-signed:refused rogue-ca:ACCEPTED chain-injection:ACCEPTED expired:refused wrong-host:refused wildcard-too-deep:refused weak-key:refused"
	expect_grep "curl-naive: rate" "$OUT" "MITM test failure rate: 2/7 attack attempts accepted (28.6%)"
	expect_grep "curl-naive: result" "$OUT" "result: FAIL: the client accepted an interception"
	expect_eq "curl-naive: sent an HTTP request" "$(json_field "$D" attempts 2 app_data_excerpt | cut -c1-6)" "GET / "
	agree curl-naive "$D" "${rcs# }"
	expect_eq "curl-naive: nothing written in the working directory" "$(ls -A "$R/cwd")" ""
fi

# ---- 3. naive client: openssl s_client without a host-name check ------------------------------------
# shellcheck disable=SC2086
if start s-client "" $CONTROL; then
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$R/bundle.pem"
	rcs=
	for i in $ALL8; do
		printf 'hello\n' | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername "$HOST" \
			-CAfile "$R/bundle.pem" -verify_return_error -quiet -no_ign_eof >/dev/null 2>>"$R/client.err"
		rcs="$rcs $?"
	done
	finish
	expect_eq "s_client: harness exit" "$HRC" 1
	expect_eq "s_client: scorecard" "$(scorecard "$D")" \
		"control:accepted self-signed:refused rogue-ca:ACCEPTED chain-injection:ACCEPTED expired:refused wrong-host:ACCEPTED wildcard-too-deep:ACCEPTED weak-key:refused"
	expect_grep "s_client: rate" "$OUT" "MITM test failure rate: 4/7 attack attempts accepted (57.1%)"
	expect_eq "s_client: weak key refused with" "$(json_field "$D" attempts 7 alert)" "bad certificate"
	agree s_client "$D" "${rcs# }"
fi

# ---- 4. curl --pinnedpubkey ------------------------------------------------------------------------
# shellcheck disable=SC2086
if start curl-pinned "$TMP/shared-dir" $CONTROL; then
	rcs=
	for i in $ALL8; do
		curl_once "$PORT" "$TMP/bundle.pem" --pinnedpubkey "sha256//${LEAF_PIN#sha256/}"
		rcs="$rcs $?"
	done
	finish
	expect_eq "curl-pinned: harness exit" "$HRC" 0
	expect_eq "curl-pinned: scorecard" "$(scorecard "$D")" \
		"control:accepted self-signed:refused rogue-ca:refused chain-injection:refused expired:refused wrong-host:refused wildcard-too-deep:refused weak-key:refused"
	expect_grep "curl-pinned: rate" "$OUT" "MITM test failure rate: 0/7 attack attempts accepted (0.0%)"
	# curl compares the pin after the handshake, and with the leaf only.
	expect_eq "curl-pinned: rogue chains refused after the handshake" \
		"$(json_field "$D" attempts 2 stage) $(json_field "$D" attempts 3 stage)" "after-handshake after-handshake"
	expect_eq "curl-pinned: exit code for the injected chain" "$(echo "$rcs" | cut -d' ' -f5)" 90
	agree curl-pinned "$D" "${rcs# }"
fi

# Leaf-only: pinned to the intermediate, curl refuses even the control; certpin accepts it.
# shellcheck disable=SC2086
if start curl-inter "$TMP/shared-dir" $CONTROL --attack control,chain-injection; then
	rcs=
	for i in 1 2; do
		curl_once "$PORT" "$TMP/bundle.pem" --pinnedpubkey "sha256//${INTER_PIN#sha256/}"
		rcs="$rcs $?"
	done
	finish
	expect_eq "curl-inter: harness exit (inconclusive)" "$HRC" 2
	expect_eq "curl-inter: scorecard" "$(scorecard "$D")" "control:REFUSED chain-injection:refused"
	agree curl-inter "$D" "${rcs# }"
fi
# shellcheck disable=SC2086
if start certpin-inter "$TMP/shared-dir" $CONTROL --attack control,chain-injection --accept-on handshake; then
	rcs=
	for i in 1 2; do
		"$CERTPIN" check "127.0.0.1:$PORT" --servername "$HOST" --policy "$INTER_POLICY" \
			--cafile "$TMP/bundle.pem" >/dev/null 2>>"$R/client.err"
		rcs="$rcs $?"
	done
	finish
	expect_eq "certpin-inter: harness exit" "$HRC" 0
	expect_eq "certpin-inter: scorecard" "$(scorecard "$D")" "control:accepted chain-injection:refused"
	expect_eq "certpin-inter: check exit codes" "${rcs# }" "0 1"
fi

# ---- 5. the generated certificates --------------------------------------------------------------------
# A full run's directory holds exactly the rogue CA, one key and chain per attack and the reports.
S=$TMP/s-client/dir
expect_eq "files in --dir" "$(cd "$S" && ls | tr '\n' ' ')" \
	"attack-chain-injection.key attack-chain-injection.pem attack-expired.key attack-expired.pem attack-rogue-ca.key attack-rogue-ca.pem attack-self-signed.key attack-self-signed.pem attack-weak-key.key attack-weak-key.pem attack-wildcard-too-deep.key attack-wildcard-too-deep.pem attack-wrong-host.key attack-wrong-host.pem report.html report.json rogue-ca.key rogue-ca.pem "
for f in "$S"/*.key; do
	expect_eq "mode of $(basename "$f")" "$(stat -c %a "$f")" 600
done
expect_eq "dir mode" "$(stat -c %a "$S")" 700
expect_eq "s_client: nothing written in the working directory" "$(ls -A "$TMP/s-client/cwd")" ""
# The rogue CA is made once per directory and reused; a run's attack files replace the last run's.
grep -qF "(new)" "$TMP/certpin/err" && ok || fail "first run on the shared directory did not make a rogue CA"
grep -qF "(reused)" "$TMP/curl-naive/err" && ok || fail "a later run did not reuse the rogue CA"
expect_eq "shared dir after a control,chain-injection run" "$(cd "$TMP/shared-dir" && ls attack-* | tr '\n' ' ')" \
	"attack-chain-injection.key attack-chain-injection.pem "

x509() { f=$1; shift; openssl x509 -in "$S/$f" -noout "$@" 2>/dev/null; }
sans() { x509 "$1" -ext subjectAltName | sed -n '2p' | tr -d ' '; }
openssl verify -CAfile "$S/rogue-ca.pem" "$S/attack-rogue-ca.pem" >/dev/null 2>&1 && ok ||
	fail "attack-rogue-ca.pem does not verify with the rogue CA"
expect_eq "rogue-ca SAN" "$(sans attack-rogue-ca.pem)" "DNS:$HOST"
openssl verify -CAfile "$S/rogue-ca.pem" "$S/attack-self-signed.pem" >/dev/null 2>&1 &&
	fail "attack-self-signed.pem verifies with the rogue CA" || ok
expect_eq "self-signed issuer = subject" "$(x509 attack-self-signed.pem -issuer | cut -d= -f2-)" \
	"$(x509 attack-self-signed.pem -subject | cut -d= -f2-)"
x509 attack-expired.pem -checkend 0 >/dev/null && fail "expired leaf is not expired" || ok
openssl verify -CAfile "$S/rogue-ca.pem" "$S/attack-expired.pem" 2>&1 | grep -q "certificate has expired" && ok ||
	fail "expired leaf: openssl verify does not report expiry"
expect_eq "expired SAN" "$(sans attack-expired.pem)" "DNS:$HOST"
x509 attack-weak-key.pem -text | grep -q "Public-Key: (1024 bit)" && ok || fail "weak-key leaf is not RSA-1024"
expect_eq "wrong-host SAN" "$(sans attack-wrong-host.pem)" "DNS:wrong-host.certpin-mitm.invalid"
x509 attack-wrong-host.pem -subject | grep -q "CN *= *$HOST" && ok || fail "wrong-host CN is not the host"
expect_eq "wildcard-too-deep SAN" "$(sans attack-wildcard-too-deep.pem)" "DNS:*.test"
openssl verify -CAfile "$S/rogue-ca.pem" -verify_hostname "$HOST" "$S/attack-wildcard-too-deep.pem" >/dev/null 2>&1 &&
	fail "openssl matches *.test to $HOST" || ok
# ... but a glob matcher does: the attack is meaningful.
expect_eq "fnmatch accepts the too-deep wildcard" \
	"$(python3 -c 'import fnmatch, sys; print(fnmatch.fnmatch(sys.argv[1], sys.argv[2]))' "$HOST" '*.test')" True
# chain-injection = the rogue-ca leaf, then the real chain exactly as given.
cat "$S/attack-rogue-ca.pem" "$PKI/chain.pem" >"$TMP/inject-want.pem"
expect_eq "chain-injection content" "$(cmp -s "$TMP/inject-want.pem" "$S/attack-chain-injection.pem" && echo same)" same
cmp -s "$S/attack-rogue-ca.key" "$S/attack-chain-injection.key" && ok || fail "chain-injection key is not the rogue-ca key"

# ---- 6. the HTML report ---------------------------------------------------------------------------
html_check() { # DIR: structure, self-containment, agreement with report.json
	python3 - "$1/report.html" "$1/report.json" <<'EOF'
import json, sys
from html.parser import HTMLParser
html = open(sys.argv[1], encoding="utf-8").read()
rep = json.load(open(sys.argv[2]))
VOID = {"meta", "br", "rect", "hr", "img", "input", "link"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tables, self.cur_table = [], [], {}, None
        self.row, self.cell, self.rects = None, None, []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "iframe", "object", "embed", "link", "img", "base", "form"):
            self.errors.append("forbidden element <%s>" % tag)
        for k, v in attrs:
            if k in ("src", "href", "xlink:href", "action", "srcset", "style") or k.startswith("on"):
                self.errors.append("forbidden attribute %s on <%s>" % (k, tag))
        if tag == "table":
            self.cur_table = a.get("id")
            self.tables[self.cur_table] = []
        elif tag == "tr" and self.cur_table:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "rect":
            self.rects.append(a.get("class"))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.cur_table].append(self.row)
            self.row = None
        elif tag == "table":
            self.cur_table = None
    def handle_data(self, d):
        if self.cell is not None:
            self.cell.append(d)
p = P()
p.feed(html)
p.close()
err = p.errors[:]
if p.stack:
    err.append("unclosed elements: %s" % p.stack)
for bad in ("url(", "@import", "http:", "https:", "//"):
    if bad in html.split("</style>")[0].split("<style>")[-1]:
        err.append("external reference in CSS: %s" % bad)
sel = [a for a in rep["attacks"] if a["selected"]]
rows = p.tables.get("scorecard", [])[1:]
if len(rows) != len(sel):
    err.append("scorecard rows %d, selected attacks %d" % (len(rows), len(sel)))
for row, a in zip(rows, sel):
    if not row[0].startswith(a["name"]):
        err.append("row %s is not attack %s" % (row[0][:30], a["name"]))
    if row[4] != a["verdict"] or row[2] != str(a["attempts"]) or row[3] != str(a["accepted"]):
        err.append("row %s: %s/%s/%s vs JSON %s/%s/%s" % (a["name"], row[2], row[3], row[4], a["attempts"], a["accepted"], a["verdict"]))
conns = p.tables.get("attempts", [])[1:]
if len(conns) != len(rep["attempts"]):
    err.append("connection rows %d, attempts %d" % (len(conns), len(rep["attempts"])))
bad_bars = sum(1 for a in sel if (a["refused"] if a["name"] == "control" else a["accepted"]) > 0)
if p.rects.count("bad") != bad_bars:
    err.append("red bars %d, want %d" % (p.rects.count("bad"), bad_bars))
if "<svg" not in html:
    err.append("no inline SVG chart")
for e in err:
    print("html: " + e)
sys.exit(1 if err else 0)
EOF
}
for d in "$TMP/shared-dir" "$TMP/s-client/dir"; do
	[ -f "$d/report.html" ] || continue
	if html_check "$d" >"$TMP/html.out" 2>&1; then ok; else fail "HTML report $d"; sed 's/^/  | /' "$TMP/html.out" >&2; fi
	if command -v xmllint >/dev/null 2>&1; then
		# Strict XML well-formedness (the page is written as XHTML-compatible HTML5).
		if xmllint --noout "$d/report.html" 2>"$TMP/xml.out"; then ok; else fail "xmllint $d"; cat "$TMP/xml.out" >&2; fi
	fi
done
# The checker itself must catch a broken page.
mkdir -p "$TMP/broken"
sed 's|</table>||' "$TMP/s-client/dir/report.html" >"$TMP/broken/report.html"
cp "$TMP/s-client/dir/report.json" "$TMP/broken/"
html_check "$TMP/broken" >/dev/null 2>&1 && fail "HTML checker accepted a page with unclosed tables" || ok
sed 's|<td class="bad">ACCEPTED</td>|<td class="bad">refused</td>|' "$TMP/s-client/dir/report.html" >"$TMP/broken/report.html"
html_check "$TMP/broken" >/dev/null 2>&1 && fail "HTML checker accepted a verdict that disagrees with JSON" || ok

# A real browser: chromium renders the page offline; the chart's red appears
# exactly when an attack was accepted.
CHROMIUM=
for c in chromium chromium-browser google-chrome; do
	command -v "$c" >/dev/null 2>&1 && { CHROMIUM=$c; break; }
done
PNG_CHECK=$(cd "$(dirname "$0")/../support" && pwd)/dashboard_check.py
red_pixels() { # PNG: pixels of the "attack accepted" red (#c62828)
	python3 "$PNG_CHECK" pixels "$1" c62828
}
if [ -z "$CHROMIUM" ] && [ "${CERTPIN_REQUIRE_BROWSER:-0}" = 1 ]; then
	fail "chromium is not installed but CERTPIN_REQUIRE_BROWSER=1 (scripts/install-deps.sh installs it)"
elif [ -z "$CHROMIUM" ]; then
	echo "mitm_test: SKIP browser check: chromium not installed (HTML checked with html.parser and xmllint only)"
else
	shot() { # DIR: dump the DOM and take a screenshot; prints the red pixel count
		prof=$TMP/chrome-profile
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$prof" \
			--host-resolver-rules="MAP * ~NOTFOUND" --dump-dom "file://$1/report.html" >"$1.dom" 2>/dev/null
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$prof" \
			--host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars --window-size=1200,1600 \
			--screenshot="$1.png" "file://$1/report.html" >/dev/null 2>&1
		[ -s "$1.png" ] && red_pixels "$1.png"
	}
	red_s_client=$(shot "$TMP/s-client/dir") || fail "chromium made no screenshot of the s_client report"
	red_pass=$(shot "$TMP/shared-dir") || fail "chromium made no screenshot of the passing report"
	for d in "$TMP/s-client/dir" "$TMP/shared-dir"; do
		expect_grep "chromium DOM" "$d.dom" '<table id="scorecard">'
		expect_grep "chromium DOM" "$d.dom" '<svg id="chart"'
	done
	# 4 accepted attacks: four red bars of 360x18 px; all refused: only the 12x12 legend.
	[ "${red_s_client:-0}" -gt 4000 ] && ok || fail "chromium: accepted attacks not drawn red (${red_s_client:-none} px)"
	[ "${red_pass:-99999}" -lt 1000 ] && ok || fail "chromium: red drawn with no attack accepted (${red_pass:-none} px)"
fi

# ---- 7. robustness -------------------------------------------------------------------------------------
# 5 empty connections, 1 KB of garbage, a truncated ClientHello, a client that
# leaves after the server's first flight, 50 idle connections, a hostile SNI
# and one real client: 60 connections = --max-attempts.
if start robust "" --attack self-signed --rounds 10 --max-attempts 60 --io-timeout 1000; then
	python3 - "$PORT" >"$R/py.out" 2>&1 <<'EOF'
import os, socket, ssl, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=5)
for _ in range(5):
    conn().close()
s = conn(); s.sendall(os.urandom(1024)); time.sleep(0.2); s.close()
s = conn(); s.sendall(bytes([0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3])); s.close()
# A real ClientHello, then leave once the server answers: mid-handshake.
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname="api.certpin.test")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
s = conn(); s.sendall(outg.read()); s.recv(100); s.close()
socks = [conn() for _ in range(50)]
time.sleep(2.5)   # longer than --io-timeout: the harness must time them out
for s in socks:
    s.close()
print("ok")
EOF
	expect_grep "robust: raw clients ran" "$R/py.out" ok
	printf 'x\n' | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername '<img src=x onerror=alert(1)>"&' \
		-CAfile "$PKI/root.pem" -verify_return_error -quiet -no_ign_eof >/dev/null 2>>"$R/client.err"
	curl_once "$PORT" "$PKI/root.pem"
	finish
	# 1 of 10 rounds scored, and no control: inconclusive.
	expect_eq "robust: harness exit" "$HRC" 2
	expect_eq "robust: stop reason" "$(json_field "$D" stop_reason)" max-attempts
	expect_eq "robust: connections" "$(json_field "$D" summary connections)" 60
	# Scored: curl only.  The client that left mid-handshake aborted; the hostile SNI is not the host.
	expect_eq "robust: unscored" "$(json_field "$D" summary unscored_connections)" 59
	expect_eq "robust: aborted" "$(json_field "$D" summary aborted_connections)" 1
	expect_eq "robust: wrong SNI" "$(json_field "$D" summary wrong_sni_connections)" 1
	expect_eq "robust: not tried" "$(json_field "$D" summary not_tried)" 9
	expect_eq "robust: scorecard" "$(scorecard "$D")" "self-signed:refused"
	expect_eq "robust: scored attempts" "$(json_field "$D" attacks 1 attempts)" 1
	expect_eq "robust: idle connections timed out" "$(grep -c 'sent no ClientHello within 1000 ms' "$ERR")" 50
	expect_grep "robust: garbage" "$ERR" "sent no usable TLS ClientHello"
	expect_grep "robust: mid-handshake" "$ERR" "closed the connection during the handshake without an alert"
	expect_eq "robust: hostile SNI kept verbatim in JSON" "$(json_field "$D" attempts 58 sni)" '<img src=x onerror=alert(1)>"&'
	expect_grep "robust: hostile SNI escaped in HTML" "$D/report.html" '&lt;img src=x onerror=alert(1)&gt;&quot;&amp;'
	if grep -qF '<img' "$D/report.html"; then fail "robust: raw SNI markup in the HTML report"; else ok; fi
	if html_check "$D" >"$TMP/html.out" 2>&1; then ok; else fail "robust: HTML report"; cat "$TMP/html.out" >&2; fi
fi

# SIGTERM mid-run: a client is connected and silent; the run ends at once,
# the connection is recorded as cut short, the reports are written.
if start sigterm "" --attack control,self-signed --rounds 3 --io-timeout 30000 $CONTROL; then
	curl_once "$PORT" "$PKI/root.pem"
	curl_once "$PORT" "$PKI/root.pem"
	rm -f "$R/connected"
	python3 -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); open(sys.argv[2], "w").close(); time.sleep(20)' \
		"$PORT" "$R/connected" 2>/dev/null &
	CPID=$!
	# Wait (bounded) until the client has connected and the harness has
	# accepted it: the listening socket's accept queue (Recv-Q) is empty again.
	i=0
	while [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
		[ -e "$R/connected" ] || continue
		q=$(ss -Hltn "sport = :$PORT" 2>/dev/null | awk '{print $2; exit}')
		[ "${q:-1}" = 0 ] && break
	done
	sleep 0.2
	kill -TERM "$HPID"
	finish 5
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	CPID=
	# Round 1 of 3 only: stopping early is never a pass.
	expect_eq "sigterm: harness exit (inconclusive)" "$HRC" 2
	expect_grep "sigterm: stop reason" "$OUT" "stopped: signal"
	expect_grep "sigterm: not tried" "$OUT" "not tried: 4 scheduled attempts got no verdict (control 2/3, self-signed 2/3)"
	expect_grep "sigterm: result" "$OUT" "result: INCONCLUSIVE: some scheduled attempts got no verdict"
	expect_eq "sigterm: scorecard" "$(scorecard "$D")" "control:accepted self-signed:refused"
	expect_eq "sigterm: cut-short connection" "$(json_field "$D" attempts 2 reason)" "cut short: the harness stopped (signal)"
	[ -s "$D/report.html" ] && ok || fail "sigterm: no HTML report"
fi
if start sigint "" --io-timeout 30000; then
	sleep 0.3
	kill -INT "$HPID"
	finish 5
	expect_eq "sigint: harness exit (nothing attempted: inconclusive)" "$HRC" 2
	expect_eq "sigint: stop reason" "$(json_field "$D" stop_reason)" signal
fi

# ---- 8. what must not pass -----------------------------------------------------------------------
# s_client with SNI options of the caller; its exit status is returned.
s_client_once() { # PORT CAFILE [s_client options]
	_port=$1
	_ca=$2
	shift 2
	printf 'hello\n' | timeout 20 openssl s_client -connect "127.0.0.1:$_port" -CAfile "$_ca" -verify_return_error \
		-quiet -no_ign_eof "$@" >/dev/null 2>>"$R/client.err"
}

# A run that stops (here at --max-attempts) before every attack was scored is
# inconclusive, however the attacks that were tried went.
# shellcheck disable=SC2086
if start partial "" $CONTROL --max-attempts 2; then
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$R/bundle.pem"
	curl_once "$PORT" "$R/bundle.pem" --pinnedpubkey "sha256//${LEAF_PIN#sha256/}"
	curl_once "$PORT" "$R/bundle.pem" --pinnedpubkey "sha256//${LEAF_PIN#sha256/}"
	finish
	expect_eq "partial: harness exit (inconclusive)" "$HRC" 2
	expect_eq "partial: scorecard" "$(scorecard "$D")" \
		"control:accepted self-signed:refused rogue-ca:not tried chain-injection:not tried expired:not tried wrong-host:not tried wildcard-too-deep:not tried weak-key:not tried"
	expect_eq "partial: not tried" "$(json_field "$D" summary not_tried)" 6
	expect_eq "partial: conclusive" "$(json_field "$D" summary conclusive)" false
	expect_eq "partial: result" "$(json_field "$D" summary result)" inconclusive
	expect_grep "partial: text result" "$OUT" "result: INCONCLUSIVE: some scheduled attempts got no verdict"
	if grep -qF "result: pass" "$OUT"; then fail "partial: a stopped run reads as a pass"; else ok; fi
fi

# The harness, not the client, ends the handshake: no shared cipher for the
# rogue-ca (EC) leaf with an RSA-only TLS 1.2 suite; no signature algorithm
# for the weak-key (RSA) leaf with ECDSA-only sigalgs.  Not scored, and the
# attack comes back after the others.
# shellcheck disable=SC2086
if start harness-fail "" $CONTROL --attack control,rogue-ca,weak-key --max-attempts 4; then
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$R/bundle.pem"
	s_client_once "$PORT" "$R/bundle.pem" -servername "$HOST"
	s_client_once "$PORT" "$R/bundle.pem" -servername "$HOST" -tls1_2 -cipher AES128-SHA
	s_client_once "$PORT" "$R/bundle.pem" -servername "$HOST" -sigalgs ECDSA+SHA256
	s_client_once "$PORT" "$R/bundle.pem" -servername "$HOST" -tls1_2 -cipher AES128-SHA
	finish
	expect_eq "harness-fail: harness exit (inconclusive)" "$HRC" 2
	expect_eq "harness-fail: scorecard" "$(scorecard "$D")" "control:accepted rogue-ca:not scored weak-key:not scored"
	expect_eq "harness-fail: attacks in order" "$(attempt_field "$D" attack)" "control rogue-ca weak-key rogue-ca"
	expect_eq "harness-fail: verdicts" "$(attempt_field "$D" verdict)" "accepted unscored unscored unscored"
	expect_eq "harness-fail: server alert" "$(json_field "$D" attempts 1 server_alert_code)" 40
	expect_eq "harness-fail: no client alert" "$(json_field "$D" attempts 1 alert)" None
	expect_grep "harness-fail: cipher" "$OUT" "server could not present the attack: no shared cipher"
	expect_grep "harness-fail: sigalg" "$ERR" "server could not present the attack: no suitable signature algorithm"
	if grep -qF "without an alert" "$ERR"; then fail "harness-fail: its own alert taken for the client's"; else ok; fi
fi

# A ClientHello, then a close without an alert (a scanner, a preconnect), is
# "aborted": not a refusal, and the next connection gets the same attack.
hello_and_close() { # PORT
	python3 - "$1" "$HOST" <<'EOF'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname=sys.argv[2])
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(outg.read())
s.recv(100)
s.close()
EOF
}
# shellcheck disable=SC2086
if start aborted "" $CONTROL --attack control,self-signed --max-attempts 3; then
	hello_and_close "$PORT"
	curl_once "$PORT" "$PKI/root.pem"
	hello_and_close "$PORT"
	finish
	expect_eq "aborted: harness exit (inconclusive)" "$HRC" 2
	expect_eq "aborted: attacks in order" "$(attempt_field "$D" attack)" "control control self-signed"
	expect_eq "aborted: verdicts" "$(attempt_field "$D" verdict)" "aborted accepted aborted"
	expect_eq "aborted: scorecard" "$(scorecard "$D")" "control:accepted self-signed:not scored"
	expect_eq "aborted: count" "$(json_field "$D" summary aborted_connections)" 2
fi

# No control: a client that trusts nothing here refuses everything.  That is
# inconclusive, unless --insecure-no-control (and, since it does not trust the
# rogue CA either, --insecure-untrusted-rogue-ca); either way the "unknown CA"
# refusals are flagged: the client does not trust the rogue CA.
for mode in plain insecure; do
	extra=
	[ $mode = insecure ] && extra="--insecure-no-control --insecure-untrusted-rogue-ca"
	# shellcheck disable=SC2086
	start no-control-$mode "" --attack self-signed,rogue-ca,expired $extra || continue
	for i in 1 2 3; do
		curl_once "$PORT" "$PKI/root.pem"
	done
	finish
	expect_eq "no-control-$mode: scorecard" "$(scorecard "$D")" "self-signed:refused rogue-ca:refused expired:refused"
	expect_eq "no-control-$mode: rogue-ca alert" "$(json_field "$D" attempts 1 alert_code)" 48
	expect_grep "no-control-$mode: note" "$OUT" \
		"note: rogue-ca: refused with \"unknown CA\" (48): the client does not seem to trust the rogue CA"
	expect_grep "no-control-$mode: warning" "$ERR" "certpin: warning: mitm: rogue-ca refused with \"unknown CA\""
	expect_grep "no-control-$mode: HTML note" "$D/report.html" "does not seem to trust the rogue CA"
	if [ $mode = plain ]; then
		expect_eq "no-control: harness exit (inconclusive)" "$HRC" 2
		expect_grep "no-control: result" "$OUT" "result: INCONCLUSIVE: no control case"
	else
		expect_eq "no-control-insecure: harness exit" "$HRC" 0
		expect_eq "no-control-insecure: flag in JSON" "$(json_field "$D" summary insecure_no_control)" true
		expect_grep "no-control-insecure: warning" "$ERR" "--insecure-no-control: no control case"
		expect_eq "no-control-insecure: rogue flag in JSON" \
			"$(json_field "$D" summary insecure_untrusted_rogue_ca)" true
	fi
done

# A client with no pinning that does not trust the rogue CA refuses every
# rogue attack as "unknown CA": that says nothing about pinning, so even with
# the control accepted the run is inconclusive, unless
# --insecure-untrusted-rogue-ca weakens it.
for mode in plain weakened; do
	extra=
	[ $mode = weakened ] && extra=--insecure-untrusted-rogue-ca
	# shellcheck disable=SC2086
	start untrusted-rogue-$mode "" $CONTROL --attack control,rogue-ca,expired $extra || continue
	for i in 1 2 3; do
		curl_once "$PORT" "$PKI/trust.pem"
	done
	finish
	expect_eq "untrusted-rogue-$mode: scorecard" "$(scorecard "$D")" "control:accepted rogue-ca:refused expired:refused"
	if [ $mode = plain ]; then
		expect_eq "untrusted-rogue: harness exit (inconclusive)" "$HRC" 2
		expect_grep "untrusted-rogue: result" "$OUT" "result: INCONCLUSIVE: the client refused the rogue CA as unknown"
	else
		expect_eq "untrusted-rogue-weakened: harness exit" "$HRC" 0
		expect_grep "untrusted-rogue-weakened: warning" "$ERR" "--insecure-untrusted-rogue-ca: a client that does not trust"
	fi
done

# SNI: missing or another name is not scored (the attack comes back); case and
# a trailing dot do not matter.
# shellcheck disable=SC2086
if start sni "" $CONTROL --attack control,rogue-ca; then
	cat "$D/rogue-ca.pem" "$PKI/root.pem" >"$R/bundle.pem"
	s_client_once "$PORT" "$R/bundle.pem" -servername localhost
	s_client_once "$PORT" "$R/bundle.pem" -noservername
	s_client_once "$PORT" "$R/bundle.pem" -servername API.CERTPIN.TEST.
	s_client_once "$PORT" "$R/bundle.pem" -servername "$HOST"
	finish
	expect_eq "sni: harness exit" "$HRC" 1
	expect_eq "sni: attacks in order" "$(attempt_field "$D" attack)" "control control control rogue-ca"
	expect_eq "sni: verdicts" "$(attempt_field "$D" verdict)" "unscored unscored accepted accepted"
	expect_eq "sni: matches" "$(attempt_field "$D" sni_matches_host)" "false false true true"
	expect_eq "sni: count" "$(json_field "$D" summary wrong_sni_connections)" 2
	expect_grep "sni: reason" "$ERR" "SNI \"localhost\" is not $HOST (accepted:"
	expect_grep "sni: no SNI" "$ERR" "sent no SNI, so it may not check $HOST"
	expect_grep "sni: HTML flag" "$D/report.html" "(not the host)"
fi

# The wildcard of a three-label host has a single label: noted.
S=$TMP/s-client/dir
expect_eq "wildcard note in JSON" "$(json_field "$S" attacks 6 note | cut -c1-38)" "the pattern *.test has a single label:"
expect_grep "wildcard warning" "$TMP/s-client/err" \
	"certpin: warning: mitm: wildcard-too-deep: the pattern *.test has a single label"

# ---- 9. --real-chain ----------------------------------------------------------------------------------
# chain-injection sends the rogue leaf, then exactly the given file (a chain other than the control's).
pem_blocks() { sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$@"; }
if start real-chain "" --attack rogue-ca,chain-injection --real-chain "$PKI/backup-chain.pem" --insecure-no-control; then
	s_client_once "$PORT" "$PKI/root.pem" -servername "$HOST"
	# No verification: the chain as sent.
	printf 'x\n' | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername "$HOST" -showcerts \
		-no_ign_eof 2>>"$R/client.err" | pem_blocks >"$R/sent.pem"
	finish
	expect_eq "real-chain: harness exit" "$HRC" 1
	expect_eq "real-chain: scorecard" "$(scorecard "$D")" "rogue-ca:refused chain-injection:ACCEPTED"
	cat "$D/attack-rogue-ca.pem" "$PKI/backup-chain.pem" | pem_blocks >"$R/want.pem"
	expect_eq "real-chain: file = rogue leaf + --real-chain" \
		"$(pem_blocks "$D/attack-chain-injection.pem" | cmp -s "$R/want.pem" - && echo same)" same
	expect_eq "real-chain: sent = rogue leaf + --real-chain" "$(cmp -s "$R/want.pem" "$R/sent.pem" && echo same)" same
	expect_eq "real-chain: presented chain length" "$(json_field "$D" attacks 3 presented chain_length)" \
		$((1 + $(grep -c 'BEGIN CERTIFICATE' "$PKI/backup-chain.pem")))
fi

echo "mitm_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
