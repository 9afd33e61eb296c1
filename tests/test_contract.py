"""The input contract, tried on every public callable as a careless reader would.

Each ``tests/test_<module>.py`` lists ``BAD_CALLS``: ``(name, thunk, exception, text)`` where
``name`` is the public name as written in ``tests/public_api.txt``, ``thunk`` makes one bad call,
``exception`` is the type the contract promises (TypeError for a wrong type; ValueError for a wrong
value, shape, dtype, range, NaN or infinity, or an unreadable file; FileNotFoundError for a missing
file) and ``text`` is a piece of the message that names the argument. This file runs them all, and
checks that every public callable has at least one.

A call passes only with the exact promised type (a subclass such as torch's IndexError for a
KeyError does not count) and a message containing ``text``; so removing a check, or letting torch's
"index out of range in self" through, fails here.
"""

from __future__ import annotations

import enum
import importlib
import inspect
from pathlib import Path

import pytest

import embedlab

ROOT = Path(__file__).resolve().parents[1]
API_FILE = ROOT / "tests" / "public_api.txt"
ALLOWED = (TypeError, ValueError, FileNotFoundError)

# Public callables that take no argument a reader can get wrong, with the reason.
EXEMPT: dict[str, str] = {
    "checks.describe": "describes any object at all: there is no wrong input",
    "train.Scores": "a plain record that train.scores fills; readers read it, they do not build it",
    "train.History": "a plain record that train.fit fills; readers read it, they do not build it",
    "selfcheck.Verdict": "a plain record that the checks return; readers read it, they do not build it",
    "encoder.FeedForward.forward": "an inner layer: EncoderBlock.forward checks the tensor it passes on",
}


def _collect() -> list[tuple[str, object, type, str]]:
    calls = []
    for module in embedlab.MODULES:
        test_module = importlib.import_module(f"test_{module}")
        calls.extend(getattr(test_module, "BAD_CALLS", []))
    return calls


BAD_CALLS = _collect()


def _resolve(name: str) -> object:
    module, *attrs = name.split(".")
    obj = importlib.import_module(f"embedlab.{module}")
    for attr in attrs:
        obj = getattr(obj, attr)
    return obj


def _callables() -> list[str]:
    """Listed public names that a reader calls: functions, classes (their constructor), methods."""
    names = []
    for line in API_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        obj = _resolve(line)
        if isinstance(obj, type):
            if not issubclass(obj, (BaseException, enum.Enum)):
                names.append(line)  # exception types and enums are not called with arguments
        elif inspect.isfunction(obj) or inspect.ismethod(obj):
            params = [p for p in inspect.signature(obj).parameters if p != "self"]
            if params:
                names.append(line)  # a method of self alone cannot be called wrongly
    return names


@pytest.mark.parametrize(
    "name, thunk, expected, text", BAD_CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)]
)
def test_bad_call_gets_a_clear_error(name, thunk, expected, text):
    assert expected in ALLOWED, f"{name}: the contract allows only {ALLOWED}, the case expects {expected}"
    with pytest.raises(Exception) as caught:
        thunk()
    assert type(caught.value) is expected or (
        issubclass(type(caught.value), expected) and type(caught.value).__module__.startswith("embedlab")
    ), f"{name}: raised {type(caught.value).__name__}: {caught.value}; the contract promises {expected.__name__}"
    assert text in str(caught.value), f"{name}: message {str(caught.value)!r} does not contain {text!r}"


def test_every_case_names_a_listed_callable():
    lines = API_FILE.read_text(encoding="utf-8").splitlines()
    listed = {line for line in lines if line and not line.startswith("#")}
    unknown = sorted({c[0] for c in BAD_CALLS} - listed)
    assert not unknown, f"BAD_CALLS entries name callables not in tests/public_api.txt: {unknown}"


def test_every_public_callable_has_a_bad_call():
    covered = {c[0] for c in BAD_CALLS}
    uncovered = [n for n in _callables() if n not in covered and n not in EXEMPT]
    assert not uncovered, f"public callables with no BAD_CALLS entry: {uncovered}"


def test_the_suite_is_large():
    assert len(BAD_CALLS) >= 300, f"only {len(BAD_CALLS)} bad calls"


# Fuzz-style: every public function and class, with each kind of junk in each of its first three
# parameters (the others left at their defaults, or given a plausible value by the junk itself).
# Whatever happens must be a success or one of the contract's clear errors: never an
# AttributeError, IndexError, KeyError, RuntimeError or a third-party error from deep inside.
JUNK = {
    "None": None,
    "str": "x",
    "empty list": [],
    "nested list": [[1.5, None]],
    "float": 2.5,
    "nan": float("nan"),
    "negative": -3,
    "bool": True,
    "object": object(),
}


def _fuzz_targets() -> list[tuple[str, int]]:
    targets = []
    for name in _callables():
        obj = _resolve(name)
        if name.count(".") > 1 and not isinstance(obj, type):
            continue  # methods need an instance: BAD_CALLS covers them
        try:
            params = [
                p for p in inspect.signature(obj).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            continue
        for i in range(min(3, len(params))):
            targets.append((name, i))
            if params[i].default is inspect.Parameter.empty:
                break  # later positions would need a good value here first
    return targets


FUZZ_TARGETS = _fuzz_targets()


def _fuzz_args(obj: object, position: int, junk: object) -> list[object] | None:
    """Positional arguments: the defaults before ``position`` (None if one has none), then junk."""
    params = [
        p for p in inspect.signature(obj).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    args = []
    for p in params[:position]:
        if p.default is inspect.Parameter.empty:
            return None
        args.append(p.default)  # a default is a good value
    return args + [junk]


@pytest.mark.parametrize("name, position", FUZZ_TARGETS, ids=[f"{n}-arg{i}" for n, i in FUZZ_TARGETS])
def test_junk_gets_success_or_a_clear_error(name, position):
    obj = _resolve(name)
    for label, junk in JUNK.items():
        args = _fuzz_args(obj, position, junk)
        assert args is not None, f"{name}: parameter {position} follows one without a default"
        try:
            obj(*args)
        except ALLOWED:
            pass
        except Exception as error:  # noqa: BLE001 - the point is to catch everything else
            pytest.fail(f"{name}(argument {position} = {label}) raised {type(error).__name__}: {error}")
