/* Helpers shared by the certpin subcommands.  See common.h. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

/* ---- messages ----------------------------------------------------------- */

int cli_exit_for_handshake(int handshake_ok, int rc)
{
	if (handshake_ok) {
		if (rc == CERTPIN_E_STATE)
			return CLI_EXIT_INTERNAL;
		return rc == CERTPIN_OK ? CLI_EXIT_OK : cli_exit_for(rc);
	}
	if (rc == CERTPIN_E_PIN_MISMATCH || rc == CERTPIN_E_PINSET_EXPIRED)
		return CLI_EXIT_REFUSED;
	return CLI_EXIT_TLS;
}

/* For "check --json" and the like, which also put the message in their output. */
static _Thread_local char last_error[512];

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	fputs("certpin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_last_error(void)
{
	return last_error;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("certpin: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warning_cb(const certpin_error *warning, void *payload)
{
	(void)payload;
	cli_warn("%s", warning->message);
}

int cli_exit_for(int err)
{
	switch (err) {
	case CERTPIN_OK:
		return CLI_EXIT_OK;
	case CERTPIN_E_PIN_MISMATCH:
	case CERTPIN_E_PINSET_EXPIRED:
		return CLI_EXIT_REFUSED;
	case CERTPIN_E_CHAIN:
	case CERTPIN_E_PKIX:
	case CERTPIN_E_TLS:
		return CLI_EXIT_TLS;
	case CERTPIN_E_NOMEM:
	case CERTPIN_E_INVALID_ARG:
	case CERTPIN_E_STATE:
		return CLI_EXIT_INTERNAL;
	default:
		return CLI_EXIT_USAGE;
	}
}

int cli_ensure_dir(const char *cmd, const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		cli_error("%s: cannot create directory %s: %s", cmd, dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	/* mkdir() follows no symlink; stat() does, so only a link to a directory passes */
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_error("%s: %s: exists and is not a directory", cmd, dir);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* ---- start-up: options and operands ------------------------------------ */

/* The getopt_long() tables for `opts`; the `val` of a long-only option is 256 + its index.  0 or -1. */
static int getopt_tables(struct option *lo, char *so, const cli_opt *opts)
{
	size_t i;

	*so++ = '-';                    /* operands come back in order, as option 1 */
	*so++ = ':';                    /* a missing value is ':', not '?' */
	*so++ = 'h';
	for (i = 0; opts[i].name; i++) {
		if (i == CLI_MAX_OPTS)
			return -1;
		lo[i].name = opts[i].name + 2;
		lo[i].has_arg = opts[i].flag ? no_argument : required_argument;
		lo[i].flag = NULL;
		lo[i].val = opts[i].letter ? opts[i].letter : 256 + (int)i;
		if (opts[i].letter) {
			*so++ = opts[i].letter;
			if (!opts[i].flag)
				*so++ = ':';
		}
	}
	lo[i] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[i + 1] = (struct option){ NULL, 0, NULL, 0 };
	*so = '\0';
	return 0;
}

/* Index in `opts` of getopt_long()'s return value `c`, or -1. */
static int opt_index(const cli_opt *opts, int c)
{
	for (int i = 0; opts[i].name; i++)
		if (c == (opts[i].letter ? opts[i].letter : 256 + i))
			return i;
	return -1;
}

/* Length of the option name in argument `arg` ("--name=value": "--name"). */
static int name_len(const char *arg)
{
	const char *eq = strchr(arg, '=');

	return (int)(eq ? (size_t)(eq - arg) : strlen(arg));
}

/* 1 if `arg` ("--name" or "--name=value") names a long option of `lo` in full. */
static int whole_long_name(const struct option *lo, const char *arg)
{
	size_t n = (size_t)name_len(arg) - 2;

	for (; lo->name; lo++)
		if (strlen(lo->name) == n && strncmp(lo->name, arg + 2, n) == 0)
			return 1;
	return 0;
}

/*
 * The one-line message for a bad option: `arg` is the argument getopt_long()
 * was reading, `c` what it returned ('?', ':', or an option it took from
 * the unique prefix `arg`, which we refuse).
 */
static int option_error(const cli_opt *opts, const struct option *lo, const char *cmd, int c, const char *arg)
{
	int is_long = strncmp(arg, "--", 2) == 0, n = name_len(arg);

	if (is_long && !whole_long_name(lo, arg))
		cli_error("%s: unknown option '%.*s' (see certpin help %s)", cmd, n, arg, cmd);
	else if (c == ':' && is_long)
		cli_error("%s: option %.*s needs a value", cmd, n, arg);
	else if (c == ':')
		cli_error("%s: option %s needs a value", cmd, opts[opt_index(opts, optopt)].name);
	else if (is_long)
		cli_error("%s: option %.*s takes no value", cmd, n, arg);
	else
		cli_error("%s: unknown option '-%c' (see certpin help %s)", cmd, optopt, cmd);
	return CLI_EXIT_USAGE;
}

/* One option of `opts` (index i) with its value, if any.  0 or an exit status after a message. */
static int take_option(const cli_spec *spec, int i, const char *value, uint64_t *seen)
{
	const cli_opt *o = &spec->opts[i];

	if (o->flag) {
		*o->flag = 1;
		return 0;
	}
	if (value[0] == '\0') {
		cli_error("%s: option %s needs a non-empty value", spec->name, o->name);
		return CLI_EXIT_USAGE;
	}
	if (o->each)
		return o->each(o->payload, o->name, value);
	if (*seen >> i & 1) {
		cli_error("%s: option %s given twice", spec->name, o->name);
		return CLI_EXIT_USAGE;
	}
	*seen |= (uint64_t)1 << i;
	*o->value = value;
	return 0;
}

/*
 * Options into spec->opts, operands into out (argv's slots, each reused only
 * once getopt_long() has passed it).  0, or an exit status after a message
 * with out->unparsed the index of the first argument not read.
 */
static int parse_args(cli_args *out, const cli_spec *spec, int argc, char **argv, int *help)
{
	struct option lo[CLI_MAX_OPTS + 2];
	char so[4 + 2 * CLI_MAX_OPTS];
	uint64_t seen = 0;              /* value options given so far, a bit per entry of opts */
	int c, rc = 0;

	if (getopt_tables(lo, so, spec->opts) != 0) {
		cli_error("%s: too many options", spec->name);
		return CLI_EXIT_INTERNAL;
	}
	optind = 0;                     /* a fresh scan */
	opterr = 0;                     /* our messages, not getopt's */
	for (;;) {
		int at = optind > 0 ? optind : 1, li = -1;    /* argv[at]: the argument read next */

		c = getopt_long(argc, argv, so, lo, &li);
		if (c == -1)
			break;
		if (c == 1)
			out->operands[out->n++] = optarg;
		else if (c == '?' || c == ':' || (li >= 0 && !whole_long_name(lo, argv[at])))
			rc = option_error(spec->opts, lo, spec->name, c, argv[at]);
		else if (c == 'h')
			*help = 1;
		else
			rc = take_option(spec, opt_index(spec->opts, c), optarg, &seen);
		if (rc != 0) {
			out->unparsed = optind;
			return rc;
		}
	}
	while (optind < argc)           /* after "--" */
		out->operands[out->n++] = argv[optind++];
	return 0;
}

static int operands_error(const cli_spec *spec, const cli_args *a)
{
	if (spec->max_operands == 0)
		cli_error("%s: unexpected argument '%s' (see certpin help %s)", spec->name, a->operands[0], spec->name);
	else
		cli_error("%s: expected %s (see certpin help %s)", spec->name, spec->expected, spec->name);
	return CLI_EXIT_USAGE;
}

int cli_start(cli_args *out, const cli_spec *spec, int argc, char **argv)
{
	int help = 0, rc;

	out->operands = argv + 1;
	out->n = 0;
	out->unparsed = argc;
	if ((rc = parse_args(out, spec, argc, argv, &help)) != 0)
		return rc;
	if (help || (spec->subcommands && out->n > 0 && strcmp(out->operands[0], "help") == 0)) {
		spec->usage(stdout);
		return CLI_EXIT_OK;
	}
	if (out->n < spec->min_operands || (spec->max_operands != CLI_ANY && out->n > spec->max_operands))
		return operands_error(spec, out);
	return CLI_RUN;
}

int cli_flag_given(const cli_opt *opts, const char *name, int argc, char **argv)
{
	const cli_opt *o = opts;

	while (o->name && strcmp(o->name, name) != 0)
		o++;
	for (int i = 0; o->name && i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], name) == 0)
			return 1;
		if (argv[i][0] != '-' || argv[i][1] == '-')
			continue;
		/* a group of short options: flags, then at most one option whose value is the rest */
		for (const char *p = argv[i] + 1; *p; p++) {
			int k = opt_index(opts, (unsigned char)*p);

			if (*p == o->letter)
				return 1;
			if (k < 0 || !opts[k].flag)
				break;
		}
	}
	return 0;
}

/* ---- formatting ---------------------------------------------------------- */

int cli_parse_style(certpin_pin_style *out, const char *name)
{
	static const struct {
		const char *name;
		certpin_pin_style style;
	} styles[] = {
		{ "default", CERTPIN_STYLE_DEFAULT },
		{ "curl", CERTPIN_STYLE_CURL },
		{ "hpkp", CERTPIN_STYLE_HPKP },
		{ "hex", CERTPIN_STYLE_HEX },
		{ "base64", CERTPIN_STYLE_BASE64 },
	};

	for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
		if (strcmp(name, styles[i].name) == 0) {
			*out = styles[i].style;
			return 0;
		}
	}
	return -1;
}

void cli_pin_string(char out[CERTPIN_PIN_STRLEN], const certpin_pin *pin, certpin_pin_style style)
{
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, style) == CERTPIN_OK)
		return;
	if (certpin_pin_format(out, CERTPIN_PIN_STRLEN, pin, CERTPIN_STYLE_DEFAULT) == CERTPIN_OK)
		return;
	snprintf(out, CERTPIN_PIN_STRLEN, "(unformattable pin)");
}

