/*
 * The wolfSSL adapter.  It answers the engine's three questions
 * (certpin/adapter.h) for wolfSSL 5.5, through wolfSSL's public API only.
 *
 * Which name did the application verify?  wolfSSL 5.5 has no call that
 * returns the name of wolfSSL_check_domain_name(), so it is the one that
 * certpin_wolfssl_set_host() gave to wolfSSL and to certpin alike
 * (wolfssl_conn.c).  No name: the engine refuses what it would check.
 *
 * How does wolfSSL refuse a handshake?  The verify callback returns 0:
 * wolfSSL sends a fatal alert and wolfSSL_connect() fails with
 * VERIFY_CERT_ERROR (wolfSSL_get_verify_result() is left as wolfSSL set it:
 * 5.5 has no call that changes it).  An error wolfSSL reports counts even
 * when it says preverify_ok (see cpw_verify_cb()).
 *
 * Which chain did wolfSSL verify?  wolfSSL hands its verify callback no
 * verified path, so the adapter rebuilds the one wolfSSL's checks took:
 *
 * - wolfSSL trusts a table of CA certificates (its CertManager): those the
 *   application loaded, and each CA certificate a peer sent that wolfSSL
 *   verified in a handshake on the context, which it adds to the table for
 *   good.  A certificate verifies when its signature checks out with the key
 *   of the table entry ProcessPeerCerts looks up for it: by its authority key
 *   identifier (the table holds one entry per subject key identifier), else
 *   by issuer name.  An entry's own signature is checked when a peer's copy
 *   is verified, never when the application loads it.
 *
 * - With WOLFSSL_ALWAYS_VERIFY_CB and WOLFSSL_VERIFY_CB_ALL_CERTS, wolfSSL
 *   calls the verify callback for every certificate the peer sent, from the
 *   last one down, and for the peer's own certificate (depth 0) last, after
 *   its signature, dates and host name were checked; an error above it is
 *   carried down to it.  The callback sees the peer's list, not a path:
 *   X509_STORE_CTX_get_chain() is the list as sent plus the table's issuer of
 *   its last element; a certificate sent beside the path (the genuine chain
 *   appended to a forged leaf) is reported as verified like any other; and
 *   with WOLFSSL_ALT_CERT_CHAINS (as Debian builds it) a CA certificate whose
 *   issuer the table lacks is reported with no error although nothing was
 *   checked.  None of this is pinned on.
 *
 * - The chain the adapter hands over: element 0 is the peer's certificate
 *   (the current certificate at depth 0, whose key the handshake then
 *   proves).  Element 1 is the table entry wolfSSL verified it with, found
 *   by wolfSSL_X509_STORE_CTX_get1_issuer() on a store context of the
 *   adapter's own over the connection's X509_STORE: the lookup
 *   ProcessPeerCerts made (authority key identifier, else issuer name), in
 *   the same table, and one that never consults the peer's list.  Each
 *   further element is the table's issuer of the one below, found the same
 *   way, but only while that one's own signature was checked in this
 *   handshake: the peer sent it (the same DER, or the same subject, key and
 *   authority key identifier), and wolfSSL reported it without error and,
 *   once it had switched to an alternate chain, listed it in
 *   wolfSSL_get_peer_alt_chain().  The chain ends at the first entry whose
 *   signature this handshake took on trust -- a CA the application loaded,
 *   or one an earlier handshake verified into the table: the trust anchor of
 *   this handshake -- or at one that names itself as its issuer.  So every
 *   link is a signature wolfSSL checked during this handshake, and the last
 *   element is a certificate wolfSSL's table trusts.  The peer's list only
 *   tells which entries were checked now; no certificate comes from it but
 *   the leaf.
 *
 * - The path is walked only when the engine reads past the leaf (each table
 *   lookup decodes a certificate, some 45 us in wolfSSL 5.5; a matching leaf
 *   pin needs none).  The engine needs the length first: it is predicted from
 *   the names and key identifiers of the certificates wolfSSL reported
 *   verified, and a walk that finds another length fails the read, so a
 *   pinned host is refused (CERTPIN_E_CHAIN) rather than checked on a chain
 *   other than the one walked.  Nothing is read unless wolfSSL's checks all
 *   passed with no error accepted.
 *
 * - Pin-only trust verifies nothing: the context runs with
 *   WOLFSSL_VERIFY_NONE, so wolfSSL adds nothing the peer sends to its table,
 *   and the chain is the peer's certificate alone.
 */
#include "wolfssl_internal.h"

#include <string.h>

/* A new handshake on the connection (another client random): forget what the last one reported. */
static void handshake_begin(cpw_conn *cn, WOLFSSL *ssl)
{
	unsigned char id[CPW_RANDOM_LEN];

	memset(id, 0, sizeof(id));
	(void)wolfSSL_get_client_random(ssl, id, sizeof(id));
	if (memcmp(id, cn->hs_id, sizeof(id)) == 0)
		return;
	memcpy(cn->hs_id, id, sizeof(id));
	memset(cn->peers, 0, sizeof(cn->peers));
	cn->broken = cn->pkix_overridden = 0;
	cn->pkix_error = 0;
	cn->arena_len = 0;
}

