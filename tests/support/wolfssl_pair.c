/*
 * wolfssl_pair: see wolfssl_pair.h.  Built into the test support library
 * only when the build has the wolfSSL adapter.
 */
#include "wolfssl_pair.h"
#include "certpin/wolfssl.h"
#include "test.h"

/* ---- material ------------------------------------------------------------------------ */

certpin_pin wt_pin_named(const char *name)
{
	char *txt = test_read_file(test_pki("pins.txt"), NULL);
	certpin_pin pin;
	size_t nl = strlen(name);
	int found = 0;

	memset(&pin, 0, sizeof(pin));
	for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ')
			found = certpin_pin_parse(&pin, line + nl + 1, strlen(line + nl + 1)) == CERTPIN_OK;
	free(txt);
	if (!found) {
		fprintf(stderr, "wolfssl_pair: no pin %s in pins.txt\n", name);
		exit(2);
	}
	return pin;
}

/* A policy with one rule for `pattern`: `pins` at `pos`, in `mode`. */
certpin_policy *wt_policy_of(const char *pattern, const char *const *pins, size_t npins, certpin_position pos,
	certpin_mode mode)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;

	ho.pattern = pattern;
	ho.mode = mode;
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK)
		exit(2);
	for (size_t i = 0; i < npins; i++) {
		certpin_pin pin = wt_pin_named(pins[i]);
		if (certpin_policy_add_pin(p, pattern, &pin, pos, NULL, NULL) != CERTPIN_OK)
			exit(2);
	}
	return p;
}

certpin_policy *wt_pinning(const char *pin, certpin_position pos)
{
	return wt_policy_of(HOST, &pin, 1, pos, CERTPIN_MODE_ENFORCE);
}

/* A file in the test's directory holding the PKI files `parts` one after the other. */
const char *wt_concat(const char *name, const char *const *parts, size_t n)
{
	static char path[8][4096];
	static int slot;
	char *p = path[slot++ % 8];
	FILE *out;

	snprintf(p, 4096, "%s/%s", test_tmpdir(), name);
	if (!(out = fopen(p, "w")))
		exit(2);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *s = test_read_file(test_pki(parts[i]), &len);
		fwrite(s, 1, len, out);
		free(s);
	}
	fclose(out);
	return p;
}

/* ---- a wolfSSL server and client over memory ------------------------------------------ */

typedef struct mem {
	unsigned char b[1 << 16];
	size_t len, off;
} mem;
static mem c2s, s2c;

static int mem_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	mem *m = ctx;
	size_t n = m->len - m->off;

	(void)ssl;
	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	n = n < (size_t)sz ? n : (size_t)sz;
	memcpy(buf, m->b + m->off, n);
	m->off += n;
	if (m->off == m->len)
		m->off = m->len = 0;
	return (int)n;
}

static int mem_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	mem *m = ctx;

	(void)ssl;
	if ((size_t)sz > sizeof(m->b) - m->len)
		return WOLFSSL_CBIO_ERR_GENERAL;
	memcpy(m->b + m->len, buf, (size_t)sz);
	m->len += (size_t)sz;
	return sz;
}

static void wire(WOLFSSL *ssl, mem *in, mem *out)
{
	wolfSSL_SSLSetIORecv(ssl, mem_recv);
	wolfSSL_SSLSetIOSend(ssl, mem_send);
	wolfSSL_SetIOReadCtx(ssl, in);
	wolfSSL_SetIOWriteCtx(ssl, out);
}

void wt_rewire(WOLFSSL *c)
{
	c2s.len = c2s.off = s2c.len = s2c.off = 0;
	wire(c, &s2c, &c2s);
}

