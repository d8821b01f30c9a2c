"""One-off experiment (session 16): fine-tuning seeds, and a model soup of them.

For each of the learning benchmark's 5 stratified 50/50 splits, the encoder is
fine-tuned on the codebook and the reviewed half with seeds 0 (the default), 1
and 2, as the finetune stage does; then the three models' weights are averaged
into one (a "model soup"). κ of the top-1 code on the scored half is printed
for each, fitted with the current defaults.

Usage: .venv/bin/python benchmarks/experiments/model_soup.py example|holdout [SPLITS]
Its output is summarised in BENCHMARKS.md ("Learning from decisions").
"""
import shutil, sys, tempfile, numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import finetune, suggest
from pipeline.embed import embed_texts
from suggest_quality import BASE, accepted, encoder, fit, learning_split, load_set, metrics
from safetensors.torch import load_file, save_file
root = Path(tempfile.gettempdir()) / "model_soup"; root.mkdir(parents=True, exist_ok=True)
name = sys.argv[1]; seeds = [0, 1, 2]
nsplits = int(sys.argv[2]) if len(sys.argv) > 2 else 5
cb, fr, gold = load_set(name); texts = fr.text.tolist()
base = suggest.suggest_settings({})

def kappa(vectors, test, model):
    return metrics(suggest.score(vectors[test], [texts[i] for i in test], model), gold[test], cb.code_ids)["kappa"]

def evaluate(config, train, test):
    vectors = embed_texts(texts, config, root)
    return kappa(vectors, test, fit(cb, root, base, config, accepted(fr, vectors, train)))

res = {}
for split in range(nsplits):
    train, test = learning_split(gold, split)
    pairs = list(zip([texts[i] for i in train], fr.gold_code.iloc[train]))
    dirs = []
    for seed in seeds:
        config = encoder(cb, root, base, pairs, seed=seed)
        res.setdefault(f"seed {seed}", []).append(evaluate(config, train, test))
        keep = root / "kept" / f"split{split}-seed{seed}"
        if keep.exists(): shutil.rmtree(keep)
        shutil.copytree(config["embedding"]["model_path"], keep)
        dirs.append(keep)
    soup = root / "kept" / f"split{split}-soup"
    if soup.exists(): shutil.rmtree(soup)
    shutil.copytree(dirs[0], soup)
    states = [load_file(str(d / "model.safetensors")) for d in dirs]
    save_file({k: sum(s[k] for s in states) / len(states) for k in states[0]}, str(soup / "model.safetensors"),
              metadata={"format": "pt"})
    res.setdefault("soup", []).append(evaluate(finetune.fine_tuned_config(BASE, soup), train, test))
    print("split", split, {k: round(v[-1], 3) for k, v in res.items()}, flush=True)
for k, v in res.items():
    print(f"{np.mean(v):.3f} {k}  by split {[round(x, 2) for x in v]}")
print(f"{np.mean([np.mean([res[f'seed {s}'][i] for s in seeds]) for i in range(nsplits)]):.3f} mean of the seeds")
