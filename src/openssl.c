/*
 * The OpenSSL adapter.  It answers three questions and leaves the rest to
 * the sources (sources.c) and the engine (verify.c):
 *
 * Which names did the application verify?  The verification host names
 * (SSL_set1_host(), SSL_add1_host()) and IP, else the SNI name, which then
 * also becomes the verification host so that PKIX checks it.
 *
 * Which chain did OpenSSL verify?  X509_STORE_CTX_get0_chain() once
 * X509_verify_cert() has succeeded: the chain OpenSSL built from the peer's
 * certificates and the trust store, ending at the trust anchor it used,
 * never the list the peer sent.  The context attachment's ctx_verify_cb()
 * calls X509_verify_cert() itself and counts the chain as verified only if
 * it succeeded with no error left and none accepted by an application
 * verify callback.  The per-connection attachment checks in the verify
 * callback at depth 0 of a walk that reported no error: OpenSSL calls it
 * last, once every certificate above the leaf has verified.  Pin-only trust
 * verifies nothing and hands over the peer's leaf alone, the one
 * certificate whose key the handshake proves.
 *
 * How does OpenSSL refuse a handshake?  The verification fails with
 * X509_V_ERR_APPLICATION_VERIFICATION (a PKIX failure keeps OpenSSL's own
 * error), and SSL_VERIFY_PEER is forced, so that an SSL_VERIFY_NONE set
 * later cannot turn the failure into a warning.
 *
 * Public OpenSSL calls only.  A certificate's SPKI is i2d_X509_PUBKEY() of
 * X509_get_X509_PUBKEY(); its DER is i2d_X509().
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <time.h>

typedef void (*info_cb_fn)(const SSL *ssl, int where, int ret);

/* A connection's record, and its state during a context check. */
typedef struct conn_state {
	certpin__record rec;
	X509_STORE_CTX_verify_cb app_verify_cb; /* the callback X509_verify_cert() would call */
	int pkix_overridden;            /* it accepted an error OpenSSL reported */
	int ssl_binding_refused;        /* the per-connection policy refused meanwhile */
} conn_state;

/* ex_data: a certpin__binding on the SSL_CTX and on the SSL, the state on the SSL, a tag on the session. */
static struct {
	int ctx, ssl, state, session, store_ssl;
} idx = { -1, -1, -1, -1, -1 };
/* The process's digest cache (see certpin__digest_cache), made with the indexes; NULL: none. */
static certpin__digest_cache *cache;
static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;

static void free_binding(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int i, long argl, void *argp)
{
	(void)parent, (void)ad, (void)i, (void)argl, (void)argp;
	certpin__binding_free(ptr);
}

static void free_plain(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int i, long argl, void *argp)
{
	(void)parent, (void)ad, (void)i, (void)argl, (void)argp;
	OPENSSL_free(ptr);
}

/*
 * SSL_dup() and session copies (TLS 1.3 tickets are copies of the
 * handshake's session): the copy of an SSL gets its own binding (argl 1)
 * and no results (argl 0); a session's copy keeps the tag (argl 2), or is
 * only never resumed for a checked host if the copy fails.
 */
static int dup_ex(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int i, long argl, void *argp)
{
	(void)to, (void)from, (void)i, (void)argp;
	void **p = (void **)from_d;

	if (argl == 1)
		return !*p || (*p = certpin__binding_dup(*p)) != NULL;
	*p = argl == 2 && *p ? OPENSSL_memdup(*p, sizeof(certpin__tag)) : NULL;
	return 1;
}

static void init_indexes(void)
{
	idx.ctx = SSL_CTX_get_ex_new_index(0, "certpin binding", NULL, NULL, free_binding);
	idx.ssl = SSL_get_ex_new_index(1, "certpin binding", NULL, dup_ex, free_binding);
	idx.state = SSL_get_ex_new_index(0, "certpin state", NULL, dup_ex, free_plain);
	idx.session = SSL_SESSION_get_ex_new_index(2, "certpin session tag", NULL, dup_ex, free_plain);
	idx.store_ssl = SSL_get_ex_data_X509_STORE_CTX_idx();
	cache = certpin__digest_cache_new(&certpin__x509_ops); /* out of memory: every digest is computed */
}

static bool ensure_indexes(void)
{
	return CRYPTO_THREAD_run_once(&once, init_indexes) && idx.ctx >= 0 && idx.ssl >= 0 && idx.state >= 0 &&
	       idx.session >= 0 && idx.store_ssl >= 0;
}

/* ---- names ---------------------------------------------------------------------- */

