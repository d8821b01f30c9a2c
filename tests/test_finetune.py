"""Tests for pipeline/finetune.py (suggest.fine_tune), with the real model on a tiny codebook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import finetune, paths, suggest
from pipeline.codebook import codebook_from_data
from pipeline.config import validate_config
from pipeline.embed import model_location, run_embed

# Three codes, four texts each (label, definition, "label: definition", one example).
CODEBOOK = {
    "name": "Tiny codebook",
    "version": "1",
    "themes": [{"id": "t", "label": "Theme", "codes": [
        {"id": "funding", "label": "Funding",
         "definition": "Grants, budgets and money available to the project.",
         "examples": ["The council cut our grant by a fifth this year."]},
        {"id": "volunteers", "label": "Volunteers",
         "definition": "Recruiting, training and keeping unpaid volunteers.",
         "examples": ["Most of our befrienders are retired teachers who give a morning a week."]},
        {"id": "wellbeing", "label": "Wellbeing",
         "definition": "Residents' loneliness, confidence and quality of life.",
         "examples": ["She says the group is the only time she talks to anyone all week."]},
    ]}],
}
SEGMENTS = [
    ("s1", "participant", "Our grant was halved and we don't know if there will be money next year."),
    ("s2", "participant", "We struggle to find people willing to help run the sessions for free."),
    ("s3", "participant", "Since joining the walking group my mum is far less isolated."),
    ("s4", "interviewer", "Can you tell me about the funding you receive?"),
    ("s5", "participant", "The car park was resurfaced in June."),
]
# One pass keeps the test quick; the key includes the settings, so these are what the stage uses
# once FINETUNE_DEFAULTS["passes"] is patched to 1.
TINY = {**finetune.FINETUNE_DEFAULTS, "passes": 1}


def codebook():
    return codebook_from_data(CODEBOOK, "codebook.yaml")


def cache_dir(root: Path) -> Path:
    return root / finetune.FINETUNED_CACHE


def leftovers(root: Path) -> list[str]:
    return [p.name for p in cache_dir(root).iterdir() if p.name.startswith(".tmp-")]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("finetune") / "project"
    (root / "codebook").mkdir(parents=True)
    (root / "codebook" / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK), encoding="utf-8")
    (root / paths.PROCESSED).mkdir(parents=True)
    pd.DataFrame([{"segment_id": s, "speaker_role": r, "text": t} for s, r, t in SEGMENTS]).to_parquet(
        root / paths.SEGMENTS)
    return root


@pytest.fixture(scope="module")
def tuned(project) -> Path:
    return finetune.fine_tuned_model_dir(codebook(), [], validate_config({}), project, settings=TINY)


class CountingTrainer:
    def __init__(self, real):
        self.real, self.calls = real, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


def margins(model, texts: suggest.CodeTexts) -> tuple[float, float]:
    vectors = model.encode(texts.texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    sims = vectors @ vectors.T
    same = texts.owner[:, None] == texts.owner[None, :]
    off_diagonal = ~np.eye(len(texts.texts), dtype=bool)
    return float(sims[same & off_diagonal].mean()), float(sims[~same].mean())


def test_fine_tuning_pulls_codes_together_and_apart(tuned, project):
    texts = suggest.code_texts(codebook())
    base_path, _expected = model_location(validate_config({}), project)
    base_same, base_other = margins(finetune.load_base(base_path), texts)
    tuned_same, tuned_other = margins(finetune.load_base(tuned), texts)
    assert tuned_same > base_same
    assert tuned_other < base_other
    assert tuned_same - tuned_other > base_same - base_other


def test_the_cached_model_is_reused_when_nothing_changed(tuned, project, monkeypatch):
    trainer = CountingTrainer(finetune.fine_tune)
    monkeypatch.setattr(finetune, "fine_tune", trainer)
    again = finetune.fine_tuned_model_dir(codebook(), [], validate_config({}), project, settings=TINY)
    assert again == tuned
    assert trainer.calls == 0
    assert (tuned / "modules.json").is_file()
    assert tuned.parent == cache_dir(project)
    assert leftovers(project) == []


def test_new_examples_retrain_then_are_reused(tuned, project, monkeypatch):
    trainer = CountingTrainer(finetune.fine_tune)
    monkeypatch.setattr(finetune, "fine_tune", trainer)
    examples = [("We had no money left for the hall hire.", "funding"),
                ("Two new helpers joined after the open day.", "volunteers")]
    changed = finetune.fine_tuned_model_dir(codebook(), examples, validate_config({}), project, settings=TINY)
    assert trainer.calls == 1
    assert changed != tuned and (changed / "modules.json").is_file()
    # Same examples in another order (and an unknown code, which is ignored): reused.
    again = finetune.fine_tuned_model_dir(codebook(), examples[::-1] + [("Text.", "no_such_code")],
                                          validate_config({}), project, settings=TINY)
    assert again == changed
    assert trainer.calls == 1
    assert leftovers(project) == []
    assert tuned.is_dir()   # the previous model is kept (CACHE_KEEP = 2)


def test_a_failed_fine_tune_leaves_no_temp_folder(project, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(finetune, "fine_tune", broken)
    before = sorted(p.name for p in cache_dir(project).iterdir()) if cache_dir(project).exists() else []
    with pytest.raises(RuntimeError, match="interrupted"):
        finetune.fine_tuned_model_dir(codebook(), [("Something new.", "funding")], validate_config({}), project,
                                      settings=TINY)
    assert sorted(p.name for p in cache_dir(project).iterdir()) == before


def test_fine_tune_off_gives_the_same_suggestions_as_before(project):
    run_embed(validate_config({}), project)
    suggest.run_suggest({}, project)     # no suggest section at all: the behaviour before the option
    before = pd.read_parquet(project / paths.SUGGESTIONS)
    suggest.run_suggest(validate_config({"suggest": {"fine_tune": False}}), project)
    after = pd.read_parquet(project / paths.SUGGESTIONS)
    pd.testing.assert_frame_equal(before, after)
    np.testing.assert_array_equal(before["score"].to_numpy(), after["score"].to_numpy())


def test_fine_tune_on_re_embeds_with_the_cached_model(tuned, project, monkeypatch):
    run_embed(validate_config({}), project)
    suggest.run_suggest(validate_config({}), project)
    frozen = pd.read_parquet(project / paths.SUGGESTIONS)
    monkeypatch.setitem(finetune.FINETUNE_DEFAULTS, "passes", 1)
    trainer = CountingTrainer(finetune.fine_tune)
    monkeypatch.setattr(finetune, "fine_tune", trainer)
    suggest.run_suggest(validate_config({"suggest": {"fine_tune": True}}), project)
    assert trainer.calls == 0        # the model of the `tuned` fixture: same codebook, no decisions
    table = pd.read_parquet(project / paths.SUGGESTIONS)
    assert list(table.columns) == list(frozen.columns)
    assert set(table["segment_id"]) == {"s1", "s2", "s3", "s5"}
    assert not np.array_equal(table["score"].to_numpy(), frozen["score"].to_numpy())
    # The segments and code texts were embedded with the fine-tuned model, in its own cache file.
    assert len(list((project / paths.EMBEDDING_CACHE).glob("*.parquet"))) == 2
