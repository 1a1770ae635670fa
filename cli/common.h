/*
 * common.h - helpers shared by the certpin subcommands: exit codes, messages,
 * option parsing, pin/time formatting, JSON output and the TLS connection
 * used by "pin --connect" and "check".
 *
 * Only the public API (certpin.h) is used; every pin is computed by the
 * library, never here.
 */
#ifndef CERTPIN_CLI_COMMON_H
#define CERTPIN_CLI_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "certpin.h"
#include "certpin/report.h"
#include "certpin/tools.h"

/* Exit codes; documented in certpin(1) and "certpin --help". */
enum {
	CLI_EXIT_OK = 0,        /* success: match, not pinned, or allowed */
	CLI_EXIT_REFUSED = 1,   /* pin mismatch, or expired pinset refused */
	CLI_EXIT_TLS = 2,       /* connect, TLS or PKIX failure */
	CLI_EXIT_USAGE = 3,     /* bad arguments or bad input (file, policy) */
	CLI_EXIT_INTERNAL = 4   /* internal error (out of memory, library bug) */
};

#define CLI_CONNECT_TIMEOUT 10  /* seconds, for TCP connect and each TLS read/write */
#define CLI_MAX_INPUT (16u * 1024u * 1024u) /* largest file read from stdin */

#if defined(__GNUC__) || defined(__clang__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* "certpin: MESSAGE\n" on stderr.  Messages are one line. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* The last cli_error() MESSAGE of this thread (no "certpin: " prefix), "" if none yet. */
const char *cli_last_error(void);
/* "certpin: warning: MESSAGE\n" on stderr. */
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
/* A certpin_warning_cb: cli_warn() each warning's message (import, export). */
void cli_warning_cb(const certpin_error *warning, void *payload);

/* Map a library error code to an exit code. */
int cli_exit_for(int certpin_err);

/*
 * Exit status of one TLS connection made with a policy attached, the same for
 * check and monitor: whether a client with that policy would have been
 * allowed to connect.  `handshake_ok` is 1 if the handshake completed, `rc`
 * is certpin_ssl_result()'s code.  CLI_EXIT_OK for a match, a host not pinned
 * and a connection allowed anyway (report-only mismatch, fail-open expired
 * pinset); CLI_EXIT_REFUSED when the pins refused it (enforced mismatch,
 * fail-closed expired pinset); CLI_EXIT_TLS for any other failed handshake
 * (PKIX, host name, protocol, timeout); CLI_EXIT_INTERNAL for a completed
 * handshake with no pin check (a library fault).  A connection that never
 * reached TLS (name lookup, connect) is CLI_EXIT_TLS too.
 */
int cli_exit_for_handshake(int handshake_ok, int rc);

/*
 * Make sure directory `dir` exists: create it (mode 0700, the last component
 * only) if it does not, accept an existing directory (or a symlink to one),
 * refuse anything else, a dangling symlink included.  0, or CLI_EXIT_USAGE
 * after a one-line message prefixed with `cmd`.
 */
int cli_ensure_dir(const char *cmd, const char *dir);

/* ---- start-up: options and operands ------------------------------------ */

typedef struct cli_opt {
	const char *name;       /* long option, e.g. "--json" */
	char letter;            /* short option, e.g. 'j', or 0 */
	const char **value;     /* options taking a value: set to it; given twice is an error */
	int *flag;              /* flags: set to 1 */
	/* options taking a value that may repeat: called for each, in order; 0 or an exit status after a message */
	int (*each)(void *payload, const char *name, const char *value);
	void *payload;
} cli_opt;

#define CLI_FLAG(name, letter, flag) { (name), (letter), NULL, (flag), NULL, NULL }
#define CLI_VALUE(name, letter, value) { (name), (letter), (value), NULL, NULL, NULL }
#define CLI_EACH(name, letter, fn, payload) { (name), (letter), NULL, NULL, (fn), (payload) }
#define CLI_OPT_END { NULL, 0, NULL, NULL, NULL, NULL }

#define CLI_MAX_OPTS 32
#define CLI_ANY ((size_t)-1)    /* cli_spec.max_operands: no limit */

