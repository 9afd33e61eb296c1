"""Pooling a padded batch of token vectors into one vector per sequence, and classifiers around it.

Shape legend: B batch, T tokens, V vocabulary, D embedding, C classes, N tokens of a whole batch.

Conventions (from :mod:`embedlab.text`): ``padding_mask`` is True AT PADDING, like PyTorch's
``key_padding_mask``. A row that is padding everywhere (an empty sequence) pools to the zero
vector under every pooling, and attention gives it all-zero weights: the same defined value
``nn.EmbeddingBag`` returns for an empty bag. Nothing in such a row is NaN, and no gradient
from it is NaN.

The pooling of a classifier is chosen with the :class:`Pooling` enum (``Pooling("max")`` turns a
name into a member); each member maps to one function of this module, written out in
:meth:`PoolingClassifier.encode`.
"""

from __future__ import annotations

import enum
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from embedlab.device import cpu_generator
from embedlab.text import PAD_ID


class Pooling(enum.Enum):
    """How a classifier turns T token vectors into one: each member is one function below."""

    MEAN = "mean"  # mean_pool: average of the real tokens
    SUM = "sum"  # sum_pool: sum of the real tokens
    SQRT_N = "sqrtn"  # sqrt_n_pool: sum of the real tokens / sqrt(their number)
    MAX = "max"  # max_pool: largest value of each dimension over the real tokens
    ATTENTION = "attention"  # AttentionPool: softmax-weighted average, a learned query scores tokens


# ---------------------------------------------------------------------------------------------
# Pure functions: (B, T, D) token vectors + (B, T) padding mask -> (B, D).


def _check_pool_inputs(x: torch.Tensor, padding_mask: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (B, T, D), got {type(x).__name__}")
    if not isinstance(padding_mask, torch.Tensor):
        raise TypeError(
            f"padding_mask must be a bool torch.Tensor of shape (B, T), got {type(padding_mask).__name__}"
        )
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, T, D), got {tuple(x.shape)}")
    if padding_mask.dtype != torch.bool:
        raise TypeError(f"padding_mask must have dtype torch.bool (True at padding), got {padding_mask.dtype}")
    if padding_mask.shape != x.shape[:2]:
        raise ValueError(
            f"padding_mask must have shape (B, T) = {tuple(x.shape[:2])} to match x, "
            f"got {tuple(padding_mask.shape)}"
        )
    if padding_mask.device != x.device:
        raise ValueError(f"padding_mask is on {padding_mask.device} but x is on {x.device}")


def sum_pool(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Sum of the token vectors that are not padding.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, D); an all-padding row gives zeros.
    """
    _check_pool_inputs(x, padding_mask)
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)  # (B, T, D), padding -> 0
    return x.sum(dim=1)  # (B, T, D) -> (B, D)


def mean_pool(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors that are not padding: sum over real tokens / number of real tokens.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, D); an all-padding row gives zeros (0 / max(0, 1)).
    """
    summed = sum_pool(x, padding_mask)  # (B, D)
    lengths = (~padding_mask).sum(dim=1, keepdim=True)  # (B, T) -> (B, 1)
    return summed / lengths.clamp(min=1).to(x.dtype)  # (B, D)


