"""The package's shape: the frozen public API, the declared module order, and a silent stdout."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import embedlab

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import public_api  # noqa: E402  (tools/public_api.py: the generator of tests/public_api.txt)

PACKAGE_FILES = sorted(p.stem for p in (ROOT / "embedlab").glob("*.py") if p.stem != "__init__")


def _listed() -> list[str]:
    lines = public_api.API_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_public_api_file_matches_the_package():
    listed, actual = _listed(), public_api.public_api()
    missing = sorted(set(actual) - set(listed))
    gone = sorted(set(listed) - set(actual))
    assert not missing and not gone, (
        f"public names added {missing} and removed {gone} without updating tests/public_api.txt; "
        "if deliberate, run `python tools/public_api.py --write` and commit it"
    )
    assert listed == actual, "tests/public_api.txt is out of order: run `python tools/public_api.py --write`"


def test_every_listed_name_exists_at_run_time():
    for name in _listed():
        module, *attrs = name.split(".")
        obj = importlib.import_module(f"embedlab.{module}")
        for attr in attrs:
            assert hasattr(obj, attr), f"{name} is listed in tests/public_api.txt but does not exist"
            obj = getattr(obj, attr)


def test_modules_declared_once_and_all_present():
    assert embedlab.MODULES == public_api.declared_modules()
    assert len(set(embedlab.MODULES)) == len(embedlab.MODULES), "a module is declared twice"
    assert sorted(embedlab.MODULES) == PACKAGE_FILES, (
        f"embedlab/*.py {PACKAGE_FILES} and embedlab.MODULES {sorted(embedlab.MODULES)} differ"
    )


def _embedlab_imports(module: str) -> set[str]:
    """The embedlab modules that ``module`` imports, wherever in the file the import sits."""
    tree = ast.parse((ROOT / "embedlab" / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "embedlab":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("embedlab."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.add(node.module.split(".")[0] if node.module else node.names[0].name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("embedlab."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("module", embedlab.MODULES)
def test_imports_go_only_to_earlier_modules(module):
    position = embedlab.MODULES.index(module)
    later = {m for m in _embedlab_imports(module) if m in embedlab.MODULES and embedlab.MODULES.index(m) >= position}
    assert not later, f"embedlab.{module} imports {sorted(later)}, declared at or after it in embedlab.MODULES"


def test_the_import_order_check_catches_a_back_edge(tmp_path, monkeypatch):
    fake = tmp_path / "embedlab"
    fake.mkdir()
    (fake / "text.py").write_text("from embedlab.train import fit\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _embedlab_imports("text") == {"train"}


# A small run through every module that has a loop or a progress bar, as a reader would call them.
WORKLOAD = textwrap.dedent(
    """
    import matplotlib
    matplotlib.use("Agg")
    import importlib
    import embedlab
    for name in embedlab.MODULES:
        importlib.import_module(f"embedlab.{name}")
    from embedlab import device, plot, pooling, skipgram, text, train
    device.setup(0, "cpu")
    sentences = [["a", "b", "c", "a", "b"], ["c", "a", "b", "d"]] * 20
    vocab = text.Vocab.build(sentences)
    skipgram.train(sentences, skipgram.SkipGramConfig(emb_dim=4, epochs=1, min_count=1, batch_pairs=16))
    examples = [(vocab.encode(s), i % 2) for i, s in enumerate(sentences)]
    model = pooling.PoolingClassifier(pooling.ClassifierConfig(len(vocab), 4, 2))
    train.fit(model, examples, examples, train.PadCollate(), train.TrainConfig(epochs=2))
    plot.curves({"loss": [1.0, 0.5]}, "epoch", "loss", title="t")
    text.tokenize_zh_words("今天天气很好")
    """
)

# The workload twice in one process: first with TQDM_DISABLE unset, then, after a line on stderr
# that splits the two, with TQDM_DISABLE=1 and tqdm and every embedlab module imported afresh (tqdm
# reads TQDM_* when it is imported, as a reader's new process would). One process instead of two
# saves a second start-up of torch and the rest, which is most of the cost.
SPLIT = "----- TQDM_DISABLE=1 from here -----"
TWICE = WORKLOAD + textwrap.dedent(
    f"""
    import os, sys
    print({SPLIT!r}, file=sys.stderr, flush=True)
    os.environ["TQDM_DISABLE"] = "1"
    for name in [n for n in sys.modules if n.split(".")[0] in ("tqdm", "embedlab")]:
        del sys.modules[name]
    """
) + WORKLOAD + textwrap.dedent(
    """
    # Python's last collection of the whole heap takes ~1 s at exit; frozen objects are left out
    # of it. atexit handlers and the modules' teardown still run, and still write where they would.
    import gc
    gc.freeze()
    """
)


def test_the_package_writes_nothing_to_stdout_and_bars_honour_tqdm_disable():
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-c", TWICE], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout == "", f"the package printed to stdout: {run.stdout[:500]!r}"
    assert run.stderr.count(SPLIT) == 1, run.stderr[-2000:]
    shown_err, hidden_err = run.stderr.split(SPLIT)
    assert "epochs" in shown_err, "with TQDM_DISABLE unset, the progress bars should be on stderr"
    assert "epoch" not in hidden_err and "it/s" not in hidden_err, hidden_err[-500:]
