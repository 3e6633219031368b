# Two entry points (see README): `make run` and `make test`. Both set up what they need, idempotently.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# The embedding model folder is built once here and shared by the app and the tests.
export YUNYING_MODELS_DIR ?= $(CURDIR)/.yunying/models

.PHONY: run test setup ingest lint browser-deps eval clean-store

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

ingest: setup
	$(PY) -m assistant.cli ingest

run: ingest
	$(PY) -m assistant.cli serve

# Debian packages for the browser tests: Chromium and a font with Chinese glyphs.
browser-deps:
	@if ! command -v chromium >/dev/null || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei; \
	fi

lint: setup
	$(PY) -m ruff check assistant tests app.py scripts evals

test: setup browser-deps lint
	$(PY) -m pytest -q -ra

clean-store:
	rm -rf .yunying/chroma