/*
 * The names the certificate is verified against (see the top) into chk.
 * With `set_host`, a normalized SNI name becomes the verification host
 * (OpenSSL does not strip a trailing dot).  An IP beside a host name is
 * only of use to a policy with rules for IPs (`ip_rules`): asking OpenSSL
 * costs an allocation, or an error queued when there is none.  The names
 * are borrowed from OpenSSL, the IP copied into `ip_buf`; they must not
 * outlive the check.  False if a name does not fit.
 */
#define IP_TEXT_MAX 64 /* an IPv6 address as text, with room to spare */
static bool conn_names(certpin__check *chk, SSL *ssl, X509_VERIFY_PARAM *param, bool set_host, bool ip_rules,
	char ip_buf[IP_TEXT_MAX])
{
	const char *h;
	bool ok = true;
	char *ip = NULL;

	chk->nnames = 0;
	chk->names_from_sni = false;
	for (int i = 0; ok && (h = X509_VERIFY_PARAM_get0_host(param, i)) != NULL; i++)
		ok = certpin__check_add_name(chk, h);
	if (chk->nnames == 0 || ip_rules) {
		ERR_set_mark(); /* no IP set queues an error: keep it from the caller */
		ip = X509_VERIFY_PARAM_get1_ip_asc(param);
		ERR_pop_to_mark();
	}
	if (ok && ip) {
		ok = snprintf(ip_buf, IP_TEXT_MAX, "%s", ip) < IP_TEXT_MAX &&
		     certpin__check_add_name(chk, ip_buf); /* next to a host name, OpenSSL requires the IP as well */
	}
	OPENSSL_free(ip);
	const char *sni = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
	if (!ok || chk->nnames > 0 || !sni)
		return ok;
	char norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	if (set_host && certpin__host_normalize(norm, sizeof(norm), &is_ip, sni) == CERTPIN_OK &&
	    !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, norm) : X509_VERIFY_PARAM_set1_host(param, norm, 0)))
		return false;
	chk->names_from_sni = true;
	return certpin__check_add_name(chk, sni);
}

/* ---- the verified chain, as the engine reads it ----------------------------------- */

typedef struct x509_chain {
	STACK_OF(X509) *sk;             /* the verified chain; NULL: `leaf` alone (pin-only) */
	X509 *leaf;
	unsigned char *der;             /* the DER handed out last */
} x509_chain;

/* The certpin__chain_source: element i's X509, its DER or its SubjectPublicKeyInfo's DER (into c->der). */
static void *chain_cert(void *ctx, size_t i)
{
	x509_chain *c = ctx;

	return c->sk ? sk_X509_value(c->sk, (int)i) : c->leaf;
}

static int chain_der(void *ctx, size_t i, bool spki, const unsigned char **der, size_t *len)
{
	x509_chain *c = ctx;
	X509 *x = chain_cert(c, i);

	OPENSSL_free(c->der);
	c->der = NULL;
	int n = spki ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &c->der) : i2d_X509(x, &c->der);
	*der = c->der;
	*len = n > 0 ? (size_t)n : 0;
	return n > 0 ? 0 : -1;
}

/* ---- records and session tags ------------------------------------------------------ */

static conn_state *state_get(SSL *ssl)
{
	conn_state *st = SSL_get_ex_data(ssl, idx.state);

	if (!st && (st = OPENSSL_zalloc(sizeof(*st))) != NULL && !SSL_set_ex_data(ssl, idx.state, st)) {
		OPENSSL_free(st);
		st = NULL;
	}
	return st;
}

/* Tag the connection's session with what its full handshake passed. */
static void tag_session(SSL *ssl, const certpin__tag *passed)
{
	SSL_SESSION *sess = SSL_get_session(ssl);
	certpin__tag *t = sess ? SSL_SESSION_get_ex_data(sess, idx.session) : NULL;

	if (!sess || !passed->serials[0])
		return;
	if (!t && (t = OPENSSL_zalloc(sizeof(*t))) != NULL && !SSL_SESSION_set_ex_data(sess, idx.session, t)) {
		OPENSSL_free(t);
		t = NULL;
	}
	if (t) /* untagged, the session is only never resumed for a checked host */
		certpin__tag_merge(t, passed);
}

/* At the start of a client's first handshake: drop a session that may not be resumed. */
static void guard_resumption(SSL *ssl, certpin__binding *sources)
{
	SSL_SESSION *sess = SSL_get_session(ssl);
	certpin__snapshot s;
	certpin__check chk;
	char ip_buf[IP_TEXT_MAX];

	if (!sess)
		return;
	bool named = conn_names(&chk, ssl, SSL_get0_param(ssl), false, false, ip_buf) && chk.nnames > 0;
	certpin__snapshot_take(&s, sources);
	bool ok = certpin__resume_ok(&s, named ? chk.names[0] : NULL, SSL_SESSION_get_ex_data(sess, idx.session));
	certpin__snapshot_drop(&s);
	if (!ok)
		(void)SSL_set_session(ssl, NULL); /* a full handshake, with the checks, follows */
}

