"""tools/fragility.py: nbval's failure text parsed and classified (no notebook is run here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import fragility  # noqa: E402

# A real failure of nbval 0.11 under pytest -vv (chapter 05, the noise perturbation), trimmed.
STORED = "      mean     80.4% 0.803     80.0% 0.799\n       max     80.9% 0.809     75.2% 0.751\n"
FRESH = "      mean     80.4% 0.803     80.0% 0.799\n       max     80.9% 0.809     75.1% 0.751\n"
FAILURE = (
    "Notebook cell execution failed\nCell 41: Cell outputs differ\n\nInput:\nprint(table)\n\n"
    "Traceback:\n mismatch 'stdout'\n\n assert reference_output == test_output failed:\n\n"
    f"  {STORED!r} == {FRESH!r}\n  \n"
    "          mean     80.4% 0.803     80.0% 0.799\n"
    "  -        max     80.9% 0.809     75.1% 0.751\n  ?                                   ^\n"
    "  +        max     80.9% 0.809     75.2% 0.751\n  ?                                   ^\n\n"
)


def test_split_diff_reads_the_stored_and_the_fresh_text():
    assert fragility.split_diff(FAILURE) == ("stdout", STORED, FRESH)


def test_split_diff_falls_back_to_the_ndiff_with_its_orientation():
    without_repr = FAILURE.replace(f"  {STORED!r} == {FRESH!r}\n", "")
    key, ref, test = fragility.split_diff(without_repr)
    assert key == "stdout" and "75.2%" in ref and "75.1%" in test  # pytest: + is the left (stored) side


@pytest.mark.parametrize("stored, fresh, kind", [
    ("acc 75.2% / 0.751", "acc 75.1% / 0.751", "precision"),
    ("loss=0.361, val_acc=0.797]", "loss=0.361, val_acc=0.793]", "trajectory"),
    ("best epoch 3 of 4", "best epoch 2 of 4", "decision"),
    ("neighbours: cat, dog", "neighbours: dog, cat", "decision"),
    ("a\nb", "a", "decision"),
    ("x = 1.50e-03", "x = 1.51e-03", "precision"),
    ("row sums: tensor([1., 1., 1.])", "row sums: tensor([1.000, 1.000, 1.000])", "precision"),
])
def test_classify_texts(stored, fresh, kind):
    assert fragility.classify_texts(stored, fresh)[0] == kind


def test_classify_a_failure_and_an_exception():
    row = fragility.classify({"notebook": "n.ipynb", "cell": 41, "text": FAILURE})
    assert row["kind"] == "precision" and row["stream"] == "stdout"
    assert "75.2%" in row["why"] and "75.1%" in row["why"]
    raised = "Cell 3: Cell execution caused an exception\n...\nAssertionError: Tensor-likes are not close!\n"
    row = fragility.classify({"notebook": "n.ipynb", "cell": 3, "text": raised})
    assert row["kind"] == "other" and "AssertionError: Tensor-likes are not close!" in row["why"]


def test_environment_sets_the_perturbation_and_the_order_settings():
    order, noise = fragility.environment("order"), fragility.environment("noise")
    assert order["EMBEDLAB_PERTURB"] == "order" and order["MKL_CBWR"] == "COMPATIBLE"
    assert noise["EMBEDLAB_PERTURB"] == "noise" and "MKL_CBWR" not in noise
    assert order["EMBEDLAB_DEVICE"] == noise["EMBEDLAB_DEVICE"] == "cpu"


def test_decisions_are_read_from_the_fixes_file(tmp_path, monkeypatch):
    fixes = tmp_path / "fixes.md"
    fixes.write_text("## 05\n\n### 05_pooling_classifiers.ipynb cell 41\n\nwhat\n\n**Decision:** fix: print .0%\n")
    monkeypatch.setattr(fragility, "FIXES_PATH", fixes)
    assert fragility.decisions() == {("05_pooling_classifiers.ipynb", 41): "fix: print .0%"}
