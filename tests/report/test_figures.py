"""The theme heatmaps: every label readable, however many sites or themes, and only pseudonymised labels drawn."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from pipeline.report.figures import heatmap_figure, source_heatmap


def _matrix(n_sites: int, n_themes: int, site_label: str, theme_label: str) -> pd.DataFrame:
    return pd.DataFrame([{"theme_label": theme_label.format(t), "site_label": site_label.format(s),
                          "sources": (s * t) % 7}
                         for t, s in itertools.product(range(n_themes), range(n_sites))])


def _label_boxes(figure):
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    return ([t.get_window_extent(renderer) for t in axes.get_xticklabels()],
            [t.get_window_extent(renderer) for t in axes.get_yticklabels()])


def test_many_sites_with_long_labels_do_not_overlap():
    matrix = _matrix(40, 30, "Wwwwwwwwwwwwwwwwwwwwwww partnership {} of the borough",
                     "Theme {} with a long label that wraps onto several lines when it is drawn")
    figure = heatmap_figure(matrix, "site", "Distinct sources")
    try:
        columns, rows = _label_boxes(figure)
        width, height = figure.get_size_inches() * figure.dpi
        assert len(columns) == 40 and len(rows) == 30
        assert not any(a.overlaps(b) for a, b in zip(columns, columns[1:]))
        assert not any(a.overlaps(b) for a, b in zip(rows, rows[1:]))
        assert all(b.x0 >= 0 and b.x1 <= width and b.y0 >= 0 and b.y1 <= height for b in columns + rows)
    finally:
        plt.close(figure)


def test_labels_are_pseudonymised_and_png_written(tmp_path):
    matrix = _matrix(2, 2, "Marram Road Community Centre {}", "Theme {}")
    figure = heatmap_figure(matrix, "site", "t", lambda text: text.replace("Marram Road Community Centre", "[a venue]"))
    try:
        columns, _ = _label_boxes(figure)
        drawn = [t.get_text() for t in figure.axes[0].get_xticklabels()]
        assert all("Marram" not in text and "[a venue]" in text for text in drawn)
    finally:
        plt.close(figure)
    target = source_heatmap(matrix, "site", tmp_path / "h.png", "t")
    assert Image.open(target).size[0] > 0