/* A server context sending `chain` (a PKI name or a path) and proving `key`; TLS 1.3 or 1.2 only. */
WOLFSSL_CTX *wt_server(const char *chain, const char *key, int tls13)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method());

	if (!ctx || wolfSSL_CTX_use_certificate_chain_file(ctx, chain[0] == '/' ? chain : test_pki(chain)) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_file(ctx, test_pki(key), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfssl_pair: server %s %s\n", chain, key);
		exit(2);
	}
	return ctx;
}

/* An ordinary client context trusting the PKI files `cas` (NULL-terminated; none: nothing). */
WOLFSSL_CTX *wt_client_with(const char *const *cas)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());

	if (!ctx || wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
		exit(2);
	for (size_t i = 0; cas && cas[i]; i++)
		if (wolfSSL_CTX_load_verify_locations(ctx, test_pki(cas[i]), NULL) != WOLFSSL_SUCCESS)
			exit(2);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
	return ctx;
}

WOLFSSL_CTX *wt_client(const char *ca)
{
	const char *cas[] = { ca, NULL };
	return wt_client_with(ca ? cas : NULL);
}

int wt_last_error; /* wolfSSL_get_error() of the client's failed handshake */

/*
 * One handshake of `c` with a new connection of `sctx`, then a byte each
 * way (so that a TLS 1.3 client takes its tickets in).  1 if both finished.
 */
int wt_handshake(WOLFSSL *c, WOLFSSL_CTX *sctx)
{
	WOLFSSL *s = wolfSSL_new(sctx);
	int cd = 0, sd = 0, r;
	char b;

	c2s.len = c2s.off = s2c.len = s2c.off = 0;
	wt_last_error = 0;
	wire(c, &s2c, &c2s);
	wire(s, &c2s, &s2c);
	for (int turn = 0; turn < 16 && !(cd && sd); turn++) {
		if (!cd && (r = wolfSSL_connect(c)) == WOLFSSL_SUCCESS)
			cd = 1;
		else if (!cd && (wt_last_error = wolfSSL_get_error(c, r)) != WOLFSSL_ERROR_WANT_READ)
			break;
		if (!sd && (r = wolfSSL_accept(s)) == WOLFSSL_SUCCESS)
			sd = 1;
		else if (!sd && wolfSSL_get_error(s, r) != WOLFSSL_ERROR_WANT_READ)
			break;
	}
	if (cd && sd && (wolfSSL_write(s, "x", 1) != 1 || wolfSSL_read(c, &b, 1) != 1 || wolfSSL_write(c, "y", 1) != 1 ||
			 wolfSSL_read(s, &b, 1) != 1))
		cd = 0;
	wolfSSL_free(s);
	return cd && sd;
}

/* A connection of `cctx` named `host` (NULL: none), its handshake with `sctx`; the WOLFSSL (release it). */
WOLFSSL *wt_connect_to(WOLFSSL_CTX *cctx, WOLFSSL_CTX *sctx, const char *host, int *ok)
{
	WOLFSSL *c = wolfSSL_new(cctx);

	if (!c)
		exit(2);
	if (host)
		CHECK_INT(certpin_wolfssl_set_host(c, host), CERTPIN_OK);
	*ok = wt_handshake(c, sctx);
	return c;
}

void wt_done(WOLFSSL *c)
{
	certpin_wolfssl_release(c);
	wolfSSL_free(c);
}

void wt_ctx_done(WOLFSSL_CTX *ctx)
{
	certpin_wolfssl_ctx_detach(ctx);
	wolfSSL_CTX_free(ctx);
}

/* One connection to HOST with `policy` attached to a client trusting `ca`; the result code, *res, *connected. */
int wt_check_once(const char *chain, const char *key, const char *ca, certpin_policy *policy, certpin_result *res,
	int *connected)
{
	WOLFSSL_CTX *cctx = wt_client(ca), *sctx = wt_server(chain, key, 1);
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, policy, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wt_connect_to(cctx, sctx, HOST, &ok);
	int rc = certpin_wolfssl_result(res, c);
	*connected = ok;
	wt_done(c);
	wt_ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	return rc;
}
