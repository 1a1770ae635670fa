/*
 * The policy model: rules (host pattern + pinset), built in code or by the
 * JSON loader, then frozen.  A policy is a few flat arrays -- rules, pins,
 * one block of strings, the host index -- addressed by offsets, so that a
 * million-host policy costs well under 200 bytes a host.  It is
 * reference-counted: each attachment holds a reference, and once frozen it
 * never changes, so any number of threads may read it.
 */
#include "internal.h"

#include <pthread.h>

#include <stdio.h>
#include <string.h>

#define PINS_MAX UINT16_MAX

int certpin_policy_new(certpin_policy **out)
{
	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = calloc(1, sizeof(**out));
	if (!*out || !((*out)->strings = calloc(1, 64))) {
		free(*out);
		*out = NULL;
		return CERTPIN_E_NOMEM;
	}
	atomic_init(&(*out)->refs, 1);
	(*out)->nstrings = 1; /* strings[0] = "": offset 0 means none */
	(*out)->capstrings = 64;
	return CERTPIN_OK;
}

static void uriset_free(certpin__uriset *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->uris[i]);
	free(u->uris);
	u->uris = NULL;
	u->n = 0;
}

/* Free what the policy holds (not the handle). */
static void release(certpin_policy *p)
{
	for (size_t i = 0; i < p->nuri_sets; i++)
		uriset_free(&p->uri_sets[i]);
	uriset_free(&p->uris);
	free(p->uri_sets);
	free(p->rules);
	free(p->pins);
	free(p->comments);
	free(p->strings);
	certpin__hostindex_free(&p->index);
}

void certpin_policy_free(certpin_policy *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	release(p);
	free(p);
}

uint64_t certpin__new_serial(void)
{
	static atomic_uint_fast64_t next = 1;

	return (uint64_t)atomic_fetch_add(&next, 1);
}

