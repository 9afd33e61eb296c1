"""Word segmentation as character tagging (B/M/E/S): data, a windowed tagger, its training, two baselines.

Shape legend: see :mod:`embedlab`; K is the number of tags (4) and W the window of characters a
tagger sees around each position.

A segmented sentence ``["迈向", "充满", "希望", "的"]`` becomes one tag per character: ``B`` begins
a word, ``M`` is inside it, ``E`` ends it, ``S`` is a word of one character (``B E B E B E S``).
Decoding tags back into words starts a new word at every ``B`` or ``S`` and after every ``E`` or
``S``, so any tag sequence decodes (an ``M`` or ``E`` without its ``B`` starts a word).

Scores: tag accuracy over characters, and word F1: a predicted word counts when its exact
character span (start, end) is a word of the gold segmentation (the standard scoring of the
SIGHAN bakeoffs).
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from embedlab import checks
from embedlab.corpora import people_daily_words
from embedlab.device import cpu_generator, perturb_
from embedlab.pooling import seeded_linear
from embedlab.text import PAD_ID, Vocab, pad_batch
from embedlab.train import TrainConfig

TAGS = ("B", "M", "E", "S")
TAG_ID = {tag: i for i, tag in enumerate(TAGS)}
IGNORE = -100  # the tag id of padding positions (cross-entropy's ignore_index)

TagExample = tuple[Sequence[int], Sequence[int]]  # (character ids, tag ids), of one length


def bmes_tags(words: Sequence[str]) -> list[str]:
    """One B/M/E/S tag per character of a segmented sentence.

    Args:
        words: the sentence's words, each a non-empty str.
    """
    checks.check_str_list("words", words)
    tags = []
    for i, word in enumerate(words):
        if not word:
            raise ValueError(f"words[{i}] must be a non-empty str, got ''")
        tags += ["S"] if len(word) == 1 else ["B"] + ["M"] * (len(word) - 2) + ["E"]
    return tags


def words_from_tags(chars: Sequence[str], tags: Sequence[str]) -> list[str]:
    """The words that a tag sequence cuts ``chars`` into (any tag sequence decodes, see the module).

    Args:
        chars: the sentence's characters.
        tags: one tag of ``TAGS`` per character.
    """
    checks.check_str_list("chars", chars)
    checks.check_str_list("tags", tags)
    if len(chars) != len(tags):
        raise ValueError(f"chars and tags must have one length, got {len(chars)} and {len(tags)}")
    for i, tag in enumerate(tags):
        checks.check_choice(f"tags[{i}]", tag, TAGS)
    words, current = [], ""
    for ch, tag in zip(chars, tags):
        if current and tag in ("B", "S"):
            words.append(current)
            current = ""
        current += ch
        if tag in ("E", "S"):
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return words


def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    spans, start = set(), 0
    for word in words:
        spans.add((start, start + len(word)))
        start += len(word)
    return spans


@dataclass(frozen=True)
class SegmentationScores:
    """How well a segmentation matches the gold one."""

    tag_accuracy: float  # share of characters whose B/M/E/S tag is right
    precision: float  # share of predicted words that are gold words (same span)
    recall: float  # share of gold words that were predicted
    f1: float  # harmonic mean of precision and recall


def score_segmentation(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> SegmentationScores:
    """Tag accuracy and word precision, recall and F1 of predicted segmentations.

    Both are computed from the words: the tag accuracy compares the B/M/E/S tags of the two
    segmentations, so a tagger's invalid sequence (``B B``) counts as the words it decodes to.

    Args:
        gold: the gold sentences, each a list of words.
        predicted: the same sentences as segmented by a model (the same characters, in order).
    """
    checks.check_sequence("gold", gold, what="sentences (lists of words)")
    checks.check_sequence("predicted", predicted, what="sentences (lists of words)")
    if len(gold) != len(predicted):
        raise ValueError(f"gold and predicted must hold the same sentences, got {len(gold)} and {len(predicted)}")
    right_tags = chars = right_words = n_gold = n_predicted = 0
    for n, (g, p) in enumerate(zip(gold, predicted)):
        g_tags, p_tags = bmes_tags(g), bmes_tags(p)
        if "".join(g) != "".join(p):
            raise ValueError(f"predicted[{n}] must segment the same characters as gold[{n}]")
        right_tags += sum(a == b for a, b in zip(g_tags, p_tags))
        chars += len(g_tags)
        g_spans, p_spans = _spans(g), _spans(p)
        right_words += len(g_spans & p_spans)
        n_gold += len(g_spans)
        n_predicted += len(p_spans)
    precision = right_words / max(n_predicted, 1)
    recall = right_words / max(n_gold, 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SegmentationScores(right_tags / max(chars, 1), precision, recall, f1)


# ---------------------------------------------------------------------------------------------
# The data: People's Daily lines, split once by position.


@dataclass(frozen=True)
class SegmentationSplit:
    """People's Daily pieces of lines (lists of words) for training, choosing epochs, and testing."""

    train: tuple[tuple[str, ...], ...]  # the training pieces, line after line in a fixed shuffled order
    val: tuple[tuple[str, ...], ...]  # to choose the best epoch
    test: tuple[tuple[str, ...], ...]  # to report, once


