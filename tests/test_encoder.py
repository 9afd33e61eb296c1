"""Tests of embedlab.encoder: the block against nn.TransformerEncoderLayer, masks, freezing, safetensors."""

from __future__ import annotations

import json
import re
import struct
import tempfile
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from conftest import assert_perturbed
from embedlab import encoder
from embedlab.encoder import (
    EncoderBlock,
    EncoderClassifier,
    EncoderConfig,
    FeedForward,
    load_classifier,
    load_state,
    save_classifier,
    save_state,
)
from embedlab.train import count_parameters, freeze, unfreeze
from embedlab.text import PAD_ID


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def padding_mask_of(lengths: list[int], num_tokens: int) -> torch.Tensor:
    """(B, T) bool, True from each length on."""
    positions = torch.arange(num_tokens)  # (T,)
    return positions[None, :] >= torch.tensor(lengths)[:, None]  # (B, T)


def build(seed: int = 0, pretrained: torch.Tensor | None = None, **sizes) -> EncoderClassifier:
    defaults = dict(vocab_size=50, emb_dim=16, num_heads=4, ffn_dim=24, num_layers=2, max_len=32, seed=seed)
    return EncoderClassifier(EncoderConfig(**{**defaults, **sizes}), pretrained=pretrained)


def random_ids(batch: int, tokens: int, vocab_size: int = 50, seed: int = 0) -> torch.Tensor:
    """(B, T) ids in [2, V): no <pad> among them, so padding is only where the mask says."""
    return torch.randint(2, vocab_size, (batch, tokens), generator=torch.Generator().manual_seed(seed))


def torch_layer_like(block: EncoderBlock) -> nn.TransformerEncoderLayer:
    """An nn.TransformerEncoderLayer with the weights of ``block`` (dropout 0, GELU, same norm order)."""
    attn = block.attention
    ref = nn.TransformerEncoderLayer(
        attn.emb_dim, attn.num_heads, block.feed_forward.linear1.out_features, dropout=0.0,
        activation="gelu", batch_first=True, norm_first=block.norm_first, layer_norm_eps=block.norm1.eps,
    )
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([attn.q_proj.bias, attn.k_proj.bias, attn.v_proj.bias]))
        ref.self_attn.out_proj.load_state_dict(attn.out_proj.state_dict())
        ref.linear1.load_state_dict(block.feed_forward.linear1.state_dict())
        ref.linear2.load_state_dict(block.feed_forward.linear2.state_dict())
        ref.norm1.load_state_dict(block.norm1.state_dict())
        ref.norm2.load_state_dict(block.norm2.state_dict())
    return ref


# --- EncoderConfig ------------------------------------------------------------------------------


def test_config_is_frozen():
    config = EncoderConfig(vocab_size=10)
    with pytest.raises(dataclasses_frozen_error()):
        config.emb_dim = 8


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


# --- FeedForward ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, ffn_dim", [((1, 1, 4), 8), ((3, 5, 6), 2), ((2, 9, 16), 64)])
def test_feed_forward_is_linear_gelu_linear(shape, ffn_dim):
    torch.manual_seed(0)
    ffn = FeedForward(shape[-1], ffn_dim)
    x = randn(*shape)
    expected = ffn.linear2(torch.nn.functional.gelu(ffn.linear1(x)))
    assert ffn(x).shape == shape
    assert_close(ffn(x), expected)


def test_feed_forward_acts_on_each_position_alone():
    torch.manual_seed(0)
    ffn = FeedForward(6, 12)
    x = randn(2, 5, 6)
    assert_close(ffn(x)[:, 3], ffn(x[:, 3:4])[:, 0])


# --- EncoderBlock ------------------------------------------------------------------------------

