"""The evaluation workbook: Contents first, every table a sheet, text stored as text, figures embedded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline import paths
from pipeline.report import run_report
from pipeline.report.workbook import HEADER_ROW, Sheet, write_workbook
from pipeline.triangulate import run_triangulate, table_parquet
from synthetic_project import make_project

FORMULA = '=HYPERLINK("x")'


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory) -> Path:
    root, config = make_project(tmp_path_factory.mktemp("synthetic") / "project")
    # enough quotes per site that the formula-like survey answer is quoted too
    config["report"]["quotes_per_site_theme"] = 5
    run_triangulate(config, root)
    run_report(config, root)
    return root / paths.EVALUATION_WORKBOOK


def test_sheets_present_contents_first(workbook_path):
    workbook = load_workbook(workbook_path)
    assert workbook.sheetnames[0] == "Contents"
    expected = {"Methods", "Theme by site", "Theme by sector", "Theme by method", "Theme by wave",
                "Code by site", "Triangulation", "Site differences", "Triangulation (codes)",
                "Site differences (codes)", "Wave changes", "Wave changes (codes)", "Quotes", "Agreement",
                "Framework matrix", "Figures"}
    assert expected <= set(workbook.sheetnames)
    listed = {row[0] for row in workbook["Contents"].iter_rows(values_only=True) if row[0]}
    assert set(workbook.sheetnames[1:]) <= listed


def test_every_table_sheet_has_a_csv(workbook_path):
    root = workbook_path.parent.parent
    contents = load_workbook(workbook_path)["Contents"]
    csvs = [row[2] for row in contents.iter_rows(values_only=True) if row[2] and str(row[2]).endswith(".csv")]
    assert len(csvs) >= 12
    for csv in csvs:
        assert (root / csv).is_file(), csv


def test_formula_like_quote_is_text(workbook_path):
    sheet = load_workbook(workbook_path)["Quotes"]
    cells = [c for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith(FORMULA)]
    assert cells, "the formula-like quote should be in the Quotes sheet"
    assert all(c.data_type == "s" for c in cells)
    # and the CSV neutralises it
    quotes_csv = (workbook_path.parent / "tables" / "quotes.csv").read_text(encoding="utf-8-sig")
    assert "'" + FORMULA.replace('"', '""') in quotes_csv


def test_header_style_freeze_and_numbers(workbook_path):
    sheet = load_workbook(workbook_path)["Theme by site"]
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header[:3] == ["theme_id", "theme_label", "site"]
    assert sheet.cell(row=HEADER_ROW, column=1).font.bold
    assert sheet.freeze_panes == f"B{HEADER_ROW + 1}"
    sources = header.index("sources") + 1
    assert isinstance(sheet.cell(row=HEADER_ROW + 1, column=sources).value, int)


def test_methods_sheet_uses_display_labels(workbook_path):
    sheet = load_workbook(workbook_path)["Methods"]
    assert [c.value for c in sheet[HEADER_ROW]] == ["Partnership", "Method", "Wave", "Documents"]
    sites = {sheet.cell(row=r, column=1).value for r in range(HEADER_ROW + 1, sheet.max_row + 1)}
    assert sites == {"Northam", "Southby", "Eastwick", "The Foundation"}
    assert sheet.cell(row=HEADER_ROW + 1, column=2).value in {"Interview", "Survey", "Workshop"}
    assert isinstance(sheet.cell(row=HEADER_ROW + 1, column=4).value, int)


def test_framework_sheet_is_sites_by_themes(workbook_path):
    sheet = load_workbook(workbook_path)["Framework matrix"]
    assert [c.value for c in sheet[HEADER_ROW]] == ["Site", "Resources and capacity",
                                                    "Relationships | trust", "Legacy"]
    sites = [sheet.cell(row=r, column=1).value for r in range(HEADER_ROW + 1, sheet.max_row + 1)]
    assert sites == ["Northam", "Southby", "Eastwick", "The Foundation"]
    cell = sheet.cell(row=HEADER_ROW + 3, column=4).value  # Eastwick, Legacy
    assert cell.startswith("3 segments from 3 sources") and "Segments: seg_" in cell and "“" in cell
    # a quote whose coding nobody has reviewed says so, as on the Markdown pages
    framework = pd.read_parquet(workbook_path.parents[1] / table_parquet("framework_matrix"))
    quoted = framework[framework["quote"] != ""]
    assert set(quoted["quote_reviewed"]) == {True, False}
    columns = {c.value: c.column for c in sheet[HEADER_ROW]}
    rows = {sheet.cell(row=r, column=1).value: r for r in range(HEADER_ROW + 1, sheet.max_row + 1)}
    for r in quoted.itertuples():
        text = sheet.cell(row=rows[r.site_label], column=columns[r.theme_label]).value
        assert ("(coding not yet reviewed)" in text) == (not r.quote_reviewed), text


def test_images_embedded(workbook_path):
    assert len(load_workbook(workbook_path)["Figures"]._images) == 2


def test_write_workbook_stores_every_formula_prefix_as_text(tmp_path):
    values = [FORMULA, "+1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"]
    target = write_workbook(tmp_path / "w.xlsx", [Sheet("T", pd.DataFrame({"quote": values}), "d", "t.csv")],
                            None, [], lambda t: t, "P", [])
    sheet = load_workbook(target)["T"]
    cells = [sheet.cell(row=HEADER_ROW + i, column=1) for i in range(1, len(values) + 1)]
    assert all(c.data_type == "s" for c in cells)
    assert cells[0].value == FORMULA


def test_small_p_values_read_below_0001_not_zero(tmp_path):
    frame = pd.DataFrame({"fisher_p": [2e-9, 0.0412], "odds_ratio": [float("inf"), 1.5]})
    target = write_workbook(tmp_path / "w.xlsx", [Sheet("T", frame, "d", "t.csv")], None, [], lambda t: t, "P", [])
    sheet = load_workbook(target)["T"]
    tiny, usual = sheet.cell(row=HEADER_ROW + 1, column=1), sheet.cell(row=HEADER_ROW + 2, column=1)
    assert tiny.value == 2e-9 and usual.value == 0.0412   # exact values kept
    assert tiny.number_format == usual.number_format == '[<0.001]"<0.001";0.000'
    assert sheet.cell(row=HEADER_ROW + 1, column=2).value == "inf"
