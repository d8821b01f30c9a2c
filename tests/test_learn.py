"""Tests for pipeline/learn.py: learning from analysts' decisions, with the real model."""

from __future__ import annotations

import os
import shutil
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

CODEBOOK = {
    "name": "Test codebook",
    "themes": [
        {"id": "resources", "label": "Resources", "codes": [
            {"id": "funding", "label": "Funding and money", "aliases": ["money_old"],
             "definition": "The amount and security of grants, budgets and money available to the project.",
             "include": ["Grant amounts or budget cuts"],
             "examples": ["The council cut our grant by a fifth this year."]},
            {"id": "volunteers", "label": "Volunteers",
             "definition": "Recruiting, training and keeping unpaid volunteers who run activities.",
             "include": ["Recruiting or training volunteers"],
             "examples": ["Most of our befrienders are retired teachers who give a morning a week."]},
        ]},
        {"id": "working", "label": "Working together", "codes": [
            {"id": "communication", "label": "Communication between partners",
             "definition": "How partner organisations keep one another informed: meetings, emails and updates.",
             "include": ["Finding out about changes late"],
             "examples": ["We only heard the clinic had moved when a client turned up at our door."]},
            {"id": "wellbeing", "label": "Residents' wellbeing",
             "definition": "Changes in residents' mental health, loneliness and quality of life.",
             "include": ["Less lonely or isolated"],
             "examples": ["She says the group is the only time she talks to anyone all week."]},
        ]},
    ],
}

# A local turn of phrase the codebook says nothing about: in this (invented)
# project "the Saturday rota" is the shared schedule partners keep one another
# informed through, so analysts code it as communication.
ROTA_CODED = [
    ("r1", "The Saturday rota went out late again."),
    ("r2", "Nobody checked the Saturday rota before the session."),
    ("r3", "The Saturday rota changed twice this week."),
    ("r4", "I only saw the new Saturday rota the night before."),
    ("r5", "The Saturday rota still has gaps in it."),
]
ROTA_UNSEEN = [
    ("u1", "The Saturday rota was posted late once more."),
    ("u2", "Has anyone looked at the Saturday rota yet?"),
]
OTHER = [
    ("o1", "Our grant was halved and we don't know if there will be money next year."),
    ("o2", "Since joining the walking group my mum is far less isolated."),
    ("o3", "We had a lovely chat about the garden and the weather."),
]
SEGMENTS = ROTA_CODED + ROTA_UNSEEN + OTHER


def decisions_frame(rows: list[tuple[str, str, str]], orphaned: set[str] = frozenset()) -> pd.DataFrame:
    """Decisions in the review stage's layout: (segment_id, decision, code_id) per row."""
    return pd.DataFrame({
        "segment_id": [s for s, _d, _c in rows],
        "coder": "AB",
        "decision": [d for _s, d, _c in rows],
        "code_id": [c for _s, _d, c in rows],
        "comment": "",
        "source_file": "data/review/coding_review.xlsx",
        "row": list(range(2, len(rows) + 2)),
        "recorded_at": pd.Timestamp("2026-01-01", tz="UTC"),
        "orphaned": [s in orphaned for s, _d, _c in rows],
    })


ROTA_DECISIONS = [(s, "change", "communication") for s, _t in ROTA_CODED]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = write_codebook_and_segments(tmp_path_factory.mktemp("learn") / "project", CODEBOOK,
                                       [(s, "participant", t) for s, t in SEGMENTS])
    run_embed(FROZEN, root)
    return root


# Learning on the packaged model; fine-tuning on decisions is tested in test_finetune.py.
FROZEN = validate_config({"suggest": {"fine_tune": False}})


def codebook():
    return codebook_from_data(CODEBOOK, "codebook.yaml")


TEXTS = [t for _s, t in SEGMENTS]


def segment_vectors(root: Path) -> tuple[list[str], np.ndarray]:
    ids = [s for s, _t in SEGMENTS]
    return ids, embed_texts(TEXTS, {}, root)


def model_for(root: Path, decisions: pd.DataFrame | None, **settings) -> suggest.CodeModel:
    if decisions is not None:
        decisions.to_parquet(root / paths.DECISIONS)
    elif (root / paths.DECISIONS).exists():
        (root / paths.DECISIONS).unlink()
    ids, vectors = segment_vectors(root)
    config = validate_config({"suggest": {"fine_tune": False, **settings}})
    return suggest.build_code_model(codebook(), config, root, ids, TEXTS, vectors)


def margin(model: suggest.CodeModel, vectors: np.ndarray, texts: list[str], code_id: str) -> np.ndarray:
    """Score of ``code_id`` minus the best other code's, per segment."""
    scores = suggest.score(vectors, texts, model)
    column = model.code_ids.index(code_id)
    others = np.delete(scores, column, axis=1)
    return scores[:, column] - others.max(axis=1)


