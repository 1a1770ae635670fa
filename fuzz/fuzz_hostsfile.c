/*
 * fuzz_hostsfile: the HOSTS-FILE parser of "certpin monitor"
 * (cli/hostsfile.c, hostsfile_parse()) on arbitrary bytes.
 *
 * Properties:
 *   - the result is 0 (entries), -1 (reason "line N: ..." or a whole-file
 *     reason, never empty) or -2 (out of memory); on -1 nothing is returned;
 *   - every entry is normalized: host and server name are fixed points of
 *     certpin_hostname_normalize(), the port is canonical decimal 1..65535,
 *     line numbers increase strictly and stay within the input's line count;
 *   - printing the entries back as "ENDPOINT SERVERNAME" lines and parsing
 *     that gives the same entries (numbered 1..n), and parsing is
 *     deterministic.
 */
#include "fuzz_common.h"

#include "hostsfile.h"

static void check_entry(const hf_entry *e, unsigned int prev_line, unsigned int max_line)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	size_t pl = strlen(e->port);

	FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), e->host) == CERTPIN_OK && strcmp(norm, e->host) == 0,
		"host '%s' is not normalized", e->host);
	FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), e->servername) == CERTPIN_OK &&
			strcmp(norm, e->servername) == 0, "server name '%s' is not normalized", e->servername);
	FUZZ_CHECK(pl >= 1 && pl <= 5 && strspn(e->port, "0123456789") == pl && e->port[0] != '0',
		"port '%s' not canonical", e->port);
	long v = strtol(e->port, NULL, 10);
	FUZZ_CHECK(v >= 1 && v <= 65535, "port %ld out of range", v);
	FUZZ_CHECK(e->line > prev_line && e->line <= max_line, "line %u after %u (input has %u lines)", e->line,
		prev_line, max_line);
	FUZZ_CHECK(e->host_is_ip == 0 || e->host_is_ip == 1, "host_is_ip %d", e->host_is_ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hf_entry *a = NULL, *b = NULL, *c = NULL;
	size_t na = 0, nb = 0, nc = 0;
	char err[300] = "", err2[300] = "";
	unsigned int lines = 1;
	int rc;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	rc = hostsfile_parse(&a, &na, (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2, "returned %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(a == NULL && na == 0, "error %d but %zu entries returned", rc, na);
		FUZZ_CHECK(rc == -2 || (err[0] != '\0' && strlen(err) < sizeof(err)), "error without a reason");
		/* deterministic */
		int rc2 = hostsfile_parse(&b, &nb, (const char *)data, size, err2, sizeof(err2));
		FUZZ_CHECK(rc2 == rc && (rc == -2 || strcmp(err, err2) == 0), "second parse: %d '%s' vs %d '%s'", rc2,
			err2, rc, err);
		free(b);
		return 0;
	}
	FUZZ_CHECK(na >= 1 && na <= HF_MAX_ENTRIES, "%zu entries", na);

	/* Print back and reparse. */
	size_t cap = na * (2 * CERTPIN_HOSTNAME_MAX + 16) + 1, len = 0;
	char *text = malloc(cap);
	if (!text)
		abort();
	unsigned int prev = 0;
	for (size_t i = 0; i < na; i++) {
		char ep[300];

		check_entry(&a[i], prev, lines);
		prev = a[i].line;
		hostsfile_endpoint(ep, sizeof(ep), &a[i]);
		len += (size_t)snprintf(text + len, cap - len, "%s %s\n", ep, a[i].servername);
	}
	rc = hostsfile_parse(&b, &nb, text, len, err, sizeof(err));
	FUZZ_CHECK(rc == 0 && nb == na, "reparse of the printed entries: %d (%s), %zu vs %zu entries\n%s", rc, err, nb,
		na, text);
	for (size_t i = 0; i < na; i++) {
		FUZZ_CHECK(strcmp(a[i].host, b[i].host) == 0 && strcmp(a[i].port, b[i].port) == 0 &&
				strcmp(a[i].servername, b[i].servername) == 0 && a[i].host_is_ip == b[i].host_is_ip &&
				a[i].servername_is_ip == b[i].servername_is_ip && b[i].line == i + 1,
			"entry %zu differs after reparse: %s:%s %s vs %s:%s %s", i, a[i].host, a[i].port, a[i].servername,
			b[i].host, b[i].port, b[i].servername);
	}
	rc = hostsfile_parse(&c, &nc, (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(rc == 0 && nc == na && memcmp(a, c, na * sizeof(*a)) == 0, "parse is not deterministic");
	free(text);
	free(a);
	free(b);
	free(c);
	return 0;
}
