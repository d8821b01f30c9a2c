"""Forgetting a participant who withdrew: ``python -m pipeline forget [--dry-run]``.

Run it after the withdrawn person's files are deleted from ``data/raw/`` (with
their rows of ``participants.csv`` and ``fieldwork.csv``) and the pipeline has
run again, so that ``segments.parquet`` no longer holds their segments. Every
segment that is no longer in the segments table but is still known elsewhere
is then forgotten:

* its decisions are removed from ``decisions.parquet`` and its rows from the
  append-only ``decisions_audit.csv`` (the one sanctioned rewrite of the log;
  every other row is kept byte for byte), and one ``forgotten`` line is
  appended saying how many decisions on how many segments were forgotten, and
  when — no segment ID, coder, code or comment of theirs;
* its ID (a hash: no text) is added to ``data/processed/forgotten_segments.csv``,
  so that the review import never imports a decision on it again, from any
  workbook, even one put back into ``data/review/`` later;
* the caches keep only what the current run uses: embeddings of the current
  segments' and codebook's texts under the current models' keys, the
  fine-tuned model that ``encoder.json`` names and its ONNX export, the
  suggestion model the last suggest run used, and its lexical classifier's
  scores of the current segments. The next run is a cache hit.

Inputs are never touched: the workbooks in ``data/review/`` that still hold a
forgotten segment are listed (file, sheet, rows) for the user to delete or edit.
Outputs under ``reports/`` and the other tables are rewritten by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from pipeline import paths
from pipeline.atomic import write_csv, write_parquet
from pipeline.errors import InputError
from pipeline.review import ISSUED_HEADER
from pipeline.review.decisions import (
    AUDIT_COLUMNS,
    find_review_sheet,
    read_audit_log,
    read_decisions,
    rewrite_audit_log,
)
from pipeline.review.inbox import review_inbox

log = logging.getLogger(__name__)

FORGOTTEN_COLUMNS = ["segment_id", "forgotten_at"]
RUN_FIRST = ("run the pipeline first (snakemake with your usual --snakefile and --directory), "
             "then python -m pipeline forget")


def read_forgotten(root: Path) -> set[str]:
    """The segment IDs in ``data/processed/forgotten_segments.csv`` (empty if there is none)."""
    return set(_read_record(root)["segment_id"]) - {""}


def _read_record(root: Path) -> pd.DataFrame:
    """``data/processed/forgotten_segments.csv`` as text (:data:`FORGOTTEN_COLUMNS`; empty if there is none)."""
    path = Path(root) / paths.FORGOTTEN_SEGMENTS
    if not path.exists():
        return pd.DataFrame(columns=FORGOTTEN_COLUMNS)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as error:
        raise InputError(f"the record of forgotten segments cannot be read ({error})", file=path,
                         hint="restore it from a backup: without it, decisions of participants who "
                              "withdrew could be imported again from old review workbooks") from error
    if list(frame.columns) != FORGOTTEN_COLUMNS:
        raise InputError("the record of forgotten segments does not have the expected columns", file=path,
                         hint=f"restore it from a backup; do not edit it by hand (expected columns: "
                              f"{', '.join(FORGOTTEN_COLUMNS)})")
    return frame


@dataclass
class WorkbookRows:
    """Where one review workbook in ``data/review/`` holds forgotten segments."""

    file: str
    rows: dict[str, list[int]] = field(default_factory=dict)   # sheet title -> spreadsheet rows
    problem: str = ""

    def __str__(self) -> str:
        if self.problem:
            return f"{self.file}: {self.problem}"
        where = "; ".join(f"sheet {title!r} row(s) {_ranges(rows)}" for title, rows in self.rows.items())
        return f"{self.file}: {where}"


@dataclass
class ForgetPlan:
    """What :func:`forget` removes (and, with ``dry_run``, would remove)."""

    segment_ids: set[str]               # every forgotten segment: new ones and those recorded before
    new_segment_ids: set[str]           # forgotten by this run
    decisions: pd.DataFrame             # the decision rows removed
    audit_rows: int
    embeddings: dict[str, int]          # cache folder -> entries removed (-1: the whole folder)
    folders: list[Path]                 # fine-tuned models, ONNX exports, suggestion models
    workbooks: list[WorkbookRows]
    needed_hashes: set[str]             # hashes of the texts the current run embeds (kept)

    @property
    def n_decisions(self) -> int:
        return int(self.decisions[["segment_id", "coder"]].drop_duplicates().shape[0])


def _ranges(rows: list[int]) -> str:
    """``[2, 3, 4, 9]`` -> ``"2-4, 9"``."""
    spans: list[list[int]] = []
    for row in sorted(set(rows)):
        if spans and row == spans[-1][1] + 1:
            spans[-1][1] = row
        else:
            spans.append([row, row])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _relative(path: Path, root: Path) -> str:
    return Path(path).relative_to(root).as_posix()


def check_up_to_date(config: dict, root: Path) -> None:
    """Refuse to forget on tables older than ``data/raw/``: the segments of files still there would be lost.

    Raises
    ------
    InputError
        If ``segments.parquet`` is missing or older than a file or folder of
        ``data/raw/`` (a file deleted since changes its folder), or if the
        decisions or the encoder manifest are older than the segments.
    """
    segments = root / paths.SEGMENTS
    if not segments.is_file():
        raise InputError("there is no segments table to compare with", file=segments, hint=RUN_FIRST)
    made = segments.stat().st_mtime
    raw = root / paths.RAW
    if raw.is_dir():
        for path in [raw, *raw.rglob("*")]:
            if path.stat().st_mtime > made:
                raise InputError("changed since the segments table was written", file=_relative(path, root),
                                 hint=RUN_FIRST)
    later = [root / paths.DECISIONS]
    from pipeline.finetune import fine_tune_enabled

    if fine_tune_enabled(config):
        later.append(root / paths.ENCODER)
    for path in later:
        if path.is_file() and path.stat().st_mtime < made:
            raise InputError("older than the segments table", file=_relative(path, root), hint=RUN_FIRST)


def _segment_id_cells(path: Path) -> list[tuple[str, int, str]]:
    """(sheet title, row, segment ID) of every ID on a review workbook's review sheet and
    hidden Issued sheet (which holds the pre-filled comments too).

    Raises whatever openpyxl raises for a file it cannot read.
    """
    workbook = load_workbook(path, read_only=False, data_only=False)
    columns = []
    review, _extra = find_review_sheet(workbook)
    if review is not None:
        columns.append((review.sheet, review.columns["segment_id"], review.header_row + 1))
    columns += [(sheet, 1, 2) for sheet in workbook.worksheets
                if str(sheet["A1"].value or "").strip().lower() == ISSUED_HEADER]
    cells = []
    for sheet, column, first in columns:
        for r, (value,) in enumerate(sheet.iter_rows(min_row=first, min_col=column, max_col=column,
                                                     values_only=True), start=first):
            if value is not None and str(value).strip():
                cells.append((sheet.title, r, str(value).strip()))
    return cells


def read_workbook_ids(path: Path) -> list[tuple[str, int, str]] | str:
    """:func:`_segment_id_cells` of a review workbook, or why it could not be read (it is
    then listed, for the user to check by hand)."""
    try:
        return _segment_id_cells(path)
    except Exception as error:
        return f"could not be read ({type(error).__name__}); check by hand whether it holds them"


def workbook_rows(path: Path, root: Path, cells: list[tuple[str, int, str]] | str,
                  segment_ids: set[str]) -> WorkbookRows:
    """Where a review workbook holds ``segment_ids``, from its :func:`read_workbook_ids`."""
    found = WorkbookRows(_relative(path, root))
    if isinstance(cells, str):
        found.problem = cells
        return found
    for title, r, segment_id in cells:
        if segment_id in segment_ids:
            found.rows.setdefault(title, []).append(r)
    return found


def _current_model_keys(config: dict, root: Path) -> tuple[set[str], Path | None]:
    """The embedding model keys the current run uses, and the fine-tuned model folder (None: none)."""
    from pipeline.model_files import model_key
    from pipeline.finetune import encoder_config, fine_tune_enabled

    keys = {model_key(config, root)}
    if not fine_tune_enabled(config):
        return keys, None
    encoder = encoder_config(config, root)   # raises when the manifest or its model is missing
    keys.add(model_key(encoder, root))
    return keys, Path(encoder["embedding"]["model_path"])


def _needed_text_hashes(config: dict, root: Path, segments: pd.DataFrame) -> set[str]:
    """Hashes of every text the current run embeds: the segments and the codebook's texts."""
    from pipeline.codebook import project_codebook
    from pipeline.embed import text_hash
    from pipeline.suggest import code_texts, model_texts

    texts = list(segments["text"].astype(str)) + model_texts(code_texts(project_codebook(config, root)))
    return {text_hash(t) for t in texts}


