/*
 * fuzz_tofu: the known_pins file parser of the TOFU store (src/tofu.c,
 * certpin__tofu_parse and certpin__tofu_format, declared in src/store.h).
 *
 * Properties:
 *   - parse returns CERTPIN_OK or CERTPIN_E_STORE (or out of memory); on
 *     error the database is empty and the detail names a line or the file;
 *   - on success every entry is well formed: a host that normalizes to
 *     itself, a position among leaf/intermediate/root, a pin of a known kind,
 *     at most CERTPIN_TOFU_MAX_PINS per host, no duplicate;
 *   - the canonical serialization parses back to the same entries and
 *     serializes to the same bytes; an input without comments or empty lines
 *     is already canonical (it serializes to itself).
 */
#include "fuzz_common.h"
#include "store.h"

static int same_entry(const certpin_tofu_entry *a, const certpin_tofu_entry *b)
{
	return strcmp(a->host, b->host) == 0 && a->position == b->position && certpin_pin_equal(&a->pin, &b->pin) &&
		a->first_seen == b->first_seen;
}

/* 1 if the input has a comment or an empty line after the header. */
static int has_comments(const uint8_t *data, size_t size)
{
	size_t hl = strlen(CERTPIN_TOFU_HEADER) + 1;

	for (size_t i = hl; i < size; i++) {
		if (i == hl || data[i - 1] == '\n') {
			if (data[i] == '#' || data[i] == '\n')
				return 1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin__tofu_db db, db2;
	char err[256] = "", *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	rc = certpin__tofu_parse(&db, (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_STORE || rc == CERTPIN_E_NOMEM, "parse returned %d", rc);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(db.n == 0 && db.e == NULL, "failed parse left %zu entries", db.n);
		FUZZ_CHECK(rc != CERTPIN_E_STORE || err[0] != '\0', "failed parse without a detail");
		return 0;
	}
	for (size_t i = 0; i < db.n; i++) {
		const certpin_tofu_entry *e = &db.e[i];
		char norm[CERTPIN_HOSTNAME_MAX];
		size_t same_host = 0;

		FUZZ_CHECK(certpin_hostname_normalize(norm, sizeof(norm), e->host) == CERTPIN_OK &&
			strcmp(norm, e->host) == 0, "entry %zu: host \"%s\" not normalized", i, e->host);
		FUZZ_CHECK(e->position == CERTPIN_POS_LEAF || e->position == CERTPIN_POS_INTERMEDIATE ||
			e->position == CERTPIN_POS_ROOT, "entry %zu: position %d", i, e->position);
		FUZZ_CHECK(e->pin.kind == CERTPIN_PIN_SPKI_SHA256 || e->pin.kind == CERTPIN_PIN_CERT_SHA256,
			"entry %zu: pin kind %d", i, e->pin.kind);
		for (size_t j = 0; j < db.n && db.n <= 4096; j++) {
			if (strcmp(db.e[j].host, e->host) != 0)
				continue;
			same_host++;
			FUZZ_CHECK(j == i || e->position != db.e[j].position || !certpin_pin_equal(&e->pin, &db.e[j].pin),
				"entries %zu and %zu are duplicates", i, j);
		}
		FUZZ_CHECK(db.n > 4096 || same_host <= CERTPIN_TOFU_MAX_PINS, "%zu pins for %s", same_host, e->host);
	}

	rc = certpin__tofu_format(&text, &len, &db);
	FUZZ_CHECK(rc == CERTPIN_OK || rc == CERTPIN_E_NOMEM, "format returned %d", rc);
	if (rc != CERTPIN_OK)
		goto out;
	rc = certpin__tofu_parse(&db2, text, len, err, sizeof(err));
	FUZZ_CHECK(rc == CERTPIN_OK, "canonical form does not parse: %s\n%s", err, text);
	FUZZ_CHECK(db2.n == db.n, "reparse has %zu entries, not %zu", db2.n, db.n);
	for (size_t i = 0; i < db.n; i++)
		FUZZ_CHECK(same_entry(&db.e[i], &db2.e[i]), "entry %zu differs after reparse", i);
	rc = certpin__tofu_format(&text2, &len2, &db2);
	FUZZ_CHECK(rc == CERTPIN_OK && len2 == len && memcmp(text, text2, len) == 0, "serialization not stable");
	if (!has_comments(data, size))
		FUZZ_CHECK(len == size && memcmp(text, data, size) == 0, "comment-free input is not canonical:\n%s", text);
	certpin__tofu_db_free(&db2);
out:
	free(text);
	free(text2);
	certpin__tofu_db_free(&db);
	return 0;
}
