/*
 * gnutls_client.c - certpin in a complete GnuTLS client.
 *
 *   example_gnutls_client HOST PORT POLICY.json CAFILE [ADDRESS]
 *
 * Connects to ADDRESS (default HOST) on PORT, lets GnuTLS verify the
 * certificate for HOST against CAFILE and certpin check the path GnuTLS
 * verified against POLICY.json.  Prints the verdict; exits 0 if the
 * connection was allowed, 1 if certpin refused it, 2 on any other failure.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getaddrinfo() */
#endif
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include <certpin.h>
#include <certpin/gnutls.h>

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
	/* Small TLS records leave at once: a refusal's alert must not wait for an ACK behind Nagle's algorithm,
	 * or the close() after it (a reset, with the server's Finished unread) drops it. */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
}

int main(int argc, char **argv)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t session = NULL;
	certpin_policy *policy = NULL;
	certpin_result result;
	certpin_error err;
	int fd = -1, rc, status = 2;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s HOST PORT POLICY.json CAFILE [ADDRESS]\n", argv[0]);
		return 2;
	}
	const char *host = argv[1];
	if (certpin_policy_load_file(&policy, argv[3], NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "%s\n", err.message);
		return 2;
	}
	/* An ordinary GnuTLS client session ... */
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_trust_file(cred, argv[4], GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&session, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(session) < 0 ||
	    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
	    gnutls_server_name_set(session, GNUTLS_NAME_DNS, host, strlen(host)) < 0)
		goto out;
	/* ... with certpin's name check in place of gnutls_session_set_verify_cert(), and the policy. */
	if (certpin_gnutls_set_verify_cert(session, host, 0, &err) != CERTPIN_OK ||
	    certpin_gnutls_session_attach(session, policy, NULL, &err) != CERTPIN_OK) {
		fprintf(stderr, "%s\n", err.message);
		goto out;
	}
	if ((fd = tcp_connect(argc == 6 ? argv[5] : host, argv[2])) < 0) {
		fprintf(stderr, "cannot connect to %s port %s\n", argc == 6 ? argv[5] : host, argv[2]);
		goto out;
	}
	gnutls_transport_set_int(session, fd);
	gnutls_handshake_set_timeout(session, 10000);
	do
		rc = gnutls_handshake(session);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	int pin_rc = certpin_gnutls_result(&result, session);
	if (rc == 0) {
		printf("connected to %s: certpin verdict %s\n", host,
			pin_rc == CERTPIN_OK ? certpin_verdict_name(result.verdict) : certpin_error_name(pin_rc));
		(void)gnutls_bye(session, GNUTLS_SHUT_WR);
		status = 0;
	} else {
		(void)gnutls_alert_send_appropriate(session, rc);
		printf("refused %s: %s (%s)\n", host, gnutls_strerror(rc), certpin_strerror(pin_rc));
		status = pin_rc == CERTPIN_E_PIN_MISMATCH || pin_rc == CERTPIN_E_PINSET_EXPIRED ? 1 : 2;
	}
out:
	if (fd >= 0)
		close(fd);
	if (session)
		gnutls_deinit(session);
	gnutls_certificate_free_credentials(cred);
	certpin_policy_free(policy);
	return status;
}
