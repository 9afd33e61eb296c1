"""Tests of embedlab.pretrained: the PaddlePaddle reader, the safetensors reader, vocabulary alignment."""

import atexit
import shutil
import struct
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from conftest import assert_perturbed
from embedlab import pretrained
from embedlab.text import Vocab

FP16, FP32, FP64, INT64 = 4, 5, 6, 3


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def write_paddle(path, array, type_code=FP32, lod=(), packed=False, dims=None, cut=0, extra=b""):
    """Write a PaddlePaddle LoDTensor file, optionally broken in one of the ways a reader must catch."""
    dims = array.shape if dims is None else dims
    desc = b"\x08" + _varint(type_code)
    if packed:
        body = b"".join(_varint(d) for d in dims)
        desc += b"\x12" + _varint(len(body)) + body
    else:
        desc += b"".join(b"\x10" + _varint(d) for d in dims)
    data = struct.pack("<I", 0) + struct.pack("<Q", len(lod))
    for level in lod:
        offsets = np.asarray(level, dtype="<u8").tobytes()
        data += struct.pack("<Q", len(offsets)) + offsets
    data += struct.pack("<I", 0) + struct.pack("<i", len(desc)) + desc + array.tobytes() + extra
    path.write_bytes(data[: len(data) - cut] if cut else data)
    return path


@pytest.fixture
def matrix():
    return np.arange(12, dtype="<f4").reshape(3, 4) / 7


@pytest.mark.parametrize("type_code, dtype", [(FP32, "<f4"), (FP64, "<f8"), (FP16, "<f2")])
@pytest.mark.parametrize("packed", [False, True])
def test_reads_float_tensors(tmp_path, matrix, type_code, dtype, packed):
    path = write_paddle(tmp_path / "emb", matrix.astype(dtype), type_code, packed=packed)
    out = pretrained.read_paddle_tensor(path)
    assert out.dtype == torch.float32 and out.shape == (3, 4)
    torch.testing.assert_close(out, torch.from_numpy(matrix.astype(dtype).astype("f4")))


def test_header_fields_and_lod_levels_are_parsed(tmp_path, matrix):
    path = write_paddle(tmp_path / "emb", matrix, lod=[[0, 1, 3]])
    header = pretrained.read_paddle_header(path)
    assert (header.lod_levels, header.dtype, header.dims) == (1, "FP32", (3, 4))
    assert header.data_offset == path.stat().st_size - matrix.nbytes
    torch.testing.assert_close(pretrained.read_paddle_tensor(path), torch.from_numpy(matrix))


def test_truncated_data_is_reported_with_sizes(tmp_path, matrix):
    path = write_paddle(tmp_path / "emb", matrix, cut=5)
    with pytest.raises(pretrained.PaddleFormatError, match=r"truncated: dims \(3, 4\) of FP32 need 48 bytes .* found 43"):
        pretrained.read_paddle_tensor(path)


def test_trailing_bytes_are_reported(tmp_path, matrix):
    path = write_paddle(tmp_path / "emb", matrix, extra=b"\0" * 8)
    with pytest.raises(pretrained.PaddleFormatError, match="longer than its header says"):
        pretrained.read_paddle_tensor(path)


def test_dims_that_disagree_with_the_data(tmp_path, matrix):
    path = write_paddle(tmp_path / "emb", matrix, dims=(4, 4))
    with pytest.raises(pretrained.PaddleFormatError, match=r"dims \(4, 4\) of FP32 need 64 bytes"):
        pretrained.read_paddle_tensor(path)


def test_truncated_header(tmp_path, matrix):
    path = write_paddle(tmp_path / "emb", matrix)
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(pretrained.PaddleFormatError, match="file ends inside the header"):
        pretrained.read_paddle_header(path)


def test_wrong_dtype(tmp_path):
    path = write_paddle(tmp_path / "ids", np.arange(6, dtype="<i8").reshape(2, 3), type_code=INT64)
    with pytest.raises(pretrained.PaddleFormatError, match="data type INT64 is not a floating-point type"):
        pretrained.read_paddle_tensor(path)


