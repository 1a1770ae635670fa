/*
 * Report delivery: a bounded in-memory queue, one sender thread posting with
 * libcurl, bounded retries with exponential backoff, a bounded on-disk spool
 * (atomic rename) for reports that could not be delivered, and a dedup table
 * keyed on host, port, chain and result.
 *
 * Every report carries an Idempotency-Key (the time it was made, 128 random
 * bits of the reporter, a counter of its reports) that stays the same on
 * every retry and in the spool, so that a collector which stored a report but whose reply was lost
 * does not store the retry again.
 *
 * Locking: one mutex guards the queue, the dedup table and the counters.
 * Submitters hold it only to look up a key and link an item; the sender
 * drops it for every POST, callback and file operation.
 */
#include "report_internal.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct item {
	struct item *next, *prev;
	char *json;
	size_t len;
	unsigned char key[CERTPIN_DIGEST_LEN];
	char idem[CERTPIN_REPORT__IDEM_LEN + 1];   /* Idempotency-Key ("" none: an old spool file) */
	unsigned int done;          /* bit per URI finished with: accepted, or refused for good */
	int rejected;               /* some URI refused it for good (4xx) */
	unsigned int attempts;      /* delivery rounds made */
	uint64_t due_ms;            /* monotonic time of the next attempt */
	int cb_done;                /* callback already called */
	char *spool_path;           /* set for reports loaded from the spool */
	const char *const *uris;    /* where it goes: the options' URIs or the policy's (borrowed) */
	size_t nuris;
} item;

struct certpin_reporter {
	certpin_policy *policy;         /* a reference of the reporter's own */
	certpin_reporter_options o;
	char *uris[CERTPIN_REPORTER_URIS_MAX];   /* from the options; none: the policy's */
	size_t nuris;
	int any_uris;               /* some report can go to some URI */
	char *spool_dir;
	char *ca_file;

	pthread_mutex_t mu;
	pthread_cond_t wake;        /* sender: new work or stop */
	pthread_cond_t idle;        /* flush: queue drained */
	pthread_t thread;
	int have_thread;
	int stop;

	item *head, *tail;
	size_t qlen;
	int inflight;
	size_t from_spool;          /* items loaded from the spool, queued or in flight */
	uint64_t next_scan_ms;
	unsigned long seq;
	uint64_t rng;
	char idem_prefix[33];       /* 128 random bits, hex */
	uint64_t idem_next;

	certpin_report__dedup dedup;

	certpin_reporter_stats st;
};

/* ---- time ----------------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void abs_deadline(struct timespec *ts, uint64_t wait_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(wait_ms / 1000);
	ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* ---- queue ---------------------------------------------------------------- */

static void item_free(item *it)
{
	if (!it)
		return;
	free(it->json);
	free(it->spool_path);
	free(it);
}

/* Destinations of a report about rule `rule`: the options' URIs, else the policy's for that host. */
static void item_route(const certpin_reporter *r, item *it, long rule)
{
	if (r->nuris) {
		it->uris = (const char *const *)r->uris;
		it->nuris = r->nuris;
	} else {
		it->uris = certpin_policy_report_uris(r->policy, rule >= 0 && rule <= INT_MAX ? (int)rule : -1, &it->nuris);
	}
}

/*
 * The reporter's own policy's rule for `host`, -1 if none applies.  Reports
 * are routed by host name, never by a result's rule index, which names a
 * rule of whichever policy made the check.
 */
static long rule_for(const certpin_reporter *r, const char *host)
{
	size_t idx;

	return host && certpin_policy_lookup(&idx, r->policy, host) == CERTPIN_OK ? (long)idx : -1;
}

/* The policy rule a stored report is about, from its "hostname"; -1 if none applies. */
static long report_rule(const certpin_reporter *r, const item *it)
{
	json_t *doc = json_loadb(it->json, it->len, 0, NULL);
	long rule = rule_for(r, json_string_value(json_object_get(doc, "hostname")));

	json_decref(doc);
	return rule;
}

static void q_push(certpin_reporter *r, item *it)
{
	it->next = NULL;
	it->prev = r->tail;
	if (r->tail)
		r->tail->next = it;
	else
		r->head = it;
	r->tail = it;
	r->qlen++;
}

