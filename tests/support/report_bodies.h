/*
 * Failure reports as the senders certpin's collector accepts write them, for
 * tests: TrustKit on iOS (TSKPinFailureReport.m: NSJSONSerialization, PEM
 * lines of 64 base64 characters ended by CR LF, no newline after the END
 * line, port 0, "known-pins-expiration-date"), TrustKit on Android
 * (PinningFailureReport.java: org.json, android.util.Base64.DEFAULT lines of
 * 76, served and validated chains, port 0, no "app-platform-version"), and
 * Chrome's RFC 7469 report (base::JSONWriter, PEM lines of 64 ended by LF,
 * dates with milliseconds, no "enforce").  The certificates come from the
 * test PKI ($CERTPIN_TEST_PKI), the known pins from its pins.txt.
 */
#ifndef CERTPIN_TEST_REPORT_BODIES_H
#define CERTPIN_TEST_REPORT_BODIES_H

typedef enum report_sender {
	SENDER_TRUSTKIT_IOS = 1,
	SENDER_TRUSTKIT_ANDROID = 2,
	SENDER_CHROME = 3
} report_sender;

typedef struct report_body_opts {
	report_sender sender;
	const char *hostname;       /* NULL: api.certpin.test */
	const char *chain;          /* PEM file of the test PKI, leaf first; NULL: chain.pem */
	const char *known_pin;      /* pins.txt name of the one known pin; NULL: backup */
	const char *app_id;         /* TrustKit; NULL: com.example.certpin (iOS) or com.example.android (Android) */
	const char *app_version;    /* TrustKit; NULL: 3.2.0 */
	const char *vendor_id;      /* TrustKit; NULL: 599F9C00-92DC-4B5C-9464-7971F01F8370 */
	int validation_result;      /* TrustKit; 0: 1 (no matching pin) */
	int report_only;            /* TrustKit: "enforce-pinning": false */
} report_body_opts;

/* The report as a malloc'd JSON text; aborts the test on failure. */
char *report_body(const report_body_opts *o);

struct json_t;
/* The JSON text `doc` with member `key` set to `v` (taken; NULL: the member removed); malloc'd. */
char *body_with(const char *doc, const char *key, struct json_t *v);

#endif
