"""Shared fixtures.

``example_project`` copies the shipped example evaluation into a temp folder;
``example_run`` runs the whole Snakemake workflow on such a copy once per test
session (``--directory``), the way an evaluator runs it on their own project;
``reviewed_run`` is a copy of that run after an analyst returned a coded
review workbook and the workflow ran again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("data/raw", "codebook", "config.yaml")
# In reviewed_run Analyst A also coded two segments of this participant, who later withdraws
# (tests/test_forget_workflow.py), with this comment.
WITHDRAWN_PARTICIPANT = "P032"
WITHDRAWN_COMMENT = "she named her neighbour here"


def copy_example(target: Path) -> Path:
    for part in EXAMPLE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        elif source.exists():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return target


def quick_fine_tuning(project: Path) -> Path:
    """Train the encoder with one pass instead of three: the default path, in a third of the time."""
    with (project / "config.yaml").open("a", encoding="utf-8") as config:
        config.write("\nsuggest:\n  fine_tune_passes: 1\n")
    return project


def write_codebook_and_segments(root: Path, codebook: dict, segments: list[tuple[str, str, str]]) -> Path:
    """A project with ``codebook/codebook.yaml`` and a segments table of (segment_id, speaker_role, text)."""
    import pandas as pd
    import yaml

    from pipeline import paths

    (root / "codebook").mkdir(parents=True, exist_ok=True)
    (root / "codebook" / "codebook.yaml").write_text(yaml.safe_dump(codebook), encoding="utf-8")
    (root / paths.PROCESSED).mkdir(parents=True, exist_ok=True)
    pd.DataFrame(segments, columns=["segment_id", "speaker_role", "text"]).to_parquet(root / paths.SEGMENTS)
    return root


def run_snakemake(project: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the repo's Snakefile on ``project`` with the test interpreter's environment."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(project),
        "--cores", "2",
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode})\nSTDOUT:\n{result.stdout[-5000:]}\n"
            f"STDERR:\n{result.stderr[-8000:]}"
        )
    return result


def fill_review_workbook(issued: Path, returned: Path, withdrawn: Iterable[str] = ()) -> dict[str, tuple[str, list[str]]]:
    """Code rows as Analyst A would and save a copy; return what was decided (segment -> decision, codes).

    The first 12 rows with a suggestion: 8 accepted, 3 changed to another code and one rejected
    ("small talk"); and each segment of ``withdrawn`` changed to the first code, with
    :data:`WITHDRAWN_COMMENT`.
    """
    from openpyxl import load_workbook

    workbook = load_workbook(issued)
    sheet = workbook["Review"]
    header = {cell.value: cell.column for cell in sheet[1]}
    decided: dict[str, tuple[str, list[str]]] = {}
    codes = [row[0].value for row in workbook["Codes"].iter_rows(min_row=2) if row[0].value]
    first_rows = 0
    for row in range(2, sheet.max_row + 1):
        segment = sheet.cell(row, header["segment_id"]).value
        suggested = sheet.cell(row, header["suggested_1"]).value
        comment = None
        if segment in withdrawn:
            decision, final, comment = "change", [codes[0]], WITHDRAWN_COMMENT
        elif not suggested or first_rows >= 12:
            continue
        elif first_rows < 8:
            decision, final = "accept", [suggested]
        elif first_rows < 11:
            decision, final = "change", [next(code for code in codes if code != suggested)]
        else:
            decision, final, comment = "reject", [], "small talk"
        first_rows += segment not in withdrawn
        sheet.cell(row, header["decision"]).value = decision
        if decision == "change":
            sheet.cell(row, header["final_code_1"]).value = final[0]
        sheet.cell(row, header["coder"]).value = "Analyst A"
        sheet.cell(row, header["comment"]).value = comment
        decided[segment] = (decision, final)
    returned.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(returned)
    return decided


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "project")


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """A temp copy of the example on which the full workflow has run once (one fine-tuning pass)."""
    project = quick_fine_tuning(copy_example(tmp_path_factory.mktemp("example") / "project"))
    run_snakemake(project)
    return project


@dataclass(frozen=True)
class Reviewed:
    project: Path
    decided: dict[str, tuple[str, list[str]]]   # segment_id -> (decision, final codes)


@pytest.fixture(scope="session")
def reviewed_run(example_run, tmp_path_factory) -> Reviewed:
    """A copy of ``example_run`` after Analyst A returned ``data/review/analyst_a.xlsx``
    (:func:`fill_review_workbook`, with two segments of :data:`WITHDRAWN_PARTICIPANT`) and the
    workflow ran again. Copy it (``shutil.copytree(..., symlinks=True)``) before changing it."""
    import pandas as pd

    from pipeline import paths

    project = shutil.copytree(example_run, tmp_path_factory.mktemp("reviewed") / "project", symlinks=True)
    segments = pd.read_parquet(project / paths.SEGMENTS)
    withdrawn = segments.loc[(segments["participant_id"] == WITHDRAWN_PARTICIPANT)
                             & (segments["speaker_role"] != "interviewer"), "segment_id"][:2]
    decided = fill_review_workbook(project / paths.REVIEW_WORKBOOK, project / paths.REVIEW_INBOX / "analyst_a.xlsx",
                                   set(withdrawn))
    run_snakemake(project)
    return Reviewed(project, decided)
