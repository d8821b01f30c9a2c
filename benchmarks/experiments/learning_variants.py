"""One-off experiment (session 3): learning variants on the fine-tuned encoder.

For each of 5 stratified 50/50 splits of the example labelled set, the encoder
is fine-tuned as the pipeline would (codebook + the reviewed half), and κ of the
top-1 code on the other half is printed for several suggest settings and for
reviewed segments used as extra codebook prototypes ("proto").

Usage: .venv/bin/python benchmarks/experiments/learning_variants.py example
Its output is summarised in BENCHMARKS.md ("Suggestion quality"). Committed as
it ran, except that the repository and cache paths are no longer hard-coded
and the labelled set is loaded and split with ``suggest_quality.load_set``
and ``learning_split``.
"""
import sys, numpy as np
from pathlib import Path
import tempfile
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import learn, suggest
from pipeline.embed import embed_texts
from suggest_quality import encoder, fit, learning_split, load_set, metrics
root = Path(tempfile.gettempdir()) / "learning_variants"
name = sys.argv[1]
cb, fr, gold = load_set(name); texts = fr.text.tolist()
# As it ran: before the lexical classifier (session 12), which is therefore off here.
base = {**suggest.suggest_settings({}), "lexical_weight": 0.0}
variants = {"default": {}, "rw1": {"reviewed_weight": 1.0}, "rw2": {"reviewed_weight": 2.0},
            "cw1": {"classifier_weight": 1.0}, "cw0.25": {"classifier_weight": 0.25}, "min1": {"min_examples_to_learn": 1},
            "rw1cw1": {"reviewed_weight": 1.0, "classifier_weight": 1.0}}
res = {k: [] for k in variants}; res["proto"] = []; res["clf+rev"] = []
for seed in range(5):
    train, test = learning_split(gold, seed)
    codes = fr.gold_code.iloc[train].tolist()
    config = encoder(cb, root, base, list(zip([texts[i] for i in train], codes)))
    v = embed_texts(texts, config, root)
    ex = learn.TrainingExamples([str(i) for i in train], codes, [texts[i] for i in train], v[train], [], [], np.zeros((0, v.shape[1]), np.float32))
    for k, over in variants.items():
        st = {**base, **over}
        m = fit(cb, root, st, config, ex)
        res[k].append(metrics(suggest.score(v[test], [texts[i] for i in test], m), gold[test], m.code_ids)["kappa"])
    # reviewed segments as extra prototypes of their codes
    ct = suggest.code_texts(cb)
    ct2 = suggest.CodeTexts(ct.code_ids, ct.labels, ct.texts + [texts[i] for i in train],
                            np.concatenate([ct.owner, [cb.code_ids.index(c) for c in codes]]), ct.exclude_texts, ct.exclude_owner)
    m = learn.fit_code_model(ct2, embed_texts(ct2.texts, config, root), embed_texts(ct2.exclude_texts, config, root),
                             embed_texts(list(suggest.BACKGROUND_TEXTS), config, root), None, base)
    res["proto"].append(metrics(suggest.score(v[test], [texts[i] for i in test], m), gold[test], m.code_ids)["kappa"])
    print(seed, {k: round(x[-1], 3) for k, x in res.items() if x}, flush=True)
print("MEAN", {k: round(float(np.mean(x)), 3) for k, x in res.items() if x})
