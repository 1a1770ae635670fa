/*
 * wolfssl_test - the wolfSSL adapter (certpin/wolfssl.h) beyond the attack
 * catalog: results after a refusal, the chain it hands over in the cases
 * where wolfSSL's CA table and the peer's list part ways, resumption,
 * policy swaps, TOFU, pin-only trust, the failure callback, names,
 * application callbacks and wrong arguments.
 *
 * Client and server are both wolfSSL, in this thread, over memory buffers
 * (wolfSSL_SSLSetIORecv/Send): no sockets, every step bounded.  The client
 * context is an ordinary one (the case's trust anchors, WOLFSSL_VERIFY_PEER),
 * the servers send the test PKI's chains (tests/data/mkpki.sh).  Reference
 * pins come from pins.txt (the openssl CLI).  wolfSSL's headers only.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include "certpin.h"
#include "certpin/tofu.h"
#include "certpin/wolfssl.h"
#include "test.h"

#include <unistd.h>

#define HOST "api.certpin.test"
#define OTHER "localhost"       /* another name on the same certificate */

/* ---- material ------------------------------------------------------------------------ */

static certpin_pin pin_named(const char *name)
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
		fprintf(stderr, "wolfssl_test: no pin %s in pins.txt\n", name);
		exit(2);
	}
	return pin;
}

/* A policy with one rule for `pattern`: `pins` at `pos`, in `mode`. */
static certpin_policy *policy_of(const char *pattern, const char *const *pins, size_t npins, certpin_position pos,
	certpin_mode mode)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;

	ho.pattern = pattern;
	ho.mode = mode;
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK)
		exit(2);
	for (size_t i = 0; i < npins; i++) {
		certpin_pin pin = pin_named(pins[i]);
		if (certpin_policy_add_pin(p, pattern, &pin, pos, NULL, NULL) != CERTPIN_OK)
			exit(2);
	}
	return p;
}

static certpin_policy *pinning(const char *pin, certpin_position pos)
{
	return policy_of(HOST, &pin, 1, pos, CERTPIN_MODE_ENFORCE);
}

/* A file in the test's directory holding the PKI files `parts` one after the other. */
static const char *concat(const char *name, const char *const *parts, size_t n)
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

/* A server context sending `chain` (a PKI name or a path) and proving `key`; TLS 1.3 or 1.2 only. */
static WOLFSSL_CTX *server(const char *chain, const char *key, int tls13)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method());

	if (!ctx || wolfSSL_CTX_use_certificate_chain_file(ctx, chain[0] == '/' ? chain : test_pki(chain)) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_file(ctx, test_pki(key), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfssl_test: server %s %s\n", chain, key);
		exit(2);
	}
	return ctx;
}

/* An ordinary client context trusting the PKI files `cas` (NULL-terminated; none: nothing). */
static WOLFSSL_CTX *client_with(const char *const *cas)
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

static WOLFSSL_CTX *client(const char *ca)
{
	const char *cas[] = { ca, NULL };
	return client_with(ca ? cas : NULL);
}

static int last_error; /* wolfSSL_get_error() of the client's failed handshake */

/*
 * One handshake of `c` with a new connection of `sctx`, then a byte each
 * way (so that a TLS 1.3 client takes its tickets in).  1 if both finished.
 */