/* What a command accepts. */
typedef struct cli_spec {
	const char *name;       /* "lint", "bundle": in messages and "see certpin help NAME" */
	void (*usage)(FILE *f); /* printed on stdout for -h and --help */
	const cli_opt *opts;    /* terminated by CLI_OPT_END; at most CLI_MAX_OPTS */
	size_t min_operands, max_operands;
	const char *expected;   /* the operands wanted, for the message on a wrong count:
	                           "exactly one POLICY file" (unused when max_operands is 0) */
	int subcommands;        /* the first operand names a subcommand; "help" prints usage */
} cli_spec;

typedef struct cli_args {
	char **operands;        /* in order; argv's own slots (argv[1..n]) are reused */
	size_t n;
	int unparsed;           /* after an option error: index of the first argument not parsed */
} cli_args;

#define CLI_RUN (-1)            /* cli_start(): the command goes on */

/*
 * The start every command shares.  Parse argv[1..argc-1] (argv[0] names the
 * command) against spec->opts with getopt_long(): options and operands may
 * be mixed; "--name=value", "--name value", "-Lvalue" and "-L value" all
 * work, and short flags group ("-jL value"); long options are never
 * abbreviated; "--" ends options; "-" is an operand; a value option given
 * twice is an error, and so is an empty value.  Then print the usage on
 * stdout for -h or --help (or the subcommand "help"), else check the number
 * of operands.  Returns CLI_RUN with *out set when the command should run,
 * else its exit status: CLI_EXIT_OK after the usage, CLI_EXIT_USAGE after a
 * one-line message (CLI_EXIT_INTERNAL for more than CLI_MAX_OPTS options).
 */
int cli_start(cli_args *out, const cli_spec *spec, int argc, char **argv);

/*
 * 1 if flag `name` of `opts` is among argv[0..argc-1] (before any "--"),
 * alone or in a group of short options: where the parser stopped early (an
 * option error) but the output format still matters (check --json).
 */
int cli_flag_given(const cli_opt *opts, const char *name, int argc, char **argv);

/* ---- policies ----------------------------------------------------------- */

/* The import formats (certpin_import_format_parse()), for messages and usage texts. */
#define CLI_IMPORT_FORMATS "auto, json, android, pins, trustkit"

/* How cli_policy_load() reads a policy (NULL: a certpin JSON policy file). */
typedef struct cli_policy_opts {
	int import;                     /* any format certpin import reads, not only certpin JSON */
	certpin_import_format format;   /* with import: one of CLI_IMPORT_FORMATS */
	const char *default_host;       /* with import: the host of pins that name none, or NULL */
	int stdin_dash;                 /* with import: "-" reads standard input */
	const char *data;               /* without import: the JSON already read (the path names it) */
	size_t len;
	certpin_import_anchors **anchors; /* with import, if not NULL: an Android import's own trust anchors
	                                     (certpin_import_anchors_for(); free with certpin_import_anchors_free()) */
} cli_policy_opts;

/*
 * The one place the CLI loads a policy (cli/policy.c), so that only it
 * calls the library's loaders.  Import warnings are printed as
 * "certpin: warning: ..." lines.  Returns CLI_EXIT_OK with *out set (free
 * with certpin_policy_free()), or an exit status after a one-line message:
 * the library's detail (file, JSON path, reason), else "PATH: reason".
 */
int cli_policy_load(certpin_policy **out, const char *path, const cli_policy_opts *opts);

/* ---- formatting -------------------------------------------------------- */

/* Parse a --format value.  Returns 0 or -1. */
int cli_parse_style(certpin_pin_style *out, const char *name);

/* Format a pin; on a style that cannot express it, falls back to the default style. */
void cli_pin_string(char out[CERTPIN_PIN_STRLEN], const certpin_pin *pin, certpin_pin_style style);

/* `n` bytes as lowercase hex into `out` (2n + 1 bytes, NUL-terminated). */
void cli_hex(char *out, const unsigned char *d, size_t n);

/* "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DD" for Unix time `t` (buffers of 32 bytes). */
void cli_time_rfc3339(char out[32], int64_t t);
void cli_time_date(char out[32], int64_t t);

/* "cert", "pubkey", "privkey", "csr". */
const char *cli_item_type_name(certpin_item_type type);

/* JSON string or null. */
json_t *cli_json_str(const char *s);

