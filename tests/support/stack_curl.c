/*
 * stack_curl.c - the libcurl helper (libcertpin-curl) as a stack client
 * (stack.h): an easy handle as an application makes one, a GET of
 * https://HOST:PORT/ resolved to 127.0.0.1 with CURLOPT_RESOLVE, trusting
 * only the CA file, certpin_curl_attach(), curl_easy_perform(),
 * certpin_curl_result().  The server answers in its HTTP mode
 * (tlsserver_set_http(), switched on for this connection only).
 */
#include "stack.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include "certpin/curl.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct body {
	char text[64];
	size_t len;
} body;

static size_t keep_body(char *data, size_t size, size_t n, void *payload)
{
	body *b = payload;
	size_t len = size * n, room = sizeof(b->text) - 1 - b->len;

	memcpy(b->text + b->len, data, len < room ? len : room);
	b->len += len < room ? len : room;
	b->text[b->len] = '\0';
	return len;
}

/* The options as the helper takes them: pin-only trust is CURLOPT_SSL_VERIFYPEER 0 plus the helper's flag. */
static void curl_options(certpin_curl_options *o, bool *verify_off, const stack_conn *c)
{
	*o = (certpin_curl_options)CERTPIN_CURL_OPTIONS_INIT;
	*verify_off = false;
	o->tofu = c->tofu;
	if (!c->opts)
		return;
	o->on_failure = c->opts->on_failure;
	o->payload = c->opts->payload;
	if (c->opts->version >= 2)
		o->on_result = c->opts->on_result;
	if (c->opts->flags & CERTPIN_SSL_INSECURE_PIN_ONLY) {
		o->flags |= CERTPIN_CURL_INSECURE_PIN_ONLY;
		*verify_off = true;
	}
}

/* An easy handle for GET https://host:port/ at 127.0.0.1; NULL if libcurl refuses. */
static CURL *make_handle(const stack_conn *c, struct curl_slist **resolve, char *errbuf, body *b, bool verify_off)
{
	const char *host = c->host ? c->host : "127.0.0.1";
	char url[512], entry[512];
	CURL *easy = curl_easy_init();

	snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%d/" : "https://%s:%d/", host, c->port);
	snprintf(entry, sizeof(entry), "%s:%d:127.0.0.1", host, c->port);
	*resolve = curl_slist_append(NULL, entry);
	if (!easy || !*resolve)
		return easy;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_RESOLVE, *resolve);
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file ? c->ca_file : "/dev/null");
	curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)TEST_CLIENT_TIMEOUT_S);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, b);
	if (verify_off)
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
	return easy;
}

static int curl_connect(stack_result *out, const stack_conn *c)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *resolve = NULL;
	certpin_curl_options o;
	certpin_error err;
	body b = { "", 0 };
	bool verify_off, attached = c->policy || c->tofu;
	long status = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->rc = out->tofu_rc = CERTPIN_E_STATE;
	out->result.verdict = CERTPIN_VERDICT_NOT_PINNED;
	out->result.rule = out->result.pin = out->result.depth = -1;
	curl_options(&o, &verify_off, c);
	CURL *easy = make_handle(c, &resolve, errbuf, &b, verify_off);
	if (!easy || !resolve) {
		fprintf(stderr, "stack_curl: cannot make an easy handle\n");
		ret = -1;
	} else if (attached && certpin_curl_attach(easy, c->policy, &o, &err) != CERTPIN_OK) {
		fprintf(stderr, "stack_curl: certpin_curl_attach: %s\n", err.message);
		ret = -1;
	}
	if (ret == 0) {
		tlsserver_set_http(TLSSERVER_HTTP);
		CURLcode cc = curl_easy_perform(easy);
		tlsserver_set_http(TLSSERVER_LINE);
		(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		out->connected = cc == CURLE_OK && status == 200 && strcmp(b.text, "ok\n") == 0;
		if (attached) {
			out->rc = certpin_curl_result(easy, &out->result, &err);
			out->tofu_rc = c->tofu ? certpin_curl_tofu_result(easy, &out->tofu) : CERTPIN_E_STATE;
		}
		if (cc != CURLE_OK)
			snprintf(out->error, sizeof(out->error), "curl %d (%.50s) %.60s; certpin: %.120s", (int)cc,
				curl_easy_strerror(cc), errbuf, attached ? err.message : "-");
		if (cc == CURLE_COULDNT_CONNECT)
			ret = -1; /* no TCP connection: the harness failed */
	}
	certpin_curl_detach(easy);
	curl_easy_cleanup(easy);
	curl_slist_free_all(resolve);
	return ret;
}

const stack_client stack_curl = { "curl", curl_connect };
