/*
 * Trust on first use (certpin/tofu.h): the store handle, the
 * first-use/match/change decision (a source of pins: the engine's scan
 * compares the host's recorded pins with the chain) and the management
 * operations.  The TLS adapters call certpin__tofu_decide(); the file's
 * format is tofu_file.c's.
 */
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOFU_DEFAULT_LOCK_MS 10000u

struct certpin_tofu {
	atomic_size_t refs;             /* certpin_tofu_close() drops one; attachments hold one each */
	uint64_t serial;                /* names the store in session tags */
	char *path;
	char *lock_path;
	certpin_tofu_options opts;
	pthread_mutex_t mu;
	/*
	 * Checks (under `mu`): the known_pins file as last read, the status it
	 * had, and whether a check may use it again while the file keeps that
	 * status (see check_db_get()).
	 */
	certpin__tofu_db seen;
	struct stat seen_st;
	bool reuse;
	unsigned long check_reads;
};

/*
 * A file changed within this many seconds may change again with the same
 * size and time stamps (they are coarse): what was read from it is not
 * reused until it has been left alone that long.
 */
static int settle_seconds = 2;

const char *certpin_tofu_verdict_name(certpin_tofu_verdict verdict)
{
	switch (verdict) {
	case CERTPIN_TOFU_FIRST_USE:
		return "first-use";
	case CERTPIN_TOFU_MATCH:
		return "match";
	case CERTPIN_TOFU_CHANGED:
		return "changed";
	default:
		return "none";
	}
}

/* ------------------------------------------------------------------------ */
/* Handle and file access                                                    */
/* ------------------------------------------------------------------------ */

int certpin_tofu_open(certpin_tofu **out, const char *path, const certpin_tofu_options *opts)
{
	certpin_tofu_options o = CERTPIN_TOFU_OPTIONS_INIT;
	certpin_tofu *t;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!path || !path[0])
		return CERTPIN_E_INVALID_ARG;
	if (opts) {
		if (opts->version == 1) {
			/* a version 1 struct ends after lock_timeout_ms (not even its padding is there) */
			o.position = opts->position;
			o.kind = opts->kind;
			o.mode = opts->mode;
			o.lock_timeout_ms = opts->lock_timeout_ms;
		} else if (opts->version == CERTPIN_TOFU_OPTIONS_VERSION) {
			o = *opts;
		} else {
			return CERTPIN_E_INVALID_ARG;
		}
	}
	if (!certpin__tofu_position_word(o.position) ||
	    (o.kind != CERTPIN_PIN_SPKI_SHA256 && o.kind != CERTPIN_PIN_CERT_SHA256) ||
	    (o.mode != CERTPIN_MODE_ENFORCE && o.mode != CERTPIN_MODE_REPORT_ONLY))
		return CERTPIN_E_INVALID_ARG;
	if (o.lock_timeout_ms == 0)
		o.lock_timeout_ms = TOFU_DEFAULT_LOCK_MS;
	if (!(t = calloc(1, sizeof(*t))))
		return CERTPIN_E_NOMEM;
	atomic_init(&t->refs, 1);
	t->serial = certpin__new_serial();
	size_t pl = strlen(path);
	t->path = strdup(path);
	t->lock_path = malloc(pl + 6);
	if (!t->path || !t->lock_path || pthread_mutex_init(&t->mu, NULL) != 0) {
		free(t->path);
		free(t->lock_path);
		free(t);
		return CERTPIN_E_NOMEM;
	}
	memcpy(t->lock_path, path, pl);
	memcpy(t->lock_path + pl, ".lock", 6);
	t->opts = o;
	*out = t;
	return CERTPIN_OK;
}

certpin_tofu *certpin__tofu_ref(certpin_tofu *t)
{
	if (t)
		atomic_fetch_add(&t->refs, 1);
	return t;
}

uint64_t certpin__tofu_serial(const certpin_tofu *t)
{
	return t->serial;
}

void certpin_tofu_close(certpin_tofu *store)
{
	if (!store || atomic_fetch_sub(&store->refs, 1) != 1)
		return;
	certpin__tofu_db_free(&store->seen);
	pthread_mutex_destroy(&store->mu);
	free(store->path);
	free(store->lock_path);
	free(store);
}

/*
 * Read and parse the store file; a missing file is an empty store.  With
 * `st`, the status of the file read goes there, st->st_nlink 0 if there was
 * none.
 */
