/* Declarations shared by report.c, report_json.c and reporter.c.  Not installed. */
#ifndef CERTPIN_REPORT_INTERNAL_H
#define CERTPIN_REPORT_INTERNAL_H

#include "internal.h"

/*
 * Dedup key of a report: SHA-256 over a label, the normalized host, the
 * port, the kind, the enforce flag and the digests (SPKI and certificate) of
 * the validated chain, or of the served chain when no validated chain is
 * known.  Both digests of every element must be present.
 */
void certpin__report_key(unsigned char key[CERTPIN_DIGEST_LEN], const char *host, unsigned int port,
	certpin_report_kind kind, int enforce, const certpin_chain_elem *chain, size_t n);

/* certpin_report_build() that also returns the dedup key (key may be NULL). */
int certpin__report_build(char **out, unsigned char *key, const certpin_report_input *in);

/* The report kind for a check's code and result, or 0 if there is nothing to report. */
certpin_report_kind certpin__report_kind_for(int rc, const certpin_result *result);

/*
 * Build the report for an SSL's last check (see certpin_report_from_ssl)
 * with its dedup key.  key may be NULL.
 */
int certpin__report_from_ssl(char **out, unsigned char *key, const void *ssl,
	const certpin_policy *policy, const certpin_report_options *opts);

#endif
