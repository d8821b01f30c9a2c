"""Contrastive (SetFit-style) fine-tuning of the embedding model on the codebook, cached.

On by default (``suggest.fine_tune``). The configured sentence-transformers
model (by default all-MiniLM-L6-v2) is fine-tuned with
``MultipleNegativesRankingLoss`` on (text, another text of the same code)
pairs: each code's codebook texts (label, definition, "label: definition",
include cues, examples; see :func:`pipeline.suggest.code_texts`) and up to
:data:`MAX_REVIEWED_PER_CODE` segments analysts have coded with it. A batch
holds one text per code, so no in-batch "negative" shares the anchor's code.
Training is a plain PyTorch loop over sentence-transformers' own losses (no
``datasets`` / ``accelerate`` / ``setfit``), seeded; with ``embedding.backend:
torch_bf16`` its forward passes run under bfloat16 autocast, which gives
another model (the base model's key, and so the hash below, differ).

The fine-tuned model is saved under ``data/processed/cache/finetuned/<hash>``,
where the hash covers the base model's key, the codebook texts, the reviewed
examples (segment text -> code) and the training settings, and is reused as
long as none of them change. It is written atomically: trained into a temp
folder beside it, then renamed; the temp folder of a run that was killed is
removed by the next one. Training truncates texts at
``FINETUNE_DEFAULTS["max_seq_length"]`` word pieces (for speed), but the
model is saved, exported and used with the base model's own length (256 for
all-MiniLM-L6-v2), so that long segments are embedded whole. The finetune
stage (:func:`run_finetune`) names it in ``data/processed/encoder.json`` with
its weights' sha256; the embed and suggest stages then embed segments and
code texts with it through the ordinary embedding cache (keyed by the
fine-tuned model's own hash, which covers that length), so every segment is
encoded once per model.

benchmarks/suggest_quality.py measures what it gains (BENCHMARKS.md,
"Suggestion quality"); benchmarks/finetune_experiment.py tries other losses
and settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np

from pipeline import paths
from pipeline.atomic import atomic_dir, atomic_path, remove_stale_temp_dirs
from pipeline.errors import InputError

log = logging.getLogger(__name__)

FINETUNED_CACHE = f"{paths.PROCESSED}/cache/finetuned"
# Training settings (see BENCHMARKS.md); part of the cache key.
FINETUNE_DEFAULTS = {
    "loss": "mnrl",
    "passes": 3,
    "batch_size": 16,
    "lr": 5e-5,
    "seed": 0,
    "max_seq_length": 128,
}
# Reviewed segments per code that the model is trained on, at most (chosen by
# text hash, so the choice is stable): training time grows with the number of
# texts, and a few dozen segments per code carry most of what they can teach.
MAX_REVIEWED_PER_CODE = 48
# Fine-tuned models kept in the cache (each is the size of the base model).
CACHE_KEEP = 2
# Bump when the training code changes what it produces. 2: the saved model embeds with the base
# model's max_seq_length, not the training length (version 1 cut segments at 128 word pieces).
VERSION = 2


def load_base(base_path: str | Path, max_seq_length: int | None = None):
    """A fresh copy of the sentence-transformers model in ``base_path``, on the CPU, offline.

    ``max_seq_length`` (word pieces) overrides the model's own; by default the
    model keeps the one it was saved with.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base_path), device="cpu", local_files_only=True)
    if max_seq_length is not None:
        model.max_seq_length = int(max_seq_length)
    return model


