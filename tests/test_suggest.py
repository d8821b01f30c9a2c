"""Tests for pipeline/suggest.py on a small codebook and segments, with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_codebook_and_segments
from pipeline import learn, paths, suggest
from pipeline.codebook import codebook_from_data
from pipeline.config import validate_config
from pipeline.embed import embed_texts, run_embed
from pipeline.errors import InputError
from pipeline.tables import SUGGESTION_COLUMNS

CODEBOOK = {
    "name": "Test codebook",
    "version": "1",
    "themes": [
        {"id": "resources", "label": "Resources", "codes": [
            {"id": "funding", "label": "Funding and money",
             "definition": "The amount and security of grants, budgets and money available to the project.",
             "include": ["Grant amounts or budget cuts", "Short-term funding"],
             "exclude": ["Paying volunteers' travel expenses (use volunteers)"],
             "examples": ["The council cut our grant by a fifth this year."]},
            {"id": "volunteers", "label": "Volunteers",
             "definition": "Recruiting, training and keeping unpaid volunteers who run activities.",
             "include": ["Recruiting or training volunteers", "Volunteers dropping out"],
             "examples": ["Most of our befrienders are retired teachers who give a morning a week."]},
        ]},
        {"id": "outcomes", "label": "Outcomes", "codes": [
            {"id": "wellbeing", "label": "Residents' wellbeing",
             "definition": "Changes in residents' mental health, loneliness, confidence and quality of life.",
             "include": ["Less lonely or isolated", "Feeling more confident"],
             "examples": ["She says coming to the group is the only time she talks to anyone all week."]},
            {"id": "communication", "label": "Communication between partners",
             "definition": "How partner organisations keep one another informed: meetings, emails and updates.",
             "include": ["Meetings and their usefulness", "Finding out about changes late"],
             "examples": ["We only heard the clinic had moved when a client turned up at our door."]},
        ]},
    ],
}

SEGMENTS = [
    # segment_id, speaker_role, text, the code it is clearly about ("" for none)
    ("s1", "participant", "Our grant was halved and we don't know if there will be any money next year.", "funding"),
    ("s2", "participant", "We struggle to find people willing to give up their time for free to help run the sessions.", "volunteers"),
    ("s3", "participant", "Since joining the walking group my mum is far less isolated and she smiles again.", "wellbeing"),
    ("s4", "participant", "Nobody emailed us about the change; we found out weeks later at a meeting.", "communication"),
    ("s5", "interviewer", "Can you tell me about the funding you receive?", ""),
    ("s6", "participant", "The car park was resurfaced in June.", ""),
]


def codebook():
    return codebook_from_data(CODEBOOK, "codebook.yaml")


def write_project(root: Path, config_suggest: dict | None = None) -> dict:
    write_codebook_and_segments(root, CODEBOOK, [(s, r, t) for s, r, t, _ in SEGMENTS])
    # The scoring itself, on the packaged model; fine-tuning is tested in test_finetune.py.
    return validate_config({"suggest": {"fine_tune": False, **(config_suggest or {})}})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project on which embed and suggest have run once with the default settings."""
    root = tmp_path_factory.mktemp("suggest") / "project"
    config = write_project(root)
    run_embed(config, root)
    suggest.run_suggest(config, root)
    return root


@pytest.fixture(scope="module")
def suggestions(project) -> pd.DataFrame:
    return pd.read_parquet(project / paths.SUGGESTIONS)


def test_output_columns_and_shape(project, suggestions):
    assert list(suggestions.columns) == SUGGESTION_COLUMNS
    assert suggestions.groupby("segment_id")["rank"].apply(list).map(lambda r: r == [1, 2, 3]).all()
    assert suggestions["suggested"].dtype == bool
    assert set(suggestions["confidence"]) <= {"high", "medium", "low"}
    for _segment, rows in suggestions.groupby("segment_id"):
        assert rows.sort_values("rank")["score"].is_monotonic_decreasing

    table = pd.read_csv(project / paths.SUGGESTIONS_CSV, encoding="utf-8-sig")
    assert list(table.columns) == SUGGESTION_COLUMNS + ["code_label"]
    assert table.loc[table["code_id"] == "funding", "code_label"].eq("Funding and money").all()


def test_interviewer_segments_get_no_suggestions(suggestions):
    assert "s5" not in set(suggestions["segment_id"])
    assert {"s1", "s2", "s3", "s4", "s6"} == set(suggestions["segment_id"])


def test_clearly_on_topic_segments_get_their_code_first(suggestions):
    top = suggestions[suggestions["rank"] == 1].set_index("segment_id")["code_id"]
    for segment_id, _role, _text, code in SEGMENTS:
        if code:
            assert top[segment_id] == code, segment_id
    first = suggestions[(suggestions["rank"] == 1) & suggestions["segment_id"].isin(["s1", "s2", "s3", "s4"])]
    assert first["suggested"].all()


