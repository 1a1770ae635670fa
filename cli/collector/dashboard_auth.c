/*
 * The dashboard's read token (dashboard_auth.h): the token file's checks,
 * the derived cookie, constant-time comparison.
 */
#include "dashboard_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* The label hashed with the token for the cookie value; changing it logs every browser out. */
static const char cookie_label[] = "certpin dashboard cookie v1:";

static int sha256(unsigned char out[32], const void *a, size_t alen, const void *b, size_t blen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, a, alen) == 1 &&
		EVP_DigestUpdate(c, b, blen) == 1 && EVP_DigestFinal_ex(c, out, NULL) == 1;

	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

static int token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		c == '_' || c == '~';
}

int dash_token_set(dash_token *out, const char *text, size_t len, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];

	memset(out, 0, sizeof(*out));
	if (len > 0 && text[len - 1] == '\n')
		len -= len > 1 && text[len - 2] == '\r' ? 2 : 1;
	if (len == 0) {
		snprintf(err, errlen, "is empty");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (!token_char(text[i])) {
			snprintf(err, errlen, "has a character other than A-Z a-z 0-9 - . _ ~ (at byte %zu; the token is one"
				" line, e.g. openssl rand -hex 32)", i + 1);
			return -1;
		}
	}
	if (len < DASH_TOKEN_MIN || len > DASH_TOKEN_MAX) {
		snprintf(err, errlen, "holds a token of %zu characters; it must have %d to %d (e.g. openssl rand -hex 32)",
			len, DASH_TOKEN_MIN, DASH_TOKEN_MAX);
		return -1;
	}
	if (sha256(out->token_sha, text, len, "", 0) != 0 || sha256(d, cookie_label, strlen(cookie_label), text, len) != 0) {
		snprintf(err, errlen, "cannot be hashed (SHA-256 unavailable)");
		return -1;
	}
	for (size_t i = 0; i < 32; i++) {
		out->cookie[2 * i] = hex[d[i] >> 4];
		out->cookie[2 * i + 1] = hex[d[i] & 15];
	}
	out->cookie[64] = '\0';
	OPENSSL_cleanse(d, sizeof(d));
	if (sha256(out->cookie_sha, out->cookie, 64, "", 0) != 0) {
		snprintf(err, errlen, "cannot be hashed (SHA-256 unavailable)");
		return -1;
	}
	return 0;
}

int dash_token_load(dash_token *out, const char *path, char *err, size_t errlen)
{
	char buf[DASH_TOKEN_MAX + 4];
	struct stat sb;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = -1;

	memset(out, 0, sizeof(*out));
	if (fd < 0) {
		snprintf(err, errlen, "cannot be opened: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "is not a regular file");
		goto out;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "may be %s by any user (mode %04o); chmod o-rwx it (e.g. chmod 600)",
			sb.st_mode & S_IROTH ? "read" : "written", (unsigned int)(sb.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot be read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len == sizeof(buf)) {
		snprintf(err, errlen, "is longer than a token of %d characters", DASH_TOKEN_MAX);
		goto out;
	}
	rc = dash_token_set(out, buf, len, err, errlen);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* 1 if SHA-256(candidate) equals `want`. */
static int digest_equal(const unsigned char want[32], const char *candidate)
{
	unsigned char d[32];

	if (!candidate || sha256(d, candidate, strlen(candidate), "", 0) != 0)
		return 0;
	return CRYPTO_memcmp(d, want, 32) == 0;
}

int dash_token_check(const dash_token *t, const char *candidate)
{
	return digest_equal(t->token_sha, candidate);
}

int dash_cookie_check(const dash_token *t, const char *candidate)
{
	return digest_equal(t->cookie_sha, candidate);
}

const char *dash_bearer(const char *authorization)
{
	if (!authorization || strncasecmp(authorization, "Bearer", 6) != 0 ||
		(authorization[6] != ' ' && authorization[6] != '\t'))
		return NULL;
	authorization += 6;
	while (*authorization == ' ' || *authorization == '\t')
		authorization++;
	return authorization;
}