static void q_remove(certpin_reporter *r, item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		r->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		r->tail = it->prev;
	it->next = it->prev = NULL;
	r->qlen--;
}

/* ---- spool (the files are spool.c's) ----------------------------------------- */

static int spool_write(certpin_reporter *r, const item *it, unsigned long seq)
{
	return certpin_report__spool_write(r->spool_dir, r->o.spool_max, it->json, it->len, it->key, it->idem, seq);
}

typedef struct spool_take_ctx {
	certpin_reporter *r;
	item **out;
	size_t n;
} spool_take_ctx;

/* A spooled report as a new item; false to stop (out of memory). */
static bool spool_take(void *ctx, char *json, size_t len, const char *path, const char *idem)
{
	spool_take_ctx *c = ctx;
	item *it = calloc(1, sizeof(*it));

	if (!it || !(it->spool_path = strdup(path))) {
		free(it);
		free(json);
		return false;
	}
	it->json = json;
	it->len = len;
	snprintf(it->idem, sizeof(it->idem), "%s", idem);
	item_route(c->r, it, c->r->nuris ? -1 : report_rule(c->r, it));
	c->out[c->n++] = it;
	return true;
}

/* Load up to `room` spooled reports into new items (unlocked). */
static size_t spool_load(certpin_reporter *r, item **out, size_t room)
{
	spool_take_ctx c = { r, out, 0 };

	certpin_report__spool_read(r->spool_dir, room, spool_take, &c);
	return c.n;
}

/* ---- sending -------------------------------------------------------------- */

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr, (void)ud;
	return size * nmemb;
}

static int xfer_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	certpin_reporter *r = ud;
	(void)dt, (void)dn, (void)ut, (void)un;
	return __atomic_load_n(&r->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

enum { POST_OK = 0, POST_RETRY = 1, POST_REJECTED = 2 };

/* The request's headers: the content type and the report's idempotency key; NULL when out of memory. */
static struct curl_slist *post_headers(const item *it)
{
	char idem[sizeof(it->idem) + 20];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *t;

	if (!h || !it->idem[0])
		return h;
	snprintf(idem, sizeof(idem), "Idempotency-Key: \"%s\"", it->idem);
	if (!(t = curl_slist_append(h, idem)))
		curl_slist_free_all(h);
	return t;
}

static int post(certpin_reporter *r, CURL *c, const char *uri, const item *it)
{
	struct curl_slist *hdrs = post_headers(it);
	long status = 0;
	CURLcode cc;

	(void)r;
	if (!hdrs)
		return POST_RETRY;
	curl_easy_setopt(c, CURLOPT_URL, uri);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	cc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK)
		return POST_RETRY;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return POST_OK;
	if (status == 408 || status == 429 || status >= 500 || status < 200)
		return POST_RETRY;
	return POST_REJECTED;
}

static CURL *curl_new(certpin_reporter *r)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)r->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)r->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "certpin/" CERTPIN_VERSION_STRING);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, (r->o.flags & CERTPIN_REPORTER_INSECURE_HTTP) ? "http,https" : "https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
		(long)((r->o.flags & CERTPIN_REPORTER_INSECURE_HTTP) ? CURLPROTO_HTTP | CURLPROTO_HTTPS : CURLPROTO_HTTPS));
#endif
	if (r->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
	return c;
}

static uint64_t backoff(certpin_reporter *r, unsigned int attempts)
{
	uint64_t d = r->o.backoff_ms;
	for (unsigned int i = 1; i < attempts && d < r->o.backoff_max_ms; i++)
		d *= 2;
	if (d > r->o.backoff_max_ms)
		d = r->o.backoff_max_ms;
	/* jitter: 75..100% of the delay, so that many clients do not retry in step */
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return d - (d / 4 ? r->rng % (d / 4 + 1) : 0);
}

/*
 * One delivery round for `it` (unlocked).  Returns POST_RETRY while some URI
 * still failed for a temporary reason, else POST_REJECTED if some URI refused
 * the report for good, else POST_OK.
 */
