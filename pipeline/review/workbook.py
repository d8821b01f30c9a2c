"""The analyst review workbook, ``reports/review/coding_review.xlsx``.

One row per codable segment (every segment except interviewer turns, plus any
segment that already has a decision) on the ``Review`` sheet:

* ``segment_id`` (locked) and the segment's ``site``, ``sector`` (its display
  label), ``method``, ``participant`` (the register ID), ``wave`` and ``text``,
  pseudonymised like everything under ``reports/``;
* up to three suggested codes above the confidence threshold
  (``suggested_1`` … ``suggested_3``) with their scores ``score_1`` …
  ``score_3`` (shaded from the sheet's lowest score to its highest: a score
  adds the similarity to the classifiers' probabilities, so it can exceed 1);
* the analyst's ``decision`` (a dropdown of ``accept``, ``reject``,
  ``change``), ``final_code_1`` … ``final_code_3`` (dropdowns of code ids drawn
  from a range on the hidden ``Codes`` sheet, because Excel caps an inline list
  at 255 characters), ``coder`` and ``comment``.

Only the decision, final code, coder and comment cells are unlocked; the sheet
is protected without a password, with filtering, sorting, hiding and resizing
allowed. Decisions already made are pre-filled. A ``Codebook`` sheet gives each
code's definition and cues, an ``About`` sheet says how to use the workbook,
and a hidden ``Issued`` sheet lists the segment IDs as issued, with the
analyst cells as pre-filled, so that the import can tell a deleted row from one
that was never there, and a pre-filled row left as it was from a new decision.

A ``Candidate codes`` sheet lists the candidate new codes of the discover
stage (``reports/tables/candidate_codes.csv``), laid out by
:func:`pipeline.discover.write_candidate_sheet`, with ``promote``, ``label``,
``definition`` and ``theme`` columns; the discover stage reads promotions from
it in the analysts' saved copies, and the review import ignores it (it has no
``segment_id`` and ``decision`` headers).

Every cell goes through :func:`pipeline.spreadsheet.set_cell`, so IDs stay text
(``00123`` keeps its zeros, 16-digit IDs are not rounded) and text that looks
like a formula is stored as text. The Review sheet's rows after the first are
the exception in form only: for speed they are written as XML directly (see
:func:`_add_review_rows`), with the same cleaning and exactly the XML openpyxl
writes for the first row.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path
from typing import Callable, Iterator
from xml.sax.saxutils import escape

import pandas as pd
from openpyxl import Workbook
from openpyxl.compat import safe_string
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.protection import SheetProtection

from pipeline import paths
from pipeline.atomic import atomic_path, write_json
from pipeline.codebook import Codebook, project_codebook
from pipeline.config import sector_label
from pipeline.discover import (
    CANDIDATE_COLUMNS,
    CANDIDATE_INSTRUCTIONS,
    PROPOSED_THEME_ID,
    read_candidate_table,
    write_candidate_sheet,
)
from pipeline.model_files import file_sha256
from pipeline.review import (
    ABOUT_SHEET,
    CODEBOOK_SHEET,
    CODES_SHEET,
    DECISION_VALUES,
    EDITABLE_HEADERS,
    FINAL_HEADERS,
    ISSUED_HEADER,
    ISSUED_SHEET,
    N_FINAL,
    N_SUGGESTED,
    REVIEW_HEADERS,
    REVIEW_SHEET,
    SCORE_HEADERS,
    SUGGESTED_HEADERS,
)
from pipeline.review.decisions import current_decisions, read_decisions, without_removed_codes
from pipeline.review.inbox import review_workbook_edited_in_place
from pipeline.segment import read_segments
from pipeline.spreadsheet import clean_cell_text, set_cell
from pipeline.tables import SUGGESTION_COLUMNS, read_checked

log = logging.getLogger(__name__)

COLUMN_WIDTHS = {
    "segment_id": 20, "site": 14, "sector": 20, "method": 12, "participant": 12, "wave": 7,
    "text": 80, "decision": 11, "coder": 12, "comment": 40,
    **{h: 22 for h in SUGGESTED_HEADERS}, **{h: 8 for h in SCORE_HEADERS},
    **{h: 22 for h in FINAL_HEADERS},
}
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
EDITABLE_FILL = PatternFill("solid", fgColor="FFF8DC")  # a light tint marks the cells to fill in
WRAPPED = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
UNLOCKED = Protection(locked=False)


def review_rows(
    segments: pd.DataFrame,
    suggestions: pd.DataFrame,
    decisions: pd.DataFrame,
    config: dict | None = None,
    pseudonymise: Callable[[str], str] | None = None,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """The rows of the Review sheet, as a frame with the sheet's headers.

    Parameters
    ----------
    segments : DataFrame
        ``segments.parquet`` (columns of :data:`pipeline.tables.SEGMENT_COLUMNS`).
    suggestions : DataFrame
        ``suggestions.parquet``; only rows with ``suggested == True`` fill
        ``suggested_n``, in order of ``rank``.
    decisions : DataFrame
        ``decisions.parquet`` (may be empty); the current decision of each
        segment (see :func:`pipeline.review.decisions.current_decisions`) is
        pre-filled.
    config : dict, optional
        Validated configuration (for sector display labels).
    pseudonymise : callable, optional
        Applied to every segment text, site and pre-filled comment (a site can be
        an identifying term).
    codebook : Codebook, optional
        A decision none of whose codes is in it is set aside: another coder's decision is
        pre-filled, or nothing (:func:`pipeline.review.decisions.without_removed_codes`).

    Returns
    -------
    DataFrame
        Columns :data:`pipeline.review.REVIEW_HEADERS`; one row per segment that
        is not an interviewer turn or that has a decision, in document order.
    """
    config = config or {"sectors": {}}
    pseudonymise = pseudonymise or (lambda text: text)
    segments = segments.copy()
    for column in ("segment_id", "speaker_role", "site", "sector", "method", "participant_id",
                   "wave", "text", "document_id"):
        segments[column] = segments[column].fillna("").astype(str)
    decided = set(current_decisions(decisions)["segment_id"])
    if codebook is not None:
        decisions, _set_aside = without_removed_codes(decisions, codebook)
    current = current_decisions(decisions)
    suggested_ids = set(suggestions["segment_id"].astype(str)) if len(suggestions) else set()
    keep = (segments["speaker_role"] != "interviewer") | segments["segment_id"].isin(decided | suggested_ids)
    rows = segments[keep].sort_values(["site", "method", "document_id", "position"], kind="stable")

    shown = suggestions[suggestions["suggested"].astype(bool)] if len(suggestions) else suggestions
    by_segment: dict[str, list[tuple[str, float]]] = {}
    if len(shown):
        for row in shown.sort_values(["segment_id", "rank"]).itertuples(index=False):
            by_segment.setdefault(str(row.segment_id), []).append((str(row.code_id), float(row.score)))

    decision_of: dict[str, dict] = {}
    for row in current.itertuples(index=False):
        made = decision_of.setdefault(row.segment_id, {
            "decision": row.decision, "codes": [], "coder": row.coder, "comment": row.comment})
        if row.code_id:
            made["codes"].append(row.code_id)
    for segment_id, made in decision_of.items():
        if len(made["codes"]) > N_FINAL:
            log.warning("Segment %s has %d final codes; the workbook shows the first %d "
                        "(the others stay recorded in decisions.parquet)", segment_id,
                        len(made["codes"]), N_FINAL)
            made["codes"] = made["codes"][:N_FINAL]

    site_shown = {site: pseudonymise(site) for site in rows["site"].unique()}
    records = []
    for segment in rows.itertuples(index=False):
        record = {
            "segment_id": segment.segment_id, "site": site_shown[segment.site],
            "sector": sector_label(config, segment.sector), "method": segment.method,
            "participant": segment.participant_id, "wave": segment.wave,
            "text": pseudonymise(segment.text),
        }
        for i, (code_id, score) in enumerate(by_segment.get(segment.segment_id, [])[:N_SUGGESTED]):
            record[SUGGESTED_HEADERS[i]] = code_id
            record[SCORE_HEADERS[i]] = round(score, 3)
        made = decision_of.get(segment.segment_id)
        if made:
            record["decision"] = made["decision"]
            for i, code_id in enumerate(made["codes"]):
                record[FINAL_HEADERS[i]] = code_id
            record["coder"] = made["coder"]
            # Analysts' comments may name people too; pseudonymising is idempotent, so a
            # comment re-imported from this workbook changes at most once.
            record["comment"] = pseudonymise(made["comment"])
        records.append(record)
    return pd.DataFrame(records, columns=REVIEW_HEADERS)


def write_review_workbook(rows: pd.DataFrame, codebook: Codebook, path: str | Path,
                          protect: bool = True, candidates: pd.DataFrame | None = None) -> None:
    """Write the review workbook atomically.

    Parameters
    ----------
    rows : DataFrame
        From :func:`review_rows`.
    codebook : Codebook
        Fills the ``Codebook`` reference sheet and the hidden ``Codes`` list.
    path : str or Path
        Target ``.xlsx``.
    protect : bool, default True
        Protect the Review sheet (no password) so that only the decision,
        final code, coder and comment cells can be edited.
    candidates : DataFrame, optional
        Candidate codes (:func:`pipeline.discover.read_candidate_table`) for
        the ``Candidate codes`` sheet; the sheet is written, empty, without them.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REVIEW_SHEET
    _write_review_sheet(sheet, rows, codebook, protect)
    _write_codebook_sheet(workbook.create_sheet(CODEBOOK_SHEET), codebook)
    _write_about_sheet(workbook.create_sheet(ABOUT_SHEET), protect)
    write_candidate_sheet(workbook, candidates if candidates is not None else pd.DataFrame(columns=CANDIDATE_COLUMNS),
                          [*codebook.theme_ids, PROPOSED_THEME_ID], protect)
    _write_codes_sheet(workbook.create_sheet(CODES_SHEET), codebook)
    _write_issued_sheet(workbook.create_sheet(ISSUED_SHEET), rows)
    workbook.active = 0
    saved = io.BytesIO()
    workbook.save(saved)
    with atomic_path(path) as tmp:
        _add_review_rows(saved, tmp, sheet, rows)


