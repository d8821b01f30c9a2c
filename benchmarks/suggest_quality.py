"""Suggestion quality on labelled segments: our method against a plain baseline.

Usage::

    python benchmarks/suggest_quality.py            # print the report
    python benchmarks/suggest_quality.py --write    # also update BENCHMARKS.md

For the example codebook (codebook/codebook.yaml with
benchmarks/data/labelled_segments.csv) and a holdout codebook from another
domain (benchmarks/data/holdout_codebook.yaml with holdout_labelled.csv),
both with the same method and settings, it reports:

* top-1 and top-3 accuracy against the gold code, Cohen's kappa of the top-1
  code, and per-code precision and recall of the top-1 code;
* the same for the baseline that BERTopic's zero-shot topic assignment uses:
  cosine similarity of the segment to the embedding of "label: definition";
* how the ``suggested`` flag (automatic threshold) behaves on rank-1 codes;
* learning from decisions: the labelled set is split 50/50 (stratified by
  gold code), one half is treated as analysts' accepted decisions and the
  other half is scored, averaged over several seeds.

This is a script, not a test: nothing is asserted. Embeddings are cached in
a folder under the system temp directory (``--cache`` to change it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks_md import machine, replace_section  # noqa: E402
from pipeline import learn, suggest  # noqa: E402
from pipeline.codebook import load_codebook  # noqa: E402
from pipeline.embed import embed_texts  # noqa: E402

DATA = REPO / "benchmarks" / "data"
SETS = {
    "example": (REPO / "codebook" / "codebook.yaml", DATA / "labelled_segments.csv"),
    "holdout": (DATA / "holdout_codebook.yaml", DATA / "holdout_labelled.csv"),
}
SECTION = "## Suggestion quality"
TARGETS = {"top1": 0.55, "top3": 0.80, "learned_kappa": 0.65}
# Results of benchmarks/finetune_experiment.py (not part of this script's run; update by hand).
FINE_TUNING_NOTE = (
    '**Contrastive fine-tuning of the encoder (SetFit-style): tried, promising, not yet integra'
    'ted.** `benchmarks/finetune_experiment.py` fine-tunes all-MiniLM-L6-v2 in a plain PyTorch '
    "loop over sentence-transformers' own losses (1 epoch, lr 5e-5, batch 16, max_seq_length 12"
    '8, seeded) and then re-embeds the codebook texts and segments and scores them exactly as a'
    "bove. Zero-shot it is trained on the codebook's own texts only (the labelled segments stay"
    ' unseen): with `MultipleNegativesRankingLoss` on (text, another text of the same code) pai'
    'rs, one text per code in a batch, two passes (28 steps on the example codebook, 18 on the '
    'holdout), mean of fine-tuning seeds 0 and 1, the example set goes from top-1 0.51 / top-3 '
    '0.73 / κ 0.48 to 0.56 / 0.80 / 0.54 and the holdout from 0.79 / 0.90 / 0.77 to 0.82 / 0.92'
    " / 0.80 (the holdout gain is within the noise, but not a loss). SetFit's own pair loss (`C"
    'osineSimilarityLoss`, two same-code and two other-code pairs per text, exclude cues as neg'
    'atives, lr 2e-5, one seed) did less: 0.53 / 0.78 / 0.51 and 0.78 / 0.90 / 0.75. With the r'
    'eviewed half of the labelled set added to the fine-tuning texts (MNRL, splits 0 and 1 of t'
    'he 50/50 learning experiment) κ on the other half goes from 0.53 to 0.60 on the example se'
    't (top-1 0.55 → 0.62, top-3 0.75 → 0.82; split 1 reached 0.65) and from 0.72 to 0.78 on th'
    'e holdout: the first approach to learning from decisions that helps on both sets, though t'
    "he example set's mean κ still misses 0.65. The cost is the fine-tune: 90–310 s per run wit"
    'h one torch thread on this 2-core machine while it was shared with other jobs (load averag'
    'e about 6), so a quiet machine should take less; it would recur whenever the codebook or t'
    'he decisions change, and every segment must then be re-embedded. Not yet wired into the pi'
    'peline (needs a cached fine-tuned model under `data/processed/cache/finetuned/`, re-embedd'
    'ing segments with it, a `suggest.fine_tune` switch and a five-seed re-run of this benchmar'
    'k).'
)


# ------------------------------------------------------------------ scoring


def fit(codebook, root: Path, settings: dict, examples=None):
    """The method exactly as the suggest stage runs it (without the model cache)."""
    texts = suggest.code_texts(codebook)
    return learn.fit_code_model(
        texts, embed_texts(texts.texts, {}, root), embed_texts(texts.exclude_texts, {}, root),
        embed_texts(list(suggest.BACKGROUND_TEXTS), {}, root), examples, settings)


def baseline_scores(codebook, vectors: np.ndarray, root: Path) -> np.ndarray:
    """Cosine similarity to "label: definition" (BERTopic-style zero-shot assignment)."""
    codes = embed_texts([f"{c.label}: {c.definition}" for c in codebook.codes], {}, root)
    return vectors @ codes.T


def metrics(scores: np.ndarray, gold: np.ndarray, code_ids: list[str]) -> dict:
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = order[:, 0]
    labels = list(range(len(code_ids)))
    precision, recall, _f, support = precision_recall_fscore_support(
        gold, top1, labels=labels, zero_division=0)
    return {
        "top1": float(np.mean(top1 == gold)),
        "top3": float(np.mean([g in row[:3] for g, row in zip(gold, order)])),
        "kappa": float(cohen_kappa_score(gold, top1, labels=labels)),
        "per_code": pd.DataFrame({"code_id": code_ids, "precision": precision, "recall": recall,
                                  "n": support}),
    }


def threshold_behaviour(model, vectors: np.ndarray, gold: np.ndarray) -> dict:
    table = suggest.rank_codes([str(i) for i in range(len(gold))], vectors, model, top_k=3)
    first = table[table["rank"] == 1].reset_index(drop=True)
    correct = first["code_id"].to_numpy() == np.array(model.code_ids, dtype=object)[gold]
    rows = {}
    for band in ("high", "medium", "low"):
        chosen = (first["confidence"] == band).to_numpy()
        rows[band] = (int(chosen.sum()), float(correct[chosen].mean()) if chosen.any() else float("nan"))
    suggested = first["suggested"].to_numpy()
    return {"rate": float(suggested.mean()),
            "precision": float(correct[suggested].mean()) if suggested.any() else float("nan"),
            "bands": rows}


def learning_experiment(codebook, frame: pd.DataFrame, vectors: np.ndarray, gold: np.ndarray,
                        root: Path, settings: dict, seeds: list[int]) -> dict:
    from sklearn.model_selection import train_test_split

    results = {"learned": [], "codebook_only": [], "n_learned_codes": [], "fit_seconds": []}
    index = np.arange(len(frame))
    plain = suggest.score(vectors, fit(codebook, root, settings))
    for seed in seeds:
        train, test = train_test_split(index, test_size=0.5, stratify=gold, random_state=seed)
        examples = learn.TrainingExamples(
            segment_ids=frame["segment_id"].iloc[train].tolist(),
            code_ids=frame["gold_code"].iloc[train].tolist(),
            vectors=vectors[train],
            no_code_segment_ids=[], no_code_vectors=np.zeros((0, vectors.shape[1]), np.float32))
        started = time.perf_counter()
        model = fit(codebook, root, settings, examples)
        results["fit_seconds"].append(time.perf_counter() - started)
        results["n_learned_codes"].append(len(model.learned_codes))
        results["learned"].append(metrics(suggest.score(vectors[test], model), gold[test], model.code_ids))
        results["codebook_only"].append(metrics(plain[test], gold[test], model.code_ids))
    return results


def evaluate(name: str, root: Path, settings: dict, seeds: list[int]) -> dict:
    codebook_path, labelled_path = SETS[name]
    codebook = load_codebook(codebook_path)
    frame = pd.read_csv(labelled_path, dtype=str, keep_default_na=False)
    unknown = sorted(set(frame["gold_code"]) - set(codebook.code_ids))
    if unknown:
        raise SystemExit(f"{labelled_path}: gold codes not in {codebook_path}: {unknown}")
    gold = np.array([codebook.code_ids.index(c) for c in frame["gold_code"]])
    vectors = embed_texts(frame["text"].tolist(), {}, root)
    started = time.perf_counter()
    model = fit(codebook, root, settings)
    fit_seconds = time.perf_counter() - started
    return {
        "name": name, "codebook": codebook_path.relative_to(REPO),
        "labelled": labelled_path.relative_to(REPO), "n": len(frame),
        "n_codes": len(codebook.codes), "fit_seconds": fit_seconds,
        "ours": metrics(suggest.score(vectors, model), gold, model.code_ids),
        "baseline": metrics(baseline_scores(codebook, vectors, root), gold, model.code_ids),
        "threshold": threshold_behaviour(model, vectors, gold),
        "learning": learning_experiment(codebook, frame, vectors, gold, root, settings, seeds),
        "similarity": segment_similarity(vectors, gold),
    }


def segment_similarity(vectors: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """Mean cosine similarity between labelled segments of the same code and of different codes."""
    sims = vectors @ vectors.T
    same = gold[:, None] == gold[None, :]
    off_diagonal = ~np.eye(len(gold), dtype=bool)
    return float(sims[same & off_diagonal].mean()), float(sims[~same].mean())


# ------------------------------------------------------------------- report




def _pct(x: float) -> str:
    return f"{x:.2f}"


def _target(value: float, target: float) -> str:
    return "met" if value >= target else f"missed by {target - value:.2f}"


def report(results: list[dict], seeds: list[int], settings: dict) -> str:
    lines = [SECTION, ""]
    lines += [
        f"Command: `python benchmarks/suggest_quality.py --write` "
        f"(run {dt.date.today().isoformat()}; {machine()}). Model: all-MiniLM-L6-v2 "
        f"(packaged, offline). Settings: the defaults of the `suggest:` config section "
        f"({', '.join(f'{k}={v}' for k, v in settings.items() if k != 'top_k')}).",
        "",
        "**Method** (`pipeline/suggest.py`, `pipeline/learn.py`): each code's label, definition, "
        "\"label: definition\", include cues and examples are embedded separately as prototypes; the "
        "segment's soft-max cosine similarity to them, minus a penalty when it is closer to an "
        "exclude cue than to any prototype, is added to a logistic-regression classifier's "
        "probability (trained on all codes' prototypes, plus a \"none of the codes\" class of "
        "everyday sentences and rejected segments) and, once analysts have coded enough segments, "
        "to a gated similarity to those segments. "
        "**Baseline**: cosine similarity of the segment to the embedding of \"label: definition\" "
        "(what BERTopic's zero-shot topic assignment does). Nothing is tuned per code; the holdout "
        "codebook (youth employment, another domain) was written before the method was tuned and "
        "is scored with the same settings.",
        "",
        "| labelled set | segments | codes | method | top-1 | top-3 | κ (top-1) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for method in ("ours", "baseline"):
            m = r[method]
            lines.append(f"| {r['name']} (`{r['labelled']}`) | {r['n']} | {r['n_codes']} | "
                         f"{'ours' if method == 'ours' else 'baseline: label: definition'} | "
                         f"{_pct(m['top1'])} | {_pct(m['top3'])} | {_pct(m['kappa'])} |")
    lines += ["", "Targets (example set): top-3 ≥ 0.80, top-1 ≥ 0.55, and with learning κ ≥ 0.65."]
    example = next((r for r in results if r["name"] == "example"), None)
    if example:
        ours = example["ours"]
        lines.append(f"On the example set top-1 is {_pct(ours['top1'])} "
                     f"({_target(ours['top1'], TARGETS['top1'])}) and top-3 {_pct(ours['top3'])} "
                     f"({_target(ours['top3'], TARGETS['top3'])}); the baseline is "
                     f"{_pct(example['baseline']['top1'])} / {_pct(example['baseline']['top3'])}.")

    lines += ["", "Also tried on both sets during development, none better than the method above by "
              "more than the noise of a 192-segment set (about ±0.03 in accuracy): centring or "
              "removing the top principal direction of the embeddings, label spreading over a kNN "
              "graph of the segments, self-training on confident segments, scoring sentences "
              "separately, per-code standardisation of scores over the corpus, combined-text and "
              "paired-text prototypes, and other weights for the classifier and the exclude "
              "penalty. The targets look out of reach for all-MiniLM-L6-v2 used zero-shot on this "
              "deliberately indirect set; the method is well above the baseline on both codebooks."]
    lines += ["", FINE_TUNING_NOTE]
    lines += ["", f"### Learning from decisions (50/50 stratified split, mean of seeds {seeds})", "",
              "Half of each labelled set is treated as accepted decisions; the other half is scored. "
              f"A code learns from its reviewed segments once it has `min_examples_to_learn` "
              f"= {settings['min_examples_to_learn']} of them.", "",
              "| labelled set | codes learned (of) | model | top-1 | top-3 | κ (top-1) | fit time |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        runs = r["learning"]
        for key, title in (("codebook_only", "codebook only"), ("learned", "with decisions")):
            mean = {k: float(np.mean([m[k] for m in runs[key]])) for k in ("top1", "top3", "kappa")}
            sd = float(np.std([m["kappa"] for m in runs[key]]))
            fit_time = f"{np.mean(runs['fit_seconds']):.1f} s" if key == "learned" else ""
            learned = f"{np.mean(runs['n_learned_codes']):.0f} ({r['n_codes']})" if key == "learned" else ""
            lines.append(f"| {r['name']} | {learned} | {title} | {_pct(mean['top1'])} | {_pct(mean['top3'])} | "
                         f"{_pct(mean['kappa'])} ± {sd:.2f} | {fit_time} |")
    if example:
        kappa = float(np.mean([m["kappa"] for m in example["learning"]["learned"]]))
        lines.append("")
        lines.append(f"With decisions the example set's κ is {_pct(kappa)} "
                     f"({_target(kappa, TARGETS['learned_kappa'])}).")
    similarity = "; ".join(f"{r['name']}: {r['similarity'][0]:.2f} within a code, "
                           f"{r['similarity'][1]:.2f} between codes" for r in results)
    lines += ["", "Why learning adds little here: the labelled segments of one code hardly resemble "
              f"each other more than segments of different codes do (mean cosine {similarity}), so "
              "four or so reviewed segments per code carry little that the codebook text does not. "
              "Adding them to the codebook prototypes or to the classifier's training data made "
              "κ worse on both sets (by 0.02–0.08 in development runs), so decisions instead act "
              "through a gated similarity that counts only when a segment is closer to a reviewed "
              "one than segments of different codes get (tests/test_learn.py shows it moving a "
              "project's own turn of phrase to the analysts' code); it is neutral on these sets "
              "rather than the gain the target asked for. A kNN or a classifier on the reviewed "
              "segments alone reached κ of only 0.14 (example) and 0.23 (holdout)."]

    lines += ["", "### The automatic threshold (rank-1 codes)", "",
              "| labelled set | marked suggested | correct among suggested | high: n (correct) | "
              "medium: n (correct) | low: n (correct) |", "|---|---|---|---|---|---|"]
    for r in results:
        t = r["threshold"]
        bands = " | ".join(f"{n} ({_pct(acc) if n else '–'})" for n, acc in
                           (t["bands"][b] for b in ("high", "medium", "low")))
        lines.append(f"| {r['name']} | {_pct(t['rate'])} | {_pct(t['precision'])} | {bands} |")
    lines += ["", "Every labelled segment has a gold code, so these show how the threshold trades "
              "coverage for precision; off-topic text is covered by tests/test_suggest.py."]

    for r in results:
        ours, base = r["ours"]["per_code"], r["baseline"]["per_code"]
        lines += ["", f"### Per-code precision and recall of the top-1 code: {r['name']}", "",
                  "| code | n | precision (ours) | recall (ours) | precision (baseline) | recall (baseline) |",
                  "|---|---|---|---|---|---|"]
        for (_, o), (_, b) in zip(ours.iterrows(), base.iterrows()):
            lines.append(f"| `{o['code_id']}` | {o['n']} | {_pct(o['precision'])} | {_pct(o['recall'])} | "
                         f"{_pct(b['precision'])} | {_pct(b['recall'])} |")
    return "\n".join(lines) + "\n"




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the section in BENCHMARKS.md")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the learning experiment")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "suggest_quality",
                        help="folder for the embedding cache")
    args = parser.parse_args(argv)
    settings = suggest.suggest_settings({})
    seeds = list(range(args.seeds))
    results = [evaluate(name, args.cache, settings, seeds) for name in SETS]
    section = report(results, seeds, settings)
    print(section)
    if args.write:
        replace_section(SECTION, section)
        print(f"Updated {REPO / 'BENCHMARKS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
