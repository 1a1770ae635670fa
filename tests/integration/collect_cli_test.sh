#!/bin/sh
# collect_cli_test.sh - "certpin collect" and "certpin reports" as commands on
# SQLite: WAL mode, versioned migrations (recorded once, a newer schema is
# refused untouched; only collect migrates, from schema 1, 2 or 3 with the
# reports kept; reports reads an older schema never and writes nothing),
# argument errors with exit 3 and one-line messages (TLS key not matching
# its certificate, unwritable port file), no
# libmicrohttpd noise with --verbose, a port already in use, an empty
# database summarized.  The HTTP behaviour is tested by collect_test.c.
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI.  Needs the sqlite3
# command (Debian package sqlite3, see scripts/install-deps.sh).
set -u

CERTPIN=${CERTPIN:?CERTPIN must name the certpin CLI}
PKI=${CERTPIN_TEST_PKI:?CERTPIN_TEST_PKI must name the test PKI}
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
	chmod -R u+w "$DIR" 2>/dev/null
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
[ "$(wc -l <"$DIR/err")" -eq 1 ] && ok || bad "more than the summary on stderr: $(cat "$DIR/err")"
# --verbose: libmicrohttpd has nothing to complain about at startup (its logger option comes first)
"$CERTPIN" collect --db "$DB" --listen 127.0.0.1:0 --duration 1 --verbose >"$DIR/out" 2>"$DIR/err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "collect --verbose: exit $rc: $(cat "$DIR/err")"
[ "$(wc -l <"$DIR/err")" -eq 1 ] && grep -q '^certpin: collect: 0 requests' "$DIR/err" && ok ||
	bad "collect --verbose printed more than the summary: $(cat "$DIR/err")"
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal ] && ok || bad "database is not in WAL mode"
[ "$(sqlite3 "$DB" "SELECT group_concat(version) FROM schema_migrations")" = "1,2,3,4" ] && ok ||
	bad "schema_migrations: $(sqlite3 "$DB" 'SELECT * FROM schema_migrations')"

# reopening applies nothing twice; an empty database summarizes
"$CERTPIN" reports --db "$DB" >"$DIR/out" 2>"$DIR/err" && ok || bad "reports on an empty database: $(cat "$DIR/err")"
grep -q '^0 failure reports' "$DIR/out" && ok || bad "empty summary: $(head -n 1 "$DIR/out")"
"$CERTPIN" reports --db "sqlite:$DB" --json >"$DIR/out" 2>"$DIR/err" && ok || bad "reports --json with sqlite: prefix"
grep -q '"total": 0' "$DIR/out" && ok || bad "empty JSON total"
[ "$(sqlite3 "$DB" 'SELECT count(*) FROM schema_migrations')" = 4 ] && ok || bad "migrations applied twice"
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

# reports only reads: the file is unchanged, and a user who may not write the
# file or its directory (no -wal/-shm can be created) still gets a summary
mkdir "$DIR/ro"
cp "$DB" "$DIR/ro/r.sqlite"
touch -d '2020-01-01 00:00:00' "$DIR/ro/r.sqlite"
sum0=$(cksum <"$DIR/ro/r.sqlite")
chmod 0444 "$DIR/ro/r.sqlite"
chmod 0555 "$DIR/ro"
RUNAS=
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1; then
	RUNAS="runuser -u nobody --"   # as root, permission bits do not bind
	chmod 0755 "$DIR"
fi
$RUNAS "$CERTPIN" reports --db "$DIR/ro/r.sqlite" >"$DIR/out" 2>"$DIR/err" && ok ||
	bad "reports on a read-only database: $(cat "$DIR/err")"
grep -q '^0 failure reports' "$DIR/out" && ok || bad "read-only summary: $(head -n 1 "$DIR/out")"
"$CERTPIN" reports --db "$DIR/ro/r.sqlite" --json >/dev/null 2>"$DIR/err" && ok || bad "reports as owner: $(cat "$DIR/err")"
[ "$(cksum <"$DIR/ro/r.sqlite")" = "$sum0" ] && ok || bad "reports changed the database file"
[ "$(stat -c %Y "$DIR/ro/r.sqlite")" = "$(date -d '2020-01-01 00:00:00' +%s)" ] && ok ||
	bad "reports changed the database file's mtime"
[ "$(ls "$DIR/ro")" = r.sqlite ] && ok || bad "reports left files: $(ls "$DIR/ro")"
chmod 0755 "$DIR/ro"
chmod 0644 "$DIR/ro/r.sqlite"

# a database of an older schema: reports refuses it untouched, collect migrates it, the reports in it kept.
# What each migration added, taken away again (SQLite drops a column only once its index is gone):
UNDO_4="DROP INDEX reports_idempotency; ALTER TABLE reports DROP COLUMN idempotency_key;
	CREATE INDEX reports_key ON reports(report_key); DELETE FROM schema_migrations WHERE version = 4;"
UNDO_3="DROP INDEX reports_app; ALTER TABLE reports DROP COLUMN format;
	ALTER TABLE reports DROP COLUMN app_bundle_id; ALTER TABLE reports DROP COLUMN app_version;
	ALTER TABLE reports DROP COLUMN app_platform; ALTER TABLE reports DROP COLUMN app_platform_version;
	ALTER TABLE reports DROP COLUMN app_vendor_id; ALTER TABLE reports DROP COLUMN trustkit_version;
	ALTER TABLE reports DROP COLUMN validation_result; DELETE FROM schema_migrations WHERE version = 3;"
UNDO_2="DROP INDEX reports_received; DROP INDEX reports_host; DROP INDEX reports_key;
	DROP INDEX report_pins_report; DROP INDEX report_pins_pin; DELETE FROM schema_migrations WHERE version = 2;"
