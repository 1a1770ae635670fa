/*
 * collect_slowloris_test - valid reports keep getting 201 within 1 s while
 * 500 slow connections try to take every slot of a collector with the
 * default limits (--max-conns 256, --max-conns-per-ip 64, --request-timeout
 * 30).  Everything is on loopback: the attackers connect from 127.0.0.2 ..
 * 127.0.0.9 (62-63 connections each, under the per-address limit), send one
 * byte of a never-ending header per connection and second, and reconnect
 * whenever the collector closes them; the valid client posts from
 * 127.0.0.1, one report on a new connection every 300 ms.
 *
 * Before eviction the attackers held all 256 slots for the 30 s request
 * deadline, and a valid report waited in the listen queue until then: this
 * test failed.  The attack is bounded (ATTACK_MS at most, stopped when the
 * checks are done) and every socket is closed at the end.
 */
#include "collector.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ATTACKERS 500
#define ATTACK_ADDRS 8
#define ATTACK_MS 20000
#define VALID_REPORTS 10

typedef struct attack {
	int port;
	atomic_int stop;
	atomic_int open;            /* connections established and not closed by the server */
	atomic_long reconnects;     /* connections the server closed, replaced */
	int fd[ATTACKERS];
	int64_t last_send[ATTACKERS];
	size_t sent[ATTACKERS];
	int up[ATTACKERS];
} attack;

static const char slow_header[] = "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: "
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static int attack_connect(const attack *a, int i)
{
	struct sockaddr_in src, dst;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	char addr[32];

	if (fd < 0)
		return -1;
	snprintf(addr, sizeof(addr), "127.0.0.%d", 2 + i % ATTACK_ADDRS);
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &src.sin_addr);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)a->port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
		(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One pass over the connections: notice those the server closed, reconnect them, trickle a byte where due. */
static void attack_pass(attack *a, struct pollfd *p)
{
	int64_t now = test_now_ms();

	for (int i = 0; i < ATTACKERS; i++)
		p[i] = (struct pollfd){ a->fd[i], POLLIN | (a->up[i] ? 0 : POLLOUT), 0 };
	if (poll(p, ATTACKERS, 0) < 0)
		return;
	for (int i = 0; i < ATTACKERS; i++) {
		char b[256];
		int dead = a->fd[i] < 0;
		if (!dead && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = recv(a->fd[i], b, sizeof(b), MSG_DONTWAIT);
			dead = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
		}
		if (!dead && !a->up[i] && (p[i].revents & POLLOUT)) {
			a->up[i] = 1;
			atomic_fetch_add(&a->open, 1);
		}
		if (!dead && a->up[i] && now - a->last_send[i] >= 1000) {
			size_t k = a->sent[i] < sizeof(slow_header) - 1 ? a->sent[i] : sizeof(slow_header) - 2;
			if (send(a->fd[i], slow_header + k, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
				a->sent[i]++;
				a->last_send[i] = now;
			}
		}
		if (dead) {
			if (a->fd[i] >= 0) {
				close(a->fd[i]);
				atomic_fetch_add(&a->reconnects, 1);
			}
			if (a->up[i])
				atomic_fetch_sub(&a->open, 1);
			a->up[i] = 0;
			a->sent[i] = 0;
			a->last_send[i] = 0;
			a->fd[i] = attack_connect(a, i);
		}
	}
}

static void *attack_main(void *arg)
{
	attack *a = arg;
	struct pollfd *p = calloc(ATTACKERS, sizeof(*p));
	int64_t end = test_now_ms() + ATTACK_MS;

	for (int i = 0; i < ATTACKERS; i++)
		a->fd[i] = attack_connect(a, i);
	while (p && !atomic_load(&a->stop) && test_now_ms() < end) {
		attack_pass(a, p);
		nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
	}
	for (int i = 0; i < ATTACKERS; i++)
		if (a->fd[i] >= 0)
			close(a->fd[i]);
	free(p);
	return NULL;
}

/* Enough descriptors for the attack (500 sockets) beside the test's own. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The attack's phase: wait until its connections have filled the server (or 10 s). */
static void wait_for_attack(const attack *a, int port)
{
	int64_t until = test_now_ms() + 10000;
	while (test_now_ms() < until && atomic_load(&a->open) < 300)
		nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
	nanosleep(&(struct timespec){ 1, 0 }, NULL); /* a second of trickling: the slots are held, not just opened */
	printf("collect_slowloris_test: attack: %d connections open, %ld closed by the server and reopened, "
		"%lld evicted so far\n", atomic_load(&a->open), atomic_load(&a->reconnects),
		test_collector_stat(port, "evicted"));
}

int main(void)
{
	const char *cli;
	char dir[] = "/tmp/certpin-slowloris-XXXXXX", db[4300], cmd[4400];
	test_collector c;
	static attack a;
	pthread_t th;
	int ok = 0;

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (!(cli = test_cli()))
		return 1;
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof(db), "%s/reports.sqlite", dir);
	if (test_collector_start(&c, cli, db, dir, "c", NULL) != 0) {
		CHECK(!"collector did not start");
		return test_finish("collect_slowloris_test");
	}
	char *body = test_report_body(1);
	CHECK(body != NULL);
	CHECK_INT(test_http_post(c.port, "127.0.0.1", 5000, "/report", NULL, body, NULL, 0), 201); /* before the attack */
	a.port = c.port;
	pthread_create(&th, NULL, attack_main, &a);
	wait_for_attack(&a, c.port);
	for (int i = 0; i < VALID_REPORTS; i++) {
		free(body);
		body = test_report_body(2 + (unsigned)i);
		int64_t t0 = test_now_ms();
		int st = test_http_post(c.port, "127.0.0.1", 5000, "/report", NULL, body, NULL, 0);
		int64_t dt = test_now_ms() - t0;
		printf("collect_slowloris_test: valid report %d during the attack: %d in %lld ms\n", i + 1, st, (long long)dt);
		CHECK_INT(st, 201);
		CHECK(dt < 1000);
		ok += st == 201;
		nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	}
	long long evicted = test_collector_stat(c.port, "evicted");
	atomic_store(&a.stop, 1);
	pthread_join(th, NULL);
	printf("collect_slowloris_test: %d of %d valid reports stored during the attack; %lld connections evicted\n", ok,
		VALID_REPORTS, evicted);
	CHECK(evicted > 0);
	CHECK_INT(test_collector_stat(c.port, "stored"), 1 + ok);
	CHECK_INT(test_collector_stop(&c), 0);
	free(body);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_finish("collect_slowloris_test");
}
