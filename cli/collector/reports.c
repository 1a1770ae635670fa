/*
 * certpin reports: summarize the failure reports a collector stored --
 * failures per host, per served-chain (leaf) pin, per app and app version
 * (TrustKit's reports), per day, per verdict and per report format, and the
 * pins seen most often in failing chains that the policy does not know (a
 * forgotten rotation, or an interception product).  Text, --json, or a
 * self-contained HTML page with an SVG chart (--html); or one table grouped
 * by the keys of --by (app, version, host, pin, ...).
 */
#include "collect.h"
#include "collect_db.h"
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void usage_reports(FILE *f)
{
	fputs("usage: certpin reports --db SPEC [--since DATE | --days N] [--top N]\n"
		"                       [--by KEYS] [--json | --html FILE]\n"
		"\n"
		"Summarize the failure reports stored by \"certpin collect\": totals, failures\n"
		"per host, per served-chain leaf pin, per app and app version (TrustKit's\n"
		"reports), per day, per verdict and per report format, and the top unknown\n"
		"pins (pins of failing chains that the policy does not list).\n"
		"Only reads the database: one of an older schema is refused (run\n"
		"\"certpin collect\" on it once to migrate it).\n"
		"\n"
		"  -d, --db SPEC     the collector's database (file.sqlite or postgresql://...)\n"
		"      --since DATE  only reports received at or after DATE (UTC; YYYY-MM-DD or\n"
		"                    YYYY-MM-DDTHH:MM:SSZ)\n"
		"      --days N      only reports received in the last N days\n"
		"      --top N       rows per table (default 10, at most 1000)\n"
		"      --by KEYS     instead, one table of failures grouped by KEYS, a comma-\n"
		"                    separated list of app, version, platform, host, pin,\n"
		"                    verdict, format (e.g. app,version,host,pin)\n"
		"  -j, --json        print a JSON object\n"
		"      --html FILE   write a self-contained HTML page with a chart (\"-\": stdout)\n", f);
}

/* ---- collecting the summary ------------------------------------------------ */

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

/* Run `sql` with $1 = since and, if it uses it, $2 = top. */
static json_t *run(cdb *db, const char *sql, const char *const *names, int ncols, const char *since, const char *top,
	int *ok)
{
	rows R = { json_array(), names, ncols, 0 };
	const char *params[2] = { since, top };
	char err[512];

	if (!R.arr) {
		*ok = 0;
		return NULL;
	}
	if (cdb_query(db, sql, strstr(sql, "$2") ? 2 : 1, params, add_row, &R, err, sizeof(err)) != 0 || R.failed) {
		cli_error("reports: %s", R.failed ? "out of memory" : err);
		json_decref(R.arr);
		*ok = 0;
		return NULL;
	}
	return R.arr;
}

/*
 * Schema 3: failures per app, platform and app version (TrustKit's reports;
 * "devices" counts distinct app-vendor-ids), and per report format.
 */
static void summarize_origins(json_t *root, cdb *db, const char *since_s, const char *top_s, int *ok)
{
	static const char *const n_apps[] = { "app", "version", "platform", "#reports", "#enforced", "#hosts",
		"#devices", "#distinct", "#last_seen" };
	static const char *const n_formats[] = { "format", "#reports" };

	if (*ok)
		json_object_set_new(root, "apps", run(db,
			"SELECT app_bundle_id, app_version, app_platform, COUNT(*), SUM(enforce), COUNT(DISTINCT hostname),"
			" COUNT(DISTINCT app_vendor_id), COUNT(DISTINCT report_key), MAX(received_at) FROM reports"
			" WHERE received_at >= $1 AND app_bundle_id IS NOT NULL"
			" GROUP BY app_bundle_id, app_version, app_platform"
			" ORDER BY COUNT(*) DESC, app_bundle_id, app_version, app_platform LIMIT $2",
			n_apps, 9, since_s, top_s, ok));
	if (*ok)
		json_object_set_new(root, "formats", run(db,
			"SELECT format, COUNT(*) FROM reports WHERE received_at >= $1"
			" GROUP BY format ORDER BY COUNT(*) DESC, format", n_formats, 2, since_s, top_s, ok));
}

