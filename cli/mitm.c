/*
 * certpin mitm: a MITM self-test harness.  A TLS server presents one attack
 * of the catalog (mitm_pki.c) per connection and records whether the client
 * accepted it; the scorecard is printed and written as JSON and HTML
 * (mitm_report.c).
 *
 * Scheduling: the attack is chosen when a connection's ClientHello has been
 * parsed (the servername callback), in catalog order, --rounds times; a
 * connection that never sends a ClientHello (a port probe, garbage) takes no
 * attack and is recorded as "not scored".  The schedule is a list of slots
 * (attack, round); a slot is done only when its attempt is scored.  An
 * attempt given an attack that ends without a verdict gives its slot back:
 * at once when the client aborted without an alert (the next connection gets
 * the attack), or behind the other slots when the harness itself could not
 * present the attack (a server-side handshake failure such as "no shared
 * cipher", which the same client will likely hit again).  Per-SNI or
 * per-port scheduling is not offered: the client must send the real host
 * name for its host-name check to mean anything, and an attempt whose SNI is
 * missing or not --host is not scored.  Session resumption and tickets are
 * disabled, so every connection is a full handshake with the certificate of
 * its attack.
 *
 * Verdicts (--accept-on data, the default): the client ACCEPTED if it
 * completed the handshake and sent application data, or completed it and
 * kept the connection open, silent, until --io-timeout (it did not reject
 * the certificate); it REFUSED if it aborted the handshake with an alert
 * (recorded) or closed after the handshake without sending data (the
 * post-handshake check of, for example, curl --pinnedpubkey).  A close,
 * reset or stall during the handshake without an alert is ABORTED, not
 * scored: a port scanner, a health check or a browser's preconnect does the
 * same.  A handshake the harness ended itself (it sent the alert) is not
 * scored either.  With --accept-on handshake a completed handshake counts
 * as accepted: exact for clients that check everything inside the handshake
 * and send nothing (certpin check), wrong for post-handshake checkers.
 *
 * Robustness: non-blocking sockets and TLS under one poll() loop, at most
 * MITM_MAX_CONNS connections at a time, every connection bounded by
 * --io-timeout, the whole run by --timeout and --max-attempts (connections
 * of any kind); SIGINT/SIGTERM end the run cleanly and the reports are still
 * written.
 */
#include "common.h"
#include "mitm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>

#define MITM_MAX_CONNS 64           /* connections handled at the same time */
#define MITM_POLL_MS 200            /* longest poll(); bounds the reaction to signals */
#define MITM_DRAIN_MS 1000          /* after the reply, wait this long for the client to close */
#define MITM_DRAIN_BYTES 65536

void usage_mitm(FILE *f)
{
	fputs("usage: certpin mitm --host NAME --dir DIR [--listen ADDR:PORT] [--port-file FILE]\n"
		"                    [--control-cert CHAIN --control-key KEY] [--real-chain FILE]\n"
		"                    [--ca-out FILE] [--attack NAME[,NAME...]] [--rounds N]\n"
		"                    [--accept-on data|handshake] [--max-attempts N] [--timeout S]\n"
		"                    [--io-timeout MS] [--insecure-no-control]\n"
		"                    [--insecure-untrusted-rogue-ca] [--json] [--quiet]\n"
		"       certpin mitm --list-attacks\n"
		"\n"
		"Run a TLS server that presents one interception attack per connection, in\n"
		"catalog order (control first), and score whether the client accepted each.\n"
		"Point the client at ADDR:PORT with SNI and host name NAME.  Keys and\n"
		"certificates are generated in DIR (the rogue CA is reused across runs);\n"
		"DIR/report.json and DIR/report.html hold the scorecard.\n"
		"\n"
		"  -H, --host NAME          host name the attacks impersonate (DNS name)\n"
		"      --dir DIR            directory for keys, certificates and reports\n"
		"                           (created 0700 if missing; a symlink is refused);\n"
		"                           nothing is written outside it but --port-file and\n"
		"                           --ca-out\n"
		"      --listen ADDR:PORT   numeric address and port (default 127.0.0.1:0, a\n"
		"                           free port)\n"
		"      --port-file FILE     write the bound port to FILE once listening\n"
		"      --control-cert FILE  chain (leaf first) the client must accept:\n"
		"                           the control\n"
		"      --control-key FILE   its private key\n"
		"      --real-chain FILE    real certificates appended by chain-injection\n"
		"                           (default: the control chain)\n"
		"      --ca-out FILE        also write the rogue CA certificate to FILE\n"
		"                           (install it in the client's trust store)\n"
		"      --attack LIST        run only these attacks (comma-separated, see\n"
		"                           --list-attacks)\n"
		"      --rounds N           present the catalog N times (default 1)\n"
		"      --accept-on MODE     data: accepted = handshake and application data\n"
		"                           (default); handshake: accepted = completed\n"
		"                           handshake (clients that check in the handshake\n"
		"                           and send nothing, e.g. certpin check)\n"
		"      --max-attempts N     stop after N connections of any kind (default 1000)\n"
		"  -t, --timeout S          stop after S seconds (default 300)\n"
		"      --io-timeout MS      time a connection gets for each phase (default 5000)\n"
		"      --insecure-no-control\n"
		"                           let a run without --control-cert pass: WEAKENS the\n"
		"                           result, a client that refuses everything passes\n"
		"      --insecure-untrusted-rogue-ca\n"
		"                           let a run pass although the client refused the\n"
		"                           rogue CA as unknown (it does not trust it, so its\n"
		"                           refusals do not test pinning): WEAKENS the result\n"
		"  -j, --json               print the scorecard as JSON instead of text\n"
		"      --quiet              no progress line per connection on stderr\n"
		"\n"
		"Only a refusal with an alert, or a close after the handshake, counts as\n"
		"refused; an attempt without a verdict (closed mid-handshake without an\n"
		"alert, SNI other than NAME, handshake failed on the harness's side) is\n"
		"not scored and its attack is presented again on a later connection.\n"
		"\n"
		"exit status: 0 every scheduled attempt scored, every attack refused and\n"
		"the control accepted; 1 an attack was accepted; 2 inconclusive (control\n"
		"refused or missing, or attempts without a verdict); 3 usage or bad input,\n"
		"an unwritable file or an address that cannot be listened on; 4 internal\n"
		"error.\n", f);
}

