"""Tests for pipeline/ingest/encoding.py, through the CSV reader that depends on it."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.ingest.encoding import detect_encoding, read_text_file
from pipeline.ingest.tabular import read_grid

ROWS = [["id", "answer"], ["00123", "It’s great — café, naïve"], ["2", "line one\nline two"]]


def csv_bytes(rows, delimiter=",") -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8(tmp_path):
    path = write(tmp_path, "u.csv", csv_bytes(ROWS).encode("utf-8"))
    grid = read_grid(path)
    assert grid.encoding == "utf-8"
    assert grid.rows == ROWS


def test_utf8_with_bom_loses_the_bom(tmp_path):
    path = write(tmp_path, "bom.csv", codecs.BOM_UTF8 + csv_bytes(ROWS).encode("utf-8"))
    grid = read_grid(path)
    assert grid.encoding == "utf-8-sig"
    assert grid.rows[0][0] == "id"  # not "\ufeffid"
    assert grid.rows == ROWS


def test_utf16le_unicode_text_with_bom_is_tab_separated(tmp_path):
    data = codecs.BOM_UTF16_LE + csv_bytes(ROWS, delimiter="\t").encode("utf-16-le")
    grid = read_grid(write(tmp_path, "unicode.txt", data))
    assert grid.encoding == "utf-16"
    assert grid.delimiter == "\t"
    assert grid.rows == ROWS


def test_utf16le_without_bom(tmp_path):
    data = csv_bytes(ROWS, delimiter="\t").encode("utf-16-le")
    grid = read_grid(write(tmp_path, "nobom.csv", data))
    assert grid.encoding == "utf-16-le"
    assert grid.rows == ROWS


def test_cp1252_curly_quote_dash_and_accent(tmp_path):
    grid = read_grid(write(tmp_path, "win.csv", csv_bytes(ROWS).encode("cp1252")))
    assert grid.encoding == "cp1252"
    assert grid.rows[1][1] == "It’s great — café, naïve"


def test_undecodable_bytes_name_the_file_and_offset(tmp_path):
    path = write(tmp_path, "bad.csv", b"id,text\n1,caf\xff\x01\n")
    with pytest.raises(InputError) as info:
        read_grid(path)
    error = info.value
    assert error.file == str(path)
    assert "0xff" in error.message and "offset 13" in error.message
    assert "UTF-8" in error.hint


def test_no_latin1_fallback(tmp_path):
    data = b"id,text\n1,\x81\x81\x81\n"
    assert data.decode("latin-1")  # latin-1 would "decode" anything…
    with pytest.raises(InputError, match="cannot decode"):
        read_text_file(write(tmp_path, "latin.csv", data))
    with pytest.raises(ValueError):
        detect_encoding(data)


def test_line_endings_normalised(tmp_path):
    text, encoding = read_text_file(write(tmp_path, "mac9.txt", b"a\rb\r\nc\n"))
    assert (text, encoding) == ("a\nb\nc\n", "utf-8")


@pytest.mark.parametrize("answer", ["Café – naïve’s “view”", "Über den Zaun, mañana, Ärger",
                                    "«guillemets» bien", "Año nuevo"])
def test_macroman_is_not_garbled_as_cp1252(tmp_path, answer):
    # Read as cp1252 these bytes are "†ber den Zaun, ma–ana, €rger": every character
    # decodes, so only judging the result in context tells the two code pages apart.
    rows = [["id", "answer"], ["1", answer]]
    grid = read_grid(write(tmp_path, "mac.csv", csv_bytes(rows).encode("mac_roman")))
    assert grid.encoding == "mac_roman"
    assert grid.rows == rows


@pytest.mark.parametrize("answer", ["Håkon Ørsted said it was great", "Grüße aus München, Straße",
                                    "Björk and Sigurður", "ŒUVRE œuvre",
                                    "It’s fine, we’re OK and O’Neill’s—really"])
def test_cp1252_is_read_as_cp1252(tmp_path, answer):
    rows = [["id", "answer"], ["1", answer]]
    grid = read_grid(write(tmp_path, "win.csv", csv_bytes(rows).encode("cp1252")))
    assert grid.encoding == "cp1252"
    assert grid.rows == rows


def test_file_mixing_utf8_and_cp1252_is_refused_not_garbled(tmp_path):
    # Rows pasted from a UTF-8 file into a cp1252 one: decoding it all as cp1252
    # would turn "café" into "cafÃ©".
    data = csv_bytes([["id", "answer"], ["1", "café ok"]]).encode("utf-8") \
        + csv_bytes([["2", "It’s fine"]]).encode("cp1252")
    path = write(tmp_path, "mixed.csv", data)
    with pytest.raises(InputError, match="mixes two encodings") as info:
        read_grid(path)
    assert info.value.file == str(path)
