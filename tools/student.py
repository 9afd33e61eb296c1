"""Write the workshop edition: the chapters with every exercise solution replaced by a stub.

`make student` runs this. For each notebook in notebooks/ it writes student/<same name>.ipynb
(student/ is not committed; it sits next to notebooks/ so that relative paths such as
``../benchmarks/results/...`` still resolve):

- every cell outside an exercise solution is kept as it is, outputs cleared;
- a solution is the cells between a ```{solution-start}``` and a ```{solution-end}``` markdown
  cell (sphinx-exercise's gated solution). Its markdown (the solution's prose) and the two markers
  are dropped; each code cell becomes a stub: ``# your code here``, then, when the cell ends with a
  self-check call ``selfcheck.<check>(<answer>, ...)``, the line ``<answer> = ...`` and the check
  call itself, so the reader sees "not yet: ..." until their code is right;
- a first cell says which edition this is and how it was made.

Usage: python tools/student.py [--out DIR] [NOTEBOOK ...]   (default: notebooks/*.ipynb -> student/)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
START = re.compile(r"^\s*```\{solution-start\}\s*(\S+)")
END = re.compile(r"^\s*```\{solution-end\}")
STUB_TAG = "exercise-stub"
BANNER = (
    "**Workshop edition.** The exercise solutions of this chapter are replaced by stubs: write your "
    "code where it says `# your code here`. A line `correct: ...` from a check means your answer is "
    "right; `not yet: ...` says what is off. The book's website has the solutions. "
    "(Written by `make student` from `notebooks/{name}`; do not edit the book's copy.)"
)


class StudentEditionError(ValueError):
    """A notebook whose solution blocks cannot be turned into stubs (unbalanced markers)."""


def check_call(source: str) -> tuple[str, str] | None:
    """(answer variable, check call source) when the cell's last statement is a self-check call.

    The call must be ``selfcheck.<name>(<variable>, ...)``: a call of an attribute of the name
    ``selfcheck`` whose first argument is a plain name (the reader's answer).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if not tree.body:
        return None
    last = tree.body[-1]
    call = last.value if isinstance(last, ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "selfcheck"
        and call.args
        and isinstance(call.args[0], ast.Name)
    ):
        return None
    return call.args[0].id, ast.get_source_segment(source, last)


def stub(source: str) -> str:
    """The student's version of one solution code cell."""
    found = check_call(source)
    if found is None:
        return "# your code here\n..."
    answer, call = found
    return f"# your code here\n{answer} = ...\n{call}"


def solution_spans(cells: list) -> list[tuple[int, int, str]]:
    """(index of solution-start, index of solution-end, label) of every gated solution."""
    spans, open_at, label = [], None, ""
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        start, end = START.match(cell.source), END.match(cell.source)
        if start:
            if open_at is not None:
                raise StudentEditionError(f"cell {i}: solution-start inside the solution opened at cell {open_at}")
            open_at, label = i, start.group(1)
        elif end:
            if open_at is None:
                raise StudentEditionError(f"cell {i}: solution-end without a solution-start")
            spans.append((open_at, i, label))
            open_at = None
    if open_at is not None:
        raise StudentEditionError(f"cell {open_at}: solution-start without a solution-end")
    return spans


def student_edition(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions replaced by stubs and all outputs cleared."""
    inside = {}
    for start, end, label in solution_spans(nb.cells):
        for i in range(start, end + 1):
            inside[i] = (label, i in (start, end))
    cells = [nbformat.v4.new_markdown_cell(BANNER.format(name=name))]
    for i, cell in enumerate(nb.cells):
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if i not in inside:
            cells.append(cell)
            continue
        label, marker = inside[i]
        if marker or cell.cell_type != "code":
            continue  # the gate's markers and the solution's prose
        cell.source = stub(cell.source)
        tags = [t for t in cell.metadata.get("tags", []) if t not in ("solution", "remove-cell")]
        cell.metadata = nbformat.from_dict({"tags": [*tags, STUB_TAG], "exercise": label})
        cells.append(cell)
    out = nbformat.from_dict(dict(nb))
    out.cells = cells
    for j, cell in enumerate(out.cells):
        cell["id"] = f"student-{j}"
    return out


def write(notebooks: list[Path], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            edition = student_edition(nb, path.name)
        except StudentEditionError as err:
            raise StudentEditionError(f"{path.name}: {err}") from None
        target = out_dir / path.name
        nbformat.write(edition, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="folder to write into")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    try:
        written = write(notebooks, args.out)
    except StudentEditionError as err:
        print(f"make student: {err}", file=sys.stderr)
        return 1
    stubs = sum(
        STUB_TAG in c.metadata.get("tags", []) for p in written for c in nbformat.read(p, as_version=4).cells
    )
    print(f"wrote {len(written)} student notebooks ({stubs} solution cells as stubs) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
