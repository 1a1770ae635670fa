/*
 * memo_test - many names and many keys on one SSL_CTX: each handshake is
 * decided on its own, whatever the context saw before.  (The context
 * binding once remembered names and key digests; the test stays as the
 * guard that no per-context state ever changes a decision.)  On one SSL_CTX:
 *
 *   - names and keys seen before are decided as fresh ones: the pinned
 *     key passes, a rogue CA's key and an injected chain are refused;
 *   - after many names and keys, new ones are still decided right, in both
 *     directions: certificates the real intermediate issued for unpinned
 *     keys are refused, the pinned and backup keys pass;
 *   - sixteen spellings of the pinned name (case) all get its pins, and
 *     none is taken for an unpinned name seen before them;
 *   - several threads at once, on the same SSL_CTX.
 *
 * The mis-issued certificates are made here, in a temporary directory.
 */
#include "certpin.h"
#include "test.h"
#include "tlsclient.h"
#include "tlsserver.h"

#include <ctype.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HOST "api.certpin.test"
#define MISISSUED 12 /* more keys than the memo holds */
#define THREADS 4
#define CONNS_PER_THREAD 12

#define UNPINNED "other.example.test" /* the name wronghost-leaf.pem is valid for */

enum { GOOD, BACKUP, ROGUE, INJECT, OTHER, NFIXED };

static SSL_CTX *ctx;
static int fixed_port[NFIXED], mis_port[MISISSUED];
static char tmpdir[256];

/*
 * One handshake on `ctx` to 127.0.0.1:port verified for `host`.  Returns
 * certpin_ssl_result()'s code (CERTPIN_E_TLS if none was recorded) and sets
 * *connected when the exchange completed.
 */
static int connect_once(int port, const char *host, certpin_result *res, int *connected)
{
	char buf[4] = "";
	int fd = test_tcp_connect(port), rc;
	SSL *ssl = SSL_new(ctx);

	*connected = 0;
	if (fd < 0 || !ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set1_host(ssl, host) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1) {
		SSL_free(ssl);
		if (fd >= 0)
			close(fd);
		return CERTPIN_E_IO;
	}
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, "hi\n", 3) == 3 && SSL_read(ssl, buf, 3) == 3 &&
	    memcmp(buf, "ok\n", 3) == 0)
		*connected = 1;
	rc = certpin_ssl_result(res, ssl);
	if (rc == CERTPIN_E_STATE)
		rc = CERTPIN_E_TLS;
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return rc;
}

/* The decision `port` under `host` should get: 1 pass, 0 refused for its pins. */
static int decided_right(int port, const char *host, int want_pass)
{
	certpin_result res;
	int connected;
	int rc = connect_once(port, host, &res, &connected);

	if (want_pass)
		return rc == CERTPIN_OK && connected && res.verdict == CERTPIN_VERDICT_MATCH &&
			strcmp(res.hostname, HOST) == 0;
	return rc == CERTPIN_E_PIN_MISMATCH && !connected && res.verdict == CERTPIN_VERDICT_MISMATCH &&
		strcmp(res.hostname, HOST) == 0;
}

/* `HOST` with the letters at positions 0, 1, 2 and 4 upper-cased by the bits of `v` (0..15). */
static void spelling(char *out, unsigned int v)
{
	static const int pos[4] = { 0, 1, 2, 4 };

	strcpy(out, HOST);
	for (int k = 0; k < 4; k++)
		if (v & (1u << k))
			out[pos[k]] = (char)toupper((unsigned char)out[pos[k]]);
}

/* The genuine intermediate and its key, which issue the mis-issued certificates; 0 if either is missing. */
static int load_issuer(X509 **cert, EVP_PKEY **key)
{
	FILE *cf = fopen(test_pki("inter.pem"), "r"), *kf = fopen(test_pki("inter.key"), "r");

	*cert = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
	*key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
	if (cf)
		fclose(cf);
	if (kf)
		fclose(kf);
	return *cert && *key;
}

/*
 * A certificate for HOST with a fresh P-256 key, issued by the genuine
 * intermediate: what a mis-issuing CA in the real chain would produce.
 * Writes DIR/misN.pem (leaf + intermediate) and DIR/misN.key; 0 on success.
 */