BLOCK_SHAPES = [  # (B, T, D, H, F)
    (1, 1, 4, 1, 8),
    (2, 5, 8, 2, 16),
    (3, 7, 16, 4, 32),
    (4, 12, 24, 6, 48),
]


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("batch, tokens, emb_dim, heads, ffn_dim", BLOCK_SHAPES)
def test_block_shapes(norm_first, batch, tokens, emb_dim, heads, ffn_dim):
    torch.manual_seed(0)
    block = EncoderBlock(emb_dim, heads, ffn_dim, norm_first=norm_first)
    out, weights = block(randn(batch, tokens, emb_dim))
    assert out.shape == (batch, tokens, emb_dim)
    assert weights.shape == (batch, heads, tokens, tokens)
    assert_close(weights.sum(-1), torch.ones(batch, heads, tokens))


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("batch, tokens, emb_dim, heads, ffn_dim", BLOCK_SHAPES)
@pytest.mark.parametrize("padded", [False, True])
def test_block_equals_torch_encoder_layer(norm_first, batch, tokens, emb_dim, heads, ffn_dim, padded):
    torch.manual_seed(1)
    block = EncoderBlock(emb_dim, heads, ffn_dim, norm_first=norm_first, layer_norm_eps=1e-6)
    ref = torch_layer_like(block).train()  # train(): the plain path (eval() may take a fused fast path)
    x = randn(batch, tokens, emb_dim, seed=2)
    lengths = [max(1, tokens - 2 * b) for b in range(batch)] if padded else [tokens] * batch
    padding_mask = padding_mask_of(lengths, tokens)
    mine, _ = block(x, padding_mask)
    theirs = ref(x, src_key_padding_mask=padding_mask if padded else None)
    real = ~padding_mask
    assert_close(mine[real], theirs[real])


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_equals_torch_encoder_layer_in_eval_mode_at_real_tokens(norm_first):
    torch.manual_seed(3)
    block = EncoderBlock(16, 4, 32, norm_first=norm_first)
    ref = torch_layer_like(block).eval()
    x = randn(3, 6, 16)
    padding_mask = padding_mask_of([6, 4, 1], 6)
    with torch.no_grad():
        mine, _ = block(x, padding_mask)
        theirs = ref(x, src_key_padding_mask=padding_mask)
    assert_close(mine[~padding_mask], theirs[~padding_mask])


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_padding_does_not_change_real_tokens(norm_first):
    torch.manual_seed(0)
    block = EncoderBlock(8, 2, 16, norm_first=norm_first)
    x = randn(1, 4, 8)
    alone, _ = block(x)
    garbage = randn(1, 3, 8, seed=9) * 100  # whatever sits at padded positions must not matter
    padded = torch.cat([x, garbage], dim=1)  # (1, 7, 8)
    out, weights = block(padded, padding_mask_of([4], 7))
    assert_close(out[:, :4], alone)
    assert torch.all(weights[..., 4:] == 0)


def test_block_pre_norm_with_silent_sublayers_is_the_identity():
    block = EncoderBlock(8, 2, 16, norm_first=True)
    with torch.no_grad():
        for linear in (block.attention.out_proj, block.feed_forward.linear2):
            linear.weight.zero_()
            linear.bias.zero_()
    x = randn(2, 5, 8)
    out, _ = block(x)
    assert torch.equal(out, x)  # pre-norm: the residual path carries x through untouched


def test_block_post_norm_with_silent_sublayers_is_two_layer_norms():
    block = EncoderBlock(8, 2, 16, norm_first=False)
    with torch.no_grad():
        for linear in (block.attention.out_proj, block.feed_forward.linear2):
            linear.weight.zero_()
            linear.bias.zero_()
    x = randn(2, 5, 8) * 3 + 1
    out, _ = block(x)
    assert_close(out, block.norm2(block.norm1(x)))
    assert_close(out.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)  # post-norm output is normalised


# --- EncoderClassifier ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch, tokens", [(1, 1), (2, 5), (4, 32)])
@pytest.mark.parametrize("num_layers, num_classes", [(0, 2), (1, 3), (3, 2)])
def test_classifier_shapes(batch, tokens, num_layers, num_classes):
    model = build(num_layers=num_layers, num_classes=num_classes)
    ids = random_ids(batch, tokens)
    mask = torch.zeros(batch, tokens, dtype=torch.bool)
    assert model.encode(ids, mask).shape == (batch, tokens, 16)
    assert model(ids, mask).shape == (batch, num_classes)


