/*
 * commit.c - the collector's group commit (commit.h).
 *
 * The committer thread takes every job waiting (up to BATCH_MAX) and stores
 * them with cdb_store_batch(): one transaction.  If that fails, each report
 * of the batch is tried in a transaction of its own, so that one report the
 * database refuses does not fail the others.
 *
 * A stored batch is acknowledged only once it is durable.  The queue asks
 * the store to defer its syncs (cdb_defer_sync(): SQLite commits without
 * syncing the WAL) and syncs itself: SYNCERS threads each take everything
 * committed so far, call cdb_sync() (one fdatasync() of the WAL) and then
 * release those batches.  A sync covers every batch committed before it
 * began, so while one sync is in flight the committer goes on with the next
 * batch, and its sync can start at once in another thread: the device's
 * flush latency, not its rate, was what limited a committer that waited for
 * each sync in turn (synchronous=FULL).  On PostgreSQL a COMMIT is durable
 * when it returns and cdb_sync() does nothing.
 *
 * SQLite's checkpoints (copying the WAL into the database, with syncs of
 * both) would stall the committer for tens of milliseconds every few
 * hundred reports; a checkpointer thread runs them beside it instead
 * (cdb_checkpoint(), every CHECKPOINT_MS while the queue runs).
 */
#include "commit.h"
#include "common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 1024
#define SYNCERS 4
#define CHECKPOINT_MS 100

struct commit_queue {
	cdb *db;
	pthread_mutex_t mu;
	pthread_cond_t queued;      /* a job queued, or closing */
	pthread_cond_t committed;   /* a batch committed, or the committer finished */
	pthread_cond_t stopped;     /* the committer finished (for the checkpointer) */
	commit_job *head, *tail;    /* waiting for the committer */
	commit_job *wait_head, *wait_tail; /* committed, waiting for a sync (by seq) */
	unsigned long long committed_seq, claimed_seq; /* batches committed; covered by a sync begun */
	int closing, committer_done;
	pthread_t committer, syncers[SYNCERS], checkpointer;
	int nthreads, checkpointing;
	unsigned long long batches, reports;
};

#if defined(__LP64__)
/* commit_copy_report() copies every field: a field added to cdb_report must be added there, and this size updated. */
_Static_assert(sizeof(cdb_report) == 192, "cdb_report changed: copy the new fields in commit_copy_report()");
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
	const char *const strs[] = { r->hostname, r->noted_hostname, r->kind, r->served_pin, r->peer, r->body };
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
	return c;
}

