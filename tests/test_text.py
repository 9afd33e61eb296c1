"""Tests of embedlab.text: tokenizers, Vocab, coverage, and the two batch layouts."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from embedlab import text
from embedlab.text import PAD, PAD_ID, UNK, UNK_ID, Coverage, Vocab

# Small, fixed and repeatable: hypothesis draws the same examples on every run and stores none.
PROPERTY = settings(max_examples=60, derandomize=True, deadline=None, database=None)

# Tokens from a small alphabet, so that generated sentences share tokens and counts tie often.
TOKENS = st.text(alphabet="abcde狗猫", min_size=1, max_size=3)
SENTENCES = st.lists(st.lists(TOKENS, min_size=0, max_size=8), min_size=1, max_size=8)


# ---------------------------------------------------------------------------------------------
# Tokenizers


def test_tokenize_en_words_punctuation_and_apostrophes():
    assert text.tokenize_en("The dog didn't bark!") == ["the", "dog", "didn't", "bark", "!"]
    assert text.tokenize_en("The dog didn't bark!", lower=False) == ["The", "dog", "didn't", "bark", "!"]
    assert text.tokenize_en("3 cats, 2 dogs.") == ["3", "cats", ",", "2", "dogs", "."]


def test_tokenize_zh_chars_drops_white_space():
    assert text.tokenize_zh_chars("新 世纪\n") == ["新", "世", "纪"]


def test_tokenize_zh_words_is_jieba_without_spaces():
    import jieba

    phrase = "南京市长江大桥 研究生命的起源"
    expected = [w for w in jieba.lcut(phrase) if not w.isspace()]
    assert text.tokenize_zh_words(phrase) == expected
    assert "".join(text.tokenize_zh_words(phrase)) == phrase.replace(" ", "")
    assert text.tokenize_zh_words("南京市长江大桥") == ["南京市", "长江大桥"]


@pytest.mark.parametrize("tokenize", [text.tokenize_en, text.tokenize_zh_chars, text.tokenize_zh_words])
@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_tokenizers_reject_empty_text(tokenize, bad):
    with pytest.raises(ValueError, match="text must contain at least one non-space character"):
        tokenize(bad)


@pytest.mark.parametrize("tokenize", [text.tokenize_en, text.tokenize_zh_chars, text.tokenize_zh_words])
def test_tokenizers_reject_none_and_non_strings(tokenize):
    with pytest.raises(TypeError, match="text must be a str, got None"):
        tokenize(None)
    with pytest.raises(TypeError, match="text must be a str, got a bytes"):
        tokenize(b"dog")
    with pytest.raises(TypeError, match="text must be a str, got a list"):
        tokenize(["dog"])


# ---------------------------------------------------------------------------------------------
# Vocab


TOY = [["the", "dog", "chased", "the", "cat"], ["the", "cat", "sat"], ["a", "dog", "barked"]]


def test_build_orders_by_frequency_then_token():
    vocab = Vocab.build(TOY)
    assert vocab.itos == [PAD, UNK, "the", "cat", "dog", "a", "barked", "chased", "sat"]
    assert (vocab.stoi[PAD], vocab.stoi[UNK]) == (PAD_ID, UNK_ID) == (0, 1)
    assert vocab.counts == {"the": 3, "cat": 2, "dog": 2, "a": 1, "barked": 1, "chased": 1, "sat": 1}
    assert len(vocab) == 9
    assert "dog" in vocab and "bird" not in vocab
    assert repr(vocab) == "Vocab(size=9, first=[the, cat, dog, a, barked, ...])"


def test_build_min_freq_and_max_size():
    assert Vocab.build(TOY, min_freq=2).itos == [PAD, UNK, "the", "cat", "dog"]
    assert Vocab.build(TOY, max_size=4).itos == [PAD, UNK, "the", "cat"]
    assert Vocab.build(TOY, max_size=2).itos == [PAD, UNK]
    assert Vocab.build(TOY, min_freq=4).itos == [PAD, UNK]
    assert Vocab.build(TOY, max_size=100).itos == Vocab.build(TOY).itos


def test_build_never_duplicates_the_specials():
    vocab = Vocab.build([["<unk>", "<pad>", "x", "<unk>"]])
    assert vocab.itos == [PAD, UNK, "x"]


def test_build_accepts_a_generator_once():
    vocab = Vocab.build(s for s in TOY)
    assert vocab.itos == Vocab.build(TOY).itos


@pytest.mark.parametrize("min_freq, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
                                             ("2", TypeError), (None, TypeError)])
def test_build_rejects_bad_min_freq(min_freq, error):
    with pytest.raises(error, match="min_freq must be an int"):
        Vocab.build(TOY, min_freq=min_freq)


@pytest.mark.parametrize("max_size", [0, 1, -5])
def test_build_rejects_max_size_below_the_specials(max_size):
    with pytest.raises(ValueError, match=r"max_size must be at least 2 \(room for"):
        Vocab.build(TOY, max_size=max_size)


@pytest.mark.parametrize("max_size", [2.0, "3", True])
def test_build_rejects_non_int_max_size(max_size):
    with pytest.raises(TypeError, match="max_size must be an int"):
        Vocab.build(TOY, max_size=max_size)


def test_build_rejects_non_string_tokens_and_bare_strings():
    with pytest.raises(TypeError, match=r"token_lists\[1\]\[0\] must be a str, got int"):
        Vocab.build([["a"], [3]])
    with pytest.raises(TypeError, match=r"token_lists\[0\]\[1\] must be a str, got NoneType"):
        Vocab.build([["a", None]])
    with pytest.raises(TypeError, match=r"token_lists\[0\] must be a sequence of tokens, got a str"):
        Vocab.build(["the dog"])


def test_init_checks_its_list():
    assert Vocab([PAD, UNK, "x"]).stoi == {PAD: 0, UNK: 1, "x": 2}
    with pytest.raises(ValueError, match="itos must start with"):
        Vocab(["x", PAD, UNK])
    with pytest.raises(TypeError, match=r"itos\[2\] must be a str, got int"):
        Vocab([PAD, UNK, 7])
    with pytest.raises(ValueError, match="itos must not repeat tokens"):
        Vocab([PAD, UNK, "x", "x"])


def test_encode_and_decode():
    vocab = Vocab.build(TOY)
    ids = vocab.encode(["the", "cat", "chased", "a", "bird"])
    assert ids == [2, 3, 7, 5, UNK_ID]
    assert vocab.decode(ids) == ["the", "cat", "chased", "a", UNK]
    assert vocab.decode(torch.tensor(ids)) == vocab.decode(ids)
    assert vocab.encode([]) == [] and vocab.decode([]) == []


def test_encode_rejects_strings_and_non_string_tokens():
    vocab = Vocab.build(TOY)
    with pytest.raises(TypeError, match="tokens must be a list of str, got a single str"):
        vocab.encode("the cat")
    with pytest.raises(TypeError, match=r"tokens\[1\] must be a str, got int"):
        vocab.encode(["the", 3])
    with pytest.raises(TypeError, match=r"tokens\[0\] must be a str, got None"):
        vocab.encode([None])


@pytest.mark.parametrize("bad_id", [9, 99, -1])
def test_decode_rejects_ids_outside_the_vocabulary(bad_id):
    vocab = Vocab.build(TOY)
    with pytest.raises(ValueError, match=rf"ids\[1\] must be an int >= 0 and < 9, got {bad_id}"):
        vocab.decode([2, bad_id])
    with pytest.raises(ValueError, match=rf"ids must hold ids in \[0, 8\], got {bad_id}"):
        vocab.decode(torch.tensor([2, bad_id]))


@pytest.mark.parametrize("bad_id", [2.0, True, "2", None])
def test_decode_rejects_non_int_ids(bad_id):
    with pytest.raises(TypeError, match=r"ids\[0\] must be an int"):
        Vocab.build(TOY).decode([bad_id])


def test_coverage_counts_running_and_distinct_tokens():
    vocab = Vocab.build(TOY, max_size=4)  # the, cat
    report = vocab.coverage(TOY + [["bird", "the"]])
    assert report == Coverage(token_share=6 / 13, type_share=2 / 8, tokens=13, types=8)


def test_coverage_ignores_special_tokens_in_the_corpus():
    report = Vocab.build(TOY).coverage([["<unk>", "the"]])
    assert report.token_share == 0.5 and report.type_share == 0.5


def test_coverage_rejects_an_empty_corpus():
    with pytest.raises(ValueError, match="token_lists must contain at least one token"):
        Vocab.build(TOY).coverage([[], []])


def test_count_tokens():
    counts = text.count_tokens(TOY)
    assert counts["the"] == 3 and counts["sat"] == 1 and sum(counts.values()) == 11


# ---------------------------------------------------------------------------------------------
# Coverage curves


def test_coverage_curve_values():
    curve = text.coverage_curve(TOY)  # counts 3, 2, 2, 1, 1, 1, 1 of 11
    expected = torch.tensor([3, 5, 7, 8, 9, 10, 11], dtype=torch.float64) / 11
    torch.testing.assert_close(curve, expected, rtol=0, atol=1e-15)
    assert curve.dtype == torch.float64 and float(curve[-1]) == 1.0


def test_coverage_curve_matches_vocab_coverage():
    corpus = [random.Random(n).choices("abcdefghij", weights=range(1, 11), k=20) for n in range(30)]
    curve = text.coverage_curve(corpus)
    for k in range(1, len(curve) + 1):
        share = Vocab.build(corpus, max_size=k + 2).coverage(corpus).token_share
        assert share == pytest.approx(float(curve[k - 1]), abs=1e-12)


def test_types_for_coverage():
    curve = text.coverage_curve(TOY)  # 3/11, 5/11, 7/11, 8/11, ...
    assert text.types_for_coverage(curve, 0.27) == 1
    assert text.types_for_coverage(curve, 5 / 11) == 2
    assert text.types_for_coverage(curve, 0.5) == 3
    assert text.types_for_coverage(curve, 1.0) == 7
    assert text.types_for_coverage(curve, 1) == 7


def test_coverage_curve_rejects_an_empty_corpus():
    with pytest.raises(ValueError, match="token_lists must contain at least one token"):
        text.coverage_curve([[]])


@pytest.mark.parametrize("share, error", [(0, ValueError), (-0.1, ValueError), (1.01, ValueError),
                                          (True, TypeError), ("0.5", TypeError), (None, TypeError)])
def test_types_for_coverage_rejects_bad_share(share, error):
    with pytest.raises(error, match=r"share must be a number"):
        text.types_for_coverage(text.coverage_curve(TOY), share)


@pytest.mark.parametrize("curve, error, match", [
    (torch.tensor([]), ValueError, "curve must hold at least one entry"),
    (torch.ones(2, 2), ValueError, r"curve must have shape \(types,\)"),
    ([0.5, 1.0], TypeError, r"curve must be a tensor of shape \(types,\)"),
    (torch.tensor([1, 2]), ValueError, "curve must have a floating-point dtype"),
    (torch.tensor([0.5, float("nan")]), ValueError, "curve must hold finite numbers"),
])
def test_types_for_coverage_rejects_bad_curve(curve, error, match):
    with pytest.raises(error, match=match):
        text.types_for_coverage(curve, 0.5)


# ---------------------------------------------------------------------------------------------
# Batches


@pytest.mark.parametrize("lengths", [[1], [3, 1, 2], [5, 5], [0, 4, 1, 7]])
def test_pad_batch_shapes_values_and_mask(lengths):
    id_lists = [list(range(2, 2 + n)) for n in lengths]
    token_ids, padding_mask = text.pad_batch(id_lists)
    assert token_ids.shape == padding_mask.shape == (len(lengths), max(lengths))
    assert token_ids.dtype == torch.long and padding_mask.dtype == torch.bool
    for b, ids in enumerate(id_lists):
        assert token_ids[b, : len(ids)].tolist() == ids
        assert (token_ids[b, len(ids):] == PAD_ID).all()
        assert padding_mask[b].tolist() == [False] * len(ids) + [True] * (max(lengths) - len(ids))


def test_pad_batch_max_len_cuts_and_pads():
    token_ids, padding_mask = text.pad_batch([[2, 3, 4, 5], [6]], max_len=3)
    assert token_ids.tolist() == [[2, 3, 4], [6, 0, 0]]
    assert padding_mask.tolist() == [[False, False, False], [False, True, True]]
    token_ids, _ = text.pad_batch([[2]], max_len=3, pad_id=9)
    assert token_ids.tolist() == [[2, 9, 9]]


def test_pad_batch_accepts_tuples_and_ranges():
    token_ids, _ = text.pad_batch(((2, 3), range(4, 5)))
    assert token_ids.tolist() == [[2, 3], [4, 0]]


def test_pad_batch_errors():
    with pytest.raises(ValueError, match="id_lists must hold at least one of its id sequences"):
        text.pad_batch([])
    with pytest.raises(TypeError, match="id_lists must be a list or tuple of id sequences, got a tensor"):
        text.pad_batch(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"id_lists\[1\] must be a list of int ids, got int"):
        text.pad_batch([[2], 3])
    with pytest.raises(TypeError, match=r"id_lists\[0\] must be a list of int ids, got str"):
        text.pad_batch(["23"])
    with pytest.raises(ValueError, match="every sequence in id_lists is empty"):
        text.pad_batch([[], []])
    for bad, error in ((0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="max_len must be an int"):
            text.pad_batch([[2]], max_len=bad)


def test_to_bag_layout():
    flat_ids, offsets = text.to_bag([[2, 3, 4], [5], [], [6, 7]])
    assert flat_ids.tolist() == [2, 3, 4, 5, 6, 7]
    assert offsets.tolist() == [0, 3, 4, 4]
    assert flat_ids.dtype == offsets.dtype == torch.long


def test_to_bag_errors():
    with pytest.raises(ValueError, match="id_lists must hold at least one of its id sequences"):
        text.to_bag([])
    with pytest.raises(TypeError, match=r"id_lists\[0\] must be a list of int ids, got int"):
        text.to_bag([7])


@pytest.mark.parametrize("mode", ["mean", "sum", "max"])
@pytest.mark.parametrize("lengths", [[1], [4, 2, 3], [6, 1]])
def test_both_layouts_give_pytorchs_embedding_bag(mode, lengths):
    generator = torch.Generator().manual_seed(sum(lengths))
    weights = torch.randn(10, 5, generator=generator)
    id_lists = [torch.randint(2, 10, (n,), generator=generator).tolist() for n in lengths]
    flat_ids, offsets = text.to_bag(id_lists)
    expected = nn.EmbeddingBag.from_pretrained(weights, mode=mode)(flat_ids, offsets)  # (B, D)
    token_ids, padding_mask = text.pad_batch(id_lists)
    vectors = nn.functional.embedding(token_ids, weights)  # (B, T, D)
    pad = padding_mask.unsqueeze(-1)  # (B, T, 1)
    if mode == "max":
        ours = vectors.masked_fill(pad, float("-inf")).amax(dim=1)
    else:
        ours = vectors.masked_fill(pad, 0.0).sum(dim=1)
        if mode == "mean":
            ours = ours / (~pad).sum(dim=1)
    torch.testing.assert_close(ours, expected)


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis)


@PROPERTY
@given(SENTENCES, st.data())
def test_encode_then_decode_returns_known_tokens(sentences, data):
    vocab = Vocab.build(sentences)
    known = [t for t in vocab.itos if t not in (PAD, UNK)]
    tokens = data.draw(st.lists(st.sampled_from(known), max_size=10)) if known else []
    assert vocab.decode(vocab.encode(tokens)) == tokens


@PROPERTY
@given(SENTENCES, st.randoms(use_true_random=False), st.integers(1, 3), st.none() | st.integers(2, 8))
def test_ids_do_not_depend_on_input_order(sentences, rng, min_freq, max_size):
    shuffled = [rng.sample(s, len(s)) for s in sentences]
    rng.shuffle(shuffled)
    first = Vocab.build(sentences, min_freq=min_freq, max_size=max_size)
    second = Vocab.build(shuffled, min_freq=min_freq, max_size=max_size)
    assert first.itos == second.itos
    counts = [first.counts[t] for t in first.itos[2:]]
    assert counts == sorted(counts, reverse=True)
    assert all(c >= min_freq for c in counts)
    assert max_size is None or len(first) <= max_size


@PROPERTY
@given(SENTENCES, st.lists(st.text(alphabet="xyz", min_size=1, max_size=3), min_size=1, max_size=6))
def test_unknown_tokens_map_to_unk(sentences, strangers):
    vocab = Vocab.build(sentences)  # its tokens use other letters than the strangers
    assert vocab.encode(strangers) == [UNK_ID] * len(strangers)
    assert vocab.decode(vocab.encode(strangers)) == [UNK] * len(strangers)


@PROPERTY
@given(st.lists(st.lists(st.integers(2, 50), max_size=7), min_size=1, max_size=6))
def test_flat_ids_are_the_unpadded_cells_in_order(id_lists):
    flat_ids, offsets = text.to_bag(id_lists)
    assert flat_ids.tolist() == [i for ids in id_lists for i in ids]
    if any(id_lists):
        token_ids, padding_mask = text.pad_batch(id_lists)
        assert token_ids[~padding_mask].tolist() == flat_ids.tolist()
        lengths = (~padding_mask).sum(dim=1)
        assert offsets.tolist() == (torch.cumsum(lengths, 0) - lengths).tolist()


def test_with_ngrams_lists_unigrams_then_each_order():
    assert text.with_ngrams(["不", "好", "吃"], 2, sep="") == ["不", "好", "吃", "不好", "好吃"]
    assert text.with_ngrams(["价格", "不", "贵"], 3, mark="w:") == [
        "w:价格", "w:不", "w:贵", "w:价格 不", "w:不 贵", "w:价格 不 贵"]
    assert text.with_ngrams(["好"], 3) == ["好"]  # too short for any bigram
    assert text.with_ngrams([], 2) == []
    assert text.with_ngrams(["a", "b"], 1) == ["a", "b"]


@given(st.lists(st.sampled_from(list("不好吃很贵")), max_size=12), st.integers(1, 4))
@settings(derandomize=True, max_examples=50)
def test_with_ngrams_counts(tokens, n):
    items = text.with_ngrams(tokens, n, sep="|")
    assert len(items) == sum(max(len(tokens) - k + 1, 0) for k in range(1, n + 1))
    assert items[: len(tokens)] == tokens


def test_with_ngrams_bad_arguments():
    with pytest.raises(TypeError, match="tokens must be a list of str"):
        text.with_ngrams("不好", 2)
    with pytest.raises(TypeError, match=r"tokens\[1\] must be a str, got int"):
        text.with_ngrams(["不", 3], 2)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        text.with_ngrams(["不"], 0)
    with pytest.raises(TypeError, match="sep must be a str"):
        text.with_ngrams(["不"], 2, sep=None)


# ---------------------------------------------------------------------------------------------
# Padding masks from lengths; huge n-gram orders


@pytest.mark.parametrize("lengths, max_len", [([3, 0, 2], None), ([1], 4), ([0, 0], 0), ([2, 5], 5)])
def test_padding_mask_from_lengths(lengths, max_len):
    mask = text.padding_mask_from_lengths(torch.tensor(lengths), max_len)
    width = max(lengths) if max_len is None else max_len
    assert mask.dtype == torch.bool and mask.shape == (len(lengths), width)
    assert mask.tolist() == [[t >= n for t in range(width)] for n in lengths]


@PROPERTY
@given(st.lists(st.lists(st.integers(0, 9), max_size=6), min_size=1, max_size=5).filter(any))
def test_pad_batch_mask_is_the_mask_of_its_lengths(id_lists):
    _, padding_mask = text.pad_batch(id_lists)
    lengths = torch.tensor([len(ids) for ids in id_lists])
    assert torch.equal(padding_mask, text.padding_mask_from_lengths(lengths))


def test_with_ngrams_stops_at_the_number_of_tokens():
    tokens = list("不好吃")
    assert text.with_ngrams(tokens, 10**12, sep="") == text.with_ngrams(tokens, 3, sep="")


@PROPERTY
@given(st.lists(st.lists(st.integers(0, 50), max_size=5), min_size=1, max_size=4), st.integers(0, 3), st.sampled_from([-1, 2.0, True]))
def test_a_bad_id_anywhere_is_refused(id_lists, row, bad):
    id_lists = [list(ids) for ids in id_lists]
    id_lists[row % len(id_lists)].append(bad)
    error = ValueError if bad == -1 and not isinstance(bad, bool) else TypeError
    for layout in (text.pad_batch, text.to_bag):
        with pytest.raises(error, match=r"id_lists\[\d+\]\[\d+\] must be an"):
            layout(id_lists)


# ---------------------------------------------------------------------------------------------
# The contract: every public callable refuses bad input with a clear error

_VOCAB = Vocab.build(TOY)
_CURVE = text.coverage_curve(TOY)

BAD_CALLS = [
    ("text.tokenize_en", lambda: text.tokenize_en(None), TypeError, "text must be a str"),
    ("text.tokenize_en", lambda: text.tokenize_en(" "), ValueError, "text must contain at least one non-space character"),
    ("text.tokenize_en", lambda: text.tokenize_en("dog", lower="yes"), TypeError, "lower must be True or False"),
    ("text.tokenize_zh_chars", lambda: text.tokenize_zh_chars(["狗"]), TypeError, "text must be a str"),
    ("text.tokenize_zh_chars", lambda: text.tokenize_zh_chars(""), ValueError, "text must contain at least one non-space"),
    ("text.tokenize_zh_words", lambda: text.tokenize_zh_words(b"\xe7\x8b\x97"), TypeError, "text must be a str"),
    ("text.tokenize_zh_words", lambda: text.tokenize_zh_words("\n"), ValueError, "text must contain at least one non-space"),
    ("text.with_ngrams", lambda: text.with_ngrams(None), TypeError, "tokens must be a list"),
    ("text.with_ngrams", lambda: text.with_ngrams("不好"), TypeError, "tokens must be a list of str, got a single str"),
    ("text.with_ngrams", lambda: text.with_ngrams(["不", None]), TypeError, "tokens[1] must be a str"),
    ("text.with_ngrams", lambda: text.with_ngrams(["不"], 2.0), TypeError, "n must be an int"),
    ("text.with_ngrams", lambda: text.with_ngrams(["不"], True), TypeError, "n must be an int"),
    ("text.with_ngrams", lambda: text.with_ngrams(["不"], -3), ValueError, "n must be an int >= 1"),
    ("text.with_ngrams", lambda: text.with_ngrams(["不"], 2, mark=1), TypeError, "mark must be a str"),
    ("text.Coverage", lambda: text.Coverage(1.5, 0.5, 1, 1), ValueError, "token_share must be a number >= 0 and <= 1"),
    ("text.Coverage", lambda: text.Coverage(0.5, float("nan"), 1, 1), ValueError, "type_share must be a finite number"),
    ("text.Coverage", lambda: text.Coverage(0.5, 0.5, 1.0, 1), TypeError, "tokens must be an int"),
    ("text.Coverage", lambda: text.Coverage(0.5, 0.5, 1, -1), ValueError, "types must be an int >= 0"),
    ("text.Vocab", lambda: text.Vocab(None), TypeError, "itos must be a list or tuple of str"),
    ("text.Vocab", lambda: text.Vocab("<pad><unk>"), TypeError, "itos must be a list of str, got a single str"),
    ("text.Vocab", lambda: text.Vocab([PAD, UNK, 7]), TypeError, "itos[2] must be a str"),
    ("text.Vocab", lambda: text.Vocab(["x", PAD, UNK]), ValueError, "itos must start with"),
    ("text.Vocab", lambda: text.Vocab([PAD, UNK, "x", "x"]), ValueError, "itos must not repeat tokens"),
    ("text.Vocab.build", lambda: Vocab.build(None), TypeError, "token_lists must be an iterable of token lists"),
    ("text.Vocab.build", lambda: Vocab.build("the dog"), TypeError, "token_lists must be an iterable of token lists"),
    ("text.Vocab.build", lambda: Vocab.build([3]), TypeError, "token_lists[0] must be a sequence of tokens"),
    ("text.Vocab.build", lambda: Vocab.build([["a", 3]]), TypeError, "token_lists[0][1] must be a str"),
    ("text.Vocab.build", lambda: Vocab.build(TOY, min_freq=0), ValueError, "min_freq must be an int >= 1"),
    ("text.Vocab.build", lambda: Vocab.build(TOY, min_freq=2.0), TypeError, "min_freq must be an int"),
    ("text.Vocab.build", lambda: Vocab.build(TOY, max_size=1), ValueError, "max_size must be at least 2"),
    ("text.Vocab.build", lambda: Vocab.build(TOY, max_size=True), TypeError, "max_size must be an int"),
    ("text.Vocab.encode", lambda: _VOCAB.encode(None), TypeError, "tokens must be a list or tuple of str"),
    ("text.Vocab.encode", lambda: _VOCAB.encode("the"), TypeError, "tokens must be a list of str, got a single str"),
    ("text.Vocab.encode", lambda: _VOCAB.encode([1]), TypeError, "tokens[0] must be a str"),
    ("text.Vocab.decode", lambda: _VOCAB.decode(None), TypeError, "ids must be a list or tuple of int ids"),
    ("text.Vocab.decode", lambda: _VOCAB.decode([2, 99]), ValueError, "ids[1] must be an int >= 0 and < 9"),
    ("text.Vocab.decode", lambda: _VOCAB.decode([-1]), ValueError, "ids[0] must be an int >= 0 and < 9"),
    ("text.Vocab.decode", lambda: _VOCAB.decode([2.0]), TypeError, "ids[0] must be an int"),
    ("text.Vocab.decode", lambda: _VOCAB.decode([False]), TypeError, "ids[0] must be an int"),
    ("text.Vocab.decode", lambda: _VOCAB.decode(torch.tensor([2, 9])), ValueError, "ids must hold ids in [0, 8]"),
    ("text.Vocab.decode", lambda: _VOCAB.decode(torch.tensor([2.0])), ValueError, "ids must have dtype torch.int64"),
    ("text.Vocab.decode", lambda: _VOCAB.decode(torch.tensor([[2]])), ValueError, "ids must have shape (T,)"),
    ("text.Vocab.coverage", lambda: _VOCAB.coverage(None), TypeError, "token_lists must be an iterable"),
    ("text.Vocab.coverage", lambda: _VOCAB.coverage([[]]), ValueError, "token_lists must contain at least one token"),
    ("text.Vocab.coverage", lambda: _VOCAB.coverage([[None]]), TypeError, "token_lists[0][0] must be a str"),
    ("text.count_tokens", lambda: text.count_tokens(None), TypeError, "token_lists must be an iterable"),
    ("text.count_tokens", lambda: text.count_tokens(["ab"]), TypeError, "token_lists[0] must be a sequence of tokens, got a str"),
    ("text.count_tokens", lambda: text.count_tokens([None]), TypeError, "token_lists[0] must be a sequence of tokens"),
    ("text.coverage_curve", lambda: text.coverage_curve(None), TypeError, "token_lists must be an iterable"),
    ("text.coverage_curve", lambda: text.coverage_curve([[]]), ValueError, "token_lists must contain at least one token"),
    ("text.types_for_coverage", lambda: text.types_for_coverage([0.5, 1.0], 0.5), TypeError, "curve must be a tensor"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(torch.tensor([]), 0.5), ValueError, "curve must hold at least one entry"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(torch.tensor([1, 2]), 0.5), ValueError, "curve must have a floating-point dtype"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(torch.tensor([float("nan")]), 0.5), ValueError, "curve must hold finite numbers"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(_CURVE, 0), ValueError, "share must be a number > 0 and <= 1"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(_CURVE, float("nan")), ValueError, "share must be a finite number"),
    ("text.types_for_coverage", lambda: text.types_for_coverage(_CURVE, "0.5"), TypeError, "share must be a number"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths([1, 2]), TypeError, "lengths must be a tensor of shape (B,)"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([1.0])), ValueError, "lengths must have dtype torch.int64"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([[1]])), ValueError, "lengths must have shape (B,)"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([-1, 2])), ValueError, "lengths must be >= 0"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([3]), max_len=2), ValueError, "max_len must be >= the longest length 3"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([3]), max_len=3.0), TypeError, "max_len must be an int"),
    ("text.padding_mask_from_lengths", lambda: text.padding_mask_from_lengths(torch.tensor([3]), max_len=-1), ValueError, "max_len must be an int >= 0"),
    ("text.pad_batch", lambda: text.pad_batch(None), TypeError, "id_lists must be a list or tuple of id sequences"),
    ("text.pad_batch", lambda: text.pad_batch(torch.ones(2, 2, dtype=torch.long)), TypeError, "id_lists must be a list or tuple"),
    ("text.pad_batch", lambda: text.pad_batch([]), ValueError, "id_lists must hold at least one"),
    ("text.pad_batch", lambda: text.pad_batch([[1, 2.5]]), TypeError, "id_lists[0][1] must be an int id"),
    ("text.pad_batch", lambda: text.pad_batch([[1, True]]), TypeError, "id_lists[0][1] must be an int id"),
    ("text.pad_batch", lambda: text.pad_batch([[1], [-4]]), ValueError, "id_lists[1][0] must be an id >= 0"),
    ("text.pad_batch", lambda: text.pad_batch([[1], "23"]), TypeError, "id_lists[1] must be a list of int ids"),
    ("text.pad_batch", lambda: text.pad_batch([[1]], max_len=0), ValueError, "max_len must be an int >= 1"),
    ("text.pad_batch", lambda: text.pad_batch([[1]], max_len=2.0), TypeError, "max_len must be an int"),
    ("text.pad_batch", lambda: text.pad_batch([[1]], pad_id=-1), ValueError, "pad_id must be an int >= 0"),
    ("text.pad_batch", lambda: text.pad_batch([[1]], pad_id=0.0), TypeError, "pad_id must be an int"),
    ("text.pad_batch", lambda: text.pad_batch([[], []]), ValueError, "every sequence in id_lists is empty"),
    ("text.to_bag", lambda: text.to_bag(None), TypeError, "id_lists must be a list or tuple of id sequences"),
    ("text.to_bag", lambda: text.to_bag([]), ValueError, "id_lists must hold at least one"),
    ("text.to_bag", lambda: text.to_bag([[3.0]]), TypeError, "id_lists[0][0] must be an int id"),
    ("text.to_bag", lambda: text.to_bag([[3], [False]]), TypeError, "id_lists[1][0] must be an int id"),
    ("text.to_bag", lambda: text.to_bag([[3, -1]]), ValueError, "id_lists[0][1] must be an id >= 0"),
    ("text.to_bag", lambda: text.to_bag([7]), TypeError, "id_lists[0] must be a list of int ids"),
]

