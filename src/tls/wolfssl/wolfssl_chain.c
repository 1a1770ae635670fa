/*
 * The chain wolfSSL verified, as the engine reads it: the peer's certificate,
 * then the CAs of wolfSSL's table that this handshake's signature checks
 * linked to it (why, and what wolfSSL offers, is the top comment of
 * wolfssl.c).  What the verify callback reported above the leaf is recorded
 * here (cpw_peer_record()); at the leaf the length is predicted from it, and
 * the table is walked only when the engine reads past the leaf.
 */
#include "wolfssl_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- what wolfSSL reported ------------------------------------------------------- */

/* FNV-1a of wolfSSL's one-line form of a name, 0 if there is none (0 never matches). */
static uint64_t name_hash(WOLFSSL_X509_NAME *name)
{
	char buf[512];
	uint64_t h = 14695981039346656037u;

	if (!name || !wolfSSL_X509_NAME_oneline(name, buf, (int)sizeof(buf)))
		return 0;
	for (const char *p = buf; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211u;
	}
	return h ? h : 1;
}

static int key_id(unsigned char *(*get)(WOLFSSL_X509 *, unsigned char *, int *), WOLFSSL_X509 *x,
	unsigned char dst[CPW_KEYID_MAX])
{
	int len = CPW_KEYID_MAX;

	return get(x, dst, &len) && len > 0 && len <= CPW_KEYID_MAX ? len : 0;
}

/* Subject and issuer the same name: wolfSSL looks up no issuer for it (its "selfSigned"). */
static bool self_issued(WOLFSSL_X509 *x)
{
	WOLFSSL_X509_NAME *s = wolfSSL_X509_get_subject_name(x), *i = wolfSSL_X509_get_issuer_name(x);

	return s && i && wolfSSL_X509_NAME_cmp(s, i) == 0;
}

static bool arena_put(cpw_conn *cn, const unsigned char *der, size_t len, size_t *off)
{
	if (len > cn->arena_cap - cn->arena_len) {
		size_t cap = cn->arena_cap ? cn->arena_cap : 4096;
		while (cap - cn->arena_len < len) {
			if (cap > (size_t)1 << 24)
				return false;
			cap *= 2;
		}
		unsigned char *a = realloc(cn->arena, cap);
		if (!a)
			return false;
		cn->arena = a;
		cn->arena_cap = cap;
	}
	memcpy(cn->arena + cn->arena_len, der, len);
	*off = cn->arena_len;
	cn->arena_len += len;
	return true;
}

bool cpw_peer_record(cpw_conn *cn, WOLFSSL *ssl, WOLFSSL_X509 *x, int depth, int preverify)
{
	int len = 0;
	const unsigned char *der = x ? wolfSSL_X509_get_der(x, &len) : NULL;

	if (depth <= 0 || depth >= CERTPIN_CHAIN_MAX || !der || len <= 0)
		return false;
	cpw_peer *p = &cn->peers[depth];
	memset(p, 0, sizeof(*p));
	if (!arena_put(cn, der, (size_t)len, &p->off))
		return false;
	p->len = (size_t)len;
	p->subject = name_hash(wolfSSL_X509_get_subject_name(x));
	p->issuer = name_hash(wolfSSL_X509_get_issuer_name(x));
	p->skid_len = key_id(wolfSSL_X509_get_subjectKeyID, x, p->skid);
	p->akid_len = key_id(wolfSSL_X509_get_authorityKeyID, x, p->akid);
	p->self_issued = self_issued(x);
	p->preverify = preverify;
	p->alt = wolfSSL_is_peer_alt_cert_chain(ssl) == 1;
	p->seen = 1;
	return true;
}

/* In the list of CAs wolfSSL verified after it switched to an alternate chain? */
static bool in_alt_chain(WOLFSSL *ssl, const unsigned char *der, size_t len)
{
	WOLFSSL_X509_CHAIN *ac = wolfSSL_get_peer_alt_chain(ssl);
	int n = ac ? wolfSSL_get_chain_count(ac) : 0;

	for (int i = 0; i < n; i++) {
		const unsigned char *c = wolfSSL_get_chain_cert(ac, i);
		if (c && wolfSSL_get_chain_length(ac, i) == (int)len && memcmp(c, der, len) == 0)
			return true;
	}
	return false;
}

