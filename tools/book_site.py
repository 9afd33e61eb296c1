"""Sphinx extension for the book's website: chapter numbers, links, the glossary index, Chinese, search.

Loaded by `_config.yml` (`sphinx.local_extensions`), so every `jupyter-book build` does all of it:

* Chapters are numbered as the files are: `notebooks/05_pooling_classifiers` is chapter 05 in the
  sidebar, the page title and the browser tab (Sphinx would count them from 1).
* "chapter NN" in prose becomes a link to that chapter.
* Each row of the glossary table gets an anchor and an index entry (English and Chinese), so the
  index page lists every term.
* After the HTML is written (`build-finished`):
  1. every run of Chinese text is wrapped in `<span lang="zh">`;
  2. the CJK web font is subset from the mplfonts Noto Sans CJK SC file to exactly the characters
     the pages contain, as woff2 (`_static/fonts/embedlab-cjk.woff2`);
  3. files no page loads are removed: all of MathJax but `tex-chtml.js`, its CHTML fonts and the
     TeX extensions it may autoload; source maps; the theme's translation catalogues; Sphinx's
     search index (Pagefind replaces it);
  4. Pagefind (extended build, which segments Chinese) indexes the pages into `pagefind/`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

CHAPTER_DOC = re.compile(r"notebooks/(\d\d)_[a-z0-9_]+")
CHAPTER_MENTION = re.compile(r"\b([Cc]hapter) (\d\d)\b")
GLOSSARY_DOC = "book/glossary"

# Chinese: CJK punctuation, Unified Ideographs (and Extension A), compatibility ideographs, full-width forms.
CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
CJK_RUN = re.compile(f"[{CJK}]+")
FONT_FILE = "_static/fonts/embedlab-cjk.woff2"
# Elements whose text is not drawn as text, or must not get markup inside it.
RAW_TEXT = ("script", "style", "title", "textarea", "svg", "math")
TAG = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)


# --- chapter numbers ------------------------------------------------------------------------------

def number_chapters_as_files(app: Sphinx, env) -> list[str]:
    """Replace Sphinx's 1, 2, 3 ... by the two-digit number in the chapter's file name."""
    for docname, secnums in env.toc_secnumbers.items():
        match = CHAPTER_DOC.fullmatch(docname)
        if not match:
            continue
        chapter = match.group(1)
        for anchor, number in secnums.items():
            if number:
                secnums[anchor] = (chapter, *number[1:])
        for reference in env.tocs[docname].findall(nodes.reference):
            if reference.get("secnumber"):
                reference["secnumber"] = [chapter, *reference["secnumber"][1:]]
        title = env.titles.get(docname)
        if title is not None and title.get("secnumber"):
            title["secnumber"] = [chapter, *title["secnumber"][1:]]
    return []


# --- links from "chapter NN" ----------------------------------------------------------------------

def _chapter_docs(env) -> dict[str, str]:
    return {m.group(1): doc for doc in env.found_docs if (m := CHAPTER_DOC.fullmatch(doc))}


def link_chapter_mentions(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Turn "chapter 05" in running text into a link to chapter 05 (not inside code, links or titles)."""
    chapters = _chapter_docs(app.env)
    skip = (nodes.reference, nodes.literal, nodes.FixedTextElement, nodes.title, nodes.raw,
            addnodes.toctree, nodes.math)
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or not CHAPTER_MENTION.search(text.astext()):
            continue
        ancestor, inside = parent, False
        while ancestor is not None:
            if isinstance(ancestor, skip):
                inside = True
                break
            ancestor = ancestor.parent
        if inside:
            continue
        pieces, last, source = [], 0, text.astext()
        for match in CHAPTER_MENTION.finditer(source):
            target = chapters.get(match.group(2))
            if target is None or target == docname:
                continue
            pieces.append(nodes.Text(source[last:match.start()]))
            uri = app.builder.get_relative_uri(docname, target)
            pieces.append(nodes.reference("", match.group(0), refuri=uri, internal=True))
            last = match.end()
        if not pieces:
            continue
        pieces.append(nodes.Text(source[last:]))
        parent.replace(text, pieces)


# --- the glossary: an anchor and index entries per row --------------------------------------------

def slug(term: str) -> str:
    return "term-" + re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


class GlossaryIndex(SphinxTransform):
    """Give each glossary row an anchor (#term-...) and index entries for its English and Chinese terms.

    A transform, not a doctree-read handler: it must run before Sphinx collects index entries (850)."""

    default_priority = 800

    def apply(self) -> None:
        if self.env.docname != GLOSSARY_DOC:
            return
        for table in self.document.findall(nodes.table):
            for row in table.findall(nodes.row):
                if isinstance(row.parent, nodes.thead):
                    continue
                cells = list(row.findall(nodes.entry))
                english, chinese = cells[0].astext().strip(), cells[1].astext().strip()
                anchor = slug(english)
                entries = [("single", english, anchor, "", None)]
                entries += [("single", zh.strip(), anchor, "", None) for zh in re.split(r"[，,/、]", chinese) if zh.strip()]
                paragraph = cells[0].children[0] if cells[0].children else cells[0]
                paragraph.insert(0, nodes.target("", "", ids=[anchor]))
                paragraph.insert(0, addnodes.index(entries=entries))


