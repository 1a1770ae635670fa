/* Policy model: rules (host pattern + pinset), built in code or by the JSON loader. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

int certpin__policy_fail(certpin_policy *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return code;
}

int certpin_policy_new(certpin_policy **out)
{
	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return CERTPIN_E_NOMEM;
	atomic_init(&(*out)->refs, 1);
	return CERTPIN_OK;
}

void certpin__policy_freeze(certpin_policy *p)
{
	if (p && !p->frozen) {
		p->serial = certpin__new_serial();
		p->frozen = true;
	}
}

certpin_policy *certpin__policy_ref(certpin_policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

uint64_t certpin__policy_serial(const certpin_policy *p)
{
	return p->serial;
}

/* Changes are refused once the policy is attached (frozen). */
static int check_mutable(certpin_policy *p)
{
	if (!p)
		return CERTPIN_E_INVALID_ARG;
	p->err[0] = '\0';
	if (p->frozen)
		return certpin__policy_fail(p, CERTPIN_E_STATE,
			"the policy is attached and cannot be changed (load or build a new one and attach it)");
	return CERTPIN_OK;
}

static void free_uris(char ***uris, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*uris)[i]);
	free(*uris);
	*uris = NULL;
	*n = 0;
}

void certpin__policy_clear(certpin_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		certpin__rule *r = &p->rules[i];
		for (size_t k = 0; k < r->npins; k++)
			free(r->pins[k].comment);
		free(r->pins);
		free(r->pattern);
		free(r->base);
		free_uris(&r->report_uris, &r->nreport_uris);
	}
	free(p->rules);
	for (size_t i = 0; i < p->nanchor_notes; i++) {
		free(p->anchor_notes[i].pattern);
		free(p->anchor_notes[i].anchors);
	}
	free(p->anchor_notes);
	p->anchor_notes = NULL;
	p->nanchor_notes = 0;
	free(p->default_anchors);
	p->default_anchors = NULL;
	certpin__hostindex_free(&p->index);
	free_uris(&p->report_uris, &p->nreport_uris);
	p->rules = NULL;
	p->nrules = p->caprules = p->nip_rules = 0;
	p->version = 0;
}

void certpin_policy_free(certpin_policy *policy)
{
	if (!policy || atomic_fetch_sub(&policy->refs, 1) != 1)
		return;
	certpin__policy_clear(policy);
	free(policy);
}

const char *certpin_policy_error(const certpin_policy *policy)
{
	return policy ? policy->err : "";
}

int certpin_policy_add_host(certpin_policy *p, const certpin_host_options *o)
{
	char base[CERTPIN_HOSTNAME_MAX], pattern[CERTPIN_HOSTNAME_MAX + 4];
	int wild, is_ip, rc;

	if ((rc = check_mutable(p)) != CERTPIN_OK)
		return rc;
	if (!o || o->version != CERTPIN_HOST_OPTIONS_VERSION)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "host options missing or of an unknown version");
	if (o->mode != CERTPIN_MODE_ENFORCE && o->mode != CERTPIN_MODE_REPORT_ONLY)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "unknown mode %d", (int)o->mode);
	if (o->on_expiry != CERTPIN_EXPIRY_FAIL_OPEN && o->on_expiry != CERTPIN_EXPIRY_FAIL_CLOSED &&
	    o->on_expiry != CERTPIN_EXPIRY_KEEP)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "unknown expiry action %d", (int)o->on_expiry);
	if (o->expires < 0 || o->expires > CERTPIN__TIME_MAX)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "expiry time outside 1970..9999");
	rc = certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, o->pattern, o->include_subdomains);
	if (rc != CERTPIN_OK)
		return certpin__policy_fail(p, rc, "invalid host pattern \"%s\"", o->pattern ? o->pattern : "(null)");
	snprintf(pattern, sizeof(pattern), "%s%s", wild == WILD_ANY ? "**." : wild == WILD_ONE ? "*." : "", base);
	if (certpin__hostindex_find(&p->index, base, strlen(base), wild) >= 0)
		return certpin__policy_fail(p, CERTPIN_E_DUPLICATE, "host \"%s\" is defined more than once", pattern);

	if (p->nrules == p->caprules) {
		size_t ncap = p->caprules ? p->caprules * 2 : 8;
		certpin__rule *nr = realloc(p->rules, ncap * sizeof(*nr));
		if (!nr)
			return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
		p->rules = nr;
		p->caprules = ncap;
	}
	certpin__rule *r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	r->pattern = strdup(pattern);
	r->base = strdup(base);
	if (!r->pattern || !r->base) {
		free(r->pattern);
		free(r->base);
		return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
	}
	r->wildcard = wild;
	r->is_ip = is_ip;
	r->mode = o->mode;
	r->expires = o->expires;
	r->on_expiry = o->on_expiry;
	r->clock_skew = o->clock_skew;
	rc = certpin__hostindex_add(&p->index, r->base, wild, p->nrules);
	if (rc != CERTPIN_OK) {
		free(r->pattern);
		free(r->base);
		return certpin__policy_fail(p, rc, "%s", certpin_strerror(rc));
	}
	p->nrules++;
	p->nip_rules += is_ip != 0;
	return CERTPIN_OK;
}

