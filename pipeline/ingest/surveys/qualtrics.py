"""Qualtrics CSV/TSV/XLSX exports ("Download data table").

The current export has three header rows: export tags (``StartDate``, …,
``Q1``, ``Q3_TEXT``), the question text (which may contain newlines inside
quotes) and ``{"ImportId":"QID2_TEXT"}`` JSON. The legacy export has two: ``V1``,
``V2``, … then tags, and a row of labels (``ResponseID``, ``Status``, …) and
question text. An export whose ImportId row was deleted by hand (tags, then
question text with ``Response ID`` under ``ResponseId``) is read too.

``Status`` gives the response type as a code (0 normal, 1 preview, 2 test,
4 imported, 8 spam, 16 offline) or, in "use choice text" exports, as a label
("IP Address", "Survey Preview", …); ``DistributionChannel`` ``preview`` or
``test`` also marks one. ``Finished`` is ``1``/``0`` or ``True``/``False``.
Duplicate export tags are renamed ``Q5``, ``Q5_2`` and reported.
"""

from __future__ import annotations

import re

from pipeline.errors import InputError
from pipeline.ingest.surveys.export import (
    Column,
    NORMAL,
    Response,
    SurveyExport,
    column_letter,
    first_column,
    is_blank_row,
    is_personal_header,
    rows_text,
    set_ids_and_dates,
    unique_names,
)
from pipeline.ingest.tabular import Grid

FORMAT = "qualtrics"

# Status codes and their "choice text" labels. Combined codes (spam previews,
# imported spam, offline previews) count as the stronger reason to exclude.
STATUS_TYPES = {
    "0": "normal", "1": "preview", "2": "test", "4": "imported", "8": "spam", "9": "spam",
    "12": "spam", "16": "offline", "17": "preview",
    "ip address": "normal", "email": "normal", "survey preview": "preview", "survey test": "test",
    "imported": "imported", "spam": "spam", "preview spam": "spam", "imported spam": "spam",
    "offline": "offline", "offline survey preview": "preview", "offline preview": "preview",
}
CHANNEL_TYPES = {"preview": "preview", "test": "test"}
FINISHED_VALUES = {"1": True, "true": True, "0": False, "false": False}

_LEGACY_TAG = re.compile(r"^V\d+$")


def detect_layout(rows: list[list[str]]) -> str | None:
    """Which Qualtrics layout ``rows`` has: ``"current"``, ``"legacy"``, ``"two-row"`` or None.

    Examples
    --------
    >>> detect_layout([["StartDate", "ResponseId"], ["Start Date", "Response ID"],
    ...                ['{"ImportId":"startDate"}', '{"ImportId":"_recordId"}']])
    'current'
    >>> detect_layout([["V1", "V2"], ["ResponseID", "ResponseSet"]])
    'legacy'
    """
    if len(rows) >= 3:
        third = next((cell.strip() for cell in rows[2] if cell.strip()), "")
        if third.startswith("{") and "ImportId" in third:
            return "current"
    if len(rows) >= 2:
        if rows[0] and rows[0][0].strip() == "V1" and "ResponseID" in (c.strip() for c in rows[1]):
            return "legacy"
        tags = [c.strip() for c in rows[0]]
        if "ResponseId" in tags and rows[1][tags.index("ResponseId")].strip() in ("Response ID", "ResponseId"):
            return "two-row"
    return None


def looks_like_qualtrics(rows: list[list[str]]) -> bool:
    """Whether the header rows are a Qualtrics export (for ``format: auto``)."""
    layout = detect_layout(rows)
    if layout in ("legacy", "two-row"):
        return True
    tags = {c.strip() for c in rows[0]} if rows else set()
    return layout == "current" and bool(tags & {"ResponseId", "StartDate", "ResponseID"})


