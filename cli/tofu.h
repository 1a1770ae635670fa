/* tofu.h - "certpin tofu": the trust-on-first-use pin store (check, list, forget, trust). */
#ifndef CERTPIN_CLI_TOFU_H
#define CERTPIN_CLI_TOFU_H

#include <stdio.h>

int cmd_tofu(int argc, char **argv);
void usage_tofu(FILE *f);

#endif
