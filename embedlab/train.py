"""Training a classifier: batches, a loop with validation each epoch and early stopping, metrics, freezing.

Shape legend: see :mod:`embedlab`.

A data set is a sequence of examples ``(ids, label)``: a list of int token ids and an int class.
A *collate* object turns a list of examples into ``(inputs, labels)`` where ``inputs`` is the
tuple of tensors the model's ``forward`` takes: :class:`PadCollate` makes ``(token_ids,
padding_mask)`` for :class:`embedlab.pooling.PoolingClassifier`, :class:`BagCollate` makes
``(flat_ids, offsets)`` for :class:`embedlab.pooling.BagClassifier`.

Checks: :func:`fit`, :func:`predict` and :func:`evaluate` check the examples on the CPU lists,
before any tensor reaches a device: every id an int >= 0 (and < V when the model has an
``embedding`` with ``num_embeddings``), every label an int >= 0; :func:`fit` and :func:`scores`
also check that the labels are below the model's number of classes C.

Determinism: the training set is shuffled with a CPU :class:`torch.Generator` seeded from the
config, so the batches are the same on every device; with deterministic algorithms on (see
:func:`embedlab.device.setup`) two CPU runs from the same model give bitwise equal weights.
Metrics come from scikit-learn: accuracy and macro-averaged F1.

Freezing: :func:`freeze` / :func:`unfreeze` switch ``requires_grad`` of every parameter of the
given modules; :func:`count_parameters` counts all or only the trainable ones. ``fit``'s
``lr_scale`` and freezing both go by submodule names (``embedding``, ``head``, ...).
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from embedlab import checks
from embedlab.device import cpu_generator
from embedlab.pooling import BagClassifier, ClassifierConfig
from embedlab.pretrained import Start
from embedlab.text import pad_batch, to_bag

Example = tuple[Sequence[int], int]  # (token ids, class label)
Collate = Callable[[Sequence[Example]], tuple[tuple[torch.Tensor, ...], torch.Tensor]]  # PadCollate(), BagCollate()


def _vocab_size(model: nn.Module) -> int | None:
    """V of ``model.embedding`` when the model has one (``nn.Embedding``, ``nn.EmbeddingBag``), else None."""
    return getattr(getattr(model, "embedding", None), "num_embeddings", None)


def _check_examples(name: str, examples: object, vocab_size: int | None = None) -> tuple[int, int]:
    """Every example a pair (int ids >= 0 and < vocab_size, int label >= 0); returns (largest label, its index)."""
    checks.check_sequence(name, examples, what="(ids, label) examples")
    top_label, top_at = -1, 0
    for n, example in enumerate(examples):
        if isinstance(example, (str, bytes, torch.Tensor)) or not isinstance(example, Sequence) or len(example) != 2:
            got = checks.describe(example)
            raise TypeError(f"{name}[{n}] must be a pair (list of token ids, int label), got {got}")
        ids, label = example
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise TypeError(f"{name}[{n}] label must be an int class, got {checks.describe(label)}")
        if label < 0:
            raise ValueError(f"{name}[{n}] label must be an int class >= 0, got {label}")
        if label > top_label:
            top_label, top_at = int(label), n
        if isinstance(ids, (list, tuple)) and ids and set(map(type, ids)) == {int}:  # the fast path
            if min(ids) >= 0 and (vocab_size is None or max(ids) < vocab_size):
                continue
        checks.check_sequence(f"{name}[{n}] ids", ids, non_empty=False, what="int token ids")
        for i, token_id in enumerate(ids):  # the slow path names the bad id
            checks.check_int(f"{name}[{n}] ids[{i}]", token_id, at_least=0, below=vocab_size)
    return top_label, top_at


def _check_max_len(max_len: int | None, owner: str) -> None:
    checks.check_optional_int(f"{owner}.max_len", max_len, at_least=1)


def _labels(examples: Sequence[Example]) -> torch.Tensor:
    """(B,) int64 labels of a batch of examples; a float or bool label is refused, not truncated."""
    labels = [label for _, label in examples]
    for n, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise TypeError(f"examples[{n}] label must be an int class, got {checks.describe(label)}")
    return torch.tensor(labels, dtype=torch.long)  # (B,)


@dataclass(frozen=True)
class PadCollate:
    """Examples -> ``((token_ids (B, T), padding_mask (B, T)), labels (B,))``, the padded layout."""

    max_len: int | None = None  # cut sequences to at most this many tokens (None: keep all)

    def __post_init__(self) -> None:
        _check_max_len(self.max_len, "PadCollate")

    def __call__(self, examples: Sequence[Example]) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Pad a list of ``(ids, label)`` examples into one batch with :func:`embedlab.text.pad_batch`."""
        checks.check_sequence("examples", examples, what="(ids, label) examples")
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
        checks.check_sequence("examples", examples, what="(ids, label) examples")
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
    desc: str = "epochs"  # the bar's label: name the run it belongs to, e.g. "words, mean"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            checks.check_int(f"TrainConfig.{name}", getattr(self, name), at_least=1)
        checks.check_int("TrainConfig.patience", self.patience, at_least=0)
        checks.check_float("TrainConfig.lr", self.lr, above=0)
        checks.check_float("TrainConfig.weight_decay", self.weight_decay, at_least=0)
        checks.check_seed("TrainConfig.seed", self.seed)
        checks.check_bool("TrainConfig.progress", self.progress)
        checks.check_str("TrainConfig.desc", self.desc, non_empty=True)


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


