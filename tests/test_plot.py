"""Tests of embedlab.plot: the CJK font and the figure helpers."""

import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from embedlab import plot


def test_cjk_font_is_registered_first():
    family = plot.use_cjk_font()
    assert family == "Noto Sans CJK SC"
    assert matplotlib.rcParams["font.sans-serif"][0] == family
    assert plot.use_cjk_font() == family  # idempotent
    assert matplotlib.rcParams["font.sans-serif"].count(family) == 1


def _draw_without_missing_glyphs(fig: Figure) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for tofu
        FigureCanvasAgg(fig).draw()  # a bare Figure's own canvas renders nothing


def test_the_glyph_check_catches_tofu(monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "font.sans-serif", ["DejaVu Sans"])
    fig = Figure()
    fig.add_subplot().set_title("中国")
    with pytest.raises(UserWarning, match="missing from font"):
        _draw_without_missing_glyphs(fig)


def test_chinese_labels_render_without_missing_glyphs():
    fig = plot.zipf([100, 50, 30, 5], labels=["的", "中国"], title="频率 frequency")
    _draw_without_missing_glyphs(fig)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["的", "中国"]


def test_helpers_return_figures():
    figs = [
        plot.heatmap(np.eye(2), ["狗", "猫"], ["a", "b"], title="t"),
        plot.scatter_labels(np.zeros((3, 2)), ["北京", "上海", "x"], groups=["城市", "城市", "other"]),
        plot.curves({"train": [1.0, 0.5], "val": [1.1, 0.7]}, "epoch", "loss"),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        _draw_without_missing_glyphs(fig)
    assert len(figs[1].axes[0].get_legend().get_texts()) == 2


@pytest.mark.parametrize("call, message", [
    (lambda: plot.zipf([]), "counts must be a non-empty 1-D sequence"),
    (lambda: plot.zipf([1, 5]), "counts must be sorted from most to least frequent"),
    (lambda: plot.zipf([5, 1], labels=["a", "b", "c"]), "labels has 3 entries but counts only 2"),
    (lambda: plot.heatmap(np.zeros(3), [], []), r"values must be 2-D, got shape \(3,\)"),
    (lambda: plot.heatmap(np.zeros((2, 2)), ["a"], ["a", "b"]), "1 row labels and 2 column labels"),
    (lambda: plot.scatter_labels(np.zeros((2, 3)), ["a", "b"]), r"points must have shape \(N, 2\), got \(2, 3\)"),
    (lambda: plot.scatter_labels(np.zeros((2, 2)), ["a"]), "labels has 1 entries, points has 2 rows"),
    (lambda: plot.curves({}, "x", "y"), "series must name at least one curve"),
    (lambda: plot.curves({"a": [1, 2]}, "x", "y", x=[1]), "series 'a' has 2 values but x has 1"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
