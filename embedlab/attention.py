"""Scaled dot-product attention, masks, multi-head attention and sinusoidal positions.

Shape legend: B batch, T tokens (Tq queries, Tk keys), D embedding, H heads, Dh head dim
(D = H * Dh), Dk query/key dim, Dv value dim; ``...`` any leading dims (e.g. B, H).

Mask convention of this module (the same as ``F.scaled_dot_product_attention``'s boolean mask):

* ``mask`` is a bool tensor, **True where a query may attend to a key** ("keep"), False where it
  may not. It broadcasts against the scores, shape (..., Tq, Tk).
* ``padding_mask`` keeps the package's convention (``embedlab.text.pad_batch``): (B, T), **True at
  padding**. :func:`attn_mask_from_padding` turns it into a ``mask``; :class:`MultiHeadAttention`
  accepts it directly.
* A query whose every key is masked out (a *fully masked row*) gets all-zero weights and an
  all-zero output, not NaN, and gradients stay finite. The math backend of
  ``F.scaled_dot_product_attention`` (torch 2.13) returns the same zeros; ``nn.MultiheadAttention``
  returns NaN there.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "scaled_dot_product_attention",
    "attn_mask_from_padding",
    "causal_mask",
    "attention_entropy",
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "sinusoidal_positions",
    "SinusoidalPositionalEncoding",
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
    _check_qkv(q, k, v)
    if mask is not None:
        _check_mask(mask, "mask", (*q.shape[:-1], k.shape[-2]))
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
    if not isinstance(padding_mask, torch.Tensor):
        raise TypeError(f"padding_mask must be a torch.Tensor, got {type(padding_mask).__name__}")
    if padding_mask.dtype != torch.bool:
        raise TypeError(
            f"padding_mask must have dtype torch.bool (True at padding), got {padding_mask.dtype}"
        )
    if padding_mask.dim() != 2:
        raise ValueError(f"padding_mask must have shape (B, T), got {tuple(padding_mask.shape)}")
    keep = ~padding_mask  # (B, Tk)
    return keep.unsqueeze(1)  # (B, Tk) -> (B, 1, Tk)


def causal_mask(num_tokens: int, device: torch.device | str | None = None) -> torch.Tensor:
    """A (T, T) bool mask, True on and below the diagonal: query i may see keys 0..i.

    Args:
        num_tokens: T, at least 1.
        device: where to build the mask (default: the CPU).
    """
    if isinstance(num_tokens, bool) or not isinstance(num_tokens, int):
        raise TypeError(f"num_tokens must be an int, got {type(num_tokens).__name__}")
    if num_tokens < 1:
        raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
    ones = torch.ones(num_tokens, num_tokens, dtype=torch.bool, device=device)  # (T, T)
    return torch.tril(ones)  # (T, T)


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of each query's weights, -sum_j w_j log w_j (with 0 log 0 = 0).

    Args:
        weights: (..., Tq, Tk), rows of non-negative numbers (softmax outputs).

    Returns:
        (..., Tq): 0 when a query attends to one key, log(Tk) when it attends uniformly.
    """
    if not isinstance(weights, torch.Tensor):
        raise TypeError(f"weights must be a torch.Tensor, got {type(weights).__name__}")
    if not weights.is_floating_point():
        raise TypeError(f"weights must be floating point, got {weights.dtype}")
    if weights.dim() < 1 or weights.shape[-1] == 0:
        raise ValueError(f"weights must have a non-empty last dim (Tk), got shape {tuple(weights.shape)}")
    return torch.special.entr(weights).sum(dim=-1)  # (..., Tq, Tk) -> (..., Tq)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Cut the last dim into ``num_heads`` heads and move heads before tokens.

    Args:
        x: (B, T, D) with D divisible by ``num_heads``.
        num_heads: H.

    Returns:
        (B, H, T, Dh) with Dh = D // H; head h holds features h*Dh .. (h+1)*Dh - 1.
    """
    _check_3d(x, "x")
    _check_heads(x.shape[-1], num_heads, "x.shape[-1]")
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
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"x must have shape (B, H, T, Dh), got {tuple(x.shape)}")
    batch, num_heads, tokens, head_dim = x.shape
    x = x.transpose(1, 2)  # (B, H, T, Dh) -> (B, T, H, Dh)
    return x.reshape(batch, tokens, num_heads * head_dim)  # (B, T, H, Dh) -> (B, T, D)


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
        if isinstance(emb_dim, bool) or not isinstance(emb_dim, int):
            raise TypeError(f"emb_dim must be an int, got {type(emb_dim).__name__}")
        if emb_dim < 1:
            raise ValueError(f"emb_dim must be >= 1, got {emb_dim}")
        _check_heads(emb_dim, num_heads, "emb_dim")
        self.emb_dim = emb_dim
        self.num_heads = num_heads
        self.head_dim = emb_dim // num_heads
        self.q_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.k_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.v_proj = nn.Linear(emb_dim, emb_dim, bias=bias)
        self.out_proj = nn.Linear(emb_dim, emb_dim, bias=bias)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``query`` to ``key``/``value`` (self-attention when both are None).

        Args:
            query: (B, Tq, D).
            key: (B, Tk, D), or None to use ``query``.
            value: (B, Tk, D), or None to use ``key``.
            padding_mask: (B, Tk) bool, True where a key is padding (``text.pad_batch``'s mask).
            mask: bool, (Tq, Tk) or (B, Tq, Tk), True where a query may attend to a key
                (e.g. :func:`causal_mask`). Combined with ``padding_mask`` by logical and.

        Returns:
            output: (B, Tq, D). Rows of padded queries are computed like any other; ignore them.
            weights: (B, H, Tq, Tk), per head.
        """
        key = query if key is None else key
        value = key if value is None else value
        for name, x in (("query", query), ("key", key), ("value", value)):
            _check_3d(x, name)
            if x.shape[-1] != self.emb_dim:
                raise ValueError(
                    f"{name} must have last dim emb_dim={self.emb_dim}, got shape {tuple(x.shape)}"
                )
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(
                f"query (B, Tq, D), key and value (B, Tk, D) must agree on B and Tk, got shapes "
                f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}"
            )
        batch, q_len, k_len = query.shape[0], query.shape[1], key.shape[1]
        keep = self._combine_masks(padding_mask, mask, batch, q_len, k_len)  # (B, 1, Tq, Tk) or None
        q = split_heads(self.q_proj(query), self.num_heads)  # (B, Tq, D) -> (B, H, Tq, Dh)
        k = split_heads(self.k_proj(key), self.num_heads)  # (B, Tk, D) -> (B, H, Tk, Dh)
        v = split_heads(self.v_proj(value), self.num_heads)  # (B, Tk, D) -> (B, H, Tk, Dh)
        heads, weights = scaled_dot_product_attention(q, k, v, keep)  # (B, H, Tq, Dh), (B, H, Tq, Tk)
        merged = merge_heads(heads)  # (B, H, Tq, Dh) -> (B, Tq, D)
        output = self.out_proj(merged)  # (B, Tq, D)
        return output, weights

    @staticmethod
    def _combine_masks(
        padding_mask: torch.Tensor | None,
        mask: torch.Tensor | None,
        batch: int,
        q_len: int,
        k_len: int,
    ) -> torch.Tensor | None:
        """One keep-mask of shape (B, 1, Tq, Tk) (or broadcastable to it) from both masks."""
        keep = None
        if padding_mask is not None:
            if isinstance(padding_mask, torch.Tensor) and padding_mask.shape != (batch, k_len):
                raise ValueError(
                    f"padding_mask must have shape (B, Tk) = {(batch, k_len)}, "
                    f"got {tuple(padding_mask.shape)}"
                )
            keep = attn_mask_from_padding(padding_mask)  # (B, 1, Tk)
        if mask is not None:
            _check_mask(mask, "mask", (batch, q_len, k_len))
            if mask.dim() not in (2, 3):  # (Tk,) would broadcast too, but says less than it seems
                raise ValueError(f"mask must have shape (Tq, Tk) or (B, Tq, Tk), got {tuple(mask.shape)}")
            keep = mask if keep is None else keep & mask  # (B, Tq, Tk) or (Tq, Tk)
        if keep is None:
            return None
        if keep.dim() == 3:
            keep = keep.unsqueeze(1)  # (B, 1|Tq, Tk) -> (B, 1, 1|Tq, Tk): the same mask for every head
        return keep


