"""Questions to a table of word vectors: neighbours, analogies, cosines, and a scored evaluation.

Shape legend: see :mod:`embedlab`; Q word pairs.

Any (V, D) table whose row i belongs to ``vocab.itos[i]`` will do: skip-gram's input vectors
(chapter 02), a pretrained matrix aligned to a vocabulary (chapter 04). The rows are compared
after scaling them to unit length, so every score is a cosine similarity. ``<pad>`` and ``<unk>``
are never an answer, and a word outside the vocabulary is a ``ValueError`` naming it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from embedlab import checks
from embedlab.text import SPECIALS, Vocab


def normalize_rows(vectors: torch.Tensor) -> torch.Tensor:
    """(V, D) rows scaled to unit length, as float32 (zero rows stay zero).

    Args:
        vectors: (V, D) floating-point, finite.
    """
    checks.check_tensor("vectors", vectors, dim=2, floating=True, shape_text="(V, D)")
    checks.check_finite("vectors", vectors)
    return F.normalize(vectors.to(torch.float32), dim=1)


def _check_table(vectors: object, vocab: object) -> None:
    """``vectors`` is a (V, D) float table and ``vocab`` the Vocab of its V rows."""
    checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab")
    checks.check_tensor("vectors", vectors, dim=2, floating=True, shape_text="(V, D)")
    if vectors.shape[0] != len(vocab):
        raise ValueError(
            f"vectors must have one row per vocabulary entry, (V, D) = ({len(vocab)}, D), got {tuple(vectors.shape)}"
        )


def _word_id(vocab: Vocab, word: str, name: str) -> int:
    checks.check_str(name, word)
    if word not in vocab.stoi or word in SPECIALS:
        raise ValueError(f"{name} {word!r} is not in the vocabulary ({len(vocab) - len(SPECIALS)} words)")
    return vocab.stoi[word]


def _check_k(k: object, vocab: Vocab, left_out: int) -> int:
    """k in [1, the number of words that can be an answer]."""
    return checks.check_int("k", k, at_least=1, at_most=max(len(vocab) - len(SPECIALS) - left_out, 1))


def _top_k(unit: torch.Tensor, query: torch.Tensor, exclude: Iterable[int], k: int) -> list[tuple[int, float]]:
    sims = unit @ query  # (V, D) @ (D,) -> (V,)
    sims[list(range(len(SPECIALS)))] = -math.inf
    for i in exclude:
        sims[i] = -math.inf
    values, ids = torch.topk(sims, k)
    return list(zip(ids.tolist(), values.tolist()))


def nearest(vectors: torch.Tensor, vocab: Vocab, word: str, k: int = 8) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (the word itself left out).

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        word: a word of the vocabulary.
        k: how many neighbours, at least 1 and at most the number of other words.
    """
    _check_table(vectors, vocab)
    i = _word_id(vocab, word, "word")
    k = _check_k(k, vocab, left_out=1)
    unit = normalize_rows(vectors)  # (V, D)
    return [(vocab.itos[j], s) for j, s in _top_k(unit, unit[i], [i], k)]


def analogy(vectors: torch.Tensor, vocab: Vocab, a: str, b: str, c: str, k: int = 1) -> list[tuple[str, float]]:
    """``a : b :: c : ?`` by 3CosAdd: words nearest to ``b - a + c`` (unit vectors; a, b, c left out).

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        a, b, c: words of the vocabulary.
        k: how many answers, at least 1.
    """
    _check_table(vectors, vocab)
    ia, ib, ic = (_word_id(vocab, w, n) for w, n in ((a, "a"), (b, "b"), (c, "c")))
    k = _check_k(k, vocab, left_out=len({ia, ib, ic}))
    unit = normalize_rows(vectors)  # (V, D)
    query = unit[ib] - unit[ia] + unit[ic]  # (D,)
    return [(vocab.itos[j], s) for j, s in _top_k(unit, query, [ia, ib, ic], k)]


def cosine(vectors: torch.Tensor, vocab: Vocab, word1: str, word2: str) -> float:
    """Cosine similarity of two words.

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        word1, word2: words of the vocabulary.
    """
    _check_table(vectors, vocab)
    i1, i2 = _word_id(vocab, word1, "word1"), _word_id(vocab, word2, "word2")
    unit = normalize_rows(vectors)
    return float(unit[i1] @ unit[i2])


# ---------------------------------------------------------------------------------------------
# The evaluation set (benchmarks/data/)


@dataclass(frozen=True)
class WordPair:
    """A similarity judgement: two words and a score from 0 (unrelated) to 10 (same meaning)."""

    word1: str
    word2: str
    score: float

    def __post_init__(self) -> None:
        checks.check_str("word1", self.word1, non_empty=True)
        checks.check_str("word2", self.word2, non_empty=True)
        checks.check_float("score", self.score)


@dataclass(frozen=True)
class Analogy:
    """``a : b :: c : d`` within one relation."""

    relation: str
    a: str
    b: str
    c: str
    d: str

    def __post_init__(self) -> None:
        checks.check_str("relation", self.relation)
        for name in ("a", "b", "c", "d"):
            checks.check_str(name, getattr(self, name), non_empty=True)