def _unused_caches(config: dict, root: Path, needed: set[str]) -> tuple[dict[str, int], list[Path]]:
    """Cache entries (embeddings, lexical scores) and cached models the current run does not use."""
    from pipeline.embed import cache_file, read_cache
    from pipeline.finetune import FINETUNED_CACHE

    keys, model_dir = _current_model_keys(config, root)
    embeddings: dict[str, int] = {}
    folders: list[Path] = []
    cache = root / paths.EMBEDDING_CACHE
    for entry in sorted(cache.iterdir()) if cache.is_dir() else []:
        # <key>/ holds a model's cache; <key>.parquet is the one-file cache of older versions
        if not entry.name.startswith(".tmp-") and entry.name.removesuffix(".parquet") not in keys:
            embeddings[_relative(entry, root)] = -1
    for key in sorted(keys):
        unused = len(set(read_cache(cache_file(root, key))) - needed)   # both forms of the cache
        if unused:
            embeddings[_relative(cache_file(root, key), root)] = unused
    for parent, keep in ((root / FINETUNED_CACHE, {model_dir.resolve()} if model_dir else set()),
                         (root / paths.ONNX_CACHE, {(root / paths.ONNX_CACHE / k).resolve() for k in keys})):
        if parent.is_dir():
            folders += [p for p in sorted(parent.iterdir())
                        if p.is_dir() and not p.name.startswith(".tmp-") and p.resolve() not in keep]
    # The last suggest run used (and touched) the newest suggestion model and lexical scores.
    learned = sorted((root / paths.MODEL_CACHE).glob("*.npz"), key=lambda p: p.stat().st_mtime)
    folders += learned[:-1]
    lexical = sorted((p for p in (root / paths.LEXICAL_CACHE).glob("*")
                      if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    folders += lexical[:-1]
    if lexical and (unused := len(set(read_cache(lexical[-1])) - needed)):
        embeddings[_relative(lexical[-1], root)] = unused
    return embeddings, folders


def plan_forget(config: dict, root: Path) -> ForgetPlan:
    """Find everything :func:`forget` removes, without changing anything."""
    from pipeline.segment import read_segments

    root = Path(root)
    check_up_to_date(config, root)
    segments = read_segments(root)
    current = set(segments["segment_id"].astype(str))
    decisions = read_decisions(root / paths.DECISIONS)
    audit = read_audit_log(root / paths.DECISIONS_AUDIT)
    recorded = read_forgotten(root)
    workbooks, _unusable = review_inbox(root)
    # Each workbook is read once (a large one takes a while): for the IDs it holds, then for the rows.
    cells = {path: read_workbook_ids(path) for path in workbooks}
    known = set(decisions["segment_id"]) | {r["segment_id"] for r in audit}
    for found in cells.values():
        known |= set() if isinstance(found, str) else {segment_id for _title, _r, segment_id in found}
    new = known - current - recorded - {""}
    forgotten = (recorded - current) | new
    removed = decisions[decisions["segment_id"].isin(forgotten)]
    needed = _needed_text_hashes(config, root, segments)
    embeddings, folders = _unused_caches(config, root, needed)
    listed = [rows for path, found in cells.items()
              if (rows := workbook_rows(path, root, found, forgotten)).rows or rows.problem]
    return ForgetPlan(segment_ids=forgotten, new_segment_ids=new, decisions=removed,
                      audit_rows=sum(r["segment_id"] in forgotten for r in audit),
                      embeddings=embeddings, folders=folders, workbooks=listed, needed_hashes=needed)


def forget(plan: ForgetPlan, root: Path, now: str | None = None) -> None:
    """Remove what ``plan`` lists. The record of forgotten IDs is written first, so that an
    interrupted run never lets the import bring a decision back; running again finishes the job."""
    from pipeline.embed import compact_cache

    root = Path(root)
    now = now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if plan.new_segment_ids:
        added = pd.DataFrame({"segment_id": sorted(plan.new_segment_ids), "forgotten_at": now})
        write_csv(root / paths.FORGOTTEN_SEGMENTS, pd.concat([_read_record(root), added], ignore_index=True))
    if plan.audit_rows:
        audit_path = root / paths.DECISIONS_AUDIT
        kept = [r for r in read_audit_log(audit_path) if r["segment_id"] not in plan.segment_ids]
        note = dict.fromkeys(AUDIT_COLUMNS, "")
        note.update(logged_at=now, event="forgotten",
                    detail=f"{plan.n_decisions} decision(s) on {plan.decisions['segment_id'].nunique()} "
                           f"segment(s) forgotten ({plan.audit_rows} audit row(s) removed): their "
                           "participant withdrew (python -m pipeline forget)")
        rewrite_audit_log(audit_path, kept + [note])
    if len(plan.decisions):
        decisions = read_decisions(root / paths.DECISIONS)
        write_parquet(root / paths.DECISIONS, decisions[~decisions["segment_id"].isin(plan.segment_ids)])
    for name, count in plan.embeddings.items():
        if count < 0:
            _remove(root / name)
        else:
            compact_cache(root / name, keep=plan.needed_hashes)
    for path in plan.folders:
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def summary(plan: ForgetPlan, root: Path, dry_run: bool) -> str:
    """What was (or, with ``dry_run``, would be) removed, and the workbooks the user must deal with."""
    verb = "Would remove" if dry_run else "Removed"
    n_segments = plan.decisions["segment_id"].nunique()
    lines = [
        f"{len(plan.new_segment_ids)} segment(s) no longer in {paths.SEGMENTS} are forgotten"
        + (f" ({len(plan.segment_ids)} in all, with those forgotten before)" if plan.segment_ids != plan.new_segment_ids else ""),
        f"{verb} {plan.n_decisions} decision(s) on {n_segments} segment(s) from {paths.DECISIONS}",
        f"{verb} {plan.audit_rows} row(s) from {paths.DECISIONS_AUDIT}"
        + (" and would append one 'forgotten' line" if dry_run else " and appended one 'forgotten' line")
        if plan.audit_rows else f"{verb} no row from {paths.DECISIONS_AUDIT}",
    ]
    for name, count in plan.embeddings.items():
        lines.append(f"{verb} {name} (embeddings of a model no longer used)" if count < 0
                     else f"{verb} {count} cached vector(s) of texts no longer in the project from {name}")
    for path in plan.folders:
        lines.append(f"{verb} {_relative(path, root)} (a cached model the current run does not use)")
    if not plan.embeddings and not plan.folders:
        lines.append("The caches hold nothing the current run does not use")
    if plan.workbooks:
        lines.append(f"These review workbooks in {paths.REVIEW_INBOX}/ still hold forgotten segments. "
                     "They are your inputs, so they are not changed: delete each file (or delete those "
                     "rows on every sheet listed; the Issued sheet is hidden: unhide it), including any "
                     "copies shared outside the project folder. Until then the review import reports "
                     "and skips those rows:")
        lines += [f"  - {rows}" for rows in plan.workbooks]
    if dry_run:
        lines.append("Dry run: nothing was changed. Run python -m pipeline forget without --dry-run to remove it.")
    else:
        lines.append("Run the pipeline again to rewrite the reports and review workbook without them.")
    return "\n".join(lines)


def run_forget(config: dict, root: Path, dry_run: bool = False) -> None:
    """Forget every segment no longer in the segments table, after a participant withdraws: their
    decisions, audit rows and cached vectors and models (README, "When a participant withdraws").

    Parameters
    ----------
    config : dict
        Validated configuration.
    root : Path
        The project folder.
    dry_run : bool
        Only list what would be removed.
    """
    root = Path(root)
    plan = plan_forget(config, root)
    if not dry_run:
        forget(plan, root)
    print(summary(plan, root, dry_run))
