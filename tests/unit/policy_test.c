/* Policy model and JSON documents: loading, table-driven load errors, save/reload. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

#include <pthread.h>

#define PIN_A "sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
#define PIN_B "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_load_good(void)
{
	static const char doc[] =
		"{\"schema\":1,\"policy_version\":7,\"comment\":\"test\",\"hosts\":["
		"{\"host\":\"API.example.com.\",\"pins\":[\"" PIN_A "\",{\"pin\":\"" PIN_B "\",\"position\":\"leaf\",\"comment\":\"backup\"}]},"
		"{\"host\":\"example.org\",\"include_subdomains\":true,\"mode\":\"report-only\",\"expires\":\"2030-01-01\","
		"\"on_expiry\":\"fail-closed\",\"clock_skew\":600,\"pins\":[{\"pin\":\"" PIN_A "\",\"position\":\"root\"}]},"
		"{\"host\":\"*.wild.test\",\"pins\":[\"cert-sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"]}"
		"]}";
	certpin_policy *p = NULL, *q = NULL;
	certpin_host_info info;
	certpin_pin pin;
	certpin_position pos;
	certpin_error err;
	char *json = NULL, *json2 = NULL;

	CHECK_INT(certpin_policy_load_data(&p, doc, strlen(doc), "doc.json", NULL, &err), CERTPIN_OK);
	if (!p)
		return;
	CHECK_INT(certpin_policy_version(p), 7);
	CHECK_INT(certpin_policy_host_count(p), 3);
	CHECK_INT(certpin_policy_host(&info, p, 0), CERTPIN_OK);
	CHECK_STR(info.pattern, "api.example.com");
	CHECK_INT(info.pin_count, 2);
	CHECK_INT(info.mode, CERTPIN_MODE_ENFORCE);
	CHECK_INT(info.expires, 0);
	CHECK_INT(certpin_policy_host_pin(&pin, &pos, p, 0, 1), CERTPIN_OK);
	CHECK_INT(pos, CERTPIN_POS_LEAF);
	CHECK_INT(certpin_policy_host(&info, p, 1), CERTPIN_OK);
	CHECK_STR(info.pattern, "**.example.org");
	CHECK_STR(info.name, "example.org");
	CHECK_INT(info.wildcard, 2);
	CHECK_INT(info.mode, CERTPIN_MODE_REPORT_ONLY);
	CHECK_INT(info.expires, 1893456000);
	CHECK_INT(info.on_expiry, CERTPIN_EXPIRY_FAIL_CLOSED);
	CHECK_INT(info.clock_skew, 600);
	CHECK_INT(certpin_policy_host_pin(&pin, &pos, p, 2, 0), CERTPIN_OK);
	CHECK_INT(pin.kind, CERTPIN_PIN_CERT_SHA256);
	CHECK_INT(certpin_policy_host_pin(&pin, &pos, p, 2, 1), CERTPIN_E_NOT_FOUND);
	CHECK_INT(certpin_policy_host(&info, p, 3), CERTPIN_E_NOT_FOUND);

	/* save, reload, save again: identical */
	CHECK_INT(certpin_policy_to_json(&json, p), CERTPIN_OK);
	CHECK_INT(certpin_policy_load_data(&q, json, strlen(json), "saved", NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_to_json(&json2, q), CERTPIN_OK);
	CHECK_STR(json2, json);
	CHECK_CONTAINS(json, "\"host\": \"**.example.org\"");
	CHECK_CONTAINS(json, "\"expires\": \"2030-01-01T00:00:00Z\"");
	CHECK_CONTAINS(json, "\"comment\": \"backup\"");
	free(json);
	free(json2);
	CHECK_STR(certpin_policy_host_pin_comment(p, 0, 1), "backup");
	CHECK(certpin_policy_host_pin_comment(p, 0, 0) == NULL);
	/* a loaded policy is frozen: it cannot be changed */
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = "new.example.com";
	CHECK_INT(certpin_policy_add_host(p, &o, &err), CERTPIN_E_STATE);
	CHECK_INT(err.code, CERTPIN_E_STATE);
	CHECK_INT(certpin_policy_add_pin(p, "api.example.com", &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_E_STATE);
	CHECK_INT(certpin_policy_host_count(p), 3);
	certpin_policy_free(p);
	certpin_policy_free(q);
	certpin_policy_free(NULL);
}

static const struct {
	const char *doc;
	int code;
	const char *detail; /* must appear in the error's message */
} bad_docs[] = {
	{ "", CERTPIN_E_POLICY, "t.json:1:0:" },
	{ "{", CERTPIN_E_POLICY, "t.json:1:" },
	{ "[]", CERTPIN_E_POLICY, "t.json: /: the document must be a JSON object" },
	{ "{\"hosts\":[]}", CERTPIN_E_POLICY, "missing \"schema\"" },
	{ "{\"schema\":2,\"hosts\":[]}", CERTPIN_E_POLICY, "/schema: unsupported schema" },
	{ "{\"schema\":\"1\",\"hosts\":[]}", CERTPIN_E_POLICY, "/schema" },
	{ "{\"schema\":1}", CERTPIN_E_POLICY, "missing \"hosts\"" },
	{ "{\"schema\":1,\"hosts\":{}}", CERTPIN_E_POLICY, "/hosts: must be an array" },
	{ "{\"schema\":1,\"hosts\":[],\"extra\":1}", CERTPIN_E_POLICY, "/: unknown key \"extra\"" },
	{ "{\"schema\":1,\"schema\":1,\"hosts\":[]}", CERTPIN_E_POLICY, "duplicate object key" },
	{ "{\"schema\":1,\"policy_version\":-1,\"hosts\":[]}", CERTPIN_E_POLICY, "/policy_version" },
	{ "{\"schema\":1,\"hosts\":[1]}", CERTPIN_E_POLICY, "/hosts/0: a host entry must be an object" },
	{ "{\"schema\":1,\"hosts\":[{\"pins\":[\"" PIN_A "\"]}]}", CERTPIN_E_POLICY, "/hosts/0: missing \"host\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\"}]}", CERTPIN_E_POLICY, "/hosts/0: missing \"pins\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[]}]}", CERTPIN_E_POLICY, "non-empty array" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pin\":[]}]}", CERTPIN_E_POLICY, "/hosts/0: unknown key \"pin\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"sha256/no!e\"]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/0: malformed pin string" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"" PIN_A "\",\"sha256/YWJj\"]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/1: pin digest is not 32 bytes" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"sha1/YWJj\"]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/0: unsupported" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[{\"position\":\"leaf\"}]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/0: missing \"pin\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[{\"pin\":\"" PIN_A "\",\"position\":\"middle\"}]}]}",
	  CERTPIN_E_POLICY, "unknown position \"middle\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[{\"pin\":\"" PIN_A "\",\"x\":1}]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/0: unknown key \"x\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"" PIN_A "\",\"" PIN_A "\"]}]}", CERTPIN_E_POLICY,
	  "/hosts/0/pins/1: pin listed twice" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[5]}]}", CERTPIN_E_POLICY, "string or an object" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"" PIN_A "\"]},{\"host\":\"A.TEST.\",\"pins\":[\"" PIN_B "\"]}]}",
	  CERTPIN_E_POLICY, "/hosts/1: host \"A.TEST.\" is already defined (duplicate host)" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"**.a.test\",\"pins\":[\"" PIN_A "\"]},{\"host\":\"a.test\",\"include_subdomains\":true,\"pins\":[\"" PIN_B "\"]}]}",
	  CERTPIN_E_POLICY, "/hosts/1: host \"a.test\" is already defined" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"b\xc3\xbc.test\",\"pins\":[\"" PIN_A "\"]}]}", CERTPIN_E_POLICY,
	  "/hosts/0: invalid host pattern" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"*.a.test\",\"include_subdomains\":true,\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "/hosts/0: invalid host pattern" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"include_subdomains\":1,\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "true or false" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"mode\":\"audit\",\"pins\":[\"" PIN_A "\"]}]}", CERTPIN_E_POLICY,
	  "unknown mode \"audit\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"expires\":\"2030-02-30\",\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "bad \"expires\"" },
	{ "{\"schema\":1,\"report_uris\":\"https://r.test/\",\"hosts\":[]}", CERTPIN_E_POLICY,
	  "/: \"report_uris\" must be an array of 1 to 8 URIs" },
	{ "{\"schema\":1,\"report_uris\":[],\"hosts\":[]}", CERTPIN_E_POLICY, "must be an array of 1 to 8" },
	{ "{\"schema\":1,\"report_uris\":[\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\",\"https://a/\"],\"hosts\":[]}",
	  CERTPIN_E_POLICY, "must be an array of 1 to 8" },
	{ "{\"schema\":1,\"report_uris\":[7],\"hosts\":[]}", CERTPIN_E_POLICY, "\"report_uris\"[0] must be a string" },
	{ "{\"schema\":1,\"report_uris\":[\"ftp://r.test/\"],\"hosts\":[]}", CERTPIN_E_POLICY,
	  "/: report URI 0 is not an http:// or https:// URI" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"" PIN_A "\"],\"report_uris\":[\"https://r.test/a\",\"https:// r.test\"]}]}",
	  CERTPIN_E_POLICY, "/hosts/0: report URI 1 is not" },
	/* instants past 9999-12-31T23:59:59Z could not be written back as four-digit years */
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"expires\":\"9999-12-31T23:30:00-01:00\",\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "bad \"expires\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"expires\":\"9999-12-31T23:59:60Z\",\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "bad \"expires\"" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"expires\":20300101,\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "\"expires\" must be a string" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"on_expiry\":\"ignore\",\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "unknown on_expiry" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"clock_skew\":-5,\"pins\":[\"" PIN_A "\"]}]}", CERTPIN_E_POLICY,
	  "clock_skew" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"clock_skew\":99999999,\"pins\":[\"" PIN_A "\"]}]}",
	  CERTPIN_E_POLICY, "clock_skew" },
	{ "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\\u0000.evil\",\"pins\":[\"" PIN_A "\"]}]}", CERTPIN_E_POLICY,
	  "NUL" },
};

