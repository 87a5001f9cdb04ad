# parquetrail — build, test, generate, benchmark.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CACHE     ?= $(or $(PARQUETRAIL_CACHE),$(HOME)/.cache/parquetrail)
DEMO_DIR  ?= $(CACHE)/demo
REGISTRY  ?= ghcr.io/parquetrail
IMAGE_TAG ?= $(VERSION)
# INFLATE=libdeflate builds shard-worker with libdeflate (cgo, linked
# statically; hack/libdeflate.sh installs libdeflate-dev), which inflates
# the logs about twice as fast as the pure-Go default (INFLATE=go).
INFLATE   ?= go
ifeq ($(INFLATE),libdeflate)
WORKER_BUILD := hack/libdeflate.sh && CGO_ENABLED=1 $(GO) build -trimpath -tags libdeflate,netgo,osusergo \
	-ldflags '$(LDFLAGS) -linkmode external -extldflags -static'
else
WORKER_BUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
endif

.PHONY: all build demo test libdeflate test-unit test-integration test-e2e vet generate verify bench bench-scale controlplane duckdb image push clean
.PHONY: helm test-chart chart-lint chart-package chart-push image-check push-multiarch chart-docs

all: build

build: ## Build shard-worker and the manager into ./bin (INFLATE=libdeflate: the faster inflate).
	$(WORKER_BUILD) -o $(BIN)/shard-worker ./shard-worker
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/manager ./cmd/manager

demo: ## Generate the demo day and convert it in one process (no cluster, no cloud account).
	$(WORKER_BUILD) -o $(BIN)/shard-worker ./shard-worker
	$(GO) run ./hack/gen --preset demo --out $(DEMO_DIR)/source
	rm -rf $(DEMO_DIR)/output
	$(BIN)/shard-worker run --source $(DEMO_DIR)/source --destination $(DEMO_DIR)/output \
		--date 2026-11-24 --time-zone Asia/Seoul --late-arrival 12h \
		--columns seed --local-time-column eventtime_kst
	@echo; echo "Parquet written under $(DEMO_DIR)/output/proc_ymd=20261124/"

# Everything CI runs (.ci/run): the control plane, DuckDB, helm and
# libdeflate are installed first, so that no suite can skip for want of
# them. The packages that inflate logs run again in the libdeflate build.
test: vet verify controlplane duckdb helm libdeflate
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) PARQUETRAIL_REQUIRE_ALL=1 \
		$(GO) test -count=1 -timeout 45m ./...
	CGO_ENABLED=1 $(GO) test -count=1 -tags libdeflate ./internal/scan/... ./internal/flatten/... ./shard-worker/...

libdeflate: ## Install libdeflate-dev for the libdeflate build (apt-get, as root).
	hack/libdeflate.sh

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-clean: $$unformatted"; exit 1; fi

test-unit: ## Tests that need no control plane (S3 against a loopback server).
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/)

test-integration: controlplane ## envtest: CEL rules and every reconcile step.
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) $(GO) test -count=1 ./test/integration/...

test-e2e: controlplane ## The operator end to end with the real Job controller.
	KUBEBUILDER_ASSETS=$$(hack/controlplane.sh) $(GO) test -count=1 -v ./test/e2e/...

controlplane: ## Build kube-apiserver, etcd, kube-controller-manager from the Go module proxy (cached).
	hack/controlplane.sh >/dev/null

duckdb: ## Install DuckDB's and chDB's (ClickHouse) Node clients for the tests and the benchmark.
	# npm ci refuses a lock file that lacks chdb's packages for other platforms,
	# which a registry without them leaves out; then install from package.json
	# without touching the lock file.
	cd hack/bench && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || \
		npm install --no-audit --no-fund --no-save --loglevel=error; }

generate: ## Regenerate deepcopy, CRD and RBAC (controller-gen from hack/tools), record fields and scanner lookup.
	hack/tools/generate.sh .

verify: ## Fail when generated files are stale.
	hack/verify-generated.sh

bench: ## The reference day: parquetrail, DuckDB and chDB side by side, and the inflate floor.
	hack/bench/bench.sh

bench-scale: ## Plan, W flatten indices, merge-plan, R = W merge indices and publish as one-core processes, W = 1..16; output checked.
	hack/bench/scale.sh

image: ## Build the worker and manager images (needs a Docker engine).
	docker build --target worker --build-arg VERSION=$(VERSION) -t $(REGISTRY)/shard-worker:$(IMAGE_TAG) .
	docker build --target manager --build-arg VERSION=$(VERSION) -t $(REGISTRY)/manager:$(IMAGE_TAG) .

push: image
	docker push $(REGISTRY)/shard-worker:$(IMAGE_TAG)
	docker push $(REGISTRY)/manager:$(IMAGE_TAG)

helm: ## Build the helm CLI from the Go module proxy (cached; hack/helm.sh prints its path).
	hack/helm.sh >/dev/null

test-chart: helm ## helm lint and template of charts/parquetrail, its schema, the Argo CD health check.
	PARQUETRAIL_REQUIRE_ALL=1 $(GO) test -count=1 ./test/chart/

chart-docs: ## Write the values table of charts/parquetrail/README.md from values.yaml.
	$(GO) run ./hack/chartdocs

chart-lint: helm ## helm lint --strict of the chart.
	$$(hack/helm.sh) lint --strict charts/parquetrail

CHART_VERSION ?= $(shell sed -n 's/^version: //p' charts/parquetrail/Chart.yaml)
chart-package: helm ## Package the chart into ./bin (CHART_VERSION, appVersion IMAGE_TAG).
	$$(hack/helm.sh) package charts/parquetrail --destination $(BIN) --version $(CHART_VERSION) --app-version $(IMAGE_TAG)

chart-push: chart-package ## Push the packaged chart to oci://$(REGISTRY)/charts (needs helm registry login).
	$$(hack/helm.sh) push $(BIN)/parquetrail-$(CHART_VERSION).tgz oci://$(REGISTRY)/charts

image-check: ## Without a Docker engine: build both images' binaries as the Dockerfile does, check them static with tzdata, and check the Dockerfile's stages.
	$(GO) test -count=1 -run 'TestBinariesAreStatic|TestDockerfile' -v ./test/chart/

PLATFORMS ?= linux/amd64,linux/arm64
push-multiarch: ## Build and push both images for $(PLATFORMS) with docker buildx.
	docker buildx build --platform $(PLATFORMS) --target worker --build-arg VERSION=$(VERSION) -t $(REGISTRY)/shard-worker:$(IMAGE_TAG) --push .
	docker buildx build --platform $(PLATFORMS) --target manager --build-arg VERSION=$(VERSION) -t $(REGISTRY)/manager:$(IMAGE_TAG) --push .

clean:
	rm -rf $(BIN)
