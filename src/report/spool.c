/*
 * The reporter's spool directory: one file per report that could not be
 * delivered, written atomically (temporary file, fsync, rename) and read
 * back for a later attempt.  Bounded in files and in bytes per file.
 * A file's name ends in the report's idempotency key ("r-...-k<KEY>.json"),
 * so that its delivery after a restart is known to the collector as the
 * same report; files spooled before keys existed have none.
 */
#include "report_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_FILE_MAX (CERTPIN_REPORT_MAX_LEN)
#define SPOOL_PREFIX "r-"
#define SPOOL_SUFFIX ".json"
#define SPOOL_KEY_MARK "-k"

static int is_spool_name(const char *name)
{
	size_t n = strlen(name), pl = strlen(SPOOL_PREFIX), sl = strlen(SPOOL_SUFFIX);
	return n > pl + sl && strncmp(name, SPOOL_PREFIX, pl) == 0 && strcmp(name + n - sl, SPOOL_SUFFIX) == 0;
}

static size_t spool_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (is_spool_name(de->d_name))
			n++;
	closedir(d);
	return n;
}

int certpin_report__spool_write(const char *dir, size_t max, const char *json, size_t len,
	const unsigned char key[CERTPIN_DIGEST_LEN], const char *idem, unsigned long seq)
{
	char tmp[4096], dst[4096];
	int fd, ok = 0;
	size_t off = 0;

	if (spool_count(dir) >= max)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%lu", dir, (long)getpid(), seq);
	snprintf(dst, sizeof(dst), "%s/" SPOOL_PREFIX "%lld-%ld-%lu-%02x%02x%02x%02x%s%s" SPOOL_SUFFIX, dir,
		(long long)time(NULL), (long)getpid(), seq, key[0], key[1], key[2], key[3], idem[0] ? SPOOL_KEY_MARK : "",
		idem);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, json + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	ok = 1;
out:
	close(fd);
	if (!ok || rename(tmp, dst) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static char *read_small_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 || sb.st_size > (off_t)SPOOL_FILE_MAX)
		goto err;
	if (!(buf = malloc((size_t)sb.st_size + 1)))
		goto err;
	while (off < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto err;
		off += (size_t)n;
	}
	buf[off] = '\0';
	*len = off;
	close(fd);
	return buf;
err:
	free(buf);
	close(fd);
	return NULL;
}

/* The idempotency key at the end of spool file `name` into `idem`, else "". */
static void spool_key(char idem[CERTPIN_REPORT__IDEM_LEN + 1], const char *name)
{
	size_t n = strlen(name) - strlen(SPOOL_SUFFIX), kl = CERTPIN_REPORT__IDEM_LEN, ml = strlen(SPOOL_KEY_MARK);
	const char *k;

	idem[0] = '\0';
	if (n < strlen(SPOOL_PREFIX) + ml + kl)
		return;
	k = name + n - kl;
	if (strncmp(k - ml, SPOOL_KEY_MARK, ml) != 0)
		return;
	for (size_t i = 0; i < kl; i++) {
		int hex = (k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f');
		if (i == 12 || i == 45 ? k[i] != '-' : !hex)
			return;
	}
	memcpy(idem, k, kl);
	idem[kl] = '\0';
}

size_t certpin_report__spool_read(const char *dir, size_t room,
	bool (*take)(void *ctx, char *json, size_t len, const char *path, const char *idem), void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < room && (de = readdir(d))) {
		char path[4096], idem[CERTPIN_REPORT__IDEM_LEN + 1], *json;
		size_t len;
		if (!is_spool_name(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (!(json = read_small_file(path, &len))) {
			unlink(path); /* unreadable, empty or oversized: it can never be sent */
			continue;
		}
		spool_key(idem, de->d_name);
		if (!take(ctx, json, len, path, idem))
			break;
		n++;
	}
	closedir(d);
	return n;
}
