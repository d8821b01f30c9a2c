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
    wave_differences,
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


def test_wave_differences_compare_each_wave_with_the_one_before(ev):
    diff = wave_differences(ev)
    legacy = cell(diff, scope="programme", theme_id="legacy")
    # wave 1: P001, P002, R1, P004, P005, P007; wave 2: P003, R2, P006, WS1, P008 (three raise legacy)
    assert (legacy["from_wave"], legacy["to_wave"]) == ("1", "2")
    assert (legacy["from_sources"], legacy["from_total"], legacy["to_sources"], legacy["to_total"]) == (0, 6, 3, 5)
    assert legacy["comparison"] == "new" and legacy["change_points"] == 60.0
    assert legacy["fisher_p"] == pytest.approx(fisher_exact([[0, 6], [3, 2]])[1])
    # per site: Northam's one wave-1 source on trust has no wave-2 counterpart
    trust = cell(wave_differences(ev, "code"), scope="site", site="north", code_id="rel_trust")
    assert (trust["from_sources"], trust["from_total"], trust["to_sources"], trust["to_total"]) == (1, 3, 0, 1)
    assert trust["comparison"] == "no longer raised" and trust["theme_id"] == "relationships"
    # Eastwick has no wave-1 fieldwork and The Foundation no wave-2 fieldwork: nothing to compare
    assert cell(diff, site="east", theme_id="legacy")["comparison"] == "no fieldwork"
    assert cell(diff, site="funder", theme_id="resources")["comparison"] == "no fieldwork"
    assert len(diff) == 3 * (1 + 4)   # three themes, programme-wide and at four sites


def test_wave_differences_need_two_waves(tmp_path):
    ev = evidence_for(tmp_path)
    ev.source_waves = ev.source_waves[ev.source_waves["wave"] == "1"]
    ev.sources = ev.sources[ev.sources["wave"] == "1"]
    ev.coded = ev.coded[ev.coded["wave"] == "1"]
    diff = wave_differences(ev, "code")
    assert diff.empty and list(diff.columns[:7]) == ["scope", "site", "site_label", "code_id", "code_label",
                                                      "theme_id", "theme_label"]


def test_trim_quote_at_sentence_boundary():
    text = "First sentence here. Second sentence is here too. Third one."
    assert trim_quote(text, 55) == "First sentence here. Second sentence is here too." + ELISION
    assert trim_quote("x" * 10 + " " + "y" * 100, 40).endswith(ELISION)
    assert trim_quote("  short\n text ", 400) == "short text"
    # closing quote marks and brackets after a full stop are kept
    assert trim_quote('She said "no." Then (yes.) And then more words.', 30) == 'She said "no." Then (yes.)' + ELISION
    # a cut inside one long sentence never splits a bracketed pseudonym
    assert trim_quote("word " * 5 + "[Voluntary sector partner 1] and more", 40) == "word " * 4 + "word" + ELISION
    # a title's or an initial's full stop ends no sentence: never "Dr. […]"
    text = "It cost £1.5 million. Dr. Okafor and J. Ames came. Then it went on and on for a long time."
    assert trim_quote(text, 40) == "It cost £1.5 million." + ELISION
    assert trim_quote(text, 60) == "It cost £1.5 million. Dr. Okafor and J. Ames came." + ELISION


def test_attribution_rules():
    config = {"sectors": {"voluntary": "Voluntary sector", "statutory_health": "Statutory sector (NHS)"},
              "report": {"quote_roles": True}}
    roles = {"P1": "Community development worker (part-time)"}
    assert quote_attribution("interview", "voluntary", "2", "P1", config, roles) == \
        "Voluntary sector partner, community development worker, interview, wave 2"
    assert quote_attribution("survey", "statutory_health", "1", "", config) == \
        "Statutory sector stakeholder (NHS), survey response, wave 1"
    assert quote_attribution("workshop", "", "2", record="notes") == "Workshop notes, wave 2"
    no_roles = {**config, "report": {"quote_roles": False}}
    assert quote_attribution("interview", "voluntary", "2", "P1", no_roles, roles) == \
        "Voluntary sector partner, interview, wave 2"
    assert role_phrase("NHS lead") == "NHS lead"
    assert role_phrase("Chief Executive") == "chief executive"
    assert role_phrase("Head of NHS Partnerships (interim)") == "head of NHS partnerships"
    assert quote_attribution("workshop", "", "baseline", record="notes") == "Workshop notes, baseline"
    assert quote_attribution("workshop", "", "BSL cohort", record="notes") == "Workshop notes, BSL cohort"