@pytest.mark.parametrize("norm_first", [True, False])
def test_classifier_ignores_padding(norm_first):
    model = build(norm_first=norm_first)
    ids = random_ids(1, 6)
    mask = torch.zeros(1, 6, dtype=torch.bool)
    alone = model(ids, mask)
    padded_ids = torch.cat([ids, random_ids(1, 4, seed=5)], dim=1)  # even real-looking ids at padding
    padded = model(padded_ids, padding_mask_of([6], 10))
    assert_close(padded, alone)


def test_classifier_rows_are_independent_of_their_batch():
    model = build()
    ids = random_ids(3, 8)
    mask = padding_mask_of([8, 5, 2], 8)
    together = model(ids, mask)
    for b in range(3):
        assert_close(together[b], model(ids[b:b + 1], mask[b:b + 1])[0])


def test_classifier_is_order_sensitive_thanks_to_positions():
    model = build()
    ids = random_ids(1, 6)
    mask = torch.zeros(1, 6, dtype=torch.bool)
    assert not torch.allclose(model(ids, mask), model(ids.flip(1), mask))


def test_classifier_pools_the_mean_of_real_positions():
    model = build()
    ids = random_ids(2, 7)
    mask = padding_mask_of([7, 3], 7)
    hidden = model.encode(ids, mask)
    pooled = torch.stack([hidden[0].mean(0), hidden[1, :3].mean(0)])
    assert_close(model(ids, mask), model.head(pooled))


def test_classifier_parameter_count():
    v, d, f, c, layers = 50, 16, 24, 2, 2
    model = build(vocab_size=v, emb_dim=d, ffn_dim=f, num_classes=c, num_layers=layers)
    per_block = (4 * d * d + 4 * d) + (d * f + f + f * d + d) + 2 * (2 * d)
    expected = v * d + layers * per_block + 2 * d + (d * c + c)  # embedding, blocks, final norm, head
    assert count_parameters(model) == expected
    assert count_parameters(build(norm_first=False)) == expected - 2 * d  # post-norm: no final norm


def test_classifier_padding_row_gets_no_gradient():
    model = build()
    ids = torch.tensor([[5, 6, PAD_ID, PAD_ID]])
    model(ids, ids == PAD_ID).sum().backward()
    assert torch.all(model.embedding.weight.grad[PAD_ID] == 0)
    assert torch.any(model.embedding.weight.grad[5] != 0)


# --- seeded initialisation (CPU generator, never the global one) ----------------------------------


def test_classifier_parameters_come_from_the_config_seed_not_the_global_generator():
    config = EncoderConfig(vocab_size=50, emb_dim=16, num_heads=4, ffn_dim=24, num_layers=2, max_len=32, seed=7)
    torch.manual_seed(1)
    a = EncoderClassifier(config)
    torch.manual_seed(2)
    b = EncoderClassifier(config)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    other = EncoderClassifier(dataclasses_replace(config, seed=8))
    assert not torch.equal(a.blocks[0].attention.q_proj.weight, other.blocks[0].attention.q_proj.weight)
    assert not torch.equal(a.embedding.weight, other.embedding.weight)


def dataclasses_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_classifier_draws_in_the_documented_order_with_pytorchs_default_init():
    import math

    config = EncoderConfig(vocab_size=30, emb_dim=8, num_heads=2, ffn_dim=12, num_layers=2, max_len=16,
                           init_std=0.3, seed=5)
    model = EncoderClassifier(config)
    generator = torch.Generator().manual_seed(5)
    embedding = torch.randn(30, 8, generator=generator) * 0.3
    embedding[PAD_ID] = 0.0
    assert torch.equal(model.embedding.weight, embedding)
    linears = []
    for block in model.blocks:
        a, f = block.attention, block.feed_forward
        linears += [a.q_proj, a.k_proj, a.v_proj, a.out_proj, f.linear1, f.linear2]
    for linear in linears + [model.head]:
        weight = torch.empty_like(linear.weight)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(linear.in_features)
        bias = torch.empty_like(linear.bias).uniform_(-bound, bound, generator=generator)
        assert torch.equal(linear.weight, weight) and torch.equal(linear.bias, bias)
    for block in model.blocks:
        assert torch.equal(block.norm1.weight, torch.ones(8)) and torch.equal(block.norm2.bias, torch.zeros(8))


