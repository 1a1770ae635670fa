/* Chains and policies for the rotation tools (lint, plan, monitor).  See rotation.h. */
#include "rotation.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>


#define ROT_MAX_CHAIN 16
#define ROT_INCOMPLETE (-1)     /* verify_chain(): issuer not found (not an exit code) */

void rot_chain_free(rot_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->subjects && i < c->n; i++)
		free(c->subjects[i]);
	free(c->subjects);
	free(c->elems);
	free(c->not_after);
	memset(c, 0, sizeof(*c));
}

static int chain_grow(rot_chain *c)
{
	size_t n = c->n + 1;
	certpin_chain_elem *e = realloc(c->elems, n * sizeof(*e));
	char **s;
	int64_t *t;

	if (!e)
		return -1;
	c->elems = e;
	s = realloc(c->subjects, n * sizeof(*s));
	if (!s)
		return -1;
	c->subjects = s;
	t = realloc(c->not_after, n * sizeof(*t));
	if (!t)
		return -1;
	c->not_after = t;
	memset(&c->elems[c->n], 0, sizeof(c->elems[0]));
	c->subjects[c->n] = NULL;
	c->not_after[c->n] = 0;
	c->n = n;
	return 0;
}

int rot_chain_append_unknown(rot_chain *c, const char *what)
{
	if (chain_grow(c) != 0)
		return -1;
	if (what && !(c->subjects[c->n - 1] = strdup(what)))
		return -1;
	return 0;
}

/* Append one certificate: digests, subject, notAfter.  Returns a certpin error code. */
static int append_x509(rot_chain *c, X509 *x)
{
	certpin_item *items = NULL;
	size_t count = 0;
	int rc = cli_items_from_x509(&items, &count, x);

	if (rc != CERTPIN_OK)
		return rc;
	if (count != 1) {
		certpin_items_free(items, count);
		return CERTPIN_E_DECODE;
	}
	if (chain_grow(c) != 0) {
		certpin_items_free(items, count);
		return CERTPIN_E_NOMEM;
	}
	certpin_chain_elem *e = &c->elems[c->n - 1];
	e->flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	memcpy(e->spki_sha256, items[0].spki.digest, CERTPIN_DIGEST_LEN);
	memcpy(e->cert_sha256, items[0].cert.digest, CERTPIN_DIGEST_LEN);
	c->not_after[c->n - 1] = items[0].not_after;
	if (items[0].subject && !(c->subjects[c->n - 1] = strdup(items[0].subject)))
		rc = CERTPIN_E_NOMEM;
	certpin_items_free(items, count);
	return rc;
}

static int append_stack(rot_chain *c, STACK_OF(X509) *sk)
{
	for (int i = 0; i < sk_X509_num(sk); i++) {
		int rc = append_x509(c, sk_X509_value(sk, i));
		if (rc != CERTPIN_OK)
			return rc;
	}
	return CERTPIN_OK;
}

/* Every certificate of a PEM (or single DER) file; NULL with `err` set on failure. */
static STACK_OF(X509) *read_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = NULL;
	BIO *bio = BIO_new_file(path, "rb");
	X509 *x;

	if (!bio) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail;
	}
	sk = sk_X509_new_null();
	if (!sk) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while (sk_X509_num(sk) < ROT_MAX_CHAIN && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (sk_X509_num(sk) == 0) {
		/* maybe a single DER certificate */
		BIO_free(bio);
		ERR_clear_error();
		bio = BIO_new_file(path, "rb");
		if (bio && (x = d2i_X509_bio(bio, NULL)) != NULL && !sk_X509_push(sk, x))
			X509_free(x);
	}
	if (sk_X509_num(sk) == 0) {
		snprintf(err, errlen, "%s: no certificate found (expected a PEM chain, leaf first)", path);
		goto fail;
	}
	BIO_free(bio);
	ERR_clear_error();
	return sk;
fail:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	ERR_clear_error();
	return NULL;
}

