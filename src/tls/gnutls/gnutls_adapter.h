/*
 * The GnuTLS adapter's own declarations, shared by its files: the
 * per-session state (state.c), the verified path (path.c), the check
 * (gnutls.c), stored sessions (resume.c) and the public calls (session.c).
 * Calls go one way only: session.c and resume.c use gnutls.c and state.c,
 * gnutls.c uses state.c and path.c.  Not installed.
 */
#ifndef CERTPIN_GNUTLS_ADAPTER_H
#define CERTPIN_GNUTLS_ADAPTER_H

#include "certpin.h"
#include "certpin/adapter.h"
#include "certpin/gnutls.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdbool.h>

/* Most calls of the verify output function one verification may make, and most bytes of certificates kept. */
#define GT_LINKS_MAX 64
#define GT_ARENA_MAX (1024u * 1024u)

/* One call of the verify output function: a certificate and the issuer it was checked against. */
typedef struct gt_link {
	size_t cert, cert_len;          /* offsets and lengths into the path's arena (DER) */
	size_t issuer, issuer_len;      /* issuer_len 0: no issuer was found */
	unsigned int status;            /* the verification output for this link (0: it verified) */
} gt_link;

/* What one verification reported, and the path read from it. */
typedef struct gt_path {
	unsigned char *arena;           /* the certificates' DER, reused across checks */
	size_t cap, used;
	gt_link links[GT_LINKS_MAX];
	size_t nlinks;
	bool overflow;                  /* a call did not fit: the path cannot be told */
	/* the verified path, leaf first, trust anchor last (offsets into the arena) */
	size_t n;
	size_t off[CERTPIN_CHAIN_MAX], len[CERTPIN_CHAIN_MAX];
} gt_path;

/* certpin's state on one session: the extension data of CERTPIN_GNUTLS_EXT_TYPE. */
typedef struct gt_state {
	certpin_binding *binding;       /* NULL until an attach */
	certpin_policy *policy;         /* what the binding holds, kept to rebuild it on the other attach */
	certpin_tofu *store;
	certpin_ssl_options opts;
	char host[CERTPIN_HOSTNAME_MAX];  /* "" until certpin_gnutls_set_verify_cert() */
	unsigned int vflags;
	certpin_session_tag tag;        /* what the session's checked handshakes passed: it may be resumed for that */
	bool offered;                   /* certpin_gnutls_session_set_data() set a stored session with `offered_tag` */
	certpin_session_tag offered_tag;
	bool resumption_judged;         /* the current handshake's resumption was judged (resume.c) */
	/* the current handshake's check (reset when its ClientHello is made) */
	bool checked;
	unsigned int status;
	int rc, tofu_rc;
	certpin_result result;
	certpin_tofu_result tofu;
	gt_path path;
} gt_state;

/*
 * state.c: the session's state, made (and the extension registered) on
 * first use, NULL on error; forget the last handshake's check; (re)install
 * the resumption guard, the session's handshake hook.
 */
gt_state *certpin__gt_state(gnutls_session_t session, bool create, certpin_error *err);
void certpin__gt_forget(gt_state *st);
void certpin__gt_guard_resumption(gnutls_session_t session);

/* gnutls.c: the verify function. */
int certpin__gt_verify(gnutls_session_t session);

/*
 * path.c: run `verify` (which makes GnuTLS verify with the output function
 * certpin__gt_collect set) collecting into `p`; returns what verify returned.
 */
int certpin__gt_collect_during(gt_path *p, int (*verify)(void *ctx), void *ctx);
int certpin__gt_collect(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer, gnutls_x509_crl_t crl, unsigned int status);
/* The verified path into p->off/len from what was collected; false if it cannot be told. */
bool certpin__gt_path_read(gt_path *p, const gnutls_datum_t *leaf);
void certpin__gt_path_free(gt_path *p);

#endif
