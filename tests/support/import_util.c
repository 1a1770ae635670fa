/* Helpers for the import tests: see import_util.h. */
#include "import_util.h"
#include "test.h"

certpin_pin imp_pin(const char *b64)
{
	certpin_pin p;
	char s[80];

	snprintf(s, sizeof(s), "sha256/%s", b64);
	if (certpin_pin_parse(&p, s, strlen(s)) != CERTPIN_OK)
		abort();
	return p;
}

long imp_rule(const certpin_policy *p, const char *pattern)
{
	certpin_host_info h;

	for (size_t i = 0; p && i < certpin_policy_host_count(p); i++)
		if (certpin_policy_host(&h, p, i) == CERTPIN_OK && strcmp(h.pattern, pattern) == 0)
			return (long)i;
	return -1;
}

int imp_rule_has(const certpin_policy *p, const char *pattern, const char *const *b64s, size_t n, certpin_position pos)
{
	certpin_host_info h;
	long i = imp_rule(p, pattern);

	if (i < 0 || certpin_policy_host(&h, p, (size_t)i) != CERTPIN_OK || h.pin_count != n)
		return 0;
	for (size_t k = 0; k < n; k++) {
		certpin_pin want = imp_pin(b64s[k]);
		int found = 0;
		for (size_t j = 0; j < h.pin_count; j++) {
			certpin_pin got;
			certpin_position at;
			if (certpin_policy_host_pin(&got, &at, p, (size_t)i, j) == CERTPIN_OK &&
			    certpin_pin_equal(&got, &want) && at == pos)
				found = 1;
		}
		if (!found)
			return 0;
	}
	return 1;
}

void imp_collect_warning(const certpin_error *w, void *payload)
{
	char **s = payload;
	size_t old = *s ? strlen(*s) : 0, n = strlen(w->message);
	char *ns = realloc(*s, old + n + 2);

	if (!ns)
		abort();
	if (old)
		ns[old++] = '\n';
	memcpy(ns + old, w->message, n + 1);
	*s = ns;
	CHECK_INT(w->code, CERTPIN_OK);
}

static certpin_policy *imp_run(const char *s, const char *path, certpin_import_format f, int *rc, certpin_error *err,
	char **warn)
{
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_error e;
	certpin_policy *p = NULL;
	char *w = NULL;

	o.format = f;
	o.on_warning = imp_collect_warning;
	o.payload = &w;
	if (s) {
		o.name = "in";
		*rc = certpin_policy_import_data(&p, s, strlen(s), &o, &e);
	} else {
		*rc = certpin_policy_import_file(&p, path, &o, &e);
	}
	CHECK_INT(e.code, *rc);
	if (*rc != CERTPIN_OK) {
		CHECK(p == NULL);
		CHECK(w == NULL);
		CHECK(e.message[0] != '\0' && strchr(e.message, '\n') == NULL);
	}
	if (err)
		*err = e;
	if (warn)
		*warn = w;
	else
		free(w);
	return p;
}

certpin_policy *imp_str(const char *s, certpin_import_format f, int *rc, certpin_error *err, char **warn)
{
	return imp_run(s, NULL, f, rc, err, warn);
}

certpin_policy *imp_file(const char *path, certpin_import_format f, int *rc, certpin_error *err, char **warn)
{
	return imp_run(NULL, path, f, rc, err, warn);
}
