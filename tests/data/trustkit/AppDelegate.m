/*
 * AppDelegate.m: pinning set up as in TrustKit's README and its
 * Objective-C demo.
 */
#import "AppDelegate.h"
#import <TrustKit/TrustKit.h>

static NSString *const kReportServer = @"https://reports.example.com/trustkit";
#define API_BACKUP_PIN @"PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0="

@implementation AppDelegate

- (BOOL)application:(UIApplication *)application didFinishLaunchingWithOptions:(NSDictionary *)launchOptions
{
    [TrustKit setLoggerBlock:^(NSString *message) { NSLog(@"TrustKit log: %@", message); }];

    _trustKitConfig =
    @{
      // Do not auto-swizzle NSURLSession delegates
      kTSKSwizzleNetworkDelegates: @NO,

      kTSKPinnedDomains: @{
              @"example.com": @{
                      kTSKEnforcePinning: @NO,
                      kTSKIncludeSubdomains: @YES,
                      kTSKDisableDefaultReportUri: @YES,
                      kTSKPublicKeyHashes: @[
                              @"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
                              @"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
                              ],
                      kTSKReportUris: @[kReportServer]
                      },
              @"api.example.com" : @{
                      kTSKEnforcePinning: @(YES),
                      kTSKExpirationDate: @"2030-06-01",
                      kTSKDisableDefaultReportUri: @YES,
                      kTSKPublicKeyHashes : @[
                              @"ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=", // current key
                              API_BACKUP_PIN,                                   // backup key
                              ]
                      }}};

    [TrustKit initSharedInstanceWithConfiguration:_trustKitConfig];
    return YES;
}

@end