static int read_db(certpin__tofu_db *db, struct stat *st, const certpin_tofu *t, char *err, size_t errlen)
{
	char *data = NULL;
	char why[200] = "";
	size_t len = 0;
	struct stat here;
	int rc;

	memset(db, 0, sizeof(*db));
	if (!st)
		st = &here;
	memset(st, 0, sizeof(*st));
	rc = certpin__store_read_st(&data, &len, st, t->path, CERTPIN_TOFU_FILE_MAX, why, sizeof(why));
	if (rc == CERTPIN_E_NOT_FOUND)
		return CERTPIN_OK;
	if (rc == CERTPIN_E_STORE) {
		certpin__tofu_set_err(err, errlen, "%s (known_pins file is corrupt; not modified)", why);
		return rc;
	}
	if (rc != CERTPIN_OK) {
		if (err)
			snprintf(err, errlen, "%s", why[0] ? why : certpin_strerror(rc));
		return rc;
	}
	rc = certpin__tofu_parse(db, data, len, why, sizeof(why));
	free(data);
	if (rc == CERTPIN_E_STORE)
		certpin__tofu_set_err(err, errlen, "%s: %s (known_pins file is corrupt; not modified)", t->path, why);
	return rc;
}

static int load_db(certpin__tofu_db *db, const certpin_tofu *t, char *err, size_t errlen)
{
	return read_db(db, NULL, t, err, errlen);
}

static bool same_status(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The store file for a check (caller holds t->mu): what the last check read
 * if the file still has the status it had then and had been left alone for
 * settle_seconds before that read, else read again.  A write replaces the
 * file (new inode) and any change moves its ctime, which no one can set
 * back, so one stat() tells whether the file is as read; a file changed
 * within settle_seconds of its reading is read at each check, as a second
 * change in the same time stamp tick could keep size and times.  The db
 * stays t's.
 */
static int check_db_get(const certpin__tofu_db **out, certpin_tofu *t, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (t->reuse && stat(t->path, &st) == 0 && same_status(&st, &t->seen_st)) {
		*out = &t->seen;
		return CERTPIN_OK;
	}
	t->reuse = false;
	certpin__tofu_db_free(&t->seen);
	t->check_reads++;
	if ((rc = read_db(&t->seen, &t->seen_st, t, err, errlen)) != CERTPIN_OK)
		return rc;
	time_t settled = time(NULL) - settle_seconds;
	/* a missing file (no status) is looked for again at each check: it may appear */
	t->reuse = t->seen_st.st_nlink > 0 && t->seen_st.st_mtim.tv_sec < settled && t->seen_st.st_ctim.tv_sec < settled;
	*out = &t->seen;
	return CERTPIN_OK;
}

unsigned long certpin__tofu_check_reads(const certpin_tofu *store)
{
	return store->check_reads;
}

void certpin__tofu_set_settle_seconds(int seconds)
{
	settle_seconds = seconds;
}

static int save_db(const certpin__tofu_db *db, const certpin_tofu *t, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = certpin__tofu_format(&buf, &len, db)) != CERTPIN_OK)
		return rc;
	rc = certpin__store_write(t->path, buf, len, 0644, err, errlen);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Decision                                                                  */
/* ------------------------------------------------------------------------ */

static void result_init(certpin_tofu_result *r, const certpin_tofu *t, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->version = CERTPIN_TOFU_RESULT_VERSION;
	r->verdict = CERTPIN_TOFU_NONE;
	r->checked_at = now;
	if (t) {
		r->mode = t->opts.mode;
		r->position = t->opts.position;
	}
}

__attribute__((format(printf, 3, 4)))
static int rfail(certpin_tofu_result *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->allowed = 0;
	return code;
}

/*
 * The chain's pin at `position` (leaf: depth 0, intermediate: depth 1 of a
 * chain of at least 3, root: last) and of `kind`; 0 if there is none.
 */
static int pin_at(certpin_pin *out, certpin_position position, certpin_pin_kind kind, certpin__chain *c)
{
	size_t i;
	const unsigned char *d;

	memset(out, 0, sizeof(*out));
	if (c->n == 0)
		return 0;
	if (position == CERTPIN_POS_LEAF)
		i = 0;
	else if (position == CERTPIN_POS_ROOT)
		i = c->n - 1;
	else if (position == CERTPIN_POS_INTERMEDIATE && c->n >= 3)
		i = 1;
	else
		return 0;
	if (!(d = certpin__chain_digest(c, i, kind)))
		return 0;
	memcpy(out->digest, d, CERTPIN_DIGEST_LEN);
	out->kind = kind;
	return 1;
}

