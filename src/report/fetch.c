/*
 * certpin_bundle_fetch(): GET a signed policy bundle over HTTPS with
 * libcurl, pinned by the policy in force.
 *
 * The pins are checked on the chain OpenSSL verified, in libcurl's own
 * handshake: the SSL_CTX callback (CURLOPT_SSL_CTX_FUNCTION) attaches the
 * current policy with certpin_ssl_ctx_attach(), which runs after OpenSSL's
 * PKIX validation (libcurl keeps VERIFYPEER and VERIFYHOST on).  The pin
 * decision of the handshake is recorded from the same SSL_CTX, by an info
 * callback that reads certpin_ssl_result() when the handshake finishes or
 * an alert is sent: a handshake the pins refuse reports their code
 * (CERTPIN_E_PIN_MISMATCH, ...), never only libcurl's generic error.
 *
 * HTTP is libcurl's: https only, no redirects, no proxy, no session reuse,
 * a size cap and one deadline for the whole transfer.  Two checks are ours:
 * Content-Length must be one decimal number (libcurl takes the last of
 * several), and a body that only the connection's close ends (no
 * Content-Length, not chunked, HTTP/1) must end with the server's TLS
 * close_notify, which libcurl does not require: without it the body may
 * have been cut short.
 */
#include "report_internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define FETCH_DEFAULT_TIMEOUT_MS 30000u
#define URL_PATH_MAX 1024

typedef struct fetch {
	certpin_fetch_result *res;
	certpin_error *err;
	certpin_policy *policy;
	char host[CERTPIN_HOSTNAME_MAX];        /* as in the URL, brackets removed */
	char norm[CERTPIN_HOSTNAME_MAX];
	bool is_ip;
	unsigned int port;
	char path[URL_PATH_MAX];
	size_t max;
	char *body;                             /* what arrived so far */
	size_t len, cap;
	bool too_big, bad_status;
	const char *bad_header;                 /* a header refused (the reason), or NULL */
	long long content_length;               /* of the last response, -1 if none */
	bool chunked;                           /* Transfer-Encoding: chunked */
	bool close_notify;                      /* the server ended the TLS session with close_notify */
	int attach_rc;                          /* of certpin_ssl_ctx_attach() in the SSL_CTX callback */
	bool have_pin;                          /* pin_rc and res->pin hold the handshake's decision */
} fetch;

