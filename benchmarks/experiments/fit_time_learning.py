"""One-off experiment (session 15): where do decisions help, in fine-tuning or at fit time?

For each of the learning benchmark's 5 stratified 50/50 splits, κ of the top-1
code on the scored half, with the lexical classifier (the current defaults):

* ``codebook encoder``: the encoder fine-tuned on the codebook alone (as before
  any review), scored without decisions (``plain``) and with the reviewed half
  used only at fit time (``+ decisions at fit``: the lexical classifier's extra
  training texts and the gated similarity);
* ``split encoder``: each split's encoder fine-tuned on the codebook and its
  reviewed half (what the finetune stage does), fitted with the defaults, with
  no decisions at fit time (``min_examples_to_learn`` 999), or with other
  weights of the gated similarity (``reviewed_weight``); and, with the default
  fit, encoders fine-tuned with 1 or 2 passes instead of 3.

Usage: .venv/bin/python benchmarks/experiments/fit_time_learning.py example|holdout
Its output is summarised in BENCHMARKS.md ("Learning from decisions").
"""
import sys, tempfile, numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import suggest
from pipeline.embed import embed_texts
from suggest_quality import accepted, encoder, fit, learning_split, load_set, metrics
root = Path(tempfile.gettempdir()) / "fit_time_learning"
name = sys.argv[1]
cb, fr, gold = load_set(name); texts = fr.text.tolist()
base = suggest.suggest_settings({})
split_variants = {"default": {}, "no decisions at fit": {"min_examples_to_learn": 999},
                  "reviewed_weight 0": {"reviewed_weight": 0.0}, "reviewed_weight 0.25": {"reviewed_weight": 0.25},
                  "reviewed_weight 1": {"reviewed_weight": 1.0}}

def kappa(vectors, test, model):
    return metrics(suggest.score(vectors[test], [texts[i] for i in test], model), gold[test], cb.code_ids)["kappa"]

splits = [learning_split(gold, seed) for seed in range(5)]
res = {}
# The codebook encoder first: fine-tuning a split's encoder prunes it from the cache.
codebook_config = encoder(cb, root, base)
codebook_vectors = embed_texts(texts, codebook_config, root)
plain = fit(cb, root, base, codebook_config)
for train, test in splits:
    res.setdefault("codebook encoder, plain", []).append(kappa(codebook_vectors, test, plain))
    res.setdefault("codebook encoder, + decisions at fit", []).append(
        kappa(codebook_vectors, test, fit(cb, root, base, codebook_config, accepted(fr, codebook_vectors, train))))
for passes in (3, 1, 2):   # the default fine_tune_passes, then fewer passes over the codebook and decisions
    encoder_settings = {**base, "fine_tune_passes": passes}
    for seed, (train, test) in enumerate(splits):
        config = encoder(cb, root, encoder_settings, list(zip([texts[i] for i in train], fr.gold_code.iloc[train])))
        vectors = embed_texts(texts, config, root)
        for variant, settings in split_variants.items() if passes == 3 else [(f"{passes} pass(es)", {})]:
            res.setdefault(f"split encoder, {variant}", []).append(
                kappa(vectors, test, fit(cb, root, {**base, **settings}, config, accepted(fr, vectors, train))))
        print("passes", passes, "split", seed, "done", flush=True)
for k, v in res.items():
    print(f"{np.mean(v):.3f} {k}  by split {[round(x, 2) for x in v]}")
