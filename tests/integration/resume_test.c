/*
 * resume_test - session resumption and certpin_ssl_result().
 *
 * A resumed session runs no certificate verification, so no pin check: the
 * result of the resumed connection must say so (CERTPIN_E_STATE), never
 * repeat an earlier handshake's verdict, whether the SSL is new or reused
 * with SSL_clear().  The first, full handshake is checked as usual.
 * A session made elsewhere (an SSL_CTX without pins, another policy) is not
 * resumed for a pinned host: the handshake is a full one and the pins
 * decide.  The same for a policy on one connection (certpin_ssl_attach()),
 * alone or next to the context's: a session is resumed only if its full
 * handshake passed every policy the new connection has.  TLS 1.3 (tickets)
 * and TLS 1.2 (tickets).
 * A passing handshake keeps its result on the tag of the session it made:
 * another connection given that session, before or during its own
 * handshake, must not report it, nor an SSL after SSL_clear().  A new
 * connection waiting for the server's reply reports no result; after a
 * HelloRetryRequest (a second ClientHello on the same session) the check's
 * result is reported as after one ClientHello.
 */
#include "certpin.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#define HOST "api.certpin.test"

/* One exchange on `ssl` over a new connection; returns 1 if "ok\n" came back. */
static int exchange(SSL *ssl, int port, int *fdp)
{
	char buf[8] = "";
	int fd = test_tcp_connect(port);

	*fdp = fd;
	if (fd < 0 || SSL_set_fd(ssl, fd) != 1)
		return 0;
	SSL_set_tlsext_host_name(ssl, HOST);
	SSL_set1_host(ssl, HOST);
	if (SSL_connect(ssl) != 1 || SSL_write(ssl, "hi\n", 3) != 3)
		return 0;
	/* reading also takes in TLS 1.3 session tickets */
	return SSL_read(ssl, buf, 3) == 3 && memcmp(buf, "ok\n", 3) == 0;
}

static int handshakes_done;

/* The application's own info callback: certpin's must call it. */
static void app_info_cb(const SSL *ssl, int where, int ret)
{
	(void)ssl, (void)ret;
	if (where & SSL_CB_HANDSHAKE_DONE)
		handshakes_done++;
}

/*
 * A connection of `ctx` to HOST (offering `sess` if not NULL: before its
 * handshake it has no result) whose ClientHello has gone out to a memory
 * BIO: it waits for a reply that never comes.
 */
static SSL *waiting(SSL_CTX *ctx, SSL_SESSION *sess)
{
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());

	CHECK(ssl != NULL && rb != NULL && wb != NULL);
	if (!ssl || !rb || !wb)
		exit(2);
	if (sess) {
		CHECK_INT(SSL_set_session(ssl, sess), 1);
		CHECK_INT(certpin_ssl_result(NULL, ssl), CERTPIN_E_STATE);
	}
	SSL_set_bio(ssl, rb, wb);
	SSL_set_tlsext_host_name(ssl, HOST);
	SSL_set1_host(ssl, HOST);
	CHECK_INT(SSL_connect(ssl), -1); /* ClientHello sent, no server: waiting */
	CHECK_INT(SSL_get_error(ssl, -1), SSL_ERROR_WANT_READ);
	return ssl;
}

