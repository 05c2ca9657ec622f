# Hookgate. `make dev` builds and runs everything in one process; `make test`
# runs every check CI runs. Tools are built from tools/go.mod at pinned
# versions into bin/; nothing else needs installing beyond Go, git and make.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := dev

BIN      := $(CURDIR)/bin
BUF      := $(BIN)/buf
PLUGINS  := $(BIN)/protoc-gen-go $(BIN)/protoc-gen-connect-go $(BIN)/protoc-gen-openapi
# The TypeScript client's npm packages, installed by npm ci.
TS_CLIENT := clients/ts/node_modules/.installed
# The web console: its npm packages, its build (embedded by the binary, so
# the binary depends on it) and the sources the build is made of.
CONSOLE_DEPS := console/node_modules/.installed
CONSOLE_DIST := controlplane/console/dist/index.html
CONSOLE_SRC  := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.ts console/tsconfig.json console/package-lock.json
# Completes gnostic's OpenAPI document (security, errors, 204s, examples).
OPENAPI_FINISH := $(BIN)/openapifinish
HOOKGATE := $(BIN)/hookgate
MODULES  := ./gen/... ./controlplane/... ./dataplane/... ./testkit/... ./cmd/hookgate/...
GO_SRC   := $(shell find cmd controlplane dataplane gen testkit -name '*.go' -o -name go.mod -o -name go.sum 2>/dev/null)
# The test budget on 2 cores: packages run two at a time.
TEST_FLAGS ?= -race -count=1 -p 2 -timeout 12m

.PHONY: console console-check console-test chromium test-faults curl dev build signers ts-client ts-test tools generate lint fmt-check vet gen-check test bench bench-outbound bench-profile bench-config breaking clean

## dev: build and run Hookgate with embedded etcd and NATS (data in ./.hookgate)
dev: build
	$(HOOKGATE) dev

## build: build the hookgate binary into bin/
build: $(HOOKGATE)

$(HOOKGATE): $(GO_SRC) go.work $(CONSOLE_DIST)
	go build -o $@ ./cmd/hookgate

## tools: build buf and the protoc plugins at the versions pinned in tools/go.mod
tools: $(BUF) $(PLUGINS) $(OPENAPI_FINISH)

# The tools module stays outside go.work so its requirements never raise the
# runtime modules' versions.
$(BUF) $(PLUGINS) &: tools/go.mod tools/go.sum
	cd tools && GOWORK=off go build -o $(BIN)/ \
		github.com/bufbuild/buf/cmd/buf \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		connectrpc.com/connect/cmd/protoc-gen-connect-go \
		github.com/google/gnostic/cmd/protoc-gen-openapi
	touch $(BUF) $(PLUGINS)

