/* stacks.c - the stack clients of this build (stack.h), OpenSSL first. */
#include "stack.h"

extern const stack_client stack_openssl, stack_curl, stack_mbedtls, stack_wolfssl, stack_gnutls;

const stack_client *const test_stacks[] = {
	&stack_openssl,
#ifdef CERTPIN_TEST_HAVE_CURL
	&stack_curl,
#endif
#ifdef CERTPIN_TEST_HAVE_MBEDTLS
	&stack_mbedtls,
#endif
#ifdef CERTPIN_TEST_HAVE_WOLFSSL
	&stack_wolfssl,
#endif
#ifdef CERTPIN_TEST_HAVE_GNUTLS
	&stack_gnutls,
#endif
	NULL
};
