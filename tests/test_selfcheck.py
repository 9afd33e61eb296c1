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

X06 = torch.tensor(
    [[0.0, 0.0, 1.0, 0.0], [1.0, 0.1, 0.0, 0.3], [0.2, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.8]]
)
W_Q06 = torch.zeros(4, 4)
W_Q06[1, 0] = W_Q06[0, 1] = 3.0


def test_query_prefers(capsys):
    right = W_Q06.clone()
    right[1, 3] = -2.0
    assert selfcheck.query_prefers(right, X06, W_Q06, 2, 1, 4)
    wrong_sign = W_Q06.clone()
    wrong_sign[1, 3] = 2.0  # asks for "small": prefers the cat
    assert not selfcheck.query_prefers(wrong_sign, X06, W_Q06, 2, 1, 4)
    two = right.clone()
    two[0, 0] = 1.0
    assert not selfcheck.query_prefers(two, X06, W_Q06, 2, 1, 4)
    assert not selfcheck.query_prefers(..., X06, W_Q06, 2, 1, 4)
    assert not selfcheck.query_prefers(torch.zeros(3, 3), X06, W_Q06, 2, 1, 4)
    assert "2 entries differ" in capsys.readouterr().out


def test_folded_scale_weights(capsys):
    torch.manual_seed(0)
    w_q, keys = torch.randn(3, 4), torch.randn(5, 3)
    folded = torch.softmax((X06 @ (w_q.T / 3**0.5)) @ keys.T, dim=-1)
    assert selfcheck.folded_scale_weights(folded, X06, w_q, keys)
    unscaled = torch.softmax((X06 @ w_q.T) @ keys.T, dim=-1)
    assert not selfcheck.folded_scale_weights(unscaled, X06, w_q, keys)
    assert "unscaled" in capsys.readouterr().out
    assert not selfcheck.folded_scale_weights(folded.T, X06, w_q, keys)
    assert not selfcheck.folded_scale_weights(..., X06, w_q, keys)


def test_rows_without_keys(capsys):
    right_padded = torch.tensor([[False, False, True, True], [False, False, False, False]])
    assert selfcheck.rows_without_keys(0, right_padded)
    left_padded = right_padded.flip(-1)
    assert selfcheck.rows_without_keys(2, left_padded)
    assert not selfcheck.rows_without_keys(2, right_padded)  # the left-padding count
    assert not selfcheck.rows_without_keys(..., right_padded)
    assert "too large" in capsys.readouterr().out


def _rollout(weights, reverse=False, identity=True):
    eye = torch.eye(weights.shape[-1])
    out = eye
    for layer in range(weights.shape[0]):
        a = weights[layer].mean(0) + (eye if identity else 0)
        a = a / a.sum(-1, keepdim=True)
        out = out @ a if reverse else a @ out
    return out


def test_attention_rollout(capsys):
    weights = torch.softmax(torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(1)), dim=-1)
    assert selfcheck.attention_rollout(_rollout(weights), weights)
    assert not selfcheck.attention_rollout(_rollout(weights, reverse=True), weights)
    assert "wrong order" in capsys.readouterr().out
    assert not selfcheck.attention_rollout(_rollout(weights, identity=False), weights)
    assert not selfcheck.attention_rollout(..., weights)


def test_sinusoidal_shift_matrix(capsys):
    from embedlab import attention

    right = attention.sinusoidal_shift(3, 8).double()
    assert selfcheck.sinusoidal_shift_matrix(right, 3, 8)
    assert not selfcheck.sinusoidal_shift_matrix(right.T, 3, 8)
    assert "transpose" in capsys.readouterr().out
    assert not selfcheck.sinusoidal_shift_matrix(torch.eye(8), 3, 8)
    assert not selfcheck.sinusoidal_shift_matrix(..., 3, 8)


def test_kv_cache_bytes(capsys):
    right = 2 * 6 * 8 * 12 * 512 * 32 * 4
    assert selfcheck.kv_cache_bytes(right, 6, 8, 12, 512, 32, 4)
    assert not selfcheck.kv_cache_bytes(right // 2, 6, 8, 12, 512, 32, 4)
    assert "keys and values" in capsys.readouterr().out
    assert not selfcheck.kv_cache_bytes(right * 2, 6, 8, 12, 512, 32, 4)
    assert not selfcheck.kv_cache_bytes(..., 6, 8, 12, 512, 32, 4)


BAD_CALLS += [
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, [[1.0]], W_Q06, 2, 1, 4), TypeError, "x must be a tensor"),
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, X06, torch.zeros(3, 3), 2, 1, 4), ValueError, "w_q must have shape (D, D)"),
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, X06, W_Q06, 9, 1, 4), ValueError, "query must be an int"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, X06, torch.zeros(3, 5), torch.zeros(5, 3)), ValueError, "w_q must have shape (Dk, D)"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, "x", W_Q06, X06), TypeError, "x must be a tensor"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, X06, W_Q06, torch.zeros(4, 4)), ValueError, "keys must have shape (T, Dk)"),
    ("selfcheck.rows_without_keys", lambda: selfcheck.rows_without_keys(0, torch.zeros(2, 3)), ValueError, "padding_mask must have dtype torch.bool"),
    ("selfcheck.rows_without_keys", lambda: selfcheck.rows_without_keys(0, None), TypeError, "padding_mask must be a tensor"),
    ("selfcheck.attention_rollout", lambda: selfcheck.attention_rollout(None, torch.zeros(2, 4, 4)), ValueError, "weights must have shape (L, H, T, T)"),
    ("selfcheck.attention_rollout", lambda: selfcheck.attention_rollout(None, torch.zeros(1, 1, 3, 4)), ValueError, "weights must be square"),
    ("selfcheck.sinusoidal_shift_matrix", lambda: selfcheck.sinusoidal_shift_matrix(None, 3, 7), ValueError, "emb_dim must be even"),
    ("selfcheck.sinusoidal_shift_matrix", lambda: selfcheck.sinusoidal_shift_matrix(None, 1.5, 8), TypeError, "offset must be an int"),
    ("selfcheck.kv_cache_bytes", lambda: selfcheck.kv_cache_bytes(1, 0, 1, 1, 1, 1, 4), ValueError, "num_layers must be an int >= 1"),
    ("selfcheck.kv_cache_bytes", lambda: selfcheck.kv_cache_bytes(1, 6, 1, 1, 1, 1, 4.0), TypeError, "bytes_per_number must be an int"),
]

# --- chapter 07 ---

# --- chapter 08 ---

# --- chapter 09 ---
