/*
 * Import pin lists: curl --pinnedpubkey strings and "host pin..." lines;
 * OkHttp CertificatePinner.Builder source goes to import_okhttp.c.  See
 * PIN_LIST in certpin/tools.h.
 */
#include "import_internal.h"

#define LIST_MAX_TOKENS 4096    /* pins on one line of a pin list */

#define fail(...) certpin_tools__import_fail(__VA_ARGS__)
#define nomem(I) certpin_tools__import_nomem(I)
#define warn(...) certpin_tools__import_warn(__VA_ARGS__)
#define is_space(c) certpin_tools__is_space(c)

int certpin_tools__import_host_pins(certpin_tools__importer *I, long line, const char *pattern,
	const certpin_pin *pins, const certpin_position *pos, size_t n)
{
	int rc;

	if (!pattern) {
		if (!I->default_host)
			return fail(I, line, "pins without a host (give a default host, e.g. certpin import --host HOST)");
		pattern = I->default_host;
	}
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	o.pattern = pattern;
	if ((rc = certpin_tools__import_rule(I, line, &o, true)))
		return rc;
	for (size_t k = 0; k < n; k++)
		if ((rc = certpin_tools__import_pin(I, line, pattern, &pins[k], pos ? pos[k] : CERTPIN_POS_ANY)))
			return rc;
	return CERTPIN_OK;
}

/*
 * A pin in curl's --pinnedpubkey form, "sha256//B64" (not "sha256/" and a
 * 44-character digest that happens to start with '/').  curl checks these
 * against the leaf certificate's key only, so they are imported at position
 * leaf.
 */
static bool is_curl_pin(const char *s, size_t n)
{
	return n >= 8 && memcmp(s, "sha256//", 8) == 0 && n != 7 + 44;
}

static bool is_list_sep(int c)
{
	return is_space(c) || c == ',' || c == ';';
}

/* One line of a pin list (without the newline). */
static int list_line(certpin_tools__importer *I, long line, const char *s, size_t len, certpin_pin *pins, certpin_position *pos)
{
	char host[CERTPIN_HOSTNAME_MAX + 8];
	bool have_host = false;
	size_t npins = 0, ntok = 0, i = 0;
	int rc;

	while (len > 0 && is_space((unsigned char)s[len - 1]))
		len--;
	while (i < len && is_space((unsigned char)s[i]))
		i++;
	if (i == len || s[i] == '#' || (len - i >= 2 && s[i] == '/' && s[i + 1] == '/'))
		return CERTPIN_OK;
	while (i < len) {
		while (i < len && is_list_sep((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		if (s[i] == '#')        /* comment to the end of the line */
			break;
		size_t start = i;
		while (i < len && !is_list_sep((unsigned char)s[i]))
			i++;
		size_t end = i;
		if (npins == LIST_MAX_TOKENS)
			return fail(I, line, "more than %d pins on one line", LIST_MAX_TOKENS);
		/* As is first: pin-sha256="B64" ends with a quote. */
		rc = certpin_pin_parse(&pins[npins], s + start, end - start);
		if (rc == CERTPIN_OK) {
			pos[npins] = is_curl_pin(s + start, end - start) ? CERTPIN_POS_LEAF : CERTPIN_POS_ANY;
			ntok++;
			npins++;
			continue;
		}
		/* Quotes left over from a copied shell command: 'sha256//A;sha256//B'. */
		while (start < end && (s[start] == '\'' || s[start] == '"'))
			start++;
		while (end > start && (s[end - 1] == '\'' || s[end - 1] == '"'))
			end--;
		if (end - start >= 15 && memcmp(s + start, "--pinnedpubkey=", 15) == 0)
			start += 15;
		else if (end - start == 14 && memcmp(s + start, "--pinnedpubkey", 14) == 0)
			continue;
		if (start == end)
			continue;
		ntok++;
		rc = certpin_pin_parse(&pins[npins], s + start, end - start);
		if (rc == CERTPIN_OK) {
			pos[npins] = is_curl_pin(s + start, end - start) ? CERTPIN_POS_LEAF : CERTPIN_POS_ANY;
			npins++;
			continue;
		}
		if (ntok == 1 && end - start < sizeof(host)) {
			char norm[CERTPIN_PATTERN_MAX];
			memcpy(host, s + start, end - start);
			host[end - start] = '\0';
			if (certpin_pattern_normalize(norm, sizeof(norm), host, 0) == CERTPIN_OK) {
				have_host = true;
				continue;
			}
		}
		if (ntok == 1 && rc == CERTPIN_E_PIN_SYNTAX)
			return fail(I, line, "\"%.*s\" is neither a pin nor a host name", (int)(end - start > 80 ?
				80 : end - start), s + start);
		return fail(I, line, "bad pin \"%.*s\": %s", (int)(end - start > 80 ? 80 : end - start),
			s + start, certpin_strerror(rc));
	}
	if (npins == 0) {
		if (have_host)
			return fail(I, line, "host \"%s\" without pins", host);
		return CERTPIN_OK;
	}
	return certpin_tools__import_host_pins(I, line, have_host ? host : NULL, pins, pos, npins);
}

/* "HOST PIN..." lines, curl strings and bare pins, one line at a time. */
static int list_lines(certpin_tools__importer *I, const char *data, size_t len, certpin_pin *pins,
	certpin_position *pos)
{
	long line = 1;
	size_t start = 0;
	int rc = CERTPIN_OK;

	for (size_t i = 0; i <= len && rc == CERTPIN_OK; i++) {
		if (i == len || data[i] == '\n') {
			rc = list_line(I, line, data + start, i - start, pins, pos);
			start = i + 1;
			line++;
		}
	}
	return rc;
}

int certpin_tools__import_pins(certpin_tools__importer *I, const char *data, size_t len)
{
	certpin_pin *pins = malloc(LIST_MAX_TOKENS * sizeof(*pins));
	certpin_position *pos = malloc(LIST_MAX_TOKENS * sizeof(*pos));
	int rc;

	if (!pins || !pos) {
		free(pins);
		free(pos);
		return nomem(I);
	}
	if (memchr(data, '\0', len)) {
		rc = fail(I, 0, "NUL byte in a pin list");
		goto done;
	}
	if (I->default_host) {
		char norm[CERTPIN_PATTERN_MAX];
		if (certpin_pattern_normalize(norm, sizeof(norm), I->default_host, 0) != CERTPIN_OK) {
			rc = fail(I, 0, "invalid default host \"%.260s\"", I->default_host);
			goto done;
		}
	}
	if (certpin_tools__okhttp_detect(data, len))
		rc = certpin_tools__import_okhttp(I, data, len);
	else
		rc = list_lines(I, data, len, pins, pos);
	if (rc == CERTPIN_OK && certpin_policy_host_count(I->p) == 0)
		rc = fail(I, 0, "no pins found");
done:
	free(pins);
	free(pos);
	return rc;
}
