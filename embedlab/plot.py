"""Figures for the chapters: a CJK font so Chinese labels render, and helpers that return figures.

Nothing here shows or saves a figure; each helper returns a :class:`matplotlib.figure.Figure`
and the notebook decides what to do with it. Numbers may come as lists, NumPy arrays or CPU
tensors; they must be finite. Labels are str.
"""

from __future__ import annotations

import io
from binascii import b2a_base64
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.font_manager as font_manager
import numpy as np
from adjustText import adjust_text
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from embedlab import checks
from embedlab.corpora import CJK_FONT, locate

_CJK_FAMILY: str | None = None


def use_cjk_font() -> str:
    """Register Noto Sans CJK SC (from ``mplfonts``) and make it matplotlib's first sans-serif font.

    Idempotent. Returns the font's family name.
    """
    global _CJK_FAMILY
    if _CJK_FAMILY is None:
        path = locate(CJK_FONT)
        font_manager.fontManager.addfont(str(path))
        _CJK_FAMILY = font_manager.FontProperties(fname=str(path)).get_name()
    families = list(matplotlib.rcParams["font.sans-serif"])
    if not families or families[0] != _CJK_FAMILY:
        matplotlib.rcParams["font.sans-serif"] = [_CJK_FAMILY] + [f for f in families if f != _CJK_FAMILY]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font has no U+2212 minus glyph
    return _CJK_FAMILY


