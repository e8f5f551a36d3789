# blueprint: ETL pipelines on Temporal. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN            := $(CURDIR)/bin
TEMPORAL       := $(BIN)/temporal
STATICCHECK    := $(BIN)/staticcheck
WORKFLOWCHECK  := $(BIN)/workflowcheck
TEMPORAL_CLI_VERSION  := v1.5.1
STATICCHECK_VERSION   := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0

export BLUEPRINT_TEMPORAL_BIN ?= $(TEMPORAL)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(TEMPORAL):
	@echo "installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (a few minutes the first time)"
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(STATICCHECK):
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

# Headless Chromium (Debian's package), which the Web UI checks of make test
# run; they fail, never skip, without it. internal/testutil names the same
# path and command.
CHROMIUM := /usr/bin/chromium

.PHONY: tools
tools: $(TEMPORAL) $(STATICCHECK) $(WORKFLOWCHECK) ## install the Temporal CLI and the linters into ./bin, and headless Chromium (as root), when missing
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing headless Chromium for the Web UI checks"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "headless Chromium is missing at $(CHROMIUM): the Web UI checks of make test will fail; install it with: sudo apt-get update && sudo apt-get install -y chromium"; \
	fi

.PHONY: build
build: ## build the worker and the blueprint CLI into ./bin
	go build -o $(BIN)/blueprint ./cmd/blueprint
	go build -o $(BIN)/blueprint-worker ./worker

# Where make install puts the binaries: go install's directory.
GOBIN_DIR = $(or $(shell go env GOBIN),$(shell go env GOPATH)/bin)

.PHONY: docs
docs: ## regenerate docs/cli.md, the CLI reference, from the commands' help
	go run ./cmd/blueprint/internal/clidoc docs/cli.md

.PHONY: install
install: ## install blueprint and blueprint-worker into $(go env GOPATH)/bin (or $GOBIN), to type a bare `blueprint`
	go install ./cmd/blueprint
	go build -o "$(GOBIN_DIR)/blueprint-worker" ./worker
	@echo "Installed $(GOBIN_DIR)/blueprint and $(GOBIN_DIR)/blueprint-worker."
	@case ":$$PATH:" in *":$(GOBIN_DIR):"*) ;; *) echo "$(GOBIN_DIR) is not on your PATH: export PATH=\"\$$PATH:$(GOBIN_DIR)\"";; esac

.PHONY: lint
lint: $(STATICCHECK) $(WORKFLOWCHECK) ## gofmt, go vet, staticcheck, workflowcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	$(WORKFLOWCHECK) ./workflows/...

.PHONY: test
test: tools lint ## install tools, lint, run every test (the command CI runs)
	go test -count=1 -timeout 20m ./...

.PHONY: test-e2e
test-e2e: tools ## end-to-end reliability tests: worker kills, server restarts, flaky sources, bad input, secrets (a few minutes; CI runs it after test)
	go vet -tags e2e ./e2e/
	$(STATICCHECK) -tags e2e ./e2e/
	go test -tags e2e -count=1 -timeout 30m -v ./e2e/

FUZZTIME ?= 10s

.PHONY: test-realapi
test-realapi: ## read real REST servers (json-server 0.17 and 1.0 from npm, installed into a temporary directory); needs npm; not part of CI
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	npm install --silent --no-audit --no-fund --prefix "$$dir/017" json-server@0.17.4 && \
	npm install --silent --no-audit --no-fund --prefix "$$dir/1" json-server@1.0.0-beta.3 && \
	BLUEPRINT_JSON_SERVER_017="$$dir/017/node_modules/.bin/json-server" BLUEPRINT_JSON_SERVER_1="$$dir/1/node_modules/.bin/json-server" \
	go test -tags realapi -count=1 -run 'TestJSONServer' -v ./internal/source/

.PHONY: fuzz
fuzz: ## run every fuzz target of the module for FUZZTIME each (default 10s); not part of CI
	@set -e; for f in $$(grep -rlE --include='*_test.go' --exclude-dir=bin --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]+\(' . | sort); do \
		for t in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' $$f | cut -d' ' -f2); do \
			echo "go test -run '^$$' -fuzz '^$$t$$' -fuzztime $(FUZZTIME) $$(dirname $$f)"; \
			go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$(dirname $$f); \
		done; \
	done

.PHONY: bench
bench: tools ## measure the pipeline against its baselines (several minutes); table on stdout, figures in bench/results/latest.json
	go run ./bench -out bench/results/latest.json

.PHONY: demo
demo: $(TEMPORAL) build ## start a local Temporal server and worker, then run the 30-task scenario (again: reuses them)
	scripts/demo.sh

.PHONY: down
down: ## stop the server and worker that make demo started (keeps ./data and ./.data)
	scripts/down.sh

.PHONY: clean
clean: down ## stop what make demo started, remove build output and local state (./data, ./.data)
	rm -rf $(BIN)/blueprint $(BIN)/blueprint-worker ./data ./.data
