/*
 * Shared by the exporters (export.c: driver and common checks;
 * export_okhttp.c; export_formats.c).  Not installed.
 */
#ifndef CERTPIN_TOOLS_EXPORT_INTERNAL_H
#define CERTPIN_TOOLS_EXPORT_INTERNAL_H

#include "tools_internal.h"

typedef struct certpin_tools__exporter {
	const certpin_policy *p;
	const char *fmt;                /* format name for messages */
	certpin_export_options o;
	certpin_tools__text out;
	certpin_tools__warnings warn;
	char err[512];                  /* the reason of a refusal */
} exporter;

/* Pins of one rule, fetched once. */
typedef struct certpin_tools__rule {
	size_t index;
	certpin_host_info h;
	certpin_pin *pins;
	certpin_position *pos;
	size_t nspki, ncert, npositioned;
} rule;

/* Refuse the export (CERTPIN_E_UNSUPPORTED) with a reason. */
int certpin_tools__refuse(exporter *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define refuse(...) certpin_tools__refuse(__VA_ARGS__)
#define W(E, ...) certpin_tools__warn(&(E)->warn, 0, __VA_ARGS__)
#define P(E, ...) certpin_tools__printf(&(E)->out, __VA_ARGS__)

int certpin_tools__rule_get(exporter *E, rule *r, size_t i);
void certpin_tools__rule_free(rule *r);

/* Common checks and warnings (export.c). */
int certpin_tools__check_spki_only(exporter *E, const rule *r);
int certpin_tools__check_named_domain(exporter *E, const rule *r);
void certpin_tools__warn_positions(exporter *E, const rule *r);
void certpin_tools__warn_report_only(exporter *E, const rule *r);
void certpin_tools__warn_no_expiry(exporter *E, const rule *r);
/* The rule's expiry plus clock skew; 0 if none. */
int64_t certpin_tools__effective_expiry(const rule *r);
/* For formats whose expiry means "stop pinning": the day to write ("YYYY-MM-DD"), or "". */
void certpin_tools__failopen_date(exporter *E, const rule *r, char date[32]);
/* Write `s` with '"' and '\\' escaped by a backslash (HTTP quoted-string, Swift string literal). */
void certpin_tools__put_backslashed(exporter *E, const char *s);
/* The bare base64 of a pin's digest. */
void certpin_tools__b64_pin(char out[48], const certpin_pin *pin);

/* One rule in each format (export_formats.c, export_okhttp.c). */
int certpin_tools__export_android(exporter *E, const rule *r);
int certpin_tools__export_okhttp(exporter *E, const rule *r);
int certpin_tools__export_trustkit_swift(exporter *E, const rule *r);
int certpin_tools__export_trustkit_plist(exporter *E, const rule *r);
int certpin_tools__export_curl(exporter *E, const rule *r);
int certpin_tools__export_hpkp(exporter *E, const rule *r);
int certpin_tools__export_tlsa(exporter *E, const rule *r);
/* OkHttp: refuse (or warn about) rules whose union of pins is wider than the policy. */
int certpin_tools__okhttp_overlaps(exporter *E);

#endif
