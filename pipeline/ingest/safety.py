"""Checks that run on a file before any parser sees it.

Office files (docx, xlsx) are zip archives of XML. A hostile or broken one can
exhaust memory (a zip bomb), make an XML parser expand entities (billion
laughs, external entities), or simply be something else with a misleading
extension. Each check here reads only the file's first bytes or the zip's
central directory, so it costs nothing on a good file and never decompresses
a bad one.
"""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls, and encrypted Office files
ZIP_MAGIC = b"PK\x03\x04"
STRICT_SPREADSHEETML = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_WORDML = b"http://purl.oclc.org/ooxml/wordprocessingml/main"
_XML_HEAD_BYTES = 4096  # a DOCTYPE must come before the root element
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError)


@dataclass(frozen=True)
class SafetyLimits:
    """Limits from the ``ingest`` config section."""

    max_file_mb: float = 50
    zip_max_entries: int = 10_000
    zip_max_uncompressed_mb: float = 500
    zip_max_ratio: float = 200

    @classmethod
    def from_config(cls, ingest: dict) -> "SafetyLimits":
        return cls(
            max_file_mb=ingest.get("max_file_mb", cls.max_file_mb),
            zip_max_entries=ingest.get("zip_max_entries", cls.zip_max_entries),
            zip_max_uncompressed_mb=ingest.get("zip_max_uncompressed_mb", cls.zip_max_uncompressed_mb),
            zip_max_ratio=ingest.get("zip_max_ratio", cls.zip_max_ratio),
        )


LINK_MESSAGE = "is a symbolic link; links are not followed, so that nothing outside the project folder is read"
LINK_HINT = "copy the file or folder itself into data/raw/"


def is_linked(path: Path, raw: Path) -> bool:
    """Whether ``path``, or a folder between it and ``raw`` (data/raw/), is a symbolic link."""
    return any(p.is_symlink() for p in (path, *path.parents) if p != raw and p.is_relative_to(raw))


