/*
 * OpenSSL binding: check a policy on the chain OpenSSL verified, during the
 * handshake.  Per-SSL_CTX via the certificate verification callback (wraps
 * X509_verify_cert), per-SSL via a verify callback wrapper.
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

typedef void (*info_cb_fn)(const SSL *ssl, int where, int ret);

/*
 * A handshake starts cold: the callback runs once, after verification has
 * pushed its code and data out of the caches, so each step costs its cache
 * misses more than its work.  A context binding therefore remembers, in
 * MEMO_SLOTS entries of each kind, the rule a host name led to and the
 * SHA-256 of the SubjectPublicKeyInfos it hashed; later handshakes compare
 * bytes instead.  Entries are made whole, published once with a
 * compare-and-swap into an empty slot, never changed and freed with the
 * binding, so lookups need no lock.  When the slots are full, new names and
 * keys are simply worked out each time.
 */
#define MEMO_SLOTS 8
#define WARM_SLOTS (2 * MEMO_SLOTS)

typedef struct name_memo {
	long rule;                      /* certpin__policy_match(), -1 if unpinned */
	const certpin__rule *r;         /* that rule, NULL if unpinned */
	int is_ip;
	char norm[CERTPIN_HOSTNAME_MAX];
	char raw[];                     /* the name as the connection gave it */
} name_memo;

/*
 * A SubjectPublicKeyInfo remembered by its parts as OpenSSL parsed them:
 * algorithm and parameter OIDs by the address of OpenSSL's own object for
 * them (see obj_lasting()), the key bits by value.  Comparing those reads
 * no OID bytes: libcrypto's object table is three pages a handshake would
 * otherwise touch for this alone.
 */
typedef struct spki_memo {
	const ASN1_OBJECT *alg;
	const ASN1_OBJECT *param;       /* ptype V_ASN1_OBJECT only */
	int ptype;
	int bits_len;
	unsigned char digest[CERTPIN_DIGEST_LEN];
	unsigned char bits[];           /* the key's BIT STRING contents */
} spki_memo;

typedef struct binding {
	const certpin_policy *policy;
	/* policy->nip_rules, read here so a handshake whose name is remembered need not touch the policy */
	size_t nip_rules;
	certpin_ssl_options opts;
	SSL_verify_cb app_cb;       /* per-SSL attach: the callback we wrap */
	/*
	 * The application's info callback, still called (per-SSL attach: the
	 * SSL's own; NULL: the SSL_CTX's, as OpenSSL would)
	 */
	info_cb_fn app_info_cb;
	/*
	 * Context attach: what earlier handshakes worked out, so the next ones
	 * skip it (see memo_find()).  Per-SSL bindings keep none.
	 */
	bool memo;
	_Atomic(void *) names[MEMO_SLOTS];  /* name_memo */
	_Atomic(void *) spkis[MEMO_SLOTS];  /* spki_memo */
	/*
	 * The rules and pin arrays the remembered names lead to, for
	 * prefetch_memo(): hints only, read without a lock.  They belong to the
	 * policy, which outlives the attachment.
	 */
	_Atomic(const void *) warm[WARM_SLOTS];
} binding;

/*
 * The result's fields before its host name: a handshake writes those and the
 * name's own length, not the whole (mostly empty) name buffer.
 */
#define RESULT_HEAD offsetof(certpin_result, hostname)

/*
 * Tag on an SSL_SESSION whose full handshake passed this policy for this
 * host: only such a session may be resumed for a pinned host (a resumed
 * handshake runs no certificate check).
 *
 * The tag also carries that handshake's result, for certpin_ssl_result() on
 * the connection that made it (known by its client random, which a
 * connection before its first ClientHello has all zero): a connection
 * whose handshake passed needs no state of its own, which spares it an
 * ex_data table on the SSL (two allocations) in every handshake.
 */
#define TAG_POLICIES 4

/* A handshake's outcome, for certpin_ssl_result() on the connection whose client random it holds. */
typedef struct conn_result {
	int rc;
	unsigned char client_random[SSL3_RANDOM_SIZE];
	certpin_result result;      /* valid up to the hostname's terminating NUL */
} conn_result;

typedef struct session_tag {
	/* the policies it passed (a context's and a connection's): the first TAG_POLICIES, NULL after the last */
	const certpin_policy *policies[TAG_POLICIES];
	conn_result r;              /* r.result.hostname: the normalized host the tag is for */
} session_tag;

#define TAG_SIZE(host_len) (offsetof(session_tag, r.result) + RESULT_HEAD + (host_len) + 1)

typedef struct ssl_state {
	conn_result r;
	/* context binding, during X509_verify_cert(): the verify callback it calls, and whether it overrode */
	X509_STORE_CTX_verify_cb app_verify_cb;
	int pkix_overridden;        /* the callback accepted an error OpenSSL reported */
	int ssl_binding_refused;    /* certpin_ssl_attach()'s policy refused during it: its result stands */
} ssl_state;

#define BLOCK_SPARES 8

/*
 * This file's globals that a handshake reads, side by side (initialized, so
 * one data page and a few cache lines rather than .data and .bss apart).
 */
static struct {
	int ctx_idx, ssl_binding_idx, ssl_state_idx, session_idx;
	/* libssl's index of the SSL on an X509_STORE_CTX (fixed once made; asking again takes a lock-free once check and a call per handshake) */
	int store_ssl_idx;
	/* OpenSSL's verify callback when the application set none: it returns what it is given */
	X509_STORE_CTX_verify_cb default_verify_cb;
	/*
	 * How many SSLs hold an ssl_state.  While none does, a passing handshake
	 * knows its SSL has none without asking OpenSSL (whose ex_data lookup from
	 * libssl is a few more cold pages per handshake).  Only the SSL's own thread
	 * creates its state, so a relaxed read sees that thread's own increment.
	 */
	atomic_size_t live_states;
	_Atomic(void *) spares[BLOCK_SPARES]; /* see block_get() */
} g = { -1, -1, -1, -1, -1, NULL, 0, { NULL } };

static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;

static void free_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	OPENSSL_free(ptr);
}

/*
 * Blocks for the per-connection state and the session tags.  Every pinned
 * handshake makes one of each and frees them with its SSL and session;
 * through malloc() these odd sizes found no cached chunk and took its slow
 * path, which also re-sorted the chunks OpenSSL's own allocations use next
 * (callgrind: about 5,000 more instructions in _int_malloc per handshake).
 * BLOCK_SPARES freed blocks are kept for reuse instead: each slot is taken
 * and filled with one atomic exchange, so threads need no lock.
 */
#define BLOCK_SIZE 384

/* Put `p` in the first empty one of slots[0..n) (release: its contents are seen with it); false if all are full. */
CERTPIN_HOT static bool slot_put(_Atomic(void *) *slots, size_t n, void *p)
{
	for (size_t i = 0; i < n; i++) {
		void *none = NULL;
		if (atomic_compare_exchange_strong_explicit(&slots[i], &none, p, memory_order_release,
			memory_order_relaxed))
			return true;
	}
	return false;
}

_Static_assert(sizeof(ssl_state) <= BLOCK_SIZE, "ssl_state fits a block");
_Static_assert(sizeof(session_tag) <= BLOCK_SIZE, "a session tag fits a block");

CERTPIN_HOT static void *block_get(void)
{
	for (size_t i = 0; i < BLOCK_SPARES; i++) {
		if (!atomic_load_explicit(&g.spares[i], memory_order_relaxed))
			continue;
		void *p = atomic_exchange_explicit(&g.spares[i], NULL, memory_order_acquire);
		if (p)
			return p;
	}
	return OPENSSL_malloc(BLOCK_SIZE);
}

CERTPIN_HOT static void block_put(void *p)
{
	if (p && !slot_put(g.spares, BLOCK_SPARES, p))
		OPENSSL_free(p);
}

static void free_block(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	block_put(ptr);
}

static void binding_free(binding *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		OPENSSL_free(atomic_load(&b->names[i]));
		OPENSSL_free(atomic_load(&b->spkis[i]));
	}
	OPENSSL_free(b);
}

