# The two commands a newcomer needs: `make book` (the website) and `make test` (every test).
# Each creates .venv and installs the pinned requirements the first time.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

# Nothing is downloaded at run time; a stable hash seed keeps set iteration identical between runs.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0

NBVAL := $(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg -n 2 --dist loadfile notebooks
HAS_CUDA := $(BIN)/python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"

.PHONY: help install book test test-unit test-site test-notebooks test-gpu test-fragile gpu-kit browser lab outputs serve bench clean student

help:
	@echo "make book    build the website into _build/html (installs into .venv first)"
	@echo "make test    unit tests, site test, notebooks on the CPU (and on CUDA when present)"
	@echo "make test-gpu   only the notebooks on CUDA; fails when no CUDA device is there"
	@echo "make test-fragile   nbval on every notebook under each CPU perturbation (EMBEDLAB_PERTURB); writes benchmarks/results/fragility.md"
	@echo "make gpu-kit    prepare .gpukit/, the carry folders of the CUDA pass on a lent GPU machine"
	@echo "make lab     JupyterLab on the project's environment"
	@echo "make outputs re-execute every notebook on the CPU, two at a time, and store the outputs"
	@echo "make student the workshop edition in student/: exercise solutions replaced by stubs, self-checks kept"
	@echo "make serve   serve _build/html on http://127.0.0.1:$(PORT)"
	@echo "make bench   run every benchmark (minutes each; EMBEDLAB_DEVICE defaults to cpu); results in benchmarks/results/"
	@echo "make bench BENCH=attention   run one: python -m benchmarks.attention (names: the files in benchmarks/)"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(STAMP)

# One build does it all (tools/book_site.py, loaded by _config.yml): the pages, the CJK web font cut
# from mplfonts' Noto Sans CJK SC to the characters they use, and the Pagefind search index.
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "website: _build/html/index.html"

test: $(STAMP) book browser test-unit test-site test-notebooks
	@if $(HAS_CUDA); then \
		$(MAKE) --no-print-directory test-gpu; \
	else \
		echo "GPU pass skipped: torch.cuda.is_available() is False on this machine (no CUDA device)"; \
	fi

# The package's tests, the contract suite, the notebooks' hygiene and the tools (no browser).
# Only the two plugins these tests use are loaded (xdist, hypothesis's): pytest rewrites the asserts
# of every module of an auto-loaded plugin's distribution, which for hypothesis is its whole package,
# about a second in each of the two test processes; nbval, anyio and platformdirs are not needed.
# `--dist loadgroup` runs the tests that load transformers' models in one worker (tests/conftest.py).
SITE_TESTS := tests/test_site.py tests/test_book.py
RUN_TESTS := tests/test_student_run.py
UNIT_PLUGINS := --disable-plugin-autoload -p xdist.plugin -p _hypothesis_pytestplugin
test-unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider $(UNIT_PLUGINS) -n 2 --dist loadgroup tests $(addprefix --ignore=,$(SITE_TESTS) $(RUN_TESTS))

# The built website in headless Chromium (needs `make book` first). Without Chromium or Chrome the
# site tests are skipped with one line; CI=true (or EMBEDLAB_REQUIRE_SITE=1) turns that skip into a failure.
test-site: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup $(SITE_TESTS)

test-notebooks: $(STAMP)
	EMBEDLAB_DEVICE=cpu $(NBVAL)
	EMBEDLAB_DEVICE=cpu $(BIN)/python -m pytest -p no:cacheprovider $(RUN_TESTS)

test-gpu: $(STAMP)
	@$(HAS_CUDA) || { echo "make test-gpu: no CUDA device (torch.cuda.is_available() is False); nothing was tested" >&2; exit 1; }
	EMBEDLAB_DEVICE=cuda $(NBVAL)

# What a GPU run would not reproduce, found on the CPU: nbval under EMBEDLAB_PERTURB=order and =noise
# (embedlab.device), every failing cell classified in benchmarks/results/fragility.md (about 10 minutes).
test-fragile: $(STAMP)
	$(BIN)/python tools/fragility.py

# Wheels, data and the split MiniLM weights for the lent GPU machine; prints the plan of calls.
gpu-kit: $(STAMP)
	$(BIN)/python tools/gpu_kit.py prepare

# Chromium, for the test that loads the built site in a headless browser: an installed Chromium or
# Chrome is used as it is (tests/test_site.py finds it); else Debian's, when root or sudo allows.
browser:
	@if $(PYTHON) tools/browser.py >/dev/null; then :; \
	elif ! command -v apt-get >/dev/null; then \
		echo "no Chromium or Chrome found: the site tests will be skipped (install one, or set EMBEDLAB_CHROME=/path/to/chrome)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the site test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "no Chromium or Chrome, and no root to install one: the site tests will be skipped (set EMBEDLAB_CHROME=/path/to/chrome)"; \
	fi

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root)

outputs: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --jobs 2

# The workshop edition: student/NN_*.ipynb, every exercise solution replaced by a stub, checks kept.
student: $(STAMP)
	$(BIN)/python tools/student.py

serve:
	@test -f _build/html/index.html || { echo "no website yet: run make book" >&2; exit 1; }
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

# BENCH=name runs benchmarks/name.py alone; without it, every benchmark but the shared harness.
BENCHMARKS := $(filter-out __init__ harness,$(basename $(notdir $(wildcard benchmarks/*.py))))
BENCH ?= $(BENCHMARKS)

bench: $(STAMP)
	@for name in $(BENCH); do \
		echo "== benchmarks/$$name.py"; \
		EMBEDLAB_DEVICE=$${EMBEDLAB_DEVICE:-cpu} $(BIN)/python -m benchmarks.$$name; \
	done

clean:
	rm -rf _build .pytest_cache
