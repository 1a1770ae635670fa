#!/usr/bin/env python3
"""Helpers of tests/integration/dashboard_test.sh, and the pixel count of mitm_test.sh
(standard library only).

  bodies PKI OUTDIR          write report bodies of each format into OUTDIR (NN-name.json)
  page HTML SUMMARY.JSON     the page (as served, or as chromium's DOM) shows the numbers of
                             SUMMARY.JSON ("certpin reports --json"), escapes what clients
                             sent, and holds no script, style attribute, event handler or
                             external reference; prints what differs, exit 1
  csp HTML HEADERS           the style-src hash of the Content-Security-Policy in HEADERS is
                             the SHA-256 of the page's one <style> element
  pixels PNG RRGGBB          how many pixels of the PNG have that colour (within 8 per channel)
"""
import base64
import datetime
import hashlib
import html.parser
import json
import os
import re
import struct
import sys
import zlib

HOSTILE_APP = "<script>alert(1)</script>"
HOSTILE_VERSION = "\"><img src=x onerror=alert(2)>"
HOSTILE_HOST = "<b>host</b>&amp;\"'<script>alert(3)</script>"


def pem_certs(path):
    text = open(path).read()
    return re.findall(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", text, re.S)


def pins(pki):
    return dict(line.split() for line in open(os.path.join(pki, "pins.txt")) if line.strip())


def bodies(pki, out):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    p = pins(pki)
    known = ["pin-sha256=\"%s\"" % p["backup"][len("sha256/"):]]
    chain = pem_certs(os.path.join(pki, "chain.pem"))
    rogue = pem_certs(os.path.join(pki, "rogue-chain.pem"))

    def certpin(host, port, enforce):
        return {"certpin-report-version": 1, "date-time": now, "hostname": host, "port": port,
                "noted-hostname": host, "known-pins": known, "verdict": "mismatch", "enforce": enforce,
                "served-chain-sha256": [{"spki": p["leaf"],
                                         "cert": "cert-sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}

    def trustkit(app, version, platform, host, enforce, served=False):
        r = {"app-bundle-id": app, "app-version": version, "app-platform": platform,
             "app-vendor-id": "599F9C00-92DC-4B5C-9464-7971F01F8370", "trustkit-version": "3.0.0",
             "date-time": now, "hostname": host, "port": 0, "noted-hostname": host,
             "include-subdomains": False, "enforce-pinning": enforce, "validation-result": 1,
             "validated-certificate-chain": chain, "known-pins": known}
        if served:
            r["served-certificate-chain"] = chain
        return r

    chrome = {"date-time": now.replace("Z", ".123Z"), "effective-expiration-date": "2031-01-02T03:04:05.000Z",
              "hostname": "www.certpin.test", "include-subdomains": False, "known-pins": known,
              "noted-hostname": "www.certpin.test", "port": 443, "served-certificate-chain": rogue,
              "validated-certificate-chain": rogue}
    reports = [
        ("certpin-enforced", certpin("api.certpin.test", 443, True)),
        ("certpin-report-only", certpin("api.certpin.test", 8443, False)),
        ("rfc7469-chrome", chrome),
        ("trustkit-ios-3.2.0", trustkit("com.example.certpin", "3.2.0", "IOS", "api.certpin.test", True)),
        ("trustkit-ios-3.1.0", trustkit("com.example.certpin", "3.1.0", "IOS", "api.certpin.test", False)),
        ("trustkit-android", trustkit("com.example.android", "5.0.1", "ANDROID", "cdn.certpin.test", True, True)),
        ("trustkit-hostile", trustkit(HOSTILE_APP, HOSTILE_VERSION, "IOS", "evil.certpin.test", False)),
        ("refresh", certpin("late.certpin.test", 443, True)),
    ]
    for i, (name, body) in enumerate(reports):
        with open(os.path.join(out, "%02d-%s.json" % (i + 1, name)), "w") as f:
            json.dump(body, f)


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "small", "strong", "span",
                "code", "table", "thead", "tbody", "tr", "th", "td", "svg", "g", "line", "rect", "text"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.problems, self.values, self.tables, self.days = set(), [], {}, {}, []
        self.styles, self.table, self.cell, self.text, self.day = [], None, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k, v in attrs:
            if k.startswith("on") or k in ("style", "src", "href", "srcset", "action", "formaction"):
                self.problems.append("<%s %s=%r>" % (tag, k, v))
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.table.append({})
        elif tag == "g" and "data-day" in a:
            self.day = {"day": a["data-day"], "reports": int(a["data-reports"]),
                        "enforced": int(a["data-enforced"]), "title": ""}
            self.days.append(self.day)
        if "data-k" in a:
            self.cell, self.text = a["data-k"], []
        elif tag in ("style", "title") and self.cell is None:
            self.cell, self.text = "<%s>" % tag, []

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        if tag == "g":
            self.day = None
        if self.cell is None or tag not in ("td", "span", "strong", "style", "title"):
            return
        text = "".join(self.text)
        if self.cell == "<style>":
            self.styles.append(text)
        elif self.cell == "<title>":
            if self.day is not None:
                self.day["title"] = text
        elif self.table is not None and self.table:
            self.table[-1][self.cell] = text
        else:
            self.values[self.cell] = text
        self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.text.append(data)


def parse(path):
    p = Page()
    p.feed(open(path, encoding="utf-8").read())
    p.close()
    return p


def shown(key, v):
    """The text the page shows for the summary value v of member key."""
    if v is None:
        return "-"
    if key.endswith("_seen"):
        return datetime.datetime.fromtimestamp(v, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def check_page(page_path, summary_path):
    s = json.load(open(summary_path))
    p = parse(page_path)
    bad = list(p.problems)
    for row in p.tables.get("enforcement", []):
        p.values.update(row)
    if p.tags - ALLOWED_TAGS:
        bad.append("elements other than the page's own: %s" % sorted(p.tags - ALLOWED_TAGS))
    for k in ("total", "distinct_failures", "hosts_count", "first_day", "last_day", "enforced"):
        if p.values.get(k) != shown(k, s[k]):
            bad.append("%s: page %r, reports --json %r" % (k, p.values.get(k), s[k]))
    if p.values.get("report_only") != str(s["total"] - s["enforced"]):
        bad.append("report_only: page %r, total - enforced %d" % (p.values.get("report_only"),
                                                                  s["total"] - s["enforced"]))
    want_days = [dict(d, title="%s: %d reports (%d enforced)" % (d["day"], d["reports"], d["enforced"]))
                 for d in s["days"]]
    if p.days != want_days:
        bad.append("days: page %r, reports --json %r" % (p.days, s["days"]))
    for table in ("hosts", "apps", "unknown_pins", "served_pins", "verdicts", "formats"):
        rows = [r for r in p.tables.get(table, []) if r]
        want = s[table]
        if len(rows) != len(want):
            bad.append("%s: %d rows on the page, %d in reports --json" % (table, len(rows), len(want)))
        for i, (got, w) in enumerate(zip(rows, want)):
            for k, text in got.items():
                if k not in w or text != shown(k, w[k]):
                    bad.append("%s[%d].%s: page %r, reports --json %r" % (table, i, k, text, w.get(k)))
    for b in bad:
        print("dashboard page: " + b)
    return 1 if bad else 0


def check_csp(page_path, headers_path):
    p = parse(page_path)
    csp = [l.split(":", 1)[1].strip() for l in open(headers_path, encoding="latin-1")
           if l.lower().startswith("content-security-policy:")]
    if len(p.styles) != 1 or len(csp) != 1:
        print("csp: %d style elements, %d CSP headers" % (len(p.styles), len(csp)))
        return 1
    digest = base64.b64encode(hashlib.sha256(p.styles[0].encode()).digest()).decode()
    if "style-src 'sha256-%s'" % digest not in csp[0]:
        print("csp: %r does not allow the style sheet (sha256-%s)" % (csp[0], digest))
        return 1
    return 0


def pixels(path, rgb):
    want = bytes.fromhex(rgb)
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w, h, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "unsupported PNG format"
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, count, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), 0, 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            if all(abs(line[x + k] - want[k]) < 8 for k in range(3)):
                count += 1
        prev = line
    print(count)
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "bodies":
        sys.exit(bodies(*args))
    if cmd == "page":
        sys.exit(check_page(*args))
    if cmd == "csp":
        sys.exit(check_csp(*args))
    if cmd == "pixels":
        sys.exit(pixels(*args))
    sys.exit("usage: dashboard_check.py bodies|page|csp|pixels ...")
