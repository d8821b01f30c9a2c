"""Shared fixtures for the review tests: a tiny project with synthetic parquet tables."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from pipeline import paths
from pipeline.config import validate_config
from pipeline.tables import SEGMENT_COLUMNS

CODEBOOK = {
    "name": "Test codebook",
    "version": "1",
    "themes": [
        {"id": "resources", "label": "Resources", "codes": [
            {"id": "res_funding", "label": "Funding", "definition": "Money.",
             "include": ["grants"], "exclude": ["staff (use res_staff)"]},
            {"id": "res_staff", "label": "Staff", "definition": "Staff time.",
             "aliases": ["staff_old"]},
        ]},
        {"id": "relations", "label": "Relationships", "codes": [
            {"id": "rel_trust", "label": "Trust", "definition": "Trust between partners."},
            {"id": "rel_comms", "label": "Communication", "definition": "Talking to each other."},
        ]},
    ],
}

# segment_id, role, text
SEGMENTS = [
    ("00123", "participant", "We lost our grant this year."),
    ("1234567890123456", "participant", "Staff are stretched thin."),
    ("seg_a", "participant", "We trust the council now."),
    ("seg_b", "participant", "Nobody answers emails."),
    ("seg_c", "participant", '=HYPERLINK("http://evil.example","click")'),
    ("seg_int", "interviewer", "Can you tell me more?"),
]

# segment_id -> [(code, score)] by rank; score >= 0.5 is "suggested"
SUGGESTIONS = {
    "00123": [("res_funding", 0.81), ("res_staff", 0.55), ("rel_trust", 0.2)],
    "1234567890123456": [("res_staff", 0.77), ("res_funding", 0.6), ("rel_comms", 0.3)],
    "seg_a": [("rel_trust", 0.9), ("rel_comms", 0.4), ("res_staff", 0.1)],
    "seg_b": [("rel_comms", 0.7), ("rel_trust", 0.52), ("res_funding", 0.51)],
    "seg_c": [("rel_comms", 0.3), ("rel_trust", 0.2), ("res_funding", 0.1)],
}


def segments_frame(rows=SEGMENTS) -> pd.DataFrame:
    records = []
    for position, (segment_id, role, text) in enumerate(rows):
        records.append({
            "segment_id": segment_id, "document_id": "doc1", "method": "interview",
            "site": "quillmere", "sector": "voluntary", "participant_id": "P001",
            "source_id": "P001", "wave": "1", "date": "2025-01-01", "speaker": "Someone",
            "speaker_role": role, "question": "", "position": position, "text": text,
        })
    return pd.DataFrame(records, columns=SEGMENT_COLUMNS)


def suggestions_frame(suggestions=SUGGESTIONS) -> pd.DataFrame:
    records = []
    for segment_id, ranked in suggestions.items():
        for rank, (code_id, score) in enumerate(ranked, start=1):
            records.append({"segment_id": segment_id, "code_id": code_id, "rank": rank,
                            "score": score, "confidence": "high" if score > 0.7 else "medium",
                            "suggested": score >= 0.5})
    return pd.DataFrame(records)


def write_codebook(root: Path, codebook=CODEBOOK) -> None:
    path = root / "codebook" / "codebook.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(codebook, sort_keys=False), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / paths.PROCESSED).mkdir(parents=True)
    write_codebook(root)
    segments_frame().to_parquet(root / paths.SEGMENTS, index=False)
    suggestions_frame().to_parquet(root / paths.SUGGESTIONS, index=False)
    return root


@pytest.fixture
def config() -> dict:
    return validate_config({})


def headers(sheet) -> dict[str, int]:
    """Header name -> 1-based column of a sheet's first row."""
    return {cell.value: cell.column for cell in sheet[1] if cell.value is not None}


def row_of(sheet, segment_id: str) -> int:
    column = headers(sheet)["segment_id"]
    for r in range(2, sheet.max_row + 1):
        if sheet.cell(row=r, column=column).value == segment_id:
            return r
    raise KeyError(segment_id)


def fill(sheet, segment_id: str, **values) -> None:
    """Fill a review row by header names, e.g. fill(sheet, "seg_a", decision="accept")."""
    columns = headers(sheet)
    r = row_of(sheet, segment_id)
    for name, value in values.items():
        sheet.cell(row=r, column=columns[name]).value = value


def save_copy(source: Path, target: Path, edit, mtime: float | None = None) -> Path:
    """Open ``source``, apply ``edit(workbook)``, save as ``target`` (optionally set its mtime)."""
    workbook = openpyxl.load_workbook(source)
    edit(workbook)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    if mtime is not None:
        os.utime(target, (mtime, mtime))
    return target
