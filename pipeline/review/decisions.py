"""Reading analysts' decisions back from the review workbooks in ``data/review/``.

Every ``.xlsx`` in ``data/review/`` and its subfolders (any name, any case of
the extension; Office lock files ``~$…`` and hidden files are skipped) is a
returned review workbook; a spreadsheet saved in another format is reported
(:func:`pipeline.review.inbox.review_inbox`). Files are inputs
only: they are checked (:func:`pipeline.ingest.safety.check_office_file`),
read with formulas left unevaluated, and never modified.

Reading a file
--------------
* The review sheet is the first sheet whose header row (within the first 20
  rows) has both a ``segment_id`` and a ``decision`` column, whatever the sheet
  is called. Columns are found by header name, so inserted or moved columns do
  not matter; rows are matched by ``segment_id``, so sorted, filtered and hidden
  rows do not matter either.
* ``accept`` means the code shown in ``suggested_1`` on that row (a
  ``final_code_1`` equal to it is a confirmation). ``change`` means the codes
  in ``final_code_*``. ``reject`` with no final codes means no code applies;
  ``reject`` with final codes, ``accept`` with other final codes, and final
  codes with no decision are imported as ``change`` with a warning in
  conflicts.csv. An empty row is "not reviewed yet".
* The coder is the row's ``coder`` cell, else the file name without ``.xlsx``
  (:func:`coder_from_path`: an unrenamed ``coding_review.xlsx`` in a folder of
  its own takes the folder's name, and one that names nobody is reported);
  names differing only in case or spacing are one coder (spelt as first recorded).
  A coder named by a file whose decisions all repeat another coder's is reported
  as a possible renamed copy. A comment on a row without a decision is reported.
  ``suggestion`` and ``(all coders)`` (in any case or spacing) are labels of
  the agreement table, not coders: a row with such a coder is reported and
  not imported.
* A row whose analyst cells are as pre-filled when the workbook was issued
  (recorded on its hidden ``Issued`` sheet) is not a decision made in this
  file and is skipped: an untouched copy of an old workbook never replaces a
  decision recorded since, and an ``accept`` whose ``suggested_1`` has moved
  since keeps the accepted code. A pre-filled row that was edited is a new
  decision of the coder in its ``coder`` cell.
* Code ids are checked against the codebook; an old id listed in a code's
  ``aliases`` is mapped to that code.

Problems are written to ``reports/review/conflicts.csv`` (``file, sheet, cell,
segment_id, problem, detail``) with the cell they concern, and only the rows
concerned are left out; everything else is imported (except from a sheet where
two columns have the same read header: nothing is imported from it). Reported: deleted rows
(segments in the workbook as issued, listed on its hidden ``Issued`` sheet, or
else every non-interviewer segment, that the returned sheet lacks), duplicated
IDs, edited (unknown) IDs, codes not in the codebook, formulas in the cells
read (never evaluated), merged cells, invalid decisions, reserved coder names, decisions whose
segment has gone (kept, ``orphaned``), decisions whose code was removed from
the codebook (kept), decisions cleared in a file (the earlier decision stands)
and decisions older than the one already recorded (ignored), and files without their
``Issued`` sheet (a row repeating a decision its coder has recorded is then taken for a
pre-filled row, not a new decision).

Rules that keep every decision
------------------------------
* **A decision is superseded only by a newer decision for the same segment and
  coder — never by absence.** If a file is removed, a row deleted or a
  decision cleared, the earlier decision stands. To undo a decision, record a
  new one (``reject`` with no codes: no code applies).
* "Newer" is the file's modification time (``recorded_at``), or the time saved
  inside the workbook when that is over a minute earlier (a copy or a download
  of an older save; see :func:`saved_time`). When the same
  coder's decision for a segment is in several files, the most recently
  modified file wins and the others are noted in the audit log as superseded.
  A file whose decision differs from the recorded one but is older than it
  (an old copy put back) is ignored and reported. So is a row a file gave
  before (the audit log has it) when the file is saved again later, for
  another row's sake: only what is new in a file is a new decision.
* ``data/processed/decisions_audit.csv`` is an append-only log of every new or
  changed decision (who, when, which file and row, old → new). It is not a
  Snakemake output, so a re-run never deletes it: it is the durable memory,
  and ``decisions.parquet`` is rebuilt on every import as the latest state in
  the audit log updated by the files now present. (A ``decisions.parquet``
  with decisions the log lacks, e.g. from before the log existed, is adopted
  and logged as ``restored``.)
* Segment IDs are stable across re-ingests, so every decision keeps applying
  to its segment after new fieldwork is added. A decision whose segment is no
  longer in ``segments.parquet`` is kept with ``orphaned = True``.
* The one exception: segments forgotten because their participant withdrew
  (``python -m pipeline forget``, :mod:`pipeline.forget`, which records their IDs
  in ``data/processed/forgotten_segments.csv``). Their decisions are dropped from
  the log and the table, and a workbook row holding one is reported
  (``forgotten segment``) and never imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from pipeline import paths
from pipeline.atomic import atomic_path, write_csv, write_parquet
from pipeline.codebook import Codebook, project_codebook
from pipeline.errors import InputError, PipelineError, ProblemCollector
from pipeline.ingest.safety import SafetyLimits, check_office_file
from pipeline.review import (
    ACCEPT,
    CHANGE,
    CODE_SEPARATOR,
    DECISION_VALUES,
    EDITABLE_HEADERS,
    FINAL_HEADERS,
    ISSUED_HEADER,
    REJECT,
    SUGGESTED_HEADERS,
)
from pipeline.review.agreement import ALL_CODERS, SUGGESTION
from pipeline.review.inbox import OTHER_SPREADSHEETS, review_inbox
from pipeline.spreadsheet import FORMULA_PREFIXES
from pipeline.tables import read_checked

log = logging.getLogger(__name__)

# Headers whose column is read; one of them on two columns makes a file ambiguous (final_code_N too).
READ_HEADERS = frozenset({"segment_id", *EDITABLE_HEADERS, *SUGGESTED_HEADERS})

DECISION_COLUMNS = ["segment_id", "coder", "decision", "code_id", "comment", "source_file", "row",
                    "recorded_at", "orphaned", "shown_codes"]
# shown_codes: the codes the row the decision came from showed in suggested_1 … suggested_3
# (";"-joined, in that order; "" for none), so that the agreement measures compare a decision
# with what the analyst saw, not with suggestions re-trained on the decision since. Null when
# not known: the workbook is no longer in data/review/, or has no suggested_* columns, or the
# table was written by an older version (which lacks the column; it is read as all null).
OPTIONAL_DECISION_COLUMNS = ("shown_codes",)
CONFLICT_COLUMNS = ["file", "sheet", "cell", "segment_id", "problem", "detail"]
AUDIT_COLUMNS = ["logged_at", "event", "segment_id", "coder", "old_decision", "old_codes",
                 "old_comment", "new_decision", "new_codes", "new_comment", "source_file", "sheet",
                 "cell", "row", "recorded_at", "detail"]
# Audit events that set the state of a (segment, coder) decision; the others are notes.
STATE_EVENTS = ("new", "changed", "restored")
HEADER_SCAN_ROWS = 20
FORGOTTEN_ROW_DETAIL = ("this segment was forgotten with `python -m pipeline forget` (its participant "
                        "withdrew), so the row is not imported — delete this workbook from data/review/, "
                        "or delete the segment's rows from it")


@dataclass(frozen=True)
class Decision:
    """One coder's decision on one segment.

    Attributes
    ----------
    segment_id, coder : str
    decision : {"accept", "reject", "change"}
    codes : tuple of str
        The codes that apply (empty for a reject with no code).
    comment : str
    source_file : str
        Path of the workbook it was read from, relative to the project folder.
    sheet : str
    row : int
        Spreadsheet row it was read from.
    cell : str
        Reference of the row's segment_id cell, e.g. ``Review!A17``.
    recorded_at : pandas.Timestamp
        Modification time of the source file (UTC).
    """

    segment_id: str
    coder: str
    decision: str
    codes: tuple[str, ...]
    comment: str
    source_file: str
    sheet: str
    row: int
    recorded_at: pd.Timestamp
    cell: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.segment_id, self.coder)

    @property
    def content(self) -> tuple:
        """What the analyst decided; two decisions with equal content are the same decision."""
        return (self.decision, self.codes, self.comment)


@dataclass
class Conflicts:
    """The rows of conflicts.csv."""

    rows: list[dict]

    def add(self, file: str, sheet: str, cell: str, segment_id: str, problem: str, detail: str) -> None:
        self.rows.append({"file": file, "sheet": sheet, "cell": cell, "segment_id": segment_id,
                          "problem": problem, "detail": detail})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=CONFLICT_COLUMNS)


# ------------------------------------------------------------------ decisions table


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read ``decisions.parquet``; an empty frame with :data:`DECISION_COLUMNS` if absent."""
    path = Path(path)
    if not path.exists():
        return empty_decisions()
    frame = read_checked(path, [c for c in DECISION_COLUMNS if c not in OPTIONAL_DECISION_COLUMNS],
                         "decisions",
                         hint="delete it and run the pipeline again: it is rebuilt from the audit log")
    for column in OPTIONAL_DECISION_COLUMNS:
        if column not in frame:
            frame[column] = None
    for column in ("segment_id", "coder", "decision", "code_id", "comment", "source_file"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["orphaned"] = frame["orphaned"].astype(bool)
    return frame


def empty_decisions() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in DECISION_COLUMNS})
    frame["row"] = frame["row"].astype("int64")
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
    frame["orphaned"] = frame["orphaned"].astype(bool)
    return frame


