/*
 * certpin collect: an HTTP(S) server (libmicrohttpd) that accepts failure
 * reports (certpin's own, RFC 7469, TrustKit's), validates them with
 * certpin_report_parse_any() and stores them
 * (collect_db.h).  Bad input is answered 400/413/415/404/405 and counted;
 * nothing a client sends can stop the server.  A report is answered 201 only
 * once it is durable: its connection is suspended while the group commit
 * (commit.h) stores it with the others waiting, in one transaction, and
 * syncs it; a kill -9 loses no acknowledged report.
 *
 * Limits: body size (--max-body, by default the library's own limit
 * CERTPIN_REPORT_MAX_LEN, so that every report a reporter builds fits), idle
 * time per connection (--timeout, by libmicrohttpd), total time to deliver
 * one request (--request-timeout: a watchdog shuts down connections that take
 * longer, so slow-loris clients trickling headers or body are cut off),
 * connections in total and per IP, and the eviction of the slowest
 * connection of the busiest client address when the server is nearly full,
 * so that attackers holding every slot cannot keep valid clients out
 * (conns.c).
 *
 * Bad HTTP is refused by libmicrohttpd before handler() sees a complete
 * request: it answers 400 (bad Content-Length, bad chunk), 431 (headers too
 * large), 505 (version) itself, and closes connections whose first line is
 * not HTTP at all without any reply.  Both are counted as "bad_http": the
 * first from the request-completed callback (a URI log callback makes
 * libmicrohttpd report every request whose request line it parsed), the
 * second when the connection closes (plain HTTP only: bytes were received
 * after the last complete request, but no request line; garbage that arrives
 * together with a complete keep-alive request is missed).
 */
#include "collect.h"
#include "collect_db.h"
#include "collect_setup.h"
#include "commit.h"
#include "common.h"
#include "dashboard.h"
#include "conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define DEFAULT_LISTEN "127.0.0.1:7469"
#define DEFAULT_MAX_BODY CERTPIN_REPORT_MAX_LEN
#define DEFAULT_TIMEOUT 10
#define DEFAULT_REQUEST_TIMEOUT 30
#define DEFAULT_MAX_CONNS 256
#define DEFAULT_MAX_CONNS_PER_IP 64
#define DEFAULT_THREADS 2

