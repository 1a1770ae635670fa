/*
 * fuzz_json: the policy loader's JSON reader (src/json.c) against jansson,
 * on arbitrary bytes.  Both must accept the same documents (strict RFC 8259,
 * duplicate keys refused), and on those they accept, read the same values:
 * types, strings once decoded, integers, members.  Known differences are
 * excluded: the reader nests at most 32 deep (jansson 2048), jansson
 * refuses reals that overflow a double, which the reader keeps as text, and
 * jansson takes a raw NUL byte for the end of the input, which the reader
 * refuses as a byte that is not JSON.
 */
#include "fuzz_common.h"
#include "json.h"

#include <jansson.h>

static void same(const certpin__json *j, size_t t, json_t *v, int depth);

static void same_string(const certpin__json *j, size_t t, json_t *v)
{
	size_t cap = (size_t)j->tok[t].len + 1;
	char *buf = malloc(cap);

	if (!buf)
		abort();
	long n = certpin__json_str(j, t, buf, cap);
	FUZZ_CHECK(n >= 0 && (size_t)n == json_string_length(v) && memcmp(buf, json_string_value(v), (size_t)n) == 0,
		"string differs: reader %ld bytes, jansson %zu", n, json_string_length(v));
	free(buf);
}

static void same_object(const certpin__json *j, size_t t, json_t *v, int depth)
{
	FUZZ_CHECK(json_is_object(v) && json_object_size(v) == j->tok[t].len, "object differs");
	for (size_t k = t + 1; k < j->tok[t].next; k = j->tok[k + 1].next) {
		size_t cap = (size_t)j->tok[k].len + 1;
		char *key = malloc(cap);
		if (!key)
			abort();
		long n = certpin__json_str(j, k, key, cap);
		FUZZ_CHECK(n >= 0, "key does not decode");
		json_t *m = json_object_getn(v, key, (size_t)n);
		FUZZ_CHECK(m != NULL, "key \"%s\" missing in jansson's object", key);
		free(key);
		same(j, k + 1, m, depth + 1);
	}
}

static void same(const certpin__json *j, size_t t, json_t *v, int depth)
{
	int64_t i;

	switch (j->tok[t].type) {
	case CERTPIN__JSON_OBJECT:
		same_object(j, t, v, depth);
		break;
	case CERTPIN__JSON_ARRAY: {
		FUZZ_CHECK(json_is_array(v) && json_array_size(v) == j->tok[t].len, "array differs");
		size_t k = 0;
		for (size_t m = t + 1; m < j->tok[t].next; m = j->tok[m].next, k++)
			same(j, m, json_array_get(v, k), depth + 1);
		break;
	}
	case CERTPIN__JSON_STRING:
		FUZZ_CHECK(json_is_string(v), "type differs: string");
		same_string(j, t, v);
		break;
	case CERTPIN__JSON_INTEGER:
		FUZZ_CHECK(json_is_integer(v) && certpin__json_int(j, t, &i) && i == json_integer_value(v),
			"integer differs");
		break;
	case CERTPIN__JSON_REAL:
		FUZZ_CHECK(json_is_real(v), "type differs: real");
		break;
	case CERTPIN__JSON_TRUE:
		FUZZ_CHECK(json_is_true(v), "type differs: true");
		break;
	case CERTPIN__JSON_FALSE:
		FUZZ_CHECK(json_is_false(v), "type differs: false");
		break;
	case CERTPIN__JSON_NULL:
		FUZZ_CHECK(json_is_null(v), "type differs: null");
		break;
	default:
		FUZZ_CHECK(0, "unknown token type %d", j->tok[t].type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin__json j;
	json_error_t e;
	char err[160];

	int ours = certpin__json_read(&j, (const char *)data, size, err, sizeof(err));
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	bool excluded = (ours != 0 && strstr(err, "too deeply nested")) || (ours != 0 && v && memchr(data, 0, size)) ||
			(!v && (strstr(e.text, "real number overflow") || strstr(e.text, "maximum parsing depth")));
	if (!excluded) {
		FUZZ_CHECK((ours == 0) == (v != NULL), "acceptance differs: reader %s (%s), jansson %s (%s)",
			ours == 0 ? "accepts" : "refuses", ours == 0 ? "" : err, v ? "accepts" : "refuses", v ? "" : e.text);
		if (ours == 0 && v)
			same(&j, 0, v, 0);
	}
	json_decref(v);
	certpin__json_free(&j);
	return 0;
}
