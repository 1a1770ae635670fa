/*
 * conns.c - the collector's connection table: request deadline and eviction
 * (conns.h).
 *
 * Why eviction, and not only shorter timeouts: an attacker that reconnects as
 * soon as it is cut off keeps every slot taken whatever the deadline, and a
 * valid client then waits in the listen queue behind the attacker's new
 * connections for about one deadline; a deadline short enough to matter
 * (well under a second) would cut off real clients on slow networks.  Per-
 * address limits (libmicrohttpd refuses a connection over
 * --max-conns-per-ip before it takes a slot) stop one address, not a few
 * dozen.  Eviction keeps room for new connections: libmicrohttpd never
 * reaches its limit, so the listen queue keeps draining, and the victim is
 * taken from the address that holds the most connections, so a client with
 * one connection is served while a few addresses hold hundreds.  What it does
 * not stop is many addresses each holding a few connections (a botnet): then
 * the oldest unfinished request goes first, which still serves clients that
 * send their report at once.
 */
#include "conns.h"
#include "common.h"

#include <netinet/in.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_BUCKETS 1024

/* Connections of one client address (IPv4 address, or IPv6 /64). */
typedef struct addr_entry {
	struct addr_entry *next;
	unsigned char key[9];       /* 4 or 6, then 4 or 8 address bytes */
	unsigned int open;          /* its connections not cut off */
	unsigned int refs;          /* its slots */
} addr_entry;

typedef struct conn_slot {
	struct conn_slot *next, *prev;
	int fd;
	uint64_t since_ms;          /* connection start or last completed request */
	uint64_t rx_done;           /* bytes received up to the last completed request */
	int cut;                    /* shut down by the deadline or evicted */
	int no_rx_check;            /* the connection ends after a request: later bytes are not checked */
	int busy;                   /* its report is being committed */
	addr_entry *addr;
} conn_slot;

struct conns {
	conns_config cfg;
	unsigned int evict_at;
	pthread_mutex_t mu;         /* guards everything below */
	conn_slot *slots;
	unsigned int open;          /* slots not cut off */
	addr_entry *buckets[ADDR_BUCKETS];
};

unsigned int conns_evict_threshold(unsigned int max_conns)
{
	/* an eighth of the limit stays free for newcomers */
	return max_conns - max_conns / 8;
}

static uint64_t mono_ms(void)
{
	return (uint64_t)cli_mono_ms();
}

/* Bytes the kernel received on a TCP socket (Linux TCP_INFO), or 0 if unknown. */
static uint64_t rx_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
		len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 0;
	return ti.tcpi_bytes_received;
}

/* The address key of a client: IPv4 (also IPv4-mapped IPv6) by address, IPv6 by /64. */
static void addr_key(unsigned char key[9], const struct sockaddr *sa)
{
	memset(key, 0, 9);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			key[0] = 4;
			memcpy(key + 1, a->s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a->s6_addr, 8);
		}
	}
}

static addr_entry **bucket(conns *t, const unsigned char key[9])
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 9; i++)
		h = (h ^ key[i]) * 16777619u;
	return &t->buckets[h % ADDR_BUCKETS];
}

/* With the mutex held: the entry of `key`, created with refs 0; NULL when out of memory. */
static addr_entry *addr_get(conns *t, const unsigned char key[9])
{
	addr_entry **b = bucket(t, key);
	for (addr_entry *e = *b; e; e = e->next)
		if (memcmp(e->key, key, 9) == 0)
			return e;
	addr_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->key, key, 9);
	e->next = *b;
	*b = e;
	return e;
}

/* With the mutex held: drop a slot's reference; the entry goes with its last slot. */
static void addr_put(conns *t, addr_entry *e)
{
	if (!e || --e->refs > 0)
		return;
	for (addr_entry **q = bucket(t, e->key); *q; q = &(*q)->next) {
		if (*q == e) {
			*q = e->next;
			free(e);
			return;
		}
	}
}

/* With the mutex held: shut the connection down (libmicrohttpd then closes it); no longer counted as open. */
static void cut(conns *t, conn_slot *s)
{
	shutdown(s->fd, SHUT_RDWR);
	s->cut = 1;
	t->open--;
	if (s->addr)
		s->addr->open--;
}

