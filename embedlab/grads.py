"""The gradient of a mean-pooling classifier with respect to its embedding matrix, in closed form.

The model of chapter 03: token ids -> embedding rows -> masked mean pooling
(:func:`embedlab.pooling.mean_pool`) -> linear -> loss. Two heads: C classes (softmax +
cross-entropy) and binary (one logit, sigmoid + binary cross-entropy). The loss is the mean over
the batch. :func:`embedding_grad` and :func:`binary_embedding_grad` compute ``dL/dE`` without
autograd; the chapter and the tests check them against autograd and against finite differences.
The same model as an ``nn.Module`` is :class:`embedlab.pooling.PoolingClassifier` (mean pooling;
``num_classes=1`` for the binary head).

Shape legend: see :mod:`embedlab`; N counts the real (non-padding) positions of a batch.

Conventions (from :mod:`embedlab.text`): ``padding_mask`` is True where a position is padding,
``PAD_ID = 0``. Padding positions take no part in the mean; on top of that the row
``padding_idx`` receives no gradient wherever it appears, as in :class:`torch.nn.Embedding`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from embedlab import checks
from embedlab.pooling import mean_pool
from embedlab.text import PAD_ID

# ---------------------------------------------------------------------------------------------
# Input checks, shared by every public function (value checks run on CPU tensors only).


def _check_batch(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    padding_idx: int | None,
) -> None:
    """The lookup part: (V, D) embedding, (B, T) ids in [0, V), (B, T) mask, padding_idx."""
    checks.check_tensor("embedding", embedding, dim=2, floating=True, shape_text="(V, D)")
    if 0 in embedding.shape:
        raise ValueError(f"embedding must have shape (V, D) with V, D >= 1, got {tuple(embedding.shape)}")
    checks.check_finite("embedding", embedding)
    checks.check_token_ids("token_ids", token_ids, vocab_size=embedding.shape[0])
    if 0 in token_ids.shape:
        raise ValueError(f"token_ids must have shape (B, T) with B >= 1 and T >= 1, got {tuple(token_ids.shape)}")
    checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
    checks.check_rows_not_empty("padding_mask", padding_mask)  # the mean of nothing is undefined
    checks.check_same_device("token_ids", token_ids, "embedding", embedding)
    checks.check_same_device("padding_mask", padding_mask, "embedding", embedding)
    checks.check_optional_int("padding_idx", padding_idx, at_least=0, below=embedding.shape[0])


def _check_head(embedding: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, binary: bool) -> None:
    """The linear layer: (C, D) and (C,) for C >= 2 classes, (D,) and () for the binary head."""
    emb_dim = embedding.shape[1]
    if binary:
        checks.check_tensor("weight", weight, shape=(emb_dim,), shape_text="(D,) (the binary head)")
        checks.check_tensor("bias", bias, shape=(), shape_text="() (the binary head)")
    else:
        checks.check_tensor("weight", weight, shape=(None, emb_dim), shape_text="(C, D)")
        if weight.shape[0] < 2:
            raise ValueError(
                f"weight must have C >= 2 rows (softmax over one class is constant), got C={weight.shape[0]}; "
                "for one logit use the binary_* functions"
            )
        checks.check_tensor("bias", bias, shape=(weight.shape[0],), shape_text="(C,)")
    for name, tensor in (("weight", weight), ("bias", bias)):
        checks.check_tensor(name, tensor, dtype=embedding.dtype)
        checks.check_same_device(name, tensor, "embedding", embedding)
        checks.check_finite(name, tensor)


def _check_labels(labels: torch.Tensor, batch: int, num_classes: int | None, embedding: torch.Tensor) -> None:
    """Class labels in [0, C) (``num_classes`` given) or binary targets in [0, 1] (``num_classes`` None)."""
    if num_classes is not None:
        checks.check_labels("labels", labels, num_classes=num_classes, size=batch)
    else:
        checks.check_tensor("labels", labels, shape=(batch,), shape_text="(B,)")
        if labels.dtype == torch.bool or not (labels.is_floating_point() or labels.dtype == torch.long):
            raise ValueError(f"labels of the binary head must have a float or int64 dtype, got {labels.dtype}")
        checks.check_finite("labels", labels)
        if labels.device.type == "cpu" and bool(((labels < 0) | (labels > 1)).any()):
            bad = labels[(labels < 0) | (labels > 1)][0].item()
            raise ValueError(f"labels of the binary head must lie in [0, 1], got {bad}")
    checks.check_same_device("labels", labels, "embedding", embedding)


# ---------------------------------------------------------------------------------------------
# The forward pass, written once: the masked mean is embedlab.pooling.mean_pool.


def _pooled(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    padding_idx: int | None,
) -> torch.Tensor:
    embedded = F.embedding(token_ids, embedding, padding_idx=padding_idx)  # (B, T) -> (B, T, D)
    return mean_pool(embedded, padding_mask)  # (B, T, D) -> (B, D)


def mean_pool_logits(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """Logits of the C-class model: look up, mean over non-padding positions, linear.

    Args:
        token_ids: (B, T) int64 ids in [0, V).
        padding_mask: (B, T) bool, True at padding; every row has a False.
        embedding: (V, D) float matrix E.
        weight: (C, D) of the linear layer (C >= 2), as in ``nn.Linear``.
        bias: (C,).
        padding_idx: row that receives no gradient (as in ``nn.Embedding``), or None.

    Returns:
        (B, C) logits.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=False)
    pooled = _pooled(token_ids, padding_mask, embedding, padding_idx)  # (B, D)
    return pooled @ weight.T + bias  # (B, D) -> (B, C)


