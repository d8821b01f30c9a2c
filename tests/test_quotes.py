"""pipeline/quotes.py and its reports: quotes from notes are ranked after verbatim ones, attributed as
notes and never shown as speech (summaries, the evaluation workbook and reports/tables/quotes.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline import paths
from pipeline.codebook import load_codebook
from pipeline.quotes import exemplar_quotes, quote_attribution
from pipeline.report import run_report
from pipeline.report.workbook import HEADER_ROW
from pipeline.triangulate import build_evidence, run_triangulate
from synthetic_project import make_project, segment_id

NOTES_DOCUMENT = "d_p004_w1"   # south, voluntary, P004 (network coordinator): segment s1, coded res_funding


def set_record(root: Path, records: dict[str, str]) -> None:
    """Give the synthetic project's tables a record column, as the ingest stage now writes."""
    for table in (paths.SEGMENTS, paths.CODED_SEGMENTS):
        frame = pd.read_parquet(root / table)
        frame["record"] = [records.get(d, "transcript") for d in frame["document_id"]]
        frame.loc[frame["method"] == "survey", "record"] = "response"
        frame.to_parquet(root / table, index=False)


def evidence(root: Path, config: dict):
    return build_evidence(pd.read_parquet(root / paths.CODED_SEGMENTS), pd.read_parquet(root / paths.SEGMENTS),
                          load_codebook(root / "codebook/codebook.yaml"), config)


@pytest.mark.parametrize("method, sector, record, expected", [
    ("interview", "voluntary", "notes", "Voluntary sector partner, interview notes, wave 2"),
    ("interview", "voluntary", "transcript", "Voluntary sector partner, interview, wave 2"),
    ("interview", "", "transcript", "Interviewee, wave 2"),        # not "Interviewee, interview"
    ("interview", "", "notes", "Interview notes, wave 2"),
    ("workshop", "voluntary", "notes", "Voluntary sector partner, workshop notes, wave 2"),
    ("workshop", "", "notes", "Workshop notes, wave 2"),
    ("observation", "", "notes", "Observation notes, wave 2"),
    ("workshop", "", "transcript", "Workshop participant, wave 2"),
    ("survey", "", "response", "Survey respondent, wave 2"),
    ("survey", "voluntary", "response", "Voluntary sector partner, survey response, wave 2"),
])
def test_attribution_says_notes_and_never_repeats_the_method(method, sector, record, expected):
    config = {"sectors": {"voluntary": "Voluntary sector"}}
    assert quote_attribution(method, sector, "2", "", config, record=record) == expected


def test_verbatim_quotes_rank_before_notes_on_the_same_theme(tmp_path):
    root, config = make_project(tmp_path / "project")
    set_record(root, {})
    before = exemplar_quotes(evidence(root, config))
    first = before[(before["scope"] == "programme") & (before["rank"] == 1)].iloc[0]
    theme, document = first["theme_id"], pd.read_parquet(root / paths.SEGMENTS).set_index(
        "segment_id").loc[first["segment_id"], "document_id"]
    set_record(root, {document: "notes"})
    after = exemplar_quotes(evidence(root, config))
    quoted = after[(after["scope"] == "programme") & (after["theme_id"] == theme)]
    assert quoted.iloc[0]["segment_id"] != first["segment_id"]
    for _, same_review in quoted.groupby("reviewed"):   # reviewed coding still comes first
        assert list(same_review["verbatim"]) == sorted(same_review["verbatim"], reverse=True)
    notes = after[after["segment_id"] == first["segment_id"]]
    assert (~notes["verbatim"]).all() and set(notes["record"]) <= {"notes"}


def set_text(root: Path, segment: str, text: str) -> None:
    for table in (paths.SEGMENTS, paths.CODED_SEGMENTS):
        frame = pd.read_parquet(root / table)
        frame.loc[frame["segment_id"] == segment, "text"] = text
        frame.to_parquet(root / table, index=False)


@pytest.mark.parametrize("opening, roles, organisations", [
    ("I'm the only paid coordinator here, so", {}, {}),
    ("Interviewee is a commissioning officer at the council;", {}, {}),
    ("Speaking for Southby Food Network,", {}, "Southby Food Network"),
    ("As network coordinator,", "Network coordinator (from 2025)", {}),
])
def test_a_segment_that_says_who_its_speaker_is_is_never_quoted(tmp_path, opening, roles, organisations):
    """With the site and sector beside it, a quote naming the speaker's job or employer points to one person."""
    root, config = make_project(tmp_path / "project")
    first = exemplar_quotes(evidence(root, config)).iloc[0]
    participant = pd.read_parquet(root / paths.SEGMENTS).set_index("segment_id").loc[
        first["segment_id"], "participant_id"]
    set_text(root, first["segment_id"], f"{opening} {first['quote']}")
    roles = {participant: roles} if roles else {}
    organisations = {participant: organisations} if organisations else {}
    after = exemplar_quotes(evidence(root, config), roles=roles, organisations=organisations)
    assert first["segment_id"] not in set(after["segment_id"])
    assert len(after[after["theme_id"] == first["theme_id"]]) > 0      # the theme is quoted from others
    assert first["segment_id"] in set(evidence(root, config).coded["segment_id"])   # still evidence


