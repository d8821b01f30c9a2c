"""pipeline/methods.py: the methods table."""

from __future__ import annotations

import pandas as pd

from pipeline.methods import methods_table


def documents():
    rows = [("quillmere", "interview", "1")] * 3 + [("quillmere", "interview", "2")] + [
        ("quillmere", "survey", "1"), ("sallowdene", "observation", "1"), ("Calloway Wren", "interview", "1"),
        ("alder", "workshop", "2"), ("sallowdene", "survey", "10"), ("sallowdene", "survey", "2")]
    return pd.DataFrame(rows, columns=["site", "method", "wave"])


def test_tidy_counts():
    tidy, _ = methods_table(documents(), ["sallowdene", "quillmere"])
    assert list(tidy.columns) == ["site", "method", "wave", "count"]
    counts = {(r.site, r.method, r.wave): r.count for r in tidy.itertuples()}
    assert counts[("quillmere", "interview", "1")] == 3
    assert tidy["count"].sum() == len(documents())


def test_wide_layout_order_and_totals():
    _, wide = methods_table(documents(), ["sallowdene", "quillmere"])
    # configured sites first, in config order; then the rest alphabetically; then the total
    assert wide["site"].tolist() == ["sallowdene", "quillmere", "Calloway Wren", "alder", "Total"]
    assert wide.columns.tolist() == ["site", "interview wave 1", "interview wave 2", "survey wave 1",
                                     "survey wave 2", "survey wave 10", "observation wave 1",
                                     "workshop wave 2", "total"]
    row = wide.set_index("site").loc["quillmere"]
    assert row["interview wave 1"] == 3 and row["total"] == 5
    total = wide.set_index("site").loc["Total"]
    assert total["total"] == len(documents()) and total["interview wave 1"] == 4


def test_named_waves_with_numbers_in_number_order():
    """'Round 2' comes before 'Round 10', as in the triangulation tables and the site pages, and
    letters sort ignoring case ('baseline' before 'Round 2')."""
    docs = pd.DataFrame({"site": "q", "method": "survey", "wave": ["Round 10", "Round 2", "1", "baseline"]})
    tidy, wide = methods_table(docs)
    assert tidy["wave"].tolist() == ["1", "baseline", "Round 2", "Round 10"]
    assert wide.columns.tolist() == ["site", "survey wave 1", "survey wave baseline", "survey wave Round 2",
                                     "survey wave Round 10", "total"]
