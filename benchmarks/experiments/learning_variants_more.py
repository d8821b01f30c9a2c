"""One-off experiment (session 3): more learning variants, on cached per-split embeddings.

Reviewed segments as prototypes with other classifier weights, with or without
the gated similarity, and a vote of the k nearest reviewed segments. The run
summarised in BENCHMARKS.md covered 2 splits (it was stopped to free the
machine for the scale benchmark).

Usage: .venv/bin/python benchmarks/experiments/learning_variants_more.py example [n_splits]
Committed as it ran, except that the repository and cache paths are no longer
hard-coded and the labelled set is loaded and split with ``suggest_quality.load_set``
and ``learning_split``.
"""
import sys, numpy as np
from pathlib import Path
import tempfile
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import learn, suggest
from pipeline.embed import embed_texts
from suggest_quality import encoder, learning_split, load_set, metrics
root = Path(tempfile.gettempdir()) / "learning_variants"
name = sys.argv[1]; nseeds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
cb, fr, gold = load_set(name); texts = fr.text.tolist()
# As it ran: before the lexical classifier (session 12), which is therefore off here.
base = {**suggest.suggest_settings({}), "lexical_weight": 0.0}
ct = suggest.code_texts(cb)
BG = list(suggest.BACKGROUND_TEXTS)

def vectors(seed, train):
    f = root / f"vec_{name}_{seed}.npz"
    if f.exists():
        d = np.load(f); return d["seg"], d["code"], d["exc"], d["bg"]
    codes = fr.gold_code.iloc[train].tolist()
    config = encoder(cb, root, base, list(zip([texts[i] for i in train], codes)))
    out = [embed_texts(t, config, root) for t in (texts, ct.texts, ct.exclude_texts, BG)]
    np.savez(f, seg=out[0], code=out[1], exc=out[2], bg=out[3]); return out

def model(tv, ev, bg, settings, ex=None, extra_idx=None, extra_codes=None, sv=None):
    c2 = ct
    if extra_idx is not None:
        c2 = suggest.CodeTexts(ct.code_ids, ct.labels, ct.texts + [texts[i] for i in extra_idx],
                               np.concatenate([ct.owner, extra_codes]), ct.exclude_texts, ct.exclude_owner)
        tv = np.vstack([tv, sv[extra_idx]])
    return learn.fit_code_model(c2, tv, ev, bg, ex, settings)

res = {}
def add(k, m, v, test):
    res.setdefault(k, []).append(metrics(suggest.score(v[test], [texts[i] for i in test], m), gold[test], m.code_ids)["kappa"])

for seed in range(nseeds):
    train, test = learning_split(gold, seed)
    sv, tv, evv, bg = vectors(seed, train)
    codes_i = gold[train]
    ex = learn.TrainingExamples([str(i) for i in train], [cb.code_ids[c] for c in codes_i], [texts[i] for i in train], sv[train], [], [], np.zeros((0, sv.shape[1]), np.float32))
    add("default", model(tv, evv, bg, base, ex), sv, test)
    add("none", model(tv, evv, bg, base, None), sv, test)
    for cw in (0.5, 1.0, 2.0):
        for rw in (0.0, 0.5):
            st = {**base, "classifier_weight": cw}
            add(f"proto cw{cw} rw{rw}", model(tv, evv, bg, {**st, "reviewed_weight": rw}, ex if rw else None, train, codes_i, sv), sv, test)
    # kNN vote among reviewed added to default score
    m = model(tv, evv, bg, base, None, train, codes_i, sv)
    s = suggest.score(sv[test], [texts[i] for i in test], m)
    sims = sv[test] @ sv[train].T
    for k in (3, 5):
        knn = np.zeros_like(s)
        top = np.argsort(-sims, axis=1)[:, :k]
        for r in range(len(test)):
            for j in top[r]:
                knn[r, codes_i[j]] += sims[r, j]
        for w in (0.1, 0.3):
            res.setdefault(f"proto+knn{k} w{w}", []).append(metrics(s + w * knn, gold[test], m.code_ids)["kappa"])
    print(seed, {k: round(v[-1], 3) for k, v in res.items()}, flush=True)
print("MEAN", {k: round(float(np.mean(v)), 3) for k, v in res.items()})
