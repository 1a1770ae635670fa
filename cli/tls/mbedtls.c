/*
 * certpin check --tls mbedtls: an mbedTLS 2.28 client with the adapter
 * (certpin/mbedtls.h) attached to its configuration.
 */
#include "stacks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "certpin/mbedtls.h"

typedef struct mbed_client {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	certpin_mbedtls *pins;
	certpin_mbedtls_conn *pc;
} mbed_client;

static void mbed_error(char *buf, size_t len, const char *what, int ret)
{
	char msg[160];

	mbedtls_strerror(ret, msg, sizeof(msg));
	snprintf(buf, len, "%s: %s (-0x%04x)", what, msg, (unsigned int)-ret);
}

/* Why mbedTLS refused the certificate, on one line (mbedtls_x509_crt_verify_info() writes one per flag). */
static void verify_error(char *buf, size_t len, uint32_t flags)
{
	char info[384];

	if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
		info[0] = '\0';
	for (char *p = info; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ';' : '\0';
	snprintf(buf, len, "certificate verification failed: %s", info[0] ? info : "(no reason given)");
}

static void mbed_close(void *client)
{
	mbed_client *m = client;

	if (!m)
		return;
	mbedtls_ssl_free(&m->ssl);
	certpin_mbedtls_conn_free(m->pc);       /* after its context */
	mbedtls_ssl_config_free(&m->conf);
	certpin_mbedtls_free(m->pins);          /* after its configuration */
	mbedtls_x509_crt_free(&m->ca);
	mbedtls_ctr_drbg_free(&m->drbg);
	mbedtls_entropy_free(&m->entropy);
	free(m);
}

/* The client with the policy attached. */
static int mbed_setup(void **client, const cli_stack_args *a, cli_stack_result *out)
{
	const char *cafile = a->cafile ? a->cafile : CLI_SYSTEM_CA_FILE;
	mbed_client *m = calloc(1, sizeof(*m));
	int ret, rc;

	if (!(*client = m)) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		return CLI_STACK_SETUP_FAILED;
	}
	mbedtls_entropy_init(&m->entropy);
	mbedtls_ctr_drbg_init(&m->drbg);
	mbedtls_x509_crt_init(&m->ca);
	mbedtls_ssl_config_init(&m->conf);
	mbedtls_ssl_init(&m->ssl);
	if ((ret = mbedtls_ctr_drbg_seed(&m->drbg, mbedtls_entropy_func, &m->entropy, NULL, 0)) != 0 ||
	    (ret = mbedtls_ssl_config_defaults(&m->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		    MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		mbed_error(out->error, sizeof(out->error), "mbedTLS setup failed", ret);
		return CLI_STACK_SETUP_FAILED;
	}
	/* mbedTLS has no system store of its own: the system's PEM bundle stands in for it */
	if ((ret = mbedtls_x509_crt_parse_file(&m->ca, cafile)) != 0) {
		mbed_error(out->error, sizeof(out->error), cafile, ret);
		return a->cafile ? CLI_STACK_BAD_CAFILE : CLI_STACK_NO_SYSTEM_STORE;
	}
	mbedtls_ssl_conf_min_version(&m->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ca_chain(&m->conf, &m->ca, NULL);
	mbedtls_ssl_conf_rng(&m->conf, mbedtls_ctr_drbg_random, &m->drbg);
	mbedtls_ssl_conf_read_timeout(&m->conf, (uint32_t)a->timeout_ms);
	if ((rc = certpin_mbedtls_conf_attach(&m->pins, &m->conf, a->policy, NULL, a->opts)) != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "cannot attach the policy: %s", certpin_strerror(rc));
		return CLI_STACK_SETUP_FAILED;
	}
	if ((ret = mbedtls_ssl_setup(&m->ssl, &m->conf)) != 0) {
		mbed_error(out->error, sizeof(out->error), "mbedTLS setup failed", ret);
		return CLI_STACK_SETUP_FAILED;
	}
	if ((rc = certpin_mbedtls_setup(&m->pc, m->pins, &m->ssl, a->verify_host)) != CERTPIN_OK) {
		snprintf(out->error, sizeof(out->error), "cannot set up the check for '%s': %s", a->verify_host,
			certpin_strerror(rc));
		return CLI_STACK_SETUP_FAILED;
	}
	return CLI_STACK_READY;
}

static void mbed_handshake(void *client, int fd, cli_stack_result *out)
{
	mbed_client *m = client;
	mbedtls_net_context net = { fd };       /* the caller's socket: no mbedtls_net_free() */
	int ret = 0;

	mbedtls_ssl_set_bio(&m->ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	for (int i = 0; i < 100; i++)
		if ((ret = mbedtls_ssl_handshake(&m->ssl)) != MBEDTLS_ERR_SSL_WANT_READ &&
		    ret != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
	out->handshake_ok = ret == 0;
	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
		verify_error(out->error, sizeof(out->error), mbedtls_ssl_get_verify_result(&m->ssl));
	else if (ret != 0)
		mbed_error(out->error, sizeof(out->error), "TLS handshake failed", ret);
	else
		snprintf(out->version, sizeof(out->version), "%s", mbedtls_ssl_get_version(&m->ssl));
	out->rc = certpin_mbedtls_result(&out->res, m->pc);
	if (ret == 0)
		(void)mbedtls_ssl_close_notify(&m->ssl);
	mbedtls_ssl_set_bio(&m->ssl, NULL, NULL, NULL, NULL); /* `net` ends here */
}

const cli_stack cli_stack_mbedtls = { "mbedtls", mbed_setup, mbed_handshake, mbed_close };