PUNCTUATION = frozenset("，。！？；：、")  # words after which a line is cut into pieces


def cut_sentence(words: Sequence[str], max_chars: int = 60) -> list[tuple[str, ...]]:
    """Cut a long sentence into pieces after punctuation words, and at word boundaries so that no
    piece has more than ``max_chars`` characters (unless one word does). Padded batches of short
    pieces waste little; a cut after punctuation changes no word.

    Args:
        words: the sentence's words.
        max_chars: the longest piece, in characters.
    """
    checks.check_str_list("words", words)
    checks.check_int("max_chars", max_chars, at_least=1)
    pieces, current, length = [], [], 0
    for word in words:
        if current and length + len(word) > max_chars:
            pieces.append(tuple(current))
            current, length = [], 0
        current.append(word)
        length += len(word)
        if word in PUNCTUATION:
            pieces.append(tuple(current))
            current, length = [], 0
    if current:
        pieces.append(tuple(current))
    return pieces


def segmentation_split(train_lines: int = 500, val_lines: int = 100, test_lines: int = 300) -> SegmentationSplit:
    """A fixed split of People's Daily by line: every 20th line is a test candidate, every 20th
    (offset 10) a validation candidate, the rest the training pool; each line then cut into pieces
    by :func:`cut_sentence`.

    Each part is the first lines of its candidates after one ``random.Random(0)`` shuffle of each,
    so a smaller ``train_lines`` gives a prefix of a larger one (nested training sets), and the
    test lines do not depend on the other sizes. Empty lines are dropped.

    Args:
        train_lines: training sentences (>= 1).
        val_lines: validation sentences (>= 1).
        test_lines: test sentences (>= 1).
    """
    checks.check_int("train_lines", train_lines, at_least=1)
    checks.check_int("val_lines", val_lines, at_least=1)
    checks.check_int("test_lines", test_lines, at_least=1)
    sentences = [tuple(s) for s in people_daily_words() if s]
    parts = {"train": [], "val": [], "test": []}
    for i, sentence in enumerate(sentences):
        parts["test" if i % 20 == 19 else "val" if i % 20 == 9 else "train"].append(sentence)
    wanted = {"train": train_lines, "val": val_lines, "test": test_lines}
    for name, lines in parts.items():
        random.Random(0).shuffle(lines)
        if len(lines) < wanted[name]:
            raise ValueError(f"{name}_lines must be at most {len(lines)}, got {wanted[name]}")
    return SegmentationSplit(
        *(tuple(piece for line in parts[name][: wanted[name]] for piece in cut_sentence(line))
          for name in ("train", "val", "test"))
    )


def encode_sentences(sentences: Sequence[Sequence[str]], vocab: Vocab) -> list[TagExample]:
    """Sentences of words -> ``(character ids, tag ids)`` examples for :class:`WindowTagger`.

    Args:
        sentences: lists of words.
        vocab: a character vocabulary (unknown characters become ``<unk>``).
    """
    checks.check_sequence("sentences", sentences, what="sentences (lists of words)")
    checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab")
    examples = []
    for sentence in sentences:
        chars = [ch for word in sentence for ch in word]
        examples.append((vocab.encode(chars), [TAG_ID[t] for t in bmes_tags(sentence)]))
    return examples


# ---------------------------------------------------------------------------------------------
# Baselines without a neural network.