static int handshake(WOLFSSL *c, WOLFSSL_CTX *sctx)
{
	WOLFSSL *s = wolfSSL_new(sctx);
	int cd = 0, sd = 0, r;
	char b;

	c2s.len = c2s.off = s2c.len = s2c.off = 0;
	last_error = 0;
	wire(c, &s2c, &c2s);
	wire(s, &c2s, &s2c);
	for (int turn = 0; turn < 16 && !(cd && sd); turn++) {
		if (!cd && (r = wolfSSL_connect(c)) == WOLFSSL_SUCCESS)
			cd = 1;
		else if (!cd && (last_error = wolfSSL_get_error(c, r)) != WOLFSSL_ERROR_WANT_READ)
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
static WOLFSSL *connect_to(WOLFSSL_CTX *cctx, WOLFSSL_CTX *sctx, const char *host, int *ok)
{
	WOLFSSL *c = wolfSSL_new(cctx);

	if (!c)
		exit(2);
	if (host)
		CHECK_INT(certpin_wolfssl_set_host(c, host), CERTPIN_OK);
	*ok = handshake(c, sctx);
	return c;
}

static void done(WOLFSSL *c)
{
	certpin_wolfssl_release(c);
	wolfSSL_free(c);
}

static void ctx_done(WOLFSSL_CTX *ctx)
{
	certpin_wolfssl_ctx_detach(ctx);
	wolfSSL_CTX_free(ctx);
}

/* One connection to HOST with `policy` attached to a client trusting `ca`; the result code, *res, *connected. */
static int check_once(const char *chain, const char *key, const char *ca, certpin_policy *policy, certpin_result *res,
	int *connected)
{
	WOLFSSL_CTX *cctx = client(ca), *sctx = server(chain, key, 1);
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, policy, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	int rc = certpin_wolfssl_result(res, c);
	*connected = ok;
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	return rc;
}

/* ---- cases ------------------------------------------------------------------------------- */

/* A refused handshake fails as a wolfSSL verify failure, and its result stays readable. */
static void test_refusal(void)
{
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	certpin_policy *good = pinning("leaf", CERTPIN_POS_LEAF), *bad = pinning("selfsigned-other", CERTPIN_POS_ANY);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, good, NULL, NULL), CERTPIN_OK);
	certpin_policy_free(good); /* the context holds its own reference */
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	CHECK_INT(r.depth, 0);
	CHECK_STR(r.hostname, HOST);
	CHECK_INT(wolfSSL_get_verify_result(c), X509_V_OK);
	done(c);

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, bad, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(last_error, VERIFY_CERT_ERROR);
	CHECK_INT(wolfSSL_get_verify_result(c), X509_V_OK); /* wolfSSL 5.5 has no call that would change it */
	memset(&r, 0, sizeof(r));
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(r.allowed, 0);
	CHECK_STR(r.hostname, HOST);
	CHECK_INT(certpin_wolfssl_tofu_result(NULL, c), CERTPIN_E_STATE); /* no store */
	done(c);
	certpin_policy_free(bad);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
}

