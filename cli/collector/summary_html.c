/*
 * The summary of stored failure reports as a self-contained HTML page
 * (summary.h): an inline SVG chart of failures per day and tables, one
 * style sheet, no script, nothing loaded.  "certpin reports --html" writes
 * it to a file, the collector's dashboard serves it.
 */
#include "summary.h"
#include "common.h"

#include <string.h>

static long long ival(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

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

int summary_html_write(FILE *f, json_t *s, const summary_html_opts *o)
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

	(void)o;
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
	return ferror(f) ? -1 : 0;
}
