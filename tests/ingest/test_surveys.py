"""Tests for pipeline/ingest/surveys/__init__.py: configuration applied to any vendor's export."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.config import validate_config
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import LOG_COLUMNS, detect_format, read_surveys

SITE_Q = "Which partnership?"
SECTOR_Q = "Which sector?"
TEXT_Q = "What changed?"


def write_csv(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def generic_rows(*answers):
    return [["ref", SITE_Q, SECTOR_Q, TEXT_Q]] + [list(a) for a in answers]


def survey_entry(**overrides):
    entry = {"file": "s.csv", "wave": 1, "id_column": "ref", "site_column": SITE_Q,
             "site_values": {"Quillmere": "quillmere", "Ostleby Vale": "ostleby"},
             "sector_column": SECTOR_Q,
             "sector_values": {"Voluntary or community organisation": "voluntary", "NHS organisation":
                               "statutory_health"},
             "text_columns": [TEXT_Q]}
    entry.update(overrides)
    return entry


def read(tmp_path, rows, *entries, name="s.csv", **config):
    raw = tmp_path / "raw"
    if rows is not None:
        write_csv(raw / "surveys" / name, rows)
    (raw / "surveys").mkdir(parents=True, exist_ok=True)
    cfg = validate_config({"surveys": list(entries) or [survey_entry()], **config})
    return read_surveys(cfg, raw, SafetyLimits())


def test_site_and_sector_mapping_exact_and_loose(tmp_path):
    result = read(tmp_path, generic_rows(
        ["1", "Quillmere", "NHS organisation", "a"],
        ["2", "  ostleby   VALE ", "voluntary or community organisation", "b"],
        ["3", "Ostleby Vale", "NHS organisation", "c"],
    ))
    assert result.problems == []
    assert [(d.metadata["site"], d.metadata["sector"]) for d in result.documents] == [
        ("quillmere", "statutory_health"), ("ostleby", "voluntary"), ("ostleby", "statutory_health")]


def test_unknown_mapping_value_names_row_column_value_and_keys(tmp_path):
    result = read(tmp_path, generic_rows(
        ["1", "Quillmere", "NHS organisation", "a"],
        ["2", "Sallowdene", "NHS organisation", "b"],
        ["3", "Sallowdene", "Local council", "c"],
    ))
    assert result.documents == []
    assert result.log_rows[0]["status"] == "error"
    site, sector = sorted(result.problems, key=lambda p: p.column)
    assert (site.file, site.row, site.column) == ("data/raw/surveys/s.csv", 3, SITE_Q)
    assert "'Sallowdene'" in site.message and "rows 3, 4" in site.message
    assert "'Quillmere'" in site.hint and "'Ostleby Vale'" in site.hint
    assert (sector.row, sector.column) == (4, SECTOR_Q)
    assert "'Local council'" in sector.message and "'NHS organisation'" in sector.hint


def test_without_site_values_the_answer_must_be_a_site_key_or_label(tmp_path):
    entry = survey_entry(site_values={}, sector_values={})
    result = read(tmp_path, generic_rows(["1", "quillmere", "voluntary", "a"], ["2", "Ostleby Vale", "NHS", "b"]),
                  entry, sites={"quillmere": "Quillmere", "ostleby": "Ostleby Vale"})
    assert {p.column for p in result.problems} == {SECTOR_Q}  # "NHS" is not a sector key or label
    result = read(tmp_path, generic_rows(["1", "quillmere", "voluntary", "a"],
                                         ["2", "Ostleby Vale", "Programme stakeholder", "b"]),
                  entry, sites={"quillmere": "Quillmere", "ostleby": "Ostleby Vale"})
    assert result.problems == []
    assert [(d.metadata["site"], d.metadata["sector"]) for d in result.documents] == [
        ("quillmere", "voluntary"), ("ostleby", "programme")]


def test_fixed_site_and_sector(tmp_path):
    entry = survey_entry(site_column=None, sector_column=None, site="fenhollow", sector="local_authority")
    result = read(tmp_path, generic_rows(["1", "", "", "a"]), entry)
    assert result.problems == []
    assert (result.documents[0].metadata["site"], result.documents[0].metadata["sector"]) == (
        "fenhollow", "local_authority")


def test_sector_values_must_map_to_configured_sectors(tmp_path):
    entry = survey_entry(sector_values={"NHS organisation": "nhs"})
    result = read(tmp_path, generic_rows(["1", "Quillmere", "NHS organisation", "a"]), entry)
    (problem,) = result.problems
    assert problem.file == "config.yaml"
    assert "'nhs'" in problem.message and "statutory_health" in problem.hint


def test_blank_site_answer_is_warned_about_not_fatal(tmp_path, caplog):
    result = read(tmp_path, generic_rows(["1", "", "NHS organisation", "a"]))
    assert result.problems == []
    assert result.documents[0].metadata["site"] == ""
    assert "site unknown" in result.log_rows[0]["message"]
    (warning,) = [r.getMessage() for r in caplog.records if "left the site column" in r.getMessage()]
    assert f"1 response(s) left the site column {SITE_Q!r} blank (row " in warning
    assert "towards no site" in warning and "site: instead of site_column" in warning


def test_an_export_behind_a_cover_sheet_is_pointed_to(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["Exported from Forms; answers on the next sheet"])
    answers = workbook.create_sheet("Answers")
    for row in generic_rows(["1", "Quillmere", "NHS organisation", "a"]):
        answers.append(row)
    (tmp_path / "raw/surveys").mkdir(parents=True)
    workbook.save(tmp_path / "raw/surveys/s.xlsx")
    result = read(tmp_path, None, survey_entry(file="s.xlsx"))
    missing = [p for p in result.problems if "is not a column" in p.message]
    assert missing and all("these are sheet 'Cover', the first of 2 ('Cover', 'Answers')" in p.hint
                           for p in missing)


def test_missing_text_column_lists_existing_columns(tmp_path):
    entry = survey_entry(text_columns=[TEXT_Q, "What next?"])
    result = read(tmp_path, generic_rows(["1", "Quillmere", "NHS organisation", "a"]), entry)
    (problem,) = result.problems
    assert problem.column == "What next?"
    assert "not a column" in problem.message
    for column in ("ref", SITE_Q, SECTOR_Q, TEXT_Q):
        assert repr(column) in problem.hint


def test_text_column_matched_case_and_space_insensitively(tmp_path):
    entry = survey_entry(text_columns=["what  CHANGED?"])
    result = read(tmp_path, generic_rows(["1", "Quillmere", "NHS organisation", "a"]), entry)
    assert result.problems == []
    assert result.documents[0].blocks[0].question == TEXT_Q


def test_duplicate_response_ids_name_the_rows(tmp_path):
    result = read(tmp_path, generic_rows(["1", "Quillmere", "NHS organisation", "a"],
                                         ["2", "Quillmere", "NHS organisation", "b"],
                                         ["1", "Quillmere", "NHS organisation", "c"]))
    (problem,) = result.problems
    assert "'1'" in problem.message and "rows 2, 4" in problem.message
    assert (problem.row, problem.column) == (4, "ref")
    assert result.documents == []


def test_empty_response_id_is_a_problem(tmp_path):
    result = read(tmp_path, generic_rows(["", "Quillmere", "NHS organisation", "a"]))
    (problem,) = result.problems
    assert "no response ID" in problem.message and problem.row == 2


def test_header_only_export_has_no_responses(tmp_path):
    result = read(tmp_path, generic_rows())
    (problem,) = result.problems
    assert "no responses" in problem.message
    assert result.log_rows[0]["status"] == "error"


def test_empty_file_has_no_responses(tmp_path):
    raw = tmp_path / "raw"
    (raw / "surveys").mkdir(parents=True)
    (raw / "surveys" / "s.csv").write_bytes(b"")
    result = read_surveys(validate_config({"surveys": [survey_entry()]}), raw, SafetyLimits())
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/s.csv" and "no responses" in problem.message


def test_qualtrics_header_only_export_has_no_responses(tmp_path):
    rows = [["StartDate", "ResponseId", "Q1"], ["Start Date", "Response ID", "Q?"],
            ['{"ImportId":"startDate"}', '{"ImportId":"_recordId"}', '{"ImportId":"QID1"}']]
    entry = {"file": "s.csv", "wave": 1, "text_columns": ["Q1"]}
    result = read(tmp_path, rows, entry)
    (problem,) = result.problems
    assert "no responses" in problem.message


def test_unmatched_survey_file_is_a_problem_and_readme_hidden_ignored(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "s.csv", generic_rows(["1", "Quillmere", "NHS organisation", "a"]))
    write_csv(raw / "surveys" / "forgotten.csv", [["x"], ["1"]])
    (raw / "surveys" / "README.md").write_text("notes", encoding="utf-8")
    (raw / "surveys" / ".DS_Store").write_bytes(b"\0")
    (raw / "surveys" / "~$s.xlsx").write_bytes(b"\0")
    result = read_surveys(validate_config({"surveys": [survey_entry()]}), raw, SafetyLimits())
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/forgotten.csv"
    assert "add a surveys: entry for it in config.yaml" in problem.hint
    assert len(result.documents) == 1  # the configured survey is still read


def test_glob_matching_nothing_is_a_problem_listing_unclaimed_files(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "Partner_Survey.csv", [["x"], ["1"]])
    cfg = validate_config({"surveys": [survey_entry(file="partner_survey*.csv", name="partners")]})
    result = read_surveys(cfg, raw, SafetyLimits())
    messages = sorted(str(p) for p in result.problems)
    assert any("config.yaml" in m and "'partner_survey*.csv' matches no file" in m
               and "Partner_Survey.csv" in m for m in messages)
    assert any("Partner_Survey.csv" in m and "no surveys: entry" in m for m in messages)


def test_glob_matching_several_files_reads_each(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "wave_a.csv", generic_rows(["1", "Quillmere", "NHS organisation", "a"]))
    write_csv(raw / "surveys" / "wave_b.csv", generic_rows(["1", "Quillmere", "NHS organisation", "b"]))
    cfg = validate_config({"surveys": [survey_entry(file="wave_*.csv", name="waves")]})
    result = read_surveys(cfg, raw, SafetyLimits())
    assert result.problems == []
    assert sorted(d.source_file for d in result.documents) == ["surveys/wave_a.csv", "surveys/wave_b.csv"]
    assert {d.metadata["title"] for d in result.documents} == {"waves"}
    assert [row["file"] for row in result.log_rows] == ["data/raw/surveys/wave_a.csv",
                                                        "data/raw/surveys/wave_b.csv"]


def test_file_matched_by_two_entries_is_a_problem(tmp_path):
    rows = generic_rows(["1", "Quillmere", "NHS organisation", "a"])
    result = read(tmp_path, rows, survey_entry(name="one"), survey_entry(file="*.csv", name="two"))
    (problem,) = result.problems
    assert "two surveys entries" in problem.message


def test_log_row_has_every_column(tmp_path):
    result = read(tmp_path, generic_rows(["1", "Quillmere", "NHS organisation", "a"]))
    (row,) = result.log_rows
    assert tuple(row) == LOG_COLUMNS
    assert row["method"] == "survey" and row["status"] == "read" and row["n_documents"] == 1


QUALTRICS = [["StartDate", "EndDate", "Status", "Finished", "ResponseId", "Q1"],
             ["Start Date", "End Date", "Response Type", "Finished", "Response ID", "Comments"],
             ['{"ImportId":"startDate"}', '{"ImportId":"endDate"}', '{"ImportId":"status"}',
              '{"ImportId":"finished"}', '{"ImportId":"_recordId"}', '{"ImportId":"QID1_TEXT"}'],
             ["2025-01-01 10:00:00", "2025-01-01 10:05:00", "0", "1", "R_1", "ok"]]
SURVEYMONKEY = [["Respondent ID", "Collector ID", "Start Date", "End Date", "Comments"],
                ["", "", "", "", "Open-Ended Response"], ["1", "2", "", "", "ok"]]
MSFORMS = [["ID", "Start time", "Completion time", "Email", "Name", "Comments"],
           ["1", "", "", "anonymous", "anonymous", "ok"]]
GOOGLE = [["Timestamp", "Comments"], ["1/2/2025 10:00:00", "ok"]]
GENERIC = [["ref", "Comments"], ["1", "ok"]]


@pytest.mark.parametrize("rows, expected", [
    (QUALTRICS, "qualtrics"), (SURVEYMONKEY, "surveymonkey"), (MSFORMS, "msforms"),
    (GOOGLE, "googleforms"), (GENERIC, "generic"),
])
def test_auto_detection_is_logged(tmp_path, rows, expected):
    assert detect_format(rows) == expected
    entry = {"file": "s.csv", "wave": 1, "site": "quillmere", "sector": "voluntary", "text_columns": ["Comments"]}
    result = read(tmp_path, rows, entry)
    assert result.problems == []
    (doc,) = result.documents
    assert doc.source_format == expected
    assert result.log_rows[0]["format"] == expected
    assert f"format detected from the header: {expected}" in result.log_rows[0]["message"]
    assert doc.blocks[0].text == "ok"


def test_absolute_or_parent_globs_rejected(tmp_path):
    result = read(tmp_path, None, survey_entry(file="../secret.csv"))
    assert any("must be a name or glob inside" in p.message for p in result.problems)


def test_missing_default_id_column_is_a_problem(tmp_path):
    rows = [["ID", "Start time", "Completion time", "Email", "Name", "Comments"], ["", "", "", "", "", "ok"]]
    rows[0][0] = "Ident"
    entry = {"file": "s.csv", "format": "msforms", "wave": 1, "site": "q", "text_columns": ["Comments"]}
    result = read(tmp_path, rows, entry)
    (problem,) = result.problems
    assert "'ID'" in problem.message and "'Ident'" in problem.hint


def test_survey_xlsx_with_dates_and_numbers(tmp_path):
    raw = tmp_path / "raw"
    (raw / "surveys").mkdir(parents=True)
    workbook = Workbook()
    workbook.active.append(["ID", "Start time", "Completion time", "Email", "Name", "Comments"])
    workbook.active.append([5, dt.datetime(2026, 1, 2, 9), dt.datetime(2026, 1, 2, 9, 30), "anonymous",
                            "anonymous", "fine"])
    workbook.save(raw / "surveys" / "f.xlsx")
    entry = {"file": "f.xlsx", "wave": 2, "site": "quillmere", "text_columns": ["Comments"]}
    result = read_surveys(validate_config({"surveys": [entry]}), raw, SafetyLimits())
    assert result.problems == []
    assert json.loads(json.dumps(result.documents[0].metadata)) == {
        "site": "quillmere", "sector": "", "wave": "2", "date": "2026-01-02", "response_id": "5",
        "title": "f", "finished": True}


def test_ids_excel_rounded_to_scientific_notation_are_refused(tmp_path):
    # A SurveyMonkey CSV opened and saved in Excel: 114027365873 became 1.14027E+11.
    # Two such IDs collide (not a duplicate response to delete); one alone would
    # silently change at the next clean download, orphaning its decisions.
    rows = generic_rows(["1.14027E+11", "Quillmere", "NHS organisation", "a"],
                        ["1.14027E+11", "Quillmere", "NHS organisation", "b"],
                        ["1.15E+11", "Quillmere", "NHS organisation", "c"])
    result = read(tmp_path, rows)
    assert result.documents == []
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert "scientific notation" in problem.message and "2, 3, 4" in problem.message
    assert problem.row == 2 and problem.column == "ref"
    assert "without opening" in problem.hint


def test_two_downloads_of_one_survey_are_an_error_and_one_file_per_site_is_not(tmp_path):
    """A glob may match one export per site; two downloads of the same survey would count twice."""
    first = generic_rows(["1", "Quillmere", "NHS organisation", "Monthly meetings help."],
                         ["2", "Quillmere", "NHS organisation", "The hub works."])
    later = first + [["3", "Ostleby Vale", "NHS organisation", "We need more volunteers."]]
    write_csv(tmp_path / "raw" / "surveys" / "partners.csv", first)
    write_csv(tmp_path / "raw" / "surveys" / "partners_June 22, 2025.csv", later)
    result = read(tmp_path, None, survey_entry(file="partners*.csv"))
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/partners_June 22, 2025.csv"
    assert problem.message.startswith("2 of its responses (the same response IDs and answers) are also in "
                                      "data/raw/surveys/partners.csv")
    assert "keep only the latest download" in problem.hint
    # one export per site: the same row numbers, other answers
    other = tmp_path / "other"
    write_csv(other / "raw" / "surveys" / "partners_quillmere.csv", first)
    write_csv(other / "raw" / "surveys" / "partners_ostleby.csv",
              generic_rows(["1", "Ostleby Vale", "NHS organisation", "Transport is the barrier."]))
    assert read(other, None, survey_entry(file="partners_*.csv")).problems == []


def test_two_downloads_under_two_entries_are_an_error_too(tmp_path):
    rows = generic_rows(["1", "Quillmere", "NHS organisation", "Monthly meetings help."])
    write_csv(tmp_path / "raw" / "surveys" / "partners.csv", rows)
    write_csv(tmp_path / "raw" / "surveys" / "partners_june.csv", rows)
    result = read(tmp_path, None, survey_entry(file="partners.csv", name="may"),
                  survey_entry(file="partners_june.csv", name="june"))
    (problem,) = result.problems
    assert "matched by the surveys entries 'may' and 'june'" in problem.message
