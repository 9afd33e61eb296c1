"""Tests of embedlab.attention against PyTorch's own attention, plus every input error."""

from __future__ import annotations

import math
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.testing import assert_close

from conftest import assert_perturbed
from embedlab import attention, text
from embedlab.attention import (
    KVCache,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    additive_mask,
    apply_rotary,
    attention_entropy,
    attn_mask_from_padding,
    causal_mask,
    merge_heads,
    rotary_frequencies,
    scaled_dot_product_attention,
    sinusoidal_positions,
    sinusoidal_shift,
    split_heads,
)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def random_mask(shape: tuple[int, ...], seed: int, keep: float = 0.6) -> torch.Tensor:
    """A random keep-mask with at least one True per row (so no row is fully masked)."""
    mask = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < keep
    mask[..., 0] = True
    return mask


def copy_into_torch_mha(mine: MultiHeadAttention) -> nn.MultiheadAttention:
    """An nn.MultiheadAttention holding the same weights as ``mine``."""
    has_bias = mine.q_proj.bias is not None
    ref = nn.MultiheadAttention(mine.emb_dim, mine.num_heads, bias=has_bias, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mine.q_proj.weight, mine.k_proj.weight, mine.v_proj.weight]))
        ref.out_proj.weight.copy_(mine.out_proj.weight)
        if mine.q_proj.bias is not None:
            ref.in_proj_bias.copy_(torch.cat([mine.q_proj.bias, mine.k_proj.bias, mine.v_proj.bias]))
            ref.out_proj.bias.copy_(mine.out_proj.bias)
    return ref


# --- scaled_dot_product_attention ---------------------------------------------------------------

SHAPES = [  # (leading dims, Tq, Tk, Dk, Dv)
    ((), 1, 1, 1, 1),
    ((), 5, 5, 4, 4),
    ((3,), 4, 7, 8, 2),
    ((2, 3), 6, 6, 16, 16),
    ((2, 4), 3, 9, 8, 5),
]


@pytest.mark.parametrize("lead, tq, tk, dk, dv", SHAPES)
@pytest.mark.parametrize("mask_kind", ["none", "random", "causal", "padding"])
def test_matches_torch_sdpa_math_backend(lead, tq, tk, dk, dv, mask_kind):
    q, k, v = randn(*lead, tq, dk, seed=1), randn(*lead, tk, dk, seed=2), randn(*lead, tk, dv, seed=3)
    if mask_kind == "none":
        mask = None
    elif mask_kind == "random":
        mask = random_mask((*lead, tq, tk), seed=4)
    elif mask_kind == "causal":
        mask = torch.ones(tq, tk, dtype=torch.bool).tril()  # (Tq, Tk), broadcast over leading dims
    else:
        padding_mask = torch.zeros(tk, dtype=torch.bool)
        padding_mask[max(1, tk - 2):] = True
        mask = ~padding_mask  # (Tk,), broadcast over queries
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    with sdpa_kernel(SDPBackend.MATH):
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert output.shape == (*lead, tq, dv)
    assert weights.shape == (*lead, tq, tk)
    assert_close(output, expected)
    if mask is not None:
        assert torch.all(weights[~mask.expand_as(weights)] == 0)


@pytest.mark.parametrize("tokens", [1, 4, 9])
def test_causal_matches_torch_is_causal(tokens):
    q, k, v = randn(2, 3, tokens, 8, seed=5), randn(2, 3, tokens, 8, seed=6), randn(2, 3, tokens, 8, seed=7)
    output, _ = scaled_dot_product_attention(q, k, v, causal_mask(tokens))
    with sdpa_kernel(SDPBackend.MATH):
        expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert_close(output, expected)


def test_exact_values_of_a_hand_example():
    q = torch.tensor([[1.0, 0.0]])  # (Tq=1, Dk=2)
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # (Tk=2, Dk=2)
    v = torch.tensor([[10.0], [20.0]])  # (Tk=2, Dv=1)
    output, weights = scaled_dot_product_attention(q, k, v)
    first = 1.0 / (1.0 + math.exp(-1.0 / math.sqrt(2.0)))  # softmax([1/sqrt 2, 0])[0]
    assert_close(weights, torch.tensor([[first, 1.0 - first]]))
    assert_close(output, torch.tensor([[10.0 * first + 20.0 * (1.0 - first)]]))


def test_exact_values_under_a_fixed_seed():
    q, k, v = randn(3, 4, seed=11), randn(3, 4, seed=12), randn(3, 2, seed=13)
    output, weights = scaled_dot_product_attention(q, k, v)
    expected = torch.softmax((q.double() @ k.double().T) / 2.0, dim=-1)
    assert_close(weights, expected.float())
    assert_close(output, (expected @ v.double()).float())


@pytest.mark.parametrize("lead, tq, tk, dk, dv", SHAPES)
@pytest.mark.parametrize("masked", [False, True])
def test_each_query_weights_sum_to_one(lead, tq, tk, dk, dv, masked):
    q, k, v = randn(*lead, tq, dk, seed=21), randn(*lead, tk, dk, seed=22), randn(*lead, tk, dv, seed=23)
    mask = random_mask((*lead, tq, tk), seed=24) if masked else None
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights >= 0)
    assert_close(weights.sum(dim=-1), torch.ones(*lead, tq))