/* wolfSSL's own refusal keeps its error; certpin reports PKIX. */
static void test_pkix_error_kept(void)
{
	certpin_policy *p = pinning("leaf", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("wronghost-chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(last_error, DOMAIN_NAME_MISMATCH);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	CHECK_INT(r.pkix_error, DOMAIN_NAME_MISMATCH);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

/* Depths on the path through wolfSSL's CA table, whatever the peer's list holds. */
static void test_chain_positions(void)
{
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	static const char *const alt[] = { "leaf.pem", "inter.pem", "rogue-root.pem" };
	certpin_policy *root = pinning("root", CERTPIN_POS_ROOT), *inter = pinning("inter", CERTPIN_POS_INTERMEDIATE);
	certpin_result r;
	int connected;

	/* leaf + intermediate sent, root trusted */
	CHECK_INT(check_once("chain.pem", "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	CHECK_INT(check_once("chain.pem", "leaf.key", "trust.pem", inter, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	/* the root sent too: the same chain of 3 */
	const char *sent_all = concat("full-chain.pem", full, 3);
	CHECK_INT(check_once(sent_all, "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	/* a CA sent beside the path, its issuer unknown: wolfSSL takes an alternate chain, the path is the same */
	const char *sent_alt = concat("alt-chain.pem", alt, 3);
	CHECK_INT(check_once(sent_alt, "leaf.key", "trust.pem", root, &r, &connected), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	CHECK_INT(connected, 1);
	static const char *const rogue_pins[] = { "rogue-root" };
	certpin_policy *rogue = policy_of(HOST, rogue_pins, 1, CERTPIN_POS_ANY, CERTPIN_MODE_ENFORCE);
	CHECK_INT(check_once(sent_alt, "leaf.key", "trust.pem", rogue, &r, &connected), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(connected, 0);
	certpin_policy_free(rogue);
	certpin_policy_free(root);
	certpin_policy_free(inter);
}

/*
 * The chain ends at the first CA whose own signature this handshake did not
 * check: an intermediate the client trusts itself, or one that wolfSSL's
 * table kept from an earlier handshake, is where the path ends, not the
 * root above it.
 */
static void test_chain_ends_at_trust(void)
{
	static const char *const both[] = { "inter.pem", "root.pem", NULL };
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	certpin_policy *root = pinning("root", CERTPIN_POS_ANY), *inter_root = pinning("inter", CERTPIN_POS_ROOT);
	WOLFSSL_CTX *cctx = client_with(both), *leaf_only = server("leaf.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	/* intermediate and root trusted, the leaf alone sent: the intermediate is the anchor */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, inter_root, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 0); /* the root's signature on the intermediate was not checked in this handshake */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	done(c);
	/* ... but it is when the peer sends the intermediate (and the root) */
	WOLFSSL_CTX *sent = server(concat("full-chain.pem", full, 3), "leaf.key", 1);
	c = connect_to(cctx, sent, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	done(c);
	ctx_done(cctx);

	/* only the root trusted: the first handshake caches the intermediate, the next sends none */
	cctx = client("trust.pem");
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	WOLFSSL_CTX *chain = server("chain.pem", "leaf.key", 1);
	c = connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 1);
	done(c);
	c = connect_to(cctx, leaf_only, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(chain);
	wolfSSL_CTX_free(sent);
	wolfSSL_CTX_free(leaf_only);
	certpin_policy_free(root);
	certpin_policy_free(inter_root);
}

/*
 * A trusted intermediate sent with a root the client lacks: wolfSSL cannot
 * check the intermediate (alternate chain), reports it without error all
 * the same, and the path ends at the table's intermediate.
 */
static void test_alt_chain_unchecked(void)
{
	static const char *const inter_only[] = { "inter.pem", NULL };
	static const char *const full[] = { "leaf.pem", "inter.pem", "root.pem" };
	certpin_policy *p = pinning("inter", CERTPIN_POS_ROOT), *root = pinning("root", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = client_with(inter_only), *sctx = server(concat("full-chain.pem", full, 3), "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(wolfSSL_is_peer_alt_cert_chain(c), 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 1);
	done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, root, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0); /* the root the peer sent is no part of what wolfSSL verified */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(root);
}

/* Sessions resume only for the host and the attachment whose checked handshake made them. */
static void test_resumption(int tls13)
{
	certpin_policy *p = pinning("leaf", CERTPIN_POS_LEAF), *same = pinning("leaf", CERTPIN_POS_LEAF);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", tls13);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(c);
	CHECK(sess != NULL);
	done(c);

	/* the same host: resumed, and no check ran */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(wolfSSL_set_session(c, sess), WOLFSSL_SUCCESS);
	CHECK_INT(handshake(c, sctx), 1);
	CHECK_INT(wolfSSL_session_reused(c), 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE);
	done(c);

	/* another host on the same server: refused by wolfSSL_set_session() */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, OTHER), CERTPIN_OK);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	CHECK_INT(wolfSSL_session_reused(c), 0);
	if (tls13) { /* TLS 1.2: wolfSSL 5.5 fails the handshake after a refused session (see wolfssl.h) */
		CHECK_INT(handshake(c, sctx), 1);
		CHECK_INT(wolfSSL_session_reused(c), 0);
		CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK); /* a full handshake, checked: OTHER is not pinned */
		CHECK_INT(r.verdict, CERTPIN_VERDICT_NOT_PINNED);
	}
	done(c);

	/* no name, or the name set after the session: refused */
	c = wolfSSL_new(cctx);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	done(c);

	/* after a swap (even to an equal policy) sessions of the old attachment are refused */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, same, NULL, NULL), CERTPIN_OK);
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK(wolfSSL_set_session(c, sess) != WOLFSSL_SUCCESS);
	if (tls13) {
		CHECK_INT(handshake(c, sctx), 1);
		CHECK_INT(wolfSSL_session_reused(c), 0);
		CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
		CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	}
	done(c);
	wolfSSL_SESSION_free(sess);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(same);
}

/* Attaching again swaps the policy for the handshakes that start after it, connections made earlier included. */
static void test_swap(void)
{
	certpin_policy *wrong = pinning("selfsigned-other", CERTPIN_POS_ANY), *right = pinning("root", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	certpin_result r;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, wrong, NULL, NULL), CERTPIN_OK);
	WOLFSSL *early = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(early, HOST), CERTPIN_OK);
	int ok;
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, right, NULL, NULL), CERTPIN_OK);
	certpin_policy_free(wrong); /* the old policy may go: the context dropped it */
	CHECK_INT(handshake(early, sctx), 1);
	CHECK_INT(certpin_wolfssl_result(&r, early), CERTPIN_OK);
	CHECK_INT(r.depth, 2);
	done(early);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(right);
}

/* A TOFU store through the same attachment: first use, match, change; with a policy, after it. */
static void test_tofu(void)
{
	char path[4096];
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	certpin_tofu_result t;
	certpin_result r;
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	WOLFSSL_CTX *backup = server("backup-chain.pem", "backup.key", 1);
	int ok;

	snprintf(path, sizeof(path), "%s/known_pins", test_tmpdir());
	unlink(path);
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, NULL, store, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_OK);
	CHECK_INT(t.verdict, CERTPIN_TOFU_FIRST_USE);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE); /* no policy */
	done(c);
	c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_OK);
	CHECK_INT(t.verdict, CERTPIN_TOFU_MATCH);
	done(c);
	c = connect_to(cctx, backup, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(t.verdict, CERTPIN_TOFU_CHANGED);
	done(c);
	/* a name is needed for every host */
	c = connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_HOSTNAME);
	done(c);
	/* with a policy that allows the backup key, the store still refuses the change */
	certpin_policy *p = pinning("backup", CERTPIN_POS_LEAF);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, store, NULL), CERTPIN_OK);
	c = connect_to(cctx, backup, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_tofu_result(&t, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	done(c);
	certpin_policy_free(p);
	certpin_tofu_close(store);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	wolfSSL_CTX_free(backup);
}

/* Pin-only trust: the peer's leaf alone, no PKIX, nothing the peer sends trusted or kept. */
static void test_pin_only(void)
{
	certpin_ssl_options po = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = pinning("leaf", CERTPIN_POS_LEAF), *rp = pinning("root", CERTPIN_POS_ANY);
	static const char *const report[] = { "selfsigned-other" };
	certpin_policy *ro = policy_of(HOST, report, 1, CERTPIN_POS_ANY, CERTPIN_MODE_REPORT_ONLY);
	WOLFSSL_CTX *cctx = client(NULL), *self = server("selfsigned.pem", "leaf.key", 1);
	WOLFSSL_CTX *other = server("selfsigned-other.pem", "selfsigned-other.key", 1);
	WOLFSSL_CTX *inject = server("selfsigned-inject-chain.pem", "selfsigned-other.key", 1);
	WOLFSSL_CTX *chain = server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &po), CERTPIN_OK);
	CHECK_INT(wolfSSL_CTX_get_verify_mode(cctx), WOLFSSL_VERIFY_NONE);
	WOLFSSL *c = connect_to(cctx, self, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.depth, 0);
	done(c);
	/* a chain the client cannot verify, the pinned key at its leaf: accepted, and no CA of it kept */
	c = connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 1);
	done(c);
	WOLF_STACK_OF(WOLFSSL_X509) *cas = wolfSSL_CertManagerGetCerts(wolfSSL_CTX_GetCertManager(cctx));
	CHECK_INT(cas ? wolfSSL_sk_X509_num(cas) : 0, 0);
	wolfSSL_sk_X509_pop_free(cas, NULL);
	/* another key, or the pinned certificate behind another leaf: refused */
	c = connect_to(cctx, other, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PIN_MISMATCH);
	done(c);
	c = connect_to(cctx, inject, HOST, &ok);
	CHECK_INT(ok, 0);
	done(c);
	/* a host the policy does not pin, or no name at all: refused */
	c = connect_to(cctx, self, OTHER, &ok);
	CHECK_INT(ok, 0);
	done(c);
	c = connect_to(cctx, self, NULL, &ok);
	CHECK_INT(ok, 0);
	done(c);
	/* only leaf and any pins count, and report-only refuses */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, rp, NULL, &po), CERTPIN_OK);
	c = connect_to(cctx, chain, HOST, &ok);
	CHECK_INT(ok, 0);
	done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ro, NULL, &po), CERTPIN_OK);
	c = connect_to(cctx, self, HOST, &ok);
	CHECK_INT(ok, 0);
	done(c);
	/* pin-only is the context's for good; no store with it */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	WOLFSSL_CTX *pkix = client("trust.pem");
	CHECK_INT(certpin_wolfssl_ctx_attach(pkix, p, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(pkix, p, NULL, &po), CERTPIN_E_INVALID_ARG);
	ctx_done(pkix);
	ctx_done(cctx);
	wolfSSL_CTX_free(self);
	wolfSSL_CTX_free(other);
	wolfSSL_CTX_free(inject);
	wolfSSL_CTX_free(chain);
	certpin_policy_free(p);
	certpin_policy_free(rp);
	certpin_policy_free(ro);
}