def max_match(chars: str, dictionary: set[str] | frozenset[str], max_word_len: int = 6) -> list[str]:
    """Forward maximum matching: repeatedly take the longest dictionary word that starts here.

    A character that starts no dictionary word becomes a word of its own.

    Args:
        chars: the unsegmented sentence.
        dictionary: the known words.
        max_word_len: the longest word tried.
    """
    checks.check_str("chars", chars)
    checks.check_type("dictionary", dictionary, (set, frozenset), "a set of words")
    checks.check_int("max_word_len", max_word_len, at_least=1)
    words, i = [], 0
    while i < len(chars):
        for length in range(min(max_word_len, len(chars) - i), 0, -1):
            if length == 1 or chars[i : i + length] in dictionary:
                words.append(chars[i : i + length])
                i += length
                break
    return words


def majority_tags(sentences: Sequence[Sequence[str]]) -> dict[str, str]:
    """Each character's most frequent tag in ``sentences`` (ties: the first in B, M, E, S order).

    Args:
        sentences: segmented training sentences.
    """
    checks.check_sequence("sentences", sentences, what="sentences (lists of words)")
    counts: dict[str, Counter] = {}
    for sentence in sentences:
        chars = [ch for word in sentence for ch in word]
        for ch, tag in zip(chars, bmes_tags(sentence)):
            counts.setdefault(ch, Counter())[tag] += 1
    return {ch: max(TAGS, key=lambda t: (c[t], -TAGS.index(t))) for ch, c in counts.items()}


# ---------------------------------------------------------------------------------------------
# A windowed tagger: embedding -> 1-D convolution over W characters -> ReLU -> linear to K tags.


@dataclass(frozen=True)
class TaggerConfig:
    """Everything that builds a :class:`WindowTagger`."""

    vocab_size: int  # V
    emb_dim: int = 128  # D
    hidden: int = 128  # channels of the convolution
    window: int = 5  # W, odd: the characters the convolution sees around each position
    freeze: bool = False  # keep the embedding matrix fixed
    init_std: float = 0.1  # std of the random embedding rows (unused with a given matrix)
    seed: int = 0  # seed of the CPU generator that draws every random parameter

    def __post_init__(self) -> None:
        checks.check_int("vocab_size", self.vocab_size, at_least=2)
        checks.check_int("emb_dim", self.emb_dim, at_least=1)
        checks.check_int("hidden", self.hidden, at_least=1)
        checks.check_int("window", self.window, at_least=1)
        if self.window % 2 == 0:
            raise ValueError(f"window must be odd (centred on the character), got {self.window}")
        checks.check_bool("freeze", self.freeze)
        checks.check_float("init_std", self.init_std, above=0)
        checks.check_seed("seed", self.seed)


class WindowTagger(nn.Module):
    """Tags every character from the W characters around it. Submodules ``embedding``, ``conv``, ``head``.

    Parameters are drawn from ``cpu_generator(config.seed)`` in this order: the embedding rows
    N(0, init_std^2) (padding row zero) unless a matrix is given, the convolution (PyTorch's
    default init, as for a linear layer of W * D inputs), the head.
    """

    def __init__(self, config: TaggerConfig, pretrained: torch.Tensor | None = None):
        """Args:
        config: sizes and options, see :class:`TaggerConfig`.
        pretrained: (V, D) starting embedding matrix, copied; None draws it at random.
        """
        super().__init__()
        checks.check_type("config", config, TaggerConfig, "a tagging.TaggerConfig")
        self.config = config
        generator = cpu_generator(config.seed)
        if pretrained is None:
            weight = torch.randn(config.vocab_size, config.emb_dim, generator=generator) * config.init_std
        else:
            shape = (config.vocab_size, config.emb_dim)
            checks.check_tensor("pretrained", pretrained, shape=shape, floating=True, shape_text="(vocab_size, emb_dim)")
            checks.check_finite("pretrained", pretrained)
            weight = pretrained.detach().to("cpu", torch.float32).clone()
        weight[PAD_ID] = 0.0
        self.embedding = nn.Embedding.from_pretrained(weight, freeze=config.freeze, padding_idx=PAD_ID)
        window_linear = seeded_linear(config.window * config.emb_dim, config.hidden, generator)
        self.conv = nn.Conv1d(config.emb_dim, config.hidden, config.window, padding=config.window // 2)
        with torch.no_grad():  # the linear layer's draws, laid out as a convolution's kernel
            kernel = window_linear.weight.view(config.hidden, config.window, config.emb_dim)
            self.conv.weight.copy_(kernel.transpose(1, 2))  # (hidden, D, W)
            self.conv.bias.copy_(window_linear.bias)
        self.head = seeded_linear(config.hidden, len(TAGS), generator)
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """Tag logits (B, T, K) of a padded batch.

        Args:
            token_ids: (B, T) int64 character ids in [0, V).
            padding_mask: (B, T) bool, True at padding.
        """
        checks.check_token_ids("token_ids", token_ids, self.config.vocab_size)
        checks.check_padding_mask("padding_mask", padding_mask, tuple(token_ids.shape))
        x = self.embedding(token_ids)  # (B, T) -> (B, T, D)
        x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)  # (B, T, D), padding -> 0
        h = self.conv(x.transpose(1, 2))  # (B, D, T) -> (B, hidden, T)
        h = F.relu(h).transpose(1, 2)  # (B, T, hidden)
        return self.head(h)  # (B, T, hidden) -> (B, T, K)