static void format_time(char out[32], int64_t t, int date_only)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if ((int64_t)tt == t && gmtime_r(&tt, &tm))
		n = date_only ? strftime(out, 32, "%Y-%m-%d", &tm) : strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (n == 0)
		snprintf(out, 32, "(time out of range)");
}

void cli_time_rfc3339(char out[32], int64_t t)
{
	format_time(out, t, 0);
}

void cli_time_date(char out[32], int64_t t)
{
	format_time(out, t, 1);
}

void cli_hex(char *out, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *cli_item_type_name(certpin_item_type type)
{
	switch (type) {
	case CERTPIN_ITEM_CERT:
		return "cert";
	case CERTPIN_ITEM_PUBKEY:
		return "pubkey";
	case CERTPIN_ITEM_PRIVKEY:
		return "privkey";
	case CERTPIN_ITEM_CSR:
		return "csr";
	}
	return "unknown";
}

json_t *cli_json_str(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

json_t *cli_item_json(const certpin_item *item, certpin_pin_style style)
{
	json_t *o = json_object();
	char pin[CERTPIN_PIN_STRLEN];
	char t[32];
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "type", json_string(cli_item_type_name(item->type)));
	bad |= json_object_set_new(o, "key_type", cli_json_str(item->key_type));
	cli_pin_string(pin, &item->spki, style);
	bad |= json_object_set_new(o, "spki_pin", json_string(pin));
	if (item->type == CERTPIN_ITEM_CERT) {
		cli_pin_string(pin, &item->cert, style);
		bad |= json_object_set_new(o, "cert_pin", json_string(pin));
	}
	if (item->type == CERTPIN_ITEM_CERT || item->type == CERTPIN_ITEM_CSR)
		bad |= json_object_set_new(o, "subject", cli_json_str(item->subject));
	if (item->type == CERTPIN_ITEM_CERT) {
		bad |= json_object_set_new(o, "issuer", cli_json_str(item->issuer));
		cli_time_rfc3339(t, item->not_before);
		bad |= json_object_set_new(o, "not_before", json_string(t));
		cli_time_rfc3339(t, item->not_after);
		bad |= json_object_set_new(o, "not_after", json_string(t));
		bad |= json_object_set_new(o, "self_signed", json_boolean(item->self_signed));
		bad |= json_object_set_new(o, "is_ca", json_boolean(item->is_ca));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int cli_json_print(json_t *root)
{
	int rc;

	if (!root)
		return -1;
	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (rc != 0)
		return -1;
	fputc('\n', stdout);
	return 0;
}

int cli_items_from_x509(certpin_item **out, size_t *count, X509 *cert)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	int rc;

	if (len <= 0)
		return CERTPIN_E_DECODE;
	rc = certpin_items_from_data(out, count, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/* ---- connections ---------------------------------------------------------- */

int cli_is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_port(char out[8], const char *s, const char *arg)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || strspn(s, "0123456789") != n) {
		cli_error("invalid port in '%s'", arg);
		return -1;
	}
	v = strtoul(s, NULL, 10);
	if (v == 0 || v > 65535) {
		cli_error("invalid port in '%s' (1-65535)", arg);
		return -1;
	}
	snprintf(out, 8, "%lu", v);
	return 0;
}

int cli_parse_target(cli_target *out, const char *arg)
{
	const char *host = arg, *port = NULL, *colon;
	size_t hostlen;

	memset(out, 0, sizeof(*out));
	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || (end[1] != '\0' && end[1] != ':')) {
			cli_error("invalid address '%s' (expected [IPv6]:PORT)", arg);
			return -1;
		}
		host = arg + 1;
		hostlen = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
	} else {
		colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':')) {
			hostlen = strlen(arg);        /* bare IPv6 literal */
		} else if (colon) {
			hostlen = (size_t)(colon - arg);
			port = colon + 1;
		} else {
			hostlen = strlen(arg);
		}
	}
	if (hostlen == 0 || hostlen >= sizeof(out->host)) {
		cli_error("invalid host in '%s'", arg);
		return -1;
	}
	memcpy(out->host, host, hostlen);
	out->host[hostlen] = '\0';
	out->host_is_ip = cli_is_ip_literal(out->host);
	if (arg[0] == '[' && !out->host_is_ip) {
		cli_error("invalid IPv6 address in '%s'", arg);
		return -1;
	}
	if (port)
		return parse_port(out->port, port, arg);
	snprintf(out->port, sizeof(out->port), "443");
	return 0;
}

