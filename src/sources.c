/*
 * The sources of pins behind every TLS adapter: the policy's rules and the
 * TOFU store.  One binding holds them, one check asks both (the policy
 * first), one record keeps the results, one session tag guards resumption.
 * An adapter supplies the names and the verified chain, stores the record
 * and the tag where its stack keeps per-connection and per-session data,
 * and applies the verdict.
 */
#include "internal.h"

#include <stdatomic.h>
#include <string.h>

bool certpin__options_ok(const certpin_ssl_options *opts, unsigned int allowed_flags)
{
	return !opts || ((opts->version == 1 || opts->version == CERTPIN_SSL_OPTIONS_VERSION) &&
		(opts->flags & ~allowed_flags) == 0);
}

void certpin__options_copy(certpin_ssl_options *out, const certpin_ssl_options *opts)
{
	*out = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	if (!opts)
		return;
	/* member by member: a version 1 struct ends after payload */
	out->flags = opts->flags;
	out->on_failure = opts->on_failure;
	out->payload = opts->payload;
	if (opts->version >= 2)
		out->on_result = opts->on_result;
}

certpin__binding *certpin__binding_new(void)
{
	certpin__binding *b = calloc(1, sizeof(*b));

	if (b && pthread_mutex_init(&b->mu, NULL) != 0) {
		free(b);
		return NULL;
	}
	if (b)
		b->opts = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	return b;
}

certpin__binding *certpin__binding_dup(const certpin__binding *b)
{
	certpin__binding *copy = b ? certpin__binding_new() : NULL;

	if (copy) {
		copy->policy = certpin__policy_ref(b->policy);
		copy->tofu = certpin__tofu_ref(b->tofu);
		copy->opts = b->opts;
		copy->app_verify = b->app_verify;
		copy->app_info = b->app_info;
	}
	return copy;
}

void certpin__binding_free(certpin__binding *b)
{
	if (!b)
		return;
	certpin_policy_free(b->policy);
	certpin_tofu_close(b->tofu);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void certpin__binding_swap(certpin__binding *b, certpin_policy *policy, const certpin_ssl_options *opts,
	certpin_tofu *tofu)
{
	certpin_policy *old_policy = NULL;
	certpin_tofu *old_tofu = NULL;

	pthread_mutex_lock(&b->mu);
	if (policy) {
		old_policy = b->policy;
		b->policy = policy;
		certpin__options_copy(&b->opts, opts);
	}
	if (tofu) {
		old_tofu = b->tofu;
		b->tofu = tofu;
	}
	pthread_mutex_unlock(&b->mu);
	certpin_policy_free(old_policy);
	certpin_tofu_close(old_tofu);
}

void certpin__binding_replace(certpin__binding *b, certpin_policy *policy, const certpin_ssl_options *opts,
	certpin_tofu *tofu)
{
	pthread_mutex_lock(&b->mu);
	certpin_policy *old_policy = b->policy;
	certpin_tofu *old_tofu = b->tofu;
	b->policy = policy;
	b->tofu = tofu;
	certpin__options_copy(&b->opts, opts);
	pthread_mutex_unlock(&b->mu);
	certpin_policy_free(old_policy);
	certpin_tofu_close(old_tofu);
}

void certpin__snapshot_take(certpin__snapshot *s, certpin__binding *b)
{
	pthread_mutex_lock(&b->mu);
	s->policy = certpin__policy_ref(b->policy);
	s->tofu = certpin__tofu_ref(b->tofu);
	s->opts = b->opts;
	pthread_mutex_unlock(&b->mu);
}

void certpin__snapshot_drop(certpin__snapshot *s)
{
	certpin_policy_free(s->policy);
	certpin_tofu_close(s->tofu);
	s->policy = NULL;
	s->tofu = NULL;
}

/* ---- session tags ----------------------------------------------------------- */

static bool tag_has(const certpin__tag *t, uint64_t serial, const char *host)
{
	if (!t || strcmp(t->host, host) != 0)
		return false;
	for (size_t i = 0; i < CERTPIN__TAG_SERIALS; i++)
		if (t->serials[i] == serial)
			return true;
	return false;
}

void certpin__tag_add(certpin__tag *t, uint64_t serial, const char *host)
{
	if (strcmp(t->host, host) != 0) {
		memset(t, 0, sizeof(*t));
		size_t n = strnlen(host, sizeof(t->host) - 1);
		memcpy(t->host, host, n);
		t->host[n] = '\0';
	}
	if (tag_has(t, serial, host))
		return;
	for (size_t i = CERTPIN__TAG_SERIALS - 1; i > 0; i--)
		t->serials[i] = t->serials[i - 1];
	t->serials[0] = serial;
}

void certpin__tag_merge(certpin__tag *t, const certpin__tag *passed)
{
	for (size_t i = CERTPIN__TAG_SERIALS; i-- > 0;)
		if (passed->serials[i])
			certpin__tag_add(t, passed->serials[i], passed->host);
}

bool certpin__resume_ok(const certpin__snapshot *s, const char *name, const certpin__tag *t)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	int is_ip;
	bool named = name && certpin__host_normalize(norm, sizeof(norm), &is_ip, name) == CERTPIN_OK;

	if (s->policy && s->policy->nrules > 0) {
		if (!named)
			return false; /* the check would not know which pins apply: no resumption */
		if (certpin__policy_match(s->policy, norm, is_ip) >= 0 &&
		    !tag_has(t, certpin__policy_serial(s->policy), norm))
			return false;
	}
	return !s->tofu || (named && tag_has(t, certpin__tofu_serial(s->tofu), norm));
}

