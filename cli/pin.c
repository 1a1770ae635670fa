/*
 * certpin pin: print the pins of certificates, keys and CSRs in files, or of
 * the certificate chain a TLS server presents (--connect).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

void usage_pin(FILE *f)
{
	fputs("usage: certpin pin [--json] [--format STYLE] [--cert-pin] FILE...\n"
		"       certpin pin --connect HOST[:PORT] [--servername NAME] [--cafile FILE]\n"
		"                   [--json] [--format STYLE] [--cert-pin]\n"
		"\n"
		"Print the SHA-256 pins of every certificate, public key, private key or CSR\n"
		"in each FILE (PEM or DER; '-' reads standard input), or of the certificate\n"
		"chain a TLS server sends (--connect; port 443 by default, [IPv6]:PORT).\n"
		"\n"
		"  -j, --json             print a JSON array instead of text\n"
		"  -f, --format STYLE     default (sha256/B64), curl (sha256//B64), hpkp\n"
		"                         (pin-sha256=\"B64\"), hex or base64\n"
		"      --cert-pin         print the whole-certificate pin (cert-sha256/...) of\n"
		"                         certificates instead of the public-key pin\n"
		"      --connect HOST     fetch the chain from a TLS server (TLS 1.2 or later)\n"
		"  -s, --servername NAME  SNI and verification name (default: HOST)\n"
		"  -c, --cafile FILE      trust anchors for verification (default: system store)\n", f);
}

typedef struct pin_opts {
	int json;
	int cert_pin;
	certpin_pin_style style;
} pin_opts;

/* Read all of standard input; NULL on error (message printed). */
static unsigned char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	unsigned char *buf = malloc(cap);

	if (!buf) {
		cli_error("out of memory");
		return NULL;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			unsigned char *nb;

			if (cap >= CLI_MAX_INPUT) {
				cli_error("-: input larger than %u bytes", CLI_MAX_INPUT);
				free(buf);
				return NULL;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				cli_error("out of memory");
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0) {
			if (ferror(stdin)) {
				cli_error("-: read error");
				free(buf);
				return NULL;
			}
			break;
		}
	}
	*len = n;
	return buf;
}

/* 1 if the file looks like an encrypted PEM private key (for a better message). */
static int looks_encrypted(const char *path)
{
	FILE *f = fopen(path, "rb");
	char line[256];
	int found = 0, lines = 0;

	if (!f)
		return 0;
	while (!found && lines++ < 64 && fgets(line, sizeof(line), f))
		found = strstr(line, "ENCRYPTED") != NULL;
	fclose(f);
	return found;
}

static void report_file_error(const char *path, int rc)
{
	if (rc == CERTPIN_E_IO && strcmp(path, "-") != 0) {
		struct stat st;
		FILE *f;

		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			cli_error("%s: %s", path, strerror(EISDIR));
			return;
		}
		errno = 0;
		f = fopen(path, "rb");
		if (!f) {
			cli_error("%s: %s", path, strerror(errno));
			return;
		}
		fclose(f);
	}
	if (rc == CERTPIN_E_UNSUPPORTED && strcmp(path, "-") != 0 && looks_encrypted(path)) {
		cli_error("%s: encrypted private keys are not supported (pin the public key: openssl pkey -in FILE -pubout)", path);
		return;
	}
	cli_error("%s: %s", path, certpin_strerror(rc));
}

/* The pin to show for `item` in text output, honouring --cert-pin. */
static int item_pin(char out[CERTPIN_PIN_STRLEN], const certpin_item *item, const pin_opts *o)
{
	const certpin_pin *pin = &item->spki;

	if (o->cert_pin) {
		if (item->type != CERTPIN_ITEM_CERT)
			return CERTPIN_E_UNSUPPORTED;
		pin = &item->cert;
	}
	return certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, o->style);
}

