# Thin wrapper over CMake presets. `make test` and `make demo` bootstrap a
# bare Debian 12 machine first (idempotent).
PRESET ?= default
JOBS ?= $(shell nproc)
BUILD_DIR := build/$(PRESET)

.PHONY: all bootstrap configure build test test-asan fuzz bench demo dev-local dev-integration dev-staging clean format

all: build

bootstrap:
	@scripts/bootstrap

configure:
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

test: bootstrap
	@$(MAKE) --no-print-directory build PRESET=$(PRESET)
	@ctest --preset $(PRESET) -j $(JOBS) $(CTEST_ARGS)

# Security-critical test binaries (label `security`) under ASan + UBSan.
test-asan: bootstrap
	@$(MAKE) --no-print-directory build PRESET=asan
	@ctest --preset asan -j $(JOBS) -L security $(CTEST_ARGS)

# Every fuzzer for FUZZ_SECONDS each (default 20).
fuzz: bootstrap
	@$(MAKE) --no-print-directory build PRESET=fuzz
	@scripts/run-fuzzers build/fuzz/fuzz $(or $(FUZZ_SECONDS),20)

bench: bootstrap
	@$(MAKE) --no-print-directory build PRESET=default
	@bench/run.sh
	@bench/inference.sh
	@bench/confidential.sh

demo: bootstrap
	@$(MAKE) --no-print-directory build PRESET=default
	@scripts/demo

# Deployment tiers (docs/tiers.md).
dev-local: bootstrap
	@$(MAKE) --no-print-directory build PRESET=default
	@scripts/dev-local

dev-integration: bootstrap
	@$(MAKE) --no-print-directory build PRESET=default
	@scripts/dev-integration

dev-staging: bootstrap
	@$(MAKE) --no-print-directory build PRESET=default
	@scripts/dev-staging

clean:
	rm -rf build
