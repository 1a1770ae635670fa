/* Internal declarations shared by libcertpin's modules.  Not installed. */
#ifndef CERTPIN_INTERNAL_H
#define CERTPIN_INTERNAL_H

#include "certpin.h"
#include "certpin/adapter.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <stdatomic.h>

#define CERTPIN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error.c ---- */
/*
 * Fill `err` (NULL-safe) with `code`, the JSON `path` (or NULL) or text
 * `line` (or 0), and a message; returns `code`.
 */
#define certpin__fail certpin_error_set

/* ---- pin.c ---- */
/* Base64 (RFC 4648, padded) of `len` bytes into `out`; returns chars written or -1 if it does not fit. */
int certpin__b64_encode(char *out, size_t outlen, const unsigned char *in, size_t len);
/* Strict padded base64 decode; returns bytes decoded or -1. */
int certpin__b64_decode(unsigned char *out, size_t outlen, const char *in, size_t len);
/* Largest instant certpin reads or writes: 9999-12-31T23:59:59Z. */
#define CERTPIN__TIME_MAX INT64_C(253402300799)
/* Parse a date "YYYY-MM-DD" or RFC 3339 "YYYY-MM-DDTHH:MM:SS(Z|+hh:mm)" into
 * Unix time in [0, CERTPIN__TIME_MAX]. */
int certpin__parse_time(int64_t *out, const char *s);
/* Format Unix time as "YYYY-MM-DDTHH:MM:SSZ" (needs 21 bytes). */
void certpin__format_time(char *out, size_t outlen, int64_t t);
/* SHA-256 of `in`: CERTPIN_OK, or CERTPIN_E_NOMEM if the digest failed (`out` is then unusable). */
CERTPIN_MUST_CHECK int certpin__sha256(unsigned char out[CERTPIN_DIGEST_LEN], const unsigned char *in, size_t len);
struct evp_md_ctx_st;
/*
 * The same with a context kept for the next call (*ctx NULL: made here; the
 * caller frees it with EVP_MD_CTX_free()): several digests in a row skip an
 * allocation and a provider context each.
 */
CERTPIN_MUST_CHECK int certpin__sha256_reuse(struct evp_md_ctx_st **ctx, unsigned char out[CERTPIN_DIGEST_LEN],
	const unsigned char *in, size_t len);

/* ---- der.c ---- */
/* Locate the SubjectPublicKeyInfo element (tag+length+value) inside a DER certificate. */
int certpin__der_cert_spki(const unsigned char **spki, size_t *spki_len,
	const unsigned char *der, size_t len);
/* Check that [der, der+len) is exactly one DER SEQUENCE. */
int certpin__der_is_sequence(const unsigned char *der, size_t len);

/* ---- hostmatch.c ---- */
enum certpin__wild { WILD_NONE = 0, WILD_ONE = 1, WILD_ANY = 2 };

/* Parse a host pattern: sets base (normalized name), wildcard kind, is_ip. */
int certpin__pattern_parse(char *base, size_t baselen, int *wildcard, int *is_ip,
	const char *pattern, int include_subdomains);
/* Normalize a hostname; *is_ip set to 1 for IP literals. */
int certpin__host_normalize(char *out, size_t outlen, int *is_ip, const char *host);

/*
 * The index from (base name, wildcard kind) to rule: open addressing with
 * linear probing over 32-byte slots that hold the name's first bytes, so a
 * lookup that hits usually reads one cache line.  A longer name's rest is
 * compared through `full` (the rule's whole base name).
 */
#define CERTPIN__SLOT_NAME 26
typedef struct certpin__slot {
	uint32_t rule1;                 /* rule index + 1; 0: empty */
	uint8_t wildcard;
	uint8_t len;                    /* of the base name (<= 253) */
	char name[CERTPIN__SLOT_NAME];  /* its first bytes */
} certpin__slot;

