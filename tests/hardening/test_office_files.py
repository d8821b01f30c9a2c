"""Hostile and malformed Office files, end to end through ``python -m pipeline ingest``.

Every file here is a real package (made with python-docx or openpyxl and then
altered with zipfile). The reader tests in tests/ingest/ check each safety rule
on its own; these check that the stage, as a user runs it, names every bad file
with its reason in one error, prints no traceback, and never modifies an input.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.errors import InputError
from pipeline.ingest.safety import OLE_MAGIC, SafetyLimits, check_office_file

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "ingest"))
from word_files import make_docx  # noqa: E402

NOTE = "---\nsite: quillmere\nwave: 1\n---\nThe hub opened on Tuesdays.\n"
LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          b'<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>')
EXTERNAL = b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


# ----------------------------------------------------------------- builders


def good_docx(path: Path) -> Path:
    return make_docx(path, ["---", "The hub opened on Tuesdays."])


def good_xlsx(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["session", "site", "wave", "date", "note"])
    for i in range(300):  # big enough that the sheet XML is read lazily, past the first bytes
        sheet.append([f"s{i}", "quillmere", "1", "2025-03-04", f"Note {i} about the hub."])
    workbook.save(path)
    return path


def rewrite(path: Path, edit=None, add: dict[str, bytes] | None = None) -> Path:
    """Rewrite the package at ``path``: ``edit(name, data) -> data`` for each part, plus ``add``."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    if edit:
        parts = {name: edit(name, data) for name, data in parts.items()}
    parts.update(add or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def in_prolog(part: str, declaration: bytes, padding: bytes = b""):
    """An edit putting ``padding`` then ``declaration`` after the XML declaration of ``part``."""
    def edit(name, data):
        if name != part:
            return data
        if not data.startswith(b"<?xml"):
            data = b'<?xml version="1.0" encoding="UTF-8"?>' + data
        head, rest = data.split(b"?>", 1)
        return head + b"?>" + padding + declaration + rest
    return edit


def patch_headers(path: Path, local: tuple[int, bytes], central: tuple[int, bytes]) -> Path:
    """Overwrite bytes at an offset in every local and central zip header (flags, method)."""
    data = bytearray(path.read_bytes())
    for signature, (offset, value) in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset:start + offset + len(value)] = value
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))
    return path


def encrypted(path: Path) -> Path:
    """Set the 'encrypted' flag on every entry, as a password-protected zip has."""
    return patch_headers(path, (6, b"\x01"), (8, b"\x01"))


def unknown_method(path: Path) -> Path:
    """Declare compression method 99 (AES), which zipfile cannot decompress."""
    return patch_headers(path, (8, (99).to_bytes(2, "little")), (10, (99).to_bytes(2, "little")))


