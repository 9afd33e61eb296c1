"""Tests of embedlab.plot: the CJK font and the figure helpers."""

import warnings
from timeit import default_timer

import adjustText
import matplotlib
import matplotlib.font_manager as font_manager
import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from embedlab import plot, text


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


def _label_boxes(fig: Figure) -> list:
    """The drawn extents of the axes' non-empty texts (adjustText's connecting lines have none)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [t.get_window_extent(renderer).shrunk(0.98, 0.98) for t in fig.axes[0].texts if t.get_text()]


def test_scatter_labels_moves_crowded_labels_apart():
    # twelve points in a clump far smaller than a label, and eight spread out: labels written at
    # their points would all overlap (the old layout did, chapter 04's 八/九/十/五/六)
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0.0, 0.02, (12, 2)), rng.normal(3.0, 1.0, (8, 2))])
    labels = [f"数字{i}" for i in range(20)]
    fig = plot.scatter_labels(points, labels, groups=["clump"] * 12 + ["spread"] * 8)
    _draw_without_missing_glyphs(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts if t.get_text()] == labels  # every label, in order
    boxes = _label_boxes(fig)
    overlapping = [(labels[i], labels[j]) for i in range(len(boxes)) for j in range(i)
                   if boxes[i].overlaps(boxes[j])]
    assert not overlapping, f"labels overlap: {overlapping}"
    legend = ax.get_legend().get_window_extent()
    assert not [label for label, box in zip(labels, boxes) if box.overlaps(legend)]
    axes_box = ax.get_window_extent()
    assert all(axes_box.contains(b.x0, b.y0) and axes_box.contains(b.x1, b.y1) for b in boxes)


def test_scatter_labels_layout_is_deterministic():
    points = np.random.default_rng(1).normal(0.0, 0.05, (10, 2))
    labels = [str(i) for i in range(10)]
    first, second = (plot.scatter_labels(points, labels) for _ in range(2))
    assert [t.get_position() for t in first.axes[0].texts] == [t.get_position() for t in second.axes[0].texts]


def test_scatter_labels_layout_does_not_depend_on_the_machines_speed(monkeypatch):
    # thirty crowded labels: adjustText is still moving them after a second; on a slow or busy
    # machine (here: a clock that runs 100 times fast) it must make the same moves
    rng = np.random.default_rng(0)
    points = rng.normal(size=(30, 2)) * np.where(np.arange(30) < 10, 0.2, 1.0)[:, None]
    labels = [f"词{i}" for i in range(30)]
    normal = plot.scatter_labels(points, labels)
    monkeypatch.setattr(adjustText, "timer", lambda: 100 * default_timer())
    slow = plot.scatter_labels(points, labels)
    assert [t.get_position() for t in normal.axes[0].texts] == [t.get_position() for t in slow.axes[0].texts]


@pytest.mark.parametrize("call, message", [
    (lambda: plot.zipf([]), "counts must hold at least one number"),
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


# --- coverage ---------------------------------------------------------------------


def test_coverage_draws_each_curve_and_labels_the_marks():
    curves = {
        "words": text.coverage_curve([["a", "a", "a", "b", "b", "c", "d"]]),  # 3/7, 5/7, 6/7, 1
        "characters": torch.tensor([0.5, 0.96, 1.0], dtype=torch.float64),
    }
    fig = plot.coverage(curves, marks=(0.95, 0.99), title="coverage")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "coverage"
    assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == [
        "words", "characters"]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["2", "3", "4", "4"]  # characters reach 0.95 at 2 and 0.99 at 3; words at 4 for both


def test_coverage_errors():
    with pytest.raises(ValueError, match="curves must name at least one curve"):
        plot.coverage({})
    with pytest.raises(ValueError, match=r"marks must lie in \(0, 1\]"):
        plot.coverage({"x": [0.5, 1.0]}, marks=(1.5,))
    with pytest.raises(ValueError, match="curve 'x' must be a non-empty, non-decreasing 1-D sequence"):
        plot.coverage({"x": [0.9, 0.5]})
    with pytest.raises(ValueError, match="curve 'x' must be a non-empty, non-decreasing 1-D sequence"):
        plot.coverage({"x": [[0.5, 1.0]]})
    with pytest.raises(ValueError, match="curve 'x' must be a non-empty, non-decreasing 1-D sequence"):
        plot.coverage({"x": []})


# --- labelled bars ----------------------------------------------------------------


def test_labelled_bars_draws_one_bar_per_label_with_notes():
    fig = plot.labelled_bars([3.0, 2.0, 1.0], ["，", "酒店", "好"], title="t", xlabel="x", ylabel="y", notes=["x3", "x2", "x1"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [round(p.get_height(), 6) for p in ax.patches] == [3.0, 2.0, 1.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["，", "酒店", "好"]
    assert [a.get_text() for a in ax.texts] == ["x3", "x2", "x1"]
    assert ax.get_title() == "t" and ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    family = plot.use_cjk_font()
    assert font_manager.FontProperties(family=family).get_name() == family


@pytest.mark.parametrize(
    "values, labels, notes, match",
    [
        ([], [], (), "values must hold at least one number"),
        ([[1.0, 2.0]], ["a"], (), "values must be 1-D"),
        ([1.0, 2.0], ["a"], (), "labels has 1 entries, values has 2"),
        ([1.0, 2.0], ["a", "b"], ["x1"], "notes has 1 entries, values has 2"),
    ],
)
def test_labelled_bars_errors(values, labels, notes, match):
    with pytest.raises(ValueError, match=match):
        plot.labelled_bars(values, labels, title="t", xlabel="x", ylabel="y", notes=notes)


# --- token strips -----------------------------------------------------------------


def test_token_strips_draws_one_cell_per_token_with_its_value():
    tokens = [["很", "好"], ["不", "错", "。"]]
    values = [[0.25, 0.75], [0.1, 0.8, 0.1]]
    fig = plot.token_strips(tokens, values, ["a", "b"], title="weights")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["很", "好", "不", "错", "。"]
    grid = ax.images[0].get_array()
    assert grid.shape == (2, 3)
    assert grid[0, 2] is np.ma.masked  # the first row is one token shorter
    np.testing.assert_allclose(grid[1].filled(np.nan), [0.1, 0.8, 0.1])
    assert ax.get_title() == "weights"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_token_strips_symmetric_scale_is_centred_on_zero():
    fig = plot.token_strips([["a", "b"]], [[-0.5, 2.0]], ["r"], cmap="RdBu", symmetric=True)
    assert fig.axes[0].images[0].get_clim() == (-2.0, 2.0)


def test_token_strips_bad_inputs_raise():
    with pytest.raises(ValueError, match="same non-zero number of rows"):
        plot.token_strips([["a"]], [[1.0], [2.0]], ["r"])
    with pytest.raises(ValueError, match="row 0 has 2 tokens but 1 values"):
        plot.token_strips([["a", "b"]], [[1.0]], ["r"])


def test_tensors_and_arrays_draw_the_same_figure_as_lists():
    as_list = plot.labelled_bars([3.0, 1.0], ["a", "b"], title="t", xlabel="x", ylabel="y")
    as_tensor = plot.labelled_bars(torch.tensor([3.0, 1.0]), ["a", "b"], title="t", xlabel="x", ylabel="y")
    assert [p.get_height() for p in as_list.axes[0].patches] == [p.get_height() for p in as_tensor.axes[0].patches]


# --- the contract: every public callable refuses bad input with a clear error ---------------------

_NAN = float("nan")

BAD_CALLS = [
    ("plot.zipf", lambda: plot.zipf(None), TypeError, "counts must be a sequence or array of numbers"),
    ("plot.zipf", lambda: plot.zipf("321"), TypeError, "counts must be a sequence or array of numbers"),
    ("plot.zipf", lambda: plot.zipf([3, "a"]), TypeError, "counts must hold only numbers"),
    ("plot.zipf", lambda: plot.zipf([[3, 2]]), ValueError, "counts must be 1-D"),
    ("plot.zipf", lambda: plot.zipf([3, _NAN]), ValueError, "counts must hold finite numbers"),
    ("plot.zipf", lambda: plot.zipf([3, -1]), ValueError, "counts must be non-negative"),
    ("plot.zipf", lambda: plot.zipf([3, 2], labels="ab"), TypeError, "labels must be a list of str"),
    ("plot.zipf", lambda: plot.zipf([3, 2], labels=[1]), TypeError, "labels[0] must be a str"),
    ("plot.zipf", lambda: plot.zipf([3, 2], title=None), TypeError, "title must be a str"),
    ("plot.heatmap", lambda: plot.heatmap(None, [], []), TypeError, "values must be a sequence or array"),
    ("plot.heatmap", lambda: plot.heatmap([[1, 2], [3]], ["a", "b"], ["a", "b"]), ValueError, "values must be a rectangular array"),
    ("plot.heatmap", lambda: plot.heatmap(np.full((1, 1), np.inf), ["a"], ["b"]), ValueError, "values must hold finite numbers"),
    ("plot.heatmap", lambda: plot.heatmap(np.eye(2), None, ["a", "b"]), TypeError, "row_labels must be a list or tuple of str"),
    ("plot.heatmap", lambda: plot.heatmap(np.eye(2), ["a", "b"], ["a", 2]), TypeError, "col_labels[1] must be a str"),
    ("plot.heatmap", lambda: plot.heatmap(np.eye(1), ["a"], ["b"], annotate="yes"), TypeError, "annotate must be True or False"),
    ("plot.heatmap", lambda: plot.heatmap(np.eye(1), ["a"], ["b"], cmap="no-such-map"), ValueError, "cmap must name a matplotlib colormap"),
    ("plot.heatmap", lambda: plot.heatmap(np.eye(1), ["a"], ["b"], cmap=None), TypeError, "cmap must be a str"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(None, []), TypeError, "points must be a sequence or array"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(np.full((1, 2), np.nan), ["a"]), ValueError, "points must hold finite numbers"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(np.zeros(2), ["a"]), ValueError, "points must have shape (N, 2)"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(np.zeros((1, 2)), "a"), TypeError, "labels must be a list of str"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(np.zeros((1, 2)), ["a"], groups=[None]), TypeError, "groups[0] must be a str"),
    ("plot.scatter_labels", lambda: plot.scatter_labels(np.zeros((2, 2)), ["a", "b"], groups=["g"]), ValueError, "groups has 1 entries"),
    ("plot.curves", lambda: plot.curves(None, "x", "y"), TypeError, "series must be a dict"),
    ("plot.curves", lambda: plot.curves([1.0, 2.0], "x", "y"), TypeError, "series must be a dict"),
    ("plot.curves", lambda: plot.curves({"a": None}, "x", "y"), TypeError, "series['a'] must be a sequence or array"),
    ("plot.curves", lambda: plot.curves({"a": [1.0, _NAN]}, "x", "y"), ValueError, "series['a'] must hold finite numbers"),
    ("plot.curves", lambda: plot.curves({1: [1.0]}, "x", "y"), TypeError, "series' names must be a str"),
    ("plot.curves", lambda: plot.curves({"a": [1.0]}, None, "y"), TypeError, "xlabel must be a str"),
    ("plot.curves", lambda: plot.curves({"a": [1.0]}, "x", "y", x=["one"]), TypeError, "x must hold only numbers"),
    ("plot.curves", lambda: plot.curves({"a": [1.0, 2.0]}, "x", "y", x=[1.0]), ValueError, "series 'a' has 2 values but x has 1"),
    ("plot.labelled_bars", lambda: plot.labelled_bars(None, [], "t", "x", "y"), TypeError, "values must be a sequence or array"),
    ("plot.labelled_bars", lambda: plot.labelled_bars([_NAN], ["a"], "t", "x", "y"), ValueError, "values must hold finite numbers"),
    ("plot.labelled_bars", lambda: plot.labelled_bars([1.0], [1], "t", "x", "y"), TypeError, "labels[0] must be a str"),
    ("plot.labelled_bars", lambda: plot.labelled_bars([1.0], ["a"], "t", "x", "y", notes="x"), TypeError, "notes must be a list of str"),
    ("plot.labelled_bars", lambda: plot.labelled_bars([1.0], ["a"], None, "x", "y"), TypeError, "title must be a str"),
    ("plot.labelled_bars", lambda: plot.labelled_bars([1.0, 2.0], ["a"], "t", "x", "y"), ValueError, "labels has 1 entries, values has 2"),
    ("plot.coverage", lambda: plot.coverage(None), TypeError, "curves must be a dict"),
    ("plot.coverage", lambda: plot.coverage({"x": None}), TypeError, "curves['x'] must be a sequence or array"),
    ("plot.coverage", lambda: plot.coverage({"x": [0.5, _NAN]}), ValueError, "curves['x'] must hold finite numbers"),
    ("plot.coverage", lambda: plot.coverage({"x": [0.5, 1.0]}, marks=0.9), TypeError, "marks must be a list or tuple"),
    ("plot.coverage", lambda: plot.coverage({"x": [0.5, 1.0]}, marks=("high",)), TypeError, "marks[0] must be a number"),
    ("plot.coverage", lambda: plot.coverage({"x": [0.5, 1.0]}, marks=(_NAN,)), ValueError, "marks[0] must be a finite number"),
    ("plot.coverage", lambda: plot.coverage({"x": [0.5, 1.0]}, marks=(0.0,)), ValueError, "marks must lie in (0, 1]"),
    ("plot.token_strips", lambda: plot.token_strips(None, [[1.0]], ["r"]), TypeError, "tokens must be a list or tuple"),
    ("plot.token_strips", lambda: plot.token_strips(["ab"], [[1.0, 2.0]], ["r"]), TypeError, "tokens[0] must be a list of str"),
    ("plot.token_strips", lambda: plot.token_strips([["a"]], [[_NAN]], ["r"]), ValueError, "values[0] must hold finite numbers"),
    ("plot.token_strips", lambda: plot.token_strips([["a"]], [["x"]], ["r"]), TypeError, "values[0] must hold only numbers"),
    ("plot.token_strips", lambda: plot.token_strips([["a"]], [[1.0]], "r"), TypeError, "row_labels must be a list of str"),
    ("plot.token_strips", lambda: plot.token_strips([[]], [[]], ["r"]), ValueError, "tokens must hold at least one token"),
    ("plot.token_strips", lambda: plot.token_strips([["a"]], [[1.0]], ["r"], symmetric=1), TypeError, "symmetric must be True or False"),
    ("plot.token_strips", lambda: plot.token_strips([["a"]], [[1.0]], ["r"], cmap="nope"), ValueError, "cmap must name a matplotlib colormap"),
]


# --- figures at 2x ------------------------------------------------------------------


def test_figures_are_drawn_at_twice_their_size_in_256_colours():
    import base64
    import io

    from PIL import Image

    fig = plot.curves({"train": [1.0, 0.5, 0.2], "val": [1.1, 0.7, 0.6]}, "epoch", "loss", title="损失")
    data, shown = plot._png_2x(fig)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.mode == "P" and len(image.getcolors()) <= 256
    assert shown == {"width": image.width // 2, "height": image.height // 2}
    # bbox_inches="tight" trims the margins: about the figure's own 700 x 450 pixels, shown at 1x
    assert 600 <= shown["width"] <= 720 and 380 <= shown["height"] <= 470
    plain = io.BytesIO()
    fig.savefig(plain, format="png", bbox_inches="tight")
    assert len(base64.b64decode(data)) < len(plain.getvalue()), "the 2x PNG should weigh less than a 1x one"


def test_show_figures_at_2x_needs_ipython():
    with pytest.raises(RuntimeError, match="inside IPython or Jupyter only"):
        plot.show_figures_at_2x()
