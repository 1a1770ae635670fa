/* Pin strings: every accepted form, every rejection, and round trips. */
#include "certpin.h"
#include "internal.h"
#include "test.h"

#include <ctype.h>

/* SHA-256 of "abc", a fixed 32-byte digest for the table. */
static const char *const B64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
static const char *const HEX = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static const unsigned char DIGEST[32] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

static void accept(const char *s, certpin_pin_kind kind)
{
	certpin_pin pin;
	int rc = certpin_pin_parse(&pin, s, strlen(s));
	CHECK_INT(rc, CERTPIN_OK);
	if (rc == CERTPIN_OK) {
		CHECK_INT(pin.kind, kind);
		CHECK(memcmp(pin.digest, DIGEST, 32) == 0);
	} else {
		fprintf(stderr, "  input: %s\n", s);
	}
}

static void reject(const char *s, int want)
{
	certpin_pin pin;
	memset(&pin, 0x5a, sizeof(pin));
	int rc = certpin_pin_parse(&pin, s, strlen(s));
	CHECK_INT(rc, want);
	if (rc != want)
		fprintf(stderr, "  input: %s\n", s);
	/* on error the output is untouched */
	CHECK(((unsigned char *)&pin)[0] == 0x5a);
}

static void test_accepted_forms(void)
{
	char buf[200];

	snprintf(buf, sizeof(buf), "sha256/%s", B64);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	snprintf(buf, sizeof(buf), "SHA256/%s", B64);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	snprintf(buf, sizeof(buf), "  sha256//%s \n", B64);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	snprintf(buf, sizeof(buf), "pin-sha256=\"%s\"", B64);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	snprintf(buf, sizeof(buf), "pin-sha256=%s", B64);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	accept(HEX, CERTPIN_PIN_SPKI_SHA256);
	snprintf(buf, sizeof(buf), "sha256:%s", HEX);
	accept(buf, CERTPIN_PIN_SPKI_SHA256);
	/* colon-separated, upper case, as openssl x509 -fingerprint prints */
	char colons[200] = "";
	for (int i = 0; i < 32; i++) {
		char two[4] = { (char)toupper((unsigned char)HEX[2 * i]), (char)toupper((unsigned char)HEX[2 * i + 1]),
			i < 31 ? ':' : '\0', '\0' };
		strcat(colons, two);
	}
	accept(colons, CERTPIN_PIN_SPKI_SHA256);
	memcpy(buf, "cert-sha256:", 13);
	strcat(buf, colons);
	accept(buf, CERTPIN_PIN_CERT_SHA256);
	snprintf(buf, sizeof(buf), "cert-sha256/%s", B64);
	accept(buf, CERTPIN_PIN_CERT_SHA256);
}