/* ---- options ------------------------------------------------------------------ */

typedef struct mitm_opts {
	const char *host, *dir, *listen, *port_file, *control_cert, *control_key, *real_chain, *ca_out;
	const char *attack, *rounds, *accept_on, *max_attempts, *timeout, *io_timeout;
	int json, quiet, list, insecure_no_control, insecure_untrusted_ca;
} mitm_opts;

static int parse_uint(unsigned *out, const char *opt, const char *s, unsigned min, unsigned max)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = (unsigned)v;
	return 0;
bad:
	cli_error("mitm: %s must be a whole number from %u to %u, not '%s'", opt, min, max, s);
	return -1;
}

/* "A,B,C" -> selected flags.  0 or -1 (message printed). */
static int parse_attacks(mitm_run *run, const char *list)
{
	const char *p = list;

	if (strcmp(list, "all") == 0) {
		for (int i = 0; i < MITM_NATTACKS; i++)
			run->attacks[i].selected = 1;
		return 0;
	}
	for (int i = 0; i < MITM_NATTACKS; i++)
		run->attacks[i].selected = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int id = mitm_attack_lookup(p, len);

		if (id < 0) {
			cli_error("mitm: unknown attack '%.*s' (see certpin mitm --list-attacks)", (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		run->attacks[id].selected = 1;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Numeric "IPv4:PORT" or "[IPv6]:PORT".  0 or -1 (message printed). */
static int parse_listen(struct sockaddr_storage *ss, socklen_t *sl, const char *arg)
{
	char addr[64];
	const char *colon, *port;
	unsigned p;

	memset(ss, 0, sizeof(*ss));
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':' || (size_t)(close - arg - 1) >= sizeof(addr))
			goto bad;
		memcpy(addr, arg + 1, (size_t)(close - arg - 1));
		addr[close - arg - 1] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || (size_t)(colon - arg) >= sizeof(addr) || memchr(arg, ':', (size_t)(colon - arg)))
			goto bad;
		memcpy(addr, arg, (size_t)(colon - arg));
		addr[colon - arg] = '\0';
		port = colon + 1;
	}
	if (port[0] == '\0' || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
		goto bad;
	p = (unsigned)strtoul(port, NULL, 10);
	if (p > 65535)
		goto bad;
	if (arg[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*sl = sizeof(*s4);
	}
	return 0;
bad:
	cli_error("mitm: --listen needs a numeric ADDR:PORT or [IPv6]:PORT, not '%s'", arg);
	return -1;
}

static void addr_string(char *out, size_t outlen, const struct sockaddr *sa)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, outlen, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* ---- the harness ----------------------------------------------------------------- */

typedef enum conn_state { ST_FREE = 0, ST_HANDSHAKE, ST_READ, ST_DRAIN } conn_state;

typedef struct harness harness;

typedef struct conn {
	conn_state state;
	int fd;
	SSL *ssl;
	size_t rec;                 /* index of the attempt in run->attempts */
	size_t slot;                /* schedule slot of its attack (if the attempt has one) */
	int recorded;               /* verdict set */
	int cert_failed;            /* the attack's certificate could not be installed */
	int harness_failed;         /* the harness ended the handshake (it could not present the attack) */
	int no_slot;                /* its ClientHello came when every scheduled attack was taken */
	int64_t start_ms, deadline_ms;
	short events;
	size_t drained;
	harness *h;
} conn;

/* State of a schedule slot. */
enum { SLOT_PENDING = 0, SLOT_DEFERRED, SLOT_BUSY, SLOT_DONE };

struct harness {
	mitm_run *run;
	mitm_pki *pki;
	SSL_CTX *ctx;
	int lfd;
	conn conns[MITM_MAX_CONNS];
	int nactive;
	int *schedule;              /* attack of each slot: runnable attacks in catalog order, per round */
	unsigned char *slot;        /* SLOT_* of each slot */
	size_t schedule_len, per_round, pending, finished; /* pending: PENDING or DEFERRED slots */
	unsigned conns_total, max_attempts, io_timeout_ms;
	int accept_on_handshake, quiet, oom;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static mitm_attempt *rec_of(const conn *c)
{
	return &c->h->run->attempts[c->rec];
}

/* The OpenSSL reason for the last failure (or an errno text) into t->error; clears the queue. */
static void note_error(mitm_attempt *t, int sslerr, int saved_errno)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (!t->error[0]) {
		if (r)
			snprintf(t->error, sizeof(t->error), "%s", r);
		else if (sslerr == SSL_ERROR_SYSCALL && saved_errno)
			snprintf(t->error, sizeof(t->error), "%s", strerror(saved_errno));
		else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN)
			snprintf(t->error, sizeof(t->error), "connection closed");
	}
	ERR_clear_error();
}

static void record(conn *c, mitm_verdict v, mitm_stage stage, const char *fmt, ...) CLI_PRINTF(4, 5);

static void record(conn *c, mitm_verdict v, mitm_stage stage, const char *fmt, ...)
{
	harness *h = c->h;
	mitm_attempt *t = rec_of(c);
	va_list ap;

	if (c->recorded)
		return;
	c->recorded = 1;
	if (t->attack < 0 || c->cert_failed || c->harness_failed)
		v = MITM_V_UNSCORED;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
	/* A verdict for another name (or none) says nothing about the host-name checks. */
	if (t->attack >= 0 && !t->sni_ok && (v == MITM_V_ACCEPTED || v == MITM_V_REFUSED)) {
		char what[sizeof(t->reason)];

		snprintf(what, sizeof(what), "%s", t->reason);
		if (t->have_sni)
			snprintf(t->reason, sizeof(t->reason), "SNI \"%.60s\" is not %.60s (%s: %.90s); "
				"presented again", t->sni, h->run->host, v == MITM_V_ACCEPTED ? "accepted" : "refused", what);
		else
			snprintf(t->reason, sizeof(t->reason), "sent no SNI, so it may not check %.60s (%s: %.90s); "
				"presented again", h->run->host, v == MITM_V_ACCEPTED ? "accepted" : "refused", what);
		v = MITM_V_UNSCORED;
		h->run->wrong_sni++;
	}
	t->verdict = v;
	t->stage = v == MITM_V_ACCEPTED || v == MITM_V_REFUSED ? stage : MITM_STAGE_NONE;
	if (c->ssl && t->attack >= 0)
		snprintf(t->tls_version, sizeof(t->tls_version), "%s", SSL_get_version(c->ssl));
	if (t->attack >= 0) {
		/*
		 * A verdict uses up the slot; without one the attack goes back to
		 * the schedule: at once, or behind the other slots when the harness
		 * failed (the same client would likely fail the same way).
		 */
		if (v == MITM_V_ACCEPTED || v == MITM_V_REFUSED) {
			h->slot[c->slot] = SLOT_DONE;
			h->finished++;
		} else {
			h->slot[c->slot] = c->cert_failed || c->harness_failed ? SLOT_DEFERRED : SLOT_PENDING;
			h->pending++;
		}
	}
	if (v == MITM_V_ACCEPTED || v == MITM_V_REFUSED) {
		mitm_attack_info *a = &h->run->attacks[t->attack];

		a->attempts++;
		if (v == MITM_V_ACCEPTED)
			a->accepted++;
		else
			a->refused++;
	} else {
		h->run->unscored++;
		h->run->aborted += v == MITM_V_ABORTED;
		if (t->attack >= 0) {
			h->run->attacks[t->attack].unscored++;
			h->run->attacks[t->attack].aborted += v == MITM_V_ABORTED;
		}
	}
	if (!h->quiet) {
		const char *word = v == MITM_V_UNSCORED ? "not scored" : v == MITM_V_ABORTED ? "aborted, not scored" :
			v == MITM_V_ACCEPTED ? (t->attack == MITM_CONTROL ? "accepted" : "ACCEPTED") :
			(t->attack == MITM_CONTROL ? "REFUSED" : "refused");

		fprintf(stderr, "certpin: mitm: #%u %s from %s: %s: %s\n", t->n,
			t->attack >= 0 ? mitm_attack_name(t->attack) : "(no attack)", t->peer, word, t->reason);
	}
}

static void conn_close(conn *c)
{
	if (c->state == ST_FREE)
		return;
	if (!c->recorded)
		record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "connection ended without a verdict");
	rec_of(c)->duration_ms = (unsigned)(cli_mono_ms() - c->start_ms);
	SSL_free(c->ssl);
	close(c->fd);
	ERR_clear_error();
	c->ssl = NULL;
	c->fd = -1;
	c->state = ST_FREE;
	c->h->nactive--;
}

/* ---- OpenSSL callbacks --------------------------------------------------------- */

/*
 * Alerts: the first one that is not close_notify is kept, separately for the
 * client's (its verdict) and the harness's own (a handshake the harness could
 * not complete, which says nothing about the client).
 */
static void on_info(const SSL *ssl, int where, int ret)
{
	conn *c = SSL_get_app_data(ssl);
	mitm_attempt *t;
	int desc = ret & 0xff;

	if (!c)
		return;
	t = rec_of(c);
	if ((where & SSL_CB_WRITE_ALERT) == SSL_CB_WRITE_ALERT) {
		if (desc != SSL_AD_CLOSE_NOTIFY && t->server_alert < 0) {
			t->server_alert = desc;
			snprintf(t->server_alert_text, sizeof(t->server_alert_text), "%s", SSL_alert_desc_string_long(ret));
		}
		return;
	}
	if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT)
		return;
	if (desc == SSL_AD_CLOSE_NOTIFY) {
		t->close_notify = 1;
		return;
	}
	if (t->alert < 0) {
		t->alert = desc;
		snprintf(t->alert_text, sizeof(t->alert_text), "%s", SSL_alert_desc_string_long(ret));
	}
}

