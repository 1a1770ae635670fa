/*
 * collect_formats_test - "certpin collect" accepts the pin failure reports
 * that exist, over HTTP on 127.0.0.1:
 *
 *   1. TrustKit's (iOS and Android), RFC 7469 reports as Chrome sent them,
 *      and certpin's own, written as those senders write them
 *      (support/report_bodies.c): 201, stored with their format and app
 *      fields; the first one posted to the kTSKReportUris that "certpin
 *      export --format trustkit" writes for a policy naming the collector;
 *   2. malformed variants of each format (wrong types, missing hostname,
 *      bad PEM in a chain, bad pins, app fields too long or with control
 *      characters, validation-result 0) get 400 with the reason and store
 *      nothing; oversized ones 413;
 *   3. "certpin reports" groups the failures by app and app version (the
 *      summary's "apps", --by app,version,host,pin), text and --json, and
 *      counts the formats; a bad --by is a usage error;
 *   4. Idempotency-Key: a report posted again with its key is answered 200
 *      "duplicate" and not stored twice, another report with that key 422
 *      (TrustKit's reports carry no key and are stored each time); malformed
 *      or repeated key headers get 400.
 *
 * The database is a temporary SQLite file, or the one named by
 * CERTPIN_COLLECT_DB (collect_pg_test.sh runs this program on PostgreSQL);
 * it must hold no reports.  With SQLite and the sqlite3 command, the stored
 * columns are read back too.  The CLI is $CERTPIN, else ../certpin.
 */
#include "certpin.h"
#include "certpin/report.h"
#include "collector.h"
#include "report_bodies.h"
#include "test.h"

#include <signal.h>
#include <unistd.h>

#include <jansson.h>

static const char *cli;
static char tmpdir[] = "/tmp/certpin-formats-XXXXXX", db_spec[4096];

static int post(const test_collector *c, const char *body, char *resp, size_t cap)
{
	return test_http_post(c->port, NULL, 0, "/report", NULL, body, resp, cap);
}

static json_t *cli_json(const char *const *args)
{
	char *out = NULL;
	CHECK_INT(test_run_cli(&out, cli, tmpdir, args), 0);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	CHECK(j != NULL);
	free(out);
	return j;
}

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "(null)";
}

/* certpin's own report, digests only. */
static char *certpin_body(void)
{
	char *s = malloc(1024);
	snprintf(s, 1024, "{\"certpin-report-version\":1,\"date-time\":\"2026-11-22T00:00:00Z\","
		"\"hostname\":\"api.certpin.test\",\"port\":443,\"noted-hostname\":\"api.certpin.test\","
		"\"known-pins\":[\"pin-sha256=\\\"%s\\\"\"],\"verdict\":\"mismatch\",\"enforce\":true,"
		"\"served-chain-sha256\":[{\"spki\":\"%s\",\"cert\":\"cert-sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}",
		test_pin("backup") + 7, test_pin("leaf"));
	return s;
}

/* POST `body` with extra header lines `headers` ("Name: value\r\n"...); the status. */
static int post_with(const test_collector *c, const char *body, const char *headers, char *resp, size_t cap)
{
	char h[512];
	snprintf(h, sizeof(h), "Content-Type: application/json\r\n%s", headers);
	return test_http_post(c->port, NULL, 0, "/report", h, body, resp, cap);
}

/* ---- 1. the reports that exist ------------------------------------------------ */

static void expect_stored(const test_collector *c, char *body, const char *what)
{
	char resp[4096];
	int st = post(c, body, resp, sizeof(resp));
	if (st != 201)
		fprintf(stderr, "%s: %d %s\n", what, st, resp);
	CHECK_INT(st, 201);
	CHECK_CONTAINS(resp, "\"status\":\"stored\"");
	free(body);
}

/*
 * The loop: the policy names the collector, "certpin export --format
 * trustkit" carries it as kTSKReportUris (and turns TrustKit's default
 * report server off); the path an app posts its reports to, in `path`.
 */