static void test_rejected(void)
{
	char buf[200];

	reject("", CERTPIN_E_PIN_SYNTAX);
	reject("   ", CERTPIN_E_PIN_SYNTAX);
	reject("sha256/", CERTPIN_E_PIN_SYNTAX);
	reject("sha256//", CERTPIN_E_PIN_SYNTAX);
	reject("sha256/abc", CERTPIN_E_PIN_SYNTAX);                 /* not a multiple of 4 */
	reject("sha256/YWJj", CERTPIN_E_PIN_LENGTH);                /* 3 bytes */
	reject("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", CERTPIN_E_PIN_LENGTH); /* 48 bytes */
	snprintf(buf, sizeof(buf), "sha256/%.43s", B64);             /* missing padding */
	reject(buf, CERTPIN_E_PIN_SYNTAX);
	reject("sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=", CERTPIN_E_PIN_SYNTAX); /* non-canonical last char */
	reject("sha256/ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=", CERTPIN_E_PIN_SYNTAX); /* base64url */
	reject("sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAF=a0", CERTPIN_E_PIN_SYNTAX); /* padding inside */
	reject("sha256/ungW v48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", CERTPIN_E_PIN_SYNTAX);
	snprintf(buf, sizeof(buf), "sha1/%s", B64);
	reject(buf, CERTPIN_E_UNSUPPORTED);
	snprintf(buf, sizeof(buf), "sha384/%s", B64);
	reject(buf, CERTPIN_E_UNSUPPORTED);
	snprintf(buf, sizeof(buf), "pin-sha1=\"%s\"", B64);
	reject(buf, CERTPIN_E_UNSUPPORTED);
	snprintf(buf, sizeof(buf), "md4/%s", B64);
	reject(buf, CERTPIN_E_PIN_SYNTAX);
	snprintf(buf, sizeof(buf), "pin-sha256=\"%s", B64);           /* unbalanced quote */
	reject(buf, CERTPIN_E_PIN_SYNTAX);
	snprintf(buf, sizeof(buf), "cert-sha256//%s", B64);           /* curl form is SPKI-only */
	reject(buf, CERTPIN_E_PIN_SYNTAX);
	reject(B64, CERTPIN_E_PIN_SYNTAX);                            /* bare base64 is ambiguous */
	reject("ba7816bf", CERTPIN_E_PIN_LENGTH);
	reject("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adff", CERTPIN_E_PIN_LENGTH);
	reject("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a", CERTPIN_E_PIN_SYNTAX);
	reject("zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", CERTPIN_E_PIN_SYNTAX);
	reject("ba:78:16bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", CERTPIN_E_PIN_SYNTAX);
	/* embedded NUL inside the given length */
	certpin_pin pin;
	char nul[80];
	int n = snprintf(nul, sizeof(nul), "sha256/%s", B64);
	nul[10] = '\0';
	CHECK_INT(certpin_pin_parse(&pin, nul, (size_t)n), CERTPIN_E_PIN_SYNTAX);
	CHECK_INT(certpin_pin_parse(NULL, "x", 1), CERTPIN_E_INVALID_ARG);
}

static void test_format_roundtrip(void)
{
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0 } }, back;
	char out[CERTPIN_PIN_STRLEN], want[128];

	memcpy(pin.digest, DIGEST, 32);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	snprintf(want, sizeof(want), "sha256/%s", B64);
	CHECK_STR(out, want);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_CURL), CERTPIN_OK);
	snprintf(want, sizeof(want), "sha256//%s", B64);
	CHECK_STR(out, want);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_HPKP), CERTPIN_OK);
	snprintf(want, sizeof(want), "pin-sha256=\"%s\"", B64);
	CHECK_STR(out, want);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_HEX), CERTPIN_OK);
	CHECK_STR(out, HEX);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_BASE64), CERTPIN_OK);
	CHECK_STR(out, B64);
	CHECK_INT(certpin_pin_format(out, 10, &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_E_INVALID_ARG);

	pin.kind = CERTPIN_PIN_CERT_SHA256;
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_CURL), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_HPKP), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	CHECK_INT(certpin_pin_parse(&back, out, strlen(out)), CERTPIN_OK);
	CHECK(certpin_pin_equal(&back, &pin));
	back.digest[31] ^= 1;
	CHECK(!certpin_pin_equal(&back, &pin));
	back.digest[31] ^= 1;
	back.kind = CERTPIN_PIN_SPKI_SHA256;
	CHECK(!certpin_pin_equal(&back, &pin)); /* same digest, other kind */
}

/* A digest whose base64 begins with '/' in every form, including curl's "sha256///...". */
static void test_leading_slash(void)
{
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 0xfc, 0x01 } }, back;
	char out[CERTPIN_PIN_STRLEN];
	static const certpin_pin_style styles[] = { CERTPIN_STYLE_DEFAULT, CERTPIN_STYLE_CURL, CERTPIN_STYLE_HPKP,
		CERTPIN_STYLE_HEX };

	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(styles); i++) {
		CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, styles[i]), CERTPIN_OK);
		memset(&back, 0, sizeof(back));
		CHECK_INT(certpin_pin_parse(&back, out, strlen(out)), CERTPIN_OK);
		CHECK(certpin_pin_equal(&back, &pin));
	}
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	CHECK(strncmp(out, "sha256//", 8) == 0); /* the ambiguous-looking OkHttp form */
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_CURL), CERTPIN_OK);
	CHECK(strncmp(out, "sha256///", 9) == 0);
	pin.kind = CERTPIN_PIN_CERT_SHA256;
	CHECK_INT(certpin_pin_format(out, sizeof(out), &pin, CERTPIN_STYLE_DEFAULT), CERTPIN_OK);
	CHECK_INT(certpin_pin_parse(&back, out, strlen(out)), CERTPIN_OK);
	CHECK(certpin_pin_equal(&back, &pin));
}

