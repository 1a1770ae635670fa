/*
 * Shared by the importers (import.c: entry points and rules; import_android.c;
 * import_pins.c).  Not installed.
 */
#ifndef CERTPIN_TOOLS_IMPORT_INTERNAL_H
#define CERTPIN_TOOLS_IMPORT_INTERNAL_H

#include "tools_internal.h"

typedef struct certpin_tools__importer {
	certpin_policy *p;                      /* the policy being made */
	const char *name;                       /* the input's name in messages */
	const char *default_host;
	size_t total_pins;                      /* pins added so far, for CERTPIN_IMPORT_MAX_PINS */
	certpin_error *err;                     /* the caller's (may be NULL) */
	certpin_tools__warnings warn;
	certpin_import_anchors *anchors;        /* Android: trust anchors without the system store */
	/* Android: every <domain> seen, as the rules of a scratch policy (a set of normalized names). */
	certpin_policy *seen;
	/* Android: <domain>s that pin nothing, checked against wider rules at the end. */
	struct certpin_tools__unpinned {
		char *name;
		long line;
	} *unpinned;
	size_t nunpinned, capunpinned;
} certpin_tools__importer;

/* Fail with CERTPIN_E_POLICY: "NAME:LINE: reason" (line > 0) or "NAME: reason". */
int certpin_tools__import_fail(certpin_tools__importer *I, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int certpin_tools__import_nomem(certpin_tools__importer *I);
/* A warning "NAME:LINE: text" (line > 0) or "NAME: text". */
void certpin_tools__import_warn(certpin_tools__importer *I, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Make sure a rule for o->pattern exists (created with `o`); an existing
 * one is reused only if `reuse` is set.
 */
int certpin_tools__import_rule(certpin_tools__importer *I, long line, const certpin_host_options *o, bool reuse);
/*
 * Add a pin at `position` to the rule of `pattern`; a pin whose digest is
 * already in the rule (at any position) is skipped, so that the first
 * position given wins.
 */
int certpin_tools__import_pin(certpin_tools__importer *I, long line, const char *pattern, const certpin_pin *pin,
	certpin_position position);
/* Remember that the rule of `pattern` trusts only `anchors` (not the system store). */
int certpin_tools__import_anchor_note(certpin_tools__importer *I, const char *pattern, const char *anchors);
/* The same for hosts no rule pins (<base-config>'s anchors). */
int certpin_tools__import_default_anchors(certpin_tools__importer *I, const char *anchors);

/*
 * Pins for host `pattern` (NULL: the default host, an error without one),
 * pin k at position `pos[k]` (`pos` NULL: all at position any); the rule is
 * made or reused (import_pins.c).
 */
int certpin_tools__import_host_pins(certpin_tools__importer *I, long line, const char *pattern,
	const certpin_pin *pins, const certpin_position *pos, size_t n);

bool certpin_tools__is_space(int c);

/* The formats. */
int certpin_tools__import_android(certpin_tools__importer *I, const char *data, size_t len);
int certpin_tools__import_pins(certpin_tools__importer *I, const char *data, size_t len);
/* TrustKit: an Info.plist or Swift/Objective-C source (import_trustkit.c). */
int certpin_tools__import_trustkit(certpin_tools__importer *I, const char *data, size_t len);
/* OkHttp: is there an .add( call in code (import_okhttp.c); import the calls. */
bool certpin_tools__okhttp_detect(const char *data, size_t len);
int certpin_tools__import_okhttp(certpin_tools__importer *I, const char *data, size_t len);

#endif
