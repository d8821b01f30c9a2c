"""CPU encoding options for all-MiniLM-L6-v2: speed against agreement and suggestion quality.

Usage::

    .venv/bin/python benchmarks/encode_speed.py [--texts 2000] [--json out.json]

Each option encodes the same synthetic segments (benchmarks/scale.py's
generator: 150-500 characters from a pool of evaluation-like sentences) and is
compared with the current default (fp32, ``max_seq_length`` 256, batch 64,
torch's default threads):

* **texts/s** on those segments (one warm-up batch first; best of ``--repeats``);
* **cosine** of each vector with the default's vector for the same text (mean and minimum);
* **top-1 / top-3** of the suggestion method on the labelled sets of
  benchmarks/suggest_quality.py (example and holdout codebooks), with *every*
  text (segments, code prototypes, background sentences) encoded by the option.

Options: ``max_seq_length`` 128, batch sizes 16/32/128, one torch thread,
int8 dynamic quantisation of the Linear layers (``torch.ao.quantization.quantize_dynamic``;
no download), bfloat16 autocast (``embedding.backend: torch_bf16``) with two threads and
with one, and the pipeline's ONNX Runtime backend (``embedding.backend:
onnx``, :mod:`pipeline.onnx_encoder`: the model exported to ONNX, fp32) with
two threads and with one. Encoding bypasses the embedding cache (whose key does
not know about these options).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import scale  # noqa: E402
from benchmarks_md import machine, replace_section  # noqa: E402
import suggest_quality as sq  # noqa: E402
from pipeline import suggest  # noqa: E402
from pipeline.embed import load_model  # noqa: E402
from pipeline.onnx_encoder import export_model  # noqa: E402

SECTION = "## Encoding speed"


def quantised(model):
    import torch

    quantize_dynamic = getattr(getattr(torch, "ao", torch).quantization, "quantize_dynamic", None) \
        or torch.quantization.quantize_dynamic
    return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def options(base, onnx_folder: Path) -> dict:
    """name -> (model, batch size, max_seq_length, threads or None, bfloat16 autocast); an
    OnnxEncoder is run by ONNX Runtime."""
    int8 = quantised(base)
    return {
        "fp32, seq 256, batch 64 (default)": (base, 64, 256, None, False),
        "fp32, seq 128": (base, 64, 128, None, False),
        "fp32, batch 16": (base, 16, 256, None, False),
        "fp32, batch 32": (base, 32, 256, None, False),
        "fp32, batch 128": (base, 128, 256, None, False),
        "fp32, 1 thread": (base, 64, 256, 1, False),
        "int8 dynamic": (int8, 64, 256, None, False),
        "int8 dynamic, seq 128": (int8, 64, 128, None, False),
        "bf16 autocast (`embedding.backend: torch_bf16`)": (base, 64, 256, None, True),
        "bf16 autocast, 1 thread": (base, 64, 256, 1, True),
        "ONNX Runtime fp32 (`embedding.backend: onnx`)": (onnx_folder, 64, 256, None, False),
        "ONNX Runtime fp32, 1 thread": (onnx_folder, 64, 256, 1, False),
    }


def onnx_encoder(folder: Path, batch_size: int, threads: int | None):
    """The pipeline's own ONNX path: length-sorted batches through an OnnxEncoder."""
    from pipeline.embed import LoadedModel, encode
    from pipeline.onnx_encoder import OnnxEncoder

    loaded = LoadedModel(path=folder, weights_sha256="", key="", model=OnnxEncoder(folder, threads),
                         backend="onnx")
    return lambda texts: encode(loaded, list(texts), batch_size)


def encoder(model, batch_size: int, max_seq_length: int, threads: int | None, bf16: bool):
    import torch

    def encode(texts: list[str]) -> np.ndarray:
        previous_threads, previous_length = torch.get_num_threads(), model.max_seq_length
        if threads:
            torch.set_num_threads(threads)
        model.max_seq_length = max_seq_length
        try:
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False).astype(np.float32)
        finally:
            torch.set_num_threads(previous_threads)
            model.max_seq_length = previous_length

    return encode


