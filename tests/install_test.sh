#!/bin/sh
# Install into a staging prefix, then build clients against it: with
# pkg-config (certpin.pc, certpin-report.pc, certpin-tools.pc, and
# certpin-curl.pc, certpin-mbedtls.pc, certpin-gnutls.pc and
# certpin-wolfssl.pc with their examples when the build has them) and with
# CMake's find_package(certpin COMPONENTS report tools ...).  Checks the SONAMEs,
# the headers (each compiles on its own) and the man pages land where they
# should; that the core library exports and links nothing of the optional
# ones; that `make install PREFIX=DIR` honours DIR; that a library-only
# configure needs no collector libraries, and with the optional libraries
# off neither libcurl nor libxml2; and that certpin builds as a CMake
# subproject.
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
if [ -n "$so" ] && objdump -p "$so" | grep -q 'SONAME *libcertpin.so.1$'; then ok; else bad "SONAME libcertpin.so.1 missing"; fi
for m in report tools; do
	mso=$(ls "$libdir"/libcertpin-$m.so.* 2>/dev/null | head -n 1)
	if [ -n "$mso" ] && objdump -p "$mso" | grep -q "SONAME *libcertpin-$m.so.1$" &&
		objdump -p "$mso" | grep -q 'NEEDED *libcertpin.so.1$'; then
		ok
	else
		bad "libcertpin-$m.so: SONAME or its dependency on libcertpin.so.1 missing"
	fi
	[ -f "$prefix/include/certpin/$m.h" ] && [ -f "$libdir/pkgconfig/certpin-$m.pc" ] &&
		[ -f "$libdir/cmake/certpin/certpin-${m}Targets.cmake" ] && ok || bad "certpin-$m: header, .pc or CMake file missing"
done

# libcertpin-curl, when the build has it: the same checks, and the example
# client builds from the installed package with pkg-config alone.
if [ -f "$build/certpin-curl.pc" ]; then
	cso=$(ls "$libdir"/libcertpin-curl.so.* 2>/dev/null | head -n 1)
	if [ -n "$cso" ] && objdump -p "$cso" | grep -q 'SONAME *libcertpin-curl.so.1$' &&
		objdump -p "$cso" | grep -q 'NEEDED *libcertpin.so.1$'; then
		ok
	else
		bad "libcertpin-curl.so: SONAME libcertpin-curl.so.1 or its dependency on libcertpin.so.1 missing"
	fi
	[ -f "$prefix/include/certpin/curl.h" ] && [ -f "$libdir/pkgconfig/certpin-curl.pc" ] &&
		[ -f "$libdir/cmake/certpin/certpin-curlTargets.cmake" ] && ok || bad "certpin-curl: header, .pc or CMake file missing"
	if $cc $xflags -std=c11 -Wall -Wextra -Werror -o "$tmp/curl-client" "$src/examples/curl_client.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin-curl) &&
		LD_LIBRARY_PATH="$libdir" "$tmp/curl-client" 2>&1 | grep -q '^usage:'; then
		ok
	else
		bad "examples/curl_client.c does not build from the installed package with pkg-config certpin-curl"
	fi
fi

# The core library: nothing of the optional libraries in it, exported or linked.
module_syms='certpin_report_|certpin_reporter_|certpin_bundle_fetch|certpin_lint|certpin_plan_|certpin_policy_import|certpin_policy_export|certpin_import_|certpin_export_'
core_clean() {
	if nm -D --defined-only "$1" | grep -E " ($module_syms)"; then
		bad "$2: libcertpin.so exports symbols of the optional libraries"
	else
		ok
	fi
	if objdump -p "$1" | grep -E 'NEEDED.*(libcurl|libxml2)'; then
		bad "$2: libcertpin.so links libcurl or libxml2"
	else
		ok
	fi
}
[ -n "$so" ] && core_clean "$so" "installed"

# Every public header compiles on its own, warnings as errors.
for h in certpin.h certpin/bundle.h certpin/openssl.h certpin/tofu.h certpin/report.h certpin/tools.h \
	$([ -f "$prefix/include/certpin/curl.h" ] && echo certpin/curl.h); do
	printf '#include <%s>\nint certpin_header_test(void);\nint certpin_header_test(void) { return 0; }\n' "$h" >"$tmp/hdr.c"
	if $cc $xflags -std=c11 -Wall -Wextra -Werror -c -o "$tmp/hdr.o" "$tmp/hdr.c" -I"$prefix/include" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags-only-I certpin); then
		ok
	else
		bad "<$h> does not compile on its own"
	fi
done

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

