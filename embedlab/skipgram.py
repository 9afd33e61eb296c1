"""Skip-gram with negative sampling (word2vec), written out in PyTorch, and tools to inspect it.

Shape legend: see :mod:`embedlab`; here B is a batch of windows, n the context slots of a window,
K the noise words, N the tokens of the corpus, R some positions of it. Questions to the trained
vectors (neighbours, analogies, the evaluation) live in :mod:`embedlab.wordvec`.

The model follows word2vec's own code (and gensim's): every *context* word ``o`` of a window
looks up its input vector ``v_o`` (a row of ``in_emb``, the vectors we keep), the window's *centre*
word ``c`` and K noise words look up output vectors ``u`` (rows of ``out_emb``), and

    loss(o, c) = -log sigmoid(u_c . v_o) - sum_k log sigmoid(-u_k . v_o).

The K noise words are drawn once per window and shared by its context words (Ji et al., 2016),
which turns the many dot products of a window into one small matrix product. Gradients are
written by hand (:func:`sgns_grads`) and applied as plain SGD with a linearly decaying learning
rate; the tests check them against autograd. The training step (:func:`sgd_step`) computes the
same products with the learning rate folded in (``_step_updates``); a test checks one step against
autograd and ``torch.optim.SGD``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from embedlab import checks, corpora
from embedlab.device import cpu_generator, perturb_
from embedlab.text import SPECIALS, Vocab


@dataclass(frozen=True)
class SkipGramConfig:
    """Settings of a skip-gram run (defaults are word2vec's and gensim's)."""

    emb_dim: int = 100  # D, length of each word vector
    window: int = 5  # largest centre-context distance; each centre draws its own reach in 1..window
    negatives: int = 5  # K noise words per window
    min_count: int = 5  # words seen fewer times are dropped from the corpus
    sample: float = 1e-3  # subsampling threshold t: words more frequent than t are thinned out
    noise_power: float = 0.75  # noise distribution is unigram counts to this power
    epochs: int = 5  # passes over the corpus
    lr: float = 0.025  # learning rate at the start
    min_lr: float = 0.0001  # learning rate at the end (linear decay in between)
    batch_pairs: int = 4096  # about this many (context, centre) pairs per update
    workers: int = 2  # CPU threads torch uses for each step's ops (1 is faster when the cores are busy)
    seed: int = 0  # seeds initialisation, subsampling, windows, noise and batch order

    def __post_init__(self) -> None:
        for name in ("emb_dim", "window", "negatives", "min_count", "epochs", "batch_pairs"):
            checks.check_int(name, getattr(self, name), at_least=1)
        checks.check_int("workers", self.workers, at_least=1, at_most=2)
        checks.check_seed("seed", self.seed)
        checks.check_float("sample", self.sample, above=0)
        checks.check_float("noise_power", self.noise_power, above=0)
        checks.check_float("lr", self.lr, above=0)
        checks.check_float("min_lr", self.min_lr, above=0)
        if not self.min_lr <= self.lr:
            raise ValueError(f"need 0 < min_lr <= lr, got min_lr={self.min_lr!r}, lr={self.lr!r}")


# ---------------------------------------------------------------------------------------------
# The corpus as ids


def training_corpus(drop_punctuation: bool = True) -> list[list[str]]:
    """People's Daily 1998-01 as sentences of words, punctuation (tag ``w``) dropped by default.

    Args:
        drop_punctuation: leave out the tokens tagged ``w``.
    """
    checks.check_bool("drop_punctuation", drop_punctuation)
    return [
        [word for word, tag in sentence if not (drop_punctuation and tag == "w")]
        for sentence in corpora.people_daily()
    ]


def encode_corpus(sentences: Iterable[Sequence[str]], vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """The corpus as one row of ids, words outside the vocabulary dropped (as word2vec does).

    Args:
        sentences: an iterable of word sequences.
        vocab: the vocabulary.

    Returns:
        token_ids: (N,) int64 ids of the kept words, sentence after sentence.
        sentence_ids: (N,) int64, which sentence each word came from.
    """
    _check_sentences(sentences)
    checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab")
    ids: list[int] = []
    sentence_of: list[int] = []
    for s, sentence in enumerate(sentences):
        if isinstance(sentence, str) or not isinstance(sentence, Sequence):
            raise TypeError(f"sentences[{s}] must be a sequence of words, got {_kind(sentence)}")
        for word in sentence:
            i = vocab.stoi.get(word)
            if i is not None and word not in SPECIALS:
                ids.append(i)
                sentence_of.append(s)
    if not ids:
        raise ValueError("no word of sentences is in the vocabulary: nothing to train on")
    return torch.tensor(ids, dtype=torch.long), torch.tensor(sentence_of, dtype=torch.long)


def count_vector(vocab: Vocab) -> torch.Tensor:
    """(V,) float64 corpus counts in id order; the specials count 0.

    Args:
        vocab: a vocabulary made by ``Vocab.build`` (which fills its counts).
    """
    checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab")
    return torch.tensor([float(vocab.counts.get(t, 0)) for t in vocab.itos], dtype=torch.float64)


def keep_probs(counts: torch.Tensor, sample: float) -> torch.Tensor:
    """Probability of keeping each word when subsampling, word2vec's formula.

    With ``f`` the word's share of the corpus, ``keep = (sqrt(f / t) + 1) * t / f``, capped at 1.

    Args:
        counts: (V,) corpus counts (zeros allowed: they get keep probability 1).
        sample: the threshold ``t`` (> 0).
    """
    _check_counts(counts)
    checks.check_float("sample", sample, above=0)
    counts = counts.to(torch.float64)
    threshold = sample * counts.sum()
    ratio = threshold / counts.clamp_min(1e-300)  # (V,)
    keep = (torch.sqrt(1.0 / ratio) + 1.0) * ratio  # (V,)
    return torch.where(counts > 0, keep.clamp(max=1.0), torch.ones_like(keep))


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """Noise probabilities ``count ** power / sum`` (V,) float64; zero counts get zero probability.

    Args:
        counts: (V,) corpus counts, non-negative, at least one positive.
        power: the exponent (> 0).
    """
    _check_counts(counts)
    checks.check_float("power", power, above=0)
    if counts.sum() <= 0:
        raise ValueError("counts must have at least one positive entry, got all zeros")
    weights = counts.to(torch.float64) ** power  # (V,)
    weights = torch.where(counts > 0, weights, torch.zeros_like(weights))
    return weights / weights.sum()


MAX_TABLE_SIZE = 10**9  # slots of the noise table at most (4 GB of int32)


def noise_table(noise: torch.Tensor, size: int = 10_000_000) -> torch.Tensor:
    """word2vec's unigram table: ``size`` ids, each word filling a share of slots equal to its probability.

    Drawing a uniform slot of the table draws a word from ``noise`` (to within 1 / size).

    Args:
        noise: (V,) probabilities.
        size: number of slots, from V to ``MAX_TABLE_SIZE``.
    """
    checks.check_tensor("noise", noise, dim=1, floating=True, shape_text="(V,)")
    checks.check_finite("noise", noise)
    if noise.numel() == 0 or (noise < 0).any() or not math.isclose(float(noise.sum()), 1.0, rel_tol=1e-6):
        raise ValueError("noise must be a 1-D tensor of non-negative probabilities summing to 1")
    checks.check_int("size", size)
    if not noise.numel() <= size <= MAX_TABLE_SIZE:
        raise ValueError(f"size must be an int >= len(noise) = {noise.numel()} and <= {MAX_TABLE_SIZE}, got {size!r}")
    ends = torch.round(torch.cumsum(noise, dim=0) * size).to(torch.long)  # (V,)
    slots = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long))  # (V,) slots per word
    word_ids = torch.arange(noise.numel(), dtype=torch.int32)  # int32: half the memory of int64
    return torch.repeat_interleave(word_ids, slots)  # (size,)


def sample_noise(table: torch.Tensor, shape: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """Draw noise ids (int64) of ``shape`` from a :func:`noise_table` with uniform slots.

    Args:
        table: (S,) int ids, a :func:`noise_table`.
        shape: the sizes of the result, each >= 0.
        generator: a CPU generator (:func:`embedlab.device.cpu_generator`).
    """
    checks.check_tensor("table", table, dim=1, dtype=(torch.int32, torch.int64), shape_text="(S,)")
    if table.numel() == 0:
        raise ValueError("table must hold at least one slot, got an empty tensor")
    _check_shape(shape)
    _check_generator(generator)
    slots = torch.randint(0, table.numel(), tuple(shape), generator=generator)
    return table[slots].long()


def subsample(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    keep: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each running word with probability ``1 - keep[word]``; returns the kept (ids, sentence ids).

    Args:
        token_ids: (N,) int64 ids of the corpus, each < V.
        sentence_ids: (N,) int64 sentence of each word.
        keep: (V,) keep probabilities in [0, 1] (:func:`keep_probs`).
        generator: a CPU generator.
    """
    _check_keep(keep)
    _check_corpus(token_ids, sentence_ids, vocab_size=keep.numel())
    _check_generator(generator)
    uniform = torch.rand(token_ids.shape, generator=generator, dtype=torch.float64)  # (N,)
    kept = uniform < keep[token_ids]  # (N,)
    return token_ids[kept], sentence_ids[kept]


