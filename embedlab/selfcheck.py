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

from embedlab import attention, checks

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

from collections import Counter  # noqa: E402 (this chapter's checks only)
from collections.abc import Sequence  # noqa: E402


def _tagged_sentences(name: str, sentences: object) -> Sequence:
    """People's Daily as corpora.people_daily() returns it: sentences of (word, tag) pairs."""
    checks.check_sequence(name, sentences, what="sentences of (word, tag) pairs")
    for n, sentence in enumerate(sentences):
        checks.check_sequence(f"{name}[{n}]", sentence, non_empty=False, what="(word, tag) pairs")
        for i, pair in enumerate(sentence):
            if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise TypeError(f"{name}[{n}][{i}] must be a (word, tag) pair of str, got {checks.describe(pair)}")
    return sentences


def richest_tag(answer: object, sentences: object) -> Verdict:
    """Check the tag with the most distinct words in a tagged corpus (chapter 00).

    Args:
        answer: the reader's tag, a str such as ``"v"``.
        sentences: the corpus as ``corpora.people_daily()`` returns it.
    """
    _tagged_sentences("sentences", sentences)
    per_tag = Counter(tag for _, tag in {(w, t) for s in sentences for w, t in s})
    if not per_tag:
        raise ValueError("sentences must hold at least one (word, tag) pair, got none")
    best = max(per_tag.values())
    what = "the tag with the most distinct words"
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    if not isinstance(answer, str):
        return verdict(False, what, f"expected a tag (a str), got {checks.describe(answer)}")
    if answer not in per_tag:
        return verdict(False, what, f"{answer!r} is not one of the corpus's {len(per_tag)} tags")
    if per_tag[answer] != best:
        return verdict(False, what, "another tag has more distinct words: count (word, tag) pairs once each")
    return verdict(True, what)


def zipf_exponent(answer: object, counts: object, first: object, last: object) -> Verdict:
    """Check a Zipf exponent fitted by least squares of log count on log rank (chapter 00).

    Args:
        answer: the reader's exponent alpha (a number; count(r) ~ r ** -alpha).
        counts: word counts sorted from the most frequent, rank 1 first.
        first: the first rank of the fit (1-based, inclusive).
        last: the last rank of the fit (inclusive).
    """
    values = checks.check_numbers("counts", counts, dim=1)
    if (values <= 0).any():
        raise ValueError("counts must all be positive (their logarithm is fitted), got a count <= 0")
    first = checks.check_int("first", first, at_least=1)
    last = checks.check_int("last", last, at_least=first + 1, at_most=len(values))
    ranks = np.arange(first, last + 1, dtype=np.float64)
    slope, _ = np.polyfit(np.log(ranks), np.log(values[first - 1 : last]), deg=1)
    what = f"the Zipf exponent over ranks {first} to {last}"
    if isinstance(answer, int | float) and not isinstance(answer, bool) and math.isclose(answer, slope, abs_tol=1e-3):
        return verdict(False, what, "that is the slope itself; the exponent alpha is minus the slope")
    return compare_number(answer, float(-slope), what, atol=1e-3, rtol=0.0,
                          hint="Fit log(count) on log(rank) over exactly those ranks (rank 1 is the most frequent word)")


def share_longer_than(answer: object, texts: object, length: object) -> Verdict:
    """Check the share of texts longer than ``length`` characters (chapter 00).

    Args:
        answer: the reader's share, a number between 0 and 1.
        texts: the texts, a list of str.
        length: the length in characters that a text must exceed.
    """
    checks.check_str_list("texts", texts, non_empty=True)
    length = checks.check_int("length", length, at_least=0)
    expected = sum(len(t) > length for t in texts) / len(texts)
    return compare_number(answer, expected, f"the share of texts longer than {length} characters",
                          atol=1e-9, rtol=0.0,
                          hint=f"Give a share between 0 and 1, of the texts with more than {length} characters")

# --- chapter 01 ---

from embedlab import text  # noqa: E402 (the chapters' checks use the package's own code)