void usage_collect(FILE *f)
{
	fprintf(f, "usage: certpin collect --db SPEC [--listen ADDR:PORT] [--port-file FILE]\n"
		"                       [--tls-cert FILE --tls-key FILE] [--max-body BYTES]\n"
		"                       [--timeout S] [--request-timeout S] [--max-conns N]\n"
		"                       [--max-conns-per-ip N] [--threads N]\n"
		"                       [--max-requests N] [--duration S] [--verbose]\n"
		"                       [--dashboard --dashboard-token-file FILE]\n"
		"\n"
		"Receive pin failure reports (POST application/json to / or /report) and\n"
		"store them: certpin's own, RFC 7469 (browsers), TrustKit (iOS, Android).\n"
		"Runs until SIGINT/SIGTERM, or --max-requests/--duration.\n"
		"Every request gets: 201 stored (durably: committed and synced to disk),\n"
		"200 duplicate (its Idempotency-Key header names the same report stored\n"
		"before: not stored again), 400 malformed report, Idempotency-Key or HTTP,\n"
		"413 too large, 415 not application/json, 422 Idempotency-Key stored for\n"
		"another report, 404/405 wrong path or method, 503 store error; a\n"
		"connection that does not speak HTTP is closed without a reply.  Several\n"
		"collectors may share one PostgreSQL database behind any load balancer.\n"
		"GET /stats returns the counters as JSON, GET /healthz \"ok\".\n"
		"\n"
		"  -d, --db SPEC              file.sqlite (SQLite, WAL mode; also sqlite:PATH) or\n"
		"                             postgresql://USER@HOST:PORT/DB (libpq URI)\n"
		"      --listen ADDR:PORT     address to listen on (default " DEFAULT_LISTEN ";\n"
		"                             port 0: any free port)\n"
		"      --port-file FILE       write the port listened on to FILE (atomic)\n"
		"      --tls-cert FILE        serve HTTPS with this PEM chain (leaf first) ...\n"
		"      --tls-key FILE         ... and this PEM private key\n"
		"      --max-body BYTES       largest report accepted, 256 to %u (default\n"
		"                             %u: the largest report the library builds or\n"
		"                             parses)\n"
		"  -t, --timeout S            close connections idle for S seconds (default 10)\n"
		"      --request-timeout S    close connections that take longer than S seconds\n"
		"                             to deliver one request (default 30)\n"
		"      --max-conns N          concurrent connections (default 256); once more\n"
		"                             than 7/8 of N are open, each new one evicts the\n"
		"                             slowest connection of the busiest client address\n"
		"      --max-conns-per-ip N   concurrent connections per client address\n"
		"                             (default 64)\n"
		"      --threads N            server threads (default 2)\n"
		"      --max-requests N       exit after N report requests (tests, benchmarks)\n"
		"      --duration S           exit after S seconds\n"
		"      --verbose              log every rejected request on stderr\n"
		"      --dashboard            serve the summary of certpin reports: GET / (HTML),\n"
		"                             GET /dashboard.json, to holders of the token\n"
		"      --dashboard-token-file FILE  the read token (one line, 16 to 256 of\n"
		"                             A-Z a-z 0-9 - . _ ~; FILE not readable by others):\n"
		"                             \"Authorization: Bearer TOKEN\", or /?token=TOKEN once\n"
		"                             in a browser (sets an HttpOnly cookie)\n"
		"\n"
		"On exit a summary line with the counters goes to stderr.  The first line on\n"
		"stdout is \"listening on ADDR:PORT\".\n", CERTPIN_REPORT_MAX_LEN, CERTPIN_REPORT_MAX_LEN);
}

/* ---- counters ------------------------------------------------------------- */

typedef struct counters {
	atomic_ullong requests;     /* report requests completed (any outcome) */
	atomic_ullong stored;
	atomic_ullong duplicates;   /* 200: the Idempotency-Key was stored already, for the same report */
	atomic_ullong key_reused;   /* 422: the Idempotency-Key was stored already, for another report */
	atomic_ullong malformed;    /* 400 */
	atomic_ullong too_large;    /* 413 */
	atomic_ullong bad_type;     /* 415 */
	atomic_ullong bad_route;    /* 404, 405 */
	atomic_ullong store_errors; /* 503 */
	atomic_ullong cut_off;      /* connections closed by the request deadline */
	atomic_ullong evicted;      /* connections shut down to make room when the server was full */
	atomic_ullong aborted;      /* requests whose connection ended before a reply */
	atomic_ullong bad_http;     /* refused by libmicrohttpd: 400/431/505 it sent, or not HTTP (closed) */
} counters;

typedef struct collector {
	cdb *db;
	commit_queue *commits;      /* group commit of the reports (commit.h) */
	conns *conns;               /* request deadline, eviction (conns.h) */
	size_t max_body;
	int verbose;
	counters c;
	atomic_uint pending;        /* reports queued for commit, not yet answered */
	unsigned long long max_requests;
	dashboard *dash;            /* --dashboard, else NULL */
} collector;

/* ---- requests ------------------------------------------------------------- */

typedef struct request {
	char *buf;
	size_t len, cap;
	int routed;                 /* handler() saw the headers */
	int too_large;
	int replied;                /* handler() queued a reply, or a commit whose outcome it will reply */
	int early;                  /* ... before reading the request's body */
	/* a report queued for the group commit: the connection is suspended until the job is done */
	int committing, submitted;
	char idem_key[CDB_IDEM_KEY_MAX + 1];   /* the Idempotency-Key header's value, "" if none */
	cdb_report *copy;           /* the report, outliving the parse */
	commit_job job;
	struct MHD_Connection *conn;
	void *slot;                 /* the connection's conns.h slot */
} request;

