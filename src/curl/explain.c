/*
 * The host of a transfer's URL, and the one-line reason certpin_curl_result()
 * gives for a verdict: the rule, for a mismatch the pins it wants and the
 * ones the verified chain presented, the PKIX error, the TOFU store's word.
 */
#include "curl_internal.h"

#include <arpa/inet.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cpc_url_host(char *out, size_t outlen, int *is_ip, CURL *easy, certpin_error *err)
{
	char *url = NULL, *host = NULL;
	unsigned char addr[16];
	CURLU *u;
	CURLUcode uc = CURLUE_OUT_OF_MEMORY;
	unsigned int get_flags = 0;

#ifdef CURLU_PUNYCODE
	get_flags |= CURLU_PUNYCODE; /* an IDN host as the A-label name libcurl connects to and verifies */
#endif
	if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || !url || !*url)
		return certpin_error_set(err, CERTPIN_E_HOSTNAME, NULL, 0, "the transfer has no URL");
	if ((u = curl_url()) != NULL &&
	    (uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME)) == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_HOST, &host, get_flags);
	curl_url_cleanup(u);
	if (uc != CURLUE_OK) {
		curl_free(host);
		return certpin_error_set(err, uc == CURLUE_OUT_OF_MEMORY ? CERTPIN_E_NOMEM : CERTPIN_E_HOSTNAME, NULL,
			0, "no host name in the transfer's URL: %s", curl_url_strerror(uc));
	}
	int rc = certpin_hostname_normalize(out, outlen, host); /* an IPv6 literal comes bracketed: normalize drops them */
	if (rc != CERTPIN_OK)
		(void)certpin_error_set(err, rc, NULL, 0, "the URL's host \"%.200s\" is not a valid host name (A-labels) "
			"or IP literal", host);
	curl_free(host);
	*is_ip = rc == CERTPIN_OK && (inet_pton(AF_INET, out, addr) == 1 || inet_pton(AF_INET6, out, addr) == 1);
	return rc;
}

/* ---- the reason ---------------------------------------------------------------------------- */

typedef struct line {
	char *s;
	size_t cap, len;
} line;

/* Append to the line; once full it ends in "...". */
static void add(line *l, const char *fmt, ...) CERTPIN_PRINTF(2, 3);
static void add(line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->len + 1 >= l->cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(l->s + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len >= l->cap) {
		l->len = l->cap - 1;
		memcpy(l->s + l->cap - 4, "...", 4);
	}
}

static void add_pin(line *l, const certpin_pin *pin, const char *where)
{
	char text[CERTPIN_PIN_STRLEN];

	if (certpin_pin_format(text, sizeof(text), pin, CERTPIN_STYLE_DEFAULT) == CERTPIN_OK)
		add(l, "%s%s%s%s", text, where ? " (" : "", where ? where : "", where ? ")" : "");
}

/* The pins of rule `rule`: what the chain should have matched.  Sets *kinds to the pin kinds it uses. */
static void add_rule_pins(line *l, const certpin_policy *p, int rule, unsigned int *kinds)
{
	certpin_host_info info;
	certpin_pin pin;
	certpin_position pos;

	*kinds = 0;
	if (!p || rule < 0 || certpin_policy_host(&info, p, (size_t)rule) != CERTPIN_OK)
		return;
	add(l, "; rule \"%s\" wants ", info.pattern);
	for (size_t i = 0; i < info.pin_count; i++) {
		if (certpin_policy_host_pin(&pin, &pos, p, (size_t)rule, i) != CERTPIN_OK)
			continue;
		*kinds |= pin.kind == CERTPIN_PIN_CERT_SHA256 ? CERTPIN_HAVE_CERT : CERTPIN_HAVE_SPKI;
		add(l, "%s", i ? ", " : "");
		add_pin(l, &pin, pos == CERTPIN_POS_ANY ? NULL : certpin_position_name(pos));
	}
}

