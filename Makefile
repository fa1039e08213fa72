# seccomp-operator — see README.md for the two commands that matter.
SHELL := /usr/bin/env bash
GO ?= go
BIN := bin
CONTROLLER_GEN_VERSION ?= v0.23.0
# Tools are cached by version outside the checkout so fresh clones (CI) reuse them.
TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/seccomp-operator/tools
CONTROLLER_GEN := $(TOOLS)/controller-gen-$(CONTROLLER_GEN_VERSION)
# Packages whose tests need root, cgo + libseccomp, or Debian servers run in
# their own targets below; `make test` runs all of them.
export CGO_ENABLED ?= 0
# Every go command make runs (vet, the tests, the docs' commands) builds with
# -trimpath, as make build and the images do: the source path is part of a
# compile's cache key, so with the flag on some commands and not others a
# clean run compiles nearly every package twice.
export GOFLAGS := $(strip $(filter-out -trimpath,$(shell $(GO) env GOFLAGS)) -trimpath)

.PHONY: help up down test-e2e test-commands bench-cluster bench-violations bench-admission bench-webhook bench-scale deps deps-generate all build test test-unit test-integration test-differential test-profiles test-recording-host generate verify-generated lint fuzz bench demo clean tools

all: build

help: ## This list
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -E 's/:.*## /\t/' | expand -t 22

build: ## Build the binaries (cgo-free) into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

test: deps lint verify-generated test-unit test-integration test-differential test-profiles test-e2e test-commands ## Every test: unit, generated files, real apiserver, libseccomp differential, kernel, real servers, real cluster, and every command of the docs

deps: ## Install the Debian packages the tests need (idempotent; root)
	./hack/install-deps.sh

deps-generate: ## Install only the kernel UAPI headers hack/gensyscalls reads (idempotent; root)
	./hack/install-deps.sh generate

test-unit: ## Unit, kernel-enforcement and fuzz-seed tests (pure Go)
	$(GO) test -count=1 ./...

test-integration: ## Reconcilers against a real kube-apiserver + etcd (pinned, built from the Go module proxy and cached)
	KUBEBUILDER_ASSETS="$$(./hack/kube-binaries.sh)" $(GO) test -count=1 -tags integration ./test/integration/...

test-differential: ## Compiler vs libseccomp (cgo, needs libseccomp-dev): verdicts, and the instruction-count targets of docs/benchmarks.md
	CGO_ENABLED=1 $(GO) test -count=1 -tags libseccomp ./test/differential/... ./bench/

test-profiles: build ## Predefined profiles under real servers from Debian, and the seccompctl record proof on the same servers (root)
	$(GO) test -count=1 -tags proof -timeout 30m ./test/profiles/...

test-recording-host: build ## Only the seccompctl record proof (nginx+wrk, postgres+pgbench, redis+redis-benchmark; root); profiles, reports and summary.md in _out/record-proof
	rm -rf _out/record-proof && mkdir -p _out/record-proof && chmod 755 _out _out/record-proof
	RECORD_PROOF_DIR=$(CURDIR)/_out/record-proof $(GO) test -count=1 -tags proof -timeout 20m -run 'TestRecordingHost' -v ./test/profiles/... 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go|^ +\|' ; exit $${PIPESTATUS[0]}
	cat _out/record-proof/summary.md

up: ## A real single-node cluster (kubelet, containerd, runc) running the operator and a confined nginx (root)
	./hack/up.sh

down: ## Stop and remove everything make up started
	./hack/down.sh

test-e2e: ## End-to-end suite on the make up cluster (brings it up first: the images must be this tree's)
	./hack/up.sh
	mkdir -p _out
	KUBECONFIG=$${UP_DIR:-/var/lib/seccomp-operator-up}/admin.kubeconfig $(GO) test -count=1 -tags e2e -timeout 30m -v ./test/e2e/... 2>&1 | tee _out/e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' ; exit $${PIPESTATUS[0]}

# Short sizes for the benchmarks the docs give, so CI can run them all; test/docs
# replaces these sizes wherever a command writes them out. FUZZTIME is a count of
# inputs, not a duration: go1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when a -fuzztime duration ends (golang/go#75804,
# fixed in go1.27); a count never arms that deadline.
COMMANDS_SHORT := N=2000 TRIES=2 NODES=4 PROFILES=20 IDLE=5s PODS=50 RATES=100 DURATION=2s FUZZTIME=1000x BENCHTIME=1x

