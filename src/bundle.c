/*
 * Signed policy bundles (certpin/bundle.h): trust anchors, the strict bundle
 * parser, Ed25519 signing and verification over the canonical signed bytes,
 * and anti-rollback storage in a state directory.  (The pinned HTTPS fetch
 * is the report library's: src/report/fetch.c.)
 */
#include "bundle_internal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define SIG_LEN 64
#define TIME_LEN 20     /* "YYYY-MM-DDTHH:MM:SSZ" */
#define TBS_MAX 512
#define LOCK_NAME CERTPIN_BUNDLE_STATE_FILE ".lock"

static void info_init(certpin_bundle_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	info->version = CERTPIN_BUNDLE_INFO_VERSION;
}

/* A failure with no position in the input. */
#define FAIL(err, code, ...) certpin__fail(err, code, NULL, 0, __VA_ARGS__)
/* A malformed bundle: the JSON pointer of the member at fault ("/key_id"), or NULL. */
#define BAD(err, path, ...) certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct bundle {
	uint64_t version;
	int64_t issued, expires;
	char issued_s[TIME_LEN + 1], expires_s[TIME_LEN + 1];
	certpin_pin key_id;
	char key_id_s[CERTPIN_PIN_STRLEN];
	unsigned char *policy;          /* malloc'd, NUL-terminated */
	size_t policy_len;
	unsigned char policy_sha256[CERTPIN_DIGEST_LEN];
	unsigned char sig[SIG_LEN];
} bundle;

static void bundle_free(bundle *b)
{
	free(b->policy);
	b->policy = NULL;
}

static void info_from_bundle(certpin_bundle_info *info, const bundle *b)
{
	if (!info)
		return;
	info->parsed = 1;
	info->bundle_version = b->version;
	info->issued = b->issued;
	info->expires = b->expires;
	info->key_id = b->key_id;
	memcpy(info->policy_sha256, b->policy_sha256, CERTPIN_DIGEST_LEN);
	info->policy_len = b->policy_len;
}

/* The string member `key` (no NUL inside). */
static int get_str(certpin_error *err, json_t *root, const char *key, const char **out, size_t *len)
{
	json_t *v = json_object_get(root, key);
	char path[16];

	snprintf(path, sizeof(path), "/%s", key);
	if (!v)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "missing \"%s\"", key);
	if (!json_is_string(v))
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(*out) != *len)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "\"%s\" contains a NUL character", key);
	return CERTPIN_OK;
}

/* The integer member `key`, from `min` to INT64_MAX. */
static int get_int(certpin_error *err, json_t *root, const char *key, int64_t min, uint64_t *out)
{
	json_t *v = json_object_get(root, key);
	char path[16];

	snprintf(path, sizeof(path), "/%s", key);
	if (!v)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "missing \"%s\"", key);
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "\"%s\" must be an integer from %lld to 2^63-1",
			key, (long long)min);
	*out = (uint64_t)json_integer_value(v);
	return CERTPIN_OK;
}

static int get_time(certpin_error *err, json_t *root, const char *key, int64_t *t, char *canon)
{
	const char *s = NULL;
	size_t len = 0;
	char path[16];
	int rc;

	if ((rc = get_str(err, root, key, &s, &len)) != CERTPIN_OK)
		return rc;
	snprintf(path, sizeof(path), "/%s", key);
	if (len != TIME_LEN || certpin__parse_time(t, s) != 0)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "\"%s\" must be a UTC time YYYY-MM-DDTHH:MM:SSZ",
			key);
	certpin__format_time(canon, TIME_LEN + 1, *t);
	if (strcmp(canon, s) != 0)
		return certpin__fail(err, CERTPIN_E_BUNDLE, path, 0, "\"%s\" is not in canonical form (%s)", key,
			canon);
	return CERTPIN_OK;
}

