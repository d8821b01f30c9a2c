"""Tests for pipeline/finetune.py (suggest.fine_tune), with the real model on a tiny codebook."""

from __future__ import annotations

from pathlib import Path

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import write_codebook_and_segments
from pipeline import embed, finetune, paths, suggest
from pipeline.codebook import codebook_from_data
from pipeline.config import validate_config
from pipeline.embed import cache_file, embed_texts, read_embeddings, run_embed
from pipeline.model_files import earlier_model_keys, model_key, model_location
from pipeline.errors import ConfigError, InputError
from pipeline.onnx_encoder import export_dir

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
    root = write_codebook_and_segments(tmp_path_factory.mktemp("finetune") / "project", CODEBOOK, SEGMENTS)
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


def test_the_model_used_last_is_the_one_kept_beside_a_new_one(tmp_path):
    """An analyst tries a codebook edit (model B), reverts it (model A again, from the cache), then
    tries another (model C): reverting that one must find A in the cache, not retrain it."""
    root = write_codebook_and_segments(tmp_path / "project", CODEBOOK, SEGMENTS)
    config = validate_config({})
    first = [("We had no money left for the hall hire.", "funding")]
    second = [("Two new helpers joined after the open day.", "volunteers")]
    a = finetune.fine_tuned_model_dir(codebook(), [], config, root, settings=TINY)
    b = finetune.fine_tuned_model_dir(codebook(), first, config, root, settings=TINY)
    time.sleep(1.1)   # a coarse file-system clock must not make A and B look the same age
    assert finetune.fine_tuned_model_dir(codebook(), [], config, root, settings=TINY) == a
    c = finetune.fine_tuned_model_dir(codebook(), second, config, root, settings=TINY)
    assert (a / "modules.json").is_file() and (c / "modules.json").is_file()
    assert not b.exists()


def test_the_bfloat16_backend_fine_tunes_in_bfloat16_into_a_model_of_its_own(tmp_path):
    """Trained under bfloat16 autocast: other weights (kept in float32) than float32 training gives, so
    another cache key; and pruning removes a model's caches under both of its keys."""
    from safetensors.numpy import load_file

    root = write_codebook_and_segments(tmp_path / "project", CODEBOOK, SEGMENTS)
    fp32, bf16 = validate_config({}), validate_config({"embedding": {"backend": "torch_bf16"}})
    exact = finetune.fine_tuned_model_dir(codebook(), [], fp32, root, settings=TINY)
    close = finetune.fine_tuned_model_dir(codebook(), [], bf16, root, settings=TINY)
    assert exact != close
    exact_weights, close_weights = load_file(exact / "model.safetensors"), load_file(close / "model.safetensors")
    assert {w.dtype for w in close_weights.values()} == {np.dtype("float32")}
    assert max(float(np.abs(exact_weights[n] - close_weights[n]).max()) for n in exact_weights) > 1e-4
    texts = [text for _id, _role, text in SEGMENTS]
    tuned_fp32, tuned_bf16 = finetune.fine_tuned_config(fp32, exact), finetune.fine_tuned_config(bf16, exact)
    embed_texts(texts, tuned_fp32, root)
    embed_texts(texts, tuned_bf16, root)
    caches = [cache_file(root, model_key(c, root)) for c in (tuned_fp32, tuned_bf16)]
    assert caches[0] != caches[1] and all(c.is_dir() for c in caches)
    os.utime(exact, (time.time() - 3600,) * 2)
    for i in range(2):      # two newer models; CACHE_KEEP = 2 keeps the newest two
        finetune.fine_tuned_model_dir(codebook(), [(f"Brand new text {i}.", "funding")], fp32, root, settings=TINY)
    assert not exact.exists() and not any(c.exists() for c in caches)


