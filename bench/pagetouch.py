#!/usr/bin/env python3
"""pagetouch.py TRACE MAPS MARK [COLD] - pages the context binding touches per handshake.

Reads a `valgrind --tool=lackey --trace-mem=yes` trace of
bench_handshake_marked (TRACE may be a FIFO), then that run's stderr (MAPS:
the "MAP" lines it prints at exit).  MARK is the address of the library's
certpin__page_mark (the bench is linked without PIE, so `nm` tells it).
Loads from the mark page delimit the binding's own work (X509_verify_cert() left out).  For every
4 KiB page the binding touches, in code (I) or data (D), the distance is
the number of instructions the process ran since anything last touched
that page.  A page with a long distance is cold: on a kernel that empties
the TLB at each system call it costs a page-table walk, and its lines are
likely out of the caches.  Prints, for each handshake, the pages touched
and those at COLD (default 500000) instructions or more, then the last
handshake's pages with the mapping and (with addr2line) the function.
"""
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n")[0])
    trace, maps_file, mark = sys.argv[1], sys.argv[2], int(sys.argv[3], 16)
    cold = int(sys.argv[4]) if len(sys.argv) > 4 else 500000

    last = {}  # (page, kind) -> instruction count at its last touch
    spans, cur, on, icount, last_ip = [], None, False, 0, 0
    with open(trace, errors="replace") as f:
        for line in f:
            if len(line) < 4 or line[0] == "=":
                continue
            kind = line[:2].strip()
            try:
                addr = int(line[3:].split(",")[0], 16)
            except ValueError:
                continue
            if kind == "I":
                icount += 1
                last_ip = addr
            elif kind == "L" and mark <= addr < mark + 4096:
                off = addr - mark
                if off == 0:
                    cur, on = {}, True
                elif off == 64:
                    on = False
                elif off == 128:
                    on = True
                elif off == 192 and cur is not None:
                    spans.append(cur)
                    cur, on = None, False
                continue
            key = (addr >> 12, "I" if kind == "I" else "D")
            if on and key not in cur:
                cur[key] = (icount - last.get(key, -10**12), last_ip)
            last[key] = icount

    maps = []
    with open(maps_file) as f:
        for line in f:
            if line.startswith("MAP "):
                fields = line[4:].split()
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                maps.append((lo, hi, fields[5] if len(fields) > 5 else "[anon]", int(fields[2], 16)))

    def where(addr):
        for lo, hi, name, off in maps:
            if lo <= addr < hi:
                return name, addr - lo + off
        return "?", 0

    def elf_exec(path):
        try:
            with open(path, "rb") as f:
                head = f.read(18)
            return head[:4] == b"\x7fELF" and head[16] == 2  # ET_EXEC: addresses are link-time ones
        except OSError:
            return False

    def symbol(addr):
        name, off = where(addr)
        if not name.startswith("/"):
            return "?"
        if elf_exec(name):
            off = addr
        try:
            out = subprocess.run(["addr2line", "-f", "-s", "-e", name, hex(off)],
                                 capture_output=True, text=True, timeout=10).stdout
            return out.split("\n")[0] or "?"
        except (OSError, subprocess.SubprocessError):
            return "?"

    if not spans:
        sys.exit("pagetouch.py: no complete binding span in the trace")
    print("handshake  pages(I+D)  cold(>= %d instructions)" % cold)
    for i, s in enumerate(spans):
        print("%9d  %10d  %d" % (i + 1, len(s), sum(1 for d, _ in s.values() if d >= cold)))
    print("\nlast handshake: distance  kind  page  mapping  first touched by")
    for (page, kind), (dist, ip) in sorted(spans[-1].items(), key=lambda kv: -kv[1][0]):
        name = where(page << 12)[0].split("/")[-1]
        far = "never" if dist > 10**11 else str(dist)
        print("%12s  %s  %#x  %s  %s" % (far, kind, page << 12, name, symbol(ip)))


if __name__ == "__main__":
    main()
