"""The Review sheet's rows 3 onwards, which the workbook writer streams in as XML.

openpyxl writes the header and row 2; the rest must come out exactly as
openpyxl would have written them, with the same styles and the same safety.
"""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from pipeline.codebook import project_codebook
from pipeline.review import EDITABLE_HEADERS, REVIEW_HEADERS
from pipeline.review.workbook import write_review_workbook
from pipeline.spreadsheet import EXCEL_CELL_LIMIT

PLAIN = {"segment_id": "plain", "site": "quillmere", "sector": "Voluntary", "method": "interview",
         "participant": "P001", "wave": "1", "text": "Funding was cut.",
         "suggested_1": "res_funding", "score_1": 0.812}
# Values that openpyxl escapes, marks or refuses in its own way.
AWKWARD = {"segment_id": "00123", "site": "  padded ", "sector": "é ü 😀 \u2028", "method": "#N/A",
           "participant": "", "wave": np.float64(2.0), "text": "=HYPERLINK(\"x\")\r\n&<tab>\there\x07",
           "suggested_1": "res_staff", "score_1": np.float32(0.5), "suggested_2": "rel_trust",
           "score_2": np.nan, "decision": "change", "final_code_1": "rel_trust", "coder": "",
           "comment": "@alice " + "x" * (EXCEL_CELL_LIMIT + 10)}


def rows_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=REVIEW_HEADERS)


def row_xml(path, row: int) -> str:
    """Row ``row`` of the Review sheet's XML, its cell references renumbered to row 0."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode("ascii")
    found = re.search(f'<row r="{row}">(.*?)</row>', xml, re.DOTALL)
    assert found, f"no row {row}"
    return re.sub(r'r="([A-Z]+){}"'.format(row), r'r="\g<1>0"', found.group(1))


@pytest.fixture
def codebook(project, config):
    return project_codebook(config, project)


def test_a_streamed_row_is_written_exactly_as_openpyxl_writes_one(codebook, tmp_path):
    streamed, by_openpyxl = tmp_path / "streamed.xlsx", tmp_path / "openpyxl.xlsx"
    write_review_workbook(rows_frame([PLAIN, AWKWARD]), codebook, streamed)    # AWKWARD is row 3
    write_review_workbook(rows_frame([AWKWARD, PLAIN]), codebook, by_openpyxl)  # AWKWARD is row 2
    assert row_xml(streamed, 3) == row_xml(by_openpyxl, 2)
    assert row_xml(streamed, 2) == row_xml(by_openpyxl, 3)


def test_streamed_rows_keep_values_styles_and_safety(codebook, tmp_path):
    records = [dict(PLAIN, segment_id=f"s{i:03d}", score_1=i / 100) for i in range(40)] + [AWKWARD]
    target = tmp_path / "review.xlsx"
    write_review_workbook(rows_frame(records), codebook, target)
    sheet = openpyxl.load_workbook(target)["Review"]
    assert sheet.max_row == len(records) + 1 and sheet.max_column == len(REVIEW_HEADERS)
    assert sheet.auto_filter.ref == f"A1:S{len(records) + 1}"
    assert [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)] == [
        r["segment_id"] for r in records]
    assert sheet.cell(row=30, column=9).value == pytest.approx(0.28)
    for r in range(3, sheet.max_row + 1):
        for c, header in enumerate(REVIEW_HEADERS, start=1):
            cell, first = sheet.cell(row=r, column=c), sheet.cell(row=2, column=c)
            assert cell.style_id == first.style_id, (r, header)
            assert cell.protection.locked is (header not in EDITABLE_HEADERS)

    r = sheet.max_row
    values = {header: sheet.cell(row=r, column=c).value for c, header in enumerate(REVIEW_HEADERS, 1)}
    assert values["text"] == "=HYPERLINK(\"x\")\r\n&<tab>\there"      # control character removed
    assert sheet.cell(row=r, column=REVIEW_HEADERS.index("text") + 1).data_type == "s"
    assert values["site"] == "  padded " and values["sector"] == "é ü 😀 \u2028"
    assert values["method"] == "#N/A" and values["wave"] == 2
    assert values["score_1"] == 0.5 and values["score_2"] is None and values["participant"] is None
    assert values["comment"].startswith("@alice xxx") and "truncated" in values["comment"]
    assert len(values["comment"]) == EXCEL_CELL_LIMIT
    with zipfile.ZipFile(target) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_no_rows_leaves_an_empty_styled_first_row(codebook, tmp_path):
    target = tmp_path / "review.xlsx"
    write_review_workbook(rows_frame([]), codebook, target)
    sheet = openpyxl.load_workbook(target)["Review"]
    assert sheet.max_row == 2 and sheet.auto_filter.ref == "A1:S2"
    decision = sheet.cell(row=2, column=REVIEW_HEADERS.index("decision") + 1)
    assert decision.value is None and decision.protection.locked is False


def test_a_value_that_is_not_text_or_a_number_is_refused(codebook, tmp_path):
    records = [PLAIN, dict(PLAIN, wave=pd.Timestamp("2025-01-01").to_pydatetime())]
    with pytest.raises(TypeError, match="Review!F3"):
        write_review_workbook(rows_frame(records), codebook, tmp_path / "review.xlsx")
    assert not (tmp_path / "review.xlsx").exists()
