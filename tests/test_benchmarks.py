"""benchmarks/harness.py, and the rules every benchmark follows (no sys.path edits, the shared harness)."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest
import torch

from benchmarks import harness

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks"
BENCHMARKS = sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem not in ("__init__", "harness"))


def test_the_benchmarks_are_found():
    assert BENCHMARKS == [
        "attention", "embedding_bag", "encoder", "finetune", "kv_cache", "pooling", "pooling_seeds",
        "pretrained_sentiment", "retrieval", "skipgram_vs_gensim", "tagging",
    ]


def test_environment_has_every_fact():
    env = harness.environment(torch.device("cpu"), gensim="4.0")
    expected = {"python", "torch", "gensim", "machine", "cpu_count", "torch_threads", "device",
                "device_description", "date"}
    assert set(env) == expected
    assert env["device"] == "cpu" and env["device_description"].startswith("device: cpu")
    assert env["torch"] == torch.__version__ and env["torch_threads"] == torch.get_num_threads()
    json.dumps(env)  # every fact can be written to a results file


def test_load_average_reads_the_machine(monkeypatch):
    monkeypatch.setattr(harness.os, "getloadavg", lambda: (1.234, 0.5, 0.25))
    assert harness.load_average() == {"1min": 1.23, "5min": 0.5, "15min": 0.25}


@pytest.mark.parametrize(
    ("before", "after", "busy"),
    [(0.5, 1.9, False), (2.0, 2.0, False), (2.5, 1.0, True), (0.3, 2.01, True)],
)
def test_busy_guard_compares_the_1min_load_with_the_cores(before, after, busy):
    load = harness.load_record({"1min": before}, {"1min": after}, cpu_count=2)
    assert load["busy"] is busy
    assert (harness.refusal(load) is None) is (not busy)


def test_busy_guard_with_a_faked_load_refuses_and_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(harness.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setattr(harness.os, "cpu_count", lambda: 2)
    load = harness.load_record(harness.load_average(), harness.load_average())
    assert load["busy"] and load["cpu_count"] == 2
    json_path, md_path = harness.write_results("fake", {"load": load, "rows": [1]}, ["# title", "raw"], tmp_path)
    stored = json.loads(json_path.read_text(encoding="utf-8"))
    assert stored["summarised"] is False and "NOT SUMMARISED" in stored["refusal"] and "9.0" in stored["refusal"]
    lines = md_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# title" and lines[2].startswith("NOT SUMMARISED") and lines[3] == "raw"
    assert "NOT SUMMARISED" in capsys.readouterr().out


def test_quiet_machine_is_summarised(monkeypatch, tmp_path):
    monkeypatch.setattr(harness.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    load = harness.load_record(harness.load_average(), harness.load_average(), cpu_count=2)
    stale = {"load": load, "summarised": False, "refusal": "old sentence"}  # e.g. --summarise-only of an old file
    json_path, md_path = harness.write_results("quiet", stale, ["# title", "| table |"], tmp_path)
    stored = json.loads(json_path.read_text(encoding="utf-8"))
    assert stored["summarised"] is True and "refusal" not in stored
    assert md_path.read_text(encoding="utf-8") == "# title\n| table |\n"


def test_write_results_round_trip(tmp_path):
    result = {"benchmark": "x", "load": harness.load_record({"1min": 0.0}, {"1min": 0.0}, 4),
              "rows": [{"a": 1.5, "b": [1, 2]}], "text": "人民日报"}
    json_path, md_path = harness.write_results("x", result, ["# x", "", "| a |"], tmp_path)
    assert (json_path, md_path) == (tmp_path / "x.json", tmp_path / "x.md")
    assert json.loads(json_path.read_text(encoding="utf-8")) == {**result, "summarised": True}
    assert "人民日报" in json_path.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes
    assert md_path.read_text(encoding="utf-8") == "# x\n\n| a |\n"


def test_write_results_needs_the_load_record(tmp_path):
    with pytest.raises(ValueError, match="'load'"):
        harness.write_results("x", {"rows": []}, ["# x"], tmp_path)


def test_timing_median_and_min():
    timing = harness.Timing((3.0, 1.0, 2.0, 10.0))
    assert timing.median == 2.5 and timing.min == 1.0


class FakeClock:
    """Each reading advances by the next step: a timed call lasts exactly that step."""

    def __init__(self, steps):
        self.now, self.steps, self.reading = 0.0, list(steps), 0

    def __call__(self):
        if self.reading % 2 == 1:  # the reading after a call
            self.now += self.steps.pop(0)
        self.reading += 1
        return self.now


def test_interleaved_takes_median_and_min_over_the_repeats():
    clock = FakeClock([5.0, 1.0, 3.0, 2.0, 4.0, 9.0])  # a, b, a, b, a, b
    timings = harness.interleaved({"a": lambda: None, "b": lambda: None}, repeats=3, warmup=0, clock=clock)
    assert timings["a"].seconds == (5.0, 3.0, 4.0) and timings["b"].seconds == (1.0, 2.0, 9.0)
    assert (timings["a"].median, timings["a"].min) == (4.0, 3.0)
    assert (timings["b"].median, timings["b"].min) == (2.0, 1.0)


def test_interleaved_order_is_round_robin_after_the_warmup():
    log = []
    calls = {name: (lambda name=name: log.append(name)) for name in ("a", "b", "c")}
    harness.interleaved(calls, repeats=3, warmup=1)
    assert log == ["a", "b", "c"] * 4  # one warm-up round, then three timed rounds


def test_interleaved_waits_for_the_device_around_each_call():
    log = []
    harness.interleaved({"a": lambda: log.append("call")}, repeats=3, warmup=0, sync=lambda: log.append("sync"))
    assert log == ["sync", "call", "sync"] * 3


def test_round_robin_returns_values_in_order():
    counter = iter(range(100))
    values = harness.round_robin({"a": lambda: next(counter), "b": lambda: next(counter)}, 3)
    assert values == {"a": [0, 2, 4], "b": [1, 3, 5]}


@pytest.mark.parametrize("repeats", [0, 1, 2, 2.5, True, "3"])
def test_fewer_than_three_repeats_are_refused(repeats):
    with pytest.raises(ValueError, match="repeats must be an int >= 3"):
        harness.interleaved({"a": lambda: None}, repeats=repeats)


def test_repeats_within_a_budget():
    assert harness.repeats_within(1.0, 0.1) == 10
    assert harness.repeats_within(1.0, 10.0) == 5  # at_least
    assert harness.repeats_within(1.0, 0.0) == 100  # at_most
    assert harness.repeats_within(1.0, 10.0, at_least=1) == harness.MIN_REPEATS


def test_synchronizer_on_a_cpu_does_nothing():
    assert harness.synchronizer(torch.device("cpu")) is harness.no_sync


def _tree(name: str) -> ast.Module:
    return ast.parse((BENCH_DIR / f"{name}.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted(BENCH_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_benchmark_edits_sys_path(path):
    source = path.read_text(encoding="utf-8")
    sys_path = [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)
                and node.attr == "path" and isinstance(node.value, ast.Name) and node.value.id == "sys"]
    assert sys_path == [], f"{path.name} uses sys.path on lines {sys_path}"
    assert "PYTHONPATH" not in source, f"{path.name} sets PYTHONPATH"


# Benchmarks whose claim is accuracy over seeds, not speed: each run is saved as it ends (so a
# killed run resumes with --resume), which interleaved timing cannot do; their seconds are side
# information, and the chapter says how it reads them.
ACCURACY_GRIDS = {"finetune": "chapter 08's regimes x sizes x seeds; seconds per run from perf_counter"}


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_uses_the_harness(name):
    tree = _tree(name)
    imports = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names}
    assert ("benchmarks", "harness") in imports
    called = {node.func.attr for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "harness"}
    assert {"environment", "load_average", "load_record", "write_results"} <= called, called
    if name not in ACCURACY_GRIDS:
        assert called & {"interleaved", "round_robin"}, f"{name} times nothing through the harness"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_no_benchmark_writes_results_itself_or_hard_codes_a_device(name):
    source = (BENCH_DIR / f"{name}.py").read_text(encoding="utf-8")
    assert "json.dump(" not in source and "write_text(json" not in source, f"{name} writes results itself"
    assert 'torch.device("cpu")' not in source and 'torch.device("cuda"' not in source
    assert "os.getloadavg" not in source and "platform." not in source  # facts come from the harness


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_imports(name):
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.main) and module.harness is harness
