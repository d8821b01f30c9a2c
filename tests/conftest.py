"""Shared fixtures.

``example_project`` copies the shipped example evaluation into a temp folder;
``example_run`` runs the whole Snakemake workflow on such a copy once per test
session (``--directory``), the way an evaluator runs it on their own project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PARTS = ("data/raw", "codebook", "config.yaml")


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


@pytest.fixture
def example_project(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "project")


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """A temp copy of the example on which the full workflow has run once (one fine-tuning pass)."""
    project = quick_fine_tuning(copy_example(tmp_path_factory.mktemp("example") / "project"))
    run_snakemake(project)
    return project