static void run(int version, int reuse_ssl)
{
	tlsserver *srv = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	certpin_policy *policy = NULL;
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin;
	SSL *ssl = NULL, *ssl2 = NULL;
	SSL_SESSION *sess = NULL;
	int fd = -1, fd2 = -1;
	char *pins = test_read_file(test_pki("pins.txt"), NULL), *p;

	CHECK(pins != NULL && (p = strstr(pins, "leaf ")) != NULL);
	if (!pins || !(p = strstr(pins, "leaf ")))
		exit(2);
	p += 5;
	p[strcspn(p, "\n")] = '\0';
	CHECK_INT(certpin_pin_parse(&pin, p, strlen(p)), CERTPIN_OK);
	free(pins);
	ho.pattern = HOST;
	CHECK_INT(certpin_policy_new(&policy), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_host(policy, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(policy, HOST, &pin, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);

	CHECK(ctx != NULL);
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	CHECK_INT(SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL), 1);
	SSL_CTX_set_info_callback(ctx, app_info_cb);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK); /* attaching again keeps the chain */
	handshakes_done = 0;
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 2), 0);
	if (!srv)
		exit(2);

	/* full handshake: checked */
	ssl = SSL_new(ctx);
	CHECK_INT(exchange(ssl, tlsserver_port(srv), &fd), 1);
	CHECK_INT(SSL_session_reused(ssl), 0);
	CHECK_INT(certpin_ssl_result(NULL, ssl), CERTPIN_OK);
	sess = SSL_get1_session(ssl);
	CHECK(sess != NULL && SSL_SESSION_is_resumable(sess));
	SSL_shutdown(ssl);
	close(fd);

	/* the session carries that handshake's result: another SSL given it has none of its own yet */
	SSL *other = waiting(ctx, sess);
	CHECK_INT(certpin_ssl_result(NULL, other), CERTPIN_E_STATE);
	SSL_free(other);

	/* a new connection whose ClientHello is out, waiting for the server: no result yet */
	SSL *pending = waiting(ctx, NULL);
	CHECK_INT(certpin_ssl_result(NULL, pending), CERTPIN_E_STATE);
	SSL_free(pending);

	/* resumed: no check ran, and the result says so */
	if (reuse_ssl) {
		CHECK_INT(SSL_clear(ssl), 1);
		CHECK_INT(certpin_ssl_result(NULL, ssl), CERTPIN_E_STATE); /* cleared: the last result was another handshake's */
		ssl2 = ssl;
		ssl = NULL;
	} else {
		ssl2 = SSL_new(ctx);
	}
	CHECK_INT(SSL_set_session(ssl2, sess), 1);
	CHECK_INT(exchange(ssl2, tlsserver_port(srv), &fd2), 1);
	CHECK_INT(SSL_session_reused(ssl2), 1);
	CHECK_INT(certpin_ssl_result(NULL, ssl2), CERTPIN_E_STATE);
	CHECK_INT(handshakes_done, 2); /* the application's info callback still runs */
	printf("ok   TLS 1.%d, %s SSL: full handshake checked, resumed one reports no check\n",
		version == TLS1_3_VERSION ? 3 : 2, reuse_ssl ? "reused (SSL_clear)" : "new");
	SSL_shutdown(ssl2);
	close(fd2);

	SSL_SESSION_free(sess);
	SSL_free(ssl);
	SSL_free(ssl2);
	SSL_CTX_free(ctx);
	tlsserver_wait(srv, 2000);
	tlsserver_stop(srv);
	certpin_policy_free(policy);
}

static certpin_policy *policy_for(const char *pin_name)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *policy = NULL;
	certpin_pin pin;
	char want[32], *pins = test_read_file(test_pki("pins.txt"), NULL), *p;

	snprintf(want, sizeof(want), "%s ", pin_name);
	if (!pins)
		exit(2);
	for (p = pins; p && strncmp(p, want, strlen(want)) != 0; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		;
	if (!p)
		exit(2);
	p += strlen(want);
	p[strcspn(p, "\n")] = '\0';
	ho.pattern = HOST;
	if (certpin_pin_parse(&pin, p, strlen(p)) != CERTPIN_OK || certpin_policy_new(&policy) != CERTPIN_OK ||
	    certpin_policy_add_host(policy, &ho, NULL) != CERTPIN_OK ||
	    certpin_policy_add_pin(policy, HOST, &pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		exit(2);
	free(pins);
	return policy;
}

static SSL_CTX *client_ctx(int version, certpin_policy *policy, int app_cb)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, version) || !SSL_CTX_set_max_proto_version(ctx, version) ||
	    SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL) != 1)
		exit(2);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (app_cb)
		SSL_CTX_set_info_callback(ctx, app_info_cb);
	if (policy && certpin_ssl_ctx_attach(ctx, policy, NULL) != CERTPIN_OK)
		exit(2);
	return ctx;
}

/* Where each side's policies go: the SSL_CTX, the SSL (certpin_ssl_attach()); NULL: none. */
typedef struct side {
	certpin_policy *ctx, *ssl;
} side;

#define SSL_OWN_INFO_CB 1 /* the second connection's info callback is set on its SSL, before attaching */
#define APP_VERIFY_CB 2   /* both SSL_CTXs have an application verify callback (the binding then keeps state) */

static int app_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	(void)sctx;
	return ok;
}