static void exported_report_path(const test_collector *c, char *path, size_t cap)
{
	char policy[4200], want[64], *out = NULL;
	const char *args[] = { "export", "--format", "trustkit", policy, NULL };
	FILE *f;

	snprintf(policy, sizeof(policy), "%s/policy.json", tmpdir);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/", c->port);
	if (!(f = fopen(policy, "w")))
		return;
	fprintf(f, "{\"schema\": 1, \"report_uris\": [\"%sreport\"], \"hosts\": [{\"host\": \"api.certpin.test\","
		" \"pins\": [\"%s\", \"%s\"]}]}\n", want, test_pin("backup"), test_pin("root"));
	fclose(f);
	CHECK_INT(test_run_cli(&out, cli, tmpdir, args), 0);
	CHECK_CONTAINS(out, "kTSKDisableDefaultReportUri: true,");
	const char *uri = out ? strstr(out, "kTSKReportUris: [\n                \"") : NULL;
	CHECK(uri != NULL);
	if (uri) {
		uri = strchr(uri, '"') + 1;
		CHECK(strncmp(uri, want, strlen(want)) == 0);
		snprintf(path, cap, "%.*s", (int)strcspn(uri + strlen(want) - 1, "\""), uri + strlen(want) - 1);
	}
	free(out);
}

static void test_accept(const test_collector *c)
{
	report_body_opts o = { .sender = SENDER_TRUSTKIT_IOS };
	char resp[4096], path[256] = "/";

	/* iOS 3.2.0 on two devices, enforced; 3.1.0 report-only, its chain not trusted */
	exported_report_path(c, path, sizeof(path));
	CHECK_STR(path, "/report");
	char *first = report_body(&o);
	CHECK_INT(test_http_post(c->port, NULL, 0, path, NULL, first, resp, sizeof(resp)), 201);
	free(first);
	o.vendor_id = "0F0E0D0C-0B0A-0908-0706-050403020100";
	expect_stored(c, report_body(&o), "TrustKit iOS, second device");
	o.app_version = "3.1.0";
	o.report_only = 1;
	o.validation_result = 2;
	expect_stored(c, report_body(&o), "TrustKit iOS 3.1.0");
	/* Android: served and validated chains; a charset in the type */
	o = (report_body_opts){ .sender = SENDER_TRUSTKIT_ANDROID, .app_version = "7.0" };
	char *body = report_body(&o);
	CHECK_INT(test_http_post(c->port, NULL, 0, "/", "Content-Type: application/json; charset=utf-8\r\n", body, resp,
		sizeof(resp)), 201);
	free(body);
	/* Chrome's RFC 7469 report (no "enforce": enforced), and certpin's own */
	o = (report_body_opts){ .sender = SENDER_CHROME };
	expect_stored(c, report_body(&o), "RFC 7469");
	expect_stored(c, certpin_body(), "certpin");
	CHECK_INT(test_collector_stat(c->port, "stored"), 6);
}

/* ---- 2. malformed bodies of each format ----------------------------------------- */

static int nbad;

static void expect_400(const test_collector *c, char *body, const char *why)
{
	char resp[8192];
	CHECK_INT(post(c, body, resp, sizeof(resp)), 400);
	CHECK_CONTAINS(resp, why);
	free(body);
	nbad++;
}

/* A valid body padded past the library's limit: 413 before it is parsed. */
static void expect_413(const test_collector *c, const char *doc)
{
	size_t n = strlen(doc), pad = CERTPIN_REPORT_MAX_LEN;
	char *big = malloc(n + pad + 32), resp[4096];
	memcpy(big, doc, n - 1);
	memcpy(big + n - 1, ",\"x\":\"", 6);
	memset(big + n + 5, 'p', pad);
	memcpy(big + n + 5 + pad, "\"}", 3);
	CHECK_INT(post(c, big, resp, sizeof(resp)), 413);
	free(big);
}

