"""The thematic codebook: its model, validation, import and export.

A codebook is a list of themes, each holding codes. Every code has a stable
``id`` that reports, review workbooks and decisions refer to, a ``label``, a
precise ``definition``, cues for when to use it (``include``) and when not to
(``exclude``), short invented ``examples`` and optional ``aliases`` (old ids
that now map to it).

Formats read by :func:`load_codebook`, chosen by file extension:

``.yaml`` / ``.yml``
    The native format (see ``codebook/codebook.yaml``).
``.csv`` / ``.xlsx``
    One row per code with the columns ``theme, code, label, definition,
    include, exclude, examples`` and optionally ``theme_label,
    theme_description, aliases, color, guid, theme_color, theme_guid`` (an
    xlsx file may also hold the codebook's name and version on a sheet
    ``about``). A list cell (``include``, ``exclude``,
    ``examples``, ``aliases``) is read by :func:`split_list_cell`:

    * a cell whose first line starts with a bullet (``•``, ``-`` or ``*`` and
      a space, at the very start of the line) holds bulleted items: each
      bulleted or unindented line starts an item, a line indented by spaces
      or a tab continues the item above (as a line break within it; two
      spaces of indentation are removed), and ``;`` never splits an item;
    * any other cell holds one item per line, or, if it has one line only,
      items separated by ``;``.

    :func:`write_codebook_xlsx` writes every item as ``"• item"`` with each
    further line of an item indented by two spaces, so an exported sheet
    reads back unchanged whatever its items contain (line breaks are read as
    ``\\n``, as in a .qdc file).
``.qdc``
    A REFI-QDA codebook, as exported by NVivo, ATLAS.ti, MAXQDA or QualCoder,
    or by :func:`write_codebook_qdc`. See :func:`read_codebook_qdc` for how the
    fields that REFI-QDA has no place for are kept in each code's description,
    and how codebooks from other tools are mapped onto themes and codes.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Iterable

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline import paths
from pipeline.atomic import atomic_path, write_text
from pipeline.config import SAFE_LOADER, UniqueKeyLoader, codebook_not_found
from pipeline.errors import InputError, Problem
from pipeline.ingest.encoding import read_text_file

log = logging.getLogger(__name__)

QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"
SUPPORTED_EXTENSIONS = (".yaml", ".yml", ".csv", ".xlsx", ".qdc")

# Letters, digits and "_", "-", "." only, so that an id is safe in file names,
# spreadsheet validation lists and Snakemake wildcards.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
# REFI-QDA's RGBType also allows the short form "#RGB", which is read as "#RRGGBB".
SHORT_COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{3}$")
# A REFI-QDA guid: 8-4-4-4-12 hexadecimal digits, in either case; the registry
# form in braces ("{...}") that Windows tools sometimes write is accepted too.
GUID_PATTERN = re.compile(
    r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")

# Theme that collects top-level codable codes of a .qdc from another tool,
# which have no parent to serve as their theme.
UNCATEGORISED_THEME_ID = "uncategorised"
UNCATEGORISED_THEME_LABEL = "Uncategorised"

# Joins the name of a non-codable grouping node of a .qdc and the names of the
# codes below it into those codes' labels: "Staffing / Turnover".
GROUP_LABEL_SEPARATOR = " / "

# Fixed namespace for the uuid5 guids of exported codes, so that exporting the
# same codebook twice gives identical files and other tools recognise codes
# they have seen before.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:qualitative-evaluation-pipeline:codebook")

VALIDATION_HINT = (
    "fix the codebook entries listed; ids may contain only letters, digits, '_', '-' and '.', "
    "and must be unique across all themes and codes"
)


# --------------------------------------------------------------------------- model


class _CodebookPart(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _check_id(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if not ID_PATTERN.match(value):
        several = (" — to give several, separate them with ';' or put one per line"
                   if "," in value and all(ID_PATTERN.match(part.strip()) for part in value.split(",")) else "")
        raise ValueError(
            f"{value!r} is not a valid id (use letters, digits, '_', '-' and '.', "
            f"starting with a letter or digit){several}"
        )
    return value


def _check_not_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _check_color(value: str | None) -> str | None:
    if value is not None and SHORT_COLOR_PATTERN.match(value):
        return "#" + "".join(digit * 2 for digit in value[1:])
    if value is not None and not COLOR_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a colour of the form '#RRGGBB' (or '#RGB')")
    return value


def normalise_guid(value: str) -> str:
    """A guid in the one form this pipeline writes: lower-case, hyphenated, no braces.

    The form of Python's ``str(uuid.UUID(...))``, which every .qdc export has
    always used; tools compare guids case-insensitively.

    Raises
    ------
    ValueError
        If ``value`` is not a guid.

    Examples
    --------
    >>> normalise_guid("{5B1D2A9E-0000-4000-8000-00000000000A}")
    '5b1d2a9e-0000-4000-8000-00000000000a'
    """
    match = GUID_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if not match or (value.strip().startswith("{") != value.strip().endswith("}")):
        raise ValueError(f"{value!r} is not a guid of the form "
                         "'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' (hexadecimal digits)")
    return match.group(1).lower()


def _check_guid(value: str | None) -> str | None:
    return None if value is None else normalise_guid(value)


def _check_list_items(values: list[str]) -> list[str]:
    for value in values:
        if not value:
            raise ValueError("list items must not be empty")
    return values


class Code(_CodebookPart):
    """One code: what a segment is tagged with.

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"res_funding"``.
    label : str
        Short human-readable name.
    definition : str
        One to three sentences saying precisely what the code covers.
    include, exclude : list of str
        Cues for when to use the code and when not to (usually naming the
        neighbouring code to use instead).
    examples : list of str
        Short invented example segments.
    aliases : list of str
        Old code ids that now map to this code.
    color : str or None
        Optional display colour ``#RRGGBB`` (kept from REFI-QDA files).
    guid : str or None
        Optional REFI-QDA guid, normalised by :func:`normalise_guid`; the
        .qdc export uses it, or else :attr:`export_guid`'s derived one.
    """

    id: str
    label: str
    definition: str
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    color: str | None = None
    guid: str | None = None

    _validate_id = field_validator("id")(_check_id)
    _validate_text = field_validator("label", "definition")(_check_not_empty)
    _validate_lists = field_validator("include", "exclude", "examples")(_check_list_items)
    _validate_color = field_validator("color")(_check_color)
    _validate_guid = field_validator("guid")(_check_guid)

    @property
    def export_guid(self) -> str:
        """The guid of the code in a .qdc export: :attr:`guid` if set, else
        :func:`code_guid` of the code's original id (see :func:`original_code_id`)."""
        return self.guid or code_guid(original_code_id(self.id, self.aliases))

    @field_validator("aliases")
    @classmethod
    def _validate_aliases(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_id(value)
        return values


class Theme(_CodebookPart):
    """A group of related codes.

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"resources"``; unique across themes and codes.
    label : str
        Short human-readable name.
    description : str
        What the theme is about (may be empty).
    codes : list of Code
        The theme's codes, in reporting order.
    color : str or None
        Optional display colour ``#RRGGBB``.
    guid : str or None
        Optional REFI-QDA guid of the theme (exported as a non-codable parent
        code); by default :func:`theme_guid` of its id.
    """

    id: str
    label: str
    description: str = ""
    codes: list[Code] = Field(default_factory=list)
    color: str | None = None
    guid: str | None = None

    _validate_id = field_validator("id")(_check_id)
    _validate_label = field_validator("label")(_check_not_empty)
    _validate_color = field_validator("color")(_check_color)
    _validate_guid = field_validator("guid")(_check_guid)

    @property
    def export_guid(self) -> str:
        """The guid of the theme in a .qdc export: :attr:`guid` if set, else :func:`theme_guid`."""
        return self.guid or theme_guid(self.id)


class Codebook(_CodebookPart):
    """A validated codebook: themes holding codes, with lookups by code id.

    Construct it with :func:`load_codebook` (which reports every problem with
    its location in the file) or directly; either way ids are checked to be
    unique across themes and codes and aliases not to collide with live ids.

    Attributes
    ----------
    name : str
        Name of the codebook.
    version : str
        Free-form version string, e.g. ``"1.0"``.
    themes : list of Theme
        The themes, in reporting order.
    """

    name: str
    version: str = ""
    themes: list[Theme]

    _codes_by_id: dict[str, Code] = PrivateAttr(default_factory=dict)
    _themes_by_code_id: dict[str, Theme] = PrivateAttr(default_factory=dict)
    _live_ids_by_alias: dict[str, str] = PrivateAttr(default_factory=dict)

    _validate_name = field_validator("name")(_check_not_empty)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value):
        # YAML reads `version: 1.0` as a float; the version is a label, not a number.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value

    @model_validator(mode="after")
    def _check_cross_references(self, info: ValidationInfo) -> "Codebook":
        # load_codebook runs these checks itself on the raw data so that it can
        # report them together with field errors, located in the source file.
        if info.context and info.context.get("defer_cross_checks"):
            return self
        found = cross_reference_problems(self.model_dump())
        if found:
            raise ValueError("; ".join(f"{_dotted(path)}: {message}" for path, message in found))
        return self

    def model_post_init(self, __context) -> None:
        for theme in self.themes:
            for code in theme.codes:
                self._codes_by_id.setdefault(code.id, code)
                self._themes_by_code_id.setdefault(code.id, theme)
                for alias in code.aliases:
                    self._live_ids_by_alias.setdefault(alias, code.id)

    @property
    def codes(self) -> list[Code]:
        """Every code, theme by theme, in codebook order."""
        return [code for theme in self.themes for code in theme.codes]

    @property
    def code_ids(self) -> list[str]:
        """The ids of every code, in codebook order."""
        return [code.id for code in self.codes]

    @property
    def theme_ids(self) -> list[str]:
        """The ids of every theme, in codebook order."""
        return [theme.id for theme in self.themes]

    def code_by_id(self, code_id: str) -> Code:
        """Return the code with id ``code_id`` (or with ``code_id`` as an alias).

        Raises
        ------
        KeyError
            If no code has that id or alias.
        """
        live_id = self.resolve_alias(code_id)
        if live_id is None:
            raise KeyError(f"no code with id {code_id!r} in codebook {self.name!r}")
        return self._codes_by_id[live_id]

    def theme_of(self, code_id: str) -> Theme:
        """Return the theme that holds the code ``code_id`` (an id or an alias).

        Raises
        ------
        KeyError
            If no code has that id or alias.
        """
        return self._themes_by_code_id[self.code_by_id(code_id).id]

    def resolve_alias(self, code_id: str) -> str | None:
        """Return the live code id for ``code_id``, or None if it is unknown.

        A live id maps to itself; an alias maps to the code that lists it.

        Examples
        --------
        >>> codebook.resolve_alias("funding_old")       # doctest: +SKIP
        'res_funding'
        """
        if code_id in self._codes_by_id:
            return code_id
        return self._live_ids_by_alias.get(code_id)


