# parquetrail — build, test, generate, benchmark.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CACHE     ?= $(or $(PARQUETRAIL_CACHE),$(HOME)/.cache/parquetrail)
DEMO_DIR  ?= $(CACHE)/demo

.PHONY: all build demo test test-unit test-integration test-e2e vet generate verify bench controlplane clean

all: build

build: ## Build shard-worker and the manager into ./bin.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/shard-worker ./shard-worker

demo: build ## Generate the demo day and convert it in one process (no cluster, no cloud account).
	$(GO) run ./hack/gen --preset demo --out $(DEMO_DIR)/source
	rm -rf $(DEMO_DIR)/output
	$(BIN)/shard-worker run --source $(DEMO_DIR)/source --destination $(DEMO_DIR)/output \
		--date 2026-11-24 --time-zone Asia/Seoul --columns seed --local-time-column eventtime_kst
	@echo; echo "Parquet written under $(DEMO_DIR)/output/proc_ymd=20261124/"

test: vet verify test-unit ## Everything CI runs.

vet:
	$(GO) vet ./...

test-unit: ## Unit tests (S3 against an in-process S3 server on loopback).
	$(GO) test -count=1 ./...

bench: ## The reference day, parquetrail against DuckDB, side by side.
	hack/bench/bench.sh

clean:
	rm -rf $(BIN)