def test_not_a_tensor_file(tmp_path):
    path = tmp_path / "text"
    path.write_bytes(b"hello, this is not a tensor file at all")
    with pytest.raises(pretrained.PaddleFormatError, match="LoDTensor version"):
        pretrained.read_paddle_tensor(path)


def test_the_real_lac_file_header():
    header = pretrained.read_paddle_header(pretrained.locate(pretrained.LAC_EMBEDDING))
    assert (header.lod_levels, header.dtype, header.dims, header.data_offset) == (0, "FP32", (20941, 128), 29)


def test_lac_vocab_reader(tmp_path):
    good = tmp_path / "word.dic"
    good.write_text("0\ta\n1\t\u2028\n2\t\x0b\n5\tOOV\n", encoding="utf-8")
    assert pretrained.read_lac_vocab(good) == {0: "a", 1: "\u2028", 2: "\x0b", 5: "OOV"}
    bad = tmp_path / "bad.dic"
    bad.write_text("0\ta\nx\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.dic:2: expected 'id<TAB>token', got 'x\\tb'"):
        pretrained.read_lac_vocab(bad)
    bad.write_text("0\ta\n0\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="id 0 or token 'b' appears twice"):
        pretrained.read_lac_vocab(bad)


def test_vocabulary_that_names_rows_the_matrix_lacks():
    with pytest.raises(ValueError, match="names id 7 but the matrix has only 3 rows"):
        pretrained.pair_vocab_and_matrix({0: "a", 7: "b"}, torch.zeros(3, 2))


def test_load_lac_embeddings():
    lac = pretrained.load_lac_embeddings()
    assert lac.vectors.shape == (20_940, 128) and len(set(lac.tokens)) == 20_940
    assert lac.tokens[:3] == ("a", "e", "i") and lac.tokens[-1] == "OOV"
    raw = pretrained.read_paddle_tensor(pretrained.locate(pretrained.LAC_EMBEDDING))
    assert torch.equal(lac.vectors[-1], raw[20_940])  # id 20939 names no token; OOV is row 20940


def test_minilm_embeddings_equal_the_transformers_model():
    minilm = pretrained.load_minilm_embeddings()
    assert minilm.vectors.shape == (30_522, 384)
    assert minilm.tokens[100:103] == ("[UNK]", "[CLS]", "[SEP]")
    tokenizer, model = pretrained.load_minilm()
    assert not model.training
    torch.testing.assert_close(minilm.vectors, model.get_input_embeddings().weight.detach(), rtol=0, atol=0)
    assert tokenizer.convert_ids_to_tokens([100, 101, 102]) == ["[UNK]", "[CLS]", "[SEP]"]


def test_load_minilm_rejects_unknown_attention():
    with pytest.raises(ValueError, match="attn_implementation must be 'eager' or 'sdpa', got 'flash'"):
        pretrained.load_minilm("flash")


@pytest.fixture
def vocab():
    return Vocab.build([["猫", "猫", "猫", "狗", "狗", "鱼", "龘"]])  # itos: <pad> <unk> 猫 狗 鱼 龘


@pytest.fixture
def source():
    tokens = ("狗", "猫", "鸟")
    vectors = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    return tokens, vectors


def test_build_embedding_matrix_aligns_by_token(vocab, source):
    matrix, report = pretrained.build_embedding_matrix(vocab, *source, oov="zeros")
    assert matrix.shape == (6, 2)
    torch.testing.assert_close(matrix[vocab.stoi["猫"]], torch.tensor([3.0, 4.0]))
    torch.testing.assert_close(matrix[vocab.stoi["狗"]], torch.tensor([1.0, 2.0]))
    assert torch.count_nonzero(matrix[[0, 1, 4, 5]]) == 0
    assert (report.found, report.missing) == (2, 2)
    assert report.type_coverage == 0.5
    assert report.token_coverage == pytest.approx(5 / 7)
    assert report.missing_examples == ("鱼", "龘")


def test_oov_strategies(vocab, source):
    mean, _ = pretrained.build_embedding_matrix(vocab, *source, oov="mean")
    torch.testing.assert_close(mean[vocab.stoi["鱼"]], torch.tensor([3.0, 5.0]))
    torch.testing.assert_close(mean[1], torch.tensor([3.0, 5.0]))  # <unk> too
    assert torch.count_nonzero(mean[0]) == 0  # <pad> stays zero
    rand1, _ = pretrained.build_embedding_matrix(vocab, *source, oov="random", seed=3)
    rand2, _ = pretrained.build_embedding_matrix(vocab, *source, oov="random", seed=3)
    rand3, _ = pretrained.build_embedding_matrix(vocab, *source, oov="random", seed=4)
    assert torch.equal(rand1, rand2) and not torch.equal(rand1, rand3)
    assert torch.count_nonzero(rand1[0]) == 0


def test_random_oov_rows_follow_the_pretrained_statistics():
    vocab = Vocab.build([[f"w{i}" for i in range(4000)]])
    source = torch.randn(10, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 5.0, 0.1]) + 2
    matrix, report = pretrained.build_embedding_matrix(vocab, [f"x{i}" for i in range(10)], source, oov="random")
    assert report.found == 0
    filled = matrix[1:]
    torch.testing.assert_close(filled.mean(0), source.mean(0), atol=0.3, rtol=0.05)
    torch.testing.assert_close(filled.std(0), source.std(0), atol=0.05, rtol=0.1)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"oov": "unk"}, ValueError, r"oov must be one of \('zeros', 'random', 'mean'\), got 'unk'"),
    ({"pretrained_tokens": ("a",)}, ValueError, "pretrained_tokens has 1 entries but pretrained_vectors has 3 rows"),
    ({"pretrained_vectors": torch.zeros(3)}, ValueError, r"pretrained_vectors must have shape \(P, D\)"),
    ({"vocab": {"a": 0}}, TypeError, "vocab must be an embedlab.text.Vocab, got a dict"),
])
def test_build_embedding_matrix_errors(vocab, source, kwargs, error, message):
    args = {"vocab": vocab, "pretrained_tokens": source[0], "pretrained_vectors": source[1]} | kwargs
    with pytest.raises(error, match=message):
        pretrained.build_embedding_matrix(**args)


