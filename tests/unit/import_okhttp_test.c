/*
 * OkHttp import (src/tools/import_okhttp.c): .add( arguments that are
 * constants declared in the same file and spreads of literal arrays, in
 * Kotlin and Java; what cannot be resolved is named in a one-line error.
 */
#include "import_util.h"
#include "test.h"

#define B64_A "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="   /* sha256("abc") */
#define B64_B "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="   /* sha256("") */
#define B64_C "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs="   /* sha256("a") */
#define B64_D "PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="   /* sha256("b") */

#define ANY CERTPIN_POS_ANY

static void test_kotlin_constants(void)
{
	static const char src[] =
		"package com.example.net\n"
		"\n"
		"object Pins {\n"
		"    const val API_HOST = \"api.example.com\"\n"
		"    private const val CURRENT = \"sha256/" B64_A "\"\n"
		"    val BACKUPS = arrayOf(\"sha256/" B64_B "\", \"sha256/" B64_C "\")\n"
		"    val CDN: String = \"cdn.example.com\"\n"
		"}\n"
		"\n"
		"private const val LEGACY = \"sha256/" B64_D "\"\n"
		"private val spare = arrayOf<String>(LEGACY)\n"
		"\n"
		"fun pinner(): CertificatePinner = CertificatePinner.Builder()\n"
		"    .add(Pins.API_HOST, Pins.CURRENT, *Pins.BACKUPS)\n"
		"    .add(Pins.CDN, *arrayOf(\"sha256/" B64_A "\", LEGACY))\n"
		"    .add(\"old.example.com\", *spare)\n"
		"    .build()\n";
	const char *abc[] = { B64_A, B64_B, B64_C }, *ad[] = { B64_A, B64_D }, *d[] = { B64_D };
	char *warn = NULL;
	int rc;
	certpin_policy *p = imp_str(src, CERTPIN_IMPORT_AUTO, &rc, NULL, &warn);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 3);
	CHECK(imp_rule_has(p, "api.example.com", abc, 3, ANY));
	CHECK(imp_rule_has(p, "cdn.example.com", ad, 2, ANY));
	CHECK(imp_rule_has(p, "old.example.com", d, 1, ANY));
	/* every pin literal was used by an .add(: no "outside .add" warning */
	CHECK(warn == NULL);
	free(warn);
	certpin_policy_free(p);
}

static void test_java_constants(void)
{
	static const char src[] =
		"public final class Pinning {\n"
		"    private static final String HOST = \"api.example.com\";\n"
		"    private static final String PIN = \"sha256/" B64_A "\";\n"
		"    static final String[] BACKUPS = {\"sha256/" B64_B "\"};\n"
		"    static final String UNUSED = \"sha256/" B64_D "\";\n"
		"    static CertificatePinner pinner() {\n"
		"        return new CertificatePinner.Builder()\n"
		"            .add(HOST, PIN)\n"
		"            .add(HOST, BACKUPS)\n"
		"            .add(\"cdn.example.com\", new String[] {PIN, \"sha256/" B64_C "\"})\n"
		"            .build();\n"
		"    }\n"
		"}\n";
	const char *ab[] = { B64_A, B64_B }, *ac[] = { B64_A, B64_C };
	char *warn = NULL;
	int rc;
	certpin_policy *p = imp_str(src, CERTPIN_IMPORT_PIN_LIST, &rc, NULL, &warn);

	CHECK_INT(rc, CERTPIN_OK);
	CHECK_INT(certpin_policy_host_count(p), 2);
	CHECK(imp_rule_has(p, "api.example.com", ab, 2, ANY));
	CHECK(imp_rule_has(p, "cdn.example.com", ac, 2, ANY));
	/* a pin constant no .add( uses is ignored, and said so */
	CHECK_CONTAINS(warn, "in:5: pin literal outside .add(...) ignored");
	free(warn);
	certpin_policy_free(p);
}

/* Inputs that must fail, and the words the one-line error must contain. */
static const struct {
	const char *name, *src, *want;
} bad[] = {
	{ "other file's constant", ".add(Hosts.API, \"sha256/" B64_A "\")\n",
		"in:1: .add(...) argument Hosts.API is neither a string literal nor a constant declared in this file" },
	{ "function call", "val h = \"a.example\"\n.add(h, pinFor(h))\n",
		"in:2: .add(...) argument pinFor(...) is neither" },
	{ "assigned twice", "var PIN = \"sha256/" B64_A "\"\nPIN = \"sha256/" B64_B "\"\n.add(\"a.example\", PIN)\n",
		"PIN is assigned 2 times in this file (first on line 1)" },
	{ "expression", "val PIN = \"sha256/\" + key\n.add(\"a.example\", PIN)\n",
		"in:1: PIN is not a literal (its value is an expression)" },
	{ "template constant", "val PIN = \"sha256/$k\"\n.add(\"a.example\", PIN)\n",
		"in:1: escapes and templates are not supported" },
	{ "spread of a list", ".add(\"a.example\", *listOf(\"sha256/" B64_A "\").toTypedArray())\n",
		"in:1: .add(...) argument listOf(...) is neither" },
	{ "array as host", ".add(*arrayOf(\"a.example\", \"sha256/" B64_A "\"))\n",
		"in:1: the host of .add(...) must be a string, not an array" },
	{ "bad pin in array", "val P = arrayOf(\"sha256/xyz\")\n.add(\"a.example\", *P)\n", "in:1: bad pin \"sha256/xyz\"" },
	{ "unterminated array", ".add(\"a.example\", *arrayOf(\"sha256/" B64_A "\"", "in:1: unterminated array" },
	{ "cycle", "val A = B\nval B = A\n.add(\"a.example\", A)\n", "nested more than 8 deep" },
	{ "number", ".add(\"a.example\", 42)\n", "in:1: .add(...) arguments must be string literals, constants or literal "
		"arrays (found '42')" },
	{ "host constant without pins", "const val H = \"a.example\"\n.add(H)\n", "in:2: .add(\"a.example\") without pins" },
};

static void test_unresolved(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		certpin_error err;
		int rc;
		certpin_policy *p = imp_str(bad[i].src, CERTPIN_IMPORT_PIN_LIST, &rc, &err, NULL);

		if (rc != CERTPIN_E_POLICY || !strstr(err.message, bad[i].want))
			fprintf(stderr, "case '%s': rc %d, \"%s\"\n", bad[i].name, rc, err.message);
		CHECK_INT(rc, CERTPIN_E_POLICY);
		CHECK_CONTAINS(err.message, bad[i].want);
		certpin_policy_free(p);
	}
}

/* Deep nesting is bounded, not a stack overflow. */
static void test_deep_nesting(void)
{
	size_t depth = 100000, n = 0;
	char *s = malloc(depth * 9 + 64);
	int rc;

	if (!s)
		abort();
	n += (size_t)sprintf(s, ".add(\"a.example\", ");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)sprintf(s + n, "arrayOf(");
	s[n] = '\0';
	certpin_policy *p = imp_str(s, CERTPIN_IMPORT_PIN_LIST, &rc, NULL, NULL);
	CHECK_INT(rc, CERTPIN_E_POLICY);
	certpin_policy_free(p);
	free(s);
}

int main(void)
{
	test_kotlin_constants();
	test_java_constants();
	test_unresolved();
	test_deep_nesting();
	return test_finish("import_okhttp");
}
