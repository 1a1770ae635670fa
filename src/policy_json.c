/*
 * Policy documents: JSON schema 1 (certpin-policy(5)).  Loading reads the
 * text with the strict token reader (json.c) and builds the policy straight
 * from the tokens; saving writes with jansson.
 */
#include "internal.h"
#include "json.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CLOCK_SKEW_MAX (7u * 86400u)
/* Longest string the loader takes from a document (a URI is at most 2048). */
#define STR_MAX 4096

typedef struct loader {
	certpin_policy *p;
	const char *name;
	const certpin__json *j;
	certpin_error *err;
	char str[STR_MAX];              /* the last string read */
} loader;

__attribute__((format(printf, 3, 4)))
static int fail(loader *L, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return certpin__fail(L->err, CERTPIN_E_POLICY, path, 0, "%s: %s: %s", L->name, path, msg);
}

/* prefix + "/" + decimal i into out (no printf: this runs for every host and pin of a document). */
static void index_path(char *out, size_t outlen, const char *prefix, const char *name, size_t i)
{
	char digits[24];
	size_t n = 0, plen = strlen(prefix), nlen = strlen(name);

	do
		digits[n++] = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	if (plen + nlen + n + 1 > outlen) {
		out[0] = '\0';
		return;
	}
	memcpy(out, prefix, plen);
	memcpy(out + plen, name, nlen);
	for (size_t k = 0; k < n; k++)
		out[plen + nlen + k] = digits[n - 1 - k];
	out[plen + nlen + n] = '\0';
}

static certpin__json_type type_of(const loader *L, long t)
{
	return t < 0 ? 0 : (certpin__json_type)L->j->tok[t].type;
}

/*
 * One pass over the members of object `obj`: out[i] is the value of
 * keys[i] (a token index), -1 if absent.  A key not in keys[] (NULL-ended)
 * is an error.
 */
static int members(loader *L, const char *path, size_t obj, const char *const *keys, long *out)
{
	const certpin__json *j = L->j;
	size_t n = 0;

	while (keys[n])
		out[n++] = -1;
	for (size_t k = obj + 1; k < j->tok[obj].next; k = j->tok[k + 1].next) {
		size_t i = 0;
		while (i < n && !certpin__json_key_is(j, k, keys[i]))
			i++;
		if (i == n) {
			if (certpin__json_str(j, k, L->str, sizeof(L->str)) < 0)
				snprintf(L->str, sizeof(L->str), "(a long key)");
			return fail(L, path, "unknown key \"%.80s\"", L->str);
		}
		out[i] = (long)k + 1;
	}
	return CERTPIN_OK;
}

/* String token t (-1: absent, out = "") copied to out[outlen]; `key` names it in messages. */
static int get_str(loader *L, const char *path, long t, const char *key, char *out, size_t outlen)
{
	const certpin__json *j = L->j;

	out[0] = '\0';
	if (t < 0)
		return CERTPIN_OK;
	if (type_of(L, t) != CERTPIN__JSON_STRING)
		return fail(L, path, "%s must be a string", key);
	if (j->tok[t].flags & CERTPIN__JSON_NUL)
		return fail(L, path, "%s contains a NUL character", key);
	if (certpin__json_str(j, (size_t)t, out, outlen) < 0)
		return fail(L, path, "%s is longer than %zu bytes", key, outlen - 1);
	return CERTPIN_OK;
}

/* "report_uris": an array of 1..CERTPIN_REPORT_URIS_MAX URI strings, for `pattern` (NULL: policy-wide). */
static int load_report_uris(loader *L, const char *path, size_t v, const char *pattern)
{
	char copies[CERTPIN_REPORT_URIS_MAX][CERTPIN_REPORT_URI_MAXLEN + 2];
	const char *uris[CERTPIN_REPORT_URIS_MAX];
	const certpin__json *j = L->j;
	size_t n = type_of(L, (long)v) == CERTPIN__JSON_ARRAY ? j->tok[v].len : 0;
	certpin_error e;

	if (n == 0 || n > CERTPIN_REPORT_URIS_MAX)
		return fail(L, path, "\"report_uris\" must be an array of 1 to %d URIs", CERTPIN_REPORT_URIS_MAX);
	size_t i = 0;
	for (size_t t = v + 1; t < j->tok[v].next; t = j->tok[t].next, i++) {
		if (type_of(L, (long)t) != CERTPIN__JSON_STRING || (j->tok[t].flags & CERTPIN__JSON_NUL) ||
		    certpin__json_str(j, t, copies[i], sizeof(copies[i])) < 0)
			return fail(L, path, "\"report_uris\"[%zu] must be a string of at most %d bytes", i,
				CERTPIN_REPORT_URI_MAXLEN);
		uris[i] = copies[i];
	}
	if (certpin_policy_set_report_uris(L->p, pattern, uris, n, &e) != CERTPIN_OK)
		return fail(L, path, "%s", e.message);
	return CERTPIN_OK;
}

