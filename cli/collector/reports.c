/*
 * certpin reports: summarize the failure reports a collector stored
 * (summary.c) -- enforced and report-only, failures per host, per
 * served-chain (leaf) pin, per app and app version (TrustKit's reports), per
 * day, per verdict and per report format, and the pins seen most often in
 * failing chains that the policy does not know (a forgotten rotation, or an
 * interception product), with when they were first and last seen.  Text, --json, or a
 * self-contained HTML page with an SVG chart (--html); or one table grouped
 * by the keys of --by (app, version, host, pin, ...).
 */
#include "collect.h"
#include "collect_db.h"
#include "common.h"
#include "summary.h"

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

/* The summary (summary_build()), or NULL after a message. */
static json_t *summarize(cdb *db, int64_t since, unsigned int top)
{
	char err[512];
	json_t *s = summary_build(db, since, top, err, sizeof(err));

	if (!s)
		cli_error("reports: %s", err);
	return s;
}

/* --html FILE ("-": standard output): an exit status. */
static int write_html(json_t *s, const char *path)
{
	summary_html_opts o = SUMMARY_HTML_OPTIONS_INIT;
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	int bad;

	if (!f) {
		cli_error("reports: cannot write %s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	bad = summary_html_write(f, s, &o) != 0;
	if (f != stdout ? fclose(f) != 0 || bad : fflush(stdout) != 0 || bad) {
		cli_error("reports: cannot write %s", path);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* ---- text ------------------------------------------------------------------ */

/* Failures per app and version, per format. */
static void print_origins(json_t *s)
{
	json_t *o;
	size_t i;

	printf("\nfailures per app and version (TrustKit):\n  %8s %8s %6s %7s  %-20s  %s\n", "reports", "enforced",
		"hosts", "devices", "last seen", "app version (platform)");
	json_array_foreach(json_object_get(s, "apps"), i, o) {
		char when[32];
		cli_time_rfc3339(when, summary_ival(o, "last_seen"));
		printf("  %8lld %8lld %6lld %7lld  %-20s  %s %s (%s)\n", summary_ival(o, "reports"), summary_ival(o, "enforced"),
			summary_ival(o, "hosts"), summary_ival(o, "devices"), when, summary_sval(o, "app"), summary_sval(o, "version"), summary_sval(o, "platform"));
	}
	printf("\nreport formats:\n");
	json_array_foreach(json_object_get(s, "formats"), i, o)
		printf("  %8lld  %s\n", summary_ival(o, "reports"), summary_sval(o, "format"));
}

static void print_text(json_t *s)
{
	json_t *a, *o;
	size_t i;
	long long max = 1;

	printf("%lld failure reports (%lld distinct failures) for %lld hosts, %s to %s (%s)\n",
		summary_ival(s, "total"), summary_ival(s, "distinct_failures"), summary_ival(s, "hosts_count"),
		summary_sval(s, "first_day"), summary_sval(s, "last_day"), summary_sval(s, "database"));
	printf("%lld enforced, %lld report-only\n", summary_ival(s, "enforced"), summary_ival(s, "total") - summary_ival(s, "enforced"));
	printf("\nfailures per host:\n  %8s %8s %8s  %-20s  %s\n", "reports", "enforced", "distinct", "last seen", "host");
	json_array_foreach(json_object_get(s, "hosts"), i, o) {
		char when[32];
		cli_time_rfc3339(when, summary_ival(o, "last_seen"));
		printf("  %8lld %8lld %8lld  %-20s  %s\n", summary_ival(o, "reports"), summary_ival(o, "enforced"), summary_ival(o, "distinct"),
			when, summary_sval(o, "host"));
	}
	printf("\nfailures per served-chain pin (leaf):\n  %8s %6s  %s\n", "reports", "hosts", "pin");
	json_array_foreach(json_object_get(s, "served_pins"), i, o)
		printf("  %8lld %6lld  %s\n", summary_ival(o, "reports"), summary_ival(o, "hosts"), summary_sval(o, "pin"));
	a = json_object_get(s, "days");
	json_array_foreach(a, i, o)
		if (summary_ival(o, "reports") > max)
			max = summary_ival(o, "reports");
	printf("\nfailures per day:\n");
	json_array_foreach(a, i, o) {
		int bar = (int)(summary_ival(o, "reports") * 40 / max);
		printf("  %s %8lld  ", summary_sval(o, "day"), summary_ival(o, "reports"));
		for (int k = 0; k < (bar ? bar : 1); k++)
			putchar('#');
		putchar('\n');
	}
	printf("\ntop unknown pins (in failing chains, not in the policy):\n  %8s %6s %5s  %-20s  %-20s  %s\n",
		"reports", "hosts", "depth", "first seen", "last seen", "pin");
	json_array_foreach(json_object_get(s, "unknown_pins"), i, o) {
		char first[32], last[32];
		cli_time_rfc3339(first, summary_ival(o, "first_seen"));
		cli_time_rfc3339(last, summary_ival(o, "last_seen"));
		printf("  %8lld %6lld %5lld  %-20s  %-20s  %s\n", summary_ival(o, "reports"), summary_ival(o, "hosts"),
			summary_ival(o, "min_depth"), first, last, summary_sval(o, "pin"));
	}
	printf("\nverdicts:\n");
	json_array_foreach(json_object_get(s, "verdicts"), i, o)
		printf("  %8lld  %s\n", summary_ival(o, "reports"), summary_sval(o, "verdict"));
	print_origins(s);
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
	char sql[2048], cols[256] = "", order[512] = "", since_s[32], top_s[16], err[512];
	const char *names[NGROUP_KEYS + 4];
	json_t *root = json_object(), *by = json_array(), *arr;

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
	arr = root && by ? summary_query(db, sql, names, (int)g->n + 4, since_s, top_s, err, sizeof(err)) : NULL;
	if (!arr) {
		cli_error("reports: %s", root && by ? err : "out of memory");
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
			int w = (int)strlen(summary_sval(o, name));
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
		cli_time_rfc3339(when, summary_ival(o, "last_seen"));
		printf("  %8lld %8lld %8lld  %-20s", summary_ival(o, "reports"), summary_ival(o, "enforced"), summary_ival(o, "distinct"), when);
		for (size_t k = 0; k < g->n; k++)
			printf("  %-*s", k + 1 < g->n ? width[k] : 0, summary_sval(o, group_keys[g->key[k]].name));
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
