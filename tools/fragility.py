"""Find the stored outputs that a GPU run would not reproduce, by perturbing the CPU run.

A CUDA run differs from the stored CPU run by summation order and rounding, and training amplifies
that. ``embedlab.device`` simulates both on the CPU (``EMBEDLAB_PERTURB``, see its docstring):

* ``order``: other GEMM and vector kernels (``MKL_CBWR=COMPATIBLE``, ``ATEN_CPU_CAPABILITY=avx2``),
  so other summation orders, the same random draws;
* ``noise``: every initial parameter the package makes, and every ``device.randn`` draw, times
  ``1 + 1e-6 z``.

This tool runs nbval over the notebooks under each perturbation (as ``make test-notebooks`` does,
with ``-vv -rf`` so that nbval prints every failing cell's full diff, and a JUnit XML file that
holds the same text per cell), parses the failures, classifies each, and writes
``benchmarks/results/fragility.json`` and ``fragility.md``:

* ``precision`` -- printed too precisely: the same text, and every changed number moved by at most
  one unit in its last printed digit (a rounding boundary, nothing more);
* ``decision`` -- a decision flips: words, order or an integer changed (an argmax, a top-k or a
  neighbour list, a count of correct items, a best epoch);
* ``trajectory`` -- a training trajectory diverges: the same text, numbers moved by more than one
  unit in their last digit;
* ``other`` -- anything else, e.g. a hidden assert that failed (its message is given).

The "what was done" column comes from ``benchmarks/results/fragility_fixes.md``: a heading
``### <notebook> cell <N>`` followed by a line ``**Decision:** ...``. ``--from-json`` re-renders the
Markdown from the JSON (no notebook is run), e.g. after editing the fixes file.

Usage: python tools/fragility.py [--perturbations order,noise] [--from-json] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedlab import device  # noqa: E402  (after the path, so the worktree's package is used)

RESULTS = ROOT / "benchmarks" / "results"
JSON_PATH = RESULTS / "fragility.json"
MD_PATH = RESULTS / "fragility.md"
FIXES_PATH = RESULTS / "fragility_fixes.md"
KINDS = ("precision", "decision", "trajectory", "other")
KIND_TEXT = {
    "precision": "printed too precisely",
    "decision": "a decision flips",
    "trajectory": "a training trajectory diverges",
    "other": "other",
}
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
TEST_ID = re.compile(r"(?P<notebook>[^\s:]+\.ipynb)::Cell (?P<cell>\d+)")


# --- running nbval -----------------------------------------------------------------------------

def environment(mode: str) -> dict[str, str]:
    """The environment of one nbval run under the perturbation ``mode``."""
    env = {k: v for k, v in os.environ.items() if k not in (device.PERTURB_ENV, *device.ORDER_ENVIRONMENT)}
    env.update(
        EMBEDLAB_DEVICE="cpu", PYTHONHASHSEED="0", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    env[device.PERTURB_ENV] = mode
    if mode == "order":
        env.update(device.ORDER_ENVIRONMENT)  # from the first operation on, in pytest and in every kernel
    return env


PROBE = """
import torch
from embedlab import device
device.setup(seed=0, name="cpu")
g = torch.Generator().manual_seed(0)
a, b = torch.randn(16, 128, generator=g), torch.randn(128, 16, generator=g)
print(repr(device.perturbation()), torch.backends.cpu.get_cpu_capability(),
      (a @ b).sum().item(), device.randn((64,), seed=0).sum().item())
