/*
 * The reporter's dedup table (report_internal.h): the keys of recent
 * reports, a fixed number of them, oldest overwritten first, found through
 * chained hash buckets.  Not thread-safe: the reporter's mutex guards it.
 */
#include "report_internal.h"

struct certpin_report__dedup_ent {
	unsigned char key[CERTPIN_DIGEST_LEN];
	int64_t t;
	long next;                  /* next index in the bucket chain, -1 at the end */
	int used;
};

int certpin_report__dedup_init(certpin_report__dedup *d, size_t cap, int64_t window)
{
	memset(d, 0, sizeof(*d));
	if (window <= 0 || cap == 0)
		return CERTPIN_OK;      /* off: nothing is a duplicate */
	for (d->nbuckets = 16; d->nbuckets < cap; d->nbuckets *= 2)
		;
	d->ent = calloc(cap, sizeof(*d->ent));
	d->buckets = malloc(d->nbuckets * sizeof(*d->buckets));
	if (!d->ent || !d->buckets) {
		certpin_report__dedup_free(d);
		return CERTPIN_E_NOMEM;
	}
	for (size_t i = 0; i < d->nbuckets; i++)
		d->buckets[i] = -1;
	d->cap = cap;
	d->window = window;
	return CERTPIN_OK;
}

void certpin_report__dedup_free(certpin_report__dedup *d)
{
	free(d->ent);
	free(d->buckets);
	memset(d, 0, sizeof(*d));
}

static size_t bucket(const certpin_report__dedup *d, const unsigned char *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));     /* the key is a SHA-256: any 8 bytes are uniform */
	return (size_t)(h & (d->nbuckets - 1));
}

static long find(const certpin_report__dedup *d, const unsigned char *key)
{
	for (long i = d->buckets[bucket(d, key)]; i >= 0; i = d->ent[i].next)
		if (memcmp(d->ent[i].key, key, CERTPIN_DIGEST_LEN) == 0)
			return i;
	return -1;
}

static void unlink_ent(certpin_report__dedup *d, long idx)
{
	long *p = &d->buckets[bucket(d, d->ent[idx].key)];

	while (*p >= 0) {
		if (*p == idx) {
			*p = d->ent[idx].next;
			return;
		}
		p = &d->ent[*p].next;
	}
}

bool certpin_report__dedup_seen(certpin_report__dedup *d, const unsigned char key[CERTPIN_DIGEST_LEN], int64_t now)
{
	long i;

	if (!d->cap)
		return false;
	if ((i = find(d, key)) >= 0) {
		if (now - d->ent[i].t < d->window && now >= d->ent[i].t)
			return true;
		d->ent[i].t = now;
		return false;
	}
	i = (long)d->pos;
	d->pos = (d->pos + 1) % d->cap;
	if (d->ent[i].used)
		unlink_ent(d, i);
	memcpy(d->ent[i].key, key, CERTPIN_DIGEST_LEN);
	d->ent[i].t = now;
	d->ent[i].used = 1;
	size_t b = bucket(d, key);
	d->ent[i].next = d->buckets[b];
	d->buckets[b] = i;
	return false;
}

void certpin_report__dedup_forget(certpin_report__dedup *d, const unsigned char key[CERTPIN_DIGEST_LEN])
{
	long i;

	if (d->cap && (i = find(d, key)) >= 0)
		d->ent[i].t = INT64_MIN / 2;    /* expired: the next identical failure is reported */
}