static void bad_common(const test_collector *c, const char *doc, const char *chain)
{
	expect_400(c, body_with(doc, "hostname", NULL), "missing \\\"hostname\\\"");
	expect_400(c, body_with(doc, "hostname", json_integer(7)), "not a string");
	expect_400(c, body_with(doc, "port", json_string("443")), "port");
	expect_400(c, body_with(doc, "date-time", json_string("yesterday")), "date-time");
	expect_400(c, body_with(doc, "known-pins", json_pack("[s]", "sha1/AAAA")), "not a pin");
	expect_400(c, body_with(doc, chain, json_pack("[s]", "junk")), "not a PEM certificate");
	expect_400(c, body_with(doc, chain, json_pack("[s]", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")),
		"PEM");
	expect_400(c, body_with(doc, chain, json_pack("[i]", 1)), "not a string");
	expect_413(c, doc);
}

static void test_malformed(const test_collector *c)
{
	report_body_opts o = { .sender = SENDER_TRUSTKIT_IOS };
	char *ios = report_body(&o), longest[CERTPIN_REPORT_APP_FIELD_MAX + 1];
	long long malformed0 = test_collector_stat(c->port, "malformed"), stored0 = test_collector_stat(c->port, "stored");

	bad_common(c, ios, "validated-certificate-chain");
	expect_400(c, body_with(ios, "app-version", json_integer(32)), "\\\"app-version\\\" is not a string");
	expect_400(c, body_with(ios, "app-bundle-id", NULL), "missing \\\"app-bundle-id\\\"");
	expect_400(c, body_with(ios, "enforce-pinning", json_string("true")), "not a boolean");
	expect_400(c, body_with(ios, "validation-result", json_integer(0)), "not a failure");
	expect_400(c, body_with(ios, "validation-result", json_string("1")), "validation-result");
	expect_400(c, body_with(ios, "app-vendor-id", json_string("\x1b]0;owned\x07")), "control character");
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	expect_400(c, body_with(ios, "app-bundle-id", json_string(longest)), "longer than");
	free(ios);
	o.sender = SENDER_TRUSTKIT_ANDROID;
	char *android = report_body(&o);
	bad_common(c, android, "served-certificate-chain");
	expect_400(c, body_with(android, "trustkit-version", json_null()), "trustkit-version");
	free(android);
	o.sender = SENDER_CHROME;
	char *chrome = report_body(&o);
	bad_common(c, chrome, "served-certificate-chain");
	expect_400(c, body_with(chrome, "port", json_integer(0)), "port");
	expect_400(c, body_with(chrome, "effective-expiration-date", json_integer(1)), "effective-expiration-date");
	free(chrome);
	char *own = certpin_body();
	expect_400(c, body_with(own, "enforce", NULL), "missing \\\"enforce\\\"");
	expect_400(c, body_with(own, "hostname", NULL), "missing \\\"hostname\\\"");
	free(own);
	CHECK_INT(test_collector_stat(c->port, "malformed") - malformed0, nbad);
	CHECK_INT(test_collector_stat(c->port, "too_large"), 3);
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, 0);
}

/* ---- 3. certpin reports: by app and version ---------------------------------------- */

static json_t *find_row(json_t *arr, const char *k1, const char *v1, const char *k2, const char *v2)
{
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		json_t *a = json_object_get(o, k1), *b = k2 ? json_object_get(o, k2) : NULL;
		/* a NULL value: the member is null or absent */
		if ((v1 ? json_is_string(a) && strcmp(json_string_value(a), v1) == 0 : !a || json_is_null(a)) &&
			(v2 ? json_is_string(b) && strcmp(json_string_value(b), v2) == 0 : !b || json_is_null(b)))
			return o;
	}
	return NULL;
}

static void test_summary(void)
{
	const char *args[] = { "reports", "--db", db_spec, "--json", NULL };
	json_t *j = cli_json(args), *o;

	CHECK_INT(jint(j, "total"), 6);
	CHECK_INT(json_array_size(json_object_get(j, "apps")), 3);
	o = find_row(json_object_get(j, "apps"), "app", "com.example.certpin", "version", "3.2.0");
	CHECK(o != NULL);
	CHECK_STR(jstr(o, "platform"), "IOS");
	CHECK_INT(jint(o, "reports"), 2);
	CHECK_INT(jint(o, "enforced"), 2);
	CHECK_INT(jint(o, "devices"), 2);
	CHECK_INT(jint(o, "hosts"), 1);
	o = find_row(json_object_get(j, "apps"), "app", "com.example.certpin", "version", "3.1.0");
	CHECK(o != NULL);
	CHECK_INT(jint(o, "reports"), 1);
	CHECK_INT(jint(o, "enforced"), 0);
	o = find_row(json_object_get(j, "apps"), "app", "com.example.android", "version", "7.0");
	CHECK(o != NULL);
	CHECK_STR(jstr(o, "platform"), "ANDROID");
	/* the first row: the most failures */
	CHECK_STR(jstr(json_array_get(json_object_get(j, "apps"), 0), "version"), "3.2.0");
	o = json_object_get(j, "formats");
	CHECK_INT(jint(find_row(o, "format", "trustkit", NULL, NULL), "reports"), 4);
	CHECK_INT(jint(find_row(o, "format", "rfc7469", NULL, NULL), "reports"), 1);
	CHECK_INT(jint(find_row(o, "format", "certpin", NULL, NULL), "reports"), 1);
	o = json_object_get(j, "verdicts");
	CHECK_INT(jint(find_row(o, "verdict", "mismatch", NULL, NULL), "reports"), 5);
	CHECK_INT(jint(find_row(o, "verdict", "pkix-failure", NULL, NULL), "reports"), 1);
	json_decref(j);

	char *out = NULL;
	const char *text[] = { "reports", "--db", db_spec, NULL };
	CHECK_INT(test_run_cli(&out, cli, tmpdir, text), 0);
	CHECK_CONTAINS(out, "failures per app and version (TrustKit):");
	CHECK_CONTAINS(out, "com.example.certpin 3.2.0 (IOS)");
	CHECK_CONTAINS(out, "com.example.android 7.0 (ANDROID)");
	CHECK_CONTAINS(out, "report formats:");
	free(out);
	char html[4200];
	snprintf(html, sizeof(html), "%s/r.html", tmpdir);
	const char *h[] = { "reports", "--db", db_spec, "--html", html, NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, h), 0);
	out = test_read_file(html, NULL);
	CHECK_CONTAINS(out, "Failures per app and version");
	CHECK_CONTAINS(out, "com.example.android");
	free(out);
}