# DB of schema FROM: reports refuses it and leaves it at FROM; collect migrates it; reports then reads it.
migrates() { # DB FROM
	expect_usage "schema $2 (reports)" reports --db "$1"
	grep -q "schema version $2 is older than this certpin.s (4); run certpin collect on it once to migrate it" \
		"$DIR/err" && ok || bad "schema $2 message: $(cat "$DIR/err")"
	[ "$(sqlite3 "$1" 'SELECT max(version) FROM schema_migrations')" = "$2" ] && ok ||
		bad "reports migrated the schema $2 database"
	"$CERTPIN" collect --db "$1" --listen 127.0.0.1:0 --duration 1 >/dev/null 2>"$DIR/err" && ok ||
		bad "collect on a schema $2 database: $(cat "$DIR/err")"
	[ "$(sqlite3 "$1" "SELECT group_concat(version) FROM schema_migrations")" = "1,2,3,4" ] && ok ||
		bad "collect did not migrate the schema $2 database"
	"$CERTPIN" reports --db "$1" >"$DIR/out" 2>"$DIR/err" && ok ||
		bad "reports after migration from $2: $(cat "$DIR/err")"
}
# Version 3 (before idempotency keys), as 3 left it:
V3=$DIR/v3.sqlite
cp "$DB" "$V3"
sqlite3 "$V3" "$UNDO_4"
migrates "$V3" 3
# schema 4: the key's unique index in place of the index on report_key
[ "$(sqlite3 "$V3" "SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'reports'
	ORDER BY name")" = "reports_received,reports_host,reports_app,reports_idempotency" ] && ok ||
	bad "schema 4 indexes: $(sqlite3 "$V3" "SELECT name FROM sqlite_master WHERE type = 'index'")"
# Version 2 (before the report formats), holding one of certpin's own reports:
OLD=$DIR/old.sqlite
cp "$V3" "$OLD"
sqlite3 "$OLD" "$UNDO_4 $UNDO_3
	INSERT INTO reports VALUES (1, 1796000000, 1796000000, '2026-11-30', 'old.certpin.test', 443,
		'old.certpin.test', 'mismatch', 1, 0, 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'k', '127.0.0.1', '{}');
	INSERT INTO report_pins VALUES (1, 0, 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 0)"
sum0=$(cksum <"$OLD")
expect_usage "older schema (reports)" reports --db "$OLD"
[ "$(cksum <"$OLD")" = "$sum0" ] && ok || bad "reports changed the older database"
migrates "$OLD" 2
[ "$(sqlite3 "$OLD" "SELECT hostname, format, app_bundle_id IS NULL, validation_result IS NULL,
	idempotency_key IS NULL FROM reports")" = "old.certpin.test|certpin|1|1|1" ] && ok ||
	bad "migrated report: $(sqlite3 "$OLD" 'SELECT * FROM reports')"
grep -q '^1 failure reports' "$DIR/out" && ok || bad "migrated summary: $(head -n 1 "$DIR/out")"
# version 1 (before the indexes): every migration since is applied in order
V1=$DIR/v1.sqlite
cp "$OLD" "$V1"
sqlite3 "$V1" "$UNDO_4 $UNDO_3 $UNDO_2"
migrates "$V1" 1
# not a certpin database at all
sqlite3 "$DIR/other.sqlite" "CREATE TABLE t (x)"
expect_usage "not a report database" reports --db "$DIR/other.sqlite"
grep -q 'not a certpin report database' "$DIR/err" && ok || bad "foreign database message: $(cat "$DIR/err")"

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
expect_usage "key of another certificate" collect --db "$DIR/x.sqlite" --listen 127.0.0.1:0 --duration 1 \
	--tls-cert "$PKI/chain.pem" --tls-key "$PKI/backup.key"
grep -q "the key in $PKI/backup.key does not match the certificate in $PKI/chain.pem" "$DIR/err" && ok ||
	bad "mismatched key message: $(cat "$DIR/err")"
expect_usage "not a certificate" collect --db "$DIR/x.sqlite" --listen 127.0.0.1:0 --duration 1 \
	--tls-cert "$PKI/leaf.key" --tls-key "$PKI/leaf.key"
grep -q "leaf.key: no PEM certificate" "$DIR/err" && ok || bad "bad certificate message: $(cat "$DIR/err")"
expect_usage "not a key" collect --db "$DIR/x.sqlite" --listen 127.0.0.1:0 --duration 1 \
	--tls-cert "$PKI/chain.pem" --tls-key "$PKI/chain.pem"
grep -q "chain.pem: no unencrypted PEM private key" "$DIR/err" && ok || bad "bad key message: $(cat "$DIR/err")"
expect_usage "unwritable port file" collect --db "$DIR/x.sqlite" --listen 127.0.0.1:0 --duration 1 \
	--port-file "$DIR/no/such/dir/port"
grep -q "cannot write $DIR/no/such/dir/port" "$DIR/err" && ! grep -q 'requests' "$DIR/err" && ok ||
	bad "unwritable port file message: $(cat "$DIR/err")"
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
expect_usage "reports day not in month" reports --db "$DB" --since 2026-02-31
expect_usage "reports signed hour" reports --db "$DB" --since 2026-01-01T-1:00:00Z
"$CERTPIN" reports --db "$OLD" --since 2028-02-29 >/dev/null 2>"$DIR/err" && ok || bad "leap day: $(cat "$DIR/err")"
[ ! -e "$DIR/none.sqlite" ] && ok || bad "reports created a database file"
"$CERTPIN" help collect >/dev/null && ok || bad "help collect"
"$CERTPIN" help reports >/dev/null && ok || bad "help reports"

echo "collect_cli_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