/* The first entry of slots[] that `same` accepts, or NULL; *free_slot: whether an empty slot remains. */
CERTPIN_HOT static const void *memo_find(_Atomic(void *) *slots, bool (*same)(const void *e, const void *key), const void *key,
	bool *free_slot)
{
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		const void *e = atomic_load_explicit(&slots[i], memory_order_acquire);
		if (!e) {
			*free_slot = true;
			return NULL;
		}
		if (same(e, key))
			return e;
	}
	*free_slot = false;
	return NULL;
}

/* Publish the finished entry `e` in an empty slot; frees it and returns false if none is left. */
static bool memo_add(_Atomic(void *) *slots, void *e)
{
	if (slot_put(slots, MEMO_SLOTS, e))
		return true;
	OPENSSL_free(e);
	return false;
}

/* Add `p` to b->warm unless it is there or the slots are full. */
static void warm_add(binding *b, const void *p)
{
	for (size_t i = 0; i < WARM_SLOTS; i++) {
		const void *seen = NULL;
		if (atomic_compare_exchange_strong_explicit(&b->warm[i], &seen, p, memory_order_relaxed,
			memory_order_relaxed) || seen == p)
			return;
	}
}

static void free_state(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr) {
		atomic_fetch_sub_explicit(&g.live_states, 1, memory_order_relaxed);
		block_put(ptr);
	}
}

static void free_ctx_binding(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	binding_free(ptr);
}

/* SSL_dup(): the copy starts with no check result. */
static int dup_state(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl, void *argp)
{
	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	*(void **)from_d = NULL;
	return 1;
}

/*
 * Copying an SSL (SSL_dup(): its own copy of the binding): a flat copy of
 * `argl` bytes, the size given when the index was made.
 */
static int dup_flat(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl, void *argp)
{
	(void)to, (void)from, (void)idx, (void)argp;
	void **p = (void **)from_d;
	if (*p) {
		void *copy = OPENSSL_memdup(*p, (size_t)argl);
		*p = copy;
		return copy != NULL;
	}
	return 1;
}

/* TLS 1.3 tickets are copies of the handshake's session: the tag follows. */
static int dup_tag(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl, void *argp)
{
	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	session_tag **p = (session_tag **)from_d;
	if (*p) {
		session_tag *copy = block_get();
		if (copy)
			memcpy(copy, *p, TAG_SIZE(strlen((*p)->r.result.hostname)));
		*p = copy;
		return copy != NULL;
	}
	return 1;
}

static void init_indexes(void)
{
	g.ctx_idx = SSL_CTX_get_ex_new_index(0, "certpin binding", NULL, NULL, free_ctx_binding);
	g.ssl_binding_idx = SSL_get_ex_new_index((long)sizeof(binding), "certpin binding", NULL, dup_flat, free_ex);
	g.ssl_state_idx = SSL_get_ex_new_index(0, "certpin state", NULL, dup_state, free_state);
	g.session_idx = SSL_SESSION_get_ex_new_index(0, "certpin session tag", NULL, dup_tag, free_block);
	g.store_ssl_idx = SSL_get_ex_data_X509_STORE_CTX_idx();
	X509_STORE_CTX *probe = X509_STORE_CTX_new();
	if (probe && X509_STORE_CTX_init(probe, NULL, NULL, NULL))
		g.default_verify_cb = X509_STORE_CTX_get_verify_cb(probe);
	X509_STORE_CTX_free(probe);
}

static int ensure_indexes(void)
{
	if (!CRYPTO_THREAD_run_once(&once, init_indexes))
		return 0;
	return g.ctx_idx >= 0 && g.ssl_binding_idx >= 0 && g.ssl_state_idx >= 0 && g.session_idx >= 0 &&
		g.store_ssl_idx >= 0 && g.default_verify_cb != NULL;
}

/* The verification IP address set in `param` (OPENSSL_free() it), or NULL. */
static char *param_ip(X509_VERIFY_PARAM *param)
{
	ERR_set_mark(); /* no IP set queues an error; keep it from the caller */
	char *ip = X509_VERIFY_PARAM_get1_ip_asc(param);
	ERR_pop_to_mark();
	return ip;
}

/* Copy `s` into out[outlen]; 1 if it fits whole (else out is empty). */
CERTPIN_HOT static int copy_name(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s);

	if (n >= outlen) {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, s, n + 1);
	return 1;
}

/*
 * The hostname a connection is verified against: the verification host,
 * else the verification IP, else SNI (which with `set_host` then also
 * becomes the verification host, so PKIX checks the name too).  1 if `out`
 * holds it, 0 if there is none or it does not fit.
 */
CERTPIN_HOT static int conn_name(char *out, size_t outlen, SSL *ssl, X509_VERIFY_PARAM *param, bool set_host)
{
	const char *h = X509_VERIFY_PARAM_get0_host(param, 0);
	char *ip;

	if (h)
		return copy_name(out, outlen, h);
	if ((ip = param_ip(param)) != NULL) {
		int fits = copy_name(out, outlen, ip);
		OPENSSL_free(ip);
		return fits;
	}
	const char *sni = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
	if (sni) {
		char norm[CERTPIN_HOSTNAME_MAX];
		int is_ip;
		/*
		 * OpenSSL's name check does not strip a trailing dot, so verify the
		 * normalized name; an SNI that does not normalize is refused later.
		 */
		if (set_host && certpin__host_normalize(norm, sizeof(norm), &is_ip, sni) == CERTPIN_OK &&
		    !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, norm) : X509_VERIFY_PARAM_set1_host(param, norm, 0)))
			return 0;
		return copy_name(out, outlen, sni);
	}
	return 0;
}

/* Did the full handshake that made the session pass `policy` for `host`? */
static bool tag_has(const session_tag *t, const certpin_policy *policy, const char *host)
{
	if (!t || strcmp(t->r.result.hostname, host) != 0)
		return false;
	for (size_t i = 0; i < TAG_POLICIES && t->policies[i]; i++)
		if (t->policies[i] == policy)
			return true;
	return false;
}

/* `rc` and `res` into `r`, with the connection's client random; false if that cannot be read. */
CERTPIN_HOT static bool result_put(conn_result *r, SSL *ssl, int rc, const certpin_result *res)
{
	r->rc = rc;
	memcpy(&r->result, res, RESULT_HEAD);
	copy_name(r->result.hostname, sizeof(r->result.hostname), res->hostname);
	return SSL_get_client_random(ssl, r->client_random, sizeof(r->client_random)) == sizeof(r->client_random);
}

/*
 * Tag the connection's session: its full handshake passed `policy` for
 * pinned host res->hostname, with result `res` and code `rc`.  A context's
 * and a connection's binding both tag it (the later result stands); a tag
 * for another host is replaced (a session is never resumed on a tag it does
 * not have, so losing one only costs a full handshake).  False if the
 * session is left untagged.
 */
CERTPIN_HOT static bool tag_session(SSL *ssl, const certpin_policy *policy, int rc, const certpin_result *res)
{
	SSL_SESSION *sess = SSL_get_session(ssl);
	session_tag *t;

	if (!sess)
		return false;
	session_tag *old = SSL_SESSION_get_ex_data(sess, g.session_idx);
	if (old && strcmp(old->r.result.hostname, res->hostname) == 0) {
		/* the handshake's own session, not yet shared: add the policy in place */
		size_t i = 0;
		while (i < TAG_POLICIES - 1 && old->policies[i] && old->policies[i] != policy)
			i++;
		old->policies[i] = policy;
		return result_put(&old->r, ssl, rc, res);
	}
	if (!(t = block_get()))
		return false; /* untagged: the session is simply never resumed for a pinned host */
	t->policies[0] = policy;
	for (size_t i = 1; i < TAG_POLICIES; i++)
		t->policies[i] = NULL;
	if (!result_put(&t->r, ssl, rc, res) || !SSL_SESSION_set_ex_data(sess, g.session_idx, t)) {
		block_put(t);
		return false;
	}
	block_put(old);
	return true;
}

