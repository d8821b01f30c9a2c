"""The participant register (participants.csv) and the fieldwork sheet (fieldwork.csv).

``participants.csv`` says who each interviewee is: ``participant_id``, ``site``,
``sector`` and optionally ``organisation``, ``role`` and ``name``. The name is
kept only so that later stages can pseudonymise it and recognise the
participant among a transcript's speakers; it is never copied into a table.

``fieldwork.csv`` gives metadata for any fieldwork file that cannot carry front
matter (a .docx, a .vtt): ``file`` (relative to ``data/raw/``), ``participant``,
``site``, ``sector``, ``wave``, ``date`` and ``record`` (``transcript`` or
``notes``). A blank cell means "not given".

Both are read as grids of strings (:func:`pipeline.ingest.tabular.read_grid`),
so IDs such as ``00123`` keep their leading zeros whatever Excel did to the
look of the file, and any encoding Excel writes is decoded and recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError, ProblemCollector
from pipeline.ingest.safety import SafetyLimits
from pipeline.ingest.tabular import Grid, read_grid

log = logging.getLogger("pipeline.ingest")

REGISTER_REQUIRED = ("participant_id", "site", "sector")
REGISTER_OPTIONAL = ("organisation", "role", "name", "withdrawn")
# The withdrawn column: "yes" (or these spellings) marks a participant who has withdrawn; blank or "no" does not.
WITHDRAWN_YES = ("yes", "y", "true", "1", "x", "withdrawn")
WITHDRAWN_NO = ("", "no", "n", "false", "0")
FIELDWORK_COLUMNS = ("file", "participant", "site", "sector", "wave", "date", "record")


@dataclass(frozen=True)
class Participant:
    """One row of participants.csv."""

    participant_id: str
    site: str
    sector: str
    organisation: str = ""
    role: str = ""
    name: str = ""
    row: int = 0
    withdrawn: bool = False


@dataclass
class Register:
    """The participants, by ID, and where they were read from."""

    participants: dict[str, Participant] = field(default_factory=dict)
    file: str = ""
    encoding: str = ""

    def __contains__(self, participant_id: str) -> bool:
        return participant_id in self.participants

    def __getitem__(self, participant_id: str) -> Participant:
        return self.participants[participant_id]


@dataclass
class FieldworkRow:
    """Metadata for one fieldwork file, from one row of fieldwork.csv (blank = not given)."""

    file: str
    values: dict[str, str]
    row: int


def header_records(grid: Grid, display: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Split a grid into its header and one dict per non-empty data row.

    Header names are stripped and lower-cased so that ``Participant_ID`` and
    ``participant_id `` are the same column. Row numbers are 1-based as a
    spreadsheet shows them (the header is row 1).

    Raises
    ------
    InputError
        If the file has no header row, or two columns with the same name.
    """
    if not grid.rows:
        raise InputError("the table is empty (no header row)", file=display,
                         hint="the first row must name the columns")
    header = [cell.strip().lower() for cell in grid.rows[0]]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise InputError(f"the column {name!r} appears twice", file=display, row=1, column=name,
                             hint="rename or remove one of them")
        seen.add(name)
    records = []
    for index, row in enumerate(grid.rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        records.append((index, {name: cell.strip() for name, cell in zip(header, row) if name}))
    return header, records


def read_register(path: Path, sectors: dict, limits: SafetyLimits | None = None,
                  display: str | None = None) -> Register:
    """Read participants.csv (or .xlsx) and check it.

    Parameters
    ----------
    path : Path
        The register file.
    sectors : dict
        ``config["sectors"]``: the valid sector keys.
    limits : SafetyLimits, optional
        File size limits.
    display : str, optional
        How to name the file in messages (defaults to ``path``).

    Returns
    -------
    Register

    Raises
    ------
    InputError
        Listing every problem at once: missing columns, blank IDs, sites or
        sectors, duplicate IDs (naming every row) and unknown sectors (naming
        the row and listing the valid keys).

    Examples
    --------
    >>> register = read_register(Path("data/raw/participants.csv"), config["sectors"])  # doctest: +SKIP
    >>> register["00123"].site                                                        # doctest: +SKIP
    'quillmere'
    """
    display = display or str(path)
    grid = read_grid(path, limits, display=display)
    header, records = header_records(grid, display)
    missing = [name for name in REGISTER_REQUIRED if name not in header]
    if missing:
        raise InputError(
            "missing column(s) " + ", ".join(repr(m) for m in missing),
            file=display, row=1,
            hint="the columns found are " + ", ".join(repr(h) for h in header if h)
                 + "; participants.csv needs participant_id, site and sector",
        )
    problems = ProblemCollector()
    register = Register(file=display, encoding=grid.encoding)
    rows_by_id: dict[str, list[int]] = {}
    for row, record in records:
        participant_id = record.get("participant_id", "")
        for column in REGISTER_REQUIRED:
            if not record.get(column, ""):
                problems.add(display, "blank cell", row=row, column=column,
                             hint="every participant needs an ID, a site and a sector")
        sector = record.get("sector", "")
        if sector and sector not in sectors:
            problems.add(display, f"unknown sector {sector!r}", row=row, column="sector",
                         hint="use one of the sector keys in config.yaml: " + ", ".join(sectors))
        withdrawn = record.get("withdrawn", "").lower()
        if withdrawn not in WITHDRAWN_YES + WITHDRAWN_NO:
            problems.add(display, f"withdrawn is {record['withdrawn']!r}", row=row, column="withdrawn",
                         hint="write yes for a participant who has withdrawn, or leave it blank")
        if not participant_id:
            continue
        rows_by_id.setdefault(participant_id, []).append(row)
        register.participants.setdefault(participant_id, Participant(
            participant_id=participant_id,
            site=record.get("site", ""),
            sector=sector,
            organisation=record.get("organisation", ""),
            role=record.get("role", ""),
            name=record.get("name", ""),
            row=row,
            withdrawn=withdrawn in WITHDRAWN_YES,
        ))
    for participant_id, rows in rows_by_id.items():
        if len(rows) > 1:
            problems.add(display, f"participant ID {participant_id!r} appears on rows "
                         + ", ".join(str(r) for r in rows), row=rows[1], column="participant_id",
                         hint="each participant must have exactly one row")
    problems.raise_if_any(f"{display} has problems", hint="fix the register and run again")
    log.info("Read %d participants from %s (encoding %s)", len(register.participants), display,
             grid.encoding or "xlsx")
    return register


def read_fieldwork(path: Path, raw_root: Path, limits: SafetyLimits | None = None,
                   display: str | None = None) -> tuple[dict[str, FieldworkRow], str]:
    """Read fieldwork.csv: metadata for fieldwork files, keyed by their path under data/raw/.

    Parameters
    ----------
    path : Path
        The fieldwork sheet.
    raw_root : Path
        The ``data/raw`` folder; every ``file`` must exist below it.
    limits : SafetyLimits, optional
        File size limits.
    display : str, optional
        How to name the file in messages.

    Returns
    -------
    rows : dict of str to FieldworkRow
        Keyed by the file's path relative to ``data/raw`` with forward slashes.
    encoding : str
        The encoding detected (for the ingest log).

    Raises
    ------
    InputError
        Listing every row that names a missing file, a file twice, or has no
        ``file`` cell; or naming the columns found when ``file`` is missing.
    """
    display = display or str(path)
    grid = read_grid(path, limits, display=display)
    header, records = header_records(grid, display)
    if "file" not in header:
        raise InputError("missing column 'file'", file=display, row=1,
                         hint="the columns found are " + ", ".join(repr(h) for h in header if h)
                              + "; fieldwork.csv needs file and any of "
                              + ", ".join(FIELDWORK_COLUMNS[1:]))
    unknown = [h for h in header if h and h not in FIELDWORK_COLUMNS]
    if unknown:
        log.warning("%s: ignoring column(s) %s (known columns: %s)", display,
                    ", ".join(repr(u) for u in unknown), ", ".join(FIELDWORK_COLUMNS))
    problems = ProblemCollector()
    rows: dict[str, FieldworkRow] = {}
    for row, record in records:
        name = record.get("file", "").replace("\\", "/").strip("/")
        if name.startswith("data/raw/"):
            name = name[len("data/raw/"):]
        if not name:
            problems.add(display, "blank cell", row=row, column="file",
                         hint="give the file's path below data/raw/, e.g. interviews/P001.docx")
            continue
        if not (raw_root / name).is_file():
            problems.add(display, f"names a file that does not exist: data/raw/{name}", row=row,
                         column="file", hint="check the spelling and folder (paths are relative to "
                                             "data/raw/); if the file was withdrawn, delete its row")
            continue
        if name in rows:
            problems.add(display, f"the file {name!r} is listed twice (rows {rows[name].row} and {row})",
                         row=row, column="file", hint="keep one row per file")
            continue
        values = {c: record.get(c, "") for c in FIELDWORK_COLUMNS[1:] if record.get(c, "")}
        rows[name] = FieldworkRow(name, values, row)
    problems.raise_if_any(f"{display} has problems", hint="fix fieldwork.csv and run again")
    log.info("Read metadata for %d files from %s (encoding %s)", len(rows), display,
             grid.encoding or "xlsx")
    return rows, grid.encoding


# ----------------------------------------------------------------- value rules

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+)?$")


