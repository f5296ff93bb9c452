# VSCM: `make demo` and `make test` install what is missing, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP   := $(VENV)/.installed
# The console's browser tests drive Debian's chromium (installed by `services`): Playwright never fetches one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
NODE_STAMP := node_modules/.installed
# Schemathesis (the console's OpenAPI test) in its own venv: brownie pins an old hypothesis in .venv.
ST_VENV  := .venv-schemathesis
ST_STAMP := $(ST_VENV)/.installed

.PHONY: install services engines demo test test-fast bench lint compile clean

install: $(PY_STAMP) $(NODE_STAMP) $(ST_STAMP) services engines

# The test services' binaries (Debian's postgresql and mosquitto, chromium for the browser tests, hyperfine for
# make bench's CLI timings): installed as root with apt-get when
# missing, no system service started; otherwise one line says which packages to install. The tests
# start private servers from them on free ports (vscm/devservices.py).
services: $(PY_STAMP)
	$(BIN)/python -m vscm.devservices ensure

# The multi-node engine: Kaia's kscn (Istanbul BFT validator) and homi (genesis and keys), built with
# `go build` from the versions pinned in engines/kaia/go.mod and go.sum (nothing vendored) into .engines/bin,
# where `vscm network` finds them. Rebuilt only when the pins change. Cold: ~15 min and ~1 GB of module
# and build cache on 2 cores (niced, one package at a time: ENGINE_GOFLAGS=-p=2 is faster on an idle machine).
GO             ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
ENGINE_BIN     := .engines/bin
ENGINE_STAMP   := $(ENGINE_BIN)/.built
ENGINE_GOFLAGS ?= -p=1
engines: $(ENGINE_STAMP)

$(ENGINE_STAMP): engines/kaia/go.mod engines/kaia/go.sum engines/kaia/tools.go
	@test -x "$(GO)" || { echo "error: the Go toolchain (1.22 or newer) is missing: install it, then run make install again" >&2; exit 1; }
	mkdir -p $(ENGINE_BIN)
	cd engines/kaia && GOFLAGS="$(ENGINE_GOFLAGS)" nice -n 10 "$(GO)" build -trimpath -ldflags=-checklinkname=0 \
		-o ../../$(ENGINE_BIN)/ github.com/kaiachain/kaia/cmd/kscn github.com/kaiachain/kaia/cmd/homi
	touch $@

# Python: a virtual environment with the package (editable) and its dev tools.
# Re-installs only when pyproject.toml changes.
$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# The console's API is tested against its own OpenAPI document by Schemathesis, run as a command from
# this separate venv (every package pinned in requirements/schemathesis.txt). Re-installs when the pins change.
$(ST_STAMP): requirements/schemathesis.txt
	test -x $(ST_VENV)/bin/python || $(PYTHON) -m venv $(ST_VENV)
	$(ST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/schemathesis.txt
	touch $@

# Node: the pinned solc-js compiler, anvil and OpenZeppelin, exactly as the lock file says.
# The solc shim (py-solc-x / brownie see solc 0.8.30, served by solc-js) needs the venv.
$(NODE_STAMP): package.json package-lock.json | $(PY_STAMP)
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	$(BIN)/python -m vscm.chain.solc_shim install
	touch $@

compile: install
	$(BIN)/python -m vscm.chain.compile

# `make demo NETWORK=local`: the same story on a network of `vscm network up` (its loans last seconds there).
demo: install
	$(BIN)/python -m vscm.demo $(if $(NETWORK),--network $(NETWORK))

# Three workers on 2 cores, one file each at a time (module fixtures are built once), the longest files handed
# out first (tests/conftest.py LONGEST_FIRST; --no-loadscope-reorder keeps that order): the network file spends
# most of its ~8 min waiting for 1 s blocks, so a third worker keeps both cores busy meanwhile. The 20 slowest
# tests are listed.
test: install
	$(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=20

bench: install
	$(BIN)/python -m vscm.bench --readme README.md

lint: install
	$(BIN)/ruff check vscm tests scripts
	$(BIN)/mypy vscm
	$(BIN)/python -m vscm.chain.slither_check

clean:
	rm -rf $(VENV) $(ST_VENV) node_modules build .hypothesis .engines
