"""The gradient of a mean-pooling classifier with respect to its embedding matrix, in closed form.

The model of chapter 03: token ids -> embedding rows -> masked mean pooling -> linear -> loss.
Two heads: C classes (softmax + cross-entropy) and binary (one logit, sigmoid + binary
cross-entropy). The loss is the mean over the batch. :func:`embedding_grad` and
:func:`binary_embedding_grad` compute ``dL/dE`` without autograd; the chapter and the tests check
them against autograd and against finite differences.

Shape legend: B batch, T tokens, V vocabulary, D embedding, C classes, N real (non-padding)
positions of a batch.

Conventions (from :mod:`embedlab.text`): ``padding_mask`` is True where a position is padding,
``PAD_ID = 0``. Padding positions take no part in the mean; on top of that the row
``padding_idx`` receives no gradient wherever it appears, as in :class:`torch.nn.Embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from embedlab.text import PAD_ID

# ---------------------------------------------------------------------------------------------
# Input checks (shared by every public function).


def _check_tensor(value: object, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _check_batch(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    padding_idx: int | None,
) -> None:
    """Check the lookup part: ids, mask, embedding matrix, padding_idx."""
    _check_tensor(token_ids, "token_ids")
    _check_tensor(padding_mask, "padding_mask")
    _check_tensor(embedding, "embedding")
    if token_ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"token_ids must be an int64 or int32 tensor, got dtype {token_ids.dtype}")
    if token_ids.ndim != 2:
        raise ValueError(f"token_ids must have shape (B, T), got {tuple(token_ids.shape)}")
    if token_ids.shape[0] == 0 or token_ids.shape[1] == 0:
        raise ValueError(f"token_ids must have B >= 1 and T >= 1, got shape {tuple(token_ids.shape)}")
    if padding_mask.dtype != torch.bool:
        raise TypeError(
            f"padding_mask must be a bool tensor (True at padding), got dtype {padding_mask.dtype}"
        )
    if padding_mask.shape != token_ids.shape:
        raise ValueError(
            f"padding_mask must have the shape of token_ids {tuple(token_ids.shape)}, "
            f"got {tuple(padding_mask.shape)}"
        )
    if not embedding.is_floating_point():
        raise TypeError(f"embedding must be a floating-point tensor, got dtype {embedding.dtype}")
    if embedding.ndim != 2 or embedding.shape[0] == 0 or embedding.shape[1] == 0:
        raise ValueError(f"embedding must have shape (V, D) with V, D >= 1, got {tuple(embedding.shape)}")
    for name, tensor in (("token_ids", token_ids), ("padding_mask", padding_mask)):
        if tensor.device != embedding.device:
            raise ValueError(
                f"{name} is on {tensor.device} but embedding is on {embedding.device}; "
                "move them to one device"
            )
    vocab_size = embedding.shape[0]
    low, high = int(token_ids.min()), int(token_ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"token_ids must lie in [0, {vocab_size - 1}] (embedding has V={vocab_size} rows), got {bad}"
        )
    empty = (~padding_mask).sum(dim=1) == 0  # (B,)
    if bool(empty.any()):
        rows = torch.nonzero(empty).flatten().tolist()
        raise ValueError(
            f"every sequence needs at least one non-padding position (the mean of nothing is "
            f"undefined); padding_mask is all True in rows {rows[:5]}"
        )
    if padding_idx is not None:
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, int):
            raise TypeError(f"padding_idx must be an int or None, got {type(padding_idx).__name__}")
        if not 0 <= padding_idx < vocab_size:
            raise ValueError(f"padding_idx must lie in [0, {vocab_size - 1}] or be None, got {padding_idx}")


def _check_head(
    embedding: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    binary: bool,
) -> None:
    """Check the linear layer: (C, D) and (C,) for C classes, (D,) and () for the binary head."""
    _check_tensor(weight, "weight")
    _check_tensor(bias, "bias")
    emb_dim = embedding.shape[1]
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor.dtype != embedding.dtype:
            raise TypeError(f"{name} must have the dtype of embedding ({embedding.dtype}), got {tensor.dtype}")
        if tensor.device != embedding.device:
            raise ValueError(f"{name} is on {tensor.device} but embedding is on {embedding.device}")
    if binary:
        if weight.shape != (emb_dim,):
            raise ValueError(f"weight of the binary head must have shape (D,) = ({emb_dim},), got {tuple(weight.shape)}")
        if bias.shape != ():
            raise ValueError(f"bias of the binary head must be a 0-d tensor, got shape {tuple(bias.shape)}")
        return
    if weight.ndim != 2 or weight.shape[1] != emb_dim:
        raise ValueError(f"weight must have shape (C, D) with D={emb_dim}, got {tuple(weight.shape)}")
    if weight.shape[0] < 2:
        raise ValueError(
            f"weight must have C >= 2 rows (softmax over one class is constant); got C={weight.shape[0]}; "
            "for one logit use the binary_* functions"
        )
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"bias must have shape (C,) = ({weight.shape[0]},), got {tuple(bias.shape)}")


def _check_labels(labels: torch.Tensor, batch: int, num_classes: int | None, device: torch.device) -> None:
    """Class labels in [0, C) (num_classes given) or binary targets in [0, 1] (num_classes None)."""
    _check_tensor(labels, "labels")
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape (B,) = ({batch},), got {tuple(labels.shape)}")
    if labels.device != device:
        raise ValueError(f"labels is on {labels.device} but embedding is on {device}")
    if num_classes is not None:
        if labels.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"labels must be an int64 or int32 tensor of class indices, got dtype {labels.dtype}")
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(f"labels must lie in [0, {num_classes - 1}] (C={num_classes}), got {bad}")
        return
    if labels.dtype == torch.bool or not (labels.is_floating_point() or labels.dtype in (torch.int64, torch.int32)):
        raise TypeError(f"labels of the binary head must be a float or int tensor, got dtype {labels.dtype}")
    low, high = float(labels.min()), float(labels.max())
    if low < 0 or high > 1:
        raise ValueError(f"labels of the binary head must lie in [0, 1], got {low if low < 0 else high}")


# ---------------------------------------------------------------------------------------------
# The forward pass, written once.


def _masked_mean(embedded: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the non-padding positions: (B, T, D), (B, T) -> (B, D)."""
    kept = embedded.masked_fill(padding_mask.unsqueeze(-1), 0.0)  # (B, T, D)
    lengths = (~padding_mask).sum(dim=1, keepdim=True).to(embedded.dtype)  # (B, 1)
    return kept.sum(dim=1) / lengths  # (B, T, D) -> (B, D)