def quality(encode) -> dict:
    """top-1 / top-3 of the suggestion method with every text encoded by ``encode``."""
    sq.embed_texts = lambda texts, _config, _root: encode(list(texts))  # the benchmark's only encoder
    settings = suggest.suggest_settings({})
    out = {}
    for name in sq.SETS:
        codebook, frame, gold = sq.load_set(name)
        texts = frame["text"].tolist()
        vectors = encode(texts)
        model = sq.fit(codebook, REPO, settings, {})   # {}: embed_texts above ignores the config
        result = sq.metrics(suggest.score(vectors, texts, model), gold, model.code_ids)
        out[name] = {"top1": result["top1"], "top3": result["top3"]}
    return out


def run(n_texts: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        return measure(n_texts, repeats, Path(scratch))


def measure(n_texts: int, repeats: int, scratch: Path) -> dict:
    base = load_model({"embedding": {"backend": "torch"}}, REPO).model
    onnx_folder = export_model(base, scratch / "onnx")
    maker = scale.TextMaker(random.Random(3))
    texts = [maker.segment() for _ in range(n_texts)]
    results = {}
    reference = None
    for name, (model, batch, length, threads, bf16) in options(base, onnx_folder).items():
        encode = (onnx_encoder(model, batch, threads) if isinstance(model, Path)
                  else encoder(model, batch, length, threads, bf16))
        encode(texts[:batch])                                    # warm-up
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors = encode(texts)
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - cpu_started)
        if reference is None:
            reference = vectors
        cosine = np.sum(vectors * reference, axis=1)
        results[name] = {"texts_per_s": round(n_texts / best, 1), "seconds": round(best, 2),
                         "texts_per_cpu_s": round(n_texts / best_cpu, 1),
                         "load_average_1min": round(os.getloadavg()[0], 1),
                         "cosine_mean": round(float(cosine.mean()), 5),
                         "cosine_min": round(float(cosine.min()), 5), "quality": quality(encode)}
        print(name, json.dumps(results[name]), flush=True)
    return {"n_texts": n_texts, "repeats": repeats, "mean_chars": round(float(np.mean([len(t) for t in texts]))),
            "machine": machine(), "options": results}


def table(result: dict) -> str:
    rows = ["| option | texts/s (wall) | texts per CPU-second | speed-up (CPU) | load avg | "
            "cosine vs default (mean / min) | example top-1 / top-3 | holdout top-1 / top-3 |",
            "|---|---|---|---|---|---|---|---|"]
    options_ = result["options"]
    base = next(iter(options_.values()))["texts_per_cpu_s"]
    for name, r in options_.items():
        q = r["quality"]
        rows.append(f"| {name} | {r['texts_per_s']} | {r['texts_per_cpu_s']} | "
                    f"{r['texts_per_cpu_s'] / base:.2f}× | {r['load_average_1min']} | "
                    f"{r['cosine_mean']:.5f} / {r['cosine_min']:.5f} | "
                    f"{q['example']['top1']:.2f} / {q['example']['top3']:.2f} | "
                    f"{q['holdout']['top1']:.2f} / {q['holdout']['top3']:.2f} |")
    return "\n".join(rows)


def write_section(result: dict, notes: str) -> None:
    """Replace (or add) the ``## Encoding speed`` section of BENCHMARKS.md."""
    body = (f"{SECTION}\n\nCommand: `.venv/bin/python benchmarks/encode_speed.py --texts "
            f"{result['n_texts']} --repeats {result.get('repeats', 1)} --write` ({result['n_texts']} "
            f"synthetic segments, mean {result['mean_chars']} characters). Machine: {result['machine']}.\n\n"
            + table(result) + "\n\n" + notes.strip() + "\n")
    replace_section(SECTION, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also save the results here")
    parser.add_argument("--from-json", type=Path, default=None, help="report saved results instead of running")
    parser.add_argument("--write", action="store_true", help="rebuild the ## Encoding speed section of BENCHMARKS.md")
    parser.add_argument("--notes", type=Path, default=None, help="Markdown appended to the section")
    args = parser.parse_args(argv)
    result = json.loads(args.from_json.read_text()) if args.from_json else run(args.texts, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.write:
        write_section(result, args.notes.read_text(encoding="utf-8") if args.notes else "")
    print(f"{result['n_texts']} texts, mean {result['mean_chars']} characters; {result['machine']}")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
