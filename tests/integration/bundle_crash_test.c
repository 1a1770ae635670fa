/*
 * bundle_crash_test - crash injection for the bundle store.
 *
 * A child process signs the next PRESIGNED versions, says it is ready ("R")
 * and stores them one after the other in a state directory (alternating a
 * small policy and a ~250 KiB one, so that a torn file could not go
 * unnoticed), announcing each attempt ("A v") and each success ("D v") on a
 * pipe.  The parent kills it with SIGKILL after a random delay within the
 * time those updates take (measured at start), then checks that the stored
 * bundle still
 * loads and verifies, and that its version is either the last one known to
 * be stored (the previous bundle) or the one being stored when the child
 * died (the new bundle) -- never anything else, never nothing.  Repeated up
 * to ITERATIONS times or TIME_BUDGET_S seconds, whichever comes first.
 *
 * A kill cannot lose data that reached the page cache, so this exercises the
 * write/rename protocol, the lock being released by a dying holder and the
 * leftover temporary file; power loss (what the fsync calls are for) is not
 * simulated.
 */
#include "certpin.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The detail of the last failed bundle call. */
static certpin_error berr;

#define ITERATIONS 200
#define TIME_BUDGET_S 45
#define LARGE_HOSTS 2000
#define PRESIGNED 3
#define NOW_FAR (INT64_C(4102444800))   /* 2100-01-01: expiry of every bundle */

static char dir[256];
static char *priv, *pub;
static char *small_policy, *large_policy;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *make_policy(int hosts)
{
	size_t cap = (size_t)hosts * 128 + 128, used;
	char *s = malloc(cap);

	if (!s)
		exit(2);
	used = (size_t)snprintf(s, cap, "{\"schema\": 1, \"hosts\": [");
	for (int i = 0; i < hosts; i++) {
		used += (size_t)snprintf(s + used, cap - used,
			"%s{\"host\": \"h%d.example.com\", \"pins\": [\"sha256/%c%c%c%cAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]}",
			i ? ", " : "", i, 'A' + i % 26, 'A' + i / 26 % 26, 'A' + i / 676 % 26, 'A' + i / 17576 % 26);
	}
	snprintf(s + used, cap - used, "]}\n");
	return s;
}

static char *sign_version(uint64_t v, size_t *len)
{
	certpin_bundle_sign_options o = CERTPIN_BUNDLE_SIGN_OPTIONS_INIT;
	const char *pol = v % 2 ? small_policy : large_policy;
	char *out = NULL;

	o.bundle_version = v;
	o.issued = 1700000000;
	o.expires = NOW_FAR;
	if (certpin_bundle_sign(&out, len, pol, strlen(pol), priv, strlen(priv), &o, &berr) != CERTPIN_OK)
		return NULL;
	return out;
}

static void announce(int fd, char what, uint64_t v)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c %llu\n", what, (unsigned long long)v);

	if (write(fd, line, (size_t)n) != n)
		_exit(4);
}

/* The child: store the next PRESIGNED versions, then exit (if not killed first). */
static void child_main(int fd, const certpin_trust_anchors *anchors)
{
	char *b[PRESIGNED];
	size_t len[PRESIGNED];
	uint64_t stored = 0;

	if (certpin_bundle_stored_version(&stored, dir, &berr) != CERTPIN_OK)
		_exit(3);
	for (int i = 0; i < PRESIGNED; i++)
		if (!(b[i] = sign_version(stored + 1 + (uint64_t)i, &len[i])))
			_exit(3);
	if (write(fd, "R\n", 2) != 2)
		_exit(4);
	for (int i = 0; i < PRESIGNED; i++) {
		certpin_policy *p = NULL;
		certpin_bundle_info info;
		uint64_t v = stored + 1 + (uint64_t)i;

		announce(fd, 'A', v);
		int rc = certpin_policy_update_from_bundle(&p, &info, anchors, dir, b[i], len[i], 1800000000, &berr);
		if (rc != CERTPIN_OK) {
			fprintf(stderr, "child: update %llu: %s\n", (unsigned long long)v, berr.message);
			_exit(3);
		}
		announce(fd, 'D', v);
		certpin_policy_free(p);
	}
	_exit(0);
}

