"""Tests of embedlab.plot.labelled_bars (the chapter 03 figure helper)."""

import matplotlib.font_manager as font_manager
import pytest
from matplotlib.figure import Figure

from embedlab import plot


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
        ([], [], (), "values must be a non-empty 1-D sequence"),
        ([[1.0, 2.0]], ["a"], (), "values must be a non-empty 1-D sequence"),
        ([1.0, 2.0], ["a"], (), "labels has 1 entries, values has 2"),
        ([1.0, 2.0], ["a", "b"], ["x1"], "notes has 1 entries, values has 2"),
    ],
)
def test_labelled_bars_errors(values, labels, notes, match):
    with pytest.raises(ValueError, match=match):
        plot.labelled_bars(values, labels, title="t", xlabel="x", ylabel="y", notes=notes)
