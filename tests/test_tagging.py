"""embedlab.tagging: B/M/E/S tags both ways, the scores, the baselines, the windowed tagger and its training."""

from __future__ import annotations

import pytest
import torch

from embedlab import tagging, text
from embedlab.train import TrainConfig

SENTENCE = ["迈向", "充满", "希望", "的", "新", "世纪"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_bmes_tags_and_back():
    tags = tagging.bmes_tags(SENTENCE)
    assert tags == ["B", "E", "B", "E", "B", "E", "S", "S", "B", "E"]
    assert tagging.bmes_tags(["北京大学"]) == ["B", "M", "M", "E"]
    assert tagging.words_from_tags(list("".join(SENTENCE)), tags) == SENTENCE


@pytest.mark.parametrize(
    ("tags", "words"),
    [("MEEB", ["ab", "c", "d"]), ("BBBB", ["a", "b", "c", "d"]), ("MMMM", ["abcd"]), ("SESE", ["a", "b", "c", "d"])],
)
def test_any_tag_sequence_decodes(tags, words):
    assert tagging.words_from_tags(list("abcd"), list(tags)) == words


def test_score_segmentation_counts_spans():
    gold = [["ab", "c", "de"]]
    assert tagging.score_segmentation(gold, gold).f1 == 1.0
    scores = tagging.score_segmentation(gold, [["a", "b", "c", "de"]])  # 2 of 4 predicted are gold
    assert scores.precision == 0.5 and scores.recall == pytest.approx(2 / 3)
    assert scores.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores.tag_accuracy == pytest.approx(3 / 5)  # a/S b/S vs a/B b/E: 2 wrong of 5


def test_max_match_takes_the_longest_word():
    assert tagging.max_match("北京大学生", {"北京", "北京大学", "大学生"}) == ["北京大学", "生"]
    assert tagging.max_match("abc", set()) == ["a", "b", "c"]


def test_majority_tags():
    assert tagging.majority_tags([["ab", "a"], ["ab"]]) == {"a": "B", "b": "E"}


def test_cut_sentence_after_punctuation_and_by_length():
    words = ["我们", "，", "他们", "来", "了", "。"]
    assert tagging.cut_sentence(words) == [("我们", "，"), ("他们", "来", "了", "。")]
    assert tagging.cut_sentence(["ab", "cd", "ef"], max_chars=4) == [("ab", "cd"), ("ef",)]


def test_segmentation_split_is_fixed_and_nested():
    small, large = tagging.segmentation_split(5, 2, 3), tagging.segmentation_split(10, 2, 3)
    assert small.test == large.test and small.val == large.val
    assert large.train[: len(small.train)] == small.train
    assert all(len("".join(p)) <= 60 or len(p) == 1 for p in large.train)


def _data():
    sentences = [["ab", "c"], ["c", "ab"], ["abc"], ["a", "bc"]] * 6
    vocab = text.Vocab.build([[ch for w in s for ch in w] for s in sentences])
    return sentences, vocab, tagging.encode_sentences(sentences, vocab)


def test_window_tagger_shapes_and_padding_independence():
    _, vocab, examples = _data()
    model = tagging.WindowTagger(tagging.TaggerConfig(len(vocab), 6, 5, 3))
    ids, mask = text.pad_batch([examples[0][0], examples[2][0] + examples[2][0]])
    logits = model(ids, mask)
    assert logits.shape == (2, 6, 4)
    alone = model(*text.pad_batch([examples[0][0]]))
    torch.testing.assert_close(logits[0, :3], alone[0])  # padding does not leak into real positions


def test_conv_init_is_a_linear_layer_over_the_window():
    model = tagging.WindowTagger(tagging.TaggerConfig(10, 4, 3, 3, seed=5))
    again = tagging.WindowTagger(tagging.TaggerConfig(10, 4, 3, 3, seed=5))
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)


def test_fit_tagger_learns_and_freezing_keeps_the_embedding():
    sentences, vocab, examples = _data()
    config = TrainConfig(epochs=30, batch_size=8, lr=0.02, patience=0, progress=False)
    model = tagging.WindowTagger(tagging.TaggerConfig(len(vocab), 8, 16, 3, seed=0))
    history = tagging.fit_tagger(model, examples, examples, config)
    assert max(history.val_tag_accuracy) > 0.6 and history.best_epoch >= 1
    frozen = tagging.WindowTagger(tagging.TaggerConfig(len(vocab), 8, 16, 3, freeze=True, seed=0))
    before = frozen.embedding.weight.detach().clone()
    tagging.fit_tagger(frozen, examples, examples, TrainConfig(epochs=2, batch_size=8, progress=False))
    assert torch.equal(before, frozen.embedding.weight)
    predicted = tagging.predict_tags(model, examples)
    right = sum(p == tagging.TAGS[t] for row, (_, tags) in zip(predicted, examples) for p, t in zip(row, tags))
    assert right / sum(len(tags) for _, tags in examples) == pytest.approx(max(history.val_tag_accuracy))
    segmented = tagging.segment_with(model, sentences, vocab)  # tags -> words (an invalid sequence decodes)
    assert [ch for s in segmented for w in s for ch in w] == [ch for s in sentences for w in s for ch in w]


