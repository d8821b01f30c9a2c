"""Hostile and mislabelled workbooks are rejected before openpyxl parses them.

Each file here is a real package made with openpyxl and then altered with
zipfile, read through :func:`pipeline.ingest.tabular.read_grid` and, where it
matters, through :func:`pipeline.ingest.surveys.read_surveys`.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.config import validate_config
from pipeline.errors import InputError
from pipeline.ingest.safety import OLE_MAGIC, SafetyLimits
from pipeline.ingest.surveys import read_surveys
from pipeline.ingest.tabular import read_grid


def good_workbook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    workbook.active.append(["ID", "Start time", "Completion time", "Email", "Name", "Comments"])
    workbook.active.append([1, None, None, "anonymous", "anonymous", "fine"])
    workbook.save(path)
    return path


def rewrite(path: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
            drop: tuple[str, ...] = ()) -> Path:
    """Rewrite the package at ``path`` with some parts replaced, added or dropped."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    for name in drop:
        parts.pop(name)
    parts.update(replace or {})
    parts.update(add or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_good_workbook_reads(tmp_path):
    assert read_grid(good_workbook(tmp_path / "ok.xlsx")).rows[1][-1] == "fine"


def test_zip_bomb_entry_rejected_from_the_central_directory(tmp_path):
    path = rewrite(good_workbook(tmp_path / "bomb.xlsx"), add={"xl/media/padding.bin": b"\0" * (5 * 1024 * 1024)})
    with pytest.raises(InputError, match="compressed .*:1, over the limit") as info:
        read_grid(path)
    assert "zip bomb" in info.value.hint


def test_zip_total_uncompressed_size_limit(tmp_path):
    path = rewrite(good_workbook(tmp_path / "big.xlsx"), add={"xl/media/noise.bin": bytes(range(256)) * 8192})
    with pytest.raises(InputError, match="would decompress to"):
        read_grid(path, SafetyLimits(zip_max_uncompressed_mb=1))


def test_lying_central_directory_is_never_decompressed(tmp_path):
    """A directory claiming a 4 GB sheet is refused on the claim alone."""
    path = good_workbook(tmp_path / "liar.xlsx")
    data = bytearray(path.read_bytes())
    # Patch the uncompressed size of every central-directory record (signature PK\x01\x02, offset 24).
    for match in re.finditer(rb"PK\x01\x02", bytes(data)):
        data[match.start() + 24: match.start() + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="zip bomb|would decompress"):
        read_grid(path)


def test_doctype_in_sheet_xml_rejected(tmp_path):
    path = good_workbook(tmp_path / "xxe.xlsx")
    sheet = part(path, "xl/worksheets/sheet1.xml")
    hostile = re.sub(rb"^(<\?xml[^>]*\?>)?",
                     rb'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', sheet, count=1)
    rewrite(path, replace={"xl/worksheets/sheet1.xml": hostile})
    with pytest.raises(InputError, match="DOCTYPE or XML entities") as info:
        read_grid(path)
    assert "sheet1.xml" in info.value.message


def test_entity_declaration_in_shared_strings_rejected(tmp_path):
    path = good_workbook(tmp_path / "laughs.xlsx")
    rewrite(path, add={"xl/extra.xml": b'<?xml version="1.0"?>\n<!ENTITY lol "lol"><root/>'})
    with pytest.raises(InputError, match="DOCTYPE or XML entities"):
        read_grid(path)


def test_legacy_xls_renamed_xlsx(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(OLE_MAGIC + b"\0" * 4096)
    with pytest.raises(InputError, match="legacy binary Office file") as info:
        read_grid(path)
    assert "save it as .xlsx" in info.value.hint


def test_macro_workbook_named_xlsx(tmp_path):
    path = rewrite(good_workbook(tmp_path / "macro.xlsx"), add={"xl/vbaProject.bin": b"\0" * 100})
    with pytest.raises(InputError, match="contains macros"):
        read_grid(path)


def test_xlsm_extension(tmp_path):
    path = good_workbook(tmp_path / "macro.xlsm")
    with pytest.raises(InputError, match=r"\.xlsm files cannot be read") as info:
        read_grid(path)
    assert "without macros" in info.value.hint


def test_strict_open_xml_is_a_clear_error_not_zero_rows(tmp_path):
    path = good_workbook(tmp_path / "strict.xlsx")
    workbook_xml = part(path, "xl/workbook.xml").replace(
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    assert b"purl.oclc.org" in workbook_xml
    rewrite(path, replace={"xl/workbook.xml": workbook_xml})
    with pytest.raises(InputError, match="Strict Open XML"):
        read_grid(path)


def test_workbook_with_no_sheets_is_a_clear_error(tmp_path):
    path = good_workbook(tmp_path / "empty.xlsx")
    workbook_xml = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", part(path, "xl/workbook.xml"), flags=re.S)
    rewrite(path, replace={"xl/workbook.xml": workbook_xml})
    with pytest.raises(InputError, match="no worksheets"):
        read_grid(path)


def test_not_a_package(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"MZ\x90\0 this is an executable")
    with pytest.raises(InputError, match="not a .xlsx file"):
        read_grid(path)


def test_over_max_file_mb(tmp_path):
    path = good_workbook(tmp_path / "ok.xlsx")
    with pytest.raises(InputError, match="over the 0.001 MB limit"):
        read_grid(path, SafetyLimits(max_file_mb=0.001))


def test_bad_workbook_in_surveys_folder_is_a_problem_not_a_crash(tmp_path):
    raw = tmp_path / "raw"
    path = rewrite(good_workbook(raw / "surveys" / "forms.xlsx"),
                   add={"xl/media/padding.bin": b"\0" * (5 * 1024 * 1024)})
    cfg = validate_config({"surveys": [{"file": "forms.xlsx", "wave": 1, "site": "q",
                                        "text_columns": ["Comments"]}]})
    result = read_surveys(cfg, raw, SafetyLimits())
    assert result.documents == []
    (problem,) = result.problems
    assert problem.file == "data/raw/surveys/forms.xlsx"
    assert "zip bomb" in problem.hint
    assert result.log_rows[0]["status"] == "error"
    assert path.exists()