/* The subject of `x` for messages ("/CN=..."), or "?" */
static const char *subject_of(X509 *x, char *buf, size_t len)
{
	if (!X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len))
		snprintf(buf, len, "?");
	return buf;
}

/*
 * Is certificate i of `certs` valid at `at`?  0, or CLI_EXIT_REFUSED with
 * `err` set ("PATH: certificate I (SUBJECT) has expired at ...").
 */
static int check_validity(STACK_OF(X509) *certs, int i, const char *path, int64_t at, char *err, size_t errlen)
{
	X509 *x = sk_X509_value(certs, i);
	time_t t = (time_t)at;
	int nb = X509_cmp_time(X509_get0_notBefore(x), &t), na = X509_cmp_time(X509_get0_notAfter(x), &t);
	char s1[256], when[32];

	cli_time_rfc3339(when, at);
	if (nb == 0 || na == 0) {
		snprintf(err, errlen, "%s: certificate %d (%s) has an unreadable validity period", path, i,
			subject_of(x, s1, sizeof(s1)));
		return CLI_EXIT_REFUSED;
	}
	if (nb > 0 || na < 0) {
		snprintf(err, errlen, "%s: certificate %d (%s) %s at %s", path, i, subject_of(x, s1, sizeof(s1)),
			nb > 0 ? "is not yet valid" : "has expired", when);
		return CLI_EXIT_REFUSED;
	}
	return 0;
}

/*
 * What every client checks whatever its trust anchors: the file is the chain
 * leaf first, each certificate issued (and signed) by the next one, the leaf
 * is not a CA and is valid for `host`, and every certificate is valid at `at`.
 * With ROT_LEAF_REPLACED in `flags` the leaf's validity period and host are
 * not checked (a new leaf is issued for the new key).  0, or
 * CLI_EXIT_REFUSED with `err` set.
 */
static int check_chain_shape(STACK_OF(X509) *certs, const char *path, const char *host, int64_t at,
	unsigned int flags, char *err, size_t errlen)
{
	int n = sk_X509_num(certs), rc;
	X509 *leaf = sk_X509_value(certs, 0);
	char s1[256], s2[256];

	for (int i = 0; i + 1 < n; i++) {
		X509 *x = sk_X509_value(certs, i), *issuer = sk_X509_value(certs, i + 1);
		EVP_PKEY *k = X509_get0_pubkey(issuer);

		if (X509_check_issued(issuer, x) != X509_V_OK || !k || X509_verify(x, k) != 1) {
			snprintf(err, errlen, "%s: certificate %d (%s) is not issued by certificate %d (%s): the file "
				"must hold the chain leaf first, each certificate followed by its issuer", path, i,
				subject_of(x, s1, sizeof(s1)), i + 1, subject_of(issuer, s2, sizeof(s2)));
			return CLI_EXIT_REFUSED;
		}
	}
	if (X509_get_extension_flags(leaf) & EXFLAG_CA) {
		snprintf(err, errlen, "%s: the first certificate (%s) is a CA certificate, not a server's leaf "
			"(the file must hold the chain leaf first)", path, subject_of(leaf, s1, sizeof(s1)));
		return CLI_EXIT_REFUSED;
	}
	for (int i = flags & ROT_LEAF_REPLACED ? 1 : 0; i < n; i++)
		if ((rc = check_validity(certs, i, path, at, err, errlen)) != 0)
			return rc;
	if (flags & ROT_LEAF_REPLACED)
		return 0;
	if (cli_is_ip_literal(host) ? X509_check_ip_asc(leaf, host, 0) != 1 :
			X509_check_host(leaf, host, strlen(host), 0, NULL) != 1) {
		snprintf(err, errlen, "%s: the leaf certificate (%s) is not valid for %s", path,
			subject_of(leaf, s1, sizeof(s1)), host);
		return CLI_EXIT_REFUSED;
	}
	return 0;
}

/*
 * The verification context for `certs` (leaf first, the rest untrusted):
 * anchors from `cafile` (NULL: the system store), purpose TLS server, time
 * `at` and `host` unless ROT_LEAF_REPLACED.  0, or an exit status with
 * `err` set (empty: an OpenSSL error).
 */
