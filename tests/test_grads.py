"""Tests of embedlab.grads: the closed-form dL/dE against autograd, finite differences and nn modules."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from embedlab import grads, text


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

    assert torch.autograd.gradcheck(loss, (leaf,))


@pytest.mark.parametrize("padding", ["none", "ragged"])
def test_gradcheck_binary(padding):
    token_ids, padding_mask, embedding, weight, bias, labels = make_batch(3, 4, 6, 3, 1, seed=2, padding=padding)
    leaf = embedding.clone().requires_grad_(True)

    def loss(e):
        return grads.closed_form_loss(token_ids, padding_mask, e, weight, bias, labels, binary=True)

    assert torch.autograd.gradcheck(loss, (leaf,))


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
    config = grads.ClassifierConfig(vocab_size=40, emb_dim=6, num_classes=3)
    torch.manual_seed(0)
    model = grads.MeanPoolClassifier(config).double()
    token_ids, padding_mask, _, _, _, labels = make_batch(5, 7, 40, 6, 3, seed=9)
    logits = model(token_ids, padding_mask)
    expected = grads.mean_pool_logits(token_ids, padding_mask, model.embed.weight, model.head.weight, model.head.bias)
    torch.testing.assert_close(logits, expected)
    F.cross_entropy(logits, labels).backward()
    closed = grads.embedding_grad(
        token_ids, padding_mask, model.embed.weight.detach(), model.head.weight.detach(), model.head.bias.detach(), labels
    )
    torch.testing.assert_close(model.embed.weight.grad, closed)


def test_binary_module_matches_functions():
    config = grads.ClassifierConfig(vocab_size=40, emb_dim=6, num_classes=1)
    torch.manual_seed(1)
    model = grads.MeanPoolClassifier(config).double()
    token_ids, padding_mask, _, _, _, labels = make_batch(5, 7, 40, 6, 1, seed=10)
    logits = model(token_ids, padding_mask)
    assert logits.shape == (5,)
    expected = grads.binary_logits(token_ids, padding_mask, model.embed.weight, model.head.weight[0], model.head.bias[0])
    torch.testing.assert_close(logits, expected)


def test_module_padding_row_starts_at_zero_and_sparse_grad():
    model = grads.MeanPoolClassifier(grads.ClassifierConfig(vocab_size=20, emb_dim=4, sparse=True))
    assert model.embed.weight[text.PAD_ID].abs().sum() == 0
    token_ids, padding_mask = text.pad_batch([[2, 3, 3], [4]])
    F.cross_entropy(model(token_ids, padding_mask), torch.tensor([0, 1])).backward()
    assert model.embed.weight.grad.is_sparse
    dense = model.embed.weight.grad.to_dense()
    assert set(torch.nonzero(dense.abs().sum(1)).flatten().tolist()) == {2, 3, 4}


def test_mean_pool_equals_embedding_bag():
    token_ids, padding_mask, embedding, weight, bias, _ = make_batch(6, 9, 30, 5, 2, seed=11)
    bag = nn.EmbeddingBag.from_pretrained(embedding, mode="mean", padding_idx=text.PAD_ID)
    pooled = grads._pooled(token_ids, padding_mask, embedding, text.PAD_ID)
    torch.testing.assert_close(bag(token_ids), pooled)


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


def call(fn, **changes):
    names = ("token_ids", "padding_mask", "embedding", "weight", "bias", "labels")
    base = GOOD_BIN if fn in (grads.binary_embedding_grad, grads.binary_loss) else GOOD
    args = dict(zip(names, base))
    args.update(changes)
    return fn(**args)


FNS = [grads.embedding_grad, grads.mean_pool_loss, grads.binary_embedding_grad, grads.binary_loss]


@pytest.mark.parametrize("fn", FNS)
@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"token_ids": [[1, 2, 3]]}, TypeError, "token_ids must be a torch.Tensor"),
        ({"token_ids": GOOD[0].float()}, TypeError, "token_ids must be an int64 or int32"),
        ({"token_ids": GOOD[0][0]}, ValueError, r"token_ids must have shape \(B, T\)"),
        ({"token_ids": GOOD[0][:, :0], "padding_mask": GOOD[1][:, :0]}, ValueError, "B >= 1 and T >= 1"),
        ({"token_ids": GOOD[0].masked_fill(GOOD[0] > 0, 10)}, ValueError, r"token_ids must lie in \[0, 9\].*got 10"),
        ({"token_ids": GOOD[0] - 5}, ValueError, r"token_ids must lie in \[0, 9\].*got -"),
        ({"padding_mask": None}, TypeError, "padding_mask must be a torch.Tensor"),
        ({"padding_mask": GOOD[1].long()}, TypeError, "padding_mask must be a bool tensor"),
        ({"padding_mask": GOOD[1][:, :2]}, ValueError, "padding_mask must have the shape of token_ids"),
        ({"padding_mask": torch.ones(2, 3, dtype=torch.bool)}, ValueError, "at least one non-padding position"),
        ({"embedding": GOOD[2].long()}, TypeError, "embedding must be a floating-point tensor"),
        ({"embedding": GOOD[2][0]}, ValueError, r"embedding must have shape \(V, D\)"),
        ({"embedding": "E"}, TypeError, "embedding must be a torch.Tensor"),
        ({"labels": [0, 1]}, TypeError, "labels must be a torch.Tensor"),
        ({"labels": torch.tensor([0, 1, 1])}, ValueError, r"labels must have shape \(B,\)"),
        ({"labels": torch.tensor([0, 3])}, ValueError, r"must lie in \[0, "),
        ({"labels": torch.tensor([-1, 0])}, ValueError, r"must lie in \[0, "),
        ({"weight": [1.0]}, TypeError, "weight must be a torch.Tensor"),
        ({"bias": 0.0}, TypeError, "bias must be a torch.Tensor"),
    ],
)
def test_shared_input_errors(fn, changes, error, match):
    with pytest.raises(error, match=match):
        call(fn, **changes)


@pytest.mark.parametrize("fn", [grads.embedding_grad, grads.mean_pool_loss])
@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"weight": GOOD[3][:, :3]}, ValueError, r"weight must have shape \(C, D\) with D=4"),
        ({"weight": GOOD[3][:1], "bias": GOOD[4][:1]}, ValueError, "C >= 2"),
        ({"weight": GOOD[3].float()}, TypeError, "weight must have the dtype of embedding"),
        ({"bias": GOOD[4][:2]}, ValueError, r"bias must have shape \(C,\)"),
        ({"bias": GOOD[4].float()}, TypeError, "bias must have the dtype of embedding"),
        ({"labels": torch.tensor([0.0, 1.0])}, TypeError, "labels must be an int64 or int32"),
    ],
)
def test_multiclass_input_errors(fn, changes, error, match):
    with pytest.raises(error, match=match):
        call(fn, **changes)


@pytest.mark.parametrize("fn", [grads.binary_embedding_grad, grads.binary_loss])
@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"weight": GOOD_BIN[3][:3]}, ValueError, r"weight of the binary head must have shape \(D,\)"),
        ({"weight": GOOD[3]}, ValueError, r"weight of the binary head must have shape \(D,\)"),
        ({"bias": GOOD_BIN[4].reshape(1)}, ValueError, "bias of the binary head must be a 0-d tensor"),
        ({"labels": torch.tensor([0.0, 1.5], dtype=torch.float64)}, ValueError, r"must lie in \[0, 1\]"),
        ({"labels": torch.tensor([True, False])}, TypeError, "labels of the binary head must be a float or int"),
    ],
)
def test_binary_input_errors(fn, changes, error, match):
    with pytest.raises(error, match=match):
        call(fn, **changes)


@pytest.mark.parametrize("fn", FNS)
def test_padding_idx_errors(fn):
    with pytest.raises(ValueError, match=r"padding_idx must lie in \[0, 9\]"):
        call(fn, padding_idx=10)
    with pytest.raises(TypeError, match="padding_idx must be an int or None"):
        call(fn, padding_idx=0.0)


def test_logits_functions_check_inputs():
    token_ids, padding_mask, embedding, weight, bias, _ = GOOD
    with pytest.raises(ValueError, match="at least one non-padding position"):
        grads.mean_pool_logits(token_ids, torch.ones_like(padding_mask), embedding, weight, bias)
    with pytest.raises(ValueError, match="weight of the binary head"):
        grads.binary_logits(token_ids, padding_mask, embedding, weight, bias)


def test_closed_form_loss_errors():
    token_ids, padding_mask, embedding, weight, bias, labels = GOOD
    with pytest.raises(ValueError, match="weight requires grad"):
        grads.closed_form_loss(token_ids, padding_mask, embedding, weight.clone().requires_grad_(), bias, labels)
    with pytest.raises(ValueError, match="bias requires grad"):
        grads.closed_form_loss(token_ids, padding_mask, embedding, weight, bias.clone().requires_grad_(), labels)
    with pytest.raises(TypeError, match="binary must be a bool"):
        grads.closed_form_loss(token_ids, padding_mask, embedding, weight, bias, labels, binary=1)
    with pytest.raises(TypeError, match="weight must be a torch.Tensor"):
        grads.closed_form_loss(token_ids, padding_mask, embedding, None, bias, labels)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to put tensors on two devices")
def test_device_mismatch():
    token_ids, padding_mask, embedding, weight, bias, labels = GOOD
    with pytest.raises(ValueError, match="token_ids is on"):
        grads.embedding_grad(token_ids, padding_mask, embedding.cuda(), weight.cuda(), bias.cuda(), labels.cuda())
    with pytest.raises(ValueError, match="weight is on"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight.cuda(), bias, labels)
    with pytest.raises(ValueError, match="labels is on"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels.cuda())


def test_device_mismatch_on_meta():
    """Without CUDA, the meta device still exercises the device checks."""
    token_ids, padding_mask, embedding, weight, bias, labels = GOOD
    with pytest.raises(ValueError, match="weight is on meta"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight.to("meta"), bias, labels)
    with pytest.raises(ValueError, match="labels is on meta"):
        grads.embedding_grad(token_ids, padding_mask, embedding, weight, bias, labels.to("meta"))


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"vocab_size": 0}, ValueError, "config.vocab_size must be an int >= 1"),
        ({"emb_dim": 2.5}, ValueError, "config.emb_dim must be an int >= 1"),
        ({"num_classes": 0}, ValueError, "config.num_classes must be an int >= 1"),
        ({"padding_idx": 50}, ValueError, r"config.padding_idx must lie in \[0, 9\]"),
        ({"max_norm": 0.0}, ValueError, "config.max_norm must be positive"),
    ],
)
def test_config_errors(changes, error, match):
    fields = {"vocab_size": 10, "emb_dim": 4}
    fields.update(changes)
    with pytest.raises(error, match=match):
        grads.MeanPoolClassifier(grads.ClassifierConfig(**fields))


def test_module_rejects_non_config_and_bad_batches():
    with pytest.raises(TypeError, match="config must be a ClassifierConfig"):
        grads.MeanPoolClassifier({"vocab_size": 10})
    model = grads.MeanPoolClassifier(grads.ClassifierConfig(vocab_size=10, emb_dim=4))
    with pytest.raises(ValueError, match=r"token_ids must lie in \[0, 9\]"):
        model(torch.tensor([[12]]), torch.tensor([[False]]))
    with pytest.raises(ValueError, match="at least one non-padding position"):
        model(torch.tensor([[1, 0]]), torch.tensor([[True, True]]))
