# LivePatchAgent: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

DOTNET    ?= dotnet
CONFIG    ?= Release
RID       ?= linux-x64
ARTIFACTS ?= $(CURDIR)/artifacts
BIN       := $(ARTIFACTS)/bin
RUNDIR    ?= $(CURDIR)/.run
# Generated files (units, man pages) and packages; all under artifacts/, which is git-ignored.
BUILDDIR  ?= $(ARTIFACTS)/build
PKGDIR    ?= $(ARTIFACTS)/packages
VERSION   := $(shell sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
# The Debian revision of the package (packaging/deb/build.sh reads it too).
export DEB_REVISION ?= 1

# Install layout (docs/packaging.md). livepatchd is not a command for people: it lives in LIBEXECDIR and only
# systemd starts it. /etc, /run and /var/lib are the daemon's own defaults (DESIGN §4), not derived from PREFIX.
DESTDIR       ?=
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
LIBEXECDIR    ?= $(PREFIX)/libexec
DATADIR       ?= $(PREFIX)/share
MANDIR        ?= $(DATADIR)/man
SYSCONFDIR    ?= /etc
UNITDIR       ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
DBUSPOLICYDIR ?= $(DATADIR)/dbus-1/system.d
BASHCOMPDIR   ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR    ?= $(DATADIR)/zsh/vendor-completions
# The web console page (cockpit-livepatchd): Cockpit finds pages in $XDG_DATA_DIRS/cockpit/<name>.
COCKPITDIR    ?= $(DATADIR)/cockpit/livepatch
# The built page (npm ci + esbuild, docs/web-console.md); npm keeps its downloads outside the clone.
COCKPIT_DIST  := $(BUILDDIR)/cockpit
export npm_config_cache ?= $(HOME)/.cache/livepatchagent/npm
# Must equal the daemon's Api:SocketPath default; SystemdUnitFileTests checks the generated socket unit.
SOCKET_PATH   := /run/livepatchd/livepatchd.sock

UNITS     := $(BUILDDIR)/systemd/livepatchd.service $(BUILDDIR)/systemd/livepatchd.socket
MANPAGES  := $(BUILDDIR)/man/lpctl.1 $(BUILDDIR)/man/livepatchd.8 $(BUILDDIR)/man/livepatchd.json.5
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: help setup build test publish run e2e demo check clean fuzz units man install deb rpm packages
.PHONY: bench bench-load readme cockpit install-cockpit cockpit-check
.PHONY: patch-package-check
.PHONY: ansible-check

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

e2e: publish deb ## Real-kernel scenarios: QEMU boots a Debian kernel (and a Debian system with our .deb)
	bash tests/e2e/run.sh --bin $(BIN) --deb $(PKGDIR)/livepatchd_$(VERSION)-$(DEB_REVISION)_amd64.deb

demo: publish ## Boot the VM and show lpctl status/list before and after a patch is applied
	bash tests/e2e/demo.sh --bin $(BIN)

bench: publish ## Benchmarks (lpctl vs hello-world, READY, idle RSS/CPU, snapshot, scan, gRPC, events, verify), then bench-load
	bash bench/run.sh --bin $(BIN) $(ARGS)
	bash bench/load/run.sh --bin $(BIN)

bench-load: publish ## Load test: 64 watch streams + a GetStatus flood for 60 s on a changing fixture tree (ARGS="--duration 10")
	bash bench/load/run.sh --bin $(BIN) $(ARGS)

check: setup build test patch-package-check ansible-check e2e cockpit-check readme ## Everything CI runs: setup, build, unit + integration tests, patch packages, publish, e2e, web console, the README's commands

readme: publish ## The README's two commands as a newcomer runs them: make run answers lpctl status; setup with empty apt lists
	bash tests/readme/run.sh

fuzz: ## AFL++ + SharpFuzz on the module and signature parsers, FUZZ_SECONDS (60) each; fails on a crash
	bash scripts/fuzz.sh $(FUZZ_TARGETS)

units: $(UNITS) ## The systemd units, made from systemd/*.in with this layout (into artifacts/build/systemd)

# The layout the units were made with: rewritten only when it changes, so that `make install PREFIX=/usr` after a
# `make units` with the default /usr/local does not package units that start /usr/local/libexec/livepatchd.
UNIT_LAYOUT := $(BUILDDIR)/systemd/layout
$(UNIT_LAYOUT): FORCE
	@mkdir -p $(@D)
	@echo '$(LIBEXECDIR) $(SOCKET_PATH)' | cmp -s - $@ 2> /dev/null || echo '$(LIBEXECDIR) $(SOCKET_PATH)' > $@

.PHONY: FORCE
FORCE:

$(BUILDDIR)/systemd/livepatchd.%: systemd/livepatchd.%.in Makefile $(UNIT_LAYOUT)
	@mkdir -p $(@D)
	sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SOCKET_PATH@|$(SOCKET_PATH)|g' $< > $@.tmp
	@if grep -n '@[A-Z_]*@' $@.tmp; then echo "units: unfilled placeholder in $<" >&2; rm -f $@.tmp; exit 1; fi
	mv $@.tmp $@

cockpit: $(COCKPIT_DIST)/index.js ## The web console page: npm ci (lockfile) and the esbuild bundle into artifacts/build/cockpit

$(COCKPIT_DIST)/index.js: cockpit/package.json cockpit/package-lock.json cockpit/build.mjs cockpit/index.html cockpit/manifest.json $(wildcard cockpit/src/*)
	@command -v node > /dev/null && command -v npm > /dev/null || { echo "cockpit: node and npm (node 20 or later) build the page; they are missing" >&2; exit 1; }
	cd cockpit && npm ci --no-audit --no-fund --loglevel=error
	OUTDIR=$(COCKPIT_DIST) node cockpit/build.mjs

install-cockpit: ## Install the built page into DESTDIR$(COCKPITDIR) (the cockpit-livepatchd package; run make cockpit first)
	@test -f $(COCKPIT_DIST)/index.js || { echo "install-cockpit: $(COCKPIT_DIST) is not built; run make cockpit" >&2; exit 1; }
	install -D -m 0644 -t $(DESTDIR)$(COCKPITDIR) $(COCKPIT_DIST)/manifest.json $(COCKPIT_DIST)/index.html \
	  $(COCKPIT_DIST)/index.js $(COCKPIT_DIST)/index.css

cockpit-check: publish deb ## Browser tests of the web console: real cockpit-ws + chromium on the packaged page (tests/cockpit)
	bash tests/cockpit/run.sh --bin $(BIN) --deb $(PKGDIR)/cockpit-livepatchd_$(VERSION)-$(DEB_REVISION)_all.deb

man: $(MANPAGES) ## The man pages, rendered from docs/man/*.md with pandoc (into artifacts/build/man)

$(BUILDDIR)/man/%: docs/man/%.md Makefile
	@mkdir -p $(@D)
	pandoc --standalone --from markdown --to man -M footer="LivePatchAgent $(VERSION)" -M date="" $< -o $@.tmp
	mv $@.tmp $@

# The binaries are built once by publish; install and the packages take what is there (make publish rebuilds).
$(BIN)/livepatchd $(BIN)/lpctl:
	bash scripts/publish.sh $(CONFIG) $(RID) $(BIN)

install: $(BIN)/livepatchd $(BIN)/lpctl $(UNITS) $(MANPAGES) ## Install into DESTDIR (PREFIX=/usr for a system install; see docs/packaging.md)
	install -D -m 0755 $(BIN)/livepatchd $(DESTDIR)$(LIBEXECDIR)/livepatchd/livepatchd
	install -D -m 0755 $(BIN)/lpctl $(DESTDIR)$(BINDIR)/lpctl
	install -D -m 0644 -t $(DESTDIR)$(UNITDIR) $(UNITS)
	install -D -m 0644 systemd/dbus-1/org.livepatchd.Agent1.conf $(DESTDIR)$(DBUSPOLICYDIR)/org.livepatchd.Agent1.conf
	install -D -m 0644 systemd/tmpfiles.d/livepatchd.conf $(DESTDIR)$(TMPFILESDIR)/livepatchd.conf
	install -D -m 0644 systemd/sysusers.d/livepatchd.conf $(DESTDIR)$(SYSUSERSDIR)/livepatchd.conf
	install -D -m 0644 packaging/livepatchd.json $(DESTDIR)$(SYSCONFDIR)/livepatchd/livepatchd.json
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/livepatchd/trusted.d
	install -D -m 0644 $(BUILDDIR)/man/lpctl.1 $(DESTDIR)$(MANDIR)/man1/lpctl.1
	install -D -m 0644 $(BUILDDIR)/man/livepatchd.8 $(DESTDIR)$(MANDIR)/man8/livepatchd.8
	install -D -m 0644 $(BUILDDIR)/man/livepatchd.json.5 $(DESTDIR)$(MANDIR)/man5/livepatchd.json.5
	install -D -m 0644 packaging/completions/lpctl.bash $(DESTDIR)$(BASHCOMPDIR)/lpctl
	install -D -m 0644 packaging/completions/_lpctl $(DESTDIR)$(ZSHCOMPDIR)/_lpctl
	install -D -m 0644 packaging/prometheus/livepatchd.rules.yml $(DESTDIR)$(DATADIR)/livepatchd/prometheus/livepatchd.rules.yml
	install -D -m 0644 packaging/grafana/livepatchd-fleet.json $(DESTDIR)$(DATADIR)/livepatchd/grafana/livepatchd-fleet.json

deb: $(BIN)/livepatchd $(BIN)/lpctl $(COCKPIT_DIST)/index.js ## Debian packages (livepatchd, cockpit-livepatchd) into artifacts/packages (then lintian; see docs/packaging.md)
	bash packaging/deb/build.sh $(VERSION) $(PKGDIR)

rpm: $(BIN)/livepatchd $(BIN)/lpctl $(COCKPIT_DIST)/index.js ## RPM package into artifacts/packages (rpmbuild -bb packaging/rpm/livepatchd.spec)
	bash packaging/rpm/build.sh $(VERSION) $(PKGDIR)

packages: deb rpm ## Both packages

patch-package-check: ## Patch packages (packaging/patch/build.sh) from the signed test modules: lintian, dpkg-deb, rpm -qp, refusals
	bash tests/packaging/patch-package.sh

ansible-check: ## The Ansible collection (ansible/): pytest, galaxy build/install, --syntax-check, ansible-lint; "ansible: N passed, N failed"
	bash scripts/ansible-check.sh

clean: ## Remove build outputs (not the kernel cache)
	rm -rf $(ARTIFACTS) src/*/bin src/*/obj tests/*/bin tests/*/obj bench/*/bin bench/*/obj fuzz/*/bin fuzz/*/obj
