"""The ingest stage: every fieldwork file under data/raw/ into one segment table.

:func:`run_ingest` reads the participant register and the optional fieldwork
sheet, reads each file with the reader for its format (the folder gives the
method), resolves each document's site, sector, wave and date from front
matter, fieldwork.csv and the register, decides whether it is a verbatim
``transcript`` or the evaluator's ``notes`` (:func:`detect_record`, unless the
front matter or fieldwork.csv gives ``record``), segments the documents and writes:

* ``data/processed/segments.parquet`` and ``segments.csv``,
* ``data/processed/documents.parquet``,
* ``data/processed/ingest_log.csv`` (one row per file read).

The fieldwork counts under ``reports/tables/`` are the report stage's
(:mod:`pipeline.methods`): everything under ``reports/`` is pseudonymised.

Problems are collected across all files and reported together. With
``ingest.on_bad_file: stop`` (the default) any problem stops the run before a
single output is written. With ``skip`` the files at fault are left out,
listed in ``data/processed/ingest_errors.csv`` and in the log, and the run
carries on; problems in participants.csv or fieldwork.csv stop the run in
either mode, since every interview depends on them.

Input files are only ever read.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import atomic, paths
from pipeline.errors import InputError, PipelineError, Problem, ProblemCollector
from pipeline.ingest.model import METADATA_KEYS, RawDocument
from pipeline.ingest.register import (
    FieldworkRow,
    Register,
    normalise_date,
    normalise_wave,
    read_fieldwork,
    read_register,
    site_key,
    site_spellings,
    wave_key,
    wave_spellings,
)
from pipeline.ingest.safety import LINK_HINT, LINK_MESSAGE, SafetyLimits, is_linked
from pipeline.ingest.session_log import read_session_log
from pipeline.ingest.speakers import assign_speaker_roles
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.text import read_text_document
from pipeline.ingest.vtt import read_vtt
from pipeline.ingest.word import read_docx
from pipeline.segment import build_tables, document_id

log = logging.getLogger("pipeline.ingest")

INGEST_LOG_COLUMNS = ["file", "method", "format", "encoding", "status", "n_documents", "n_segments",
                      "n_excluded", "message"]
INGEST_ERROR_COLUMNS = ["file", "row", "column", "message"]

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
LOG_SUFFIXES = (".csv", ".xlsx")
READABLE = {
    "interview": (".docx", ".vtt") + TEXT_SUFFIXES,
    "observation": (".docx", ".vtt") + TEXT_SUFFIXES + LOG_SUFFIXES,
    "workshop": (".docx", ".vtt") + TEXT_SUFFIXES + LOG_SUFFIXES,
}
REQUIRED = {
    "interview": ("site", "sector", "wave"),
    "observation": ("site", "wave"),
    "workshop": ("site", "wave"),
}
RECORDS = ("transcript", "notes")
TRANSCRIPT_FORMATS = ("docx-teams", "vtt-teams", "vtt-zoom", "vtt")


@dataclass
class FileResult:
    """What reading one file gave: its documents, or the problems that stopped it."""

    file: str                      # display path, data/raw/...
    method: str
    format: str = ""
    encoding: str = ""
    documents: list[RawDocument] = field(default_factory=list)
    note: str = ""


def run_ingest(config: dict, root: Path) -> None:
    """Stage: read every file in data/raw/ into the segment and document tables and the ingest log.

    Parameters
    ----------
    config : dict
        The validated configuration (``ingest``, ``sectors``, ``sites`` and
        ``surveys`` are used).
    root : Path
        The project folder; reads ``data/raw/`` and writes the outputs listed
        in the module docstring below it.

    Raises
    ------
    InputError
        Listing every problem found, when ``ingest.on_bad_file`` is ``stop``
        (nothing is written), or when participants.csv or fieldwork.csv has a
        problem, or when no fieldwork is found at all.
    """
    root = Path(root)
    raw = root / paths.RAW
    settings = config.get("ingest", {})
    limits = SafetyLimits.from_config(settings)
    on_bad_file = settings.get("on_bad_file", "stop")
    sectors = config.get("sectors", {})
    max_chars = settings.get("max_segment_chars", 700)
    min_chars = settings.get("min_segment_chars", 150)
    if not raw.is_dir():
        raise InputError("there is no data/raw/ folder", file=root,
                         hint="put the fieldwork files under data/raw/ (see the README)")

    problems = ProblemCollector()
    log_rows: list[dict] = []

    # --- the register and the fieldwork sheet: their problems always stop the run
    register, fieldwork, register_ok = _read_registers(root, raw, sectors, limits, problems, log_rows)
    fatal = {p.file for p in problems.problems}

    # --- every fieldwork file, by method folder
    results = [_read_file(path, raw, method, sectors, limits, problems, root) if method
               else _misplaced_file(path, raw, problems)
               for method, path in _fieldwork_files(root, raw)]
    # Every problem so far is either a register problem or names the file it is about.
    unreadable = {p.file for p in problems.problems} - fatal

    # --- metadata: front matter + fieldwork.csv + register
    documents: list[RawDocument] = []
    unresolved: list[Problem] = []
    for result in results:
        for document in result.documents:
            if register_ok:
                _resolve(document, register, fieldwork, sectors, problems, unresolved)
            documents.append(document)
    read_files = {doc.source_file for doc in documents}
    for name in fieldwork:
        if name not in read_files and f"data/raw/{name}" not in unreadable:
            if name.split("/")[0] == "surveys":
                continue  # survey exports take their metadata from config.yaml
            problems.add(paths.FIELDWORK, f"names data/raw/{name}, which is not a fieldwork file "
                         "the pipeline reads", row=fieldwork[name].row, column="file",
                         hint="fieldwork files go under interviews/, observations/ or workshops/")
            fatal.add(paths.FIELDWORK)
    problems.problems.extend(unresolved)

    # --- surveys (read by pipeline.ingest.surveys)
    survey_documents, survey_rows = _read_surveys(config, raw, limits, problems, root)
    documents.extend(survey_documents)

    bad_files = {p.file for p in problems.problems}
    if problems and (on_bad_file == "stop" or bad_files & fatal):
        raise InputError(
            f"{len(bad_files)} input file(s) cannot be used; nothing was written",
            problems=problems.problems,
            hint="fix every file listed and run again"
                 + ("" if bad_files & fatal else ", or set ingest.on_bad_file: skip to leave them out"),
        )
    kept = [doc for doc in documents if f"data/raw/{doc.source_file}" not in bad_files]
    if not kept:
        raise InputError("no fieldwork could be read", file=paths.RAW,
                         hint="put interviews, surveys, observations or workshops in their folders "
                              "under data/raw/", problems=problems.problems)
    for problem in problems.problems:
        log.warning("Left out (on_bad_file: skip): %s", problem)
    spelling = wave_spellings(doc.metadata["wave"] for doc in kept)
    for doc in kept:
        doc.metadata["wave"] = spelling[wave_key(doc.metadata["wave"])]
    _warn_about_named_waves(kept)
    _one_spelling_per_site(kept, config.get("sites") or {},
                           (config.get("triangulate") or {}).get("programme_sector", "programme"))

    documents_frame, segments_frame = build_tables(kept, max_chars, min_chars)
    _warn_about_long_answers(segments_frame, documents_frame)
    log_frame = _log_frame(log_rows, results, survey_rows, documents_frame, bad_files, unreadable,
                           problems.problems)

    atomic.write_parquet(root / paths.SEGMENTS, segments_frame)
    atomic.write_csv(root / paths.SEGMENTS_CSV, segments_frame)
    atomic.write_parquet(root / paths.DOCUMENTS, documents_frame)
    atomic.write_csv(root / paths.INGEST_LOG, log_frame)
    errors_path = root / paths.INGEST_ERRORS
    if on_bad_file == "skip":
        atomic.write_csv(errors_path, pd.DataFrame(
            [{"file": p.file, "row": "" if p.row is None else p.row, "column": p.column or "",
              "message": p.message + (f" — {p.hint}" if p.hint else "")} for p in problems.problems],
            columns=INGEST_ERROR_COLUMNS))
    elif errors_path.exists():
        errors_path.unlink()  # a stale list from an earlier skip run would mislead
    log.info("Ingested %d documents (%d segments) from %d files; %d file(s) left out",
             len(documents_frame), len(segments_frame), documents_frame["source_file"].nunique(),
             len(bad_files))


# About the 256 word pieces the embedding model reads of a text (about four characters each).
LONG_ANSWER_CHARS = 1000


def _warn_about_long_answers(segments: pd.DataFrame, documents: pd.DataFrame) -> None:
    """Survey answers are never split, and the model reads only about the first 1,000 characters."""
    long = segments[(segments["method"] == "survey") & (segments["text"].str.len() > LONG_ANSWER_CHARS)]
    if len(long):
        files = documents.set_index("document_id")["source_file"]
        examples = ", ".join(f"{row.segment_id} (data/raw/{files[row.document_id]})"
                             for row in long.head(3).itertuples())
        log.warning("%d survey answer(s) are longer than about %d characters, e.g. %s: an answer is "
                    "never split, and the embedding model reads only about the first %d characters, so "
                    "the rest does not shape its suggested codes. Review these in full", len(long),
                    LONG_ANSWER_CHARS, examples, LONG_ANSWER_CHARS)


def _warn_about_named_waves(documents: list[RawDocument]) -> None:
    """A named wave beside numbered ones is probably one of them written another way ("Round 2")."""
    waves: dict[str, str] = {}
    for doc in documents:
        waves.setdefault(doc.metadata["wave"], f"data/raw/{doc.source_file}")
    named = sorted(wave for wave in waves if wave and not wave.isdigit())
    if named and any(wave.isdigit() for wave in waves):
        for wave in named:
            log.warning("Wave %r (e.g. %s) is named while other waves are numbered: if it is one of them, "
                        "write its number", wave, waves[wave])


def _one_spelling_per_site(documents: list[RawDocument], configured: dict[str, str],
                           programme_sector: str = "programme") -> None:
    """Write each site one way (see :func:`site_spellings`), saying which spellings were changed.

    "Kestrel Bay" in the register and "kestrel_bay" in ``sites:`` would
    otherwise be two sites, and every "n of the sites" would count one too many.
    """
    spelling = site_spellings((doc.metadata["site"] for doc in documents if doc.metadata["site"]), configured)
    changed: dict[tuple[str, str], list[str]] = {}
    for doc in documents:
        site = doc.metadata["site"]
        if site and spelling[site_key(site)] != site:
            doc.metadata["site"] = spelling[site_key(site)]
            changed.setdefault((site, doc.metadata["site"]), []).append(f"data/raw/{doc.source_file}")
    for (written, site), files in sorted(changed.items()):
        log.warning("Site %r is read as %r (the same site written another way) in %d document(s), "
                    "e.g. %s: write it %r in participants.csv, fieldwork.csv and front matter to "
                    "silence this", written, site, len(files), files[0], site)
    if configured:   # a site the config does not list: a misspelling ("Mosgate"), or a site to add
        names = list(configured) + [str(label) for label in configured.values()]
        unlisted: dict[str, list[str]] = {}
        for doc in documents:
            site = doc.metadata["site"]
            if site and site not in configured:
                unlisted.setdefault(site, []).append(doc)
        for site, docs in sorted(unlisted.items()):
            close = difflib.get_close_matches(site, names, n=1, cutoff=0.8)
            # a programme organisation (a funder) need not be listed, unless it looks like a listed site
            if not close and all(doc.metadata.get("sector") == programme_sector for doc in docs):
                continue
            log.warning("Site %r is not among the sites in config.yaml (%d document(s), e.g. %s)%s: correct "
                        "it if it is misspelt, or add it under sites:", site, len(docs),
                        f"data/raw/{docs[0].source_file}", f"; did you mean {close[0]!r}?" if close else "")


# ----------------------------------------------------------------- registers


def _read_registers(root, raw, sectors, limits, problems, log_rows):
    register, fieldwork, ok = Register(), {}, True
    participants = root / paths.PARTICIPANTS
    if participants.exists():
        try:
            register = read_register(participants, sectors, limits, display=paths.PARTICIPANTS)
            log_rows.append(_row(paths.PARTICIPANTS, "", "register", register.encoding, "read",
                                 message=f"{len(register.participants)} participants"))
        except PipelineError as error:
            _extend(problems, error, root, paths.PARTICIPANTS)
            ok = False
    else:
        log.info("No %s: interviews must give site and sector themselves", paths.PARTICIPANTS)
    fieldwork_path = root / paths.FIELDWORK
    if fieldwork_path.exists():
        try:
            fieldwork, encoding = read_fieldwork(fieldwork_path, raw, limits, display=paths.FIELDWORK)
            log_rows.append(_row(paths.FIELDWORK, "", "fieldwork sheet", encoding, "read",
                                 message=f"{len(fieldwork)} files described"))
        except PipelineError as error:
            _extend(problems, error, root, paths.FIELDWORK)
            ok = False
    return register, fieldwork, ok


def _extend(problems: ProblemCollector, error: PipelineError, root: Path, default: str) -> None:
    """Add an error's problems, naming files relative to the project folder."""
    before = len(problems.problems)
    problems.extend(error)
    for problem in problems.problems[before:]:
        problem.file = _display(problem.file, root) or default


