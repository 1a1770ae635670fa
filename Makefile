# certpin top-level Makefile: a thin wrapper around CMake.
#   make demo   install missing packages, build, run the self-contained demo
#   make test   install missing packages, build, run every test (plain, ASan+UBSan, fuzz smoke)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
PREFIX     ?= /usr/local
# WERROR=ON turns compiler warnings into errors (CI and development; .ci/run).
WERROR     ?= OFF
# CMAKE_ARGS: more configure options, e.g. -DCERTPIN_GNUTLS=ON to require an
# optional integration instead of building it when found (.ci/run does).
CMAKE_ARGS ?=
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
JOBS       := $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test check check-asan fuzz-smoke bench install clean

all: build

deps:
	@sh scripts/install-deps.sh

build: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCERTPIN_WERROR=$(WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	sh scripts/demo.sh $(BUILD)/certpin

# deps installs chromium, so the MITM report's browser check must run, not skip.
check: build
	CERTPIN_REQUIRE_BROWSER=1 ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

check-asan: deps
	@test -f $(ASAN_BUILD)/CMakeCache.txt || CC=clang cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCERTPIN_SANITIZE=ON -DCERTPIN_BENCH=OFF -DCERTPIN_WERROR=$(WERROR) $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	CERTPIN_REQUIRE_BROWSER=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

fuzz-smoke: deps
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCERTPIN_FUZZ=ON -DCERTPIN_TESTS=OFF -DCERTPIN_BENCH=OFF -DCERTPIN_WERROR=$(WERROR)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	sh fuzz/run-smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: check check-asan fuzz-smoke

bench: build
	sh bench/run.sh $(BUILD)

# PREFIX applies at install time, whatever the build directory was configured with.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) demo-out
