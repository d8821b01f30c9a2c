"""One-off experiment (session 4): learning variants on the fine-tuning side.

For stratified 50/50 splits of a labelled set, the encoder is fine-tuned on the
codebook and the reviewed half in three ways, and κ of the top-1 code on the
other half is printed: "default" (the reviewed segments as ordinary training
texts, 3 passes, as the finetune stage does), "rep3" (each reviewed segment
three times per pass) and "pass5" (5 passes).

Usage: .venv/bin/python benchmarks/experiments/finetune_learning_variants.py example default,rep3,pass5 [SPLITS]
Its output is summarised in BENCHMARKS.md ("Suggestion quality"). Committed as
it ran, except that the repository and scratch paths are no longer hard-coded
and the labelled set is loaded and split with ``suggest_quality.load_set`` and
``learning_split``.
"""
import sys, tempfile, numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import learn, suggest, finetune
from pipeline.embed import embed_texts
from pipeline.model_files import model_location
from suggest_quality import fit, learning_split, load_set, metrics

root = Path(tempfile.gettempdir()) / "finetune_learning_variants"; root.mkdir(parents=True, exist_ok=True)
name = sys.argv[1]; variants = sys.argv[2].split(",")
cb, fr, gold = load_set(name); texts = fr.text.tolist()
# As it ran: before the lexical classifier (session 12), which is therefore off here.
base = {**suggest.suggest_settings({}), "lexical_weight": 0.0}
base_path, _ = model_location({}, root)
ct = suggest.code_texts(cb)
res = {v: [] for v in variants}
for seed in range(int(sys.argv[3]) if len(sys.argv) > 3 else 5):
    train, test = learning_split(gold, seed)
    codes = fr.gold_code.iloc[train].tolist()
    rev_texts = [texts[i] for i in train]; rev_labels = [cb.code_ids.index(c) for c in codes]
    for v in variants:
        tt, labels, neg = finetune.codebook_training(ct)
        passes = 3
        if v == "rep3":
            tt += rev_texts * 3; labels += rev_labels * 3
        elif v == "pass5":
            tt += rev_texts; labels += rev_labels; passes = 5
        else:
            tt += rev_texts; labels += rev_labels
        model, secs, steps = finetune.fine_tune(tt, labels, neg, base=base_path, per_text=passes)
        d = root / f"{v}-{seed}"
        model.save(str(d))
        config = finetune.fine_tuned_config({}, d)
        vec = embed_texts(texts, config, root)
        ex = learn.TrainingExamples([str(i) for i in train], codes, [texts[i] for i in train], vec[train], [], [], np.zeros((0, vec.shape[1]), np.float32))
        m = fit(cb, root, base, config, ex)
        res[v].append(metrics(suggest.score(vec[test], [texts[i] for i in test], m), gold[test], m.code_ids)["kappa"])
        print(seed, v, round(res[v][-1], 3), f"{secs:.0f}s", flush=True)
print("MEAN", {k: round(float(np.mean(x)), 3) for k, x in res.items() if x})