/* Store a batch: in one transaction, else one by one.  Sets each job's rc. */
static void store(commit_queue *q, commit_job **jobs, const cdb_report **reports, size_t n)
{
	char err[256];

	if (cdb_store_batch(q->db, reports, n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			jobs[i]->rc = 0;
		return;
	}
	if (n == 1) {
		jobs[0]->rc = -1;
		cli_warn("collect: cannot store report: %s", err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i]->rc = cdb_store(q->db, reports[i], err, sizeof(err));
		if (jobs[i]->rc != 0)
			cli_warn("collect: cannot store report: %s", err);
	}
}

/* With the mutex held: the stored jobs of a batch wait for a sync; the others are returned, to be done now. */
static commit_job *enqueue_for_sync(commit_queue *q, commit_job **jobs, size_t n)
{
	commit_job *failed = NULL;
	unsigned long long seq = ++q->committed_seq;

	for (size_t i = 0; i < n; i++) {
		commit_job *j = jobs[i];
		j->next = NULL;
		if (j->rc != 0) {
			j->next = failed;
			failed = j;
			continue;
		}
		j->seq = seq;
		if (q->wait_tail)
			q->wait_tail->next = j;
		else
			q->wait_head = j;
		q->wait_tail = j;
	}
	q->batches++;
	q->reports += n;
	pthread_cond_signal(&q->committed);
	return failed;
}

/* Call done() on a list of jobs (without the mutex: done() may resume connections). */
static void finish(commit_job *list)
{
	while (list) {
		commit_job *next = list->next;
		list->next = NULL;
		list->done(list);
		list = next;
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
		pthread_mutex_lock(&q->mu);
		commit_job *failed = enqueue_for_sync(q, jobs, n);
		pthread_mutex_unlock(&q->mu);
		finish(failed);
		pthread_mutex_lock(&q->mu);
	}
	q->committer_done = 1;
	pthread_cond_broadcast(&q->committed);
	pthread_cond_broadcast(&q->stopped);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void *checkpointer_main(void *arg)
{
	commit_queue *q = arg;
	char err[256];
	struct timespec ts;

	pthread_mutex_lock(&q->mu);
	while (!q->committer_done) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += CHECKPOINT_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&q->stopped, &q->mu, &ts);
		if (q->committer_done)
			break;
		pthread_mutex_unlock(&q->mu);
		if (cdb_checkpoint(q->db, err, sizeof(err)) != 0)
			cli_warn("collect: %s", err);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void *syncer_main(void *arg)
{
	commit_queue *q = arg;
	char err[256];

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->claimed_seq == q->committed_seq && !q->committer_done)
			pthread_cond_wait(&q->committed, &q->mu);
		if (q->claimed_seq == q->committed_seq)
			break; /* the committer finished and every batch is covered */
		unsigned long long upto = q->committed_seq;
		q->claimed_seq = upto;
		pthread_mutex_unlock(&q->mu);
		int rc = cdb_sync(q->db, err, sizeof(err));
		if (rc != 0)
			cli_warn("collect: cannot make reports durable: %s", err);
		pthread_mutex_lock(&q->mu);
		/* the batches up to `upto` (those a later sync has not released already) */
		commit_job *list = NULL, **tailp = &list;
		while (q->wait_head && q->wait_head->seq <= upto) {
			commit_job *j = q->wait_head;
			q->wait_head = j->next;
			j->rc = rc;
			*tailp = j;
			tailp = &j->next;
		}
		*tailp = NULL;
		if (!q->wait_head)
			q->wait_tail = NULL;
		pthread_mutex_unlock(&q->mu);
		finish(list);
		pthread_mutex_lock(&q->mu);
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
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->queued, NULL);
	pthread_cond_init(&q->committed, NULL);
	pthread_cond_init(&q->stopped, &ca);
	pthread_condattr_destroy(&ca);
	if (cdb_defer_sync(db, err, errlen) != 0) {
		commit_queue_free(q);
		return -1;
	}
	if (pthread_create(&q->committer, NULL, committer_main, q) != 0) {
		snprintf(err, errlen, "cannot start the commit thread");
		commit_queue_free(q);
		return -1;
	}
	q->nthreads = 1;
	for (int i = 0; i < SYNCERS; i++) {
		if (pthread_create(&q->syncers[i], NULL, syncer_main, q) != 0) {
			snprintf(err, errlen, "cannot start the sync threads");
			commit_queue_free(q);
			return -1;
		}
		q->nthreads++;
	}
	if (pthread_create(&q->checkpointer, NULL, checkpointer_main, q) != 0) {
		snprintf(err, errlen, "cannot start the checkpoint thread");
		commit_queue_free(q);
		return -1;
	}
	q->checkpointing = 1;
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
	/* without a committer (it failed to start), the syncers must not wait for one */
	if (q->nthreads == 0)
		q->committer_done = 1;
	pthread_cond_broadcast(&q->committed);
	pthread_cond_broadcast(&q->stopped);
	pthread_mutex_unlock(&q->mu);
	if (was)
		return;
	if (q->nthreads > 0)
		pthread_join(q->committer, NULL);
	for (int i = 0; i + 1 < q->nthreads; i++)
		pthread_join(q->syncers[i], NULL);
	if (q->checkpointing)
		pthread_join(q->checkpointer, NULL);
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
	pthread_cond_destroy(&q->committed);
	pthread_cond_destroy(&q->stopped);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