__attribute__((format(printf, 3, 4)))
static int ffail(fetch *f, int code, const char *fmt, ...)
{
	char msg[sizeof(f->err->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return certpin_error_set(f->err, code, NULL, 0, "%s", msg);
}

/* ---- URL ------------------------------------------------------------------ */

/* HOST[:PORT] of "https://HOST[:PORT]/..." into f->host and f->port; *rest after the authority. */
static int parse_authority(fetch *f, const char *host, const char *auth_end)
{
	const char *p, *host_end, *port = NULL;
	size_t hl;

	if (memchr(host, '@', (size_t)(auth_end - host)))
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: user information is not supported");
	if (*host == '[') {
		if (!(host_end = memchr(host, ']', (size_t)(auth_end - host))))
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: unterminated IPv6 literal");
		p = host_end + 1;
		host++;
		if (p < auth_end && *p != ':')
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad authority");
		port = p < auth_end ? p + 1 : NULL;
	} else {
		if ((host_end = memchr(host, ':', (size_t)(auth_end - host))))
			port = host_end + 1;
		else
			host_end = auth_end;
	}
	hl = (size_t)(host_end - host);
	if (hl == 0 || hl >= sizeof(f->host))
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad host");
	memcpy(f->host, host, hl);
	f->host[hl] = '\0';
	f->port = 443;
	if (port) {
		size_t pl = (size_t)(auth_end - port);
		unsigned long v = 0;
		for (size_t i = 0; i < pl; i++)
			v = port[i] >= '0' && port[i] <= '9' && v < 100000 ? v * 10 + (unsigned long)(port[i] - '0') : 100000;
		if (pl == 0 || pl > 5 || v == 0 || v > 65535)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad port");
		f->port = (unsigned int)v;
	}
	return CERTPIN_OK;
}

/* "https://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]": host, port, path and query (the fragment is dropped). */
static int parse_url(fetch *f, const char *url)
{
	unsigned char addr[16];
	const char *host, *auth_end, *p;
	size_t n;
	int rc;

	if (strncasecmp(url, "https://", 8) != 0)
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: only https:// URLs are fetched");
	host = url + 8;
	auth_end = host + strcspn(host, "/?#");
	if ((rc = parse_authority(f, host, auth_end)) != CERTPIN_OK)
		return rc;
	if (certpin_hostname_normalize(f->norm, sizeof(f->norm), f->host) != CERTPIN_OK)
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: invalid host \"%s\"", f->host);
	f->is_ip = inet_pton(AF_INET, f->norm, addr) == 1 || inet_pton(AF_INET6, f->norm, addr) == 1;
	/* path and query, without any fragment; "https://host?q" has the path "/" */
	p = *auth_end == '/' ? auth_end : "/";
	n = strcspn(p, "#");
	if (*auth_end == '?') {
		p = auth_end;
		n = strcspn(p, "#");
		if (n + 1 >= sizeof(f->path))
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: path too long");
		snprintf(f->path, sizeof(f->path), "/%.*s", (int)n, p);
	} else {
		if (n >= sizeof(f->path))
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: path too long");
		snprintf(f->path, sizeof(f->path), "%.*s", (int)n, p);
	}
	for (const char *c = f->path; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: invalid character in path");
	return CERTPIN_OK;
}

/* ---- the pin check, from libcurl's SSL_CTX -------------------------------- */

static int ctx_index = -1;
static pthread_once_t ctx_index_once = PTHREAD_ONCE_INIT;

static void make_ctx_index(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/*
 * Record the pin decision of the handshake: when it finishes, and when an
 * alert is sent (a refused handshake sends one before libcurl sees the
 * failure).  certpin_ssl_result() reports only the current handshake.
 */
static void info_cb(const SSL *ssl, int where, int ret)
{
	fetch *f = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
	certpin_result r;
	int rc;

	if (f && (where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT && (ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
		f->close_notify = true;
	if (!f || !((where & SSL_CB_HANDSHAKE_DONE) || ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE))))
		return;
	if ((rc = certpin_ssl_result(&r, ssl)) == CERTPIN_E_STATE)
		return;
	f->res->pin_rc = rc;
	f->res->pin = r;
	f->have_pin = true;
}

/* CURLOPT_SSL_CTX_FUNCTION: the verification name, TLS 1.2+, the record hook, then the pins. */
static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *userptr)
{
	SSL_CTX *ctx = sslctx;
	fetch *f = userptr;
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);

	(void)curl;
	/* OpenSSL checks the URL host too (libcurl does as well); for an IP URL, which has no SNI, it names the host */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    (f->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, f->norm) : X509_VERIFY_PARAM_set1_host(param, f->norm, 0)) != 1 ||
	    ctx_index < 0 || SSL_CTX_set_ex_data(ctx, ctx_index, f) != 1) {
		f->attach_rc = CERTPIN_E_TLS;
		return CURLE_SSL_CERTPROBLEM;
	}
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a body ended by the connection's close must end with a TLS close_notify, else it may be cut short */
	SSL_CTX_clear_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* an info callback set before attaching is still called by certpin's */
	SSL_CTX_set_info_callback(ctx, info_cb);
	if ((f->attach_rc = certpin_ssl_ctx_attach(ctx, f->policy, NULL)) != CERTPIN_OK)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

/* ---- HTTP ------------------------------------------------------------------ */

/* CURLOPT_WRITEFUNCTION: only a 200 response's body, at most f->max bytes. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *userptr)
{
	fetch *f = userptr;
	size_t n = size * nmemb;
	char *nb;

	if (f->bad_status || f->too_big)
		return 0;
	if (n > f->max || f->len + n > f->max) {
		f->too_big = true;
		return 0;
	}
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 16384;
		while (cap < f->len + n + 1)
			cap *= 2;
		if (!(nb = realloc(f->body, cap)))
			return 0;
		f->body = nb;
		f->cap = cap;
	}
	memcpy(f->body + f->len, data, n);
	f->len += n;
	f->body[f->len] = '\0';
	return n;
}

/* Header `name` (with its colon): the value, white space trimmed, into `v`; false if it is another header. */
static bool header_value(const char *data, size_t n, const char *name, char *v, size_t vlen)
{
	size_t nl = strlen(name), a, b;

	if (n < nl || strncasecmp(data, name, nl) != 0)
		return false;
	for (a = nl; a < n && (data[a] == ' ' || data[a] == '\t'); a++)
		;
	for (b = n; b > a && (data[b - 1] == '\r' || data[b - 1] == '\n' || data[b - 1] == ' ' || data[b - 1] == '\t'); b--)
		;
	snprintf(v, vlen, "%.*s", (int)(b - a), data + a);
	return true;
}

/* Content-Length: one decimal number, the same in every copy of the header. */
static bool content_length_ok(fetch *f, const char *v)
{
	long long n = 0;

	if (!v[0] || strlen(v) > 15 || strspn(v, "0123456789") != strlen(v)) {
		f->bad_header = "bad Content-Length";
		return false;
	}
	for (const char *c = v; *c; c++)
		n = n * 10 + (*c - '0');
	if (f->content_length >= 0 && f->content_length != n) {
		f->bad_header = "conflicting Content-Length headers";
		return false;
	}
	f->content_length = n;
	return true;
}

/* CURLOPT_HEADERFUNCTION: the status (no other response's body is taken) and the body's framing. */
static size_t header_cb(char *data, size_t size, size_t nitems, void *userptr)
{
	fetch *f = userptr;
	size_t n = size * nitems;
	unsigned int status = 0;
	char v[64];

	/* the status line of each response (1xx ones included): "HTTP/1.1 200 OK", "HTTP/2 200" */
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', n);
		if (!sp || sscanf(sp, " %3u", &status) != 1)
			status = 0;
		f->res->http_status = (int)status;
		f->bad_status = status != 200;
		f->content_length = -1;
		f->chunked = false;
	} else if (header_value(data, n, "content-length:", v, sizeof(v)) && !content_length_ok(f, v)) {
		return 0;
	} else if (header_value(data, n, "transfer-encoding:", v, sizeof(v))) {
		f->chunked = strcasecmp(v, "chunked") == 0;
	}
	return n;
}

