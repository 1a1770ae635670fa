/*
 * fuzz_idem_key: collect_idem_key(), the collector's reader of the
 * Idempotency-Key header (cli/collector/collect_origin.c), whose value comes
 * from any client.
 *
 * Properties (the input up to its first NUL is the header's value):
 *   - the result is -1, 0 or 1, and 0 only for no header;
 *   - on -1 the output is empty; on 1 it is 1..CDB_IDEM_KEY_MAX visible
 *     ASCII characters without '"' or '\', and it is the input less its
 *     trailing spaces and tabs and one pair of surrounding quotes;
 *   - the key read again, bare or quoted, is the same key.
 */
#include "fuzz_common.h"
#include "collect.h"
#include "collect_db.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void check_key(const char *key, const char *in)
{
	size_t n = strlen(key), m = strlen(in);
	char again[CDB_IDEM_KEY_MAX + 1], quoted[CDB_IDEM_KEY_MAX + 3];

	FUZZ_CHECK(n >= 1 && n <= CDB_IDEM_KEY_MAX, "key of %zu characters", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(key[i] >= 0x21 && key[i] <= 0x7e && key[i] != '"' && key[i] != '\\', "character %02x",
			(unsigned char)key[i]);
	while (m && (in[m - 1] == ' ' || in[m - 1] == '\t'))
		m--;
	if (m >= 2 && in[0] == '"' && in[m - 1] == '"')
		FUZZ_CHECK(m - 2 == n && memcmp(in + 1, key, n) == 0, "quoted key changed");
	else
		FUZZ_CHECK(m == n && memcmp(in, key, n) == 0, "bare key changed");
	FUZZ_CHECK(collect_idem_key(again, key) == 1 && strcmp(again, key) == 0, "bare key read differently");
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	FUZZ_CHECK(collect_idem_key(again, quoted) == 1 && strcmp(again, key) == 0, "quoted key read differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), key[CDB_IDEM_KEY_MAX + 1];

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	int rc = collect_idem_key(key, in);
	FUZZ_CHECK(rc == -1 || rc == 1, "result %d for a header", rc);
	if (rc == 1)
		check_key(key, in);
	else
		FUZZ_CHECK(key[0] == '\0', "output on error");
	FUZZ_CHECK(collect_idem_key(key, NULL) == 0 && key[0] == '\0', "no header");
	free(in);
	return 0;
}
