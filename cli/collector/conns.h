/*
 * conns.h - the collector's open connections: the request deadline
 * (--request-timeout) and the eviction of the slowest connections when the
 * server is full (slow-loris defence).
 *
 * Every connection libmicrohttpd accepts gets a slot (conns_started(), its
 * socket context), which records when its current request began.  A
 * watchdog (conns_scan(), every 200 ms) shuts down the connections whose
 * request has taken longer than the deadline.  When a new connection finds
 * the server full (more than `evict_at` connections open), one connection is
 * evicted (shut down) to make room: the one whose client address (IPv6: its
 * /64) holds the most connections, and among those the one whose current
 * request began first -- the slowest to deliver, or idle longest between
 * keep-alive requests.  A connection whose report waits for its commit
 * (conns_set_busy()) is never cut or evicted.
 */
#ifndef CERTPIN_CLI_CONNS_H
#define CERTPIN_CLI_CONNS_H

#include <stdatomic.h>

#include <microhttpd.h>

typedef struct conns conns;

typedef struct conns_config {
	unsigned int max_conns;       /* libmicrohttpd's connection limit */
	unsigned int request_timeout; /* seconds to deliver one request */
	int tls;                      /* over TLS: no bad-HTTP check on close */
	int verbose;
	/* counters the table adds to (the collector's) */
	atomic_ullong *cut_off, *evicted, *bad_http;
} conns_config;

/* The number of open connections above which a new one evicts another. */
unsigned int conns_evict_threshold(unsigned int max_conns);

/* NULL when out of memory.  The table borrows the counters. */
conns *conns_new(const conns_config *cfg);
void conns_free(conns *t);

/* MHD_OPTION_NOTIFY_CONNECTION, with the table as `cls`: add or remove the connection's slot (its socket context). */
void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	enum MHD_ConnectionNotificationCode toe);
/* A request of the connection completed: the next one gets a full deadline; `closing`: the connection ends. */
void conns_request_done(conns *t, void *socket_context, int closing);
/* While `busy`, the connection is neither cut off nor evicted (its report is being committed). */
void conns_set_busy(conns *t, void *socket_context, int busy);
/* Shut down the connections past the request deadline. */
void conns_scan(conns *t);

#endif
