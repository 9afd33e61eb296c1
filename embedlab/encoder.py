"""A small Transformer encoder classifier, layer freezing, and saving weights with safetensors.

Shape legend: see :mod:`embedlab`.

The pieces, each a thin module around the package's earlier ones:

* :class:`FeedForward`: ``Linear(D, F) -> GELU -> Linear(F, D)``, applied to every position alone.
* :class:`EncoderBlock`: :class:`embedlab.attention.MultiHeadAttention` and a :class:`FeedForward`,
  each wrapped in a residual connection and a LayerNorm, pre-norm (``norm_first=True``, the
  default) or post-norm (``norm_first=False``, the original Transformer's and BERT's order).
  With dropout 0, GELU and the same ``norm_first``, it computes what ``nn.TransformerEncoderLayer``
  computes (``tests/test_encoder.py`` copies weights across and checks).
* :class:`EncoderClassifier`: token embeddings + sinusoidal positions, a stack of blocks, masked
  mean pooling over the real tokens (:func:`embedlab.pooling.mean_pool`), a linear head.
  Configured by :class:`EncoderConfig`. Every random parameter is drawn from
  ``cpu_generator(config.seed)``, never from the global generator, so a model built from one
  config has the same numbers on every device (the model is built on the CPU, then moved).

Nothing here uses dropout, so a forward pass is a deterministic function of weights and input.

Freezing and counting parameters: :func:`embedlab.train.freeze`, :func:`embedlab.train.unfreeze`,
:func:`embedlab.train.count_parameters`; the submodules are named ``embedding``, ``blocks`` and
``head``, the names ``train.fit``'s ``lr_scale`` takes.

Diagnostics (chapter 07): :func:`sublayer_norms`, how large the residual stream is against what
each sublayer of a block adds to it; :func:`hidden_stds`, the scale of the hidden states after
every block of a classifier.

Saving: :func:`save_state` / :func:`load_state` write and read a module's ``state_dict`` with
safetensors (a flat file of named tensors plus a text header, never pickle);
:func:`save_classifier` / :func:`load_classifier` also keep the :class:`EncoderConfig` in the header.

Padding convention of the package: ``padding_mask`` is True where a position is padding.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from embedlab import checks
from embedlab.attention import MultiHeadAttention, SinusoidalPositionalEncoding
from embedlab.device import cpu_generator, perturb_
from embedlab.pooling import mean_pool
from embedlab.text import PAD_ID

__all__ = [
    "EncoderConfig",
    "FeedForward",
    "EncoderBlock",
    "EncoderClassifier",
    "sublayer_norms",
    "hidden_stds",
    "save_state",
    "load_state",
    "save_classifier",
    "load_classifier",
]


@dataclass(frozen=True)
class EncoderConfig:
    """Everything needed to build an :class:`EncoderClassifier` (and to rebuild it from a file)."""

    vocab_size: int  # V: rows of the token embedding (``embedding``); row PAD_ID (0) is the padding row
    emb_dim: int = 128  # D: width of the embeddings and of every block (even: sin/cos positions)
    num_heads: int = 4  # H: attention heads per block; emb_dim must be divisible by it
    ffn_dim: int = 256  # F: hidden width of the feed-forward layer (the original Transformer: 4 * D)
    num_layers: int = 1  # encoder blocks stacked on top of each other
    num_classes: int = 2  # C: outputs of the linear head
    max_len: int = 512  # longest sequence the positional table covers
    norm_first: bool = True  # pre-norm (LayerNorm before each sublayer) instead of post-norm
    layer_norm_eps: float = 1e-5  # epsilon added to the variance inside every LayerNorm
    init_std: float = 0.1  # std of the random embedding rows N(0, init_std^2) (unused with a pretrained matrix)
    seed: int = 0  # seed of the CPU generator that draws every random parameter

    def __post_init__(self):
        minimum = {"vocab_size": 2, "emb_dim": 2, "num_heads": 1, "ffn_dim": 1, "num_layers": 0,
                   "num_classes": 2, "max_len": 1}
        for name, low in minimum.items():
            checks.check_int(name, getattr(self, name), at_least=low)
        if self.emb_dim % 2 != 0:
            raise ValueError(
                f"emb_dim must be even (sinusoidal positions come in sin/cos pairs), got {self.emb_dim}"
            )
        if self.emb_dim % self.num_heads != 0:
            raise ValueError(f"emb_dim={self.emb_dim} must be divisible by num_heads={self.num_heads}")
        checks.check_bool("norm_first", self.norm_first)
        checks.check_float("layer_norm_eps", self.layer_norm_eps, above=0)
        checks.check_float("init_std", self.init_std, above=0)
        checks.check_seed("seed", self.seed)


def _redraw_linear(linear: nn.Linear, generator: torch.Generator) -> None:
    """New parameters for ``linear``, drawn from ``generator`` as ``nn.Linear.reset_parameters`` draws them.

    The weight ``kaiming_uniform_(a=sqrt(5))``, then the bias U(-1/sqrt(in), 1/sqrt(in)): the draws of
    :func:`embedlab.pooling.seeded_linear`. Fresh ``nn.Parameter`` objects replace the old ones, so
    ``perturb_`` (noise mode) treats them as never perturbed.
    """
    weight = torch.empty_like(linear.weight, device="cpu")  # (out, in)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    linear.weight = nn.Parameter(weight)
    if linear.bias is not None:
        bound = 1.0 / math.sqrt(linear.in_features)
        bias = torch.empty_like(linear.bias, device="cpu")  # (out,)
        nn.init.uniform_(bias, -bound, bound, generator=generator)
        linear.bias = nn.Parameter(bias)


class FeedForward(nn.Module):
    """The position-wise feed-forward layer: Linear(D, F), GELU, Linear(F, D)."""

    def __init__(self, emb_dim: int, ffn_dim: int):
        """Build the two linear layers.

        Args:
            emb_dim: D, input and output width.
            ffn_dim: F, hidden width.
        """
        super().__init__()
        checks.check_int("emb_dim", emb_dim, at_least=1)
        checks.check_int("ffn_dim", ffn_dim, at_least=1)
        self.linear1 = nn.Linear(emb_dim, ffn_dim)
        self.activation = nn.GELU()  # the exact (erf) GELU, as in BERT and activation="gelu"
        self.linear2 = nn.Linear(ffn_dim, emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transform every position on its own.

        Args:
            x: (B, T, D).

        Returns:
            (B, T, D).
        """
        hidden = self.linear1(x)  # (B, T, D) -> (B, T, F)
        hidden = self.activation(hidden)  # (B, T, F)
        return self.linear2(hidden)  # (B, T, F) -> (B, T, D)


