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

from embedlab import encoder as _encoder  # noqa: E402
from embedlab import train as _train  # noqa: E402

_SIZES_07 = dict(vocab_size=300, emb_dim=32, num_heads=4, ffn_dim=64, num_layers=2)


def _formula_07(v, d, f, layers, c=2, norm_first=True):
    block = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    return v * d + layers * block + (2 * d if norm_first else 0) + d * c + c


def test_encoder_parameters_passes_the_formula_and_fails_without_the_final_norm(capsys):
    right = _formula_07(300, 32, 64, 2)
    assert selfcheck.encoder_parameters(right, **_SIZES_07)
    assert not selfcheck.encoder_parameters(..., **_SIZES_07)
    capsys.readouterr()
    assert not selfcheck.encoder_parameters(right - 2 * 32, **_SIZES_07)
    out = capsys.readouterr().out
    assert "one more LayerNorm" in out and str(right) not in out
    assert not selfcheck.encoder_parameters(right - 2 * 32 * 2, **_SIZES_07)  # forgot the LayerNorms
    assert selfcheck.encoder_parameters(_formula_07(300, 32, 64, 2, norm_first=False), **_SIZES_07, norm_first=False)
    assert not selfcheck.encoder_parameters("many", **_SIZES_07)


_CONFIG_07 = _encoder.EncoderConfig(vocab_size=40, emb_dim=16, num_heads=2, ffn_dim=32, num_layers=3, max_len=8,
                                    norm_first=False, seed=1)
_IDS_07 = torch.randint(2, 40, (3, 8), generator=torch.Generator().manual_seed(0))
_MASK_07 = torch.arange(8)[None, :] >= torch.tensor([8, 5, 2])[:, None]


def _stds_by_hand_07(real_only=True):
    model = _encoder.EncoderClassifier(_CONFIG_07)
    keep = ~_MASK_07 if real_only else torch.ones_like(_MASK_07)
    with torch.no_grad():
        h = model.positions(model.embedding(_IDS_07))
        stds = [h[keep].std(correction=0).item()]
        for block in model.blocks:
            h, _ = block(h, _MASK_07)
            stds.append(h[keep].std(correction=0).item())
    return stds


def test_block_stds_passes_the_loop_and_fails_with_padding_counted(capsys):
    assert selfcheck.block_stds(_stds_by_hand_07(), _CONFIG_07, _IDS_07, _MASK_07)
    assert selfcheck.block_stds(torch.tensor(_stds_by_hand_07()), _CONFIG_07, _IDS_07, _MASK_07)
    assert not selfcheck.block_stds(..., _CONFIG_07, _IDS_07, _MASK_07)
    capsys.readouterr()
    assert not selfcheck.block_stds(_stds_by_hand_07(real_only=False), _CONFIG_07, _IDS_07, _MASK_07)
    assert "real positions only" in capsys.readouterr().out
    assert not selfcheck.block_stds(_stds_by_hand_07()[1:], _CONFIG_07, _IDS_07, _MASK_07)  # the input left out
    assert not selfcheck.block_stds([1.0, "a"], _CONFIG_07, _IDS_07, _MASK_07)


_A_07 = (torch.rand(3, 500, generator=torch.Generator().manual_seed(0)) < 0.8).double()
_B_07 = ((_A_07[:2] + (torch.rand(2, 500, generator=torch.Generator().manual_seed(1)) < 0.1)) == 1).double()


def test_paired_standard_error_passes_the_paired_one_and_fails_the_unpaired_one(capsys):
    a, b = _A_07.mean(0), _B_07.mean(0)
    paired = ((a - b).std() / 500**0.5).item()
    unpaired = ((a.var() / 500 + b.var() / 500) ** 0.5).item()
    assert unpaired > 1.05 * paired  # the test's data are correlated, as two classifiers' errors are
    assert selfcheck.paired_standard_error(paired, _A_07, _B_07)
    assert not selfcheck.paired_standard_error(..., _A_07, _B_07)
    capsys.readouterr()
    assert not selfcheck.paired_standard_error(unpaired, _A_07, _B_07)
    assert "pair the items" in capsys.readouterr().out
    assert not selfcheck.paired_standard_error(paired * 500**0.5, _A_07, _B_07)  # forgot the sqrt(N)


BAD_CALLS += [
    ("selfcheck.encoder_parameters", lambda: selfcheck.encoder_parameters(1, **{**_SIZES_07, "emb_dim": 30, "num_heads": 4}), ValueError, "divisible by num_heads"),
    ("selfcheck.encoder_parameters", lambda: selfcheck.encoder_parameters(1, **{**_SIZES_07, "num_layers": -1}), ValueError, "num_layers must be an int >= 0"),
    ("selfcheck.block_stds", lambda: selfcheck.block_stds([1.0], {"vocab_size": 40}, _IDS_07, _MASK_07), TypeError, "config must be an encoder.EncoderConfig"),
    ("selfcheck.block_stds", lambda: selfcheck.block_stds([1.0], _CONFIG_07, _IDS_07 + 40, _MASK_07), ValueError, "token_ids must hold ids in [0, 39]"),
    ("selfcheck.paired_standard_error", lambda: selfcheck.paired_standard_error(0.1, [[1.0]], _B_07), TypeError, "a_correct must be a tensor"),
    ("selfcheck.paired_standard_error", lambda: selfcheck.paired_standard_error(0.1, _A_07, _B_07[:, :3]), ValueError, "b_correct must have shape"),
]

# --- chapter 08 ---

# --- chapter 09 ---