/* The verified chain's pins of the kinds the rule uses, leaf first. */
static void add_chain_pins(line *l, const cpc_conn *c, unsigned int kinds)
{
	char where[32];

	if (c->nchain == 0)
		return;
	add(l, "; the verified chain presented ");
	for (size_t i = 0; i < c->nchain; i++) {
		const certpin_chain_elem *e = &c->chain[i];
		snprintf(where, sizeof(where), "%s", i == 0 ? "leaf" : i + 1 == c->nchain ? "root" : "intermediate");
		for (unsigned int k = CERTPIN_HAVE_SPKI; k <= CERTPIN_HAVE_CERT; k <<= 1) {
			if (!(kinds & k) || !(e->flags & k))
				continue;
			certpin_pin pin = { k == CERTPIN_HAVE_SPKI ? CERTPIN_PIN_SPKI_SHA256 : CERTPIN_PIN_CERT_SHA256, { 0 } };
			memcpy(pin.digest, k == CERTPIN_HAVE_SPKI ? e->spki_sha256 : e->cert_sha256, CERTPIN_DIGEST_LEN);
			add(l, "%s", l->s[l->len - 1] == ' ' ? "" : ", ");
			add_pin(l, &pin, where);
		}
	}
}

static void explain_policy(line *l, const cpc_conn *c, const certpin_policy *policy)
{
	const certpin_result *r = &c->v.result;
	char when[CERTPIN_TIME_STRLEN];
	unsigned int kinds = 0;

	if (c->v.code == CERTPIN_E_PKIX) {
		add(l, "%s: the certificate chain failed PKIX validation (X509 error %ld: %s)", r->hostname,
			r->pkix_error, X509_verify_cert_error_string(r->pkix_error));
		return;
	}
	if (r->verdict == CERTPIN_VERDICT_MISMATCH) {
		add(l, "%s: no pin matched the verified chain%s", r->hostname,
			c->v.code == CERTPIN_OK ? " (report-only: allowed)" : "");
		add_rule_pins(l, policy, r->rule, &kinds);
		add_chain_pins(l, c, kinds ? kinds : CERTPIN_HAVE_SPKI);
		return;
	}
	if (r->verdict == CERTPIN_VERDICT_PINSET_EXPIRED) {
		certpin_host_info info;
		bool known = policy && r->rule >= 0 && certpin_policy_host(&info, policy, (size_t)r->rule) == CERTPIN_OK;
		if (!known || certpin_time_format(when, sizeof(when), info.expires) != CERTPIN_OK)
			snprintf(when, sizeof(when), "?");
		add(l, "%s: the pinset of rule \"%s\" expired at %s: %s", r->hostname, known ? info.pattern : "?", when,
			c->v.code == CERTPIN_OK ? "not enforced (fail-open)" : "refused (fail-closed)");
		return;
	}
	add(l, "%s: %s", r->hostname[0] ? r->hostname : "(no host name)", certpin_strerror(c->v.code));
}

void cpc_explain(cpc_conn *c, const certpin_policy *policy)
{
	const certpin_result *r = &c->v.result;
	const certpin_tofu_result *t = &c->v.tofu;
	line l = { c->v.why, sizeof(c->v.why), 0 };
	bool plain = r->verdict == CERTPIN_VERDICT_MATCH || r->verdict == CERTPIN_VERDICT_NOT_PINNED;

	c->v.why[0] = '\0';
	if (c->v.tofu_code != CERTPIN_OK && c->v.tofu_code != CERTPIN_E_STATE) {
		add(&l, "%s: TOFU: %s", t->hostname, t->detail[0] ? t->detail :
			t->verdict == CERTPIN_TOFU_CHANGED ? "the key differs from the one recorded at first use" :
			certpin_strerror(c->v.tofu_code));
		return;
	}
	if (c->v.tofu_code == CERTPIN_OK && t->verdict == CERTPIN_TOFU_CHANGED)
		add(&l, "%s: TOFU: the key differs from the one recorded (report-only: allowed)", t->hostname);
	else if (!(c->v.code == CERTPIN_OK && plain))
		explain_policy(&l, c, policy);
}