static void ctx_info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl; /* OpenSSL passes its own SSL; dropping a session needs it writable */
	certpin__binding *b = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx.ctx);

	if (b && (where & SSL_CB_HANDSHAKE_START) && !SSL_is_server(ssl) && SSL_in_before(ssl))
		guard_resumption(ssl, b);
	if (b && b->app_info)
		((info_cb_fn)b->app_info)(cssl, where, ret);
}

/* Per-connection: the same guard, then the callback OpenSSL would have called (the SSL's earlier one, else the SSL_CTX's). */
static void ssl_info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	certpin__binding *b = SSL_get_ex_data(ssl, idx.ssl);
	info_cb_fn next = b && b->app_info ? (info_cb_fn)b->app_info : SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl));

	if (b && (where & SSL_CB_HANDSHAKE_START) && !SSL_is_server(ssl) && SSL_in_before(ssl)) {
		guard_resumption(ssl, b);
		certpin__binding *cb = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx.ctx);
		if (cb && next != ctx_info_cb)
			guard_resumption(ssl, cb); /* OpenSSL calls the context's only for an SSL without one */
	}
	if (next && next != ssl_info_cb)
		next(cssl, where, ret);
}

/* ---- the check ---------------------------------------------------------------------- */

/* Refuse the handshake (OpenSSL's own PKIX error stands); returns 0. */
static int refuse(SSL *ssl, X509_STORE_CTX *sctx)
{
	int mode = SSL_get_verify_mode(ssl);

	if (X509_STORE_CTX_get_error(sctx) == X509_V_OK)
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
	if (!(mode & SSL_VERIFY_PEER))
		SSL_set_verify(ssl, mode | SSL_VERIFY_PEER, SSL_get_verify_callback(ssl));
	return 0;
}

/*
 * OpenSSL verified the certificate for no name when SNI came too late to
 * become the verification host: for a pinned name, check the leaf against
 * it here.  False if it does not match.
 */
static bool sni_name_ok(const certpin_policy *policy, X509_STORE_CTX *sctx, const char *sni)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

	if (!policy || certpin__host_normalize(norm, sizeof(norm), &is_ip, sni) != CERTPIN_OK ||
	    certpin__policy_match(policy, norm, is_ip) < 0 || (leaf && X509_check_host(leaf, norm, 0, 0, NULL) == 1))
		return true;
	X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
	return false;
}

/*
 * The check of one handshake by the sources of `s`.  `pkix_ok`: OpenSSL
 * verified the chain with no error accepted; `pkix_failed`: it failed on
 * its own; `check_sni`: see sni_name_ok().  Returns 1 to continue, 0 to
 * abort, -1 when OpenSSL's own verdict stands.
 */
static int decide(const certpin__snapshot *s, SSL *ssl, X509_STORE_CTX *sctx, bool pkix_ok, bool pkix_failed,
	bool check_sni)
{
	certpin__check chk = { .pkix_ok = pkix_ok, .pin_only = s->opts.flags & CERTPIN_SSL_INSECURE_PIN_ONLY,
		.composed = SSL_get_ex_data(ssl, idx.ssl) != NULL, .now = (int64_t)time(NULL),
		.on_failure = s->opts.on_failure, .on_result = s->opts.on_result, .payload = s->opts.payload };
	x509_chain xc = { NULL, NULL, NULL };
	certpin__chain_source src = { chain_der, &xc, chain_cert, cache };
	certpin__chain chain;
	certpin__tag passed;
	char ip_buf[IP_TEXT_MAX];
	conn_state *st = state_get(ssl);

	if (!st || SSL_get_client_random(ssl, st->rec.id, sizeof(st->rec.id)) != sizeof(st->rec.id))
		return refuse(ssl, sctx); /* no record can be kept: fail closed */
	if (chk.pin_only)
		xc.leaf = X509_STORE_CTX_get0_cert(sctx);
	else
		xc.sk = X509_STORE_CTX_get0_chain(sctx);
	int n = xc.sk ? sk_X509_num(xc.sk) : xc.leaf != NULL;
	certpin__chain_init(&chain, &src, n > 0 ? (size_t)n : 0);
	chk.chain = &chain;
	if (!conn_names(&chk, ssl, X509_STORE_CTX_get0_param(sctx), !chk.pin_only, certpin__policy_ip_rules(s->policy),
	    ip_buf))
		chk.nnames = 0; /* a name that does not fit counts as none: refused if anything is pinned */
	if (check_sni && chk.names_from_sni && pkix_ok && !sni_name_ok(s->policy, sctx, chk.names[0]))
		chk.pkix_ok = false;
	int e = X509_STORE_CTX_get_error(sctx);
	chk.pkix_error = e != X509_V_OK ? e : X509_V_ERR_UNSPECIFIED;
	int d = certpin__sources_check(&st->rec, &passed, s, &chk, pkix_failed);
	certpin__chain_done(&chain);
	OPENSSL_free(xc.der);
	if (d == 0)
		return refuse(ssl, sctx);
	tag_session(ssl, &passed);
	return d;
}