/* The lists libcurl borrows for the transfer. */
typedef struct lists {
	struct curl_slist *headers, *connect_to;
} lists;

static void set_transport(CURL *c, fetch *f, const certpin_fetch_options *o)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cafile);
	curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
}

/* An easy handle for f's URL, or NULL if out of memory. */
static CURL *fetch_handle(fetch *f, const certpin_fetch_options *o, lists *l, char *errbuf)
{
	char url[URL_PATH_MAX + CERTPIN_HOSTNAME_MAX + 32], to[CERTPIN_HOSTNAME_MAX + 32];
	bool v6 = strchr(f->host, ':') != NULL;
	CURL *c = curl_easy_init();

	if (!c || !(l->headers = curl_slist_append(NULL, "Accept: application/json")))
		goto nomem;
	if (o->connect_host) {
		bool cv6 = strchr(o->connect_host, ':') && o->connect_host[0] != '[';
		/* "::HOST:PORT": the transfer's one host and port, whatever they are, are reached at HOST */
		snprintf(to, sizeof(to), "::%s%.*s%s:%u", cv6 ? "[" : "", CERTPIN_HOSTNAME_MAX, o->connect_host,
			cv6 ? "]" : "", f->port);
		if (!(l->connect_to = curl_slist_append(NULL, to)))
			goto nomem;
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, l->connect_to);
	}
	snprintf(url, sizeof(url), "https://%s%s%s:%u%s", v6 ? "[" : "", f->host, v6 ? "]" : "", f->port, f->path);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK)
		goto nomem;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	set_transport(c, f, o);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, l->headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "certpin/" CERTPIN_VERSION_STRING);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	return c;
nomem:
	curl_easy_cleanup(c);
	return NULL;
}