# Clients of the optional libraries, through their .pc files.
cat > "$tmp/report_client.c" <<'C'
#include <certpin/report.h>
#include <stdio.h>
int main(void)
{
	certpin_report_info info;
	certpin_error err;
	int rc = certpin_report_parse(&info, "{}", 2, &err);
	printf("%s %s\n", certpin_report_kind_name(CERTPIN_REPORT_MISMATCH), rc == CERTPIN_E_REPORT ? err.message : "?");
	return rc == CERTPIN_E_REPORT ? 0 : 1;
}
C
cat > "$tmp/tools_client.c" <<'C'
#include <certpin/tools.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	certpin_policy *p = NULL;
	char *out = NULL;
	static const char pins[] = "api.example.com sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	if (certpin_policy_import_data(&p, pins, sizeof(pins) - 1, NULL, NULL) != CERTPIN_OK ||
	    certpin_policy_export(&out, p, CERTPIN_EXPORT_OKHTTP, NULL, NULL) != CERTPIN_OK)
		return 1;
	printf("%s", out);
	free(out);
	certpin_policy_free(p);
	return 0;
}
C
for m in report tools; do
	if $cc $xflags -std=c11 -Wall -Werror -o "$tmp/$m-client" "$tmp/${m}_client.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin-$m) &&
		LD_LIBRARY_PATH="$libdir" "$tmp/$m-client" >"$tmp/$m-client.out" && [ -s "$tmp/$m-client.out" ]; then
		ok
	else
		bad "pkg-config certpin-$m client"
	fi
done

# The mbedTLS adapter, when this build has it: SONAME and dependency, its
# header alone, the example client built from the installed package with
# pkg-config (mbedTLS has no .pc: an application names its libraries
# itself), the static flags, and find_package(certpin COMPONENTS mbedtls).
if [ -e "$build/libcertpin-mbedtls.so" ]; then
	mso=$(ls "$libdir"/libcertpin-mbedtls.so.* 2>/dev/null | head -n 1)
	if [ -n "$mso" ] && objdump -p "$mso" | grep -q 'SONAME *libcertpin-mbedtls.so.1$' &&
		objdump -p "$mso" | grep -q 'NEEDED *libcertpin.so.1$'; then
		ok
	else
		bad "libcertpin-mbedtls.so: SONAME or its dependency on libcertpin.so.1 missing"
	fi
	printf '#include <certpin/mbedtls.h>\nint certpin_header_test(void);\nint certpin_header_test(void) { return 0; }\n' >"$tmp/hdr.c"
	if $cc $xflags -std=c11 -pedantic -Wall -Wextra -Werror -c -o "$tmp/hdr.o" "$tmp/hdr.c" -I"$prefix/include"; then
		ok
	else
		bad "<certpin/mbedtls.h> does not compile on its own"
	fi
	mbed_libs="-lmbedtls -lmbedx509 -lmbedcrypto"
	if $cc $xflags -std=c11 -Wall -Wextra -Werror -o "$tmp/mbedtls-client" "$src/examples/mbedtls_client.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin-mbedtls) $mbed_libs &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/mbedtls-client" >/dev/null 2>"$tmp/mbedtls-client.err"; [ $? -eq 2 ]; } &&
		grep -q '^usage: ' "$tmp/mbedtls-client.err"; then
		ok
	else
		bad "examples/mbedtls_client.c does not build or run from the installed package (pkg-config certpin-mbedtls)"
	fi
	case " $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --static --libs certpin-mbedtls) " in
	*" -lcertpin-mbedtls "*"-lmbedtls "*"-lcertpin "*) ok ;;
	*) bad "pkg-config --static --libs certpin-mbedtls lacks mbedTLS's or the core's libraries" ;;
	esac
	mkdir -p "$tmp/cm-mbedtls"
	cat > "$tmp/cm-mbedtls/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(mbedtls_client C)
find_package(certpin REQUIRED COMPONENTS mbedtls)
add_executable(mbedtls_client "$src/examples/mbedtls_client.c")
target_link_libraries(mbedtls_client PRIVATE certpin::mbedtls certpin_mbedtls_deps)
add_executable(mbedtls_client_static "$src/examples/mbedtls_client.c")
target_link_libraries(mbedtls_client_static PRIVATE certpin::mbedtls_static)
CM
	if CC=$cc cmake -S "$tmp/cm-mbedtls" -B "$tmp/cm-mbedtls/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$xflags" \
			-DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/cm-mbedtls.log" 2>&1 &&
		cmake --build "$tmp/cm-mbedtls/b" >>"$tmp/cm-mbedtls.log" 2>&1 &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/cm-mbedtls/b/mbedtls_client" 2>/dev/null; [ $? -eq 2 ]; } &&
		{ "$tmp/cm-mbedtls/b/mbedtls_client_static" 2>/dev/null; [ $? -eq 2 ]; }; then
		ok
	else
		bad "find_package(certpin COMPONENTS mbedtls) client"
		tail -n 5 "$tmp/cm-mbedtls.log"
	fi