/* Stands in for the application's verify callback in X509_verify_cert() and notes an error it accepts. */
static int watch_verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, idx.store_ssl);
	conn_state *st = ssl ? SSL_get_ex_data(ssl, idx.state) : NULL;

	if (!st)
		return 0;
	int ok = st->app_verify_cb ? st->app_verify_cb(preverify_ok, sctx) : preverify_ok;
	if (ok && !preverify_ok)
		st->pkix_overridden = 1;
	return ok;
}

/* SSL_CTX_set_cert_verify_callback(): replaces X509_verify_cert(), which it calls first. */
static int ctx_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, idx.store_ssl);
	conn_state *st = ssl ? state_get(ssl) : NULL;
	certpin__snapshot s;
	certpin__check names;
	int d;

	if (!st)
		return ssl ? refuse(ssl, sctx) : 0;
	certpin__snapshot_take(&s, arg);
	if (s.opts.flags & CERTPIN_SSL_INSECURE_PIN_ONLY) { /* no X509_verify_cert(): nothing verified */
		d = decide(&s, ssl, sctx, true, false, false);
		certpin__snapshot_drop(&s);
		return d;
	}
	char ip_buf[IP_TEXT_MAX];
	(void)conn_names(&names, ssl, X509_STORE_CTX_get0_param(sctx), true, false, ip_buf); /* SNI: the verification host */
	st->app_verify_cb = X509_STORE_CTX_get_verify_cb(sctx);
	st->pkix_overridden = st->ssl_binding_refused = 0;
	X509_STORE_CTX_set_verify_cb(sctx, watch_verify_cb);
	int ok = X509_verify_cert(sctx);
	X509_STORE_CTX_set_verify_cb(sctx, st->app_verify_cb);
	if (st->ssl_binding_refused) /* the connection's own policy refused: its result stands */
		d = refuse(ssl, sctx);
	else
		d = decide(&s, ssl, sctx, ok > 0 && X509_STORE_CTX_get_error(sctx) == X509_V_OK && !st->pkix_overridden,
			ok <= 0, false);
	certpin__snapshot_drop(&s);
	return d < 0 ? ok : d;
}

/* Per-connection wrapper: the application's callback first, then the check once the leaf verified. */
static int ssl_verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, idx.store_ssl);
	certpin__binding *b = ssl ? SSL_get_ex_data(ssl, idx.ssl) : NULL;
	certpin__snapshot s;

	if (!b)
		return 0;
	int ok = b->app_verify ? ((SSL_verify_cb)b->app_verify)(preverify_ok, sctx) : preverify_ok;
	/* an error at any depth, even after the leaf's call (name constraints) or accepted, refuses a pinned host */
	bool failed = !preverify_ok || !ok;
	if (!failed && X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	certpin__snapshot_take(&s, b);
	int d = failed ? decide(&s, ssl, sctx, false, true, false)
		       : decide(&s, ssl, sctx, X509_STORE_CTX_get_error(sctx) == X509_V_OK, false, true);
	certpin__snapshot_drop(&s);
	conn_state *st = d == 0 ? SSL_get_ex_data(ssl, idx.state) : NULL;
	if (st)
		st->ssl_binding_refused = 1; /* a context check on the same connection keeps this result */
	return d < 0 ? ok : d;
}

/* ---- attaching ---------------------------------------------------------------------- */

static int check_opts(const certpin_ssl_options *opts, unsigned int allowed_flags)
{
	bool bad = !certpin__options_ok(opts, allowed_flags);
	return bad ? CERTPIN_E_INVALID_ARG : ensure_indexes() ? CERTPIN_OK : CERTPIN_E_TLS;
}

/*
 * The context's binding, made on the first attach (with `policy` and
 * `tofu`, references); later ones swap those for new handshakes.
 */
