"""Tests of embedlab.vectors: neighbours, analogies, cosines, the evaluation files and the
evaluation, compared with gensim's own evaluation code."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab import skipgram
from embedlab import vectors as vq
from embedlab.text import PAD, UNK

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"

# Small, fixed and repeatable: hypothesis draws the same examples on every run and stores none.
PROPERTY = settings(max_examples=40, derandomize=True, deadline=None, database=None)


# ---------------------------------------------------------------------------------------------
# Inspecting vectors


def tiny_space():
    vocab = vq.vocab_from_words(["king", "queen", "man", "woman", "apple"])
    vectors = torch.tensor(
        [
            [9.0, 9.0, 9.0],  # <pad>: would win every search if it were not left out
            [9.0, 9.0, 8.0],  # <unk>
            [1.0, 1.0, 0.0],  # king = royal + male
            [1.0, 0.0, 1.0],  # queen = royal + female
            [0.0, 1.0, 0.0],  # man
            [0.0, 0.0, 1.0],  # woman
            [-1.0, 0.2, 0.2],  # apple
        ]
    )
    return vectors, vocab


def test_vocab_from_words_keeps_the_order():
    vocab = vq.vocab_from_words(["b", "a"])
    assert vocab.itos == [PAD, UNK, "b", "a"]


def test_nearest_analogy_and_cosine():
    vectors, vocab = tiny_space()
    assert [w for w, _ in vq.nearest(vectors, vocab, "king", k=2)] == ["man", "queen"]
    assert vq.nearest(vectors, vocab, "king", k=1)[0][1] == pytest.approx(1 / math.sqrt(2))
    assert vq.analogy(vectors, vocab, "man", "king", "woman")[0][0] == "queen"
    assert vq.cosine(vectors, vocab, "man", "woman") == pytest.approx(0.0)


def test_inspection_errors():
    vectors, vocab = tiny_space()
    with pytest.raises(ValueError, match="word 'prince' is not in the vocabulary"):
        vq.nearest(vectors, vocab, "prince")
    with pytest.raises(ValueError, match="c '<unk>' is not in the vocabulary"):
        vq.analogy(vectors, vocab, "man", "king", "<unk>")
    with pytest.raises(TypeError, match="word1 must be a str, got int"):
        vq.cosine(vectors, vocab, 3, "man")
    with pytest.raises(ValueError, match=r"vectors must have shape \(V, D\)"):
        vq.normalize_rows(torch.ones(3))


# ---------------------------------------------------------------------------------------------
# The evaluation set


def test_evaluation_files_load():
    pairs = vq.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = vq.load_analogies(DATA / "zh_analogy_pairs.tsv")
    assert len(pairs) == 98 and all(0 <= p.score <= 10 for p in pairs)
    assert len({(p.word1, p.word2) for p in pairs}) == 98
    relations = Counter(q.relation for q in analogies)
    assert relations == {
        "capital-country": 22 * 21, "province-capital": 25 * 24, "country-currency": 9 * 8,
        "male-female": 12 * 11, "leader-country": 15 * 14,
    }


def test_every_evaluation_word_occurs_at_least_ten_times():
    counts = Counter(w for s in skipgram.training_corpus() for w in s)
    pairs = vq.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = vq.load_analogies(DATA / "zh_analogy_pairs.tsv")
    words = {w for p in pairs for w in (p.word1, p.word2)} | {w for q in analogies for w in (q.a, q.b, q.c, q.d)}
    assert min(counts[w] for w in words) >= 10


def test_analogies_from_pairs():
    questions = vq.analogies_from_pairs([("r", "a", "A"), ("r", "b", "B"), ("s", "x", "X"), ("r", "c", "C")])
    assert len(questions) == 6
    assert questions[0] == vq.Analogy("r", "a", "A", "b", "B")
    assert vq.Analogy("r", "c", "C", "a", "A") in questions
    assert all(q.relation == "r" for q in questions)


def test_loaders_report_missing_columns(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("first\tsecond\nx\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"must have the columns \['word1', 'word2', 'score'\]"):
        vq.load_word_pairs(path)
    with pytest.raises(ValueError, match=r"must have the columns \['relation', 'x', 'y'\]"):
        vq.load_analogies(path)


def test_evaluate_equals_gensims_own_evaluation(tmp_path):
    from gensim.models import KeyedVectors

    pairs = vq.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = vq.load_analogies(DATA / "zh_analogy_pairs.tsv")
    words = sorted({w for p in pairs for w in (p.word1, p.word2)} | {w for q in analogies for w in (q.a, q.b)})
    words = [w for w in words if w != "海口"]  # one word left out: both must skip its items
    vectors = torch.randn(len(words), 10, generator=torch.Generator().manual_seed(0))
    # Push each relation's (x, y) offsets towards one direction, so that some analogies are right.
    relation_dirs = {r: torch.randn(10, generator=torch.Generator().manual_seed(i)) for i, r in
                     enumerate(sorted({q.relation for q in analogies}))}
    for q in analogies:
        if q.b in words and q.a in words:
            vectors[words.index(q.b)] = vectors[words.index(q.a)] * 0.3 + relation_dirs[q.relation]
    ours = vq.evaluate(torch.cat([torch.zeros(2, 10), vectors]), vq.vocab_from_words(words), pairs, analogies)

    keyed = KeyedVectors(vector_size=10)
    keyed.add_vectors(words, vectors.numpy())
    pair_file = tmp_path / "pairs.tsv"
    pair_file.write_text("".join(f"{p.word1}\t{p.word2}\t{p.score}\n" for p in pairs), encoding="utf-8")
    _, (spearman, _), oov = keyed.evaluate_word_pairs(pair_file, delimiter="\t")
    analogy_file = tmp_path / "analogies.txt"
    lines, relation = [], None
    for q in analogies:
        if q.relation != relation:
            relation = q.relation
            lines.append(f": {relation}")
        lines.append(f"{q.a} {q.b} {q.c} {q.d}")
    analogy_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    accuracy, sections = keyed.evaluate_word_analogies(analogy_file)

    assert ours.spearman == pytest.approx(spearman, abs=1e-9)
    assert ours.pairs_used == round(len(pairs) * (1 - oov / 100))
    assert ours.analogy_top1 == pytest.approx(accuracy, abs=1e-12)
    assert 0.05 < ours.analogy_top1 < 0.95
    total = next(s for s in sections if s["section"] == "Total accuracy")
    assert ours.analogies_used == len(total["correct"]) + len(total["incorrect"])
    for section in sections[:-1]:
        n = len(section["correct"]) + len(section["incorrect"])
        assert ours.by_relation[section["section"]] == pytest.approx(len(section["correct"]) / n)
    assert ours.analogy_top1 <= ours.analogy_top5 <= 1


def test_evaluate_errors():
    vectors, vocab = tiny_space()
    analogies = [vq.Analogy("r", "man", "king", "woman", "queen")]
    pairs = [vq.WordPair("king", "queen", 8.0), vq.WordPair("man", "woman", 7.0)]
    with pytest.raises(ValueError, match="need at least 2 word pairs inside the vocabulary"):
        vq.evaluate(vectors, vocab, pairs[:1] + [vq.WordPair("x", "y", 1.0)], analogies)
    with pytest.raises(ValueError, match="no analogy has all four words inside the vocabulary"):
        vq.evaluate(vectors, vocab, pairs, [vq.Analogy("r", "man", "king", "woman", "princess")])
    scores = vq.evaluate(vectors, vocab, pairs, analogies)
    assert scores.analogy_top1 == 1.0 and scores.analogies_used == 1 and scores.pairs_used == 2
