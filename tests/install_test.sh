#!/bin/sh
# Install into a staging prefix, then build a client against it twice: with
# pkg-config (certpin.pc) and with CMake's find_package(certpin).  Checks the
# SONAME, the header and the man pages land where they should.
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix="$tmp/prefix"
# A sanitized build installs a sanitized library: clients must link the runtime too.
cc=${CERTPIN_TEST_CC:-cc}
xflags=${CERTPIN_TEST_CFLAGS:-}
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib* | head -n 1)

[ -f "$prefix/include/certpin.h" ] && ok || bad "header not installed"
[ -x "$prefix/bin/certpin" ] && ok || bad "certpin not installed"
[ -f "$prefix/share/man/man1/certpin.1" ] && ok || bad "certpin.1 not installed"
[ -f "$prefix/share/man/man5/certpin-policy.5" ] && ok || bad "certpin-policy.5 not installed"
# certpin runs the certpin-collect helper from its libexec directory, found
# relative to itself (the staging prefix is not the configured one).
if LD_LIBRARY_PATH="$libdir" "$prefix/bin/certpin" help reports 2>&1 | grep -q '^usage: certpin reports'; then
	ok
else
	bad "certpin help reports (certpin-collect helper not found from the installed certpin)"
fi
so=$(ls "$libdir"/libcertpin.so.* 2>/dev/null | head -n 1)
if [ -n "$so" ] && objdump -p "$so" | grep -q 'SONAME *libcertpin.so.0$'; then ok; else bad "SONAME libcertpin.so.0 missing"; fi

cat > "$tmp/client.c" <<'C'
#include <certpin.h>
#include <stdio.h>
int main(void)
{
	certpin_policy *p;
	if (certpin_policy_new(&p) != CERTPIN_OK)
		return 1;
	printf("%s\n", certpin_version());
	certpin_policy_free(p);
	return 0;
}
C
if $cc $xflags -o "$tmp/client-pc" "$tmp/client.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin) &&
	LD_LIBRARY_PATH="$libdir" "$tmp/client-pc" | grep -q '^[0-9]'; then
	ok
else
	bad "pkg-config client"
fi

# The README's integration snippet compiles as written, warnings as errors
# (the calls are warn_unused_result: a snippet that ignores them is wrong).
{
	printf '#include <certpin.h>\n#include <openssl/ssl.h>\n#include <stdio.h>\n#include <stdlib.h>\n'
	printf 'static void die(const char *m) { fprintf(stderr, "%%s\\n", m); exit(1); }\n'
	printf 'int snippet(SSL_CTX *ctx);\nint snippet(SSL_CTX *ctx)\n{\n'
	sed -n '/^## Using the library with OpenSSL/,/^```$/p' "$src/README.md" | sed -n '/^```c$/,/^```$/p' | sed '1d;$d'
	printf '\treturn 0;\n}\n'
} > "$tmp/snippet.c"
if grep -q certpin_ssl_ctx_attach "$tmp/snippet.c" &&
	$cc $xflags -std=c11 -Wall -Wextra -Werror -c -o "$tmp/snippet.o" "$tmp/snippet.c" \
		$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags certpin); then
	ok
else
	bad "README integration snippet does not compile with -Wall -Wextra -Werror"
fi

mkdir -p "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(client C)
find_package(certpin REQUIRED)
add_executable(client ../client.c)
target_link_libraries(client PRIVATE certpin::certpin)
CM
if CC=$cc cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$xflags" \
		-DCMAKE_EXE_LINKER_FLAGS="$xflags" >/dev/null 2>&1 &&
	cmake --build "$tmp/cm/b" >/dev/null 2>&1 && LD_LIBRARY_PATH="$libdir" "$tmp/cm/b/client" | grep -q '^[0-9]'; then
	ok
else
	bad "find_package(certpin) client"
fi
echo "install_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
