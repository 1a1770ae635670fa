/*
 * tls_server - standalone test TLS server for shell tests, the demo and
 * benchmarks.
 *
 *   tls_server --cert CHAIN --key KEY [--port-file F] [--max-conns N] [--timeout SECONDS]
 *
 * Listens on 127.0.0.1 (ephemeral port), prints the port as the first line of
 * stdout and flushes (and, with --port-file, writes it to F atomically).  Each
 * connection: TLS handshake, read one line, reply "ok\n", close.  Exits 0
 * after N connections (default: unlimited) or when the timeout (default 60 s)
 * passes, whichever comes first; exits 2 on usage or setup errors.
 */
#include "tlsserver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	fprintf(stderr, "usage: tls_server --cert CHAIN --key KEY [--port-file F] "
		"[--max-conns N] [--timeout SECONDS]\n");
	exit(2);
}

static long parse_num(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "tls_server: bad value for %s: %s\n", opt, s);
		exit(2);
	}
	return v;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		remove(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *port_file = NULL;
	long max_conns = 0, timeout_s = 60;
	tlsserver *srv;
	int i;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (i + 1 >= argc)
			usage();
		if (strcmp(opt, "--cert") == 0)
			cert = argv[++i];
		else if (strcmp(opt, "--key") == 0)
			key = argv[++i];
		else if (strcmp(opt, "--port-file") == 0)
			port_file = argv[++i];
		else if (strcmp(opt, "--max-conns") == 0)
			max_conns = parse_num(opt, argv[++i], 0, 1000000000L);
		else if (strcmp(opt, "--timeout") == 0)
			timeout_s = parse_num(opt, argv[++i], 1, 86400);
		else
			usage();
	}
	if (!cert || !key)
		usage();

	if (tlsserver_start(&srv, cert, key, (int)max_conns) != 0)
		return 2;
	printf("%d\n", tlsserver_port(srv));
	fflush(stdout);
	if (port_file && write_port_file(port_file, tlsserver_port(srv)) != 0) {
		fprintf(stderr, "tls_server: cannot write %s\n", port_file);
		tlsserver_stop(srv);
		return 2;
	}

	tlsserver_wait(srv, (int)(timeout_s * 1000));
	tlsserver_stop(srv);
	return 0;
}