static long find_rule(const certpin_policy *p, const char *pattern)
{
	char base[CERTPIN_HOSTNAME_MAX];
	int wild, is_ip;

	if (certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, pattern, 0) != CERTPIN_OK)
		return -1;
	return certpin__hostindex_find(&p->index, base, strlen(base), wild);
}

int certpin__policy_add_pin_comment(certpin_policy *p, const char *pattern, const certpin_pin *pin,
	certpin_position position, const char *comment)
{
	int rc;

	if ((rc = check_mutable(p)) != CERTPIN_OK)
		return rc;
	if (!pin || (pin->kind != CERTPIN_PIN_SPKI_SHA256 && pin->kind != CERTPIN_PIN_CERT_SHA256))
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "pin missing or of unknown kind");
	if (position < CERTPIN_POS_ANY || position > CERTPIN_POS_ROOT)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "unknown pin position %d", (int)position);
	long i = find_rule(p, pattern);
	if (i < 0)
		return certpin__policy_fail(p, CERTPIN_E_NOT_FOUND, "no host \"%s\" in the policy",
			pattern ? pattern : "(null)");
	certpin__rule *r = &p->rules[i];
	if (r->npins >= CERTPIN_MAX_PINS_PER_HOST)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "host \"%s\" has more than %d pins", r->pattern,
			CERTPIN_MAX_PINS_PER_HOST);
	for (size_t k = 0; k < r->npins; k++)
		if (certpin_pin_equal(&r->pins[k].pin, pin) && r->pins[k].position == position)
			return certpin__policy_fail(p, CERTPIN_E_DUPLICATE, "pin listed twice for host \"%s\"", r->pattern);
	if (r->npins == r->cappins) {
		size_t ncap = r->cappins ? r->cappins * 2 : 4;
		certpin__pinent *np = realloc(r->pins, ncap * sizeof(*np));
		if (!np)
			return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
		r->pins = np;
		r->cappins = ncap;
	}
	certpin__pinent *e = &r->pins[r->npins];
	e->pin = *pin;
	e->position = position;
	e->comment = NULL;
	if (comment && !(e->comment = strdup(comment)))
		return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
	r->npins++;
	r->kinds |= pin->kind == CERTPIN_PIN_SPKI_SHA256 ? CERTPIN_HAVE_SPKI : CERTPIN_HAVE_CERT;
	r->positions |= 1u << position;
	return CERTPIN_OK;
}

int certpin_policy_add_pin(certpin_policy *p, const char *pattern, const certpin_pin *pin, certpin_position position)
{
	return certpin__policy_add_pin_comment(p, pattern, pin, position, NULL);
}

uint64_t certpin_policy_version(const certpin_policy *p)
{
	return p ? p->version : 0;
}

size_t certpin_policy_host_count(const certpin_policy *p)
{
	return p ? p->nrules : 0;
}

const certpin__rule *certpin__policy_rule(const certpin_policy *p, size_t i)
{
	return i < p->nrules ? &p->rules[i] : NULL;
}

int certpin_policy_host(certpin_host_info *out, const certpin_policy *p, size_t index)
{
	if (!out || !p)
		return CERTPIN_E_INVALID_ARG;
	if (index >= p->nrules)
		return CERTPIN_E_NOT_FOUND;
	const certpin__rule *r = &p->rules[index];
	out->pattern = r->pattern;
	out->name = r->base;
	out->wildcard = r->wildcard;
	out->is_ip = r->is_ip;
	out->mode = r->mode;
	out->expires = r->expires;
	out->on_expiry = r->on_expiry;
	out->clock_skew = r->clock_skew;
	out->pin_count = r->npins;
	return CERTPIN_OK;
}

int certpin_policy_host_pin(certpin_pin *out, certpin_position *position, const certpin_policy *p,
	size_t index, size_t pin_index)
{
	if (!out || !p)
		return CERTPIN_E_INVALID_ARG;
	if (index >= p->nrules || pin_index >= p->rules[index].npins)
		return CERTPIN_E_NOT_FOUND;
	*out = p->rules[index].pins[pin_index].pin;
	if (position)
		*position = p->rules[index].pins[pin_index].position;
	return CERTPIN_OK;
}

