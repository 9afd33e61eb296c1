"""Skip-gram with negative sampling (word2vec), written out in PyTorch, and tools to inspect it.

Shape legend: B batch of windows, n context slots of a window, K noise words, V vocabulary,
D embedding, N tokens of the corpus.

The model follows word2vec's own code (and gensim's): every *context* word ``o`` of a window
looks up its input vector ``v_o`` (a row of ``in_emb``, the vectors we keep), the window's *centre*
word ``c`` and K noise words look up output vectors ``u`` (rows of ``out_emb``), and

    loss(o, c) = -log sigmoid(u_c . v_o) - sum_k log sigmoid(-u_k . v_o).

The K noise words are drawn once per window and shared by its context words (Ji et al., 2016),
which turns the many dot products of a window into one small matrix product. Gradients are
written by hand (:func:`sgns_grads`) and applied as plain SGD with a linearly decaying learning
rate; the tests check them against autograd.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from embedlab import corpora
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
    workers: int = 2  # CPU threads: each step's two halves, then the two tables, are done in parallel
    seed: int = 0  # seeds initialisation, subsampling, windows, noise and batch order

    def __post_init__(self) -> None:
        for name in ("emb_dim", "window", "negatives", "min_count", "epochs", "batch_pairs", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if self.workers > 2:
            raise ValueError(f"workers must be 1 or 2, got {self.workers!r}")
        if not 0 < self.sample:
            raise ValueError(f"sample must be > 0, got {self.sample!r}")
        if not 0 < self.noise_power:
            raise ValueError(f"noise_power must be > 0, got {self.noise_power!r}")
        if not 0 < self.min_lr <= self.lr:
            raise ValueError(f"need 0 < min_lr <= lr, got min_lr={self.min_lr!r}, lr={self.lr!r}")


# ---------------------------------------------------------------------------------------------
# The corpus as ids


def training_corpus(drop_punctuation: bool = True) -> list[list[str]]:
    """People's Daily 1998-01 as sentences of words, punctuation (tag ``w``) dropped by default."""
    return [
        [word for word, tag in sentence if not (drop_punctuation and tag == "w")]
        for sentence in corpora.people_daily()
    ]


