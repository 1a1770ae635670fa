/*
 * certpin/bundle.h - signed policy bundles: signing, verification and
 * anti-rollback storage.  (The HTTPS fetch helper, certpin_bundle_fetch(),
 * is in the report library: certpin/report.h.)
 *
 * Included by <certpin.h>; it also compiles on its own.
 *
 * OVERVIEW
 *
 * A bundle carries a pinning policy (the exact bytes of a certpin-policy(5)
 * JSON document) together with a version number, an issue time, an expiry
 * time and an Ed25519 signature.  Applications ship with one or more trusted
 * bundle-signing public keys (certpin_trust_anchors; several keys allow the
 * signing key to be rotated) and accept a new policy only from a bundle that
 *
 *   1. is well formed (BUNDLE FORMAT below)            else CERTPIN_E_BUNDLE
 *   2. names a signing key that is a trusted anchor    else CERTPIN_E_UNTRUSTED_KEY
 *   3. carries a valid signature by that key           else CERTPIN_E_SIGNATURE
 *   4. has not expired (now < expires)                 else CERTPIN_E_EXPIRED_BUNDLE
 *   5. contains a policy that loads without error      else CERTPIN_E_POLICY
 *   6. has a version strictly greater than the bundle
 *      stored in the state directory (anti-rollback)   else CERTPIN_E_ROLLBACK
 *
 * checked in this order, so nothing about an unauthenticated bundle other
 * than its syntax influences the outcome.  Every call that can fail takes a
 * `certpin_error *err` (may be NULL) for the reason: a malformed bundle names
 * the member at fault as a JSON pointer in err->path ("/expires") or the
 * position of a JSON syntax error in err->line and err->column; a policy
 * that does not load gives the policy loader's own error.  The check never depends on how
 * the bundle was transported; certpin_bundle_fetch() (certpin/report.h) is
 * only a convenience.
 *
 * BUNDLE FORMAT
 *
 * A bundle is one JSON object (at most CERTPIN_BUNDLE_MAX bytes, UTF-8, no
 * trailing data other than whitespace) with exactly these members, each once:
 *
 *   "certpin_bundle"  1 (the format version)
 *   "version"         integer 1 .. 2^63-1, the anti-rollback counter
 *   "issued"          "YYYY-MM-DDTHH:MM:SSZ" (exactly this form, UTC)
 *   "expires"         the same form, later than "issued"
 *   "key_id"          "sha256/B64": the SPKI pin of the signing key
 *   "policy"          base64 (RFC 4648, padded, canonical) of the policy bytes,
 *                     1 .. CERTPIN_BUNDLE_POLICY_MAX bytes once decoded
 *   "signature"       base64 of the 64-byte Ed25519 signature
 *
 * Unknown members, duplicate members, other types, non-canonical dates or
 * base64 are rejected.  The signature is pure Ed25519 (RFC 8032) over these
 * signed bytes, seven lines each ending in "\n", with no JSON involved:
 *
 *   certpin-bundle-v1
 *   version <decimal, no leading zeros>
 *   issued <YYYY-MM-DDTHH:MM:SSZ>
 *   expires <YYYY-MM-DDTHH:MM:SSZ>
 *   key_id sha256/<base64 of the SHA-256 of the signer's SPKI DER>
 *   policy_length <decimal byte count of the policy>
 *   policy_sha256 <64 lowercase hex digits: SHA-256 of the policy bytes>
 *
 * Every field has a fixed form that cannot contain a newline, so the signed
 * bytes are unambiguous.  Equivalent openssl recipe (verification):
 *
 *   printf 'certpin-bundle-v1\nversion 7\n...' > tbs
 *   openssl pkeyutl -verify -pubin -inkey signing.pub -rawin -in tbs -sigfile sig
 *
 * STATE DIRECTORY AND ATOMIC STORAGE
 *
 * certpin_policy_update_from_bundle() keeps the last accepted bundle,
 * verbatim, as STATE_DIR/current.bundle; its "version" is the anti-rollback
 * reference (0 if the file does not exist).  Writers take an exclusive lock on
 * STATE_DIR/current.bundle.lock (an fcntl open-file-description lock, waited
 * for at most CERTPIN_BUNDLE_LOCK_TIMEOUT_MS), write STATE_DIR/
 * current.bundle.tmp, fsync it, rename it over current.bundle and fsync the
 * directory.  A crash at any point leaves either the previous or the new
 * bundle in place, never a partial one.  A current.bundle that does not parse
 * is reported as CERTPIN_E_STORE and is never overwritten silently: remove it
 * by hand to start over (which also resets the anti-rollback reference).  The
 * directory must exist and should be writable only by the application.
 *
 * SWAPPING POLICIES (THREADS)
 *
 * No function here modifies a policy in use.  An accepted bundle yields a
 * NEW certpin_policy that the caller owns; the policy in force is untouched
 * whatever happens.  To switch, attach the new policy to the SSL_CTX in use
 * (certpin_ssl_ctx_attach(), certpin/openssl.h): new handshakes use it at
 * once, handshakes already running finish with the old one, and the caller
 * may free its own reference to either policy right away (each attachment
 * holds one).  Trust anchors are read-only after they are built and may be
 * shared by threads.  Updates of the same state directory from several
 * threads or processes are serialized by the lock.
 */
