# Berth: `make dev` runs it, `make test` tests it. `make help` lists every target.
SHELL := bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/berth-platform/berth/internal/version.Version=$(VERSION)
BIN := bin/berth
GENERATED := internal/api/api.gen.go internal/apiclient/client.gen.go plugins/berth-common/src/schema.gen.ts catalog/templates
export CGO_ENABLED ?= 0
# Go packages of this module only: npm ships Go sources in plugins/node_modules that ./... would test.
GOPKGS = $$($(GO) list ./... | grep -v /node_modules/)

.PHONY: help deps-dev deps-test build dev test test-ts plugins-pack test-unit test-integration generate verify lint bench kube-tools plane-up plane-down clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps-dev: ## check (and install with apt when root) the OS packages make dev needs
	@hack/deps.sh dev

deps-test: ## the same for make test (PostgreSQL, Chromium and fonts, Node.js and npm as well)
	@hack/deps.sh test

build: ## build bin/berth
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/berth

dev: deps-dev build kube-tools ## run Berth on a local control plane (Argo CD, Kyverno), SQLite and a local GitOps repo under .berth/
	./$(BIN) dev

test: deps-test verify kube-tools ## everything CI runs: generated code fresh, vet, Go unit and integration tests (SQLite, PostgreSQL, local control plane), then the TypeScript plugins' tests
	$(GO) vet $(GOPKGS)
	hack/with-postgres.sh $(GO) test -count=1 -timeout 30m $(GOPKGS)
	@! pgrep -af '[b]erth-plane-' || { echo "a test left control-plane processes running (above)"; exit 1; }
	$(MAKE) test-ts

test-ts: build kube-tools plugins/node_modules ## the Backstage plugins' tests against the real Berth binary (a local plane with Argo CD and Kyverno for the entity cards; PostgreSQL for the packed packages in a Backstage backend of their own)
	cd plugins && npm run --silent typecheck && npm run --silent lint && npm run --silent build
	hack/with-postgres.sh hack/with-plane.sh .berth/ts-plane bash -c 'cd plugins && npm test'

plugins-pack: plugins/node_modules ## the Backstage packages as they publish: built with @backstage/cli (dist only) and packed into plugins/packs/
	cd plugins && npm run --silent build && rm -rf packs && mkdir packs && npm pack --silent --workspaces --pack-destination packs

plugins/node_modules: plugins/package-lock.json | deps-test
	cd plugins && npm ci --no-audit --no-fund
	@touch plugins/node_modules

test-unit: ## unit tests only (no control plane, no PostgreSQL)
	$(GO) test -short -count=1 $(GOPKGS)

test-integration: kube-tools ## integration tests against the local control plane and PostgreSQL
	hack/with-postgres.sh $(GO) test -count=1 -timeout 30m -run 'Integration|Plane|Store' $(GOPKGS)

generate: plugins/node_modules ## regenerate code from openapi/berth.yaml (Go server and client, TypeScript types) and the blueprints' Backstage templates
	$(GO) generate ./internal/api ./internal/apiclient
	$(GO) run ./cmd/berth templates --out catalog/templates >/dev/null
	cd plugins && npm run --silent generate >/dev/null

verify: generate ## fail when generated code is stale or go.mod is untidy
	@git diff --exit-code -- $(GENERATED) || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { echo "generated files are not committed"; exit 1; }
	@unformatted=$$(find cmd internal openapi scaffolder-actions test -name node_modules -prune -o -name '*.go' -print | xargs gofmt -l); \
	test -z "$$unformatted" || { echo "$$unformatted"; echo "gofmt needed"; exit 1; }

lint: ## golangci-lint, when installed
	@command -v golangci-lint >/dev/null || { echo "golangci-lint not installed"; exit 1; }
	golangci-lint run ./...

bench: build kube-tools test/bench/peer/node_modules ## benchmarks beside their peers; test/bench/RESULTS.md has every figure with its peer's, the machine and the date (raw output: results.txt; details: a file per benchmark there)
	@mkdir -p test/bench
	hack/bench-tools.sh
	@date -u +%FT%TZ > test/bench/.started
	set -o pipefail; hack/with-postgres.sh $(GO) test -run '^$$' -bench . -benchmem -count 3 -p 1 -timeout 120m $(GOPKGS) | tee test/bench/results.txt
	$(GO) run ./test/bench/report -since $$(cat test/bench/.started)

# The benchmark's peer: a minimal Backstage backend with @backstage/plugin-kubernetes-backend.
test/bench/peer/node_modules: test/bench/peer/package-lock.json | deps-test
	cd test/bench/peer && npm_config_nodedir=/usr npm ci --no-audit --no-fund
	@touch test/bench/peer/node_modules

kube-tools: | deps-dev ## build (once, cached) kube-apiserver, controller-manager, scheduler, etcd, kwok, Argo CD and Kyverno
	hack/kube/build.sh

plane-up: kube-tools ## start a local control plane in .berth/plane (kubeconfig: .berth/plane/admin.kubeconfig)
	hack/kube/plane.sh up .berth/plane

plane-down: ## stop the local control plane started by plane-up
	hack/kube/plane.sh down .berth/plane

clean: ## remove build output and local state (not the binary cache)
	-hack/kube/plane.sh down .berth/plane 2>/dev/null
	rm -rf bin .berth