test-commands: build ## Every command of the ```sh blocks of README.md, docs/ and design/, as written (benchmarks short: COMMANDS_SHORT), on the make up cluster
	mkdir -p _out
	$(COMMANDS_SHORT) KUBECONFIG=$${UP_DIR:-/var/lib/seccomp-operator-up}/admin.kubeconfig $(GO) test -count=1 -tags docs -timeout 60m -v ./test/docs/... 2>&1 | tee _out/commands.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' ; exit $${PIPESTATUS[0]}

generate: deps-generate $(CONTROLLER_GEN) ## Regenerate syscall tables, deepcopy, CRDs, predefined profile files, the runtimes' default profiles (Go module proxy + apt; installs the kernel headers it reads)
	$(GO) generate ./...
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=seccomp-operator-manager paths="{./internal/controller/...,./internal/webhook/...}" output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) webhook paths=./internal/webhook/... output:webhook:artifacts:config=config/webhook
	$(CONTROLLER_GEN) rbac:roleName=seccomp-operator-agent paths="{./internal/agent/...,./internal/nodekube/...,./internal/enricher/...,./internal/recorder/...}" output:rbac:artifacts:config=config/agent/rbac

verify-generated: generate ## Fail when generated files are stale
	@git diff --exit-code -- . ':!go.sum' || { echo "generated files are stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api config pkg profiles internal)" || { git status --porcelain -- api config pkg profiles internal; echo "make generate created untracked files: commit them"; exit 1; }

lint: ## go vet + gofmt + go mod tidy check
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) vet -tags libseccomp,proof,integration,e2e,docs ./test/...
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed: $$out"; exit 1; }
	$(GO) mod tidy -diff

fuzz: ## Run each fuzz target for FUZZTIME (default 30s; a count such as 100000x also works, and avoids go1.26's end-of-fuzztime flake)
	FUZZTIME=$${FUZZTIME:-30s} GO=$(GO) ./hack/fuzz.sh

bench: build ## Benchmarks (results go to docs/benchmarks.md by hand, with the command)
	CGO_ENABLED=1 $(GO) test -run=^$$ -bench=. -benchtime=$${BENCHTIME:-1s} -tags libseccomp ./bench/... ./pkg/... ./internal/...
	$(MAKE) bench-scale
	$(MAKE) bench-admission
	$(MAKE) bench-webhook

bench-cluster: ## On the make up cluster: apply a profile → pod Running, p50/p99 over TRIES (50); agent and manager RSS
	$(GO) run ./bench/cluster -tries $${TRIES:-50} -kubeconfig $${UP_DIR:-/var/lib/seccomp-operator-up}/admin.kubeconfig

bench-violations: ## On the make up cluster: a burst of N (50000) denials from one container; all counted, none lost, Event writes, agent CPU and memory (AUDITD=1: with auditd running)
	$(GO) run ./bench/violations -n $${N:-50000} -auditd=$${AUDITD:-false} -kubeconfig $${UP_DIR:-/var/lib/seccomp-operator-up}/admin.kubeconfig

bench-admission: ## Pod-create latency with and without SeccompPolicy's native admission policies (real apiserver; PODS, default 500)
	KUBEBUILDER_ASSETS="$$(./hack/kube-binaries.sh)" $(GO) run ./bench/admission -pods $${PODS:-500}

bench-webhook: build ## The fallback webhook: pod-create latency through the apiserver, and AdmissionReviews at 200 and 1000/s over HTTPS with the manager's CPU
	KUBEBUILDER_ASSETS="$$(./hack/kube-binaries.sh)" $(GO) run ./bench/webhook -pods $${PODS:-300} -rates $${RATES:-200,1000} -duration $${DURATION:-10s}

bench-scale: build ## Control plane at scale: real apiserver, manager, 100 agent processes, 1000 profiles (NODES, PROFILES; IDLE: the idle window, 60s)
	KUBEBUILDER_ASSETS="$$(./hack/kube-binaries.sh)" $(GO) run ./bench/scale -nodes $${NODES:-100} -profiles $${PROFILES:-1000} -idle $${IDLE:-60s}

demo: build ## Confine a real program with seccompctl (the README's first command)
	./hack/demo.sh

$(CONTROLLER_GEN):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(TOOLS)/controller-gen $(CONTROLLER_GEN)

tools: $(CONTROLLER_GEN)

clean:
	rm -rf $(BIN)