#ifndef CERTPIN_BUNDLE_H
#define CERTPIN_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CERTPIN_BUNDLE_MAX (4u * 1024u * 1024u)        /* largest bundle accepted, bytes */
#define CERTPIN_BUNDLE_POLICY_MAX (3u * 1024u * 1024u) /* largest embedded policy, bytes */
#define CERTPIN_BUNDLE_LOCK_TIMEOUT_MS 10000           /* longest wait for the state lock */
#define CERTPIN_BUNDLE_STATE_FILE "current.bundle"     /* name inside the state directory */
#define CERTPIN_BUNDLE_MAX_ANCHORS 64

/* ------------------------------------------------------------------------ */
/* Trusted signing keys                                                      */
/* ------------------------------------------------------------------------ */

typedef struct certpin_trust_anchors certpin_trust_anchors;

/* An empty set.  *out is NULL on error. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_trust_anchors_new(certpin_trust_anchors **out);

/* NULL-safe. */
CERTPIN_EXPORT void certpin_trust_anchors_free(certpin_trust_anchors *anchors);

/*
 * Add one Ed25519 public key as a DER SubjectPublicKeyInfo.  The input is
 * copied.  CERTPIN_E_DECODE if it is not exactly one SPKI,
 * CERTPIN_E_UNSUPPORTED for another key type, CERTPIN_E_DUPLICATE if the key
 * is already present, CERTPIN_E_INVALID_ARG beyond CERTPIN_BUNDLE_MAX_ANCHORS.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_trust_anchors_add_pubkey_der(certpin_trust_anchors *anchors,
	const void *der, size_t len, certpin_error *err);

/*
 * Add every key of a PEM text made of one or more "PUBLIC KEY" blocks.  Any
 * other block, or none at all, is CERTPIN_E_DECODE; on any error no key of
 * the text is added.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_trust_anchors_add_pubkey_pem(certpin_trust_anchors *anchors,
	const void *pem, size_t len, certpin_error *err);

/* Read `path` (PEM as above, or one DER SPKI) and add its keys.  CERTPIN_E_IO if unreadable. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_trust_anchors_add_file(certpin_trust_anchors *anchors,
	const char *path, certpin_error *err);

/* Number of keys. */
CERTPIN_EXPORT size_t certpin_trust_anchors_count(const certpin_trust_anchors *anchors);

/* ------------------------------------------------------------------------ */
/* Signing                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Make a new Ed25519 signing key pair: `*private_pem` (unencrypted PKCS#8,
 * "PRIVATE KEY") and `*public_pem` ("PUBLIC KEY"), both malloc'd and
 * NUL-terminated; free with free().  Keep the private key offline.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_keygen(char **private_pem, char **public_pem);

typedef struct certpin_bundle_sign_options {
	unsigned int version;           /* CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION */
	uint64_t bundle_version;        /* 1 .. INT64_MAX, required */
	int64_t issued;                 /* Unix time; 0 = now */
	int64_t expires;                /* Unix time, required, later than issued */
} certpin_bundle_sign_options;

#define CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION 1
#define CERTPIN_BUNDLE_SIGN_OPTIONS_INIT { CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION, 0, 0, 0 }

