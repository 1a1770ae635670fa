/*
 * dashboard.h - the collector's dashboard (certpin collect --dashboard):
 * GET / serves the summary of the stored reports as an HTML page and
 * GET /dashboard.json as JSON, computed on every request by the queries of
 * "certpin reports" (summary.h) on a read-only connection of the dashboard's
 * own, so the numbers are those of "certpin reports --json" and a page load
 * never holds up the store path.
 *
 * Every answer needs the read token (dashboard_auth.h): "Authorization:
 * Bearer TOKEN", or the cookie set by GET /?token=TOKEN (an answer 303 to /
 * with "Set-Cookie: certpin_dashboard=...; Path=/; HttpOnly;
 * SameSite=Strict", plus "Secure" over HTTPS, so the token leaves the
 * address bar); otherwise 401.  The page has no script; its
 * Content-Security-Policy allows nothing but its own style sheet (by hash).
 */
#ifndef CERTPIN_CLI_DASHBOARD_H
#define CERTPIN_CLI_DASHBOARD_H

#include <microhttpd.h>

typedef struct dashboard dashboard;

/*
 * The options --dashboard (`enabled`) and --dashboard-token-file: *out NULL
 * when neither is given, else a dashboard with the token loaded.  0, or -1
 * after a one-line message (cli_error): one option without the other, or a
 * token file dashboard_auth.h refuses.  `tls`: the collector serves HTTPS.
 */
int dashboard_new(dashboard **out, int enabled, const char *token_file, int tls);

/*
 * Open the dashboard's read-only connection to `db_spec`, after the collector
 * has migrated it.  0, or -1 after a message.
 */
int dashboard_open_db(dashboard *d, const char *db_spec);

void dashboard_free(dashboard *d);

/* 1 if the request is the dashboard's: GET or HEAD of / or /dashboard.json. */
int dashboard_route(const char *method, const char *url);

/* Answer a request dashboard_route() took (401, 303, 200, or 503 if the database failed). */
enum MHD_Result dashboard_serve(dashboard *d, struct MHD_Connection *conn, const char *url);

#endif
