/* stack_mbedtls.c - the mbedTLS adapter as a stack client (stack.h), see stack_mbedtls.h. */
#include "stack_mbedtls.h"
#include "tlsclient.h"

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define MAX_STEPS 64    /* mbedtls_ssl_handshake/read/write calls per step of the exchange */

int test_mbed_init(test_mbed *m, const char *ca_file)
{
	static const char pers[] = "certpin stack_mbedtls";
	int ret;

	memset(m, 0, sizeof(*m));
	mbedtls_entropy_init(&m->entropy);
	mbedtls_ctr_drbg_init(&m->drbg);
	mbedtls_x509_crt_init(&m->ca);
	mbedtls_ssl_config_init(&m->conf);
	if ((ret = mbedtls_ctr_drbg_seed(&m->drbg, mbedtls_entropy_func, &m->entropy, (const unsigned char *)pers,
		     sizeof(pers) - 1)) != 0 ||
	    (ca_file && (ret = mbedtls_x509_crt_parse_file(&m->ca, ca_file)) != 0) ||
	    (ret = mbedtls_ssl_config_defaults(&m->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		     MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		char msg[128];
		mbedtls_strerror(ret, msg, sizeof(msg));
		fprintf(stderr, "stack_mbedtls: client setup (%s): %s\n", ca_file ? ca_file : "no CA", msg);
		test_mbed_free(m);
		return -1;
	}
	/* TLS 1.2: the newest mbedTLS 2.28 speaks */
	mbedtls_ssl_conf_min_version(&m->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_authmode(&m->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&m->conf, ca_file ? &m->ca : NULL, NULL);
	mbedtls_ssl_conf_rng(&m->conf, mbedtls_ctr_drbg_random, &m->drbg);
	return 0;
}

void test_mbed_free(test_mbed *m)
{
	mbedtls_ssl_config_free(&m->conf);
	certpin_mbedtls_free(m->pins);  /* after its configuration */
	m->pins = NULL;
	mbedtls_x509_crt_free(&m->ca);
	mbedtls_ctr_drbg_free(&m->drbg);
	mbedtls_entropy_free(&m->entropy);
}

static int want_more(int ret)
{
	return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* Handshake, send "hi\n", expect "ok\n".  1 on success; *hs the handshake's last return. */
static int exchange(mbedtls_ssl_context *ssl, int *hs, char *err, size_t errlen)
{
	unsigned char buf[64];
	size_t got = 0;
	int ret = MBEDTLS_ERR_SSL_WANT_READ, i;

	for (i = 0; i < MAX_STEPS && want_more(ret); i++)
		ret = mbedtls_ssl_handshake(ssl);
	*hs = ret;
	for (i = 0; ret == 0 && i < MAX_STEPS; i++)
		if ((ret = mbedtls_ssl_write(ssl, (const unsigned char *)"hi\n", 3)) >= 0)
			break;
		else if (want_more(ret))
			ret = 0;
	for (i = 0; ret >= 0 && got < 3 && i < MAX_STEPS; i++) {
		ret = mbedtls_ssl_read(ssl, buf + got, sizeof(buf) - got);
		if (ret > 0)
			got += (size_t)ret;
		else if (want_more(ret))
			ret = 0;
		else if (ret == 0)
			ret = -1; /* closed before the reply */
	}
	if (ret < 0)
		mbedtls_strerror(ret, err, errlen);
	return ret >= 0 && got == 3 && memcmp(buf, "ok\n", 3) == 0;
}

/* certpin's results of the connection `pc` (NULL: none) into `out`. */
static void results(stack_result *out, const certpin_mbedtls_conn *pc)
{
	out->rc = out->tofu_rc = CERTPIN_E_STATE;
	memset(&out->result, 0, sizeof(out->result));
	out->result.version = CERTPIN_RESULT_VERSION;
	out->result.verdict = CERTPIN_VERDICT_NOT_PINNED;
	out->result.rule = out->result.pin = out->result.depth = -1;
	if (!pc)
		return;
	out->rc = certpin_mbedtls_result(&out->result, pc);
	out->tofu_rc = certpin_mbedtls_tofu_result(&out->tofu, pc);
}

int test_mbed_connect(stack_result *out, test_mbed *m, int port, const char *host, test_mbed_conn *x)
{
	test_mbed_conn none = { 0, NULL, NULL, 0, 0, 0 };
	certpin_mbedtls_conn *pc = NULL;
	mbedtls_ssl_context ssl;
	mbedtls_net_context net;
	int rc = 0;

	if (!x)
		x = &none;
	x->setup_rc = CERTPIN_E_STATE;
	x->handshake_ret = 0;
	x->verify_result = 0;
	memset(out, 0, sizeof(*out));
	results(out, NULL);
	signal(SIGPIPE, SIG_IGN);
	mbedtls_ssl_init(&ssl);
	mbedtls_net_init(&net);
	if (mbedtls_ssl_setup(&ssl, &m->conf) != 0) {
		fprintf(stderr, "stack_mbedtls: mbedtls_ssl_setup failed\n");
		rc = -1;
		goto done;
	}
	if (m->pins && !(x->flags & TEST_MBED_NO_SETUP)) {
		if ((x->flags & TEST_MBED_RESETUP) && certpin_mbedtls_setup(&pc, m->pins, &ssl, "api.certpin.test") == 0) {
			certpin_mbedtls_conn_free(pc); /* reusing the context: the old check goes */
			pc = NULL;
		}
		x->setup_rc = certpin_mbedtls_setup(&pc, m->pins, &ssl, host);
		if (x->setup_rc != CERTPIN_OK && !(x->flags & TEST_MBED_GO_ON))
			goto done; /* the attempt is the test's to judge: no connection */
		if (x->resume && pc)
			(void)certpin_mbedtls_set_session(pc, x->resume);
	} else if (host && mbedtls_ssl_set_hostname(&ssl, host) != 0) {
		rc = -1;
		goto done;
	}
	if ((net.fd = test_tcp_connect(port)) < 0) {
		perror("stack_mbedtls: connect 127.0.0.1");
		rc = -1;
		goto done;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
	out->connected = exchange(&ssl, &x->handshake_ret, out->error, sizeof(out->error));
	x->verify_result = mbedtls_ssl_get_verify_result(&ssl);
	results(out, pc);
	if (out->connected && x->save && certpin_mbedtls_get_session(x->save, pc) != CERTPIN_OK)
		rc = -1;
	if (out->connected)
		(void)mbedtls_ssl_close_notify(&ssl);
done:
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	certpin_mbedtls_conn_free(pc);  /* after its context */
	return rc;
}

static int mbedtls_connect(stack_result *out, const stack_conn *c)
{
	test_mbed m;
	int rc;

	memset(out, 0, sizeof(*out));
	results(out, NULL);
	if (test_mbed_init(&m, c->ca_file) != 0)
		return -1;
	if ((c->policy || c->tofu) &&
	    (rc = certpin_mbedtls_conf_attach(&m.pins, &m.conf, c->policy, c->tofu, c->opts)) != CERTPIN_OK) {
		out->rc = rc; /* attached nothing: no connection */
		snprintf(out->error, sizeof(out->error), "certpin_mbedtls_conf_attach: %s", certpin_error_name(rc));
		test_mbed_free(&m);
		return 0;
	}
	rc = test_mbed_connect(out, &m, c->port, c->host, NULL);
	test_mbed_free(&m);
	return rc;
}

const stack_client stack_mbedtls = { "mbedtls", mbedtls_connect };
