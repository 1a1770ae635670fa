#include "test.h"

#include <dirent.h>
#include <unistd.h>

int test_passed;
int test_failed;

int test_finish(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : (test_passed ? 0 : 1);
}

static const char *join(const char *var, const char *file)
{
	static char bufs[8][4096];
	static unsigned slot;
	const char *dir = getenv(var);
	char *b = bufs[slot++ % 8];
	if (!dir) {
		fprintf(stderr, "test: %s is not set\n", var);
		exit(2);
	}
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, file);
	return b;
}

const char *test_pki(const char *file) { return join("CERTPIN_TEST_PKI", file); }
const char *test_data(const char *file) { return join("CERTPIN_TEST_DATA", file); }

char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	if (!f) {
		fprintf(stderr, "test: cannot open %s\n", path);
		exit(2);
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				exit(2);
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static char tmpdir[4096];

static void tmpdir_remove(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[8192];

	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

const char *test_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/certpin-test-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("test_tmpdir: mkdtemp");
		exit(2);
	}
	atexit(tmpdir_remove);
	return tmpdir;
}

const char *test_pin(const char *name)
{
	static char pins[32][2][128];   /* name, pin text */
	static size_t n;
	size_t nl = strlen(name);

	if (n == 0) {
		char *txt = test_read_file(test_pki("pins.txt"), NULL);
		for (char *line = strtok(txt, "\n"); line && n < 32; line = strtok(NULL, "\n")) {
			char *sp = strchr(line, ' ');
			if (!sp || (size_t)(sp - line) >= sizeof(pins[0][0]))
				continue;
			*sp = '\0';
			snprintf(pins[n][0], sizeof(pins[n][0]), "%s", line);
			snprintf(pins[n][1], sizeof(pins[n][1]), "%s", sp + 1);
			n++;
		}
		free(txt);
	}
	for (size_t i = 0; i < n; i++)
		if (strlen(pins[i][0]) == nl && memcmp(pins[i][0], name, nl) == 0)
			return pins[i][1];
	fprintf(stderr, "test: no pin \"%s\" in %s\n", name, test_pki("pins.txt"));
	exit(2);
}