def sqrt_n_pool(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Sum of the token vectors that are not padding, divided by the square root of their number.

    Between the sum (grows like n) and the mean (does not grow): TensorFlow calls this combiner
    ``"sqrtn"``. For n distinct tokens of weight 1, it is what the L2 normalisation of a TF-IDF
    vector does to each entry.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, D); an all-padding row gives zeros (0 / sqrt(max(0, 1))).
    """
    summed = sum_pool(x, padding_mask)  # (B, D)
    lengths = (~padding_mask).sum(dim=1, keepdim=True)  # (B, T) -> (B, 1)
    return summed / lengths.clamp(min=1).to(x.dtype).sqrt()  # (B, D)


def sqrt_n_weights(flat_ids: torch.Tensor, offsets: torch.Tensor, padding_idx: int | None = None) -> torch.Tensor:
    """Per-token weights (N,) that turn ``nn.EmbeddingBag(mode="sum")`` into :func:`sqrt_n_pool`.

    Every token of bag b gets ``1 / sqrt(n_b)``, where n_b counts the bag's ids other than
    ``padding_idx`` (EmbeddingBag leaves those out of the sum). Pass the result as
    ``per_sample_weights``. Integer cumulative sums only, so it is deterministic on CUDA too.

    Args:
        flat_ids: (N,) int64 ids, as made by :func:`embedlab.text.to_bag`.
        offsets: (B,) int64 start of each bag in ``flat_ids``.
        padding_idx: the id that does not count (None: every id counts).

    Returns:
        (N,) float32 weights, on the device of ``flat_ids``.
    """
    for name, value, shape in (("flat_ids", flat_ids, "(N,)"), ("offsets", offsets, "(B,)")):
        if not isinstance(value, torch.Tensor) or value.dtype != torch.long or value.dim() != 1:
            got = f"{value.dtype} of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{name} must be a 1-D int64 tensor {shape}, as made by embedlab.text.to_bag; got {got}")
    n = flat_ids.numel()
    ends = torch.cat([offsets[1:], offsets.new_full((1,), n)])  # (B,)
    real = torch.ones_like(flat_ids) if padding_idx is None else (flat_ids != padding_idx).long()  # (N,)
    cumulative = torch.cat([real.new_zeros(1), real.cumsum(0)])  # (N + 1,)
    counts = cumulative[ends] - cumulative[offsets]  # (B,) real ids per bag
    scale = counts.clamp(min=1).float().rsqrt()  # (B,)
    return scale.repeat_interleave(ends - offsets, output_size=n)  # (B,) -> (N,)


def max_pool(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """Largest value of each dimension over the token vectors that are not padding.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, D); an all-padding row gives zeros.
    """
    _check_pool_inputs(x, padding_mask)
    x = x.masked_fill(padding_mask.unsqueeze(-1), float("-inf"))  # (B, T, D), padding never wins
    pooled = x.amax(dim=1)  # (B, T, D) -> (B, D)
    empty = padding_mask.all(dim=1, keepdim=True)  # (B, 1)
    return pooled.masked_fill(empty, 0.0)  # (B, D), -inf of empty rows -> 0


def attention_pool(
    x: torch.Tensor, padding_mask: torch.Tensor, query: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax-weighted mean of the token vectors; the weights come from the scores ``x_t . query``.

    ``attn_scores[b, t] = x[b, t] @ query``; the weights are a softmax of the scores over the real
    tokens of each row (padding gets weight exactly 0). With ``query = 0`` every real token gets the
    same weight and the result equals :func:`mean_pool`.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.
        query: (D,) the vector that scores each token.

    Returns:
        pooled: (B, D); an all-padding row gives zeros.
        weights: (B, T), each row sums to 1 over its real tokens; an all-padding row is all zeros.
    """
    _check_pool_inputs(x, padding_mask)
    if not isinstance(query, torch.Tensor):
        raise TypeError(f"query must be a torch.Tensor of shape (D,), got {type(query).__name__}")
    if query.shape != x.shape[2:]:
        raise ValueError(f"query must have shape (D,) = ({x.shape[2]},) to match x, got {tuple(query.shape)}")
    x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)  # (B, T, D), padding -> 0
    attn_scores = x @ query  # (B, T, D) @ (D,) -> (B, T)
    attn_scores = attn_scores.masked_fill(padding_mask, float("-inf"))  # (B, T)
    empty = padding_mask.all(dim=1, keepdim=True)  # (B, 1)
    attn_scores = attn_scores.masked_fill(empty, 0.0)  # (B, T), no row is all -inf (softmax NaN)
    weights = F.softmax(attn_scores, dim=1)  # (B, T)
    weights = weights.masked_fill(padding_mask, 0.0)  # (B, T), empty rows -> all zeros
    pooled = (weights.unsqueeze(1) @ x).squeeze(1)  # (B, 1, T) @ (B, T, D) -> (B, D)
    return pooled, weights


class AttentionPool(nn.Module):
    """Attention pooling with a learned query (D,), initialised to zeros: it starts as mean pooling."""

    def __init__(self, emb_dim: int):
        """Args: emb_dim: D, the size of the token vectors."""
        super().__init__()
        _check_positive_int(emb_dim, "emb_dim")
        self.query = nn.Parameter(torch.zeros(emb_dim))  # (D,)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool (B, T, D) with (B, T) padding_mask into (pooled (B, D), weights (B, T))."""
        return attention_pool(x, padding_mask, self.query)


# ---------------------------------------------------------------------------------------------
# Classifiers: embedding -> pooling -> linear.


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _as_pooling(pooling: Pooling | str, allowed: tuple[Pooling, ...]) -> Pooling:
    if isinstance(pooling, str):
        names = [p.value for p in allowed]
        if pooling not in names:
            raise ValueError(f"pooling must be one of {names} (or a Pooling member), got {pooling!r}")
        pooling = Pooling(pooling)
    if not isinstance(pooling, Pooling):
        raise TypeError(f"pooling must be a Pooling member or its name, got {type(pooling).__name__}")
    if pooling not in allowed:
        raise ValueError(f"pooling must be one of {[p.value for p in allowed]} here, got {pooling.value!r}")
    return pooling


