"""Tests of embedlab.retrieval: exact search against a loop, metrics by hand, the bootstrap, MiniLM = sentence-transformers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from embedlab import device, pooling, retrieval

SCORES = torch.tensor([[0.9, 0.1, 0.5, 0.3], [0.2, 0.8, 0.8, 0.1]])  # (Q, M) = (2, 4)
RELEVANT = torch.tensor([[False, False, True, True], [False, False, True, False]])


def test_position_ids_count_real_tokens_on_either_side():
    right = torch.tensor([[False, False, False], [False, True, True]])
    left = torch.tensor([[False, False, False], [True, True, False]])
    assert retrieval.position_ids(right).tolist() == [[0, 1, 2], [0, 0, 0]]
    assert retrieval.position_ids(left).tolist() == [[0, 1, 2], [0, 0, 0]]
    assert retrieval.position_ids(torch.tensor([[True, False, False]])).tolist() == [[0, 0, 1]]


def test_cosine_scores_are_one_matrix_product_of_unit_rows():
    queries, passages = device.randn((3, 5), 0), device.randn((7, 5), 1)
    expected = F.cosine_similarity(queries.unsqueeze(1), passages.unsqueeze(0), dim=2)  # (3, 7)
    torch.testing.assert_close(retrieval.cosine_scores(queries, passages), expected)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_search_equals_a_loop_over_passages(k):
    queries, passages = device.randn((4, 6), 2), device.randn((7, 6), 3)
    scores, indices = retrieval.search(queries, passages, k)
    for q in range(4):
        by_loop = sorted(range(7), key=lambda m: -float(F.cosine_similarity(queries[q], passages[m], dim=0)))
        assert indices[q].tolist() == by_loop[:k]
    assert (scores[:, :-1] >= scores[:, 1:]).all()


def test_unit_passages_skips_only_the_normalisation():
    queries, passages = device.randn((3, 5), 4), device.randn((6, 5), 5)
    unit = F.normalize(passages, dim=1)
    torch.testing.assert_close(retrieval.cosine_scores(queries, unit, unit_passages=True), retrieval.cosine_scores(queries, passages))
    assert not torch.allclose(retrieval.cosine_scores(queries, passages, unit_passages=True), retrieval.cosine_scores(queries, passages))


def test_first_relevant_rank_recall_and_reciprocal_rank_by_hand():
    # query 0: ranks 0.9 (no), 0.5 (yes, rank 2), 0.3 (yes, rank 3); query 1: 0.8 tie with a non-relevant -> rank 2
    assert retrieval.first_relevant_rank(SCORES, RELEVANT).tolist() == [2, 2]
    assert retrieval.recall_at_k(SCORES, RELEVANT, 1).tolist() == [0.0, 0.0]
    assert retrieval.recall_at_k(SCORES, RELEVANT, 2).tolist() == [0.5, 1.0]
    assert retrieval.recall_at_k(SCORES, RELEVANT, 3).tolist() == [1.0, 1.0]
    assert retrieval.reciprocal_rank(SCORES, RELEVANT).tolist() == [0.5, 0.5]


def test_ties_count_against_the_method():
    """All-equal scores (BM25 with no shared word) put the relevant passage last, not first."""
    flat = torch.zeros(1, 5)
    relevant = torch.tensor([[False, False, True, False, False]])
    assert retrieval.first_relevant_rank(flat, relevant).tolist() == [5]
    two = torch.tensor([[False, True, True, False, False]])
    assert retrieval.first_relevant_rank(flat, two).tolist() == [4]  # after the 3 non-relevant ties
    assert retrieval.recall_at_k(flat, two, 4).tolist() == [1.0]


def test_label_precision_at_k():
    labels_q, labels_m = torch.tensor([1, 0]), torch.tensor([1, 0, 1, 0])
    # query 0 top 2: passages 0, 2 (labels 1, 1); query 1 top 2: passages 1 or 2 (0.8 tie), then 0
    got = retrieval.label_precision_at_k(SCORES, labels_q, labels_m, 2)
    assert got[0] == 1.0 and got.dtype == torch.float64
    assert retrieval.label_precision_at_k(SCORES, labels_q, labels_m, 4).tolist() == [0.5, 0.5]


def test_paired_bootstrap_against_a_loop():
    rng = np.random.default_rng(5)
    a, b = rng.random(40), rng.random(40)
    got = retrieval.paired_bootstrap(a, b, resamples=500, seed=3)
    draws = np.random.default_rng(3).integers(0, 40, size=(500, 40))
    means = [float(np.mean(a[d] - b[d])) for d in draws]
    assert math.isclose(got.low, np.percentile(means, 2.5)) and math.isclose(got.high, np.percentile(means, 97.5))
    assert math.isclose(got.estimate, float(np.mean(a - b)))
    assert got.low <= got.estimate <= got.high and got.resamples == 500 and got.level == 0.95


def test_paired_bootstrap_identical_methods_give_zero_and_a_clear_gap_excludes_it():
    a = np.linspace(0, 1, 30)
    same = retrieval.paired_bootstrap(a, a)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero()
    better = retrieval.paired_bootstrap(a + 0.1, a)
    assert better.excludes_zero() and math.isclose(better.estimate, 0.1)


@pytest.mark.parametrize("power", [1.0, 1.5])
def test_power_law_exponent_recovers_the_power(power):
    sizes = np.array([1e3, 4e3, 1.6e4, 6.4e4])
    assert math.isclose(retrieval.power_law_exponent(sizes, 3e-7 * sizes**power), power, rel_tol=1e-9)


SENTENCES = [
    "The dog chased the cat.",
    "Attention weights sum to one over the keys.",
    "A padding mask is True where a position is padding, as in PyTorch.",
    "x",
]


def test_embed_sentences_equals_sentence_transformers(minilm):
    """The package's masked mean + L2 normalisation is sentence-transformers' encode, on the packaged weights."""
    from sentence_transformers import SentenceTransformer

    from embedlab import corpora

    tokenizer, model = minilm
    ours = retrieval.embed_sentences(tokenizer, model, SENTENCES, max_len=256)["mean"]
    theirs = SentenceTransformer(str(corpora.locate(corpora.MINILM_WEIGHTS).parent), device="cpu").encode(
        SENTENCES, convert_to_tensor=True
    )
    torch.testing.assert_close(ours, theirs.cpu(), atol=1e-5, rtol=1e-4)


def test_embed_sentences_left_padding_equals_right_padding_for_every_pooling(minilm):
    tokenizer, model = minilm
    poolings = pooling.SENTENCE_POOLINGS
    right = retrieval.embed_sentences(tokenizer, model, SENTENCES, poolings, batch_size=4)
    left = retrieval.embed_sentences(tokenizer, model, SENTENCES, poolings, batch_size=4, padding_side="left")
    for name in poolings:
        torch.testing.assert_close(left[name], right[name], atol=1e-5, rtol=1e-4)
    one_by_one = retrieval.embed_sentences(tokenizer, model, SENTENCES, poolings, batch_size=1)
    for name in poolings:
        torch.testing.assert_close(one_by_one[name], right[name], atol=1e-5, rtol=1e-4)


def test_without_position_ids_left_padding_changes_the_vectors(minilm):
    """The control: a BERT numbers positions 0..T-1 by itself, so left padding shifts every real token."""
    tokenizer, model = minilm
    encoded = tokenizer(SENTENCES[:2], padding=True, padding_side="left", return_tensors="pt")
    padding_mask = encoded["attention_mask"] == 0
    with torch.inference_mode():
        naive = model(**encoded).last_hidden_state
        fixed = model(**encoded, position_ids=retrieval.position_ids(padding_mask)).last_hidden_state
    a = pooling.sentence_embedding(naive, padding_mask)
    b = pooling.sentence_embedding(fixed, padding_mask)
    right = retrieval.embed_sentences(tokenizer, model, SENTENCES[:2])["mean"]
    torch.testing.assert_close(b, right, atol=1e-5, rtol=1e-4)
    assert (a[0] - right[0]).abs().max() > 1e-3  # the shorter sentence (row 0) was padded on the left


DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def test_the_book_search_set_loads_and_every_query_has_an_answer():
    data = retrieval.load_search_set(DATA / "en_book_passages.tsv", DATA / "en_book_queries.tsv")
    assert len(data.passages) == data.relevant.shape[1] >= 100
    assert len(data.queries) == data.relevant.shape[0] >= 50
    assert data.relevant.any(dim=1).all() and len(set(data.passage_ids)) == len(data.passage_ids)
    assert set(data.kinds) == {"words", "paraphrase"}


def test_load_search_set_names_an_unknown_passage(tmp_path):
    (tmp_path / "p.tsv").write_text("id\tsection\ttext\na\ts\tsome text\n", encoding="utf-8")
    (tmp_path / "q.tsv").write_text("query_id\tquery\trelevant\tkind\nq1\twhat\tb\twords\n", encoding="utf-8")
    with pytest.raises(ValueError, match="names passage 'b'"):
        retrieval.load_search_set(tmp_path / "p.tsv", tmp_path / "q.tsv")
    (tmp_path / "q.tsv").write_text("query_id\tquery\tkind\nq1\twhat\twords\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no column 'relevant'"):
        retrieval.load_search_set(tmp_path / "p.tsv", tmp_path / "q.tsv")


X, Y = device.randn((2, 3), 0), device.randn((4, 3), 1)
BAD_CALLS = [
    ("retrieval.position_ids", lambda: retrieval.position_ids([[True]]), TypeError, "padding_mask must be a tensor"),
    ("retrieval.position_ids", lambda: retrieval.position_ids(torch.zeros(2, 3)), ValueError, "padding_mask must have dtype torch.bool"),
    ("retrieval.embed_sentences", lambda: retrieval.embed_sentences(None, torch.nn.Linear(2, 2), ["a"]), TypeError, "tokenizer must be"),
    ("retrieval.embed_sentences", lambda: retrieval.embed_sentences(len, torch.nn.Linear(2, 2), ["a"]), TypeError, "model must be"),
    ("retrieval.cosine_scores", lambda: retrieval.cosine_scores(X, Y[:, :2]), ValueError, "passages must have shape (M, 3)"),
    ("retrieval.cosine_scores", lambda: retrieval.cosine_scores(X.tolist(), Y), TypeError, "queries must be a tensor"),
    ("retrieval.cosine_scores", lambda: retrieval.cosine_scores(X, Y.long()), ValueError, "passages must have a floating-point dtype"),
    ("retrieval.search", lambda: retrieval.search(X, Y, 5), ValueError, "k must be an int >= 1 and <= 4"),
    ("retrieval.search", lambda: retrieval.search(X, Y, 2.0), TypeError, "k must be an int"),
    ("retrieval.search", lambda: retrieval.search(X, Y, 2, unit_passages=1), TypeError, "unit_passages must be True or False"),
    ("retrieval.first_relevant_rank", lambda: retrieval.first_relevant_rank(SCORES, RELEVANT[:, :2]), ValueError, "relevant must have shape"),
    ("retrieval.first_relevant_rank", lambda: retrieval.first_relevant_rank(SCORES, torch.zeros_like(RELEVANT)), ValueError, "query 0 has none"),
    ("retrieval.first_relevant_rank", lambda: retrieval.first_relevant_rank(SCORES.tolist(), RELEVANT), TypeError, "scores must be a tensor"),
    ("retrieval.recall_at_k", lambda: retrieval.recall_at_k(SCORES, RELEVANT, 0), ValueError, "k must be an int >= 1"),
    ("retrieval.recall_at_k", lambda: retrieval.recall_at_k(SCORES, RELEVANT.long(), 1), ValueError, "relevant must have dtype torch.bool"),
    ("retrieval.reciprocal_rank", lambda: retrieval.reciprocal_rank(SCORES * float("nan"), RELEVANT), ValueError, "scores must hold finite"),
    ("retrieval.label_precision_at_k", lambda: retrieval.label_precision_at_k(SCORES, torch.tensor([1, 0]), torch.tensor([1, 0]), 1), ValueError, "passage_labels must have shape"),
    ("retrieval.label_precision_at_k", lambda: retrieval.label_precision_at_k(SCORES, torch.tensor([1, 0]), torch.tensor([1, 0, 1, 0]), 5), ValueError, "k must be an int >= 1 and <= 4"),
    ("retrieval.label_precision_at_k", lambda: retrieval.label_precision_at_k(SCORES, [1, 0], torch.tensor([1, 0, 1, 0]), 1), TypeError, "query_labels must be a tensor"),
    ("retrieval.Interval", lambda: retrieval.Interval("a", 0.0, 1.0, 0.95, 100), TypeError, "estimate must be a number"),
    ("retrieval.Interval", lambda: retrieval.Interval(0.0, 0.0, 1.0, 95, 100), ValueError, "level must be a number > 0 and < 1"),
    ("retrieval.paired_bootstrap", lambda: retrieval.paired_bootstrap([1.0, 2.0], [1.0]), ValueError, "b must have 2 items like a"),
    ("retrieval.paired_bootstrap", lambda: retrieval.paired_bootstrap("ab", [1.0]), TypeError, "a must be a sequence or array of numbers"),
    ("retrieval.paired_bootstrap", lambda: retrieval.paired_bootstrap([1.0], [1.0], resamples=10), ValueError, "resamples must be an int >= 100"),
    ("retrieval.paired_bootstrap", lambda: retrieval.paired_bootstrap([1.0], [1.0], level=1.0), ValueError, "level must be a number > 0 and < 1"),
    ("retrieval.power_law_exponent", lambda: retrieval.power_law_exponent([1, 1], [1, 2]), ValueError, "at least 2 distinct"),
    ("retrieval.power_law_exponent", lambda: retrieval.power_law_exponent([1, 2], [1, -2]), ValueError, "must be positive"),
    ("retrieval.power_law_exponent", lambda: retrieval.power_law_exponent(None, [1, 2]), TypeError, "sizes must be a sequence"),
    ("retrieval.load_search_set", lambda: retrieval.load_search_set("no/such.tsv", "no/q.tsv"), FileNotFoundError, "passages_path"),
    ("retrieval.load_search_set", lambda: retrieval.load_search_set(None, "q.tsv"), TypeError, "passages_path"),
    ("retrieval.SearchSet", lambda: retrieval.SearchSet(("a",), ("t",), ("s",), ("q",), ("x",), ("w",), torch.zeros(1, 2, dtype=torch.bool)), ValueError, "relevant must have shape"),
    ("retrieval.SearchSet", lambda: retrieval.SearchSet(["a"], ("t",), ("s",), ("q",), ("x",), ("w",), torch.zeros(1, 1, dtype=torch.bool)), TypeError, "passage_ids must be a tuple"),
]