def corrupt_first_entry(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    name_len = int.from_bytes(data[26:28], "little")
    extra_len = int.from_bytes(data[28:30], "little")
    start = 30 + name_len + extra_len
    for i in range(start, start + 24):
        data[i] ^= 0x55
    path.write_bytes(bytes(data))
    return path


def strict(path: Path, part: str, transitional: bytes, strict_ns: bytes) -> Path:
    return rewrite(path, lambda name, data: data.replace(transitional, strict_ns) if name == part else data)


# name -> (builder(path), a fragment of the reason the error must give)
HOSTILE = {
    "laughs.docx": (lambda p: rewrite(good_docx(p), in_prolog("word/document.xml", LAUGHS)),
                    "declares a DOCTYPE"),
    "external_entity.docx": (lambda p: rewrite(good_docx(p), in_prolog("word/document.xml", EXTERNAL)),
                             "declares a DOCTYPE"),
    # Whitespace and comments may come before a DOCTYPE: a fixed-size look at the head would miss it.
    "laughs_after_comment.docx": (lambda p: rewrite(good_docx(p), in_prolog(
        "word/document.xml", LAUGHS, b"<!--" + b"x" * 10_000 + b"-->")), "declares a DOCTYPE"),
    "laughs_after_spaces.xlsx": (lambda p: rewrite(good_xlsx(p), in_prolog(
        "xl/worksheets/sheet1.xml", LAUGHS, b" " * 10_000)), "declares a DOCTYPE"),
    "laughs_utf16.docx": (lambda p: rewrite(good_docx(p), lambda name, data: (
        '<?xml version="1.0" encoding="UTF-16"?>' + LAUGHS.decode()
        + data.split(b"?>", 1)[1].decode()).encode("utf-16") if name == "word/document.xml" else data),
        "declares a DOCTYPE"),
    "laughs_in_styles.xlsx": (lambda p: rewrite(good_xlsx(p), in_prolog("xl/styles.xml", LAUGHS)),
                              "declares a DOCTYPE"),
    "bomb_ratio.docx": (lambda p: rewrite(good_docx(p), add={"word/media/pad.bin": b"\0" * (8 << 20)}),
                        "compressed"),
    "bomb_ratio.xlsx": (lambda p: rewrite(good_xlsx(p), add={"xl/media/pad.bin": b"\0" * (8 << 20)}),
                        "compressed"),
    "program.docx": (lambda p: p.write_bytes(b"MZ\x90\x00\x03" + bytes(4000)), "not a .docx"),
    "legacy.xlsx": (lambda p: p.write_bytes(OLE_MAGIC + bytes(4000)), "legacy binary Office file"),
    "macros.xlsx": (lambda p: rewrite(good_xlsx(p), add={"xl/vbaProject.bin": b"\x01" * 100}),
                    "contains macros"),
    "spreadsheet_named.docx": (lambda p: good_xlsx(p), "expected a .docx but this is a spreadsheet"),
    "strict.xlsx": (lambda p: strict(good_xlsx(p), "xl/workbook.xml",
                                     b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                     b"http://purl.oclc.org/ooxml/spreadsheetml/main"), "Strict Open XML"),
    "strict.docx": (lambda p: strict(good_docx(p), "word/document.xml",
                                     b"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                                     b"http://purl.oclc.org/ooxml/wordprocessingml/main"), "Strict Open XML"),
    "encrypted.docx": (lambda p: encrypted(good_docx(p)), "damaged or encrypted"),
    "aes.xlsx": (lambda p: unknown_method(good_xlsx(p)), "damaged or encrypted"),
    "corrupt_data.docx": (lambda p: corrupt_first_entry(good_docx(p)), "damaged or encrypted"),
    "truncated.xlsx": (lambda p: p.write_bytes(good_xlsx(p).read_bytes()[:3000]), "corrupt"),
    "damaged_sheet.xlsx": (lambda p: rewrite(good_xlsx(p), lambda name, data: data.replace(
        b"</sheetData>", b"<row><<</sheetData>") if name == "xl/worksheets/sheet1.xml" else data),
        "cannot be read"),
    "empty.docx": (lambda p: p.write_bytes(b""), "the file is empty"),
    "huge.docx": (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(2 << 20)), "over the 1 MB limit"),
}


def run_cli(project: Path, *stage: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *(stage or ("ingest",)), "--project", str(project)],
                          capture_output=True, text=True, cwd=REPO)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "project"
    folder = root / "data" / "raw" / "observations"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text("sites: {quillmere: Quillmere}\ningest: {max_file_mb: 1}\n",
                                      encoding="utf-8")
    (folder / "good_note.md").write_text(NOTE, encoding="utf-8")
    for name, (build, _) in HOSTILE.items():
        build(folder / name)
    return root


def test_every_hostile_file_is_named_with_its_reason_and_no_traceback(hostile_project):
    folder = hostile_project / "data" / "raw" / "observations"
    before = digests(folder)
    result = run_cli(hostile_project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"{len(HOSTILE)} input file(s) cannot be used" in result.stderr
    for name, (_, reason) in HOSTILE.items():
        lines = [line for line in result.stderr.splitlines() if f"data/raw/observations/{name}:" in line]
        assert lines, f"{name} is not listed:\n{result.stderr[-4000:]}"
        assert reason in lines[0], (name, lines[0])
    assert digests(folder) == before, "an input file was modified"
    assert not (hostile_project / "data" / "processed" / "segments.parquet").exists()


def test_skip_mode_reads_the_good_file_and_lists_every_hostile_one(hostile_project, tmp_path):
    import shutil

    import pandas as pd

    project = tmp_path / "project"
    shutil.copytree(hostile_project, project)
    (project / "config.yaml").write_text(
        "sites: {quillmere: Quillmere}\ningest: {max_file_mb: 1, on_bad_file: skip}\n", encoding="utf-8")
    result = run_cli(project)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = pd.read_csv(project / "data/processed/ingest_errors.csv", encoding="utf-8-sig")
    assert set(errors["file"]) == {f"data/raw/observations/{name}" for name in HOSTILE}
    segments = pd.read_parquet(project / "data/processed/segments.parquet")
    assert list(segments["text"]) == ["The hub opened on Tuesdays."]


def test_a_laughs_docx_is_rejected_before_python_docx_parses_it(tmp_path, monkeypatch):
    import docx

    path = rewrite(good_docx(tmp_path / "laughs.docx"),
                   in_prolog("word/document.xml", LAUGHS, b"<!--" + b"x" * 10_000 + b"-->"))

    def fail(*args, **kwargs):
        raise AssertionError("python-docx was called on a hostile file")

    monkeypatch.setattr(docx, "Document", fail)
    from pipeline.ingest.word import read_docx

    with pytest.raises(InputError, match="declares a DOCTYPE"):
        read_docx(path, "observations/laughs.docx", "observation")


def test_zip_limits_are_configurable(tmp_path):
    path = good_docx(tmp_path / "ok.docx")
    check_office_file(path, "docx", SafetyLimits())
    entries = len(zipfile.ZipFile(path).infolist())
    with pytest.raises(InputError, match=f"{entries} entries, over the limit of 3"):
        check_office_file(path, "docx", SafetyLimits.from_config({"zip_max_entries": 3}))
    with pytest.raises(InputError, match="decompress to .* over the 0.001 MB limit"):
        check_office_file(path, "docx", SafetyLimits.from_config({"zip_max_uncompressed_mb": 0.001}))
    bomb = rewrite(good_docx(tmp_path / "pad.docx"), add={"word/media/pad.bin": b"\0" * (2 << 20)})
    check_office_file(bomb, "docx", SafetyLimits.from_config({"zip_max_ratio": 10_000}))
    with pytest.raises(InputError, match="over the limit of 200:1"):
        check_office_file(bomb, "docx", SafetyLimits())


def test_openpyxl_uses_defusedxml_and_it_is_a_declared_dependency():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"defusedxml[>=<~ ]', pyproject)


def test_hidden_docx_text_is_extracted_or_reported(tmp_path):
    """Case 8 through the stage: tables, text boxes, tracked insertions and footnotes reach
    the segments; headers and comments are reported in the ingest log."""
    import pandas as pd

    from word_files import textbox_xml, tracked_xml

    root = tmp_path / "project"
    folder = root / "data" / "raw" / "observations"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text("sites: {quillmere: Quillmere}\n", encoding="utf-8")
    make_docx(folder / "notes.docx", ["Body paragraph about the hub."],
              table=[["Lead", "Tuesday market"], ["Venue", "Church hall"]],
              body_xml=textbox_xml("Boxed remark on volunteers.")
              + tracked_xml("Kept words", "inserted later", "deleted words"),
              footnote="Footnote on transport.", header_text="Confidential draft",
              comment="Check this with the lead")
    (root / "data" / "raw" / "fieldwork.csv").write_text(
        "file,site,wave\nobservations/notes.docx,quillmere,1\n", encoding="utf-8")
    result = run_cli(root)
    assert result.returncode == 0, result.stderr[-3000:]
    text = " ".join(pd.read_parquet(root / "data/processed/segments.parquet")["text"])
    for expected in ("Body paragraph about the hub.", "Lead | Tuesday market", "Boxed remark on volunteers.",
                     "inserted later", "Footnote on transport."):
        assert expected in text
    assert "deleted words" not in text
    assert text.count("Boxed remark") == 1  # the VML fallback copy is not read twice
    log = pd.read_csv(root / "data/processed/ingest_log.csv", encoding="utf-8-sig")
    message = log.loc[log["file"] == "data/raw/observations/notes.docx", "message"].iloc[0]
    assert "1 comment" in message and "1 header" in message
    assert "not read" in result.stderr