def normalise_date(value) -> str:
    """Return ``value`` as an ISO ``YYYY-MM-DD`` string ("" when blank).

    Only unambiguous forms are accepted: ISO dates (with or without a time) and
    date objects. ``03/04/2025`` is refused rather than guessed, because day
    and month order differ between the UK and US settings of Excel.

    Raises
    ------
    ValueError
        If the value is not an ISO date.

    Examples
    --------
    >>> normalise_date("2025-03-04"), normalise_date(dt.date(2025, 3, 4)), normalise_date("")
    ('2025-03-04', '2025-03-04', '')
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return ""
    match = _ISO_DATE.match(text)
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")


_NUMBERED_WAVE = re.compile(r"(?:(?:wave|w)[\s_-]*)?0*(\d+)(?:\.0+)?", re.IGNORECASE)
_WAVE_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_WORDED_WAVE = re.compile(r"wave[\s_-]*(" + "|".join(_WAVE_NUMBER_WORDS) + ")", re.IGNORECASE)


def normalise_wave(value) -> str:
    """Return a wave in one spelling for numbered waves, and as written for named ones.

    A numbered wave becomes its bare number: ``1``, ``1.0``, ``"01"``,
    ``"Wave 1"``, ``"wave-1"``, ``"W1"`` and ``"w_01"`` all become ``"1"``, and
    ``"Wave two"`` becomes ``"2"`` (number words one to ten, after "wave").
    Only those forms count as numbered ("Round 2" or "Year 1" stay named, so
    two different schemes never merge). A named wave keeps its capitals
    ("BSL cohort") with its spaces tidied; :func:`wave_key` matches named
    waves ignoring case and :func:`wave_spellings` picks one spelling for each.

    Examples
    --------
    >>> normalise_wave(1), normalise_wave(" 2 "), normalise_wave(1.0), normalise_wave(None)
    ('1', '2', '1', '')
    >>> normalise_wave("01"), normalise_wave("Wave 1"), normalise_wave("W1"), normalise_wave("wave-1")
    ('1', '1', '1', '1')
    >>> normalise_wave("Wave two"), normalise_wave("wave Ten"), normalise_wave("Two")
    ('2', '10', 'Two')
    >>> normalise_wave("Baseline"), normalise_wave("Follow  up"), normalise_wave("BSL cohort ")
    ('Baseline', 'Follow up', 'BSL cohort')
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = " ".join(str(value).split())
    match = _NUMBERED_WAVE.fullmatch(text)
    if match:
        return str(int(match.group(1)))
    match = _WORDED_WAVE.fullmatch(text)
    if match:
        return str(_WAVE_NUMBER_WORDS.index(match.group(1).lower()) + 1)
    return text