/* The next slot to present: the first pending one in schedule order, else the first deferred one. */
static int next_slot(const harness *h, size_t *out)
{
	size_t deferred = h->schedule_len;

	for (size_t k = 0; k < h->schedule_len; k++) {
		if (h->slot[k] == SLOT_PENDING) {
			*out = k;
			return 1;
		}
		if (h->slot[k] == SLOT_DEFERRED && deferred == h->schedule_len)
			deferred = k;
	}
	*out = deferred;
	return deferred < h->schedule_len;
}

/*
 * After the ClientHello is parsed (also without SNI): take the next attack of
 * the schedule and install its certificate, key and chain on the connection.
 * A second ClientHello (after a HelloRetryRequest) keeps the attack.
 */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	harness *h = arg;
	conn *c = SSL_get_app_data(ssl);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const mitm_material *m;
	mitm_attempt *t;
	char norm[CERTPIN_HOSTNAME_MAX];
	size_t k;
	int id;

	if (!c || c->h != h) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	t = rec_of(c);
	if (sni) {
		t->have_sni = 1;
		mitm_sanitize(t->sni, sizeof(t->sni), (const unsigned char *)sni, strlen(sni));
		/* Case and a trailing dot do not matter; the run's host is normalized the same way. */
		t->sni_ok = certpin_hostname_normalize(norm, sizeof(norm), sni) == CERTPIN_OK &&
			strcmp(norm, h->run->host) == 0;
	}
	if (t->attack >= 0)
		return SSL_TLSEXT_ERR_OK;
	if (!next_slot(h, &k)) {
		c->no_slot = 1;
		snprintf(t->error, sizeof(t->error), "every scheduled attack was already presented");
		*alert = SSL_AD_HANDSHAKE_FAILURE;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	id = h->schedule[k];
	t->attack = id;
	t->round = (unsigned)(k / h->per_round) + 1;
	c->slot = k;
	h->slot[k] = SLOT_BUSY;
	h->pending--;
	m = &h->pki->m[id];
	if (SSL_use_cert_and_key(ssl, m->leaf, m->key, m->chain, 1) != 1) {
		c->cert_failed = 1;
		note_error(t, SSL_ERROR_SSL, 0);
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ---- connection steps ------------------------------------------------------------ */

static int looks_like_http(const unsigned char *b, size_t n)
{
	static const char *const methods[] = { "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH " };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t l = strlen(methods[i]);

		if (n >= l && memcmp(b, methods[i], l) == 0)
			return 1;
	}
	return 0;
}

/*
 * The client used the connection.  An HTTP request gets a short answer (so an
 * HTTP client completes normally and its own exit status agrees with the
 * verdict); then close_notify, and the connection drains until the client
 * closes, so that unread data does not turn the close into a reset.
 */
static void reply_and_drain(conn *c, const unsigned char *first, size_t n, int64_t now)
{
	mitm_attempt *t = rec_of(c);

	if (looks_like_http(first, n)) {
		char body[128], resp[384];
		int bl = snprintf(body, sizeof(body), "certpin mitm: intercepted by attack %s\n",
			t->attack >= 0 ? mitm_attack_name(t->attack) : "none");
		int rl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			"Content-Length: %d\r\nConnection: close\r\n\r\n%s", bl, memcmp(first, "HEAD ", 5) == 0 ? "" : body);

		ERR_clear_error();
		if (rl > 0 && rl < (int)sizeof(resp))
			(void)SSL_write(c->ssl, resp, rl);
	}
	ERR_clear_error();
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	(void)shutdown(c->fd, SHUT_WR);
	c->state = ST_DRAIN;
	c->events = POLLIN;
	c->deadline_ms = now + MITM_DRAIN_MS;
}

