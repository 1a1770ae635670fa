/*
 * certpin/tofu.h - trust on first use: a known-hosts style pin store.
 *
 * Included by <certpin.h>; it also compiles on its own.
 *
 * OVERVIEW
 *
 * The first connection to a host records one pin of its verified chain;
 * later connections to that host must match one of the host's recorded
 * pins, each compared at its own chain position and kind.  The chain
 * position and pin kind recorded, and enforce or report-only, are the
 * handle's certpin_tofu_options: they are the TOFU policy, for every host of
 * the store (a pinning policy file has no TOFU section).  A change is
 * refused (CERTPIN_E_PIN_MISMATCH) or, in report-only mode, allowed and
 * reported; either way the result shows the recorded pins and the pins the
 * server now presents at their positions, and the options' on_change
 * callback, if any, is called with it.  Recorded pins are never replaced by a
 * check: an operator uses certpin_tofu_trust() / certpin_tofu_forget()
 * ("certpin tofu trust|forget HOST").
 *
 * TOFU complements, never replaces, PKIX: the OpenSSL binding checks only
 * chains OpenSSL has verified.  Matching uses the decision engine's position
 * rules (certpin_verify()): a recorded "intermediate" pin matches any
 * certificate between the leaf and the trust anchor.  Hosts are keyed by
 * their normalized name (certpin_hostname_normalize()), without the port.
 *
 * STORE FILE (known_pins)
 *
 *   # certpin known_pins v1
 *   HOST POSITION PIN FIRST-SEEN
 *
 * The first line is exactly the header above.  Then one line per pin,
 * fields separated by one space, each line ending in "\n": HOST normalized,
 * POSITION "leaf", "intermediate" or "root", PIN "sha256/B64" (SPKI) or
 * "cert-sha256/B64" (certificate), FIRST-SEEN "YYYY-MM-DDTHH:MM:SSZ".
 * Lines starting with "#" and empty lines are ignored.  At most
 * CERTPIN_TOFU_MAX_PINS lines per host, no duplicate line, at most
 * CERTPIN_TOFU_FILE_MAX bytes.  A file that breaks any of these rules
 * (including a last line without "\n", the mark of a truncated file) is
 * corrupt: every operation fails with CERTPIN_E_STORE and a detail naming
 * the line, and the file is never rewritten or reset.  A missing file is an
 * empty store.
 *
 * CONCURRENCY AND ATOMICITY
 *
 * Readers never lock: the file is only ever replaced by rename().  Writers
 * (first-use recording, trust, forget) take an exclusive fcntl
 * open-file-description lock on "PATH.lock", waiting at most the options'
 * lock_timeout_ms (CERTPIN_E_LOCKED), re-read the file under the lock, then
 * write "PATH.tmp", fsync it and rename it over PATH.  Two processes meeting
 * a new host at once record exactly one pin; the other checks against it.
 * A certpin_tofu handle is safe to use from several threads (operations are
 * serialized by a mutex, so checks on one handle do not run in parallel).
 * Management calls (list, forget, trust) give the detail of a failure in
 * their `certpin_error *err` (may be NULL); a check's is its result's
 * `detail`.
 *
 * COST
 *
 * A check stat()s the store file and reuses what the handle's previous
 * check read if the file is unchanged (same device, inode, size,
 * modification and status-change times) and was last changed at least 2
 * seconds before that read; otherwise it reads and parses the file again.
 * Every write replaces the file and any change moves its status-change time,
 * which cannot be set back, so other processes' changes are always seen,
 * and a file changed within the same coarse time stamp tick is never
 * trusted by its times alone.  A first use also writes the file, waiting
 * for the lock if another writer holds it.  With the OpenSSL binding this
 * happens inside the handshake: a check of a settled 100-host store costs
 * about 3 us here, one that reads it about 60 us (bench/bench_tofu.c).
 * Keep stores small (they hold the hosts an application actually meets),
 * or use a pinning policy for large fleets.
 */