def _check_model(model: object) -> nn.Module:
    return checks.check_type("model", model, nn.Module, "a torch.nn.Module")


def _check_collate(collate: object) -> Collate:
    if not callable(collate):
        raise TypeError(f"collate must be a callable such as train.PadCollate(), got {checks.describe(collate)}")
    return collate


@torch.no_grad()
def _predict(model: nn.Module, examples: Sequence[Example], collate: Collate, device: torch.device, batch_size: int):
    """Logits (len(examples), C) on the CPU, in order; the arguments are already checked."""
    was_training = model.training
    model.eval()
    logits = []
    for inputs, _ in _loader(examples, collate, batch_size):
        logits.append(model(*_to(inputs, device)).float().cpu())  # (B, C)
    model.train(was_training)
    return torch.cat(logits)  # (len(examples), C)


@torch.no_grad()
def _predict_batches(model: nn.Module, batches: list[tuple[torch.Tensor, ...]]) -> torch.Tensor:
    """Logits (n, C) on the CPU of batches already collated and on the model's device."""
    was_training = model.training
    model.eval()
    logits = torch.cat([model(*inputs).float().cpu() for inputs in batches])  # (n, C)
    model.train(was_training)
    return logits


def _fast_scores(logits: torch.Tensor, labels: torch.Tensor) -> Scores:
    """:func:`_scores` counted in torch: the same accuracy, and macro-F1 as scikit-learn defines it.

    Macro-F1 is the mean of 2 TP / (2 TP + FP + FN) over the classes that occur among the labels
    or the predictions, as scikit-learn's ``f1_score(average="macro")`` computes it. ``fit`` calls
    this after every epoch, where scikit-learn's input validation cost more than the model.
    """
    num_classes = logits.shape[1]
    predicted = logits.argmax(dim=1)  # (B, C) -> (B,)
    hits = predicted == labels  # (B,)
    f1s = []
    for c in range(num_classes):
        tp = int((hits & (labels == c)).sum())
        wrong = int(((predicted == c) != (labels == c)).sum())  # FP + FN
        if tp + wrong:  # scikit-learn averages over the classes that occur in labels or predictions
            f1s.append(2 * tp / (2 * tp + wrong))
    return Scores(
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=int(hits.sum()) / len(labels),
        f1=sum(f1s) / len(f1s),
    )


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
        examples: ``(ids, label)`` pairs (the labels are checked but not used).
        collate: e.g. :class:`PadCollate` or :class:`BagCollate`.
        device: where the model runs.
        batch_size: examples per forward pass.
    """
    _check_examples("examples", examples, _vocab_size(_check_model(model)))
    _check_collate(collate)
    batch_size = checks.check_int("batch_size", batch_size, at_least=1)
    return _predict(model, examples, collate, _device(device), batch_size)


def scores(logits: torch.Tensor, labels: torch.Tensor) -> Scores:
    """Loss, accuracy and macro-F1 of logits against int labels.

    Args:
        logits: (B, C) float, one row per example.
        labels: (B,) int64 classes in [0, C).
    """
    checks.check_tensor("logits", logits, dim=2, floating=True, shape_text="(B, C)")
    checks.check_finite("logits", logits)
    return _scores(logits, labels)


def _scores(logits: torch.Tensor, labels: torch.Tensor) -> Scores:
    """:func:`scores` of a model's own (B, C) logits (NaN, if the model made any, is reported, not refused)."""
    from sklearn.metrics import accuracy_score, f1_score  # here: scikit-learn takes ~1 s to import

    checks.check_labels("labels", labels, num_classes=logits.shape[1], size=logits.shape[0])
    predicted = logits.argmax(dim=1)  # (B, C) -> (B,)
    labels_cpu, predicted_cpu = labels.cpu().numpy(), predicted.cpu().numpy()
    return Scores(
        loss=F.cross_entropy(logits, labels).item(),
        accuracy=float(accuracy_score(labels_cpu, predicted_cpu)),
        f1=float(f1_score(labels_cpu, predicted_cpu, average="macro")),
    )