/*
 * JSON object describing one decoded item: type, key_type, spki_pin and, as
 * they apply, cert_pin, subject, issuer, not_before, not_after, self_signed,
 * is_ca.  NULL on out-of-memory.
 */
json_t *cli_item_json(const certpin_item *item, certpin_pin_style style);

/* Print `root` indented to stdout with a final newline; steals `root`.  0 or -1. */
int cli_json_print(json_t *root);

/* Decode one X509 (via DER) into certpin items.  Returns a certpin error code. */
int cli_items_from_x509(certpin_item **out, size_t *count, X509 *cert);

/* ---- connections -------------------------------------------------------- */

typedef struct cli_target {
	char host[CERTPIN_HOSTNAME_MAX];  /* as given, without IPv6 brackets */
	char port[8];
	int host_is_ip;
} cli_target;

/* Parse HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 literal (default port 443). 0 or -1 (message printed). */
int cli_parse_target(cli_target *out, const char *arg);

/* 1 if `s` is an IPv4 or IPv6 literal (no brackets). */
int cli_is_ip_literal(const char *s);

/*
 * A new client SSL_CTX: TLS 1.2 minimum, trust anchors from `cafile` or, if
 * NULL, the system default store.  NULL on error (message printed, *exit_code
 * set).
 */
SSL_CTX *cli_ssl_ctx_new(const char *cafile, int *exit_code);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t cli_mono_ms(void);

/* Wait until `fd` is ready for `events` (POLLIN, POLLOUT) or cli_mono_ms() reaches `deadline`: 1, 0 or -1. */
int cli_wait_fd(int fd, short events, int64_t deadline);

typedef struct cli_tcp {
	int max_addrs;          /* addresses of the name tried at most */
	int attempt_ms;         /* time for each address, 0: no limit of its own */
	int64_t deadline;       /* cli_mono_ms() limit for all of them, 0: none */
	char address[64];       /* out: numeric address connected to */
	int gai_error;          /* out: the name did not resolve: getaddrinfo()'s code, else 0 */
	int error;              /* out: no connection: the last errno value, 0: no usable address */
} cli_tcp;

/*
 * The one TCP connect of the CLI: try up to t->max_addrs addresses of `host`
 * (a name or an IP literal) at `port` (digits) in turn, each bounded by
 * t->attempt_ms and all by t->deadline; once the deadline has passed the
 * others are not tried.  Returns a connected socket, non-blocking and
 * close-on-exec, or -1 with t->gai_error or t->error set.
 */
int cli_tcp_connect(cli_tcp *t, const char *host, const char *port);

/* Why cli_tcp_connect() failed: gai_strerror(), strerror() or "no usable address". */
const char *cli_tcp_reason(const cli_tcp *t);

typedef struct cli_conn {
	int fd;
	SSL *ssl;
	char address[64];       /* numeric peer address that was connected */
	int resolved;           /* the host name resolved to at least one address */
	int tcp_ok;             /* TCP connection established */
	int handshake_ok;       /* TLS handshake completed */
	char version[32];       /* the protocol negotiated, "" if none */
	char error[512];        /* one-line reason when a step failed */
} cli_conn;

/*
 * Clear `c` and connect it to `t` (timeout CLI_CONNECT_TIMEOUT): c->fd is
 * blocking, every read and write bounded by CLI_CONNECT_TIMEOUT.  0, or -1
 * with c->error set (c->resolved tells a name that did not resolve).
 */
int cli_conn_open(cli_conn *c, const cli_target *t);

/*
 * Connect to `t` (timeout CLI_CONNECT_TIMEOUT) and run a TLS handshake with
 * SNI `servername` (skipped for IP literals) and verification host
 * `verify_host` (SSL_set1_host; IP literals are checked as IPs).  On return
 * c->ssl is kept even after a failed handshake so the caller can inspect it.
 * Returns 0 if the handshake completed, else CLI_EXIT_TLS with c->error set.
 */
int cli_tls_connect(cli_conn *c, SSL_CTX *ctx, const cli_target *t,
	const char *servername, const char *verify_host);

void cli_conn_close(cli_conn *c);

/* ---- subcommands ------------------------------------------------------- */

int cmd_pin(int argc, char **argv);
int cmd_check(int argc, char **argv);
void usage_pin(FILE *f);
void usage_check(FILE *f);

#endif
