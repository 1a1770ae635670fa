/*
 * The table of TLS stacks `certpin check --tls` can use in this build.
 */
#include "stacks.h"

#include <stdio.h>
#include <string.h>

static const cli_stack *const stacks[] = {
#ifdef CERTPIN_CLI_HAVE_MBEDTLS
	&cli_stack_mbedtls,
#endif
#ifdef CERTPIN_CLI_HAVE_WOLFSSL
	&cli_stack_wolfssl,
#endif
#ifdef CERTPIN_CLI_HAVE_GNUTLS
	&cli_stack_gnutls,
#endif
	NULL,
};

const cli_stack *cli_stack_find(const char *name)
{
	for (size_t i = 0; stacks[i]; i++)
		if (strcmp(stacks[i]->name, name) == 0)
			return stacks[i];
	return NULL;
}

const char *cli_stack_names(void)
{
	static char names[64];

	if (!names[0]) {
		snprintf(names, sizeof(names), "openssl");
		for (size_t i = 0; stacks[i]; i++) {
			size_t n = strlen(names);
			snprintf(names + n, sizeof(names) - n, ", %s", stacks[i]->name);
		}
	}
	return names;
}
