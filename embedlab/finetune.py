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

import copy
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from embedlab import checks, train
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
    "REGIMES",
    "LoRALinear",
    "add_lora",
    "unfreeze_biases",
    "peft_lora",
    "build_regime",
    "Run",
    "steps_per_epoch",
    "fit_scheduled",
    "layer_weight_change",
    "token_counts",
    "row_drift",
    "tfidf_baseline",
    "paired_bootstrap",
    "EncodedSplit",
    "encode_split",
    "RegimeSettings",
    "RegimeResult",
    "train_regime",
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


# --- parameter-efficient regimes: BitFit and LoRA --------------------------------------------------
#
# Extra letters: r the rank of a LoRA update, S the items of a data set (as above).

REGIMES = ("frozen", "top_k", "full", "bitfit", "lora")  # the regimes :func:`build_regime` sets up


class LoRALinear(nn.Module):
    """``W x + b + (alpha / r) B A x``: a frozen ``nn.Linear`` plus a trainable rank-r update.

    A (r, D_in) is drawn like ``nn.Linear``'s weight (``kaiming_uniform_(a=sqrt(5))``, i.e.
    U(-1/sqrt(D_in), 1/sqrt(D_in))) from a CPU generator; B (D_out, r) starts at zero, so the
    wrapped layer starts as exactly the pretrained one. This is peft's default LoRA layer.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float, generator: torch.Generator):
        """Args:
            base: the pretrained layer; its parameters are frozen here.
            rank: r >= 1, at most min(D_in, D_out).
            alpha: the update is scaled by alpha / r (> 0).
            generator: a CPU generator for A, e.g. :func:`embedlab.device.cpu_generator`.
        """
        super().__init__()
        checks.check_type("base", base, nn.Linear, "an nn.Linear")
        checks.check_int("rank", rank, at_least=1, at_most=min(base.in_features, base.out_features))
        checks.check_float("alpha", alpha, above=0)
        checks.check_type("generator", generator, torch.Generator, "a torch.Generator")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.rank = rank
        self.scaling = alpha / rank
        bound = 1.0 / base.in_features**0.5
        a = (torch.rand(rank, base.in_features, generator=generator) * 2 - 1) * bound  # (r, D_in)
        self.lora_A = nn.Parameter(a.to(base.weight.device, base.weight.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device,
                                               dtype=base.weight.dtype))  # (D_out, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., D_in) -> (..., D_out)."""
        if not isinstance(x, torch.Tensor) or x.ndim == 0 or x.shape[-1] != self.base.in_features:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else checks.describe(x)
            error = ValueError if isinstance(x, torch.Tensor) else TypeError
            raise error(f"x must be a tensor of shape (..., {self.base.in_features}), got {got}")
        low = nn.functional.linear(x, self.lora_A)  # (..., D_in) -> (..., r)
        update = nn.functional.linear(low, self.lora_B)  # (..., r) -> (..., D_out)
        return self.base(x) + self.scaling * update

    def merged_weight(self) -> torch.Tensor:
        """W + (alpha / r) B A, (D_out, D_in): the plain layer that computes the same function."""
        return self.base.weight + self.scaling * self.lora_B @ self.lora_A


def add_lora(
    encoder: nn.Module, rank: int = 8, alpha: float = 16.0, targets: Sequence[str] = ("query", "value"),
    seed: int = 0,
) -> list[LoRALinear]:
    """Wrap the attention projections ``targets`` of every layer of a BERT-style encoder in :class:`LoRALinear`.

    In place. The A matrices are drawn in layer order, query before value, from one
    ``cpu_generator(seed)``. Only the wrapped layers' own weights are frozen here; freeze the rest
    of the encoder yourself (:func:`build_regime` does).

    Args:
        encoder: a ``transformers`` ``BertModel`` (``encoder.layer[i].attention.self.<target>``).
        rank: r of every update.
        alpha: scale numerator, the update is multiplied by alpha / r.
        targets: names among ``query``, ``key``, ``value``.
        seed: seed of the CPU generator that draws every A.

    Returns:
        The new :class:`LoRALinear` modules, bottom layer first.
    """
    _check_bert_like(encoder)
    checks.check_sequence("targets", targets, what="projection names")
    for i, name in enumerate(targets):
        checks.check_choice(f"targets[{i}]", name, ("query", "key", "value"))
    checks.check_seed("seed", seed)
    generator = cpu_generator(seed)
    wrapped = []
    for layer in encoder.encoder.layer:
        attention_self = layer.attention.self
        for name in targets:
            lora = LoRALinear(getattr(attention_self, name), rank, alpha, generator)
            setattr(attention_self, name, lora)
            wrapped.append(lora)
    return wrapped


