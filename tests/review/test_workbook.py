"""The review workbook: layout, validation, protection, pre-filled decisions, safe text."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from pipeline import paths
from pipeline.review import REVIEW_HEADERS
from pipeline.review.workbook import run_review_workbook

from .conftest import fill, headers, row_of

EXPECTED_HEADERS = [
    "segment_id", "site", "sector", "method", "participant", "wave", "text",
    "suggested_1", "score_1", "suggested_2", "score_2", "suggested_3", "score_3",
    "decision", "final_code_1", "final_code_2", "final_code_3", "coder", "comment",
]


@pytest.fixture
def workbook(project, config):
    run_review_workbook(config, project)
    return openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)


def test_headers_are_exact(workbook):
    assert REVIEW_HEADERS == EXPECTED_HEADERS
    assert [c.value for c in workbook["Review"][1]] == EXPECTED_HEADERS
    assert workbook.sheetnames[:3] == ["Review", "Codebook", "About"]
    assert workbook.active.title == "Review"


def test_one_row_per_codable_segment_without_interviewer(workbook):
    sheet = workbook["Review"]
    ids = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    assert sorted(ids) == sorted(["00123", "1234567890123456", "seg_a", "seg_b", "seg_c"])


def test_only_suggested_codes_fill_suggested_columns(workbook):
    sheet = workbook["Review"]
    cols = headers(sheet)
    r = row_of(sheet, "00123")
    assert sheet.cell(row=r, column=cols["suggested_1"]).value == "res_funding"
    assert sheet.cell(row=r, column=cols["score_1"]).value == pytest.approx(0.81)
    assert sheet.cell(row=r, column=cols["suggested_2"]).value == "res_staff"
    assert sheet.cell(row=r, column=cols["suggested_3"]).value is None  # 0.2: below threshold
    r = row_of(sheet, "seg_c")                                          # nothing above threshold
    assert sheet.cell(row=r, column=cols["suggested_1"]).value is None


def test_ids_round_trip_as_text(workbook):
    sheet = workbook["Review"]
    for segment_id in ("00123", "1234567890123456"):
        cell = sheet.cell(row=row_of(sheet, segment_id), column=1)
        assert cell.value == segment_id and cell.data_type == "s"


def test_formula_looking_text_is_stored_as_text(project, config):
    run_review_workbook(config, project)
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    cell = sheet.cell(row=row_of(sheet, "seg_c"), column=headers(sheet)["text"])
    assert cell.data_type == "s"
    assert cell.value.startswith("=HYPERLINK")
    # and no formula anywhere in the raw sheet XML
    import zipfile
    with zipfile.ZipFile(project / paths.REVIEW_WORKBOOK) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_code_dropdowns_use_a_range_on_the_hidden_codes_sheet(workbook):
    sheet = workbook["Review"]
    validations = sheet.data_validations.dataValidation
    code_validation = [v for v in validations if "Codes!" in (v.formula1 or "")]
    assert len(code_validation) == 1
    assert code_validation[0].formula1 == "Codes!$A$2:$A$5"
    cols = headers(sheet)
    ranges = str(code_validation[0].sqref)
    for name in ("final_code_1", "final_code_2", "final_code_3"):
        letter = openpyxl.utils.get_column_letter(cols[name])
        assert f"{letter}2:{letter}6" in ranges
    decision = [v for v in validations if v.formula1 == '"accept,reject,change"']
    assert len(decision) == 1
    codes = workbook["Codes"]
    assert codes.sheet_state == "hidden"
    assert [codes.cell(row=r, column=1).value for r in range(2, 6)] == [
        "res_funding", "res_staff", "rel_trust", "rel_comms"]


def test_many_codes_never_use_an_inline_list(project, config):
    # Long ids: an inline list would exceed Excel's 255-character cap.
    from .conftest import CODEBOOK, write_codebook
    import copy
    book = copy.deepcopy(CODEBOOK)
    book["themes"].append({"id": "many", "label": "Many", "codes": [
        {"id": f"a_rather_long_code_identifier_{i:02d}", "label": f"Code {i}", "definition": "x"}
        for i in range(40)]})
    write_codebook(project, book)
    run_review_workbook(config, project)
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    for validation in sheet.data_validations.dataValidation:
        assert len(validation.formula1) < 255
    assert any(v.formula1 == "Codes!$A$2:$A$45" for v in sheet.data_validations.dataValidation)


def test_protection_leaves_decision_cells_unlocked_and_allows_sort_and_filter(workbook):
    sheet = workbook["Review"]
    protection = sheet.protection
    assert protection.sheet is True
    assert protection.sort is False and protection.autoFilter is False  # False = allowed
    assert not protection.password
    cols = headers(sheet)
    editable = {"decision", "final_code_1", "final_code_2", "final_code_3", "coder", "comment"}
    for name, column in cols.items():
        locked = sheet.cell(row=2, column=column).protection.locked
        assert locked is (name not in editable), name


def test_presentation(workbook):
    sheet = workbook["Review"]
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == "A1:S6"
    cols = headers(sheet)
    assert sheet.cell(row=2, column=cols["text"]).alignment.wrap_text
    assert sheet.column_dimensions["G"].width == 80
    rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
    scales = [rule.colorScale for rule in rules if rule.type == "colorScale"]
    assert len(scales) == 3
    # from the sheet's lowest score to its highest: scores are not bounded by 1
    assert all([v.type for v in scale.cfvo] == ["min", "max"] for scale in scales)


def test_codebook_and_about_sheets(workbook):
    codebook = workbook["Codebook"]
    assert [c.value for c in codebook[1]] == ["code_id", "theme", "label", "definition", "include",
                                             "exclude"]
    assert codebook["A2"].value == "res_funding" and codebook["B2"].value == "Resources"
    about = " ".join(str(c.value) for c in workbook["About"]["A"] if c.value)
    assert "data/review/" in about and "reject" in about and "no password" in about.lower()
    assert workbook["Issued"].sheet_state == "hidden"


def test_decisions_are_prefilled(project, config):
    decisions = pd.DataFrame([
        {"segment_id": "seg_a", "coder": "alice", "decision": "accept", "code_id": "rel_trust",
         "comment": "clear", "source_file": "data/review/a.xlsx", "row": 4,
         "recorded_at": pd.Timestamp("2025-01-01", tz="UTC"), "orphaned": False},
        {"segment_id": "seg_b", "coder": "alice", "decision": "change", "code_id": "rel_trust",
         "comment": "", "source_file": "data/review/a.xlsx", "row": 5,
         "recorded_at": pd.Timestamp("2025-01-01", tz="UTC"), "orphaned": False},
        {"segment_id": "seg_b", "coder": "alice", "decision": "change", "code_id": "res_funding",
         "comment": "", "source_file": "data/review/a.xlsx", "row": 5,
         "recorded_at": pd.Timestamp("2025-01-01", tz="UTC"), "orphaned": False},
        # an older decision by another coder loses to alice's (most recent wins)
        {"segment_id": "seg_b", "coder": "bob", "decision": "reject", "code_id": "",
         "comment": "", "source_file": "data/review/b.xlsx", "row": 5,
         "recorded_at": pd.Timestamp("2024-01-01", tz="UTC"), "orphaned": False},
    ])
    decisions.to_parquet(project / paths.DECISIONS, index=False)
    run_review_workbook(config, project)
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    cols = headers(sheet)
    r = row_of(sheet, "seg_a")
    assert sheet.cell(row=r, column=cols["decision"]).value == "accept"
    assert sheet.cell(row=r, column=cols["final_code_1"]).value == "rel_trust"
    assert sheet.cell(row=r, column=cols["coder"]).value == "alice"
    assert sheet.cell(row=r, column=cols["comment"]).value == "clear"
    r = row_of(sheet, "seg_b")
    assert [sheet.cell(row=r, column=cols[f"final_code_{i}"]).value for i in (1, 2, 3)] == [
        "rel_trust", "res_funding", None]
    assert sheet.cell(row=r, column=cols["coder"]).value == "alice"
    # the hidden Issued sheet records every row's analyst cells as pre-filled
    issued = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Issued"]
    as_issued = {row[0]: row[1:] for row in issued.iter_rows(min_row=2, values_only=True)}
    assert [c.value for c in issued[1]] == ["issued_segment_id", "decision", "final_code_1",
                                           "final_code_2", "final_code_3", "coder", "comment"]
    assert as_issued["seg_a"] == ("accept", "rel_trust", None, None, "alice", "clear")
    assert as_issued["seg_b"] == ("change", "rel_trust", "res_funding", None, "alice", None)
    assert as_issued["00123"] == (None,) * 6


def test_texts_and_comments_are_pseudonymised(project, config):
    register = project / paths.PARTICIPANTS
    register.parent.mkdir(parents=True, exist_ok=True)
    register.write_text("participant_id,site,sector,organisation,role,name\n"
                        "P001,quillmere,voluntary,Org,Manager,Priya Chaudhry\n", encoding="utf-8")
    from .conftest import SEGMENTS, segments_frame
    rows = [("seg_a", "participant", "Priya Chaudhry told us the grant was late.")] + [
        s for s in SEGMENTS if s[0] != "seg_a"]
    segments_frame(rows).to_parquet(project / paths.SEGMENTS, index=False)
    pd.DataFrame([{"segment_id": "seg_a", "coder": "alice", "decision": "reject", "code_id": "",
                   "comment": "ask Priya", "source_file": "data/review/a.xlsx", "row": 2,
                   "recorded_at": pd.Timestamp("2025-01-01", tz="UTC"), "orphaned": False}]
                 ).to_parquet(project / paths.DECISIONS, index=False)
    run_review_workbook(config, project)
    workbook = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)
    sheet = workbook["Review"]
    r = row_of(sheet, "seg_a")
    text = sheet.cell(row=r, column=headers(sheet)["text"]).value
    comment = sheet.cell(row=r, column=headers(sheet)["comment"]).value
    assert "Priya" not in text and "Chaudhry" not in text and "grant was late" in text
    assert "Priya" not in comment
    for ws in workbook.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and "Chaudhry" in v for v in row)


def test_a_site_that_is_an_identifying_term_is_pseudonymised(project):
    from pipeline.config import validate_config

    run_review_workbook(validate_config({"privacy": {"identifying_terms": {"Quillmere": "[a market town]"}}}),
                        project)
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    sites = {sheet.cell(row=r, column=headers(sheet)["site"]).value for r in range(2, sheet.max_row + 1)}
    assert sites == {"[a market town]"}


def test_candidate_codes_sheet(project, config):
    from pipeline.atomic import write_csv
    from pipeline.discover import CANDIDATE_COLUMNS, CANDIDATE_SHEET, CANDIDATE_THEMES_SHEET

    run_review_workbook(config, project)  # before the discover stage has run: the sheet is there, empty
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)[CANDIDATE_SHEET]
    assert sheet.cell(row=1, column=1).value == "candidate_id" and sheet.cell(row=2, column=1).value is None

    register = project / paths.PARTICIPANTS
    register.parent.mkdir(parents=True, exist_ok=True)
    register.write_text("participant_id,site,sector,organisation,role,name\n"
                        "P001,quillmere,voluntary,Org,Manager,Priya Chaudhry\n", encoding="utf-8")
    candidate = {c: "" for c in CANDIDATE_COLUMNS} | {
        "candidate_id": "C01", "proposed_label": "Internet / Online / Phone", "size": 6,
        "exemplar_1": "=Priya Chaudhry cannot get online at home."}
    write_csv(project / paths.CANDIDATE_CODES_CSV, pd.DataFrame([candidate]))
    run_review_workbook(config, project)
    workbook = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)
    assert workbook.sheetnames[:4] == ["Review", "Codebook", "About", CANDIDATE_SHEET]
    sheet = workbook[CANDIDATE_SHEET]
    cols = headers(sheet)
    assert sheet.cell(row=2, column=cols["candidate_id"]).value == "C01"
    assert sheet.cell(row=2, column=cols["size"]).value == 6
    exemplar = sheet.cell(row=2, column=cols["exemplar_1"])
    assert exemplar.data_type == "s" and exemplar.value.startswith("=")  # text, never a formula
    assert "Priya" not in exemplar.value and "cannot get online" in exemplar.value
    assert [c.value for c in workbook[CANDIDATE_THEMES_SHEET]["A"]] == ["theme_id", "resources",
                                                                         "relations", "proposed"]
    about = " ".join(str(c.value) for c in workbook["About"]["A"] if c.value)
    assert "Candidate codes" in about and "codebook/proposed.yaml" in about


def test_a_workbook_edited_in_place_stops_the_next_run_instead_of_being_overwritten(project, config):
    # An analyst typed decisions into reports/review/coding_review.xlsx itself instead of a
    # copy in data/review/: re-writing it would lose them unseen.
    from pipeline.errors import InputError
    from pipeline.review.inbox import review_workbook_edited_in_place

    run_review_workbook(config, project)
    path = project / paths.REVIEW_WORKBOOK
    assert review_workbook_edited_in_place(project) is None
    run_review_workbook(config, project)          # re-written by the pipeline: still not edited
    assert review_workbook_edited_in_place(project) is None

    book = openpyxl.load_workbook(path)
    fill(book["Review"], "seg_a", decision="reject", coder="BZ")
    book.save(path)
    error = review_workbook_edited_in_place(project)
    assert isinstance(error, InputError)
    assert error.file == paths.REVIEW_WORKBOOK and paths.REVIEW_INBOX in error.hint
    with pytest.raises(InputError):
        run_review_workbook(config, project)
    sheet = openpyxl.load_workbook(path)["Review"]
    assert sheet.cell(row_of(sheet, "seg_a"), headers(sheet)["decision"]).value == "reject"   # kept

    (project / paths.REVIEW_INBOX).mkdir(parents=True)
    path.rename(project / paths.REVIEW_INBOX / "coding_review_bz.xlsx")   # what the error says to do
    run_review_workbook(config, project)
    assert review_workbook_edited_in_place(project) is None