static int failures;
static certpin_result failure_seen;
static size_t failure_n;

static void on_failure(const certpin_result *r, const certpin_chain_elem *chain, size_t n, void *payload)
{
	(void)chain;
	*(int *)payload += 1;
	failure_seen = *r;
	failure_n = n;
}

/* The options' failure callback: on mismatches (enforced or report-only) with the whole chain, not on matches. */
static void test_on_failure(void)
{
	certpin_ssl_options o = CERTPIN_SSL_OPTIONS_INIT;
	static const char *const pins[] = { "selfsigned-other" };
	certpin_policy *ro = policy_of(HOST, pins, 1, CERTPIN_POS_ANY, CERTPIN_MODE_REPORT_ONLY);
	certpin_policy *good = pinning("leaf", CERTPIN_POS_LEAF);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	int ok;

	o.on_failure = on_failure;
	o.payload = &failures;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ro, NULL, &o), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(failures, 1);
	CHECK_INT(failure_seen.verdict, CERTPIN_VERDICT_MISMATCH);
	CHECK_INT(failure_n, 3);
	done(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, good, NULL, &o), CERTPIN_OK);
	c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(failures, 1);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(ro);
	certpin_policy_free(good);
}

/* Names: none, an IP literal, a bad one, twice, before attaching. */
static void test_names(void)
{
	static const char *const ip_pins[] = { "leaf" };
	certpin_policy *p = pinning("leaf", CERTPIN_POS_LEAF), *empty = NULL;
	certpin_policy *ip = policy_of("127.0.0.1", ip_pins, 1, CERTPIN_POS_LEAF, CERTPIN_MODE_ENFORCE);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	CHECK_INT(certpin_policy_new(&empty), CERTPIN_OK);
	WOLFSSL *c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_E_STATE); /* not attached */
	wolfSSL_free(c);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_HOSTNAME);
	done(c);
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, "bad name"), CERTPIN_E_HOSTNAME);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST "."), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_E_STATE);
	CHECK_INT(handshake(c, sctx), 1); /* the trailing dot is dropped for wolfSSL too */
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_STR(r.hostname, HOST);
	done(c);
	/* an IP literal: wolfSSL checks the certificate's IP address, certpin the IP's rule */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, ip, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, sctx, "127.0.0.1", &ok);
	CHECK_INT(ok, 1);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_OK);
	CHECK_INT(r.verdict, CERTPIN_VERDICT_MATCH);
	done(c);
	/* another IP: wolfSSL 5.5 reports the mismatch with preverify_ok 1; refused all the same */
	c = connect_to(cctx, sctx, "127.0.0.2", &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(last_error, IPADDR_MISMATCH);
	done(c);
	/* nothing pinned: a connection without a name keeps wolfSSL's verdict */
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, empty, NULL, NULL), CERTPIN_OK);
	c = connect_to(cctx, sctx, NULL, &ok);
	CHECK_INT(ok, 1);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
	certpin_policy_free(ip);
	certpin_policy_free(empty);
}

