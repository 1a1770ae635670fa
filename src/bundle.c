/*
 * Signed policy bundles (certpin/bundle.h): trust anchors, the strict bundle
 * parser, Ed25519 signing and verification over the canonical signed bytes,
 * anti-rollback storage in a state directory, and a minimal pinned HTTPS GET.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SIG_LEN 64
#define TIME_LEN 20     /* "YYYY-MM-DDTHH:MM:SSZ" */
#define ANCHOR_FILE_MAX (1u << 20)
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

/* 1 if `data` contains a PEM begin line marker. */
static int looks_like_pem(const void *data, size_t len)
{
	static const char mark[] = "-----BEGIN ";
	const char *p = data;

	for (size_t i = 0; i + sizeof(mark) - 1 <= len; i++)
		if (p[i] == '-' && memcmp(p + i, mark, sizeof(mark) - 1) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Trust anchors                                                             */
/* ------------------------------------------------------------------------ */

typedef struct anchor {
	EVP_PKEY *key;
	unsigned char id[CERTPIN_DIGEST_LEN];   /* SHA-256 of the SPKI DER */
} anchor;

struct certpin_trust_anchors {
	anchor a[CERTPIN_BUNDLE_MAX_ANCHORS];
	size_t n;
};

int certpin_trust_anchors_new(certpin_trust_anchors **out)
{
	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = calloc(1, sizeof(**out));
	return *out ? CERTPIN_OK : CERTPIN_E_NOMEM;
}

void certpin_trust_anchors_free(certpin_trust_anchors *anchors)
{
	if (!anchors)
		return;
	for (size_t i = 0; i < anchors->n; i++)
		EVP_PKEY_free(anchors->a[i].key);
	free(anchors);
}

size_t certpin_trust_anchors_count(const certpin_trust_anchors *anchors)
{
	return anchors ? anchors->n : 0;
}

/* SHA-256 of the key's SPKI DER. */
static int key_id(unsigned char id[CERTPIN_DIGEST_LEN], EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);

	if (len <= 0)
		return CERTPIN_E_DECODE;
	int rc = certpin__sha256(id, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* Decode one Ed25519 SPKI into an anchor (not yet added). */
static int anchor_from_der(anchor *out, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k;
	int rc;

	if (len == 0 || len > ANCHOR_FILE_MAX)
		return CERTPIN_E_DECODE;
	k = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_clear_error();
	if (!k)
		return CERTPIN_E_DECODE;
	if (p != der + len) {
		EVP_PKEY_free(k);
		return CERTPIN_E_DECODE;
	}
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return CERTPIN_E_UNSUPPORTED;
	}
	if ((rc = key_id(out->id, k)) != CERTPIN_OK) {
		EVP_PKEY_free(k);
		return rc;
	}
	out->key = k;
	return CERTPIN_OK;
}

static const anchor *find_anchor(const certpin_trust_anchors *anchors, const unsigned char id[CERTPIN_DIGEST_LEN])
{
	for (size_t i = 0; i < anchors->n; i++)
		if (memcmp(anchors->a[i].id, id, CERTPIN_DIGEST_LEN) == 0)
			return &anchors->a[i];
	return NULL;
}

/* Add `n` decoded anchors, all or none; takes ownership of their keys. */
static int add_anchors(certpin_trust_anchors *anchors, anchor *add, size_t n)
{
	int rc = CERTPIN_OK;

	if (anchors->n + n > CERTPIN_BUNDLE_MAX_ANCHORS)
		rc = CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < n && rc == CERTPIN_OK; i++) {
		if (find_anchor(anchors, add[i].id))
			rc = CERTPIN_E_DUPLICATE;
		for (size_t j = 0; j < i; j++)
			if (memcmp(add[i].id, add[j].id, CERTPIN_DIGEST_LEN) == 0)
				rc = CERTPIN_E_DUPLICATE;
	}
	if (rc != CERTPIN_OK) {
		for (size_t i = 0; i < n; i++)
			EVP_PKEY_free(add[i].key);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		anchors->a[anchors->n++] = add[i];
	return CERTPIN_OK;
}

int certpin_trust_anchors_add_pubkey_der(certpin_trust_anchors *anchors, const void *der, size_t len)
{
	anchor a;
	int rc;

	if (!anchors || !der)
		return CERTPIN_E_INVALID_ARG;
	if ((rc = anchor_from_der(&a, der, len)) != CERTPIN_OK)
		return rc;
	return add_anchors(anchors, &a, 1);
}

int certpin_trust_anchors_add_pubkey_pem(certpin_trust_anchors *anchors, const void *pem, size_t len)
{
	anchor found[CERTPIN_BUNDLE_MAX_ANCHORS];
	size_t n = 0;
	BIO *bio = NULL;
	int rc = CERTPIN_OK;

	if (!anchors || !pem)
		return CERTPIN_E_INVALID_ARG;
	if (len == 0 || len > ANCHOR_FILE_MAX)
		return CERTPIN_E_DECODE;
	if (!(bio = BIO_new_mem_buf(pem, (int)len)))
		return CERTPIN_E_NOMEM;
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;

		if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
			unsigned long e = ERR_peek_last_error();
			/* "no start line" after at least one block is the normal end */
			if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) || n == 0)
				rc = CERTPIN_E_DECODE;
			ERR_clear_error();
			break;
		}
		if (strcmp(name, "PUBLIC KEY") != 0 || (header && header[0]) || dlen <= 0)
			rc = CERTPIN_E_DECODE;
		else if (n == CERTPIN_BUNDLE_MAX_ANCHORS)
			rc = CERTPIN_E_INVALID_ARG;
		else if ((rc = anchor_from_der(&found[n], data, (size_t)dlen)) == CERTPIN_OK)
			n++;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (rc != CERTPIN_OK)
			break;
	}
	BIO_free(bio);
	if (rc != CERTPIN_OK) {
		for (size_t i = 0; i < n; i++)
			EVP_PKEY_free(found[i].key);
		return rc;
	}
	return add_anchors(anchors, found, n);
}

