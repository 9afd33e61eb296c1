"""What every benchmark shares: the machine's facts, interleaved timing, the busy guard, the results files.

A benchmark runs from the repository root as ``python -m benchmarks.<name>`` (``make bench
BENCH=<name>``), imports the installed ``embedlab``, and writes ``benchmarks/results/<name>.json``
and ``<name>.md`` through :func:`write_results`. The rules they all follow:

* Ratios come from one run: the callables compared are timed in turn, repeat after repeat
  (:func:`interleaved`, :func:`round_robin`), so a busy spell of the machine hits all of them.
* At least :data:`MIN_REPEATS` repeats; the median and the minimum are both kept (noise from other
  processes only ever adds time, so the minimum is the least disturbed statistic).
* The load average is recorded before and after (:func:`load_record`). When the 1-minute load
  before or after exceeds the number of cores, the machine was oversubscribed: the benchmark
  writes its raw measurements but refuses to summarise them, and says so in its output and in
  both results files (:func:`refusal`, :func:`write_results`). The reading after a run includes
  the benchmark's own threads, so it means "more runnable threads than cores while it ran".
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from embedlab import device

RESULTS = Path(__file__).resolve().parent / "results"
MIN_REPEATS = 3
BUSY_RULE = "busy when the 1-minute load average before or after the run exceeds cpu_count"

T = TypeVar("T")


def environment(dev: torch.device, **versions: str) -> dict:
    """The facts a result depends on: versions, machine, cores, threads, device, date.

    Args:
        dev: the device the benchmark measured on (from ``embedlab.device``).
        versions: other libraries' versions, e.g. ``sklearn=sklearn.__version__``.
    """
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        **versions,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": dev.type,
        "device_description": device.describe(dev),
        "date": datetime.date.today().isoformat(),
    }


def load_average() -> dict[str, float]:
    """The 1-, 5- and 15-minute load averages of the machine, now."""
    one, five, fifteen = os.getloadavg()
    return {"1min": round(one, 2), "5min": round(five, 2), "15min": round(fifteen, 2)}


def load_record(before: Mapping[str, float], after: Mapping[str, float], cpu_count: int | None = None) -> dict:
    """The load before and after a run, and whether the machine was busy (see :data:`BUSY_RULE`).

    Args:
        before: :func:`load_average` taken before measuring (at least its ``"1min"`` entry).
        after: the same, taken after.
        cpu_count: cores of the machine (default: ``os.cpu_count()``).
    """
    cores = os.cpu_count() if cpu_count is None else cpu_count
    busy = max(before["1min"], after["1min"]) > cores
    return {"before": dict(before), "after": dict(after), "cpu_count": cores, "busy": busy, "rule": BUSY_RULE}


def refusal(load: Mapping) -> str | None:
    """The sentence that refuses a summary when ``load`` (from :func:`load_record`) says busy, else None."""
    if not load["busy"]:
        return None
    return (
        f"NOT SUMMARISED: the machine was busy (1-minute load average {load['before']['1min']} before and "
        f"{load['after']['1min']} after, above its {load['cpu_count']} cores); the raw measurements are kept, "
        "rerun on a quieter machine for a summary"
    )


@dataclass(frozen=True)
class Timing:
    """Seconds of repeated calls of one callable."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)


def check_repeats(repeats: int) -> None:
    """Refuse fewer than :data:`MIN_REPEATS` repeats: a median of one or two runs is not a summary."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be an int >= {MIN_REPEATS}, got {repeats!r}")


def round_robin(callables: Mapping[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Call every callable once per round, in order, for ``repeats`` rounds (a, b, a, b, ...).

    Returns:
        name -> the values its calls returned, in order.
    """
    check_repeats(repeats)
    values: dict[str, list[T]] = {name: [] for name in callables}
    for _ in range(repeats):
        for name, fn in callables.items():
            values[name].append(fn())
    return values


def no_sync() -> None:
    """Nothing to wait for: CPU work is finished when a call returns."""


def synchronizer(dev: torch.device) -> Callable[[], None]:
    """What to call before reading the clock: wait for CUDA's queued kernels, or nothing on a CPU."""
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    return no_sync


def seconds(fn: Callable[[], object], sync: Callable[[], None] = no_sync, clock=time.perf_counter) -> float:
    """Wall seconds of one call of ``fn``."""
    sync()
    start = clock()
    fn()
    sync()
    return clock() - start


def interleaved(
    callables: Mapping[str, Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    sync: Callable[[], None] = no_sync,
    clock=time.perf_counter,
) -> dict[str, Timing]:
    """Time several callables in turn, repeat after repeat, after ``warmup`` untimed rounds.

    Args:
        callables: name -> a callable with no arguments.
        repeats: timed rounds, at least :data:`MIN_REPEATS`.
        warmup: untimed rounds first (first-call costs, caches, allocator).
        sync: called before each clock reading (see :func:`synchronizer`).
        clock: the clock (a test may pass a fake one).
    """
    check_repeats(repeats)
    for _ in range(warmup):
        for fn in callables.values():
            fn()
    timed = {name: (lambda fn=fn: seconds(fn, sync, clock)) for name, fn in callables.items()}
    return {name: Timing(tuple(values)) for name, values in round_robin(timed, repeats).items()}


def repeats_within(budget_s: float, seconds_per_round: float, at_least: int = 5, at_most: int = 100) -> int:
    """How many rounds fit in ``budget_s`` seconds, kept within [at_least, at_most]."""
    at_least = max(at_least, MIN_REPEATS)
    return max(at_least, min(at_most, int(budget_s / max(seconds_per_round, 1e-6))))


def write_results(name: str, result: dict, markdown_lines: list[str], directory: Path = RESULTS) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``directory``, the same way for every benchmark.

    ``result`` must hold ``"load"`` (from :func:`load_record`). When it says busy, ``"summarised"``
    is False, ``"refusal"`` holds the sentence, and the sentence follows the Markdown's first line
    (its title); the benchmark itself leaves its summary out of both. The sentence is printed too.

    Returns:
        The paths of the JSON file and the Markdown file.
    """
    if "load" not in result:
        raise ValueError(f"result of {name!r} has no 'load' entry (from harness.load_record)")
    refused = refusal(result["load"])
    result = {key: value for key, value in result.items() if key not in ("summarised", "refusal")}
    result["summarised"] = refused is None
    lines = list(markdown_lines)
    if refused is not None:
        result["refusal"] = refused
        lines[1:1] = ["", refused]
        print(refused, flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {json_path} and {md_path.name}", flush=True)
    return json_path, md_path
