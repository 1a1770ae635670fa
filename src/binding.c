/*
 * The engine's public interface for TLS adapters (certpin/adapter.h): a
 * reference-counted binding around the pin sources (sources.c), and one
 * check per handshake on the chain the adapter's stack verified, read as
 * DER.  No TLS type enters here.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct certpin_binding {
	atomic_size_t refs;
	certpin__binding *sources;
};

static bool options_ok(const certpin_ssl_options *opts)
{
	return certpin__options_ok(opts, CERTPIN_SSL_INSECURE_PIN_ONLY);
}

int certpin_binding_new(certpin_binding **out, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts)
{
	certpin_binding *b;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!options_ok(opts))
		return CERTPIN_E_INVALID_ARG;
	if (!(b = calloc(1, sizeof(*b))) || !(b->sources = certpin__binding_new())) {
		free(b);
		return CERTPIN_E_NOMEM;
	}
	atomic_init(&b->refs, 1);
	certpin__binding_replace(b->sources, certpin_policy_ref(policy), opts, certpin__tofu_ref(store));
	*out = b;
	return CERTPIN_OK;
}

certpin_binding *certpin_binding_ref(certpin_binding *b)
{
	if (b)
		atomic_fetch_add(&b->refs, 1);
	return b;
}

void certpin_binding_free(certpin_binding *b)
{
	if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	certpin__binding_free(b->sources);
	free(b);
}

int certpin_binding_set(certpin_binding *b, certpin_policy *policy, certpin_tofu *store,
	const certpin_ssl_options *opts)
{
	if (!b || !options_ok(opts))
		return CERTPIN_E_INVALID_ARG;
	certpin__binding_replace(b->sources, certpin_policy_ref(policy), opts, certpin__tofu_ref(store));
	return CERTPIN_OK;
}

/*
 * The digest cache of the adapters' certificates (certpin__digest_cache, as
 * the OpenSSL adapter has for its X509s): a certificate is its DER, the
 * same certificate only if the whole DER is byte for byte, kept as a copy.
 * Its SPKI digest is then a function of the DER alone, since it is taken
 * from the SPKI inside the DER: an adapter that hands over SPKIs of its own
 * encoding (certpin/adapter.h) is not cached.
 */
#define CACHED_DER_MAX 16384    /* larger certificates are hashed every time */

typedef struct der_cert {
	const unsigned char *der;
	size_t len;
} der_cert;

static bool der_same(const void *a, const void *b)
{
	const der_cert *x = a, *y = b;

	return x->len == y->len && memcmp(x->der, y->der, x->len) == 0;
}

static void *der_ref(void *cert)
{
	const der_cert *c = cert;
	der_cert *k = malloc(sizeof(*k) + c->len);

	if (!k)
		return NULL;
	memcpy(k + 1, c->der, c->len);
	k->der = (const unsigned char *)(k + 1);
	k->len = c->len;
	return k;
}

static void der_unref(void *cert)
{
	free(cert);
}

/* FNV-1a of the length and the last 16 bytes (the signature's end: different for every certificate). */
static uint32_t der_hash(const void *cert)
{
	const der_cert *c = cert;
	uint32_t h = (2166136261u ^ (uint32_t)c->len) * 16777619u;

	for (size_t k = c->len > 16 ? c->len - 16 : 0; k < c->len; k++)
		h = (h ^ c->der[k]) * 16777619u;
	return h;
}

static const certpin__cert_ops der_ops = { der_same, der_ref, der_unref, der_hash };
static certpin__digest_cache *cache;    /* NULL if it could not be made: every digest is computed */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_make(void)
{
	cache = certpin__digest_cache_new(&der_ops);
}

/* One check's view of the adapter's chain. */
typedef struct check_view {
	const certpin_handshake *hs;
	der_cert probe;                 /* the element cert_of() last read */
} check_view;

/* The adapter's DER reader as the engine's chain source. */
static int der_of(void *ctx, size_t i, bool spki, const unsigned char **der, size_t *len)
{
	const certpin_handshake *hs = ((const check_view *)ctx)->hs;
	int rc = hs->der(hs->ctx, i, spki ? 1 : 0, der, len);

	if (rc == 0 && (!*der || *len == 0))
		return -1;
	return rc == 0 || (rc == 1 && spki) ? rc : -1;
}