typedef struct certpin__hostindex {
	certpin__slot *slots;
	size_t cap, used;               /* cap is any size; a slot is found by multiply-shift */
} certpin__hostindex;

/* The whole base name of `rule`, for names longer than a slot holds and for rehashing. */
typedef const char *(*certpin__base_fn)(const void *ctx, size_t rule);

/* Add (base[0..len), wildcard) -> rule: CERTPIN_OK, _E_DUPLICATE if it is there already, or _E_NOMEM. */
int certpin__hostindex_add(certpin__hostindex *ix, const char *base, size_t len, int wildcard, size_t rule,
	certpin__base_fn full, const void *ctx);
/* The rule of (base[0..len), wildcard), or -1. */
long certpin__hostindex_find(const certpin__hostindex *ix, const char *base, size_t len, int wildcard,
	certpin__base_fn full, const void *ctx);
/* The most specific rule for a normalized host, or -1. */
long certpin__hostindex_match(const certpin__hostindex *ix, const char *host, int is_ip, certpin__base_fn full,
	const void *ctx);
/* Room for `more` entries without growing again. */
int certpin__hostindex_reserve(certpin__hostindex *ix, size_t more, certpin__base_fn full, const void *ctx);
/* Shrink the slot array to the load a frozen index keeps. */
void certpin__hostindex_compact(certpin__hostindex *ix, certpin__base_fn full, const void *ctx);
void certpin__hostindex_free(certpin__hostindex *ix);

/* ---- policy.c ---- */

/* One pin of a rule: 34 bytes, no padding (a million hosts with two pins each: 68 MB). */
typedef struct certpin__pinent {
	unsigned char digest[CERTPIN_DIGEST_LEN];
	uint8_t kind;                   /* certpin_pin_kind */
	uint8_t position;               /* certpin_position */
} certpin__pinent;

/* A rule: offsets into the policy's arrays, not pointers, so a policy is a few flat blocks. */
typedef struct certpin__rule {
	int64_t expires;
	uint32_t pattern;               /* offset in p->strings of the normalized pattern ("*.", "**." included) */
	uint32_t pins;                  /* index of the first of the rule's contiguous pins in p->pins */
	uint32_t clock_skew;
	uint32_t uris;                  /* 1 + index in p->uri_sets of its own report URIs; 0: the policy's */
	uint16_t npins, cappins;        /* cappins: room at `pins` (building only) */
	uint8_t wildcard, is_ip, mode, on_expiry;
	uint8_t base;                   /* length of the pattern's wildcard prefix: the base name follows */
} certpin__rule;

typedef struct certpin__uriset {
	char **uris;
	size_t n;
} certpin__uriset;

struct certpin_policy {
	atomic_size_t refs;     /* certpin_policy_free() drops one; attachments hold one each */
	uint64_t serial;        /* set when frozen: names the policy in session tags */
	bool frozen;            /* frozen (loaded, or attached): no more changes (CERTPIN_E_STATE) */
	certpin__rule *rules;
	size_t nrules, caprules;
	certpin__pinent *pins;
	size_t npins, cappins;
	uint32_t *comments;     /* per pin: offset of its comment in strings (0: none); NULL until one is set */
	char *strings;          /* NUL-terminated patterns and comments; strings[0] is "" */
	size_t nstrings, capstrings;
	certpin__uriset uris;   /* policy-wide report URIs */
	certpin__uriset *uri_sets;
	size_t nuri_sets;
	size_t nip_rules;       /* rules for an IP address: none, and no IP can match */
	certpin__hostindex index;
	uint64_t version;
};

/* certpin_policy_add_pin() to rule `rule` (its index): the loader's call, with no pattern to look up. */
int certpin__policy_add_pin_at(certpin_policy *p, size_t rule, const certpin_pin *pin, certpin_position position,
	const char *comment, certpin_error *err);
