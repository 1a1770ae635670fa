/*
 * The mbedTLS adapter's own objects, shared by its files (adapter.c: the
 * check; session.c: results and sessions) and by the tests and the bench,
 * which drive the verify callback directly.  Not installed.
 */
#ifndef CERTPIN_MBEDTLS_INTERNAL_H
#define CERTPIN_MBEDTLS_INTERNAL_H

#include "certpin.h"
#include "certpin/adapter.h"
#include "certpin/mbedtls.h"

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdbool.h>
#include <stdint.h>

struct certpin_mbedtls {
	certpin_binding *b;             /* policy, store, options; swapped by attaching again */
	bool pin_only;                  /* CERTPIN_SSL_INSECURE_PIN_ONLY, fixed for the attachment */
	const mbedtls_ssl_config *conf; /* the configuration it was made for (attaching again must name it) */
};

struct certpin_mbedtls_conn {
	certpin_binding *b;             /* a reference of its own to the attachment's */
	bool pin_only;
	mbedtls_ssl_context *ssl;       /* borrowed: the context it was set up for */
	bool named;
	char host[CERTPIN_HOSTNAME_MAX]; /* the name given to mbedtls_ssl_set_hostname() */

	/* The verification mbedTLS is walking, from the top (depth len - 1) down to the leaf. */
	const mbedtls_x509_crt *walk[CERTPIN_CHAIN_MAX]; /* valid only during that walk */
	size_t len;                     /* the chain's length: the first call's depth + 1 */
	int next;                       /* the depth expected next; -1: no walk under way */
	uint32_t pkix;                  /* mbedTLS's flags of every element so far */
	bool broken;                    /* the calls did not come in mbedTLS's order */

	/* The last check (see certpin_mbedtls_result()). */
	bool checked;
	int rc;
	certpin_outcome out;
	certpin_session_tag tag;        /* what the current session passed (checked or resumed) */
};

struct certpin_mbedtls_session {
	mbedtls_ssl_session session;
	certpin_session_tag tag;
};

/*
 * The verify callback certpin_mbedtls_setup() gives mbedtls_ssl_set_verify(),
 * `conn` a certpin_mbedtls_conn.  Not part of the API: mbedTLS alone calls
 * it, in the order of x509_crt_merge_flags_with_cb() (see adapter.c).
 */
int certpin__mbedtls_verify(void *conn, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

#endif
