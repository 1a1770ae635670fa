/*
 * certpin/adapter.h - the engine's interface for TLS adapters.
 *
 * An adapter connects one TLS stack to certpin and answers three questions,
 * nothing more: for which names did the stack verify the peer's
 * certificate, which chain did it verify (leaf first, trust anchor last --
 * never merely the list the peer sent), and how does the stack refuse a
 * handshake.  Everything else is the engine's: the policy's rules, the TOFU
 * store, the decision, the failure callback, and which sessions may be
 * resumed.  certpin's own adapters for mbedTLS, wolfSSL and GnuTLS and the
 * libcurl helper are written on this interface and nothing else; so can
 * yours.  It compiles on its own.
 *
 * LIFE CYCLE
 *
 *   certpin_binding   What the application attached to one context or
 *                     configuration of the stack: a policy and/or a TOFU
 *                     store, and certpin_ssl_options.  Reference-counted;
 *                     certpin_binding_set() swaps atomically, so a swap
 *                     reaches the checks that start after it, never one
 *                     that is running.  Thread-safe.
 *
 *   certpin_handshake One full handshake, once the stack has verified the
 *                     peer's chain (PKIX and host name): the names, the
 *                     verified chain as DER, and whether the verification
 *                     passed.  certpin_binding_check() decides.
 *
 *   certpin_outcome   The decision (continue, refuse, or leave it to the
 *                     stack), the policy's result and the TOFU store's,
 *                     which the adapter keeps per connection for its
 *                     certpin_<stack>_result(), and the tag for the
 *                     session a passing handshake makes.
 *
 * RESUMPTION
 *
 * A resumed handshake verifies no certificate, so nothing checks it.  For a
 * host that the policy pins (and for every host when a TOFU store is
 * attached) a session may be resumed only if its full handshake passed the
 * same policy and store for the same host: store the outcome's tag with the
 * session, and before a client resumes one, ask
 * certpin_binding_resume_ok(); if it says no, do not resume (a full,
 * checked handshake follows).  A stack that cannot keep data with its
 * sessions must not resume sessions for a binding that checks anything.
 *
 * FAILING CLOSED
 *
 * Every error -- a chain element that cannot be read, a name that does not
 * fit, an unknown version -- refuses: certpin_binding_check() returns the
 * code and the outcome says CERTPIN_DECIDE_REFUSE.
 */
#ifndef CERTPIN_ADAPTER_H
#define CERTPIN_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "../certpin.h"
#include "tofu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most names one handshake's certificate is verified for. */
#define CERTPIN_NAMES_MAX 8
/* Longest verified chain the engine reads (a longer one is refused). */
#define CERTPIN_CHAIN_MAX 16

typedef struct certpin_binding certpin_binding;

/*
 * A binding holding `policy` and `store` (either may be NULL; each is
 * referenced, the policy frozen) with `opts` (NULL: defaults).
 * CERTPIN_E_INVALID_ARG for an unknown options version or flag.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_binding_new(certpin_binding **out, certpin_policy *policy,
	certpin_tofu *store, const certpin_ssl_options *opts);

/* Another reference (NULL-safe); returns `b`. */
CERTPIN_EXPORT certpin_binding *certpin_binding_ref(certpin_binding *b);

/* Drop a reference (NULL-safe); the last one releases the policy and store. */
CERTPIN_EXPORT void certpin_binding_free(certpin_binding *b);

/*
 * Put `policy`, `store` (each may be NULL: none; referenced, the policy
 * frozen) and `opts` (NULL: defaults) in place of all of b's, at once.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_binding_set(certpin_binding *b, certpin_policy *policy,
	certpin_tofu *store, const certpin_ssl_options *opts);

/*
 * Element i of the verified chain (0 the leaf) as DER: the whole
 * certificate, or with `spki` set its SubjectPublicKeyInfo.  A stack that
 * does not keep the SPKI apart returns 1 for `spki` and the engine finds it
 * in the certificate; the engine then remembers the digests of that
 * certificate's exact DER (a process-wide cache of 256 certificates), so
 * that a chain met before is not hashed again.  The bytes must stay valid
 * until the next call or the end of certpin_binding_check().  0 on success,
 * -1 on error (the handshake is then refused).
 */
typedef int (*certpin_der_fn)(void *ctx, size_t i, int spki, const unsigned char **der, size_t *len);