def window_slots(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    centres: torch.Tensor,
    reach: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The words at offsets -reach..-1, 1..reach around some positions of the corpus.

    Args:
        token_ids: (N,) ids of the corpus.
        sentence_ids: (N,) sentence of each word; a window never crosses a sentence.
        centres: (R,) positions of the centre words.
        reach: how far the window reaches on each side (>= 1).

    Returns:
        contexts: (R, 2 * reach) ids at each offset (any id where the slot is unused).
        context_mask: (R, 2 * reach) bool, True where the slot holds a word of the same sentence.
    """
    _check_corpus(token_ids, sentence_ids)
    checks.check_token_ids("centres", centres, token_ids.numel(), dim=1, shape_text="(R,)")
    checks.check_int("reach", reach, at_least=1)
    return _window_slots(token_ids, sentence_ids, centres, reach)


def _window_slots(
    token_ids: torch.Tensor, sentence_ids: torch.Tensor, centres: torch.Tensor, reach: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`window_slots` after its checks."""
    n = token_ids.numel()
    offsets = torch.cat([torch.arange(-reach, 0), torch.arange(1, reach + 1)])  # (2r,)
    positions = centres.unsqueeze(1) + offsets  # (R, 2r)
    inside = (positions >= 0) & (positions < n)  # (R, 2r)
    positions = positions.clamp(0, max(n - 1, 0))
    same_sentence = sentence_ids[positions] == sentence_ids[centres].unsqueeze(1)  # (R, 2r)
    return token_ids[positions], inside & same_sentence


def context_windows(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    window: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every word as a centre with the words around it, each centre with its own reach.

    The reach ``r`` is drawn uniformly from 1..window (word2vec's dynamic window: near words
    count more often than far ones). Context slots run over offsets -window..-1, 1..window.

    Args:
        token_ids: (N,) ids of the corpus.
        sentence_ids: (N,) sentence of each word; windows never cross a sentence.
        window: the largest reach (>= 1).

    Returns:
        centres: (N,) the centre ids (= ``token_ids``).
        contexts: (N, 2 * window) ids at each offset (any id where the slot is unused).
        context_mask: (N, 2 * window) bool, True where the slot is a real context word.
        reach: (N,) int64, each centre's reach.
    """
    _check_corpus(token_ids, sentence_ids)
    checks.check_int("window", window, at_least=1)
    _check_generator(generator)
    n = token_ids.numel()
    reach = torch.randint(1, window + 1, (n,), generator=generator)  # (N,)
    contexts, context_mask = _window_slots(token_ids, sentence_ids, torch.arange(n), window)  # (N, 2W)
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)])  # (2W,)
    near_enough = offsets.abs() <= reach.unsqueeze(1)  # (N, 2W)
    return token_ids, contexts, context_mask & near_enough, reach


def _check_corpus(token_ids: object, sentence_ids: object, vocab_size: int | None = None) -> None:
    checks.check_token_ids("token_ids", token_ids, vocab_size, dim=1, shape_text="(N,)")
    checks.check_tensor("sentence_ids", sentence_ids, dim=1, dtype=torch.long, shape_text="(N,)")
    if token_ids.shape != sentence_ids.shape:
        raise ValueError(
            f"token_ids and sentence_ids must be 1-D of one shape, got {tuple(token_ids.shape)} "
            f"and {tuple(sentence_ids.shape)}"
        )


def _check_keep(keep: object) -> None:
    checks.check_tensor("keep", keep, dim=1, floating=True, shape_text="(V,)")
    checks.check_finite("keep", keep)
    if keep.numel() == 0 or (keep < 0).any() or (keep > 1).any():
        raise ValueError("keep must be a non-empty (V,) tensor of probabilities in [0, 1]")


def _check_generator(generator: object) -> None:
    checks.check_type("generator", generator, torch.Generator, "a torch.Generator (embedlab.device.cpu_generator)")


def _check_shape(shape: object) -> None:
    checks.check_sequence("shape", shape, non_empty=False, what="sizes")
    for i, size in enumerate(shape):
        checks.check_int(f"shape[{i}]", size, at_least=0)


def _check_sentences(sentences: object) -> None:
    if isinstance(sentences, (str, bytes, torch.Tensor)) or not isinstance(sentences, Iterable):
        raise TypeError(f"sentences must be an iterable of word sequences, got {_kind(sentences)}")


def _kind(value: object) -> str:
    return "a str" if isinstance(value, str) else checks.describe(value)


# ---------------------------------------------------------------------------------------------
# The loss and its gradient


def sgns_loss(context_vecs: torch.Tensor, target_vecs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Summed negative-sampling loss of a batch of windows.

    Column 0 of the targets is the true centre word (label 1), columns 1..K are noise (label 0):
    ``loss = sum w * (-log sigmoid(s_0)) + sum w * (-log sigmoid(-s_k))`` with ``s = v . u``.

    Args:
        context_vecs: (B, n, D) input vectors of the context words.
        target_vecs: (B, 1 + K, D) output vectors of the centre word and the K noise words.
        weights: (B, n, 1 + K) weight of each score (0 for unused slots).

    All three share one floating dtype.
    """
    _check_batch(context_vecs, target_vecs, weights)
    scores = torch.bmm(context_vecs, target_vecs.transpose(1, 2))  # (B, n, 1+K)
    signs = torch.ones(scores.shape[-1], dtype=scores.dtype, device=scores.device)  # (1+K,)
    signs[1:] = -1.0
    return (weights * F.softplus(-signs * scores)).sum()  # -log sigmoid(x) = softplus(-x)


def sgns_grads(
    context_vecs: torch.Tensor,
    target_vecs: torch.Tensor,
    weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hand-written gradients of :func:`sgns_loss`.

    With ``g = weights * (sigmoid(s) - label)``: ``d loss / d v = g @ u`` and ``d loss / d u = g^T @ v``.

    Args:
        context_vecs: (B, n, D) input vectors of the context words.
        target_vecs: (B, 1 + K, D) output vectors of the centre word and the K noise words.
        weights: (B, n, 1 + K) weight of each score, of the same dtype.

    Returns:
        loss: () the summed loss.
        grad_context: (B, n, D).
        grad_target: (B, 1 + K, D).
    """
    _check_batch(context_vecs, target_vecs, weights)
    return _sgns_grads(context_vecs, target_vecs, weights)


def _sgns_grads(
    context_vecs: torch.Tensor, target_vecs: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`sgns_grads` after its checks."""
    scores = torch.bmm(context_vecs, target_vecs.transpose(1, 2))  # (B, n, 1+K)
    sig = torch.sigmoid(scores)  # (B, n, 1+K)
    g = sig * weights  # (B, n, 1+K)
    g[..., 0] -= weights[..., 0]  # sigmoid(s) - 1 for the true centre word
    signs = torch.ones(scores.shape[-1], dtype=scores.dtype, device=scores.device)  # (1+K,)
    signs[1:] = -1.0
    loss = (weights * F.softplus(-signs * scores)).sum()
    grad_context = torch.bmm(g, target_vecs)  # (B, n, 1+K) @ (B, 1+K, D) -> (B, n, D)
    grad_target = torch.bmm(g.transpose(1, 2), context_vecs)  # (B, 1+K, n) @ (B, n, D) -> (B, 1+K, D)
    return loss, grad_context, grad_target


def _check_batch(context_vecs: object, target_vecs: object, weights: object) -> None:
    checks.check_tensor("context_vecs", context_vecs, dim=3, floating=True, shape_text="(B, n, D)")
    checks.check_tensor("target_vecs", target_vecs, dim=3, floating=True, shape_text="(B, 1+K, D)")
    checks.check_tensor("weights", weights, dim=3, floating=True, shape_text="(B, n, 1+K)")
    b, n, d = context_vecs.shape
    if target_vecs.shape[0] != b or target_vecs.shape[2] != d or target_vecs.shape[1] < 2:
        raise ValueError(
            f"target_vecs must be (B={b}, 1+K >= 2, D={d}), got {tuple(target_vecs.shape)}"
        )
    if weights.shape != (b, n, target_vecs.shape[1]):
        raise ValueError(
            f"weights must be (B, n, 1+K) = {(b, n, target_vecs.shape[1])}, got {tuple(weights.shape)}"
        )
    if not context_vecs.dtype == target_vecs.dtype == weights.dtype:
        raise ValueError(
            "context_vecs, target_vecs and weights must share one dtype, got "
            f"{context_vecs.dtype}, {target_vecs.dtype} and {weights.dtype}"
        )
    for name, value in (("context_vecs", context_vecs), ("target_vecs", target_vecs), ("weights", weights)):
        checks.check_finite(name, value)


def _check_step(in_w: object, out_w: object, contexts: object, targets: object, weights: object) -> None:
    """The two (V, D) tables and a batch of ids and weights that fit them."""
    checks.check_tensor("in_w", in_w, dim=2, floating=True, shape_text="(V, D)")
    checks.check_tensor("out_w", out_w, shape=tuple(in_w.shape), shape_text="(V, D)", dtype=in_w.dtype)
    vocab_size = in_w.shape[0]
    checks.check_token_ids("contexts", contexts, vocab_size, shape_text="(B, n)")
    b, n = contexts.shape
    checks.check_token_ids("targets", targets, vocab_size, shape_text="(B, 1+K)")
    if targets.shape[0] != b or targets.shape[1] < 2:
        raise ValueError(f"targets must be (B={b}, 1+K >= 2), got {tuple(targets.shape)}")
    checks.check_tensor("weights", weights, shape=(b, n, targets.shape[1]), shape_text="(B, n, 1+K)")
    if weights.dtype != in_w.dtype:
        raise ValueError(f"weights must have the tables' dtype {in_w.dtype}, got {weights.dtype}")
    for name, value in (("in_w", in_w), ("out_w", out_w), ("weights", weights)):
        checks.check_finite(name, value)


def _check_noise_table(table: object, vocab_size: int) -> None:
    checks.check_tensor("table", table, dim=1, dtype=(torch.int32, torch.int64), shape_text="(S,)")
    if table.numel() == 0:
        raise ValueError("table must hold at least one slot, got an empty tensor")
    if int(table.min()) < 0 or int(table.max()) >= vocab_size:
        raise ValueError(f"table must hold ids in [0, {vocab_size - 1}], got {int(table.min())}..{int(table.max())}")


def _check_counts(counts: object) -> None:
    checks.check_tensor("counts", counts, dim=1, shape_text="(V,)")
    if counts.numel() == 0:
        raise ValueError(f"counts must be a non-empty 1-D tensor, got shape {tuple(counts.shape)}")
    checks.check_finite("counts", counts)
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")


# ---------------------------------------------------------------------------------------------
# The model and its training loop


class SkipGram(nn.Module):
    """Two embedding tables: ``in_emb`` (the word vectors we keep) and ``out_emb`` (for targets)."""

    def __init__(self, vocab_size: int, emb_dim: int, seed: int = 0):
        """word2vec's start: ``in_emb`` uniform in +-0.5/D (drawn on a CPU generator), ``out_emb`` zero.

        Args:
            vocab_size: V, rows of each table.
            emb_dim: D, length of each vector.
            seed: seed of the start, an int in [0, 2**32).
        """
        super().__init__()
        checks.check_int("vocab_size", vocab_size, at_least=1)
        checks.check_int("emb_dim", emb_dim, at_least=1)
        generator = cpu_generator(seed)
        start = (torch.rand(vocab_size, emb_dim, generator=generator) - 0.5) / emb_dim  # (V, D)
        self.in_emb = nn.Embedding(vocab_size, emb_dim, _weight=start)
        self.out_emb = nn.Embedding(vocab_size, emb_dim, _weight=torch.zeros(vocab_size, emb_dim))
        perturb_(self)  # EMBEDLAB_PERTURB=noise only (tools/fragility.py); else nothing

    def forward(self, contexts: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Summed loss of a batch.

        Args:
            contexts: (B, n) int64 context ids, each < V.
            targets: (B, 1 + K) int64 centre id then K noise ids, each < V.
            weights: (B, n, 1 + K) weight of each score, of the tables' dtype.
        """
        vocab_size = self.in_emb.num_embeddings
        checks.check_token_ids("contexts", contexts, vocab_size, shape_text="(B, n)")
        checks.check_token_ids("targets", targets, vocab_size, shape_text="(B, 1+K)")
        context_vecs = self.in_emb(contexts)  # (B, n) -> (B, n, D)
        target_vecs = self.out_emb(targets)  # (B, 1+K) -> (B, 1+K, D)
        return sgns_loss(context_vecs, target_vecs, weights)


@dataclass
class TrainedSkipGram:
    """What :func:`train` returns."""

    vocab: Vocab  # the words (ids 0 and 1 are <pad> and <unk>, never trained)
    model: SkipGram  # in_emb holds the word vectors
    config: SkipGramConfig  # the settings of the run
    epoch_losses: list[float] = field(default_factory=list)  # mean loss per (context, centre) pair
    pairs_per_epoch: list[int] = field(default_factory=list)  # (context, centre) pairs seen
    steps_per_epoch: list[int] = field(default_factory=list)  # SGD updates (batches) per epoch

    def __post_init__(self) -> None:
        checks.check_type("vocab", self.vocab, Vocab, "an embedlab.text.Vocab")
        checks.check_type("model", self.model, SkipGram, "a SkipGram")
        checks.check_type("config", self.config, SkipGramConfig, "a SkipGramConfig")
        if self.model.in_emb.num_embeddings != len(self.vocab):
            raise ValueError(
                f"model must have one row per vocabulary entry ({len(self.vocab)}), "
                f"got {self.model.in_emb.num_embeddings}"
            )

    @property
    def vectors(self) -> torch.Tensor:
        """(V, D) the input vectors, detached."""
        return self.model.in_emb.weight.detach()


def epoch_batches(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    keep: torch.Tensor,
    table: torch.Tensor,
    config: SkipGramConfig,
    generator: torch.Generator,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """One epoch of batches: subsample, draw windows and noise, group windows by reach, shuffle.

    Windows of one reach ``r`` have exactly ``2r`` slots, so grouping them by reach avoids
    padding (slots are unused only at sentence ends).

    Args:
        token_ids, sentence_ids: (N,) the corpus (:func:`encode_corpus`).
        keep: (V,) keep probabilities (:func:`keep_probs`).
        table: the noise table (:func:`noise_table`), ids < V.
        config: the settings (window, negatives, batch_pairs).
        generator: a CPU generator.

    Returns:
        a list of (contexts (B, 2r), targets (B, 1+K), weights (B, 2r, 1+K)) in training order.
    """
    checks.check_type("config", config, SkipGramConfig, "a SkipGramConfig")
    _check_keep(keep)
    _check_noise_table(table, keep.numel())
    _check_generator(generator)
    ids, sents = subsample(token_ids, sentence_ids, keep, generator)
    reach = torch.randint(1, config.window + 1, (ids.numel(),), generator=generator)  # (N,), as context_windows
    noise_ids = sample_noise(table, (ids.numel(), config.negatives), generator)  # (N, K)
    batches = []
    for r in range(1, config.window + 1):
        rows = torch.nonzero(reach == r).squeeze(1)  # (N_r,) centres of reach r
        contexts, context_mask = _window_slots(ids, sents, rows, r)  # (N_r, 2r)
        targets = torch.cat([ids[rows].unsqueeze(1), noise_ids[rows]], dim=1)  # (N_r, 1+K)
        usable = targets != targets[:, :1]  # (N_r, 1+K): noise equal to the centre is skipped
        usable[:, 0] = True
        weights = (context_mask.unsqueeze(2) & usable.unsqueeze(1)).to(torch.float32)  # (N_r, 2r, 1+K)
        size = max(1, config.batch_pairs // (2 * r))
        for start in range(0, rows.numel(), size):
            end = start + size
            batches.append((contexts[start:end], targets[start:end], weights[start:end]))
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def batch_grads(
    in_w: torch.Tensor,
    out_w: torch.Tensor,
    contexts: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Look up a batch's vectors and return ``(loss, grad_context, grad_target)`` (:func:`sgns_grads`).

    Args:
        in_w: (V, D) input vectors (``in_emb.weight``).
        out_w: (V, D) output vectors (``out_emb.weight``).
        contexts: (B, n) int64 context ids, each < V.
        targets: (B, 1 + K) int64 centre id then K noise ids, each < V.
        weights: (B, n, 1 + K) weight of each score, of the tables' dtype.
    """
    _check_step(in_w, out_w, contexts, targets, weights)
    return _batch_grads(in_w, out_w, contexts, targets, weights)


def _batch_grads(
    in_w: torch.Tensor, out_w: torch.Tensor, contexts: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`batch_grads` after its checks (``_check_step``: the tables, the ids and the weights)."""
    b, n = contexts.shape
    d = in_w.shape[1]
    context_vecs = in_w.index_select(0, contexts.reshape(-1)).view(b, n, d)  # (B*n,) -> (B, n, D)
    target_vecs = out_w.index_select(0, targets.reshape(-1)).view(b, targets.shape[1], d)  # -> (B, 1+K, D)
    return _sgns_grads(context_vecs, target_vecs, weights)


def _step_updates(
    in_w: torch.Tensor, out_w: torch.Tensor, contexts: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
    lr: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The loss and the SGD updates ``-lr * grad`` of a batch: :func:`_sgns_grads` with lr folded into ``g``.

    Scaling ``g`` (B, n, 1+K) by ``-lr`` before the two products costs one small multiply instead of
    two (B, ., D) ones, and the updates can then be added with ``scatter_add_``, which has no alpha.
    """
    b, n = contexts.shape
    d = in_w.shape[1]
    context_vecs = in_w.index_select(0, contexts.reshape(-1)).view(b, n, d)  # (B*n,) -> (B, n, D)
    target_vecs = out_w.index_select(0, targets.reshape(-1)).view(b, targets.shape[1], d)  # -> (B, 1+K, D)
    scores = torch.bmm(context_vecs, target_vecs.transpose(1, 2))  # (B, n, 1+K)
    g = torch.sigmoid(scores).mul_(weights)  # (B, n, 1+K)
    g[..., 0] -= weights[..., 0]  # sigmoid(s) - 1 for the true centre word
    scores[..., 0].neg_()  # -log sigmoid(s_0) = softplus(-s_0), -log sigmoid(-s_k) = softplus(s_k)
    loss = (weights * F.softplus(scores)).sum()
    g.mul_(-lr)
    update_context = torch.bmm(g, target_vecs)  # (B, n, 1+K) @ (B, 1+K, D) -> (B, n, D)
    update_target = torch.bmm(g.transpose(1, 2), context_vecs)  # (B, 1+K, n) @ (B, n, D) -> (B, 1+K, D)
    return loss, update_context, update_target


def _add_rows(table: torch.Tensor, ids: torch.Tensor, updates: torch.Tensor) -> None:
    """Add each update row into the table row its id names; rows of one id add up.

    ``scatter_add_`` with the ids broadcast over D adds the same sums as ``index_add_``, bit for
    bit: each row's updates in the batch's order, whatever the thread count (a test checks both at
    D = 100). For rows of 16 floats or more PyTorch's CPU kernel takes a sorted path for such an
    index, which is faster than ``index_add_``'s row-by-row loop.
    """
    flat = ids.reshape(-1)  # (M,)
    d = table.shape[1]
    table.scatter_add_(0, flat.unsqueeze(1).expand(flat.numel(), d), updates.reshape(flat.numel(), d))


def sgd_step(
    in_w: torch.Tensor,
    out_w: torch.Tensor,
    contexts: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    lr: float,
) -> torch.Tensor:
    """One SGD step on a batch of windows, in place, with the hand-written gradients; returns the loss.

    Both tables are read before either is written, so the step is the same whatever the order of
    the two updates, and the sums of repeated rows come out in the batch's order.

    Args:
        in_w: (V, D) input vectors, updated in place.
        out_w: (V, D) output vectors, updated in place.
        contexts: (B, n) context ids.
        targets: (B, 1 + K) centre id then K noise ids.
        weights: (B, n, 1 + K) weight of each score.
        lr: the learning rate (> 0).
    """
    _check_step(in_w, out_w, contexts, targets, weights)
    checks.check_float("lr", lr, above=0)
    return _sgd_step(in_w, out_w, contexts, targets, weights, lr)


def _sgd_step(
    in_w: torch.Tensor, out_w: torch.Tensor, contexts: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor,
    lr: float,
) -> torch.Tensor:
    """:func:`sgd_step` without its checks: the training loop's batches are right by construction."""
    loss, update_context, update_target = _step_updates(in_w, out_w, contexts, targets, weights, lr)
    _add_rows(in_w, contexts, update_context)
    _add_rows(out_w, targets, update_target)
    return loss


def train(
    sentences: Iterable[Sequence[str]],
    config: SkipGramConfig = SkipGramConfig(),
    vocab: Vocab | None = None,
    progress: bool = True,
) -> TrainedSkipGram:
    """Train skip-gram with negative sampling by SGD with hand-written gradients, on the CPU.

    Deterministic for a given ``config.seed``: every random number comes from one CPU generator.

    Args:
        sentences: sentences of words.
        config: the settings.
        vocab: the vocabulary to use, made by ``Vocab.build`` (its counts drive subsampling and
            the noise); by default built from ``sentences`` with ``config.min_count``.
        progress: show a tqdm progress bar (it honours ``TQDM_DISABLE``).
    """
    _check_sentences(sentences)
    checks.check_type("config", config, SkipGramConfig, "a SkipGramConfig")
    if vocab is not None:
        checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab or None")
    checks.check_bool("progress", progress)
    sentences = [list(s) for s in sentences]
    if vocab is None:
        vocab = Vocab.build(sentences, min_freq=config.min_count)
    if len(vocab) <= len(SPECIALS):
        raise ValueError(f"no word occurs min_count={config.min_count} times: the vocabulary is empty")
    token_ids, sentence_ids = encode_corpus(sentences, vocab)
    counts = count_vector(vocab)  # (V,)
    keep = keep_probs(counts, config.sample)  # (V,)
    table = noise_table(noise_distribution(counts, config.noise_power))  # (10**7,)
    generator = cpu_generator(config.seed)
    model = SkipGram(len(vocab), config.emb_dim, seed=config.seed)
    in_w = model.in_emb.weight.data  # (V, D), updated in place
    out_w = model.out_emb.weight.data  # (V, D), updated in place
    result = TrainedSkipGram(vocab, model, config)
    switch = {} if progress else {"disable": True}  # when shown, TQDM_DISABLE=1 can still hide it
    bar = tqdm(total=config.epochs, desc="skip-gram", unit="epoch", **switch)
    with _torch_threads(config.workers):
        for epoch in range(config.epochs):
            loss, pairs, steps = _train_epoch(
                epoch, (in_w, out_w), (token_ids, sentence_ids), keep, table, config, generator
            )
            result.epoch_losses.append(loss)
            result.pairs_per_epoch.append(pairs)
            result.steps_per_epoch.append(steps)
            bar.set_postfix(loss=f"{result.epoch_losses[-1]:.3f}")
            bar.update(1)
    bar.close()
    return result


def _train_epoch(
    epoch: int,
    tables: tuple[torch.Tensor, torch.Tensor],
    corpus: tuple[torch.Tensor, torch.Tensor],
    keep: torch.Tensor,
    noise: torch.Tensor,
    config: SkipGramConfig,
    generator: torch.Generator,
) -> tuple[float, int, int]:
    """One pass over the corpus; returns (mean loss per pair, pairs seen, SGD steps)."""
    in_w, out_w = tables
    batches = epoch_batches(corpus[0], corpus[1], keep, noise, config, generator)
    loss_sum = torch.zeros((), dtype=torch.float64)
    pairs = 0
    for step, (contexts, targets, weights) in enumerate(batches):
        done = (epoch + step / len(batches)) / config.epochs  # share of training done
        lr = config.lr - (config.lr - config.min_lr) * done
        loss_sum += _sgd_step(in_w, out_w, contexts, targets, weights, lr)
        pairs += int(weights[..., 0].sum())
    return float(loss_sum) / max(pairs, 1), pairs, len(batches)


@contextmanager
def _torch_threads(workers: int) -> Iterator[None]:
    """Let torch's own (intra-op) threads number ``workers`` while training, then restore the count.

    Each step's products and row additions are split by torch over its threads; the results do not
    depend on the count (each window's products and each row's sums are done by one thread, in
    order). Those threads wait for each other after every op, and they spin while they wait: on a
    machine whose cores are busy with other work, ``workers=1`` is faster.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(workers)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