static int ctx_attach(SSL_CTX *ctx, certpin_policy *policy, const certpin_ssl_options *opts, certpin_tofu *tofu)
{
	certpin__binding *b = SSL_CTX_get_ex_data(ctx, idx.ctx);

	if (b) {
		certpin__binding_swap(b, policy, opts, tofu);
		return CERTPIN_OK;
	}
	if (!(b = certpin__binding_new()) || !SSL_CTX_set_ex_data(ctx, idx.ctx, b)) {
		certpin__binding_free(b);
		certpin_policy_free(policy);
		certpin_tofu_close(tofu);
		return CERTPIN_E_NOMEM;
	}
	certpin__binding_swap(b, policy, opts, tofu);
	b->app_info = (certpin__fn)SSL_CTX_get_info_callback(ctx);
	SSL_CTX_set_info_callback(ctx, ctx_info_cb);
	SSL_CTX_set_cert_verify_callback(ctx, ctx_verify_cb, b);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx) | SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(ctx));
	return CERTPIN_OK;
}

int certpin_ssl_ctx_attach(SSL_CTX *ctx, certpin_policy *policy, const certpin_ssl_options *opts)
{
	int rc = ctx && policy ? check_opts(opts, CERTPIN_SSL_INSECURE_PIN_ONLY) : CERTPIN_E_INVALID_ARG;

	if (rc != CERTPIN_OK)
		return rc;
	certpin__policy_freeze(policy);
	return ctx_attach(ctx, certpin__policy_ref(policy), opts, NULL);
}

int certpin_tofu_ssl_ctx_attach(SSL_CTX *ctx, certpin_tofu *store)
{
	int rc = ctx && store ? check_opts(NULL, 0) : CERTPIN_E_INVALID_ARG;

	return rc != CERTPIN_OK ? rc : ctx_attach(ctx, NULL, NULL, certpin__tofu_ref(store));
}

int certpin_ssl_attach(SSL *ssl, certpin_policy *policy, const certpin_ssl_options *opts)
{
	certpin__binding *b, *old;
	int rc = ssl && policy ? check_opts(opts, 0) : CERTPIN_E_INVALID_ARG;

	if (rc != CERTPIN_OK)
		return rc;
	if (!(b = certpin__binding_new()))
		return CERTPIN_E_NOMEM;
	certpin__policy_freeze(policy);
	certpin__binding_swap(b, certpin__policy_ref(policy), opts, NULL);
	old = SSL_get_ex_data(ssl, idx.ssl);
	SSL_verify_cb cur = SSL_get_verify_callback(ssl);
	b->app_verify = cur == ssl_verify_cb ? (old ? old->app_verify : NULL) : (certpin__fn)cur;
	info_cb_fn cur_info = SSL_get_info_callback(ssl);
	b->app_info = cur_info == ssl_info_cb ? (old ? old->app_info : NULL) : (certpin__fn)cur_info;
	if (!SSL_set_ex_data(ssl, idx.ssl, b)) {
		certpin__binding_free(b);
		return CERTPIN_E_NOMEM;
	}
	certpin__binding_free(old);
	SSL_set_info_callback(ssl, ssl_info_cb);
	SSL_set_verify(ssl, SSL_get_verify_mode(ssl) | SSL_VERIFY_PEER, ssl_verify_cb);
	return CERTPIN_OK;
}

/* The record of `ssl` and the id of its current handshake; NULL if none can be reported. */
static const certpin__record *current_record(const SSL *ssl, unsigned char id[CERTPIN__HANDSHAKE_ID_LEN])
{
	const conn_state *st = ensure_indexes() ? SSL_get_ex_data(ssl, idx.state) : NULL;

	/* a resumed session runs no check: a recorded result would be an earlier handshake's */
	if (!st || SSL_session_reused((SSL *)ssl) ||
	    SSL_get_client_random(ssl, id, CERTPIN__HANDSHAKE_ID_LEN) != CERTPIN__HANDSHAKE_ID_LEN)
		return NULL;
	return &st->rec;
}

int certpin_ssl_result(certpin_result *out, const SSL *ssl)
{
	unsigned char id[CERTPIN__HANDSHAKE_ID_LEN];

	return ssl ? certpin__record_policy(out, current_record(ssl, id), id) : CERTPIN_E_INVALID_ARG;
}

int certpin_tofu_ssl_result(certpin_tofu_result *out, const SSL *ssl)
{
	unsigned char id[CERTPIN__HANDSHAKE_ID_LEN];

	return ssl ? certpin__record_tofu(out, current_record(ssl, id), id) : CERTPIN_E_INVALID_ARG;
}
