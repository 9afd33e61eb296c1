"""Re-execute notebooks on the CPU in place, the way `make outputs` stores them.

Each notebook runs top to bottom in a fresh kernel. Then what varies between runs is removed
(timing metadata, widget state, the Python patch version), streams are merged and carriage
returns resolved exactly as nbval does when it re-runs a cell, and execution counts are kept.
Running it twice in a row changes no byte.

Usage: python tools/execute_notebooks.py [NOTEBOOK ...]   (default: notebooks/*.ipynb)

A run over every notebook (no arguments, as `make outputs` does) records each time with the
load average in benchmarks/results/notebook_times.{json,md}; budgets: 60 s each, 240 s in all.
"""

from __future__ import annotations

import json
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

BUDGET_S = 60  # per notebook, on a 2-core CPU (DESIGN.md)
TOTAL_BUDGET_S = 240  # all notebooks together
RECORD = Path("benchmarks/results/notebook_times")  # .json and .md, written by a run over every notebook


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
    rows = []
    for path in paths:
        load_before = os.getloadavg()[0]
        seconds = execute(path)
        load_after = os.getloadavg()[0]
        total += seconds
        flag = "" if seconds <= BUDGET_S else f"  OVER the {BUDGET_S} s budget"
        if flag:
            over.append(path.name)
        rows.append({"notebook": path.name, "seconds": round(seconds, 1),
                     "load_before": round(load_before, 2), "load_after": round(load_after, 2)})
        print(f"{path}: {seconds:.1f} s (1-min load {load_before:.2f} -> {load_after:.2f}){flag}", flush=True)
    total_flag = "" if total <= TOTAL_BUDGET_S or len(paths) < len(ALL) else f"  OVER the {TOTAL_BUDGET_S} s budget"
    print(f"total: {total:.1f} s for {len(paths)} notebook(s){total_flag}")
    if not argv:
        record(rows, total)
    return 1 if over or total_flag else 0


ALL = sorted(Path("notebooks").glob("*.ipynb"))


def record(rows: list[dict], total: float) -> None:
    """benchmarks/results/notebook_times.{json,md}: what this run of every notebook took."""
    import platform

    import torch

    cores = os.cpu_count()
    busy = [r["notebook"] for r in rows if max(r["load_before"], r["load_after"]) > cores]
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {cores} CPUs, Python {platform.python_version()}, torch {torch.__version__}",
        "budget_per_notebook_s": BUDGET_S,
        "budget_total_s": TOTAL_BUDGET_S,
        "total_s": round(total, 1),
        "busy": busy,
        "notebooks": rows,
    }
    RECORD.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Notebook execution times (`make outputs`)",
        "",
        f"{meta['date']}; {meta['machine']}. One notebook at a time, each in a fresh kernel.",
        (
            f"Budgets: {BUDGET_S} s per notebook, {TOTAL_BUDGET_S} s in all. The load is the 1-minute load"
            " average before and after each notebook; above the core count the machine was busy and the"
            " time is inflated."
        ),
        "",
        "| notebook | seconds | load before | load after | within budget |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = "yes" if r["seconds"] <= BUDGET_S else "**no**"
        lines.append(f"| {r['notebook']} | {r['seconds']:.1f} | {r['load_before']:.2f} | {r['load_after']:.2f} | {ok} |")
    lines.append(f"| **total** | {total:.1f} | | | {'yes' if total <= TOTAL_BUDGET_S else '**no**'} |")
    if busy:
        lines += ["", f"The machine was busy (load above {cores}) during: {', '.join(busy)}."]
    RECORD.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