def test_pretrained_vectors_checks_its_shape():
    with pytest.raises(ValueError, match=r"vectors must have shape \(2, D\) to match tokens, got \(3, 4\)"):
        pretrained.PretrainedVectors(("a", "b"), torch.zeros(3, 4))


def test_compose_from_characters():
    chars = pretrained.PretrainedVectors(("中", "国", "人"), torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]))
    composed = pretrained.compose_from_characters(["中国", "人", "中国人", "龘", "中x"], chars)
    assert composed.tokens == ("中国", "人", "中国人", "中x")  # 龘 has no known character
    torch.testing.assert_close(composed.vectors, torch.tensor([[0.5, 0.5], [2.0, 2.0], [1.0, 1.0], [1.0, 0.0]]))
    empty = pretrained.compose_from_characters([], chars)
    assert empty.vectors.shape == (0, 2)


@pytest.mark.parametrize("words, chars, error, message", [
    ("中国", None, TypeError, "words must be a list of str, got a single str"),
    (["中国", 3], None, TypeError, r"words\[1\] must be a str, got int"),
    (["中国"], "not vectors", TypeError, "characters must be PretrainedVectors, got str"),
])
def test_compose_from_characters_errors(words, chars, error, message):
    chars = pretrained.PretrainedVectors(("中",), torch.ones(1, 2)) if chars is None else chars
    with pytest.raises(error, match=message):
        pretrained.compose_from_characters(words, chars)


@pytest.mark.parametrize("name, loader", [
    ("LAC_EMBEDDING", pretrained.load_lac_embeddings),
    ("LAC_VOCAB", pretrained.load_lac_embeddings),
    ("MINILM_WEIGHTS", pretrained.load_minilm_embeddings),
    ("MINILM_WEIGHTS", pretrained.load_minilm),
])
def test_loaders_refuse_a_file_with_the_wrong_checksum(monkeypatch, name, loader):
    import dataclasses

    from embedlab.corpora import DataFileError

    wrong = dataclasses.replace(getattr(pretrained, name), sha256="f" * 64)
    monkeypatch.setattr(pretrained, name, wrong)
    with pytest.raises(DataFileError, match=f"expected {'f' * 64}"):
        loader()


