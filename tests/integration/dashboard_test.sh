#!/bin/sh
# dashboard_test.sh - "certpin collect --dashboard" end to end on 127.0.0.1:
#
#   1. option errors, exit 3 with one line and no database created:
#      --dashboard without --dashboard-token-file and the reverse, a token
#      file readable or writable by others, empty, too short, missing;
#   2. a collector with the dashboard on a temporary SQLite database takes
#      reports of each format (certpin's own enforced and report-only, Chrome's
#      RFC 7469, TrustKit iOS in two app versions, TrustKit Android, and one
#      whose app fields are HTML), spread over four days in the database, one
#      host name made HTML there (the parser refuses such names, so only the
#      database can hold one);
#   3. the token: 401 with no token, a wrong or longer Bearer token, another
#      scheme, a wrong ?token=, ?token= on /dashboard.json, the token itself as
#      the cookie; 200 with the Bearer token; ?token= answers 303 to / with an
#      HttpOnly SameSite=Strict cookie that is not the token, and the cookie
#      opens / and /dashboard.json;
#   4. the answer: a CSP that allows no script and nothing to load, and the
#      page's one style sheet by its hash; no-store, nosniff, no-referrer;
#      /dashboard.json is byte for byte "certpin reports --json"; every number
#      on the page is that of reports --json (tests/support/dashboard_check.py,
#      which must also catch a page with a wrong number or an injected
#      element); the HTML from clients is escaped, never markup;
#   5. a report posted later shows on the next load;
#   6. headless chromium (skipped, exit 77, when it is not installed, unless
#      CERTPIN_REQUIRE_BROWSER=1): the console capture sees a refused style
#      sheet on a copy of the page whose CSP lacks the hash; the page, opened
#      by /?token= and the cookie, logs nothing on the console, loads nothing
#      else from the collector, makes a screenshot with the chart's enforced
#      and report-only colours, and its DOM shows the numbers of reports --json.
#
# The collector is bounded by --duration and stopped by its PID.
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI; needs curl, python3,
# sqlite3 (scripts/install-deps.sh installs them).
set -u