def _write_header(sheet, headers: list[str], widths: dict[str, float]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = set_cell(sheet.cell(row=1, column=column), header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAPPED
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(header, 16)


def _write_review_sheet(sheet, rows: pd.DataFrame, codebook: Codebook, protect: bool) -> None:
    """The Review sheet's header, first row and settings; :func:`_add_review_rows` adds the rest.

    Row 2 holds the first record (empty cells when there is none) and gives
    each column its style: wrapped or top-aligned, a number format, and for
    the analyst's columns an unlocked, tinted cell.
    """
    _write_header(sheet, REVIEW_HEADERS, COLUMN_WIDTHS)
    column_of = {header: i for i, header in enumerate(REVIEW_HEADERS, start=1)}
    editable = {column_of[h] for h in EDITABLE_HEADERS}
    score_columns = {column_of[h] for h in SCORE_HEADERS}
    first = next(rows.itertuples(index=False), [None] * len(REVIEW_HEADERS))
    for c, (header, value) in enumerate(zip(REVIEW_HEADERS, first), start=1):
        cell = set_cell(sheet.cell(row=2, column=c), value)
        cell.alignment = WRAPPED if header in ("text", "comment") else TOP
        # "@" keeps whatever is typed in as text (IDs, codes), never a number or date.
        cell.number_format = "0.000" if c in score_columns else "@"
        if c in editable:
            cell.protection = UNLOCKED
            cell.fill = EDITABLE_FILL
    last_row = max(len(rows) + 1, 2)
    last_column = get_column_letter(len(REVIEW_HEADERS))
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{last_column}{last_row}"

    for header in SCORE_HEADERS:
        letter = get_column_letter(column_of[header])
        sheet.conditional_formatting.add(
            f"{letter}2:{letter}{last_row}",
            # from the lowest score to the highest: a score is not bounded by 1 (see ABOUT_TEXT)
            ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="63BE7B"),
        )

    decision = DataValidation(type="list", formula1='"' + ",".join(DECISION_VALUES) + '"',
                              allow_blank=True, showErrorMessage=True, errorTitle="Decision",
                              error="Choose accept, reject or change.",
                              promptTitle="Decision", showInputMessage=True,
                              prompt="accept = suggested_1 applies; change = the final codes apply; "
                                     "reject (no final codes) = no code applies")
    decision.add(f"{get_column_letter(column_of['decision'])}2:"
                 f"{get_column_letter(column_of['decision'])}{last_row}")
    sheet.add_data_validation(decision)
    codes = DataValidation(type="list", formula1=codes_range(codebook), allow_blank=True,
                           showErrorMessage=True, errorTitle="Code",
                           error="Choose a code id from the list (see the Codebook sheet).")
    for header in FINAL_HEADERS:
        letter = get_column_letter(column_of[header])
        codes.add(f"{letter}2:{letter}{last_row}")
    sheet.add_data_validation(codes)

    if protect:
        # In SheetProtection, False means "this action is NOT blocked".
        sheet.protection = SheetProtection(
            sheet=True, sort=False, autoFilter=False, formatColumns=False, formatRows=False,
            selectLockedCells=False, selectUnlockedCells=False,
        )


# ------------------------------------------------------- the Review sheet's rows
#
# openpyxl spends about 30 µs on each cell (a Cell object, its style, then the
# XML), i.e. minutes for 100,000 segments. Rows 3 onwards of the Review sheet
# are therefore written as XML text straight into the saved file, in exactly
# the form openpyxl gives row 2: inline strings, the column's style of row 2,
# numbers as openpyxl formats them. Every string goes through
# clean_cell_text, as in set_cell, and is stored as text, never as a formula.

# Characters that XML 1.0 cannot hold and clean_cell_text leaves in; lxml
# refuses them too, so the workbook fails exactly as it did with openpyxl.
NOT_XML_CHARACTERS = re.compile("[\ud800-\udfff\ufffe\uffff]")
ROWS_PER_BLOCK = 2000


def _add_review_rows(saved: io.BytesIO, target: Path, sheet, rows: pd.DataFrame) -> None:
    """Copy the workbook ``saved`` by openpyxl to ``target``, adding Review rows 3 onwards.

    Parameters
    ----------
    saved : io.BytesIO
        The workbook as saved by openpyxl, whose Review sheet holds rows 1 and 2
        (see :func:`_write_review_sheet`).
    target : Path
        Where the complete workbook is written.
    sheet : openpyxl.worksheet.worksheet.Worksheet
        The Review sheet of the saved workbook; gives the XML file's name and
        each column's style.
    rows : DataFrame
        All the Review rows (from :func:`review_rows`); the first is already in ``saved``.
    """
    member = sheet.path.lstrip("/")
    styles = [sheet.cell(row=2, column=c).style_id for c in range(1, len(REVIEW_HEADERS) + 1)]
    letters = [get_column_letter(c) for c in range(1, len(REVIEW_HEADERS) + 1)]
    written = f'<dimension ref="{sheet.calculate_dimension()}"/>'.encode()
    complete = f'<dimension ref="A1:{letters[-1]}{max(len(rows) + 1, 2)}"/>'.encode()
    with zipfile.ZipFile(saved) as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as complete_zip:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != member:
                complete_zip.writestr(info, data)
                continue
            if data.count(b"</sheetData>") != 1 or data.count(written) != 1:
                raise RuntimeError(f"unexpected layout of {member} as written by openpyxl")
            head, tail = data.replace(written, complete).split(b"</sheetData>")
            with complete_zip.open(info.filename, "w") as xml:
                xml.write(head)
                for block in _rows_xml(rows.iloc[1:], styles, letters, first_row=3):
                    xml.write(block)
                xml.write(b"</sheetData>" + tail)


def _rows_xml(rows: pd.DataFrame, styles: list[int], letters: list[str],
              first_row: int) -> Iterator[bytes]:
    """The ``<row>`` elements of ``rows``, in blocks of bytes, numbered from ``first_row``."""
    columns = [rows[c].astype(object).where(rows[c].notna(), None).tolist() for c in rows.columns]
    records = list(zip(*columns))
    for start in range(0, len(records), ROWS_PER_BLOCK):
        block = []
        for r, values in enumerate(records[start:start + ROWS_PER_BLOCK], start=first_row + start):
            block.append(f'<row r="{r}">')
            block.extend(_cell_xml(f"{letter}{r}", style, value)
                         for letter, style, value in zip(letters, styles, values))
            block.append("</row>")
        # Markup is ASCII; other characters become references (&#233;), as openpyxl writes them.
        yield "".join(block).encode("ascii", "xmlcharrefreplace")


def _cell_xml(ref: str, style: int, value) -> str:
    """One cell, as openpyxl writes it after :func:`pipeline.spreadsheet.set_cell`.

    ``value`` is None (an empty cell), a string (cleaned, stored as text), a
    bool or a number; the caller encodes the result as ASCII with character
    references, as openpyxl does.
    """
    if value is None:
        return f'<c r="{ref}" s="{style}" t="n"></c>'
    if isinstance(value, str):
        text = clean_cell_text(value, f"{REVIEW_SHEET}!{ref}")
        if not text:
            return f'<c r="{ref}" s="{style}" t="inlineStr"></c>'
        if NOT_XML_CHARACTERS.search(text):
            raise ValueError(f"All strings must be XML compatible ({REVIEW_SHEET}!{ref})")
        space = ' xml:space="preserve"' if text != text.strip() else ""
        text = escape(text, {"\r": "&#13;"})  # as lxml escapes text
        return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{text}</t></is></c>'
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, (bool, int, float)):
        kind = "b" if isinstance(value, bool) else "n"
        return f'<c r="{ref}" s="{style}" t="{kind}"><v>{safe_string(value)}</v></c>'
    raise TypeError(f"cannot write a {type(value).__name__} into {REVIEW_SHEET}!{ref}")


