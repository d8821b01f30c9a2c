"""Tests for pipeline/ingest/surveys/msforms.py on real XLSX files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from openpyxl import Workbook

from pipeline.config import validate_config
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.surveys.msforms import read_msforms_export
from pipeline.ingest.tabular import read_grid

SITE_Q = "Which partnership are you involved with?"
CHANGE_Q = "What has changed in how your partnership works?"
EXAMPLE_Q = "Please give an example."


def write_xlsx(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    workbook.active.title = "Form1"
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def config(**overrides):
    entry = {"file": "forms.xlsx", "format": "auto", "wave": 2, "site_column": SITE_Q,
             "site_values": {"Brackenmouth": "brackenmouth"}, "sector": "local_authority",
             "text_columns": [CHANGE_Q, EXAMPLE_Q]}
    entry.update(overrides)
    return validate_config({"surveys": [entry]})


def test_anonymous_form_with_last_modified_time(tmp_path):
    raw = tmp_path / "raw"
    write_xlsx(raw / "surveys" / "forms.xlsx", [
        ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time", SITE_Q, CHANGE_Q, EXAMPLE_Q],
        [1, dt.datetime(2026, 3, 2, 9, 0, 5), dt.datetime(2026, 3, 2, 9, 7, 40), "anonymous", None, None,
         "Brackenmouth", "We share a data dashboard.", None],
        [2, dt.datetime(2026, 3, 3, 14, 0), dt.datetime(2026, 3, 3, 14, 9), "anonymous", None, None,
         "Brackenmouth", None, None],
    ])
    result = read_surveys(config(), raw, SafetyLimits())
    assert result.problems == []
    docs = {d.key: d for d in result.documents}
    assert set(docs) == {"1", "2"}  # IDs stored as numbers come back without ".0"
    assert docs["1"].source_format == "msforms"
    assert docs["1"].metadata["date"] == "2026-03-02"
    assert [(b.question, b.text) for b in docs["1"].blocks] == [(CHANGE_Q, "We share a data dashboard.")]
    assert docs["2"].blocks == []  # still a response, counted in the methods table
    log = result.log_rows[0]
    assert log["n_documents"] == 2 and "msforms" in log["message"]
    assert "1 response answered none" in log["message"]


def test_named_form_quiz_columns_ignored_and_personal_data_dropped(tmp_path):
    path = write_xlsx(tmp_path / "raw" / "surveys" / "forms.xlsx", [
        ["ID", "Start time", "Completion time", "Email", "Name", "Total points", "Quiz feedback",
         SITE_Q, "Points - " + SITE_Q, "Feedback - " + SITE_Q, CHANGE_Q, EXAMPLE_Q],
        [7, dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 2, 9, 5), "amara.bello@example.org", "Amara Bello",
         3, "Well done", "Brackenmouth", 1, "Correct", "Monthly meetings", "The food bank referral route"],
    ])
    export = read_msforms_export(read_grid(path))
    ignored = {c.name for c in export.columns if c.ignored}
    assert ignored == {"Total points", "Quiz feedback", "Points - " + SITE_Q, "Feedback - " + SITE_Q}
    assert {c.name for c in export.columns if c.personal} == {"Email", "Name"}

    result = read_surveys(config(), tmp_path / "raw", SafetyLimits())
    assert result.problems == []
    (doc,) = result.documents
    assert [b.text for b in doc.blocks] == ["Monthly meetings", "The food bank referral route"]
    dumped = json.dumps([dataclasses.asdict(d) for d in result.documents] + result.log_rows)
    assert "amara" not in dumped.lower() and "Bello" not in dumped


def test_quiz_column_is_not_offered_as_a_text_column(tmp_path):
    write_xlsx(tmp_path / "raw" / "surveys" / "forms.xlsx", [
        ["ID", "Start time", "Completion time", "Email", "Name", "Quiz feedback", SITE_Q, CHANGE_Q, EXAMPLE_Q],
        [1, None, None, "anonymous", "anonymous", "ok", "Brackenmouth", "x", "y"],
    ])
    result = read_surveys(config(text_columns=["Quiz feedback"]), tmp_path / "raw", SafetyLimits())
    (problem,) = result.problems
    assert "not a column" in problem.message
    assert "Quiz feedback" not in problem.hint and CHANGE_Q in problem.hint


def test_completion_time_written_as_text(tmp_path):
    write_xlsx(tmp_path / "raw" / "surveys" / "forms.xlsx", [
        ["ID", "Start time", "Completion time", "Email", "Name", SITE_Q, CHANGE_Q, EXAMPLE_Q],
        ["1", "3/2/26 9:00:05", "3/2/26 9:07:40", "anonymous", "anonymous", "Brackenmouth", "x", ""],
        ["2", "3/20/26 9:00:05", "3/20/26 9:07:40", "anonymous", "anonymous", "Brackenmouth", "y", ""],
    ])
    result = read_surveys(config(), tmp_path / "raw", SafetyLimits())
    assert result.problems == []
    assert sorted(d.metadata["date"] for d in result.documents) == ["2026-03-02", "2026-03-20"]