static void step_drain(conn *c)
{
	unsigned char buf[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0) {
			c->drained += (size_t)n;
			if (c->drained < MITM_DRAIN_BYTES)
				continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			return;
		}
		conn_close(c);
		return;
	}
}

static void step_read(conn *c, int64_t now)
{
	mitm_attempt *t = rec_of(c);
	unsigned char buf[16384];
	int n, e, saved;

	ERR_clear_error();
	errno = 0;
	n = SSL_read(c->ssl, buf, (int)sizeof(buf));
	saved = errno;
	if (n > 0) {
		if (t->app_bytes == 0)
			mitm_sanitize(t->excerpt, sizeof(t->excerpt), buf,
				(size_t)n < MITM_EXCERPT_BYTES ? (size_t)n : MITM_EXCERPT_BYTES);
		t->app_bytes += (uint64_t)n;
		record(c, MITM_V_ACCEPTED, MITM_STAGE_DATA,
			"completed the handshake and sent application data (%d bytes)", n);
		reply_and_drain(c, buf, (size_t)n, now);
		return;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return;
	}
	note_error(t, e, saved);
	if (e == SSL_ERROR_ZERO_RETURN)
		record(c, MITM_V_REFUSED, MITM_STAGE_AFTER,
			"completed the handshake, then closed (close_notify) without sending data");
	else if (t->alert >= 0)
		record(c, MITM_V_REFUSED, MITM_STAGE_AFTER,
			"completed the handshake, then sent alert \"%s\" (%d) without sending data",
			t->alert_text, t->alert);
	else
		record(c, MITM_V_REFUSED, MITM_STAGE_AFTER,
			"completed the handshake, then closed the connection without sending data (%s)",
			t->error[0] ? t->error : "closed");
	conn_close(c);
}

/*
 * The handshake ended because the client went away without an alert: end of
 * file, a reset, or OpenSSL's "unexpected eof".  Anything else without a
 * client alert is the harness's own failure (no shared cipher, no signature
 * algorithm for the attack's key, ...).
 */
static int closed_by_client(int sslerr, unsigned long liberr)
{
	return sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN ||
		(ERR_GET_LIB(liberr) == ERR_LIB_SSL && ERR_GET_REASON(liberr) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
}

static void step_handshake(conn *c, int64_t now)
{
	harness *h = c->h;
	mitm_attempt *t = rec_of(c);
	unsigned long liberr;
	int r, e, saved;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(c->ssl);
	saved = errno;
	if (r == 1) {
		t->handshake = 1;
		if (h->accept_on_handshake)
			record(c, MITM_V_ACCEPTED, MITM_STAGE_HANDSHAKE, "completed the handshake (--accept-on handshake)");
		c->state = ST_READ;
		c->deadline_ms = now + h->io_timeout_ms;
		step_read(c, now);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return;
	}
	liberr = ERR_peek_last_error();
	note_error(t, e, saved);
	if (c->cert_failed) {
		record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "server could not present the attack: its certificate "
			"could not be used (%s); presented again later", t->error);
	} else if (c->no_slot) {
		record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "sent a ClientHello while every scheduled attack was "
			"taken by other connections; refused by the harness");
	} else if (t->attack < 0) {
		if (BIO_number_read(SSL_get_rbio(c->ssl)) == 0)
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "closed the connection before sending anything");
		else
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "sent no usable TLS ClientHello (%s)",
				t->error[0] ? t->error : "closed");
	} else if (t->alert >= 0) {
		record(c, MITM_V_REFUSED, MITM_STAGE_HANDSHAKE, "aborted the handshake with alert \"%s\" (%d)",
			t->alert_text, t->alert);
	} else if (closed_by_client(e, liberr)) {
		record(c, MITM_V_ABORTED, MITM_STAGE_NONE, "closed the connection during the handshake without an "
			"alert (%s); presented again", t->error[0] ? t->error : "closed");
	} else {
		c->harness_failed = 1;
		if (t->server_alert >= 0)
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "server could not present the attack: %s (it sent "
				"alert \"%s\" (%d)); presented again later", t->error[0] ? t->error : "handshake failure",
				t->server_alert_text, t->server_alert);
		else
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "server could not present the attack: %s; "
				"presented again later", t->error[0] ? t->error : "handshake failure");
	}
	conn_close(c);
}

