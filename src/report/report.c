/*
 * Failure reports: build the RFC 7469 style JSON report of a pin failure from
 * a policy, a check result and the chains, or from an OpenSSL connection
 * after its handshake.  The parser is in report_json.c, delivery in
 * reporter.c.
 */
#include "report_internal.h"

#include <limits.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

const char *certpin_report_kind_name(certpin_report_kind kind)
{
	switch (kind) {
	case CERTPIN_REPORT_MISMATCH:
		return "mismatch";
	case CERTPIN_REPORT_PINSET_EXPIRED:
		return "pinset-expired";
	case CERTPIN_REPORT_PKIX:
		return "pkix-failure";
	case CERTPIN_REPORT_VALIDATION_ERROR:
		return "validation-error";
	}
	return "unknown";
}

void certpin_report__key(unsigned char key[CERTPIN_DIGEST_LEN], const char *host, unsigned int port,
	certpin_report_kind kind, int enforce, const certpin_chain_elem *chain, size_t n)
{
	static const char label[] = "certpin-report-key-v1";
	size_t hl = strlen(host);
	size_t len = sizeof(label) + hl + 1 + 5 + n * 2 * CERTPIN_DIGEST_LEN;
	unsigned char buf[sizeof(label) + CERTPIN_HOSTNAME_MAX + 1 + 5 +
		CERTPIN_REPORT_CHAIN_MAX * 2 * CERTPIN_DIGEST_LEN];
	unsigned char *p = buf;

	if (hl >= CERTPIN_HOSTNAME_MAX || n > CERTPIN_REPORT_CHAIN_MAX) {
		memset(key, 0, CERTPIN_DIGEST_LEN);
		return;
	}
	memcpy(p, label, sizeof(label)); /* with its NUL */
	p += sizeof(label);
	memcpy(p, host, hl + 1);
	p += hl + 1;
	*p++ = (unsigned char)(port >> 8);
	*p++ = (unsigned char)port;
	*p++ = (unsigned char)kind;
	*p++ = enforce ? 1 : 0;
	*p++ = (unsigned char)n;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, chain[i].spki_sha256, CERTPIN_DIGEST_LEN);
		p += CERTPIN_DIGEST_LEN;
		memcpy(p, chain[i].cert_sha256, CERTPIN_DIGEST_LEN);
		p += CERTPIN_DIGEST_LEN;
	}
	if (EVP_Digest(buf, len, key, NULL, EVP_sha256(), NULL) != 1)
		memset(key, 0, CERTPIN_DIGEST_LEN); /* as for an oversized input: no dedup key */
}

certpin_report_kind certpin_report__kind_for(int rc, const certpin_result *r)
{
	if (rc == CERTPIN_E_PKIX)
		return r->rule >= 0 ? CERTPIN_REPORT_PKIX : 0;
	if (rc != CERTPIN_OK && rc != CERTPIN_E_PIN_MISMATCH && rc != CERTPIN_E_PINSET_EXPIRED)
		return 0;
	if (r->verdict == CERTPIN_VERDICT_MISMATCH)
		return CERTPIN_REPORT_MISMATCH;
	if (r->verdict == CERTPIN_VERDICT_PINSET_EXPIRED)
		return CERTPIN_REPORT_PINSET_EXPIRED;
	return 0;
}

/* "-----BEGIN CERTIFICATE-----\n" + base64 in 64-column lines + "-----END CERTIFICATE-----\n" */
static char *pem_cert(const unsigned char *der, size_t len)
{
	static const char head[] = "-----BEGIN CERTIFICATE-----\n", tail[] = "-----END CERTIFICATE-----\n";
	size_t b64len = (len + 2) / 3 * 4;
	char *b64 = malloc(b64len + 1);
	char *pem = malloc(sizeof(head) + b64len + b64len / 64 + 2 + sizeof(tail));
	char *p;

	/* EVP_EncodeBlock: padded base64 of the whole input, no line breaks */
	if (!b64 || !pem || len > INT_MAX || EVP_EncodeBlock((unsigned char *)b64, der, (int)len) != (int)b64len) {
		free(b64);
		free(pem);
		return NULL;
	}
	p = pem;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (size_t i = 0; i < b64len; i += 64) {
		size_t k = b64len - i < 64 ? b64len - i : 64;
		memcpy(p, b64 + i, k);
		p += k;
		*p++ = '\n';
	}
	memcpy(p, tail, sizeof(tail)); /* with its NUL */
	free(b64);
	return pem;
}

