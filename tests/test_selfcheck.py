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

# --- chapter 03 ---

# --- chapter 04 ---

# --- chapter 05 ---

# --- chapter 06 ---

# --- chapter 07 ---

# --- chapter 08 ---

# --- chapter 09 ---

SCORES_09 = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.2], [0.2, 0.8, 0.7, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4, 0.5]])
OTHER_09 = torch.tensor([[0.1, 0.2, 0.9, 0.3, 0.0], [0.9, 0.1, 0.7, 0.2, 0.3], [0.5, 0.4, 0.3, 0.2, 0.1]])
RELEVANT_09 = torch.tensor([
    [False, False, True, True, False], [False, False, True, False, False], [True, False, False, False, False],
])


def test_recall_by_hand_passes_on_the_solution_and_fails_on_precision(capsys):
    from embedlab import retrieval

    top = SCORES_09.topk(2, dim=1).indices
    recall = RELEVANT_09.gather(1, top).sum(dim=1).double() / RELEVANT_09.sum(dim=1).double()
    assert selfcheck.recall_by_hand(recall, SCORES_09, RELEVANT_09, 2)
    assert torch.equal(recall, retrieval.recall_at_k(SCORES_09, RELEVANT_09, 2))
    precision = RELEVANT_09.gather(1, top).sum(dim=1).double() / 2  # divided by k: a plausible slip
    assert not selfcheck.recall_by_hand(precision, SCORES_09, RELEVANT_09, 2)
    assert not selfcheck.recall_by_hand(..., SCORES_09, RELEVANT_09, 2)
    assert "not by k" in capsys.readouterr().out


def _fusion(a, b, c=60):
    from embedlab import retrieval

    def ranks(s):
        return s.argsort(dim=1, descending=True, stable=True).argsort(dim=1) + 1

    fused = 1 / (c + ranks(a)) + 1 / (c + ranks(b))
    return retrieval.reciprocal_rank(fused.double(), RELEVANT_09).mean().item()


def test_fused_mrr_passes_on_the_solution_and_fails_on_a_sum_of_scores(capsys):
    from embedlab import retrieval

    assert selfcheck.fused_mrr(_fusion(SCORES_09, OTHER_09), SCORES_09, OTHER_09, RELEVANT_09)
    summed = retrieval.reciprocal_rank((SCORES_09 + OTHER_09).double(), RELEVANT_09).mean().item()
    assert not selfcheck.fused_mrr(summed, SCORES_09, OTHER_09, RELEVANT_09)  # scores added, not ranks
    assert not selfcheck.fused_mrr(_fusion(SCORES_09, OTHER_09, c=0), SCORES_09, OTHER_09, RELEVANT_09)
    assert not selfcheck.fused_mrr(..., SCORES_09, OTHER_09, RELEVANT_09)
    assert not selfcheck.fused_mrr("0.5", SCORES_09, OTHER_09, RELEVANT_09)
    assert "not yet" in capsys.readouterr().out


def test_scaling_exponent_passes_on_the_fit_and_fails_on_a_two_point_slope():
    sizes = [1e3, 4e3, 1.6e4, 6.4e4]
    seconds = [1e-3, 3e-3, 1.5e-2, 6e-2]
    from embedlab import retrieval

    assert selfcheck.scaling_exponent(retrieval.power_law_exponent(sizes, seconds), sizes, seconds)
    two_point = float(np.log(seconds[-1] / seconds[0]) / np.log(sizes[-1] / sizes[0]))
    assert not selfcheck.scaling_exponent(two_point, sizes, seconds)
    assert not selfcheck.scaling_exponent(1.0, sizes, seconds)  # "it is linear", without fitting
    assert not selfcheck.scaling_exponent(..., sizes, seconds)


BAD_CALLS += [
    ("selfcheck.recall_by_hand", lambda: selfcheck.recall_by_hand(..., SCORES_09, RELEVANT_09, 0), ValueError, "k must be an int >= 1"),
    ("selfcheck.recall_by_hand", lambda: selfcheck.recall_by_hand(..., SCORES_09.tolist(), RELEVANT_09, 1), TypeError, "scores must be a tensor"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., SCORES_09, OTHER_09[:, :2], RELEVANT_09), ValueError, "scores_b must have shape"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., SCORES_09, OTHER_09, RELEVANT_09, c=-1), ValueError, "c must be an int >= 0"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., None, OTHER_09, RELEVANT_09), TypeError, "scores_a must be a tensor"),
    ("selfcheck.scaling_exponent", lambda: selfcheck.scaling_exponent(..., [1, 1], [1, 2]), ValueError, "at least 2 distinct"),
    ("selfcheck.scaling_exponent", lambda: selfcheck.scaling_exponent(..., None, [1, 2]), TypeError, "sizes must be a sequence"),
]