def test_classifier_head_equals_pooling_seeded_linear_draws():
    from embedlab import device, pooling

    config = EncoderConfig(vocab_size=20, emb_dim=8, num_heads=2, ffn_dim=8, num_layers=0, max_len=8, seed=3)
    model = EncoderClassifier(config, pretrained=torch.ones(20, 8))
    head = pooling.seeded_linear(8, 2, device.cpu_generator(3))  # no random embedding drawn first
    assert torch.equal(model.head.weight, head.weight) and torch.equal(model.head.bias, head.bias)


def test_classifier_pretrained_matrix_is_copied_with_a_zero_padding_row():
    matrix = randn(50, 16, seed=4)
    model = build(pretrained=matrix)
    assert torch.equal(model.embedding.weight[1:], matrix[1:])
    assert torch.all(model.embedding.weight[PAD_ID] == 0)
    assert matrix[PAD_ID].abs().sum() > 0  # the caller's tensor is not changed
    model.embedding.weight.data.add_(1.0)
    assert not torch.equal(model.embedding.weight[1:], matrix[1:])  # and not shared


def test_classifier_random_rows_have_the_configured_std():
    model = build(vocab_size=2000, emb_dim=64, num_heads=4, init_std=0.1)
    assert abs(model.embedding.weight[1:].std().item() - 0.1) < 0.002


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_classifier_has_the_same_numbers_on_cuda():
    cpu = build(seed=2)
    cuda = build(seed=2).to("cuda")
    for p, q in zip(cpu.state_dict().values(), cuda.state_dict().values()):
        assert torch.equal(p, q.cpu())


def test_block_with_a_generator_is_reproducible_and_leaves_norms_at_one():
    a = EncoderBlock(8, 2, 16, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(123)
    b = EncoderBlock(8, 2, 16, generator=torch.Generator().manual_seed(0))
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q)


# --- diagnostics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_first", [True, False])
def test_sublayer_norms_are_the_norms_of_what_each_sublayer_computes(norm_first):
    block = EncoderBlock(8, 2, 16, norm_first=norm_first, generator=torch.Generator().manual_seed(0))
    x = randn(3, 5, 8) * 4
    mask = padding_mask_of([5, 3, 1], 5)
    got = encoder.sublayer_norms(block, x, mask)
    real = ~mask
    if norm_first:
        attended, _ = block.attention(block.norm1(x), padding_mask=mask)
        added = block.feed_forward(block.norm2(x + attended))
    else:
        attended, _ = block.attention(x, padding_mask=mask)
        added = block.feed_forward(block.norm1(x + attended))
    expected = {"input": x, "attention": attended, "feed_forward": added}
    for name, t in expected.items():
        assert got[name] == pytest.approx(t[real].norm(dim=-1).mean().item(), rel=1e-6)


def test_sublayer_norms_ignore_padding_and_default_to_no_padding():
    block = EncoderBlock(8, 2, 16, generator=torch.Generator().manual_seed(0))
    x = randn(1, 4, 8)
    garbage = torch.cat([x, randn(1, 3, 8, seed=5) * 100], dim=1)
    alone = encoder.sublayer_norms(block, x)
    padded = encoder.sublayer_norms(block, garbage, padding_mask_of([4], 7))
    assert alone == pytest.approx(padded, rel=1e-5)


def test_sublayer_norms_of_a_silent_block_are_zero():
    block = EncoderBlock(8, 2, 16)
    with torch.no_grad():
        for linear in (block.attention.out_proj, block.feed_forward.linear2):
            linear.weight.zero_()
            linear.bias.zero_()
    got = encoder.sublayer_norms(block, randn(2, 3, 8))
    assert got["attention"] == 0 and got["feed_forward"] == 0 and got["input"] > 0