def without_removed_codes(decisions: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, int]:
    """Decisions less those none of whose codes is in the codebook any more.

    Such a decision no longer codes its segment: another coder's decision
    applies if there is one (:func:`current_decisions` picks among those left),
    and otherwise the segment counts as unreviewed again, carrying its
    suggestion in the coded segments and offered for review with nothing
    pre-filled. It stays recorded, and comes back if its code is put back or
    listed as an alias. A reject with no code is never set aside.

    Returns
    -------
    (DataFrame, int)
        The decisions kept, and how many (segment, coder) decisions were set aside.
    """
    coded = decisions[decisions["code_id"].fillna("").astype(str) != ""]
    if coded.empty:
        return decisions, 0
    alive = coded["code_id"].map(lambda code: codebook.resolve_alias(str(code)) is not None)
    any_alive = alive.groupby([coded["segment_id"], coded["coder"]]).any()
    stale = any_alive[~any_alive].index
    keys = pd.MultiIndex.from_frame(decisions[["segment_id", "coder"]])
    return decisions[~keys.isin(stale)], len(stale)


def current_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decision that applies to each segment when several coders decided it.

    Multi-coder rule: the most recent decision (latest ``recorded_at``; on a tie,
    the coder whose name sorts last) wins for the coded data and the workbook's
    pre-filled values; the agreement measures use every coder. Orphaned
    decisions are left out.

    Parameters
    ----------
    decisions : DataFrame
        ``decisions.parquet`` (one row per segment, coder and code).

    Returns
    -------
    DataFrame
        The rows of ``decisions`` belonging to the winning coder of each segment,
        in their original order.
    """
    live = decisions[~decisions["orphaned"].astype(bool)]
    if live.empty:
        return live.copy()
    per_coder = (live.groupby(["segment_id", "coder"], sort=False)["recorded_at"].max().reset_index()
                 .sort_values(["segment_id", "recorded_at", "coder"], kind="stable"))
    winners = per_coder.drop_duplicates("segment_id", keep="last")[["segment_id", "coder"]]
    return live.merge(winners, on=["segment_id", "coder"], how="inner")


def decisions_frame(state: dict[tuple[str, str], Decision], codebook: Codebook,
                    segment_ids: set[str], shown: dict[tuple[str, str], tuple[str, ...]] | None = None,
                    ) -> pd.DataFrame:
    """Project decisions onto the rows of ``decisions.parquet`` (one per segment, coder and code).

    Codes are mapped through the codebook's aliases; a code the codebook no
    longer has is kept as recorded. ``orphaned`` marks segments not in ``segment_ids``.
    ``shown`` maps (source file, segment_id) to the suggestions that file's row
    showed; it fills ``shown_codes`` (null where unknown).
    """
    shown = shown or {}
    records = []
    for key in sorted(state):
        decision = state[key]
        codes = [codebook.resolve_alias(c) or c for c in decision.codes] or [""]
        offered = shown.get((decision.source_file, decision.segment_id))
        offered = (None if offered is None
                   else CODE_SEPARATOR.join(dict.fromkeys(codebook.resolve_alias(c) or c for c in offered)))
        for code_id in dict.fromkeys(codes):
            records.append({
                "segment_id": decision.segment_id, "coder": decision.coder,
                "decision": decision.decision, "code_id": code_id, "comment": decision.comment,
                "source_file": decision.source_file, "row": int(decision.row),
                "recorded_at": decision.recorded_at,
                "orphaned": decision.segment_id not in segment_ids, "shown_codes": offered,
            })
    if not records:
        return empty_decisions()
    frame = pd.DataFrame(records, columns=DECISION_COLUMNS)
    frame["row"] = frame["row"].astype("int64")
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"], utc=True)
    frame["orphaned"] = frame["orphaned"].astype(bool)
    return frame


def state_from_decisions(frame: pd.DataFrame) -> dict[tuple[str, str], Decision]:
    """Rebuild decisions from ``decisions.parquet`` rows."""
    state = {}
    for (segment_id, coder), group in frame.groupby(["segment_id", "coder"], sort=False):
        first = group.iloc[0]
        state[(segment_id, coder)] = Decision(
            segment_id=segment_id, coder=coder, decision=first["decision"],
            codes=tuple(c for c in group["code_id"] if c), comment=first["comment"],
            source_file=first["source_file"], sheet="", row=int(first["row"]),
            recorded_at=pd.Timestamp(first["recorded_at"]),
        )
    return state


# ---------------------------------------------------------------------- audit log


def _escape(value) -> str:
    """Make text safe to open in a spreadsheet, reversibly (see :func:`_unescape`)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES + ("'",)):
        return "'" + text
    return text


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _timestamp_text(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).tz_convert("UTC").isoformat()


def read_audit_log(path: str | Path) -> list[dict]:
    """Read the audit log; a list of rows (dicts of text), empty if it does not exist yet.

    Raises
    ------
    InputError
        If the file's header is not the audit log's (it was edited or replaced).
    """
    path = Path(path)
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return []
        if header != AUDIT_COLUMNS:
            raise InputError(
                "the decisions audit log does not have the expected columns", file=path,
                hint="restore it from a backup; it is the record of every review decision "
                     f"(expected columns: {', '.join(AUDIT_COLUMNS)})",
            )
        rows = []
        for number, values in enumerate(reader, start=2):
            if not any(values):
                continue
            if len(values) != len(AUDIT_COLUMNS):
                raise InputError(f"the row has {len(values)} fields, expected {len(AUDIT_COLUMNS)}",
                                 file=path, row=number,
                                 hint="restore the audit log from a backup; do not edit it by hand")
            rows.append(dict(zip(AUDIT_COLUMNS, (_unescape(v) for v in values))))
    return rows