def unfreeze_biases(module: nn.Module) -> int:
    """BitFit: set ``requires_grad`` on every parameter named ``bias`` (layer norms' included).

    Returns:
        The number of bias values that are now trainable.
    """
    checks.check_type("module", module, nn.Module, "an nn.Module")
    count = 0
    for name, p in module.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            p.requires_grad_(True)
            count += p.numel()
    return count


def _check_bert_like(encoder: object) -> None:
    bert_like = isinstance(encoder, nn.Module) and hasattr(encoder, "embeddings") and hasattr(encoder, "encoder")
    if not bert_like:
        got = checks.describe(encoder)
        raise TypeError(f"encoder must be a BERT-style model (embeddings + encoder.layer), got {got}")


def peft_lora(encoder: nn.Module, rank: int = 8, alpha: float = 16.0,
              targets: Sequence[str] = ("query", "value")) -> nn.Module:
    """The same LoRA as :func:`add_lora`, made by ``peft`` (``LoraConfig`` + ``get_peft_model``).

    In place: ``peft`` injects its layers into ``encoder`` and freezes everything else. Returns the
    modified ``BertModel`` (``get_peft_model(...).base_model.model``), whose LoRA matrices are
    ``...attention.self.<target>.lora_A.default.weight`` (r, D_in) and ``lora_B.default.weight``
    (D_out, r). peft draws A from the global generator: seed it first for a reproducible start.

    Args:
        encoder: a ``transformers`` ``BertModel``.
        rank: r.
        alpha: ``lora_alpha``; the update is scaled by alpha / r.
        targets: module names for ``target_modules``.
    """
    import peft

    _check_bert_like(encoder)
    checks.check_int("rank", rank, at_least=1)
    checks.check_float("alpha", alpha, above=0)
    checks.check_sequence("targets", targets, what="projection names")
    for i, name in enumerate(targets):
        checks.check_choice(f"targets[{i}]", name, ("query", "key", "value"))
    config = peft.LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets), lora_dropout=0.0, bias="none")
    with warnings.catch_warnings():  # peft asks transformers about gradient checkpointing with a deprecated name
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return peft.get_peft_model(encoder, config).base_model.model