def _display(file: str, root: Path) -> str:
    """A file named from the project folder, however the folder was given.

    A relative name that exists from the working directory ("r_enc/data/raw/x.csv" with
    ``--project r_enc``) is made relative to the project; one that does not is taken to be
    relative to the project already ("data/raw/x.csv").
    """
    if not file:
        return ""
    path = Path(file)
    if not path.is_absolute():
        if not path.exists():
            return path.as_posix()
        path = path.resolve()
    for base in (root, root.resolve()):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return file


# ----------------------------------------------------------------- files


def _fieldwork_files(root: Path, raw: Path):
    """(method, path) for every file in the method folders, sorted; notes on anything else.

    A file in another folder of data/raw/ (``interview/``, ``focus_groups/``),
    or loose in data/raw/ itself, is yielded with method ``""``:
    :func:`_misplaced_file` reports it, so that fieldwork is never dropped unseen."""
    method_dirs = {method: root / folder for method, folder in paths.METHOD_FOLDERS.items()}
    for entry in sorted(raw.iterdir()):
        if entry.name.startswith((".", "~$")):
            continue
        if entry.is_dir() and entry not in method_dirs.values():
            found = list(_folder_files(entry))
            if not found:
                log.info("Ignoring folder data/raw/%s: it holds no fieldwork files", entry.name)
            yield from (("", path) for path in found)
        elif entry.is_file() and entry.name not in ("participants.csv", "fieldwork.csv") \
                and entry.stem.lower() != "readme":
            yield "", entry
    for method, folder in method_dirs.items():
        if method == "survey" or not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            parts = path.relative_to(folder).parts
            # A link (to a file or a folder) is yielded so that _read_file reports it.
            if not (path.is_file() or path.is_symlink()) or any(part.startswith((".", "~$")) for part in parts):
                continue  # hidden files and Office lock files (~$x.docx) are not fieldwork
            if path.stem.lower() == "readme":
                log.info("Ignoring %s (a README, not fieldwork)", path.relative_to(root).as_posix())
                continue
            yield method, path