def make_pairs(texts: list[str], labels: list[int], negatives: list[tuple[str, int]], per_text: int,
               rng: random.Random) -> list[tuple[str, str, float]]:
    """SetFit pairs: for each text, ``per_text`` same-code (1) and ``per_text`` other-code (0) pairs.

    Each exclude cue of a code is paired (0) with ``per_text`` texts of that code.
    """
    by_code: dict[int, list[int]] = {}
    for i, c in enumerate(labels):
        by_code.setdefault(c, []).append(i)
    pairs = []
    for i, c in enumerate(labels):
        same = [j for j in by_code[c] if j != i]
        other = [j for j in range(len(texts)) if labels[j] != c]
        for _ in range(per_text):
            if same:
                pairs.append((texts[i], texts[rng.choice(same)], 1.0))
            if other:
                pairs.append((texts[i], texts[rng.choice(other)], 0.0))
    for cue, c in negatives:
        own = by_code.get(c, [])
        for j in rng.sample(own, min(per_text, len(own))):
            pairs.append((cue, texts[j], 0.0))
    rng.shuffle(pairs)
    return pairs


def fine_tune(texts: list[str], labels: list[int], negatives: list[tuple[str, int]], *, base: str | Path,
              loss: str = "mnrl", per_text: int = 2, batch_size: int = 16, lr: float = 5e-5, seed: int = 0,
              epochs: int = 1, max_seq_length: int = 128, bf16: bool = False):
    """Fine-tune a fresh copy of the model in ``base``; returns (model, seconds, n_steps).

    The training texts are truncated to ``max_seq_length`` word pieces (short
    sequences train faster); the returned model embeds with the base model's
    own ``max_seq_length`` (256 for all-MiniLM-L6-v2), which is what it is
    saved and exported with, so that segments longer than the training length
    are embedded whole.

    Parameters
    ----------
    texts, labels : list
        Training texts and the code (an integer) of each.
    negatives : list of (str, int)
        Texts that are *not* about a code (exclude cues); used by ``loss="cosine"`` only.
    base : str or Path
        The sentence-transformers folder to start from.
    loss : {"mnrl", "cosine", "triplet"}
        ``MultipleNegativesRankingLoss`` on same-code pairs with one text per
        code per batch; SetFit's ``CosineSimilarityLoss`` on pairs; or
        ``BatchHardSoftMarginTripletLoss``.
    per_text : int
        cosine: same-code and other-code pairs per text; mnrl / triplet: passes over the texts.
    max_seq_length : int
        Word pieces of each training text that are trained on.
    bf16 : bool
        Compute the forward pass under bfloat16 autocast (the ``torch_bf16``
        backend): faster on CPUs with native bfloat16 instructions; the
        weights and the optimiser stay in float32.
    """
    import torch

    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import losses

    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    rng = random.Random(seed)
    model = load_base(base)
    embedding_length = model.max_seq_length
    model.max_seq_length = int(max_seq_length)
    started = time.perf_counter()
    if loss == "cosine":
        objective = losses.CosineSimilarityLoss(model)
        batches = []
        for _ in range(epochs):
            pairs = make_pairs(texts, labels, negatives, per_text, rng)
            batches += [pairs[i:i + batch_size] for i in range(0, len(pairs), batch_size)]
    elif loss == "mnrl":
        # (text, another text of the same code) with in-batch negatives; one text per code per batch
        # so that no in-batch "negative" shares the anchor's code.
        objective = losses.MultipleNegativesRankingLoss(model)
        by_code: dict[int, list[int]] = {}
        for i, c in enumerate(labels):
            by_code.setdefault(c, []).append(i)
        size = min(batch_size, len(by_code))
        batches = []
        for _ in range(epochs * per_text):
            pending = [i for i in range(len(texts)) if len(by_code[labels[i]]) > 1]
            rng.shuffle(pending)
            while len(pending) > 1:
                current, used, rest = [], set(), []
                for i in pending:
                    if labels[i] in used or len(current) == size:
                        rest.append(i)
                        continue
                    same = [j for j in by_code[labels[i]] if j != i]
                    current.append((texts[i], texts[rng.choice(same)]))
                    used.add(labels[i])
                if len(current) < 2:
                    break
                batches.append(current)
                pending = rest
    elif loss == "triplet":
        objective = losses.BatchHardSoftMarginTripletLoss(model)
        batches = []
        for _ in range(epochs * per_text):
            order = list(range(len(texts)))
            rng.shuffle(order)
            batches += [[(texts[i], labels[i]) for i in order[k:k + batch_size]]
                        for k in range(0, len(order), batch_size)]
    else:
        raise ValueError(loss)

    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    warmup = max(1, len(batches) // 10)
    n_batches = max(1, len(batches))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (n_batches - step) / n_batches))
    model.train()
    for batch in batches:
        if loss == "cosine":
            features = [model.preprocess([a for a, _b, _y in batch]), model.preprocess([b for _a, b, _y in batch])]
            target = torch.tensor([y for _a, _b, y in batch], dtype=torch.float32)
        elif loss == "mnrl":
            features = [model.preprocess([a for a, _b in batch]), model.preprocess([b for _a, b in batch])]
            target = None
        else:
            features = [model.preprocess([t for t, _c in batch])]
            target = torch.tensor([c for _t, c in batch])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            value = objective(features, target)
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    model.eval()
    # Embed (and save) with the base model's length, not the training length.
    model.max_seq_length = embedding_length
    return model, time.perf_counter() - started, len(batches)