certpin_policy *certpin__policy_ref(certpin_policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

certpin_policy *certpin_policy_ref(certpin_policy *p)
{
	certpin__policy_freeze(p);
	return certpin__policy_ref(p);
}

uint64_t certpin__policy_serial(const certpin_policy *p)
{
	return p->serial;
}

/* ---- the arrays ----------------------------------------------------------- */

/* Make room for `more` elements of `size` in *v (n used, *cap allocated). */
static bool reserve(void **v, size_t *cap, size_t n, size_t more, size_t size)
{
	if (n + more <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < n + more)
		ncap *= 2;
	void *nv = realloc(*v, ncap * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* Copy `s` into the string block; its offset, or 0 if out of memory (or too large). */
static uint32_t add_string(certpin_policy *p, const char *s)
{
	size_t len = strlen(s) + 1;

	if (p->nstrings + len > UINT32_MAX || !reserve((void **)&p->strings, &p->capstrings, p->nstrings, len, 1))
		return 0;
	memcpy(p->strings + p->nstrings, s, len);
	p->nstrings += len;
	return (uint32_t)(p->nstrings - len);
}

static const char *base_of(const void *ctx, size_t rule)
{
	const certpin_policy *p = ctx;

	return certpin__rule_base(p, &p->rules[rule]);
}

/* Shrink `*v` to n elements (a frozen policy does not grow); an empty array keeps one, never NULL. */
static void shrink(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv = realloc(*v, (n ? n : 1) * size);

	if (nv) {
		*v = nv;
		*cap = n ? n : 1;
	}
}

/* Lay every rule's pins out in rule order, without the room building left. */
static void compact_pins(certpin_policy *p)
{
	size_t used = 0;

	for (size_t i = 0; i < p->nrules; i++)
		used += p->rules[i].npins;
	if (used == p->npins)
		return;
	certpin__pinent *np = malloc(used ? used * sizeof(*np) : 1);
	uint32_t *nc = p->comments ? calloc(used ? used : 1, sizeof(*nc)) : NULL;
	if (!np || (p->comments && !nc)) {
		free(np);
		free(nc);
		return; /* out of memory: the pins stay as they are, as good */
	}
	size_t o = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		certpin__rule *r = &p->rules[i];
		memcpy(np + o, p->pins + r->pins, r->npins * sizeof(*np));
		if (nc)
			memcpy(nc + o, p->comments + r->pins, r->npins * sizeof(*nc));
		r->pins = (uint32_t)o;
		r->cappins = r->npins;
		o += r->npins;
	}
	free(p->pins);
	free(p->comments);
	p->pins = np;
	p->comments = nc;
	p->npins = p->cappins = used;
}

/*
 * Freezing rearranges the arrays, and threads that attach the same policy
 * at once each freeze it first: one lock for every freeze makes one of them
 * do it and the others see it done (and, through the lock, the arrays it
 * wrote).  A freeze happens once per attachment, never per handshake check.
 */
static pthread_mutex_t freeze_mu = PTHREAD_MUTEX_INITIALIZER;

static void freeze_locked(certpin_policy *p)
{
	compact_pins(p);
	shrink((void **)&p->rules, &p->caprules, p->nrules, sizeof(*p->rules));
	shrink((void **)&p->pins, &p->cappins, p->npins, sizeof(*p->pins));
	if (p->comments) {
		uint32_t *nc = realloc(p->comments, (p->npins ? p->npins : 1) * sizeof(*nc));
		if (nc)
			p->comments = nc;
	}
	shrink((void **)&p->strings, &p->capstrings, p->nstrings, 1);
	certpin__hostindex_compact(&p->index, base_of, p);
	p->serial = certpin__new_serial();
	p->frozen = true;
}

void certpin__policy_freeze(certpin_policy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&freeze_mu);
	if (!p->frozen)
		freeze_locked(p);
	pthread_mutex_unlock(&freeze_mu);
}

void certpin_policy_freeze(certpin_policy *p)
{
	certpin__policy_freeze(p);
}

/* Changes are refused once the policy is frozen. */
static int check_mutable(certpin_policy *p, certpin_error *err)
{
	if (!p)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no policy");
	if (p->frozen)
		return certpin__fail(err, CERTPIN_E_STATE, NULL, 0,
			"the policy is frozen (loaded or attached) and cannot be changed: build a new one");
	return CERTPIN_OK;
}

/* ---- building ------------------------------------------------------------- */

static int check_host_options(const certpin_host_options *o, certpin_error *err)
{
	if (!o || o->version != CERTPIN_HOST_OPTIONS_VERSION)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "host options missing or of an unknown version");
	if (o->mode != CERTPIN_MODE_ENFORCE && o->mode != CERTPIN_MODE_REPORT_ONLY)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown mode %d", (int)o->mode);
	if (o->on_expiry != CERTPIN_EXPIRY_FAIL_OPEN && o->on_expiry != CERTPIN_EXPIRY_FAIL_CLOSED &&
	    o->on_expiry != CERTPIN_EXPIRY_KEEP)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown expiry action %d", (int)o->on_expiry);
	if (o->expires < 0 || o->expires > CERTPIN__TIME_MAX)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "expiry time outside 1970..9999");
	return CERTPIN_OK;
}

