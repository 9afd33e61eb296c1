"""Device choice, seeding and determinism for every chapter.

Shape legend: see :mod:`embedlab`.

The rules this module enforces (see the book's setup page):

* ``EMBEDLAB_DEVICE`` picks the device: ``cpu``, ``cuda``, or unset (= ``cuda`` if available).
* Random numbers are drawn on the CPU with a :class:`torch.Generator` and then moved, so a GPU
  run starts from exactly the same numbers as a CPU run.
* Deterministic algorithms are switched on; ``CUBLAS_WORKSPACE_CONFIG`` is set before CUDA starts.

The perturbed mode (opt-in, for ``tools/fragility.py``): a GPU run differs from the CPU run by
summation order and rounding, and training amplifies that. ``EMBEDLAB_PERTURB`` simulates it on
the CPU, to find the printed outputs that would not survive:

* unset or empty: off. Nothing here changes a single bit.
* ``order``: other kernels, so other summation orders, same inputs: MKL's conditional numerical
  reproducibility branch ``MKL_CBWR=COMPATIBLE`` (other GEMM kernels and blocking: matmul,
  ``nn.Linear``, attention) and ATen's AVX2 kernels instead of AVX-512 (``ATEN_CPU_CAPABILITY=avx2``:
  another vector width in softmax, ``log_softmax``, attention). Both are read once, at the first
  torch operation, so this module puts them into the environment when it is imported (before the
  first operation in a notebook that imports ``embedlab`` first), and :func:`setup` raises if they
  came too late. The random draws do not change. More intra-op threads and ``torch.backends.mkldnn``
  off were tried and changed no float32 result of the chapters' ops on this CPU, so they are not used.
* ``noise``: :func:`perturb_` multiplies every initial parameter the package makes, and every
  :func:`randn` draw, by ``1 + 1e-6 * z``, z standard normal from a CPU generator of its own seeded
  by the tensor's contents: the run is reproducible, the global generators see nothing, and two
  models built from the same seed still start equal (as they would on a GPU), so a check that
  compares two routes from one start keeps comparing like with like.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

from embedlab import checks

_T = TypeVar("T", torch.Tensor, torch.nn.Module)

# cuBLAS reads this once, when CUDA starts: it must be in the environment before the first
# CUDA call, which is why it is set at import time rather than inside ``setup``.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

DEVICE_ENV = "EMBEDLAB_DEVICE"
ALLOWED_DEVICES = ("cpu", "cuda")

PERTURB_ENV = "EMBEDLAB_PERTURB"
PERTURBATIONS = ("order", "noise")
ORDER_ENVIRONMENT = {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "avx2"}
"""What ``EMBEDLAB_PERTURB=order`` puts into the environment (a process started with these has them from its first operation)."""
NOISE_SCALE = 1e-6
"""The relative size of the ``noise`` perturbation."""

if os.environ.get(PERTURB_ENV, "").strip() == "order":
    for _name, _value in ORDER_ENVIRONMENT.items():
        os.environ.setdefault(_name, _value)


def get_device(name: str | None = None) -> torch.device:
    """Return the device named by ``name``, else by ``$EMBEDLAB_DEVICE``, else cuda if available.

    Args:
        name: ``"cpu"``, ``"cuda"`` or None (read the environment variable).

    Raises:
        ValueError: the name is not one of the allowed values, or ``cuda`` was asked for and
            no CUDA device is present.
    """
    source = "argument 'name'"
    if name is None:
        name = os.environ.get(DEVICE_ENV, "").strip()
        source = f"environment variable {DEVICE_ENV}"
        if name == "":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str):
        raise TypeError(f"{source} must be a str ('cpu' or 'cuda'), got {checks.describe(name)}")
    if name not in ALLOWED_DEVICES:
        raise ValueError(
            f"{source} must be one of {ALLOWED_DEVICES} (or unset for automatic choice), got {name!r}"
        )
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{source} asks for 'cuda', but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); use 'cpu' or unset it"
        )
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's global generators (CPU and every CUDA device).

    Args:
        seed: an int in [0, 2**32) (NumPy's range).
    """
    checks.check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def cpu_generator(seed: int) -> torch.Generator:
    """Return a CPU :class:`torch.Generator` seeded with ``seed``.

    Draw with it on the CPU, then move the tensor: CPU and CUDA generators give different
    numbers for the same seed, so drawing on the CPU is what makes runs agree across devices.

    Args:
        seed: an int in [0, 2**32).
    """
    checks.check_seed("seed", seed)
    return torch.Generator(device="cpu").manual_seed(seed)


