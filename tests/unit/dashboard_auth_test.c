/*
 * dashboard_auth_test - the read token of certpin collect --dashboard
 * (cli/collector/dashboard_auth.c, compiled into this test):
 *
 *   1. the token text: one line of 16 to 256 characters from A-Z a-z 0-9
 *      - . _ ~, a final LF or CR LF ignored; empty, short, long, blanks,
 *      other characters and a second line refused with the reason;
 *   2. the token file: a regular file others may neither read nor write;
 *      world-readable, world-writable, empty, missing, a directory, too long
 *      refused with the reason (mode in octal); a symlink to a good file
 *      accepted;
 *   3. comparison: the token and only the token, the cookie value and only
 *      it (derived, not the token, the same for the same token, another for
 *      another); NULL and "" never match;
 *   4. the Authorization header: "Bearer" in any case, blanks skipped,
 *      other schemes ignored.
 */
#include "dashboard_auth.h"
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

static const char hex64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static int set(dash_token *t, const char *text, char *err, size_t cap)
{
	err[0] = '\0';
	return dash_token_set(t, text, strlen(text), err, cap);
}

static void test_text(void)
{
	dash_token t, u;
	char err[256], long_ok[DASH_TOKEN_MAX + 1], too_long[DASH_TOKEN_MAX + 2];

	CHECK_INT(set(&t, hex64, err, sizeof(err)), 0);
	CHECK_INT(set(&u, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", err, sizeof(err)), 0);
	CHECK(memcmp(t.token_sha, u.token_sha, 32) == 0);
	CHECK_INT(set(&u, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", err, sizeof(err)), 0);
	CHECK(memcmp(t.token_sha, u.token_sha, 32) == 0);
	CHECK_INT(set(&t, "A-Za-z0._~9zzzzz", err, sizeof(err)), 0);

	CHECK_INT(set(&t, "", err, sizeof(err)), -1);
	CHECK_STR(err, "is empty");
	CHECK_INT(set(&t, "\n", err, sizeof(err)), -1);
	CHECK_STR(err, "is empty");
	CHECK_INT(set(&t, "0123456789abcde", err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "holds a token of 15 characters; it must have 16 to 256");
	memset(long_ok, 'a', DASH_TOKEN_MAX);
	long_ok[DASH_TOKEN_MAX] = '\0';
	CHECK_INT(set(&t, long_ok, err, sizeof(err)), 0);
	memset(too_long, 'a', DASH_TOKEN_MAX + 1);
	too_long[DASH_TOKEN_MAX + 1] = '\0';
	CHECK_INT(set(&t, too_long, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "257 characters");

	static const char *const bad[] = { "0123456789abcdef 0123", " 0123456789abcdef", "0123456789abcdef\n\n",
		"0123456789abcdef\nsecond-line-here", "0123456789abcdef+/==", "0123456789abcdef\t", "token\"with;quote",
		"0123456789abcdef\r", "caf\xc3\xa9-0123456789abcdef" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(set(&t, bad[i], err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "has a character other than A-Z a-z 0-9 - . _ ~");
	}
	/* embedded NUL */
	CHECK_INT(dash_token_set(&t, "0123456789abcdef\0zz", 19, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "at byte 17");
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[4][4096];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *f;

	snprintf(p, 4096, "%s/%s", test_tmpdir(), name);
	unlink(p);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	CHECK_INT(chmod(p, mode), 0);
	return p;
}

static void test_file(void)
{
	dash_token t, u;
	char err[256], big[400], path[4200];

	CHECK_INT(dash_token_load(&t, write_file("ok", hex64, 0600), err, sizeof(err)), 0);
	CHECK_INT(set(&u, hex64, err, sizeof(err)), 0);
	CHECK(memcmp(t.token_sha, u.token_sha, 32) == 0 && strcmp(t.cookie, u.cookie) == 0);
	CHECK_INT(dash_token_load(&t, write_file("group", "0123456789abcdef\n", 0640), err, sizeof(err)), 0);
	CHECK_INT(dash_token_load(&t, write_file("owner-ro", "0123456789abcdef\n", 0400), err, sizeof(err)), 0);

	CHECK_INT(dash_token_load(&t, write_file("world-readable", hex64, 0644), err, sizeof(err)), -1);
	CHECK_STR(err, "may be read by any user (mode 0644); chmod o-rwx it (e.g. chmod 600)");
	CHECK_INT(dash_token_load(&t, write_file("world-writable", hex64, 0602), err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "may be written by any user (mode 0602)");
	CHECK_INT(dash_token_load(&t, write_file("empty", "", 0600), err, sizeof(err)), -1);
	CHECK_STR(err, "is empty");
	CHECK_INT(dash_token_load(&t, write_file("newline", "\n", 0600), err, sizeof(err)), -1);
	CHECK_STR(err, "is empty");
	CHECK_INT(dash_token_load(&t, write_file("short", "secret\n", 0600), err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "holds a token of 6 characters");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(dash_token_load(&t, write_file("big", big, 0600), err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "is longer than a token of 256 characters");
	/* the token is not left in a refused handle */
	CHECK(memcmp(t.token_sha, (unsigned char[32]){ 0 }, 32) == 0);

	snprintf(path, sizeof(path), "%s/missing", test_tmpdir());
	CHECK_INT(dash_token_load(&t, path, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "cannot be opened: No such file or directory");
	CHECK_INT(dash_token_load(&t, test_tmpdir(), err, sizeof(err)), -1);
	CHECK_STR(err, "is not a regular file");

	/* a symlink (as a secret mounted by an orchestrator) to a good file: the file's mode counts */
	snprintf(path, sizeof(path), "%s/link", test_tmpdir());
	unlink(path);
	CHECK_INT(symlink(write_file("target", hex64, 0600), path), 0);
	CHECK_INT(dash_token_load(&t, path, err, sizeof(err)), 0);
	unlink(path);
}

static void test_compare(void)
{
	dash_token t, u;
	char err[256], wrong[sizeof(hex64)];

	CHECK_INT(set(&t, hex64, err, sizeof(err)), 0);
	CHECK_INT(dash_token_check(&t, hex64), 1);
	memcpy(wrong, hex64, sizeof(hex64));
	wrong[63] = 'e';
	CHECK_INT(dash_token_check(&t, wrong), 0);
	wrong[63] = 'f';
	wrong[0] = '1';
	CHECK_INT(dash_token_check(&t, wrong), 0);
	CHECK_INT(dash_token_check(&t, "0123456789abcdef"), 0);
	CHECK_INT(dash_token_check(&t, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"), 0);
	CHECK_INT(dash_token_check(&t, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"), 0);
	CHECK_INT(dash_token_check(&t, ""), 0);
	CHECK_INT(dash_token_check(&t, NULL), 0);

	/* the cookie: 64 hex digits derived from the token, accepted as a cookie only */
	CHECK_INT(strlen(t.cookie), 64);
	CHECK(strspn(t.cookie, "0123456789abcdef") == 64);
	CHECK(strstr(t.cookie, hex64) == NULL && strcmp(t.cookie, hex64) != 0);
	CHECK_INT(dash_cookie_check(&t, t.cookie), 1);
	CHECK_INT(dash_token_check(&t, t.cookie), 0);
	CHECK_INT(dash_cookie_check(&t, hex64), 0);
	CHECK_INT(dash_cookie_check(&t, NULL), 0);
	CHECK_INT(dash_cookie_check(&t, ""), 0);
	CHECK_INT(set(&u, hex64, err, sizeof(err)), 0);
	CHECK_STR(u.cookie, t.cookie);
	CHECK_INT(set(&u, "another-token-0123456789", err, sizeof(err)), 0);
	CHECK(strcmp(u.cookie, t.cookie) != 0);
	CHECK_INT(dash_cookie_check(&u, t.cookie), 0);
}

static void test_bearer(void)
{
	CHECK_STR(dash_bearer("Bearer abc"), "abc");
	CHECK_STR(dash_bearer("bearer \t abc"), "abc");
	CHECK_STR(dash_bearer("BEARER abc def"), "abc def");
	CHECK(dash_bearer("Basic YWJjOmRlZg==") == NULL);
	CHECK(dash_bearer("Bearerabc") == NULL);
	CHECK(dash_bearer("Bear abc") == NULL);
	CHECK(dash_bearer("") == NULL);
	CHECK(dash_bearer(NULL) == NULL);
	CHECK_STR(dash_bearer("Bearer "), "");
}

int main(void)
{
	test_text();
	test_file();
	test_compare();
	test_bearer();
	return test_finish("dashboard_auth_test");
}
