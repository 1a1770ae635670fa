/*
 * The summary of stored failure reports (summary.h): failures per host, per
 * served-chain (leaf) pin, per app and app version (TrustKit's reports), per
 * day, per verdict and per report format, and the pins seen most often in
 * failing chains that the policy does not know (a forgotten rotation, or an
 * interception product).  "certpin reports" and the collector's dashboard
 * both call summary_build().
 */
#include "summary.h"

#include <stdlib.h>
#include <string.h>

typedef struct rows {
	json_t *arr;
	const char *const *names;   /* column names; a leading '#' makes the value an integer */
	int ncols;
	int failed;
} rows;

static int add_row(int ncols, const char *const *vals, void *payload)
{
	rows *R = payload;
	json_t *o = json_object();

	if (!o) {
		R->failed = 1;
		return 1;
	}
	for (int i = 0; i < ncols && i < R->ncols; i++) {
		const char *name = R->names[i];
		json_t *v;
		if (!vals[i])
			v = json_null();
		else if (name[0] == '#')
			v = json_integer(strtoll(vals[i], NULL, 10));
		else
			v = json_string(vals[i]);
		if (json_object_set_new(o, name[0] == '#' ? name + 1 : name, v) != 0)
			R->failed = 1;
	}
	if (json_array_append_new(R->arr, o) != 0)
		R->failed = 1;
	return R->failed;
}

json_t *summary_query(cdb *db, const char *sql, const char *const *names, int ncols, const char *since,
	const char *top, char *err, size_t errlen)
{
	rows R = { json_array(), names, ncols, 0 };
	const char *params[2] = { since, top };

	if (!R.arr) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cdb_query(db, sql, strstr(sql, "$2") ? 2 : 1, params, add_row, &R, err, errlen) != 0 || R.failed) {
		if (R.failed)
			snprintf(err, errlen, "out of memory");
		json_decref(R.arr);
		return NULL;
	}
	return R.arr;
}

/* Keep going while *ok: set root[key] to the rows of `sql`, or clear *ok. */
static void set_rows(json_t *root, const char *key, cdb *db, const char *sql, const char *const *names, int ncols,
	const char *since, const char *top, char *err, size_t errlen, int *ok)
{
	json_t *arr;

	if (!*ok)
		return;
	if (!(arr = summary_query(db, sql, names, ncols, since, top, err, errlen)))
		*ok = 0;
	else
		json_object_set_new(root, key, arr);
}

/*
 * Schema 3: failures per app, platform and app version (TrustKit's reports;
 * "devices" counts distinct app-vendor-ids), and per report format.
 */
static void summarize_origins(json_t *root, cdb *db, const char *since_s, const char *top_s, char *err,
	size_t errlen, int *ok)
{
	static const char *const n_apps[] = { "app", "version", "platform", "#reports", "#enforced", "#hosts",
		"#devices", "#distinct", "#last_seen" };
	static const char *const n_formats[] = { "format", "#reports" };

	set_rows(root, "apps", db,
		"SELECT app_bundle_id, app_version, app_platform, COUNT(*), SUM(enforce), COUNT(DISTINCT hostname),"
		" COUNT(DISTINCT app_vendor_id), COUNT(DISTINCT report_key), MAX(received_at) FROM reports"
		" WHERE received_at >= $1 AND app_bundle_id IS NOT NULL"
		" GROUP BY app_bundle_id, app_version, app_platform"
		" ORDER BY COUNT(*) DESC, app_bundle_id, app_version, app_platform LIMIT $2",
		n_apps, 9, since_s, top_s, err, errlen, ok);
	set_rows(root, "formats", db,
		"SELECT format, COUNT(*) FROM reports WHERE received_at >= $1"
		" GROUP BY format ORDER BY COUNT(*) DESC, format", n_formats, 2, since_s, top_s, err, errlen, ok);
}

