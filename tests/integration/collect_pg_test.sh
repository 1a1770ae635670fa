#!/bin/sh
# collect_pg_test.sh - the report collector on PostgreSQL: start a private
# PostgreSQL server (initdb + pg_ctl, Unix socket in a temporary directory,
# no TCP port), run the whole collect_test program against it, then check the
# versioned migrations (idempotent reopen, refusal of a newer schema; an
# older schema is refused by reports, which never migrates, and migrated by
# collect), one-line connection errors, two collectors on the database
# with one killed under load (collect_durability_test), and the report
# formats (collect_formats_test: TrustKit, RFC 7469, certpin's own; reports
# by app and version) on a second database, their columns read back.
#
# PostgreSQL refuses to run as root: as root the server runs as "nobody".
# Skipped (exit 77, which ctest shows as "Skipped"), with a message saying
# why, only if the server binaries (Debian package postgresql, see
# scripts/install-deps.sh) are not installed.
#
# Environment: CERTPIN (the CLI), CERTPIN_TEST_PKI.  The collect_test program
# and collect_formats_test programs are looked up next to the CLI (tests/).
set -u

CERTPIN=${CERTPIN:?CERTPIN must name the certpin CLI}
COLLECT_TEST=${COLLECT_TEST:-$(dirname "$CERTPIN")/tests/collect_test}
FORMATS_TEST=${FORMATS_TEST:-$(dirname "$CERTPIN")/tests/collect_formats_test}
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "collect_pg_test: FAIL: $*" >&2; }

PGBIN=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && PGBIN=$d
done
if [ -z "$PGBIN" ]; then
	echo "collect_pg_test: SKIPPED: PostgreSQL server binaries (initdb, pg_ctl) not found;" \
		"install the Debian package postgresql (scripts/install-deps.sh) to run this test"
	exit 77
fi
for t in "$COLLECT_TEST" "$FORMATS_TEST"; do
	if [ ! -x "$t" ]; then
		echo "collect_pg_test: $t not built" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/certpin-pg.XXXXXX")
PGDATA=$DIR/data
PORT=5$(( $$ % 9000 + 1000 ))
RUNAS=
if [ "$(id -u)" -eq 0 ]; then
	RUNAS="runuser -u nobody --"
	chown nobody "$DIR"
	chmod 755 "$DIR"
fi
PGUSER=$(if [ -n "$RUNAS" ]; then echo nobody; else id -un; fi)