def build_regime(
    encoder: nn.Module,
    regime: str,
    seed: int = 0,
    head: nn.Linear | None = None,
    top_k: int = 2,
    lora_rank: int = 8,
    lora_alpha: float = 16.0,
) -> tuple[PretrainedClassifier, int | None]:
    """A classifier on a copy of ``encoder``, dropout off, with the parameters of ``regime`` trainable.

    * ``frozen``: the head only; ``top_k``: the top k layers and the head; ``full``: everything;
      ``bitfit``: every bias of the encoder and the head; ``lora``: peft's LoRA on the query and
      value projections of every layer (A drawn after seeding the global generator with
      ``seed``) and the head.

    Args:
        encoder: the pretrained ``BertModel``; it is copied, never changed.
        regime: one of :data:`REGIMES`.
        seed: seed of the head (and of LoRA's A).
        head: start from a copy of this head instead (e.g. the frozen regime's trained head).
        top_k: layers trained by ``top_k``, 1..L.
        lora_rank: r of ``lora``.
        lora_alpha: alpha of ``lora``.

    Returns:
        The classifier, and the layer whose input may be cached (L for ``frozen``, L - k for
        ``top_k``; None when the embeddings or the bottom layer train, or carry adapters).
    """
    _check_bert_like(encoder)
    checks.check_choice("regime", regime, REGIMES)
    checks.check_seed("seed", seed)
    if head is not None:
        checks.check_type("head", head, nn.Linear, "an nn.Linear or None")
    num_layers = len(encoder.encoder.layer)
    checks.check_int("top_k", top_k, at_least=1, at_most=num_layers)
    bert = copy.deepcopy(encoder)
    disable_dropout(bert)
    for p in bert.parameters():
        p.requires_grad_(regime == "full")
    if regime == "lora":
        torch.manual_seed(seed)  # peft draws A with nn.init on the global generator
        bert = peft_lora(bert, lora_rank, lora_alpha)
    classifier = PretrainedClassifier(bert, num_classes=2 if head is None else head.out_features, seed=seed)
    if head is not None:
        classifier.head.load_state_dict(head.state_dict())
    start = None
    if regime == "frozen":
        start = num_layers
    elif regime == "top_k":
        for p in classifier.layers[num_layers - top_k:].parameters():
            p.requires_grad_(True)
        start = num_layers - top_k
    elif regime == "bitfit":
        unfreeze_biases(bert)
    return classifier, start


# --- training with a learning-rate schedule ---------------------------------------------------------