def test_quotes_come_from_diverse_sources():
    ranked = pd.DataFrame({"source_id": ["A", "A", "A", "B", "C"], "site": ["x", "x", "x", "x", "y"]},
                          index=[0, 1, 2, 3, 4])
    assert list(pick_diverse(ranked, 3).index) == [0, 3, 4]
    assert list(pick_diverse(ranked, 2, spread="site").index) == [0, 4]
    assert list(pick_diverse(ranked, 3, per_source=2).index) == [0, 1, 3]
    ranked["segment_id"] = ["s0", "s1", "s2", "s3", "s4"]
    assert list(pick_diverse(ranked, 2, avoid={"s0"}).index) == [1, 3]
    assert list(pick_diverse(ranked, 3, avoid={"s0", "s1", "s2"}).index) == [3, 4, 0]
    # A new site is preferred within a tier only: never a short quote while a long one is left.
    ranked["long_enough"] = [True, True, True, True, False]
    assert list(pick_diverse(ranked, 2, spread="site").index) == [0, 3]
    ranked["long_enough"] = [True, True, True, False, False]
    assert list(pick_diverse(ranked, 3, spread="site").index) == [0, 4, 3]   # then the short ones, site y first


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


# --------------------------------------------------------------- quote texts written under reports/


def project_with_texts(tmp_path: Path, monkeypatch, texts: dict) -> tuple[Path, dict]:
    """The synthetic project with some segments' texts replaced (key → text)."""
    import synthetic_project

    rows = [row[:9] + (texts.get(row[0], row[9]), row[10]) for row in synthetic_project.SEGMENTS]
    monkeypatch.setattr(synthetic_project, "SEGMENTS", rows)
    return make_project(tmp_path / "project")


def report_files_text(root: Path) -> dict:
    """Every text file and workbook under reports/, as text (workbooks: their XML)."""
    import zipfile

    out = {}
    for path in (root / "reports").rglob("*"):
        if path.suffix in (".md", ".csv"):
            out[path] = path.read_text(encoding="utf-8-sig")
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                out[path] = "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    return out


def test_a_cut_never_leaves_part_of_an_identifying_term(tmp_path, monkeypatch):
    from pipeline.cooccurrence import run_cooccurrence
    from pipeline.report import run_report
    from pipeline.saturation import run_saturation
    from pipeline.triangulate import run_triangulate

    # One long sentence: the 400-character cut falls inside "Marram Road Community Centre"
    # (a configured identifying term) if the text is trimmed before it is pseudonymised.
    filler = ("Funding " + "is really tight for everyone involved and " * 10)[:374].rstrip() + " "
    text = filler + "Marram Road Community Centre keep telling us the same thing about the grant and the staff."
    assert 370 < text.index("Marram") < 396 < text.index("Centre")
    root, config = project_with_texts(tmp_path, monkeypatch, {"s1": text})
    documents = pd.read_parquet(root / "data/processed/documents.parquet")
    documents.assign(date=["2025-01-%02d" % (i + 1) for i in range(len(documents))]).to_parquet(
        root / "data/processed/documents.parquet", index=False)
    for stage in (run_saturation, run_cooccurrence, run_triangulate, run_report):
        stage(config, root)

    quotes = pd.read_csv(root / "reports/tables/quotes.csv")
    quoted = quotes.loc[quotes["segment_id"] == segment_id("s1"), "quote"]
    assert len(quoted) >= 1 and all("[a local venue]" in q and q.endswith(ELISION) for q in quoted)
    files = report_files_text(root)
    assert any(p.name == "summary.md" for p in files) and any(p.suffix == ".xlsx" for p in files)
    for path, body in files.items():
        for word in ("Marram", "Road Community", "Kettlewick"):
            assert word not in body, f"{word!r} in {path.relative_to(root)}"