def _folder_files(folder: Path):
    """The files in a folder that is not a method folder, as the method folders' files are
    found (hidden files, Office lock files and READMEs are not fieldwork)."""
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.is_file() or path.is_symlink()) and path.stem.lower() != "readme" and not any(
                part.startswith((".", "~$")) for part in parts):
            yield path


def _misplaced_file(path: Path, raw: Path, problems: ProblemCollector) -> FileResult:
    """Report a file in a folder of data/raw/ that is not a method folder: it is not read."""
    import difflib

    display = f"data/raw/{path.relative_to(raw).as_posix()}"
    parts = path.relative_to(raw).parts
    expected = [Path(f).name for f in paths.METHOD_FOLDERS.values()]
    if len(parts) == 1:   # loose in data/raw/
        close, where = [], "is not in a method folder of data/raw/"
    else:
        folder = parts[0]
        close = difflib.get_close_matches(folder.lower(), expected, n=1, cutoff=0.6)
        where = f"is in data/raw/{folder}/, which is not a method folder"
    hint = (f"move it into data/raw/{close[0]}/ (or rename data/raw/{folder}/ to {close[0]}/)"
            if close else "move it into the folder of its method")
    if close == ["surveys"]:
        hint += " and describe it under surveys: in config.yaml"
    hint += ("; fieldwork goes in " + ", ".join(f"data/raw/{name}/" for name in expected)
             + ", and anything else belongs outside data/raw/")
    problems.add(display, f"{where}, so it is not read", hint=hint)
    return FileResult(display, "", format=path.suffix.lower().lstrip("."))