/* "sha256/B64" or "cert-sha256/B64" of a digest. */
static json_t *pin_str(const unsigned char *digest, certpin_pin_kind kind)
{
	certpin_pin pin = { kind, { 0 } };
	char s[CERTPIN_PIN_STRLEN];

	memcpy(pin.digest, digest, CERTPIN_DIGEST_LEN);
	if (certpin_pin_format(s, sizeof(s), &pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
		return NULL;
	return json_string(s);
}

/* Both digests for each certificate: from the DER when given, else as flagged. */
static int chain_digests(certpin_chain_elem *out, const certpin_report_cert *certs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (certs[i].der) {
			int rc = certpin_chain_elem_from_der(&out[i], certs[i].der, certs[i].der_len);
			if (rc != CERTPIN_OK)
				return rc == CERTPIN_E_NOMEM ? rc : CERTPIN_E_DECODE;
		} else {
			unsigned int both = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
			if ((certs[i].digests.flags & both) != both)
				return CERTPIN_E_INVALID_ARG;
			out[i] = certs[i].digests;
		}
	}
	return CERTPIN_OK;
}

/* Add "<name>-certificate-chain" (PEM, unless hashes_only or no DER) and "<name>-chain-sha256". */
static int add_chain(json_t *root, const char *name, const certpin_report_cert *certs,
	const certpin_chain_elem *elems, size_t n, int hashes_only)
{
	char key[64];
	json_t *pems = NULL, *hashes = json_array();
	int with_pem = !hashes_only && n > 0;

	if (!hashes)
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		if (!certs[i].der)
			with_pem = 0;
	if (with_pem && !(pems = json_array()))
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_object();
		if (!h || json_array_append_new(hashes, h) != 0 ||
			json_object_set_new(h, "spki", pin_str(elems[i].spki_sha256, CERTPIN_PIN_SPKI_SHA256)) != 0 ||
			json_object_set_new(h, "cert", pin_str(elems[i].cert_sha256, CERTPIN_PIN_CERT_SHA256)) != 0)
			goto nomem;
		if (with_pem) {
			char *pem = pem_cert(certs[i].der, certs[i].der_len);
			json_t *js = pem ? json_string(pem) : NULL;
			free(pem);
			if (json_array_append_new(pems, js) != 0)
				goto nomem;
		}
	}
	if (pems) {
		snprintf(key, sizeof(key), "%s-certificate-chain", name);
		if (json_object_set_new(root, key, pems) != 0) {
			pems = NULL;
			goto nomem;
		}
		pems = NULL;
	}
	snprintf(key, sizeof(key), "%s-chain-sha256", name);
	if (json_object_set_new(root, key, hashes) != 0)
		return CERTPIN_E_NOMEM;
	return CERTPIN_OK;
nomem:
	json_decref(pems);
	json_decref(hashes);
	return CERTPIN_E_NOMEM;
}

