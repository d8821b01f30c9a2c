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
    mixed = _utf8_inside(data)
    if mixed is not None:
        raise ValueError(
            f"byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start} is not valid UTF-8, but "
            f"offset {mixed[0]} holds {mixed[1]!r} written in UTF-8: the file mixes two encodings "
            "(rows pasted in from another file?)"
        )
    decodable = [name for name in _FALLBACK_CANDIDATES if _decodes(data, name)]
    scores = {name: _prose_score(data.decode(name)) for name in decodable}
    plausible = [name for name in decodable if scores[name] > 0]
    if plausible:
        return max(plausible, key=scores.__getitem__)  # a tie goes to cp1252, the commoner
    raise ValueError(
        f"byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start} is not valid UTF-8, "
        "and the file is not UTF-16, cp1252 or MacRoman either"
    )


def read_text_file(path: str | Path, display: str | None = None) -> tuple[str, str]:
    """Read a text file, detecting its encoding; ``display`` names it in errors (default: ``path``).

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
            file=display or path,
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
    """How much the non-ASCII characters look like European prose rather than
    mis-decoded bytes; positive is plausible.

    Each non-ASCII character is judged in its context: an accented letter
    inside a word that also has ASCII letters, in a sensible case (not ``cafÈ``,
    ``SmšrgŒsbord``), scores; a curly quote, dash or ellipsis where
    punctuation goes scores; a symbol inside a word (``ma–ana``, ``€rger``), a
    rare sign (``Ÿ``, ``√``, ``ﬁ``) or a word of nothing but accented letters
    counts against. MacRoman read as cp1252 (and the reverse) turns letters
    into signs and signs into letters in the wrong places, so the right
    decoding scores higher.

    Examples
    --------
    >>> _prose_score("Ärger über Öl") > 0 > _prose_score("€rger Ÿber …l")
    True
    """
    score = 0
    for match in _NON_ASCII.finditer(text):
        index, char = match.start(), match.group()
        before = text[index - 1] if index else " "
        after = text[index + 1] if index + 1 < len(text) else " "
        score += _char_score(text, index, char, before, after)
    return score


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Letters a Western European text uses: the Latin-1 letters and the Latin
# Extended-A ones cp1252 has. The commoner ones weigh more.
_LETTERS = {chr(c) for c in range(0xC0, 0x100) if chr(c).isalpha()} | set("ŒœŠšŽž")
_COMMON_LETTERS = set("éèêëàâäçôöûüùîïñáíóúåæøßãõœÉÀÇÜÖÄÑÅØÆŒ")
_PUNCTUATION = set("‘’“”–—…•«»")
_OPENING = set("‘“«")
_CLOSING = set("”»")
_WORD_REACH = 30
_SYMBOLS = set("£€°©®½¼¾\u00a0")
_CONTRACTION = re.compile(r"(?:s|t|d|m|ll|re|ve)(?![^\W\d_])")


def _char_score(text: str, index: int, char: str, before: str, after: str) -> int:
    if char.isalpha():
        if char not in _LETTERS:
            return -2
        if char.isupper() and before.isalpha() and before.islower():
            return -2           # cafÈ, SmšrgŒsbord
        if char.islower() and after.isalpha() and after.isupper():
            return -2           # OíNeill
        # The word around it (at most _WORD_REACH letters each way, so a file of
        # unbroken letters is not scanned once per character).
        start = index
        while start and index - start < _WORD_REACH and text[start - 1].isalpha():
            start -= 1
        end = index + 1
        while end < len(text) and end - index < _WORD_REACH and text[end].isalpha():
            end += 1
        word = text[start:end]
        if len(word) == 1:
            return 0            # à, or a sign read as a letter: no evidence either way
        if not any(c.isascii() for c in word):
            return -2           # ÅÅÅ
        return 2 if char in _COMMON_LETTERS else 1
    if char in _PUNCTUATION:
        if char == "’":
            return 3 if _CONTRACTION.match(text, index + 1) else 2
        if before.isalpha() and after.isalpha():
            return 1 if char in "—…" else -2   # word—word is written; ma–ana is not
        if char in _OPENING and before.isalnum():
            return -2
        if char in _CLOSING and after.isalnum():
            return -2
        return 2
    if char in _SYMBOLS:
        if before.isalpha() and after.isalpha():
            return -2
        if char in "£€" and after.isalpha():
            return -2
        return 1
    return -2


def _utf8_inside(data: bytes) -> tuple[int, str] | None:
    """The offset and character of a UTF-8-encoded letter or sign in ``data`` (which
    is not valid UTF-8 as a whole), or None.

    cp1252 or MacRoman text practically never holds the byte pairs of a
    UTF-8 ``é`` (``Ã©``) or ``’`` (``â€™``), so finding one means part of the
    file is UTF-8 and part is not: decoding it all as one code page would
    garble the UTF-8 part.
    """
    for match in _UTF8_SEQUENCE.finditer(data):
        try:
            char = match.group().decode("utf-8")
        except UnicodeDecodeError:
            continue
        if char in _LETTERS or char in _PUNCTUATION or char in _SYMBOLS:
            return match.start(), char
    return None


_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")