def _read_file(path: Path, raw: Path, method: str, sectors: dict, limits: SafetyLimits,
               problems: ProblemCollector, root: Path) -> FileResult:
    source_file = path.relative_to(raw).as_posix()
    display = f"data/raw/{source_file}"
    suffix = path.suffix.lower()
    result = FileResult(display, method, format=suffix.lstrip("."))
    if is_linked(path, raw):
        problems.add(display, LINK_MESSAGE, hint=LINK_HINT)
        return result
    if suffix not in READABLE[method]:
        hint = "save it as " + ", ".join(READABLE[method]) + ", or move it out of data/raw/"
        if suffix in (".doc", ".rtf", ".pdf", ".odt"):
            hint = "open it and save it as .docx (or copy the text into a .md or .txt file)"
        problems.add(display, f"cannot read {suffix or 'files without an extension'} files as {method}s",
                     hint=hint)
        return result
    try:
        if suffix == ".docx":
            documents = [read_docx(path, source_file, method, limits)]
        elif suffix == ".vtt":
            documents = [read_vtt(path, source_file, method)]
        elif suffix in LOG_SUFFIXES:
            documents = read_session_log(path, source_file, method, sectors, limits)
        else:
            documents = [read_text_document(path, source_file, method)]
    except PipelineError as error:
        _extend(problems, error, root, display)
        return result
    result.documents = documents
    result.format = documents[0].source_format
    result.encoding = documents[0].encoding
    notes = [doc.metadata.pop("skipped") for doc in documents if doc.metadata.get("skipped")]
    result.note = "not read: " + "; ".join(notes) if notes else ""
    log.info("Read %s: %s, %s%s, %d document(s)", display, method, result.format,
             f", encoding {result.encoding}" if result.encoding else "", len(documents))
    return result