/*
 * At the start of a client's first handshake: a session the application set
 * for resumption is dropped (a full handshake, with the pin check, follows)
 * unless the host is unpinned or a full handshake for this host passed this
 * policy to make the session.  A session from another SSL_CTX, another
 * policy or another host would otherwise skip the pins.
 */
static void drop_foreign_session(SSL *ssl, const binding *b)
{
	SSL_SESSION *sess = SSL_get_session(ssl);
	char raw[CERTPIN_HOSTNAME_MAX + 1], norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;

	if (!sess || b->policy->nrules == 0)
		return;
	/* the name the handshake's pin decision will use; none or invalid: no resumption */
	if (!conn_name(raw, sizeof(raw), ssl, SSL_get0_param(ssl), false) ||
	    certpin__host_normalize(norm, sizeof(norm), &is_ip, raw) != CERTPIN_OK)
		norm[0] = '\0';
	if (norm[0] && certpin__policy_match(b->policy, norm, is_ip) < 0)
		return; /* unpinned: resumption as the application wants */
	if (norm[0] && tag_has(SSL_SESSION_get_ex_data(sess, g.session_idx), b->policy, norm))
		return;
	(void)SSL_set_session(ssl, NULL);
}

static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl; /* OpenSSL passes its own SSL; dropping a session needs it writable */
	const binding *b = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g.ctx_idx);

	if (b && (where & SSL_CB_HANDSHAKE_START) && !SSL_is_server(ssl) && SSL_in_before(ssl))
		drop_foreign_session(ssl, b);
	if (b && b->app_info_cb)
		b->app_info_cb(cssl, where, ret);
}

static void info_cb_alone(const SSL *cssl, int where, int ret);

/*
 * certpin_ssl_attach()'s info callback, set on the SSL: the same guard for
 * the connection's own policy, then the callback OpenSSL would have called
 * without it (the SSL's earlier one, else the SSL_CTX's, with its guard).
 */
static void ssl_info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	const binding *b = SSL_get_ex_data(ssl, g.ssl_binding_idx);

	info_cb_fn next = b && b->app_info_cb ? b->app_info_cb : SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl));

	if (b && (where & SSL_CB_HANDSHAKE_START) && !SSL_is_server(ssl) && SSL_in_before(ssl)) {
		drop_foreign_session(ssl, b);
		/*
		 * The context's guard too, unless `next` is it: OpenSSL calls the
		 * context's callback only for an SSL without its own.
		 */
		const binding *cb = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g.ctx_idx);
		if (cb && next != info_cb && next != info_cb_alone)
			drop_foreign_session(ssl, cb);
	}
	if (next && next != ssl_info_cb)
		next(cssl, where, ret);
}

/*
 * The info callback when the application has none: OpenSSL calls it at every
 * state change, and only the start of a handshake matters, so the others
 * return before any lookup.
 */
CERTPIN_HOT static void info_cb_alone(const SSL *cssl, int where, int ret)
{
	/* no session to resume (the usual case): one call, nothing else to look up */
	if ((where & SSL_CB_HANDSHAKE_START) && SSL_get_session(cssl))
		info_cb(cssl, where, ret);
}

/* Fields before the host name zeroed, the name empty (the rest of its buffer is never read). */
CERTPIN_HOT static void result_init(certpin_result *r, int64_t now)
{
	memset(r, 0, RESULT_HEAD + 1);
	r->version = CERTPIN_RESULT_VERSION;
	r->verdict = CERTPIN_VERDICT_NOT_PINNED;
	r->rule = r->pin = r->depth = -1;
	r->checked_at = now;
}

/* The SSL's certpin state, created on first use; NULL if out of memory. */
CERTPIN_HOT static ssl_state *state_get(SSL *ssl)
{
	ssl_state *st = SSL_get_ex_data(ssl, g.ssl_state_idx);
	if (!st) {
		/* not zeroed whole: the result's name buffer is written only up to its NUL */
		st = block_get();
		if (st) {
			memset(st, 0, offsetof(ssl_state, r.result) + RESULT_HEAD + 1);
			st->r.rc = CERTPIN_E_STATE; /* nothing recorded yet */
			st->app_verify_cb = NULL;
			st->pkix_overridden = st->ssl_binding_refused = 0;
		}
		if (!st || !SSL_set_ex_data(ssl, g.ssl_state_idx, st)) {
			block_put(st);
			return NULL;
		}
		atomic_fetch_add_explicit(&g.live_states, 1, memory_order_relaxed);
	}
	return st;
}

/* Record the outcome on the SSL; returns 0 if it could not be stored (caller fails closed). */
CERTPIN_HOT static int record(SSL *ssl, int rc, const certpin_result *res)
{
	ssl_state *st = state_get(ssl);
	if (!st)
		return 0;
	return result_put(&st->r, ssl, rc, res);
}

/*
 * The hostname this connection is verified against (see conn_name()); with
 * `set_host`, an SNI name also becomes the verification host.
 */
CERTPIN_HOT int certpin__ssl_conn_hostname(char *out, size_t outlen, SSL *ssl, X509_STORE_CTX *sctx, bool set_host)
{
	return conn_name(out, outlen, ssl, X509_STORE_CTX_get0_param(sctx), set_host);
}

void certpin__ssl_force_verify_peer(SSL *ssl)
{
	int mode = SSL_get_verify_mode(ssl);

	if (!(mode & SSL_VERIFY_PEER))
		SSL_set_verify(ssl, mode | SSL_VERIFY_PEER, SSL_get_verify_callback(ssl));
}

/* DER tag and length octets for len < 0x10000; returns the count written (at most 3). */
CERTPIN_HOT static size_t der_header(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = 0;

	p[n++] = tag;
	if (len < 0x80) {
		p[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		p[n++] = 0x81;
		p[n++] = (unsigned char)len;
	} else {
		p[n++] = 0x82;
		p[n++] = (unsigned char)(len >> 8);
		p[n++] = (unsigned char)len;
	}
	return n;
}

#define SPKI_FAST_MAX 2048
/*
 * The stack buffer a handshake assembles a SubjectPublicKeyInfo in: room for
 * RSA keys up to 4096 bits and every EC and EdDSA key; larger ones take
 * i2d_X509_PUBKEY().  Kept small so the calls below it stay on stack pages
 * the handshake has just used.
 */
#define SPKI_STACK_BUF 640

/* The parts of a certificate's SubjectPublicKeyInfo, as OpenSSL parsed them. */
typedef struct key_view {
	const ASN1_OBJECT *alg;
	int ptype;                      /* of the parameters: V_ASN1_UNDEF (absent), V_ASN1_NULL or V_ASN1_OBJECT */
	const ASN1_OBJECT *param;       /* V_ASN1_OBJECT */
	const ASN1_BIT_STRING *bits;    /* whole octets (no unused bits) */
} key_view;

/*
 * Fill `k` from x's key; false when the key is of another shape (explicit
 * EC parameters, RSA-PSS parameters, a bit string with unused bits, ...).
 */
CERTPIN_HOT static bool key_view_get(key_view *k, X509 *x)
{
	X509_ALGOR *alg = NULL;

	k->bits = X509_get0_pubkey_bitstr(x);
	/* a bit string parsed from DER says how many bits it leaves unused: require 0 */
	if (!k->bits || !(k->bits->flags & ASN1_STRING_FLAG_BITS_LEFT) || (k->bits->flags & 7) != 0 ||
	    k->bits->length < 0 || !X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg, X509_get_X509_PUBKEY(x)) || !alg)
		return false;
	/*
	 * What X509_ALGOR_get0() returns, read from the public struct: the call
	 * is one more libcrypto page a handshake touches for nothing else.
	 */
	k->alg = alg->algorithm;
	k->ptype = alg->parameter ? alg->parameter->type : V_ASN1_UNDEF;
	k->param = k->ptype == V_ASN1_OBJECT ? alg->parameter->value.object : NULL;
	return k->alg && (k->ptype == V_ASN1_UNDEF || k->ptype == V_ASN1_NULL || (k->ptype == V_ASN1_OBJECT && k->param));
}

