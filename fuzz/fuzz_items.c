/*
 * fuzz_items: certpin_items_from_data() on PEM files (certificates, public
 * and private keys, CSRs, several blocks) and single DER objects.
 *
 * Properties: no crash or leak; a success returns count >= 1 well-formed
 * items (known type, SPKI pin set, certificate pin and issuer only for
 * certificates, subject for certificates and CSRs, a key type name); an
 * error returns a known code and no items.
 */
#include "fuzz_common.h"

static void check_item(const certpin_item *it, size_t i)
{
	FUZZ_CHECK(it->type >= CERTPIN_ITEM_CERT && it->type <= CERTPIN_ITEM_CSR, "item %zu: type %d", i,
		(int)it->type);
	FUZZ_CHECK(it->spki.kind == CERTPIN_PIN_SPKI_SHA256, "item %zu: SPKI pin kind %d", i, (int)it->spki.kind);
	FUZZ_CHECK(memchr(it->key_type, '\0', sizeof(it->key_type)) != NULL && it->key_type[0] != '\0',
		"item %zu: key type not a non-empty string", i);
	if (it->type == CERTPIN_ITEM_CERT) {
		FUZZ_CHECK(it->cert.kind == CERTPIN_PIN_CERT_SHA256, "item %zu: certificate pin kind %d", i,
			(int)it->cert.kind);
		FUZZ_CHECK(it->subject && it->issuer, "item %zu: certificate without subject/issuer", i);
		FUZZ_CHECK(it->self_signed == 0 || it->self_signed == 1, "item %zu: self_signed %d", i,
			it->self_signed);
		FUZZ_CHECK(it->is_ca == 0 || it->is_ca == 1, "item %zu: is_ca %d", i, it->is_ca);
	} else {
		FUZZ_CHECK(it->cert.kind == 0, "item %zu: non-certificate with a certificate pin", i);
		FUZZ_CHECK(it->issuer == NULL, "item %zu: non-certificate with an issuer", i);
		FUZZ_CHECK(it->not_before == 0 && it->not_after == 0, "item %zu: non-certificate with dates", i);
		FUZZ_CHECK((it->type == CERTPIN_ITEM_CSR) == (it->subject != NULL),
			"item %zu: subject set for type %d", i, (int)it->type);
	}
	/* Every computed pin must be printable. */
	char buf[CERTPIN_PIN_STRLEN];
	FUZZ_CHECK(certpin_pin_format(buf, sizeof(buf), &it->spki, CERTPIN_STYLE_DEFAULT) == CERTPIN_OK,
		"item %zu: SPKI pin does not format", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	certpin_item *items = (certpin_item *)(uintptr_t)1;
	size_t count = 12345;

	int rc = certpin_items_from_data(&items, &count, data, size);
	if (rc != CERTPIN_OK) {
		FUZZ_CHECK(rc == CERTPIN_E_DECODE || rc == CERTPIN_E_UNSUPPORTED || rc == CERTPIN_E_NOMEM,
			"items_from_data returned %d", rc);
		FUZZ_CHECK(items == NULL && count == 0, "error %d but items returned", rc);
		return 0;
	}
	FUZZ_CHECK(items != NULL && count >= 1, "success with %zu items", count);
	for (size_t i = 0; i < count; i++)
		check_item(&items[i], i);
	certpin_items_free(items, count);
	return 0;
}