/* Room for `rules` more rules and `pins` more pins, the index sized for them: one allocation each. */
int certpin__policy_reserve(certpin_policy *p, size_t rules, size_t pins);
const certpin__rule *certpin__policy_rule(const certpin_policy *p, size_t i);
/* A rule's pins (rule->npins of them) and its pattern, base name and own report URIs. */
const certpin__pinent *certpin__rule_pins(const certpin_policy *p, const certpin__rule *r);
const char *certpin__rule_pattern(const certpin_policy *p, const certpin__rule *r);
const char *certpin__rule_base(const certpin_policy *p, const certpin__rule *r);
/* Lookup for a normalized host. */
long certpin__policy_match(const certpin_policy *p, const char *host, int is_ip);
/* Has the policy (NULL: none) rules for IP addresses? */
bool certpin__policy_ip_rules(const certpin_policy *p);
/* The rule of exactly this normalized base and wildcard kind, or -1. */
long certpin__policy_find(const certpin_policy *p, const char *base, size_t len, int wildcard);
/* A pin as the public type, and back. */
certpin_pin certpin__pin_of(const certpin__pinent *e);
void certpin__pinent_set(certpin__pinent *e, const certpin_pin *pin, certpin_position position);

/* ---- chain.c: the verified chain an adapter hands to the engine ---- */

/* Longest verified chain certpin checks; a pinned host with a longer one is refused (CERTPIN_E_CHAIN). */
#define CERTPIN__CHAIN_MAX CERTPIN_CHAIN_MAX     /* certpin/adapter.h */

/*
 * What a TLS adapter provides for element i of the chain its stack verified
 * (0 = leaf, n-1 = trust anchor): the DER of the certificate, or with
 * `spki` of its SubjectPublicKeyInfo.  Returns 0 with a pointer that stays
 * valid until the next call, -1 on error, or 1 when asked for an SPKI it
 * does not keep apart: the SPKI is then located in the certificate's DER.
 */
typedef struct certpin__chain_source {
	int (*der)(void *ctx, size_t i, bool spki, const unsigned char **der, size_t *len);
	void *ctx;
	/*
	 * Optional (NULL: none): the stack's object for element i, for the
	 * digest cache (NULL: element i is not cached); asked again after
	 * computing, so it need not outlive the source's next read.
	 */
	void *(*cert)(void *ctx, size_t i);
	struct certpin__digest_cache *cache;    /* with `cert`: where digests are remembered */
} certpin__chain_source;

/*
 * How a digest cache handles a stack's certificate objects: whether two are
 * exactly the same certificate (OpenSSL: X509_cmp(), which compares the
 * certificates' whole encodings), a reference to keep one, and a cheap hash.
 */
typedef struct certpin__cert_ops {
	bool (*same)(const void *a, const void *b);
	void *(*ref)(void *cert);               /* NULL if it cannot be kept */
	void (*unref)(void *cert);
	uint32_t (*hash)(const void *cert);     /* equal for the same certificate */
} certpin__cert_ops;

/*
 * The digests of certificates that handshakes hashed before, by the
 * certificate itself: a server's chain is mostly the same from one
 * handshake to the next, and hashing a SubjectPublicKeyInfo means encoding
 * it first (about 0.7 us a certificate: more than a whole check should
 * cost, bench/RESULTS.md).  An entry keeps a reference to its certificate
 * and answers only for a certificate that is exactly the same.
 * CERTPIN__CACHE_SETS sets of CERTPIN__CACHE_WAYS entries (a new
 * certificate replaces its set's oldest), under a mutex.
 */
#define CERTPIN__CACHE_SETS 64
#define CERTPIN__CACHE_WAYS 4
typedef struct certpin__digest_cache {
	pthread_mutex_t mu;
	const certpin__cert_ops *ops;
	struct certpin__cache_set {
		unsigned int next;              /* the way to replace next */
		struct certpin__cached {
			void *cert;             /* a reference, or NULL */
			certpin_chain_elem digests; /* flags: the digests known */
		} way[CERTPIN__CACHE_WAYS];
	} set[CERTPIN__CACHE_SETS];
} certpin__digest_cache;