# --- after the build ------------------------------------------------------------------------------

MARKED = re.compile(f'<span lang="zh">([{CJK}]+)</span>')


def mark_chinese(html: str) -> str:
    """Wrap every run of Chinese characters in text content (not in tags or raw-text elements) in lang="zh".

    Idempotent: an incremental build leaves unchanged pages on disk, and they pass through here again."""
    while MARKED.search(html):
        html = MARKED.sub(r"\1", html)
    out, pos, raw = [], 0, None
    for tag in TAG.finditer(html):
        text = html[pos:tag.start()]
        out.append(text if raw else CJK_RUN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', text))
        token = tag.group(0)
        out.append(token)
        name = re.match(r"</?([a-zA-Z0-9]+)", token)
        if name:
            lowered = name.group(1).lower()
            if raw is None and token[1] != "/" and lowered in RAW_TEXT and not token.endswith("/>"):
                raw = lowered
            elif raw == lowered and token[1] == "/":
                raw = None
        pos = tag.end()
    out.append(html[pos:] if raw else CJK_RUN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', html[pos:]))
    return "".join(out)


def _page_text_characters(html: str) -> set[str]:
    return set("".join(CJK_RUN.findall(html)))


def subset_cjk_font(outdir: Path, characters: set[str]) -> Path:
    """Noto Sans CJK SC (from the mplfonts package), cut to the characters the pages use, as woff2."""
    import mplfonts
    from fontTools import subset

    source = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not source.is_file():
        raise FileNotFoundError(f"{source} is missing: the CJK web font is cut from mplfonts' Noto Sans CJK SC")
    target = outdir / FONT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    options = subset.Options()
    options.flavor = "woff2"  # needs the brotli package (pinned in requirements.txt)
    options.layout_features = ["*"]
    options.hinting = False
    options.desubroutinize = True
    options.name_IDs = ["*"]  # keep the licence and copyright names (SIL Open Font License)
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(font)
    subset.save_font(font, str(target), options)
    return target


MATHJAX_KEEP = ("tex-chtml.js", "output/chtml/fonts/", "input/tex/extensions/")


def prune_static(outdir: Path) -> None:
    """Remove what no page loads: most of MathJax, source maps, translation catalogues.

    (Sphinx's searchindex.js stays, unused: an incremental build reads it back.)"""
    mathjax = outdir / "_static" / "mathjax"
    if mathjax.is_dir():
        for path in sorted(mathjax.rglob("*"), reverse=True):
            relative = path.relative_to(mathjax).as_posix()
            if path.is_file() and not relative.startswith(MATHJAX_KEEP):
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for path in (outdir / "_static").rglob("*.map"):
        path.unlink()
    shutil.rmtree(outdir / "_static" / "locales", ignore_errors=True)
    # Font Awesome's .ttf copies: its CSS lists the .woff2 first, which every current browser takes.
    for path in (outdir / "_static" / "vendor").rglob("*.ttf"):
        path.unlink()


def run_pagefind(outdir: Path) -> None:
    """Index the pages with Pagefind's extended build (it segments Chinese into words)."""
    import pagefind_bin_extended

    shutil.rmtree(outdir / "pagefind", ignore_errors=True)
    command = [
        str(pagefind_bin_extended.get_executable()), "--site", str(outdir), "--quiet",
        # Pages are English with Chinese examples; indexing them as Chinese segments the Chinese
        # (jieba-style) while English words still split on spaces.
        "--force-language", "zh",
        "--exclude-selectors", ".math, .headerlink, .copybtn, .toggle-details__summary, "
                               ".cell_output img, mjx-container, .tag_remove-input",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pagefind failed:\n{result.stdout}\n{result.stderr}")


def finish_site(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    characters: set[str] = set()
    for page in sorted(outdir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        marked = mark_chinese(html)
        if page.name not in ("search.html", "genindex.html"):
            marked = marked.replace('<article class="bd-article">', '<article class="bd-article" data-pagefind-body>', 1)
        characters |= _page_text_characters(marked)
        if marked != html:
            page.write_text(marked, encoding="utf-8")
    font = subset_cjk_font(outdir, characters)
    logger.info(f"CJK web font: {len(characters)} characters, {font.stat().st_size / 1024:.0f} KiB ({FONT_FILE})")
    prune_static(outdir)
    run_pagefind(outdir)
    logger.info("search: Pagefind index written to pagefind/")


def setup(app: Sphinx) -> dict:
    app.connect("env-get-updated", number_chapters_as_files, priority=900)
    app.connect("doctree-resolved", link_chapter_mentions)
    app.add_transform(GlossaryIndex)
    app.connect("build-finished", finish_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
