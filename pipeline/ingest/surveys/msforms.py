"""Microsoft Forms exports ("Open results in Excel", XLSX; a CSV of the same sheet works too).

One header row: ``ID, Start time, Completion time, Email, Name``, sometimes
``Last modified time``, then one column per question with the question text as
its header. Anonymous forms put ``anonymous`` in Email and Name; both columns
are personal and never copied either way. Quizzes add ``Total points``,
``Quiz feedback``, ``Points - <question>`` and ``Feedback - <question>``, which
are ignored. The response ID is ``ID``; the date is ``Completion time``.
"""

from __future__ import annotations

from pipeline.ingest.surveys.export import (
    Column,
    Response,
    SurveyExport,
    column_letter,
    first_column,
    header_key,
    is_blank_row,
    is_personal_header,
    set_ids_and_dates,
    unique_names,
)
from pipeline.ingest.tabular import Grid

FORMAT = "msforms"
ID_COLUMN = "ID"
QUIZ_COLUMNS = {"totalpoints", "quizfeedback", "grade"}
QUIZ_PREFIXES = ("Points - ", "Feedback - ")


def looks_like_msforms(rows: list[list[str]]) -> bool:
    """Whether the header starts ``ID, Start time, Completion time``."""
    if not rows or len(rows[0]) < 3:
        return False
    return [header_key(cell) for cell in rows[0][:3]] == ["id", "starttime", "completiontime"]


def read_msforms_export(grid: Grid, day_first: bool | None = None) -> SurveyExport:
    """Parse a Microsoft Forms results sheet.

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
        Columns named by header (quiz bookkeeping ignored, Email and Name
        personal), one response per non-empty row with its ``ID`` and the ISO
        date of ``Completion time``.
    """
    rows = grid.rows
    header = [cell.strip() for cell in rows[0]] if rows else []
    names, renamed = unique_names([h or f"column {column_letter(i)}" for i, h in enumerate(header)])
    columns = []
    for index, (name, original) in enumerate(zip(names, header)):
        quiz = header_key(original) in QUIZ_COLUMNS or original.startswith(QUIZ_PREFIXES)
        columns.append(Column(name=name, question=original or name, index=index,
                              personal=is_personal_header(original), ignored=quiz))
    responses = [Response(row=offset + 2, cells=cells)
                 for offset, cells in enumerate(rows[1:]) if not is_blank_row(cells)]
    notes = set_ids_and_dates(responses, first_column(columns, ID_COLUMN),
                              first_column(columns, "Completion time"), day_first)
    return SurveyExport(
        format=FORMAT, layout="msforms", columns=columns, responses=responses,
        default_id_column=ID_COLUMN, renamed_columns=renamed, notes=notes,
    )