/* libmicrohttpd's URI log callback: a request line was parsed; every request from here on reaches on_completed(). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls, (void)uri, (void)conn;
	return calloc(1, sizeof(request));
}

/* Reply queued from the header stage: remember whether a request body is left unread. */
static void replied_early(request *q, struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	q->replied = 1;
	q->early = (cl && strtoull(cl, NULL, 10) > 0) ||
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *ctype, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(collector *C, struct MHD_Connection *conn, unsigned int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	if (C->verbose)
		cli_warn("collect: %u %s", status, msg);
	ret = reply(conn, status, "application/json", s ? s : "{}");
	free(s);
	json_decref(o);
	return ret;
}

static enum MHD_Result reply_stats(collector *C, struct MHD_Connection *conn)
{
	unsigned long long batches = 0, committed = 0;
	commit_queue_counts(C->commits, &batches, &committed);
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"requests", (json_int_t)atomic_load(&C->c.requests),
		"stored", (json_int_t)atomic_load(&C->c.stored),
		"duplicates", (json_int_t)atomic_load(&C->c.duplicates),
		"key_reused", (json_int_t)atomic_load(&C->c.key_reused),
		"malformed", (json_int_t)atomic_load(&C->c.malformed),
		"too_large", (json_int_t)atomic_load(&C->c.too_large),
		"bad_type", (json_int_t)atomic_load(&C->c.bad_type),
		"bad_route", (json_int_t)atomic_load(&C->c.bad_route),
		"store_errors", (json_int_t)atomic_load(&C->c.store_errors),
		"cut_off", (json_int_t)atomic_load(&C->c.cut_off),
		"aborted", (json_int_t)atomic_load(&C->c.aborted),
		"bad_http", (json_int_t)atomic_load(&C->c.bad_http),
		"evicted", (json_int_t)atomic_load(&C->c.evicted),
		"commits", (json_int_t)batches);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	enum MHD_Result ret = reply(conn, MHD_HTTP_OK, "application/json", s ? s : "{}");
	free(s);
	json_decref(o);
	return ret;
}

static void pin_text(char out[CERTPIN_PIN_STRLEN], const unsigned char *digest)
{
	certpin_pin p;
	p.kind = CERTPIN_PIN_SPKI_SHA256;
	memcpy(p.digest, digest, CERTPIN_DIGEST_LEN);
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, &p, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
		out[0] = '\0';
}

static int is_known(const certpin_report_info *ri, const certpin_chain_elem *e)
{
	for (size_t k = 0; k < ri->nknown; k++) {
		const unsigned char *d = ri->known[k].kind == CERTPIN_PIN_CERT_SHA256 ? e->cert_sha256 : e->spki_sha256;
		if (memcmp(ri->known[k].digest, d, CERTPIN_DIGEST_LEN) == 0)
			return 1;
	}
	return 0;
}

static void peer_address(char *out, size_t n, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, n, "?");
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out, (socklen_t)n);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out, (socklen_t)n);
}

/* The commit thread stored the report or failed: let libmicrohttpd call handler() again, which replies. */
static void committed(commit_job *job)
{
	request *q = job->payload;
	MHD_resume_connection(q->conn);
}

/*
 * Queue the report for the group commit and suspend the connection; the
 * reply (201 stored, or 503) waits until its batch is durable (reply_committed()).
 */
