/*
 * mitm_pki.c - the certificates "certpin mitm" presents, made in-process with
 * the OpenSSL API.
 *
 * The rogue CA (DIR/rogue-ca.pem, key DIR/rogue-ca.key) is what an
 * interception proxy's CA is: the tester installs it in the client's trust
 * store.  It is generated once and reused by later runs with the same DIR, so
 * it has to be installed only once; it is valid for 90 days.  Every leaf is
 * generated afresh on each run (EC P-256 keys unless noted) and issued by the
 * rogue CA, so that each attack isolates one check: a client that trusts the
 * rogue CA refuses an attack only if it makes that check.  For --host H:
 *
 *   self-signed        CN=H, SAN DNS:H, self-signed (not from the rogue CA)
 *   rogue-ca           CN=H, SAN DNS:H, valid now
 *   chain-injection    the rogue-ca leaf followed by the real certificates
 *                      (--real-chain, default the control chain)
 *   expired            CN=H, SAN DNS:H, valid from 395 to 30 days ago
 *   wrong-host         CN=H (!), SAN DNS:wrong-host.certpin-mitm.invalid only;
 *                      RFC 6125 ignores the CN when a SAN is present
 *                      (a host name longer than 64 characters cannot be a
 *                      CN; then no leaf has a CN)
 *   wildcard-too-deep  CN and only SAN "*." + H without its two leftmost
 *                      labels: a.api.example.com gets "*.example.com".  The
 *                      "*" would have to stand for two labels; a glob matcher
 *                      such as fnmatch() accepts it.  Needs H with three
 *                      labels or more, and four for a meaningful result:
 *                      api.example.com gets "*.com", which clients refuse as
 *                      a wildcard for a top-level domain whatever its depth
 *                      (the report notes it, mitm_attack_note()).
 *   weak-key           CN=H, SAN DNS:H, RSA-1024 key
 *   control            the tester's --control-cert/--control-key as given
 *
 * Files: DIR/attack-NAME.pem (exactly the chain sent) and DIR/attack-NAME.key
 * (mode 0600).  Nothing is written outside DIR (mitm.c writes --ca-out and
 * --port-file); DIR itself, or any file in it, that is a symlink is refused.
 * The control key is never copied.
 */
#include "common.h"
#include "mitm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define CA_DAYS 90
#define LEAF_DAYS 30
#define WRONG_HOST_NAME "wrong-host.certpin-mitm.invalid"
#define CN_MAX 64               /* ub-common-name: a longer host name gets no CN, only the SAN */

static void set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

/* ---- files ---------------------------------------------------------------- */

static FILE *open_out(const char *path, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	/* An existing file keeps its mode through O_CREAT; make keys private anyway. */
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

static int close_out(FILE *f, int ok, const char *path, char *err, size_t errlen)
{
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		snprintf(err, errlen, "cannot write %s", path);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int mitm_write_cert(const char *path, X509 *x, char *err, size_t errlen)
{
	FILE *f = open_out(path, 0644, err, errlen);

	if (!f)
		return -1;
	return close_out(f, PEM_write_X509(f, x) == 1, path, err, errlen);
}

int mitm_open_later(const char *path, int *created, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

int mitm_write_cert_fd(int fd, const char *path, X509 *x, char *err, size_t errlen)
{
	FILE *f;

	if (ftruncate(fd, 0) != 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return close_out(f, PEM_write_X509(f, x) == 1, path, err, errlen);
}

static int write_chain(const char *path, X509 *leaf, STACK_OF(X509) *chain, char *err, size_t errlen)
{
	FILE *f = open_out(path, 0644, err, errlen);
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_X509(f, leaf) == 1;
	for (int i = 0; ok && i < sk_X509_num(chain); i++)
		ok = PEM_write_X509(f, sk_X509_value(chain, i)) == 1;
	return close_out(f, ok, path, err, errlen);
}

static int write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	FILE *f = open_out(path, 0600, err, errlen);

	if (!f)
		return -1;
	return close_out(f, PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1, path, err, errlen);
}

static int path_in(char *out, size_t outlen, const char *dir, const char *name, char *err, size_t errlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
		return -1;
	}
	/* lstat: a symlink is not followed, so nothing lands where it points. */
	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "cannot inspect %s: %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s is a symbolic link; name the directory itself", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a directory", dir);
		return -1;
	}
	return 0;
}

/* 1 if `path` exists (as anything, a dangling symlink included), 0 if not, -1 on error. */
static int exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* ---- certificate construction ---------------------------------------------- */

typedef struct cert_spec {
	EVP_PKEY *key;             /* subject key */
	const char *cn;
	const char *org;
	const char *san;           /* "DNS:..." or NULL */
	int is_ca;
	X509 *issuer;              /* NULL: self-signed */
	EVP_PKEY *issuer_key;      /* NULL: self-signed with `key` */
	int64_t not_before, not_after; /* Unix time */
} cert_spec;

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

static int random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	b[0] &= 0x7f;              /* positive */
	b[0] |= 0x40;              /* and of full length */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		ok = 1;
	BN_free(bn);
	return ok;
}

