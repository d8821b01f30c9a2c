"""Coded segments from suggestions and decisions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline import paths
from pipeline.codebook import load_codebook
from pipeline.review.coded import CODED_COLUMNS, coded_segments, run_apply_decisions
from pipeline.review.decisions import empty_decisions

from .conftest import segments_frame, suggestions_frame


def decision(segment_id, coder, kind, code_id, when="2025-01-01", orphaned=False):
    return {"segment_id": segment_id, "coder": coder, "decision": kind, "code_id": code_id,
            "comment": "", "source_file": f"data/review/{coder}.xlsx", "row": 2,
            "recorded_at": pd.Timestamp(when, tz="UTC"), "orphaned": orphaned}


@pytest.fixture
def codebook(project):
    return load_codebook(project / "codebook" / "codebook.yaml")


def test_statuses_scores_and_metadata(codebook):
    decisions = pd.DataFrame([
        decision("00123", "alice", "accept", "res_funding"),
        decision("1234567890123456", "alice", "change", "rel_trust"),
        decision("1234567890123456", "alice", "change", "staff_old"),   # alias of res_staff
        decision("seg_a", "alice", "reject", ""),
    ])
    coded = coded_segments(segments_frame(), suggestions_frame(), decisions, codebook)
    assert list(coded.columns) == CODED_COLUMNS
    by = {(r.segment_id, r.code_id): r for r in coded.itertuples()}
    assert by[("00123", "res_funding")].status == "accepted"
    assert by[("00123", "res_funding")].score == pytest.approx(0.81)
    assert ("00123", "res_staff") not in by          # reviewed: suggestions no longer apply
    assert by[("1234567890123456", "rel_trust")].status == "changed"
    assert math.isnan(by[("1234567890123456", "rel_trust")].score)
    assert by[("1234567890123456", "res_staff")].score == pytest.approx(0.77)
    assert by[("1234567890123456", "res_staff")].theme_id == "resources"
    assert not any(s == "seg_a" for s, _ in by)      # rejected: no code
    # unreviewed seg_b: its best-ranked suggestion above the threshold, not the two below it
    assert [(c, r.status, r.coder) for (s, c), r in by.items() if s == "seg_b"] == [
        ("rel_comms", "suggested", "")]
    assert not any(s == "seg_c" for s, _ in by)      # nothing above threshold
    assert by[("00123", "res_funding")].site == "quillmere"
    assert by[("00123", "res_funding")].coder == "alice"


def test_an_unreviewed_segment_counts_its_best_ranked_suggestion_above_threshold(codebook):
    # seg_b's first code is below its threshold, its second is above it
    suggestions = suggestions_frame({"seg_b": [("rel_comms", 0.45), ("rel_trust", 0.6), ("res_funding", 0.55)]})
    coded = coded_segments(segments_frame(), suggestions, empty_decisions(), codebook)
    assert list(zip(coded["segment_id"], coded["code_id"], coded["status"])) == [("seg_b", "rel_trust", "suggested")]


def test_most_recent_coder_wins_and_orphans_are_left_out(codebook):
    decisions = pd.DataFrame([
        decision("seg_a", "alice", "accept", "rel_trust", when="2025-01-01"),
        decision("seg_a", "bob", "change", "rel_comms", when="2025-02-01"),
        decision("gone", "alice", "accept", "rel_trust", orphaned=True),
        decision("seg_b", "alice", "change", "removed_code"),
    ])
    coded = coded_segments(segments_frame(), suggestions_frame(), decisions, codebook)
    seg_a = coded[coded["segment_id"] == "seg_a"]
    assert list(zip(seg_a["code_id"], seg_a["coder"], seg_a["status"])) == [("rel_comms", "bob", "changed")]
    assert "gone" not in set(coded["segment_id"])
    # reviewed, but its only code was removed from the codebook: unreviewed again, with its suggestion
    seg_b = coded[coded["segment_id"] == "seg_b"]
    assert list(zip(seg_b["code_id"], seg_b["status"])) == [("rel_comms", "suggested")]


def test_a_later_decision_with_no_code_left_gives_way_to_an_earlier_coders(codebook):
    """bob's later decision named only a code since removed: alice's earlier one applies again."""
    decisions = pd.DataFrame([
        decision("seg_a", "alice", "change", "rel_comms", when="2025-01-01"),
        decision("seg_a", "alice", "change", "old_gone", when="2025-01-01"),
        decision("seg_a", "bob", "change", "old_gone", when="2025-02-01"),
    ])
    coded = coded_segments(segments_frame(), suggestions_frame(), decisions, codebook)
    seg_a = coded[coded["segment_id"] == "seg_a"]
    assert list(zip(seg_a["code_id"], seg_a["coder"], seg_a["status"])) == [("rel_comms", "alice", "changed")]


def test_stage_writes_both_outputs(project, config):
    pd.DataFrame([decision("seg_a", "alice", "accept", "rel_trust")]).to_parquet(
        project / paths.DECISIONS, index=False)
    run_apply_decisions(config, project)
    coded = pd.read_parquet(project / paths.CODED_SEGMENTS)
    assert set(coded["status"]) == {"accepted", "suggested"}
    agreement = pd.read_csv(project / paths.AGREEMENT_CSV, encoding="utf-8-sig")
    assert list(agreement.columns) == ["measure", "code_id", "coder_a", "coder_b", "value", "n"]


def test_no_decisions_at_all(project, config):
    run_apply_decisions(config, project)
    coded = pd.read_parquet(project / paths.CODED_SEGMENTS)
    assert set(coded["status"]) == {"suggested"}
    agreement = pd.read_csv(project / paths.AGREEMENT_CSV, encoding="utf-8-sig")
    assert list(agreement["measure"]) == ["acceptance_rate"] and agreement["n"].tolist() == [0]