def vocab_size_at_min_freq(answer: object, token_lists: object, min_freq: object) -> Verdict:
    """Check the size of ``text.Vocab.build(token_lists, min_freq=min_freq)`` (chapter 01).

    Args:
        answer: the reader's number of entries, an int.
        token_lists: the tokenized corpus, a list of lists of str.
        min_freq: the threshold, an int >= 1.
    """
    min_freq = checks.check_int("min_freq", min_freq, at_least=1)
    expected = len(text.Vocab.build(token_lists, min_freq=min_freq))
    what = f"the number of entries of a vocabulary with min_freq={min_freq}"
    if answer == expected - 2 and not isinstance(answer, bool):
        return verdict(False, what, "count the two specials <pad> and <unk> as entries too")
    return compare_number(answer, float(expected), what, atol=0.0, rtol=0.0)


def unknown_characters(answer: object, characters: object, known: object) -> Verdict:
    """Check which of ``characters`` a tokenizer's vocabulary lacks (chapter 01).

    Args:
        answer: the reader's characters, a list or set of str.
        characters: the characters to look up, a list of str.
        known: the tokenizer's vocabulary: a dict (``tokenizer.vocab``), set, list or tuple of str.
    """
    checks.check_str_list("characters", characters, non_empty=True)
    if isinstance(known, str) or not isinstance(known, dict | set | frozenset | list | tuple):
        raise TypeError(f"known must be a dict, set, list or tuple of str, got {checks.describe(known)}")
    bad = next((k for k in known if not isinstance(k, str)), None)
    if bad is not None:
        raise TypeError(f"known must hold str entries, got {checks.describe(bad)}")
    vocabulary = set(known)
    expected = {ch for ch in characters if ch not in vocabulary}
    return compare_set(answer, expected, "the characters that the vocabulary lacks",
                       hint="A character is unknown when it is not a key of the vocabulary")


def bucketed_padding_share(answer: object, id_lists: object, batch_size: object) -> Verdict:
    """Check the padding share after sorting ``id_lists`` by length into batches (chapter 01).

    Args:
        answer: the reader's share of padded cells, a number between 0 and 1.
        id_lists: the sequences of ids, a list of lists of int.
        batch_size: the size of each batch after sorting, an int >= 1.
    """
    checks.check_id_lists("id_lists", id_lists)
    batch_size = checks.check_int("batch_size", batch_size, at_least=1)
    if any(len(ids) == 0 for ids in id_lists):
        raise ValueError("id_lists must not hold empty sequences, got an empty one")
    ordered = sorted(id_lists, key=len)
    masks = [text.pad_batch(ordered[i : i + batch_size])[1] for i in range(0, len(ordered), batch_size)]
    expected = sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)
    return compare_number(answer, expected, f"the padding share of sorted batches of {batch_size}",
                          atol=1e-6, rtol=0.0,
                          hint="Sort by length first, then pad each batch to its own longest sequence")


def masked_max(answer: object, vectors: object, padding_mask: object) -> Verdict:
    """Check a max over the real tokens of a padded batch (chapter 01).

    Args:
        answer: the reader's pooled vectors, a (B, D) tensor.
        vectors: the token vectors, a (B, T, D) floating tensor.
        padding_mask: (B, T) bool, True at padding; every row has a real token.
    """
    checks.check_tensor("vectors", vectors, dim=3, floating=True, shape_text="(B, T, D)")
    checks.check_padding_mask("padding_mask", padding_mask, tuple(vectors.shape[:2]))
    checks.check_rows_not_empty("padding_mask", padding_mask)
    pad = padding_mask.to(vectors.device).unsqueeze(-1)
    expected = vectors.detach().masked_fill(pad, float("-inf")).amax(dim=1)
    what = "the max over real tokens"
    zero_filled = vectors.detach().masked_fill(pad, 0.0).amax(dim=1)
    got = _as_tensor(answer)
    if got is not None and got.shape == expected.shape and not torch.equal(zero_filled, expected):
        if torch.allclose(got.double(), zero_filled.cpu().double()):
            return verdict(False, what, "padding won the max where every real value is negative: fill it with -inf")
    return compare_tensor(answer, expected, what, atol=1e-6, rtol=1e-5)

