/*
 * commit.c - the collector's group commit (commit.h).
 *
 * One committer thread takes every job waiting (up to BATCH_MAX) and stores
 * them with cdb_store_batch(): one transaction, durable when it returns
 * (SQLite: synchronous=FULL, one WAL sync for the batch; PostgreSQL: its
 * COMMIT).  If that fails, each report of the batch is tried in a
 * transaction of its own, so that one report the database refuses does not
 * fail the others.  Jobs that arrive while a batch commits form the next
 * one, so batches grow with the load and one sync serves them all.
 *
 * Tried and measured, not kept: syncing the WAL in separate threads so that
 * the syncs of consecutive batches overlap (SQLite with synchronous=NORMAL
 * and an fdatasync() of the WAL before the reply, checkpoints in a thread of
 * their own).  On the 2-core VM of bench/RESULTS.md it was no faster with 32
 * clients (CPU, not the disk's flush latency, is the limit there) and slower
 * for a single client (one more hand-over per report).
 */
#include "commit.h"
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 1024

struct commit_queue {
	cdb *db;
	pthread_mutex_t mu;
	pthread_cond_t queued;      /* a job queued, or closing */
	commit_job *head, *tail;
	int closing, started;
	pthread_t committer;
	unsigned long long batches, reports;
};

#if defined(__LP64__)
/* commit_copy_report() copies every field: a field added to cdb_report must be added there, and this size updated. */
_Static_assert(sizeof(cdb_report) == 264, "cdb_report changed: copy the new fields in commit_copy_report()");
#endif

/* Copy `s` (NULL stays NULL) to *at, advance it. */
static const char *dup_into(char **at, const char *s)
{
	char *d = *at;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*at = d + n;
	return d;
}

cdb_report *commit_copy_report(const cdb_report *r)
{
	const char *const strs[] = { r->hostname, r->noted_hostname, r->kind, r->served_pin, r->peer, r->body,
		r->format, r->app_bundle_id, r->app_version, r->app_platform, r->app_platform_version, r->app_vendor_id,
		r->trustkit_version, r->idem_key };
	size_t len = sizeof(*r) + r->npins * sizeof(cdb_pin);
	cdb_report *c;
	char *at;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		len += strs[i] ? strlen(strs[i]) + 1 : 0;
	if (!(c = malloc(len)))
		return NULL;
	*c = *r;
	at = (char *)(c + 1);
	if (r->npins) {
		memcpy(at, r->pins, r->npins * sizeof(cdb_pin));
		c->pins = (const cdb_pin *)at;
		at += r->npins * sizeof(cdb_pin);
	}
	c->hostname = dup_into(&at, r->hostname);
	c->noted_hostname = dup_into(&at, r->noted_hostname);
	c->kind = dup_into(&at, r->kind);
	c->served_pin = dup_into(&at, r->served_pin);
	c->peer = dup_into(&at, r->peer);
	c->body = dup_into(&at, r->body);
	c->format = dup_into(&at, r->format);
	c->app_bundle_id = dup_into(&at, r->app_bundle_id);
	c->app_version = dup_into(&at, r->app_version);
	c->app_platform = dup_into(&at, r->app_platform);
	c->app_platform_version = dup_into(&at, r->app_platform_version);
	c->app_vendor_id = dup_into(&at, r->app_vendor_id);
	c->trustkit_version = dup_into(&at, r->trustkit_version);
	c->idem_key = dup_into(&at, r->idem_key);
	return c;
}

/* Store a batch: in one transaction, else one by one.  Sets each job's rc. */
static void store(commit_queue *q, commit_job **jobs, const cdb_report **reports, size_t n)
{
	unsigned char outcome[BATCH_MAX];
	char err[256];

	if (cdb_store_batch(q->db, reports, n, outcome, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++) {
			jobs[i]->rc = 0;
			jobs[i]->outcome = outcome[i];
		}
		return;
	}
	if (n == 1) {
		jobs[0]->rc = -1;
		cli_warn("collect: cannot store report: %s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i]->rc = cdb_store(q->db, reports[i], outcome, err, sizeof(err));
		jobs[i]->outcome = jobs[i]->rc == 0 ? outcome[0] : CDB_STORED;
		if (jobs[i]->rc != 0)
			cli_warn("collect: cannot store report: %s", err);
	}
}

static void *committer_main(void *arg)
{
	commit_queue *q = arg;
	commit_job *jobs[BATCH_MAX];
	const cdb_report *reports[BATCH_MAX];

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->queued, &q->mu);
		if (!q->head)
			break;
		size_t n = 0;
		for (; q->head && n < BATCH_MAX; n++) {
			jobs[n] = q->head;
			reports[n] = q->head->report;
			q->head = q->head->next;
		}
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->mu);
		store(q, jobs, reports, n);
		/* without the mutex: done() resumes connections, whose threads may queue more */
		for (size_t i = 0; i < n; i++) {
			jobs[i]->next = NULL;
			jobs[i]->done(jobs[i]);
		}
		pthread_mutex_lock(&q->mu);
		q->batches++;
		q->reports += n;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int commit_queue_new(commit_queue **out, cdb *db, char *err, size_t errlen)
{
	commit_queue *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->db = db;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->queued, NULL);
	if (pthread_create(&q->committer, NULL, committer_main, q) != 0) {
		snprintf(err, errlen, "cannot start the commit thread");
		commit_queue_free(q);
		return -1;
	}
	q->started = 1;
	*out = q;
	return 0;
}

int commit_submit(commit_queue *q, commit_job *job)
{
	pthread_mutex_lock(&q->mu);
	if (q->closing) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	pthread_cond_signal(&q->queued);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void commit_queue_close(commit_queue *q)
{
	pthread_mutex_lock(&q->mu);
	int was = q->closing;
	q->closing = 1;
	pthread_cond_broadcast(&q->queued);
	pthread_mutex_unlock(&q->mu);
	if (!was && q->started)
		pthread_join(q->committer, NULL);
}

void commit_queue_counts(commit_queue *q, unsigned long long *batches, unsigned long long *reports)
{
	pthread_mutex_lock(&q->mu);
	*batches = q->batches;
	*reports = q->reports;
	pthread_mutex_unlock(&q->mu);
}

void commit_queue_free(commit_queue *q)
{
	if (!q)
		return;
	commit_queue_close(q);
	pthread_cond_destroy(&q->queued);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