static int deliver(certpin_reporter *r, CURL *c, item *it, uint64_t *posts)
{
	int outcome = POST_OK;

	if (r->o.callback && !it->cb_done) {
		r->o.callback(it->json, it->len, r->o.payload);
		it->cb_done = 1;
	}
	for (size_t u = 0; u < it->nuris; u++) {
		if (it->done & (1u << u))
			continue;
		if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
			return POST_RETRY;
		int p = post(r, c, it->uris[u], it);
		(*posts)++;
		if (p == POST_RETRY) {
			outcome = POST_RETRY;
			continue;
		}
		/* accepted, or refused for good: this URI is finished; the others still get their retries */
		it->done |= 1u << u;
		if (p == POST_REJECTED)
			it->rejected = 1;
	}
	if (outcome == POST_OK && it->rejected)
		outcome = POST_REJECTED;
	return outcome;
}

/* The first item due at `now`, or NULL with *wait_ms set to the wait until the earliest. */
static item *next_due(certpin_reporter *r, uint64_t now, uint64_t *wait_ms)
{
	uint64_t best = UINT64_MAX;
	for (item *it = r->head; it; it = it->next) {
		if (it->due_ms <= now)
			return it;
		if (it->due_ms < best)
			best = it->due_ms;
	}
	*wait_ms = best == UINT64_MAX ? UINT64_MAX : best - now;
	return NULL;
}

/* Called locked: queue reports from the spool, at most half the free room (new failures must still fit). */
static void spool_scan_locked(certpin_reporter *r, uint64_t now)
{
	size_t room = (r->o.queue_max - r->qlen + 1) / 2;
	item **loaded = calloc(room, sizeof(*loaded));

	r->next_scan_ms = now + (uint64_t)r->o.spool_retry_s * 1000u;
	if (!loaded)
		return;
	pthread_mutex_unlock(&r->mu);
	size_t n = spool_load(r, loaded, room);
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		loaded[i]->due_ms = now;
		q_push(r, loaded[i]);
	}
	r->from_spool += n;
	r->st.unspooled += n;
	free(loaded);
}

/* Called locked: sleep until `wait_ms` (UINT64_MAX: until woken) or the next spool scan. */
static void idle_wait_locked(certpin_reporter *r, uint64_t now, uint64_t wait_ms)
{
	struct timespec ts;

	if (r->spool_dir && r->from_spool == 0 && r->next_scan_ms > now && r->next_scan_ms - now < wait_ms)
		wait_ms = r->next_scan_ms - now;
	if (wait_ms == UINT64_MAX) {
		pthread_cond_wait(&r->wake, &r->mu);
		return;
	}
	abs_deadline(&ts, wait_ms);
	pthread_cond_timedwait(&r->wake, &r->mu, &ts);
}

/* How one attempt ended for the item. */
typedef struct settled {
	int outcome;            /* POST_* */
	uint64_t posts;         /* HTTP requests made */
	int spooled, dropped, given_up;
} settled;

/* Called locked: count the attempt; free the item if it is done, else queue it again. */
static void settle_locked(certpin_reporter *r, item *it, const settled *s)
{
	r->inflight = 0;
	r->st.attempts += s->posts;
	if (it->attempts > 1)
		r->st.retries += s->posts;
	if (s->outcome == POST_OK || s->outcome == POST_REJECTED || s->given_up) {
		if (s->outcome == POST_OK)
			r->st.delivered++;
		else if (s->outcome == POST_REJECTED)
			r->st.rejected++;
		r->st.spooled += (uint64_t)s->spooled;
		r->st.dropped += (uint64_t)s->dropped;
		if (s->dropped)
			certpin_report__dedup_forget(&r->dedup, it->key); /* lost, not reported: the next identical failure is sent */
		if (it->spool_path)
			r->from_spool--;
		item_free(it);
	} else {
		/* retry later, or at stop: keep it queued so free() can spool it */
		it->due_ms = mono_ms() + backoff(r, it->attempts);
		q_push(r, it);
	}
	r->st.queued = r->qlen;
	pthread_cond_broadcast(&r->idle);
}