/* Totals: the members total, enforced, hosts_count, distinct_failures, first_day, last_day of root. */
static void summarize_totals(json_t *root, cdb *db, const char *since_s, const char *top_s, char *err,
	size_t errlen, int *ok)
{
	static const char *const n_total[] = { "#reports", "#enforced", "#hosts", "#distinct", "first_day",
		"last_day" };
	json_t *total = summary_query(db, "SELECT COUNT(*), COALESCE(SUM(enforce), 0), COUNT(DISTINCT hostname),"
		" COUNT(DISTINCT report_key), MIN(day), MAX(day) FROM reports WHERE received_at >= $1",
		n_total, 6, since_s, top_s, err, errlen);
	json_t *t = json_array_get(total, 0);

	if (!t) {
		if (total)
			snprintf(err, errlen, "no totals");
		json_decref(total);
		*ok = 0;
		return;
	}
	json_object_set(root, "total", json_object_get(t, "reports"));
	json_object_set(root, "enforced", json_object_get(t, "enforced"));
	json_object_set(root, "hosts_count", json_object_get(t, "hosts"));
	json_object_set(root, "distinct_failures", json_object_get(t, "distinct"));
	json_object_set(root, "first_day", json_object_get(t, "first_day"));
	json_object_set(root, "last_day", json_object_get(t, "last_day"));
	json_decref(total);
}

/* Failures per day: the newest 366 days, oldest first. */
static void summarize_days(json_t *root, cdb *db, const char *since_s, const char *top_s, char *err, size_t errlen,
	int *ok)
{
	static const char *const n_days[] = { "day", "#reports", "#enforced" };
	json_t *days, *asc;

	if (!*ok)
		return;
	if (!(days = summary_query(db, "SELECT day, COUNT(*), SUM(enforce) FROM reports WHERE received_at >= $1"
			" GROUP BY day ORDER BY day DESC LIMIT 366", n_days, 3, since_s, top_s, err, errlen))) {
		*ok = 0;
		return;
	}
	asc = json_array();
	for (size_t i = json_array_size(days); asc && i > 0; i--)
		json_array_append(asc, json_array_get(days, i - 1));
	json_decref(days);
	json_object_set_new(root, "days", asc);
}

json_t *summary_build(cdb *db, int64_t since, unsigned int top, char *err, size_t errlen)
{
	static const char *const n_hosts[] = { "host", "#reports", "#enforced", "#distinct", "#last_seen" };
	static const char *const n_pins[] = { "pin", "#reports", "#hosts" };
	static const char *const n_unknown[] = { "pin", "#reports", "#hosts", "#min_depth", "#first_seen",
		"#last_seen" };
	static const char *const n_kinds[] = { "verdict", "#reports" };
	char since_s[32], top_s[16];
	int ok = 1;
	json_t *root = json_object();

	if (!root) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(since_s, sizeof(since_s), "%lld", (long long)since);
	snprintf(top_s, sizeof(top_s), "%u", top);
	summarize_totals(root, db, since_s, top_s, err, errlen, &ok);
	set_rows(root, "hosts", db,
		"SELECT hostname, COUNT(*), SUM(enforce), COUNT(DISTINCT report_key), MAX(received_at) FROM reports"
		" WHERE received_at >= $1 GROUP BY hostname ORDER BY COUNT(*) DESC, hostname LIMIT $2",
		n_hosts, 5, since_s, top_s, err, errlen, &ok);
	set_rows(root, "served_pins", db,
		"SELECT served_pin, COUNT(*), COUNT(DISTINCT hostname) FROM reports WHERE received_at >= $1"
		" GROUP BY served_pin ORDER BY COUNT(*) DESC, served_pin LIMIT $2",
		n_pins, 3, since_s, top_s, err, errlen, &ok);
	summarize_days(root, db, since_s, top_s, err, errlen, &ok);
	set_rows(root, "unknown_pins", db,
		"SELECT p.pin, COUNT(*), COUNT(DISTINCT r.hostname), MIN(p.depth), MIN(r.received_at),"
		" MAX(r.received_at) FROM report_pins p JOIN reports r ON r.id = p.report_id"
		" WHERE p.known = 0 AND r.received_at >= $1 GROUP BY p.pin ORDER BY COUNT(*) DESC, p.pin LIMIT $2",
		n_unknown, 6, since_s, top_s, err, errlen, &ok);
	set_rows(root, "verdicts", db,
		"SELECT kind, COUNT(*) FROM reports WHERE received_at >= $1"
		" GROUP BY kind ORDER BY COUNT(*) DESC, kind", n_kinds, 2, since_s, top_s, err, errlen, &ok);
	summarize_origins(root, db, since_s, top_s, err, errlen, &ok);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	json_object_set_new(root, "database", json_string(cdb_engine(db)));
	json_object_set_new(root, "schema_version", json_integer(cdb_schema_version(db)));
	json_object_set_new(root, "since", since ? json_integer(since) : json_null());
	return root;
}