def _embedding_weight(
    vocab_size: int,
    emb_dim: int,
    pretrained: torch.Tensor | None,
    init_std: float,
    padding_idx: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """The (V, D) starting matrix: a copy of ``pretrained``, or N(0, init_std^2) drawn on the CPU."""
    if pretrained is None:
        if isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or not init_std > 0:
            raise ValueError(f"init_std must be a positive float, got {init_std!r}")
        weight = torch.randn(vocab_size, emb_dim, generator=generator) * init_std  # (V, D)
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        return weight
    if not isinstance(pretrained, torch.Tensor):
        raise TypeError(f"pretrained must be a torch.Tensor of shape (V, D) or None, got {type(pretrained).__name__}")
    if pretrained.shape != (vocab_size, emb_dim):
        raise ValueError(
            f"pretrained must have shape (vocab_size, emb_dim) = ({vocab_size}, {emb_dim}), "
            f"got {tuple(pretrained.shape)}"
        )
    if not pretrained.is_floating_point():
        raise TypeError(f"pretrained must be a floating-point tensor, got dtype {pretrained.dtype}")
    return pretrained.detach().to("cpu", torch.float32).clone()  # (V, D), the caller's tensor is not shared


def _linear_init(linear: nn.Linear, generator: torch.Generator) -> None:
    """PyTorch's default ``nn.Linear`` init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from ``generator``."""
    bound = 1.0 / math.sqrt(linear.in_features)
    with torch.no_grad():
        linear.weight.uniform_(-bound, bound, generator=generator)
        linear.bias.uniform_(-bound, bound, generator=generator)


class PoolingClassifier(nn.Module):
    """Embedding -> masked pooling -> linear, over padded batches ``(token_ids, padding_mask)``.

    Random initialisation draws every parameter from a CPU generator seeded with ``seed`` (so a CUDA
    run starts from the same numbers): embedding rows N(0, init_std^2) with the padding row zero,
    the linear layer as PyTorch's default, the attention query zero. ``pretrained`` (V, D) replaces
    the random embedding rows (e.g. the matrix of chapter 04); ``freeze=True`` keeps them fixed.
    """

    def __init__(
        self,
        vocab_size: int,
        emb_dim: int,
        num_classes: int,
        pooling: Pooling | str = Pooling.MEAN,
        padding_idx: int | None = PAD_ID,
        pretrained: torch.Tensor | None = None,
        freeze: bool = False,
        init_std: float = 0.1,
        seed: int = 0,
    ):
        """Args:
        vocab_size: V, rows of the embedding.
        emb_dim: D, size of each token vector.
        num_classes: C, size of the output.
        pooling: a :class:`Pooling` member or its name.
        padding_idx: the id whose row stays zero and gets no gradient (None: no such id).
        pretrained: (V, D) starting embedding matrix, copied; None draws it at random.
        freeze: keep the embedding matrix fixed during training.
        init_std: standard deviation of the random embedding rows (ignored with ``pretrained``).
        seed: seed of the CPU generator that draws the random parameters.
        """
        super().__init__()
        _check_positive_int(vocab_size, "vocab_size")
        _check_positive_int(emb_dim, "emb_dim")
        _check_positive_int(num_classes, "num_classes")
        if padding_idx is not None and not 0 <= padding_idx < vocab_size:
            raise ValueError(f"padding_idx must be in [0, {vocab_size}) or None, got {padding_idx}")
        if not isinstance(freeze, bool):
            raise TypeError(f"freeze must be a bool, got {type(freeze).__name__}")
        self.pooling = _as_pooling(pooling, tuple(Pooling))
        generator = cpu_generator(seed)
        weight = _embedding_weight(vocab_size, emb_dim, pretrained, init_std, padding_idx, generator)
        self.embedding = nn.Embedding.from_pretrained(weight, freeze=freeze, padding_idx=padding_idx)
        self.attention = AttentionPool(emb_dim) if self.pooling is Pooling.ATTENTION else None
        self.classifier = nn.Linear(emb_dim, num_classes)
        _linear_init(self.classifier, generator)

    def encode(
        self, token_ids: torch.Tensor, padding_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The pooled vectors (B, D), and the attention weights (B, T) (None for other poolings).

        Args:
            token_ids: (B, T) int64 ids.
            padding_mask: (B, T) bool, True at padding.
        """
        _check_token_ids(token_ids, padding_mask)
        x = self.embedding(token_ids)  # (B, T) -> (B, T, D)
        if self.pooling is Pooling.MEAN:
            return mean_pool(x, padding_mask), None  # (B, D)
        if self.pooling is Pooling.SUM:
            return sum_pool(x, padding_mask), None  # (B, D)
        if self.pooling is Pooling.SQRT_N:
            return sqrt_n_pool(x, padding_mask), None  # (B, D)
        if self.pooling is Pooling.MAX:
            return max_pool(x, padding_mask), None  # (B, D)
        return self.attention(x, padding_mask)  # (B, D), (B, T)

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of a padded batch (token_ids (B, T), padding_mask (B, T))."""
        pooled, _ = self.encode(token_ids, padding_mask)  # (B, D)
        return self.classifier(pooled)  # (B, D) -> (B, C)


def _check_token_ids(token_ids: torch.Tensor, padding_mask: torch.Tensor) -> None:
    if not isinstance(token_ids, torch.Tensor) or token_ids.dtype != torch.long:
        got = token_ids.dtype if isinstance(token_ids, torch.Tensor) else type(token_ids).__name__
        raise TypeError(f"token_ids must be an int64 tensor of shape (B, T), got {got}")
    if token_ids.dim() != 2:
        raise ValueError(f"token_ids must have shape (B, T), got {tuple(token_ids.shape)}")
    if not isinstance(padding_mask, torch.Tensor) or padding_mask.shape != token_ids.shape:
        got = tuple(padding_mask.shape) if isinstance(padding_mask, torch.Tensor) else type(padding_mask).__name__
        raise ValueError(f"padding_mask must have the shape of token_ids {tuple(token_ids.shape)}, got {got}")


class BagClassifier(nn.Module):
    """``nn.EmbeddingBag`` -> linear, over the flat layout ``(flat_ids, offsets)`` of :func:`embedlab.text.to_bag`.

    The fast path of :class:`PoolingClassifier` for mean, sum, sqrt-n and max pooling: no padding
    is ever built or looked up. Sqrt-n runs as a weighted sum (weights from :func:`sqrt_n_weights`).
    Initialisation is the same as :class:`PoolingClassifier`'s, draw for draw, so both models start
    from identical parameters for the same arguments.
    """

    def __init__(
        self,
        vocab_size: int,
        emb_dim: int,
        num_classes: int,
        pooling: Pooling | str = Pooling.MEAN,
        padding_idx: int | None = PAD_ID,
        pretrained: torch.Tensor | None = None,
        freeze: bool = False,
        init_std: float = 0.1,
        seed: int = 0,
    ):
        """Args: as :class:`PoolingClassifier`; ``pooling`` is MEAN, SUM, SQRT_N or MAX (no attention)."""
        super().__init__()
        _check_positive_int(vocab_size, "vocab_size")
        _check_positive_int(emb_dim, "emb_dim")
        _check_positive_int(num_classes, "num_classes")
        if padding_idx is not None and not 0 <= padding_idx < vocab_size:
            raise ValueError(f"padding_idx must be in [0, {vocab_size}) or None, got {padding_idx}")
        if not isinstance(freeze, bool):
            raise TypeError(f"freeze must be a bool, got {type(freeze).__name__}")
        self.pooling = _as_pooling(pooling, (Pooling.MEAN, Pooling.SUM, Pooling.SQRT_N, Pooling.MAX))
        generator = cpu_generator(seed)
        weight = _embedding_weight(vocab_size, emb_dim, pretrained, init_std, padding_idx, generator)
        mode = "sum" if self.pooling is Pooling.SQRT_N else self.pooling.value  # sqrt-n: a weighted sum
        self.embedding = nn.EmbeddingBag.from_pretrained(weight, freeze=freeze, mode=mode, padding_idx=padding_idx)
        self.classifier = nn.Linear(emb_dim, num_classes)
        _linear_init(self.classifier, generator)

    def forward(self, flat_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of B bags given as flat_ids (N,) and offsets (B,)."""
        if not isinstance(flat_ids, torch.Tensor) or flat_ids.dtype != torch.long or flat_ids.dim() != 1:
            raise ValueError("flat_ids must be a 1-D int64 tensor (N,), as made by embedlab.text.to_bag")
        if not isinstance(offsets, torch.Tensor) or offsets.dtype != torch.long or offsets.dim() != 1:
            raise ValueError("offsets must be a 1-D int64 tensor (B,), as made by embedlab.text.to_bag")
        weights = None
        if self.pooling is Pooling.SQRT_N:
            weights = sqrt_n_weights(flat_ids, offsets, self.embedding.padding_idx)  # (N,)
            weights = weights.to(self.embedding.weight.dtype)
        pooled = self.embedding(flat_ids, offsets, per_sample_weights=weights)  # (N,), (B,) -> (B, D)
        return self.classifier(pooled)  # (B, D) -> (B, C)
