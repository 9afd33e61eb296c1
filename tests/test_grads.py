"""Tests of embedlab.grads: the closed-form dL/dE against autograd, finite differences and nn modules."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from embedlab import grads, text
from embedlab.pooling import ClassifierConfig, PoolingClassifier


def make_batch(batch, length, vocab_size, emb_dim, num_classes, seed=0, padding="ragged", dtype=torch.float64):
    """A random batch: ids avoid PAD_ID at real positions; padding is 'none', 'ragged' or 'heavy'."""
    gen = torch.Generator().manual_seed(seed)
    if padding == "none":
        lengths = [length] * batch
    elif padding == "ragged":
        lengths = torch.randint(1, length + 1, (batch,), generator=gen).tolist()
        lengths[0] = length  # the batch is exactly `length` long
    else:  # heavy: one long sequence, the others of one token
        lengths = [length] + [1] * (batch - 1)
    id_lists = [torch.randint(1, vocab_size, (n,), generator=gen).tolist() for n in lengths]
    token_ids, padding_mask = text.pad_batch(id_lists)
    embedding = torch.randn(vocab_size, emb_dim, generator=gen, dtype=dtype)
    if num_classes == 1:
        weight = torch.randn(emb_dim, generator=gen, dtype=dtype)
        bias = torch.randn((), generator=gen, dtype=dtype)
        labels = torch.randint(0, 2, (batch,), generator=gen)
    else:
        weight = torch.randn(num_classes, emb_dim, generator=gen, dtype=dtype)
        bias = torch.randn(num_classes, generator=gen, dtype=dtype)
        labels = torch.randint(0, num_classes, (batch,), generator=gen)
    return token_ids, padding_mask, embedding, weight, bias, labels


def autograd_grad(loss_fn, token_ids, padding_mask, embedding, weight, bias, labels, padding_idx=text.PAD_ID):
    leaf = embedding.clone().requires_grad_(True)
    loss_fn(token_ids, padding_mask, leaf, weight, bias, labels, padding_idx).backward()
    return leaf.grad


SHAPES = [(1, 1, 3, 1), (2, 5, 7, 4), (4, 9, 30, 8), (16, 20, 100, 12)]  # (B, T, V, D)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes", [2, 3, 7])
@pytest.mark.parametrize("padding", ["none", "ragged", "heavy"])
def test_multiclass_grad_matches_autograd(shape, num_classes, padding):
    batch, length, vocab_size, emb_dim = shape
    inputs = make_batch(batch, length, vocab_size, emb_dim, num_classes, padding=padding)
    closed = grads.embedding_grad(*inputs)
    torch.testing.assert_close(closed, autograd_grad(grads.mean_pool_loss, *inputs))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("padding", ["none", "ragged", "heavy"])
def test_binary_grad_matches_autograd(shape, padding):
    batch, length, vocab_size, emb_dim = shape
    inputs = make_batch(batch, length, vocab_size, emb_dim, 1, padding=padding)
    closed = grads.binary_embedding_grad(*inputs)
    torch.testing.assert_close(closed, autograd_grad(grads.binary_loss, *inputs))


def test_float32_grad_matches_autograd():
    inputs = make_batch(8, 12, 50, 16, 4, dtype=torch.float32)
    torch.testing.assert_close(grads.embedding_grad(*inputs), autograd_grad(grads.mean_pool_loss, *inputs))


def test_binary_soft_labels_match_autograd():
    token_ids, padding_mask, embedding, weight, bias, _ = make_batch(5, 6, 20, 4, 1)
    labels = torch.tensor([0.0, 0.25, 0.5, 1.0, 0.9], dtype=torch.float64)
    inputs = (token_ids, padding_mask, embedding, weight, bias, labels)
    torch.testing.assert_close(grads.binary_embedding_grad(*inputs), autograd_grad(grads.binary_loss, *inputs))


@pytest.mark.parametrize("num_classes", [2, 5])
@pytest.mark.parametrize("padding", ["none", "ragged"])
def test_gradcheck_multiclass(num_classes, padding):
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(3, 4, 6, 3, num_classes, seed=1, padding=padding)
    leaf = embedding.clone().requires_grad_(True)

    def loss(e):
        return grads.closed_form_loss(token_ids, padding_mask, e, weight, bias, labels)

    assert torch.autograd.gradcheck(loss, (leaf,), fast_mode=True)


@pytest.mark.parametrize("padding", ["none", "ragged"])
def test_gradcheck_binary(padding):
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(3, 4, 6, 3, 1, seed=2, padding=padding)
    leaf = embedding.clone().requires_grad_(True)

    def loss(e):
        return grads.closed_form_loss(token_ids, padding_mask, e, weight, bias, labels, binary=True)

    assert torch.autograd.gradcheck(loss, (leaf,), fast_mode=True)


def test_gradcheck_fails_for_a_wrong_backward():
    """gradcheck is a real check: the seed's binary formula (one column of W) fails it."""
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(3, 4, 6, 3, 2, seed=3)

    class OneColumn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, e):
            ctx.save_for_backward(e)
            return grads.mean_pool_loss(token_ids, padding_mask, e, weight, bias, labels)

        @staticmethod
        def backward(ctx, g):
            (e,) = ctx.saved_tensors
            pooled = grads._pooled(token_ids, padding_mask, e, text.PAD_ID)
            p1 = torch.softmax(pooled @ weight.T + bias, dim=-1)[:, 1]
            grad_pooled = ((p1 - labels.double()) / len(labels)).unsqueeze(1) * weight[1]
            return g * grads._scatter_rows(grad_pooled, token_ids, padding_mask, e, text.PAD_ID)

    leaf = embedding.clone().requires_grad_(True)
    assert not torch.autograd.gradcheck(OneColumn.apply, (leaf,), raise_exception=False)