/*
 * String token t (-1: absent: *out unchanged), one of names[0..n) (its
 * index into *out).  `key` and `list` name it and the choices in messages.
 */
static int pick(loader *L, const char *path, long t, const char *key, const char *const *names, int n, int *out,
	const char *list)
{
	char s[32], what[32];
	int rc;

	if (t < 0)
		return CERTPIN_OK;
	snprintf(what, sizeof(what), "\"%s\"", key);
	if ((rc = get_str(L, path, t, what, s, sizeof(s))) != CERTPIN_OK)
		return rc;
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return CERTPIN_OK;
		}
	return fail(L, path, "unknown %s \"%.31s\" (%s)", key, s, list);
}

static int load_pin(loader *L, const char *hpath, size_t rule, size_t pj, size_t k)
{
	static const char *const keys[] = { "pin", "position", "comment", NULL };
	static const char *const positions[] = { "any", "leaf", "intermediate", "root" };
	enum { PIN, POSITION, COMMENT };
	char path[128], pinstr[256], comment[STR_MAX] = "";
	int position = CERTPIN_POS_ANY, rc;
	certpin_pin pin;
	certpin_error e;
	long m[3];

	index_path(path, sizeof(path), hpath, "/pins/", k);
	if (type_of(L, (long)pj) == CERTPIN__JSON_STRING) {
		if ((rc = get_str(L, path, (long)pj, "a pin", pinstr, sizeof(pinstr))) != CERTPIN_OK)
			return rc;
	} else if (type_of(L, (long)pj) == CERTPIN__JSON_OBJECT) {
		if ((rc = members(L, path, pj, keys, m)) || (rc = get_str(L, path, m[PIN], "\"pin\"", pinstr, sizeof(pinstr))) ||
		    (rc = pick(L, path, m[POSITION], "position", positions, 4, &position, "any, leaf, intermediate, root")) ||
		    (rc = get_str(L, path, m[COMMENT], "\"comment\"", comment, sizeof(comment))))
			return rc;
		if (m[PIN] < 0)
			return fail(L, path, "missing \"pin\"");
	} else {
		return fail(L, path, "a pin must be a string or an object");
	}
	if ((rc = certpin_pin_parse(&pin, pinstr, strlen(pinstr))) != CERTPIN_OK)
		return fail(L, path, "%s: \"%.80s\"", certpin_strerror(rc), pinstr);
	rc = certpin__policy_add_pin_at(L->p, rule, &pin, (certpin_position)position, comment[0] ? comment : NULL, &e);
	if (rc == CERTPIN_E_DUPLICATE)
		return fail(L, path, "pin listed twice with the same position");
	if (rc != CERTPIN_OK)
		return fail(L, path, "%s", e.message);
	return CERTPIN_OK;
}

enum { H_HOST, H_SUBDOMAINS, H_MODE, H_EXPIRES, H_ON_EXPIRY, H_SKEW, H_PINS, H_URIS, H_COMMENT, H_COUNT };