int certpin_policy_add_host(certpin_policy *p, const certpin_host_options *o, certpin_error *err)
{
	char base[CERTPIN_HOSTNAME_MAX], pattern[CERTPIN_HOSTNAME_MAX + 4];
	int wild, is_ip, rc;

	if ((rc = check_mutable(p, err)) != CERTPIN_OK || (rc = check_host_options(o, err)) != CERTPIN_OK)
		return rc;
	rc = certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, o->pattern, o->include_subdomains);
	if (rc != CERTPIN_OK)
		return certpin__fail(err, rc, NULL, 0, "invalid host pattern \"%.300s\"", o->pattern ? o->pattern : "(null)");
	const char *prefix = wild == WILD_ANY ? "**." : wild == WILD_ONE ? "*." : "";
	size_t plen = strlen(prefix), blen = strlen(base);
	memcpy(pattern, prefix, plen);
	memcpy(pattern + plen, base, blen + 1);
	if (p->nrules >= UINT32_MAX - 1 || !reserve((void **)&p->rules, &p->caprules, p->nrules, 1, sizeof(*p->rules)))
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	certpin__rule *r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	if (!(r->pattern = add_string(p, pattern)))
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	r->base = (uint8_t)strlen(prefix);
	r->wildcard = (uint8_t)wild;
	r->is_ip = (uint8_t)is_ip;
	r->mode = (uint8_t)o->mode;
	r->expires = o->expires;
	r->on_expiry = (uint8_t)o->on_expiry;
	r->clock_skew = o->clock_skew;
	r->pins = (uint32_t)p->npins;
	/* the index refuses a duplicate in the same probe that finds the free slot */
	if ((rc = certpin__hostindex_add(&p->index, base, blen, wild, p->nrules, base_of, p)) != CERTPIN_OK) {
		p->nstrings = r->pattern; /* take the pattern back: the rule is not added */
		if (rc == CERTPIN_E_DUPLICATE)
			return certpin__fail(err, rc, NULL, 0, "host \"%s\" is defined more than once", pattern);
		return certpin__fail(err, rc, NULL, 0, "%s", certpin_strerror(rc));
	}
	p->nrules++;
	p->nip_rules += is_ip != 0;
	return CERTPIN_OK;
}

long certpin__policy_find(const certpin_policy *p, const char *base, size_t len, int wildcard)
{
	return certpin__hostindex_find(&p->index, base, len, wildcard, base_of, p);
}

static long find_rule(const certpin_policy *p, const char *pattern)
{
	char base[CERTPIN_HOSTNAME_MAX];
	int wild, is_ip;

	if (certpin__pattern_parse(base, sizeof(base), &wild, &is_ip, pattern, 0) != CERTPIN_OK)
		return -1;
	return certpin__policy_find(p, base, strlen(base), wild);
}

int certpin_policy_find(size_t *index, const certpin_policy *p, const char *pattern)
{
	if (!index || !p || !pattern)
		return CERTPIN_E_INVALID_ARG;
	long i = find_rule(p, pattern);
	if (i < 0)
		return CERTPIN_E_NOT_FOUND;
	*index = (size_t)i;
	return CERTPIN_OK;
}

/* Room for `more` pins at the end of the pin array (and of the comments, if any). */
static bool grow_pins(certpin_policy *p, size_t more)
{
	size_t old = p->cappins;

	if (!reserve((void **)&p->pins, &p->cappins, p->npins, more, sizeof(*p->pins)))
		return false;
	if (p->comments && p->cappins > old) {
		uint32_t *nc = realloc(p->comments, p->cappins * sizeof(*nc));
		if (!nc)
			return false;
		memset(nc + old, 0, (p->cappins - old) * sizeof(*nc));
		p->comments = nc;
	}
	return true;
}

/* Room for one more pin of rule r, at the end of its pins (moved to the end of the array if need be). */
static bool room_for_pin(certpin_policy *p, certpin__rule *r)
{
	if (r->npins < r->cappins)
		return true;
	if (r->pins + r->npins == p->npins) { /* the last rule's pins: grow in place */
		if (!grow_pins(p, 1))
			return false;
		r->cappins++;
		p->npins++;
		return true;
	}
	size_t room = r->npins ? 2u * r->npins : 4u;
	if (room > PINS_MAX)
		room = PINS_MAX;
	if (!grow_pins(p, room))
		return false;
	memmove(p->pins + p->npins, p->pins + r->pins, r->npins * sizeof(*p->pins));
	if (p->comments)
		memmove(p->comments + p->npins, p->comments + r->pins, r->npins * sizeof(*p->comments));
	r->pins = (uint32_t)p->npins;
	r->cappins = (uint16_t)room;
	p->npins += room;
	return true;
}

/* Keep a comment for pin `k` (comments are rare: their array is made on first use). */
static bool set_comment(certpin_policy *p, size_t k, const char *comment)
{
	if (!p->comments && !(p->comments = calloc(p->cappins ? p->cappins : 1, sizeof(*p->comments))))
		return false;
	uint32_t off = add_string(p, comment);
	p->comments[k] = off;
	return off != 0;
}

