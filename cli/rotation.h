/*
 * rotation.h - the rotation-safety subcommands ("certpin lint", "plan",
 * "monitor") and what they share: chains as digests plus what is printed
 * about them, loaded from a PEM file (optionally PKIX-verified) or from a
 * live TLS server, and policies of any format loaded through the library's
 * importer.
 */
#ifndef CERTPIN_CLI_ROTATION_H
#define CERTPIN_CLI_ROTATION_H

#include "common.h"

int cmd_lint(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
void usage_lint(FILE *f);
void usage_plan(FILE *f);
void usage_monitor(FILE *f);

/* A certificate chain, leaf first.  Elements with flags 0 are unknown. */
typedef struct rot_chain {
	certpin_chain_elem *elems;
	char **subjects;        /* per element; NULL when unknown */
	int64_t *not_after;     /* per element; 0 when unknown */
	size_t n;
	int verified;           /* 1 if this is a PKIX-verified chain */
	char unverified[512];   /* chain file not verified: why ("" if verified or not a file) */
	char address[CERTPIN_HOSTNAME_MAX]; /* --connect: numeric peer address */
	char port[8];
} rot_chain;

void rot_chain_free(rot_chain *c);

/* Append an unknown element (subject `what`).  0 or -1 (out of memory). */
int rot_chain_append_unknown(rot_chain *c, const char *what);

/*
 * The chain in PEM file `path` (certificates only, leaf first).  Always
 * checked first, as every client would: the order (each certificate issued
 * and signed by the next), the leaf is no CA and is valid for `host`, every
 * certificate is valid at `at`; a failure gives CLI_EXIT_REFUSED with `err`
 * set.  With ROT_LEAF_REPLACED in `flags` (a new key replaces the leaf, and
 * a new certificate is issued for it) the leaf's validity period and host
 * are not checked, only those of the CA certificates, trust anchor
 * included.  Then, with `cafile` (or, with ROT_SYSTEM_STORE, without it: the system
 * trust store), the chain is PKIX-verified for `host` at `at` (purpose TLS
 * server) and the verified chain, trust anchor included, is returned; a
 * verification failure gives CLI_EXIT_REFUSED, except when, with the
 * system store, the issuer of the file's last certificate is not found (an
 * incomplete chain, or a private CA): then, as without any trust anchors, the file
 * is returned as it is with `unverified` saying why and, unless its last
 * certificate is self-signed, an unknown trust anchor appended (and, for a
 * lone leaf, an unknown intermediate before it).  Returns 0 or an exit code
 * (CLI_EXIT_USAGE for unreadable input, message in `err`).
 */
#define ROT_SYSTEM_STORE  1u      /* rot_chain_from_file(): without cafile, verify with the system store */
#define ROT_LEAF_REPLACED 2u      /* rot_chain_from_file(): the leaf is replaced, check the CA part only */
int rot_chain_from_file(rot_chain *out, const char *path, const char *cafile, unsigned int flags, const char *host,
	int64_t at, char *err, size_t errlen);

/*
 * Connect to `target` (HOST[:PORT]) with SNI and verification host `name`,
 * PKIX validation against `cafile` (NULL: system store), and return the
 * verified chain.  0, CLI_EXIT_TLS (err set) or CLI_EXIT_USAGE.
 */
int rot_chain_connect(rot_chain *out, const char *target, const char *name, const char *cafile,
	char *err, size_t errlen);

/* Position word for element i of n: "leaf", "intermediate", "root". */
const char *rot_position(size_t i, size_t n);

/* JSON array describing the chain (depth, position, known, spki_pin, cert_pin, subject, not_after). */
json_t *rot_chain_json(const rot_chain *c);

/*
 * Option values lint, plan and monitor share.  `s` NULL (not given) leaves
 * *out as it is; else 0 with *out set, or CLI_EXIT_USAGE after a one-line
 * message naming `cmd`.  --format: one of CLI_IMPORT_FORMATS; --at:
 * YYYY-MM-DD or RFC 3339; a decimal number from `min` to `max` (`unit`,
 * e.g. " days", follows the range in the message).
 */
int rot_opt_format(certpin_import_format *out, const char *cmd, const char *s);
int rot_opt_time(int64_t *out, const char *cmd, const char *s);
int rot_opt_uint(unsigned long *out, const char *cmd, const char *opt, const char *s, unsigned long min,
	unsigned long max, const char *unit);

#endif