/* The SubjectPublicKeyInfo DER of `k` into buf; its length, or 0 if it does not fit or an OID is out of range. */
CERTPIN_HOT static size_t spki_assemble(unsigned char *buf, size_t buflen, const key_view *k)
{
	const unsigned char *param_data = NULL;
	size_t param_oid_len = 0;
	unsigned char head[3][4];

	if (buflen > SPKI_FAST_MAX)
		buflen = SPKI_FAST_MAX;
	size_t oid_len = (size_t)OBJ_length(k->alg);
	const unsigned char *oid_data = OBJ_get0_data(k->alg);
	if (!oid_data || oid_len == 0 || oid_len >= 0x80)
		return 0;
	size_t param_len = 0;
	if (k->ptype == V_ASN1_NULL) {
		param_len = 2;
	} else if (k->ptype == V_ASN1_OBJECT) {
		param_oid_len = (size_t)OBJ_length(k->param);
		param_data = OBJ_get0_data(k->param);
		if (!param_data || param_oid_len == 0 || param_oid_len >= 0x80)
			return 0;
		param_len = 2 + param_oid_len;
	}
	size_t alg_len = 2 + oid_len + param_len;
	size_t key_len = (size_t)k->bits->length + 1; /* the unused-bits octet, 0 */
	if (key_len > buflen)
		return 0;
	size_t h_alg = der_header(head[0], 0x30, alg_len);
	size_t h_key = der_header(head[1], 0x03, key_len);
	size_t body = h_alg + alg_len + h_key + key_len;
	size_t h_spki = der_header(head[2], 0x30, body);
	if (h_spki + body > buflen)
		return 0;

	unsigned char *p = buf;
	memcpy(p, head[2], h_spki), p += h_spki;
	memcpy(p, head[0], h_alg), p += h_alg;
	*p++ = 0x06;
	*p++ = (unsigned char)oid_len;
	memcpy(p, oid_data, oid_len), p += oid_len;
	if (k->ptype == V_ASN1_NULL) {
		*p++ = 0x05;
		*p++ = 0x00;
	} else if (param_data) {
		*p++ = 0x06;
		*p++ = (unsigned char)param_oid_len;
		memcpy(p, param_data, param_oid_len), p += param_oid_len;
	}
	memcpy(p, head[1], h_key), p += h_key;
	*p++ = 0x00;
	if (k->bits->length)
		memcpy(p, k->bits->data, (size_t)k->bits->length), p += k->bits->length;
	return (size_t)(p - buf);
}

/*
 * The certificate's SubjectPublicKeyInfo in DER, assembled from the parts
 * OpenSSL parsed: algorithm OID, parameters (absent, NULL or an OID: RSA,
 * named-curve EC, Ed25519/Ed448) and the key bit string.  The bytes are the
 * ones i2d_X509_PUBKEY() writes (unit-tested against it), at a fraction of
 * its cost: no template encoder, no allocation.  Returns the length in buf,
 * or 0 when the key is of another shape (the caller then uses
 * i2d_X509_PUBKEY()).
 */
size_t certpin__x509_spki_der(unsigned char *buf, size_t buflen, X509 *x)
{
	key_view k;

	return key_view_get(&k, x) ? spki_assemble(buf, buflen, &k) : 0;
}

#define CHAIN_MAX 16
/* How many of a chain's first elements gather_keys() keeps the key parts of (a usual chain's length) */
#define VIEWS_MAX 4

/*
 * The digests of one handshake's chain, computed as needed with one hashing
 * context.  Only elems[0..ready) are in use (flags cleared): clearing all of
 * them would touch a dozen more cache lines per handshake.
 */
typedef struct chain_digests {
	size_t ready;
	EVP_MD_CTX *md;
	binding *memo;  /* the binding whose memo serves, or NULL */
	unsigned int viewed;            /* bit i: views[i] holds element i's key (see gather_keys()) */
	key_view views[VIEWS_MAX];
	certpin_chain_elem elems[CHAIN_MAX];
} chain_digests;

/* Put elems[0..n) in use. */
CERTPIN_HOT static void digests_use(chain_digests *d, size_t n)
{
	while (d->ready < n)
		d->elems[d->ready++].flags = 0;
}

CERTPIN_HOT static bool spki_same(const void *e, const void *key)
{
	const spki_memo *m = e;
	const key_view *k = key;

	return m->alg == k->alg && m->ptype == k->ptype && m->param == k->param && m->bits_len == k->bits->length &&
	       memcmp(m->bits, k->bits->data, (size_t)m->bits_len) == 0;
}

/*
 * Is `o` OpenSSL's lasting object for its OID (its built-in table entry, or
 * one added with OBJ_create(), kept until the library is cleaned up)?  Only
 * such an address names one OID for good: a certificate's own object for
 * an unknown OID is freed with it, and another OID's object may take its
 * address later.
 */
static bool obj_lasting(const ASN1_OBJECT *o)
{
	int nid = o ? OBJ_obj2nid(o) : NID_undef;

	return nid != NID_undef && OBJ_nid2obj(nid) == o;
}

/* Remember the digest of key `k` in a free memo slot, if its OIDs allow (see obj_lasting()). */
static void spki_remember(binding *b, const key_view *k, const unsigned char digest[CERTPIN_DIGEST_LEN])
{
	if (!obj_lasting(k->alg) || (k->ptype == V_ASN1_OBJECT && !obj_lasting(k->param)) ||
	    k->bits->length > SPKI_FAST_MAX)
		return;
	spki_memo *add = OPENSSL_malloc(sizeof(*add) + (size_t)k->bits->length);
	if (!add)
		return;
	add->alg = k->alg;
	add->param = k->param;
	add->ptype = k->ptype;
	add->bits_len = k->bits->length;
	memcpy(add->digest, digest, CERTPIN_DIGEST_LEN);
	if (k->bits->length)
		memcpy(add->bits, k->bits->data, (size_t)k->bits->length);
	memo_add(b->spkis, add);
}

/*
 * SHA-256 of x's SubjectPublicKeyInfo DER, hashed (`k`: its parts, NULL if
 * not of a usual shape).  Not inlined: a key found in the memo does not need
 * this buffer on the stack.
 */
CERTPIN_HOT __attribute__((noinline)) static int spki_hash(chain_digests *d, unsigned char out[CERTPIN_DIGEST_LEN], X509 *x,
	const key_view *k)
{
	unsigned char buf[SPKI_STACK_BUF];
	size_t len = k ? spki_assemble(buf, sizeof(buf), k) : 0;
	if (len)
		return certpin__sha256_reuse(&d->md, out, buf, len) == CERTPIN_OK;
	unsigned char *der = NULL;
	int dlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (dlen <= 0)
		return 0;
	int rc = certpin__sha256_reuse(&d->md, out, der, (size_t)dlen);
	OPENSSL_free(der);
	return rc == CERTPIN_OK;
}

/*
 * SHA-256 of x's SubjectPublicKeyInfo DER, x being chain element `i` (its
 * key parts may be in d->views): from the memo if this key was hashed before.
 */
CERTPIN_HOT static int spki_digest(chain_digests *d, unsigned char out[CERTPIN_DIGEST_LEN], X509 *x, size_t i)
{
	key_view k;
	bool room = false, view = true;

	if (i < VIEWS_MAX && (d->viewed & (1u << i)))
		k = d->views[i];
	else
		view = key_view_get(&k, x);
	const spki_memo *m = view && d->memo ? memo_find(d->memo->spkis, spki_same, &k, &room) : NULL;

	if (m) {
		memcpy(out, m->digest, CERTPIN_DIGEST_LEN);
		return 1;
	}
	if (!spki_hash(d, out, x, view ? &k : NULL))
		return 0;
	if (view && room)
		spki_remember(d->memo, &k, out);
	return 1;
}

