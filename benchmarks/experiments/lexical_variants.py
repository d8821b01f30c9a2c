"""One-off experiment (session 12): a lexical classifier added to the suggestion score.

For each of the learning benchmark's 50/50 splits, the encoder is fine-tuned on
the codebook and the reviewed half and the scores of the method as it was
(``lexical_weight`` 0) are cached; a logistic regression on TF-IDF features
of the texts is then fitted on the codebook texts (``cb``), or on them and the
reviewed half (``all``), and ``weight * p(code)`` is added to the score. kappa
of the top-1 code on the other half, mean over the splits. The variant adopted
as the default (``suggest.lexical_weight``) is ``all char_wb (3, 5) C10 w1.0``.

With ``reviewed-weight`` (session 14), that variant is fitted with sample
weight ``r`` on the reviewed segments instead (the codebook's texts count once):
reviewed segments are in the project's own language, and may deserve more.

Usage: .venv/bin/python benchmarks/experiments/lexical_variants.py example|holdout [reviewed-weight]
"""
import sys, tempfile, numpy as np
from pathlib import Path
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
from pipeline import learn, suggest
from pipeline.embed import embed_texts
from suggest_quality import encoder, fit, learning_split, load_set, metrics
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union
root = Path(tempfile.gettempdir()) / "lexical_variants"
name = sys.argv[1]
reviewed_weight = sys.argv[2:] == ["reviewed-weight"]
cb, fr, gold = load_set(name); texts = fr.text.tolist()
base = {**suggest.suggest_settings({}), "lexical_weight": 0.0}   # the method before the lexical classifier
ct = suggest.code_texts(cb)

def scores(seed, train):
    f = root / f"s_{name}_{seed}.npz"
    if f.exists():
        return np.load(f)["s"]
    codes = fr.gold_code.iloc[train].tolist()
    config = encoder(cb, root, base, list(zip([texts[i] for i in train], codes)))
    v = embed_texts(texts, config, root)
    ex = learn.TrainingExamples([str(i) for i in train], codes, [texts[i] for i in train], v[train], [], [],
                                np.zeros((0, v.shape[1]), np.float32))
    s = suggest.score(v, texts, fit(cb, root, base, config, ex))
    root.mkdir(parents=True, exist_ok=True); np.savez(f, s=s); return s

def vectoriser(kind):
    if kind == "word (1, 2)":
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    if kind == "both":
        return make_union(vectoriser("word (1, 2)"), vectoriser("char_wb (3, 5)"))
    analyzer, rng = kind.split(" ", 1)
    return TfidfVectorizer(analyzer=analyzer, ngram_range=eval(rng), sublinear_tf=True)

def lexical(train_texts, y, test_texts, kind, C, weights=None):
    vec = vectoriser(kind)
    clf = LogisticRegression(C=C, max_iter=3000).fit(vec.fit_transform(train_texts), y, sample_weight=weights)
    p = np.zeros((len(test_texts), len(cb.code_ids)))
    p[:, clf.classes_] = clf.predict_proba(vec.transform(test_texts))
    return p

res = {}
for seed in range(5):
    train, test = learning_split(gold, seed)
    s = scores(seed, train)[test]
    tt = [texts[i] for i in test]
    res.setdefault("without", []).append(metrics(s, gold[test], cb.code_ids)["kappa"])
    all_texts, all_y = ct.texts + [texts[i] for i in train], np.concatenate([ct.owner, gold[train]])
    if reviewed_weight:
        for r in (1.0, 2.0, 3.0, 5.0):
            weights = np.concatenate([np.ones(len(ct.texts)), np.full(len(train), r)])
            for C in (10.0, 30.0):
                p = lexical(all_texts, all_y, tt, "char_wb (3, 5)", C, weights)
                for w in (1.0, 1.5):
                    res.setdefault(f"r{r:g} C{C:g} w{w}", []).append(
                        metrics(s + w * p, gold[test], cb.code_ids)["kappa"])
    kinds = () if reviewed_weight else ("word (1, 2)", "char_wb (3, 5)", "char_wb (3, 6)", "char_wb (2, 4)",
                                        "char (3, 5)", "both")
    for kind in kinds:
        for C in (1.0, 10.0, 100.0):
            p_cb = lexical(ct.texts, ct.owner, tt, kind, C)
            p_all = lexical(all_texts, all_y, tt, kind, C)
            for w in (0.5, 1.0, 1.5):
                for data, p in (("cb", p_cb), ("all", p_all)):
                    res.setdefault(f"{data} {kind} C{C:g} w{w}", []).append(
                        metrics(s + w * p, gold[test], cb.code_ids)["kappa"])
    print(seed, "without", round(res["without"][-1], 3), flush=True)
mean = {k: float(np.mean(v)) for k, v in res.items()}
for k, v in sorted(mean.items(), key=lambda kv: -kv[1])[:15]:
    print(f"{v:.3f} {k}  by split {[round(x, 2) for x in res[k]]}")
for k in ("without",) if reviewed_weight else ("without", "cb char_wb (3, 5) C10 w1.0", "all char_wb (3, 5) C10 w1.0"):
    print(f"{mean[k]:.3f} {k}  by split {[round(x, 2) for x in res[k]]}")
