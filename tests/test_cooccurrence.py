import pandas as pd
import pytest

from pipeline import paths
from pipeline.config import validate_config
from pipeline.cooccurrence import (
    cooccurrence_table,
    pair_counts,
    plot_theme_network,
    run_cooccurrence,
    theme_graph,
)

THEMES = {"a1": "ta", "a2": "ta", "b1": "tb", "c1": "tc"}

# (segment, document, source, code, status)
ROWS = [
    ("s1", "d1", "p1", "a1", "accepted"),
    ("s1", "d1", "p1", "b1", "accepted"),
    ("s2", "d1", "p1", "a2", "changed"),
    ("s3", "d2", "p2", "a1", "accepted"),
    ("s3", "d2", "p2", "b1", "suggested"),
    ("s4", "d2", "p2", "c1", "accepted"),
    ("s5", "d3", "p3", "a1", "accepted"),
    ("s5", "d3", "p3", "a1", "accepted"),  # a second coder: counted once
    ("s6", "d3", "p3", "b1", "accepted"),
    ("s7", "d4", "", "c1", "accepted"),
]


def _coded():
    return pd.DataFrame([
        {"segment_id": s, "document_id": d, "source_id": p, "code_id": c,
         "theme_id": THEMES[c], "status": st} for s, d, p, c, st in ROWS
    ])


def _pair(table, level, a, b):
    row = table[(table.level == level) & (table.code_a == a) & (table.code_b == b)]
    assert len(row) == 1, (level, a, b)
    return row.iloc[0]


def test_counts_and_jaccard_within_segments_and_documents():
    table = cooccurrence_table(_coded(), include_suggested=True)
    assert list(table.columns) == ["level", "code_a", "code_b", "count", "jaccard"]
    # segments: a1 in s1,s3,s5; b1 in s1,s3,s6 -> both in s1,s3 -> 2 / 4
    assert _pair(table, "segment", "a1", "b1")["count"] == 2
    assert _pair(table, "segment", "a1", "b1")["jaccard"] == pytest.approx(0.5)
    assert len(table[table.level == "segment"]) == 1
    # documents: a1 in d1,d2,d3; b1 in d1,d2,d3 -> 3 / 3
    assert _pair(table, "document", "a1", "b1")["count"] == 3
    assert _pair(table, "document", "a1", "b1")["jaccard"] == pytest.approx(1.0)
    # a1 & c1 share d2 only; union d1,d2,d3,d4 -> 1 / 4
    assert _pair(table, "document", "a1", "c1")["jaccard"] == pytest.approx(0.25)
    # a2 only in d1 with a1, b1
    assert _pair(table, "document", "a1", "a2")["jaccard"] == pytest.approx(1 / 3, abs=1e-4)


def test_unreviewed_suggestions_can_be_left_out():
    table = cooccurrence_table(_coded(), include_suggested=False)
    assert _pair(table, "segment", "a1", "b1")["count"] == 1
    assert _pair(table, "document", "a1", "b1")["count"] == 2


def test_pair_counts_sorts_by_count_then_names():
    pairs = pair_counts(pd.Series(["u1", "u1", "u1", "u2", "u2"]),
                        pd.Series(["z", "y", "x", "z", "y"]))
    assert pairs[["a", "b", "count"]].values.tolist() == [["y", "z", 2], ["x", "y", 1], ["x", "z", 1]]
    assert pair_counts(pd.Series([], dtype=str), pd.Series([], dtype=str)).empty


def test_theme_graph_sizes_by_sources_and_filters_edges():
    graph = theme_graph(_coded(), True, min_count=2, theme_labels={"tc": "C", "tb": "B", "ta": "A"})
    assert list(graph.nodes) == ["tc", "tb", "ta"]
    assert graph.nodes["ta"]["sources"] == 3
    assert graph.nodes["tc"]["sources"] == 2  # p2 and document d4 (no source_id)
    assert graph.nodes["ta"]["label"] == "A"
    assert graph["ta"]["tb"]["weight"] == 3
    assert not graph.has_edge("ta", "tc")  # one shared document only


def test_figure_is_written_and_deterministic(tmp_path):
    graph = theme_graph(_coded(), True, min_count=1, theme_labels={"ta": "Resources and capacity"})
    first, second = tmp_path / "one.png", tmp_path / "two.png"
    plot_theme_network(graph, first, 1)
    plot_theme_network(graph, second, 1)
    assert first.read_bytes().startswith(b"\x89PNG") and first.stat().st_size > 5000
    assert first.read_bytes() == second.read_bytes()


def test_stage_writes_table_and_figure(tmp_path):
    (tmp_path / paths.PROCESSED).mkdir(parents=True)
    _coded().to_parquet(tmp_path / paths.CODED_SEGMENTS)
    (tmp_path / "codebook").mkdir()
    (tmp_path / "codebook/codebook.yaml").write_text(
        "name: Test\nthemes:\n"
        + "".join(f"  - id: {t}\n    label: Theme {t.upper()}\n    codes:\n"
                  + "".join(f"      - id: {c}\n        label: Code {c}\n        definition: About {c}.\n"
                            for c, tt in THEMES.items() if tt == t)
                  for t in ("ta", "tb", "tc")), encoding="utf-8")
    run_cooccurrence(validate_config({"discover": {"min_cooccurrence": 2}}), tmp_path)
    table = pd.read_csv(tmp_path / paths.COOCCURRENCE_CSV, encoding="utf-8-sig")
    assert set(table.level) == {"segment", "document"}
    figure = tmp_path / paths.THEME_NETWORK_FIGURE
    assert figure.stat().st_size > 5000


def test_interviewer_turns_are_not_counted():
    """Codes on an interviewer's turn (a decision kept from before the role was known) do not co-occur."""
    coded = _coded().assign(speaker_role="participant")
    interviewer = pd.DataFrame([{"segment_id": "s8", "document_id": "d4", "source_id": "", "code_id": "a1",
                                 "theme_id": "ta", "status": "accepted", "speaker_role": "interviewer"}])
    both = pd.concat([coded, interviewer], ignore_index=True)
    assert cooccurrence_table(both).equals(cooccurrence_table(coded))
    graph = theme_graph(both, min_count=1)
    assert graph.nodes["ta"]["sources"] == theme_graph(coded, min_count=1).nodes["ta"]["sources"]
