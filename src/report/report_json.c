/*
 * Failure report parser and validator (certpin_report_parse), used by the
 * collector on untrusted input.  Strict on the fields it knows, ignores the
 * ones it does not; every certificate given as PEM is decoded and its
 * digests recomputed here, never taken from the sender.  The members of RFC
 * 7469 section 3 are read here for every format (report_parse.h).
 */
#include "report_parse.h"

#include <stdarg.h>

typedef certpin_report__parser parser;

/* short names in this file */
#define fail certpin_report__fail
#define get_str certpin_report__get_str
#define get_bool certpin_report__get_bool
#define get_time certpin_report__get_time

int certpin_report__fail(parser *P, const char *key, long index, const char *fmt, ...)
{
	char msg[sizeof(P->err->message)], path[sizeof(P->err->path)] = "";
	va_list ap;

	if (!P->err)
		return CERTPIN_E_REPORT;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key && index >= 0)
		snprintf(path, sizeof(path), "/%s/%ld", key, index);
	else if (key)
		snprintf(path, sizeof(path), "/%s", key);
	return certpin_error_set(P->err, CERTPIN_E_REPORT, path, 0, "%s", msg);
}

int certpin_report__get_str(parser *P, json_t *root, const char *key, int required, const char **out)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v)
		return required ? fail(P, key, -1, "missing \"%s\"", key) : CERTPIN_OK;
	if (!json_is_string(v))
		return fail(P, key, -1, "\"%s\" is not a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(P, key, -1, "\"%s\" contains a NUL character", key);
	*out = json_string_value(v);
	return CERTPIN_OK;
}

int certpin_report__get_bool(parser *P, json_t *root, const char *key, int required, int *out)
{
	json_t *v = json_object_get(root, key);

	if (!v) {
		if (required)
			return fail(P, key, -1, "missing \"%s\"", key);
		return CERTPIN_OK;
	}
	if (!json_is_boolean(v))
		return fail(P, key, -1, "\"%s\" is not a boolean", key);
	*out = json_is_true(v);
	return CERTPIN_OK;
}

static int get_host(parser *P, json_t *root, const char *key, char *out)
{
	const char *s;
	int rc;

	if ((rc = get_str(P, root, key, 1, &s)) != CERTPIN_OK)
		return rc;
	if (strlen(s) >= CERTPIN_HOSTNAME_MAX || certpin_hostname_normalize(out, CERTPIN_HOSTNAME_MAX, s) != CERTPIN_OK)
		return fail(P, key, -1, "\"%s\" is not a valid hostname", key);
	return CERTPIN_OK;
}

int certpin_report__get_time(parser *P, json_t *root, const char *key, int required, int64_t *out)
{
	const char *s;
	int rc;

	if ((rc = get_str(P, root, key, required, &s)) != CERTPIN_OK)
		return rc;
	if (s && (strlen(s) > 40 || certpin_time_parse(out, s) != CERTPIN_OK))
		return fail(P, key, -1, "\"%s\" is not an RFC 3339 date-time", key);
	return CERTPIN_OK;
}

int certpin_report__get_expiry(parser *P, json_t *root, const char *key, int64_t *out)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v))
		return CERTPIN_OK;
	return get_time(P, root, key, 1, out);
}

/*
 * The pin of kind `kind` written as `prefix` and the 44 base64 characters at
 * `b64` (exactly; a digest of 32 bytes), read by certpin_pin_parse() in its
 * "sha256/B64" or "cert-sha256/B64" form: strict, canonical base64.
 */
static int digest_b64(certpin_pin *out, certpin_pin_kind kind, const char *b64)
{
	char s[CERTPIN_PIN_STRLEN];
	certpin_pin pin;

	snprintf(s, sizeof(s), "%s%.44s", kind == CERTPIN_PIN_SPKI_SHA256 ? "sha256/" : "cert-sha256/", b64);
	if (strlen(b64) < 44 || certpin_pin_parse(&pin, s, strlen(s)) != CERTPIN_OK || pin.kind != kind)
		return -1;
	*out = pin;
	return 0;
}

/* "prefix" + base64 of a 32-byte digest. */
static int digest_str(unsigned char out[CERTPIN_DIGEST_LEN], const char *s, const char *prefix,
	certpin_pin_kind kind)
{
	size_t pl = strlen(prefix), len = strlen(s);
	certpin_pin pin;

	if (len <= pl || strncmp(s, prefix, pl) != 0 || len - pl != 44 || digest_b64(&pin, kind, s + pl) != 0)
		return -1;
	memcpy(out, pin.digest, CERTPIN_DIGEST_LEN);
	return 0;
}

