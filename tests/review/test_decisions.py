"""Reading decisions back from returned review workbooks."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline import paths
from pipeline.errors import InputError
from pipeline.review.coded import run_apply_decisions
from pipeline.review.decisions import read_audit_log, run_review_import
from pipeline.review.workbook import run_review_workbook
from pipeline.spreadsheet import set_cell

from .conftest import (
    CODEBOOK,
    SUGGESTIONS,
    fill,
    headers,
    row_of,
    save_copy,
    segments_frame,
    suggestions_frame,
    write_codebook,
)

T0 = time.time() - 10_000  # file modification times used to order decisions


@pytest.fixture
def issued(project, config) -> Path:
    run_review_workbook(config, project)
    return project / paths.REVIEW_WORKBOOK


def inbox(project: Path, name: str) -> Path:
    return project / paths.REVIEW_INBOX / name


def import_all(project, config):
    run_review_import(config, project)
    decisions = pd.read_parquet(project / paths.DECISIONS)
    conflicts = pd.read_csv(project / paths.REVIEW_CONFLICTS, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
    return decisions, conflicts


def codes_of(decisions, segment_id, coder=None):
    rows = decisions[decisions["segment_id"] == segment_id]
    if coder is not None:
        rows = rows[rows["coder"] == coder]
    return list(rows["code_id"])


def problems(conflicts):
    return {(row.problem, row.cell) for row in conflicts.itertuples()}


def test_accept_change_reject_semantics(project, config, issued):
    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "00123", decision="accept")
        fill(sheet, "1234567890123456", decision="change", final_code_1="rel_trust",
             final_code_2="staff_old", comment="two codes")
        fill(sheet, "seg_a", decision="reject")
        fill(sheet, "seg_b", decision="Accept", final_code_1="rel_comms")  # confirmation
        fill(sheet, "seg_c", decision="reject", final_code_1="rel_trust")  # treated as change

    save_copy(issued, inbox(project, "alice.xlsx"), edit)
    decisions, conflicts = import_all(project, config)
    assert list(decisions.columns) == ["segment_id", "coder", "decision", "code_id", "comment",
                                       "source_file", "row", "recorded_at", "orphaned", "shown_codes"]
    assert set(decisions["coder"]) == {"alice"}  # the file name when coder is empty
    assert codes_of(decisions, "00123") == ["res_funding"]
    assert codes_of(decisions, "1234567890123456") == ["rel_trust", "res_staff"]  # alias mapped
    assert codes_of(decisions, "seg_a") == [""]
    assert decisions.set_index("segment_id").loc["seg_a", "decision"] == "reject"
    assert codes_of(decisions, "seg_b") == ["rel_comms"]
    assert decisions.set_index("segment_id").loc["seg_b", "decision"] == "accept"
    assert codes_of(decisions, "seg_c") == ["rel_trust"]
    assert decisions.set_index("segment_id").loc["seg_c", "decision"] == "change"
    assert "reject with codes" in set(conflicts["problem"])
    assert decisions["source_file"].eq("data/review/alice.xlsx").all()
    assert not decisions["orphaned"].any()
    row = decisions[decisions["segment_id"] == "00123"]["row"].iloc[0]
    assert row == row_of(openpyxl.load_workbook(issued)["Review"], "00123")
    # what each row showed in suggested_1..3 (above the threshold), for the agreement measures
    shown = decisions.drop_duplicates("segment_id").set_index("segment_id")["shown_codes"]
    assert shown.to_dict() == {"00123": "res_funding;res_staff", "1234567890123456": "res_staff;res_funding",
                               "seg_a": "rel_trust", "seg_b": "rel_comms;rel_trust;res_funding", "seg_c": ""}


def test_accept_without_suggestion_and_change_without_codes_are_reported(project, config, issued):
    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "seg_c", decision="accept")   # seg_c has no suggestion above threshold
        fill(sheet, "seg_a", decision="change")
        fill(sheet, "seg_b", decision="maybe")
        fill(sheet, "00123", decision="accept")

    save_copy(issued, inbox(project, "alice.xlsx"), edit)
    decisions, conflicts = import_all(project, config)
    sheet = openpyxl.load_workbook(issued)["Review"]
    col = openpyxl.utils.get_column_letter(headers(sheet)["decision"])
    found = problems(conflicts)
    assert ("accept without a suggestion", f"Review!{col}{row_of(sheet, 'seg_c')}") in found
    assert ("change without codes", f"Review!{col}{row_of(sheet, 'seg_a')}") in found
    assert ("invalid decision", f"Review!{col}{row_of(sheet, 'seg_b')}") in found
    assert set(decisions["segment_id"]) == {"00123"}


def test_sorted_filtered_and_hidden_rows_match_by_segment_id(project, config, issued):
    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "00123", decision="accept", coder="alice")
        fill(sheet, "seg_a", decision="change", final_code_1="rel_comms", coder="alice")
        # sort: reverse the data rows
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        for r, values in enumerate(reversed(rows), start=2):
            for c, value in enumerate(values, start=1):
                sheet.cell(row=r, column=c).value = value
        # filter and hide
        sheet.auto_filter.add_filter_column(1, ["seg_a"])
        sheet.row_dimensions[row_of(sheet, "00123")].hidden = True
        sheet.row_dimensions[row_of(sheet, "seg_a")].hidden = True

    save_copy(issued, inbox(project, "alice.xlsx"), edit)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "00123") == ["res_funding"]
    assert codes_of(decisions, "seg_a") == ["rel_comms"]
    assert conflicts.empty


def test_a_file_with_two_decision_columns_is_reported_and_not_imported(project, config, issued):
    save_copy(issued, inbox(project, "bob.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="Bob"), T0)
    import_all(project, config)

    def edit(workbook):
        sheet = workbook["Review"]
        sheet.protection.sheet = False
        fill(sheet, "seg_a", decision="accept", coder="Bob")
        sheet.insert_cols(2)                                  # her own notes, headed like the real column
        sheet.cell(row=1, column=2).value = "Decision"
        sheet.cell(row=row_of(sheet, "seg_a"), column=2).value = "ok"

    save_copy(issued, inbox(project, "gina.xlsx"), edit, T0 + 100)
    decisions, conflicts = import_all(project, config)
    assert decisions.set_index("segment_id").loc["seg_a", "decision"] == "reject"   # Bob's stands
    rows = conflicts[conflicts["file"] == "data/review/gina.xlsx"]
    decision_column = openpyxl.utils.get_column_letter(
        headers(openpyxl.load_workbook(issued)["Review"])["decision"] + 1)
    assert list(rows["problem"]) == ["repeated column"] and list(rows["cell"]) == ["Review!B1"]
    assert f"(B1, {decision_column}1)" in rows.iloc[0]["detail"]


def test_each_problem_is_reported_with_its_cell_and_the_rest_imports(project, config, issued):
    issued_row = row_of(openpyxl.load_workbook(issued)["Review"], "1234567890123456")

    def edit(workbook):
        sheet = workbook["Review"]
        sheet.title = "My coding"                                   # renamed sheet
        sheet.protection.sheet = False
        sheet.insert_cols(3)                                         # inserted column
        sheet.cell(row=1, column=3).value = "my notes"
        sheet.delete_rows(row_of(sheet, "1234567890123456"))         # deleted row
        fill(sheet, "00123", decision="accept")                      # fine
        fill(sheet, "seg_a", decision="change", final_code_1="no_such_code")   # unknown code
        fill(sheet, "seg_b", decision='="accept"')                   # formula
        fill(sheet, "seg_c", decision="reject", coder="alice")       # merged cells
        cols = headers(sheet)
        r = row_of(sheet, "seg_c")
        sheet.merge_cells(start_row=r, start_column=cols["coder"], end_row=r,
                          end_column=cols["comment"])
        source, last = row_of(sheet, "00123"), sheet.max_row + 1    # duplicated ID
        for c in range(1, sheet.max_column + 1):
            sheet.cell(row=last, column=c).value = sheet.cell(row=source, column=c).value
        edited = sheet.max_row + 1                                   # edited ID
        sheet.cell(row=edited, column=1).value = "seg_zz"
        sheet.cell(row=edited, column=cols["decision"]).value = "reject"

    target = save_copy(issued, inbox(project, "alice.xlsx"), edit)
    sheet = openpyxl.load_workbook(target)["My coding"]
    letter = {name: openpyxl.utils.get_column_letter(c) for name, c in headers(sheet).items()}
    seg_c = row_of(sheet, "seg_c")
    duplicates = [r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == "00123"]

    decisions, conflicts = import_all(project, config)
    found = problems(conflicts)
    where = "'My coding'!"
    expected = {
        ("deleted row", f"{where}A{issued_row}"),
        ("unknown code", f"{where}{letter['final_code_1']}{row_of(sheet, 'seg_a')}"),
        ("formula", f"{where}{letter['decision']}{row_of(sheet, 'seg_b')}"),
        ("merged cells", f"{where}{letter['coder']}{seg_c}:{letter['comment']}{seg_c}"),
        ("duplicated segment_id", f"{where}A{duplicates[1]}"),
        ("unknown segment_id", f"{where}A{sheet.max_row}"),
    }
    assert found == expected, conflicts.to_string()
    assert set(conflicts["file"]) == {"data/review/alice.xlsx"}
    assert set(conflicts["sheet"]) == {"My coding"}
    # everything else is imported
    assert list(decisions["segment_id"]) == ["00123"]
    assert codes_of(decisions, "00123") == ["res_funding"]


def test_deleted_row_is_reported_with_its_issued_cell(project, config, issued):
    issued_row = row_of(openpyxl.load_workbook(issued)["Review"], "seg_b")

    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "seg_a", decision="accept")
        sheet.delete_rows(row_of(sheet, "seg_b"))

    save_copy(issued, inbox(project, "alice.xlsx"), edit)
    decisions, conflicts = import_all(project, config)
    deleted = conflicts[conflicts["problem"] == "deleted row"]
    assert list(deleted["segment_id"]) == ["seg_b"]
    assert list(deleted["cell"]) == [f"Review!A{issued_row}"]
    assert codes_of(decisions, "seg_a") == ["rel_trust"]


def test_two_coders_files(project, config, issued):
    save_copy(issued, inbox(project, "coding_alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder="alice"), T0)
    save_copy(issued, inbox(project, "coding_bob.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="change", final_code_1="rel_comms",
                              coder="bob"), T0 + 10)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a", "alice") == ["rel_trust"]
    assert codes_of(decisions, "seg_a", "bob") == ["rel_comms"]
    assert conflicts.empty


def test_a_coder_named_like_an_agreement_label_is_reported_and_the_rest_imported(project, config, issued):
    # "suggestion" and "(all coders)" label the agreement table's own rows; a coder of that
    # name (in any case or spacing, or from the file name) would be mixed up with them.
    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "seg_a", decision="accept", coder="Suggestion ")
        fill(sheet, "seg_b", decision="accept", coder="(All  coders)")
        fill(sheet, "00123", decision="accept", coder="alice")
        fill(sheet, "1234567890123456", decision="accept")        # coder from the file name

    save_copy(issued, inbox(project, "suggestion.xlsx"), edit, T0)
    decisions, conflicts = import_all(project, config)
    assert set(decisions["coder"]) == {"alice"} and codes_of(decisions, "00123") == ["res_funding"]
    sheet = openpyxl.load_workbook(issued)["Review"]
    coder_column = openpyxl.utils.get_column_letter(headers(sheet)["coder"])
    reserved = conflicts[conflicts["problem"] == "reserved coder name"]
    assert dict(zip(reserved["segment_id"], reserved["cell"])) == {
        segment_id: f"Review!{coder_column}{row_of(sheet, segment_id)}"
        for segment_id in ("seg_a", "seg_b", "1234567890123456")}
    assert all("write the analyst's name in the coder cell" in d for d in reserved["detail"])
    assert "rename the file" in reserved.set_index("segment_id").at["1234567890123456", "detail"]


def test_same_coder_in_two_files_most_recent_wins_and_is_audited(project, config, issued):
    save_copy(issued, inbox(project, "alice_v1.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder="alice"), T0)
    save_copy(issued, inbox(project, "alice_v2.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="alice"), T0 + 10)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a", "alice") == [""]
    audit = read_audit_log(project / paths.DECISIONS_AUDIT)
    superseded = [r for r in audit if r["event"] == "superseded"]
    assert len(superseded) == 1 and superseded[0]["source_file"] == "data/review/alice_v1.xlsx"
    # reported as an older copy would be when it arrives later, not only in the audit log
    (older,) = conflicts[conflicts["problem"] == "older decision ignored"].itertuples()
    assert older.file == "data/review/alice_v1.xlsx" and "data/review/alice_v2.xlsx" in older.detail
    # importing again adds nothing to the audit log
    import_all(project, config)
    assert len(read_audit_log(project / paths.DECISIONS_AUDIT)) == len(audit)


def test_changes_are_audited_old_to_new(project, config, issued):
    target = inbox(project, "alice.xlsx")
    save_copy(issued, target, lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    save_copy(target, target, lambda wb: fill(wb["Review"], "seg_a", decision="change",
                                              final_code_1="rel_comms", comment="on reflection"),
              T0 + 100)
    decisions, _ = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_comms"]
    audit = read_audit_log(project / paths.DECISIONS_AUDIT)
    assert [r["event"] for r in audit] == ["new", "changed"]
    change = audit[-1]
    assert (change["coder"], change["source_file"]) == ("alice", "data/review/alice.xlsx")
    assert (change["old_decision"], change["old_codes"]) == ("accept", "rel_trust")
    assert (change["new_decision"], change["new_codes"], change["new_comment"]) == (
        "change", "rel_comms", "on reflection")
    assert change["logged_at"] and change["recorded_at"]


def test_decisions_survive_a_removed_file_and_a_deleted_parquet(project, config, issued):
    target = inbox(project, "alice.xlsx")
    save_copy(issued, target, lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    save_copy(issued, inbox(project, "bob.xlsx"),
              lambda wb: fill(wb["Review"], "seg_b", decision="reject"), T0)
    first, _ = import_all(project, config)
    target.unlink()                                   # the analyst's file disappears
    (project / paths.DECISIONS).unlink()              # Snakemake deletes outputs before a re-run
    second, _ = import_all(project, config)
    # Every decision stands, and what alice's removed file showed is still known (the acceptance
    # rate and the suggestions' kappa do not move when an analyst tidies data/review/ up).
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))
    assert second.set_index("coder")["shown_codes"].notna().to_dict() == {"alice": True, "bob": True}


def test_cleared_decision_still_stands_and_is_reported(project, config, issued):
    target = inbox(project, "alice.xlsx")
    save_copy(issued, target, lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    save_copy(target, target, lambda wb: fill(wb["Review"], "seg_a", decision=None), T0 + 100)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_trust"]
    assert "cleared decision" in set(conflicts["problem"])


def test_an_untouched_prefilled_copy_does_not_revert_a_newer_decision(project, config, issued):
    save_copy(issued, inbox(project, "bob.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="Bob"), T0)
    import_all(project, config)
    run_review_workbook(config, project)
    reissued = project / paths.REVIEW_WORKBOOK
    # Bob changes his mind in one copy; Carol codes another segment in a copy saved later,
    # leaving Bob's pre-filled row as it was.
    save_copy(reissued, inbox(project, "bob2.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0 + 100)
    save_copy(reissued, inbox(project, "carol.xlsx"),
              lambda wb: fill(wb["Review"], "seg_b", decision="reject", coder="Carol"), T0 + 200)
    decisions, conflicts = import_all(project, config)
    bob = decisions[(decisions["segment_id"] == "seg_a") & (decisions["coder"] == "Bob")]
    assert list(bob["decision"]) == ["accept"] and list(bob["code_id"]) == ["rel_trust"]
    assert list(bob["source_file"]) == ["data/review/bob2.xlsx"]
    assert set(decisions["coder"]) == {"Bob", "Carol"}
    assert conflicts.empty
    log = read_audit_log(project / paths.DECISIONS_AUDIT)
    assert [(r["event"], r["coder"], r["new_decision"], r["source_file"]) for r in log
            if r["segment_id"] == "seg_a" and r["event"] != "superseded"] == [
        ("new", "Bob", "reject", "data/review/bob.xlsx"),
        ("changed", "Bob", "accept", "data/review/bob2.xlsx")]


def test_an_accept_keeps_its_code_after_the_suggestion_moves(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    moved = dict(SUGGESTIONS, seg_a=[("rel_comms", 0.9), ("rel_trust", 0.8), ("res_staff", 0.1)])
    suggestions_frame(moved).to_parquet(project / paths.SUGGESTIONS, index=False)
    run_review_workbook(config, project)
    reissued = project / paths.REVIEW_WORKBOOK
    sheet = openpyxl.load_workbook(reissued)["Review"]
    assert sheet.cell(row=row_of(sheet, "seg_a"), column=headers(sheet)["suggested_1"]).value == "rel_comms"
    save_copy(reissued, inbox(project, "alice_copy.xlsx"), lambda wb: None, T0 + 100)
    save_copy(reissued, inbox(project, "alice_note.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", comment="checked again"), T0 + 200)
    decisions, conflicts = import_all(project, config)
    row = decisions[decisions["segment_id"] == "seg_a"]
    assert list(row[["decision", "code_id", "comment"]].itertuples(index=False, name=None)) == [
        ("accept", "rel_trust", "checked again")]
    assert conflicts.empty


def test_a_prefilled_decision_cleared_in_another_file_is_reported(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    run_review_workbook(config, project)
    reissued = project / paths.REVIEW_WORKBOOK
    save_copy(reissued, inbox(project, "second_pass.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision=None, final_code_1=None), T0 + 100)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a", "alice") == ["rel_trust"]
    cleared = conflicts[conflicts["problem"] == "cleared decision"]
    assert list(cleared["file"]) == ["data/review/second_pass.xlsx"]
    assert list(cleared["segment_id"]) == ["seg_a"] and "'alice'" in cleared["detail"].iloc[0]


def test_an_older_copy_does_not_replace_a_newer_decision(project, config, issued):
    save_copy(issued, inbox(project, "alice_new.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject"), T0 + 100)
    import_all(project, config)
    inbox(project, "alice_new.xlsx").unlink()
    save_copy(issued, inbox(project, "old.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder="alice_new"), T0)
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == [""]
    assert "older decision ignored" in set(conflicts["problem"])


def test_orphaned_decision_is_kept(project, config, issued, caplog):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    from .conftest import SEGMENTS
    segments_frame([s for s in SEGMENTS if s[0] != "seg_a"]).to_parquet(project / paths.SEGMENTS)
    decisions, conflicts = import_all(project, config)
    row = decisions[decisions["segment_id"] == "seg_a"]
    assert list(row["code_id"]) == ["rel_trust"] and row["orphaned"].all()
    [detail] = conflicts.loc[conflicts["problem"] == "orphaned decision", "detail"]
    assert "putting it back under its old name re-attaches the decision" in detail
    assert "recorded from this cell on " in detail   # the file may have been saved over since
    assert "1 segment(s) with decisions are no longer in the segments table" in caplog.text
    # the file still lists seg_a: it is on its Issued sheet, so it is not an "edited" ID
    assert "unknown segment_id" not in set(conflicts["problem"])
    # back in the segments table (the file's old name restored), it is attached again
    segments_frame(SEGMENTS).to_parquet(project / paths.SEGMENTS)
    decisions, conflicts = import_all(project, config)
    assert not decisions.loc[decisions["segment_id"] == "seg_a", "orphaned"].any()
    assert "orphaned decision" not in set(conflicts["problem"])


def test_new_fieldwork_keeps_earlier_decisions(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    import_all(project, config)
    from .conftest import SEGMENTS
    segments_frame(SEGMENTS + [("seg_new", "participant", "A new interview.")]).to_parquet(
        project / paths.SEGMENTS)
    (project / paths.DECISIONS).unlink()
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_trust"] and not decisions["orphaned"].any()
    assert conflicts.empty  # seg_new was not in the workbook as issued: not a deleted row


def test_codebook_alias_maps_a_renamed_code_and_removed_codes_are_reported(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"), lambda wb: (
        fill(wb["Review"], "seg_a", decision="accept"),
        fill(wb["Review"], "seg_b", decision="change", final_code_1="rel_comms")), T0)
    import_all(project, config)
    book = copy.deepcopy(CODEBOOK)
    relations = book["themes"][1]
    relations["codes"] = [{"id": "rel_confidence", "label": "Confidence", "definition": "Trust.",
                           "aliases": ["rel_trust"]}]          # rel_trust renamed; rel_comms removed
    write_codebook(project, book)
    logged = len(read_audit_log(project / paths.DECISIONS_AUDIT))
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_confidence"]
    assert codes_of(decisions, "seg_b") == ["rel_comms"]      # kept as recorded
    # renaming a code is not a decision alice made: nothing new in the audit log
    assert len(read_audit_log(project / paths.DECISIONS_AUDIT)) == logged
    removed = conflicts[conflicts["problem"] == "removed code"]
    assert list(removed["segment_id"]) == ["seg_b"]
    assert set(removed["cell"]) == {f"Review!A{row_of(openpyxl.load_workbook(issued)['Review'], 'seg_b')}"}
    # the file itself still says rel_comms in final_code_1: reported as an unknown code there,
    # in words that do not contradict the 'removed code' line (the recorded decision is kept)
    [unknown] = conflicts.loc[conflicts["problem"] == "unknown code", "detail"]
    assert "this row was not imported (a decision recorded earlier for the segment still stands)" in unknown
    assert "with none of its codes left it no longer codes the segment: another coder's" in removed.iloc[0]["detail"]
    # seg_b's decision has no code left: it counts its best suggestion still in the codebook (rel_trust,
    # now rel_confidence) and is offered for review with nothing pre-filled; seg_a's decision stands.
    run_apply_decisions(config, project)
    coded = pd.read_parquet(project / paths.CODED_SEGMENTS).set_index("segment_id")
    assert (coded.loc["seg_b", "code_id"], coded.loc["seg_b", "status"]) == ("rel_confidence", "suggested")
    assert (coded.loc["seg_a", "code_id"], coded.loc["seg_a", "status"]) == ("rel_confidence", "accepted")
    run_review_workbook(config, project)
    sheet = openpyxl.load_workbook(project / paths.REVIEW_WORKBOOK)["Review"]
    column = headers(sheet)
    assert sheet.cell(row_of(sheet, "seg_b"), column["decision"]).value in (None, "")
    assert sheet.cell(row_of(sheet, "seg_a"), column["decision"]).value == "accept"


def test_input_files_are_never_modified(project, config, issued):
    target = save_copy(issued, inbox(project, "alice.xlsx"),
                       lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    mtime = target.stat().st_mtime_ns
    import_all(project, config)
    import_all(project, config)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert target.stat().st_mtime_ns == mtime


def test_lock_files_are_ignored_and_bad_files_stop_or_skip(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    inbox(project, "~$alice.xlsx").write_bytes(b"lock")
    decisions, conflicts = import_all(project, config)
    assert conflicts.empty
    inbox(project, "broken.xlsx").write_bytes(b"this is not a spreadsheet")
    with pytest.raises(InputError, match="broken.xlsx"):
        run_review_import(config, project)
    config["review"]["on_bad_file"] = "skip"
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_trust"]
    assert list(conflicts["problem"]) == ["unreadable file"]


def test_no_review_files_gives_empty_outputs(project, config):
    decisions, conflicts = import_all(project, config)
    assert decisions.empty and conflicts.empty
    assert list(conflicts.columns) == ["file", "sheet", "cell", "segment_id", "problem", "detail"]


def test_formula_looking_comment_survives_the_audit_log(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", comment="'quoted"), T0)
    import_all(project, config)
    (project / paths.DECISIONS).unlink()
    decisions, _ = import_all(project, config)
    assert decisions.set_index("segment_id").loc["seg_a", "comment"] == "'quoted"
    assert len(read_audit_log(project / paths.DECISIONS_AUDIT)) == 1


@pytest.mark.skipif(shutil.which("libreoffice") is None,
                    reason="LibreOffice (libreoffice on PATH) is needed to re-save a workbook")
def test_libreoffice_round_trip(project, config, issued, tmp_path):
    def edit(workbook):
        sheet = workbook["Review"]
        fill(sheet, "00123", decision="accept", coder="alice")
        fill(sheet, "1234567890123456", decision="change", final_code_1="rel_trust",
             final_code_2="res_funding", coder="alice")
        # text typed with a leading apostrophe: stored as text, not as a formula
        set_cell(sheet.cell(row=row_of(sheet, "1234567890123456"), column=headers(sheet)["comment"]),
                 "=not a formula")
        fill(sheet, "seg_a", decision="reject", coder="alice")

    filled = save_copy(issued, tmp_path / "filled" / "alice_lo.xlsx", edit)
    out = tmp_path / "out"
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        ["libreoffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "xlsx", "--outdir", str(out), str(filled)],
        capture_output=True, text=True, timeout=180)
    resaved = out / "alice_lo.xlsx"
    assert resaved.exists(), result.stdout + result.stderr
    inbox(project, "alice_lo.xlsx").parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(resaved, inbox(project, "alice_lo.xlsx"))
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "00123") == ["res_funding"]
    assert codes_of(decisions, "1234567890123456") == ["rel_trust", "res_funding"]
    assert decisions.set_index("segment_id").loc["seg_a", "decision"] == "reject"
    assert decisions[decisions["segment_id"] == "1234567890123456"]["comment"].iloc[0] == "=not a formula"
    assert conflicts.empty, conflicts.to_string()


def test_coder_names_differing_in_case_are_one_coder(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"), lambda wb: (
        fill(wb["Review"], "seg_a", decision="accept"),                      # coder from file name
        fill(wb["Review"], "seg_b", decision="reject", coder=" Alice ")), T0)
    decisions, _ = import_all(project, config)
    assert set(decisions["coder"]) == {"alice"}


def test_a_lost_audit_log_is_rebuilt_from_decisions_parquet(project, config, issued):
    target = save_copy(issued, inbox(project, "alice.xlsx"),
                       lambda wb: fill(wb["Review"], "seg_a", decision="accept"), T0)
    first, _ = import_all(project, config)
    (project / paths.DECISIONS_AUDIT).unlink()
    target.unlink()
    second, _ = import_all(project, config)
    first = first.drop(columns="shown_codes")     # known only while the workbook is there
    pd.testing.assert_frame_equal(first, second.drop(columns="shown_codes"))
    audit = read_audit_log(project / paths.DECISIONS_AUDIT)
    assert [r["event"] for r in audit] == ["restored"]
    (project / paths.DECISIONS).unlink()           # and now the log alone suffices
    third, _ = import_all(project, config)
    pd.testing.assert_frame_equal(first, third.drop(columns="shown_codes"))


def test_re_saving_an_older_workbook_does_not_undo_a_newer_decision(project, config, issued):
    ann = inbox(project, "ann.xlsx")
    save_copy(issued, ann, lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder="Ann"), T0)
    import_all(project, config)
    save_copy(issued, inbox(project, "ann_r2.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="Ann"), T0 + 100)
    import_all(project, config)
    # Ann opens her first file again for another row and saves it: seg_a's row is as it was.
    save_copy(ann, ann, lambda wb: fill(wb["Review"], "seg_b", decision="reject", coder="Ann"), T0 + 200)
    for _ in range(2):   # and conflicts.csv says the same on every later run
        decisions, conflicts = import_all(project, config)
        assert codes_of(decisions, "seg_a", "Ann") == [""]            # the reject stands
        assert decisions.set_index("segment_id").loc["seg_b", "decision"] == "reject"
        assert list(conflicts.loc[conflicts["problem"] == "re-saved earlier decision", "file"]) == [
            "data/review/ann.xlsx"]


def test_a_row_changed_back_in_the_same_file_is_a_new_decision(project, config, issued):
    alice = inbox(project, "alice.xlsx")
    for step, decision in enumerate(["accept", "reject", "accept"]):
        save_copy(issued, alice, lambda wb: fill(wb["Review"], "seg_a", decision=decision), T0 + 100 * step)
        decisions, conflicts = import_all(project, config)
        assert decisions.set_index("segment_id").loc["seg_a", "decision"] == decision
        assert conflicts.empty, conflicts.to_string()
    audit = read_audit_log(project / paths.DECISIONS_AUDIT)
    assert [(r["event"], r["old_decision"], r["new_decision"]) for r in audit] == [
        ("new", "", "accept"), ("changed", "accept", "reject"), ("changed", "reject", "accept")]


def test_a_workbook_without_its_issued_sheet_does_not_revert_prefilled_decisions(project, config, issued):
    save_copy(issued, inbox(project, "bob.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="Bob"), T0)
    import_all(project, config)
    run_review_workbook(config, project)              # seg_a is issued pre-filled: Bob's reject
    round_two = shutil.copy(project / paths.REVIEW_WORKBOOK, project / "round_two.xlsx")
    save_copy(round_two, inbox(project, "bob_round2.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="change", final_code_1="rel_trust"), T0 + 100)
    import_all(project, config)

    def edit(workbook):                               # Jack deletes the Issued sheet and codes one row
        del workbook["Issued"]
        fill(workbook["Review"], "seg_b", decision="accept", coder="Jack")

    save_copy(round_two, inbox(project, "jack.xlsx"), edit, T0 + 200)   # seg_a: Bob's reject, as issued
    decisions, conflicts = import_all(project, config)
    by_segment = decisions.set_index("segment_id")
    assert codes_of(decisions, "seg_a", "Bob") == ["rel_trust"]          # Bob's change stands
    assert by_segment.loc["seg_b", "coder"] == "Jack" and by_segment.loc["seg_b", "decision"] == "accept"
    jack = conflicts[conflicts["file"] == "data/review/jack.xlsx"]
    assert list(jack["problem"]) == ["no Issued sheet", "earlier decision repeated"]
    assert list(jack["segment_id"]) == ["", "seg_a"]
    audit = read_audit_log(project / paths.DECISIONS_AUDIT)
    assert [(r["event"], r["coder"]) for r in audit if r["source_file"] == "data/review/jack.xlsx"] == [
        ("new", "Jack")]


def test_a_copy_of_a_workbook_is_the_same_coder(project, config, issued):
    alice = save_copy(issued, inbox(project, "coding_review_alice.xlsx"), _accept("seg_a"), T0)
    import_all(project, config)
    shutil.copy(alice, inbox(project, "coding_review_alice (1).xlsx"))   # a browser's second download
    decisions, conflicts = import_all(project, config)
    # one coder, "alice" (not "coding_review_alice", nor a second coder "... (1)" to agree with her)
    assert list(decisions["coder"]) == ["alice"] and conflicts.empty, conflicts.to_string()


def test_a_file_recorded_under_its_whole_name_keeps_that_coder(project, config, issued):
    # Before the coding_review_ prefix was dropped, blank coder cells gave the whole file name.
    name = "coding_review_alice"
    target = save_copy(issued, inbox(project, f"{name}.xlsx"),
                       lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder=name), T0)
    import_all(project, config)
    save_copy(target, target, _accept("seg_b"), T0 + 100)
    decisions, _ = import_all(project, config)
    assert set(decisions["coder"]) == {name}


def saved_inside(path: Path, when: float) -> Path:
    """Set the time a workbook says it was saved (openpyxl writes the time of saving) and its mtime."""
    stamp = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                        rb"\g<1>" + stamp + rb"\g<2>", parts["docProps/core.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    os.utime(path, (when, when))
    return path


def test_a_fresh_copy_of_an_older_save_does_not_replace_a_newer_decision(project, config, issued):
    alice = inbox(project, "alice.xlsx")
    saved_inside(save_copy(issued, alice, lambda wb: fill(wb["Review"], "seg_a", decision="change",
                                                          final_code_1="rel_trust")), T0)
    import_all(project, config)
    stale = alice.read_bytes()
    saved_inside(save_copy(issued, alice, _accept("seg_a")), T0 + 100)
    import_all(project, config)
    inbox(project, "alice (1).xlsx").write_bytes(stale)   # downloaded again today: a new mtime
    decisions, conflicts = import_all(project, config)
    assert decisions.set_index("segment_id").loc["seg_a", "decision"] == "accept"
    assert list(conflicts.loc[conflicts["problem"] == "older decision ignored", "file"]) == [
        "data/review/alice (1).xlsx"]


def test_an_older_copy_is_reported_on_every_run(project, config, issued):
    save_copy(issued, inbox(project, "new.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject", coder="Ann"), T0 + 100)
    import_all(project, config)
    inbox(project, "new.xlsx").unlink()   # (with it present, the older file is simply superseded)
    save_copy(issued, inbox(project, "old.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="accept", coder="Ann"), T0)
    for _ in range(2):
        decisions, conflicts = import_all(project, config)
        assert codes_of(decisions, "seg_a", "Ann") == [""]
        assert list(conflicts.loc[conflicts["problem"] == "older decision ignored", "file"]) == [
            "data/review/old.xlsx"]


def _accept(segment_id):
    return lambda wb: fill(wb["Review"], segment_id, decision="accept")


def test_xlsx_in_any_case_and_in_subfolders_is_imported(project, config, issued):
    save_copy(issued, inbox(project, "BOB.XLSX"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "round2/carol.xlsx"), _accept("seg_b"), T0)
    # Lock files and hidden files and folders are still not workbooks (reading them would fail).
    inbox(project, "round2/~$carol.xlsx").write_bytes(b"lock")
    inbox(project, ".~lock.BOB.XLSX#").write_bytes(b"lock")
    (project / paths.REVIEW_INBOX / ".backup").mkdir()
    inbox(project, ".backup/old.xlsx").write_bytes(b"not a workbook")
    decisions, conflicts = import_all(project, config)
    assert conflicts.empty, conflicts.to_string()
    by_segment = decisions.set_index("segment_id")
    assert by_segment.loc["seg_a", "coder"] == "BOB" and by_segment.loc["seg_b", "coder"] == "carol"
    assert by_segment.loc["seg_b", "source_file"] == "data/review/round2/carol.xlsx"


OTHER_FORMATS = ["dave.xlsm", "erin.xls", "frank.csv", "round2/gina.ods", "hal.numbers"]


def test_spreadsheets_in_other_formats_stop_the_import_listing_every_one(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "dave.xlsm"), _accept("seg_b"), T0)  # an .xlsx renamed
    for name in OTHER_FORMATS[1:]:
        inbox(project, name).parent.mkdir(parents=True, exist_ok=True)
        inbox(project, name).write_bytes(b"segment_id,decision\nseg_c,accept\n")
    inbox(project, "broken.xlsx").write_bytes(b"this is not a spreadsheet")
    inbox(project, "notes.txt").write_text("not a spreadsheet: left alone", encoding="utf-8")
    with pytest.raises(InputError) as error:
        run_review_import(config, project)
    listed = {problem.file: problem for problem in error.value.problems}
    # One error lists them all, with the .xlsx that cannot be read.
    assert set(listed) == {f"data/review/{name}" for name in OTHER_FORMATS} | {"data/review/broken.xlsx"}
    for name in OTHER_FORMATS:
        assert "save it as .xlsx" in listed[f"data/review/{name}"].hint
    assert not (project / paths.DECISIONS).exists()


def test_spreadsheets_in_other_formats_are_listed_in_conflicts_when_skipped(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "dave.xlsm"), _accept("seg_b"), T0)
    inbox(project, "round2").mkdir()
    inbox(project, "round2/erin.xls").write_bytes(b"\xd0\xcf\x11\xe0legacy")
    config["review"]["on_bad_file"] = "skip"
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_trust"]
    assert codes_of(decisions, "seg_b") == []  # dave's decision is not imported, but reported
    reported = conflicts.set_index("file")
    assert set(reported.index) == {"data/review/dave.xlsm", "data/review/round2/erin.xls"}
    assert set(reported["problem"]) == {"unreadable file"}
    assert all("save it as .xlsx" in detail for detail in reported["detail"])


def test_snakemake_inputs_are_the_files_the_import_reads(project, config, issued):
    from tests.conftest import run_snakemake

    save_copy(issued, inbox(project, "BOB.XLSX"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "round2/carol.xlsx"), _accept("seg_b"), T0)
    inbox(project, "dave.xlsm").write_bytes(b"x")
    inbox(project, "~$BOB.XLSX").write_bytes(b"lock")
    result = run_snakemake(project, "--dry-run", "--forceall", "review_import")
    listed = next(line for line in result.stdout.splitlines() if line.strip().startswith("input:"))
    inputs = {name.strip() for name in listed.split(":", 1)[1].split(",")}
    review_inputs = {name for name in inputs if name.startswith(paths.REVIEW_INBOX)}
    assert review_inputs == {"data/review/BOB.XLSX", "data/review/round2/carol.xlsx", "data/review/dave.xlsm"}
    from pipeline.review.inbox import review_inbox

    workbooks, unusable = review_inbox(project)
    assert review_inputs == {p.relative_to(project).as_posix() for p in workbooks + unusable}


def test_a_comment_without_a_decision_is_reported_not_dropped(project, config, issued):
    save_copy(issued, inbox(project, "alice.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", comment="Possible new code: housing damp"), T0)
    decisions, conflicts = import_all(project, config)
    assert decisions.empty
    (row,) = conflicts[conflicts["problem"] == "comment without decision"].itertuples()
    assert row.segment_id == "seg_a" and "'Possible new code: housing damp'" in row.detail
    assert row.cell == f"Review!{headers_cell(issued, 'comment', 'seg_a')}"


def headers_cell(path, header, segment_id):
    """The cell of ``header`` on ``segment_id``'s row of the issued workbook."""
    sheet = openpyxl.load_workbook(path)["Review"]
    column = headers(sheet)[header]
    return sheet.cell(row=row_of(sheet, segment_id), column=column).coordinate