def test_fully_masked_row_gives_zero_weights_zero_output_and_finite_grads():
    q, k, v = (randn(2, 4, 3, seed=s).requires_grad_() for s in (31, 32, 33))
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[0, 2] = False  # query 2 of batch 0 may see nothing
    output, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.all(weights[0, 2] == 0) and torch.all(output[0, 2] == 0)
    assert_close(weights.sum(-1)[0], torch.tensor([1.0, 1.0, 0.0, 1.0]))
    output.sum().backward()
    for name, x in (("q", q), ("k", k), ("v", v)):
        assert torch.isfinite(x.grad).all(), name
    assert torch.all(q.grad[0, 2] == 0)  # the masked query influences nothing
    with sdpa_kernel(SDPBackend.MATH):  # PyTorch's own answer for such a row is also zeros
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_close(output, expected)


def test_fully_masked_row_has_no_nan_in_any_intermediate():
    q, k, v = (randn(1, 3, 2, seed=s, dtype=torch.float64).requires_grad_() for s in (34, 35, 36))
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, True]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # detect_anomaly warns that it is slow
        with torch.autograd.detect_anomaly():  # raises if any backward step produces NaN
            output, _ = scaled_dot_product_attention(q, k, v, mask)
            output.sum().backward()
    assert torch.isfinite(q.grad).all() and torch.isfinite(k.grad).all() and torch.isfinite(v.grad).all()


def test_padded_keys_do_not_change_the_real_tokens():
    q, k, v = randn(1, 3, 4, seed=41), randn(1, 3, 4, seed=42), randn(1, 3, 4, seed=43)
    short, _ = scaled_dot_product_attention(q, k, v)
    k_pad = torch.cat([k, randn(1, 2, 4, seed=44)], dim=1)  # two padding keys with random content
    v_pad = torch.cat([v, randn(1, 2, 4, seed=45)], dim=1)
    padding_mask = torch.tensor([[False, False, False, True, True]])
    padded, weights = scaled_dot_product_attention(q, k_pad, v_pad, attn_mask_from_padding(padding_mask))
    assert_close(padded, short)
    assert torch.all(weights[..., 3:] == 0)


@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_float64(masked):
    q = randn(2, 3, 4, seed=51, dtype=torch.float64).requires_grad_()
    k = randn(2, 5, 4, seed=52, dtype=torch.float64).requires_grad_()
    v = randn(2, 5, 3, seed=53, dtype=torch.float64).requires_grad_()
    mask = random_mask((2, 3, 5), seed=54) if masked else None

    def run(q, k, v):
        output, weights = scaled_dot_product_attention(q, k, v, mask)
        return output, weights

    assert torch.autograd.gradcheck(run, (q, k, v))


def test_gradients_match_torch_sdpa():
    q, k, v = (randn(2, 2, 5, 4, seed=s, dtype=torch.float64).requires_grad_() for s in (61, 62, 63))
    mask = random_mask((2, 1, 5, 5), seed=64)
    grad_out = randn(2, 2, 5, 4, seed=65, dtype=torch.float64)
    mine = torch.autograd.grad(scaled_dot_product_attention(q, k, v, mask)[0], (q, k, v), grad_out)
    with sdpa_kernel(SDPBackend.MATH):
        ref_output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        ref = torch.autograd.grad(ref_output, (q, k, v), grad_out)
    for a, b in zip(mine, ref):
        assert_close(a, b)


# --- masks and entropy --------------------------------------------------------------------------


@pytest.mark.parametrize("tokens", [1, 2, 6])
def test_causal_mask_is_lower_triangle(tokens):
    mask = causal_mask(tokens)
    assert mask.dtype == torch.bool and mask.shape == (tokens, tokens)
    assert torch.equal(mask, torch.tril(torch.ones(tokens, tokens)).bool())


def test_attn_mask_from_pad_batch():
    token_ids, padding_mask = text.pad_batch([[5, 6, 7], [8], [9, 10]])
    keep = attn_mask_from_padding(padding_mask)
    assert keep.shape == (3, 1, 3)
    assert torch.equal(keep[:, 0], torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]]).bool())
    assert torch.equal(keep[:, 0], token_ids != text.PAD_ID)


@pytest.mark.parametrize("tokens", [1, 3, 10])
def test_attention_entropy(tokens):
    uniform = torch.full((2, tokens), 1.0 / tokens)
    assert_close(attention_entropy(uniform), torch.full((2,), math.log(tokens)))
    one_hot = torch.eye(tokens)
    assert_close(attention_entropy(one_hot), torch.zeros(tokens))
    weights = torch.softmax(randn(4, tokens, seed=71), dim=-1)
    assert_close(attention_entropy(weights), -(weights * weights.log()).sum(-1))


# --- heads and multi-head attention -------------------------------------------------------------