static json_t *summarize(cdb *db, int64_t since, unsigned int top)
{
	static const char *const n_total[] = { "#reports", "#hosts", "#distinct", "first_day", "last_day" };
	static const char *const n_hosts[] = { "host", "#reports", "#enforced", "#distinct", "#last_seen" };
	static const char *const n_pins[] = { "pin", "#reports", "#hosts" };
	static const char *const n_days[] = { "day", "#reports", "#enforced" };
	static const char *const n_unknown[] = { "pin", "#reports", "#hosts", "#min_depth" };
	static const char *const n_kinds[] = { "verdict", "#reports" };
	char since_s[32], top_s[16];
	int ok = 1;
	json_t *root = json_object(), *total, *days;

	if (!root)
		return NULL;
	snprintf(since_s, sizeof(since_s), "%lld", (long long)since);
	snprintf(top_s, sizeof(top_s), "%u", top);
	total = run(db, "SELECT COUNT(*), COUNT(DISTINCT hostname), COUNT(DISTINCT report_key), MIN(day), MAX(day)"
		" FROM reports WHERE received_at >= $1", n_total, 5, since_s, top_s, &ok);
	if (ok) {
		json_t *t = json_array_get(total, 0);
		json_object_set(root, "total", json_object_get(t, "reports"));
		json_object_set(root, "hosts_count", json_object_get(t, "hosts"));
		json_object_set(root, "distinct_failures", json_object_get(t, "distinct"));
		json_object_set(root, "first_day", json_object_get(t, "first_day"));
		json_object_set(root, "last_day", json_object_get(t, "last_day"));
	}
	json_decref(total);
	if (ok)
		json_object_set_new(root, "hosts", run(db,
			"SELECT hostname, COUNT(*), SUM(enforce), COUNT(DISTINCT report_key), MAX(received_at) FROM reports"
			" WHERE received_at >= $1 GROUP BY hostname ORDER BY COUNT(*) DESC, hostname LIMIT $2",
			n_hosts, 5, since_s, top_s, &ok));
	if (ok)
		json_object_set_new(root, "served_pins", run(db,
			"SELECT served_pin, COUNT(*), COUNT(DISTINCT hostname) FROM reports WHERE received_at >= $1"
			" GROUP BY served_pin ORDER BY COUNT(*) DESC, served_pin LIMIT $2",
			n_pins, 3, since_s, top_s, &ok));
	if (ok && (days = run(db,
			"SELECT day, COUNT(*), SUM(enforce) FROM reports WHERE received_at >= $1"
			" GROUP BY day ORDER BY day DESC LIMIT 366", n_days, 3, since_s, top_s, &ok))) {
		/* newest 366 days, shown oldest first */
		json_t *asc = json_array();
		for (size_t i = json_array_size(days); asc && i > 0; i--)
			json_array_append(asc, json_array_get(days, i - 1));
		json_decref(days);
		json_object_set_new(root, "days", asc);
	}
	if (ok)
		json_object_set_new(root, "unknown_pins", run(db,
			"SELECT p.pin, COUNT(*), COUNT(DISTINCT r.hostname), MIN(p.depth) FROM report_pins p"
			" JOIN reports r ON r.id = p.report_id WHERE p.known = 0 AND r.received_at >= $1"
			" GROUP BY p.pin ORDER BY COUNT(*) DESC, p.pin LIMIT $2",
			n_unknown, 4, since_s, top_s, &ok));
	if (ok)
		json_object_set_new(root, "verdicts", run(db,
			"SELECT kind, COUNT(*) FROM reports WHERE received_at >= $1"
			" GROUP BY kind ORDER BY COUNT(*) DESC, kind", n_kinds, 2, since_s, top_s, &ok));
	summarize_origins(root, db, since_s, top_s, &ok);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	json_object_set_new(root, "database", json_string(cdb_engine(db)));
	json_object_set_new(root, "schema_version", json_integer(cdb_schema_version(db)));
	json_object_set_new(root, "since", since ? json_integer(since) : json_null());
	return root;
}