static int set_time(ASN1_TIME *t, int64_t when)
{
	return ASN1_TIME_set(t, (time_t)when) != NULL;
}

static X509 *make_cert(const cert_spec *s)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	X509 *issuer;
	int is_rsa = EVP_PKEY_is_a(s->key, "RSA");
	const char *ku;

	if (!x)
		return NULL;
	issuer = s->issuer ? s->issuer : x;
	if (X509_set_version(x, X509_VERSION_3) != 1 || !random_serial(x) ||
			!set_time(X509_getm_notBefore(x), s->not_before) ||
			!set_time(X509_getm_notAfter(x), s->not_after) ||
			X509_set_pubkey(x, s->key) != 1)
		goto err;
	if (!(name = X509_NAME_new()) ||
			X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)s->org, -1, -1, 0) != 1 ||
			(strlen(s->cn) <= CN_MAX &&
			 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0) != 1) ||
			X509_set_subject_name(x, name) != 1 ||
			X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : name) != 1)
		goto err;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (s->is_ca) {
		ku = "critical,keyCertSign,cRLSign";
	} else {
		/* RSA key exchange in TLS 1.2 needs keyEncipherment; EC keys only sign. */
		ku = is_rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
	}
	if (!add_ext(x, &ctx, NID_basic_constraints, s->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
			!add_ext(x, &ctx, NID_key_usage, ku) ||
			!add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
			(!s->is_ca && !add_ext(x, &ctx, NID_ext_key_usage, "serverAuth")) ||
			(s->issuer && !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")) ||
			(s->san && !add_ext(x, &ctx, NID_subject_alt_name, s->san)))
		goto err;
	if (X509_sign(x, s->issuer_key ? s->issuer_key : s->key, EVP_sha256()) <= 0)
		goto err;
	X509_NAME_free(name);
	return x;
err:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* ---- describing what is presented ------------------------------------------ */

static void time_string(char out[32], const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1 || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static void name_string(char *out, size_t outlen, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	snprintf(out, outlen, "?");
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
			(n = BIO_get_mem_data(b, &p)) >= 0)
		mitm_sanitize(out, outlen, (const unsigned char *)p, (size_t)n);
	BIO_free(b);
}

static void san_string(char *out, size_t outlen, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char one[300];
		int n;

		if (g->type != GEN_DNS)
			continue;
		mitm_sanitize(one, sizeof(one), ASN1_STRING_get0_data(g->d.dNSName),
			(size_t)ASN1_STRING_length(g->d.dNSName));
		n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", one);
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
}

static void describe(mitm_attack_info *a, const mitm_material *m)
{
	certpin_item *items = NULL;
	size_t count = 0;

	name_string(a->subject, sizeof(a->subject), X509_get_subject_name(m->leaf));
	name_string(a->issuer, sizeof(a->issuer), X509_get_issuer_name(m->leaf));
	san_string(a->names, sizeof(a->names), m->leaf);
	time_string(a->not_before, X509_get0_notBefore(m->leaf));
	time_string(a->not_after, X509_get0_notAfter(m->leaf));
	a->chain_len = 1 + sk_X509_num(m->chain);
	a->key[0] = '\0';
	a->spki_pin[0] = '\0';
	if (cli_items_from_x509(&items, &count, m->leaf) == CERTPIN_OK && count == 1) {
		char pin[CERTPIN_PIN_STRLEN];

		snprintf(a->key, sizeof(a->key), "%s", items[0].key_type);
		cli_pin_string(pin, &items[0].spki, CERTPIN_STYLE_DEFAULT);
		snprintf(a->spki_pin, sizeof(a->spki_pin), "%s", pin);
	}
	certpin_items_free(items, count);
}

/* ---- loading the tester's certificates -------------------------------------- */

/* Never prompt for a passphrase: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static STACK_OF(X509) *load_certs(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	STACK_OF(X509) *sk = NULL;
	X509 *x;

	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!(sk = sk_X509_new_null())) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	ERR_clear_error();
	/* Bounded: a chain longer than 16 certificates is not a real server chain. */
	while ((x = PEM_read_X509(f, NULL, no_passphrase, NULL)) != NULL) {
		if (sk_X509_num(sk) == 16) {
			X509_free(x);
			snprintf(err, errlen, "%s: more than 16 certificates", path);
			goto err;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			snprintf(err, errlen, "out of memory");
			goto err;
		}
	}
	/* End of file is the normal end; anything else is a malformed file. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(sk) == 0) {
		char what[256];

		snprintf(what, sizeof(what), "%s: %s", path, sk_X509_num(sk) ? "malformed PEM certificate" :
			"no PEM certificate");
		set_err(err, errlen, what);
		goto err;
	}
	ERR_clear_error();
	fclose(f);
	return sk;
err:
	fclose(f);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

static EVP_PKEY *load_key(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!k) {
		char what[256];

		snprintf(what, sizeof(what), "%s: no usable unencrypted PEM private key", path);
		set_err(err, errlen, what);
	}
	return k;
}

static int load_control(mitm_material *m, const mitm_pki_options *o, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = load_certs(o->control_cert, err, errlen);

	if (!sk)
		return -1;
	m->leaf = sk_X509_shift(sk);
	m->chain = sk;
	if (!(m->key = load_key(o->control_key, err, errlen)))
		return -1;
	if (X509_check_private_key(m->leaf, m->key) != 1) {
		snprintf(err, errlen, "%s does not match the first certificate of %s", o->control_key, o->control_cert);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* ---- the rogue CA --------------------------------------------------------------- */

static int load_ca(mitm_pki *pki, const char *key_file, const mitm_pki_options *o, char *err, size_t errlen)
{
	STACK_OF(X509) *sk = load_certs(pki->ca_file, err, errlen);
	int day, sec;

	if (!sk)
		return -1;
	pki->ca = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	if (!(pki->ca_key = load_key(key_file, err, errlen)))
		return -1;
	if (X509_check_private_key(pki->ca, pki->ca_key) != 1 || X509_check_ca(pki->ca) < 1) {
		snprintf(err, errlen, "%s is not a CA certificate for %s; remove both to make a new rogue CA",
			pki->ca_file, key_file);
		ERR_clear_error();
		return -1;
	}
	/* Leaves live LEAF_DAYS; a CA that ends before them would turn every attack into "expired". */
	(void)o;
	if (ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(pki->ca)) != 1 || day < LEAF_DAYS + 1) {
		snprintf(err, errlen, "the rogue CA %s expires within %d days; remove rogue-ca.pem and "
			"rogue-ca.key from the directory to make a new one (and install that in the client)",
			pki->ca_file, LEAF_DAYS + 1);
		ERR_clear_error();
		return -1;
	}
	pki->ca_reused = 1;
	return 0;
}

static int make_ca(mitm_pki *pki, const char *key_file, const mitm_pki_options *o, char *err, size_t errlen)
{
	cert_spec s;

	if (!(pki->ca_key = EVP_EC_gen("P-256"))) {
		set_err(err, errlen, "cannot generate the rogue CA key");
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.key = pki->ca_key;
	s.cn = "certpin mitm rogue CA - test only";
	s.org = "certpin mitm - never trust in production";
	s.is_ca = 1;
	s.not_before = o->now - 86400;
	s.not_after = o->now + (int64_t)CA_DAYS * 86400;
	if (!(pki->ca = make_cert(&s))) {
		set_err(err, errlen, "cannot make the rogue CA certificate");
		return -1;
	}
	/* Key first: a certificate without its key would block the next run. */
	if (write_key(key_file, pki->ca_key, err, errlen) != 0 ||
			mitm_write_cert(pki->ca_file, pki->ca, err, errlen) != 0)
		return -1;
	return 0;
}

static int setup_ca(mitm_pki *pki, const mitm_pki_options *o, char *err, size_t errlen)
{
	char key_file[1100];
	int have_cert, have_key;

	if (path_in(pki->ca_file, sizeof(pki->ca_file), o->dir, "rogue-ca.pem", err, errlen) != 0 ||
			path_in(key_file, sizeof(key_file), o->dir, "rogue-ca.key", err, errlen) != 0)
		return -1;
	have_cert = exists(pki->ca_file);
	have_key = exists(key_file);
	if (have_cert < 0 || have_key < 0) {
		snprintf(err, errlen, "cannot inspect %s: %s", o->dir, strerror(errno));
		return -1;
	}
	if (have_cert && have_key)
		return load_ca(pki, key_file, o, err, errlen);
	if (have_cert || have_key) {
		snprintf(err, errlen, "%s has only one of rogue-ca.pem and rogue-ca.key; remove it to make a new rogue CA",
			o->dir);
		return -1;
	}
	return make_ca(pki, key_file, o, err, errlen);
}

/* ---- the leaves -------------------------------------------------------------------- */

/* "*." + host without its two leftmost labels, or "" if host has fewer than three labels. */
static void too_deep_pattern(char *out, size_t outlen, const char *host)
{
	const char *p = strchr(host, '.');

	out[0] = '\0';
	if (p && (p = strchr(p + 1, '.')) != NULL && p[1] != '\0')
		snprintf(out, outlen, "*.%s", p + 1);
}

static int make_leaf(mitm_material *m, mitm_pki *pki, const mitm_pki_options *o, int id,
	char *err, size_t errlen)
{
	cert_spec s;
	char san[300], pattern[CERTPIN_HOSTNAME_MAX + 2];

	memset(&s, 0, sizeof(s));
	s.cn = o->host;
	s.org = "certpin mitm attack";
	s.issuer = pki->ca;
	s.issuer_key = pki->ca_key;
	s.not_before = o->now - 86400;
	s.not_after = o->now + (int64_t)LEAF_DAYS * 86400;
	snprintf(san, sizeof(san), "DNS:%s", o->host);
	s.san = san;
	switch (id) {
	case MITM_SELF_SIGNED:
		s.issuer = NULL;
		s.issuer_key = NULL;
		break;
	case MITM_ROGUE_CA:
		break;
	case MITM_EXPIRED:
		s.not_before = o->now - 395 * 86400LL;
		s.not_after = o->now - 30 * 86400LL;
		break;
	case MITM_WRONG_HOST:
		s.san = "DNS:" WRONG_HOST_NAME;
		break;
	case MITM_WILDCARD_TOO_DEEP:
		too_deep_pattern(pattern, sizeof(pattern), o->host);
		snprintf(san, sizeof(san), "DNS:%s", pattern);
		s.cn = pattern;
		break;
	case MITM_WEAK_KEY:
		break;
	default:
		snprintf(err, errlen, "internal error: no leaf for attack %d", id);
		return -1;
	}
	m->key = id == MITM_WEAK_KEY ? EVP_RSA_gen(1024) : EVP_EC_gen("P-256");
	if (!m->key) {
		set_err(err, errlen, "cannot generate a key");
		return -1;
	}
	s.key = m->key;
	ERR_clear_error();
	if (!(m->leaf = make_cert(&s)) || !(m->chain = sk_X509_new_null())) {
		set_err(err, errlen, "cannot make an attack certificate");
		return -1;
	}
	return 0;
}

/* chain-injection: the rogue-ca leaf and key, then every real certificate. */
static int make_injection(mitm_material *m, const mitm_material *rogue, STACK_OF(X509) *real,
	char *err, size_t errlen)
{
	if (!(m->chain = sk_X509_new_null()))
		goto nomem;
	for (int i = 0; i < sk_X509_num(real); i++) {
		X509 *x = sk_X509_value(real, i);

		if (!sk_X509_push(m->chain, x))
			goto nomem;
		X509_up_ref(x);
	}
	m->leaf = rogue->leaf;
	m->key = rogue->key;
	X509_up_ref(m->leaf);
	EVP_PKEY_up_ref(m->key);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int save_material(const mitm_material *m, mitm_attack_info *a, const char *dir, int id,
	char *err, size_t errlen)
{
	char path[1100], name[64];

	snprintf(a->file, sizeof(a->file), "attack-%s.pem", mitm_attack_name(id));
	snprintf(name, sizeof(name), "attack-%s.key", mitm_attack_name(id));
	if (path_in(path, sizeof(path), dir, name, err, errlen) != 0 || write_key(path, m->key, err, errlen) != 0 ||
			path_in(path, sizeof(path), dir, a->file, err, errlen) != 0 ||
			write_chain(path, m->leaf, m->chain, err, errlen) != 0)
		return -1;
	return 0;
}

static int remove_material(const char *dir, int id, char *err, size_t errlen)
{
	static const char *const ext[] = { "pem", "key" };
	char name[64], path[1100];

	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "attack-%s.%s", mitm_attack_name(id), ext[k]);
		if (path_in(path, sizeof(path), dir, name, err, errlen) != 0)
			return -1;
		/* unlink() removes a symlink itself, never its target. */
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* What each selected attack needs, decided before anything is written: sets runnable, or skip. */
static void decide_runnable(mitm_run *run, const mitm_pki_options *o)
{
	char pattern[CERTPIN_HOSTNAME_MAX + 2];

	for (int i = 0; i < MITM_NATTACKS; i++) {
		mitm_attack_info *a = &run->attacks[i];

		a->runnable = a->selected;
		if (!a->selected)
			continue;
		if (i == MITM_CONTROL && !o->control_cert) {
			a->runnable = 0;
			snprintf(a->skip, sizeof(a->skip), "needs --control-cert and --control-key");
		} else if (i == MITM_CHAIN_INJECTION && !o->real_chain && !o->control_cert) {
			a->runnable = 0;
			snprintf(a->skip, sizeof(a->skip), "needs --real-chain (or --control-cert)");
		} else if (i == MITM_WILDCARD_TOO_DEEP) {
			too_deep_pattern(pattern, sizeof(pattern), o->host);
			if (!pattern[0]) {
				a->runnable = 0;
				snprintf(a->skip, sizeof(a->skip), "needs a host name with at least three labels");
			}
		}
	}
}

/* Make and save every runnable attack's certificate and key (the control's are the tester's).  0 or an exit status. */
static int make_attacks(mitm_pki *pki, mitm_run *run, const mitm_pki_options *o, STACK_OF(X509) *real,
	char *err, size_t errlen)
{
	for (int i = 0; i < MITM_NATTACKS; i++) {
		mitm_attack_info *a = &run->attacks[i];
		mitm_material *m = &pki->m[i];

		if (!a->runnable)
			continue;
		if (i == MITM_CONTROL) {
			describe(a, m);
			continue;
		}
		if (i == MITM_CHAIN_INJECTION) {
			/* Shares the rogue-ca leaf; made even if rogue-ca itself is not selected. */
			if (!pki->m[MITM_ROGUE_CA].leaf &&
					make_leaf(&pki->m[MITM_ROGUE_CA], pki, o, MITM_ROGUE_CA, err, errlen) != 0)
				return CLI_EXIT_INTERNAL;
			if (make_injection(m, &pki->m[MITM_ROGUE_CA], real, err, errlen) != 0)
				return CLI_EXIT_INTERNAL;
		} else if (!m->leaf && make_leaf(m, pki, o, i, err, errlen) != 0) {
			return CLI_EXIT_INTERNAL;
		}
		if (save_material(m, a, o->dir, i, err, errlen) != 0)
			return CLI_EXIT_USAGE;
		describe(a, m);
	}
	return 0;
}

int mitm_pki_setup(mitm_pki *pki, mitm_run *run, const mitm_pki_options *o, char *err, size_t errlen)
{
	STACK_OF(X509) *real = NULL;
	int rc = CLI_EXIT_USAGE;

	memset(pki, 0, sizeof(*pki));
	err[0] = '\0';
	decide_runnable(run, o);

	/* The tester's files first: a typo should not leave a half-made directory. */
	if (run->attacks[MITM_CONTROL].runnable && load_control(&pki->m[MITM_CONTROL], o, err, errlen) != 0)
		goto out;
	if (run->attacks[MITM_CHAIN_INJECTION].runnable &&
	    !(real = load_certs(o->real_chain ? o->real_chain : o->control_cert, err, errlen)))
		goto out;
	if (ensure_dir(o->dir, err, errlen) != 0 || setup_ca(pki, o, err, errlen) != 0)
		goto out;
	/* The directory describes the last run only: drop files of attacks not made now. */
	for (int i = 0; i < MITM_NATTACKS; i++)
		if (i != MITM_CONTROL && !run->attacks[i].runnable && remove_material(o->dir, i, err, errlen) != 0)
			goto out;
	rc = make_attacks(pki, run, o, real, err, errlen);
out:
	sk_X509_pop_free(real, X509_free);
	return rc;
}

void mitm_pki_free(mitm_pki *pki)
{
	if (!pki)
		return;
	for (int i = 0; i < MITM_NATTACKS; i++) {
		X509_free(pki->m[i].leaf);
		EVP_PKEY_free(pki->m[i].key);
		sk_X509_pop_free(pki->m[i].chain, X509_free);
	}
	X509_free(pki->ca);
	EVP_PKEY_free(pki->ca_key);
	memset(pki, 0, sizeof(*pki));
}
