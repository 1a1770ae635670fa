/*
 * wolfssl_client.c - certpin in a complete wolfSSL client (native API).
 *
 *   example_wolfssl_client HOST PORT POLICY.json CAFILE [ADDRESS]
 *
 * Connects to ADDRESS (default HOST) on PORT with TLS 1.2 or later, lets
 * wolfSSL verify the certificate for HOST against CAFILE and certpin check
 * the chain wolfSSL verified against POLICY.json.  Prints the verdict; exits
 * 0 if the connection was allowed, 1 if certpin refused it, 2 on any other
 * failure.  Build: cc wolfssl_client.c $(pkg-config --cflags --libs certpin-wolfssl)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getaddrinfo() */
#endif
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <certpin.h>
#include <certpin/wolfssl.h>

static int tcp_connect(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd = -1;

	if (getaddrinfo(addr, port, &hints, &ai) != 0)
		return -1;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next)
		if ((fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol)) >= 0 &&
		    connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			close(fd);
			fd = -1;
		}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	certpin_policy *policy = NULL;
	certpin_result result;
	certpin_error err;
	WOLFSSL_CTX *ctx = NULL;
	WOLFSSL *ssl = NULL;
	int fd = -1, rc, status = 2;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s HOST PORT POLICY.json CAFILE [ADDRESS]\n", argv[0]);
		return 2;
	}
	const char *host = argv[1], *addr = argc == 6 ? argv[5] : host;
	if (certpin_policy_load_file(&policy, argv[3], NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "%s\n", err.message);
		return 2;
	}
	/* An ordinary wolfSSL client context that verifies the peer (wolfSSL's default here is not to) ... */
	if (wolfSSL_Init() != WOLFSSL_SUCCESS || !(ctx = wolfSSL_CTX_new(wolfSSLv23_client_method()))) {
		fprintf(stderr, "wolfSSL setup failed\n");
		goto out;
	}
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
	/* ... with certpin attached, and per connection certpin's call for the name (wolfSSL's check, SNI, the pins). */
	if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_load_verify_locations(ctx, argv[4], NULL) != WOLFSSL_SUCCESS ||
	    certpin_wolfssl_ctx_attach(ctx, policy, NULL, NULL) != CERTPIN_OK || !(ssl = wolfSSL_new(ctx)) ||
	    certpin_wolfssl_set_host(ssl, host) != CERTPIN_OK) {
		fprintf(stderr, "wolfSSL or certpin setup failed\n");
		goto out;
	}
	if ((fd = tcp_connect(addr, argv[2])) < 0 || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "cannot connect to %s port %s\n", addr, argv[2]);
		goto out;
	}
	rc = wolfSSL_connect(ssl);
	int pin_rc = certpin_wolfssl_result(&result, ssl); /* also after a refused handshake */
	if (rc == WOLFSSL_SUCCESS) {
		printf("connected to %s: certpin verdict %s\n", host,
			pin_rc == CERTPIN_OK ? certpin_verdict_name(result.verdict) : certpin_error_name(pin_rc));
		(void)wolfSSL_shutdown(ssl);
		status = 0;
	} else {
		printf("refused %s: wolfSSL error %d (%s)\n", host, wolfSSL_get_error(ssl, rc), certpin_strerror(pin_rc));
		status = pin_rc == CERTPIN_E_PIN_MISMATCH || pin_rc == CERTPIN_E_PINSET_EXPIRED ? 1 : 2;
	}
out:
	certpin_wolfssl_release(ssl); /* before wolfSSL_free(): wolfSSL 5.5 frees no ex_data */
	wolfSSL_free(ssl);
	if (fd >= 0)
		close(fd);
	certpin_wolfssl_ctx_detach(ctx);
	wolfSSL_CTX_free(ctx);
	certpin_policy_free(policy);
	wolfSSL_Cleanup();
	return status;
}