static enum MHD_Result commit_report(collector *C, struct MHD_Connection *conn, request *q, const cdb_report *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (!(q->copy = commit_copy_report(r)))
		return reply_error(C, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	q->conn = conn;
	q->slot = ci ? ci->socket_context : NULL;
	q->job.report = q->copy;
	q->job.done = committed;
	q->job.payload = q;
	q->committing = q->submitted = 1;
	conns_set_busy(C->conns, q->slot, 1);
	atomic_fetch_add(&C->pending, 1);
	/* suspended before it is queued, so that the commit thread's resume always follows the suspend */
	MHD_suspend_connection(conn);
	if (commit_submit(C->commits, &q->job) != 0) {
		q->job.rc = -1; /* shutting down: not stored */
		MHD_resume_connection(conn);
	}
	return MHD_YES;
}

/* The resumed call of a committed report: its reply. */
static enum MHD_Result reply_committed(collector *C, struct MHD_Connection *conn, request *q)
{
	q->committing = 0;
	conns_set_busy(C->conns, q->slot, 0);
	if (q->job.rc != 0) {
		atomic_fetch_add(&C->c.store_errors, 1);
		return reply_error(C, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "report could not be stored");
	}
	if (q->job.outcome == CDB_DUPLICATE) {
		atomic_fetch_add(&C->c.duplicates, 1);
		return reply(conn, MHD_HTTP_OK, "application/json", "{\"status\":\"duplicate\"}");
	}
	if (q->job.outcome == CDB_KEY_REUSED) {
		atomic_fetch_add(&C->c.key_reused, 1);
		return reply_error(C, conn, 422 /* Unprocessable Content; libmicrohttpd's name for it varies by version */,
			"the Idempotency-Key names another report stored before; this one was not stored");
	}
	atomic_fetch_add(&C->c.stored, 1);
	return reply(conn, MHD_HTTP_CREATED, "application/json", "{\"status\":\"stored\"}");
}

static enum MHD_Result store_report(collector *C, struct MHD_Connection *conn, request *q)
{
	certpin_report_info *ri = malloc(sizeof(*ri));
	certpin_report_origin origin;
	char served_pin[CERTPIN_PIN_STRLEN], peer[64];
	certpin_error err;
	cdb_pin pins[CERTPIN_REPORT_CHAIN_MAX];
	cdb_report r;
	struct tm tm;
	time_t now = time(NULL);
	enum MHD_Result ret;

	if (!ri)
		return reply_error(C, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	int rc = certpin_report_parse_any(ri, &origin, q->buf ? q->buf : "", q->len, &err);
	if (rc != CERTPIN_OK) {
		free(ri);
		if (rc == CERTPIN_E_NOMEM)
			return reply_error(C, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
		atomic_fetch_add(&C->c.malformed, 1);
		return reply_error(C, conn, MHD_HTTP_BAD_REQUEST, err.message);
	}
	const certpin_chain_elem *chain = ri->nserved ? ri->served : ri->validated;
	size_t n = ri->nserved ? ri->nserved : ri->nvalidated;
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		pins[i].depth = (int)i;
		pin_text(pins[i].pin, chain[i].spki_sha256);
		pins[i].known = is_known(ri, &chain[i]);
	}
	pin_text(served_pin, chain[0].spki_sha256);
	peer_address(peer, sizeof(peer), conn);
	gmtime_r(&now, &tm);
	strftime(r.day, sizeof(r.day), "%Y-%m-%d", &tm);
	r.received_at = (int64_t)now;
	r.report_time = ri->date_time;
	r.hostname = ri->hostname;
	r.port = ri->port;
	r.noted_hostname = ri->noted_hostname;
	r.kind = certpin_report_kind_name(ri->kind);
	r.enforce = ri->enforce;
	r.policy_version = ri->policy_version;
	r.served_pin = served_pin;
	cli_hex(r.report_key, ri->key, CERTPIN_DIGEST_LEN);
	r.peer = peer;
	r.body = q->buf;
	r.pins = pins;
	r.npins = n;
	collect_origin(&r, &origin);
	r.idem_key = q->idem_key[0] ? q->idem_key : NULL;
	ret = commit_report(C, conn, q, &r);
	free(ri);
	return ret;
}

static int json_content_type(const char *ct)
{
	static const char *const types[] = { "application/json", "application/reports+json" };
	if (!ct)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(types[i]);
		if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return 1;
	}
	return 0;
}

static enum MHD_Result count_idem(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind, (void)value;
	if (strcasecmp(key, "Idempotency-Key") == 0)
		(*(unsigned int *)cls)++;
	return MHD_YES;
}

/* How many Idempotency-Key headers the request has (a second one is refused, not guessed between). */
static unsigned int idem_headers(struct MHD_Connection *conn)
{
	unsigned int n = 0;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_idem, &n);
	return n;
}

