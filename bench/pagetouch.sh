#!/bin/sh
# pagetouch.sh BUILD_DIR [leaf|root] - which memory pages the context binding
# touches in a pinned handshake, and how cold each one is (bench/pagetouch.py).
#
# Builds bench_handshake_marked, runs 2 blocks of 1 in-memory handshake per
# side under valgrind's lackey tool (a few minutes: every memory access is
# traced, through a FIFO, never stored) and prints its reader's table.
# Needs valgrind, python3, nm and addr2line (binutils).  Instruction counts
# and addresses under valgrind are not the native ones, and valgrind's heap
# is laid out otherwise than glibc's: compare two builds with this, and read
# the heap ([anon]) rows as rough.
set -eu

BUILD=${1:?usage: pagetouch.sh BUILD_DIR [leaf|root]}
MODE=${2:-leaf}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BIN=$BUILD/bench/bench_handshake_marked

cmake --build "$BUILD" --target bench_handshake_marked >/dev/null
MARK=$(nm "$BIN" | sed -n 's/^\([0-9a-f]*\) [BbDd] certpin__page_mark$/\1/p')
[ -n "$MARK" ] || { echo "pagetouch.sh: no certpin__page_mark in $BIN" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/certpin-pagetouch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' HUP INT TERM
sh "$ROOT/tests/data/mkpki.sh" "$WORK/pki" >"$WORK/mkpki.log" 2>&1 || {
	cat "$WORK/mkpki.log" >&2
	exit 1
}
mkfifo "$WORK/trace"
valgrind --tool=lackey --trace-mem=yes --log-file="$WORK/trace" \
	"$BIN" "$WORK/pki" 2 1 "$MODE" mem >/dev/null 2>"$WORK/stderr" &
VG=$!
# the reader opens the memory map after the trace has ended, when the bench has printed it
python3 "$HERE/pagetouch.py" "$WORK/trace" "$WORK/stderr" "0x$MARK"
wait $VG || { echo "pagetouch.sh: the traced bench failed" >&2; tail -n 20 "$WORK/stderr" >&2; exit 1; }
