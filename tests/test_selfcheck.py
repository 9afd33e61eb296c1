"""Tests of embedlab.selfcheck: the core says right from wrong without raising on a wrong answer,
and each chapter's checks pass on their solution, fail on the stub ``...`` and on a plausible
wrong answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedlab import selfcheck

WHAT = "the answer"


def test_a_verdict_prints_one_line_and_is_truthy_only_when_right(capsys):
    right = selfcheck.verdict(True, WHAT)
    wrong = selfcheck.verdict(False, WHAT, "shape (2,), expected (3,)")
    assert bool(right) and not bool(wrong)
    assert capsys.readouterr().out.splitlines() == [
        "correct: the answer",
        "not yet: the answer: shape (2,), expected (3,)",
    ]


def test_compare_tensor_passes_within_tolerance_and_names_what_is_off(capsys):
    expected = torch.arange(6.0).reshape(2, 3)
    assert selfcheck.compare_tensor(expected + 1e-7, expected, WHAT)
    assert selfcheck.compare_tensor(expected.numpy(), expected, WHAT)  # NumPy counts
    off = expected.clone()
    off[1, 2] += 0.5
    for answer, problem in [
        (..., "no answer yet"),
        ("x", "expected a tensor, got str"),
        (expected.T, "shape (3, 2), expected (2, 3)"),
        (off, "the largest difference is 0.5, at index (1, 2)"),
        (torch.full((2, 3), float("nan")), "6 entries are NaN or infinite"),
        (expected > 2, "a bool tensor"),
    ]:
        capsys.readouterr()
        assert not selfcheck.compare_tensor(answer, expected, WHAT)
        assert problem in capsys.readouterr().out


def test_compare_tensor_integers_must_match_exactly(capsys):
    ids = torch.tensor([3, 1, 4])
    assert selfcheck.compare_tensor(torch.tensor([3, 1, 4]), ids, WHAT)
    assert not selfcheck.compare_tensor(torch.tensor([3, 1, 5]), ids, WHAT)
    assert not selfcheck.compare_tensor(ids.double(), ids, WHAT)
    assert "1 of 3 entries differ" in capsys.readouterr().out


def test_compare_number_says_the_side_not_the_value(capsys):
    assert selfcheck.compare_number(0.30000001, 0.3, WHAT)
    assert selfcheck.compare_number(torch.tensor([0.3]), 0.3, WHAT)
    assert selfcheck.compare_number(np.float32(0.3), 0.3, WHAT)
    capsys.readouterr()
    for answer, problem in [
        (..., "no answer yet"),
        (True, "expected a number, got bool"),
        (torch.zeros(2), "expected a number"),
        (0.5, "too large"),
        (0.1, "too small"),
        (float("inf"), "expected a finite number"),
    ]:
        assert not selfcheck.compare_number(answer, 0.3, WHAT)
        out = capsys.readouterr().out
        assert problem in out and "0.3" not in out.replace("0.3,", "")


def test_compare_set_counts_the_missing_and_names_the_extra(capsys):
    assert selfcheck.compare_set(torch.tensor([4, 2, 2]), {2, 4}, WHAT)
    assert selfcheck.compare_set([np.int64(2), 4], [4, 2], WHAT)
    capsys.readouterr()
    assert not selfcheck.compare_set([2, 7], {2, 4}, WHAT)
    out = capsys.readouterr().out
    assert "1 expected item missing" in out and "(7)" in out and "4" not in out.split("missing")[1]
    assert not selfcheck.compare_set(..., {1}, WHAT)
    assert not selfcheck.compare_set(3, {1}, WHAT)
    assert not selfcheck.compare_set([[1], [2]], {1}, WHAT)


def test_a_verdict_shows_nothing_more_at_the_end_of_a_cell():
    # IPython calls _ipython_display_ instead of printing the repr: the line was already printed.
    assert selfcheck.Verdict(True, WHAT)._ipython_display_() is None


BAD_CALLS = [
    ("selfcheck.verdict", lambda: selfcheck.verdict(1, WHAT), TypeError, "ok must be True or False"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(False, WHAT), ValueError, "problem must say"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(True, ""), ValueError, "what must contain"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(True, None), TypeError, "what must be a str"),
    (
        "selfcheck.compare_tensor",
        lambda: selfcheck.compare_tensor(torch.zeros(1), [0.0], WHAT),
        TypeError,
        "expected must be a tensor",
    ),
    (
        "selfcheck.compare_tensor",
        lambda: selfcheck.compare_tensor(torch.zeros(1), torch.zeros(1), WHAT, atol=-1.0),
        ValueError,
        "atol must be a number",
    ),
    (
        "selfcheck.compare_number",
        lambda: selfcheck.compare_number(1.0, float("nan"), WHAT),
        ValueError,
        "expected must be a finite number",
    ),
    (
        "selfcheck.compare_number",
        lambda: selfcheck.compare_number(1.0, 1.0, WHAT, rtol="0.1"),
        TypeError,
        "rtol must be a number",
    ),
    (
        "selfcheck.compare_set",
        lambda: selfcheck.compare_set({1}, "12", WHAT),
        TypeError,
        "expected must be an iterable",
    ),
    ("selfcheck.compare_set", lambda: selfcheck.compare_set({1}, {1}, 3), TypeError, "what must be a str"),
]


@pytest.mark.parametrize("answer", [..., None, "x", [], object(), float("nan"), torch.zeros(0)])
def test_a_wrong_answer_never_raises(answer):
    assert not selfcheck.compare_tensor(answer, torch.ones(2), WHAT)
    assert not selfcheck.compare_number(answer, 1.0, WHAT)
    assert not selfcheck.compare_set(answer, {1}, WHAT)


# The chapters' checks: each passes on its solution's answer, fails on ... and on a plausible
# wrong answer. One section per chapter, in chapter order.

# --- chapter 00 ---

# --- chapter 01 ---

# --- chapter 02 ---


def _softmax_context():
    generator = torch.Generator().manual_seed(0)
    out_vectors = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    v_c = torch.randn(4, generator=generator, dtype=torch.float64)
    return out_vectors, v_c, 2


def test_softmax_centre_grad_passes_the_solution_and_fails_wrong_answers():
    out_vectors, v_c, o = _softmax_context()
    p = torch.softmax(out_vectors @ v_c, dim=0)
    grad_v = -(out_vectors[o] - p @ out_vectors)
    assert selfcheck.softmax_centre_grad(grad_v, out_vectors, v_c, o)
    assert not selfcheck.softmax_centre_grad(..., out_vectors, v_c, o)
    assert not selfcheck.softmax_centre_grad(out_vectors[o] - p @ out_vectors, out_vectors, v_c, o)  # sign
    assert not selfcheck.softmax_centre_grad(-out_vectors[o], out_vectors, v_c, o)  # no expectation
    assert not selfcheck.softmax_centre_grad(grad_v[:3], out_vectors, v_c, o)


def test_ppmi_dense_passes_the_solution_and_fails_wrong_answers():
    counts = torch.tensor([[0.0, 4.0, 1.0], [4.0, 0.0, 2.0], [1.0, 2.0, 6.0]], dtype=torch.float64)
    total = counts.sum()
    with np.errstate(divide="ignore"):
        pmi = torch.log(counts * total / (counts.sum(1, keepdim=True) * counts.sum(0)))
    ppmi = torch.where(counts > 0, pmi.clamp(min=0), torch.zeros(()))
    assert selfcheck.ppmi_dense(ppmi, counts)
    assert not selfcheck.ppmi_dense(..., counts)
    assert not selfcheck.ppmi_dense(torch.nan_to_num(pmi, neginf=0.0), counts)  # negatives kept
    assert not selfcheck.ppmi_dense(ppmi, counts, cds=0.75)  # a different smoothing


def test_analogy_answer_passes_the_solution_and_fails_wrong_answers():
    from embedlab import wordvec

    vocab = wordvec.vocab_from_words(["king", "queen", "man", "woman", "apple"])
    vectors = torch.tensor(
        [[9.0, 9.0, 9.0], [9.0, 9.0, 8.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0],
         [0.0, 0.0, 1.0], [-1.0, 0.2, 0.2]]
    )
    assert selfcheck.analogy_answer("queen", vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer(..., vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer("king", vectors, vocab, "man", "king", "woman")  # a question word
    assert not selfcheck.analogy_answer("apple", vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer(["queen"], vectors, vocab, "man", "king", "woman")


BAD_CALLS += [
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., None, torch.ones(2), 0), TypeError, "out_vectors must be a tensor"),
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., torch.ones(3, 2), torch.ones(3), 0), ValueError, "v_c must have shape (D,)"),
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., torch.ones(3, 2), torch.ones(2), 3), ValueError, "o must be an int >= 0 and <= 2"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., torch.ones(3)), ValueError, "counts must have shape (V, V)"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., -torch.ones(2, 2)), ValueError, "counts must be non-negative"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., torch.ones(2, 2), cds=2.0), ValueError, "cds must be"),
    ("selfcheck.analogy_answer", lambda: selfcheck.analogy_answer("x", torch.ones(3, 2), None, "a", "b", "c"), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("selfcheck.analogy_answer", lambda: selfcheck.analogy_answer("x", torch.ones(7, 3), __import__("embedlab").wordvec.vocab_from_words(["a", "b", "c", "d", "e"]), "a", "b", "z"), ValueError, "c 'z' is not in the vocabulary"),
]


# --- chapter 03 ---

# --- chapter 04 ---

# --- chapter 05 ---

# --- chapter 06 ---

# --- chapter 07 ---

# --- chapter 08 ---

# --- chapter 09 ---
