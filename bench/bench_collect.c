/*
 * bench_collect - throughput of the failure-report collector on loopback.
 *
 *   bench_collect CERTPIN_CLI [REPORTS] [CLIENTS] [DB_SPEC]
 *
 * Starts "certpin collect" (SQLite in a temporary directory, or DB_SPEC) on
 * 127.0.0.1, then:
 *   1. CLIENTS threads post REPORTS distinct hashes-only reports over
 *      keep-alive HTTP (libcurl); prints reports/s and the per-request
 *      latency median and p99;
 *   2. REPORTS/2 reports through one certpin_reporter (queue + background
 *      sender); prints reports/s from the first submit to the flush.
 * Every count is checked against the collector's /stats (lost reports are
 * printed, not hidden).  Figures only, no pass/fail on timings.  Defaults:
 * 10000 reports, 4 clients.
 */
#include "bench_common.h"
#include "certpin.h"
#include "certpin/report.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

static char tmpl[4096];
static int port;

typedef struct job {
	int index, count, ok;
	double *lat;
} job;

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p, (void)u;
	return s * n;
}

static void *client(void *arg)
{
	job *j = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char url[96], body[4200];
	const char *at = strstr(tmpl, "\"port\":1,");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/report", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < j->count && at; i++) {
		int n = snprintf(body, sizeof(body), "%.*s\"port\":%d,%s", (int)(at - tmpl), tmpl,
			1 + (j->index * j->count + i) % 65535, at + 9);
		long status = 0;
		double t0 = bench_now_ns();
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
		if (curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
			status == 201)
			j->ok++;
		j->lat[i] = bench_now_ns() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static long long stored(void)
{
	CURL *c = curl_easy_init();
	char url[96];
	FILE *f = tmpfile();
	long long v = -1;
	char buf[512] = "";

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/stats", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (curl_easy_perform(c) == CURLE_OK) {
		rewind(f);
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		const char *s = strstr(buf, "\"stored\":");
		if (s)
			v = atoll(s + 9);
	}
	fclose(f);
	curl_easy_cleanup(c);
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_collect CERTPIN_CLI [REPORTS] [CLIENTS] [DB_SPEC]\n");
		return 2;
	}
	int total = argc > 2 ? atoi(argv[2]) : 10000, nclients = argc > 3 ? atoi(argv[3]) : 4;
	char dir[] = "/tmp/certpin-bench-collect-XXXXXX", db[4200], portfile[4200], cmd[4300];
	pid_t pid;

	if (total < 1 || total > 1000000 || nclients < 1 || nclients > 64 || !mkdtemp(dir))
		return 2;
	snprintf(db, sizeof(db), "%s", argc > 4 ? argv[4] : bench_path(dir, "bench.sqlite"));
	snprintf(portfile, sizeof(portfile), "%s", bench_path(dir, "port"));
	const char *args[] = { argv[1], "collect", "--db", db, "--listen", "127.0.0.1:0", "--port-file", portfile,
		"--duration", "900", "--threads", "2", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[1], &fa, NULL, (char *const *)args, environ) != 0) {
		fprintf(stderr, "bench_collect: cannot run %s\n", argv[1]);
		return 1;
	}
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 200 && port <= 0; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
	}
	if (port <= 0) {
		fprintf(stderr, "bench_collect: collector did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* one report, digests only; the port field is varied per report */
	certpin_policy *p = NULL;
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin pin = { CERTPIN_PIN_SPKI_SHA256, { 1 } };
	certpin_chain_elem e[2];
	certpin_report_cert certs[2];
	certpin_result res;
	certpin_report_input in = CERTPIN_REPORT_INPUT_INIT;
	char *json = NULL;
	memset(e, 0, sizeof(e));
	memset(certs, 0, sizeof(certs));
	ho.pattern = "api.example.com";
	if (certpin_policy_new(&p) != CERTPIN_OK || certpin_policy_add_host(p, &ho, NULL) != CERTPIN_OK ||
		certpin_policy_add_pin(p, "api.example.com", &pin, CERTPIN_POS_ANY, NULL, NULL) != CERTPIN_OK)
		return 1;
	for (int i = 0; i < 2; i++) {
		e[i].flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
		memset(e[i].spki_sha256, 0x30 + i, 32);
		memset(e[i].cert_sha256, 0x40 + i, 32);
		certs[i].digests = e[i];
	}
	if (certpin_verify(&res, p, "api.example.com", e, 2, (int64_t)time(NULL)) != CERTPIN_E_PIN_MISMATCH)
		return 1;
	in.policy = p;
	in.result = &res;
	in.rc = CERTPIN_E_PIN_MISMATCH;
	in.port = 1;
	in.served = certs;
	in.nserved = 2;
	if (certpin_report_build(&json, &in) != CERTPIN_OK || strlen(json) >= sizeof(tmpl))
		return 1;
	snprintf(tmpl, sizeof(tmpl), "%s", json);
	free(json);

	printf("== bench_collect: %s, %d reports of %zu bytes, %d keep-alive clients\n",
		strncmp(db, "postgres", 8) == 0 ? "postgresql" : "sqlite (WAL)", total, strlen(tmpl), nclients);
	long long s0 = stored();
	job *jobs = calloc((size_t)nclients, sizeof(*jobs));
	pthread_t *th = calloc((size_t)nclients, sizeof(*th));
	int per = total / nclients;
	double t0 = bench_now_ns();
	for (int i = 0; i < nclients; i++) {
		jobs[i] = (job){ i, per, 0, calloc((size_t)per, sizeof(double)) };
		pthread_create(&th[i], NULL, client, &jobs[i]);
	}
	int ok = 0;
	double *all = calloc((size_t)per * (size_t)nclients, sizeof(double));
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		ok += jobs[i].ok;
		memcpy(all + (size_t)i * (size_t)per, jobs[i].lat, (size_t)per * sizeof(double));
		free(jobs[i].lat);
	}
	double dt = (bench_now_ns() - t0) / 1e9;
	long long s1 = stored();
	size_t n = (size_t)per * (size_t)nclients;
	printf("http clients:   %zu reports in %.2f s = %.0f reports/s; latency median %.0f us, p99 %.0f us; "
		"201: %d, stored: %lld, lost: %lld\n", n, dt, (double)n / dt, bench_quantile(all, n, 0.5) / 1e3,
		bench_quantile(all, n, 0.99) / 1e3, ok, s1 - s0, (long long)n - (s1 - s0));

	certpin_reporter *r = NULL;
	certpin_reporter_options o = CERTPIN_REPORTER_OPTIONS_INIT;
	char uri[96];
	const char *uris[1] = { uri };
	int m = total / 2;
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%d/report", port);
	o.flags = CERTPIN_REPORTER_INSECURE_HTTP;
	o.report_uris = uris;
	o.nreport_uris = 1;
	o.queue_max = (size_t)m;
	o.dedup_max = (size_t)m;
	if (certpin_reporter_new(&r, p, &o) != CERTPIN_OK)
		return 1;
	t0 = bench_now_ns();
	for (int i = 0; i < m; i++) {
		in.port = (unsigned)(1 + i % 65535);
		(void)certpin_reporter_submit(r, &in);
	}
	double tq = (bench_now_ns() - t0) / 1e3 / m;
	int fl = certpin_reporter_flush(r, 600000);
	dt = (bench_now_ns() - t0) / 1e9;
	certpin_reporter_stats st;
	certpin_reporter_get_stats(r, &st);
	long long s2 = stored();
	printf("certpin_reporter: %d reports, submit %.2f us each, delivered in %.2f s = %.0f reports/s; "
		"delivered %llu, dropped %llu, stored %lld%s\n", m, tq, dt, m / dt, (unsigned long long)st.delivered,
		(unsigned long long)st.dropped, s2 - s1, fl == CERTPIN_OK ? "" : " (flush timed out)");
	certpin_reporter_free(r);
	certpin_policy_free(p);

	fflush(stdout);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_collect: could not remove %s\n", dir);
	free(all);
	free(jobs);
	free(th);
	return 0;
}