/* A JSON object of the known members only, format 1. */
static int parse_envelope(json_t **out, certpin_error *err, const void *data, size_t len)
{
	static const char *const keys[] = { "certpin_bundle", "version", "issued", "expires", "key_id",
		"policy", "signature", NULL };
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	uint64_t format;
	int rc;

	*out = NULL;
	if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr))) {
		rc = BAD(err, NULL, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		if (err)
			err->line = (unsigned long)jerr.line, err->column = (unsigned long)jerr.column;
		return rc;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return BAD(err, NULL, "not a JSON object");
	}
	json_object_foreach(root, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(key, keys[i]) != 0)
			i++;
		if (!keys[i]) {
			rc = BAD(err, NULL, "unknown member \"%.64s\"", key);     /* before the key is freed */
			json_decref(root);
			return rc;
		}
	}
	if ((rc = get_int(err, root, "certpin_bundle", 1, &format)) != CERTPIN_OK || format != 1) {
		json_decref(root);
		return rc != CERTPIN_OK ? rc : BAD(err, "/certpin_bundle", "unsupported format (\"certpin_bundle\" must be 1)");
	}
	*out = root;
	return CERTPIN_OK;
}

/* "key_id": a key pin in its canonical spelling. */
static int parse_key_id(bundle *b, certpin_error *err, json_t *root)
{
	const char *s;
	size_t slen;
	int rc;

	if ((rc = get_str(err, root, "key_id", &s, &slen)) != CERTPIN_OK)
		return rc;
	if (slen >= sizeof(b->key_id_s) || certpin_pin_parse(&b->key_id, s, slen) != CERTPIN_OK ||
	    b->key_id.kind != CERTPIN_PIN_SPKI_SHA256 ||
	    certpin_pin_format(b->key_id_s, sizeof(b->key_id_s), &b->key_id, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK ||
	    strcmp(b->key_id_s, s) != 0)
		return BAD(err, "/key_id", "\"key_id\" must be a key pin sha256/BASE64");
	return CERTPIN_OK;
}

/* "policy": canonical padded base64 of at most CERTPIN_BUNDLE_POLICY_MAX bytes; "signature": of 64. */
static int parse_payload(bundle *b, certpin_error *err, json_t *root)
{
	unsigned char sig[SIG_LEN + 3];
	const char *s;
	size_t slen;
	int rc, n;

	if ((rc = get_str(err, root, "policy", &s, &slen)) != CERTPIN_OK)
		return rc;
	if (slen == 0 || slen / 4 * 3 > CERTPIN_BUNDLE_POLICY_MAX + 2)
		return BAD(err, "/policy", "\"policy\" is empty or larger than %u bytes", CERTPIN_BUNDLE_POLICY_MAX);
	if (!(b->policy = malloc(slen / 4 * 3 + 1)))
		return FAIL(err, CERTPIN_E_NOMEM, "out of memory");
	n = certpin__b64_decode(b->policy, slen / 4 * 3, s, slen);
	if (n <= 0)
		return BAD(err, "/policy", "\"policy\" is not canonical padded base64");
	if ((size_t)n > CERTPIN_BUNDLE_POLICY_MAX)
		return BAD(err, "/policy", "\"policy\" larger than %u bytes", CERTPIN_BUNDLE_POLICY_MAX);
	b->policy_len = (size_t)n;
	b->policy[n] = '\0';
	if ((rc = certpin__sha256(b->policy_sha256, b->policy, b->policy_len)) != CERTPIN_OK)
		return FAIL(err, rc, "cannot hash the policy");
	if ((rc = get_str(err, root, "signature", &s, &slen)) != CERTPIN_OK)
		return rc;
	n = slen == 88 ? certpin__b64_decode(sig, sizeof(sig), s, slen) : -1;
	if (n != SIG_LEN)
		return BAD(err, "/signature", "\"signature\" must be base64 of 64 bytes");
	memcpy(b->sig, sig, SIG_LEN);
	return CERTPIN_OK;
}

/* Strictly parse a bundle; nothing is trusted yet. */
static int parse_bundle(bundle *b, certpin_bundle_info *info, certpin_error *err, const void *data, size_t len)
{
	json_t *root = NULL;
	int rc;

	memset(b, 0, sizeof(*b));
	if (!data)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no bundle data");
	if (len > CERTPIN_BUNDLE_MAX)
		return BAD(err, NULL, "larger than %u bytes", CERTPIN_BUNDLE_MAX);
	if ((rc = parse_envelope(&root, err, data, len)) != CERTPIN_OK)
		return rc;
	if ((rc = get_int(err, root, "version", 1, &b->version)) != CERTPIN_OK ||
	    (rc = get_time(err, root, "issued", &b->issued, b->issued_s)) != CERTPIN_OK ||
	    (rc = get_time(err, root, "expires", &b->expires, b->expires_s)) != CERTPIN_OK)
		goto out;
	if (b->expires <= b->issued) {
		rc = BAD(err, "/expires", "\"expires\" is not later than \"issued\"");
		goto out;
	}
	if ((rc = parse_key_id(b, err, root)) != CERTPIN_OK || (rc = parse_payload(b, err, root)) != CERTPIN_OK)
		goto out;
	info_from_bundle(info, b);
out:
	json_decref(root);
	if (rc != CERTPIN_OK)
		bundle_free(b);
	return rc;
}

/* The signed bytes (see certpin/bundle.h).  Returns the length. */
static size_t tbs_bytes(char out[TBS_MAX], const bundle *b)
{
	char hex[2 * CERTPIN_DIGEST_LEN + 1];

	for (size_t i = 0; i < CERTPIN_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", b->policy_sha256[i]);
	int n = snprintf(out, TBS_MAX,
		"certpin-bundle-v1\n"
		"version %llu\n"
		"issued %s\n"
		"expires %s\n"
		"key_id %s\n"
		"policy_length %zu\n"
		"policy_sha256 %s\n",
		(unsigned long long)b->version, b->issued_s, b->expires_s, b->key_id_s, b->policy_len, hex);
	return n > 0 && n < TBS_MAX ? (size_t)n : 0;
}

int certpin_bundle_parse_unverified(certpin_bundle_info *out, char **policy_json, size_t *policy_len,
	const void *data, size_t len, certpin_error *err)
{
	bundle b;
	int rc;

	info_init(out);
	certpin_error_clear(err);
	if (policy_json)
		*policy_json = NULL;
	if (policy_len)
		*policy_len = 0;
	if ((rc = parse_bundle(&b, out, err, data, len)) != CERTPIN_OK)
		return rc;
	if (policy_json) {
		*policy_json = (char *)b.policy;
		b.policy = NULL;
		if (policy_len)
			*policy_len = b.policy_len;
	}
	bundle_free(&b);
	return CERTPIN_OK;
}

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */

static int check_signature(const certpin__anchor *a, const bundle *b)
{
	char tbs[TBS_MAX];
	size_t n = tbs_bytes(tbs, b);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (md && n > 0 && EVP_DigestVerifyInit(md, NULL, NULL, NULL, a->key) == 1)
		ok = EVP_DigestVerify(md, b->sig, SIG_LEN, (const unsigned char *)tbs, n) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* Checks 1-5; on success `*policy` (if wanted) holds the loaded policy. */
static int verify_bundle(bundle *b, certpin_bundle_info *info, certpin_error *err, certpin_policy **policy,
	const certpin_trust_anchors *anchors, const void *data, size_t len, int64_t now)
{
	certpin_policy *p = NULL;
	const certpin__anchor *a;
	char when[32];
	int rc;

	if (!anchors)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no trust anchors");
	if ((rc = parse_bundle(b, info, err, data, len)) != CERTPIN_OK)
		return rc;
	if (!(a = certpin__anchor_find(anchors, b->key_id.digest))) {
		rc = FAIL(err, CERTPIN_E_UNTRUSTED_KEY, "signed by %s, which is not a trusted key", b->key_id_s);
		goto err;
	}
	if (!check_signature(a, b)) {
		rc = FAIL(err, CERTPIN_E_SIGNATURE, "the signature by %s does not verify", b->key_id_s);
		goto err;
	}
	if (now >= b->expires) {
		certpin__format_time(when, sizeof(when), now);
		rc = FAIL(err, CERTPIN_E_EXPIRED_BUNDLE, "version %llu expired at %s (now %s)",
			(unsigned long long)b->version, b->expires_s, when);
		goto err;
	}
	/* the policy's own error (its JSON path and line) tells what is wrong inside it */
	if ((rc = certpin_policy_load_data(&p, (const char *)b->policy, b->policy_len, "bundle policy", NULL,
		err)) != CERTPIN_OK)
		goto err;
	if (policy)
		*policy = p;
	else
		certpin_policy_free(p);
	return CERTPIN_OK;
err:
	certpin_policy_free(p);
	bundle_free(b);
	return rc;
}

int certpin_bundle_verify(certpin_bundle_info *out, certpin_policy **policy,
	const certpin_trust_anchors *anchors, const void *data, size_t len, int64_t now, certpin_error *err)
{
	bundle b;
	int rc;

	info_init(out);
	certpin_error_clear(err);
	if (policy)
		*policy = NULL;
	if ((rc = verify_bundle(&b, out, err, policy, anchors, data, len, now)) != CERTPIN_OK)
		return rc;
	bundle_free(&b);
	return CERTPIN_OK;
}

/* The stored bundle's version: 0 if none; CERTPIN_E_STORE if corrupt. */
static int read_stored_version(uint64_t *out, int *have, certpin_error *err, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	char why[256] = "";
	bundle b;
	int rc;

	*out = 0;
	*have = 0;
	rc = certpin__store_read(&data, &len, path, CERTPIN_BUNDLE_MAX, why, sizeof(why));
	if (rc == CERTPIN_E_NOT_FOUND)
		return CERTPIN_OK;
	if (rc == CERTPIN_E_STORE)
		return FAIL(err, CERTPIN_E_STORE, "%s (stored bundle is corrupt; remove it to start over)", why);
	if (rc != CERTPIN_OK)
		return FAIL(err, rc, "%s", why[0] ? why : certpin_strerror(rc));
	rc = parse_bundle(&b, NULL, NULL, data, len);
	free(data);
	if (rc == CERTPIN_E_NOMEM)
		return FAIL(err, rc, "out of memory");
	if (rc != CERTPIN_OK)
		return FAIL(err, CERTPIN_E_STORE, "%s: stored bundle is corrupt; remove it to start over", path);
	*out = b.version;
	*have = 1;
	bundle_free(&b);
	return CERTPIN_OK;
}

int certpin_bundle_stored_version(uint64_t *out, const char *state_dir, certpin_error *err)
{
	char *path;
	int have, rc;

	certpin_error_clear(err);
	if (!out || !state_dir)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no output or state directory");
	*out = 0;
	if (!(path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE)))
		return FAIL(err, CERTPIN_E_NOMEM, "out of memory");
	rc = read_stored_version(out, &have, err, path);
	free(path);
	return rc;
}

/* Under the state directory's lock: refuse a rollback, then store the bundle. */
static int store_newer(certpin_bundle_info *info, certpin_error *err, const char *state_dir, const bundle *b,
	const void *data, size_t len)
{
	certpin__lock lock = CERTPIN__LOCK_INIT;
	char *path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE);
	char *lock_path = certpin__path_join(state_dir, LOCK_NAME);
	char why[256] = "";
	uint64_t stored = 0;
	int have = 0, rc;

	if (!path || !lock_path) {
		rc = FAIL(err, CERTPIN_E_NOMEM, "out of memory");
		goto out;
	}
	rc = certpin__store_lock(&lock, lock_path, CERTPIN_BUNDLE_LOCK_TIMEOUT_MS, why, sizeof(why));
	if (rc != CERTPIN_OK) {
		rc = FAIL(err, rc, "%s", why);
		goto out;
	}
	/* under the lock: nobody can store a newer bundle between this check and our write */
	if ((rc = read_stored_version(&stored, &have, err, path)) != CERTPIN_OK)
		goto out;
	if (info) {
		info->have_stored = have;
		info->stored_version = stored;
	}
	if (b->version <= stored) {
		rc = FAIL(err, CERTPIN_E_ROLLBACK, "version %llu is not newer than the stored version %llu",
			(unsigned long long)b->version, (unsigned long long)stored);
		goto out;
	}
	if ((rc = certpin__store_write(path, data, len, 0644, why, sizeof(why))) != CERTPIN_OK)
		rc = FAIL(err, rc, "%s", why);
out:
	certpin__store_unlock(&lock);
	free(path);
	free(lock_path);
	return rc;
}

int certpin_policy_update_from_bundle(certpin_policy **out, certpin_bundle_info *info,
	const certpin_trust_anchors *anchors, const char *state_dir, const void *data, size_t len, int64_t now,
	certpin_error *err)
{
	certpin_policy *p = NULL;
	bundle b;
	int rc;

	info_init(info);
	certpin_error_clear(err);
	if (!out)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no output policy");
	*out = NULL;
	if (!state_dir || !data)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no state directory or bundle");
	if ((rc = verify_bundle(&b, info, err, &p, anchors, data, len, now)) != CERTPIN_OK)
		return rc;
	rc = store_newer(info, err, state_dir, &b, data, len);
	bundle_free(&b);
	if (rc != CERTPIN_OK) {
		certpin_policy_free(p);
		return rc;
	}
	*out = p;
	return CERTPIN_OK;
}

int certpin_bundle_load_state(certpin_policy **out, certpin_bundle_info *info,
	const certpin_trust_anchors *anchors, const char *state_dir, int64_t now, certpin_error *err)
{
	char *path = NULL, *data = NULL;
	char why[256] = "";
	size_t len = 0;
	bundle b;
	int rc;

	info_init(info);
	certpin_error_clear(err);
	if (!out)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no output policy");
	*out = NULL;
	if (!state_dir)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no state directory");
	if (!(path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE)))
		return FAIL(err, CERTPIN_E_NOMEM, "out of memory");
	rc = certpin__store_read(&data, &len, path, CERTPIN_BUNDLE_MAX, why, sizeof(why));
	if (rc == CERTPIN_E_NOT_FOUND) {
		rc = FAIL(err, rc, "%s: no stored bundle", path);
		goto out;
	}
	if (rc != CERTPIN_OK) {
		rc = FAIL(err, rc, "%s", why[0] ? why : certpin_strerror(rc));
		goto out;
	}
	rc = verify_bundle(&b, info, err, out, anchors, data, len, now);
	if (rc == CERTPIN_E_BUNDLE)
		rc = FAIL(err, CERTPIN_E_STORE, "%s: stored bundle is corrupt; remove it to start over", path);
	if (rc == CERTPIN_OK) {
		if (info) {
			info->have_stored = 1;
			info->stored_version = b.version;
		}
		bundle_free(&b);
	}
out:
	free(data);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Signing                                                                   */
/* ------------------------------------------------------------------------ */

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static int load_private_key(EVP_PKEY **out, const void *key, size_t len)
{
	EVP_PKEY *k = NULL;

	*out = NULL;
	if (!key || len == 0 || len > CERTPIN__KEY_FILE_MAX)
		return CERTPIN_E_DECODE;
	if (certpin__looks_like_pem(key, len)) {
		BIO *bio = BIO_new_mem_buf(key, (int)len);
		if (!bio)
			return CERTPIN_E_NOMEM;
		k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
		BIO_free(bio);
	} else {
		const unsigned char *p = key;
		k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	ERR_clear_error();
	if (!k)
		return CERTPIN_E_DECODE;
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return CERTPIN_E_UNSUPPORTED;
	}
	*out = k;
	return CERTPIN_OK;
}

int certpin_bundle_keygen(char **private_pem, char **public_pem)
{
	EVP_PKEY *k = NULL;
	BIO *priv = NULL, *pub = NULL;
	char *a = NULL, *b = NULL;
	const char *p;
	long n;
	int rc = CERTPIN_E_TLS;

	if (!private_pem || !public_pem)
		return CERTPIN_E_INVALID_ARG;
	*private_pem = *public_pem = NULL;
	if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")))
		goto out;
	if (!(priv = BIO_new(BIO_s_mem())) || !(pub = BIO_new(BIO_s_mem())))
		goto out;
	if (!PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_PUBKEY(pub, k))
		goto out;
	rc = CERTPIN_E_NOMEM;
	n = BIO_get_mem_data(priv, &p);
	if (n <= 0 || !(a = malloc((size_t)n + 1)))
		goto out;
	memcpy(a, p, (size_t)n);
	a[n] = '\0';
	n = BIO_get_mem_data(pub, &p);
	if (n <= 0 || !(b = malloc((size_t)n + 1)))
		goto out;
	memcpy(b, p, (size_t)n);
	b[n] = '\0';
	*private_pem = a;
	*public_pem = b;
	a = b = NULL;
	rc = CERTPIN_OK;
out:
	if (a)
		OPENSSL_cleanse(a, strlen(a));
	free(a);
	free(b);
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}

/* The bundle document of `b`, its signature `sig64` and the policy bytes (base64'd here). */
static int write_bundle(char **out, size_t *outlen, const bundle *b, const char *sig64, const void *policy_json,
	size_t policy_len)
{
	size_t pol64len = (policy_len + 2) / 3 * 4 + 1, doclen = pol64len + 512;
	char *pol64 = malloc(pol64len), *doc = malloc(doclen);
	int n, rc = CERTPIN_E_NOMEM;

	if (!pol64 || !doc || certpin__b64_encode(pol64, pol64len, policy_json, policy_len) < 0)
		goto out;
	n = snprintf(doc, doclen,
		"{\n"
		"  \"certpin_bundle\": 1,\n"
		"  \"version\": %llu,\n"
		"  \"issued\": \"%s\",\n"
		"  \"expires\": \"%s\",\n"
		"  \"key_id\": \"%s\",\n"
		"  \"policy\": \"%s\",\n"
		"  \"signature\": \"%s\"\n"
		"}\n",
		(unsigned long long)b->version, b->issued_s, b->expires_s, b->key_id_s, pol64, sig64);
	if (n < 0 || (size_t)n >= doclen) {
		rc = CERTPIN_E_TLS;
		goto out;
	}
	*out = doc;
	*outlen = (size_t)n;
	doc = NULL;
	rc = CERTPIN_OK;
out:
	free(doc);
	free(pol64);
	return rc;
}

/* The bundle's fields from the options; the policy must load as clients will load it. */
static int sign_fields(bundle *b, certpin_error *err, const void *policy_json, size_t policy_len,
	const certpin_bundle_sign_options *opts)
{
	certpin_policy *p = NULL;
	int rc;

	if (opts->version != CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "unknown sign options version %u", opts->version);
	if (opts->bundle_version < 1 || opts->bundle_version > (uint64_t)INT64_MAX)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "the bundle version must be from 1 to 2^63-1");
	if (policy_len == 0 || policy_len > CERTPIN_BUNDLE_POLICY_MAX)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "the policy is empty or larger than %u bytes",
			CERTPIN_BUNDLE_POLICY_MAX);
	b->version = opts->bundle_version;
	b->issued = opts->issued ? opts->issued : (int64_t)time(NULL);
	b->expires = opts->expires;
	/* the parser accepts four-digit years from 1970 only */
	if (b->issued < 0 || b->expires <= b->issued || b->expires > INT64_C(253402300799))
		return FAIL(err, CERTPIN_E_INVALID_ARG, "expiry must be after issue, both from 1970 to 9999");
	certpin__format_time(b->issued_s, sizeof(b->issued_s), b->issued);
	certpin__format_time(b->expires_s, sizeof(b->expires_s), b->expires);
	/* never sign what clients would refuse to load */
	rc = certpin_policy_load_data(&p, policy_json, policy_len, "policy", NULL, err);
	certpin_policy_free(p);
	if (rc != CERTPIN_OK)
		return rc;
	b->policy_len = policy_len;
	if ((rc = certpin__sha256(b->policy_sha256, policy_json, policy_len)) != CERTPIN_OK)
		return FAIL(err, rc, "cannot hash the policy");
	return CERTPIN_OK;
}

