"""Tests of embedlab.checks: each check passes what it should, and refuses the rest with the
package's exception types and a message that names the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab import checks

# Small, fixed and repeatable: hypothesis draws the same examples on every run and stores none.
PROPERTY = settings(max_examples=60, derandomize=True, deadline=None, database=None)


def test_describe_says_type_and_shape():
    assert checks.describe(None) == "None"
    assert checks.describe(torch.zeros(2, 3)) == "a tensor of shape (2, 3) and dtype torch.float32"
    assert checks.describe(True) == "bool True"
    assert checks.describe(2.5) == "float 2.5"
    assert checks.describe("x" * 50) == "str '" + "x" * 37 + "...'"
    assert checks.describe([1, 2]) == "a list of length 2"
    assert checks.describe({}) == "a dict"


def test_the_checks_return_what_they_accept():
    assert checks.check_int("n", 3, at_least=1) == 3
    assert checks.check_int("n", np.int64(4)) == 4 and type(checks.check_int("n", np.int64(4))) is int
    assert checks.check_optional_int("n", None) is None
    assert checks.check_float("x", 1) == 1.0
    assert checks.check_bool("b", False) is False
    assert checks.check_str("s", "a") == "a"
    assert checks.check_choice("c", "a", ("a", "b")) == "a"
    assert checks.check_seed("seed", 2**32 - 1) == 2**32 - 1
    assert checks.check_sequence("xs", (1,)) == (1,)
    assert checks.check_str_list("xs", ["a"]) == ["a"]
    assert checks.check_id_lists("ids", [[0, 5], [], range(3)]) == [[0, 5], [], range(3)]
    ids = torch.tensor([[0, 4]])
    assert checks.check_token_ids("ids", ids, 5) is ids
    labels = torch.tensor([0, 1])
    assert checks.check_labels("y", labels, 2, size=2) is labels
    mask = torch.zeros(1, 2, dtype=torch.bool)
    assert checks.check_padding_mask("m", mask, (1, 2)) is mask
    assert checks.check_tensor("t", torch.zeros(2, 3), shape=(None, 3)).shape == (2, 3)
    assert checks.check_finite("t", torch.ones(2)).shape == (2,)
    assert checks.check_numbers("xs", [1, 2]).dtype == np.float64
    assert checks.check_same_device("x", torch.ones(1), "y", torch.zeros(2)).shape == (1,)
    assert checks.check_offsets("offsets", torch.tensor([0, 0, 3]), 3).tolist() == [0, 0, 3]
    assert checks.check_rows_not_empty("mask", torch.tensor([[False, True]])).shape == (1, 2)
    assert checks.check_broadcast_mask("m", torch.zeros(1, 3, dtype=torch.bool), (2, 3), "x").shape == (1, 3)


def test_check_file_and_reading(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x")
    assert checks.check_file("path", str(path)) == path
    with pytest.raises(ValueError, match=f"{path}: expected numbers; ValueError: could not convert") as caught:
        with checks.reading(path, "numbers"):
            float("x")
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(FileNotFoundError), checks.reading(path, "numbers"):
        raise FileNotFoundError("gone")
    with pytest.raises(ValueError, match=r"^already names .*a\.txt$"), checks.reading(path, "numbers"):
        raise ValueError(f"already names {path}")


def test_value_checks_do_not_read_cuda_tensors():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: on the CPU the range is checked")
    ids = torch.tensor([[99]], device="cuda")
    assert checks.check_token_ids("ids", ids, 5) is ids  # no sync: the range is checked where ids enter
    assert checks.check_finite("x", torch.tensor([float("nan")], device="cuda")).numel() == 1


@PROPERTY
@given(st.integers(-10, 10), st.integers(-5, 5), st.integers(-5, 5))
def test_check_int_bounds(value, low, high):
    inside = low <= value <= high
    if inside:
        assert checks.check_int("n", value, at_least=low, at_most=high) == value
    else:
        with pytest.raises(ValueError, match=f"n must be an int >= {low} and <= {high}, got {value}"):
            checks.check_int("n", value, at_least=low, at_most=high)


@PROPERTY
@given(st.lists(st.lists(st.integers(-3, 12) | st.floats(allow_nan=True) | st.booleans(), max_size=5),
                min_size=1, max_size=5),
       st.none() | st.integers(1, 12))
def test_check_id_lists_fast_path_agrees_with_the_item_by_item_rule(id_lists, vocab_size):
    def bad(x):
        return isinstance(x, (bool, float)) or x < 0 or (vocab_size is not None and x >= vocab_size)

    first = next(((n, i) for n, ids in enumerate(id_lists) for i, x in enumerate(ids) if bad(x)), None)
    if first is None:
        assert checks.check_id_lists("ids", id_lists, vocab_size) is id_lists
    else:
        x = id_lists[first[0]][first[1]]
        error = TypeError if isinstance(x, (bool, float)) else ValueError
        with pytest.raises(error, match=rf"^ids\[{first[0]}\]\[{first[1]}\] must be an"):
            checks.check_id_lists("ids", id_lists, vocab_size)


@PROPERTY
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=8))
def test_finite_checks_agree_with_numpy(values):
    finite = bool(np.isfinite(values).all())
    tensor = torch.tensor(values)
    for call in (lambda: checks.check_finite("x", tensor), lambda: checks.check_numbers("x", values)):
        if finite:
            call()
        else:
            with pytest.raises(ValueError, match="x must hold finite numbers"):
                call()


def _raise_in_reading(error: Exception):
    with checks.reading("/data/file.tsv", "a TSV file"):
        raise error


BAD_CALLS = [
    ("checks.check_type", lambda: checks.check_type("x", None, int, "an int"), TypeError, "x must be an int, got None"),
    ("checks.check_type", lambda: checks.check_type("x", True, int, "an int"), TypeError, "x must be an int, got bool True"),
    ("checks.check_int", lambda: checks.check_int("n", 2.0), TypeError, "n must be an int, got float 2.0"),
    ("checks.check_int", lambda: checks.check_int("n", True), TypeError, "n must be an int, got bool True"),
    ("checks.check_int", lambda: checks.check_int("n", "3"), TypeError, "n must be an int"),
    ("checks.check_int", lambda: checks.check_int("n", -1, at_least=0), ValueError, "n must be an int >= 0, got -1"),
    ("checks.check_int", lambda: checks.check_int("n", 5, below=5), ValueError, "n must be an int < 5, got 5"),
    ("checks.check_int", lambda: checks.check_int("n", 10**30, at_most=10), ValueError, "n must be an int <= 10"),
    ("checks.check_optional_int", lambda: checks.check_optional_int("n", 1.5), TypeError, "n must be an int"),
    ("checks.check_optional_int", lambda: checks.check_optional_int("n", 0, at_least=1), ValueError, "n must be an int >= 1"),
    ("checks.check_float", lambda: checks.check_float("x", None), TypeError, "x must be a number, got None"),
    ("checks.check_float", lambda: checks.check_float("x", "0.5"), TypeError, "x must be a number"),
    ("checks.check_float", lambda: checks.check_float("x", False), TypeError, "x must be a number"),
    ("checks.check_float", lambda: checks.check_float("x", float("nan")), ValueError, "x must be a finite number, got nan"),
    ("checks.check_float", lambda: checks.check_float("x", float("-inf")), ValueError, "x must be a finite number"),
    ("checks.check_float", lambda: checks.check_float("x", 0.0, above=0), ValueError, "x must be a number > 0"),
    ("checks.check_float", lambda: checks.check_float("x", 1.0, below=1), ValueError, "x must be a number < 1"),
    ("checks.check_bool", lambda: checks.check_bool("b", 1), TypeError, "b must be True or False, got int 1"),
    ("checks.check_bool", lambda: checks.check_bool("b", "yes"), TypeError, "b must be True or False"),
    ("checks.check_bool", lambda: checks.check_bool("b", None), TypeError, "b must be True or False, got None"),
    ("checks.check_str", lambda: checks.check_str("s", b"x"), TypeError, "s must be a str"),
    ("checks.check_str", lambda: checks.check_str("s", None), TypeError, "s must be a str, got None"),
    ("checks.check_str", lambda: checks.check_str("s", " \n", non_empty=True), ValueError, "s must contain at least one non-space character"),
    ("checks.check_choice", lambda: checks.check_choice("c", "z", ("a", "b")), ValueError, "c must be one of ('a', 'b'), got 'z'"),
    ("checks.check_seed", lambda: checks.check_seed("seed", 2**32), ValueError, "seed must be an int >= 0 and < 4294967296"),
    ("checks.check_seed", lambda: checks.check_seed("seed", -1), ValueError, "seed must be an int >= 0"),
    ("checks.check_seed", lambda: checks.check_seed("seed", 0.0), TypeError, "seed must be an int"),
    ("checks.check_sequence", lambda: checks.check_sequence("xs", "abc"), TypeError, "xs must be a list or tuple of items, got str"),
    ("checks.check_sequence", lambda: checks.check_sequence("xs", torch.ones(2)), TypeError, "xs must be a list or tuple"),
    ("checks.check_sequence", lambda: checks.check_sequence("xs", None), TypeError, "xs must be a list or tuple"),
    ("checks.check_sequence", lambda: checks.check_sequence("xs", []), ValueError, "xs must hold at least one of its items"),
    ("checks.check_str_list", lambda: checks.check_str_list("xs", "ab"), TypeError, "xs must be a list of str, got a single str"),
    ("checks.check_str_list", lambda: checks.check_str_list("xs", ["a", 1]), TypeError, "xs[1] must be a str"),
    ("checks.check_str_list", lambda: checks.check_str_list("xs", [], non_empty=True), ValueError, "xs must hold at least one"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", None), TypeError, "ids must be a list or tuple of id sequences"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", []), ValueError, "ids must hold at least one of its id sequences"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [3]), TypeError, "ids[0] must be a list of int ids"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [torch.tensor([1])]), TypeError, "ids[0] must be a list of int ids"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [[1, 2.0]]), TypeError, "ids[0][1] must be an int id, got float 2.0"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [[True]]), TypeError, "ids[0][0] must be an int id, got bool True"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [[0], [-1]]), ValueError, "ids[1][0] must be an id >= 0"),
    ("checks.check_id_lists", lambda: checks.check_id_lists("ids", [[0, 7]], vocab_size=7), ValueError, "ids[0][1] must be an id >= 0 and < 7, got 7"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", [1.0]), TypeError, "t must be a tensor, got a list"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", None, shape_text="(B, T)"), TypeError, "t must be a tensor of shape (B, T), got None"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", torch.ones(2), dim=2), ValueError, "t must have shape 2-D, got shape (2,)"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", torch.ones(2, 3), shape=(2, 4)), ValueError, "t must have shape (2, 4)"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", torch.ones(2), dtype=torch.long), ValueError, "t must have dtype torch.int64, got torch.float32"),
    ("checks.check_tensor", lambda: checks.check_tensor("t", torch.ones(2, dtype=torch.long), floating=True), ValueError, "t must have a floating-point dtype"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", None), TypeError, "xs must be a sequence or array of numbers, got None"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", "12"), TypeError, "xs must be a sequence or array of numbers"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", 3.0), TypeError, "xs must be a sequence or array of numbers"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", [1, "a"]), TypeError, "xs must hold only numbers"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", [1, None]), TypeError, "xs must hold only numbers"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", [[1], [1, 2]]), ValueError, "xs must be a rectangular array"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", [[1.0]], dim=1), ValueError, "xs must be 1-D, got shape (1, 1)"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", []), ValueError, "xs must hold at least one number"),
    ("checks.check_numbers", lambda: checks.check_numbers("xs", [1.0, float("inf")]), ValueError, "xs must hold finite numbers, got 1 NaN or infinite"),
    ("checks.check_finite", lambda: checks.check_finite("x", torch.tensor([1.0, float("nan")])), ValueError, "x must hold finite numbers, got 1 NaN or infinite entries"),
    ("checks.check_finite", lambda: checks.check_finite("x", torch.tensor([float("inf")] * 3, dtype=torch.float64)), ValueError, "got 3 NaN or infinite"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", [[1]]), TypeError, "ids must be a tensor of shape (B, T)"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", torch.tensor([[1.0]])), ValueError, "ids must have dtype torch.int64 (token ids), got torch.float32"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", torch.tensor([[1]], dtype=torch.int32)), ValueError, "ids must have dtype torch.int64"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", torch.tensor([1])), ValueError, "ids must have shape (B, T)"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", torch.tensor([[0, 5]]), 5), ValueError, "ids must hold ids in [0, 4], got 5"),
    ("checks.check_token_ids", lambda: checks.check_token_ids("ids", torch.tensor([[-2, 1]]), 5), ValueError, "ids must hold ids in [0, 4], got -2"),
    ("checks.check_labels", lambda: checks.check_labels("y", [0, 1]), TypeError, "y must be a tensor of shape (B,)"),
    ("checks.check_labels", lambda: checks.check_labels("y", torch.tensor([0.0])), ValueError, "y must have dtype torch.int64 (class labels)"),
    ("checks.check_labels", lambda: checks.check_labels("y", torch.tensor([0, 5]), num_classes=2), ValueError, "y must hold labels in [0, 1], got 5"),
    ("checks.check_labels", lambda: checks.check_labels("y", torch.tensor([0, 1]), size=3), ValueError, "y must have shape (B,)"),
    ("checks.check_padding_mask", lambda: checks.check_padding_mask("m", torch.zeros(1, 2), (1, 2)), ValueError, "m must have dtype torch.bool (True at padding)"),
    ("checks.check_padding_mask", lambda: checks.check_padding_mask("m", torch.zeros(1, 3, dtype=torch.bool), (1, 2)), ValueError, "m must have shape (B, T)"),
    ("checks.check_padding_mask", lambda: checks.check_padding_mask("m", None, (1, 2)), TypeError, "m must be a tensor of shape (B, T)"),
    ("checks.check_same_device", lambda: checks.check_same_device("x", torch.ones(1, device="meta"), "y", torch.ones(1)), ValueError, "x must be on the device of y (cpu), got meta"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", [0, 2], 4), TypeError, "offsets must be a tensor of shape (B,)"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", torch.tensor([0.0]), 4), ValueError, "offsets must have dtype torch.int64 (bag offsets)"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", torch.tensor([], dtype=torch.long), 4), ValueError, "offsets must hold at least one bag's offset"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", torch.tensor([1, 2]), 4), ValueError, "offsets must start at 0"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", torch.tensor([0, 3, 2]), 4), ValueError, "offsets must never decrease, got 2 after 3 at 2"),
    ("checks.check_offsets", lambda: checks.check_offsets("offsets", torch.tensor([0, 5]), 4), ValueError, "offsets must be <= the number of flat ids (4), got 5"),
    ("checks.check_rows_not_empty", lambda: checks.check_rows_not_empty("mask", torch.tensor([[False, True], [True, True]])), ValueError, "mask must leave at least one real (False) position in every row, got rows [1]"),
    ("checks.check_broadcast_mask", lambda: checks.check_broadcast_mask("m", None, (2, 3), "True where masked"), TypeError, "m must be a tensor"),
    ("checks.check_broadcast_mask", lambda: checks.check_broadcast_mask("m", torch.zeros(3), (2, 3), "True where masked"), ValueError, "m must have dtype torch.bool (True where masked)"),
    ("checks.check_broadcast_mask", lambda: checks.check_broadcast_mask("m", torch.zeros(4, dtype=torch.bool), (2, 3), "x"), ValueError, "m must broadcast to the shape (2, 3), got (4,)"),
    ("checks.check_broadcast_mask", lambda: checks.check_broadcast_mask("m", torch.zeros(2, 2, 3, dtype=torch.bool), (2, 3), "x"), ValueError, "m must broadcast to the shape (2, 3)"),
    ("checks.check_file", lambda: checks.check_file("path", None), TypeError, "path must be a path (str or pathlib.Path), got None"),
    ("checks.check_file", lambda: checks.check_file("path", 3), TypeError, "path must be a path"),
    ("checks.check_file", lambda: checks.check_file("path", "/no/such/file"), FileNotFoundError, "path: no file at /no/such/file"),
    ("checks.reading", lambda: _raise_in_reading(KeyError("text")), ValueError, "/data/file.tsv: expected a TSV file; KeyError: 'text'"),
    ("checks.reading", lambda: _raise_in_reading(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")), ValueError, "/data/file.tsv: expected a TSV file; UnicodeDecodeError"),
    ("checks.reading", lambda: _raise_in_reading(FileNotFoundError("/data/file.tsv")), FileNotFoundError, "/data/file.tsv"),
]