/* pin-sha256="B64" or cert-sha256="B64" (RFC 7469 known-pins); also the certpin pin forms. */
static int known_pin(certpin_pin *out, const char *s)
{
	static const char *const forms[] = { "pin-sha256=\"", "cert-sha256=\"" };
	size_t len = strlen(s);

	for (size_t i = 0; i < 2; i++) {
		size_t fl = strlen(forms[i]);
		if (len == fl + 45 && strncmp(s, forms[i], fl) == 0 && s[len - 1] == '"')
			return digest_b64(out, i == 0 ? CERTPIN_PIN_SPKI_SHA256 : CERTPIN_PIN_CERT_SHA256, s + fl);
	}
	return certpin_pin_parse(out, s, len) == CERTPIN_OK ? 0 : -1;
}

static int get_known(parser *P, json_t *root, certpin_report_info *out)
{
	json_t *arr = json_object_get(root, "known-pins"), *v;
	size_t i;

	if (!arr)
		return fail(P, "known-pins", -1, "missing \"known-pins\"");
	if (!json_is_array(arr))
		return fail(P, "known-pins", -1, "\"known-pins\" is not an array");
	if (json_array_size(arr) > CERTPIN_REPORT_PINS_MAX)
		return fail(P, "known-pins", -1, "\"known-pins\" has more than %d entries", CERTPIN_REPORT_PINS_MAX);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
			known_pin(&out->known[i], json_string_value(v)) != 0)
			return fail(P, "known-pins", (long)i, "\"known-pins\"[%zu] is not a pin", i);
	}
	out->nknown = json_array_size(arr);
	return CERTPIN_OK;
}

/* One PEM string holding exactly one certificate. */
static int pem_elem(parser *P, certpin_chain_elem *out, json_t *v, const char *key, size_t i)
{
	certpin_item *items = NULL;
	size_t n = 0;
	const char *s;
	int rc;

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return fail(P, key, (long)i, "\"%s\"[%zu] is not a string", key, i);
	s = json_string_value(v);
	if (strncmp(s, "-----BEGIN CERTIFICATE-----", 27) != 0)
		return fail(P, key, (long)i, "\"%s\"[%zu] is not a PEM certificate", key, i);
	rc = certpin_items_from_data(&items, &n, s, strlen(s));
	if (rc == CERTPIN_E_NOMEM)
		return rc;
	if (rc != CERTPIN_OK || n != 1 || items[0].type != CERTPIN_ITEM_CERT) {
		certpin_items_free(items, n);
		return fail(P, key, (long)i, "\"%s\"[%zu] is not exactly one PEM certificate", key, i);
	}
	memset(out, 0, sizeof(*out));
	out->flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	memcpy(out->spki_sha256, items[0].spki.digest, CERTPIN_DIGEST_LEN);
	memcpy(out->cert_sha256, items[0].cert.digest, CERTPIN_DIGEST_LEN);
	certpin_items_free(items, n);
	return CERTPIN_OK;
}

static int hash_elem(parser *P, certpin_chain_elem *out, json_t *v, const char *key, size_t i)
{
	const char *spki = NULL, *cert = NULL;
	const char *k;
	json_t *m;

	if (!json_is_object(v))
		return fail(P, key, (long)i, "\"%s\"[%zu] is not an object", key, i);
	json_object_foreach(v, k, m) {
		if (!json_is_string(m) || strlen(json_string_value(m)) != json_string_length(m))
			return fail(P, key, (long)i, "\"%s\"[%zu] has a member that is not a string", key, i);
		if (strcmp(k, "spki") == 0)
			spki = json_string_value(m);
		else if (strcmp(k, "cert") == 0)
			cert = json_string_value(m);
		else
			return fail(P, key, (long)i, "\"%s\"[%zu] has an unknown member", key, i);
	}
	memset(out, 0, sizeof(*out));
	if (!spki || digest_str(out->spki_sha256, spki, "sha256/", CERTPIN_PIN_SPKI_SHA256) != 0)
		return fail(P, key, (long)i, "\"%s\"[%zu].spki is missing or not sha256/BASE64", key, i);
	if (!cert || digest_str(out->cert_sha256, cert, "cert-sha256/", CERTPIN_PIN_CERT_SHA256) != 0)
		return fail(P, key, (long)i, "\"%s\"[%zu].cert is missing or not cert-sha256/BASE64", key, i);
	out->flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	return CERTPIN_OK;
}