# ---------------------------------------------------------------------------------------------
# Too few pretrained rows for an OOV strategy; corrupt files name the file


@pytest.mark.parametrize("rows, oov", [(1, "random"), (0, "random"), (0, "mean")])
def test_too_few_pretrained_rows_are_refused_rather_than_nan(vocab, rows, oov):
    tokens = ("猫", "狗")[:rows]
    with pytest.raises(ValueError, match=f"oov='{oov}' fills rows from the pretrained rows'"):
        pretrained.build_embedding_matrix(vocab, tokens, torch.ones(rows, 3), oov=oov)


def test_one_or_zero_matching_rows_still_give_finite_rows(vocab):
    tokens, vectors = ("猫", "zzz", "yyy"), torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.0, 5.0]])
    for kept in (tokens, ("qqq", "zzz", "yyy")):  # one match, no match
        for oov in pretrained.OOV_STRATEGIES:
            matrix, report = pretrained.build_embedding_matrix(vocab, kept, vectors, oov=oov)
            assert torch.isfinite(matrix).all() and report.found == (kept == tokens)
    matrix, _ = pretrained.build_embedding_matrix(vocab, ("猫",), torch.ones(1, 2), oov="zeros")
    assert torch.isfinite(matrix).all()


def test_a_broken_tensor_desc_names_the_file(tmp_path):
    path = tmp_path / "broken_emb"
    path.write_bytes(struct.pack("<I", 0) + struct.pack("<Q", 0) + struct.pack("<I", 0) + struct.pack("<i", 2) + b"\x08\x85")
    with pytest.raises(pretrained.PaddleFormatError, match="broken_emb: TensorDesc ends in the middle of a varint"):
        pretrained.read_paddle_header(path)


def test_a_corrupt_safetensors_file_names_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(ValueError, match=f"{path}: expected a safetensors file"):
        pretrained.read_safetensor(path, "weight")