/* Copy the host's entries into the result. */
static void collect_known(certpin_tofu_result *r, const certpin__tofu_db *db)
{
	r->known_count = 0;
	for (size_t i = 0; i < db->n && r->known_count < CERTPIN_TOFU_MAX_PINS; i++)
		if (strcmp(db->e[i].host, r->hostname) == 0)
			r->known[r->known_count++] = db->e[i];
}

/* Does the chain match one of the known pins?  The engine's scan decides.  1, 0, or a negative error. */
static int known_match(const certpin_tofu_result *r, certpin__chain *c)
{
	certpin__pinent pins[CERTPIN_TOFU_MAX_PINS];
	size_t depth;

	for (size_t i = 0; i < r->known_count; i++)
		certpin__pinent_set(&pins[i], &r->known[i].pin, r->known[i].position);
	long k = certpin__scan(pins, r->known_count, c, false, &depth);
	if (c->failed)
		return CERTPIN_E_CHAIN;
	return k >= 0;
}

/*
 * Decide for a host with recorded pins.  The decision engine compares each
 * recorded pin at its own position and kind; presented_at[] shows the same
 * comparison to people.  A change is passed to the options' on_change.
 */
static int decide_known(certpin_tofu_result *r, const certpin_tofu *t, certpin__chain *c)
{
	int m, rc;
	char pin[CERTPIN_PIN_STRLEN] = "(none)";
	const char *pos = certpin__tofu_position_word(r->known[0].position);

	for (size_t i = 0; i < r->known_count; i++)
		r->have_presented_at[i] = pin_at(&r->presented_at[i], r->known[i].position, r->known[i].pin.kind, c);
	if ((m = known_match(r, c)) < 0)
		return rfail(r, m, "pin comparison failed: %s", certpin_strerror(m));
	if (m == 1) {
		r->verdict = CERTPIN_TOFU_MATCH;
		r->allowed = 1;
		return CERTPIN_OK;
	}
	r->verdict = CERTPIN_TOFU_CHANGED;
	if (r->have_presented_at[0] &&
	    certpin_pin_format(pin, sizeof(pin), &r->presented_at[0], CERTPIN_STYLE_DEFAULT) != CERTPIN_OK)
		snprintf(pin, sizeof(pin), "(unprintable)");
	if (r->mode == CERTPIN_MODE_REPORT_ONLY) {
		snprintf(r->detail, sizeof(r->detail), "%.120s: key changed (%s now %s); allowed in report-only mode",
			r->hostname, pos ? pos : "?", pin);
		r->allowed = 1;
		rc = CERTPIN_OK;
	} else {
		rc = rfail(r, CERTPIN_E_PIN_MISMATCH, "%.120s: key changed (%s now %s, %zu pin%s recorded)", r->hostname,
			pos ? pos : "?", pin, r->known_count, r->known_count == 1 ? "" : "s");
	}
	if (t->opts.on_change)
		t->opts.on_change(r, t->opts.payload);
	return rc;
}

static int check_locked(certpin_tofu_result *r, certpin_tofu *t, certpin__chain *c, int64_t now)
{
	const certpin__tofu_db *seen;
	certpin__tofu_db db;
	certpin__lock lock = CERTPIN__LOCK_INIT;
	certpin_tofu_entry e;
	char err[256] = "";
	int rc;

	if ((rc = check_db_get(&seen, t, err, sizeof(err))) != CERTPIN_OK)
		return rfail(r, rc, "%s", err[0] ? err : certpin_strerror(rc));
	collect_known(r, seen);
	if (r->known_count > 0)
		return decide_known(r, t, c);

	/* first use: record under the writers' lock, after looking again */
	if (!r->have_presented)
		return rfail(r, CERTPIN_E_CHAIN, "%s: the verified chain has no %s certificate to record", r->hostname,
			certpin__tofu_position_word(t->opts.position));
	if ((rc = certpin__store_lock(&lock, t->lock_path, t->opts.lock_timeout_ms, err, sizeof(err))) != CERTPIN_OK)
		return rfail(r, rc, "%s", err);
	if ((rc = load_db(&db, t, err, sizeof(err))) != CERTPIN_OK) {
		rc = rfail(r, rc, "%s", err[0] ? err : certpin_strerror(rc));
		goto out;
	}
	collect_known(r, &db);
	if (r->known_count > 0) {
		/* another process recorded this host meanwhile: its pins apply */
		rc = decide_known(r, t, c);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.host, r->hostname, sizeof(e.host));
	e.position = t->opts.position;
	e.pin = r->presented;
	e.first_seen = now;
	if ((rc = certpin__tofu_db_add(&db, &e)) != CERTPIN_OK) {
		rc = rfail(r, rc, "out of memory");
		goto out;
	}
	t->reuse = false; /* written or not, the file is read again */
	if ((rc = save_db(&db, t, err, sizeof(err))) != CERTPIN_OK) {
		rc = rfail(r, rc, "%s: cannot record the pin: %s", r->hostname, err[0] ? err : certpin_strerror(rc));
		goto out;
	}
	r->verdict = CERTPIN_TOFU_FIRST_USE;
	r->allowed = 1;
	rc = CERTPIN_OK;
out:
	certpin__store_unlock(&lock);
	certpin__tofu_db_free(&db);
	return rc;
}