def codebook_training(texts) -> tuple[list[str], list[int], list[tuple[str, int]]]:
    """(texts, code index of each, exclude cues with their code) of a :class:`pipeline.suggest.CodeTexts`."""
    return (list(texts.texts), [int(o) for o in texts.owner],
            [(t, int(o)) for t, o in zip(texts.exclude_texts, texts.exclude_owner)])


# ---------------------------------------------------------------- the stage


def reviewed_examples(decisions, codebook, segments) -> list[tuple[str, str]]:
    """(segment text, live code ID) of every segment analysts coded, as :func:`pipeline.learn.training_examples`.

    Parameters
    ----------
    decisions : pandas.DataFrame
        As returned by :func:`pipeline.learn.read_decisions`.
    codebook : pipeline.codebook.Codebook
    segments : pandas.DataFrame
        ``segment_id`` and ``text`` of the current segments.
    """
    from pipeline import learn

    examples = learn.training_examples(
        decisions, codebook, segments["segment_id"].astype(str).tolist(),
        segments["text"].fillna("").astype(str).tolist(), np.zeros((len(segments), 0), dtype=np.float32))
    return list(zip(examples.texts, examples.code_ids))


def capped(pairs: list[tuple[str, str]], per_code: int = MAX_REVIEWED_PER_CODE) -> list[tuple[str, str]]:
    """At most ``per_code`` (text, code) pairs per code: those whose texts' sha256 come first, in input order."""
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    kept: dict[str, list[str]] = {}
    for text, code in sorted(pairs, key=lambda pair: digest(pair[0])):
        kept.setdefault(code, [])
        if len(kept[code]) < per_code:
            kept[code].append(text)
    chosen = {(text, code) for code, texts in kept.items() for text in texts}
    return [pair for pair in pairs if pair in chosen]


def finetune_key(base_key: str, texts, examples: list[tuple[str, str]], settings: dict) -> str:
    """Hash of everything the fine-tuned model depends on."""
    payload = {"base": base_key, "codes": list(texts.code_ids), "texts": list(texts.texts),
               "owner": [int(o) for o in texts.owner], "excludes": list(texts.exclude_texts),
               "exclude_owner": [int(o) for o in texts.exclude_owner],
               "examples": [list(pair) for pair in examples], "settings": settings, "version": VERSION}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]


def _remove_interrupted(root: Path) -> None:
    """Remove the temp folders of fine-tuned models and ONNX exports that interrupted runs left.

    A model is trained into a temp folder beside its final one (up to about
    90 MB); a run killed meanwhile leaves it. Folders a live process is still
    writing are kept (see :func:`pipeline.atomic.temp_dir_in_use`).
    """
    for folder in (Path(root) / FINETUNED_CACHE, Path(root) / paths.ONNX_CACHE):
        for stale in remove_stale_temp_dirs(folder):
            log.info("Removed %s, left by an interrupted run", stale)