/* The ops for OpenSSL's X509 (chain.c). */
extern const certpin__cert_ops certpin__x509_ops;

certpin__digest_cache *certpin__digest_cache_new(const certpin__cert_ops *ops);
void certpin__digest_cache_free(certpin__digest_cache *c);
/* Copy into *e the digests remembered for `cert`; false if none. */
bool certpin__digest_cache_get(certpin__digest_cache *c, void *cert, certpin_chain_elem *e);
/* Remember the digests of *e (its flags say which) for `cert`. */
void certpin__digest_cache_put(certpin__digest_cache *c, void *cert, const certpin_chain_elem *e);

/*
 * A chain as the engine sees it: n elements whose digests are computed on
 * first use (at most once each), or given whole by certpin_verify()'s caller.
 */
typedef struct certpin__chain {
	size_t n;
	const certpin__chain_source *src;       /* NULL: `given` holds every digest there is */
	const certpin_chain_elem *given;
	certpin_chain_elem own[CERTPIN__CHAIN_MAX]; /* with `src`: the digests computed so far */
	struct evp_md_ctx_st *md;               /* one hashing context per check */
	bool failed;                            /* a digest could not be computed: fail closed */
} certpin__chain;

/* A chain of n (<= CERTPIN__CHAIN_MAX) elements read through `src`. */
void certpin__chain_init(certpin__chain *c, const certpin__chain_source *src, size_t n);
/* A chain whose digests the caller computed (any length). */
void certpin__chain_init_given(certpin__chain *c, const certpin_chain_elem *elems, size_t n);
/* Release what the chain holds (its hashing context). */
void certpin__chain_done(certpin__chain *c);
/*
 * The digest of `kind` of element i: computed on first use.  NULL if the
 * element has none (a given chain without that digest) or it could not be
 * computed (then c->failed is set).
 */
const unsigned char *certpin__chain_digest(certpin__chain *c, size_t i, certpin_pin_kind kind);
/* Every digest of every element (for failure callbacks); NULL if one could not be computed. */
const certpin_chain_elem *certpin__chain_all(certpin__chain *c);

/* ---- verify.c: the engine ---- */

/* Names a certificate can be verified against at once (SSL_add1_host(), plus an IP). */
#define CERTPIN__NAMES_MAX CERTPIN_NAMES_MAX

/* One pin check: what the adapter knows about the handshake. */
typedef struct certpin__check {
	/* the names the stack verified the certificate for, [0] the one the result is for (borrowed) */
	const char *names[CERTPIN__NAMES_MAX];
	size_t nnames;
	bool names_from_sni;                    /* the one name is the SNI (the stack verified none) */
	certpin__chain *chain;                  /* the verified chain (pin-only: the peer's leaf alone) */
	bool pkix_ok;                           /* the stack verified the chain with no error accepted */
	long pkix_error;                        /* the stack's error code when !pkix_ok */
	bool pin_only;                          /* CERTPIN_SSL_INSECURE_PIN_ONLY: no PKIX, leaf pins only */
	bool composed;                          /* another attachment checks this connection too */
	int64_t now;
	certpin_failure_cb on_failure;          /* may be NULL */
	certpin_result_cb on_result;            /* may be NULL: called by certpin__sources_check() */
	void *payload;
} certpin__check;

/* Add a name to chk->names (borrowed for the check); false if it does not fit (too long, too many). */
bool certpin__check_add_name(certpin__check *chk, const char *name);

/* Initialize a result: not pinned, no rule, no pin, at `now`. */
void certpin__result_init(certpin_result *r, int64_t now);

/*
 * The policy's decision on one handshake: every pinned name's rule must
 * pass, the first refusal is the result.  Returns the certpin code and
 * fills `out`; *unpinned is set when no name is pinned and the TLS stack's
 * own verdict stands (then `out->allowed` is pkix_ok).
 */
