#!/bin/sh
# demo_test.sh - `make demo`'s script passes on every rerun, not only the first:
# three runs in a row in one directory (the later ones find the earlier runs'
# files, servers restart between steps).  The CPU is as busy as the other
# tests running beside this one make it; .ci/run also runs `make demo` twice
# with every core loaded.
set -u
: "${CERTPIN:?CERTPIN must name the certpin binary}"
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpin-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1
fail=0
for run in 1 2 3; do
	if sh "$src/scripts/demo.sh" "$CERTPIN" >"run$run.log" 2>&1; then
		echo "demo run $run: PASS"
	else
		echo "demo run $run: FAIL"
		cat "run$run.log"
		fail=1
	fi
done
exit $fail
