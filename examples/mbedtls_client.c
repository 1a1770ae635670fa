/*
 * mbedtls_client.c - certpin in an mbedTLS 2.28 client.
 *
 *   example_mbedtls_client HOST PORT POLICY.json CAFILE [ADDRESS]
 *
 * Connects to ADDRESS (default HOST) on PORT with TLS 1.2, verifies the chain
 * against CAFILE and the host name HOST as usual, and lets certpin check the
 * chain mbedTLS verified against the pins in POLICY.json.  Prints the
 * verdict; exits 0 if the connection was allowed, 1 if certpin refused it, 2
 * on any other failure.
 */
#include <stdio.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

#include "certpin.h"
#include "certpin/mbedtls.h"

int main(int argc, char **argv)
{
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_net_context net;
	certpin_policy *policy = NULL;
	certpin_mbedtls *pins = NULL;
	certpin_mbedtls_conn *pc = NULL;
	certpin_result result;
	certpin_error perr;
	int ret = -1, status = 2;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s HOST PORT POLICY.json CAFILE [ADDRESS]\n", argv[0]);
		return 2;
	}
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	mbedtls_net_init(&net);

	/* An ordinary verifying mbedTLS client configuration (reads time out after 10 s). */
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
	    mbedtls_x509_crt_parse_file(&ca, argv[4]) != 0 ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto out;
	mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_read_timeout(&conf, 10000);

	/* The certpin integration: a policy attached to the configuration, last; per connection, the host name. */
	if (certpin_policy_load_file(&policy, argv[3], NULL, &perr) != CERTPIN_OK) {
		fprintf(stderr, "%s\n", perr.message);
		goto out;
	}
	if (certpin_mbedtls_conf_attach(&pins, &conf, policy, NULL, NULL) != CERTPIN_OK ||
	    mbedtls_ssl_setup(&ssl, &conf) != 0 || certpin_mbedtls_setup(&pc, pins, &ssl, argv[1]) != CERTPIN_OK)
		goto out;

	if (mbedtls_net_connect(&net, argc == 6 ? argv[5] : argv[1], argv[2], MBEDTLS_NET_PROTO_TCP) != 0)
		goto out;
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
	for (int i = 0; i < 100; i++)
		if ((ret = mbedtls_ssl_handshake(&ssl)) != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
	int rc = certpin_mbedtls_result(&result, pc);
	if (ret == 0) {
		printf("connected to %s: certpin verdict %s\n", argv[1],
			rc == CERTPIN_OK ? certpin_verdict_name(result.verdict) : certpin_error_name(rc));
		status = 0;
	} else if (rc == CERTPIN_E_PIN_MISMATCH || rc == CERTPIN_E_PINSET_EXPIRED) {
		printf("refused %s: %s\n", argv[1], certpin_strerror(rc));
		status = 1;
	} else {
		char msg[128];
		mbedtls_strerror(ret, msg, sizeof(msg));
		fprintf(stderr, "handshake with %s failed: %s (certpin: %s)\n", argv[1], msg, certpin_error_name(rc));
	}
out:
	if (status == 2 && ret == -1)
		fprintf(stderr, "setup failed\n");
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	certpin_mbedtls_conn_free(pc);          /* after its context */
	mbedtls_ssl_config_free(&conf);
	certpin_mbedtls_free(pins);             /* after its configuration */
	certpin_policy_free(policy);
	mbedtls_x509_crt_free(&ca);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return status;
}