# --- chapter 02 ---


def softmax_centre_grad(answer: object, out_vectors: torch.Tensor, v_c: torch.Tensor, o: int) -> Verdict:
    """Check the full-softmax gradient dL/dv_c of L = -log p(o | c) (chapter 02's first exercise).

    Args:
        answer: the reader's (D,) gradient.
        out_vectors: (V, D) floating output vectors u_w.
        v_c: (D,) floating centre vector.
        o: the observed outside word, in [0, V).
    """
    checks.check_tensor("out_vectors", out_vectors, dim=2, floating=True, shape_text="(V, D)")
    checks.check_tensor("v_c", v_c, dim=1, floating=True, shape=(out_vectors.shape[1],), shape_text="(D,)")
    o = checks.check_int("o", o, at_least=0, at_most=out_vectors.shape[0] - 1)
    centre = v_c.detach().double().requires_grad_(True)
    loss = -torch.log_softmax(out_vectors.detach().double() @ centre, dim=0)[o]
    (expected,) = torch.autograd.grad(loss, centre)
    return compare_tensor(
        answer, expected, "the full-softmax gradient with respect to v_c", atol=1e-6, rtol=1e-4,
        hint="It is the softmax-weighted mean of the output vectors minus u_o.",
    )


def ppmi_dense(answer: object, counts: torch.Tensor, cds: float = 1.0) -> Verdict:
    """Check a PPMI matrix of a small dense co-occurrence table (chapter 02).

    Args:
        answer: the reader's (V, V) PPMI matrix.
        counts: (V, V) non-negative floating counts, at least one positive.
        cds: the context smoothing exponent, in (0, 1].
    """
    from embedlab import wordvec

    checks.check_tensor("counts", counts, dim=2, floating=True, shape_text="(V, V)")
    checks.check_finite("counts", counts)
    if bool((counts < 0).any()) or not bool((counts > 0).any()):
        raise ValueError("counts must be non-negative with at least one positive count")
    expected = wordvec.ppmi(counts.detach().double().to_sparse(), cds).to_dense()
    return compare_tensor(
        answer, expected, "the PPMI matrix", atol=1e-6, rtol=1e-4,
        hint="PMI is log P(w, c) / (P(w) P(c)); negative values and empty cells become 0.",
    )


def analogy_answer(
    answer: object, vectors: torch.Tensor, vocab: object, a: str, b: str, c: str, method: str = "3cosmul"
) -> Verdict:
    """Check the best answer to ``a : b :: c : ?`` (a, b, c left out) by 3CosAdd or 3CosMul (chapter 02).

    Args:
        answer: the reader's word (a str).
        vectors: (V, D) word vectors in ``vocab``'s order.
        vocab: their :class:`embedlab.text.Vocab`.
        a, b, c: words of the vocabulary.
        method: ``"3cosadd"`` or ``"3cosmul"``.
    """
    from embedlab import wordvec

    ((expected, _),) = wordvec.analogy(vectors, vocab, a, b, c, k=1, method=method)
    what = f"the {method} answer to {a} : {b} :: {c} : ?"
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    if not isinstance(answer, str):
        return verdict(False, what, f"expected a word (str), got {checks.describe(answer)}")
    if answer in (a, b, c):
        return verdict(False, what, "that is one of the question words: leave a, b and c out")
    return verdict(answer == expected, what, "another word scores higher; check the formula and the +1 / 2")


# --- chapter 03 ---

import torch.nn.functional as F  # noqa: E402 (this chapter's checks only)

from embedlab import grads  # noqa: E402


def _close(answer: object, other: torch.Tensor) -> bool:
    """Whether ``answer`` is a tensor of ``other``'s shape and values (for naming a known mistake)."""
    got = _as_tensor(answer)
    return got is not None and got.shape == other.shape and torch.allclose(got.double(), other.detach().cpu().double())