_, _VOCAB, _EXAMPLES = _data()
_MODEL = tagging.WindowTagger(tagging.TaggerConfig(len(_VOCAB), 4, 4, 3))

BAD_CALLS = [
    ("tagging.bmes_tags", lambda: tagging.bmes_tags("北京"), TypeError, "words must be"),
    ("tagging.bmes_tags", lambda: tagging.bmes_tags(["北京", ""]), ValueError, "words[1] must be a non-empty str"),
    ("tagging.words_from_tags", lambda: tagging.words_from_tags(["a"], ["B", "E"]), ValueError, "one length"),
    ("tagging.words_from_tags", lambda: tagging.words_from_tags(["a"], ["X"]), ValueError, "tags[0] must be one of"),
    ("tagging.score_segmentation", lambda: tagging.score_segmentation([["ab"]], [["a"]]), ValueError, "the same characters"),
    ("tagging.score_segmentation", lambda: tagging.score_segmentation([["ab"]], []), ValueError, "predicted must"),
    ("tagging.SegmentationScores", lambda: tagging.SegmentationScores(), TypeError, "missing"),
    ("tagging.cut_sentence", lambda: tagging.cut_sentence(["a"], max_chars=0), ValueError, "max_chars must be an int >= 1"),
    ("tagging.segmentation_split", lambda: tagging.segmentation_split(0), ValueError, "train_lines must be an int >= 1"),
    ("tagging.segmentation_split", lambda: tagging.segmentation_split(1, 1, 10**6), ValueError, "test_lines must be at most"),
    ("tagging.SegmentationSplit", lambda: tagging.SegmentationSplit(), TypeError, "missing"),
    ("tagging.encode_sentences", lambda: tagging.encode_sentences([["ab"]], {"a": 1}), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("tagging.max_match", lambda: tagging.max_match("abc", ["ab"]), TypeError, "dictionary must be a set"),
    ("tagging.max_match", lambda: tagging.max_match("abc", set(), max_word_len=0), ValueError, "max_word_len must be an int >= 1"),
    ("tagging.majority_tags", lambda: tagging.majority_tags(5), TypeError, "sentences must be"),
    ("tagging.TaggerConfig", lambda: tagging.TaggerConfig(10, window=4), ValueError, "window must be odd"),
    ("tagging.TaggerConfig", lambda: tagging.TaggerConfig(1), ValueError, "vocab_size must be an int >= 2"),
    ("tagging.WindowTagger", lambda: tagging.WindowTagger({"vocab_size": 3}), TypeError, "config must be a tagging.TaggerConfig"),
    ("tagging.WindowTagger", lambda: tagging.WindowTagger(tagging.TaggerConfig(5, 4), torch.ones(4, 4)), ValueError, "pretrained"),
    ("tagging.WindowTagger.forward", lambda: _MODEL(torch.tensor([[1, 99]]), torch.zeros(1, 2, dtype=torch.bool)), ValueError, "token_ids"),
    ("tagging.predict_tags", lambda: tagging.predict_tags("model", _EXAMPLES), TypeError, "model must be a tagging.WindowTagger"),
    ("tagging.predict_tags", lambda: tagging.predict_tags(_MODEL, [([1, 2], [0])]), ValueError, "one tag per character"),
    ("tagging.fit_tagger", lambda: tagging.fit_tagger(_MODEL, [([1, 99], [0, 2])], _EXAMPLES), ValueError, "ids must be in"),
    ("tagging.fit_tagger", lambda: tagging.fit_tagger(_MODEL, _EXAMPLES, _EXAMPLES, lr_scale={"emb": 0.1}), ValueError, "lr_scale key must be one of"),
    ("tagging.fit_tagger", lambda: tagging.fit_tagger(_MODEL, [([1], [7])], _EXAMPLES), ValueError, "tags must be in"),
    ("tagging.TaggerHistory", lambda: tagging.TaggerHistory(epochs=3), TypeError, "unexpected keyword"),
    ("tagging.segment_with", lambda: tagging.segment_with(None, [["ab"]], _VOCAB), TypeError, "model must be a tagging.WindowTagger"),
]
