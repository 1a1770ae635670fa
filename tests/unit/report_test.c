/*
 * report_test - failure report building (report.c) and parsing/validation
 * (report_json.c): round trips, hashes-only mode, digests recomputed from
 * PEM and checked against the sender's, every malformed input refused, and
 * reports built from a real OpenSSL connection (served vs validated chain).
 */
#include "certpin.h"
#include "certpin/report.h"
#include "test.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define POLICY_FMT \
	"{\"schema\": 1, \"policy_version\": 42, \"hosts\": [" \
	" {\"host\": \"api.certpin.test\", \"mode\": \"report-only\", \"expires\": \"2031-01-02T03:04:05Z\"," \
	"  \"pins\": [\"%s\", {\"pin\": \"%s\", \"position\": \"leaf\"}]}," \
	" {\"host\": \"**.enforced.test\", \"pins\": [\"%s\"]}" \
	"]}"

static char pin_leaf[CERTPIN_PIN_STRLEN], pin_backup[CERTPIN_PIN_STRLEN], pin_root[CERTPIN_PIN_STRLEN];

static void load_pins(void)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
		char name[64], pin[CERTPIN_PIN_STRLEN];
		if (sscanf(line, "%63s %79s", name, pin) != 2)
			continue;
		if (strcmp(name, "leaf") == 0)
			snprintf(pin_leaf, sizeof(pin_leaf), "%s", pin);
		else if (strcmp(name, "backup") == 0)
			snprintf(pin_backup, sizeof(pin_backup), "%s", pin);
		else if (strcmp(name, "root") == 0)
			snprintf(pin_root, sizeof(pin_root), "%s", pin);
	}
	free(txt);
}