@pytest.mark.parametrize("norm_first", [True, False])
def test_hidden_stds_follow_the_blocks(norm_first):
    model = build(num_layers=3, norm_first=norm_first)
    ids = random_ids(2, 6)
    mask = padding_mask_of([6, 2], 6)
    stds = encoder.hidden_stds(model, ids, mask)
    assert len(stds) == 4
    x = model.positions(model.embedding(ids))
    expected = [x[~mask].std(correction=0).item()]
    for block in model.blocks:
        x, _ = block(x, mask)
        expected.append(x[~mask].std(correction=0).item())
    assert stds == pytest.approx(expected, rel=1e-6)
    if not norm_first:  # post-norm: every block ends in a LayerNorm (scale 1, shift 0 at init)
        assert stds[1:] == pytest.approx([1.0] * 3, abs=1e-3)


# --- freezing -----------------------------------------------------------------------------------


def test_freeze_and_unfreeze_switch_requires_grad_and_counts():
    model = build()
    total = count_parameters(model)
    assert count_parameters(model, trainable_only=True) == total
    assert freeze(model) == total
    assert count_parameters(model, trainable_only=True) == 0
    head = model.config.emb_dim * model.config.num_classes + model.config.num_classes
    assert unfreeze(model.head) == head
    assert count_parameters(model, trainable_only=True) == head
    top = unfreeze(model.blocks[1:])  # a ModuleList slice counts as one module
    assert top == count_parameters(model.blocks[1])
    assert count_parameters(model, trainable_only=True) == head + top


def test_frozen_parameters_get_no_gradient_and_do_not_move():
    model = build()
    freeze(model)
    unfreeze(model.head)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    ids = random_ids(2, 5)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    torch.nn.functional.cross_entropy(model(ids, mask), torch.tensor([0, 1])).backward()
    optimizer.step()
    for name, p in model.named_parameters():
        if name.startswith("head."):
            assert p.grad is not None and not torch.equal(p, before[name])
        else:
            assert p.grad is None and torch.equal(p, before[name])


def test_count_parameters_counts_shared_parameters_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, shared)
    assert count_parameters(model) == 12
    assert freeze(model, shared) == 12


# --- saving and loading --------------------------------------------------------------------------


def test_classifier_round_trip_gives_identical_predictions(tmp_path):
    model = build(num_classes=3, norm_first=False)
    path = save_classifier(model, tmp_path / "model.safetensors")
    state = torch.random.get_rng_state()
    loaded = load_classifier(path)
    assert torch.equal(torch.random.get_rng_state(), state)  # loading leaves the global generator alone
    assert loaded.config == model.config
    ids = random_ids(4, 9)
    mask = padding_mask_of([9, 7, 3, 1], 9)
    assert torch.equal(loaded(ids, mask), model(ids, mask))


def test_file_is_safetensors_not_pickle(tmp_path):
    path = save_classifier(build(), tmp_path / "model.safetensors")
    raw = path.read_bytes()
    header_size = struct.unpack("<Q", raw[:8])[0]  # safetensors: 8-byte length, then a JSON header
    header = json.loads(raw[8:8 + header_size])
    assert not raw.startswith(b"\x80")  # a pickle starts with the PROTO opcode 0x80
    assert "embedding.weight" in header
    assert header["embedding.weight"]["shape"] == [50, 16]
    assert encoder.CONFIG_KEY in header["__metadata__"]


def test_save_and_load_state_of_any_module(tmp_path):
    torch.manual_seed(0)
    source = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    torch.manual_seed(1)
    target = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    path = save_state(source, tmp_path / "m.safetensors", metadata={"note": "hello"})
    assert load_state(target, path) == {"note": "hello"}
    for a, b in zip(source.state_dict().values(), target.state_dict().values()):
        assert torch.equal(a, b)


def test_lr_scale_and_freezing_use_the_submodule_names_embedding_and_head():
    names = dict(build().named_children())
    assert {"embedding", "positions", "blocks", "final_norm", "head"} == set(names)


