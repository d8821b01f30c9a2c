"""Tests for pipeline/ingest/surveys/qualtrics.py, on real CSV files."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import paths
from pipeline.config import validate_config
from pipeline.ingest import run_ingest
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.surveys.qualtrics import detect_layout, read_qualtrics_export
from pipeline.ingest.tabular import read_grid

META_TAGS = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
             "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
             "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage"]
META_TEXT = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)",
             "Finished", "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name",
             "Recipient Email", "External Data Reference", "Location Latitude", "Location Longitude",
             "Distribution Channel", "User Language"]
META_IMPORT = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished",
               "recordedDate", "_recordId", "recipientLastName", "recipientFirstName", "recipientEmail",
               "externalDataReference", "locationLatitude", "locationLongitude", "distributionChannel",
               "userLanguage"]
QUESTION_TAGS = ["Q1", "Q3", "Q3_TEXT", "Q5", "Q5"]
QUESTION_TEXT = ["Which partnership are you involved with?",
                 "What has changed?\nPlease describe it in your own words.",
                 "What has changed? - Other - Text",
                 "What worked well?",
                 "What could be better?"]
PERSONAL = ["203.0.113.7", "Okonkwo", "Adaeze", "adaeze@example.org", "EXT-991", "53.4808", "-2.2426"]


def response(rid, *, status="0", finished="1", channel="anonymous", end="2025-05-02 10:15:00",
             site="Quillmere", q3="The partnership meets monthly now.", q3_text="", q5a="", q5b=""):
    ip, last, first, email, ext, lat, lon = PERSONAL
    return ["2025-05-02 10:00:00", end, status, ip, "100", "900", finished, end, rid, last, first, email,
            ext, lat, lon, channel, "EN", site, q3, q3_text, q5a, q5b]


def write_export(path: Path, responses, trailing_empty=False, encoding="utf-8") -> Path:
    rows = [META_TAGS + QUESTION_TAGS, META_TEXT + QUESTION_TEXT,
            [json.dumps({"ImportId": i}) for i in META_IMPORT]
            + [json.dumps({"ImportId": i}) for i in ("QID1", "QID3_TEXT", "QID3_4_TEXT", "QID5", "QID6")]]
    rows += responses
    if trailing_empty:
        rows = [row + [""] for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def config(**overrides) -> dict:
    entry = {"name": "partners", "file": "partners.csv", "format": "qualtrics", "wave": 1,
             "site_column": "Q1", "site_values": {"Quillmere": "quillmere", "Sallowdene": "sallowdene"},
             "sector": "voluntary", "text_columns": ["Q3", "Q3_TEXT"]}
    ingest = overrides.pop("ingest", {})
    entry.update(overrides)
    return validate_config({"surveys": [entry], "ingest": ingest})


def run(tmp_path, responses, cfg=None, **write_kwargs):
    raw = tmp_path / "data" / "raw"
    write_export(raw / "surveys" / "partners.csv", responses, **write_kwargs)
    return read_surveys(cfg or config(), raw, SafetyLimits())


def test_three_header_rows_with_newline_in_question_text(tmp_path):
    result = run(tmp_path, [response("R_1"), response("R_2", site="Sallowdene", q3="", q3_text="Other thing")])
    assert result.problems == []
    docs = {d.key: d for d in result.documents}
    assert set(docs) == {"R_1", "R_2"}
    first = docs["R_1"]
    assert first.method == "survey"
    assert first.source_format == "qualtrics"
    assert first.source_file == "surveys/partners.csv"
    assert [b.text for b in first.blocks] == ["The partnership meets monthly now."]
    assert first.blocks[0].question == "What has changed?\nPlease describe it in your own words."
    assert first.metadata == {"site": "quillmere", "sector": "voluntary", "wave": "1", "date": "2025-05-02",
                              "response_id": "R_1", "title": "partners", "finished": True}
    assert docs["R_2"].blocks[0].question == "What has changed? - Other - Text"
    (log,) = result.log_rows
    assert log["status"] == "read" and log["n_documents"] == 2 and log["format"] == "qualtrics"
    assert log["encoding"] == "utf-8"


def test_text_columns_may_name_the_question_text(tmp_path):
    cfg = config(text_columns=["What worked well?"])
    result = run(tmp_path, [response("R_1", q5a="Shared budgets")], cfg)
    assert result.problems == []
    assert [(b.question, b.text) for b in result.documents[0].blocks] == [("What worked well?", "Shared budgets")]


def test_duplicate_export_tags_renamed_and_reported(tmp_path):
    cfg = config(text_columns=["Q5", "Q5_2"])
    result = run(tmp_path, [response("R_1", q5a="first", q5b="second")], cfg)
    assert result.problems == []
    assert [(b.question, b.text) for b in result.documents[0].blocks] == [
        ("What worked well?", "first"), ("What could be better?", "second")]
    log = result.log_rows[0]
    assert "Q5 → Q5_2" in log["renamed_duplicate_columns"]
    assert "renamed" in log["message"]


def test_a_repeated_tag_alone_in_text_columns_is_ambiguous(tmp_path):
    """Naming only 'Q5' when the export tags two questions Q5 would leave the second
    one's answers uncoded, unseen: it is an error naming the renamed repeat."""
    result = run(tmp_path, [response("R_1", q5a="first", q5b="second")], config(text_columns=["Q5"]))
    assert result.documents == []
    [problem] = result.problems
    assert "'Q5_2'" in problem.message and problem.column == "Q5"
    assert "question text" in problem.hint
    by_text = run(tmp_path / "b", [response("R_1", q5a="first", q5b="second")],
                  config(text_columns=["What worked well?"]))
    assert by_text.problems == []
    assert [(b.question, b.text) for b in by_text.documents[0].blocks] == [("What worked well?", "first")]


