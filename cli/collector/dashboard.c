/*
 * The collector's dashboard (dashboard.h): GET / (HTML) and
 * GET /dashboard.json, behind the read token.
 */
#include "dashboard.h"
#include "dashboard_auth.h"
#include "common.h"
#include "summary.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* The summary's rows per table: those of "certpin reports" without --top, so that the numbers match. */
#define DASH_TOP 10

struct dashboard {
	dash_token token;
	int tls;
	cdb *db;                    /* the dashboard's own read-only connection */
	pthread_mutex_t mu;         /* one summary at a time */
	char csp[256];
};

/* The Content-Security-Policy: nothing loads, no script runs; the one style sheet is allowed by its hash. */
static int make_csp(char *out, size_t cap)
{
	const char *css = summary_html_style();
	unsigned char d[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int dl = 0;

	if (EVP_Digest(css, strlen(css), d, &dl, EVP_sha256(), NULL) != 1)
		return -1;
	EVP_EncodeBlock(b64, d, (int)dl);
	snprintf(out, cap, "default-src 'none'; style-src 'sha256-%s'; base-uri 'none'; form-action 'none';"
		" frame-ancestors 'none'", (const char *)b64);
	return 0;
}

int dashboard_new(dashboard **out, int enabled, const char *token_file, int tls)
{
	dashboard *d;
	char err[256];

	*out = NULL;
	if (!enabled && !token_file)
		return 0;
	if (!token_file) {
		cli_error("collect: --dashboard needs --dashboard-token-file FILE (the read token, e.g. from openssl rand"
			" -hex 32, in a file only its owner may read)");
		return -1;
	}
	if (!enabled) {
		cli_error("collect: --dashboard-token-file goes with --dashboard");
		return -1;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		cli_error("collect: out of memory");
		return -1;
	}
	if (dash_token_load(&d->token, token_file, err, sizeof(err)) != 0) {
		cli_error("collect: --dashboard-token-file %s %s", token_file, err);
		free(d);
		return -1;
	}
	if (make_csp(d->csp, sizeof(d->csp)) != 0) {
		cli_error("collect: --dashboard: SHA-256 unavailable");
		free(d);
		return -1;
	}
	d->tls = tls;
	pthread_mutex_init(&d->mu, NULL);
	*out = d;
	return 0;
}

int dashboard_open_db(dashboard *d, const char *db_spec)
{
	char err[512];

	if (cdb_open_readonly(&d->db, db_spec, err, sizeof(err)) != 0) {
		cli_error("collect: --dashboard: %s", err);
		return -1;
	}
	return 0;
}

void dashboard_free(dashboard *d)
{
	if (!d)
		return;
	cdb_close(d->db);
	pthread_mutex_destroy(&d->mu);
	OPENSSL_cleanse(&d->token, sizeof(d->token));
	free(d);
}

int dashboard_route(const char *method, const char *url)
{
	return (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
		(strcmp(url, "/") == 0 || strcmp(url, "/dashboard.json") == 0);
}

/* Queue `body` (`len` bytes, freed with free() by libmicrohttpd if `owned`) with the dashboard's headers. */
static enum MHD_Result respond(const dashboard *d, struct MHD_Connection *conn, unsigned int status,
	const char *ctype, char *body, size_t len, int owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body,
		owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "Content-Security-Policy", d->csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"certpin collect dashboard\"");
	if (status == MHD_HTTP_SEE_OTHER) {
		char cookie[160];
		snprintf(cookie, sizeof(cookie), DASH_COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s",
			d->token.cookie, d->tls ? "; Secure" : "");
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, "/");
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(const dashboard *d, struct MHD_Connection *conn, unsigned int status,
	const char *text)
{
	return respond(d, conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text), 0);
}

/* The summary as the page, or as JSON written exactly as "certpin reports --json" prints it. */
static char *render(json_t *s, int json, size_t *len)
{
	summary_html_opts o = SUMMARY_HTML_OPTIONS_INIT;
	char note[160], when[32], *buf = NULL;
	FILE *f;

	if (json) {
		char *j = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (j && (buf = malloc(strlen(j) + 2)))
			*len = (size_t)sprintf(buf, "%s\n", j);
		free(j);
		return buf;
	}
	cli_time_rfc3339(when, (int64_t)time(NULL));
	snprintf(note, sizeof(note), "Computed at %s by the queries of certpin reports; reload to refresh.", when);
	o.title = "Pin failure reports: collector dashboard";
	o.note = note;
	if (!(f = open_memstream(&buf, len)))
		return NULL;
	if (summary_html_write(f, s, &o) != 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static enum MHD_Result serve_summary(dashboard *d, struct MHD_Connection *conn, int json)
{
	char err[512], *body;
	size_t len = 0;
	json_t *s;

	pthread_mutex_lock(&d->mu);
	s = summary_build(d->db, 0, DASH_TOP, err, sizeof(err));
	pthread_mutex_unlock(&d->mu);
	if (!s) {
		cli_warn("collect: dashboard: %s", err);
		return respond_text(d, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the summary is unavailable: database error\n");
	}
	body = render(s, json, &len);
	json_decref(s);
	if (!body)
		return respond_text(d, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	return respond(d, conn, MHD_HTTP_OK, json ? "application/json" : "text/html; charset=utf-8", body, len, 1);
}

enum MHD_Result dashboard_serve(dashboard *d, struct MHD_Connection *conn, const char *url)
{
	const char *query = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	const char *bearer = dash_bearer(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		MHD_HTTP_HEADER_AUTHORIZATION));
	const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, DASH_COOKIE_NAME);

	/* the token in the address bar, once: trade it for the cookie and leave it out of the URL */
	if (query && strcmp(url, "/") == 0) {
		if (dash_token_check(&d->token, query))
			return respond_text(d, conn, MHD_HTTP_SEE_OTHER, "");
	} else if (dash_token_check(&d->token, bearer) || dash_cookie_check(&d->token, cookie)) {
		return serve_summary(d, conn, strcmp(url, "/dashboard.json") == 0);
	}
	return respond_text(d, conn, MHD_HTTP_UNAUTHORIZED, "401 Unauthorized: the dashboard needs its token: send "
		"\"Authorization: Bearer TOKEN\", or open /?token=TOKEN once in a browser (it sets a cookie).\n");
}
