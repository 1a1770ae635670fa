/*
 * certpin's state on a GnuTLS session: where it is kept, when a handshake
 * starts, and the guard of resumed handshakes.
 *
 * GnuTLS has no per-session data slot for libraries (gnutls_session_set_ptr()
 * is the application's), but a TLS extension registered on one session
 * (gnutls_session_ext_register()) has its own data (gnutls_ext_set_data(),
 * gnutls_ext_get_data()), freed through the extension's deinit function by
 * gnutls_deinit().  certpin registers CERTPIN_GNUTLS_EXT_TYPE for that: the
 * extension is never sent (its send function writes nothing), is refused if
 * a server sends it, and its send function, which GnuTLS calls while it
 * makes each ClientHello, marks the start of a handshake: the previous
 * handshake's result is dropped there, and the resumption guard is set
 * again.
 *
 * The guard: GnuTLS has one handshake hook per session and no way to read
 * it back, so certpin sets it when attaching and again while it makes each
 * ClientHello (the extension's send function); a hook of the application's
 * does not survive on a session certpin is attached to.  The hook judges a
 * resumed handshake at the first incoming message that shows it resumes
 * (resume.c says why and when), before the client's Finished.
 */
#include "gnutls_adapter.h"

#include <stdlib.h>
#include <string.h>

static int hook(gnutls_session_t session, unsigned int htype, unsigned int when, unsigned int incoming,
	const gnutls_datum_t *msg)
{
	gt_state *st = certpin__gt_state(session, false, NULL);

	(void)htype, (void)msg;
	if (when != GNUTLS_HOOK_POST || !incoming || !st || st->resumption_judged || !gnutls_session_is_resumed(session))
		return 0;
	st->resumption_judged = true;
	if (!st->binding ||
	    certpin_binding_resume_ok(st->binding, st->host[0] ? st->host : NULL, st->offered ? &st->offered_tag : NULL)) {
		st->tag = st->offered ? st->offered_tag : st->tag;
		return 0;
	}
	certpin__gt_forget(st);
	st->resumption_judged = st->checked = true;
	st->rc = CERTPIN_E_CHAIN; /* the session's chain is not checked again, and its tag does not vouch for it */
	st->result.version = CERTPIN_RESULT_VERSION;
	st->result.verdict = CERTPIN_VERDICT_NOT_PINNED;
	st->result.rule = st->result.pin = st->result.depth = -1;
	st->status = GNUTLS_CERT_INVALID;
	return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

void certpin__gt_guard_resumption(gnutls_session_t session)
{
	gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, hook);
}

static int ext_recv(gnutls_session_t session, const unsigned char *data, size_t len)
{
	(void)session, (void)data, (void)len;
	return GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION; /* never sent, so never answered */
}

static int ext_send(gnutls_session_t session, gnutls_buffer_t extdata)
{
	gt_state *st = certpin__gt_state(session, false, NULL);

	(void)extdata;
	if (!st)
		return GNUTLS_E_INTERNAL_ERROR;
	certpin__gt_forget(st);
	certpin__gt_guard_resumption(session);
	return 0;
}

static void ext_deinit(gnutls_ext_priv_data_t data)
{
	gt_state *st = data;

	if (!st)
		return;
	certpin_binding_free(st->binding);
	certpin__gt_path_free(&st->path);
	free(st);
}

gt_state *certpin__gt_state(gnutls_session_t session, bool create, certpin_error *err)
{
	gnutls_ext_priv_data_t data = NULL;
	gt_state *st;

	if (gnutls_ext_get_data(session, CERTPIN_GNUTLS_EXT_TYPE, &data) == 0 && data)
		return data;
	if (!create)
		return NULL;
	if (!(st = calloc(1, sizeof(*st)))) {
		certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "no memory for certpin's session state");
		return NULL;
	}
	st->opts = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	certpin__gt_forget(st);
	int rc = gnutls_session_ext_register(session, "certpin", CERTPIN_GNUTLS_EXT_TYPE, GNUTLS_EXT_TLS, ext_recv,
		ext_send, ext_deinit, NULL, NULL, GNUTLS_EXT_FLAG_CLIENT_HELLO);
	if (rc == 0) {
		gnutls_ext_set_data(session, CERTPIN_GNUTLS_EXT_TYPE, st);
		data = NULL;
		if (gnutls_ext_get_data(session, CERTPIN_GNUTLS_EXT_TYPE, &data) == 0 && data == st)
			return st;
		rc = GNUTLS_E_INTERNAL_ERROR;
	}
	free(st);
	certpin_error_set(err, rc == GNUTLS_E_MEMORY_ERROR ? CERTPIN_E_NOMEM : CERTPIN_E_TLS, NULL, 0,
		"GnuTLS did not register certpin's session extension (type %#x): %s", CERTPIN_GNUTLS_EXT_TYPE,
		gnutls_strerror(rc));
	return NULL;
}

void certpin__gt_forget(gt_state *st)
{
	st->checked = st->resumption_judged = false;
	st->status = (unsigned int)-1;
	st->rc = st->tofu_rc = CERTPIN_E_STATE;
	memset(&st->result, 0, sizeof(st->result));
	memset(&st->tofu, 0, sizeof(st->tofu));
}
