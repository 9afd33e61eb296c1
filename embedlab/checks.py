"""The input contract of the public API: one small check per kind of argument.

Every public function and class of ``embedlab`` opens with one to three of these calls, then reads
like the idea it implements. Inner helpers, and the ``forward`` of layers that only the package's
own models call, trust their caller and do not check again.

One rule for exception types, everywhere in the package:

* wrong type (None, a str where a tensor belongs, a float where an int belongs) -> ``TypeError``;
* wrong value, shape, dtype, range, NaN or infinity -> ``ValueError``;
* a file that does not exist -> ``FileNotFoundError``; a file that exists but cannot be read as
  what was expected -> ``ValueError`` naming the file (see :func:`reading`).

Each message names the argument, says what was expected and shows what came.

Nothing here forces a GPU -> CPU synchronisation on a CUDA tensor: value checks that would need
one (token ids in range, finite entries) run on CPU tensors only. On the GPU, ids have already been
checked where they entered the package (:func:`embedlab.text.pad_batch`, :func:`embedlab.text.to_bag`,
:func:`embedlab.train.fit`), which all work on the CPU.

Shape legend: see :mod:`embedlab`.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

SEED_LIMIT = 2**32  # NumPy's global generator takes seeds in [0, 2**32)


def describe(value: object) -> str:
    """A short description of ``value`` for an error message: its type, and shape for tensors."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (bool, numbers.Number)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"str {shown!r}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def _range_text(at_least=None, at_most=None, above=None, below=None) -> str:
    parts = []
    if at_least is not None:
        parts.append(f">= {at_least}")
    if above is not None:
        parts.append(f"> {above}")
    if at_most is not None:
        parts.append(f"<= {at_most}")
    if below is not None:
        parts.append(f"< {below}")
    return " and ".join(parts)


def check_type(name: str, value: object, types: type | tuple[type, ...], expected: str) -> object:
    """``value`` if it is an instance of ``types`` (bool never passes for int), else TypeError."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    return value


def check_int(
    name: str, value: object, at_least: int | None = None, at_most: int | None = None, below: int | None = None
) -> int:
    """An int (not a bool, not a float) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    value = int(value)
    if (
        (at_least is not None and value < at_least)
        or (at_most is not None and value > at_most)
        or (below is not None and value >= below)
    ):
        raise ValueError(f"{name} must be an int {_range_text(at_least, at_most, below=below)}, got {value}")
    return value


def check_optional_int(name: str, value: object, at_least: int | None = None, below: int | None = None) -> int | None:
    """None, or an int as :func:`check_int`."""
    if value is None:
        return None
    return check_int(name, value, at_least=at_least, below=below)