/* ---- text ------------------------------------------------------------------ */

static long long ival(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* Failures per app and version, per format. */
static void print_origins(json_t *s)
{
	json_t *o;
	size_t i;

	printf("\nfailures per app and version (TrustKit):\n  %8s %8s %6s %7s  %-20s  %s\n", "reports", "enforced",
		"hosts", "devices", "last seen", "app version (platform)");
	json_array_foreach(json_object_get(s, "apps"), i, o) {
		char when[32];
		cli_time_rfc3339(when, ival(o, "last_seen"));
		printf("  %8lld %8lld %6lld %7lld  %-20s  %s %s (%s)\n", ival(o, "reports"), ival(o, "enforced"),
			ival(o, "hosts"), ival(o, "devices"), when, sval(o, "app"), sval(o, "version"), sval(o, "platform"));
	}
	printf("\nreport formats:\n");
	json_array_foreach(json_object_get(s, "formats"), i, o)
		printf("  %8lld  %s\n", ival(o, "reports"), sval(o, "format"));
}

static void print_text(json_t *s)
{
	json_t *a, *o;
	size_t i;
	long long max = 1;

	printf("%lld failure reports (%lld distinct failures) for %lld hosts, %s to %s (%s)\n",
		ival(s, "total"), ival(s, "distinct_failures"), ival(s, "hosts_count"),
		sval(s, "first_day"), sval(s, "last_day"), sval(s, "database"));
	printf("\nfailures per host:\n  %8s %8s %8s  %-20s  %s\n", "reports", "enforced", "distinct", "last seen", "host");
	json_array_foreach(json_object_get(s, "hosts"), i, o) {
		char when[32];
		cli_time_rfc3339(when, ival(o, "last_seen"));
		printf("  %8lld %8lld %8lld  %-20s  %s\n", ival(o, "reports"), ival(o, "enforced"), ival(o, "distinct"),
			when, sval(o, "host"));
	}
	printf("\nfailures per served-chain pin (leaf):\n  %8s %6s  %s\n", "reports", "hosts", "pin");
	json_array_foreach(json_object_get(s, "served_pins"), i, o)
		printf("  %8lld %6lld  %s\n", ival(o, "reports"), ival(o, "hosts"), sval(o, "pin"));
	a = json_object_get(s, "days");
	json_array_foreach(a, i, o)
		if (ival(o, "reports") > max)
			max = ival(o, "reports");
	printf("\nfailures per day:\n");
	json_array_foreach(a, i, o) {
		int bar = (int)(ival(o, "reports") * 40 / max);
		printf("  %s %8lld  ", sval(o, "day"), ival(o, "reports"));
		for (int k = 0; k < (bar ? bar : 1); k++)
			putchar('#');
		putchar('\n');
	}
	printf("\ntop unknown pins (in failing chains, not in the policy):\n  %8s %6s %5s  %s\n", "reports", "hosts",
		"depth", "pin");
	json_array_foreach(json_object_get(s, "unknown_pins"), i, o)
		printf("  %8lld %6lld %5lld  %s\n", ival(o, "reports"), ival(o, "hosts"), ival(o, "min_depth"),
			sval(o, "pin"));
	printf("\nverdicts:\n");
	json_array_foreach(json_object_get(s, "verdicts"), i, o)
		printf("  %8lld  %s\n", ival(o, "reports"), sval(o, "verdict"));
	print_origins(s);
}

/* ---- HTML ------------------------------------------------------------------ */

static void html_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Bar chart of failures per day, enforced part darker, as inline SVG. */
static void html_chart(FILE *f, json_t *days)
{
	size_t n = json_array_size(days), i;
	long long max = 1;
	json_t *o;
	const int bw = n > 60 ? 8 : n > 20 ? 16 : 32, gap = 4, h = 200, left = 72, bottom = 64;
	int width = left + (int)n * (bw + gap) + 16;

	if (width < 360)
		width = 360;
	json_array_foreach(days, i, o)
		if (ival(o, "reports") > max)
			max = ival(o, "reports");
	fprintf(f, "<svg class=\"chart\" role=\"img\" aria-label=\"failure reports per day\" width=\"%d\" height=\"%d\""
		" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n", width, h + bottom + 10, width, h + bottom + 10);
	fprintf(f, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left - 4, left - 4, h + 10);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left - 4, h + 10, width - 8, h + 10);
	fprintf(f, "<text x=\"%d\" y=\"18\" class=\"ylab\">%lld</text>\n", left - 8, max);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"ylab\">0</text>\n", left - 8, h + 10);
	if (n == 0)
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"empty\">no reports</text>\n", left + 10, h / 2);
	json_array_foreach(days, i, o) {
		long long c = ival(o, "reports"), e = ival(o, "enforced");
		int x = left + (int)i * (bw + gap);
		int bh = (int)(c * h / max), eh = (int)(e * h / max);
		fprintf(f, "<g><title>%s: %lld reports (%lld enforced)</title>", sval(o, "day"), c, e);
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"bar\"/>", x, h + 10 - bh, bw, bh);
		if (eh > 0)
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"enf\"/>", x, h + 10 - eh, bw, eh);
		fputs("</g>\n", f);
		if (n <= 20 || i % ((n + 19) / 20) == 0)
			fprintf(f, "<text transform=\"translate(%d,%d) rotate(-45)\" class=\"xlab\">%s</text>\n",
				x + bw / 2, h + 24, sval(o, "day"));
	}
	fputs("</svg>\n<p class=\"legend\"><span class=\"k bar\"></span> report-only "
		"<span class=\"k enf\"></span> enforced</p>\n", f);
}