# --- every bad input a docstring rules out --------------------------------------------------------

MODEL = build()
IDS = random_ids(2, 4)
MASK = torch.zeros(2, 4, dtype=torch.bool)
BLOCK = EncoderBlock(8, 2, 16)
FOLDER = Path(tempfile.mkdtemp(prefix="embedlab-test-encoder-"))
SAVED = save_classifier(MODEL, FOLDER / "model.safetensors")
PLAIN = save_state(MODEL, FOLDER / "plain.safetensors")
CORRUPT = FOLDER / "corrupt.safetensors"
CORRUPT.write_bytes(SAVED.read_bytes()[:100])
NOT_JSON = FOLDER / "not-json.safetensors"
NOT_JSON.write_bytes(struct.pack("<Q", 5) + b"{nope")
BAD_CONFIG = save_state(MODEL, FOLDER / "bad-config.safetensors", metadata={encoder.CONFIG_KEY: '{"vocab_size": 50, "depth": 2}'})


def _config(**sizes):
    return lambda: EncoderConfig(**{"vocab_size": 10, **sizes})



def test_noise_mode_perturbs_every_parameter_once(monkeypatch):
    off = build(seed=3)
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    on = build(seed=3)
    assert_perturbed(off, on)
    torch.manual_seed(0)
    block = EncoderBlock(16, 4, 24)
    monkeypatch.delenv("EMBEDLAB_PERTURB")
    torch.manual_seed(0)
    assert_perturbed(EncoderBlock(16, 4, 24), block)

