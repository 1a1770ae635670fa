/* tlsclient.c - see tlsclient.h. */
#include "tlsclient.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

static void note_tls_error(test_client_info *info)
{
	unsigned long e = ERR_peek_error();

	if (e && info->tls_error[0] == '\0')
		ERR_error_string_n(e, info->tls_error, sizeof(info->tls_error));
	ERR_clear_error();
}

int test_tcp_connect(int port)
{
	struct sockaddr_in addr;
	struct timeval tv;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	tv.tv_sec = TEST_CLIENT_TIMEOUT_S;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Handshake, send "hi\n", expect "ok\n".  1 on success, 0 on any failure. */
static int exchange(SSL *ssl, test_client_info *info)
{
	char buf[64];
	size_t got = 0;
	int r;

	if (SSL_connect(ssl) != 1) {
		note_tls_error(info);
		return 0;
	}
	if (SSL_write(ssl, "hi\n", 3) != 3) {
		note_tls_error(info);
		return 0;
	}
	while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
		r = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
		if (r <= 0) {
			note_tls_error(info);
			break;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (strcmp(buf, "ok\n") != 0)
		return 0;
	SSL_shutdown(ssl);
	return 1;
}

certpin_tofu *test_client_tofu;

/* An application's verify callback that accepts every certificate error and clears it. */
static int accept_all(int preverify_ok, X509_STORE_CTX *sctx)
{
	(void)preverify_ok;
	X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}

int test_client_connect(certpin_result *out, test_client_info *info,
	int port, const char *host, unsigned int flags, const char *ca_file,
	certpin_policy *policy, const certpin_ssl_options *opts)
{
	test_client_info local;
	certpin_result res;
	struct sigaction sa;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1, rc;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	info->certpin_rc = info->tofu_rc = CERTPIN_E_STATE;
	info->verify_result = X509_V_OK;
	memset(&res, 0, sizeof(res));
	res.version = CERTPIN_RESULT_VERSION;
	res.verdict = CERTPIN_VERDICT_NOT_PINNED;
	res.rule = res.pin = res.depth = -1;
	if (out)
		*out = res;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	ERR_clear_error();

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		note_tls_error(info);
		rc = CERTPIN_E_TLS;
		goto done;
	}
	if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		fprintf(stderr, "tlsclient: cannot load CA file %s\n", ca_file);
		note_tls_error(info);
		rc = CERTPIN_E_IO;
		goto done;
	}
	/* The application's own setting; certpin must keep PKIX on top of it. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, (flags & TEST_CLIENT_ACCEPT_ALL) ? accept_all : NULL);
	if (flags & TEST_CLIENT_STORE_ACCEPT_ALL)
		X509_STORE_set_verify_cb(SSL_CTX_get_cert_store(ctx), accept_all);
	if (policy && (!(flags & TEST_CLIENT_PER_SSL) || (flags & TEST_CLIENT_BOTH))) {
		rc = certpin_ssl_ctx_attach(ctx, policy, opts);
		if (rc != CERTPIN_OK) {
			fprintf(stderr, "tlsclient: certpin_ssl_ctx_attach: %s\n", certpin_strerror(rc));
			goto done;
		}
		/* an application that switches verification off after attaching */
		if (flags & TEST_CLIENT_VERIFY_NONE)
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}

	if (test_client_tofu && (rc = certpin_tofu_ssl_ctx_attach(ctx, test_client_tofu)) != CERTPIN_OK) {
		fprintf(stderr, "tlsclient: certpin_tofu_ssl_ctx_attach: %s\n", certpin_strerror(rc));
		goto done;
	}
	ssl = SSL_new(ctx);
	if (!ssl) {
		note_tls_error(info);
		rc = CERTPIN_E_TLS;
		goto done;
	}
	if (host) {
		if ((flags & TEST_CLIENT_TWO_NAMES) &&
		    (SSL_set1_host(ssl, TEST_CLIENT_OTHER_NAME) != 1 || SSL_add1_host(ssl, host) != 1)) {
			fprintf(stderr, "tlsclient: SSL_set1_host/SSL_add1_host failed\n");
			note_tls_error(info);
			rc = CERTPIN_E_TLS;
			goto done;
		}
		if (!(flags & (TEST_CLIENT_SNI_ONLY | TEST_CLIENT_TWO_NAMES)) && SSL_set1_host(ssl, host) != 1) {
			fprintf(stderr, "tlsclient: SSL_set1_host(%s) failed\n", host);
			note_tls_error(info);
			rc = CERTPIN_E_TLS;
			goto done;
		}
		if ((flags & TEST_CLIENT_ADD_IP) && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") != 1) {
			fprintf(stderr, "tlsclient: cannot set the verification IP\n");
			note_tls_error(info);
			rc = CERTPIN_E_TLS;
			goto done;
		}
		if (SSL_set_tlsext_host_name(ssl, host) != 1) {
			fprintf(stderr, "tlsclient: cannot set SNI %s\n", host);
			note_tls_error(info);
			rc = CERTPIN_E_TLS;
			goto done;
		}
	}
	if (policy && (flags & TEST_CLIENT_PER_SSL)) {
		rc = certpin_ssl_attach(ssl, policy, (flags & TEST_CLIENT_BOTH) ? NULL : opts);
		if (rc != CERTPIN_OK) {
			fprintf(stderr, "tlsclient: certpin_ssl_attach: %s\n", certpin_strerror(rc));
			goto done;
		}
		/* an application that switches verification off after attaching, keeping the callback */
		if (flags & TEST_CLIENT_VERIFY_NONE)
			SSL_set_verify(ssl, SSL_VERIFY_NONE, SSL_get_verify_callback(ssl));
	}

	fd = test_tcp_connect(port);
	if (fd < 0) {
		perror("tlsclient: connect 127.0.0.1");
		rc = CERTPIN_E_IO;
		goto done;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		note_tls_error(info);
		rc = CERTPIN_E_TLS;
		goto done;
	}

	info->connected = exchange(ssl, info);
	info->verify_result = SSL_get_verify_result(ssl);
	info->certpin_rc = certpin_ssl_result(&res, ssl);
	info->tofu_rc = certpin_tofu_ssl_result(&info->tofu, ssl);
	info->checked = info->certpin_rc != CERTPIN_E_STATE;
	if (!info->checked) {
		/* certpin_ssl_result() may have touched `res`; report "no check". */
		memset(&res, 0, sizeof(res));
		res.version = CERTPIN_RESULT_VERSION;
		res.verdict = CERTPIN_VERDICT_NOT_PINNED;
		res.rule = res.pin = res.depth = -1;
	}
	if (out)
		*out = res;

	if (info->checked && info->certpin_rc != CERTPIN_OK)
		rc = info->certpin_rc;
	else if (!info->connected)
		rc = CERTPIN_E_TLS;
	else if (!info->checked)
		rc = CERTPIN_E_STATE;
	else
		rc = CERTPIN_OK;
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return rc;
}
