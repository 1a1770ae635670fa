/* Error codes: one message table. */
#include "internal.h"

static const struct {
	int code;
	const char *name;
	const char *msg;
} errors[] = {
	{ CERTPIN_OK, "ok", "success" },
	{ CERTPIN_E_PIN_MISMATCH, "pin-mismatch", "no pin of the host's pinset matches the verified certificate chain" },
	{ CERTPIN_E_PINSET_EXPIRED, "pinset-expired", "the host's pinset has expired and its policy is fail-closed" },
	{ CERTPIN_E_INVALID_ARG, "invalid-argument", "invalid argument" },
	{ CERTPIN_E_NOMEM, "out-of-memory", "out of memory" },
	{ CERTPIN_E_PIN_SYNTAX, "pin-syntax", "malformed pin string" },
	{ CERTPIN_E_PIN_LENGTH, "pin-length", "pin digest is not 32 bytes (SHA-256)" },
	{ CERTPIN_E_UNSUPPORTED, "unsupported", "unsupported algorithm, key type or format" },
	{ CERTPIN_E_POLICY, "policy", "invalid pinning policy" },
	{ CERTPIN_E_HOSTNAME, "hostname", "invalid or missing hostname" },
	{ CERTPIN_E_DUPLICATE, "duplicate-host", "defined more than once (host pattern, pin or key)" },
	{ CERTPIN_E_NOT_FOUND, "not-found", "no such host in the policy" },
	{ CERTPIN_E_IO, "io", "file could not be read or written" },
	{ CERTPIN_E_DECODE, "decode", "could not decode PEM/DER input" },
	{ CERTPIN_E_CHAIN, "chain", "verified certificate chain missing or unreadable" },
	{ CERTPIN_E_PKIX, "pkix", "certificate chain failed PKIX validation" },
	{ CERTPIN_E_TLS, "tls", "TLS library error" },
	{ CERTPIN_E_STATE, "state", "not valid in this state (no pin check on this connection, or a frozen policy)" },
	{ CERTPIN_E_REPORT, "report", "malformed failure report" },
	{ CERTPIN_E_BUSY, "busy", "queue full or timed out" },
	{ CERTPIN_E_BUNDLE, "bundle", "malformed signed policy bundle" },
	{ CERTPIN_E_SIGNATURE, "signature", "bundle signature does not verify" },
	{ CERTPIN_E_UNTRUSTED_KEY, "untrusted-key", "bundle signed by a key that is not trusted" },
	{ CERTPIN_E_ROLLBACK, "rollback", "bundle version is not newer than the stored bundle" },
	{ CERTPIN_E_EXPIRED_BUNDLE, "expired-bundle", "bundle has expired" },
	{ CERTPIN_E_STORE, "store", "stored state file is corrupt" },
	{ CERTPIN_E_LOCKED, "locked", "store lock not acquired in time" },
};

const char *certpin_strerror(int err)
{
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(errors); i++)
		if (errors[i].code == err)
			return errors[i].msg;
	return "unknown error";
}

const char *certpin_error_name(int err)
{
	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(errors); i++)
		if (errors[i].code == err)
			return errors[i].name;
	return "unknown";
}

void certpin_error_clear(certpin_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

__attribute__((format(printf, 5, 0)))
static int error_setv(certpin_error *err, int code, const char *path, unsigned long line, const char *fmt,
	va_list ap)
{
	if (!err)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	if (path)
		snprintf(err->path, sizeof(err->path), "%s", path);
	err->line = line;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	return code;
}

int certpin_error_set(certpin_error *err, int code, const char *path, unsigned long line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setv(err, code, path, line, fmt, ap);
	va_end(ap);
	return code;
}

const char *certpin_version(void)
{
	return CERTPIN_VERSION_STRING;
}
