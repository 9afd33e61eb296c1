"""Tests of embedlab.plot.coverage (chapter 01's figure helper)."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from embedlab import plot, text


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
        plot.coverage({"x": []})
