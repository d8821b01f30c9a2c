"""Tests for pipeline/forget.py: a participant withdraws, and every trace of their segments goes.

The project is the review tests' tiny one (real parquet tables, a review workbook
written by the review_workbook stage and filled in with openpyxl, the real import).
The participant who withdraws said "We trust the council now." (segment seg_a).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import paths
from pipeline.__main__ import main
from pipeline.embed import cache_file, model_key, read_cache, text_hash, write_cache
from pipeline.errors import InputError
from pipeline.forget import plan_forget, read_forgotten, run_forget
from pipeline.review.decisions import read_audit_log, read_decisions, run_review_import
from pipeline.review.workbook import run_review_workbook
from tests.review.conftest import SEGMENTS, fill, project, save_copy, segments_frame  # noqa: F401

WITHDRAWN = "seg_a"
WITHDRAWN_TEXT = dict((s[0], s[2]) for s in SEGMENTS)[WITHDRAWN]
T0 = time.time() - 10_000


@pytest.fixture
def config():
    from pipeline.config import validate_config

    return validate_config({"suggest": {"fine_tune": False}})


@pytest.fixture
def withdrawn(project, config):  # noqa: F811
    """Alice decided seg_a (with a comment) and seg_b; then seg_a's file was deleted and the pipeline re-run."""
    (project / "config.yaml").write_text("suggest:\n  fine_tune: false\n", encoding="utf-8")
    run_review_workbook(config, project)
    issued = project / paths.REVIEW_WORKBOOK

    def edit(workbook):
        fill(workbook["Review"], WITHDRAWN, decision="change", final_code_1="rel_trust",
             comment="said the council chair is her cousin")
        fill(workbook["Review"], "seg_b", decision="accept", comment="clear case")

    save_copy(issued, project / paths.REVIEW_INBOX / "alice.xlsx", edit, T0)
    run_review_import(config, project)
    segments_frame([s for s in SEGMENTS if s[0] != WITHDRAWN]).to_parquet(project / paths.SEGMENTS)
    run_review_import(config, project)   # the re-run: seg_a's decision is now orphaned
    return project


