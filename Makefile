# The venv bootstrap behind the README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench system-packages clean

run: $(STAMP)
	$(VENV)/bin/partner-sandbox serve

test: $(STAMP) system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/openapi-spec-validator openapi.yaml sandbox.yaml pages.yaml public_api.yaml

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the tests use: Chromium for the browser tests (playwright's own browser download
# is not used), PostgreSQL, of which the tests start a throwaway cluster of their own, and the
# toolchains of the real-client tests (tests/clients): a JDK, Go, Node.js and curl; podman, runc and
# mmdebstrap for the container image's test (tests/container: a local Debian base, no registry).
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v javac >/dev/null 2>&1 || missing="$$missing default-jdk-headless"; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v podman >/dev/null 2>&1 || missing="$$missing podman"; \
	test -x /usr/sbin/runc || command -v runc >/dev/null 2>&1 || missing="$$missing runc"; \
	command -v mmdebstrap >/dev/null 2>&1 || missing="$$missing mmdebstrap"; \
	test -z "$$missing" || $(SUDO) sh -c "apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null"

# A benchmark, not a test: prints figures (see bench/bench.py). Needs wrk; Prism is measured too.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || $(SUDO) sh -c 'apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null'
	@test -x bench/.prism/node_modules/.bin/prism || ! command -v npm >/dev/null 2>&1 || \
		npm install --silent --no-audit --no-fund --prefix bench/.prism @stoplight/prism-cli@5.16.0
	$(VENV)/bin/python bench/bench.py $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(VENV) .sandbox .pytest_cache
