"""Reading a CSV, TSV or XLSX file into a grid of strings.

Every tabular reader (survey exports, fieldwork logs) starts here, so that the
rules about cells are written once:

- every cell is a string, ``""`` when empty, and is never typed: an ID such as
  ``00123`` or a 16-digit number comes back exactly as written;
- in a workbook, a whole number stored as a number comes back without a
  spurious ``.0`` and a date as an ISO string;
- a CSV is decoded with :func:`pipeline.ingest.encoding.read_text_file`, its
  delimiter (comma, tab or semicolon) is sniffed, and the *whole* text is
  parsed with the csv module, so quoted newlines inside a cell work;
- trailing fully-empty rows and columns are dropped and ragged rows are
  padded, so every row has the same length and ``rows[i]`` is spreadsheet
  row ``i + 1`` (empty rows in the middle are kept for that reason).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError
from pipeline.ingest.encoding import read_text_file
from pipeline.ingest.safety import (
    OLE_MAGIC,
    ZIP_MAGIC,
    SafetyLimits,
    check_file_size,
    check_office_file,
)

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx",)
DELIMITERS = (",", "\t", ";")
_SNIFF_RECORDS = 20

log = logging.getLogger("pipeline.ingest")


@dataclass
class Grid:
    """The cells of one table, as strings.

    Attributes
    ----------
    rows : list of list of str
        Every row padded to the same width; ``rows[0]`` is spreadsheet row 1.
    encoding : str
        The text encoding detected for a CSV/TSV; ``""`` for a workbook.
    path : Path
        The file read.
    sheet : str or None
        The worksheet read, for a workbook.
    sheets : tuple of str
        Every worksheet of a workbook, in order.
    """

    rows: list[list[str]]
    encoding: str
    path: Path
    sheet: str | None = None
    delimiter: str | None = None
    sheets: tuple = ()

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    def sheet_note(self) -> str:
        """For a message about missing columns: which sheet of several was read, or ``""``.

        Examples
        --------
        >>> Grid([], "", Path("s.xlsx"), "Cover", sheets=("Cover", "Responses")).sheet_note()
        "; these are sheet 'Cover', the first of 2 ('Cover', 'Responses'): only the first sheet is read, so \
move the data there"
        """
        if len(self.sheets) < 2:
            return ""
        return (f"; these are sheet {self.sheet!r}, the first of {len(self.sheets)} ("
                + ", ".join(repr(s) for s in self.sheets) + "): only the first sheet is read, so move the data there")


def read_grid(path: Path, limits: SafetyLimits | None = None, sheet: str | None = None,
              display: str | None = None) -> Grid:
    """Read a CSV/TSV/TXT or XLSX file as a grid of strings.

    Parameters
    ----------
    path : Path
        The file. ``.csv``, ``.tsv`` and ``.txt`` are read as delimited text;
        ``.xlsx`` as a workbook.
    limits : SafetyLimits, optional
        File size and zip limits (defaults apply when omitted).
    sheet : str, optional
        The worksheet to read from a workbook; the first worksheet by default.
    display : str, optional
        How warnings name the file (``data/raw/...``); the path by default.

    Returns
    -------
    Grid
        Every cell as a string, rows padded to one width, trailing empty rows dropped.

    Raises
    ------
    InputError
        If the file is empty, too large, undecodable, not what its extension
        says, unsafe, macro-enabled, a legacy .xls, Strict Open XML, has no
        worksheets, or lacks the named sheet.

    Examples
    --------
    >>> grid = read_grid(Path("data/raw/surveys/partner_survey_2025.csv"))  # doctest: +SKIP
    >>> grid.rows[0][:3]                                                    # doctest: +SKIP
    ['StartDate', 'EndDate', 'Status']
    """
    path = Path(path)
    limits = limits or SafetyLimits()
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return _read_workbook(path, limits, sheet, display or str(path))
    if suffix in (".xlsm", ".xls", ".xlsb", ".ods", ".numbers"):
        raise InputError(
            f"{suffix} files cannot be read",
            file=path,
            hint="open it in Excel and save it as an .xlsx workbook (without macros), or export a CSV",
        )
    if suffix in TEXT_SUFFIXES:
        return _read_delimited(path, limits)
    raise InputError(
        f"unsupported file type {suffix or '(no extension)'!r} for a table",
        file=path,
        hint="save it as .csv or .xlsx",
    )


# ----------------------------------------------------------------- delimited text


def _read_delimited(path: Path, limits: SafetyLimits) -> Grid:
    check_file_size(path, limits)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC) or head.startswith(OLE_MAGIC):
        raise InputError(
            "this is an Excel workbook saved under a text-file name",
            file=path,
            hint="rename it to .xlsx (or, for an old .xls, open it in Excel and save it as .xlsx or CSV)",
        )
    text, encoding = read_text_file(path)
    delimiter = sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"cannot be parsed as delimited text: {exc}", file=path,
                         hint="re-export it from the survey tool or Excel as CSV") from None
    return Grid(_tidy(rows), encoding, path, None, delimiter)


def sniff_delimiter(text: str) -> str:
    """Return the delimiter (``,``, tab or ``;``) that splits ``text`` most consistently.

    Each candidate parses the first records with the csv module (so quoted
    delimiters and newlines count correctly); the winner gives the same number
    of fields (more than one) on the most records, then the most fields. Comma
    wins ties, including a single-column file.

    Examples
    --------
    >>> sniff_delimiter("a;b;c\\n1;2,5;3\\n")
    ';'
    >>> sniff_delimiter('id\\tquestion\\n1\\t"yes, and"\\n')
    '\\t'
    """
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        records = []
        try:
            for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                if any(cell.strip() for cell in record):
                    records.append(len(record))
                if len(records) >= _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if not records:
            continue
        width = records[0]
        if width < 2:
            continue
        score = (sum(1 for n in records if n == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# ----------------------------------------------------------------- workbooks


def _read_workbook(path: Path, limits: SafetyLimits, sheet: str | None, display: str) -> Grid:
    check_office_file(path, "xlsx", limits)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on malformed packages
        raise InputError(f"cannot be opened as an Excel workbook ({type(exc).__name__}: {exc})",
                         file=path, hint="open it in Excel and save it again as .xlsx") from None
    try:
        worksheets = workbook.worksheets
        if not worksheets:
            raise InputError("the workbook has no worksheets", file=path,
                             hint="open it in Excel and save it again as a normal .xlsx workbook")
        if sheet is None:
            worksheet = worksheets[0]
        else:
            names = [ws.title for ws in worksheets]
            if sheet not in names:
                raise InputError(f"the workbook has no sheet named {sheet!r}", file=path,
                                 hint="its sheets are: " + ", ".join(repr(n) for n in names))
            worksheet = worksheets[names.index(sheet)]
        if hasattr(worksheet, "reset_dimensions"):
            # Files written by other tools often carry a wrong <dimension>; read every cell.
            worksheet.reset_dimensions()
        try:
            rows = [[cell_text(value) for value in row] for row in worksheet.iter_rows(values_only=True)]
        except Exception as exc:  # read-only sheets are parsed lazily: damage shows up only here
            raise InputError(f"sheet {worksheet.title!r} cannot be read ({type(exc).__name__}: {exc})",
                             file=path, hint="open it in Excel and save it again as .xlsx") from None
        title = worksheet.title
        names = tuple(ws.title for ws in worksheets)
    finally:
        workbook.close()
    _warn_about_formulas_without_values(path, display, title, rows)
    return Grid(_tidy(rows), "", path, title, None, names)


def _warn_about_formulas_without_values(path: Path, display: str, sheet: str, rows: list[list[str]]) -> None:
    """Warn about formula cells with no saved result, which read as empty (a file written by a
    script and never opened in a spreadsheet program). Only the empty cells are looked at again."""
    if not any(cell == "" for row in rows for cell in row):
        return
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        worksheet = workbook[sheet]
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()
        found = [f"{get_column_letter(c + 1)}{r + 1}"
                 for r, row in enumerate(worksheet.iter_rows(values_only=True))
                 for c, value in enumerate(row)
                 if isinstance(value, str) and value.startswith("=") and r < len(rows)
                 and c < len(rows[r]) and rows[r][c] == ""]
    finally:
        workbook.close()
    if found:
        log.warning("%s: %d cell(s) hold a formula with no saved result (%s%s), so they read as empty: open "
                    "the file in Excel or LibreOffice and save it, which stores the results",
                    display, len(found), ", ".join(found[:10]),
                    f" and {len(found) - 10} more" if len(found) > 10 else "")


def cell_text(value) -> str:
    """The text of one workbook cell value, as a person reading the sheet would copy it.

    Examples
    --------
    >>> cell_text(None), cell_text(123.0), cell_text(2.5), cell_text(True)
    ('', '123', '2.5', 'True')
    >>> cell_text(dt.datetime(2025, 3, 4, 9, 30)), cell_text(dt.datetime(2025, 3, 4))
    ('2025-03-04T09:30:00', '2025-03-04')
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------- shared


def _tidy(rows: list[list[str]]) -> list[list[str]]:
    """Drop trailing fully-empty rows and columns; pad every row to one width."""
    rows = [list(row) for row in rows]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    width = 0
    for row in rows:
        for index in range(len(row) - 1, width - 1, -1):
            if row[index].strip():
                width = index + 1
                break
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        else:
            del row[width:]
    return rows