def codes_range(codebook: Codebook) -> str:
    """The validation formula of the final_code dropdowns: a range on the hidden Codes sheet."""
    return f"{CODES_SHEET}!$A$2:$A${len(codebook.code_ids) + 1}"


def _write_codes_sheet(sheet, codebook: Codebook) -> None:
    set_cell(sheet["A1"], "code_id")
    set_cell(sheet["B1"], "label")
    for r, code in enumerate(codebook.codes, start=2):
        set_cell(sheet.cell(row=r, column=1), code.id)
        set_cell(sheet.cell(row=r, column=2), code.label)
    sheet.sheet_state = "hidden"


def _write_issued_sheet(sheet, rows: pd.DataFrame) -> None:
    """Every segment ID as issued, with the analyst cells as pre-filled (empty if none)."""
    for c, header in enumerate([ISSUED_HEADER, *EDITABLE_HEADERS], start=1):
        set_cell(sheet.cell(row=1, column=c), header)
    prefilled = rows[EDITABLE_HEADERS].astype(object).fillna("").astype(str)
    for r, (segment_id, values) in enumerate(zip(rows["segment_id"], prefilled.itertuples(index=False)),
                                             start=2):
        set_cell(sheet.cell(row=r, column=1), segment_id)
        for c, value in enumerate(values, start=2):
            if value:
                set_cell(sheet.cell(row=r, column=c), value)
    sheet.sheet_state = "hidden"


