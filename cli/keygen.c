/*
 * certpin keygen --backup: create a backup key pair and a CSR for it, and
 * print the key's pin, so the pin can ship in clients long before the key is
 * ever used on a server.  Key generation is a tool concern, so it lives here
 * and not in the library; the pin itself is computed by the library from the
 * CSR, exactly as "certpin pin backup.csr" would.
 */
#include "common.h"
#include "interop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define KEY_NAME "backup.key"
#define CSR_NAME "backup.csr"
#define DEFAULT_SUBJECT "/CN=certpin backup key"
#define SUBJECT_MAX 1024

void usage_keygen(FILE *f)
{
	fputs("usage: certpin keygen --backup --out DIR [--type TYPE] [--subject DN]\n"
		"                      [--json] [--format STYLE]\n"
		"\n"
		"Create a backup key (DIR/backup.key, unencrypted PKCS#8 PEM, mode 0600) and a\n"
		"certificate signing request for it (DIR/backup.csr), and print the key's pin.\n"
		"Add the pin to your policy now; keep the key offline until the current key\n"
		"must be replaced, then get the CSR signed.  DIR is created (mode 0700) if it\n"
		"does not exist; existing files are never overwritten.\n"
		"\n"
		"      --backup         create a backup key (required; the only mode)\n"
		"  -o, --out DIR        output directory\n"
		"      --type TYPE      p256 (default), p384, rsa2048, rsa3072, rsa4096, ed25519\n"
		"      --subject DN     CSR subject, e.g. \"/CN=api.example.com/O=Example\"\n"
		"                       (default \"" DEFAULT_SUBJECT "\"; '\\' escapes '/')\n"
		"  -j, --json           print a JSON object instead of text\n"
		"  -f, --format STYLE   pin style: default, curl, hpkp, hex, base64\n"
		"\n"
		"Same as: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out backup.key\n"
		"         openssl req -new -key backup.key -subj \"/CN=...\" -out backup.csr\n"
		"         certpin pin backup.csr\n", f);
}

static const struct key_type {
	const char *name;
	const char *alg;        /* EVP_PKEY_Q_keygen type */
	const char *curve;      /* EC only */
	size_t bits;            /* RSA only */
} key_types[] = {
	{ "p256", "EC", "P-256", 0 },
	{ "p384", "EC", "P-384", 0 },
	{ "rsa2048", "RSA", NULL, 2048 },
	{ "rsa3072", "RSA", NULL, 3072 },
	{ "rsa4096", "RSA", NULL, 4096 },
	{ "ed25519", "ED25519", NULL, 0 },
};

static EVP_PKEY *generate(const struct key_type *t)
{
	if (t->curve)
		return EVP_PKEY_Q_keygen(NULL, NULL, t->alg, t->curve);
	if (t->bits)
		return EVP_PKEY_Q_keygen(NULL, NULL, t->alg, t->bits);
	return EVP_PKEY_Q_keygen(NULL, NULL, t->alg);
}

/*
 * The CSR subject for output, in the order given and written in the CSR
 * ("CN=api.example.com,O=Example"; RFC 2253 escaping, not its reversed
 * order, so the text and JSON output read like --subject and openssl req).
 */
static void subject_text(char *out, size_t len, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, (XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV)) >= 0 &&
	    (n = BIO_get_mem_data(b, &data)) > 0)
		snprintf(out, len, "%.*s", (int)n, data);
	BIO_free(b);
}