static int print_item_text(const char *label, const certpin_item *item, const pin_opts *o)
{
	char pin[CERTPIN_PIN_STRLEN];
	char date[32];
	int rc = item_pin(pin, item, o);

	if (rc != CERTPIN_OK) {
		if (o->cert_pin && item->type != CERTPIN_ITEM_CERT)
			cli_error("%s: --cert-pin needs a certificate, this is a %s", label, cli_item_type_name(item->type));
		else
			cli_error("%s: --format cannot express this pin: %s", label, certpin_strerror(rc));
		return CLI_EXIT_USAGE;
	}
	printf("%s: %s %s %s", label, cli_item_type_name(item->type), item->key_type, pin);
	if (item->subject)
		printf("  subject=%s", item->subject);
	if (item->type == CERTPIN_ITEM_CERT) {
		cli_time_date(date, item->not_after);
		printf(" notAfter=%s", date);
	}
	putchar('\n');
	return CLI_EXIT_OK;
}

static int pin_file(const char *path, const pin_opts *o, json_t *array)
{
	certpin_item *items = NULL;
	size_t count = 0;
	int rc, status = CLI_EXIT_OK;

	if (strcmp(path, "-") == 0) {
		size_t len = 0;
		unsigned char *data = read_stdin(&len);

		if (!data)
			return CLI_EXIT_USAGE;
		rc = certpin_items_from_data(&items, &count, data, len);
		free(data);
	} else {
		rc = certpin_items_from_file(&items, &count, path);
	}
	if (rc != CERTPIN_OK) {
		report_file_error(path, rc);
		return rc == CERTPIN_E_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < count; i++) {
		if (array) {
			json_t *obj;

			if (o->cert_pin && items[i].type != CERTPIN_ITEM_CERT) {
				if (count > 1)
					cli_error("%s#%zu: --cert-pin needs a certificate, this is a %s", path, i,
						cli_item_type_name(items[i].type));
				else
					cli_error("%s: --cert-pin needs a certificate, this is a %s", path,
						cli_item_type_name(items[i].type));
				status = CLI_EXIT_USAGE;
				continue;
			}
			obj = cli_item_json(&items[i], o->style);
			if (!obj || json_object_set_new(obj, "file", json_string(path)) != 0 ||
					json_object_set_new(obj, "index", json_integer((json_int_t)i)) != 0 ||
					json_array_append_new(array, obj) != 0) {
				cli_error("out of memory");
				status = CLI_EXIT_INTERNAL;
				break;
			}
		} else {
			char label[4096];
			int r;

			if (count > 1)
				snprintf(label, sizeof(label), "%s#%zu", path, i);
			else
				snprintf(label, sizeof(label), "%s", path);
			r = print_item_text(label, &items[i], o);
			if (r != CLI_EXIT_OK)
				status = r;
		}
	}
	certpin_items_free(items, count);
	return status;
}

/* ---- --connect ------------------------------------------------------------ */

static const char *chain_position(size_t i, size_t n, const certpin_item *item, int verified)
{
	if (i == 0)
		return "leaf";
	if (verified)
		return i + 1 == n ? "root" : "intermediate";
	/* Peer-sent list: only a self-signed certificate can be a root. */
	return item && item->self_signed ? "root" : "intermediate";
}