def encode_corpus(sentences: Iterable[Sequence[str]], vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """The corpus as one row of ids, words outside the vocabulary dropped (as word2vec does).

    Returns:
        token_ids: (N,) int64 ids of the kept words, sentence after sentence.
        sentence_ids: (N,) int64, which sentence each word came from.
    """
    ids: list[int] = []
    sentence_of: list[int] = []
    for s, sentence in enumerate(sentences):
        if isinstance(sentence, str):
            raise TypeError(f"sentences[{s}] must be a sequence of words, got a str")
        for word in sentence:
            i = vocab.stoi.get(word)
            if i is not None and word not in SPECIALS:
                ids.append(i)
                sentence_of.append(s)
    if not ids:
        raise ValueError("no word of sentences is in the vocabulary: nothing to train on")
    return torch.tensor(ids, dtype=torch.long), torch.tensor(sentence_of, dtype=torch.long)


def count_vector(vocab: Vocab) -> torch.Tensor:
    """(V,) float64 corpus counts in id order; the specials count 0."""
    return torch.tensor([float(vocab.counts.get(t, 0)) for t in vocab.itos], dtype=torch.float64)


def keep_probs(counts: torch.Tensor, sample: float) -> torch.Tensor:
    """Probability of keeping each word when subsampling, word2vec's formula.

    With ``f`` the word's share of the corpus, ``keep = (sqrt(f / t) + 1) * t / f``, capped at 1.

    Args:
        counts: (V,) corpus counts (zeros allowed: they get keep probability 1).
        sample: the threshold ``t`` (> 0).
    """
    _check_counts(counts)
    if not sample > 0:
        raise ValueError(f"sample must be > 0, got {sample!r}")
    counts = counts.to(torch.float64)
    threshold = sample * counts.sum()
    ratio = threshold / counts.clamp_min(1e-300)  # (V,)
    keep = (torch.sqrt(1.0 / ratio) + 1.0) * ratio  # (V,)
    return torch.where(counts > 0, keep.clamp(max=1.0), torch.ones_like(keep))


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """Noise probabilities ``count ** power / sum`` (V,) float64; zero counts get zero probability."""
    _check_counts(counts)
    if counts.sum() <= 0:
        raise ValueError("counts must have at least one positive entry, got all zeros")
    weights = counts.to(torch.float64) ** power  # (V,)
    weights = torch.where(counts > 0, weights, torch.zeros_like(weights))
    return weights / weights.sum()


def noise_table(noise: torch.Tensor, size: int = 10_000_000) -> torch.Tensor:
    """word2vec's unigram table: ``size`` ids, each word filling a share of slots equal to its probability.

    Drawing a uniform slot of the table draws a word from ``noise`` (to within 1 / size).

    Args:
        noise: (V,) probabilities.
        size: number of slots.
    """
    if not isinstance(noise, torch.Tensor):
        raise TypeError(f"noise must be a torch.Tensor, got {type(noise).__name__}")
    if noise.dim() != 1 or (noise < 0).any() or not math.isclose(float(noise.sum()), 1.0, rel_tol=1e-6):
        raise ValueError("noise must be a 1-D tensor of non-negative probabilities summing to 1")
    if isinstance(size, bool) or not isinstance(size, int) or size < noise.numel():
        raise ValueError(f"size must be an int >= len(noise) = {noise.numel()}, got {size!r}")
    ends = torch.round(torch.cumsum(noise, dim=0) * size).to(torch.long)  # (V,)
    slots = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long))  # (V,) slots per word
    word_ids = torch.arange(noise.numel(), dtype=torch.int32)  # int32: half the memory of int64
    return torch.repeat_interleave(word_ids, slots)  # (size,)


