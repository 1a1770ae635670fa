/*
 * Where a report came from, as the collector stores it (schema 3): the
 * format's name and, for TrustKit's reports, the app fields (SQL NULL when
 * absent, so that reports without an app group apart from every app); and
 * the sender's idempotency key (schema 4).
 */
#include "collect.h"
#include "collect_db.h"

#include "certpin/report.h"

#include <string.h>

static const char *or_null(const char *s)
{
	return s[0] ? s : NULL;
}

void collect_origin(struct cdb_report *r, const struct certpin_report_origin *o)
{
	r->format = certpin_report_format_name(o->format);
	r->app_bundle_id = or_null(o->app_bundle_id);
	r->app_version = or_null(o->app_version);
	r->app_platform = or_null(o->app_platform);
	r->app_platform_version = or_null(o->app_platform_version);
	r->app_vendor_id = or_null(o->app_vendor_id);
	r->trustkit_version = or_null(o->trustkit_version);
	r->validation_result = o->validation_result;
}

int collect_idem_key(char *out, const char *h)
{
	size_t n;

	out[0] = '\0';
	if (!h)
		return 0;
	n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
		h++;
		n -= 2;
	}
	if (n == 0 || n > CDB_IDEM_KEY_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (h[i] < 0x21 || h[i] > 0x7e || h[i] == '"' || h[i] == '\\')
			return -1;
	memcpy(out, h, n);
	out[n] = '\0';
	return 1;
}
