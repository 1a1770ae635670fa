/* collect_setup.h - files "certpin collect" reads and writes as it starts (collect_setup.c). */
#ifndef CERTPIN_CLI_COLLECT_SETUP_H
#define CERTPIN_CLI_COLLECT_SETUP_H

/* The text of a file of at most 1 MiB (malloc'd), or NULL after a message naming `what`. */
char *collect_read_text(const char *path, const char *what);
/*
 * The HTTPS certificate and key: the first certificate of the chain, an
 * unencrypted private key, and the two belong together.  0, or -1 after a
 * message.
 */
int collect_check_tls_pair(const char *cert_pem, const char *cert_path, const char *key_pem, const char *key_path);
/* Write "PORT\n" to `path` atomically (a temporary file renamed).  0, or -1 with errno set. */
int collect_write_port_file(const char *path, unsigned int port);

#endif