def test_two_class_softmax_equals_sigmoid_of_difference():
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(6, 7, 25, 5, 2, seed=4)
    multi = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)
    binary = grads.binary_embedding_grad(token_ids, padding_mask, embedding, weight[1] - weight[0], bias[1] - bias[0], labels)
    torch.testing.assert_close(multi, binary)
    loss_multi = grads.mean_pool_loss(token_ids, padding_mask, embedding, weight, bias, labels)
    loss_binary = grads.binary_loss(token_ids, padding_mask, embedding, weight[1] - weight[0], bias[1] - bias[0], labels)
    torch.testing.assert_close(loss_multi, loss_binary)


def test_only_rows_in_the_batch_are_nonzero():
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(5, 8, 200, 6, 3, seed=5)
    grad = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)
    nonzero = set(torch.nonzero(grad.abs().sum(1)).flatten().tolist())
    assert nonzero == set(token_ids[~padding_mask].tolist())
    assert grad[text.PAD_ID].abs().sum() == 0


def test_k_occurrences_give_k_contributions():
    """In one sequence every real token's row is count * the same vector."""
    token_ids = torch.tensor([[3, 4, 3, 5, 3, 4]])
    padding_mask = torch.zeros_like(token_ids, dtype=torch.bool)
    _, _, embedding, weight, bias, _ = make_batch(1, 6, 8, 4, 3, seed=6)
    grad = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, torch.tensor([2]))
    torch.testing.assert_close(grad[3], 3 * grad[5])
    torch.testing.assert_close(grad[4], 2 * grad[5])
    assert grad[5].abs().sum() > 0


def test_padding_idx_row_gets_no_gradient_even_at_real_positions():
    token_ids = torch.tensor([[0, 2, 3], [4, 0, 0]])
    padding_mask = torch.tensor([[False, False, False], [False, True, True]])  # a PAD_ID at a real position
    _, _, embedding, weight, bias, labels = make_batch(2, 3, 6, 4, 2, seed=7)
    with_idx = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)
    assert with_idx[0].abs().sum() == 0
    without = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels, padding_idx=None)
    assert without[0].abs().sum() > 0
    torch.testing.assert_close(without, autograd_grad(grads.mean_pool_loss, token_ids, padding_mask, embedding, weight, bias, labels, None))
    torch.testing.assert_close(with_idx[1:], without[1:])


