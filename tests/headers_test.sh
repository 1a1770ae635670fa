#!/bin/sh
# headers_test.sh INCLUDE_DIR CC [CXX] - every public header compiles on its own:
# include/certpin.h and each include/certpin/*.h, alone in a translation unit,
# as C11 (-pedantic, warnings as errors) and, when CXX is given, as C++11.
# A header that leans on one included before it fails here.
set -u
inc=$1 cc=$2 cxx=${3:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpin-headers.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
for h in "$inc"/certpin.h "$inc"/certpin/*.h; do
	rel=${h#"$inc"/}
	printf '#include <%s>\n#include <%s>\n' "$rel" "$rel" >"$tmp/one.c"   # twice: include guards
	n=$((n + 1))
	if ! "$cc" -std=c11 -pedantic -Wall -Wextra -Werror -I"$inc" -fsyntax-only "$tmp/one.c" 2>"$tmp/err"; then
		echo "FAIL: $rel does not compile alone as C11:"; head -n 5 "$tmp/err"
		fails=$((fails + 1))
	fi
	if [ -n "$cxx" ]; then
		cp "$tmp/one.c" "$tmp/one.cc"
		if ! "$cxx" -std=c++11 -Wall -Wextra -Werror -I"$inc" -fsyntax-only "$tmp/one.cc" 2>"$tmp/err"; then
			echo "FAIL: $rel does not compile alone as C++11:"; head -n 5 "$tmp/err"
			fails=$((fails + 1))
		fi
	fi
done
if [ "$n" -lt 6 ]; then
	echo "FAIL: only $n headers found under $inc"
	exit 1
fi
echo "headers_test: $n headers, $fails failures"
[ "$fails" -eq 0 ]