static int verify_setup(X509_STORE *store, X509_STORE_CTX *ctx, STACK_OF(X509) *untrusted, STACK_OF(X509) *certs,
	const char *cafile, const char *host, int64_t at, unsigned int flags, char *err, size_t errlen)
{
	X509_VERIFY_PARAM *param;

	if (cafile ? X509_STORE_load_file(store, cafile) != 1 : X509_STORE_set_default_paths(store) != 1) {
		if (cafile)
			snprintf(err, errlen, "%s: cannot load CA certificates (--cafile)", cafile);
		else
			snprintf(err, errlen, "cannot load the system trust store (give --cafile)");
		return CLI_EXIT_USAGE;
	}
	for (int i = 1; i < sk_X509_num(certs); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(certs, i)))
			return CLI_EXIT_INTERNAL;
	if (X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0), untrusted) != 1)
		return CLI_EXIT_INTERNAL;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	if (flags & ROT_LEAF_REPLACED)
		/* OpenSSL checks every certificate's time or none: the CA part is checked below */
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
	else
		X509_VERIFY_PARAM_set_time(param, (time_t)at);
	if (!(flags & ROT_LEAF_REPLACED) && (cli_is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 :
			X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)) {
		snprintf(err, errlen, "invalid host name '%s'", host);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/*
 * Why X509_verify_cert() failed.  Without --cafile the app's anchors are not
 * known (a private CA is possible): an issuer missing from the system store
 * leaves the root unknown (ROT_INCOMPLETE, out->unverified set).  With
 * --cafile those are the anchors, and clients refuse (CLI_EXIT_REFUSED).
 */
static int verify_failed(rot_chain *out, X509_STORE_CTX *ctx, STACK_OF(X509) *certs, const char *cafile,
	const char *host, char *err, size_t errlen)
{
	int e = X509_STORE_CTX_get_error(ctx);
	X509 *last = sk_X509_value(certs, sk_X509_num(certs) - 1);
	char s1[256];

	if (!cafile && (e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) &&
	    X509_check_issued(last, last) != X509_V_OK) {
		snprintf(out->unverified, sizeof(out->unverified), "not PKIX-verified: the issuer of %s is neither "
			"in the file nor in the system trust store; give the complete chain and --cafile",
			subject_of(last, s1, sizeof(s1)));
		return ROT_INCOMPLETE;
	}
	snprintf(err, errlen, "the planned chain does not pass PKIX validation for %s against %s: %s", host,
		cafile ? cafile : "the system trust store", X509_verify_cert_error_string(e));
	return CLI_EXIT_REFUSED;
}

/*
 * PKIX-verify `certs` for `host` at `at` against `cafile` (NULL: the system
 * store).  With ROT_LEAF_REPLACED in `flags`, the leaf's validity period and
 * host are not checked, only the CA certificates' (trust anchor included)
 * validity at `at`.  0 with the verified chain appended to `out`; ROT_INCOMPLETE if, with the
 * system store, the chain cannot be completed to a trust anchor because the
 * issuer of its last certificate is nowhere to be found (out->unverified
 * set, nothing appended); else an exit code with `err` set.
 */
static int verify_chain(rot_chain *out, STACK_OF(X509) *certs, const char *cafile, const char *host, int64_t at,
	unsigned int flags, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null(), *verified = NULL;
	int status = CLI_EXIT_INTERNAL, rc;

	if (!store || !ctx || !untrusted) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((status = verify_setup(store, ctx, untrusted, certs, cafile, host, at, flags, err, errlen)) != 0)
		goto out;
	status = CLI_EXIT_INTERNAL;
	if (X509_verify_cert(ctx) != 1) {
		status = verify_failed(out, ctx, certs, cafile, host, err, errlen);
		goto out;
	}
	if (!(verified = X509_STORE_CTX_get1_chain(ctx)))
		goto out;
	for (int i = 1; (flags & ROT_LEAF_REPLACED) && i < sk_X509_num(verified); i++) {
		if ((rc = check_validity(verified, i, "the verified chain", at, err, errlen)) != 0) {
			status = rc;
			goto out;
		}
	}
	rc = append_stack(out, verified);
	if (rc != CERTPIN_OK) {
		snprintf(err, errlen, "cannot decode the verified chain: %s", certpin_strerror(rc));
		goto out;
	}
	out->verified = 1;
	status = 0;
out:
	if (status == CLI_EXIT_INTERNAL && !err[0])
		snprintf(err, errlen, "cannot verify the chain (OpenSSL error)");
	sk_X509_pop_free(verified, X509_free);
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return status;
}

int rot_chain_from_file(rot_chain *out, const char *path, const char *cafile, unsigned int flags, const char *host,
	int64_t at, char *err, size_t errlen)
{
	STACK_OF(X509) *certs;
	int status, rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	certs = read_certs(path, err, errlen);
	if (!certs)
		return CLI_EXIT_USAGE;
	if ((status = check_chain_shape(certs, path, host, at, flags, err, errlen)) != 0) {
		sk_X509_pop_free(certs, X509_free);
		return status;
	}
	if (cafile || (flags & ROT_SYSTEM_STORE)) {
		status = verify_chain(out, certs, cafile, host, at, flags, err, errlen);
		if (status != ROT_INCOMPLETE) {
			sk_X509_pop_free(certs, X509_free);
			if (status != 0)
				rot_chain_free(out);
			return status;
		}
	} else {
		snprintf(out->unverified, sizeof(out->unverified), "not PKIX-verified (no --cafile)");
	}
	rc = append_stack(out, certs);
	if (rc != CERTPIN_OK) {
		snprintf(err, errlen, "%s: %s", path, certpin_strerror(rc));
		sk_X509_pop_free(certs, X509_free);
		rot_chain_free(out);
		return rc == CERTPIN_E_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
	}
	X509 *last = sk_X509_value(certs, sk_X509_num(certs) - 1);
	bool self_issued = X509_check_issued(last, last) == X509_V_OK;
	/*
	 * Not ending in a root: the trust anchor is unknown.  A lone leaf most
	 * likely also lacks its intermediate, so assume one unknown of each.
	 */
	size_t missing = self_issued ? 0 : sk_X509_num(certs) == 1 ? 2 : 1;
	sk_X509_pop_free(certs, X509_free);
	for (size_t i = 0; i < missing; i++) {
		if (rot_chain_append_unknown(out, NULL) != 0) {
			snprintf(err, errlen, "out of memory");
			rot_chain_free(out);
			return CLI_EXIT_INTERNAL;
		}
	}
	return 0;
}

int rot_chain_connect(rot_chain *out, const char *target, const char *name, const char *cafile,
	char *err, size_t errlen)
{
	cli_target t;
	cli_conn conn;
	SSL_CTX *ctx = NULL;
	int status = CLI_EXIT_INTERNAL, rc;

	memset(out, 0, sizeof(*out));
	memset(&conn, 0, sizeof(conn));
	conn.fd = -1;
	err[0] = '\0';
	if (cli_parse_target(&t, target) != 0) {
		snprintf(err, errlen, "invalid address '%s'", target);
		return CLI_EXIT_USAGE;
	}
	ctx = cli_ssl_ctx_new(cafile, &status);
	if (!ctx) {
		snprintf(err, errlen, "cannot set up TLS (see above)");
		return status;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	status = cli_tls_connect(&conn, ctx, &t, name ? name : t.host, name ? name : t.host);
	snprintf(out->address, sizeof(out->address), "%s", conn.address[0] ? conn.address : t.host);
	snprintf(out->port, sizeof(out->port), "%s", t.port);
	if (status != 0) {
		snprintf(err, errlen, "%s: %s", target, conn.error);
		goto done;
	}
	rc = append_stack(out, SSL_get0_verified_chain(conn.ssl));
	if (rc != CERTPIN_OK || out->n == 0) {
		snprintf(err, errlen, "%s: cannot decode the verified chain", target);
		status = CLI_EXIT_TLS;
		goto done;
	}
	out->verified = 1;
	status = 0;
done:
	if (status != 0) {
		char addr[CERTPIN_HOSTNAME_MAX], port[8];

		memcpy(addr, out->address, sizeof(addr));
		memcpy(port, out->port, sizeof(port));
		rot_chain_free(out);
		memcpy(out->address, addr, sizeof(addr));
		memcpy(out->port, port, sizeof(port));
	}
	cli_conn_close(&conn);
	SSL_CTX_free(ctx);
	return status;
}

const char *rot_position(size_t i, size_t n)
{
	if (i == 0)
		return "leaf";
	return i + 1 == n ? "root" : "intermediate";
}

json_t *rot_chain_json(const rot_chain *c)
{
	json_t *a = json_array();
	char s[CERTPIN_PIN_STRLEN], t[32];
	int bad = 0;

	if (!a)
		return NULL;
	for (size_t i = 0; i < c->n && !bad; i++) {
		const certpin_chain_elem *e = &c->elems[i];
		json_t *o = json_object();
		certpin_pin p;

		if (!o || json_array_append_new(a, o) != 0) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(o, "depth", json_integer((json_int_t)i));
		bad |= json_object_set_new(o, "position", json_string(rot_position(i, c->n)));
		bad |= json_object_set_new(o, "known", json_boolean(e->flags != 0));
		if (e->flags & CERTPIN_HAVE_SPKI) {
			p.kind = CERTPIN_PIN_SPKI_SHA256;
			memcpy(p.digest, e->spki_sha256, CERTPIN_DIGEST_LEN);
			cli_pin_string(s, &p, CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(o, "spki_pin", json_string(s));
		} else {
			bad |= json_object_set_new(o, "spki_pin", json_null());
		}
		if (e->flags & CERTPIN_HAVE_CERT) {
			p.kind = CERTPIN_PIN_CERT_SHA256;
			memcpy(p.digest, e->cert_sha256, CERTPIN_DIGEST_LEN);
			cli_pin_string(s, &p, CERTPIN_STYLE_DEFAULT);
			bad |= json_object_set_new(o, "cert_pin", json_string(s));
		} else {
			bad |= json_object_set_new(o, "cert_pin", json_null());
		}
		bad |= json_object_set_new(o, "subject", cli_json_str(c->subjects ? c->subjects[i] : NULL));
		if (c->not_after && c->not_after[i]) {
			cli_time_rfc3339(t, c->not_after[i]);
			bad |= json_object_set_new(o, "not_after", json_string(t));
		} else {
			bad |= json_object_set_new(o, "not_after", json_null());
		}
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int rot_opt_format(certpin_import_format *out, const char *cmd, const char *s)
{
	if (s && certpin_import_format_parse(out, s) != CERTPIN_OK) {
		cli_error("%s: unknown --format '%s' (" CLI_IMPORT_FORMATS ")", cmd, s);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int rot_opt_time(int64_t *out, const char *cmd, const char *s)
{
	if (s && certpin_time_parse(out, s) != CERTPIN_OK) {
		cli_error("%s: invalid --at '%s' (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", cmd, s);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

int rot_opt_uint(unsigned long *out, const char *cmd, const char *opt, const char *s, unsigned long min,
	unsigned long max, const char *unit)
{
	size_t n = s ? strlen(s) : 0;
	int digits = n > 0 && n <= 9 && strspn(s, "0123456789") == n;  /* 9 digits: no overflow */
	unsigned long v = digits ? strtoul(s, NULL, 10) : 0;

	if (!s)
		return 0;
	if (!digits || v < min || v > max) {
		cli_error("%s: invalid %s '%s' (%lu-%lu%s)", cmd, opt, s, min, max, unit);
		return CLI_EXIT_USAGE;
	}
	*out = v;
	return 0;
}
