"""End to end, the way an evaluation team works across waves.

On a temporary copy of the example: run the workflow; an analyst returns a
coded workbook; new fieldwork arrives; nothing changes. Each re-run must do
only what depends on the change, and no analyst decision may be lost.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from conftest import fill_review_workbook, run_snakemake
from pipeline import paths

pytestmark = pytest.mark.slow

NEW_INTERVIEW = """---
participant: P002
wave: 2
date: 2026-05-20
---
**Interviewer:** What has changed for patients since we last spoke?

**Respondent:** The social prescribing referrals now go straight to the community referral hub, and the
waiting time for a first conversation has dropped from six weeks to about ten days. Patients who
used to bounce between the surgery and the council now get one named contact.

**Respondent:** What worries me is the data. We still cannot see in our clinical system whether a
referral was picked up, so the practice staff ring the hub to check, which wastes everyone's time.
"""


def planned_jobs(project: Path, *extra: str) -> dict[str, int]:
    """Rule -> job count from a dry run's job stats ({} when nothing is to be done)."""
    result = run_snakemake(project, "--dry-run", "--quiet", "rules", *extra)
    jobs = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if match and match.group(1) not in ("total", "count"):
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def coded_statuses(project: Path, segment_ids) -> dict[str, set[tuple[str, str]]]:
    coded = pd.read_parquet(project / paths.CODED_SEGMENTS)
    coded = coded[coded["segment_id"].isin(segment_ids)]
    return {sid: set(zip(group["code_id"], group["status"])) for sid, group in coded.groupby("segment_id")}


def log_of(project: Path, rule: str) -> str:
    return (project / "logs" / f"{rule}.log").read_text(encoding="utf-8")


def test_a_returned_workbook_re_imports_re_trains_and_re_embeds_but_does_not_re_ingest(example_run, tmp_path):
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    assert planned_jobs(project) == {}
    fill_review_workbook(project / paths.REVIEW_WORKBOOK, project / paths.REVIEW_INBOX / "analyst_a.xlsx")
    jobs = planned_jobs(project)
    assert "review_import" in jobs and "ingest" not in jobs
    # The decisions are training data of the fine-tuned encoder, so it is re-trained
    # and every segment is embedded with the new model.
    assert "finetune" in jobs and "embed" in jobs


def test_waves_of_work_recompute_only_what_changed_and_keep_every_decision(reviewed_run, tmp_path):
    # 1. An analyst returned a coded copy of the review workbook, and the workflow ran (reviewed_run).
    project = shutil.copytree(reviewed_run.project, tmp_path / "project", symlinks=True)   # keeps modification times
    decided = reviewed_run.decided
    returned = project / paths.REVIEW_INBOX / "analyst_a.xlsx"
    returned_bytes = returned.read_bytes()
    assert "Fine-tuned the embedding model" in log_of(project, "finetune")
    assert "and 13 reviewed segment(s)" in log_of(project, "finetune")    # 8 accepted, 5 changed
    statuses = coded_statuses(project, decided)
    for segment, (decision, final) in decided.items():
        expected = {"accept": "accepted", "change": "changed"}.get(decision)
        if expected:
            assert statuses[segment] == {(code, expected) for code in final}, segment
        else:
            assert segment not in statuses  # rejected: no code applies

    # 2. New fieldwork: one interview at one site.
    site_pages = {p.name: p.read_text(encoding="utf-8") for p in (project / paths.SITES_DIR).glob("*.md")}
    segments_before = pd.read_parquet(project / paths.SEGMENTS)
    time.sleep(1)  # distinct modification times
    (project / paths.METHOD_FOLDERS["interview"] / "quillmere_p002_w2.md").write_text(NEW_INTERVIEW, encoding="utf-8")
    jobs = planned_jobs(project)
    assert jobs.get("ingest") == 1 and jobs.get("report") == 1
    assert "codebook_export" not in jobs  # the codebook did not change
    run_snakemake(project)
    assert returned.read_bytes() == returned_bytes  # the analyst's file is an input, never touched

    segments_after = pd.read_parquet(project / paths.SEGMENTS)
    new_ids = set(segments_after["segment_id"]) - set(segments_before["segment_id"])
    assert set(segments_before["segment_id"]) <= set(segments_after["segment_id"])  # stable IDs
    assert len(new_ids) == 3
    # Same codebook and decisions: the fine-tuned model is reused, and only the new text is embedded.
    assert "loaded from the cache" in log_of(project, "finetune")
    embed_log = log_of(project, "embed")
    assert re.search(r"Embedding 3 new text\(s\)", embed_log), embed_log
    assert coded_statuses(project, decided) == statuses  # every earlier decision still applies
    changed = {name for name, text in site_pages.items()
               if (project / paths.SITES_DIR / name).read_text(encoding="utf-8") != text}
    assert "quillmere.md" in changed
    quillmere = (project / paths.SITES_DIR / "quillmere.md").read_text(encoding="utf-8")
    assert "| Wave 2 | 4 |" in quillmere  # interviews in wave 2: three before, four now

    # 3. The analyst's file is removed: the decisions stay (the audit log remembers them).
    shutil.move(returned, tmp_path / "analyst_a.xlsx")
    run_snakemake(project)
    assert coded_statuses(project, decided) == statuses

    # 4. Nothing changed: nothing to do.
    assert planned_jobs(project) == {}