/* Print (or append to `array`) every certificate of `chain`. */
static int print_chain(STACK_OF(X509) *chain, int verified, const pin_opts *o, json_t *array)
{
	int n = sk_X509_num(chain);

	for (int i = 0; i < n; i++) {
		certpin_item *items = NULL;
		size_t count = 0;
		const char *pos;
		int rc = cli_items_from_x509(&items, &count, sk_X509_value(chain, i));

		if (rc != CERTPIN_OK || count != 1) {
			cli_error("certificate %d of the chain: %s", i, certpin_strerror(rc));
			certpin_items_free(items, count);
			return rc == CERTPIN_E_NOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_TLS;
		}
		pos = chain_position((size_t)i, (size_t)n, &items[0], verified);
		if (array) {
			json_t *obj = cli_item_json(&items[0], o->style);

			if (!obj || json_object_set_new(obj, "depth", json_integer(i)) != 0 ||
					json_object_set_new(obj, "position", json_string(pos)) != 0 ||
					json_array_append_new(array, obj) != 0) {
				certpin_items_free(items, count);
				cli_error("out of memory");
				return CLI_EXIT_INTERNAL;
			}
		} else {
			char pin[CERTPIN_PIN_STRLEN], date[32];

			if (item_pin(pin, &items[0], o) != CERTPIN_OK)
				cli_pin_string(pin, o->cert_pin ? &items[0].cert : &items[0].spki, CERTPIN_STYLE_DEFAULT);
			cli_time_date(date, items[0].not_after);
			printf("  %d %-12s %s %s\n", i, pos, items[0].key_type, pin);
			printf("      subject=%s\n      issuer=%s\n      notAfter=%s\n",
				items[0].subject ? items[0].subject : "",
				items[0].issuer ? items[0].issuer : "", date);
		}
		certpin_items_free(items, count);
	}
	return CLI_EXIT_OK;
}

/* What pin --connect found: the server, the TLS connection and both chains. */
typedef struct peer_info {
	const cli_target *t;
	const cli_conn *c;
	const char *name;               /* SNI and verification name */
	long vr;                        /* OpenSSL's verification result */
	STACK_OF(X509) *peer;           /* as sent */
	STACK_OF(X509) *verified;       /* as verified, or NULL */
} peer_info;

static int connect_text(const peer_info *p, const char *cafile, const pin_opts *o)
{
	int status;

	printf("connected: %s port %s (%s), %s, servername %s\n", p->t->host, p->t->port, p->c->address,
		SSL_get_version(p->c->ssl), p->name);
	if (p->vr == X509_V_OK)
		printf("verification: ok (trust anchors: %s)\n", cafile ? cafile : "system store");
	else
		printf("verification: FAILED: %s (pins below are not validated)\n",
			X509_verify_cert_error_string(p->vr));
	printf("peer chain (%d certificates, as sent by the server):\n", sk_X509_num(p->peer));
	if ((status = print_chain(p->peer, 0, o, NULL)) != CLI_EXIT_OK)
		return status;
	if (!p->verified) {
		printf("verified chain: none\n");
		return CLI_EXIT_OK;
	}
	printf("verified chain (%d certificates):\n", sk_X509_num(p->verified));
	return print_chain(p->verified, 1, o, NULL);
}

static int connect_json(const peer_info *p, const pin_opts *o)
{
	json_t *root = json_object(), *peer = json_array(), *verified = p->verified ? json_array() : NULL;
	int status, bad = 0;

	if (!root || !peer || (p->verified && !verified)) {
		cli_error("out of memory");
		status = CLI_EXIT_INTERNAL;
		goto out;
	}
	if ((status = print_chain(p->peer, 0, o, peer)) != CLI_EXIT_OK ||
	    (p->verified && (status = print_chain(p->verified, 1, o, verified)) != CLI_EXIT_OK))
		goto out;
	bad |= json_object_set_new(root, "host", json_string(p->t->host));
	bad |= json_object_set_new(root, "port", json_integer(atoi(p->t->port)));
	bad |= json_object_set_new(root, "address", json_string(p->c->address));
	bad |= json_object_set_new(root, "servername", json_string(p->name));
	bad |= json_object_set_new(root, "tls_version", json_string(SSL_get_version(p->c->ssl)));
	bad |= json_object_set_new(root, "verified", json_boolean(p->vr == X509_V_OK));
	bad |= json_object_set_new(root, "verify_error",
		p->vr == X509_V_OK ? json_null() : json_string(X509_verify_cert_error_string(p->vr)));
	bad |= json_object_set_new(root, "peer_chain", peer);
	peer = NULL;
	bad |= json_object_set_new(root, "verified_chain", verified ? verified : json_null());
	verified = NULL;
	if (!bad) {
		bad = cli_json_print(root) != 0;        /* takes root */
		root = NULL;
	}
	if (bad) {
		cli_error("cannot write JSON output");
		status = CLI_EXIT_INTERNAL;
	}
out:
	json_decref(root);
	json_decref(peer);
	json_decref(verified);
	return status;
}

