/* The HOSTS-FILE parser of "certpin monitor".  See hostsfile.h. */
#include "hostsfile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split HOST[:PORT], [V6]:PORT, [V6] or a bare IPv6 literal.  0 or -1 with `why`. */
static int split_endpoint(char *host, size_t hostlen, char port[8], const char *tok, size_t toklen, const char **why)
{
	const char *h = tok, *p = NULL;
	size_t hl, pl = 0;

	if (toklen > 0 && tok[0] == '[') {
		const char *end = memchr(tok, ']', toklen);

		if (!end) {
			*why = "missing ']' after an IPv6 address";
			return -1;
		}
		h = tok + 1;
		hl = (size_t)(end - h);
		if ((size_t)(end - tok) + 1 < toklen) {
			if (end[1] != ':') {
				*why = "expected ':' and a port after ']'";
				return -1;
			}
			p = end + 2;
			pl = toklen - (size_t)(p - tok);
		}
		if (!memchr(h, ':', hl)) {
			*why = "brackets are for IPv6 addresses only";
			return -1;
		}
	} else {
		const char *c1 = memchr(tok, ':', toklen);

		if (c1 && memchr(c1 + 1, ':', toklen - (size_t)(c1 + 1 - tok))) {
			hl = toklen;        /* bare IPv6 literal, default port */
		} else if (c1) {
			hl = (size_t)(c1 - tok);
			p = c1 + 1;
			pl = toklen - hl - 1;
		} else {
			hl = toklen;
		}
	}
	if (hl == 0 || hl >= hostlen) {
		*why = hl == 0 ? "empty host" : "host name too long";
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!p) {
		memcpy(port, "443", 4);
		return 0;
	}
	unsigned long v = 0;
	for (size_t i = 0; i < pl && pl <= 5; i++) {
		if (p[i] < '0' || p[i] > '9') {
			pl = 0;
			break;
		}
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (pl == 0 || pl > 5 || v == 0 || v > 65535) {
		*why = "port must be a number from 1 to 65535";
		return -1;
	}
	snprintf(port, 8, "%lu", v);
	return 0;
}

static int normalize(char *out, size_t outlen, int *is_ip, const char *name)
{
	if (certpin_hostname_normalize(out, outlen, name) != CERTPIN_OK)
		return -1;
	unsigned char buf[sizeof(struct in6_addr)];

	*is_ip = inet_pton(AF_INET, out, buf) == 1 || inet_pton(AF_INET6, out, buf) == 1;
	return 0;
}

/* Up to 3 blank-separated fields of a line (comment removed); their number (3: at least 3). */
static size_t split_fields(const char *s, size_t ll, const char *tok[3], size_t tlen[3])
{
	size_t ntok = 0;

	for (size_t i = 0; i < ll;) {
		while (i < ll && is_blank(s[i]))
			i++;
		if (i == ll)
			break;
		size_t start = i;
		while (i < ll && !is_blank(s[i]))
			i++;
		if (ntok == 3)
			break;
		tok[ntok] = s + start;
		tlen[ntok++] = i - start;
	}
	return ntok;
}

/*
 * One line (without its newline): 1 with the endpoint in *e, 0 for a blank
 * or comment line, -1 with the reason in `err`.
 */
static int parse_line(hf_entry *e, const char *s, size_t ll, unsigned int line, char *err, size_t errlen)
{
	const char *tok[3], *why = NULL, *hash;
	size_t tlen[3], ntok;
	char raw[CERTPIN_HOSTNAME_MAX + 8];

	if (ll > 0 && s[ll - 1] == '\r')
		ll--;
	if ((hash = memchr(s, '#', ll)) != NULL)
		ll = (size_t)(hash - s);
	ntok = split_fields(s, ll, tok, tlen);
	if (ntok == 0)
		return 0;
	if (ntok > 2) {
		snprintf(err, errlen, "line %u: expected HOST[:PORT] [SERVERNAME], found a third field", line);
		return -1;
	}
	for (size_t t = 0; t < ntok; t++) {
		for (size_t i = 0; i < tlen[t]; i++) {
			unsigned char c = (unsigned char)tok[t][i];
			if (c < 0x21 || c > 0x7e) {
				snprintf(err, errlen, "line %u: control or non-ASCII character", line);
				return -1;
			}
		}
	}
	memset(e, 0, sizeof(*e));
	e->line = line;
	if (split_endpoint(raw, sizeof(raw), e->port, tok[0], tlen[0], &why) != 0) {
		snprintf(err, errlen, "line %u: %s", line, why);
		return -1;
	}
	if (normalize(e->host, sizeof(e->host), &e->host_is_ip, raw) != 0) {
		snprintf(err, errlen, "line %u: invalid host name or address '%.*s'", line, (int)(tlen[0] > 80 ? 80 : tlen[0]),
			tok[0]);
		return -1;
	}
	if (ntok == 1) {
		memcpy(e->servername, e->host, sizeof(e->servername));
		e->servername_is_ip = e->host_is_ip;
		return 1;
	}
	if (tlen[1] >= sizeof(raw)) {
		snprintf(err, errlen, "line %u: server name too long", line);
		return -1;
	}
	memcpy(raw, tok[1], tlen[1]);
	raw[tlen[1]] = '\0';
	if (normalize(e->servername, sizeof(e->servername), &e->servername_is_ip, raw) != 0) {
		snprintf(err, errlen, "line %u: invalid server name '%.*s'", line, (int)(tlen[1] > 80 ? 80 : tlen[1]), tok[1]);
		return -1;
	}
	return 1;
}

int hostsfile_parse(hf_entry **out, size_t *count, const char *data, size_t len, char *err, size_t errlen)
{
	hf_entry *v = NULL;
	size_t n = 0, cap = 0, pos = 0;
	unsigned int line = 0;

	*out = NULL;
	*count = 0;
	if (memchr(data, '\0', len)) {
		snprintf(err, errlen, "NUL byte in the hosts file");
		return -1;
	}
	while (pos < len) {
		const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - s) : len - pos;
		hf_entry e;
		int rc;

		pos += ll + (nl ? 1 : 0);
		line++;
		if (ll > HF_MAX_LINE) {
			snprintf(err, errlen, "line %u: longer than %d bytes", line, HF_MAX_LINE);
			goto fail;
		}
		if ((rc = parse_line(&e, s, ll, line, err, errlen)) < 0)
			goto fail;
		if (rc == 0)
			continue;
		if (n == HF_MAX_ENTRIES) {
			snprintf(err, errlen, "line %u: more than %d entries", line, HF_MAX_ENTRIES);
			goto fail;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			hf_entry *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(v);
				return -2;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = e;
	}
	if (n == 0) {
		snprintf(err, errlen, "no hosts (expected lines HOST[:PORT] [SERVERNAME])");
		goto fail;
	}
	*out = v;
	*count = n;
	return 0;
fail:
	free(v);
	return -1;
}

void hostsfile_endpoint(char *out, size_t outlen, const hf_entry *e)
{
	snprintf(out, outlen, strchr(e->host, ':') ? "[%s]:%s" : "%s:%s", e->host, e->port);
}
