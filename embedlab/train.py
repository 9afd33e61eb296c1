"""Training a classifier: batches, a loop with validation each epoch and early stopping, metrics.

Shape legend: B batch, T tokens, N tokens of a whole batch (bag layout), C classes.

A data set is a sequence of examples ``(ids, label)``: a list of token ids and an int class.
A *collate* object turns a list of examples into ``(inputs, labels)`` where ``inputs`` is the
tuple of tensors the model's ``forward`` takes: :class:`PadCollate` makes ``(token_ids,
padding_mask)`` for :class:`embedlab.pooling.PoolingClassifier`, :class:`BagCollate` makes
``(flat_ids, offsets)`` for :class:`embedlab.pooling.BagClassifier`.

Determinism: the training set is shuffled with a CPU :class:`torch.Generator` seeded from the
config, so the batches are the same on every device; with deterministic algorithms on (see
:func:`embedlab.device.setup`) two CPU runs from the same model give bitwise equal weights.
Metrics come from scikit-learn: accuracy and macro-averaged F1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score
from torch.utils.data import DataLoader
from tqdm import tqdm

from embedlab.device import cpu_generator
from embedlab.text import pad_batch, to_bag

Example = tuple[Sequence[int], int]  # (token ids, class label)
Batch = tuple[tuple[torch.Tensor, ...], torch.Tensor]  # (the model's input tensors, labels (B,))
Collate = Callable[[Sequence[Example]], Batch]  # e.g. PadCollate(...) or BagCollate(...)


def _check_examples(examples: Sequence[Example], name: str) -> None:
    if isinstance(examples, (str, torch.Tensor)) or not isinstance(examples, Sequence):
        raise TypeError(f"{name} must be a sequence of (ids, label) pairs, got {type(examples).__name__}")
    if len(examples) == 0:
        raise ValueError(f"{name} must hold at least one example, got none")
    first = examples[0]
    if not (
        isinstance(first, Sequence) and len(first) == 2
        and isinstance(first[0], Sequence) and not isinstance(first[0], str)
        and isinstance(first[1], int) and not isinstance(first[1], bool)
    ):
        raise TypeError(f"{name}[0] must be a pair (list of token ids, int label), got {repr(first)[:80]}")


def _check_max_len(max_len: int | None, owner: str) -> None:
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"{owner}.max_len must be an int >= 1 or None, got {max_len!r}")


def _labels(examples: Sequence[Example]) -> torch.Tensor:
    return torch.tensor([label for _, label in examples], dtype=torch.long)  # (B,)


@dataclass(frozen=True)
class PadCollate:
    """Examples -> ``((token_ids (B, T), padding_mask (B, T)), labels (B,))``, the padded layout."""

    max_len: int | None = None  # cut sequences to at most this many tokens (None: keep all)

    def __post_init__(self) -> None:
        _check_max_len(self.max_len, "PadCollate")

    def __call__(self, examples: Sequence[Example]) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Pad a list of ``(ids, label)`` examples into one batch with :func:`embedlab.text.pad_batch`."""
        token_ids, padding_mask = pad_batch([list(ids)[: self.max_len] for ids, _ in examples])  # (B, T) each
        return (token_ids, padding_mask), _labels(examples)


