"""End to end: Snakemake on a copy of the shipped example; the ingest outputs
are checked against what the example's files contain (counted from disk)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipeline import paths
from pipeline.tables import METHODS

pytestmark = pytest.mark.slow

NOTES_SUFFIXES = (".md", ".markdown", ".txt", ".docx", ".vtt")
LOG_SUFFIXES = (".csv",)


def fieldwork_files(project: Path, method: str) -> list[Path]:
    folder = project / paths.METHOD_FOLDERS[method]
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith((".", "~$")) and p.name.lower() != "readme.md")


def logged_sessions(path: Path) -> int:
    """Distinct (session, date, site) in a CSV observation/workshop log."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in rows]
    return len({(r["session"], r["date"], r["site"]) for r in rows if r.get("note")})


def expected_sessions(project: Path, method: str) -> int:
    count = 0
    for path in fieldwork_files(project, method):
        if path.suffix.lower() in LOG_SUFFIXES:
            count += logged_sessions(path)
        elif path.suffix.lower() in NOTES_SUFFIXES:
            count += 1
    return count


@pytest.fixture(scope="module")
def outputs(example_run):
    return {
        "project": example_run,
        "segments": pd.read_parquet(example_run / paths.SEGMENTS),
        "documents": pd.read_parquet(example_run / paths.DOCUMENTS),
        "methods": pd.read_csv(example_run / paths.METHODS_CSV, dtype={"wave": str}, encoding="utf-8-sig"),
        "wide": pd.read_csv(example_run / paths.METHODS_WIDE_CSV, encoding="utf-8-sig"),
    }


def test_every_method_is_present(outputs):
    assert set(outputs["methods"]["method"]) == set(METHODS)


def test_interview_count_equals_interview_files(outputs):
    methods = outputs["methods"]
    interviews = len(fieldwork_files(outputs["project"], "interview"))
    assert methods.loc[methods["method"] == "interview", "count"].sum() == interviews


@pytest.mark.parametrize("method", ["observation", "workshop"])
def test_session_counts_match_the_files(outputs, method):
    methods = outputs["methods"]
    assert methods.loc[methods["method"] == method, "count"].sum() == expected_sessions(outputs["project"], method)


def test_sites_waves_and_totals(outputs):
    documents, wide = outputs["documents"], outputs["wide"]
    assert documents["site"].nunique() >= 5
    assert sorted(documents["wave"].unique()) == ["1", "2"]
    assert wide["site"].iloc[-1] == "Total"
    assert wide.set_index("site").loc["Total", "total"] == len(documents)
    assert outputs["methods"]["count"].sum() == len(documents)


def test_segments_are_well_formed(outputs):
    segments, documents = outputs["segments"], outputs["documents"]
    assert segments["segment_id"].is_unique and documents["document_id"].is_unique
    assert set(segments["document_id"]) <= set(documents["document_id"])
    assert (segments["text"].str.strip() != "").all()
    interviews = segments[segments["method"] == "interview"]
    assert (interviews["participant_id"] != "").all() and (interviews["sector"] != "").all()
    assert set(segments["speaker_role"]) <= {"participant", "interviewer", "other", ""}


def test_register_names_appear_only_as_speakers(outputs):
    register = pd.read_csv(outputs["project"] / paths.PARTICIPANTS, dtype=str, keep_default_na=False)
    names = [n for n in register.get("name", pd.Series(dtype=str)) if n.strip()]
    segments, documents = outputs["segments"], outputs["documents"]
    assert "name" not in segments.columns and "name" not in documents.columns
    for frame in (segments.drop(columns=["speaker"]), documents):
        for column in frame.columns:
            values = frame[column].astype(str)
            for name in names:
                assert not values.str.contains(name, regex=False).any(), (name, column)
