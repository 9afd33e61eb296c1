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


def used_row_std(answer: object, matrix: torch.Tensor) -> Verdict:
    """Check the standard deviation of the entries of ``matrix``'s rows after ``<pad>`` and ``<unk>``.

    Args:
        answer: the reader's number.
        matrix: (V, D) an aligned matrix from ``pretrained.build_embedding_matrix``.
    """
    from embedlab import pretrained

    expected = pretrained.used_row_std(matrix)
    hint = "use every entry of rows 2, 3, ... (not <pad> and <unk>), as one set of numbers"
    return compare_number(answer, expected, "the std of the rows the vocabulary looks up", atol=1e-4, rtol=1e-3, hint=hint)


def rescaled_start(answer: object, matrix: torch.Tensor, target_std: float = 0.1) -> Verdict:
    """Check a copy of ``matrix`` scaled so that its looked-up rows have std ``target_std``.

    Args:
        answer: the reader's (V, D) tensor.
        matrix: (V, D) the aligned pretrained matrix.
        target_std: the std the rows should end with.
    """
    from embedlab import pretrained

    expected = pretrained.make_start("rescaled LAC", matrix, init_std=target_std).weight
    hint = "one factor for the whole matrix: target_std divided by the std of rows 2, 3, ..."
    return compare_tensor(answer, expected, "the rescaled start", atol=1e-6, rtol=1e-4, hint=hint)


def bmes_tags(answer: object, words: list[str] | tuple[str, ...]) -> Verdict:
    """Check the B/M/E/S tags of a segmented sentence (one tag per character).

    Args:
        answer: the reader's list of tags.
        words: the sentence's words.
    """
    from embedlab import tagging

    expected = tagging.bmes_tags(words)
    what = "the B/M/E/S tags"
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    if isinstance(answer, str) and len(answer) == len(expected):
        answer = list(answer)  # "BESBE" reads as a list of tags
    if isinstance(answer, str | bytes) or not isinstance(answer, list | tuple):
        return verdict(False, what, f"expected a list of tags, got {checks.describe(answer)}")
    if len(answer) != len(expected):
        return verdict(False, what, f"{len(answer)} tags for {len(expected)} characters: one tag per character")
    wrong = [i for i, (a, e) in enumerate(zip(answer, expected)) if a != e]
    if wrong:
        word_at = [n for n, w in enumerate(words) for _ in w]
        return verdict(False, what, f"{len(wrong)} tags differ, the first in word {word_at[wrong[0]] + 1}")
    return verdict(True, what)


def adam_relative_move(answer: object, lr: float, steps: int, row_std: float) -> Verdict:
    """Check the largest distance an entry can move in ``steps`` Adam steps, relative to ``row_std``.

    Args:
        answer: the reader's number (a ratio).
        lr: the learning rate.
        steps: the number of optimiser steps.
        row_std: the standard deviation of the starting entries.
    """
    lr = checks.check_float("lr", lr, above=0)
    steps = checks.check_int("steps", steps, at_least=1)
    row_std = checks.check_float("row_std", row_std, above=0)
    hint = "each Adam step moves an entry by about lr at most, whatever the gradient's size"
    return compare_number(answer, lr * steps / row_std, "the largest relative move", atol=1e-6, rtol=1e-3, hint=hint)

# --- chapter 05 ---


def sum_from_mean(answer: object, x: torch.Tensor, padding_mask: torch.Tensor) -> Verdict:
    """Check the masked sum pooling of ``x``, built from the masked mean and the lengths.

    Args:
        answer: the reader's (B, D) tensor.
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.
    """
    from embedlab import pooling

    expected = pooling.sum_pool(x, padding_mask)
    hint = "multiply each row's mean by its number of real tokens, not by T"
    return compare_tensor(answer, expected, "the sum pooling", atol=1e-5, rtol=1e-4, hint=hint)


def nb_log_count_ratio(answer: object, texts: list[str], labels: object, alpha: float = 1.0) -> Verdict:
    """Check NB-SVM's log-count ratio r of each character of ``texts`` (Wang and Manning, 2012).

    The features are scikit-learn's ``CountVectorizer(analyzer="char", binary=True)`` of the texts,
    in its order (the characters sorted).

    Args:
        answer: the reader's (F,) vector.
        texts: the documents.
        labels: (N,) 0/1 labels, one per text.
        alpha: the pseudo-count added to every feature.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    checks.check_str_list("texts", texts, non_empty=True)
    alpha = checks.check_float("alpha", alpha, above=0)
    y = checks.check_numbers("labels", labels, dim=1)
    if len(y) != len(texts) or not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be {len(texts)} labels 0 or 1, one per text, got shape {y.shape}")
    x = CountVectorizer(analyzer="char", binary=True).fit_transform(list(texts)).toarray()  # (N, F)
    p = alpha + x[y == 1].sum(axis=0)
    q = alpha + x[y == 0].sum(axis=0)
    expected = torch.from_numpy(np.log((p / p.sum()) / (q / q.sum())))
    hint = "normalise p and q by their own sums (L1 norms) before the ratio, then take the log"
    return compare_tensor(answer, expected, "the log-count ratios", atol=1e-6, rtol=1e-5, hint=hint)


def ngram_feature_count(answer: object, words: list[str], chars: list[str]) -> Verdict:
    """Check how many features chapter 05's n-gram tokens give a text of these words and characters.

    Args:
        answer: the reader's number.
        words: the text's words.
        chars: the text's characters.
    """
    from embedlab import text

    checks.check_str_list("words", words, non_empty=True)
    checks.check_str_list("chars", chars, non_empty=True)
    expected = len(text.with_ngrams(list(words), 2, sep=" ")) + len(text.with_ngrams(list(chars), 2, sep=""))
    hint = "n tokens have n - 1 bigrams; count words and characters separately"
    return compare_number(answer, float(expected), "the number of n-gram features", atol=0, rtol=0, hint=hint)

# --- chapter 06 ---

# --- chapter 07 ---

# --- chapter 08 ---

# --- chapter 09 ---