SSL_CTX *cli_ssl_ctx_new(const char *cafile, int *exit_code)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		cli_error("cannot create TLS context");
		*exit_code = CLI_EXIT_INTERNAL;
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (cafile) {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			cli_error("%s: cannot load CA certificates (--cafile)", cafile);
			*exit_code = CLI_EXIT_USAGE;
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		cli_error("cannot load the system trust store");
		*exit_code = CLI_EXIT_TLS;
		SSL_CTX_free(ctx);
		return NULL;
	}
	ERR_clear_error();
	return ctx;
}

int64_t cli_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t left = deadline - cli_mono_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* A non-blocking connect to one address, bounded by `deadline`: 0 or an errno value. */
static int connect_one(int fd, const struct addrinfo *ai, int64_t deadline)
{
	int err = 0, flags = fcntl(fd, F_GETFL, 0), w;
	socklen_t len = sizeof(err);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	w = cli_wait_fd(fd, POLLOUT, deadline);
	if (w <= 0)
		return w == 0 ? ETIMEDOUT : errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return errno;
	return err;
}

int cli_tcp_connect(cli_tcp *t, const char *host, const char *port)
{
	struct addrinfo hints, *res = NULL, *ai;
	int tries = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (cli_is_ip_literal(host) ? AI_NUMERICHOST : 0);
	t->address[0] = '\0';
	t->error = 0;
	t->gai_error = getaddrinfo(host, port, &hints, &res);
	if (t->gai_error != 0)
		return -1;
	for (ai = res; ai && tries < t->max_addrs; ai = ai->ai_next, tries++) {
		int64_t end = t->attempt_ms ? cli_mono_ms() + t->attempt_ms : INT64_MAX;
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (t->deadline && t->deadline < end)
			end = t->deadline;
		if (fd < 0) {
			t->error = errno;
			continue;
		}
		t->error = connect_one(fd, ai, end);
		if (t->error != 0) {
			close(fd);
			if (t->error == ETIMEDOUT && t->deadline && cli_mono_ms() >= t->deadline)
				break;          /* the whole budget is spent */
			continue;
		}
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, t->address, sizeof(t->address), NULL, 0,
				NI_NUMERICHOST) != 0)
			snprintf(t->address, sizeof(t->address), "?");
		freeaddrinfo(res);
		return fd;
	}
	freeaddrinfo(res);
	return -1;
}