"""


def probe_kernel(mode: str) -> str:
    """What a Jupyter kernel started with ``mode``'s environment sees: the mode, ATen's kernels, two sums.

    nbval starts its kernels the same way (jupyter_client, this process's environment), so this
    shows that the perturbation reaches the notebooks.
    """
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=environment(mode), cwd=str(ROOT))
    lines = []
    try:
        client.execute_interactive(PROBE, timeout=120, output_hook=lambda msg: lines.append(
            msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return "".join(lines).strip()


def run_nbval(mode: str, notebooks: list[str], log_dir: Path) -> dict:
    """Run nbval over ``notebooks`` under ``mode``; return the parsed run."""
    junit, log = log_dir / f"nbval_{mode}.xml", log_dir / f"nbval_{mode}.log"
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-n", "2", "--dist", "loadfile",
        "-vv", "-rf", "--color=no", f"--junitxml={junit}", *notebooks,
    ]
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        completed = subprocess.run(command, cwd=ROOT, env=environment(mode), stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    (log_dir / f"nbval_{mode}.json").write_text(json.dumps({"seconds": seconds, "exit_code": completed.returncode}))
    if not junit.exists():
        raise SystemExit(f"nbval under {mode} wrote no report (exit {completed.returncode}); see {log}")
    return parse_run(mode, notebooks, log_dir, seconds, completed.returncode)


def _same_path(a: str, b: str) -> bool:
    """pytest spells a notebook's node id in several ways (``nb/x::ipynb``, ``nb.x.ipynb``)."""
    return re.sub(r"[./:]+", ".", a) == re.sub(r"[./:]+", ".", b)


def parse_run(mode: str, notebooks: list[str], log_dir: Path, seconds: float | None = None,
              exit_code: int | None = None) -> dict:
    """The failures of one finished run, from its JUnit XML, checked against ``-rf``'s summary."""
    junit, log = log_dir / f"nbval_{mode}.xml", log_dir / f"nbval_{mode}.log"
    run = parse_junit(junit, notebooks)
    timing = log_dir / f"nbval_{mode}.json"
    if seconds is None and timing.exists():
        seconds, exit_code = json.loads(timing.read_text()).values()
    run.update(mode=mode, seconds=round(seconds if seconds is not None else 0.0, 1), exit_code=exit_code)
    summary = set()
    for node in re.findall(r"^FAILED (\S+?)::Cell (\d+)", log.read_text(encoding="utf-8"), flags=re.M):
        summary.add((next((nb for nb in notebooks if _same_path(nb, node[0])), node[0]), int(node[1])))
    failed = {(f["notebook"], f["cell"]) for f in run["failures"]}
    if summary != failed:  # -rf's short summary and the XML must name the same cells
        raise SystemExit(f"{mode}: -rf and the XML report disagree on {sorted(summary ^ failed)}")
    return run


def parse_junit(path: Path, notebooks: list[str]) -> dict:
    """Counts and failures (notebook, cell, nbval's text) of a pytest JUnit XML report."""
    tree = ET.parse(path)
    passed, failures, skipped = 0, [], 0
    for case in tree.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            skipped += 1
        elif problem is None:
            passed += 1
        else:
            match = re.match(r"(?P<cls>.+)::Cell (?P<cell>\d+)$", name)
            cls = match["cls"] if match else name
            notebook = next((nb for nb in notebooks if _same_path(nb, cls)), cls)
            failures.append({"notebook": notebook, "cell": int(match["cell"]) if match else -1,
                             "text": problem.text or problem.get("message", "")})
    return {"passed": passed, "failed": len(failures), "skipped": skipped, "failures": failures}


# --- classifying one failure -------------------------------------------------------------------

def split_diff(text: str) -> tuple[str, str, str] | None:
    """(stream or mime key, reference, test) from nbval's ``-vv`` diff, or None when there is none."""
    key = re.search(r"mismatch '([^']+)'", text)
    if not key:
        return None
    body = text[key.end():]
    lines = body.split("\n assert reference_output == test_output failed:\n", 1)
    if len(lines) < 2:
        return key[1], "", ""
    for line in lines[1].splitlines():  # with -vv, pytest's first line is `repr(reference) == repr(test)`, whole
        try:
            tree = ast.parse(line.strip(), mode="eval").body
        except SyntaxError:
            continue
        if isinstance(tree, ast.Compare) and all(isinstance(n, ast.Constant) for n in (tree.left, *tree.comparators)):
            return key[1], tree.left.value, tree.comparators[0].value
        break
    ref, test = [], []  # else the ndiff below it
    for line in lines[1].splitlines():
        if not line.startswith("  "):
            continue
        line = line[2:]
        if line.startswith("Full diff:") or line.startswith("Skipping"):
            continue
        tag, rest = line[:2], line[2:].replace("\\n", "")
        if tag == "+ ":  # pytest's diff of `reference == test`: + the left side, - the right side
            ref.append(rest)
        elif tag == "- ":
            test.append(rest)
        elif tag == "  ":
            ref.append(rest)
            test.append(rest)
    return key[1], "\n".join(ref), "\n".join(test)


def _decimals(token: str) -> int:
    mantissa = re.split(r"[eE]", token)[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def _unit(token: str) -> float:
    exponent = int(re.split(r"[eE]", token)[1]) if re.search(r"[eE]", token) else 0
    return 10.0 ** (exponent - _decimals(token))


def _show_change(a: str, b: str, context: int = 24) -> str:
    """The part of two lines that differs, with some context: ``...stored...`` -> ``...now...``."""
    start = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    end = 0
    while end < min(len(a), len(b)) - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    lo = max(0, start - context)
    cut = lambda s: ("..." if lo else "") + s[lo:len(s) - end + 8].strip() + ("..." if end > 8 else "")
    return f"`{cut(a)}` -> `{cut(b)}`"


def classify_texts(ref: str, test: str) -> tuple[str, str]:
    """(kind, why) of a changed output, from the reference and the fresh text."""
    ref_lines, test_lines = ref.splitlines(), test.splitlines()
    changed = [(a, b) for a, b in zip(ref_lines, test_lines) if a != b]
    if len(ref_lines) != len(test_lines):
        return "decision", f"{len(ref_lines)} lines stored, {len(test_lines)} now"
    shown = "; ".join(_show_change(a, b) for a, b in changed[:2])
    if len(changed) > 2:
        shown += f"; and {len(changed) - 2} more lines"
    worst, integer_changed = 0.0, False
    for a, b in changed:
        if NUMBER.sub("#", a) != NUMBER.sub("#", b):
            return "decision", "the text changed, not only numbers: " + shown
        for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
            if x == y:
                continue
            if "." not in x and "." not in y and not re.search(r"[eE]", x + y):
                integer_changed = True
            # 1. -> 1.000 (an exact value that is no longer exact) counts in the coarser unit
            worst = max(worst, abs(float(x) - float(y)) / max(_unit(x), _unit(y)))
    if integer_changed:
        return "decision", "an integer changed (a count, an index, an epoch): " + shown
    if worst <= 1.0 + 1e-9:
        return "precision", f"{len(changed)} line(s), by 1 unit in the last digit at most: " + shown
    return "trajectory", f"{len(changed)} line(s), by up to {worst:.0f} units in the last digit: " + shown


def classify(failure: dict) -> dict:
    """Add kind, why and the stream to one failure parsed from the report."""
    text = failure["text"]
    if "Cell outputs differ" in text:
        parts = split_diff(text)
        if parts is None or not (parts[1] or parts[2]):
            kind, why, stream = "other", "outputs differ (nbval shows no text diff)", ""
        else:
            stream, ref, test = parts
            kind, why = classify_texts(ref, test)
            why = f"{stream}: {why}"
    else:
        found = re.findall(r"^(?:E\s+)?(\w*(?:Error|Exception)\b.*)$", text, flags=re.M)
        message = found[-1].strip() if found else text.strip().splitlines()[-1]
        kind, why, stream = "other", "the cell raised: " + message[:200], ""
    return {**failure, "kind": kind, "why": why, "stream": stream}


# --- the table ---------------------------------------------------------------------------------

def cell_facts(notebook: str, index: int) -> dict:
    """First source line and tags of the ``index``-th code cell (nbval's numbering)."""
    nb = nbformat.read(ROOT / notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    cell = code[index]
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return {"first_line": lines[0] if lines else "", "tags": list(cell.metadata.get("tags", []))}


def decisions() -> dict[tuple[str, int], str]:
    """``(notebook name, cell) -> decision`` from the fixes file (empty when there is none)."""
    if not FIXES_PATH.exists():
        return {}
    found, current = {}, None
    for line in FIXES_PATH.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"###\s+(\S+\.ipynb)\s+cell\s+(\d+)", line)
        if heading:
            current = (heading[1], int(heading[2]))
            continue
        decision = re.match(r"\*\*Decision:\*\*\s*(.+)", line)
        if decision and current:
            found[current] = decision[1].strip()
            current = None
    return found


def collect(runs: list[dict]) -> list[dict]:
    """One row per failing cell, with what each perturbation did to it."""
    rows: dict[tuple[str, int], dict] = {}
    for run in runs:
        for failure in run["failures"]:
            item = classify(failure)
            key = (item["notebook"], item["cell"])
            row = rows.setdefault(key, {"notebook": item["notebook"], "cell": item["cell"],
                                        **cell_facts(item["notebook"], item["cell"]), "by": {}})
            row["by"][run["mode"]] = {"kind": item["kind"], "why": item["why"], "text": item["text"][-4000:]}
    return [rows[k] for k in sorted(rows)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(result: dict) -> list[str]:
    """The Markdown report."""
    modes = [run["mode"] for run in result["runs"]]
    chosen = decisions()
    lines = [
        f"# GPU fragility, simulated on the CPU (torch {result['torch']}, {result['cpus']} CPUs)",
        "",
        "Every notebook under nbval with `EMBEDLAB_PERTURB` set (`tools/fragility.py`, `make test-fragile`):",
        "`order` runs other GEMM and vector kernels (`MKL_CBWR=COMPATIBLE`, `ATEN_CPU_CAPABILITY=avx2`), so other",
        "summation orders; `noise` multiplies every initial parameter and random draw of the package by 1 + 1e-6 z.",
        "A cell listed here printed something else than its stored output. Kinds: *precision* (printed too",
        "precisely: one unit in the last digit), *decision* (an argmax, a top-k, a neighbour list, a count or a",
        "best epoch flips), *trajectory* (training diverges: numbers move by more than a unit), *other*.",
        "The proposed fix of each cell is in `fragility_fixes.md`.",
        "",
        "## Runs",
        "",
        "| perturbation | cells passed | cells failed | minutes |",
        "|---|---:|---:|---:|",
    ]
    for run in result["runs"]:
        lines.append(f"| {run['mode']} | {run['passed']} | {run['failed']} | {run['seconds'] / 60:.1f} |")
    lines += ["", "## Failing cells by notebook and kind", "",
              "| notebook | " + " | ".join(f"{m}: {k}" for m in modes for k in KINDS) + " |",
              "|---|" + "---:|" * (len(modes) * len(KINDS))]
    notebooks = sorted({row["notebook"] for row in result["rows"]})
    for name in notebooks:
        counts = []
        for mode in modes:
            for kind in KINDS:
                counts.append(sum(1 for r in result["rows"] if r["notebook"] == name
                                  and r["by"].get(mode, {}).get("kind") == kind))
        lines.append(f"| {Path(name).name} | " + " | ".join(str(c) for c in counts) + " |")
    lines += ["", "## Every failing cell", "",
              "| notebook | cell | first line | " + " | ".join(modes) + " | why | what was done |",
              "|---|---:|---|" + "---|" * len(modes) + "---|---|"]
    for row in result["rows"]:
        name = Path(row["notebook"]).name
        kinds = [row["by"][m]["kind"] if m in row["by"] else "passes" for m in modes]
        whys = "<br>".join(f"{m}: {row['by'][m]['why']}" for m in modes if m in row["by"])
        hidden = " (hidden)" if "remove-cell" in row["tags"] else ""
        done = chosen.get((name, row["cell"]), "not yet decided")
        lines.append(f"| {name} | {row['cell']}{hidden} | `{_cell(row['first_line'][:60])}` | "
                     + " | ".join(kinds) + f" | {_cell(whys)} | {_cell(done)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    parser.add_argument("--perturbations", default=",".join(device.PERTURBATIONS))
    parser.add_argument("--from-json", action="store_true", help="re-render fragility.md from fragility.json")
    parser.add_argument("--reuse", default="", help="perturbations whose last run (in _build/fragility) is parsed, not rerun")
    args = parser.parse_args(argv)
    if args.from_json:  # classified again from the stored nbval text, so a better classifier needs no rerun
        result = json.loads(JSON_PATH.read_text(encoding="utf-8"))
        for row in result["rows"]:
            for item in row["by"].values():
                item.update({k: v for k, v in classify({**row, "text": item["text"]}).items() if k in ("kind", "why")})
        JSON_PATH.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        modes = [m.strip() for m in args.perturbations.split(",") if m.strip()]
        for mode in modes:
            if mode not in device.PERTURBATIONS:
                parser.error(f"--perturbations: {mode!r} is not one of {device.PERTURBATIONS}")
        notebooks = args.notebooks or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("*.ipynb"))
        log_dir = ROOT / "_build" / "fragility"
        log_dir.mkdir(parents=True, exist_ok=True)
        runs, probes = [], {}
        for mode in ("", *modes):
            probes[mode or "off"] = probe_kernel(mode)
            print(f"kernel with {device.PERTURB_ENV}={mode!r}: {probes[mode or 'off']}", flush=True)
        if any(probes[m] == probes["off"] for m in modes):
            raise SystemExit("a perturbation did not change what a kernel computes: see the lines above")
        for mode in modes:
            if mode in args.reuse.split(","):
                run = parse_run(mode, notebooks, log_dir)
                runs.append(run)
                continue
            print(f"== nbval with {device.PERTURB_ENV}={mode} over {len(notebooks)} notebooks", flush=True)
            run = run_nbval(mode, notebooks, log_dir)
            print(f"   {run['passed']} cells passed, {run['failed']} failed, {run['seconds']:.0f} s", flush=True)
            runs.append(run)
        import torch

        result = {
            "torch": torch.__version__, "cpus": os.cpu_count(), "notebooks": notebooks, "kernel_probes": probes,
            "runs": [{k: v for k, v in run.items() if k not in ("failures", "log")} for run in runs],
            "rows": collect(runs),
        }
        JSON_PATH.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    MD_PATH.write_text("\n".join(render(result)) + "\n", encoding="utf-8")
    print(f"wrote {MD_PATH.relative_to(ROOT)} and {JSON_PATH.name}: {len(result['rows'])} failing cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
