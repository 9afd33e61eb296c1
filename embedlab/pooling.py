"""Pooling a padded batch of token vectors into one vector per sequence, and classifiers around it.

Shape legend: see :mod:`embedlab`.

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
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from embedlab import checks
from embedlab.device import cpu_generator, perturb_
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
    """The shared opening of every pooling function: (B, T, D) floats and a (B, T) bool mask."""
    checks.check_tensor("x", x, dim=3, floating=True, shape_text="(B, T, D)")
    checks.check_padding_mask("padding_mask", padding_mask, tuple(x.shape[:2]))
    checks.check_same_device("padding_mask", padding_mask, "x", x)


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
    checks.check_token_ids("flat_ids", flat_ids, dim=1, shape_text="(N,)")
    checks.check_offsets("offsets", offsets, flat_ids.numel())
    checks.check_optional_int("padding_idx", padding_idx, at_least=0)
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
    checks.check_tensor("query", query, shape=(x.shape[2],), dtype=x.dtype, shape_text="(D,)")
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
        checks.check_int("emb_dim", emb_dim, at_least=1)
        self.query = nn.Parameter(torch.zeros(emb_dim))  # (D,)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool (B, T, D) with (B, T) padding_mask into (pooled (B, D), weights (B, T))."""
        return attention_pool(x, padding_mask, self.query)