CERTPIN_HOT static int elem_from_x509(chain_digests *d, size_t i, X509 *x, unsigned int kinds)
{
	certpin_chain_elem *e = &d->elems[i];

	if ((kinds & CERTPIN_HAVE_SPKI) && !(e->flags & CERTPIN_HAVE_SPKI)) {
		if (!spki_digest(d, e->spki_sha256, x, i))
			return 0;
		e->flags |= CERTPIN_HAVE_SPKI;
	}
	if ((kinds & CERTPIN_HAVE_CERT) && !(e->flags & CERTPIN_HAVE_CERT)) {
		unsigned int n = CERTPIN_DIGEST_LEN;
		if (!X509_digest(x, EVP_sha256(), e->cert_sha256, &n) || n != CERTPIN_DIGEST_LEN)
			return 0;
		e->flags |= CERTPIN_HAVE_CERT;
	}
	return 1;
}

/*
 * Digests for the chain elements the rule can match: only positions that
 * some pin names, only the digest kinds the pins use.  `all` fills every
 * element with both kinds (for failure callbacks).
 */
/* Position bits (1 << certpin_position) that chain index i of n can match. */
CERTPIN_HOT static unsigned int position_bits(size_t i, size_t n)
{
	unsigned int bits = 1u << CERTPIN_POS_ANY;
	bits |= i == 0 ? 1u << CERTPIN_POS_LEAF : 0;
	bits |= i + 1 == n ? 1u << CERTPIN_POS_ROOT : 0;
	bits |= i > 0 && i + 1 < n ? 1u << CERTPIN_POS_INTERMEDIATE : 0;
	return bits;
}

static int fill_chain(chain_digests *d, STACK_OF(X509) *chain, size_t n, const certpin__rule *rule, bool all)
{
	for (size_t i = 0; i < n; i++) {
		if (!all && !(rule->positions & position_bits(i, n)))
			continue;
		if (!elem_from_x509(d, i, sk_X509_value(chain, (int)i),
			all ? CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT : rule->kinds))
			return 0;
	}
	return 1;
}

/*
 * The leaf did not match: read the key parts of the other certificates the
 * rule can match and whose digest is not yet known (another rule of the
 * same handshake may have hashed them, see check_names()), up to VIEWS_MAX,
 * into d->views, and ask for their key bytes, all at once.  Read one
 * certificate at a time, each is a chain of cold misses (certificate, key,
 * bit string, bytes; algorithm, parameters); started together, the chains
 * overlap.
 */
CERTPIN_HOT static void gather_keys(chain_digests *d, STACK_OF(X509) *chain, size_t n, const certpin__rule *rule)
{
	for (size_t i = 1; i < n && i < VIEWS_MAX; i++) {
		if (!(rule->positions & position_bits(i, n)) || (d->elems[i].flags & CERTPIN_HAVE_SPKI))
			continue;
		if (key_view_get(&d->views[i], sk_X509_value(chain, (int)i))) {
			d->viewed |= 1u << i;
			__builtin_prefetch(d->views[i].bits->data);
		}
	}
}

/*
 * Hash the verified chain from the leaf up and stop at the first element a
 * pin matches: the answer a fully hashed chain gives, as the engine scans
 * from the leaf too (certpin__verify_rule()).  A leaf pin costs one digest,
 * not one per certificate; an expired pinset that the pins no longer decide,
 * none.  Returns the engine's code, or CERTPIN_E_CHAIN.
 */
CERTPIN_HOT static int check_chain(certpin_result *res, chain_digests *d, STACK_OF(X509) *chain, size_t n,
	const certpin__rule *rule, long ri, int64_t now)
{
	int rc;
	long k = -1;
	size_t i;
	bool gathered = false;

	if (certpin__rule_expiry(res, rule, ri, now, false, &rc))
		return rc;
	for (i = 0; i < n; i++) {
		if (!(rule->positions & position_bits(i, n)))
			continue;
		if (i > 0 && !gathered && (rule->kinds & CERTPIN_HAVE_SPKI)) {
			gather_keys(d, chain, n, rule);
			gathered = true;
		}
		if (!elem_from_x509(d, i, sk_X509_value(chain, (int)i), rule->kinds))
			return CERTPIN_E_CHAIN;
		if ((k = certpin__rule_pin_at(rule, d->elems, i, n, false)) >= 0)
			break;
	}
	return certpin__rule_verdict(res, rule, k, i, false);
}

static void notify_failure(const binding *b, const certpin_result *res, chain_digests *d, STACK_OF(X509) *chain,
	size_t n, const certpin__rule *rule)
{
	if (!b->opts.on_failure)
		return;
	if (res->verdict != CERTPIN_VERDICT_MISMATCH && res->verdict != CERTPIN_VERDICT_PINSET_EXPIRED)
		return;
	if (chain && !fill_chain(d, chain, n, rule, true))
		n = 0;
	b->opts.on_failure(res, d->elems, n, b->opts.payload);
}

/*
 * Check `rule` (index `ri`) for this handshake into `res`: PKIX first, then the pins on
 * the verified chain (pin-only: on the leaf alone).  Digests already in
 * `d` are reused.  Calls the failure callback.  Returns the certpin code.
 */
CERTPIN_HOT static int check_rule(const binding *b, certpin_result *res, X509_STORE_CTX *sctx, chain_digests *d,
	const certpin__rule *rule, long ri, bool pkix_ok, bool pin_only, int64_t now)
{
	STACK_OF(X509) *chain = NULL;
	size_t n = 1;
	int rc;

	if (!pkix_ok) {
		res->rule = (int)ri;
		res->mode = rule->mode;
		res->verdict = CERTPIN_VERDICT_MISMATCH; /* pinned, and no pin can be trusted on this chain */
		return CERTPIN_E_PKIX;
	}
	if (pin_only) {
		X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
		digests_use(d, 1);
		if (!leaf || !elem_from_x509(d, 0, leaf, rule->kinds))
			return CERTPIN_E_CHAIN;
		rc = certpin__verify_rule(res, rule, ri, d->elems, n, now, true);
		/* the failure callback gets the leaf, the one certificate the handshake proved */
		if (!elem_from_x509(d, 0, leaf, CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT))
			n = 0;
	} else {
		chain = X509_STORE_CTX_get0_chain(sctx);
		int cn = chain ? sk_X509_num(chain) : 0;
		if (cn <= 0 || cn > CHAIN_MAX)
			return CERTPIN_E_CHAIN;
		n = (size_t)cn;
		digests_use(d, n);
		if ((rc = check_chain(res, d, chain, n, rule, ri, now)) == CERTPIN_E_CHAIN)
			return rc;
	}
	notify_failure(b, res, d, chain, n, rule);
	return rc;
}

CERTPIN_HOT static bool name_same(const void *e, const void *key)
{
	/* not strcmp(): libc's is on a page the rest of a handshake leaves cold */
	const char *a = ((const name_memo *)e)->raw, *b = key;

	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * The connection name `name` normalized into norm[CERTPIN_HOSTNAME_MAX],
 * the index of its rule (-1: unpinned) into *rule and the rule into *rp
 * (NULL: unpinned); false if it does not normalize.  From the memo when the
 * same name was seen before.
 */
CERTPIN_HOT static bool name_rule(binding *b, const char *name, char *norm, int *is_ip, long *rule,
	const certpin__rule **rp)
{
	bool room = false;
	const name_memo *m = b->memo ? memo_find(b->names, name_same, name, &room) : NULL;

	if (m) {
		memcpy(norm, m->norm, strlen(m->norm) + 1);
		*is_ip = m->is_ip;
		*rule = m->rule;
		*rp = m->r;
		return true;
	}
	if (certpin__host_normalize(norm, CERTPIN_HOSTNAME_MAX, is_ip, name) != CERTPIN_OK)
		return false;
	*rule = certpin__policy_match(b->policy, norm, *is_ip);
	*rp = *rule >= 0 ? certpin__policy_rule(b->policy, (size_t)*rule) : NULL;
	size_t len = strlen(name);
	name_memo *add = room ? OPENSSL_malloc(sizeof(*add) + len + 1) : NULL;
	if (add) {
		add->rule = *rule;
		add->r = *rp;
		add->is_ip = *is_ip;
		memcpy(add->norm, norm, strlen(norm) + 1);
		memcpy(add->raw, name, len + 1);
		if (memo_add(b->names, add) && *rp) {
			warm_add(b, *rp);
			warm_add(b, (*rp)->pins);
		}
	}
	return true;
}

#define NAMES_MAX 8

/* Add the rule of `name` to rules/names unless unpinned or already there; -1 if it cannot be. */
CERTPIN_HOT static int add_rule(long *rules, char (*names)[CERTPIN_HOSTNAME_MAX], int *n, binding *b, const char *name,
	long first)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	long r;
	const certpin__rule *rule;

	if (!name_rule(b, name, norm, &is_ip, &r, &rule))
		return -1;
	bool seen = r < 0 || r == first;
	for (int k = 0; k < *n && !seen; k++)
		seen = rules[k] == r;
	if (seen)
		return 0;
	if (*n == NAMES_MAX)
		return -1;
	rules[*n] = r;
	memcpy(names[(*n)++], norm, sizeof(norm));
	return 0;
}