fi
# The GnuTLS adapter, when this build has it: SONAME and its link to the
# core, its header alone, and the example client built from the installed
# package, with pkg-config (the example calls GnuTLS itself, so it names
# gnutls too: certpin-gnutls.pc keeps GnuTLS in Requires.private, as its
# header needs none of GnuTLS's) and with find_package(certpin COMPONENTS
# gnutls).
gso=$(ls "$libdir"/libcertpin-gnutls.so.* 2>/dev/null | head -n 1)
if [ -f "$src/src/tls/gnutls/gnutls.c" ] && [ -n "$gso" ]; then
	if objdump -p "$gso" | grep -q 'SONAME *libcertpin-gnutls.so.1$' &&
		objdump -p "$gso" | grep -q 'NEEDED *libcertpin.so.1$'; then
		ok
	else
		bad "libcertpin-gnutls.so: SONAME or its dependency on libcertpin.so.1 missing"
	fi
	printf '#include <certpin/gnutls.h>\nint certpin_header_test(void);\nint certpin_header_test(void) { return 0; }\n' >"$tmp/hdr.c"
	if $cc $xflags -std=c11 -pedantic -Wall -Wextra -Werror -c -o "$tmp/hdr.o" "$tmp/hdr.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags certpin-gnutls); then
		ok
	else
		bad "<certpin/gnutls.h> does not compile on its own"
	fi
	if $cc $xflags -std=c11 -Wall -Wextra -Werror -o "$tmp/gnutls-client" "$src/examples/gnutls_client.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin-gnutls gnutls) &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/gnutls-client" >"$tmp/gnutls-client.out" 2>&1; [ $? -eq 2 ]; } &&
		grep -q '^usage:' "$tmp/gnutls-client.out" && objdump -p "$tmp/gnutls-client" | grep -q 'NEEDED *libcertpin-gnutls.so.1$'; then
		ok
	else
		bad "examples/gnutls_client.c does not build from the installed package with pkg-config certpin-gnutls"
	fi
	mkdir -p "$tmp/cmg"
	printf 'cmake_minimum_required(VERSION 3.18)\nproject(g C)\nfind_package(certpin REQUIRED COMPONENTS gnutls)\nadd_executable(g %s)\ntarget_link_libraries(g PRIVATE certpin::gnutls PkgConfig::GNUTLS)\n' \
		"$src/examples/gnutls_client.c" >"$tmp/cmg/CMakeLists.txt"
	if CC=$cc cmake -S "$tmp/cmg" -B "$tmp/cmg/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$xflags" \
			-DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/cmg.log" 2>&1 && cmake --build "$tmp/cmg/b" >>"$tmp/cmg.log" 2>&1; then
		ok
	else
		bad "find_package(certpin COMPONENTS gnutls) client"
		tail -n 5 "$tmp/cmg.log"
	fi
fi

# The README's integration snippet (a complete translation unit) compiles as
# written against the installed headers, warnings as errors (the calls are
# warn_unused_result: a snippet that ignores them is wrong).
sed -n '/^## Using the library with OpenSSL/,/^```$/p' "$src/README.md" | sed -n '/^```c$/,/^```$/p' | sed '1d;$d' \
	> "$tmp/snippet.c"
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
find_package(certpin REQUIRED COMPONENTS report tools)
add_executable(client ../client.c)
target_link_libraries(client PRIVATE certpin::certpin)
add_executable(report_client ../report_client.c)
target_link_libraries(report_client PRIVATE certpin::report)
add_executable(tools_client ../tools_client.c)
target_link_libraries(tools_client PRIVATE certpin::tools_static)
CM
if CC=$cc cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$xflags" \
		-DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/cm.log" 2>&1 &&
	cmake --build "$tmp/cm/b" >>"$tmp/cm.log" 2>&1 && LD_LIBRARY_PATH="$libdir" "$tmp/cm/b/client" | grep -q '^[0-9]' &&
	LD_LIBRARY_PATH="$libdir" "$tmp/cm/b/report_client" >/dev/null && "$tmp/cm/b/tools_client" >/dev/null; then
	ok
else
	bad "find_package(certpin COMPONENTS report tools) clients"
	tail -n 5 "$tmp/cm.log"