def _masked_mean_loss(token_ids, padding_mask, leaf, weight, bias, labels, **embedding_options) -> torch.Tensor:
    real = (~padding_mask).to(leaf.dtype).unsqueeze(-1)  # (B, T, 1)
    rows = F.embedding(token_ids, leaf, **embedding_options)  # (B, T) -> (B, T, D)
    pooled = (rows * real).sum(1) / real.sum(1)  # (B, D)
    return F.cross_entropy(pooled @ weight.T + bias, labels)


def max_pool_grad(
    answer: object,
    token_ids: object,
    padding_mask: object,
    embedding: object,
    weight: object,
    bias: object,
    labels: object,
) -> Verdict:
    """Check dL/dE of the chapter's classifier with max pooling over real tokens (chapter 03).

    Args:
        answer: the reader's gradient, a (V, D) tensor.
        token_ids, padding_mask, embedding, weight, bias, labels: as in
            :func:`embedlab.grads.mean_pool_loss`.
    """
    grads.mean_pool_loss(token_ids, padding_mask, embedding, weight, bias, labels)  # checks the context
    with torch.enable_grad():
        leaf = embedding.detach().clone().requires_grad_(True)
        rows = F.embedding(token_ids, leaf).masked_fill(padding_mask.unsqueeze(-1), float("-inf"))
        pooled = rows.max(dim=1).values  # (B, T, D) -> (B, D)
        F.cross_entropy(pooled @ weight.T + bias, labels).backward()
    what = "dL/dE with max pooling"
    mean_grad = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)
    if _close(answer, mean_grad):
        return verdict(False, what, "that is the mean-pooling gradient: with a max, only the winning entry of "
                       "each (review, dimension) receives the gradient")
    return compare_tensor(answer, leaf.grad, what, atol=1e-8, rtol=1e-6)


def scaled_grad_by_freq(
    answer: object,
    token_ids: object,
    padding_mask: object,
    embedding: object,
    weight: object,
    bias: object,
    labels: object,
) -> Verdict:
    """Check dL/dE of the chapter's classifier under ``scale_grad_by_freq=True`` (chapter 03).

    Args:
        answer: the reader's gradient, a (V, D) tensor.
        token_ids, padding_mask, embedding, weight, bias, labels: as in
            :func:`embedlab.grads.mean_pool_loss`; the lookup uses ``padding_idx=0``.
    """
    plain = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)  # checks too
    with torch.enable_grad():
        leaf = embedding.detach().clone().requires_grad_(True)
        _masked_mean_loss(token_ids, padding_mask, leaf, weight, bias, labels,
                          padding_idx=0, scale_grad_by_freq=True).backward()
    what = "dL/dE with scale_grad_by_freq=True"
    if _close(answer, plain) and not torch.allclose(plain, leaf.grad):
        return verdict(False, what, "that is the unscaled gradient: divide each row by how often its token occurs "
                       "in the mini-batch")
    return compare_tensor(answer, leaf.grad, what, atol=1e-8, rtol=1e-6)


def rows_changed_by_weight_decay(answer: object, weight_before: object) -> Verdict:
    """Check how many rows one SGD step with weight decay changes (chapter 03).

    Args:
        answer: the reader's count of changed rows, an int.
        weight_before: the (V, D) embedding matrix before the step.
    """
    checks.check_tensor("weight_before", weight_before, dim=2, floating=True, shape_text="(V, D)")
    expected = int((weight_before != 0).any(dim=1).sum())
    return compare_number(answer, float(expected), "the rows that one step with weight decay changes",
                          atol=0.0, rtol=0.0,
                          hint="Weight decay adds lambda * E_i to the gradient of every row, in the batch or not")