# ------------------------------------------------------------------ validation

DataPath = tuple  # a location inside codebook data, e.g. ("themes", 2, "codes", 1, "id")


def cross_reference_problems(
    data: dict, describe: Callable[[DataPath], str] | None = None
) -> list[tuple[DataPath, str]]:
    """Find duplicate ids and alias collisions in raw codebook data.

    Works on plain dicts and tolerates missing or malformed entries (field
    validation reports those), so that every problem can be reported at once.

    Parameters
    ----------
    data : dict
        Codebook data as read from YAML (or built from a table or .qdc).
    describe : callable, optional
        Renders the location of the earlier, clashing entry named in a message;
        by default as a data path such as ``themes[0].codes[0]``.

    Returns
    -------
    list of (path, message)
        ``path`` locates the offending value, e.g. ``("themes", 2, "codes", 1, "id")``.
    """
    describe = describe or _dotted
    found: list[tuple[DataPath, str]] = []
    themes = data.get("themes") if isinstance(data, dict) else None
    if not isinstance(themes, list):
        return found

    first_theme_at: dict[str, DataPath] = {}
    first_code_at: dict[str, DataPath] = {}
    aliases: list[tuple[str, DataPath]] = []
    guids: list[tuple[str, DataPath, bool]] = []  # (guid, where, given rather than derived)
    for t, theme in enumerate(themes):
        if not isinstance(theme, dict):
            continue
        theme_id = _text_or_none(theme.get("id"))
        if theme_id:
            if theme_id in first_theme_at:
                found.append((("themes", t, "id"), f"duplicate theme id {theme_id!r} "
                                                   f"(also at {describe(first_theme_at[theme_id])})"))
            else:
                first_theme_at[theme_id] = ("themes", t)
        guids.extend(_guid_entry(theme, ("themes", t), lambda: theme_guid(theme_id)))
        codes = theme.get("codes")
        if not isinstance(codes, list):
            continue
        for c, code in enumerate(codes):
            if not isinstance(code, dict):
                continue
            code_id = _text_or_none(code.get("id"))
            if code_id:
                if code_id in first_code_at:
                    found.append((("themes", t, "codes", c, "id"),
                                  f"duplicate code id {code_id!r} "
                                  f"(also at {describe(first_code_at[code_id])})"))
                else:
                    first_code_at[code_id] = ("themes", t, "codes", c)
            code_aliases = code.get("aliases")
            listed: list[str] = []
            if isinstance(code_aliases, list):
                for a, alias in enumerate(code_aliases):
                    alias = _text_or_none(alias)
                    if alias:
                        aliases.append((alias, ("themes", t, "codes", c, "aliases", a)))
                        listed.append(alias)
            guids.extend(_guid_entry(code, ("themes", t, "codes", c),
                                     lambda: code_guid(original_code_id(code_id, listed))))

    # A theme and a code sharing an id would make decisions ambiguous.
    for code_id, code_at in first_code_at.items():
        if code_id in first_theme_at:
            found.append(((*code_at, "id"), f"code id {code_id!r} is also a theme id "
                                            f"(theme at {describe(first_theme_at[code_id])})"))

    first_alias_at: dict[str, DataPath] = {}
    for alias, here in aliases:
        if alias in first_code_at:
            found.append((here, f"alias {alias!r} collides with a live code id "
                                f"(code at {describe(first_code_at[alias])}); an alias is an old "
                                "id that no code or theme has any more: remove it from the aliases"))
        elif alias in first_theme_at:
            found.append((here, f"alias {alias!r} collides with a theme id "
                                f"(theme at {describe(first_theme_at[alias])}); an alias is an old "
                                "id that no code or theme has any more: remove it from the aliases"))
        elif alias in first_alias_at:
            found.append((here, f"alias {alias!r} is claimed by two codes "
                                f"(also at {describe(first_alias_at[alias])})"))
        else:
            first_alias_at[alias] = here

    # Two equal derived guids come from a clash reported above already.
    first_guid_at: dict[str, tuple[DataPath, bool]] = {}
    for guid, here, given in guids:
        if guid not in first_guid_at:
            first_guid_at[guid] = (here, given)
            continue
        there, given_there = first_guid_at[guid]
        if given or given_there:
            found.append(((*here, "guid" if given else "id"),
                          f"guid {guid} is also the guid of {describe(there)}"
                          f"{'' if given_there else ' (derived from its id, or from its first alias if it has aliases)'}; every code and "
                          "theme needs a guid of its own: remove or change one of them"))
    return found


