# faultline build. Build tags and versions live here and nowhere else.
GO       ?= go
TAGS     := duckdb_arrow
BIN      := bin/faultline
# Printed by `faultline --version`.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
FUZZTIME ?= 4s
PKGS     := ./...
# Go test timeout for the whole hermetic suite.
TEST_TIMEOUT ?= 12m
# The pgwire tests that drive real clients or the Grafana provisioning (make test-clients).
CLIENT_TESTS := ^(TestPsql|TestPsycopg|TestJDBC|TestGrafana.*)$$

.DEFAULT_GOAL := help

.PHONY: help
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/faultline
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/faultline

.PHONY: test
test: build ## run the hermetic test suite (unit, end-to-end with the in-process broker, brief fuzzing)
	$(GO) test -tags $(TAGS) -timeout $(TEST_TIMEOUT) -count=1 $(PKGS)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

.PHONY: pgclients
pgclients: ## install what the real-client tests need and a fresh machine lacks: psql (Debian, as root), psycopg 3 (venv in .cache/pgclients), the PostgreSQL JDBC driver (Maven Central, .cache/pgclients)
	bash scripts/pgclients.sh

.PHONY: test-clients
test-clients: pgclients ## the PostgreSQL endpoint against real clients (psql, psycopg 3, JDBC) and the Grafana provisioning; a missing client fails, never skips
	CI=true $(GO) test -tags $(TAGS) -count=1 -run '$(CLIENT_TESTS)' ./pgwire/

.PHONY: test-race
test-race: ## run the tests with the race detector
	$(GO) test -tags $(TAGS) -race -timeout 30m -count=1 $(PKGS)

.PHONY: fuzz
fuzz: ## run every Fuzz target for FUZZTIME each (make fuzz FUZZTIME=1m); see scripts/fuzz.sh
	GO="$(GO)" TAGS="$(TAGS)" FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

.PHONY: test-integration
test-integration: build ## run the integration suite against a real Apache Kafka broker (needs Java 17+ and Maven)
	GO="$(GO)" GO_TAGS="$(TAGS) integration" bash scripts/integration.sh

.PHONY: test-faults
test-faults: build ## run the fault suite against a real Kafka broker: full disks, network faults (toxiproxy), memory limits, damaged files (needs root, Java 17+ and Maven)
	GO="$(GO)" GO_TAGS="$(TAGS) integration faults" IT_RUN="$${IT_RUN:-^TestFault}" bash scripts/integration.sh

# golangci-lint, pinned: make lint installs this version once (go install,
# from the Go module proxy) into .cache/tools; change the version here only.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := .cache/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	@mkdir -p .cache/tools/install
	GOBIN=$(CURDIR)/.cache/tools/install $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv .cache/tools/install/golangci-lint $@

.PHONY: lint
lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (.golangci.yml), also over the integration and crash-test build tags
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) $(PKGS)
	$(GOLANGCI_LINT) run --allow-parallel-runners --build-tags $(TAGS) $(PKGS)
	$(GOLANGCI_LINT) run --allow-parallel-runners --build-tags $(TAGS),integration,faults,faultline_crashtest ./ingest/...

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

PYVENV   := .cache/pyvenv

.PHONY: bench-python
bench-python: ## the Python consumer of bench stage h: a venv under .cache/pyvenv with pinned duckdb, confluent-kafka, pyarrow
	test -x $(PYVENV)/bin/python || python3 -m venv $(PYVENV)
	$(PYVENV)/bin/pip install --quiet -r cmd/faultline/bench/python/requirements.txt

.PHONY: bench
bench: build ## quick benchmarks (about 5 minutes): one table, bench-results.json; 1M rows over the PostgreSQL wire vs the JSON API (docs/benchmarks.md)
	./$(BIN) bench --quick --out bench-results.json
	$(GO) test -tags $(TAGS) -run '^$$' -bench BenchmarkServeSelect1M -benchtime 2x ./pgwire/

.PHONY: bench-full
bench-full: build ## full benchmarks (about 60-80 minutes, 2 GB of disk for the 100M-event table): one table, bench-results.json
	./$(BIN) bench --out bench-results.json

.PHONY: demo
demo: build ## the one-command demo: embedded broker, simulated outage, ingest, report, dashboards
	./$(BIN) demo

.PHONY: vendor-uplot
vendor-uplot: ## vendor the pinned uPlot release from npm into dashboards/static/vendor/uplot (scripts/vendor-uplot.sh)
	bash scripts/vendor-uplot.sh

.PHONY: clean
clean: ## remove build output
	rm -rf bin testout