fi
# make install PREFIX=DIR installs under DIR even though the build directory
# exists already (and was configured without a prefix).
if make -s -C "$src" install BUILD="$build" PREFIX="$tmp/mkprefix" >"$tmp/make-install.log" 2>&1 &&
	ls "$tmp"/mkprefix/lib*/libcertpin.so.1 >/dev/null 2>&1 && [ -f "$tmp/mkprefix/include/certpin.h" ]; then
	ok
else
	bad "make install PREFIX=DIR did not install under DIR"
	cat "$tmp/make-install.log"
fi

# A pkg-config search path without libpq, libmicrohttpd and SQLite: what a
# machine with only the library's dependencies looks like.
mkdir -p "$tmp/pc"
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	for pc in "$d"/*.pc; do
		[ -f "$pc" ] || continue
		case ${pc##*/} in
		libpq.pc | libmicrohttpd.pc | sqlite3.pc) ;;
		*) [ -e "$tmp/pc/${pc##*/}" ] || ln -s "$pc" "$tmp/pc/" ;;
		esac
	done
done
# The restriction bites: the full build (with the tool and collector) cannot
# configure there, so the checks below can fail.
if PKG_CONFIG_LIBDIR="$tmp/pc" CC=$cc cmake -S "$src" -B "$tmp/full" >"$tmp/full.log" 2>&1; then
	bad "the full configure succeeded without libpq, libmicrohttpd and SQLite (the restriction does not work)"
else
	ok
fi
# A library-only configure needs none of them.
if PKG_CONFIG_LIBDIR="$tmp/pc" CC=$cc cmake -S "$src" -B "$tmp/libonly" -DCERTPIN_CLI=OFF >"$tmp/libonly.log" 2>&1; then
	ok
else
	bad "-DCERTPIN_CLI=OFF still needs the collector's libraries"
	tail -n 5 "$tmp/libonly.log"
fi

# The core alone needs neither libcurl nor libxml2: hide them too, build it,
# and check what it exports and links.
mkdir -p "$tmp/pc-core"
for pc in "$tmp"/pc/*.pc; do
	case ${pc##*/} in
	libcurl.pc | libxml-2.0.pc) ;;
	*) ln -s "$(readlink "$pc")" "$tmp/pc-core/" ;;
	esac
done
if PKG_CONFIG_LIBDIR="$tmp/pc-core" CC=$cc cmake -S "$src" -B "$tmp/full-core" -DCERTPIN_CLI=OFF \
		>"$tmp/full-core.log" 2>&1; then
	bad "the optional libraries configured without libcurl and libxml2 (the restriction does not work)"
else
	ok
fi
if PKG_CONFIG_LIBDIR="$tmp/pc-core" CC=$cc cmake -S "$src" -B "$tmp/core" -DCERTPIN_CLI=OFF -DCERTPIN_REPORT=OFF \
		-DCERTPIN_TOOLS=OFF -DCMAKE_C_FLAGS="$xflags" -DCMAKE_SHARED_LINKER_FLAGS="$xflags" \
		-DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/core.log" 2>&1 &&
	cmake --build "$tmp/core" -j 2 --target certpin >>"$tmp/core.log" 2>&1; then
	ok
	core_clean "$(ls "$tmp"/core/libcertpin.so.* | head -n 1)" "core-only build"
else
	bad "-DCERTPIN_REPORT=OFF -DCERTPIN_TOOLS=OFF still needs libcurl or libxml2, or does not build"
	tail -n 5 "$tmp/core.log"
fi
# Either optional library off: no certpin tool (nor its collector's libraries), and configure says why.
if PKG_CONFIG_LIBDIR="$tmp/pc" CC=$cc cmake -S "$src" -B "$tmp/noreport" -DCERTPIN_REPORT=OFF >"$tmp/noreport.log" 2>&1 &&
	grep -q 'CERTPIN_REPORT or CERTPIN_TOOLS is OFF.*CERTPIN_CLI OFF' "$tmp/noreport.log"; then
	ok
else
	bad "-DCERTPIN_REPORT=OFF: the tool is not turned off with a STATUS message"
	tail -n 5 "$tmp/noreport.log"
fi

# As a subproject: add_subdirectory(certpin) and link certpin::certpin; the
# library alone is built (no tool, no tests), with the same restricted path.
mkdir -p "$tmp/sub"
cat > "$tmp/sub/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(app C)
add_subdirectory("$src" certpin)
add_executable(app ../client.c)
target_link_libraries(app PRIVATE certpin::certpin)
CM
if PKG_CONFIG_LIBDIR="$tmp/pc" CC=$cc cmake -S "$tmp/sub" -B "$tmp/sub/b" -DCMAKE_C_FLAGS="$xflags" \
		-DCMAKE_EXE_LINKER_FLAGS="$xflags" -DCMAKE_SHARED_LINKER_FLAGS="$xflags" >"$tmp/sub.log" 2>&1 &&
	cmake --build "$tmp/sub/b" -j 2 >>"$tmp/sub.log" 2>&1 && "$tmp/sub/b/app" | grep -q '^[0-9]'; then
	ok