# ----------------------------------------------------------------- metadata


def _same(key: str, a: str, b: str) -> bool:
    if key == "wave":
        return wave_key(a) == wave_key(b)
    if key == "date":
        try:
            return normalise_date(a) == normalise_date(b)
        except ValueError:
            return a.strip() == b.strip()
    return a.strip() == b.strip()


def _resolve(document: RawDocument, register: Register, fieldwork: dict[str, FieldworkRow],
             sectors: dict, problems: ProblemCollector, unresolved: list[Problem]) -> None:
    """Replace ``document.metadata`` by the resolved fields; add a problem for anything wrong."""
    display = f"data/raw/{document.source_file}"
    source = "the log" if document.key else "the front matter"
    given = {k: str(v).strip() for k, v in document.metadata.items() if k in METADATA_KEYS and str(v).strip()}
    origin = {k: source for k in given}
    row = fieldwork.get(document.source_file)
    if row is not None:
        for key, value in row.values.items():
            if key in given and not _same(key, given[key], value):
                problems.add(display, f"{source} gives {key} {given[key]!r} but {paths.FIELDWORK} "
                             f"row {row.row} gives {value!r}", column=key,
                             hint="make them agree, or leave the fieldwork.csv cell blank")
            elif key not in given:
                given[key] = value
                origin[key] = f"{paths.FIELDWORK} row {row.row}"

    participant_id = given.get("participant", "")
    name = ""
    # an unknown or withdrawn participant is reported once, not again as "site, sector not given"
    participant_reported = bool(participant_id) and (participant_id not in register
                                                     or register[participant_id].withdrawn)
    if participant_id:
        if participant_id not in register:
            problems.add(display, f"participant {participant_id!r} (from {origin['participant']}) is "
                         f"not in {paths.PARTICIPANTS}", column="participant",
                         hint="add them to the register or correct the ID (IDs are matched exactly, "
                              "leading zeros included)")
        elif register[participant_id].withdrawn:
            person = register[participant_id]
            problems.add(display, f"participant {participant_id!r} has withdrawn ({paths.PARTICIPANTS} "
                         f"row {person.row}, column withdrawn)", column="participant",
                         hint="delete this file and its fieldwork.csv row (README: 'When a participant "
                              "withdraws'), or clear the withdrawn cell if they have not withdrawn")
        else:
            person = register[participant_id]
            name = person.name
            for key in ("site", "sector"):
                registered = getattr(person, key)
                if key in given and given[key] != registered:
                    problems.add(display, f"{origin[key]} gives {key} {given[key]!r} but "
                                 f"{paths.PARTICIPANTS} row {person.row} gives {registered!r} for "
                                 f"{participant_id}", column=key,
                                 hint="make them agree, or leave it out here: it comes from the register")
                elif key not in given:
                    given[key] = registered
                    origin[key] = f"{paths.PARTICIPANTS} row {person.row}"
    elif document.method == "interview":
        log.warning("%s: no participant ID; the interview is counted as its own source", display)

    sector = given.get("sector", "")
    if sector and sector not in sectors:
        problems.add(display, f"unknown sector {sector!r} (from {origin.get('sector', '')})",
                     column="sector", hint="use one of the sector keys in config.yaml: " + ", ".join(sectors))
    try:
        date = normalise_date(given.get("date", ""))
    except ValueError as exc:
        problems.add(display, f"{exc} (from {origin.get('date', '')})", column="date",
                     hint="write dates as YYYY-MM-DD")
        date = ""
    missing = [key for key in REQUIRED[document.method] if not given.get(key)]
    if missing and not participant_reported:
        front_matter = Path(document.source_file).suffix.lower() in (".md", ".txt")
        hint = (("add front matter, or a row" if front_matter else "add a row") + " in data/raw/fieldwork.csv"
                + (", or a participant ID whose register row gives site and sector"
                   if document.method == "interview" and not participant_id else ""))
        unresolved.append(Problem(display, f"{', '.join(missing)} not given", hint=hint))

    record = given.get("record", "").lower()
    if record and record not in RECORDS:
        problems.add(display, f"record {given['record']!r} (from {origin['record']}) is neither "
                     "'transcript' nor 'notes'", column="record",
                     hint="write record: transcript for a verbatim record of what was said, record: notes "
                          "for the evaluator's notes or summary, or leave it out to have it detected")
        record = ""

    doc_id = document_id(document.source_file, document.key)
    title = given.get("title") or given.get("session") or Path(document.source_file).stem
    document.metadata = {
        "site": given.get("site", ""),
        "sector": sector,
        "participant_id": participant_id,
        "source_id": participant_id if document.method == "interview" and participant_id else doc_id,
        "wave": normalise_wave(given.get("wave", "")),
        "date": date,
        "title": title,
    }
    if not document.source_format.startswith("log-"):
        roles = assign_speaker_roles(document, name)
        if document.method == "interview" and name and roles and "participant" not in roles.values():
            asker = "interviewer" in roles.values()
            whose = "the turns not labelled Interviewer are" if asker else f"the turns of all {len(roles)} speakers are"
            log.warning("%s: no speaker label is the interviewee (%s's register name, in full, first name or "
                        "surname alone) or says Respondent, Participant or Interviewee, so %s read as another "
                        "speaker's, and still coded and counted%s. Label the turns Respondent: (and Interviewer:) "
                        "or with the register name", display, participant_id,
                        whose, "" if asker else ", the interviewer's questions too")
    document.metadata["record"] = record or detect_record(document)
    mark_evaluator_text(document)