static int known_pins(json_t *root, const certpin_policy *policy, size_t rule, size_t npins)
{
	json_t *arr = json_array();

	if (!arr || json_object_set_new(root, "known-pins", arr) != 0)
		return CERTPIN_E_NOMEM;
	for (size_t k = 0; k < npins && k < CERTPIN_REPORT_PINS_MAX; k++) {
		certpin_pin pin;
		certpin_position pos;
		char b64[CERTPIN_PIN_STRLEN], s[CERTPIN_PIN_STRLEN + 16];
		if (certpin_policy_host_pin(&pin, &pos, policy, rule, k) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		if (certpin_pin_format(b64, sizeof(b64), &pin, CERTPIN_STYLE_BASE64) != CERTPIN_OK)
			return CERTPIN_E_INVALID_ARG;
		snprintf(s, sizeof(s), "%s=\"%s\"", pin.kind == CERTPIN_PIN_CERT_SHA256 ? "cert-sha256" : "pin-sha256", b64);
		if (json_array_append_new(arr, json_string(s)) != 0)
			return CERTPIN_E_NOMEM;
	}
	return CERTPIN_OK;
}

int certpin_report__build(char **out, unsigned char *key, const certpin_report_input *in)
{
	certpin_chain_elem served[CERTPIN_REPORT_CHAIN_MAX], validated[CERTPIN_REPORT_CHAIN_MAX];
	certpin_host_info hi;
	certpin_report_kind kind;
	const certpin_result *r;
	char when[32];
	json_t *root = NULL;
	int rc;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!in || in->version != CERTPIN_REPORT_INPUT_VERSION || !in->policy || !(r = in->result))
		return CERTPIN_E_INVALID_ARG;
	if (in->port == 0 || in->port > 65535 || in->nserved > CERTPIN_REPORT_CHAIN_MAX ||
		in->nvalidated > CERTPIN_REPORT_CHAIN_MAX || in->nserved + in->nvalidated == 0 ||
		(in->nserved && !in->served) || (in->nvalidated && !in->validated))
		return CERTPIN_E_INVALID_ARG;
	if (r->rule < 0 || certpin_policy_host(&hi, in->policy, (size_t)r->rule) != CERTPIN_OK)
		return CERTPIN_E_INVALID_ARG;
	if (!(kind = certpin_report__kind_for(in->rc, r)))
		return CERTPIN_E_INVALID_ARG;
	if (!r->hostname[0] || !memchr(r->hostname, '\0', sizeof(r->hostname)))
		return CERTPIN_E_INVALID_ARG;
	memset(served, 0, sizeof(served));
	memset(validated, 0, sizeof(validated));
	if ((rc = chain_digests(served, in->served, in->nserved)) != CERTPIN_OK ||
		(rc = chain_digests(validated, in->validated, in->nvalidated)) != CERTPIN_OK)
		return rc;

	int enforce = hi.mode == CERTPIN_MODE_ENFORCE;
	rc = CERTPIN_E_NOMEM;
	if (!(root = json_object()))
		goto err;
	certpin_time_format(when, sizeof(when), r->checked_at ? r->checked_at : (int64_t)time(NULL));
	if (json_object_set_new(root, "date-time", json_string(when)) != 0 ||
		json_object_set_new(root, "hostname", json_string(r->hostname)) != 0 ||
		json_object_set_new(root, "port", json_integer(in->port)) != 0 ||
		json_object_set_new(root, "noted-hostname", json_string(hi.name)) != 0 ||
		json_object_set_new(root, "include-subdomains", json_boolean(hi.wildcard != 0)) != 0)
		goto err;
	if ((rc = add_chain(root, "served", in->served, served, in->nserved, in->hashes_only)) != CERTPIN_OK ||
		(rc = add_chain(root, "validated", in->validated, validated, in->nvalidated, in->hashes_only)) != CERTPIN_OK ||
		(rc = known_pins(root, in->policy, (size_t)r->rule, hi.pin_count)) != CERTPIN_OK)
		goto err;
	rc = CERTPIN_E_NOMEM;
	json_t *exp;
	if (hi.expires) {
		certpin_time_format(when, sizeof(when), hi.expires);
		exp = json_string(when);
	} else {
		exp = json_null();
	}
	if (json_object_set_new(root, "effective-expiration-date", exp) != 0 ||
		json_object_set_new(root, "certpin-report-version", json_integer(1)) != 0 ||
		json_object_set_new(root, "policy-version",
			json_integer((json_int_t)(certpin_policy_version(in->policy) & INT64_MAX))) != 0 ||
		json_object_set_new(root, "pattern", json_string(hi.pattern)) != 0 ||
		json_object_set_new(root, "verdict", json_string(certpin_report_kind_name(kind))) != 0 ||
		json_object_set_new(root, "enforce", json_boolean(enforce)) != 0 ||
		json_object_set_new(root, "allowed", json_boolean(kind != CERTPIN_REPORT_PKIX && r->allowed)) != 0)
		goto err;
	if (!(*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		goto err;
	if (key) {
		if (in->nvalidated)
			certpin_report__key(key, r->hostname, in->port, kind, enforce, validated, in->nvalidated);
		else
			certpin_report__key(key, r->hostname, in->port, kind, enforce, served, in->nserved);
	}
	json_decref(root);
	return CERTPIN_OK;
err:
	json_decref(root);
	return rc;
}

int certpin_report_build(char **out, const certpin_report_input *in)
{
	return certpin_report__build(out, NULL, in);
}

/* ---- from an OpenSSL connection ---------------------------------------- */

static void free_certs(certpin_report_cert *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		OPENSSL_free((void *)c[i].der);
}

static int certs_from_stack(certpin_report_cert *out, size_t *n, STACK_OF(X509) *sk)
{
	int cn = sk ? sk_X509_num(sk) : 0;

	*n = 0;
	if (cn > CERTPIN_REPORT_CHAIN_MAX)
		cn = CERTPIN_REPORT_CHAIN_MAX; /* longer chains are cut; the leaf end is what matters */
	for (int i = 0; i < cn; i++) {
		unsigned char *der = NULL;
		int len = i2d_X509(sk_X509_value(sk, i), &der);
		if (len <= 0)
			return CERTPIN_E_CHAIN;
		memset(&out[*n], 0, sizeof(out[*n]));
		out[*n].der = der;
		out[*n].der_len = (size_t)len;
		(*n)++;
	}
	return CERTPIN_OK;
}

static unsigned int peer_port(const SSL *ssl)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = SSL_get_fd(ssl);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int certpin_report__from_ssl(char **out, unsigned char *key, const struct ssl_st *ssl_ptr,
	const certpin_policy *policy, const certpin_report_options *opts)
{
	const SSL *ssl = ssl_ptr;
	certpin_report_options o = CERTPIN_REPORT_OPTIONS_INIT;
	certpin_report_cert served[CERTPIN_REPORT_CHAIN_MAX], validated[CERTPIN_REPORT_CHAIN_MAX];
	size_t nserved = 0, nvalidated = 0;
	certpin_result res;
	certpin_report_kind kind;
	int rc, crc;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!ssl || !policy || (opts && opts->version != CERTPIN_REPORT_OPTIONS_VERSION))
		return CERTPIN_E_INVALID_ARG;
	if (opts)
		o = *opts;
	crc = certpin_ssl_result(&res, ssl);
	if (crc == CERTPIN_E_STATE || crc == CERTPIN_E_INVALID_ARG)
		return crc;
	if (!(kind = certpin_report__kind_for(crc, &res)))
		return CERTPIN_E_NOT_FOUND;
	if (kind == CERTPIN_REPORT_PKIX && !o.report_pkix)
		return CERTPIN_E_NOT_FOUND;
	/* the result's rule index is the attached policy's; the report is about `policy`'s rule for the host */
	size_t idx;
	if (res.rule >= 0)
		res.rule = certpin_policy_lookup(&idx, policy, res.hostname) == CERTPIN_OK && idx <= INT_MAX ?
			(int)idx : -1;
	if (res.rule < 0 && kind != CERTPIN_REPORT_PKIX)
		return CERTPIN_E_NOT_FOUND;

	if ((rc = certs_from_stack(served, &nserved, SSL_get_peer_cert_chain(ssl))) != CERTPIN_OK ||
		(rc = certs_from_stack(validated, &nvalidated, SSL_get0_verified_chain(ssl))) != CERTPIN_OK)
		goto done;
	if (nserved + nvalidated == 0) {
		rc = CERTPIN_E_CHAIN;
		goto done;
	}
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	in.policy = policy;
	in.result = &res;
	in.rc = crc;
	in.port = o.port ? o.port : peer_port(ssl);
	if (in.port == 0)
		in.port = 443;
	in.served = served;
	in.nserved = nserved;
	in.validated = validated;
	in.nvalidated = nvalidated;
	in.hashes_only = o.hashes_only;
	rc = certpin_report__build(out, key, &in);
done:
	free_certs(served, nserved);
	free_certs(validated, nvalidated);
	return rc;
}

int certpin_report_from_ssl(char **out, const struct ssl_st *ssl, const certpin_policy *policy,
	const certpin_report_options *opts)
{
	return certpin_report__from_ssl(out, NULL, ssl, policy, opts);
}