def _write_codebook_sheet(sheet, codebook: Codebook) -> None:
    headers = ["code_id", "theme", "label", "definition", "include", "exclude"]
    _write_header(sheet, headers, {"code_id": 22, "theme": 24, "label": 28, "definition": 60,
                                   "include": 48, "exclude": 48})
    r = 2
    for theme in codebook.themes:
        for code in theme.codes:
            values = [code.id, theme.label, code.label, code.definition,
                      "\n".join(code.include), "\n".join(code.exclude)]
            for c, value in enumerate(values, start=1):
                set_cell(sheet.cell(row=r, column=c), value).alignment = WRAPPED
            r += 1
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:F{max(r - 1, 1)}"


ABOUT_TEXT = [
    ("How to use this workbook", True),
    ("1. Save a copy of this workbook into the project's data/review/ folder, under any name "
     "(for example coding_review_alice.xlsx). Several analysts can each save their own copy. "
     "Do not edit reports/review/coding_review.xlsx itself: the pipeline rewrites it.", False),
    ("2. On the Review sheet, read each segment's text and the suggested codes (suggested_1 is the "
     "best match). A score says how well the code fits, higher being better: it adds the similarity to "
     "the code's definition and examples to what classifiers trained on the codebook and on analysts' "
     "decisions say, so it is not a percentage and can exceed 1. Scores are shaded from white (the "
     "lowest on the sheet) to green (the highest). Fill in the yellow cells:", False),
    ("   decision = accept: the code in suggested_1 applies (you may also copy it into final_code_1 "
     "to confirm it).", False),
    ("   decision = change: the codes you choose in final_code_1 to final_code_3 apply instead.", False),
    ("   decision = reject with no final codes: no code applies to this segment. "
     "(reject with final codes is treated as change.)", False),
    ("   coder: your name or initials (if left empty, the file name is used: coding_review_alice.xlsx "
     "is alice). comment: anything you want to note.", False),
    ("   A pre-filled row shows a decision already recorded: left as it is, it changes nothing. If you "
     "change it, put your own name in coder, or the change is recorded as the pre-filled coder's.", False),
    ("3. Leave a row's decision empty if you have not reviewed it yet. Sorting, filtering and hiding "
     "rows is fine: rows are matched by segment_id. Do not edit segment_id, delete rows or merge cells.", False),
    ("4. Run the pipeline again. Your decisions are read back, and anything that could not be used "
     "is listed in reports/review/conflicts.csv with its cell (for example Review!N17).", False),
    ("Rules", True),
    ("No decision is ever lost: a decision stands until you (the same coder) record a newer decision "
     "for the same segment. Removing your file or a row later does not undo it; to undo a decision, "
     "record a new one (reject with no codes means no code applies). Every change is logged in "
     "data/processed/decisions_audit.csv.", False),
    ("If the same coder's decision for a segment is in several files, the most recently saved file wins; "
     "a row counts only when it changed, so saving an older copy again does not bring back what it held.",
     False),
    ("When several analysts code the same segment, the coded data uses the most recent decision; "
     "the agreement table compares all of them.", False),
    ("Protection", True),
    ("The Review sheet is protected WITHOUT a password so that only the yellow cells can be edited. "
     "Filtering works as normal. Excel refuses to sort a protected range that contains locked cells: "
     "to sort, choose Review > Unprotect Sheet (no password is asked) — sorting is safe.", False),
    ("The code lists come from the hidden Codes sheet; the Codebook sheet explains each code. "
     "A hidden Issued sheet lists the segments and pre-filled decisions as issued, so that deleted "
     "rows and changed decisions can be told apart: leave both in place.", False),
]