int certpin_trust_anchors_add_file(certpin_trust_anchors *anchors, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (!anchors || !path)
		return CERTPIN_E_INVALID_ARG;
	rc = certpin__store_read(&buf, &len, path, ANCHOR_FILE_MAX, NULL, 0);
	if (rc == CERTPIN_E_NOT_FOUND || rc == CERTPIN_E_IO)
		return CERTPIN_E_IO;
	if (rc == CERTPIN_E_STORE)
		return CERTPIN_E_DECODE;
	if (rc != CERTPIN_OK)
		return rc;
	if (looks_like_pem(buf, len))
		rc = certpin_trust_anchors_add_pubkey_pem(anchors, buf, len);
	else
		rc = certpin_trust_anchors_add_pubkey_der(anchors, buf, len);
	free(buf);
	return rc;
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

static int check_signature(const anchor *a, const bundle *b)
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
	const anchor *a;
	char when[32];
	int rc;

	if (!anchors)
		return fail(info, CERTPIN_E_INVALID_ARG, "no trust anchors");
	if ((rc = parse_bundle(b, info, data, len)) != CERTPIN_OK)
		return rc;
	if (!(a = find_anchor(anchors, b->key_id.digest))) {
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
	if (!key || len == 0 || len > ANCHOR_FILE_MAX)
		return CERTPIN_E_DECODE;
	if (looks_like_pem(key, len)) {
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

int certpin_bundle_sign(char **out, size_t *outlen, const void *policy_json, size_t policy_len,
	const void *key, size_t key_len, const certpin_bundle_sign_options *opts)
{
	EVP_PKEY *k = NULL;
	EVP_MD_CTX *md = NULL;
	certpin_policy *p = NULL;
	char tbs[TBS_MAX], sig64[SIG_LEN * 2], *pol64 = NULL, *doc = NULL;
	size_t tbslen, siglen = SIG_LEN, pol64len, doclen;
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
	if ((rc = key_id(b.key_id.digest, k)) != CERTPIN_OK)
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
	rc = CERTPIN_E_NOMEM;
	pol64len = (policy_len + 2) / 3 * 4 + 1;
	if (!(pol64 = malloc(pol64len)) || certpin__b64_encode(pol64, pol64len, policy_json, policy_len) < 0)
		goto out;
	doclen = pol64len + 512;
	if (!(doc = malloc(doclen)))
		goto out;
	int n = snprintf(doc, doclen,
		"{\n"
		"  \"certpin_bundle\": 1,\n"
		"  \"version\": %llu,\n"
		"  \"issued\": \"%s\",\n"
		"  \"expires\": \"%s\",\n"
		"  \"key_id\": \"%s\",\n"
		"  \"policy\": \"%s\",\n"
		"  \"signature\": \"%s\"\n"
		"}\n",
		(unsigned long long)b.version, b.issued_s, b.expires_s, b.key_id_s, pol64, sig64);
	if (n < 0 || (size_t)n >= doclen) {
		rc = CERTPIN_E_TLS;
		goto out;
	}
	*out = doc;
	*outlen = (size_t)n;
	doc = NULL;
	rc = CERTPIN_OK;
out:
	ERR_clear_error();
	free(doc);
	free(pol64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* HTTPS fetch                                                               */
/* ------------------------------------------------------------------------ */

#define FETCH_DEFAULT_TIMEOUT_MS 30000u
#define FETCH_HEADER_MAX (16u * 1024u)
#define URL_PATH_MAX 1024

typedef struct fetch {
	certpin_fetch_result *res;
	char host[CERTPIN_HOSTNAME_MAX];        /* as in the URL, brackets removed */
	char norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	char port[8];
	char path[URL_PATH_MAX];
	int64_t deadline;                       /* CLOCK_MONOTONIC ms */
	int fd;
} fetch;

__attribute__((format(printf, 3, 4)))
static int ffail(fetch *f, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->res->detail, sizeof(f->res->detail), fmt, ap);
	va_end(ap);
	return code;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_url(fetch *f, const char *url)
{
	const char *p, *auth_end, *host, *host_end, *port = NULL;
	size_t hl;

	if (strncasecmp(url, "https://", 8) != 0)
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: only https:// URLs are fetched");
	host = url + 8;
	auth_end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(auth_end - host)))
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: user information is not supported");
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (!host_end)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: unterminated IPv6 literal");
		p = host_end + 1;
		host++;
		if (p < auth_end) {
			if (*p != ':')
				return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad authority");
			port = p + 1;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(auth_end - host));
		if (host_end)
			port = host_end + 1;
		else
			host_end = auth_end;
	}
	hl = (size_t)(host_end - host);
	if (hl == 0 || hl >= sizeof(f->host))
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad host");
	memcpy(f->host, host, hl);
	f->host[hl] = '\0';
	if (certpin__host_normalize(f->norm, sizeof(f->norm), &f->is_ip, f->host) != CERTPIN_OK)
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL: invalid host \"%s\"", f->host);
	if (port) {
		size_t pl = (size_t)(auth_end - port);
		unsigned long v = 0;
		if (pl == 0 || pl > 5)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad port");
		for (size_t i = 0; i < pl; i++) {
			if (port[i] < '0' || port[i] > '9')
				return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad port");
			v = v * 10 + (unsigned long)(port[i] - '0');
		}
		if (v == 0 || v > 65535)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: bad port");
		snprintf(f->port, sizeof(f->port), "%lu", v);
	} else {
		snprintf(f->port, sizeof(f->port), "443");
	}
	/* path and query, without any fragment; printable ASCII only */
	p = *auth_end == '/' ? auth_end : "/";
	size_t n = strcspn(p, "#");
	if (*auth_end == '?') {
		/* "https://host?q": the path is "/" followed by the query */
		p = auth_end;
		n = strcspn(p, "#");
		if (n + 1 >= sizeof(f->path))
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: path too long");
		f->path[0] = '/';
		memcpy(f->path + 1, p, n);
		f->path[n + 1] = '\0';
	} else {
		if (n >= sizeof(f->path))
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: path too long");
		memcpy(f->path, p, n);
		f->path[n] = '\0';
	}
	for (const char *c = f->path; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return ffail(f, CERTPIN_E_INVALID_ARG, "URL: invalid character in path");
	return CERTPIN_OK;
}

/* Wait for `events` on the socket until the deadline; 0 ready, -1 timeout or error. */
static int wait_fd(fetch *f, short events)
{
	for (;;) {
		int64_t left = f->deadline - mono_ms();
		struct pollfd pfd = { f->fd, events, 0 };
		int r;

		if (left <= 0)
			return -1;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		return 0;
	}
}

static int tcp_connect(fetch *f, const char *host)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, last = 0, tries = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, f->port, &hints, &res);
	if (rc != 0)
		return ffail(f, CERTPIN_E_IO, "cannot resolve %s: %s", host, gai_strerror(rc));
	for (ai = res; ai && tries < 8; ai = ai->ai_next, tries++) {
		int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		int err = 0;
		socklen_t elen = sizeof(err);

		if (fd < 0) {
			last = errno;
			continue;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) != 0) {
			last = errno;
			close(fd);
			continue;
		}
		f->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				last = errno;
			} else if (wait_fd(f, POLLOUT) != 0) {
				last = ETIMEDOUT;
			} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
				last = err ? err : errno;
			}
		}
		if (last == 0) {
			freeaddrinfo(res);
			return CERTPIN_OK;
		}
		close(fd);
		f->fd = -1;
		if (last == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return ffail(f, CERTPIN_E_IO, "cannot connect to %s port %s: %s", host, f->port,
		last ? strerror(last) : "no usable address");
}