/* With the mutex held: evict the slowest connection of the most crowded address, other than `keep`. */
static void evict_one(conns *t, const conn_slot *keep)
{
	conn_slot *victim = NULL;

	for (conn_slot *s = t->slots; s; s = s->next) {
		if (s == keep || s->cut || s->busy || s->fd < 0)
			continue;
		unsigned int open = s->addr ? s->addr->open : 0, vopen = victim && victim->addr ? victim->addr->open : 0;
		if (!victim || open > vopen || (open == vopen && s->since_ms < victim->since_ms))
			victim = s;
	}
	if (!victim)
		return;
	cut(t, victim);
	atomic_fetch_add(t->cfg.evicted, 1);
	if (t->cfg.verbose)
		cli_warn("collect: server full: evicted the slowest connection of the busiest client address");
}

static void slot_started(conns *t, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ca = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	conn_slot *s = calloc(1, sizeof(*s));
	unsigned char key[9];

	*socket_context = s;
	if (!s)
		return;
	s->fd = fd ? fd->connect_fd : -1;
	s->since_ms = mono_ms();
	addr_key(key, ca ? ca->client_addr : NULL);
	pthread_mutex_lock(&t->mu);
	if ((s->addr = addr_get(t, key)) != NULL) {
		s->addr->refs++;
		s->addr->open++;
	}
	s->next = t->slots;
	if (t->slots)
		t->slots->prev = s;
	t->slots = s;
	t->open++;
	if (t->open > t->evict_at)
		evict_one(t, s);
	pthread_mutex_unlock(&t->mu);
}

static void slot_closed(conns *t, void **socket_context)
{
	conn_slot *s = *socket_context;

	if (!s)
		return;
	/*
	 * Bytes after the last complete request that never formed a request
	 * line: not HTTP (libmicrohttpd closes without a reply), or a first line
	 * left incomplete.  Linux counts a received FIN as one byte, hence "+ 1".
	 * Over TLS the handshake bytes hide this: not counted.
	 */
	if (!t->cfg.tls && !s->cut && !s->no_rx_check && rx_bytes(s->fd) > s->rx_done + 1) {
		atomic_fetch_add(t->cfg.bad_http, 1);
		if (t->cfg.verbose)
			cli_warn("collect: connection closed: not HTTP, or an incomplete request line");
	}
	/* removed before libmicrohttpd closes the socket, so the watchdog never touches a reused fd */
	pthread_mutex_lock(&t->mu);
	if (s->prev)
		s->prev->next = s->next;
	else
		t->slots = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (!s->cut) {
		t->open--;
		if (s->addr)
			s->addr->open--;
	}
	addr_put(t, s->addr);
	pthread_mutex_unlock(&t->mu);
	free(s);
	*socket_context = NULL;
}

void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
	enum MHD_ConnectionNotificationCode toe)
{
	conns *t = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		slot_started(t, conn, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		slot_closed(t, socket_context);
}

void conns_request_done(conns *t, void *socket_context, int closing)
{
	conn_slot *s = socket_context;

	if (!s)
		return;
	pthread_mutex_lock(&t->mu);
	s->since_ms = mono_ms();
	s->rx_done = rx_bytes(s->fd);
	/* after an error, or a reply that left a body unread, the connection closes: later bytes are that body */
	if (closing)
		s->no_rx_check = 1;
	pthread_mutex_unlock(&t->mu);
}

void conns_set_busy(conns *t, void *socket_context, int busy)
{
	conn_slot *s = socket_context;

	if (!s)
		return;
	pthread_mutex_lock(&t->mu);
	s->busy = busy;
	pthread_mutex_unlock(&t->mu);
}

void conns_scan(conns *t)
{
	uint64_t now = mono_ms(), limit = (uint64_t)t->cfg.request_timeout * 1000u;

	pthread_mutex_lock(&t->mu);
	for (conn_slot *s = t->slots; s; s = s->next) {
		if (!s->cut && !s->busy && s->fd >= 0 && now - s->since_ms > limit) {
			cut(t, s);
			atomic_fetch_add(t->cfg.cut_off, 1);
		}
	}
	pthread_mutex_unlock(&t->mu);
}

conns *conns_new(const conns_config *cfg)
{
	conns *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cfg = *cfg;
	t->evict_at = conns_evict_threshold(cfg->max_conns);
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void conns_free(conns *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < ADDR_BUCKETS; i++) {
		while (t->buckets[i]) {
			addr_entry *e = t->buckets[i];
			t->buckets[i] = e->next;
			free(e);
		}
	}
	while (t->slots) {
		conn_slot *s = t->slots;
		t->slots = s->next;
		free(s);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}
