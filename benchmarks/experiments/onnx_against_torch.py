"""One-off timing (session 5): the fine-tuned encoder with ONNX Runtime against sentence-transformers.

On a project kept by ``benchmarks/scale.py --keep`` (after its runs), 4,096 of
its distinct segment texts (shuffled, seed 0) are encoded with the fine-tuned
model that ``encoder.json`` names, twice with each backend in turn: ONNX
Runtime through the embed stage's own ``encode`` loop, and
``SentenceTransformer.encode`` with PyTorch, as the benchmark's floor does.

Usage: .venv/bin/python benchmarks/experiments/onnx_against_torch.py PROJECT
Its output is summarised in BENCHMARKS.md ("Scale", the 100k ratio over the
distinct texts). Committed as it ran, except that the project path is an argument.
"""
import json, random, sys, time
from pathlib import Path
import pandas as pd
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from pipeline import embed
from pipeline.finetune import fine_tuned_config

root = Path(sys.argv[1])
texts = list(dict.fromkeys(pd.read_parquet(root / "data/processed/segments.parquet", columns=["text"])["text"].astype(str)))
random.Random(0).shuffle(texts); texts = texts[:4096]
enc = json.loads((root / "data/processed/encoder.json").read_text())
for backend in ["onnx", "torch", "onnx", "torch"]:
    cfg = fine_tuned_config({"embedding": {"backend": backend}}, root / enc["model_dir"])
    loaded = embed.load_model(cfg, root)
    loaded.encode_batch(texts[:64])
    t = time.time(); c = time.process_time()
    if backend == "onnx":
        embed.encode(loaded, texts, 64)
    else:
        import torch
        with torch.inference_mode():
            loaded.model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    print(backend, round(time.time()-t, 1), "cpu", round(time.process_time()-c, 1), flush=True)
