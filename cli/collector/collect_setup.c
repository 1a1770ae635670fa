/*
 * collect_setup.c - files "certpin collect" reads and writes as it starts:
 * the HTTPS certificate and key (checked here so that a bad file gets its own
 * message; libmicrohttpd would only fail to start) and the port file.
 */
#include "collect_setup.h"
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

char *collect_read_text(const char *path, const char *what)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f) {
		cli_error("collect: cannot open %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 1 << 20 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		cli_error("collect: cannot read %s %s", what, path);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		cli_error("collect: cannot read %s %s", what, path);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/*
 * The HTTPS certificate and key, checked here so that a bad file gets its own
 * message (libmicrohttpd would only fail to start): the first certificate of
 * the chain, an unencrypted private key, and the two belong together.
 */
int collect_check_tls_pair(const char *cert_pem, const char *cert_path, const char *key_pem, const char *key_path)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	BIO_free(b);
	if (!x) {
		cli_error("collect: %s: no PEM certificate", cert_path);
		goto out;
	}
	b = BIO_new_mem_buf(key_pem, -1);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		cli_error("collect: %s: no unencrypted PEM private key", key_path);
		goto out;
	}
	if (X509_check_private_key(x, k) != 1) {
		cli_error("collect: the key in %s does not match the certificate in %s", key_path, cert_path);
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return rc;
}

int collect_write_port_file(const char *path, unsigned int port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