/* Drive one SSL call to completion.  1 done, 0 clean close (reads), -1 error. */
static int ssl_step(fetch *f, SSL *ssl, int r)
{
	int e = SSL_get_error(ssl, r);

	if (r > 0)
		return 1;
	if (e == SSL_ERROR_WANT_READ)
		return wait_fd(f, POLLIN) == 0 ? 2 : -1;
	if (e == SSL_ERROR_WANT_WRITE)
		return wait_fd(f, POLLOUT) == 0 ? 2 : -1;
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	return -1;
}

static int handshake_failed(fetch *f, SSL *ssl)
{
	certpin_fetch_result *res = f->res;
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	res->pin_rc = certpin_ssl_result(&res->pin, ssl);
	ERR_clear_error();
	if (res->pin_rc != CERTPIN_OK && res->pin_rc != CERTPIN_E_STATE)
		return ffail(f, res->pin_rc, "%s: refused by the current policy: %s", f->host,
			certpin_strerror(res->pin_rc));
	if (vr != X509_V_OK)
		return ffail(f, CERTPIN_E_PKIX, "%s: certificate verification failed: %s", f->host,
			X509_verify_cert_error_string(vr));
	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		return ffail(f, CERTPIN_E_TLS, "%s: TLS handshake failed: %s", f->host, buf);
	}
	if (mono_ms() >= f->deadline)
		return ffail(f, CERTPIN_E_IO, "%s: timed out", f->host);
	return ffail(f, CERTPIN_E_TLS, "%s: TLS handshake failed", f->host);
}

