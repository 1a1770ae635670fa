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

/* ------------------------------------------------------------------------ */
/* Details                                                                   */
/* ------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int fail(certpin_bundle_info *info, int code, const char *fmt, ...)
{
	va_list ap;

	if (info) {
		va_start(ap, fmt);
		vsnprintf(info->detail, sizeof(info->detail), fmt, ap);
		va_end(ap);
	}
	return code;
}

static void info_init(certpin_bundle_info *info)
{
	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	info->version = CERTPIN_BUNDLE_INFO_VERSION;
}

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

static int get_str(certpin_bundle_info *info, json_t *root, const char *key, const char **out, size_t *len)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return fail(info, CERTPIN_E_BUNDLE, "missing \"%s\"", key);
	if (!json_is_string(v))
		return fail(info, CERTPIN_E_BUNDLE, "\"%s\" must be a string", key);
	*out = json_string_value(v);
	*len = json_string_length(v);
	if (strlen(*out) != *len)
		return fail(info, CERTPIN_E_BUNDLE, "\"%s\" contains a NUL character", key);
	return CERTPIN_OK;
}

static int get_time(certpin_bundle_info *info, json_t *root, const char *key, int64_t *t, char *canon)
{
	const char *s = NULL;
	size_t len = 0;
	int rc;

	if ((rc = get_str(info, root, key, &s, &len)) != CERTPIN_OK)
		return rc;
	if (len != TIME_LEN || certpin__parse_time(t, s) != 0)
		return fail(info, CERTPIN_E_BUNDLE, "\"%s\" must be a UTC time YYYY-MM-DDTHH:MM:SSZ", key);
	certpin__format_time(canon, TIME_LEN + 1, *t);
	if (strcmp(canon, s) != 0)
		return fail(info, CERTPIN_E_BUNDLE, "\"%s\" is not in canonical form (%s)", key, canon);
	return CERTPIN_OK;
}

/* Strictly parse a bundle; nothing is trusted yet. */
static int parse_bundle(bundle *b, certpin_bundle_info *info, const void *data, size_t len)
{
	static const char *const keys[] = { "certpin_bundle", "version", "issued", "expires", "key_id",
		"policy", "signature", NULL };
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *key, *s;
	size_t slen;
	unsigned char sig[SIG_LEN + 3];
	int rc, n;

	memset(b, 0, sizeof(*b));
	if (!data)
		return fail(info, CERTPIN_E_INVALID_ARG, "no bundle data");
	if (len > CERTPIN_BUNDLE_MAX)
		return fail(info, CERTPIN_E_BUNDLE, "larger than %u bytes", CERTPIN_BUNDLE_MAX);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(info, CERTPIN_E_BUNDLE, "line %d column %d: %s", jerr.line, jerr.column,
			jerr.text);
	if (!json_is_object(root)) {
		rc = fail(info, CERTPIN_E_BUNDLE, "not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			if (strcmp(key, keys[i]) == 0)
				known = true;
		if (!known) {
			rc = fail(info, CERTPIN_E_BUNDLE, "unknown member \"%.64s\"", key);
			goto out;
		}
	}
	v = json_object_get(root, "certpin_bundle");
	if (!v) {
		rc = fail(info, CERTPIN_E_BUNDLE, "missing \"certpin_bundle\"");
		goto out;
	}
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		rc = fail(info, CERTPIN_E_BUNDLE, "unsupported format (\"certpin_bundle\" must be 1)");
		goto out;
	}
	v = json_object_get(root, "version");
	if (!v) {
		rc = fail(info, CERTPIN_E_BUNDLE, "missing \"version\"");
		goto out;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"version\" must be an integer from 1 to 2^63-1");
		goto out;
	}
	b->version = (uint64_t)json_integer_value(v);
	if ((rc = get_time(info, root, "issued", &b->issued, b->issued_s)) != CERTPIN_OK ||
	    (rc = get_time(info, root, "expires", &b->expires, b->expires_s)) != CERTPIN_OK)
		goto out;
	if (b->expires <= b->issued) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"expires\" is not later than \"issued\"");
		goto out;
	}
	if ((rc = get_str(info, root, "key_id", &s, &slen)) != CERTPIN_OK)
		goto out;
	if (slen >= sizeof(b->key_id_s) || certpin_pin_parse(&b->key_id, s, slen) != CERTPIN_OK ||
	    b->key_id.kind != CERTPIN_PIN_SPKI_SHA256 ||
	    certpin_pin_format(b->key_id_s, sizeof(b->key_id_s), &b->key_id, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK ||
	    strcmp(b->key_id_s, s) != 0) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"key_id\" must be a key pin sha256/BASE64");
		goto out;
	}
	if ((rc = get_str(info, root, "policy", &s, &slen)) != CERTPIN_OK)
		goto out;
	if (slen == 0 || slen / 4 * 3 > CERTPIN_BUNDLE_POLICY_MAX + 2) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"policy\" is empty or larger than %u bytes",
			CERTPIN_BUNDLE_POLICY_MAX);
		goto out;
	}
	if (!(b->policy = malloc(slen / 4 * 3 + 1))) {
		rc = fail(info, CERTPIN_E_NOMEM, "out of memory");
		goto out;
	}
	n = certpin__b64_decode(b->policy, slen / 4 * 3, s, slen);
	if (n <= 0) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"policy\" is not canonical padded base64");
		goto out;
	}
	if ((size_t)n > CERTPIN_BUNDLE_POLICY_MAX) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"policy\" larger than %u bytes", CERTPIN_BUNDLE_POLICY_MAX);
		goto out;
	}
	b->policy_len = (size_t)n;
	b->policy[n] = '\0';
	if ((rc = certpin__sha256(b->policy_sha256, b->policy, b->policy_len)) != CERTPIN_OK)
		goto out;
	if ((rc = get_str(info, root, "signature", &s, &slen)) != CERTPIN_OK)
		goto out;
	n = slen == 88 ? certpin__b64_decode(sig, sizeof(sig), s, slen) : -1;
	if (n != SIG_LEN) {
		rc = fail(info, CERTPIN_E_BUNDLE, "\"signature\" must be base64 of 64 bytes");
		goto out;
	}
	memcpy(b->sig, sig, SIG_LEN);
	info_from_bundle(info, b);
	rc = CERTPIN_OK;
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
	const void *data, size_t len)
{
	bundle b;
	int rc;

	info_init(out);
	if (policy_json)
		*policy_json = NULL;
	if (policy_len)
		*policy_len = 0;
	if ((rc = parse_bundle(&b, out, data, len)) != CERTPIN_OK)
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
static int verify_bundle(bundle *b, certpin_bundle_info *info, certpin_policy **policy,
	const certpin_trust_anchors *anchors, const void *data, size_t len, int64_t now)
{
	certpin_policy *p = NULL;
	const certpin__anchor *a;
	char when[32];
	int rc;

	if (!anchors)
		return fail(info, CERTPIN_E_INVALID_ARG, "no trust anchors");
	if ((rc = parse_bundle(b, info, data, len)) != CERTPIN_OK)
		return rc;
	if (!(a = certpin__anchor_find(anchors, b->key_id.digest))) {
		rc = fail(info, CERTPIN_E_UNTRUSTED_KEY, "signed by %s, which is not a trusted key",
			b->key_id_s);
		goto err;
	}
	if (!check_signature(a, b)) {
		rc = fail(info, CERTPIN_E_SIGNATURE, "the signature by %s does not verify", b->key_id_s);
		goto err;
	}
	if (now >= b->expires) {
		certpin__format_time(when, sizeof(when), now);
		rc = fail(info, CERTPIN_E_EXPIRED_BUNDLE, "version %llu expired at %s (now %s)",
			(unsigned long long)b->version, b->expires_s, when);
		goto err;
	}
	certpin_error perr;
	rc = certpin_policy_load_data(&p, (const char *)b->policy, b->policy_len, "bundle policy", NULL, &perr);
	if (rc != CERTPIN_OK) {
		rc = fail(info, rc, "%s", perr.message[0] ? perr.message : certpin_strerror(rc));
		goto err;
	}
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
	const certpin_trust_anchors *anchors, const void *data, size_t len, int64_t now)
{
	bundle b;
	int rc;

	info_init(out);
	if (policy)
		*policy = NULL;
	if ((rc = verify_bundle(&b, out, policy, anchors, data, len, now)) != CERTPIN_OK)
		return rc;
	bundle_free(&b);
	return CERTPIN_OK;
}

/* The stored bundle's version: 0 if none; CERTPIN_E_STORE if corrupt. */
static int read_stored_version(uint64_t *out, int *have, certpin_bundle_info *info, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	char err[256] = "";
	bundle b;
	int rc;

	*out = 0;
	*have = 0;
	rc = certpin__store_read(&data, &len, path, CERTPIN_BUNDLE_MAX, err, sizeof(err));
	if (rc == CERTPIN_E_NOT_FOUND)
		return CERTPIN_OK;
	if (rc == CERTPIN_E_STORE)
		return fail(info, CERTPIN_E_STORE, "%s (stored bundle is corrupt; remove it to start over)", err);
	if (rc != CERTPIN_OK)
		return fail(info, rc, "%s", err[0] ? err : certpin_strerror(rc));
	rc = parse_bundle(&b, NULL, data, len);
	free(data);
	if (rc == CERTPIN_E_NOMEM)
		return fail(info, rc, "out of memory");
	if (rc != CERTPIN_OK)
		return fail(info, CERTPIN_E_STORE, "%s: stored bundle is corrupt; remove it to start over", path);
	*out = b.version;
	*have = 1;
	bundle_free(&b);
	return CERTPIN_OK;
}

int certpin_bundle_stored_version(uint64_t *out, const char *state_dir)
{
	char *path;
	int have, rc;

	if (!out || !state_dir)
		return CERTPIN_E_INVALID_ARG;
	*out = 0;
	if (!(path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE)))
		return CERTPIN_E_NOMEM;
	rc = read_stored_version(out, &have, NULL, path);
	free(path);
	return rc;
}