def test_trailing_empty_column_is_dropped(tmp_path):
    path = write_export(tmp_path / "t.csv", [response("R_1")], trailing_empty=True)
    export = read_qualtrics_export(read_grid(path))
    assert [c.name for c in export.columns][-1] == "Q5_2"
    assert export.renamed_columns == [("Q5", "Q5_2", 22)]


def test_trailing_column_with_empty_header_but_data_is_kept_with_a_name(tmp_path):
    path = write_export(tmp_path / "t.csv", [response("R_1") + ["stray"]])
    export = read_qualtrics_export(read_grid(path))
    assert export.columns[-1].name == "column W"


@pytest.mark.parametrize("style", ["numeric", "choice text"])
def test_preview_test_spam_excluded_and_counted(tmp_path, style):
    codes = {"numeric": {"normal": "0", "preview": "1", "test": "2", "spam": "8", "imported": "4"},
             "choice text": {"normal": "IP Address", "preview": "Survey Preview", "test": "Survey Test",
                             "spam": "Spam", "imported": "Imported"}}[style]
    responses = [
        response("R_1", status=codes["normal"]),
        response("R_2", status=codes["preview"]),
        response("R_3", status=codes["test"]),
        response("R_4", status=codes["test"]),
        response("R_5", status=codes["spam"]),
        response("R_6", status=codes["imported"]),
        response("R_7", status=codes["normal"], channel="preview"),
    ]
    result = run(tmp_path, responses)
    assert result.problems == []
    assert sorted(d.key for d in result.documents) == ["R_1", "R_6"]  # imported kept by default
    log = result.log_rows[0]
    assert (log["excluded_preview"], log["excluded_test"], log["excluded_spam"]) == (2, 2, 1)


def test_imported_excluded_when_configured_and_counted_in_message(tmp_path):
    cfg = config(ingest={"exclude_survey_status": ["imported"]})
    result = run(tmp_path, [response("R_1"), response("R_2", status="4"), response("R_3", status="1")], cfg)
    assert sorted(d.key for d in result.documents) == ["R_1", "R_3"]
    assert "1 imported response excluded" in result.log_rows[0]["message"]


@pytest.mark.parametrize("done, not_done", [("1", "0"), ("True", "False")])
@pytest.mark.parametrize("mode", ["exclude", "flag", "keep"])
def test_unfinished_responses_in_every_mode(tmp_path, mode, done, not_done):
    cfg = config(ingest={"unfinished_responses": mode})
    result = run(tmp_path, [response("R_1", finished=done), response("R_2", finished=not_done)], cfg)
    assert result.problems == []
    log = result.log_rows[0]
    docs = {d.key: d for d in result.documents}
    assert docs["R_1"].metadata["finished"] is True
    if mode == "exclude":
        assert set(docs) == {"R_1"}
        assert (log["excluded_unfinished"], log["flagged_unfinished"]) == (1, 0)
    elif mode == "flag":
        assert docs["R_2"].metadata["finished"] is False
        assert (log["excluded_unfinished"], log["flagged_unfinished"]) == (0, 1)
    else:
        assert docs["R_2"].metadata["finished"] is True
        assert (log["excluded_unfinished"], log["flagged_unfinished"]) == (0, 0)
        assert "1 unfinished response kept" in log["message"]