/*
 * The rules of the other names the certificate is verified against: the
 * names set after the first with SSL_add1_host() (OpenSSL accepts a
 * certificate valid for any of them) and, next to a host name, a
 * verification IP address (OpenSSL requires it as well).  Each pinned one is
 * checked too.  Fills distinct rules other than `first` with their names;
 * returns the count, or -1 if a name does not normalize or there are too many.
 */
CERTPIN_HOT static int other_rules(long *rules, char (*names)[CERTPIN_HOSTNAME_MAX], binding *b, X509_STORE_CTX *sctx,
	long first)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
	const char *h;
	int n = 0;

	for (int i = 1; (h = X509_VERIFY_PARAM_get0_host(param, i)) != NULL; i++)
		if (add_rule(rules, names, &n, b, h, first) != 0)
			return -1;
	/* an IP address matches only a rule for that address: none, nothing to look up */
	if (b->nip_rules && X509_VERIFY_PARAM_get0_host(param, 0)) {
		char *ip = param_ip(param);
		int rc = ip ? add_rule(rules, names, &n, b, ip, first) : 0;
		OPENSSL_free(ip);
		if (rc != 0)
			return -1;
	}
	return n;
}

/* Has the caller set a verification host name or IP address (not just SNI)? */
static bool param_has_name(X509_STORE_CTX *sctx)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);

	if (X509_VERIFY_PARAM_get0_host(param, 0))
		return true;
	char *ip = param_ip(param);
	OPENSSL_free(ip);
	return ip != NULL;
}

/* check_name(): the connection's name is not pinned (OpenSSL's verdict stands, res->allowed says it). */
#define UNPINNED 1

/*
 * The pin decision for the connection's name in res->hostname, with rule
 * `rule` (index `ri`, < 0 if unpinned), into `res`; `*pkix_ok` is cleared
 * if `check_sni` finds the certificate not valid for the name.  Returns the
 * certpin code, or UNPINNED.
 */
CERTPIN_HOT static int check_name(const binding *b, X509_STORE_CTX *sctx, certpin_result *res, chain_digests *d, long ri,
	const certpin__rule *rule, bool *pkix_ok, bool pin_only, bool check_sni, int64_t now)
{
	if (ri >= 0 && *pkix_ok && check_sni) {
		X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
		if (!leaf || X509_check_host(leaf, res->hostname, 0, 0, NULL) != 1) {
			X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
			res->pkix_error = X509_V_ERR_HOSTNAME_MISMATCH;
			*pkix_ok = false;
		}
	}
	if (ri < 0) {
		if (pin_only) {
			res->verdict = CERTPIN_VERDICT_MISMATCH;
			return CERTPIN_E_PIN_MISMATCH; /* nothing vouches for an unpinned host without PKIX */
		}
		res->allowed = *pkix_ok;
		return UNPINNED;
	}
	return check_rule(b, res, sctx, d, rule, ri, *pkix_ok, pin_only, now);
}

/* Is the certificate verified against more names than the first, which a rule may pin (see other_rules())? */
CERTPIN_HOT static bool more_names(const binding *b, X509_STORE_CTX *sctx)
{
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);

	return X509_VERIFY_PARAM_get0_host(param, 1) != NULL ||
	       (b->nip_rules && X509_VERIFY_PARAM_get0_host(param, 0) != NULL);
}

/*
 * check_name() for a connection verified against several names: every
 * pinned one must pass, the first refusal is the result.  Apart, and not
 * inlined, so that its name buffers do not deepen the stack of the usual
 * handshake (a cold stack page costs more than the work here).
 */
__attribute__((noinline)) static int check_names(binding *b, X509_STORE_CTX *sctx, certpin_result *res,
	chain_digests *d, long ri, const certpin__rule *rule, bool pkix_ok, bool pin_only, bool check_sni, int64_t now)
{
	long more[NAMES_MAX];
	char more_names[NAMES_MAX][CERTPIN_HOSTNAME_MAX];
	int nmore, k = 0;

	if ((nmore = other_rules(more, more_names, b, sctx, ri)) < 0)
		return CERTPIN_E_HOSTNAME;
	if (ri < 0 && nmore > 0) {
		/* the first name is not pinned, a later one is */
		ri = more[k];
		rule = certpin__policy_rule(b->policy, (size_t)ri);
		memcpy(res->hostname, more_names[k++], sizeof(res->hostname));
	}
	int rc = check_name(b, sctx, res, d, ri, rule, &pkix_ok, pin_only, check_sni, now);
	for (; k < nmore && rc == CERTPIN_OK && res->allowed; k++) {
		certpin_result other;
		result_init(&other, now);
		memcpy(other.hostname, more_names[k], sizeof(other.hostname));
		int orc = check_rule(b, &other, sctx, d, certpin__policy_rule(b->policy, (size_t)more[k]), more[k], pkix_ok,
			pin_only, now);
		if (orc != CERTPIN_OK || !other.allowed) {
			*res = other;
			rc = orc;
		}
	}
	return rc;
}

/*
 * The pin decision for one handshake.  `pkix_ok` says whether OpenSSL
 * verified the chain with no error left pending; `name` is the connection's
 * host name if the caller already looked it up, else NULL.  `check_sni`: the
 * name comes from SNI only and OpenSSL did not verify the certificate for it
 * (it was set as the verification host too late), so check it here.  Returns 1 to let
 * the handshake continue, 0 to abort it (error already set on `sctx`), -1
 * when the host is not pinned and OpenSSL's own verdict stands.
 */
CERTPIN_HOT static int decide(binding *b, SSL *ssl, X509_STORE_CTX *sctx, bool pkix_ok, bool pin_only, const char *name,
	bool check_sni)
{
	const certpin_policy *policy = b->policy;
	certpin_result res;
	chain_digests d;
	char raw[CERTPIN_HOSTNAME_MAX + 1];
	int is_ip, rc;
	int64_t now = (int64_t)time(NULL);

	result_init(&res, now);
	d.ready = 0;
	d.viewed = 0;
	d.md = NULL;
	d.memo = b->memo ? b : NULL;
	if (!pkix_ok)
		res.pkix_error = X509_STORE_CTX_get_error(sctx) != X509_V_OK ? X509_STORE_CTX_get_error(sctx)
									 : X509_V_ERR_UNSPECIFIED;

	if (!name && certpin__ssl_conn_hostname(raw, sizeof(raw), ssl, sctx, !pin_only))
		name = raw;
	if (!name) {
		if (policy->nrules == 0 && !pin_only) {
			/* nothing is pinned: OpenSSL's own verdict stands, untouched */
			res.allowed = pkix_ok;
			record(ssl, pkix_ok ? CERTPIN_OK : CERTPIN_E_PKIX, &res);
			return -1;
		}
		rc = CERTPIN_E_HOSTNAME; /* cannot tell which pins apply: refuse */
		goto out;
	}
	long ri;
	const certpin__rule *rule;
	if (!name_rule(b, name, res.hostname, &is_ip, &ri, &rule)) {
		res.hostname[0] = '\0';
		rc = CERTPIN_E_HOSTNAME;
		goto out;
	}
	if (more_names(b, sctx))
		rc = check_names(b, sctx, &res, &d, ri, rule, pkix_ok, pin_only, check_sni, now);
	else
		rc = check_name(b, sctx, &res, &d, ri, rule, &pkix_ok, pin_only, check_sni, now);
	if (d.md)
		EVP_MD_CTX_free(d.md);
	if (rc == UNPINNED) {
		/* not pinned: OpenSSL's own verdict stands, untouched */
		record(ssl, res.allowed ? CERTPIN_OK : CERTPIN_E_PKIX, &res);
		return -1;
	}
out:;
	bool pass = rc == CERTPIN_OK && res.allowed && res.rule >= 0;
	bool has_state = pass && atomic_load_explicit(&g.live_states, memory_order_relaxed) != 0 &&
		SSL_get_ex_data(ssl, g.ssl_state_idx) != NULL;
	/*
	 * A passing result rides on the session's tag (see session_tag); a
	 * connection that already has state keeps its result there as well.
	 */
	if (!pass || has_state || !tag_session(ssl, policy, rc, &res)) {
		if (!record(ssl, rc, &res)) {
			res.allowed = 0;
			rc = CERTPIN_E_NOMEM;
		} else if (has_state) {
			(void)tag_session(ssl, policy, rc, &res);
		}
	}
	if (rc != CERTPIN_OK || !res.allowed) {
		/* a PKIX failure keeps OpenSSL's reason; a pin refusal gets its own */
		if (X509_STORE_CTX_get_error(sctx) == X509_V_OK)
			X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		certpin__ssl_force_verify_peer(ssl); /* even under a later SSL_VERIFY_NONE */
		return 0;
	}
	return 1;
}

