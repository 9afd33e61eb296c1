"""Self-checks for the exercises: they say whether a reader's answer is right, never what it is.

An exercise whose answer is computable ends with one call, e.g.
``selfcheck.touched_rows(rows, token_ids)``. The check computes the right answer itself from the
context arguments (with the package's own code), compares, prints one line and returns a
:class:`Verdict`, truthy when the answer is right::

    correct: the rows that receive a gradient
    not yet: the rows that receive a gradient: 2 expected rows are missing

A wrong answer never raises: ``...`` (the student edition's stub), a wrong type, a wrong shape or
a wrong value all give a ``not yet`` line with what is off (shape, dtype, how far, a hint), so a
workshop notebook keeps running. Bad *context* arguments (the tensors the chapter passes in) get
the package's usual errors (:mod:`embedlab.checks`).

Tolerances are chosen for CPU and CUDA alike: a check compares values, never bit patterns.

The module has a small core (:class:`Verdict`, :func:`verdict`, :func:`compare_tensor`,
:func:`compare_number`, :func:`compare_set`) and one section per chapter with that chapter's
checks. It comes last in :data:`embedlab.MODULES`, so a check may use any module.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from embedlab import checks

NO_ANSWER = "no answer yet: replace the ... with your code"


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: whether the answer is right, what was checked, what is off."""

    ok: bool
    what: str
    problem: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"correct: {self.what}" if self.ok else f"not yet: {self.what}: {self.problem}"

    def _ipython_display_(self) -> None:
        """Show nothing at the end of a cell: the check has already printed its line."""


def verdict(ok: bool, what: str, problem: str = "") -> Verdict:
    """Print and return the verdict on an answer.

    Args:
        ok: whether the answer is right.
        what: what was checked, e.g. ``"the gradient of E"``.
        problem: when not ok, what is off (never the answer itself).
    """
    checks.check_bool("ok", ok)
    checks.check_str("what", what, non_empty=True)
    checks.check_str("problem", problem)
    if not ok and not problem.strip():
        raise ValueError("problem must say what is off when ok is False, got an empty str")
    result = Verdict(ok, what, "" if ok else problem)
    print(result)
    return result


def _check_tolerances(atol: object, rtol: object) -> tuple[float, float]:
    return checks.check_float("atol", atol, at_least=0), checks.check_float("rtol", rtol, at_least=0)


def _as_tensor(answer: object) -> torch.Tensor | None:
    """The answer as a CPU tensor, or None when it is not array-like."""
    if isinstance(answer, torch.Tensor):
        return answer.detach().cpu()
    if isinstance(answer, np.ndarray) and answer.dtype.kind in "biuf":
        return torch.from_numpy(answer)
    return None


def compare_tensor(
    answer: object,
    expected: torch.Tensor,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
) -> Verdict:
    """Check that ``answer`` is a tensor equal to ``expected`` within the tolerances.

    A NumPy array counts as a tensor. Floating answers are compared as float64 with
    ``|a - e| <= atol + rtol * |e|``; integer and bool answers must match exactly. The problem line
    gives the shape, the dtype kind or the largest difference and where it is, never the values.

    Args:
        answer: the reader's answer (anything).
        expected: the right answer, computed by the check.
        what: what is checked, for the printed line.
        atol: absolute tolerance, >= 0.
        rtol: relative tolerance, >= 0.
        hint: a sentence appended to the problem when the values are off.
    """
    checks.check_tensor("expected", expected)
    checks.check_str("what", what, non_empty=True)
    atol, rtol = _check_tolerances(atol, rtol)
    checks.check_str("hint", hint)
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    got = _as_tensor(answer)
    if got is None:
        return verdict(False, what, f"expected a tensor, got {checks.describe(answer)}")
    want = expected.detach().cpu()
    if tuple(got.shape) != tuple(want.shape):
        return verdict(False, what, f"shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    if want.is_floating_point():
        if got.dtype == torch.bool:
            return verdict(False, what, "a bool tensor, expected a floating one")
        got, want = got.double(), want.double()
        if not torch.isfinite(got).all():
            return verdict(False, what, f"{int((~torch.isfinite(got)).sum())} entries are NaN or infinite")
        excess = (got - want).abs() - (atol + rtol * want.abs())
        if (excess > 0).any():
            worst = int(excess.flatten().argmax())
            index = tuple(int(i) for i in np.unravel_index(worst, tuple(want.shape))) if want.dim() else ()
            diff = float((got - want).abs().flatten()[worst])
            problem = (
                f"{int((excess > 0).sum())} of {want.numel()} entries differ by more than the tolerance; "
                f"the largest difference is {diff:.3g}" + (f", at index {index}" if index else "")
            )
            return verdict(False, what, problem + (f". {hint}" if hint else ""))
        return verdict(True, what)
    if got.is_floating_point():
        return verdict(False, what, f"a floating tensor ({got.dtype}), expected whole numbers ({want.dtype})")
    wrong = int((got.long() != want.long()).sum())
    if wrong:
        return verdict(False, what, f"{wrong} of {want.numel()} entries differ" + (f". {hint}" if hint else ""))
    return verdict(True, what)


def compare_number(
    answer: object,
    expected: float,
    what: str,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-4,
    hint: str = "",
) -> Verdict:
    """Check that ``answer`` is a number equal to ``expected`` within the tolerances.

    A Python number, a NumPy scalar or a one-element tensor counts; bool does not. When the
    answer is off, the line says whether it is too large or too small, not by how much.

    Args:
        answer: the reader's answer (anything).
        expected: the right answer, computed by the check.
        what: what is checked, for the printed line.
        atol: absolute tolerance, >= 0.
        rtol: relative tolerance, >= 0.
        hint: a sentence appended to the problem when the value is off.
    """
    expected = checks.check_float("expected", expected)
    checks.check_str("what", what, non_empty=True)
    atol, rtol = _check_tolerances(atol, rtol)
    checks.check_str("hint", hint)
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    if isinstance(answer, torch.Tensor) and answer.numel() == 1 or isinstance(answer, np.ndarray | np.generic) and answer.size == 1:
        answer = answer.item()
    if isinstance(answer, bool | np.bool_) or not isinstance(answer, numbers.Real):
        return verdict(False, what, f"expected a number, got {checks.describe(answer)}")
    got = float(answer)
    if not math.isfinite(got):
        return verdict(False, what, f"got {got}, expected a finite number")
    if abs(got - expected) > atol + rtol * abs(expected):
        side = "too large" if got > expected else "too small"
        return verdict(False, what, f"{side}" + (f". {hint}" if hint else ""))
    return verdict(True, what)


def compare_set(answer: object, expected: Iterable[object], what: str, *, hint: str = "") -> Verdict:
    """Check that ``answer`` holds exactly the items of ``expected``, in any order.

    Any iterable counts (a list, a set, a 1-D tensor of ids); repeated items are counted once.
    The problem line counts the missing items and names the extra ones (they are the reader's own).

    Args:
        answer: the reader's answer (anything).
        expected: the right items, computed by the check.
        what: what is checked, for the printed line.
        hint: a sentence appended to the problem when the items are off.
    """
    if isinstance(expected, str | bytes) or not isinstance(expected, Iterable):
        raise TypeError(f"expected must be an iterable of items, got {checks.describe(expected)}")
    checks.check_str("what", what, non_empty=True)
    checks.check_str("hint", hint)
    want = set(_items(expected))
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    if isinstance(answer, str | bytes) or not isinstance(answer, Iterable | torch.Tensor):
        return verdict(False, what, f"expected a collection of items, got {checks.describe(answer)}")
    try:
        got = set(_items(answer))
    except TypeError:
        return verdict(False, what, "its items cannot be put in a set (are they lists?)")
    missing, extra = want - got, got - want
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} expected item{'s' if len(missing) > 1 else ''} missing")
        if extra:
            shown = ", ".join(repr(x) for x in sorted(extra, key=repr)[:5])
            parts.append(f"{len(extra)} item{'s' if len(extra) > 1 else ''} that should not be there ({shown})")
        return verdict(False, what, "; ".join(parts) + (f". {hint}" if hint else ""))
    return verdict(True, what)


