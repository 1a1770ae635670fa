/* Pin values: parse and format pin strings, base64, dates. */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int certpin__b64_encode(char *out, size_t outlen, const unsigned char *in, size_t len)
{
	size_t need = (len + 2) / 3 * 4;
	size_t o = 0;

	if (outlen < need + 1)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64chars[(v >> 18) & 63];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* Base64 digit values, -1 for anything else. */
static const signed char b64_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63, 52, 53, 54, 55, 56, 57, 58, 59,
	60, 61, -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
	21, 22, 23, 24, 25, -1, -1, -1, -1, -1, -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
	43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	/* 0x80-0xff: none (the rest of the array is -1 below) */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64val(char c)
{
	return b64_values[(unsigned char)c];
}

int certpin__b64_decode(unsigned char *out, size_t outlen, const char *in, size_t len)
{
	size_t o = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = in[i + k];
			if (c == '=') {
				/* padding only at the very end, at most two, nothing after it */
				if (i + 4 != len || k < 2)
					return -1;
				pad++;
				v[k] = 0;
			} else {
				if (pad)
					return -1;
				v[k] = b64val(c);
				if (v[k] < 0)
					return -1;
			}
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
		/* canonical encoding: bits below the last full byte must be zero */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		size_t nbytes = 3 - (size_t)pad;
		if (o + nbytes > outlen)
			return -2;
		out[o++] = (unsigned char)(w >> 16);
		if (nbytes > 1)
			out[o++] = (unsigned char)(w >> 8);
		if (nbytes > 2)
			out[o++] = (unsigned char)w;
	}
	return (int)o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 64 hex digits, optionally every byte separated by ':'. */
static int parse_hex(unsigned char *digest, const char *s, size_t len)
{
	size_t i = 0, nbytes = 0;
	bool colons = len > 2 && s[2] == ':';
	unsigned char tmp[CERTPIN_DIGEST_LEN];

	while (i < len) {
		if (nbytes > 0 && colons) {
			if (s[i] != ':')
				return CERTPIN_E_PIN_SYNTAX;
			i++;
		}
		if (i + 2 > len)
			return CERTPIN_E_PIN_SYNTAX;
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return CERTPIN_E_PIN_SYNTAX;
		if (nbytes == CERTPIN_DIGEST_LEN)
			return CERTPIN_E_PIN_LENGTH;
		tmp[nbytes++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	if (nbytes != CERTPIN_DIGEST_LEN)
		return CERTPIN_E_PIN_LENGTH;
	memcpy(digest, tmp, sizeof(tmp));
	return CERTPIN_OK;
}

static int parse_b64(unsigned char *digest, const char *s, size_t len)
{
	unsigned char tmp[CERTPIN_DIGEST_LEN + 3];
	int n = certpin__b64_decode(tmp, sizeof(tmp), s, len);

	if (n == -2)
		return CERTPIN_E_PIN_LENGTH;
	if (n < 0)
		return CERTPIN_E_PIN_SYNTAX;
	if (n != CERTPIN_DIGEST_LEN)
		return CERTPIN_E_PIN_LENGTH;
	memcpy(digest, tmp, CERTPIN_DIGEST_LEN);
	return CERTPIN_OK;
}

static bool all_hexish(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (hexval(s[i]) < 0 && s[i] != ':')
			return false;
	return true;
}

/* Map an algorithm token to a pin kind; 0 for a known-but-unsupported hash, -1 for unknown. */
static int alg_kind(const char *tok, size_t len)
{
	static const char *const other[] = { "sha1", "sha224", "sha384", "sha512", "md5", "sha3-256", "sha512-256" };
	if (len == 6 && strncasecmp(tok, "sha256", 6) == 0)
		return CERTPIN_PIN_SPKI_SHA256;
	if (len == 11 && strncasecmp(tok, "cert-sha256", 11) == 0)
		return CERTPIN_PIN_CERT_SHA256;
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(other); i++)
		if (strlen(other[i]) == len && strncasecmp(tok, other[i], len) == 0)
			return 0;
	if (len > 5 && strncasecmp(tok, "cert-", 5) == 0)
		return alg_kind(tok + 5, len - 5) >= 0 ? 0 : -1;
	return -1;
}

int certpin_pin_parse(certpin_pin *out, const char *str, size_t len)
{
	size_t tok = 0;
	int rc, kind;
	certpin_pin pin;

	if (!out || (!str && len))
		return CERTPIN_E_INVALID_ARG;
	while (len && isspace((unsigned char)*str))
		str++, len--;
	while (len && isspace((unsigned char)str[len - 1]))
		len--;
	if (len == 0)
		return CERTPIN_E_PIN_SYNTAX;
	if (memchr(str, '\0', len))
		return CERTPIN_E_PIN_SYNTAX;

	while (tok < len && (isalnum((unsigned char)str[tok]) || str[tok] == '-'))
		tok++;

	memset(&pin, 0, sizeof(pin));
	if (tok == len) {
		/* bare hex */
		if (!all_hexish(str, len))
			return CERTPIN_E_PIN_SYNTAX;
		pin.kind = CERTPIN_PIN_SPKI_SHA256;
		rc = parse_hex(pin.digest, str, len);
	} else if (str[tok] == ':' && tok > 0) {
		kind = alg_kind(str, tok);
		if (kind < 0 && all_hexish(str, len)) {
			/* colon-separated bare hex such as "ab:cd:..." */
			pin.kind = CERTPIN_PIN_SPKI_SHA256;
			rc = parse_hex(pin.digest, str, len);
		} else if (kind <= 0) {
			return kind == 0 ? CERTPIN_E_UNSUPPORTED : CERTPIN_E_PIN_SYNTAX;
		} else {
			pin.kind = (certpin_pin_kind)kind;
			rc = parse_hex(pin.digest, str + tok + 1, len - tok - 1);
		}
	} else if (str[tok] == '/' && tok > 0) {
		kind = alg_kind(str, tok);
		if (kind <= 0)
			return kind == 0 ? CERTPIN_E_UNSUPPORTED : CERTPIN_E_PIN_SYNTAX;
		size_t start = tok + 1;
		/*
		 * "sha256//X" is curl's form, unless X after the single slash is
		 * already a whole 44-character digest: base64 may begin with '/'.
		 */
		if (start < len && str[start] == '/' && len - start != 44) {
			if (kind != CERTPIN_PIN_SPKI_SHA256)
				return CERTPIN_E_PIN_SYNTAX; /* curl form exists only for SPKI pins */
			start++;
		}
		pin.kind = (certpin_pin_kind)kind;
		rc = parse_b64(pin.digest, str + start, len - start);
	} else if (str[tok] == '=' && tok > 4 && strncasecmp(str, "pin-", 4) == 0) {
		kind = alg_kind(str + 4, tok - 4);
		if (kind <= 0 || kind == CERTPIN_PIN_CERT_SHA256)
			return kind == 0 ? CERTPIN_E_UNSUPPORTED : CERTPIN_E_PIN_SYNTAX;
		const char *v = str + tok + 1;
		size_t vlen = len - tok - 1;
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			v++, vlen -= 2;
		else if (vlen >= 1 && (v[0] == '"' || v[vlen - 1] == '"'))
			return CERTPIN_E_PIN_SYNTAX;
		pin.kind = CERTPIN_PIN_SPKI_SHA256;
		rc = parse_b64(pin.digest, v, vlen);
	} else {
		return CERTPIN_E_PIN_SYNTAX;
	}
	if (rc != CERTPIN_OK)
		return rc;
	*out = pin;
	return CERTPIN_OK;
}

static bool is_sep(char c)
{
	return c == ';' || c == ',' || isspace((unsigned char)c);
}

int certpin_pin_parse_list(certpin_pin **out, size_t *count, const char *str, size_t len, size_t *err_offset)
{
	certpin_pin *pins = NULL;
	size_t n = 0, cap = 0, i = 0;
	int rc = CERTPIN_OK;

	if (!out || !count || (!str && len))
		return CERTPIN_E_INVALID_ARG;
	while (i < len) {
		while (i < len && is_sep(str[i]))
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && !is_sep(str[i]))
			i++;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			certpin_pin *np = realloc(pins, ncap * sizeof(*np));
			if (!np) {
				rc = CERTPIN_E_NOMEM;
				goto err;
			}
			pins = np, cap = ncap;
		}
		rc = certpin_pin_parse(&pins[n], str + start, i - start);
		if (rc != CERTPIN_OK) {
			if (err_offset)
				*err_offset = start;
			goto err;
		}
		n++;
	}
	if (n == 0) {
		if (err_offset)
			*err_offset = 0;
		rc = CERTPIN_E_PIN_SYNTAX;
		goto err;
	}
	*out = pins;
	*count = n;
	return CERTPIN_OK;
err:
	free(pins);
	return rc;
}