static void step_timeout(conn *c)
{
	harness *h = c->h;
	mitm_attempt *t = rec_of(c);

	switch (c->state) {
	case ST_HANDSHAKE:
		if (t->attack < 0)
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "sent no ClientHello within %u ms", h->io_timeout_ms);
		else
			record(c, MITM_V_ABORTED, MITM_STAGE_NONE, "did not complete the handshake within %u ms and "
				"sent no alert; presented again", h->io_timeout_ms);
		break;
	case ST_READ:
		record(c, MITM_V_ACCEPTED, MITM_STAGE_IDLE, "completed the handshake and kept the connection open "
			"%u ms without sending data (counted as accepted: it did not reject the certificate)",
			h->io_timeout_ms);
		break;
	default:
		break;
	}
	conn_close(c);
}

static void step(conn *c, int64_t now)
{
	switch (c->state) {
	case ST_HANDSHAKE:
		step_handshake(c, now);
		break;
	case ST_READ:
		step_read(c, now);
		break;
	case ST_DRAIN:
		step_drain(c);
		break;
	case ST_FREE:
		break;
	}
}

/* Accept what the listen queue holds, within the limits. */
static void accept_new(harness *h, int64_t now)
{
	for (int k = 0; k < MITM_MAX_CONNS && h->nactive < MITM_MAX_CONNS && h->conns_total < h->max_attempts; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		conn *c = NULL;
		mitm_attempt *t;
		int fd, flags;

		fd = accept(h->lfd, (struct sockaddr *)&ss, &sl);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;  /* EAGAIN, or out of descriptors: retry on the next round */
		}
		flags = fcntl(fd, F_GETFL, 0);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			close(fd);
			continue;
		}
		for (int i = 0; i < MITM_MAX_CONNS; i++) {
			if (h->conns[i].state == ST_FREE) {
				c = &h->conns[i];
				break;
			}
		}
		t = c ? mitm_run_add_attempt(h->run) : NULL;
		if (!t) {
			close(fd);
			h->oom = 1;
			return;
		}
		h->conns_total++;
		memset(c, 0, sizeof(*c));
		c->h = h;
		c->fd = fd;
		c->rec = h->run->nattempts - 1;
		c->start_ms = now;
		c->deadline_ms = now + h->io_timeout_ms;
		c->events = POLLIN;
		c->state = ST_HANDSHAKE;
		h->nactive++;
		t->started = (int64_t)time(NULL);
		addr_string(t->peer, sizeof(t->peer), (struct sockaddr *)&ss);
		c->ssl = SSL_new(h->ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1 || SSL_set_app_data(c->ssl, c) != 1) {
			snprintf(t->error, sizeof(t->error), "cannot create a TLS connection");
			ERR_clear_error();
			conn_close(c);
			h->oom = 1;
			return;
		}
		SSL_set_accept_state(c->ssl);
	}
}

/* Why the run should stop now, or NULL. */
static const char *stop_reason(const harness *h, int64_t now, int64_t end)
{
	if (stop_signal)
		return "signal";
	if (h->oom)
		return "out-of-memory";
	if (now >= end)
		return "timeout";
	if (h->finished >= h->schedule_len) {
		/* Let the last clients read their replies. */
		for (int i = 0; i < MITM_MAX_CONNS; i++)
			if (h->conns[i].state == ST_DRAIN)
				return NULL;
		return "completed";
	}
	if (h->conns_total >= h->max_attempts && h->nactive == 0)
		return "max-attempts";
	return NULL;
}

static void run_loop(harness *h, unsigned timeout_s)
{
	int64_t now = cli_mono_ms(), end = now + (int64_t)timeout_s * 1000;
	const char *why;

	while ((why = stop_reason(h, now, end)) == NULL) {
		struct pollfd pfd[MITM_MAX_CONNS + 1];
		conn *who[MITM_MAX_CONNS + 1];
		int64_t wait = end - now;
		nfds_t n = 0;
		int rc;

		if (h->nactive < MITM_MAX_CONNS && h->conns_total < h->max_attempts && h->pending > 0) {
			pfd[n].fd = h->lfd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			who[n++] = NULL;
		}
		for (int i = 0; i < MITM_MAX_CONNS; i++) {
			conn *c = &h->conns[i];

			if (c->state == ST_FREE)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = c->events;
			pfd[n].revents = 0;
			who[n++] = c;
			if (c->deadline_ms - now < wait)
				wait = c->deadline_ms - now;
		}
		if (wait > MITM_POLL_MS)
			wait = MITM_POLL_MS;
		if (wait < 0)
			wait = 0;
		rc = poll(pfd, n, (int)wait);
		now = cli_mono_ms();
		if (rc < 0 && errno != EINTR) {
			cli_error("mitm: poll: %s", strerror(errno));
			h->oom = 1;
			break;
		}
		for (nfds_t i = 0; rc > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (who[i])
				step(who[i], now);
			else
				accept_new(h, now);
		}
		for (int i = 0; i < MITM_MAX_CONNS; i++) {
			conn *c = &h->conns[i];

			if (c->state != ST_FREE && now >= c->deadline_ms)
				step_timeout(c);
		}
	}
	if (!why)
		why = "error";
	snprintf(h->run->stop_reason, sizeof(h->run->stop_reason), "%s", why);
	for (int i = 0; i < MITM_MAX_CONNS; i++) {
		conn *c = &h->conns[i];

		if (c->state != ST_FREE) {
			record(c, MITM_V_UNSCORED, MITM_STAGE_NONE, "cut short: the harness stopped (%s)", why);
			conn_close(c);
		}
	}
}