/* The policy pins api.certpin.test to the backup key (report-only) and to a cert pin. */
static certpin_policy *make_policy(void)
{
	char doc[4096];
	certpin_policy *p = NULL;
	int rc;

	snprintf(doc, sizeof(doc), POLICY_FMT, pin_backup,
		"cert-sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pin_root);
	certpin_error err;
	rc = certpin_policy_load_data(&p, doc, strlen(doc), "test", NULL, &err);
	if (rc != CERTPIN_OK)
		fprintf(stderr, "policy: %s\n", err.message);
	CHECK_INT(rc, CERTPIN_OK);
	return p;
}

/* DER certificates of a PEM file. */
typedef struct ders {
	unsigned char *der[8];
	size_t len[8];
	size_t n;
} ders;

static void load_ders(ders *d, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	memset(d, 0, sizeof(*d));
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	while (d->n < 8 && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		d->der[d->n] = der;
		d->len[d->n++] = (size_t)len;
		X509_free(x);
	}
	fclose(f);
}

static void free_ders(ders *d)
{
	for (size_t i = 0; i < d->n; i++)
		OPENSSL_free(d->der[i]);
}

/* The served chain (leaf, inter) and validated chain (leaf, inter, root). */
static ders served_d, root_d;
static certpin_report_cert served[3], validated[3];
static certpin_chain_elem velems[3];

static void setup_chains(void)
{
	load_ders(&served_d, test_pki("chain.pem"));
	load_ders(&root_d, test_pki("root.pem"));
	CHECK_INT(served_d.n, 2);
	CHECK_INT(root_d.n, 1);
	for (size_t i = 0; i < 2; i++) {
		memset(&served[i], 0, sizeof(served[i]));
		served[i].der = served_d.der[i];
		served[i].der_len = served_d.len[i];
		validated[i] = served[i];
	}
	memset(&validated[2], 0, sizeof(validated[2]));
	validated[2].der = root_d.der[0];
	validated[2].der_len = root_d.len[0];
	for (size_t i = 0; i < 3; i++)
		CHECK_INT(certpin_chain_elem_from_der(&velems[i], validated[i].der, validated[i].der_len), CERTPIN_OK);
}

static void check_verify_mismatch(certpin_result *res, certpin_policy *p, const char *host)
{
	int rc = certpin_verify(res, p, host, velems, 3, (int64_t)time(NULL));
	(void)rc;
}

static json_t *load(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	CHECK(j != NULL);
	return j;
}

/* Hashes only: no certificate leaves, same dedup key as `in`'s full report `info`. */
static void check_hashes_only(certpin_report_input *in, const certpin_report_info *info)
{
	certpin_report_info info2;
	char *json2 = NULL;

	in->hashes_only = 1;
	CHECK_INT(certpin_report_build(&json2, in), CERTPIN_OK);
	CHECK(json2 && !strstr(json2, "BEGIN CERTIFICATE"));
	CHECK(json2 && strstr(json2, "served-chain-sha256"));
	CHECK_INT(certpin_report_parse(&info2, json2, strlen(json2), NULL), CERTPIN_OK);
	CHECK_INT(info2.served_pem, 0);
	CHECK_INT(info2.nvalidated, 3);
	CHECK(memcmp(info->key, info2.key, 32) == 0);
	CHECK(memcmp(info->validated, info2.validated, sizeof(info->validated)) == 0);
	free(json2);
}

/* A different port, result or chain than `in`'s (whose report is `info`) changes the dedup key. */
static void check_key_changes(certpin_report_input *in, const certpin_report_info *info)
{
	certpin_report_info info2;
	char *json2 = NULL;

	in->port = 443;
	CHECK_INT(certpin_report_build(&json2, in), CERTPIN_OK);
	CHECK_INT(certpin_report_parse(&info2, json2, strlen(json2), NULL), CERTPIN_OK);
	CHECK(memcmp(info->key, info2.key, 32) != 0);
	free(json2);
	in->port = 8443;
	in->nvalidated = 2;
	CHECK_INT(certpin_report_build(&json2, in), CERTPIN_OK);
	CHECK_INT(certpin_report_parse(&info2, json2, strlen(json2), NULL), CERTPIN_OK);
	CHECK(memcmp(info->key, info2.key, 32) != 0);
	free(json2);
	in->nvalidated = 3;
	in->rc = CERTPIN_E_PKIX;
	CHECK_INT(certpin_report_build(&json2, in), CERTPIN_OK);
	CHECK_CONTAINS(json2, "\"verdict\":\"pkix-failure\"");
	CHECK_CONTAINS(json2, "\"allowed\":false");
	CHECK_INT(certpin_report_parse(&info2, json2, strlen(json2), NULL), CERTPIN_OK);
	CHECK_INT(info2.kind, CERTPIN_REPORT_PKIX);
	CHECK(memcmp(info->key, info2.key, 32) != 0);
	free(json2);
}

static void test_build_roundtrip(certpin_policy *p)
{
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	certpin_report_info info;
	char *json = NULL;
	certpin_error err;

	check_verify_mismatch(&res, p, "API.certpin.test.");
	CHECK_INT(res.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(res.allowed, 1); /* report-only */
	in.policy = p;
	in.result = &res;
	in.rc = CERTPIN_OK;
	in.port = 8443;
	in.served = served;
	in.nserved = 2;
	in.validated = validated;
	in.nvalidated = 3;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_OK);
	CHECK(json != NULL);
	if (!json)
		return;
	CHECK_CONTAINS(json, "\"hostname\":\"api.certpin.test\"");
	CHECK_CONTAINS(json, "\"port\":8443");
	CHECK_CONTAINS(json, "\"noted-hostname\":\"api.certpin.test\"");
	CHECK_CONTAINS(json, "\"include-subdomains\":false");
	CHECK_CONTAINS(json, "\"verdict\":\"mismatch\"");
	CHECK_CONTAINS(json, "\"enforce\":false");
	CHECK_CONTAINS(json, "\"allowed\":true");
	CHECK_CONTAINS(json, "\"policy-version\":42");
	CHECK_CONTAINS(json, "\"effective-expiration-date\":\"2031-01-02T03:04:05Z\"");
	CHECK_CONTAINS(json, "-----BEGIN CERTIFICATE-----\\n");
	/* known pins in RFC 7469 form, from the policy */
	char want[128];
	snprintf(want, sizeof(want), "pin-sha256=\\\"%s\\\"", pin_backup + strlen("sha256/"));
	CHECK_CONTAINS(json, want);
	CHECK_CONTAINS(json, "cert-sha256=\\\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\\\"");
	/* the leaf's SPKI pin (computed by the openssl CLI) is in the served chain digests */
	snprintf(want, sizeof(want), "\"spki\":\"%s\"", pin_leaf);
	CHECK_CONTAINS(json, want);

	json_t *j = load(json);
	CHECK_INT(json_array_size(json_object_get(j, "served-certificate-chain")), 2);
	CHECK_INT(json_array_size(json_object_get(j, "validated-certificate-chain")), 3);
	CHECK_INT(json_array_size(json_object_get(j, "known-pins")), 2);
	json_decref(j);

	CHECK_INT(certpin_report_parse(&info, json, strlen(json), &err), CERTPIN_OK);
	CHECK_INT(err.code, CERTPIN_OK);
	CHECK_STR(err.message, "");
	CHECK_STR(info.hostname, "api.certpin.test");
	CHECK_INT(info.port, 8443);
	CHECK_INT(info.kind, CERTPIN_REPORT_MISMATCH);
	CHECK_INT(info.enforce, 0);
	CHECK_INT(info.allowed, 1);
	CHECK_INT(info.policy_version, 42);
	CHECK_INT(info.nknown, 2);
	CHECK_INT(info.nserved, 2);
	CHECK_INT(info.nvalidated, 3);
	CHECK_INT(info.served_pem, 1);
	CHECK_INT(info.validated_pem, 1);
	CHECK_INT(info.expires, 1925089445); /* 2031-01-02T03:04:05Z */
	CHECK(memcmp(info.validated[2].spki_sha256, velems[2].spki_sha256, 32) == 0);
	CHECK(memcmp(info.served[0].cert_sha256, velems[0].cert_sha256, 32) == 0);
	certpin_pin leafpin;
	CHECK_INT(certpin_pin_parse(&leafpin, pin_leaf, strlen(pin_leaf)), CERTPIN_OK);
	CHECK(memcmp(info.served[0].spki_sha256, leafpin.digest, 32) == 0);
	certpin_pin backup;
	CHECK_INT(certpin_pin_parse(&backup, pin_backup, strlen(pin_backup)), CERTPIN_OK);
	CHECK(certpin_pin_equal(&info.known[0], &backup));
	CHECK_INT(info.known[1].kind, CERTPIN_PIN_CERT_SHA256);

	check_hashes_only(&in, &info);
	check_key_changes(&in, &info);
	free(json);
}

static void test_build_errors(certpin_policy *p)
{
	certpin_result res, match;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	certpin_report_cert many[CERTPIN_REPORT_CHAIN_MAX + 1];
	char *json = (char *)1;

	check_verify_mismatch(&res, p, "api.certpin.test");
	in.policy = p;
	in.result = &res;
	in.served = served;
	in.nserved = 2;
	CHECK_INT(certpin_report_build(NULL, &in), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_report_build(&json, NULL), CERTPIN_E_INVALID_ARG);
	CHECK(json == NULL);

	in.port = 0;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.port = 65536;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.port = 443;
	in.version = 99;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.version = CERTPIN_REPORT_INPUT_VERSION;
	in.nserved = 0;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG); /* no chain */
	for (size_t i = 0; i < CERTPIN_REPORT_CHAIN_MAX + 1; i++)
		many[i] = served[0];
	in.served = many;
	in.nserved = CERTPIN_REPORT_CHAIN_MAX + 1;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.nserved = CERTPIN_REPORT_CHAIN_MAX;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_OK);
	free(json);
	in.served = served;
	in.nserved = 2;

	/* nothing to report: a match, an unpinned host */
	certpin_chain_elem root_only = velems[2];
	CHECK_INT(certpin_verify(&match, p, "x.enforced.test", &root_only, 1, (int64_t)time(NULL)), CERTPIN_OK);
	CHECK_INT(match.verdict, CERTPIN_VERDICT_MATCH);
	in.result = &match;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_verify(&match, p, "unpinned.example", velems, 3, (int64_t)time(NULL)), CERTPIN_OK);
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.result = &res;

	/* a rule index that is not in the policy */
	certpin_result bad = res;
	bad.rule = 99;
	in.result = &bad;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	in.result = &res;

	/* garbage DER; digests-only entries need both digests */
	certpin_report_cert junk = served[0];
	unsigned char garbage[8] = { 0x30, 0x03, 1, 2, 3, 4, 5, 6 };
	junk.der = garbage;
	junk.der_len = sizeof(garbage);
	in.served = &junk;
	in.nserved = 1;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_DECODE);
	memset(&junk, 0, sizeof(junk));
	junk.digests = velems[0];
	junk.digests.flags = CERTPIN_HAVE_SPKI;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_E_INVALID_ARG);
	junk.digests.flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_OK);
	CHECK(json && !strstr(json, "BEGIN CERTIFICATE"));
	free(json);

	/* an enforced wildcard rule */
	/* leaf + inter only: the root pin of the enforced rule cannot match */
	CHECK_INT(certpin_verify(&res, p, "a.b.enforced.test", velems, 2, (int64_t)time(NULL)), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(res.allowed, 0);
	in.served = served;
	in.nserved = 2;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	CHECK_INT(certpin_report_build(&json, &in), CERTPIN_OK);
	CHECK_CONTAINS(json, "\"include-subdomains\":true");
	CHECK_CONTAINS(json, "\"noted-hostname\":\"enforced.test\"");
	CHECK_CONTAINS(json, "\"enforce\":true");
	CHECK_CONTAINS(json, "\"allowed\":false");
	CHECK_CONTAINS(json, "\"effective-expiration-date\":null");
	free(json);
}

