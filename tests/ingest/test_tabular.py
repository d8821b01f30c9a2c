"""Tests for pipeline/ingest/tabular.py: every cell a string, whole-text CSV parsing."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.errors import InputError
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.tabular import Grid, read_grid, sniff_delimiter


def write_csv(path: Path, rows, encoding="utf-8", delimiter=",") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows, title="Sheet1", extra_sheets=()) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, sheet_rows in extra_sheets:
        other = workbook.create_sheet(name)
        for row in sheet_rows:
            other.append(row)
    workbook.save(path)
    return path


def test_csv_cells_are_untyped_strings(tmp_path):
    path = write_csv(tmp_path / "ids.csv", [["id", "card", "note"], ["00123", "1234567890123456", ""]])
    grid = read_grid(path)
    assert isinstance(grid, Grid)
    assert grid.rows == [["id", "card", "note"], ["00123", "1234567890123456", ""]]
    assert grid.encoding == "utf-8"
    assert grid.sheet is None
    assert grid.path == path


def test_quoted_newlines_inside_cells_survive(tmp_path):
    path = write_csv(tmp_path / "q.csv", [
        ["Q1", "Q2"],
        ["What changed?\nPlease explain.", "Anything else?"],
        ["line one\nline two\n\nline four", "x"],
    ])
    grid = read_grid(path)
    assert len(grid.rows) == 3
    assert grid.rows[1][0] == "What changed?\nPlease explain."
    assert grid.rows[2][0] == "line one\nline two\n\nline four"


def test_crlf_line_endings_and_quoted_crlf(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b'a,b\r\n"one\r\ntwo",3\r\n')
    assert read_grid(path).rows == [["a", "b"], ["one\ntwo", "3"]]


def test_utf16_unicode_text_is_tab_separated(tmp_path):
    path = tmp_path / "unicode.txt"
    text = "Q1\tQ2\r\nCafé, naïve\t“quoted”\r\n"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    grid = read_grid(path)
    assert grid.encoding == "utf-16"
    assert grid.delimiter == "\t"
    assert grid.rows == [["Q1", "Q2"], ["Café, naïve", "“quoted”"]]


def test_semicolon_delimiter_with_decimal_commas(tmp_path):
    path = write_csv(tmp_path / "eu.csv", [["id", "score", "comment"], ["1", "3,5", "ok"], ["2", "4,0", "fine"]],
                     delimiter=";")
    grid = read_grid(path)
    assert grid.delimiter == ";"
    assert grid.rows[1] == ["1", "3,5", "ok"]


def test_sniffer_ignores_commas_inside_tab_separated_text():
    text = 'id\tanswer\n1\t"yes, and no"\n2\tplain\n'
    assert sniff_delimiter(text) == "\t"
    assert sniff_delimiter("single\nvalue\n") == ","


def test_cp1252_csv_records_encoding(tmp_path):
    path = write_csv(tmp_path / "win.csv", [["id", "text"], ["1", "It’s great — café"]], encoding="cp1252")
    grid = read_grid(path)
    assert grid.encoding == "cp1252"
    assert grid.rows[1][1] == "It’s great — café"


def test_trailing_empty_rows_dropped_and_ragged_rows_padded(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1\n\n2,3\n,,\n\n", encoding="utf-8")
    grid = read_grid(path)
    # The empty row in the middle is kept so that row numbers match a spreadsheet.
    assert grid.rows == [["a", "b", "c"], ["1", "", ""], ["", "", ""], ["2", "3", ""]]


def test_trailing_empty_column_dropped(tmp_path):
    path = tmp_path / "trail.csv"
    path.write_text("a,b,\n1,2,\n", encoding="utf-8")
    assert read_grid(path).rows == [["a", "b"], ["1", "2"]]


def test_xlsx_numbers_dates_and_text(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", [
        ["id", "count", "ratio", "when", "day", "text", "flag", "empty"],
        ["00123", 42, 2.5, dt.datetime(2025, 3, 4, 9, 30, 15), dt.datetime(2025, 3, 4), "hello", True, None],
        ["1234567890123456", 7.0, 0.1, dt.date(2024, 12, 31), None, "", False, None],
    ])
    grid = read_grid(path)
    assert grid.sheet == "Sheet1"
    assert grid.encoding == ""
    assert grid.rows[0] == ["id", "count", "ratio", "when", "day", "text", "flag", "empty"]
    assert grid.rows[1] == ["00123", "42", "2.5", "2025-03-04T09:30:15", "2025-03-04", "hello", "True", ""]
    assert grid.rows[2] == ["1234567890123456", "7", "0.1", "2024-12-31", "", "", "False", ""]


def test_xlsx_named_sheet_and_missing_sheet(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", [["first"]], extra_sheets=[("Responses", [["x", "y"], [1, 2]])])
    assert read_grid(path).rows == [["first"]]
    grid = read_grid(path, sheet="Responses")
    assert grid.sheet == "Responses"
    assert grid.rows == [["x", "y"], ["1", "2"]]
    with pytest.raises(InputError, match="no sheet named 'Nope'") as info:
        read_grid(path, sheet="Nope")
    assert "Responses" in info.value.hint


def test_xlsx_ragged_and_trailing_empty_rows(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [["a", "b", "c"], ["1"], [None, None, None]])
    assert read_grid(path).rows == [["a", "b", "c"], ["1", "", ""]]


def test_xlsx_gap_rows_keep_spreadsheet_numbering(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "h"
    sheet["A4"] = "four"
    workbook.save(tmp_path / "gap.xlsx")
    rows = read_grid(tmp_path / "gap.xlsx").rows
    assert rows == [["h"], [""], [""], ["four"]]


@pytest.mark.parametrize("suffix", [".xlsm", ".xls", ".ods"])
def test_unreadable_spreadsheet_kinds_are_clear_errors(tmp_path, suffix):
    path = tmp_path / f"book{suffix}"
    path.write_bytes(b"whatever")
    with pytest.raises(InputError, match="cannot be read") as info:
        read_grid(path)
    assert ".xlsx" in info.value.hint
    assert info.value.file == str(path)


def test_workbook_with_csv_name_is_clear_error(tmp_path):
    path = write_xlsx(tmp_path / "book.xlsx", [["a"]])
    renamed = path.rename(tmp_path / "book.csv")
    with pytest.raises(InputError, match="Excel workbook"):
        read_grid(renamed)


def test_empty_and_oversized_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_grid(empty)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    with pytest.raises(InputError, match="over the"):
        read_grid(big, SafetyLimits(max_file_mb=1))


def test_unsupported_extension(tmp_path):
    path = tmp_path / "notes.docx"
    path.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported"):
        read_grid(path)


def test_a_formula_with_no_saved_result_is_warned_about_by_cell(tmp_path, caplog):
    """openpyxl writes formulas without their results, as any script does; such a cell reads as
    empty, so it is named."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ref", "answer", "note"])
    sheet.append(["1", "We meet monthly now.", ""])
    sheet.append(["2", '=CONCAT("The board ", "works.")', ""])
    path = tmp_path / "data" / "raw" / "surveys" / "s.xlsx"
    path.parent.mkdir(parents=True)
    workbook.save(path)
    grid = read_grid(path, display="data/raw/surveys/s.xlsx")
    assert grid.rows[2][:2] == ["2", ""]
    (warning,) = [r.getMessage() for r in caplog.records if "formula" in r.getMessage()]
    assert warning.startswith("data/raw/surveys/s.xlsx: 1 cell(s) hold a formula with no saved result (B3)")
    assert "save it" in warning
