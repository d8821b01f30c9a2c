"""SurveyMonkey "expanded" exports (CSV or XLSX).

Two header rows. Row 1 starts ``Respondent ID, Collector ID, Start Date, End
Date, IP Address, Email Address, First Name, Last Name, Custom Data 1`` and then
has one cell per question; a question with several sub-answers leaves blank
continuation cells to its right. Row 2 holds the sub-labels (``Response``,
``Open-Ended Response``, choice labels).

A column is named ``"<question> - <sub-label>"`` with the question filled in
from the left; configuration may also name a question on its own when it has a
single sub-column. An answer keeps the question text, plus the sub-label when
that says more than ``Response``/``Open-Ended Response``.

``Custom Data`` columns are treated as personal: collectors often fill them
with e-mail addresses or contact IDs.
"""

from __future__ import annotations

from collections import Counter

from pipeline.errors import InputError
from pipeline.ingest.surveys.export import (
    Column,
    Response,
    SurveyExport,
    column_letter,
    first_column,
    is_blank_row,
    is_personal_header,
    set_ids_and_dates,
    unique_names,
)
from pipeline.ingest.tabular import Grid

FORMAT = "surveymonkey"
ID_COLUMN = "Respondent ID"
PLAIN_SUBLABELS = {"", "response", "open-ended response"}


def looks_like_surveymonkey(rows: list[list[str]]) -> bool:
    """Whether row 1 has SurveyMonkey's ``Respondent ID`` and ``Collector ID`` columns."""
    header = {cell.strip() for cell in rows[0]} if rows else set()
    return {"Respondent ID", "Collector ID"} <= header


def read_surveymonkey_export(grid: Grid, day_first: bool | None = None) -> SurveyExport:
    """Parse a SurveyMonkey expanded export.

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
        Columns named ``question - sub-label`` (metadata columns by their
        header), one response per non-empty data row, its ``Respondent ID`` and
        the ISO date of ``End Date`` (month-first unless the file shows otherwise).

    Raises
    ------
    InputError
        If there is no second header row, or the dates mix orders.
    """
    rows = grid.rows
    if len(rows) < 2:
        raise InputError(
            "a SurveyMonkey expanded export has two header rows; this file has fewer",
            file=grid.path, hint="export it again as 'All individual responses', expanded, CSV or XLSX",
        )
    tops = [cell.strip() for cell in rows[0]]
    subs = [cell.strip() for cell in rows[1]]
    filled, current = [], ""
    for index, top in enumerate(tops):
        if top:
            current = top
        elif not current:
            current = f"column {column_letter(index)}"
        filled.append(current)
    per_question = Counter(filled)
    raw_names, questions = [], []
    for question, sub in zip(filled, subs):
        raw_names.append(f"{question} - {sub}" if sub else question)
        plain = sub.casefold() in PLAIN_SUBLABELS
        questions.append(question if plain else f"{question} - {sub}")
    names, renamed = unique_names(raw_names)
    columns = []
    for index, (name, question, top) in enumerate(zip(names, questions, filled)):
        aliases = []
        if name != top and per_question[top] == 1:
            aliases.append(top)
        columns.append(Column(
            name=name, question=question, index=index,
            personal=is_personal_header(top), aliases=tuple(aliases),
        ))

    responses = []
    for offset, cells in enumerate(rows[2:]):
        if is_blank_row(cells):
            continue
        responses.append(Response(row=offset + 3, cells=cells))
    notes = set_ids_and_dates(responses, first_column(columns, ID_COLUMN),
                              first_column(columns, "End Date"), day_first)
    return SurveyExport(
        format=FORMAT, layout="surveymonkey (expanded, 2 header rows)", columns=columns,
        responses=responses, default_id_column=ID_COLUMN, renamed_columns=renamed, notes=notes,
    )

