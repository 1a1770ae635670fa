/*
 * The GnuTLS adapter: which name, which chain, how to refuse.
 *
 * WHY THE CHAIN IS THE ONE GNUTLS VERIFIED.  certpin's verify function
 * (gnutls_session_set_verify_function(); GnuTLS calls it once the server's
 * Certificate, and in TLS 1.3 its CertificateVerify, are in) runs GnuTLS's
 * verification itself, gnutls_certificate_verify_peers() for the host name,
 * with certpin__gt_collect() as the session's verify output function.
 * GnuTLS 3.7 (lib/cert-session.c) passes that function to
 * gnutls_x509_trust_list_verify_crt2(), and lib/x509/verify.c calls it once
 * per link it checks, in order: the top certificate of the (sorted,
 * shortened) list against the trust anchor it found in the trust list, then
 * each certificate below against the one above, ending with the leaf --
 * each call with the certificate, the issuer it was checked against, and
 * that link's status (0 when it verified).  A certificate GnuTLS finds in the
 * trust list itself is reported with the trusted copy as its issuer; a
 * failed attempt ends with a failed link; revocation checks come after the
 * path, with a CRL, and are skipped.  So when the verification's status is 0
 * the path is the run of verified links that ends the report: the last call
 * must be the server's own leaf (byte-equal to gnutls_certificate_get_peers()
 * [0]); walking back, each issuer is the next element, a certificate GnuTLS
 * verified in turn if the call before is that exact certificate's link, and
 * otherwise the trust-list certificate that anchors the path (path.c).  The
 * list the server sent never enters the chain except as GnuTLS chained it.
 * Anything else -- no report (a leaf trusted by name), a report that does
 * not fit that shape, a path over CERTPIN_CHAIN_MAX -- leaves the path
 * unknown, and a host whose pins or TOFU store would read it is refused.
 * Pin-only trust verifies nothing and hands over the server's leaf alone,
 * the one certificate whose key the handshake proves.  A resumed session
 * is never checked here (resume.c guards it).
 *
 * WHICH NAME.  The one given to certpin_gnutls_set_verify_cert(): GnuTLS
 * verifies the certificate for it and the policy is asked about it.  None:
 * refused (GnuTLS cannot tell the name of gnutls_session_set_verify_cert()).
 *
 * HOW TO REFUSE.  The verify function returns
 * GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, as GnuTLS's own automatic
 * verification does; its status is kept for certpin_gnutls_verify_status().
 *
 * Public GnuTLS calls only; certpin's engine through certpin/adapter.h.
 */
#include "gnutls_adapter.h"

#include <string.h>

/* The chain handed to the engine: DER certificates, leaf first. */
typedef struct chain_view {
	const unsigned char *der[CERTPIN_CHAIN_MAX];
	size_t len[CERTPIN_CHAIN_MAX];
	size_t n;
	bool unknown;                   /* the verified path could not be told: every read fails */
} chain_view;

static int read_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	const chain_view *v = ctx;

	if (v->unknown || i >= v->n)
		return -1;
	if (spki)
		return 1; /* GnuTLS keeps no SPKI apart: the engine finds it in the certificate */
	*der = v->der[i];
	*len = v->len[i];
	return 0;
}

/* One verification, with the state of the check it belongs to. */
typedef struct verify_ctx {
	gnutls_session_t session;
	const gt_state *st;
	const gnutls_datum_t *peers;
	unsigned int npeers;
	unsigned int status;
} verify_ctx;

/* GnuTLS's verification of the handshake's certificates, as its automatic verification runs it. */
static int verify_live(void *ctx)
{
	verify_ctx *c = ctx;
	gnutls_typed_vdata_st name = { GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)c->st->host, 0 };

	gnutls_session_set_verify_output_function(c->session, certpin__gt_collect);
	return gnutls_certificate_verify_peers(c->session, c->st->host[0] ? &name : NULL, c->st->host[0] ? 1 : 0,
		&c->status);
}

/*
 * The chain for the engine: the server's leaf alone (pin-only), else the
 * path GnuTLS verified, read after a verification that passed.  Returns
 * GnuTLS's verification status, GNUTLS_CERT_INVALID if it could not run.
 */