def files_under(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_forget_removes_orphaned_decisions_and_their_audit_rows_only(withdrawn, config, capsys):
    decisions_before = read_decisions(withdrawn / paths.DECISIONS)
    assert decisions_before.loc[decisions_before["segment_id"] == WITHDRAWN, "orphaned"].all()
    audit_path = withdrawn / paths.DECISIONS_AUDIT
    lines_before = audit_path.read_bytes().split(b"\r\n")

    run_forget(config, withdrawn)

    decisions = read_decisions(withdrawn / paths.DECISIONS)
    assert WITHDRAWN not in set(decisions["segment_id"])
    kept = decisions_before[decisions_before["segment_id"] != WITHDRAWN].reset_index(drop=True)
    pd.testing.assert_frame_equal(decisions.reset_index(drop=True), kept)
    # every other audit line is kept byte for byte, and one line records the forgetting
    text = audit_path.read_bytes()
    assert WITHDRAWN.encode() not in text and b"cousin" not in text
    lines = text.split(b"\r\n")
    assert lines[:-2] == [line for line in lines_before[:-1] if WITHDRAWN.encode() not in line]
    note = read_audit_log(audit_path)[-1]
    assert note["event"] == "forgotten" and note["segment_id"] == note["coder"] == ""
    assert note["new_codes"] == note["new_comment"] == "" and note["detail"].startswith("1 decision(s) on 1 segment(s)")
    assert read_forgotten(withdrawn) == {WITHDRAWN}
    out = capsys.readouterr().out
    assert "Removed 1 decision(s) on 1 segment(s)" in out


def test_the_workbooks_still_holding_forgotten_segments_are_listed_not_changed(withdrawn, config, capsys):
    workbook = withdrawn / paths.REVIEW_INBOX / "alice.xlsx"
    before = workbook.read_bytes()
    [listed] = plan_forget(config, withdrawn).workbooks
    assert listed.file == "data/review/alice.xlsx"
    assert set(listed.rows) == {"Review", "Issued"}   # the text, and the hidden sheet's pre-filled cells
    run_forget(config, withdrawn)
    assert workbook.read_bytes() == before
    out = capsys.readouterr().out
    assert "data/review/alice.xlsx: sheet 'Review' row(s) " in out and "delete each file" in out


def test_a_reimport_after_forget_does_not_bring_the_decisions_back(withdrawn, config):
    run_forget(config, withdrawn)
    run_review_import(config, withdrawn)
    decisions = read_decisions(withdrawn / paths.DECISIONS)
    assert WITHDRAWN not in set(decisions["segment_id"]) and "seg_b" in set(decisions["segment_id"])
    assert WITHDRAWN not in (withdrawn / paths.DECISIONS_AUDIT).read_text(encoding="utf-8-sig")
    conflicts = pd.read_csv(withdrawn / paths.REVIEW_CONFLICTS, dtype=str, keep_default_na=False)
    problems = set(conflicts.loc[conflicts["segment_id"] == WITHDRAWN, "problem"])
    assert problems == {"forgotten segment"}   # not orphaned, not a "deleted row"
    # The analyst deletes the row as told: no "deleted row" is reported either.
    save_copy(withdrawn / paths.REVIEW_INBOX / "alice.xlsx", withdrawn / paths.REVIEW_INBOX / "alice.xlsx",
              lambda wb: wb["Review"].delete_rows(_row(wb["Review"], WITHDRAWN)))
    run_review_import(config, withdrawn)
    conflicts = pd.read_csv(withdrawn / paths.REVIEW_CONFLICTS, dtype=str, keep_default_na=False)
    assert WITHDRAWN not in set(conflicts["segment_id"])


def test_a_file_put_back_does_not_bring_the_decisions_back(withdrawn, config, caplog):
    run_forget(config, withdrawn)
    segments_frame(SEGMENTS).to_parquet(withdrawn / paths.SEGMENTS)   # the raw file restored by mistake
    run_review_import(config, withdrawn)
    assert WITHDRAWN not in set(read_decisions(withdrawn / paths.DECISIONS)["segment_id"])
    assert "are in the segments table again" in caplog.text
    # forgetting again keeps the record (the segment is current, but stays forgotten)
    run_forget(config, withdrawn)
    assert read_forgotten(withdrawn) == {WITHDRAWN}


def test_dry_run_changes_nothing(withdrawn, config, capsys):
    _fill_caches(withdrawn, config)
    before = files_under(withdrawn)
    assert main(["forget", "--project", str(withdrawn), "--dry-run"]) == 0
    assert files_under(withdrawn) == before
    out = capsys.readouterr().out
    assert "Would remove 1 decision(s)" in out and "Dry run: nothing was changed" in out


def _fill_caches(root: Path, config) -> dict[str, np.ndarray]:
    """Embeddings of every text ever seen, under the current model and a retired one; models."""
    rng = np.random.default_rng(0)
    vectors = {text_hash(text): rng.random(4, dtype=np.float32) for _id, _role, text in SEGMENTS}
    write_cache(cache_file(root, model_key(config, root)), vectors)
    write_cache(cache_file(root, "retiredmodel0001"), vectors)
    for folder in ("cache/finetuned/0123456789abcdef01234567", "cache/onnx/retiredmodel0001",
                   f"cache/onnx/{model_key(config, root)}"):
        (root / paths.PROCESSED / folder).mkdir(parents=True)
        (root / paths.PROCESSED / folder / "model.bin").write_bytes(b"weights")
    learned = root / paths.MODEL_CACHE
    learned.mkdir(parents=True)
    for age, name in ((100, "old.npz"), (0, "current.npz")):
        (learned / name).write_bytes(b"npz")
        os.utime(learned / name, (time.time() - age, time.time() - age))
    return vectors


def test_caches_keep_what_the_current_run_uses_and_nothing_else(withdrawn, config):
    vectors = _fill_caches(withdrawn, config)
    current = cache_file(withdrawn, model_key(config, withdrawn))
    run_forget(config, withdrawn)
    cached = read_cache(current)
    assert text_hash(WITHDRAWN_TEXT) not in cached
    assert set(cached) == set(vectors) - {text_hash(WITHDRAWN_TEXT)}
    for key, vector in cached.items():
        np.testing.assert_array_equal(vector, vectors[key])
    processed = withdrawn / paths.PROCESSED
    assert not (processed / "cache/embeddings/retiredmodel0001").exists()
    assert not (processed / "cache/finetuned/0123456789abcdef01234567").exists()   # fine_tune is off
    assert not (processed / "cache/onnx/retiredmodel0001").exists()
    assert (processed / f"cache/onnx/{model_key(config, withdrawn)}/model.bin").exists()
    assert [p.name for p in (withdrawn / paths.MODEL_CACHE).iterdir()] == ["current.npz"]


def test_forget_refuses_tables_older_than_the_raw_data(withdrawn, config):
    raw = withdrawn / paths.RAW / "interviews"
    raw.mkdir(parents=True)
    (raw / "p9.md").write_text("new", encoding="utf-8")
    later = time.time() + 5
    os.utime(raw / "p9.md", (later, later))
    with pytest.raises(InputError, match="data/raw.*changed since the segments table was written"):
        plan_forget(config, withdrawn)
    assert main(["forget", "--project", str(withdrawn)]) == 1
    assert not (withdrawn / paths.FORGOTTEN_SEGMENTS).exists()


def _row(sheet, segment_id: str) -> int:
    from tests.review.conftest import row_of

    return row_of(sheet, segment_id)


def test_the_one_file_cache_of_older_versions_is_filtered_too(withdrawn, config):
    vectors = _fill_caches(withdrawn, config)
    folder = cache_file(withdrawn, model_key(config, withdrawn))
    [part] = folder.glob("part-*.parquet")
    part.rename(folder.with_suffix(".parquet"))      # <key>.parquet, as older versions kept it
    run_forget(config, withdrawn)
    assert set(read_cache(folder)) == set(vectors) - {text_hash(WITHDRAWN_TEXT)}
    assert not folder.with_suffix(".parquet").exists()


def test_dry_run_is_an_option_of_forget_only(withdrawn):
    with pytest.raises(SystemExit):
        main(["ingest", "--project", str(withdrawn), "--dry-run"])


def test_a_damaged_record_of_forgotten_segments_stops_the_import_with_the_file_named(withdrawn, config):
    run_forget(config, withdrawn)
    (withdrawn / paths.FORGOTTEN_SEGMENTS).write_text("id\nseg_a\n", encoding="utf-8")
    with pytest.raises(InputError, match="forgotten_segments.csv: the record of forgotten segments"):
        run_review_import(config, withdrawn)