static void html_table(FILE *f, json_t *arr, const char *const *keys, const char *const *heads, int ncols)
{
	size_t i;
	json_t *o;

	fputs("<table><thead><tr>", f);
	for (int c = 0; c < ncols; c++) {
		fputs("<th>", f);
		html_text(f, heads[c]);
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	json_array_foreach(arr, i, o) {
		fputs("<tr>", f);
		for (int c = 0; c < ncols; c++) {
			json_t *v = json_object_get(o, keys[c]);
			if (json_is_integer(v) && strcmp(keys[c], "last_seen") == 0) {
				char when[32];
				cli_time_rfc3339(when, (int64_t)json_integer_value(v));
				fprintf(f, "<td>%s</td>", when);
			} else if (json_is_integer(v)) {
				fprintf(f, "<td class=\"n\">%lld</td>", (long long)json_integer_value(v));
			} else {
				fputs("<td><code>", f);
				html_text(f, json_string_value(v));
				fputs("</code></td>", f);
			}
		}
		fputs("</tr>\n", f);
	}
	if (json_array_size(arr) == 0)
		fprintf(f, "<tr><td colspan=\"%d\">none</td></tr>\n", ncols);
	fputs("</tbody></table>\n", f);
}

static int write_html(json_t *s, const char *path)
{
	static const char *const hk[] = { "host", "reports", "enforced", "distinct", "last_seen" };
	static const char *const hh[] = { "host", "reports", "enforced", "distinct failures", "last seen" };
	static const char *const pk[] = { "pin", "reports", "hosts" };
	static const char *const ph[] = { "served leaf pin", "reports", "hosts" };
	static const char *const uk[] = { "pin", "reports", "hosts", "min_depth" };
	static const char *const uh[] = { "unknown pin", "reports", "hosts", "chain depth" };
	static const char *const vk[] = { "verdict", "reports" };
	static const char *const vh[] = { "verdict", "reports" };
	static const char *const ak[] = { "app", "version", "platform", "reports", "enforced", "hosts", "devices",
		"last_seen" };
	static const char *const ah[] = { "app", "version", "platform", "reports", "enforced", "hosts", "devices",
		"last seen" };
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (!f) {
		cli_error("reports: cannot write %s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>certpin: pin failure reports</title>\n<style>\n"
		"body{font-family:system-ui,sans-serif;margin:2em;color:#1d2330;max-width:70em}\n"
		"h1{font-size:1.6em}h2{font-size:1.15em;margin-top:1.6em}\n"
		"table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .8em;border-bottom:1px solid #d8dce3;"
		"text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
		"code{font-size:.92em}.summary{font-size:1.05em}\n"
		".chart .bar,.k.bar{fill:#9db8e8;background:#9db8e8}.chart .enf,.k.enf{fill:#c0392b;background:#c0392b}\n"
		".chart .axis{stroke:#555}.chart text{font-size:11px;fill:#333}.chart .ylab{text-anchor:end}\n"
		".chart .xlab{text-anchor:end}.k{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}\n"
		"</style></head><body>\n<h1>Pin failure reports</h1>\n", f);
	fprintf(f, "<p class=\"summary\"><strong>%lld</strong> reports (%lld distinct failures) for <strong>%lld</strong>"
		" hosts, ", ival(s, "total"), ival(s, "distinct_failures"), ival(s, "hosts_count"));
	html_text(f, sval(s, "first_day"));
	fputs(" to ", f);
	html_text(f, sval(s, "last_day"));
	fputs(".</p>\n<h2>Failures per day</h2>\n", f);
	html_chart(f, json_object_get(s, "days"));
	fputs("<h2>Failures per host</h2>\n", f);
	html_table(f, json_object_get(s, "hosts"), hk, hh, 5);
	fputs("<h2>Failures per served-chain pin</h2>\n", f);
	html_table(f, json_object_get(s, "served_pins"), pk, ph, 3);
	fputs("<h2>Top unknown pins</h2>\n<p>Pins of failing chains that the policy does not list: a key rotation "
		"missing from the policy, or a TLS interception product.</p>\n", f);
	html_table(f, json_object_get(s, "unknown_pins"), uk, uh, 4);
	fputs("<h2>Failures per app and version</h2>\n<p>TrustKit's reports (iOS, Android).</p>\n", f);
	html_table(f, json_object_get(s, "apps"), ak, ah, 8);
	fputs("<h2>Verdicts</h2>\n", f);
	html_table(f, json_object_get(s, "verdicts"), vk, vh, 2);
	fprintf(f, "<p><small>certpin %s, %s database, schema %lld.</small></p>\n</body></html>\n",
		CERTPIN_VERSION_STRING, sval(s, "database"), ival(s, "schema_version"));
	if (f != stdout && fclose(f) != 0) {
		cli_error("reports: cannot write %s", path);
		return CLI_EXIT_USAGE;
	}
	if (f == stdout)
		fflush(stdout);
	return CLI_EXIT_OK;
}

/* ---- --by: one table grouped by chosen keys -------------------------------- */

static const struct group_key {
	const char *name, *column;
} group_keys[] = {
	{ "app", "app_bundle_id" }, { "version", "app_version" }, { "platform", "app_platform" },
	{ "host", "hostname" }, { "pin", "served_pin" }, { "verdict", "kind" }, { "format", "format" },
};
#define NGROUP_KEYS (sizeof(group_keys) / sizeof(group_keys[0]))

typedef struct grouping {
	size_t n;
	size_t key[NGROUP_KEYS];    /* indexes into group_keys, in the order given */
} grouping;

/* --by KEYS.  0, or -1 after a message. */
static int parse_by(grouping *g, const char *s)
{
	const char *p = s;

	g->n = 0;
	for (;;) {
		size_t len = strcspn(p, ","), k;
		for (k = 0; k < NGROUP_KEYS; k++)
			if (strlen(group_keys[k].name) == len && strncmp(p, group_keys[k].name, len) == 0)
				break;
		for (size_t i = 0; k < NGROUP_KEYS && i < g->n; i++)
			if (g->key[i] == k)
				k = NGROUP_KEYS;
		if (k == NGROUP_KEYS) {
			cli_error("reports: --by takes a comma-separated list of distinct keys from app, version, platform,"
				" host, pin, verdict, format; got '%s'", s);
			return -1;
		}
		g->key[g->n++] = k;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* Failures grouped by `g`: {"by": [...], "groups": [...], ...}, or NULL after a message. */
static json_t *group(cdb *db, const grouping *g, int64_t since, unsigned int top)
{
	char sql[1024], cols[256] = "", order[512] = "", since_s[32], top_s[16];
	const char *names[NGROUP_KEYS + 4];
	json_t *root = json_object(), *by = json_array(), *arr;
	int ok = 1;

	for (size_t i = 0; i < g->n; i++) {
		const struct group_key *k = &group_keys[g->key[i]];
		snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), "%s%s", i ? ", " : "", k->column);
		/* NULLs (reports without an app) sort the same on both engines */
		snprintf(order + strlen(order), sizeof(order) - strlen(order), ", COALESCE(%s, '')", k->column);
		names[i] = k->name;
		json_array_append_new(by, json_string(k->name));
	}
	names[g->n] = "#reports";
	names[g->n + 1] = "#enforced";
	names[g->n + 2] = "#distinct";
	names[g->n + 3] = "#last_seen";
	snprintf(sql, sizeof(sql), "SELECT %s, COUNT(*), SUM(enforce), COUNT(DISTINCT report_key), MAX(received_at)"
		" FROM reports WHERE received_at >= $1 GROUP BY %s ORDER BY COUNT(*) DESC%s LIMIT $2", cols, cols, order);
	snprintf(since_s, sizeof(since_s), "%lld", (long long)since);
	snprintf(top_s, sizeof(top_s), "%u", top);
	arr = root && by ? run(db, sql, names, (int)g->n + 4, since_s, top_s, &ok) : NULL;
	if (!arr) {
		json_decref(root);
		json_decref(by);
		return NULL;
	}
	json_object_set_new(root, "by", by);
	json_object_set_new(root, "groups", arr);
	json_object_set_new(root, "database", json_string(cdb_engine(db)));
	json_object_set_new(root, "schema_version", json_integer(cdb_schema_version(db)));
	json_object_set_new(root, "since", since ? json_integer(since) : json_null());
	return root;
}

static void print_groups(json_t *root, const grouping *g)
{
	int width[NGROUP_KEYS];
	json_t *o;
	size_t i;

	printf("failures by");
	for (size_t k = 0; k < g->n; k++) {
		const char *name = group_keys[g->key[k]].name;
		printf("%s %s", k ? "," : "", name);
		width[k] = (int)strlen(name);
		json_array_foreach(json_object_get(root, "groups"), i, o) {
			int w = (int)strlen(sval(o, name));
			if (w > width[k])
				width[k] = w < 60 ? w : 60;
		}
	}
	printf(":\n  %8s %8s %8s  %-20s", "reports", "enforced", "distinct", "last seen");
	/* the last column unpadded: no trailing blanks */
	for (size_t k = 0; k < g->n; k++)
		printf("  %-*s", k + 1 < g->n ? width[k] : 0, group_keys[g->key[k]].name);
	putchar('\n');
	json_array_foreach(json_object_get(root, "groups"), i, o) {
		char when[32];
		cli_time_rfc3339(when, ival(o, "last_seen"));
		printf("  %8lld %8lld %8lld  %-20s", ival(o, "reports"), ival(o, "enforced"), ival(o, "distinct"), when);
		for (size_t k = 0; k < g->n; k++)
			printf("  %-*s", k + 1 < g->n ? width[k] : 0, sval(o, group_keys[g->key[k]].name));
		putchar('\n');
	}
}

/* ---- command --------------------------------------------------------------- */

static int days_in_month(int y, int m)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), a real calendar date, to Unix time. */
static int parse_since(int64_t *out, const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	int y, m, d, hh = 0, mm = 0, ss = 0;
	size_t len = strlen(s);

	/* digits exactly where the pattern has them (sscanf alone takes signs and spaces) */
	if (len != 10 && len != 20)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return -1;
	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
		(len == 20 && sscanf(s + 11, "%2d:%2d:%2d", &hh, &mm, &ss) != 3))
		return -1;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59)
		return -1;
	/* days from the civil date (proleptic Gregorian calendar) */
	int yy = y - (m <= 2);
	int era = yy / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	*out = days * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/* Which options go together: 0, or -1 after a message. */