static unsigned int verified_chain(chain_view *v, gt_state *st, verify_ctx *c, bool pin_only)
{
	memset(v, 0, sizeof(*v));
	if (pin_only) {
		v->n = c->npeers > 0 ? 1 : 0;
		if (v->n) {
			v->der[0] = c->peers[0].data;
			v->len[0] = c->peers[0].size;
		}
		return 0;
	}
	c->status = 0;
	if (c->npeers == 0 || certpin__gt_collect_during(&st->path, verify_live, c) < 0)
		return GNUTLS_CERT_INVALID;
	if (c->status != 0)
		return c->status;
	if (!certpin__gt_path_read(&st->path, &c->peers[0])) {
		v->n = 1; /* a path GnuTLS verified that certpin cannot tell: reading it fails closed */
		v->unknown = true;
		return 0;
	}
	v->n = st->path.n;
	for (size_t i = 0; i < v->n; i++) {
		v->der[i] = st->path.arena + st->path.off[i];
		v->len[i] = st->path.len[i];
	}
	return 0;
}

/* Keep the engine's outcome as the handshake's result; true if the handshake may go on. */
static bool record(gt_state *st, const certpin_outcome *o, int rc, bool pkix_ok, bool pin_only)
{
	st->rc = o->rc;
	st->result = o->result;
	st->tofu_rc = o->tofu_rc;
	st->tofu = o->tofu;
	if (rc != CERTPIN_OK && o->rc == CERTPIN_E_STATE && o->tofu_rc == CERTPIN_E_STATE)
		st->rc = rc; /* refused before any source decided (chain, name, arguments) */
	bool ok = o->decision == CERTPIN_DECIDE_CONTINUE ? pkix_ok || pin_only
						      : o->decision == CERTPIN_DECIDE_STACK && pkix_ok && !pin_only;
	if (ok && !st->host[0]) {
		ok = false; /* no name: GnuTLS verified the certificate for no one */
		st->rc = CERTPIN_E_HOSTNAME;
	}
	if (!ok) {
		st->result.allowed = 0;
		if (st->rc == CERTPIN_OK)
			st->rc = pkix_ok ? CERTPIN_E_PIN_MISMATCH : CERTPIN_E_PKIX;
	}
	return ok;
}

/*
 * One check: GnuTLS's verification (unless pin-only), then the binding's
 * sources on the verified chain.  0 to go on, else the GnuTLS error that
 * refuses.
 */
static int check(gnutls_session_t session, gt_state *st)
{
	verify_ctx c = { session, st, NULL, 0, 0 };
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	certpin_outcome o;
	chain_view v;
	bool pin_only = st->binding && (st->opts.flags & CERTPIN_SSL_INSECURE_PIN_ONLY);
	bool ok;

	certpin__gt_forget(st);
	st->checked = true;
	c.peers = gnutls_certificate_get_peers(session, &c.npeers);
	if (!c.peers)
		c.npeers = 0;
	if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_SERVER) != GNUTLS_CRT_X509)
		c.npeers = 0; /* a raw public key is no chain to verify or pin: refused */
	unsigned int status = verified_chain(&v, st, &c, pin_only);
	if (!st->binding) {
		ok = status == 0 && st->host[0];
	} else {
		hs.names[0] = st->host;
		hs.nnames = st->host[0] ? 1 : 0;
		hs.n = v.n;
		hs.der = read_der;
		hs.ctx = &v;
		hs.pkix = status == 0 ? CERTPIN_PKIX_OK : CERTPIN_PKIX_FAILED;
		hs.pkix_error = (long)status;
		int rc = certpin_binding_check(&o, st->binding, &hs);
		ok = record(st, &o, rc, status == 0 && c.npeers > 0, pin_only);
		if (ok)
			certpin_session_tag_merge(&st->tag, &o.tag); /* what this session may be resumed for */
	}
	st->status = status | (ok ? 0 : GNUTLS_CERT_INVALID);
	return ok ? 0 : GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

int certpin__gt_verify(gnutls_session_t session)
{
	gt_state *st = certpin__gt_state(session, false, NULL);

	return st ? check(session, st) : GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}