/* The headers are complete: reply now (stats, health, wrong path, method, type or size), or accept the body. */
static enum MHD_Result route(collector *C, struct MHD_Connection *conn, const char *url, const char *method,
	request *q)
{
	q->routed = 1;
	if (C->dash && dashboard_route(method, url)) {
		replied_early(q, conn);
		return dashboard_serve(C->dash, conn, url);
	}
	if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0) {
		replied_early(q, conn);
		return reply_stats(C, conn);
	}
	if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0) {
		replied_early(q, conn);
		return reply(conn, MHD_HTTP_OK, "text/plain", "ok\n");
	}
	if (strcmp(url, "/") != 0 && strcmp(url, "/report") != 0) {
		replied_early(q, conn);
		atomic_fetch_add(&C->c.bad_route, 1);
		return reply_error(C, conn, MHD_HTTP_NOT_FOUND, "no such path; POST reports to /report");
	}
	if (strcmp(method, "POST") != 0) {
		replied_early(q, conn);
		atomic_fetch_add(&C->c.bad_route, 1);
		return reply_error(C, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "reports are POSTed");
	}
	if (!json_content_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		replied_early(q, conn);
		atomic_fetch_add(&C->c.requests, 1);
		atomic_fetch_add(&C->c.bad_type, 1);
		return reply_error(C, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json");
	}
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > C->max_body) {
		replied_early(q, conn);
		atomic_fetch_add(&C->c.requests, 1);
		atomic_fetch_add(&C->c.too_large, 1);
		return reply_error(C, conn, MHD_HTTP_CONTENT_TOO_LARGE, "report too large");
	}
	if (idem_headers(conn) > 1 || collect_idem_key(q->idem_key,
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key")) < 0) {
		replied_early(q, conn);
		atomic_fetch_add(&C->c.requests, 1);
		atomic_fetch_add(&C->c.malformed, 1);
		return reply_error(C, conn, MHD_HTTP_BAD_REQUEST, "one Idempotency-Key of 1 to 128 visible "
			"characters (quoted or bare), without '\"' or '\\'");
	}
	return MHD_YES;
}

/* Keep `n` more bytes of the body, or none once it is larger than --max-body.  MHD_NO: out of memory. */
static enum MHD_Result append_body(collector *C, request *q, const char *data, size_t n)
{
	if (q->too_large || q->len + n > C->max_body) {
		q->too_large = 1;
		free(q->buf);
		q->buf = NULL;
		q->len = q->cap = 0;
		return MHD_YES;
	}
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		while (cap < q->len + n + 1)
			cap *= 2;
		char *b = realloc(q->buf, cap);
		if (!b)
			return MHD_NO;
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	q->buf[q->len] = '\0';
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	collector *C = cls;
	request *q = *con_cls;
	(void)version;

	if (!q)
		return MHD_NO; /* on_request_line() ran out of memory */
	if (!q->routed)
		return route(C, conn, url, method, q);
	if (q->committing)
		return reply_committed(C, conn, q);
	if (q->replied) {
		*upload_data_size = 0; /* a reply is queued; discard the rest */
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return append_body(C, q, upload_data, n);
	}
	/* body complete */
	q->replied = 1;
	atomic_fetch_add(&C->c.requests, 1);
	if (q->too_large) {
		atomic_fetch_add(&C->c.too_large, 1);
		return reply_error(C, conn, MHD_HTTP_CONTENT_TOO_LARGE, "report too large");
	}
	return store_report(C, conn, q);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	collector *C = cls;
	request *q = *con_cls;
	const union MHD_ConnectionInfo *ci;
	int early = q && q->early;