CERTPIN_HOT static SSL *store_ssl(X509_STORE_CTX *sctx)
{
	return X509_STORE_CTX_get_ex_data(sctx, g.store_ssl_idx);
}

/*
 * Stands in for the application's verify callback during X509_verify_cert()
 * and notes when it accepts an error OpenSSL reported: a chain the
 * application let through that way is not verified, and pins need one.
 */
static int watch_verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = store_ssl(sctx);
	ssl_state *st = ssl ? SSL_get_ex_data(ssl, g.ssl_state_idx) : NULL;
	int ok;

	if (!st)
		return 0;
	ok = st->app_verify_cb ? st->app_verify_cb(preverify_ok, sctx) : preverify_ok;
	if (ok && !preverify_ok)
		st->pkix_overridden = 1;
	return ok;
}

#ifdef CERTPIN_CALLBACK_TIMER
/*
 * Bench builds only (bench/CMakeLists.txt): the context binding's own time
 * in the last handshake of this thread, in ns, X509_verify_cert() left out.
 */
_Thread_local double certpin__callback_own_ns;
static _Thread_local double verify_ns;

static double timer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int verify_chain(X509_STORE_CTX *sctx)
{
	double t = timer_now();
	int ok = X509_verify_cert(sctx);
	verify_ns += timer_now() - t;
	return ok;
}
#elif defined(CERTPIN_PAGE_MARK)
/*
 * Bench builds only (bench/pagetouch.sh): loads from this page mark, in a
 * memory trace, where the context binding's own work starts (offset 0),
 * where X509_verify_cert() starts (64) and returns (128), and where the
 * binding returns (192).
 */
_Alignas(4096) volatile unsigned char certpin__page_mark[4096];

static int verify_chain(X509_STORE_CTX *sctx)
{
	(void)certpin__page_mark[64];
	int ok = X509_verify_cert(sctx);
	(void)certpin__page_mark[128];
	return ok;
}
#else
#define verify_chain X509_verify_cert
#endif

CERTPIN_HOT static int ctx_check(X509_STORE_CTX *sctx, binding *b);

/*
 * Ask for the lines the pin decision will read after X509_verify_cert():
 * the remembered names and keys, the rules and pins they lead to, and a
 * spare block for the session tag.
 * They would each be a cold miss, one after another, when the decision runs;
 * fetched now, they arrive while verification works.  The binding's own
 * time per handshake falls by 0.15-0.22 us for the names, keys and block,
 * and by 0.5 us more for the rules and pins, of 2.3-3.0 us
 * (bench_handshake_timed, prefetching on and off alternately in each run).
 * Only slot pointers are read, from the binding the caller has just read.
 */
CERTPIN_HOT static void prefetch_memo(const binding *b)
{
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		const char *e = atomic_load_explicit(&b->names[i], memory_order_relaxed);
		if (!e)
			break;
		__builtin_prefetch(e); /* the rule and the start of the normalized name */
		__builtin_prefetch(e + offsetof(name_memo, raw)); /* the name compared */
	}
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		const char *e = atomic_load_explicit(&b->spkis[i], memory_order_relaxed);
		if (!e)
			break;
		__builtin_prefetch(e); /* OIDs, digest and the first key bytes compared */
		__builtin_prefetch(e + 64);
		__builtin_prefetch(e + offsetof(spki_memo, bits) + 64);
	}
	for (size_t i = 0; i < WARM_SLOTS; i++) {
		const char *p = atomic_load_explicit(&b->warm[i], memory_order_relaxed);
		if (!p)
			break;
		/* a rule is two lines; two pins (48 bytes each) may straddle three */
		__builtin_prefetch(p);
		__builtin_prefetch(p + 64);
		__builtin_prefetch(p + 128);
	}
	for (size_t i = 0; i < BLOCK_SPARES; i++) {
		const char *e = atomic_load_explicit(&g.spares[i], memory_order_relaxed);
		if (e) {
			for (size_t off = 0; off < BLOCK_SIZE; off += 64)
				__builtin_prefetch(e + off, 1);
			break;
		}
	}
}

/* SSL_CTX_set_cert_verify_callback(): replaces X509_verify_cert(), which we call first. */
CERTPIN_HOT static int ctx_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
#ifdef CERTPIN_CALLBACK_TIMER
	double t = timer_now();
	verify_ns = 0;
	int rc = ctx_check(sctx, arg);
	certpin__callback_own_ns = timer_now() - t - verify_ns;
	return rc;
#elif defined(CERTPIN_PAGE_MARK)
	(void)certpin__page_mark[0];
	int rc = ctx_check(sctx, arg);
	(void)certpin__page_mark[192];
	return rc;
#else
	return ctx_check(sctx, arg);
#endif
}

CERTPIN_HOT static int ctx_check(X509_STORE_CTX *sctx, binding *b)
{
	SSL *ssl = store_ssl(sctx);
	ssl_state *st;
	int ok;

	if (!ssl)
		return 0;
	if (b->opts.flags & CERTPIN_SSL_INSECURE_PIN_ONLY) {
		/*
		 * Pin-only runs no X509_verify_cert(), so no verify callback: a
		 * per-connection policy or a TOFU store on this connection would be
		 * skipped.  They do not compose: refuse.
		 */
		if (SSL_get_ex_data(ssl, g.ssl_binding_idx) || certpin__tofu_ctx_attached(SSL_get_SSL_CTX(ssl))) {
			certpin_result res;
			result_init(&res, (int64_t)time(NULL));
			(void)record(ssl, CERTPIN_E_INVALID_ARG, &res);
			X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
			certpin__ssl_force_verify_peer(ssl);
			return 0;
		}
		return decide(b, ssl, sctx, true, true, NULL, false);
	}
	/* make SNI the verification host before PKIX runs, if the caller set none */
	char name[CERTPIN_HOSTNAME_MAX + 1];
	bool have_name = certpin__ssl_conn_hostname(name, sizeof(name), ssl, sctx, true);
	bool pkix_ok;
	prefetch_memo(b);
	if (X509_STORE_CTX_get_verify_cb(sctx) == g.default_verify_cb) {
		/* OpenSSL's own callback never accepts an error: nothing to watch */
		ok = verify_chain(sctx);
		pkix_ok = ok > 0 && X509_STORE_CTX_get_error(sctx) == X509_V_OK;
	} else {
		if (!(st = state_get(ssl))) {
			certpin__ssl_force_verify_peer(ssl);
			return 0;
		}
		st->app_verify_cb = X509_STORE_CTX_get_verify_cb(sctx);
		st->pkix_overridden = 0;
		st->ssl_binding_refused = 0;
		X509_STORE_CTX_set_verify_cb(sctx, watch_verify_cb);
		ok = verify_chain(sctx);
		X509_STORE_CTX_set_verify_cb(sctx, st->app_verify_cb);
		if (st->ssl_binding_refused) {
			/* the connection's own policy refused: keep its result rather than a generic PKIX failure */
			certpin__ssl_force_verify_peer(ssl);
			return 0;
		}
		/* an error the application's callback accepted (and perhaps cleared) still means not verified */
		pkix_ok = ok > 0 && X509_STORE_CTX_get_error(sctx) == X509_V_OK && !st->pkix_overridden;
	}
	int d = decide(b, ssl, sctx, pkix_ok, false, have_name ? name : NULL, false);
	if (d < 0)
		return ok; /* unpinned host: OpenSSL's result, unchanged */
	return d;
}

