/* Policy documents: JSON schema 1 (certpin-policy(5)) load and save, with jansson. */
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define POLICY_MAX_BYTES (16u << 20)
#define CLOCK_SKEW_MAX (7u * 86400u)

typedef struct {
	certpin_policy *p;
	const char *name;
} loader;

#define FAIL(L, path, ...) load_fail((L), (path), __VA_ARGS__)

__attribute__((format(printf, 3, 4)))
static int load_fail(loader *L, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return certpin__policy_fail(L->p, CERTPIN_E_POLICY, "%s: %s: %s", L->name, path, msg);
}

/* Every key of `obj` must be in `allowed` (NULL-terminated). */
static int check_keys(loader *L, const char *path, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok)
			return FAIL(L, path, "unknown key \"%s\"", key);
	}
	return CERTPIN_OK;
}

static int get_string(loader *L, const char *path, json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return CERTPIN_OK;
	if (!json_is_string(v))
		return FAIL(L, path, "\"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return FAIL(L, path, "\"%s\" contains a NUL character", key);
	*out = json_string_value(v);
	return CERTPIN_OK;
}

/* "report_uris": an array of 1..CERTPIN_REPORT_URIS_MAX URI strings, for `pattern` (NULL: policy-wide). */
static int load_report_uris(loader *L, const char *path, json_t *v, const char *pattern)
{
	const char *uris[CERTPIN_REPORT_URIS_MAX];
	size_t n = json_is_array(v) ? json_array_size(v) : 0;

	if (!json_is_array(v) || n == 0 || n > CERTPIN_REPORT_URIS_MAX)
		return FAIL(L, path, "\"report_uris\" must be an array of 1 to %d URIs", CERTPIN_REPORT_URIS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_t *u = json_array_get(v, i);
		if (!json_is_string(u) || strlen(json_string_value(u)) != json_string_length(u))
			return FAIL(L, path, "\"report_uris\"[%zu] must be a string", i);
		uris[i] = json_string_value(u);
	}
	int rc = certpin_policy_set_report_uris(L->p, pattern, uris, n);
	if (rc != CERTPIN_OK) {
		char why[sizeof(L->p->err)];
		memcpy(why, L->p->err, sizeof(why));
		return FAIL(L, path, "%s", why);
	}
	return CERTPIN_OK;
}

static int load_pin(loader *L, const char *hpath, const char *pattern, json_t *pj, size_t k)
{
	static const char *const keys[] = { "pin", "position", "comment", NULL };
	char path[128];
	const char *s = NULL, *pos = NULL, *comment = NULL;
	certpin_position position = CERTPIN_POS_ANY;
	certpin_pin pin;
	int rc;

	snprintf(path, sizeof(path), "%s/pins/%zu", hpath, k);
	if (json_is_string(pj)) {
		s = json_string_value(pj);
	} else if (json_is_object(pj)) {
		if ((rc = check_keys(L, path, pj, keys)) || (rc = get_string(L, path, pj, "pin", &s)) ||
		    (rc = get_string(L, path, pj, "position", &pos)) ||
		    (rc = get_string(L, path, pj, "comment", &comment)))
			return rc;
		if (!s)
			return FAIL(L, path, "missing \"pin\"");
	} else {
		return FAIL(L, path, "a pin must be a string or an object");
	}
	if (pos) {
		if (strcmp(pos, "any") == 0)
			position = CERTPIN_POS_ANY;
		else if (strcmp(pos, "leaf") == 0)
			position = CERTPIN_POS_LEAF;
		else if (strcmp(pos, "intermediate") == 0)
			position = CERTPIN_POS_INTERMEDIATE;
		else if (strcmp(pos, "root") == 0)
			position = CERTPIN_POS_ROOT;
		else
			return FAIL(L, path, "unknown position \"%s\" (any, leaf, intermediate, root)", pos);
	}
	rc = certpin_pin_parse(&pin, s, strlen(s));
	if (rc != CERTPIN_OK)
		return FAIL(L, path, "%s: \"%.80s\"", certpin_strerror(rc), s);
	rc = certpin__policy_add_pin_comment(L->p, pattern, &pin, position, comment);
	if (rc == CERTPIN_E_DUPLICATE)
		return FAIL(L, path, "pin listed twice with the same position");
	if (rc != CERTPIN_OK)
		return FAIL(L, path, "%s", certpin_strerror(rc));
	return CERTPIN_OK;
}

