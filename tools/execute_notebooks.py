"""Re-execute notebooks on the CPU in place, the way `make outputs` stores them.

Each notebook runs top to bottom in a fresh kernel. Then what varies between runs is removed
(timing metadata, widget state, the Python patch version), streams are merged and carriage
returns resolved exactly as nbval does when it re-runs a cell, and execution counts are kept.
Running it twice in a row changes no byte.

Usage: python tools/execute_notebooks.py [--jobs N] [NOTEBOOK ...]   (default: notebooks/*.ipynb)

``--jobs 2`` (what `make outputs` uses) runs two notebooks at a time, each in its own kernel: every
chapter runs torch on one thread (``embedlab.device.setup``), so two of them fill two cores, as
nbval's two workers do in `make test`. The longest notebooks (by the last record) start first.
A run over every notebook (no notebook named, as `make outputs` does) records each time with the
load average in benchmarks/results/notebook_times.{json,md}, and the wall time of the whole run;
budgets: 60 s per notebook, 240 s for the run.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
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


def timed(path: Path) -> dict:
    """Execute one notebook; its time and the 1-minute load average before and after."""
    load_before = os.getloadavg()[0]
    seconds = execute(path)
    load_after = os.getloadavg()[0]
    return {"notebook": path.name, "seconds": round(seconds, 1),
            "load_before": round(load_before, 2), "load_after": round(load_after, 2)}


def longest_first(paths: list[Path]) -> list[Path]:
    """The notebooks in order of their last recorded time, longest first (unknown ones first)."""
    try:
        runs = json.loads(RECORD.with_suffix(".json").read_text(encoding="utf-8"))["runs"]
        run = runs.get("1") or next(iter(runs.values()))  # one at a time: each notebook's own time
        last = {r["notebook"]: r["seconds"] for r in run["notebooks"]}
    except (OSError, ValueError, KeyError, StopIteration):
        last = {}
    return sorted(paths, key=lambda p: -last.get(p.name, float("inf")))


def main(argv: list[str]) -> int:
    os.environ["EMBEDLAB_DEVICE"] = "cpu"  # stored outputs always come from a CPU run
    jobs = 1
    if argv[:1] == ["--jobs"]:
        if len(argv) < 2 or not argv[1].isdigit() or int(argv[1]) < 1:
            print("--jobs needs a whole number >= 1", file=sys.stderr)
            return 2
        jobs, argv = int(argv[1]), argv[2:]
    paths = [Path(a) for a in argv] or sorted(Path("notebooks").glob("*.ipynb"))
    start = time.perf_counter()
    rows = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(timed, path) for path in longest_first(paths)]
        for future in as_completed(futures):
            row = future.result()
            rows.append(row)
            flag = "" if row["seconds"] <= BUDGET_S else f"  OVER the {BUDGET_S} s budget"
            print(f"notebooks/{row['notebook']}: {row['seconds']:.1f} s "
                  f"(1-min load {row['load_before']:.2f} -> {row['load_after']:.2f}){flag}", flush=True)
    wall = time.perf_counter() - start
    rows.sort(key=lambda r: r["notebook"])
    over = [r["notebook"] for r in rows if r["seconds"] > BUDGET_S]
    summed = sum(r["seconds"] for r in rows)
    total_flag = "" if wall <= TOTAL_BUDGET_S or len(paths) < len(ALL) else f"  OVER the {TOTAL_BUDGET_S} s budget"
    print(f"wall time: {wall:.1f} s for {len(paths)} notebook(s), {jobs} at a time "
          f"(the notebooks' own times add up to {summed:.1f} s){total_flag}")
    if not argv:
        record(rows, wall, jobs)
    return 1 if over or total_flag else 0


ALL = sorted(Path("notebooks").glob("*.ipynb"))


def record(rows: list[dict], wall: float, jobs: int) -> None:
    """benchmarks/results/notebook_times.{json,md}: the last full run at each ``--jobs``.

    The file keeps one entry per number of jobs, each replaced by the next full run with that
    number: the one-at-a-time run gives each chapter's own time (what a reader running one chapter
    waits, checked against the per-notebook budget), the two-at-a-time run the wall time of
    `make outputs` (checked against the budget for the whole run).
    """
    import platform

    import torch

    cores = os.cpu_count()
    # the run's own kernels add up to `jobs` to the load; beyond them, other work was competing
    limit = cores + jobs - 1
    busy = [r["notebook"] for r in rows if max(r["load_before"], r["load_after"]) > limit]
    run = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {cores} CPUs, Python {platform.python_version()}, torch {torch.__version__}",
        "jobs": jobs,
        "wall_s": round(wall, 1),
        "sum_of_notebooks_s": round(sum(r["seconds"] for r in rows), 1),
        "busy_above_load": limit,
        "busy": busy,
        "notebooks": rows,
    }
    path = RECORD.with_suffix(".json")
    try:
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", {})
    except (OSError, ValueError):
        runs = {}
    runs[str(jobs)] = run
    meta = {"budget_per_notebook_s": BUDGET_S, "budget_total_s": TOTAL_BUDGET_S,
            "runs": dict(sorted(runs.items()))}
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Notebook execution times (`make outputs`)",
        "",
        (
            f"Budgets: {BUDGET_S} s per notebook (a chapter run on its own), {TOTAL_BUDGET_S} s for the wall"
            " time of `make outputs` (two notebooks at a time). Each notebook runs in a fresh kernel with"
            " torch on one thread. The load is the 1-minute load average before and after each notebook;"
            " the run's own kernels account for up to as many as it runs at a time, and above the core"
            " count plus the others the machine was busy and the times are inflated. Written by"
            " `tools/execute_notebooks.py --jobs N` (N = 1, and N = 2 as `make outputs` runs it)."
        ),
    ]
    for r in meta["runs"].values():
        n = r["jobs"]
        lines += [
            "",
            f"## {'One notebook at a time' if n == 1 else f'{n} notebooks at a time'}",
            "",
            f"{r['date']}; {r['machine']}.",
            "",
            "| notebook | seconds | load before | load after |" + (" within budget |" if n == 1 else ""),
            "|---|---:|---:|---:|" + ("---|" if n == 1 else ""),
        ]
        for row in r["notebooks"]:
            ok = (" yes |" if row["seconds"] <= BUDGET_S else " **no** |") if n == 1 else ""
            lines.append(f"| {row['notebook']} | {row['seconds']:.1f} | {row['load_before']:.2f} | {row['load_after']:.2f} |{ok}")
        within = "within" if r["wall_s"] <= TOTAL_BUDGET_S else "**over**"
        lines += ["", f"Wall time of the run: {r['wall_s']:.1f} s ({within} the {TOTAL_BUDGET_S} s budget"
                  + ("" if n > 1 else ", which is for two at a time") + f"); the notebooks' own times add up to"
                  f" {r['sum_of_notebooks_s']:.1f} s."]
        if r["busy"]:
            lines += ["", f"The machine was busy (load above {r['busy_above_load']}) during: {', '.join(r['busy'])}."]
    RECORD.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
