"""Observation and workshop logs: one CSV/XLSX row per note.

A log has the columns ``session, date, site, wave, observer, note`` (and
optionally ``sector``). Rows with the same (session, date, site) form one
session document (a site written two ways of one site counts once), each note
one block, in the order of the rows. The observer
is kept in the ``speaker`` column (it is a person's name, so it is never
reported) with an empty role: a note is the evaluator's record, not something
said in an interview, and must not be skipped as an interviewer turn.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.errors import InputError, ProblemCollector
from pipeline.ingest.model import Block, RawDocument
from pipeline.ingest.register import header_records, normalise_date, normalise_wave, site_key, wave_key
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.tabular import read_grid

log = logging.getLogger("pipeline.ingest")

LOG_REQUIRED = ("session", "date", "site", "wave", "note")
LOG_OPTIONAL = ("observer", "sector")


def read_session_log(path: Path, source_file: str, method: str, sectors: dict,
                     limits: SafetyLimits | None = None) -> list[RawDocument]:
    """Read an observation or workshop log into one document per session.

    Parameters
    ----------
    path : Path
        The ``.csv`` or ``.xlsx`` log.
    source_file : str
        Its path relative to ``data/raw`` (forward slashes).
    method : str
        observation or workshop (from its folder).
    sectors : dict
        ``config["sectors"]``, to check an optional sector column.
    limits : SafetyLimits, optional
        File size and zip limits.

    Returns
    -------
    list of RawDocument
        One per (session, date, site), with ``key`` ``"session|date|site"`` and
        metadata ``session``, ``title``, ``site``, ``wave``, ``date`` (and ``sector``).

    Raises
    ------
    InputError
        Listing the columns found when required ones are missing, or every
        row with a blank session, site or wave, a bad date, an unknown sector,
        or a wave or sector that differs within one session.
    """
    display = f"data/raw/{source_file}"
    grid = read_grid(path, limits, display=display)
    header, records = header_records(grid, display)
    missing = [name for name in LOG_REQUIRED if name not in header]
    if missing:
        raise InputError(
            "missing column(s) " + ", ".join(repr(m) for m in missing), file=display, row=1,
            hint="the columns found are " + (", ".join(repr(h) for h in header if h) or "none")
                 + grid.sheet_note() + "; a session log needs " + ", ".join(LOG_REQUIRED)
                 + " (and optionally observer)",
        )
    problems = ProblemCollector()
    sessions: dict[tuple[str, str, str], RawDocument] = {}
    wave_rows: dict[tuple[str, str, str], int] = {}
    sector_rows: dict[tuple[str, str, str], int] = {}
    blank_notes = 0
    for row, record in records:
        bad = False
        for column in ("session", "site", "wave"):
            if not record.get(column):
                problems.add(display, "blank cell", row=row, column=column,
                             hint="every note needs its session, site and wave")
                bad = True
        try:
            date = normalise_date(record.get("date", ""))
        except ValueError as exc:
            problems.add(display, str(exc), row=row, column="date", hint="write dates as YYYY-MM-DD")
            bad = True
        sector = record.get("sector", "")
        if sector and sector not in sectors:
            problems.add(display, f"unknown sector {sector!r}", row=row, column="sector",
                         hint="use one of the sector keys in config.yaml: " + ", ".join(sectors))
            bad = True
        note = " ".join(record.get("note", "").split())
        if bad:
            continue
        if not note:
            blank_notes += 1
            continue
        session, site, wave = record["session"], record["site"], normalise_wave(record["wave"])
        # Site spellings that are one site ("Wrenford", "wrenford") are one session; its key keeps the
        # first spelling, so a log written one way throughout keeps its document IDs.
        group = (session, date, site_key(site))
        document = sessions.get(group)
        if document is None:
            metadata = {"session": session, "title": session, "site": site, "wave": wave, "date": date}
            if sector:
                metadata["sector"] = sector
            document = RawDocument(method=method, source_file=source_file,
                                   source_format="log-xlsx" if path.suffix.lower() == ".xlsx" else "log-csv",
                                   blocks=[], metadata=metadata, encoding=grid.encoding,
                                   key=f"{session}|{date}|{site}")
            sessions[group] = document
            wave_rows[group] = row
            if sector:
                sector_rows[group] = row
        elif wave_key(document.metadata["wave"]) != wave_key(wave):
            problems.add(display, f"wave {wave!r} differs from wave {document.metadata['wave']!r} on row "
                         f"{wave_rows[group]} for the same session", row=row, column="wave",
                         hint="one session (same session, date and site) has one wave")
            continue
        elif sector and document.metadata.get("sector", sector) != sector:
            problems.add(display, f"sector {sector!r} differs from sector {document.metadata['sector']!r} "
                         f"on row {sector_rows[group]} for the same session", row=row, column="sector",
                         hint="one session (same session, date and site) has one sector: give it on every "
                              "row, or leave the other rows blank")
            continue
        elif sector and "sector" not in document.metadata:
            document.metadata["sector"] = sector
            sector_rows[group] = row
        document.blocks.append(Block(text=note, speaker=record.get("observer", "")))
    problems.raise_if_any(f"{display} has problems", hint="fix the log and run again")
    if blank_notes:
        log.info("%s: %d row(s) with an empty note left out", display, blank_notes)
    if not sessions:
        raise InputError("the log has no notes", file=display,
                         hint="add one row per note, or remove the file from data/raw/")
    return list(sessions.values())