def test_off_topic_text_is_not_suggested(suggestions):
    off_topic = suggestions[suggestions["segment_id"] == "s6"]
    assert not off_topic["suggested"].any()
    assert (off_topic["confidence"] == "low").all()


def test_exclude_cues_lower_the_score(tmp_path):
    texts = suggest.code_texts(codebook())
    assert "Paying volunteers' travel expenses" in texts.exclude_texts  # the "(use ...)" pointer is cut
    text_vectors = embed_texts(texts.texts, {}, tmp_path)
    exclude_vectors = embed_texts(texts.exclude_texts, {}, tmp_path)
    settings = suggest.suggest_settings({})
    with_excludes = learn.fit_code_model(texts, text_vectors, exclude_vectors, None, None, settings)
    without = learn.fit_code_model(texts, text_vectors, exclude_vectors, None, None,
                                   {**settings, "exclude_weight": 0.0})
    segment = ["We pay back volunteers' bus fares and travel expenses each month."]
    vector = embed_texts(segment, {}, tmp_path)
    funding = texts.code_ids.index("funding")
    assert (suggest.score(vector, segment, with_excludes)[0, funding]
            < suggest.score(vector, segment, without)[0, funding])
    # a segment nowhere near the exclude cue is not penalised
    other = ["Our grant was halved this year."]
    vector = embed_texts(other, {}, tmp_path)
    assert suggest.score(vector, other, with_excludes)[0, funding] == pytest.approx(
        suggest.score(vector, other, without)[0, funding])


def test_a_numeric_threshold_applies_to_every_code(tmp_path):
    config = write_project(tmp_path, {"threshold": 5.0, "top_k": 2})
    run_embed(config, tmp_path)
    suggest.run_suggest(config, tmp_path)
    table = pd.read_parquet(tmp_path / paths.SUGGESTIONS)
    assert len(table) == 5 * 2
    assert not table["suggested"].any()

    config = write_project(tmp_path, {"threshold": -1.0, "top_k": 1})
    suggest.run_suggest(config, tmp_path)
    assert pd.read_parquet(tmp_path / paths.SUGGESTIONS)["suggested"].all()


def test_stale_embeddings_are_reported(project, tmp_path):
    config = write_project(tmp_path)
    run_embed(config, tmp_path)
    segments = pd.read_parquet(tmp_path / paths.SEGMENTS)
    extra = pd.DataFrame([{"segment_id": "s7", "speaker_role": "participant", "text": "New text."}])
    pd.concat([segments, extra]).to_parquet(tmp_path / paths.SEGMENTS)
    with pytest.raises(InputError, match="re-run the embed stage"):
        suggest.run_suggest(config, tmp_path)


def test_a_segment_whose_text_changed_under_the_same_id_is_reported(project, tmp_path):
    config = write_project(tmp_path)
    run_embed(config, tmp_path)
    segments = pd.read_parquet(tmp_path / paths.SEGMENTS)
    segments.loc[1, "text"] = "A corrected transcript: the residents' panel now votes on the budget."
    segments.to_parquet(tmp_path / paths.SEGMENTS)
    with pytest.raises(InputError, match="changed text") as caught:
        suggest.run_suggest(config, tmp_path)
    assert segments.loc[1, "segment_id"] in str(caught.value)
    assert "re-run the embed stage" in str(caught.value)


def test_a_single_code_codebook_still_ranks(tmp_path):
    data = {"name": "One", "themes": [{"id": "t", "label": "T", "codes": [CODEBOOK["themes"][0]["codes"][0]]}]}
    texts = suggest.code_texts(codebook_from_data(data, "one.yaml"))
    model = learn.fit_code_model(texts, embed_texts(texts.texts, {}, tmp_path),
                                 embed_texts(texts.exclude_texts, {}, tmp_path),
                                 embed_texts(list(suggest.BACKGROUND_TEXTS), {}, tmp_path), None,
                                 suggest.suggest_settings({}))
    segments = ["Our grant was halved.", "The car park was resurfaced in June."]
    table = suggest.rank_codes(["a", "b"], segments, embed_texts(segments, {}, tmp_path), model, top_k=3)
    assert table["code_id"].tolist() == ["funding", "funding"]
    assert table["suggested"].tolist()[0]
    assert table["score"].tolist()[0] > table["score"].tolist()[1]


def test_bad_threshold_setting_is_a_config_error():
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="suggest.threshold"):
        suggest.suggest_settings({"suggest": {"threshold": "high"}})


def test_scores_are_deterministic(project, suggestions):
    config = validate_config({"suggest": {"fine_tune": False}})
    suggest.run_suggest(config, project)
    again = pd.read_parquet(project / paths.SUGGESTIONS)
    pd.testing.assert_frame_equal(suggestions, again)
    np.testing.assert_array_equal(suggestions["score"], again["score"])
