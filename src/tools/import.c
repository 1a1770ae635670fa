/*
 * Import a policy from other pinning formats (certpin/tools.h): the entry
 * points.  The formats are in import_android.c (network_security_config.xml),
 * import_pins.c and import_okhttp.c (pin lists, OkHttp), import_trustkit.c
 * (TrustKit: import_plist.c, import_tksource.c); what they share in
 * import_rules.c.
 */
#include "import_internal.h"

#include <errno.h>

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static bool contains(const char *data, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= len; i++)
		if (data[i] == s[0] && memcmp(data + i, s, n) == 0)
			return true;
	return false;
}

/* XML: its first element (after the declaration, comments, PIs and a DOCTYPE) is <plist>? */
static bool is_plist(const char *data, size_t len, size_t i)
{
	while (i < len) {
		if (data[i] != '<') {
			i++;
		} else if (len - i >= 4 && memcmp(data + i, "<!--", 4) == 0) {
			while (i < len && !(len - i >= 3 && memcmp(data + i, "-->", 3) == 0))
				i++;
		} else if (len - i >= 2 && (data[i + 1] == '?' || data[i + 1] == '!')) {
			if (len - i >= 15 && memcmp(data + i, "<!DOCTYPE plist", 15) == 0)
				return true;
			i += 2;
		} else {
			return len - i >= 7 && memcmp(data + i, "<plist", 6) == 0 &&
				(data[i + 6] == '>' || certpin_tools__is_space((unsigned char)data[i + 6]));
		}
	}
	return false;
}

static certpin_import_format detect(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && certpin_tools__is_space((unsigned char)data[i]))
		i++;
	if (i < len && data[i] == '{')
		return CERTPIN_IMPORT_JSON;
	if (len - i >= 6 && memcmp(data + i, "bplist", 6) == 0)
		return CERTPIN_IMPORT_TRUSTKIT;
	if (i < len && data[i] == '<')
		return is_plist(data, len, i) ? CERTPIN_IMPORT_TRUSTKIT : CERTPIN_IMPORT_ANDROID_NSC;
	/* TrustKit source: its configuration key or its initializer, anywhere */
	if (contains(data, len, "TSKPinnedDomains") || contains(data, len, "initSharedInstance"))
		return CERTPIN_IMPORT_TRUSTKIT;
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
	case CERTPIN_IMPORT_TRUSTKIT:
		return certpin_tools__import_trustkit(I, data, len);
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
		{ "curl", CERTPIN_IMPORT_PIN_LIST }, { "trustkit", CERTPIN_IMPORT_TRUSTKIT },
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
	case CERTPIN_IMPORT_TRUSTKIT: return "trustkit";
	}
	return "unknown";
}