static int err_sentinel;

static void test_load_errors(void)
{
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(bad_docs); i++) {
		certpin_policy *p = (certpin_policy *)&err_sentinel;
		certpin_error err;
		int rc = certpin_policy_load_data(&p, bad_docs[i].doc, strlen(bad_docs[i].doc), "t.json", NULL, &err);
		CHECK_INT(rc, bad_docs[i].code);
		CHECK_INT(err.code, bad_docs[i].code);
		CHECK_CONTAINS(err.message, bad_docs[i].detail);
		if (rc == CERTPIN_OK || !strstr(err.message, bad_docs[i].detail))
			fprintf(stderr, "  case %zu: %s\n  got: %s\n", i, bad_docs[i].doc, err.message);
		/* a failed load gives no policy at all */
		CHECK(p == NULL);
		certpin_policy_free(p);
	}
}

static void test_files(void)
{
	certpin_policy *p = NULL;
	certpin_error err;
	CHECK_INT(certpin_policy_load_file(&p, "/nonexistent/pins.json", NULL, &err), CERTPIN_E_IO);
	CHECK_CONTAINS(err.message, "/nonexistent/pins.json: No such file");
	CHECK(p == NULL);
}

static void test_builder(void)
{
	certpin_policy *p;
	certpin_pin pin;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_error err;

	CHECK_INT(certpin_pin_parse(&pin, PIN_A, strlen(PIN_A)), CERTPIN_OK);
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	o.pattern = "a.test";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_host(p, &o, &err), CERTPIN_E_DUPLICATE);
	CHECK_CONTAINS(err.message, "more than once");
	o.pattern = "a..test";
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_E_HOSTNAME);
	o.pattern = "b.test";
	o.version = 99;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_E_INVALID_ARG);
	o.version = CERTPIN_HOST_OPTIONS_VERSION;
	o.mode = (certpin_mode)7;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_add_pin(p, "A.TEST.", &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_E_DUPLICATE);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &pin, CERTPIN_POS_ROOT, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &pin, (certpin_position)9, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_add_pin(p, "c.test", &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_E_NOT_FOUND);
	CHECK_INT(certpin_policy_add_pin(p, "*.a.test", &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_E_NOT_FOUND);
	pin.kind = (certpin_pin_kind)0;
	CHECK_INT(certpin_policy_add_pin(p, "a.test", &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_policy_host_count(p), 1);

	/* expiry must stay within what a policy document can carry */
	o.mode = CERTPIN_MODE_ENFORCE;
	o.pattern = "late.test";
	o.expires = INT64_C(253402300800);
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_E_INVALID_ARG);
	o.expires = INT64_C(253402300799);
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);

	/* a pinset is bounded: the 257th pin of one host is refused */
	o.pattern = "many.test";
	o.expires = 0;
	CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	certpin_pin many = { .kind = CERTPIN_PIN_SPKI_SHA256 };
	for (int i = 0; i < CERTPIN_MAX_PINS_PER_HOST; i++) {
		many.digest[0] = (unsigned char)i;
		many.digest[1] = (unsigned char)(i >> 8);
		CHECK_INT(certpin_policy_add_pin(p, "many.test", &many, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	}
	many.digest[2] = 1;
	CHECK_INT(certpin_policy_add_pin(p, "many.test", &many, CERTPIN_POS_ANY, NULL, &err), CERTPIN_E_INVALID_ARG);
	CHECK_CONTAINS(err.message, "more than 256 pins");
	/* frozen: no more changes */
	certpin_policy_freeze(p);
	o.pattern = "after.test";
	CHECK_INT(certpin_policy_add_host(p, &o, &err), CERTPIN_E_STATE);
	CHECK_INT(certpin_policy_host_count(p), 3);
	certpin_policy_free(p);
}

/* The document size limit, and the option that raises it. */
static void test_max_bytes(void)
{
	static const char doc[] = "{\"schema\":1,\"hosts\":[{\"host\":\"a.test\",\"pins\":[\"" PIN_A "\"]}]}";
	certpin_load_options o = CERTPIN_LOAD_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_error err;

	o.max_bytes = strlen(doc) - 1;
	CHECK_INT(certpin_policy_load_data(&p, doc, strlen(doc), "small", &o, &err), CERTPIN_E_POLICY);
	CHECK_CONTAINS(err.message, "larger than");
	CHECK(p == NULL);
	o.max_bytes = strlen(doc);
	CHECK_INT(certpin_policy_load_data(&p, doc, strlen(doc), "small", &o, &err), CERTPIN_OK);
	certpin_policy_free(p);
	o.version = 99;
	CHECK_INT(certpin_policy_load_data(&p, doc, strlen(doc), "small", &o, &err), CERTPIN_E_INVALID_ARG);
}

/*
 * The compact model: pins added to earlier rules after later ones (moved
 * while building, laid out anew when frozen), comments, names longer than
 * an index slot holds, and many hosts.
 */
static void test_compact(void)
{
	static const char *const names[] = {
		"a.test", "a-very-long-host-name-beyond-the-slot.example.com", "a-very-long-host-name-beyond-the-slot.example.org",
	};
	certpin_policy *p;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } }, got;
	certpin_position pos;
	char name[64];
	size_t idx;

	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	for (size_t i = 0; i < 3; i++) {
		o.pattern = names[i];
		CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	}
	/* pins in turns: every rule's pins are interleaved with the others' */
	for (int k = 0; k < 6; k++)
		for (size_t i = 0; i < 3; i++) {
			pin.digest[0] = (unsigned char)i;
			pin.digest[1] = (unsigned char)k;
			CHECK_INT(certpin_policy_add_pin(p, names[i], &pin, CERTPIN_POS_ANY, k == 2 ? "third" : NULL, NULL),
				CERTPIN_OK);
		}
	/* many hosts: the index grows, every one is still found */
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "h%05d.%s.example.net", i, i % 2 ? "long-enough-to-pass-the-slot" : "x");
		o.pattern = name;
		CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
	}
	certpin_policy_freeze(p);
	for (size_t i = 0; i < 3; i++) {
		CHECK_INT(certpin_policy_lookup(&idx, p, names[i]), CERTPIN_OK);
		CHECK_INT(idx, i);
		for (size_t k = 0; k < 6; k++) {
			CHECK_INT(certpin_policy_host_pin(&got, &pos, p, i, k), CERTPIN_OK);
			CHECK_INT(got.digest[0], i);
			CHECK_INT(got.digest[1], k);
			if (k == 2)
				CHECK_STR(certpin_policy_host_pin_comment(p, i, k), "third");
			else
				CHECK(certpin_policy_host_pin_comment(p, i, k) == NULL);
		}
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "h%05d.%s.example.net", i, i % 2 ? "long-enough-to-pass-the-slot" : "x");
		int rc = certpin_policy_lookup(&idx, p, name);
		CHECK_INT(rc, CERTPIN_OK);
		if (rc == CERTPIN_OK)
			CHECK_INT(idx, (size_t)i + 3);
	}
	/* a name that shares a long prefix with a rule's, and differs after a slot's bytes */
	CHECK_INT(certpin_policy_lookup(&idx, p, "a-very-long-host-name-beyond-the-slot.example.net"), CERTPIN_E_NOT_FOUND);
	CHECK_INT(certpin_policy_find(&idx, p, "A.TEST."), CERTPIN_OK);
	CHECK_INT(idx, 0);
	CHECK_INT(certpin_policy_find(&idx, p, "*.a.test"), CERTPIN_E_NOT_FOUND);
	certpin_policy_free(p);
}