def _pooled(
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    embedding: torch.Tensor,
    padding_idx: int | None,
) -> torch.Tensor:
    embedded = F.embedding(token_ids, embedding, padding_idx=padding_idx)  # (B, T) -> (B, T, D)
    return _masked_mean(embedded, padding_mask)  # (B, T, D) -> (B, D)


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
    _check_labels(labels, token_ids.shape[0], weight.shape[0], embedding.device)
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

    Row v is ``sum_b count_b(v) / n_b * W^T (p_b - onehot(y_b)) / B``: count_b(v) is how often v
    sits at a non-padding position of sequence b, n_b the number of such positions.

    Args:
        as in :func:`mean_pool_loss`.

    Returns:
        (V, D), the gradient of the mean loss with respect to ``embedding``.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=False)
    _check_labels(labels, token_ids.shape[0], weight.shape[0], embedding.device)
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
    _check_labels(labels, token_ids.shape[0], None, embedding.device)
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

    Row v is ``sum_b count_b(v) / n_b * (sigmoid(s_b) - y_b) / B * w``.

    Args:
        as in :func:`binary_loss`.

    Returns:
        (V, D), the gradient of the mean loss with respect to ``embedding``.
    """
    _check_batch(token_ids, padding_mask, embedding, padding_idx)
    _check_head(embedding, weight, bias, binary=True)
    _check_labels(labels, token_ids.shape[0], None, embedding.device)
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
    """Send each sequence's dL/dh_b / n_b to the rows of its real tokens, adding repeats."""
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
    if not isinstance(binary, bool):
        raise TypeError(f"binary must be a bool, got {type(binary).__name__}")
    _check_tensor(weight, "weight")
    _check_tensor(bias, "bias")
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor.requires_grad:
            raise ValueError(
                f"{name} requires grad, but closed_form_loss differentiates only embedding; "
                f"pass {name}.detach()"
            )
    return _ClosedFormLoss.apply(embedding, token_ids, padding_mask, weight, bias, labels, padding_idx, binary)


# ---------------------------------------------------------------------------------------------
# The same model as a module, for training loops.


@dataclass(frozen=True)
class ClassifierConfig:
    """Sizes and embedding options of :class:`MeanPoolClassifier`."""

    vocab_size: int  # V, rows of the embedding matrix
    emb_dim: int  # D, columns of the embedding matrix
    num_classes: int = 2  # C >= 2 for softmax; 1 for the binary head (one logit)
    padding_idx: int | None = PAD_ID  # row that gets no gradient and starts at zero
    max_norm: float | None = None  # rows looked up are renormed in place to at most this norm
    sparse: bool = False  # sparse gradient for the embedding (use with SparseAdam / SGD)


class MeanPoolClassifier(nn.Module):
    """``nn.Embedding`` -> masked mean -> ``nn.Linear``: the model whose gradient this module derives."""

    def __init__(self, config: ClassifierConfig):
        """Build the layers; draws its initial weights from torch's global generator."""
        super().__init__()
        if not isinstance(config, ClassifierConfig):
            raise TypeError(f"config must be a ClassifierConfig, got {type(config).__name__}")
        for name in ("vocab_size", "emb_dim", "num_classes"):
            value = getattr(config, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"config.{name} must be an int >= 1, got {value!r}")
        if config.padding_idx is not None and not 0 <= config.padding_idx < config.vocab_size:
            raise ValueError(
                f"config.padding_idx must lie in [0, {config.vocab_size - 1}] or be None, got {config.padding_idx}"
            )
        if config.max_norm is not None and not config.max_norm > 0:
            raise ValueError(f"config.max_norm must be positive or None, got {config.max_norm}")
        self.config = config
        self.embed = nn.Embedding(
            config.vocab_size,
            config.emb_dim,
            padding_idx=config.padding_idx,
            max_norm=config.max_norm,
            sparse=config.sparse,
        )
        self.head = nn.Linear(config.emb_dim, config.num_classes)

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, C), or (B,) for the binary head.

        Args:
            token_ids: (B, T) int64 ids in [0, V).
            padding_mask: (B, T) bool, True at padding; every row has a False.
        """
        _check_batch(token_ids, padding_mask, self.embed.weight, self.config.padding_idx)
        embedded = self.embed(token_ids)  # (B, T) -> (B, T, D)
        pooled = _masked_mean(embedded, padding_mask)  # (B, T, D) -> (B, D)
        logits = self.head(pooled)  # (B, D) -> (B, C)
        if self.config.num_classes == 1:
            return logits.squeeze(-1)  # (B, 1) -> (B,)
        return logits