def _guid_entry(entry: dict, here: DataPath, derive: Callable[[], str]) -> list:
    """``[(guid, here, given)]`` for a theme or code in raw data; ``[]`` if it has
    neither a valid guid nor an id to derive one from (field validation reports those)."""
    given = entry.get("guid")
    if given is not None:
        try:
            return [(normalise_guid(given), here, True)]
        except ValueError:
            return []
    return [(derive(), here, False)] if _text_or_none(entry.get("id")) else []


def _text_or_none(value) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _dotted(path: Iterable) -> str:
    """Render ``("themes", 2, "codes", 1, "id")`` as ``themes[2].codes[1].id``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _field_error_message(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check its spelling)"
    message = error["msg"]
    return message.removeprefix("Value error, ")


class _SourceLocator:
    """Turns a path inside the codebook data into a location in the source file.

    The default renders the path itself (``themes[2].codes[1].id``); subclasses
    describe a path in their own terms (a YAML line, a table row and column, a
    .qdc code's name) and the problem is worded from that description.
    """

    def describe(self, path: DataPath) -> str:
        return _dotted(path)

    def problem(self, file: Path, path: DataPath, message: str) -> Problem:
        return Problem(str(file), f"{self.describe(path)}: {message}")


def codebook_from_data(data, file: str | Path, locator: _SourceLocator | None = None) -> Codebook:
    """Validate raw codebook data and return a :class:`Codebook`.

    Every problem is collected and reported together in one :class:`InputError`
    whose entries name the location of each problem.

    Parameters
    ----------
    data : dict
        Codebook data in the shape of the YAML format.
    file : str or Path
        The file the data came from (named in errors).
    locator : optional
        Maps data paths to locations in the source file; by default paths are
        given as ``themes[2].codes[1].id``.

    Raises
    ------
    InputError
        If the data is not a valid codebook.
    """
    file = Path(file)
    locator = locator or _SourceLocator()
    if not isinstance(data, dict):
        raise InputError(
            "a codebook must be a mapping with 'name', 'version' and 'themes'",
            file=file, hint="see codebook/codebook.yaml for the expected structure",
        )

    found: list[tuple[DataPath, str]] = []
    codebook = None
    try:
        codebook = Codebook.model_validate(data, context={"defer_cross_checks": True})
    except ValidationError as error:
        found.extend((tuple(e["loc"]), _field_error_message(e)) for e in error.errors())
    found.extend(cross_reference_problems(data, locator.describe))
    if found:
        raise_codebook_problems(file, [locator.problem(file, path, message) for path, message in found])
    assert codebook is not None
    for t, theme in enumerate(codebook.themes):
        if not theme.codes:   # allowed (a .qdc folder kept for later), but nothing can be coded under it
            log.warning("%s: %s has no codes, so no segment can be coded under it",
                        file, locator.describe(("themes", t, "id")))
    return codebook


def raise_codebook_problems(file: str | Path, problems: list[Problem],
                            hint: str = VALIDATION_HINT) -> None:
    """Raise one :class:`InputError` listing every problem found in a codebook file."""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    raise InputError(f"the codebook has {count}", file=file, hint=hint, problems=problems)


# --------------------------------------------------------------------- loading


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook, choosing the reader by file extension.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml``, ``.csv``, ``.xlsx`` or REFI-QDA ``.qdc`` file.

    Returns
    -------
    Codebook

    Raises
    ------
    InputError
        If the file is missing, unreadable or not a valid codebook; every
        validation problem is listed with its location.

    Examples
    --------
    >>> codebook = load_codebook("codebook/codebook.yaml")   # doctest: +SKIP
    >>> codebook.theme_of("res_funding").label               # doctest: +SKIP
    'Resources and capacity'
    """
    path = Path(path)
    if not path.is_file():
        raise codebook_not_found(path)
    readers: dict[str, Callable[[Path], Codebook]] = {
        ".yaml": read_codebook_yaml,
        ".yml": read_codebook_yaml,
        ".csv": read_codebook_csv,
        ".xlsx": read_codebook_xlsx,
        ".qdc": read_codebook_qdc,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            f"unsupported codebook format {path.suffix or '(no extension)'!r}", file=path,
            hint="use one of " + ", ".join(SUPPORTED_EXTENSIONS),
        )
    return reader(path)


def read_codebook_yaml(path: str | Path) -> Codebook:
    """Read a codebook in the native YAML format.

    Raises
    ------
    InputError
        If the YAML is malformed (naming the line) or the codebook is invalid.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (safe)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(
            f"not valid YAML{where}: {problem}", file=path,
            hint="check indentation and quoting near that line; text containing ': ' or "
                 "starting with a quote needs to be quoted as a whole",
        ) from None
    return codebook_from_data(data, path, _YamlLocator(text, data))


class _YamlLocator(_SourceLocator):
    """Locates codebook data paths as lines of the YAML file, naming the code or theme.

    ``themes[0].codes[1].definition`` becomes ``line 14, themes[0].codes[1].definition
    (code 'res_staff')``, so that an author need not count list entries.
    """

    def __init__(self, text: str, data):
        self.data = data
        try:
            self.root = yaml.compose(text, Loader=SAFE_LOADER)  # noqa: S506 (safe)
        except yaml.YAMLError:  # cannot happen after a successful load; paths alone then
            self.root = None

    def _line(self, path: DataPath) -> int | None:
        """The line of the deepest node along ``path`` that is in the file."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                found = [(key, value) for key, value in node.value
                         if isinstance(key, yaml.ScalarNode) and key.value == part]
                if not found:
                    break
                key, node = found[-1]
                line = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def _named(self, path: DataPath) -> str:
        """``(code 'res_staff')`` or ``(theme 'resources')`` for a path inside one, by its
        id, or by its label when the id is what is wrong."""
        try:
            theme = self.data["themes"][path[1]]
            entry, kind = theme, "theme"
            if len(path) >= 4 and path[2] == "codes":
                entry, kind = theme["codes"][path[3]], "code"
        except (KeyError, IndexError, TypeError):
            return ""
        if not isinstance(entry, dict):
            return ""
        field = path[4] if kind == "code" and len(path) > 4 else path[2] if kind == "theme" \
            and len(path) > 2 else None
        name = entry.get("label") if field == "id" else entry.get("id")
        return f" ({kind} {name!r})" if isinstance(name, str) and name.strip() else ""

    def describe(self, path: DataPath) -> str:
        line = self._line(path)
        where = f"line {line}, {_dotted(path)}" if line is not None else _dotted(path)
        return where + self._named(path)


def _read_text(path: Path) -> str:
    # The ingest stage's reader: UTF-8 with or without a BOM, and the cp1252,
    # MacRoman and UTF-16 files Excel saves; an InputError for anything else.
    text, _encoding = read_text_file(path)
    return text


# ---------------------------------------------------------------- CSV and XLSX

REQUIRED_TABLE_COLUMNS = ("theme", "code", "label", "definition", "include", "exclude", "examples")
OPTIONAL_TABLE_COLUMNS = ("theme_label", "theme_description", "aliases", "color", "guid",
                          "theme_color", "theme_guid")
# Optional single-value columns of a code and of its theme, set only when filled.
_OPTIONAL_CODE_COLUMNS = {"color": "color", "guid": "guid"}
_OPTIONAL_THEME_COLUMNS = {"theme_color": "color", "theme_guid": "guid"}
LIST_FIELDS = ("include", "exclude", "examples", "aliases")

# Column that holds each model field, for locating problems in a table.
_CODE_FIELD_COLUMNS = {"id": "code", "label": "label", "definition": "definition",
                       "include": "include", "exclude": "exclude", "examples": "examples",
                       "aliases": "aliases", "color": "color", "guid": "guid"}
_THEME_FIELD_COLUMNS = {"id": "theme", "label": "theme_label", "description": "theme_description",
                        "color": "theme_color", "guid": "theme_guid"}
