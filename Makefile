# LivePatchAgent: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DOTNET    ?= dotnet
CONFIG    ?= Release
RID       ?= linux-x64
ARTIFACTS ?= $(CURDIR)/artifacts
BIN       := $(ARTIFACTS)/bin
RUNDIR    ?= $(CURDIR)/.run
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: help setup build test publish run e2e demo check clean fuzz
.PHONY: bench bench-load

help: ## List the targets with what they do
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

setup: ## Install the Debian packages the tests need (qemu, busybox, kernel headers, dbus, ...); idempotent
	bash scripts/setup.sh

build: ## Build every project (Release, warnings are errors)
	$(DOTNET) build LivePatchAgent.sln -c $(CONFIG)

test: ## Run the unit and integration tests and print "N passed, N failed"
	bash scripts/run-tests.sh $(CONFIG)

publish: ## Native AOT livepatchd and lpctl into artifacts/bin (zero trim/AOT warnings)
	bash scripts/publish.sh $(CONFIG) $(RID) $(BIN)

run: publish ## Start livepatchd in the foreground against this machine's kernel
	bash scripts/run-daemon.sh $(BIN) $(RUNDIR)

e2e: publish ## Real-kernel scenarios: QEMU boots a Debian kernel, livepatchd manages our test patches
	bash tests/e2e/run.sh --bin $(BIN)

demo: publish ## Boot the VM and show lpctl status/list before and after a patch is applied
	bash tests/e2e/demo.sh --bin $(BIN)

bench: publish ## Benchmarks (lpctl vs hello-world, READY, idle RSS/CPU, snapshot, scan, gRPC, events, verify), then bench-load
	bash bench/run.sh --bin $(BIN) $(ARGS)
	bash bench/load/run.sh --bin $(BIN)

bench-load: publish ## Load test: 64 watch streams + a GetStatus flood for 60 s on a changing fixture tree (ARGS="--duration 10")
	bash bench/load/run.sh --bin $(BIN) $(ARGS)

check: setup build test e2e ## Everything CI runs: setup, build, unit + integration tests, publish, e2e

fuzz: ## AFL++ + SharpFuzz on the module and signature parsers, FUZZ_SECONDS (60) each; fails on a crash
	bash scripts/fuzz.sh $(FUZZ_TARGETS)

clean: ## Remove build outputs (not the kernel cache)
	rm -rf $(ARTIFACTS) src/*/bin src/*/obj tests/*/bin tests/*/obj bench/*/bin bench/*/obj fuzz/*/bin fuzz/*/obj
