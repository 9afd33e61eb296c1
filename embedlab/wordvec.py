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

import numpy as np
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


def analogy(
    vectors: torch.Tensor,
    vocab: Vocab,
    a: str,
    b: str,
    c: str,
    k: int = 1,
    method: str = "3cosadd",
    exclude_question_words: bool = True,
) -> list[tuple[str, float]]:
    """``a : b :: c : ?``: the ``k`` best answers by 3CosAdd (near ``b - a + c``) or 3CosMul.

    3CosAdd scores a candidate d by cos(d, b) - cos(d, a) + cos(d, c) (the dot product with
    ``b - a + c`` on unit vectors); 3CosMul (Levy and Goldberg, 2014) by
    cos'(d, b) cos'(d, c) / (cos'(d, a) + 0.001) with cos' = (cos + 1) / 2, so that no single
    similarity can dominate.

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        a, b, c: words of the vocabulary.
        k: how many answers, at least 1.
        method: ``"3cosadd"`` or ``"3cosmul"``.
        exclude_question_words: leave a, b and c out of the answers (the usual, and optimistic,
            protocol); False lets them compete.
    """
    _check_table(vectors, vocab)
    ia, ib, ic = (_word_id(vocab, w, n) for w, n in ((a, "a"), (b, "b"), (c, "c")))
    checks.check_choice("method", method, ANALOGY_METHODS)
    checks.check_bool("exclude_question_words", exclude_question_words)
    left_out = [ia, ib, ic] if exclude_question_words else []
    k = _check_k(k, vocab, left_out=len(set(left_out)))
    unit = normalize_rows(vectors)  # (V, D)
    scores = _analogy_scores(unit, ia, ib, ic, method)  # (V,)
    return [(vocab.itos[j], s) for j, s in _top_scores(scores, left_out, k)]


ANALOGY_METHODS = ("3cosadd", "3cosmul")
_COSMUL_EPS = 1e-3  # Levy and Goldberg (2014)


def _analogy_scores(unit: torch.Tensor, ia: int, ib: int, ic: int, method: str) -> torch.Tensor:
    """(V,) the score of every word as the answer to ``a : b :: c : ?``."""
    if method == "3cosadd":
        return unit @ (unit[ib] - unit[ia] + unit[ic])  # (V, D) @ (D,) -> (V,)
    cos = (unit @ unit[[ia, ib, ic]].T + 1) / 2  # (V, D) @ (D, 3) -> (V, 3), in [0, 1]
    return cos[:, 1] * cos[:, 2] / (cos[:, 0] + _COSMUL_EPS)


def _top_scores(scores: torch.Tensor, exclude: Iterable[int], k: int) -> list[tuple[int, float]]:
    scores = scores.clone()
    scores[list(range(len(SPECIALS)))] = -math.inf
    for i in exclude:
        scores[i] = -math.inf
    values, ids = torch.topk(scores, k)
    return list(zip(ids.tolist(), values.tolist()))


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
    analogy_hits: tuple[bool, ...] = ()  # top-1 right or not, per usable analogy, in order
    pair_cosines: tuple[float, ...] = ()  # cosine of each usable word pair, in order

    def __post_init__(self) -> None:
        checks.check_int("pairs_used", self.pairs_used, at_least=0)
        checks.check_int("analogies_used", self.analogies_used, at_least=0)
        checks.check_type("by_relation", self.by_relation, Mapping, "a mapping of relation -> accuracy")


