/*
 * commit.h - group commit for "certpin collect".  The server threads queue
 * the reports they have parsed; one thread stores everything waiting in one
 * transaction (cdb_store_batch()), and once that transaction is durable the
 * queue tells each job's owner, which only then acknowledges the report.  A
 * batch shares one transaction and one WAL sync, and batches grow with the
 * load by themselves: what arrives while a batch commits forms the next one.
 */
#ifndef CERTPIN_CLI_COMMIT_H
#define CERTPIN_CLI_COMMIT_H

#include "collect_db.h"

typedef struct commit_job commit_job;
struct commit_job {
	commit_job *next;           /* the queue's */
	const cdb_report *report;   /* borrowed until done() */
	int rc;                     /* when done() runs: 0 stored (durable), -1 not */
	int outcome;                /* ... and with rc 0: CDB_STORED, CDB_DUPLICATE or CDB_KEY_REUSED (collect_db.h) */
	/* Called once, on the commit thread, when the report is durable or has failed; the job is the caller's again. */
	void (*done)(commit_job *job);
	void *payload;
};

typedef struct commit_queue commit_queue;

/*
 * A deep copy of `r` in one allocation (the strings and pins inside it), to
 * outlive the caller's buffers while it waits in the queue; free() it.  NULL
 * when out of memory.
 */
cdb_report *commit_copy_report(const cdb_report *r);

/* Start the commit thread on `db` (the queue borrows it).  0, or -1 with a reason in `err`. */
int commit_queue_new(commit_queue **out, cdb *db, char *err, size_t errlen);
/* Queue `job`: 0 (done() will run), or -1 once the queue is closed (done() will not run). */
int commit_submit(commit_queue *q, commit_job *job);
/* Take no more jobs, store those queued (each gets its done()), and stop the thread. */
void commit_queue_close(commit_queue *q);
/* Close (if not yet) and free; NULL-safe. */
void commit_queue_free(commit_queue *q);

/* Batches committed and reports in them, for the summary. */
void commit_queue_counts(commit_queue *q, unsigned long long *batches, unsigned long long *reports);

#endif
