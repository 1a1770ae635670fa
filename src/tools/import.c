/*
 * Import a policy from other pinning formats (certpin/tools.h): the entry
 * points, the rules and pins every importer adds, and the Android trust
 * anchors kept beside the policy.  The formats are in import_android.c
 * (network_security_config.xml) and import_pins.c (pin lists, OkHttp).
 */
#include "import_internal.h"

#include <errno.h>

struct certpin_import_anchors {
	struct anchor_note {
		char *pattern;          /* the rule's pattern */
		char *anchors;          /* e.g. "@raw/private_ca" */
	} *notes;
	size_t n, cap;
	char *dflt;                     /* <base-config>'s, for hosts no rule pins */
};

bool certpin_tools__is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int certpin_tools__import_fail(certpin_tools__importer *I, long line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return certpin_error_set(I->err, CERTPIN_E_POLICY, NULL, (unsigned long)line, "%s:%ld: %s", I->name, line,
			msg);
	return certpin_error_set(I->err, CERTPIN_E_POLICY, NULL, 0, "%s: %s", I->name, msg);
}

int certpin_tools__import_nomem(certpin_tools__importer *I)
{
	return certpin_error_set(I->err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", I->name);
}

void certpin_tools__import_warn(certpin_tools__importer *I, long line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		certpin_tools__warn(&I->warn, (unsigned long)line, "%s:%ld: %s", I->name, line, msg);
	else
		certpin_tools__warn(&I->warn, 0, "%s: %s", I->name, msg);
}

int certpin_tools__import_rule(certpin_tools__importer *I, long line, const certpin_host_options *o, bool reuse)
{
	int rc = certpin_policy_add_host(I->p, o, NULL);

	if (rc == CERTPIN_OK || (rc == CERTPIN_E_DUPLICATE && reuse))
		return CERTPIN_OK;
	if (rc == CERTPIN_E_NOMEM)
		return certpin_tools__import_nomem(I);
	if (rc == CERTPIN_E_DUPLICATE)
		return certpin_tools__import_fail(I, line, "host \"%s\" is defined more than once", o->pattern);
	return certpin_tools__import_fail(I, line, "invalid host \"%.260s\"", o->pattern);
}

int certpin_tools__import_pin(certpin_tools__importer *I, long line, const char *pattern, const certpin_pin *pin,
	certpin_position position)
{
	certpin_host_info h;
	size_t r;
	int rc;

	if (certpin_policy_find(&r, I->p, pattern) == CERTPIN_OK && certpin_policy_host(&h, I->p, r) == CERTPIN_OK) {
		for (size_t k = 0; k < h.pin_count; k++) {
			certpin_pin have;
			if (certpin_policy_host_pin(&have, NULL, I->p, r, k) == CERTPIN_OK && certpin_pin_equal(&have, pin))
				return CERTPIN_OK;
		}
		if (h.pin_count >= CERTPIN_IMPORT_MAX_HOST_PINS)
			return certpin_tools__import_fail(I, line, "more than %u pins for host \"%s\"",
				CERTPIN_IMPORT_MAX_HOST_PINS, h.pattern);
	}
	if (I->total_pins >= CERTPIN_IMPORT_MAX_PINS)
		return certpin_tools__import_fail(I, line, "more than %u pins in all", CERTPIN_IMPORT_MAX_PINS);
	rc = certpin_policy_add_pin(I->p, pattern, pin, position, NULL, NULL);
	if (rc == CERTPIN_OK)
		I->total_pins++;
	if (rc == CERTPIN_OK || rc == CERTPIN_E_DUPLICATE)
		return CERTPIN_OK;
	if (rc == CERTPIN_E_NOMEM)
		return certpin_tools__import_nomem(I);
	return certpin_tools__import_fail(I, line, "cannot add pin to \"%s\": %s", pattern, certpin_strerror(rc));
}

/* The importer's anchor notes, made on first use. */
static certpin_import_anchors *anchors_of(certpin_tools__importer *I)
{
	if (!I->anchors)
		I->anchors = calloc(1, sizeof(*I->anchors));
	return I->anchors;
}

int certpin_tools__import_anchor_note(certpin_tools__importer *I, const char *pattern, const char *anchors)
{
	certpin_import_anchors *a = anchors_of(I);
	struct anchor_note *nn;

	if (!a || !(nn = certpin_tools__grow(a->notes, &a->cap, a->n + 1, sizeof(*nn))))
		return certpin_tools__import_nomem(I);
	a->notes = nn;
	nn[a->n].pattern = strdup(pattern);
	nn[a->n].anchors = strdup(anchors);
	a->n++;
	if (!nn[a->n - 1].pattern || !nn[a->n - 1].anchors)
		return certpin_tools__import_nomem(I);
	return CERTPIN_OK;
}

int certpin_tools__import_default_anchors(certpin_tools__importer *I, const char *anchors)
{
	certpin_import_anchors *a = anchors_of(I);

	if (!a || !(a->dflt = strdup(anchors)))
		return certpin_tools__import_nomem(I);
	return CERTPIN_OK;
}

const char *certpin_import_anchors_for(const certpin_import_anchors *anchors, const certpin_policy *policy,
	const char *hostname)
{
	certpin_host_info h;
	size_t idx;

	if (!anchors || !policy || !hostname)
		return NULL;
	if (certpin_policy_lookup(&idx, policy, hostname) != CERTPIN_OK)
		return anchors->dflt;
	if (certpin_policy_host(&h, policy, idx) != CERTPIN_OK)
		return NULL;
	for (size_t i = 0; i < anchors->n; i++)
		if (strcmp(anchors->notes[i].pattern, h.pattern) == 0)
			return anchors->notes[i].anchors;
	return NULL;
}

void certpin_import_anchors_free(certpin_import_anchors *anchors)
{
	if (!anchors)
		return;
	for (size_t i = 0; i < anchors->n; i++) {
		free(anchors->notes[i].pattern);
		free(anchors->notes[i].anchors);
	}
	free(anchors->notes);
	free(anchors->dflt);
	free(anchors);
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static certpin_import_format detect(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && certpin_tools__is_space((unsigned char)data[i]))
		i++;
	if (i < len && data[i] == '{')
		return CERTPIN_IMPORT_JSON;
	if (i < len && data[i] == '<')
		return CERTPIN_IMPORT_ANDROID_NSC;
	return CERTPIN_IMPORT_PIN_LIST;
}

static void importer_free(certpin_tools__importer *I)
{
	certpin_policy_free(I->seen);
	for (size_t i = 0; i < I->nunpinned; i++)
		free(I->unpinned[i].name);
	free(I->unpinned);
	certpin_tools__warnings_free(&I->warn);
	certpin_import_anchors_free(I->anchors);
	certpin_policy_free(I->p);
}

/* A certpin JSON policy: the core's loader, its policy and its error. */
static int import_json(certpin_tools__importer *I, const char *data, size_t len)
{
	certpin_policy_free(I->p);
	I->p = NULL;
	return certpin_policy_load_data(&I->p, data, len, I->name, NULL, I->err);
}

static int import_run(certpin_tools__importer *I, const char *data, size_t len, certpin_import_format format)
{
	/* A UTF-8 byte order mark is not content in any format. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (len > CERTPIN_IMPORT_MAX_SIZE)
		return certpin_tools__import_fail(I, 0, "input larger than %u bytes", CERTPIN_IMPORT_MAX_SIZE);
	if (certpin_policy_new(&I->p) != CERTPIN_OK)
		return certpin_tools__import_nomem(I);
	if (format == CERTPIN_IMPORT_AUTO)
		format = detect(data, len);
	switch (format) {
	case CERTPIN_IMPORT_JSON:
		return import_json(I, data, len);
	case CERTPIN_IMPORT_ANDROID_NSC:
		return certpin_tools__import_android(I, data, len);
	case CERTPIN_IMPORT_PIN_LIST:
		return certpin_tools__import_pins(I, data, len);
	default:
		return certpin_error_set(I->err, CERTPIN_E_INVALID_ARG, NULL, 0, "unknown import format %d", (int)format);
	}
}

int certpin_policy_import_data(certpin_policy **out, const char *data, size_t len,
	const certpin_import_options *opts, certpin_error *err)
{
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
	certpin_tools__importer I;
	int rc;

	certpin_error_clear(err);
	if (out)
		*out = NULL;
	if (opts && opts->version == CERTPIN_IMPORT_OPTIONS_VERSION && opts->anchors)
		*opts->anchors = NULL;
	if (!out)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no place for the policy");
	if (opts && opts->version != CERTPIN_IMPORT_OPTIONS_VERSION)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "import options of an unknown version");
	if (opts)
		o = *opts;
	if (!data && len)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "no data");
	memset(&I, 0, sizeof(I));
	I.name = o.name ? o.name : "<data>";
	I.default_host = o.default_host;
	I.err = err;
	rc = import_run(&I, data ? data : "", len, o.format);
	if (rc == CERTPIN_OK && I.warn.nomem)
		rc = certpin_tools__import_nomem(&I);
	if (rc == CERTPIN_OK) {
		certpin_tools__warnings_deliver(&I.warn, o.on_warning, o.payload);
		certpin_policy_freeze(I.p);     /* made as a load makes it: frozen */
		*out = I.p;
		I.p = NULL;
		if (o.anchors) {
			*o.anchors = I.anchors;
			I.anchors = NULL;
		}
	}
	importer_free(&I);
	return rc;
}

