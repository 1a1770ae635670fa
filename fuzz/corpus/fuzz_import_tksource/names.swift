struct Pins { static let current = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" }
let backup = #"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="#
let host = "api.example.com"
let reports: [String] = ["https://r.example.com/x", "ftp://nope"]
let kit = TrustKit(configuration: [
    kTSKPinnedDomains: [
        host: [kTSKPublicKeyHashes: [Pins.current, backup], kTSKReportUris: reports, kTSKIncludeSubdomains: 1],
        "legacy.api.example.com": [kTSKExcludeSubdomainFromParentPolicy: true],
        "b.example.com": [kTSKEnforcePinning: false, kTSKPublicKeyHashes: ["\(x)", compute()]],
    ],
    kTSKIgnorePinningForUserDefinedTrustAnchors: true,
] as [String: Any])
