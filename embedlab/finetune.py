"""Fine-tuning a pretrained encoder (all-MiniLM-L6-v2, a BERT) for classification, with frozen layers cached.

Shape legend: B batch, N examples, T tokens, D hidden width, L layers, C classes.

* :func:`tweet_sentiment_split`: the positive and negative tweets of ``corpora.tweets()`` whose
  annotators agreed enough, deduplicated, class-balanced, split once and for all into train,
  validation and test; :func:`to_examples` turns a part into the ``(ids, label)`` examples of
  :mod:`embedlab.train`.
* :func:`encode_texts`: WordPiece ids cut to a fixed number of tokens, with the package's
  ``padding_mask`` (True at padding) instead of ``transformers``' ``attention_mask`` (1 at real tokens).
* :class:`PretrainedClassifier`: the encoder, masked mean pooling of its last layer, a linear head.
  ``forward(input_ids, padding_mask)`` runs everything; ``forward_from(hidden, padding_mask, k)``
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

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from embedlab import corpora
from embedlab.pooling import mean_pool

__all__ = [
    "LabelledText",
    "TweetSplit",
    "tweet_sentiment_split",
    "to_examples",
    "encode_texts",
    "additive_attention_mask",
    "PretrainedClassifier",
    "FromLayer",
    "disable_dropout",
    "cache_layer_inputs",
    "CacheCollate",
]

SENTIMENT_LABELS = {"negative": 0, "positive": 1}  # the two classes kept; "neutral" is dropped


@dataclass(frozen=True)
class LabelledText:
    """One example: text and label (0 negative, 1 positive)."""

    text: str
    label: int


@dataclass(frozen=True)
class TweetSplit:
    """A fixed, class-balanced split of the positive and negative tweets."""

    train: tuple[LabelledText, ...]  # to learn from
    val: tuple[LabelledText, ...]  # to choose the best epoch
    test: tuple[LabelledText, ...]  # to report, once
    counts: dict[str, int]  # what each filtering step kept, and the size of each part


def tweet_sentiment_split(
    train_per_class: int,
    val_per_class: int,
    test_per_class: int,
    min_confidence: float = 0.8,
    seed: int = 0,
) -> TweetSplit:
    """Positive vs negative tweets, balanced, split deterministically.

    Filtering, in order: keep ``positive`` and ``negative`` rows (drop ``neutral``); keep rows
    whose annotator confidence is given and at least ``min_confidence``; keep one copy of each
    (cleaned) text; drop texts that occur with both labels. Each class is sorted, shuffled with
    ``random.Random(seed)``; its first ``test_per_class`` texts go to test, the next
    ``val_per_class`` to validation, the next ``train_per_class`` to train. So the test part does
    not depend on the other two sizes. ``corpora.clean_tweet`` has already been applied to every text.

    Args:
        train_per_class: training examples per class (>= 1).
        val_per_class: validation examples per class (>= 1).
        test_per_class: test examples per class (>= 1).
        min_confidence: annotator agreement threshold in [0, 1].
        seed: seed of the shuffle.

    Raises:
        ValueError: a class has fewer texts than asked for.
    """
    sizes = {"train_per_class": train_per_class, "val_per_class": val_per_class, "test_per_class": test_per_class}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)):
        raise TypeError(f"min_confidence must be a float, got {type(min_confidence).__name__}")
    if not 0 <= min_confidence <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    rows = corpora.tweets()
    two_classes = [t for t in rows if t.sentiment in SENTIMENT_LABELS]
    confident = [t for t in two_classes if t.confidence is not None and t.confidence >= min_confidence]
    labels_of: dict[str, set[int]] = {}
    for t in confident:
        if t.text:
            labels_of.setdefault(t.text, set()).add(SENTIMENT_LABELS[t.sentiment])
    by_class: dict[int, list[str]] = {0: [], 1: []}
    for text_, labels in labels_of.items():
        if len(labels) == 1:
            by_class[next(iter(labels))].append(text_)
    rng = random.Random(seed)
    train, val, test = [], [], []
    needed = train_per_class + val_per_class + test_per_class
    for label in (0, 1):
        texts = sorted(by_class[label])
        if len(texts) < needed:
            raise ValueError(
                f"only {len(texts)} {'positive' if label else 'negative'} tweets pass the filters, "
                f"fewer than train_per_class + val_per_class + test_per_class = {needed}"
            )
        rng.shuffle(texts)
        cut = test_per_class + val_per_class
        test += [LabelledText(t, label) for t in texts[:test_per_class]]
        val += [LabelledText(t, label) for t in texts[test_per_class:cut]]
        train += [LabelledText(t, label) for t in texts[cut:cut + train_per_class]]
    rng.shuffle(test)  # test first: its content and order do not depend on the other sizes
    rng.shuffle(val)
    rng.shuffle(train)
    counts = {
        "rows": len(rows),
        "positive_or_negative": len(two_classes),
        "confident": len(confident),
        "unique_texts": len(labels_of),
        "conflicting_dropped": sum(len(labels) > 1 for labels in labels_of.values()),
        "negative_available": len(by_class[0]),
        "positive_available": len(by_class[1]),
        "train": len(train),
        "val": len(val),
        "test": len(test),
    }
    return TweetSplit(tuple(train), tuple(val), tuple(test), counts)


def to_examples(
    input_ids: torch.Tensor, padding_mask: torch.Tensor, labels: Sequence[int]
) -> list[tuple[list[int], int]]:
    """``(ids, label)`` examples for :mod:`embedlab.train` from encoded texts (padding removed).

    Args:
        input_ids: (N, T) int64, e.g. from :func:`encode_texts`.
        padding_mask: (N, T) bool, True at padding.
        labels: N ints.
    """
    _check_ids_and_mask(input_ids, padding_mask)
    if len(labels) != input_ids.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries but input_ids has {input_ids.shape[0]} rows")
    return [(ids[~pad].tolist(), int(label)) for ids, pad, label in zip(input_ids, padding_mask, labels)]


def encode_texts(tokenizer, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """WordPiece ids of ``texts``, cut to ``max_len`` tokens ([CLS] and [SEP] included), padded to one length.

    Args:
        tokenizer: a ``transformers`` tokenizer (e.g. all-MiniLM-L6-v2's).
        texts: N strings.
        max_len: at most this many tokens per text (>= 2, room for [CLS] and [SEP]).

    Returns:
        input_ids: (N, T) int64 with T <= max_len, the longest encoded text.
        padding_mask: (N, T) bool, True at padding.
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise TypeError("texts must be a non-empty list of str")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(t).__name__}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"max_len must be an int >= 2 (room for [CLS] and [SEP]), got {max_len!r}")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_len, padding="longest", return_tensors="pt")
    input_ids = encoded["input_ids"]  # (N, T)
    padding_mask = encoded["attention_mask"] == 0  # transformers: 1 at real tokens -> ours: True at padding
    return input_ids, padding_mask