def check_float(
    name: str,
    value: object,
    at_least: float | None = None,
    at_most: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """A finite real number (int or float, not bool, not NaN or infinity) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if (
        (at_least is not None and value < at_least)
        or (at_most is not None and value > at_most)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    ):
        raise ValueError(f"{name} must be a number {_range_text(at_least, at_most, above, below)}, got {value!r}")
    return value


def check_bool(name: str, value: object) -> bool:
    """True or False, nothing else (not 0, 1, "yes" or None)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return value


def check_str(name: str, value: object, non_empty: bool = False) -> str:
    """A str; with ``non_empty``, one with at least one non-space character."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {describe(value)}")
    if non_empty and not value.strip():
        raise ValueError(f"{name} must contain at least one non-space character, got {value!r}")
    return value


def check_choice(name: str, value: object, choices: Sequence[object]) -> object:
    """One of ``choices`` (compared with ==); a str of the wrong kind is a ValueError."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_seed(name: str, value: object) -> int:
    """A seed: an int in [0, 2**32), the range every generator the package seeds accepts."""
    return check_int(name, value, at_least=0, below=SEED_LIMIT)


def check_sequence(name: str, value: object, non_empty: bool = True, what: str = "items") -> Sequence:
    """A list or tuple (not a str, not a tensor), optionally with at least one element."""
    if isinstance(value, (str, bytes, torch.Tensor)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list or tuple of {what}, got {describe(value)}")
    if non_empty and len(value) == 0:
        raise ValueError(f"{name} must hold at least one of its {what}, got an empty {type(value).__name__}")
    return value


def check_str_list(name: str, value: object, non_empty: bool = False) -> Sequence[str]:
    """A list or tuple of str (a single str is refused: tokenize it first)."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of str, got a single str (tokenize it first)")
    check_sequence(name, value, non_empty=non_empty, what="str")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{i}] must be a str, got {describe(item)}")
    return value


def check_id_lists(name: str, value: object, vocab_size: int | None = None) -> Sequence[Sequence[int]]:
    """B sequences of int token ids, each id >= 0 (and < ``vocab_size`` when given)."""
    check_sequence(name, value, what="id sequences")
    for n, ids in enumerate(value):
        if isinstance(ids, (str, bytes, torch.Tensor, numbers.Number)) or not isinstance(ids, Sequence):
            raise TypeError(f"{name}[{n}] must be a list of int ids, got {describe(ids)}")
    # Fast path for the usual case, plain ints in range: a few passes in C instead of a Python loop.
    flat = list(itertools.chain.from_iterable(value))
    if set(map(type, flat)) <= {int}:
        if not flat or (min(flat) >= 0 and (vocab_size is None or max(flat) < vocab_size)):
            return value
    for n, ids in enumerate(value):
        for i, token_id in enumerate(ids):
            if isinstance(token_id, bool) or not isinstance(token_id, numbers.Integral):
                raise TypeError(f"{name}[{n}][{i}] must be an int id, got {describe(token_id)}")
            if token_id < 0 or (vocab_size is not None and token_id >= vocab_size):
                upper = f"< {vocab_size}" if vocab_size is not None else "with no upper bound"
                raise ValueError(f"{name}[{n}][{i}] must be an id >= 0 and {upper}, got {token_id}")
    return value


def check_tensor(
    name: str,
    value: object,
    dim: int | tuple[int, ...] | None = None,
    dtype: torch.dtype | tuple[torch.dtype, ...] | None = None,
    floating: bool = False,
    shape: tuple[int | None, ...] | None = None,
    shape_text: str | None = None,
) -> torch.Tensor:
    """A tensor of the given number of dimensions, dtype (or any floating dtype) and shape.

    Args:
        name: the argument's name, for the message.
        value: what was passed.
        dim: the number of dimensions, or the allowed numbers.
        dtype: the dtype, or the allowed dtypes.
        floating: any floating-point dtype.
        shape: the expected shape; None entries match any size.
        shape_text: how the message writes the expected shape, e.g. ``"(B, T)"``.
    """
    expected = f"a tensor of shape {shape_text}" if shape_text else "a tensor"
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    dims = (dim,) if isinstance(dim, int) else dim
    if dims is not None and value.dim() not in dims:
        want = shape_text or " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must have shape {want}, got shape {tuple(value.shape)}")
    if shape is not None and (
        value.dim() != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape))
    ):
        want = shape_text or str(tuple("*" if s is None else s for s in shape))
        wanted = tuple("any" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want} = {wanted}, got {tuple(value.shape)}")
    dtypes = (dtype,) if isinstance(dtype, torch.dtype) else dtype
    if dtypes is not None and value.dtype not in dtypes:
        want = " or ".join(str(d) for d in dtypes)
        raise ValueError(f"{name} must have dtype {want}, got {value.dtype}")
    if floating and not value.is_floating_point():
        raise ValueError(f"{name} must have a floating-point dtype, got {value.dtype}")
    return value


def check_numbers(name: str, value: object, dim: int | None = None, non_empty: bool = True) -> np.ndarray:
    """Real numbers (a list, tuple, NumPy array or CPU tensor) as a float64 array, all finite.

    For the figure helpers and other places that take plain numbers rather than a model's tensors.

    Args:
        name: the argument's name, for the message.
        value: what was passed.
        dim: the number of dimensions the array must have, or None for any.
        non_empty: refuse an array with no entries.
    """
    if value is None or isinstance(value, (str, bytes, dict, set, bool, numbers.Number)):
        raise TypeError(f"{name} must be a sequence or array of numbers, got {describe(value)}")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=float)
    except TypeError as error:
        raise TypeError(f"{name} must hold only numbers, got {describe(value)} ({error})") from error
    except ValueError as error:
        if "could not convert" in str(error):
            raise TypeError(f"{name} must hold only numbers, got {describe(value)} ({error})") from error
        raise ValueError(f"{name} must be a rectangular array of numbers (rows of one length), got {describe(value)}") from error
    if np.isnan(array).any() and not isinstance(value, np.ndarray):
        if any(item is None for item in np.asarray(value, dtype=object).flat):  # None reads as NaN
            raise TypeError(f"{name} must hold only numbers, got None among them")
    if dim is not None and array.ndim != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {array.shape}")
    if non_empty and array.size == 0:
        raise ValueError(f"{name} must hold at least one number, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must hold finite numbers, got {int((~np.isfinite(array)).sum())} NaN or infinite entries")
    return array


def check_finite(name: str, value: torch.Tensor) -> torch.Tensor:
    """Refuse NaN or infinite entries (checked on CPU tensors only: no GPU sync)."""
    if value.device.type == "cpu" and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"{name} must hold finite numbers, got {bad} NaN or infinite entries")
    return value


def check_token_ids(
    name: str, value: object, vocab_size: int | None = None, dim: int = 2, shape_text: str = "(B, T)"
) -> torch.Tensor:
    """An int64 tensor of token ids; on the CPU also checked to lie in [0, vocab_size)."""
    check_tensor(name, value, dim=dim, shape_text=shape_text)
    if value.dtype != torch.long:
        raise ValueError(f"{name} must have dtype torch.int64 (token ids), got {value.dtype}")
    if value.device.type == "cpu" and value.numel():
        low, high = int(value.min()), int(value.max())
        if low < 0 or (vocab_size is not None and high >= vocab_size):
            bad = low if low < 0 else high
            upper = f"{vocab_size - 1}" if vocab_size is not None else "any"
            raise ValueError(f"{name} must hold ids in [0, {upper}], got {bad}")
    return value


def check_labels(name: str, value: object, num_classes: int | None = None, size: int | None = None) -> torch.Tensor:
    """A 1-D int64 tensor of class labels; on the CPU also checked to lie in [0, num_classes)."""
    shape = (size,) if size is not None else None
    check_tensor(name, value, dim=1, shape=shape, shape_text="(B,)")
    if value.dtype != torch.long:
        raise ValueError(f"{name} must have dtype torch.int64 (class labels), got {value.dtype}")
    if num_classes is not None and value.device.type == "cpu" and value.numel():
        low, high = int(value.min()), int(value.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{name} must hold labels in [0, {num_classes - 1}], got {low if low < 0 else high}"
            )
    return value


def check_padding_mask(name: str, value: object, shape: tuple[int, ...], shape_text: str = "(B, T)") -> torch.Tensor:
    """A bool mask of the given shape, True at padding."""
    check_tensor(name, value, shape=shape, shape_text=shape_text)
    if value.dtype != torch.bool:
        raise ValueError(f"{name} must have dtype torch.bool (True at padding), got {value.dtype}")
    return value


def check_file(name: str, value: object) -> Path:
    """A path (str or Path) to an existing file."""
    if not isinstance(value, (str, Path)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path), got {describe(value)}")
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no file at {path}")
    return path


@contextlib.contextmanager
def reading(path: str | Path, expected: str) -> Iterator[None]:
    """Turn any error raised while reading ``path`` into a ValueError naming the file.

    ``with reading(path, "a UTF-8 TSV file with columns word1, word2, score"): ...`` keeps the
    original exception as the cause, so nothing is lost for a debugger.
    """
    try:
        yield
    except FileNotFoundError:
        raise
    except Exception as error:  # a third-party parser's error, whatever its type
        if isinstance(error, ValueError) and str(path) in str(error):
            raise  # already names the file
        raise ValueError(f"{path}: expected {expected}; {type(error).__name__}: {error}") from error


# added by part B --------------------------------------------------------------------------------


def check_same_device(name: str, value: torch.Tensor, other_name: str, other: torch.Tensor) -> torch.Tensor:
    """``value`` on the device of ``other`` (a ValueError naming both otherwise)."""
    if value.device != other.device:
        raise ValueError(f"{name} must be on the device of {other_name} ({other.device}), got {value.device}")
    return value


def check_offsets(name: str, value: object, num_ids: int) -> torch.Tensor:
    """(B,) int64 bag offsets, as made by ``text.to_bag``: on the CPU also checked to start at 0,
    never decrease and stay <= ``num_ids`` (N, the length of the flat ids)."""
    check_tensor(name, value, dim=1, shape_text="(B,)")
    if value.dtype != torch.long:
        raise ValueError(f"{name} must have dtype torch.int64 (bag offsets), got {value.dtype}")
    if value.numel() == 0:
        raise ValueError(f"{name} must hold at least one bag's offset, got an empty tensor")
    if value.device.type == "cpu":
        if int(value[0]) != 0:
            raise ValueError(f"{name} must start at 0 (the first bag starts at the first id), got {int(value[0])}")
        steps = value[1:] - value[:-1]
        if steps.numel() and int(steps.min()) < 0:
            at = int((steps < 0).nonzero()[0]) + 1
            raise ValueError(f"{name} must never decrease, got {int(value[at])} after {int(value[at - 1])} at {at}")
        if int(value[-1]) > num_ids:
            raise ValueError(f"{name} must be <= the number of flat ids ({num_ids}), got {int(value[-1])}")
    return value


def check_rows_not_empty(name: str, padding_mask: torch.Tensor) -> torch.Tensor:
    """Refuse a row that is padding everywhere (checked on CPU tensors only: no GPU sync)."""
    if padding_mask.device.type == "cpu" and padding_mask.numel():
        empty = padding_mask.all(dim=-1)  # (B,)
        if bool(empty.any()):
            rows = empty.nonzero().flatten().tolist()
            raise ValueError(
                f"{name} must leave at least one real (False) position in every row, got rows {rows[:5]} all padding"
            )
    return padding_mask


def check_broadcast_mask(name: str, value: object, shape: tuple[int, ...], meaning: str) -> torch.Tensor:
    """A bool mask that broadcasts to ``shape`` (e.g. the (..., Tq, Tk) scores of attention)."""
    check_tensor(name, value)
    if value.dtype != torch.bool:
        raise ValueError(f"{name} must have dtype torch.bool ({meaning}), got {value.dtype}")
    try:
        broadcast = torch.broadcast_shapes(value.shape, shape)
    except RuntimeError:
        broadcast = None
    if broadcast != torch.Size(shape):
        raise ValueError(f"{name} must broadcast to the shape {tuple(shape)}, got {tuple(value.shape)}")
    return value