int certpin__decide(certpin_result *out, const certpin_policy *policy, const certpin__check *chk, bool *unpinned);

/*
 * The first pin of pins[0..npins) that the chain matches at the pin's
 * position, scanning from the leaf (pin-only: the leaf alone, with leaf and
 * any pins); its index with *depth set, or -1.  Digests are computed only
 * for elements some pin's position allows, and only up to the match.
 */
long certpin__scan(const certpin__pinent *pins, size_t npins, certpin__chain *c, bool leaf_only, size_t *depth);

/* Does a digest of `e` (given, not computed) equal the pin's? */
bool certpin__elem_matches(const certpin_chain_elem *e, const certpin_pin *pin);

/* May a pin at position `want` match element `i` of an `n`-element chain? */
bool certpin__position_ok(certpin_position want, size_t i, size_t n);

/*
 * The verdict of p's rule `ri` on the chain at `now`: the pinset's
 * expiry first, then certpin__scan().  Returns the certpin code.
 */
int certpin__rule_decide(certpin_result *out, const certpin_policy *p, long ri, certpin__chain *c, int64_t now,
	bool leaf_only);

/* ---- sources.c: the pin sources behind every adapter ---- */

/*
 * What a context (or connection) is attached to: a policy, a TOFU store,
 * the options.  Attaching again swaps them under `mu`; each handshake takes
 * references at its start (a snapshot), so a swap reaches new handshakes
 * only and never frees what a running one uses.
 */
typedef void (*certpin__fn)(void);
typedef struct certpin__binding {
	pthread_mutex_t mu;
	certpin_policy *policy;         /* a reference, or NULL */
	certpin_tofu *tofu;             /* a reference, or NULL */
	certpin_ssl_options opts;
	/* the application's callbacks the adapter wraps and still calls, as the adapter's own types */
	certpin__fn app_verify, app_info;
} certpin__binding;

typedef struct certpin__snapshot {
	certpin_policy *policy;
	certpin_tofu *tofu;
	certpin_ssl_options opts;
} certpin__snapshot;

/* Options of version 1 or 2 with no flag but `allowed_flags` (NULL: the defaults)? */
bool certpin__options_ok(const certpin_ssl_options *opts, unsigned int allowed_flags);
/* `opts` (NULL: the defaults) as the current version: a version 1 struct is read no further than it goes. */
void certpin__options_copy(certpin_ssl_options *out, const certpin_ssl_options *opts);
/* A new binding with nothing attached and default options; NULL if out of memory. */
certpin__binding *certpin__binding_new(void);
/* A copy with its own references (SSL_dup()); NULL if out of memory or `b` is NULL. */
certpin__binding *certpin__binding_dup(const certpin__binding *b);
void certpin__binding_free(certpin__binding *b);
/* Put `policy` (with `opts`) and/or `tofu`, references the caller took, in place of b's; NULL keeps b's. */
void certpin__binding_swap(certpin__binding *b, certpin_policy *policy, const certpin_ssl_options *opts,
	certpin_tofu *tofu);
/* Put `policy`, `opts` and `tofu` (references the caller took; NULL: none, defaults) in place of all of b's. */
void certpin__binding_replace(certpin__binding *b, certpin_policy *policy, const certpin_ssl_options *opts,
	certpin_tofu *tofu);
void certpin__snapshot_take(certpin__snapshot *s, certpin__binding *b);
void certpin__snapshot_drop(certpin__snapshot *s);

/*
 * A connection's results: the policy's check and the TOFU store's, each
 * with the adapter's identifier of the handshake that made it (OpenSSL: the
 * client random), so that only the current handshake's result is reported.
 */
