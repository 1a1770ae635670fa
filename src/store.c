/*
 * On-disk state shared by the bundle store and the TOFU store: bounded
 * whole-file reads, atomic replacement (temporary file, fsync, rename, fsync
 * of the directory) and exclusive advisory locks with a bounded wait.
 */
#define _GNU_SOURCE 1   /* F_OFD_SETLK */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

char *certpin__path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + 1 + nl + 1);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

static int try_lock(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
#ifdef F_OFD_SETLK
	return fcntl(fd, F_OFD_SETLK, &fl);
#else
	return fcntl(fd, F_SETLK, &fl);
#endif
}

int certpin__store_lock(certpin__lock *out, const char *lock_path, unsigned int timeout_ms,
	char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned int backoff = 1;
	int fd;

	out->fd = -1;
	do
		fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot open lock file: %s", lock_path, strerror(errno));
		return CERTPIN_E_IO;
	}
	for (;;) {
		if (try_lock(fd) == 0) {
			out->fd = fd;
			return CERTPIN_OK;
		}
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			set_err(err, errlen, "%s: cannot lock: %s", lock_path, strerror(errno));
			close(fd);
			return CERTPIN_E_IO;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		sleep_ms(backoff < left ? backoff : (unsigned int)left);
		if (backoff < 50)
			backoff *= 2;
	}
	close(fd);
	set_err(err, errlen, "%s: still locked by another writer after %u ms", lock_path, timeout_ms);
	return CERTPIN_E_LOCKED;
}

void certpin__store_unlock(certpin__lock *lock)
{
	if (lock && lock->fd >= 0) {
		close(lock->fd);        /* releases the lock */
		lock->fd = -1;
	}
}

int certpin__store_read(char **out, size_t *len, const char *path, size_t max, char *err, size_t errlen)
{
	struct stat st;

	return certpin__store_read_st(out, len, &st, path, max, err, errlen);
}

int certpin__store_read_st(char **out, size_t *len, struct stat *stp, const char *path, size_t max, char *err,
	size_t errlen)
{
	char *buf = NULL;
	size_t cap, used = 0;
	struct stat st;
	int fd, rc;

	*out = NULL;
	*len = 0;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		if (errno == ENOENT)
			return CERTPIN_E_NOT_FOUND;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return CERTPIN_E_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		rc = CERTPIN_E_IO;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		set_err(err, errlen, "%s: larger than %zu bytes", path, max);
		rc = CERTPIN_E_STORE;
		goto out;
	}
	/* one byte more than the size, to see growth and place the NUL */
	cap = (size_t)st.st_size + 1;
	if (!(buf = malloc(cap + 1))) {
		rc = CERTPIN_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			rc = CERTPIN_E_IO;
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used == cap) {
			/* the file grew while we read it: it is being written in place */
			set_err(err, errlen, "%s: changed while being read", path);
			rc = CERTPIN_E_IO;
			goto out;
		}
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	*stp = st;
	buf = NULL;
	rc = CERTPIN_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding `path`, so that the rename itself is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc;

	if (!slash) {
		dir = strdup(".");
	} else if (slash == path) {
		dir = strdup("/");
	} else {
		dir = malloc((size_t)(slash - path) + 1);
		if (dir) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
		}
	}
	if (!dir)
		return -1;
	fd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	/* some file systems cannot sync directories; that is not a failure of ours */
	if (rc != 0 && (errno == EINVAL || errno == ENOTSUP))
		rc = 0;
	close(fd);
	return rc;
}

int certpin__store_write(const char *path, const void *data, size_t len, unsigned int mode,
	char *err, size_t errlen)
{
	char *tmp = NULL;
	int fd = -1, rc = CERTPIN_E_IO;
	size_t pl = strlen(path);

	if (!(tmp = malloc(pl + 5)))
		return CERTPIN_E_NOMEM;
	memcpy(tmp, path, pl);
	memcpy(tmp + pl, ".tmp", 5);
	do
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0) {
		set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fsync(fd) != 0) {
		set_err(err, errlen, "%s: fsync failed: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		set_err(err, errlen, "%s: close failed: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
		goto fail;
	}
	if (sync_dir(path) != 0) {
		set_err(err, errlen, "%s: stored, but syncing its directory failed: %s", path, strerror(errno));
		goto out;
	}
	rc = CERTPIN_OK;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}
