/*
 * mitm.h - "certpin mitm": a TLS server that plays a catalog of interception
 * (MITM) attacks against a client, one attack per connection, and scores
 * which ones the client accepted.
 *
 * Three parts, one file each:
 *
 *   mitm.c         options, the listener and its event loop, the attack
 *                  schedule and the per-connection verdict;
 *   mitm_pki.c     the attack certificates, made in-process with the OpenSSL
 *                  API and kept in the directory the user names (--dir);
 *   mitm_report.c  the scorecard as text, JSON and a self-contained HTML page.
 *
 * The data model below (mitm_run and its attempts) is plain C: the report code
 * needs no OpenSSL and is fuzzed on its own (fuzz/fuzz_mitm_report.c).  Every
 * string in an attempt that came from the client (SNI, the first bytes of its
 * application data) is sanitized to printable ASCII when it is recorded and
 * escaped again by each output format.
 */
#ifndef CERTPIN_CLI_MITM_H
#define CERTPIN_CLI_MITM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* The catalog, in schedule order.  Names are stable (CLI, JSON, file names). */
typedef enum mitm_attack_id {
	MITM_CONTROL = 0,          /* the tester's own certificate: must be accepted */
	MITM_SELF_SIGNED,          /* self-signed certificate for the host */
	MITM_ROGUE_CA,             /* leaf for the host from the rogue CA */
	MITM_CHAIN_INJECTION,      /* rogue leaf followed by the real chain (CVE-2016-2402) */
	MITM_EXPIRED,              /* rogue leaf whose validity ended 30 days ago */
	MITM_WRONG_HOST,           /* rogue leaf with CN = host but SAN = another name */
	MITM_WILDCARD_TOO_DEEP,    /* rogue leaf whose only name is "*." + host minus two labels */
	MITM_WEAK_KEY,             /* rogue leaf with an RSA-1024 key */
	MITM_NATTACKS
} mitm_attack_id;

/* "control", "self-signed", ...; NULL for an out-of-range id. */
const char *mitm_attack_name(int id);
/* One-line description of what the attack tests. */
const char *mitm_attack_summary(int id);
/* Id for a name, or -1. */
int mitm_attack_lookup(const char *name, size_t len);

/* Maximum lengths of recorded strings (including the NUL). */
#define MITM_SNI_MAX 1024          /* a 255-byte name, every byte escaped as \xNN */
#define MITM_EXCERPT_BYTES 48      /* application data bytes kept per attempt */
#define MITM_EXCERPT_MAX (MITM_EXCERPT_BYTES * 4 + 1)

/*
 * Copy `len` bytes of untrusted data into `out` (size `outlen` > 0) as
 * printable ASCII: bytes 0x20..0x7e except backslash are kept, "\\", "\n",
 * "\r", "\t" are escaped C-style, anything else is "\xNN".  Output is cut at
 * a whole escape and always NUL-terminated.
 */
void mitm_sanitize(char *out, size_t outlen, const unsigned char *data, size_t len);

/* What the harness presents for one attack; filled by mitm_pki_setup(). */
typedef struct mitm_attack_info {
	int selected;              /* in the catalog of this run (--attack) */
	int runnable;              /* selected and everything it needs is there */
	char skip[160];            /* why a selected attack cannot run */
	char subject[256];         /* leaf subject, RFC 2253 */
	char names[512];           /* leaf subjectAltName DNS names, ", "-separated */
	char issuer[256];
	char key[32];              /* "EC-P-256", "RSA-1024", ... */
	char not_before[32];       /* RFC 3339 */
	char not_after[32];
	char spki_pin[96];         /* sha256/B64 of the leaf */
	int chain_len;             /* certificates sent, leaf included */
	char file[64];             /* PEM of what is sent, relative to --dir ("" for control) */
	/* Totals, filled as attempts finish. */
	unsigned attempts, accepted, refused; /* scored attempts */
	unsigned unscored;         /* presented but not scored (aborted, SNI, harness failure, cut short) */
	unsigned aborted;          /* of those, MITM_V_ABORTED */
} mitm_attack_info;