cleanup() {
	if [ -f "$PGDATA/postmaster.pid" ]; then
		$RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -t 20 stop >/dev/null 2>&1
		# by PID if pg_ctl could not stop it
		pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if ! $RUNAS "$PGBIN/initdb" -D "$PGDATA" -U "$PGUSER" --auth=trust --no-sync -E UTF8 >"$DIR/initdb.log" 2>&1; then
	echo "collect_pg_test: initdb failed:" >&2
	cat "$DIR/initdb.log" >&2
	exit 1
fi
if ! $RUNAS "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DIR/server.log" -w -t 30 \
	-o "-k $DIR -p $PORT -c listen_addresses= -c fsync=off" start >/dev/null 2>&1; then
	echo "collect_pg_test: PostgreSQL did not start:" >&2
	cat "$DIR/server.log" >&2
	exit 1
fi
$RUNAS "$PGBIN/createdb" -h "$DIR" -p "$PORT" -U "$PGUSER" certpin || { echo "createdb failed" >&2; exit 1; }
URI="postgresql://$PGUSER@/certpin?host=$DIR&port=$PORT"
psql_q() { "$PGBIN/psql" -X -q -A -t -h "$DIR" -p "$PORT" -U "$PGUSER" -d certpin -c "$1"; }

# 1. the whole collector test (end to end, malformed, slow, load, reports) on PostgreSQL
if CERTPIN_COLLECT_DB=$URI "$COLLECT_TEST"; then ok; else bad "collect_test on PostgreSQL"; fi

# 1b. the report formats, on a database of their own (the test counts every report in it)
$RUNAS "$PGBIN/createdb" -h "$DIR" -p "$PORT" -U "$PGUSER" formats || { echo "createdb failed" >&2; exit 1; }
FURI="postgresql://$PGUSER@/formats?host=$DIR&port=$PORT"
if CERTPIN_COLLECT_DB=$FURI "$FORMATS_TEST"; then ok; else bad "collect_formats_test on PostgreSQL"; fi
row=$("$PGBIN/psql" -X -q -A -t -h "$DIR" -p "$PORT" -U "$PGUSER" -d formats -c "SELECT format, app_bundle_id,
	app_version, app_platform, app_platform_version, trustkit_version, validation_result, kind, enforce, port
	FROM reports WHERE app_version = '3.1.0'")
[ "$row" = "trustkit|com.example.certpin|3.1.0|IOS|17.4.1|3.0.0|2|pkix-failure|0|0" ] && ok ||
	bad "stored TrustKit report: '$row'"

# 2. migrations: recorded once each, reopening applies nothing new
v=$(psql_q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
[ "$v" = "1,2,3,4" ] && ok || bad "schema_migrations has '$v', want 1,2,3,4"
"$CERTPIN" reports --db "$URI" --json >"$DIR/r.json" 2>"$DIR/r.err" && ok || bad "reports on PostgreSQL: $(cat "$DIR/r.err")"
grep -q '"database": "postgresql"' "$DIR/r.json" && ok || bad "reports does not name the postgresql engine"
grep -q '"schema_version": 4' "$DIR/r.json" && ok || bad "reports schema_version is not 4"
n=$(psql_q "SELECT count(*) FROM schema_migrations")
[ "$n" = "4" ] && ok || bad "reopen added migrations ($n rows)"
n=$(psql_q "SELECT count(*) FROM reports")
[ "$n" -gt 6000 ] 2>/dev/null && ok || bad "only '$n' reports stored"

# 3. a database from a newer certpin is refused, not modified
psql_q "INSERT INTO schema_migrations VALUES (99, 'from the future', 0)" >/dev/null
"$CERTPIN" reports --db "$URI" >/dev/null 2>"$DIR/new.err"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "newer schema: exit $rc, want 3"
grep -q "newer than this certpin" "$DIR/new.err" && ok || bad "newer schema message: $(cat "$DIR/new.err")"

# 4. an older schema (version 1, with the reports of step 1): reports refuses it and changes nothing,
# collect migrates it (indexes; formats and app fields, the reports kept as certpin's own; idempotency keys)
psql_q "DELETE FROM schema_migrations WHERE version = 99" >/dev/null
psql_q "DROP INDEX reports_received, reports_host, reports_idempotency, report_pins_report, report_pins_pin,
		reports_app;
	ALTER TABLE reports DROP COLUMN format, DROP COLUMN app_bundle_id, DROP COLUMN app_version,
		DROP COLUMN app_platform, DROP COLUMN app_platform_version, DROP COLUMN app_vendor_id,
		DROP COLUMN trustkit_version, DROP COLUMN validation_result, DROP COLUMN idempotency_key;
	DELETE FROM schema_migrations WHERE version >= 2" >/dev/null
"$CERTPIN" reports --db "$URI" >/dev/null 2>"$DIR/old.err"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "older schema: exit $rc, want 3"
grep -q "schema version 1 is older than this certpin's (4); run certpin collect on it once to migrate it" \
	"$DIR/old.err" && ok || bad "older schema message: $(cat "$DIR/old.err")"
v=$(psql_q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
[ "$v" = "1" ] && ok || bad "reports migrated the older schema: '$v'"
"$CERTPIN" collect --db "$URI" --listen 127.0.0.1:0 --duration 1 >/dev/null 2>"$DIR/mig.err" && ok ||
	bad "collect on the older schema: $(cat "$DIR/mig.err")"
v=$(psql_q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
[ "$v" = "1,2,3,4" ] && ok || bad "collect did not migrate: '$v'"
n=$(psql_q "SELECT count(*) FROM pg_indexes WHERE indexname IN ('reports_key', 'reports_idempotency')")
[ "$n" = "1" ] && ok || bad "migration 4 indexes ($n)"
n=$(psql_q "SELECT count(*) FROM reports WHERE format <> 'certpin' OR app_bundle_id IS NOT NULL")
[ "$n" = "0" ] && ok || bad "migrated reports are not certpin's own ($n)"
"$CERTPIN" reports --db "$URI" >/dev/null 2>"$DIR/r.err" && ok || bad "reports after migration: $(cat "$DIR/r.err")"

# 5. a server that is not there: one-line error (libpq's tabs and newlines made spaces), exit 3
"$CERTPIN" reports --db "postgresql://$PGUSER@/certpin?host=$DIR&port=1" >/dev/null 2>"$DIR/down.err"
rc=$?
[ "$rc" -eq 3 ] && ok || bad "unreachable server: exit $rc, want 3"
[ "$(wc -l <"$DIR/down.err")" -eq 1 ] && ok || bad "unreachable server: message is not one line"
if grep -q "$(printf '\t')" "$DIR/down.err" || grep -q '  ' "$DIR/down.err" || grep -q ' $' "$DIR/down.err"; then
	bad "unreachable server: tab or extra spaces in the message: $(od -c "$DIR/down.err" | head -n 5)"
else
	ok
fi
grep -q 'Is the server running' "$DIR/down.err" && ok || bad "unreachable server message: $(cat "$DIR/down.err")"

# 6. scale out: two collectors on the database under load, one killed with SIGKILL: every acknowledged
# report stored exactly once, and certpin reports counts them all (collect_durability_test)
DURABILITY_TEST=${DURABILITY_TEST:-$(dirname "$CERTPIN")/tests/collect_durability_test}
if CERTPIN_COLLECT_DB=$URI CERTPIN_COLLECTORS=2 "$DURABILITY_TEST"; then ok; else bad "two collectors, one killed"; fi

echo "collect_pg_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
