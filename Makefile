# ml-canary: progressive delivery of ML models.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

##@ Knobs
PYTHON ?= python3
VENV ?= .venv
ARTIFACTS ?= artifacts
VERSION ?= v2
WORKERS ?= 0
HTTP_PORT ?= 8080
GRPC_PORT ?= 8081
METRICS_PORT ?= 8082
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m [KNOB=value]\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: venv
venv: $(STAMP) ## Create the virtual environment with the runtime, load generator and test tools.

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[mlserver,loadgen,test]'
	rm -f $(VENV)/.installed-* && touch $@

.PHONY: train
train: $(STAMP) ## Train v1 and v2 into ARTIFACTS (python -m models.train).
	$(BIN)/python -m models.train --out $(ARTIFACTS)

$(ARTIFACTS)/%/metadata.json: | $(STAMP)
	$(BIN)/python -m models.train --out $(ARTIFACTS) --version $*

.PHONY: test
test: $(STAMP) ## Run the whole test suite (unit and real-process integration tests).
	@# pytest exits 5 when it collects nothing: for us that is a broken suite, not a pass.
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; the suite is missing" >&2; exit 1; fi; \
	exit $$rc

.PHONY: bench
bench: $(STAMP) ## Run the benchmarks and print the figures for docs/benchmarks.md.
	$(BIN)/python -m bench.runtime

##@ Serving

.PHONY: serve
serve: $(STAMP) $(ARTIFACTS)/$(VERSION)/metadata.json ## Serve VERSION (v1|v2) with MLServer in the foreground; FAULT_* variables pass through.
	$(BIN)/python -m servers.repository --version $(VERSION) --artifacts $(ARTIFACTS) \
	  --out run/serve-$(VERSION) --workers $(WORKERS) \
	  --http-port $(HTTP_PORT) --grpc-port $(GRPC_PORT) --metrics-port $(METRICS_PORT) >/dev/null
	@echo "serving model 'wine' version $(VERSION): REST http://127.0.0.1:$(HTTP_PORT)/v2/models/wine/infer," \
	  "gRPC 127.0.0.1:$(GRPC_PORT), metrics http://127.0.0.1:$(METRICS_PORT)/metrics"
	cd run/serve-$(VERSION) && exec $(abspath $(BIN))/mlserver start .

.PHONY: clean
clean: ## Remove artifacts and run folders (keeps the virtual environment).
	rm -rf $(ARTIFACTS) run .pytest_cache

.PHONY: distclean
distclean: clean ## Remove the virtual environment too.
	rm -rf $(VENV)