def _collate(examples: Sequence[TagExample]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(token_ids (B, T), padding_mask (B, T), tag_ids (B, T) with IGNORE at padding)."""
    token_ids, padding_mask = pad_batch([list(ids) for ids, _ in examples])  # (B, T) each
    tags = [torch.tensor(list(t), dtype=torch.long) for _, t in examples]
    tag_ids = nn.utils.rnn.pad_sequence(tags, batch_first=True, padding_value=IGNORE)  # (B, T)
    return token_ids, padding_mask, tag_ids


def _check_tag_examples(name: str, examples: object, vocab_size: int) -> None:
    checks.check_sequence(name, examples, what="(character ids, tag ids) examples")
    for n, example in enumerate(examples):
        if not isinstance(example, (tuple, list)) or len(example) != 2:
            raise TypeError(f"{name}[{n}] must be a pair (character ids, tag ids), got {checks.describe(example)}")
        ids, tags = example
        checks.check_sequence(f"{name}[{n}] ids", ids, what="int character ids")
        if len(ids) != len(tags):
            raise ValueError(f"{name}[{n}] must have one tag per character, got {len(ids)} ids and {len(tags)} tags")
        if min(ids) < 0 or max(ids) >= vocab_size:
            raise ValueError(f"{name}[{n}] ids must be in [0, {vocab_size}), got {min(ids)}..{max(ids)}")
        if min(tags) < 0 or max(tags) >= len(TAGS):
            raise ValueError(f"{name}[{n}] tags must be in [0, {len(TAGS)}), got {min(tags)}..{max(tags)}")


@torch.no_grad()
def _predict(model: WindowTagger, batches, device: torch.device) -> list[list[int]]:
    was_training = model.training
    model.eval()
    predicted = []
    for token_ids, padding_mask, _ in batches:
        best = model(token_ids.to(device), padding_mask.to(device)).argmax(dim=-1).cpu()  # (B, T)
        lengths = (~padding_mask).sum(dim=1).tolist()  # (B,)
        predicted += [row[:n] for row, n in zip(best.tolist(), lengths)]
    model.train(was_training)
    return predicted


def _tag_accuracy(predicted: list[list[int]], examples: Sequence[TagExample]) -> float:
    right = sum(p == t for row, (_, tags) in zip(predicted, examples) for p, t in zip(row, tags))
    return right / sum(len(tags) for _, tags in examples)


def predict_tags(
    model: WindowTagger, examples: Sequence[TagExample], device: torch.device | str = "cpu", batch_size: int = 256
) -> list[list[str]]:
    """The tagger's B/M/E/S tags of every example, in order.

    Args:
        model: a :class:`WindowTagger`.
        examples: ``(character ids, tag ids)`` pairs (the tags are checked, not used).
        device: where the model runs.
        batch_size: sentences per forward pass.
    """
    checks.check_type("model", model, WindowTagger, "a tagging.WindowTagger")
    _check_tag_examples("examples", examples, model.config.vocab_size)
    checks.check_int("batch_size", batch_size, at_least=1)
    batches = [_collate(examples[i : i + batch_size]) for i in range(0, len(examples), batch_size)]
    return [[TAGS[t] for t in row] for row in _predict(model, batches, torch.device(device))]


@dataclass
class TaggerHistory:
    """What happened in each epoch of :func:`fit_tagger`."""

    train_loss: list[float] = field(default_factory=list)  # mean loss per character of each epoch
    val_tag_accuracy: list[float] = field(default_factory=list)  # validation tag accuracy after each epoch
    best_epoch: int = 0  # 1-based epoch whose weights the model holds when fit_tagger returns


def fit_tagger(
    model: WindowTagger,
    train_set: Sequence[TagExample],
    val_set: Sequence[TagExample],
    config: TrainConfig = TrainConfig(),
    device: torch.device | str = "cpu",
    lr_scale: dict[str, float] | None = None,
) -> TaggerHistory:
    """Train a tagger with AdamW and per-character cross-entropy; keep the best validation epoch.

    As :func:`embedlab.train.fit`, for one label per character: the training set is shuffled with
    ``cpu_generator(config.seed)``, validation tag accuracy chooses the epoch whose weights are kept
    (the earliest on ties), and ``config.patience`` epochs without improvement stop the run
    (0 never stops). ``lr_scale`` gives a submodule its own rate, e.g. ``{"embedding": 0.1}``.

    Args:
        model: a :class:`WindowTagger`.
        train_set: ``(character ids, tag ids)`` pairs to learn from.
        val_set: pairs that choose the best epoch.
        config: epochs, batch size, learning rate, weight decay, patience, seed.
        device: where to train.
        lr_scale: per-submodule learning-rate factors (``"embedding"``, ``"conv"``, ``"head"``).
    """
    checks.check_type("model", model, WindowTagger, "a tagging.WindowTagger")
    _check_tag_examples("train_set", train_set, model.config.vocab_size)
    _check_tag_examples("val_set", val_set, model.config.vocab_size)
    checks.check_type("config", config, TrainConfig, "a train.TrainConfig")
    lr_scale = {} if lr_scale is None else checks.check_type("lr_scale", lr_scale, dict, "a dict or None")
    device = torch.device(device)
    model.to(device)
    groups, rest = [], {id(p) for p in model.parameters() if p.requires_grad}
    for name, scale in lr_scale.items():
        checks.check_choice("lr_scale key", name, ["embedding", "conv", "head"])
        checks.check_float(f"lr_scale[{name!r}]", scale, above=0)
        own = [p for p in getattr(model, name).parameters() if id(p) in rest]
        rest -= {id(p) for p in own}
        if own:
            groups.append({"params": own, "lr": config.lr * scale})
    groups.append({"params": [p for p in model.parameters() if id(p) in rest]})
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    generator = cpu_generator(config.seed)
    size = config.eval_batch_size
    val_batches = [_collate(val_set[i : i + size]) for i in range(0, len(val_set), size)]
    history, best_accuracy, best_state = TaggerHistory(), -1.0, {}
    bar_options = {} if config.progress else {"disable": True}
    bar = tqdm(total=config.epochs, desc=config.desc, unit="epoch", file=sys.stderr, **bar_options)
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_set), generator=generator).tolist()
        loss_sum, chars = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            token_ids, padding_mask, tag_ids = _collate([train_set[i] for i in order[start : start + config.batch_size]])
            logits = model(token_ids.to(device), padding_mask.to(device))  # (B, T, K)
            loss = F.cross_entropy(logits.flatten(0, 1), tag_ids.to(device).flatten(), ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = int((~padding_mask).sum())
            loss_sum += loss.item() * n
            chars += n
        accuracy = _tag_accuracy(_predict(model, val_batches, device), val_set)
        history.train_loss.append(loss_sum / chars)
        history.val_tag_accuracy.append(accuracy)
        bar.update(1)
        if accuracy > best_accuracy:
            best_accuracy, history.best_epoch = accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif config.patience and epoch - history.best_epoch >= config.patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    return history


def segment_with(
    model: WindowTagger, sentences: Sequence[Sequence[str]], vocab: Vocab, device: torch.device | str = "cpu"
) -> list[list[str]]:
    """Segment the characters of ``sentences`` (gold words joined) with a trained tagger.

    Args:
        model: a :class:`WindowTagger`.
        sentences: lists of words (only their characters are used).
        vocab: the model's character vocabulary.
        device: where the model runs.
    """
    checks.check_type("model", model, WindowTagger, "a tagging.WindowTagger")
    examples = encode_sentences(sentences, vocab)
    tags = predict_tags(model, examples, device)
    return [words_from_tags([ch for w in s for ch in w], t) for s, t in zip(sentences, tags)]