def test_a_failed_fine_tune_leaves_no_temp_folder(project, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(finetune, "fine_tune", broken)
    before = sorted(p.name for p in cache_dir(project).iterdir()) if cache_dir(project).exists() else []
    with pytest.raises(RuntimeError, match="interrupted"):
        finetune.fine_tuned_model_dir(codebook(), [("Something new.", "funding")], validate_config({}), project,
                                      settings=TINY)
    assert sorted(p.name for p in cache_dir(project).iterdir()) == before


FROZEN = {"suggest": {"fine_tune": False}}
TUNED = {"suggest": {"fine_tune": True, "fine_tune_passes": 1}}   # the settings of the `tuned` fixture


def test_fine_tune_off_needs_no_encoder_manifest(project):
    config = validate_config(FROZEN)
    assert finetune.encoder_config(config, project) is config
    run_embed(config, project)
    suggest.run_suggest(config, project)
    assert set(pd.read_parquet(project / paths.SUGGESTIONS)["segment_id"]) == {"s1", "s2", "s3", "s5"}


def test_without_the_manifest_the_embed_stage_says_to_run_finetune(tmp_path):
    with pytest.raises(InputError, match="fine-tuned model manifest is missing") as caught:
        finetune.encoder_config(validate_config({}), tmp_path)
    assert paths.ENCODER in str(caught.value) and "finetune stage" in str(caught.value)


def test_the_stages_embed_and_suggest_with_the_fine_tuned_model(tuned, project, monkeypatch):
    config = validate_config(FROZEN)
    run_embed(config, project)
    frozen_vectors = read_embeddings(project / paths.EMBEDDINGS)[1]
    suggest.run_suggest(config, project)
    frozen = pd.read_parquet(project / paths.SUGGESTIONS)

    trainer = CountingTrainer(finetune.fine_tune)
    monkeypatch.setattr(finetune, "fine_tune", trainer)
    config = validate_config(TUNED)
    finetune.run_finetune(config, project)
    assert trainer.calls == 0        # the model of the `tuned` fixture: same codebook, no decisions
    manifest = json.loads((project / paths.ENCODER).read_text(encoding="utf-8"))
    assert project / manifest["model_dir"] == tuned
    assert manifest["weights_sha256"] == hashlib.sha256((tuned / "model.safetensors").read_bytes()).hexdigest()

    run_embed(config, project)
    ids, tuned_vectors = read_embeddings(project / paths.EMBEDDINGS)
    expected = finetune.load_base(tuned).encode([t for _s, _r, t in SEGMENTS], normalize_embeddings=True)
    np.testing.assert_allclose(tuned_vectors, expected, atol=1e-5)
    assert not np.allclose(tuned_vectors, frozen_vectors, atol=1e-3)

    suggest.run_suggest(config, project)
    table = pd.read_parquet(project / paths.SUGGESTIONS)
    assert list(table.columns) == list(frozen.columns)
    assert set(table["segment_id"]) == {"s1", "s2", "s3", "s5"}
    assert not np.array_equal(table["score"].to_numpy(), frozen["score"].to_numpy())
    first = table[table["rank"] == 1].set_index("segment_id")
    assert first.loc[["s1", "s2", "s3"], "code_id"].tolist() == ["funding", "volunteers", "wellbeing"]
    assert first.loc[["s1", "s2", "s3"], "suggested"].all()
    assert not table.loc[table["segment_id"] == "s5", "suggested"].any()    # the car park: no code


def test_the_suggest_stage_finds_the_code_texts_embedded_by_finetune(tuned, tmp_path, monkeypatch):
    """The finetune stage embeds the codebook's texts, so suggest never loads the model."""
    root = write_codebook_and_segments(tmp_path / "project", CODEBOOK, SEGMENTS)
    shutil.copytree(tuned, cache_dir(root) / tuned.name)   # the fine-tuned model, without its embeddings
    config = validate_config(TUNED)
    finetune.run_finetune(config, root)
    run_embed(config, root)

    def no_model(*_args, **_kwargs):
        raise AssertionError("the suggest stage loaded the embedding model")

    monkeypatch.setattr(embed, "load_model", no_model)
    suggest.run_suggest(config, root)
    first = pd.read_parquet(root / paths.SUGGESTIONS).query("rank == 1").set_index("segment_id")
    assert first.loc[["s1", "s2", "s3"], "code_id"].tolist() == ["funding", "volunteers", "wellbeing"]


def test_tampered_fine_tuned_weights_are_refused(tuned, project):
    config = validate_config(TUNED)
    finetune.run_finetune(config, project)
    manifest_path = project / paths.ENCODER
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["weights_sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ConfigError, match="sha256"):
        embed_texts(["A text no cache has seen before, 7f3a."], finetune.encoder_config(config, project), project)
    finetune.run_finetune(config, project)   # the stage rewrites the manifest from the model itself


# About 160 word pieces: the last sentence starts past word piece 128 (the training length).
LONG_HEAD = " ".join(["The partnership met monthly and agreed shared priorities for the coming year."] * 12)
LAST_SENTENCE = " She said to me last month, I have friends now."


def word_pieces(model_dir: Path, text: str) -> int:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return len(tokenizer.encode(text).ids)


def test_the_saved_model_embeds_segments_longer_than_the_training_length_whole(tuned, project, tmp_path):
    """Trained on 128 word pieces for speed, saved and exported with the base model's 256."""
    base_path, _expected = model_location(validate_config({}), project)
    base_length = finetune.load_base(base_path).max_seq_length
    assert finetune.FINETUNE_DEFAULTS["max_seq_length"] == 128 < base_length == 256
    assert finetune.load_base(tuned).max_seq_length == base_length
    assert json.loads((tuned / "tokenizer_config.json").read_text(encoding="utf-8"))["model_max_length"] == 256
    assert 128 < word_pieces(tuned, LONG_HEAD) < word_pieces(tuned, LONG_HEAD + LAST_SENTENCE) < 256

    for backend in ("onnx", "torch"):
        config = finetune.fine_tuned_config(validate_config({"embedding": {"backend": backend}}), tuned)
        whole, cut = embed_texts([LONG_HEAD + LAST_SENTENCE, LONG_HEAD], config, project)
        assert float(whole @ cut) < 0.95, backend
    export = json.loads((export_dir(project, model_key(finetune.fine_tuned_config({}, tuned), project))
                         / "export.json").read_text(encoding="utf-8"))
    assert export["max_seq_length"] == 256

    # A model saved with the training length, as version 1 of the stage saved it, ignored the last sentence;
    # its cache key differs, so none of its embeddings (or its export) is used for the model above.
    old = tmp_path / "saved_with_128"
    model = finetune.load_base(tuned)
    model.max_seq_length = 128
    model.save(str(old))
    old_config = finetune.fine_tuned_config(validate_config({"embedding": {"backend": "torch"}}), old)
    whole, cut = embed_texts([LONG_HEAD + LAST_SENTENCE, LONG_HEAD], old_config, project)
    assert float(whole @ cut) > 0.9999
    assert model_key(old_config, project) != model_key(finetune.fine_tuned_config({}, tuned), project)
    # The packaged model names its length in sentence_bert_config.json: its key, and so its caches, stay.
    assert earlier_model_keys(validate_config({}), project) == []


def test_a_killed_fine_tune_leaves_a_temp_folder_that_the_next_run_removes(tuned, project):
    """The temp folder of a fine-tune killed mid-training is removed by the next run (here one that finds
    its model in the cache), but not while the process training into it is alive."""
    code = f"""
import time
from pathlib import Path
from pipeline import finetune
from pipeline.codebook import codebook_from_data
from pipeline.config import validate_config

def training(*args, **kwargs):
    print("training", flush=True)
    time.sleep(120)

finetune.fine_tune = training
finetune.fine_tuned_model_dir(codebook_from_data({CODEBOOK!r}, "codebook.yaml"), [("Interrupted.", "funding")],
                              validate_config({{}}), Path({str(project)!r}), settings={TINY!r})
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parent.parent)
    try:
        assert process.stdout.readline().strip() == "training"
        [name] = leftovers(project)
        stale = cache_dir(project) / name
        (stale / "model.safetensors").write_bytes(b"\0" * 1024)       # as if half saved
        old = time.time() - 3600
        os.utime(stale, (old, old))
        # Alive: another run keeps it.
        finetune.fine_tuned_model_dir(codebook(), [], validate_config({}), project, settings=TINY)
        assert leftovers(project) == [name]
    finally:
        process.kill()
        process.wait()
    os.utime(stale, (old, old))
    again = finetune.fine_tuned_model_dir(codebook(), [], validate_config({}), project, settings=TINY)
    assert again == tuned
    assert leftovers(project) == []


def test_reviewed_segments_are_capped_per_code_stably():
    pairs = [(f"text {i}", "funding") for i in range(10)] + [("other", "volunteers")]
    kept = finetune.capped(pairs, per_code=4)
    assert len([p for p in kept if p[1] == "funding"]) == 4 and ("other", "volunteers") in kept
    assert kept == [p for p in pairs if p in kept]              # input order
    more = finetune.capped(pairs + [("text 99", "funding")], per_code=4)
    assert len(set(kept) - set(more)) <= 1                      # one new text displaces at most one


def test_old_models_are_pruned_with_their_embedding_caches(tuned, project):
    """Runs last: it retires the `tuned` fixture's model."""
    config = validate_config(FROZEN)
    tuned_key = model_key(finetune.fine_tuned_config(config, tuned), project)
    tuned_cache, tuned_export = cache_file(project, tuned_key), export_dir(project, tuned_key)
    embed_texts(["A text for the cache of the first model."], finetune.fine_tuned_config(config, tuned), project)
    assert tuned_cache.is_dir() and (tuned_export / "model.onnx").is_file()
    # Caches under the key the model had before its length was part of keys go with it too.
    [earlier] = earlier_model_keys(finetune.fine_tuned_config(config, tuned), project)
    cache_file(project, earlier).mkdir(parents=True)
    export_dir(project, earlier).mkdir(parents=True)
    for i in range(2):      # two newer models; CACHE_KEEP = 2 keeps the newest two
        finetune.fine_tuned_model_dir(codebook(), [(f"Brand new text {i}.", "funding")], config, project,
                                      settings=TINY)
    assert not tuned.exists() and not tuned_cache.exists() and not tuned_export.exists()
    assert not cache_file(project, earlier).exists() and not export_dir(project, earlier).exists()
    assert len([p for p in cache_dir(project).iterdir() if p.is_dir()]) == finetune.CACHE_KEEP