def test_read_safetensor_reads_a_tensor_and_names_a_missing_key(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "tiny.safetensors"
    save_file({"weight": torch.arange(6.0).view(2, 3)}, str(path))
    assert torch.equal(pretrained.read_safetensor(path, "weight"), torch.arange(6.0).view(2, 3))
    with pytest.raises(ValueError, match=f"{path} holds no tensor 'bias'"):
        pretrained.read_safetensor(path, "bias")


def test_load_minilm_names_a_broken_model_folder(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(pretrained, "locate", lambda data: tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=f"{tmp_path}: expected a BERT model folder"):
        pretrained.load_minilm()


# ---------------------------------------------------------------------------------------------
# The contract: every public callable refuses bad input with a clear error

_FOLDER = Path(tempfile.mkdtemp(prefix="embedlab-test-pretrained-"))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_MATRIX = np.arange(12, dtype="<f4").reshape(3, 4)
_TRUNCATED = write_paddle(_FOLDER / "truncated_emb", _MATRIX, cut=5)
_INT_TENSOR = write_paddle(_FOLDER / "int_emb", np.zeros((2, 2), dtype="<i8"), type_code=INT64)
_GARBAGE = _FOLDER / "garbage.bin"
_GARBAGE.write_bytes(b"\x07" * 40)
_BAD_UTF8 = _FOLDER / "bad.dic"
_BAD_UTF8.write_bytes(b"0\t\xff\n")
_BAD_SAFETENSORS = _FOLDER / "bad.safetensors"
_BAD_SAFETENSORS.write_bytes(b"\xff" * 8 + b"{}")
_VOCAB = Vocab.build([["the", "cat", "the"]])
_TOKENS, _VECTORS = ("the", "cat", "dog"), torch.ones(3, 4)
_CHARS = pretrained.PretrainedVectors(("中",), torch.ones(1, 2))
_NAN = float("nan")


def _served_by(path: Path, loader):
    """Call ``loader`` while ``locate`` serves ``path`` for every packaged file."""
    with mock.patch.object(pretrained, "locate", lambda data, verify=True: path):
        return loader()


def _header(**changes):
    fields = {"lod_version": 0, "lod_levels": 0, "tensor_version": 0, "dtype": "FP32", "dims": (3, 4),
              "data_offset": 29} | changes
    return pretrained.PaddleHeader(**fields)


def _alignment(**changes):
    fields = {"found": 1, "missing": 1, "type_coverage": 0.5, "token_coverage": 0.5, "missing_examples": (),
              "oov": "zeros"} | changes
    return pretrained.Alignment(**fields)


@pytest.mark.parametrize("served, loader, message", [
    (_TRUNCATED, pretrained.load_lac_embeddings, "truncated_emb: file is truncated"),
    (_BAD_SAFETENSORS, pretrained.load_minilm_embeddings, "bad.safetensors: expected a safetensors file"),
])
def test_the_loaders_name_a_corrupt_packaged_file(served, loader, message):
    with pytest.raises(ValueError, match=message):
        _served_by(served, loader)



def test_noise_mode_perturbs_the_random_oov_rows_only(monkeypatch, vocab, source):
    off, _ = pretrained.build_embedding_matrix(vocab, *source, oov="random", seed=3)
    monkeypatch.setenv("EMBEDLAB_PERTURB", "noise")
    on, _ = pretrained.build_embedding_matrix(vocab, *source, oov="random", seed=3)
    found = [vocab.stoi["猫"], vocab.stoi["狗"]]
    assert torch.equal(on[found], off[found])  # pretrained rows are copied as they are
    assert torch.equal(on[0], off[0])  # <pad> stays zero
    assert not torch.equal(on, off)
    torch.testing.assert_close(on, off, rtol=1e-5, atol=1e-5)

BAD_CALLS = [
    ("pretrained.PaddleHeader", lambda: _header(dtype="INT64"), ValueError, "dtype must be one of"),
    ("pretrained.PaddleHeader", lambda: _header(dims=[3, 4]), TypeError, "dims must be a tuple of ints"),
    ("pretrained.PaddleHeader", lambda: _header(dims=(3, 0)), ValueError, "dims[1] must be an int >= 1"),
    ("pretrained.PaddleHeader", lambda: _header(data_offset=-1), ValueError, "data_offset must be an int >= 0"),
    ("pretrained.PaddleHeader", lambda: _header(lod_levels=1.0), TypeError, "lod_levels must be an int"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(["a"], torch.ones(1, 2)), TypeError, "tokens must be a tuple of str"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(("a", 1), torch.ones(2, 2)), TypeError, "tokens[1] must be a str"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(("a",), [[1.0, 2.0]]), TypeError, "vectors must be a tensor"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(("a",), torch.ones(1, 2, dtype=torch.long)), ValueError, "vectors must have a floating-point dtype"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(("a",), torch.full((1, 2), _NAN)), ValueError, "vectors must hold finite numbers"),
    ("pretrained.PretrainedVectors", lambda: pretrained.PretrainedVectors(("a", "b"), torch.ones(3, 2)), ValueError, "vectors must have shape (2, D) to match tokens"),
    ("pretrained.PretrainedVectors.index", lambda: _CHARS.index("中"), TypeError, "positional argument"),
    ("pretrained.Alignment", lambda: _alignment(found=-1), ValueError, "found must be an int >= 0"),
    ("pretrained.Alignment", lambda: _alignment(missing=1.5), TypeError, "missing must be an int"),
    ("pretrained.Alignment", lambda: _alignment(oov="unk"), ValueError, "oov must be one of"),
    ("pretrained.read_paddle_header", lambda: pretrained.read_paddle_header(None), TypeError, "path must be a path"),
    ("pretrained.read_paddle_header", lambda: pretrained.read_paddle_header(_FOLDER / "absent"), FileNotFoundError, "no file at"),
    ("pretrained.read_paddle_header", lambda: pretrained.read_paddle_header(_GARBAGE), ValueError, "garbage.bin: LoDTensor version"),
    ("pretrained.read_paddle_header", lambda: pretrained.read_paddle_header(_INT_TENSOR), ValueError, "int_emb: data type INT64 is not a floating-point type"),
    ("pretrained.read_paddle_tensor", lambda: pretrained.read_paddle_tensor(3), TypeError, "path must be a path"),
    ("pretrained.read_paddle_tensor", lambda: pretrained.read_paddle_tensor("/no/such/emb"), FileNotFoundError, "no file at /no/such/emb"),
    ("pretrained.read_paddle_tensor", lambda: pretrained.read_paddle_tensor(_TRUNCATED), ValueError, "truncated_emb: file is truncated"),
    ("pretrained.read_lac_vocab", lambda: pretrained.read_lac_vocab(None), TypeError, "path must be a path"),
    ("pretrained.read_lac_vocab", lambda: pretrained.read_lac_vocab("/no/such/word.dic"), FileNotFoundError, "no file at /no/such/word.dic"),
    ("pretrained.read_lac_vocab", lambda: pretrained.read_lac_vocab(_BAD_UTF8), ValueError, "bad.dic: expected UTF-8 text of 'id<TAB>token' lines"),
    ("pretrained.read_lac_vocab", lambda: pretrained.read_lac_vocab(_GARBAGE), ValueError, "garbage.bin:1: expected 'id<TAB>token'"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix([(0, "a")], torch.ones(1, 2)), TypeError, "id_to_token must be a dict"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({-1: "a"}, torch.ones(1, 2)), ValueError, "id_to_token's ids must be an int >= 0"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({0.0: "a"}, torch.ones(1, 2)), TypeError, "id_to_token's ids must be an int"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({0: None}, torch.ones(1, 2)), TypeError, "id_to_token[0] must be a str"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({0: "a"}, None), TypeError, "matrix must be a tensor"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({0: "a"}, torch.ones(2)), ValueError, "matrix must be 2-D"),
    ("pretrained.pair_vocab_and_matrix", lambda: pretrained.pair_vocab_and_matrix({5: "a"}, torch.ones(2, 2)), ValueError, "names id 5 but the matrix has only 2 rows"),
    ("pretrained.read_safetensor", lambda: pretrained.read_safetensor(None, "w"), TypeError, "path must be a path"),
    ("pretrained.read_safetensor", lambda: pretrained.read_safetensor("/no/such.safetensors", "w"), FileNotFoundError, "no file at /no/such.safetensors"),
    ("pretrained.read_safetensor", lambda: pretrained.read_safetensor(_BAD_SAFETENSORS, "w"), ValueError, "bad.safetensors: expected a safetensors file"),
    ("pretrained.read_safetensor", lambda: pretrained.read_safetensor(_GARBAGE, "w"), ValueError, "garbage.bin: expected a safetensors file"),
    ("pretrained.read_safetensor", lambda: pretrained.read_safetensor(_BAD_SAFETENSORS, None), TypeError, "key must be a str"),
    ("pretrained.compose_from_characters", lambda: pretrained.compose_from_characters(None, _CHARS), TypeError, "words must be a list or tuple of str"),
    ("pretrained.compose_from_characters", lambda: pretrained.compose_from_characters("中国", _CHARS), TypeError, "words must be a list of str, got a single str"),
    ("pretrained.compose_from_characters", lambda: pretrained.compose_from_characters(["中", 3], _CHARS), TypeError, "words[1] must be a str"),
    ("pretrained.compose_from_characters", lambda: pretrained.compose_from_characters(["中"], {"中": [1.0]}), TypeError, "characters must be PretrainedVectors"),
    ("pretrained.load_minilm", lambda: pretrained.load_minilm("flash"), ValueError, "attn_implementation must be 'eager' or 'sdpa'"),
    ("pretrained.load_minilm", lambda: pretrained.load_minilm(None), TypeError, "attn_implementation must be a str"),
    ("pretrained.load_minilm", lambda: pretrained.load_minilm(1), TypeError, "attn_implementation must be a str"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(None, _TOKENS, _VECTORS), TypeError, "vocab must be an embedlab.text.Vocab"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, None, _VECTORS), TypeError, "pretrained_tokens must be a list or tuple of str"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, "the cat dog", _VECTORS), TypeError, "pretrained_tokens must be a list of str, got a single str"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, ("the", 1, "dog"), _VECTORS), TypeError, "pretrained_tokens[1] must be a str"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS.numpy()), TypeError, "pretrained_vectors must be a tensor"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS.long()), ValueError, "pretrained_vectors must have a floating-point dtype"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS * _NAN), ValueError, "pretrained_vectors must hold finite numbers"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS[:2], _VECTORS), ValueError, "pretrained_tokens has 2 entries but pretrained_vectors has 3 rows"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS, oov=None), TypeError, "oov must be a str"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS, oov="unk"), ValueError, "oov must be one of"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS, seed=-1), ValueError, "seed must be an int >= 0"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS, _VECTORS, seed=1.0), TypeError, "seed must be an int"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, _TOKENS[:1], _VECTORS[:1]), ValueError, "needs at least 2 pretrained rows, got 1"),
    ("pretrained.build_embedding_matrix", lambda: pretrained.build_embedding_matrix(_VOCAB, (), _VECTORS[:0], oov="mean"), ValueError, "needs at least 1 pretrained rows, got 0"),
]