/* The certpin code and message for a transfer that failed with libcurl's `cc`. */
static int transfer_failed(fetch *f, CURL *c, CURLcode cc, const char *errbuf, const certpin_fetch_options *o)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	const char *connect_host = o->connect_host ? o->connect_host : f->host;
	long verify = X509_V_OK;

	if (f->have_pin && f->res->pin_rc != CERTPIN_OK)
		return ffail(f, f->res->pin_rc, "%s: refused by the current policy: %s", f->host,
			certpin_strerror(f->res->pin_rc));
	if (f->attach_rc != CERTPIN_OK)
		return ffail(f, f->attach_rc, "cannot attach the current policy: %s", certpin_strerror(f->attach_rc));
	if (f->bad_header)
		return ffail(f, CERTPIN_E_IO, "%s: %s", f->host, f->bad_header);
	if (f->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return ffail(f, CERTPIN_E_IO, "%s: response larger than %zu bytes", f->host, f->max);
	if (f->bad_status)
		return ffail(f, CERTPIN_E_IO, "%s%s: HTTP status %d", f->host, f->path, f->res->http_status);
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return ffail(f, CERTPIN_E_IO, "%s: timed out (%s)", f->host, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return ffail(f, CERTPIN_E_IO, "cannot resolve %s: %s", connect_host, why);
	case CURLE_COULDNT_CONNECT:
		return ffail(f, CERTPIN_E_IO, "cannot connect to %s port %u: %s", connect_host, f->port, why);
	case CURLE_SSL_CACERT_BADFILE:
		return ffail(f, CERTPIN_E_IO, "cannot load trust anchors from %s: %s", o->cafile ? o->cafile : "the default "
			"store", why);
	case CURLE_PEER_FAILED_VERIFICATION:
		curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
		return ffail(f, CERTPIN_E_PKIX, "%s: certificate verification failed: %s", f->host,
			verify != X509_V_OK ? X509_verify_cert_error_string(verify) : why);
	case CURLE_SSL_CONNECT_ERROR:
		return ffail(f, CERTPIN_E_TLS, "%s: TLS handshake failed: %s", f->host, why);
	case CURLE_PARTIAL_FILE:
		return ffail(f, CERTPIN_E_IO, "%s: connection closed before the response was complete (body shorter "
			"than its Content-Length says)", f->host);
	case CURLE_RECV_ERROR:
		return ffail(f, CERTPIN_E_IO, "%s: connection closed before the response was complete (%s)", f->host, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		return ffail(f, CERTPIN_E_IO, "%s: malformed HTTP status line or response (%s)", f->host, why);
	case CURLE_OUT_OF_MEMORY:
		return ffail(f, CERTPIN_E_NOMEM, "out of memory");
	default:
		return ffail(f, CERTPIN_E_IO, "%s: %s", f->host, why);
	}
}

/* Did only the connection's close end the body (HTTP/1, no Content-Length, not chunked)? */
static bool close_delimited(const fetch *f, CURL *c)
{
	long version = CURL_HTTP_VERSION_1_1;

	curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
	return version != CURL_HTTP_VERSION_2_0 && version != CURL_HTTP_VERSION_3 && f->content_length < 0 &&
		!f->chunked;
}

/* Run the transfer; on success the body is f->body (f->len bytes). */
static int transfer(fetch *f, const certpin_fetch_options *o)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	lists l = { NULL, NULL };
	CURL *c;
	CURLcode cc;
	int rc = CERTPIN_OK;

	if (certpin_report__curl_init() != CERTPIN_OK || pthread_once(&ctx_index_once, make_ctx_index) != 0 ||
	    ctx_index < 0)
		return ffail(f, CERTPIN_E_TLS, "cannot initialize libcurl");
	if (!(c = fetch_handle(f, o, &l, errbuf)))
		return ffail(f, CERTPIN_E_NOMEM, "out of memory");
	f->content_length = -1;
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK || f->bad_status)
		rc = transfer_failed(f, c, cc, errbuf, o);
	else if (!f->have_pin || f->res->pin_rc != CERTPIN_OK)
		/* an attached policy checks every handshake; anything else is a fault: fail closed */
		rc = ffail(f, f->have_pin ? f->res->pin_rc : CERTPIN_E_TLS, "%s: pin check %s", f->host,
			certpin_strerror(f->have_pin ? f->res->pin_rc : CERTPIN_E_STATE));
	else if (close_delimited(f, c) && !f->close_notify)
		rc = ffail(f, CERTPIN_E_IO, "%s: connection closed before the response was complete (no TLS "
			"close_notify after a body without Content-Length)", f->host);
	curl_easy_cleanup(c);
	curl_slist_free_all(l.headers);
	curl_slist_free_all(l.connect_to);
	return rc;
}

int certpin_bundle_fetch(char **out, size_t *outlen, certpin_fetch_result *result, const char *url,
	certpin_policy *current, const certpin_fetch_options *opts, certpin_error *err)
{
	certpin_fetch_options o = CERTPIN_FETCH_OPTIONS_INIT;
	certpin_fetch_result local;
	fetch f;
	size_t rule;
	int rc;

	certpin_error_clear(err);
	if (!result)
		result = &local;
	memset(result, 0, sizeof(*result));
	result->version = CERTPIN_FETCH_RESULT_VERSION;
	result->pin_rc = CERTPIN_E_STATE;
	memset(&f, 0, sizeof(f));
	f.res = result;
	f.err = err;
	f.policy = current;
	if (!out || !outlen || !url || !current)
		return ffail(&f, CERTPIN_E_INVALID_ARG, "missing argument");
	*out = NULL;
	*outlen = 0;
	if (opts && opts->version != CERTPIN_FETCH_OPTIONS_VERSION)
		return ffail(&f, CERTPIN_E_INVALID_ARG, "unknown options version");
	if (opts)
		o = *opts;
	f.max = o.max_bytes == 0 || o.max_bytes > CERTPIN_BUNDLE_MAX ? CERTPIN_BUNDLE_MAX : o.max_bytes;
	if (o.timeout_ms == 0)
		o.timeout_ms = FETCH_DEFAULT_TIMEOUT_MS;
	if ((rc = parse_url(&f, url)) != CERTPIN_OK)
		return rc;
	if (certpin_policy_lookup(&rule, current, f.norm) != CERTPIN_OK)
		return ffail(&f, CERTPIN_E_NOT_FOUND, "%s is not pinned by the current policy; refusing an unpinned fetch",
			f.norm);
	if ((rc = transfer(&f, &o)) != CERTPIN_OK) {
		free(f.body);
		return rc;
	}
	if (!f.body && !(f.body = calloc(1, 1)))
		return ffail(&f, CERTPIN_E_NOMEM, "out of memory");
	*out = f.body;
	*outlen = f.len;
	return CERTPIN_OK;
}