/* "<name>-certificate-chain" (PEM) and/or "<name>-chain-sha256"; they must agree. */
static int get_chain(parser *P, json_t *root, const char *name, certpin_chain_elem *elems, size_t *n, int *pem)
{
	char pkey[48], hkey[48];
	certpin_chain_elem hashes[CERTPIN_REPORT_CHAIN_MAX];
	json_t *parr, *harr, *v;
	size_t i;
	int rc;

	snprintf(pkey, sizeof(pkey), "%s-certificate-chain", name);
	snprintf(hkey, sizeof(hkey), "%s-chain-sha256", name);
	parr = json_object_get(root, pkey);
	harr = json_object_get(root, hkey);
	*n = 0;
	*pem = 0;
	if (parr && !json_is_array(parr))
		return fail(P, pkey, -1, "\"%s\" is not an array", pkey);
	if (harr && !json_is_array(harr))
		return fail(P, hkey, -1, "\"%s\" is not an array", hkey);
	if ((parr && json_array_size(parr) > CERTPIN_REPORT_CHAIN_MAX) ||
		(harr && json_array_size(harr) > CERTPIN_REPORT_CHAIN_MAX))
		return fail(P, parr && json_array_size(parr) > CERTPIN_REPORT_CHAIN_MAX ? pkey : hkey, -1,
			"\"%s\" chain has more than %d certificates", name, CERTPIN_REPORT_CHAIN_MAX);
	if (parr && harr && json_array_size(parr) != json_array_size(harr))
		return fail(P, hkey, -1, "\"%s\" and \"%s\" differ in length", pkey, hkey);
	if (harr) {
		json_array_foreach(harr, i, v) {
			if ((rc = hash_elem(P, &hashes[i], v, hkey, i)) != CERTPIN_OK)
				return rc;
		}
		memcpy(elems, hashes, json_array_size(harr) * sizeof(hashes[0]));
		*n = json_array_size(harr);
	}
	if (parr) {
		json_array_foreach(parr, i, v) {
			if ((rc = pem_elem(P, &elems[i], v, pkey, i)) != CERTPIN_OK)
				return rc;
			if (harr && (memcmp(elems[i].spki_sha256, hashes[i].spki_sha256, CERTPIN_DIGEST_LEN) != 0 ||
				memcmp(elems[i].cert_sha256, hashes[i].cert_sha256, CERTPIN_DIGEST_LEN) != 0))
				return fail(P, hkey, (long)i, "\"%s\"[%zu] does not match its certificate", hkey, i);
		}
		*n = json_array_size(parr);
		*pem = *n > 0;
	}
	return CERTPIN_OK;
}

int certpin_report__parse_hpkp(parser *P, json_t *root, certpin_report_info *out, unsigned int min_port)
{
	json_t *v;
	int rc;

	if ((rc = get_time(P, root, "date-time", 1, &out->date_time)) != CERTPIN_OK ||
		(rc = get_host(P, root, "hostname", out->hostname)) != CERTPIN_OK ||
		(rc = get_host(P, root, "noted-hostname", out->noted_hostname)) != CERTPIN_OK)
		return rc;
	v = json_object_get(root, "port");
	if (!v)
		return fail(P, "port", -1, "missing \"port\"");
	if (!json_is_integer(v) || json_integer_value(v) < min_port || json_integer_value(v) > 65535)
		return fail(P, "port", -1, "\"port\" is not an integer from %u to 65535", min_port);
	out->port = (unsigned int)json_integer_value(v);
	if ((rc = get_bool(P, root, "include-subdomains", 0, &out->include_subdomains)) != CERTPIN_OK ||
		(rc = get_known(P, root, out)) != CERTPIN_OK ||
		(rc = get_chain(P, root, "served", out->served, &out->nserved, &out->served_pem)) != CERTPIN_OK ||
		(rc = get_chain(P, root, "validated", out->validated, &out->nvalidated, &out->validated_pem)) != CERTPIN_OK)
		return rc;
	if (out->nserved + out->nvalidated == 0)
		return fail(P, NULL, -1, "no certificate chain");
	return CERTPIN_OK;
}