def additive_attention_mask(padding_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The mask a BERT layer adds to its attention scores: 0 for real keys, the most negative float at padding.

    Args:
        padding_mask: (B, T) bool, True at padding.
        dtype: the dtype of the scores.

    Returns:
        (B, 1, 1, T): broadcasts over heads and queries.
    """
    if not isinstance(padding_mask, torch.Tensor) or padding_mask.dtype != torch.bool or padding_mask.dim() != 2:
        raise TypeError(f"padding_mask must be a (B, T) bool tensor, got {_describe(padding_mask)}")
    fill = torch.finfo(dtype).min
    mask = torch.zeros(padding_mask.shape, dtype=dtype, device=padding_mask.device)  # (B, T)
    mask = mask.masked_fill(padding_mask, fill)  # (B, T)
    return mask[:, None, None, :]  # (B, T) -> (B, 1, 1, T)


class PretrainedClassifier(nn.Module):
    """A pretrained BERT-style encoder, masked mean pooling of its last layer, and a linear head."""

    def __init__(self, encoder: nn.Module, num_classes: int = 2):
        """Wrap ``encoder`` (a ``transformers`` ``BertModel``); the new head is drawn from the global generator.

        Args:
            encoder: has ``.embeddings``, ``.encoder.layer`` (a list of layers) and ``.config.hidden_size``.
            num_classes: C, at least 2.
        """
        super().__init__()
        bert_like = isinstance(encoder, nn.Module) and hasattr(encoder, "embeddings") and hasattr(encoder, "encoder")
        if not bert_like:
            raise TypeError(
                f"encoder must be a BERT-style model (embeddings + encoder.layer), got {type(encoder).__name__}"
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_classes)

    @property
    def layers(self) -> nn.ModuleList:
        """The L Transformer layers of the encoder, bottom first."""
        return self.encoder.encoder.layer

    def forward(self, input_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Class logits, running the whole encoder.

        Args:
            input_ids: (B, T) int64 WordPiece ids.
            padding_mask: (B, T) bool, True at padding.

        Returns:
            (B, C).
        """
        _check_ids_and_mask(input_ids, padding_mask)
        attention_mask = (~padding_mask).long()  # (B, T): transformers' convention, 1 at real tokens
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, D)
        pooled = mean_pool(hidden, padding_mask)  # (B, T, D) -> (B, D)
        return self.head(pooled)  # (B, D) -> (B, C)

    def layer_inputs(self, input_ids: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The input of every layer and the last layer's output: L + 1 tensors of shape (B, T, D).

        Entry 0 is the embedding output (the input of layer 0); entry L is the encoder's output.
        """
        _check_ids_and_mask(input_ids, padding_mask)
        attention_mask = (~padding_mask).long()  # (B, T)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return tuple(out.hidden_states)  # L + 1 of (B, T, D)

    def layer_input(self, input_ids: torch.Tensor, padding_mask: torch.Tensor, layer: int) -> torch.Tensor:
        """The input of layer ``layer`` alone: the embeddings, then layers 0..layer-1 (nothing above).

        Args:
            input_ids: (B, T) int64.
            padding_mask: (B, T) bool, True at padding.
            layer: k in [0, L].

        Returns:
            (B, T, D), equal to ``layer_inputs(...)[layer]``.
        """
        _check_ids_and_mask(input_ids, padding_mask)
        _check_layer(layer, len(self.layers), "layer")
        hidden = self.encoder.embeddings(input_ids=input_ids)  # (B, T) -> (B, T, D)
        mask = additive_attention_mask(padding_mask, hidden.dtype)  # (B, 1, 1, T)
        for bottom in self.layers[:layer]:
            hidden = _first(bottom(hidden, mask))  # (B, T, D)
        return hidden

    def forward_from(self, hidden: torch.Tensor, padding_mask: torch.Tensor, start_layer: int) -> torch.Tensor:
        """Class logits from the input of layer ``start_layer``: run layers start_layer..L-1, pool, head.

        Args:
            hidden: (B, T, D), the input of layer ``start_layer`` (e.g. from :func:`cache_layer_inputs`).
            padding_mask: (B, T) bool, True at padding.
            start_layer: k in [0, L]; k = L runs no layer and only pools the encoder's output.

        Returns:
            (B, C).
        """
        _check_layer(start_layer, len(self.layers), "start_layer")
        if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
            raise ValueError(f"hidden must have shape (B, T, D), got {_describe(hidden)}")
        if not isinstance(padding_mask, torch.Tensor) or padding_mask.shape != hidden.shape[:2]:
            raise ValueError(
                f"padding_mask must have shape (B, T) = {tuple(hidden.shape[:2])}, got {_describe(padding_mask)}"
            )
        mask = additive_attention_mask(padding_mask, hidden.dtype)  # (B, 1, 1, T)
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
        if not isinstance(classifier, PretrainedClassifier):
            raise TypeError(f"classifier must be a PretrainedClassifier, got {type(classifier).__name__}")
        _check_layer(start_layer, len(classifier.layers), "start_layer")
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
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
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
    input_ids: torch.Tensor,
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
        input_ids: (N, T) int64.
        padding_mask: (N, T) bool, True at padding.
        layers: which layer inputs to keep, each in [0, L] (L: the encoder's output).
        batch_size: examples per forward pass.

    Returns:
        layer k -> (N, T, D), on the device of ``input_ids``.
    """
    if not isinstance(classifier, PretrainedClassifier):
        raise TypeError(f"classifier must be a PretrainedClassifier, got {type(classifier).__name__}")
    active = _active_dropout(classifier.encoder)
    if active:
        raise ValueError(
            f"the encoder has {active} dropout modules with p > 0: its layers are random during training, "
            "so a cache would not be exact; call finetune.disable_dropout first"
        )
    _check_ids_and_mask(input_ids, padding_mask)
    num_layers = len(classifier.layers)
    layers = list(layers)
    valid = [not isinstance(k, bool) and isinstance(k, int) and 0 <= k <= num_layers for k in layers]
    if not layers or not all(valid):
        raise ValueError(f"layers must be a non-empty list of ints in [0, {num_layers}], got {layers!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    parts: dict[int, list[torch.Tensor]] = {k: [] for k in layers}
    for start in range(0, input_ids.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        states = classifier.layer_inputs(input_ids[rows], padding_mask[rows])
        for k in layers:
            parts[k].append(states[k])  # (b, T, D)
    return {k: torch.cat(chunks) for k, chunks in parts.items()}  # k -> (N, T, D)


class CacheCollate:
    """Batches from cached layer inputs, for :func:`embedlab.train.fit` and friends.

    An example is ``([i], label)``: the index i of a row of the cache. A batch of them becomes
    ``((hidden (B, T, D), padding_mask (B, T)), labels (B,))``, cut to its longest real sequence.
    """

    def __init__(self, hidden: torch.Tensor, padding_mask: torch.Tensor):
        """Args:
            hidden: (N, T, D) cached layer inputs (e.g. one entry of :func:`cache_layer_inputs`).
            padding_mask: (N, T) bool, True at padding.
        """
        if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
            raise ValueError(f"hidden must have shape (N, T, D), got {_describe(hidden)}")
        if not isinstance(padding_mask, torch.Tensor) or padding_mask.dtype != torch.bool:
            raise TypeError(f"padding_mask must be a bool tensor (True at padding), got {_describe(padding_mask)}")
        if padding_mask.shape != hidden.shape[:2]:
            raise ValueError(
                f"padding_mask must have shape (N, T) = {tuple(hidden.shape[:2])}, got {tuple(padding_mask.shape)}"
            )
        self.hidden = hidden
        self.padding_mask = padding_mask.to(hidden.device)

    def examples(self, labels: Sequence[int]) -> list[tuple[list[int], int]]:
        """One ``([i], label)`` example per cached row."""
        if len(labels) != self.hidden.shape[0]:
            raise ValueError(f"labels has {len(labels)} entries but the cache has {self.hidden.shape[0]} rows")
        return [([i], int(label)) for i, label in enumerate(labels)]

    def __call__(self, examples) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Gather the rows named by a list of ``([i], label)`` examples."""
        rows = torch.tensor([ids[0] for ids, _ in examples], device=self.hidden.device)  # (B,)
        padding_mask = self.padding_mask[rows]  # (B, T)
        length = int((~padding_mask).sum(dim=1).max())  # longest real sequence of the batch
        hidden = self.hidden[rows, :length]  # (B, T', D)
        labels = torch.tensor([label for _, label in examples], dtype=torch.long)  # (B,)
        return (hidden, padding_mask[:, :length]), labels


def _first(output):
    """A layer's hidden states, whether it returns a tensor or a tuple (versions of transformers differ)."""
    return output[0] if isinstance(output, tuple) else output


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)}"
    return type(x).__name__


def _check_layer(layer: int, num_layers: int, name: str) -> None:
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer <= num_layers:
        raise ValueError(f"{name} must be an int in [0, {num_layers}], got {layer!r}")


def _check_ids_and_mask(input_ids: torch.Tensor, padding_mask: torch.Tensor) -> None:
    if not isinstance(input_ids, torch.Tensor) or input_ids.dtype != torch.long or input_ids.dim() != 2:
        raise TypeError(f"input_ids must be a (B, T) int64 tensor, got {_describe(input_ids)}")
    if not isinstance(padding_mask, torch.Tensor) or padding_mask.dtype != torch.bool:
        raise TypeError(f"padding_mask must be a bool tensor (True at padding), got {_describe(padding_mask)}")
    if padding_mask.shape != input_ids.shape:
        raise ValueError(
            f"padding_mask must have the shape of input_ids {tuple(input_ids.shape)}, "
            f"got {tuple(padding_mask.shape)}"
        )
