"""Semantic search: sentence vectors from a pretrained encoder, exact cosine search, and its scores.

Shape legend: see :mod:`embedlab`; here Q is the number of queries, M the passages of the
collection searched, S the texts of one call (queries or passages) and k the results kept per query.

* :func:`embed_sentences`: texts -> unit vectors (S, D), with the poolings of
  :func:`embedlab.pooling.sentence_embedding`, in batches sorted by length, position ids counted
  over the real tokens (so left and right padding give the same vectors).
* :func:`cosine_scores` and :func:`search`: exact search is one matrix product of unit vectors.
* :func:`first_relevant_rank`, :func:`recall_at_k`, :func:`reciprocal_rank`,
  :func:`label_precision_at_k`: one number per query, so two methods can be compared query by
  query with :func:`paired_bootstrap`.
* :func:`power_law_exponent`: the slope of log time against log size.
* :func:`load_search_set`: passages and queries with their relevant passages, from two TSV files.

Ranks count ties against the method: a relevant passage whose score equals a non-relevant one is
ranked after it. A method that gives every passage the same score (BM25 for a query that shares no
word with the collection) therefore ranks the relevant passage last, not first.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from embedlab import checks
from embedlab.pooling import SENTENCE_POOLINGS, sentence_embedding


def position_ids(padding_mask: torch.Tensor) -> torch.Tensor:
    """Positions 0, 1, 2, ... counted over the real tokens of each row, whatever side the padding is on.

    A BERT numbers the positions of a row 0..T-1 unless told otherwise, so under left padding its
    first real token would get the position of the first padding slot. Passing these ids instead
    gives every real token the position it has in the unpadded sentence. Padding gets 0.

    Args:
        padding_mask: (B, T) bool, True at padding.

    Returns:
        (B, T) int64.
    """
    checks.check_tensor("padding_mask", padding_mask, dim=2, dtype=torch.bool, shape_text="(B, T)")
    real = (~padding_mask).long()  # (B, T)
    return (real.cumsum(dim=1) - 1).clamp(min=0) * real  # (B, T)


def _check_model(tokenizer: object, model: object) -> None:
    if not callable(tokenizer):
        raise TypeError(f"tokenizer must be a transformers tokenizer, got {checks.describe(tokenizer)}")
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise TypeError(f"model must be a transformers model (an nn.Module with .config), got {checks.describe(model)}")


def embed_sentences(
    tokenizer,
    model,
    texts: Sequence[str],
    poolings: Sequence[str] = ("mean",),
    batch_size: int = 32,
    max_len: int = 128,
    padding_side: str = "right",
    normalize: bool = True,
) -> dict[str, torch.Tensor]:
    """Sentence vectors of ``texts``: the model's last hidden states, pooled and (by default) normalised.

    The texts are encoded in batches of similar length (sorted, so little padding is computed) and
    returned in their own order. Every pooling comes from the same forward pass.

    Args:
        tokenizer: a ``transformers`` tokenizer (e.g. from :func:`embedlab.pretrained.load_minilm`).
        model: a ``transformers`` encoder returning ``last_hidden_state`` (on any device).
        texts: S strings.
        poolings: names from :data:`embedlab.pooling.SENTENCE_POOLINGS`.
        batch_size: texts per forward pass.
        max_len: WordPiece tokens kept per text, [CLS] and [SEP] included (longer texts are cut).
        padding_side: ``"right"`` or ``"left"``; the vectors do not depend on it.
        normalize: scale each vector to length 1.

    Returns:
        pooling name -> (S, D) float32 on the CPU.
    """
    _check_model(tokenizer, model)
    checks.check_str_list("texts", texts, non_empty=True)
    checks.check_str_list("poolings", poolings, non_empty=True)
    for name in poolings:
        checks.check_choice("poolings", name, SENTENCE_POOLINGS)
    checks.check_int("batch_size", batch_size, at_least=1)
    checks.check_int("max_len", max_len, at_least=2)
    checks.check_choice("padding_side", padding_side, ("right", "left"))
    checks.check_bool("normalize", normalize)
    dev = next(model.parameters()).device
    lengths = [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_len)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
    out = {name: [None] * len(texts) for name in poolings}
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            encoded = tokenizer(
                [texts[i] for i in chunk], truncation=True, max_length=max_len, padding="longest",
                padding_side=padding_side, return_tensors="pt",
            )
            padding_mask = (encoded["attention_mask"] == 0).to(dev)  # (B, T), True at padding
            hidden = model(
                input_ids=encoded["input_ids"].to(dev),
                attention_mask=(~padding_mask).long(),
                position_ids=position_ids(padding_mask),
            ).last_hidden_state  # (B, T, D)
            for name in poolings:
                vectors = sentence_embedding(hidden, padding_mask, name, normalize).float().cpu()  # (B, D)
                for row, i in enumerate(chunk):
                    out[name][i] = vectors[row]
    return {name: torch.stack(rows) for name, rows in out.items()}  # (S, D) each


def _check_vectors(name: str, value: object, shape_text: str) -> torch.Tensor:
    return checks.check_tensor(name, value, dim=2, floating=True, shape_text=shape_text)


def cosine_scores(queries: torch.Tensor, passages: torch.Tensor, unit_passages: bool = False) -> torch.Tensor:
    """The cosine of every query with every passage: unit rows, then one matrix product.

    Args:
        queries: (Q, D).
        passages: (M, D), the same D and dtype.
        unit_passages: the passages are unit vectors already (as :func:`embed_sentences` returns
            them), so they are not normalised again: a collection is normalised once, when it is
            built, not at every search.

    Returns:
        (Q, M); a zero row scores 0 with everything.
    """
    _check_vectors("queries", queries, "(Q, D)")
    _check_vectors("passages", passages, "(M, D)")
    if passages.shape[1] != queries.shape[1] or passages.dtype != queries.dtype:
        raise ValueError(
            f"passages must have shape (M, {queries.shape[1]}) and dtype {queries.dtype} like queries, "
            f"got {tuple(passages.shape)} and {passages.dtype}"
        )
    checks.check_same_device("passages", passages, "queries", queries)
    checks.check_bool("unit_passages", unit_passages)
    if not unit_passages:
        passages = F.normalize(passages, dim=1)  # (M, D)
    return F.normalize(queries, dim=1) @ passages.T  # (Q, D) @ (D, M) -> (Q, M)


def search(
    queries: torch.Tensor, passages: torch.Tensor, k: int = 10, unit_passages: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact cosine search: the k passages with the highest cosine for each query, best first.

    Args:
        queries: (Q, D).
        passages: (M, D).
        k: results per query, 1 <= k <= M.
        unit_passages: the passages are unit vectors already (see :func:`cosine_scores`).

    Returns:
        scores: (Q, k) cosines, decreasing along each row.
        indices: (Q, k) int64 rows of ``passages``.
    """
    checks.check_tensor("passages", passages, dim=2, floating=True, shape_text="(M, D)")
    checks.check_int("k", k, at_least=1, at_most=passages.shape[0])
    scores = cosine_scores(queries, passages, unit_passages)  # (Q, M)
    return scores.topk(k, dim=1)  # (Q, k), (Q, k)


