# Two commands for a fresh machine:
#   make serve   install everything, build the default models, serve on http://localhost:3000
#   make test    install everything and run the test suite (builds small test models itself)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
PROFILE ?= default

.PHONY: setup models serve test lint bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v espeak-ng >/dev/null && ls /usr/share/hunspell/ko.dic >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng hunspell-ko sox)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

models: setup
	$(PY) -m training.build_models --profile $(PROFILE)

serve: models
	$(VENV)/bin/bentoml serve service:Triage --port $(PORT)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
