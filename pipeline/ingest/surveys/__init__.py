"""Survey exports under data/raw/surveys/: one document per response.

Each ``surveys:`` entry in config.yaml names a file (or glob), its vendor
format (or ``auto``), where each response's site and sector come from, its wave
and the open-ended questions to code. One module per vendor parses the header
layout (:mod:`.qualtrics`, :mod:`.surveymonkey`, :mod:`.msforms`,
:mod:`.googleforms`, :mod:`.generic`); this module applies the configuration the
same way for all of them:

- every file in data/raw/surveys/ must be matched by exactly one entry, and
  every entry must match a file (README files and hidden files are ignored);
- Qualtrics response types in ``ingest.exclude_survey_status`` are left out and
  counted; unfinished responses are excluded, flagged or kept per
  ``ingest.unfinished_responses``;
- each remaining response becomes a :class:`~pipeline.ingest.model.RawDocument`
  with one block per non-empty answer to a text column (a response that
  answered none still counts, with no blocks);
- personal columns (IP address, e-mail, names, recipient fields, location,
  external reference, custom data) are never copied into a document, and
  cannot be configured as an ID, site, sector or text column.

Nothing here raises for a bad file: every problem is collected, and a file with
problems yields no documents (its log row has status ``error``), so the caller
can stop or skip as ``ingest.on_bad_file`` says.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import paths
from pipeline.errors import InputError, Problem
from pipeline.ingest.model import Block, RawDocument
from pipeline.ingest.safety import LINK_HINT, LINK_MESSAGE, SafetyLimits, is_linked
from pipeline.ingest.surveys.export import (
    Column,
    SurveyExport,
    find_column,
    loose,
    rows_text,
)
from pipeline.ingest.surveys.generic import read_generic_export
from pipeline.ingest.surveys.googleforms import looks_like_googleforms, read_googleforms_export
from pipeline.ingest.surveys.msforms import looks_like_msforms, read_msforms_export
from pipeline.ingest.surveys.qualtrics import looks_like_qualtrics, read_qualtrics_export
from pipeline.ingest.surveys.surveymonkey import looks_like_surveymonkey, read_surveymonkey_export
from pipeline.ingest.tabular import read_grid

logger = logging.getLogger("pipeline.ingest")   # `log` is the name of each export's log row here

__all__ = ["SurveyResult", "read_surveys", "detect_format", "READERS"]

READERS = {
    "qualtrics": read_qualtrics_export,
    "surveymonkey": read_surveymonkey_export,
    "msforms": read_msforms_export,
    "googleforms": read_googleforms_export,
    "generic": read_generic_export,
}
LOGGED_TYPES = ("preview", "test", "spam")
LOG_COLUMNS = (
    "file", "method", "format", "encoding", "status", "n_documents", "excluded_preview",
    "excluded_test", "excluded_spam", "excluded_unfinished", "flagged_unfinished",
    "renamed_duplicate_columns", "message", "n_excluded",
)
CONFIG_FILE = "config.yaml"
# How Excel shows a long number it has turned into a float (1.14027E+11): saved
# like that in a CSV, the real ID is lost.
_EXCEL_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?E\+\d+$", re.IGNORECASE)


@dataclass
class SurveyResult:
    """What :func:`read_surveys` found.

    Attributes
    ----------
    documents : list of RawDocument
        One per included response, from files without problems.
    log_rows : list of dict
        One per survey file read, with the keys in ``LOG_COLUMNS``: ``file`` is
        the display path (``data/raw/surveys/…``), ``status`` ``read`` or
        ``error`` (the file has problems and gave no documents).
    problems : list of Problem
        Everything wrong, each naming the file (and row and column where known).
    """

    documents: list[RawDocument] = field(default_factory=list)
    log_rows: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def detect_format(rows: list[list[str]]) -> str:
    """Guess an export's vendor from its header rows.

    Qualtrics: ``ResponseId``/``StartDate`` tags with an ImportId row (or the
    legacy ``V1…`` layout); SurveyMonkey: ``Respondent ID`` and ``Collector
    ID``; Microsoft Forms: ``ID, Start time, Completion time``; Google Forms:
    first header ``Timestamp``; anything else is ``generic``.

    Examples
    --------
    >>> detect_format([["Timestamp", "What changed?"]])
    'googleforms'
    >>> detect_format([["id", "answer"]])
    'generic'
    """
    if looks_like_qualtrics(rows):
        return "qualtrics"
    if looks_like_surveymonkey(rows):
        return "surveymonkey"
    if looks_like_msforms(rows):
        return "msforms"
    if looks_like_googleforms(rows):
        return "googleforms"
    return "generic"


def read_surveys(config: dict, raw_root: Path, limits: SafetyLimits) -> SurveyResult:
    """Read every survey export configured in ``config["surveys"]``.

    Parameters
    ----------
    config : dict
        The validated configuration (:func:`pipeline.config.load_config`).
    raw_root : Path
        The project's ``data/raw`` folder; exports are under ``surveys/``.
    limits : SafetyLimits
        File size and zip limits.

    Returns
    -------
    SurveyResult
        Documents (one per included response, ``source_file`` the path
        relative to ``raw_root`` and ``key`` the response ID), one log row per
        file, and every problem found.

    Examples
    --------
    >>> from pipeline.config import load_config                       # doctest: +SKIP
    >>> result = read_surveys(load_config("."), Path("data/raw"), SafetyLimits())  # doctest: +SKIP
    >>> [str(p) for p in result.problems]                              # doctest: +SKIP
    []
    """
    raw_root = Path(raw_root)
    folder = raw_root / "surveys"
    result = SurveyResult()
    present = []
    for path in _survey_files(folder):
        if is_linked(path, raw_root):
            result.problems.append(Problem(_display(raw_root, path), LINK_MESSAGE, hint=LINK_HINT))
        else:
            present.append(path)
    claimed: dict[Path, str] = {}
    # (response ID, answers) -> (the file that has it, its entry): two downloads of one survey, whether
    # one entry's glob or two entries match them, would count every response twice
    read_from: dict[tuple, tuple[str, str]] = {}
    for number, entry in enumerate(config.get("surveys") or [], start=1):
        label = entry.get("name") or entry["file"]
        pattern = entry["file"]
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            result.problems.append(Problem(
                CONFIG_FILE, f"surveys entry {label!r}: file {pattern!r} must be a name or glob inside "
                f"{paths.METHOD_FOLDERS['survey']}/", column="surveys.file"))
            continue
        matches = [p for p in sorted(folder.glob(pattern)) if p in present] if folder.is_dir() else []
        if not matches:
            unclaimed = [p.relative_to(folder).as_posix() for p in present if p not in claimed]
            result.problems.append(Problem(
                CONFIG_FILE,
                f"surveys entry {label!r}: file {pattern!r} matches no file in {paths.METHOD_FOLDERS['survey']}/",
                column="surveys.file",
                hint=("files there without an entry: " + ", ".join(unclaimed)) if unclaimed
                else "put the export there, or remove the entry",
            ))
            continue
        for path in matches:
            if path in claimed:
                result.problems.append(Problem(
                    _display(raw_root, path),
                    f"matched by two surveys entries ({claimed[path]!r} and {label!r})",
                    hint="make the file globs in config.yaml match each file once"))
                continue
            claimed[path] = label
            documents, log_row, problems = _read_export(path, entry, config, raw_root, limits)
            result.log_rows.append(log_row)
            result.problems.extend(problems)
            result.documents.extend(documents)
            problem = _repeated_responses(documents, read_from, _display(raw_root, path), label)
            if problem is not None:
                result.problems.append(problem)
    for path in present:
        if path not in claimed:
            result.problems.append(Problem(
                _display(raw_root, path),
                "no surveys: entry in config.yaml matches this file, so it would be ignored",
                hint="add a surveys: entry for it in config.yaml (file, wave, text_columns), "
                     "or move it out of data/raw/surveys/",
            ))
    return result


def _repeated_responses(documents: list[RawDocument], read_from: dict[tuple, tuple[str, str]], display: str,
                        label: str) -> Problem | None:
    """A problem when a file repeats responses (same ID, same answers) that another survey file
    holds: two downloads of one survey, whose every response would count twice."""
    repeated: dict[tuple[str, str], int] = {}
    for document in documents:
        key = (document.key, tuple((b.question, b.text) for b in document.blocks))
        if key in read_from:
            repeated[read_from[key]] = repeated.get(read_from[key], 0) + 1
        else:
            read_from[key] = (display, label)
    if not repeated:
        return None
    (other, other_label), count = max(repeated.items(), key=lambda item: item[1])
    entries = (f"the same surveys entry {label!r}" if other_label == label
               else f"the surveys entries {other_label!r} and {label!r}")
    return Problem(display, f"{count} of its responses (the same response IDs and answers) are also in {other}, "
                   f"matched by {entries}: two downloads of one survey would count every such response twice",
                   hint="keep only the latest download in data/raw/surveys/ (save it over the older file, "
                        "under the older file's name, so that the responses keep their IDs and decisions)")


# ----------------------------------------------------------------- one file


@dataclass
class _Roles:
    """The columns configuration gives a role, resolved against one export."""

    id: Column | None = None
    site: Column | None = None
    sector: Column | None = None
    text: list[Column] = field(default_factory=list)


def _read_export(path: Path, entry: dict, config: dict, raw_root: Path, limits: SafetyLimits
                 ) -> tuple[list[RawDocument], dict, list[Problem]]:
    relative = path.relative_to(raw_root).as_posix()
    display = _display(raw_root, path)
    name = entry.get("name") or path.stem
    log = {key: 0 for key in LOG_COLUMNS}
    log.update(file=display, method="survey", format="", encoding="", status="error",
               renamed_duplicate_columns="", message="")
    problems: list[Problem] = []

    def fail(message: str) -> tuple[list[RawDocument], dict, list[Problem]]:
        log["message"] = message
        return [], log, problems

    if path.stat().st_size == 0:
        problems.append(Problem(display, "no responses: the file is empty",
                                hint="re-export the survey, or remove the file and its config entry"))
        return fail("empty file")
    try:
        grid = read_grid(path, limits, display=display)
    except InputError as error:
        problems.extend(_relocate(error, display))
        return fail(error.message)
    log["encoding"] = grid.encoding
    if not grid.rows:
        problems.append(Problem(display, "no responses: the file has no rows"))
        return fail("no rows")

    requested = entry.get("format") or "auto"
    vendor = detect_format(grid.rows) if requested == "auto" else requested
    log["format"] = vendor
    try:
        order = entry.get("date_order", "auto")
        export = READERS[vendor](grid, None if order == "auto" else order == "day_first")
    except InputError as error:
        problems.extend(_relocate(error, display))
        return fail(error.message)
    log["renamed_duplicate_columns"] = "; ".join(
        f"{name} → {new} (column {position})" for name, new, position in export.renamed_columns)
    notes = [f"format detected from the header: {export.layout}" if requested == "auto"
             else f"layout: {export.layout}"]
    if export.renamed_columns:
        notes.append(f"duplicate column names renamed: {log['renamed_duplicate_columns']}")
    notes.extend(export.notes)

    roles = _resolve_roles(export, entry, config, display, name, problems, grid.sheet_note())
    if roles.id is None:
        notes.extend(export.id_notes)
        if export.format == "generic" and export.responses:
            notes.append("no id_column configured: response IDs are row numbers, which change if rows move")
    if not export.responses:
        problems.append(Problem(display, "no responses: the export has header rows but no responses",
                                hint="check the export's filters and date range, or remove the file"))
    if problems:
        return fail("; ".join(notes))

    ids = {r.row: (r.cells[roles.id.index].strip() if roles.id else r.default_id) for r in export.responses}
    _check_ids(export, roles, ids, display, problems)

    settings = config.get("ingest") or {}
    exclude = set(settings.get("exclude_survey_status", ["preview", "test", "spam"]))
    unfinished_mode = settings.get("unfinished_responses", "flag")
    included, other_excluded, kept_unfinished = [], Counter(), 0
    for response in export.responses:
        if response.response_type in exclude:
            if response.response_type in LOGGED_TYPES:
                log[f"excluded_{response.response_type}"] += 1
            else:
                other_excluded[response.response_type] += 1
            continue
        if response.finished is False:
            if unfinished_mode == "exclude":
                log["excluded_unfinished"] += 1
                continue
            if unfinished_mode == "flag":
                log["flagged_unfinished"] += 1
            else:
                kept_unfinished += 1
        included.append(response)
    for kind, count in sorted(other_excluded.items()):
        notes.append(f"{count} {kind} response{'s' if count != 1 else ''} excluded")
    if kept_unfinished:
        notes.append(f"{kept_unfinished} unfinished response{'s' if kept_unfinished != 1 else ''} "
                     "kept as complete (unfinished_responses: keep)")

    sites = _map_column(included, roles.site, entry.get("site"), entry.get("site_values") or {},
                        config.get("sites") or {}, "site", display, problems, notes, free=True)
    sectors = _map_column(included, roles.sector, entry.get("sector"), entry.get("sector_values") or {},
                          config.get("sectors") or {}, "sector", display, problems, notes, free=False)
    if problems:
        return fail("; ".join(notes))

    documents = []
    fixed_date = entry.get("date") or ""
    wave = str(entry["wave"])
    unanswered = 0
    for response in included:
        blocks = []
        for column in roles.text:
            answer = response.cells[column.index].strip()
            if answer:
                blocks.append(Block(text=answer, question=column.question))
        if not blocks:
            unanswered += 1
        response_id = ids[response.row]
        documents.append(RawDocument(
            method="survey",
            source_file=relative,
            source_format=export.format,
            blocks=blocks,
            metadata={
                "site": sites[response.row],
                "sector": sectors[response.row],
                "wave": wave,
                "date": fixed_date or response.date,
                "response_id": response_id,
                "title": name,
                "finished": not (response.finished is False and unfinished_mode == "flag"),
            },
            encoding=grid.encoding,
            key=response_id,
        ))
    if unanswered:
        notes.append(f"{unanswered} response{'s' if unanswered != 1 else ''} answered none of the text columns")
    log["status"] = "read"
    log["n_documents"] = len(documents)
    log["n_excluded"] = (sum(log[f"excluded_{kind}"] for kind in LOGGED_TYPES)
                         + sum(other_excluded.values()) + log["excluded_unfinished"])
    log["message"] = "; ".join(notes)
    return documents, log, problems


def _resolve_roles(export: SurveyExport, entry: dict, config: dict, display: str, name: str,
                   problems: list[Problem], sheet_note: str = "") -> _Roles:
    roles = _Roles()
    offered = export.offered_columns()

    def resolve(wanted: str, role: str) -> Column | None:
        found = [c for c in find_column(export.columns, wanted) if not c.ignored]
        personal = [c for c in found if c.personal]
        if personal:
            problems.append(Problem(
                display, f"column {wanted!r} holds personal data and cannot be used as the {role}",
                column=wanted, hint="choose another column in this survey's config.yaml entry"))
            return None
        if len(found) > 1:
            problems.append(Problem(
                display, f"{role} {wanted!r} matches several columns: "
                + ", ".join(repr(c.name) for c in found), column=wanted,
                hint="name the column by its export tag or full header in config.yaml"))
            return None
        if not found:
            problems.append(Problem(
                display, f"the {role} {wanted!r} is not a column of this export", column=wanted,
                hint="its columns are: " + ", ".join(map(_column_names, offered)) + sheet_note))
            return None
        return found[0]

    if entry.get("id_column"):
        roles.id = resolve(entry["id_column"], "id_column")
    elif export.default_id_column:
        roles.id = resolve(export.default_id_column, "response ID column")
    for role in ("site", "sector"):
        column_key = f"{role}_column"
        if entry.get(column_key) and entry.get(role):
            problems.append(Problem(CONFIG_FILE, f"surveys entry {name!r} sets both {column_key} and {role}",
                                    column=f"surveys.{role}", hint=f"keep one of {column_key} and {role}"))
        elif entry.get(column_key):
            setattr(roles, role, resolve(entry[column_key], column_key))
    sectors = config.get("sectors") or {}
    for answer, key in (entry.get("sector_values") or {}).items():
        if key not in sectors:
            problems.append(Problem(
                CONFIG_FILE, f"surveys entry {name!r}: sector_values maps {answer!r} to {key!r}, "
                "which is not a key of sectors:", column="surveys.sector_values",
                hint="use one of: " + ", ".join(sectors)))
    if entry.get("sector") and entry["sector"] not in sectors:
        problems.append(Problem(
            CONFIG_FILE, f"surveys entry {name!r}: sector {entry['sector']!r} is not a key of sectors:",
            column="surveys.sector", hint="use one of: " + ", ".join(sectors)))
    seen: set[int] = set()
    listed = entry.get("text_columns") or []
    for wanted in listed:
        column = resolve(wanted, "text column")
        if column is None:
            continue
        # A repeated export tag names several questions; the repeats were renamed, so
        # the tag alone finds only the first and the others' answers would go uncoded.
        unlisted = [new for name, new, _ in export.renamed_columns
                    if name == wanted == column.name and new not in listed]
        if unlisted:
            problems.append(Problem(
                display, f"text column {wanted!r} is the name of {len(unlisted) + 1} columns of this export; "
                f"the repeats were renamed {', '.join(map(repr, unlisted))}, and their answers would not be "
                "coded", column=wanted,
                hint=f"add {', '.join(map(repr, unlisted))} to text_columns if "
                     f"{'it is an open question' if len(unlisted) == 1 else 'they are open questions'} too"
                     # where the header is the question text (Google Forms), there is no other name for it
                     + (", or name the one column you mean by its question text"
                        if any(loose(a) != loose(column.name) for a in column.aliases) else "")))
        elif column.index not in seen:
            seen.add(column.index)
            roles.text.append(column)
    return roles


def _check_ids(export: SurveyExport, roles: _Roles, ids: dict[int, str], display: str,
               problems: list[Problem]) -> None:
    column = roles.id.name if roles.id else None
    empty = [row for row, value in ids.items() if not value]
    if empty:
        problems.append(Problem(
            display, f"{len(empty)} response{'s have' if len(empty) != 1 else ' has'} no response ID "
            f"({rows_text(empty)})", row=empty[0], column=column,
            hint="re-export the survey without editing it, or set id_column to a column that is always filled"))
    mangled = [row for row, value in ids.items() if _EXCEL_SCIENTIFIC.match(value)]
    if mangled:
        problems.append(Problem(
            display, f"{len(mangled)} response ID{'s are' if len(mangled) != 1 else ' is'} in Excel's "
            f"scientific notation ({ids[mangled[0]]!r}, {rows_text(mangled)}): Excel rounded the "
            "long numbers when the file was saved, so the real IDs are lost and would change at the "
            "next clean download", row=mangled[0], column=column,
            hint="download the export again and put it in data/raw/surveys/ without opening and "
                 "saving it in Excel (or open it with the ID column imported as Text)"))
    by_id: dict[str, list[int]] = defaultdict(list)
    for row, value in ids.items():
        if value and not _EXCEL_SCIENTIFIC.match(value):  # reported above
            by_id[value].append(row)
    for value, rows in by_id.items():
        if len(rows) > 1:
            problems.append(Problem(
                display, f"response ID {value!r} appears in {rows_text(rows)}", row=rows[1],
                column=column, hint="remove the duplicate responses from the export, or set id_column to "
                "a column that identifies each response"))


def _column_names(column: Column) -> str:
    """A column as a message lists it: its name, and its question text when that differs
    (either may be given in config.yaml).

    Examples
    --------
    >>> text = "What worked well?\\n(Please explain)"
    >>> _column_names(Column("Q3", text, 4, aliases=(text,)))
    "'Q3' (question text 'What worked well? (Please explain)')"
    """
    texts = [" ".join(a.split()) for a in column.aliases if loose(a) != loose(column.name)]
    return repr(column.name) + (f" (question text {texts[0]!r})" if texts else "")


def _map_column(responses, column: Column | None, fixed: str | None, mapping: dict, keys: dict,
                role: str, display: str, problems: list[Problem], notes: list[str], *, free: bool
                ) -> dict[int, str]:
    """Each response's site or sector key, by row; problems for answers that map to nothing.

    Answers are looked up in ``mapping`` exactly, then case- and
    whitespace-insensitively. With no mapping, the answer must be a key (or
    label) of ``keys``; when ``free`` and ``keys`` is empty, the answer itself
    is the key.
    """
    if column is None:
        return {r.row: fixed or "" for r in responses}
    loose_mapping = {loose(answer): key for answer, key in mapping.items()}
    loose_keys = {loose(key): key for key in keys}
    loose_keys.update({loose(label): key for key, label in keys.items() if loose(label) not in loose_keys})
    result, unmapped, blank = {}, defaultdict(list), []
    for response in responses:
        answer = response.cells[column.index].strip()
        if not answer:
            blank.append(response.row)
            result[response.row] = ""
            continue
        if mapping:
            key = mapping.get(answer) or loose_mapping.get(loose(answer))
        elif keys:
            key = answer if answer in keys else loose_keys.get(loose(answer))
        else:
            key = answer if free else None
        if key is None:
            unmapped[answer].append(response.row)
            key = ""
        result[response.row] = key
    for answer, rows in unmapped.items():
        if mapping:
            where, known = f"{role}_values", ", ".join(repr(a) for a in mapping)
        else:
            where, known = f"{role}s:", ", ".join(repr(k) for k in keys)
        problems.append(Problem(
            display, f"{role} answer {answer!r} ({rows_text(rows)}) has no entry in {where}",
            row=rows[0], column=column.name,
            hint=f"add it to {where} for this survey in config.yaml; known answers: {known}"))
    if blank:
        notes.append(f"{len(blank)} response{'s' if len(blank) != 1 else ''} left {column.name!r} ({role}) "
                     f"blank: {role} unknown")
        if role == "site":
            # Counted programme-wide but in no site: worth a look, unlike a blank sector.
            logger.warning("%s: %d response(s) left the %s column %r blank (%s): they count towards the "
                           "programme but towards no site, and the fieldwork tables show them as 'not given'. "
                           "If you know their site, fill the cells in a copy of the export; if every response "
                           "is from one site, give the survey site: instead of site_column in config.yaml",
                           display, len(blank), role, column.name, rows_text(blank))
    return result


# ----------------------------------------------------------------- helpers


def _survey_files(folder: Path) -> list[Path]:
    """Every data file (or symbolic link) under ``folder``, skipping hidden files, README files
    and Excel lock files."""
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not (path.is_file() or path.is_symlink()) or any(part.startswith(".") for part in relative.parts):
            continue
        if path.name.casefold().startswith("readme") or path.name.startswith("~$"):
            continue
        files.append(path)
    return files


def _display(raw_root: Path, path: Path) -> str:
    try:
        return f"{paths.RAW}/{path.relative_to(raw_root).as_posix()}"
    except ValueError:
        return str(path)


def _relocate(error: InputError, display: str) -> list[Problem]:
    if error.problems:
        return list(error.problems)
    return [Problem(display, error.message, error.row, error.column, error.hint)]