/* Parse a complete header block [buf, buf+hlen).  Sets *clen (-1 if absent). */
static int parse_head(fetch *f, const char *buf, size_t hlen, long long *clen, size_t max)
{
	const char *p = buf, *end = buf + hlen, *eol;
	int status;

	*clen = -1;
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol || eol - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
	    p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' ||
	    (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
		return ffail(f, CERTPIN_E_IO, "%s: malformed HTTP status line", f->host);
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	f->res->http_status = status;
	if (status != 200)
		return ffail(f, CERTPIN_E_IO, "%s%s: HTTP status %d", f->host, f->path, status);
	for (p = eol + 1; p < end; p = eol + 1) {
		const char *colon, *v, *ve;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (ve == p)
			break;  /* the empty line ending the header */
		colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon || colon == p)
			return ffail(f, CERTPIN_E_IO, "%s: malformed HTTP header", f->host);
		for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
			;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t nl = (size_t)(colon - p);
		if (nl == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
			return ffail(f, CERTPIN_E_IO, "%s: HTTP transfer encodings are not supported", f->host);
		if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
			long long n = 0;
			if (v == ve || ve - v > 12)
				return ffail(f, CERTPIN_E_IO, "%s: bad Content-Length", f->host);
			for (const char *c = v; c < ve; c++) {
				if (*c < '0' || *c > '9')
					return ffail(f, CERTPIN_E_IO, "%s: bad Content-Length", f->host);
				n = n * 10 + (*c - '0');
			}
			if (*clen >= 0 && *clen != n)
				return ffail(f, CERTPIN_E_IO, "%s: conflicting Content-Length headers", f->host);
			if ((unsigned long long)n > max)
				return ffail(f, CERTPIN_E_IO, "%s: response larger than %zu bytes", f->host, max);
			*clen = n;
		}
	}
	return CERTPIN_OK;
}

