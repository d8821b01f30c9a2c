"""Sentence embeddings with ONNX Runtime: the model exported once, checked, then run without torch.

``embedding.backend: onnx`` (the default) embeds with ONNX Runtime instead of
PyTorch. The first time a model is needed, the whole sentence-transformers
model (transformer, pooling and any dense or normalising layers) is exported to
ONNX with torch, into ``data/processed/cache/onnx/<model key>/`` beside its
fast tokenizer. Before the export is kept, it embeds a set of probe texts
(short, long enough to be truncated, mixed case, accented, padded in one
batch) and must give the same vectors as sentence-transformers itself, within
:data:`TOLERANCE`; otherwise the export is refused and the error says to use
``embedding.backend: torch``.

After that, embedding needs only ``onnxruntime`` and ``tokenizers``, which
import in a fraction of a second where sentence-transformers and torch take
several: a re-run that embeds one new interview no longer pays for torch. The
vectors are those of the torch model to float32 rounding, so both backends
share one embedding cache (keyed by the model, see
:func:`pipeline.model_files.verified_model_files`). BENCHMARKS.md ("Encoding speed")
compares the two.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from pipeline import paths
from pipeline.atomic import atomic_dir
from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

# Largest absolute difference allowed between an exported model's vectors and
# sentence-transformers' own on the probe texts (measured: about 2e-7).
TOLERANCE = 1e-4
# Bump when the export changes what it writes.
EXPORT_VERSION = 1
MANIFEST = "export.json"
# The model inputs an export may take, and the field of a tokenizers Encoding that holds each.
INPUT_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}
TORCH_HINT = "set embedding.backend: torch in config.yaml to embed with sentence-transformers directly"

# Probe texts of the export check: they exercise truncation, padding within a
# batch, case, accents, punctuation and surrounding white space.
PROBE_TEXTS = [
    "Funding was cut by a fifth.",
    "  The GP surgery now refers people to the café on Thursdays.  ",
    "WE DIDN'T KNOW WHO TO CALL",
    "ok",
    "Naïve targets, rôles and co-ordination — the board's ‘new’ plan (2026/27): £40k?",
    " ".join(["The partnership met monthly and agreed shared priorities for the coming year."] * 40),
]


def export_dir(root: Path, key: str) -> Path:
    """``data/processed/cache/onnx/<key>``: the exported model of the model whose cache key is ``key``."""
    return Path(root) / paths.ONNX_CACHE / key


def is_exported(folder: Path) -> bool:
    """Whether ``folder`` holds a finished export made by this version of :func:`export_model`."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("version") == EXPORT_VERSION