int certpin__policy_add_pin_at(certpin_policy *p, size_t rule, const certpin_pin *pin, certpin_position position,
	const char *comment, certpin_error *err)
{
	int rc;

	if ((rc = check_mutable(p, err)) != CERTPIN_OK)
		return rc;
	if (!pin || (pin->kind != CERTPIN_PIN_SPKI_SHA256 && pin->kind != CERTPIN_PIN_CERT_SHA256))
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "pin missing or of unknown kind");
	if (position < CERTPIN_POS_ANY || position > CERTPIN_POS_ROOT)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown pin position %d", (int)position);
	if (rule >= p->nrules)
		return certpin__fail(err, CERTPIN_E_NOT_FOUND, NULL, 0, "no rule %zu in the policy", rule);
	certpin__rule *r = &p->rules[rule];
	if (r->npins >= CERTPIN_MAX_PINS_PER_HOST)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "host \"%s\" has more than %d pins",
			certpin__rule_pattern(p, r), CERTPIN_MAX_PINS_PER_HOST);
	for (size_t k = 0; k < r->npins; k++) {
		const certpin__pinent *e = &p->pins[r->pins + k];
		if (e->kind == pin->kind && e->position == position && memcmp(e->digest, pin->digest, CERTPIN_DIGEST_LEN) == 0)
			return certpin__fail(err, CERTPIN_E_DUPLICATE, NULL, 0, "pin listed twice for host \"%s\"",
				certpin__rule_pattern(p, r));
	}
	if (!room_for_pin(p, r))
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	size_t k = r->pins + r->npins;
	memcpy(p->pins[k].digest, pin->digest, CERTPIN_DIGEST_LEN);
	p->pins[k].kind = (uint8_t)pin->kind;
	p->pins[k].position = (uint8_t)position;
	if (p->comments)
		p->comments[k] = 0;
	if (comment && *comment && !set_comment(p, k, comment))
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	r->npins++;
	return CERTPIN_OK;
}

int certpin_policy_add_pin(certpin_policy *p, const char *pattern, const certpin_pin *pin, certpin_position position,
	const char *comment, certpin_error *err)
{
	int rc;

	if ((rc = check_mutable(p, err)) != CERTPIN_OK)
		return rc;
	long i = pattern ? find_rule(p, pattern) : -1;
	if (i < 0)
		return certpin__fail(err, CERTPIN_E_NOT_FOUND, NULL, 0, "no host \"%.300s\" in the policy",
			pattern ? pattern : "(null)");
	return certpin__policy_add_pin_at(p, (size_t)i, pin, position, comment, err);
}

int certpin__policy_reserve(certpin_policy *p, size_t rules, size_t pins)
{
	if (!reserve((void **)&p->rules, &p->caprules, p->nrules, rules, sizeof(*p->rules)) || !grow_pins(p, pins))
		return CERTPIN_E_NOMEM;
	return certpin__hostindex_reserve(&p->index, rules, base_of, p);
}

/* ---- reading ---------------------------------------------------------------- */

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

const certpin__pinent *certpin__rule_pins(const certpin_policy *p, const certpin__rule *r)
{
	return r->npins ? p->pins + r->pins : NULL; /* a policy built with no pin has no array at all */
}

const char *certpin__rule_pattern(const certpin_policy *p, const certpin__rule *r)
{
	return p->strings + r->pattern;
}

const char *certpin__rule_base(const certpin_policy *p, const certpin__rule *r)
{
	return p->strings + r->pattern + r->base;
}

certpin_pin certpin__pin_of(const certpin__pinent *e)
{
	certpin_pin pin;

	pin.kind = (certpin_pin_kind)e->kind;
	memcpy(pin.digest, e->digest, CERTPIN_DIGEST_LEN);
	return pin;
}