/* The key id of `k` and the Ed25519 signature over the signed bytes, base64 in sig64. */
static int sign_tbs(bundle *b, char sig64[SIG_LEN * 2], EVP_PKEY *k, certpin_error *err)
{
	EVP_MD_CTX *md = NULL;
	char tbs[TBS_MAX];
	size_t tbslen, siglen = SIG_LEN;
	int rc;

	if ((rc = certpin__bundle_key_id(b->key_id.digest, k)) != CERTPIN_OK)
		return FAIL(err, rc, "cannot read the signing key's public key");
	b->key_id.kind = CERTPIN_PIN_SPKI_SHA256;
	if ((rc = certpin_pin_format(b->key_id_s, sizeof(b->key_id_s), &b->key_id, CERTPIN_STYLE_DEFAULT)) != CERTPIN_OK)
		return FAIL(err, rc, "cannot format the key id");
	rc = CERTPIN_E_TLS;
	if ((tbslen = tbs_bytes(tbs, b)) && (md = EVP_MD_CTX_new()) &&
	    EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(md, b->sig, &siglen, (const unsigned char *)tbs, tbslen) == 1 && siglen == SIG_LEN &&
	    certpin__b64_encode(sig64, SIG_LEN * 2, b->sig, SIG_LEN) >= 0)
		rc = CERTPIN_OK;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc == CERTPIN_OK ? rc : FAIL(err, rc, "Ed25519 signing failed");
}