static int http_get(fetch *f, SSL *ssl, char **out, size_t *outlen, size_t max)
{
	char req[URL_PATH_MAX + CERTPIN_HOSTNAME_MAX + 160];
	size_t cap = max + FETCH_HEADER_MAX, used = 0, hlen = 0;
	long long clen = -1;
	char *buf = NULL, *hend;
	int n, r, rc;

	n = snprintf(req, sizeof(req),
		"GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: certpin/%s\r\n"
		"Accept: application/json\r\nConnection: close\r\n\r\n",
		f->path, f->is_ip && strchr(f->host, ':') ? "[" : "", f->host,
		f->is_ip && strchr(f->host, ':') ? "]" : "", strcmp(f->port, "443") ? ":" : "",
		strcmp(f->port, "443") ? f->port : "", CERTPIN_VERSION_STRING);
	if (n < 0 || (size_t)n >= sizeof(req))
		return ffail(f, CERTPIN_E_INVALID_ARG, "URL too long");
	while ((r = ssl_step(f, ssl, SSL_write(ssl, req, n))) == 2)
		;
	if (r != 1)
		return ffail(f, CERTPIN_E_IO, "%s: cannot send the request%s", f->host,
			mono_ms() >= f->deadline ? " (timed out)" : "");
	if (!(buf = malloc(cap + 1)))
		return ffail(f, CERTPIN_E_NOMEM, "out of memory");
	for (;;) {
		if (hlen && clen >= 0 && used - hlen >= (size_t)clen)
			break;
		if (used == cap) {
			rc = ffail(f, CERTPIN_E_IO, "%s: response larger than %zu bytes", f->host, max);
			goto out;
		}
		size_t want = cap - used;
		r = SSL_read(ssl, buf + used, want > INT_MAX ? INT_MAX : (int)want);
		int s = ssl_step(f, ssl, r);
		if (s == 2)
			continue;
		if (s == 1) {
			used += (size_t)r;
		} else if (s == 0) {
			break;  /* close_notify: the body ends here */
		} else {
			ERR_clear_error();
			if (hlen && clen >= 0 && used - hlen >= (size_t)clen)
				break;
			rc = ffail(f, CERTPIN_E_IO, "%s: %s", f->host, mono_ms() >= f->deadline ?
				"timed out reading the response" : "connection closed before the response was complete");
			goto out;
		}
		if (!hlen) {
			buf[used] = '\0';
			hend = NULL;
			for (size_t i = 0; i + 1 < used && !hend; i++) {
				if (buf[i] == '\n' && buf[i + 1] == '\n')
					hend = buf + i + 2;
				else if (i + 3 < used && memcmp(buf + i, "\r\n\r\n", 4) == 0)
					hend = buf + i + 4;
			}
			if (hend) {
				hlen = (size_t)(hend - buf);
				if ((rc = parse_head(f, buf, hlen, &clen, max)) != CERTPIN_OK)
					goto out;
			} else if (used > FETCH_HEADER_MAX) {
				rc = ffail(f, CERTPIN_E_IO, "%s: HTTP header larger than %u bytes", f->host,
					FETCH_HEADER_MAX);
				goto out;
			}
		}
	}
	if (!hlen) {
		rc = ffail(f, CERTPIN_E_IO, "%s: incomplete HTTP response", f->host);
		goto out;
	}
	size_t body = used - hlen;
	/* the body is exactly Content-Length bytes; anything after it is not ours */
	if (clen >= 0 && body > (size_t)clen)
		body = (size_t)clen;
	if (clen >= 0 && body != (size_t)clen) {
		rc = ffail(f, CERTPIN_E_IO, "%s: body is %zu bytes, Content-Length says %lld", f->host, body, clen);
		goto out;
	}
	if (body > max) {
		rc = ffail(f, CERTPIN_E_IO, "%s: response larger than %zu bytes", f->host, max);
		goto out;
	}
	memmove(buf, buf + hlen, body);
	buf[body] = '\0';
	*out = buf;
	*outlen = body;
	buf = NULL;
	rc = CERTPIN_OK;
out:
	free(buf);
	return rc;
}

