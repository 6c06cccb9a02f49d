# ml-canary: progressive delivery of ML models.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Knobs
PYTHON ?= python3
VENV ?= .venv
VENV_SELDON ?= .venv-seldon
ARTIFACTS ?= artifacts
RUNTIME ?= mlserver
VERSION ?= v2
WORKERS ?= 0
PYTEST_ARGS ?=

BIN := $(VENV)/bin
SELDON_BIN := $(VENV_SELDON)/bin
PYPROJECT_SUM := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(PYPROJECT_SUM)
SELDON_STAMP := $(VENV_SELDON)/.installed-$(PYPROJECT_SUM)
# The Seldon runtime's tests, plus the shared code's unit tests again under numpy 1.x.
SELDON_TESTS := tests/seldon tests/models tests/servers/test_faults.py tests/servers/test_validation.py tests/servers/test_predictor.py

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m [KNOB=value]\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: venv
venv: $(STAMP) $(SELDON_STAMP) ## Create both virtual environments (.venv: MLServer, load generator, tests; .venv-seldon: Seldon wrapper).

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[mlserver,loadgen,test]'
	rm -f $(VENV)/.installed-* && touch $@

$(SELDON_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV_SELDON)
	$(SELDON_BIN)/pip install --quiet --upgrade pip
	$(SELDON_BIN)/pip install --quiet -e '.[seldon,test-seldon]'
	rm -f $(VENV_SELDON)/.installed-* && touch $@

.PHONY: train
train: $(STAMP) ## Train v1 and v2 into ARTIFACTS (python -m models.train).
	$(BIN)/python -m models.train --out $(ARTIFACTS)

$(ARTIFACTS)/%/metadata.json: | $(STAMP)
	$(BIN)/python -m models.train --out $(ARTIFACTS) --version $*

# pytest exits 5 when it collects nothing: for us that is a broken suite, not a pass.
define run_pytest
	$(1) -m pytest $(PYTEST_ARGS) $(2); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: pytest collected no tests in $(1); the suite is missing" >&2; exit 1; fi; \
	exit $$rc
endef

.PHONY: test
test: test-core test-seldon ## Run the whole test suite (both environments, real processes).

.PHONY: test-core
test-core: $(STAMP) ## Tests in .venv: models, MLServer runtime, load generator.
	$(call run_pytest,$(BIN)/python,)

.PHONY: test-seldon
test-seldon: $(SELDON_STAMP) ## Tests in .venv-seldon: the Seldon runtime, and the shared code under numpy 1.x.
	$(call run_pytest,$(SELDON_BIN)/python,$(SELDON_TESTS))

.PHONY: bench
bench: $(STAMP) ## Run the benchmarks (figures for docs/benchmarks.md).
	$(BIN)/python -m bench.runtime
	$(BIN)/python -m bench.loadgen

##@ Serving

.PHONY: serve
serve: serve-$(RUNTIME) ## Serve VERSION (v1|v2) in the foreground with RUNTIME (mlserver|seldon); FAULT_* pass through.

.PHONY: serve-mlserver
serve-mlserver: $(STAMP) $(ARTIFACTS)/$(VERSION)/metadata.json
	$(BIN)/python -m servers.repository --version $(VERSION) --artifacts $(ARTIFACTS) \
	  --out run/serve-$(VERSION) --workers $(WORKERS) >/dev/null
	@echo "MLServer, model 'wine' version $(VERSION): REST http://127.0.0.1:8080/v2/models/wine/infer," \
	  "gRPC 127.0.0.1:8081, metrics http://127.0.0.1:8082/metrics, faults http://127.0.0.1:8080/ml-canary/v1/faults"
	cd run/serve-$(VERSION) && exec $(abspath $(BIN))/mlserver start .

.PHONY: serve-seldon
serve-seldon: $(SELDON_STAMP) $(ARTIFACTS)/$(VERSION)/metadata.json
	@echo "Seldon wrapper, model 'wine' version $(VERSION): REST http://127.0.0.1:9000/api/v1.0/predictions," \
	  "gRPC 127.0.0.1:5000, metrics http://127.0.0.1:6000/metrics, faults http://127.0.0.1:9500/ml-canary/v1/faults"
	MODEL_VERSION=$(VERSION) MODEL_ARTIFACTS=$(abspath $(ARTIFACTS)) \
	  PREDICTIVE_UNIT_ID=$${PREDICTIVE_UNIT_ID:-wine} PREDICTIVE_UNIT_IMAGE=$${PREDICTIVE_UNIT_IMAGE:-ml-canary-seldon:$(VERSION)} \
	  exec $(SELDON_BIN)/seldon-core-microservice servers.seldon_runtime.SeldonModel \
	  --http-port 9000 --grpc-port 5000 --metrics-port 6000

.PHONY: clean
clean: ## Remove artifacts and run folders (keeps the virtual environments).
	rm -rf $(ARTIFACTS) run .pytest_cache

.PHONY: distclean
distclean: clean ## Remove the virtual environments too.
	rm -rf $(VENV) $(VENV_SELDON)