def state_from_audit(rows: list[dict]) -> dict[tuple[str, str], Decision]:
    """Replay the audit log: the latest state-setting event of each (segment, coder)."""
    state = {}
    for row in rows:
        if row["event"] not in STATE_EVENTS:
            continue
        decision = Decision(
            segment_id=row["segment_id"], coder=row["coder"], decision=row["new_decision"],
            codes=tuple(c for c in row["new_codes"].split(CODE_SEPARATOR) if c),
            comment=row["new_comment"], source_file=row["source_file"], sheet=row["sheet"],
            row=int(row["row"] or 0), recorded_at=pd.Timestamp(row["recorded_at"]), cell=row["cell"],
        )
        state[decision.key] = decision
    return state


def audit_row(event: str, new: Decision, old: Decision | None = None, detail: str = "",
              logged_at: str = "") -> dict:
    """One audit log row describing ``old`` → ``new``."""
    return {
        "logged_at": logged_at, "event": event, "segment_id": new.segment_id, "coder": new.coder,
        "old_decision": old.decision if old else "",
        "old_codes": CODE_SEPARATOR.join(old.codes) if old else "",
        "old_comment": old.comment if old else "",
        "new_decision": new.decision, "new_codes": CODE_SEPARATOR.join(new.codes),
        "new_comment": new.comment, "source_file": new.source_file, "sheet": new.sheet,
        "cell": new.cell, "row": str(new.row), "recorded_at": _timestamp_text(new.recorded_at), "detail": detail,
    }


def _audit_bytes(rows: list[dict], header: bool) -> bytes:
    """Audit log rows as the file holds them (with the header and BOM when ``header``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow([_escape(row[c]) for c in AUDIT_COLUMNS])
    text = buffer.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + text if header else text  # BOM, so that Excel opens it as UTF-8


def append_audit_log(path: str | Path, rows: list[dict]) -> None:
    """Append ``rows`` to the audit log, atomically (the old content is copied unchanged).

    The header is written only when the log is new. The whole file is written to
    a temp file and renamed, so an interrupted run leaves the old log intact.
    """
    if not rows:
        return
    path = Path(path)
    old = path.read_bytes() if path.exists() and path.stat().st_size else b""
    new = _audit_bytes(rows, header=not old)
    if old and not old.endswith(b"\n"):
        old += b"\r\n"
    with atomic_path(path) as tmp:
        tmp.write_bytes(old + new)


def rewrite_audit_log(path: str | Path, rows: list[dict]) -> None:
    """Write the audit log anew with ``rows`` (as :func:`read_audit_log` gives them), atomically.

    The one sanctioned rewrite of the log: ``python -m pipeline forget`` drops
    the rows of withdrawn participants' segments. Rows written by this module
    come out byte for byte as they were.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(_audit_bytes(rows, header=True))


