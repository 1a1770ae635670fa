/*
 * summary.h - the summary of stored failure reports, one set of queries
 * behind both "certpin reports" (text, --json, --html) and the collector's
 * dashboard (certpin collect --dashboard), so that the two always show the
 * same numbers; and its HTML page.
 */
#ifndef CERTPIN_CLI_SUMMARY_H
#define CERTPIN_CLI_SUMMARY_H

#include "collect_db.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/*
 * Run `sql` (parameters $1 = `since`, and $2 = `top` if it uses it); the rows
 * as a new JSON array of objects whose members are named by `names` (a
 * leading '#' makes the value an integer; SQL NULL is null).  NULL with a
 * one-line reason in `err`.
 */
json_t *summary_query(cdb *db, const char *sql, const char *const *names, int ncols, const char *since,
	const char *top, char *err, size_t errlen);

/*
 * The summary of the reports received at or after `since` (Unix time; 0:
 * all), `top` rows per table: the object "certpin reports --json" prints
 * (total, enforced, hosts_count, distinct_failures, first_day, last_day,
 * hosts, served_pins, days, unknown_pins, verdicts, apps, formats, database,
 * schema_version, since).  A new reference, or NULL with a reason in `err`.
 */
json_t *summary_build(cdb *db, int64_t since, unsigned int top, char *err, size_t errlen);

typedef struct summary_html_opts {
	unsigned int version;
	const char *title;          /* the page's title and heading; NULL: "Pin failure reports" */
	const char *note;           /* a line under the heading (escaped), or NULL */
} summary_html_opts;

#define SUMMARY_HTML_OPTIONS_VERSION 1
#define SUMMARY_HTML_OPTIONS_INIT { SUMMARY_HTML_OPTIONS_VERSION, NULL, NULL }

/*
 * The page's one style sheet: the whole text of its only <style> element (a
 * Content-Security-Policy can allow it by its hash).  The page has no script
 * and no style attribute, and loads nothing.
 */
const char *summary_html_style(void);

/* A summary row's member `k` as an integer (0 if absent), and as text ("-" if absent). */
long long summary_ival(json_t *o, const char *k);
const char *summary_sval(json_t *o, const char *k);

/*
 * Write the summary `s` (summary_build()) as a self-contained HTML page:
 * totals, failures per day as an SVG chart, report-only against enforced,
 * tables of hosts, served pins, unknown pins, apps and versions, verdicts and
 * formats.  Every value from the database is HTML-escaped.  Numbers carry
 * data-k attributes naming their member of the summary (the chart's bars
 * data-day, data-reports, data-enforced).  0, or -1 if writing failed.
 */
int summary_html_write(FILE *f, json_t *s, const summary_html_opts *o);

#endif