@pytest.mark.parametrize("batch, tokens, emb_dim, num_heads", [(1, 1, 4, 1), (2, 5, 8, 2), (3, 4, 12, 4)])
def test_split_and_merge_heads(batch, tokens, emb_dim, num_heads):
    x = randn(batch, tokens, emb_dim, seed=81)
    heads = split_heads(x, num_heads)
    head_dim = emb_dim // num_heads
    assert heads.shape == (batch, num_heads, tokens, head_dim)
    last = num_heads - 1
    assert_close(heads[:, last], x[:, :, last * head_dim:])  # the last head holds the last Dh features
    assert torch.equal(merge_heads(heads), x)


@pytest.mark.parametrize("emb_dim, num_heads", [(4, 1), (8, 2), (12, 3), (16, 8)])
@pytest.mark.parametrize("masks", ["none", "padding", "causal", "both", "batch_mask"])
def test_mha_matches_torch_multihead_attention(emb_dim, num_heads, masks):
    torch.manual_seed(0)
    mine = MultiHeadAttention(emb_dim, num_heads)
    ref = copy_into_torch_mha(mine)
    x = randn(3, 5, emb_dim, seed=91)
    _, padding_mask = text.pad_batch([[1, 2, 3, 4, 5], [1, 2], [1, 2, 3]])
    padding = padding_mask if masks in ("padding", "both") else None
    if masks in ("causal", "both"):
        mask = causal_mask(5)
    elif masks == "batch_mask":
        mask = random_mask((3, 5, 5), seed=92)
    else:
        mask = None
    output, weights = mine(x, padding_mask=padding, mask=mask)
    forbid = None if mask is None else ~mask  # nn.MultiheadAttention: True = may NOT attend
    if forbid is not None and forbid.dim() == 3:
        forbid = forbid.repeat_interleave(num_heads, dim=0)  # (B, Tq, Tk) -> (B * H, Tq, Tk)
    ref_output, ref_weights = ref(x, x, x, key_padding_mask=padding, attn_mask=forbid, average_attn_weights=False)
    assert output.shape == (3, 5, emb_dim) and weights.shape == (3, num_heads, 5, 5)
    assert_close(output, ref_output)
    assert_close(weights, ref_weights)


@pytest.mark.parametrize("num_heads", [1, 2, 4])
def test_mha_cross_attention_matches_torch(num_heads):
    torch.manual_seed(1)
    mine = MultiHeadAttention(8, num_heads)
    ref = copy_into_torch_mha(mine)
    query, key, value = randn(2, 3, 8, seed=101), randn(2, 6, 8, seed=102), randn(2, 6, 8, seed=103)
    padding_mask = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    output, weights = mine(query, key, value, padding_mask=padding_mask)
    ref_output, ref_weights = ref(
        query, key, value, key_padding_mask=padding_mask, average_attn_weights=False
    )
    assert_close(output, ref_output)
    assert_close(weights, ref_weights)


def test_mha_without_bias_matches_torch():
    torch.manual_seed(2)
    mine = MultiHeadAttention(8, 2, bias=False)
    ref = copy_into_torch_mha(mine)
    x = randn(2, 4, 8, seed=111)
    assert_close(mine(x)[0], ref(x, x, x)[0])


@pytest.mark.parametrize("emb_dim, num_heads", [(8, 2), (384, 12)])
def test_mha_parameter_count(emb_dim, num_heads):
    mine = MultiHeadAttention(emb_dim, num_heads)
    count = sum(p.numel() for p in mine.parameters())
    assert count == 4 * emb_dim * emb_dim + 4 * emb_dim
    assert count == sum(p.numel() for p in nn.MultiheadAttention(emb_dim, num_heads).parameters())


def test_mha_weights_sum_to_one_and_gradients_reach_every_parameter():
    torch.manual_seed(3)
    mine = MultiHeadAttention(8, 4)
    x = randn(2, 5, 8, seed=121).requires_grad_()
    _, padding_mask = text.pad_batch([[1, 2, 3, 4, 5], [1, 2, 3]])
    output, weights = mine(x, padding_mask=padding_mask)
    assert_close(weights.sum(-1), torch.ones(2, 4, 5))
    assert torch.all(weights[1, :, :, 3:] == 0)
    output.sum().backward()
    assert torch.isfinite(x.grad).all()
    for name, p in mine.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_mha_gradcheck_float64():
    torch.manual_seed(4)
    mine = MultiHeadAttention(4, 2).double()
    x = randn(1, 3, 4, seed=131, dtype=torch.float64).requires_grad_()
    mask = causal_mask(3)
    assert torch.autograd.gradcheck(lambda x: mine(x, mask=mask)[0], (x,))


@pytest.mark.parametrize("num_heads", [1, 2])
def test_mha_is_permutation_equivariant_without_positions(num_heads):
    torch.manual_seed(5)
    mine = MultiHeadAttention(8, num_heads)
    x = randn(2, 6, 8, seed=141)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    output, _ = mine(x)
    permuted, _ = mine(x[:, perm])
    assert_close(permuted, output[:, perm])
    add_positions = SinusoidalPositionalEncoding(8, max_len=6)
    with_pos, _ = mine(add_positions(x))
    with_pos_permuted, _ = mine(add_positions(x[:, perm]))
    assert (with_pos_permuted - with_pos[:, perm]).abs().max() > 1e-3