# ------------------------------------------------------------------ reading a file


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def quote_sheetname(title: str) -> str:
    """A sheet name as a cell reference writes it: ``Review``, ``'My coding'``."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _header_name(value) -> str:
    return re.sub(r"\s+", "_", _cell_text(value).strip().lower())


@dataclass
class _Sheet:
    """The review sheet of one file: where its header and columns are."""

    sheet: object
    header_row: int
    columns: dict[str, int]     # header -> 1-based column (the leftmost, if repeated)
    final_columns: list[int]    # final_code_1, final_code_2, ... in order
    repeated: dict[str, list[int]] = field(default_factory=dict)   # a read header -> its columns, if several


def find_review_sheet(workbook) -> tuple[_Sheet | None, list[str]]:
    """Find the sheet with ``segment_id`` and ``decision`` headers (any sheet name).

    Returns
    -------
    (_Sheet or None, list of str)
        The sheet found, and the titles of further sheets that also qualify (ignored).
    """
    found: list[_Sheet] = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS):
            every: dict[str, list[int]] = {}
            for cell in row:
                name = _header_name(cell.value) if cell.data_type != "f" else ""
                if name:
                    every.setdefault(name, []).append(cell.column)
            names = {name: columns[0] for name, columns in every.items()}
            if "segment_id" in names and "decision" in names:
                finals = sorted(
                    ((int(m.group(1)), col) for name, col in names.items()
                     if (m := re.fullmatch(r"final_code_?(\d+)", name))),
                )
                repeated = {name: columns for name, columns in every.items() if len(columns) > 1 and (
                    name in READ_HEADERS or re.fullmatch(r"final_code_?\d+", name))}
                found.append(_Sheet(sheet, row[0].row, names, [col for _, col in finals], repeated))
                break
    if not found:
        return None, []
    return found[0], [s.sheet.title for s in found[1:]]


def read_issued(workbook) -> dict[str, dict[str, str] | None] | None:
    """The workbook as issued, from its hidden Issued sheet; None if it has none.

    Returns
    -------
    dict or None
        Segment ID → the analyst cells as pre-filled (header → text, e.g.
        ``{"decision": "accept", "final_code_1": "rel_trust", ...}``), in the
        order issued. The values are None for a workbook issued before the
        Issued sheet recorded them.
    """
    for sheet in workbook.worksheets:
        if _header_name(sheet["A1"].value) != ISSUED_HEADER:
            continue
        header = {c: _header_name(cell.value) for c, cell in enumerate(sheet[1]) if c}
        prefilled = [(c, name) for c, name in header.items() if name in EDITABLE_HEADERS]
        issued = {}
        for row in sheet.iter_rows(min_row=2):
            segment_id = _cell_text(row[0].value)
            if segment_id:
                issued[segment_id] = ({name: _cell_text(row[c].value) if c < len(row) else ""
                                       for c, name in prefilled} if prefilled else None)
        return issued
    return None


@dataclass(frozen=True)
class _AnalystCells:
    """What the analyst cells of a row hold, comparable between the issued and the returned sheet."""

    decision: str
    codes: tuple[str, ...]
    coder: str
    comment: str

    @classmethod
    def issued(cls, values: dict[str, str]) -> _AnalystCells:
        return cls(values.get("decision", "").lower(),
                   tuple(values[h] for h in FINAL_HEADERS if values.get(h)),
                   " ".join(values.get("coder", "").split()), values.get("comment", ""))

    @property
    def filled(self) -> bool:
        return bool(self.decision or self.codes)

    def same(self, other: _AnalystCells, present: set[str]) -> bool:
        """Equal in the columns the returned sheet still has (``present``: header names)."""
        return (self.decision == other.decision and self.codes == other.codes
                and ("coder" not in present or self.coder == other.coder)
                and ("comment" not in present or self.comment == other.comment))


class _CodeResolver:
    """Code ids as typed → live code ids (aliases mapped, case forgiven)."""

    def __init__(self, codebook: Codebook):
        self.codebook = codebook
        self.folded = {}
        for code in codebook.codes:
            for name in (code.id, *code.aliases):
                self.folded.setdefault(name.casefold(), code.id)

    def __call__(self, text: str) -> str | None:
        return self.codebook.resolve_alias(text) or self.folded.get(text.casefold())


@dataclass
class FileResult:
    """What one returned workbook holds."""

    source_file: str
    decisions: list[Decision]
    seen_ids: set[str]
    # Rows with no decision: (segment_id, coder, sheet, cell, issued_filled), where
    # issued_filled says the row was issued with a decision.
    cleared: list[tuple[str, str, str, str, bool]]
    # segment_id -> the codes its row shows in suggested_1 … suggested_3, as typed
    # (empty when the sheet has no such columns).
    shown: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Whether the file has its hidden Issued sheet (what each row held when written).
    issued_sheet: bool = True
    # The coder its rows without a coder cell were given from the file's name ("" if none was).
    name_coder: str = ""


def read_review_file(
    path: Path,
    relative: str,
    resolve: _CodeResolver,
    known_ids: set[str],
    fallback_issued: list[str],
    conflicts: Conflicts,
    forgotten: frozenset[str] | set[str] = frozenset(),
    coder_default: str | None = None,
) -> FileResult:
    """Read the decisions in one returned review workbook.

    Parameters
    ----------
    path : Path
        The workbook (already checked with ``check_office_file``).
    relative : str
        Its path as reported (relative to the project folder).
    resolve : callable
        Maps a code id as typed to a live code id, or None.
    known_ids : set of str
        Segment IDs that exist or have earlier decisions; any other ID (unless
        on the file's Issued sheet) is reported as edited and not imported.
    fallback_issued : list of str
        Segment IDs assumed issued when the file has no Issued sheet.
    conflicts : Conflicts
        Problems are added here.
    forgotten : set of str, optional
        Segment IDs forgotten because their participant withdrew (see
        :mod:`pipeline.forget`): their rows are reported and never imported.
    coder_default : str, optional
        The coder of rows whose coder cell is empty (default:
        :func:`coder_from_file_name`).

    Returns
    -------
    FileResult
    """
    workbook = load_workbook(path, data_only=False, read_only=False)
    recorded_at = saved_time(path, workbook)
    coder_default = coder_default or coder_from_path(relative)
    unnamed_rows: list[str] = []   # rows whose coder is a file name that names nobody
    name_coder = ""
    found, extra = find_review_sheet(workbook)
    if found is None:
        conflicts.add(relative, "", "", "", "no review sheet",
                      "no sheet has both a segment_id and a decision column; nothing was imported "
                      "from this file")
        return FileResult(relative, [], set(), [])
    sheet, title = found.sheet, found.sheet.title
    for other in extra:
        conflicts.add(relative, other, "", "", "extra review sheet",
                      f"only the first review sheet ({title!r}) is read; this one is ignored")
    if found.repeated:
        for name, columns in sorted(found.repeated.items()):
            cells = [sheet.cell(row=found.header_row, column=c).coordinate for c in columns]
            conflicts.add(relative, title, quote_sheetname(title) + "!" + cells[0], "", "repeated column",
                          f"{len(cells)} columns are headed {name!r} ({', '.join(cells)}), so it is not "
                          "clear which one holds the decisions; nothing was imported from this file "
                          "(earlier decisions stand) — rename or delete the extra column")
        return FileResult(relative, [], set(), [])
    columns = found.columns
    issued_sheet = read_issued(workbook)
    issued_from_file = issued_sheet is not None
    issued = list(issued_sheet) if issued_from_file else fallback_issued
    issued_set = set(issued)
    prefilled = {segment_id: _AnalystCells.issued(values)
                 for segment_id, values in (issued_sheet or {}).items() if values is not None}

    where = quote_sheetname(title) + "!"

    def ref(row: int, column: int) -> str:
        return where + sheet.cell(row=row, column=column).coordinate

    id_col = columns["segment_id"]
    read_cols = [id_col, columns["decision"], *found.final_columns]
    for name in ("coder", "comment", "suggested_1"):
        if name in columns:
            read_cols.append(columns[name])
    # What each row showed, for the agreement measures; only read, never a reason to skip a row.
    suggested_cols = [columns[h] for h in SUGGESTED_HEADERS] if set(SUGGESTED_HEADERS) <= set(columns) else []
    row_suggestions: dict[str, tuple[str, ...]] = {}

    # Merged cells in the data area: report each; rows whose read cells are merged are skipped.
    skipped_rows: set[int] = set()
    for merged in list(sheet.merged_cells.ranges):
        if merged.max_row <= found.header_row:
            continue
        conflicts.add(relative, title, where + merged.coord, "", "merged cells",
                      "merged cells in the data area"
                      + ("; the rows they cover were not imported — unmerge them"
                         if any(merged.min_col <= c <= merged.max_col for c in read_cols)
                         else " (in a column that is not read)"))
        if any(merged.min_col <= c <= merged.max_col for c in read_cols):
            skipped_rows.update(range(max(merged.min_row, found.header_row + 1), merged.max_row + 1))

    candidates: dict[tuple[str, str], list[Decision]] = {}
    rows_of_id: dict[str, list[int]] = {}
    cleared = []
    for r in range(found.header_row + 1, sheet.max_row + 1):
        cells = {c: sheet.cell(row=r, column=c) for c in read_cols}
        formulas = [c for c, cell in cells.items() if cell.data_type == "f"]
        segment_id = "" if id_col in formulas else _cell_text(cells[id_col].value)
        values = {c: ("" if c in formulas else _cell_text(cell.value)) for c, cell in cells.items()}
        if not any(values.values()) and not formulas:
            continue
        if segment_id:
            rows_of_id.setdefault(segment_id, []).append(r)
            if suggested_cols and segment_id not in row_suggestions:
                offered = [sheet.cell(row=r, column=c) for c in suggested_cols]
                row_suggestions[segment_id] = tuple(_cell_text(cell.value) for cell in offered
                                          if cell.data_type != "f" and _cell_text(cell.value))
        if r in skipped_rows:
            continue
        if formulas:
            for c in formulas:
                conflicts.add(relative, title, ref(r, c), segment_id, "formula",
                              "a formula in a cell that is read; formulas are never evaluated — "
                              "type the value instead. The row was not imported")
            continue
        decision_text = values[columns["decision"]].lower()
        typed_codes = [(c, values[c]) for c in found.final_columns if values[c]]
        coder_cell = " ".join(values.get(columns.get("coder"), "").split())
        coder = coder_cell or coder_default
        comment = values.get(columns.get("comment"), "")
        if not segment_id:
            if decision_text or typed_codes:
                conflicts.add(relative, title, ref(r, id_col), "", "unknown segment_id",
                              "a decision in a row without a segment_id; it was not imported")
            continue
        if segment_id in forgotten:
            conflicts.add(relative, title, ref(r, id_col), segment_id, "forgotten segment",
                          FORGOTTEN_ROW_DETAIL)
            continue
        if segment_id not in known_ids and segment_id not in issued_set:
            conflicts.add(relative, title, ref(r, id_col), segment_id, "unknown segment_id",
                          "this segment_id is not in the segments table nor in any earlier decision: "
                          "it may have been edited (or Excel dropped leading zeros). The row was "
                          "not imported")
            continue
        as_issued = prefilled.get(segment_id)
        as_returned = _AnalystCells(decision_text, tuple(t for _, t in typed_codes), coder_cell, comment)
        if not as_returned.filled:
            if as_issued is not None and as_issued.filled:
                cleared.append((segment_id, as_issued.coder or coder_default, title, ref(r, id_col), True))
            else:
                cleared.append((segment_id, coder, title, ref(r, id_col), False))
            if comment and (as_issued is None or comment != as_issued.comment):
                # A note typed without a decision ("check with the Ostleby team") is no decision,
                # but it must not vanish unseen.
                conflicts.add(relative, title, ref(r, columns["comment"]), segment_id, "comment without decision",
                              f"a comment but no decision ({comment!r}); nothing was imported from this row — "
                              "choose a decision (reject when no code applies) to record it with the comment")
            continue
        if as_issued is not None and as_returned.same(as_issued, set(columns)):
            # Left as issued, so not a decision made in this file: the pre-filled
            # decision is already recorded (and may have been replaced since).
            continue
        if _coder_key(coder) in RESERVED_CODERS:
            from_cell = bool(coder_cell)
            conflicts.add(relative, title, ref(r, columns["coder"] if "coder" in columns else id_col),
                          segment_id, "reserved coder name",
                          f"the coder {coder!r}" + ("" if from_cell else " (from the file name)")
                          + f" is a label the agreement table uses for its own rows ({SUGGESTION!r}, "
                          f"{ALL_CODERS!r}); write the analyst's name in the coder cell"
                          + ("" if from_cell else " or rename the file") + ". The row was not imported")
            continue
        if decision_text and decision_text not in DECISION_VALUES:
            conflicts.add(relative, title, ref(r, columns["decision"]), segment_id, "invalid decision",
                          f"{values[columns['decision']]!r} is not one of accept, reject, change; "
                          "the row was not imported")
            continue
        codes, bad = [], False
        for c, text in typed_codes:
            live = resolve(text)
            if live is None:
                conflicts.add(relative, title, ref(r, c), segment_id, "unknown code",
                              f"{text!r} is not a code id in the codebook; this row was not imported "
                              "(a decision recorded earlier for the segment still stands)")
                bad = True
            elif live not in codes:
                codes.append(live)
        if bad:
            continue
        decision = decision_text
        if decision == ACCEPT:
            # `accept` means the code the analyst saw in suggested_1. A sheet that
            # lost that column is reported below ("accept without a suggestion").
            shown = values[columns["suggested_1"]] if "suggested_1" in columns else ""
            shown_cell = ref(r, columns.get("suggested_1", columns["decision"]))
            suggested = resolve(shown) if shown else None
            if shown and suggested is None:
                conflicts.add(relative, title, shown_cell, segment_id, "unknown code",
                              f"the accepted suggestion {shown!r} is not in the codebook; the row "
                              "was not imported (a decision recorded earlier for the segment still stands)")
                continue
            if as_issued is not None and as_issued.decision == ACCEPT and codes \
                    and as_returned.codes == as_issued.codes:
                pass  # an accept as issued: suggested_1 has moved since, the accepted codes stand
            elif codes and codes != [suggested]:
                conflicts.add(relative, title, ref(r, columns["decision"]), segment_id,
                              "accept with other codes",
                              "accept with final codes other than suggested_1: imported as change "
                              f"to {', '.join(codes)}")
                decision = CHANGE
            elif suggested is None:
                conflicts.add(relative, title, ref(r, columns["decision"]), segment_id,
                              "accept without a suggestion",
                              "accept, but there is no suggested_1 on this row; choose change and a "
                              "final code. The row was not imported")
                continue
            else:
                codes = [suggested]
        elif decision == REJECT and codes:
            conflicts.add(relative, title, ref(r, columns["decision"]), segment_id, "reject with codes",
                          f"reject with final codes: imported as change to {', '.join(codes)}")
            decision = CHANGE
        elif decision == CHANGE and not codes:
            conflicts.add(relative, title, ref(r, columns["decision"]), segment_id,
                          "change without codes",
                          "change, but no final_code is filled in; the row was not imported")
            continue
        elif not decision:
            conflicts.add(relative, title, ref(r, columns["decision"]), segment_id,
                          "codes without decision",
                          f"final codes but no decision: imported as change to {', '.join(codes)}")
            decision = CHANGE
        if not coder_cell:
            name_coder = coder
            if _coder_key(coder) == _coder_key(ISSUED_STEM):
                unnamed_rows.append(ref(r, id_col))
        made = Decision(segment_id, coder, decision, tuple(codes), comment, relative, title, r,
                        recorded_at, ref(r, id_col))
        candidates.setdefault(made.key, []).append(made)

    # Duplicated IDs: every repeat is reported; identical repeats are imported once.
    for segment_id, rows in rows_of_id.items():
        for r in rows[1:]:
            conflicts.add(relative, title, ref(r, id_col), segment_id, "duplicated segment_id",
                          f"this segment_id is also in row {rows[0]}")
    decisions = []
    for key, found_here in candidates.items():
        if len({d.content for d in found_here}) > 1:
            conflicts.add(relative, title, ref(found_here[0].row, id_col), key[0],
                          "conflicting duplicates",
                          f"rows {', '.join(str(d.row) for d in found_here)} give different decisions "
                          f"for coder {key[1]!r}; none of them was imported")
            continue
        decisions.append(found_here[0])

    if unnamed_rows:
        conflicts.add(relative, title, unnamed_rows[0], "", "no coder name",
                      f"{len(unnamed_rows)} decision(s) have an empty coder cell and the file name names nobody, "
                      f"so they are recorded as coder {coder_default!r}; every file like this is one coder "
                      "to the agreement measures — write your name in the coder column (or name the file "
                      "coding_review_<your name>.xlsx, or keep it in a folder data/review/<your name>/)")
    seen = set(rows_of_id)
    for position, segment_id in enumerate(issued):
        if segment_id not in seen and segment_id not in forgotten:
            cell = f"{where}A{position + 2}" if issued_from_file else title
            conflicts.add(relative, title, cell, segment_id, "deleted row",
                          "this segment was in the workbook as issued"
                          + (f" (row {position + 2})" if issued_from_file else "")
                          + " but its row is missing; any earlier decision on it still stands")
    return FileResult(relative, decisions, seen, cleared, row_suggestions, issued_from_file, name_coder)


# --------------------------------------------------------------------------- merge


def _report_unusable(unusable: list[Path], root: Path, on_bad_file: str, conflicts: pd.DataFrame,
                     error: InputError | None = None) -> pd.DataFrame:
    """Report the spreadsheets in ``data/review/`` saved in another format than .xlsx.

    With ``on_bad_file: stop`` raise one InputError listing them, together with the
    problems of ``error`` (the import's own error about unusable .xlsx files, if it
    raised one); with ``skip`` return ``conflicts`` with a row for each of them.
    """
    found = ProblemCollector()
    for path in unusable:
        suffix = path.suffix.lower()
        hint = ("download it from Google Sheets as Microsoft Excel (.xlsx) into data/review/"
                if suffix == ".gsheet" else "open it and save it as .xlsx (Excel Workbook)")
        found.add(_relative(path, root), f"is {OTHER_SPREADSHEETS[suffix]} ({suffix}); only .xlsx "
                  "workbooks are read, so its decisions are not imported",
                  hint=hint + ", then move this file out of data/review/")
    if error is not None:
        found.extend(error)
        for problem in found.problems:
            problem.file = _relative(Path(problem.file), root) if problem.file else problem.file
    if found and (on_bad_file == "stop" or error is not None):
        found.raise_if_any("review workbooks in data/review/ cannot be used",
                           hint="fix or remove them, or set review.on_bad_file: skip in config.yaml")
    rows = Conflicts([])
    for problem in found.problems:
        log.warning("Not imported (review.on_bad_file: skip): %s", problem)
        rows.add(problem.file, "", "", "", "unreadable file", f"{problem.message} — {problem.hint}")
    return pd.concat([rows.frame(), conflicts], ignore_index=True) if rows.rows else conflicts


def import_decisions(
    files: list[Path],
    root: Path,
    codebook: Codebook,
    segments: pd.DataFrame,
    previous: pd.DataFrame,
    audit_rows: list[dict],
    limits: SafetyLimits | None = None,
    on_bad_file: str = "stop",
    now: str | None = None,
    forgotten: frozenset[str] | set[str] = frozenset(),
    shown_before: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Merge the decisions in ``files`` with the recorded ones.

    Parameters
    ----------
    files : list of Path
        Returned review workbooks.
    root : Path
        Project folder (file names are reported relative to it).
    codebook : Codebook
    segments : DataFrame
        The current segments table.
    previous : DataFrame
        The existing ``decisions.parquet`` (may be empty).
    audit_rows : list of dict
        The existing audit log (see :func:`read_audit_log`).
    limits : SafetyLimits, optional
        For :func:`pipeline.ingest.safety.check_office_file`.
    on_bad_file : {"stop", "skip"}
        What to do with a file that is not a usable .xlsx: raise an InputError
        listing every such file, or report it in conflicts and carry on.
    now : str, optional
        Time stamp for the audit rows (default: now, UTC).
    forgotten : set of str, optional
        Segment IDs forgotten because their participant withdrew: no decision on
        them is imported or kept, whatever the files, the log or ``previous`` hold.
    shown_before : dict, optional
        (source file, segment_id) → the codes that row showed, as recorded by an
        earlier import (:data:`pipeline.paths.SHOWN_CODES`), for files moved or removed since.

    Returns
    -------
    (decisions, conflicts, new_audit_rows)
        The new ``decisions.parquet`` frame, the ``conflicts.csv`` frame and the
        rows to append to the audit log.
    """
    root = Path(root)
    now = now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    conflicts = Conflicts([])
    segment_ids = set(segments["segment_id"].astype(str))
    roles = segments.get("speaker_role", pd.Series([""] * len(segments))).fillna("").astype(str)
    fallback_issued = list(segments.loc[roles.to_numpy() != "interviewer", "segment_id"].astype(str))

    if forgotten:
        audit_rows = [r for r in audit_rows if r["segment_id"] not in forgotten]
        previous = previous[~previous["segment_id"].isin(forgotten)]
        back = len(segment_ids & set(forgotten))
        if back:
            log.warning("%d segment(s) forgotten by `python -m pipeline forget` (a participant withdrew) "
                        "are in the segments table again: a withdrawn participant's file may have been "
                        "put back into data/raw/. Their earlier decisions stay forgotten; if the "
                        "participant withdrew, delete the file again and run the pipeline and forget",
                        back)
    def live(codes) -> tuple[str, ...]:
        """Recorded codes as the codebook names them now: a code renamed with an alias is the same
        decision, not a change the analyst made."""
        return tuple(dict.fromkeys(codebook.resolve_alias(c) or c for c in codes if c))

    def live_text(codes: str) -> str:   # as the audit log writes codes
        return CODE_SEPARATOR.join(live(codes.split(CODE_SEPARATOR)))

    state = {key: replace(d, codes=live(d.codes)) for key, d in state_from_audit(audit_rows).items()}
    new_audit: list[dict] = []
    for key, decision in state_from_decisions(previous).items():
        logged = state.get(key)
        if logged is None or (decision.recorded_at > logged.recorded_at
                              and decision.content != logged.content):
            # decisions.parquet knows a decision the log lacks (a log restored from an
            # old backup, or made before the log existed): adopt it, and log it.
            state[key] = decision
            new_audit.append(audit_row("restored", decision, logged, logged_at=now,
                                       detail="recorded in decisions.parquet but not in the audit log"))
    logged_notes = {(r["event"], r["segment_id"], r["coder"], r["source_file"], r["new_decision"],
                     r["new_codes"], r["new_comment"], r["recorded_at"])
                    for r in audit_rows if r["event"] not in STATE_EVENTS}
    known_ids = segment_ids | {key[0] for key in state}
    # What each file last gave for each (segment, coder), won or not, as the log recorded it.
    # A row taken for an older copy's ("ignored_older") is not what the file gave: saved again later,
    # the same row is a new decision.
    last_given = {(r["source_file"], r["segment_id"], r["coder"]):
                  (r["new_decision"], live_text(r["new_codes"]), r["new_comment"])
                  for r in audit_rows if r["source_file"] and r["event"] != "ignored_older"}

    # A file whose rows were recorded under its whole file name as the coder (before
    # coder_from_file_name) keeps that coder, so that its decisions stay one coder's.
    stem_coders = {r["source_file"]: r["coder"] for r in audit_rows
                   if r["source_file"] and r["coder"] == Path(r["source_file"]).stem}
    resolve = _CodeResolver(codebook)
    bad = ProblemCollector()
    results: list[FileResult] = []
    for path in files:
        relative = _relative(path, root)
        try:
            check_office_file(path, "xlsx", limits)
            results.append(read_review_file(path, relative, resolve, known_ids, fallback_issued,
                                            conflicts, forgotten, stem_coders.get(relative)))
        except PipelineError as error:
            bad.extend(error)
            conflicts.add(relative, "", "", "", "unreadable file", error.message)
        except Exception as error:  # a damaged workbook that passes the zip checks
            message = f"the workbook could not be read ({type(error).__name__}: {error})"
            bad.add(relative, message, hint="open it and save it again as .xlsx")
            conflicts.add(relative, "", "", "", "unreadable file", message)
    if bad and on_bad_file == "stop":
        bad.raise_if_any("review workbooks in data/review/ cannot be used",
                         hint="fix or remove them, or set review.on_bad_file: skip in config.yaml")

    # "Alice", "alice " and "ALICE" are one coder, spelt as first recorded.
    spelling: dict[str, str] = {}
    for key in state:
        spelling.setdefault(_coder_key(key[1]), key[1])
    for result in results:
        result.decisions = [replace(d, coder=spelling.setdefault(_coder_key(d.coder), d.coder))
                            for d in result.decisions]
        result.cleared = [(s, spelling.setdefault(_coder_key(c), c), sheet, cell, issued_filled)
                          for s, c, sheet, cell, issued_filled in result.cleared]

    # Without its Issued sheet a file's pre-filled rows look like new decisions: a row
    # repeating a decision its coder has recorded before is taken for one.
    recorded = defaultdict(set)
    if not all(result.issued_sheet for result in results):
        for r in audit_rows:
            recorded[r["segment_id"], r["coder"]].add((r["new_decision"], live_text(r["new_codes"]),
                                                         r["new_comment"]))
        for key, decision in state.items():
            recorded[key].add(_given(decision)[3:])
    for result in results:
        if result.issued_sheet:
            continue
        conflicts.add(result.source_file, "", "", "", "no Issued sheet",
                      "the hidden Issued sheet is missing (deleted, or the rows were copied into "
                      "another workbook), so pre-filled rows cannot be told from new decisions: a "
                      "row that repeats a decision already recorded for its coder is not imported")
        kept = []
        for decision in result.decisions:
            current = state.get(decision.key)
            if _given(decision)[3:] not in recorded[decision.key]:
                kept.append(decision)
            elif current is not None and current.content != decision.content:
                conflicts.add(decision.source_file, decision.sheet, decision.cell, decision.segment_id,
                              "earlier decision repeated",
                              f"this row repeats an earlier decision of {decision.coder!r}, replaced "
                              f"since in {current.source_file} (row {current.row}); without the "
                              "Issued sheet it is taken for a pre-filled row, so the newer decision "
                              "stands. To make this one current again, enter it in a workbook the "
                              "pipeline wrote")
        result.decisions = kept

    _report_renamed_copies(results, state, conflicts)

    # Within the current files, the most recently modified file wins per (segment, coder).
    by_key: dict[tuple[str, str], list[Decision]] = {}
    for result in results:
        for decision in result.decisions:
            by_key.setdefault(decision.key, []).append(decision)

    def note(event: str, decision: Decision, old: Decision | None, detail: str) -> None:
        row = audit_row(event, decision, old, detail, logged_at=now)
        signature = (event, row["segment_id"], row["coder"], row["source_file"], row["new_decision"],
                     row["new_codes"], row["new_comment"], row["recorded_at"])
        if signature not in logged_notes:
            logged_notes.add(signature)
            new_audit.append(row)

    for key in sorted(by_key):
        found = sorted(by_key[key], key=lambda d: (d.recorded_at, d.source_file))
        old = state.get(key)
        if old is not None:
            # A row that still gives what its file last gave is not a new decision, however
            # recently the file was saved: re-saving an old workbook for another row's sake
            # (or copying it back) must not undo a decision recorded since from another
            # file. A row edited since, even back to an earlier value, is a new decision.
            latest = found[-1]
            found = [d for d in found if last_given.get(_given(d)[:3]) != _given(d)[3:]]
            if latest not in found and latest.content != old.content:
                _report_older(conflicts, latest, old)
            if not found:
                continue
        winner = found[-1]
        for older in found[:-1]:
            if older.content != winner.content:
                note("superseded", older, None,
                     f"superseded by the more recently modified {winner.source_file}")
                _report_older(conflicts, older, winner)
        if old is None:
            state[key] = winner
            new_audit.append(audit_row("new", winner, None, logged_at=now))
        elif old.content != winner.content:
            if winner.recorded_at >= old.recorded_at:
                state[key] = winner
                new_audit.append(audit_row("changed", winner, old, logged_at=now))
            else:
                note("ignored_older", winner, old,
                     f"older than the decision recorded from {old.source_file}")
                _report_older(conflicts, winner, old)

    for result in results:
        for segment_id, coder, sheet, cell, issued_filled in result.cleared:
            old = state.get((segment_id, coder))
            # A row issued empty was cleared only if this very file recorded the decision.
            if old is not None and (issued_filled or old.source_file == result.source_file):
                conflicts.add(result.source_file, sheet, cell, segment_id, "cleared decision",
                              f"the decision of {coder!r} was cleared in this file; the earlier "
                              f"decision ({old.decision} {', '.join(old.codes) or 'no code'}) still "
                              "stands — to undo it, record a new decision")

    # What each row showed, for the agreement measures: from the files present, else as recorded
    # before (a file moved into a subfolder or deleted still showed what it showed).
    shown = {**shown_codes_of(previous), **(shown_before or {})}
    shown.update({(result.source_file, segment_id): codes for result in results
                  for segment_id, codes in result.shown.items()})
    frame = decisions_frame(state, codebook, segment_ids, shown)
    for decision in state.values():
        cell = decision.cell or f"row {decision.row}"
        # The file may have been saved over since: its rows may hold other segments now.
        where = (f" (recorded from this cell on {decision.recorded_at:%Y-%m-%d %H:%M} UTC; if the file has "
                 "changed since, find the row by its segment_id)")
        if decision.segment_id not in segment_ids:
            conflicts.add(decision.source_file, decision.sheet, cell, decision.segment_id,
                          "orphaned decision",
                          f"the segment is no longer in the segments table (its text was edited, its "
                          f"file removed, renamed or moved, or ingest.max_segment_chars changed how it is "
                          f"split); the decision of {decision.coder!r} is kept, "
                          "marked orphaned — if the file was renamed or moved, putting it back under its "
                          "old name re-attaches the decision" + where)
        removed = [code_id for code_id in decision.codes if codebook.resolve_alias(code_id) is None]
        for code_id in removed:
            conflicts.add(decision.source_file, decision.sheet, cell, decision.segment_id,
                          "removed code",
                          f"{code_id!r} (decision of {decision.coder!r}) is no longer in the "
                          "codebook; the decision is kept but the code is not used"
                          + ("; with none of its codes left it no longer codes the segment: another "
                             "coder's decision applies, or the segment is offered for review again"
                             if len(removed) == len(decision.codes) else "")
                          + " — add it back, or list it in a code's aliases if it was renamed" + where)
    return frame, conflicts.frame(), new_audit


def _report_renamed_copies(results: list[FileResult], state: dict[tuple[str, str], Decision],
                           conflicts: Conflicts) -> None:
    """Report a coder named by a file's name whose every decision there is another coder's, recorded
    from a file that is no longer there.

    That is a returned workbook renamed (``coding_review_bob (1).xlsx`` → ``bob_round1.xlsx``): its rows
    without a coder cell would otherwise make a second coder who agrees perfectly with the first,
    inflating every agreement measure. Reported, not changed, and only with the same comments on three
    or more decisions, or on ten or more: two analysts may agree on a few segments.
    """
    present = {result.source_file for result in results}
    recorded = defaultdict(dict)   # segment_id -> coder -> content, from files no longer present
    for (segment_id, coder), decision in state.items():
        if decision.source_file not in present:
            recorded[segment_id][coder] = decision.content
    for result in results:
        mine = [d for d in result.decisions if result.name_coder and d.coder == result.name_coder]
        if len(mine) < (3 if any(d.comment for d in mine) else 10):
            continue
        same = set.intersection(*({c for c, content in recorded[d.segment_id].items()
                                   if content == d.content and c != result.name_coder} for d in mine))
        for other in sorted(same):
            conflicts.add(result.source_file, mine[0].sheet, mine[0].cell, "", "copy of another coder",
                          f"the {len(mine)} decisions of {result.name_coder!r} (a coder named by this file's "
                          f"name, with empty coder cells) are all decisions {other!r} recorded before, comments "
                          f"included: if this is {other!r}'s workbook renamed, write {other!r} in its coder "
                          f"column or give it back its name, or the agreement measures count a second coder "
                          "who agrees perfectly")


def shown_codes_of(decisions: pd.DataFrame) -> dict[tuple[str, str], tuple[str, ...]]:
    """(source file, segment_id) → the codes its row showed, from a decisions table (null: unknown)."""
    if "shown_codes" not in decisions:
        return {}
    return {(f, s): tuple(c for c in codes.split(CODE_SEPARATOR) if c)
            for f, s, codes in zip(decisions["source_file"], decisions["segment_id"], decisions["shown_codes"])
            if isinstance(codes, str)}


def _report_older(conflicts: Conflicts, decision: Decision, current: Decision) -> None:
    """Report a file's decision that does not replace the ``current`` one of the same coder."""
    if decision.recorded_at < current.recorded_at and decision.source_file == current.source_file:
        # the same file, changed, but dated before it was last read: a copy put back, or edited
        # elsewhere and copied in with its old date
        conflicts.add(decision.source_file, decision.sheet, decision.cell, decision.segment_id,
                      "older decision ignored",
                      f"this row differs from the decision of {decision.coder!r} recorded from this file when it "
                      f"was dated {current.recorded_at:%Y-%m-%d %H:%M} UTC, but the file is now dated "
                      f"{decision.recorded_at:%Y-%m-%d %H:%M} UTC, so it is taken for an older copy and the "
                      "recorded decision stands — if the file was edited since, open it and save it again")
    elif decision.recorded_at < current.recorded_at:
        conflicts.add(decision.source_file, decision.sheet, decision.cell, decision.segment_id,
                      "older decision ignored",
                      f"coder {decision.coder!r} recorded a newer decision in {current.source_file} "
                      f"(row {current.row}); this older file does not replace it")
    else:
        conflicts.add(decision.source_file, decision.sheet, decision.cell, decision.segment_id,
                      "re-saved earlier decision",
                      f"this row still holds the decision of {decision.coder!r} that "
                      f"{current.source_file} (row {current.row}) replaced; the file was saved again "
                      "but this row was not changed, so the newer decision stands. To make this one "
                      "current again, enter it in a newer copy")


def _given(decision: Decision) -> tuple:
    """How the audit log records what a file gave (see ``last_given`` in :func:`import_decisions`)."""
    return (decision.source_file, decision.segment_id, decision.coder, decision.decision,
            CODE_SEPARATOR.join(decision.codes), decision.comment)


# A workbook saved inside longer than this before its file's modification time is a copy.
COPY_MARGIN = pd.Timedelta(minutes=1)


def saved_time(path: Path, workbook) -> pd.Timestamp:
    """When a returned workbook's decisions were made: its file's modification time, or the time
    saved inside it (Excel, LibreOffice and openpyxl write it on every save) when that is more than
    :data:`COPY_MARGIN` earlier. Copying or downloading a file gives it a new modification time,
    so a stale copy of an older save would otherwise count as the newest decisions."""
    modified = pd.Timestamp(os.stat(path).st_mtime_ns, unit="ns", tz="UTC")
    inside = workbook.properties.modified   # naive UTC, or None
    if inside is not None:
        inside = pd.Timestamp(inside, tz="UTC")
        if inside < modified - COPY_MARGIN:
            return inside
    return modified


def coder_from_file_name(stem: str) -> str:
    """The coder of a file's rows whose coder cell is empty: its name, without what copying adds
    ("Copy of ", " - Copy", " (2)") and without the "coding_review_" the About sheet suggests.

    Examples
    --------
    >>> [coder_from_file_name(s) for s in ("alice", "alice (1)", "Copy of alice", "alice - Copy (2)",
    ...                                    "coding_review_dave", "coding_review", "alice_round2")]
    ['alice', 'alice', 'alice', 'alice', 'dave', 'coding_review', 'alice_round2']
    """
    name = re.sub(r"^(?:copy of\s+)+", "", stem.strip(), flags=re.IGNORECASE)
    name = re.sub(r"(?:\s*-\s*copy)?(?:\s*\(\d+\))?$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"^coding_review[_\-\s]+(?=\S)", "", name, flags=re.IGNORECASE)
    return name.strip() or stem


ISSUED_STEM = Path(paths.REVIEW_WORKBOOK).stem   # "coding_review": a file name that names nobody


def coder_from_path(relative: str) -> str:
    """The coder of a file's rows whose coder cell is empty (:func:`coder_from_file_name`); a file
    whose name names nobody (``coding_review.xlsx``) in a folder of its own under ``data/review/``
    takes that folder's name (the first below ``data/review/``, so that moving it into
    ``bob/archive/`` keeps it bob's), so that two analysts' unrenamed files are two coders.

    Examples
    --------
    >>> [coder_from_path(p) for p in ("data/review/coding_review_alice.xlsx", "data/review/bob/coding_review.xlsx",
    ...                               "data/review/bob/archive/coding_review.xlsx",
    ...                               "data/review/bob/coding_review_carol.xlsx", "data/review/coding_review (1).xlsx")]
    ['alice', 'bob', 'bob', 'carol', 'coding_review']
    """
    path = Path(relative)
    coder = coder_from_file_name(path.stem)
    inbox = Path(paths.REVIEW_INBOX)
    if _coder_key(coder) == _coder_key(ISSUED_STEM) and path.parent != inbox and inbox in path.parents:
        return path.relative_to(inbox).parts[0]
    return coder


def _coder_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# Labels the agreement table writes in its coder columns; a coder of that name would be
# indistinguishable from them, so such a row is reported instead of imported.
RESERVED_CODERS = frozenset(_coder_key(label) for label in (SUGGESTION, ALL_CODERS))


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def run_review_import(config: dict, root: Path) -> None:
    """Stage: merge the decisions in ``data/review/*.xlsx`` into ``decisions.parquet``.

    Writes ``data/processed/decisions.parquet`` and ``reports/review/conflicts.csv``
    and appends to ``data/processed/decisions_audit.csv``.

    Parameters
    ----------
    config : dict
        Validated configuration (``codebook.file``, ``review.on_bad_file``,
        ``ingest`` size limits).
    root : Path
        The project folder.
    """
    from pipeline.forget import read_forgotten
    from pipeline.segment import read_segments

    root = Path(root)
    review = config.get("review") or {}
    codebook = project_codebook(config, root)
    segments = read_segments(root)
    previous = read_decisions(root / paths.DECISIONS)
    shown_path = root / paths.SHOWN_CODES
    shown_before = shown_codes_of(pd.read_parquet(shown_path)) if shown_path.is_file() else {}
    audit_path = root / paths.DECISIONS_AUDIT
    audit_rows = read_audit_log(audit_path)
    files, unusable = review_inbox(root)
    on_bad_file = review.get("on_bad_file", "stop")
    try:
        frame, conflicts, new_audit = import_decisions(
            files, root, codebook, segments, previous, audit_rows,
            limits=SafetyLimits.from_config(config.get("ingest") or {}),
            on_bad_file=on_bad_file, forgotten=read_forgotten(root), shown_before=shown_before,
        )
    except InputError as error:
        if unusable:  # one error listing every file that cannot be used
            _report_unusable(unusable, root, on_bad_file, pd.DataFrame(), error)
        raise
    conflicts = _report_unusable(unusable, root, on_bad_file, conflicts)
    # The audit log first: it is the durable record that decisions.parquet is rebuilt from.
    append_audit_log(audit_path, new_audit)
    write_parquet(shown_path, frame[["source_file", "segment_id", "shown_codes"]].drop_duplicates()
                  .dropna(subset=["shown_codes"]).reset_index(drop=True))
    write_parquet(root / paths.DECISIONS, frame)
    write_csv(root / paths.REVIEW_CONFLICTS, conflicts)
    n_changed = sum(r["event"] in ("new", "changed") for r in new_audit)
    log.info("Review import: %d file(s), %d decision(s) on %d segment(s) by %d coder(s); "
             "%d new or changed; %d problem(s) listed in %s",
             len(files), frame[["segment_id", "coder"]].drop_duplicates().shape[0],
             frame["segment_id"].nunique(), frame["coder"].nunique(), n_changed, len(conflicts),
             paths.REVIEW_CONFLICTS)
    orphaned = frame.loc[frame["orphaned"], "segment_id"].nunique()
    if orphaned:   # kept, but no longer counted: easy to miss among the info lines
        log.warning("%d segment(s) with decisions are no longer in the segments table (a file removed, renamed "
                    "or moved, or its text edited): their decisions are kept but not counted; %s lists them "
                    "as 'orphaned decision'", orphaned, paths.REVIEW_CONFLICTS)