/* ---- the check ---------------------------------------------------------------- */

/* The TOFU store's decision for the first name, recorded; true if it allows the connection. */
static bool tofu_check(certpin__record *rec, const certpin__snapshot *s, const certpin__check *chk)
{
	int rc;

	if (!chk->pkix_ok)
		rc = certpin__tofu_refuse(&rec->tofu, s->tofu, CERTPIN_E_PKIX, chk->now, "the chain failed PKIX "
			"validation, which the application's verify callback accepted; TOFU needs a verified chain");
	else if (chk->nnames == 0)
		rc = certpin__tofu_refuse(&rec->tofu, s->tofu, CERTPIN_E_HOSTNAME, chk->now,
			"no host name set on the connection (SSL_set1_host)");
	else
		rc = certpin__tofu_decide(&rec->tofu, s->tofu, chk->names[0], chk->chain, chk->now);
	rec->tofu_rc = rc;
	rec->have_tofu = true;
	memcpy(rec->tofu_id, rec->id, sizeof(rec->id));
	return rc == CERTPIN_OK && rec->tofu.allowed;
}

/* The policy's decision, recorded; *checked: the policy pins the host. True if it allows the connection. */
static bool policy_check(certpin__record *rec, const certpin__snapshot *s, const certpin__check *chk, bool *checked)
{
	bool unpinned;

	rec->policy_rc = certpin__decide(&rec->policy, s->policy, chk, &unpinned);
	rec->have_policy = true;
	memcpy(rec->policy_id, rec->id, sizeof(rec->id));
	*checked = !unpinned;
	return unpinned || (rec->policy_rc == CERTPIN_OK && rec->policy.allowed);
}

/* The options' result callback with what this check recorded (an earlier handshake's record is not this one's). */
static void report_result(const certpin__record *rec, const certpin__check *chk)
{
	bool pol = rec->have_policy && memcmp(rec->policy_id, rec->id, sizeof(rec->id)) == 0;
	bool tofu = rec->have_tofu && memcmp(rec->tofu_id, rec->id, sizeof(rec->id)) == 0;
	/* only a chain the stack verified is shown (pin-only: the leaf the handshake proved) */
	const certpin_chain_elem *chain = chk->pkix_ok && chk->chain ? certpin__chain_all(chk->chain) : NULL;

	chk->on_result(pol ? rec->policy_rc : CERTPIN_E_STATE, pol ? &rec->policy : NULL,
		tofu ? rec->tofu_rc : CERTPIN_E_STATE, tofu ? &rec->tofu : NULL, chain, chain ? chk->chain->n : 0,
		chk->payload);
}

static int sources_decide(certpin__record *rec, certpin__tag *tag, const certpin__snapshot *s,
	const certpin__check *chk, bool pkix_failed)
{
	bool pinned = false, policy_ok = true, tofu_ok = true;

	memset(tag, 0, sizeof(*tag));
	if (chk->pin_only && (s->tofu || chk->composed)) {
		certpin__result_init(&rec->policy, chk->now);
		rec->policy_rc = CERTPIN_E_INVALID_ARG;
		rec->have_policy = true;
		memcpy(rec->policy_id, rec->id, sizeof(rec->id));
		return 0;
	}
	if (s->tofu && pkix_failed)
		return 0; /* every host is subject to TOFU, which cannot vouch for a chain the stack refused */
	if (s->policy)
		policy_ok = policy_check(rec, s, chk, &pinned);
	/* a chain the policy refused is no first use: recording it would lock the real key out */
	if (s->tofu && policy_ok)
		tofu_ok = tofu_check(rec, s, chk);
	if (policy_ok && !tofu_ok && s->policy) {
		/* the connection's record says refused: with the store's code, the policy's own verdict kept */
		rec->policy_rc = rec->tofu_rc != CERTPIN_OK ? rec->tofu_rc : CERTPIN_E_PIN_MISMATCH;
		rec->policy.allowed = 0;
	}
	if (!policy_ok || !tofu_ok)
		return 0;
	if (pinned)
		certpin__tag_add(tag, certpin__policy_serial(s->policy), rec->policy.hostname);
	if (s->tofu)
		certpin__tag_add(tag, certpin__tofu_serial(s->tofu), rec->tofu.hostname);
	return pinned || s->tofu ? 1 : -1;
}

int certpin__sources_check(certpin__record *rec, certpin__tag *tag, const certpin__snapshot *s,
	const certpin__check *chk, bool pkix_failed)
{
	int d = sources_decide(rec, tag, s, chk, pkix_failed);

	if (chk->on_result)
		report_result(rec, chk);
	return d;
}

static bool is_zero(const unsigned char *id)
{
	unsigned char any = 0;

	for (size_t i = 0; i < CERTPIN__HANDSHAKE_ID_LEN; i++)
		any |= id[i];
	return any == 0;
}

int certpin__record_policy(certpin_result *out, const certpin__record *rec, const unsigned char *id)
{
	if (!rec || !rec->have_policy || is_zero(id) || memcmp(rec->policy_id, id, CERTPIN__HANDSHAKE_ID_LEN) != 0)
		return CERTPIN_E_STATE;
	if (out)
		*out = rec->policy;
	return rec->policy_rc;
}

int certpin__record_tofu(certpin_tofu_result *out, const certpin__record *rec, const unsigned char *id)
{
	if (!rec || !rec->have_tofu || is_zero(id) || memcmp(rec->tofu_id, id, CERTPIN__HANDSHAKE_ID_LEN) != 0)
		return CERTPIN_E_STATE;
	if (out)
		*out = rec->tofu;
	return rec->tofu_rc;
}
