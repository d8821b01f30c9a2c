"""Tests for pipeline/ingest/surveys/generic.py: one header row, everything from config."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook

from pipeline.config import validate_config
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.surveys.generic import read_generic_export
from pipeline.ingest.tabular import read_grid


def write_csv(path: Path, rows, delimiter=",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def entry(**overrides):
    base = {"file": "paper.csv", "format": "generic", "wave": "1", "site": "quillmere",
            "sector": "programme", "date": "2025-06-30", "text_columns": ["comments"]}
    base.update(overrides)
    return validate_config({"surveys": [base]})


def test_id_column_keeps_leading_zeros_and_config_supplies_the_rest(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "paper.csv", [["form_no", "e-mail", "comments"],
                                              ["00123", "x@example.org", "Very useful"],
                                              ["00124", "", ""]], delimiter=";")
    result = read_surveys(entry(id_column="form_no"), raw, SafetyLimits())
    assert result.problems == []
    first, second = result.documents
    assert first.key == "00123" and second.key == "00124"
    assert first.source_format == "generic"
    assert first.metadata == {"site": "quillmere", "sector": "programme", "wave": "1", "date": "2025-06-30",
                              "response_id": "00123", "title": "paper", "finished": True}
    assert [(b.question, b.text) for b in first.blocks] == [("comments", "Very useful")]
    assert second.blocks == []
    assert "row numbers" not in result.log_rows[0]["message"]


def test_without_id_column_rows_are_numbered_and_the_log_says_so(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "paper.csv", [["comments"], ["first"], [""], ["third"]])
    result = read_surveys(entry(), raw, SafetyLimits())
    assert [d.key for d in result.documents] == ["row-2", "row-4"]  # spreadsheet row numbers
    assert "row numbers" in result.log_rows[0]["message"]


def test_personal_header_is_marked(tmp_path):
    path = write_csv(tmp_path / "p.csv", [["ID", "Email", "Full name", "Phone number", "Comments"], ["1", "", "", "", ""]])
    export = read_generic_export(read_grid(path))
    assert [c.name for c in export.columns if c.personal] == ["Email", "Full name", "Phone number"]


def test_duplicate_headers_renamed(tmp_path):
    path = write_csv(tmp_path / "d.csv", [["comments", "comments"], ["a", "b"]])
    export = read_generic_export(read_grid(path))
    assert [c.name for c in export.columns] == ["comments", "comments_2"]
    assert export.renamed_columns == [("comments", "comments_2", 2)]


def test_xlsx_generic(tmp_path):
    raw = tmp_path / "raw"
    (raw / "surveys").mkdir(parents=True)
    workbook = Workbook()
    workbook.active.append(["ref", "comments"])
    workbook.active.append([1234567890123456, "long id survives"])
    workbook.save(raw / "surveys" / "paper.xlsx")
    result = read_surveys(entry(file="paper.xlsx", id_column="ref"), raw, SafetyLimits())
    assert result.problems == []
    assert result.documents[0].key == "1234567890123456"