def test_a_changed_file_with_an_older_date_is_read_again_and_a_touched_one_is_not(example_run, tmp_path):
    """A colleague's file copied in from a zip or a synced folder keeps its old modification time,
    which Snakemake alone would take for 'not changed'; the content decides."""
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    interview = project / paths.METHOD_FOLDERS["interview"] / "brackenmouth_p023_w2.md"
    os.utime(interview)                                   # touched: newer, but the same content
    assert planned_jobs(project) == {}
    day_ago = time.time() - 86_400
    interview.write_text(interview.read_text(encoding="utf-8").replace("partnership", "Partnership", 1),
                         encoding="utf-8")
    os.utime(interview, (day_ago, day_ago))               # edited, with a date older than every output
    assert planned_jobs(project).get("ingest") == 1
    codebook = project / "codebook" / "codebook.yaml"     # the codebook too
    codebook.write_text(codebook.read_text(encoding="utf-8").replace("Funding", "Funding ", 1), encoding="utf-8")
    os.utime(codebook, (day_ago, day_ago))
    assert {"codebook_export", "finetune", "suggest"} <= set(planned_jobs(project))
    # the same for a returned review workbook
    project = shutil.copytree(example_run, tmp_path / "project2", symlinks=True)
    returned = project / paths.REVIEW_INBOX / "analyst_a.xlsx"
    returned.parent.mkdir(parents=True, exist_ok=True)
    fill_review_workbook(project / paths.REVIEW_WORKBOOK, returned)
    run_snakemake(project, "--until", "review_import")
    assert "review_import" not in planned_jobs(project)
    workbook = load_workbook(returned)
    sheet = workbook["Review"]
    sheet.cell(row=2, column=[c.value for c in sheet[1]].index("comment") + 1, value="checked again")
    workbook.save(returned)
    os.utime(returned, (day_ago, day_ago))
    assert "review_import" in planned_jobs(project)


def test_a_codebook_edit_retrains_the_encoder_and_re_suggests_but_does_not_re_ingest(example_run, tmp_path):
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    assert planned_jobs(project) == {}
    time.sleep(1)
    path = project / "codebook" / "codebook.yaml"
    codebook = yaml.safe_load(path.read_text(encoding="utf-8"))
    codebook["themes"][0]["codes"][0].setdefault("include", []).append("a grant that ended early")
    path.write_text(yaml.safe_dump(codebook, sort_keys=False, allow_unicode=True), encoding="utf-8")
    jobs = planned_jobs(project)
    # The codebook is what the encoder is fine-tuned on, so it is re-trained and the segments
    # are embedded with it; the fieldwork is not read again.
    assert {"codebook_export", "finetune", "embed", "suggest", "review_workbook", "report"} <= set(jobs)
    assert "ingest" not in jobs


@pytest.mark.parametrize("edit", ["identifying_terms", "attribution"])
def test_a_privacy_or_attribution_edit_re_runs_every_rule_that_writes_pseudonymised_text(
        example_run, tmp_path, edit):
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    path = project / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if edit == "identifying_terms":
        config.setdefault("privacy", {}).setdefault("identifying_terms", {})["Ostleby"] = "[a market town]"
    else:
        config.setdefault("report", {})["attribution"] = {"voluntary": "VCSE partner"}
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    jobs = planned_jobs(project)
    assert {"saturation", "discover", "review_workbook", "identifier_scan", "triangulate", "report"} <= set(jobs)
    assert "ingest" not in jobs   # ingest writes nothing pseudonymised: the fieldwork is not read again


def test_a_review_workbook_setting_re_writes_only_the_review_workbook(example_run, tmp_path):
    # review.protect_sheet only formats coding_review.xlsx: it must not re-import the
    # decisions (and with them re-run fine-tuning, embedding, suggestions and the reports).
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    path = project / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.setdefault("review", {})["protect_sheet"] = False
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert set(planned_jobs(project)) - {"all"} == {"review_workbook"}


def test_a_new_pipeline_version_re_makes_every_output(example_run, tmp_path, monkeypatch):
    # After an upgrade the tables and reports must come from the new code, not stay as the old
    # one wrote them. The upgrade is simulated by a sitecustomize that raises the version in
    # the Snakemake process before the Snakefile imports it.
    project = shutil.copytree(example_run, tmp_path / "project", symlinks=True)   # keeps modification times
    assert planned_jobs(project) == {}
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import pipeline\npipeline.__version__ = '999.0'\n",
                                           encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(site))
    assert planned_jobs(project) == planned_jobs(project, "--forceall")