def _write_about_sheet(sheet, protect: bool) -> None:
    sheet.column_dimensions["A"].width = 110
    lines = ABOUT_TEXT + [("Candidate codes", True)] + [(line, False) for line in CANDIDATE_INSTRUCTIONS]
    for r, (text, heading) in enumerate(lines, start=1):
        if not protect and text.startswith("The Review sheet is protected"):
            text = "The Review sheet is not protected (review.protect_sheet is false in config.yaml)."
        cell = set_cell(sheet.cell(row=r, column=1), text)
        cell.alignment = WRAPPED
        if heading:
            cell.font = Font(bold=True, size=12)


def project_pseudonymiser(config: dict, root: Path) -> Callable[[str], str]:
    """THE single place where review texts are pseudonymised.

    Uses :class:`pipeline.anonymise.Pseudonymiser` (names in the participant
    register and ``privacy.identifying_terms``), like every text under ``reports/``.
    """
    from pipeline.anonymise import Pseudonymiser

    return Pseudonymiser.from_project(config, root).apply



def read_suggestions(root: Path) -> pd.DataFrame:
    """``suggestions.parquet`` (an empty frame with its columns if absent)."""
    path = Path(root) / paths.SUGGESTIONS
    if not path.exists():
        log.warning("%s is missing: the review workbook has no suggested codes", path)
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    suggestions = read_checked(path, SUGGESTION_COLUMNS, "suggestions", hint="re-run the suggest stage")
    suggestions["segment_id"] = suggestions["segment_id"].astype(str)
    suggestions["code_id"] = suggestions["code_id"].astype(str)
    return suggestions


