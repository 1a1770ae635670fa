/*
 * The summary of stored failure reports as a self-contained HTML page
 * (summary.h): an inline SVG chart of failures per day and tables, one
 * style sheet, no script, nothing loaded.  "certpin reports --html" writes
 * it to a file, the collector's dashboard serves it.
 *
 * Host names and app fields come from clients: every value from the
 * database goes through html_text(), in text and in attributes alike.
 */
#include "summary.h"
#include "common.h"

#include <string.h>

static const char style[] =
	"\nbody{font-family:system-ui,sans-serif;margin:2em;color:#1d2330;max-width:70em}\n"
	"h1{font-size:1.6em}h2{font-size:1.15em;margin-top:1.6em}.note{color:#555}\n"
	"table{border-collapse:collapse;margin:.5em 0}th,td{padding:.25em .8em;border-bottom:1px solid #d8dce3;"
	"text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}td.t{white-space:nowrap}\n"
	"code{font-size:.92em;overflow-wrap:anywhere}.summary{font-size:1.05em}\n"
	".chart .bar,.k.bar{fill:#9db8e8;background:#9db8e8}.chart .enf,.k.enf{fill:#c0392b;background:#c0392b}\n"
	".chart .axis{stroke:#555}.chart .nil{fill:#eef0f4}.chart text{font-size:11px;fill:#333}\n"
	".chart .ylab{text-anchor:end}.chart .xlab{text-anchor:end}\n"
	".k{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}\n";

const char *summary_html_style(void)
{
	return style;
}

long long summary_ival(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

const char *summary_sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* Text or an attribute value (always double-quoted), escaped. */
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

/* One bar of the chart: the day's reports, the enforced part darker. */
static void chart_bar(FILE *f, json_t *o, int x, int bw, int h, long long max)
{
	long long c = summary_ival(o, "reports"), e = summary_ival(o, "enforced");
	int bh = (int)(c * h / max), eh = (int)(e * h / max);

	fputs("<g class=\"day\" data-day=\"", f);
	html_text(f, summary_sval(o, "day"));
	fprintf(f, "\" data-reports=\"%lld\" data-enforced=\"%lld\"><title>", c, e);
	html_text(f, summary_sval(o, "day"));
	fprintf(f, ": %lld reports (%lld enforced)</title>", c, e);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"bar\"/>", x, h + 10 - bh, bw, bh);
	if (eh > 0)
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"enf\"/>", x, h + 10 - eh, bw, eh);
	fputs("</g>\n", f);
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
		if (summary_ival(o, "reports") > max)
			max = summary_ival(o, "reports");
	fprintf(f, "<svg id=\"days\" class=\"chart\" role=\"img\" aria-label=\"failure reports per day\" width=\"%d\""
		" height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		width, h + bottom + 10, width, h + bottom + 10);
	fprintf(f, "<line x1=\"%d\" y1=\"10\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left - 4, left - 4, h + 10);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", left - 4, h + 10, width - 8, h + 10);
	fprintf(f, "<text x=\"%d\" y=\"18\" class=\"ylab\">%lld</text>\n", left - 8, max);
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"ylab\">0</text>\n", left - 8, h + 10);
	if (n == 0)
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"empty\">no reports</text>\n", left + 10, h / 2);
	json_array_foreach(days, i, o) {
		int x = left + (int)i * (bw + gap);
		chart_bar(f, o, x, bw, h, max);
		if (n <= 20 || i % ((n + 19) / 20) == 0) {
			fprintf(f, "<text transform=\"translate(%d,%d) rotate(-45)\" class=\"xlab\">", x + bw / 2, h + 24);
			html_text(f, summary_sval(o, "day"));
			fputs("</text>\n", f);
		}
	}
	fputs("</svg>\n<p class=\"legend\"><span class=\"k bar\"></span> report-only "
		"<span class=\"k enf\"></span> enforced</p>\n", f);
}

typedef struct column {
	const char *key, *head;
} column;

/* One cell: a time (members *_seen, Unix time), a number, or escaped text ("-" for null). */
static void html_cell(FILE *f, const char *key, json_t *v)
{
	size_t kl = strlen(key);

	fputs("<td", f);
	if (json_is_integer(v) && kl > 5 && strcmp(key + kl - 5, "_seen") == 0) {
		char when[32];
		cli_time_rfc3339(when, (int64_t)json_integer_value(v));
		fprintf(f, " class=\"t\" data-k=\"%s\">%s</td>", key, when);
	} else if (json_is_integer(v)) {
		fprintf(f, " class=\"n\" data-k=\"%s\">%lld</td>", key, (long long)json_integer_value(v));
	} else {
		fprintf(f, " data-k=\"%s\"><code>", key);
		html_text(f, json_is_string(v) ? json_string_value(v) : "-");
		fputs("</code></td>", f);
	}
}

static void html_table(FILE *f, const char *id, json_t *arr, const column *cols, int ncols)
{
	size_t i;
	json_t *o;

	fprintf(f, "<table id=\"%s\"><thead><tr>", id);
	for (int c = 0; c < ncols; c++)
		fprintf(f, "<th>%s</th>", cols[c].head);
	fputs("</tr></thead><tbody>\n", f);
	json_array_foreach(arr, i, o) {
		fputs("<tr>", f);
		for (int c = 0; c < ncols; c++)
			html_cell(f, cols[c].key, json_object_get(o, cols[c].key));
		fputs("</tr>\n", f);
	}
	if (json_array_size(arr) == 0)
		fprintf(f, "<tr class=\"none\"><td colspan=\"%d\">none</td></tr>\n", ncols);
	fputs("</tbody></table>\n", f);
}

