/* libcertpin-tools' small shared helpers: warning lists, growable text, growable arrays. */
#include "tools_internal.h"

#include <stdint.h>

void *certpin_tools__grow(void *arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *np;

	if (need <= *cap && arr)
		return arr;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / size)
			return NULL;
		ncap *= 2;
	}
	if (!(np = realloc(arr, ncap * size)))
		return NULL;
	*cap = ncap;
	return np;
}

void certpin_tools__warn(certpin_tools__warnings *W, unsigned long line, const char *fmt, ...)
{
	char msg[sizeof(W->w->message)];
	va_list ap;

	if (W->nomem)
		return;
	certpin_error *nw = certpin_tools__grow(W->w, &W->cap, W->n + 1, sizeof(*nw));

	if (!nw) {
		W->nomem = true;
		return;
	}
	W->w = nw;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	certpin_error_set(&W->w[W->n++], CERTPIN_OK, NULL, line, "%s", msg);
}

void certpin_tools__warnings_deliver(certpin_tools__warnings *W, certpin_warning_cb cb, void *payload)
{
	for (size_t i = 0; cb && i < W->n; i++)
		cb(&W->w[i], payload);
	certpin_tools__warnings_free(W);
}

void certpin_tools__warnings_free(certpin_tools__warnings *W)
{
	free(W->w);
	memset(W, 0, sizeof(*W));
}

void certpin_tools__append(certpin_tools__text *t, const char *s, size_t n)
{
	if (t->nomem)
		return;
	char *ns = certpin_tools__grow(t->s, &t->cap, t->len + n + 1, 1);

	if (!ns) {
		t->nomem = true;
		return;
	}
	t->s = ns;
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

void certpin_tools__puts(certpin_tools__text *t, const char *s)
{
	certpin_tools__append(t, s, strlen(s));
}

void certpin_tools__printf(certpin_tools__text *t, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->nomem = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		certpin_tools__append(t, small, (size_t)n);
		return;
	}
	if (!(big = malloc((size_t)n + 1))) {
		t->nomem = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	certpin_tools__append(t, big, (size_t)n);
	free(big);
}

char *certpin_tools__take(certpin_tools__text *t)
{
	char *s = t->nomem ? NULL : t->s ? t->s : calloc(1, 1);

	if (t->nomem)
		free(t->s);
	memset(t, 0, sizeof(*t));
	return s;
}

void certpin_tools__text_free(certpin_tools__text *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}