	if (q && !q->replied) {
		/* no reply of ours: libmicrohttpd refused bad HTTP with its own error reply, or the client left */
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
		if (ci && ci->http_status >= 400) {
			atomic_fetch_add(&C->c.bad_http, 1);
			if (C->verbose)
				cli_warn("collect: %u bad HTTP (answered by libmicrohttpd)", ci->http_status);
		} else {
			atomic_fetch_add(&C->c.aborted, 1);
		}
	}
	if (q) {
		if (q->submitted)
			atomic_fetch_sub(&C->pending, 1);
		free(q->copy);
		free(q->buf);
		free(q);
		*con_cls = NULL;
	}
	/* the next request on this connection gets a full deadline */
	if ((ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT)) && ci->socket_context)
		conns_request_done(C->conns, ci->socket_context, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || early);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	collector *C = cls;
	char msg[512];
	if (!C->verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	cli_warn("collect: %s", msg);
}

/* ---- setup ---------------------------------------------------------------- */

static int parse_uint(unsigned long long *out, const char *s, unsigned long long min, unsigned long long max,
	const char *opt)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v < min || v > max) {
		cli_error("collect: %s must be an integer from %llu to %llu", opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_listen(struct sockaddr_storage *ss, socklen_t *sl, const char *s)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	unsigned long long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (parse_uint(&port, colon + 1, 0, 65535, "--listen port") != 0)
		return -1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		goto bad;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*sl = sizeof(*a4);
	return 0;
bad:
	cli_error("collect: --listen must be IPV4:PORT or [IPV6]:PORT, got '%s'", s);
	return -1;
}

/* The options of certpin collect, as given and as parsed. */
typedef struct collect_opts {
	const char *db_spec, *listen, *port_file, *tls_cert, *tls_key;
	const char *max_body_s, *timeout_s, *req_timeout_s, *max_conns_s, *per_ip_s, *threads_s, *max_req_s;
	const char *duration_s, *dash_token_file;
	int verbose, dashboard;
	unsigned long long max_body, timeout, req_timeout, max_conns, per_ip, threads, max_requests, duration;
	struct sockaddr_storage ss;
	socklen_t sl;
} collect_opts;

/* The option values: 0, or -1 after a message. */
static int check_args(collect_opts *o)
{
	if (!o->db_spec) {
		cli_error("collect: --db is required (a .sqlite file or a postgresql:// URI)");
		return -1;
	}
	if ((!o->tls_cert) != (!o->tls_key)) {
		cli_error("collect: --tls-cert and --tls-key go together");
		return -1;
	}
	if ((o->max_body_s && parse_uint(&o->max_body, o->max_body_s, 256, CERTPIN_REPORT_MAX_LEN, "--max-body") != 0) ||
		(o->timeout_s && parse_uint(&o->timeout, o->timeout_s, 1, 3600, "--timeout") != 0) ||
		(o->req_timeout_s && parse_uint(&o->req_timeout, o->req_timeout_s, 1, 3600, "--request-timeout") != 0) ||
		(o->max_conns_s && parse_uint(&o->max_conns, o->max_conns_s, 1, 100000, "--max-conns") != 0) ||
		(o->per_ip_s && parse_uint(&o->per_ip, o->per_ip_s, 1, 100000, "--max-conns-per-ip") != 0) ||
		(o->threads_s && parse_uint(&o->threads, o->threads_s, 1, 64, "--threads") != 0) ||
		(o->max_req_s && parse_uint(&o->max_requests, o->max_req_s, 1, 1000000000ULL, "--max-requests") != 0) ||
		(o->duration_s && parse_uint(&o->duration, o->duration_s, 1, 100000000ULL, "--duration") != 0) ||
		parse_listen(&o->ss, &o->sl, o->listen) != 0)
		return -1;
	if (o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		cli_error("collect: this libmicrohttpd has no TLS support");
		return -1;
	}
	return 0;
}

/* The HTTP(S) server, or NULL after a message; `cert_pem` NULL: plain HTTP. */
static struct MHD_Daemon *start_daemon(collector *C, const collect_opts *o, const char *cert_pem, const char *key_pem)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem tls[] = {
		{ cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_Daemon *d;

	if (cert_pem)
		flags |= MHD_USE_TLS;
	if (o->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, C,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, C, /* first, or libmicrohttpd complains on stderr */
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&o->ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)o->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)o->max_conns,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)o->per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, C,
		MHD_OPTION_NOTIFY_CONNECTION, conns_notify, C->conns,
		MHD_OPTION_URI_LOG_CALLBACK, on_request_line, C,
		MHD_OPTION_ARRAY, tls,  /* the certificate and key with TLS, else nothing */
		MHD_OPTION_END);
	if (!d)
		cli_error("collect: cannot listen on %s%s", o->listen,
			cert_pem ? " (address in use, or a certificate or key libmicrohttpd cannot use)" : " (address in use?)");
	return d;
}

