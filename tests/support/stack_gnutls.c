/* stack_gnutls.c - the GnuTLS adapter as a stack client (stack.h), connecting the way a GnuTLS application would. */
#include "certpin/gnutls.h"
#include "stack.h"
#include "tlsclient.h"

#include <gnutls/gnutls.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Handshake, "hi\n" out, "ok\n" back; 1 on success, else 0 with the reason in out->error. */
static int exchange(gnutls_session_t s, stack_result *out)
{
	char buf[8];
	size_t got = 0;
	int rc, tries = 0;

	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc) && ++tries < 100);
	if (rc < 0) {
		snprintf(out->error, sizeof(out->error), "handshake: %s", gnutls_strerror(rc));
		(void)gnutls_alert_send_appropriate(s, rc);
		return 0;
	}
	if (gnutls_record_send(s, "hi\n", 3) != 3) {
		snprintf(out->error, sizeof(out->error), "send failed");
		return 0;
	}
	for (tries = 0; got < 3 && tries < 100; tries++) {
		ssize_t n = gnutls_record_recv(s, buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || gnutls_error_is_fatal((int)n))
			break;
	}
	buf[got] = '\0';
	if (strcmp(buf, "ok\n") != 0) {
		snprintf(out->error, sizeof(out->error), "unexpected reply \"%s\"", buf);
		return 0;
	}
	(void)gnutls_bye(s, GNUTLS_SHUT_WR);
	return 1;
}

/* The session as an application sets it up: priorities, credentials, SNI and name, certpin.  1: GnuTLS failed. */
static int setup(gnutls_session_t s, gnutls_certificate_credentials_t cred, const stack_conn *c)
{
	certpin_error err;
	int rc = CERTPIN_OK;

	if (gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		return 1;
	if (c->host && (gnutls_server_name_set(s, GNUTLS_NAME_DNS, c->host, strlen(c->host)) < 0 ||
			(rc = certpin_gnutls_set_verify_cert(s, c->host, 0, &err)) != CERTPIN_OK))
		return rc ? rc : 1;
	if (c->policy && (rc = certpin_gnutls_session_attach(s, c->policy, c->opts, &err)) != CERTPIN_OK)
		return rc;
	if (c->tofu && (rc = certpin_gnutls_tofu_attach(s, c->tofu, &err)) != CERTPIN_OK)
		return rc;
	return CERTPIN_OK;
}

static int gnutls_connect(stack_result *out, const stack_conn *c)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int fd = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	out->rc = out->tofu_rc = CERTPIN_E_STATE;
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return -1;
	if (c->ca_file && gnutls_certificate_set_x509_trust_file(cred, c->ca_file, GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "stack_gnutls: cannot load %s\n", c->ca_file);
		goto done;
	}
	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto done;
	int rc = setup(s, cred, c);
	if (rc != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "setup: %s", rc < 0 ? certpin_strerror(rc) : "GnuTLS");
		out->rc = rc;
		ret = rc == 1 ? -1 : 0;
		goto done;
	}
	if ((fd = test_tcp_connect(c->port)) < 0) {
		fprintf(stderr, "stack_gnutls: cannot connect to port %d\n", c->port);
		goto done;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, TEST_CLIENT_TIMEOUT_S * 1000);
	gnutls_record_set_timeout(s, TEST_CLIENT_TIMEOUT_S * 1000);
	out->connected = exchange(s, out);
	out->rc = certpin_gnutls_result(&out->result, s);
	out->tofu_rc = c->tofu ? certpin_gnutls_tofu_result(&out->tofu, s) : CERTPIN_E_STATE;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (s)
		gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return ret;
}

const stack_client stack_gnutls = { "gnutls", gnutls_connect };