static void test_by(void)
{
	const char *args[] = { "reports", "--db", db_spec, "--by", "app,version,host,pin", "--json", NULL };
	json_t *j = cli_json(args), *groups = json_object_get(j, "groups"), *o;
	const char *leaf = test_pin("leaf");
	size_t i;

	CHECK_INT(json_array_size(json_object_get(j, "by")), 4);
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "by"), 3)), "pin");
	/* 3.2.0, 3.1.0, Android 7.0, and the reports without an app (RFC 7469, certpin) in one group */
	CHECK_INT(json_array_size(groups), 4);
	o = find_row(groups, "app", "com.example.certpin", "version", "3.2.0");
	CHECK_STR(jstr(o, "host"), "api.certpin.test");
	CHECK_STR(jstr(o, "pin"), leaf);
	CHECK_INT(jint(o, "reports"), 2);
	CHECK_INT(jint(o, "enforced"), 2);
	o = find_row(groups, "app", NULL, "version", NULL);
	CHECK_INT(jint(o, "reports"), 2);
	CHECK_STR(jstr(o, "pin"), leaf);
	long long sum = 0;
	json_array_foreach(groups, i, o)
		sum += jint(o, "reports");
	CHECK_INT(sum, 6);
	json_decref(j);

	char *out = NULL;
	const char *text[] = { "reports", "--db", db_spec, "--by", "platform,verdict", NULL };
	CHECK_INT(test_run_cli(&out, cli, tmpdir, text), 0);
	CHECK_CONTAINS(out, "failures by platform, verdict:");
	CHECK_CONTAINS(out, "IOS       pkix-failure");
	CHECK_CONTAINS(out, "-         mismatch");
	free(out);
	const char *bad1[] = { "reports", "--db", db_spec, "--by", "app,app", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad1), 3);
	const char *bad2[] = { "reports", "--db", db_spec, "--by", "device", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad2), 3);
	const char *bad3[] = { "reports", "--db", db_spec, "--by", "app", "--html", "x.html", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad3), 3);
	const char *bad4[] = { "reports", "--db", db_spec, "--by", "app,", NULL };
	CHECK_INT(test_run_cli(NULL, cli, tmpdir, bad4), 3);
}

/* SQLite: the stored columns, read with the sqlite3 command (skipped without it). */
static void test_columns(void)
{
	char cmd[4400], line[1024] = "";
	FILE *p;

	if (strncmp(db_spec, "postgres", 8) == 0 || system("command -v sqlite3 >/dev/null 2>&1") != 0)
		return;
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT format, app_bundle_id, app_version, app_platform,"
		" app_platform_version, app_vendor_id, trustkit_version, validation_result, kind, enforce, port"
		" FROM reports WHERE app_version = '3.1.0'\"", db_spec);
	if ((p = popen(cmd, "r"))) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	CHECK_STR(line, "trustkit|com.example.certpin|3.1.0|IOS|17.4.1|0F0E0D0C-0B0A-0908-0706-050403020100|3.0.0|2|"
		"pkix-failure|0|0\n");
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT count(*) FROM reports WHERE format = 'rfc7469'"
		" AND app_bundle_id IS NULL AND validation_result IS NULL AND enforce = 1\"", db_spec);
	if ((p = popen(cmd, "r"))) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	CHECK_STR(line, "1\n");
}

