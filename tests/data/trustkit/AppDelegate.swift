//
//  AppDelegate.swift
//  Pinning set up as in TrustKit's README and its Swift demo.
//

import UIKit
import TrustKit

@UIApplicationMain
class AppDelegate: UIResponder, UIApplicationDelegate {

    var window: UIWindow?
    static let reportServer = "https://reports.example.com/trustkit"

    func application(_ application: UIApplication, didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]?) -> Bool {
        TrustKit.setLoggerBlock { (message) in
            print("TrustKit log: \(message)")
        }

        let trustKitConfig: [String: Any] = [
            kTSKSwizzleNetworkDelegates: false,
            kTSKPinnedDomains: [
                "example.com": [
                    kTSKEnforcePinning: false,
                    kTSKIncludeSubdomains: true,
                    kTSKDisableDefaultReportUri: true,
                    kTSKPublicKeyHashes: [
                        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
                        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
                    ],
                    kTSKReportUris: [AppDelegate.reportServer],
                ],
                "api.example.com": [
                    kTSKEnforcePinning: true,
                    kTSKExpirationDate: "2030-06-01",
                    kTSKDisableDefaultReportUri: true,
                    // current key and backup key
                    kTSKPublicKeyHashes: [
                        "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=",
                        "PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="
                    ],
                ]
            ]]

        TrustKit.initSharedInstance(withConfiguration: trustKitConfig)
        return true
    }
}
