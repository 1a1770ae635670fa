# pg.sh - a private PostgreSQL server for the benchmarks (sourced, not run):
# initdb + pg_ctl in a temporary directory, Unix socket only, durable
# settings as shipped (fsync and synchronous_commit on).  PostgreSQL refuses
# to run as root: as root the server runs as "nobody".
#
#   bench_pg_start   a server in a new temporary directory; sets BENCH_PG_URI;
#                    0, or 1 if no server could start
#   bench_pg_stop    stops it (by its pid file) and removes the directory

bench_pg_start() {
	BENCH_PG_DIR=
	BENCH_PG_BIN=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && BENCH_PG_BIN=$d
	done
	[ -n "$BENCH_PG_BIN" ] || return 1
	BENCH_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/certpin-bench-pg.XXXXXX") || return 1
	BENCH_PG_RUNAS=
	bench_pg_user=$(id -un)
	if [ "$(id -u)" -eq 0 ]; then
		BENCH_PG_RUNAS="runuser -u nobody --"
		bench_pg_user=nobody
		chown nobody "$BENCH_PG_DIR"
		chmod 755 "$BENCH_PG_DIR"
	fi
	bench_pg_port=5$(($$ % 9000 + 1000))
	$BENCH_PG_RUNAS "$BENCH_PG_BIN/initdb" -D "$BENCH_PG_DIR/data" -U "$bench_pg_user" --auth=trust -E UTF8 \
		>"$BENCH_PG_DIR/initdb.log" 2>&1 || return 1
	$BENCH_PG_RUNAS "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -l "$BENCH_PG_DIR/server.log" -w -t 30 \
		-o "-k $BENCH_PG_DIR -p $bench_pg_port -c listen_addresses=" start >/dev/null 2>&1 || return 1
	$BENCH_PG_RUNAS "$BENCH_PG_BIN/createdb" -h "$BENCH_PG_DIR" -p "$bench_pg_port" -U "$bench_pg_user" certpin \
		>/dev/null 2>&1 || return 1
	BENCH_PG_URI="postgresql://$bench_pg_user@/certpin?host=$BENCH_PG_DIR&port=$bench_pg_port"
}

bench_pg_stop() {
	[ -n "${BENCH_PG_DIR:-}" ] || return 0
	if [ -f "$BENCH_PG_DIR/data/postmaster.pid" ]; then
		bench_pg_pid=$(head -n 1 "$BENCH_PG_DIR/data/postmaster.pid" 2>/dev/null || true)
		$BENCH_PG_RUNAS "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -m fast -t 30 stop >/dev/null 2>&1 || true
		# by its PID if pg_ctl could not stop it
		if [ -n "$bench_pg_pid" ] && kill -0 "$bench_pg_pid" 2>/dev/null; then
			kill -9 "$bench_pg_pid" 2>/dev/null || true
		fi
	fi
	rm -rf "$BENCH_PG_DIR"
	BENCH_PG_DIR=
}
