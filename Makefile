# VSCM: `make demo` and `make test` install what is missing, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
# The console's browser tests drive Debian's chromium (installed by `services`): Playwright never fetches one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
NODE_STAMP := node_modules/.installed

.PHONY: install services demo test test-fast bench lint compile clean

install: $(PY_STAMP) $(NODE_STAMP) services

# The test services' binaries (Debian's postgresql and mosquitto, and chromium for the browser tests): installed as root with apt-get when
# missing, no system service started; otherwise one line says which packages to install. The tests
# start private servers from them on free ports (vscm/devservices.py).
services: $(PY_STAMP)
	$(BIN)/python -m vscm.devservices ensure

# Python: a virtual environment with the package (editable) and its dev tools.
# Re-installs only when pyproject.toml changes.
$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# Node: the pinned solc-js compiler, anvil and OpenZeppelin, exactly as the lock file says.
# The solc shim (py-solc-x / brownie see solc 0.8.30, served by solc-js) needs the venv.
$(NODE_STAMP): package.json package-lock.json | $(PY_STAMP)
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(BIN)/python -m vscm.chain.solc_shim install
	touch $@

compile: install
	$(BIN)/python -m vscm.chain.compile

demo: install
	$(BIN)/python -m vscm.demo

# Two workers (one file each at a time: module fixtures are built once); the 20 slowest tests listed.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=20

bench: install
	$(BIN)/python -m vscm.bench --readme README.md

lint: install
	$(BIN)/ruff check vscm tests scripts
	$(BIN)/mypy vscm
	$(BIN)/python -m vscm.chain.slither_check

clean:
	rm -rf $(VENV) node_modules build .hypothesis
