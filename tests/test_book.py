"""The book's own pages: the glossary, the results page, the chapter table, the chapter numbers.

Checked on the sources (no build needed), and on the built website where one is there.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHAPTERS = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
ROW = re.compile(r"^\| (?P<en>[^|]+?) \| (?P<zh>[^|]+?) \| \{doc\}`(?P<nn>\d\d) <\.\./notebooks/(?P<stem>[^>]+)>` \|$",
                 re.MULTILINE)
CJK = re.compile(r"[\u4e00-\u9fff]")


def glossary_rows() -> list[dict]:
    return [m.groupdict() for m in ROW.finditer((ROOT / "book" / "glossary.md").read_text(encoding="utf-8"))]


def chapter_prose(number: str) -> str:
    """The markdown cells of a chapter, lower-case, with British/American spellings made one."""
    cells = json.loads(CHAPTERS[number].read_text(encoding="utf-8"))["cells"]
    text = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return re.sub(r"\s+", " ", text.lower().replace("z", "s").replace("-", " "))


def test_the_glossary_has_at_least_forty_terms_each_with_chinese():
    rows = glossary_rows()
    assert len(rows) >= 40, f"the glossary has {len(rows)} terms"
    assert all(CJK.search(r["zh"]) for r in rows), [r["en"] for r in rows if not CJK.search(r["zh"])]
    english = [r["en"].lower() for r in rows]
    assert len(set(english)) == len(english), "a term is listed twice"


@pytest.mark.parametrize("row", glossary_rows(), ids=lambda r: r["en"])
def test_each_glossary_term_is_in_the_chapter_it_names(row):
    assert row["nn"] in CHAPTERS and CHAPTERS[row["nn"]].stem == row["stem"], f"no chapter {row['nn']} {row['stem']}"
    prose = chapter_prose(row["nn"])
    # The term as written, or the part in brackets (an abbreviation, a synonym); a final -s, -ing,
    # -e or -ation may differ ("freezing" is introduced as "freeze").
    names = [re.sub(r"\s*\(.*\)", "", row["en"])] + re.findall(r"\((.*)\)", row["en"])
    stems = [re.sub(r"(ation|ing|es|s|e)$", "", n.lower().replace("z", "s").replace("-", " ")) for n in names]
    assert any(stem in prose for stem in stems), f"{row['en']!r} does not occur in chapter {row['nn']}'s prose"


def test_the_results_page_includes_every_benchmark_table():
    page = (ROOT / "book" / "results.md").read_text(encoding="utf-8")
    included = set(re.findall(r"```\{include\} \.\./benchmarks/results/(\S+\.md)", page))
    tables = {p.name for p in (ROOT / "benchmarks" / "results").glob("*.md")}
    assert included == tables, f"not on the results page: {sorted(tables - included)}; missing files: {sorted(included - tables)}"


def test_the_intro_table_links_every_chapter():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"^\| \{doc\}`(\d\d) [^<]+<\.\./notebooks/(\S+)>`", intro, re.MULTILINE))
    assert linked == {(n, p.stem) for n, p in CHAPTERS.items()}


@pytest.mark.skipif(not (SITE / "book" / "intro.html").is_file(), reason="no built website; run make book")
def test_the_sidebar_numbers_chapters_as_their_files():
    sidebar = (SITE / "book" / "intro.html").read_text(encoding="utf-8").split('class="bd-sidebar-primary', 1)[1]
    numbered = re.findall(r'href="\.\./notebooks/(\d\d)_[^"]+">(\d\d) ', sidebar)
    assert numbered and all(a == b for a, b in numbered), numbered
    assert {a for a, _ in numbered} == set(CHAPTERS)


@pytest.mark.skipif(not (SITE / "genindex.html").is_file(), reason="no built website; run make book")
def test_the_index_lists_the_glossary_terms_in_both_languages():
    index = html.unescape((SITE / "genindex.html").read_text(encoding="utf-8")).replace("\u2019", "'")
    # A term that mixes scripts ("BM25 检索模型") has only its Chinese part marked lang="zh".
    index = index.replace('<span lang="zh">', "").replace("</span>", "")
    for row in glossary_rows()[:5] + glossary_rows()[-5:]:
        for term in (re.sub(r"\s*\(.*\)", "", row["en"]), row["zh"].split(" / ")[0]):
            assert re.search(r'glossary\.html#term-[a-z0-9-]+">' + re.escape(term), index), term


@pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="no built website; run make book")
def test_the_site_is_at_most_15_mb_and_ships_no_full_mathjax():
    # 10.3 MB for eight chapters when the cap was set at 12 MB; ten chapters with executed
    # solutions made 13.4 MB (chapter 06's figures and its .ipynb download are the largest part).
    size = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    assert size <= 15_000_000, f"the website is {size / 1e6:.1f} MB"
    assert not (SITE / "_static" / "mathjax" / "sre").exists()
    assert (SITE / "_static" / "fonts" / "embedlab-cjk.woff2").is_file()
    assert (SITE / "pagefind" / "pagefind-ui.js").is_file()