static int misissue(int i, X509 *inter, EVP_PKEY *inter_key)
{
	char chain[512], keyf[512];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *san = NULL;
	FILE *f = NULL;
	int ok = 0;

	snprintf(chain, sizeof(chain), "%s/mis%d.pem", tmpdir, i);
	snprintf(keyf, sizeof(keyf), "%s/mis%d.key", tmpdir, i);
	if (!k || !x || !X509_set_version(x, X509_VERSION_3) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 7000 + i) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(inter)) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)HOST, -1,
		    -1, 0) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) || !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    !X509_set_pubkey(x, k))
		goto out;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, inter, x, NULL, NULL, 0);
	if (!(san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:" HOST)) || !X509_add_ext(x, san, -1) ||
	    !X509_sign(x, inter_key, EVP_sha256()))
		goto out;
	if (!(f = fopen(chain, "w")) || !PEM_write_X509(f, x) || !PEM_write_X509(f, inter) || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	if (!(f = fopen(keyf, "w")) || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	ok = 1;
out:
	if (f)
		fclose(f);
	X509_EXTENSION_free(san);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

static void remove_tmp(void)
{
	char path[512];

	for (int i = 0; i < MISISSUED; i++) {
		snprintf(path, sizeof(path), "%s/mis%d.pem", tmpdir, i);
		unlink(path);
		snprintf(path, sizeof(path), "%s/mis%d.key", tmpdir, i);
		unlink(path);
	}
	rmdir(tmpdir);
}

static void *worker(void *arg)
{
	long id = (long)arg, wrong = 0;
	char host[sizeof(HOST)];

	for (int i = 0; i < CONNS_PER_THREAD; i++) {
		spelling(host, (unsigned int)(id * CONNS_PER_THREAD + i) % 16);
		switch (i % 4) {
		case 0: wrong += !decided_right(fixed_port[GOOD], host, 1); break;
		case 1: wrong += !decided_right(mis_port[(id + i) % MISISSUED], host, 0); break;
		case 2: wrong += !decided_right(fixed_port[ROGUE], host, 0); break;
		default: wrong += !decided_right(fixed_port[BACKUP], host, 1); break;
		}
	}
	return (void *)wrong;
}

static certpin_pin named_pin(const char *name)
{
	char *pins = test_read_file(test_pki("pins.txt"), NULL), want[64], *p;
	certpin_pin pin;

	snprintf(want, sizeof(want), "\n%s ", name);
	p = strncmp(pins, want + 1, strlen(want + 1)) == 0 ? pins : strstr(pins, want);
	if (!p) {
		fprintf(stderr, "memo_test: no %s pin in pins.txt\n", name);
		exit(2);
	}
	p = strchr(p + (*p == '\n'), ' ') + 1;
	p[strcspn(p, "\n")] = '\0';
	if (certpin_pin_parse(&pin, p, strlen(p)) != CERTPIN_OK) {
		fprintf(stderr, "memo_test: bad %s pin\n", name);
		exit(2);
	}
	free(pins);
	return pin;
}

int main(void)
{
	static const char *const chains[NFIXED][2] = {
		[GOOD] = { "chain.pem", "leaf.key" },
		[BACKUP] = { "backup-chain.pem", "backup.key" },
		[ROGUE] = { "rogue-chain.pem", "rogue-leaf.key" },
		[INJECT] = { "inject-chain.pem", "rogue-leaf.key" },
		[OTHER] = { "wronghost-chain.pem", "leaf.key" },
	};
	tlsserver *fixed[NFIXED] = { NULL }, *mis[MISISSUED] = { NULL };
	certpin_policy *policy = NULL;
	certpin_host_options ho = CERTPIN_HOST_OPTIONS_INIT;
	certpin_pin leaf = named_pin("leaf"), backup = named_pin("backup");
	X509 *inter = NULL;
	EVP_PKEY *inter_key = NULL;
	char host[sizeof(HOST)];
	const char *tmp = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/certpin-memo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!load_issuer(&inter, &inter_key) || !mkdtemp(tmpdir)) {
		fprintf(stderr, "memo_test: cannot set up (intermediate, its key, or a temporary directory)\n");
		return 2;
	}
	for (int i = 0; i < MISISSUED; i++)
		if (misissue(i, inter, inter_key) != 0) {
			fprintf(stderr, "memo_test: cannot issue test certificate %d\n", i);
			ERR_print_errors_fp(stderr);
			remove_tmp();
			return 2;
		}
	X509_free(inter);
	EVP_PKEY_free(inter_key);

	/* the leaf pin at its position, the backup pin anywhere: a mismatch hashes the whole chain */
	ho.pattern = HOST;
	CHECK_INT(certpin_policy_new(&policy), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_host(policy, &ho, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(policy, HOST, &leaf, CERTPIN_POS_LEAF, NULL, NULL), CERTPIN_OK);
	CHECK_INT(certpin_policy_add_pin(policy, HOST, &backup, CERTPIN_POS_ANY, NULL, NULL), CERTPIN_OK);

	/* the client trusts the rogue CA too: only the pins stand between it and the attacker */
	ctx = SSL_CTX_new(TLS_client_method());
	CHECK(ctx != NULL);
	if (!ctx)
		return test_finish("memo_test");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	CHECK_INT(SSL_CTX_load_verify_locations(ctx, test_pki("trust-with-rogue.pem"), NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	CHECK_INT(certpin_ssl_ctx_attach(ctx, policy, NULL), CERTPIN_OK);

	for (int i = 0; i < NFIXED; i++) {
		CHECK_INT(tlsserver_start(&fixed[i], test_pki(chains[i][0]), test_pki(chains[i][1]), 0), 0);
		fixed_port[i] = fixed[i] ? tlsserver_port(fixed[i]) : 0;
	}
	for (int i = 0; i < MISISSUED; i++) {
		char chain[512], keyf[512];
		snprintf(chain, sizeof(chain), "%s/mis%d.pem", tmpdir, i);
		snprintf(keyf, sizeof(keyf), "%s/mis%d.key", tmpdir, i);
		CHECK_INT(tlsserver_start(&mis[i], chain, keyf, 0), 0);
		mis_port[i] = mis[i] ? tlsserver_port(mis[i]) : 0;
	}

	/*
	 * An unpinned name first, so that it is the memo's first entry: a pinned
	 * name must never be taken for it.
	 */
	certpin_result res;
	int connected;
	CHECK_INT(connect_once(fixed_port[OTHER], UNPINNED, &res, &connected), CERTPIN_OK);
	CHECK(connected && res.verdict == CERTPIN_VERDICT_NOT_PINNED);

	/* remembered: the same name and keys, decided again and again */
	for (int round = 0; round < 3; round++) {
		CHECK(decided_right(fixed_port[GOOD], HOST, 1));
		CHECK(decided_right(fixed_port[ROGUE], HOST, 0));
		CHECK(decided_right(fixed_port[INJECT], HOST, 0));
	}
	/* past the memo's size: every mis-issued key is new, and refused, twice over */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < MISISSUED; i++)
			CHECK(decided_right(mis_port[i], HOST, 0));
	/* a pinned key the full memo has not seen still passes; the rogue key still fails */
	CHECK(decided_right(fixed_port[BACKUP], HOST, 1));
	CHECK(decided_right(fixed_port[GOOD], HOST, 1));
	CHECK(decided_right(fixed_port[ROGUE], HOST, 0));
	/* sixteen spellings of the pinned name: more names than the memo holds */
	for (unsigned int v = 0; v < 16; v++) {
		spelling(host, v);
		CHECK(decided_right(fixed_port[ROGUE], host, 0));
		CHECK(decided_right(fixed_port[GOOD], host, 1));
	}

	/* several threads on the one SSL_CTX */
	pthread_t t[THREADS];
	int started = 0;
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) == 0)
			started++;
	CHECK_INT(started, THREADS);
	long wrong = 0;
	for (int i = 0; i < started; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		wrong += (long)ret;
	}
	CHECK_INT(wrong, 0);

	for (int i = 0; i < NFIXED; i++)
		if (fixed[i])
			tlsserver_stop(fixed[i]);
	for (int i = 0; i < MISISSUED; i++)
		if (mis[i])
			tlsserver_stop(mis[i]);
	remove_tmp();
	SSL_CTX_free(ctx);
	certpin_policy_free(policy);
	return test_finish("memo_test");
}
