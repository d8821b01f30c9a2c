"""Hostile and unreadable .docx files are rejected before python-docx opens them."""

from __future__ import annotations

import zipfile

import pytest

from pipeline.errors import InputError
from pipeline.ingest.safety import OLE_MAGIC, SafetyLimits
from pipeline.ingest.word import read_docx
from word_files import make_docx


def read(path):
    return read_docx(path, f"interviews/{path.name}", "interview", SafetyLimits())


def test_exe_renamed_docx(tmp_path):
    path = tmp_path / "setup.docx"
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200)
    with pytest.raises(InputError, match="not a .docx") as error:
        read(path)
    assert "re-save it from Word as .docx" in error.value.hint


def test_zip_bomb_is_rejected_from_the_directory(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/media/zeros.bin", b"\x00" * (50 * 1024 * 1024))
    with pytest.raises(InputError, match="zip bomb"):
        read(path)


def test_doctype_in_document_xml(tmp_path):
    path = make_docx(tmp_path / "ent.docx", ["Hello"])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    document = parts["word/document.xml"].decode("utf-8")
    declaration_end = document.index("?>") + 2
    parts["word/document.xml"] = (document[:declaration_end]
                                  + '<!DOCTYPE w [<!ENTITY x "boom">]>' + document[declaration_end:]).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(InputError, match="DOCTYPE"):
        read(path)


def test_legacy_ole_file(tmp_path):
    path = tmp_path / "old.docx"
    path.write_bytes(OLE_MAGIC + b"\x00" * 512)
    with pytest.raises(InputError, match="legacy binary Office file") as error:
        read(path)
    assert error.value.hint.startswith("open it in Word,")


def test_strict_docx(tmp_path):
    path = make_docx(tmp_path / "strict.docx", ["Hello"])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        b"http://purl.oclc.org/ooxml/wordprocessingml/main")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(InputError, match="Strict"):
        read(path)


def test_corrupt_zip(tmp_path):
    good = make_docx(tmp_path / "good.docx", ["Hello"])
    path = tmp_path / "broken.docx"
    path.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="corrupt|cannot be opened"):
        read(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.docx"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read(path)
