#include "collector.h"
#include "test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

const char *test_cli(const char *argv0)
{
	static char cli[4200];
	const char *env = getenv("CERTPIN");
	char self[4096];
	ssize_t n;

	if (env && *env) {
		snprintf(cli, sizeof(cli), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			n = (ssize_t)snprintf(self, sizeof(self), "%s", argv0);
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(cli, sizeof(cli), "%s/../certpin", self);
	}
	return access(cli, X_OK) == 0 ? cli : NULL;
}

/* Wait up to 10 s for the port file; 0, or -1 (the collector stopped). */
static int wait_port(test_collector *c, const char *portfile)
{
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(portfile, "r");
		int st;
		if (f) {
			int ok = fscanf(f, "%d", &c->port) == 1;
			fclose(f);
			if (ok && c->port > 0)
				return 0;
		}
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			char *e = test_read_file(c->err, NULL);
			fprintf(stderr, "collector exited early; stderr:\n%s", e);
			free(e);
			c->pid = 0;
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "collector did not start in 10 s\n");
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
	return -1;
}

int test_collector_start(test_collector *c, const char *cli, const char *db_spec, const char *dir, const char *tag,
	const char *const *extra)
{
	char portfile[4200];
	const char *argv[40] = { cli, "collect", "--db", db_spec, "--listen", "127.0.0.1:0", "--port-file", portfile,
		"--duration", "600" };   /* bounded even if the test dies */
	int n = 10, rc;
	posix_spawn_file_actions_t fa;

	memset(c, 0, sizeof(*c));
	snprintf(portfile, sizeof(portfile), "%s/%s.port", dir, tag);
	snprintf(c->out, sizeof(c->out), "%s/%s.out", dir, tag);
	snprintf(c->err, sizeof(c->err), "%s/%s.err", dir, tag);
	unlink(portfile);
	for (int i = 0; extra && extra[i] && n < 38; i++)
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
		sleep_ms(50);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
	return -1;
}

/* Send all of `req` and read the reply until the server closes; the status, or -1. */
static int exchange(int port, const char *req, size_t len, char *resp, size_t cap)
{
	struct sockaddr_in sa;
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	size_t have = 0;

	resp[0] = '\0';
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		for (size_t off = 0; off < len;) {
			ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;   /* the server may answer and close before reading everything */
			off += (size_t)w;
		}
		shutdown(fd, SHUT_WR);
		for (ssize_t r; have + 1 < cap && (r = recv(fd, resp + have, cap - have - 1, 0)) > 0;)
			have += (size_t)r;
		resp[have] = '\0';
		if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
			status = -1;
	}
	close(fd);
	return status;
}

int test_http_post(int port, const char *path, const char *ctype, const char *body, size_t len, char *resp,
	size_t cap)
{
	size_t n = len + 512;
	char *req = malloc(n);
	int h, st;

	if (!req)
		return -1;
	h = snprintf(req, 512, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n", path, ctype, len);
	memcpy(req + h, body, len);
	st = exchange(port, req, (size_t)h + len, resp, cap);
	free(req);
	return st;
}

int test_http_get(int port, const char *path, char *resp, size_t cap)
{
	char req[1024];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	return exchange(port, req, (size_t)n, resp, cap);
}

long long test_collector_stat(const test_collector *c, const char *name)
{
	char resp[4096], *body;
	json_t *j;
	long long v = -1;

	if (test_http_get(c->port, "/stats", resp, sizeof(resp)) != 200 || !(body = strstr(resp, "\r\n\r\n")))
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
		sleep_ms(50);
	}
	if (out)
		*out = test_read_file(outpath, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
