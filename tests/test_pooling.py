"""Tests of embedlab.pooling: each pooling against nn.EmbeddingBag and a loop over examples."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn

from conftest import assert_perturbed
from embedlab import device, pooling, text
from embedlab.pooling import (
    AttentionPool,
    BagClassifier,
    ClassifierConfig,
    Pooling,
    PoolingClassifier,
    attention_pool,
    max_pool,
    mean_pool,
    seeded_linear,
    sqrt_n_pool,
    sqrt_n_weights,
    sum_pool,
)

# (B, T, D) and the number of real tokens of each row; a 0 is an all-padding row.
CASES = [
    ((1, 1, 3), [1]),
    ((2, 4, 5), [4, 2]),
    ((3, 6, 4), [1, 6, 3]),
    ((4, 5, 8), [5, 0, 2, 1]),  # row 1 is all padding
    ((2, 3, 2), [0, 0]),  # every row is all padding
]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These tensors are tiny: one thread is faster, above all on a machine shared with other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _batch(shape, lengths, seed=0, dtype=torch.float64):
    """Random (B, T, D) vectors, garbage (large values) at padding, and the mask of ``lengths``."""
    x = device.randn(shape, seed).to(dtype)  # (B, T, D)
    positions = torch.arange(shape[1])  # (T,)
    padding_mask = positions.unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)  # (B, T)
    x = x.masked_fill(padding_mask.unsqueeze(-1), 1e6)  # padding must never leak into a result
    return x, padding_mask


def _loop(x, lengths, reduce):
    """The reference: pool each row's real tokens on their own; an empty row gives zeros."""
    rows = []
    for b, n in enumerate(lengths):
        rows.append(reduce(x[b, :n]) if n > 0 else torch.zeros(x.shape[2], dtype=x.dtype))
    return torch.stack(rows)  # (B, D)


