/*
 * The path GnuTLS verified, from what it reports to a verify output
 * function (gnutls.c says why this is the verified path).  GnuTLS calls the
 * function with no argument of ours, synchronously, on the thread that
 * asked for the verification: the collector in use is a thread-local
 * pointer, set only around that call.  The certificates GnuTLS passes are
 * freed when the verification ends, so each is copied (as DER, with
 * gnutls_x509_crt_export()) into an arena that the session's state keeps
 * from one check to the next.
 */
#include "gnutls_adapter.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local gt_path *collecting;

/* Copy `crt`'s DER to the arena; false if it cannot be exported or does not fit. */
static bool put(gt_path *p, gnutls_x509_crt_t crt, size_t *off, size_t *len)
{
	for (int tries = 0; tries < 2; tries++) {
		size_t room = p->cap - p->used;
		int rc = gnutls_x509_crt_export(crt, GNUTLS_X509_FMT_DER, p->arena ? p->arena + p->used : NULL, &room);
		if (rc == 0 && room > 0) {
			*off = p->used;
			*len = room;
			p->used += room;
			return true;
		}
		if (rc != GNUTLS_E_SHORT_MEMORY_BUFFER || room > GT_ARENA_MAX - p->used)
			return false;
		size_t cap = p->cap * 2 > p->used + room ? p->cap * 2 : p->used + room;
		cap = cap > GT_ARENA_MAX ? GT_ARENA_MAX : cap;
		unsigned char *a = realloc(p->arena, cap);
		if (!a)
			return false;
		p->arena = a;
		p->cap = cap;
	}
	return false;
}

int certpin__gt_collect(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer, gnutls_x509_crl_t crl, unsigned int status)
{
	gt_path *p = collecting;

	if (!p || crl)
		return 0; /* not ours, or a revocation check: those come after the path and add no link */
	if (p->overflow || p->nlinks == GT_LINKS_MAX) {
		p->overflow = true;
		return 0;
	}
	gt_link *l = &p->links[p->nlinks];
	memset(l, 0, sizeof(*l));
	l->status = status;
	if (!cert || !put(p, cert, &l->cert, &l->cert_len) || (issuer && !put(p, issuer, &l->issuer, &l->issuer_len))) {
		p->overflow = true;
		return 0;
	}
	p->nlinks++;
	return 0;
}

int certpin__gt_collect_during(gt_path *p, int (*verify)(void *ctx), void *ctx)
{
	gt_path *outer = collecting;

	p->used = p->nlinks = p->n = 0;
	p->overflow = false;
	collecting = p;
	int rc = verify(ctx);
	collecting = outer;
	return rc;
}

static bool same(const gt_path *p, size_t a, size_t alen, size_t b, size_t blen)
{
	return alen == blen && alen > 0 && memcmp(p->arena + a, p->arena + b, alen) == 0;
}

static bool add(gt_path *p, size_t off, size_t len)
{
	if (p->n == CERTPIN_CHAIN_MAX)
		return false;
	p->off[p->n] = off;
	p->len[p->n++] = len;
	return true;
}

/*
 * Walk back from the last call, which must be the leaf's: each call's
 * issuer is the next element; it is a certificate GnuTLS verified in turn
 * if the call before verified exactly that certificate, else it is the
 * trust anchor and the path ends there.  A certificate checked against
 * itself is trusted as it is and ends the path too.
 */
bool certpin__gt_path_read(gt_path *p, const gnutls_datum_t *leaf)
{
	p->n = 0;
	if (p->overflow || p->nlinks == 0 || !leaf || !leaf->data)
		return false;
	size_t k = p->nlinks - 1;
	const gt_link *cur = &p->links[k];
	if (cur->status != 0 || cur->cert_len != leaf->size || memcmp(p->arena + cur->cert, leaf->data, leaf->size) != 0)
		return false;
	(void)add(p, cur->cert, cur->cert_len);
	for (;;) {
		if (cur->status != 0 || cur->issuer_len == 0)
			return false;
		if (same(p, cur->issuer, cur->issuer_len, cur->cert, cur->cert_len))
			return true;
		if (!add(p, cur->issuer, cur->issuer_len))
			return false;
		const gt_link *prev = k > 0 ? &p->links[k - 1] : NULL;
		if (!prev || prev->status != 0 || !same(p, prev->cert, prev->cert_len, cur->issuer, cur->issuer_len))
			return true;
		cur = prev;
		k--;
	}
}

void certpin__gt_path_free(gt_path *p)
{
	free(p->arena);
	memset(p, 0, sizeof(*p));
}