/* Parse "/F=V/F=V..." ('\' escapes the next character) into a new X509_NAME; NULL after a message. */
static X509_NAME *parse_subject(const char *s)
{
	char field[64], value[SUBJECT_MAX];
	X509_NAME *name = NULL;
	size_t i = 1, entries = 0;

	if (strlen(s) > SUBJECT_MAX || s[0] != '/') {
		cli_error("keygen: --subject must look like \"/CN=name/O=org\" (at most %d bytes)", SUBJECT_MAX);
		return NULL;
	}
	if (!(name = X509_NAME_new())) {
		cli_error("out of memory");
		return NULL;
	}
	while (s[i]) {
		size_t nf = 0, nv = 0;
		while (s[i] && s[i] != '=' && s[i] != '/' && nf + 1 < sizeof(field))
			field[nf++] = s[i++];
		field[nf] = '\0';
		if (s[i] != '=' || nf == 0) {
			cli_error("keygen: --subject: expected FIELD=VALUE at \"%.40s\"", s + i - nf);
			goto err;
		}
		i++;
		while (s[i] && s[i] != '/') {
			if (s[i] == '\\' && s[i + 1])
				i++;
			value[nv++] = s[i++];
		}
		value[nv] = '\0';
		if (s[i] == '/')
			i++;
		if (nv == 0) {
			cli_error("keygen: --subject: empty value for %s", field);
			goto err;
		}
		if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0)) {
			cli_error("keygen: --subject: unknown field or bad value for \"%s\"", field);
			ERR_clear_error();
			goto err;
		}
		entries++;
	}
	if (entries == 0) {
		cli_error("keygen: --subject has no FIELD=VALUE");
		goto err;
	}
	return name;
err:
	X509_NAME_free(name);
	return NULL;
}

