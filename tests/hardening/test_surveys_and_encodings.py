"""Survey exports as Excel and Qualtrics really write them, through the ingest stage.

Two Qualtrics exports (one saved by Excel as "Unicode Text", UTF-16LE and
tab-separated, with 1/0 flags and numeric response types; one in cp1252 with
TRUE/FALSE flags and "use choice text" labels) and a generic UTF-8-with-BOM
export, all in one project. The ingest log must record each encoding and every
exclusion count; personal columns must never reach data/processed or reports.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import paths
from pipeline.config import validate_config
from pipeline.errors import InputError
from pipeline.ingest import run_ingest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))
from test_qualtrics import META_IMPORT, META_TAGS, META_TEXT, PERSONAL  # noqa: E402

TAGS = META_TAGS + ["Q1", "Q3", "Q5", "Q5", ""]           # duplicate tag and a trailing empty column
TEXT = META_TEXT + ["Which partnership?", "What has changed?\nIn your own words, please.",
                    "What worked well?", "What could be better?", ""]
IMPORT = [f'{{"ImportId":"{i}"}}' for i in META_IMPORT + ["QID1", "QID3_TEXT", "QID5", "QID6"]] + [""]
CURLY = "It’s better — the café opens daily"


def answer(rid, status, finished, q3, q5a="", q5b="", channel="anonymous"):
    ip, last, first, email, ext, lat, lon = PERSONAL
    return ["2025-05-02 10:00:00", "2025-05-02 10:15:00", status, ip, "100", "900", finished,
            "2025-05-02 10:15:00", rid, last, first, email, ext, lat, lon, channel, "EN",
            "Quillmere", q3, q5a, q5b, ""]


def export_bytes(rows, encoding, delimiter=",") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def survey_entry(name, file, **extra):
    entry = {"name": name, "file": file, "format": "qualtrics", "wave": 1, "site_column": "Q1",
             "site_values": {"Quillmere": "quillmere"}, "sector": "voluntary", "text_columns": ["Q3", "Q5", "Q5_2"]}
    entry.update(extra)
    return entry


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("surveys") / "project"
    folder = root / "data" / "raw" / "surveys"
    folder.mkdir(parents=True)
    numeric = [TAGS, TEXT, IMPORT,
               answer("R_01", "0", "1", "Monthly meetings now.", "The hub", "Parking"),
               answer("R_02", "1", "1", "Preview text.", channel="preview"),
               answer("R_03", "2", "1", "Test text."),
               answer("R_04", "0", "0", "Half-finished answer."),
               answer("R_05", "0", "1", CURLY)]
    (folder / "unicode_text.txt").write_bytes(b"\xff\xfe" + export_bytes(numeric, "utf-16-le", "\t"))
    labelled = [TAGS, TEXT, IMPORT,
                answer("R_11", "IP Address", "TRUE", CURLY),
                answer("R_12", "Survey Preview", "TRUE", "Preview text.", channel="preview"),
                answer("R_13", "Survey Test", "TRUE", "Test text."),
                answer("R_14", "IP Address", "FALSE", "Half-finished answer.")]
    (folder / "windows.csv").write_bytes(export_bytes(labelled, "cp1252"))
    (folder / "paper.csv").write_bytes(b"\xef\xbb\xbf" + export_bytes(
        [["form", "Email", "comments"], ["00123", "adaeze@example.org", CURLY]], "utf-8"))
    config = validate_config({
        "sites": {"quillmere": "Quillmere"},
        "ingest": {"unfinished_responses": "exclude"},
        "surveys": [survey_entry("unicode", "unicode_text.txt"), survey_entry("windows", "windows.csv"),
                    {"name": "paper", "file": "paper.csv", "format": "generic", "id_column": "form", "wave": 1,
                     "site": "quillmere", "sector": "voluntary", "text_columns": ["comments"]}],
    })
    run_ingest(config, root)
    return root


def log_row(root, file) -> pd.Series:
    log = pd.read_csv(root / paths.INGEST_LOG, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return log.set_index("file").loc[f"data/raw/surveys/{file}"]


def test_encodings_decoded_and_recorded(project):
    assert log_row(project, "unicode_text.txt")["encoding"] == "utf-16"
    assert log_row(project, "windows.csv")["encoding"] == "cp1252"
    assert log_row(project, "paper.csv")["encoding"] == "utf-8-sig"
    segments = pd.read_parquet(project / paths.SEGMENTS)
    assert (segments["text"] == CURLY).sum() == 3


def test_duplicate_tags_renamed_and_reported_and_columns_line_up(project):
    row = log_row(project, "unicode_text.txt")
    assert "Q5" in row["renamed_duplicate_columns"]
    segments = pd.read_parquet(project / paths.SEGMENTS)
    r01 = segments[segments["document_id"].isin(segments.loc[segments["text"] == "Monthly meetings now.",
                                                             "document_id"])]
    assert set(r01["text"]) == {"Monthly meetings now.", "The hub", "Parking"}
    questions = dict(zip(r01["text"], r01["question"]))
    assert questions["Monthly meetings now."].startswith("What has changed?")
    assert questions["Parking"] == "What could be better?"


def test_preview_test_and_unfinished_excluded_and_counted_in_both_styles(project):
    for file in ("unicode_text.txt", "windows.csv"):
        row = log_row(project, file)
        assert (row["excluded_preview"], row["excluded_test"], row["excluded_unfinished"]) == ("1", "1", "1"), file
    texts = set(pd.read_parquet(project / paths.SEGMENTS)["text"])
    assert not texts & {"Preview text.", "Test text.", "Half-finished answer."}


def test_flag_mode_keeps_unfinished_marked(project, tmp_path):
    import shutil

    root = tmp_path / "project"
    (root / "data" / "raw" / "surveys").mkdir(parents=True)
    shutil.copy2(project / "data/raw/surveys/windows.csv", root / "data/raw/surveys/windows.csv")
    config = validate_config({"sites": {"quillmere": "Quillmere"}, "ingest": {"unfinished_responses": "flag"},
                              "surveys": [survey_entry("windows", "windows.csv")]})
    run_ingest(config, root)
    assert log_row(root, "windows.csv")["flagged_unfinished"] == "1"
    assert "Half-finished answer." in set(pd.read_parquet(root / paths.SEGMENTS)["text"])


def test_personal_columns_never_reach_processed_or_reports(project):
    outputs = [p for folder in (paths.PROCESSED, paths.REPORTS) for p in (project / folder).rglob("*")
               if p.is_file()]
    assert outputs
    for path in outputs:
        text = (pd.read_parquet(path).to_csv() if path.suffix == ".parquet"
                else path.read_text(encoding="utf-8-sig", errors="replace"))
        for value in PERSONAL + ["adaeze@example.org"]:
            assert value not in text, (path.name, value)
        for column in ("IPAddress", "RecipientEmail", "LocationLatitude", "ExternalReference", "Email"):
            assert column not in text.split("\n", 1)[0], (path.name, column)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", None])
def test_empty_or_header_only_export_is_a_no_responses_error(tmp_path, content):
    root = tmp_path / "project"
    folder = root / "data" / "raw" / "surveys"
    folder.mkdir(parents=True)
    data = export_bytes([TAGS, TEXT, IMPORT], "utf-8") if content is None else content
    (folder / "partners.csv").write_bytes(data)
    config = validate_config({"sites": {"quillmere": "Quillmere"},
                              "surveys": [survey_entry("partners", "partners.csv")]})
    with pytest.raises(InputError, match="no responses") as info:
        run_ingest(config, root)
    assert "data/raw/surveys/partners.csv" in str(info.value)


def test_undecodable_export_is_an_error_not_a_guess(tmp_path):
    root = tmp_path / "project"
    folder = root / "data" / "raw" / "surveys"
    folder.mkdir(parents=True)
    data = export_bytes([TAGS, TEXT, IMPORT, answer("R_1", "0", "1", "Fine")], "utf-8")
    (folder / "partners.csv").write_bytes(data.replace(b"Fine", b"Fi\x81\x7fne"))
    config = validate_config({"sites": {"quillmere": "Quillmere"},
                              "surveys": [survey_entry("partners", "partners.csv")]})
    with pytest.raises(InputError, match=r"partners.csv.*cannot decode the text: byte 0x81"):
        run_ingest(config, root)