/*
 * Only ACCEPTED and REFUSED are scored.  An attempt that is not scored after
 * its attack was presented gives the attack back to the schedule: it is
 * presented again on a later connection (bounded by --max-attempts and
 * --timeout).
 */
typedef enum mitm_verdict {
	MITM_V_REFUSED = 0,
	MITM_V_ACCEPTED = 1,
	MITM_V_UNSCORED = 2,       /* no ClientHello, the harness could not present the attack, the SNI is
	                            * not --host, or cut short by the harness stopping */
	MITM_V_ABORTED = 3         /* the client closed (or stalled) during the handshake without an alert:
	                            * a port probe, a health check, a preconnect, or a client that refuses
	                            * silently; not told apart, so not scored */
} mitm_verdict;

/* Where the verdict was decided. */
typedef enum mitm_stage {
	MITM_STAGE_NONE = 0,       /* never got that far: no ClientHello, or cut short */
	MITM_STAGE_HANDSHAKE,      /* refused: aborted the handshake; accepted: completed it (--accept-on handshake) */
	MITM_STAGE_AFTER,          /* refused: completed the handshake, then closed without data */
	MITM_STAGE_DATA,           /* accepted: sent application data */
	MITM_STAGE_IDLE            /* accepted: completed the handshake and kept the connection open, silent */
} mitm_stage;

/* One TCP connection to the harness. */
typedef struct mitm_attempt {
	unsigned n;                /* 1-based connection number */
	int attack;                /* mitm_attack_id, or -1 if no attack was presented */
	unsigned round;            /* 1-based round of the schedule (0 if unscored) */
	char peer[64];             /* "ADDR:PORT" */
	int have_sni;
	char sni[MITM_SNI_MAX];    /* sanitized */
	char tls_version[16];      /* "TLSv1.3", "" if unknown */
	int handshake;             /* TLS handshake completed */
	uint64_t app_bytes;        /* application data bytes received */
	char excerpt[MITM_EXCERPT_MAX]; /* first bytes, sanitized */
	int sni_ok;                /* the SNI, normalized, equals --host */
	int alert;                 /* alert description the client sent (not close_notify), or -1 */
	char alert_text[64];       /* "unknown CA", ... */
	int server_alert;          /* alert the harness sent (not close_notify), or -1 */
	char server_alert_text[64];
	int close_notify;          /* the client sent close_notify */
	char error[160];           /* TLS library reason or I/O condition, "" if none */
	mitm_verdict verdict;
	mitm_stage stage;
	char reason[256];          /* one line: what the client did */
	int64_t started;           /* Unix time */
	unsigned duration_ms;
} mitm_attempt;

typedef struct mitm_run {
	char host[256];
	char listen[80];           /* "127.0.0.1:PORT" once bound */
	char dir[1024];
	const char *accept_on;     /* "data" or "handshake" */
	unsigned rounds;
	unsigned io_timeout_ms;
	int insecure_no_control;   /* --insecure-no-control: a run without a control case may pass */
	int insecure_untrusted_ca; /* --insecure-untrusted-rogue-ca: may pass with the rogue CA untrusted */
	int64_t started, finished; /* Unix time */
	char stop_reason[32];      /* "completed", "max-attempts", "timeout", "signal" */
	mitm_attack_info attacks[MITM_NATTACKS];
	mitm_attempt *attempts;
	size_t nattempts, cap;
	unsigned unscored;         /* attempts not scored (MITM_V_UNSCORED and MITM_V_ABORTED) */
	unsigned aborted;          /* of those, MITM_V_ABORTED */
	unsigned wrong_sni;        /* attempts not scored because the SNI was missing or not --host */
} mitm_run;

/* Append a zeroed attempt (alert -1, attack -1); NULL on out-of-memory. */
mitm_attempt *mitm_run_add_attempt(mitm_run *run);
void mitm_run_free(mitm_run *run);

/* ---- summary and reports (mitm_report.c) ---------------------------------- */