@dataclass
class Run:
    """What :func:`fit_scheduled` records besides the model's new weights."""

    history: train.History  # losses and validation scores per epoch, best epoch
    step_losses: list[float] = field(default_factory=list)  # training loss of every optimizer step
    learning_rates: list[float] = field(default_factory=list)  # the head's rate at every step
    steps_per_epoch: int = 0  # optimizer steps in one pass over the training set
    seconds: float = 0.0  # wall-clock seconds of the whole fit, validation included

    def __post_init__(self) -> None:
        checks.check_type("history", self.history, train.History, "a train.History")
        checks.check_int("steps_per_epoch", self.steps_per_epoch, at_least=0)


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: ceil(num_examples / batch_size) (the last batch may be smaller)."""
    checks.check_int("num_examples", num_examples, at_least=1)
    checks.check_int("batch_size", batch_size, at_least=1)
    return -(-num_examples // batch_size)


def fit_scheduled(
    model: nn.Module,
    train_set: Sequence,
    val_set: Sequence,
    collate,
    config,
    device: torch.device | str = "cpu",
    lr_scale: dict[str, float] | None = None,
    schedule: str = "linear",
    warmup_fraction: float = 0.1,
) -> Run:
    """:func:`embedlab.train.fit` with a learning-rate schedule, recording every step.

    ``linear``: ``transformers.get_linear_schedule_with_warmup``: the rate rises linearly from 0
    over the first ``warmup_fraction`` of all planned steps (epochs x steps per epoch), then
    falls linearly to 0 at the last planned step. ``constant``: the configured rate throughout.
    Early stopping (``config.patience``) and keeping the best epoch work as in ``train.fit``; the
    schedule is planned for all epochs, so a run that stops early stops before the rate reaches 0.

    Args:
        model, train_set, val_set, collate, config, device, lr_scale: as for ``train.fit``.
        schedule: ``linear`` or ``constant``.
        warmup_fraction: share of the planned steps spent warming up, in [0, 1).
    """
    import time

    from transformers import get_constant_schedule, get_linear_schedule_with_warmup

    train._check_model(model)
    top_labels = {"train_set": train._check_examples("train_set", train_set),
                  "val_set": train._check_examples("val_set", val_set)}
    train._check_collate(collate)
    checks.check_type("config", config, train.TrainConfig, "a train.TrainConfig")
    if lr_scale is not None:
        checks.check_type("lr_scale", lr_scale, dict, "a dict of submodule name -> factor, or None")
    checks.check_choice("schedule", schedule, ("linear", "constant"))
    checks.check_float("warmup_fraction", warmup_fraction, at_least=0, below=1)
    device = train._device(device)
    start_time = time.perf_counter()
    model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("model has no parameter with requires_grad=True: nothing to train")
    groups = train._param_groups(model, parameters, config.lr, lr_scale or {})
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    batches = train._loader(train_set, collate, config.batch_size, cpu_generator(config.seed))
    per_epoch = steps_per_epoch(len(train_set), config.batch_size)
    total = per_epoch * config.epochs
    if schedule == "linear":
        scheduler = get_linear_schedule_with_warmup(optimizer, round(warmup_fraction * total), total)
    else:
        scheduler = get_constant_schedule(optimizer)
    run = Run(history=train.History(), steps_per_epoch=per_epoch)
    history = run.history
    best_state: dict[str, torch.Tensor] = {}
    best_accuracy = -1.0
    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        for inputs, labels in batches:
            logits = model(*train._to(inputs, device))  # (B, C)
            if epoch == 1 and seen == 0:
                train._check_logits_fit_labels(logits, top_labels)
            loss = nn.functional.cross_entropy(logits, labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            run.learning_rates.append(optimizer.param_groups[-1]["lr"])
            optimizer.step()
            scheduler.step()
            run.step_losses.append(loss.item())
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
        val = train._scores(train._predict(model, val_set, collate, device, config.eval_batch_size),
                            train._labels(val_set))
        history.train_loss.append(loss_sum / seen)
        history.val_loss.append(val.loss)
        history.val_accuracy.append(val.accuracy)
        history.val_f1.append(val.f1)
        if val.accuracy > best_accuracy:
            best_accuracy = val.accuracy
            history.best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif config.patience and epoch - history.best_epoch >= config.patience:
            history.stopped_early = epoch < config.epochs
            break
    model.load_state_dict(best_state)
    run.seconds = time.perf_counter() - start_time
    return run


# --- what fine-tuning changed --------------------------------------------------------------------


def layer_weight_change(before: nn.Module, after: nn.Module) -> dict[str, float]:
    """Relative change ||W_after - W_before|| / ||W_before|| per part of a BERT-style classifier.

    Parts: ``embeddings`` and ``layer 0`` .. ``layer L-1``; each norm is the Frobenius norm over
    all parameters of the part taken together (weights and biases).

    Args:
        before: the classifier (or encoder) before training.
        after: the same architecture after training.
    """
    checks.check_type("before", before, nn.Module, "an nn.Module")
    checks.check_type("after", after, nn.Module, "an nn.Module")
    old, new = dict(before.named_parameters()), dict(after.named_parameters())
    if old.keys() != new.keys():
        raise ValueError("before and after must have the same parameter names (the same architecture)")
    sums: dict[str, list[float]] = {}
    for name, value in old.items():
        part = _part_of(name)
        if part is None:
            continue
        diff = (new[name].detach().cpu().double() - value.detach().cpu().double()).pow(2).sum().item()
        base = value.detach().cpu().double().pow(2).sum().item()
        entry = sums.setdefault(part, [0.0, 0.0])
        entry[0] += diff
        entry[1] += base
    if not sums:
        raise ValueError("found no embeddings or encoder layers (names with 'embeddings.' or 'layer.<i>.')")
    order = sorted(sums, key=lambda p: -1 if p == "embeddings" else int(p.split()[1]))
    return {part: (sums[part][0] / sums[part][1]) ** 0.5 for part in order}


def _part_of(name: str) -> str | None:
    pieces = name.split(".")
    if "embeddings" in pieces:
        return "embeddings"
    if "layer" in pieces:
        at = pieces.index("layer")
        if at + 1 < len(pieces) and pieces[at + 1].isdigit():
            return f"layer {pieces[at + 1]}"
    return None


def token_counts(token_ids: torch.Tensor, padding_mask: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """How often each id occurs at real (non-padding) positions: (V,) int64.

    Args:
        token_ids: (S, T) int64 ids in [0, V).
        padding_mask: (S, T) bool, True at padding.
        vocab_size: V.
    """
    checks.check_int("vocab_size", vocab_size, at_least=1)
    _check_ids_and_mask(token_ids, padding_mask, vocab_size, shape_text="(S, T)")
    return torch.bincount(token_ids[~padding_mask].cpu(), minlength=vocab_size)  # (V,)


def row_drift(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """||E_after[i] - E_before[i]|| for every row i of two (V, D) matrices: (V,)."""
    checks.check_tensor("before", before, dim=2, floating=True, shape_text="(V, D)")
    checks.check_tensor("after", after, dim=2, floating=True, shape=tuple(before.shape), shape_text="(V, D)")
    return (after.detach().cpu() - before.detach().cpu()).norm(dim=1)  # (V, D) -> (V,)


# --- a baseline and paired intervals ----------------------------------------------------------------


def tfidf_baseline(
    train_texts: Sequence[str], train_labels: Sequence[int],
    val_texts: Sequence[str], val_labels: Sequence[int],
    test_texts: Sequence[str],
    grid_c: Sequence[float] = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
) -> dict:
    """TF-IDF + logistic regression, its features and C chosen on the validation set.

    Feature sets tried: word 1-grams, word 1-2-grams, and word 1-2-grams plus character 2-5-grams
    (within word boundaries), all lower-cased with sublinear tf; C from ``grid_c``. Ties go to the
    earlier setting. The chosen setting is refitted on the training set only.

    Returns:
        ``{"features": name, "C": c, "val_accuracy": a, "test_predictions": list of ints}``.
    """
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    checks.check_str_list("train_texts", train_texts, non_empty=True)
    checks.check_str_list("val_texts", val_texts, non_empty=True)
    checks.check_str_list("test_texts", test_texts, non_empty=True)
    _check_labels(train_labels, len(train_texts))
    _check_labels(val_labels, len(val_texts))
    checks.check_sequence("grid_c", grid_c, what="positive floats")
    for i, c in enumerate(grid_c):
        checks.check_float(f"grid_c[{i}]", c, above=0)

    def vectorizers(name):
        word = TfidfVectorizer(ngram_range=(1, 1 if name == "word 1" else 2), sublinear_tf=True)
        if name != "word 1-2 + char 2-5":
            return [word]
        return [word, TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)]

    def features(fitted, texts):
        return hstack([v.transform(texts) for v in fitted]).tocsr()

    best = None
    for name in ("word 1", "word 1-2", "word 1-2 + char 2-5"):
        fitted = [v.fit(list(train_texts)) for v in vectorizers(name)]
        x_train, x_val = features(fitted, train_texts), features(fitted, val_texts)
        for c in grid_c:
            model = LogisticRegression(C=c, max_iter=2000).fit(x_train, list(train_labels))
            accuracy = float((model.predict(x_val) == list(val_labels)).mean())
            if best is None or accuracy > best[0]:
                best = (accuracy, name, c, [int(p) for p in model.predict(features(fitted, test_texts))])
    accuracy, name, c, predictions = best
    return {"features": name, "C": c, "val_accuracy": accuracy, "test_predictions": predictions}


def paired_bootstrap(
    correct_a: Sequence[float], correct_b: Sequence[float], num_resamples: int = 2000, seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of a - b over test items and a percentile interval, resampling items with replacement.

    Both systems are scored on the same items, so one resample of items serves both (a paired
    interval). An entry may be a 0/1 correctness or a mean over seeds.

    Args:
        correct_a: S per-item scores of system a (e.g. 1.0 where it is right).
        correct_b: S per-item scores of system b, same items, same order.
        num_resamples: bootstrap resamples.
        seed: seed of the CPU generator that draws them.
        level: coverage of the interval, in (0, 1).

    Returns:
        (mean difference, lower bound, upper bound).
    """
    a = torch.as_tensor(checks.check_numbers("correct_a", correct_a, dim=1), dtype=torch.float64)
    b = torch.as_tensor(checks.check_numbers("correct_b", correct_b, dim=1), dtype=torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must score the same items, got {len(a)} and {len(b)}")
    checks.check_int("num_resamples", num_resamples, at_least=10)
    checks.check_seed("seed", seed)
    checks.check_float("level", level, above=0, below=1)
    diff = a - b  # (S,)
    rows = torch.randint(0, len(diff), (num_resamples, len(diff)), generator=cpu_generator(seed))
    means = diff[rows].mean(dim=1).sort().values  # (num_resamples,)
    tail = (1 - level) / 2
    low = means[int(tail * (num_resamples - 1))].item()
    high = means[int(round((1 - tail) * (num_resamples - 1)))].item()
    return diff.mean().item(), low, high


# --- one regime, end to end: what the chapter and benchmarks/finetune.py both run ------------------


@dataclass(frozen=True)
class EncodedSplit:
    """A train/val/test split encoded in one (S, T) layout (rows: train, then val, then test)."""

    token_ids: torch.Tensor  # (S, T) int64 WordPiece ids
    padding_mask: torch.Tensor  # (S, T) bool, True at padding
    labels: tuple[int, ...]  # S classes
    parts: dict  # "train" / "val" / "test" -> slice of rows
    texts: tuple[str, ...]  # S texts, same order

    def __post_init__(self) -> None:
        _check_ids_and_mask(self.token_ids, self.padding_mask, shape_text="(S, T)")
        _check_labels(self.labels, self.token_ids.shape[0])
        checks.check_type("parts", self.parts, dict, "a dict of part name -> slice")
        if set(self.parts) != {"train", "val", "test"}:
            raise ValueError(f"parts must name train, val and test, got {sorted(self.parts)}")
        if len(self.texts) != self.token_ids.shape[0]:
            raise ValueError(f"texts must hold one text per row ({self.token_ids.shape[0]}), got {len(self.texts)}")


def encode_split(tokenizer, split, max_len: int) -> EncodedSplit:
    """Encode ``split.train + split.val + split.test`` together (one padded length) with :func:`encode_texts`.

    Args:
        tokenizer: a ``transformers`` tokenizer.
        split: a :class:`embedlab.corpora.Split` of labelled texts.
        max_len: tokens per text at most, [CLS] and [SEP] included.
    """
    for part in ("train", "val", "test"):
        if not hasattr(split, part):
            raise TypeError(f"split must be a corpora.Split (train, val, test), got {checks.describe(split)}")
    everything = list(split.train) + list(split.val) + list(split.test)
    token_ids, padding_mask = encode_texts(tokenizer, [x.text for x in everything], max_len)
    n_train, n_val = len(split.train), len(split.val)
    parts = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
             "test": slice(n_train + n_val, len(everything))}
    return EncodedSplit(token_ids, padding_mask, tuple(x.label for x in everything), parts,
                        tuple(x.text for x in everything))


