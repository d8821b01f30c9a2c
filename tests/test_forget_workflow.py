"""End to end: a participant of the example withdraws after an analyst coded their interview.

After the workflow ran with a returned coded workbook (``reviewed_run``), delete
the participant's file and register row, re-run, ``python -m pipeline forget``,
re-run: nothing of theirs is left in the decisions, the audit log or the caches,
the next run finds all it needs in the caches, and its outputs are those of the
run before forget.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from conftest import WITHDRAWN_COMMENT, WITHDRAWN_PARTICIPANT, run_snakemake
from pipeline import paths
from pipeline.__main__ import main
from pipeline.embed import read_cache, text_hash
from pipeline.finetune import FINETUNED_CACHE
from test_incremental_workflow import log_of, planned_jobs

pytestmark = pytest.mark.slow

WITHDRAWN_FILE = "interviews/ostleby_p032_w1.md"


def every_cached_hash(project, caches=(paths.EMBEDDING_CACHE, paths.LEXICAL_CACHE)) -> set[str]:
    """Text hashes in the embedding caches and the lexical classifier's caches of scores."""
    return {h for cache in caches for folder in (project / cache).iterdir() if folder.is_dir()
            for h in read_cache(folder)}


def test_a_withdrawn_participant_is_forgotten_and_the_next_run_is_a_cache_hit(reviewed_run, tmp_path, capsys):
    project = shutil.copytree(reviewed_run.project, tmp_path / "project", symlinks=True)   # keeps modification times
    segments = pd.read_parquet(project / paths.SEGMENTS)
    returned = project / paths.REVIEW_INBOX / "analyst_a.xlsx"
    withdrawn_ids = set(segments.loc[segments["participant_id"] == WITHDRAWN_PARTICIPANT, "segment_id"])
    assert len(withdrawn_ids & set(reviewed_run.decided)) == 2 < len(reviewed_run.decided)

    # The participant withdraws: their file goes, their register row is marked withdrawn (README), and the
    # pipeline runs again.
    (project / paths.RAW / WITHDRAWN_FILE).unlink()
    register = (project / paths.PARTICIPANTS).read_text(encoding="utf-8").splitlines()
    register = [register[0] + ",withdrawn"] + [line + ("," + "yes" * line.startswith(WITHDRAWN_PARTICIPANT + ","))
                                               for line in register[1:]]
    (project / paths.PARTICIPANTS).write_text("\n".join(register) + "\n", encoding="utf-8")
    run_snakemake(project)
    assert "no longer named" not in log_of(project, "report")
    withdrawn_hashes = {text_hash(t) for t in segments.loc[segments["participant_id"] == WITHDRAWN_PARTICIPANT, "text"]}
    assert withdrawn_hashes & every_cached_hash(project)           # the caches only grow
    assert withdrawn_hashes & every_cached_hash(project, [paths.LEXICAL_CACHE])
    outputs = {name: pd.read_parquet(project / name)
               for name in (paths.EMBEDDINGS, paths.SUGGESTIONS, paths.CODED_SEGMENTS)}
    returned_bytes = returned.read_bytes()

    assert main(["forget", "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Removed 2 decision(s) on 2 segment(s)" in out
    assert "data/review/analyst_a.xlsx: sheet 'Review' row(s)" in out
    decisions = pd.read_parquet(project / paths.DECISIONS)
    assert not withdrawn_ids & set(decisions["segment_id"]) and len(decisions) == len(reviewed_run.decided) - 2
    audit = (project / paths.DECISIONS_AUDIT).read_text(encoding="utf-8-sig")
    assert not any(segment_id in audit for segment_id in withdrawn_ids)
    assert WITHDRAWN_COMMENT not in audit and ",forgotten," in audit
    assert "small talk" in audit                                      # another decision's comment
    assert not withdrawn_hashes & every_cached_hash(project)
    in_use = json.loads((project / paths.ENCODER).read_text(encoding="utf-8"))["model_dir"]
    assert [p.relative_to(project).as_posix() for p in (project / FINETUNED_CACHE).iterdir()] == [in_use]
    assert returned.read_bytes() == returned_bytes                   # an input: listed, never touched

    # The next run re-imports (the record of forgotten segments is new), finds every model and
    # vector in the caches, and writes the same outputs; the workbook's rows are skipped.
    run_snakemake(project)
    assert "loaded from the cache" in log_of(project, "finetune")
    assert "Embedding" not in log_of(project, "embed").replace("Embedded", "")
    assert "Suggestion model loaded from the cache" in log_of(project, "suggest")
    for name, before in outputs.items():
        pd.testing.assert_frame_equal(pd.read_parquet(project / name), before, obj=name)
    conflicts = pd.read_csv(project / paths.REVIEW_CONFLICTS, dtype=str, keep_default_na=False)
    assert set(conflicts.loc[conflicts["segment_id"].isin(withdrawn_ids), "problem"]) == {"forgotten segment"}
    assert not withdrawn_ids & set(pd.read_parquet(project / paths.DECISIONS)["segment_id"])
    assert planned_jobs(project) == {}