/*
 * Threads that attach one policy at once each freeze it first: released
 * together, 8 threads freeze a policy whose pins were added in turns (so
 * freezing must move them), then each reads every pin back.  Before freezing
 * took a lock, two threads could both rearrange the arrays (a double free
 * under ASan, wrong pins otherwise).
 */
#define FREEZERS 8

typedef struct freezer {
	certpin_policy *p;
	pthread_barrier_t *go;
	int bad;
} freezer;

static void *freeze_and_read(void *arg)
{
	freezer *f = arg;
	certpin_pin got;
	certpin_position pos;

	pthread_barrier_wait(f->go);
	certpin_policy_freeze(f->p);
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 4; k++)
			f->bad += certpin_policy_host_pin(&got, &pos, f->p, i, k) != CERTPIN_OK || got.digest[0] != i ||
				got.digest[1] != k;
	return NULL;
}

static void test_freeze_concurrent(void)
{
	static const char *const names[] = { "a.test", "b.test", "c.test", "d.test" };

	for (int round = 0; round < 200; round++) {
		certpin_policy *p;
		certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
		certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } };
		pthread_barrier_t go;
		pthread_t th[FREEZERS];
		freezer f[FREEZERS];
		int bad = 0;

		CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
		for (size_t i = 0; i < 4; i++) {
			o.pattern = names[i];
			CHECK_INT(certpin_policy_add_host(p, &o, NULL), CERTPIN_OK);
		}
		for (int k = 0; k < 4; k++)
			for (size_t i = 0; i < 4; i++) {
				pin.digest[0] = (unsigned char)i;
				pin.digest[1] = (unsigned char)k;
				CHECK_INT(certpin_policy_add_pin(p, names[i], &pin, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
			}
		pthread_barrier_init(&go, NULL, FREEZERS);
		for (int t = 0; t < FREEZERS; t++) {
			f[t] = (freezer){ p, &go, 0 };
			pthread_create(&th[t], NULL, freeze_and_read, &f[t]);
		}
		for (int t = 0; t < FREEZERS; t++) {
			pthread_join(th[t], NULL);
			bad += f[t].bad;
		}
		pthread_barrier_destroy(&go);
		CHECK_INT(bad, 0);
		certpin_policy_free(p);
	}
}

int main(void)
{
	test_load_good();
	test_max_bytes();
	test_compact();
	test_freeze_concurrent();
	test_load_errors();
	test_files();
	test_builder();
	return test_finish("policy_test");
}