static int check_args(const char *db_spec, const char *since_s, const char *days_s, int json, const char *html,
	const char *by)
{
	if (!db_spec) {
		cli_error("reports: --db is required");
		return -1;
	}
	if (since_s && days_s) {
		cli_error("reports: --since and --days exclude each other");
		return -1;
	}
	if (json && html) {
		cli_error("reports: --json and --html exclude each other");
		return -1;
	}
	if (by && html) {
		cli_error("reports: --by and --html exclude each other");
		return -1;
	}
	return 0;
}

/* --since DATE.  0, or -1 after a message. */
static int since_option(int64_t *since, const char *s)
{
	if (parse_since(since, s) != 0) {
		cli_error("reports: --since must be a date YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), got '%s'", s);
		return -1;
	}
	return 0;
}

/* --days N: *since N days ago.  0, or -1 after a message. */
static int parse_days(int64_t *since, const char *s)
{
	char *end;
	errno = 0;
	unsigned long d = strtoul(s, &end, 10);
	if (*s == '-' || *end || errno || d < 1 || d > 100000) {
		cli_error("reports: --days must be an integer from 1 to 100000");
		return -1;
	}
	*since = (int64_t)time(NULL) - (int64_t)d * 86400;
	return 0;
}

/* --top N.  0, or -1 after a message. */
static int parse_top(unsigned long *top, const char *s)
{
	char *end;
	errno = 0;
	*top = strtoul(s, &end, 10);
	if (*s == '-' || *end || errno || *top < 1 || *top > 1000) {
		cli_error("reports: --top must be an integer from 1 to 1000");
		return -1;
	}
	return 0;
}

