/*
 * Where a report came from, as the collector stores it (schema 3): the
 * format's name and, for TrustKit's reports, the app fields (SQL NULL when
 * absent, so that reports without an app group apart from every app).
 */
#include "collect.h"
#include "collect_db.h"

#include "certpin/report.h"

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
