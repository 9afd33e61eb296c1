"""Fine-tuning a pretrained encoder (all-MiniLM-L6-v2, a BERT) for classification, with frozen layers cached.

Shape legend: see :mod:`embedlab`; D is the encoder's hidden width, S the examples of a whole data set.

* :func:`to_examples`: the encoded texts of a split (``corpora.tweet_sentiment_split``, the
  positive and negative tweets) as the ``(ids, label)`` examples of :mod:`embedlab.train`.
* :func:`encode_texts`: WordPiece ids cut to a fixed number of tokens, with the package's
  ``padding_mask`` (True at padding) instead of ``transformers``' ``attention_mask`` (1 at real tokens).
* :class:`PretrainedClassifier`: the encoder, masked mean pooling of its last layer, a linear head.
  ``forward(token_ids, padding_mask)`` runs everything; ``forward_from(hidden, padding_mask, k)``
  runs only layers k, k+1, ..., L-1 from the input of layer k.
* :func:`disable_dropout`: set every dropout probability to 0, so training mode computes what
  eval mode computes.
* :func:`cache_layer_inputs`: the input of layer k for a whole data set, computed once;
  :class:`CacheCollate` serves rows of it as batches to :func:`embedlab.train.fit`.

Why caching is exact: when the embeddings and layers 0..k-1 are frozen and dropout is off, the
input of layer k is a fixed function of the token ids. Computing it once and reading it back every
epoch gives the same numbers as recomputing it; only layers k.. and the head see gradients.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from embedlab import checks
from embedlab.attention import additive_mask
from embedlab.device import cpu_generator, perturb_
from embedlab.pooling import mean_pool, seeded_linear

__all__ = [
    "to_examples",
    "encode_texts",
    "PretrainedClassifier",
    "FromLayer",
    "disable_dropout",
    "cache_layer_inputs",
    "CacheCollate",
]


def to_examples(
    token_ids: torch.Tensor, padding_mask: torch.Tensor, labels: Sequence[int]
) -> list[tuple[list[int], int]]:
    """``(ids, label)`` examples for :mod:`embedlab.train` from encoded texts (padding removed).

    Args:
        token_ids: (S, T) int64, e.g. from :func:`encode_texts`.
        padding_mask: (S, T) bool, True at padding.
        labels: S int classes.
    """
    _check_ids_and_mask(token_ids, padding_mask, shape_text="(S, T)")
    _check_labels(labels, token_ids.shape[0])
    return [(ids[~pad].tolist(), int(label)) for ids, pad, label in zip(token_ids, padding_mask, labels)]


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """WordPiece ids of ``texts``, cut to ``max_len`` tokens ([CLS] and [SEP] included), padded to one length.

    Args:
        tokenizer: a ``transformers`` tokenizer (e.g. all-MiniLM-L6-v2's).
        texts: S strings.
        max_len: at most this many tokens per text (>= 2, room for [CLS] and [SEP]).

    Returns:
        token_ids: (S, T) int64 with T <= max_len, the longest encoded text.
        padding_mask: (S, T) bool, True at padding.
    """
    if not callable(tokenizer):
        raise TypeError(f"tokenizer must be a transformers tokenizer, got {checks.describe(tokenizer)}")
    checks.check_str_list("texts", texts, non_empty=True)
    checks.check_int("max_len", max_len, at_least=2)
    encoded = tokenizer(list(texts), truncation=True, max_length=max_len, padding="longest", return_tensors="pt")
    token_ids = encoded["input_ids"]  # (S, T)
    padding_mask = encoded["attention_mask"] == 0  # transformers: 1 at real tokens -> ours: True at padding
    return token_ids, padding_mask


class PretrainedClassifier(nn.Module):
    """A pretrained BERT-style encoder, masked mean pooling of its last layer, and a linear head."""

    def __init__(self, encoder: nn.Module, num_classes: int = 2, seed: int = 0):
        """Wrap ``encoder`` (a ``transformers`` ``BertModel``) and draw a new head from ``cpu_generator(seed)``.

        The head's draws are ``nn.Linear``'s default init (see :func:`embedlab.pooling.seeded_linear`).

        Args:
            encoder: has ``.embeddings``, ``.encoder.layer`` (a list of layers) and ``.config.hidden_size``.
            num_classes: C, at least 2.
            seed: seed of the CPU generator that draws the head.
        """
        super().__init__()
        bert_like = isinstance(encoder, nn.Module) and hasattr(encoder, "embeddings") and hasattr(encoder, "encoder")
        if not bert_like:
            got = checks.describe(encoder)
            raise TypeError(f"encoder must be a BERT-style model (embeddings + encoder.layer), got {got}")
        checks.check_int("num_classes", num_classes, at_least=2)
        checks.check_seed("seed", seed)
        self.encoder = encoder
        self.head = perturb_(seeded_linear(encoder.config.hidden_size, num_classes, cpu_generator(seed)))  # noise mode only

    @property
    def layers(self) -> nn.ModuleList:
        """The L Transformer layers of the encoder, bottom first."""
        return self.encoder.encoder.layer

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Class logits, running the whole encoder.

        Args:
            token_ids: (B, T) int64 WordPiece ids in [0, V).
            padding_mask: (B, T) bool, True at padding.

        Returns:
            (B, C).
        """
        _check_ids_and_mask(token_ids, padding_mask, getattr(self.encoder.config, "vocab_size", None))
        attention_mask = (~padding_mask).long()  # (B, T): transformers' convention, 1 at real tokens
        hidden = self.encoder(input_ids=token_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, D)
        pooled = mean_pool(hidden, padding_mask)  # (B, T, D) -> (B, D)
        return self.head(pooled)  # (B, D) -> (B, C)

    def layer_inputs(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The input of every layer and the last layer's output: L + 1 tensors of shape (B, T, D).

        Entry 0 is the embedding output (the input of layer 0); entry L is the encoder's output.

        Args:
            token_ids: (B, T) int64 WordPiece ids in [0, V).
            padding_mask: (B, T) bool, True at padding.
        """
        _check_ids_and_mask(token_ids, padding_mask, getattr(self.encoder.config, "vocab_size", None))
        return self._layer_inputs(token_ids, padding_mask)

    def _layer_inputs(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        attention_mask = (~padding_mask).long()  # (B, T)
        out = self.encoder(input_ids=token_ids, attention_mask=attention_mask, output_hidden_states=True)
        return tuple(out.hidden_states)  # L + 1 of (B, T, D)

    def forward_from(self, hidden: torch.Tensor, padding_mask: torch.Tensor, start_layer: int) -> torch.Tensor:
        """Class logits from the input of layer ``start_layer``: run layers start_layer..L-1, pool, head.

        Args:
            hidden: (B, T, D), the input of layer ``start_layer`` (e.g. from :func:`cache_layer_inputs`).
            padding_mask: (B, T) bool, True at padding.
            start_layer: k in [0, L]; k = L runs no layer and only pools the encoder's output.

        Returns:
            (B, C).
        """
        checks.check_int("start_layer", start_layer, at_least=0, at_most=len(self.layers))
        width = self.head.in_features
        dtype = self.head.weight.dtype
        checks.check_tensor("hidden", hidden, dtype=dtype, shape=(None, None, width), shape_text="(B, T, D)")
        checks.check_padding_mask("padding_mask", padding_mask, tuple(hidden.shape[:2]))
        mask = additive_mask(padding_mask, hidden.dtype)  # (B, 1, 1, T)
        for layer in self.layers[start_layer:]:
            hidden = _first(layer(hidden, mask))  # (B, T, D)
        pooled = mean_pool(hidden, padding_mask)  # (B, T, D) -> (B, D)
        return self.head(pooled)  # (B, D) -> (B, C)


class FromLayer(nn.Module):
    """A view of a :class:`PretrainedClassifier` that starts at layer k: ``forward(hidden, padding_mask)``.

    It holds no parameters of its own; training it trains the classifier's layers k.. and head.
    """

    def __init__(self, classifier: PretrainedClassifier, start_layer: int):
        """Args:
            classifier: the full classifier.
            start_layer: k in [0, L].
        """
        super().__init__()
        checks.check_type("classifier", classifier, PretrainedClassifier, "a finetune.PretrainedClassifier")
        checks.check_int("start_layer", start_layer, at_least=0, at_most=len(classifier.layers))
        self.classifier = classifier
        self.start_layer = start_layer

    def forward(self, hidden: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) from the input of layer k, (B, T, D)."""
        return self.classifier.forward_from(hidden, padding_mask, self.start_layer)


def disable_dropout(module: nn.Module) -> int:
    """Set the probability of every ``nn.Dropout`` inside ``module`` to 0 (and say so in its config).

    Afterwards training mode computes exactly what eval mode computes, so ``train.fit`` (which calls
    ``model.train()``) runs a deterministic model.

    Returns:
        The number of dropout modules that were switched off.
    """
    checks.check_type("module", module, nn.Module, "an nn.Module")
    changed = 0
    for sub in module.modules():
        if isinstance(sub, nn.Dropout) and sub.p != 0:
            sub.p = 0.0
            changed += 1
    for sub in module.modules():  # a transformers model's config, so that it tells the truth when saved
        config = getattr(sub, "config", None)
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if config is not None and hasattr(config, name):
                setattr(config, name, 0.0)
    return changed


def _active_dropout(module: nn.Module) -> int:
    return sum(isinstance(m, nn.Dropout) and m.p > 0 for m in module.modules())


@torch.no_grad()
def cache_layer_inputs(
    classifier: PretrainedClassifier,
    token_ids: torch.Tensor,
    padding_mask: torch.Tensor,
    layers: Sequence[int],
    batch_size: int = 64,
) -> dict[int, torch.Tensor]:
    """Run the encoder once over a data set and keep the input of the chosen layers.

    The encoder must have no active dropout (see :func:`disable_dropout`): a cache holds one fixed
    value per example, which is exact only if the frozen part computes the same value every time,
    in training as in evaluation.

    Args:
        classifier: the classifier whose encoder to run.
        token_ids: (S, T) int64.
        padding_mask: (S, T) bool, True at padding.
        layers: which layer inputs to keep, each in [0, L] (L: the encoder's output).
        batch_size: examples per forward pass.

    Returns:
        layer k -> (S, T, D), on the device of ``token_ids``.
    """
    checks.check_type("classifier", classifier, PretrainedClassifier, "a finetune.PretrainedClassifier")
    vocab_size = getattr(classifier.encoder.config, "vocab_size", None)
    _check_ids_and_mask(token_ids, padding_mask, vocab_size, shape_text="(S, T)")
    num_layers = len(classifier.layers)
    checks.check_sequence("layers", layers, what="layer numbers")
    for i, k in enumerate(layers):
        checks.check_int(f"layers[{i}]", k, at_least=0, at_most=num_layers)
    checks.check_int("batch_size", batch_size, at_least=1)
    active = _active_dropout(classifier.encoder)
    if active:
        raise ValueError(
            f"the encoder has {active} dropout modules with p > 0: its layers are random during training, "
            "so a cache would not be exact; call finetune.disable_dropout first"
        )
    parts: dict[int, list[torch.Tensor]] = {k: [] for k in layers}
    for start in range(0, token_ids.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        states = classifier._layer_inputs(token_ids[rows], padding_mask[rows])
        for k in layers:
            parts[k].append(states[k])  # (b, T, D)
    return {k: torch.cat(chunks) for k, chunks in parts.items()}  # k -> (S, T, D)


class CacheCollate:
    """Batches from cached layer inputs, for :func:`embedlab.train.fit` and friends.

    An example is ``([i], label)``: the index i of a row of the cache. A batch of them becomes
    ``((hidden (B, T, D), padding_mask (B, T)), labels (B,))``, cut to its longest real sequence.
    """

    def __init__(self, hidden: torch.Tensor, padding_mask: torch.Tensor):
        """Args:
            hidden: (S, T, D) cached layer inputs (e.g. one entry of :func:`cache_layer_inputs`).
            padding_mask: (S, T) bool, True at padding.
        """
        checks.check_tensor("hidden", hidden, dim=3, floating=True, shape_text="(S, T, D)")
        checks.check_padding_mask("padding_mask", padding_mask, tuple(hidden.shape[:2]), shape_text="(S, T)")
        self.hidden = hidden
        self.padding_mask = padding_mask.to(hidden.device)

    def examples(self, labels: Sequence[int]) -> list[tuple[list[int], int]]:
        """One ``([i], label)`` example per cached row.

        Args:
            labels: S int classes, one per cached row.
        """
        _check_labels(labels, self.hidden.shape[0])
        return [([i], int(label)) for i, label in enumerate(labels)]

    def __call__(self, examples) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Gather the rows named by a list of ``([i], label)`` examples."""
        checks.check_sequence("examples", examples, what="([row], label) examples")
        for n, (ids, _) in enumerate(examples):
            if len(ids) != 1:
                raise ValueError(f"examples[{n}] must name one cached row, ([i], label), got {len(ids)} ids")
            checks.check_int(f"examples[{n}] row", ids[0], at_least=0, below=self.hidden.shape[0])
        rows = torch.tensor([ids[0] for ids, _ in examples], device=self.hidden.device)  # (B,)
        padding_mask = self.padding_mask[rows]  # (B, T)
        length = int((~padding_mask).sum(dim=1).max())  # longest real sequence of the batch
        hidden = self.hidden[rows, :length]  # (B, T', D)
        labels = torch.tensor([label for _, label in examples], dtype=torch.long)  # (B,)
        return (hidden, padding_mask[:, :length]), labels


def _first(output):
    """A layer's hidden states, whether it returns a tensor or a tuple (versions of transformers differ)."""
    return output[0] if isinstance(output, tuple) else output


def _check_ids_and_mask(
    token_ids: object, padding_mask: object, vocab_size: int | None = None, shape_text: str = "(B, T)"
) -> None:
    """(B, T) int64 ids (in [0, V) on the CPU when V is given) and a bool padding mask of their shape."""
    checks.check_token_ids("token_ids", token_ids, vocab_size, shape_text=shape_text)
    checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape), shape_text=shape_text)


def _check_labels(labels: object, size: int) -> None:
    """``size`` int labels >= 0 (floats and bools refused, not truncated)."""
    checks.check_sequence("labels", labels, non_empty=False, what="int classes")
    if len(labels) != size:
        raise ValueError(f"labels must hold one class per row ({size}), got {len(labels)}")
    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise TypeError(f"labels[{i}] must be an int class, got {checks.describe(label)}")
        if label < 0:
            raise ValueError(f"labels[{i}] must be an int class >= 0, got {label}")
