import logging

from openpyxl import Workbook, load_workbook

from pipeline.spreadsheet import EXCEL_CELL_LIMIT, set_cell


def _roundtrip(tmp_path, values):
    workbook = Workbook()
    sheet = workbook.active
    for column, value in enumerate(values, start=1):
        set_cell(sheet.cell(row=1, column=column), value)
    workbook.save(tmp_path / "t.xlsx")
    return [cell for cell in load_workbook(tmp_path / "t.xlsx").active[1]]


def test_formula_like_text_is_stored_as_text(tmp_path):
    texts = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "\nx"]
    cells = _roundtrip(tmp_path, texts)
    assert [c.data_type for c in cells] == ["s"] * len(texts)
    assert [c.value for c in cells][:4] == texts[:4]


def test_ids_with_leading_zeros_and_16_digits_stay_text(tmp_path):
    cells = _roundtrip(tmp_path, ["00123", "1234567890123456"])
    assert [c.value for c in cells] == ["00123", "1234567890123456"]


def test_control_characters_removed_and_logged(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        cells = _roundtrip(tmp_path, ["a\x00b\x07c\x1fd"])
    assert cells[0].value == "abcd"
    assert "control character" in caplog.text


def test_overlong_text_truncated_with_marker_and_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        cells = _roundtrip(tmp_path, ["x" * (EXCEL_CELL_LIMIT + 10)])
    assert len(cells[0].value) <= EXCEL_CELL_LIMIT
    assert cells[0].value.endswith("see the CSV or parquet table]")
    assert "truncated" in caplog.text


def test_missing_values_become_empty_cells(tmp_path):
    cells = _roundtrip(tmp_path, [None, float("nan"), 3])
    assert [c.value for c in cells] == [None, None, 3]


def test_infinity_is_written_as_in_the_csv(tmp_path):
    # An odds ratio is infinite when a group's 2 × 2 table has an empty cell; openpyxl
    # would store an empty value, which a spreadsheet shows as a blank cell.
    cells = _roundtrip(tmp_path, [float("inf"), float("-inf"), 1.5])
    assert [c.value for c in cells] == ["inf", "-inf", 1.5]
