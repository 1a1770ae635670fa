/*
 * Resumption.  A resumed handshake runs no verify function, and during a
 * resumed TLS 1.3 handshake GnuTLS does not even show the stored
 * certificates (it restores them once the handshake has ended), so nothing
 * can be checked then.  Instead, as certpin/adapter.h says, a session may be
 * resumed only if its full handshake passed the same policy and store for
 * the same host: certpin_gnutls_session_get_data() stores the session's tag
 * with GnuTLS's session data, certpin_gnutls_session_set_data() offers a
 * stored session only if the binding accepts its tag (else a full, checked
 * handshake follows), and the session's handshake hook refuses every
 * resumed handshake the binding does not accept (a session set with
 * gnutls_session_set_data() directly has no tag).  GnuTLS first shows that
 * a handshake resumes (gnutls_session_is_resumed()) after the ServerHello in
 * TLS 1.3 and at the server's Finished in TLS 1.2; the hook judges at the
 * first incoming message that shows it, before the client's Finished.
 *
 * The hook itself is in state.c, with the rest of the session's state.
 *
 * Tags name policies and stores by serial numbers that are only unique in
 * one process: stored data carries a random number drawn once per process,
 * and data from another process is not offered.
 */
#include "gnutls_adapter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "certpin-gnutls-1"
#define MAGIC_LEN 16
#define NONCE_LEN 16
#define HEAD_LEN (MAGIC_LEN + NONCE_LEN + 8 * CERTPIN_TAG_SERIALS + 2)

static unsigned char nonce[NONCE_LEN];
static bool nonce_ok;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void nonce_init(void)
{
	nonce_ok = gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof(nonce)) == 0;
}

static bool have_nonce(void)
{
	return pthread_once(&nonce_once, nonce_init) == 0 && nonce_ok;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int certpin_gnutls_session_get_data(unsigned char **out, size_t *len, gnutls_session_t session)
{
	gt_state *st = session ? certpin__gt_state(session, false, NULL) : NULL;
	gnutls_datum_t d = { NULL, 0 };

	if (!out || !len || !session)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	*len = 0;
	if (!have_nonce())
		return CERTPIN_E_TLS;
	if (gnutls_session_get_data2(session, &d) < 0)
		return CERTPIN_E_STATE;
	size_t hl = st ? strnlen(st->tag.host, sizeof(st->tag.host) - 1) : 0;
	unsigned char *p = malloc(HEAD_LEN + hl + d.size);
	if (!p) {
		gnutls_free(d.data);
		return CERTPIN_E_NOMEM;
	}
	memcpy(p, MAGIC, MAGIC_LEN);
	memcpy(p + MAGIC_LEN, nonce, NONCE_LEN);
	for (size_t i = 0; i < CERTPIN_TAG_SERIALS; i++)
		put64(p + MAGIC_LEN + NONCE_LEN + 8 * i, st ? st->tag.serials[i] : 0);
	p[HEAD_LEN - 2] = (unsigned char)(hl >> 8);
	p[HEAD_LEN - 1] = (unsigned char)hl;
	if (hl)
		memcpy(p + HEAD_LEN, st->tag.host, hl);
	memcpy(p + HEAD_LEN + hl, d.data, d.size);
	*out = p;
	*len = HEAD_LEN + hl + d.size;
	gnutls_free(d.data);
	return CERTPIN_OK;
}

/* The tag of stored data and where GnuTLS's own data starts; false if it is not certpin's, or another process's. */
static bool parse(certpin_session_tag *tag, size_t *at, const unsigned char *data, size_t len)
{
	memset(tag, 0, sizeof(*tag));
	if (len < HEAD_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0 || memcmp(data + MAGIC_LEN, nonce, NONCE_LEN) != 0)
		return false;
	for (size_t i = 0; i < CERTPIN_TAG_SERIALS; i++)
		tag->serials[i] = get64(data + MAGIC_LEN + NONCE_LEN + 8 * i);
	size_t hl = (size_t)data[HEAD_LEN - 2] << 8 | data[HEAD_LEN - 1];
	if (hl >= sizeof(tag->host) || len - HEAD_LEN <= hl || memchr(data + HEAD_LEN, '\0', hl))
		return false;
	memcpy(tag->host, data + HEAD_LEN, hl);
	*at = HEAD_LEN + hl;
	return true;
}

int certpin_gnutls_session_set_data(gnutls_session_t session, const unsigned char *data, size_t len,
	certpin_error *err)
{
	certpin_session_tag tag;
	size_t at = 0;
	gt_state *st;

	if (!session || !data)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, !session ? "no session" : "no data");
	if (!have_nonce())
		return certpin_error_set(err, CERTPIN_E_TLS, NULL, 0, "GnuTLS gave no random number");
	if (!parse(&tag, &at, data, len))
		return certpin_error_set(err, CERTPIN_E_DECODE, NULL, 0,
			"not session data of certpin_gnutls_session_get_data() in this process: not offered");
	if (!(st = certpin__gt_state(session, true, err)))
		return err ? err->code : CERTPIN_E_TLS;
	if (st->binding && !certpin_binding_resume_ok(st->binding, st->host[0] ? st->host : NULL, &tag))
		return certpin_error_set(err, CERTPIN_E_STATE, NULL, 0, "the session did not pass the policy and "
			"store now attached for %s: not offered, a full handshake follows", st->host[0] ? st->host : "no name");
	int rc = gnutls_session_set_data(session, data + at, len - at);
	if (rc < 0)
		return certpin_error_set(err, CERTPIN_E_TLS, NULL, 0, "gnutls_session_set_data: %s", gnutls_strerror(rc));
	st->offered = true;
	st->offered_tag = tag;
	certpin__gt_guard_resumption(session);
	certpin_error_clear(err);
	return CERTPIN_OK;
}