class EncoderBlock(nn.Module):
    """Self-attention and a feed-forward layer, each inside a residual connection with a LayerNorm.

    Pre-norm (``norm_first=True``)::

        h = x + Attention(LN1(x))
        y = h + FFN(LN2(h))

    Post-norm (``norm_first=False``)::

        h = LN1(x + Attention(x))
        y = LN2(h + FFN(h))
    """

    def __init__(
        self,
        emb_dim: int,
        num_heads: int,
        ffn_dim: int,
        norm_first: bool = True,
        layer_norm_eps: float = 1e-5,
        generator: torch.Generator | None = None,
    ):
        """Build attention, feed-forward and two LayerNorms.

        Args:
            emb_dim: D, divisible by ``num_heads``.
            num_heads: H.
            ffn_dim: F, hidden width of the feed-forward layer.
            norm_first: pre-norm (True) or post-norm (False).
            layer_norm_eps: epsilon of both LayerNorms.
            generator: a CPU generator that draws the six linear layers, in the order q, k, v, out,
                feed-forward 1, feed-forward 2 (PyTorch's default init); None: the global generator.
        """
        super().__init__()
        checks.check_bool("norm_first", norm_first)
        checks.check_float("layer_norm_eps", layer_norm_eps, above=0)
        if generator is not None:
            checks.check_type("generator", generator, torch.Generator, "a torch.Generator or None")
        self.norm_first = norm_first
        self.attention = MultiHeadAttention(emb_dim, num_heads)
        self.norm1 = nn.LayerNorm(emb_dim, eps=layer_norm_eps)
        self.feed_forward = FeedForward(emb_dim, ffn_dim)
        self.norm2 = nn.LayerNorm(emb_dim, eps=layer_norm_eps)
        if generator is not None:
            a, f = self.attention, self.feed_forward
            for linear in (a.q_proj, a.k_proj, a.v_proj, a.out_proj, f.linear1, f.linear2):
                _redraw_linear(linear, generator)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def forward(
        self, x: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the block; padded positions are never attended to.

        Args:
            x: (B, T, D).
            padding_mask: (B, T) bool, True at padding, or None (no padding).

        Returns:
            output: (B, T, D). Rows at padded positions are computed like any other; ignore them.
            weights: (B, H, T, T), the attention weights of every head.
        """
        dtype = self.norm1.weight.dtype
        checks.check_tensor("x", x, dtype=dtype, shape=(None, None, self.attention.emb_dim), shape_text="(B, T, D)")
        if self.norm_first:
            attended, weights = self.attention(self.norm1(x), padding_mask=padding_mask)  # (B, T, D)
            h = x + attended  # residual: (B, T, D)
            y = h + self.feed_forward(self.norm2(h))  # residual: (B, T, D)
        else:
            attended, weights = self.attention(x, padding_mask=padding_mask)  # (B, T, D)
            h = self.norm1(x + attended)  # (B, T, D)
            y = self.norm2(h + self.feed_forward(h))  # (B, T, D)
        return y, weights


class EncoderClassifier(nn.Module):
    """Token embeddings + sinusoidal positions -> encoder blocks -> masked mean pooling -> linear head."""

    def __init__(self, config: EncoderConfig, pretrained: torch.Tensor | None = None):
        """Build the model on the CPU; every random parameter comes from ``cpu_generator(config.seed)``.

        The draws, in order: the embedding rows N(0, init_std^2) (skipped with ``pretrained``), the
        padding row set to zero; each block's six linear layers (see :class:`EncoderBlock`); the
        head (PyTorch's default ``nn.Linear`` init, as :func:`embedlab.pooling.seeded_linear`).
        LayerNorms start at scale 1 and shift 0. The global generator is never read for a value
        the model keeps.

        Args:
            config: the sizes and the seed; see :class:`EncoderConfig`.
            pretrained: (V, D) starting embedding matrix, copied (row PAD_ID is set to zero); None
                draws it at random.
        """
        super().__init__()
        checks.check_type("config", config, EncoderConfig, "an encoder.EncoderConfig")
        self.config = config
        generator = cpu_generator(config.seed)
        shape = (config.vocab_size, config.emb_dim)
        if pretrained is None:
            weight = torch.randn(shape, generator=generator) * config.init_std  # (V, D)
        else:
            checks.check_tensor("pretrained", pretrained, shape=shape, floating=True,
                                shape_text="(vocab_size, emb_dim)")
            checks.check_finite("pretrained", pretrained)
            weight = pretrained.detach().to("cpu", torch.float32).clone()  # (V, D), not shared
        weight[PAD_ID] = 0.0
        self.embedding = nn.Embedding.from_pretrained(weight, freeze=False, padding_idx=PAD_ID)
        self.positions = SinusoidalPositionalEncoding(config.emb_dim, config.max_len)
        self.blocks = nn.ModuleList(
            EncoderBlock(
                config.emb_dim, config.num_heads, config.ffn_dim, config.norm_first, config.layer_norm_eps,
                generator=generator,
            )
            for _ in range(config.num_layers)
        )
        # Pre-norm leaves the residual stream un-normalised after the last block; one more LayerNorm
        # brings it to a common scale before pooling (GPT-2 and ViT do the same).
        if config.norm_first:
            self.final_norm = nn.LayerNorm(config.emb_dim, eps=config.layer_norm_eps)
        else:
            self.final_norm = nn.Identity()
        self.head = nn.Linear(config.emb_dim, config.num_classes)
        _redraw_linear(self.head, generator)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def encode(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """The contextual vector of every position.

        Args:
            token_ids: (B, T) int64, ids in [0, V).
            padding_mask: (B, T) bool, True at padding; every row needs at least one real token.

        Returns:
            (B, T, D). Rows at padded positions are computed like any other; ignore them.
        """
        checks.check_token_ids("token_ids", token_ids, self.config.vocab_size)
        checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
        self._check_sizes(token_ids, padding_mask)
        x = self.embedding(token_ids)  # (B, T) -> (B, T, D)
        x = self.positions(x)  # (B, T, D) + (T, D) -> (B, T, D)
        for block in self.blocks:
            x, _ = block(x, padding_mask)  # (B, T, D)
        return self.final_norm(x)  # (B, T, D)

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Class logits of each sequence.

        Args:
            token_ids: (B, T) int64, ids in [0, V).
            padding_mask: (B, T) bool, True at padding; every row needs at least one real token.

        Returns:
            (B, C) logits.
        """
        hidden = self.encode(token_ids, padding_mask)  # (B, T) -> (B, T, D)
        pooled = mean_pool(hidden, padding_mask)  # (B, T, D) -> (B, D)
        return self.head(pooled)  # (B, D) -> (B, C)

    def _check_sizes(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> None:
        """B, T >= 1, T <= max_len, both on one device, and (on the CPU) a real token in every row."""
        if 0 in token_ids.shape or token_ids.shape[1] > self.config.max_len:
            raise ValueError(
                f"token_ids must have shape (B, T) with B >= 1 and 1 <= T <= max_len={self.config.max_len}, "
                f"got {tuple(token_ids.shape)}"
            )
        checks.check_same_device("padding_mask", padding_mask, "token_ids", token_ids)
        checks.check_rows_not_empty("padding_mask", padding_mask)


# --- diagnostics -------------------------------------------------------------------------------


@torch.no_grad()
def sublayer_norms(
    block: EncoderBlock, x: torch.Tensor, padding_mask: torch.Tensor | None = None
) -> dict[str, float]:
    """Mean L2 norm, over the real positions, of a block's input and of each sublayer's output.

    For a pre-norm block these are the residual stream ``x`` and the two vectors added to it,
    ``MHA(LN1(x))`` and ``FFN(LN2(h))``; for a post-norm block, ``x``, ``MHA(x)`` and ``FFN(h)``,
    the sublayer outputs that go into each LayerNorm. A sublayer much smaller than the stream
    changes little: the block starts close to the identity.

    Args:
        block: an :class:`EncoderBlock`.
        x: (B, T, D) the block's input (for the first block: embeddings plus positions).
        padding_mask: (B, T) bool, True at padding (None: every position is real).

    Returns:
        ``{"input": ..., "attention": ..., "feed_forward": ...}``, floats.
    """
    checks.check_type("block", block, EncoderBlock, "an encoder.EncoderBlock")
    checks.check_tensor("x", x, dtype=block.norm1.weight.dtype, shape=(None, None, block.attention.emb_dim),
                        shape_text="(B, T, D)")
    if padding_mask is None:
        padding_mask = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)  # (B, T)
    checks.check_padding_mask("padding_mask", padding_mask, tuple(x.shape[:2]))
    checks.check_same_device("padding_mask", padding_mask, "x", x)
    real = ~padding_mask  # (B, T)
    if block.norm_first:
        attended, _ = block.attention(block.norm1(x), padding_mask=padding_mask)  # (B, T, D)
        h = x + attended  # (B, T, D)
        added = block.feed_forward(block.norm2(h))  # (B, T, D)
    else:
        attended, _ = block.attention(x, padding_mask=padding_mask)  # (B, T, D)
        h = block.norm1(x + attended)  # (B, T, D)
        added = block.feed_forward(h)  # (B, T, D)
    parts = {"input": x, "attention": attended, "feed_forward": added}
    return {name: t[real].norm(dim=-1).mean().item() for name, t in parts.items()}  # (R, D) -> scalar


@torch.no_grad()
def hidden_stds(model: EncoderClassifier, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> list[float]:
    """Standard deviation of the hidden states at the real positions, before and after every block.

    Entry 0 is the blocks' input (embeddings plus positions), entry l the output of block l
    (1-based), before the final LayerNorm: L + 1 floats for L blocks. Every entry of every real
    position's vector counts as one sample (``correction=0``).

    Args:
        model: an :class:`EncoderClassifier`.
        token_ids: (B, T) int64 ids in [0, V).
        padding_mask: (B, T) bool, True at padding; every row needs at least one real token.
    """
    checks.check_type("model", model, EncoderClassifier, "an encoder.EncoderClassifier")
    checks.check_token_ids("token_ids", token_ids, model.config.vocab_size)
    checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
    model._check_sizes(token_ids, padding_mask)
    real = ~padding_mask  # (B, T)
    x = model.positions(model.embedding(token_ids))  # (B, T) -> (B, T, D)
    stds = [x[real].std(correction=0).item()]
    for block in model.blocks:
        x, _ = block(x, padding_mask)  # (B, T, D)
        stds.append(x[real].std(correction=0).item())
    return stds


# --- saving and loading with safetensors --------------------------------------------------------

CONFIG_KEY = "embedlab.encoder.EncoderConfig"  # header entry of save_classifier: the config as JSON


def save_state(module: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``module.state_dict()`` to a safetensors file (tensors are copied to the CPU first).

    Args:
        module: the module to save.
        path: the file to write (by convention ``*.safetensors``); its folder must exist.
        metadata: text to keep in the file's header, str -> str.

    Returns:
        The path written.
    """
    checks.check_type("module", module, nn.Module, "an nn.Module")
    path = Path(checks.check_type("path", path, (str, Path), "a path (str or pathlib.Path)"))
    if not path.parent.is_dir():
        raise FileNotFoundError(f"path's folder {path.parent} does not exist")
    if metadata is not None:
        text_only = isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        )
        if not text_only:
            raise TypeError("metadata must be a dict of str -> str (safetensors headers hold text only)")
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in module.state_dict().items()}
    if not tensors:
        raise ValueError(f"module {type(module).__name__} has no parameters or buffers to save")
    save_file(tensors, str(path), metadata=metadata)
    return path


def load_state(module: nn.Module, path: str | Path) -> dict[str, str]:
    """Load a file written by :func:`save_state` into ``module``, in place, onto its device.

    Every name and shape must match the module's own ``state_dict``.

    Args:
        module: a module of the same architecture as the saved one.
        path: the safetensors file.

    Returns:
        The metadata of the file's header (an empty dict if none).

    Raises:
        ValueError: names missing from the file, names the module does not have, or a shape mismatch.
    """
    checks.check_type("module", module, nn.Module, "an nn.Module")
    path = checks.check_file("path", path)
    with checks.reading(path, "a safetensors file (8-byte header length, JSON header, tensor bytes)"):
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        more_missing = " ..." if len(missing) > 5 else ""
        more_unexpected = " ..." if len(unexpected) > 5 else ""
        raise ValueError(
            f"{path.name} does not fit {type(module).__name__}: missing {missing[:5]}{more_missing}, "
            f"unexpected {unexpected[:5]}{more_unexpected}"
        )
    wrong = [(n, tuple(tensors[n].shape), tuple(own[n].shape)) for n in own if tensors[n].shape != own[n].shape]
    if wrong:
        name, found, expected = wrong[0]
        raise ValueError(f"{path.name}: tensor {name!r} has shape {found}, the module expects {expected}")
    module.load_state_dict(tensors, strict=True)  # copies into the module's tensors, on their device
    return metadata


def save_classifier(model: EncoderClassifier, path: str | Path) -> Path:
    """Save an :class:`EncoderClassifier`: weights, and its config as JSON in the header.

    Args:
        model: the classifier.
        path: the file to write.

    Returns:
        The path written.
    """
    checks.check_type("model", model, EncoderClassifier, "an encoder.EncoderClassifier")
    config = json.dumps(dataclasses.asdict(model.config), sort_keys=True)
    return save_state(model, path, metadata={CONFIG_KEY: config})


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> EncoderClassifier:
    """Rebuild an :class:`EncoderClassifier` from a file of :func:`save_classifier`.

    Args:
        path: the safetensors file.
        device: where to put the model.

    Raises:
        ValueError: the file's header has no config.
    """
    path = checks.check_file("path", path)
    checks.check_type("device", device, (torch.device, str), "a torch.device or its name")
    with checks.reading(path, "a safetensors file written by encoder.save_classifier"):
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    if CONFIG_KEY not in metadata:
        raise ValueError(f"{path.name} has no {CONFIG_KEY!r} entry in its header: not written by save_classifier")
    with checks.reading(path, f"an EncoderConfig as JSON in the header entry {CONFIG_KEY!r}"):
        config = EncoderConfig(**json.loads(metadata[CONFIG_KEY]))
    with torch.random.fork_rng(devices=[]):  # the throw-away initial weights leave the global generator alone
        model = EncoderClassifier(config)
    load_state(model, path)
    return model.to(device)

