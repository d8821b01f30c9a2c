"""Tests for pipeline/onnx_encoder.py: the ONNX export of the real packaged model, and embedding with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import embed, onnx_encoder
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
TORCH = {"embedding": {"backend": "torch"}}
TEXTS = [
    "The council's funding for the lunch club ends in March.",
    "Volunteers now run the befriending calls on Tuesdays.",
    "ok",
    "Integrated Care Board colleagues said the data sharing agreement took eleven months. " * 30,
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A project folder whose cache holds the packaged model's ONNX export."""
    root = tmp_path_factory.mktemp("onnx")
    embed._LOADED.clear()   # load (and so export) into this project, not from another test's memo
    embed.embed_texts(["A first text."], {}, root)
    return root


def export_folder(root: Path) -> Path:
    return onnx_encoder.export_dir(root, embed.model_key({}, root))


def test_the_export_is_kept_in_the_project_cache(exported):
    folder = export_folder(exported)
    assert sorted(p.name for p in folder.iterdir()) == ["export.json", "model.onnx", "tokenizer.json"]
    manifest = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert manifest["max_seq_length"] == 256 and manifest["dimension"] == 384
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]   # no temp folder left


def test_onnx_gives_the_vectors_of_sentence_transformers(exported, tmp_path):
    onnx_vectors = embed.embed_texts(TEXTS, {}, exported)
    torch_vectors = embed.embed_texts(TEXTS, TORCH, tmp_path)   # another project: no shared cache
    assert onnx_vectors.shape == (4, 384)
    np.testing.assert_allclose(onnx_vectors, torch_vectors, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_a_long_text_is_truncated_as_sentence_transformers_truncates_it(exported):
    encoder = onnx_encoder.OnnxEncoder(export_folder(exported))
    long_text = TEXTS[3]
    longer = long_text + " An ending that falls beyond the model's 256 word pieces."
    np.testing.assert_allclose(encoder.encode_batch([long_text]), encoder.encode_batch([longer]), atol=1e-6)


def test_embedding_with_an_export_never_imports_torch(exported):
    """A re-run that embeds a few new segments starts in a fraction of a second."""
    script = ("import sys; from pathlib import Path; from pipeline import embed; "
              f"v = embed.embed_texts(['A sentence no cache has seen, 91c2.'], {{}}, Path({str(exported)!r})); "
              "print(v.shape, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "(1, 384) False False"


def test_an_export_that_does_not_reproduce_the_model_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_encoder, "TOLERANCE", -1.0)   # no export can pass
    model = embed.load_model(TORCH, tmp_path).model
    target = tmp_path / "export"
    with pytest.raises(ConfigError) as caught:
        onnx_encoder.export_model(model, target)
    assert "does not reproduce its vectors" in str(caught.value)
    assert "embedding.backend: torch" in str(caught.value)
    assert not target.exists() and list(tmp_path.glob(".tmp-*")) == []


def test_the_backend_is_validated_by_the_config_schema():
    from pipeline.config import validate_config

    assert validate_config({})["embedding"]["backend"] == "onnx"
    with pytest.raises(ConfigError, match="embedding.backend"):
        validate_config({"embedding": {"backend": "tensorflow"}})


def test_an_export_of_an_older_version_is_made_again(exported, tmp_path):
    folder = onnx_encoder.export_dir(tmp_path, embed.model_key({}, tmp_path))
    folder.parent.mkdir(parents=True)
    shutil.copytree(export_folder(exported), folder)
    manifest = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    (folder / "export.json").write_text(json.dumps({**manifest, "version": 0}), encoding="utf-8")
    (folder / "model.onnx").write_bytes(b"an old export")
    embed._LOADED.clear()
    vectors = embed.embed_texts(["The hub closed in August."], {}, tmp_path)
    assert onnx_encoder.is_exported(folder) and (folder / "model.onnx").stat().st_size > 1_000_000
    np.testing.assert_allclose(vectors, embed.embed_texts(["The hub closed in August."], {}, exported), atol=1e-6)
