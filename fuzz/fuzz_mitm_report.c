/*
 * fuzz_mitm_report: the "certpin mitm" report writers (cli/mitm_report.c)
 * fed with client-controlled strings (SNI, the first application data bytes,
 * alert and error texts) and tester-controlled certificate fields taken from
 * the input.
 *
 * Properties:
 *   - mitm_sanitize() writes printable ASCII only, never more than its buffer,
 *     and undoing its escapes gives back a prefix of the input;
 *   - the HTML page has the same markup whatever the strings hold: its count
 *     of '<' and '>' equals that of the same run with every string emptied,
 *     and it contains no NUL;
 *   - the JSON report serializes, parses back, and the SNI and data excerpt
 *     round-trip; the text scorecard is printable ASCII.
 */
#include "fuzz_common.h"

#include "mitm.h"

/* Input reader: bytes for numbers, NUL-separated chunks for strings. */
typedef struct reader {
	const uint8_t *p;
	size_t n;
} reader;

static unsigned take_byte(reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

/* Next chunk up to a NUL (or the end); sanitized into `out`, the raw bytes are returned in raw and rawlen. */
static void take_string(reader *r, char *out, size_t outlen, const uint8_t **raw, size_t *rawlen)
{
	const uint8_t *nul = r->n ? memchr(r->p, 0, r->n) : NULL;
	size_t len = nul ? (size_t)(nul - r->p) : r->n;

	if (raw) {
		*raw = r->p;
		*rawlen = len;
	}
	mitm_sanitize(out, outlen, r->p, len);
	r->p += len;
	r->n -= len;
	if (nul) {
		r->p++;
		r->n--;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Check the sanitize contract for one string. */
static void check_sanitized(const char *s, size_t outlen, const uint8_t *raw, size_t rawlen)
{
	size_t slen = strlen(s), k = 0;

	FUZZ_CHECK(slen < outlen, "sanitized length %zu, buffer %zu", slen, outlen);
	for (size_t i = 0; i < slen; i++) {
		int b;

		FUZZ_CHECK(s[i] >= 0x20 && s[i] <= 0x7e, "byte 0x%02x at %zu", (unsigned char)s[i], i);
		if (s[i] != '\\') {
			b = (unsigned char)s[i];
		} else {
			FUZZ_CHECK(i + 1 < slen, "dangling backslash");
			switch (s[++i]) {
			case '\\': b = '\\'; break;
			case 'n': b = '\n'; break;
			case 'r': b = '\r'; break;
			case 't': b = '\t'; break;
			case 'x':
				FUZZ_CHECK(i + 2 < slen && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0, "bad \\x escape");
				b = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
				i += 2;
				break;
			default:
				FUZZ_CHECK(0, "unknown escape \\%c", s[i]);
				return;
			}
		}
		FUZZ_CHECK(k < rawlen && raw[k] == b, "decoded byte %zu differs from the input", k);
		k++;
	}
}

#define FIELD(buf, r) do { \
	const uint8_t *raw_; size_t rawlen_; \
	take_string((r), (buf), sizeof(buf), &raw_, &rawlen_); \
	check_sanitized((buf), sizeof(buf), raw_, rawlen_); \
} while (0)

static void fill(mitm_run *run, reader *r)
{
	snprintf(run->host, sizeof(run->host), "api.example.test");
	snprintf(run->listen, sizeof(run->listen), "127.0.0.1:4433");
	snprintf(run->dir, sizeof(run->dir), "dir");
	run->accept_on = take_byte(r) & 1 ? "handshake" : "data";
	run->rounds = 1 + take_byte(r) % 4;
	run->io_timeout_ms = 5000;
	run->insecure_no_control = take_byte(r) & 1;
	run->insecure_untrusted_ca = take_byte(r) & 1;
	run->started = (int64_t)take_byte(r) << 24;
	run->finished = run->started + take_byte(r);
	snprintf(run->stop_reason, sizeof(run->stop_reason), "completed");
	for (int i = 0; i < MITM_NATTACKS; i++) {
		mitm_attack_info *a = &run->attacks[i];
		unsigned f = take_byte(r);

		a->selected = f & 1;
		a->runnable = a->selected && (f & 2);
		FIELD(a->skip, r);
		FIELD(a->subject, r);
		FIELD(a->names, r);
		FIELD(a->issuer, r);
		a->chain_len = 1 + (int)(f >> 4);
	}
	for (unsigned n = take_byte(r) % 12; n > 0; n--) {
		mitm_attempt *t = mitm_run_add_attempt(run);
		unsigned f;

		if (!t)
			abort();
		f = take_byte(r);
		t->attack = (int)(f % (MITM_NATTACKS + 1)) - 1;
		t->verdict = (mitm_verdict)(take_byte(r) % 4);
		if (t->attack < 0 || !run->attacks[t->attack].runnable)
			t->verdict = MITM_V_UNSCORED;
		t->stage = (mitm_stage)(take_byte(r) % 5);
		t->have_sni = f & 0x80 ? 1 : 0;
		t->alert = f & 0x40 ? (int)take_byte(r) : -1;
		t->server_alert = f & 0x10 ? (int)take_byte(r) : -1;
		t->sni_ok = (f >> 3) & 1;
		t->handshake = (f >> 5) & 1;
		t->app_bytes = take_byte(r);
		FIELD(t->sni, r);
		FIELD(t->excerpt, r);
		FIELD(t->alert_text, r);
		FIELD(t->server_alert_text, r);
		FIELD(t->error, r);
		FIELD(t->reason, r);
		FIELD(t->peer, r);
		FIELD(t->tls_version, r);
		if (t->verdict == MITM_V_UNSCORED || t->verdict == MITM_V_ABORTED) {
			run->unscored++;
			run->aborted += t->verdict == MITM_V_ABORTED;
			if (t->attack >= 0) {
				run->attacks[t->attack].unscored++;
				run->attacks[t->attack].aborted += t->verdict == MITM_V_ABORTED;
			}
		} else {
			mitm_attack_info *a = &run->attacks[t->attack];

			a->attempts++;
			if (t->verdict == MITM_V_ACCEPTED)
				a->accepted++;
			else
				a->refused++;
		}
	}
}

/* The same run with every free-text field emptied. */
static void blank(mitm_run *run)
{
	for (int i = 0; i < MITM_NATTACKS; i++) {
		mitm_attack_info *a = &run->attacks[i];

		a->skip[0] = a->subject[0] = a->names[0] = a->issuer[0] = '\0';
	}
	for (size_t i = 0; i < run->nattempts; i++) {
		mitm_attempt *t = &run->attempts[i];

		t->sni[0] = t->excerpt[0] = t->alert_text[0] = t->error[0] = t->reason[0] = '\0';
		t->server_alert_text[0] = '\0';
		t->peer[0] = t->tls_version[0] = '\0';
	}
}

static char *render(const mitm_run *run, int html, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	FUZZ_CHECK((html ? mitm_report_html(f, run) : mitm_report_text(f, run)) == 0, "report writer failed");
	if (fclose(f) != 0)
		abort();
	return buf;
}

static void count_markup(const char *s, size_t len, size_t *lt, size_t *gt)
{
	*lt = *gt = 0;
	for (size_t i = 0; i < len; i++) {
		FUZZ_CHECK(s[i] != '\0', "NUL in report at %zu", i);
		*lt += s[i] == '<';
		*gt += s[i] == '>';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mitm_run run;
	reader r = { data, size };
	json_t *j, *back;
	json_error_t jerr;
	char *html, *text, *dump;
	size_t hlen, tlen, lt, gt, blt, bgt;

	memset(&run, 0, sizeof(run));
	fill(&run, &r);

	html = render(&run, 1, &hlen);
	count_markup(html, hlen, &lt, &gt);
	text = render(&run, 0, &tlen);
	for (size_t i = 0; i < tlen; i++)
		FUZZ_CHECK(text[i] == '\n' || (text[i] >= 0x20 && text[i] <= 0x7e), "text report byte 0x%02x",
			(unsigned char)text[i]);

	j = mitm_report_json(&run);
	FUZZ_CHECK(j != NULL, "JSON report failed");
	dump = json_dumps(j, JSON_COMPACT);
	FUZZ_CHECK(dump != NULL, "JSON report does not serialize");
	back = json_loads(dump, 0, &jerr);
	FUZZ_CHECK(back != NULL, "JSON report does not parse back: %s", jerr.text);
	for (size_t i = 0; i < run.nattempts; i++) {
		json_t *t = json_array_get(json_object_get(back, "attempts"), i);
		const char *sni = json_string_value(json_object_get(t, "sni"));
		const char *ex = json_string_value(json_object_get(t, "app_data_excerpt"));

		if (run.attempts[i].have_sni)
			FUZZ_CHECK(sni && strcmp(sni, run.attempts[i].sni) == 0, "SNI of attempt %zu does not round-trip", i);
		if (run.attempts[i].excerpt[0])
			FUZZ_CHECK(ex && strcmp(ex, run.attempts[i].excerpt) == 0, "excerpt of attempt %zu", i);
	}
	json_decref(back);
	free(dump);
	json_decref(j);

	blank(&run);
	free(html);
	html = render(&run, 1, &hlen);
	count_markup(html, hlen, &blt, &bgt);
	FUZZ_CHECK(lt == blt && gt == bgt, "markup depends on the strings: %zu/%zu '<', %zu/%zu '>'", lt, blt, gt, bgt);

	free(html);
	free(text);
	mitm_run_free(&run);
	return 0;
}