def test_padding_positions_are_ignored_whatever_their_ids():
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(4, 6, 30, 5, 3, seed=8)
    scrambled = token_ids.masked_fill(padding_mask, 17)
    a = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels, padding_idx=None)
    b = grads.embedding_grad(scrambled, padding_mask, embedding, weight, bias, labels, padding_idx=None)
    torch.testing.assert_close(a, b)


def test_module_matches_functions_and_autograd():
    config = ClassifierConfig(vocab_size=40, emb_dim=6, num_classes=3, init_std=1.0)
    model = PoolingClassifier(config).double()
    token_ids, padding_mask, _, _, _, labels = make_batch(5, 7, 40, 6, 3, seed=9)
    logits = model(token_ids, padding_mask)
    weight = model.embedding.weight
    expected = grads.mean_pool_logits(token_ids, padding_mask, weight, model.head.weight, model.head.bias)
    assert torch.equal(logits, expected)  # one masked mean (pooling.mean_pool): bitwise the same
    F.cross_entropy(logits, labels).backward()
    closed = grads.embedding_grad(
        token_ids, padding_mask, weight.detach(), model.head.weight.detach(), model.head.bias.detach(), labels
    )
    torch.testing.assert_close(weight.grad, closed)


def test_binary_module_matches_functions():
    model = PoolingClassifier(ClassifierConfig(vocab_size=40, emb_dim=6, num_classes=1, seed=1)).double()
    token_ids, padding_mask, _, _, _, labels = make_batch(5, 7, 40, 6, 1, seed=10)
    logits = model(token_ids, padding_mask)
    assert logits.shape == (5,)
    weight = model.embedding.weight
    expected = grads.binary_logits(token_ids, padding_mask, weight, model.head.weight[0], model.head.bias[0])
    torch.testing.assert_close(logits, expected)


def test_mean_pool_equals_embedding_bag():
    token_ids, padding_mask, embedding, weight, bias, _ = make_batch(6, 9, 30, 5, 2, seed=11)
    bag = nn.EmbeddingBag.from_pretrained(embedding, mode="mean", padding_idx=text.PAD_ID)
    pooled = grads._pooled(token_ids, padding_mask, embedding, text.PAD_ID)
    torch.testing.assert_close(bag(token_ids), pooled)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pooled_equals_the_former_masked_mean_bitwise(dtype):
    """grads' own masked mean was replaced by pooling.mean_pool: chapter 03's numbers must not move."""
    token_ids, padding_mask, embedding, _, _, _ = make_batch(16, 20, 100, 12, 2, seed=12, dtype=dtype)
    embedded = F.embedding(token_ids, embedding, padding_idx=text.PAD_ID)
    kept = embedded.masked_fill(padding_mask.unsqueeze(-1), 0.0)
    former = kept.sum(dim=1) / (~padding_mask).sum(dim=1, keepdim=True).to(dtype)
    assert torch.equal(grads._pooled(token_ids, padding_mask, embedding, text.PAD_ID), former)


def test_exact_values_under_fixed_seed():
    token_ids, padding_mask = text.pad_batch([[1, 2, 2], [3]])
    embedding = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    bias = torch.zeros(2)
    labels = torch.tensor([0, 1])
    grad = grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels)
    # sequence 0: h = (1/3, 2/3), p = softmax(h); sequence 1: h = (1, 1), p = (1/2, 1/2)
    p0 = torch.softmax(torch.tensor([1 / 3, 2 / 3]), dim=0)
    g0 = (p0 - torch.tensor([1.0, 0.0])) / 2
    g1 = (torch.tensor([0.5, 0.5]) - torch.tensor([0.0, 1.0])) / 2
    expected = torch.stack([torch.zeros(2), g0 / 3, 2 * g0 / 3, g1])
    torch.testing.assert_close(grad, expected)
    assert torch.allclose(grad[3], torch.tensor([0.25, -0.25]))