void certpin_report__set_key(certpin_report_info *out)
{
	if (out->nvalidated)
		certpin_report__key(out->key, out->hostname, out->port, out->kind, out->enforce,
			out->validated, out->nvalidated);
	else
		certpin_report__key(out->key, out->hostname, out->port, out->kind, out->enforce,
			out->served, out->nserved);
}

/* "verdict": the kind of failure. */
static int get_verdict(parser *P, json_t *root, certpin_report_info *out)
{
	const char *s;
	int rc;

	if ((rc = get_str(P, root, "verdict", 1, &s)) != CERTPIN_OK)
		return rc;
	if (strcmp(s, "mismatch") == 0)
		out->kind = CERTPIN_REPORT_MISMATCH;
	else if (strcmp(s, "pinset-expired") == 0)
		out->kind = CERTPIN_REPORT_PINSET_EXPIRED;
	else if (strcmp(s, "pkix-failure") == 0)
		out->kind = CERTPIN_REPORT_PKIX;
	else
		return fail(P, "verdict", -1, "unknown \"verdict\"");
	return CERTPIN_OK;
}

int certpin_report__parse_certpin(parser *P, json_t *root, certpin_report_info *out)
{
	const char *s;
	json_t *v;
	int rc;

	if (!json_is_object(root))
		return fail(P, NULL, -1, "report is not a JSON object");
	if ((v = json_object_get(root, "certpin-report-version")) &&
		(!json_is_integer(v) || json_integer_value(v) != 1))
		return fail(P, "certpin-report-version", -1, "unsupported \"certpin-report-version\"");
	if ((rc = certpin_report__parse_hpkp(P, root, out, 1)) != CERTPIN_OK)
		return rc;
	if ((rc = get_bool(P, root, "enforce", 1, &out->enforce)) != CERTPIN_OK)
		return rc;
	out->allowed = -1;
	if ((rc = get_bool(P, root, "allowed", 0, &out->allowed)) != CERTPIN_OK)
		return rc;
	if ((rc = certpin_report__get_expiry(P, root, "effective-expiration-date", &out->expires)) != CERTPIN_OK)
		return rc;
	if ((v = json_object_get(root, "policy-version"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(P, "policy-version", -1, "\"policy-version\" is not a non-negative integer");
		out->policy_version = (uint64_t)json_integer_value(v);
	}
	if ((rc = get_str(P, root, "pattern", 0, &s)) != CERTPIN_OK)
		return rc;
	if (s && strlen(s) >= CERTPIN_HOSTNAME_MAX + 3)
		return fail(P, "pattern", -1, "\"pattern\" is too long");
	if ((rc = get_verdict(P, root, out)) != CERTPIN_OK)
		return rc;
	certpin_report__set_key(out);
	return CERTPIN_OK;
}

json_t *certpin_report__load(parser *P, const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root;

	if (len > CERTPIN_REPORT_MAX_LEN) {
		fail(P, NULL, -1, "report longer than %u bytes", CERTPIN_REPORT_MAX_LEN);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fail(P, NULL, -1, "JSON syntax error at line %d: %s", jerr.line, jerr.text);
		if (P->err) {
			P->err->line = jerr.line > 0 ? (unsigned long)jerr.line : 0;
			P->err->column = jerr.column > 0 ? (unsigned long)jerr.column : 0;
		}
	}
	return root;
}

int certpin_report__begin(parser *P, certpin_report_info *out, const char *json, size_t len, json_t **root)
{
	*root = NULL;
	certpin_error_clear(P->err);
	if (!out)
		return certpin_error_set(P->err, CERTPIN_E_INVALID_ARG, NULL, 0, "no place for the report");
	memset(out, 0, sizeof(*out));
	if (!json)
		return certpin_error_set(P->err, CERTPIN_E_INVALID_ARG, NULL, 0, "no report");
	return (*root = certpin_report__load(P, json, len)) ? CERTPIN_OK : CERTPIN_E_REPORT;
}

int certpin_report_parse(certpin_report_info *out, const char *json, size_t len, certpin_error *err)
{
	parser P = { err };
	json_t *root;
	int rc;

	if ((rc = certpin_report__begin(&P, out, json, len, &root)) != CERTPIN_OK)
		return rc;
	rc = certpin_report__parse_certpin(&P, root, out);
	json_decref(root);
	if (rc != CERTPIN_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}
