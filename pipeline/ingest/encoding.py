"""Decoding text files whose encoding nobody wrote down.

Fieldwork CSVs come out of Excel as UTF-8 with a BOM, cp1252, MacRoman or
UTF-16LE ("Unicode Text"). We detect the encoding, decode strictly and record
which encoding was used. There is no silent latin-1 fallback: bytes that no
candidate decodes cleanly are an error naming the file and the byte offset.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pipeline.errors import InputError

# Tried in order for files without a BOM. UTF-8 first: valid UTF-8 is almost
# never an accident. cp1252 and mac_roman are the Windows and old-Mac Excel defaults.
_FALLBACK_CANDIDATES = ("cp1252", "mac_roman")


def detect_encoding(data: bytes) -> str:
    """Return the name of the encoding ``data`` is in, or raise ValueError.

    Examples
    --------
    >>> detect_encoding("café".encode("utf-8"))
    'utf-8'
    >>> detect_encoding("café".encode("cp1252"))
    'cp1252'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_like_utf16le(data):
        return "utf-16-le"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    decodable = [name for name in _FALLBACK_CANDIDATES if _decodes(data, name)]
    scores = {name: _prose_score(data.decode(name)) for name in decodable}
    plausible = [name for name in decodable if scores[name] > 0]
    if plausible:
        return max(plausible, key=scores.__getitem__)
    raise ValueError(
        f"byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start} is not valid UTF-8, "
        "and the file is not UTF-16, cp1252 or MacRoman either"
    )


def read_text_file(path: str | Path) -> tuple[str, str]:
    """Read a text file, detecting its encoding.

    Returns
    -------
    text : str
        The decoded text with line endings normalised to ``\\n`` and no BOM.
    encoding : str
        The encoding detected, for the ingest log.

    Raises
    ------
    InputError
        If the bytes cannot be decoded as UTF-8, UTF-16, cp1252 or MacRoman.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        encoding = detect_encoding(data)
    except ValueError as exc:
        raise InputError(
            f"cannot decode the text: {exc}",
            file=path,
            hint="open it in a text editor or Excel and save it as UTF-8 (CSV UTF-8)",
        ) from None
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return False
    # Control characters mean binary data, not text in another code page.
    return _CONTROL.search(text) is None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _looks_like_utf16le(data: bytes) -> bool:
    """UTF-16LE without a BOM: mostly-ASCII text has a NUL at every odd offset."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return False
    odd, even = sample[1::2], sample[0::2]
    return odd.count(0) / len(odd) > 0.7 and even.count(0) / len(even) < 0.1 and _decodes(data, "utf-16-le")


def _prose_score(text: str) -> int:
    """How much the non-ASCII characters look like English prose (curly quotes,
    dashes, common accents) rather than mis-decoded bytes; positive is plausible."""
    high = [ch for ch in text if ord(ch) > 127]
    typical = sum(1 for ch in high if ch in _TYPICAL_HIGH)
    return typical - (len(high) - typical)


_TYPICAL_HIGH = set("‘’“”–—…•éèêëàâäçôöûüùîïñáíóúÉÈÀÇ£€©®°½¼¾ ")