/* Called locked with `it` taken off the queue: one delivery attempt, unlocked. */
static void send_locked(certpin_reporter *r, CURL *c, item *it)
{
	settled s = { 0 };

	r->inflight = 1;
	pthread_mutex_unlock(&r->mu);
	s.outcome = c || !it->nuris ? deliver(r, c, it, &s.posts) : POST_RETRY;
	it->attempts++;
	if (s.outcome == POST_RETRY && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED) &&
	    it->attempts >= r->o.max_attempts) {
		s.given_up = 1;
		/* a report loaded from the spool stays there for the next scan */
		if (!it->spool_path && r->spool_dir &&
		    spool_write(r, it, __atomic_add_fetch(&r->seq, 1, __ATOMIC_RELAXED)) == 0)
			s.spooled = 1;
		else if (!it->spool_path)
			s.dropped = 1;
	}
	if ((s.outcome == POST_OK || s.outcome == POST_REJECTED) && it->spool_path)
		unlink(it->spool_path);
	pthread_mutex_lock(&r->mu);
	settle_locked(r, it, &s);
}

static void *sender_main(void *arg)
{
	certpin_reporter *r = arg;
	CURL *c = r->any_uris ? curl_new(r) : NULL;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		uint64_t now = mono_ms(), wait_ms = UINT64_MAX;

		if (r->spool_dir && r->from_spool == 0 && now >= r->next_scan_ms && r->qlen < r->o.queue_max) {
			spool_scan_locked(r, now);
			continue;
		}
		item *it = next_due(r, now, &wait_ms);
		if (!it) {
			idle_wait_locked(r, now, wait_ms);
			continue;
		}
		q_remove(r, it);
		send_locked(r, c, it);
	}
	pthread_mutex_unlock(&r->mu);
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* ---- public API ----------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int certpin_report__curl_init(void)
{
	return pthread_once(&curl_once, curl_init_once) == 0 && curl_ok ? CERTPIN_OK : CERTPIN_E_TLS;
}

static int uri_ok(const char *u, unsigned int flags)
{
	size_t n;

	if (!u || (n = strlen(u)) == 0 || n > 2048)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	if (strncmp(u, "https://", 8) == 0)
		return n > 8;
	if ((flags & CERTPIN_REPORTER_INSECURE_HTTP) && strncmp(u, "http://", 7) == 0)
		return n > 7;
	return 0;
}