/* ---- setup -------------------------------------------------------------------------- */

static SSL_CTX *server_ctx(harness *h)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	/* The attacker's server: the weak-key leaf must be usable. */
	SSL_CTX_set_security_level(ctx, 0);
	/* No resumption: every connection shows its own certificate. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
		goto err;
	SSL_CTX_set_info_callback(ctx, on_info);
	if (SSL_CTX_set_tlsext_servername_callback(ctx, on_servername) != 1 ||
			SSL_CTX_set_tlsext_servername_arg(ctx, h) != 1)
		goto err;
	return ctx;
err:
	SSL_CTX_free(ctx);
	return NULL;
}

static int listen_on(harness *h, const struct sockaddr_storage *ss, socklen_t sl, const char *arg)
{
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM, 0);

	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
			bind(fd, (const struct sockaddr *)ss, sl) < 0 || listen(fd, MITM_MAX_CONNS) < 0 ||
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) < 0 ||
			getsockname(fd, (struct sockaddr *)&bound, &bl) < 0) {
		cli_error("mitm: cannot listen on %s: %s", arg, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	h->lfd = fd;
	addr_string(h->run->listen, sizeof(h->run->listen), (struct sockaddr *)&bound);
	return 0;
}

static unsigned bound_port(const char *listen)
{
	const char *colon = strrchr(listen, ':');

	return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

/*
 * The port file is written via a temporary file and rename(), so readers
 * never see a partial file.  The temporary file is opened before anything is
 * generated (an unwritable path is found at once) and written once listening.
 */
typedef struct port_file {
	const char *path;
	char tmp[4096];
	int fd;
} port_file;

