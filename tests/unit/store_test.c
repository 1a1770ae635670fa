/*
 * store_test: the shared on-disk helpers of src/store.c -- bounded reads,
 * atomic replacement and exclusive locks (within a process and across
 * processes), and that a failed write never touches the destination.
 */
#include "test.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static const char *path_in(const char *name)
{
	static char bufs[4][512];
	static unsigned slot;
	char *b = bufs[slot++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_plain(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");

	if (!f || fputs(s, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
}

static void test_join(void)
{
	char *p = certpin__path_join("/a/b", "c.txt");

	CHECK_STR(p, "/a/b/c.txt");
	free(p);
}

static void test_read(void)
{
	char *buf = NULL;
	size_t len = 99;
	char err[256] = "";

	CHECK_INT(certpin__store_read(&buf, &len, path_in("missing"), 100, err, sizeof(err)), CERTPIN_E_NOT_FOUND);
	CHECK(buf == NULL);
	CHECK_INT(len, 0);

	write_plain(path_in("small"), "hello\n");
	CHECK_INT(certpin__store_read(&buf, &len, path_in("small"), 100, err, sizeof(err)), CERTPIN_OK);
	CHECK_STR(buf, "hello\n");
	CHECK_INT(len, 6);
	free(buf);
	buf = NULL;

	/* exactly at the limit is fine, one byte over is not */
	CHECK_INT(certpin__store_read(&buf, &len, path_in("small"), 6, err, sizeof(err)), CERTPIN_OK);
	free(buf);
	buf = NULL;
	err[0] = '\0';
	CHECK_INT(certpin__store_read(&buf, &len, path_in("small"), 5, err, sizeof(err)), CERTPIN_E_STORE);
	CHECK_CONTAINS(err, "larger than 5 bytes");
	CHECK(buf == NULL);

	/* a directory is not a store file */
	CHECK_INT(certpin__store_read(&buf, &len, dir, 100, err, sizeof(err)), CERTPIN_E_IO);
	CHECK_CONTAINS(err, "not a regular file");
}

static void test_write(void)
{
	const char *p = path_in("state");
	char *buf = NULL;
	size_t len;
	char err[256] = "";
	struct stat st;

	CHECK_INT(certpin__store_write(p, "one\n", 4, 0644, err, sizeof(err)), CERTPIN_OK);
	CHECK_INT(certpin__store_read(&buf, &len, p, 100, NULL, 0), CERTPIN_OK);
	CHECK_STR(buf, "one\n");
	free(buf);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK(access(path_in("state.tmp"), F_OK) != 0);   /* renamed away */

	CHECK_INT(certpin__store_write(p, "second version\n", 15, 0600, err, sizeof(err)), CERTPIN_OK);
	CHECK_INT(certpin__store_read(&buf, &len, p, 100, NULL, 0), CERTPIN_OK);
	CHECK_STR(buf, "second version\n");
	free(buf);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);

	/* empty content is a valid file */
	CHECK_INT(certpin__store_write(p, "", 0, 0644, err, sizeof(err)), CERTPIN_OK);
	CHECK_INT(certpin__store_read(&buf, &len, p, 100, NULL, 0), CERTPIN_OK);
	CHECK_INT(len, 0);
	free(buf);

	/* a directory that does not exist: error, nothing created */
	err[0] = '\0';
	CHECK_INT(certpin__store_write(path_in("nodir/state"), "x", 1, 0644, err, sizeof(err)), CERTPIN_E_IO);
	CHECK_CONTAINS(err, "cannot create");
	CHECK(access(path_in("nodir"), F_OK) != 0);
}

/* The fixed temporary name must never follow a planted symlink. */
static void test_write_symlink_tmp(void)
{
	const char *p = path_in("guarded"), *victim = path_in("victim");
	char *buf = NULL;
	size_t len;
	char err[256] = "";

	write_plain(victim, "precious\n");
	CHECK_INT(certpin__store_write(p, "old\n", 4, 0644, err, sizeof(err)), CERTPIN_OK);
	CHECK(symlink(victim, path_in("guarded.tmp")) == 0);
	CHECK_INT(certpin__store_write(p, "new\n", 4, 0644, err, sizeof(err)), CERTPIN_E_IO);
	CHECK_INT(certpin__store_read(&buf, &len, victim, 100, NULL, 0), CERTPIN_OK);
	CHECK_STR(buf, "precious\n");
	free(buf);
	CHECK_INT(certpin__store_read(&buf, &len, p, 100, NULL, 0), CERTPIN_OK);
	CHECK_STR(buf, "old\n");
	free(buf);
	unlink(path_in("guarded.tmp"));
}

/* rename() onto a directory fails: the destination stays, the temp file goes. */
static void test_write_rename_fails(void)
{
	const char *p = path_in("adir");
	char err[256] = "";

	CHECK(mkdir(p, 0755) == 0);
	CHECK_INT(certpin__store_write(p, "data", 4, 0644, err, sizeof(err)), CERTPIN_E_IO);
	CHECK_CONTAINS(err, "cannot rename");
	CHECK(access(path_in("adir.tmp"), F_OK) != 0);
	struct stat st;
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	rmdir(p);
}

static void test_lock_in_process(void)
{
	certpin__lock a = CERTPIN__LOCK_INIT, b = CERTPIN__LOCK_INIT;
	char err[256] = "";
	long long t0;

	CHECK_INT(certpin__store_lock(&a, path_in("l1.lock"), 1000, err, sizeof(err)), CERTPIN_OK);
	CHECK(a.fd >= 0);
	/* a second open of the same lock file conflicts even within this process */
	t0 = mono_ms();
	CHECK_INT(certpin__store_lock(&b, path_in("l1.lock"), 150, err, sizeof(err)), CERTPIN_E_LOCKED);
	long long waited = mono_ms() - t0;
	CHECK(waited >= 140 && waited < 3000);
	CHECK_CONTAINS(err, "still locked");
	CHECK_INT(b.fd, -1);
	certpin__store_unlock(&a);
	CHECK_INT(a.fd, -1);
	certpin__store_unlock(&a);      /* idempotent */
	CHECK_INT(certpin__store_lock(&b, path_in("l1.lock"), 150, err, sizeof(err)), CERTPIN_OK);
	certpin__store_unlock(&b);
	certpin__store_unlock(NULL);

	/* a lock file in a missing directory is an I/O error, not a timeout */
	CHECK_INT(certpin__store_lock(&a, path_in("nodir/x.lock"), 100, err, sizeof(err)), CERTPIN_E_IO);
}

static void test_lock_across_processes(void)
{
	certpin__lock l = CERTPIN__LOCK_INIT;
	int ready[2];
	char c;
	pid_t pid;
	int status;

	if (pipe(ready) != 0) {
		CHECK(0);
		return;
	}
	pid = fork();
	if (pid == 0) {
		certpin__lock cl = CERTPIN__LOCK_INIT;
		close(ready[0]);
		if (certpin__store_lock(&cl, path_in("l2.lock"), 1000, NULL, 0) != CERTPIN_OK)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		struct timespec ts = { 0, 400 * 1000000L };
		nanosleep(&ts, NULL);
		certpin__store_unlock(&cl);
		_exit(0);
	}
	close(ready[1]);
	CHECK(pid > 0 && read(ready[0], &c, 1) == 1);
	close(ready[0]);
	/* the child holds it: a short wait fails, a long one succeeds once it lets go */
	CHECK_INT(certpin__store_lock(&l, path_in("l2.lock"), 50, NULL, 0), CERTPIN_E_LOCKED);
	long long t0 = mono_ms();
	CHECK_INT(certpin__store_lock(&l, path_in("l2.lock"), 5000, NULL, 0), CERTPIN_OK);
	CHECK(mono_ms() - t0 < 4000);
	certpin__store_unlock(&l);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* a holder killed with SIGKILL releases its lock */
	if (pipe(ready) != 0) {
		CHECK(0);
		return;
	}
	pid = fork();
	if (pid == 0) {
		certpin__lock cl = CERTPIN__LOCK_INIT;
		close(ready[0]);
		if (certpin__store_lock(&cl, path_in("l3.lock"), 1000, NULL, 0) != CERTPIN_OK)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (int i = 0; i < 100; i++) {
			struct timespec ts = { 0, 100 * 1000000L };
			nanosleep(&ts, NULL);
		}
		_exit(0);
	}
	close(ready[1]);
	CHECK(pid > 0 && read(ready[0], &c, 1) == 1);
	close(ready[0]);
	CHECK_INT(certpin__store_lock(&l, path_in("l3.lock"), 50, NULL, 0), CERTPIN_E_LOCKED);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	CHECK_INT(certpin__store_lock(&l, path_in("l3.lock"), 1000, NULL, 0), CERTPIN_OK);
	certpin__store_unlock(&l);
}

int main(void)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "%s/certpin-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_join();
	test_read();
	test_write();
	test_write_symlink_tmp();
	test_write_rename_fails();
	test_lock_in_process();
	test_lock_across_processes();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "store_test: could not remove %s\n", dir);
	return test_finish("store_test");
}