def test_a_quote_that_fits_one_source_is_counted_warned_about_and_can_lose_its_sector(tmp_path, caplog):
    root, config = make_project(tmp_path / "project")
    ev = evidence(root, config)
    quotes = exemplar_quotes(ev)
    sources = ev.source_waves.merge(ev.sources.drop(columns="wave"), on="source_id")
    for quote in quotes[quotes["sector"] != ""].itertuples():
        fits = sources[(sources["sector"] == quote.sector) & (sources["method"] == quote.method)
                       & (sources["wave"].astype(str) == str(quote.wave))
                       & ((sources["site"] == quote.site) if quote.scope == "site" else True)]
        assert quote.attribution_sources == len(fits), quote
    alone = quotes[quotes["attribution_sources"] == 1]
    assert len(alone) and f"{len(alone)} quote(s) are attributed to a group of one source" in caplog.text

    caplog.clear()
    general = exemplar_quotes(evidence(root, {**config, "report": {"quote_min_group": 2, "quote_roles": True}}),
                              roles={p: "Network coordinator" for p in ev.coded["participant_id"]})
    assert "group of one source" not in caplog.text
    assert general["segment_id"].tolist() == quotes["segment_id"].tolist()   # the same quotes
    for before, after in zip(quotes.itertuples(), general.itertuples()):
        if pd.isna(before.attribution_sources):       # no sector to leave out
            assert after.attribution == before.attribution
        elif before.attribution_sources == 1:
            assert after.attribution == quote_attribution(before.method, "", before.wave, record=before.record)
        else:
            assert "network coordinator" in after.attribution or before.method == "survey"


def test_old_tables_without_record_are_still_read(tmp_path):
    root, config = make_project(tmp_path / "project")   # its tables predate the record column
    quotes = exemplar_quotes(evidence(root, config))
    interviews = quotes[quotes["method"] == "interview"]
    assert set(interviews["record"]) == {"transcript"} and interviews["verbatim"].all()
    assert set(quotes.loc[quotes["method"] == "survey", "record"]) <= {"response"}


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    root, config = make_project(tmp_path_factory.mktemp("notes") / "project")
    set_record(root, {NOTES_DOCUMENT: "notes"})
    run_triangulate(config, root)
    run_report(config, root)
    return root


NOTES_ATTRIBUTION = "Voluntary sector partner, interview notes, wave 1"


def test_markdown_shows_notes_as_notes(reported):
    page = (reported / paths.SITES_DIR / "south.md").read_text(encoding="utf-8")
    lines = page.splitlines()
    [attribution] = [i for i, line in enumerate(lines) if NOTES_ATTRIBUTION in line]
    assert lines[attribution] == "— " + NOTES_ATTRIBUTION
    assert lines[attribution - 1].startswith("*From the notes (not verbatim):* ")
    assert not lines[attribution - 1].startswith(">")
    # verbatim quotes are still block quotes
    assert any(line.startswith("> — ") and "interview, wave" in line for line in lines)
    for text in [page, (reported / paths.SUMMARY_MD).read_text(encoding="utf-8")]:
        assert "Interviewee, interview" not in text
        assert not any(line.startswith(">") and "notes" in line for line in text.splitlines()
                       if "interview notes" in line)


def sheet_rows(workbook, name: str) -> list[dict]:
    rows = list(workbook[name].iter_rows(min_row=HEADER_ROW, values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_workbook_and_tables_mark_quotes_from_notes(reported):
    workbook = load_workbook(reported / paths.EVALUATION_WORKBOOK)
    quotes = sheet_rows(workbook, "Quotes")
    notes = [q for q in quotes if q["segment_id"] == segment_id("s1")]
    assert notes and all(q["verbatim"] is False and q["attribution"] == NOTES_ATTRIBUTION for q in notes)
    assert all(q["verbatim"] is True for q in quotes if q["segment_id"] != segment_id("s1"))
    [cell] = [r for r in sheet_rows(workbook, "Framework matrix")
              if r.get("Site") == "Southby" and r.get("Resources and capacity") is not None]
    assert "From the notes (not verbatim): " in cell["Resources and capacity"] and "“" not in cell["Resources and capacity"]
    assert "— " + NOTES_ATTRIBUTION in cell["Resources and capacity"]
    table = pd.read_csv(reported / paths.QUOTES_CSV, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(table.loc[table["segment_id"] == segment_id("s1"), "verbatim"]) == {"False"}
    framework = pd.read_csv(reported / paths.FRAMEWORK_MATRIX_CSV, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
    assert "False" in set(framework.loc[framework["quote_segment_id"] == segment_id("s1"), "quote_verbatim"])