def soft_label_grad(
    answer: object,
    token_ids: object,
    padding_mask: object,
    embedding: object,
    weight: object,
    bias: object,
    targets: object,
) -> Verdict:
    """Check dL/dE of the one-logit classifier with soft targets in [0, 1] (chapter 03).

    Args:
        answer: the reader's gradient, a (V, D) tensor.
        token_ids, padding_mask, embedding, weight, bias: as in :func:`embedlab.grads.binary_loss`.
        targets: (B,) float targets in [0, 1].
    """
    checks.check_tensor("targets", targets, dim=1, floating=True, shape_text="(B,)")
    if targets.device.type == "cpu" and bool(((targets < 0) | (targets > 1)).any()):
        raise ValueError("targets must be floating-point values in [0, 1], got values outside")
    grads.binary_loss(token_ids, padding_mask, embedding, weight, bias, targets)  # checks the context
    with torch.enable_grad():
        leaf = embedding.detach().clone().requires_grad_(True)
        grads.binary_loss(token_ids, padding_mask, leaf, weight, bias, targets).backward()
    what = "dL/dE with soft targets"
    hard = grads.binary_embedding_grad(token_ids, padding_mask, embedding, weight, bias, targets.round())
    if _close(answer, hard) and not torch.allclose(hard, leaf.grad):
        return verdict(False, what, "that is the gradient for the hard labels: use the smoothed targets")
    return compare_tensor(answer, leaf.grad, what, atol=1e-8, rtol=1e-6)

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


def query_prefers(
    answer: object, x: torch.Tensor, w_q: torch.Tensor, query: int, preferred: int, other: int
) -> Verdict:
    """Check a query matrix that changes one entry of ``w_q`` so that ``query`` weighs ``preferred`` above ``other``.

    The weights are softmax((x W) x^T / sqrt(D)) with keys and values the raw rows of ``x``.

    Args:
        answer: the reader's (D, D) matrix W.
        x: (T, D) token vectors.
        w_q: (D, D) the matrix the exercise starts from.
        query, preferred, other: token positions in [0, T).
    """
    checks.check_tensor("x", x, dim=2, floating=True, shape_text="(T, D)")
    num_tokens, emb_dim = x.shape
    checks.check_tensor("w_q", w_q, floating=True, shape=(emb_dim, emb_dim), shape_text="(D, D)")
    for name, value in (("query", query), ("preferred", preferred), ("other", other)):
        checks.check_int(name, value, at_least=0, at_most=num_tokens - 1)
    what = f"a one-entry change of W_q that makes token {query} prefer token {preferred} to token {other}"
    if answer is Ellipsis:
        return verdict(False, what, NO_ANSWER)
    got = _as_tensor(answer)
    if got is None:
        return verdict(False, what, f"expected a tensor, got {checks.describe(answer)}")
    if tuple(got.shape) != (emb_dim, emb_dim) or not got.is_floating_point():
        return verdict(False, what, f"expected a floating ({emb_dim}, {emb_dim}) matrix, got {checks.describe(got)}")
    x_cpu, start = x.detach().cpu().double(), w_q.detach().cpu().double()
    changed = int((got.double() != start).sum())
    if changed != 1:
        return verdict(False, what, f"{changed} entries differ from W_q, expected exactly 1")
    weights = torch.softmax((x_cpu @ got.double()) @ x_cpu.T / math.sqrt(emb_dim), dim=-1)  # (T, T)
    if not weights[query, preferred] > weights[query, other]:
        return verdict(False, what, f"token {query} still gives token {preferred} no more weight than token {other}")
    return verdict(True, what)


def folded_scale_weights(answer: object, x: torch.Tensor, w_q: torch.Tensor, keys: torch.Tensor) -> Verdict:
    """Check attention weights computed with 1/sqrt(Dk) folded into the query weights.

    Args:
        answer: the reader's (T, T) weights.
        x: (T, D) token vectors.
        w_q: (Dk, D) the query projection's weight (``nn.Linear(D, Dk).weight``), no bias.
        keys: (T, Dk) the keys.
    """
    checks.check_tensor("x", x, dim=2, floating=True, shape_text="(T, D)")
    checks.check_tensor("w_q", w_q, floating=True, shape=(None, x.shape[1]), shape_text="(Dk, D)")
    checks.check_tensor("keys", keys, floating=True, shape=(x.shape[0], w_q.shape[0]), shape_text="(T, Dk)")
    x_cpu, w_cpu, k_cpu = (t.detach().cpu().double() for t in (x, w_q, keys))
    scores = (x_cpu @ w_cpu.T) @ k_cpu.T  # (T, T)
    expected = torch.softmax(scores / math.sqrt(w_q.shape[0]), dim=-1)
    got = _as_tensor(answer)
    if got is not None and got.shape == expected.shape and got.is_floating_point():
        if torch.allclose(got.double(), torch.softmax(scores, dim=-1), atol=1e-5, rtol=1e-4):
            return verdict(False, "the weights with the scale folded into W_Q", "these are the unscaled weights: divide W_Q by sqrt(d_k)")
    return compare_tensor(answer, expected, "the weights with the scale folded into W_Q", atol=1e-5, rtol=1e-4)