void certpin_reporter_free(certpin_reporter *r)
{
	if (!r)
		return;
	if (r->have_thread) {
		pthread_mutex_lock(&r->mu);
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&r->wake);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	for (item *it = r->head, *next; it; it = next) {
		next = it->next;
		if (!it->spool_path) {
			if (r->spool_dir && spool_write(r, it, ++r->seq) == 0)
				r->st.spooled++;
			else
				r->st.dropped++;
		}
		item_free(it);
	}
	for (size_t i = 0; i < r->nuris; i++)
		free(r->uris[i]);
	free(r->spool_dir);
	free(r->ca_file);
	certpin_report__dedup_free(&r->dedup);
	certpin_policy_free(r->policy);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/*
 * The options, checked: CERTPIN_OK or CERTPIN_E_INVALID_ARG.  *any_uris is
 * set if some report can go to some URI (the options', else the policy's:
 * each rule's own, or the policy-wide list).
 */
static int check_options(const certpin_reporter_options *opts, const certpin_policy *policy, int *any_uris)
{
	if (opts->version != CERTPIN_REPORTER_OPTIONS_VERSION ||
		(opts->flags & ~(CERTPIN_REPORTER_HASHES_ONLY | CERTPIN_REPORTER_PKIX | CERTPIN_REPORTER_INSECURE_HTTP)) ||
		opts->nreport_uris > CERTPIN_REPORTER_URIS_MAX || (opts->nreport_uris && !opts->report_uris) ||
		opts->dedup_window < 0 || opts->queue_max == 0 || opts->queue_max > 1000000 ||
		opts->dedup_max > 1000000 || opts->max_attempts == 0 || opts->max_attempts > 100 ||
		opts->timeout_ms == 0 || opts->backoff_max_ms < opts->backoff_ms ||
		opts->default_port == 0 || opts->default_port > 65535 ||
		(opts->spool_dir && (opts->spool_max == 0 || opts->spool_retry_s == 0)))
		return CERTPIN_E_INVALID_ARG;
	for (size_t i = 0; i < opts->nreport_uris; i++)
		if (!uri_ok(opts->report_uris[i], opts->flags))
			return CERTPIN_E_INVALID_ARG;
	/* without URIs in the options, reports go where the policy says: check those too */
	*any_uris = opts->nreport_uris > 0;
	for (long rule = -1; !opts->nreport_uris && rule < (long)certpin_policy_host_count(policy); rule++) {
		size_t n;
		const char *const *u = certpin_policy_report_uris(policy, rule < 0 || rule > INT_MAX ? -1 : (int)rule, &n);

		for (size_t i = 0; i < n; i++)
			if (!uri_ok(u[i], opts->flags))
				return CERTPIN_E_INVALID_ARG;
		*any_uris |= n > 0;
	}
	return CERTPIN_OK;
}

int certpin_reporter_new(certpin_reporter **out, certpin_policy *policy, const certpin_reporter_options *opts)
{
	certpin_reporter *r = NULL;
	pthread_condattr_t ca;
	struct stat sb;
	int rc = CERTPIN_E_NOMEM, any_uris = 0;

	if (!out)
		return CERTPIN_E_INVALID_ARG;
	*out = NULL;
	if (!policy || !opts || check_options(opts, policy, &any_uris) != CERTPIN_OK)
		return CERTPIN_E_INVALID_ARG;
	if (opts->spool_dir && (stat(opts->spool_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		access(opts->spool_dir, W_OK | X_OK) != 0))
		return CERTPIN_E_IO;
	if (any_uris && certpin_report__curl_init() != CERTPIN_OK)
		return CERTPIN_E_TLS;

	if (!(r = calloc(1, sizeof(*r))))
		return CERTPIN_E_NOMEM;
	if (pthread_mutex_init(&r->mu, NULL) != 0) {
		free(r);
		return CERTPIN_E_NOMEM;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_cond_init(&r->idle, &ca);
	pthread_condattr_destroy(&ca);
	r->policy = certpin_policy_ref(policy);
	r->any_uris = any_uris;
	r->o = *opts;
	r->o.report_uris = NULL;
	r->o.spool_dir = r->o.ca_file = NULL;
	r->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)r;
	if (!r->rng)
		r->rng = 1;
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = CERTPIN_E_TLS;
		goto err;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(r->idem_prefix + 2 * i, 3, "%02x", rnd[i]);
	for (size_t i = 0; i < opts->nreport_uris; i++) {
		if (!(r->uris[i] = strdup(opts->report_uris[i])))
			goto err;
		r->nuris++;
	}
	if (opts->spool_dir && !(r->spool_dir = strdup(opts->spool_dir)))
		goto err;
	if (opts->ca_file && !(r->ca_file = strdup(opts->ca_file)))
		goto err;
	if (certpin_report__dedup_init(&r->dedup, opts->dedup_max, opts->dedup_window) != CERTPIN_OK)
		goto err;
	if (r->any_uris || r->o.callback) {
		if (pthread_create(&r->thread, NULL, sender_main, r) != 0)
			goto err;
		r->have_thread = 1;
	}
	*out = r;
	return CERTPIN_OK;
err:
	certpin_reporter_free(r);
	return rc;
}

static int enqueue(certpin_reporter *r, char *json, const unsigned char *key, long rule)
{
	item *it;
	int64_t now = (int64_t)time(NULL);

	pthread_mutex_lock(&r->mu);
	r->st.submitted++;
	if (certpin_report__dedup_seen(&r->dedup, key, now)) {
		r->st.duplicates++;
		pthread_mutex_unlock(&r->mu);
		free(json);
		return CERTPIN_REPORT_DUPLICATE;
	}
	item route;
	item_route(r, &route, rule);
	if (!r->have_thread || (!route.nuris && !r->o.callback)) {
		pthread_mutex_unlock(&r->mu);
		free(json);
		return CERTPIN_REPORT_QUEUED; /* no destination for this host: counted only */
	}
	if (r->qlen >= r->o.queue_max || !(it = calloc(1, sizeof(*it)))) {
		r->st.dropped++;
		certpin_report__dedup_forget(&r->dedup, key);
		pthread_mutex_unlock(&r->mu);
		free(json);
		return CERTPIN_E_BUSY;
	}
	it->json = json;
	it->len = strlen(json);
	it->uris = route.uris;
	it->nuris = route.nuris;
	memcpy(it->key, key, CERTPIN_DIGEST_LEN);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(it->idem, sizeof(it->idem), "%012llx-%s-%016llx",
		(unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u, r->idem_prefix,
		(unsigned long long)r->idem_next++);
	it->due_ms = 0;
	q_push(r, it);
	r->st.queued = r->qlen;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->mu);
	return CERTPIN_REPORT_QUEUED;
}

static int build_failed(certpin_reporter *r, int rc)
{
	pthread_mutex_lock(&r->mu);
	r->st.dropped++;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int certpin_reporter_submit(certpin_reporter *r, const certpin_report_input *in)
{
	unsigned char key[CERTPIN_DIGEST_LEN];
	char *json = NULL;
	int rc;

	if (!r || !in)
		return CERTPIN_E_INVALID_ARG;
	if (in->version == CERTPIN_REPORT_INPUT_VERSION && in->result &&
		!certpin_report__kind_for(in->rc, in->result))
		return CERTPIN_REPORT_NONE;
	certpin_report_input copy = *in;
	if (r->o.flags & CERTPIN_REPORTER_HASHES_ONLY)
		copy.hashes_only = 1;
	if ((rc = certpin_report__build(&json, key, &copy)) != CERTPIN_OK)
		return build_failed(r, rc);
	return enqueue(r, json, key, in->result ? rule_for(r, in->result->hostname) : -1);
}

int certpin_reporter_submit_ssl(certpin_reporter *r, const struct ssl_st *ssl)
{
	certpin_report_options o = CERTPIN_REPORT_OPTIONS_INIT;
	unsigned char key[CERTPIN_DIGEST_LEN];
	char *json = NULL;
	int rc;

	if (!r || !ssl)
		return CERTPIN_E_INVALID_ARG;
	o.hashes_only = (r->o.flags & CERTPIN_REPORTER_HASHES_ONLY) != 0;
	o.report_pkix = (r->o.flags & CERTPIN_REPORTER_PKIX) != 0;
	rc = certpin_report__from_ssl(&json, key, ssl, r->policy, &o);
	if (rc == CERTPIN_E_NOT_FOUND || rc == CERTPIN_E_STATE)
		return CERTPIN_REPORT_NONE;
	if (rc != CERTPIN_OK)
		return build_failed(r, rc);
	certpin_result res = { .rule = -1 };
	(void)certpin_ssl_result(&res, ssl);
	return enqueue(r, json, key, rule_for(r, res.hostname));
}

void certpin_reporter_on_failure(const certpin_result *result, const certpin_chain_elem *chain, size_t n,
	void *payload)
{
	certpin_reporter *r = payload;
	certpin_report_cert certs[CERTPIN_REPORT_CHAIN_MAX];
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;

	if (!r || !result)
		return;
	/* the result's rule index is the checking policy's: the report is about the reporter's own rule */
	certpin_result mine = *result;
	long rule = rule_for(r, result->hostname);
	if (rule < 0 || rule > INT_MAX)
		return;
	mine.rule = (int)rule;
	if (n > CERTPIN_REPORT_CHAIN_MAX)
		n = CERTPIN_REPORT_CHAIN_MAX;
	for (size_t i = 0; i < n; i++) {
		memset(&certs[i], 0, sizeof(certs[i]));
		certs[i].digests = chain[i];
	}
	in.policy = r->policy;
	in.result = &mine;
	if (result->allowed)
		in.rc = CERTPIN_OK;
	else
		in.rc = result->verdict == CERTPIN_VERDICT_PINSET_EXPIRED ? CERTPIN_E_PINSET_EXPIRED : CERTPIN_E_PIN_MISMATCH;
	in.port = r->o.default_port;
	in.validated = certs;
	in.nvalidated = n;
	in.hashes_only = 1;
	(void)certpin_reporter_submit(r, &in);
}

int certpin_reporter_flush(certpin_reporter *r, unsigned int timeout_ms)
{
	struct timespec ts;
	int rc = CERTPIN_OK;

	if (!r)
		return CERTPIN_E_INVALID_ARG;
	abs_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&r->mu);
	while (r->have_thread && (r->qlen > 0 || r->inflight)) {
		if (pthread_cond_timedwait(&r->idle, &r->mu, &ts) == ETIMEDOUT) {
			rc = (r->qlen > 0 || r->inflight) ? CERTPIN_E_BUSY : CERTPIN_OK;
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void certpin_reporter_get_stats(const certpin_reporter *r, certpin_reporter_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!r)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&r->mu);
	*out = r->st;
	out->queued = r->qlen;
	pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
}
