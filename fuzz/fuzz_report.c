/*
 * fuzz_report: certpin_report_parse(), the collector's parser of untrusted
 * failure reports.
 *
 * Properties:
 *   - the result is CERTPIN_OK or CERTPIN_E_REPORT (CERTPIN_E_NOMEM allowed);
 *   - on error the output is all zero and the message is non-empty and
 *     NUL-terminated within its buffer, also with a tiny message buffer;
 *   - on success: the hostnames are non-empty and already normalized (they
 *     normalize to themselves), the port is 1..65535, the verdict is a known
 *     kind, at least one chain is present, no count exceeds its maximum,
 *     every chain element carries both digests, and the dedup key is the same
 *     when the same text is parsed again (the parser is deterministic);
 *   - trailing JSON whitespace changes nothing.
 */
#include "fuzz_common.h"
#include "certpin/report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return 0;
}

static void check_chain(const certpin_chain_elem *c, size_t n)
{
	FUZZ_CHECK(n <= CERTPIN_REPORT_CHAIN_MAX, "chain of %zu", n);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(c[i].flags == (CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT), "element %zu flags %u", i, c[i].flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static certpin_report_info a, b;
	static const certpin_report_info zero;
	char norm[CERTPIN_HOSTNAME_MAX];
	certpin_error err;
	const char *text = (const char *)data;

	memset(&err, 'x', sizeof(err));
	int rc = certpin_report_parse(&a, text, size, &err);
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_REPORT || rc == CERTPIN_E_NOMEM, "rc %d", rc);
	FUZZ_CHECK(err.code == rc, "err.code %d, returned %d", err.code, rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(memcmp(&a, &zero, sizeof(a)) == 0, "output not cleared on error");
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL, "message not terminated");
		FUZZ_CHECK(memchr(err.path, '\0', sizeof(err.path)) != NULL, "path not terminated");
		FUZZ_CHECK(err.path[0] == '\0' || err.path[0] == '/', "path %s is not a JSON pointer", err.path);
		FUZZ_CHECK(rc == CERTPIN_E_NOMEM || err.message[0] != '\0', "empty message");
		int rc2 = certpin_report_parse(&b, text, size, NULL);
		FUZZ_CHECK(rc2 == rc || rc2 == CERTPIN_E_NOMEM || rc == CERTPIN_E_NOMEM, "rc %d, then %d", rc, rc2);
		return 0;
	}
	FUZZ_CHECK(err.message[0] == '\0' && err.path[0] == '\0', "message on success: %s", err.message);
	FUZZ_CHECK(a.hostname[0] && a.noted_hostname[0], "empty hostname");
	FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), a.hostname) == CERTPIN_OK &&
			strcmp(norm, a.hostname) == 0, "hostname %s not normalized", a.hostname);
	FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), a.noted_hostname) == CERTPIN_OK &&
			strcmp(norm, a.noted_hostname) == 0, "noted hostname %s not normalized", a.noted_hostname);
	FUZZ_CHECK(a.port >= 1 && a.port <= 65535, "port %u", a.port);
	FUZZ_CHECK(a.kind == CERTPIN_REPORT_MISMATCH || a.kind == CERTPIN_REPORT_PINSET_EXPIRED ||
			a.kind == CERTPIN_REPORT_PKIX, "kind %d", (int)a.kind);
	FUZZ_CHECK(a.enforce == 0 || a.enforce == 1, "enforce %d", a.enforce);
	FUZZ_CHECK(a.allowed >= -1 && a.allowed <= 1, "allowed %d", a.allowed);
	FUZZ_CHECK(a.nknown <= CERTPIN_REPORT_PINS_MAX, "%zu known pins", a.nknown);
	FUZZ_CHECK(a.nserved + a.nvalidated >= 1, "no chain");
	check_chain(a.served, a.nserved);
	check_chain(a.validated, a.nvalidated);
	FUZZ_CHECK(!a.served_pem || a.nserved > 0, "served_pem without certificates");

	FUZZ_CHECK(certpin_report_parse(&b, text, size, NULL) == CERTPIN_OK, "second parse failed");
	FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "second parse differs");

	/* trailing JSON whitespace changes nothing */
	uint8_t *copy = malloc(size + 2);
	FUZZ_CHECK(copy != NULL, "malloc");
	memcpy(copy, data, size);
	copy[size] = ' ';
	copy[size + 1] = '\n';
	if (size + 2 <= CERTPIN_REPORT_MAX_LEN) {
		FUZZ_CHECK(certpin_report_parse(&b, (const char *)copy, size + 2, NULL) == CERTPIN_OK,
			"trailing whitespace refused");
		FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0, "trailing whitespace changed the report");
	}
	free(copy);
	return 0;
}
