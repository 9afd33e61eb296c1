"""Tests of embedlab.wordvec: neighbours, analogies, cosines, the evaluation files and the
evaluation, compared with gensim's own evaluation code."""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab import skipgram
from embedlab import wordvec as vq
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


def test_unknown_words_are_value_errors_naming_the_word():
    vectors, vocab = tiny_space()
    for call in (lambda: vq.cosine(vectors, vocab, "king", "prince"),
                 lambda: vq.analogy(vectors, vocab, "prince", "king", "woman")):
        with pytest.raises(ValueError, match="'prince' is not in the vocabulary"):
            call()


@PROPERTY
@given(st.integers(2, 12), st.integers(1, 6), st.integers(0, 2**32 - 1), st.data())
def test_nearest_equals_a_sort_of_pytorchs_cosine(words, dim, seed, data):
    vocab = vq.vocab_from_words([f"w{i}" for i in range(words)])
    table = torch.randn(len(vocab), dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    query = data.draw(st.integers(2, len(vocab) - 1))
    k = data.draw(st.integers(1, words - 1))
    found = vq.nearest(table, vocab, vocab.itos[query], k=k)
    unit = table.float()
    sims = torch.nn.functional.cosine_similarity(unit[query].unsqueeze(0), unit, dim=1)
    for word, score in found:
        assert score == pytest.approx(float(sims[vocab.stoi[word]]), abs=1e-5)
    others = sorted((float(sims[i]) for i in range(2, len(vocab)) if i != query), reverse=True)
    assert [s for _, s in found] == pytest.approx(others[:k], abs=1e-5)


def test_loaders_name_the_file_of_bad_bytes_and_fields(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"word1\tword2\tscore\n\xff\xfe\tb\t1\n")
    with pytest.raises(ValueError, match=f"{path}: expected a UTF-8 TSV file .* UnicodeDecodeError"):
        vq.load_word_pairs(path)
    path.write_text("word1\tword2\tscore\na\tb\thigh\n", encoding="utf-8")
    with pytest.raises(ValueError, match="could not convert string to float"):
        vq.load_word_pairs(path)
    path.write_text("relation\tx\ty\nr\ta\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.tsv:2: the row has no field for \['y'\]"):
        vq.load_analogies(path)


# ---------------------------------------------------------------------------------------------
# 3CosMul, the exclusion switch, per-question results


def test_three_cos_mul_follows_its_formula():
    vectors, vocab = tiny_space()
    unit = vq.normalize_rows(vectors)
    cos = (unit @ unit.T + 1) / 2  # (V, V) shifted cosines
    a, b, c = (vocab.stoi[w] for w in ("man", "king", "woman"))
    expected = cos[:, b] * cos[:, c] / (cos[:, a] + 1e-3)
    expected[[0, 1, a, b, c]] = -math.inf
    (word, score), = vq.analogy(vectors, vocab, "man", "king", "woman", method="3cosmul")
    assert word == vocab.itos[int(expected.argmax())] == "queen"
    assert score == pytest.approx(float(expected.max()), rel=1e-6)


def test_question_words_compete_only_when_allowed():
    vectors, vocab = tiny_space()
    allowed = vq.analogy(vectors, vocab, "man", "king", "woman", k=3, exclude_question_words=False)
    assert "king" in [w for w, _ in allowed]  # b - a + c is close to b itself
    left_out = vq.analogy(vectors, vocab, "man", "king", "woman", k=2)
    assert not {"man", "king", "woman"} & {w for w, _ in left_out}


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
@pytest.mark.parametrize("exclude", [True, False])
def test_evaluate_agrees_with_analogy_question_by_question(method, exclude):
    words = [f"w{i}" for i in range(12)]
    vocab = vq.vocab_from_words(words)
    vectors = torch.randn(len(vocab), 5, generator=torch.Generator().manual_seed(3))
    questions = vq.analogies_from_pairs([("r", words[i], words[i + 1]) for i in range(0, 10, 2)])
    pairs = [vq.WordPair(words[0], words[1], 3.0), vq.WordPair(words[2], words[5], 1.0), vq.WordPair(words[3], words[4], 2.0)]
    scores = vq.evaluate(vectors, vocab, pairs, questions, method=method, exclude_question_words=exclude)
    expected = [vq.analogy(vectors, vocab, q.a, q.b, q.c, method=method, exclude_question_words=exclude)[0][0] == q.d
                for q in questions]
    assert list(scores.analogy_hits) == expected
    assert scores.analogy_top1 == pytest.approx(sum(expected) / len(expected))
    unit = vq.normalize_rows(vectors)
    assert scores.pair_cosines[0] == pytest.approx(float(unit[2] @ unit[3]), abs=1e-6)


# ---------------------------------------------------------------------------------------------
# PPMI + SVD


def _corpus():
    token_ids = torch.tensor([2, 3, 4, 2, 3, 5, 4, 2])
    sentence_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    return token_ids, sentence_ids


def test_cooccurrence_counts_weighted_pairs_within_sentences():
    token_ids, sentence_ids = _corpus()
    counts = vq.cooccurrence(token_ids, sentence_ids, 6, window=2).to_dense()
    expected = torch.zeros(6, 6, dtype=torch.float64)
    for s in (0, 1):
        ids = token_ids[sentence_ids == s].tolist()
        for i in range(len(ids)):
            for j in range(len(ids)):
                d = abs(i - j)
                if 1 <= d <= 2:
                    expected[ids[i], ids[j]] += (2 - d + 1) / 2
    torch.testing.assert_close(counts, expected)
    torch.testing.assert_close(counts, counts.T)


def test_ppmi_equals_the_formula_on_a_dense_table():
    counts = torch.tensor([[0.0, 4.0, 1.0], [4.0, 0.0, 2.0], [1.0, 2.0, 6.0]], dtype=torch.float64)
    for cds in (1.0, 0.75):
        total = counts.sum()
        p_w = counts.sum(1, keepdim=True) / total
        smoothed = counts.sum(0) ** cds
        p_c = smoothed / smoothed.sum()
        with torch.no_grad():
            pmi = torch.log((counts / total) / (p_w * p_c))
        expected = torch.where(counts > 0, pmi.clamp(min=0), torch.zeros(()))
        torch.testing.assert_close(vq.ppmi(counts.to_sparse(), cds).to_dense(), expected)


def test_svd_vectors_reproduce_the_leading_singular_directions():
    generator = torch.Generator().manual_seed(0)
    left = torch.linalg.qr(torch.randn(40, 3, generator=generator, dtype=torch.float64))[0]
    matrix = left @ torch.diag(torch.tensor([9.0, 4.0, 1.0], dtype=torch.float64)) @ left.T  # rank 3, PSD
    vectors = vq.svd_vectors(matrix.to_sparse(), emb_dim=3, eig=1.0, seed=0).double()
    torch.testing.assert_close(vectors @ vectors.T, matrix @ matrix.T, atol=1e-4, rtol=1e-4)  # U S^2 U^T
    half = vq.svd_vectors(matrix.to_sparse(), emb_dim=3, eig=0.5, seed=0).double()
    torch.testing.assert_close(half @ half.T, matrix, atol=1e-4, rtol=1e-4)  # U S U^T = M for PSD M
    again = vq.svd_vectors(matrix.to_sparse(), emb_dim=3, eig=0.5, seed=0)
    torch.testing.assert_close(again.double(), half)


def test_ppmi_svd_is_the_three_steps():
    token_ids, sentence_ids = _corpus()
    direct = vq.ppmi_svd(token_ids, sentence_ids, 6, emb_dim=2, window=2, seed=1)
    steps = vq.svd_vectors(vq.ppmi(vq.cooccurrence(token_ids, sentence_ids, 6, 2), 0.75), 2, 0.5, 1)
    torch.testing.assert_close(direct, steps)
    assert direct.shape == (6, 2) and direct.dtype == torch.float32
    assert direct[:2].abs().max() < 1e-5  # <pad> and <unk> never co-occur: rows of zeros


# ---------------------------------------------------------------------------------------------
# Vectors from pieces


def test_compose_oov_averages_the_pieces_unit_vectors():
    vocab = vq.vocab_from_words(["足", "球", "足球", "队", "球队"])
    vectors = torch.randn(len(vocab), 4, generator=torch.Generator().manual_seed(0))
    unit = vq.normalize_rows(vectors)
    composed, found = vq.compose_oov(vectors, vocab, ["足球", "足球队", "猫", "球"])
    s = vocab.stoi
    torch.testing.assert_close(composed[0], (unit[s["足"]] + unit[s["球"]]) / 2)  # never the word's own row
    torch.testing.assert_close(composed[1], unit[[s["足"], s["球"], s["队"], s["足球"], s["球队"]]].mean(0))
    assert found.tolist() == [True, True, False, False]  # a single character has no smaller piece
    assert composed[2].abs().sum() == 0 and composed[3].abs().sum() == 0
    only_chars, _ = vq.compose_oov(vectors, vocab, ["足球队"], max_n=1)
    torch.testing.assert_close(only_chars[0], unit[[s["足"], s["球"], s["队"]]].mean(0))


# ---------------------------------------------------------------------------------------------
# The contract: every public callable refuses bad input with a clear error

_TABLE, _VOCAB = tiny_space()
_PAIRS = [vq.WordPair("king", "queen", 8.0), vq.WordPair("man", "woman", 7.0)]
_QUESTIONS = [vq.Analogy("r", "man", "king", "woman", "queen")]
_NAN = float("nan")


_FOLDER = Path(tempfile.mkdtemp(prefix="embedlab-test-vectors-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)


def _file(content: bytes) -> Path:
    """A file holding ``content`` (removed when the test process ends)."""
    path = _FOLDER / f"{len(list(_FOLDER.iterdir()))}.tsv"
    path.write_bytes(content)
    return path


BAD_CALLS = [
    ("wordvec.normalize_rows", lambda: vq.normalize_rows(None), TypeError, "vectors must be a tensor"),
    ("wordvec.normalize_rows", lambda: vq.normalize_rows([[1.0]]), TypeError, "vectors must be a tensor"),
    ("wordvec.normalize_rows", lambda: vq.normalize_rows(torch.ones(3)), ValueError, "vectors must have shape (V, D)"),
    ("wordvec.normalize_rows", lambda: vq.normalize_rows(torch.ones(2, 2, dtype=torch.long)), ValueError, "vectors must have a floating-point dtype"),
    ("wordvec.normalize_rows", lambda: vq.normalize_rows(torch.tensor([[1.0, _NAN]])), ValueError, "vectors must hold finite numbers"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, "prince"), ValueError, "word 'prince' is not in the vocabulary"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, "<pad>"), ValueError, "word '<pad>' is not in the vocabulary"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, None), TypeError, "word must be a str"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, "king", k=0), ValueError, "k must be an int >= 1"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, "king", k=5), ValueError, "k must be an int >= 1 and <= 4"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, _VOCAB, "king", k=2.0), TypeError, "k must be an int"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE[:4], _VOCAB, "king"), ValueError, "vectors must have one row per vocabulary entry"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE, ["king"], "king"), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE.numpy(), _VOCAB, "king"), TypeError, "vectors must be a tensor"),
    ("wordvec.nearest", lambda: vq.nearest(_TABLE * _NAN, _VOCAB, "king", k=1), ValueError, "vectors must hold finite numbers"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "king", "<unk>"), ValueError, "c '<unk>' is not in the vocabulary"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, 1, "king", "woman"), TypeError, "a must be a str"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "prince", "woman"), ValueError, "b 'prince' is not in the vocabulary"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "king", "woman", k=3), ValueError, "k must be an int >= 1 and <= 2"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "king", "woman", k=True), TypeError, "k must be an int"),
    ("wordvec.analogy", lambda: vq.analogy(None, _VOCAB, "man", "king", "woman"), TypeError, "vectors must be a tensor"),
    ("wordvec.cosine", lambda: vq.cosine(_TABLE, _VOCAB, 3, "man"), TypeError, "word1 must be a str"),
    ("wordvec.cosine", lambda: vq.cosine(_TABLE, _VOCAB, "man", "prince"), ValueError, "word2 'prince' is not in the vocabulary"),
    ("wordvec.cosine", lambda: vq.cosine(_TABLE, None, "man", "woman"), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("wordvec.cosine", lambda: vq.cosine(_TABLE.long(), _VOCAB, "man", "woman"), ValueError, "vectors must have a floating-point dtype"),
    ("wordvec.WordPair", lambda: vq.WordPair(None, "b", 1.0), TypeError, "word1 must be a str"),
    ("wordvec.WordPair", lambda: vq.WordPair("a", "", 1.0), ValueError, "word2 must contain at least one non-space character"),
    ("wordvec.WordPair", lambda: vq.WordPair("a", "b", "high"), TypeError, "score must be a number"),
    ("wordvec.WordPair", lambda: vq.WordPair("a", "b", _NAN), ValueError, "score must be a finite number"),
    ("wordvec.Analogy", lambda: vq.Analogy(None, "a", "b", "c", "d"), TypeError, "relation must be a str"),
    ("wordvec.Analogy", lambda: vq.Analogy("r", "a", "b", "c", None), TypeError, "d must be a str"),
    ("wordvec.Analogy", lambda: vq.Analogy("r", "a", " ", "c", "d"), ValueError, "b must contain at least one non-space character"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs(None), TypeError, "path must be a path"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs("/no/such/pairs.tsv"), FileNotFoundError, "path: no file at /no/such/pairs.tsv"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs(_file(b"first\tsecond\nx\ty\n")), ValueError, "must have the columns ['word1', 'word2', 'score']"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs(_file(b"word1\tword2\tscore\n\xff\tb\t1\n")), ValueError, "expected a UTF-8 TSV file with columns word1, word2, score"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs(_file(b"word1\tword2\tscore\na\tb\tx\n")), ValueError, "could not convert string to float"),
    ("wordvec.load_word_pairs", lambda: vq.load_word_pairs(_file(b"word1\tword2\tscore\na\tb\tnan\n")), ValueError, "score must be a finite number"),
    ("wordvec.load_analogies", lambda: vq.load_analogies(3), TypeError, "path must be a path"),
    ("wordvec.load_analogies", lambda: vq.load_analogies("/no/such/analogies.tsv"), FileNotFoundError, "no file at /no/such/analogies.tsv"),
    ("wordvec.load_analogies", lambda: vq.load_analogies(_file(b"relation\tx\n")), ValueError, "must have the columns ['relation', 'x', 'y']"),
    ("wordvec.load_analogies", lambda: vq.load_analogies(_file(b"relation\tx\ty\nr\ta\n")), ValueError, "the row has no field for ['y']"),
    ("wordvec.load_analogies", lambda: vq.load_analogies(_file(b"relation\tx\ty\nr\t\xc3\ty\n")), ValueError, "expected a UTF-8 TSV file with columns relation, x, y"),
    ("wordvec.analogies_from_pairs", lambda: vq.analogies_from_pairs(None), TypeError, "pairs must be a list or tuple of (relation, x, y) triples"),
    ("wordvec.analogies_from_pairs", lambda: vq.analogies_from_pairs([("r", "a")]), TypeError, "pairs[0] must be a (relation, x, y) triple"),
    ("wordvec.analogies_from_pairs", lambda: vq.analogies_from_pairs(["rab"]), TypeError, "pairs[0] must be a (relation, x, y) triple"),
    ("wordvec.analogies_from_pairs", lambda: vq.analogies_from_pairs([("r", "a", 1)]), TypeError, "pairs[0][2] must be a str"),
    ("wordvec.VectorScores", lambda: vq.VectorScores(0.5, -1, 0.5, 0.5, 1, {}), ValueError, "pairs_used must be an int >= 0"),
    ("wordvec.VectorScores", lambda: vq.VectorScores(0.5, 2, 0.5, 0.5, 1.0, {}), TypeError, "analogies_used must be an int"),
    ("wordvec.VectorScores", lambda: vq.VectorScores(0.5, 2, 0.5, 0.5, 1, None), TypeError, "by_relation must be a mapping"),
    ("wordvec.evaluate", lambda: vq.evaluate(None, _VOCAB, _PAIRS, _QUESTIONS), TypeError, "vectors must be a tensor"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, None, _QUESTIONS), TypeError, "pairs must be a list or tuple of WordPair"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, [("king", "queen", 8.0)], _QUESTIONS), TypeError, "pairs[0] must be a vectors.WordPair"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, _PAIRS, _QUESTIONS[0]), TypeError, "analogies must be a list or tuple of Analogy"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, _PAIRS[:1], _QUESTIONS), ValueError, "need at least 2 word pairs inside the vocabulary"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, _PAIRS, []), ValueError, "no analogy has all four words inside the vocabulary"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE[:, :0].T, _VOCAB, _PAIRS, _QUESTIONS), ValueError, "vectors must have one row per vocabulary entry"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE * float("inf"), _VOCAB, _PAIRS, _QUESTIONS), ValueError, "vectors must hold finite numbers"),
    ("wordvec.vocab_from_words", lambda: vq.vocab_from_words(None), TypeError, "words must be a list or tuple of str"),
    ("wordvec.vocab_from_words", lambda: vq.vocab_from_words("ab"), TypeError, "words must be a list of str, got a single str"),
    ("wordvec.vocab_from_words", lambda: vq.vocab_from_words(["a", 2]), TypeError, "words[1] must be a str"),
    ("wordvec.vocab_from_words", lambda: vq.vocab_from_words(["a", "a"]), ValueError, "itos must not repeat tokens"),
    ("wordvec.vocab_from_words", lambda: vq.vocab_from_words(["<unk>"]), ValueError, "itos must not repeat tokens"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "king", "woman", method="3cosdiv"), ValueError, "method must be one of"),
    ("wordvec.analogy", lambda: vq.analogy(_TABLE, _VOCAB, "man", "king", "woman", exclude_question_words=1), TypeError, "exclude_question_words must be True or False"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, _PAIRS, _QUESTIONS, method=None), ValueError, "method must be one of"),
    ("wordvec.evaluate", lambda: vq.evaluate(_TABLE, _VOCAB, _PAIRS, _QUESTIONS, exclude_question_words="yes"), TypeError, "exclude_question_words must be True or False"),
    ("wordvec.cooccurrence", lambda: vq.cooccurrence([2, 3], torch.zeros(2, dtype=torch.long), 4), TypeError, "token_ids must be a tensor"),
    ("wordvec.cooccurrence", lambda: vq.cooccurrence(torch.tensor([2, 9]), torch.zeros(2, dtype=torch.long), 4), ValueError, "token_ids must hold ids in [0, 3]"),
    ("wordvec.cooccurrence", lambda: vq.cooccurrence(torch.tensor([2, 3]), torch.zeros(3, dtype=torch.long), 4), ValueError, "sentence_ids must have the shape of token_ids"),
    ("wordvec.cooccurrence", lambda: vq.cooccurrence(torch.tensor([2, 3]), torch.zeros(2, dtype=torch.long), 4, window=0), ValueError, "window must be an int >= 1"),
    ("wordvec.cooccurrence", lambda: vq.cooccurrence(torch.tensor([2, 3]), torch.zeros(2, dtype=torch.long), 0), ValueError, "vocab_size must be an int >= 1"),
    ("wordvec.ppmi", lambda: vq.ppmi(torch.ones(3, 3)), ValueError, "counts must be a sparse COO tensor"),
    ("wordvec.ppmi", lambda: vq.ppmi(None), TypeError, "counts must be a tensor"),
    ("wordvec.ppmi", lambda: vq.ppmi(-torch.ones(2, 2).to_sparse()), ValueError, "no negative or non-finite ones"),
    ("wordvec.ppmi", lambda: vq.ppmi(torch.ones(2, 2).to_sparse(), cds=0.0), ValueError, "cds must be"),
    ("wordvec.svd_vectors", lambda: vq.svd_vectors(torch.eye(4), 2), ValueError, "matrix must be a sparse COO tensor"),
    ("wordvec.svd_vectors", lambda: vq.svd_vectors(torch.eye(4).to_sparse(), 4), ValueError, "emb_dim must be an int >= 1 and <= 3"),
    ("wordvec.svd_vectors", lambda: vq.svd_vectors(torch.eye(4).to_sparse(), 2, eig=2.0), ValueError, "eig must be"),
    ("wordvec.svd_vectors", lambda: vq.svd_vectors(torch.eye(4).to_sparse(), 2, n_iter=0), ValueError, "n_iter must be an int >= 1"),
    ("wordvec.ppmi_svd", lambda: vq.ppmi_svd(torch.tensor([2, 3]), None, 4), TypeError, "sentence_ids must be a tensor"),
    ("wordvec.compose_oov", lambda: vq.compose_oov(_TABLE, _VOCAB, "king"), TypeError, "words must be a list of str"),
    ("wordvec.compose_oov", lambda: vq.compose_oov(_TABLE, _VOCAB, [""]), ValueError, "words[0] must contain at least one non-space character"),
    ("wordvec.compose_oov", lambda: vq.compose_oov(_TABLE, _VOCAB, ["king"], max_n=0), ValueError, "max_n must be an int >= 1"),
    ("wordvec.compose_oov", lambda: vq.compose_oov(_TABLE[:3], _VOCAB, ["king"]), ValueError, "vectors must have one row per vocabulary entry"),
]

