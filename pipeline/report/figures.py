"""Heatmaps of how many distinct sources raised each theme, by site and by sector."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.atomic import atomic_path  # noqa: E402


def _fit_labels(figure, axes, n_columns: int, n_rows: int) -> None:
    """Grow the figure until every column is wider than its label and every row taller than its
    label, so that no two labels overlap, whatever the number and length of the labels."""
    figure.tight_layout()
    for _ in range(3):
        renderer = figure.canvas.get_renderer()
        dpi = figure.dpi
        box = axes.get_window_extent(renderer)
        label_width = max((t.get_window_extent(renderer).width for t in axes.get_xticklabels()), default=0) / dpi
        label_height = max((t.get_window_extent(renderer).height for t in axes.get_yticklabels()), default=0) / dpi
        wider = max(0.0, n_columns * (label_width + 0.15) - box.width / dpi)
        taller = max(0.0, n_rows * (label_height + 0.08) - box.height / dpi)
        if wider < 0.05 and taller < 0.05:
            return
        size = figure.get_size_inches()
        figure.set_size_inches(size[0] + wider, size[1] + taller)
        figure.tight_layout()


def source_heatmap(matrix: pd.DataFrame, dimension: str, target: Path, title: str,
                   pseudonymise=None) -> Path:
    """Draw a theme × ``dimension`` heatmap of distinct sources and save it as PNG.

    Parameters
    ----------
    matrix : DataFrame
        A ``matrix_theme_<dimension>`` table (``theme_label``,
        ``<dimension>_label``, ``sources``), in report order.
    dimension : str
        ``"site"`` or ``"sector"``.
    target : Path
        The PNG to write (atomically).
    title : str
        Figure title.
    pseudonymise : callable, optional
        Applied to every label drawn.

    Returns
    -------
    Path
        ``target``.
    """
    figure = heatmap_figure(matrix, dimension, title, pseudonymise)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)
    return Path(target)


def heatmap_figure(matrix: pd.DataFrame, dimension: str, title: str, pseudonymise=None):
    """The figure :func:`source_heatmap` saves (the caller closes it)."""
    clean = pseudonymise or (lambda text: text)
    label_column = f"{dimension}_label"
    themes = list(dict.fromkeys(matrix["theme_label"]))
    columns = list(dict.fromkeys(matrix[label_column]))
    grid = (matrix.pivot_table(index="theme_label", columns=label_column, values="sources",
                               aggfunc="sum", fill_value=0)
            .reindex(index=themes, columns=columns, fill_value=0))
    values = grid.to_numpy(dtype=float) if grid.size else np.zeros((1, 1))
    width = max(5.0, 1.1 * len(columns) + 3.5)
    height = max(2.5, 0.5 * len(themes) + 1.8)
    figure, axes = plt.subplots(figsize=(width, height), dpi=120)
    image = axes.imshow(values, cmap="Blues", aspect="auto", vmin=0, vmax=max(1.0, values.max()))
    axes.set_xticks(range(len(columns)))
    axes.set_xticklabels([textwrap.fill(clean(str(c)), 14) for c in columns], fontsize=8)
    axes.set_yticks(range(len(themes)))
    axes.set_yticklabels([textwrap.fill(clean(str(t)), 32) for t in themes], fontsize=8)
    threshold = values.max() / 2 if values.size else 0
    for (row, column), value in np.ndenumerate(values):
        if grid.size:
            axes.text(column, row, f"{int(value)}", ha="center", va="center", fontsize=8,
                      color="white" if value > threshold else "black")
    axes.set_title(clean(title), fontsize=10)
    # A colorbar of fixed width: the default takes 15% of the heatmap's width, which on a
    # wide figure (many sites) is inches taken from the columns.
    figure.colorbar(image, ax=axes, label="Distinct sources", shrink=0.8,
                    fraction=min(0.15, 0.6 / width), pad=min(0.05, 0.3 / width))
    _fit_labels(figure, axes, len(columns), len(themes))
    return figure