_BULLET = re.compile(r"^\s*[•\-*]\s+")
# A bullet that starts an item in a bulleted list cell: at the very start of
# the line, followed by a space or a tab (or nothing, for an empty item).
_ITEM_BULLET = re.compile(r"^[•\-*](?:[ \t]+|$)")
# How write_codebook_xlsx writes list items: a bullet that Excel never takes
# for the start of a formula, and two spaces before each further line of an item.
XLSX_ITEM_BULLET = "• "
XLSX_CONTINUATION_INDENT = "  "


def split_list_cell(cell: str) -> list[str]:
    """Split a table cell into list items.

    * **Bulleted cell**: the first non-blank line starts with a bullet (``•``,
      ``-`` or ``*`` and a space) at the very start of the line. Each bulleted
      line starts an item; a line indented by spaces or a tab continues the
      item above, as a line of its own (two spaces of indentation are removed,
      more are kept); any other non-blank line starts an item. ``;`` never
      splits an item. :func:`write_codebook_xlsx` writes every list cell this
      way, so any item text reads back unchanged.
    * **Otherwise**, a cell of several lines holds one item per line, and a
      cell of one line is split at ``;``. Leading bullets are dropped.

    Blank items are dropped, and line breaks (``\\r\\n``, ``\\r``) are read as ``\\n``.

    Examples
    --------
    >>> split_list_cell("Grant cuts; short-term funding")
    ['Grant cuts', 'short-term funding']
    >>> split_list_cell("first\\nsecond; still second")
    ['first', 'second; still second']
    >>> split_list_cell("• Grant cuts; underspends")
    ['Grant cuts; underspends']
    >>> split_list_cell("• A quote\\n  over two lines\\n• Another")
    ['A quote\\nover two lines', 'Another']
    """
    text = (cell or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    filled = [line for line in lines if line.strip()]
    if not filled:
        return []
    if _ITEM_BULLET.match(filled[0]):
        return _bulleted_items(lines)
    # Items written one per line may themselves contain semicolons.
    pieces = lines if len(filled) > 1 else text.split(";")
    return [_BULLET.sub("", piece).strip() for piece in pieces if _BULLET.sub("", piece).strip()]


def _bulleted_items(lines: list[str]) -> list[str]:
    items: list[list[str]] = []
    for line in lines:
        if not items and not line.strip():
            continue  # blank lines before the first item
        if line[:1] in (" ", "\t") or (not line.strip() and items):
            # A continuation line; a blank line inside an item (its indentation
            # trimmed by an editor) too: blank lines at an item's end are
            # stripped below.
            items[-1].append(line[2:] if line.startswith("  ") else line.lstrip(" \t"))
        else:
            items.append([_ITEM_BULLET.sub("", line, count=1)])
    texts = ("\n".join(item).strip() for item in items)
    return [text for text in texts if text]


def list_cell_text(items: list[str]) -> str:
    """The text of a list cell that :func:`split_list_cell` reads back as ``items``.

    One item per line, each starting with ``"• "``; a line break inside an
    item is followed by two spaces of indentation.

    Examples
    --------
    >>> print(list_cell_text(["Grant cuts; underspends", "A quote\\nover two lines"]))
    • Grant cuts; underspends
    • A quote
      over two lines
    """
    return "\n".join(
        XLSX_ITEM_BULLET + item.replace("\r\n", "\n").replace("\r", "\n")
        .replace("\n", "\n" + XLSX_CONTINUATION_INDENT)
        for item in items
    )


class _TableLocator(_SourceLocator):
    """Locates codebook data paths as rows and columns of the source table."""

    def __init__(self, theme_rows: list[int], code_rows: list[list[int]]):
        self.theme_rows = theme_rows
        self.code_rows = code_rows

    def _row_and_column(self, path: DataPath) -> tuple[int | None, str | None]:
        if len(path) >= 2 and path[0] == "themes" and isinstance(path[1], int):
            t = path[1]
            if len(path) >= 4 and path[2] == "codes" and isinstance(path[3], int):
                field = path[4] if len(path) > 4 else None
                return self.code_rows[t][path[3]], _CODE_FIELD_COLUMNS.get(field, field)
            field = path[2] if len(path) > 2 else None
            return self.theme_rows[t], _THEME_FIELD_COLUMNS.get(field, field)
        return None, None

    def describe(self, path: DataPath) -> str:
        row, _column = self._row_and_column(path)
        return f"row {row}" if row is not None else _dotted(path)

    def problem(self, file: Path, path: DataPath, message: str) -> Problem:
        row, column = self._row_and_column(path)
        if row is None:
            return Problem(str(file), f"{_dotted(path)}: {message}")
        return Problem(str(file), message, row=row, column=column)


def codebook_from_table(header: list, rows: list[list], file: str | Path,
                        name: str | None = None, version: str = "") -> Codebook:
    """Build a codebook from a table of one row per code.

    Parameters
    ----------
    header : list
        Column names; matched case-insensitively, spaces read as ``_``.
    rows : list of list
        Data rows; row ``i`` is reported as spreadsheet row ``i + 2``.
    file : str or Path
        The source file, named in errors.
    name : str, optional
        Codebook name; defaults to the file name without extension.
    version : str, optional
        Codebook version; empty by default.

    Raises
    ------
    InputError
        If a required column is missing (listing the columns that exist) or
        any row is invalid (naming the row and column).
    """
    file = Path(file)
    columns = [_normalise_header(h) for h in header]
    missing = [c for c in REQUIRED_TABLE_COLUMNS if c not in columns]
    if missing:
        present = ", ".join(repr(str(h)) for h in header if str(h or "").strip()) or "(none)"
        raise InputError(
            f"missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; the header row has {present}",
            file=file, row=1,
            hint="the first row must name the columns " + ", ".join(REQUIRED_TABLE_COLUMNS)
                 + " (optional: " + ", ".join(OPTIONAL_TABLE_COLUMNS) + ")",
        )
    repeated = {c: [i + 1 for i, other in enumerate(columns) if other == c] for c in columns if c}
    repeated = {c: numbers for c, numbers in repeated.items() if len(numbers) > 1}
    if repeated:   # only one of them would be read
        from openpyxl.utils import get_column_letter   # not on the path of every codebook load

        raise InputError(
            "; ".join(f"the column {c!r} appears {len(numbers)} times (columns "
                      + ", ".join(get_column_letter(n) for n in numbers) + ")" for c, numbers in repeated.items()),
            file=file, row=1, hint="keep one column of each name, joining their cells if both hold text")
    known = REQUIRED_TABLE_COLUMNS + OPTIONAL_TABLE_COLUMNS
    for column, written in zip(columns, header):
        if column and column not in known:
            close = difflib.get_close_matches(column, known, n=1, cutoff=0.75)
            log.warning("%s: the column %r is not a codebook column and is not read%s", file, str(written),
                        f"; did you mean {close[0]!r}?" if close else
                        " (the columns read are " + ", ".join(known) + ")")
    position = {c: columns.index(c) for c in columns if c}

    themes: dict[str, dict] = {}
    theme_rows: list[int] = []
    code_rows: list[list[int]] = []
    conflicts: list[Problem] = []
    for index, values in enumerate(rows):
        row_number = index + 2
        cells = {c: _cell_text(values[i]) if i < len(values) else "" for c, i in position.items()}
        # List cells are split unstripped: indentation is part of their format.
        raw_lists = {c: _raw_cell_text(values[i]) if i < len(values) else ""
                     for c, i in position.items() if c in LIST_FIELDS}
        if not any(cells.values()):
            continue  # blank rows are common at the end of spreadsheets
        theme_id = cells["theme"]
        if theme_id not in themes:
            themes[theme_id] = {"id": theme_id,
                                "label": cells.get("theme_label") or _label_from_id(theme_id),
                                "description": cells.get("theme_description", ""),
                                "codes": []}
            themes[theme_id].update(_filled(cells, _OPTIONAL_THEME_COLUMNS))
            theme_rows.append(row_number)
            code_rows.append([])
        else:
            theme = themes[theme_id]
            for key, value in _filled(cells, _OPTIONAL_THEME_COLUMNS).items():
                theme.setdefault(key, value)  # a colour or guid may be given on any one row
            for column, key in (("theme_label", "label"), ("theme_description", "description"),
                                *_OPTIONAL_THEME_COLUMNS.items()):
                value, earlier = cells.get(column, ""), theme.get(key, "")
                if value and value != earlier:
                    conflicts.append(Problem(
                        str(file), f"{column} {value!r} differs from {earlier!r} given for "
                                   f"theme {theme_id!r} at row {theme_rows[list(themes).index(theme_id)]}",
                        row=row_number, column=column))
        code = {"id": cells["code"], "label": cells["label"], "definition": cells["definition"]}
        for field in LIST_FIELDS:
            code[field] = split_list_cell(raw_lists.get(field, ""))
        code.update(_filled(cells, _OPTIONAL_CODE_COLUMNS))
        themes[theme_id]["codes"].append(code)
        code_rows[list(themes).index(theme_id)].append(row_number)

    data = {"name": name or file.stem, "version": version, "themes": list(themes.values())}
    locator = _TableLocator(theme_rows, code_rows)
    try:
        codebook = codebook_from_data(data, file, locator)
    except InputError as error:
        if not conflicts:
            raise
        raise_codebook_problems(file, conflicts + error.problems)
    if conflicts:
        raise_codebook_problems(file, conflicts,
                                hint="give each theme's label and description once, or identically")
    return codebook


def _filled(cells: dict, fields: dict) -> dict:
    """``{field: cell}`` for the columns in ``fields`` (column → field) whose cell is filled."""
    return {field: cells[column] for column, field in fields.items() if cells.get(column)}


def _normalise_header(value) -> str:
    text = str(value or "").strip().lstrip("\ufeff").lower()
    text = re.sub(r"\s+", "_", text)
    return {"code_id": "code", "theme_id": "theme"}.get(text, text)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store a numeric id such as 12 as 12.0
    return str(value).strip()


def _raw_cell_text(value) -> str:
    # Like _cell_text, but a text cell keeps its leading indentation.
    return value if isinstance(value, str) else _cell_text(value)


def _label_from_id(identifier: str) -> str:
    words = re.split(r"[_\-.]+", identifier)
    return " ".join(words).strip().capitalize() or identifier


def read_codebook_csv(path: str | Path) -> Codebook:
    """Read a codebook from a CSV of one row per code (see :func:`codebook_from_table`).

    Raises
    ------
    InputError
        If the file cannot be decoded, lacks a required column, or any row is invalid.
    """
    path = Path(path)
    text = _read_text(path)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_table_delimiter(text)))
    if not records:
        raise InputError("the codebook CSV is empty", file=path,
                         hint="the first row must name the columns " + ", ".join(REQUIRED_TABLE_COLUMNS))
    return codebook_from_table(records[0], records[1:], path)