/* Substitute `from` by `to` once in `s`; returns a new string. */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n;
	char *out;
	if (!at)
		return NULL;
	n = strlen(s) - strlen(from) + strlen(to);
	out = malloc(n + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	return out;
}

static certpin_error last_err;

static void expect_bad(const char *doc, const char *why_contains)
{
	certpin_report_info info;
	certpin_error err;

	if (!doc) {
		CHECK(!"substitution did not apply");
		return;
	}
	CHECK_INT(certpin_report_parse(&info, doc, strlen(doc), &err), CERTPIN_E_REPORT);
	CHECK_INT(err.code, CERTPIN_E_REPORT);
	CHECK(err.message[0] != '\0');
	CHECK(err.path[0] == '\0' || err.path[0] == '/');
	if (why_contains)
		CHECK_CONTAINS(err.message, why_contains);
	last_err = err;
	CHECK_INT(info.nserved, 0);
	CHECK_STR(info.hostname, "");
}

static void test_parse_bad(certpin_policy *p)
{
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	char *full = NULL, *hashes = NULL, *s;
	char served_pem_a[16];

	check_verify_mismatch(&res, p, "api.certpin.test");
	in.policy = p;
	in.result = &res;
	in.served = served;
	in.nserved = 2;
	CHECK_INT(certpin_report_build(&full, &in), CERTPIN_OK);
	in.hashes_only = 1;
	CHECK_INT(certpin_report_build(&hashes, &in), CERTPIN_OK);
	if (!full || !hashes)
		return;
	(void)served_pem_a;

	expect_bad("", "syntax");
	expect_bad("[]", "not a JSON object");
	expect_bad("{\"hostname\": \"a.b\"", "syntax");
	CHECK_INT(last_err.line, 1);        /* a syntax error says where */
	CHECK(last_err.column > 0);
	expect_bad("null", NULL);
	expect_bad("{}", "missing");
	/* each required field removed or mistyped */
	static const char *const fields[] = { "\"date-time\"", "\"hostname\"", "\"port\"", "\"noted-hostname\"",
		"\"known-pins\"", "\"verdict\"", "\"enforce\"" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char renamed[64];
		snprintf(renamed, sizeof(renamed), "\"x-%s", fields[i] + 1);
		s = subst(hashes, fields[i], renamed);
		expect_bad(s, "missing");
		free(s);
	}
	expect_bad(s = subst(hashes, "\"port\":443", "\"port\":0"), "port"), free(s);
	CHECK_STR(last_err.path, "/port");
	expect_bad(s = subst(hashes, "\"port\":443", "\"port\":65536"), "port"), free(s);
	expect_bad(s = subst(hashes, "\"port\":443", "\"port\":\"443\""), "port"), free(s);
	expect_bad(s = subst(hashes, "\"port\":443", "\"port\":443.5"), "port"), free(s);
	expect_bad(s = subst(hashes, "\"hostname\":\"api.certpin.test\"", "\"hostname\":\"a..b\""), "hostname"), free(s);
	expect_bad(s = subst(hashes, "\"hostname\":\"api.certpin.test\"", "\"hostname\":\"b\\u00fccher.example\""),
		"hostname"), free(s);
	expect_bad(s = subst(hashes, "\"hostname\":\"api.certpin.test\"", "\"hostname\":7"), "hostname"), free(s);
	expect_bad(s = subst(hashes, "\"verdict\":\"mismatch\"", "\"verdict\":\"match\""), "verdict"), free(s);
	expect_bad(s = subst(hashes, "\"enforce\":false", "\"enforce\":0"), "enforce"), free(s);
	expect_bad(s = subst(hashes, "\"date-time\":\"", "\"date-time\":\"yesterday"), "date-time"), free(s);
	expect_bad(s = subst(hashes, "\"certpin-report-version\":1", "\"certpin-report-version\":2"), "version"),
		free(s);
	expect_bad(s = subst(hashes, "\"policy-version\":42", "\"policy-version\":-1"), "policy-version"), free(s);
	expect_bad(s = subst(hashes, "\"known-pins\":[", "\"known-pins\":[\"sha1/AAAA\","), "known-pins"), free(s);
	CHECK_STR(last_err.path, "/known-pins/0");
	expect_bad(s = subst(hashes, "\"known-pins\":[", "\"known-pins\":{\"a\":["), NULL), free(s);
	expect_bad(s = subst(hashes, "\"spki\":\"sha256/", "\"spki\":\"sha256/A"), "spki"), free(s);
	expect_bad(s = subst(hashes, "\"spki\":\"sha256/", "\"spki\":\"cert-sha256/"), "spki"), free(s);
	expect_bad(s = subst(hashes, "\"cert\":\"cert-sha256/", "\"extra\":\"x\",\"cert\":\"cert-sha256/"), "unknown member"),
		free(s);
	expect_bad(s = subst(hashes, "\"served-chain-sha256\":[", "\"served-chain-sha256\":[7,"), "not an object"),
		free(s);
	/* duplicate key */
	expect_bad(s = subst(hashes, "\"port\":443", "\"port\":443,\"port\":444"), "syntax"), free(s);
	/* no chain at all */
	expect_bad(s = subst(hashes, "\"served-chain-sha256\"", "\"x-served-chain-sha256\""), "no certificate chain");
	CHECK_STR(last_err.path, "");
	free(s);
	/* PEM that is not a certificate, or two certificates in one entry */
	expect_bad(s = subst(full, "-----BEGIN CERTIFICATE-----\\nMII", "-----BEGIN CERTIFICATE-----\\nXII"), NULL),
		free(s);
	expect_bad(s = subst(full, "\"served-certificate-chain\":[\"", "\"served-certificate-chain\":[\"junk"), "PEM"),
		free(s);
	{
		const char *a = strstr(full, "\"served-certificate-chain\":[\"") + strlen("\"served-certificate-chain\":[\"");
		const char *e = strstr(a, "\"");
		size_t pl = (size_t)(e - a);
		char *pem = malloc(pl + 1);
		memcpy(pem, a, pl);
		pem[pl] = 0;
		char *two = malloc(2 * pl + 1);
		strcpy(two, pem);
		strcat(two, pem);
		s = subst(full, pem, two);
		expect_bad(s, "exactly one");
		free(s);
		free(two);
		free(pem);
	}
	/* the sender's digests disagree with the PEM it sent */
	{
		json_t *j = load(full);
		json_t *h = json_array_get(json_object_get(j, "served-chain-sha256"), 0);
		json_object_set_new(h, "spki", json_string(pin_root));
		char *t = json_dumps(j, JSON_COMPACT);
		expect_bad(t, "does not match");
		free(t);
		json_decref(j);
	}
	/* 17 certificates */
	{
		json_t *j = load(hashes);
		json_t *arr = json_object_get(j, "served-chain-sha256");
		while (json_array_size(arr) < CERTPIN_REPORT_CHAIN_MAX + 1)
			json_array_append(arr, json_array_get(arr, 0));
		char *t = json_dumps(j, JSON_COMPACT);
		expect_bad(t, "more than");
		free(t);
		json_decref(j);
	}
	/* too long */
	{
		size_t n = CERTPIN_REPORT_MAX_LEN + 10;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		big[n] = 0;
		big[0] = '{';
		big[n - 1] = '}';
		expect_bad(big, "longer");
		free(big);
	}
	/* unknown members are ignored; null expiration is fine */
	{
		certpin_report_info info;
		s = subst(hashes, "\"port\":443", "\"port\":443,\"x-vendor\":{\"a\":[1,2]}");
		CHECK_INT(certpin_report_parse(&info, s, strlen(s), NULL), CERTPIN_OK);
		free(s);
		CHECK_INT(certpin_report_parse(&info, full, strlen(full), NULL), CERTPIN_OK);
		CHECK_INT(info.expires != 0, 1);
	}
	/* parse with a NULL document */
	certpin_report_info info;
	CHECK_INT(certpin_report_parse(&info, NULL, 0, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_report_parse(NULL, "{}", 2, NULL), CERTPIN_E_INVALID_ARG);
	free(full);
	free(hashes);
}

/* ---- from a real connection ------------------------------------------- */

static SSL *connect_pinned(SSL_CTX **ctxp, int *fdp, int port, const char *host, certpin_policy *p,
	const char *cafile, int *handshake_ok)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *ssl;
	struct timeval tv = { 10, 0 };

	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	CHECK_INT(SSL_CTX_load_verify_locations(ctx, cafile, NULL), 1);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, p, NULL), CERTPIN_OK);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, host);
	SSL_set1_host(ssl, host);
	*handshake_ok = SSL_connect(ssl) == 1;
	*ctxp = ctx;
	*fdp = fd;
	return ssl;
}

