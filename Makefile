# Flotilla. `make run` starts a peer in front of a local Kubo; `make test`
# runs the whole suite, end-to-end tests included.

GO           ?= go
KUBO_VERSION ?= v0.42.0
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -s -w -X github.com/flotilla-ipfs/flotilla/internal/version.Commit=$(VERSION)

export FLOTILLA_BIN := $(CURDIR)/bin/flotilla
export IPFS_BIN     := $(CURDIR)/bin/ipfs

.PHONY: build kubo run test test-unit e2e-js lint bench robustness clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/flotilla ./cmd/flotilla

# Kubo is built once from its Go module and cached in ./bin.
kubo: bin/ipfs
bin/ipfs:
	scripts/build-kubo.sh $(KUBO_VERSION) bin/ipfs

run: build kubo
	scripts/run.sh

test: build kubo e2e-js
	FLOTILLA_E2E=1 $(GO) test -race -timeout 25m ./...

# The JS client the end-to-end tests drive, when node is installed.
e2e-js:
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix e2e/js --no-audit --no-fund --silent; \
	else echo "npm not found: the JS client test will be skipped"; fi

test-unit:
	$(GO) test -race -short ./...

# The long robustness run: minutes of faults against five in-process peers,
# each run's seed printed so that a failure replays (docs/reliability.md).
robustness:
	FLOTILLA_ROBUSTNESS=long $(GO) test -race -count=1 -v -timeout 60m -run TestRobustness ./internal/robustness/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: build kubo
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

clean:
	rm -rf bin .run
