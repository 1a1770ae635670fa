/*
 * Internal declarations of libcertpin-curl.  Not installed.  The module
 * sees the core through its public API only (certpin.h, certpin/curl.h).
 */
#ifndef CERTPIN_CURL_INTERNAL_H
#define CERTPIN_CURL_INTERNAL_H

#include "certpin.h"
#include "certpin/adapter.h"
#include "certpin/curl.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define CPC_CHAIN_MAX 16                /* verified chain elements kept for a refusal's message (certpin.h) */
#define CPC_IP_MAX 64                   /* libcurl's MAX_IPADR_LEN is 46 */

/*
 * Which connection a transfer used, as libcurl reports it (CURLINFO_PRIMARY_IP,
 * _PRIMARY_PORT, _LOCAL_IP, _LOCAL_PORT; the same values reach the
 * CURLOPT_PREREQFUNCTION callback): a live TCP connection's addresses are
 * unique, and libcurl clears them when a transfer starts.
 */
typedef struct cpc_tuple {
	char primary_ip[CPC_IP_MAX], local_ip[CPC_IP_MAX];
	long primary_port, local_port;
} cpc_tuple;

/* A check's outcome as the handle reports it (certpin_curl_result()). */
typedef struct cpc_verdict {
	bool valid;                     /* set for a transfer; false: never used */
	cpc_tuple tuple;                /* the connection it is about */
	int code;                       /* CERTPIN_E_STATE: no check */
	certpin_result result;
	int tofu_code;
	certpin_tofu_result tofu;
	char why[512];                  /* the reason, "" for a plain match or an unpinned host */
} cpc_verdict;

/*
 * What an attachment checks with.  `policy` is the application's (NULL:
 * TOFU only); two connections are checked alike when the policy object,
 * the store and the flags are the same.
 */
typedef struct cpc_attachment {
	certpin_policy *policy;         /* a reference, or NULL */
	certpin_binding *tofu_hold;     /* holds a reference to opts.tofu (certpin/adapter.h); NULL: no store */
	certpin_curl_options opts;
} cpc_attachment;

/* One attached easy handle: found by its address in the registry (handle.c). */
typedef struct cpc_handle {
	atomic_size_t refs;             /* the registry's and each connection's it made */
	pthread_mutex_t mu;             /* guards `att` and `last` */
	CURL *easy;
	struct cpc_handle *next;        /* registry chain */
	cpc_attachment att;
	cpc_verdict last;               /* the verdict of the handle's last transfer */
} cpc_handle;

/* One TLS connection libcurl made with the helper's SSL_CTX callback, kept as the SSL_CTX's ex_data (conn.c). */
typedef struct cpc_conn {
	cpc_handle *owner;              /* a reference: the handle whose transfer made it; NULL: another (DoH) */
	cpc_attachment att;             /* references: what checked it */
	bool checked;                   /* a result came */
	cpc_verdict v;
	certpin_chain_elem chain[CPC_CHAIN_MAX]; /* the verified chain of a failed check, for the message */
	size_t nchain;
} cpc_conn;

/* ---- handle.c ---- */
/* The state of an attached handle with a reference for the caller (cpc_handle_unref()), or NULL. */
cpc_handle *cpc_handle_find(const CURL *easy);
/* Add h to the registry, which takes the caller's reference; take it out (true if it was there). */
void cpc_registry_add(cpc_handle *h);
bool cpc_registry_remove(cpc_handle *h);
void cpc_handle_unref(cpc_handle *h);
/* A copy of h's attachment with references of its own (drop with cpc_attachment_drop()). */
void cpc_attachment_take(cpc_attachment *out, cpc_handle *h);
void cpc_attachment_drop(cpc_attachment *a);
/* Do two attachments check alike (same policy object, store and flags)? */
bool cpc_attachment_same(const cpc_attachment *a, const cpc_attachment *b);
/* Set h->last to `v` (under h's mutex). */
void cpc_handle_set_last(cpc_handle *h, const cpc_verdict *v);
/* The policy attached to a connection of a TOFU-only attachment: empty, made once, kept. */
certpin_policy *cpc_empty_policy(void);
/* The tuple libcurl reports now for `easy`'s transfer; a tuple of these values. */
void cpc_tuple_of(cpc_tuple *out, CURL *easy);
void cpc_tuple_set(cpc_tuple *t, const char *primary_ip, const char *local_ip, long primary_port, long local_port);
bool cpc_tuple_equal(const cpc_tuple *a, const cpc_tuple *b);
/* A verdict saying no check ran, with reason `why` (printf). */
void cpc_verdict_none(cpc_verdict *v, int code, const char *fmt, ...) CERTPIN_PRINTF(3, 4);

/* ---- conn.c ---- */
/* The SSL_CTX ex_data index of cpc_conn; < 0 if none could be had.  Made once. */
int cpc_conn_index(void);
/* The callbacks certpin_curl_attach() installs (libcurl's signatures). */
CURLcode cpc_ssl_ctx_cb(CURL *easy, void *sslctx, void *userptr);
int cpc_prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port);

/* ---- explain.c ---- */
/* c->v.why for c's result: the rule's pins and the chain's for a mismatch, the PKIX error, ... */
void cpc_explain(cpc_conn *c, const certpin_policy *policy);
/* The host of `easy`'s URL, normalized, into out (CERTPIN_HOSTNAME_MAX); *is_ip set.  A certpin code. */
int cpc_url_host(char *out, size_t outlen, int *is_ip, CURL *easy, certpin_error *err);

#endif
