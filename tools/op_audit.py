"""Every torch operator the notebooks run, recorded on the CPU, for the CUDA determinism audit.

Each notebook is executed top to bottom in a fresh kernel (as ``tools/execute_notebooks.py`` does,
but nothing is written back): a first cell, added in memory only, enters a
``torch.utils._python_dispatch.TorchDispatchMode`` that counts every ATen operator overload that
reaches the dispatcher below autograd, so backward kernels (``embedding_dense_backward``, ...) are
seen too; a line added in front of each code cell (in memory) notes in which code cell (nbval's
numbering) each operator first ran. For the operators whose determinism on CUDA depends on an argument (the mode
of ``_embedding_bag``, ``accumulate`` of ``index_put_``, the dtype of ``cumsum``, ...) the argument is
recorded as well. A last added cell writes the record as JSON.

Not seen: operators run in other threads (``skipgram`` prepares batches of ids in a worker thread:
integer ops on the CPU, which stay on the CPU in a CUDA run too) and NumPy / scikit-learn / gensim
code, which never reaches torch.

Writes ``benchmarks/results/cuda_ops.json``: per notebook, ``{op: {"count", "first_cell", "variants"}}``.
``benchmarks/results/cuda_determinism_audit.md`` is written from it by hand (the judgement per hit).

Usage: python tools/op_audit.py [NOTEBOOK ...]   (default: notebooks/*.ipynb)
       python tools/op_audit.py --inventory       (the Markdown table of cuda_ops.json)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cuda_ops.json"

RECORDER = r'''
import collections, json, torch
from torch.utils._python_dispatch import TorchDispatchMode

class _OpRecorder(TorchDispatchMode):
    """Count every ATen overload; note the arguments that decide CUDA determinism."""
    def __init__(self):
        super().__init__()
        self.cell = -1
        self.ops = {}
    def _variant(self, name, args, kwargs):
        def arg(i, key, default=None):
            return kwargs.get(key, args[i] if len(args) > i else default)
        if name.startswith("aten._embedding_bag") and "backward" not in name:
            return "mode=" + {0: "sum", 1: "mean", 2: "max"}.get(arg(4, "mode", 0), "?") + (
                ", per_sample_weights" if arg(6, "per_sample_weights") is not None else "")
        if name.startswith(("aten.index_put", "aten._index_put_impl", "aten.put")):
            return f"accumulate={bool(arg(3 if 'put_impl' in name or 'index_put' in name else 2, 'accumulate', False))}"
        if name.startswith(("aten.cumsum", "aten.cumprod")):
            return f"dtype={args[0].dtype}"
        if name.startswith("aten.scatter_reduce"):
            return f"reduce={arg(3, 'reduce')}"
        if name.startswith("aten.bincount"):
            return "weights" if arg(1, "weights") is not None else "no weights"
        if name.startswith(("aten.scatter.", "aten.scatter_.")):
            return "src=tensor" if isinstance(arg(3, "src"), torch.Tensor) else "src=scalar"
        if name.startswith("aten.gather"):
            return f"requires_grad={bool(args[0].requires_grad)}"
        return None
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func)
        entry = self.ops.get(name)
        if entry is None:
            entry = self.ops[name] = {"count": 0, "first_cell": self.cell, "variants": {}}
        entry["count"] += 1
        try:
            variant = self._variant(name, args, kwargs)
        except Exception as error:  # the record must never break the notebook
            variant = f"unrecorded ({type(error).__name__})"
        if variant is not None:
            entry["variants"][variant] = entry["variants"].get(variant, 0) + 1
        return func(*args, **kwargs)

__op_recorder = _OpRecorder()
__op_recorder.__enter__()
'''

DUMP = r'''
__op_recorder.__exit__(None, None, None)
with open({path!r}, "w") as f:
    json.dump(__op_recorder.ops, f)
'''


def record(path: Path, out: Path) -> tuple[dict, float]:
    """Execute one notebook with the recorder; return its operators and the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code):  # nbval's numbering; the line runs no torch operator
        if cell.source.strip():
            cell.source = f"__op_recorder.cell = {index}\n" + cell.source
    nb.cells.insert(0, nbformat.v4.new_code_cell(RECORDER))
    nb.cells.append(nbformat.v4.new_code_cell(DUMP.format(path=str(out))))
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    ops = json.loads(out.read_text(encoding="utf-8"))
    return ops, time.perf_counter() - start


def inventory(result: dict) -> list[str]:
    """A Markdown table: every operator overload, the notebooks (first cell) that run it, its calls."""
    ops: dict[str, dict] = {}
    for notebook, recorded in result.items():
        for name, entry in recorded.items():
            row = ops.setdefault(name, {"where": [], "calls": 0, "variants": {}})
            row["where"].append(f"{notebook[:2]}:{entry['first_cell']}")
            row["calls"] += entry["count"]
            for variant, n in entry["variants"].items():
                row["variants"][variant] = row["variants"].get(variant, 0) + n
    lines = ["| operator | notebook:first cell | calls | recorded arguments |", "|---|---|---:|---|"]
    for name in sorted(ops):
        row = ops[name]
        variants = ", ".join(f"{v} ({n:,})" for v, n in sorted(row["variants"].items()))
        lines.append(f"| `{name}` | {' '.join(row['where'])} | {row['calls']:,} | {variants} |")
    return lines


def main(argv: list[str]) -> int:
    if argv[:1] == ["--inventory"]:
        print("\n".join(inventory(json.loads(OUT.read_text(encoding="utf-8")))))
        return 0
    os.environ.setdefault("EMBEDLAB_DEVICE", "cpu")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    result = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() and argv else {}
    scratch = ROOT / "_build" / "op_audit"
    scratch.mkdir(parents=True, exist_ok=True)
    for path in paths:
        ops, seconds = record(path, scratch / f"{path.stem}.json")
        result[path.name] = dict(sorted(ops.items()))
        print(f"{path.name}: {len(ops)} operators, {sum(e['count'] for e in ops.values()):,} calls, {seconds:.0f} s", flush=True)
    OUT.write_text(json.dumps(dict(sorted(result.items())), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