static void test_list(void)
{
	certpin_pin *pins = NULL;
	size_t n = 0, off = 99;
	char buf[300];

	snprintf(buf, sizeof(buf), "sha256//%s;sha256//%s", B64, B64);
	CHECK_INT(certpin_pin_parse_list(&pins, &n, buf, strlen(buf), &off), CERTPIN_OK);
	CHECK_INT(n, 2);
	free(pins);
	snprintf(buf, sizeof(buf), "sha256/%s, %s ;", B64, HEX);
	CHECK_INT(certpin_pin_parse_list(&pins, &n, buf, strlen(buf), &off), CERTPIN_OK);
	CHECK_INT(n, 2);
	free(pins);
	snprintf(buf, sizeof(buf), "sha256//%s;sha256//bogus", B64);
	pins = NULL;
	CHECK_INT(certpin_pin_parse_list(&pins, &n, buf, strlen(buf), &off), CERTPIN_E_PIN_SYNTAX);
	CHECK_INT(off, strlen("sha256//") + strlen(B64) + 1);
	CHECK(pins == NULL);
	CHECK_INT(certpin_pin_parse_list(&pins, &n, " ;; ", 4, &off), CERTPIN_E_PIN_SYNTAX);
}

static void test_time(void)
{
	int64_t t;
	char buf[32];

	CHECK_INT(certpin__parse_time(&t, "1970-01-01"), 0);
	CHECK_INT(t, 0);
	CHECK_INT(certpin__parse_time(&t, "2027-01-01"), 0);
	CHECK_INT(t, 1798761600);
	CHECK_INT(certpin__parse_time(&t, "2027-01-01T01:02:03Z"), 0);
	CHECK_INT(t, 1798761600 + 3723);
	CHECK_INT(certpin__parse_time(&t, "2027-01-01T01:02:03.5+01:00"), 0);
	CHECK_INT(t, 1798761600 + 3723 - 3600);
	CHECK_INT(certpin__parse_time(&t, "2024-02-29"), 0);
	CHECK_INT(certpin__parse_time(&t, "2023-02-29"), -1);
	CHECK_INT(certpin__parse_time(&t, "2027-13-01"), -1);
	CHECK_INT(certpin__parse_time(&t, "2027-1-01"), -1);
	CHECK_INT(certpin__parse_time(&t, "2027-01-01T01:02:03"), -1); /* zone required */
	CHECK_INT(certpin__parse_time(&t, "2027-01-01 junk"), -1);
	CHECK_INT(certpin__parse_time(&t, "1969-12-31"), -1);
	certpin__format_time(buf, sizeof(buf), 1798761600 + 3723);
	CHECK_STR(buf, "2027-01-01T01:02:03Z");
	certpin__format_time(buf, sizeof(buf), 951782400); /* 2000-02-29 */
	CHECK_STR(buf, "2000-02-29T00:00:00Z");
}

static void test_errors(void)
{
	CHECK_STR(certpin_error_name(CERTPIN_E_PIN_MISMATCH), "pin-mismatch");
	CHECK(strcmp(certpin_strerror(CERTPIN_E_PIN_MISMATCH), certpin_strerror(CERTPIN_E_IO)) != 0);
	CHECK_STR(certpin_strerror(12345), "unknown error");
	for (int e = 0; e >= CERTPIN_E_STATE; e--)
		CHECK(strcmp(certpin_error_name(e), "unknown") != 0);
	CHECK_STR(certpin_version(), CERTPIN_VERSION_STRING);
}

int main(void)
{
	test_accepted_forms();
	test_rejected();
	test_format_roundtrip();
	test_leading_slash();
	test_list();
	test_time();
	test_errors();
	return test_finish("pin_test");
}
