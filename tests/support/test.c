#include "test.h"

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