def _table_delimiter(text: str) -> str:
    """The delimiter under which the header row names the required columns.

    Excel writes ';' in locales with a decimal comma and tabs for "Unicode
    Text"; judging by the header alone avoids being misled by punctuation in
    the definitions below it.
    """
    header_line = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        header = next(csv.reader([header_line], delimiter=delimiter), [])
        if set(REQUIRED_TABLE_COLUMNS) <= {_normalise_header(h) for h in header}:
            return delimiter
    return ","


def read_codebook_xlsx(path: str | Path) -> Codebook:
    """Read a codebook from an xlsx workbook of one row per code.

    Reads the sheet named ``codebook`` if there is one, else the first sheet,
    and the codebook's name and version from the rows ``name`` and ``version``
    of a sheet named ``about``, if there is one (else the name is the file's,
    and the version empty). The workbook written by
    :func:`write_codebook_xlsx` reads back as the codebook it was written from.

    Raises
    ------
    InputError
        If the workbook cannot be opened, lacks a required column, or any row is invalid.
    """
    import zipfile

    from openpyxl import load_workbook

    from pipeline.ingest.safety import check_office_file
    from openpyxl.utils.exceptions import InvalidFileException

    path = Path(path)
    check_office_file(path, "xlsx")  # zip bombs, entity attacks, macros, Strict OOXML
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise InputError(f"cannot open the workbook: {error}", file=path,
                         hint="save the codebook from Excel as an .xlsx workbook") from None
    try:
        by_name = {sheet.title.lower(): sheet for sheet in workbook.worksheets}
        sheet = by_name.get("codebook") or workbook.worksheets[0]
        title, names = sheet.title, [ws.title for ws in workbook.worksheets]
        records = [list(row) for row in sheet.iter_rows(values_only=True)]
        about = by_name.get(XLSX_ABOUT_SHEET)
        about_rows = [list(row) for row in about.iter_rows(values_only=True)] if about else []
    except Exception as error:  # read-only sheets are parsed lazily: damage shows up only here
        raise InputError(f"cannot read the workbook ({type(error).__name__}: {error})", file=path,
                         hint="save the codebook from Excel as an .xlsx workbook") from None
    finally:
        workbook.close()
    if not records:
        raise InputError("the codebook sheet is empty", file=path,
                         hint="the first row must name the columns " + ", ".join(REQUIRED_TABLE_COLUMNS))
    given = {_cell_text(row[0]): _cell_text(row[1]) for row in about_rows if len(row) >= 2}
    try:
        return codebook_from_table(records[0], records[1:], path, name=given.get("name") or None,
                                   version=given.get("version", ""))
    except InputError as error:
        if error.row != 1 or len(names) < 2:
            raise
        # the header is not on this sheet: say which one was read
        note = (f"; these are sheet {title!r} of {len(names)} (" + ", ".join(repr(n) for n in names)
                + "): the sheet named 'codebook' is read, or else the first one")
        raise InputError(error.message, file=error.file, row=error.row, column=error.column,
                         hint=error.hint + note, problems=error.problems) from None


# ------------------------------------------------------------------- REFI-QDA

# Section headings used in a code's Description to keep the fields REFI-QDA
# has no place for. Headings start a line; their content continues on lines
# indented by two spaces, so text inside a field can never look like a heading.
_SECTION_HEADINGS = ("Definition", "Description", "Include", "Exclude", "Examples", "Aliases", "ID")
_SECTION_LINE = re.compile(r"^(" + "|".join(_SECTION_HEADINGS) + r"):[ \t]?(.*)$")
_LIST_SECTIONS = {"Include": "include", "Exclude": "exclude", "Examples": "examples",
                  "Aliases": "aliases"}
_ORIGIN_PATTERN = re.compile(r"^(?P<name>.*) \| version (?P<version>.*)$", re.S)


def code_guid(code_id: str) -> str:
    """The REFI-QDA guid derived from a code id: a uuid5 of it.

    A code without a ``guid`` of its own is exported with the guid derived
    from its original id (see :attr:`Code.export_guid`).
    """
    return str(uuid.uuid5(GUID_NAMESPACE, f"code:{code_id}"))


def original_code_id(code_id: str, aliases: list[str]) -> str:
    """The id a code was first exported under: its first alias, else its id.

    Aliases are old ids, listed oldest first; so a code renamed from ``a`` to
    ``b`` (``aliases: [a]``) keeps the guid it had as ``a``, and a code merged
    from ``a`` and ``c`` keeps the guid of the one listed first.

    Examples
    --------
    >>> original_code_id("res_funding", ["funding", "money"])
    'funding'
    >>> original_code_id("res_funding", [])
    'res_funding'
    """
    return aliases[0] if aliases else code_id


