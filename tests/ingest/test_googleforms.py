"""Tests for pipeline/ingest/surveys/googleforms.py: timestamps, derived IDs, dropped e-mail."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

from pipeline.config import validate_config
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.surveys.googleforms import read_googleforms_export
from pipeline.ingest.tabular import read_grid

HEADER = ["Timestamp", "Email Address", "Where do you volunteer?", "What difference has it made?"]


def write_csv(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def config(**overrides):
    entry = {"file": "volunteers.csv", "wave": 1, "site_column": "Where do you volunteer?",
             "sector": "voluntary", "text_columns": ["What difference has it made?"]}
    entry.update(overrides)
    return validate_config({"surveys": [entry], "sites": {"quillmere": "Quillmere", "fenhollow": "Fenhollow"}})


def test_us_timestamps_email_dropped_and_ids_from_timestamps(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [
        HEADER,
        ["3/4/2025 9:30:15", "li.wei@example.org", "Quillmere", "I know my neighbours now."],
        ["3/4/2025 9:30:15", "sam@example.org", "Fenhollow", "More confidence."],
        ["3/14/2025 17:02:00", "", "Quillmere", ""],
    ])
    result = read_surveys(config(), raw, SafetyLimits())
    assert result.problems == []
    docs = [(d.key, d.metadata["date"], d.metadata["site"]) for d in result.documents]
    # Two responses in the same second: the timestamp and a hash of each one's answers.
    assert [(re.sub("-[0-9a-f]{8}$", "-<hash>", key), date, site) for key, date, site in docs] == [
        ("2025-03-04T09:30:15-<hash>", "2025-03-04", "quillmere"),
        ("2025-03-04T09:30:15-<hash>", "2025-03-04", "fenhollow"),
        ("2025-03-14T17:02:00", "2025-03-14", "quillmere")]
    assert docs[0][0] != docs[1][0]
    assert result.documents[0].source_format == "googleforms"
    assert result.documents[0].blocks[0].question == "What difference has it made?"
    dumped = json.dumps([dataclasses.asdict(d) for d in result.documents] + result.log_rows)
    assert "example.org" not in dumped


def test_ids_do_not_change_when_rows_are_reordered(tmp_path):
    rows = [["1/5/2025 10:00:00", "", "Quillmere", "a"], ["1/6/2025 11:00:00", "", "Quillmere", "b"]]
    first = read_googleforms_export(read_grid(write_csv(tmp_path / "a.csv", [HEADER] + rows)))
    second = read_googleforms_export(read_grid(write_csv(tmp_path / "b.csv", [HEADER] + rows[::-1])))
    ids = lambda export: {r.cells[3]: r.default_id for r in export.responses}  # noqa: E731
    assert ids(first) == ids(second)


def test_responses_in_the_same_second_keep_their_ids_when_a_download_orders_rows_differently(tmp_path):
    # Google Sheets may give the rows in another order (sorted by a column, or re-downloaded):
    # the analysts' decisions must stay with the response they were made on.
    rows = [["3/4/2025 9:30:15", "li.wei@example.org", "Quillmere", "I know my neighbours now."],
            ["3/4/2025 9:30:15", "sam@example.org", "Fenhollow", "More confidence."],
            ["3/4/2025 9:30:15", "ana@example.org", "Quillmere", "More confidence."],
            ["3/4/2025 9:30:15", "sam@example.org", "Fenhollow", "More confidence."],   # same answers as row 3
            ["3/14/2025 17:02:00", "", "Quillmere", "Unique timestamp."]]

    def ids(name, order):
        raw = tmp_path / name
        write_csv(raw / "surveys" / "volunteers.csv", [HEADER] + [rows[i] for i in order])
        result = read_surveys(config(), raw, SafetyLimits())
        assert result.problems == []
        return sorted((d.metadata["site"], d.blocks[0].text, d.key) for d in result.documents)

    first, second = ids("first", [0, 1, 2, 3, 4]), ids("second", [4, 3, 2, 1, 0])
    assert first == second
    keys = [key for _site, _text, key in first]
    assert len(set(keys)) == 5 and "2025-03-14T17:02:00" in keys    # a unique timestamp keeps its ID
    # Only the two responses with identical answers are told apart by order, and they are alike.
    fenhollow = [key for site, _text, key in first if site == "fenhollow"]
    assert fenhollow[1] == fenhollow[0] + "-2"
    assert "example.org" not in " ".join(keys)


def test_day_first_locale_detected_from_the_file(tmp_path):
    path = write_csv(tmp_path / "uk.csv", [HEADER, ["04/03/2025 09:30:15", "", "Quillmere", "a"],
                                           ["25/03/2025 10:00:00", "", "Quillmere", "b"]])
    export = read_googleforms_export(read_grid(path))
    assert [r.date for r in export.responses] == ["2025-03-04", "2025-03-25"]
    assert export.notes == []


def test_ambiguous_order_assumes_us_and_says_so(tmp_path):
    path = write_csv(tmp_path / "amb.csv", [HEADER, ["04/03/2025 09:30:15", "", "Quillmere", "a"]])
    export = read_googleforms_export(read_grid(path))
    assert export.responses[0].date == "2025-04-03"
    assert any("month/day/year" in note for note in export.notes)


def test_iso_and_12_hour_timestamps(tmp_path):
    path = write_csv(tmp_path / "iso.csv", [HEADER, ["2025-03-04 21:05:00", "", "Quillmere", "a"],
                                            ["3/5/2025 9:05:00 PM", "", "Quillmere", "b"]])
    export = read_googleforms_export(read_grid(path))
    assert [r.default_id for r in export.responses] == ["2025-03-04T21:05:00", "2025-03-05T21:05:00"]


def test_mixed_day_orders_are_a_problem(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [HEADER, ["25/03/2025 09:30:15", "", "Quillmere", "a"],
                                                   ["3/25/2025 10:00:00", "", "Quillmere", "b"]])
    result = read_surveys(config(), raw, SafetyLimits())
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/volunteers.csv"
    assert problem.column == "Timestamp" and problem.row == 2
    assert result.documents == []


def test_unreadable_timestamp_falls_back_to_row_number(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [HEADER, ["yesterday", "", "Quillmere", "a"]])
    result = read_surveys(config(), raw, SafetyLimits())
    assert result.problems == []
    assert result.documents[0].key == "row-2"
    assert "row numbers" in result.log_rows[0]["message"]


def test_configured_id_column_replaces_derived_ids(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [HEADER + ["Ref"], ["yesterday", "", "Quillmere", "a", "V-01"]])
    result = read_surveys(config(id_column="Ref"), raw, SafetyLimits())
    assert result.problems == []
    assert result.documents[0].key == "V-01"
    assert "row numbers" not in result.log_rows[0]["message"]


def test_date_order_keeps_ids_when_a_later_download_settles_the_order(tmp_path):
    early = [["04/03/2025 09:30:15", "", "Quillmere", "The board meets monthly now."],
             ["10/03/2025 11:00:00", "", "Quillmere", "Referrals doubled."]]
    later = early + [["13/03/2025 10:00:00", "", "Quillmere", "A new answer."]]

    def keys(rows, **entry):
        raw = tmp_path / f"raw{len(rows)}{entry}"
        write_csv(raw / "surveys" / "volunteers.csv", [HEADER] + rows)
        result = read_surveys(config(**entry), raw, SafetyLimits())
        assert result.problems == []
        return [(d.key, d.metadata["date"]) for d in result.documents], result.log_rows[0]["message"]

    # auto: the first download is read month-first, and the log asks for date_order
    assumed, message = keys(early)
    assert assumed[0] == ("2025-04-03T09:30:15", "2025-04-03") and "set date_order" in message
    # day_first: the same IDs before and after the 13th arrives, and no note
    first, message = keys(early, date_order="day_first")
    second, _ = keys(later, date_order="day_first")
    assert first == [("2025-03-04T09:30:15", "2025-03-04"), ("2025-03-10T11:00:00", "2025-03-10")]
    assert second[:2] == first and "date_order" not in message


def test_a_date_against_the_date_order_is_a_problem(tmp_path):
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [HEADER, ["04/03/2025 09:30:15", "", "Quillmere", "a"],
                                                   ["3/25/2025 10:00:00", "", "Quillmere", "b"]])
    result = read_surveys(config(date_order="day_first"), raw, SafetyLimits())
    (problem,) = result.problems
    assert (problem.file, problem.column, problem.row) == ("data/raw/surveys/volunteers.csv", "Timestamp", 3)
    assert "date_order" in problem.hint and result.documents == []


def test_a_repeated_question_is_pointed_to_its_renamed_repeat_without_circular_advice(tmp_path):
    """In Google Forms the header is the question text, so "name it by its question text" cannot help."""
    raw = tmp_path / "raw"
    write_csv(raw / "surveys" / "volunteers.csv", [
        HEADER + ["What difference has it made?"],
        ["3/4/2025 9:30:15", "", "Quillmere", "I know my neighbours now.", "And the food bank."],
    ])
    [problem] = read_surveys(config(), raw, SafetyLimits()).problems
    assert "'What difference has it made?_2'" in problem.message
    assert problem.hint == "add 'What difference has it made?_2' to text_columns if it is an open question too"