#define CERTPIN__HANDSHAKE_ID_LEN 32
typedef struct certpin__record {
	unsigned char id[CERTPIN__HANDSHAKE_ID_LEN];    /* the handshake being checked (set by the adapter) */
	unsigned char policy_id[CERTPIN__HANDSHAKE_ID_LEN], tofu_id[CERTPIN__HANDSHAKE_ID_LEN];
	bool have_policy, have_tofu;
	int policy_rc, tofu_rc;
	certpin_result policy;
	certpin_tofu_result tofu;
} certpin__record;

/*
 * On a session whose full handshake passed: the serials of the policies and
 * TOFU stores it passed, for one host.  Only such a session may be resumed
 * for a host they check (a resumed handshake checks nothing).
 */
#define CERTPIN__TAG_SERIALS CERTPIN_TAG_SERIALS
typedef certpin_session_tag certpin__tag;       /* certpin/adapter.h */

/* Add `serial` for `host`; a tag for another host starts over. */
void certpin__tag_add(certpin__tag *t, uint64_t serial, const char *host);
/* Add what `passed` holds (see certpin__sources_check()) to the session's tag `t`. */
void certpin__tag_merge(certpin__tag *t, const certpin__tag *passed);
/* May a session with tag `t` (NULL: none) be resumed for connection name `name` under `s`? */
bool certpin__resume_ok(const certpin__snapshot *s, const char *name, const certpin__tag *t);

/*
 * The check of one handshake by every source of `s`, each recorded in
 * `rec`: the policy (the engine) and the TOFU store (for the first name).
 * Both run, so both results are known; the connection passes only if both
 * allow it, and when the store refuses what the policy allowed, the
 * policy's record carries the store's code (its verdict stays).  With a
 * store, a chain the stack itself refused (`pkix_failed`) is refused and
 * nothing is recorded: every host is subject to TOFU.  Pin-only trust
 * verifies nothing, so any other check would be skipped: with a store or
 * another attachment (`composed`) it is refused (CERTPIN_E_INVALID_ARG).  Then
 * chk->on_result, if set, gets what was recorded.  A passing
 * handshake's session is to be tagged with `tag` (tag->serials[0] == 0:
 * nothing to tag).  Returns 1 to continue, 0 to refuse, -1 when no source
 * checked the handshake and the stack's own verdict stands.
 */
int certpin__sources_check(certpin__record *rec, certpin__tag *tag, const certpin__snapshot *s,
	const certpin__check *chk, bool pkix_failed);
/*
 * The recorded result of the handshake `id` (see certpin__record);
 * CERTPIN_E_STATE if none, or if `id` is all zero (no handshake yet).
 */
int certpin__record_policy(certpin_result *out, const certpin__record *rec, const unsigned char *id);
int certpin__record_tofu(certpin_tofu_result *out, const certpin__record *rec, const unsigned char *id);

/* ---- policy.c and tofu.c, for the sources ---- */
/* Freeze a policy (attach does): later changes fail with CERTPIN_E_STATE. */
void certpin__policy_freeze(certpin_policy *p);
/* Another reference (NULL-safe); certpin_policy_free() drops one. */
certpin_policy *certpin__policy_ref(certpin_policy *p);
/* Unique for the process's lifetime, never 0: names the policy in session tags. */
uint64_t certpin__policy_serial(const certpin_policy *p);
certpin_tofu *certpin__tofu_ref(certpin_tofu *t);
uint64_t certpin__tofu_serial(const certpin_tofu *t);
/* The TOFU decision for `name` on the chain (see certpin_tofu_check()). */
int certpin__tofu_decide(certpin_tofu_result *out, certpin_tofu *t, const char *name, certpin__chain *chain,
	int64_t now);
/* A refusal by the TOFU source before any check, with `code` and `why`; returns `code`. */
int certpin__tofu_refuse(certpin_tofu_result *out, const certpin_tofu *t, int code, int64_t now, const char *why);
/* A fresh serial for a policy or store (never 0, never reused). */
uint64_t certpin__new_serial(void);

#endif