int certpin_policy_host(certpin_host_info *out, const certpin_policy *p, size_t index)
{
	if (!out || !p)
		return CERTPIN_E_INVALID_ARG;
	if (index >= p->nrules)
		return CERTPIN_E_NOT_FOUND;
	const certpin__rule *r = &p->rules[index];
	out->pattern = certpin__rule_pattern(p, r);
	out->name = certpin__rule_base(p, r);
	out->wildcard = r->wildcard;
	out->is_ip = r->is_ip;
	out->mode = (certpin_mode)r->mode;
	out->expires = r->expires;
	out->on_expiry = (certpin_expiry_action)r->on_expiry;
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
	const certpin__pinent *e = &p->pins[p->rules[index].pins + pin_index];
	*out = certpin__pin_of(e);
	if (position)
		*position = (certpin_position)e->position;
	return CERTPIN_OK;
}

const char *certpin_policy_host_pin_comment(const certpin_policy *p, size_t index, size_t pin_index)
{
	if (!p || index >= p->nrules || pin_index >= p->rules[index].npins || !p->comments)
		return NULL;
	uint32_t off = p->comments[p->rules[index].pins + pin_index];
	return off ? p->strings + off : NULL;
}

bool certpin__policy_ip_rules(const certpin_policy *p)
{
	return p && p->nip_rules > 0;
}

long certpin__policy_match(const certpin_policy *p, const char *host, int is_ip)
{
	if (is_ip && p->nip_rules == 0)
		return -1; /* no rule for an IP address: none can match */
	return certpin__hostindex_match(&p->index, host, is_ip, base_of, p);
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

/* ---- report URIs ---------------------------------------------------------------- */

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

/* The set a rule's URIs go to (made on first use), or the policy's; NULL if out of memory. */
static certpin__uriset *uriset_for(certpin_policy *p, certpin__rule *r)
{
	if (!r)
		return &p->uris;
	if (r->uris)
		return &p->uri_sets[r->uris - 1];
	certpin__uriset *ns = realloc(p->uri_sets, (p->nuri_sets + 1) * sizeof(*ns));
	if (!ns)
		return NULL;
	p->uri_sets = ns;
	memset(&ns[p->nuri_sets], 0, sizeof(ns[0]));
	r->uris = (uint32_t)++p->nuri_sets;
	return &ns[p->nuri_sets - 1];
}

int certpin_policy_set_report_uris(certpin_policy *p, const char *pattern, const char *const *uris, size_t n,
	certpin_error *err)
{
	int rc;

	if ((rc = check_mutable(p, err)) != CERTPIN_OK)
		return rc;
	if ((n && !uris) || n > CERTPIN_REPORT_URIS_MAX)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "at most %d report URIs", CERTPIN_REPORT_URIS_MAX);
	for (size_t i = 0; i < n; i++)
		if (!uris[i] || !report_uri_ok(uris[i]))
			return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0,
				"report URI %zu is not an http:// or https:// URI of at most %d printable characters", i,
				CERTPIN_REPORT_URI_MAXLEN);
	long ri = pattern ? find_rule(p, pattern) : -1;
	if (pattern && ri < 0)
		return certpin__fail(err, CERTPIN_E_NOT_FOUND, NULL, 0, "no host \"%.300s\" in the policy", pattern);
	char **copy = n ? calloc(n, sizeof(*copy)) : NULL;
	if (n && !copy)
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!(copy[i] = strdup(uris[i]))) {
			certpin__uriset tmp = { copy, i };
			uriset_free(&tmp);
			return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
		}
	}
	certpin__uriset *dst = uriset_for(p, ri >= 0 ? &p->rules[ri] : NULL);
	if (!dst) {
		certpin__uriset tmp = { copy, n };
		uriset_free(&tmp);
		return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "out of memory");
	}
	uriset_free(dst);
	dst->uris = copy;
	dst->n = n;
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
	if (rule >= 0 && (size_t)rule < p->nrules && p->rules[rule].uris) {
		const certpin__uriset *u = &p->uri_sets[p->rules[rule].uris - 1];
		if (u->n) {
			*n = u->n;
			return (const char *const *)u->uris;
		}
	}
	*n = p->uris.n;
	return p->uris.n ? (const char *const *)p->uris.uris : NULL;
}

/* ---- names ------------------------------------------------------------------- */

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