def evaluate(
    vectors: torch.Tensor,
    vocab: Vocab,
    pairs: Sequence[WordPair],
    analogies: Sequence[Analogy],
    method: str = "3cosadd",
    exclude_question_words: bool = True,
) -> VectorScores:
    """Spearman correlation on word pairs and analogy accuracy, items out of vocabulary skipped.

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        pairs: similarity judgements (:func:`load_word_pairs`); at least 2 inside the vocabulary.
        analogies: questions (:func:`load_analogies`); at least 1 inside the vocabulary.
        method: how analogies are answered, ``"3cosadd"`` or ``"3cosmul"`` (:func:`analogy`).
        exclude_question_words: leave a, b and c out of the answers (:func:`analogy`).
    """
    from scipy.stats import spearmanr  # scipy ships with scikit-learn; imported here to keep import light

    _check_table(vectors, vocab)
    _check_items("pairs", pairs, WordPair)
    _check_items("analogies", analogies, Analogy)
    checks.check_choice("method", method, ANALOGY_METHODS)
    checks.check_bool("exclude_question_words", exclude_question_words)
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
    quad = torch.tensor([[vocab.stoi[w] for w in (q.a, q.b, q.c, q.d)] for q in usable])  # (A, 4)
    asked, where = torch.unique(quad[:, :3], return_inverse=True)  # the words asked about
    sims = unit @ unit[asked].T  # (V, D) @ (D, U) -> (V, U), every cosine needed, once
    best = []
    for start in range(0, len(usable), 256):  # (256, V) scores at a time
        a, b, c = where[start : start + 256].unbind(1)
        if method == "3cosadd":
            scores = (sims[:, b] - sims[:, a] + sims[:, c]).T  # (A', V)
        else:
            cos = (sims + 1) / 2
            scores = (cos[:, b] * cos[:, c] / (cos[:, a] + _COSMUL_EPS)).T  # (A', V)
        scores[:, : len(SPECIALS)] = -math.inf
        if exclude_question_words:
            scores.scatter_(1, quad[start : start + 256, :3], -math.inf)
        best.append(torch.topk(scores, 5, dim=1).indices)  # (A', 5)
    top5 = torch.cat(best)  # (A, 5)
    hits1 = (top5[:, 0] == quad[:, 3]).tolist()
    hits5 = (top5 == quad[:, 3:]).any(dim=1).tolist()
    per_relation: dict[str, list[bool]] = {}
    for q, hit in zip(usable, hits1):
        per_relation.setdefault(q.relation, []).append(hit)
    return VectorScores(
        spearman=rho,
        pairs_used=len(known),
        analogy_top1=sum(hits1) / len(usable),
        analogy_top5=sum(hits5) / len(usable),
        analogies_used=len(usable),
        by_relation={r: sum(h) / len(h) for r, h in per_relation.items()},
        analogy_hits=tuple(hits1),
        pair_cosines=tuple(cosines.tolist()),
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


# ---------------------------------------------------------------------------------------------
# The count view: PPMI and a truncated SVD (Levy and Goldberg, 2014; Levy, Goldberg and Dagan, 2015)


def cooccurrence(token_ids: torch.Tensor, sentence_ids: torch.Tensor, vocab_size: int, window: int = 5) -> torch.Tensor:
    """(V, V) symmetric co-occurrence counts within ``window`` words of the same sentence.

    A pair at distance d counts (window - d + 1) / window, the share of word2vec's dynamic windows
    that reach it, so the counts are what skip-gram sees in expectation (before subsampling).

    Args:
        token_ids: (N,) int64 ids of the corpus laid end to end (``skipgram.encode_corpus``).
        sentence_ids: (N,) int64, the sentence of each token.
        vocab_size: V, larger than every id.
        window: the largest distance, at least 1.

    Returns:
        A coalesced sparse COO float64 tensor of shape (V, V).
    """
    vocab_size = checks.check_int("vocab_size", vocab_size, at_least=1)
    checks.check_token_ids("token_ids", token_ids, vocab_size, dim=1, shape_text="(N,)")
    checks.check_token_ids("sentence_ids", sentence_ids, dim=1, shape_text="(N,)")
    if sentence_ids.shape != token_ids.shape:
        raise ValueError(f"sentence_ids must have the shape of token_ids {tuple(token_ids.shape)}, got {tuple(sentence_ids.shape)}")
    window = checks.check_int("window", window, at_least=1)
    from scipy import sparse

    rows, cols, weights = [], [], []
    for d in range(1, window + 1):
        same = sentence_ids[d:] == sentence_ids[:-d]  # (N - d,) pairs inside one sentence
        left, right = token_ids[:-d][same], token_ids[d:][same]
        rows += [left, right]  # both directions: the counts are symmetric
        cols += [right, left]
        weights.append(torch.full((2 * len(left),), (window - d + 1) / window, dtype=torch.float64))
    shape = (vocab_size, vocab_size)
    summed = sparse.csr_matrix(
        (torch.cat(weights).numpy(), (torch.cat(rows).numpy(), torch.cat(cols).numpy())), shape=shape
    ).tocoo()  # duplicates summed, sorted by row then column
    index = torch.from_numpy(np.stack([summed.row, summed.col]).astype(np.int64))  # (2, nnz)
    return torch.sparse_coo_tensor(index, torch.from_numpy(summed.data), shape, is_coalesced=True, check_invariants=False)


def ppmi(counts: torch.Tensor, cds: float = 0.75) -> torch.Tensor:
    """Positive pointwise mutual information of a co-occurrence matrix, with context smoothing.

    PPMI(w, c) = max(0, log(#(w, c) |D| / (#(w) #(c)^cds * sum_c' #(c')^(1 - cds)...))), written
    in probabilities: max(0, log P(w, c) / (P(w) P_cds(c))), P_cds(c) = #(c)^cds / sum #(c')^cds.
    cds = 1 is plain PPMI; 0.75 mirrors skip-gram's noise distribution (Levy et al., 2015).

    Args:
        counts: (V, V) sparse COO float tensor of non-negative counts (:func:`cooccurrence`).
        cds: the context distribution smoothing exponent, in (0, 1].

    Returns:
        A coalesced sparse COO float64 tensor of shape (V, V), only positive entries stored.
    """
    checks.check_tensor("counts", counts, dim=2, floating=True, shape_text="(V, V)")
    if counts.layout != torch.sparse_coo:
        raise ValueError(f"counts must be a sparse COO tensor (from wordvec.cooccurrence), got layout {counts.layout}")
    cds = checks.check_float("cds", cds, above=0.0, at_most=1.0)
    counts = counts.coalesce().to(torch.float64)
    (w, c), n = counts.indices(), counts.values()  # (2, nnz), (nnz,)
    if n.numel() == 0 or bool((n < 0).any()) or not bool(torch.isfinite(n).all()):
        raise ValueError("counts must hold at least one positive count and no negative or non-finite ones")
    row_sums = torch.zeros(counts.shape[0], dtype=torch.float64).index_add_(0, w, n)  # (V,) #(w)
    col_sums = torch.zeros(counts.shape[1], dtype=torch.float64).index_add_(0, c, n)  # (V,) #(c)
    p_wc = n / n.sum()
    p_w = row_sums[w] / n.sum()
    smoothed = col_sums**cds
    p_c = smoothed[c] / smoothed.sum()
    pmi = torch.log(p_wc / (p_w * p_c))  # (nnz,)
    keep = pmi > 0
    return torch.sparse_coo_tensor(counts.indices()[:, keep], pmi[keep], counts.shape, is_coalesced=True, check_invariants=False)


def svd_vectors(
    matrix: torch.Tensor, emb_dim: int = 100, eig: float = 0.5, seed: int = 0, n_iter: int = 3
) -> torch.Tensor:
    """Word vectors U_D S_D^eig from a truncated SVD of a sparse (V, V) matrix (randomized SVD).

    scikit-learn's ``randomized_svd`` runs with one BLAS thread: its products are small, and on a
    shared machine waiting threads cost more than they save (as in ``skipgram.train``).

    Args:
        matrix: (V, V) sparse COO float tensor, e.g. :func:`ppmi`.
        emb_dim: D, the number of singular vectors kept, below V.
        eig: the power of the singular values (0.5 is symmetric, 1 the plain U S, 0 only U).
        seed: seeds scikit-learn's randomized SVD.
        n_iter: its power iterations, at least 1 (more: closer to the exact SVD, slower).

    Returns:
        (V, D) float32 vectors.
    """
    from scipy import sparse
    from sklearn.utils.extmath import randomized_svd
    from threadpoolctl import threadpool_limits

    checks.check_tensor("matrix", matrix, dim=2, floating=True, shape_text="(V, V)")
    if matrix.layout != torch.sparse_coo:
        raise ValueError(f"matrix must be a sparse COO tensor (from wordvec.ppmi), got layout {matrix.layout}")
    emb_dim = checks.check_int("emb_dim", emb_dim, at_least=1, at_most=min(matrix.shape) - 1)
    eig = checks.check_float("eig", eig, at_least=0.0, at_most=1.0)
    seed = checks.check_seed("seed", seed)
    n_iter = checks.check_int("n_iter", n_iter, at_least=1)
    matrix = matrix.coalesce()
    (rows, cols), values = matrix.indices().numpy(), matrix.values().numpy()
    csr = sparse.csr_matrix((values.astype(np.float32), (rows, cols)), shape=tuple(matrix.shape))
    with threadpool_limits(1):
        left, singular, _ = randomized_svd(csr, n_components=emb_dim, n_iter=n_iter, random_state=seed)
    vectors = torch.from_numpy(left * singular**eig)  # (V, D)
    return vectors.to(torch.float32)


def ppmi_svd(
    token_ids: torch.Tensor,
    sentence_ids: torch.Tensor,
    vocab_size: int,
    emb_dim: int = 100,
    window: int = 5,
    cds: float = 0.75,
    eig: float = 0.5,
    seed: int = 0,
    n_iter: int = 3,
) -> torch.Tensor:
    """(V, D) word vectors by counting: :func:`cooccurrence`, then :func:`ppmi`, then :func:`svd_vectors`.

    Args:
        token_ids: (N,) int64 ids of the corpus laid end to end.
        sentence_ids: (N,) int64, the sentence of each token.
        vocab_size: V.
        emb_dim: D.
        window: the largest distance counted.
        cds: context distribution smoothing exponent.
        eig: the power of the singular values.
        seed: seeds the randomized SVD.
        n_iter: its power iterations.
    """
    counts = cooccurrence(token_ids, sentence_ids, vocab_size, window)
    return svd_vectors(ppmi(counts, cds), emb_dim, eig, seed, n_iter)


# ---------------------------------------------------------------------------------------------
# Vectors for words outside the vocabulary, from their pieces


def compose_oov(
    vectors: torch.Tensor, vocab: Vocab, words: Sequence[str], max_n: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """A vector for each word from its character n-grams that are words of ``vocab``, fastText-style.

    The pieces of a word are its substrings of 1 to ``max_n`` characters, shorter than the word
    itself (the word is assumed to be out of the vocabulary, so its own row is never used). A
    word's vector is the mean of its pieces' unit vectors; a word with no piece in the vocabulary
    gets a zero row.

    Args:
        vectors: (V, D) word vectors in ``vocab``'s id order.
        vocab: the vocabulary of the rows.
        words: the words to compose (non-empty str).
        max_n: the longest piece, at least 1.

    Returns:
        composed: (W, D) float32, one row per word.
        found: (W,) bool, whether the word had at least one piece in the vocabulary.
    """
    _check_table(vectors, vocab)
    checks.check_str_list("words", words)
    for i, word in enumerate(words):
        checks.check_str(f"words[{i}]", word, non_empty=True)
    max_n = checks.check_int("max_n", max_n, at_least=1)
    unit = normalize_rows(vectors)  # (V, D)
    composed = torch.zeros(len(words), vectors.shape[1])  # (W, D)
    found = torch.zeros(len(words), dtype=torch.bool)  # (W,)
    for i, word in enumerate(words):
        pieces = [
            word[s : s + n] for n in range(1, min(max_n, len(word) - 1) + 1) for s in range(len(word) - n + 1)
        ] if len(word) > 1 else []
        ids = [vocab.stoi[p] for p in pieces if _known(vocab, p)]
        if ids:
            composed[i] = unit[ids].mean(dim=0)
            found[i] = True
    return composed, found