def rows_without_keys(answer: object, padding_mask: torch.Tensor) -> Verdict:
    """Check the number of query rows that may attend to no key under a causal mask and ``padding_mask``.

    Args:
        answer: the reader's count.
        padding_mask: (B, T) bool, True at padding (right or left padded, as the exercise says).
    """
    checks.check_tensor("padding_mask", padding_mask, dim=2, shape_text="(B, T)")
    checks.check_padding_mask("padding_mask", padding_mask, tuple(padding_mask.shape))
    pad = padding_mask.detach().cpu()
    causal = attention.causal_mask(pad.shape[1])  # (T, T)
    keep = causal & attention.attn_mask_from_padding(pad)  # (B, T, T)
    expected = int((~keep.any(dim=-1)).sum())
    return compare_number(
        answer, expected, "the number of queries with no key to attend to", atol=0, rtol=0,
        hint="a query at position i may see keys 0..i that are not padding",
    )


def attention_rollout(answer: object, weights: torch.Tensor) -> Verdict:
    """Check an attention rollout (Abnar and Zuidema 2020) of one sentence's weights.

    Rollout = A_{L-1} ... A_1 A_0 with A_l = rownorm(mean over heads of W_l + I).

    Args:
        answer: the reader's (T, T) rollout matrix.
        weights: (L, H, T, T) attention weights of every layer and head.
    """
    checks.check_tensor("weights", weights, dim=4, floating=True, shape_text="(L, H, T, T)")
    if weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be square in the last two dims (self-attention), got {tuple(weights.shape)}")
    w = weights.detach().cpu().double()
    eye = torch.eye(w.shape[-1], dtype=torch.float64)
    rollout = eye
    for layer in range(w.shape[0]):
        a = w[layer].mean(0) + eye  # (T, T)
        rollout = (a / a.sum(-1, keepdim=True)) @ rollout
    what = "the attention rollout"
    got = _as_tensor(answer)
    if got is not None and got.shape == rollout.shape and got.is_floating_point():
        reverse = eye
        for layer in range(w.shape[0]):
            a = w[layer].mean(0) + eye
            reverse = reverse @ (a / a.sum(-1, keepdim=True))
        if not torch.allclose(reverse, rollout, atol=1e-5) and torch.allclose(got.double(), reverse, atol=1e-5):
            return verdict(False, what, "the layers are multiplied in the wrong order: a later layer goes on the left")
    return compare_tensor(answer, rollout, what, atol=1e-5, rtol=1e-4, hint="average the heads, add I, renormalise the rows")


def sinusoidal_shift_matrix(answer: object, offset: int, emb_dim: int) -> Verdict:
    """Check a matrix M_k with PE[p + k] = M_k PE[p] for the sinusoidal encoding of width ``emb_dim``.

    Args:
        answer: the reader's (D, D) matrix.
        offset: k.
        emb_dim: D, even.
    """
    expected = attention.sinusoidal_shift(offset, emb_dim).double()
    what = f"M_{offset} for D = {emb_dim}"
    got = _as_tensor(answer)
    if got is not None and got.shape == expected.shape and got.is_floating_point() and offset != 0:
        if torch.allclose(got.double(), expected.T, atol=1e-5):
            return verdict(False, what, f"this is M_{-offset} (the transpose): check the signs of the sines")
    return compare_tensor(answer, expected, what, atol=1e-5, rtol=1e-4, hint="one 2x2 rotation per (sin, cos) pair")


