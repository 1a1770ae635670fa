/*
 * Trust on first use (certpin/tofu.h): the known_pins file format, the
 * first-use/match/change decision (matching is done by the decision engine
 * on a one-rule policy built from the host's recorded pins), management
 * operations and the OpenSSL verify-callback binding.
 */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#define TIME_LEN 20
#define TOFU_DEFAULT_LOCK_MS 10000u
#define TOFU_CHAIN_MAX 16

struct certpin_tofu {
	char *path;
	char *lock_path;
	certpin_tofu_options opts;
	pthread_mutex_t mu;
	char err[CERTPIN_HOSTNAME_MAX + 256]; /* room for a message naming a host */
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
/* File format                                                               */
/* ------------------------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return CERTPIN_E_STORE;
}

void certpin__tofu_db_free(certpin__tofu_db *db)
{
	if (!db)
		return;
	free(db->e);
	memset(db, 0, sizeof(*db));
}

static int db_add(certpin__tofu_db *db, const certpin_tofu_entry *e)
{
	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 16;
		certpin_tofu_entry *ne = realloc(db->e, cap * sizeof(*ne));
		if (!ne)
			return CERTPIN_E_NOMEM;
		db->e = ne;
		db->cap = cap;
	}
	db->e[db->n++] = *e;
	return CERTPIN_OK;
}

static const char *position_word(certpin_position p)
{
	switch (p) {
	case CERTPIN_POS_LEAF:
		return "leaf";
	case CERTPIN_POS_INTERMEDIATE:
		return "intermediate";
	case CERTPIN_POS_ROOT:
		return "root";
	default:
		return NULL;
	}
}

static int parse_position(certpin_position *out, const char *s, size_t len)
{
	static const certpin_position all[] = { CERTPIN_POS_LEAF, CERTPIN_POS_INTERMEDIATE, CERTPIN_POS_ROOT };

	for (size_t i = 0; i < CERTPIN_ARRAY_LEN(all); i++) {
		const char *w = position_word(all[i]);
		if (strlen(w) == len && memcmp(w, s, len) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

/* Parse one entry line (without its "\n"). */
static int parse_line(certpin_tofu_entry *e, const char *line, size_t len, size_t lineno, char *err, size_t errlen)
{
	const char *f[4];
	size_t fl[4], nf = 0;
	char buf[CERTPIN_HOSTNAME_MAX + 1], norm[CERTPIN_HOSTNAME_MAX], canon[CERTPIN_PIN_STRLEN];
	const char *p = line, *end = line + len;
	int is_ip;

	memset(e, 0, sizeof(*e));
	while (p <= end && nf < 4) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp ? sp : end;
		if (fe == p)
			return set_err(err, errlen, "line %zu: empty field (fields are separated by one space)", lineno);
		f[nf] = p;
		fl[nf++] = (size_t)(fe - p);
		p = fe + 1;
		if (!sp)
			break;
	}
	if (nf != 4 || p <= end)
		return set_err(err, errlen, "line %zu: expected 4 fields: HOST POSITION PIN FIRST-SEEN", lineno);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			return set_err(err, errlen, "line %zu: control or non-ASCII character", lineno);
	if (fl[0] >= sizeof(buf))
		return set_err(err, errlen, "line %zu: host name too long", lineno);
	memcpy(buf, f[0], fl[0]);
	buf[fl[0]] = '\0';
	if (certpin__host_normalize(norm, sizeof(norm), &is_ip, buf) != CERTPIN_OK || strcmp(norm, buf) != 0)
		return set_err(err, errlen, "line %zu: host \"%.64s\" is not a normalized host name", lineno, buf);
	memcpy(e->host, norm, strlen(norm) + 1);
	if (parse_position(&e->position, f[1], fl[1]) != 0)
		return set_err(err, errlen, "line %zu: position must be leaf, intermediate or root", lineno);
	if (fl[2] >= sizeof(canon) || certpin_pin_parse(&e->pin, f[2], fl[2]) != CERTPIN_OK ||
	    certpin_pin_format(canon, sizeof(canon), &e->pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK ||
	    strlen(canon) != fl[2] || memcmp(canon, f[2], fl[2]) != 0)
		return set_err(err, errlen, "line %zu: pin must be sha256/BASE64 or cert-sha256/BASE64", lineno);
	if (fl[3] != TIME_LEN)
		return set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	memcpy(buf, f[3], TIME_LEN);
	buf[TIME_LEN] = '\0';
	char again[TIME_LEN + 1];
	if (certpin__parse_time(&e->first_seen, buf) != 0)
		return set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	certpin__format_time(again, sizeof(again), e->first_seen);
	if (strcmp(again, buf) != 0)
		return set_err(err, errlen, "line %zu: first-seen must be YYYY-MM-DDTHH:MM:SSZ", lineno);
	return CERTPIN_OK;
}

typedef struct sort_item {
	const certpin_tofu_entry *e;
	size_t line;
} sort_item;

static int cmp_entry(const void *a, const void *b)
{
	const sort_item *x = a, *y = b;
	int c = strcmp(x->e->host, y->e->host);

	if (c)
		return c;
	if (x->e->position != y->e->position)
		return x->e->position < y->e->position ? -1 : 1;
	if (x->e->pin.kind != y->e->pin.kind)
		return x->e->pin.kind < y->e->pin.kind ? -1 : 1;
	c = memcmp(x->e->pin.digest, y->e->pin.digest, CERTPIN_DIGEST_LEN);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Duplicate lines and hosts with too many pins, in O(n log n). */
static int check_db(const certpin__tofu_db *db, const size_t *lines, char *err, size_t errlen)
{
	sort_item *s;
	int rc = CERTPIN_OK;
	size_t run = 1;

	if (db->n < 2)
		return CERTPIN_OK;
	if (!(s = malloc(db->n * sizeof(*s))))
		return CERTPIN_E_NOMEM;
	for (size_t i = 0; i < db->n; i++) {
		s[i].e = &db->e[i];
		s[i].line = lines[i];
	}
	qsort(s, db->n, sizeof(*s), cmp_entry);
	for (size_t i = 1; i < db->n && rc == CERTPIN_OK; i++) {
		const certpin_tofu_entry *a = s[i - 1].e, *b = s[i].e;
		if (strcmp(a->host, b->host) != 0) {
			run = 1;
			continue;
		}
		if (a->position == b->position && a->pin.kind == b->pin.kind &&
		    memcmp(a->pin.digest, b->pin.digest, CERTPIN_DIGEST_LEN) == 0)
			rc = set_err(err, errlen, "line %zu: duplicate of line %zu", s[i].line, s[i - 1].line);
		else if (++run > CERTPIN_TOFU_MAX_PINS)
			rc = set_err(err, errlen, "line %zu: more than %d pins for %s", s[i].line,
				CERTPIN_TOFU_MAX_PINS, b->host);
	}
	free(s);
	return rc;
}

int certpin__tofu_parse(certpin__tofu_db *db, const char *data, size_t len, char *err, size_t errlen)
{
	static const char header[] = CERTPIN_TOFU_HEADER "\n";
	size_t *lines = NULL, lcap = 0;
	const char *p, *end = data + len;
	size_t lineno = 1;
	int rc;

	memset(db, 0, sizeof(*db));
	if (len > CERTPIN_TOFU_FILE_MAX)
		return set_err(err, errlen, "larger than %u bytes", CERTPIN_TOFU_FILE_MAX);
	if (len == 0 || !data)
		return set_err(err, errlen, "empty file (no \"%s\" header line)", CERTPIN_TOFU_HEADER);
	if (memchr(data, '\0', len))
		return set_err(err, errlen, "contains a NUL byte");
	if (len < sizeof(header) - 1 || memcmp(data, header, sizeof(header) - 1) != 0)
		return set_err(err, errlen, "line 1: not a certpin known_pins v1 file (expected \"%s\")",
			CERTPIN_TOFU_HEADER);
	for (p = data + sizeof(header) - 1; p < end; lineno++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		certpin_tofu_entry e;

		if (!nl) {
			rc = set_err(err, errlen, "line %zu: no newline at the end (truncated file?)", lineno + 1);
			goto err;
		}
		size_t ll = (size_t)(nl - p);
		if (ll == 0 || p[0] == '#') {
			if (memchr(p, '\r', ll)) {
				rc = set_err(err, errlen, "line %zu: carriage return", lineno + 1);
				goto err;
			}
			p = nl + 1;
			continue;
		}
		if ((rc = parse_line(&e, p, ll, lineno + 1, err, errlen)) != CERTPIN_OK)
			goto err;
		if (db->n == lcap) {
			size_t ncap = lcap ? lcap * 2 : 16;
			size_t *nl2 = realloc(lines, ncap * sizeof(*nl2));
			if (!nl2) {
				rc = CERTPIN_E_NOMEM;
				goto err;
			}
			lines = nl2;
			lcap = ncap;
		}
		lines[db->n] = lineno + 1;
		if ((rc = db_add(db, &e)) != CERTPIN_OK)
			goto err;
		p = nl + 1;
	}
	if ((rc = check_db(db, lines, err, errlen)) != CERTPIN_OK)
		goto err;
	free(lines);
	return CERTPIN_OK;
err:
	free(lines);
	certpin__tofu_db_free(db);
	return rc;
}

int certpin__tofu_format(char **out, size_t *len, const certpin__tofu_db *db)
{
	/* host + position + pin + time + separators */
	size_t cap = sizeof(CERTPIN_TOFU_HEADER) + 1 + db->n * (CERTPIN_HOSTNAME_MAX + 16 + CERTPIN_PIN_STRLEN + 32);
	size_t used;
	char *buf = malloc(cap);

	*out = NULL;
	*len = 0;
	if (!buf)
		return CERTPIN_E_NOMEM;
	used = (size_t)snprintf(buf, cap, "%s\n", CERTPIN_TOFU_HEADER);
	for (size_t i = 0; i < db->n; i++) {
		const certpin_tofu_entry *e = &db->e[i];
		char pin[CERTPIN_PIN_STRLEN], when[32];
		const char *pos = position_word(e->position);

		if (!pos || certpin_pin_format(pin, sizeof(pin), &e->pin, CERTPIN_STYLE_DEFAULT) != CERTPIN_OK) {
			free(buf);
			return CERTPIN_E_INVALID_ARG;
		}
		certpin__format_time(when, sizeof(when), e->first_seen);
		int n = snprintf(buf + used, cap - used, "%s %s %s %s\n", e->host, pos, pin, when);
		if (n < 0 || (size_t)n >= cap - used) {
			free(buf);
			return CERTPIN_E_INVALID_ARG;
		}
		used += (size_t)n;
	}
	*out = buf;
	*len = used;
	return CERTPIN_OK;
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
	if (!position_word(o.position) ||
	    (o.kind != CERTPIN_PIN_SPKI_SHA256 && o.kind != CERTPIN_PIN_CERT_SHA256) ||
	    (o.mode != CERTPIN_MODE_ENFORCE && o.mode != CERTPIN_MODE_REPORT_ONLY))
		return CERTPIN_E_INVALID_ARG;
	if (o.lock_timeout_ms == 0)
		o.lock_timeout_ms = TOFU_DEFAULT_LOCK_MS;
	if (!(t = calloc(1, sizeof(*t))))
		return CERTPIN_E_NOMEM;
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

void certpin_tofu_close(certpin_tofu *store)
{
	if (!store)
		return;
	certpin__tofu_db_free(&store->seen);
	pthread_mutex_destroy(&store->mu);
	free(store->path);
	free(store->lock_path);
	free(store);
}

const char *certpin_tofu_error(const certpin_tofu *store)
{
	return store ? store->err : "";
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
		set_err(err, errlen, "%s (known_pins file is corrupt; not modified)", why);
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
		set_err(err, errlen, "%s: %s (known_pins file is corrupt; not modified)", t->path, why);
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
static int pin_at(certpin_pin *out, certpin_position position, certpin_pin_kind kind,
	const certpin_chain_elem *chain, size_t n)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if (position == CERTPIN_POS_LEAF)
		i = 0;
	else if (position == CERTPIN_POS_ROOT)
		i = n - 1;
	else if (position == CERTPIN_POS_INTERMEDIATE && n >= 3)
		i = 1;
	else
		return 0;
	if (kind == CERTPIN_PIN_SPKI_SHA256 && (chain[i].flags & CERTPIN_HAVE_SPKI)) {
		memcpy(out->digest, chain[i].spki_sha256, CERTPIN_DIGEST_LEN);
	} else if (kind == CERTPIN_PIN_CERT_SHA256 && (chain[i].flags & CERTPIN_HAVE_CERT)) {
		memcpy(out->digest, chain[i].cert_sha256, CERTPIN_DIGEST_LEN);
	} else {
		return 0;
	}
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

/* Does the chain match one of the known pins?  Uses the decision engine.  1, 0, or a negative error. */
static int known_match(const certpin_tofu_result *r, const certpin_chain_elem *chain, size_t n, int64_t now)
{
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_policy *p = NULL;
	certpin_result vr;
	int rc;

	if ((rc = certpin_policy_new(&p)) != CERTPIN_OK)
		return rc;
	ho.pattern = r->hostname;
	if ((rc = certpin_policy_add_host(p, &ho)) != CERTPIN_OK)
		goto out;
	for (size_t i = 0; i < r->known_count; i++)
		if ((rc = certpin_policy_add_pin(p, r->hostname, &r->known[i].pin, r->known[i].position)) != CERTPIN_OK)
			goto out;
	rc = certpin_verify(&vr, p, r->hostname, chain, n, now);
	if (rc == CERTPIN_OK && vr.verdict == CERTPIN_VERDICT_MATCH)
		rc = 1;
	else if (rc == CERTPIN_OK || rc == CERTPIN_E_PIN_MISMATCH)
		rc = 0;
out:
	certpin_policy_free(p);
	return rc;
}

/*
 * Decide for a host with recorded pins.  The decision engine compares each
 * recorded pin at its own position and kind; presented_at[] shows the same
 * comparison to people.  A change is passed to the options' on_change.
 */
static int decide_known(certpin_tofu_result *r, const certpin_tofu *t, const certpin_chain_elem *chain, size_t n,
	int64_t now)
{
	int m, rc;
	char pin[CERTPIN_PIN_STRLEN] = "(none)";
	const char *pos = position_word(r->known[0].position);

	for (size_t i = 0; i < r->known_count; i++)
		r->have_presented_at[i] = pin_at(&r->presented_at[i], r->known[i].position, r->known[i].pin.kind, chain, n);
	if ((m = known_match(r, chain, n, now)) < 0)
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

static int check_locked(certpin_tofu_result *r, certpin_tofu *t, const certpin_chain_elem *chain, size_t n,
	int64_t now)
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
		return decide_known(r, t, chain, n, now);

	/* first use: record under the writers' lock, after looking again */
	if (!r->have_presented)
		return rfail(r, CERTPIN_E_CHAIN, "%s: the verified chain has no %s certificate to record", r->hostname,
			position_word(t->opts.position));
	if ((rc = certpin__store_lock(&lock, t->lock_path, t->opts.lock_timeout_ms, err, sizeof(err))) != CERTPIN_OK)
		return rfail(r, rc, "%s", err);
	if ((rc = load_db(&db, t, err, sizeof(err))) != CERTPIN_OK) {
		rc = rfail(r, rc, "%s", err[0] ? err : certpin_strerror(rc));
		goto out;
	}
	collect_known(r, &db);
	if (r->known_count > 0) {
		/* another process recorded this host meanwhile: its pins apply */
		rc = decide_known(r, t, chain, n, now);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.host, r->hostname, sizeof(e.host));
	e.position = t->opts.position;
	e.pin = r->presented;
	e.first_seen = now;
	if ((rc = db_add(&db, &e)) != CERTPIN_OK) {
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

int certpin_tofu_check(certpin_tofu_result *out, certpin_tofu *store, const char *hostname,
	const certpin_chain_elem *chain, size_t n, int64_t now)
{
	certpin_tofu_result local;
	int is_ip, rc;

	if (!out)
		out = &local;
	result_init(out, store, now);
	if (!store || !hostname || (!chain && n > 0))
		return rfail(out, CERTPIN_E_INVALID_ARG, "invalid argument");
	if (certpin__host_normalize(out->hostname, sizeof(out->hostname), &is_ip, hostname) != CERTPIN_OK) {
		out->hostname[0] = '\0';
		return rfail(out, CERTPIN_E_HOSTNAME, "invalid host name");
	}
	if (n == 0)
		return rfail(out, CERTPIN_E_CHAIN, "%s: empty certificate chain", out->hostname);
	out->have_presented = pin_at(&out->presented, store->opts.position, store->opts.kind, chain, n);
	pthread_mutex_lock(&store->mu);
	rc = check_locked(out, store, chain, n, now);
	pthread_mutex_unlock(&store->mu);
	if (rc == CERTPIN_OK && out->verdict != CERTPIN_TOFU_CHANGED)
		out->detail[0] = '\0';
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Management                                                                */
/* ------------------------------------------------------------------------ */

int certpin_tofu_list(certpin_tofu_entry **out, size_t *count, certpin_tofu *store)
{
	certpin__tofu_db db;
	int rc;

	if (!out || !count || !store)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&store->mu);
	store->err[0] = '\0';
	rc = load_db(&db, store, store->err, sizeof(store->err));
	pthread_mutex_unlock(&store->mu);
	if (rc != CERTPIN_OK)
		return rc;
	*out = db.e;
	*count = db.n;
	return CERTPIN_OK;
}

/* Lock, load, let `edit` change the db, save if it reports a change. */
typedef int (*edit_fn)(certpin__tofu_db *db, void *arg, int *changed, char *err, size_t errlen);

static int modify(certpin_tofu *t, edit_fn edit, void *arg)
{
	certpin__lock lock = CERTPIN__LOCK_INIT;
	certpin__tofu_db db;
	int changed = 0, rc;

	memset(&db, 0, sizeof(db));
	pthread_mutex_lock(&t->mu);
	t->err[0] = '\0';
	rc = certpin__store_lock(&lock, t->lock_path, t->opts.lock_timeout_ms, t->err, sizeof(t->err));
	if (rc != CERTPIN_OK)
		goto out;
	if ((rc = load_db(&db, t, t->err, sizeof(t->err))) != CERTPIN_OK)
		goto out;
	if ((rc = edit(&db, arg, &changed, t->err, sizeof(t->err))) != CERTPIN_OK)
		goto out;
	if (changed) {
		t->reuse = false;
		rc = save_db(&db, t, t->err, sizeof(t->err));
	}
out:
	certpin__store_unlock(&lock);
	certpin__tofu_db_free(&db);
	pthread_mutex_unlock(&t->mu);
	return rc;
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
		set_err(err, errlen, "no pins recorded for %s", a->host);
		return CERTPIN_E_NOT_FOUND;
	}
	*changed = 1;
	return CERTPIN_OK;
}

int certpin_tofu_forget(certpin_tofu *store, const char *hostname, size_t *removed)
{
	char norm[CERTPIN_HOSTNAME_MAX];
	forget_arg a;
	int is_ip, rc;

	if (removed)
		*removed = 0;
	if (!store || !hostname)
		return CERTPIN_E_INVALID_ARG;
	if (certpin__host_normalize(norm, sizeof(norm), &is_ip, hostname) != CERTPIN_OK) {
		pthread_mutex_lock(&store->mu);
		snprintf(store->err, sizeof(store->err), "invalid host name");
		pthread_mutex_unlock(&store->mu);
		return CERTPIN_E_HOSTNAME;
	}
	a.host = norm;
	a.removed = 0;
	rc = modify(store, edit_forget, &a);
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
		set_err(err, errlen, "%s already has %d pins", a->e.host, CERTPIN_TOFU_MAX_PINS);
		return CERTPIN_E_INVALID_ARG;
	}
	*changed = 1;
	return db_add(db, &a->e);
}

int certpin_tofu_trust(certpin_tofu *store, const char *hostname, const certpin_pin *pin,
	certpin_position position, unsigned int flags, int64_t now)
{
	trust_arg a;
	int is_ip;

	if (!store || !hostname || !pin || !position_word(position) || (flags & ~CERTPIN_TOFU_TRUST_ADD) ||
	    (pin->kind != CERTPIN_PIN_SPKI_SHA256 && pin->kind != CERTPIN_PIN_CERT_SHA256) || now < 0)
		return CERTPIN_E_INVALID_ARG;
	memset(&a, 0, sizeof(a));
	if (certpin__host_normalize(a.e.host, sizeof(a.e.host), &is_ip, hostname) != CERTPIN_OK) {
		pthread_mutex_lock(&store->mu);
		snprintf(store->err, sizeof(store->err), "invalid host name");
		pthread_mutex_unlock(&store->mu);
		return CERTPIN_E_HOSTNAME;
	}
	a.e.position = position;
	a.e.pin = *pin;
	a.e.first_seen = now;
	a.flags = flags;
	return modify(store, edit_trust, &a);
}

/* ------------------------------------------------------------------------ */
/* OpenSSL binding                                                           */
/* ------------------------------------------------------------------------ */

typedef struct tofu_binding {
	certpin_tofu *store;
	SSL_verify_cb app_cb;
} tofu_binding;

typedef struct tofu_state {
	int rc;
	certpin_tofu_result result;
} tofu_state;

static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;
static int ctx_idx = -1, ssl_idx = -1;

static void free_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	OPENSSL_free(ptr);
}

/* SSL_dup(): the copy has no TOFU result of its own yet. */
static int dup_state(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d, int idx, long argl, void *argp)
{
	(void)to, (void)from, (void)idx, (void)argl, (void)argp;
	*(void **)from_d = NULL;
	return 1;
}

static void init_indexes(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, "certpin tofu binding", NULL, NULL, free_ex);
	ssl_idx = SSL_get_ex_new_index(0, "certpin tofu state", NULL, dup_state, free_ex);
}

static int ensure_indexes(void)
{
	if (!CRYPTO_THREAD_run_once(&once, init_indexes))
		return 0;
	return ctx_idx >= 0 && ssl_idx >= 0;
}

static int record_state(SSL *ssl, int rc, const certpin_tofu_result *res)
{
	tofu_state *st = SSL_get_ex_data(ssl, ssl_idx);

	if (!st) {
		if (!(st = OPENSSL_zalloc(sizeof(*st))))
			return 0;
		if (!SSL_set_ex_data(ssl, ssl_idx, st)) {
			OPENSSL_free(st);
			return 0;
		}
	}
	st->rc = rc;
	st->result = *res;
	return 1;
}

static int tofu_decide(const tofu_binding *b, SSL *ssl, X509_STORE_CTX *sctx)
{
	certpin_chain_elem elems[TOFU_CHAIN_MAX];
	certpin_tofu_result *res;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
	char host[CERTPIN_HOSTNAME_MAX + 1];
	int cn = chain ? sk_X509_num(chain) : 0, rc;
	int64_t now = (int64_t)time(NULL);

	/* the result is large: keep it off the handshake's stack */
	if (!(res = OPENSSL_malloc(sizeof(*res))))
		return 0;
	memset(elems, 0, sizeof(elems));
	if (!certpin__ssl_conn_hostname(host, sizeof(host), ssl, sctx, false)) {
		result_init(res, b->store, now);
		rc = rfail(res, CERTPIN_E_HOSTNAME, "no host name set on the connection (SSL_set1_host)");
	} else if (cn <= 0 || cn > TOFU_CHAIN_MAX) {
		result_init(res, b->store, now);
		rc = rfail(res, CERTPIN_E_CHAIN, "verified chain missing or too long");
	} else {
		rc = CERTPIN_OK;
		for (int i = 0; i < cn && rc == CERTPIN_OK; i++) {
			unsigned char *der = NULL;
			int len = i2d_X509(sk_X509_value(chain, i), &der);
			if (len <= 0 || certpin_chain_elem_from_der(&elems[i], der, (size_t)len) != CERTPIN_OK)
				rc = CERTPIN_E_CHAIN;
			OPENSSL_free(der);
		}
		if (rc != CERTPIN_OK) {
			result_init(res, b->store, now);
			rc = rfail(res, rc, "cannot read the verified chain");
		} else {
			rc = certpin_tofu_check(res, b->store, host, elems, (size_t)cn, now);
		}
	}
	int stored = record_state(ssl, rc, res);
	int allow = stored && rc == CERTPIN_OK && res->allowed;
	OPENSSL_free(res);
	ERR_clear_error();
	if (!allow) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		certpin__ssl_force_verify_peer(ssl);
	}
	return allow;
}

/*
 * The application's verify callback accepted a PKIX error: TOFU vouches only
 * for chains OpenSSL verified, so the handshake is refused all the same.
 * OpenSSL's reason is kept; the TOFU result says CERTPIN_E_PKIX.
 */
static int refuse_pkix(const tofu_binding *b, SSL *ssl, X509_STORE_CTX *sctx)
{
	certpin_tofu_result *res = OPENSSL_malloc(sizeof(*res));
	int err = X509_STORE_CTX_get_error(sctx);

	if (res) {
		result_init(res, b->store, (int64_t)time(NULL));
		rfail(res, CERTPIN_E_PKIX, "the chain failed PKIX validation (%s at depth %d), which the application's "
			"verify callback accepted; TOFU needs a verified chain",
			X509_verify_cert_error_string(err != X509_V_OK ? err : X509_V_ERR_UNSPECIFIED),
			X509_STORE_CTX_get_error_depth(sctx));
		(void)record_state(ssl, CERTPIN_E_PKIX, res);
		OPENSSL_free(res);
	}
	if (err == X509_V_OK)
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
	certpin__ssl_force_verify_peer(ssl);
	return 0;
}

static int tofu_verify_cb(int preverify_ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	const tofu_binding *b = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx) : NULL;
	int ok;