def _check_scores_and_relevant(scores: object, relevant: object) -> None:
    checks.check_tensor("scores", scores, dim=2, floating=True, shape_text="(Q, M)")
    checks.check_tensor("relevant", relevant, shape=tuple(scores.shape), dtype=torch.bool, shape_text="(Q, M)")
    if scores.device.type == "cpu":
        checks.check_finite("scores", scores)
    if not bool(relevant.any(dim=1).all()):
        missing = int((~relevant.any(dim=1)).nonzero()[0])
        raise ValueError(f"relevant must mark at least one passage per query; query {missing} has none")


def _relevant_ranks(scores: torch.Tensor, relevant: torch.Tensor) -> list[torch.Tensor]:
    """For each query, the 1-based rank of each of its relevant passages (ties count against it)."""
    ranks = []
    for s, rel in zip(scores, relevant):  # (M,), (M,)
        r = s[rel]  # (R,) scores of the relevant passages
        higher = (s.unsqueeze(0) > r.unsqueeze(1)).sum(dim=1)  # (R, M) -> (R,)
        tied = ((s.unsqueeze(0) == r.unsqueeze(1)) & ~rel.unsqueeze(0)).sum(dim=1)  # (R,)
        ranks.append(1 + higher + tied)  # (R,)
    return ranks