# --- start regimes (chapter 04's controls)

def _aligned(seed=0):
    matrix = torch.randn(7, 4, generator=torch.Generator().manual_seed(seed)) * 1.5
    matrix[0] = 0.0
    return matrix


def test_used_row_std_leaves_the_specials_out():
    matrix = _aligned()
    assert pretrained.used_row_std(matrix) == pytest.approx(float(matrix[2:].std()))
    assert pretrained.used_row_std(matrix, first_row=0) == pytest.approx(float(matrix.std()))


@pytest.mark.parametrize("regime", pretrained.START_REGIMES)
def test_every_regime_makes_its_start(regime):
    matrix = _aligned()
    start = pretrained.make_start(regime, matrix, init_std=0.1, seed=3)
    s = pretrained.used_row_std(matrix)
    assert start.regime == regime
    assert start.freeze is regime.startswith("frozen")
    assert (start.lr_scale == {"embedding": 0.1}) is (regime == "slow LAC")
    if regime == "random":
        assert start.weight is None and start.row_std == 0.1
        return
    assert start.weight.shape == matrix.shape and torch.all(start.weight[0] == 0)
    if regime == "rescaled LAC":
        torch.testing.assert_close(start.weight, matrix * (0.1 / s))
        assert pretrained.used_row_std(start.weight) == pytest.approx(0.1, rel=1e-5)
    elif "random" in regime:  # random directions at the pretrained rows' scale
        assert pretrained.used_row_std(start.weight) == pytest.approx(s, rel=0.5)
        assert not torch.allclose(start.weight, matrix)
        torch.testing.assert_close(start.weight, pretrained.make_start(regime, matrix, seed=3).weight)
    else:
        torch.testing.assert_close(start.weight, matrix)
        assert start.weight.data_ptr() != matrix.data_ptr()  # a copy


BAD_CALLS += [
    ("pretrained.used_row_std", lambda: pretrained.used_row_std([[1.0]]), TypeError, "matrix must be a tensor"),
    ("pretrained.used_row_std", lambda: pretrained.used_row_std(_aligned(), first_row=7), ValueError, "first_row must be an int"),
    ("pretrained.make_start", lambda: pretrained.make_start("lac", _aligned()), ValueError, "regime must be one of"),
    ("pretrained.make_start", lambda: pretrained.make_start("random", torch.ones(2, 3)), ValueError, "more than 2 rows"),
    ("pretrained.make_start", lambda: pretrained.make_start("random", _aligned(), init_std=0), ValueError, "init_std"),
    ("pretrained.Start", lambda: pretrained.Start("random", None, "no", None, 0.1), TypeError, "freeze must be True or False"),
    ("pretrained.Start", lambda: pretrained.Start("nope", None, False, None, 0.1), ValueError, "regime must be one of"),
]