def _items(values: Iterable[object]) -> list[object]:
    """Plain Python items: tensors and NumPy arrays become lists of numbers."""
    if isinstance(values, torch.Tensor | np.ndarray):
        return values.tolist() if values.ndim else [values.item()]
    return [v.item() if isinstance(v, torch.Tensor | np.generic) and np.ndim(v) == 0 else v for v in values]


# The chapters' checks follow, one section per chapter, in chapter order.

# --- chapter 00 ---

# --- chapter 01 ---

# --- chapter 02 ---

# --- chapter 03 ---

# --- chapter 04 ---

# --- chapter 05 ---

# --- chapter 06 ---

# --- chapter 07 ---

# --- chapter 08 ---


def lora_parameter_count(answer: object, model: torch.nn.Module) -> Verdict:
    """Chapter 08: the number of LoRA numbers (every ``lora_A`` and ``lora_B`` entry) in ``model``.

    Args:
        answer: the reader's count.
        model: a model with LoRA layers (``embedlab.finetune.LoRALinear`` or peft's).
    """
    checks.check_type("model", model, torch.nn.Module, "an nn.Module")
    expected = sum(p.numel() for n, p in model.named_parameters() if "lora_A" in n or "lora_B" in n)
    if expected == 0:
        raise ValueError("model must hold LoRA layers (parameters named lora_A / lora_B), found none")
    return compare_number(answer, float(expected), "the number of LoRA parameters", atol=0.5, rtol=0.0,
                          hint="each wrapped projection holds r x D_in numbers in A and D_out x r in B")


def merged_lora_weight(answer: object, layer: torch.nn.Module) -> Verdict:
    """Chapter 08: the weight (D_out, D_in) of the plain layer that computes what a LoRA layer computes.

    Args:
        answer: the reader's merged weight.
        layer: an ``embedlab.finetune.LoRALinear``.
    """
    from embedlab.finetune import LoRALinear

    checks.check_type("layer", layer, LoRALinear, "a finetune.LoRALinear")
    with torch.no_grad():
        expected = layer.merged_weight()
    return compare_tensor(answer, expected, "the merged weight W + (alpha / r) B A", atol=1e-6, rtol=1e-5,
                          hint="the update is scaled by alpha / r, and B A has the shape of W")


def rows_that_move(answer: object, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> Verdict:
    """Chapter 08: the embedding rows that one Adam step (no weight decay) on this batch can change.

    Only the rows of tokens at real positions receive a gradient; padding is masked out and BERT's
    padding row has ``padding_idx``, so it is not among them.

    Args:
        answer: the reader's row ids (any collection of ints).
        token_ids: (B, T) int64 ids of the batch.
        padding_mask: (B, T) bool, True at padding.
    """
    checks.check_token_ids("token_ids", token_ids)
    checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
    expected = set(token_ids[~padding_mask].unique().tolist())
    return compare_set(answer, expected, "the embedding rows that can move",
                       hint="a row moves only if its token occurs at a real (non-padding) position")


# --- chapter 09 ---
