/*
 * fuzz_import_plist: certpin_policy_import_data() on arbitrary TrustKit
 * Info.plist input (XML property lists through libxml2: Apple's DOCTYPE
 * only, no entities).  Properties: see fuzz_trustkit.h; the round trip goes
 * through the trustkit-plist export.
 */
#include "fuzz_trustkit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_tk_one(data, size, CERTPIN_EXPORT_TRUSTKIT_PLIST);
}