const char *cli_tcp_reason(const cli_tcp *t)
{
	if (t->gai_error)
		return gai_strerror(t->gai_error);
	return t->error ? strerror(t->error) : "no usable address";
}

int cli_conn_open(cli_conn *c, const cli_target *t)
{
	struct timeval tv = { CLI_CONNECT_TIMEOUT, 0 };
	cli_tcp tcp = { .max_addrs = 8, .attempt_ms = CLI_CONNECT_TIMEOUT * 1000 };
	int fd, flags;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	fd = cli_tcp_connect(&tcp, t->host, t->port);
	c->resolved = tcp.gai_error == 0;
	if (fd >= 0 && ((flags = fcntl(fd, F_GETFL, 0)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)) {
		tcp.error = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		if (!c->resolved)
			snprintf(c->error, sizeof(c->error), "cannot resolve %s: %s", t->host, cli_tcp_reason(&tcp));
		else
			snprintf(c->error, sizeof(c->error), "cannot connect to %s port %s: %s", t->host, t->port,
				cli_tcp_reason(&tcp));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(c->address, sizeof(c->address), "%s", tcp.address);
	c->fd = fd;
	c->tcp_ok = 1;
	return 0;
}

static void handshake_error(cli_conn *c, int ret)
{
	long vr = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_peek_last_error();
	int sslerr = SSL_get_error(c->ssl, ret);
	char buf[256];

	if (vr != X509_V_OK) {
		snprintf(c->error, sizeof(c->error), "certificate verification failed: %s",
			X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(c->error, sizeof(c->error), "TLS handshake failed: %s", buf);
	} else if (sslerr == SSL_ERROR_SYSCALL && errno != 0) {
		snprintf(c->error, sizeof(c->error), "TLS handshake failed: %s", strerror(errno));
	} else {
		snprintf(c->error, sizeof(c->error), "TLS handshake failed: connection closed by peer");
	}
	ERR_clear_error();
}

int cli_tls_connect(cli_conn *c, SSL_CTX *ctx, const cli_target *t,
	const char *servername, const char *verify_host)
{
	int ret;
	char sni[CERTPIN_HOSTNAME_MAX], vhost[CERTPIN_HOSTNAME_MAX];

	/*
	 * Send and verify the normalized name (lower case, no trailing dot):
	 * that is the name the policy matched, and OpenSSL's name check does not
	 * strip a trailing dot.  A name that does not normalize goes as given
	 * and fails there.
	 */
	if (servername && certpin_hostname_normalize(sni, sizeof(sni), servername) == CERTPIN_OK)
		servername = sni;
	if (verify_host && certpin_hostname_normalize(vhost, sizeof(vhost), verify_host) == CERTPIN_OK)
		verify_host = vhost;
	if (cli_conn_open(c, t) != 0)
		return CLI_EXIT_TLS;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		snprintf(c->error, sizeof(c->error), "cannot create TLS connection");
		return CLI_EXIT_TLS;
	}
	/* RFC 6066: SNI carries host names only, never IP literals. */
	if (servername && !cli_is_ip_literal(servername) &&
			SSL_set_tlsext_host_name(c->ssl, servername) != 1) {
		snprintf(c->error, sizeof(c->error), "invalid server name '%s'", servername);
		return CLI_EXIT_TLS;
	}
	if (verify_host && SSL_set1_host(c->ssl, verify_host) != 1) {
		snprintf(c->error, sizeof(c->error), "invalid verification host name '%s'", verify_host);
		return CLI_EXIT_TLS;
	}
	ERR_clear_error();
	errno = 0;
	ret = SSL_connect(c->ssl);
	if (ret != 1) {
		handshake_error(c, ret);
		return CLI_EXIT_TLS;
	}
	c->handshake_ok = 1;
	snprintf(c->version, sizeof(c->version), "%s", SSL_get_version(c->ssl));
	return 0;
}

void cli_conn_close(cli_conn *c)
{
	if (c->ssl) {
		if (c->handshake_ok)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}
