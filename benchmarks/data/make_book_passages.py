"""Write en_book_passages.tsv: the English prose of chapters 00, 01, 02 and 04, one paragraph per row.

Run once from the repository root: ``python benchmarks/data/make_book_passages.py``. The file it
writes is committed and is what chapter 09 searches; the chapters may change later, the snapshot
does not (its README names the commit it was made from).

A passage is one paragraph of a markdown cell (text between blank lines) of at least 25 words,
outside fenced blocks (code, admonitions, exercise solutions) and not a table. Headings are not
passages; the latest heading above a paragraph is kept as its section. Markdown links keep their
text and lose their target; everything else (inline code, math, Chinese examples) is kept as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ("00", "01", "02", "04")
MIN_WORDS = 25
OUT = Path(__file__).resolve().parent / "en_book_passages.tsv"
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
ROLE = re.compile(r"\{(?:doc|ref|numref|term)\}`([^`<]+?)(?:\s*<[^>]+>)?`")


def paragraphs(markdown: str):
    """(heading, paragraph) pairs of one markdown cell, fenced blocks dropped."""
    heading, block, fence = None, [], None
    for line in markdown.split("\n") + [""]:
        stripped = line.strip()
        opener = re.match(r"^(`{3,}|:{3,})", stripped)
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            if block:
                yield heading, block
                block = []
            continue
        if stripped.startswith("#"):
            if block:
                yield heading, block
                block = []
            heading = stripped.lstrip("#").strip()
            continue
        if not stripped:
            if block:
                yield heading, block
                block = []
            continue
        block.append(stripped)
    if block:
        yield heading, block


def main() -> None:
    rows = []
    for chapter in CHAPTERS:
        (path,) = sorted((ROOT / "notebooks").glob(f"{chapter}_*.ipynb"))
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        section = None
        n = 0
        for cell in cells:
            if cell["cell_type"] != "markdown":
                continue
            for heading, lines in paragraphs("".join(cell["source"])):
                section = heading or section
                if all(line.startswith("|") for line in lines):
                    continue  # a table
                text = ROLE.sub(r"\1", LINK.sub(r"\1", " ".join(lines)))
                if len(text.split()) < MIN_WORDS:
                    continue
                n += 1
                assert "\t" not in text
                rows.append((f"{chapter}-{n:03d}", path.stem, section or "", text))
    lines = ["id\tchapter\tsection\ttext"] + ["\t".join(row) for row in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} passages to {OUT.name}")


if __name__ == "__main__":
    main()
