"""Spreadsheet safety shared by every workbook and CSV the pipeline writes.

* Text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR, LF) is
  stored as text in xlsx and prefixed with an apostrophe in CSV, so a quote such
  as ``=HYPERLINK(...)`` can never run in an analyst's spreadsheet.
* Control characters that the xlsx format forbids are removed, and counted.
* Text over Excel's 32,767-character cell limit is truncated with a visible
  marker and a warning; openpyxl would otherwise cut it silently.
* An infinite number (an odds ratio with an empty cell in its 2 × 2 table) is
  written as the text ``inf`` or ``-inf``, as the CSV has it: openpyxl would
  write an empty value, which spreadsheets show as a blank cell.
"""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # openpyxl takes 0.2 s to import; stages that only write CSVs need not
    from openpyxl.cell.cell import Cell

log = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
EXCEL_CELL_LIMIT = 32_767
TRUNCATION_MARKER = " … [truncated: {n} characters in full, see the CSV or parquet table]"
ILLEGAL_XLSX_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise_formula(value):
    """Return ``value`` with a leading apostrophe if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text cell passed through :func:`neutralise_formula`."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        # Find the few cells at risk vectorised; only those go through neutralise_formula.
        text = series.astype("string") if series.dtype == object else series
        risky = text.str.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
        if risky.any():
            out[column] = series.where(~risky, series[risky].map(neutralise_formula))
    return out


def clean_cell_text(text: str, where: str = "") -> str:
    """Remove forbidden control characters and cap the length, logging both."""
    cleaned, removed = ILLEGAL_XLSX_CHARACTERS.subn("", text)
    if removed:
        log.warning("Removed %d control character(s) that xlsx cannot hold%s", removed,
                    f" ({where})" if where else "")
    if len(cleaned) > EXCEL_CELL_LIMIT:
        marker = TRUNCATION_MARKER.format(n=len(cleaned))
        log.warning("Text of %d characters exceeds Excel's cell limit and was truncated with a "
                    "visible marker%s", len(cleaned), f" ({where})" if where else "")
        cleaned = cleaned[: EXCEL_CELL_LIMIT - len(marker)] + marker
    return cleaned


def set_cell(cell: Cell, value) -> Cell:
    """Write ``value`` into an openpyxl cell safely.

    Strings are always stored as text (data type ``s``), never as formulas,
    whatever they start with. Missing values become empty cells; infinities
    become the text ``inf`` / ``-inf``.
    """
    if value is None or (not isinstance(value, str) and _is_missing(value)):
        cell.value = None
        return cell
    if isinstance(value, str):
        where = f"{cell.parent.title}!{cell.coordinate}" if cell.parent is not None else ""
        cell.value = clean_cell_text(value, where)
        cell.data_type = "s"
        return cell
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isinf(value):  # xlsx has no infinity
        cell.value = "inf" if value > 0 else "-inf"
        cell.data_type = "s"
        return cell
    cell.value = value
    return cell


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
