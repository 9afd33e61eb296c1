"""From text to token ids: tokenizers, a vocabulary, and the two batch layouts.

Shape legend: see :mod:`embedlab` (here T is the longest sequence of the batch, N all its tokens).

Conventions used by every later module:

* ``PAD_ID = 0`` and ``UNK_ID = 1``; their tokens are ``<pad>`` and ``<unk>``.
* ``padding_mask`` is True where a position is padding, as in PyTorch's ``key_padding_mask``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba
import numpy as np
import torch

from embedlab import checks

jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary load time on stderr otherwise

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SPECIALS = (PAD, UNK)

_EN_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]")


def tokenize_en(text: str, lower: bool = True) -> list[str]:
    """Split English into words (keeping ``don't`` whole) and single punctuation marks.

    Args:
        text: a str with at least one non-space character.
        lower: lower-case every token.
    """
    checks.check_str("text", text, non_empty=True)
    checks.check_bool("lower", lower)
    tokens = _EN_TOKEN.findall(text)
    return [t.lower() for t in tokens] if lower else tokens


def tokenize_zh_chars(text: str) -> list[str]:
    """Split Chinese into characters, dropping white space.

    Args:
        text: a str with at least one non-space character.
    """
    checks.check_str("text", text, non_empty=True)
    return [ch for ch in text if not ch.isspace()]


def tokenize_zh_words(text: str) -> list[str]:
    """Split Chinese into words with jieba (dictionary + HMM, deterministic), dropping white space.

    Args:
        text: a str with at least one non-space character.
    """
    checks.check_str("text", text, non_empty=True)
    return [w for w in jieba.lcut(text) if not w.isspace()]


def with_ngrams(tokens: Sequence[str], n: int = 2, sep: str = " ", mark: str = "") -> list[str]:
    """``tokens``, then their 2-grams, ..., n-grams (each joined with ``sep``), all prefixed with ``mark``.

    fastText's trick (Joulin et al., 2017): a bag that also holds the n-grams keeps a little local
    order, so 不 好 (two tokens) and the bigram 不好 can get scores of their own. ``mark`` keeps
    several kinds of features apart in one vocabulary: with ``mark="c:"`` the character bigram
    ``c:不好`` is not the word ``w:不好``.

    Args:
        tokens: the tokens of one text, in order.
        n: the longest n-gram, >= 1 (1 returns the tokens alone; beyond ``len(tokens)`` adds nothing).
        sep: what joins the tokens of an n-gram ("" for characters, " " for words).
        mark: a prefix for every item.

    Returns:
        ``len(tokens)`` unigrams, then ``len(tokens) - k + 1`` k-grams for each k = 2..n (none when
        the text is shorter than k).
    """
    checks.check_str_list("tokens", tokens)
    checks.check_int("n", n, at_least=1)
    checks.check_str("sep", sep)
    checks.check_str("mark", mark)
    items = [mark + t for t in tokens]
    for k in range(2, min(n, len(tokens)) + 1):  # no k-gram is longer than the text
        items += [mark + sep.join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]
    return items


@dataclass(frozen=True)
class Coverage:
    """How much of a corpus a vocabulary covers."""

    token_share: float  # share of running tokens that are in the vocabulary (not <unk>)
    type_share: float  # share of distinct corpus tokens that are in the vocabulary
    tokens: int  # running tokens in the corpus
    types: int  # distinct tokens in the corpus

    def __post_init__(self) -> None:
        checks.check_float("token_share", self.token_share, at_least=0, at_most=1)
        checks.check_float("type_share", self.type_share, at_least=0, at_most=1)
        checks.check_int("tokens", self.tokens, at_least=0)
        checks.check_int("types", self.types, at_least=0)


class Vocab:
    """A token <-> id mapping, ordered by frequency, ties broken by the token itself.

    The order never depends on input order or hash seeds. Ids 0 and 1 are ``<pad>`` and ``<unk>``.
    Build one with :meth:`Vocab.build`.
    """

    def __init__(self, itos: Sequence[str]):
        """Wrap an id -> token list whose first entries are ``<pad>`` and ``<unk>``.

        Args:
            itos: V distinct str, ``itos[i]`` the token of id i.
        """
        checks.check_str_list("itos", itos)
        itos = list(itos)
        if itos[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"itos must start with {SPECIALS}, got {itos[:len(SPECIALS)]}")
        if len(set(itos)) != len(itos):
            duplicates = sorted(t for t, c in Counter(itos).items() if c > 1)
            raise ValueError(f"itos must not repeat tokens, got duplicates {duplicates[:5]}")
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        self.counts: dict[str, int] = {}  # corpus counts of the kept tokens (filled by build)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens and keep the most frequent ones.

        Args:
            token_lists: sequences of tokens (e.g. one per sentence).
            min_freq: keep tokens seen at least this often (>= 1).
            max_size: at most this many entries, specials included (>= 2), or None.
        """
        checks.check_int("min_freq", min_freq, at_least=1)
        if max_size is not None:
            checks.check_int("max_size", max_size)
            if max_size < len(SPECIALS):
                raise ValueError(
                    f"max_size must be at least {len(SPECIALS)} (room for {SPECIALS}), got {max_size}"
                )
        counts = count_tokens(token_lists)
        kept = [t for t in sorted(counts, key=lambda t: (-counts[t], t)) if counts[t] >= min_freq]
        kept = [t for t in kept if t not in SPECIALS]
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        vocab = cls(list(SPECIALS) + kept)
        vocab.counts = {t: counts[t] for t in kept}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        head = ", ".join(self.itos[2:7])
        return f"Vocab(size={len(self)}, first=[{head}, ...])"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; tokens not in the vocabulary become ``UNK_ID``.

        Args:
            tokens: the tokens of one text (a list or tuple of str).
        """
        checks.check_str_list("tokens", tokens)
        return [self.stoi.get(token, UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of the ids.

        Args:
            ids: a list or tuple of int ids, or a 1-D int64 tensor, each in [0, V).
        """
        if isinstance(ids, torch.Tensor):
            checks.check_token_ids("ids", ids, len(self.itos), dim=1, shape_text="(T,)")
            ids = ids.tolist()
        checks.check_sequence("ids", ids, non_empty=False, what="int ids")
        return [self.itos[checks.check_int(f"ids[{i}]", token_id, at_least=0, below=len(self.itos))]
                for i, token_id in enumerate(ids)]

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> Coverage:
        """Share of running tokens and of distinct tokens of a corpus that the vocabulary knows.

        Args:
            token_lists: sequences of tokens (e.g. one per sentence).
        """
        counts = count_tokens(token_lists)
        tokens = sum(counts.values())
        if tokens == 0:
            raise ValueError("token_lists must contain at least one token, got none")
        known = [t for t in counts if t in self.stoi and t not in SPECIALS]
        return Coverage(
            token_share=sum(counts[t] for t in known) / tokens,
            type_share=len(known) / len(counts),
            tokens=tokens,
            types=len(counts),
        )


def count_tokens(token_lists: Iterable[Sequence[str]]) -> Counter:
    """Count tokens over many sequences, checking that each is a str.

    Args:
        token_lists: an iterable (list, tuple, generator) of token sequences.
    """
    if isinstance(token_lists, (str, bytes, torch.Tensor)) or not isinstance(token_lists, Iterable):
        raise TypeError(f"token_lists must be an iterable of token lists, got {checks.describe(token_lists)}")
    counts: Counter = Counter()
    for n, tokens in enumerate(token_lists):
        if isinstance(tokens, str):
            raise TypeError(f"token_lists[{n}] must be a sequence of tokens, got a str")
        if not isinstance(tokens, Sequence):
            raise TypeError(f"token_lists[{n}] must be a sequence of tokens, got {checks.describe(tokens)}")
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                raise TypeError(f"token_lists[{n}][{i}] must be a str, got {type(token).__name__}")
        counts.update(tokens)
    return counts


def coverage_curve(token_lists: Iterable[Sequence[str]]) -> torch.Tensor:
    """Share of running tokens covered by the k most frequent distinct tokens, for k = 1, 2, ...

    Entry ``k - 1`` is the token coverage of a vocabulary of the ``k`` most frequent tokens
    (``Vocab.build(token_lists, max_size=k + 2)``, the 2 being ``<pad>`` and ``<unk>``).

    Args:
        token_lists: sequences of tokens, at least one token in all.

    Returns:
        (types,) float64, non-decreasing, ending at 1.
    """
    counts = count_tokens(token_lists)
    if not counts:
        raise ValueError("token_lists must contain at least one token, got none")
    ordered = torch.tensor(sorted(counts.values(), reverse=True), dtype=torch.float64)  # (types,)
    return torch.cumsum(ordered, dim=0) / ordered.sum()


def types_for_coverage(curve: torch.Tensor, share: float) -> int:
    """Smallest number of distinct tokens whose coverage reaches ``share``.

    Args:
        curve: (types,) a :func:`coverage_curve`.
        share: the wanted share of running tokens, in (0, 1].
    """
    checks.check_tensor("curve", curve, dim=1, floating=True, shape_text="(types,)")
    if curve.numel() == 0:
        raise ValueError("curve must hold at least one entry, got an empty tensor")
    checks.check_finite("curve", curve)
    checks.check_float("share", share, above=0, at_most=1)
    wanted = torch.tensor([share], dtype=curve.dtype)
    return int(torch.searchsorted(curve, wanted).clamp_max(curve.numel() - 1)) + 1


def padding_mask_from_lengths(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """The padding mask of sequences of the given lengths: True at positions >= the length.

    Args:
        lengths: (B,) int64, each >= 0.
        max_len: T, the padded length (>= every length); None uses the longest.

    Returns:
        padding_mask: (B, T) bool, True where the position is padding.
    """
    checks.check_tensor("lengths", lengths, dim=1, dtype=torch.long, shape_text="(B,)")
    longest = int(lengths.max()) if lengths.numel() else 0
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"lengths must be >= 0, got {int(lengths.min())}")
    checks.check_optional_int("max_len", max_len, at_least=0)
    if max_len is not None and max_len < longest:
        raise ValueError(f"max_len must be >= the longest length {longest}, got {max_len}")
    return _padding_mask(lengths, longest if max_len is None else max_len)


def _padding_mask(lengths: torch.Tensor, length: int) -> torch.Tensor:
    """:func:`padding_mask_from_lengths` after its checks."""
    positions = torch.arange(length)  # (T,)
    return positions.unsqueeze(0) >= lengths.unsqueeze(1)  # (1, T) vs (B, 1) -> (B, T)


def pad_batch(
    id_lists: Sequence[Sequence[int]],
    max_len: int | None = None,
    pad_id: int = PAD_ID,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (and optionally cut) sequences to one length.

    Args:
        id_lists: B sequences of int token ids, each id >= 0.
        max_len: cut longer sequences and pad every one to exactly this length; None pads to
            the longest sequence of the batch.
        pad_id: the id written into padding positions, >= 0.

    Returns:
        token_ids: (B, T) int64.
        padding_mask: (B, T) bool, True where the position is padding.
    """
    checks.check_id_lists("id_lists", id_lists)
    checks.check_optional_int("max_len", max_len, at_least=1)
    checks.check_int("pad_id", pad_id, at_least=0)
    cut = [list(ids)[:max_len] for ids in id_lists]
    lengths = torch.tensor([len(ids) for ids in cut], dtype=torch.long)  # (B,)
    length = max_len if max_len is not None else int(lengths.max())
    if length == 0:
        raise ValueError("every sequence in id_lists is empty: nothing to pad")
    flat_ids, _ = _bag(cut)  # (N,)
    padding_mask = _padding_mask(lengths, length)  # (B, T)
    token_ids = torch.full(padding_mask.shape, pad_id, dtype=torch.long)  # (B, T)
    token_ids[~padding_mask] = flat_ids  # the real positions, read row by row, are the flat ids
    return token_ids, padding_mask


def to_bag(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The flat layout of ``nn.EmbeddingBag``: all ids in one row, plus where each sequence starts.

    Args:
        id_lists: B sequences of int token ids, each id >= 0.

    Returns:
        flat_ids: (N,) int64, the sequences one after another.
        offsets: (B,) int64, the start of each sequence in ``flat_ids``.
    """
    checks.check_id_lists("id_lists", id_lists)
    return _bag(id_lists)


def _bag(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`to_bag` after its check."""
    lengths = torch.tensor([len(ids) for ids in id_lists], dtype=torch.long)  # (B,)
    offsets = torch.cumsum(lengths, dim=0) - lengths  # (B,)
    flat = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(flat), offsets  # flat_ids (N,): the sequences one after another