/* Report-only against enforced: the counts, their shares and one bar. */
static void html_enforcement(FILE *f, json_t *s)
{
	long long total = summary_ival(s, "total"), enf = summary_ival(s, "enforced"), ro = total - enf;
	int w = total ? (int)(enf * 400 / total) : 0;

	fputs("<h2>Report-only and enforced</h2>\n<p>Enforced: the client refused the connection. Report-only: it "
		"reported the failure and went on.</p>\n", f);
	fprintf(f, "<svg id=\"share\" class=\"chart\" role=\"img\" aria-label=\"enforced share\" width=\"400\" "
		"height=\"20\" viewBox=\"0 0 400 20\" xmlns=\"http://www.w3.org/2000/svg\"><rect x=\"0\" y=\"0\" "
		"width=\"400\" height=\"20\" class=\"%s\"/>", total ? "bar" : "nil");
	if (w > 0)
		fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"20\" class=\"enf\"/>", w);
	fputs("</svg>\n<table id=\"enforcement\"><thead><tr><th>mode</th><th>reports</th><th>share</th></tr></thead>"
		"<tbody>\n", f);
	fprintf(f, "<tr><td>enforced</td><td class=\"n\" data-k=\"enforced\">%lld</td><td class=\"n\">%.1f %%</td>"
		"</tr>\n", enf, total ? 100.0 * (double)enf / (double)total : 0.0);
	fprintf(f, "<tr><td>report-only</td><td class=\"n\" data-k=\"report_only\">%lld</td><td class=\"n\">%.1f %%"
		"</td></tr>\n", ro, total ? 100.0 * (double)ro / (double)total : 0.0);
	fputs("</tbody></table>\n", f);
}

static void html_head(FILE *f, json_t *s, const summary_html_opts *o)
{
	const char *title = o && o->title ? o->title : "Pin failure reports";

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>certpin: ", f);
	html_text(f, title);
	fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>", style);
	html_text(f, title);
	fputs("</h1>\n", f);
	if (o && o->note) {
		fputs("<p class=\"note\">", f);
		html_text(f, o->note);
		fputs("</p>\n", f);
	}
	fprintf(f, "<p class=\"summary\"><strong data-k=\"total\">%lld</strong> reports (<span "
		"data-k=\"distinct_failures\">%lld</span> distinct failures) for <strong data-k=\"hosts_count\">%lld"
		"</strong> hosts, <span data-k=\"first_day\">", summary_ival(s, "total"), summary_ival(s, "distinct_failures"),
		summary_ival(s, "hosts_count"));
	html_text(f, summary_sval(s, "first_day"));
	fputs("</span> to <span data-k=\"last_day\">", f);
	html_text(f, summary_sval(s, "last_day"));
	fputs("</span>.</p>\n", f);
}

int summary_html_write(FILE *f, json_t *s, const summary_html_opts *o)
{
	static const column hosts[] = { { "host", "host" }, { "reports", "reports" }, { "enforced", "enforced" },
		{ "distinct", "distinct failures" }, { "last_seen", "last seen" } };
	static const column pins[] = { { "pin", "served leaf pin" }, { "reports", "reports" }, { "hosts", "hosts" } };
	static const column unknown[] = { { "pin", "unknown pin" }, { "reports", "reports" }, { "hosts", "hosts" },
		{ "min_depth", "chain depth" }, { "first_seen", "first seen" }, { "last_seen", "last seen" } };
	static const column verdicts[] = { { "verdict", "verdict" }, { "reports", "reports" } };
	static const column formats[] = { { "format", "format" }, { "reports", "reports" } };
	static const column apps[] = { { "app", "app" }, { "version", "version" }, { "platform", "platform" },
		{ "reports", "reports" }, { "enforced", "enforced" }, { "hosts", "hosts" }, { "devices", "devices" },
		{ "last_seen", "last seen" } };

	html_head(f, s, o);
	fputs("<h2>Failures per day</h2>\n", f);
	html_chart(f, json_object_get(s, "days"));
	html_enforcement(f, s);
	fputs("<h2>Failures per host</h2>\n", f);
	html_table(f, "hosts", json_object_get(s, "hosts"), hosts, 5);
	fputs("<h2>Failures per app and version</h2>\n<p>TrustKit's reports (iOS, Android).</p>\n", f);
	html_table(f, "apps", json_object_get(s, "apps"), apps, 8);
	fputs("<h2>Top unknown pins</h2>\n<p>Pins of failing chains that the policy does not list: a key rotation "
		"missing from the policy, or a TLS interception product.</p>\n", f);
	html_table(f, "unknown_pins", json_object_get(s, "unknown_pins"), unknown, 6);
	fputs("<h2>Failures per served-chain pin</h2>\n", f);
	html_table(f, "served_pins", json_object_get(s, "served_pins"), pins, 3);
	fputs("<h2>Verdicts</h2>\n", f);
	html_table(f, "verdicts", json_object_get(s, "verdicts"), verdicts, 2);
	fputs("<h2>Report formats</h2>\n", f);
	html_table(f, "formats", json_object_get(s, "formats"), formats, 2);
	fprintf(f, "<p><small>certpin %s, ", CERTPIN_VERSION_STRING);
	html_text(f, summary_sval(s, "database"));
	fprintf(f, " database, schema %lld.</small></p>\n</body></html>\n", summary_ival(s, "schema_version"));
	return ferror(f) ? -1 : 0;
}
