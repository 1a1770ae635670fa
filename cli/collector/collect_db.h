/*
 * collect_db.h - the report store behind "certpin collect" and "certpin
 * reports": SQLite (default, WAL mode) or PostgreSQL (libpq) behind one small
 * interface.  The schema is created and upgraded by numbered migrations
 * recorded in the table schema_migrations (by cdb_open() only, the
 * collector's); a database whose schema is newer than this program is
 * refused.  All calls on one handle are serialized by a
 * mutex, so a handle may be shared by the collector's threads.
 *
 * SQL given to cdb_query() is written once for both engines: standard SQL
 * with parameters $1, $2, ... (text values; all-digit values are bound as
 * integers on SQLite).
 */
#ifndef CERTPIN_CLI_COLLECT_DB_H
#define CERTPIN_CLI_COLLECT_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdb cdb;

/* Latest schema version this program knows. */
#define CDB_SCHEMA_VERSION 4

/*
 * Open (creating if needed) and migrate.  `spec` is "postgresql://..." or
 * "postgres://..." (a libpq URI), "sqlite:PATH", or a file path.  Returns 0,
 * or -1 with a one-line reason in `err`.
 */
int cdb_open(cdb **out, const char *spec, char *err, size_t errlen);
/*
 * Open for reading only ("certpin reports"): SQLite read-only, a PostgreSQL
 * session in read-only transactions; nothing is created or migrated.  The
 * schema must be exactly CDB_SCHEMA_VERSION, else -1 with "... is older than
 * ...; run certpin collect on it once to migrate it" or "... is newer than
 * this certpin's ...".  cdb_store() fails on such a handle.
 */
int cdb_open_readonly(cdb **out, const char *spec, char *err, size_t errlen);
void cdb_close(cdb *db);

/* "sqlite" or "postgresql". */
const char *cdb_engine(const cdb *db);

/* The schema version (after migrations, for cdb_open()). */
int cdb_schema_version(cdb *db);

typedef struct cdb_pin {
	int depth;
	char pin[80];          /* sha256/B64 of the SPKI */
	int known;             /* 1 if it is one of the report's known pins */
} cdb_pin;

/* Longest Idempotency-Key stored (characters). */
#define CDB_IDEM_KEY_MAX 128

/* A field added here must be copied by commit_copy_report() too (commit.c; a size check fails otherwise). */
typedef struct cdb_report {
	int64_t received_at;   /* Unix time, server clock */
	int64_t report_time;   /* the report's date-time */
	char day[16];          /* YYYY-MM-DD of received_at (UTC) */
	const char *hostname;
	unsigned int port;
	const char *noted_hostname;
	const char *kind;      /* "mismatch", "pinset-expired", "pkix-failure" */
	int enforce;
	uint64_t policy_version;
	const char *served_pin;  /* leaf SPKI pin of the served (else validated) chain */
	char report_key[65];   /* hex dedup key */
	const char *peer;      /* client address */
	const char *body;      /* the report as received */
	const cdb_pin *pins;   /* served (else validated) chain */
	size_t npins;
	/* schema 3: where the report came from */
	const char *format;    /* "certpin", "rfc7469", "trustkit"; NULL: "certpin" */
	const char *app_bundle_id, *app_version, *app_platform;     /* TrustKit's; NULL: none (SQL NULL) */
	const char *app_platform_version, *app_vendor_id, *trustkit_version;
	int validation_result; /* TrustKit's; <= 0: none (SQL NULL) */
	/* schema 4: the sender's Idempotency-Key (unique among stored reports); NULL: none */
	const char *idem_key;
} cdb_report;

/* What became of a report with an idem_key (cdb_store_batch()). */
enum {
	CDB_STORED = 0,        /* stored (also every report without a key) */
	CDB_DUPLICATE = 1,     /* its key was stored before, for the same report_key: a retry, not stored again */
	CDB_KEY_REUSED = 2     /* its key was stored before for another report: not stored */
};

/* Store one report and its pins in one transaction.  0 or -1 (err set); *outcome as below. */
int cdb_store(cdb *db, const cdb_report *r, unsigned char *outcome, char *err, size_t errlen);
/*
 * Store `n` reports in one transaction: all of them, or (-1, err set) none.
 * Returns once the transaction is durable (SQLite: synchronous=FULL).
 * outcome[i] (an array of n) gets CDB_STORED, or for a report whose
 * idem_key was stored before or earlier in the batch, CDB_DUPLICATE or
 * CDB_KEY_REUSED; neither of those stores anything, and both are success.
 */
int cdb_store_batch(cdb *db, const cdb_report *const *r, size_t n, unsigned char *outcome, char *err,
	size_t errlen);

/*
 * Run a query; `row` is called for every result row with the column values
 * as strings (NULL for SQL NULL); a non-zero return stops.  0 or -1.
 */
typedef int (*cdb_row_fn)(int ncols, const char *const *vals, void *payload);
int cdb_query(cdb *db, const char *sql, int nparams, const char *const *params,
	cdb_row_fn row, void *payload, char *err, size_t errlen);

#endif