def mark_evaluator_text(document: RawDocument) -> None:
    """In typed-up speaker turns, text outside any turn is the evaluator's: ``notes``, never quoted as speech.

    A paragraph before the first label, after a heading, a table row, a note
    heading ("Summary: ..."), a footnote. Recorded transcripts (.vtt, Teams) are
    left alone: their unlabelled cues are still speech.
    """
    if (document.metadata["record"] == "transcript" and document.source_format not in TRANSCRIPT_FORMATS
            and any(block.speaker for block in document.blocks)):
        for block in document.blocks:
            if not block.speaker:
                block.record = "notes"


def detect_record(document: RawDocument) -> str:
    """``transcript`` for a meeting transcript (.vtt, Teams .docx) or a file with speaker turns,
    else ``notes``.

    A file with no speaker labels is the evaluator's account of what was said, written
    up afterwards (often in the third person: "She said the board rarely met"), so
    none of it may be quoted as the participant's words. Session logs are notes.
    """
    if document.source_format in TRANSCRIPT_FORMATS:
        return "transcript"
    if document.source_format.startswith("log-"):
        return "notes"
    return "transcript" if any(block.speaker for block in document.blocks) else "notes"


# ----------------------------------------------------------------- surveys


def _read_surveys(config, raw, limits, problems, root):
    """Survey documents with the fields the other methods get; their problems join ``problems``."""
    result = read_surveys(config, raw, limits)
    before = len(problems.problems)
    problems.problems.extend(result.problems)
    for problem in problems.problems[before:]:
        problem.file = _display(problem.file, root)
    documents = []
    for document in result.documents:
        meta = dict(document.metadata)
        meta.setdefault("title", Path(document.source_file).stem)
        meta["participant_id"] = ""
        meta["source_id"] = document_id(document.source_file, document.key)
        meta["wave"] = normalise_wave(meta.get("wave", ""))
        meta["record"] = "response"   # the respondent's own written words
        document.metadata = meta
        documents.append(document)
    return documents, list(result.log_rows)


