/*
 * The public calls on a GnuTLS session: attach a policy or a TOFU store, set
 * the name to verify, and read the last handshake's result.  The session's
 * state itself lives in state.c.
 */
#include "gnutls_adapter.h"

#include <string.h>

static bool options_ok(const certpin_ssl_options *opts)
{
	return !opts || (opts->version == CERTPIN_SSL_OPTIONS_VERSION &&
		(opts->flags & ~(unsigned int)CERTPIN_SSL_INSECURE_PIN_ONLY) == 0);
}

/* Make or swap the session's binding to hold `policy`, `store` and `opts`, and set the verify function. */
static int rebind(gnutls_session_t session, gt_state *st, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts, certpin_error *err)
{
	certpin_ssl_options o = opts ? *opts : (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	int rc;

	if ((o.flags & CERTPIN_SSL_INSECURE_PIN_ONLY) && store)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0,
			"pin-only trust and a TOFU store on one session: TOFU needs a verified chain");
	rc = st->binding ? certpin_binding_set(st->binding, policy, store, &o)
			 : certpin_binding_new(&st->binding, policy, store, &o);
	if (rc != CERTPIN_OK)
		return certpin_error_set(err, rc, NULL, 0, "certpin could not bind the policy: %s", certpin_strerror(rc));
	/* borrowed: the binding holds a reference to each until the next rebind() */
	st->policy = policy;
	st->store = store;
	st->opts = o;
	gnutls_session_set_verify_function(session, certpin__gt_verify);
	certpin__gt_guard_resumption(session);
	certpin_error_clear(err);
	return CERTPIN_OK;
}

int certpin_gnutls_session_attach(gnutls_session_t session, certpin_policy *policy, const certpin_ssl_options *opts,
	certpin_error *err)
{
	gt_state *st;

	if (!session || !policy || !options_ok(opts))
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0,
			!session ? "no session" : !policy ? "no policy" : "unknown options version or flag");
	if (!(st = certpin__gt_state(session, true, err)))
		return err ? err->code : CERTPIN_E_TLS;
	return rebind(session, st, policy, st->store, opts, err);
}

int certpin_gnutls_tofu_attach(gnutls_session_t session, certpin_tofu *store, certpin_error *err)
{
	gt_state *st;

	if (!session || !store)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, !session ? "no session" : "no store");
	if (!(st = certpin__gt_state(session, true, err)))
		return err ? err->code : CERTPIN_E_TLS;
	return rebind(session, st, st->policy, store, &st->opts, err);
}

int certpin_gnutls_set_verify_cert(gnutls_session_t session, const char *hostname, unsigned int flags,
	certpin_error *err)
{
	gt_state *st;
	size_t n = hostname ? strlen(hostname) : 0;

	if (!session)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no session");
	if (n == 0 || n >= sizeof(st->host))
		return certpin_error_set(err, CERTPIN_E_HOSTNAME, NULL, 0, "%s host name to verify",
			!hostname ? "no" : n == 0 ? "an empty" : "too long a");
	if (!(st = certpin__gt_state(session, true, err)))
		return err ? err->code : CERTPIN_E_TLS;
	memcpy(st->host, hostname, n + 1);
	if (flags) /* GnuTLS's own way to add verify flags to a session; it sets its verify function, replaced below */
		gnutls_session_set_verify_cert(session, NULL, flags);
	st->vflags |= flags;
	gnutls_session_set_verify_function(session, certpin__gt_verify);
	certpin_error_clear(err);
	return CERTPIN_OK;
}

/* The state of a session whose current handshake ran a check; NULL if none did. */
static gt_state *checked(gnutls_session_t session)
{
	gt_state *st = session ? certpin__gt_state(session, false, NULL) : NULL;

	return st && st->checked ? st : NULL;
}

int certpin_gnutls_result(certpin_result *out, gnutls_session_t session)
{
	gt_state *st = checked(session);

	if (!session)
		return CERTPIN_E_INVALID_ARG;
	if (!st) {
		if (out) {
			memset(out, 0, sizeof(*out));
			out->version = CERTPIN_RESULT_VERSION;
			out->verdict = CERTPIN_VERDICT_NOT_PINNED;
			out->rule = out->pin = out->depth = -1;
		}
		return CERTPIN_E_STATE;
	}
	if (out)
		*out = st->result;
	return st->rc;
}

int certpin_gnutls_tofu_result(certpin_tofu_result *out, gnutls_session_t session)
{
	gt_state *st = checked(session);

	if (!session)
		return CERTPIN_E_INVALID_ARG;
	if (!st || st->tofu_rc == CERTPIN_E_STATE) {
		if (out) {
			memset(out, 0, sizeof(*out));
			out->version = CERTPIN_TOFU_RESULT_VERSION;
		}
		return CERTPIN_E_STATE;
	}
	if (out)
		*out = st->tofu;
	return st->tofu_rc;
}

unsigned int certpin_gnutls_verify_status(gnutls_session_t session)
{
	gt_state *st = checked(session);

	return st ? st->status : (unsigned int)-1;
}
