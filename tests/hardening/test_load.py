"""A 5,000-document project with 50 malformed files, through ``python -m pipeline ingest``.

Every good file is processed, every bad file is listed with its reason in one
error report, and the exit code says whether the run failed:
``ingest.on_bad_file: stop`` (the default) fails; ``skip`` carries on and
writes data/processed/ingest_errors.csv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest.safety import OLE_MAGIC

REPO = Path(__file__).resolve().parents[2]
N_GOOD = 5_000
N_BAD_EACH = 10

NOTE = "---\nsite: {site}\nwave: {wave}\ndate: 2025-03-{day:02d}\n---\n\nObservation {i}: {text}\n"
TEXTS = ["volunteers ran the food bank and the queue was long.",
         "the council officer joined the partnership meeting.",
         "residents asked about transport to the hub."]

# kind -> (file name, bytes, a fragment of the reason)
BAD = {
    "undecodable": (".txt", b"---\nsite: north\nwave: 1\n---\nbad \x81\x7f bytes\n",
                    "cannot decode the text"),
    "front_matter": (".md", b"---\nsite: [north\nwave: 1\n---\nText.\n", "not valid YAML"),
    "renamed_exe": (".docx", b"MZ\x90\x00" + bytes(2000), "not a .docx"),
    "legacy_xls": (".xlsx", OLE_MAGIC + bytes(2000), "legacy binary Office file"),
    "no_wave": (".txt", b"---\nsite: north\n---\nA note without a wave.\n", "wave not given"),
}


def build(root: Path, on_bad_file: str | None = None) -> set[str]:
    folder = root / "data" / "raw" / "observations"
    folder.mkdir(parents=True)
    settings = f"\ningest: {{on_bad_file: {on_bad_file}}}" if on_bad_file else ""
    (root / "config.yaml").write_text("sites: {north: North, south: South}" + settings + "\n",
                                      encoding="utf-8")
    for i in range(N_GOOD):
        (folder / f"note_{i:05d}.txt").write_text(
            NOTE.format(site=("north", "south")[i % 2], wave=1 + i % 2, day=1 + i % 28, i=i,
                        text=TEXTS[i % 3]), encoding="utf-8")
    bad = set()
    for kind, (suffix, data, _) in BAD.items():
        for j in range(N_BAD_EACH):
            name = f"bad_{kind}_{j:02d}{suffix}"
            (folder / name).write_bytes(data)
            bad.add(f"data/raw/observations/{name}")
    return bad


@pytest.fixture(scope="module")
def load_project(tmp_path_factory) -> tuple[Path, set[str]]:
    root = tmp_path_factory.mktemp("load") / "project"
    return root, build(root)


def run_cli(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--project", str(project)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def test_stop_mode_fails_listing_all_50_bad_files_in_one_report(load_project):
    root, bad = load_project
    result = run_cli(root)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and f"{len(bad)} input file(s) cannot be used" in errors[0]
    listed = {line.split(":", 1)[0].removeprefix("  - ").split(",")[0]
              for line in result.stderr.splitlines() if line.startswith("  - ")}
    assert listed == bad
    for kind, (_, _, reason) in BAD.items():
        lines = [line for line in result.stderr.splitlines() if line.startswith("  - ") and f"/bad_{kind}_" in line]
        assert len(lines) == N_BAD_EACH and all(reason in line for line in lines), (kind, lines[:2])
    assert not (root / "data" / "processed" / "segments.parquet").exists()


def test_skip_mode_processes_every_good_file_and_lists_the_bad_ones(load_project, tmp_path):
    root, bad = load_project
    project = tmp_path / "project"
    shutil.copytree(root, project)
    (project / "config.yaml").write_text(
        "sites: {north: North, south: South}\ningest: {on_bad_file: skip}\n", encoding="utf-8")
    result = run_cli(project)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = pd.read_csv(project / "data/processed/ingest_errors.csv", encoding="utf-8-sig", dtype=str)
    assert len(errors) == len(bad) == 50
    assert set(errors["file"]) == bad
    assert errors["message"].str.len().gt(0).all()
    documents = pd.read_parquet(project / "data/processed/documents.parquet")
    assert len(documents) == N_GOOD
    segments = pd.read_parquet(project / "data/processed/segments.parquet")
    assert segments["document_id"].nunique() == N_GOOD
    log = pd.read_csv(project / "data/processed/ingest_log.csv", encoding="utf-8-sig", dtype=str)
    assert (log["status"] == "read").sum() == N_GOOD
    assert set(log.loc[log["status"] != "read", "file"]) == bad
