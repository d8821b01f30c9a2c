"""Any other survey table: a plain CSV or XLSX with one header row.

Everything comes from configuration: ``id_column`` (without one, each
response's ID is ``row-<n>``, its spreadsheet row, which changes if rows are
sorted or removed), the site and sector columns, ``text_columns`` and a fixed
``date``. Headers that name personal data (e-mail, names, IP address, phone,
location) are never copied, whatever the configuration says.
"""

from __future__ import annotations

from pipeline.ingest.surveys.export import (
    Column,
    Response,
    SurveyExport,
    column_letter,
    is_blank_row,
    is_personal_header,
    unique_names,
)
from pipeline.ingest.tabular import Grid

FORMAT = "generic"


def read_generic_export(grid: Grid, day_first: bool | None = None) -> SurveyExport:
    """Parse a one-header-row table.

    Parameters
    ----------
    grid : Grid
        The file's cells.

    day_first : bool, optional
        Not used: generic exports have no date column.

    Returns
    -------
    SurveyExport
        Columns named by header (repeats renamed ``_2``), one response per
        non-empty row with a ``row-<n>`` default ID and no date.
    """
    rows = grid.rows
    header = [cell.strip() for cell in rows[0]] if rows else []
    names, renamed = unique_names([h or f"column {column_letter(i)}" for i, h in enumerate(header)])
    columns = [Column(name=name, question=original or name, index=index,
                      personal=is_personal_header(original))
               for index, (name, original) in enumerate(zip(names, header))]
    responses = []
    for offset, cells in enumerate(rows[1:]):
        if is_blank_row(cells):
            continue
        row = offset + 2
        responses.append(Response(row=row, cells=cells, default_id=f"row-{row}"))
    return SurveyExport(
        format=FORMAT, layout="generic (1 header row)", columns=columns, responses=responses,
        default_id_column=None, renamed_columns=renamed,
    )
