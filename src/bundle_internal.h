/* Shared by bundle.c and bundle_anchors.c.  Not installed. */
#ifndef CERTPIN_BUNDLE_INTERNAL_H
#define CERTPIN_BUNDLE_INTERNAL_H

#include "internal.h"

struct evp_pkey_st;

/* Largest key file (anchors, signing keys) read, bytes. */
#define CERTPIN__KEY_FILE_MAX (1u << 20)

/* One trusted signing key. */
typedef struct certpin__anchor {
	struct evp_pkey_st *key;
	unsigned char id[CERTPIN_DIGEST_LEN];   /* SHA-256 of the SPKI DER */
} certpin__anchor;

struct certpin_trust_anchors {
	certpin__anchor a[CERTPIN_BUNDLE_MAX_ANCHORS];
	size_t n;
};

/* 1 if `data` contains a PEM begin line marker. */
int certpin__looks_like_pem(const void *data, size_t len);
/* SHA-256 of the key's SPKI DER: CERTPIN_OK, CERTPIN_E_DECODE or CERTPIN_E_NOMEM. */
int certpin__bundle_key_id(unsigned char id[CERTPIN_DIGEST_LEN], struct evp_pkey_st *key);
/* The anchor whose key id is `id`, or NULL. */
const certpin__anchor *certpin__anchor_find(const certpin_trust_anchors *anchors,
	const unsigned char id[CERTPIN_DIGEST_LEN]);

#endif