$(OPENAPI_FINISH): tools/go.mod tools/go.sum $(wildcard tools/openapifinish/*.go)
	cd tools && GOWORK=off go build -o $@ ./openapifinish

## generate: regenerate gen/ from proto/ (Go, Connect, OpenAPI in gen/openapi) and the TypeScript client's clients/ts/gen
generate: tools $(TS_CLIENT)
	rm -rf gen/hookgate gen/openapi/openapi.yaml gen/openapi/openapi.json clients/ts/gen
	$(BUF) generate
	$(OPENAPI_FINISH) gen/openapi/openapi.yaml
	$(BUF) generate --template buf.gen.ts.yaml

## gen-check: fail when gen/ or clients/ts/gen differs from what proto/ generates
gen-check: tools $(TS_CLIENT)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate -o "$$tmp"; \
	$(OPENAPI_FINISH) "$$tmp/gen/openapi/openapi.yaml"; \
	$(BUF) generate --template buf.gen.ts.yaml -o "$$tmp"; \
	if ! diff -r "$$tmp/gen/hookgate" gen/hookgate >/dev/null \
		|| ! diff -r -x '*.go' "$$tmp/gen/openapi" gen/openapi >/dev/null \
		|| ! diff -r "$$tmp/clients/ts/gen" clients/ts/gen >/dev/null; then \
		diff -r "$$tmp/gen/hookgate" gen/hookgate | head -20; \
		diff -r -x '*.go' "$$tmp/gen/openapi" gen/openapi | head -20; \
		diff -r "$$tmp/clients/ts/gen" clients/ts/gen | head -20; \
		echo "gen/ is stale: run 'make generate' and commit the result"; exit 1; \
	fi

## lint: buf lint on the API contract
lint: tools
	$(BUF) lint

## breaking: compare the API with main (FILE rules)
breaking: tools
	$(BUF) breaking --against '.git#branch=main'

fmt-check:
	@out=$$(gofmt -l cmd controlplane dataplane testkit 2>&1 || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet $(MODULES)

## signers: the providers' own npm libraries the e2e tests sign requests with
SIGNERS := signers/node_modules/.installed
signers: $(SIGNERS)

$(SIGNERS): signers/package.json signers/package-lock.json
	cd signers && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## console: build the web console (console/, Vite) into controlplane/console/dist, which the binary embeds
console: $(CONSOLE_DIST)

$(CONSOLE_DEPS): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The built console is committed, like gen/, so `go build` alone embeds it;
# console-check fails when it is not what console/ builds.
$(CONSOLE_DIST): $(CONSOLE_SRC) $(CONSOLE_DEPS) $(wildcard clients/ts/gen/hookgate/v1/*)
	cd console && npm run build --silent
	touch $@

## console-check: fail when controlplane/console/dist differs from what console/ builds (type-checked)
console-check: $(CONSOLE_DEPS)
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd console && npx tsc --noEmit && npx vite build --logLevel error --outDir "$$tmp/dist" --emptyOutDir); \
	if ! diff -r "$$tmp/dist" controlplane/console/dist >/dev/null; then \
		echo "controlplane/console/dist is stale: run make console and commit it"; \
		diff -r "$$tmp/dist" controlplane/console/dist | head -20; exit 1; fi

## chromium: Debian's Chromium for the console's browser tests, installed when missing
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## console-test: the console's browser tests (playwright-core driving headless Chromium) against a `hookgate dev` they start; screenshots in console/test-output/screenshots
console-test: build chromium $(CONSOLE_DEPS)
	cd console && HOOKGATE_BIN=$(HOOKGATE) node --test --test-concurrency=1 test/*.test.mjs

## ts-client: the TypeScript client's npm packages (protoc-gen-es, Connect) at clients/ts/package-lock.json's versions
ts-client: $(TS_CLIENT)

$(TS_CLIENT): clients/ts/package.json clients/ts/package-lock.json
	cd clients/ts && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## ts-test: the TypeScript client's node:test suite against a `hookgate dev` it starts
ts-test: build $(TS_CLIENT)
	cd clients/ts && HOOKGATE_BIN=$(HOOKGATE) node --test test/

## curl: the REST end-to-end tests drive the server with curl, as a user would; installed from Debian's packages when missing
curl:
	@command -v curl >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }

## test: lint, freshness of gen/ and of the built console, gofmt, vet, the race-enabled tests of every module (the fault suite in its short form), the TypeScript client's tests and the console's browser tests
test: lint gen-check console-check fmt-check vet build $(SIGNERS) $(TS_CLIENT) $(CONSOLE_DEPS) chromium curl
	HOOKGATE_BIN=$(HOOKGATE) HOOKGATE_SIGNERS=$(CURDIR)/signers go test $(TEST_FLAGS) $(MODULES)
	cd clients/ts && HOOKGATE_BIN=$(HOOKGATE) node --test test/
	cd console && HOOKGATE_BIN=$(HOOKGATE) node --test --test-concurrency=1 test/*.test.mjs

## test-faults: the fault suite in full (every part a process of the built binary; each scenario loaded for 10 s between faults), with its report
test-faults: build
	@HOOKGATE_BIN=$(HOOKGATE) HOOKGATE_FAULTS=full go test -count=1 -v -timeout 15m -run '^TestFault' ./cmd/hookgate/e2e/ >faults.log 2>&1; \
		status=$$?; grep -E '^(--- |fault |ok|FAIL|PASS|panic)' faults.log; echo "(full log: faults.log)"; exit $$status

## bench: the ingress and outbound benchmarks, with ratios against ceilings measured in the same run
bench:
	go run ./cmd/hookgate/bench/ingress -duration $(or $(BENCH_DURATION),3s) -rounds $(or $(BENCH_ROUNDS),3)
	$(OUTBOUND_BENCH)

## bench-outbound: the dispatch engine's deliveries/s and latency against a bare HTTP client, and 1,000 endpoints with 100 timing out
OUTBOUND_BENCH = go run ./cmd/hookgate/bench/outbound -duration $(or $(BENCH_DURATION),3s) -rounds $(or $(BENCH_ROUNDS),3)
bench-outbound:
	$(OUTBOUND_BENCH)

## bench-config: config propagation, cold start and edge heap with WEBHOOKS webhooks (default 100000; several sizes comma separated print a column each, e.g. WEBHOOKS=100000,1000000)
WEBHOOKS ?= 100000
# BENCH_CONFIG_FLAGS adds go test flags, e.g. -cpuprofile bench-config.prof.
BENCH_CONFIG_FLAGS ?=
bench-config:
	HOOKGATE_BENCH_WEBHOOKS=$(WEBHOOKS) go test -run='^$$' -bench=Config -benchtime=1x -timeout 90m $(BENCH_CONFIG_FLAGS) ./cmd/hookgate/configtest/

## bench-profile: the same, writing a CPU profile of the edge runs to bench-edge.prof
bench-profile:
	go run ./cmd/hookgate/bench/ingress -duration 10s -rounds 1 -cpuprofile bench-edge.prof
	go tool pprof -top -nodecount=30 bench-edge.prof | head -40

## fuzz: run every fuzz target of every module for FUZZTIME (default 10s) each; a crasher is kept as a seed in its package's testdata/fuzz/<Name>/ (go test runs it from then on) and fails the run
FUZZTIME ?= 10s
# FUZZ_FLAGS adds go test flags, e.g. -parallel=1 on a shared machine.
FUZZ_FLAGS ?=
.PHONY: fuzz
fuzz:
	@targets=$$(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' cmd controlplane dataplane gen testkit | sed 's/:func /:/' | sort); \
	[ -n "$$targets" ] || { echo "fuzz: no fuzz targets found"; exit 1; }; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; failed=""; n=0; \
	for t in $$targets; do \
		dir=$$(dirname "$${t%%:*}"); name=$${t##*:}; n=$$((n+1)); \
		echo "fuzz: $$name in ./$$dir for $(FUZZTIME)"; \
		if ! go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -vet=off $(FUZZ_FLAGS) "./$$dir" >"$$log" 2>&1; then \
			cat "$$log"; \
			seed=$$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$$log" | head -1); \
			if [ -n "$$seed" ]; then \
				failed="$$failed\n  $$name: crasher kept in $$dir/$$seed (go test -run='$$name/$${seed##*/}' ./$$dir)"; \
			else \
				failed="$$failed\n  $$name in ./$$dir: failed without a new crasher (an existing seed in $$dir/testdata/fuzz/$$name/, or a build error; see above)"; \
			fi; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then printf 'fuzz: failures:%b\n' "$$failed"; exit 1; fi; \
	echo "fuzz: $$n targets ran $(FUZZTIME) each without a crasher"

## soak: a soak of `hookgate dev`, not part of make test: the maximum measured in a 10 s ramp, then half of it for SOAK_DURATION (30m) with a configuration change a second and a failing endpoint a minute; writes soak-out/soak.csv, soak.md, soak.png and exits 1 on a leak, an error or a lost message
SOAK_DURATION ?= 30m
.PHONY: soak
soak: build
	go run ./cmd/hookgate/soak -hookgate $(HOOKGATE) -duration $(SOAK_DURATION) -out $(CURDIR)/soak-out

clean:
	rm -rf bin
