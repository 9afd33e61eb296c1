"""The workshop edition runs: every cell outside the exercises executes without an error, and
every self-check in a stub answers "not yet" (the stub ``...`` is never taken for an answer).

Executing a chapter takes as long as nbval's pass over it, so `make test` runs this for one
chapter (``EMBEDLAB_STUDENT_RUN``, default 00_tour); `EMBEDLAB_STUDENT_RUN=all` runs every
chapter. The unit tests (tests/test_exercises.py) check the edition's structure for all of them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student

CHOSEN = os.environ.get("EMBEDLAB_STUDENT_RUN", "00_tour")
NOTEBOOKS = [
    p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if CHOSEN == "all" or p.stem in CHOSEN.split(",")
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_runs_outside_the_exercises(path):
    (written,) = student.write([path], ROOT / "student")
    nb = nbformat.read(written, as_version=4)
    NotebookClient(nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(written.parent)}}).execute()
    errors, answered = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        failed = [o for o in cell.outputs if o.output_type == "error"]
        is_stub = student.STUB_TAG in cell.metadata.get("tags", [])
        if failed and not is_stub:
            errors.append((i, failed[0].ename, failed[0].evalue[:200]))
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if is_stub and "correct:" in text:
            answered.append(i)
    assert not errors, f"{path.name}: cells outside the exercises failed in the student edition: {errors}"
    assert not answered, f"{path.name}: a check took a stub for a right answer, cells {answered}"