def theme_guid(theme_id: str) -> str:
    """The stable REFI-QDA guid of a theme (exported as a non-codable parent code)."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"theme:{theme_id}"))


def _indent_continuation(text: str) -> str:
    return text.replace("\n", "\n  ")


def code_description_text(code: Code) -> str:
    """The structured Description of a code in a .qdc file.

    Examples
    --------
    >>> print(code_description_text(code))        # doctest: +SKIP
    Definition: The amount, timing and security of money ...
    Include:
    - Grant amounts, budget cuts or underspends
    Exclude:
    - What will happen when the programme grant ends (use leg_sustainability)
    Examples:
    - We've had a twelve-month grant ...
    ID: res_funding
    """
    lines = [f"Definition: {_indent_continuation(code.definition)}"]
    for heading, field in _LIST_SECTIONS.items():
        items = getattr(code, field)
        if items:
            lines.append(f"{heading}:")
            lines.extend(f"- {_indent_continuation(item)}" for item in items)
    lines.append(f"ID: {code.id}")
    return "\n".join(lines)


def theme_description_text(theme: Theme) -> str:
    """The structured Description of a theme in a .qdc file."""
    lines = []
    if theme.description:
        lines.append(f"Description: {_indent_continuation(theme.description)}")
    lines.append(f"ID: {theme.id}")
    return "\n".join(lines)


def parse_description_text(text: str) -> tuple[str, dict]:
    """Split a .qdc Description into free text and structured sections.

    Returns
    -------
    preamble : str
        Text before the first section heading (all of it, for descriptions
        written in other tools).
    sections : dict
        ``"definition"``, ``"description"`` and ``"id"`` map to text;
        ``"include"``, ``"exclude"``, ``"examples"`` and ``"aliases"`` to lists.
    """
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    preamble: list[str] = []
    sections: dict = {}
    current: str | None = None
    for line in text.split("\n"):
        heading = _SECTION_LINE.match(line)
        if heading:
            current = heading.group(1)
            rest = heading.group(2)
            if current in _LIST_SECTIONS:
                sections[_LIST_SECTIONS[current]] = []
                if rest.strip():  # "Include: a; b" written by hand on one line
                    sections[_LIST_SECTIONS[current]].extend(split_list_cell(rest))
            else:
                sections[current.lower()] = rest
            continue
        if current is None:
            preamble.append(line)
        elif current in _LIST_SECTIONS:
            items = sections[_LIST_SECTIONS[current]]
            if line.startswith("- "):
                items.append(line[2:])
            elif line.startswith("  ") and items:
                items[-1] += "\n" + line[2:]
            elif line.strip():
                items.append(_BULLET.sub("", line).strip())
        else:
            key = current.lower()
            sections[key] += "\n" + (line[2:] if line.startswith("  ") else line)
    for key in ("definition", "description", "id"):
        if key in sections:
            sections[key] = sections[key].strip()
    return "\n".join(preamble).strip(), sections


def derive_id(name: str) -> str:
    """Make an id from a code name written in another tool.

    Examples
    --------
    >>> derive_id("Funding & Finance (2023)")
    'funding_finance_2023'
    >>> derive_id("Santé publique")
    'sante_publique'
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    identifier = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return identifier[:60].rstrip("_") or "code"


def _local_name(tag: str) -> str:
    # Tools differ in whether they qualify element names with the namespace.
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str) -> list:
    return [child for child in element if _local_name(child.tag) == name]


def _description_of(element) -> str:
    found = _children(element, "Description")
    return (found[0].text or "") if found else ""


def _is_codable(element) -> bool:
    # isCodable is an xsd:boolean: "false" and "0" are false, "true" and "1" true.
    return (element.get("isCodable") or "true").strip().lower() not in ("false", "0")


def _child_codes(element) -> list:
    """The ``Code`` elements directly below ``element`` (looking through any wrapper)."""
    found = []
    for child in element:
        name = _local_name(child.tag)
        if name == "Code":
            found.append(child)
        elif name != "Description":
            found.extend(_child_codes(child))
    return found


def read_codebook_qdc(path: str | Path) -> Codebook:
    """Read a REFI-QDA codebook (.qdc).

    Mapping onto themes and codes:

    * A top-level ``Code`` with child codes is a theme; every codable code
      below it (at any depth) becomes one of its codes, in document order. A
      codable parent's own codability is dropped: themes are not codable here.
    * A non-codable ``Code`` below a theme (``isCodable="false"``, a folder
      or grouping) is not a code: the codable codes below it become codes of
      the theme, with the grouping's name before their own in their label
      (``"Staffing / Turnover"``, see :data:`GROUP_LABEL_SEPARATOR`); a
      derived id comes from the code's own name, as for any code. Its
      description is appended to the theme's description as ``"Staffing:
      <description>"``. Each grouping is logged as a warning saying what
      became of it.
    * A top-level codable ``Code`` without children goes into a theme
      ``uncategorised`` ("Uncategorised"), rather than becoming a theme of its
      own, because a theme and a code may not share an id.
    * A top-level non-codable ``Code`` without children is an empty theme.

    Each theme's and code's ``guid`` is kept (see :meth:`_QdcImport._keep_guid`),
    so that exporting the codebook again gives the codes the guids the other
    tool knows them by; the guid of a grouping is not kept, as a grouping is
    not exported.

    Descriptions written by :func:`write_codebook_qdc` hold the definition,
    include, exclude, examples, aliases and id in sections (see
    :func:`code_description_text`). A free description from another tool
    becomes the definition, and the id is derived from the name; a code
    without a description gets its name as its definition, with a warning.

    Raises
    ------
    InputError
        If the file is not well-formed XML, contains a DTD or entity
        declarations (refused for safety), or is not a REFI-QDA codebook.
    """
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    path = Path(path)
    try:
        root = SafeET.fromstring(path.read_bytes(), forbid_dtd=True)
    except DefusedXmlException as error:
        raise InputError(
            f"the .qdc file contains a DTD or entity declarations, which are refused for "
            f"safety ({type(error).__name__})", file=path,
            hint="export the codebook again from the QDA tool; REFI-QDA files need no DTD",
        ) from None
    except ET.ParseError as error:
        line, column = error.position
        raise InputError(
            f"not well-formed XML at line {line}, column {column + 1}: {error}", file=path,
            hint="export the codebook again from the QDA tool",
        ) from None

    if _local_name(root.tag) != "CodeBook":
        nested = [e for e in root.iter() if _local_name(e.tag) == "CodeBook"]
        if not nested:
            raise InputError(
                f"the root element is <{_local_name(root.tag)}>, not a REFI-QDA <CodeBook>",
                file=path, hint=f"a .qdc file is XML in the namespace {QDC_NAMESPACE}",
            )
        root = nested[0]
    codes_elements = _children(root, "Codes")
    top_level = _children(codes_elements[0], "Code") if codes_elements else []

    builder = _QdcImport(path)
    themes = builder.build_themes(top_level)
    name, version = path.stem, ""
    origin = _ORIGIN_PATTERN.match(root.get("origin") or "")
    if origin:
        name, version = origin.group("name"), origin.group("version")
    data = {"name": name, "version": version, "themes": themes}
    return codebook_from_data(data, path, _QdcLocator(builder.names))