def mean_pool_loss(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    labels: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """Cross-entropy of the C-class model, averaged over the batch.

    Args:
        token_ids, padding_mask, embedding, weight, bias, padding_idx: as in :func:`mean_pool_logits`.
        labels: (B,) int64 class indices in [0, C).

    Returns:
        () the mean loss.
    """
    logits = mean_pool_logits(token_ids, padding_mask, embedding, weight, bias, padding_idx)  # (B, C)
    _check_labels(labels, token_ids.shape[0], weight.shape[0], embedding)
    return F.cross_entropy(logits, labels.long())


def embedding_grad(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    labels: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """Closed-form ``dL/dE`` of :func:`mean_pool_loss`, without autograd.

    Row i is ``sum_n count_n(i) / T_n * W^T (p_n - onehot(y_n)) / B``: count_n(i) is how often
    token i sits at a non-padding position of sequence n, T_n the number of such positions
    (the notation of book/notation.md).

    Args:
        as in :func:`mean_pool_loss`.

    Returns:
        (V, D), the gradient of the mean loss with respect to ``embedding``.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=False)
    _check_labels(labels, token_ids.shape[0], weight.shape[0], embedding)
    with torch.no_grad():
        pooled = _pooled(token_ids, padding_mask, embedding, padding_idx)  # (B, D)
        probs = torch.softmax(pooled @ weight.T + bias, dim=-1)  # (B, D) -> (B, C)
        targets = F.one_hot(labels.long(), weight.shape[0]).to(probs.dtype)  # (B,) -> (B, C)
        grad_logits = (probs - targets) / token_ids.shape[0]  # (B, C)
        grad_pooled = grad_logits @ weight  # (B, C) -> (B, D)
        return _scatter_rows(grad_pooled, token_ids, padding_mask, embedding, padding_idx)


def binary_logits(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """One logit per sequence: look up, mean over non-padding positions, dot with ``weight``.

    Args:
        token_ids: (B, T) int64 ids in [0, V).
        padding_mask: (B, T) bool, True at padding; every row has a False.
        embedding: (V, D) float matrix E.
        weight: (D,) weight vector w.
        bias: () scalar bias.
        padding_idx: row that receives no gradient, or None.

    Returns:
        (B,) logits; the model's probability of class 1 is their sigmoid.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=True)
    pooled = _pooled(token_ids, padding_mask, embedding, padding_idx)  # (B, D)
    return pooled @ weight + bias  # (B, D) -> (B,)


def binary_loss(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    labels: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """Binary cross-entropy of the one-logit model, averaged over the batch.

    Args:
        token_ids, padding_mask, embedding, weight, bias, padding_idx: as in :func:`binary_logits`.
        labels: (B,) targets in [0, 1] (int or float).

    Returns:
        () the mean loss.
    """
    logits = binary_logits(token_ids, padding_mask, embedding, weight, bias, padding_idx)  # (B,)
    _check_labels(labels, token_ids.shape[0], None, embedding)
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def binary_embedding_grad(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    labels: torch.Tensor,
    padding_idx: int | None = PAD_ID,
) -> torch.Tensor:
    """Closed-form ``dL/dE`` of :func:`binary_loss`, without autograd.

    Row i is ``sum_n count_n(i) / T_n * (sigmoid(s_n) - y_n) / B * w``.

    Args:
        as in :func:`binary_loss`.

    Returns:
        (V, D), the gradient of the mean loss with respect to ``embedding``.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=True)
    _check_labels(labels, token_ids.shape[0], None, embedding)
    with torch.no_grad():
        pooled = _pooled(token_ids, padding_mask, embedding, padding_idx)  # (B, D)
        probs = torch.sigmoid(pooled @ weight + bias)  # (B, D) -> (B,)
        grad_logits = (probs - labels.to(probs.dtype)) / token_ids.shape[0]  # (B,)
        grad_pooled = grad_logits.unsqueeze(1) * weight  # (B,) -> (B, D)
        return _scatter_rows(grad_pooled, token_ids, padding_mask, embedding, padding_idx)


def _scatter_rows(
    grad_pooled: torch.Tensor,
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    padding_idx: int | None,
) -> torch.Tensor:
    """Send each sequence's dL/dh_n / T_n to the rows of its real tokens, adding repeats."""
    keep = ~padding_mask  # (B, T)
    if padding_idx is not None:
        keep = keep & (token_ids != padding_idx)  # (B, T)
    lengths = (~padding_mask).sum(dim=1).to(grad_pooled.dtype)  # (B,)
    per_sequence = grad_pooled / lengths.unsqueeze(1)  # (B, D)
    rows = token_ids[keep].long()  # (B, T) -> (N,)
    contributions = per_sequence.unsqueeze(1).expand(-1, token_ids.shape[1], -1)[keep]  # (B, T, D) -> (N, D)
    grad = torch.zeros_like(embedding)  # (V, D)
    return grad.index_add_(0, rows, contributions)  # (N, D) -> (V, D)


# ---------------------------------------------------------------------------------------------
# The closed form as a backward, so that gradcheck can compare it with finite differences.


class _ClosedFormLoss(torch.autograd.Function):
    """Forward: the loss. Backward: the closed-form gradient with respect to the embedding only."""

    @staticmethod
    def forward(ctx, embedding, token_ids, padding_mask, weight, bias, labels, padding_idx, binary):
        ctx.save_for_backward(embedding, token_ids, padding_mask, weight, bias, labels)
        ctx.padding_idx = padding_idx
        ctx.binary = binary
        loss_fn = binary_loss if binary else mean_pool_loss
        with torch.no_grad():
            return loss_fn(token_ids, padding_mask, embedding, weight, bias, labels, padding_idx)

    @staticmethod
    def backward(ctx, grad_loss):
        embedding, token_ids, padding_mask, weight, bias, labels = ctx.saved_tensors
        grad_fn = binary_embedding_grad if ctx.binary else embedding_grad
        grad = grad_fn(token_ids, padding_mask, embedding, weight, bias, labels, ctx.padding_idx)  # (V, D)
        return grad_loss * grad, None, None, None, None, None, None, None


def closed_form_loss(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    labels: torch.Tensor,
    padding_idx: int | None = PAD_ID,
    binary: bool = False,
) -> torch.Tensor:
    """The mean loss, whose backward is :func:`embedding_grad` (or :func:`binary_embedding_grad`).

    For ``torch.autograd.gradcheck``: only ``embedding`` receives a gradient (weight, bias and
    labels are treated as constants, so they must not require one).

    Args:
        as in :func:`mean_pool_loss` (``binary=False``) or :func:`binary_loss` (``binary=True``).

    Returns:
        () the mean loss.
    """
    checks.check_bool("binary", binary)
    checks.check_tensor("weight", weight)
    checks.check_tensor("bias", bias)
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor.requires_grad:
            raise ValueError(
                f"{name} requires grad, but closed_form_loss differentiates only embedding; "
                f"pass {name}.detach()"
            )
    return _ClosedFormLoss.apply(embedding, token_ids, padding_mask, weight, bias, labels, padding_idx, binary)
