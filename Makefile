# pier — build, test, demo, benchmarks.
# The README's two commands are `make demo` and `make test`; .ci/run calls `make test`.

GO       ?= go
# go.mod's toolchain line names the Go with the fixed standard library;
# auto lets the go command fetch it through the module proxy and use it
# even where the user's go env says GOTOOLCHAIN=local.
export GOTOOLCHAIN ?= auto
BIN      := $(CURDIR)/bin
IS_ROOT  := $(shell [ "$$(id -u)" = 0 ] && echo 1)
TESTFLAGS ?=

.PHONY: all build deps test-deps demo test test-unit test-vm compat compat-docker-py compat-build compat-buildkit compat-cri bench conformance clean vulncheck fuzz

all: build

# pier-runtime is linked statically: it is exec'd twice per container (the
# command, then the container's first process) and the dynamic loader's
# ~0.4 ms would be paid both times. netgo/osusergo keep libc's NSS out.
RUNTIME_LDFLAGS := -linkmode external -extldflags "-static"
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null)
MOD     := github.com/pier-engine/pier/internal
STAMP   := -X $(MOD)/version.Version=$(VERSION) -X $(MOD)/version.GitCommit=$(COMMIT)
# grpcnotrace drops grpc's golang.org/x/net/trace (the /debug/requests
# pages, which pier does not serve) and with it html/template, whose
# reflection keeps every exported method alive: pierd's binary shrinks
# 33 -> 27 MB and its idle RSS ~3.5 MB (cmd/pierd/deps_test.go).
DAEMON_TAGS := grpcnotrace

build:
	$(GO) build -trimpath -tags netgo,osusergo -ldflags '$(RUNTIME_LDFLAGS) $(STAMP)' -o $(BIN)/pier-runtime ./cmd/pier-runtime
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/pier-init ./cmd/pier-init
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/pier-monitor ./cmd/pier-monitor
	CGO_ENABLED=0 $(GO) build -trimpath -tags monitorwatch -ldflags='-s -w' -o $(BIN)/pier-monitor-watch ./cmd/pier-monitor
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(DAEMON_TAGS)' -ldflags '$(STAMP)' -o $(BIN)/pierd ./cmd/pierd
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(DAEMON_TAGS)' -ldflags '$(STAMP)' -o $(BIN)/pier-buildkitd ./cmd/pier-buildkitd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(STAMP)' -o $(BIN)/pier ./cmd/pier

# Installs, with apt-get, what building and testing need on a fresh machine.
deps:
	scripts/install-deps.sh

# The tests also drive Debian's docker 20.10 client and its Python SDK
# (python3-docker) against pierd, run containers under runc and crun
# (--runtime), and measure bandwidth limits with iperf3; Compose v2 is
# built from the Go module proxy as a docker CLI plugin (cached).
test-deps:
	scripts/install-deps.sh docker.io python3-docker runc crun iperf3 containernetworking-plugins containerd buildah openssh-client
	scripts/install-compose.sh
	scripts/install-critools.sh >/dev/null
	scripts/install-buildx.sh

demo: deps build
	scripts/demo.sh

# As root (CI is root) the whole suite runs: unit, root and integration tests,
# one package at a time because root tests check the machine for leaks.
test: test-deps build
	$(GO) vet ./...
ifeq ($(IS_ROOT),1)
	PIER_TEST_ROOT=1 PIER_BIN_DIR=$(BIN) $(GO) test -count=1 -p 1 -timeout 14m $(TESTFLAGS) ./...
else
	@echo "not root: running unit tests only (root tests need root; CI runs them)"
	$(GO) test -count=1 $(TESTFLAGS) ./...
endif

# govulncheck against an offline copy of the Go vulnerability database
# (module golang.org/x/vulndb through the module proxy); fails when a
# vulnerability is reachable from pier's code. See scripts/vulncheck.sh.
vulncheck:
	scripts/vulncheck.sh

# Each fuzz target for FUZZTIME (seed corpora in the packages'
# testdata/fuzz). At the end of a wall-clock -fuzztime Go's coordinator can
# fail with a bare "context deadline exceeded" and no failing input
# (golang/go#75804): that alone is reported and not counted as a failure; a
# written failing input, a panic or any other error still fails.
FUZZTIME ?= 10s
FUZZ_TARGETS := internal/archive:FuzzExtract internal/decompress:FuzzDecompress \
	internal/image:FuzzLoadManifests internal/image:FuzzLoad
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t#*:}; rc=0; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$pkg/ 2>&1) || rc=$$?; \
		echo "$$out"; \
		if [ $$rc -ne 0 ]; then \
			if echo "$$out" | grep -q "Failing input written\|panic:" || ! echo "$$out" | grep -q "context deadline exceeded"; then exit 1; fi; \
			echo "fuzz $$fn: the coordinator's deadline race at the end of -fuzztime, no failing input: not a failure"; \
		fi; \
	done

test-unit:
	$(GO) test -count=1 $(TESTFLAGS) ./...

# Optional, not part of `make test`: the runtime's and the cgroup manager's
# root tests in a cgroup-v2-only qemu VM (needs ../shared/vm/vm-run.sh).
test-vm:
	scripts/vmtest.sh

# Docker and Podman driving pier-runtime (installs docker.io and podman).
compat: deps build
	scripts/compat.sh

# Kubernetes' CRI conformance suite (critest, cri-tools v1.37.0) against a private pierd's
# CRI socket, images from a local registry mirror (scripts/critest.sh); ~70 s.
compat-cri: deps build
	scripts/critest.sh

# docker-py 5.0.3's own integration suite against pierd and a private
# dockerd 20.10; DOCKER_PY_SRC names its checkout (scripts/compat-docker-py.sh).
compat-docker-py: deps build
	scripts/compat-docker-py.sh

# moby's integration-cli build tests (classic builder) against pierd and a
# private dockerd 20.10; MOBY_SRC names a moby checkout (scripts/compat-build.sh).
compat-build: deps build
	scripts/compat-build.sh

# BuildKit's own Dockerfile frontend suite (frontend/dockerfile, at go.mod's
# BuildKit version, from the module cache) against pierd through the suite's
# dockerd worker and a dockerd shim; images made locally
# (scripts/compat-buildkit-frontend.sh). RUN= narrows it; ~30 min on 2 cores.
compat-buildkit: deps build
	scripts/compat-buildkit-frontend.sh

bench: deps build
	bench/run.sh

conformance: deps build
	scripts/conformance.sh

clean:
	rm -rf $(BIN)