def sinusoidal_positions(num_positions: int, emb_dim: int) -> torch.Tensor:
    """The Transformer's positional encodings: PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(...).

    Args:
        num_positions: T, at least 1.
        emb_dim: D, even and at least 2.

    Returns:
        (T, D) float32, every entry in [-1, 1].
    """
    for name, value in (("num_positions", num_positions), ("emb_dim", emb_dim)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if num_positions < 1:
        raise ValueError(f"num_positions must be >= 1, got {num_positions}")
    if emb_dim < 2 or emb_dim % 2 != 0:
        raise ValueError(f"emb_dim must be even and >= 2 (sin and cos pairs), got {emb_dim}")
    positions = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    two_i = torch.arange(0, emb_dim, 2, dtype=torch.float64)  # (D/2,)
    frequencies = torch.pow(10000.0, -two_i / emb_dim)  # (D/2,)
    angles = positions * frequencies  # (T, 1) * (D/2,) -> (T, D/2)
    encoding = torch.zeros(num_positions, emb_dim, dtype=torch.float64)  # (T, D)
    encoding[:, 0::2] = torch.sin(angles)  # even features: sin
    encoding[:, 1::2] = torch.cos(angles)  # odd features: cos
    return encoding.float()  # (T, D)


class SinusoidalPositionalEncoding(nn.Module):
    """Add fixed sinusoidal position vectors to token embeddings: x + PE[:T]. No parameters."""

    def __init__(self, emb_dim: int, max_len: int = 512):
        """Precompute the table.

        Args:
            emb_dim: D, even.
            max_len: the longest sequence it will see.
        """
        super().__init__()
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
            raise ValueError(f"max_len must be an int >= 1, got {max_len!r}")
        encoding = sinusoidal_positions(max_len, emb_dim)  # (max_len, D)
        self.register_buffer("encoding", encoding, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the encoding of positions 0..T-1.

        Args:
            x: (B, T, D) token embeddings.

        Returns:
            (B, T, D).
        """
        _check_3d(x, "x")
        max_len, emb_dim = self.encoding.shape
        if x.shape[-1] != emb_dim:
            raise ValueError(f"x must have last dim emb_dim={emb_dim}, got shape {tuple(x.shape)}")
        if x.shape[1] > max_len:
            raise ValueError(f"x has {x.shape[1]} tokens but the encoding was built for max_len={max_len}")
        positions = self.encoding[: x.shape[1]]  # (T, D)
        return x + positions.to(x.dtype)  # (B, T, D) + (T, D) -> (B, T, D)


# --- input checks -------------------------------------------------------------------------------


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must be floating point, got {x.dtype}")
        if x.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dims (..., T, D), got shape {tuple(x.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"q, k and v must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"q, k and v must be on one device, got {q.device}, {k.device}, {v.device}")
    if not (q.shape[:-2] == k.shape[:-2] == v.shape[:-2]):
        raise ValueError(
            f"q, k and v must have the same leading dims (...), got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"k must have the same last dim (Dk) as q, got q {tuple(q.shape)} and k {tuple(k.shape)}"
        )
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(
            f"v must have as many tokens (Tk) as k, got k {tuple(k.shape)} and v {tuple(v.shape)}"
        )
    if q.shape[-2] == 0 or k.shape[-2] == 0 or q.shape[-1] == 0:
        raise ValueError(
            f"q and k need at least one token and one feature, got {tuple(q.shape)}, {tuple(k.shape)}"
        )


def _check_mask(mask: torch.Tensor, name: str, scores_shape: tuple[int, ...]) -> None:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool (True = may attend), got {mask.dtype}")
    try:
        shape = torch.broadcast_shapes(mask.shape, scores_shape)
    except RuntimeError:
        shape = None
    if shape != torch.Size(scores_shape):
        raise ValueError(
            f"{name} must broadcast to the scores' shape {tuple(scores_shape)}, got {tuple(mask.shape)}"
        )


def _check_3d(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name} must have shape (B, T, D), got {tuple(x.shape)}")


def _check_heads(emb_dim: int, num_heads: int, name: str) -> None:
    if isinstance(num_heads, bool) or not isinstance(num_heads, int):
        raise TypeError(f"num_heads must be an int, got {type(num_heads).__name__}")
    if num_heads < 1:
        raise ValueError(f"num_heads must be >= 1, got {num_heads}")
    if emb_dim % num_heads != 0:
        raise ValueError(f"{name}={emb_dim} must be divisible by num_heads={num_heads}")
