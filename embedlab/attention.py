"""Scaled dot-product attention, masks, multi-head attention, a KV cache, sinusoidal and rotary positions.

Shape legend: see :mod:`embedlab`; Dk query/key dim, Dv value dim; ``...`` any leading dims
(e.g. B, H); T_past tokens already held in a :class:`KVCache`.

Mask convention of this module (the same as ``F.scaled_dot_product_attention``'s boolean mask):

* ``mask`` is a bool tensor, **True where a query may attend to a key** ("keep"), False where it
  may not. It broadcasts against the scores, shape (..., Tq, Tk).
* ``padding_mask`` keeps the package's convention (``embedlab.text.pad_batch``): (B, T), **True at
  padding**. :func:`attn_mask_from_padding` turns it into a ``mask``; :class:`MultiHeadAttention`
  accepts it directly; :func:`additive_mask` turns it into the float mask a BERT layer adds to its
  scores (0 at real keys, the most negative float at padding).
* A query whose every key is masked out (a *fully masked row*) gets all-zero weights and an
  all-zero output, not NaN, and gradients stay finite. The math backend of
  ``F.scaled_dot_product_attention`` (torch 2.13) returns the same zeros; ``nn.MultiheadAttention``
  returns NaN there.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from embedlab import checks
from embedlab.device import perturb_

__all__ = [
    "scaled_dot_product_attention",
    "attn_mask_from_padding",
    "additive_mask",
    "causal_mask",
    "attention_entropy",
    "split_heads",
    "merge_heads",
    "KVCache",
    "MultiHeadAttention",
    "sinusoidal_positions",
    "sinusoidal_shift",
    "SinusoidalPositionalEncoding",
    "rotary_frequencies",
    "apply_rotary",
]


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(Dk)) v, returning the output and the attention weights.

    Args:
        q: queries, (..., Tq, Dk), floating point.
        k: keys, (..., Tk, Dk), same leading dims, dtype and device as ``q``.
        v: values, (..., Tk, Dv), same leading dims, dtype and device as ``q``.
        mask: bool, broadcastable to (..., Tq, Tk); True where a query may attend to a key.
            None attends everywhere. A row with no True gives zero weights and a zero output.

    Returns:
        output: (..., Tq, Dv).
        weights: (..., Tq, Tk); each row sums to 1, or to 0 where the row is fully masked.
    """
    checks.check_tensor("q", q, dim=tuple(range(2, 9)), floating=True, shape_text="(..., Tq, Dk)")
    checks.check_tensor("k", k, dtype=q.dtype, shape=(*q.shape[:-2], None, q.shape[-1]), shape_text="(..., Tk, Dk)")
    checks.check_tensor("v", v, dtype=q.dtype, shape=(*q.shape[:-2], k.shape[-2], None), shape_text="(..., Tk, Dv)")
    if 0 in (q.shape[-2], k.shape[-2], q.shape[-1]):
        raise ValueError(f"q and k need at least one token and one feature, got {tuple(q.shape)}, {tuple(k.shape)}")
    checks.check_same_device("k", k, "q", q)
    checks.check_same_device("v", v, "q", q)
    if mask is not None:
        checks.check_broadcast_mask("mask", mask, (*q.shape[:-1], k.shape[-2]), "True = may attend")
    return _attend(q, k, v, mask)