def run_review_workbook(config: dict, root: Path) -> None:
    """Stage: write ``reports/review/coding_review.xlsx`` from segments, suggestions, decisions
    and the candidate codes (``reports/tables/candidate_codes.csv``, when the discover stage has run).

    Parameters
    ----------
    config : dict
        Validated configuration (``codebook.file``, ``review.protect_sheet``,
        ``sectors``, ``privacy``).
    root : Path
        The project folder.
    """
    root = Path(root)
    codebook = project_codebook(config, root)
    segments = read_segments(root)
    suggestions = read_suggestions(root)
    decisions = read_decisions(root / paths.DECISIONS)
    pseudonymise = project_pseudonymiser(config, root)
    rows = review_rows(segments, suggestions, decisions, config, pseudonymise, codebook)
    protect = (config.get("review") or {}).get("protect_sheet", True)
    candidates = read_candidate_table(root / paths.CANDIDATE_CODES_CSV)
    if not (root / paths.CANDIDATE_CODES_CSV).is_file():
        log.info("%s is missing (run the discover stage): the Candidate codes sheet is empty",
                 paths.CANDIDATE_CODES_CSV)
    # Written pseudonymised by the discover stage; applied again, like everything under reports/.
    candidates = candidates.assign(**{c: candidates[c].map(pseudonymise) for c in candidates.columns
                                      if pd.api.types.is_string_dtype(candidates[c])})
    error = review_workbook_edited_in_place(root)
    if error is not None:
        raise error
    write_review_workbook(rows, codebook, root / paths.REVIEW_WORKBOOK, protect=protect,
                          candidates=candidates)
    write_json(root / paths.REVIEW_WORKBOOK_ISSUED, {"sha256": file_sha256(root / paths.REVIEW_WORKBOOK)})
    n_decided = int(rows["decision"].notna().sum())
    log.info("Review workbook %s: %d segments, %d with a decision already", paths.REVIEW_WORKBOOK,
             len(rows), n_decided)


__all__ = ["review_rows", "write_review_workbook", "run_review_workbook", "codes_range",
           "project_pseudonymiser", "read_suggestions"]