def show_figures_at_2x() -> None:
    """In a notebook: show every figure as a PNG drawn at twice its size, sharp on any screen.

    What ``%config InlineBackend.figure_formats = ["retina"]`` does, but the PNG is reduced to
    256 colours (no dithering: a figure has few colours), so it weighs less than a plain 1x
    PNG and the website stays light. Call it after ``%matplotlib inline``.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("show_figures_at_2x() works inside IPython or Jupyter only")
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png_2x)


def _png_2x(fig: Figure) -> tuple[str, dict[str, int]]:
    """The figure as a base64 PNG at 2x its pixel size, and the size to show it at."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=2 * fig.dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    image = Image.open(buffer).convert("RGB")
    image = image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    png = io.BytesIO()
    image.save(png, format="PNG", optimize=True)
    shown = {"width": image.width // 2, "height": image.height // 2}
    return b2a_base64(png.getvalue()).decode("ascii"), shown


def _check_cmap(cmap: object) -> None:
    """A matplotlib colormap name."""
    checks.check_str("cmap", cmap)
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap must name a matplotlib colormap (e.g. 'viridis', 'RdBu'), got {cmap!r}")


def zipf(counts: Sequence[int], labels: Sequence[str] = (), title: str = "") -> Figure:
    """Frequency against rank on log-log axes; the first ``len(labels)`` points are labelled.

    Args:
        counts: token counts sorted from most to least frequent.
        labels: the tokens of the first few counts, written next to their points.
        title: the figure's title.
    """
    counts = checks.check_numbers("counts", counts, dim=1)
    checks.check_str_list("labels", labels)
    checks.check_str("title", title)
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    if np.any(np.diff(counts) > 0):
        raise ValueError("counts must be sorted from most to least frequent")
    if len(labels) > counts.size:
        raise ValueError(f"labels has {len(labels)} entries but counts only {counts.size}")
    use_cjk_font()
    ranks = np.arange(1, counts.size + 1)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.loglog(ranks, counts, marker=".", linestyle="none", markersize=2)
    for rank, label in enumerate(labels, start=1):
        # alternate above and below the curve so neighbouring labels of the crowded head do not overlap
        offset = (4, 6) if rank % 2 else (4, -14)
        ax.annotate(label, (rank, counts[rank - 1]), textcoords="offset points", xytext=offset, fontsize=10)
    ax.set_xlabel("rank (log scale)")
    ax.set_ylabel("count (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    return fig


def heatmap(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    annotate: bool = True,
    cmap: str = "viridis",
) -> Figure:
    """A labelled heat map of a 2-D array (attention weights, confusion matrices, ...).

    Args:
        values: (R, K) array.
        row_labels: R labels, top to bottom.
        col_labels: K labels, left to right.
        annotate: write each value (2 decimals) in its cell.
    """
    values = checks.check_numbers("values", values, dim=2)
    checks.check_str_list("row_labels", row_labels)
    checks.check_str_list("col_labels", col_labels)
    checks.check_str("title", title)
    checks.check_bool("annotate", annotate)
    _check_cmap(cmap)
    if len(row_labels) != values.shape[0] or len(col_labels) != values.shape[1]:
        raise ValueError(
            f"labels must match values of shape {values.shape}, got {len(row_labels)} row labels "
            f"and {len(col_labels)} column labels"
        )
    use_cjk_font()
    rows, cols = values.shape
    fig = Figure(figsize=(1.0 + 0.6 * cols, 1.0 + 0.5 * rows))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap=cmap)
    ax.set_xticks(range(cols), labels=list(col_labels), rotation=60, ha="right")
    ax.set_yticks(range(rows), labels=list(row_labels))
    if annotate:
        middle = (values.max() + values.min()) / 2
        for i in range(rows):
            for j in range(cols):
                color = "black" if values[i, j] > middle else "white"
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def scatter_labels(
    points: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """A 2-D map of labelled points (e.g. word vectors after PCA), coloured by group.

    Args:
        points: (N, 2) array.
        labels: N labels (Chinese renders with the CJK font).
        groups: N group names, one colour per group, shown in the legend.
    """
    points = checks.check_numbers("points", points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    checks.check_str_list("labels", labels)
    if groups is not None:
        checks.check_str_list("groups", groups)
    checks.check_str("title", title)
    if len(labels) != points.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries, points has {points.shape[0]} rows")
    if groups is not None and len(groups) != points.shape[0]:
        raise ValueError(f"groups has {len(groups)} entries, points has {points.shape[0]} rows")
    use_cjk_font()
    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot()
    names = list(dict.fromkeys(groups)) if groups is not None else [""]
    for name in names:
        rows = [i for i in range(len(labels)) if groups is None or groups[i] == name]
        ax.scatter(points[rows, 0], points[rows, 1], label=name or None, s=18)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.set_title(title)
    ax.margins(0.08)  # room at the edges for the labels of the outermost points
    legend = ax.legend(loc="best", fontsize=9) if groups is not None else None
    texts = [ax.text(x, y, label, fontsize=10) for (x, y), label in zip(points, labels)]
    _spread_labels(ax, texts, points, legend)
    return fig


_LABEL_MOVES = 500  # adjustText's iterations: about its default one second's worth on a 2-core laptop


def _spread_labels(ax, texts: list, points: np.ndarray, legend: object = None) -> None:
    """Move overlapping labels apart (adjustText); a thin line joins a moved label to its point.

    Deterministic: adjustText breaks ties between coinciding labels with a fixed seed, and it stops
    after a fixed number of moves (``_LABEL_MOVES``), not after its default of one second, whose
    number of moves would depend on how fast and how busy the machine is.
    """
    FigureCanvasAgg(ax.figure)  # a renderer, so that adjustText can measure the labels
    ax.figure.draw_without_rendering()  # places the legend
    # fix the limits: the connecting lines adjustText adds must not rescale the axes afterwards
    ax.set(xlim=ax.get_xlim(), ylim=ax.get_ylim())
    avoid = [legend] if legend is not None else None
    adjust_text(
        texts, x=points[:, 0], y=points[:, 1], objects=avoid, ax=ax,
        expand=(1.2, 1.4),  # keep a margin around each label
        prevent_crossings=False,  # its late swaps can put two labels on top of each other again
        iter_lim=_LABEL_MOVES,
        arrowprops={"arrowstyle": "-", "color": "0.5", "linewidth": 0.5},
    )


def curves(
    series: Mapping[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    title: str = "",
    x: Sequence[float] | None = None,
) -> Figure:
    """Several named curves on one axis (learning curves, loss per epoch, ...).

    Args:
        series: name -> values; every curve is drawn against ``x`` or against 1, 2, 3, ...
        x: shared x values, one per value of each series.
    """
    checks.check_type("series", series, Mapping, "a dict of name -> values")
    if not series:
        raise ValueError("series must name at least one curve, got none")
    for name, values in series.items():
        checks.check_str("series' names", name)
        checks.check_numbers(f"series[{name!r}]", values, dim=1)
    if x is not None:
        checks.check_numbers("x", x, dim=1)
    checks.check_str("xlabel", xlabel)
    checks.check_str("ylabel", ylabel)
    checks.check_str("title", title)
    for name, values in series.items():
        xs = list(x) if x is not None else list(range(1, len(values) + 1))
        if len(xs) != len(values):
            raise ValueError(f"series {name!r} has {len(values)} values but x has {len(xs)}")
    use_cjk_font()
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for name, values in series.items():
        xs = list(x) if x is not None else list(range(1, len(values) + 1))
        ax.plot(xs, list(values), marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 03 (gradients through a lookup).


def labelled_bars(
    values: Sequence[float],
    labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    notes: Sequence[str] = (),
) -> Figure:
    """Vertical bars, one per label (e.g. gradient norm per token), with an optional note above each.

    Args:
        values: K bar heights.
        labels: K labels under the bars (Chinese renders with the CJK font).
        notes: empty, or K short strings written above the bars (e.g. ``"x3"`` for a count).
    """
    values = checks.check_numbers("values", values, dim=1)
    checks.check_str_list("labels", labels)
    checks.check_str_list("notes", notes)
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        checks.check_str(name, value)
    if len(labels) != values.size:
        raise ValueError(f"labels has {len(labels)} entries, values has {values.size}")
    if notes and len(notes) != values.size:
        raise ValueError(f"notes has {len(notes)} entries, values has {values.size}")
    use_cjk_font()
    fig = Figure(figsize=(max(6.0, 0.35 * values.size + 1.5), 4.5))
    ax = fig.add_subplot()
    positions = np.arange(values.size)
    ax.bar(positions, values, color="tab:blue")
    ax.set_xticks(positions, labels=list(labels), rotation=60, ha="right", fontsize=10)
    for x, y, note in zip(positions, values, notes):
        ax.annotate(note, (x, y), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Chapter 01 (text to ids): vocabulary coverage.


def coverage(
    curves: Mapping[str, Sequence[float]],
    marks: Sequence[float] = (0.95, 0.99),
    title: str = "",
) -> Figure:
    """Token coverage against vocabulary size (log x axis), one curve per tokenisation.

    Each curve's first crossing of each mark is drawn as a point labelled with the size.

    Args:
        curves: name -> coverage of the k most frequent tokens, k = 1, 2, ... (e.g. from
            ``text.coverage_curve``), each non-decreasing in [0, 1].
        marks: coverage levels drawn as dashed lines, each in (0, 1].
    """
    checks.check_type("curves", curves, Mapping, "a dict of name -> coverage values")
    if not curves:
        raise ValueError("curves must name at least one curve, got none")
    for name, values in curves.items():
        checks.check_str("curves' names", name)
        checks.check_numbers(f"curves[{name!r}]", values, non_empty=False)
    checks.check_sequence("marks", marks, non_empty=False, what="coverage levels")
    for i, mark in enumerate(marks):
        checks.check_float(f"marks[{i}]", mark)
        if not 0 < mark <= 1:
            raise ValueError(f"marks must lie in (0, 1], got {mark!r}")
    checks.check_str("title", title)
    use_cjk_font()
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or values.size == 0 or np.any(np.diff(values) < 0):
            raise ValueError(f"curve {name!r} must be a non-empty, non-decreasing 1-D sequence")
        sizes = np.arange(1, values.size + 1)
        (line,) = ax.plot(sizes, values, label=name)
        for mark in marks:
            k = int(np.searchsorted(values, mark)) + 1
            if k <= values.size:
                ax.plot([k], [values[k - 1]], marker="o", color=line.get_color())
                ax.annotate(f"{k:,}", (k, values[k - 1]), textcoords="offset points", xytext=(-6, 5),
                            ha="right", fontsize=9, color=line.get_color())
    for mark in marks:
        ax.axhline(mark, linestyle="--", linewidth=0.8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size (most frequent types kept, log scale)")
    ax.set_ylabel("share of running tokens covered")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------
# chapter 05 (pooling classifiers)


def token_strips(
    tokens: Sequence[Sequence[str]],
    values: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    title: str = "",
    cmap: str = "Reds",
    symmetric: bool = False,
    colorbar_label: str = "",
) -> Figure:
    """Rows of tokens, each token on a cell coloured by its value (attention weights, contributions).

    Args:
        tokens: R rows of tokens (rows may differ in length).
        values: R rows of numbers, one per token.
        row_labels: R labels written left of the rows.
        cmap: matplotlib colormap name; use a diverging one (e.g. ``"RdBu"``) with ``symmetric``.
        symmetric: centre the colour scale on 0 (for signed values).
        colorbar_label: the colour bar's label.
    """
    checks.check_sequence("tokens", tokens, non_empty=False, what="token rows")
    checks.check_sequence("values", values, non_empty=False, what="rows of numbers")
    checks.check_str_list("row_labels", row_labels)
    for r, row_tokens in enumerate(tokens):
        checks.check_str_list(f"tokens[{r}]", row_tokens)
    for r, row_values in enumerate(values):
        checks.check_numbers(f"values[{r}]", row_values, dim=1, non_empty=False)
    checks.check_str("title", title)
    _check_cmap(cmap)
    checks.check_bool("symmetric", symmetric)
    checks.check_str("colorbar_label", colorbar_label)
    if len(tokens) != len(values) or len(tokens) != len(row_labels) or not tokens:
        raise ValueError(
            f"tokens, values and row_labels must have the same non-zero number of rows, got "
            f"{len(tokens)}, {len(values)} and {len(row_labels)}"
        )
    for r, (row_tokens, row_values) in enumerate(zip(tokens, values)):
        if len(row_tokens) != len(row_values):
            raise ValueError(f"row {r} has {len(row_tokens)} tokens but {len(row_values)} values")
    if not any(tokens):
        raise ValueError("tokens must hold at least one token, got only empty rows")
    use_cjk_font()
    rows, cols = len(tokens), max(len(t) for t in tokens)
    grid = np.full((rows, cols), np.nan)
    for r, row_values in enumerate(values):
        grid[r, : len(row_values)] = np.asarray(row_values, dtype=float)
    finite = grid[np.isfinite(grid)]
    if symmetric:
        bound = float(np.abs(finite).max()) or 1.0
        vmin, vmax = -bound, bound
    else:
        vmin, vmax = float(finite.min()), float(finite.max())
    fig = Figure(figsize=(1.5 + 0.42 * cols, 0.9 + 0.55 * rows))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    colormap = image.get_cmap()
    for r, row_tokens in enumerate(tokens):
        for c, token in enumerate(row_tokens):
            shade = (grid[r, c] - vmin) / (vmax - vmin) if vmax > vmin else 0.5
            red, green, blue, _ = colormap(shade)
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(c, r, token, ha="center", va="center", fontsize=11, color="white" if dark else "black")
    ax.set_yticks(range(rows), labels=list(row_labels))
    ax.set_xticks([])
    ax.set_xlabel("token position")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8, label=colorbar_label)
    fig.tight_layout()
    return fig