def load_word_pairs(path: str | Path) -> list[WordPair]:
    """Read a tab-separated UTF-8 file with columns ``word1, word2, score`` (and more, ignored).

    Args:
        path: the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not such a table (naming the file).
    """
    path = checks.check_file("path", path)
    columns = ("word1", "word2", "score")
    with checks.reading(path, "a UTF-8 TSV file with columns word1, word2, score"):
        return [WordPair(r["word1"], r["word2"], float(r["score"])) for r in _read_tsv(path, columns)]


def load_analogies(path: str | Path) -> list[Analogy]:
    """Read word pairs ``relation, x, y`` (tab-separated) and make every analogy within a relation.

    Each ordered choice of two different pairs ``(x1, y1)``, ``(x2, y2)`` of one relation gives the
    question ``x1 : y1 :: x2 : ?`` with answer ``y2`` (the way the Google and CA8 sets are built).

    Args:
        path: the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not such a table (naming the file).
    """
    path = checks.check_file("path", path)
    with checks.reading(path, "a UTF-8 TSV file with columns relation, x, y"):
        rows = _read_tsv(path, ("relation", "x", "y"))
        return analogies_from_pairs([(r["relation"], r["x"], r["y"]) for r in rows])


def analogies_from_pairs(pairs: Sequence[tuple[str, str, str]]) -> list[Analogy]:
    """Every ``x1 : y1 :: x2 : y2`` from ``(relation, x, y)`` pairs of the same relation, in file order.

    Args:
        pairs: ``(relation, x, y)`` triples of str.
    """
    checks.check_sequence("pairs", pairs, non_empty=False, what="(relation, x, y) triples")
    for i, triple in enumerate(pairs):
        if isinstance(triple, str) or not isinstance(triple, Sequence) or len(triple) != 3:
            raise TypeError(f"pairs[{i}] must be a (relation, x, y) triple of str, got {checks.describe(triple)}")
        checks.check_str_list(f"pairs[{i}]", triple)
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


def _read_tsv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} must have the columns {list(columns)}, it lacks {missing}")
        rows = list(reader)
    for line_no, row in enumerate(rows, start=2):
        short = [c for c in columns if row[c] is None]
        if short:
            raise ValueError(f"{path}:{line_no}: the row has no field for {short}")
    return rows


@dataclass(frozen=True)
class VectorScores:
    """How a set of word vectors does on the evaluation set."""

    spearman: float  # rank correlation of cosine similarity with the judgements
    pairs_used: int  # judgements whose two words are in the vocabulary
    analogy_top1: float  # share of analogies whose best answer is right
    analogy_top5: float  # share whose right answer is among the best five
    analogies_used: int  # analogies whose four words are in the vocabulary
    by_relation: Mapping[str, float]  # top-1 accuracy per relation

    def __post_init__(self) -> None:
        checks.check_int("pairs_used", self.pairs_used, at_least=0)
        checks.check_int("analogies_used", self.analogies_used, at_least=0)
        checks.check_type("by_relation", self.by_relation, Mapping, "a mapping of relation -> accuracy")


def evaluate(
    vectors: torch.Tensor, vocab: Vocab, pairs: Sequence[WordPair], analogies: Sequence[Analogy]
) -> VectorScores:
    """Spearman correlation on word pairs and analogy accuracy (3CosAdd), items out of vocabulary skipped.

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        pairs: similarity judgements (:func:`load_word_pairs`); at least 2 inside the vocabulary.
        analogies: questions (:func:`load_analogies`); at least 1 inside the vocabulary.
    """
    from scipy.stats import spearmanr  # scipy ships with scikit-learn; imported here to keep import light

    _check_table(vectors, vocab)
    _check_items("pairs", pairs, WordPair)
    _check_items("analogies", analogies, Analogy)
    unit = normalize_rows(vectors)  # (V, D)
    known = [p for p in pairs if _known(vocab, p.word1, p.word2)]
    if len(known) < 2:
        raise ValueError(f"need at least 2 word pairs inside the vocabulary, got {len(known)}")
    ids1 = torch.tensor([vocab.stoi[p.word1] for p in known])
    ids2 = torch.tensor([vocab.stoi[p.word2] for p in known])
    cosines = (unit[ids1] * unit[ids2]).sum(1)  # (Q,)
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
    return VectorScores(
        spearman=rho,
        pairs_used=len(known),
        analogy_top1=sum(hits1) / len(usable),
        analogy_top5=sum(hits5) / len(usable),
        analogies_used=len(usable),
        by_relation={r: sum(h) / len(h) for r, h in per_relation.items()},
    )


def _check_items(name: str, items: object, kind: type) -> None:
    checks.check_sequence(name, items, non_empty=False, what=kind.__name__)
    for i, item in enumerate(items):
        checks.check_type(f"{name}[{i}]", item, kind, f"a vectors.{kind.__name__}")


def _known(vocab: Vocab, *words: str) -> bool:
    return all(w in vocab.stoi and w not in SPECIALS for w in words)


def vocab_from_words(words: Sequence[str]) -> Vocab:
    """A :class:`Vocab` whose ids 2.. are ``words`` in the given order (e.g. gensim's ``index_to_key``).

    Args:
        words: distinct str, none of them ``<pad>`` or ``<unk>``.
    """
    checks.check_str_list("words", words)
    return Vocab(list(SPECIALS) + list(words))
