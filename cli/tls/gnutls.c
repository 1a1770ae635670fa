/*
 * certpin check --tls gnutls: a GnuTLS 3.7 client with the adapter
 * (certpin/gnutls.h) attached to its session.
 */
#include "stacks.h"

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

/* The session with its trust and the policy attached; CLI_EXIT_OK or an exit status with the reason printed. */
static int setup(gnutls_session_t *session, gnutls_certificate_credentials_t *cred, const cli_stack_args *a)
{
	certpin_error err;
	int ret;

	if ((ret = gnutls_certificate_allocate_credentials(cred)) < 0 ||
	    (ret = gnutls_init(session, GNUTLS_CLIENT)) < 0 || (ret = gnutls_set_default_priority(*session)) < 0) {
		cli_error("GnuTLS setup failed: %s", gnutls_strerror(ret));
		return CLI_EXIT_INTERNAL;
	}
	ret = a->cafile ? gnutls_certificate_set_x509_trust_file(*cred, a->cafile, GNUTLS_X509_FMT_PEM)
			: gnutls_certificate_set_x509_system_trust(*cred);
	if (ret <= 0) {
		if (a->cafile)
			cli_error("%s: cannot load CA certificates (--cafile)%s%s", a->cafile, ret < 0 ? ": " : "",
				ret < 0 ? gnutls_strerror(ret) : "");
		else
			cli_error("cannot load the system trust store");
		return a->cafile ? CLI_EXIT_USAGE : CLI_EXIT_TLS;
	}
	if ((ret = gnutls_credentials_set(*session, GNUTLS_CRD_CERTIFICATE, *cred)) < 0 ||
	    (a->servername && (ret = gnutls_server_name_set(*session, GNUTLS_NAME_DNS, a->servername,
		    strlen(a->servername))) < 0)) {
		cli_error("GnuTLS setup failed: %s", gnutls_strerror(ret));
		return CLI_EXIT_INTERNAL;
	}
	/* certpin's name check stands in for gnutls_session_set_verify_cert() */
	if (certpin_gnutls_set_verify_cert(*session, a->verify_host, 0, &err) != CERTPIN_OK ||
	    certpin_gnutls_session_attach(*session, a->policy, a->opts, &err) != CERTPIN_OK) {
		cli_error("cannot attach the policy: %s", err.message);
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

static int run(cli_conn *c, const cli_stack_args *a, cli_stack_result *out)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t session = NULL;
	int ret = 0, status = setup(&session, &cred, a);

	if (status == CLI_EXIT_OK) {
		gnutls_transport_set_int(session, c->fd);
		gnutls_handshake_set_timeout(session, CLI_CONNECT_TIMEOUT * 1000);
		for (int i = 0; i < 100; i++)
			if ((ret = gnutls_handshake(session)) >= 0 || gnutls_error_is_fatal(ret))
				break;
		c->handshake_ok = ret == 0;
		if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
			verify_error(c->error, sizeof(c->error), certpin_gnutls_verify_status(session));
		else if (ret != 0)
			snprintf(c->error, sizeof(c->error), "TLS handshake failed: %s", gnutls_strerror(ret));
		else
			snprintf(out->version, sizeof(out->version), "%s",
				gnutls_protocol_get_name(gnutls_protocol_get_version(session)));
		out->rc = certpin_gnutls_result(&out->res, session);
		if (ret == 0)
			(void)gnutls_bye(session, GNUTLS_SHUT_WR);
	}
	if (session)
		gnutls_deinit(session);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return status;
}

const cli_stack cli_stack_gnutls = { "gnutls", run };
