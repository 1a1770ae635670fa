/* stacks.c - the stack clients of this build (stack.h), OpenSSL first. */
#include "stack.h"

extern const stack_client stack_openssl;

const stack_client *const test_stacks[] = {
	&stack_openssl,
	NULL
};