# ---------------------------------------------------------------------------------------------
# Every input error the docstrings rule out.

GOOD = make_batch(2, 3, 10, 4, 3)
GOOD_BIN = make_batch(2, 3, 10, 4, 1)
NAMES = ("token_ids", "padding_mask", "embedding", "weight", "bias", "labels")


def call(fn, **changes):
    base = GOOD_BIN if fn in (grads.binary_embedding_grad, grads.binary_loss, grads.binary_logits) else GOOD
    args = dict(zip(NAMES, base))
    if fn in (grads.mean_pool_logits, grads.binary_logits):
        del args["labels"]
    args.update(changes)
    return fn(**args)


ALL = {
    "mean_pool_logits": grads.mean_pool_logits, "mean_pool_loss": grads.mean_pool_loss,
    "embedding_grad": grads.embedding_grad, "binary_logits": grads.binary_logits,
    "binary_loss": grads.binary_loss, "binary_embedding_grad": grads.binary_embedding_grad,
    "closed_form_loss": grads.closed_form_loss,
}
SHARED = [  # (changes, error, message) every function refuses
    ({"token_ids": [[1, 2, 3]]}, TypeError, "token_ids must be a tensor"),
    ({"token_ids": None}, TypeError, "token_ids must be a tensor"),
    ({"token_ids": GOOD[0].float()}, ValueError, "token_ids must have dtype torch.int64"),
    ({"token_ids": GOOD[0].int()}, ValueError, "token_ids must have dtype torch.int64"),
    ({"token_ids": GOOD[0][0]}, ValueError, "token_ids must have shape (B, T)"),
    ({"token_ids": GOOD[0][:, :0], "padding_mask": GOOD[1][:, :0]}, ValueError, "B >= 1 and T >= 1"),
    ({"token_ids": GOOD[0].masked_fill(GOOD[0] > 0, 10)}, ValueError, "token_ids must hold ids in [0, 9], got 10"),
    ({"token_ids": GOOD[0] - 5}, ValueError, "token_ids must hold ids in [0, 9], got -"),
    ({"padding_mask": None}, TypeError, "padding_mask must be a tensor"),
    ({"padding_mask": GOOD[1].long()}, ValueError, "padding_mask must have dtype torch.bool"),
    ({"padding_mask": GOOD[1][:, :2]}, ValueError, "padding_mask must have shape (B, T)"),
    ({"padding_mask": torch.ones(2, 3, dtype=torch.bool)}, ValueError, "padding_mask must leave at least one real"),
    ({"embedding": GOOD[2].long()}, ValueError, "embedding must have a floating-point dtype"),
    ({"embedding": GOOD[2][0]}, ValueError, "embedding must have shape (V, D)"),
    ({"embedding": "E"}, TypeError, "embedding must be a tensor"),
    ({"embedding": GOOD[2].clone().fill_(float("nan"))}, ValueError, "embedding must hold finite numbers"),
    ({"weight": [1.0]}, TypeError, "weight must be a tensor"),
    ({"bias": 0.0}, TypeError, "bias must be a tensor"),
    ({"padding_idx": 10}, ValueError, "padding_idx must be an int >= 0 and < 10"),
    ({"padding_idx": -1}, ValueError, "padding_idx must be an int >= 0"),
    ({"padding_idx": 0.0}, TypeError, "padding_idx must be an int"),
]
WITH_LABELS = [
    ({"labels": [0, 1]}, TypeError, "labels must be a tensor"),
    ({"labels": torch.tensor([0, 1, 1])}, ValueError, "labels must have shape (B,)"),
]
MULTICLASS = [
    ({"weight": GOOD[3][:, :3]}, ValueError, "weight must have shape (C, D)"),
    ({"weight": GOOD[3][:1], "bias": GOOD[4][:1]}, ValueError, "C >= 2"),
    ({"weight": GOOD[3].float()}, ValueError, "weight must have dtype torch.float64, got torch.float32"),
    ({"weight": GOOD[3].to("meta")}, ValueError, "weight must be on the device of embedding"),
    ({"weight": GOOD[3].clone().fill_(float("inf"))}, ValueError, "weight must hold finite numbers"),
    ({"bias": GOOD[4][:2]}, ValueError, "bias must have shape (C,)"),
    ({"bias": GOOD[4].float()}, ValueError, "bias must have dtype torch.float64, got torch.float32"),
]
MULTICLASS_LABELS = [
    ({"labels": torch.tensor([0, 3])}, ValueError, "labels must hold labels in [0, 2], got 3"),
    ({"labels": torch.tensor([-1, 0])}, ValueError, "labels must hold labels in [0, 2], got -1"),
    ({"labels": torch.tensor([0.0, 1.0])}, ValueError, "labels must have dtype torch.int64"),
    ({"labels": GOOD[5].to("meta")}, ValueError, "labels must be on the device of embedding"),
]
BINARY = [
    ({"weight": GOOD_BIN[3][:3]}, ValueError, "weight must have shape (D,) (the binary head)"),
    ({"weight": GOOD[3]}, ValueError, "weight must have shape (D,) (the binary head)"),
    ({"bias": GOOD_BIN[4].reshape(1)}, ValueError, "bias must have shape () (the binary head)"),
]
BINARY_LABELS = [
    ({"labels": torch.tensor([0.0, 1.5], dtype=torch.float64)}, ValueError, "labels of the binary head must lie in [0, 1], got 1.5"),
    ({"labels": torch.tensor([0.0, float("nan")], dtype=torch.float64)}, ValueError, "labels must hold finite numbers"),
    ({"labels": torch.tensor([True, False])}, ValueError, "labels of the binary head must have a float or int64 dtype"),
]


