/*
 * What every importer shares (import_internal.h): errors and warnings with
 * the input's name and line, adding rules and pins to the policy being
 * built, and the Android trust anchors kept beside the policy.
 */
#include "import_internal.h"

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

/* Messages are one line: control characters from the input (a newline in a name, libxml2's own) become spaces. */
static void one_line(char *msg)
{
	for (; *msg; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = ' ';
}

int certpin_tools__import_fail(certpin_tools__importer *I, long line, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(msg);
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
	one_line(msg);
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