def _padded_at_least_one_column(id_lists):
    """(B, T) ids and padding mask with T >= 1 even when every list is empty (pad_batch refuses that)."""
    token_ids = torch.zeros(len(id_lists), max(max(map(len, id_lists)), 1), dtype=torch.long)  # (B, T)
    padding_mask = torch.ones_like(token_ids, dtype=torch.bool)
    for b, ids in enumerate(id_lists):
        token_ids[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        padding_mask[b, : len(ids)] = False
    return token_ids, padding_mask


@pytest.mark.parametrize("shape,lengths", CASES)
@pytest.mark.parametrize(
    "pool,reduce",
    [
        (mean_pool, lambda v: v.mean(dim=0)),
        (sum_pool, lambda v: v.sum(dim=0)),
        (sqrt_n_pool, lambda v: v.sum(dim=0) / len(v) ** 0.5),
        (max_pool, lambda v: v.max(dim=0).values),
    ],
    ids=["mean", "sum", "sqrtn", "max"],
)
def test_pool_equals_loop_over_examples(shape, lengths, pool, reduce):
    x, padding_mask = _batch(shape, lengths)
    torch.testing.assert_close(pool(x, padding_mask), _loop(x, lengths, reduce))


@pytest.mark.parametrize("shape,lengths", CASES)
@pytest.mark.parametrize("mode,pool", [("mean", mean_pool), ("sum", sum_pool), ("max", max_pool)])
def test_pool_equals_embedding_bag_on_ragged_input(shape, lengths, mode, pool):
    emb_dim = shape[2]
    vocab_size = 11
    generator = device.cpu_generator(1)
    id_lists = [torch.randint(2, vocab_size, (n,), generator=generator).tolist() for n in lengths]
    weight = device.randn((vocab_size, emb_dim), 2).double()  # (V, D)
    bag = nn.EmbeddingBag.from_pretrained(weight, mode=mode)
    expected = bag(*text.to_bag(id_lists))  # (B, D); empty bags give zeros
    token_ids, padding_mask = _padded_at_least_one_column(id_lists)
    torch.testing.assert_close(pool(weight[token_ids], padding_mask), expected)


@pytest.mark.parametrize("shape,lengths", CASES)
def test_sqrt_n_pool_equals_weighted_embedding_bag_on_ragged_input(shape, lengths):
    emb_dim = shape[2]
    vocab_size = 11
    generator = device.cpu_generator(1)
    id_lists = [torch.randint(2, vocab_size, (n,), generator=generator).tolist() for n in lengths]
    weight = device.randn((vocab_size, emb_dim), 2).double()  # (V, D)
    per_token = torch.tensor([n ** -0.5 for n in lengths for _ in range(n)], dtype=torch.float64)  # by hand
    flat_ids, offsets = text.to_bag(id_lists)
    torch.testing.assert_close(sqrt_n_weights(flat_ids, offsets).double(), per_token)
    expected = nn.EmbeddingBag.from_pretrained(weight, mode="sum")(flat_ids, offsets, per_sample_weights=per_token)
    token_ids, padding_mask = _padded_at_least_one_column(id_lists)
    torch.testing.assert_close(sqrt_n_pool(weight[token_ids], padding_mask), expected)


def test_sqrt_n_weights_skip_padding_idx_and_empty_bags():
    flat_ids = torch.tensor([0, 3, 4, 0, 5, 6, 7, 8], dtype=torch.long)  # id 0 is padding
    offsets = torch.tensor([0, 3, 3, 4], dtype=torch.long)  # bags [0 3 4], [], [0], [5 6 7 8]
    weights = sqrt_n_weights(flat_ids, offsets, padding_idx=0)
    expected = [2 ** -0.5] * 3 + [1.0] + [0.5] * 4  # 2 real ids, (empty), 0 real ids -> 1/sqrt(1), 4 real ids
    torch.testing.assert_close(weights, torch.tensor(expected))


@pytest.mark.parametrize("shape,lengths", CASES)
def test_attention_pool_equals_loop_and_weights_are_a_distribution(shape, lengths):
    x, padding_mask = _batch(shape, lengths)
    query = device.randn(shape[2:], 3).double()  # (D,)
    pooled, weights = attention_pool(x, padding_mask, query)
    expected_rows, expected_weights = [], torch.zeros(shape[:2], dtype=x.dtype)
    for b, n in enumerate(lengths):
        if n == 0:
            expected_rows.append(torch.zeros(shape[2], dtype=x.dtype))
            continue
        w = torch.softmax(x[b, :n] @ query, dim=0)  # (n,)
        expected_weights[b, :n] = w
        expected_rows.append(w @ x[b, :n])
    torch.testing.assert_close(pooled, torch.stack(expected_rows))
    torch.testing.assert_close(weights, expected_weights)
    assert torch.all(weights[padding_mask] == 0)
    sums = weights.sum(dim=1)  # (B,)
    torch.testing.assert_close(sums, torch.tensor([1.0 if n else 0.0 for n in lengths], dtype=x.dtype))


@pytest.mark.parametrize("shape,lengths", CASES)
def test_attention_with_zero_query_is_mean_pooling(shape, lengths):
    x, padding_mask = _batch(shape, lengths)
    pooled, _ = AttentionPool(shape[2]).double()(x, padding_mask)
    torch.testing.assert_close(pooled, mean_pool(x, padding_mask))


@pytest.mark.parametrize("pool", ["mean", "sum", "sqrtn", "max", "attention"])
def test_all_padding_row_gives_zeros_and_finite_gradients(pool):
    x, padding_mask = _batch((3, 4, 5), [4, 0, 2])
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0).requires_grad_(True)
    query = device.randn((5,), 4).double().requires_grad_(True)
    if pool == "attention":
        out, weights = attention_pool(x, padding_mask, query)
        assert torch.all(weights[1] == 0)
    else:
        out = {"mean": mean_pool, "sum": sum_pool, "sqrtn": sqrt_n_pool, "max": max_pool}[pool](x, padding_mask)
    assert torch.all(out[1] == 0)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.all(x.grad[1] == 0)  # an empty row gets no gradient
    assert torch.all(x.grad[padding_mask] == 0)  # nor does any padding position
    if pool == "attention":
        assert torch.isfinite(query.grad).all()


@pytest.mark.parametrize("pool", [mean_pool, sum_pool, sqrt_n_pool, max_pool])
def test_pooling_gradcheck(pool):
    x, padding_mask = _batch((3, 4, 2), [4, 1, 3])
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: pool(t, padding_mask), (x,), fast_mode=True)


def test_attention_pool_gradcheck():
    x, padding_mask = _batch((3, 4, 2), [4, 0, 3])
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0).requires_grad_(True)
    query = device.randn((2,), 5).double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t, q: attention_pool(t, padding_mask, q), (x, query), fast_mode=True)


def test_mean_pool_exact_values():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # (1, 3, 2)
    padding_mask = torch.tensor([[False, False, True]])
    assert mean_pool(x, padding_mask).tolist() == [[2.0, 3.0]]
    assert sum_pool(x, padding_mask).tolist() == [[4.0, 6.0]]
    assert max_pool(x, padding_mask).tolist() == [[3.0, 4.0]]
    torch.testing.assert_close(sqrt_n_pool(x, padding_mask), torch.tensor([[4.0, 6.0]]) / 2**0.5)


def test_mean_pool_is_permutation_invariant():
    x, padding_mask = _batch((2, 6, 4), [6, 4])
    order = torch.randperm(4, generator=device.cpu_generator(7))
    shuffled = x.clone()
    shuffled[1, :4] = x[1, order]
    torch.testing.assert_close(mean_pool(shuffled, padding_mask), mean_pool(x, padding_mask))


# ---------------------------------------------------------------------------------------------
# Classifiers


def _padded(id_lists):
    return text.pad_batch(id_lists)


def _config(*args, **kwargs):
    return ClassifierConfig(*args, **kwargs)


@pytest.mark.parametrize("name", ["mean", "sum", "sqrtn", "max"])
def test_bag_classifier_equals_pooling_classifier(name):
    id_lists = [[2, 3, 4], [5], [6, 7, 2, 2, 9]]
    config = _config(12, 6, 3, pooling=name, seed=3)
    padded = PoolingClassifier(config).double()
    bag = BagClassifier(config).double()
    torch.testing.assert_close(bag.embedding.weight, padded.embedding.weight)
    torch.testing.assert_close(bag(*text.to_bag(id_lists)), padded(*_padded(id_lists)))


@pytest.mark.parametrize("name", list(Pooling))
def test_classifier_shapes_and_attention_weights(name):
    model = PoolingClassifier(_config(20, 8, 3, pooling=name))
    assert model.config.pooling is name and model.pooling is name
    token_ids, padding_mask = _padded([[2, 3, 4, 5], [6, 7]])
    logits = model(token_ids, padding_mask)
    assert logits.shape == (2, 3)
    pooled, weights = model.encode(token_ids, padding_mask)
    assert pooled.shape == (2, 8)
    if name is Pooling.ATTENTION:
        assert weights.shape == (2, 4)
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
        assert isinstance(model.attention, AttentionPool)
    else:
        assert weights is None and model.attention is None


@pytest.mark.parametrize("cls", [PoolingClassifier, BagClassifier])
def test_binary_head_returns_one_logit_per_sequence(cls):
    model = cls(_config(20, 8, 1))
    inputs = _padded([[2, 3], [4]]) if cls is PoolingClassifier else text.to_bag([[2, 3], [4]])
    logits = model(*inputs)
    assert logits.shape == (2,)
    pooled = model.embedding.weight[[2, 3]].mean(0), model.embedding.weight[4]
    torch.testing.assert_close(logits, torch.stack(pooled) @ model.head.weight[0] + model.head.bias[0])


def test_classifier_init_is_seeded_and_padding_row_is_zero():
    a = PoolingClassifier(_config(30, 4, 2, seed=5))
    b = PoolingClassifier(_config(30, 4, 2, seed=5))
    c = PoolingClassifier(_config(30, 4, 2, seed=6))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.embedding.weight, c.embedding.weight)
    assert torch.all(a.embedding.weight[text.PAD_ID] == 0)
    std = a.embedding.weight[1:].std().item()
    assert 0.05 < std < 0.15  # init_std = 0.1


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("vocab_size, emb_dim, num_classes, sparse", [(10_000, 16, 2, False), (500, 300, 2, True), (50, 8, 1, False)])
def test_init_std_1_equals_nn_embedding_and_nn_linear_after_manual_seed(seed, vocab_size, emb_dim, num_classes, sparse):
    """Chapter 03's former MeanPoolClassifier: nn.Embedding then nn.Linear from the global generator."""
    torch.manual_seed(seed)
    embedding = nn.Embedding(vocab_size, emb_dim, padding_idx=text.PAD_ID, sparse=sparse)
    head = nn.Linear(emb_dim, num_classes)
    config = _config(vocab_size, emb_dim, num_classes, sparse=sparse, init_std=1.0, seed=seed)
    model = PoolingClassifier(config)
    assert torch.equal(model.embedding.weight, embedding.weight)
    assert torch.equal(model.head.weight, head.weight) and torch.equal(model.head.bias, head.bias)
    assert model.embedding.sparse is sparse


@pytest.mark.parametrize("emb_dim", [1, 3, 8, 16, 64, 100, 128, 300, 384, 768])
def test_head_init_is_unchanged_from_the_one_over_sqrt_fan_in_bound(emb_dim):
    """kaiming_uniform_(a=sqrt(5))'s bound differs from 1/sqrt(fan_in) in the last bit of a double,
    but not in float32: the draws of chapters 05 and 07 (bound 1/sqrt(fan_in)) stay bitwise the same."""
    bound = 1.0 / emb_dim**0.5
    generator = device.cpu_generator(0)
    weight = torch.randn(40, emb_dim, generator=generator) * 0.1  # the embedding's draws come first
    weight[0] = 0.0
    head_weight = torch.empty(2, emb_dim).uniform_(-bound, bound, generator=generator)
    head_bias = torch.empty(2).uniform_(-bound, bound, generator=generator)
    model = PoolingClassifier(_config(40, emb_dim, 2, seed=0))
    assert torch.equal(model.embedding.weight, weight)
    assert torch.equal(model.head.weight, head_weight) and torch.equal(model.head.bias, head_bias)


def test_seeded_linear_equals_nn_linear_and_leaves_the_global_generator_as_nn_linear_does():
    torch.manual_seed(4)
    reference = nn.Linear(7, 3)
    after_reference = torch.get_rng_state()
    torch.manual_seed(4)
    linear = seeded_linear(7, 3, device.cpu_generator(4))
    assert torch.equal(linear.weight, reference.weight) and torch.equal(linear.bias, reference.bias)
    assert torch.equal(torch.get_rng_state(), after_reference)


def test_padding_row_gets_no_gradient():
    model = PoolingClassifier(_config(10, 4, 2, pooling="mean"))
    token_ids, padding_mask = _padded([[2, 3, 4], [5]])
    model(token_ids, padding_mask).sum().backward()
    assert torch.all(model.embedding.weight.grad[text.PAD_ID] == 0)
    assert torch.all(model.embedding.weight.grad[[6, 7, 8, 9]] == 0)  # rows not in the batch
    assert torch.any(model.embedding.weight.grad[[2, 3, 4, 5]] != 0)


def test_sparse_gradient_and_max_norm():
    model = PoolingClassifier(_config(20, 4, 2, sparse=True, max_norm=0.5, init_std=1.0))
    token_ids, padding_mask = _padded([[2, 3, 3], [4]])
    torch.nn.functional.cross_entropy(model(token_ids, padding_mask), torch.tensor([0, 1])).backward()
    assert model.embedding.weight.grad.is_sparse
    dense = model.embedding.weight.grad.to_dense()
    assert set(torch.nonzero(dense.abs().sum(1)).flatten().tolist()) == {2, 3, 4}
    norms = model.embedding.weight.detach().norm(dim=1)
    assert torch.all(norms[[2, 3, 4]] <= 0.5 + 1e-6) and torch.any(norms[5:] > 0.5)  # renormed where looked up


@pytest.mark.parametrize("cls", [PoolingClassifier, BagClassifier])
def test_pretrained_matrix_is_copied_and_freeze_stops_its_gradient(cls):
    pretrained = device.randn((10, 4), 8)
    model = cls(_config(10, 4, 2, freeze=True), pretrained=pretrained)
    torch.testing.assert_close(model.embedding.weight, pretrained)
    assert not model.embedding.weight.requires_grad
    assert model.embedding.weight.data_ptr() != pretrained.data_ptr()
    trainable = cls(_config(10, 4, 2, freeze=False), pretrained=pretrained)
    assert trainable.embedding.weight.requires_grad
    with torch.no_grad():
        trainable.embedding.weight.add_(1.0)
    torch.testing.assert_close(pretrained, device.randn((10, 4), 8))  # the caller's tensor is untouched


def test_config_is_frozen_and_keeps_the_pooling_member():
    config = _config(10, 4, pooling="max")
    assert config.pooling is Pooling.MAX
    assert config == _config(10, 4, pooling=Pooling.MAX)
    with pytest.raises(AttributeError):
        config.emb_dim = 8


def test_pooling_enum_names():
    assert [p.value for p in Pooling] == ["mean", "sum", "sqrtn", "max", "attention"]
    assert pooling.Pooling("max") is Pooling.MAX


# ---------------------------------------------------------------------------------------------
# Every bad input a docstring rules out.

X, MASK = _batch((2, 3, 4), [3, 1])
IDS, IDS_MASK = text.pad_batch([[2, 3], [4]])
FLAT, OFFSETS = text.to_bag([[2, 3], [4]])
MODEL = PoolingClassifier(_config(10, 4, 2))
BAG = BagClassifier(_config(10, 4, 2, pooling="sqrtn"))
POOLS = {"sum_pool": sum_pool, "mean_pool": mean_pool, "sqrt_n_pool": sqrt_n_pool, "max_pool": max_pool}


def _pool_bad_calls(name, pool):
    return [
        (f"pooling.{name}", lambda: pool(X.tolist(), MASK), TypeError, "x must be a tensor of shape (B, T, D)"),
        (f"pooling.{name}", lambda: pool(None, MASK), TypeError, "x must be a tensor"),
        (f"pooling.{name}", lambda: pool(X.long(), MASK), ValueError, "x must have a floating-point dtype"),
        (f"pooling.{name}", lambda: pool(X[0], MASK), ValueError, "x must have shape (B, T, D)"),
        (f"pooling.{name}", lambda: pool(X, MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
        (f"pooling.{name}", lambda: pool(X, MASK.tolist()), TypeError, "padding_mask must be a tensor"),
        (f"pooling.{name}", lambda: pool(X, MASK[:, :2]), ValueError, "padding_mask must have shape (B, T)"),
        (f"pooling.{name}", lambda: pool(X, MASK.to("meta")), ValueError, "padding_mask must be on the device of x"),
    ]



@pytest.mark.parametrize("model_class, pooling_name", [
    (PoolingClassifier, "mean"), (PoolingClassifier, "attention"), (BagClassifier, "sum"),
])
def test_noise_mode_perturbs_every_initial_parameter(monkeypatch, model_class, pooling_name):
    config = ClassifierConfig(20, 6, pooling=pooling_name, num_classes=3, seed=4)
    off = model_class(config)
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    on = model_class(config)
    assert_perturbed(off, on)  # the padding row (and the attention query) stay zero
    pretrained = torch.randn(20, 6, generator=torch.Generator().manual_seed(1))
    on_pretrained = model_class(config, pretrained)
    monkeypatch.delenv("EMBEDLAB_PERTURB")
    assert_perturbed(model_class(config, pretrained), on_pretrained)


@pytest.mark.parametrize("padding_idx, max_norm", [(None, None), (0, None), (0, 1.0)])
def test_bag_max_by_lookup_equals_the_bag_forward_and_backward(padding_idx, max_norm):
    weight = torch.randn(12, 5, generator=torch.Generator().manual_seed(0))
    bags = [[3, 3, 7], [0, 5], [], [0], [11, 2, 2, 9, 4]]  # repeats, padding, empty and padding-only bags
    flat_ids, offsets = text.to_bag(bags)
    ref = nn.EmbeddingBag.from_pretrained(weight.clone(), freeze=False, mode="max", padding_idx=padding_idx, max_norm=max_norm)
    new = nn.EmbeddingBag.from_pretrained(weight.clone(), freeze=False, mode="max", padding_idx=padding_idx, max_norm=max_norm)
    out_ref, out_new = ref(flat_ids, offsets), pooling.bag_max_by_lookup(new, flat_ids, offsets)
    assert torch.equal(out_ref, out_new)
    grad = torch.randn(out_ref.shape, generator=torch.Generator().manual_seed(1))
    out_ref.backward(grad)
    out_new.backward(grad)
    assert torch.equal(ref.weight.grad, new.weight.grad)
    assert torch.equal(ref.weight.detach(), new.weight.detach())  # max_norm renormalised the same rows

BAD_CALLS = [call for name, pool in POOLS.items() for call in _pool_bad_calls(name, pool)] + [
    ("pooling.attention_pool", lambda: attention_pool(X, MASK, torch.zeros(3, dtype=X.dtype)), ValueError, "query must have shape (D,)"),
    ("pooling.attention_pool", lambda: attention_pool(X, MASK, [0.0] * 4), TypeError, "query must be a tensor"),
    ("pooling.attention_pool", lambda: attention_pool(X, MASK, torch.zeros(4)), ValueError, "query must have dtype torch.float64"),
    ("pooling.attention_pool", lambda: attention_pool("x", MASK, torch.zeros(4)), TypeError, "x must be a tensor"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT.float(), OFFSETS), ValueError, "flat_ids must have dtype torch.int64"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, OFFSETS.unsqueeze(0)), ValueError, "offsets must have shape (B,)"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights([2, 3], OFFSETS), TypeError, "flat_ids must be a tensor"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, torch.tensor([1, 2])), ValueError, "offsets must start at 0"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, torch.tensor([0, 2, 1])), ValueError, "offsets must never decrease"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, torch.tensor([0, 9])), ValueError, "offsets must be <= the number of flat ids (3)"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, OFFSETS, padding_idx=0.0), TypeError, "padding_idx must be an int"),
    ("pooling.sqrt_n_weights", lambda: sqrt_n_weights(FLAT, OFFSETS, padding_idx=-1), ValueError, "padding_idx must be an int >= 0"),
    ("pooling.AttentionPool", lambda: AttentionPool(0), ValueError, "emb_dim must be an int >= 1"),
    ("pooling.AttentionPool", lambda: AttentionPool(4.0), TypeError, "emb_dim must be an int"),
    ("pooling.AttentionPool.forward", lambda: AttentionPool(4)(X.float(), MASK[:, :2]), ValueError, "padding_mask must have shape (B, T)"),
    ("pooling.AttentionPool.forward", lambda: AttentionPool(4)(X, MASK), ValueError, "query must have dtype torch.float64"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(0, 4), ValueError, "vocab_size must be an int >= 1"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10.0, 4), TypeError, "vocab_size must be an int"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(None, 4), TypeError, "vocab_size must be an int"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, -4), ValueError, "emb_dim must be an int >= 1"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, True), TypeError, "emb_dim must be an int"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, 0), ValueError, "num_classes must be an int >= 1"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, 2.0), TypeError, "num_classes must be an int"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, pooling="median"), ValueError, "pooling must be one of"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, pooling=3), TypeError, "pooling must be a Pooling member or its name"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, padding_idx=10), ValueError, "padding_idx must be an int >= 0 and < 10"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, padding_idx=-1), ValueError, "padding_idx must be an int >= 0"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, padding_idx=0.0), TypeError, "padding_idx must be an int"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, max_norm=0.0), ValueError, "max_norm must be a number > 0"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, max_norm=float("nan")), ValueError, "max_norm must be a finite number"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, max_norm="1"), TypeError, "max_norm must be a number"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, sparse=1), TypeError, "sparse must be True or False"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, freeze="yes"), TypeError, "freeze must be True or False"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, init_std=0.0), ValueError, "init_std must be a number > 0"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, init_std=float("inf")), ValueError, "init_std must be a finite number"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, seed=-1), ValueError, "seed must be an int >= 0"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, seed=2**32), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("pooling.ClassifierConfig", lambda: ClassifierConfig(10, 4, seed=1.5), TypeError, "seed must be an int"),
    ("pooling.seeded_linear", lambda: seeded_linear(0, 2, device.cpu_generator(0)), ValueError, "in_features must be an int >= 1"),
    ("pooling.seeded_linear", lambda: seeded_linear(4, 2.0, device.cpu_generator(0)), TypeError, "out_features must be an int"),
    ("pooling.seeded_linear", lambda: seeded_linear(4, 2, 0), TypeError, "generator must be a torch.Generator"),
]
for cls in (PoolingClassifier, BagClassifier):
    BAD_CALLS += [
        (f"pooling.{cls.__name__}", lambda cls=cls: cls({"vocab_size": 10}), TypeError, "config must be a pooling.ClassifierConfig"),
        (f"pooling.{cls.__name__}", lambda cls=cls: cls(None), TypeError, "config must be a pooling.ClassifierConfig"),
        (f"pooling.{cls.__name__}", lambda cls=cls: cls(_config(10, 4), pretrained=torch.zeros(10, 5)), ValueError, "pretrained must have shape (vocab_size, emb_dim) = (10, 4)"),
        (f"pooling.{cls.__name__}", lambda cls=cls: cls(_config(10, 4), pretrained=[[0.0] * 4] * 10), TypeError, "pretrained must be a tensor"),
        (f"pooling.{cls.__name__}", lambda cls=cls: cls(_config(10, 4), pretrained=torch.zeros(10, 4, dtype=torch.long)), ValueError, "pretrained must have a floating-point dtype"),
        (f"pooling.{cls.__name__}", lambda cls=cls: cls(_config(10, 4), pretrained=torch.full((10, 4), float("nan"))), ValueError, "pretrained must hold finite numbers"),
    ]
BAD_CALLS += [
    ("pooling.BagClassifier", lambda: BagClassifier(_config(10, 4, pooling="attention")), ValueError, "config.pooling must be one of"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS.float(), IDS_MASK), ValueError, "token_ids must have dtype torch.int64"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS.tolist(), IDS_MASK), TypeError, "token_ids must be a tensor"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS[0], IDS_MASK[0]), ValueError, "token_ids must have shape (B, T)"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS, IDS_MASK[:, :1]), ValueError, "padding_mask must have shape (B, T)"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS, None), TypeError, "padding_mask must be a tensor"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS + 10, IDS_MASK), ValueError, "token_ids must hold ids in [0, 9], got 14"),
    ("pooling.PoolingClassifier.forward", lambda: MODEL(IDS - 5, IDS_MASK), ValueError, "token_ids must hold ids in [0, 9], got -5"),
    ("pooling.PoolingClassifier.encode", lambda: MODEL.encode(IDS + 10, IDS_MASK), ValueError, "token_ids must hold ids in [0, 9]"),
    ("pooling.PoolingClassifier.encode", lambda: MODEL.encode(IDS, IDS_MASK.long()), ValueError, "padding_mask must have dtype torch.bool"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT.unsqueeze(0), OFFSETS), ValueError, "flat_ids must have shape (N,)"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT, OFFSETS.float()), ValueError, "offsets must have dtype torch.int64"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT + 10, OFFSETS), ValueError, "flat_ids must hold ids in [0, 9]"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT, torch.tensor([1, 2])), ValueError, "offsets must start at 0"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT, torch.tensor([0, 2, 1])), ValueError, "offsets must never decrease"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT, torch.tensor([0, 4])), ValueError, "offsets must be <= the number of flat ids"),
    ("pooling.BagClassifier.forward", lambda: BAG(FLAT, torch.tensor([], dtype=torch.long)), ValueError, "offsets must hold at least one bag"),
    ("pooling.BagClassifier.forward", lambda: BAG(None, OFFSETS), TypeError, "flat_ids must be a tensor"),
]


BAD_CALLS += [
    ("pooling.bag_max_by_lookup", lambda: pooling.bag_max_by_lookup(None, torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)), TypeError, "bag must be an nn.EmbeddingBag"),
    ("pooling.bag_max_by_lookup", lambda: pooling.bag_max_by_lookup(nn.EmbeddingBag(3, 2, mode="max"), torch.zeros(2, dtype=torch.long), torch.tensor([1])), ValueError, "offsets"),
]


# --- sentence embeddings (chapter 09) ---


def _left_padded(x, padding_mask):
    """The same rows with their padding moved to the left: real tokens last, in their order."""
    lengths = (~padding_mask).sum(dim=1)  # (B,)
    left_x, left_mask = torch.empty_like(x), torch.ones_like(padding_mask)
    for b, n in enumerate(lengths.tolist()):
        shift = x.shape[1] - n
        left_x[b] = torch.roll(x[b], shifts=shift, dims=0)  # real tokens move to the end
        left_mask[b, shift:] = False
    return left_x, left_mask


@pytest.mark.parametrize("shape,lengths", CASES)
def test_cls_pool_is_the_first_real_token(shape, lengths):
    x, padding_mask = _batch(shape, lengths)
    torch.testing.assert_close(pooling.cls_pool(x, padding_mask), _loop(x, lengths, lambda v: v[0]))


def test_left_padding_moves_the_real_tokens_to_the_end():
    x, padding_mask = _batch((2, 4, 3), [4, 2])
    left_x, left_mask = _left_padded(x, padding_mask)
    assert left_mask.tolist() == [[False] * 4, [True, True, False, False]]
    torch.testing.assert_close(left_x[1, 2:], x[1, :2])


@pytest.mark.parametrize("shape,lengths", CASES)
@pytest.mark.parametrize(
    "pool",
    [sum_pool, mean_pool, sqrt_n_pool, max_pool, pooling.cls_pool,
     lambda x, m: attention_pool(x, m, device.randn((x.shape[2],), 3).to(x.dtype))[0]],
    ids=["sum", "mean", "sqrtn", "max", "cls", "attention"],
)
def test_the_padding_trap_left_and_right_padding_give_the_same_vectors(shape, lengths, pool):
    x, padding_mask = _batch(shape, lengths)
    left_x, left_mask = _left_padded(x, padding_mask)
    torch.testing.assert_close(pool(left_x, left_mask), pool(x, padding_mask))


def test_the_padding_trap_position_zero_is_padding_under_left_padding():
    """The control: taking x[:, 0] as the [CLS] vector is right with right padding, wrong with left."""
    x, padding_mask = _batch((2, 4, 3), [4, 2])
    left_x, left_mask = _left_padded(x, padding_mask)
    torch.testing.assert_close(x[:, 0], pooling.cls_pool(x, padding_mask))
    assert not torch.allclose(left_x[:, 0], pooling.cls_pool(left_x, left_mask))
    assert float(left_x[1, 0].abs().min()) == 1e6  # the padding vector of _batch


@pytest.mark.parametrize("name,pool", [("mean", mean_pool), ("max", max_pool), ("cls", pooling.cls_pool)])
def test_sentence_embedding_pools_then_normalises(name, pool):
    x, padding_mask = _batch((4, 5, 8), [5, 0, 2, 1])
    raw = pooling.sentence_embedding(x, padding_mask, name, normalize=False)
    torch.testing.assert_close(raw, pool(x, padding_mask))
    unit = pooling.sentence_embedding(x, padding_mask, name)
    norms = unit.norm(dim=1)
    torch.testing.assert_close(norms[[0, 2, 3]], torch.ones(3, dtype=x.dtype))
    assert norms[1] == 0  # the all-padding row stays zero, no NaN
    torch.testing.assert_close(unit[[0, 2, 3]], raw[[0, 2, 3]] / raw[[0, 2, 3]].norm(dim=1, keepdim=True))


def test_sentence_embedding_has_no_nan_gradient_from_an_empty_row():
    x, padding_mask = _batch((2, 3, 4), [3, 0])
    x = x.clone().requires_grad_(True)
    pooling.sentence_embedding(x, padding_mask, "cls").sum().backward()
    assert torch.isfinite(x.grad).all()


BAD_CALLS += [
    ("pooling.cls_pool", lambda: pooling.cls_pool(X.tolist(), MASK), TypeError, "x must be a tensor"),
    ("pooling.cls_pool", lambda: pooling.cls_pool(X, MASK[:, :2]), ValueError, "padding_mask must have shape (B, T)"),
    ("pooling.cls_pool", lambda: pooling.cls_pool(X, MASK.long()), ValueError, "padding_mask"),
    ("pooling.sentence_embedding", lambda: pooling.sentence_embedding(X, MASK, "median"), ValueError, "pooling must be one of"),
    ("pooling.sentence_embedding", lambda: pooling.sentence_embedding(X, MASK, 0), TypeError, "pooling must be a str"),
    ("pooling.sentence_embedding", lambda: pooling.sentence_embedding(X, MASK, normalize=1), TypeError, "normalize must be True or False"),
    ("pooling.sentence_embedding", lambda: pooling.sentence_embedding(None, MASK), TypeError, "x must be a tensor"),
]
