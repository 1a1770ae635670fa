/*
 * Declarations shared by the files of libcertpin-wolfssl.  Not installed.
 *
 *   wolfssl.c        the verify callback: what wolfSSL reported, the check, the verdict
 *   wolfssl_chain.c  the verified chain as the engine reads it (see wolfssl.c's top comment)
 *   wolfssl_conn.c   state on the WOLFSSL_CTX and the WOLFSSL, attaching, host names, results
 *
 * wolfSSL's public API only (wolfssl/ssl.h, never its compatibility layer's
 * openssl/ headers, never a struct field), and the engine's (certpin/adapter.h).
 */
#ifndef CERTPIN_WOLFSSL_INTERNAL_H
#define CERTPIN_WOLFSSL_INTERNAL_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "certpin.h"
#include "certpin/adapter.h"
#include "certpin/wolfssl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(OPENSSL_EXTRA) || !defined(HAVE_EX_DATA) || !defined(WOLFSSL_ALWAYS_VERIFY_CB) || \
	!defined(KEEP_PEER_CERT) || !defined(WOLFSSL_SIGNER_DER_CERT)
#error "libcertpin-wolfssl needs wolfSSL built with OPENSSL_EXTRA, HAVE_EX_DATA, WOLFSSL_ALWAYS_VERIFY_CB, KEEP_PEER_CERT and WOLFSSL_SIGNER_DER_CERT"
#endif

#define CPW_GEN_LEN 16          /* random bytes naming one attachment (see cpw_ctx.gen) */
#define CPW_SID_CTX_LEN 24      /* session ID contexts; wolfSSL copies only those under 32 bytes into a session */
#define CPW_RANDOM_LEN 32       /* a client random: names one handshake */
#define CPW_KEYID_MAX 64

/* What a WOLFSSL_CTX carries (ex_data): the binding and what it needs around it. */
typedef struct cpw_ctx {
	certpin_binding *binding;
	int pin_only;                   /* fixed at the first attach */
	pthread_mutex_t mu;             /* guards the two below */
	VerifyCallback app_verify;      /* the context's verify callback before certpin's */
	unsigned char gen[CPW_GEN_LEN]; /* new at every attach: sessions are bound to it */
} cpw_ctx;

/* One certificate the peer sent above the leaf, as wolfSSL reported it to the verify callback. */
typedef struct cpw_peer {
	int seen;
	size_t off, len;                /* its DER in the connection's arena */
	uint64_t subject, issuer;       /* hashes of wolfSSL's one-line names */
	unsigned char skid[CPW_KEYID_MAX], akid[CPW_KEYID_MAX];
	int skid_len, akid_len;
	int self_issued;
	int preverify;                  /* wolfSSL's own verdict on it */
	int alt;                        /* wolfSSL_is_peer_alt_cert_chain() when it was reported */
	int verified;                   /* worked out at the leaf: wolfSSL checked its signature in this handshake */
} cpw_peer;

/* What a WOLFSSL carries (ex_data). */
typedef struct cpw_conn {
	char host[CERTPIN_HOSTNAME_MAX]; /* normalized; "" none */
	VerifyCallback app_verify;      /* a per-connection callback found by certpin_wolfssl_set_host() */
	int wrapped;                    /* ... which certpin's then replaced on this WOLFSSL */
	/* the last check: its outcome and the handshake it was for */
	int have_record;
	unsigned char rec_id[CPW_RANDOM_LEN];
	certpin_outcome out;
	/* the handshake under way */
	unsigned char hs_id[CPW_RANDOM_LEN];
	cpw_peer peers[CERTPIN_CHAIN_MAX]; /* by depth; [0] unused */
	int broken;                     /* a certificate above the leaf could not be recorded */
	int pkix_overridden;            /* an application callback accepted an error wolfSSL reported */
	long pkix_error;                /* the first error wolfSSL reported in this handshake */
	unsigned char *arena;
	size_t arena_len, arena_cap;
} cpw_conn;

/* ---- wolfssl_conn.c ---- */
/* The context's state, NULL if none. */
cpw_ctx *cpw_ctx_get(WOLFSSL_CTX *ctx);
/* The connection's state, made on first use; NULL if none can be made. */
cpw_conn *cpw_conn_get(WOLFSSL *ssl, bool make);
/* The application's verify callback to call before certpin's for `conn`. */
VerifyCallback cpw_app_verify(cpw_ctx *cx, const cpw_conn *cn);

/* ---- wolfssl.c ---- */
int cpw_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store);

/* ---- wolfssl_chain.c ---- */
/* What stands behind a check's chain. */
typedef enum cpw_trust {
	CPW_UNVERIFIED,                 /* wolfSSL's checks failed or were overridden: the leaf, never read */
	CPW_VERIFIED,                   /* wolfSSL verified the leaf: the path through its CA table */
	CPW_PIN_ONLY                    /* nothing verified: the peer's leaf alone */
} cpw_trust;

/* The verified chain of one check, read lazily by the engine (certpin_der_fn). */
typedef struct cpw_chain {
	WOLFSSL *ssl;
	WOLFSSL_X509_STORE_CTX *store;  /* wolfSSL's, for the CA table it verified with */
	cpw_conn *conn;
	WOLFSSL_X509 *leaf;
	size_t n;                       /* the length announced to the engine */
	int walked;                     /* 0 not yet, 1 done, -1 failed */
	WOLFSSL_X509 *walk[CERTPIN_CHAIN_MAX]; /* [1..n) from wolfSSL's CA table, owned */
} cpw_chain;

/* Note the certificate of a callback above the leaf in `cn`; false if it cannot be kept. */
bool cpw_peer_record(cpw_conn *cn, WOLFSSL *ssl, WOLFSSL_X509 *x, int depth, int preverify);
/* Ready `c` for a check of `leaf` (NULL: none, an empty chain); sets c->n. */
void cpw_chain_init(cpw_chain *c, WOLFSSL *ssl, WOLFSSL_X509_STORE_CTX *store, cpw_conn *cn, WOLFSSL_X509 *leaf,
	cpw_trust trust);
/* The engine's reader (certpin_der_fn) over a cpw_chain. */
int cpw_chain_der(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len);
void cpw_chain_done(cpw_chain *c);

#endif