class _QdcImport:
    """Builds codebook data from the top-level REFI-QDA ``Code`` elements."""

    def __init__(self, path: Path):
        self.path = path
        self.names: dict[DataPath, str] = {}  # ("themes", t[, "codes", c]) -> name in the file
        self.used_ids: set[str] = set()
        self.named_after_themselves: list[str] = []

    def build_themes(self, top_level: list) -> list[dict]:
        # Explicit ids are reserved first, so that a derived id never takes one.
        for element in top_level:
            for node in element.iter():
                if _local_name(node.tag) == "Code":
                    explicit = parse_description_text(_description_of(node))[1].get("id")
                    if explicit:
                        self.used_ids.add(explicit)

        themes: list[dict] = []
        uncategorised: list = []
        for element in top_level:
            descendants = [node for node in element.iter()
                           if _local_name(node.tag) == "Code" and node is not element]
            is_codable = _is_codable(element)
            if descendants or not is_codable:
                if descendants and is_codable:
                    log.info("%s: parent code %r becomes a theme, which is not codable",
                             self.path, element.get("name"))
                themes.append(self._theme(element, len(themes)))
            else:
                uncategorised.append(element)
        if uncategorised:
            t = len(themes)
            self.names[("themes", t)] = UNCATEGORISED_THEME_LABEL
            theme = {"id": self._unique_id(UNCATEGORISED_THEME_ID), "label": UNCATEGORISED_THEME_LABEL,
                     "description": "Codes that had no parent code in the imported codebook.",
                     "codes": [self._code(element, t, c) for c, element in enumerate(uncategorised)]}
            themes.append(theme)
        if self.named_after_themselves:
            log.warning("%s: %d code(s) have no description, so their name is used as their "
                        "definition; write definitions for better suggestions: %s", self.path,
                        len(self.named_after_themselves), ", ".join(self.named_after_themselves))
        return themes

    def _theme(self, element, t: int) -> dict:
        name = (element.get("name") or "").strip()
        preamble, sections = parse_description_text(_description_of(element))
        self.names[("themes", t)] = name
        theme = {"id": sections.get("id") or self._unique_id(derive_id(name), name),
                 "label": name,
                 "description": sections.get("description", preamble),
                 "codes": []}
        if element.get("color"):
            theme["color"] = element.get("color")
        self._keep_guid(element, theme, "theme", theme_guid(theme["id"]))
        notes: list[str] = []  # descriptions of groupings, kept in the theme's description
        self._add_codes(element, theme, t, (), notes)
        if notes:
            theme["description"] = "\n\n".join([theme["description"], *notes]).strip()
        return theme

    def _add_codes(self, parent, theme: dict, t: int, groups: tuple[str, ...],
                   notes: list[str]) -> None:
        """Add the codes below ``parent`` to ``theme``, in document order.

        A codable node is a code, and the codable nodes below it are codes of
        the same theme beside it; a non-codable node is a grouping (see
        :meth:`_add_grouping`).
        """
        for node in _child_codes(parent):
            if _is_codable(node):
                theme["codes"].append(self._code(node, t, len(theme["codes"]), groups))
                below = [child.get("name") for child in _child_codes(node)]
                if below:   # one level of codes per theme: the export will not nest them again
                    log.warning("%s: code %r in theme %r has codes below it (%s); they become codes of the "
                                "theme beside it, and reports/codebook.qdc lists them directly under the theme",
                                self.path, node.get("name"), theme["label"],
                                ", ".join(repr(name) for name in below))
                self._add_codes(node, theme, t, groups, notes)
            else:
                self._add_grouping(node, theme, t, groups, notes)

    def _add_grouping(self, node, theme: dict, t: int, groups: tuple[str, ...],
                      notes: list[str]) -> None:
        """A non-codable node below a theme: a grouping of codes, not a code itself.

        Its codes become codes of the theme, their labels prefixed with the
        grouping's name (``"Staffing / Turnover"``); its description is added
        to the theme's description; each step is logged as a warning.
        """
        name = (node.get("name") or "").strip()
        path = (*groups, name) if name else groups
        first = len(theme["codes"])
        self._add_codes(node, theme, t, path, notes)
        labels = [code["label"] for code in theme["codes"][first:]]

        preamble, sections = parse_description_text(_description_of(node))
        text = "\n".join(part for part in (preamble, sections.get("definition", ""),
                                            sections.get("description", "")) if part)
        said = [f"{self.path}: {name or '(unnamed)'!r} in theme {theme['label']!r} is not codable, "
                "so it is read as a grouping of codes and is not a code itself"]
        if labels:
            said.append(f"the {len(labels)} code(s) below it become codes of the theme, labelled "
                        + ", ".join(repr(label) for label in labels))
        else:
            said.append("no codable code is below it, so it adds no code")
        if text:
            notes.append(f"{GROUP_LABEL_SEPARATOR.join(path)}: {text}" if path else text)
            said.append("its description is added to the theme's description")
        unused = [heading for heading, field in _LIST_SECTIONS.items() if sections.get(field)]
        if sections.get("id"):
            unused.append(f"ID ({sections['id']})")
        if unused:
            said.append("its " + ", ".join(unused) + " section(s) are not used, "
                        "because a grouping is not a code")
        log.warning("; ".join(said))

    def _code(self, element, t: int, c: int, groups: tuple[str, ...] = ()) -> dict:
        name = (element.get("name") or "").strip()
        # Below a grouping the label names the grouping too: tools allow the
        # same name in two groupings ("Barriers / Funding", "Enablers / Funding").
        label = GROUP_LABEL_SEPARATOR.join((*groups, name)) if groups and name else name
        preamble, sections = parse_description_text(_description_of(element))
        self.names[("themes", t, "codes", c)] = label
        definition = sections.get("definition") or preamble
        if not definition and label:
            definition = label
            self.named_after_themselves.append(label)
        # The id comes from the code's own name, as it did before groupings were
        # read: ids that decisions refer to stay the same.
        code = {"id": sections.get("id") or self._unique_id(derive_id(name), name),
                "label": label,
                "definition": definition}
        for field in ("include", "exclude", "examples", "aliases"):
            code[field] = sections.get(field, [])
        if element.get("color"):
            code["color"] = element.get("color")
        self._keep_guid(element, code, "code",
                        code_guid(original_code_id(code["id"], code["aliases"])))
        return code

    def _keep_guid(self, element, entry: dict, kind: str, derived: str) -> None:
        """Keep the element's guid in ``entry`` unless the export would derive it anyway.

        A guid the pipeline derived itself is left out, so that a codebook read
        back from its own export equals the original; another tool's guid is
        kept, so that exporting again matches the codes it already has. A
        value that is not a guid is dropped with a warning.
        """
        given = (element.get("guid") or "").strip()
        if not given:
            return
        try:
            guid = normalise_guid(given)
        except ValueError as error:
            log.warning("%s: %s %r: %s; it is not kept, and the export derives a new one",
                        self.path, kind, element.get("name"), error)
            return
        if guid != derived:
            entry["guid"] = guid

    def _unique_id(self, base: str, name: str = "") -> str:
        candidate, n = base, 2
        while candidate in self.used_ids:
            candidate, n = f"{base}_{n}", n + 1
        self.used_ids.add(candidate)
        if candidate != base and name:
            # Decisions refer to ids: one that follows the file's order would pass them to another
            # code if the tool wrote the same codes in another order.
            log.warning("%s: more than one code or theme is named like %r, so this one gets the id %r from "
                        "its place in the file; if the tool may write them in another order, give each an "
                        "'ID: <id>' line in its description (as reports/codebook.qdc does) so that decisions "
                        "stay with their code", self.path, name, candidate)
        return candidate


class _QdcLocator(_SourceLocator):
    """Names the code or theme as written in the .qdc file as well as its data path."""

    def __init__(self, names: dict[DataPath, str]):
        self.names = names

    def describe(self, path: DataPath) -> str:
        is_code = len(path) >= 4 and path[2] == "codes"
        name = self.names.get(tuple(path[:4]) if is_code else tuple(path[:2]))
        kind = "code" if is_code else "theme"
        return f"{_dotted(path)} ({kind} {name!r})" if name else _dotted(path)


# --------------------------------------------------------------------- writing


def codebook_as_data(codebook: Codebook) -> dict:
    """The codebook as plain data in the YAML format's key order, without unset colours
    and guids."""
    data = codebook.model_dump()
    for entry in (*data["themes"], *(code for theme in data["themes"] for code in theme["codes"])):
        for optional in ("color", "guid"):
            if entry.get(optional) is None:
                entry.pop(optional, None)
    return data