@dataclass(frozen=True)
class RegimeSettings:
    """How :func:`train_regime` trains one regime."""

    epochs: int = 3  # most passes over the training set
    patience: int = 1  # stop after this many epochs without a better validation accuracy (0: never)
    batch_size: int = 32  # training examples per optimizer step
    lr: float = 1e-3  # AdamW's rate for the head (and for whatever lr_scale does not name)
    encoder_lr_scale: float = 1.0  # the encoder's trainable parameters train at lr * this
    weight_decay: float = 0.0  # AdamW's decoupled decay (0: plain Adam)
    schedule: str = "linear"  # "linear" (warmup, then linear decay to 0) or "constant"
    warmup_fraction: float = 0.1  # share of the planned steps spent warming up
    top_k: int = 2  # layers trained by the top_k regime
    lora_rank: int = 8  # r of the lora regime
    lora_alpha: float = 16.0  # alpha of the lora regime (the update is scaled by alpha / r)

    def __post_init__(self) -> None:
        checks.check_int("epochs", self.epochs, at_least=1)
        checks.check_int("patience", self.patience, at_least=0)
        checks.check_int("batch_size", self.batch_size, at_least=1)
        checks.check_float("lr", self.lr, above=0)
        checks.check_float("encoder_lr_scale", self.encoder_lr_scale, above=0)
        checks.check_float("weight_decay", self.weight_decay, at_least=0)
        checks.check_choice("schedule", self.schedule, ("linear", "constant"))
        checks.check_float("warmup_fraction", self.warmup_fraction, at_least=0, below=1)
        checks.check_int("top_k", self.top_k, at_least=1)
        checks.check_int("lora_rank", self.lora_rank, at_least=1)
        checks.check_float("lora_alpha", self.lora_alpha, above=0)