else
	bad "add_subdirectory(certpin) + certpin::certpin"
	grep -E 'Error|error' "$tmp/sub.log" | head -n 10
fi
[ ! -e "$tmp/sub/b/certpin/certpin" ] && ok || bad "a subproject build built the certpin tool too"

# The wolfSSL adapter, when the build has it: SONAME and its dependencies on
# the core and libwolfssl; the library asks OpenSSL for nothing (all its TLS
# calls are wolfSSL's own names); its header alone; the example client built
# from the installed package with pkg-config certpin-wolfssl alone (its .pc
# requires wolfssl: the example calls wolfSSL itself) and with
# find_package(certpin COMPONENTS wolfssl), shared and static.
wso=$(ls "$libdir"/libcertpin-wolfssl.so.* 2>/dev/null | head -n 1)
if [ -n "$wso" ]; then
	if objdump -p "$wso" | grep -q 'SONAME *libcertpin-wolfssl.so.1$' && objdump -p "$wso" | grep -q 'NEEDED *libcertpin.so.1$' &&
		objdump -p "$wso" | grep -q 'NEEDED *libwolfssl'; then
		ok
	else
		bad "libcertpin-wolfssl.so: SONAME, or its dependency on libcertpin.so.1 and libwolfssl, missing"
	fi
	if nm -D --undefined-only "$wso" | grep -E ' (SSL_|X509|EVP_|ERR_|BIO_|OPENSSL_)'; then
		bad "libcertpin-wolfssl.so calls OpenSSL names (above)"
	else
		ok
	fi
	[ -f "$prefix/include/certpin/wolfssl.h" ] && [ -f "$libdir/pkgconfig/certpin-wolfssl.pc" ] &&
		[ -f "$libdir/cmake/certpin/certpin-wolfsslTargets.cmake" ] && ok || bad "certpin-wolfssl: header, .pc or CMake file missing"
	printf '#include <certpin/wolfssl.h>\nint certpin_header_test(void);\nint certpin_header_test(void) { return 0; }\n' >"$tmp/whdr.c"
	if $cc $xflags -std=c11 -pedantic -Wall -Wextra -Werror -c -o "$tmp/whdr.o" "$tmp/whdr.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags certpin-wolfssl); then
		ok
	else
		bad "<certpin/wolfssl.h> does not compile on its own"
	fi
	if $cc $xflags -std=c11 -Wall -Wextra -Werror -o "$tmp/wolfssl-client" "$src/examples/wolfssl_client.c" \
			$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs certpin-wolfssl) &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/wolfssl-client" >"$tmp/wolfssl-client.out" 2>&1; [ $? -eq 2 ]; } &&
		grep -q '^usage:' "$tmp/wolfssl-client.out" && objdump -p "$tmp/wolfssl-client" | grep -q 'NEEDED *libcertpin-wolfssl.so.1$'; then
		ok
	else
		bad "examples/wolfssl_client.c does not build from the installed package with pkg-config certpin-wolfssl"
	fi
	mkdir -p "$tmp/cmw"
	cat >"$tmp/cmw/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(w C)
find_package(certpin REQUIRED COMPONENTS wolfssl)
add_executable(w "$src/examples/wolfssl_client.c")
target_link_libraries(w PRIVATE certpin::wolfssl PkgConfig::WOLFSSL)
add_executable(w_static "$src/examples/wolfssl_client.c")
target_link_libraries(w_static PRIVATE certpin::wolfssl_static PkgConfig::WOLFSSL)
CM
	if CC=$cc cmake -S "$tmp/cmw" -B "$tmp/cmw/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$xflags" \
			-DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/cmw.log" 2>&1 && cmake --build "$tmp/cmw/b" >>"$tmp/cmw.log" 2>&1 &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/cmw/b/w" 2>/dev/null; [ $? -eq 2 ]; } &&
		{ LD_LIBRARY_PATH="$libdir" "$tmp/cmw/b/w_static" 2>/dev/null; [ $? -eq 2 ]; }; then
		ok
	else
		bad "find_package(certpin COMPONENTS wolfssl) client"
		tail -n 5 "$tmp/cmw.log"
	fi
fi

echo "install_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