/*
 * A session made on side `from`, offered by a new connection on side `to`:
 * resumed only if `want_reused`; `want_ok` says whether the connection must
 * succeed.  The application's info callback (on the SSL_CTX, or with
 * SSL_OWN_INFO_CB on the second SSL) must run for each finished handshake.
 */
static void cross(int version, const char *label, side from, side to, int flags, int want_reused, int want_ok,
	int want_rc)
{
	tlsserver *srv = NULL;
	SSL_CTX *a = client_ctx(version, from.ctx, 1), *b = client_ctx(version, to.ctx, !(flags & SSL_OWN_INFO_CB));
	if (flags & APP_VERIFY_CB) {
		SSL_CTX_set_verify(a, SSL_VERIFY_PEER, app_verify_cb);
		SSL_CTX_set_verify(b, SSL_VERIFY_PEER, app_verify_cb);
	}
	SSL *ssl = SSL_new(a), *ssl2 = SSL_new(b);
	SSL_SESSION *sess = NULL;
	int fd = -1, fd2 = -1, failed = test_failed;

	if (!ssl || !ssl2)
		exit(2);
	if (flags & SSL_OWN_INFO_CB)
		SSL_set_info_callback(ssl2, app_info_cb);
	if (from.ssl)
		CHECK_INT(certpin_ssl_attach(ssl, from.ssl, NULL), CERTPIN_OK);
	if (to.ssl)
		CHECK_INT(certpin_ssl_attach(ssl2, to.ssl, NULL), CERTPIN_OK);
	handshakes_done = 0;
	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), 2), 0);
	if (!srv)
		exit(2);
	CHECK_INT(exchange(ssl, tlsserver_port(srv), &fd), 1);
	sess = SSL_get1_session(ssl);
	CHECK(sess != NULL && SSL_SESSION_is_resumable(sess));
	CHECK_INT(SSL_set_session(ssl2, sess), 1);
	CHECK_INT(exchange(ssl2, tlsserver_port(srv), &fd2), want_ok);
	CHECK_INT(SSL_session_reused(ssl2), want_reused);
	CHECK_INT(certpin_ssl_result(NULL, ssl2), want_rc);
	CHECK_INT(handshakes_done, 1 + want_ok);
	CHECK_INT(SSL_clear(ssl2), 1);
	CHECK_INT(certpin_ssl_result(NULL, ssl2), CERTPIN_E_STATE); /* cleared: no handshake yet */
	printf("%-4s TLS 1.%d, %s\n", failed == test_failed ? "ok" : "FAIL", version == TLS1_3_VERSION ? 3 : 2, label);
	SSL_SESSION_free(sess);
	SSL_free(ssl);
	SSL_free(ssl2);
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	SSL_CTX_free(a);
	SSL_CTX_free(b);
	tlsserver_wait(srv, 2000);
	tlsserver_stop(srv);
}

/* Count the ClientHellos a client writes. */
static int hellos_sent;

static void count_hellos(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version, (void)ssl, (void)arg;
	const unsigned char *msg = buf;
	if (write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && msg[0] == SSL3_MT_CLIENT_HELLO)
		hellos_sent++;
}

/*
 * TLS 1.3 HelloRetryRequest: the client sends a second ClientHello on the
 * same session, and the pin check's result (kept on that session's tag)
 * must be reported all the same.  Client and server in this thread over a
 * BIO pair; the server takes only P-384 and the client offers an X25519 key
 * share first.
 */
static void hello_retry(void)
{
	certpin_policy *policy = policy_for("leaf");
	SSL_CTX *cctx = client_ctx(TLS1_3_VERSION, policy, 1), *sctx = SSL_CTX_new(TLS_server_method());
	SSL *c = SSL_new(cctx), *s = NULL;
	certpin_result res;
	int failed = test_failed;

	if (!c || !sctx || SSL_CTX_use_certificate_chain_file(sctx, test_pki("chain.pem")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, test_pki("leaf.key"), SSL_FILETYPE_PEM) != 1 || !(s = SSL_new(sctx)) ||
	    !SSL_set1_groups_list(s, "P-384") || !SSL_set1_groups_list(c, "X25519:P-384"))
		exit(2);
	SSL_set_tlsext_host_name(c, HOST);
	SSL_set1_host(c, HOST);
	SSL_set_msg_callback(c, count_hellos);
	hellos_sent = 0;
	CHECK_INT(tlsserver_pair_handshake(c, s), 1);
	CHECK_INT(hellos_sent, 2);
	CHECK_INT(certpin_ssl_result(&res, c), CERTPIN_OK);
	CHECK_INT(res.verdict, CERTPIN_VERDICT_MATCH);
	printf("%-4s TLS 1.3 HelloRetryRequest: the second ClientHello's handshake reports its check\n",
		failed == test_failed ? "ok" : "FAIL");
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	certpin_policy_free(policy);
}

