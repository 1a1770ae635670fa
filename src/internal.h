/* Internal declarations shared by libcertpin's modules.  Not installed. */
#ifndef CERTPIN_INTERNAL_H
#define CERTPIN_INTERNAL_H

#include "certpin.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * On the functions a pinned handshake runs: the compiler groups them in
 * .text.hot, so the handshake's cold start touches fewer code pages.
 */
#define CERTPIN_HOT __attribute__((hot))

#define CERTPIN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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

/* Open-addressing index from "kind:base" keys to rule indexes. */
typedef struct certpin__hostindex {
	size_t cap;        /* power of two, 0 when empty */
	size_t used;
	struct certpin__hslot {
		uint64_t hash;
		const char *base;   /* borrowed from the rule */
		int wildcard;
		size_t rule;
	} *slots;
} certpin__hostindex;

int certpin__hostindex_add(certpin__hostindex *ix, const char *base, int wildcard, size_t rule);
/* Returns rule index or -1. */
long certpin__hostindex_find(const certpin__hostindex *ix, const char *base, size_t baselen, int wildcard);
/* The most specific rule for a normalized host, or -1. */
long certpin__hostindex_match(const certpin__hostindex *ix, const char *host, int is_ip);
void certpin__hostindex_free(certpin__hostindex *ix);

/* ---- policy.c ---- */
typedef struct certpin__pinent {
	certpin_pin pin;
	certpin_position position;
	char *comment;
} certpin__pinent;

typedef struct certpin__rule {
	char *pattern;          /* normalized, with "*." / "**." prefix */
	char *base;
	int wildcard;
	int is_ip;
	certpin_mode mode;
	int64_t expires;
	certpin_expiry_action on_expiry;
	unsigned int clock_skew;
	certpin__pinent *pins;
	size_t npins, cappins;
	unsigned int kinds;     /* CERTPIN_HAVE_* of the pins, for lazy digests */
	unsigned int positions; /* bit (1 << certpin_position) of the pins */
	char **report_uris;     /* the host's own report URIs (none: the policy's) */
	size_t nreport_uris;
} certpin__rule;

/* An imported Android rule whose trust anchors leave out the system store. */
typedef struct certpin__anchor_note {
	char *pattern;          /* the rule's pattern */
	char *anchors;          /* e.g. "@raw/private_ca" */
} certpin__anchor_note;

struct certpin_policy {
	certpin__rule *rules;
	size_t nrules, caprules;
	size_t nip_rules;       /* rules for an IP address: none, and no IP can match */
	char **report_uris;     /* policy-wide report URIs */
	size_t nreport_uris;
	/* Android import only (certpin_policy_import_anchors()); not saved */
	certpin__anchor_note *anchor_notes;
	size_t nanchor_notes;
	char *default_anchors;  /* <base-config>'s, if they leave out the system store */
	certpin__hostindex index;
	uint64_t version;
	char err[512];
};

/* Record an error detail on the policy and return `code`. */
int certpin__policy_fail(certpin_policy *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void certpin__policy_clear(certpin_policy *p);
int certpin__policy_add_pin_comment(certpin_policy *p, const char *pattern, const certpin_pin *pin,
	certpin_position position, const char *comment);
const certpin__rule *certpin__policy_rule(const certpin_policy *p, size_t i);
/* Lookup for a normalized host. */
long certpin__policy_match(const certpin_policy *p, const char *host, int is_ip);

/* ---- openssl.c ---- */
struct ssl_st;
struct x509_store_ctx_st;
/*
 * The name a connection is verified against: the verification host, else the
 * verification IP, else SNI (with `set_host`, the normalized SNI also becomes
 * the verification host so PKIX checks it).  Returns 1, or 0 if none fits.
 */
int certpin__ssl_conn_hostname(char *out, size_t outlen, struct ssl_st *ssl, struct x509_store_ctx_st *sctx,
	bool set_host);
/*
 * Make a refusal abort the handshake: under SSL_VERIFY_NONE (set after
 * attaching, say) OpenSSL would note the failed verification and carry on.
 * Sets SSL_VERIFY_PEER on `ssl`, keeping its verify callback.
 */
void certpin__ssl_force_verify_peer(struct ssl_st *ssl);
struct ssl_ctx_st;
/* Is a TOFU store attached to `ctx` (certpin_tofu_ssl_ctx_attach())?  (tofu.c) */
bool certpin__tofu_ctx_attached(const struct ssl_ctx_st *ctx);
struct x509_st;
/* A certificate's SubjectPublicKeyInfo DER rebuilt from its parsed parts into buf; 0 if not of a usual shape. */
size_t certpin__x509_spki_der(unsigned char *buf, size_t buflen, struct x509_st *x);
/*
 * Tests: the SHA-256 of x's SubjectPublicKeyInfo as a handshake on
 * `ssl_ctx` (which must have certpin_ssl_ctx_attach()) gets it, through the
 * binding's memo.  CERTPIN_OK, or the error.
 */
int certpin__ssl_ctx_spki_sha256(void *ssl_ctx, struct x509_st *x, unsigned char out[CERTPIN_DIGEST_LEN]);

/* ---- verify.c ---- */
/* Engine core for a known rule (rule may be NULL = not pinned). */
/* May a pin at position `want` match element `i` of an `n`-element chain? */
bool certpin__position_ok(certpin_position want, size_t i, size_t n);
/* Does a digest of `e` of the pin's kind equal the pin's? */
bool certpin__elem_matches(const certpin_chain_elem *e, const certpin_pin *pin);
/*
 * The first pin of `rule` (its index) that chain[i] of an n-element chain
 * matches, or -1; `leaf_only`: pin-only trust (leaf and any pins only).
 */
long certpin__rule_pin_at(const certpin__rule *rule, const certpin_chain_elem *chain, size_t i, size_t n,
	bool leaf_only);
/*
 * What the expiry of `rule`'s pinset decides at `now`: fills out's rule,
 * mode and expired fields; true if the pins do not count (an expired
 * pinset that fails open or closed), with the verdict in `out` and the
 * code in *rc.
 */
bool certpin__rule_expiry(certpin_result *out, const certpin__rule *rule, long rule_index, int64_t now,
	bool leaf_only, int *rc);
/* The verdict of `rule` when pin k matched chain element i (depth), or k < 0 when no pin matched. */
int certpin__rule_verdict(certpin_result *out, const certpin__rule *rule, long k, size_t i, bool leaf_only);
/*
 * The verdict of `rule` on chain[0..n): certpin__rule_expiry(), then the
 * first pin match scanning from the leaf, then certpin__rule_verdict().
 */
int certpin__verify_rule(certpin_result *out, const certpin__rule *rule, long rule_index,
	const certpin_chain_elem *chain, size_t n, int64_t now, bool leaf_only);

#endif
