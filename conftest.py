"""Root configuration of pytest: the order in which the nbval pass hands out the notebooks.

``make test`` runs nbval with two xdist workers and ``--dist loadfile``: each notebook goes whole to
one worker, in the order of collection, and a worker that finishes takes the next. Collected in
name order, the longest chapters (05, 08) come late and one worker ends alone. Longest first (by
the last one-at-a-time record of ``make outputs``, ``benchmarks/results/notebook_times.json``)
evens out the two workers. The unit tests (``tests/``, which has its own conftest) are not reordered.
"""

from __future__ import annotations

import json
from pathlib import Path

RECORD = Path(__file__).resolve().parent / "benchmarks" / "results" / "notebook_times.json"


def last_seconds() -> dict[str, float]:
    """Notebook file name -> seconds in the last one-at-a-time record ({} if there is none)."""
    try:
        runs = json.loads(RECORD.read_text(encoding="utf-8"))["runs"]
        run = runs.get("1") or next(iter(runs.values()))
        return {r["notebook"]: float(r["seconds"]) for r in run["notebooks"]}
    except (OSError, ValueError, KeyError, StopIteration):
        return {}


def pytest_collection_modifyitems(session, config, items):
    notebooks = [item for item in items if item.path.suffix == ".ipynb"]
    if len(notebooks) < len(items) or not notebooks:
        return  # a run that is not (only) the nbval pass: leave it alone
    seconds = last_seconds()
    # stable: the cells of one notebook keep their order, unknown notebooks go first
    items.sort(key=lambda item: -seconds.get(item.path.name, float("inf")))
