"""The exercises of every chapter: numbered and labelled, each with an executed solution (code
cells inside a sphinx-exercise gated solution, so nbval runs them), at the end of the chapter;
"Check your understanding" questions each with an answer; and the workshop edition that
`make student` writes from them (tools/student.py)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from embedlab import selfcheck

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISE = re.compile(r"^\s*```\{exercise\}[^\n]*\n:label: (\S+)", re.MULTILINE)
LEGACY = re.compile(r"\{admonition\}\s*Solution")
QUESTION = re.compile(r"^\*\*(\d+)\.", re.MULTILINE)


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_an_executed_solution_at_the_end(path):
    nb = _read(path)
    number = path.name[:2]
    labels = [(i, m) for i, c in enumerate(nb.cells) if c.cell_type == "markdown" for m in EXERCISE.findall(c.source)]
    assert len(labels) >= 2, f"{path.name}: {len(labels)} exercises (``{{exercise}}`` with a :label:)"
    bad = [m for _, m in labels if not re.fullmatch(rf"ex-{number}-[a-z0-9-]+", m)]
    assert not bad, f"{path.name}: exercise labels must read ex-{number}-<name>, got {bad}"
    legacy = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and LEGACY.search(c.source)]
    assert not legacy, f"{path.name}: solutions still in markdown dropdowns that nothing runs, cells {legacy}"
    spans = student.solution_spans(nb.cells)
    assert sorted(s[2] for s in spans) == sorted(m for _, m in labels), f"{path.name}: one solution per exercise"
    inside = {i for start, end, _ in spans for i in range(start, end + 1)}
    for start, end, label in spans:
        block = nb.cells[start + 1 : end]
        code = [c for c in block if c.cell_type == "code"]
        assert code, f"{path.name}: the solution of {label} has no code cell to execute"
        assert all("solution" in _tags(c) for c in code), f"{path.name}: tag every code cell of {label} 'solution'"
        assert any(c.outputs for c in code), f"{path.name}: the solution of {label} stores no output"
        assert any(c.cell_type == "markdown" for c in block), f"{path.name}: the solution of {label} has no prose"
    stray = [i for i, c in enumerate(nb.cells) if "solution" in _tags(c) and i not in inside]
    assert not stray, f"{path.name}: cells tagged 'solution' outside a solution block: {stray}"
    first = labels[0][0]
    late = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and i > first and i not in inside]
    assert not late, f"{path.name}: code cells after the first exercise that are not solutions: {late}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_check_call_names_a_check_that_exists(path):
    for cell in _read(path).cells:
        if cell.cell_type == "code" and "solution" in _tags(cell):
            for name in re.findall(r"\bselfcheck\.(\w+)\(", cell.source):
                assert callable(getattr(selfcheck, name, None)), f"{path.name}: selfcheck.{name} does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_check_your_understanding_has_three_to_five_answered_questions(path):
    text = "\n\n".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
    found = re.search(r"^## Check your understanding\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, f"{path.name}: no '## Check your understanding' section"
    section = found.group(1)
    starts = [m.start() for m in QUESTION.finditer(section)]
    assert 3 <= len(starts) <= 5, f"{path.name}: {len(starts)} questions, expected 3 to 5"
    numbers = [int(m.group(1)) for m in QUESTION.finditer(section)]
    assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: questions numbered {numbers}"
    for k, (a, b) in enumerate(zip(starts, [*starts[1:], len(section)]), start=1):
        block = section[a:b]
        assert re.search(r"\{admonition\}\s*Answer", block) and ":class: dropdown" in block, (
            f"{path.name}: question {k} has no closed 'Answer' dropdown"
        )
        answer = block.split("Answer", 1)[1]
        assert len(answer.split()) >= 8, f"{path.name}: question {k}: the answer gives no reason"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_stubs_every_solution_and_keeps_the_rest(path, tmp_path):
    book = _read(path)
    (written,) = student.write([path], tmp_path)
    edition = _read(written)
    spans = student.solution_spans(book.cells)
    inside = {i for start, end, _ in spans for i in range(start, end + 1)}
    kept = [c.source for i, c in enumerate(book.cells) if i not in inside]
    stubs = [c for c in edition.cells if student.STUB_TAG in _tags(c)]
    rest = [c.source for c in edition.cells[1:] if student.STUB_TAG not in _tags(c)]
    assert rest == kept, f"{path.name}: the student edition changed a cell outside the solutions"
    solutions = [c for i, c in enumerate(book.cells) if i in inside and c.cell_type == "code"]
    assert len(stubs) == len(solutions)
    for sol, stub in zip(solutions, stubs):
        assert stub.source.startswith("# your code here")
        call = student.check_call(sol.source)
        if call:
            assert stub.source.endswith(call[1]) and f"{call[0]} = ..." in stub.source
        code = [line for line in sol.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        leaked = [line for line in code if line in stub.source.splitlines() and (not call or line not in call[1])]
        assert not leaked, f"{path.name}: solution lines left in a stub: {leaked}"
    assert all(not c.get("outputs") for c in edition.cells if c.cell_type == "code")


def test_a_stub_keeps_the_check_and_blanks_the_answer():
    source = "rows = token_ids.unique()\nselfcheck.touched_rows(rows, token_ids)"
    assert student.check_call(source) == ("rows", "selfcheck.touched_rows(rows, token_ids)")
    assert student.stub(source) == "# your code here\nrows = ...\nselfcheck.touched_rows(rows, token_ids)"
    assert student.stub("print(1)") == "# your code here\n..."
    assert student.check_call("selfcheck.x(1 + 2)") is None  # the answer must be a plain name


def test_unbalanced_solution_markers_are_refused():
    md = nbformat.v4.new_markdown_cell
    start, end = md("```{solution-start} ex-00-a\n:class: dropdown\n```"), md("```{solution-end}\n```")
    for cells in ([start], [end], [start, start, end]):
        with pytest.raises(student.StudentEditionError):
            student.solution_spans(cells)