static int load_host(loader *L, json_t *hj, size_t i)
{
	static const char *const keys[] = { "host", "include_subdomains", "mode", "expires", "on_expiry",
		"clock_skew", "pins", "report_uris", "comment", NULL };
	char path[64];
	const char *host = NULL, *mode = NULL, *expires = NULL, *on_expiry = NULL, *comment = NULL;
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	json_t *v;
	int rc;

	snprintf(path, sizeof(path), "/hosts/%zu", i);
	if (!json_is_object(hj))
		return FAIL(L, path, "a host entry must be an object");
	if ((rc = check_keys(L, path, hj, keys)) || (rc = get_string(L, path, hj, "host", &host)) ||
	    (rc = get_string(L, path, hj, "mode", &mode)) || (rc = get_string(L, path, hj, "expires", &expires)) ||
	    (rc = get_string(L, path, hj, "on_expiry", &on_expiry)) ||
	    (rc = get_string(L, path, hj, "comment", &comment)))
		return rc;
	if (!host)
		return FAIL(L, path, "missing \"host\"");
	o.pattern = host;
	if ((v = json_object_get(hj, "include_subdomains"))) {
		if (!json_is_boolean(v))
			return FAIL(L, path, "\"include_subdomains\" must be true or false");
		o.include_subdomains = json_is_true(v);
	}
	if (mode) {
		if (strcmp(mode, "enforce") == 0)
			o.mode = CERTPIN_MODE_ENFORCE;
		else if (strcmp(mode, "report-only") == 0)
			o.mode = CERTPIN_MODE_REPORT_ONLY;
		else
			return FAIL(L, path, "unknown mode \"%s\" (enforce, report-only)", mode);
	}
	if (expires && (certpin__parse_time(&o.expires, expires) != 0 || o.expires <= 0))
		return FAIL(L, path, "bad \"expires\" \"%s\" (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)", expires);
	if (on_expiry) {
		if (strcmp(on_expiry, "fail-open") == 0)
			o.on_expiry = CERTPIN_EXPIRY_FAIL_OPEN;
		else if (strcmp(on_expiry, "fail-closed") == 0)
			o.on_expiry = CERTPIN_EXPIRY_FAIL_CLOSED;
		else if (strcmp(on_expiry, "keep") == 0)
			o.on_expiry = CERTPIN_EXPIRY_KEEP;
		else
			return FAIL(L, path, "unknown on_expiry \"%s\" (fail-open, fail-closed, keep)", on_expiry);
	}
	if ((v = json_object_get(hj, "clock_skew"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > CLOCK_SKEW_MAX)
			return FAIL(L, path, "\"clock_skew\" must be an integer from 0 to %u seconds", CLOCK_SKEW_MAX);
		o.clock_skew = (unsigned int)json_integer_value(v);
	}
	json_t *pins = json_object_get(hj, "pins");
	if (!pins)
		return FAIL(L, path, "missing \"pins\"");
	if (!json_is_array(pins) || json_array_size(pins) == 0)
		return FAIL(L, path, "\"pins\" must be a non-empty array");

	rc = certpin_policy_add_host(L->p, &o);
	if (rc == CERTPIN_E_DUPLICATE)
		return FAIL(L, path, "host \"%s\" is already defined (duplicate host)", host);
	if (rc == CERTPIN_E_HOSTNAME)
		return FAIL(L, path, "invalid host pattern \"%.80s\"", host);
	if (rc != CERTPIN_OK)
		return FAIL(L, path, "%s", certpin_strerror(rc));
	/* the rule just added; address pins through its normalized pattern */
	const char *pattern = L->p->rules[L->p->nrules - 1].pattern;
	for (size_t k = 0; k < json_array_size(pins); k++)
		if ((rc = load_pin(L, path, pattern, json_array_get(pins, k), k)) != CERTPIN_OK)
			return rc;
	if ((v = json_object_get(hj, "report_uris")))
		return load_report_uris(L, path, v, pattern);
	return CERTPIN_OK;
}

static int load_doc(loader *L, json_t *doc)
{
	static const char *const keys[] = { "schema", "policy_version", "report_uris", "hosts", "comment", NULL };
	json_t *v;
	int rc;

	if (!json_is_object(doc))
		return FAIL(L, "/", "the document must be a JSON object");
	if ((rc = check_keys(L, "/", doc, keys)))
		return rc;
	v = json_object_get(doc, "schema");
	if (!v)
		return FAIL(L, "/", "missing \"schema\" (this version reads schema 1)");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return FAIL(L, "/schema", "unsupported schema (this version reads schema 1)");
	if ((v = json_object_get(doc, "policy_version"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return FAIL(L, "/policy_version", "must be a non-negative integer");
		L->p->version = (uint64_t)json_integer_value(v);
	}
	if ((v = json_object_get(doc, "comment")) && !json_is_string(v))
		return FAIL(L, "/comment", "must be a string");
	if ((v = json_object_get(doc, "report_uris")) && (rc = load_report_uris(L, "/", v, NULL)) != CERTPIN_OK)
		return rc;
	json_t *hosts = json_object_get(doc, "hosts");
	if (!hosts)
		return FAIL(L, "/", "missing \"hosts\"");
	if (!json_is_array(hosts))
		return FAIL(L, "/hosts", "must be an array");
	for (size_t i = 0; i < json_array_size(hosts); i++)
		if ((rc = load_host(L, json_array_get(hosts, i), i)) != CERTPIN_OK)
			return rc;
	return CERTPIN_OK;
}

int certpin_policy_load_data(certpin_policy *policy, const char *json, size_t len, const char *name)
{
	loader L = { policy, name ? name : "<policy>" };
	json_error_t jerr;
	int rc;

	if (!policy)
		return CERTPIN_E_INVALID_ARG;
	policy->err[0] = '\0';
	if (!json && len)
		return certpin__policy_fail(policy, CERTPIN_E_INVALID_ARG, "no document");
	if (policy->frozen)
		return certpin__policy_fail(policy, CERTPIN_E_STATE, "the policy is attached and cannot be changed");
	if (policy->nrules)
		return certpin__policy_fail(policy, CERTPIN_E_INVALID_ARG, "policy is not empty");
	if (len > POLICY_MAX_BYTES)
		return certpin__policy_fail(policy, CERTPIN_E_POLICY, "%s: larger than %u bytes", L.name, POLICY_MAX_BYTES);
	json_t *doc = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return certpin__policy_fail(policy, CERTPIN_E_POLICY, "%s:%d:%d: %s", L.name, jerr.line, jerr.column,
			jerr.text);
	rc = load_doc(&L, doc);
	json_decref(doc);
	if (rc != CERTPIN_OK) {
		char keep[sizeof(policy->err)];
		memcpy(keep, policy->err, sizeof(keep));
		certpin__policy_clear(policy);
		memcpy(policy->err, keep, sizeof(keep));
	}
	return rc;
}

int certpin_policy_load_file(certpin_policy *policy, const char *path)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!policy || !path)
		return CERTPIN_E_INVALID_ARG;
	f = fopen(path, "rb");
	if (!f)
		return certpin__policy_fail(policy, CERTPIN_E_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 16384;
			if (cap > POLICY_MAX_BYTES + 1) {
				cap = POLICY_MAX_BYTES + 1;
				if (n >= cap) {
					fclose(f);
					free(buf);
					return certpin__policy_fail(policy, CERTPIN_E_POLICY, "%s: larger than %u bytes",
						path, POLICY_MAX_BYTES);
				}
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return certpin__policy_fail(policy, CERTPIN_E_NOMEM, "%s: out of memory", path);
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	int err = errno;
	fclose(f);
	if (bad) {
		free(buf);
		return certpin__policy_fail(policy, CERTPIN_E_IO, "%s: %s", path, strerror(err));
	}
	rc = certpin_policy_load_data(policy, buf, n, path);
	free(buf);
	return rc;
}

static json_t *uris_json(char *const *uris, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(uris[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int certpin_policy_to_json(char **out, const certpin_policy *p)
{
	json_t *doc, *hosts;
	char pinstr[CERTPIN_PIN_STRLEN], when[32];

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
	if (p->nreport_uris && json_object_set_new(doc, "report_uris", uris_json(p->report_uris, p->nreport_uris)))
		goto nomem;
	json_object_set_new(doc, "hosts", hosts);
	for (size_t i = 0; i < p->nrules; i++) {
		const certpin__rule *r = &p->rules[i];
		json_t *h = json_object(), *pins = json_array();
		if (!h || !pins || json_array_append_new(hosts, h)) {
			json_decref(pins);
			goto nomem;
		}
		json_object_set_new(h, "host", json_string(r->pattern));
		json_object_set_new(h, "mode", json_string(certpin_mode_name(r->mode)));
		if (r->expires) {
			certpin__format_time(when, sizeof(when), r->expires);
			json_object_set_new(h, "expires", json_string(when));
			json_object_set_new(h, "on_expiry", json_string(certpin_expiry_action_name(r->on_expiry)));
		}
		if (r->clock_skew)
			json_object_set_new(h, "clock_skew", json_integer(r->clock_skew));
		json_object_set_new(h, "pins", pins);
		if (r->nreport_uris && json_object_set_new(h, "report_uris", uris_json(r->report_uris, r->nreport_uris)))
			goto nomem;
		for (size_t k = 0; k < r->npins; k++) {
			const certpin__pinent *e = &r->pins[k];
			if (certpin_pin_format(pinstr, sizeof(pinstr), &e->pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
				goto nomem;
			json_t *pj = json_object();
			if (!pj || json_array_append_new(pins, pj))
				goto nomem;
			json_object_set_new(pj, "pin", json_string(pinstr));
			json_object_set_new(pj, "position", json_string(certpin_position_name(e->position)));
			if (e->comment)
				json_object_set_new(pj, "comment", json_string(e->comment));
		}
	}
	*out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out ? CERTPIN_OK : CERTPIN_E_NOMEM;
nomem:
	json_decref(doc);
	return CERTPIN_E_NOMEM;
}