@dataclass
class RegimeResult:
    """One trained regime: the model, its run, and its test scores."""

    classifier: PretrainedClassifier  # the trained classifier (best validation epoch)
    run: Run  # losses, rates, validation curve, seconds
    trainable_parameters: int  # parameters with requires_grad during training (head included)
    test_correct: list[int]  # 1 where the test prediction is right, per test item
    test_accuracy: float  # mean of test_correct

    def __post_init__(self) -> None:
        checks.check_type("classifier", self.classifier, PretrainedClassifier, "a finetune.PretrainedClassifier")
        checks.check_type("run", self.run, Run, "a finetune.Run")
        checks.check_int("trainable_parameters", self.trainable_parameters, at_least=1)


def train_regime(
    base: nn.Module,
    regime: str,
    data: EncodedSplit,
    settings: RegimeSettings,
    seed: int = 0,
    cache: dict[int, torch.Tensor] | None = None,
    head: nn.Linear | None = None,
    device: torch.device | str = "cpu",
) -> RegimeResult:
    """Build ``regime`` on a copy of ``base`` (:func:`build_regime`), train it, score it on the test rows.

    A regime whose bottom is frozen trains from ``cache[start_layer]`` when the cache holds it
    (exact, see :func:`cache_layer_inputs`); otherwise from token ids. The training set is shuffled
    with ``seed`` and the head drawn from it (unless ``head`` is given).

    Args:
        base: the pretrained ``BertModel`` (copied, never changed).
        regime: one of :data:`REGIMES`.
        data: the encoded split (:func:`encode_split`).
        settings: epochs, rates, schedule, k, LoRA's r and alpha.
        seed: the run's seed.
        cache: layer k -> (S, T, D) inputs of layer k for every row of ``data``, or None.
        head: start from a copy of this trained head (e.g. the frozen regime's).
        device: where to train.
    """
    checks.check_type("data", data, EncodedSplit, "a finetune.EncodedSplit")
    checks.check_type("settings", settings, RegimeSettings, "a finetune.RegimeSettings")
    if cache is not None:
        checks.check_type("cache", cache, dict, "a dict of layer -> cached inputs, or None")
    classifier, start = build_regime(base, regime, seed, head, settings.top_k, settings.lora_rank,
                                     settings.lora_alpha)
    trainable = train.count_parameters(classifier, trainable_only=True)
    device = train._device(device)
    classifier.to(device)
    if start is not None and cache is not None and start in cache:
        collate = CacheCollate(cache[start], data.padding_mask)
        rows = collate.examples(list(data.labels))
        model, prefix = FromLayer(classifier, start), "classifier."
    else:
        collate = train.PadCollate()
        rows = to_examples(data.token_ids, data.padding_mask, list(data.labels))
        model, prefix = classifier, ""
    config = train.TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                               weight_decay=settings.weight_decay, patience=settings.patience, seed=seed,
                               progress=False)
    lr_scale = None if settings.encoder_lr_scale == 1.0 else {prefix + "encoder": settings.encoder_lr_scale}
    run = fit_scheduled(model, rows[data.parts["train"]], rows[data.parts["val"]], collate, config, device,
                        lr_scale, settings.schedule, settings.warmup_fraction)
    test = rows[data.parts["test"]]
    logits = train.predict(model, test, collate, device=device)  # (S_test, C)
    predicted = logits.argmax(dim=1).cpu().tolist()
    correct = [int(p == label) for p, (_, label) in zip(predicted, test)]
    return RegimeResult(classifier, run, trainable, correct, sum(correct) / len(correct))
