#!/bin/sh
# collect_cli_test.sh - "certpin collect" and "certpin reports" as commands on
# SQLite: WAL mode, versioned migrations (recorded once, a newer schema is
# refused untouched), argument errors with exit 3 and one-line messages, a
# port already in use, an empty database summarized.  The HTTP behaviour is
# tested by collect_test.c.
#
# Environment: CERTPIN (the CLI).  Needs the sqlite3 command (Debian package
# sqlite3, see scripts/install-deps.sh).
set -u

CERTPIN=${CERTPIN:?CERTPIN must name the certpin CLI}
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "collect_cli_test: FAIL: $*" >&2; }

if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "collect_cli_test: the sqlite3 command is missing (Debian package sqlite3; scripts/install-deps.sh)" >&2
	exit 1
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/certpin-collect-cli.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# expect_usage NAME ARGS...: exit 3 and exactly one line on stderr starting "certpin: "
expect_usage() {
	name=$1
	shift
	"$CERTPIN" "$@" >"$DIR/out" 2>"$DIR/err"
	rc=$?
	if [ "$rc" -ne 3 ]; then
		bad "$name: exit $rc, want 3"
	elif [ "$(wc -l <"$DIR/err")" -ne 1 ] || ! grep -q '^certpin: ' "$DIR/err"; then
		bad "$name: message is not one 'certpin: ' line: $(cat "$DIR/err")"
	else
		ok
	fi
}

DB=$DIR/r.sqlite

# a bounded run creates and migrates the database
"$CERTPIN" collect --db "$DB" --listen 127.0.0.1:0 --duration 1 >"$DIR/out" 2>"$DIR/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "collect --duration 1: exit $rc: $(cat "$DIR/err")"
grep -q '^listening on 127.0.0.1:[0-9][0-9]* (sqlite)$' "$DIR/out" && ok || bad "no listening line: $(cat "$DIR/out")"
grep -q '^certpin: collect: 0 requests, 0 stored' "$DIR/err" && ok || bad "no summary line: $(cat "$DIR/err")"
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal ] && ok || bad "database is not in WAL mode"
[ "$(sqlite3 "$DB" "SELECT group_concat(version) FROM schema_migrations")" = "1,2" ] && ok ||
	bad "schema_migrations: $(sqlite3 "$DB" 'SELECT * FROM schema_migrations')"

# reopening applies nothing twice; an empty database summarizes
"$CERTPIN" reports --db "$DB" >"$DIR/out" 2>"$DIR/err" && ok || bad "reports on an empty database: $(cat "$DIR/err")"
grep -q '^0 failure reports' "$DIR/out" && ok || bad "empty summary: $(head -n 1 "$DIR/out")"
"$CERTPIN" reports --db "sqlite:$DB" --json >"$DIR/out" 2>"$DIR/err" && ok || bad "reports --json with sqlite: prefix"
grep -q '"total": 0' "$DIR/out" && ok || bad "empty JSON total"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM schema_migrations')" = 2 ] && ok || bad "migrations applied twice"
"$CERTPIN" reports --db "$DB" --html "$DIR/r.html" 2>"$DIR/err" && ok || bad "reports --html"
grep -q 'no reports' "$DIR/r.html" && grep -q '</html>' "$DIR/r.html" && ok || bad "empty HTML page"

# a port in use
"$CERTPIN" collect --db "$DB" --listen 127.0.0.1:0 --port-file "$DIR/port" --duration 20 >/dev/null 2>&1 &
PID=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ -s "$DIR/port" ] && break
	sleep 0.2
done
if [ -s "$DIR/port" ]; then
	expect_usage "port in use" collect --db "$DB" --listen "127.0.0.1:$(cat "$DIR/port")" --duration 1
else
	bad "collector did not write its port file"
fi
kill "$PID" 2>/dev/null
wait "$PID"
rc=$?
PID=
[ "$rc" -eq 0 ] && ok || bad "collect after SIGTERM: exit $rc, want 0"

# a database written by a newer certpin is refused and left as it is
sqlite3 "$DB" "INSERT INTO schema_migrations VALUES (99, 'future', 0)"
expect_usage "newer schema (reports)" reports --db "$DB"
expect_usage "newer schema (collect)" collect --db "$DB" --listen 127.0.0.1:0 --duration 1
grep -q 'newer than this certpin' "$DIR/err" && ok || bad "newer schema message: $(cat "$DIR/err")"
[ "$(sqlite3 "$DB" 'SELECT max(version) FROM schema_migrations')" = 99 ] && ok || bad "newer database modified"

# argument errors
expect_usage "no --db" collect
expect_usage "cert without key" collect --db "$DIR/x.sqlite" --tls-cert /dev/null
expect_usage "missing cert file" collect --db "$DIR/x.sqlite" --tls-cert "$DIR/none.pem" --tls-key "$DIR/none.key"
expect_usage "bad listen" collect --db "$DIR/x.sqlite" --listen 127.0.0.1
expect_usage "bad port" collect --db "$DIR/x.sqlite" --listen 127.0.0.1:70000
expect_usage "bad max-body" collect --db "$DIR/x.sqlite" --max-body 10
expect_usage "bad threads" collect --db "$DIR/x.sqlite" --threads 0
expect_usage "negative timeout" collect --db "$DIR/x.sqlite" --timeout -1
expect_usage "unknown option" collect --db "$DIR/x.sqlite" --frobnicate
expect_usage "operand" collect --db "$DIR/x.sqlite" extra
expect_usage "unwritable db" collect --db /nonexistent/dir/x.sqlite --duration 1
expect_usage "reports without db" reports
expect_usage "reports missing file" reports --db "$DIR/none.sqlite"
expect_usage "reports since+days" reports --db "$DB" --since 2026-01-01 --days 3
expect_usage "reports bad days" reports --db "$DB" --days 0
expect_usage "reports bad top" reports --db "$DB" --top 5000
expect_usage "reports json+html" reports --db "$DB" --json --html "$DIR/x.html"
expect_usage "reports bad date" reports --db "$DB" --since 2026-13-01
[ ! -e "$DIR/none.sqlite" ] && ok || bad "reports created a database file"
"$CERTPIN" help collect >/dev/null && ok || bad "help collect"
"$CERTPIN" help reports >/dev/null && ok || bad "help reports"

echo "collect_cli_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
