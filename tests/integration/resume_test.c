/*
 * resume_test - session resumption and certpin_ssl_result().
 *
 * A resumed session runs no certificate verification, so no pin check: the
 * result of the resumed connection must say so (CERTPIN_E_STATE), never
 * repeat an earlier handshake's verdict, whether the SSL is new or reused
 * with SSL_clear().  The first, full handshake is checked as usual.
 * TLS 1.3 (tickets) and TLS 1.2 (session IDs).
 */
#include "certpin.h"
#include "test.h"
#include "tlsserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define HOST "api.certpin.test"

static int tcp_connect(int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One exchange on `ssl` over a new connection; returns 1 if "ok\n" came back. */
static int exchange(SSL *ssl, int port, int *fdp)
{
	char buf[8] = "";
	int fd = tcp_connect(port);

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
	CHECK_INT(certpin_policy_add_host(policy, &ho), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(policy, HOST, &pin, CERTPIN_POS_LEAF), CERTPIN_OK);

	CHECK(ctx != NULL);
	SSL_CTX_set_min_proto_version(ctx, version);
	SSL_CTX_set_max_proto_version(ctx, version);
	CHECK_INT(SSL_CTX_load_verify_locations(ctx, test_pki("trust.pem"), NULL), 1);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK);
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

	/* resumed: no check ran, and the result says so */
	if (reuse_ssl) {
		CHECK_INT(SSL_clear(ssl), 1);
		ssl2 = ssl;
		ssl = NULL;
	} else {
		ssl2 = SSL_new(ctx);
	}
	CHECK_INT(SSL_set_session(ssl2, sess), 1);
	CHECK_INT(exchange(ssl2, tlsserver_port(srv), &fd2), 1);
	CHECK_INT(SSL_session_reused(ssl2), 1);
	CHECK_INT(certpin_ssl_result(NULL, ssl2), CERTPIN_E_STATE);
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

int main(void)
{
	tlsserver_allow_resumption(1);
	run(TLS1_3_VERSION, 0);
	run(TLS1_3_VERSION, 1);
	run(TLS1_2_VERSION, 0);
	run(TLS1_2_VERSION, 1);
	return test_finish("resume_test");
}