def kv_cache_bytes(
    answer: object,
    num_layers: int,
    batch_size: int,
    num_heads: int,
    num_tokens: int,
    head_dim: int,
    bytes_per_number: int,
) -> Verdict:
    """Check the size in bytes of a KV cache: keys and values of every layer, (B, H, T, Dh) each.

    Args:
        answer: the reader's number of bytes.
        num_layers, batch_size, num_heads, num_tokens, head_dim: L, B, H, T, Dh, each >= 1.
        bytes_per_number: 4 for float32, 2 for float16 or bfloat16.
    """
    sizes = (num_layers, batch_size, num_heads, num_tokens, head_dim, bytes_per_number)
    names = ("num_layers", "batch_size", "num_heads", "num_tokens", "head_dim", "bytes_per_number")
    for name, value in zip(names, sizes):
        checks.check_int(name, value, at_least=1)
    expected = float(2 * math.prod(sizes))
    what = "the bytes of the KV cache"
    got = answer.item() if isinstance(answer, torch.Tensor) and answer.numel() == 1 else answer
    if isinstance(got, numbers.Real) and not isinstance(got, bool) and abs(float(got) * 2 - expected) < 0.5:
        return verdict(False, what, "half the size: the cache holds keys and values")
    return compare_number(answer, expected, what, atol=0.5, rtol=0)

# --- chapter 07 ---


def encoder_parameters(
    answer: object,
    *,
    vocab_size: int,
    emb_dim: int,
    num_heads: int,
    ffn_dim: int,
    num_layers: int,
    num_classes: int = 2,
    norm_first: bool = True,
) -> Verdict:
    """Check a count of the parameters of an :class:`embedlab.encoder.EncoderClassifier` of these sizes.

    Args:
        answer: the reader's count.
        vocab_size, emb_dim, num_heads, ffn_dim, num_layers, num_classes, norm_first: the sizes, as in
            :class:`embedlab.encoder.EncoderConfig`.
    """
    from embedlab import encoder, train

    config = encoder.EncoderConfig(
        vocab_size=vocab_size, emb_dim=emb_dim, num_heads=num_heads, ffn_dim=ffn_dim, num_layers=num_layers,
        num_classes=num_classes, norm_first=norm_first, max_len=1,
    )
    expected = train.count_parameters(encoder.EncoderClassifier(config))
    what = "the number of parameters of the encoder classifier"
    hint = ""
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool):
        if norm_first and answer == expected - 2 * emb_dim:
            hint = "a pre-norm stack has one more LayerNorm, after its last block"
        elif answer < expected:
            hint = "count the biases and the two LayerNorms of every block (a scale and a shift each)"
    return compare_number(answer, float(expected), what, atol=0.5, rtol=0.0, hint=hint)


