"""Tests for pipeline/triangulate.py and pipeline/quotes.py."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import fisher_exact

from pipeline.codebook import load_codebook
from pipeline.quotes import ELISION, pick_diverse, quote_attribution, role_phrase, trim_quote
from pipeline.triangulate import (
    build_evidence,
    count_matrix,
    evidence_strength,
    prevalence_phrase,
    sector_divergence,
    site_differences,
    triangulation_table,
)
from synthetic_project import make_project, segment_id


def evidence_for(tmp_path: Path, **options):
    root, config = make_project(tmp_path / "project", **options)
    codebook = load_codebook(root / "codebook/codebook.yaml")
    coded = pd.read_parquet(root / "data/processed/coded_segments.parquet")
    segments = pd.read_parquet(root / "data/processed/segments.parquet")
    return build_evidence(coded, segments, codebook, config)


@pytest.fixture
def ev(tmp_path):
    return evidence_for(tmp_path)


def cell(frame, **where):
    for column, value in where.items():
        frame = frame[frame[column] == value]
    assert len(frame) == 1, where
    return frame.iloc[0]


def test_counts_segments_and_distinct_sources(ev):
    matrix = count_matrix(ev, "theme", "site")
    north = cell(matrix, theme_id="resources", site="north")
    # P001 raised funding twice (one source), P003 once, survey response R1 once; the interviewer turn is ignored
    assert (north["segments"], north["sources"]) == (4, 3)
    assert north["sources_in_group"] == 4 and north["percent_of_sources"] == 75.0
    # a segment with two codes in one theme counts once for the theme, once for each code
    assert cell(count_matrix(ev, "code", "site"), code_id="res_staff", site="north")["segments"] == 1
    # zeros are kept so that every theme × site cell exists
    assert cell(matrix, theme_id="legacy", site="north")["sources"] == 0
    assert len(matrix) == 3 * 4


def test_suggestions_marked_or_excluded(tmp_path):
    with_suggestions = count_matrix(evidence_for(tmp_path / "a"), "theme", "site")
    row = cell(with_suggestions, theme_id="relationships", site="south")
    assert (row["sources"], row["suggested_segments"], row["suggested_only_sources"]) == (2, 1, 1)
    without = count_matrix(evidence_for(tmp_path / "b", include_suggested=False), "theme", "site")
    row = cell(without, theme_id="relationships", site="south")
    assert (row["sources"], row["suggested_segments"]) == (1, 0)


def test_programme_organisations_are_not_sites(ev):
    assert ev.sites == ["north", "south", "east"]
    assert ev.programme_sites == ["funder"]
    tri = triangulation_table(ev)
    resources = cell(tri, scope="programme", theme_id="resources")
    assert resources["sites_total"] == 3 and resources["sites_with_theme"] == 3
    assert resources["prevalence"] == "all three partnerships"


def test_wave_and_method_dimensions(ev):
    waves = count_matrix(ev, "theme", "wave")
    assert set(waves["wave"]) == {"1", "2"}
    methods = count_matrix(ev, "theme", "method")
    assert list(dict.fromkeys(methods["method"])) == ["interview", "survey", "workshop"]
    assert cell(methods, theme_id="legacy", method="workshop")["sources"] == 1


@pytest.mark.parametrize("k, expected", [
    (0, "no sites"), (1, "one site"), (2, "two sites"), (3, "three sites"),
    (4, "four of the five sites"), (5, "all five sites"),
])
def test_prevalence_wording(k, expected):
    assert prevalence_phrase(k, 5) == expected


def test_prevalence_wording_other_nouns():
    assert prevalence_phrase(2, 2, "partnership") == "both partnerships"
    assert prevalence_phrase(2, 3, "locality") == "two of the three localities"
    assert prevalence_phrase(1, 1) == "the one site"
    assert prevalence_phrase(21, 25) == "21 sites"


@pytest.mark.parametrize("methods, sectors, sources, expected", [
    (2, 2, 3, "strong"), (3, 3, 2, "moderate"), (1, 2, 2, "moderate"), (2, 1, 2, "moderate"),
    (1, 1, 9, "limited"), (2, 2, 1, "limited"), (0, 0, 0, "none"),
])
def test_evidence_rule(methods, sectors, sources, expected):
    assert evidence_strength(methods, sectors, sources) == expected


def test_evidence_rule_is_configurable():
    rule = {"strong": {"min_sources": 10}}
    assert evidence_strength(2, 2, 3, rule) == "moderate"
    assert evidence_strength(2, 2, 10, rule) == "strong"


def test_fisher_divergence_on_constructed_table():
    result = sector_divergence(8, 10, 1, 10, "voluntary sector partners", "statutory partners")
    expected_odds, expected_p = fisher_exact([[8, 2], [1, 9]])
    assert math.isclose(result["p_value"], expected_p) and math.isclose(result["odds_ratio"], expected_odds)
    assert result["verdict"] == "raised mainly by voluntary sector partners"
    assert (result["a_percent"], result["b_percent"]) == (80.0, 10.0)
    assert sector_divergence(1, 10, 8, 10, "v", "s")["verdict"] == "raised mainly by s"
    assert sector_divergence(5, 10, 4, 10, "v", "s")["verdict"] == "shared across sectors"
    assert sector_divergence(3, 4, 1, 5, "v", "s")["verdict"].startswith("raised more often by v")
    assert sector_divergence(0, 4, 0, 5, "v", "s")["verdict"] == "not raised by either group"


def test_fisher_exact_agrees_with_scipy():
    """The stage's own exact test against scipy's, on every table with cells up to 7 and on large ones."""
    import itertools

    import numpy as np

    from pipeline.triangulate import fisher_exact as own

    large = np.random.default_rng(0).integers(0, 3000, size=(200, 2, 2)).tolist()
    for table in [[[a, b], [c, d]] for a, b, c, d in itertools.product(range(8), repeat=4)] + large:
        odds, p_value = own(table)
        expected_odds, expected_p = fisher_exact(table)
        assert (math.isnan(odds) and math.isnan(expected_odds)) or odds == expected_odds, table
        assert math.isclose(p_value, expected_p, rel_tol=1e-9, abs_tol=1e-200), table
    with pytest.raises(ValueError, match="counts"):
        own([[1, -1], [2, 3]])


def test_triangulation_sector_comparison_uses_source_denominators(ev):
    row = cell(triangulation_table(ev), scope="programme", theme_id="resources")
    # voluntary sources: P001, R1, P004, P006 (4), raising funding: P001, R1, P004 (3)
    assert (row["group_a_sources"], row["group_a_total"]) == (3, 4)
    # statutory + local authority: P002, P003, P005, R2, P008 (5), raising it: P003 (1)
    assert (row["group_b_sources"], row["group_b_total"]) == (1, 5)
    assert row["methods"] == "interview; survey; workshop"
    assert row["evidence_strength"] == "strong"


def test_site_differences(ev):
    diff = site_differences(ev)
    east = cell(diff, site="east", theme_id="legacy")
    assert east["comparison"] == "more prevalent" and east["site_percent"] == 100.0
    assert cell(diff, site="north", theme_id="legacy")["comparison"] == "less prevalent"


def test_code_level_triangulation(ev):
    tri = triangulation_table(ev, "code")
    assert list(tri.columns[:5]) == ["scope", "code_id", "code_label", "theme_id", "theme_label"]
    theme_columns = set(triangulation_table(ev).columns) - {"sites_with_theme"}
    assert theme_columns | {"code_id", "code_label", "sites_with_code"} == set(tri.columns)
    trust = cell(tri, scope="programme", code_id="rel_trust")
    assert trust["theme_id"] == "relationships" and trust["sites_with_code"] == 2
    assert trust["sites_raising"] == "Northam; Southby" and trust["prevalence"] == "two of the three partnerships"
    unused = cell(tri, scope="programme", code_id="rel_people")
    assert unused["sources"] == 0 and unused["evidence_strength"] == "none" and unused["sites_raising"] == ""
    assert cell(tri, scope="site", code_id="leg_sustain", site="east")["sources"] == 3


def test_code_level_site_differences_use_fisher(ev):
    diff = site_differences(ev, level="code")
    east = cell(diff, site="east", code_id="leg_sustain")
    # 3 of 3 sources at Eastwick against 0 of 7 at the other sites: p = 1/120
    assert east["comparison"] == "more prevalent" and east["fisher_p"] == pytest.approx(1 / 120)
    assert east["theme_id"] == "legacy"
    # 1 of 4 against 0 of 6 is 25 points but could easily be chance
    staff = cell(diff, site="north", code_id="res_staff")
    assert staff["difference_points"] == 25.0 and staff["comparison"] == "similar"


def test_trim_quote_at_sentence_boundary():
    text = "First sentence here. Second sentence is here too. Third one."
    assert trim_quote(text, 55) == "First sentence here. Second sentence is here too." + ELISION
    assert trim_quote("x" * 10 + " " + "y" * 100, 40).endswith(ELISION)
    assert trim_quote("  short\n text ", 400) == "short text"


def test_attribution_rules():
    config = {"sectors": {"voluntary": "Voluntary sector", "statutory_health": "Statutory sector (NHS)"},
              "report": {"quote_roles": True}}
    roles = {"P1": "Community development worker (part-time)"}
    assert quote_attribution("interview", "voluntary", "2", "P1", config, roles) == \
        "Voluntary sector partner, community development worker, interview, wave 2"
    assert quote_attribution("survey", "statutory_health", "1", "", config) == \
        "Statutory sector stakeholder (NHS), survey response, wave 1"
    assert quote_attribution("workshop", "", "2") == "Workshop notes, wave 2"
    no_roles = {**config, "report": {"quote_roles": False}}
    assert quote_attribution("interview", "voluntary", "2", "P1", no_roles, roles) == \
        "Voluntary sector partner, interview, wave 2"
    assert role_phrase("NHS lead") == "NHS lead"


def test_quotes_come_from_diverse_sources():
    ranked = pd.DataFrame({"source_id": ["A", "A", "A", "B", "C"], "site": ["x", "x", "x", "x", "y"]},
                          index=[0, 1, 2, 3, 4])
    assert list(pick_diverse(ranked, 3).index) == [0, 3, 4]
    assert list(pick_diverse(ranked, 2, spread="site").index) == [0, 4]
    assert list(pick_diverse(ranked, 3, per_source=2).index) == [0, 1, 3]
    ranked["segment_id"] = ["s0", "s1", "s2", "s3", "s4"]
    assert list(pick_diverse(ranked, 2, avoid={"s0"}).index) == [1, 3]
    assert list(pick_diverse(ranked, 3, avoid={"s0", "s1", "s2"}).index) == [3, 4, 0]


def test_quotes_table(ev):
    from pipeline.quotes import exemplar_quotes

    quotes = exemplar_quotes(ev, None, {"P001": "Partnership manager"})
    programme = quotes[(quotes["scope"] == "programme") & (quotes["theme_id"] == "resources")]
    assert len(programme) == 3 and programme["segment_id"].is_unique
    # reviewed quotes come before unreviewed suggestions
    trust = quotes[(quotes["scope"] == "programme") & (quotes["theme_id"] == "relationships")]
    assert list(trust["reviewed"]) == sorted(trust["reviewed"], reverse=True)
    # the interviewer's question is never quoted
    assert segment_id("n3") not in set(quotes["segment_id"])


def test_upper_first_keeps_acronyms():
    from pipeline.triangulate import upper_first

    assert upper_first("NHS and council partners raising it") == "NHS and council partners raising it"
    assert upper_first("pCN") == "PCN" and upper_first("") == ""
