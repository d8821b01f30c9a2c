"""Tests for pipeline/ingest/surveys/surveymonkey.py: expanded exports, continuation cells."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

from openpyxl import Workbook

from pipeline.config import validate_config
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.surveys.surveymonkey import read_surveymonkey_export
from pipeline.ingest.tabular import read_grid

META = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
        "First Name", "Last Name", "Custom Data 1"]
ROW1 = META + ["Which partnership are you part of?", "Which sector do you work in?", "",
               "What has changed since last year?", "Which of these have you used?", "", ""]
ROW2 = [""] * len(META) + ["Response", "Response", "Other (please specify)", "Open-Ended Response",
                           "Newsletter", "Training", "Other (please specify)"]
PERSONAL = ["198.51.100.4", "kofi@example.org", "Kofi", "Mensah", "contact-7781"]


def answer_row(rid, site="Fenhollow", sector="NHS", other="", changed="Joint bids", used_other="", end=None):
    return [rid, "431201", "05/02/2025 09:11:07 AM", end or "05/02/2025 09:20:41 AM", *PERSONAL,
            site, sector, other, changed, "Newsletter", "", used_other]


def write_csv(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_continuation_cells_filled_from_the_left(tmp_path):
    path = write_csv(tmp_path / "sm.csv", [ROW1, ROW2, answer_row("114000001")])
    export = read_surveymonkey_export(read_grid(path))
    names = [c.name for c in export.columns]
    assert names[len(META):] == [
        "Which partnership are you part of? - Response",
        "Which sector do you work in? - Response",
        "Which sector do you work in? - Other (please specify)",
        "What has changed since last year? - Open-Ended Response",
        "Which of these have you used? - Newsletter",
        "Which of these have you used? - Training",
        "Which of these have you used? - Other (please specify)",
    ]
    by_name = {c.name: c for c in export.columns}
    # a question with one sub-column can be named on its own; one with several cannot
    assert by_name["What has changed since last year? - Open-Ended Response"].aliases == (
        "What has changed since last year?",)
    assert by_name["Which sector do you work in? - Response"].aliases == ()
    assert by_name["What has changed since last year? - Open-Ended Response"].question == (
        "What has changed since last year?")
    assert by_name["Which of these have you used? - Other (please specify)"].question == (
        "Which of these have you used? - Other (please specify)")
    assert {c.name for c in export.columns if c.personal} == {
        "IP Address", "Email Address", "First Name", "Last Name", "Custom Data 1"}
    assert export.responses[0].default_id == "114000001"
    assert export.responses[0].date == "2025-05-02"


def config(file="sm.csv", **overrides):
    entry = {"file": file, "wave": "2", "site_column": "Which partnership are you part of?",
             "sector_column": "Which sector do you work in? - Response",
             "sector_values": {"NHS": "statutory_health", "Council": "local_authority"},
             "text_columns": ["What has changed since last year?",
                              "Which of these have you used? - Other (please specify)"]}
    entry.update(overrides)
    return validate_config({"surveys": [entry], "sites": {"fenhollow": "Fenhollow", "ostleby": "Ostleby Vale"}})


def test_read_through_read_surveys_with_auto_detection(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "sm.csv", [ROW1, ROW2, answer_row("114000001"),
                                           answer_row("114000002", site="ostleby vale", sector="Council",
                                                      changed="", used_other="A podcast")])
    result = read_surveys(config(), raw, SafetyLimits())
    assert result.problems == []
    docs = {d.key: d for d in result.documents}
    assert docs["114000001"].source_format == "surveymonkey"
    assert [(b.question, b.text) for b in docs["114000001"].blocks] == [
        ("What has changed since last year?", "Joint bids")]
    assert [(b.question, b.text) for b in docs["114000002"].blocks] == [
        ("Which of these have you used? - Other (please specify)", "A podcast")]
    assert docs["114000002"].metadata["site"] == "ostleby"
    assert docs["114000002"].metadata["sector"] == "local_authority"
    assert docs["114000002"].metadata["title"] == "sm"
    assert "surveymonkey" in result.log_rows[0]["message"]
    dumped = json.dumps([dataclasses.asdict(d) for d in result.documents] + result.log_rows)
    for value in PERSONAL:
        assert value not in dumped


def test_question_with_several_sub_columns_needs_its_sub_label(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "sm.csv", [ROW1, ROW2, answer_row("1")])
    result = read_surveys(config(text_columns=["Which of these have you used?"]), raw, SafetyLimits())
    (problem,) = result.problems
    assert problem.column == "Which of these have you used?"
    assert "Which of these have you used? - Training" in problem.hint


def test_xlsx_export_and_day_first_dates(tmp_path):
    raw = tmp_path / "raw"
    (raw / "surveys").mkdir(parents=True)
    workbook = Workbook()
    for row in [ROW1, ROW2, answer_row("1", end="13/02/2025 09:20:41"), answer_row("2", end="02/03/2025 10:00:00")]:
        workbook.active.append([cell or None for cell in row])
    workbook.save(raw / "surveys" / "sm.xlsx")
    result = read_surveys(config(file="sm.xlsx"), raw, SafetyLimits())
    assert result.problems == []
    dates = {d.key: d.metadata["date"] for d in result.documents}
    assert dates == {"1": "2025-02-13", "2": "2025-03-02"}  # 13/02 decides day-first for the file
    assert result.log_rows[0]["encoding"] == ""