def test_trimmed_quotes_stay_verbatim(tmp_path, monkeypatch):
    from pipeline.anonymise import Pseudonymiser
    from pipeline.triangulate import run_triangulate

    text = ('Relationships improved. He said "it works." Then we agreed (with the board.) '
            "Marram Road Community Centre said ‘yes.’ " + "We met every month and talked it through. " * 10)
    root, config = project_with_texts(tmp_path, monkeypatch, {"s3": text})
    run_triangulate(config, root)

    quotes = pd.read_csv(root / "reports/tables/quotes.csv")
    kept = quotes.loc[quotes["segment_id"] == segment_id("s3"), "quote"]
    assert len(kept) >= 1
    assert kept.iloc[0].startswith(
        'Relationships improved. He said "it works." Then we agreed (with the board.) '
        "[a local venue] said ‘yes.’ We met") and kept.iloc[0].endswith(". " + ELISION.strip())
    # Every quote is its segment's (pseudonymised) text, cut only where " […]" marks it.
    segments = pd.read_parquet(root / "data/processed/segments.parquet").set_index("segment_id")["text"]
    pseudonymise = Pseudonymiser.from_project(config, root).apply
    for row in quotes.itertuples():
        source = pseudonymise(" ".join(segments[row.segment_id].split()))
        assert row.quote == source or (row.quote.endswith(ELISION) and source.startswith(row.quote[:-len(ELISION)]))


def test_upper_first_keeps_acronyms():
    from pipeline.triangulate import upper_first

    assert upper_first("NHS and council partners raising it") == "NHS and council partners raising it"
    assert upper_first("pCN") == "PCN" and upper_first("") == ""


def test_a_decision_on_an_interviewer_turn_is_not_evidence_and_says_so(tmp_path, caplog):
    """n3 is the interviewer's question, coded by an analyst: left out, with a warning naming it."""
    with caplog.at_level("WARNING", logger="pipeline.triangulate"):
        ev = evidence_for(tmp_path)
    assert segment_id("n3") not in set(ev.coded["segment_id"])
    [warning] = [r.getMessage() for r in caplog.records if "interviewer turns" in r.getMessage()]
    assert "1 analyst-coded row(s)" in warning and segment_id("n3") in warning


def test_named_waves_are_compared_in_the_order_of_their_fieldwork(tmp_path):
    """"Post" sorts before "Pre" by name; the dates put them right, and say so."""
    ev = evidence_for(tmp_path)
    renamed = {"1": "Pre", "2": "Post"}
    for frame in (ev.coded, ev.source_waves, ev.sources):
        frame["wave"] = frame["wave"].map(renamed)
    ev.wave_dates = {"Pre": "2025-01-10", "Post": "2025-09-01"}
    legacy = cell(wave_differences(ev), scope="programme", theme_id="legacy")
    assert (legacy["from_wave"], legacy["to_wave"], legacy["wave_order"]) == ("Pre", "Post", "dates")
    assert legacy["comparison"] == "new" and legacy["to_wave_label"] == "Post"
    ev.wave_dates = {"Pre": "2025-01-10"}   # one wave undated: by name, as the summary then says
    legacy = cell(wave_differences(ev), scope="programme", theme_id="legacy")
    assert (legacy["from_wave"], legacy["to_wave"], legacy["wave_order"]) == ("Post", "Pre", "names")


def test_a_sector_with_one_source_in_the_programme_is_warned_about(tmp_path, caplog):
    """Its column in the sector tables is one person's views, and nothing else says so."""
    from pipeline.triangulate import run_triangulate

    root, config = make_project(tmp_path / "project")   # one programme source (P007); 2 to 4 in other sectors
    with caplog.at_level("WARNING", logger="pipeline.triangulate"):
        run_triangulate(config, root)
    warned = [r.getMessage() for r in caplog.records if "one source in the whole programme" in r.getMessage()]
    assert warned == ["Sector 'Programme stakeholder' has one source in the whole programme: its column in the "
                      "sector tables (matrix_*_sector.csv, the workbook's sector sheets) is that one person's views"]