int certpin_policy_update_from_bundle(certpin_policy **out, certpin_bundle_info *info,
	const certpin_trust_anchors *anchors, const char *state_dir, const void *data, size_t len, int64_t now)
{
	certpin__lock lock = CERTPIN__LOCK_INIT;
	certpin_policy *p = NULL;
	char *path = NULL, *lock_path = NULL;
	char err[256] = "";
	uint64_t stored = 0;
	int have = 0, rc;
	bundle b;

	info_init(info);
	if (!out)
		return fail(info, CERTPIN_E_INVALID_ARG, "no output policy");
	*out = NULL;
	if (!state_dir || !data)
		return fail(info, CERTPIN_E_INVALID_ARG, "no state directory or bundle");
	if ((rc = verify_bundle(&b, info, &p, anchors, data, len, now)) != CERTPIN_OK)
		return rc;
	if (!(path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE)) ||
	    !(lock_path = certpin__path_join(state_dir, LOCK_NAME))) {
		rc = fail(info, CERTPIN_E_NOMEM, "out of memory");
		goto out;
	}
	rc = certpin__store_lock(&lock, lock_path, CERTPIN_BUNDLE_LOCK_TIMEOUT_MS, err, sizeof(err));
	if (rc != CERTPIN_OK) {
		rc = fail(info, rc, "%s", err);
		goto out;
	}
	/* under the lock: nobody can store a newer bundle between this check and our write */
	if ((rc = read_stored_version(&stored, &have, info, path)) != CERTPIN_OK)
		goto out;
	if (info) {
		info->have_stored = have;
		info->stored_version = stored;
	}
	if (b.version <= stored) {
		rc = fail(info, CERTPIN_E_ROLLBACK, "version %llu is not newer than the stored version %llu",
			(unsigned long long)b.version, (unsigned long long)stored);
		goto out;
	}
	rc = certpin__store_write(path, data, len, 0644, err, sizeof(err));
	if (rc != CERTPIN_OK) {
		rc = fail(info, rc, "%s", err);
		goto out;
	}
	*out = p;
	p = NULL;
