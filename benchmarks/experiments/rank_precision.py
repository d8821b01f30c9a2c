"""One-off experiment (session 17): how often each rank of suggestion is the segment's code.

Each labelled set is scored as the pipeline does (encoder fine-tuned on the
codebook with seed 0, default settings, ``top_k`` 3). For the suggestions
above their threshold (``suggested``), by rank and confidence band, it prints
how many there are and the share that is the segment's gold code. Each
labelled segment has one gold code, so a lower-ranked code that also applies
counts as wrong here: the shares are a floor for ranks 2 and 3.

Usage: .venv/bin/python benchmarks/experiments/rank_precision.py
Its output is summarised in BENCHMARKS.md ("Which suggestions count as evidence").
"""
import sys, tempfile, numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import suggest
from pipeline.embed import embed_texts
from suggest_quality import encoder, fit, load_set

settings = suggest.suggest_settings({})
for name in ("example", "holdout"):
    codebook, frame, gold = load_set(name)
    root = Path(tempfile.mkdtemp())
    config = encoder(codebook, root, settings)
    texts = frame["text"].tolist()
    model = fit(codebook, root, settings, config)
    table = suggest.rank_codes([str(i) for i in range(len(gold))], texts, embed_texts(texts, config, root), model)
    table["correct"] = table["code_id"].to_numpy() == np.array(model.code_ids, dtype=object)[
        gold[table["segment_id"].astype(int)]]
    suggested = table[table["suggested"]]
    print(f"{name}: {len(gold)} segments")
    print(suggested.groupby(["rank", "confidence"])["correct"].agg(["size", "mean"]).round(2).to_string())
    print(suggested.groupby("rank")["correct"].agg(["size", "mean"]).round(2).to_string(), "\n")
