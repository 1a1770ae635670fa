#!/bin/sh
# build-matrix.sh [OUTDIR] - compile certpin with gcc and clang in every CMake
# build type (Release, RelWithDebInfo, Debug, MinSizeRel), warnings as
# errors: what packagers and integrators build must compile without a warning.
# Compile only; the tests run once, in `make test`.  CI runs this (.ci/run).
# CMAKE_ARGS (environment): more configure options for every build.
set -eu
out=${1:-build-matrix}
gen=
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p "$out"
failed=
for cc in gcc clang; do
	for type in Release RelWithDebInfo Debug MinSizeRel; do
		dir=$out/$cc-$type
		printf 'build-matrix: %-6s %-15s ' "$cc" "$type"
		# shellcheck disable=SC2086  # $gen and $CMAKE_ARGS are lists of words
		if CC=$cc cmake -S . -B "$dir" $gen -DCMAKE_BUILD_TYPE=$type -DCERTPIN_WERROR=ON ${CMAKE_ARGS:-} \
			>"$dir.log" 2>&1 && cmake --build "$dir" -j "$jobs" >>"$dir.log" 2>&1; then
			echo ok
		else
			echo FAILED
			grep -E 'error|warning' "$dir.log" | head -n 20
			failed="$failed $cc-$type"
		fi
	done
done
if [ -n "$failed" ]; then
	echo "build-matrix: failed:$failed (logs in $out/)" >&2
	exit 1
fi