def evaluate(
    model: nn.Module,
    examples: Sequence[Example],
    collate: Collate,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> Scores:
    """Loss, accuracy and macro-F1 of ``model`` on ``examples`` (arguments as :func:`predict`)."""
    _check_examples("examples", examples, _vocab_size(_check_model(model)))
    _check_collate(collate)
    batch_size = checks.check_int("batch_size", batch_size, at_least=1)
    logits = _predict(model, examples, collate, _device(device), batch_size)  # (len(examples), C)
    return _scores(logits, _labels(examples))


def _device(device: object) -> torch.device:
    """A torch.device from a device or its name."""
    checks.check_type("device", device, (torch.device, str), "a torch.device or its name")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from error


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
        checks.check_float(f"lr_scale[{name!r}]", scale, above=0)
        own = [p for p in modules[name].parameters() if p.requires_grad and id(p) not in taken]
        taken.update(id(p) for p in own)
        if own:
            groups.append({"params": own, "lr": lr * scale})
    rest = [p for p in parameters if id(p) not in taken]
    if rest:
        groups.append({"params": rest, "lr": lr})
    return groups


# tqdm's bar without the percentage (the count says it): a bar named by ``TrainConfig.desc``
# fits in 88 columns
_BAR = "{desc}: |{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


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
        config: epochs, batch size, learning rate, patience, seed, the bar's label.
        device: where to train.
        lr_scale: per-submodule learning-rate factors, e.g. ``{"embedding": 0.1}`` trains
            ``model.embedding`` at ``0.1 * config.lr`` and everything else at ``config.lr``.
            Keys are names of ``model.named_modules()``.

    Returns:
        The :class:`History` of losses and validation scores per epoch.
    """
    vocab_size = _vocab_size(_check_model(model))
    top_labels = {"train_set": _check_examples("train_set", train_set, vocab_size),
                  "val_set": _check_examples("val_set", val_set, vocab_size)}
    _check_collate(collate)
    checks.check_type("config", config, TrainConfig, "a train.TrainConfig")
    if lr_scale is not None:
        checks.check_type("lr_scale", lr_scale, dict, "a dict of submodule name -> factor, or None")
    device = _device(device)
    model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("model has no parameter with requires_grad=True: nothing to train")
    groups = _param_groups(model, parameters, config.lr, lr_scale or {})
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    batches = _loader(train_set, collate, config.batch_size, cpu_generator(config.seed))
    # the validation batches are made once (collating them each epoch cost more than the model)
    val_batches = [_to(inputs, device) for inputs, _ in _loader(val_set, collate, config.eval_batch_size)]
    val_labels = _labels(val_set)
    history = History()
    best_state: dict[str, torch.Tensor] = {}
    best_accuracy = -1.0
    bar_options = {} if config.progress else {"disable": True}  # else tqdm reads TQDM_DISABLE
    bar = tqdm(total=config.epochs, desc=config.desc, unit="epoch", file=sys.stderr, bar_format=_BAR, **bar_options)
    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        for inputs, labels in batches:
            logits = model(*_to(inputs, device))  # (B, C)
            if epoch == 1 and seen == 0:
                _check_logits_fit_labels(logits, top_labels)
            loss = F.cross_entropy(logits, labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
        val = _fast_scores(_predict_batches(model, val_batches), val_labels)
        history.train_loss.append(loss_sum / seen)
        history.val_loss.append(val.loss)
        history.val_accuracy.append(val.accuracy)
        history.val_f1.append(val.f1)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", val_acc=f"{val.accuracy:.3f}", refresh=False)
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


def _check_logits_fit_labels(logits: torch.Tensor, top_labels: dict[str, tuple[int, int]]) -> None:
    """The model's first logits are (B, C) and every label of both sets is below C (no GPU sync: shapes only)."""
    if logits.dim() != 2:
        raise ValueError(
            f"model must return (B, C) logits for fit's cross-entropy, got shape {tuple(logits.shape)} "
            "(a binary head with num_classes=1 returns (B,): use num_classes=2)"
        )
    num_classes = logits.shape[1]
    for name, (label, at) in top_labels.items():
        if label >= num_classes:
            raise ValueError(
                f"{name}[{at}] label must be a class in [0, {num_classes - 1}] (the model has {num_classes} "
                f"outputs), got {label}"
            )


# ---------------------------------------------------------------------------------------------
# Freezing and counting parameters.


def freeze(*modules: nn.Module) -> int:
    """Stop gradients for every parameter of the given modules (``requires_grad = False``).

    Freezing does not switch dropout off: use ``module.eval()`` for that.

    Args:
        modules: one or more modules (an ``nn.ModuleList`` slice counts as one).

    Returns:
        The number of parameter values now frozen in these modules.
    """
    return _set_requires_grad(modules, False, "freeze")


def unfreeze(*modules: nn.Module) -> int:
    """Let gradients flow again into every parameter of the given modules.

    Args:
        modules: one or more modules.

    Returns:
        The number of parameter values now trainable in these modules.
    """
    return _set_requires_grad(modules, True, "unfreeze")


def _set_requires_grad(modules: tuple, flag: bool, caller: str) -> int:
    if not modules:
        raise ValueError(f"{caller}() needs at least one module, got none")
    for i, module in enumerate(modules):
        checks.check_type(f"modules[{i}]", module, nn.Module, "an nn.Module")
    seen: set[int] = set()
    total = 0
    for module in modules:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)
            if id(parameter) not in seen:
                seen.add(id(parameter))
                total += parameter.numel()
    return total


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter values in ``module`` (shared parameters counted once).

    Args:
        module: any module.
        trainable_only: count only parameters with ``requires_grad=True``.
    """
    checks.check_type("module", module, nn.Module, "an nn.Module")
    checks.check_bool("trainable_only", trainable_only)
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# ---------------------------------------------------------------------------------------------
# One run of chapter 04's comparison: a bag classifier from a given start, trained and tested.


@dataclass(frozen=True)
class StartRun:
    """What one :func:`fit_from_start` run found."""

    regime: str  # the start's regime (pretrained.START_REGIMES)
    test_accuracy: float  # accuracy on the test set, with the best epoch's weights
    test_correct: tuple[bool, ...]  # per test example: predicted right (for paired intervals)
    val_accuracy: float  # validation accuracy of the best epoch
    best_epoch: int  # 1-based epoch whose weights were kept
    epochs: int  # epochs that ran
    relative_move: float  # ||E_end - E_start|| / ||E_start|| over the rows the training set looks up


def fit_from_start(
    start: Start,
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    test_set: Sequence[Example],
    config: TrainConfig,
    vocab_size: int,
    emb_dim: int = 128,
    model_seed: int = 0,
    device: torch.device | str = "cpu",
) -> StartRun:
    """Build a mean-pooling :class:`embedlab.pooling.BagClassifier` from ``start``, train it with :func:`fit`, test it.

    Args:
        start: the embedding's start, frozen or not, and its learning-rate scale (``pretrained.make_start``).
        train_set, val_set, test_set: ``(ids, label)`` examples.
        config: the training settings (its ``seed`` shuffles the batches).
        vocab_size: V; ``start.weight`` (when given) must be (V, emb_dim).
        emb_dim: D.
        model_seed: seed of the model's own random draws (its head, and the random start's rows).
        device: where to train.
    """
    checks.check_type("start", start, Start, "a pretrained.Start")
    checks.check_type("config", config, TrainConfig, "a train.TrainConfig")
    checks.check_int("vocab_size", vocab_size, at_least=1)
    checks.check_int("emb_dim", emb_dim, at_least=1)
    checks.check_seed("model_seed", model_seed)
    _check_examples("test_set", test_set, vocab_size)
    model_config = ClassifierConfig(vocab_size, emb_dim, 2, freeze=start.freeze, seed=model_seed)
    model = BagClassifier(model_config, pretrained=start.weight)
    initial = model.embedding.weight.detach().clone()  # (V, D)
    collate = BagCollate()
    history = fit(model, train_set, val_set, collate, config, device, lr_scale=start.lr_scale)
    used = sorted({i for ids, _ in train_set for i in ids})
    moved = (model.embedding.weight.detach().cpu()[used] - initial[used]).norm() / initial[used].norm()
    logits = _predict(model, test_set, collate, _device(device), config.eval_batch_size)  # (len, C)
    correct = (logits.argmax(dim=1) == _labels(test_set)).tolist()
    return StartRun(
        regime=start.regime,
        test_accuracy=sum(correct) / len(correct),
        test_correct=tuple(bool(c) for c in correct),
        val_accuracy=history.val_accuracy[history.best_epoch - 1],
        best_epoch=history.best_epoch,
        epochs=len(history.val_accuracy),
        relative_move=float(moved),
    )


def paired_bootstrap(
    correct_a: object, correct_b: object, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Accuracy of a minus accuracy of b, and a 95% interval over resampled test items.

    Each resample draws the N test items with replacement (one draw shared by a and b: the
    interval is *paired*). With (S, N) arrays of S runs each (seeds), an item's score is its mean
    over the runs, so the interval covers the test items for these runs, not new training seeds.

    Args:
        correct_a: (N,) or (S, N) bools or 0/1, 1 where model a got test item n right.
        correct_b: the same for model b (its own S).
        resamples: bootstrap resamples, at least 100.
        seed: seed of NumPy's generator, an int in [0, 2**32).

    Returns:
        ``(difference, low, high)``: the observed difference, and the 2.5th and 97.5th percentiles.
    """
    import numpy as np

    a = checks.check_numbers("correct_a", correct_a)
    b = checks.check_numbers("correct_b", correct_b)
    for name, values in (("correct_a", a), ("correct_b", b)):
        if values.ndim not in (1, 2) or not np.isin(values, (0, 1)).all():
            raise ValueError(f"{name} must be (N,) or (S, N) of bools or 0/1, got shape {values.shape}")
    a = a.reshape(-1, a.shape[-1]).mean(axis=0)  # (N,)
    b = b.reshape(-1, b.shape[-1]).mean(axis=0)  # (N,)
    if a.shape != b.shape:
        raise ValueError(f"correct_a and correct_b must cover the same N test items, got {a.size} and {b.size}")
    checks.check_int("resamples", resamples, at_least=100)
    checks.check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, a.size, size=(resamples, a.size))  # (resamples, N)
    diffs = a[samples].mean(axis=1) - b[samples].mean(axis=1)  # (resamples,)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(a.mean() - b.mean()), float(low), float(high)
