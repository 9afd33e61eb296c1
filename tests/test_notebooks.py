"""Hygiene of the stored notebooks: what nbval and the website rely on, checked without running them."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:root|home|tmp|work|Users|var/folders)/")
NAME = re.compile(r"\d\d_[a-z0-9_]+\.ipynb")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code_cells(path: Path) -> list[dict]:
    return [c for c in _cells(path) if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    stack = list(toc.get("parts", [])) + list(toc.get("chapters", []))
    while stack:
        entry = stack.pop(0)
        if "file" in entry:
            files.append(entry["file"])
        stack.extend(entry.get("chapters", []) + entry.get("sections", []))
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb file"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_name_follows_nn_topic(path):
    assert NAME.fullmatch(path.name), f"{path.name} should be named NN_topic.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_once_top_to_bottom(path):
    counts = [c["execution_count"] for c in _code_cells(path)]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; run `make outputs` to execute it in a fresh kernel"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_outputs(path):
    for i, cell in enumerate(_code_cells(path)):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{path.name} code cell {i + 1} stores an error: {errors[0].get('ename')}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_in_outputs(path):
    for i, cell in enumerate(_code_cells(path)):
        for output in cell["outputs"]:
            text = json.dumps({k: v for k, v in output.items() if k != "data"}) + json.dumps(
                {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")})
            match = MACHINE_PATH.search(text)
            assert not match, f"{path.name} code cell {i + 1} shows a machine path near {text[max(0, match.start() - 40):match.end() + 40]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_embedlab(path):
    source = "\n".join("".join(c["source"]) for c in _code_cells(path))
    assert re.search(r"^\s*(from embedlab\b|import embedlab\b)", source, re.MULTILINE), f"{path.name} does not import embedlab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_volatile_metadata(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}, f"{path.name}: notebook metadata {sorted(nb['metadata'])}"
    for cell in nb["cells"]:
        assert "execution" not in cell.get("metadata", {}), f"{path.name}: timing metadata stored; run `make outputs`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_outnumbers_code_and_starts_with_a_title(path):
    cells = _cells(path)
    markdown = [c for c in cells if c["cell_type"] == "markdown"]
    assert len(markdown) > len(_code_cells(path)), f"{path.name}: fewer markdown cells than code cells"
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# "), f"{path.name} must open with a '# Title' cell"
    titles = [c for c in markdown if re.search(r"^# ", "".join(c["source"]), re.MULTILINE)]
    assert len(titles) == 1, f"{path.name} has {len(titles)} top-level headings; the book needs exactly one"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_listed_in_toc(path):
    assert f"notebooks/{path.stem}" in _toc_files(), f"{path.name} is not in _toc.yml"


def test_every_toc_entry_exists():
    for entry in _toc_files():
        candidates = [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(p.is_file() for p in candidates), f"_toc.yml names {entry}, which is neither .md nor .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tags_are_known(path):
    known = {"remove-cell", "remove-input", "remove-output", "hide-input", "hide-output", "hide-cell",
             "nbval-ignore-output", "nbval-skip", "raises-exception"}
    for i, cell in enumerate(_cells(path)):
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert tags <= known, f"{path.name} cell {i}: unknown tags {sorted(tags - known)}"
        if tags & {"nbval-ignore-output", "nbval-skip"}:
            assert "#" in "".join(cell["source"]), f"{path.name} cell {i}: an nbval tag needs a comment in the cell saying why"


def test_sanitize_file_and_executor_agree_on_tqdm_timings():
    import configparser
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import execute_notebooks

    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "nbval_sanitize.cfg")
    section = next(s for s in config.sections() if s.startswith("tqdm"))
    assert config[section]["regex"] == execute_notebooks.TQDM_TIMING.pattern
    assert config[section]["replace"] == execute_notebooks.TQDM_PLACEHOLDER
    bar = "skip-gram: 100%|##########| 5/5 [00:26<00:00,  5.39s/epoch, loss=2.201]"
    assert execute_notebooks.TQDM_TIMING.sub("T", bar) == "skip-gram: 100%|##########| 5/5 [T, loss=2.201]"
    assert execute_notebooks.TQDM_TIMING.sub("T", "[1:02:03<?, ?it/s]") == "[T]"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_run_timings_stored(path):
    for i, cell in enumerate(_code_cells(path)):
        for output in cell["outputs"]:
            text = "".join(output.get("text", ""))
            assert not re.search(r"\d+:\d{2}<(?:\d+:\d{2}|\?),", text), (
                f"{path.name} code cell {i + 1} stores a tqdm timing; run `make outputs`"
            )


def test_book_excludes_the_ignored_tool_folders():
    """pytest and hypothesis write folders (with a README.md) into the checkout; the book must not read
    them, or `make book` after `make test` fails on "document isn't included in any toctree"."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    ignored = [line.strip().strip("/") for line in (ROOT / ".gitignore").read_text().splitlines()]
    for folder in (".pytest_cache", ".hypothesis", ".venv", "_build"):
        assert folder in ignored, f".gitignore should name {folder}"
        assert folder in config["exclude_patterns"], f"_config.yml exclude_patterns lacks {folder}"
