"""The evaluation workbook, ``reports/evaluation_tables.xlsx``.

The first sheet, ``Contents``, says what every other sheet holds and names
the tidy CSV in ``reports/tables/`` with the same table. Every cell is written
through :func:`pipeline.spreadsheet.set_cell` (text stays text, never a
formula) after pseudonymisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.atomic import atomic_path
from pipeline.quotes import quote_text
from pipeline.spreadsheet import set_cell

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=13)
NOTE_FONT = Font(italic=True, color="595959")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
HEADER_ROW = 3  # row 1: title; row 2: note; row 3: header
MAX_WIDTH = 60
MAX_IMAGE_WIDTH = 900  # pixels on the Figures sheet
# A p value below 0.001 shows as "<0.001" (the cell keeps the exact value), never as "0.000".
P_FORMAT = '[<0.001]"<0.001";0.000'
NUMBER_FORMATS = {
    "percent": "0.0", "fisher_p": P_FORMAT, "p_value": P_FORMAT, "odds_ratio": "0.00",
    "representativeness": "0.000", "value": "0.000", "difference_points": "0.0",
}


@dataclass
class Sheet:
    """One table sheet: its name (at most 31 characters), the table and how to explain it."""

    name: str
    frame: pd.DataFrame
    description: str
    csv: str = ""
    note: str = ""
    wrap: list[str] = field(default_factory=list)


def _number_format(column: str) -> str | None:
    for key, fmt in NUMBER_FORMATS.items():
        if key in column:
            return fmt
    return None


def _write_table(ws, sheet: Sheet, pseudonymise) -> None:
    set_cell(ws.cell(row=1, column=1), pseudonymise(sheet.name)).font = TITLE_FONT
    set_cell(ws.cell(row=2, column=1), pseudonymise(sheet.note or sheet.description)).font = NOTE_FONT
    frame = sheet.frame
    for column_index, column in enumerate(frame.columns, start=1):
        cell = set_cell(ws.cell(row=HEADER_ROW, column=column_index), str(column))
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
    widths = [len(str(c)) + 2 for c in frame.columns]
    formats = [_number_format(column) for column in frame.columns]
    alignments = [WRAP if column in sheet.wrap else TOP for column in frame.columns]
    for row_offset, values in enumerate(frame.itertuples(index=False), start=1):
        for column_index, value in enumerate(values, start=1):
            if isinstance(value, str):
                value = pseudonymise(value)
            cell = set_cell(ws.cell(row=HEADER_ROW + row_offset, column=column_index), value)
            fmt = formats[column_index - 1]
            if fmt and isinstance(cell.value, float):
                cell.number_format = fmt
            cell.alignment = alignments[column_index - 1]
            if cell.value is not None:
                widths[column_index - 1] = max(widths[column_index - 1], min(len(str(cell.value)), MAX_WIDTH) + 2)
    for column_index, width in enumerate(widths, start=1):
        column = frame.columns[column_index - 1]
        ws.column_dimensions[get_column_letter(column_index)].width = MAX_WIDTH if column in sheet.wrap else min(width, MAX_WIDTH)
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2 if len(frame.columns) > 3 else 1)
    if len(frame):
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(max(1, len(frame.columns)))}{HEADER_ROW + len(frame)}"


def _write_framework(ws, framework: pd.DataFrame, pseudonymise, note: str) -> None:
    """Sites as rows, themes as columns; each cell: summary, best quote, the segment IDs."""
    set_cell(ws.cell(row=1, column=1), "Framework matrix").font = TITLE_FONT
    set_cell(ws.cell(row=2, column=1), pseudonymise(note)).font = NOTE_FONT
    themes = list(dict.fromkeys(zip(framework["theme_id"], framework["theme_label"])))
    sites = list(dict.fromkeys(zip(framework["site"], framework["site_label"])))
    cell = set_cell(ws.cell(row=HEADER_ROW, column=1), "Site")
    cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for j, (_, label) in enumerate(themes, start=2):
        cell = set_cell(ws.cell(row=HEADER_ROW, column=j), pseudonymise(label))
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAP
        ws.column_dimensions[get_column_letter(j)].width = 50
    ws.column_dimensions["A"].width = 22
    lookup = {(r.site, r.theme_id): r for r in framework.itertuples()}
    for i, (site, site_label) in enumerate(sites, start=HEADER_ROW + 1):
        set_cell(ws.cell(row=i, column=1), pseudonymise(site_label)).font = Font(bold=True)
        ws.cell(row=i, column=1).alignment = TOP
        for j, (theme_id, _) in enumerate(themes, start=2):
            r = lookup.get((site, theme_id))
            if r is None:
                continue
            text = r.summary
            if r.quote:
                text += "\n\n" + quote_text(r.quote, r.quote_verbatim is not False) + f"\n— {r.attribution}"
                if r.quote_reviewed is False:
                    text += " (coding not yet reviewed)"
            if r.segment_ids:
                text += f"\n\nSegments: {r.segment_ids}"
            set_cell(ws.cell(row=i, column=j), pseudonymise(text)).alignment = WRAP
        ws.row_dimensions[i].height = 180
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)


def write_workbook(target: Path, sheets: list[Sheet], framework: pd.DataFrame | None,
                   figures: list[tuple[str, Path]], pseudonymise, title: str, notes: list[str]) -> Path:
    """Write the evaluation workbook atomically.

    Parameters
    ----------
    target : Path
        ``reports/evaluation_tables.xlsx``.
    sheets : list of Sheet
        Table sheets, in order (after Contents and before Framework and Figures).
    framework : DataFrame or None
        The tidy framework matrix, laid out wide on its own sheet.
    figures : list of (title, PNG path)
        Embedded on the ``Figures`` sheet.
    pseudonymise : callable
        Applied to every text written.
    title : str
        The project name for the Contents sheet.
    notes : list of str
        General notes for the Contents sheet (for example about unreviewed suggestions).

    Returns
    -------
    Path
    """
    workbook = Workbook()
    contents = workbook.active
    contents.title = "Contents"
    set_cell(contents.cell(row=1, column=1), pseudonymise(f"{title}: evaluation tables")).font = TITLE_FONT
    row = 2
    for note in notes:
        set_cell(contents.cell(row=row, column=1), pseudonymise(note)).font = NOTE_FONT
        row += 1
    row += 1
    header_row = row
    for j, header in enumerate(["Sheet", "What it shows", "Same table as CSV"], start=1):
        cell = set_cell(contents.cell(row=row, column=j), header)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    entries = [(s.name, s.description, s.csv) for s in sheets]
    if framework is not None:
        entries.append(("Framework matrix", "Framework Method matrix: sites as rows, themes as columns; each "
                        "cell summarises the evidence, gives the best exemplar quote and lists the segment IDs.",
                        "reports/tables/framework_matrix.csv"))
    if figures:
        entries.append(("Figures", "; ".join(caption for caption, _ in figures) + ".",
                        "reports/figures/*.png"))
    for name, description, csv in entries:
        row += 1
        link = set_cell(contents.cell(row=row, column=1), name)
        link.hyperlink = f"#'{name}'!A1"
        link.font = Font(color="0563C1", underline="single")
        set_cell(contents.cell(row=row, column=2), pseudonymise(description)).alignment = WRAP
        set_cell(contents.cell(row=row, column=3), csv)
    contents.column_dimensions["A"].width = 26
    contents.column_dimensions["B"].width = 90
    contents.column_dimensions["C"].width = 48
    contents.freeze_panes = contents.cell(row=header_row + 1, column=1)

    for sheet in sheets:
        _write_table(workbook.create_sheet(sheet.name), sheet, pseudonymise)
    if framework is not None:
        _write_framework(workbook.create_sheet("Framework matrix"), framework, pseudonymise,
                         "Read across a row for one site, down a column for one theme.")
    if figures:
        ws = workbook.create_sheet("Figures")
        set_cell(ws.cell(row=1, column=1), "Figures").font = TITLE_FONT
        anchor_row = 3
        for caption, path in figures:
            set_cell(ws.cell(row=anchor_row, column=1), pseudonymise(caption)).font = Font(bold=True)
            image = Image(str(path))
            if image.width > MAX_IMAGE_WIDTH:  # the saturation and network figures are drawn large
                image.height = int(image.height * MAX_IMAGE_WIDTH / image.width)
                image.width = MAX_IMAGE_WIDTH
            ws.add_image(image, f"A{anchor_row + 1}")
            anchor_row += int(image.height / 20) + 4
    with atomic_path(target) as tmp:
        workbook.save(tmp)
    return Path(target)