def sample_noise(table: torch.Tensor, shape: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    """Draw noise ids (int64) of ``shape`` from a :func:`noise_table` with uniform slots."""
    slots = torch.randint(0, table.numel(), tuple(shape), generator=generator)
    return table[slots].long()


def subsample(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    keep: torch.Tensor,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each running word with probability ``1 - keep[word]``; returns the kept (ids, sentence ids)."""
    _check_corpus(token_ids, sentence_ids)
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
    if isinstance(reach, bool) or not isinstance(reach, int) or reach < 1:
        raise ValueError(f"reach must be an int >= 1, got {reach!r}")
    if centres.dim() != 1:
        raise ValueError(f"centres must be 1-D (R,), got shape {tuple(centres.shape)}")
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
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an int >= 1, got {window!r}")
    n = token_ids.numel()
    reach = torch.randint(1, window + 1, (n,), generator=generator)  # (N,)
    contexts, context_mask = window_slots(token_ids, sentence_ids, torch.arange(n), window)  # (N, 2W)
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)])  # (2W,)
    near_enough = offsets.abs() <= reach.unsqueeze(1)  # (N, 2W)
    return token_ids, contexts, context_mask & near_enough, reach


def _check_corpus(token_ids: torch.Tensor, sentence_ids: torch.Tensor) -> None:
    if token_ids.shape != sentence_ids.shape or token_ids.dim() != 1:
        raise ValueError(
            f"token_ids and sentence_ids must be 1-D of one shape, got {tuple(token_ids.shape)} "
            f"and {tuple(sentence_ids.shape)}"
        )


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

    Returns:
        loss: () the summed loss.
        grad_context: (B, n, D).
        grad_target: (B, 1 + K, D).
    """
    _check_batch(context_vecs, target_vecs, weights)
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


def _check_batch(context_vecs: torch.Tensor, target_vecs: torch.Tensor, weights: torch.Tensor) -> None:
    if context_vecs.dim() != 3 or target_vecs.dim() != 3:
        raise ValueError(
            f"context_vecs and target_vecs must be 3-D (B, n, D) and (B, 1+K, D), got "
            f"{tuple(context_vecs.shape)} and {tuple(target_vecs.shape)}"
        )
    b, n, d = context_vecs.shape
    if target_vecs.shape[0] != b or target_vecs.shape[2] != d or target_vecs.shape[1] < 2:
        raise ValueError(
            f"target_vecs must be (B={b}, 1+K >= 2, D={d}), got {tuple(target_vecs.shape)}"
        )
    if weights.shape != (b, n, target_vecs.shape[1]):
        raise ValueError(
            f"weights must be (B, n, 1+K) = {(b, n, target_vecs.shape[1])}, got {tuple(weights.shape)}"
        )


def _check_counts(counts: torch.Tensor) -> None:
    if not isinstance(counts, torch.Tensor):
        raise TypeError(f"counts must be a torch.Tensor, got {type(counts).__name__}")
    if counts.dim() != 1 or counts.numel() == 0:
        raise ValueError(f"counts must be a non-empty 1-D tensor, got shape {tuple(counts.shape)}")
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")


# ---------------------------------------------------------------------------------------------
# The model and its training loop


class SkipGram(nn.Module):
    """Two embedding tables: ``in_emb`` (the word vectors we keep) and ``out_emb`` (for targets)."""

    def __init__(self, vocab_size: int, emb_dim: int, seed: int = 0):
        """word2vec's start: ``in_emb`` uniform in +-0.5/D (drawn on a CPU generator), ``out_emb`` zero."""
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("emb_dim", emb_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        generator = torch.Generator().manual_seed(seed)
        start = (torch.rand(vocab_size, emb_dim, generator=generator) - 0.5) / emb_dim  # (V, D)
        self.in_emb = nn.Embedding(vocab_size, emb_dim, _weight=start)
        self.out_emb = nn.Embedding(vocab_size, emb_dim, _weight=torch.zeros(vocab_size, emb_dim))

    def forward(self, contexts: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Summed loss of a batch.

        Args:
            contexts: (B, n) context ids.
            targets: (B, 1 + K) centre id then K noise ids.
            weights: (B, n, 1 + K) weight of each score.
        """
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
        table: the noise table (:func:`noise_table`).

    Returns:
        a list of (contexts (B, 2r), targets (B, 1+K), weights (B, 2r, 1+K)) in training order.
    """
    ids, sents = subsample(token_ids, sentence_ids, keep, generator)
    reach = torch.randint(1, config.window + 1, (ids.numel(),), generator=generator)  # (N,), as context_windows
    noise_ids = sample_noise(table, (ids.numel(), config.negatives), generator)  # (N, K)
    batches = []
    for r in range(1, config.window + 1):
        rows = torch.nonzero(reach == r).squeeze(1)  # (N_r,) centres of reach r
        contexts, context_mask = window_slots(ids, sents, rows, r)  # (N_r, 2r)
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
        contexts: (B, n) context ids.
        targets: (B, 1 + K) centre id then K noise ids.
        weights: (B, n, 1 + K) weight of each score.
    """
    b, n = contexts.shape
    d = in_w.shape[1]
    context_vecs = in_w.index_select(0, contexts.reshape(-1)).view(b, n, d)  # (B*n,) -> (B, n, D)
    target_vecs = out_w.index_select(0, targets.reshape(-1)).view(b, targets.shape[1], d)  # -> (B, 1+K, D)
    return sgns_grads(context_vecs, target_vecs, weights)


def _add_rows(table: torch.Tensor, ids: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], lr: float) -> None:
    for row_ids, grad in zip(ids, grads):
        table.index_add_(0, row_ids.reshape(-1), grad.reshape(row_ids.numel(), -1), alpha=-lr)  # rows add up


def sgd_step(
    in_w: torch.Tensor,
    out_w: torch.Tensor,
    contexts: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    lr: float,
    pool: ThreadPoolExecutor | None = None,
) -> torch.Tensor:
    """One SGD step on a batch of windows, in place, with the hand-written gradients; returns the loss.

    With a thread ``pool``, the two halves of the batch are computed in parallel (both read the
    same vectors), then ``in_w`` and ``out_w`` are updated in parallel. No two threads ever write
    the same tensor, so the result does not depend on thread timing.

    Args:
        in_w: (V, D) input vectors, updated in place.
        out_w: (V, D) output vectors, updated in place.
        contexts: (B, n) context ids.
        targets: (B, 1 + K) centre id then K noise ids.
        weights: (B, n, 1 + K) weight of each score.
        lr: the learning rate.
        pool: an executor with at least one thread, or None to do everything in this thread.
    """
    if pool is None or contexts.shape[0] < 2:
        loss, grad_context, grad_target = batch_grads(in_w, out_w, contexts, targets, weights)
        _add_rows(in_w, [contexts], [grad_context], lr)
        _add_rows(out_w, [targets], [grad_target], lr)
        return loss
    half = (contexts.shape[0] + 1) // 2
    second = pool.submit(batch_grads, in_w, out_w, contexts[half:], targets[half:], weights[half:])
    loss1, grad_context1, grad_target1 = batch_grads(in_w, out_w, contexts[:half], targets[:half], weights[:half])
    loss2, grad_context2, grad_target2 = second.result()
    done = pool.submit(_add_rows, in_w, [contexts[:half], contexts[half:]], [grad_context1, grad_context2], lr)
    _add_rows(out_w, [targets[:half], targets[half:]], [grad_target1, grad_target2], lr)
    done.result()
    return loss1 + loss2


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
    if not isinstance(config, SkipGramConfig):
        raise TypeError(f"config must be a SkipGramConfig, got {type(config).__name__}")
    sentences = [list(s) for s in sentences]
    if vocab is None:
        vocab = Vocab.build(sentences, min_freq=config.min_count)
    if len(vocab) <= len(SPECIALS):
        raise ValueError(f"no word occurs min_count={config.min_count} times: the vocabulary is empty")
    token_ids, sentence_ids = encode_corpus(sentences, vocab)
    counts = count_vector(vocab)  # (V,)
    keep = keep_probs(counts, config.sample)  # (V,)
    table = noise_table(noise_distribution(counts, config.noise_power))  # (10**7,)
    generator = torch.Generator().manual_seed(config.seed)
    model = SkipGram(len(vocab), config.emb_dim, seed=config.seed)
    in_w = model.in_emb.weight.data  # (V, D), updated in place
    out_w = model.out_emb.weight.data  # (V, D), updated in place
    result = TrainedSkipGram(vocab, model, config)
    switch = {} if progress else {"disable": True}  # when shown, TQDM_DISABLE=1 can still hide it
    bar = tqdm(total=config.epochs, desc="skip-gram", unit="epoch", **switch)
    with _own_threads(config.workers) as pool:
        for epoch in range(config.epochs):
            loss, pairs = _train_epoch(
                epoch, (in_w, out_w), (token_ids, sentence_ids), keep, table, config, generator, pool
            )
            result.epoch_losses.append(loss)
            result.pairs_per_epoch.append(pairs)
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
    pool: ThreadPoolExecutor | None,
) -> tuple[float, int]:
    """One pass over the corpus; returns (mean loss per pair, pairs seen)."""
    in_w, out_w = tables
    batches = epoch_batches(corpus[0], corpus[1], keep, noise, config, generator)
    loss_sum = torch.zeros((), dtype=torch.float64)
    pairs = 0
    for step, (contexts, targets, weights) in enumerate(batches):
        done = (epoch + step / len(batches)) / config.epochs  # share of training done
        lr = config.lr - (config.lr - config.min_lr) * done
        loss_sum += sgd_step(in_w, out_w, contexts, targets, weights, lr, pool)
        pairs += int(weights[..., 0].sum())
    return float(loss_sum) / max(pairs, 1), pairs


@contextmanager
def _own_threads(workers: int) -> Iterator[ThreadPoolExecutor | None]:
    """Run torch ops single-threaded and parallelise by hand with ``workers`` threads.

    PyTorch's own intra-op threads wait for each other after every small op; on a busy machine
    that waiting costs more than the work, so training uses whole-batch threads instead.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(max_workers=1) if workers > 1 else None
    try:
        yield pool
    finally:
        if pool is not None:
            pool.shutdown()
        torch.set_num_threads(previous)


# ---------------------------------------------------------------------------------------------
# What the vectors learned


def normalize_rows(vectors: torch.Tensor) -> torch.Tensor:
    """(V, D) rows scaled to unit length (zero rows stay zero)."""
    if vectors.dim() != 2:
        raise ValueError(f"vectors must be 2-D (V, D), got shape {tuple(vectors.shape)}")
    return F.normalize(vectors.to(torch.float32), dim=1)


def _word_id(vocab: Vocab, word: str, name: str) -> int:
    if not isinstance(word, str):
        raise TypeError(f"{name} must be a str, got {type(word).__name__}")
    if word not in vocab.stoi or word in SPECIALS:
        raise KeyError(f"{name} {word!r} is not in the vocabulary")
    return vocab.stoi[word]


def _top_k(unit: torch.Tensor, query: torch.Tensor, exclude: Iterable[int], k: int) -> list[tuple[int, float]]:
    sims = unit @ query  # (V,)
    sims[list(range(len(SPECIALS)))] = -math.inf
    for i in exclude:
        sims[i] = -math.inf
    values, ids = torch.topk(sims, k)
    return list(zip(ids.tolist(), values.tolist()))


def nearest(vectors: torch.Tensor, vocab: Vocab, word: str, k: int = 8) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (the word itself left out).

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
    """
    unit = normalize_rows(vectors)  # (V, D)
    i = _word_id(vocab, word, "word")
    return [(vocab.itos[j], s) for j, s in _top_k(unit, unit[i], [i], k)]


def analogy(vectors: torch.Tensor, vocab: Vocab, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
    """``a : b :: c : ?`` by 3CosAdd: words nearest to ``b - a + c`` (unit vectors; a, b, c left out)."""
    unit = normalize_rows(vectors)  # (V, D)
    ia, ib, ic = (_word_id(vocab, w, n) for w, n in ((a, "a"), (b, "b"), (c, "c")))
    query = unit[ib] - unit[ia] + unit[ic]  # (D,)
    return [(vocab.itos[j], s) for j, s in _top_k(unit, query, [ia, ib, ic], k)]


def cosine(vectors: torch.Tensor, vocab: Vocab, word1: str, word2: str) -> float:
    """Cosine similarity of two words."""
    unit = normalize_rows(vectors)
    return float(unit[_word_id(vocab, word1, "word1")] @ unit[_word_id(vocab, word2, "word2")])


# ---------------------------------------------------------------------------------------------
# The evaluation set (benchmarks/data/)


@dataclass(frozen=True)
class WordPair:
    """A similarity judgement: two words and a score from 0 (unrelated) to 10 (same meaning)."""

    word1: str
    word2: str
    score: float


@dataclass(frozen=True)
class Analogy:
    """``a : b :: c : d`` within one relation."""

    relation: str
    a: str
    b: str
    c: str
    d: str


def load_word_pairs(path: str | Path) -> list[WordPair]:
    """Read a tab-separated file with columns ``word1, word2, score`` (and more, ignored)."""
    rows = _read_tsv(path, ("word1", "word2", "score"))
    return [WordPair(r["word1"], r["word2"], float(r["score"])) for r in rows]


def load_analogies(path: str | Path) -> list[Analogy]:
    """Read word pairs ``relation, x, y`` (tab-separated) and make every analogy within a relation.

    Each ordered choice of two different pairs ``(x1, y1)``, ``(x2, y2)`` of one relation gives the
    question ``x1 : y1 :: x2 : ?`` with answer ``y2`` (the way the Google and CA8 sets are built).
    """
    rows = _read_tsv(path, ("relation", "x", "y"))
    return analogies_from_pairs([(r["relation"], r["x"], r["y"]) for r in rows])


def analogies_from_pairs(pairs: Sequence[tuple[str, str, str]]) -> list[Analogy]:
    """Every ``x1 : y1 :: x2 : y2`` from ``(relation, x, y)`` pairs of the same relation, in file order."""
    by_relation: dict[str, list[tuple[str, str]]] = {}
    for relation, x, y in pairs:
        by_relation.setdefault(relation, []).append((x, y))
    return [
        Analogy(relation, x1, y1, x2, y2)
        for relation, members in by_relation.items()
        for i, (x1, y1) in enumerate(members)
        for j, (x2, y2) in enumerate(members)
        if i != j
    ]


def _read_tsv(path: str | Path, columns: Sequence[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} must have the columns {list(columns)}, it lacks {missing}")
        return list(reader)


@dataclass(frozen=True)
class Scores:
    """How a set of word vectors does on the evaluation set."""

    spearman: float  # rank correlation of cosine similarity with the judgements
    pairs_used: int  # judgements whose two words are in the vocabulary
    analogy_top1: float  # share of analogies whose best answer is right
    analogy_top5: float  # share whose right answer is among the best five
    analogies_used: int  # analogies whose four words are in the vocabulary
    by_relation: Mapping[str, float]  # top-1 accuracy per relation


def evaluate(vectors: torch.Tensor, vocab: Vocab, pairs: Sequence[WordPair], analogies: Sequence[Analogy]) -> Scores:
    """Spearman correlation on word pairs and analogy accuracy (3CosAdd), items out of vocabulary skipped."""
    from scipy.stats import spearmanr  # scipy ships with scikit-learn; imported here to keep import light

    unit = normalize_rows(vectors)  # (V, D)
    known = [p for p in pairs if _known(vocab, p.word1, p.word2)]
    if len(known) < 2:
        raise ValueError(f"need at least 2 word pairs inside the vocabulary, got {len(known)}")
    ids1 = torch.tensor([vocab.stoi[p.word1] for p in known])
    ids2 = torch.tensor([vocab.stoi[p.word2] for p in known])
    cosines = (unit[ids1] * unit[ids2]).sum(1)  # (P,)
    rho = float(spearmanr(cosines.tolist(), [p.score for p in known]).statistic)
    usable = [q for q in analogies if _known(vocab, q.a, q.b, q.c, q.d)]
    if not usable:
        raise ValueError("no analogy has all four words inside the vocabulary")
    hits1, hits5 = [], []
    per_relation: dict[str, list[bool]] = {}
    for q in usable:
        ia, ib, ic, id_ = (vocab.stoi[w] for w in (q.a, q.b, q.c, q.d))
        best = [j for j, _ in _top_k(unit, unit[ib] - unit[ia] + unit[ic], [ia, ib, ic], 5)]
        hits1.append(best[0] == id_)
        hits5.append(id_ in best)
        per_relation.setdefault(q.relation, []).append(best[0] == id_)
    return Scores(
        spearman=rho,
        pairs_used=len(known),
        analogy_top1=sum(hits1) / len(usable),
        analogy_top5=sum(hits5) / len(usable),
        analogies_used=len(usable),
        by_relation={r: sum(h) / len(h) for r, h in per_relation.items()},
    )


def _known(vocab: Vocab, *words: str) -> bool:
    return all(w in vocab.stoi and w not in SPECIALS for w in words)


def vocab_from_words(words: Sequence[str]) -> Vocab:
    """A :class:`Vocab` whose ids 2.. are ``words`` in the given order (e.g. gensim's ``index_to_key``)."""
    return Vocab(list(SPECIALS) + list(words))
