/*
 * hostsfile.h - the HOSTS-FILE of "certpin monitor".
 *
 * One endpoint per line:
 *
 *   HOST[:PORT] [SERVERNAME]      e.g.  api.example.com
 *   [IPV6]:PORT [SERVERNAME]            127.0.0.1:8443 api.example.com
 *   IPV6 [SERVERNAME]                   [2001:db8::1]:443 api.example.com
 *
 * PORT defaults to 443.  SERVERNAME (default: HOST) is sent as SNI, checked
 * against the certificate and looked up in the policy.  '#' starts a comment
 * that runs to the end of the line; blank lines are ignored; CRLF is accepted.
 * Names must be valid A-label host names or IP literals (as
 * certpin_hostname_normalize()).  Any other content is an error naming the
 * line: a bad port, a third field, a NUL byte, a line over HF_MAX_LINE bytes,
 * more than HF_MAX_ENTRIES entries, or no entry at all.
 *
 * Depends on libcertpin only (no OpenSSL, no jansson), so that
 * fuzz/fuzz_hostsfile.c can build it.
 */
#ifndef CERTPIN_CLI_HOSTSFILE_H
#define CERTPIN_CLI_HOSTSFILE_H

#include <stddef.h>

#include "certpin.h"

#define HF_MAX_LINE 1024
#define HF_MAX_ENTRIES 100000

typedef struct hf_entry {
	char host[CERTPIN_HOSTNAME_MAX];        /* normalized host name or IP literal (no brackets) */
	char port[8];                           /* decimal, 1..65535 */
	char servername[CERTPIN_HOSTNAME_MAX];  /* normalized */
	int host_is_ip;
	int servername_is_ip;
	unsigned int line;                      /* 1-based line number */
} hf_entry;

/*
 * Parse `len` bytes.  Returns 0 with *out (malloc'd, free with free()) and
 * *count >= 1; -1 with a one-line reason "line N: ..." in `err` (*out NULL);
 * -2 if out of memory.
 */
int hostsfile_parse(hf_entry **out, size_t *count, const char *data, size_t len, char *err, size_t errlen);

/* "HOST:PORT" with IPv6 brackets, for messages and state keys; `out` needs 270 bytes. */
void hostsfile_endpoint(char *out, size_t outlen, const hf_entry *e);

#endif