/*
 * The engine's check of the handshake, recorded; returns what the verify
 * callback returns: 1 to go on, `stack_ok` when the stack's own verdict
 * stands, 0 to refuse.  `leaf` NULL: the check comes before the leaf
 * (wolfSSL aborts after an error above it), with an empty chain.
 */
static int check(cpw_ctx *cx, cpw_conn *cn, WOLFSSL *ssl, WOLFSSL_X509_STORE_CTX *store, WOLFSSL_X509 *leaf,
	certpin_pkix pkix, int stack_ok)
{
	certpin_handshake hs = CERTPIN_HANDSHAKE_INIT;
	cpw_chain chain;

	cpw_chain_init(&chain, ssl, store, cn, leaf,
		cx->pin_only ? CPW_PIN_ONLY : pkix == CERTPIN_PKIX_OK ? CPW_VERIFIED : CPW_UNVERIFIED);
	if (cn->host[0]) {
		hs.names[0] = cn->host;
		hs.nnames = 1;
	}
	hs.n = chain.n;
	hs.der = cpw_chain_der;
	hs.ctx = &chain;
	hs.pkix = pkix;
	hs.pkix_error = cn->pkix_error;
	(void)certpin_binding_check(&cn->out, cx->binding, &hs); /* the outcome says all */
	cpw_chain_done(&chain);
	memcpy(cn->rec_id, cn->hs_id, sizeof(cn->rec_id));
	cn->have_record = 1;
	if (cn->out.decision == CERTPIN_DECIDE_CONTINUE)
		return 1;
	return cn->out.decision == CERTPIN_DECIDE_STACK ? stack_ok : 0;
}

/*
 * Pin-only trust: nothing above the leaf counts, and nothing there may be
 * accepted: with verification on (an application changed the mode), an
 * error accepted for a CA certificate would add it to wolfSSL's table, so
 * its error then ends the handshake, and the check, with an empty chain.
 */
static int pin_only_cb(cpw_ctx *cx, cpw_conn *cn, WOLFSSL *ssl, WOLFSSL_X509_STORE_CTX *store, int preverify,
	int depth)
{
	bool verifying = (wolfSSL_get_verify_mode(ssl) & WOLFSSL_VERIFY_PEER) != 0;

	if (depth > 0)
		return !verifying || preverify ? 1 : check(cx, cn, ssl, store, NULL, CERTPIN_PKIX_OK, 0);
	return check(cx, cn, ssl, store, wolfSSL_X509_STORE_CTX_get_current_cert(store), CERTPIN_PKIX_OK, 0);
}

int cpw_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	WOLFSSL *ssl = wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx());
	cpw_ctx *cx = ssl ? cpw_ctx_get(wolfSSL_get_SSL_CTX(ssl)) : NULL;
	cpw_conn *cn = cx ? cpw_conn_get(ssl, true) : NULL;
	int depth = wolfSSL_X509_STORE_CTX_get_error_depth(store);

	if (!cn)
		return 0; /* detached, or no memory for a record: fail closed */
	handshake_begin(cn, ssl);
	if (cx->pin_only)
		return pin_only_cb(cx, cn, ssl, store, preverify, depth);
	/*
	 * wolfSSL 5.5 works out `preverify` before its check of the name set
	 * with wolfSSL_set1_host() or an IP (X509_VERIFY_PARAM_set1_ip_asc()):
	 * a mismatch there comes with preverify 1 and the error in the store,
	 * and a callback that returns preverify accepts it.  Its error counts.
	 */
	int err = wolfSSL_X509_STORE_CTX_get_error(store);
	preverify = preverify && err == X509_V_OK;
	VerifyCallback app = cpw_app_verify(cx, cn);
	int ok = (app ? app(preverify, store) : preverify) != 0;
	if (!preverify && !cn->pkix_error)
		cn->pkix_error = err;
	if (!preverify && ok)
		cn->pkix_overridden = 1;
	if (depth > 0) {
		if (!cpw_peer_record(cn, ssl, wolfSSL_X509_STORE_CTX_get_current_cert(store), depth, preverify))
			cn->broken = 1; /* the chain above the leaf is then unknown: a check that needs it refuses */
		/* refused above the leaf: wolfSSL will not call back for the leaf, so the check runs now */
		return ok ? 1 : check(cx, cn, ssl, store, NULL, CERTPIN_PKIX_FAILED, 0);
	}
	certpin_pkix pkix = CERTPIN_PKIX_OK;
	if (!preverify && !ok)
		pkix = CERTPIN_PKIX_FAILED;
	else if (cn->pkix_overridden || !(wolfSSL_get_verify_mode(ssl) & WOLFSSL_VERIFY_PEER))
		pkix = CERTPIN_PKIX_OVERRIDDEN; /* an error accepted, or verification off: nothing is verified */
	return check(cx, cn, ssl, store, wolfSSL_X509_STORE_CTX_get_current_cert(store), pkix, ok);
}
