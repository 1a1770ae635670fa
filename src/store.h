/*
 * store.h - internals shared by the on-disk stores (bundle state, TOFU
 * known_pins): whole-file reads with a size limit, atomic replacement and
 * advisory locks.  Not installed.
 */
#ifndef CERTPIN_STORE_H
#define CERTPIN_STORE_H

#include "internal.h"

#include <sys/stat.h>

/* ---- store.c ---- */

/* An exclusive lock held on a lock file; fd -1 when not held. */
typedef struct certpin__lock {
	int fd;
} certpin__lock;

#define CERTPIN__LOCK_INIT { -1 }

/*
 * Take an exclusive lock on `lock_path` (created 0600 if missing): an
 * open-file-description lock (F_OFD_SETLK; plain F_SETLK where that does not
 * exist), so that threads of one process exclude each other too.  Retries
 * with a growing back-off for at most `timeout_ms`.  Returns CERTPIN_OK,
 * CERTPIN_E_LOCKED on timeout or CERTPIN_E_IO; `err` (if not NULL) gets a
 * one-line reason.
 */
int certpin__store_lock(certpin__lock *out, const char *lock_path, unsigned int timeout_ms,
	char *err, size_t errlen);

/* Release; NULL-safe and idempotent. */
void certpin__store_unlock(certpin__lock *lock);

/*
 * Read all of `path` into a malloc'd, NUL-terminated buffer.  Returns
 * CERTPIN_OK, CERTPIN_E_NOT_FOUND if the file does not exist, CERTPIN_E_STORE
 * if it is larger than `max` bytes, CERTPIN_E_IO or CERTPIN_E_NOMEM.
 */
int certpin__store_read(char **out, size_t *len, const char *path, size_t max, char *err, size_t errlen);

/* The same, and the status of the file it read (taken before reading) into *st. */
int certpin__store_read_st(char **out, size_t *len, struct stat *st, const char *path, size_t max, char *err,
	size_t errlen);

/*
 * Replace `path` atomically with `data`: write "PATH.tmp" (O_NOFOLLOW,
 * permissions `mode`), fsync it, rename() it over `path`, fsync the
 * directory.  The caller must hold the lock that serializes writers of
 * `path` (the temporary name is fixed).  On failure before the rename the
 * temporary file is removed and `path` is untouched.  CERTPIN_OK or
 * CERTPIN_E_IO (with `err`).
 */
int certpin__store_write(const char *path, const void *data, size_t len, unsigned int mode,
	char *err, size_t errlen);

/* `dir` + "/" + `name` into a malloc'd string; NULL on out-of-memory. */
char *certpin__path_join(const char *dir, const char *name);

/* ---- tofu.c: the known_pins file format (exposed for the fuzz target) ---- */

typedef struct certpin__tofu_db {
	certpin_tofu_entry *e;
	size_t n, cap;
} certpin__tofu_db;

/*
 * Parse a known_pins file (see certpin/tofu.h).  Returns CERTPIN_OK, or
 * CERTPIN_E_STORE with `err` naming the line and the reason, or
 * CERTPIN_E_NOMEM.  `db` must be zeroed; on error it is left empty.
 */
int certpin__tofu_parse(certpin__tofu_db *db, const char *data, size_t len, char *err, size_t errlen);

/* Serialize in canonical form (header, then one line per entry, in order). */
int certpin__tofu_format(char **out, size_t *len, const certpin__tofu_db *db);

void certpin__tofu_db_free(certpin__tofu_db *db);
/* A message into err[errlen] (NULL-safe); returns CERTPIN_E_STORE. */
int certpin__tofu_set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append a copy of *e; CERTPIN_OK or CERTPIN_E_NOMEM. */
int certpin__tofu_db_add(certpin__tofu_db *db, const certpin_tofu_entry *e);
/* "leaf", "intermediate", "root" (the positions a store records), else NULL. */
const char *certpin__tofu_position_word(certpin_position p);

/*
 * Tests only: a store's count of known_pins reads for checks, and the age
 * in seconds a file must have before a check reuses what it read (see
 * check_db_get() in tofu.c).
 */
unsigned long certpin__tofu_check_reads(const certpin_tofu *store);
void certpin__tofu_set_settle_seconds(int seconds);

#endif
