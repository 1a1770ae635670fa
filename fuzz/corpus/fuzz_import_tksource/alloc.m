#define PIN_A @"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
static NSString * const PIN_B = @"47DEQpj8" @"HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
TrustKit *kit = [[TrustKit alloc] initWithConfiguration:@{
    kTSKPinnedDomains: @{ @"a.example.com": @{ kTSKEnforcePinning: @(YES), kTSKPublicKeyHashes: @[PIN_A, PIN_B],
        kTSKDisableDefaultReportUri: @true, kTSKPublicKeyAlgorithms: @[kTSKAlgorithmEcDsaSecp256r1] } },
    kTSKSwizzleNetworkDelegates: [NSNumber numberWithBool:NO] }];
