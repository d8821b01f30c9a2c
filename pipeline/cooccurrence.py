"""Which codes occur together, within segments and within documents.

Rules
-----
Codes counted
    As for saturation (:func:`pipeline.saturation.counted_codes`): accepted and
    changed codes, and unreviewed suggestions (a segment's best-ranked one
    above the threshold) when ``discover.include_suggested`` is true.
Co-occurrence table
    For each level (``segment``: the same segment carries both codes;
    ``document``: the same document does) and each pair of codes seen together
    at least once, ``count`` is the number of units holding both, and
    ``jaccard`` is that count divided by the number of units holding either.
    Each pair appears once, with ``code_a < code_b``.
Theme network
    Nodes are themes, sized by the number of distinct sources (``source_id``;
    the document when a segment has none) coded with any of the theme's codes.
    An edge joins two themes that occur in the same document, weighted by the
    number of such documents, and is drawn only when that number is at least
    ``discover.min_cooccurrence``. The spring layout is seeded, so the same
    data always gives the same picture.

Outputs: ``reports/tables/cooccurrence.csv`` and ``reports/figures/theme_network.png``.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import paths
from pipeline.atomic import atomic_path, write_csv
from pipeline.saturation import counted_codes

log = logging.getLogger(__name__)

COOCCURRENCE_COLUMNS = ["level", "code_a", "code_b", "count", "jaccard"]
LEVEL_UNITS = {"segment": "segment_id", "document": "document_id"}
LAYOUT_SEED = 7


def pair_counts(units: pd.Series, items: pd.Series) -> pd.DataFrame:
    """Count, for every pair of items, the units that hold both, with their Jaccard index.

    Parameters
    ----------
    units, items : Series
        Aligned: item ``items[i]`` occurs in unit ``units[i]``. Repeats are ignored.

    Returns
    -------
    DataFrame
        Columns ``a, b, count, jaccard``; only pairs with ``count >= 1``, ``a < b``,
        sorted by descending count, then ``a``, ``b``.

    Examples
    --------
    >>> pair_counts(pd.Series(["s1", "s1", "s2", "s2"]), pd.Series(["x", "y", "x", "z"]))
       a  b  count  jaccard
    0  x  y      1      0.5
    1  x  z      1      0.5
    """
    frame = pd.DataFrame({"unit": units.astype(str), "item": items.astype(str)}).drop_duplicates()
    if frame.empty:
        return pd.DataFrame(columns=["a", "b", "count", "jaccard"])
    unit_index, _ = pd.factorize(frame["unit"])
    item_index, names = pd.factorize(frame["item"], sort=True)
    # units × items incidence; float32 so that the product runs in BLAS (counts stay exact below 2**24)
    incidence = np.zeros((unit_index.max() + 1, len(names)), dtype=np.float32)
    incidence[unit_index, item_index] = 1.0
    together = np.rint(incidence.T @ incidence).astype(np.int64)
    totals = np.diag(together)
    a, b = np.triu_indices(len(names), k=1)
    count = together[a, b]
    a, b, count = a[count > 0], b[count > 0], count[count > 0]
    names = np.asarray(names, dtype=object)
    result = pd.DataFrame({"a": names[a], "b": names[b], "count": count,
                           "jaccard": count / (totals[a] + totals[b] - count)})
    return result.sort_values(["count", "a", "b"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)


def cooccurrence_table(coded: pd.DataFrame, include_suggested: bool = True) -> pd.DataFrame:
    """Code × code co-occurrence within segments and within documents.

    Parameters
    ----------
    coded : DataFrame
        ``coded_segments.parquet`` (uses ``segment_id``, ``document_id``,
        ``code_id``, ``status``).
    include_suggested : bool
        Count unreviewed suggestions above the threshold as codes.

    Returns
    -------
    DataFrame
        Columns :data:`COOCCURRENCE_COLUMNS`, segment level first.
    """
    codes = counted_codes(coded, include_suggested)
    parts = []
    for level, unit in LEVEL_UNITS.items():
        pairs = pair_counts(codes[unit], codes["code_id"])
        parts.append(pd.DataFrame({"level": level, "code_a": pairs["a"], "code_b": pairs["b"],
                                   "count": pairs["count"], "jaccard": pairs["jaccard"]}))
    table = pd.concat(parts, ignore_index=True)[COOCCURRENCE_COLUMNS]
    table["count"] = table["count"].astype(int)
    table["jaccard"] = table["jaccard"].astype(float).round(4)
    return table


def theme_graph(coded: pd.DataFrame, include_suggested: bool = True, min_count: int = 3,
                theme_labels: dict | None = None):
    """The theme network: themes sized by sources, joined by document co-occurrence.

    Parameters
    ----------
    coded : DataFrame
        ``coded_segments.parquet`` (uses ``theme_id``, ``document_id``,
        ``source_id``, ``code_id``, ``status``).
    include_suggested : bool
        Count unreviewed suggestions above the threshold as codes.
    min_count : int
        Edges need at least this many documents holding both themes.
    theme_labels : dict, optional
        Theme id → label, in the order the nodes are added (codebook order);
        themes found only in the data follow, alphabetically.

    Returns
    -------
    networkx.Graph
        Node attributes ``label`` and ``sources``; edge attribute ``weight``.
    """
    import networkx as nx

    theme_labels = theme_labels or {}
    codes = counted_codes(coded, include_suggested)
    codes = codes[codes["theme_id"].fillna("").astype(str) != ""].copy()
    source = codes["source_id"].fillna("").astype(str) if "source_id" in codes else ""
    codes["source"] = np.where(source != "", source, "document:" + codes["document_id"].astype(str))
    sources = codes.groupby("theme_id")["source"].nunique()

    graph = nx.Graph()
    present = set(sources.index)
    ordered = [t for t in theme_labels if t in present] + sorted(present - set(theme_labels))
    for theme in ordered:
        graph.add_node(theme, label=theme_labels.get(theme, theme), sources=int(sources[theme]))
    edges = pair_counts(codes["document_id"], codes["theme_id"])
    for edge in edges.itertuples(index=False):
        if edge.count >= min_count:
            graph.add_edge(edge.a, edge.b, weight=int(edge.count))
    return graph


def plot_theme_network(graph, target: str | Path, min_count: int = 3) -> None:
    """Draw the theme network and save it as a PNG (atomically).

    Node area grows with the number of sources, edge width with the number of
    documents in which both themes occur; each edge is labelled with that number.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    figure, axes = plt.subplots(figsize=(10, 8), dpi=150)
    axes.set_axis_off()
    if graph.number_of_nodes() == 0:
        axes.text(0.5, 0.5, "No coded segments yet", ha="center", va="center",
                  transform=axes.transAxes, fontsize=12)
    else:
        position = nx.spring_layout(graph, seed=LAYOUT_SEED, weight="weight",
                                    k=2.2 / max(np.sqrt(graph.number_of_nodes()), 1))
        most_sources = max(data["sources"] for _, data in graph.nodes(data=True))
        sizes = [600 + 3400 * data["sources"] / most_sources for _, data in graph.nodes(data=True)]
        heaviest = max([data["weight"] for _, _, data in graph.edges(data=True)] or [1])
        widths = [1 + 7 * data["weight"] / heaviest for _, _, data in graph.edges(data=True)]
        nx.draw_networkx_edges(graph, position, ax=axes, width=widths, edge_color="#8a9bb0",
                               alpha=0.7)
        nx.draw_networkx_nodes(graph, position, ax=axes, node_size=sizes, node_color="#cfe0f3",
                               edgecolors="#2f4b6e", linewidths=1.2)
        labels = {node: "\n".join(textwrap.wrap(data["label"], 16)) + f"\n({data['sources']} sources)"
                  for node, data in graph.nodes(data=True)}
        nx.draw_networkx_labels(graph, position, labels=labels, ax=axes, font_size=8,
                                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white",
                                      "edgecolor": "none", "alpha": 0.75})
        nx.draw_networkx_edge_labels(graph, position, ax=axes, font_size=7,
                                     edge_labels={(a, b): data["weight"]
                                                  for a, b, data in graph.edges(data=True)})
        axes.margins(0.15)
    axes.set_title("Themes that occur in the same documents\n"
                   f"(node size: sources; edges: shared documents, at least {min_count})",
                   fontsize=10)
    figure.tight_layout()
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format="png")
    plt.close(figure)