/* Element i for the digest cache: its DER, if the adapter keeps no SPKI apart; else NULL (not cached). */
static void *cert_of(void *ctx, size_t i)
{
	check_view *v = ctx;
	const unsigned char *spki;
	size_t spki_len;

	if (der_of(v, i, true, &spki, &spki_len) != 1 || der_of(v, i, false, &v->probe.der, &v->probe.len) != 0 ||
	    v->probe.len > CACHED_DER_MAX)
		return NULL;
	return &v->probe;
}

static void outcome_init(certpin_outcome *out, int64_t now)
{
	memset(out, 0, sizeof(*out));
	out->version = CERTPIN_OUTCOME_VERSION;
	out->decision = CERTPIN_DECIDE_REFUSE;
	out->rc = out->tofu_rc = CERTPIN_E_STATE;
	certpin__result_init(&out->result, now);
}

/* The outcome's decision and code from the sources' verdict `d` and the record. */
static int conclude(certpin_outcome *out, const certpin__record *rec, const certpin__check *chk, int d)
{
	if (rec->have_policy) {
		out->rc = rec->policy_rc;
		out->result = rec->policy;
	}
	if (rec->have_tofu) {
		out->tofu_rc = rec->tofu_rc;
		out->tofu = rec->tofu;
	}
	out->decision = d > 0 ? CERTPIN_DECIDE_CONTINUE : d < 0 ? CERTPIN_DECIDE_STACK : CERTPIN_DECIDE_REFUSE;
	if (d != 0)
		return CERTPIN_OK;
	if (out->rc != CERTPIN_OK && out->rc != CERTPIN_E_STATE)
		return out->rc;
	if (out->tofu_rc != CERTPIN_OK && out->tofu_rc != CERTPIN_E_STATE)
		return out->tofu_rc;
	if (chk->chain->failed)
		return CERTPIN_E_CHAIN;
	return chk->pkix_ok ? CERTPIN_E_PIN_MISMATCH : CERTPIN_E_PKIX;
}

int certpin_binding_check(certpin_outcome *out, certpin_binding *b, const certpin_handshake *hs)
{
	int64_t now = hs && hs->now ? hs->now : (int64_t)time(NULL);
	check_view view = { hs, { NULL, 0 } };
	certpin__chain_source src = { der_of, &view, cert_of, NULL };
	certpin__record rec;
	certpin__snapshot s;
	certpin__chain chain;
	int rc;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	outcome_init(out, now);
	if (!b || !hs || hs->version != CERTPIN_HANDSHAKE_VERSION || hs->nnames > CERTPIN_NAMES_MAX ||
	    (hs->n > 0 && !hs->der) || hs->pkix > CERTPIN_PKIX_OVERRIDDEN)
		return CERTPIN_E_INVALID_ARG;
	certpin__snapshot_take(&s, b->sources);
	certpin__check chk = { .pkix_ok = hs->pkix == CERTPIN_PKIX_OK, .pkix_error = hs->pkix_error,
		.pin_only = s.opts.flags & CERTPIN_SSL_INSECURE_PIN_ONLY, .now = now,
		.on_failure = s.opts.on_failure, .on_result = s.opts.on_result, .payload = s.opts.payload };
	for (size_t i = 0; i < hs->nnames; i++)
		if (!hs->names[i] || !certpin__check_add_name(&chk, hs->names[i]))
			chk.nnames = 0; /* a name that does not fit counts as none: refused if anything is pinned */
	if (hs->n > CERTPIN_CHAIN_MAX) {
		certpin__snapshot_drop(&s);
		return CERTPIN_E_CHAIN;
	}
	pthread_once(&cache_once, cache_make);
	src.cache = cache;
	certpin__chain_init(&chain, &src, hs->n);
	chk.chain = &chain;
	memset(&rec, 0, sizeof(rec));
	rec.id[0] = 1; /* one check, one record: any id but zero */
	int d = certpin__sources_check(&rec, &out->tag, &s, &chk, hs->pkix == CERTPIN_PKIX_FAILED);
	rc = conclude(out, &rec, &chk, d);
	certpin__chain_done(&chain);
	certpin__snapshot_drop(&s);
	return rc;
}

int certpin_binding_resume_ok(certpin_binding *b, const char *name, const certpin_session_tag *tag)
{
	certpin__snapshot s;

	if (!b)
		return 0;
	certpin__snapshot_take(&s, b->sources);
	bool ok = certpin__resume_ok(&s, name, tag);
	certpin__snapshot_drop(&s);
	return ok;
}

void certpin_session_tag_merge(certpin_session_tag *t, const certpin_session_tag *passed)
{
	if (t && passed)
		certpin__tag_merge(t, passed);
}