static int app_calls;

static int accept_all(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	(void)preverify;
	(void)store;
	app_calls++;
	return 1;
}

static int refuse_above_leaf(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	return wolfSSL_X509_STORE_CTX_get_error_depth(store) > 0 ? 0 : preverify;
}

/*
 * The application's verify callback still runs; an error it accepts, or
 * verification turned off, refuses a pinned host (CERTPIN_E_PKIX) and leaves
 * unpinned ones to the application.
 */
static void test_app_callback(void)
{
	certpin_policy *p = pinning("leaf", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = client("trust.pem"), *expired = server("expired-chain.pem", "leaf.key", 1);
	WOLFSSL_CTX *sctx = server("chain.pem", "leaf.key", 1);
	certpin_result r;
	int ok;

	wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_PEER, accept_all);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, expired, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK(app_calls > 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	CHECK(r.pkix_error != 0);
	done(c);
	c = connect_to(cctx, expired, OTHER, &ok); /* not pinned: the callback's choice stands */
	CHECK_INT(ok, 1);
	done(c);
	/* verification turned off on one connection, after certpin_wolfssl_set_host(): a pinned host is refused */
	c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_NONE, wolfSSL_get_verify_callback(c));
	CHECK_INT(handshake(c, sctx), 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	done(c);
	/* a per-connection callback set before certpin_wolfssl_set_host() is wrapped, not lost */
	app_calls = 0;
	c = wolfSSL_new(cctx);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_PEER, accept_all);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(handshake(c, expired), 0);
	CHECK(app_calls > 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	done(c);
	/* the application refuses a CA: wolfSSL stops before the leaf, the result is there all the same */
	c = wolfSSL_new(cctx);
	wolfSSL_set_verify(c, WOLFSSL_VERIFY_PEER, refuse_above_leaf);
	CHECK_INT(certpin_wolfssl_set_host(c, HOST), CERTPIN_OK);
	CHECK_INT(handshake(c, sctx), 0);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_PKIX);
	done(c);
	/* detaching puts the application's callback back; a connection made before is refused */
	WOLFSSL *before = wolfSSL_new(cctx);
	certpin_wolfssl_ctx_detach(cctx);
	CHECK(wolfSSL_CTX_get_verify_callback(cctx) == accept_all);
	CHECK_INT(handshake(before, sctx), 0);
	done(before);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(expired);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

/* A later handshake on the same WOLFSSL that stops before the check reports no result, not the earlier one's. */
static void test_stale_record(void)
{
	certpin_policy *p = pinning("selfsigned-other", CERTPIN_POS_ANY);
	WOLFSSL_CTX *cctx = client("trust.pem"), *sctx = server("chain.pem", "leaf.key", 1);
	int ok;

	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = connect_to(cctx, sctx, HOST, &ok);
	CHECK_INT(ok, 0);
	CHECK_INT(certpin_wolfssl_result(NULL, c), CERTPIN_E_PIN_MISMATCH);
	CHECK_INT(wolfSSL_clear(c), WOLFSSL_SUCCESS);
	c2s.len = c2s.off = s2c.len = s2c.off = 0;
	wire(c, &s2c, &c2s);
	CHECK(wolfSSL_connect(c) != WOLFSSL_SUCCESS); /* the ClientHello goes out, no server answers */
	CHECK_INT(certpin_wolfssl_result(NULL, c), CERTPIN_E_STATE);
	done(c);
	ctx_done(cctx);
	wolfSSL_CTX_free(sctx);
	certpin_policy_free(p);
}

static void test_arguments(void)
{
	certpin_ssl_options bad = CERTPIN_SSL_OPTIONS_INIT, po = CERTPIN_SSL_OPTIONS_INIT;
	certpin_policy *p = pinning("leaf", CERTPIN_POS_LEAF);
	certpin_tofu_options to = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *store = NULL;
	char path[4096];
	WOLFSSL_CTX *cctx = client("trust.pem");
	certpin_result r;

	snprintf(path, sizeof(path), "%s/known_pins-args", test_tmpdir());
	CHECK_INT(certpin_tofu_open(&store, path, &to), CERTPIN_OK);
	CHECK_INT(certpin_wolfssl_ctx_attach(NULL, p, NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, NULL, NULL, NULL), CERTPIN_E_INVALID_ARG);
	bad.version = 99;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	bad = (certpin_ssl_options)CERTPIN_SSL_OPTIONS_INIT;
	bad.flags = 0x100;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, &bad), CERTPIN_E_INVALID_ARG);
	po.flags = CERTPIN_SSL_INSECURE_PIN_ONLY;
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, store, &po), CERTPIN_E_INVALID_ARG);
	CHECK(wolfSSL_CTX_get_verify_callback(cctx) == NULL); /* nothing attached by the failures */
	CHECK_INT(certpin_wolfssl_set_host(NULL, HOST), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_result(&r, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_tofu_result(NULL, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_ctx_attach(cctx, p, NULL, NULL), CERTPIN_OK);
	WOLFSSL *c = wolfSSL_new(cctx);
	CHECK_INT(certpin_wolfssl_set_host(c, NULL), CERTPIN_E_INVALID_ARG);
	CHECK_INT(certpin_wolfssl_result(&r, c), CERTPIN_E_STATE); /* no handshake yet */
	done(c);
	certpin_wolfssl_release(NULL);
	certpin_wolfssl_ctx_detach(NULL);
	certpin_tofu_close(store);
	ctx_done(cctx);
	certpin_policy_free(p);
}

int main(void)
{
	if (wolfSSL_Init() != WOLFSSL_SUCCESS)
		return 2;
	test_refusal();
	test_pkix_error_kept();
	test_chain_positions();
	test_chain_ends_at_trust();
	test_alt_chain_unchecked();
	test_resumption(1);
	test_resumption(0);
	test_swap();
	test_tofu();
	test_pin_only();
	test_on_failure();
	test_names();
	test_app_callback();
	test_stale_record();
	test_arguments();
	wolfSSL_Cleanup();
	return test_finish("wolfssl_test");
}
