/*
 * fuzz_pin: certpin_pin_parse() and certpin_pin_parse_list().
 *
 * Properties:
 *   - every pin that parses formats in each style that can express it and
 *     re-parses to an equal pin (DEFAULT, HEX, and CURL/HPKP for SPKI pins);
 *   - parse_list() on an input without separators agrees with parse();
 *   - parse_list() returns count >= 1 pins, each round-tripping, or an error
 *     with an offset inside the input.
 */
#include "fuzz_common.h"

static void check_round_trip(const certpin_pin *pin, const char *what)
{
	static const certpin_pin_style styles[] = { CERTPIN_STYLE_DEFAULT, CERTPIN_STYLE_HEX, CERTPIN_STYLE_CURL,
		CERTPIN_STYLE_HPKP };
	char buf[CERTPIN_PIN_STRLEN], hex[2 * CERTPIN_DIGEST_LEN + 1];
	int spki = pin->kind == CERTPIN_PIN_SPKI_SHA256;

	FUZZ_CHECK(pin->kind == CERTPIN_PIN_SPKI_SHA256 || pin->kind == CERTPIN_PIN_CERT_SHA256,
		"%s: parsed pin has kind %d", what, (int)pin->kind);
	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
		certpin_pin back;
		int rc = certpin_pin_format(buf, sizeof(buf), pin, styles[i]);
		if (!spki && (styles[i] == CERTPIN_STYLE_CURL || styles[i] == CERTPIN_STYLE_HPKP)) {
			FUZZ_CHECK(rc == CERTPIN_E_UNSUPPORTED, "%s: style %d of a certificate pin gave %d",
				what, (int)styles[i], rc);
			continue;
		}
		FUZZ_CHECK(rc == CERTPIN_OK, "%s: format style %d failed: %d", what, (int)styles[i], rc);
		FUZZ_CHECK(strlen(buf) < CERTPIN_PIN_STRLEN, "%s: formatted pin too long", what);
		if (styles[i] == CERTPIN_STYLE_HEX && !spki) {
			/* bare hex reads back as an SPKI pin; certificate pins need the prefix */
			char pref[CERTPIN_PIN_STRLEN + 16];
			snprintf(pref, sizeof(pref), "cert-sha256:%s", buf);
			rc = certpin_pin_parse(&back, pref, strlen(pref));
			FUZZ_CHECK(rc == CERTPIN_OK && certpin_pin_equal(&back, pin), "%s: \"%s\" did not re-parse (%d)",
				what, pref, rc);
			continue;
		}
		rc = certpin_pin_parse(&back, buf, strlen(buf));
		FUZZ_CHECK(rc == CERTPIN_OK, "%s: formatted pin \"%s\" does not re-parse: %d", what, buf, rc);
		FUZZ_CHECK(certpin_pin_equal(&back, pin), "%s: \"%s\" re-parses to a different pin (digest %s)",
			what, buf, fuzz_hex(hex, back.digest, CERTPIN_DIGEST_LEN));
	}
	/* A buffer one byte too small must be refused, never overrun. */
	FUZZ_CHECK(certpin_pin_format(buf, 10, pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK,
		"%s: format into 10 bytes succeeded", what);
}

static int has_separator(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		uint8_t c = data[i];
		if (c == ';' || c == ',' || c == ' ' || (c >= '\t' && c <= '\r'))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *str = (const char *)data;
	certpin_pin pin, *pins = NULL;
	size_t count = 0, err_offset = (size_t)-1;

	memset(&pin, 0xa5, sizeof(pin));
	int rc1 = certpin_pin_parse(&pin, str, size);
	if (rc1 == CERTPIN_OK) {
		check_round_trip(&pin, "parse");
	} else {
		FUZZ_CHECK(rc1 < 0 && rc1 >= CERTPIN_E_STATE, "parse returned unknown code %d", rc1);
		unsigned char untouched[sizeof(pin)];
		memset(untouched, 0xa5, sizeof(untouched));
		FUZZ_CHECK(memcmp(&pin, untouched, sizeof(pin)) == 0, "parse modified *out on error %d", rc1);
	}

	int rc2 = certpin_pin_parse_list(&pins, &count, str, size, &err_offset);
	if (rc2 == CERTPIN_OK) {
		FUZZ_CHECK(count >= 1 && pins != NULL, "parse_list OK with %zu pins", count);
		for (size_t i = 0; i < count; i++)
			check_round_trip(&pins[i], "parse_list");
	} else {
		FUZZ_CHECK(err_offset <= size, "parse_list error offset %zu beyond input of %zu bytes",
			err_offset, size);
	}

	if (!has_separator(data, size)) {
		FUZZ_CHECK((rc1 == CERTPIN_OK) == (rc2 == CERTPIN_OK),
			"single token: parse gave %d but parse_list gave %d", rc1, rc2);
		if (rc1 == CERTPIN_OK)
			FUZZ_CHECK(count == 1 && certpin_pin_equal(&pins[0], &pin),
				"single token: parse_list gave %zu pins or a different pin", count);
	}
	free(pins);
	return 0;
}