def test_legacy_two_row_export(tmp_path):
    raw = tmp_path / "data" / "raw"
    rows = [
        ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "Q1", "Q2", "LocationLatitude"],
        ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress", "Status",
         "StartDate", "EndDate", "Finished", "Which partnership?", "What changed?\n(in your words)",
         "LocationLatitude"],
        ["R_a", "Default Response Set", "Okonkwo, Adaeze", "EXT-991", "adaeze@example.org", "203.0.113.7", "0",
         "2014-06-02 10:00:00", "2014-06-02 10:20:00", "1", "Quillmere", "More trust", "53.4808"],
        ["R_b", "Default Response Set", "Anonymous", "", "", "203.0.113.8", "1",
         "2014-06-02 11:00:00", "2014-06-02 11:20:00", "1", "Quillmere", "Preview text", "53.4808"],
    ]
    (raw / "surveys").mkdir(parents=True)
    with (raw / "surveys" / "old.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    assert detect_layout(rows) == "legacy"
    cfg = validate_config({"surveys": [{"file": "old.csv", "format": "auto", "wave": 1, "site_column": "Q1",
                                        "sector": "voluntary", "text_columns": ["Q2"]}],
                           "sites": {"quillmere": "Quillmere"}})
    result = read_surveys(cfg, raw, SafetyLimits())
    assert result.problems == []
    (doc,) = result.documents
    assert doc.key == "R_a"
    assert doc.metadata["site"] == "quillmere"  # matched to the sites: label
    assert doc.metadata["date"] == "2014-06-02"
    assert doc.blocks[0].question == "What changed?\n(in your words)"
    assert result.log_rows[0]["excluded_preview"] == 1
    assert "legacy" in result.log_rows[0]["message"]
    assert_no_personal_data(result)


def test_personal_columns_absent_from_everything_returned(tmp_path):
    cfg = config(text_columns=["Q3", "Q3_TEXT", "Q5", "Q5_2"])
    result = run(tmp_path, [response("R_1", q5a="yes", q5b="no"), response("R_2", status="1")], cfg)
    assert result.problems == []
    assert_no_personal_data(result)


@pytest.mark.parametrize("role", ["id_column", "text_columns", "site_column"])
def test_personal_columns_cannot_be_configured(tmp_path, role):
    value = ["RecipientEmail"] if role == "text_columns" else "RecipientEmail"
    result = run(tmp_path, [response("R_1")], config(**{role: value}))
    assert result.documents == []
    assert any("personal data" in p.message and p.column == "RecipientEmail" for p in result.problems)
    assert_no_personal_data(result)


def test_not_a_qualtrics_layout_is_a_clear_problem(tmp_path):
    raw = tmp_path / "data" / "raw"
    (raw / "surveys").mkdir(parents=True)
    (raw / "surveys" / "partners.csv").write_text("ResponseId,Q1\nR_1,Quillmere\n", encoding="utf-8")
    result = read_surveys(config(), raw, SafetyLimits())
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/partners.csv"
    assert "Qualtrics" in problem.message and "format: generic" in problem.hint


def test_cp1252_export(tmp_path):
    result = run(tmp_path, [response("R_1", q3="It’s better — café")], encoding="cp1252")
    assert result.documents[0].blocks[0].text == "It’s better — café"
    assert result.documents[0].encoding == "cp1252"


def assert_no_personal_data(result):
    dumped = json.dumps([dataclasses.asdict(d) for d in result.documents] + result.log_rows, default=str)
    dumped += " ".join(str(p) for p in result.problems)
    for value in PERSONAL + ["Okonkwo, Adaeze"]:
        assert value not in dumped, value


def test_a_flagged_unfinished_response_is_marked_in_the_documents_table(tmp_path):
    run(tmp_path, [response("R_1"), response("R_2", finished="0", q3="I stopped half way.")])
    run_ingest(config(ingest={"unfinished_responses": "flag"}), tmp_path)
    documents = pd.read_parquet(tmp_path / paths.DOCUMENTS)
    segments = pd.read_parquet(tmp_path / paths.SEGMENTS)
    finished = documents.set_index("document_id")["finished"]
    assert finished.dtype == bool
    assert finished[segments.set_index("text").loc["I stopped half way.", "document_id"]] == False  # noqa: E712
    assert finished.sum() == 1


def test_a_missing_column_lists_the_question_texts_too(tmp_path):
    """The schema lets a column be named by its export tag or its question text: the error offers both,
    a question text over several lines on one line, as config.yaml may give it."""
    [problem] = run(tmp_path, [response("R_1")], config(text_columns=["Q4"])).problems
    assert problem.column == "Q4" and "is not a column" in problem.message
    assert ("'Q3' (question text 'What has changed? Please describe it in your own words.')" in problem.hint)
    by_text = run(tmp_path / "b", [response("R_1")],
                  config(text_columns=["What has changed? Please describe it in your own words."]))
    assert by_text.problems == [] and by_text.documents[0].blocks[0].text == "The partnership meets monthly now."