static void close_conn(SSL_CTX *ctx, SSL *ssl, int fd)
{
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
}

static void test_from_ssl(certpin_policy *p)
{
	tlsserver *srv = NULL;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, ok;
	char *json = NULL;
	certpin_report_info info;
	certpin_report_options o = CERTPIN_REPORT_OPTIONS_INIT;

	/* report-only mismatch: the handshake succeeds, the report has both chains */
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 0), 0);
	if (!srv)
		return;
	ssl = connect_pinned(&ctx, &fd, tlsserver_port(srv), "api.certpin.test", p, test_pki("trust.pem"), &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, NULL), CERTPIN_OK);
	CHECK_INT(certpin_report_parse(&info, json ? json : "", json ? strlen(json) : 0, NULL), CERTPIN_OK);
	CHECK_INT(info.port, tlsserver_port(srv));
	CHECK_INT(info.nserved, 2);     /* the peer sent leaf + inter */
	CHECK_INT(info.nvalidated, 3);  /* verified up to the root */
	CHECK_INT(info.served_pem, 1);
	CHECK(memcmp(info.validated[2].spki_sha256, velems[2].spki_sha256, 32) == 0);
	CHECK_INT(info.enforce, 0);
	free(json);
	json = NULL;
	o.hashes_only = 1;
	o.port = 1234;
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, &o), CERTPIN_OK);
	CHECK(json && !strstr(json, "BEGIN CERTIFICATE") && strstr(json, "\"port\":1234"));
	free(json);
	json = NULL;
	close_conn(ctx, ssl, fd);

	/* PKIX failure of a pinned host (untrusted root): only with report_pkix */
	ssl = connect_pinned(&ctx, &fd, tlsserver_port(srv), "api.certpin.test", p, test_pki("rogue-root.pem"), &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, NULL), CERTPIN_E_NOT_FOUND);
	CHECK(json == NULL);
	o = (certpin_report_options)CERTPIN_REPORT_OPTIONS_INIT;
	o.report_pkix = 1;
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, &o), CERTPIN_OK);
	CHECK_INT(certpin_report_parse(&info, json ? json : "", json ? strlen(json) : 0, NULL), CERTPIN_OK);
	CHECK_INT(info.kind, CERTPIN_REPORT_PKIX);
	CHECK_INT(info.nserved, 2);
	CHECK_INT(info.allowed, 0);
	free(json);
	json = NULL;
	close_conn(ctx, ssl, fd);

	/* unpinned host: nothing to report */
	ssl = connect_pinned(&ctx, &fd, tlsserver_port(srv), "localhost", p, test_pki("trust.pem"), &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, NULL), CERTPIN_E_NOT_FOUND);
	close_conn(ctx, ssl, fd);

	/* no check ran: a fresh SSL */
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(ctx);
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, NULL), CERTPIN_E_STATE);
	CHECK_INT(certpin_report_from_ssl(&json, NULL, p, NULL), CERTPIN_E_INVALID_ARG);
	o.version = 77;
	CHECK_INT(certpin_report_from_ssl(&json, ssl, p, &o), CERTPIN_E_INVALID_ARG);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	tlsserver_stop(srv);
}

int main(void)
{
	certpin_policy *p;

	load_pins();
	p = make_policy();
	setup_chains();
	CHECK_STR(certpin_report_kind_name(CERTPIN_REPORT_PKIX), "pkix-failure");
	CHECK_STR(certpin_report_kind_name(0), "unknown");
	test_build_roundtrip(p);
	test_build_errors(p);
	test_parse_bad(p);
	test_from_ssl(p);
	certpin_policy_free(p);
	free_ders(&served_d);
	free_ders(&root_d);
	return test_finish("report_test");
}
