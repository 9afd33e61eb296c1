"""Tests of embedlab.pretrained: the PaddlePaddle reader, the safetensors reader, vocabulary alignment."""

import struct

import numpy as np
import pytest
import torch

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
    ({"pretrained_vectors": torch.zeros(3)}, ValueError, "pretrained_vectors must be a 2-D tensor"),
    ({"vocab": {"a": 0}}, TypeError, "vocab must be an embedlab.text.Vocab, got dict"),
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
    ("中国", None, TypeError, "words must be a sequence of str, got a single str"),
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