int certpin_policy_import_file(certpin_policy **out, const char *path, const certpin_import_options *opts,
	certpin_error *err)
{
	certpin_import_options o = CERTPIN_IMPORT_OPTIONS_INIT;
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int rc;

	certpin_error_clear(err);
	if (out)
		*out = NULL;
	if (opts && opts->version != CERTPIN_IMPORT_OPTIONS_VERSION)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "import options of an unknown version");
	if (opts)
		o = *opts;
	if (o.anchors)
		*o.anchors = NULL;
	if (!out || !path)
		return certpin_error_set(err, CERTPIN_E_INVALID_ARG, NULL, 0, "%s", out ? "no file name" :
			"no place for the policy");
	if (!(f = fopen(path, "rb")))
		return certpin_error_set(err, CERTPIN_E_IO, NULL, 0, "%s: %s", path, strerror(errno));
	if (!(buf = malloc(CERTPIN_IMPORT_MAX_SIZE + 1))) {
		fclose(f);
		return certpin_error_set(err, CERTPIN_E_NOMEM, NULL, 0, "%s: out of memory", path);
	}
	n = fread(buf, 1, CERTPIN_IMPORT_MAX_SIZE + 1, f);
	if (ferror(f))
		rc = certpin_error_set(err, CERTPIN_E_IO, NULL, 0, "%s: read error (is it a directory?)", path);
	else if (n > CERTPIN_IMPORT_MAX_SIZE)
		rc = certpin_error_set(err, CERTPIN_E_POLICY, NULL, 0, "%s: input larger than %u bytes", path,
			CERTPIN_IMPORT_MAX_SIZE);
	else {
		if (!o.name)
			o.name = path;
		rc = certpin_policy_import_data(out, buf, n, &o, err);
	}
	fclose(f);
	free(buf);
	return rc;
}

int certpin_import_format_parse(certpin_import_format *out, const char *name)
{
	static const struct {
		const char *name;
		certpin_import_format format;
	} names[] = {
		{ "auto", CERTPIN_IMPORT_AUTO }, { "json", CERTPIN_IMPORT_JSON },
		{ "android", CERTPIN_IMPORT_ANDROID_NSC }, { "nsc", CERTPIN_IMPORT_ANDROID_NSC },
		{ "pins", CERTPIN_IMPORT_PIN_LIST }, { "okhttp", CERTPIN_IMPORT_PIN_LIST },
		{ "curl", CERTPIN_IMPORT_PIN_LIST },
	};

	if (!out || !name)
		return CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < TOOLS_ARRAY_LEN(names); i++) {
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].format;
			return CERTPIN_OK;
		}
	}
	return CERTPIN_E_INVALID_ARG;
}

const char *certpin_import_format_name(certpin_import_format format)
{
	switch (format) {
	case CERTPIN_IMPORT_AUTO: return "auto";
	case CERTPIN_IMPORT_JSON: return "json";
	case CERTPIN_IMPORT_ANDROID_NSC: return "android";
	case CERTPIN_IMPORT_PIN_LIST: return "pins";
	}
	return "unknown";
}
