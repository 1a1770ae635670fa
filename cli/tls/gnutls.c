/*
 * certpin check --tls gnutls: a GnuTLS 3.7 client with the adapter
 * (certpin/gnutls.h) attached to its session.
 */
#include "stacks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "certpin/gnutls.h"

/* Why GnuTLS refused the certificate (the status of its verification), on one line. */
static void verify_error(char *buf, size_t len, unsigned int status)
{
	gnutls_datum_t out = { NULL, 0 };

	if (status != (unsigned int)-1 &&
	    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0 && out.data)
		snprintf(buf, len, "certificate verification failed: %s", (const char *)out.data);
	else
		snprintf(buf, len, "certificate verification failed");
	gnutls_free(out.data);
}

typedef struct gt_client {
	gnutls_certificate_credentials_t cred;
	gnutls_session_t session;
} gt_client;

static void gt_close(void *client)
{
	gt_client *g = client;

	if (!g)
		return;
	if (g->session)
		gnutls_deinit(g->session);
	if (g->cred)
		gnutls_certificate_free_credentials(g->cred);
	free(g);
}

/* The session with its trust and the policy attached. */
static int gt_setup(void **client, const cli_stack_args *a, cli_stack_result *out)
{
	gt_client *g = calloc(1, sizeof(*g));
	certpin_error err;
	int ret;

	if (!(*client = g)) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		return CLI_STACK_SETUP_FAILED;
	}
	if ((ret = gnutls_certificate_allocate_credentials(&g->cred)) < 0 ||
	    (ret = gnutls_init(&g->session, GNUTLS_CLIENT)) < 0 || (ret = gnutls_set_default_priority(g->session)) < 0) {
		snprintf(out->error, sizeof(out->error), "GnuTLS setup failed: %s", gnutls_strerror(ret));
		return CLI_STACK_SETUP_FAILED;
	}
	ret = a->cafile ? gnutls_certificate_set_x509_trust_file(g->cred, a->cafile, GNUTLS_X509_FMT_PEM)
			: gnutls_certificate_set_x509_system_trust(g->cred);
	if (ret <= 0) {
		snprintf(out->error, sizeof(out->error), "%s: %s", a->cafile ? a->cafile : "the system store",
			ret < 0 ? gnutls_strerror(ret) : "no certificates");
		return a->cafile ? CLI_STACK_BAD_CAFILE : CLI_STACK_NO_SYSTEM_STORE;
	}
	if ((ret = gnutls_credentials_set(g->session, GNUTLS_CRD_CERTIFICATE, g->cred)) < 0 ||
	    (a->servername && (ret = gnutls_server_name_set(g->session, GNUTLS_NAME_DNS, a->servername,
		    strlen(a->servername))) < 0)) {
		snprintf(out->error, sizeof(out->error), "GnuTLS setup failed: %s", gnutls_strerror(ret));
		return CLI_STACK_SETUP_FAILED;
	}
	/* certpin's name check stands in for gnutls_session_set_verify_cert() */
	if (certpin_gnutls_set_verify_cert(g->session, a->verify_host, 0, &err) != CERTPIN_OK ||
	    certpin_gnutls_session_attach(g->session, a->policy, a->opts, &err) != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "cannot attach the policy: %.400s", err.message);
		return CLI_STACK_SETUP_FAILED;
	}
	gnutls_handshake_set_timeout(g->session, (unsigned int)a->timeout_ms);
	return CLI_STACK_READY;
}

static void gt_handshake(void *client, int fd, cli_stack_result *out)
{
	gt_client *g = client;
	int ret = 0;

	gnutls_transport_set_int(g->session, fd);
	for (int i = 0; i < 100; i++)
		if ((ret = gnutls_handshake(g->session)) >= 0 || gnutls_error_is_fatal(ret))
			break;
	out->handshake_ok = ret == 0;
	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
		verify_error(out->error, sizeof(out->error), certpin_gnutls_verify_status(g->session));
	else if (ret != 0)
		snprintf(out->error, sizeof(out->error), "TLS handshake failed: %s", gnutls_strerror(ret));
	else
		snprintf(out->version, sizeof(out->version), "%s",
			gnutls_protocol_get_name(gnutls_protocol_get_version(g->session)));
	out->rc = certpin_gnutls_result(&out->res, g->session);
	if (ret == 0)
		(void)gnutls_bye(g->session, GNUTLS_SHUT_WR);
}

const cli_stack cli_stack_gnutls = { "gnutls", gt_setup, gt_handshake, gt_close };