@dataclass(frozen=True)
class BagCollate:
    """Examples -> ``((flat_ids (N,), offsets (B,)), labels (B,))``, the layout of ``nn.EmbeddingBag``."""

    max_len: int | None = None  # cut sequences to at most this many tokens (None: keep all)

    def __post_init__(self) -> None:
        _check_max_len(self.max_len, "BagCollate")

    def __call__(self, examples: Sequence[Example]) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Concatenate a list of ``(ids, label)`` examples into one bag batch."""
        id_lists = [list(ids)[: self.max_len] for ids, _ in examples]
        flat_ids, offsets = to_bag(id_lists)  # (N,), (B,)
        return (flat_ids, offsets), _labels(examples)


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`fit` trains."""

    epochs: int = 10  # most passes over the training set
    batch_size: int = 64  # training examples per optimizer step
    lr: float = 2e-3  # learning rate of AdamW
    weight_decay: float = 0.0  # AdamW's decoupled weight decay; 0 makes it plain Adam
    patience: int = 2  # stop after this many epochs without a better validation accuracy; 0 never stops early
    seed: int = 0  # seed of the CPU generator that shuffles the training set
    eval_batch_size: int = 512  # examples per forward pass when evaluating
    progress: bool = True  # a tqdm bar over the epochs (TQDM_DISABLE=1 hides it too)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be an int >= 1, got {value!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"TrainConfig.patience must be an int >= 0, got {self.patience!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay!r}")


@dataclass(frozen=True)
class Scores:
    """A model's loss and metrics on one data set."""

    loss: float  # mean cross-entropy per example
    accuracy: float  # share of examples whose arg-max class is the label (scikit-learn)
    f1: float  # F1 averaged over classes with equal weight, "macro" (scikit-learn)


@dataclass
class History:
    """What happened in each epoch of :func:`fit`; the lists are drawable with ``plot.curves``."""

    train_loss: list[float] = field(default_factory=list)  # mean training loss of each epoch
    val_loss: list[float] = field(default_factory=list)  # validation loss after each epoch
    val_accuracy: list[float] = field(default_factory=list)  # validation accuracy after each epoch
    val_f1: list[float] = field(default_factory=list)  # validation macro-F1 after each epoch
    best_epoch: int = 0  # 1-based epoch whose weights the model holds when fit returns
    stopped_early: bool = False  # True if patience ran out before the last epoch

    def loss_curves(self) -> dict[str, list[float]]:
        """Training and validation loss per epoch, for ``plot.curves``."""
        return {"training loss": self.train_loss, "validation loss": self.val_loss}

    def score_curves(self) -> dict[str, list[float]]:
        """Validation accuracy and macro-F1 per epoch, for ``plot.curves``."""
        return {"validation accuracy": self.val_accuracy, "validation F1": self.val_f1}


def _loader(
    examples: Sequence[Example], collate: Collate, batch_size: int, generator: torch.Generator | None = None
) -> DataLoader:
    return DataLoader(
        list(examples), batch_size=batch_size, shuffle=generator is not None,
        generator=generator, collate_fn=collate,
    )