# ----------------------------------------------------------------- ingest log


def _row(file, method, fmt, encoding, status, n_documents=0, n_segments=0, n_excluded=0, message=""):
    return {"file": file, "method": method, "format": fmt, "encoding": encoding, "status": status,
            "n_documents": n_documents, "n_segments": n_segments, "n_excluded": n_excluded,
            "message": message}


def _log_frame(register_rows, results, survey_rows, documents_frame, bad_files, unreadable, problems):
    segments_by_file = documents_frame.groupby("source_file")["n_segments"].sum().to_dict()
    messages: dict[str, list[str]] = {}
    for problem in problems:
        messages.setdefault(problem.file, []).append(str(problem).split(": ", 1)[-1])
    rows = list(register_rows)
    for result in results:
        source_file = result.file[len("data/raw/"):]
        if result.file in unreadable:
            status = "error"
        elif result.file in bad_files:
            status = "excluded"
        else:
            status = "read"
        left_out = status != "read"
        rows.append(_row(
            result.file, result.method, result.format, result.encoding, status,
            n_documents=0 if left_out else len(result.documents),
            n_segments=0 if left_out else int(segments_by_file.get(source_file, 0)),
            n_excluded=len(result.documents) if left_out else 0,
            message="; ".join(messages.get(result.file, []) + ([result.note] if result.note else [])),
        ))
    for survey_row in survey_rows:
        row = dict(survey_row)
        file = str(row.get("file", ""))
        source_file = file[len("data/raw/"):] if file.startswith("data/raw/") else file
        row.setdefault("n_segments", int(segments_by_file.get(source_file, 0)))
        rows.append(row)
    frame = pd.DataFrame(rows)
    extra = [c for c in frame.columns if c not in INGEST_LOG_COLUMNS]
    frame = frame.reindex(columns=INGEST_LOG_COLUMNS + extra)
    # Counts only some file types have (survey exclusions) would otherwise turn into floats.
    for column in frame.columns:
        if column.startswith(("n_", "excluded_", "flagged_")):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame
