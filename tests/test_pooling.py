"""Tests of embedlab.pooling: each pooling against nn.EmbeddingBag and a loop over examples."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from embedlab import device, pooling, text
from embedlab.pooling import (
    AttentionPool,
    BagClassifier,
    Pooling,
    PoolingClassifier,
    attention_pool,
    max_pool,
    mean_pool,
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
    with pytest.raises(ValueError, match="flat_ids must be a 1-D int64 tensor"):
        sqrt_n_weights(flat_ids.float(), offsets)
    with pytest.raises(ValueError, match=r"offsets must be a 1-D int64 tensor \(B,\)"):
        sqrt_n_weights(flat_ids, offsets.unsqueeze(0))


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
    assert torch.autograd.gradcheck(lambda t: pool(t, padding_mask), (x,))


def test_attention_pool_gradcheck():
    x, padding_mask = _batch((3, 4, 2), [4, 0, 3])
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0).requires_grad_(True)
    query = device.randn((2,), 5).double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t, q: attention_pool(t, padding_mask, q), (x, query))


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


@pytest.mark.parametrize("pool", [mean_pool, sum_pool, sqrt_n_pool, max_pool])
def test_bad_inputs_raise(pool):
    x, padding_mask = _batch((2, 3, 4), [3, 1])
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        pool(x.tolist(), padding_mask)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        pool(x.long(), padding_mask)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\)"):
        pool(x[0], padding_mask)
    with pytest.raises(TypeError, match="padding_mask must have dtype torch.bool"):
        pool(x, padding_mask.long())
    with pytest.raises(TypeError, match="padding_mask must be a bool torch.Tensor"):
        pool(x, padding_mask.tolist())
    with pytest.raises(ValueError, match="padding_mask must have shape"):
        pool(x, padding_mask[:, :2])


def test_attention_pool_bad_query_raises():
    x, padding_mask = _batch((2, 3, 4), [3, 1])
    with pytest.raises(ValueError, match=r"query must have shape \(D,\)"):
        attention_pool(x, padding_mask, torch.zeros(3, dtype=x.dtype))
    with pytest.raises(TypeError, match="query must be a torch.Tensor"):
        attention_pool(x, padding_mask, [0.0] * 4)


# ---------------------------------------------------------------------------------------------
# Classifiers


def _padded(id_lists):
    return text.pad_batch(id_lists)


@pytest.mark.parametrize("name", ["mean", "sum", "sqrtn", "max"])
def test_bag_classifier_equals_pooling_classifier(name):
    id_lists = [[2, 3, 4], [5], [6, 7, 2, 2, 9]]
    padded = PoolingClassifier(12, 6, 3, pooling=name, seed=3).double()
    bag = BagClassifier(12, 6, 3, pooling=name, seed=3).double()
    torch.testing.assert_close(bag.embedding.weight, padded.embedding.weight)
    torch.testing.assert_close(bag(*text.to_bag(id_lists)), padded(*_padded(id_lists)))


@pytest.mark.parametrize("name", list(Pooling))
def test_classifier_shapes_and_attention_weights(name):
    model = PoolingClassifier(20, 8, 3, pooling=name)
    token_ids, padding_mask = _padded([[2, 3, 4, 5], [6, 7]])
    logits = model(token_ids, padding_mask)
    assert logits.shape == (2, 3)
    pooled, weights = model.encode(token_ids, padding_mask)
    assert pooled.shape == (2, 8)
    if name is Pooling.ATTENTION:
        assert weights.shape == (2, 4)
        torch.testing.assert_close(weights.sum(dim=1), torch.ones(2))
    else:
        assert weights is None


def test_classifier_init_is_seeded_and_padding_row_is_zero():
    a = PoolingClassifier(30, 4, 2, seed=5)
    b = PoolingClassifier(30, 4, 2, seed=5)
    c = PoolingClassifier(30, 4, 2, seed=6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.embedding.weight, c.embedding.weight)
    assert torch.all(a.embedding.weight[text.PAD_ID] == 0)
    std = a.embedding.weight[1:].std().item()
    assert 0.05 < std < 0.15  # init_std = 0.1


def test_padding_row_gets_no_gradient():
    model = PoolingClassifier(10, 4, 2, pooling="mean")
    token_ids, padding_mask = _padded([[2, 3, 4], [5]])
    model(token_ids, padding_mask).sum().backward()
    assert torch.all(model.embedding.weight.grad[text.PAD_ID] == 0)
    assert torch.all(model.embedding.weight.grad[[6, 7, 8, 9]] == 0)  # rows not in the batch
    assert torch.any(model.embedding.weight.grad[[2, 3, 4, 5]] != 0)


@pytest.mark.parametrize("cls", [PoolingClassifier, BagClassifier])
def test_pretrained_matrix_is_copied_and_freeze_stops_its_gradient(cls):
    pretrained = device.randn((10, 4), 8)
    model = cls(10, 4, 2, pretrained=pretrained, freeze=True)
    torch.testing.assert_close(model.embedding.weight, pretrained)
    assert not model.embedding.weight.requires_grad
    assert model.embedding.weight.data_ptr() != pretrained.data_ptr()
    trainable = cls(10, 4, 2, pretrained=pretrained, freeze=False)
    assert trainable.embedding.weight.requires_grad
    with torch.no_grad():
        trainable.embedding.weight.add_(1.0)
    torch.testing.assert_close(pretrained, device.randn((10, 4), 8))  # the caller's tensor is untouched


@pytest.mark.parametrize("cls", [PoolingClassifier, BagClassifier])
def test_classifier_bad_arguments_raise(cls):
    with pytest.raises(ValueError, match=r"pretrained must have shape \(vocab_size, emb_dim\) = \(10, 4\)"):
        cls(10, 4, 2, pretrained=torch.zeros(10, 5))
    with pytest.raises(TypeError, match="pretrained must be a torch.Tensor"):
        cls(10, 4, 2, pretrained=[[0.0] * 4] * 10)
    with pytest.raises(TypeError, match="pretrained must be a floating-point"):
        cls(10, 4, 2, pretrained=torch.zeros(10, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="pooling must be one of"):
        cls(10, 4, 2, pooling="median")
    with pytest.raises(TypeError, match="pooling must be a Pooling member"):
        cls(10, 4, 2, pooling=3)
    with pytest.raises(ValueError, match="emb_dim must be >= 1"):
        cls(10, 0, 2)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        cls(10.0, 4, 2)
    with pytest.raises(ValueError, match="padding_idx must be in"):
        cls(10, 4, 2, padding_idx=10)
    with pytest.raises(ValueError, match="init_std must be a positive float"):
        cls(10, 4, 2, init_std=0.0)
    with pytest.raises(TypeError, match="freeze must be a bool"):
        cls(10, 4, 2, freeze="yes")


def test_bag_classifier_has_no_attention():
    with pytest.raises(ValueError, match="pooling must be one of"):
        BagClassifier(10, 4, 2, pooling=Pooling.ATTENTION)
    with pytest.raises(ValueError, match="pooling must be one of"):
        BagClassifier(10, 4, 2, pooling="attention")


def test_classifier_bad_batches_raise():
    model = PoolingClassifier(10, 4, 2)
    token_ids, padding_mask = _padded([[2, 3], [4]])
    with pytest.raises(TypeError, match="token_ids must be an int64 tensor"):
        model(token_ids.float(), padding_mask)
    with pytest.raises(ValueError, match=r"token_ids must have shape \(B, T\)"):
        model(token_ids[0], padding_mask[0])
    with pytest.raises(ValueError, match="padding_mask must have the shape of token_ids"):
        model(token_ids, padding_mask[:, :1])
    bag = BagClassifier(10, 4, 2)
    flat_ids, offsets = text.to_bag([[2, 3], [4]])
    with pytest.raises(ValueError, match="flat_ids must be a 1-D int64 tensor"):
        bag(flat_ids.unsqueeze(0), offsets)
    with pytest.raises(ValueError, match="offsets must be a 1-D int64 tensor"):
        bag(flat_ids, offsets.float())


def test_pooling_enum_names():
    assert [p.value for p in Pooling] == ["mean", "sum", "sqrtn", "max", "attention"]
    assert pooling.Pooling("max") is Pooling.MAX