/* How the stack's own verification of the chain and names ended. */
typedef enum certpin_pkix {
	CERTPIN_PKIX_OK = 0,            /* verified, no error */
	CERTPIN_PKIX_FAILED = 1,        /* the stack refuses the chain itself */
	CERTPIN_PKIX_OVERRIDDEN = 2     /* an error the application told the stack to accept */
} certpin_pkix;

typedef struct certpin_handshake {
	unsigned int version;           /* CERTPIN_HANDSHAKE_VERSION */
	/*
	 * The names the stack verified the certificate for (host names or IP
	 * literals, as the application set them); names[0] is the one the
	 * results are for.  With several, the rule of every pinned one must
	 * pass.  None: refused when anything is pinned.
	 */
	const char *names[CERTPIN_NAMES_MAX];
	size_t nnames;
	/*
	 * The chain the stack verified, leaf first, its trust anchor last, n
	 * elements read through der(ctx, ...).  With the binding's
	 * CERTPIN_SSL_INSECURE_PIN_ONLY: the peer's leaf alone (n = 1).
	 */
	size_t n;
	certpin_der_fn der;
	void *ctx;
	certpin_pkix pkix;
	long pkix_error;                /* the stack's error code when pkix != OK (kept in the result) */
	int64_t now;                    /* Unix time; 0: now */
} certpin_handshake;

#define CERTPIN_HANDSHAKE_VERSION 1
#define CERTPIN_HANDSHAKE_INIT { CERTPIN_HANDSHAKE_VERSION, { NULL }, 0, 0, NULL, NULL, CERTPIN_PKIX_OK, 0, 0 }

/* What a passing full handshake's session may be resumed for (store it with the session). */
#define CERTPIN_TAG_SERIALS 4
typedef struct certpin_session_tag {
	uint64_t serials[CERTPIN_TAG_SERIALS];  /* the policies and stores it passed, newest first; 0 unused */
	char host[CERTPIN_HOSTNAME_MAX];        /* for this normalized host */
} certpin_session_tag;

typedef enum certpin_decision {
	CERTPIN_DECIDE_CONTINUE = 1,    /* a source checked the handshake and allows it */
	CERTPIN_DECIDE_REFUSE = 0,      /* refuse the handshake */
	CERTPIN_DECIDE_STACK = -1       /* nothing checked it (host not pinned, no store): the stack's verdict stands */
} certpin_decision;

typedef struct certpin_outcome {
	unsigned int version;           /* CERTPIN_OUTCOME_VERSION, set by the library */
	certpin_decision decision;
	int rc;                         /* the policy's code, what certpin_<stack>_result() returns; */
	certpin_result result;          /*   CERTPIN_E_STATE when no policy check ran */
	int tofu_rc;                    /* the store's code; CERTPIN_E_STATE when no TOFU check ran */
	certpin_tofu_result tofu;
	certpin_session_tag tag;        /* tag.serials[0] == 0: nothing to tag */
} certpin_outcome;

#define CERTPIN_OUTCOME_VERSION 1

/*
 * Check one handshake (see certpin_handshake) against the binding's policy
 * and store, calling the options' failure callback and the store's change
 * callback as they apply.  Always fills `out`.  Returns CERTPIN_OK when the
 * decision is CONTINUE or STACK; otherwise the reason: the policy's code if
 * it refused, else the store's, CERTPIN_E_PKIX, CERTPIN_E_CHAIN for a chain
 * that cannot be read or is too long, CERTPIN_E_HOSTNAME for a name that
 * does not fit, CERTPIN_E_INVALID_ARG (bad arguments, or pin-only trust
 * with a TOFU store, which would then verify nothing).
 */
CERTPIN_EXPORT int certpin_binding_check(certpin_outcome *out, certpin_binding *b, const certpin_handshake *hs);

/*
 * May a session carrying `tag` (NULL: none) be resumed by a client
 * connecting to `name` (NULL: unknown) under the binding as it is now?
 */
CERTPIN_EXPORT int certpin_binding_resume_ok(certpin_binding *b, const char *name, const certpin_session_tag *tag);

/* Add what a later full handshake on the same session passed (`passed`) to the session's tag `t`. */
CERTPIN_EXPORT void certpin_session_tag_merge(certpin_session_tag *t, const certpin_session_tag *passed);

#ifdef __cplusplus
}
#endif

#endif