def _to(inputs: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(t.to(device) for t in inputs)


@torch.no_grad()
def predict(
    model: nn.Module,
    examples: Sequence[Example],
    collate: Collate,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> torch.Tensor:
    """Logits of every example, in order, as a (len(examples), C) float tensor on the CPU.

    Args:
        model: takes the tensors that ``collate`` makes and returns (B, C) logits.
        examples: ``(ids, label)`` pairs (the labels are not used).
        collate: e.g. :class:`PadCollate` or :class:`BagCollate`.
        device: where the model runs.
        batch_size: examples per forward pass.
    """
    _check_examples(examples, "examples")
    was_training = model.training
    model.eval()
    logits = []
    for inputs, _ in _loader(examples, collate, batch_size):
        logits.append(model(*_to(inputs, device)).float().cpu())  # (B, C)
    model.train(was_training)
    return torch.cat(logits)  # (len(examples), C)


def scores(logits: torch.Tensor, labels: torch.Tensor) -> Scores:
    """Loss, accuracy and macro-F1 of (N, C) logits against (N,) int labels."""
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be (N, C) and labels (N,), got {tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    predicted = logits.argmax(dim=1)  # (N, C) -> (N,)
    return Scores(
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=float(accuracy_score(labels.numpy(), predicted.numpy())),
        f1=float(f1_score(labels.numpy(), predicted.numpy(), average="macro")),
    )


def evaluate(
    model: nn.Module,
    examples: Sequence[Example],
    collate: Collate,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> Scores:
    """Loss, accuracy and macro-F1 of ``model`` on ``examples`` (arguments as :func:`predict`)."""
    logits = predict(model, examples, collate, device, batch_size)  # (N, C)
    return scores(logits, _labels(examples))


def _param_groups(
    model: nn.Module, parameters: list[nn.Parameter], lr: float, lr_scale: dict[str, float]
) -> list[dict]:
    """Optimizer groups: the parameters of each named submodule at its scaled rate, the rest at ``lr``."""
    modules = dict(model.named_modules())
    groups, taken = [], set()
    for name, scale in lr_scale.items():
        if name not in modules or name == "":
            raise ValueError(f"lr_scale names {name!r}, which is not a submodule of the model; "
                             f"submodules: {sorted(n for n in modules if n)[:10]}")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"lr_scale[{name!r}] must be a number > 0, got {scale!r}")
        own = [p for p in modules[name].parameters() if p.requires_grad and id(p) not in taken]
        taken.update(id(p) for p in own)
        if own:
            groups.append({"params": own, "lr": lr * scale})
    rest = [p for p in parameters if id(p) not in taken]
    if rest:
        groups.append({"params": rest, "lr": lr})
    return groups


def fit(
    model: nn.Module,
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    collate: Collate,
    config: TrainConfig = TrainConfig(),
    device: torch.device | str = "cpu",
    lr_scale: dict[str, float] | None = None,
) -> History:
    """Train ``model`` with AdamW and cross-entropy, validate after each epoch, stop early.

    The model is moved to ``device``; when ``fit`` returns it holds the weights of its best epoch
    (highest validation accuracy, the earliest one on ties). Only parameters with
    ``requires_grad`` are optimized (a frozen embedding stays as it is).

    Args:
        model: takes the tensors that ``collate`` makes and returns (B, C) logits.
        train_set: ``(ids, label)`` pairs to learn from, shuffled each epoch.
        val_set: ``(ids, label)`` pairs that choose the best epoch.
        collate: e.g. :class:`PadCollate` or :class:`BagCollate`.
        config: epochs, batch size, learning rate, patience, seed.
        device: where to train.
        lr_scale: per-submodule learning-rate factors, e.g. ``{"embedding": 0.1}`` trains
            ``model.embedding`` at ``0.1 * config.lr`` and everything else at ``config.lr``.
            Keys are names of ``model.named_modules()``.

    Returns:
        The :class:`History` of losses and validation scores per epoch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    _check_examples(train_set, "train_set")
    _check_examples(val_set, "val_set")
    device = torch.device(device)
    model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("model has no parameter with requires_grad=True: nothing to train")
    groups = _param_groups(model, parameters, config.lr, lr_scale or {})
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    batches = _loader(train_set, collate, config.batch_size, cpu_generator(config.seed))
    history = History()
    best_state: dict[str, torch.Tensor] = {}
    best_accuracy = -1.0
    bar_options = {} if config.progress else {"disable": True}  # else tqdm reads TQDM_DISABLE
    bar = tqdm(total=config.epochs, desc="epochs", unit="epoch", **bar_options)
    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        for inputs, labels in batches:
            logits = model(*_to(inputs, device))  # (B, C)
            loss = F.cross_entropy(logits, labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
        val = evaluate(model, val_set, collate, device, config.eval_batch_size)
        history.train_loss.append(loss_sum / seen)
        history.val_loss.append(val.loss)
        history.val_accuracy.append(val.accuracy)
        history.val_f1.append(val.f1)
        bar.set_postfix(train_loss=f"{loss_sum / seen:.3f}", val_acc=f"{val.accuracy:.3f}", refresh=False)
        bar.update(1)
        if val.accuracy > best_accuracy:
            best_accuracy = val.accuracy
            history.best_epoch = epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif config.patience and epoch - history.best_epoch >= config.patience:
            history.stopped_early = epoch < config.epochs
            break
    bar.close()
    model.load_state_dict(best_state)
    return history