def wave_key(value) -> str:
    """What two spellings of one wave share: ``"Baseline "`` and ``"baseline"`` are one wave.

    >>> wave_key("Baseline ") == wave_key("baseline"), wave_key("Wave 01")
    (True, '1')
    """
    return normalise_wave(value).casefold()


def wave_spellings(waves) -> dict[str, str]:
    """One spelling for each wave in ``waves`` (normalised), keyed by :func:`wave_key`.

    A wave written in several ways across a project is shown the way it is
    written most often; between equally common spellings, the first in sorted
    order, which puts capitals first ("BSL cohort" before "bsl cohort").

    >>> spelling = wave_spellings(["baseline", "Baseline", "Baseline", "BSL cohort", "bsl cohort", "2"])
    >>> spelling["baseline"], spelling["bsl cohort"], spelling["2"]
    ('Baseline', 'BSL cohort', '2')
    """
    spelling: dict[str, str] = {}
    for wave, _ in sorted(Counter(waves).items(), key=lambda item: (-item[1], item[0])):
        spelling.setdefault(wave_key(wave), wave)
    return spelling


def site_key(value) -> str:
    """What two spellings of one site share: case, spaces, underscores and hyphens aside.

    >>> site_key("Kestrel Bay") == site_key("kestrel_bay") == site_key(" kestrel-bay")
    True
    """
    return " ".join(re.sub(r"[_\-]", " ", str(value)).split()).casefold()


def site_spellings(sites, configured: dict[str, str]) -> dict[str, str]:
    """One spelling for each site in ``sites``, keyed by :func:`site_key`.

    A site that matches a key of the ``sites:`` config, or its label, is that
    key; any other site written in several ways is shown the way it is written
    most often (between equally common spellings, the first in sorted order).

    >>> spelling = site_spellings(["Kestrel Bay", "kestrel_bay", "North Ward", "north ward", "North Ward"],
    ...                           {"kestrel_bay": "Kestrel Bay"})
    >>> spelling[site_key("Kestrel Bay")], spelling[site_key("north ward")]
    ('kestrel_bay', 'North Ward')
    """
    spelling = {site_key(label): key for key, label in configured.items()}
    spelling.update({site_key(key): key for key in configured})
    for site, _ in sorted(Counter(sites).items(), key=lambda item: (-item[1], item[0])):
        spelling.setdefault(site_key(site), site)
    return spelling