def test_decisions_move_similar_unseen_segments_towards_the_code(project):
    unseen_texts = [t for _s, t in ROTA_UNSEEN]
    unseen = embed_texts(unseen_texts, {}, project)
    before = model_for(project, None)
    after = model_for(project, decisions_frame(ROTA_DECISIONS))
    assert before.learned_codes == []
    assert after.learned_codes == ["communication"]
    assert (margin(after, unseen, unseen_texts, "communication")
            > margin(before, unseen, unseen_texts, "communication") + 0.1).all()
    table = suggest.rank_codes([s for s, _t in ROTA_UNSEEN], unseen_texts, unseen, after, top_k=3)
    first = table[table["rank"] == 1]
    assert first["code_id"].tolist() == ["communication", "communication"]
    assert first["suggested"].all()


def test_unrelated_segments_keep_their_codes(project):
    other_texts = [t for _s, t in OTHER[:2]]
    other = embed_texts(other_texts, {}, project)
    before = model_for(project, None)
    after = model_for(project, decisions_frame(ROTA_DECISIONS))
    np.testing.assert_allclose(suggest.relevance(other, after), suggest.relevance(other, before))
    assert suggest.score(other, other_texts, after).argmax(axis=1).tolist() == \
        [before.code_ids.index("funding"), before.code_ids.index("wellbeing")]


def test_a_code_needs_enough_examples(project):
    model = model_for(project, decisions_frame(ROTA_DECISIONS[:2]), min_examples_to_learn=3)
    assert model.learned_codes == []
    model = model_for(project, decisions_frame(ROTA_DECISIONS[:2]), min_examples_to_learn=2)
    assert model.learned_codes == ["communication"]


def test_missing_or_empty_decisions_use_the_codebook_alone(project):
    missing = model_for(project, None)
    empty = model_for(project, decisions_frame([]))
    ids, vectors = segment_vectors(project)
    np.testing.assert_array_equal(suggest.score(vectors, TEXTS, missing), suggest.score(vectors, TEXTS, empty))
    assert empty.learned_codes == []


def test_orphaned_rejected_and_unknown_decisions_are_not_examples(project):
    rows = ROTA_DECISIONS + [("o1", "accept", "money_old"), ("o2", "reject", ""),
                             ("o3", "change", "no_such_code"), ("gone", "accept", "funding")]
    decisions = decisions_frame(rows, orphaned={"r1", "r2", "r3"})
    ids, vectors = segment_vectors(project)
    examples = learn.training_examples(decisions, codebook(), ids, TEXTS, vectors)
    assert sorted(zip(examples.segment_ids, examples.code_ids)) == [
        ("o1", "funding"), ("r4", "communication"), ("r5", "communication")]  # alias resolved
    assert examples.no_code_segment_ids == ["o2"]


def test_rejected_segments_lower_similar_text(project):
    chat = ["We had a lovely chat about the garden and the weather."]
    before = model_for(project, None)
    after = model_for(project, decisions_frame([("o3", "reject", "")]))
    vector = embed_texts(chat, {}, project)
    assert suggest.score(vector, chat, after).max() < suggest.score(vector, chat, before).max()


def test_model_is_cached_until_decisions_change(project, monkeypatch):
    fits = []
    original = learn.fit_code_model

    def counting(*args, **kwargs):
        fits.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(learn, "fit_code_model", counting)
    shutil.rmtree(project / paths.MODEL_CACHE, ignore_errors=True)
    first = model_for(project, decisions_frame(ROTA_DECISIONS[:4]))
    assert len(fits) == 1
    again = model_for(project, decisions_frame(ROTA_DECISIONS[:4]))
    assert len(fits) == 1  # unchanged decisions: loaded from the cache
    np.testing.assert_array_equal(first.threshold, again.threshold)
    np.testing.assert_array_equal(first.reviewed, again.reviewed)
    assert again.learned_codes == first.learned_codes
    assert again.lexical_vocabulary == first.lexical_vocabulary      # n-grams with their spaces
    ids, vectors = segment_vectors(project)
    np.testing.assert_array_equal(suggest.score(vectors, TEXTS, again), suggest.score(vectors, TEXTS, first))

    model_for(project, decisions_frame(ROTA_DECISIONS[:4] + [("o1", "accept", "funding")]))
    assert len(fits) == 2  # a new decision: refitted
    cached = sorted((project / paths.MODEL_CACHE).glob("*.npz"))
    assert cached
    with np.load(cached[0], allow_pickle=False) as data:  # plain arrays, no pickle
        assert "coef" in data.files


def test_suggest_stage_uses_decisions(project):
    decisions_frame(ROTA_DECISIONS).to_parquet(project / paths.DECISIONS)
    suggest.run_suggest(FROZEN, project)
    table = pd.read_parquet(project / paths.SUGGESTIONS)
    first = table[table["rank"] == 1].set_index("segment_id")["code_id"]
    assert first["u1"] == "communication" and first["u2"] == "communication"