typedef struct mitm_summary {
	unsigned attack_attempts;  /* scored attempts of every attack but control */
	unsigned accepted;         /* of those, accepted */
	int control;               /* -1 not run, 0 refused at least once, 1 always accepted */
	unsigned not_tried;        /* scheduled attempts (runnable attacks x rounds, control included) without a verdict */
	/*
	 * An attack accepted (a finding whatever else happened); or every
	 * scheduled attempt scored, at least one attack among them, the
	 * control accepted (or no control case and run->insecure_no_control),
	 * and no attack of the rogue CA refused as "unknown CA" (unless
	 * run->insecure_untrusted_ca).
	 */
	int conclusive;
	const char *inconclusive;  /* why not conclusive, one line; NULL if conclusive */
	int exit_code;             /* 0 pass, 1 an attack accepted, 2 inconclusive */
} mitm_summary;

void mitm_summarize(mitm_summary *out, const mitm_run *run);

/* 1 if an attack issued by the rogue CA was refused with "unknown CA" (48): the client does not trust it. */
int mitm_rogue_ca_untrusted(const mitm_run *run);

/*
 * A warning about what row `id` measures, into `out` (one line): the
 * wildcard-too-deep pattern has a single label (it is refused as a wildcard
 * for a top-level domain, not for its depth), or an attack issued by the
 * rogue CA was refused with "unknown CA" (the client does not trust the
 * rogue CA, so the row does not test its own check).  1 if a note was
 * written, 0 if none.
 */
int mitm_attack_note(const mitm_run *run, int id, char *out, size_t outlen);

/* Text scorecard.  0 or -1 on a write error. */
int mitm_report_text(FILE *f, const mitm_run *run);
/* The whole run as JSON (schema 1); NULL on out-of-memory. */
json_t *mitm_report_json(const mitm_run *run);
/* Self-contained HTML page: tables and an inline SVG chart, no script, no external resource. */
int mitm_report_html(FILE *f, const mitm_run *run);

/* ---- attack certificates (mitm_pki.c) -------------------------------------- */

typedef struct mitm_pki_options {
	const char *dir;           /* created (0700) if missing; every file goes here */
	const char *host;          /* normalized DNS name */
	const char *control_cert;  /* PEM chain, leaf first; NULL: no control case */
	const char *control_key;
	const char *real_chain;    /* PEM certificates appended by chain-injection; NULL: control chain */
	int64_t now;
} mitm_pki_options;

typedef struct mitm_material {
	X509 *leaf;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;     /* certificates sent after the leaf; may be empty */
} mitm_material;

typedef struct mitm_pki {
	X509 *ca;
	EVP_PKEY *ca_key;
	char ca_file[1100];        /* DIR/rogue-ca.pem */
	int ca_reused;             /* loaded from DIR instead of generated */
	mitm_material m[MITM_NATTACKS];
} mitm_pki;

/*
 * Load or create the rogue CA in opts->dir, generate the leaf of every
 * selected attack (run->attacks[i].selected) and fill run->attacks[] with
 * what is presented; attacks that cannot run get runnable = 0 and a reason.
 * Returns 0, or a CLI exit code with a one-line message in `err`.
 */
int mitm_pki_setup(mitm_pki *pki, mitm_run *run, const mitm_pki_options *opts, char *err, size_t errlen);
void mitm_pki_free(mitm_pki *pki);

/*
 * Write `x` (PEM) to `path`, which is created or truncated; a symlink at
 * `path` is refused.  0 or -1 with `err` set.
 */
int mitm_write_cert(const char *path, X509 *x, char *err, size_t errlen);

/*
 * Open `path` to be written later (created 0644 if missing, not truncated
 * yet; a symlink is refused), so that an unwritable path is found before
 * anything is generated.  Returns the descriptor, or -1 with `err` set;
 * *created is 1 if the file was made by this call (the caller removes it if
 * the run never writes it).
 */
int mitm_open_later(const char *path, int *created, char *err, size_t errlen);
/* Truncate the file behind `fd` (from mitm_open_later()), write `x` as PEM and close `fd`.  0 or -1. */
int mitm_write_cert_fd(int fd, const char *path, X509 *x, char *err, size_t errlen);

/* ---- subcommand (mitm.c) -------------------------------------------------- */

int cmd_mitm(int argc, char **argv);
void usage_mitm(FILE *f);

#endif
