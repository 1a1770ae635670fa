#include "report_bodies.h"
#include "test.h"

#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void die(const char *what)
{
	fprintf(stderr, "report_bodies: %s\n", what);
	exit(2);
}

/* One certificate as the sender writes PEM: base64 lines of `width`, each ended by `eol`. */
static json_t *pem_string(X509 *x, int width, const char *after_begin, const char *eol, const char *before_end,
	const char *after_end)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *b64 = malloc(4 * ((size_t)n + 2) / 3 + 4), *pem;
	size_t len, out = 0, cap;
	json_t *s;

	if (n <= 0 || !b64)
		die("cannot encode a certificate");
	len = (size_t)EVP_EncodeBlock((unsigned char *)b64, der, n);
	cap = len + len / (size_t)width * 2 + 128;
	if (!(pem = malloc(cap)))
		die("out of memory");
	out += (size_t)snprintf(pem, cap, "-----BEGIN CERTIFICATE-----%s", after_begin);
	for (size_t i = 0; i < len; i += (size_t)width) {
		size_t k = len - i < (size_t)width ? len - i : (size_t)width;
		int last = i + k >= len;
		out += (size_t)snprintf(pem + out, cap - out, "%.*s%s", (int)k, b64 + i, last ? before_end : eol);
	}
	snprintf(pem + out, cap - out, "-----END CERTIFICATE-----%s", after_end);
	s = json_string(pem);
	free(pem);
	free(b64);
	OPENSSL_free(der);
	return s;
}

static json_t *chain_array(const char *file, report_sender sender)
{
	FILE *f = fopen(test_pki(file), "r");
	json_t *arr = json_array();
	X509 *x;

	if (!f || !arr)
		die("cannot read the chain");
	while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (sender == SENDER_TRUSTKIT_IOS)
			json_array_append_new(arr, pem_string(x, 64, "\n", "\r\n", "\n", ""));
		else if (sender == SENDER_TRUSTKIT_ANDROID)
			json_array_append_new(arr, pem_string(x, 76, "\n", "\n", "\n", "\n"));
		else
			json_array_append_new(arr, pem_string(x, 64, "\n", "\n", "\n", "\n"));
		X509_free(x);
	}
	fclose(f);
	return arr;
}

/* "pin-sha256=\"B64\"" of a pins.txt entry (sha256/B64). */
static json_t *known_pins(const char *name)
{
	const char *pin = test_pin(name);
	char s[128];

	snprintf(s, sizeof(s), "pin-sha256=\"%s\"", pin + strlen("sha256/"));
	return json_pack("[s]", s);
}

static json_t *trustkit(const report_body_opts *o, const char *date)
{
	int ios = o->sender == SENDER_TRUSTKIT_IOS;
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:b, s:i, s:o, s:o}",
		"app-bundle-id", o->app_id ? o->app_id : ios ? "com.example.certpin" : "com.example.android",
		"app-version", o->app_version ? o->app_version : "3.2.0",
		"app-platform", ios ? "IOS" : "ANDROID",
		"app-vendor-id", o->vendor_id ? o->vendor_id : "599F9C00-92DC-4B5C-9464-7971F01F8370",
		"trustkit-version", ios ? "3.0.0" : "1.1.5",
		"date-time", date,
		"hostname", o->hostname ? o->hostname : "api.certpin.test",
		"port", 0,
		"noted-hostname", "api.certpin.test",
		"include-subdomains", 0,
		"enforce-pinning", !o->report_only,
		"validation-result", o->validation_result ? o->validation_result : 1,
		"validated-certificate-chain", chain_array(o->chain ? o->chain : "chain.pem", o->sender),
		"known-pins", known_pins(o->known_pin ? o->known_pin : "backup"));

	if (!r)
		die("cannot build a TrustKit report");
	if (ios) {
		json_object_set_new(r, "app-platform-version", json_string("17.4.1"));
		json_object_set_new(r, "known-pins-expiration-date", json_string("2031-01-02"));
	} else {
		json_object_set_new(r, "served-certificate-chain", chain_array(o->chain ? o->chain : "chain.pem", o->sender));
	}
	return r;
}

static json_t *chrome(const report_body_opts *o, const char *date)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:i, s:o, s:o}",
		"date-time", date,
		"effective-expiration-date", "2031-01-02T03:04:05.000Z",
		"hostname", o->hostname ? o->hostname : "api.certpin.test",
		"include-subdomains", 0,
		"known-pins", known_pins(o->known_pin ? o->known_pin : "backup"),
		"noted-hostname", "api.certpin.test",
		"port", 443,
		"served-certificate-chain", chain_array(o->chain ? o->chain : "chain.pem", o->sender),
		"validated-certificate-chain", chain_array(o->chain ? o->chain : "chain.pem", o->sender));

	if (!r)
		die("cannot build a Chrome report");
	return r;
}

char *report_body(const report_body_opts *o)
{
	time_t now = time(NULL);
	struct tm tm;
	char date[40];
	json_t *r;
	char *s;

	gmtime_r(&now, &tm);
	if (o->sender == SENDER_CHROME) {
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S.123Z", &tm);
		r = chrome(o, date);
	} else {
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
		r = trustkit(o, date);
	}
	/* NSJSONSerialization and org.json write "/" as "\/"; Chrome's JSONWriter does not */
	s = json_dumps(r, JSON_COMPACT | (o->sender == SENDER_CHROME ? 0 : JSON_ESCAPE_SLASH));
	json_decref(r);
	if (!s)
		die("cannot write a report");
	return s;
}

char *body_with(const char *doc, const char *key, json_t *v)
{
	json_t *j = json_loads(doc, 0, NULL);
	char *s;

	if (v)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}
