"""From text to token ids: tokenizers, a vocabulary, and the two batch layouts.

Shape legend: B batch, T tokens (longest sequence in the batch), N tokens of a whole batch.

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

jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary load time on stderr otherwise

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SPECIALS = (PAD, UNK)

_EN_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]")


def _check_text(text: object, name: str = "text") -> str:
    if text is None:
        raise TypeError(f"{name} must be a str, got None")
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{name} must contain at least one non-space character, got {text!r}")
    return text


def tokenize_en(text: str, lower: bool = True) -> list[str]:
    """Split English into words (keeping ``don't`` whole) and single punctuation marks."""
    _check_text(text)
    tokens = _EN_TOKEN.findall(text)
    return [t.lower() for t in tokens] if lower else tokens


def tokenize_zh_chars(text: str) -> list[str]:
    """Split Chinese into characters, dropping white space."""
    _check_text(text)
    return [ch for ch in text if not ch.isspace()]


def tokenize_zh_words(text: str) -> list[str]:
    """Split Chinese into words with jieba (dictionary + HMM, deterministic), dropping white space."""
    _check_text(text)
    return [w for w in jieba.lcut(text) if not w.isspace()]


def with_ngrams(tokens: Sequence[str], n: int = 2, sep: str = " ", mark: str = "") -> list[str]:
    """``tokens``, then their 2-grams, ..., n-grams (each joined with ``sep``), all prefixed with ``mark``.

    fastText's trick (Joulin et al., 2017): a bag that also holds the n-grams keeps a little local
    order, so 不 好 (two tokens) and the bigram 不好 can get scores of their own. ``mark`` keeps
    several kinds of features apart in one vocabulary: with ``mark="c:"`` the character bigram
    ``c:不好`` is not the word ``w:不好``.

    Args:
        tokens: the tokens of one text, in order.
        n: the longest n-gram, >= 1 (1 returns the tokens alone).
        sep: what joins the tokens of an n-gram ("" for characters, " " for words).
        mark: a prefix for every item.

    Returns:
        ``len(tokens)`` unigrams, then ``len(tokens) - k + 1`` k-grams for each k = 2..n (none when
        the text is shorter than k).
    """
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"tokens must be a list of str (one text, tokenized), got {type(tokens).__name__}")
    bad = next((t for t in tokens if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"tokens must all be str, got a {type(bad).__name__}: {bad!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if not isinstance(sep, str) or not isinstance(mark, str):
        raise TypeError(f"sep and mark must be str, got {type(sep).__name__} and {type(mark).__name__}")
    items = [mark + t for t in tokens]
    for k in range(2, n + 1):
        items += [mark + sep.join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)]
    return items


@dataclass(frozen=True)
class Coverage:
    """How much of a corpus a vocabulary covers."""

    token_share: float  # share of running tokens that are in the vocabulary (not <unk>)
    type_share: float  # share of distinct corpus tokens that are in the vocabulary
    tokens: int  # running tokens in the corpus
    types: int  # distinct tokens in the corpus


class Vocab:
    """A token <-> id mapping, ordered by frequency, ties broken by the token itself.

    The order never depends on input order or hash seeds. Ids 0 and 1 are ``<pad>`` and ``<unk>``.
    Build one with :meth:`Vocab.build`.
    """

    def __init__(self, itos: Sequence[str]):
        """Wrap an id -> token list whose first entries are ``<pad>`` and ``<unk>``."""
        itos = list(itos)
        if itos[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"itos must start with {SPECIALS}, got {itos[:len(SPECIALS)]}")
        for i, token in enumerate(itos):
            if not isinstance(token, str):
                raise TypeError(f"itos[{i}] must be a str, got {type(token).__name__}")
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
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
        if max_size is not None:
            if isinstance(max_size, bool) or not isinstance(max_size, int):
                raise TypeError(f"max_size must be an int or None, got {type(max_size).__name__}")
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
        """Token ids; tokens not in the vocabulary become ``UNK_ID``."""
        if isinstance(tokens, str):
            raise TypeError("tokens must be a sequence of str, got a single str (tokenize it first)")
        ids = []
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                raise TypeError(f"tokens[{i}] must be a str, got {type(token).__name__}")
            ids.append(self.stoi.get(token, UNK_ID))
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of the ids (accepts ints or a 1-D tensor)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        tokens = []
        for i, token_id in enumerate(ids):
            if isinstance(token_id, bool) or not isinstance(token_id, int):
                raise TypeError(f"ids[{i}] must be an int, got {type(token_id).__name__}")
            if not 0 <= token_id < len(self.itos):
                raise IndexError(f"ids[{i}] = {token_id} is outside the vocabulary (ids 0..{len(self) - 1})")
            tokens.append(self.itos[token_id])
        return tokens

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> Coverage:
        """Share of running tokens and of distinct tokens of a corpus that the vocabulary knows."""
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
    """Count tokens over many sequences, checking that each is a str."""
    counts: Counter = Counter()
    for n, tokens in enumerate(token_lists):
        if isinstance(tokens, str):
            raise TypeError(f"token_lists[{n}] must be a sequence of tokens, got a str")
        for i, token in enumerate(tokens):
            if not isinstance(token, str):
                raise TypeError(f"token_lists[{n}][{i}] must be a str, got {type(token).__name__}")
        counts.update(tokens)
    return counts


def coverage_curve(token_lists: Iterable[Sequence[str]]) -> torch.Tensor:
    """Share of running tokens covered by the k most frequent distinct tokens, for k = 1, 2, ...

    Entry ``k - 1`` is the token coverage of a vocabulary of the ``k`` most frequent tokens
    (``Vocab.build(token_lists, max_size=k + 2)``, the 2 being ``<pad>`` and ``<unk>``).

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
    if not isinstance(curve, torch.Tensor) or curve.dim() != 1 or curve.numel() == 0:
        raise ValueError(f"curve must be a non-empty 1-D tensor, got {type(curve).__name__}")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise ValueError(f"share must be a number in (0, 1], got {share!r}")
    wanted = torch.tensor([share], dtype=curve.dtype)
    return int(torch.searchsorted(curve, wanted).clamp_max(curve.numel() - 1)) + 1


def _check_id_lists(id_lists: Sequence[Sequence[int]]) -> None:
    if isinstance(id_lists, torch.Tensor) or not isinstance(id_lists, Sequence):
        raise TypeError(f"id_lists must be a list of lists of ints, got {type(id_lists).__name__}")
    if len(id_lists) == 0:
        raise ValueError("id_lists must hold at least one sequence, got an empty batch")
    for n, ids in enumerate(id_lists):
        if isinstance(ids, (str, int)) or not isinstance(ids, Sequence):
            raise TypeError(f"id_lists[{n}] must be a list of ints, got {type(ids).__name__}")


def pad_batch(
    id_lists: Sequence[Sequence[int]],
    max_len: int | None = None,
    pad_id: int = PAD_ID,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (and optionally cut) sequences to one length.

    Args:
        id_lists: B sequences of token ids.
        max_len: cut longer sequences and pad every one to exactly this length; None pads to
            the longest sequence of the batch.
        pad_id: the id written into padding positions.

    Returns:
        token_ids: (B, T) int64.
        padding_mask: (B, T) bool, True where the position is padding.
    """
    _check_id_lists(id_lists)
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"max_len must be an int >= 1 or None, got {max_len!r}")
    cut = [list(ids)[:max_len] for ids in id_lists]
    lengths = torch.tensor([len(ids) for ids in cut], dtype=torch.long)  # (B,)
    length = max_len if max_len is not None else int(lengths.max())
    if length == 0:
        raise ValueError("every sequence in id_lists is empty: nothing to pad")
    flat_ids, _ = to_bag(cut)  # (N,)
    positions = torch.arange(length)  # (T,)
    padding_mask = positions.unsqueeze(0) >= lengths.unsqueeze(1)  # (1, T) vs (B, 1) -> (B, T)
    token_ids = torch.full(padding_mask.shape, pad_id, dtype=torch.long)  # (B, T)
    token_ids[~padding_mask] = flat_ids  # the real positions, read row by row, are the flat ids
    return token_ids, padding_mask


def to_bag(id_lists: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The flat layout of ``nn.EmbeddingBag``: all ids in one row, plus where each sequence starts.

    Returns:
        flat_ids: (N,) int64, the sequences one after another.
        offsets: (B,) int64, the start of each sequence in ``flat_ids``.
    """
    _check_id_lists(id_lists)
    lengths = torch.tensor([len(ids) for ids in id_lists], dtype=torch.long)  # (B,)
    offsets = torch.cumsum(lengths, dim=0) - lengths  # (B,)
    flat = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(flat), offsets  # flat_ids (N,): the sequences one after another