/* ---- 4. idempotency keys --------------------------------------------------------- */

static void test_idempotency(const test_collector *c)
{
	char resp[4096], *mine = certpin_body(), *tk = report_body(&(report_body_opts){ .sender = SENDER_TRUSTKIT_IOS });
	long long stored0 = test_collector_stat(c->port, "stored"), dup0 = test_collector_stat(c->port, "duplicates");
	long long bad0 = test_collector_stat(c->port, "malformed"), reused0 = test_collector_stat(c->port, "key_reused");

	CHECK_INT(post_with(c, mine, "Idempotency-Key: \"k-1\"\r\n", resp, sizeof(resp)), 201);
	CHECK_INT(post_with(c, mine, "Idempotency-Key: \"k-1\"\r\n", resp, sizeof(resp)), 200);
	CHECK_CONTAINS(resp, "\"status\":\"duplicate\"");
	/* the same key bare is the same key */
	CHECK_INT(post_with(c, mine, "Idempotency-Key: k-1\r\n", resp, sizeof(resp)), 200);
	/* the key of another report: 422, and neither is stored again */
	CHECK_INT(post_with(c, tk, "Idempotency-Key: \"k-1\"\r\n", resp, sizeof(resp)), 422);
	CHECK_CONTAINS(resp, "another report");
	CHECK_INT(post_with(c, mine, "Idempotency-Key: \"k-2\"\r\n", resp, sizeof(resp)), 201);
	/* without a key, every post is stored (a sender without keys, as TrustKit) */
	CHECK_INT(post(c, tk, resp, sizeof(resp)), 201);
	CHECK_INT(post(c, tk, resp, sizeof(resp)), 201);
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, 4);
	CHECK_INT(test_collector_stat(c->port, "duplicates") - dup0, 2);
	CHECK_INT(test_collector_stat(c->port, "key_reused") - reused0, 1);
	/* malformed keys and two key headers: 400 before the body, nothing stored */
	static const char *const bad[] = {
		"Idempotency-Key: \"\"\r\n", "Idempotency-Key: \"a b\"\r\n", "Idempotency-Key: \"a\\\"b\"\r\n",
		"Idempotency-Key: \"\xc3\xa9\"\r\n", "Idempotency-Key: a\r\nIdempotency-Key: a\r\n",
		"Idempotency-Key: \"" "0123456789012345678901234567890123456789012345678901234567890123456789"
		"01234567890123456789012345678901234567890123456789012345678\"\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(post_with(c, mine, bad[i], resp, sizeof(resp)), 400);
		CHECK_CONTAINS(resp, "Idempotency-Key");
	}
	/* 128 characters is the longest key */
	CHECK_INT(post_with(c, mine, "Idempotency-Key: \"0123456789012345678901234567890123456789012345678901234567890123"
		"4567890123456789012345678901234567890123456789012345678901234567\"\r\n", resp, sizeof(resp)), 201);
	CHECK_INT(test_collector_stat(c->port, "malformed") - bad0, (long long)(sizeof(bad) / sizeof(bad[0])));
	CHECK_INT(test_collector_stat(c->port, "stored") - stored0, 5);
	free(mine);
	free(tk);
}

int main(void)
{
	test_collector c;
	const char *env_db = getenv("CERTPIN_COLLECT_DB");

	signal(SIGPIPE, SIG_IGN);
	if (!(cli = test_cli()))
		return 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	if (env_db && *env_db)
		snprintf(db_spec, sizeof(db_spec), "%s", env_db);
	else
		snprintf(db_spec, sizeof(db_spec), "%s/reports.sqlite", tmpdir);
	if (test_collector_start(&c, cli, db_spec, tmpdir, "main", NULL) != 0) {
		CHECK(!"collector did not start");
		return test_finish("collect_formats_test");
	}
	test_accept(&c);
	test_malformed(&c);
	CHECK_INT(test_collector_stop(&c), 0);
	test_summary();
	test_by();
	test_columns();
	/* after the summaries, which count the reports of 1 */
	if (test_collector_start(&c, cli, db_spec, tmpdir, "idem", NULL) != 0)
		CHECK(!"collector did not start again");
	else {
		test_idempotency(&c);
		CHECK_INT(test_collector_stop(&c), 0);
	}
	if (!getenv("CERTPIN_KEEP_TMP")) {
		char cmd[4200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_finish("collect_formats_test");
}