def _prune(root: Path, cache_dir: Path, keep: Path) -> None:
    """Remove all but the :data:`CACHE_KEEP` most recently used fine-tuned models, with their embedding caches
    and ONNX exports (also those kept under the key an earlier version gave the model)."""
    from pipeline.embed import cache_file
    from pipeline.model_files import earlier_model_keys, model_key
    from pipeline.onnx_encoder import export_dir

    done = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".tmp-") and p != keep]
    for old in sorted(done, key=lambda p: p.stat().st_mtime)[:max(0, len(done) - (CACHE_KEEP - 1))]:
        try:
            keys = set()
            for backend in ("onnx", "torch_bf16"):   # its float32 and its bfloat16 vectors
                config = fine_tuned_config({"embedding": {"backend": backend}}, old)
                keys |= {model_key(config, root), *earlier_model_keys(config, root)}
        except Exception as error:  # an unreadable model: nothing of it is worth keeping
            log.warning("Could not find the embedding cache of %s (%s)", old.name, error)
            keys = set()
        shutil.rmtree(old, ignore_errors=True)
        for key in keys:
            embeddings = cache_file(root, key)
            shutil.rmtree(embeddings, ignore_errors=True)
            embeddings.with_suffix(".parquet").unlink(missing_ok=True)
            shutil.rmtree(export_dir(root, key), ignore_errors=True)


def fine_tuned_model_dir(codebook, examples: list[tuple[str, str]] | None, config: dict, root: Path,
                         settings: dict | None = None) -> Path:
    """The folder of the model fine-tuned on ``codebook`` and ``examples``; trained only when not cached.

    Parameters
    ----------
    codebook : pipeline.codebook.Codebook
    examples : list of (str, str) or None
        Reviewed segments as (segment text, code ID); codes not in the codebook are ignored.
    config : dict
        Validated configuration (the ``embedding`` section names the base model).
    root : Path
        The project folder; models live under ``data/processed/cache/finetuned/``.
    settings : dict, optional
        Overrides of :data:`FINETUNE_DEFAULTS`.

    Returns
    -------
    Path
        A sentence-transformers folder.
    """
    from pipeline.model_files import in_bfloat16, verified_model_files
    from pipeline.suggest import code_texts

    settings = {**FINETUNE_DEFAULTS, **(settings or {})}
    base_path, _sha, base_key = verified_model_files(config, root)
    texts = code_texts(codebook)
    index = {code_id: i for i, code_id in enumerate(texts.code_ids)}
    # Sorted and deduplicated, so the order decisions were made in does not matter.
    pairs = capped(sorted({(str(t), str(c)) for t, c in (examples or []) if c in index and str(t).strip()}))
    key = finetune_key(base_key, texts, pairs, settings)
    cache_dir = Path(root) / FINETUNED_CACHE
    target = cache_dir / key
    _remove_interrupted(Path(root))
    if (target / "modules.json").is_file():
        log.info("Fine-tuned model loaded from the cache (%s)", key)
        # Now the most recently used: pruning (by modification time) keeps it beside the next new model.
        with contextlib.suppress(OSError):
            os.utime(target)
        return target

    train_texts, labels, negatives = codebook_training(texts)
    train_texts += [t for t, _c in pairs]
    labels += [index[c] for _t, c in pairs]
    with atomic_dir(target, lambda folder: (folder / "modules.json").is_file()) as tmp:
        model, seconds, steps = fine_tune(
            train_texts, labels, negatives, base=base_path, loss=settings["loss"],
            per_text=int(settings["passes"]), batch_size=int(settings["batch_size"]), lr=float(settings["lr"]),
            seed=int(settings["seed"]), max_seq_length=int(settings["max_seq_length"]),
            bf16=in_bfloat16(config))
        model.save(str(tmp))
    log.info("Fine-tuned the embedding model in %.1f s (%d step(s)) on %d codebook text(s) and %d reviewed "
             "segment(s); saved as %s", seconds, steps, len(texts.texts), len(pairs), key)
    _prune(Path(root), cache_dir, target)
    return target