int certpin_ssl_ctx_attach(void *ssl_ctx, const certpin_policy *policy, const certpin_ssl_options *opts)
{
	SSL_CTX *ctx = ssl_ctx;
	binding *b;

	if (!ctx || !policy)
		return CERTPIN_E_INVALID_ARG;
	if (opts && opts->version != CERTPIN_SSL_OPTIONS_VERSION)
		return CERTPIN_E_INVALID_ARG;
	if (opts && (opts->flags & ~CERTPIN_SSL_INSECURE_PIN_ONLY))
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	if (!(b = OPENSSL_zalloc(sizeof(*b))))
		return CERTPIN_E_NOMEM;
	b->policy = policy;
	b->nip_rules = policy->nip_rules;
	if (opts)
		b->opts = *opts;
	else
		b->opts = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	for (size_t i = 0; i < MEMO_SLOTS; i++) {
		atomic_init(&b->names[i], NULL);
		atomic_init(&b->spkis[i], NULL);
	}
	b->memo = true;
	binding *old = SSL_CTX_get_ex_data(ctx, g.ctx_idx);
	info_cb_fn cur = SSL_CTX_get_info_callback(ctx);
	b->app_info_cb = cur == info_cb || cur == info_cb_alone ? (old ? old->app_info_cb : NULL) : cur;
	if (!SSL_CTX_set_ex_data(ctx, g.ctx_idx, b)) {
		OPENSSL_free(b);
		return CERTPIN_E_NOMEM;
	}
	binding_free(old);
	SSL_CTX_set_info_callback(ctx, b->app_info_cb ? info_cb : info_cb_alone);
	SSL_CTX_set_cert_verify_callback(ctx, ctx_verify_cb, b);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx) | SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(ctx));
	return CERTPIN_OK;
}

int certpin__ssl_ctx_spki_sha256(void *ssl_ctx, X509 *x, unsigned char out[CERTPIN_DIGEST_LEN])
{
	binding *b = ssl_ctx && ensure_indexes() ? SSL_CTX_get_ex_data(ssl_ctx, g.ctx_idx) : NULL;
	chain_digests d = { .ready = 0, .md = NULL, .memo = b };

	if (!b || !x)
		return CERTPIN_E_INVALID_ARG;
	int ok = spki_digest(&d, out, x, 0);
	EVP_MD_CTX_free(d.md);
	return ok ? CERTPIN_OK : CERTPIN_E_CHAIN;
}

/* A refusal by certpin_ssl_attach()'s policy: a context binding on the same connection keeps its result. */
static void note_ssl_refusal(SSL *ssl, int decision)
{
	ssl_state *st = decision == 0 ? SSL_get_ex_data(ssl, g.ssl_state_idx) : NULL;

	if (st)
		st->ssl_binding_refused = 1;
}

/* Per-SSL wrapper: the app's callback first, then pins once the leaf verified cleanly. */
static int ssl_verify_wrapper(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = store_ssl(sctx);
	binding *b = ssl ? SSL_get_ex_data(ssl, g.ssl_binding_idx) : NULL;
	int ok;

	if (!b)
		return 0;
	ok = b->app_cb ? b->app_cb(preverify_ok, sctx) : preverify_ok;
	if (!preverify_ok || !ok) {
		/*
		 * An error OpenSSL reported or the application's callback raised, at
		 * any depth, before or after the leaf's decision (name constraints
		 * come after it): a pinned host is refused, even if the callback
		 * accepted the error or SSL_VERIFY_NONE was set after attaching.
		 */
		int d = decide(b, ssl, sctx, false, false, NULL, false);
		note_ssl_refusal(ssl, d);
		return d < 0 ? ok : d;
	}
	if (X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	/*
	 * Depth 0 reported verified: the last call of a successful chain walk.
	 * With only SNI set, OpenSSL verified no name: decide() checks it.
	 */
	bool pkix_ok = X509_STORE_CTX_get_error(sctx) == X509_V_OK;
	int d = decide(b, ssl, sctx, pkix_ok, false, NULL, !param_has_name(sctx));
	note_ssl_refusal(ssl, d);
	if (d < 0)
		return ok;
	return d;
}

int certpin_ssl_attach(void *ssl_ptr, const certpin_policy *policy, const certpin_ssl_options *opts)
{
	SSL *ssl = ssl_ptr;
	binding *b;

	if (!ssl || !policy)
		return CERTPIN_E_INVALID_ARG;
	if (opts && (opts->version != CERTPIN_SSL_OPTIONS_VERSION || opts->flags != 0))
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	if (!(b = OPENSSL_zalloc(sizeof(*b))))
		return CERTPIN_E_NOMEM;
	b->policy = policy;
	b->nip_rules = policy->nip_rules;
	b->opts = opts ? *opts : (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	binding *old = SSL_get_ex_data(ssl, g.ssl_binding_idx);
	SSL_verify_cb cur = SSL_get_verify_callback(ssl);
	b->app_cb = cur == ssl_verify_wrapper ? (old ? old->app_cb : NULL) : cur;
	info_cb_fn cur_info = SSL_get_info_callback(ssl);
	b->app_info_cb = cur_info == ssl_info_cb ? (old ? old->app_info_cb : NULL) : cur_info;
	if (!SSL_set_ex_data(ssl, g.ssl_binding_idx, b)) {
		OPENSSL_free(b);
		return CERTPIN_E_NOMEM;
	}
	OPENSSL_free(old);
	SSL_set_info_callback(ssl, ssl_info_cb);
	SSL_set_verify(ssl, SSL_get_verify_mode(ssl) | SSL_VERIFY_PEER, ssl_verify_wrapper);
	return CERTPIN_OK;
}

int certpin_ssl_result(certpin_result *out, const void *ssl)
{
	const ssl_state *st;

	if (!ssl)
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	/* a resumed session runs no certificate check; a recorded result is an earlier handshake's */
	if (SSL_session_reused((const SSL *)ssl))
		return CERTPIN_E_STATE;
	const conn_result *r;
	if ((st = SSL_get_ex_data(ssl, g.ssl_state_idx)) != NULL) {
		r = &st->r;
	} else {
		/* a passing handshake left its result on the tag of the session it made (see session_tag) */
		SSL_SESSION *sess = SSL_get_session(ssl);
		const session_tag *t = sess ? SSL_SESSION_get_ex_data(sess, g.session_idx) : NULL;
		if (!t)
			return CERTPIN_E_STATE;
		r = &t->r;
	}
	/*
	 * Only this handshake's result: not one an earlier handshake on this SSL
	 * left before SSL_clear(), nor the one of the connection that made a
	 * session set with SSL_set_session().
	 */
	unsigned char random[SSL3_RANDOM_SIZE], any = 0;
	if (SSL_get_client_random(ssl, random, sizeof(random)) != sizeof(random) ||
	    memcmp(random, r->client_random, sizeof(random)) != 0)
		return CERTPIN_E_STATE;
	for (size_t i = 0; i < sizeof(random); i++)
		any |= random[i];
	if (!any)
		return CERTPIN_E_STATE; /* no handshake since SSL_new() or SSL_clear() */
	if (out) {
		memset(out, 0, sizeof(*out));
		memcpy(out, &r->result, RESULT_HEAD);
		copy_name(out->hostname, sizeof(out->hostname), r->result.hostname);
	}
	return r->rc;
}