# --- positional encoding ------------------------------------------------------------------------


@pytest.mark.parametrize("num_positions, emb_dim", [(1, 2), (7, 4), (50, 16)])
def test_sinusoidal_positions_formula(num_positions, emb_dim):
    encoding = sinusoidal_positions(num_positions, emb_dim)
    assert encoding.shape == (num_positions, emb_dim) and encoding.dtype == torch.float32
    for p in range(num_positions):
        for i in range(emb_dim // 2):
            angle = p / 10000 ** (2 * i / emb_dim)
            assert encoding[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert encoding[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_dot_product_depends_only_on_offset():
    encoding = sinusoidal_positions(40, 32).double()
    for offset in (1, 5, 12):
        dots = (encoding[:-offset] * encoding[offset:]).sum(-1)  # PE[p] . PE[p + offset] for every p
        assert_close(dots, dots[:1].expand_as(dots), atol=1e-5, rtol=0)
    assert_close((encoding * encoding).sum(-1), torch.full((40,), 16.0, dtype=torch.float64))


def test_positional_encoding_module_adds_the_table():
    module = SinusoidalPositionalEncoding(6, max_len=10)
    assert sum(p.numel() for p in module.parameters()) == 0
    x = randn(2, 4, 6, seed=151)
    assert_close(module(x), x + sinusoidal_positions(4, 6))
    assert "encoding" not in module.state_dict()


def test_public_names():
    assert set(attention.__all__) == {
        "scaled_dot_product_attention", "attn_mask_from_padding", "additive_mask", "causal_mask", "attention_entropy",
        "split_heads", "merge_heads", "KVCache", "MultiHeadAttention",
        "sinusoidal_positions", "sinusoidal_shift", "SinusoidalPositionalEncoding",
        "rotary_frequencies", "apply_rotary",
    }


def test_additive_mask_values_and_shape():
    padding_mask = torch.tensor([[False, False, True], [False, True, True]])
    mask = additive_mask(padding_mask)
    assert mask.shape == (2, 1, 1, 3) and mask.dtype == torch.float32
    lowest = torch.finfo(torch.float32).min
    assert torch.equal(mask[:, 0, 0], torch.tensor([[0.0, 0.0, lowest], [0.0, lowest, lowest]]))
    assert additive_mask(padding_mask, torch.float64).dtype == torch.float64


# --- cross-attention, causal masks with a past, the KV cache -------------------------------------


def test_cross_attention_equals_nn_multihead_attention():
    torch.manual_seed(3)
    mine = MultiHeadAttention(8, 2)
    theirs = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([mine.q_proj.weight, mine.k_proj.weight, mine.v_proj.weight]))
        theirs.in_proj_bias.copy_(torch.cat([mine.q_proj.bias, mine.k_proj.bias, mine.v_proj.bias]))
        theirs.out_proj.load_state_dict(mine.out_proj.state_dict())
    query, memory = randn(2, 3, 8, seed=1), randn(2, 7, 8, seed=2)
    padding_mask = torch.tensor([[False] * 7, [False] * 4 + [True] * 3])
    out, weights = mine(query, memory, padding_mask=padding_mask)
    ref, ref_weights = theirs(query, memory, memory, key_padding_mask=padding_mask, average_attn_weights=False)
    assert out.shape == (2, 3, 8) and weights.shape == (2, 2, 3, 7)
    assert_close(out, ref)
    assert_close(weights, ref_weights)
    assert torch.equal(weights[1, :, :, 4:], torch.zeros(2, 3, 3))
    alone, _ = mine(query[1:], memory[1:, :4])  # the padded memory cut to its 4 real tokens
    assert_close(out[1:], alone)


@pytest.mark.parametrize("num_tokens, num_past", [(1, 0), (1, 5), (3, 2), (4, 0)])
def test_causal_mask_with_a_past(num_tokens, num_past):
    mask = causal_mask(num_tokens, num_past=num_past)
    assert mask.shape == (num_tokens, num_past + num_tokens)
    for i in range(num_tokens):
        for j in range(num_past + num_tokens):
            assert bool(mask[i, j]) == (j <= num_past + i)
    full = causal_mask(num_past + num_tokens)
    assert torch.equal(mask, full[num_past:])


def test_kv_cache_append_and_shapes():
    cache = KVCache(2, 3, 4)
    assert cache.length == 0 and cache.keys.shape == (2, 3, 0, 4) and cache.values.dtype == torch.float32
    k1, v1 = randn(2, 3, 5, 4, seed=1), randn(2, 3, 5, 4, seed=2)
    keys, values = cache.append(k1, v1)
    assert cache.length == 5 and torch.equal(keys, k1) and torch.equal(values, v1)
    k2, v2 = randn(2, 3, 1, 4, seed=3), randn(2, 3, 1, 4, seed=4)
    keys, values = cache.append(k2, v2)
    assert keys.shape == (2, 3, 6, 4) and torch.equal(keys[:, :, 5:], k2) and torch.equal(values[:, :, :5], v1)


@pytest.mark.parametrize("prefill", [1, 4])
def test_decoding_with_a_cache_equals_the_full_causal_pass(prefill):
    torch.manual_seed(5)
    mha = MultiHeadAttention(12, 3)
    x = randn(2, 9, 12, seed=6)
    padding_mask = torch.zeros(2, 9, dtype=torch.bool)
    full, full_weights = mha(x, padding_mask=padding_mask, mask=causal_mask(9))
    cache = KVCache(2, 3, 4)
    first, _ = mha(x[:, :prefill], cache=cache, mask=causal_mask(prefill))
    steps = [first]
    for t in range(prefill, 9):
        out, weights = mha(x[:, t : t + 1], cache=cache, padding_mask=padding_mask[:, : t + 1])
        assert weights.shape == (2, 3, 1, t + 1) and cache.keys.shape == (2, 3, t + 1, 4)
        assert_close(weights[:, :, 0], full_weights[:, :, t, : t + 1])
        steps.append(out)
    assert_close(torch.cat(steps, dim=1), full)
    # the cache holds exactly the keys and values of the whole sequence
    assert_close(cache.keys, split_heads(mha.k_proj(x), 3))
    assert_close(cache.values, split_heads(mha.v_proj(x), 3))


def test_decoding_with_several_new_tokens_and_a_past_mask():
    torch.manual_seed(7)
    mha = MultiHeadAttention(8, 2)
    x = randn(1, 7, 8, seed=8)
    full, _ = mha(x, mask=causal_mask(7))
    cache = KVCache(1, 2, 4)
    a, _ = mha(x[:, :4], cache=cache, mask=causal_mask(4))
    b, _ = mha(x[:, 4:], cache=cache, mask=causal_mask(3, num_past=4))
    assert_close(torch.cat([a, b], dim=1), full)
    # without the mask the new tokens would see each other's future: a control that must differ
    cache = KVCache(1, 2, 4)
    mha(x[:, :4], cache=cache, mask=causal_mask(4))
    c, _ = mha(x[:, 4:], cache=cache)
    assert (c[:, :2] - b[:, :2]).abs().max() > 1e-4


# --- positions: the rotation property and RoPE ----------------------------------------------------


@pytest.mark.parametrize("offset", [1, 3, -2, 17])
def test_sinusoidal_shift_moves_every_position(offset):
    encoding = sinusoidal_positions(60, 16).double()
    shift = sinusoidal_shift(offset, 16).double()
    lo, hi = max(0, -offset), 60 - max(0, offset)
    assert_close(encoding[lo:hi] @ shift.T, encoding[lo + offset : hi + offset], atol=1e-6, rtol=0)
    assert_close(shift @ shift.T, torch.eye(16, dtype=torch.float64), atol=1e-6, rtol=0)
    assert_close(sinusoidal_shift(-offset, 16), sinusoidal_shift(offset, 16).T)
    off_block = shift.clone()
    for i in range(0, 16, 2):
        off_block[i : i + 2, i : i + 2] = 0
    assert torch.count_nonzero(off_block) == 0


def test_rotary_frequencies_match_the_sinusoid():
    assert_close(rotary_frequencies(8), torch.tensor([1.0, 10000**-0.25, 10000**-0.5, 10000**-0.75], dtype=torch.float64))
    assert rotary_frequencies(4, base=100.0)[1].item() == pytest.approx(0.1)


def test_apply_rotary_equals_transformers_llama():
    llama = pytest.importorskip("transformers.models.llama.modeling_llama")
    from transformers import LlamaConfig

    config = LlamaConfig(hidden_size=48, num_attention_heads=3, num_key_value_heads=3, max_position_embeddings=64)
    rotary = llama.LlamaRotaryEmbedding(config)
    q, k = randn(2, 3, 11, 16, seed=1), randn(2, 3, 11, 16, seed=2)
    positions = torch.arange(11)[None].expand(2, -1)
    cos, sin = rotary(q, positions)  # (B, T, Dh) each
    q_ref, k_ref = llama.apply_rotary_pos_emb(q, k, cos, sin)
    assert_close(apply_rotary(q), q_ref)
    assert_close(apply_rotary(k), k_ref)
    # an offset start equals the same rows of a longer run (the cache case)
    assert_close(apply_rotary(q[:, :, 6:], start=6), q_ref[:, :, 6:])


def test_apply_rotary_keeps_norms_and_makes_scores_relative():
    q, k = randn(1, 1, 1, 8, seed=3).double(), randn(1, 1, 1, 8, seed=4).double()
    assert_close(torch.linalg.vector_norm(apply_rotary(q, start=9)), torch.linalg.vector_norm(q))

    def score(m, n):
        return (apply_rotary(q, start=m) * apply_rotary(k, start=n)).sum().item()

    for gap in (0, 1, 5):
        values = [score(n + gap, n) for n in (0, 3, 20, 41)]
        assert max(values) - min(values) < 1e-9
    assert abs(score(5, 0) - score(0, 5)) > 1e-3  # the sign of the offset matters: not a distance
    assert abs(score(5, 0) - score(6, 0)) > 1e-3
    # at position 0 nothing turns
    assert torch.equal(apply_rotary(q), q)


def test_apply_rotary_is_interleaved_rope_up_to_a_permutation():
    x = randn(2, 5, 8, seed=5).double()
    perm = torch.tensor([0, 2, 4, 6, 1, 3, 5, 7])  # interleaved pair i = (2i, 2i+1) -> (i, i + Dh/2)
    frequencies = rotary_frequencies(8)
    angles = torch.arange(5, dtype=torch.float64)[:, None] * frequencies  # (T, Dh/2)
    pairs = torch.view_as_complex(x.reshape(2, 5, 4, 2).contiguous())  # (B, T, Dh/2)
    interleaved = torch.view_as_real(pairs * torch.polar(torch.ones_like(angles), angles)).reshape(2, 5, 8)
    assert_close(apply_rotary(x[..., perm]), interleaved[..., perm])


# --- every bad input a docstring rules out --------------------------------------------------------

Q = randn(2, 3, 4)
MHA = MultiHeadAttention(8, 2)
X8 = randn(2, 5, 8)
PE = SinusoidalPositionalEncoding(4, max_len=3)
CACHE = KVCache(2, 2, 4)


def test_noise_mode_perturbs_the_projections(monkeypatch):
    torch.manual_seed(0)
    off = MultiHeadAttention(8, 2)
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    torch.manual_seed(0)
    assert_perturbed(off, MultiHeadAttention(8, 2))

BAD_CALLS = [
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention([[1.0]], Q, Q), TypeError, "q must be a tensor"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, None, Q), TypeError, "k must be a tensor"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q, "v"), TypeError, "v must be a tensor"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q.long(), Q, Q), ValueError, "q must have a floating-point dtype"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(2), Q, Q), ValueError, "q must have shape (..., Tq, Dk)"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q.double(), Q), ValueError, "k must have dtype torch.float32, got torch.float64"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q, Q.long()), ValueError, "v must have dtype torch.float32, got torch.int64"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(3, 2, 2), randn(4, 2, 2), randn(4, 2, 2)), ValueError, "k must have shape (..., Tk, Dk)"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(2, 3), randn(2, 4), randn(2, 4)), ValueError, "k must have shape (..., Tk, Dk)"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(2, 3), randn(4, 3), randn(5, 3)), ValueError, "v must have shape (..., Tk, Dv)"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(0, 3), randn(2, 3), randn(2, 3)), ValueError, "at least one token"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(randn(2, 3).to("meta"), randn(2, 3), randn(2, 3)), ValueError, "k must be on the device of q"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q, Q, torch.ones(3, 3)), ValueError, "mask must have dtype torch.bool"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q, Q, [[True]]), TypeError, "mask must be a tensor"),
    ("attention.scaled_dot_product_attention", lambda: scaled_dot_product_attention(Q, Q, Q, torch.ones(2, 3, dtype=torch.bool)), ValueError, "mask must broadcast"),
    ("attention.attn_mask_from_padding", lambda: attn_mask_from_padding([[True]]), TypeError, "padding_mask must be a tensor"),
    ("attention.attn_mask_from_padding", lambda: attn_mask_from_padding(torch.zeros(2, 3)), ValueError, "padding_mask must have dtype torch.bool"),
    ("attention.attn_mask_from_padding", lambda: attn_mask_from_padding(torch.zeros(3, dtype=torch.bool)), ValueError, "padding_mask must have shape (B, T)"),
    ("attention.additive_mask", lambda: additive_mask(None), TypeError, "padding_mask must be a tensor"),
    ("attention.additive_mask", lambda: additive_mask(torch.zeros(2, 3, dtype=torch.long)), ValueError, "padding_mask must have dtype torch.bool"),
    ("attention.additive_mask", lambda: additive_mask(torch.zeros(3, dtype=torch.bool)), ValueError, "padding_mask must have shape (B, T)"),
    ("attention.additive_mask", lambda: additive_mask(torch.zeros(2, 3, dtype=torch.bool), "float32"), TypeError, "dtype must be a torch.dtype"),
    ("attention.additive_mask", lambda: additive_mask(torch.zeros(2, 3, dtype=torch.bool), torch.long), ValueError, "dtype must be a floating-point dtype"),
    ("attention.causal_mask", lambda: causal_mask(0), ValueError, "num_tokens must be an int >= 1"),
    ("attention.causal_mask", lambda: causal_mask(-3), ValueError, "num_tokens must be an int >= 1"),
    ("attention.causal_mask", lambda: causal_mask(2.0), TypeError, "num_tokens must be an int"),
    ("attention.causal_mask", lambda: causal_mask(True), TypeError, "num_tokens must be an int"),
    ("attention.causal_mask", lambda: causal_mask(None), TypeError, "num_tokens must be an int"),
    ("attention.causal_mask", lambda: causal_mask(10**9), ValueError, "num_tokens must be an int >= 1 and <= 16384"),
    ("attention.attention_entropy", lambda: attention_entropy([0.5, 0.5]), TypeError, "weights must be a tensor"),
    ("attention.attention_entropy", lambda: attention_entropy(torch.ones(2, dtype=torch.long)), ValueError, "weights must have a floating-point dtype"),
    ("attention.attention_entropy", lambda: attention_entropy(torch.ones(2, 0)), ValueError, "non-empty last dim"),
    ("attention.attention_entropy", lambda: attention_entropy(torch.tensor([0.5, float("nan")])), ValueError, "weights must hold finite numbers"),
    ("attention.split_heads", lambda: split_heads(randn(2, 3), 1), ValueError, "x must have shape (B, T, D)"),
    ("attention.split_heads", lambda: split_heads("x", 1), TypeError, "x must be a tensor"),
    ("attention.split_heads", lambda: split_heads(randn(1, 2, 6), 4), ValueError, "divisible by num_heads"),
    ("attention.split_heads", lambda: split_heads(randn(1, 2, 6), 0), ValueError, "num_heads must be an int >= 1"),
    ("attention.split_heads", lambda: split_heads(randn(1, 2, 6), 2.0), TypeError, "num_heads must be an int"),
    ("attention.merge_heads", lambda: merge_heads(randn(2, 3, 4)), ValueError, "x must have shape (B, H, T, Dh)"),
    ("attention.merge_heads", lambda: merge_heads(None), TypeError, "x must be a tensor"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(8, 3), ValueError, "divisible by num_heads"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(8, 0), ValueError, "num_heads must be an int >= 1"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(0, 1), ValueError, "emb_dim must be an int >= 1"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(-8, 1), ValueError, "emb_dim must be an int >= 1"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(8.0, 2), TypeError, "emb_dim must be an int"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(8, "2"), TypeError, "num_heads must be an int"),
    ("attention.MultiHeadAttention", lambda: MultiHeadAttention(8, 2, bias=1), TypeError, "bias must be True or False"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(randn(5, 8)), ValueError, "query must have shape (B, Tq, D)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(randn(2, 5, 6)), ValueError, "query must have shape (B, Tq, D)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8.long()), ValueError, "query must have dtype torch.float32, got torch.int64"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8.double()), ValueError, "query must have dtype torch.float32, got torch.float64"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, key=X8.double()), ValueError, "key must have dtype torch.float32, got torch.float64"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, key=randn(3, 5, 8)), ValueError, "key must have shape (B, Tk, D)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, key=X8, value=randn(2, 4, 8)), ValueError, "value must have shape (B, Tk, D)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, value=randn(2, 5, 4)), ValueError, "value must have shape (B, Tk, D)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA([[1.0]]), TypeError, "query must be a tensor"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(None), TypeError, "query must be a tensor"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, padding_mask=torch.zeros(2, 4, dtype=torch.bool)), ValueError, "padding_mask must have shape (B, Tk)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, padding_mask=torch.zeros(2, 5)), ValueError, "padding_mask must have dtype torch.bool"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, padding_mask=[[False] * 5] * 2), TypeError, "padding_mask must be a tensor"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, mask=torch.ones(5, 5)), ValueError, "mask must have dtype torch.bool"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, mask=torch.ones(4, 5, dtype=torch.bool)), ValueError, "mask must broadcast"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, mask=torch.ones(5, dtype=torch.bool)), ValueError, "mask must have shape (Tq, Tk) or (B, Tq, Tk)"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(0, 4), ValueError, "num_positions must be an int >= 1"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(10**12, 4), ValueError, "num_positions must be an int >= 1 and <= 1000000"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(3, 5), ValueError, "emb_dim must be even"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(3, 0), ValueError, "emb_dim must be an int >= 2"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(3.0, 4), TypeError, "num_positions must be an int"),
    ("attention.sinusoidal_positions", lambda: sinusoidal_positions(3, "4"), TypeError, "emb_dim must be an int"),
    ("attention.SinusoidalPositionalEncoding", lambda: SinusoidalPositionalEncoding(4, max_len=0), ValueError, "max_len must be an int >= 1"),
    ("attention.SinusoidalPositionalEncoding", lambda: SinusoidalPositionalEncoding(4, max_len=2.5), TypeError, "max_len must be an int"),
    ("attention.SinusoidalPositionalEncoding", lambda: SinusoidalPositionalEncoding(3), ValueError, "emb_dim must be even"),
    ("attention.SinusoidalPositionalEncoding.forward", lambda: PE(randn(1, 5, 4)), ValueError, "max_len=3"),
    ("attention.SinusoidalPositionalEncoding.forward", lambda: PE(randn(1, 2, 6)), ValueError, "x must have shape (B, T, D)"),
    ("attention.SinusoidalPositionalEncoding.forward", lambda: PE(randn(2, 4)), ValueError, "x must have shape (B, T, D)"),
    ("attention.SinusoidalPositionalEncoding.forward", lambda: PE(torch.ones(1, 2, 4, dtype=torch.long)), ValueError, "x must have a floating-point dtype"),
    ("attention.SinusoidalPositionalEncoding.forward", lambda: PE("x"), TypeError, "x must be a tensor"),
    ("attention.causal_mask", lambda: causal_mask(3, num_past=-1), ValueError, "num_past must be an int >= 0"),
    ("attention.causal_mask", lambda: causal_mask(3, num_past=1.0), TypeError, "num_past must be an int"),
    ("attention.KVCache", lambda: KVCache(0, 2, 4), ValueError, "batch_size must be an int >= 1"),
    ("attention.KVCache", lambda: KVCache(2, "2", 4), TypeError, "num_heads must be an int"),
    ("attention.KVCache", lambda: KVCache(2, 2, 0), ValueError, "head_dim must be an int >= 1"),
    ("attention.KVCache", lambda: KVCache(2, 2, 4, dtype="float32"), TypeError, "dtype must be a torch.dtype"),
    ("attention.KVCache", lambda: KVCache(2, 2, 4, dtype=torch.long), ValueError, "dtype must be a floating-point dtype"),
    ("attention.KVCache.append", lambda: CACHE.append(None, randn(2, 2, 1, 4)), TypeError, "keys must be a tensor"),
    ("attention.KVCache.append", lambda: CACHE.append(randn(2, 3, 1, 4), randn(2, 3, 1, 4)), ValueError, "keys must have shape (B, H, T_new, Dh)"),
    ("attention.KVCache.append", lambda: CACHE.append(randn(2, 2, 1, 4), randn(2, 2, 2, 4)), ValueError, "values must have shape (B, H, T_new, Dh)"),
    ("attention.KVCache.append", lambda: CACHE.append(randn(2, 2, 1, 4).double(), randn(2, 2, 1, 4)), ValueError, "keys must have dtype torch.float32"),
    ("attention.KVCache.append", lambda: CACHE.append(randn(2, 2, 1, 4).to("meta"), randn(2, 2, 1, 4).to("meta")), ValueError, "keys must be on the device of the cache"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache="cache"), TypeError, "cache must be an attention.KVCache"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, key=X8, cache=KVCache(2, 2, 4)), ValueError, "self-attention only"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache=KVCache(3, 2, 4)), ValueError, "cache must hold (B, H, T_past, Dh)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache=KVCache(2, 4, 2)), ValueError, "cache must hold (B, H, T_past, Dh)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache=KVCache(2, 2, 4, dtype=torch.float64)), ValueError, "cache must have the layer's dtype"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache=KVCache(2, 2, 4), padding_mask=torch.zeros(2, 6, dtype=torch.bool)), ValueError, "padding_mask must have shape (B, Tk)"),
    ("attention.MultiHeadAttention.forward", lambda: MHA(X8, cache=KVCache(2, 2, 4), mask=causal_mask(5, num_past=1)), ValueError, "mask must broadcast"),
    ("attention.sinusoidal_shift", lambda: sinusoidal_shift(1.5, 4), TypeError, "offset must be an int"),
    ("attention.sinusoidal_shift", lambda: sinusoidal_shift(1, 5), ValueError, "emb_dim must be even"),
    ("attention.sinusoidal_shift", lambda: sinusoidal_shift(1, 0), ValueError, "emb_dim must be an int >= 2"),
    ("attention.sinusoidal_shift", lambda: sinusoidal_shift(10**9, 4), ValueError, "offset must be an int"),
    ("attention.sinusoidal_shift", lambda: sinusoidal_shift(None, 4), TypeError, "offset must be an int"),
    ("attention.rotary_frequencies", lambda: rotary_frequencies(7), ValueError, "head_dim must be even"),
    ("attention.rotary_frequencies", lambda: rotary_frequencies("8"), TypeError, "head_dim must be an int"),
    ("attention.rotary_frequencies", lambda: rotary_frequencies(8, base=1.0), ValueError, "base must be a number > 1"),
    ("attention.rotary_frequencies", lambda: rotary_frequencies(8, base=float("nan")), ValueError, "base must be a finite number"),
    ("attention.rotary_frequencies", lambda: rotary_frequencies(8, base="10000"), TypeError, "base must be a number"),
    ("attention.apply_rotary", lambda: apply_rotary([[1.0, 2.0]]), TypeError, "x must be a tensor"),
    ("attention.apply_rotary", lambda: apply_rotary(randn(4)), ValueError, "x must have shape (..., T, Dh)"),
    ("attention.apply_rotary", lambda: apply_rotary(randn(2, 5)), ValueError, "x must have an even last dim"),
    ("attention.apply_rotary", lambda: apply_rotary(torch.ones(2, 4, dtype=torch.long)), ValueError, "x must have a floating-point dtype"),
    ("attention.apply_rotary", lambda: apply_rotary(randn(2, 4), start=-1), ValueError, "start must be an int >= 0"),
    ("attention.apply_rotary", lambda: apply_rotary(randn(2, 4), start=2.0), TypeError, "start must be an int"),
    ("attention.apply_rotary", lambda: apply_rotary(randn(2, 4), base=0.5), ValueError, "base must be a number > 1"),
]