long certpin__policy_match(const certpin_policy *p, const char *host, int is_ip)
{
	return certpin__hostindex_match(&p->index, host, is_ip);
}

int certpin_policy_lookup(size_t *index, const certpin_policy *p, const char *hostname)
{
	char host[CERTPIN_HOSTNAME_MAX];
	int is_ip;

	if (!index || !p)
		return CERTPIN_E_INVALID_ARG;
	if (certpin__host_normalize(host, sizeof(host), &is_ip, hostname) != CERTPIN_OK)
		return CERTPIN_E_HOSTNAME;
	long r = certpin__policy_match(p, host, is_ip);
	if (r < 0)
		return CERTPIN_E_NOT_FOUND;
	*index = (size_t)r;
	return CERTPIN_OK;
}

const char *certpin_position_name(certpin_position position)
{
	switch (position) {
	case CERTPIN_POS_ANY: return "any";
	case CERTPIN_POS_LEAF: return "leaf";
	case CERTPIN_POS_INTERMEDIATE: return "intermediate";
	case CERTPIN_POS_ROOT: return "root";
	}
	return "unknown";
}

const char *certpin_mode_name(certpin_mode mode)
{
	switch (mode) {
	case CERTPIN_MODE_ENFORCE: return "enforce";
	case CERTPIN_MODE_REPORT_ONLY: return "report-only";
	}
	return "unknown";
}

const char *certpin_expiry_action_name(certpin_expiry_action action)
{
	switch (action) {
	case CERTPIN_EXPIRY_FAIL_OPEN: return "fail-open";
	case CERTPIN_EXPIRY_FAIL_CLOSED: return "fail-closed";
	case CERTPIN_EXPIRY_KEEP: return "keep";
	}
	return "unknown";
}

const char *certpin_verdict_name(certpin_verdict verdict)
{
	switch (verdict) {
	case CERTPIN_VERDICT_NOT_PINNED: return "not-pinned";
	case CERTPIN_VERDICT_MATCH: return "match";
	case CERTPIN_VERDICT_MISMATCH: return "mismatch";
	case CERTPIN_VERDICT_PINSET_EXPIRED: return "pinset-expired";
	}
	return "unknown";
}

/* An absolute http(s) URI of printable ASCII without spaces, within the length bound. */
static int report_uri_ok(const char *u)
{
	size_t len = strlen(u);
	size_t scheme = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;

	if (!scheme || len <= scheme || len > CERTPIN_REPORT_URI_MAXLEN || u[scheme] == '/')
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

int certpin_policy_set_report_uris(certpin_policy *p, const char *pattern, const char *const *uris, size_t n)
{
	char ***dst;
	size_t *ndst;

	int rc;

	if ((rc = check_mutable(p)) != CERTPIN_OK)
		return rc;
	if ((n && !uris) || n > CERTPIN_REPORT_URIS_MAX)
		return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG, "at most %d report URIs", CERTPIN_REPORT_URIS_MAX);
	for (size_t i = 0; i < n; i++)
		if (!uris[i] || !report_uri_ok(uris[i]))
			return certpin__policy_fail(p, CERTPIN_E_INVALID_ARG,
				"report URI %zu is not an http:// or https:// URI of at most %d printable characters", i,
				CERTPIN_REPORT_URI_MAXLEN);
	if (pattern) {
		long i = find_rule(p, pattern);
		if (i < 0)
			return certpin__policy_fail(p, CERTPIN_E_NOT_FOUND, "no host \"%s\" in the policy", pattern);
		dst = &p->rules[i].report_uris;
		ndst = &p->rules[i].nreport_uris;
	} else {
		dst = &p->report_uris;
		ndst = &p->nreport_uris;
	}
	char **copy = n ? calloc(n, sizeof(*copy)) : NULL;
	if (n && !copy)
		return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!(copy[i] = strdup(uris[i]))) {
			free_uris(&copy, &i);
			return certpin__policy_fail(p, CERTPIN_E_NOMEM, "out of memory");
		}
	}
	free_uris(dst, ndst);
	*dst = copy;
	*ndst = n;
	return CERTPIN_OK;
}

const char *const *certpin_policy_report_uris(const certpin_policy *p, int rule, size_t *n)
{
	size_t dummy;

	if (!n)
		n = &dummy;
	*n = 0;
	if (!p)
		return NULL;
	if (rule >= 0 && (size_t)rule < p->nrules && p->rules[rule].nreport_uris) {
		*n = p->rules[rule].nreport_uris;
		return (const char *const *)p->rules[rule].report_uris;
	}
	*n = p->nreport_uris;
	return p->nreport_uris ? (const char *const *)p->report_uris : NULL;
}