#ifndef CERTPIN_TOFU_H
#define CERTPIN_TOFU_H

#include <stddef.h>
#include <stdint.h>

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CERTPIN_TOFU_MAX_PINS 8                      /* recorded pins per host */
#define CERTPIN_TOFU_FILE_MAX (8u * 1024u * 1024u)   /* largest store file */
#define CERTPIN_TOFU_HEADER "# certpin known_pins v1"

typedef struct certpin_tofu certpin_tofu;

typedef struct certpin_tofu_result certpin_tofu_result;

/*
 * Called by certpin_tofu_check() (and so by the OpenSSL binding, inside the
 * handshake) each time a host's chain matches none of its recorded pins, in
 * enforce mode (the connection is then refused) and in report-only mode (it
 * is allowed).  `result` is the complete decision: result->known[] are the
 * recorded ("old") pins, result->presented_at[i] the pin the chain now
 * presents at known[i]'s position and kind, result->presented the one at the
 * options' position, result->allowed the outcome.  It borrows `result` for
 * the duration of the call.  Not called on first use, a match or an error.
 * Runs with the handle's mutex held: keep it short, do not block and do not
 * call back into the same handle.
 */
typedef void (*certpin_tofu_change_cb)(const certpin_tofu_result *result, void *payload);

/*
 * The options are the handle's TOFU policy: which chain element (position)
 * and which pin kind a first use records, and whether a change is refused.
 * They apply to every host of the store; a pinning policy
 * (certpin-policy(5)) has no TOFU section.  Pins recorded earlier keep their
 * own position and kind: a check always compares the chain at each recorded
 * pin's position and kind, whatever the options say now.
 *
 * Version 2 added on_change and payload at the end; a version 1 struct (no
 * such members) is still accepted.
 */
typedef struct certpin_tofu_options {
	unsigned int version;           /* CERTPIN_TOFU_OPTIONS_VERSION */
	certpin_position position;      /* element recorded on first use: LEAF (default),
	                                   INTERMEDIATE (depth 1) or ROOT (last); ANY is invalid */
	certpin_pin_kind kind;          /* CERTPIN_PIN_SPKI_SHA256 (default) or CERTPIN_PIN_CERT_SHA256 */
	certpin_mode mode;              /* ENFORCE: a change is refused; REPORT_ONLY: allowed, reported */
	unsigned int lock_timeout_ms;   /* 0 = 10000 */
	certpin_tofu_change_cb on_change;       /* version 2; may be NULL */
	void *payload;                  /* version 2; passed to on_change */
} certpin_tofu_options;

#define CERTPIN_TOFU_OPTIONS_VERSION 2
#define CERTPIN_TOFU_OPTIONS_INIT { CERTPIN_TOFU_OPTIONS_VERSION, CERTPIN_POS_LEAF, \
	CERTPIN_PIN_SPKI_SHA256, CERTPIN_MODE_ENFORCE, 0, NULL, NULL }

/* One recorded pin. */
typedef struct certpin_tofu_entry {
	char host[CERTPIN_HOSTNAME_MAX];        /* normalized */
	certpin_position position;
	certpin_pin pin;
	int64_t first_seen;                     /* Unix time */
} certpin_tofu_entry;

typedef enum certpin_tofu_verdict {
	CERTPIN_TOFU_NONE = 0,          /* no decision (an error occurred first) */
	CERTPIN_TOFU_FIRST_USE = 1,     /* host unknown: its pin has now been recorded */
	CERTPIN_TOFU_MATCH = 2,         /* a recorded pin matched */
	CERTPIN_TOFU_CHANGED = 3        /* no recorded pin matched */
} certpin_tofu_verdict;