int certpin_pin_format(char *out, size_t outlen, const certpin_pin *pin, certpin_pin_style style)
{
	char b64[48];
	const char *prefix;
	int n;

	if (!out || !pin || outlen == 0)
		return CERTPIN_E_INVALID_ARG;
	if (pin->kind != CERTPIN_PIN_SPKI_SHA256 && pin->kind != CERTPIN_PIN_CERT_SHA256)
		return CERTPIN_E_INVALID_ARG;
	bool cert = pin->kind == CERTPIN_PIN_CERT_SHA256;
	if (style == CERTPIN_STYLE_HEX) {
		if (outlen < 2 * CERTPIN_DIGEST_LEN + 1)
			return CERTPIN_E_INVALID_ARG;
		for (size_t i = 0; i < CERTPIN_DIGEST_LEN; i++) {
			out[2 * i] = "0123456789abcdef"[pin->digest[i] >> 4];
			out[2 * i + 1] = "0123456789abcdef"[pin->digest[i] & 15];
		}
		out[2 * CERTPIN_DIGEST_LEN] = '\0';
		return CERTPIN_OK;
	}
	certpin__b64_encode(b64, sizeof(b64), pin->digest, CERTPIN_DIGEST_LEN);
	switch (style) {
	case CERTPIN_STYLE_DEFAULT:
		prefix = cert ? "cert-sha256/" : "sha256/";
		n = snprintf(out, outlen, "%s%s", prefix, b64);
		break;
	case CERTPIN_STYLE_CURL:
		if (cert)
			return CERTPIN_E_UNSUPPORTED;
		n = snprintf(out, outlen, "sha256//%s", b64);
		break;
	case CERTPIN_STYLE_HPKP:
		if (cert)
			return CERTPIN_E_UNSUPPORTED;
		n = snprintf(out, outlen, "pin-sha256=\"%s\"", b64);
		break;
	case CERTPIN_STYLE_BASE64:
		n = snprintf(out, outlen, "%s", b64);
		break;
	default:
		return CERTPIN_E_INVALID_ARG;
	}
	if (n < 0 || (size_t)n >= outlen)
		return CERTPIN_E_INVALID_ARG;
	return CERTPIN_OK;
}

