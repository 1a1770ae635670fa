/* The strict JSON reader behind the policy loader (src/json.c): what it accepts, refuses, and where it says. */
#include "json.h"
#include "test.h"

#include <stdint.h>

/* Read `doc`; 1 if accepted.  On refusal, the message goes to err. */
static int reads(const char *doc, size_t len, char *err, size_t errlen)
{
	certpin__json j;
	int ok = certpin__json_read(&j, doc, len, err, errlen) == 0;

	certpin__json_free(&j);
	return ok;
}

static void test_accepts(void)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e-3", "true", "null", "\"\"", " {\"a\" : [1, {\"b\": null}] } \n",
		"\"\\u00e9\\ud83d\\ude00 \\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"",
		"9223372036854775807", "-9223372036854775808", "{\"a\":1,\"b\":1}",
	};
	char err[160];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int ok = reads(good[i], strlen(good[i]), err, sizeof(err));
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  refused: %s (%s)\n", good[i], err);
	}
}

static void test_refuses(void)
{
	static const struct {
		const char *doc;
		const char *why;
	} bad[] = {
		{ "", "unexpected end" },
		{ "{", "string or '}' expected" },
		{ "{\"a\":1,}", "string or '}' expected" },
		{ "[1,]", "invalid token" },
		{ "{\"a\" 1}", "':' expected" },
		{ "01", "invalid number" },
		{ "1.", "invalid number" },
		{ "-", "invalid number" },
		{ "1e", "invalid number" },
		{ "9223372036854775808", "too big integer" },
		{ "\"a\tb\"", "control character" },
		{ "\"\\x\"", "invalid escape" },
		{ "\"\\u12\"", "invalid \\u escape" },
		{ "\"\\udc00\"", "lone low surrogate" },
		{ "\"\\ud800x\"", "unpaired high surrogate" },
		{ "\"\\ud800\\u0041\"", "unpaired high surrogate" },
		{ "\"\xc3\"", "invalid UTF-8" },
		{ "\"\xc0\xaf\"", "invalid UTF-8" },               /* overlong '/' */
		{ "\"\xed\xa0\x80\"", "invalid UTF-8" },           /* UTF-8 of a surrogate */
		{ "\"\xf4\x90\x80\x80\"", "invalid UTF-8" },       /* above U+10FFFF */
		{ "\"abc", "unexpected end of input in a string" },
		{ "{} {}", "end of input expected" },
		{ "tru", "invalid token" },
		{ "{\"a\":1,\"a\":2}", "duplicate object key" },
		{ "{\"a\":1,\"\\u0061\":2}", "duplicate object key" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "too deeply nested" },
	};
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(!reads(bad[i].doc, strlen(bad[i].doc), err, sizeof(err)));
		CHECK_CONTAINS(err, bad[i].why);
	}
	/* a NUL byte in the text (not escaped) is a control character */
	CHECK(!reads("\"a\0b\"", 5, err, sizeof(err)));
}

/* Duplicate keys among many: found whatever their number and order (sorted by hash, not n^2). */
static void test_many_keys(void)
{
	size_t n = 20000, cap = n * 16 + 64, o = 0;
	char *doc = malloc(cap), err[160];

	if (!doc)
		abort();
	o += (size_t)snprintf(doc + o, cap - o, "{");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(doc + o, cap - o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
	snprintf(doc + o, cap - o, "}");
	CHECK(reads(doc, strlen(doc), err, sizeof(err)));
	snprintf(doc + o, cap - o, ",\"k%zu\":0}", n / 2);
	CHECK(!reads(doc, strlen(doc), err, sizeof(err)));
	CHECK_CONTAINS(err, "duplicate object key");
	free(doc);
}

static void test_walk(void)
{
	static const char doc[] = "{\"s\":\"x\\u0041\",\"n\":-42,\"arr\":[1,[2,3],{\"k\":true}],\"last\":null}";
	certpin__json j;
	char err[160], buf[16];
	int64_t v;

	CHECK_INT(certpin__json_read(&j, doc, strlen(doc), err, sizeof(err)), 0);
	CHECK_INT(j.tok[0].type, CERTPIN__JSON_OBJECT);
	CHECK_INT(j.tok[0].len, 4);
	long s = certpin__json_get(&j, 0, "s"), n = certpin__json_get(&j, 0, "n");
	long arr = certpin__json_get(&j, 0, "arr"), last = certpin__json_get(&j, 0, "last");
	CHECK(s > 0 && n > 0 && arr > 0 && last > 0);
	CHECK_INT(certpin__json_get(&j, 0, "k"), -1); /* not a member of the top object */
	CHECK_INT(certpin__json_str(&j, (size_t)s, buf, sizeof(buf)), 2);
	CHECK_STR(buf, "xA");
	CHECK_INT(certpin__json_str(&j, (size_t)s, buf, 2), -1); /* does not fit */
	CHECK(certpin__json_int(&j, (size_t)n, &v) && v == -42);
	CHECK(!certpin__json_int(&j, (size_t)s, &v));
	CHECK_INT(j.tok[arr].type, CERTPIN__JSON_ARRAY);
	CHECK_INT(j.tok[arr].len, 3);
	/* walk the array's members by `next`: 1, [2,3], {"k":true} */
	size_t m = (size_t)arr + 1, count = 0;
	for (; m < j.tok[arr].next; m = j.tok[m].next)
		count++;
	CHECK_INT(count, 3);
	CHECK_INT(j.tok[last].type, CERTPIN__JSON_NULL);
	certpin__json_free(&j);
}

/* Errors say where: line and column of the place reading stopped. */
static void test_position(void)
{
	certpin__json j;
	char err[160];

	static const char doc[] = "{\n  \"a\": 1,\n  \"b\": tru\n}";
	CHECK_INT(certpin__json_read(&j, doc, strlen(doc), err, sizeof(err)), -1);
	CHECK_INT(j.err_line, 3);
	CHECK_INT(j.err_column, 7);
	certpin__json_free(&j);
	CHECK_INT(certpin__json_read(&j, "", 0, err, sizeof(err)), -1);
	CHECK_INT(j.err_line, 1);
	CHECK_INT(j.err_column, 0);
	certpin__json_free(&j);
}

int main(void)
{
	test_accepts();
	test_refuses();
	test_many_keys();
	test_walk();
	test_position();
	return test_finish("json_test");
}
