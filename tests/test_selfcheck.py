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


def _aligned_matrix():
    matrix = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)) * 1.5
    matrix[0] = 0.0
    return matrix


def test_chapter_04_used_row_std(capsys):
    matrix = _aligned_matrix()
    assert selfcheck.used_row_std(matrix[2:].std().item(), matrix)  # the solution
    assert not selfcheck.used_row_std(..., matrix)
    assert not selfcheck.used_row_std(matrix.std().item(), matrix)  # all rows, <pad> included
    assert "rows 2, 3" in capsys.readouterr().out


def test_chapter_04_rescaled_start(capsys):
    matrix = _aligned_matrix()
    assert selfcheck.rescaled_start(matrix * (0.1 / matrix[2:].std()), matrix, 0.1)  # the solution
    assert not selfcheck.rescaled_start(..., matrix, 0.1)
    assert not selfcheck.rescaled_start(matrix / matrix.std() * 0.1, matrix, 0.1)  # all rows' std
    assert not selfcheck.rescaled_start(matrix[2:] * (0.1 / matrix[2:].std()), matrix, 0.1)  # shape
    assert "shape" in capsys.readouterr().out


def test_chapter_04_bmes_tags(capsys):
    words = ["北京大学", "生", "前来", "应聘"]
    assert selfcheck.bmes_tags(["B", "M", "M", "E", "S", "B", "E", "B", "E"], words)  # the solution
    assert selfcheck.bmes_tags("BMMESBEBE", words)
    assert not selfcheck.bmes_tags(..., words)
    assert not selfcheck.bmes_tags(["B", "M", "M", "E", "B", "B", "E", "B", "E"], words)  # 生 as B
    assert not selfcheck.bmes_tags(["B", "E"], words)
    out = capsys.readouterr().out
    assert "the first in word 2" in out and "one tag per character" in out


def test_chapter_04_adam_relative_move(capsys):
    assert selfcheck.adam_relative_move(300 * 2e-3 / 1.47, 2e-3, 300, 1.47)  # the solution
    assert not selfcheck.adam_relative_move(..., 2e-3, 300, 1.47)
    assert not selfcheck.adam_relative_move(300 * 2e-3, 2e-3, 300, 1.47)  # not divided by the std
    assert "too large" in capsys.readouterr().out


BAD_CALLS += [
    ("selfcheck.used_row_std", lambda: selfcheck.used_row_std(1.0, [[1.0]]), TypeError, "matrix must be a tensor"),
    ("selfcheck.rescaled_start", lambda: selfcheck.rescaled_start(1.0, _aligned_matrix(), -1.0), ValueError, "init_std"),
    ("selfcheck.bmes_tags", lambda: selfcheck.bmes_tags([], "北京"), TypeError, "words"),
    ("selfcheck.adam_relative_move", lambda: selfcheck.adam_relative_move(1.0, 0.0, 3, 1.0), ValueError, "lr"),
]

# --- chapter 05 ---


def test_chapter_05_sum_from_mean(capsys):
    from embedlab import pooling

    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[False, False, True, True], [False, False, False, False]])
    lengths = (~mask).sum(dim=1, keepdim=True)
    assert selfcheck.sum_from_mean(pooling.mean_pool(x, mask) * lengths, x, mask)  # the solution
    assert not selfcheck.sum_from_mean(..., x, mask)
    assert not selfcheck.sum_from_mean(pooling.mean_pool(x, mask) * 4, x, mask)  # times T
    assert "not by T" in capsys.readouterr().out


def test_chapter_05_nb_log_count_ratio(capsys):
    texts, labels = ["好", "好吃", "不好", "难吃"], [1, 1, 0, 0]
    counts = np.array([[0, 0, 1, 0], [0, 1, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]])  # 不 吃 好 难
    y = np.array(labels)
    p, q = 1 + counts[y == 1].sum(0), 1 + counts[y == 0].sum(0)
    assert selfcheck.nb_log_count_ratio(np.log((p / p.sum()) / (q / q.sum())), texts, labels)  # the solution
    assert not selfcheck.nb_log_count_ratio(..., texts, labels)
    assert not selfcheck.nb_log_count_ratio(np.log(p / q), texts, labels)  # no normalisation
    assert "L1 norms" in capsys.readouterr().out


def test_chapter_05_ngram_feature_count(capsys):
    words, chars = ["房间", "不", "干净"], list("房间不干净")
    assert selfcheck.ngram_feature_count(14, words, chars)  # the solution
    assert not selfcheck.ngram_feature_count(..., words, chars)
    assert not selfcheck.ngram_feature_count(8, words, chars)  # tokens only, no bigrams
    assert "bigrams" in capsys.readouterr().out


BAD_CALLS += [
    ("selfcheck.sum_from_mean", lambda: selfcheck.sum_from_mean(1.0, torch.ones(2, 3), torch.zeros(2, 3, dtype=torch.bool)), ValueError, "x"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, ["a", "b"], [1, 2]), ValueError, "labels must be"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, ["a", "b"], [1, 0], alpha=0), ValueError, "alpha"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, "ab", [1, 0]), TypeError, "texts"),
    ("selfcheck.ngram_feature_count", lambda: selfcheck.ngram_feature_count(1, "房间", ["房"]), TypeError, "words"),
]

# --- chapter 06 ---

# --- chapter 07 ---

# --- chapter 08 ---

# --- chapter 09 ---