def read_qualtrics_export(grid: Grid, day_first: bool | None = None) -> SurveyExport:
    """Parse a Qualtrics export's header rows, response types and completion flags.

    Parameters
    ----------
    grid : Grid
        The file's cells (see :func:`pipeline.ingest.tabular.read_grid`).

    day_first : bool, optional
        The day/month order of slashed dates (the survey's ``date_order``); None decides it
        from the file (see :func:`pipeline.ingest.surveys.export.iso_dates`).

    Returns
    -------
    SurveyExport
        Columns named by export tag (legacy ``V`` columns by their label), each
        keeping its question text; one response per non-empty data row with
        its response type, ``finished`` flag, ``ResponseId`` and ISO date
        (``EndDate``, else ``RecordedDate``).

    Raises
    ------
    InputError
        If the header rows are not a Qualtrics layout, or the dates mix orders.
    """
    rows = grid.rows
    layout = detect_layout(rows)
    if layout is None:
        raise InputError(
            "this does not look like a Qualtrics export: expected three header rows (export tags, "
            'question text, {"ImportId": ...}) or the legacy two-row layout (V1, V2, …)',
            file=grid.path,
            hint="re-export it from Qualtrics (Data & Analysis → Export → CSV) without removing header "
                 "rows, or set format: generic for this survey",
        )
    header_rows = 3 if layout == "current" else 2
    tags = [cell.strip() for cell in rows[0]]
    questions = [cell.strip() for cell in rows[1]]
    raw_names = []
    for index, (tag, question) in enumerate(zip(tags, questions)):
        if layout == "legacy" and _LEGACY_TAG.match(tag) and question:
            tag = question  # V7 → Status
        raw_names.append(tag or f"column {column_letter(index)}")
    names, renamed = unique_names(raw_names)
    columns = []
    for index, (name, question) in enumerate(zip(names, questions)):
        question = question or name
        columns.append(Column(
            name=name,
            question=question,
            index=index,
            personal=is_personal_header(name) or is_personal_header(question)
            or is_personal_header(tags[index]),
            aliases=(question,) if question != name else (),
        ))

    notes: list[str] = []
    status_col = first_column(columns, "Status")
    channel_col = first_column(columns, "DistributionChannel")
    finished_col = first_column(columns, "Finished")
    responses = []
    unknown_status: dict[str, list[int]] = {}
    unknown_finished: dict[str, list[int]] = {}
    for offset, cells in enumerate(rows[header_rows:]):
        if is_blank_row(cells):
            continue
        row = header_rows + offset + 1
        response = Response(row=row, cells=cells)
        if status_col is not None:
            value = cells[status_col.index].strip()
            kind = STATUS_TYPES.get(value.casefold())
            if value and kind is None:
                unknown_status.setdefault(value, []).append(row)
            response.response_type = kind or NORMAL
        if channel_col is not None and response.response_type == NORMAL:
            channel = cells[channel_col.index].strip().casefold()
            response.response_type = CHANNEL_TYPES.get(channel, NORMAL)
        if finished_col is not None:
            value = cells[finished_col.index].strip()
            response.finished = FINISHED_VALUES.get(value.casefold())
            if value and response.finished is None:
                unknown_finished.setdefault(value, []).append(row)
        responses.append(response)
    for value, value_rows in unknown_status.items():
        notes.append(f"Status {value!r} not recognised in {rows_text(value_rows)}; read as a normal response")
    for value, value_rows in unknown_finished.items():
        notes.append(f"Finished {value!r} not recognised in {rows_text(value_rows)}; read as finished")

    id_col = first_column(columns, "ResponseId")
    date_col = first_column(columns, "EndDate") or first_column(columns, "RecordedDate")
    notes.extend(set_ids_and_dates(responses, id_col, date_col, day_first))

    layout_text = {"current": "3 header rows", "legacy": "legacy, 2 header rows",
                   "two-row": "2 header rows, ImportId row missing"}[layout]
    return SurveyExport(
        format=FORMAT,
        layout=f"qualtrics ({layout_text})",
        columns=columns,
        responses=responses,
        default_id_column=id_col.name if id_col is not None else "ResponseId",
        renamed_columns=renamed,
        notes=notes,
    )