/* The host entry's options from its members m[], into `o` (its pattern in `host`). */
static int host_options(loader *L, const char *path, const long *m, certpin_host_options *o, char *host,
	size_t hostlen)
{
	static const char *const modes[] = { "enforce", "report-only" };
	static const char *const actions[] = { "fail-open", "fail-closed", "keep" };
	char expires[64];
	int mode = o->mode, on_expiry = o->on_expiry, rc;
	int64_t skew;

	if ((rc = get_str(L, path, m[H_HOST], "\"host\"", host, hostlen)) ||
	    (rc = pick(L, path, m[H_MODE], "mode", modes, 2, &mode, "enforce, report-only")) ||
	    (rc = get_str(L, path, m[H_EXPIRES], "\"expires\"", expires, sizeof(expires))) ||
	    (rc = pick(L, path, m[H_ON_EXPIRY], "on_expiry", actions, 3, &on_expiry, "fail-open, fail-closed, keep")))
		return rc;
	if (m[H_COMMENT] >= 0 && type_of(L, m[H_COMMENT]) != CERTPIN__JSON_STRING)
		return fail(L, path, "\"comment\" must be a string");
	if (m[H_HOST] < 0)
		return fail(L, path, "missing \"host\"");
	o->pattern = host;
	o->mode = (certpin_mode)mode;
	o->on_expiry = (certpin_expiry_action)on_expiry;
	if (m[H_SUBDOMAINS] >= 0) {
		if (type_of(L, m[H_SUBDOMAINS]) != CERTPIN__JSON_TRUE && type_of(L, m[H_SUBDOMAINS]) != CERTPIN__JSON_FALSE)
			return fail(L, path, "\"include_subdomains\" must be true or false");
		o->include_subdomains = type_of(L, m[H_SUBDOMAINS]) == CERTPIN__JSON_TRUE;
	}
	if (m[H_EXPIRES] >= 0 && (certpin__parse_time(&o->expires, expires) != 0 || o->expires <= 0))
		return fail(L, path, "bad \"expires\" \"%.40s\" (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", expires);
	if (m[H_SKEW] >= 0) {
		if (!certpin__json_int(L->j, (size_t)m[H_SKEW], &skew) || skew < 0 || skew > CLOCK_SKEW_MAX)
			return fail(L, path, "\"clock_skew\" must be an integer from 0 to %u seconds", CLOCK_SKEW_MAX);
		o->clock_skew = (unsigned int)skew;
	}
	return CERTPIN_OK;
}

static int load_host(loader *L, size_t hj, size_t i)
{
	static const char *const keys[] = { "host", "include_subdomains", "mode", "expires", "on_expiry",
		"clock_skew", "pins", "report_uris", "comment", NULL };
	char path[64], host[CERTPIN_HOSTNAME_MAX + 8];
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_error e;
	long m[H_COUNT];
	int rc;

	index_path(path, sizeof(path), "", "/hosts/", i);
	if (type_of(L, (long)hj) != CERTPIN__JSON_OBJECT)
		return fail(L, path, "a host entry must be an object");
	if ((rc = members(L, path, hj, keys, m)) != CERTPIN_OK || (rc = host_options(L, path, m, &o, host, sizeof(host))))
		return rc;
	long pins = m[H_PINS];
	if (pins < 0)
		return fail(L, path, "missing \"pins\"");
	if (type_of(L, pins) != CERTPIN__JSON_ARRAY || L->j->tok[pins].len == 0)
		return fail(L, path, "\"pins\" must be a non-empty array");
	rc = certpin_policy_add_host(L->p, &o, &e);
	if (rc == CERTPIN_E_DUPLICATE)
		return fail(L, path, "host \"%.80s\" is already defined (duplicate host)", host);
	if (rc == CERTPIN_E_HOSTNAME)
		return fail(L, path, "invalid host pattern \"%.80s\"", host);
	if (rc != CERTPIN_OK)
		return fail(L, path, "%s", e.message);
	/* the rule just added */
	size_t rule = L->p->nrules - 1, k = 0;
	for (size_t t = (size_t)pins + 1; t < L->j->tok[pins].next; t = L->j->tok[t].next, k++)
		if ((rc = load_pin(L, path, rule, t, k)) != CERTPIN_OK)
			return rc;
	if (m[H_URIS] < 0)
		return CERTPIN_OK;
	return load_report_uris(L, path, (size_t)m[H_URIS], certpin__rule_pattern(L->p, &L->p->rules[rule]));
}