struct certpin_tofu_result {
	unsigned int version;           /* CERTPIN_TOFU_RESULT_VERSION, set by the library */
	certpin_tofu_verdict verdict;
	int allowed;                    /* 1 if the connection may proceed */
	certpin_mode mode;
	char hostname[CERTPIN_HOSTNAME_MAX];    /* normalized host checked */
	certpin_position position;      /* where `presented` was taken (the options' position) */
	certpin_pin presented;          /* the chain's pin at that position and kind */
	int have_presented;             /* 0 if the chain had no element there */
	size_t known_count;             /* pins recorded for the host before this check */
	certpin_tofu_entry known[CERTPIN_TOFU_MAX_PINS];
	int64_t checked_at;
	char detail[256];               /* "" on success, else the reason for the error */
	/*
	 * Version 2: the chain's pin at each recorded pin's own position and
	 * kind, to compare like with like: known[i].pin was recorded, and
	 * presented_at[i] is presented now (have_presented_at[i] = 0 if the
	 * chain has no element there).  For "intermediate" this is the element
	 * at depth 1, although a recorded intermediate pin matches any element
	 * between the leaf and the trust anchor.
	 */
	certpin_pin presented_at[CERTPIN_TOFU_MAX_PINS];
	int have_presented_at[CERTPIN_TOFU_MAX_PINS];
};

#define CERTPIN_TOFU_RESULT_VERSION 2

/*
 * A handle on the store file `path` (copied) with options `opts` (NULL for
 * defaults).  The file is not read here, only by each operation, so that
 * changes made by other processes are always seen (see COST for what
 * checks reuse).  CERTPIN_E_INVALID_ARG
 * for bad options.  *out is NULL on error.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_open(certpin_tofu **out, const char *path,
	const certpin_tofu_options *opts);

/*
 * Drop the caller's reference (NULL-safe).  An SSL_CTX the store is attached
 * to (certpin_tofu_ssl_ctx_attach(), <certpin/openssl.h>) holds its own
 * reference, so the handle may be closed once attached.
 */
CERTPIN_EXPORT void certpin_tofu_close(certpin_tofu *store);

/*
 * The TOFU decision for a connection to `hostname` whose verified chain is
 * `chain[0..n-1]` (leaf first; the digest of the configured kind must be
 * present at the configured position).  First use records the pin with
 * first-seen time `now`.  Returns CERTPIN_OK (first use, match, or a
 * report-only change), CERTPIN_E_PIN_MISMATCH (changed, enforced),
 * CERTPIN_E_CHAIN (no element at the position, or digest missing),
 * CERTPIN_E_HOSTNAME, CERTPIN_E_STORE, CERTPIN_E_LOCKED, CERTPIN_E_IO.  `out`
 * is always filled (allowed = 0 on every error).
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_check(certpin_tofu_result *out, certpin_tofu *store,
	const char *hostname, const certpin_chain_elem *chain, size_t n, int64_t now);

/* Every recorded pin, in file order: `*out` malloc'd (free with free()), NULL if none. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_list(certpin_tofu_entry **out, size_t *count,
	certpin_tofu *store, certpin_error *err);

/* Remove every pin of `hostname`.  `*removed` (may be NULL) counts them; CERTPIN_E_NOT_FOUND if none. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_forget(certpin_tofu *store, const char *hostname,
	size_t *removed, certpin_error *err);

#define CERTPIN_TOFU_TRUST_ADD 1u       /* keep the host's other pins (default: replace them) */

/*
 * Record `pin` at `position` (LEAF, INTERMEDIATE or ROOT) for `hostname`,
 * first seen `now`, replacing the host's pins unless CERTPIN_TOFU_TRUST_ADD
 * is in `flags`.  Adding a pin already recorded is a no-op;
 * CERTPIN_E_INVALID_ARG beyond CERTPIN_TOFU_MAX_PINS pins per host.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_tofu_trust(certpin_tofu *store, const char *hostname,
	const certpin_pin *pin, certpin_position position, unsigned int flags, int64_t now, certpin_error *err);

CERTPIN_EXPORT const char *certpin_tofu_verdict_name(certpin_tofu_verdict verdict);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_TOFU_H */