/* Announce the port (--port-file, "listening on" on stdout): 0, or -1 after a message. */
static int announce(struct MHD_Daemon *d, const collect_opts *o, const collector *C)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	unsigned int port = 0;
	char host[128];

	if (di && getsockname(di->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
		port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port :
			((struct sockaddr_in *)&bound)->sin_port);
	if (o->port_file && collect_write_port_file(o->port_file, port) != 0) {
		/* a startup failure: one line, no summary */
		cli_error("collect: cannot write %s: %s", o->port_file, strerror(errno));
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(strrchr(o->listen, ':') - o->listen), o->listen);
	printf("listening on %s:%u (%s%s)\n", host, port, o->tls_cert ? "https, " : "", cdb_engine(C->db));
	fflush(stdout);
	return 0;
}

/* Serve until a signal in `sigs`, --max-requests or --duration. */
static void serve(collector *C, const collect_opts *o, const sigset_t *sigs)
{
	int64_t start = cli_mono_ms();

	for (;;) {
		struct timespec ts = { 0, 200 * 1000000L };
		int sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			break;
		conns_scan(C->conns);
		if (o->max_requests && atomic_load(&C->c.requests) >= o->max_requests)
			break;
		if (o->duration && (uint64_t)(cli_mono_ms() - start) >= o->duration * 1000u)
			break;
	}
}

static void print_summary(collector *C)
{
	const counters *c = &C->c;
	unsigned long long batches = 0, committed = 0;

	commit_queue_counts(C->commits, &batches, &committed);
	fprintf(stderr, "certpin: collect: %llu requests, %llu stored, %llu malformed, %llu too large, "
		"%llu bad type, %llu bad path/method, %llu store errors, %llu cut off, %llu aborted, %llu bad HTTP, "
		"%llu evicted, %llu duplicates, %llu keys reused; %llu reports in %llu commits\n",
		(unsigned long long)atomic_load(&c->requests), (unsigned long long)atomic_load(&c->stored),
		(unsigned long long)atomic_load(&c->malformed), (unsigned long long)atomic_load(&c->too_large),
		(unsigned long long)atomic_load(&c->bad_type), (unsigned long long)atomic_load(&c->bad_route),
		(unsigned long long)atomic_load(&c->store_errors), (unsigned long long)atomic_load(&c->cut_off),
		(unsigned long long)atomic_load(&c->aborted), (unsigned long long)atomic_load(&c->bad_http),
		(unsigned long long)atomic_load(&c->evicted), (unsigned long long)atomic_load(&c->duplicates),
		(unsigned long long)atomic_load(&c->key_reused), committed, batches);
}

/*
 * Before the server stops: commit what is queued, and give the connections
 * it resumed up to 5 s to send their replies, so that a report stored at
 * shutdown is also acknowledged (libmicrohttpd must not stop with a
 * connection suspended).  Reports arriving meanwhile get 503, not stored.
 */
static void drain(collector *C)
{
	int64_t until = cli_mono_ms() + 5000;

	commit_queue_close(C->commits);
	while (atomic_load(&C->pending) > 0 && cli_mono_ms() < until)
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
}