int certpin_bundle_fetch(char **out, size_t *outlen, certpin_fetch_result *result, const char *url,
	certpin_policy *current, const certpin_fetch_options *opts)
{
	certpin_fetch_options o = CERTPIN_FETCH_OPTIONS_INIT;
	certpin_fetch_result local;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	fetch f;
	size_t rule;
	int rc, r;

	if (!result)
		result = &local;
	memset(result, 0, sizeof(*result));
	result->version = CERTPIN_FETCH_RESULT_VERSION;
	result->pin_rc = CERTPIN_E_STATE;
	memset(&f, 0, sizeof(f));
	f.res = result;
	f.fd = -1;
	if (!out || !outlen || !url || !current)
		return ffail(&f, CERTPIN_E_INVALID_ARG, "missing argument");
	*out = NULL;
	*outlen = 0;
	if (opts) {
		if (opts->version != CERTPIN_FETCH_OPTIONS_VERSION)
			return ffail(&f, CERTPIN_E_INVALID_ARG, "unknown options version");
		o = *opts;
	}
	if (o.max_bytes == 0 || o.max_bytes > CERTPIN_BUNDLE_MAX)
		o.max_bytes = CERTPIN_BUNDLE_MAX;
	if (o.timeout_ms == 0)
		o.timeout_ms = FETCH_DEFAULT_TIMEOUT_MS;
	if ((rc = parse_url(&f, url)) != CERTPIN_OK)
		return rc;
	if (certpin_policy_lookup(&rule, current, f.norm) != CERTPIN_OK)
		return ffail(&f, CERTPIN_E_NOT_FOUND, "%s is not pinned by the current policy; refusing an unpinned fetch",
			f.norm);
	f.deadline = mono_ms() + o.timeout_ms;

	rc = ffail(&f, CERTPIN_E_TLS, "cannot set up TLS");
	if (!(ctx = SSL_CTX_new(TLS_client_method())) || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto out;
	if (o.cafile ? SSL_CTX_load_verify_locations(ctx, o.cafile, NULL) != 1
		     : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		rc = ffail(&f, CERTPIN_E_IO, "cannot load trust anchors%s%s", o.cafile ? " from " : "",
			o.cafile ? o.cafile : "");
		goto out;
	}
	if ((rc = certpin_ssl_ctx_attach(ctx, current, NULL)) != CERTPIN_OK) {
		rc = ffail(&f, rc, "cannot attach the current policy: %s", certpin_strerror(rc));
		goto out;
	}
	if ((rc = tcp_connect(&f, o.connect_host ? o.connect_host : f.host)) != CERTPIN_OK)
		goto out;
	rc = ffail(&f, CERTPIN_E_TLS, "cannot set up TLS");
	if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, f.fd) != 1)
		goto out;
	if (!f.is_ip && SSL_set_tlsext_host_name(ssl, f.host) != 1)
		goto out;
	if (SSL_set1_host(ssl, f.host) != 1)
		goto out;
	ERR_clear_error();
	while ((r = ssl_step(&f, ssl, SSL_connect(ssl))) == 2)
		;
	if (r != 1) {
		rc = handshake_failed(&f, ssl);
		goto out;
	}
	result->pin_rc = certpin_ssl_result(&result->pin, ssl);
	if (result->pin_rc != CERTPIN_OK) {
		/* attached policies check every handshake; anything else is a fault: fail closed */
		rc = ffail(&f, result->pin_rc == CERTPIN_E_STATE ? CERTPIN_E_TLS : result->pin_rc,
			"%s: pin check %s", f.host, certpin_strerror(result->pin_rc));
		goto out;
	}
	rc = http_get(&f, ssl, out, outlen, o.max_bytes);
	if (rc == CERTPIN_OK)
		result->detail[0] = '\0';
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (f.fd >= 0)
		close(f.fd);
	SSL_CTX_free(ctx);
	return rc;
}
