# The venv bootstrap behind the README's two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint chromium clean

run: $(STAMP)
	$(VENV)/bin/partner-sandbox serve

test: $(STAMP) chromium
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/openapi-spec-validator openapi.yaml sandbox.yaml

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || $(SUDO) sh -c 'apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'

clean:
	rm -rf $(VENV) .sandbox .pytest_cache
