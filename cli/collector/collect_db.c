/*
 * collect_db.c - report store: SQLite or PostgreSQL behind collect_db.h, with
 * versioned schema migrations.
 */
#include "collect_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#define CDB_PINS_MAX 16                     /* pins of one report stored (CERTPIN_REPORT_CHAIN_MAX) */

typedef enum { ENGINE_SQLITE = 1, ENGINE_PG = 2 } engine;

struct cdb {
	engine kind;
	sqlite3 *lite;
	PGconn *pg;
	sqlite3_stmt *ins_report, *ins_pin;   /* SQLite prepared statements */
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *key_owner;              /* the report_key stored with an idempotency key */
	pthread_mutex_t mu;
	int version;
	int pg_prepared;                      /* PostgreSQL: the batch insert is prepared on this session */
};

/*
 * Schema 3: the format of each report and TrustKit's app fields (NULL for
 * the other formats); the same SQL on both engines (one column per ALTER
 * for SQLite).  Older rows are certpin's own reports.
 */
#define MIGRATION_3_SQL \
	"ALTER TABLE reports ADD COLUMN format TEXT NOT NULL DEFAULT 'certpin';" \
	"ALTER TABLE reports ADD COLUMN app_bundle_id TEXT;" \
	"ALTER TABLE reports ADD COLUMN app_version TEXT;" \
	"ALTER TABLE reports ADD COLUMN app_platform TEXT;" \
	"ALTER TABLE reports ADD COLUMN app_platform_version TEXT;" \
	"ALTER TABLE reports ADD COLUMN app_vendor_id TEXT;" \
	"ALTER TABLE reports ADD COLUMN trustkit_version TEXT;" \
	"ALTER TABLE reports ADD COLUMN validation_result INTEGER;" \
	"CREATE INDEX reports_app ON reports(app_bundle_id, app_version);"

/*
 * Schema 4: the sender's Idempotency-Key, unique among the stored reports
 * (a retry of a report already stored is not stored twice), and without the
 * index on report_key: no query looks a key up (reports counts distinct
 * keys per group), and its random keys cost every small transaction one
 * more page written per report.
 */
#define MIGRATION_4_SQL \
	"ALTER TABLE reports ADD COLUMN idempotency_key TEXT;" \
	"DROP INDEX reports_key;" \
	"CREATE UNIQUE INDEX reports_idempotency ON reports(idempotency_key) WHERE idempotency_key IS NOT NULL;"

/* One migration: SQL for each engine (several statements allowed). */
static const struct migration {
	int version;
	const char *description;
	const char *sqlite_sql;
	const char *pg_sql;
} migrations[] = {
	{ 1, "reports and report_pins tables",
		"CREATE TABLE reports ("
		" id INTEGER PRIMARY KEY,"
		" received_at BIGINT NOT NULL, report_time BIGINT NOT NULL, day TEXT NOT NULL,"
		" hostname TEXT NOT NULL, port INTEGER NOT NULL, noted_hostname TEXT NOT NULL,"
		" kind TEXT NOT NULL, enforce INTEGER NOT NULL, policy_version BIGINT NOT NULL,"
		" served_pin TEXT NOT NULL, report_key TEXT NOT NULL, peer TEXT NOT NULL, body TEXT NOT NULL);"
		"CREATE TABLE report_pins ("
		" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
		" depth INTEGER NOT NULL, pin TEXT NOT NULL, known INTEGER NOT NULL);",
		"CREATE TABLE reports ("
		" id BIGSERIAL PRIMARY KEY,"
		" received_at BIGINT NOT NULL, report_time BIGINT NOT NULL, day TEXT NOT NULL,"
		" hostname TEXT NOT NULL, port INTEGER NOT NULL, noted_hostname TEXT NOT NULL,"
		" kind TEXT NOT NULL, enforce INTEGER NOT NULL, policy_version BIGINT NOT NULL,"
		" served_pin TEXT NOT NULL, report_key TEXT NOT NULL, peer TEXT NOT NULL, body TEXT NOT NULL);"
		"CREATE TABLE report_pins ("
		" report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
		" depth INTEGER NOT NULL, pin TEXT NOT NULL, known INTEGER NOT NULL);" },
	{ 2, "indexes for the summaries",
		"CREATE INDEX reports_received ON reports(received_at);"
		"CREATE INDEX reports_host ON reports(hostname);"
		"CREATE INDEX reports_key ON reports(report_key);"
		"CREATE INDEX report_pins_report ON report_pins(report_id);"
		"CREATE INDEX report_pins_pin ON report_pins(pin);",
		"CREATE INDEX reports_received ON reports(received_at);"
		"CREATE INDEX reports_host ON reports(hostname);"
		"CREATE INDEX reports_key ON reports(report_key);"
		"CREATE INDEX report_pins_report ON report_pins(report_id);"
		"CREATE INDEX report_pins_pin ON report_pins(pin);" },
	{ 3, "report formats and TrustKit's app fields", MIGRATION_3_SQL, MIGRATION_3_SQL },
	{ 4, "idempotency keys; no index on report_key", MIGRATION_4_SQL, MIGRATION_4_SQL },
};

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		/* one line: every run of spaces, tabs and line breaks (libpq's "...\n\tIs the server running") is one space */
		char *w = err;
		for (const char *p = err; *p; p++) {
			int ws = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f';
			if (!ws)
				*w++ = *p;
			else if (w > err && w[-1] != ' ')
				*w++ = ' ';
		}
		while (w > err && w[-1] == ' ')
			w--;
		*w = '\0';
	}
	return -1;
}

