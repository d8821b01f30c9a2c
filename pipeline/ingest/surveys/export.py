"""What every vendor reader returns, and the helpers they share.

A vendor module turns a :class:`~pipeline.ingest.tabular.Grid` into a
:class:`SurveyExport`: named columns (with the question wording each keeps),
which columns hold personal data, and one :class:`Response` per data row with
its response type, completion flag, default ID and date. The package's
:func:`~pipeline.ingest.surveys.read_surveys` then applies the configuration
(ID, site, sector and text columns) the same way for every vendor.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from pipeline.errors import InputError

# Response types (Qualtrics' Status); every other vendor's responses are "normal".
NORMAL = "normal"
RESPONSE_TYPES = ("normal", "preview", "test", "spam", "imported", "offline")

# Headers that hold personal data in any vendor's export, compared after
# removing everything but letters and digits and case-folding. These columns are
# never copied into a document, and cannot be used as an ID or text column.
PERSONAL_HEADERS = frozenset({
    "ipaddress", "email", "emailaddress", "recipientemail", "recipientfirstname",
    "recipientlastname", "recipientphonenumber", "firstname", "lastname", "name",
    "fullname", "respondentname", "externalreference", "externaldatareference",
    "locationlatitude", "locationlongitude", "locationaccuracy", "latitude", "longitude",
    "phone", "phonenumber", "telephone", "mobile", "mobilenumber",
})
_PERSONAL_PREFIXES = ("recipient", "customdata")


def header_key(text: str) -> str:
    """Letters and digits of ``text``, case-folded: ``"IP Address"`` → ``"ipaddress"``."""
    return re.sub(r"[\W_]+", "", text.casefold())


def is_personal_header(name: str) -> bool:
    """Whether a column header names personal data (email, names, IP, location, recipient…).

    Examples
    --------
    >>> is_personal_header("IPAddress"), is_personal_header("Email Address"), is_personal_header("Q3")
    (True, True, False)
    """
    key = header_key(name)
    return key in PERSONAL_HEADERS or key.startswith(_PERSONAL_PREFIXES)


def loose(text: str) -> str:
    """Text compared case- and whitespace-insensitively, with curly quotes straightened."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.split()).casefold()


@dataclass
class Column:
    """One column of a survey export.

    Attributes
    ----------
    name : str
        Unique name configuration refers to: the export tag (Qualtrics), the
        question plus sub-label (SurveyMonkey) or the header.
    question : str
        The question wording an answer in this column keeps.
    index : int
        0-based position in the grid's rows.
    personal : bool
        Holds personal data: never copied, never usable as an ID or text column.
    ignored : bool
        Vendor bookkeeping (quiz points and feedback), not offered as a column.
    aliases : tuple of str
        Other names configuration may use for it (question text; a SurveyMonkey
        question without its sub-label when it has a single sub-column).
    """

    name: str
    question: str
    index: int
    personal: bool = False
    ignored: bool = False
    aliases: tuple[str, ...] = ()


@dataclass
class Response:
    """One data row of an export.

    ``cells`` holds the whole row, personal cells included, and never leaves
    this package; only configured, non-personal columns are copied out.
    """

    row: int                 # spreadsheet row number (1-based, header rows counted)
    cells: list[str]
    response_type: str = NORMAL
    finished: bool | None = None
    default_id: str = ""
    date: str = ""


@dataclass
class SurveyExport:
    """A parsed export: its columns and responses, before configuration is applied."""

    format: str
    layout: str                          # e.g. "qualtrics (3 header rows)"
    columns: list[Column]
    responses: list[Response]
    default_id_column: str | None = None
    renamed_columns: list[tuple[str, str, int]] = field(default_factory=list)  # (name, new name, column)
    notes: list[str] = field(default_factory=list)
    id_notes: list[str] = field(default_factory=list)   # apply only when the default IDs are used

    def offered_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.personal and not c.ignored]