int certpin_bundle_sign(char **out, size_t *outlen, const void *policy_json, size_t policy_len,
	const void *key, size_t key_len, const certpin_bundle_sign_options *opts, certpin_error *err)
{
	EVP_PKEY *k = NULL;
	char sig64[SIG_LEN * 2];
	bundle b;
	int rc;

	memset(&b, 0, sizeof(b));
	certpin_error_clear(err);
	if (!out || !outlen || !policy_json || !opts)
		return FAIL(err, CERTPIN_E_INVALID_ARG, "no output, policy or options");
	*out = NULL;
	*outlen = 0;
	if ((rc = sign_fields(&b, err, policy_json, policy_len, opts)) != CERTPIN_OK)
		return rc;
	if ((rc = load_private_key(&k, key, key_len)) != CERTPIN_OK)
		return FAIL(err, rc, rc == CERTPIN_E_UNSUPPORTED ? "the signing key is not an Ed25519 key" :
			"the signing key is not an unencrypted PEM or DER private key");
	if ((rc = sign_tbs(&b, sig64, k, err)) == CERTPIN_OK &&
	    (rc = write_bundle(out, outlen, &b, sig64, policy_json, policy_len)) != CERTPIN_OK)
		rc = FAIL(err, rc, "cannot write the bundle");
	EVP_PKEY_free(k);
	return rc;
}
