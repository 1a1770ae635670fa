#!/bin/sh
# docs_examples_test.sh SOURCE_DIR CC [INCLUDE_DIR...] - the C examples of the
# documentation compile against the public headers.
#
# Marked examples only, each a complete translation unit:
#   man/libcertpin.3  a line '.\" compile-test' before the example's .EX;
#                     the code runs to the next .EE
#   README.md         a line '<!-- compile-test -->' right before a ```c fence
# groff escapes are undone (\e -> \, \- -> -, \& dropped, \(aq \(dq \(ti \(ha),
# and each example is compiled with
#   CC -std=c11 -Wall -Wextra -Werror -fsyntax-only -I SOURCE_DIR/include
# (plus -I for each extra INCLUDE_DIR, e.g. OpenSSL's).  Errors point at the
# document's own lines.  Fails if an example does not compile, a marker has
# no example after it, or a document has no marked example at all.
set -u
src=$1 cc=$2
shift 2
incs="-I$src/include"
for d in "$@"; do
	[ -n "$d" ] && incs="$incs -I$d"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/certpin-docs.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
fails=0 total=0

# extract_man FILE OUTPREFIX: one OUTPREFIX.N.c per marked example; prints N.
# A request line inside the example (one starting with '.') becomes an empty
# line, so that line numbers stay those of FILE.
extract_man() {
	awk -v out="$2" -v name="$1" '
	function unescape(l) {
		gsub(/\\e/, "\001", l)
		gsub(/\\-/, "-", l)
		gsub(/\\&/, "", l)
		gsub(/\\\(aq/, "\047", l)
		gsub(/\\\(dq/, "\"", l)
		gsub(/\\\(ti/, "~", l)
		gsub(/\\\(ha/, "^", l)
		gsub(/\001/, "\\", l)
		return l
	}
	/^\.\\" compile-test[ \t]*$/ {
		if (want) { printf "FAIL: %s:%d: marker without an example\n", name, mark > "/dev/stderr"; bad = 1 }
		want = 1; mark = NR; next
	}
	want && /^\.EX/ { n++; f = out "." n ".c"; printf "#line %d \"%s\"\n", NR + 1, name > f; want = 0; in_ex = 1; next }
	in_ex && /^\.EE/ { close(f); in_ex = 0; next }
	in_ex { print (/^[.\047]/ ? "" : unescape($0)) > f }
	END {
		if (want) { printf "FAIL: %s:%d: marker without an example\n", name, mark > "/dev/stderr"; bad = 1 }
		if (in_ex) { printf "FAIL: %s: example not closed by .EE\n", name > "/dev/stderr"; bad = 1 }
		print n + 0
		exit bad
	}' "$1"
}

# extract_md FILE OUTPREFIX: the same for Markdown: the marker line must be
# followed by a ```c fence, and the code runs to the closing ```.
extract_md() {
	awk -v out="$2" -v name="$1" '
	/^<!-- compile-test -->[ \t]*$/ { want = 1; mark = NR; next }
	want {
		want = 0
		if ($0 !~ /^```c[ \t]*$/) { printf "FAIL: %s:%d: marker not followed by a ```c fence\n", name, mark > "/dev/stderr"; bad = 1; next }
		n++; f = out "." n ".c"; printf "#line %d \"%s\"\n", NR + 1, name > f; in_c = 1; next
	}
	in_c && /^```/ { close(f); in_c = 0; next }
	in_c { print > f }
	END {
		if (want) { printf "FAIL: %s:%d: marker without an example\n", name, mark > "/dev/stderr"; bad = 1 }
		if (in_c) { printf "FAIL: %s: fence not closed\n", name > "/dev/stderr"; bad = 1 }
		print n + 0
		exit bad
	}' "$1"
}

# check DOC KIND: extract DOC's examples and compile each.
check() {
	doc=$1 kind=$2
	base=$tmp/$(basename "$doc")
	if ! n=$(cd "$src" && "extract_$kind" "$doc" "$base"); then
		fails=$((fails + 1))
	fi
	n=${n:-0}
	if [ "$n" -eq 0 ]; then
		echo "FAIL: $doc: no marked example found"
		fails=$((fails + 1))
		return
	fi
	i=1
	while [ "$i" -le "$n" ]; do
		total=$((total + 1))
		# shellcheck disable=SC2086 # $incs is a list of -I options
		if ! (cd "$src" && "$cc" -std=c11 -Wall -Wextra -Werror -fsyntax-only $incs "$base.$i.c") \
			>"$tmp/err" 2>&1; then
			echo "FAIL: $doc: example $i does not compile:"
			head -n 20 "$tmp/err"
			fails=$((fails + 1))
		fi
		i=$((i + 1))
	done
}

check man/libcertpin.3 man
check README.md md
echo "docs_examples_test: $total examples, $fails failures"
[ "$fails" -eq 0 ]