def unique_names(names: list[str]) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Make ``names`` unique by suffixing repeats ``_2``, ``_3``…; return the renamings
    too, as (name, new name, 1-based column).

    Examples
    --------
    >>> unique_names(["Q5", "Q6", "Q5", "Q5"])
    (['Q5', 'Q6', 'Q5_2', 'Q5_3'], [('Q5', 'Q5_2', 3), ('Q5', 'Q5_3', 4)])
    """
    taken = set(names)
    seen: set[str] = set()
    result, renamed = [], []
    for position, name in enumerate(names, start=1):
        if name not in seen:
            seen.add(name)
            result.append(name)
            continue
        suffix = 2
        while f"{name}_{suffix}" in taken or f"{name}_{suffix}" in seen:
            suffix += 1
        new = f"{name}_{suffix}"
        seen.add(new)
        result.append(new)
        renamed.append((name, new, position))
    return result, renamed


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_blank_row(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


# ----------------------------------------------------------------- dates

_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?\s*$")
_SLASHED = re.compile(r"^\s*(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})(?:[ ,T].*)?\s*$")


def iso_dates(values: list[str], rows: list[int], column: str, day_first: bool | None = None
              ) -> tuple[list[str], list[str]]:
    """Read vendor timestamps as ISO dates (``YYYY-MM-DD``), deciding day/month order per file.

    ISO timestamps (``2025-03-04 09:30:15``, ``2025-03-04T09:30:15Z``) are read
    as they are. Slashed dates (``3/4/2025 9:30:15``, ``04/03/25``) are read
    month-first or day-first for the whole column: a first number over 12
    anywhere means day-first, a second number over 12 means month-first; when
    nothing in the file decides, month-first (the vendors' default locale)
    applies and a note says so. A column with both kinds of evidence is an
    error, and so is a date that contradicts an order fixed by ``day_first``.

    Parameters
    ----------
    values : list of str
        The cells, one per response.
    rows : list of int
        Their spreadsheet row numbers, for messages.
    column : str
        The column's header, for messages.
    day_first : bool, optional
        The order, fixed by the survey's ``date_order``; None decides it from the file.

    Returns
    -------
    dates : list of str
        ISO dates, ``""`` for an empty or unreadable cell.
    notes : list of str
        What the ingest log should say (assumed order, unreadable cells).

    Raises
    ------
    InputError
        If the column mixes day-first and month-first dates, or contradicts ``day_first``.

    Examples
    --------
    >>> iso_dates(["3/4/2025 9:30:00", "13/4/2025 10:00:00"], [4, 5], "Timestamp")
    (['2025-04-03', '2025-04-13'], [])
    """
    parsed = [_SLASHED.match(v) for v in values]
    firsts = [i for i, m in enumerate(parsed) if m and int(m.group(1)) > 12]
    seconds = [i for i, m in enumerate(parsed) if m and int(m.group(2)) > 12]
    notes: list[str] = []
    if firsts and seconds:
        raise InputError(
            f"the dates mix day-first (row {rows[firsts[0]]}: {values[firsts[0]]!r}) and "
            f"month-first (row {rows[seconds[0]]}: {values[seconds[0]]!r}) order",
            column=column, row=rows[firsts[0]],
            hint="re-export the file without editing it in a spreadsheet, or set a fixed date for this survey",
        )
    against = seconds if day_first else firsts
    if day_first is not None and against:
        i = against[0]
        raise InputError(
            f"{values[i]!r} cannot be a {'day/month' if day_first else 'month/day'} date, the order "
            "the survey's date_order sets",
            column=column, row=rows[i],
            hint="correct date_order for this survey in config.yaml (day_first, month_first or auto)",
        )
    order_known = bool(firsts or seconds) or day_first is not None
    use_day_first = bool(firsts) if day_first is None else day_first
    dates, unreadable, assumed = [], [], False
    for value, row, match in zip(values, rows, parsed):
        text = value.strip()
        date = ""
        if not text:
            dates.append("")
            continue
        iso = _ISO.match(text)
        try:
            if iso:
                date = dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3))).isoformat()
            elif match:
                a, b, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
                if year < 100:
                    year += 2000
                day, month = (a, b) if use_day_first else (b, a)
                date = dt.date(year, month, day).isoformat()
                assumed = assumed or (not order_known and a != b)
        except ValueError:
            date = ""
        if not date:
            unreadable.append(row)
        dates.append(date)
    if assumed:
        notes.append(f"{column}: no date in the file decides the day/month order, so it was read as "
                     "month/day/year; set date_order for this survey in config.yaml, or the dates (and "
                     "Google Forms response IDs) change when a later download settles the order")
    if unreadable:
        notes.append(f"{column}: could not read a date in {rows_text(unreadable)}; their date is empty")
    return dates, notes


def rows_text(rows: list[int], limit: int = 10) -> str:
    """Spreadsheet row numbers for a message.

    Examples
    --------
    >>> rows_text([4]), rows_text([4, 7]), rows_text(list(range(2, 15)))
    ('row 4', 'rows 4, 7', 'rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 3 more')
    """
    text = ", ".join(str(r) for r in rows[:limit])
    return ("row " if len(rows) == 1 else "rows ") + text + (
        f" and {len(rows) - limit} more" if len(rows) > limit else "")


def find_column(columns: list[Column], wanted: str) -> list[Column]:
    """Columns matching a configured name: by name, then alias, then loosely by either."""
    for candidates in (
        [c for c in columns if c.name == wanted],
        [c for c in columns if wanted in c.aliases],
        [c for c in columns if loose(c.name) == loose(wanted)],
        [c for c in columns if any(loose(a) == loose(wanted) for a in c.aliases)],
    ):
        if candidates:
            return candidates
    return []


def first_column(columns: list[Column], name: str) -> Column | None:
    """The first column matching ``name`` that is not personal, or None."""
    found = [c for c in find_column(columns, name) if not c.personal]
    return found[0] if found else None


def set_ids_and_dates(responses: list[Response], id_column: Column | None,
                      date_column: Column | None, day_first: bool | None = None) -> list[str]:
    """Fill each response's default ID and ISO date from the vendor's own columns.

    Returns the notes :func:`iso_dates` makes (for example an assumed day order).
    """
    if id_column is not None:
        for response in responses:
            response.default_id = response.cells[id_column.index].strip()
    if date_column is None or not responses:
        return []
    dates, notes = iso_dates([r.cells[date_column.index] for r in responses],
                             [r.row for r in responses], date_column.name, day_first=day_first)
    for response, date in zip(responses, dates):
        response.date = date
    return notes
