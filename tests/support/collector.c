/* collector.c - "certpin collect" as a child process, and HTTP to it (collector.h). */
#include "collector.h"
#include "test.h"

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
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

int64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_sleep_ms(unsigned int ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

const char *test_cli(void)
{
	static char cli[4200];
	const char *env = getenv("CERTPIN");
	char self[4096];

	if (env && *env) {
		snprintf(cli, sizeof(cli), "%s", env);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(cli, sizeof(cli), "%s/../certpin", self);
	}
	if (access(cli, X_OK) == 0)
		return cli;
	fprintf(stderr, "the certpin CLI %s was not found\n", cli);
	return NULL;
}

/* Wait up to 15 s for the port file; 0, or -1 (the collector stopped, or was killed). */
static int wait_port(test_collector *c, const char *portfile)
{
	for (int i = 0; i < 300; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &c->port) == 1;
			fclose(f);
			if (ok && c->port > 0)
				return 0;
		}
		if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
			char *e = test_read_file(c->err, NULL);
			fprintf(stderr, "collector exited early; stderr:\n%s", e);
			free(e);
			c->pid = 0;
			return -1;
		}
		test_sleep_ms(50);
	}
	fprintf(stderr, "collector did not start in 15 s\n");
	test_collector_kill(c);
	return -1;
}

int test_collector_start(test_collector *c, const char *cli, const char *db_spec, const char *dir, const char *tag,
	const char *const *extra)
{
	char portfile[4200];
	const char *argv[48] = { cli, "collect", "--db", db_spec, "--listen", "127.0.0.1:0", "--port-file", portfile,
		"--duration", "600" };   /* bounded even if the test dies */
	int n = 10, rc;
	posix_spawn_file_actions_t fa;

	memset(c, 0, sizeof(*c));
	snprintf(portfile, sizeof(portfile), "%s/%s.port", dir, tag);
	snprintf(c->out, sizeof(c->out), "%s/%s.out", dir, tag);
	snprintf(c->err, sizeof(c->err), "%s/%s.err", dir, tag);
	unlink(portfile);
	for (int i = 0; extra && extra[i] && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, c->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = posix_spawn(&c->pid, cli, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "cannot run %s: %s\n", cli, strerror(rc));
		return -1;
	}
	return wait_port(c, portfile);
}

int test_collector_stop(test_collector *c)
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
		test_sleep_ms(50);
	}
	test_collector_kill(c);
	return -1;
}

void test_collector_kill(test_collector *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

/*
 * A non-blocking TCP connection to 127.0.0.1:port from `src` (NULL: any),
 * being set up: a full listen queue must not block past the deadline.  -1
 * on error.
 */
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

/*
 * Send all of `req` (then shut the sending side if `half_close`), read until the server closes or `deadline`; the
 * reply's length.
 */
static size_t exchange(int fd, const char *req, size_t len, int half_close, int64_t deadline, char *resp, size_t cap)
{
	size_t have = 0, off = 0;
	int sent = 0;

	while (have + 1 < cap) {
		int64_t left = deadline - test_now_ms();
		struct pollfd p = { fd, (short)(sent ? POLLIN : POLLOUT), 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (!sent) {
			ssize_t w = off < len ? send(fd, req + off, len - off, MSG_NOSIGNAL) : 0;
			off = w < 0 ? len : off + (size_t)w;   /* the server may answer and close before reading everything */
			if ((sent = off == len) && half_close)
				shutdown(fd, SHUT_WR);
			continue;
		}
		ssize_t r = recv(fd, resp + have, cap - 1 - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	return have;
}

static int request(int port, const char *src, int timeout_ms, const char *req, size_t len, int half_close, char *resp,
	size_t cap)
{
	char own[2048];
	int fd = connect_from(port, src), status = -1;

	if (!resp) {
		resp = own;
		cap = sizeof(own);
	}
	resp[0] = '\0';
	if (fd < 0)
		return -1;
	resp[exchange(fd, req, len, half_close, test_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000), resp, cap)] = '\0';
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	return status;
}

int test_http_request(int port, const char *src, int timeout_ms, const char *req, size_t len, char *resp,
	size_t cap)
{
	return request(port, src, timeout_ms, req, len, 1, resp, cap);
}

int test_http_post(int port, const char *src, int timeout_ms, const char *path, const char *headers,
	const char *body, char *resp, size_t cap)
{
	const char *h = headers ? headers : "Content-Type: application/json\r\n";
	size_t blen = strlen(body), n = strlen(path) + strlen(h) + blen + 256;
	char *req = malloc(n);
	int len, st;

	if (!req)
		return -1;
	len = snprintf(req, n, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %zu\r\nConnection: close\r\n"
		"\r\n%s", path, h, blen, body);
	st = request(port, src, timeout_ms, req, (size_t)len, 0, resp, cap);
	free(req);
	return st;
}

int test_http_get(int port, const char *path, char *resp, size_t cap)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	return request(port, NULL, 0, req, (size_t)n, 0, resp, cap);
}

long long test_collector_stat(int port, const char *name)
{
	char resp[8192], *body;
	json_t *j;
	long long v = -1;

	if (test_http_get(port, "/stats", resp, sizeof(resp)) != 200 || !(body = strstr(resp, "\r\n\r\n")))
		return -1;
	if ((j = json_loads(body + 4, 0, NULL)) && json_is_integer(json_object_get(j, name)))
		v = (long long)json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

int test_run_cli(char **out, const char *cli, const char *dir, const char *const *args)
{
	char outpath[4200];
	const char *argv[24] = { cli };
	int n = 1, st = 0;
	pid_t pid;
	posix_spawn_file_actions_t fa;

	snprintf(outpath, sizeof(outpath), "%s/cli.out", dir);
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; waitpid(pid, &st, WNOHANG) != pid; i++) {
		if (i == 600) {   /* 30 s */
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		test_sleep_ms(50);
	}
	if (out)
		*out = test_read_file(outpath, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