/*
 * Sign `policy_json` (its exact bytes are embedded) with the Ed25519 private
 * key `key` (PEM or DER, PKCS#8 or traditional; unencrypted).  The policy
 * must load (CERTPIN_E_POLICY otherwise): a bundle that every client would
 * reject is never produced.  On success `*out` is the malloc'd,
 * NUL-terminated bundle and `*outlen` its length.  Errors: CERTPIN_E_DECODE
 * (key unreadable), CERTPIN_E_UNSUPPORTED (not Ed25519),
 * CERTPIN_E_INVALID_ARG (options out of range, policy too large).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_sign(char **out, size_t *outlen,
	const void *policy_json, size_t policy_len, const void *key, size_t key_len,
	const certpin_bundle_sign_options *opts, certpin_error *err);

/* ------------------------------------------------------------------------ */
/* Verification and update                                                   */
/* ------------------------------------------------------------------------ */

/* What a bundle says.  Always filled (as far as it was read) by the functions below. */
typedef struct certpin_bundle_info {
	unsigned int version;           /* CERTPIN_BUNDLE_INFO_VERSION, set by the library */
	int parsed;                     /* 1 if the fields below come from a well-formed bundle */
	uint64_t bundle_version;
	int64_t issued;
	int64_t expires;
	certpin_pin key_id;             /* SPKI pin of the signing key */
	unsigned char policy_sha256[CERTPIN_DIGEST_LEN];
	size_t policy_len;
	int have_stored;                /* update/state checks: 1 if a stored bundle exists */
	uint64_t stored_version;        /* its version (0 if none) */
} certpin_bundle_info;

#define CERTPIN_BUNDLE_INFO_VERSION 2   /* 2: the reason for an error is in the call's certpin_error */

/*
 * Parse a bundle WITHOUT checking its signature or expiry: for display and
 * diagnostics only, never for a trust decision.  Fills `out` (may be NULL)
 * and, if `policy_json` is not NULL, sets `*policy_json` to a malloc'd
 * NUL-terminated copy of the embedded policy bytes (`*policy_len` its length;
 * the policy may itself contain NUL bytes).  CERTPIN_E_BUNDLE if malformed.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_parse_unverified(certpin_bundle_info *out,
	char **policy_json, size_t *policy_len, const void *data, size_t len, certpin_error *err);

/*
 * Checks 1-5 of the OVERVIEW at time `now` (Unix seconds).  On success, if
 * `policy` is not NULL, `*policy` is a new policy loaded from the bundle
 * (caller frees); on error `*policy` is NULL.  `out` may be NULL.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_verify(certpin_bundle_info *out, certpin_policy **policy,
	const certpin_trust_anchors *anchors, const void *data, size_t len, int64_t now, certpin_error *err);

/*
 * Accept a bundle as the new policy: checks 1-6, then stores it atomically
 * in `state_dir` (see STATE DIRECTORY).  On success `*out` is the new policy
 * (caller owns it and swaps it in, see SWAPPING POLICIES).  On any error
 * `*out` is NULL, nothing is stored and the policy in force is unaffected;
 * the code says why (CERTPIN_E_BUNDLE, CERTPIN_E_UNTRUSTED_KEY,
 * CERTPIN_E_SIGNATURE, CERTPIN_E_EXPIRED_BUNDLE, CERTPIN_E_POLICY,
 * CERTPIN_E_ROLLBACK, CERTPIN_E_STORE for a corrupt stored bundle,
 * CERTPIN_E_LOCKED, CERTPIN_E_IO) and `err` gives detail.  After
 * CERTPIN_E_IO from the final directory sync, the new bundle may already be
 * in place.  `info` may be NULL.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_policy_update_from_bundle(certpin_policy **out,
	certpin_bundle_info *info, const certpin_trust_anchors *anchors, const char *state_dir,
	const void *data, size_t len, int64_t now, certpin_error *err);

/*
 * Load the stored bundle of `state_dir` at start-up, with checks 1-5 (a
 * stored bundle signed by a key no longer trusted, or expired, is refused
 * with the same codes).  CERTPIN_E_NOT_FOUND if there is none,
 * CERTPIN_E_STORE if it does not parse.  `*out` as for
 * certpin_policy_update_from_bundle().
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_load_state(certpin_policy **out,
	certpin_bundle_info *info, const certpin_trust_anchors *anchors, const char *state_dir, int64_t now,
	certpin_error *err);

/*
 * Version of the bundle stored in `state_dir` (parsed, not verified): 0 and
 * CERTPIN_OK if there is none, CERTPIN_E_STORE if it is corrupt.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_bundle_stored_version(uint64_t *out, const char *state_dir, certpin_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_BUNDLE_H */
