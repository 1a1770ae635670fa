/*
 * openssl_client.c - the three-line certpin integration in a complete
 * OpenSSL client.
 *
 *   example_openssl_client HOST PORT POLICY.json [CAFILE [ADDRESS]]
 *
 * Connects to ADDRESS (default HOST) on PORT with TLS 1.2+, verifies the
 * certificate chain and the host name HOST as usual, and lets certpin check
 * the verified chain against the pins in POLICY.json.  Prints the verdict;
 * exits 0 if the connection was allowed, 1 if certpin refused it, 2 on any
 * other failure.
 */
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certpin.h"

int main(int argc, char **argv)
{
	const char *host, *port, *policy_file, *cafile, *address;
	certpin_policy *policy = NULL;
	certpin_result result;
	SSL_CTX *ctx = NULL;
	BIO *bio = NULL;
	SSL *ssl = NULL;
	int rc, status = 2;

	if (argc < 4 || argc > 6) {
		fprintf(stderr, "usage: %s HOST PORT POLICY.json [CAFILE [ADDRESS]]\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = argv[2];
	policy_file = argv[3];
	cafile = argc >= 5 ? argv[4] : NULL;
	address = argc == 6 ? argv[5] : host;

	/* An ordinary verifying OpenSSL client context. */
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto err;
	if ((cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
	            : SSL_CTX_set_default_verify_paths(ctx)) != 1)
		goto err;

	/* The certpin integration: load a policy and attach it to the context. */
	certpin_error perr;
	if (certpin_policy_load_file(&policy, policy_file, NULL, &perr) != CERTPIN_OK) {
		fprintf(stderr, "%s\n", perr.message);
		goto out;
	}
	if (certpin_ssl_ctx_attach(ctx, policy, NULL) != CERTPIN_OK)
		goto err;

	/* Per connection: the host name to verify (and to look up in the policy), and SNI. */
	bio = BIO_new_ssl_connect(ctx);
	if (!bio || BIO_get_ssl(bio, &ssl) != 1 || !ssl)
		goto err;
	if (SSL_set1_host(ssl, host) != 1 || SSL_set_tlsext_host_name(ssl, host) != 1)
		goto err;
	if (BIO_set_conn_hostname(bio, address) != 1 || BIO_set_conn_port(bio, port) != 1)
		goto err;

	if (BIO_do_handshake(bio) == 1) {
		rc = certpin_ssl_result(&result, ssl);
		printf("connected to %s: certpin verdict %s\n", host,
			rc == CERTPIN_OK ? certpin_verdict_name(result.verdict) : certpin_error_name(rc));
		status = 0;
	} else {
		rc = certpin_ssl_result(&result, ssl);
		if (rc == CERTPIN_E_PIN_MISMATCH || rc == CERTPIN_E_PINSET_EXPIRED) {
			printf("refused %s: %s\n", host, certpin_strerror(rc));
			status = 1;
		} else {
			fprintf(stderr, "handshake with %s failed: %s\n", host,
				rc == CERTPIN_E_STATE ? "before certificate verification" : certpin_strerror(rc));
			ERR_print_errors_fp(stderr);
		}
	}
	goto out;
err:
	fprintf(stderr, "setup failed\n");
	ERR_print_errors_fp(stderr);
out:
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
	certpin_policy_free(policy);    /* after the SSL_CTX that uses it */
	return status;
}
