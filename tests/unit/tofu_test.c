/*
 * tofu_test: the trust-on-first-use store.
 *
 *   - first use records, later uses match, a changed key is refused with
 *     both the recorded and the presented pins, report-only allows and
 *     reports without touching the store;
 *   - position and pin kind options, chains too short for the position;
 *     a recorded pin is compared (and shown) at its own position and kind,
 *     whatever the handle's options say;
 *   - the on_change callback: called with the old and new pins on every
 *     change (enforce and report-only), never on first use or a match;
 *     version 1 options (without it) are still accepted;
 *   - forget / trust / list;
 *   - the known_pins parser: canonical round trip and every corruption,
 *     which is reported with its line and never reset by any operation;
 *   - concurrent writers: several processes and several threads recording
 *     at once lose no entry, and a host raced by different keys ends with
 *     exactly one recorded pin;
 *   - checks reuse what they read while the file is unchanged and settled,
 *     and see every change: another handle's write, and an in-place rewrite
 *     of the same size with its modification time set back.
 */
#include "test.h"
#include "store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW INT64_C(1795000000)


/* The detail of the last failed management call. */
static certpin_error E;
static char dir[256];

static const char *path_in(const char *name)
{
	static char bufs[4][512];
	static unsigned slot;
	char *b = bufs[slot++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* A synthetic verified chain: element i has digests filled with seed+i. */
static void chain_of(certpin_chain_elem *c, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++) {
		c[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(c[i].spki_sha256, seed + (int)i, CERTPIN_DIGEST_LEN);
		memset(c[i].cert_sha256, 0x80 + seed + (int)i, CERTPIN_DIGEST_LEN);
	}
}

static certpin_tofu *open_store(const char *name, certpin_position pos, certpin_pin_kind kind, certpin_mode mode)
{
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL;

	o.position = pos;
	o.kind = kind;
	o.mode = mode;
	if (certpin_tofu_open(&t, path_in(name), &o) != CERTPIN_OK) {
		fprintf(stderr, "cannot open store %s\n", name);
		exit(2);
	}
	return t;
}

static char *file_text(const char *name)
{
	char *buf = NULL;
	size_t len;

	if (certpin__store_read(&buf, &len, path_in(name), CERTPIN_TOFU_FILE_MAX, NULL, 0) != CERTPIN_OK)
		return NULL;
	return buf;
}

static void write_text(const char *name, const char *s)
{
	FILE *f = fopen(path_in(name), "wb");

	if (!f || fputs(s, f) < 0 || fclose(f) != 0)
		exit(2);
}

static void test_options(void)
{
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = (certpin_tofu *)1;

	CHECK_INT(certpin_tofu_open(&t, path_in("x"), NULL), CERTPIN_OK);
	certpin_tofu_close(t);
	o.position = CERTPIN_POS_ANY;
	CHECK_INT(certpin_tofu_open(&t, path_in("x"), &o), CERTPIN_E_INVALID_ARG);
	CHECK(t == NULL);
	o.position = CERTPIN_POS_LEAF;
	o.kind = 0;
	CHECK_INT(certpin_tofu_open(&t, path_in("x"), &o), CERTPIN_E_INVALID_ARG);
	o.kind = CERTPIN_PIN_SPKI_SHA256;
	o.version = 99;
	CHECK_INT(certpin_tofu_open(&t, path_in("x"), &o), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_tofu_open(&t, "", NULL), CERTPIN_E_INVALID_ARG);
	certpin_tofu_close(NULL);
}

static void test_first_use_match_change(void)
{
	certpin_tofu *t = open_store("kp1", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c1[3], c2[3];
	certpin_tofu_result r;
	char *before, *after, want[CERTPIN_PIN_STRLEN];

	chain_of(c1, 3, 0x10);
	chain_of(c2, 3, 0x40);

	CHECK_INT(certpin_tofu_check(&r, t, "API.Example.COM.", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.version, CERTPIN_TOFU_RESULT_VERSION);
	CHECK_INT(r.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(r.allowed, 1);
	CHECK_STR(r.hostname, "api.example.com");
	CHECK_INT(r.known_count, 0);
	CHECK_INT(r.have_presented, 1);
	CHECK(r.presented.kind == CERTPIN_PIN_SPKI_SHA256 && r.presented.digest[0] == 0x10);
	before = file_text("kp1");
	CHECK(certpin_pin_format(want, sizeof(want), &r.presented, CERTPIN_STYLE_DEFAULT) == CERTPIN_OK);
	char line[512];
	snprintf(line, sizeof(line), CERTPIN_TOFU_HEADER "\napi.example.com leaf %s 2026-11-18T11:06:40Z\n", want);
	CHECK_STR(before, line);

	/* the same chain matches; the first-seen time stays */
	CHECK_INT(certpin_tofu_check(&r, t, "api.example.com", c1, 3, NOW + 100), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK_INT(r.known_count, 1);
	CHECK_INT(r.known[0].first_seen, NOW);
	/* another leaf key: refused, both pins shown, store untouched */
	CHECK_INT(certpin_tofu_check(&r, t, "api.example.com", c2, 3, NOW + 200), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(r.allowed, 0);
	CHECK_INT(r.known_count, 1);
	CHECK(r.known[0].pin.digest[0] == 0x10 && r.known[0].position == CERTPIN_POS_LEAF);
	CHECK(r.have_presented && r.presented.digest[0] == 0x40);
	CHECK_CONTAINS(r.detail, "key changed");
	after = file_text("kp1");
	CHECK_STR(after, before);
	free(after);

	/* a leaf pin never matches the same key at another depth */
	certpin_chain_elem shifted[3];
	chain_of(shifted, 3, 0x0f);     /* element 1 carries 0x10 */
	CHECK_INT(certpin_tofu_check(&r, t, "api.example.com", shifted, 3, NOW), CERTPIN_E_PIN_MISMATCH);

	/* the same key at another host is a first use of that host */
	CHECK_INT(certpin_tofu_check(&r, t, "other.example.com", c2, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_FIRST_USE);

	/* errors: invalid name, empty chain, missing digest kind */
	CHECK_INT(certpin_tofu_check(&r, t, "bad..name", c1, 3, NOW), CERTPIN_E_HOSTNAME);
	CHECK_INT(r.allowed, 0);
	CHECK_INT(certpin_tofu_check(&r, t, "new.example.com", c1, 0, NOW), CERTPIN_E_CHAIN);
	certpin_chain_elem nod = c1[0];
	nod.flags = CERTPIN_HAVE_CERT;
	CHECK_INT(certpin_tofu_check(&r, t, "new.example.com", &nod, 1, NOW), CERTPIN_E_CHAIN);
	CHECK_INT(r.allowed, 0);
	/* an IP literal is a host like any other */
	CHECK_INT(certpin_tofu_check(&r, t, "[2001:db8::1]", c1, 3, NOW), CERTPIN_OK);
	CHECK_STR(r.hostname, "2001:db8::1");
	CHECK_INT(certpin_tofu_check(&r, t, "2001:DB8:0::1", c2, 3, NOW), CERTPIN_E_PIN_MISMATCH);

	free(before);
	certpin_tofu_close(t);
}

static void test_report_only(void)
{
	certpin_tofu *t = open_store("kp2", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_REPORT_ONLY);
	certpin_chain_elem c1[2], c2[2];
	certpin_tofu_result r;

	chain_of(c1, 2, 0x01);
	chain_of(c2, 2, 0x51);
	CHECK_INT(certpin_tofu_check(&r, t, "ro.example", c1, 2, NOW), CERTPIN_OK);
	char *before = file_text("kp2");
	CHECK_INT(certpin_tofu_check(&r, t, "ro.example", c2, 2, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(r.allowed, 1);
	CHECK_INT(r.mode, CERTPIN_MODE_REPORT_ONLY);
	CHECK_INT(r.known_count, 1);
	CHECK(r.known[0].pin.digest[0] == 0x01 && r.presented.digest[0] == 0x51);
	CHECK_CONTAINS(r.detail, "report-only");
	char *after = file_text("kp2");
	CHECK_STR(after, before);       /* never re-recorded */
	free(before);
	free(after);
	certpin_tofu_close(t);
}

static void test_positions_kinds(void)
{
	certpin_tofu *root = open_store("kp3", CERTPIN_POS_ROOT, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_tofu *inter = open_store("kp4", CERTPIN_POS_INTERMEDIATE, CERTPIN_PIN_CERT_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c[3], c2[3], two[2];
	certpin_tofu_result r;

	chain_of(c, 3, 0x20);
	CHECK_INT(certpin_tofu_check(&r, root, "r.example", c, 3, NOW), CERTPIN_OK);
	CHECK(r.presented.digest[0] == 0x22);
	/* a new leaf under the same root still matches a root pin */
	c2[0] = c[0];
	memset(c2[0].spki_sha256, 0x77, CERTPIN_DIGEST_LEN);
	c2[1] = c[1];
	c2[2] = c[2];
	CHECK_INT(certpin_tofu_check(&r, root, "r.example", c2, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	char *text = file_text("kp3");
	CHECK_CONTAINS(text, "r.example root sha256/");
	free(text);

	CHECK_INT(certpin_tofu_check(&r, inter, "i.example", c, 3, NOW), CERTPIN_OK);
	CHECK(r.presented.kind == CERTPIN_PIN_CERT_SHA256 && r.presented.digest[0] == 0x80 + 0x21);
	text = file_text("kp4");
	CHECK_CONTAINS(text, "i.example intermediate cert-sha256/");
	free(text);
	/* a two-certificate chain has no intermediate to record */
	chain_of(two, 2, 0x30);
	CHECK_INT(certpin_tofu_check(&r, inter, "j.example", two, 2, NOW), CERTPIN_E_CHAIN);
	CHECK_CONTAINS(r.detail, "no intermediate");
	/* ... and for a known host it simply does not match */
	CHECK_INT(certpin_tofu_check(&r, inter, "i.example", two, 2, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.have_presented, 0);
	certpin_tofu_close(root);
	certpin_tofu_close(inter);
}

static void test_manage(void)
{
	certpin_tofu *t = open_store("kp5", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c1[2], c2[2];
	certpin_tofu_result r;
	certpin_tofu_entry *list = NULL;
	size_t n = 0, removed = 0;
	certpin_pin pin;

	CHECK_INT(certpin_tofu_list(&list, &n, t, NULL), CERTPIN_OK);   /* missing file: empty */
	CHECK_INT(n, 0);
	CHECK(list == NULL);
	chain_of(c1, 2, 0x01);
	chain_of(c2, 2, 0x61);
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c1, 2, NOW), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "b.example", c1, 2, NOW + 1), CERTPIN_OK);
	CHECK_INT(certpin_tofu_list(&list, &n, t, NULL), CERTPIN_OK);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(list[0].host, "a.example");
		CHECK_STR(list[1].host, "b.example");
		CHECK_INT(list[1].first_seen, NOW + 1);
	}
	free(list);

	/* trust (replace): the new key is accepted, the old one no longer */
	pin.kind = CERTPIN_PIN_SPKI_SHA256;
	memset(pin.digest, 0x61, CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_tofu_trust(t, "A.example", &pin, CERTPIN_POS_LEAF, 0, NOW + 5, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c2, 2, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c1, 2, NOW), CERTPIN_E_PIN_MISMATCH);
	/* trust --add keeps the others; adding twice is a no-op */
	memset(pin.digest, 0x01, CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_tofu_trust(t, "a.example", &pin, CERTPIN_POS_LEAF, CERTPIN_TOFU_TRUST_ADD, NOW, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_trust(t, "a.example", &pin, CERTPIN_POS_LEAF, CERTPIN_TOFU_TRUST_ADD, NOW, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c1, 2, NOW), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c2, 2, NOW), CERTPIN_OK);
	CHECK_INT(r.known_count, 2);
	/* at most CERTPIN_TOFU_MAX_PINS per host */
	for (int i = 0; i < CERTPIN_TOFU_MAX_PINS; i++) {
		memset(pin.digest, 0xa0 + i, CERTPIN_DIGEST_LEN);
		int rc = certpin_tofu_trust(t, "a.example", &pin, CERTPIN_POS_ROOT, CERTPIN_TOFU_TRUST_ADD, NOW, &E);
		CHECK_INT(rc, i < CERTPIN_TOFU_MAX_PINS - 2 ? CERTPIN_OK : CERTPIN_E_INVALID_ARG);
	}
	CHECK_CONTAINS(E.message, "already has 8 pins");
	CHECK_INT(E.code, CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_tofu_trust(t, "a.example", &pin, CERTPIN_POS_ANY, 0, NOW, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_tofu_trust(t, "a..example", &pin, CERTPIN_POS_LEAF, 0, NOW, NULL), CERTPIN_E_HOSTNAME);

	/* forget */
	CHECK_INT(certpin_tofu_forget(t, "a.example", &removed, NULL), CERTPIN_OK);
	CHECK_INT(removed, CERTPIN_TOFU_MAX_PINS);
	CHECK_INT(certpin_tofu_forget(t, "a.example", &removed, &E), CERTPIN_E_NOT_FOUND);
	CHECK_INT(removed, 0);
	CHECK_CONTAINS(E.message, "no pins recorded for a.example");
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c1, 2, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(certpin_tofu_list(&list, &n, t, NULL), CERTPIN_OK);
	CHECK_INT(n, 2);
	free(list);
	certpin_tofu_close(t);
}

/* ---- the file format ------------------------------------------------------------ */

#define PA "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PB "cert-sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define H CERTPIN_TOFU_HEADER "\n"

static void test_format(void)
{
	static const char good[] = H "# comment\n\na.example leaf " PA " 2026-01-01T00:00:00Z\n"
		"a.example root " PB " 2026-01-02T00:00:00Z\n192.0.2.1 intermediate " PA " 2026-01-03T00:00:00Z\n";
	static const char canon[] = H "a.example leaf " PA " 2026-01-01T00:00:00Z\n"
		"a.example root " PB " 2026-01-02T00:00:00Z\n192.0.2.1 intermediate " PA " 2026-01-03T00:00:00Z\n";
	certpin__tofu_db db;
	char err[256], *out = NULL;
	size_t len;

	CHECK_INT(certpin__tofu_parse(&db, good, strlen(good), err, sizeof(err)), CERTPIN_OK);
	CHECK_INT(db.n, 3);
	CHECK_INT(certpin__tofu_format(&out, &len, &db), CERTPIN_OK);
	CHECK_STR(out, canon);
	CHECK_INT(len, strlen(canon));
	free(out);
	certpin__tofu_db_free(&db);
	CHECK_INT(certpin__tofu_parse(&db, H, strlen(H), err, sizeof(err)), CERTPIN_OK);
	CHECK_INT(db.n, 0);

	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "", "empty file" },
		{ "a.example leaf " PA " 2026-01-01T00:00:00Z\n", "line 1: not a certpin known_pins" },
		{ "# certpin known_pins v2\n", "line 1" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00Z", "line 2: no newline at the end" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00Z\r\n", "line 2" },
		{ H "A.example leaf " PA " 2026-01-01T00:00:00Z\n", "not a normalized host" },
		{ H "a.example. leaf " PA " 2026-01-01T00:00:00Z\n", "not a normalized host" },
		{ H "*.example leaf " PA " 2026-01-01T00:00:00Z\n", "not a normalized host" },
		{ H "a.example any " PA " 2026-01-01T00:00:00Z\n", "position" },
		{ H "a.example leaf sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 2026-01-01T00:00:00Z\n", "pin" },
		{ H "a.example leaf sha256/AAAA 2026-01-01T00:00:00Z\n", "pin" },
		{ H "a.example leaf " PA " 2026-01-01\n", "first-seen" },
		{ H "a.example leaf " PA " 2026-13-01T00:00:00Z\n", "first-seen" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00+00:00\n", "first-seen" },
		{ H "a.example leaf " PA "  2026-01-01T00:00:00Z\n", "empty field" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00Z \n", "expected 4 fields" },
		{ H " a.example leaf " PA " 2026-01-01T00:00:00Z\n", "empty field" },
		{ H "a.example leaf " PA "\t2026-01-01T00:00:00Z\n", "line 2" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00Z extra\n", "expected 4 fields" },
		{ H "a.example leaf " PA "\n", "expected 4 fields" },
		{ H "a.example leaf " PA " 2026-01-01T00:00:00Z\nb.example leaf " PA " 2026-01-01T00:00:00Z\n"
		  "a.example leaf " PA " 2026-02-01T00:00:00Z\n", "line 4: duplicate of line 2" },
		{ H "caf\xc3\xa9.example leaf " PA " 2026-01-01T00:00:00Z\n", "line 2" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = certpin__tofu_parse(&db, bad[i].text, strlen(bad[i].text), err, sizeof(err));
		CHECK_INT(rc, CERTPIN_E_STORE);
		CHECK_CONTAINS(err, bad[i].why);
		CHECK(db.n == 0 && db.e == NULL);
	}
	/* NUL byte */
	static const char withnul[] = H "a.example leaf " PA " 2026-01-01T00:00:00Z\n\0\n";
	CHECK_INT(certpin__tofu_parse(&db, withnul, sizeof(withnul) - 1, err, sizeof(err)), CERTPIN_E_STORE);
	CHECK_CONTAINS(err, "NUL");
	/* nine pins for one host */
	char many[4096];
	size_t used = (size_t)snprintf(many, sizeof(many), "%s", H);
	for (int i = 0; i < CERTPIN_TOFU_MAX_PINS + 1; i++) {
		certpin_pin p = { CERTPIN_PIN_SPKI_SHA256, { 0 } };
		char s[CERTPIN_PIN_STRLEN];
		memset(p.digest, i, CERTPIN_DIGEST_LEN);
		if (certpin_pin_format(s, sizeof(s), &p, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
			exit(2);
		used += (size_t)snprintf(many + used, sizeof(many) - used, "m.example leaf %s 2026-01-01T00:00:00Z\n", s);
	}
	CHECK_INT(certpin__tofu_parse(&db, many, used, err, sizeof(err)), CERTPIN_E_STORE);
	CHECK_CONTAINS(err, "more than 8 pins for m.example");
}

/* A corrupt file: every operation reports it, none rewrites it. */
static void test_corrupt_file_never_reset(void)
{
	static const char corrupt[] = H "a.example leaf " PA " 2026-01-01T00:00:00Z\nb.example leaf " PA " 2026-01-01T";
	certpin_tofu *t = open_store("kp6", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c[2];
	certpin_tofu_result r;
	certpin_tofu_entry *list = NULL;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } };
	size_t n;
	char *text;

	write_text("kp6", corrupt);
	chain_of(c, 2, 0x01);
	CHECK_INT(certpin_tofu_check(&r, t, "new.example", c, 2, NOW), CERTPIN_E_STORE);
	CHECK_INT(r.allowed, 0);
	CHECK_CONTAINS(r.detail, "line 3: no newline at the end");
	CHECK_CONTAINS(r.detail, "corrupt");
	CHECK_INT(certpin_tofu_check(&r, t, "a.example", c, 2, NOW), CERTPIN_E_STORE);
	CHECK_INT(certpin_tofu_list(&list, &n, t, &E), CERTPIN_E_STORE);
	CHECK_CONTAINS(E.message, "kp6: line 3");
	CHECK_INT(certpin_tofu_forget(t, "a.example", NULL, NULL), CERTPIN_E_STORE);
	CHECK_INT(certpin_tofu_trust(t, "a.example", &pin, CERTPIN_POS_LEAF, 0, NOW, NULL), CERTPIN_E_STORE);
	text = file_text("kp6");
	CHECK_STR(text, corrupt);
	free(text);
	CHECK(access(path_in("kp6.tmp"), F_OK) != 0);
	certpin_tofu_close(t);
}

/* ---- concurrency ------------------------------------------------------------- */

#define PROCS 6
#define HOSTS_EACH 25
#define RACED 15

/* Child: record its own hosts, then race the shared ones with its own key. Exit code = failures. */
static int child(int id)
{
	certpin_tofu *t = open_store("kp-conc", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c[2];
	certpin_tofu_result r;
	int failures = 0;
	char host[64];

	chain_of(c, 2, (unsigned char)(0x10 * (id + 1)));
	for (int i = 0; i < HOSTS_EACH; i++) {
		snprintf(host, sizeof(host), "p%d-h%d.example", id, i);
		if (certpin_tofu_check(&r, t, host, c, 2, NOW) != CERTPIN_OK || r.verdict != CERTPIN_TOFU_FIRST_USE)
			failures++;
	}
	for (int i = 0; i < RACED; i++) {
		snprintf(host, sizeof(host), "raced%d.example", i);
		int rc = certpin_tofu_check(&r, t, host, c, 2, NOW);
		/* whoever records first wins (the parent checks one pin per host); the others are refused */
		bool won = rc == CERTPIN_OK && r.verdict == CERTPIN_TOFU_FIRST_USE;
		bool lost = rc == CERTPIN_E_PIN_MISMATCH && r.verdict == CERTPIN_TOFU_CHANGED && r.known_count == 1;
		if (!won && !lost)
			failures++;
	}
	certpin_tofu_close(t);
	return failures;
}

static void test_concurrent_processes(void)
{
	pid_t pids[PROCS];
	int ok = 1;

	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child(i));
		if (pids[i] < 0)
			ok = 0;
	}
	for (int i = 0; i < PROCS; i++) {
		int status = 0;
		if (pids[i] <= 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d failed (status %d)\n", i, status);
			ok = 0;
		}
	}
	CHECK(ok);

	certpin_tofu *t = open_store("kp-conc", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_tofu_entry *list = NULL;
	size_t n = 0;
	CHECK_INT(certpin_tofu_list(&list, &n, t, NULL), CERTPIN_OK);
	CHECK_INT(n, PROCS * HOSTS_EACH + RACED);      /* no lost update, one pin per raced host */
	int per_raced[RACED] = { 0 };
	for (size_t i = 0; i < n; i++) {
		int k;
		if (sscanf(list[i].host, "raced%d.example", &k) == 1 && k >= 0 && k < RACED)
			per_raced[k]++;
	}
	int exactly_one = 1;
	for (int k = 0; k < RACED; k++)
		if (per_raced[k] != 1)
			exactly_one = 0;
	CHECK(exactly_one);
	free(list);
	certpin_tofu_close(t);
}

typedef struct thr_arg {
	int id;
	int failures;
} thr_arg;

static void *thread_main(void *p)
{
	thr_arg *a = p;
	/* each thread its own handle: exclusion must come from the file lock */
	certpin_tofu *t = open_store("kp-thr", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c[2];
	certpin_tofu_result r;
	char host[64];

	chain_of(c, 2, (unsigned char)(a->id + 1));
	for (int i = 0; i < 20; i++) {
		snprintf(host, sizeof(host), "t%d-%d.example", a->id, i);
		if (certpin_tofu_check(&r, t, host, c, 2, NOW) != CERTPIN_OK)
			a->failures++;
	}
	certpin_tofu_close(t);
	return NULL;
}

static void test_concurrent_threads(void)
{
	pthread_t th[4];
	thr_arg args[4];
	certpin_tofu_entry *list = NULL;
	size_t n = 0;
	int failures = 0;

	for (int i = 0; i < 4; i++) {
		args[i].id = i;
		args[i].failures = 0;
		if (pthread_create(&th[i], NULL, thread_main, &args[i]) != 0)
			exit(2);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		failures += args[i].failures;
	}
	CHECK_INT(failures, 0);
	certpin_tofu *t = open_store("kp-thr", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	CHECK_INT(certpin_tofu_list(&list, &n, t, NULL), CERTPIN_OK);
	CHECK_INT(n, 80);
	free(list);
	certpin_tofu_close(t);
}

typedef struct change_log {
	int calls;
	int allowed;
	certpin_tofu_verdict verdict;
	size_t known_count;
	certpin_pin old_pin, new_pin;
	certpin_position old_pos;
	int have_new;
	char host[CERTPIN_HOSTNAME_MAX];
} change_log;

static void on_change(const certpin_tofu_result *r, void *payload)
{
	change_log *l = payload;

	l->calls++;
	l->allowed = r->allowed;
	l->verdict = r->verdict;
	l->known_count = r->known_count;
	l->old_pin = r->known[0].pin;
	l->old_pos = r->known[0].position;
	l->new_pin = r->presented_at[0];
	l->have_new = r->have_presented_at[0];
	snprintf(l->host, sizeof(l->host), "%s", r->hostname);
}

static void test_on_change(void)
{
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t = NULL, *ro = NULL;
	certpin_chain_elem c1[3], c2[3];
	certpin_tofu_result r;
	change_log log;

	memset(&log, 0, sizeof(log));
	chain_of(c1, 3, 0x10);
	chain_of(c2, 3, 0x40);
	o.on_change = on_change;
	o.payload = &log;
	CHECK_INT(certpin_tofu_open(&t, path_in("kp-cb"), &o), CERTPIN_OK);
	o.mode = CERTPIN_MODE_REPORT_ONLY;
	CHECK_INT(certpin_tofu_open(&ro, path_in("kp-cb"), &o), CERTPIN_OK);
	if (!t || !ro)
		exit(2);

	/* first use and match: no call */
	CHECK_INT(certpin_tofu_check(&r, t, "cb.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "cb.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, ro, "cb.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(log.calls, 0);

	/* enforced change: one call, refused, old and new pins */
	CHECK_INT(certpin_tofu_check(&r, t, "CB.example.", c2, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(log.calls, 1);
	CHECK_INT(log.allowed, 0);
	CHECK_INT(log.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_STR(log.host, "cb.example");
	CHECK_INT(log.known_count, 1);
	CHECK(log.old_pos == CERTPIN_POS_LEAF && log.old_pin.digest[0] == 0x10);
	CHECK(log.have_new && log.new_pin.kind == CERTPIN_PIN_SPKI_SHA256 && log.new_pin.digest[0] == 0x40);

	/* report-only change: called too, allowed */
	CHECK_INT(certpin_tofu_check(&r, ro, "cb.example", c2, 3, NOW), CERTPIN_OK);
	CHECK_INT(log.calls, 2);
	CHECK_INT(log.allowed, 1);
	CHECK(log.old_pin.digest[0] == 0x10 && log.new_pin.digest[0] == 0x40);

	/* errors are not changes */
	CHECK_INT(certpin_tofu_check(&r, t, "bad..name", c2, 3, NOW), CERTPIN_E_HOSTNAME);
	CHECK_INT(log.calls, 2);
	certpin_tofu_close(t);
	certpin_tofu_close(ro);

	/* a version 1 struct ends before on_change: accepted, defaults apply */
	struct {
		unsigned int version;
		certpin_position position;
		certpin_pin_kind kind;
		certpin_mode mode;
		unsigned int lock_timeout_ms;
	} v1 = { 1, CERTPIN_POS_ROOT, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE, 0 };
	t = NULL;
	CHECK_INT(certpin_tofu_open(&t, path_in("kp-v1"), (const certpin_tofu_options *)(void *)&v1), CERTPIN_OK);
	if (!t)
		exit(2);
	CHECK_INT(certpin_tofu_check(&r, t, "v1.example", c1, 3, NOW), CERTPIN_OK);
	CHECK(r.position == CERTPIN_POS_ROOT && r.presented.digest[0] == 0x12);
	CHECK_INT(certpin_tofu_check(&r, t, "v1.example", c2, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(log.calls, 2);
	certpin_tofu_close(t);
}

/* Recorded pins are compared, and shown, at their own position and kind. */
static void test_like_with_like(void)
{
	certpin_tofu *t = open_store("kp-like", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c[3];
	certpin_tofu_result r;
	certpin_pin root_pin, leaf_cert;

	chain_of(c, 3, 0x10);
	/* an operator recorded the leaf's key as a root pin, and the leaf's certificate */
	memset(&root_pin, 0, sizeof(root_pin));
	root_pin.kind = CERTPIN_PIN_SPKI_SHA256;
	memset(root_pin.digest, 0x10, CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_tofu_trust(t, "like.example", &root_pin, CERTPIN_POS_ROOT, 0, NOW, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "like.example", c, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.known_count, 1);
	/* the options' view (leaf key) equals the recorded digest; the comparison is at the root */
	CHECK(r.have_presented && certpin_pin_equal(&r.presented, &root_pin));
	CHECK(r.have_presented_at[0] && r.presented_at[0].digest[0] == 0x12);
	CHECK_CONTAINS(r.detail, "root now sha256/");

	/* a cert-sha256 leaf pin, with SPKI options: compared as a certificate pin */
	memset(&leaf_cert, 0, sizeof(leaf_cert));
	leaf_cert.kind = CERTPIN_PIN_CERT_SHA256;
	memset(leaf_cert.digest, 0x90, CERTPIN_DIGEST_LEN);
	CHECK_INT(certpin_tofu_trust(t, "like.example", &leaf_cert, CERTPIN_POS_LEAF, 0, NOW, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, t, "like.example", c, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK(r.have_presented_at[0] && certpin_pin_equal(&r.presented_at[0], &leaf_cert));
	certpin_tofu_close(t);
}

/* Rewrite `name` in place with `text` (its size), then set its modification time back to what it was. */
static void rewrite_in_place(const char *name, const char *text)
{
	struct stat st;
	FILE *f;

	if (stat(path_in(name), &st) != 0 || (size_t)st.st_size != strlen(text) || !(f = fopen(path_in(name), "r+b")))
		exit(2);
	if (fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0)
		exit(2);
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (utimensat(AT_FDCWD, path_in(name), times, 0) != 0)
		exit(2);
}

static void test_reuse(void)
{
	certpin_tofu *a = open_store("kp-reuse", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_tofu *b = open_store("kp-reuse", CERTPIN_POS_LEAF, CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE);
	certpin_chain_elem c1[3], c2[3];
	certpin_tofu_result r;
	size_t removed = 0;

	chain_of(c1, 3, 0x11);
	chain_of(c2, 3, 0x51);
	certpin__tofu_set_settle_seconds(-5); /* every file counts as settled */

	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_FIRST_USE);
	char *with_c1 = file_text("kp-reuse");
	unsigned long reads = certpin__tofu_check_reads(a);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK(certpin__tofu_check_reads(a) == reads + 1); /* its own write: read again */
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK(certpin__tofu_check_reads(a) == reads + 1); /* unchanged: reused */

	/* another handle (another process, as far as `a` knows) replaces the pin */
	CHECK_INT(certpin_tofu_forget(b, "reuse.example", &removed, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, b, "reuse.example", c2, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.verdict, CERTPIN_TOFU_CHANGED);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c2, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	reads = certpin__tofu_check_reads(a);

	/* rewritten in place to the first pin, same size, modification time set back: the ctime tells */
	CHECK(with_c1 != NULL);
	if (with_c1)
		rewrite_in_place("kp-reuse", with_c1);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_TOFU_MATCH);
	CHECK(certpin__tofu_check_reads(a) == reads + 1);

	/* a file changed within the settling time is read at every check */
	certpin__tofu_set_settle_seconds(3600);
	CHECK_INT(certpin_tofu_forget(b, "reuse.example", &removed, NULL), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, b, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	reads = certpin__tofu_check_reads(a);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK_INT(certpin_tofu_check(&r, a, "reuse.example", c1, 3, NOW), CERTPIN_OK);
	CHECK(certpin__tofu_check_reads(a) == reads + 2);

	certpin__tofu_set_settle_seconds(2);
	free(with_c1);
	certpin_tofu_close(a);
	certpin_tofu_close(b);
}

int main(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "%s/certpin-tofu-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_options();
	test_first_use_match_change();
	test_report_only();
	test_positions_kinds();
	test_on_change();
	test_like_with_like();
	test_manage();
	test_format();
	test_corrupt_file_never_reset();
	test_concurrent_processes();
	test_concurrent_threads();
	test_reuse();
	CHECK_STR(certpin_tofu_verdict_name(CERTPIN_TOFU_CHANGED), "changed");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "tofu_test: could not remove %s\n", dir);
	return test_finish("tofu_test");
}
