"""Shared configuration of the test suite.

Two kinds of test run from this repository:

* ``pytest tests``: unit tests of ``embedlab``, hygiene checks of the stored notebooks, and the
  headless-browser test of the built website.
* ``pytest --nbval notebooks`` (see the Makefile): every cell of every notebook re-executed and its
  output compared with the stored one, after the substitutions of ``tests/nbval_sanitize.cfg``.

How stderr is handled in the nbval pass (decided here, applied by the Makefile's options):
nbval compares stderr exactly like stdout, and we keep it that way. A warning that appears, or
disappears, is a change in behaviour a reader would see, so it should fail the test rather than
pass silently. The noisy sources are dealt with at the source instead: ``embedlab.text`` silences
jieba's start-up log, ``HF_HUB_OFFLINE=1`` stops transformers from trying the network, and progress
bars are plain ``tqdm`` bars whose final line is stored. Their elapsed time and rate are the only
parts of stderr that the sanitize file rewrites. nbval itself resolves carriage returns when it
merges stream outputs, and ``tools/execute_notebooks.py`` stores outputs merged the same way.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

# Python's cyclic garbage collector runs a young-generation pass every 700 net allocations, and
# passes that walk the whole heap follow from those; a test process holds a large heap (torch,
# transformers, scikit-learn: about 3,000 modules), so at that rate the collector took about a tenth
# of the suite's CPU time (5 s of 45 in one process). At 10,000 the whole suite runs about 5 s faster
# in one process. Nothing here relies on when garbage is collected (no test uses gc or weakref); the
# processes that tests start keep Python's default.
gc.set_threshold(10_000, 10, 10)


# At exit Python collects the whole heap before tearing the modules down: 1.4 s of a torch and
# transformers process's 1.7 s exit, which every xdist worker spends after its last report while the
# main process waits for it. By the time atexit runs, pytest is done (its check for unraisable
# exceptions has had its collections), so the heap can be frozen (left out of collections) instead.
atexit.register(gc.freeze)

# jsonschema (which nbformat uses) imports rfc3987_syntax when it is installed, for its optional
# "iri" format checker; the import compiles a grammar, about 1.5 s of CPU in every test process.
# The notebook schema has no "format" keyword, so that checker is never used: marking the module
# absent makes jsonschema skip it. (The Makefile's unit-test run does not load nbval, so nbval's
# plugin does not import nbformat before this file runs.)
sys.modules.setdefault("rfc3987_syntax", None)
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # unit tests draw figures without a display

# Under pytest-xdist (`make test-unit` runs two workers) each worker gets its share of the cores for
# PyTorch's intra-op threads. Left at PyTorch's default (one thread per core in every worker), two
# workers on two cores run four busy threads that compete for them. Tests that need a thread count
# set it themselves (and put this one back); the processes that tests start are not affected.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    import torch

    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    """The repository's top folder."""
    return ROOT


@pytest.fixture
def no_device_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with EMBEDLAB_DEVICE unset."""
    monkeypatch.delenv("EMBEDLAB_DEVICE", raising=False)


def required(name: str) -> bool:
    """True when a test that needs an outside tool must fail rather than skip (CI, make test)."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(name) == "1"


@pytest.fixture(scope="session")
def minilm():
    """(tokenizer, model) of all-MiniLM-L6-v2, loaded once per test session (offline, from the package)."""
    from embedlab import pretrained

    return pretrained.load_minilm()


@pytest.fixture
def noise_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with EMBEDLAB_PERTURB=noise (the perturbation of tools/fragility.py)."""
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")


def assert_perturbed(off, on) -> None:
    """``on`` (built in noise mode) is ``off`` (built with the mode off) times 1 + ~1e-6 noise, entry by entry.

    ``off`` and ``on`` are two tensors, or two modules built from the same seeds (their parameters
    are compared). Every float tensor with a non-zero entry moved, by at most 1e-5 relative; zeros
    stayed zero; nothing else changed.
    """
    import torch

    if isinstance(off, torch.Tensor):
        pairs = [("tensor", off, on)]
    else:
        on_params = dict(on.named_parameters())
        pairs = [(name, p, on_params[name]) for name, p in off.named_parameters()]
        assert set(on_params) == {name for name, _, _ in pairs}
    for name, a, b in pairs:
        a, b = a.detach(), b.detach()
        if not a.is_floating_point() or not bool((a != 0).any()):
            assert torch.equal(a, b), name
            continue
        assert not torch.equal(a, b), f"{name} was not perturbed"
        assert torch.equal(a == 0, b == 0), f"{name}: a zero moved"
        nonzero = a != 0
        relative = ((b[nonzero] - a[nonzero]) / a[nonzero]).abs().max().item()
        assert 0 < relative <= 1e-5, f"{name}: relative change {relative}"


# `make test-unit` runs `--dist loadgroup` with the scheduler below. The tests that load
# transformers' model code (and MiniLM, peft, sentence-transformers) form one group, run by one
# xdist worker, so the other worker never pays those imports (~2 s of CPU). Every other test
# function, with all its parametrized cases, is a group of its own: 512 units instead of 2,903
# single tests keeps the main process's bookkeeping small (xdist's scope scheduler re-counts every
# unit a worker was given after each test). Units are handed out largest first (test_contract's
# ~1,300 BAD_CALLS cases, then the transformers group), each to whichever worker is free. The groups
# are chosen by node id here, in the main process, because pytest-xdist 3.8's own `xdist_group`
# marks have no effect under pytest 9.2 (pytest-dev/pytest-xdist#1386); such marks, once they work
# again, take precedence. A test missing from the lists still runs and passes; it only makes the
# other worker import transformers as well.
TRANSFORMERS_FILES = ("tests/test_finetune.py::", "tests/test_pretrained.py::", "tests/test_retrieval.py::")
TRANSFORMERS_TESTS = ("tests/test_attention.py::test_apply_rotary_equals_transformers_llama",)
TRANSFORMERS_CONTRACT_CASES = ("[finetune.", "[pretrained.", "[retrieval.")  # in tests/test_contract.py


# `make test-site` runs `--dist loadgroup` too: the checks that read one width's visit of every page
# (tests/test_site.py's desktop_visit / phone_visit fixtures) go to one worker, so each width's pages
# are opened once, and the two widths to the two workers.
SITE_VISITS = {
    "tests/test_site.py::test_every_page_fits_the_screen_works_offline_and_raises_no_error[desktop]": "desktop",
    "tests/test_site.py::test_no_code_block_hides_text_at_desktop_width": "desktop",
    "tests/test_site.py::test_every_page_fits_the_screen_works_offline_and_raises_no_error[phone]": "phone",
}


def _uses_transformers(nodeid: str) -> bool:
    if nodeid.startswith(TRANSFORMERS_FILES) or nodeid in TRANSFORMERS_TESTS:
        return True
    in_contract = nodeid.startswith("tests/test_contract.py::")
    return in_contract and any(case in nodeid for case in TRANSFORMERS_CONTRACT_CASES)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown when xdist is not loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup`'s scheduler, grouping the transformers tests, then each test function."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class TransformersTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:
                return scope
            if nodeid in SITE_VISITS:
                return f"site-{SITE_VISITS[nodeid]}"
            return "transformers" if _uses_transformers(nodeid) else nodeid.split("[", 1)[0]

    return TransformersTogether(config, log)
