/*
 * Private to the report parsers (report_json.c: certpin's own format and
 * the members all formats share; report_formats.c: format detection and RFC
 * 7469; report_trustkit.c: TrustKit).  Not installed.
 */
#ifndef CERTPIN_REPORT_PARSE_H
#define CERTPIN_REPORT_PARSE_H

#include "report_internal.h"

#include <jansson.h>

typedef struct certpin_report__parser {
	certpin_error *err;     /* the caller's; may be NULL */
} certpin_report__parser;

/*
 * Fail with CERTPIN_E_REPORT: `fmt` the reason; the JSON pointer names
 * member `key` of the report (NULL: the whole report) and, with index >= 0,
 * that element of it.
 */
int certpin_report__fail(certpin_report__parser *P, const char *key, long index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A string member without embedded NULs; *out NULL if absent (an error if `required`). */
int certpin_report__get_str(certpin_report__parser *P, json_t *root, const char *key, int required,
	const char **out);
/* A boolean member; *out unchanged if absent (an error if `required`). */
int certpin_report__get_bool(certpin_report__parser *P, json_t *root, const char *key, int required, int *out);
/* An RFC 3339 date-time or a date; *out unchanged if absent (an error if `required`). */
int certpin_report__get_time(certpin_report__parser *P, json_t *root, const char *key, int required,
	int64_t *out);
/* An expiry date (RFC 3339 date-time or date), or null; *out unchanged if absent or null. */
int certpin_report__get_expiry(certpin_report__parser *P, json_t *root, const char *key, int64_t *out);

/*
 * The RFC 7469 section 3 members every format shares: "date-time",
 * "hostname", "noted-hostname", "port" (`min_port` to 65535),
 * "include-subdomains", "known-pins" and the chains (PEM and/or digests;
 * at least one certificate).  "effective-expiration-date" is the caller's.
 */
int certpin_report__parse_hpkp(certpin_report__parser *P, json_t *root, certpin_report_info *out,
	unsigned int min_port);

/* The report's dedup key from its host, port, kind, enforce flag and chain (validated, else served). */
void certpin_report__set_key(certpin_report_info *out);

/* The text as a JSON value (duplicate keys refused), or NULL after failing with its syntax error. */
json_t *certpin_report__load(certpin_report__parser *P, const char *json, size_t len);

/*
 * The start of every public parse: `err` cleared, `out` zeroed, the text
 * loaded into *root.  CERTPIN_OK, or CERTPIN_E_INVALID_ARG (NULL `out` or
 * `json`) / CERTPIN_E_REPORT with `err` set and *root NULL.
 */
int certpin_report__begin(certpin_report__parser *P, certpin_report_info *out, const char *json, size_t len,
	json_t **root);

/* certpin's own format (certpin_report_parse) from a loaded report. */
int certpin_report__parse_certpin(certpin_report__parser *P, json_t *root, certpin_report_info *out);

/* TrustKit's report (report_trustkit.c); `origin` gets the app fields. */
int certpin_report__parse_trustkit(certpin_report__parser *P, json_t *root, certpin_report_info *out,
	certpin_report_origin *origin);

#endif
