/*
 * One policy shared read-only by many threads: the engine under concurrent
 * load, and concurrent pinned handshakes through the OpenSSL binding.
 */
#include "certpin.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <pthread.h>

#define THREADS 4
#define ENGINE_ITERS 50000
#define CONNS_PER_THREAD 8

static certpin_policy *shared;
static certpin_chain_elem good[2], bad[2];
static int port;

static void *engine_worker(void *arg)
{
	long wrong = 0;
	(void)arg;
	for (int i = 0; i < ENGINE_ITERS; i++) {
		certpin_result r;
		int want_ok = i % 3 != 0;
		const char *host = i % 2 ? "api.certpin.test" : "x.wild.certpin.test";
		int rc = certpin_verify(&r, shared, host, want_ok ? good : bad, 2, 1800000000);
		if ((rc == CERTPIN_OK) != want_ok || (want_ok && r.verdict != CERTPIN_VERDICT_MATCH))
			wrong++;
	}
	return (void *)wrong;
}

static void *conn_worker(void *arg)
{
	long wrong = 0;
	(void)arg;
	for (int i = 0; i < CONNS_PER_THREAD; i++) {
		certpin_result r;
		test_client_info info;
		int rc = test_client_connect(&r, &info, port, "api.certpin.test", 0, test_pki("trust.pem"), shared, NULL);
		if (rc != CERTPIN_OK || !info.connected || r.verdict != CERTPIN_VERDICT_MATCH)
			wrong++;
	}
	return (void *)wrong;
}

static void load_elem(certpin_chain_elem *e, const char *file)
{
	certpin_item *items = NULL;
	size_t n = 0;
	if (certpin_items_from_file(&items, &n, test_pki(file)) != CERTPIN_OK || n < 1) {
		fprintf(stderr, "cannot load %s\n", file);
		exit(2);
	}
	e->flags = CERTPIN_HAVE_SPKI | CERTPIN_HAVE_CERT;
	memcpy(e->spki_sha256, items[0].spki.digest, 32);
	memcpy(e->cert_sha256, items[0].cert.digest, 32);
	certpin_items_free(items, n);
}

static long run(void *(*fn)(void *))
{
	pthread_t t[THREADS];
	long total = 0;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, fn, NULL) != 0)
			return -1;
	for (int i = 0; i < THREADS; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		total += (long)ret;
	}
	return total;
}

int main(void)
{
	certpin_host_options o = CERTPIN_HOST_OPTIONS_INIT;
	certpin_item *items = NULL;
	size_t n = 0;
	tlsserver *srv = NULL;

	CHECK_INT(certpin_policy_new(&shared), CERTPIN_OK);
	o.pattern = "api.certpin.test";
	CHECK_INT(certpin_policy_add_host(shared, &o, NULL), CERTPIN_OK);
	o.pattern = "*.wild.certpin.test";
	CHECK_INT(certpin_policy_add_host(shared, &o, NULL), CERTPIN_OK);
	CHECK_INT(certpin_items_from_file(&items, &n, test_pki("leaf.pem")), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(shared, "api.certpin.test", &items[0].spki, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(shared, "*.wild.certpin.test", &items[0].spki, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);
	certpin_items_free(items, n);

	load_elem(&good[0], "leaf.pem");
	load_elem(&good[1], "inter.pem");
	load_elem(&bad[0], "rogue-leaf.pem");
	load_elem(&bad[1], "rogue-root.pem");

	CHECK_INT(run(engine_worker), 0);

	CHECK_INT(tlsserver_start(&srv, test_pki("chain.pem"), test_pki("leaf.key"), THREADS * CONNS_PER_THREAD), 0);
	if (srv) {
		port = tlsserver_port(srv);
		CHECK_INT(run(conn_worker), 0);
		tlsserver_stop(srv);
	}
	certpin_policy_free(shared);
	return test_finish("threads_test");
}
