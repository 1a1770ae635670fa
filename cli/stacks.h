/*
 * The TLS stacks `certpin check --tls STACK` runs a check through.  OpenSSL
 * is check.c's own path (it also shows the verified chain's certificates);
 * every other stack is a connector in cli/tls/, built when certpin is built
 * with that stack's adapter.  A connector is an ordinary client of its
 * stack with the adapter attached, as an application would write it: it
 * trusts the CA file (or the system store), lets the stack verify the host
 * name, and reads the adapter's result after the handshake, refused or not.
 */
#ifndef CERTPIN_CLI_STACKS_H
#define CERTPIN_CLI_STACKS_H

#include "common.h"

/* What a connector is asked to do. */
typedef struct cli_stack_args {
	const char *cafile;             /* PEM trust anchors; NULL: the system store */
	certpin_policy *policy;
	const certpin_ssl_options *opts;
	const char *servername;         /* SNI; NULL for an IP literal */
	const char *verify_host;        /* the name (or IP) the stack verifies and the pins apply to */
} cli_stack_args;

/* What came of it. */
typedef struct cli_stack_result {
	int rc;                         /* the adapter's result code, CERTPIN_E_STATE if no check ran */
	certpin_result res;
	char version[32];               /* the protocol negotiated, "" if none */
} cli_stack_result;

typedef struct cli_stack {
	const char *name;               /* as --tls takes it */
	/*
	 * Make the client with the policy attached (trust loaded first), run a
	 * handshake on c->fd (connected, blocking, reads and writes bounded),
	 * and fill `out`; sets c->handshake_ok, or c->error to the stack's own
	 * reason.  Returns CLI_EXIT_OK once a handshake ran (whatever its end),
	 * CLI_EXIT_USAGE for a CA file it cannot read, CLI_EXIT_TLS for no
	 * system store, CLI_EXIT_INTERNAL otherwise, with cli_error() printed.
	 */
	int (*run)(cli_conn *c, const cli_stack_args *a, cli_stack_result *out);
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