def check_file_size(path: Path, limits: SafetyLimits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty", file=path, hint="save or export it again, or remove it")
    if size > limits.max_file_mb * 1024 * 1024:
        raise InputError(
            f"the file is {size / 1024 / 1024:.1f} MB, over the {limits.max_file_mb:g} MB limit",
            file=path,
            hint="split it, or raise ingest.max_file_mb in config.yaml if it is genuine",
        )


def _office_app(kind: str) -> str:
    return "Word" if kind == "docx" else "Excel"


def check_office_file(path: Path, kind: str, limits: SafetyLimits | None = None) -> None:
    """Reject anything but a safe, Transitional Office Open XML file of ``kind``.

    Parameters
    ----------
    path : Path
        The file to check.
    kind : {"docx", "xlsx"}
        What the file should be.
    limits : SafetyLimits, optional
        Size and zip limits; defaults apply when omitted.

    Raises
    ------
    InputError
        Naming the file and what is wrong with it: not a zip (for example an
        .exe renamed to .docx, or a legacy .xls), macro-enabled, a zip bomb,
        an XML DOCTYPE or entity declaration, or Strict Open XML.
    """
    limits = limits or SafetyLimits()
    check_file_size(path, limits)
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(OLE_MAGIC):
        raise InputError(
            f"this is a legacy binary Office file (.doc/.xls) or an encrypted one, not a .{kind}",
            file=path,
            hint=f"open it in {_office_app(kind)}, remove any password, and save it as .{kind}",
        )
    if not head.startswith(ZIP_MAGIC):
        raise InputError(
            f"this is not a .{kind} file (its content is not an Office Open XML package)",
            file=path,
            hint=f"check the file is what its name says; re-save it from {_office_app(kind)} as .{kind}",
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"the .{kind} file is corrupt ({exc})", file=path,
                         hint="re-save or re-export it") from None
    with archive:
        entries = archive.infolist()
        _check_zip_limits(path, entries, limits)
        names = {entry.filename for entry in entries}
        try:
            _check_package_kind(path, kind, names, archive)
            _check_no_doctype(path, archive, entries)
        except _ZIP_READ_ERRORS as exc:
            # An encrypted entry, an unknown compression method or damaged data.
            raise InputError(f"the .{kind} file is damaged or encrypted ({type(exc).__name__}: {exc})",
                             file=path, hint=f"remove any password, and re-save it as .{kind}") from None


def _check_zip_limits(path: Path, entries: list[zipfile.ZipInfo], limits: SafetyLimits) -> None:
    if len(entries) > limits.zip_max_entries:
        raise InputError(
            f"the archive has {len(entries)} entries, over the limit of {limits.zip_max_entries}",
            file=path, hint="this is not a normal Office file; raise ingest.zip_max_entries only if you trust it",
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.zip_max_uncompressed_mb * 1024 * 1024:
        raise InputError(
            f"the archive would decompress to {total / 1024 / 1024:.0f} MB, over the "
            f"{limits.zip_max_uncompressed_mb:g} MB limit",
            file=path, hint="this looks like a zip bomb; raise ingest.zip_max_uncompressed_mb only if you trust it",
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > limits.zip_max_ratio:
            raise InputError(
                f"entry {entry.filename!r} is compressed {ratio:.0f}:1, over the limit of "
                f"{limits.zip_max_ratio:g}:1",
                file=path, hint="this looks like a zip bomb; raise ingest.zip_max_ratio only if you trust it",
            )


def _check_package_kind(path: Path, kind: str, names: set[str], archive: zipfile.ZipFile) -> None:
    if "[Content_Types].xml" not in names:
        raise InputError(f"this zip file is not a .{kind} (no [Content_Types].xml)", file=path,
                         hint=f"re-save it from {_office_app(kind)} as .{kind}")
    if any(name.endswith("vbaProject.bin") for name in names):
        raise InputError(
            "the file contains macros (it is really an .xlsm/.docm)", file=path,
            hint=f"save a copy without macros as .{kind}",
        )
    main_part = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}[kind]
    if main_part not in names:
        found = "a spreadsheet" if "xl/workbook.xml" in names else (
            "a Word document" if "word/document.xml" in names else "another kind of package")
        raise InputError(f"expected a .{kind} but this is {found}", file=path,
                         hint="check the file's extension and where it was saved")
    strict = {"docx": STRICT_WORDML, "xlsx": STRICT_SPREADSHEETML}[kind]
    with archive.open(main_part) as handle:
        if strict in handle.read(_XML_HEAD_BYTES):
            raise InputError(
                "this file is saved as 'Strict Open XML', which the readers cannot open",
                file=path, hint=f"open it and save it as a normal .{kind} (e.g. 'Excel Workbook')",
            )


def _check_no_doctype(path: Path, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    for entry in entries:
        if not entry.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(entry) as handle:
            declared = _prolog_declares_doctype(handle)
        if declared:
            raise InputError(
                f"part {entry.filename!r} {declared}, which Office never writes",
                file=path, hint="the file may be crafted to attack XML parsers; do not use it",
            )


def _prolog_declares_doctype(handle) -> str:
    """Scan an XML part's prolog up to its root element; say what is wrong with it, or ``""``.

    A DOCTYPE may follow any amount of whitespace, comments and processing
    instructions, so a fixed-size look at the head is not enough; the prolog is
    read in chunks (and decoded if the part is UTF-16) until the root element starts.
    """
    raw = handle.read(_XML_HEAD_BYTES)
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else (
        "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be" if raw[:1] == b"\x00" else "utf-8")
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text, position, total = decoder.decode(raw).lstrip("\ufeff"), 0, len(raw)
    while True:
        match = _PROLOG_ITEM.match(text, position)
        if match and match.group("doctype"):
            return "declares a DOCTYPE or XML entities"
        if match and match.group("root"):
            return ""
        if match:
            position = match.end()
            continue
        chunk = handle.read(_XML_HEAD_BYTES)
        if not chunk:
            return ""  # no root element: the parser will report the damage
        total += len(chunk)
        if total > _MAX_PROLOG_BYTES:
            return f"has over {_MAX_PROLOG_BYTES // 1024} KB before its root element"
        text = text[position:] + decoder.decode(chunk)
        position = 0


# One item of an XML prolog: whitespace, a processing instruction, a comment,
# a DOCTYPE (or any other markup declaration), or the start of the root element.
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->|(?P<doctype><!(?:[^-]|-[^-]))|(?P<root><[^!?])", re.DOTALL)
_MAX_PROLOG_BYTES = 1024 * 1024
