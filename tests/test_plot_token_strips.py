"""Tests of embedlab.plot.token_strips (appended to plot.py for chapter 05)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from embedlab import plot


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