def write_codebook_yaml(codebook: Codebook, path: str | Path) -> None:
    """Write ``codebook`` as YAML in the native format, atomically.

    Parameters
    ----------
    codebook : Codebook
    path : str or Path
        Target file; folders are created as needed.
    """
    text = yaml.safe_dump(codebook_as_data(codebook), sort_keys=False, allow_unicode=True,
                          width=100, default_flow_style=False)
    write_text(path, text)


# Characters XML 1.0 cannot hold even as references (C0 controls other than
# tab and line breaks, such as the vertical tab Word writes for a manual line
# break, and U+FFFE/U+FFFF); ElementTree writes them as they are, which makes
# the file unreadable to every QDA tool.
_XML_ILLEGAL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str, where: str, cleaned: list[str]) -> str:
    safe = _XML_ILLEGAL_CHARACTERS.sub("", text)
    if safe != text and where not in cleaned:
        cleaned.append(where)
    return safe


def codebook_qdc_xml(codebook: Codebook) -> bytes:
    """The REFI-QDA XML of ``codebook``: themes as non-codable parents of codable codes.

    Control characters that XML cannot hold are left out, with a warning
    naming the themes and codes that had them.
    """
    cleaned: list[str] = []
    root = ET.Element("CodeBook", {"xmlns": QDC_NAMESPACE, "origin": _xml_safe(
        f"{codebook.name} | version {codebook.version}", "the codebook's name or version", cleaned)})
    codes_element = ET.SubElement(root, "Codes")
    for theme in codebook.themes:
        where = f"theme {theme.id}"
        theme_element = ET.SubElement(codes_element, "Code", _qdc_attributes(
            theme.export_guid, _xml_safe(theme.label, where, cleaned), codable=False,
            color=theme.color))
        ET.SubElement(theme_element, "Description").text = _xml_safe(
            theme_description_text(theme), where, cleaned)
        for code in theme.codes:
            where = f"code {code.id}"
            code_element = ET.SubElement(theme_element, "Code", _qdc_attributes(
                code.export_guid, _xml_safe(code.label, where, cleaned), codable=True,
                color=code.color))
            ET.SubElement(code_element, "Description").text = _xml_safe(
                code_description_text(code), where, cleaned)
    if cleaned:
        log.warning("Control characters that a REFI-QDA (XML) file cannot hold were left out of "
                    "the .qdc export of %s; remove them from the codebook to silence this warning",
                    ", ".join(cleaned))
    tree = ET.ElementTree(root)
    ET.indent(tree, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _qdc_attributes(guid: str, name: str, codable: bool, color: str | None) -> dict:
    attributes = {"guid": guid, "name": name, "isCodable": "true" if codable else "false"}
    if color:
        attributes["color"] = color
    return attributes


def write_codebook_qdc(codebook: Codebook, path: str | Path) -> None:
    """Write ``codebook`` as a REFI-QDA codebook (.qdc), atomically.

    Themes become non-codable parent codes and codes their codable children.
    Each gets its ``guid`` if it has one, else a uuid5 of its id (a code's
    original id: see :func:`original_code_id`), so repeated exports are
    identical and a renamed code keeps its guid. The
    definition, include and exclude cues, examples, aliases and id are kept in
    each code's Description as labelled sections (see
    :func:`code_description_text`), which :func:`read_codebook_qdc` reads back.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(codebook_qdc_xml(codebook))


XLSX_COLUMNS = [
    # (header, width in characters)
    ("theme", 16), ("theme_label", 24), ("code", 22), ("label", 28), ("definition", 60),
    ("include", 48), ("exclude", 48), ("examples", 60), ("aliases", 16), ("theme_description", 48),
    ("color", 10), ("guid", 38), ("theme_color", 12), ("theme_guid", 38),
]
# The sheet that holds the codebook's name and version, one per row below a header.
XLSX_ABOUT_SHEET = "about"
XLSX_ABOUT_FIELDS = ("name", "version")


def write_codebook_xlsx(codebook: Codebook, path: str | Path) -> None:
    """Write a formatted reference sheet of ``codebook`` (one row per code), atomically.

    Colours and guids have columns of their own (``color``, ``guid``,
    ``theme_color``, ``theme_guid``); the codebook's name and version are on
    a second sheet, ``about``, so that the workbook reads back with
    :func:`read_codebook_xlsx` as the same codebook.

    The sheet has a bold, frozen header row, wrapped text and column widths
    suited to each field. List fields hold one item per line, each starting
    with ``"• "``, and a line break inside an item is followed by two spaces
    (see :func:`list_cell_text`), so that an item containing ``;`` or line
    breaks reads back unchanged with :func:`read_codebook_xlsx`.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from pipeline.spreadsheet import set_cell

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "codebook"
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    wrapped = Alignment(wrap_text=True, vertical="top")
    for column, (header, width) in enumerate(XLSX_COLUMNS, start=1):
        cell = set_cell(sheet.cell(row=1, column=column), header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = wrapped
        sheet.column_dimensions[get_column_letter(column)].width = width

    row = 2
    for theme in codebook.themes:
        for code in theme.codes:
            values = {
                "theme": theme.id, "theme_label": theme.label, "code": code.id,
                "label": code.label, "definition": code.definition,
                "include": list_cell_text(code.include), "exclude": list_cell_text(code.exclude),
                "examples": list_cell_text(code.examples), "aliases": list_cell_text(code.aliases),
                "theme_description": theme.description,
                "color": code.color or "", "guid": code.guid or "",
                "theme_color": theme.color or "", "theme_guid": theme.guid or "",
            }
            for column, (header, _width) in enumerate(XLSX_COLUMNS, start=1):
                set_cell(sheet.cell(row=row, column=column), values[header]).alignment = wrapped
            row += 1
    sheet.freeze_panes = "C2"  # keep the header and the theme and code ids in view
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_COLUMNS))}{max(row - 1, 1)}"

    # The codebook's name and version, which a row per code has no place for.
    about = workbook.create_sheet(XLSX_ABOUT_SHEET)
    rows = [("field", "value"), *((field, getattr(codebook, field)) for field in XLSX_ABOUT_FIELDS)]
    for number, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            set_cell(about.cell(row=number, column=column), value)
    about["A1"].font = about["B1"].font = header_font
    about.column_dimensions["B"].width = 60
    with atomic_path(path) as tmp:
        workbook.save(tmp)


# ------------------------------------------------------------------------ stage


def codebook_path(config: dict, root: str | Path) -> Path:
    """Where the project's live codebook is: ``config["codebook"]["file"]`` under ``root``.

    A config without the key (some tests pass partial configs) uses the
    schema's default, ``codebook/codebook.yaml``.
    """
    return Path(root) / (config.get("codebook") or {}).get("file", DEFAULT_CODEBOOK_FILE)


def project_codebook(config: dict, root: str | Path) -> Codebook:
    """The project's live codebook (see :func:`codebook_path`)."""
    return load_codebook(codebook_path(config, root))


DEFAULT_CODEBOOK_FILE = "codebook/codebook.yaml"


def run_codebook_export(config: dict, root: Path) -> None:
    """Stage: validate the configured codebook and export it for QDA tools and analysts.

    Parameters
    ----------
    config : dict
        Validated configuration; ``config["codebook"]["file"]`` is the codebook
        path relative to ``root``.
    root : Path
        The project folder. Writes ``reports/codebook.qdc`` and ``reports/codebook.xlsx``.
    """
    root = Path(root)
    codebook = project_codebook(config, root)
    if not codebook.codes:
        # REFI-QDA requires at least one Code: the export would not import anywhere.
        raise InputError("the codebook has no codes", file=codebook_path(config, root),
                         hint="add at least one code under a theme")
    write_codebook_qdc(codebook, root / paths.CODEBOOK_QDC)
    write_codebook_xlsx(codebook, root / paths.CODEBOOK_XLSX)
    log.info("Codebook %r (%d themes, %d codes) exported to %s and %s", codebook.name,
             len(codebook.themes), len(codebook.codes), paths.CODEBOOK_QDC, paths.CODEBOOK_XLSX)