static int load_doc(loader *L)
{
	static const char *const keys[] = { "schema", "policy_version", "report_uris", "hosts", "comment", NULL };
	enum { SCHEMA, VERSION, URIS, HOSTS, COMMENT };
	const certpin__json *j = L->j;
	long m[5];
	int64_t n;
	int rc;

	if (type_of(L, 0) != CERTPIN__JSON_OBJECT)
		return fail(L, "/", "the document must be a JSON object");
	if ((rc = members(L, "/", 0, keys, m)))
		return rc;
	if (m[SCHEMA] < 0)
		return fail(L, "/", "missing \"schema\" (this version reads schema 1)");
	if (!certpin__json_int(j, (size_t)m[SCHEMA], &n) || n != 1)
		return fail(L, "/schema", "unsupported schema (this version reads schema 1)");
	if (m[VERSION] >= 0) {
		if (!certpin__json_int(j, (size_t)m[VERSION], &n) || n < 0)
			return fail(L, "/policy_version", "must be a non-negative integer");
		L->p->version = (uint64_t)n;
	}
	if (m[COMMENT] >= 0 && type_of(L, m[COMMENT]) != CERTPIN__JSON_STRING)
		return fail(L, "/comment", "must be a string");
	if (m[URIS] >= 0 && (rc = load_report_uris(L, "/", (size_t)m[URIS], NULL)))
		return rc;
	long hosts = m[HOSTS];
	if (hosts < 0)
		return fail(L, "/", "missing \"hosts\"");
	if (type_of(L, hosts) != CERTPIN__JSON_ARRAY)
		return fail(L, "/hosts", "must be an array");
	/* one allocation for all: a pin and a backup per host is the usual shape (freezing trims the rest) */
	if (certpin__policy_reserve(L->p, j->tok[hosts].len, 2 * (size_t)j->tok[hosts].len) != CERTPIN_OK)
		return certpin__fail(L->err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", L->name);
	size_t i = 0;
	for (size_t t = (size_t)hosts + 1; t < j->tok[hosts].next; t = j->tok[t].next, i++)
		if ((rc = load_host(L, t, i)) != CERTPIN_OK)
			return rc;
	return CERTPIN_OK;
}

static size_t max_bytes(const certpin_load_options *opts)
{
	return opts && opts->max_bytes ? opts->max_bytes : CERTPIN_POLICY_MAX_BYTES;
}

int certpin_policy_load_data(certpin_policy **out, const char *json, size_t len, const char *name,
	const certpin_load_options *opts, certpin_error *err)
{
	loader L = { NULL, name ? name : "<policy>", NULL, err, "" };
	certpin__json j;
	char why[160];
	int rc;

	if (!out)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no output");
	*out = NULL;
	if ((!json && len) || (opts && opts->version != CERTPIN_LOAD_OPTIONS_VERSION))
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no document, or options of an unknown version");
	if (len > max_bytes(opts))
		return certpin__fail(err, CERTPIN_E_POLICY, NULL, 0, "%s: larger than %zu bytes (raise the limit with "
			"certpin_load_options.max_bytes)", L.name, max_bytes(opts));
	if (certpin__json_read(&j, json ? json : "", len, why, sizeof(why)) != 0) {
		rc = certpin__fail(err, CERTPIN_E_POLICY, NULL, j.err_line, "%s:%lu:%lu: %s", L.name, j.err_line,
			j.err_column, why);
		if (err)
			err->column = j.err_column;
		certpin__json_free(&j);
		return rc;
	}
	if ((rc = certpin_policy_new(&L.p)) != CERTPIN_OK) {
		certpin__json_free(&j);
		return certpin__fail(err, rc, NULL, 0, "out of memory");
	}
	L.j = &j;
	rc = load_doc(&L);
	certpin__json_free(&j);
	if (rc != CERTPIN_OK) {
		certpin_policy_free(L.p);
		return rc;
	}
	certpin__policy_freeze(L.p);
	*out = L.p;
	return CERTPIN_OK;
}

/* Read all of `path`, at most `max` bytes. */
static int read_file(char **out, size_t *outlen, const char *path, size_t max, certpin_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 16384;
			char *nb = n <= max ? realloc(buf, cap < max + 4096 ? cap : max + 4096) : NULL;
			if (!nb) {
				fclose(f);
				free(buf);
				if (n > max)
					return certpin__fail(err, CERTPIN_E_POLICY, NULL, 0, "%s: larger than %zu bytes (raise the "
						"limit with certpin_load_options.max_bytes)", path, max);
				return certpin__fail(err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", path);
			}
			buf = nb;
			cap = cap < max + 4096 ? cap : max + 4096;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	int bad = ferror(f), e = errno;
	fclose(f);
	if (bad) {
		free(buf);
		return certpin__fail(err, CERTPIN_E_IO, NULL, 0, "%s: %s", path, strerror(e));
	}
	*out = buf;
	*outlen = n;
	return CERTPIN_OK;
}

int certpin_policy_load_file(certpin_policy **out, const char *path, const certpin_load_options *opts,
	certpin_error *err)
{
	char *buf = NULL;
	size_t n = 0;
	int rc;

	if (!out || !path)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no output or no path");
	*out = NULL;
	if (opts && opts->version != CERTPIN_LOAD_OPTIONS_VERSION)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "load options of an unknown version");
	if ((rc = read_file(&buf, &n, path, max_bytes(opts), err)) != CERTPIN_OK)
		return rc;
	rc = certpin_policy_load_data(out, buf, n, path, opts, err);
	free(buf);
	return rc;
}

/* ---- saving ----------------------------------------------------------------- */

static json_t *uris_json(const char *const *uris, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(uris[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The pins of rule i as JSON objects, appended to `pins`. */
static int pins_json(json_t *pins, const certpin_policy *p, size_t i)
{
	const certpin__rule *r = &p->rules[i];
	const certpin__pinent *e = certpin__rule_pins(p, r);
	char pinstr[CERTPIN_PIN_STRLEN];

	for (size_t k = 0; k < r->npins; k++) {
		certpin_pin pin = certpin__pin_of(&e[k]);
		if (certpin_pin_format(pinstr, sizeof(pinstr), &pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
			return CERTPIN_E_NOMEM;
		json_t *pj = json_object();
		if (!pj || json_array_append_new(pins, pj))
			return CERTPIN_E_NOMEM;
		json_object_set_new(pj, "pin", json_string(pinstr));
		json_object_set_new(pj, "position", json_string(certpin_position_name((certpin_position)e[k].position)));
		const char *comment = certpin_policy_host_pin_comment(p, i, k);
		if (comment)
			json_object_set_new(pj, "comment", json_string(comment));
	}
	return CERTPIN_OK;
}

static int host_json(json_t *hosts, const certpin_policy *p, size_t i)
{
	const certpin__rule *r = &p->rules[i];
	json_t *h = json_object(), *pins = json_array();
	char when[32];

	if (!h || !pins || json_array_append_new(hosts, h)) {
		json_decref(pins);
		return CERTPIN_E_NOMEM;
	}
	json_object_set_new(h, "host", json_string(certpin__rule_pattern(p, r)));
	json_object_set_new(h, "mode", json_string(certpin_mode_name((certpin_mode)r->mode)));
	if (r->expires) {
		certpin__format_time(when, sizeof(when), r->expires);
		json_object_set_new(h, "expires", json_string(when));
		json_object_set_new(h, "on_expiry", json_string(certpin_expiry_action_name((certpin_expiry_action)r->on_expiry)));
	}
	if (r->clock_skew)
		json_object_set_new(h, "clock_skew", json_integer(r->clock_skew));
	json_object_set_new(h, "pins", pins);
	if (r->uris && p->uri_sets[r->uris - 1].n &&
	    json_object_set_new(h, "report_uris", uris_json((const char *const *)p->uri_sets[r->uris - 1].uris,
		p->uri_sets[r->uris - 1].n)))
		return CERTPIN_E_NOMEM;
	return pins_json(pins, p, i);
}

int certpin_policy_to_json(char **out, const certpin_policy *p)
{
	json_t *doc, *hosts;

	if (!out || !p)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	doc = json_object();
	hosts = json_array();
	if (!doc || !hosts)
		goto nomem;
	json_object_set_new(doc, "schema", json_integer(1));
	if (p->version)
		json_object_set_new(doc, "policy_version", json_integer((json_int_t)p->version));
	if (p->uris.n && json_object_set_new(doc, "report_uris", uris_json((const char *const *)p->uris.uris, p->uris.n)))
		goto nomem;
	json_object_set_new(doc, "hosts", hosts);
	for (size_t i = 0; i < p->nrules; i++)
		if (host_json(hosts, p, i) != CERTPIN_OK)
			goto nomem;
	*out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out ? CERTPIN_OK : CERTPIN_E_NOMEM;
nomem:
	json_decref(doc);
	return CERTPIN_E_NOMEM;
}
