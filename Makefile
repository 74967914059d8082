# The two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app ils
MO     := ils/translations/id/LC_MESSAGES/messages.mo

.PHONY: run test test-only install install-dev browser protocol-clients translations extract bench clean help

help:
	@echo "make run    install, migrate, load the demo network and serve on http://127.0.0.1:5000"
	@echo "make test   install test tools (and Debian's chromium when root) and run the test suite"
	@echo "make bench  run the benchmarks in bench/ (JSON figures)"

$(VENV)/.run-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.run-installed $(MO)
install-dev: $(VENV)/.dev-installed $(MO)

$(MO): ils/translations/id/LC_MESSAGES/messages.po $(VENV)/.run-installed
	$(BIN)/pybabel compile -d ils/translations

translations: $(MO)

# Re-extract the message catalogue after changing user-visible strings, then translate messages.po.
extract: $(VENV)/.run-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_ngettext:1,2 --ignore-dirs=".venv tests bench migrations" -o ils/translations/messages.pot .
	$(BIN)/pybabel update -i ils/translations/messages.pot -d ils/translations --no-fuzzy-matching

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) serve

# The browser test drives Debian's chromium (never a downloaded browser build).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser test..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's protocol clients for the protocol tests: oai_pmh (libhttp-oai-perl) harvests /oai,
# yaz-client (yaz) searches /sru. Installed like chromium: only as root with apt-get, only if missing.
protocol-clients:
	@missing=""; \
	command -v oai_pmh >/dev/null || missing="$$missing libhttp-oai-perl"; \
	command -v yaz-client >/dev/null || missing="$$missing yaz"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's protocol clients:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: install-dev browser protocol-clients
	$(BIN)/python -m pytest

# The suite without the install steps (CI's second pass, against PostgreSQL and Redis).
test-only:
	$(BIN)/python -m pytest

bench: install-dev
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache
