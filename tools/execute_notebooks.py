"""Re-execute notebooks on the CPU in place, the way `make outputs` stores them.

Each notebook runs top to bottom in a fresh kernel. Then what varies between runs is removed
(timing metadata, widget state, the Python patch version), streams are merged and carriage
returns resolved exactly as nbval does when it re-runs a cell, and execution counts are kept.
Running it twice in a row changes no byte.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]   (default: notebooks/*.ipynb)
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams

# tqdm's elapsed time, remaining time and rate ("00:26<00:00,  5.39s/epoch") change from run to
# run; they are stored as a fixed phrase, and tests/nbval_sanitize.cfg turns fresh ones into the
# same phrase. The bar's count and postfix (e.g. "loss=2.201") are results and are kept.
TQDM_TIMING = re.compile(
    r"\d+:\d{2}(?::\d{2})?<(?:\d+:\d{2}(?::\d{2})?|\?),\s*(?:\?|[\d.]+)\s*(?:[A-Za-z]+/s|s/[A-Za-z]+)"
)
TQDM_PLACEHOLDER = "time and rate not stored"

BUDGET_S = 90  # per notebook, on a 2-core CPU (DESIGN.md); chapter 07 is allowed 120
LONGER_BUDGETS = {"07_transformer_encoder.ipynb": 120, "08_finetuning_a_pretrained_encoder.ipynb": 120}


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop what varies from run to run or machine to machine; keep outputs and counts."""
    nb.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        cell.metadata.pop("collapsed", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
            for output in cell.outputs:
                if output.output_type == "stream":
                    output.text = TQDM_TIMING.sub(TQDM_PLACEHOLDER, output.text)


def execute(path: Path) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    clean(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    os.environ["EMBEDLAB_DEVICE"] = "cpu"  # stored outputs always come from a CPU run
    paths = [Path(a) for a in argv] or sorted(Path("notebooks").glob("*.ipynb"))
    total = 0.0
    over = []
    for path in paths:
        seconds = execute(path)
        total += seconds
        budget = LONGER_BUDGETS.get(path.name, BUDGET_S)
        flag = "" if seconds <= budget else f"  OVER the {budget} s budget"
        if flag:
            over.append(path.name)
        print(f"{path}: {seconds:.1f} s{flag}", flush=True)
    print(f"total: {total:.1f} s for {len(paths)} notebook(s)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