def run_cooccurrence(config: dict, root: Path) -> None:
    """Stage: the code co-occurrence table and the theme network figure.

    Parameters
    ----------
    config : dict
        Validated configuration (uses ``discover.include_suggested``,
        ``discover.min_cooccurrence`` and ``codebook.file`` for theme labels).
    root : Path
        The project folder. Reads ``coded_segments.parquet`` and the codebook;
        writes ``reports/tables/cooccurrence.csv`` and ``reports/figures/theme_network.png``.
    """
    from pipeline.codebook import project_codebook

    root = Path(root)
    settings = config.get("discover", {})
    include_suggested = settings.get("include_suggested", True)
    min_count = settings.get("min_cooccurrence", 3)
    coded = pd.read_parquet(root / paths.CODED_SEGMENTS)
    codebook = project_codebook(config, root)
    table = cooccurrence_table(coded, include_suggested)
    write_csv(root / paths.COOCCURRENCE_CSV, table)
    graph = theme_graph(coded, include_suggested, min_count,
                        {theme.id: theme.label for theme in codebook.themes})
    plot_theme_network(graph, root / paths.THEME_NETWORK_FIGURE, min_count)
    log.info("Co-occurrence: %d code pairs in segments, %d in documents; theme network of %d "
             "themes and %d edges (at least %d shared documents)",
             (table["level"] == "segment").sum(), (table["level"] == "document").sum(),
             graph.number_of_nodes(), graph.number_of_edges(), min_count)