/*
 * Which certificates above the leaf had their signature checked in this
 * handshake: reported with no error, and -- once wolfSSL took an alternate
 * chain, after which it reports an unknown issuer as no error -- listed by
 * it as verified.
 */
static void mark_verified(cpw_conn *cn, WOLFSSL *ssl)
{
	for (size_t d = 1; d < CERTPIN_CHAIN_MAX; d++) {
		cpw_peer *p = &cn->peers[d];
		p->verified = p->seen && p->preverify && (!p->alt || in_alt_chain(ssl, cn->arena + p->off, p->len));
	}
}

/* ---- the predicted length ---------------------------------------------------------- */

typedef struct ids {
	uint64_t issuer;
	const unsigned char *akid;
	int akid_len;
	int self_issued;
} ids;

/* A certificate the peer sent and wolfSSL verified that names itself as `cur`'s issuer; -1 if none. */
static int look_alike(const cpw_conn *cn, const ids *cur, unsigned int used)
{
	for (int d = 1; d < CERTPIN_CHAIN_MAX; d++) {
		const cpw_peer *p = &cn->peers[d];
		if (!p->verified || (used & (1u << d)) || !p->subject || p->subject != cur->issuer)
			continue;
		if (cur->akid_len == 0 || (p->skid_len == cur->akid_len && memcmp(p->skid, cur->akid, (size_t)p->skid_len) == 0))
			return d;
	}
	return -1;
}

/*
 * The length of the path the walk will find, from what wolfSSL reported:
 * the leaf, each verified certificate the peer sent that names the one
 * below as its issuer, then the table's CA above the last (unless it names
 * itself).  A wrong guess makes the walk fail, never a wrong chain.
 */
static size_t predict(const cpw_conn *cn, WOLFSSL_X509 *leaf)
{
	unsigned char akid[CPW_KEYID_MAX];
	ids cur = { name_hash(wolfSSL_X509_get_issuer_name(leaf)), akid, 0, self_issued(leaf) };
	unsigned int used = 0;
	size_t n = 1;

	cur.akid_len = key_id(wolfSSL_X509_get_authorityKeyID, leaf, akid);
	while (!cur.self_issued && n <= CERTPIN_CHAIN_MAX) {
		int d = look_alike(cn, &cur, used);
		n++;
		if (d < 0)
			break;
		const cpw_peer *p = &cn->peers[d];
		used |= 1u << d;
		cur = (ids){ p->issuer, p->akid, p->akid_len, p->self_issued };
	}
	return n;
}

/* ---- the walk ------------------------------------------------------------------------ */

static bool spki_of(certpin_pin *pin, const unsigned char *der, size_t len)
{
	return certpin_pin_from_cert_der(pin, der, len, CERTPIN_PIN_SPKI_SHA256) == CERTPIN_OK;
}

/*
 * Did this handshake check the signature of table entry `w`?  Yes if the
 * peer sent a certificate that wolfSSL verified now and that is `w`, or has
 * `w`'s key, subject and authority key identifier (the same CA in another
 * encoding, looked up with the same key identifier).
 */
static bool checked_now(const cpw_chain *c, WOLFSSL_X509 *w)
{
	const cpw_conn *cn = c->conn;
	int len = 0;
	const unsigned char *der = wolfSSL_X509_get_der(w, &len);
	unsigned char akid[CPW_KEYID_MAX];
	certpin_pin wk, pk;

	if (!der || len <= 0)
		return false;
	for (size_t d = 1; d < CERTPIN_CHAIN_MAX; d++) {
		const cpw_peer *p = &cn->peers[d];
		if (p->verified && p->len == (size_t)len && memcmp(cn->arena + p->off, der, p->len) == 0)
			return true;
	}
	int akid_len = key_id(wolfSSL_X509_get_authorityKeyID, w, akid);
	uint64_t subject = name_hash(wolfSSL_X509_get_subject_name(w));
	if (akid_len == 0 || !subject || !spki_of(&wk, der, (size_t)len))
		return false;
	for (size_t d = 1; d < CERTPIN_CHAIN_MAX; d++) {
		const cpw_peer *p = &cn->peers[d];
		if (p->verified && p->subject == subject && p->akid_len == akid_len &&
		    memcmp(p->akid, akid, (size_t)akid_len) == 0 && spki_of(&pk, cn->arena + p->off, p->len) &&
		    certpin_pin_equal(&wk, &pk))
			return true;
	}
	return false;
}