class OnnxEncoder:
    """A sentence-transformers model exported to ONNX (see :func:`export_model`), run with ONNX Runtime.

    Parameters
    ----------
    folder : Path
        An export folder: ``model.onnx``, ``tokenizer.json`` and ``export.json``.
    threads : int, optional
        ONNX Runtime's threads; by default ``OMP_NUM_THREADS`` (Snakemake sets
        it to a job's threads), or every core when that is not set.

    Examples
    --------
    >>> encoder = OnnxEncoder(export_dir(root, key))     # doctest: +SKIP
    >>> encoder.encode_batch(["Funding was cut."]).shape     # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, folder: Path, threads: int | None = None):
        import onnxruntime
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        self.inputs = list(manifest["inputs"])
        self.dimension = int(manifest["dimension"])
        self.do_lower_case = bool(manifest["do_lower_case"])
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(manifest["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(manifest["pad_id"]), pad_token=manifest["pad_token"])
        options = onnxruntime.SessionOptions()
        # 0 lets ONNX Runtime use every core.
        options.intra_op_num_threads = int(threads or os.environ.get("OMP_NUM_THREADS") or 0)
        options.inter_op_num_threads = 1
        # No busy-waiting between batches: another job may be sharing the cores (costs no speed here).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(self.folder / "model.onnx"), options,
                                                    providers=["CPUExecutionProvider"])

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dimension)`` float32 vectors, L2-normalised, padded to the batch's longest text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        texts = [text.strip() for text in texts]
        if self.do_lower_case:
            texts = [text.lower() for text in texts]
        encodings = self.tokenizer.encode_batch(texts)
        feed = {name: np.array([getattr(e, INPUT_FIELDS[name]) for e in encodings], dtype=np.int64)
                for name in self.inputs}
        vectors = self.session.run(None, feed)[0].astype(np.float32, copy=False)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)


def export_model(model, target: Path) -> Path:
    """Export a loaded sentence-transformers model to ``target`` for :class:`OnnxEncoder`, checked.

    Parameters
    ----------
    model : sentence_transformers.SentenceTransformer
        The model, as :func:`pipeline.embed.load_model` loads it with the torch backend.
    target : Path
        The export folder (see :func:`export_dir`). It is written whole into a
        temporary folder beside it and renamed, so it is never half written; a
        folder another process finished first is kept.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    ConfigError
        If the model cannot be exported, or the export does not give the model's
        own vectors on :data:`PROBE_TEXTS`.
    """
    import torch

    target = Path(target)
    tokenizer = getattr(model, "tokenizer", None)
    backend_tokenizer = getattr(tokenizer, "backend_tokenizer", None)
    if backend_tokenizer is None:
        raise ConfigError("the embedding model has no fast tokenizer, so it cannot run with ONNX Runtime",
                          file=target, hint=TORCH_HINT)
    features = model.preprocess(PROBE_TEXTS[:2])
    inputs = [name for name in INPUT_FIELDS if isinstance(features.get(name), torch.Tensor)]

    class SentenceGraph(torch.nn.Module):
        """The model's forward pass from token tensors to the sentence embedding."""

        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model({**dict(zip(inputs, tensors)), "modality": "text"})["sentence_embedding"]

    with atomic_dir(target, is_exported) as tmp:
        dynamic = {name: {0: "batch", 1: "tokens"} for name in inputs}
        model.eval()
        # The tracer warns about every Python branch in transformers' code; the check below is what counts.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(SentenceGraph(), tuple(features[name] for name in inputs),
                                  str(tmp / "model.onnx"), input_names=inputs,
                                  output_names=["sentence_embedding"],
                                  dynamic_axes={**dynamic, "sentence_embedding": {0: "batch"}},
                                  opset_version=17, dynamo=False)
            except Exception as error:
                raise ConfigError(f"the embedding model could not be exported to ONNX: {error}",
                                  file=target, hint=TORCH_HINT) from error
        backend_tokenizer.save(str(tmp / "tokenizer.json"))
        manifest = {"version": EXPORT_VERSION, "inputs": inputs,
                    "dimension": int(model.encode(["x"], convert_to_numpy=True, show_progress_bar=False).shape[1]),
                    "max_seq_length": int(model.max_seq_length),
                    "do_lower_case": bool(getattr(model[0], "do_lower_case", False)),
                    "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": str(tokenizer.pad_token or "[PAD]")}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        check_export(model, OnnxEncoder(tmp), target)
        if target.exists() and not is_exported(target):
            shutil.rmtree(target)   # an export of an older version, or a broken one
    log.info("Exported the embedding model to ONNX: %s", target)
    return target


def check_export(model, encoder: OnnxEncoder, target: Path) -> float:
    """The largest difference between ``encoder``'s and ``model``'s vectors on the probe texts.

    The probe texts are embedded as one padded batch and one at a time.

    Raises
    ------
    ConfigError
        If it exceeds :data:`TOLERANCE`.
    """
    expected = model.encode(PROBE_TEXTS, batch_size=len(PROBE_TEXTS), convert_to_numpy=True,
                            normalize_embeddings=True, show_progress_bar=False)
    together = encoder.encode_batch(PROBE_TEXTS)
    alone = np.concatenate([encoder.encode_batch([text]) for text in PROBE_TEXTS])
    difference = float(max(np.abs(together - expected).max(), np.abs(alone - expected).max()))
    if not difference <= TOLERANCE:
        raise ConfigError(f"the ONNX export of the embedding model does not reproduce its vectors "
                          f"(largest difference {difference:.2g}, allowed {TOLERANCE:g})",
                          file=target, hint=TORCH_HINT)
    return difference
