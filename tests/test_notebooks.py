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
    fenced = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)  # a "# comment" in code is no heading
    titles = [c for c in markdown if re.search(r"^# ", fenced.sub("", "".join(c["source"])), re.MULTILINE)]
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
             "nbval-ignore-output", "nbval-skip", "raises-exception",
             "solution"}  # "solution": an exercise solution's code (tools/student.py stubs it)
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


# --- what fits the page ---------------------------------------------------------------------------
# The website's content column at a desktop width (1400 px) is 748 px wide inside a code block's
# padding, and its monospace font draws a Latin character 8.43 px wide at 14 px: 88 columns, the
# same as ruff's line length (tests/test_site.py measures that no block scrolls). A Chinese
# character is drawn 14 px wide there: 5/3 of a column.
CODE_COLUMNS = 88
OUTPUT_COLUMNS = 88
WIDE = 5 / 3


def display_columns(line: str) -> float:
    """Columns a line takes on the page: East Asian wide characters count 5/3, others 1."""
    from wcwidth import wcwidth

    return sum(WIDE if wcwidth(ch) == 2 else 1 for ch in line)


def test_display_columns_counts_chinese_as_five_thirds():
    assert display_columns("abc") == 3
    assert display_columns("中文 ok") == pytest.approx(2 * WIDE + 3)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_88_columns(path):
    long = [(i + 1, len(line), line[:50]) for i, cell in enumerate(_code_cells(path))
            for line in "".join(cell["source"]).splitlines() if len(line) > CODE_COLUMNS]
    assert not long, f"{path.name}: code lines over {CODE_COLUMNS} columns (cell, length): {long[:5]}; run `ruff format`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_in_the_prose_fits_a_dropdown(path):
    """Exercise solutions in the markdown sit in a dropdown 20 px narrower: 86 columns."""
    fenced = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
    long = [(i, line[:50]) for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "markdown"
            for block in fenced.findall("".join(cell["source"])) for line in block.splitlines()
            if len(line) > CODE_COLUMNS - 2]
    assert not long, f"{path.name}: code lines in markdown over {CODE_COLUMNS - 2} columns (cell): {long[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_text_outputs_fit_the_page(path):
    wide = []
    for i, cell in enumerate(_code_cells(path)):
        for output in cell["outputs"]:
            texts = [output.get("text", ""), output.get("data", {}).get("text/plain", "")]
            for line in "".join("".join(t) for t in texts).splitlines():
                if display_columns(line) > OUTPUT_COLUMNS:
                    wide.append((i + 1, round(display_columns(line)), line[:50]))
    assert not wide, f"{path.name}: output lines wider than {OUTPUT_COLUMNS} columns (cell, width): {wide[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_a_caption_alt_text_and_2x_pixels(path):
    import base64
    import struct

    names = []
    for i, cell in enumerate(_code_cells(path)):
        images = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
        if not images:
            continue
        meta = cell["metadata"].get("mystnb", {})
        caption = meta.get("figure", {}).get("caption", "")
        alt = meta.get("image", {}).get("alt", "")
        names.append(meta.get("figure", {}).get("name", ""))
        assert len(images) == 1, f"{path.name} code cell {i + 1}: one figure per cell, so one caption fits"
        assert len(caption) >= 20, f"{path.name} code cell {i + 1}: no caption (metadata mystnb.figure.caption)"
        assert len(alt) >= 40 and not re.search(r"\.png|/|_images", alt), (
            f"{path.name} code cell {i + 1}: alt text must say what the figure shows, got {alt!r}")
        png = base64.b64decode(images[0]["data"]["image/png"])
        width, height = struct.unpack(">II", png[16:24])
        shown = images[0].get("metadata", {}).get("image/png", {})
        assert shown.get("width") == width // 2 and shown.get("height") == height // 2, (
            f"{path.name} code cell {i + 1}: the figure is not drawn at 2x (plot.show_figures_at_2x())")
    prefix = f"fig-{path.name[:2]}-"
    assert all(n.startswith(prefix) for n in names), f"{path.name}: figure names should start with {prefix}: {names}"
    assert len(set(names)) == len(names), f"{path.name}: figure names repeat: {names}"
