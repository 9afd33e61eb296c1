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


def _ch08_lora():
    from embedlab import finetune

    layer = finetune.LoRALinear(torch.nn.Linear(6, 4), 2, 4.0, torch.Generator().manual_seed(0))
    layer.lora_B.data = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    return layer


def test_ch08_lora_parameter_count():
    model = torch.nn.Sequential(_ch08_lora(), _ch08_lora())
    assert selfcheck.lora_parameter_count(2 * (2 * 6 + 4 * 2), model)
    assert not selfcheck.lora_parameter_count(..., model)
    assert not selfcheck.lora_parameter_count(2 * 6 * 4, model)  # counted W instead of A and B
    assert not selfcheck.lora_parameter_count("20", model)


def test_ch08_merged_lora_weight():
    layer = _ch08_lora()
    right = layer.base.weight + 2.0 * layer.lora_B @ layer.lora_A
    assert selfcheck.merged_lora_weight(right.detach(), layer)
    assert not selfcheck.merged_lora_weight(..., layer)
    assert not selfcheck.merged_lora_weight((layer.base.weight + layer.lora_B @ layer.lora_A).detach(), layer)
    assert not selfcheck.merged_lora_weight((layer.lora_A.T @ layer.lora_B.T).detach(), layer)  # shape


def test_ch08_rows_that_move():
    ids = torch.tensor([[101, 7, 102, 0], [101, 9, 9, 102]])
    mask = ids == 0
    assert selfcheck.rows_that_move({101, 7, 102, 9}, ids, mask)
    assert selfcheck.rows_that_move(torch.tensor([7, 9, 101, 102]), ids, mask)
    assert not selfcheck.rows_that_move(..., ids, mask)
    assert not selfcheck.rows_that_move(set(ids.unique().tolist()), ids, mask)  # the padding row too
    assert not selfcheck.rows_that_move({7, 9}, ids, mask)  # forgot [CLS] and [SEP]


CH08_IDS = torch.tensor([[101, 7, 102, 0]])
BAD_CALLS += [
    ("selfcheck.lora_parameter_count", lambda: selfcheck.lora_parameter_count(1, "model"), TypeError, "model must be an nn.Module"),
    ("selfcheck.lora_parameter_count", lambda: selfcheck.lora_parameter_count(1, torch.nn.Linear(2, 2)), ValueError, "model must hold LoRA layers"),
    ("selfcheck.merged_lora_weight", lambda: selfcheck.merged_lora_weight(1, torch.nn.Linear(2, 2)), TypeError, "layer must be a finetune.LoRALinear"),
    ("selfcheck.rows_that_move", lambda: selfcheck.rows_that_move({1}, CH08_IDS.float(), CH08_IDS == 0), ValueError, "token_ids must have dtype torch.int64"),
    ("selfcheck.rows_that_move", lambda: selfcheck.rows_that_move({1}, CH08_IDS, CH08_IDS[:, :2] == 0), ValueError, "padding_mask must have shape"),
]


# --- chapter 09 ---