def first_relevant_rank(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """The rank (1 = best) of each query's best-placed relevant passage.

    Args:
        scores: (Q, M) a method's score of every passage for every query (higher = better).
        relevant: (Q, M) bool, True where the passage answers the query (>= 1 per query).

    Returns:
        (Q,) int64.
    """
    _check_scores_and_relevant(scores, relevant)
    return torch.stack([r.min() for r in _relevant_ranks(scores, relevant)])  # (Q,)


def recall_at_k(scores: torch.Tensor, relevant: torch.Tensor, k: int) -> torch.Tensor:
    """Per query, the share of its relevant passages that rank in the top k.

    Args:
        scores: (Q, M).
        relevant: (Q, M) bool, >= 1 True per row.
        k: the cut-off, >= 1.

    Returns:
        (Q,) float64 in [0, 1]; its mean is Recall@k.
    """
    _check_scores_and_relevant(scores, relevant)
    checks.check_int("k", k, at_least=1)
    return torch.stack([(r <= k).double().mean() for r in _relevant_ranks(scores, relevant)])  # (Q,)


def reciprocal_rank(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Per query, 1 / the rank of its best-placed relevant passage; its mean is the MRR.

    Args:
        scores: (Q, M).
        relevant: (Q, M) bool, >= 1 True per row.

    Returns:
        (Q,) float64 in (0, 1].
    """
    return 1.0 / first_relevant_rank(scores, relevant).double()  # (Q,)


def label_precision_at_k(
    scores: torch.Tensor, query_labels: torch.Tensor, passage_labels: torch.Tensor, k: int
) -> torch.Tensor:
    """Per query, the share of its top-k passages that carry the query's label.

    Args:
        scores: (Q, M).
        query_labels: (Q,) int64.
        passage_labels: (M,) int64.
        k: 1 <= k <= M.

    Returns:
        (Q,) float64 in [0, 1].
    """
    checks.check_tensor("scores", scores, dim=2, floating=True, shape_text="(Q, M)")
    checks.check_labels("query_labels", query_labels, size=scores.shape[0])
    checks.check_labels("passage_labels", passage_labels, size=scores.shape[1])
    checks.check_int("k", k, at_least=1, at_most=scores.shape[1])
    top = scores.topk(k, dim=1).indices  # (Q, k)
    same = passage_labels.to(top.device)[top] == query_labels.to(top.device).unsqueeze(1)  # (Q, k)
    return same.double().mean(dim=1).cpu()  # (Q,)


@dataclass(frozen=True)
class Interval:
    """A paired difference and its bootstrap interval."""

    estimate: float  # mean of a - b over the items
    low: float  # lower end of the interval
    high: float  # upper end of the interval
    level: float  # e.g. 0.95
    resamples: int  # bootstrap resamples drawn

    def __post_init__(self) -> None:
        for name in ("estimate", "low", "high"):
            checks.check_float(name, getattr(self, name))
        checks.check_float("level", self.level, above=0, below=1)
        checks.check_int("resamples", self.resamples, at_least=1)

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: object, b: object, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """Percentile interval of mean(a) - mean(b), resampling the items (queries) with replacement.

    Both methods are scored on the same resampled items, so what varies between the items
    (easy and hard queries) cancels out of the difference.

    Args:
        a: per-item scores of method a, e.g. :func:`reciprocal_rank` (Q numbers).
        b: the same items scored by method b (Q numbers).
        resamples: bootstrap resamples, >= 100.
        seed: seed of NumPy's generator that draws them.
        level: the interval's coverage, in (0, 1).
    """
    a = checks.check_numbers("a", a, dim=1)
    b = checks.check_numbers("b", b, dim=1)
    if a.shape != b.shape:
        raise ValueError(f"b must have {a.shape[0]} items like a (paired), got {b.shape[0]}")
    checks.check_int("resamples", resamples, at_least=100)
    checks.check_seed("seed", seed)
    checks.check_float("level", level, above=0, below=1)
    diff = a - b  # (Q,)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, diff.shape[0], size=(resamples, diff.shape[0]))  # (resamples, Q)
    means = diff[draws].mean(axis=1)  # (resamples,)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float(diff.mean()), float(low), float(high), level, resamples)


def power_law_exponent(sizes: object, seconds: object) -> float:
    """The slope b of the least-squares line log(seconds) = a + b log(sizes): time grows like size^b.

    Args:
        sizes: >= 2 distinct positive sizes.
        seconds: the time measured at each size, positive.
    """
    sizes = checks.check_numbers("sizes", sizes, dim=1)
    seconds = checks.check_numbers("seconds", seconds, dim=1)
    if sizes.shape != seconds.shape:
        raise ValueError(f"seconds must have one entry per size ({sizes.shape[0]}), got {seconds.shape[0]}")
    if (sizes <= 0).any() or (seconds <= 0).any():
        raise ValueError("sizes and seconds must be positive (their logarithms are fitted)")
    if np.unique(sizes).size < 2:
        raise ValueError(f"sizes must hold at least 2 distinct values, got {np.unique(sizes).tolist()}")
    slope, _ = np.polyfit(np.log(sizes), np.log(seconds), deg=1)
    return float(slope)


@dataclass(frozen=True)
class SearchSet:
    """A passage collection and queries with their relevant passages (see :func:`load_search_set`)."""

    passage_ids: tuple[str, ...]  # M ids, distinct
    passages: tuple[str, ...]  # M texts
    sections: tuple[str, ...]  # M section titles (where each passage comes from)
    query_ids: tuple[str, ...]  # Q ids
    queries: tuple[str, ...]  # Q texts
    kinds: tuple[str, ...]  # Q labels given when the query was written (e.g. "words", "paraphrase")
    relevant: torch.Tensor  # (Q, M) bool, True where the passage answers the query

    def __post_init__(self) -> None:
        for name in ("passage_ids", "passages", "sections", "query_ids", "queries", "kinds"):
            checks.check_type(name, getattr(self, name), tuple, "a tuple of str")
            checks.check_str_list(name, getattr(self, name))
        shape = (len(self.queries), len(self.passages))
        checks.check_tensor("relevant", self.relevant, shape=shape, dtype=torch.bool, shape_text="(Q, M)")


def _read_tsv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: no column {missing[0]!r} (columns: {reader.fieldnames})")
        return list(reader)


def load_search_set(passages_path: str | Path, queries_path: str | Path) -> SearchSet:
    """Read a passage collection (``id, section, text``) and its queries (``query_id, query, relevant, kind``).

    ``relevant`` is a comma-separated list of passage ids. Both files are tab-separated UTF-8 with
    a header line.

    Args:
        passages_path: the passages file (e.g. ``benchmarks/data/en_book_passages.tsv``).
        queries_path: the queries file (e.g. ``benchmarks/data/en_book_queries.tsv``).

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file is not such a table, an id repeats, or a query names an unknown passage.
    """
    passages_path = checks.check_file("passages_path", passages_path)
    queries_path = checks.check_file("queries_path", queries_path)
    with checks.reading(passages_path, "a UTF-8 TSV file with columns id, section, text"):
        rows = _read_tsv(passages_path, ("id", "section", "text"))
    with checks.reading(queries_path, "a UTF-8 TSV file with columns query_id, query, relevant, kind"):
        qrows = _read_tsv(queries_path, ("query_id", "query", "relevant", "kind"))
    column = {r["id"]: m for m, r in enumerate(rows)}
    if len(column) != len(rows):
        raise ValueError(f"{passages_path.name}: a passage id appears twice")
    relevant = torch.zeros(len(qrows), len(rows), dtype=torch.bool)  # (Q, M)
    for q, r in enumerate(qrows):
        for pid in r["relevant"].split(","):
            if pid.strip() not in column:
                raise ValueError(f"{queries_path.name}: query {r['query_id']} names passage {pid!r}, which does not exist")
            relevant[q, column[pid.strip()]] = True
    return SearchSet(
        tuple(r["id"] for r in rows), tuple(r["text"] for r in rows), tuple(r["section"] for r in rows),
        tuple(r["query_id"] for r in qrows), tuple(r["query"] for r in qrows), tuple(r["kind"] for r in qrows),
        relevant,
    )