def block_stds(answer: object, config: object, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> Verdict:
    """Check the std of the hidden states before and after every block of ``EncoderClassifier(config)``.

    The expected values are :func:`embedlab.encoder.hidden_stds` of the model that ``config`` builds
    (its seed fixes every parameter): L + 1 numbers, over the real positions only.

    Args:
        answer: the reader's L + 1 numbers (a list or a tensor).
        config: an :class:`embedlab.encoder.EncoderConfig`.
        token_ids: (B, T) int64 ids.
        padding_mask: (B, T) bool, True at padding.
    """
    from embedlab import encoder

    checks.check_type("config", config, encoder.EncoderConfig, "an encoder.EncoderConfig")
    expected = torch.tensor(encoder.hidden_stds(encoder.EncoderClassifier(config), token_ids, padding_mask))
    if isinstance(answer, (list, tuple)) and all(
        isinstance(x, numbers.Real) and not isinstance(x, bool) for x in answer
    ):
        answer = torch.tensor([float(x) for x in answer], dtype=torch.float64)
    return compare_tensor(
        answer, expected, "the std of the hidden states, before and after each block", atol=1e-4, rtol=1e-3,
        hint="count the real positions only (padding_mask is True at padding), every entry of their vectors",
    )


def paired_standard_error(answer: object, a_correct: torch.Tensor, b_correct: torch.Tensor) -> Verdict:
    """Check the standard error of the accuracy difference of two models, paired over test items.

    ``a_correct`` and ``b_correct`` hold 0/1 per seed and test item; each model's correctness is
    averaged over its seeds, the difference is taken per item, and the standard error of its mean
    is ``std(d) / sqrt(N)``.

    Args:
        answer: the reader's standard error (a number).
        a_correct: (S, N) 0/1 floats, model a.
        b_correct: (S', N) 0/1 floats, model b.
    """
    checks.check_tensor("a_correct", a_correct, dim=2, floating=True, shape_text="(S, N)")
    checks.check_tensor("b_correct", b_correct, dim=2, floating=True, shape=(None, a_correct.shape[1]),
                        shape_text="(S', N), N as in a_correct")
    diff = a_correct.double().mean(dim=0) - b_correct.double().mean(dim=0)  # (N,)
    expected = (diff.std(correction=1) / math.sqrt(diff.numel())).item()
    hint = ""
    if isinstance(answer, numbers.Real) and not isinstance(answer, bool) and answer > expected * 1.05:
        hint = "pair the items: take the difference item by item first, then its standard error"
    return compare_number(answer, expected, "the paired standard error of the difference", atol=0.0,
                          rtol=1e-2, hint=hint)

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


def recall_by_hand(answer: object, scores: torch.Tensor, relevant: torch.Tensor, k: int) -> Verdict:
    """Exercise 09 (Recall@k from the top k): the per-query Recall@k of ``scores``.

    Args:
        answer: the reader's (Q,) per-query recall.
        scores: (Q, M) the method's scores.
        relevant: (Q, M) bool, True where the passage answers the query.
        k: the cut-off.
    """
    from embedlab import retrieval

    expected = retrieval.recall_at_k(scores, relevant, k)  # (Q,)
    return compare_tensor(
        answer, expected, f"the per-query Recall@{k}", atol=1e-9, rtol=0,
        hint="divide by each query's number of relevant passages, not by k",
    )


def _ranks(scores: torch.Tensor) -> torch.Tensor:
    """(Q, M) rank of every passage under ``scores``, 1 = best, ties broken by position."""
    order = scores.argsort(dim=1, descending=True, stable=True)  # (Q, M)
    return order.argsort(dim=1) + 1


def fused_mrr(
    answer: object, scores_a: torch.Tensor, scores_b: torch.Tensor, relevant: torch.Tensor, c: int = 60
) -> Verdict:
    """Exercise 09 (fuse the two rankings): the MRR of reciprocal rank fusion of two methods.

    Args:
        answer: the reader's MRR (a number).
        scores_a: (Q, M) one method's scores (e.g. BM25).
        scores_b: (Q, M) the other's (e.g. MiniLM).
        relevant: (Q, M) bool.
        c: the constant of the fusion, 1 / (c + rank).
    """
    from embedlab import retrieval

    checks.check_tensor("scores_a", scores_a, dim=2, floating=True, shape_text="(Q, M)")
    checks.check_tensor("scores_b", scores_b, shape=tuple(scores_a.shape), floating=True, shape_text="(Q, M)")
    checks.check_int("c", c, at_least=0)
    a, b = scores_a.detach().cpu(), scores_b.detach().cpu()
    fused = 1.0 / (c + _ranks(a)).double() + 1.0 / (c + _ranks(b)).double()  # (Q, M)
    expected = float(retrieval.reciprocal_rank(fused, relevant.cpu()).mean())
    return compare_number(
        answer, expected, "the MRR of the fused ranking", atol=1e-6, rtol=0,
        hint=f"score every passage 1/({c} + rank) under each method, rank 1 = best, and add the two",
    )


def scaling_exponent(answer: object, sizes: object, seconds: object) -> Verdict:
    """Exercise 09 (how long at ten million?): the exponent b of seconds ~ sizes^b.

    Args:
        answer: the reader's exponent (a number).
        sizes: the collection sizes measured.
        seconds: the time at each size.
    """
    from embedlab import retrieval

    expected = retrieval.power_law_exponent(sizes, seconds)
    return compare_number(
        answer, expected, "the exponent of time against size", atol=1e-6, rtol=0,
        hint="fit a straight line to log(time) against log(size) over all sizes",
    )
