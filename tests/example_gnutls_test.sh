#!/bin/sh
# The GnuTLS example client (examples/gnutls_client.c) against a local test
# server: allowed (exit 0) with the server's pin, refused (exit 1) with
# another, refused for a name the certificate is not for.
#   example_gnutls_test.sh EXAMPLE TLS_SERVER   (CERTPIN_TEST_PKI set)
set -eu
max_conns=3
# shellcheck source-path=SCRIPTDIR source=example_common.sh
. "$(dirname "$0")/example_common.sh"
standard_cases
echo "example_gnutls_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
