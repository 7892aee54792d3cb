# Flotilla. `make run` starts a peer in front of a local Kubo; `make test`
# runs the whole suite, end-to-end tests included.

GO           ?= go
KUBO_VERSION ?= v0.42.0
# The incumbent that `make bench` compares Flotilla with.
IPFS_CLUSTER_VERSION ?= v1.1.6
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -s -w -X github.com/flotilla-ipfs/flotilla/internal/version.Commit=$(VERSION)

export FLOTILLA_BIN := $(CURDIR)/bin/flotilla
export IPFS_BIN     := $(CURDIR)/bin/ipfs
export IPFS_CLUSTER_SERVICE_BIN := $(CURDIR)/bin/ipfs-cluster-service

.PHONY: build kubo ipfs-cluster run test test-unit e2e-js lint bench fuzz robustness status-screenshot clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/flotilla ./cmd/flotilla

# Kubo is built once from its Go module and cached in ./bin.
kubo: bin/ipfs
bin/ipfs:
	scripts/build-kubo.sh $(KUBO_VERSION) bin/ipfs

# ipfs-cluster's daemon and CLI, likewise, for `make bench` only.
ipfs-cluster: bin/ipfs-cluster-service
bin/ipfs-cluster-service:
	scripts/build-ipfs-cluster.sh $(IPFS_CLUSTER_VERSION) bin

run: build kubo
	scripts/run.sh

test: build kubo e2e-js
	FLOTILLA_E2E=1 $(GO) test -race -timeout 25m ./...

# The JS client the end-to-end tests drive; without npm the JS test fails,
# as every end-to-end test does when a part it needs is missing.
e2e-js:
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix e2e/js --no-audit --no-fund --silent; \
	else echo "npm not found: install node and npm (.ci/run does), or the JS client test fails"; fi

test-unit:
	$(GO) test -race -short ./...

# The long robustness run: minutes of faults against five in-process peers,
# then against three real flotilla daemons in front of real Kubos, network
# partitions between them included (Linux network namespaces: run it as
# root, with iproute2's ip; FLOTILLA_NEMESIS_PARTITIONS=0 leaves them out),
# and power cuts that lose every write not fsynced (FUSE, as root;
# FLOTILLA_NEMESIS_POWERCUTS=0 leaves them out; make test cuts power too),
# each run's seed printed so that a failure replays (docs/reliability.md).
robustness: build kubo
	FLOTILLA_ROBUSTNESS=long $(GO) test -race -count=1 -v -timeout 60m -run TestRobustness ./internal/robustness/
	FLOTILLA_E2E=1 FLOTILLA_ROBUSTNESS=long $(GO) test -count=1 -v -timeout 30m -run TestNemesisRealProcesses ./e2e/

# docs/status-page.png, the README's picture of the status page: the status
# page's end-to-end test saves it from its real three-peer cluster.
status-screenshot: build kubo
	FLOTILLA_E2E=1 FLOTILLA_STATUS_SCREENSHOT=$(CURDIR)/docs/status-page.png \
		$(GO) test -count=1 -run TestStatusPageShowsTheClusterLive ./e2e/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Every benchmark, end-to-end ones included, then one table of the ratios
# each measured against its baseline in the same run (docs/performance.md).
# The comparison with ipfs-cluster runs in a private network namespace
# (unshare -n), which needs root.
BENCH_PKGS ?= ./storage/... ./cluster/... ./proxy ./e2e
bench: build kubo ipfs-cluster
	@out=$$(mktemp); trap 'rm -f $$out $$out.rc' EXIT; \
	( FLOTILLA_E2E=1 $(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m $(BENCH_PKGS); echo $$? >$$out.rc ) 2>&1 | tee $$out; \
	$(GO) run ./internal/benchtable <$$out; \
	exit $$(cat $$out.rc)

# Fuzz each target for FUZZTIME (a duration, or a count such as 100000x), one
# after another. `go test` already runs their seeds and testdata/fuzz corpora;
# this hunts for new inputs. A failing input is written to the package's
# testdata/fuzz/<target>/, where `go test` replays it: commit it with the fix.
# New inputs are minimized for 1s, not the default 60s that would eat a short
# budget. Go 1.26 may end a timed run with a bare "context deadline exceeded"
# and no failing input (go.dev/issue/75804): that is reported, not failed.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	storage:FuzzDecodeCommand storage:FuzzDecodePinValue storage:FuzzDecodeStatusValue \
	storage:FuzzPinJSON intercept:FuzzPositionalArgs intercept:FuzzStdinArgs \
	intercept:FuzzReadCARRoots intercept:FuzzCARHeaderRoots internal/config:FuzzLoad \
	internal/jsonappend:FuzzString internal/cidtext:FuzzBase58

fuzz:
	@log=$$(mktemp); trap 'rm -f $$log $$log.rc' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		pkg=./$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		( $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 1s $$pkg; \
		  echo $$? >$$log.rc ) 2>&1 | tee $$log; \
		[ "$$(cat $$log.rc)" = 0 ] && continue; \
		if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
			echo "(no failing input: go.dev/issue/75804, not a finding)"; continue; \
		fi; \
		exit 1; \
	done

clean:
	rm -rf bin .run