def _calls(name, cases):
    fn = ALL[name]
    return [(f"grads.{name}", lambda fn=fn, c=c: call(fn, **c), error, message) for c, error, message in cases]


BAD_CALLS = (
    _calls("mean_pool_logits", SHARED + MULTICLASS)
    + _calls("mean_pool_loss", SHARED + WITH_LABELS + MULTICLASS + MULTICLASS_LABELS)
    + _calls("embedding_grad", SHARED + WITH_LABELS + MULTICLASS + MULTICLASS_LABELS)
    + _calls("binary_logits", SHARED + BINARY)
    + _calls("binary_loss", SHARED + WITH_LABELS + BINARY + BINARY_LABELS)
    + _calls("binary_embedding_grad", SHARED + WITH_LABELS + BINARY + BINARY_LABELS)
    + _calls("closed_form_loss", SHARED[:3] + WITH_LABELS + MULTICLASS[:3] + MULTICLASS_LABELS[:1])
    + [
        ("grads.closed_form_loss", lambda: call(grads.closed_form_loss, weight=GOOD[3].clone().requires_grad_()), ValueError, "weight requires grad"),
        ("grads.closed_form_loss", lambda: call(grads.closed_form_loss, bias=GOOD[4].clone().requires_grad_()), ValueError, "bias requires grad"),
        ("grads.closed_form_loss", lambda: call(grads.closed_form_loss, binary=1), TypeError, "binary must be True or False"),
        ("grads.closed_form_loss", lambda: call(grads.closed_form_loss, weight=None), TypeError, "weight must be a tensor"),
        ("grads.closed_form_loss", lambda: call(grads.closed_form_loss, binary=True), ValueError, "weight must have shape (D,) (the binary head)"),
    ]
)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to put tensors on two devices")
def test_device_mismatch():
    token_ids, padding_mask, embedding, weight, bias, labels = GOOD
    with pytest.raises(ValueError, match="token_ids must be on the device of embedding"):
        grads.embedding_grad(token_ids, padding_mask, embedding.cuda(), weight.cuda(), bias.cuda(), labels.cuda())
    with pytest.raises(ValueError, match="weight must be on the device of embedding"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight.cuda(), bias, labels)
    with pytest.raises(ValueError, match="labels must be on the device of embedding"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels.cuda())