static bool same_der(WOLFSSL_X509 *a, WOLFSSL_X509 *b)
{
	int la = 0, lb = 0;
	const unsigned char *da = wolfSSL_X509_get_der(a, &la), *db = wolfSSL_X509_get_der(b, &lb);

	return da && db && la == lb && memcmp(da, db, (size_t)la) == 0;
}

/*
 * The path through wolfSSL's CA table (see wolfssl.c): each element's issuer
 * as wolfSSL looks it up, on a store context of certpin's own (so that no
 * list the peer sent takes part), while the element's own signature was
 * checked in this handshake.  1 if it has the predicted length, else -1.
 */
static int walk(cpw_chain *c)
{
	WOLFSSL_X509_STORE *st;
	WOLFSSL_X509_STORE_CTX *look;
	size_t n = 1;

	if (c->walked)
		return c->walked;
	c->walked = -1;
	st = wolfSSL_X509_STORE_CTX_get0_store(c->store);
	look = st ? wolfSSL_X509_STORE_CTX_new() : NULL;
	if (!look || wolfSSL_X509_STORE_CTX_init(look, st, NULL, NULL) != WOLFSSL_SUCCESS)
		goto out;
	for (WOLFSSL_X509 *cur = c->leaf; !self_issued(cur) && (n == 1 || checked_now(c, cur));) {
		WOLFSSL_X509 *iss = NULL;
		if (wolfSSL_X509_STORE_CTX_get1_issuer(&iss, look, cur) != WOLFSSL_SUCCESS || !iss)
			break; /* none in the table: `cur` is where wolfSSL's trust began */
		bool loop = same_der(iss, c->leaf);
		for (size_t k = 1; k < n && !loop; k++)
			loop = same_der(iss, c->walk[k]);
		if (loop || n >= c->n) {
			wolfSSL_X509_free(iss);
			goto out;
		}
		c->walk[n++] = iss;
		cur = iss;
	}
	if (n == c->n)
		c->walked = 1;
out:
	wolfSSL_X509_STORE_CTX_free(look);
	return c->walked;
}

/* ---- the engine's view ----------------------------------------------------------------- */

void cpw_chain_init(cpw_chain *c, WOLFSSL *ssl, WOLFSSL_X509_STORE_CTX *store, cpw_conn *cn, WOLFSSL_X509 *leaf,
	cpw_trust trust)
{
	memset(c, 0, sizeof(*c));
	c->ssl = ssl;
	c->store = store;
	c->conn = cn;
	c->leaf = leaf;
	c->walked = -1; /* nothing above the leaf, unless verified below */
	if (!leaf || (trust == CPW_VERIFIED && cn->broken))
		return;
	c->n = 1;
	if (trust != CPW_VERIFIED)
		return;
	mark_verified(cn, ssl);
	c->n = predict(cn, leaf);
	c->walked = 0;
}

int cpw_chain_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len)
{
	cpw_chain *c = ctx;
	WOLFSSL_X509 *x = NULL;
	int l = 0;

	if (spki)
		return 1; /* the engine finds the SubjectPublicKeyInfo in the certificate */
	if (i == 0 && c->n > 0)
		x = c->leaf;
	else if (i < c->n && walk(c) > 0)
		x = c->walk[i];
	const unsigned char *d = x ? wolfSSL_X509_get_der(x, &l) : NULL;
	if (!d || l <= 0)
		return -1;
	*der = d;
	*len = (size_t)l;
	return 0;
}

void cpw_chain_done(cpw_chain *c)
{
	for (size_t i = 1; i < CERTPIN_CHAIN_MAX; i++)
		wolfSSL_X509_free(c->walk[i]);
	memset(c, 0, sizeof(*c));
}