out:
	certpin__store_unlock(&lock);
	certpin_policy_free(p);
	bundle_free(&b);
	free(path);
	free(lock_path);
	return rc;
}

int certpin_bundle_load_state(certpin_policy **out, certpin_bundle_info *info,
	const certpin_trust_anchors *anchors, const char *state_dir, int64_t now)
{
	char *path = NULL, *data = NULL;
	char err[256] = "";
	size_t len = 0;
	bundle b;
	int rc;

	info_init(info);
	if (!out)
		return fail(info, CERTPIN_E_INVALID_ARG, "no output policy");
	*out = NULL;
	if (!state_dir)
		return fail(info, CERTPIN_E_INVALID_ARG, "no state directory");
	if (!(path = certpin__path_join(state_dir, CERTPIN_BUNDLE_STATE_FILE)))
		return fail(info, CERTPIN_E_NOMEM, "out of memory");
	rc = certpin__store_read(&data, &len, path, CERTPIN_BUNDLE_MAX, err, sizeof(err));
	if (rc == CERTPIN_E_NOT_FOUND) {
		rc = fail(info, rc, "%s: no stored bundle", path);
		goto out;
	}
	if (rc != CERTPIN_OK) {
		rc = fail(info, rc, "%s", err[0] ? err : certpin_strerror(rc));
		goto out;
	}
	rc = verify_bundle(&b, info, out, anchors, data, len, now);
	if (rc == CERTPIN_E_BUNDLE)
		rc = fail(info, CERTPIN_E_STORE, "%s: stored bundle is corrupt; remove it to start over", path);
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

int certpin_bundle_sign(char **out, size_t *outlen, const void *policy_json, size_t policy_len,
	const void *key, size_t key_len, const certpin_bundle_sign_options *opts)
{
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	certpin_policy *p = NULL;
	char tbs[TBS_MAX], sig64[SIG_LEN * 2];
	size_t tbslen, siglen = SIG_LEN;
	bundle b;
	int rc;

	memset(&b, 0, sizeof(b));
	if (!out || !outlen || !policy_json || !opts)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	*outlen = 0;
	if (opts->version != CERTPIN_BUNDLE_SIGN_OPTIONS_VERSION || opts->bundle_version < 1 ||
	    opts->bundle_version > (uint64_t)INT64_MAX || policy_len == 0 || policy_len > CERTPIN_BUNDLE_POLICY_MAX)
		return CERTPIN_E_INVALID_ARG;
	b.version = opts->bundle_version;
	b.issued = opts->issued ? opts->issued : (int64_t)time(NULL);
	b.expires = opts->expires;
	/* the parser accepts four-digit years from 1970 only */
	if (b.issued < 0 || b.expires <= b.issued || b.expires > INT64_C(253402300799))
		return CERTPIN_E_INVALID_ARG;
	certpin__format_time(b.issued_s, sizeof(b.issued_s), b.issued);
	certpin__format_time(b.expires_s, sizeof(b.expires_s), b.expires);

	/* never sign what clients would refuse to load */
	rc = certpin_policy_load_data(&p, policy_json, policy_len, "policy", NULL, NULL);
	certpin_policy_free(p);
	if (rc != CERTPIN_OK)
		return rc;

	if ((rc = load_private_key(&k, key, key_len)) != CERTPIN_OK)
		return rc;
	if ((rc = certpin__bundle_key_id(b.key_id.digest, k)) != CERTPIN_OK)
		goto out;
	b.key_id.kind = CERTPIN_PIN_SPKI_SHA256;
	if ((rc = certpin_pin_format(b.key_id_s, sizeof(b.key_id_s), &b.key_id, CERTPIN_STYLE_DEFAULT)) != CERTPIN_OK)
		goto out;
	b.policy_len = policy_len;
	if ((rc = certpin__sha256(b.policy_sha256, policy_json, policy_len)) != CERTPIN_OK)
		goto out;
	rc = CERTPIN_E_TLS;
	if (!(tbslen = tbs_bytes(tbs, &b)))
		goto out;
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(md, b.sig, &siglen, (const unsigned char *)tbs, tbslen) != 1 || siglen != SIG_LEN)
		goto out;
	if (certpin__b64_encode(sig64, sizeof(sig64), b.sig, SIG_LEN) < 0)
		goto out;
	rc = write_bundle(out, outlen, &b, sig64, policy_json, policy_len);
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}