def randn(shape: Sequence[int], seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal numbers drawn on the CPU with ``seed``, then moved to ``device``.

    Args:
        shape: the sizes, each an int >= 0 (a list or tuple; ``torch.Size`` too).
        seed: an int in [0, 2**32).
        device: where the result goes (``torch.device`` or its name).
    """
    checks.check_sequence("shape", shape, non_empty=False, what="sizes")
    for i, size in enumerate(shape):
        checks.check_int(f"shape[{i}]", size, at_least=0)
    checks.check_seed("seed", seed)
    device = _as_device(device)
    return perturb_(torch.randn(tuple(shape), generator=cpu_generator(seed))).to(device)


def perturbation() -> str | None:
    """The perturbed mode named by ``$EMBEDLAB_PERTURB``: ``"order"``, ``"noise"``, or None (unset or empty: off).

    Raises:
        ValueError: the variable holds anything else.
    """
    value = os.environ.get(PERTURB_ENV, "").strip()
    if value == "":
        return None
    if value not in PERTURBATIONS:
        raise ValueError(
            f"environment variable {PERTURB_ENV} must be one of {PERTURBATIONS} (or unset: off), got {value!r}"
        )
    return value


def perturb_(target: _T) -> _T:
    """In ``noise`` mode, multiply every float entry of ``target`` by ``1 + 1e-6 * z`` in place; else nothing.

    ``z`` is standard normal, drawn on the CPU from a generator of its own seeded with a checksum
    of the tensor's shape and bytes: a perturbed run is reproducible, leaves the global generators
    alone, and equal tensors (two models built from one seed) get equal perturbations. Zeros
    (a padding row, a zero-initialised table) stay zero. A tensor is perturbed at most once, so a
    module may perturb itself and be perturbed again as part of a larger one. Integer tensors and
    buffers are left alone. With the mode off this returns ``target`` untouched: bitwise a no-op.

    Args:
        target: a tensor (CPU; float entries are perturbed) or an ``nn.Module`` (its parameters).

    Returns:
        ``target`` itself, so it can wrap an expression: ``self.head = perturb_(nn.Linear(...))``.
    """
    checks.check_type("target", target, (torch.Tensor, torch.nn.Module), "a tensor or an nn.Module")
    if perturbation() != "noise":
        return target
    tensors = [target] if isinstance(target, torch.Tensor) else list(target.parameters())
    with torch.no_grad():
        for tensor in tensors:
            if not tensor.is_floating_point() or getattr(tensor, "_embedlab_perturbed", False):
                continue
            z = torch.randn(tensor.shape, generator=_content_generator(tensor), dtype=tensor.dtype)
            tensor.mul_(1 + NOISE_SCALE * z.to(tensor.device))
            tensor._embedlab_perturbed = True
    return target


def set_deterministic(enabled: bool = True) -> None:
    """Make PyTorch choose deterministic kernels (and raise where none exists).

    Args:
        enabled: True or False.
    """
    checks.check_bool("enabled", enabled)
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.benchmark = not enabled
    torch.backends.cudnn.deterministic = enabled


def setup(seed: int = 0, name: str | None = None, num_threads: int = 1) -> torch.device:
    """The one call of a chapter's setup cell: pick the device, seed, go deterministic.

    Also sets ``torch.set_printoptions(precision=3)`` so printed tensors are rounded summaries, and
    the number of CPU threads PyTorch uses.

    Args:
        seed: seed for every generator.
        name: device name, or None for ``$EMBEDLAB_DEVICE`` / automatic.
        num_threads: CPU threads for PyTorch's kernels. One by default: the chapters' tensors are
            small, one thread gives the same summation order on every machine, and two notebooks
            run side by side (as ``make test`` does) without fighting over the cores.

    Returns:
        The chosen device.

    Raises:
        ValueError: a bad ``$EMBEDLAB_DEVICE`` or ``$EMBEDLAB_PERTURB``.
        RuntimeError: ``$EMBEDLAB_PERTURB`` is ``order`` but its settings came after the first torch operation.
    """
    checks.check_seed("seed", seed)
    checks.check_int("num_threads", num_threads, at_least=1)
    device = get_device(name)
    mode = perturbation()
    if mode == "order" and torch.backends.cpu.get_cpu_capability() == "AVX512":
        raise RuntimeError(
            f"{PERTURB_ENV}=order needs {ORDER_ENVIRONMENT} in the environment before the first torch "
            "operation (ATen still runs its AVX512 kernels): import embedlab first, or start the process "
            "with them (tools/fragility.py does)"
        )
    seed_everything(seed)
    set_deterministic(True)
    torch.set_num_threads(num_threads)
    torch.set_printoptions(precision=3, sci_mode=False)
    return device


def describe(device: torch.device | str) -> str:
    """One line naming the device and the versions, for a notebook's setup cell.

    Args:
        device: a ``torch.device`` or its name (``"cpu"``, ``"cuda"``, ``"cuda:0"``).
    """
    device = _as_device(device)
    if device.type == "cuda":
        where = f"cuda ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda})"
    else:
        where = "cpu"
    return f"device: {where} | torch {torch.__version__.split('+')[0]}"



def _content_generator(tensor: torch.Tensor) -> torch.Generator:
    """A CPU generator seeded with a CRC-32 of ``tensor``'s shape, dtype and bytes."""
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    seed = zlib.crc32(data, zlib.crc32(f"{tuple(tensor.shape)} {tensor.dtype}".encode()))
    return torch.Generator(device="cpu").manual_seed(seed)


def _as_device(device: object) -> torch.device:
    """``device`` as a ``torch.device``: a TypeError for a non-device, a ValueError for a bad name."""
    checks.check_type("device", device, (torch.device, str), "a torch.device or a device name")
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must name a device such as 'cpu' or 'cuda', got {device!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device is 'cuda', but torch.cuda.is_available() is False; use 'cpu'")
    return device