/* Start the server, serve, stop: the exit status. */
static int run_collect(collector *C, const collect_opts *o, const char *cert_pem, const char *key_pem)
{
	struct MHD_Daemon *d;
	sigset_t sigs, old;
	int rc = CLI_EXIT_USAGE;

	/* the server threads inherit a mask without SIGINT/SIGTERM; this thread waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	d = start_daemon(C, o, cert_pem, key_pem);
	if (d && announce(d, o, C) == 0) {
		serve(C, o, &sigs);
		rc = CLI_EXIT_OK;
	}
	if (d) {
		drain(C);
		MHD_stop_daemon(d);
	}
	if (rc == CLI_EXIT_OK)
		print_summary(C);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int cmd_collect(int argc, char **argv)
{
	collect_opts o = {
		.listen = DEFAULT_LISTEN, .max_body = DEFAULT_MAX_BODY, .timeout = DEFAULT_TIMEOUT,
		.req_timeout = DEFAULT_REQUEST_TIMEOUT, .max_conns = DEFAULT_MAX_CONNS,
		.per_ip = DEFAULT_MAX_CONNS_PER_IP, .threads = DEFAULT_THREADS,
	};
	const cli_opt opts[] = {
		CLI_VALUE("--db", 'd', &o.db_spec), CLI_VALUE("--listen", 0, &o.listen),
		CLI_VALUE("--port-file", 0, &o.port_file), CLI_VALUE("--tls-cert", 0, &o.tls_cert),
		CLI_VALUE("--tls-key", 0, &o.tls_key), CLI_VALUE("--max-body", 0, &o.max_body_s),
		CLI_VALUE("--timeout", 't', &o.timeout_s), CLI_VALUE("--request-timeout", 0, &o.req_timeout_s),
		CLI_VALUE("--max-conns", 0, &o.max_conns_s), CLI_VALUE("--max-conns-per-ip", 0, &o.per_ip_s),
		CLI_VALUE("--threads", 0, &o.threads_s), CLI_VALUE("--max-requests", 0, &o.max_req_s),
		CLI_VALUE("--duration", 0, &o.duration_s), CLI_FLAG("--verbose", 0, &o.verbose),
		CLI_FLAG("--dashboard", 0, &o.dashboard), CLI_VALUE("--dashboard-token-file", 0, &o.dash_token_file),
		CLI_OPT_END,
	};
	const cli_spec spec = { "collect", usage_collect, opts, 0, 0, NULL, 0 };
	char *cert_pem = NULL, *key_pem = NULL, err[512];
	cli_args args;
	collector C;
	int rc;

	if ((rc = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return rc;
	if (check_args(&o) != 0)
		return CLI_EXIT_USAGE;
	if (o.tls_cert && (!(cert_pem = collect_read_text(o.tls_cert, "certificate")) ||
			!(key_pem = collect_read_text(o.tls_key, "key")) ||
			collect_check_tls_pair(cert_pem, o.tls_cert, key_pem, o.tls_key) != 0)) {
		free(cert_pem);
		free(key_pem);
		return CLI_EXIT_USAGE;
	}
	memset(&C, 0, sizeof(C));
	rc = CLI_EXIT_USAGE;
	if (dashboard_new(&C.dash, o.dashboard, o.dash_token_file, o.tls_cert != NULL) != 0) {
		/* message printed */
	} else if (cdb_open(&C.db, o.db_spec, err, sizeof(err)) != 0 ||
		   commit_queue_new(&C.commits, C.db, err, sizeof(err)) != 0) {
		cli_error("collect: %s", err);
	} else if (C.dash && dashboard_open_db(C.dash, o.db_spec) != 0) {
		/* message printed */
	} else if (!(C.conns = conns_new(&(conns_config){ (unsigned int)o.max_conns, (unsigned int)o.req_timeout,
			o.tls_cert != NULL, o.verbose, &C.c.cut_off, &C.c.evicted, &C.c.bad_http }))) {
		cli_error("collect: out of memory");
	} else {
		C.max_body = (size_t)o.max_body;
		C.verbose = o.verbose;
		C.max_requests = o.max_requests;
		rc = run_collect(&C, &o, cert_pem, key_pem);
	}
	dashboard_free(C.dash);
	commit_queue_free(C.commits);
	conns_free(C.conns);
	cdb_close(C.db);
	free(cert_pem);
	free(key_pem);
	return rc;
}
