/* stack_openssl.c - the OpenSSL adapter as a stack client (stack.h), on tlsclient.c. */
#include "stack.h"
#include "tlsclient.h"

#include <stdio.h>
#include <string.h>

static int openssl_connect(stack_result *out, const stack_conn *c)
{
	test_client_info info;

	memset(out, 0, sizeof(*out));
	test_client_tofu = c->tofu;
	int rc = test_client_connect(&out->result, &info, c->port, c->host, 0, c->ca_file, c->policy, c->opts);
	test_client_tofu = NULL;
	if (rc == CERTPIN_E_IO)
		return -1;      /* no CA file or no TCP connection: the harness failed */
	out->connected = info.connected;
	out->rc = info.checked ? info.certpin_rc : CERTPIN_E_STATE;
	out->tofu_rc = c->tofu ? info.tofu_rc : CERTPIN_E_STATE;
	out->tofu = info.tofu;
	snprintf(out->error, sizeof(out->error), "%s", info.tls_error);
	return 0;
}

const stack_client stack_openssl = { "openssl", openssl_connect };
