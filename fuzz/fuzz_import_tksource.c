/*
 * fuzz_import_tksource: certpin_policy_import_data() on arbitrary Swift or
 * Objective-C source holding a TrustKit configuration (the literal reader:
 * strings, constants, booleans, collections, names assigned once).
 * Properties: see fuzz_trustkit.h; the round trip goes through the
 * trustkit (Swift) export.
 */
#include "fuzz_trustkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_tk_one(data, size, CERTPIN_EXPORT_TRUSTKIT_SWIFT);
}
