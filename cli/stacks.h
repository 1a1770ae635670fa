/*
 * The TLS stacks `certpin check --tls STACK` runs a check through.  OpenSSL
 * is check.c's own path (it also shows the verified chain's subjects);
 * every other stack is a connector in cli/tls/, built when certpin is built
 * with that stack's adapter.  A connector is an ordinary client of its
 * stack with the adapter attached, as an application would write it: it
 * trusts the CA file (or the system store), lets the stack verify the host
 * name, and reads the adapter's result after the handshake, refused or not.
 *
 * This header needs no OpenSSL header (the CLI's common.h does), so that a
 * connector includes only its own stack's headers: wolfSSL's, built with
 * its OpenSSL compatibility layer, must not meet OpenSSL's.
 */
#ifndef CERTPIN_CLI_STACKS_H
#define CERTPIN_CLI_STACKS_H

#include <stddef.h>

#include "certpin.h"

/* What a connector is asked to do. */
typedef struct cli_stack_args {
	const char *cafile;             /* PEM trust anchors; NULL: the system store */
	certpin_policy *policy;
	const certpin_ssl_options *opts;
	const char *servername;         /* SNI; NULL for an IP literal */
	const char *verify_host;        /* the name (or IP) the stack verifies and the pins apply to */
	int timeout_ms;                 /* for the handshake, where the stack takes one */
} cli_stack_args;

/* What came of it. */
typedef struct cli_stack_result {
	int handshake_ok;
	int rc;                         /* the adapter's result code, CERTPIN_E_STATE if no check ran */
	certpin_result res;
	char version[32];               /* the protocol negotiated, "" if none */
	char error[512];                /* why the setup or the handshake failed, on one line */
} cli_stack_result;

/* How a connector's setup went. */
enum {
	CLI_STACK_READY = 0,            /* the client is ready for the handshake */
	CLI_STACK_BAD_CAFILE,           /* the --cafile could not be read */
	CLI_STACK_NO_SYSTEM_STORE,      /* no --cafile, and no system store */
	CLI_STACK_SETUP_FAILED          /* the stack or the adapter could not be set up */
};

typedef struct cli_stack {
	const char *name;               /* as --tls takes it */
	/*
	 * Make the client, trust loaded and the policy attached, in *client
	 * (`a` must outlive it); CLI_STACK_READY or how it failed, the reason in
	 * out->error.  *client is for close() whatever the outcome.
	 */
	int (*setup)(void **client, const cli_stack_args *a, cli_stack_result *out);
	/* Run the handshake on `fd` (connected, blocking, each read and write bounded) and fill `out`. */
	void (*handshake)(void *client, int fd, cli_stack_result *out);
	void (*close)(void *client);    /* NULL-safe; leaves the socket open */
} cli_stack;

/* The stack named `name`, NULL if certpin was built without it ("openssl" is not in the table). */
const cli_stack *cli_stack_find(const char *name);

/* The names --tls takes in this build, for messages: "openssl, mbedtls, ...". */
const char *cli_stack_names(void);

/* The connectors (cli/tls/). */
extern const cli_stack cli_stack_mbedtls, cli_stack_wolfssl, cli_stack_gnutls;

/* The PEM bundle of the system's trust anchors, for stacks with no default store of their own. */
#define CLI_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

#endif