int certpin__tofu_decide(certpin_tofu_result *out, certpin_tofu *store, const char *hostname, certpin__chain *c,
	int64_t now)
{
	int is_ip, rc;

	result_init(out, store, now);
	if (!store || !hostname)
		return rfail(out, CERTPIN_E_INVALID_ARG, "invalid argument");
	if (certpin__host_normalize(out->hostname, sizeof(out->hostname), &is_ip, hostname) != CERTPIN_OK) {
		out->hostname[0] = '\0';
		return rfail(out, CERTPIN_E_HOSTNAME, "invalid host name");
	}
	if (c->n == 0)
		return rfail(out, CERTPIN_E_CHAIN, "%s: empty certificate chain", out->hostname);
	out->have_presented = pin_at(&out->presented, store->opts.position, store->opts.kind, c);
	if (c->failed)
		return rfail(out, CERTPIN_E_CHAIN, "%s: cannot read the verified chain", out->hostname);
	pthread_mutex_lock(&store->mu);
	rc = check_locked(out, store, c, now);
	pthread_mutex_unlock(&store->mu);
	if (rc == CERTPIN_OK && out->verdict != CERTPIN_TOFU_CHANGED)
		out->detail[0] = '\0';
	return rc;
}

int certpin__tofu_refuse(certpin_tofu_result *out, const certpin_tofu *t, int code, int64_t now, const char *why)
{
	result_init(out, t, now);
	return rfail(out, code, "%s", why);
}

int certpin_tofu_check(certpin_tofu_result *out, certpin_tofu *store, const char *hostname,
	const certpin_chain_elem *chain, size_t n, int64_t now)
{
	certpin_tofu_result local;
	certpin__chain c;

	if (!out)
		out = &local;
	if (!chain && n > 0) {
		result_init(out, store, now);
		return rfail(out, CERTPIN_E_INVALID_ARG, "invalid argument");
	}
	certpin__chain_init_given(&c, chain, n);
	return certpin__tofu_decide(out, store, hostname, &c, now);
}

/* ------------------------------------------------------------------------ */
/* Management                                                                */
/* ------------------------------------------------------------------------ */

/* A management call's failure: its message (why[], or the code's) into err. */
static int mfail(certpin_error *err, int rc, const char *why)
{
	return certpin__fail(err, rc, NULL, 0, "%s", why[0] ? why : certpin_strerror(rc));
}

int certpin_tofu_list(certpin_tofu_entry **out, size_t *count, certpin_tofu *store, certpin_error *err)
{
	certpin__tofu_db db;
	char why[CERTPIN_HOSTNAME_MAX + 256] = "";
	int rc;

	if (!out || !count || !store)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "invalid argument");
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&store->mu);
	rc = load_db(&db, store, why, sizeof(why));
	pthread_mutex_unlock(&store->mu);
	if (rc != CERTPIN_OK)
		return mfail(err, rc, why);
	*out = db.e;
	*count = db.n;
	return CERTPIN_OK;
}

/* Lock, load, let `edit` change the db, save if it reports a change. */
typedef int (*edit_fn)(certpin__tofu_db *db, void *arg, int *changed, char *err, size_t errlen);