	if (!b)
		return 0;
	ok = b->app_cb ? b->app_cb(preverify_ok, sctx) : preverify_ok;
	if (!ok) {
		certpin__ssl_force_verify_peer(ssl); /* PKIX refused: no TOFU without it */
		return ok;
	}
	/*
	 * Any error, at any depth and before or after the TOFU decision (a
	 * name-constraints failure comes after the leaf's last call), that the
	 * application's callback chose to accept: refuse, never skip the check.
	 */
	if (!preverify_ok || X509_STORE_CTX_get_error(sctx) != X509_V_OK)
		return refuse_pkix(b, ssl, sctx);
	/* the whole chain verified down to the leaf */
	if (X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	return tofu_decide(b, ssl, sctx);
}

bool certpin__tofu_ctx_attached(const SSL_CTX *ctx)
{
	return ensure_indexes() && SSL_CTX_get_ex_data(ctx, ctx_idx) != NULL;
}

int certpin_tofu_ssl_ctx_attach(void *ssl_ctx, certpin_tofu *store)
{
	SSL_CTX *ctx = ssl_ctx;
	tofu_binding *b, *old;
	SSL_verify_cb cur;

	if (!ctx || !store)
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	if (!(b = OPENSSL_zalloc(sizeof(*b))))
		return CERTPIN_E_NOMEM;
	b->store = store;
	old = SSL_CTX_get_ex_data(ctx, ctx_idx);
	cur = SSL_CTX_get_verify_callback(ctx);
	b->app_cb = cur == tofu_verify_cb ? (old ? old->app_cb : NULL) : cur;
	if (!SSL_CTX_set_ex_data(ctx, ctx_idx, b)) {
		OPENSSL_free(b);
		return CERTPIN_E_NOMEM;
	}
	OPENSSL_free(old);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx) | SSL_VERIFY_PEER, tofu_verify_cb);
	return CERTPIN_OK;
}

int certpin_tofu_ssl_result(certpin_tofu_result *out, const void *ssl)
{
	const tofu_state *st;

	if (!ssl)
		return CERTPIN_E_INVALID_ARG;
	if (!ensure_indexes())
		return CERTPIN_E_TLS;
	st = SSL_get_ex_data(ssl, ssl_idx);
	if (!st)
		return CERTPIN_E_STATE;
	if (out)
		*out = st->result;
	return st->rc;
}