def test_unrenamed_workbooks_in_analysts_folders_are_their_coders(project, config, issued):
    save_copy(issued, inbox(project, "alice/coding_review.xlsx"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "bob/coding_review.xlsx"),
              lambda wb: fill(wb["Review"], "seg_a", decision="reject"), T0 + 10)
    decisions, conflicts = import_all(project, config)
    assert sorted(decisions["coder"]) == ["alice", "bob"] and conflicts.empty, conflicts.to_string()


def test_a_file_name_that_names_nobody_is_reported(project, config, issued):
    save_copy(issued, inbox(project, "coding_review.xlsx"), _accept("seg_a"), T0)
    save_copy(issued, inbox(project, "coding_review (1).xlsx"), _accept("seg_b"), T0)
    decisions, conflicts = import_all(project, config)
    assert set(decisions["coder"]) == {"coding_review"}   # imported, as before
    unnamed = conflicts[conflicts["problem"] == "no coder name"]
    assert sorted(unnamed["file"]) == ["data/review/coding_review (1).xlsx", "data/review/coding_review.xlsx"]
    assert all("write your name in the coder column" in d for d in unnamed["detail"])


def test_a_renamed_workbook_is_reported_as_a_copy_of_its_coder(project, config, issued):
    """Renamed, a file without coder cells would be a second coder agreeing perfectly with the first."""
    def three(wb):
        for segment_id, decision in (("seg_a", "accept"), ("seg_b", "accept"), ("seg_c", "reject")):
            fill(wb["Review"], segment_id, decision=decision, comment=f"bob on {segment_id}")

    bob = save_copy(issued, inbox(project, "coding_review_bob (1).xlsx"), three, T0)
    import_all(project, config)
    bob.rename(inbox(project, "bob_round1.xlsx"))
    decisions, conflicts = import_all(project, config)
    (row,) = conflicts[conflicts["problem"] == "copy of another coder"].itertuples()
    assert row.file == "data/review/bob_round1.xlsx"
    assert "the 3 decisions of 'bob_round1'" in row.detail and "write 'bob' in its coder column" in row.detail
    # an independent second coder who happens to agree on fewer segments is not reported
    save_copy(issued, inbox(project, "carol.xlsx"), _accept("seg_a"), T0 + 10)
    _, conflicts = import_all(project, config)
    assert list(conflicts.loc[conflicts["problem"] == "copy of another coder", "file"]) == [
        "data/review/bob_round1.xlsx"]
    # with the original back beside its copy neither is called the other's renamed copy
    shutil.copy2(inbox(project, "bob_round1.xlsx"), bob)
    _, conflicts = import_all(project, config)
    assert "copy of another coder" not in set(conflicts["problem"])


def test_a_file_edited_and_put_back_with_an_older_date_says_how_to_make_it_count(project, config, issued):
    alice = save_copy(issued, inbox(project, "alice.xlsx"), _accept("seg_a"), T0 + 100)
    import_all(project, config)
    save_copy(alice, alice, lambda wb: fill(wb["Review"], "seg_a", decision="reject"), T0)   # dated earlier
    decisions, conflicts = import_all(project, config)
    assert codes_of(decisions, "seg_a") == ["rel_trust"]   # taken for an older copy: the decision stands
    (row,) = conflicts[conflicts["problem"] == "older decision ignored"].itertuples()
    assert "recorded from this file when it was dated" in row.detail and "save it again" in row.detail
    save_copy(alice, alice, lambda wb: None, T0 + 200)       # opened and saved again
    decisions, _ = import_all(project, config)
    assert codes_of(decisions, "seg_a") == [""]