/* A reader must not create an empty SQLite database by mistake: the file must exist.  0 or -1. */
static int check_db_file(const char *db_spec)
{
	struct stat sb;
	const char *path = strncmp(db_spec, "sqlite:", 7) == 0 ? db_spec + 7 : db_spec;

	if (strncmp(db_spec, "postgres", 8) == 0)
		return 0;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		cli_error("reports: no database file %s", path);
		return -1;
	}
	return 0;
}

int cmd_reports(int argc, char **argv)
{
	const char *db_spec = NULL, *since_s = NULL, *days_s = NULL, *top_s = NULL, *html = NULL, *by = NULL;
	int json = 0, rc;
	const cli_opt opts[] = {
		CLI_VALUE("--db", 'd', &db_spec), CLI_VALUE("--since", 0, &since_s), CLI_VALUE("--days", 0, &days_s),
		CLI_VALUE("--top", 0, &top_s), CLI_VALUE("--html", 0, &html), CLI_FLAG("--json", 'j', &json),
		CLI_VALUE("--by", 0, &by), CLI_OPT_END,
	};
	grouping g = { 0, { 0 } };
	const cli_spec spec = { "reports", usage_reports, opts, 0, 0, NULL, 0 };
	cli_args args;
	int64_t since = 0;
	unsigned long top = 10;
	char err[512];
	cdb *db = NULL;
	json_t *sum = NULL;

	if ((rc = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return rc;
	rc = CLI_EXIT_USAGE;
	if (check_args(db_spec, since_s, days_s, json, html, by) != 0 ||
	    (since_s && since_option(&since, since_s) != 0) || (days_s && parse_days(&since, days_s) != 0) ||
	    (top_s && parse_top(&top, top_s) != 0) || (by && parse_by(&g, by) != 0) || check_db_file(db_spec) != 0)
		goto out;
	/* read only: never migrates or otherwise writes (certpin collect does) */
	if (cdb_open_readonly(&db, db_spec, err, sizeof(err)) != 0) {
		cli_error("reports: %s", err);
		goto out;
	}
	if (!(sum = by ? group(db, &g, since, (unsigned int)top) : summarize(db, since, (unsigned int)top))) {
		rc = CLI_EXIT_INTERNAL;
		goto out;
	}
	if (json) {
		rc = cli_json_print(sum) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
		sum = NULL;
	} else if (html) {
		rc = write_html(sum, html);
	} else if (by) {
		print_groups(sum, &g);
		rc = CLI_EXIT_OK;
	} else {
		print_text(sum);
		rc = CLI_EXIT_OK;
	}
out:
	json_decref(sum);
	cdb_close(db);
	return rc;
}