def test_decisions_without_the_needed_columns_are_an_input_error(tmp_path):
    pd.DataFrame({"segment_id": ["a"]}).to_parquet(tmp_path / "decisions.parquet")
    with pytest.raises(InputError, match="code_id"):
        learn.read_decisions(tmp_path / "decisions.parquet")


# In this (invented) project the small-grants fund is "the Kestrel pot": a name
# the codebook never uses, and an embedding model has no reason to tie to money.
KESTREL_CODED = ["We put a bid into the Kestrel pot for the lunch club.",
                 "The Kestrel pot paid for the new chairs in the hall.",
                 "Kestrel pot bids close at the end of March."]
KESTREL_UNSEEN = ["Did the Kestrel pot people say yes to the choir?"]


def fit_with_examples(root: Path, coded: list[str], code_id: str, **settings) -> suggest.CodeModel:
    texts = suggest.code_texts(codebook())
    vectors = embed_texts(coded, {}, root)
    examples = learn.TrainingExamples(
        segment_ids=[f"k{i}" for i in range(len(coded))], code_ids=[code_id] * len(coded), texts=coded,
        vectors=vectors, no_code_segment_ids=[], no_code_texts=[], no_code_vectors=vectors[:0])
    return learn.fit_code_model(texts, embed_texts(texts.texts, {}, root), embed_texts(texts.exclude_texts, {}, root),
                                embed_texts(list(suggest.BACKGROUND_TEXTS), {}, root), examples,
                                {**suggest.suggest_settings({}), **settings})


def test_the_lexical_classifier_learns_a_project_word_from_coded_segments(project):
    unseen = embed_texts(KESTREL_UNSEEN, {}, project)
    with_lexical = fit_with_examples(project, KESTREL_CODED, "funding")
    without = fit_with_examples(project, KESTREL_CODED, "funding", lexical_weight=0.0)
    assert with_lexical.lexical_vocabulary and not without.lexical_vocabulary
    assert "estre" in with_lexical.lexical_vocabulary          # n-grams of the coded segments' words
    gain = margin(with_lexical, unseen, KESTREL_UNSEEN, "funding") - margin(without, unseen, KESTREL_UNSEEN, "funding")
    assert gain > 0.1
    assert suggest.score(unseen, KESTREL_UNSEEN, with_lexical).argmax() == with_lexical.code_ids.index("funding")
    # Text about other things keeps its code.
    other = [t for _s, t in OTHER[:2]]
    assert suggest.score(embed_texts(other, {}, project), other, with_lexical).argmax(axis=1).tolist() == \
        [with_lexical.code_ids.index("funding"), with_lexical.code_ids.index("wellbeing")]


def test_lexical_scores_are_cached_by_text_and_old_caches_are_pruned(project, tmp_path, monkeypatch):
    model = fit_with_examples(project, KESTREL_CODED, "funding")
    cache = tmp_path / "lexical"
    old = [cache / f"old{i}" for i in range(suggest.LEXICAL_CACHE_KEEP)]
    for age, folder in enumerate(old):
        folder.mkdir(parents=True)
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))   # old0 is the least recently used
    scored = []
    original = suggest._lexical_scores
    monkeypatch.setattr(suggest, "_lexical_scores", lambda texts, m: scored.append(texts) or original(texts, m))

    first = suggest.lexical_probability(TEXTS, model, cache)
    again = suggest.lexical_probability(TEXTS + KESTREL_UNSEEN, model, cache)
    assert scored == [TEXTS, KESTREL_UNSEEN]            # the second call scores the new text only
    np.testing.assert_array_equal(again[:len(TEXTS)], first)
    np.testing.assert_allclose(first, original(TEXTS, model), atol=1e-6)   # kept as float32
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == suggest.LEXICAL_CACHE_KEEP and suggest.lexical_key(model) in kept
    assert "old0" not in kept                            # the least recently used went


def test_lexical_scores_match_scikit_learns_tfidf_transform(project):
    """Scoring writes out the fitted TfidfVectorizer's transform; both must give the same features."""
    model = fit_with_examples(project, KESTREL_CODED, "funding")
    texts = ["The KESTREL pot, the Kestrel pot and the kestrel pot again!",   # case, punctuation, repeats
             "a an I\tx  yz\n\u00a0Kestrel",                                  # words shorter than an n-gram, odd spaces
             "Café naïveté co-operation 2024/25",
             "", "qqqq zzzz"]                                                  # nothing in the vocabulary
    vectoriser = learn.lexical_vectoriser(model.lexical_vocabulary)
    vectoriser.idf_ = model.lexical_idf
    logits = np.asarray(vectoriser.transform(texts) @ model.lexical_coef.T, dtype=np.float64) + model.lexical_intercept
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(suggest._lexical_scores(texts, model), expected[:, :model.n_codes], rtol=1e-5, atol=1e-7)
    assert suggest.word_ngrams("an") == [" an", "an ", " an "]     # the padded word is its own last n-gram, once
    assert suggest.word_ngrams("cat")[:3] == [" ca", "cat", "at "]
