/* bundle.h - "certpin bundle": signed policy bundles (keygen, sign, verify, apply, fetch, show). */
#ifndef CERTPIN_CLI_BUNDLE_H
#define CERTPIN_CLI_BUNDLE_H

#include <stdio.h>

int cmd_bundle(int argc, char **argv);
void usage_bundle(FILE *f);

#endif