/* Create `path` exclusively with `mode`; -1 after a message. */
static int create_excl(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		if (errno == EEXIST)
			cli_error("keygen: %s exists; refusing to overwrite it", path);
		else
			cli_error("keygen: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0) {
		cli_error("keygen: %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* Write all of `len` bytes and sync; 0 or -1 after a message. */
static int write_all(int fd, const char *path, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cli_error("keygen: %s: %s", path, n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0) {
		cli_error("keygen: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* PEM text of a private key (PKCS#8) or a CSR in a memory BIO; NULL on error. */
static BIO *pem_of(EVP_PKEY *key, X509_REQ *req)
{
	/* The private key's PEM stays in OpenSSL's secure heap, wiped on free. */
	BIO *b = BIO_new(key ? BIO_s_secmem() : BIO_s_mem());

	if (!b)
		return NULL;
	if ((key && !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) ||
	    (req && !PEM_write_bio_X509_REQ(b, req))) {
		BIO_free(b);
		return NULL;
	}
	return b;
}

/* One run: the files it claims and what it makes, freed by keygen_free(). */
typedef struct keygen {
	char *key_path, *csr_path;
	int key_fd, csr_fd;
	int created;            /* 1: the key file is ours, 2: both are (removed unless the run succeeds) */
	EVP_PKEY *key;
	X509_REQ *req;
	BIO *key_pem, *csr_pem;
	certpin_item *items;    /* the CSR, read back */
	size_t count;
	unsigned char *spki;
} keygen;

static void keygen_free(keygen *k)
{
	if (k->key_fd >= 0)
		close(k->key_fd);
	if (k->csr_fd >= 0)
		close(k->csr_fd);
	/* A failed run leaves nothing behind (only files this run created). */
	if (k->created >= 1)
		unlink(k->key_path);
	if (k->created >= 2)
		unlink(k->csr_path);
	OPENSSL_free(k->spki);
	certpin_items_free(k->items, k->count);
	BIO_free(k->key_pem);
	BIO_free(k->csr_pem);
	X509_REQ_free(k->req);
	EVP_PKEY_free(k->key);
	free(k->key_path);
	free(k->csr_path);
}

/* The option values: 0, or CLI_EXIT_USAGE after a message. */
static int check_args(int backup, const char *dir, const char *type_name, const char *style_name,
	const struct key_type **type, certpin_pin_style *style)
{
	if (!backup) {
		cli_error("keygen: --backup is required (it is the only mode)");
		return CLI_EXIT_USAGE;
	}
	if (!dir) {
		cli_error("keygen: --out DIR is required");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(type_name, key_types[i].name) == 0)
			*type = &key_types[i];
	if (!*type) {
		cli_error("keygen: unknown --type '%s' (p256, p384, rsa2048, rsa3072, rsa4096, ed25519)", type_name);
		return CLI_EXIT_USAGE;
	}
	if (style_name && cli_parse_style(style, style_name) != 0) {
		cli_error("keygen: unknown --format '%s' (default, curl, hpkp, hex, base64)", style_name);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* DIR/backup.key and DIR/backup.csr, both created before anything is generated (never replaced).  0 or an exit status. */
static int claim_files(keygen *k, const char *dir)
{
	size_t dl = strlen(dir);

	k->key_path = malloc(dl + sizeof(KEY_NAME) + 1);
	k->csr_path = malloc(dl + sizeof(CSR_NAME) + 1);
	if (!k->key_path || !k->csr_path) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	snprintf(k->key_path, dl + sizeof(KEY_NAME) + 1, "%s/%s", dir, KEY_NAME);
	snprintf(k->csr_path, dl + sizeof(CSR_NAME) + 1, "%s/%s", dir, CSR_NAME);
	if (cli_ensure_dir("keygen", dir) != 0)
		return CLI_EXIT_USAGE;
	if ((k->key_fd = create_excl(k->key_path, 0600)) < 0)
		return CLI_EXIT_USAGE;
	k->created = 1;
	if ((k->csr_fd = create_excl(k->csr_path, 0644)) < 0)
		return CLI_EXIT_USAGE;
	k->created = 2;
	return 0;
}

/* Generate the key and its CSR, both as PEM.  0, or -1 after a message. */
static int make_key_and_csr(keygen *k, const struct key_type *type, X509_NAME *name)
{
	if (!(k->key = generate(type))) {
		cli_error("keygen: key generation failed (%s)", type->name);
		return -1;
	}
	if (!(k->req = X509_REQ_new()) || !X509_REQ_set_version(k->req, 0) ||
	    !X509_REQ_set_subject_name(k->req, name) || !X509_REQ_set_pubkey(k->req, k->key)) {
		cli_error("keygen: cannot build the CSR");
		return -1;
	}
	/* Ed25519 signs the message itself: no separate digest. */
	if (X509_REQ_sign(k->req, k->key, EVP_PKEY_get_base_id(k->key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0) {
		cli_error("keygen: cannot sign the CSR");
		return -1;
	}
	if (!(k->key_pem = pem_of(k->key, NULL)) || !(k->csr_pem = pem_of(NULL, k->req))) {
		cli_error("keygen: cannot encode the key or CSR");
		return -1;
	}
	return 0;
}

/*
 * The pin, from the CSR by the library (what "certpin pin backup.csr"
 * prints), cross-checked against the key's own SubjectPublicKeyInfo: the
 * CSR read back in k->items.  0, or -1 after a message.
 */
static int read_back(keygen *k)
{
	char *csr_text = NULL;
	long csr_len = BIO_get_mem_data(k->csr_pem, &csr_text);
	int lrc = certpin_items_from_data(&k->items, &k->count, csr_text, (size_t)csr_len);
	certpin_pin from_key;
	int spki_len;

	if (lrc != CERTPIN_OK || k->count != 1 || k->items[0].type != CERTPIN_ITEM_CSR) {
		cli_error("keygen: cannot read back the CSR: %s", certpin_strerror(lrc));
		return -1;
	}
	spki_len = i2d_PUBKEY(k->key, &k->spki);
	if (spki_len <= 0 || certpin_pin_from_spki_der(&from_key, k->spki, (size_t)spki_len) != CERTPIN_OK ||
	    !certpin_pin_equal(&from_key, &k->items[0].spki)) {
		cli_error("keygen: the CSR's key does not match the generated key");
		return -1;
	}
	return 0;
}

/* Write and close both files, which are then kept.  0, or -1 after a message. */
static int write_files(keygen *k)
{
	char *key_text = NULL, *csr_text = NULL;
	long key_len = BIO_get_mem_data(k->key_pem, &key_text), csr_len = BIO_get_mem_data(k->csr_pem, &csr_text);

	if (write_all(k->key_fd, k->key_path, key_text, (size_t)key_len) != 0 ||
	    write_all(k->csr_fd, k->csr_path, csr_text, (size_t)csr_len) != 0)
		return -1;
	if (close(k->key_fd) != 0 || close(k->csr_fd) != 0) {
		k->key_fd = k->csr_fd = -1;
		cli_error("keygen: cannot close the output files: %s", strerror(errno));
		return -1;
	}
	k->key_fd = k->csr_fd = -1;
	k->created = 0;   /* keep the files */
	return 0;
}

/* Print the pin and the two files (text or JSON).  0, or -1 after a message. */
static int print_result(const keygen *k, const X509_NAME *name, certpin_pin_style style, int json)
{
	char pin[CERTPIN_PIN_STRLEN], subj[SUBJECT_MAX + 64];
	const certpin_item *csr = &k->items[0];

	cli_pin_string(pin, &csr->spki, style);
	subject_text(subj, sizeof(subj), name);
	if (json) {
		json_t *o = json_object();
		if (!o || json_object_set_new(o, "pin", json_string(pin)) ||
		    json_object_set_new(o, "key_type", json_string(csr->key_type)) ||
		    json_object_set_new(o, "key_file", json_string(k->key_path)) ||
		    json_object_set_new(o, "csr_file", json_string(k->csr_path)) ||
		    json_object_set_new(o, "subject", json_string(subj))) {
			json_decref(o);
			cli_error("out of memory");
			return -1;
		}
		if (cli_json_print(o) != 0) {
			cli_error("keygen: write error");
			return -1;
		}
	} else {
		printf("pin: %s\n", pin);
		printf("key: %s (%s, unencrypted PKCS#8, mode 0600; keep it offline)\n", k->key_path, csr->key_type);
		printf("csr: %s (subject %s)\n", k->csr_path, subj);
	}
	if (fflush(stdout) != 0) {
		cli_error("keygen: write error");
		return -1;
	}
	return 0;
}

int cmd_keygen(int argc, char **argv)
{
	const char *dir = NULL, *type_name = "p256", *subject = DEFAULT_SUBJECT, *style_name = NULL;
	const struct key_type *type = NULL;
	certpin_pin_style style = CERTPIN_STYLE_DEFAULT;
	int backup = 0, json = 0, rc;
	X509_NAME *name = NULL;
	keygen k = { .key_fd = -1, .csr_fd = -1 };
	cli_args args;
	const cli_opt opts[] = {
		CLI_FLAG("--backup", 0, &backup),
		CLI_VALUE("--out", 'o', &dir),
		CLI_VALUE("--type", 0, &type_name),
		CLI_VALUE("--subject", 0, &subject),
		CLI_FLAG("--json", 'j', &json),
		CLI_VALUE("--format", 'f', &style_name),
		CLI_OPT_END,
	};
	const cli_spec spec = { "keygen", usage_keygen, opts, 0, 0, NULL, 0 };

	if ((rc = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return rc;
	if ((rc = check_args(backup, dir, type_name, style_name, &type, &style)) != 0)
		return rc;
	if (!(name = parse_subject(subject)))
		return CLI_EXIT_USAGE;
	if ((rc = claim_files(&k, dir)) == 0) {
		rc = CLI_EXIT_INTERNAL;
		if (make_key_and_csr(&k, type, name) == 0 && read_back(&k) == 0 && write_files(&k) == 0 &&
		    print_result(&k, name, style, json) == 0)
			rc = CLI_EXIT_OK;
	}
	keygen_free(&k);
	X509_NAME_free(name);
	return rc;
}