const char *cdb_engine(const cdb *db)
{
	return db->kind == ENGINE_PG ? "postgresql" : "sqlite";
}

int cdb_schema_version(cdb *db)
{
	return db->version;
}

/* ---- statement execution (caller holds the mutex) ----------------------- */

static int exec_script(cdb *db, const char *sql, char *err, size_t errlen)
{
	if (db->kind == ENGINE_SQLITE) {
		char *msg = NULL;
		if (sqlite3_exec(db->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
			fail(err, errlen, "sqlite: %s", msg ? msg : sqlite3_errmsg(db->lite));
			sqlite3_free(msg);
			return -1;
		}
		return 0;
	}
	PGresult *res = PQexec(db->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = fail(err, errlen, "postgresql: %s", PQresultErrorMessage(res));
	PQclear(res);
	return rc;
}

static int all_digits(const char *s)
{
	if (!*s || strlen(s) > 18)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int query_locked(cdb *db, const char *sql, int nparams, const char *const *params,
	cdb_row_fn row, void *payload, char *err, size_t errlen)
{
	if (db->kind == ENGINE_SQLITE) {
		sqlite3_stmt *st = NULL;
		int rc;
		if (sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL) != SQLITE_OK)
			return fail(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
		for (int i = 0; i < nparams; i++) {
			char name[16];
			snprintf(name, sizeof(name), "$%d", i + 1);
			int idx = sqlite3_bind_parameter_index(st, name);
			if (idx == 0)
				continue;
			if (!params[i])
				sqlite3_bind_null(st, idx);
			else if (all_digits(params[i]))
				sqlite3_bind_int64(st, idx, strtoll(params[i], NULL, 10));
			else
				sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT);
		}
		int ncols = sqlite3_column_count(st);
		const char *vals[32];
		if (ncols > 32)
			ncols = 32;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int c = 0; c < ncols; c++)
				vals[c] = (const char *)sqlite3_column_text(st, c);
			if (row && row(ncols, vals, payload) != 0)
				break;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			fail(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
		return 0;
	}
	PGresult *res = PQexecParams(db->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		fail(err, errlen, "postgresql: %s", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	int nrows = PQntuples(res), ncols = PQnfields(res);
	const char *vals[32];
	if (ncols > 32)
		ncols = 32;
	for (int r = 0; r < nrows; r++) {
		for (int c = 0; c < ncols; c++)
			vals[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
		if (row && row(ncols, vals, payload) != 0)
			break;
	}
	PQclear(res);
	return 0;
}

int cdb_query(cdb *db, const char *sql, int nparams, const char *const *params,
	cdb_row_fn row, void *payload, char *err, size_t errlen)
{
	pthread_mutex_lock(&db->mu);
	int rc = query_locked(db, sql, nparams, params, row, payload, err, errlen);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* ---- migrations ---------------------------------------------------------- */

static int max_version_row(int ncols, const char *const *vals, void *payload)
{
	*(int *)payload = ncols > 0 && vals[0] ? atoi(vals[0]) : 0;
	return 1;
}

static int latest_version(void)
{
	return migrations[sizeof(migrations) / sizeof(migrations[0]) - 1].version;
}

static int migrate(cdb *db, char *err, size_t errlen)
{
	int cur = 0;
	const int latest = latest_version();

	/*
	 * One migrator at a time: SQLite's write lock, or a PostgreSQL advisory
	 * lock, taken before the first statement, so that collectors starting
	 * together on a new database do not both create the table.
	 */
	if (exec_script(db, db->kind == ENGINE_SQLITE ? "BEGIN IMMEDIATE" :
			"BEGIN; SELECT pg_advisory_xact_lock(7469)", err, errlen) != 0)
		return -1;
	if (exec_script(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
			err, errlen) != 0)
		goto rollback;
	if (query_locked(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", 0, NULL,
			max_version_row, &cur, err, errlen) != 0)
		goto rollback;
	if (cur > latest) {
		fail(err, errlen, "database schema version %d is newer than this certpin's (%d)", cur, latest);
		goto rollback;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const struct migration *m = &migrations[i];
		char v[16], t[32];
		const char *params[3] = { v, m->description, t };
		if (m->version <= cur)
			continue;
		if (exec_script(db, db->kind == ENGINE_SQLITE ? m->sqlite_sql : m->pg_sql, err, errlen) != 0)
			goto rollback;
		snprintf(v, sizeof(v), "%d", m->version);
		snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
		if (query_locked(db, "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
				3, params, NULL, NULL, err, errlen) != 0)
			goto rollback;
		cur = m->version;
	}
	if (exec_script(db, "COMMIT", err, errlen) != 0)
		return -1;
	db->version = cur;
	return 0;
rollback:
	exec_script(db, "ROLLBACK", NULL, 0);
	return -1;
}

/*
 * Read-only: the schema must be exactly this program's; nothing is created
 * or upgraded (that is the collector's job, run as the database's owner).
 */
static int check_version(cdb *db, char *err, size_t errlen)
{
	int cur = 0, found = 0, latest = latest_version();

	if (query_locked(db, db->kind == ENGINE_SQLITE ?
			"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'" :
			"SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
			" AND table_schema = current_schema()",
			0, NULL, max_version_row, &found, err, errlen) != 0)
		return -1;
	if (!found)
		return fail(err, errlen, "not a certpin report database (no schema_migrations table);"
			" run certpin collect on it once to create the schema");
	if (query_locked(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", 0, NULL,
			max_version_row, &cur, err, errlen) != 0)
		return -1;
	if (cur > latest)
		return fail(err, errlen, "database schema version %d is newer than this certpin's (%d)", cur, latest);
	if (cur < latest)
		return fail(err, errlen, "database schema version %d is older than this certpin's (%d);"
			" run certpin collect on it once to migrate it", cur, latest);
	db->version = cur;
	return 0;
}

/* ---- open / close ---------------------------------------------------------- */

static void pg_quiet(void *arg, const char *message)
{
	(void)arg, (void)message;
}

/*
 * The statements of every store, prepared once.  A report whose
 * idempotency key is already stored inserts no row (DO NOTHING, not INSERT
 * OR IGNORE, which would also skip a row that breaks any other constraint).
 */
static int prepare_sqlite(cdb *db, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(db->lite,
			"INSERT INTO reports (received_at, report_time, day, hostname, port, noted_hostname, kind, enforce,"
			" policy_version, served_pin, report_key, peer, body, format, app_bundle_id, app_version,"
			" app_platform, app_platform_version, app_vendor_id, trustkit_version, validation_result,"
			" idempotency_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
			" ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
			-1, &db->ins_report, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db->lite, "INSERT INTO report_pins (report_id, depth, pin, known) VALUES (?,?,?,?)",
			-1, &db->ins_pin, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db->lite, "BEGIN IMMEDIATE", -1, &db->begin, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db->lite, "COMMIT", -1, &db->commit, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db->lite, "ROLLBACK", -1, &db->rollback, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db->lite, "SELECT report_key FROM reports WHERE idempotency_key = ?", -1, &db->key_owner,
			NULL) != SQLITE_OK)
		return fail(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
	return 0;
}

static int journal_row(int ncols, const char *const *vals, void *payload)
{
	snprintf(payload, 16, "%s", ncols > 0 && vals[0] ? vals[0] : "");
	return 1;
}

/*
 * A reader's SQLite connection.  While a collector has the database open its
 * WAL file exists, and a read-only connection shares the WAL index (-shm)
 * with it.  Without a WAL file no writer is active and the main file holds
 * everything: it is opened "immutable", which reads it without locks and
 * without creating -wal/-shm files (so a user who may only read the file and
 * its directory can still summarize it, and nothing is left behind).
 */
static int open_sqlite_readonly(cdb *db, const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(path);
	char *wal = malloc(n + 5), *uri = malloc(3 * n + 32), *u;
	int immutable, rc = -1;

	if (!wal || !uri) {
		free(wal);
		free(uri);
		return fail(err, errlen, "out of memory");
	}
	snprintf(wal, n + 5, "%s-wal", path);
	immutable = access(wal, F_OK) != 0 && errno == ENOENT;
	if (!immutable) {
		if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK)
			rc = 0;
		goto out;
	}
	/* file: URI; the path percent-encoded, "file:///abs" or "file:rel" */
	u = uri + sprintf(uri, "file:%s", path[0] == '/' ? "//" : "");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("/._~-", *p)) {
			*u++ = (char)*p;
		} else {
			*u++ = '%';
			*u++ = hex[*p >> 4];
			*u++ = hex[*p & 15];
		}
	}
	strcpy(u, "?immutable=1");
	if (sqlite3_open_v2(uri, &db->lite, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) ==
			SQLITE_OK)
		rc = 0;
out:
	if (rc != 0)
		fail(err, errlen, "sqlite: %s: %s", path, db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
	free(wal);
	free(uri);
	return rc;
}

static int open_db(cdb **out, const char *spec, int readonly, char *err, size_t errlen)
{
	cdb *db;

	*out = NULL;
	if (!spec || !*spec)
		return fail(err, errlen, "empty database name");
	if (!(db = calloc(1, sizeof(*db))))
		return fail(err, errlen, "out of memory");
	pthread_mutex_init(&db->mu, NULL);
	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0) {
		db->kind = ENGINE_PG;
		db->pg = PQconnectdb(spec);
		if (!db->pg || PQstatus(db->pg) != CONNECTION_OK) {
			fail(err, errlen, "postgresql: %s", db->pg ? PQerrorMessage(db->pg) : "out of memory");
			goto err;
		}
		PQsetNoticeProcessor(db->pg, pg_quiet, NULL);
		/* a reader's session cannot write, whatever its role may do */
		if (readonly && exec_script(db, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", err, errlen) != 0)
			goto err;
	} else {
		const char *path = strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : spec;
		char mode[16] = "";
		db->kind = ENGINE_SQLITE;
		if (readonly) {
			if (open_sqlite_readonly(db, path, err, errlen) != 0)
				goto err;
		} else if (sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				NULL) != SQLITE_OK) {
			fail(err, errlen, "sqlite: %s: %s", path, db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
			goto err;
		}
		sqlite3_busy_timeout(db->lite, 5000);
		/* a reader leaves the journal mode and the file as they are */
		if (!readonly) {
			if (query_locked(db, "PRAGMA journal_mode=WAL", 0, NULL, journal_row, mode, err, errlen) != 0)
				goto err;
			if (strcmp(mode, "wal") != 0) {
				fail(err, errlen, "sqlite: %s: cannot switch to WAL mode (got '%s')", path, mode);
				goto err;
			}
			/*
			 * FULL: every COMMIT syncs the WAL, so a committed report survives a
			 * power cut as well as a kill -9 (NORMAL would survive only the
			 * latter).  The collector pays one sync per batch (commit.c).
			 */
			if (exec_script(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", err, errlen) != 0)
				goto err;
		}
	}
	if (readonly ? check_version(db, err, errlen) != 0 : migrate(db, err, errlen) != 0)
		goto err;
	if (!readonly && db->kind == ENGINE_SQLITE && prepare_sqlite(db, err, errlen) != 0)
		goto err;
	*out = db;
	return 0;
err:
	cdb_close(db);
	return -1;
}

int cdb_open(cdb **out, const char *spec, char *err, size_t errlen)
{
	return open_db(out, spec, 0, err, errlen);
}

int cdb_open_readonly(cdb **out, const char *spec, char *err, size_t errlen)
{
	return open_db(out, spec, 1, err, errlen);
}

void cdb_close(cdb *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->ins_report);
	sqlite3_finalize(db->ins_pin);
	sqlite3_finalize(db->begin);
	sqlite3_finalize(db->commit);
	sqlite3_finalize(db->rollback);
	sqlite3_finalize(db->key_owner);
	if (db->lite)
		sqlite3_close(db->lite);
	if (db->pg)
		PQfinish(db->pg);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

/* ---- store ----------------------------------------------------------------- */

/* Schema 3's and 4's columns, parameters 14 to 22 (unset ones stay NULL). */
static void bind_origin(sqlite3_stmt *s, const cdb_report *r)
{
	if (r->idem_key)
		sqlite3_bind_text(s, 22, r->idem_key, -1, SQLITE_STATIC);
	const char *text[7] = { r->format ? r->format : "certpin", r->app_bundle_id, r->app_version, r->app_platform,
		r->app_platform_version, r->app_vendor_id, r->trustkit_version };

	for (int i = 0; i < 7; i++)
		if (text[i])
			sqlite3_bind_text(s, 14 + i, text[i], -1, SQLITE_STATIC);
	if (r->validation_result > 0)
		sqlite3_bind_int(s, 21, r->validation_result);
}

/*
 * A report whose idempotency key is stored already: CDB_DUPLICATE if the
 * stored one has the same report_key (host, port, verdict, chain: a retry),
 * else CDB_KEY_REUSED.  `stored` NULL (not visible): taken for a retry.
 */
static unsigned char key_outcome(const cdb_report *r, const char *stored)
{
	return !stored || strcmp(stored, r->report_key) == 0 ? CDB_DUPLICATE : CDB_KEY_REUSED;
}

/* Insert one report and its pins (in the caller's transaction); *outcome as cdb_store_batch()'s. */
static int insert_sqlite(cdb *db, const cdb_report *r, unsigned char *outcome, char *err, size_t errlen)
{
	sqlite3_stmt *s = db->ins_report;
	int rc;

	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, r->received_at);
	sqlite3_bind_int64(s, 2, r->report_time);
	sqlite3_bind_text(s, 3, r->day, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, (int)r->port);
	sqlite3_bind_text(s, 6, r->noted_hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 8, r->enforce);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)(r->policy_version & INT64_MAX));
	sqlite3_bind_text(s, 10, r->served_pin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, r->report_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 12, r->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 13, r->body, -1, SQLITE_STATIC);
	bind_origin(s, r);
	rc = sqlite3_step(s);
	sqlite3_clear_bindings(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto err;
	if (sqlite3_changes(db->lite) == 0) {
		sqlite3_stmt *k = db->key_owner;
		sqlite3_bind_text(k, 1, r->idem_key, -1, SQLITE_STATIC);
		rc = sqlite3_step(k);
		*outcome = key_outcome(r, rc == SQLITE_ROW ? (const char *)sqlite3_column_text(k, 0) : NULL);
		sqlite3_reset(k);
		sqlite3_clear_bindings(k);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto err;
		return 0;
	}
	sqlite3_int64 id = sqlite3_last_insert_rowid(db->lite);
	for (size_t i = 0; i < r->npins; i++) {
		sqlite3_stmt *p = db->ins_pin;
		sqlite3_bind_int64(p, 1, id);
		sqlite3_bind_int(p, 2, r->pins[i].depth);
		sqlite3_bind_text(p, 3, r->pins[i].pin, -1, SQLITE_STATIC);
		sqlite3_bind_int(p, 4, r->pins[i].known);
		rc = sqlite3_step(p);
		sqlite3_clear_bindings(p);
		sqlite3_reset(p);
		if (rc != SQLITE_DONE)
			goto err;
	}
	return 0;
err:
	return fail(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
}

/*
 * PostgreSQL: a batch is one pipeline (one round trip): BEGIN, one prepared
 * statement per report that inserts it and its pins, COMMIT.  The statement
 * returns how many reports it inserted: 0 when the report's idempotency key
 * is stored already (then no pins either), and the report_key stored with
 * that key (NULL if the row is not in the statement's snapshot yet).  Two collectors inserting the
 * same key at once: the second waits for the first's transaction, then
 * inserts nothing.
 */
#define PG_INSERT_PARAMS 25
#define PG_INSERT_BATCH \
	"WITH r AS (INSERT INTO reports (received_at, report_time, day, hostname, port, noted_hostname, kind, enforce," \
	" policy_version, served_pin, report_key, peer, body, format, app_bundle_id, app_version, app_platform," \
	" app_platform_version, app_vendor_id, trustkit_version, validation_result, idempotency_key)" \
	" VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$25)" \
	" ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id)," \
	" p AS (INSERT INTO report_pins (report_id, depth, pin, known)" \
	" SELECT r.id, p.depth, p.pin, p.known FROM r, unnest($22::int[], $23::text[], $24::int[]) AS p(depth, pin, known))" \
	" SELECT (SELECT COUNT(*) FROM r), (SELECT report_key FROM reports WHERE idempotency_key = $25)"

/* Send one report of a pipelined batch: 0, or -1. */
static int send_pg_report(PGconn *pg, const cdb_report *r)
{
	char received[32], rtime[32], port[16], enforce[4], pv[32], vr[16];
	char depths[16 * CDB_PINS_MAX], pins[96 * CDB_PINS_MAX], known[8 * CDB_PINS_MAX];
	const char *params[PG_INSERT_PARAMS] = { received, rtime, r->day, r->hostname, port, r->noted_hostname,
		r->kind, enforce, pv, r->served_pin, r->report_key, r->peer, r->body, r->format ? r->format : "certpin",
		r->app_bundle_id, r->app_version, r->app_platform, r->app_platform_version, r->app_vendor_id,
		r->trustkit_version, r->validation_result > 0 ? vr : NULL, depths, pins, known, r->idem_key };
	size_t d = 0, p = 0, k = 0, np = r->npins < CDB_PINS_MAX ? r->npins : CDB_PINS_MAX;

	snprintf(received, sizeof(received), "%lld", (long long)r->received_at);
	snprintf(rtime, sizeof(rtime), "%lld", (long long)r->report_time);
	snprintf(port, sizeof(port), "%u", r->port);
	snprintf(enforce, sizeof(enforce), "%d", r->enforce ? 1 : 0);
	snprintf(pv, sizeof(pv), "%llu", (unsigned long long)(r->policy_version & INT64_MAX));
	snprintf(vr, sizeof(vr), "%d", r->validation_result);
	/* array literals; a pin is sha256/ and base64: nothing to escape inside the quotes */
	d += (size_t)snprintf(depths, sizeof(depths), "{");
	p += (size_t)snprintf(pins, sizeof(pins), "{");
	k += (size_t)snprintf(known, sizeof(known), "{");
	for (size_t i = 0; i < np; i++) {
		const char *sep = i ? "," : "";
		d += (size_t)snprintf(depths + d, sizeof(depths) - d, "%s%d", sep, r->pins[i].depth);
		p += (size_t)snprintf(pins + p, sizeof(pins) - p, "%s\"%s\"", sep, r->pins[i].pin);
		k += (size_t)snprintf(known + k, sizeof(known) - k, "%s%d", sep, r->pins[i].known ? 1 : 0);
	}
	snprintf(depths + d, sizeof(depths) - d, "}");
	snprintf(pins + p, sizeof(pins) - p, "}");
	snprintf(known + k, sizeof(known) - k, "}");
	return PQsendQueryPrepared(pg, "certpin_insert", PG_INSERT_PARAMS, params, NULL, NULL, 0) == 1 ? 0 : -1;
}

/*
 * Read the results of a batch's pipeline (BEGIN, the inserts of r[0..n-1],
 * COMMIT) and its sync: 0, or -1 with the first error.  outcome[i] as
 * cdb_store_batch()'s.
 */
static int read_pipeline(PGconn *pg, const cdb_report *const *r, size_t n, unsigned char *outcome, char *err,
	size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < n + 2; i++) {
		PGresult *res;
		while ((res = PQgetResult(pg)) != NULL) {
			ExecStatusType st = PQresultStatus(res);
			if (rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
				rc = fail(err, errlen, "postgresql: %s", st == PGRES_PIPELINE_ABORTED ?
					"batch aborted" : PQresultErrorMessage(res));
			if (st == PGRES_TUPLES_OK && i >= 1 && i <= n && PQntuples(res) == 1 &&
				strcmp(PQgetvalue(res, 0, 0), "0") == 0)
				outcome[i - 1] = key_outcome(r[i - 1], PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1));
			PQclear(res);
		}
	}
	PGresult *res = PQgetResult(pg);
	if (PQresultStatus(res) != PGRES_PIPELINE_SYNC && rc == 0)
		rc = fail(err, errlen, "postgresql: %s", PQerrorMessage(pg));
	PQclear(res);
	return rc;
}

static int store_batch_pg(cdb *db, const cdb_report *const *r, size_t n, unsigned char *outcome, char *err,
	size_t errlen)
{
	PGconn *pg = db->pg;
	int rc = 0;

	if (!db->pg_prepared) {
		PGresult *res = PQprepare(pg, "certpin_insert", PG_INSERT_BATCH, PG_INSERT_PARAMS, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = fail(err, errlen, "postgresql: %s", PQresultErrorMessage(res));
		PQclear(res);
		if (rc != 0)
			return rc;
		db->pg_prepared = 1;
	}
	if (PQenterPipelineMode(pg) != 1)
		return fail(err, errlen, "postgresql: %s", PQerrorMessage(pg));
	if (PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1)
		rc = -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = send_pg_report(pg, r[i]);
	if (rc == 0 && (PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) != 1 || PQpipelineSync(pg) != 1))
		rc = -1;
	if (rc != 0)
		fail(err, errlen, "postgresql: %s", PQerrorMessage(pg));
	else
		rc = read_pipeline(pg, r, n, outcome, err, errlen);
	if (PQexitPipelineMode(pg) != 1 && rc == 0)
		rc = fail(err, errlen, "postgresql: %s", PQerrorMessage(pg));
	return rc;
}

/*
 * One transaction for the whole batch.  SQLite: BEGIN IMMEDIATE takes the
 * write lock at once (no deadlock upgrading a read lock), and COMMIT returns
 * once the WAL is synced (synchronous=FULL).
 * PostgreSQL: COMMIT returns once the server has flushed its WAL
 * (synchronous_commit as the server sets it).
 */
/* Step one of the prepared transaction statements: 0, or -1 with SQLite's message. */
static int step_sqlite(cdb *db, sqlite3_stmt *st, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(err, errlen, "sqlite: %s", sqlite3_errmsg(db->lite));
}

int cdb_store_batch(cdb *db, const cdb_report *const *r, size_t n, unsigned char *outcome, char *err,
	size_t errlen)
{
	int rc = 0;

	if (err && errlen)
		err[0] = '\0';
	memset(outcome, CDB_STORED, n);
	pthread_mutex_lock(&db->mu);
	if (db->kind == ENGINE_PG) {
		/* a PostgreSQL server that restarted: reconnect once (its prepared statement is gone); else 503 */
		if (PQstatus(db->pg) != CONNECTION_OK) {
			PQreset(db->pg);
			db->pg_prepared = 0;
		}
		rc = store_batch_pg(db, r, n, outcome, err, errlen);
		goto out;
	}
	if (!db->begin) {
		rc = fail(err, errlen, "sqlite: the database is open read-only");
		goto out;
	}
	if (step_sqlite(db, db->begin, err, errlen) != 0) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = insert_sqlite(db, r[i], &outcome[i], err, errlen);
	if (rc == 0)
		rc = step_sqlite(db, db->commit, err, errlen);
	if (rc != 0 && sqlite3_get_autocommit(db->lite) == 0)
		step_sqlite(db, db->rollback, NULL, 0);
out:
	pthread_mutex_unlock(&db->mu);
	if (rc != 0)
		memset(outcome, CDB_STORED, n);
	return rc;
}

int cdb_store(cdb *db, const cdb_report *r, unsigned char *outcome, char *err, size_t errlen)
{
	return cdb_store_batch(db, &r, 1, outcome, err, errlen);
}