static int pin_connect(const char *target, const char *servername, const char *cafile, const pin_opts *o)
{
	cli_target t;
	cli_conn c;
	SSL_CTX *ctx;
	peer_info p = { &t, &c, NULL, 0, NULL, NULL };
	int status, exit_code = CLI_EXIT_INTERNAL;

	if (cli_parse_target(&t, target) != 0)
		return CLI_EXIT_USAGE;
	p.name = servername ? servername : t.host;
	ctx = cli_ssl_ctx_new(cafile, &exit_code);
	if (!ctx)
		return exit_code;
	/* Discovery: complete the handshake even if verification fails, then report it. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	status = cli_tls_connect(&c, ctx, &t, p.name, p.name);
	if (status != 0) {
		cli_error("%s: %s", target, c.error);
	} else {
		p.vr = SSL_get_verify_result(c.ssl);
		p.peer = SSL_get_peer_cert_chain(c.ssl);
		p.verified = p.vr == X509_V_OK ? SSL_get0_verified_chain(c.ssl) : NULL;
		if (!p.peer || sk_X509_num(p.peer) == 0) {
			cli_error("%s: the server sent no certificate", target);
			status = CLI_EXIT_TLS;
		} else {
			status = o->json ? connect_json(&p, o) : connect_text(&p, cafile, o);
		}
	}
	cli_conn_close(&c);
	SSL_CTX_free(ctx);
	return status;
}

/* ---- entry ------------------------------------------------------------------ */

int cmd_pin(int argc, char **argv)
{
	const char *format = NULL, *connect = NULL, *servername = NULL, *cafile = NULL;
	pin_opts o = { 0, 0, CERTPIN_STYLE_DEFAULT };
	int status;
	cli_args args;
	json_t *array = NULL;
	const cli_opt opts[] = {
		CLI_FLAG("--json", 'j', &o.json),
		CLI_FLAG("--cert-pin", 0, &o.cert_pin),
		CLI_VALUE("--format", 'f', &format),
		CLI_VALUE("--connect", 0, &connect),
		CLI_VALUE("--servername", 's', &servername),
		CLI_VALUE("--cafile", 'c', &cafile),
		CLI_OPT_END,
	};
	const cli_spec spec = { "pin", usage_pin, opts, 0, CLI_ANY, NULL, 0 };

	if ((status = cli_start(&args, &spec, argc, argv)) != CLI_RUN)
		return status;
	status = CLI_EXIT_OK;
	if (format && cli_parse_style(&o.style, format) != 0) {
		cli_error("pin: unknown --format '%s' (default, curl, hpkp, hex, base64)", format);
		return CLI_EXIT_USAGE;
	}
	if (o.cert_pin && (o.style == CERTPIN_STYLE_CURL || o.style == CERTPIN_STYLE_HPKP)) {
		cli_error("pin: --format %s cannot express certificate pins (--cert-pin)", format);
		return CLI_EXIT_USAGE;
	}
	if (connect) {
		if (args.n != 0) {
			cli_error("pin: --connect takes no FILE arguments");
			return CLI_EXIT_USAGE;
		}
		return pin_connect(connect, servername, cafile, &o);
	}
	if (servername || cafile) {
		cli_error("pin: --servername and --cafile need --connect");
		return CLI_EXIT_USAGE;
	}
	if (args.n == 0) {
		cli_error("pin: no FILE given (see certpin help pin)");
		return CLI_EXIT_USAGE;
	}
	if (o.json && !(array = json_array())) {
		cli_error("out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < args.n; i++) {
		int r = pin_file(args.operands[i], &o, array);

		if (r > status)
			status = r;
	}
	if (array && cli_json_print(array) != 0) {
		cli_error("cannot write JSON output");
		status = CLI_EXIT_INTERNAL;
	}
	return status;
}