static int port_file_open(port_file *pf, const char *path, char *err, size_t errlen)
{
	struct stat st;

	pf->path = path;
	pf->fd = -1;
	if (snprintf(pf->tmp, sizeof(pf->tmp), "%s.tmp", path) >= (int)sizeof(pf->tmp)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	/* rename() would replace a symlink but fail on a directory: say so now. */
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(EISDIR));
		return -1;
	}
	pf->fd = open(pf->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (pf->fd < 0) {
		snprintf(err, errlen, "cannot write %.400s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Write the port and move the file in place; the descriptor is closed in any case.  0 or -1 with errno. */
static int port_file_write(port_file *pf, unsigned port)
{
	FILE *f = fdopen(pf->fd, "w");
	int saved;

	if (!f) {
		saved = errno;
		close(pf->fd);
		pf->fd = -1;
		errno = saved;
		return -1;
	}
	pf->fd = -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(pf->tmp, pf->path) != 0) {
		saved = errno;
		remove(pf->tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Drop a temporary file that was never moved in place. */
static void port_file_abandon(port_file *pf)
{
	if (pf->fd >= 0) {
		close(pf->fd);
		pf->fd = -1;
		remove(pf->tmp);
	}
}

static int write_reports(const mitm_run *run)
{
	char path[1100];
	json_t *j;
	FILE *f;
	int fd, bad, rc = 0;

	snprintf(path, sizeof(path), "%s/report.json", run->dir);
	j = mitm_report_json(run);
	fd = j ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF) {
		cli_error("mitm: cannot write %s", path);
		rc = -1;
	}
	if (f ? fclose(f) != 0 : (fd >= 0 && close(fd) != 0))
		rc = -1;
	json_decref(j);

	snprintf(path, sizeof(path), "%s/report.html", run->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		cli_error("mitm: cannot write %s", path);
		return -1;
	}
	bad = mitm_report_html(f, run) != 0;
	if (fclose(f) != 0 || bad) {
		cli_error("mitm: cannot write %s", path);
		rc = -1;
	}
	return rc;
}

static int list_attacks(void)
{
	for (int i = 0; i < MITM_NATTACKS; i++)
		printf("%-18s %s\n", mitm_attack_name(i), mitm_attack_summary(i));
	return CLI_EXIT_OK;
}

/* Check option values that need no file; fills `run`.  0 or CLI_EXIT_USAGE (message printed). */
static int check_opts(mitm_run *run, const mitm_opts *o, unsigned *max_attempts, unsigned *timeout_s)
{
	char norm[CERTPIN_HOSTNAME_MAX];

	if (!o->host || !o->dir) {
		cli_error("mitm: --host NAME and --dir DIR are required (see certpin help mitm)");
		return CLI_EXIT_USAGE;
	}
	if (certpin_hostname_normalize(norm, sizeof(norm), o->host) != CERTPIN_OK || cli_is_ip_literal(norm) ||
			strchr(norm, ':')) {
		cli_error("mitm: --host must be a DNS host name, not '%s'", o->host);
		return CLI_EXIT_USAGE;
	}
	if (strlen(o->dir) >= sizeof(run->dir) - 32) {
		cli_error("mitm: --dir path is too long");
		return CLI_EXIT_USAGE;
	}
	if (!o->control_cert != !o->control_key) {
		cli_error("mitm: --control-cert and --control-key go together");
		return CLI_EXIT_USAGE;
	}
	snprintf(run->host, sizeof(run->host), "%s", norm);
	snprintf(run->dir, sizeof(run->dir), "%s", o->dir);
	run->rounds = 1;
	run->io_timeout_ms = 5000;
	*max_attempts = 1000;
	*timeout_s = 300;
	if ((o->rounds && parse_uint(&run->rounds, "--rounds", o->rounds, 1, 1000) != 0) ||
			(o->io_timeout && parse_uint(&run->io_timeout_ms, "--io-timeout", o->io_timeout, 100, 600000) != 0) ||
			(o->max_attempts && parse_uint(max_attempts, "--max-attempts", o->max_attempts, 1, 10000) != 0) ||
			(o->timeout && parse_uint(timeout_s, "--timeout", o->timeout, 1, 86400) != 0))
		return CLI_EXIT_USAGE;
	if (!o->accept_on || strcmp(o->accept_on, "data") == 0) {
		run->accept_on = "data";
	} else if (strcmp(o->accept_on, "handshake") == 0) {
		run->accept_on = "handshake";
	} else {
		cli_error("mitm: --accept-on must be data or handshake, not '%s'", o->accept_on);
		return CLI_EXIT_USAGE;
	}
	if (parse_attacks(run, o->attack ? o->attack : "all") != 0)
		return CLI_EXIT_USAGE;
	return 0;
}

/* What a run opens before it generates anything, and undoes if it fails. */
typedef struct mitm_files {
	port_file pf;
	int ca_fd;                  /* --ca-out, opened early, written once the CA exists */
	int ca_created;
	int have_signals;
	struct sigaction old_int, old_term;
} mitm_files;

/* What can fail in the environment is checked before anything is generated in DIR.  0 or CLI_EXIT_USAGE. */
static int open_early(harness *h, mitm_files *mf, const mitm_opts *o, struct sockaddr_storage *ss, socklen_t sl)
{
	char err[512];

	if (listen_on(h, ss, sl, o->listen ? o->listen : "127.0.0.1:0") != 0)
		return CLI_EXIT_USAGE;
	if (o->ca_out && (mf->ca_fd = mitm_open_later(o->ca_out, &mf->ca_created, err, sizeof(err))) < 0) {
		cli_error("mitm: %s", err);
		return CLI_EXIT_USAGE;
	}
	if (o->port_file && port_file_open(&mf->pf, o->port_file, err, sizeof(err)) != 0) {
		cli_error("mitm: %s", err);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The keys and certificates in DIR, and what they make of the run (warnings); --ca-out written.  0 or an exit status. */
static int setup_pki(mitm_pki *pki, mitm_run *run, mitm_files *mf, const mitm_opts *o)
{
	mitm_pki_options po;
	char err[512], note[512];
	int status, rc;

	memset(&po, 0, sizeof(po));
	po.dir = o->dir;
	po.host = run->host;
	po.control_cert = o->control_cert;
	po.control_key = o->control_key;
	po.real_chain = o->real_chain;
	po.now = (int64_t)time(NULL);
	if ((status = mitm_pki_setup(pki, run, &po, err, sizeof(err))) != 0) {
		cli_error("mitm: %s", err);
		return status;
	}
	for (int i = 0; i < MITM_NATTACKS; i++)
		if (run->attacks[i].selected && !run->attacks[i].runnable)
			cli_warn("mitm: attack %s not run: %s", mitm_attack_name(i), run->attacks[i].skip);
	if (!run->attacks[MITM_CONTROL].runnable) {
		if (run->insecure_no_control)
			cli_warn("mitm: --insecure-no-control: no control case, and the run may pass anyway: a client "
				"that refuses every connection passes");
		else
			cli_warn("mitm: no control case: refusals cannot be told apart from a client that fails every "
				"connection; the result will be inconclusive (give --control-cert and --control-key)");
	}
	if (run->insecure_untrusted_ca)
		cli_warn("mitm: --insecure-untrusted-rogue-ca: a client that does not trust the rogue CA may pass "
			"without any pinning");
	if (run->attacks[MITM_WILDCARD_TOO_DEEP].selected &&
			mitm_attack_note(run, MITM_WILDCARD_TOO_DEEP, note, sizeof(note)))
		cli_warn("mitm: wildcard-too-deep: %s", note);
	if (mf->ca_fd < 0)
		return 0;
	rc = mitm_write_cert_fd(mf->ca_fd, o->ca_out, pki->ca, err, sizeof(err));
	mf->ca_fd = -1;
	mf->ca_created = 0;
	if (rc != 0) {
		cli_error("mitm: %s", err);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The schedule: runnable attacks in catalog order, --rounds times.  0 or an exit status. */
static int make_schedule(harness *h, const mitm_run *run)
{
	for (int i = 0; i < MITM_NATTACKS; i++)
		h->per_round += run->attacks[i].runnable ? 1 : 0;
	if (h->per_round == 0) {
		cli_error("mitm: none of the selected attacks can run");
		return CLI_EXIT_USAGE;
	}
	h->schedule_len = h->per_round * run->rounds;
	if (!(h->schedule = calloc(h->schedule_len, sizeof(*h->schedule))) ||
			!(h->slot = calloc(h->schedule_len, sizeof(*h->slot)))) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t k = 0, r = 0; r < run->rounds; r++)
		for (int i = 0; i < MITM_NATTACKS; i++)
			if (run->attacks[i].runnable)
				h->schedule[k++] = i;
	h->pending = h->schedule_len;
	if (h->schedule_len > h->max_attempts)
		cli_warn("mitm: %zu attempts are scheduled (%zu attacks x %u rounds) but --max-attempts is %u: "
			"the run cannot complete and will be inconclusive", h->schedule_len, h->per_round, run->rounds,
			h->max_attempts);
	return 0;
}

/*
 * Serve the attacks until the schedule is done, --max-attempts, --timeout or
 * a signal (from here on one ends the run cleanly, with reports; the
 * handlers stay until the caller is done).  0 or an exit status.
 */
static int serve(harness *h, mitm_files *mf, const mitm_opts *o, unsigned timeout_s)
{
	mitm_run *run = h->run;
	struct sigaction sa;
	char note[512];

	if (!(h->ctx = server_ctx(h))) {
		cli_error("mitm: cannot set up the TLS server");
		ERR_clear_error();
		return CLI_EXIT_INTERNAL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	if (sigaction(SIGINT, &sa, &mf->old_int) != 0 || sigaction(SIGTERM, &sa, &mf->old_term) != 0) {
		cli_error("mitm: cannot install signal handlers: %s", strerror(errno));
		return CLI_EXIT_INTERNAL;
	}
	mf->have_signals = 1;
	if (mf->pf.fd >= 0 && port_file_write(&mf->pf, bound_port(run->listen)) != 0) {
		cli_error("mitm: cannot write %s: %s", o->port_file, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	if (!o->quiet)
		fprintf(stderr, "certpin: mitm: listening on %s for %s; %zu attempts scheduled; rogue CA %s%s\n",
			run->listen, run->host, h->schedule_len, h->pki->ca_file, h->pki->ca_reused ? " (reused)" : " (new)");
	fflush(stderr);
	run->started = (int64_t)time(NULL);
	run_loop(h, timeout_s);
	run->finished = (int64_t)time(NULL);
	if (!o->quiet && stop_signal)
		fprintf(stderr, "certpin: mitm: stopped by signal %d; writing the reports\n", (int)stop_signal);
	for (int i = 0; i < MITM_NATTACKS; i++)
		if (i != MITM_WILDCARD_TOO_DEEP && mitm_attack_note(run, i, note, sizeof(note))) {
			cli_warn("mitm: %s %s", mitm_attack_name(i), note);
			break;
		}
	return 0;
}

/* The scorecard: DIR/report.json and report.html, and text or JSON on stdout.  The run's exit status. */
static int scorecard(const mitm_run *run, int json)
{
	mitm_summary sum;
	int status;

	mitm_summarize(&sum, run);
	status = sum.exit_code;
	if (write_reports(run) != 0)
		status = CLI_EXIT_INTERNAL;
	if (json) {
		if (cli_json_print(mitm_report_json(run)) != 0) {
			cli_error("cannot write JSON output");
			status = CLI_EXIT_INTERNAL;
		}
	} else if (mitm_report_text(stdout, run) != 0) {
		status = CLI_EXIT_INTERNAL;
	} else {
		printf("reports: %s/report.json, %s/report.html\n", run->dir, run->dir);
	}
	if (fflush(stdout) != 0)
		status = CLI_EXIT_INTERNAL;
	if (strcmp(run->stop_reason, "out-of-memory") == 0 || strcmp(run->stop_reason, "error") == 0)
		status = CLI_EXIT_INTERNAL;
	return status;
}

/* Undo what a run set up: signal handlers back, files opened early but never written not left behind. */
static void cleanup(harness *h, mitm_files *mf, const mitm_opts *o)
{
	if (mf->have_signals) {
		sigaction(SIGINT, &mf->old_int, NULL);
		sigaction(SIGTERM, &mf->old_term, NULL);
	}
	if (mf->ca_fd >= 0) {
		close(mf->ca_fd);
		if (mf->ca_created)
			unlink(o->ca_out);
	}
	port_file_abandon(&mf->pf);
	if (h->lfd >= 0)
		close(h->lfd);
	SSL_CTX_free(h->ctx);
	free(h->schedule);
	free(h->slot);
}

static int run_mitm(const mitm_opts *o)
{
	mitm_run run;
	mitm_pki pki;
	harness h;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	mitm_files mf;
	unsigned timeout_s = 0;
	int status;

	memset(&run, 0, sizeof(run));
	memset(&h, 0, sizeof(h));
	memset(&pki, 0, sizeof(pki));
	memset(&mf, 0, sizeof(mf));
	mf.pf.fd = -1;
	mf.ca_fd = -1;
	h.lfd = -1;
	h.run = &run;
	h.pki = &pki;
	status = check_opts(&run, o, &h.max_attempts, &timeout_s);
	if (status != 0)
		return status;
	if (parse_listen(&ss, &sl, o->listen ? o->listen : "127.0.0.1:0") != 0)
		return CLI_EXIT_USAGE;
	run.insecure_no_control = o->insecure_no_control;
	run.insecure_untrusted_ca = o->insecure_untrusted_ca;
	h.io_timeout_ms = run.io_timeout_ms;
	h.accept_on_handshake = strcmp(run.accept_on, "handshake") == 0;
	h.quiet = o->quiet;
	if ((status = open_early(&h, &mf, o, &ss, sl)) == 0 && (status = setup_pki(&pki, &run, &mf, o)) == 0 &&
	    (status = make_schedule(&h, &run)) == 0 && (status = serve(&h, &mf, o, timeout_s)) == 0)
		status = scorecard(&run, o->json);
	cleanup(&h, &mf, o);
	mitm_pki_free(&pki);
	mitm_run_free(&run);
	return status;
}

int cmd_mitm(int argc, char **argv)
{
	mitm_opts o;
	cli_args args;
	int status;
	const cli_opt opts[] = {
		CLI_VALUE("--host", 'H', &o.host),
		CLI_VALUE("--dir", 0, &o.dir),
		CLI_VALUE("--listen", 0, &o.listen),
		CLI_VALUE("--port-file", 0, &o.port_file),
		CLI_VALUE("--control-cert", 0, &o.control_cert),
		CLI_VALUE("--control-key", 0, &o.control_key),
		CLI_VALUE("--real-chain", 0, &o.real_chain),
		CLI_VALUE("--ca-out", 0, &o.ca_out),
		CLI_VALUE("--attack", 0, &o.attack),
		CLI_VALUE("--rounds", 0, &o.rounds),
		CLI_VALUE("--accept-on", 0, &o.accept_on),
		CLI_VALUE("--max-attempts", 0, &o.max_attempts),
		CLI_VALUE("--timeout", 't', &o.timeout),
		CLI_VALUE("--io-timeout", 0, &o.io_timeout),
		CLI_FLAG("--insecure-no-control", 0, &o.insecure_no_control),
		CLI_FLAG("--insecure-untrusted-rogue-ca", 0, &o.insecure_untrusted_ca),
		CLI_FLAG("--json", 'j', &o.json),
		CLI_FLAG("--quiet", 0, &o.quiet),
		CLI_FLAG("--list-attacks", 0, &o.list),
		CLI_OPT_END,
	};
	const cli_spec spec = { "mitm", usage_mitm, opts, 0, 0, NULL, 0 };

	memset(&o, 0, sizeof(o));
	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	return o.list ? list_attacks() : run_mitm(&o);
}
