"""Tests of embedlab.selfcheck: the core says right from wrong without raising on a wrong answer,
and each chapter's checks pass on their solution, fail on the stub ``...`` and on a plausible
wrong answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embedlab import grads, selfcheck, text

WHAT = "the answer"


def test_a_verdict_prints_one_line_and_is_truthy_only_when_right(capsys):
    right = selfcheck.verdict(True, WHAT)
    wrong = selfcheck.verdict(False, WHAT, "shape (2,), expected (3,)")
    assert bool(right) and not bool(wrong)
    assert capsys.readouterr().out.splitlines() == [
        "correct: the answer",
        "not yet: the answer: shape (2,), expected (3,)",
    ]


def test_compare_tensor_passes_within_tolerance_and_names_what_is_off(capsys):
    expected = torch.arange(6.0).reshape(2, 3)
    assert selfcheck.compare_tensor(expected + 1e-7, expected, WHAT)
    assert selfcheck.compare_tensor(expected.numpy(), expected, WHAT)  # NumPy counts
    off = expected.clone()
    off[1, 2] += 0.5
    for answer, problem in [
        (..., "no answer yet"),
        ("x", "expected a tensor, got str"),
        (expected.T, "shape (3, 2), expected (2, 3)"),
        (off, "the largest difference is 0.5, at index (1, 2)"),
        (torch.full((2, 3), float("nan")), "6 entries are NaN or infinite"),
        (expected > 2, "a bool tensor"),
    ]:
        capsys.readouterr()
        assert not selfcheck.compare_tensor(answer, expected, WHAT)
        assert problem in capsys.readouterr().out


def test_compare_tensor_integers_must_match_exactly(capsys):
    ids = torch.tensor([3, 1, 4])
    assert selfcheck.compare_tensor(torch.tensor([3, 1, 4]), ids, WHAT)
    assert not selfcheck.compare_tensor(torch.tensor([3, 1, 5]), ids, WHAT)
    assert not selfcheck.compare_tensor(ids.double(), ids, WHAT)
    assert "1 of 3 entries differ" in capsys.readouterr().out


def test_compare_number_says_the_side_not_the_value(capsys):
    assert selfcheck.compare_number(0.30000001, 0.3, WHAT)
    assert selfcheck.compare_number(torch.tensor([0.3]), 0.3, WHAT)
    assert selfcheck.compare_number(np.float32(0.3), 0.3, WHAT)
    capsys.readouterr()
    for answer, problem in [
        (..., "no answer yet"),
        (True, "expected a number, got bool"),
        (torch.zeros(2), "expected a number"),
        (0.5, "too large"),
        (0.1, "too small"),
        (float("inf"), "expected a finite number"),
    ]:
        assert not selfcheck.compare_number(answer, 0.3, WHAT)
        out = capsys.readouterr().out
        assert problem in out and "0.3" not in out.replace("0.3,", "")


def test_compare_set_counts_the_missing_and_names_the_extra(capsys):
    assert selfcheck.compare_set(torch.tensor([4, 2, 2]), {2, 4}, WHAT)
    assert selfcheck.compare_set([np.int64(2), 4], [4, 2], WHAT)
    capsys.readouterr()
    assert not selfcheck.compare_set([2, 7], {2, 4}, WHAT)
    out = capsys.readouterr().out
    assert "1 expected item missing" in out and "(7)" in out and "4" not in out.split("missing")[1]
    assert not selfcheck.compare_set(..., {1}, WHAT)
    assert not selfcheck.compare_set(3, {1}, WHAT)
    assert not selfcheck.compare_set([[1], [2]], {1}, WHAT)


def test_a_verdict_shows_nothing_more_at_the_end_of_a_cell():
    # IPython calls _ipython_display_ instead of printing the repr: the line was already printed.
    assert selfcheck.Verdict(True, WHAT)._ipython_display_() is None


BAD_CALLS = [
    ("selfcheck.verdict", lambda: selfcheck.verdict(1, WHAT), TypeError, "ok must be True or False"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(False, WHAT), ValueError, "problem must say"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(True, ""), ValueError, "what must contain"),
    ("selfcheck.verdict", lambda: selfcheck.verdict(True, None), TypeError, "what must be a str"),
    (
        "selfcheck.compare_tensor",
        lambda: selfcheck.compare_tensor(torch.zeros(1), [0.0], WHAT),
        TypeError,
        "expected must be a tensor",
    ),
    (
        "selfcheck.compare_tensor",
        lambda: selfcheck.compare_tensor(torch.zeros(1), torch.zeros(1), WHAT, atol=-1.0),
        ValueError,
        "atol must be a number",
    ),
    (
        "selfcheck.compare_number",
        lambda: selfcheck.compare_number(1.0, float("nan"), WHAT),
        ValueError,
        "expected must be a finite number",
    ),
    (
        "selfcheck.compare_number",
        lambda: selfcheck.compare_number(1.0, 1.0, WHAT, rtol="0.1"),
        TypeError,
        "rtol must be a number",
    ),
    (
        "selfcheck.compare_set",
        lambda: selfcheck.compare_set({1}, "12", WHAT),
        TypeError,
        "expected must be an iterable",
    ),
    ("selfcheck.compare_set", lambda: selfcheck.compare_set({1}, {1}, 3), TypeError, "what must be a str"),
]


@pytest.mark.parametrize("answer", [..., None, "x", [], object(), float("nan"), torch.zeros(0)])
def test_a_wrong_answer_never_raises(answer):
    assert not selfcheck.compare_tensor(answer, torch.ones(2), WHAT)
    assert not selfcheck.compare_number(answer, 1.0, WHAT)
    assert not selfcheck.compare_set(answer, {1}, WHAT)


# The chapters' checks: each passes on its solution's answer, fails on ... and on a plausible
# wrong answer. One section per chapter, in chapter order.

# --- chapter 00 ---

TAGGED = [[("中国", "ns"), ("发展", "vn"), ("的", "u")], [("北京", "ns"), ("上海", "ns"), ("是", "v")]]


def test_richest_tag_passes_on_the_solution_and_fails_on_the_stub_and_on_a_token_count(capsys):
    assert selfcheck.richest_tag("ns", TAGGED)
    assert not selfcheck.richest_tag(..., TAGGED)
    assert not selfcheck.richest_tag("u", TAGGED)  # a tag, but not the richest
    assert not selfcheck.richest_tag("x", TAGGED)  # not a tag of the corpus
    assert not selfcheck.richest_tag(["ns"], TAGGED)
    assert "'ns'" not in capsys.readouterr().out  # the answer is never printed


def test_zipf_exponent_passes_on_minus_the_slope_and_fails_on_the_slope_itself():
    counts = [1000 / r for r in range(1, 201)]  # alpha = 1 exactly
    assert selfcheck.zipf_exponent(1.0, counts, 1, 100)
    assert not selfcheck.zipf_exponent(..., counts, 1, 100)
    assert not selfcheck.zipf_exponent(-1.0, counts, 1, 100)  # the slope, not the exponent
    assert not selfcheck.zipf_exponent(0.7, counts, 1, 100)


def test_share_longer_than_passes_on_the_share_and_fails_on_a_percentage_or_on_at_least():
    texts = ["a" * 100, "b" * 101, "c" * 5, "d" * 200]
    assert selfcheck.share_longer_than(0.5, texts, 100)
    assert not selfcheck.share_longer_than(..., texts, 100)
    assert not selfcheck.share_longer_than(50.0, texts, 100)  # a percentage
    assert not selfcheck.share_longer_than(0.75, texts, 100)  # >= instead of >


BAD_CALLS += [
    ("selfcheck.richest_tag", lambda: selfcheck.richest_tag("n", "text"), TypeError, "sentences must be a list"),
    ("selfcheck.richest_tag", lambda: selfcheck.richest_tag("n", [[("w", 1)]]), TypeError, "(word, tag) pair"),
    ("selfcheck.richest_tag", lambda: selfcheck.richest_tag("n", [[]]), ValueError, "at least one (word, tag)"),
    ("selfcheck.zipf_exponent", lambda: selfcheck.zipf_exponent(1.0, [3, 2, 0], 1, 3), ValueError, "positive"),
    ("selfcheck.zipf_exponent", lambda: selfcheck.zipf_exponent(1.0, [3, 2, 1], 1, 9), ValueError, "last must be"),
    ("selfcheck.zipf_exponent", lambda: selfcheck.zipf_exponent(1.0, [3, 2, 1], 1.0, 3), TypeError, "first must be"),
    ("selfcheck.share_longer_than", lambda: selfcheck.share_longer_than(0.5, [], 3), ValueError, "texts must hold"),
    ("selfcheck.share_longer_than", lambda: selfcheck.share_longer_than(0.5, ["ab"], -1), ValueError, "length must"),
    ("selfcheck.share_longer_than", lambda: selfcheck.share_longer_than(0.5, "ab", 1), TypeError, "texts must be"),
]

# --- chapter 01 ---

TOKENS = [["the", "cat"], ["the", "dog"], ["the", "cat", "sat"]]


def test_vocab_size_at_min_freq_passes_on_the_size_and_fails_without_the_specials(capsys):
    assert selfcheck.vocab_size_at_min_freq(4, TOKENS, 2)  # <pad>, <unk>, the, cat
    assert not selfcheck.vocab_size_at_min_freq(..., TOKENS, 2)
    assert not selfcheck.vocab_size_at_min_freq(2, TOKENS, 2)
    assert "specials" in capsys.readouterr().out
    assert not selfcheck.vocab_size_at_min_freq(6, TOKENS, 2)  # min_freq ignored


def test_unknown_characters_passes_on_the_missing_ones_and_fails_on_the_known_ones():
    vocab = {"的": 0, "新": 1, "[UNK]": 2}
    top = ["的", "在", "新", "了"]
    assert selfcheck.unknown_characters(["在", "了"], top, vocab)
    assert selfcheck.unknown_characters({"了", "在"}, top, vocab)
    assert not selfcheck.unknown_characters(..., top, vocab)
    assert not selfcheck.unknown_characters(["的", "新"], top, vocab)
    assert not selfcheck.unknown_characters("在了", top, vocab)


def test_bucketed_padding_share_passes_when_sorted_and_fails_on_the_unsorted_share():
    batch = [[1] * 10, [1], [1] * 9, [1] * 2]
    assert selfcheck.bucketed_padding_share(2 / 24, batch, 2)  # sorted: (1, 2) and (9, 10)
    assert not selfcheck.bucketed_padding_share(..., batch, 2)
    unsorted = 16 / 38  # (10, 1) and (9, 2): 9 + 7 padded cells of 20 + 18
    assert abs(unsorted - sum(int(text.pad_batch(batch[i : i + 2])[1].sum()) for i in (0, 2)) / 38) < 1e-12
    assert not selfcheck.bucketed_padding_share(unsorted, batch, 2)


def test_masked_max_passes_with_minus_infinity_and_names_a_zero_fill(capsys):
    vectors = torch.tensor([[[1.0, -2.0], [3.0, -1.0]], [[-1.0, -3.0], [0.0, 0.0]]])
    padding_mask = torch.tensor([[False, False], [False, True]])
    right = torch.tensor([[3.0, -1.0], [-1.0, -3.0]])
    assert selfcheck.masked_max(right, vectors, padding_mask)
    assert not selfcheck.masked_max(..., vectors, padding_mask)
    capsys.readouterr()
    assert not selfcheck.masked_max(torch.tensor([[3.0, -1.0], [0.0, 0.0]]), vectors, padding_mask)
    assert "-inf" in capsys.readouterr().out
    assert not selfcheck.masked_max(vectors.amax(1), vectors, padding_mask)


BAD_CALLS += [
    ("selfcheck.vocab_size_at_min_freq", lambda: selfcheck.vocab_size_at_min_freq(4, TOKENS, 0), ValueError, "min_freq"),
    ("selfcheck.vocab_size_at_min_freq", lambda: selfcheck.vocab_size_at_min_freq(4, "the cat", 1), TypeError, "token_lists"),
    ("selfcheck.unknown_characters", lambda: selfcheck.unknown_characters([], "的", {}), TypeError, "characters must be"),
    ("selfcheck.unknown_characters", lambda: selfcheck.unknown_characters([], ["的"], "的"), TypeError, "known must be"),
    ("selfcheck.unknown_characters", lambda: selfcheck.unknown_characters([], ["的"], [1]), TypeError, "known must hold"),
    ("selfcheck.bucketed_padding_share", lambda: selfcheck.bucketed_padding_share(0.1, [[1]], 0), ValueError, "batch_size"),
    ("selfcheck.bucketed_padding_share", lambda: selfcheck.bucketed_padding_share(0.1, [[1], []], 2), ValueError, "empty"),
    ("selfcheck.bucketed_padding_share", lambda: selfcheck.bucketed_padding_share(0.1, "ab", 2), TypeError, "id_lists"),
    ("selfcheck.masked_max", lambda: selfcheck.masked_max(None, torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.bool)), ValueError, "vectors must have shape"),
    ("selfcheck.masked_max", lambda: selfcheck.masked_max(None, torch.zeros(2, 3, 4), torch.zeros(2, 3)), ValueError, "padding_mask must have dtype"),
    ("selfcheck.masked_max", lambda: selfcheck.masked_max(None, torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.bool)), ValueError, "at least one real"),
]

# --- chapter 02 ---


def _softmax_context():
    generator = torch.Generator().manual_seed(0)
    out_vectors = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    v_c = torch.randn(4, generator=generator, dtype=torch.float64)
    return out_vectors, v_c, 2


def test_softmax_centre_grad_passes_the_solution_and_fails_wrong_answers():
    out_vectors, v_c, o = _softmax_context()
    p = torch.softmax(out_vectors @ v_c, dim=0)
    grad_v = -(out_vectors[o] - p @ out_vectors)
    assert selfcheck.softmax_centre_grad(grad_v, out_vectors, v_c, o)
    assert not selfcheck.softmax_centre_grad(..., out_vectors, v_c, o)
    assert not selfcheck.softmax_centre_grad(out_vectors[o] - p @ out_vectors, out_vectors, v_c, o)  # sign
    assert not selfcheck.softmax_centre_grad(-out_vectors[o], out_vectors, v_c, o)  # no expectation
    assert not selfcheck.softmax_centre_grad(grad_v[:3], out_vectors, v_c, o)


def test_ppmi_dense_passes_the_solution_and_fails_wrong_answers():
    counts = torch.tensor([[0.0, 4.0, 1.0], [4.0, 0.0, 2.0], [1.0, 2.0, 6.0]], dtype=torch.float64)
    total = counts.sum()
    with np.errstate(divide="ignore"):
        pmi = torch.log(counts * total / (counts.sum(1, keepdim=True) * counts.sum(0)))
    ppmi = torch.where(counts > 0, pmi.clamp(min=0), torch.zeros(()))
    assert selfcheck.ppmi_dense(ppmi, counts)
    assert not selfcheck.ppmi_dense(..., counts)
    assert not selfcheck.ppmi_dense(torch.nan_to_num(pmi, neginf=0.0), counts)  # negatives kept
    assert not selfcheck.ppmi_dense(ppmi, counts, cds=0.75)  # a different smoothing


def test_analogy_answer_passes_the_solution_and_fails_wrong_answers():
    from embedlab import wordvec

    vocab = wordvec.vocab_from_words(["king", "queen", "man", "woman", "apple"])
    vectors = torch.tensor(
        [[9.0, 9.0, 9.0], [9.0, 9.0, 8.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0],
         [0.0, 0.0, 1.0], [-1.0, 0.2, 0.2]]
    )
    assert selfcheck.analogy_answer("queen", vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer(..., vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer("king", vectors, vocab, "man", "king", "woman")  # a question word
    assert not selfcheck.analogy_answer("apple", vectors, vocab, "man", "king", "woman")
    assert not selfcheck.analogy_answer(["queen"], vectors, vocab, "man", "king", "woman")


BAD_CALLS += [
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., None, torch.ones(2), 0), TypeError, "out_vectors must be a tensor"),
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., torch.ones(3, 2), torch.ones(3), 0), ValueError, "v_c must have shape (D,)"),
    ("selfcheck.softmax_centre_grad", lambda: selfcheck.softmax_centre_grad(..., torch.ones(3, 2), torch.ones(2), 3), ValueError, "o must be an int >= 0 and <= 2"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., torch.ones(3)), ValueError, "counts must have shape (V, V)"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., -torch.ones(2, 2)), ValueError, "counts must be non-negative"),
    ("selfcheck.ppmi_dense", lambda: selfcheck.ppmi_dense(..., torch.ones(2, 2), cds=2.0), ValueError, "cds must be"),
    ("selfcheck.analogy_answer", lambda: selfcheck.analogy_answer("x", torch.ones(3, 2), None, "a", "b", "c"), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("selfcheck.analogy_answer", lambda: selfcheck.analogy_answer("x", torch.ones(7, 3), __import__("embedlab").wordvec.vocab_from_words(["a", "b", "c", "d", "e"]), "a", "b", "z"), ValueError, "c 'z' is not in the vocabulary"),
]


# --- chapter 03 ---


def _batch03():
    g = torch.Generator().manual_seed(0)
    token_ids = torch.tensor([[2, 3, 3, 0], [4, 2, 5, 6]])
    padding_mask = token_ids == 0
    E = torch.randn(7, 3, generator=g, dtype=torch.float64)
    E[0] = 0.0
    W = torch.randn(2, 3, generator=g, dtype=torch.float64)
    b = torch.randn(2, generator=g, dtype=torch.float64)
    labels = torch.tensor([1, 0])
    return token_ids, padding_mask, E, W, b, labels


def test_max_pool_grad_passes_on_autograd_and_names_the_mean_pooling_gradient(capsys):
    token_ids, padding_mask, E, W, b, labels = _batch03()
    leaf = E.clone().requires_grad_(True)
    rows = torch.nn.functional.embedding(token_ids, leaf).masked_fill(padding_mask.unsqueeze(-1), float("-inf"))
    torch.nn.functional.cross_entropy(rows.max(1).values @ W.T + b, labels).backward()
    assert selfcheck.max_pool_grad(leaf.grad, token_ids, padding_mask, E, W, b, labels)
    assert not selfcheck.max_pool_grad(..., token_ids, padding_mask, E, W, b, labels)
    mean_grad = grads.embedding_grad(token_ids, padding_mask, E, W, b, labels)
    capsys.readouterr()
    assert not selfcheck.max_pool_grad(mean_grad, token_ids, padding_mask, E, W, b, labels)
    assert "mean-pooling" in capsys.readouterr().out


def test_scaled_grad_by_freq_passes_on_the_scaled_rows_and_fails_on_the_plain_gradient():
    token_ids, padding_mask, E, W, b, labels = _batch03()
    plain = grads.embedding_grad(token_ids, padding_mask, E, W, b, labels)
    freq = torch.bincount(token_ids.flatten(), minlength=7).double().clamp(min=1)
    assert selfcheck.scaled_grad_by_freq(plain / freq.unsqueeze(1), token_ids, padding_mask, E, W, b, labels)
    assert not selfcheck.scaled_grad_by_freq(..., token_ids, padding_mask, E, W, b, labels)
    assert not selfcheck.scaled_grad_by_freq(plain, token_ids, padding_mask, E, W, b, labels)


def test_rows_changed_by_weight_decay_counts_the_non_zero_rows():
    E = torch.ones(5, 2)
    E[0] = 0.0
    assert selfcheck.rows_changed_by_weight_decay(4, E)
    assert not selfcheck.rows_changed_by_weight_decay(..., E)
    assert not selfcheck.rows_changed_by_weight_decay(2, E)  # only the rows of a batch
    assert not selfcheck.rows_changed_by_weight_decay(5, E)  # the zero row does not move


def test_soft_label_grad_passes_on_the_closed_form_and_fails_on_the_hard_labels():
    token_ids, padding_mask, E, W, b, labels = _batch03()
    w, beta = W[1] - W[0], b[1] - b[0]
    soft = labels.double() * 0.9 + 0.05
    right = grads.binary_embedding_grad(token_ids, padding_mask, E, w, beta, soft)
    assert selfcheck.soft_label_grad(right, token_ids, padding_mask, E, w, beta, soft)
    assert not selfcheck.soft_label_grad(..., token_ids, padding_mask, E, w, beta, soft)
    hard = grads.binary_embedding_grad(token_ids, padding_mask, E, w, beta, labels)
    assert not selfcheck.soft_label_grad(hard, token_ids, padding_mask, E, w, beta, soft)


_T3 = _batch03()
BAD_CALLS += [
    ("selfcheck.max_pool_grad", lambda: selfcheck.max_pool_grad(None, _T3[0].float(), *_T3[1:]), ValueError, "token_ids"),
    ("selfcheck.max_pool_grad", lambda: selfcheck.max_pool_grad(None, *_T3[:5], "1"), TypeError, "labels"),
    ("selfcheck.scaled_grad_by_freq", lambda: selfcheck.scaled_grad_by_freq(None, *_T3[:2], None, *_T3[3:]), TypeError, "embedding"),
    ("selfcheck.rows_changed_by_weight_decay", lambda: selfcheck.rows_changed_by_weight_decay(1, torch.ones(3)), ValueError, "weight_before"),
    ("selfcheck.rows_changed_by_weight_decay", lambda: selfcheck.rows_changed_by_weight_decay(1, [[1.0]]), TypeError, "weight_before"),
    (
        "selfcheck.soft_label_grad",
        lambda: selfcheck.soft_label_grad(None, *_T3[:3], _T3[3][1] - _T3[3][0], _T3[4][1] - _T3[4][0], torch.tensor([1.5, 0.0], dtype=torch.float64)),
        ValueError,
        "targets must be",
    ),
]

# --- chapter 04 ---


def _aligned_matrix():
    matrix = torch.randn(6, 3, generator=torch.Generator().manual_seed(0)) * 1.5
    matrix[0] = 0.0
    return matrix


def test_chapter_04_used_row_std(capsys):
    matrix = _aligned_matrix()
    assert selfcheck.used_row_std(matrix[2:].std().item(), matrix)  # the solution
    assert not selfcheck.used_row_std(..., matrix)
    assert not selfcheck.used_row_std(matrix.std().item(), matrix)  # all rows, <pad> included
    assert "rows 2, 3" in capsys.readouterr().out


def test_chapter_04_rescaled_start(capsys):
    matrix = _aligned_matrix()
    assert selfcheck.rescaled_start(matrix * (0.1 / matrix[2:].std()), matrix, 0.1)  # the solution
    assert not selfcheck.rescaled_start(..., matrix, 0.1)
    assert not selfcheck.rescaled_start(matrix / matrix.std() * 0.1, matrix, 0.1)  # all rows' std
    assert not selfcheck.rescaled_start(matrix[2:] * (0.1 / matrix[2:].std()), matrix, 0.1)  # shape
    assert "shape" in capsys.readouterr().out


def test_chapter_04_bmes_tags(capsys):
    words = ["北京大学", "生", "前来", "应聘"]
    assert selfcheck.bmes_tags(["B", "M", "M", "E", "S", "B", "E", "B", "E"], words)  # the solution
    assert selfcheck.bmes_tags("BMMESBEBE", words)
    assert not selfcheck.bmes_tags(..., words)
    assert not selfcheck.bmes_tags(["B", "M", "M", "E", "B", "B", "E", "B", "E"], words)  # 生 as B
    assert not selfcheck.bmes_tags(["B", "E"], words)
    out = capsys.readouterr().out
    assert "the first in word 2" in out and "one tag per character" in out


def test_chapter_04_adam_relative_move(capsys):
    assert selfcheck.adam_relative_move(300 * 2e-3 / 1.47, 2e-3, 300, 1.47)  # the solution
    assert not selfcheck.adam_relative_move(..., 2e-3, 300, 1.47)
    assert not selfcheck.adam_relative_move(300 * 2e-3, 2e-3, 300, 1.47)  # not divided by the std
    assert "too large" in capsys.readouterr().out


BAD_CALLS += [
    ("selfcheck.used_row_std", lambda: selfcheck.used_row_std(1.0, [[1.0]]), TypeError, "matrix must be a tensor"),
    ("selfcheck.rescaled_start", lambda: selfcheck.rescaled_start(1.0, _aligned_matrix(), -1.0), ValueError, "init_std"),
    ("selfcheck.bmes_tags", lambda: selfcheck.bmes_tags([], "北京"), TypeError, "words"),
    ("selfcheck.adam_relative_move", lambda: selfcheck.adam_relative_move(1.0, 0.0, 3, 1.0), ValueError, "lr"),
]

# --- chapter 05 ---


def test_chapter_05_sum_from_mean(capsys):
    from embedlab import pooling

    x = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[False, False, True, True], [False, False, False, False]])
    lengths = (~mask).sum(dim=1, keepdim=True)
    assert selfcheck.sum_from_mean(pooling.mean_pool(x, mask) * lengths, x, mask)  # the solution
    assert not selfcheck.sum_from_mean(..., x, mask)
    assert not selfcheck.sum_from_mean(pooling.mean_pool(x, mask) * 4, x, mask)  # times T
    assert "not by T" in capsys.readouterr().out


def test_chapter_05_nb_log_count_ratio(capsys):
    texts, labels = ["好", "好吃", "不好", "难吃"], [1, 1, 0, 0]
    counts = np.array([[0, 0, 1, 0], [0, 1, 1, 0], [1, 0, 1, 0], [0, 1, 0, 1]])  # 不 吃 好 难
    y = np.array(labels)
    p, q = 1 + counts[y == 1].sum(0), 1 + counts[y == 0].sum(0)
    assert selfcheck.nb_log_count_ratio(np.log((p / p.sum()) / (q / q.sum())), texts, labels)  # the solution
    assert not selfcheck.nb_log_count_ratio(..., texts, labels)
    assert not selfcheck.nb_log_count_ratio(np.log(p / q), texts, labels)  # no normalisation
    assert "L1 norms" in capsys.readouterr().out


def test_chapter_05_ngram_feature_count(capsys):
    words, chars = ["房间", "不", "干净"], list("房间不干净")
    assert selfcheck.ngram_feature_count(14, words, chars)  # the solution
    assert not selfcheck.ngram_feature_count(..., words, chars)
    assert not selfcheck.ngram_feature_count(8, words, chars)  # tokens only, no bigrams
    assert "bigrams" in capsys.readouterr().out


BAD_CALLS += [
    ("selfcheck.sum_from_mean", lambda: selfcheck.sum_from_mean(1.0, torch.ones(2, 3), torch.zeros(2, 3, dtype=torch.bool)), ValueError, "x"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, ["a", "b"], [1, 2]), ValueError, "labels must be"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, ["a", "b"], [1, 0], alpha=0), ValueError, "alpha"),
    ("selfcheck.nb_log_count_ratio", lambda: selfcheck.nb_log_count_ratio(1.0, "ab", [1, 0]), TypeError, "texts"),
    ("selfcheck.ngram_feature_count", lambda: selfcheck.ngram_feature_count(1, "房间", ["房"]), TypeError, "words"),
]

# --- chapter 06 ---

X06 = torch.tensor(
    [[0.0, 0.0, 1.0, 0.0], [1.0, 0.1, 0.0, 0.3], [0.2, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.8]]
)
W_Q06 = torch.zeros(4, 4)
W_Q06[1, 0] = W_Q06[0, 1] = 3.0


def test_query_prefers(capsys):
    right = W_Q06.clone()
    right[1, 3] = -2.0
    assert selfcheck.query_prefers(right, X06, W_Q06, 2, 1, 4)
    wrong_sign = W_Q06.clone()
    wrong_sign[1, 3] = 2.0  # asks for "small": prefers the cat
    assert not selfcheck.query_prefers(wrong_sign, X06, W_Q06, 2, 1, 4)
    two = right.clone()
    two[0, 0] = 1.0
    assert not selfcheck.query_prefers(two, X06, W_Q06, 2, 1, 4)
    assert not selfcheck.query_prefers(..., X06, W_Q06, 2, 1, 4)
    assert not selfcheck.query_prefers(torch.zeros(3, 3), X06, W_Q06, 2, 1, 4)
    assert "2 entries differ" in capsys.readouterr().out


def test_folded_scale_weights(capsys):
    torch.manual_seed(0)
    w_q, keys = torch.randn(3, 4), torch.randn(5, 3)
    folded = torch.softmax((X06 @ (w_q.T / 3**0.5)) @ keys.T, dim=-1)
    assert selfcheck.folded_scale_weights(folded, X06, w_q, keys)
    unscaled = torch.softmax((X06 @ w_q.T) @ keys.T, dim=-1)
    assert not selfcheck.folded_scale_weights(unscaled, X06, w_q, keys)
    assert "unscaled" in capsys.readouterr().out
    assert not selfcheck.folded_scale_weights(folded.T, X06, w_q, keys)
    assert not selfcheck.folded_scale_weights(..., X06, w_q, keys)


def test_rows_without_keys(capsys):
    right_padded = torch.tensor([[False, False, True, True], [False, False, False, False]])
    assert selfcheck.rows_without_keys(0, right_padded)
    left_padded = right_padded.flip(-1)
    assert selfcheck.rows_without_keys(2, left_padded)
    assert not selfcheck.rows_without_keys(2, right_padded)  # the left-padding count
    assert not selfcheck.rows_without_keys(..., right_padded)
    assert "too large" in capsys.readouterr().out


def _rollout(weights, reverse=False, identity=True):
    eye = torch.eye(weights.shape[-1])
    out = eye
    for layer in range(weights.shape[0]):
        a = weights[layer].mean(0) + (eye if identity else 0)
        a = a / a.sum(-1, keepdim=True)
        out = out @ a if reverse else a @ out
    return out


def test_attention_rollout(capsys):
    weights = torch.softmax(torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(1)), dim=-1)
    assert selfcheck.attention_rollout(_rollout(weights), weights)
    assert not selfcheck.attention_rollout(_rollout(weights, reverse=True), weights)
    assert "wrong order" in capsys.readouterr().out
    assert not selfcheck.attention_rollout(_rollout(weights, identity=False), weights)
    assert not selfcheck.attention_rollout(..., weights)


def test_sinusoidal_shift_matrix(capsys):
    from embedlab import attention

    right = attention.sinusoidal_shift(3, 8).double()
    assert selfcheck.sinusoidal_shift_matrix(right, 3, 8)
    assert not selfcheck.sinusoidal_shift_matrix(right.T, 3, 8)
    assert "transpose" in capsys.readouterr().out
    assert not selfcheck.sinusoidal_shift_matrix(torch.eye(8), 3, 8)
    assert not selfcheck.sinusoidal_shift_matrix(..., 3, 8)


def test_kv_cache_bytes(capsys):
    right = 2 * 6 * 8 * 12 * 512 * 32 * 4
    assert selfcheck.kv_cache_bytes(right, 6, 8, 12, 512, 32, 4)
    assert not selfcheck.kv_cache_bytes(right // 2, 6, 8, 12, 512, 32, 4)
    assert "keys and values" in capsys.readouterr().out
    assert not selfcheck.kv_cache_bytes(right * 2, 6, 8, 12, 512, 32, 4)
    assert not selfcheck.kv_cache_bytes(..., 6, 8, 12, 512, 32, 4)


BAD_CALLS += [
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, [[1.0]], W_Q06, 2, 1, 4), TypeError, "x must be a tensor"),
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, X06, torch.zeros(3, 3), 2, 1, 4), ValueError, "w_q must have shape (D, D)"),
    ("selfcheck.query_prefers", lambda: selfcheck.query_prefers(W_Q06, X06, W_Q06, 9, 1, 4), ValueError, "query must be an int"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, X06, torch.zeros(3, 5), torch.zeros(5, 3)), ValueError, "w_q must have shape (Dk, D)"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, "x", W_Q06, X06), TypeError, "x must be a tensor"),
    ("selfcheck.folded_scale_weights", lambda: selfcheck.folded_scale_weights(None, X06, W_Q06, torch.zeros(4, 4)), ValueError, "keys must have shape (T, Dk)"),
    ("selfcheck.rows_without_keys", lambda: selfcheck.rows_without_keys(0, torch.zeros(2, 3)), ValueError, "padding_mask must have dtype torch.bool"),
    ("selfcheck.rows_without_keys", lambda: selfcheck.rows_without_keys(0, None), TypeError, "padding_mask must be a tensor"),
    ("selfcheck.attention_rollout", lambda: selfcheck.attention_rollout(None, torch.zeros(2, 4, 4)), ValueError, "weights must have shape (L, H, T, T)"),
    ("selfcheck.attention_rollout", lambda: selfcheck.attention_rollout(None, torch.zeros(1, 1, 3, 4)), ValueError, "weights must be square"),
    ("selfcheck.sinusoidal_shift_matrix", lambda: selfcheck.sinusoidal_shift_matrix(None, 3, 7), ValueError, "emb_dim must be even"),
    ("selfcheck.sinusoidal_shift_matrix", lambda: selfcheck.sinusoidal_shift_matrix(None, 1.5, 8), TypeError, "offset must be an int"),
    ("selfcheck.kv_cache_bytes", lambda: selfcheck.kv_cache_bytes(1, 0, 1, 1, 1, 1, 4), ValueError, "num_layers must be an int >= 1"),
    ("selfcheck.kv_cache_bytes", lambda: selfcheck.kv_cache_bytes(1, 6, 1, 1, 1, 1, 4.0), TypeError, "bytes_per_number must be an int"),
]

# --- chapter 07 ---

from embedlab import encoder as _encoder  # noqa: E402
from embedlab import train as _train  # noqa: E402

_SIZES_07 = dict(vocab_size=300, emb_dim=32, num_heads=4, ffn_dim=64, num_layers=2)


def _formula_07(v, d, f, layers, c=2, norm_first=True):
    block = 4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d
    return v * d + layers * block + (2 * d if norm_first else 0) + d * c + c


def test_encoder_parameters_passes_the_formula_and_fails_without_the_final_norm(capsys):
    right = _formula_07(300, 32, 64, 2)
    assert selfcheck.encoder_parameters(right, **_SIZES_07)
    assert not selfcheck.encoder_parameters(..., **_SIZES_07)
    capsys.readouterr()
    assert not selfcheck.encoder_parameters(right - 2 * 32, **_SIZES_07)
    out = capsys.readouterr().out
    assert "one more LayerNorm" in out and str(right) not in out
    assert not selfcheck.encoder_parameters(right - 2 * 32 * 2, **_SIZES_07)  # forgot the LayerNorms
    assert selfcheck.encoder_parameters(_formula_07(300, 32, 64, 2, norm_first=False), **_SIZES_07, norm_first=False)
    assert not selfcheck.encoder_parameters("many", **_SIZES_07)


_CONFIG_07 = _encoder.EncoderConfig(vocab_size=40, emb_dim=16, num_heads=2, ffn_dim=32, num_layers=3, max_len=8,
                                    norm_first=False, seed=1)
_IDS_07 = torch.randint(2, 40, (3, 8), generator=torch.Generator().manual_seed(0))
_MASK_07 = torch.arange(8)[None, :] >= torch.tensor([8, 5, 2])[:, None]


def _stds_by_hand_07(real_only=True):
    model = _encoder.EncoderClassifier(_CONFIG_07)
    keep = ~_MASK_07 if real_only else torch.ones_like(_MASK_07)
    with torch.no_grad():
        h = model.positions(model.embedding(_IDS_07))
        stds = [h[keep].std(correction=0).item()]
        for block in model.blocks:
            h, _ = block(h, _MASK_07)
            stds.append(h[keep].std(correction=0).item())
    return stds


def test_block_stds_passes_the_loop_and_fails_with_padding_counted(capsys):
    assert selfcheck.block_stds(_stds_by_hand_07(), _CONFIG_07, _IDS_07, _MASK_07)
    assert selfcheck.block_stds(torch.tensor(_stds_by_hand_07()), _CONFIG_07, _IDS_07, _MASK_07)
    assert not selfcheck.block_stds(..., _CONFIG_07, _IDS_07, _MASK_07)
    capsys.readouterr()
    assert not selfcheck.block_stds(_stds_by_hand_07(real_only=False), _CONFIG_07, _IDS_07, _MASK_07)
    assert "real positions only" in capsys.readouterr().out
    assert not selfcheck.block_stds(_stds_by_hand_07()[1:], _CONFIG_07, _IDS_07, _MASK_07)  # the input left out
    assert not selfcheck.block_stds([1.0, "a"], _CONFIG_07, _IDS_07, _MASK_07)


_A_07 = (torch.rand(3, 500, generator=torch.Generator().manual_seed(0)) < 0.8).double()
_B_07 = ((_A_07[:2] + (torch.rand(2, 500, generator=torch.Generator().manual_seed(1)) < 0.1)) == 1).double()


def test_paired_standard_error_passes_the_paired_one_and_fails_the_unpaired_one(capsys):
    a, b = _A_07.mean(0), _B_07.mean(0)
    paired = ((a - b).std() / 500**0.5).item()
    unpaired = ((a.var() / 500 + b.var() / 500) ** 0.5).item()
    assert unpaired > 1.05 * paired  # the test's data are correlated, as two classifiers' errors are
    assert selfcheck.paired_standard_error(paired, _A_07, _B_07)
    assert not selfcheck.paired_standard_error(..., _A_07, _B_07)
    capsys.readouterr()
    assert not selfcheck.paired_standard_error(unpaired, _A_07, _B_07)
    assert "pair the items" in capsys.readouterr().out
    assert not selfcheck.paired_standard_error(paired * 500**0.5, _A_07, _B_07)  # forgot the sqrt(N)


BAD_CALLS += [
    ("selfcheck.encoder_parameters", lambda: selfcheck.encoder_parameters(1, **{**_SIZES_07, "emb_dim": 30, "num_heads": 4}), ValueError, "divisible by num_heads"),
    ("selfcheck.encoder_parameters", lambda: selfcheck.encoder_parameters(1, **{**_SIZES_07, "num_layers": -1}), ValueError, "num_layers must be an int >= 0"),
    ("selfcheck.block_stds", lambda: selfcheck.block_stds([1.0], {"vocab_size": 40}, _IDS_07, _MASK_07), TypeError, "config must be an encoder.EncoderConfig"),
    ("selfcheck.block_stds", lambda: selfcheck.block_stds([1.0], _CONFIG_07, _IDS_07 + 40, _MASK_07), ValueError, "token_ids must hold ids in [0, 39]"),
    ("selfcheck.paired_standard_error", lambda: selfcheck.paired_standard_error(0.1, [[1.0]], _B_07), TypeError, "a_correct must be a tensor"),
    ("selfcheck.paired_standard_error", lambda: selfcheck.paired_standard_error(0.1, _A_07, _B_07[:, :3]), ValueError, "b_correct must have shape"),
]

# --- chapter 08 ---


def _ch08_lora():
    from embedlab import finetune

    layer = finetune.LoRALinear(torch.nn.Linear(6, 4), 2, 4.0, torch.Generator().manual_seed(0))
    layer.lora_B.data = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    return layer


def test_ch08_lora_parameter_count():
    model = torch.nn.Sequential(_ch08_lora(), _ch08_lora())
    assert selfcheck.lora_parameter_count(2 * (2 * 6 + 4 * 2), model)
    assert not selfcheck.lora_parameter_count(..., model)
    assert not selfcheck.lora_parameter_count(2 * 6 * 4, model)  # counted W instead of A and B
    assert not selfcheck.lora_parameter_count("20", model)


def test_ch08_merged_lora_weight():
    layer = _ch08_lora()
    right = layer.base.weight + 2.0 * layer.lora_B @ layer.lora_A
    assert selfcheck.merged_lora_weight(right.detach(), layer)
    assert not selfcheck.merged_lora_weight(..., layer)
    assert not selfcheck.merged_lora_weight((layer.base.weight + layer.lora_B @ layer.lora_A).detach(), layer)
    assert not selfcheck.merged_lora_weight((layer.lora_A.T @ layer.lora_B.T).detach(), layer)  # shape


def test_ch08_rows_that_move():
    ids = torch.tensor([[101, 7, 102, 0], [101, 9, 9, 102]])
    mask = ids == 0
    assert selfcheck.rows_that_move({101, 7, 102, 9}, ids, mask)
    assert selfcheck.rows_that_move(torch.tensor([7, 9, 101, 102]), ids, mask)
    assert not selfcheck.rows_that_move(..., ids, mask)
    assert not selfcheck.rows_that_move(set(ids.unique().tolist()), ids, mask)  # the padding row too
    assert not selfcheck.rows_that_move({7, 9}, ids, mask)  # forgot [CLS] and [SEP]


CH08_IDS = torch.tensor([[101, 7, 102, 0]])
BAD_CALLS += [
    ("selfcheck.lora_parameter_count", lambda: selfcheck.lora_parameter_count(1, "model"), TypeError, "model must be an nn.Module"),
    ("selfcheck.lora_parameter_count", lambda: selfcheck.lora_parameter_count(1, torch.nn.Linear(2, 2)), ValueError, "model must hold LoRA layers"),
    ("selfcheck.merged_lora_weight", lambda: selfcheck.merged_lora_weight(1, torch.nn.Linear(2, 2)), TypeError, "layer must be a finetune.LoRALinear"),
    ("selfcheck.rows_that_move", lambda: selfcheck.rows_that_move({1}, CH08_IDS.float(), CH08_IDS == 0), ValueError, "token_ids must have dtype torch.int64"),
    ("selfcheck.rows_that_move", lambda: selfcheck.rows_that_move({1}, CH08_IDS, CH08_IDS[:, :2] == 0), ValueError, "padding_mask must have shape"),
]


# --- chapter 09 ---

SCORES_09 = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.2], [0.2, 0.8, 0.7, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4, 0.5]])
OTHER_09 = torch.tensor([[0.1, 0.2, 0.9, 0.3, 0.0], [0.9, 0.1, 0.7, 0.2, 0.3], [0.5, 0.4, 0.3, 0.2, 0.1]])
RELEVANT_09 = torch.tensor([
    [False, False, True, True, False], [False, False, True, False, False], [True, False, False, False, False],
])


def test_recall_by_hand_passes_on_the_solution_and_fails_on_precision(capsys):
    from embedlab import retrieval

    top = SCORES_09.topk(2, dim=1).indices
    recall = RELEVANT_09.gather(1, top).sum(dim=1).double() / RELEVANT_09.sum(dim=1).double()
    assert selfcheck.recall_by_hand(recall, SCORES_09, RELEVANT_09, 2)
    assert torch.equal(recall, retrieval.recall_at_k(SCORES_09, RELEVANT_09, 2))
    precision = RELEVANT_09.gather(1, top).sum(dim=1).double() / 2  # divided by k: a plausible slip
    assert not selfcheck.recall_by_hand(precision, SCORES_09, RELEVANT_09, 2)
    assert not selfcheck.recall_by_hand(..., SCORES_09, RELEVANT_09, 2)
    assert "not by k" in capsys.readouterr().out


def _fusion(a, b, c=60):
    from embedlab import retrieval

    def ranks(s):
        return s.argsort(dim=1, descending=True, stable=True).argsort(dim=1) + 1

    fused = 1 / (c + ranks(a)) + 1 / (c + ranks(b))
    return retrieval.reciprocal_rank(fused.double(), RELEVANT_09).mean().item()


def test_fused_mrr_passes_on_the_solution_and_fails_on_a_sum_of_scores(capsys):
    from embedlab import retrieval

    assert selfcheck.fused_mrr(_fusion(SCORES_09, OTHER_09), SCORES_09, OTHER_09, RELEVANT_09)
    summed = retrieval.reciprocal_rank((SCORES_09 + OTHER_09).double(), RELEVANT_09).mean().item()
    assert not selfcheck.fused_mrr(summed, SCORES_09, OTHER_09, RELEVANT_09)  # scores added, not ranks
    assert not selfcheck.fused_mrr(_fusion(SCORES_09, OTHER_09, c=0), SCORES_09, OTHER_09, RELEVANT_09)
    assert not selfcheck.fused_mrr(..., SCORES_09, OTHER_09, RELEVANT_09)
    assert not selfcheck.fused_mrr("0.5", SCORES_09, OTHER_09, RELEVANT_09)
    assert "not yet" in capsys.readouterr().out


def test_scaling_exponent_passes_on_the_fit_and_fails_on_a_two_point_slope():
    sizes = [1e3, 4e3, 1.6e4, 6.4e4]
    seconds = [1e-3, 3e-3, 1.5e-2, 6e-2]
    from embedlab import retrieval

    assert selfcheck.scaling_exponent(retrieval.power_law_exponent(sizes, seconds), sizes, seconds)
    two_point = float(np.log(seconds[-1] / seconds[0]) / np.log(sizes[-1] / sizes[0]))
    assert not selfcheck.scaling_exponent(two_point, sizes, seconds)
    assert not selfcheck.scaling_exponent(1.0, sizes, seconds)  # "it is linear", without fitting
    assert not selfcheck.scaling_exponent(..., sizes, seconds)


BAD_CALLS += [
    ("selfcheck.recall_by_hand", lambda: selfcheck.recall_by_hand(..., SCORES_09, RELEVANT_09, 0), ValueError, "k must be an int >= 1"),
    ("selfcheck.recall_by_hand", lambda: selfcheck.recall_by_hand(..., SCORES_09.tolist(), RELEVANT_09, 1), TypeError, "scores must be a tensor"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., SCORES_09, OTHER_09[:, :2], RELEVANT_09), ValueError, "scores_b must have shape"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., SCORES_09, OTHER_09, RELEVANT_09, c=-1), ValueError, "c must be an int >= 0"),
    ("selfcheck.fused_mrr", lambda: selfcheck.fused_mrr(..., None, OTHER_09, RELEVANT_09), TypeError, "scores_a must be a tensor"),
    ("selfcheck.scaling_exponent", lambda: selfcheck.scaling_exponent(..., [1, 1], [1, 2]), ValueError, "at least 2 distinct"),
    ("selfcheck.scaling_exponent", lambda: selfcheck.scaling_exponent(..., None, [1, 2]), TypeError, "sizes must be a sequence"),
]