/* Wait (at most 30 s) for the child's "R\n".  0 when seen. */
static int wait_ready(int fd)
{
	char c[2];
	size_t got = 0;
	long long end = mono_ms() + 30000;

	while (got < 2 && mono_ms() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t r = read(fd, c + got, 2 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return got == 2 && c[0] == 'R' && c[1] == '\n' ? 0 : -1;
}

/* Parse the child's announcements: last attempted and last done versions. */
static void read_announcements(int fd, uint64_t *attempted, uint64_t *done)
{
	char buf[65536];
	size_t used = 0;
	ssize_t r;

	while (used < sizeof(buf) - 1 && (r = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)r;
	buf[used] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long v;
		char what;
		if (sscanf(line, "%c %llu", &what, &v) != 2)
			continue;
		if (what == 'A')
			*attempted = v;
		else if (what == 'D')
			*done = v;
	}
}

int main(void)
{
	certpin_trust_anchors *anchors = NULL;
	certpin_policy *p = NULL;
	certpin_bundle_info info;
	uint64_t known;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	long long start = mono_ms();
	int iterations = 0, in_flight = 0, landed_new = 0, landed_old = 0, bad = 0;
	char cmd[512];
	size_t len;
	char *b;

	snprintf(dir, sizeof(dir), "%s/certpin-crash-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	if (certpin_bundle_keygen(&priv, &pub) != CERTPIN_OK || certpin_trust_anchors_new(&anchors) != CERTPIN_OK ||
	    certpin_trust_anchors_add_pubkey_pem(anchors, pub, strlen(pub), &berr) != CERTPIN_OK)
		return 2;
	small_policy = make_policy(2);
	large_policy = make_policy(LARGE_HOSTS);
	fprintf(stderr, "bundle_crash_test: seed %u, large policy %zu bytes\n", seed, strlen(large_policy));

	/*
	 * A first bundle, so that "neither" can never be excused, and a second:
	 * together they time one small and one large update, which sets the
	 * range of the kill delays.
	 */
	long long update_ms = 0;
	for (uint64_t v = 1; v <= 2; v++) {
		b = sign_version(v, &len);
		CHECK(b != NULL);
		long long t0 = mono_ms();
		CHECK_INT(certpin_policy_update_from_bundle(&p, &info, anchors, dir, b, len, 1800000000, &berr), CERTPIN_OK);
		update_ms += mono_ms() - t0;
		certpin_policy_free(p);
		free(b);
	}
	known = 2;
	long max_delay_us = (long)(update_ms + 1) * 1000L * PRESIGNED / 2;
	fprintf(stderr, "bundle_crash_test: small+large update %lld ms, kill delays up to %ld us\n", update_ms,
		max_delay_us);

	while (iterations < ITERATIONS && mono_ms() - start < TIME_BUDGET_S * 1000LL) {
		int fds[2], status = 0;
		uint64_t attempted = 0, done = 0;
		pid_t pid;

		if (pipe(fds) != 0) {
			CHECK(0);
			break;
		}
		pid = fork();
		if (pid < 0) {
			CHECK(0);
			close(fds[0]);
			close(fds[1]);
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			child_main(fds[1], anchors);
		}
		close(fds[1]);
		if (wait_ready(fds[0]) != 0) {
			fprintf(stderr, "iteration %d: child not ready\n", iterations);
			bad++;
		}
		long us = (long)(rand_r(&seed) % (unsigned long)max_delay_us);
		struct timespec ts = { us / 1000000L, (us % 1000000L) * 1000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) != pid) {
			CHECK(0);
			close(fds[0]);
			break;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			fprintf(stderr, "iteration %d: child failed with status %d\n", iterations, WEXITSTATUS(status));
			bad++;
		}
		read_announcements(fds[0], &attempted, &done);
		close(fds[0]);
		if (done > known)
			known = done;

		/* the state must load and be the previous or the new bundle */
		p = NULL;
		int rc = certpin_bundle_load_state(&p, &info, anchors, dir, 1800000000, &berr);
		if (rc != CERTPIN_OK) {
			fprintf(stderr, "iteration %d: stored bundle unusable: %s (%s)\n", iterations,
				certpin_strerror(rc), berr.message);
			bad++;
			break;
		}
		uint64_t v = info.bundle_version;
		size_t want_hosts = v % 2 ? 2 : LARGE_HOSTS;
		if (certpin_policy_host_count(p) != want_hosts) {
			fprintf(stderr, "iteration %d: version %llu has %zu hosts\n", iterations,
				(unsigned long long)v, certpin_policy_host_count(p));
			bad++;
		}
		certpin_policy_free(p);
		if (attempted > done) {
			in_flight++;
			if (v == attempted)
				landed_new++;
			else if (v == known)
				landed_old++;
		}
		if (v != known && !(attempted > known && v == attempted)) {
			fprintf(stderr, "iteration %d: stored version %llu, expected %llu or %llu\n", iterations,
				(unsigned long long)v, (unsigned long long)known, (unsigned long long)attempted);
			bad++;
		}
		known = v;
		iterations++;
	}
	CHECK_INT(bad, 0);
	CHECK(iterations >= 20);
	/* the kills must actually have hit stores in progress, or this tested nothing */
	CHECK(in_flight > 0);
	printf("bundle_crash_test: %d kills in %.1f s, %d during an update (%d left the new bundle, %d the previous), "
		"final version %llu\n", iterations, (double)(mono_ms() - start) / 1000.0, in_flight, landed_new,
		landed_old, (unsigned long long)known);

	/* after all that, a normal update still works (leftover temporary file included) */
	b = sign_version(known + 1, &len);
	CHECK_INT(certpin_policy_update_from_bundle(&p, &info, anchors, dir, b, len, 1800000000, &berr), CERTPIN_OK);
	certpin_policy_free(p);
	free(b);

	certpin_trust_anchors_free(anchors);
	free(priv);
	free(pub);
	free(small_policy);
	free(large_policy);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bundle_crash_test: could not remove %s\n", dir);
	return test_finish("bundle_crash_test");
}