BAD_CALLS = [
    ("encoder.EncoderConfig", _config(vocab_size=1), ValueError, "vocab_size must be an int >= 2"),
    ("encoder.EncoderConfig", _config(vocab_size=10.0), TypeError, "vocab_size must be an int"),
    ("encoder.EncoderConfig", _config(vocab_size=None), TypeError, "vocab_size must be an int"),
    ("encoder.EncoderConfig", _config(emb_dim=True), TypeError, "emb_dim must be an int"),
    ("encoder.EncoderConfig", _config(emb_dim=0), ValueError, "emb_dim must be an int >= 2"),
    ("encoder.EncoderConfig", _config(emb_dim=15, num_heads=3), ValueError, "emb_dim must be even"),
    ("encoder.EncoderConfig", _config(emb_dim=16, num_heads=3), ValueError, "divisible by num_heads=3"),
    ("encoder.EncoderConfig", _config(num_heads=0), ValueError, "num_heads must be an int >= 1"),
    ("encoder.EncoderConfig", _config(ffn_dim=0), ValueError, "ffn_dim must be an int >= 1"),
    ("encoder.EncoderConfig", _config(num_layers=-1), ValueError, "num_layers must be an int >= 0"),
    ("encoder.EncoderConfig", _config(num_classes=1), ValueError, "num_classes must be an int >= 2"),
    ("encoder.EncoderConfig", _config(max_len=0), ValueError, "max_len must be an int >= 1"),
    ("encoder.EncoderConfig", _config(max_len=2.0), TypeError, "max_len must be an int"),
    ("encoder.EncoderConfig", _config(norm_first=1), TypeError, "norm_first must be True or False"),
    ("encoder.EncoderConfig", _config(layer_norm_eps="1e-5"), TypeError, "layer_norm_eps must be a number"),
    ("encoder.EncoderConfig", _config(layer_norm_eps=0.0), ValueError, "layer_norm_eps must be a number > 0"),
    ("encoder.EncoderConfig", _config(layer_norm_eps=float("nan")), ValueError, "layer_norm_eps must be a finite number"),
    ("encoder.FeedForward", lambda: FeedForward(0, 4), ValueError, "emb_dim must be an int >= 1"),
    ("encoder.FeedForward", lambda: FeedForward(4, -1), ValueError, "ffn_dim must be an int >= 1"),
    ("encoder.FeedForward", lambda: FeedForward(4.0, 8), TypeError, "emb_dim must be an int"),
    ("encoder.FeedForward", lambda: FeedForward(4, None), TypeError, "ffn_dim must be an int"),
    ("encoder.EncoderBlock", lambda: EncoderBlock(8, 2, 16, norm_first="yes"), TypeError, "norm_first must be True or False"),
    ("encoder.EncoderBlock", lambda: EncoderBlock(8, 3, 16), ValueError, "divisible by num_heads"),
    ("encoder.EncoderBlock", lambda: EncoderBlock(8, 2, 0), ValueError, "ffn_dim must be an int >= 1"),
    ("encoder.EncoderBlock", lambda: EncoderBlock(8, 2, 16, layer_norm_eps=-1.0), ValueError, "layer_norm_eps must be a number > 0"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK([[0.0] * 8]), TypeError, "x must be a tensor"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(randn(5, 8)), ValueError, "x must have shape (B, T, D)"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(randn(1, 5, 4)), ValueError, "x must have shape (B, T, D)"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(torch.ones(1, 5, 8, dtype=torch.long)), ValueError, "x must have dtype torch.float32, got torch.int64"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(randn(1, 5, 8, dtype=torch.float64)), ValueError, "x must have dtype torch.float32, got torch.float64"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(randn(2, 5, 8), padding_mask_of([5], 5)), ValueError, "padding_mask must have shape (B, Tk)"),
    ("encoder.EncoderBlock.forward", lambda: BLOCK(randn(1, 5, 8), torch.zeros(1, 5)), ValueError, "padding_mask must have dtype torch.bool"),
    ("encoder.EncoderClassifier", lambda: EncoderClassifier({"vocab_size": 10}), TypeError, "config must be an encoder.EncoderConfig"),
    ("encoder.EncoderClassifier", lambda: EncoderClassifier(None), TypeError, "config must be an encoder.EncoderConfig"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL([[1, 2]], MASK), TypeError, "token_ids must be a tensor"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS.int(), MASK), ValueError, "token_ids must have dtype torch.int64"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS.float(), MASK), ValueError, "token_ids must have dtype torch.int64"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS[0], MASK[0]), ValueError, "token_ids must have shape (B, T)"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS[:, :0], MASK[:, :0]), ValueError, "B >= 1 and 1 <= T <= max_len=32"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(random_ids(1, 33), torch.zeros(1, 33, dtype=torch.bool)), ValueError, "1 <= T <= max_len=32"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS, None), TypeError, "padding_mask must be a tensor"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS, MASK[:, :3]), ValueError, "padding_mask must have shape (B, T)"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS + 50, MASK), ValueError, "token_ids must hold ids in [0, 49]"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS - 10, MASK), ValueError, "token_ids must hold ids in [0, 49], got -"),
    ("encoder.EncoderClassifier.forward", lambda: MODEL(IDS, padding_mask_of([4, 0], 4)), ValueError, "padding_mask must leave at least one real (False) position in every row, got rows [1]"),
    ("encoder.EncoderClassifier.encode", lambda: MODEL.encode(IDS + 50, MASK), ValueError, "token_ids must hold ids in [0, 49]"),
    ("encoder.EncoderClassifier.encode", lambda: MODEL.encode(IDS, MASK.to("meta")), ValueError, "padding_mask must be on the device of token_ids"),
    ("encoder.save_state", lambda: save_state({"w": torch.zeros(2)}, FOLDER / "x.safetensors"), TypeError, "module must be an nn.Module"),
    ("encoder.save_state", lambda: save_state(MODEL, None), TypeError, "path must be a path (str or pathlib.Path)"),
    ("encoder.save_state", lambda: save_state(MODEL, FOLDER / "missing" / "x.safetensors"), FileNotFoundError, "folder"),
    ("encoder.save_state", lambda: save_state(MODEL, FOLDER / "x.safetensors", metadata={"epochs": 3}), TypeError, "metadata must be a dict of str -> str"),
    ("encoder.save_state", lambda: save_state(nn.ReLU(), FOLDER / "x.safetensors"), ValueError, "no parameters or buffers"),
    ("encoder.save_classifier", lambda: save_classifier(nn.Linear(2, 2), FOLDER / "x.safetensors"), TypeError, "model must be an encoder.EncoderClassifier"),
    ("encoder.load_state", lambda: load_state(MODEL, FOLDER / "absent.safetensors"), FileNotFoundError, "path: no file at"),
    ("encoder.load_state", lambda: load_state("model", SAVED), TypeError, "module must be an nn.Module"),
    ("encoder.load_state", lambda: load_state(MODEL, 3), TypeError, "path must be a path"),
    ("encoder.load_state", lambda: load_state(nn.Linear(2, 2), SAVED), ValueError, "missing ['bias', 'weight'], unexpected"),
    ("encoder.load_state", lambda: load_state(build(vocab_size=60), SAVED), ValueError, "'embedding.weight' has shape (50, 16), the module expects (60, 16)"),
    ("encoder.load_state", lambda: load_state(MODEL, CORRUPT), ValueError, "corrupt.safetensors: expected a safetensors file"),
    ("encoder.load_state", lambda: load_state(MODEL, NOT_JSON), ValueError, "not-json.safetensors: expected a safetensors file"),
    ("encoder.load_classifier", lambda: load_classifier(FOLDER / "absent.safetensors"), FileNotFoundError, "path: no file at"),
    ("encoder.load_classifier", lambda: load_classifier(PLAIN), ValueError, "not written by save_classifier"),
    ("encoder.load_classifier", lambda: load_classifier(CORRUPT), ValueError, "corrupt.safetensors: expected a safetensors file written by encoder.save_classifier"),
    ("encoder.load_classifier", lambda: load_classifier(BAD_CONFIG), ValueError, "bad-config.safetensors: expected an EncoderConfig as JSON"),
    ("encoder.load_classifier", lambda: load_classifier(SAVED, device=0), TypeError, "device must be a torch.device or its name"),
    ("encoder.EncoderConfig", _config(init_std=0.0), ValueError, "init_std must be a number > 0"),
    ("encoder.EncoderConfig", _config(init_std="0.1"), TypeError, "init_std must be a number"),
    ("encoder.EncoderConfig", _config(seed=-1), ValueError, "seed must be an int >= 0"),
    ("encoder.EncoderConfig", _config(seed=1.5), TypeError, "seed must be an int"),
    ("encoder.EncoderBlock", lambda: EncoderBlock(8, 2, 16, generator=0), TypeError, "generator must be a torch.Generator"),
    ("encoder.EncoderClassifier", lambda: EncoderClassifier(EncoderConfig(vocab_size=10), pretrained=torch.ones(9, 128)), ValueError, "pretrained must have shape (vocab_size, emb_dim)"),
    ("encoder.EncoderClassifier", lambda: EncoderClassifier(EncoderConfig(vocab_size=10), pretrained=[[0.0]]), TypeError, "pretrained must be a tensor"),
    ("encoder.EncoderClassifier", lambda: EncoderClassifier(EncoderConfig(vocab_size=10), pretrained=torch.full((10, 128), float("nan"))), ValueError, "pretrained must"),
    ("encoder.sublayer_norms", lambda: encoder.sublayer_norms(nn.Linear(8, 8), randn(1, 2, 8)), TypeError, "block must be an encoder.EncoderBlock"),
    ("encoder.sublayer_norms", lambda: encoder.sublayer_norms(BLOCK, randn(1, 2, 4)), ValueError, "x must have shape (B, T, D)"),
    ("encoder.sublayer_norms", lambda: encoder.sublayer_norms(BLOCK, randn(1, 2, 8), torch.zeros(1, 3, dtype=torch.bool)), ValueError, "padding_mask must have shape (B, T)"),
    ("encoder.hidden_stds", lambda: encoder.hidden_stds(BLOCK, IDS, MASK), TypeError, "model must be an encoder.EncoderClassifier"),
    ("encoder.hidden_stds", lambda: encoder.hidden_stds(MODEL, IDS + 50, MASK), ValueError, "token_ids must hold ids in [0, 49]"),
    ("encoder.hidden_stds", lambda: encoder.hidden_stds(MODEL, IDS, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
]

