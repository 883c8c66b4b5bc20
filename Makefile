# nscale — see README.md. Test components are cached outside the clone in
# $(NSCALE_CACHE) so a fresh clone and a second run are fast.
SHELL := /bin/bash
NSCALE_CACHE ?= $(HOME)/.cache/nscale
export NSCALE_CACHE
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/nscale/nscale/internal/version.Version=$(VERSION)
BINARIES := nscale-controlplane nscale-agent nscalectl
DEMO_DIR ?= .demo

.PHONY: all build images test unit integration lint tools demo bench bench-integration generate clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

## images: the agent's and the control plane's container images as OCI
## archives, $(BIN)/images/nscale-agent.tar and nscale-controlplane.tar,
## built with go-containerregistry (no Docker); see docs/install-kubernetes.md.
## An image holds only its binary, so the binary must be static. The agent
## is pure Go (CGO_ENABLED=0). The control plane is not: pg_query_go (the
## PostgreSQL parser) is cgo, so CGO_ENABLED=0 cannot build it; it is linked
## with cgo against glibc's libc.a (-linkmode external -extldflags -static;
## Debian's libc6-dev has it), with netgo,osusergo so that DNS and user
## lookups are Go's own and need no NSS library at run time. build-images
## refuses a binary with a program interpreter or a needed shared library.
images:
	@mkdir -p $(BIN)/static
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS) -s -w' -o $(BIN)/static/ ./cmd/nscale-agent
	CGO_ENABLED=1 $(GO) build -trimpath -tags netgo,osusergo \
	  -ldflags '$(LDFLAGS) -s -w -linkmode external -extldflags "-static"' -o $(BIN)/static/ ./cmd/nscale-controlplane
	$(GO) run ./daemonset/images/cmd/build-images -bin $(BIN)/static -out $(BIN)/images -version $(VERSION)

## test: everything CI runs — lint, unit tests and integration tests, with -race.
test: tools lint unit integration

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

integration:
	$(GO) test -race -count=1 -timeout 20m -tags integration ./integration/...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/...
	@# Every shell script in git passes shellcheck (scripts/tools.sh installs it; CI must have it).
	@sh_files=$$(git ls-files '*.sh'); \
	  if [ -z "$$sh_files" ]; then echo "lint: no shell scripts"; \
	  elif command -v shellcheck >/dev/null; then echo "shellcheck" $$sh_files; shellcheck $$sh_files; \
	  elif [ -n "$$CI" ]; then echo "lint: shellcheck is missing (scripts/tools.sh installs it) and CI is set"; exit 1; \
	  else echo "lint: shellcheck not installed (make tools); shell scripts not checked"; fi
	@# The committed eBPF object must be what its source generates (where clang is).
	@if command -v clang >/dev/null && [ -f /usr/include/bpf/bpf_helpers.h ]; then \
	  echo "go generate ./agent/ebpf/ (checking the committed BPF object is current)"; \
	  $(GO) generate ./agent/ebpf/ && git diff --exit-code -- agent/ebpf/; \
	else echo "lint: clang or libbpf-dev missing; the committed BPF object is not regenerated"; fi
	@if [ -x "$(NSCALE_CACHE)/bin/staticcheck" ]; then \
	  echo "$(NSCALE_CACHE)/bin/staticcheck ./..."; "$(NSCALE_CACHE)/bin/staticcheck" ./... && \
	  echo "$(NSCALE_CACHE)/bin/staticcheck -tags integration ./integration/..." && \
	  "$(NSCALE_CACHE)/bin/staticcheck" -tags integration ./integration/...; \
	else echo "lint: staticcheck not installed (make tools); skipped"; fi

tools:
	@scripts/tools.sh

## demo: the control plane on the embedded default (SQLite, local files).
demo: build
	@scripts/demo.sh $(DEMO_DIR)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

## bench-integration: the end-to-end benchmarks over real processes (scan
## vs a direct read and DuckDB, agent RSS while streaming 5 GB); see
## docs/BENCHMARKS.md. The first run generates ~5.5 GB of Parquet into
## $(NSCALE_CACHE)/bench; later runs reuse it. Not part of `make test`.
bench-integration: tools
	$(GO) test -tags integration -run '^$$' -bench . -benchtime 1x -timeout 60m -v ./integration/...

## generate: regenerate committed code (internal/agentapi from agentapi.proto,
## agent/ebpf from guard.c: needs apt-get install clang llvm libbpf-dev).
## Needs protoc (Debian: apt-get install protobuf-compiler); the Go plugins
## are installed into $(NSCALE_CACHE)/bin at the pinned versions.
generate:
	@command -v protoc >/dev/null || { echo "generate: protoc is missing (apt-get install protobuf-compiler)"; exit 1; }
	GOBIN=$(NSCALE_CACHE)/bin $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$(NSCALE_CACHE)/bin $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
	$(GO) generate ./...

clean:
	rm -rf $(BIN) $(DEMO_DIR)