: "${CERTPIN:?CERTPIN must name the certpin binary}"
: "${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI directory}"
case $CERTPIN in /*) ;; *) CERTPIN=$(pwd)/$CERTPIN ;; esac
CHECK="python3 $(cd "$(dirname "$0")/../support" && pwd)/dashboard_check.py"
for tool in curl python3 sqlite3 timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "dashboard_test: $tool is required (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/certpin-dashboard.XXXXXX") || exit 1
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
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
expect_grep() { # LABEL FILE FIXED-STRING
	if grep -qF -e "$3" "$2"; then ok; else fail "$1: '$3' not in $2"; sed 's/^/  | /' "$2" | head -n 40 >&2; fi
}
expect_no_grep() { # LABEL FILE FIXED-STRING (case-insensitive)
	if grep -qiF -e "$3" "$2"; then fail "$1: '$3' in $2"; grep -iF -e "$3" "$2" | head -n 5 >&2; else ok; fi
}

# ---- 1. option errors ------------------------------------------------------------------------------------
TOKEN=$TMP/token
(umask 077 && openssl rand -hex 32 >"$TOKEN") || { echo "dashboard_test: openssl rand failed" >&2; exit 1; }
T=$(cat "$TOKEN")
bad_token() { # NAME MODE TEXT: a token file
	printf '%s' "$3" >"$TMP/$1"
	chmod "$2" "$TMP/$1"
}
bad_token world-readable 0644 "$T"
bad_token world-writable 0602 "$T"
bad_token empty 0600 ""
bad_token short 0600 "secret"
expect_usage() { # LABEL TEXT ARGS...: exit 3, one "certpin: " line on stderr containing TEXT
	label=$1
	text=$2
	shift 2
	timeout 20 "$CERTPIN" collect --db "$TMP/never.sqlite" --listen 127.0.0.1:0 --duration 2 "$@" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 3 ]; then
		fail "$label: exit $rc, want 3: $(cat "$TMP/err")"
	elif [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q '^certpin: collect: ' "$TMP/err"; then
		fail "$label: not one 'certpin: collect:' line: $(cat "$TMP/err")"
	else
		expect_grep "$label" "$TMP/err" "$text"
	fi
}
expect_usage "--dashboard alone" "--dashboard needs --dashboard-token-file FILE" --dashboard
expect_usage "token file alone" "--dashboard-token-file goes with --dashboard" --dashboard-token-file "$TOKEN"
expect_usage "world-readable token" "world-readable may be read by any user (mode 0644); chmod o-rwx it" \
	--dashboard --dashboard-token-file "$TMP/world-readable"
expect_usage "world-writable token" "may be written by any user (mode 0602)" \
	--dashboard --dashboard-token-file "$TMP/world-writable"
expect_usage "empty token" "$TMP/empty is empty" --dashboard --dashboard-token-file "$TMP/empty"
expect_usage "short token" "holds a token of 6 characters; it must have 16 to 256" \
	--dashboard --dashboard-token-file "$TMP/short"
expect_usage "missing token" "cannot be opened: No such file or directory" \
	--dashboard --dashboard-token-file "$TMP/missing"
[ ! -e "$TMP/never.sqlite" ] && ok || fail "a refused start created the database"

# ---- 2. a collector with reports ---------------------------------------------------------------------------
DB=$TMP/r.sqlite
"$CERTPIN" collect --db "$DB" --listen 127.0.0.1:0 --port-file "$TMP/port" --duration 150 \
	--dashboard --dashboard-token-file "$TOKEN" >"$TMP/collect.out" 2>"$TMP/collect.err" &
PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -s "$TMP/port" ]; then
	echo "FAIL: the collector did not start: $(cat "$TMP/collect.err")" >&2
	exit 1
fi
U=http://127.0.0.1:$(cat "$TMP/port")

# http LABEL WANT-STATUS CURL-ARGS... URL: headers in $TMP/h, body in $TMP/b
http() {
	label=$1
	want=$2
	shift 2
	code=$(curl -sS --max-time 10 -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' "$@" 2>"$TMP/curl.err")
	if [ "$code" = "$want" ]; then ok; else fail "$label: HTTP $code, want $want $(cat "$TMP/curl.err" "$TMP/b")"; fi
}
BEARER="Authorization: Bearer $T"

mkdir "$TMP/bodies"
$CHECK bodies "$CERTPIN_TEST_PKI" "$TMP/bodies" || fail "cannot write the report bodies"
for f in "$TMP"/bodies/0[1-7]-*.json; do
	http "POST $(basename "$f")" 201 -H 'Content-Type: application/json' --data-binary "@$f" "$U/report"
done
# four days; a host name that is HTML (certpin_report_parse_any() refuses one: only the database can hold it)
sqlite3 "$DB" <<'EOF' || fail "cannot rewrite the database"
.timeout 5000
UPDATE reports SET received_at = received_at - 3 * 86400 WHERE id IN (1, 2);
UPDATE reports SET received_at = received_at - 2 * 86400 WHERE id = 3;
UPDATE reports SET received_at = received_at - 86400 WHERE id IN (4, 5);
UPDATE reports SET day = strftime('%Y-%m-%d', received_at, 'unixepoch');
UPDATE reports SET hostname = '<b>host</b>&amp;"''<script>alert(3)</script>' WHERE id = 2;
EOF
[ "$(sqlite3 "$DB" 'SELECT COUNT(*), COUNT(DISTINCT day) FROM reports')" = "7|4" ] && ok ||
	fail "reports in the database: $(sqlite3 "$DB" 'SELECT id, day, hostname FROM reports')"

# ---- 3. the token ------------------------------------------------------------------------------------------
http "no token" 401 "$U/"
expect_grep "401" "$TMP/h" 'WWW-Authenticate: Bearer realm="certpin collect dashboard"'
expect_no_grep "401" "$TMP/h" "Set-Cookie"
expect_no_grep "401 body" "$TMP/b" "data-k"
http "no token (JSON)" 401 "$U/dashboard.json"
expect_no_grep "401 JSON body" "$TMP/b" '"total"'
http "longer Bearer token" 401 -H "${BEARER}0" "$U/"
http "wrong Bearer token" 401 -H "Authorization: Bearer $(printf '%s' "$T" | tr '0-9a-f' '1-9a-f0')" "$U/"
http "Basic" 401 -H "Authorization: Basic $(printf 'u:%s' "$T" | openssl base64 -A)" "$U/"
http "wrong ?token=" 401 "$U/?token=wrong-token-0123456789"
expect_no_grep "wrong ?token=" "$TMP/h" "Set-Cookie"
http "?token= on /dashboard.json" 401 "$U/dashboard.json?token=$T"
http "the token as the cookie" 401 -b "certpin_dashboard=$T" "$U/"
http "Bearer" 200 -H "$BEARER" "$U/"
cp "$TMP/h" "$TMP/page.h"
cp "$TMP/b" "$TMP/page.html"
http "?token=" 303 "$U/?token=$T"
expect_grep "?token=" "$TMP/h" "Location: /"
COOKIE=$(sed -n 's/^Set-Cookie: \(certpin_dashboard=[0-9a-f]\{64\}\); Path=\/; HttpOnly; SameSite=Strict\r$/\1/p' "$TMP/h")
if [ -n "$COOKIE" ] && [ "$COOKIE" != "certpin_dashboard=$T" ]; then ok; else
	fail "?token=: no HttpOnly SameSite=Strict cookie apart from the token: $(grep -i cookie "$TMP/h")"
fi
http "cookie" 200 -b "$COOKIE" "$U/"
expect_grep "cookie" "$TMP/b" 'data-k="total">7<'
http "cookie (JSON)" 200 -b "$COOKIE" "$U/dashboard.json"
http "Bearer (JSON)" 200 -H "$BEARER" "$U/dashboard.json"
cp "$TMP/b" "$TMP/dashboard.json"
expect_grep "JSON" "$TMP/h" "Content-Type: application/json"
http "stats (no token, as before)" 200 "$U/stats"

# ---- 4. the answer -----------------------------------------------------------------------------------------
expect_grep "headers" "$TMP/page.h" "Content-Type: text/html; charset=utf-8"
expect_grep "headers" "$TMP/page.h" "Content-Security-Policy: default-src 'none'; style-src 'sha256-"
expect_grep "headers" "$TMP/page.h" "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
expect_no_grep "headers" "$TMP/page.h" "unsafe-inline"
expect_no_grep "headers" "$TMP/page.h" "script-src"
expect_grep "headers" "$TMP/page.h" "X-Content-Type-Options: nosniff"
expect_grep "headers" "$TMP/page.h" "Cache-Control: no-store"
expect_grep "headers" "$TMP/page.h" "Referrer-Policy: no-referrer"
$CHECK csp "$TMP/page.html" "$TMP/page.h" && ok || fail "the CSP does not allow the page's style sheet by hash"

"$CERTPIN" reports --db "$DB" --json >"$TMP/reports.json" 2>"$TMP/err" || fail "reports --json: $(cat "$TMP/err")"
cmp -s "$TMP/dashboard.json" "$TMP/reports.json" && ok ||
	fail "/dashboard.json is not reports --json: $(diff "$TMP/dashboard.json" "$TMP/reports.json" | head -n 20)"
expect_grep "reports --json" "$TMP/reports.json" '"app": "<script>alert(1)</script>"'
expect_grep "reports --json" "$TMP/reports.json" '<script>alert(3)</script>'
[ "$(grep -c '"day": ' "$TMP/reports.json")" -eq 4 ] && ok || fail "reports --json: not four days"
$CHECK page "$TMP/page.html" "$TMP/reports.json" && ok || fail "the page's numbers are not those of reports --json"
# what clients sent is text, escaped in text and attributes alike
expect_no_grep "escaping" "$TMP/page.html" "<script"
expect_no_grep "escaping" "$TMP/page.html" "<img"
expect_no_grep "escaping" "$TMP/page.html" "<b>"
expect_grep "escaping" "$TMP/page.html" '<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>'
expect_grep "escaping" "$TMP/page.html" '<code>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</code>'
expect_grep "escaping" "$TMP/page.html" \
	'<code>&lt;b&gt;host&lt;/b&gt;&amp;amp;&quot;&#39;&lt;script&gt;alert(3)&lt;/script&gt;</code>'
# the checker catches a wrong number and an element the page must not have
sed 's|data-k="total">7<|data-k="total">8<|' "$TMP/page.html" >"$TMP/broken.html"
$CHECK page "$TMP/broken.html" "$TMP/reports.json" >/dev/null && fail "checker: a wrong total passed" || ok
sed 's|<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>|<code><script>alert(1)</script></code>|' \
	"$TMP/page.html" >"$TMP/broken.html"
$CHECK page "$TMP/broken.html" "$TMP/reports.json" >/dev/null && fail "checker: a <script> element passed" || ok

# ---- 5. refreshed on each load -------------------------------------------------------------------------
http "POST a later report" 201 -H 'Content-Type: application/json' --data-binary "@$TMP/bodies/08-refresh.json" \
	"$U/report"
http "Bearer, after" 200 -H "$BEARER" "$U/"
cp "$TMP/b" "$TMP/page2.html"
"$CERTPIN" reports --db "$DB" --json >"$TMP/reports.json" 2>"$TMP/err" || fail "reports --json: $(cat "$TMP/err")"
expect_grep "refresh" "$TMP/page2.html" 'data-k="total">8<'
expect_grep "refresh" "$TMP/page2.html" '<code>late.certpin.test</code>'
$CHECK page "$TMP/page2.html" "$TMP/reports.json" && ok || fail "the page after a new report is not reports --json"

# ---- 6. headless chromium ------------------------------------------------------------------------------
CHROMIUM=
for c in chromium chromium-browser google-chrome; do
	command -v "$c" >/dev/null 2>&1 && { CHROMIUM=$c; break; }
done
skipped=0
if [ -z "$CHROMIUM" ] && [ "${CERTPIN_REQUIRE_BROWSER:-0}" = 1 ]; then
	fail "chromium is not installed but CERTPIN_REQUIRE_BROWSER=1 (scripts/install-deps.sh installs it)"
elif [ -z "$CHROMIUM" ]; then
	echo "dashboard_test: SKIP browser checks: chromium not installed"
	skipped=1
else
	chrome() { # NAME ARGS...: headless chromium, its log in $TMP/NAME.log; nothing but 127.0.0.1 resolves
		name=$1
		shift
		timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
			--user-data-dir="$TMP/chrome-$name" --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
			--enable-logging=stderr --v=0 "$@" 2>"$TMP/$name.log"
	}
	no_console() { # NAME: nothing on the console, the page loaded
		if grep -q -e ':CONSOLE' -e 'Page load failed' "$TMP/$1.log"; then
			fail "chromium ($1): $(grep -e ':CONSOLE' -e 'Page load failed' "$TMP/$1.log" | head -n 5)"
		else
			ok
		fi
	}
	# the console is captured: without the hash in its CSP the style sheet is refused, and chromium says so
	sed "s|<head>|<head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">|" \
		"$TMP/page2.html" >"$TMP/nohash.html"
	chrome nohash --dump-dom "file://$TMP/nohash.html" >/dev/null
	expect_grep "chromium console capture" "$TMP/nohash.log" ":CONSOLE"
	routes0=$(curl -sS --max-time 10 "$U/stats" | sed 's/.*"bad_route":\([0-9]*\).*/\1/')
	chrome shot --hide-scrollbars --window-size=1200,2400 --screenshot="$TMP/shot.png" "$U/?token=$T" >/dev/null
	no_console shot
	if [ -s "$TMP/shot.png" ] && [ "$(head -c 4 "$TMP/shot.png" | od -An -c | tr -d ' ')" = '211PNG' ]; then
		ok
		red=$($CHECK pixels "$TMP/shot.png" c0392b)
		blue=$($CHECK pixels "$TMP/shot.png" 9db8e8)
		[ "${red:-0}" -gt 2000 ] && ok || fail "chromium: enforced bars not drawn (${red:-none} px of #c0392b)"
		[ "${blue:-0}" -gt 2000 ] && ok || fail "chromium: report-only bars not drawn (${blue:-none} px of #9db8e8)"
	else
		fail "chromium made no PNG screenshot: $(grep -v dbus "$TMP/shot.log" | tail -n 5)"
	fi
	chrome dom --dump-dom "$U/?token=$T" >"$TMP/dom.html"
	no_console dom
	expect_grep "chromium DOM" "$TMP/dom.html" '<svg id="days"'
	$CHECK page "$TMP/dom.html" "$TMP/reports.json" && ok || fail "chromium's DOM does not show reports --json"
	routes1=$(curl -sS --max-time 10 "$U/stats" | sed 's/.*"bad_route":\([0-9]*\).*/\1/')
	[ "$routes0" = "$routes1" ] && ok || fail "chromium asked the collector for more ($routes0 -> $routes1 bad routes)"
fi

# ---- the end -----------------------------------------------------------------------------------------------
kill "$PID"
wait "$PID"
rc=$?
PID=
[ "$rc" -eq 0 ] && ok || fail "collect after SIGTERM: exit $rc: $(cat "$TMP/collect.err")"
expect_grep "collect summary" "$TMP/collect.err" "8 stored, 0 malformed"

echo "dashboard_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || exit 77
exit 0