# ---------------------------------------------------------------------------------------------
# Classifiers: embedding -> pooling -> linear head, one configuration for both layouts.


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything that builds a :class:`PoolingClassifier` or a :class:`BagClassifier`."""

    vocab_size: int  # V: rows of the embedding matrix
    emb_dim: int  # D: size of each token vector
    num_classes: int = 2  # C: outputs of the head; 1 is a binary head whose forward returns (B,) logits
    pooling: Pooling | str = Pooling.MEAN  # a Pooling member or its name; kept as the member
    padding_idx: int | None = PAD_ID  # the id whose row starts at zero and gets no gradient (None: none)
    max_norm: float | None = None  # rows looked up are renormalised in place to at most this norm (None: never)
    sparse: bool = False  # sparse gradient for the embedding matrix (use with SparseAdam or SGD)
    freeze: bool = False  # keep the embedding matrix fixed during training
    init_std: float = 0.1  # standard deviation of the random embedding rows (unused with a pretrained matrix)
    seed: int = 0  # seed of the CPU generator that draws every random parameter

    def __post_init__(self) -> None:
        checks.check_int("vocab_size", self.vocab_size, at_least=1)
        checks.check_int("emb_dim", self.emb_dim, at_least=1)
        checks.check_int("num_classes", self.num_classes, at_least=1)
        object.__setattr__(self, "pooling", _as_pooling(self.pooling))
        checks.check_optional_int("padding_idx", self.padding_idx, at_least=0, below=self.vocab_size)
        if self.max_norm is not None:
            checks.check_float("max_norm", self.max_norm, above=0)
        checks.check_bool("sparse", self.sparse)
        checks.check_bool("freeze", self.freeze)
        checks.check_float("init_std", self.init_std, above=0)
        checks.check_seed("seed", self.seed)


def _as_pooling(pooling: Pooling | str) -> Pooling:
    """The :class:`Pooling` member named by ``pooling`` (a member or its value)."""
    if isinstance(pooling, Pooling):
        return pooling
    checks.check_type("pooling", pooling, str, "a Pooling member or its name")
    return Pooling(checks.check_choice("pooling", pooling, [p.value for p in Pooling]))


def _embedding_weight(
    config: ClassifierConfig, pretrained: torch.Tensor | None, generator: torch.Generator
) -> torch.Tensor:
    """The (V, D) starting matrix: a float32 copy of ``pretrained``, or N(0, init_std^2) drawn on the CPU."""
    if pretrained is None:
        weight = torch.randn(config.vocab_size, config.emb_dim, generator=generator) * config.init_std  # (V, D)
        if config.padding_idx is not None:
            weight[config.padding_idx] = 0.0
        return weight
    shape = (config.vocab_size, config.emb_dim)
    checks.check_tensor("pretrained", pretrained, shape=shape, floating=True, shape_text="(vocab_size, emb_dim)")
    checks.check_finite("pretrained", pretrained)
    return pretrained.detach().to("cpu", torch.float32).clone()  # (V, D), the caller's tensor is not shared


def _needs_deterministic_backward(bag: nn.EmbeddingBag) -> bool:
    return torch.are_deterministic_algorithms_enabled() and torch.is_grad_enabled() and bag.weight.requires_grad


def bag_max_by_lookup(bag: nn.EmbeddingBag, flat_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """What ``bag(flat_ids, offsets)`` computes for ``mode='max'``, as a padded lookup and :func:`max_pool`.

    On CUDA, ``nn.EmbeddingBag``'s backward for ``mode='max'`` has no deterministic kernel, so
    ``torch.use_deterministic_algorithms(True)`` makes it raise; :class:`BagClassifier` takes this
    route there when a gradient is needed. The values are the same (a max rounds nothing); the
    gradient is the same except where two different rows tie exactly in a dimension (the bag gives
    it to one of them, this route splits it). ``padding_idx`` entries are left out of their bag and
    an empty bag gives zeros, as the bag does; ``max_norm`` renormalises the same rows.

    Args:
        bag: an ``nn.EmbeddingBag`` (its weight, padding_idx, max_norm, norm_type and sparse are used).
        flat_ids: (N,) int64 ids, every bag's ids one after the other.
        offsets: (B,) int64 start of each bag in ``flat_ids``.

    Returns:
        (B, D).
    """
    checks.check_type("bag", bag, nn.EmbeddingBag, "an nn.EmbeddingBag")
    checks.check_offsets("offsets", offsets, flat_ids.numel())
    n, b = flat_ids.numel(), offsets.numel()
    if n == 0:
        return bag.weight.new_zeros(b, bag.weight.shape[1])  # (B, D), every bag empty
    lengths = torch.diff(offsets, append=offsets.new_tensor([n]))  # (B,)
    bag_of = torch.repeat_interleave(torch.arange(b, device=offsets.device), lengths)  # (N,)
    position = torch.arange(n, device=flat_ids.device) - offsets[bag_of]  # (N,) place inside its bag
    # Filler: an id of the input, so that max_norm renormalises no row the bag would not.
    ids = flat_ids.new_full((b, max(int(lengths.max()), 1)), int(flat_ids[0]))  # (B, T)
    ids[bag_of, position] = flat_ids
    padding_mask = torch.ones(ids.shape, dtype=torch.bool, device=ids.device)  # (B, T)
    padding_mask[bag_of, position] = False
    if bag.padding_idx is not None:
        padding_mask |= ids == bag.padding_idx  # the bag leaves padding_idx out
    x = nn.functional.embedding(ids, bag.weight, None, bag.max_norm, bag.norm_type, bag.scale_grad_by_freq, bag.sparse)
    return max_pool(x, padding_mask)  # (B, T, D) -> (B, D)


def seeded_linear(in_features: int, out_features: int, generator: torch.Generator) -> nn.Linear:
    """An ``nn.Linear(in_features, out_features)`` whose parameters are drawn from ``generator``.

    The draws are PyTorch's default init, exactly as ``nn.Linear.reset_parameters`` makes them:
    the weight ``kaiming_uniform_(a=sqrt(5))``, then the bias U(-1/sqrt(in_features), 1/sqrt(in_features)).
    So ``seeded_linear(i, o, cpu_generator(s))`` equals ``nn.Linear(i, o)`` built right after
    ``torch.manual_seed(s)``, bit for bit. Building the layer still draws from the global generator
    once (``nn.Linear``'s own init, then overwritten), so code that relies on the global
    generator's state after it sees the same state as before.

    Args:
        in_features: D, the input size.
        out_features: C, the output size.
        generator: a CPU generator, e.g. :func:`embedlab.device.cpu_generator`.
    """
    checks.check_int("in_features", in_features, at_least=1)
    checks.check_int("out_features", out_features, at_least=1)
    checks.check_type("generator", generator, torch.Generator, "a torch.Generator")
    linear = nn.Linear(in_features, out_features)
    bound = 1.0 / math.sqrt(in_features)
    nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
    nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
    return linear


class PoolingClassifier(nn.Module):
    """Embedding -> masked pooling -> linear head, over padded batches ``(token_ids, padding_mask)``.

    Submodules: ``embedding`` (``nn.Embedding``), ``attention`` (:class:`AttentionPool`, only for
    the attention pooling, else None) and ``head`` (``nn.Linear``). Every random parameter is drawn
    from ``cpu_generator(config.seed)`` (so a CUDA run starts from the same numbers), in this order:
    the embedding rows N(0, init_std^2) with the padding row zero, then the head as PyTorch's default
    ``nn.Linear``. The attention query starts at zero.
    """

    def __init__(self, config: ClassifierConfig, pretrained: torch.Tensor | None = None):
        """Args:
        config: the sizes, the pooling and the embedding options; see :class:`ClassifierConfig`.
        pretrained: (V, D) starting embedding matrix, copied; None draws it at random.
        """
        super().__init__()
        checks.check_type("config", config, ClassifierConfig, "a pooling.ClassifierConfig")
        self.config = config
        self.pooling = config.pooling
        generator = cpu_generator(config.seed)
        weight = _embedding_weight(config, pretrained, generator)  # (V, D)
        self.embedding = nn.Embedding.from_pretrained(
            weight, freeze=config.freeze, padding_idx=config.padding_idx, max_norm=config.max_norm, sparse=config.sparse
        )
        self.attention = AttentionPool(config.emb_dim) if self.pooling is Pooling.ATTENTION else None
        self.head = seeded_linear(config.emb_dim, config.num_classes, generator)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def encode(
        self, token_ids: torch.Tensor, padding_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The pooled vectors (B, D), and the attention weights (B, T) (None for other poolings).

        Args:
            token_ids: (B, T) int64 ids in [0, V).
            padding_mask: (B, T) bool, True at padding.
        """
        checks.check_token_ids("token_ids", token_ids, self.config.vocab_size)
        checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
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
        """Logits (B, C), or (B,) for the binary head, of a padded batch.

        Args:
            token_ids: (B, T) int64 ids in [0, V).
            padding_mask: (B, T) bool, True at padding.
        """
        pooled, _ = self.encode(token_ids, padding_mask)  # (B, D)
        logits = self.head(pooled)  # (B, D) -> (B, C)
        if self.config.num_classes == 1:
            return logits.squeeze(-1)  # (B, 1) -> (B,)
        return logits


class BagClassifier(nn.Module):
    """``nn.EmbeddingBag`` -> linear head, over the flat layout ``(flat_ids, offsets)`` of :func:`embedlab.text.to_bag`.

    The fast path of :class:`PoolingClassifier` for mean, sum, sqrt-n and max pooling: no padding
    is ever built or looked up. Sqrt-n runs as a weighted sum (weights from :func:`sqrt_n_weights`).
    Submodules ``embedding`` and ``head``; the initialisation is :class:`PoolingClassifier`'s, draw
    for draw, so both models start from identical parameters for the same config.
    """

    def __init__(self, config: ClassifierConfig, pretrained: torch.Tensor | None = None):
        """Args: as :class:`PoolingClassifier`; ``config.pooling`` is MEAN, SUM, SQRT_N or MAX (no attention)."""
        super().__init__()
        checks.check_type("config", config, ClassifierConfig, "a pooling.ClassifierConfig")
        bag_poolings = ("mean", "sum", "sqrtn", "max")
        checks.check_choice("config.pooling", config.pooling.value, bag_poolings)
        self.config = config
        self.pooling = config.pooling
        generator = cpu_generator(config.seed)
        weight = _embedding_weight(config, pretrained, generator)  # (V, D)
        mode = "sum" if self.pooling is Pooling.SQRT_N else self.pooling.value  # sqrt-n: a weighted sum
        self.embedding = nn.EmbeddingBag.from_pretrained(
            weight, freeze=config.freeze, mode=mode, padding_idx=config.padding_idx,
            max_norm=config.max_norm, sparse=config.sparse,
        )
        self.head = seeded_linear(config.emb_dim, config.num_classes, generator)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def forward(self, flat_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Logits (B, C), or (B,) for the binary head, of B bags.

        Args:
            flat_ids: (N,) int64 ids in [0, V), every bag's ids one after the other.
            offsets: (B,) int64 start of each bag in ``flat_ids``.
        """
        checks.check_token_ids("flat_ids", flat_ids, self.config.vocab_size, dim=1, shape_text="(N,)")
        checks.check_offsets("offsets", offsets, flat_ids.numel())
        weights = None
        if self.pooling is Pooling.SQRT_N:
            weights = sqrt_n_weights(flat_ids, offsets, self.embedding.padding_idx)  # (N,)
            weights = weights.to(self.embedding.weight.dtype)
        if self.pooling is Pooling.MAX and flat_ids.is_cuda and _needs_deterministic_backward(self.embedding):
            pooled = bag_max_by_lookup(self.embedding, flat_ids, offsets)  # CUDA: mode='max' has no deterministic backward
        else:
            pooled = self.embedding(flat_ids, offsets, per_sample_weights=weights)  # (N,), (B,) -> (B, D)
        logits = self.head(pooled)  # (B, D) -> (B, C)
        if self.config.num_classes == 1:
            return logits.squeeze(-1)  # (B, 1) -> (B,)
        return logits


# --- sentence embeddings (chapter 09) ---
# A pretrained encoder's last hidden states (B, T, D) -> one unit vector per sentence (B, D), the
# way sentence-transformers makes them. Mean and max are the functions above; CLS pooling is the
# one new pooling. Every pooling here reads the padding mask, never a position, so a batch padded
# on the left gives the same vectors as one padded on the right.

SENTENCE_POOLINGS = ("mean", "max", "cls")  # the poolings sentence_embedding knows


def cls_pool(x: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """The vector of each row's first real token (BERT's ``[CLS]``), wherever the padding is.

    ``x[:, 0]`` is the same thing only when the padding is on the right: with left padding,
    position 0 is padding. This function finds the first position that is not padding.

    Args:
        x: (B, T, D) token vectors.
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, D); an all-padding row gives zeros.
    """
    _check_pool_inputs(x, padding_mask)
    first = (~padding_mask).int().argmax(dim=1)  # (B,) first real position (0 for an empty row)
    pooled = x[torch.arange(x.shape[0], device=x.device), first]  # (B, T, D) -> (B, D)
    empty = padding_mask.all(dim=1, keepdim=True)  # (B, 1)
    return pooled.masked_fill(empty, 0.0)  # (B, D)


def sentence_embedding(
    x: torch.Tensor, padding_mask: torch.Tensor, pooling: str = "mean", normalize: bool = True
) -> torch.Tensor:
    """One vector per sentence from an encoder's token vectors: pool, then scale to length 1.

    With ``pooling="mean"`` and ``normalize=True`` this is what
    ``sentence_transformers.SentenceTransformer("all-MiniLM-L6-v2").encode`` computes from the
    model's last hidden states.

    Args:
        x: (B, T, D) token vectors (e.g. ``last_hidden_state``).
        padding_mask: (B, T) bool, True at padding.
        pooling: ``"mean"`` (:func:`mean_pool`), ``"max"`` (:func:`max_pool`) or ``"cls"`` (:func:`cls_pool`).
        normalize: divide each vector by its L2 norm (an all-padding row stays zero).

    Returns:
        (B, D).
    """
    checks.check_type("pooling", pooling, str, "a str")
    checks.check_choice("pooling", pooling, SENTENCE_POOLINGS)
    checks.check_bool("normalize", normalize)
    if pooling == "mean":
        pooled = mean_pool(x, padding_mask)  # (B, T, D) -> (B, D)
    elif pooling == "max":
        pooled = max_pool(x, padding_mask)  # (B, T, D) -> (B, D)
    else:
        pooled = cls_pool(x, padding_mask)  # (B, T, D) -> (B, D)
    if not normalize:
        return pooled
    return F.normalize(pooled, p=2.0, dim=1)  # (B, D), each row of norm 1 (zeros stay zeros)
