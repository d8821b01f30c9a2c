"""The files analysts hand back: what the workflow reads from ``data/review/``, and
the check that the issued review workbook was not edited in place.

The workflow calls both each time it is loaded (``rules/common.smk``), so this
module is light on purpose: it lists and hashes files, and never opens a
workbook or imports pandas or openpyxl. Reading the decisions is
:mod:`pipeline.review.decisions`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline import paths
from pipeline.errors import InputError
from pipeline.model_files import file_sha256

# Spreadsheets saved in another format than .xlsx. They are never ignored: each is
# reported under review.on_bad_file, so that no analyst's work is dropped unseen.
OTHER_SPREADSHEETS = {
    ".xlsm": "a macro-enabled Excel workbook",
    ".xltm": "a macro-enabled Excel template",
    ".xltx": "an Excel template",
    ".xlsb": "an Excel binary workbook",
    ".xls": "a legacy Excel 97-2003 workbook",
    ".xlt": "a legacy Excel 97-2003 template",
    ".ods": "an OpenDocument spreadsheet",
    ".fods": "a flat OpenDocument spreadsheet",
    ".numbers": "an Apple Numbers spreadsheet",
    ".csv": "a CSV file",
    ".tsv": "a tab-separated text file",
    ".gsheet": "a Google Sheets shortcut (the sheet itself is online)",
}
_NOT_INPUTS = ("~$", ".")  # Office lock files (~$x.xlsx) and hidden files and folders


def review_inbox(root: Path) -> tuple[list[Path], list[Path]]:
    """The files in ``data/review/`` and its subfolders: (workbooks, unusable).

    Workbooks are the ``.xlsx`` files, whatever the case of the extension
    (``BOB.XLSX``). Unusable are the spreadsheets saved in another format
    (:data:`OTHER_SPREADSHEETS`: ``.xlsm``, ``.xls``, ``.ods``, ``.csv`` ...),
    which :func:`pipeline.review.decisions.run_review_import` reports. Office lock files (``~$x.xlsx``)
    and hidden files and folders are skipped; other files (notes, PDFs) are
    not spreadsheets and are left alone. The rules use this too (rules/common.smk),
    so the Snakemake inputs are exactly the files the import looks at.
    """
    inbox = Path(root) / paths.REVIEW_INBOX
    workbooks: list[Path] = []
    unusable: list[Path] = []
    for folder, folders, names in os.walk(inbox):
        # A .numbers file is a folder (a macOS package) when copied as it is.
        unusable += [Path(folder, name) for name in folders
                     if Path(name).suffix.lower() in OTHER_SPREADSHEETS and not name.startswith(_NOT_INPUTS)]
        folders[:] = [name for name in folders
                      if not name.startswith(_NOT_INPUTS) and Path(name).suffix.lower() not in OTHER_SPREADSHEETS]
        for name in names:
            suffix = Path(name).suffix.lower()
            if name.startswith(_NOT_INPUTS):
                continue
            if suffix == ".xlsx":
                workbooks.append(Path(folder, name))
            elif suffix in OTHER_SPREADSHEETS:
                unusable.append(Path(folder, name))
    return sorted(workbooks), sorted(unusable)


def review_inbox_files(root: Path) -> list[Path]:
    """The returned workbooks in ``data/review/``: its ``.xlsx`` files, in subfolders too
    and whatever the case of the extension (see :func:`review_inbox`)."""
    return review_inbox(root)[0]


def review_workbook_edited_in_place(root: Path) -> InputError | None:
    """The error to stop on when ``reports/review/coding_review.xlsx`` was changed after
    the pipeline wrote it, else None.

    The workbook is an output: the next run that re-writes it (new fieldwork, a
    codebook edit, new decisions) would replace it, and any decision an analyst
    typed into it instead of into a copy under ``data/review/`` would be lost
    unseen. Snakemake deletes a job's outputs before the job starts, so the
    workflow calls this when it is loaded, before any job runs. Without a record
    of what was written (a project from before the record existed) nothing is
    checked.
    """
    root = Path(root)
    workbook, record = root / paths.REVIEW_WORKBOOK, root / paths.REVIEW_WORKBOOK_ISSUED
    if not workbook.is_file() or not record.is_file():
        return None
    try:
        issued = json.loads(record.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None
    if not issued or file_sha256(workbook) == issued:
        return None
    return InputError(
        "has been changed since the pipeline wrote it; the next run would overwrite it, and any "
        "decision typed into it would be lost",
        file=paths.REVIEW_WORKBOOK,
        hint=f"if it holds decisions, move it into {paths.REVIEW_INBOX}/ under any name (for example "
             f"{paths.REVIEW_INBOX}/coding_review_<your initials>.xlsx), where the pipeline reads them; "
             "if it holds nothing to keep, delete it; then run again")