int main(void)
{
	tlsserver_allow_resumption(1);
	run(TLS1_3_VERSION, 0);
	run(TLS1_3_VERSION, 1);
	run(TLS1_2_VERSION, 0);
	run(TLS1_2_VERSION, 1);

	certpin_policy *leaf = policy_for("leaf"), *leaf2 = policy_for("leaf"), *backup = policy_for("backup");
	for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
		if (v != TLS1_2_VERSION && v != TLS1_3_VERSION)
			continue;
		side none = { NULL, NULL };
		cross(v, "session from an unpinned SSL_CTX, pins of another key: full handshake, refused", none,
			(side){ backup, NULL }, 0, 0, 0, CERTPIN_E_PIN_MISMATCH);
		cross(v, "session from an unpinned SSL_CTX, pins of the server key: full handshake, checked", none,
			(side){ leaf, NULL }, 0, 0, 1, CERTPIN_OK);
		cross(v, "session made under another policy object: full handshake, checked", (side){ leaf, NULL },
			(side){ leaf2, NULL }, 0, 0, 1, CERTPIN_OK);
		cross(v, "session made under the same policy: resumed", (side){ leaf, NULL }, (side){ leaf, NULL }, 0,
			1, 1, CERTPIN_E_STATE);
		cross(v, "the same with an application verify callback: resumed", (side){ leaf, NULL },
			(side){ leaf, NULL }, APP_VERIFY_CB, 1, 1, CERTPIN_E_STATE);
		cross(v, "session from an unpinned SSL_CTX, application verify callback, pins of another key: refused",
			none, (side){ backup, NULL }, APP_VERIFY_CB, 0, 0, CERTPIN_E_PIN_MISMATCH);
		/* certpin_ssl_attach() guards resumption too */
		cross(v, "per-SSL pins of another key, session from an unpinned SSL_CTX: full handshake, refused",
			none, (side){ NULL, backup }, 0, 0, 0, CERTPIN_E_PIN_MISMATCH);
		cross(v, "the same, the SSL's own info callback set before attaching: refused, callback called", none,
			(side){ NULL, backup }, SSL_OWN_INFO_CB, 0, 0, CERTPIN_E_PIN_MISMATCH);
		cross(v, "per-SSL pins of the server key, session from an unpinned SSL_CTX: full handshake, checked",
			none, (side){ NULL, leaf }, 0, 0, 1, CERTPIN_OK);
		cross(v, "per-SSL, session made under another policy object: full handshake, checked",
			(side){ NULL, leaf }, (side){ NULL, leaf2 }, 0, 0, 1, CERTPIN_OK);
		cross(v, "per-SSL, session made under the same policy: resumed", (side){ NULL, leaf },
			(side){ NULL, leaf }, 0, 1, 1, CERTPIN_E_STATE);
		cross(v, "both bindings, session made under the same two policies: resumed", (side){ leaf, leaf2 },
			(side){ leaf, leaf2 }, 0, 1, 1, CERTPIN_E_STATE);
		cross(v, "both bindings, session that passed only the context's policy: full handshake, checked",
			(side){ leaf, NULL }, (side){ leaf, leaf2 }, 0, 0, 1, CERTPIN_OK);
		cross(v, "both bindings, session that passed only the SSL's policy, context pins another key: refused",
			(side){ NULL, leaf }, (side){ backup, leaf }, 0, 0, 0, CERTPIN_E_PIN_MISMATCH);
		cross(v, "the same with the SSL's own info callback: the context's guard still runs, refused",
			(side){ NULL, leaf }, (side){ backup, leaf }, SSL_OWN_INFO_CB, 0, 0, CERTPIN_E_PIN_MISMATCH);
	}
	hello_retry();
	certpin_policy_free(leaf);
	certpin_policy_free(leaf2);
	certpin_policy_free(backup);
	return test_finish("resume_test");
}