int certpin_pin_equal(const certpin_pin *a, const certpin_pin *b)
{
	unsigned char d = 0;

	if (!a || !b || a->kind != b->kind)
		return 0;
	for (size_t i = 0; i < CERTPIN_DIGEST_LEN; i++)
		d |= a->digest[i] ^ b->digest[i];
	return d == 0;
}

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int certpin__parse_time(int64_t *out, const char *s)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0;
	size_t len = strlen(s);

	if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || y < 1970)
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return -1;
	const char *p = s + 10;
	if (*p) {
		if ((*p != 'T' && *p != 't') || strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' ||
		    digits(p + 4, 2, &mi) || p[6] != ':' || digits(p + 7, 2, &se))
			return -1;
		if (h > 23 || mi > 59 || se > 60)
			return -1;
		p += 9;
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				return -1;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			if (strlen(p) != 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
			    oh > 23 || om > 59)
				return -1;
			off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -1;
		}
		if (*p)
			return -1;
	}
	int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
	/* Offsets and leap seconds can carry an instant out of the four-digit-year
	 * range that certpin__format_time writes back; such a date would not reload. */
	if (t < 0 || t > CERTPIN__TIME_MAX)
		return -1;
	*out = t;
	return 0;
}

void certpin__format_time(char *out, size_t outlen, int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	/* civil_from_days */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
		(int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

int certpin_time_parse(int64_t *out, const char *s)
{
	if (!out || !s || certpin__parse_time(out, s) != 0)
		return CERTPIN_E_INVALID_ARG;
	return CERTPIN_OK;
}

int certpin_time_format(char *out, size_t outlen, int64_t t)
{
	if (!out || outlen == 0)
		return CERTPIN_E_INVALID_ARG;
	if (outlen < CERTPIN_TIME_STRLEN || t < 0 || t > CERTPIN__TIME_MAX) {
		out[0] = '\0';
		return CERTPIN_E_INVALID_ARG;
	}
	certpin__format_time(out, outlen, t);
	return CERTPIN_OK;
}
