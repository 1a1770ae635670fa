/* collectproc.c - "certpin collect" as a child process (collectproc.h). */
#include "collectproc.h"

#include "certpin.h"
#include "certpin/report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(unsigned int ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void test_cproc_cli(char *out, size_t n)
{
	const char *env = getenv("CERTPIN");
	char self[4096];
	ssize_t len;

	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[len > 0 ? len : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, n, "%s/../certpin", self);
}

int test_cproc_start(test_cproc *c, const char *cli, const char *dir, const char *tag, const char *db,
	const char *const *extra)
{
	char portfile[4200], out[4200];
	const char *argv[48] = { cli, "collect", "--db", db, "--listen", "127.0.0.1:0", "--port-file", portfile,
		"--duration", "300" }; /* bounded even if the test dies */
	int n = 10;
	posix_spawn_file_actions_t fa;

	memset(c, 0, sizeof(*c));
	snprintf(portfile, sizeof(portfile), "%s/%s.port", dir, tag);
	snprintf(out, sizeof(out), "%s/%s.out", dir, tag);
	snprintf(c->err, sizeof(c->err), "%s/%s.err", dir, tag);
	unlink(portfile);
	for (int i = 0; extra && extra[i] && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, c->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = posix_spawn(&c->pid, cli, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "cannot run %s: %s\n", cli, strerror(rc));
		return -1;
	}
	for (int i = 0; i < 300; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &c->port) == 1;
			fclose(f);
			if (ok && c->port > 0)
				return 0;
		}
		if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
			fprintf(stderr, "collector %s exited early (see %s)\n", tag, c->err);
			c->pid = 0;
			return -1;
		}
		nap_ms(50);
	}
	fprintf(stderr, "collector %s did not start in 15 s\n", tag);
	test_cproc_kill(c);
	return -1;
}

int test_cproc_stop(test_cproc *c)
{
	int st = 0;

	if (c->pid <= 0)
		return -1;
	kill(c->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		nap_ms(50);
	}
	test_cproc_kill(c);
	return -1;
}

void test_cproc_kill(test_cproc *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

/* Send all of `buf`, read the reply into `resp` until the server closes or `deadline`; the HTTP status or -1. */
static int exchange(int fd, const char *buf, size_t len, int64_t deadline, char *resp, size_t cap)
{
	size_t have = 0, off = 0;
	int status = -1;

	while (mono_ms() < deadline && have + 1 < cap) {
		struct pollfd p = { fd, (short)(off < len ? POLLOUT : POLLIN), 0 };
		if (poll(&p, 1, (int)(deadline - mono_ms())) <= 0)
			break;
		if (off < len) {
			ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
			continue;
		}
		ssize_t r = recv(fd, resp + have, cap - 1 - have, 0);
		if (r <= 0)
			break; /* Connection: close -- the whole reply is in */
		have += (size_t)r;
	}
	resp[have] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	return status;
}

/* A non-blocking TCP connection to 127.0.0.1:port from `src` (NULL: any), being set up; -1 on error. */
static int connect_from(int port, const char *src)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (src && (inet_pton(AF_INET, src, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)) {
		close(fd);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int test_post_report(int port, const char *src, const char *body, const char *idem_key, int timeout_ms)
{
	size_t n = strlen(body) + (idem_key ? strlen(idem_key) : 0) + 256;
	char *req = malloc(n), resp[2048];
	int fd = connect_from(port, src), status = -1;

	if (req && fd >= 0) {
		int len = snprintf(req, n, "POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			"%s%s%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", idem_key ? "Idempotency-Key: \"" : "",
			idem_key ? idem_key : "", idem_key ? "\"\r\n" : "", strlen(body), body);
		status = exchange(fd, req, (size_t)len, mono_ms() + timeout_ms, resp, sizeof(resp));
	}
	if (fd >= 0)
		close(fd);
	free(req);
	return status;
}

long long test_cproc_stat(int port, const char *key)
{
	static const char req[] = "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	int fd = connect_from(port, NULL);
	char resp[4096], k[64];
	long long v = -1;

	if (fd < 0)
		return -1;
	if (exchange(fd, req, sizeof(req) - 1, mono_ms() + 10000, resp, sizeof(resp)) == 200) {
		snprintf(k, sizeof(k), "\"%s\":", key);
		const char *at = strstr(resp, k);
		if (at)
			v = atoll(at + strlen(k));
	}
	close(fd);
	return v;
}

static char *template_json;
static pthread_once_t template_once = PTHREAD_ONCE_INIT;

static void make_template(void)
{
	certpin_policy *p = NULL;
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 1 } };
	certpin_chain_elem e[2];
	certpin_report_cert certs[2];
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;

	memset(e, 0, sizeof(e));
	memset(certs, 0, sizeof(certs));
	ho.pattern = "api.example.com";
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK ||
		certpin_policy_add_pin(p, "api.example.com", &pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		goto out;
	for (int i = 0; i < 2; i++) {
		e[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(e[i].spki_sha256, 0x30 + i, 32);
		memset(e[i].cert_sha256, 0x40 + i, 32);
		certs[i].digests = e[i];
	}
	if (certpin_verify(&res, p, "api.example.com", e, 2, (int64_t)time(NULL)) != CERTPIN_E_PIN_MISMATCH)
		goto out;
	in.policy = p;
	in.result = &res;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.port = 1;
	in.served = certs;
	in.nserved = 2;
	if (certpin_report_build(&template_json, &in) != CERTPIN_OK)
		template_json = NULL;
out:
	certpin_policy_free(p);
}

char *test_report_body(unsigned int n)
{
	pthread_once(&template_once, make_template);
	const char *at = template_json ? strstr(template_json, "\"port\":1,") : NULL;
	if (!at)
		return NULL;
	size_t len = strlen(template_json) + 16;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%.*s\"port\":%u,%s", (int)(at - template_json), template_json, n, at + 9);
	return out;
}