def fine_tuned_config(config: dict, model_dir: Path, weights_sha256: str | None = None) -> dict:
    """``config`` with ``embedding.model_path`` pointing at ``model_dir``.

    Passed to :func:`pipeline.embed.embed_texts`, it embeds with the fine-tuned
    model through the ordinary cache, keyed by that model's own hash. With
    ``weights_sha256`` the weights are checked against it, as the base
    model's are.
    """
    embedding = {**(config.get("embedding") or {}), "model_path": str(Path(model_dir).resolve()),
                 "model_sha256": weights_sha256}
    return {**config, "embedding": embedding}


def fine_tune_enabled(config: dict) -> bool:
    """``suggest.fine_tune`` (default true)."""
    from pipeline.suggest import suggest_settings

    return bool(suggest_settings(config)["fine_tune"])


def run_finetune(config: dict, root: Path) -> None:
    """Stage: fine-tune the embedding model on the codebook and the reviewed segments.

    Writes ``data/processed/encoder.json``, which names the fine-tuned model
    (under ``data/processed/cache/finetuned/``) and its weights' sha256; the
    embed and suggest stages embed with it (see :func:`encoder_config`). The
    model is trained only when the codebook texts, the reviewed segments or
    the settings changed since it was last trained.

    The codebook's texts are embedded here too, into the fine-tuned model's
    embedding cache, while the model is loaded anyway: the suggest stage then
    finds them in the cache and does not load the model itself.
    """
    from pipeline.codebook import project_codebook
    from pipeline.embed import embed_texts
    from pipeline.model_files import verified_model_files
    from pipeline.learn import read_decisions
    from pipeline.segment import read_segments
    from pipeline.suggest import code_texts, model_texts, suggest_settings

    root = Path(root)
    codebook = project_codebook(config, root)
    segments = read_segments(root, ["segment_id", "text"])
    examples = reviewed_examples(read_decisions(root / paths.DECISIONS), codebook, segments)
    passes = int(suggest_settings(config)["fine_tune_passes"])
    model_dir = fine_tuned_model_dir(codebook, examples, config, root, settings={"passes": passes})
    encoder = fine_tuned_config(config, model_dir)
    _path, weights_sha256, key = verified_model_files(encoder, root, reread=False)
    embed_texts(model_texts(code_texts(codebook)), encoder, root)
    manifest = {"model_dir": model_dir.relative_to(root).as_posix(), "weights_sha256": weights_sha256,
                "embedding_key": key}
    with atomic_path(root / paths.ENCODER) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def encoder_config(config: dict, root: Path) -> dict:
    """The configuration to embed segments and code texts with.

    ``config`` itself unless ``suggest.fine_tune`` is on; then ``config``
    pointing at the fine-tuned model that ``data/processed/encoder.json``
    names, so that every stage embeds with the same encoder.

    Raises
    ------
    InputError
        If fine-tuning is on and the manifest or its model is missing.
    """
    if not fine_tune_enabled(config):
        return config
    path = Path(root) / paths.ENCODER
    hint = "run the finetune stage first (snakemake finetune, or python -m pipeline finetune)"
    if not path.is_file():
        raise InputError("the fine-tuned model manifest is missing (suggest.fine_tune is on)", file=path,
                         hint=hint)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        model_dir = Path(root) / manifest["model_dir"]
        weights_sha256 = manifest["weights_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"no usable fine-tuned model manifest ({error})", file=path, hint=hint) from error
    if not (model_dir / "modules.json").is_file():
        raise InputError("the fine-tuned model this manifest names is missing", file=model_dir, hint=hint)
    return fine_tuned_config(config, model_dir, weights_sha256)
