/*
 * Private declarations of libcertpin-report (report.c, report_json.c,
 * reporter.c, fetch.c).  Not installed.  The report library sees the core
 * through its public API only: no src/internal.h here.
 */
#ifndef CERTPIN_REPORT_INTERNAL_H
#define CERTPIN_REPORT_INTERNAL_H

#include "certpin.h"
#include "certpin/openssl.h"
#include "certpin/report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Dedup key of a report: SHA-256 over a label, the normalized host, the
 * port, the kind, the enforce flag and the digests (SPKI and certificate) of
 * the validated chain, or of the served chain when no validated chain is
 * known.  Both digests of every element must be present.
 */
void certpin_report__key(unsigned char key[CERTPIN_DIGEST_LEN], const char *host, unsigned int port,
	certpin_report_kind kind, int enforce, const certpin_chain_elem *chain, size_t n);

/* certpin_report_build() that also returns the dedup key (key may be NULL). */
int certpin_report__build(char **out, unsigned char *key, const certpin_report_input *in);

/* The report kind for a check's code and result, or 0 if there is nothing to report. */
certpin_report_kind certpin_report__kind_for(int rc, const certpin_result *result);

/*
 * Build the report for an SSL's last check (see certpin_report_from_ssl)
 * with its dedup key.  key may be NULL.
 */
int certpin_report__from_ssl(char **out, unsigned char *key, const struct ssl_st *ssl,
	const certpin_policy *policy, const certpin_report_options *opts);

/*
 * The reporter's spool (spool.c).  _write: `json` as a new file of `dir`,
 * atomically, unless it holds `max` already, its idempotency key `idem`
 * (CERTPIN_REPORT__IDEM_LEN characters, or "") kept in the file's name; 0
 * or -1.  _read: up to `room` spooled reports, each handed to `take` (the
 * text malloc'd, the caller's; its key, "" for a file without one; `take`
 * returns false to stop); files that cannot be read are removed.  Returns
 * the number taken.
 */
/*
 * A reporter's keys: the time it made the report (milliseconds since 1970,
 * 12 hex digits), the reporter's 128 random bits (32), its counter (16),
 * joined by '-'.  Time first, so that a collector's unique index on them
 * grows at one end (one page written per batch, not one per report).
 */
#define CERTPIN_REPORT__IDEM_LEN 62
int certpin_report__spool_write(const char *dir, size_t max, const char *json, size_t len,
	const unsigned char key[CERTPIN_DIGEST_LEN], const char *idem, unsigned long seq);
size_t certpin_report__spool_read(const char *dir, size_t room,
	bool (*take)(void *ctx, char *json, size_t len, const char *path, const char *idem), void *ctx);

/*
 * The reporter's dedup table (dedup.c): the last `cap` report keys and when
 * each was last seen.  _seen: true if `key` was seen less than `window`
 * seconds before `now`, else remembers it at `now` (overwriting the oldest).
 * _forget: the next report with `key` is not a duplicate.  A table with
 * window <= 0 or cap 0 is off: nothing is a duplicate.  Not thread-safe.
 */
typedef struct certpin_report__dedup {
	struct certpin_report__dedup_ent *ent;
	size_t cap, pos;
	long *buckets;
	size_t nbuckets;
	int64_t window;
} certpin_report__dedup;

int certpin_report__dedup_init(certpin_report__dedup *d, size_t cap, int64_t window);
void certpin_report__dedup_free(certpin_report__dedup *d);
bool certpin_report__dedup_seen(certpin_report__dedup *d, const unsigned char key[CERTPIN_DIGEST_LEN], int64_t now);
void certpin_report__dedup_forget(certpin_report__dedup *d, const unsigned char key[CERTPIN_DIGEST_LEN]);

/* curl_global_init(), once per process: CERTPIN_OK or CERTPIN_E_TLS. */
int certpin_report__curl_init(void);

#endif