def _attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`scaled_dot_product_attention` without the checks (its callers checked)."""
    d_k = q.shape[-1]
    attn_scores = q @ k.transpose(-2, -1)  # (..., Tq, Dk) @ (..., Dk, Tk) -> (..., Tq, Tk)
    attn_scores = attn_scores / math.sqrt(d_k)  # (..., Tq, Tk)
    if mask is not None:
        # The most negative finite number, not -inf: with -inf a fully masked row is 0/0 = NaN.
        # This way every intermediate stays finite (such a row is a uniform softmax, zeroed below),
        # so NaN checks and torch.autograd.detect_anomaly stay quiet.
        attn_scores = attn_scores.masked_fill(~mask, torch.finfo(attn_scores.dtype).min)
    weights = torch.softmax(attn_scores, dim=-1)  # (..., Tq, Tk)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)  # (..., Tq, Tk); fully masked rows are all 0
    output = weights @ v  # (..., Tq, Tk) @ (..., Tk, Dv) -> (..., Tq, Dv)
    return output, weights


def attn_mask_from_padding(padding_mask: torch.Tensor) -> torch.Tensor:
    """Turn a padding mask (True at padding) into an attention mask (True where a key may be seen).

    Args:
        padding_mask: (B, Tk) bool, True where a key position is padding.

    Returns:
        (B, 1, Tk) bool: broadcasts against scores of shape (B, Tq, Tk); unsqueeze(1) once more
        for (B, H, Tq, Tk).
    """
    _check_padding_mask_2d(padding_mask)
    keep = ~padding_mask  # (B, Tk)
    return keep.unsqueeze(1)  # (B, Tk) -> (B, 1, Tk)


def additive_mask(padding_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The mask a BERT layer adds to its attention scores: 0 for real keys, the most negative float at padding.

    Args:
        padding_mask: (B, T) bool, True at padding.
        dtype: the floating dtype of the scores.

    Returns:
        (B, 1, 1, T): broadcasts over heads and queries.
    """
    _check_padding_mask_2d(padding_mask)
    checks.check_type("dtype", dtype, torch.dtype, "a torch.dtype")
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point dtype (the scores'), got {dtype}")
    fill = torch.finfo(dtype).min
    mask = torch.zeros(padding_mask.shape, dtype=dtype, device=padding_mask.device)  # (B, T)
    mask = mask.masked_fill(padding_mask, fill)  # (B, T)
    return mask[:, None, None, :]  # (B, T) -> (B, 1, 1, T)


def _check_padding_mask_2d(padding_mask: object) -> None:
    """A (B, T) bool padding mask, of any B and T."""
    checks.check_tensor("padding_mask", padding_mask, dim=2, shape_text="(B, T)")
    checks.check_padding_mask("padding_mask", padding_mask, tuple(padding_mask.shape))


MAX_TOKENS = 16_384  # longest T that causal_mask and sinusoidal_positions build a table for (T * T bools: 256 MiB)


def causal_mask(num_tokens: int, device: torch.device | str | None = None, num_past: int = 0) -> torch.Tensor:
    """A (T, T_past + T) bool mask: query i (at position T_past + i) may see keys 0 .. T_past + i.

    With ``num_past=0`` (the default) it is the square (T, T) mask, True on and below the diagonal.
    With ``num_past > 0`` it is the mask of T new queries that follow T_past cached tokens
    (:class:`KVCache`): every query sees all the past, and the new tokens up to itself.

    Args:
        num_tokens: T, at least 1.
        device: where to build the mask (default: the CPU).
        num_past: T_past, tokens before the first query, at least 0.
    """
    checks.check_int("num_tokens", num_tokens, at_least=1, at_most=MAX_TOKENS)
    checks.check_int("num_past", num_past, at_least=0, at_most=MAX_TOKENS)
    ones = torch.ones(num_tokens, num_past + num_tokens, dtype=torch.bool, device=device)  # (T, T_past + T)
    return torch.tril(ones, diagonal=num_past)  # (T, T_past + T)


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of each query's weights, -sum_j w_j log w_j (with 0 log 0 = 0).

    Args:
        weights: (..., Tq, Tk), rows of non-negative numbers (softmax outputs).

    Returns:
        (..., Tq): 0 when a query attends to one key, log(Tk) when it attends uniformly.
    """
    checks.check_tensor("weights", weights, dim=tuple(range(1, 9)), floating=True, shape_text="(..., Tq, Tk)")
    if weights.shape[-1] == 0:
        raise ValueError(f"weights must have a non-empty last dim (Tk), got shape {tuple(weights.shape)}")
    checks.check_finite("weights", weights)
    return torch.special.entr(weights).sum(dim=-1)  # (..., Tq, Tk) -> (..., Tq)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Cut the last dim into ``num_heads`` heads and move heads before tokens.

    Args:
        x: (B, T, D) with D divisible by ``num_heads``.
        num_heads: H.

    Returns:
        (B, H, T, Dh) with Dh = D // H; head h holds features h*Dh .. (h+1)*Dh - 1.
    """
    checks.check_tensor("x", x, dim=3, shape_text="(B, T, D)")
    _check_heads(x.shape[-1], num_heads, "x.shape[-1]")
    return _split_heads(x, num_heads)


def _split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """:func:`split_heads` without the checks."""
    batch, tokens, emb_dim = x.shape
    head_dim = emb_dim // num_heads
    x = x.view(batch, tokens, num_heads, head_dim)  # (B, T, D) -> (B, T, H, Dh)
    return x.transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """Undo :func:`split_heads`: put the heads side by side again.

    Args:
        x: (B, H, T, Dh).

    Returns:
        (B, T, H * Dh).
    """
    checks.check_tensor("x", x, dim=4, shape_text="(B, H, T, Dh)")
    return _merge_heads(x)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """:func:`merge_heads` without the checks."""
    batch, num_heads, tokens, head_dim = x.shape
    x = x.transpose(1, 2)  # (B, H, T, Dh) -> (B, T, H, Dh)
    return x.reshape(batch, tokens, num_heads * head_dim)  # (B, T, H, Dh) -> (B, T, D)


class KVCache:
    """The keys and values of the tokens a decoder has seen so far, per head: (B, H, T_past, Dh) each.

    A causal decoder produces one token at a time. Without a cache, each step projects the whole
    prefix to keys and values again; with one, each step projects only the new token and appends
    its key and value here (:meth:`MultiHeadAttention.forward` with ``cache=``). One cache per
    attention layer. ``append`` concatenates, as transformers' ``DynamicCache`` does, so it copies
    the past once per step (a preallocated buffer would not; the copy is O(T_past), like the
    attention itself).
    """

    def __init__(
        self,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        """An empty cache: keys and values of shape (B, H, 0, Dh).

        Args:
            batch_size: B, at least 1.
            num_heads: H, at least 1.
            head_dim: Dh, at least 1.
            dtype: the floating dtype of the keys and values (the layer's).
            device: where they live (default: the CPU).
        """
        checks.check_int("batch_size", batch_size, at_least=1)
        checks.check_int("num_heads", num_heads, at_least=1)
        checks.check_int("head_dim", head_dim, at_least=1)
        checks.check_type("dtype", dtype, torch.dtype, "a torch.dtype")
        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
        self.keys = torch.zeros(batch_size, num_heads, 0, head_dim, dtype=dtype, device=device)  # (B, H, 0, Dh)
        self.values = torch.zeros(batch_size, num_heads, 0, head_dim, dtype=dtype, device=device)  # (B, H, 0, Dh)

    @property
    def length(self) -> int:
        """T_past: how many tokens the cache holds."""
        return self.keys.shape[2]

    def append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the keys and values of new tokens at the end; return all keys and values held.

        Args:
            keys: (B, H, T_new, Dh), in the cache's dtype and on its device.
            values: (B, H, T_new, Dh), the same.

        Returns:
            keys, values: (B, H, T_past + T_new, Dh) each.
        """
        batch, heads, _, head_dim = self.keys.shape
        shape = (batch, heads, None, head_dim)
        checks.check_tensor("keys", keys, dtype=self.keys.dtype, shape=shape, shape_text="(B, H, T_new, Dh)")
        checks.check_tensor("values", values, dtype=self.keys.dtype, shape=tuple(keys.shape), shape_text="(B, H, T_new, Dh)")
        checks.check_same_device("keys", keys, "the cache", self.keys)
        return self._append(keys, values)

    def _append(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`append` without the checks."""
        self.keys = torch.cat([self.keys, keys], dim=2)  # (B, H, T_past, Dh) -> (B, H, T_past + T_new, Dh)
        self.values = torch.cat([self.values, values], dim=2)  # (B, H, T_past + T_new, Dh)
        return self.keys, self.values


class MultiHeadAttention(nn.Module):
    """H heads of scaled dot-product attention on learned projections, then an output projection.

    Parameters: ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``, each ``nn.Linear(D, D)``:
    4 * D * D weights plus 4 * D biases (with ``bias=True``). No dropout.
    """

    def __init__(self, emb_dim: int, num_heads: int, bias: bool = True):
        """Build the four projections.

        Args:
            emb_dim: D, the width of queries, keys, values and output; divisible by ``num_heads``.
            num_heads: H, at least 1.
            bias: give the four projections a bias.
        """
        super().__init__()
        checks.check_int("emb_dim", emb_dim, at_least=1)
        _check_heads(emb_dim, num_heads, "emb_dim")
        checks.check_bool("bias", bias)
        self.emb_dim = emb_dim
        self.num_heads = num_heads
        self.head_dim = emb_dim // num_heads
        self.q_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.k_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.v_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.out_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``query`` to ``key``/``value`` (self-attention when both are None).

        Args:
            query: (B, Tq, D).
            key: (B, Tk, D), or None to use ``query``. Tk may differ from Tq (cross-attention).
            value: (B, Tk, D), or None to use ``key``.
            padding_mask: (B, Tk) bool, True where a key is padding (``text.pad_batch``'s mask).
            mask: bool, (Tq, Tk) or (B, Tq, Tk), True where a query may attend to a key
                (e.g. :func:`causal_mask`). Combined with ``padding_mask`` by logical and.
            cache: a :class:`KVCache` of this layer (self-attention only: ``key`` and ``value``
                None). The new tokens' keys and values are appended to it, and the queries attend
                to all Tk = T_past + Tq keys it then holds; ``padding_mask`` and ``mask`` refer to
                those Tk keys (``causal_mask(Tq, num_past=T_past)``; one new token needs no mask).

        Returns:
            output: (B, Tq, D). Rows of padded queries are computed like any other; ignore them.
            weights: (B, H, Tq, Tk), per head.
        """
        if cache is not None:
            self._check_cache(cache, query, key, value)
        key = query if key is None else key
        value = key if value is None else value
        past = 0 if cache is None else cache.length
        self._check_inputs(query, key, value, padding_mask, mask, past)
        keep = self._combine_masks(padding_mask, mask)  # (B, 1, Tq, Tk) or None
        q = _split_heads(self.q_proj(query), self.num_heads)  # (B, Tq, D) -> (B, H, Tq, Dh)
        k = _split_heads(self.k_proj(key), self.num_heads)  # (B, Tk_new, D) -> (B, H, Tk_new, Dh)
        v = _split_heads(self.v_proj(value), self.num_heads)  # (B, Tk_new, D) -> (B, H, Tk_new, Dh)
        if cache is not None:
            k, v = cache._append(k, v)  # (B, H, T_past + Tq, Dh) each
        heads, weights = _attend(q, k, v, keep)  # (B, H, Tq, Dh), (B, H, Tq, Tk)
        merged = _merge_heads(heads)  # (B, H, Tq, Dh) -> (B, Tq, D)
        output = self.out_proj(merged)  # (B, Tq, D)
        return output, weights

    def _check_cache(self, cache, query, key, value) -> None:
        """A KVCache of this layer's heads, dtype and device, for self-attention."""
        checks.check_type("cache", cache, KVCache, "an attention.KVCache or None")
        if key is not None or value is not None:
            raise ValueError("cache works for self-attention only: key and value must be None when a cache is given")
        checks.check_tensor("query", query, dtype=self.q_proj.weight.dtype, shape=(None, None, self.emb_dim), shape_text="(B, Tq, D)")
        batch, heads, _, head_dim = cache.keys.shape
        if (batch, heads, head_dim) != (query.shape[0], self.num_heads, self.head_dim):
            raise ValueError(
                f"cache must hold (B, H, T_past, Dh) = ({query.shape[0]}, {self.num_heads}, any, {self.head_dim}) "
                f"for this layer and query, got {tuple(cache.keys.shape)}"
            )
        if cache.keys.dtype != self.q_proj.weight.dtype:
            raise ValueError(f"cache must have the layer's dtype {self.q_proj.weight.dtype}, got {cache.keys.dtype}")
        checks.check_same_device("cache.keys", cache.keys, "query", query)

    def _check_inputs(self, query, key, value, padding_mask, mask, past=0) -> None:
        """query (B, Tq, D), key and value (B, Tk, D) in the parameters' dtype, and the two masks."""
        dtype = self.q_proj.weight.dtype
        checks.check_tensor("query", query, dtype=dtype, shape=(None, None, self.emb_dim), shape_text="(B, Tq, D)")
        batch, q_len = query.shape[:2]
        checks.check_tensor("key", key, dtype=dtype, shape=(batch, None, self.emb_dim), shape_text="(B, Tk, D)")
        k_len = key.shape[1]
        checks.check_tensor("value", value, dtype=dtype, shape=(batch, k_len, self.emb_dim), shape_text="(B, Tk, D)")
        k_len += past  # the cached keys come first
        if padding_mask is not None:
            checks.check_padding_mask("padding_mask", padding_mask, (batch, k_len), shape_text="(B, Tk)")
        if mask is not None:
            checks.check_tensor("mask", mask, dim=(2, 3), shape_text="(Tq, Tk) or (B, Tq, Tk)")
            checks.check_broadcast_mask("mask", mask, (batch, q_len, k_len), "True = may attend")

    @staticmethod
    def _combine_masks(padding_mask: torch.Tensor | None, mask: torch.Tensor | None) -> torch.Tensor | None:
        """One keep-mask of shape (B, 1, Tq, Tk) (or broadcastable to it) from both masks."""
        keep = None
        if padding_mask is not None:
            keep = (~padding_mask).unsqueeze(1)  # (B, Tk) -> (B, 1, Tk)
        if mask is not None:
            keep = mask if keep is None else keep & mask  # (B, Tq, Tk) or (Tq, Tk)
        if keep is None:
            return None
        if keep.dim() == 3:
            keep = keep.unsqueeze(1)  # (B, 1|Tq, Tk) -> (B, 1, 1|Tq, Tk): the same mask for every head
        return keep


MAX_POSITIONS = 1_000_000  # largest T, and D, of a table of sinusoidal positions


def sinusoidal_positions(num_positions: int, emb_dim: int) -> torch.Tensor:
    """The Transformer's positional encodings: PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(...).

    Args:
        num_positions: T, at least 1.
        emb_dim: D, even and at least 2.

    Returns:
        (T, D) float32, every entry in [-1, 1].
    """
    checks.check_int("num_positions", num_positions, at_least=1, at_most=MAX_POSITIONS)
    checks.check_int("emb_dim", emb_dim, at_least=2, at_most=MAX_POSITIONS)
    if emb_dim % 2 != 0:
        raise ValueError(f"emb_dim must be even (sin and cos pairs), got {emb_dim}")
    positions = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    two_i = torch.arange(0, emb_dim, 2, dtype=torch.float64)  # (D/2,)
    frequencies = torch.pow(10000.0, -two_i / emb_dim)  # (D/2,)
    angles = positions * frequencies  # (T, 1) * (D/2,) -> (T, D/2)
    encoding = torch.zeros(num_positions, emb_dim, dtype=torch.float64)  # (T, D)
    encoding[:, 0::2] = torch.sin(angles)  # even features: sin
    encoding[:, 1::2] = torch.cos(angles)  # odd features: cos
    return encoding.float()  # (T, D)


def sinusoidal_shift(offset: int, emb_dim: int) -> torch.Tensor:
    """The matrix M_k that moves a sinusoidal encoding k positions on: PE[p + k] = M_k PE[p] for every p.

    Block-diagonal, one 2x2 rotation per (sin, cos) pair i, by the angle k * w_i with
    w_i = 10000^(-2i/D): [[cos, sin], [-sin, cos]] acting on (PE[p, 2i], PE[p, 2i+1]). It does not
    depend on p; M_{-k} is its transpose (and inverse).

    Args:
        offset: k, any int (negative moves back), |k| <= MAX_POSITIONS.
        emb_dim: D, even and at least 2.

    Returns:
        (D, D) float32.
    """
    checks.check_int("offset", offset, at_least=-MAX_POSITIONS, at_most=MAX_POSITIONS)
    checks.check_int("emb_dim", emb_dim, at_least=2, at_most=4096)
    if emb_dim % 2 != 0:
        raise ValueError(f"emb_dim must be even (sin and cos pairs), got {emb_dim}")
    two_i = torch.arange(0, emb_dim, 2, dtype=torch.float64)  # (D/2,)
    angles = offset * torch.pow(10000.0, -two_i / emb_dim)  # (D/2,)
    cos, sin = torch.cos(angles), torch.sin(angles)  # (D/2,) each
    shift = torch.zeros(emb_dim, emb_dim, dtype=torch.float64)  # (D, D)
    shift[0::2, 0::2] = torch.diag(cos)  # sin' = cos * sin + sin * cos ...
    shift[0::2, 1::2] = torch.diag(sin)
    shift[1::2, 0::2] = torch.diag(-sin)  # ... cos' = -sin * sin + cos * cos
    shift[1::2, 1::2] = torch.diag(cos)
    return shift.float()  # (D, D)


class SinusoidalPositionalEncoding(nn.Module):
    """Add fixed sinusoidal position vectors to token embeddings: x + PE[:T]. No parameters."""

    def __init__(self, emb_dim: int, max_len: int = 512):
        """Precompute the table.

        Args:
            emb_dim: D, even.
            max_len: the longest sequence it will see.
        """
        super().__init__()
        checks.check_int("max_len", max_len, at_least=1, at_most=MAX_POSITIONS)
        encoding = sinusoidal_positions(max_len, emb_dim)  # (max_len, D)
        self.register_buffer("encoding", encoding, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the encoding of positions 0..T-1.

        Args:
            x: (B, T, D) token embeddings.

        Returns:
            (B, T, D).
        """
        max_len, emb_dim = self.encoding.shape
        checks.check_tensor("x", x, shape=(None, None, emb_dim), floating=True, shape_text="(B, T, D)")
        if x.shape[1] > max_len:
            raise ValueError(f"x has {x.shape[1]} tokens but the encoding was built for max_len={max_len}")
        positions = self.encoding[: x.shape[1]]  # (T, D)
        return x + positions.to(x.dtype)  # (B, T, D) + (T, D) -> (B, T, D)


# --- rotary position embeddings (RoPE) -------------------------------------------------------------

MAX_ROTARY_BASE = 1e12  # largest base of rotary_frequencies


def rotary_frequencies(head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """The angular speeds of RoPE, w_i = base^(-2i/Dh) for i = 0 .. Dh/2 - 1 (the sinusoid's, per head).

    Args:
        head_dim: Dh, even and at least 2.
        base: 10000 in RoFormer and Llama 2; larger bases turn more slowly.

    Returns:
        (Dh/2,) float64.
    """
    checks.check_int("head_dim", head_dim, at_least=2, at_most=4096)
    if head_dim % 2 != 0:
        raise ValueError(f"head_dim must be even (pairs of features rotate together), got {head_dim}")
    base = checks.check_float("base", base, above=1.0, at_most=MAX_ROTARY_BASE)
    two_i = torch.arange(0, head_dim, 2, dtype=torch.float64)  # (Dh/2,)
    return torch.pow(base, -two_i / head_dim)  # (Dh/2,)


def apply_rotary(x: torch.Tensor, start: int = 0, base: float = 10000.0) -> torch.Tensor:
    """Rotate queries or keys by their positions: RoPE in the half-split layout of transformers' Llama.

    Feature i and feature i + Dh/2 form a pair (the "rotate_half" layout, not RoFormer's
    interleaved pairs 2i, 2i+1); the token at position p = start + t turns its pair i by the angle
    p * w_i (:func:`rotary_frequencies`):
    (a, b) -> (a cos - b sin, b cos + a sin). Norms are unchanged, and the dot product of a query
    at m with a key at n depends on m - n only.

    Args:
        x: (..., T, Dh) floating point, Dh even; e.g. (B, H, T, Dh) after :func:`split_heads`.
        start: the position of the first token (T_past when decoding with a cache), >= 0.
        base: as in :func:`rotary_frequencies`.

    Returns:
        (..., T, Dh), the dtype of ``x``.
    """
    checks.check_tensor("x", x, dim=tuple(range(2, 9)), floating=True, shape_text="(..., T, Dh)")
    if x.shape[-1] < 2 or x.shape[-1] % 2 != 0:
        raise ValueError(f"x must have an even last dim Dh >= 2 (pairs of features rotate together), got shape {tuple(x.shape)}")
    checks.check_int("start", start, at_least=0, at_most=MAX_POSITIONS)
    frequencies = rotary_frequencies(x.shape[-1], base)  # (Dh/2,)
    positions = torch.arange(start, start + x.shape[-2], dtype=torch.float64)  # (T,)
    angles = positions[:, None] * frequencies  # (T, 1) * (Dh/2,) -> (T, Dh/2)
    cos = torch.cos(angles).to(device=x.device, dtype=x.dtype)  # (T, Dh/2)
    sin = torch.sin(angles).to(device=x.device, dtype=x.dtype)  # (T, Dh/2)
    first, second = x.chunk(2, dim=-1)  # (..., T, Dh/2) each
    turned_first = first * cos - second * sin  # (..., T, Dh/2)
    turned_second = second * cos + first * sin  # (..., T, Dh/2)
    return torch.cat([turned_first, turned_second], dim=-1)  # (..., T, Dh)


# --- input checks -------------------------------------------------------------------------------


def _check_heads(emb_dim: int, num_heads: int, name: str) -> None:
    checks.check_int("num_heads", num_heads, at_least=1)
    if emb_dim % num_heads != 0:
        raise ValueError(f"{name}={emb_dim} must be divisible by num_heads={num_heads}")
