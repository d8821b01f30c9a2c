"""The identifier_scan stage: possible names in the fieldwork, for a person to check."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline import paths
from pipeline.anonymise import LEFT_OVER_NOTE, REVIEW_NOTE
from pipeline.errors import InputError
from pipeline.identifier_scan import run_identifier_scan
from synthetic_project import make_project


def test_scan_reports_unlisted_names_from_participants_only(tmp_path):
    root, config = make_project(tmp_path / "project")
    segments = pd.read_parquet(root / paths.SEGMENTS)
    planted = [
        ("seg_planted_participant", "participant",
         "We rang Dr Okonjo, and then Beatrix came along with South Council and Priya."),
        ("seg_planted_interviewer", "interviewer", "So did Mrs Pike and Hortensia join you?"),
    ]
    extra = pd.DataFrame([{**segments.iloc[0].to_dict(), "segment_id": sid, "speaker_role": role, "text": text}
                          for sid, role, text in planted])
    pd.concat([segments, extra], ignore_index=True).to_parquet(root / paths.SEGMENTS, index=False)

    run_identifier_scan(config, root)

    found = pd.read_csv(root / paths.POSSIBLE_IDENTIFIERS, encoding="utf-8-sig")
    assert list(found.columns) == ["token", "count", "example_segment_id", "context", "review_note"]
    tokens = set(found["token"])
    assert {"Okonjo", "Beatrix"} <= tokens
    assert found.set_index("token").loc["Okonjo", "example_segment_id"] == "seg_planted_participant"
    assert not {"Pike", "Hortensia"} & tokens          # interviewer turns are not scanned
    assert not {"Priya", "South", "Council"} & tokens  # a register name and organisation are known


def test_scan_reports_words_of_register_names_and_terms_the_pseudonymiser_leaves(tmp_path):
    # The register has "Gwen Tudor-Rees" and the term "Marram Road Community Centre": their words
    # are reported where the pseudonymiser leaves them in a text, and only there.
    root, config = make_project(tmp_path / "project")
    segments = pd.read_parquet(root / paths.SEGMENTS)
    planted = {**segments.iloc[0].to_dict(), "segment_id": "seg_left_over", "speaker_role": "participant",
               "text": "We told Mrs Tudor and the Marram trustees; Gwen Tudor- Rees and Beatrix agreed."}
    pd.concat([segments, pd.DataFrame([planted])], ignore_index=True).to_parquet(root / paths.SEGMENTS, index=False)

    run_identifier_scan(config, root)

    found = pd.read_csv(root / paths.POSSIBLE_IDENTIFIERS, encoding="utf-8-sig").set_index("token")
    assert found.loc[["Tudor", "Marram"], "example_segment_id"].tolist() == ["seg_left_over"] * 2
    assert found.loc[["Tudor", "Marram"], "review_note"].tolist() == [LEFT_OVER_NOTE] * 2
    assert found.loc["Beatrix", "review_note"] == REVIEW_NOTE
    assert not {"Gwen", "Rees", "Tudor-Rees"} & set(found.index)   # replaced, so not reported
    assert found.loc["Tudor", "context"].startswith(
        "We told Mrs «Tudor» and the Marram trustees; [Voluntary sector")


def test_scan_without_segments_names_the_missing_table(tmp_path):
    root, config = make_project(tmp_path / "project")
    (root / paths.SEGMENTS).unlink()
    with pytest.raises(InputError, match="segments") as error:
        run_identifier_scan(config, root)
    assert "ingest" in str(error.value)
    assert not (root / paths.POSSIBLE_IDENTIFIERS).exists()
