/*
 * libcertpin-curl's records: the registry of attached easy handles, their
 * attachments and last verdicts, and the connection tuples and verdicts
 * both curl.c and conn.c use.  Calls go one way: curl.c and conn.c call
 * here, this file calls neither.
 *
 * libcurl gives no way to read an option back or to learn when a handle
 * is freed, so the helper's state for an easy handle is found by the
 * handle's address in a registry (a hash table under one mutex) that
 * certpin_curl_attach() fills and certpin_curl_detach() empties.
 */
#include "curl_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_BUCKETS 1024

static struct {
	pthread_mutex_t mu;
	cpc_handle *bucket[REGISTRY_BUCKETS];
} registry = { PTHREAD_MUTEX_INITIALIZER, { NULL } };

static size_t bucket_of(const CURL *easy)
{
	uintptr_t a = (uintptr_t)easy;

	return (size_t)((a >> 4) ^ (a >> 14)) % REGISTRY_BUCKETS;
}

cpc_handle *cpc_handle_find(const CURL *easy)
{
	cpc_handle *h;

	pthread_mutex_lock(&registry.mu);
	for (h = registry.bucket[bucket_of(easy)]; h && h->easy != easy; h = h->next)
		;
	if (h)
		atomic_fetch_add(&h->refs, 1);
	pthread_mutex_unlock(&registry.mu);
	return h;
}

/* Take h (its reference goes to the registry) out of the registry if it is there; true if it was. */
bool cpc_registry_remove(cpc_handle *h)
{
	bool found = false;

	pthread_mutex_lock(&registry.mu);
	for (cpc_handle **p = &registry.bucket[bucket_of(h->easy)]; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			found = true;
			break;
		}
	pthread_mutex_unlock(&registry.mu);
	return found;
}

void cpc_registry_add(cpc_handle *h)
{
	pthread_mutex_lock(&registry.mu);
	size_t b = bucket_of(h->easy);
	h->next = registry.bucket[b];
	registry.bucket[b] = h;
	pthread_mutex_unlock(&registry.mu);
}

void cpc_attachment_drop(cpc_attachment *a)
{
	certpin_policy_free(a->policy);
	certpin_binding_free(a->tofu_hold);
	memset(a, 0, sizeof(*a));
}

void cpc_attachment_take(cpc_attachment *out, cpc_handle *h)
{
	pthread_mutex_lock(&h->mu);
	*out = h->att;
	out->policy = certpin_policy_ref(h->att.policy);
	out->tofu_hold = certpin_binding_ref(h->att.tofu_hold);
	pthread_mutex_unlock(&h->mu);
}

bool cpc_attachment_same(const cpc_attachment *a, const cpc_attachment *b)
{
	return a->policy == b->policy && a->opts.tofu == b->opts.tofu && a->opts.flags == b->opts.flags;
}

void cpc_handle_set_last(cpc_handle *h, const cpc_verdict *v)
{
	pthread_mutex_lock(&h->mu);
	h->last = *v;
	pthread_mutex_unlock(&h->mu);
}

void cpc_handle_unref(cpc_handle *h)
{
	if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	cpc_attachment_drop(&h->att);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static certpin_policy *empty_policy;
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

static void make_empty_policy(void)
{
	certpin_policy *p = NULL;

	if (certpin_policy_new(&p) == CERTPIN_OK)
		certpin_policy_freeze(p);
	empty_policy = p; /* kept for the life of the process */
}

certpin_policy *cpc_empty_policy(void)
{
	pthread_once(&empty_once, make_empty_policy);
	return empty_policy;
}

void cpc_verdict_none(cpc_verdict *v, int code, const char *fmt, ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->valid = true;
	v->code = code;
	v->result.version = CERTPIN_RESULT_VERSION;
	v->result.verdict = CERTPIN_VERDICT_NOT_PINNED;
	v->result.rule = v->result.pin = v->result.depth = -1;
	v->tofu_code = CERTPIN_E_STATE;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

void cpc_tuple_set(cpc_tuple *t, const char *primary_ip, const char *local_ip, long primary_port, long local_port)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->primary_ip, sizeof(t->primary_ip), "%s", primary_ip ? primary_ip : "");
	snprintf(t->local_ip, sizeof(t->local_ip), "%s", local_ip ? local_ip : "");
	t->primary_port = primary_port;
	t->local_port = local_port;
}

void cpc_tuple_of(cpc_tuple *out, CURL *easy)
{
	char *pip = NULL, *lip = NULL;
	long pport = 0, lport = 0;

	if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &pip) != CURLE_OK)
		pip = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_LOCAL_IP, &lip) != CURLE_OK)
		lip = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &pport) != CURLE_OK)
		pport = 0;
	if (curl_easy_getinfo(easy, CURLINFO_LOCAL_PORT, &lport) != CURLE_OK)
		lport = 0;
	cpc_tuple_set(out, pip, lip, pport, lport);
}

bool cpc_tuple_equal(const cpc_tuple *a, const cpc_tuple *b)
{
	return a->primary_port == b->primary_port && a->local_port == b->local_port &&
	       strcmp(a->primary_ip, b->primary_ip) == 0 && strcmp(a->local_ip, b->local_ip) == 0;
}