static int modify(certpin_tofu *t, edit_fn edit, void *arg, certpin_error *err)
{
	certpin__lock lock = CERTPIN__LOCK_INIT;
	certpin__tofu_db db;
	char why[CERTPIN_HOSTNAME_MAX + 256] = "";
	int changed = 0, rc;

	memset(&db, 0, sizeof(db));
	pthread_mutex_lock(&t->mu);
	rc = certpin__store_lock(&lock, t->lock_path, t->opts.lock_timeout_ms, why, sizeof(why));
	if (rc != CERTPIN_OK)
		goto out;
	if ((rc = load_db(&db, t, why, sizeof(why))) != CERTPIN_OK)
		goto out;
	if ((rc = edit(&db, arg, &changed, why, sizeof(why))) != CERTPIN_OK)
		goto out;
	if (changed) {
		t->reuse = false;
		rc = save_db(&db, t, why, sizeof(why));
	}
out:
	certpin__store_unlock(&lock);
	certpin__tofu_db_free(&db);
	pthread_mutex_unlock(&t->mu);
	return rc == CERTPIN_OK ? rc : mfail(err, rc, why);
}

typedef struct forget_arg {
	const char *host;
	size_t removed;
} forget_arg;

static int edit_forget(certpin__tofu_db *db, void *arg, int *changed, char *err, size_t errlen)
{
	forget_arg *a = arg;
	size_t w = 0;

	for (size_t i = 0; i < db->n; i++) {
		if (strcmp(db->e[i].host, a->host) == 0)
			a->removed++;
		else
			db->e[w++] = db->e[i];
	}
	db->n = w;
	if (a->removed == 0) {
		certpin__tofu_set_err(err, errlen, "no pins recorded for %s", a->host);
		return CERTPIN_E_NOT_FOUND;
	}
	*changed = 1;
	return CERTPIN_OK;
}

int certpin_tofu_forget(certpin_tofu *store, const char *hostname, size_t *removed, certpin_error *err)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	forget_arg a;
	int is_ip, rc;

	if (removed)
		*removed = 0;
	if (!store || !hostname)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "invalid argument");
	if (certpin__host_normalize(norm, sizeof(norm), &is_ip, hostname) != CERTPIN_OK)
		return certpin__fail(err, CERTPIN_E_HOSTNAME, NULL, 0, "invalid host name");
	a.host = norm;
	a.removed = 0;
	rc = modify(store, edit_forget, &a, err);
	if (removed)
		*removed = a.removed;
	return rc;
}

typedef struct trust_arg {
	certpin_tofu_entry e;
	unsigned int flags;
} trust_arg;

static int edit_trust(certpin__tofu_db *db, void *arg, int *changed, char *err, size_t errlen)
{
	trust_arg *a = arg;
	size_t w = 0, kept = 0;

	for (size_t i = 0; i < db->n; i++) {
		const certpin_tofu_entry *e = &db->e[i];
		if (strcmp(e->host, a->e.host) == 0) {
			if (e->position == a->e.position && certpin_pin_equal(&e->pin, &a->e.pin)) {
				if (a->flags & CERTPIN_TOFU_TRUST_ADD)
					return CERTPIN_OK;      /* already recorded: no-op */
				a->e.first_seen = e->first_seen;
			}
			if (!(a->flags & CERTPIN_TOFU_TRUST_ADD))
				continue;
			kept++;
		}
		db->e[w++] = db->e[i];
	}
	db->n = w;
	if (kept >= CERTPIN_TOFU_MAX_PINS) {
		certpin__tofu_set_err(err, errlen, "%s already has %d pins", a->e.host, CERTPIN_TOFU_MAX_PINS);
		return CERTPIN_E_INVALID_ARG;
	}
	*changed = 1;
	return certpin__tofu_db_add(db, &a->e);
}

int certpin_tofu_trust(certpin_tofu *store, const char *hostname, const certpin_pin *pin,
	certpin_position position, unsigned int flags, int64_t now, certpin_error *err)
{
	trust_arg a;
	int is_ip;

	if (!store || !hostname || !pin || !certpin__tofu_position_word(position) || (flags & ~CERTPIN_TOFU_TRUST_ADD) ||
	    (pin->kind != CERTPIN_PIN_SPKI_SHA256 && pin->kind != CERTPIN_PIN_CERT_SHA256) || now < 0)
		return certpin__fail(err, CERTPIN_E_INVALID_ARG, NULL, 0, "invalid argument");
	memset(&a, 0, sizeof(a));
	if (certpin__host_normalize(a.e.host, sizeof(a.e.host), &is_ip, hostname) != CERTPIN_OK)
		return certpin__fail(err, CERTPIN_E_HOSTNAME, NULL, 0, "invalid host name");
	a.e.position = position;
	a.e.pin = *pin;
	a.e.first_seen = now;
	a.flags = flags;
	return modify(store, edit_trust, &a, err);
}
