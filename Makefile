# Two commands for a fresh machine:
#   make serve   install everything, build the default models, serve on http://localhost:3000
#   make test    install everything and run the test suite (builds small test models itself)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 3000
PROFILE ?= default
# espeak-ng: synthetic Korean speech for audio training; hunspell-ko: corrector lexicon;
# chromium: the upload page's browser test.
DEBIAN_PACKAGES := espeak-ng hunspell-ko sox chromium

.PHONY: setup models serve test lint

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v espeak-ng >/dev/null && command -v chromium >/dev/null && test -f /usr/share/hunspell/ko.dic || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

models: setup
	$(PY) -m training.build_models --profile $(PROFILE)

# The first run creates an API key named "local", prints it once and keeps only its hash
# (~/.config/triage/api_keys, or TRIAGE_API_KEYS_FILE); see docs/SECURITY.md.
serve: models
	$(PY) -m triage.security.keys ensure local
	$(VENV)/bin/bentoml serve service:Triage --port $(PORT)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
