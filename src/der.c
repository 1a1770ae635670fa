/*
 * Minimal DER walker: just enough to find the SubjectPublicKeyInfo inside a
 * certificate without building an X509 object.  Strict: definite, minimal
 * lengths only; every element must lie inside its parent.
 */
#include "internal.h"

typedef struct {
	unsigned char tag;
	const unsigned char *start;   /* first byte of the tag */
	const unsigned char *value;
	size_t vlen;
	size_t total;                  /* tag + length + value */
} tlv;

/* Read one TLV from [p, p+len).  Returns 0 or -1. */
static int read_tlv(tlv *t, const unsigned char *p, size_t len)
{
	size_t hdr = 2, vlen;

	if (len < 2)
		return -1;
	if ((p[0] & 0x1f) == 0x1f)
		return -1; /* high tag numbers never occur in the fields we walk */
	if (p[1] < 0x80) {
		vlen = p[1];
	} else {
		size_t nlen = p[1] & 0x7f;
		if (nlen == 0 || nlen > 4 || len < 2 + nlen)
			return -1; /* indefinite or absurd */
		if (p[2] == 0)
			return -1; /* non-minimal */
		vlen = 0;
		for (size_t i = 0; i < nlen; i++)
			vlen = vlen << 8 | p[2 + i];
		if (vlen < 0x80)
			return -1; /* should have used the short form */
		hdr += nlen;
	}
	if (vlen > len - hdr)
		return -1;
	t->tag = p[0];
	t->start = p;
	t->value = p + hdr;
	t->vlen = vlen;
	t->total = hdr + vlen;
	return 0;
}

int certpin__der_is_sequence(const unsigned char *der, size_t len)
{
	tlv t;
	return der && read_tlv(&t, der, len) == 0 && t.tag == 0x30 && t.total == len;
}

int certpin__der_cert_spki(const unsigned char **spki, size_t *spki_len, const unsigned char *der, size_t len)
{
	tlv cert, tbs, f;
	const unsigned char *p;
	size_t left;

	if (!der || read_tlv(&cert, der, len) || cert.tag != 0x30 || cert.total != len)
		return CERTPIN_E_DECODE;
	if (read_tlv(&tbs, cert.value, cert.vlen) || tbs.tag != 0x30)
		return CERTPIN_E_DECODE;
	p = tbs.value;
	left = tbs.vlen;
	/* version [0] EXPLICIT, optional */
	if (read_tlv(&f, p, left))
		return CERTPIN_E_DECODE;
	if (f.tag == 0xa0) {
		p += f.total, left -= f.total;
		if (read_tlv(&f, p, left))
			return CERTPIN_E_DECODE;
	}
	/* serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo */
	static const unsigned char want[] = { 0x02, 0x30, 0x30, 0x30, 0x30, 0x30 };
	for (size_t i = 0; i < sizeof(want); i++) {
		if (i > 0 && read_tlv(&f, p, left))
			return CERTPIN_E_DECODE;
		if (f.tag != want[i])
			return CERTPIN_E_DECODE;
		if (i + 1 < sizeof(want))
			p += f.total, left -= f.total;
	}
	/* The SPKI itself must be SEQUENCE { AlgorithmIdentifier, BIT STRING }. */
	tlv alg, bits;
	if (read_tlv(&alg, f.value, f.vlen) || alg.tag != 0x30 ||
	    read_tlv(&bits, f.value + alg.total, f.vlen - alg.total) || bits.tag != 0x03 ||
	    alg.total + bits.total != f.vlen)
		return CERTPIN_E_DECODE;
	*spki = f.start;
	*spki_len = f.total;
	return CERTPIN_OK;
}
