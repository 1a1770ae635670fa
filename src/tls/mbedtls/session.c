/*
 * The mbedTLS adapter's results and sessions (certpin/mbedtls.h).  A
 * connection keeps the outcome of its last check (adapter.c) and the tag
 * of what its session passed; a kept session carries that tag, and
 * certpin_mbedtls_set_session() resumes it only where the engine says the
 * binding allows it (certpin_binding_resume_ok()).  mbedTLS 2.28 keeps no
 * data of others with its sessions, so the tag travels in a session object
 * of certpin's, in memory only.
 */
#include "mbedtls_internal.h"

#include <stdlib.h>
#include <string.h>

/* The result of no check: not pinned, nothing matched. */
static void no_result(certpin_result *out)
{
	memset(out, 0, sizeof(*out));
	out->version = CERTPIN_RESULT_VERSION;
	out->verdict = CERTPIN_VERDICT_NOT_PINNED;
	out->rule = out->pin = out->depth = -1;
}

int certpin_mbedtls_result(certpin_result *out, const certpin_mbedtls_conn *conn)
{
	if (!conn)
		return CERTPIN_E_INVALID_ARG;
	if (!conn->checked) {
		if (out)
			no_result(out);
		return CERTPIN_E_STATE;
	}
	if (out)
		*out = conn->out.result;
	return conn->rc;
}

int certpin_mbedtls_tofu_result(certpin_tofu_result *out, const certpin_mbedtls_conn *conn)
{
	if (!conn)
		return CERTPIN_E_INVALID_ARG;
	if (!conn->checked || conn->out.tofu_rc == CERTPIN_E_STATE)
		return CERTPIN_E_STATE;
	if (out)
		*out = conn->out.tofu;
	return conn->out.tofu_rc;
}

/* Clear what the connection knows of its handshake: another one is to come. */
static void forget_handshake(certpin_mbedtls_conn *conn)
{
	conn->checked = false;
	conn->rc = CERTPIN_E_STATE;
	memset(&conn->tag, 0, sizeof(conn->tag));
}

static int tls_code(int ret)
{
	return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? CERTPIN_E_NOMEM
	     : ret == MBEDTLS_ERR_SSL_BAD_INPUT_DATA ? CERTPIN_E_INVALID_ARG : CERTPIN_E_TLS;
}

int certpin_mbedtls_get_session(certpin_mbedtls_session **out, const certpin_mbedtls_conn *conn)
{
	certpin_mbedtls_session *s;
	int ret;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!conn)
		return CERTPIN_E_INVALID_ARG;
	if (!(s = calloc(1, sizeof(*s))))
		return CERTPIN_E_NOMEM;
	mbedtls_ssl_session_init(&s->session);
	if ((ret = mbedtls_ssl_get_session(conn->ssl, &s->session)) != 0) {
		certpin_mbedtls_session_free(s);
		return ret == MBEDTLS_ERR_SSL_BAD_INPUT_DATA ? CERTPIN_E_TLS : tls_code(ret);
	}
	s->tag = conn->tag;
	*out = s;
	return CERTPIN_OK;
}

int certpin_mbedtls_set_session(certpin_mbedtls_conn *conn, const certpin_mbedtls_session *session)
{
	int ret;

	if (!conn || !session)
		return CERTPIN_E_INVALID_ARG;
	forget_handshake(conn);
	conn->next = -1;
	if (!certpin_binding_resume_ok(conn->b, conn->named ? conn->host : NULL, &session->tag))
		return CERTPIN_OK; /* not set: a full, checked handshake follows */
	if ((ret = mbedtls_ssl_set_session(conn->ssl, &session->session)) != 0)
		return tls_code(ret);
	conn->tag = session->tag;
	return CERTPIN_OK;
}

void certpin_mbedtls_session_free(certpin_mbedtls_session *session)
{
	if (!session)
		return;
	mbedtls_ssl_session_free(&session->session);
	free(session);
}
