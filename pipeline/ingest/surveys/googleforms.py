"""Google Forms exports (the response sheet downloaded as CSV, or as XLSX).

One header row: ``Timestamp``, then one column per question with the question
text as its header; ``Email Address`` when the form collects addresses (personal:
never copied). Quiz forms add ``Score``, which is ignored.

``Timestamp`` is written in the spreadsheet's locale: ``M/D/YYYY H:MM:SS`` in
US locales, ``D/M/YYYY`` in most others, ISO (``2025-03-04 09:30:15``) in some.
The day/month order is decided per file (see
:func:`pipeline.ingest.surveys.export.iso_dates`): a day over 12 anywhere in
the column settles it; otherwise US order is assumed and the log says so, or
the survey's ``date_order`` fixes it.

Google Forms exports carry no response ID. Each response's ID is its own
timestamp, normalised to ISO (``2025-03-04T09:30:15``), so it does not change
when rows are sorted, filtered or added to, nor when the sheet's locale
changes. Responses submitted in the same second get their timestamp plus
eight hex digits of a hash of their answers (``2025-03-04T09:30:15-1a2b3c4d``;
personal cells are left out), so re-downloading the sheet with its rows in
another order gives each the same ID; only responses whose answers are
identical too are told apart in file order (``-1a2b3c4d-2``), and swapping
those changes nothing that is analysed. Until a download has a day over 12 the order is only assumed, and the
IDs of the responses so far would change when a later download settles it
the other way: the log note asks for the survey's ``date_order`` to be set. A response whose timestamp cannot be read falls back to ``row-<n>``
(which does change if rows move) and the log says so. Set ``id_column`` to
use a column of your own instead.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from pipeline.ingest.surveys.export import (
    Column,
    Response,
    SurveyExport,
    column_letter,
    find_column,
    header_key,
    is_blank_row,
    is_personal_header,
    iso_dates,
    unique_names,
)
from pipeline.ingest.tabular import Grid

FORMAT = "googleforms"
TIMESTAMP = "Timestamp"
IGNORED = {"score"}
_TIME = re.compile(r"(?:^|[ T])(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?")


def looks_like_googleforms(rows: list[list[str]]) -> bool:
    """Whether the first header is ``Timestamp``."""
    return bool(rows) and bool(rows[0]) and rows[0][0].strip() == TIMESTAMP


def read_googleforms_export(grid: Grid, day_first: bool | None = None) -> SurveyExport:
    """Parse a Google Forms response sheet.

    Parameters
    ----------
    grid : Grid
        The file's cells.

    day_first : bool, optional
        The day/month order of slashed dates (the survey's ``date_order``); None decides it
        from the file (see :func:`pipeline.ingest.surveys.export.iso_dates`).

    Returns
    -------
    SurveyExport
        Columns named by header, one response per non-empty row with the ISO
        date of its ``Timestamp`` and an ID derived from the timestamp.

    Raises
    ------
    InputError
        If the timestamps mix day-first and month-first order.
    """
    rows = grid.rows
    header = [cell.strip() for cell in rows[0]] if rows else []
    names, renamed = unique_names([h or f"column {column_letter(i)}" for i, h in enumerate(header)])
    columns = [
        Column(name=name, question=original or name, index=index,
               personal=is_personal_header(original), ignored=header_key(original) in IGNORED)
        for index, (name, original) in enumerate(zip(names, header))
    ]
    responses = [Response(row=offset + 2, cells=cells)
                 for offset, cells in enumerate(rows[1:]) if not is_blank_row(cells)]
    notes: list[str] = []
    id_notes: list[str] = []
    found = find_column(columns, TIMESTAMP)
    if found and responses:
        stamp = found[0]
        values = [r.cells[stamp.index] for r in responses]
        dates, notes = iso_dates(values, [r.row for r in responses], stamp.name, day_first)
        keys: dict[int, str] = {}
        fallback = []
        for response, value, date in zip(responses, values, dates):
            response.date = date
            if date:
                keys[response.row] = date + _time_part(value)
            else:
                response.default_id = f"row-{response.row}"
                fallback.append(response.row)
        answered = [c.index for c in columns if not c.personal and not c.ignored and c.index != stamp.index]
        shared = Counter(keys.values())
        seen: dict[str, int] = {}
        for response in responses:
            key = keys.get(response.row)
            if key is None:
                continue
            if shared[key] > 1:
                key = f"{key}-{_answers_hash(response, answered)}"
            seen[key] = seen.get(key, 0) + 1
            response.default_id = key if seen[key] == 1 else f"{key}-{seen[key]}"
        if fallback:
            id_notes.append(f"no readable Timestamp in rows {', '.join(map(str, fallback[:10]))}: "
                         "their response IDs are row numbers, which change if rows move")
    else:
        for response in responses:
            response.default_id = f"row-{response.row}"
        if responses:
            id_notes.append("no Timestamp column: response IDs are row numbers, which change if rows move")
    return SurveyExport(
        format=FORMAT, layout="googleforms", columns=columns, responses=responses,
        default_id_column=None, renamed_columns=renamed, notes=notes, id_notes=id_notes,
    )


def _answers_hash(response: Response, indexes: list[int]) -> str:
    """Eight hex digits of a hash of a response's answers (personal and ignored cells left out),
    which tell apart responses submitted in the same second whatever the row order."""
    answers = "\x1f".join(response.cells[i].strip() if i < len(response.cells) else "" for i in indexes)
    return hashlib.sha256(answers.encode("utf-8")).hexdigest()[:8]


def _time_part(value: str) -> str:
    """``"T09:30:15"`` from a timestamp's time of day (12-hour clocks converted), or ``""``."""
    match = _TIME.search(value)
    if not match:
        return ""
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    meridiem = (match.group(4) or "").casefold()
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return f"T{hour:02d}:{minute:02d}:{second:02d}"
